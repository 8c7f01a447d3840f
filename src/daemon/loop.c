#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <conclave/service.h>

#include "cv-clock.h"
#include "cv-log.h"
#include "cv-loop.h"
#include "cv-spin.h"

#define EVENTS_PER_WAIT 64

static int epoll_fd = -1;
static struct cv_watch timer_watch;
static struct cv_list timers = CV_LIST_INIT(timers);
static uint64_t armed_deadline_ns; /* what the timerfd holds; 0 = disarmed */
static bool quit_requested;
static void (*after_batch)(void);
static const struct cv_loop_poller *poller;
static struct cv_spin spin;
static uint64_t slept_ns; /* how long the wait before this batch slept */

static void timerfd_arm(uint64_t deadline_ns)
{
	struct itimerspec its = { 0 };

	if (deadline_ns == armed_deadline_ns)
		return;
	its.it_value.tv_sec = (time_t)(deadline_ns / 1000000000u);
	its.it_value.tv_nsec = (long)(deadline_ns % 1000000000u);
	if (timerfd_settime(timer_watch.fd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		cv_log_error("timerfd_settime: %m");
	armed_deadline_ns = deadline_ns;
}

static void timers_rearm(void)
{
	timerfd_arm(cv_list_empty(&timers) ? 0 : cv_list_first(&timers, struct cv_timer, link)->deadline_ns);
}

static void timer_unlink(struct cv_timer *t)
{
	cv_list_remove(&t->link);
	t->pending = false;
}

/* Timers are mostly armed with growing deadlines, so search from the tail. */
static void timer_link_sorted(struct cv_timer *t)
{
	struct cv_list *after = timers.prev;

	while (after != &timers &&
	       cv_container_of(after, struct cv_timer, link)->deadline_ns > t->deadline_ns)
		after = after->prev;
	cv_list_insert(after, &t->link);
	t->pending = true;
}

void cv_timer_init(struct cv_timer *t, void (*fn)(void *data), void *data)
{
	memset(t, 0, sizeof(*t));
	cv_list_init(&t->link);
	t->fn = fn;
	t->data = data;
}

struct cv_timer *cv_timer_new(cv_timer_fn fn, void *data)
{
	struct cv_timer *t = malloc(sizeof(*t));

	if (!t)
		return NULL;
	cv_timer_init(t, fn, data);
	t->heap_allocated = true;
	return t;
}

void cv_timer_start(struct cv_timer *t, uint64_t ms)
{
	if (t->pending)
		timer_unlink(t);
	t->deadline_ns = cv_clock_ns() + ms * 1000000u;
	timer_link_sorted(t);
	timers_rearm();
}

void cv_timer_stop(struct cv_timer *t)
{
	if (!t || !t->pending)
		return;
	timer_unlink(t);
	timers_rearm();
}

bool cv_timer_pending(const struct cv_timer *t)
{
	return t && t->pending;
}

void cv_timer_free(struct cv_timer *t)
{
	if (!t)
		return;
	cv_timer_stop(t);
	if (t->heap_allocated)
		free(t);
}

static void timers_expire(void *data, uint32_t events)
{
	uint64_t expirations;
	uint64_t now = cv_clock_ns();

	(void)data;
	(void)events;
	if (read(timer_watch.fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		cv_log_error("timerfd read: %m");
	armed_deadline_ns = 0;
	/* A callback may start or stop other timers; take one at a time. */
	while (!cv_list_empty(&timers)) {
		struct cv_timer *t = cv_list_first(&timers, struct cv_timer, link);

		if (t->deadline_ns > now)
			break;
		timer_unlink(t);
		t->fn(t->data);
	}
	armed_deadline_ns = 1; /* force the timerfd to be rewritten */
	timers_rearm();
}

int cv_watch_add(struct cv_watch *w, int fd, uint32_t events, cv_watch_fn fn, void *data)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	w->fd = fd;
	w->events = events;
	w->fn = fn;
	w->data = data;
	if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	return 0;
}

int cv_watch_set_events(struct cv_watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	if (w->events == events)
		return 0;
	if (epoll_ctl(epoll_fd, EPOLL_CTL_MOD, w->fd, &ev) < 0)
		return -errno;
	w->events = events;
	return 0;
}

void cv_watch_remove(struct cv_watch *w)
{
	if (w->fd >= 0)
		epoll_ctl(epoll_fd, EPOLL_CTL_DEL, w->fd, NULL);
	w->fd = -1;
}

int cv_loop_init(void)
{
	int tfd;

	epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (epoll_fd < 0)
		return -errno;
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (tfd < 0)
		return -errno;
	return cv_watch_add(&timer_watch, tfd, EPOLLIN, timers_expire, NULL);
}

void cv_loop_fini(void)
{
	if (timer_watch.fd >= 0)
		close(timer_watch.fd);
	if (epoll_fd >= 0)
		close(epoll_fd);
	timer_watch.fd = -1;
	epoll_fd = -1;
}

void cv_loop_set_after_batch(void (*fn)(void))
{
	after_batch = fn;
}

void cv_loop_quit(void)
{
	quit_requested = true;
}

void cv_loop_set_poller(const struct cv_loop_poller *p)
{
	poller = p;
}

static bool poller_pending(void)
{
	return poller && poller->pending();
}

/* Polls for up to window_ns from `began`: true when events came (*n of
 * them) or the poller has work (*n = 0). */
static bool poll_for_events(struct epoll_event *events, uint64_t began, uint64_t window_ns, int *n)
{
	while (cv_clock_ns() - began < window_ns) {
		*n = epoll_wait(epoll_fd, events, EVENTS_PER_WAIT, 0);
		if (*n != 0 || poller_pending())
			return true;
	}
	return false;
}

static int sleep_for_events(struct epoll_event *events)
{
	uint64_t began;
	int n;

	if (poller && !poller->sleep())
		return 0;
	began = cv_clock_ns();
	n = epoll_wait(epoll_fd, events, EVENTS_PER_WAIT, -1);
	slept_ns = cv_clock_ns() - began;
	return n;
}

uint64_t cv_loop_slept_ns(void)
{
	return slept_ns;
}

/* Waits for events, or for the poller's work (returning 0). Right after a
 * batch, the next request of a client in a request loop is often a few
 * microseconds away, and a wake-up from idle costs about as much as the
 * whole round trip on a virtual machine: the loop polls first, for as
 * long as cv-spin.h finds that pays (not at all for paced or idle
 * clients), then sleeps. */
static int wait_for_events(struct epoll_event *events, bool just_worked)
{
	uint64_t began, window;
	bool found;
	int n = 0;

	slept_ns = 0;
	if (!just_worked)
		return sleep_for_events(events);
	began = cv_clock_ns();
	cv_spin_worked(&spin, began);
	window = cv_spin_window(&spin, began);
	found = poll_for_events(events, began, window, &n);
	if (!found)
		n = sleep_for_events(events);
	cv_spin_done(&spin, began, window, found, cv_clock_ns());
	return n;
}

int cv_loop_run(void)
{
	struct epoll_event events[EVENTS_PER_WAIT];
	bool just_worked = false;

	while (!quit_requested) {
		int n = wait_for_events(events, just_worked);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n; i++) {
			struct cv_watch *w = events[i].data.ptr;

			w->fn(w->data, events[i].events);
		}
		just_worked = n > 0;
		if (poller && poller->run())
			just_worked = true;
		if (after_batch)
			after_batch();
	}
	quit_requested = false;
	return 0;
}
