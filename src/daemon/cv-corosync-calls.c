/* The worker that makes cluster mode's calls into corosync's libraries;
 * see cv-corosync-calls.h. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "cv-corosync-calls.h"
#include "cv-corosync-link.h"
#include "cv-log.h"
#include <conclave/cluster.h>
#include "cv-loop.h"

/* How long stopping waits for a call stuck in corosync. */
#define STOP_WAIT_S 3

/* A FIFO of calls. */
struct call_list {
	struct cv_corosync_call *head, *tail;
};

static pthread_t worker;
static bool running;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work = PTHREAD_COND_INITIALIZER;
static struct call_list todo, finished;
static struct cv_corosync_call *current; /* the call the worker runs */
static bool quit;
static int wake_fd = -1; /* eventfd: calls finished */
static struct cv_watch wake_watch = { .fd = -1 };

static void list_push(struct call_list *l, struct cv_corosync_call *call)
{
	call->next = NULL;
	if (l->tail)
		l->tail->next = call;
	else
		l->head = call;
	l->tail = call;
}

static struct cv_corosync_call *list_take_all(struct call_list *l)
{
	struct cv_corosync_call *all = l->head;

	l->head = l->tail = NULL;
	return all;
}

static void *work_loop(void *data)
{
	(void)data;
	pthread_mutex_lock(&lock);
	for (;;) {
		while (!quit && todo.head == NULL)
			pthread_cond_wait(&work, &lock);
		if (todo.head == NULL)
			break; /* quit, with every queued call made */
		current = todo.head;
		todo.head = current->next;
		if (todo.head == NULL)
			todo.tail = NULL;
		pthread_mutex_unlock(&lock);
		current->run(current);
		pthread_mutex_lock(&lock);
		list_push(&finished, current);
		current = NULL;
		if (eventfd_write(wake_fd, 1) != 0)
			abort();
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

/* On the loop: the finished calls' done, in the order they were queued. */
static void on_finished(void *data, uint32_t events)
{
	struct cv_corosync_call *call, *next;
	eventfd_t count;

	(void)data;
	(void)events;
	(void)eventfd_read(wake_fd, &count);
	pthread_mutex_lock(&lock);
	call = list_take_all(&finished);
	pthread_mutex_unlock(&lock);
	for (; call != NULL; call = next) {
		next = call->next;
		call->done(call);
	}
}

void cv_corosync_calls_wait(int timeout_ms, const bool *busy)
{
	for (int waited = 0; *busy && waited < timeout_ms; waited += 100) {
		struct pollfd p = { .fd = wake_fd, .events = POLLIN };

		if (poll(&p, 1, 100) > 0)
			on_finished(NULL, 0);
	}
}

int cv_corosync_calls_start(void)
{
	sigset_t all, old;
	int err;

	quit = false;
	wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (wake_fd < 0 || cv_watch_add(&wake_watch, wake_fd, EPOLLIN, on_finished, NULL) < 0) {
		cv_log_error("cluster: cannot watch the corosync calls' eventfd: %s", strerror(errno));
		return -1;
	}
	/* Signals are the loop's: the worker blocks them all. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&worker, NULL, work_loop, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err != 0) {
		cv_log_error("cluster: cannot start the thread that calls corosync: %s", strerror(err));
		return -1;
	}
	running = true;
	return 0;
}

static void drop_unstarted(void)
{
	struct cv_corosync_call *call, *next;

	pthread_mutex_lock(&lock);
	call = list_take_all(&todo);
	pthread_mutex_unlock(&lock);
	for (; call != NULL; call = next) {
		next = call->next;
		call->session = NULL;
		call->err = CS_ERR_LIBRARY;
		call->done(call);
	}
}

bool cv_corosync_calls_stop(void)
{
	struct timespec until;
	bool ended = true;

	if (running) {
		pthread_mutex_lock(&lock);
		quit = true;
		pthread_cond_signal(&work);
		pthread_mutex_unlock(&lock);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += STOP_WAIT_S;
		if (pthread_timedjoin_np(worker, NULL, &until) != 0) {
			cv_log_warning("cluster: a call to corosync has not returned in %d s; left behind",
				       STOP_WAIT_S);
			pthread_detach(worker);
			ended = false;
		}
		running = false;
	}
	on_finished(NULL, 0);
	drop_unstarted();
	if (wake_watch.fd >= 0)
		cv_watch_remove(&wake_watch);
	wake_watch.fd = -1;
	if (wake_fd >= 0 && ended)
		close(wake_fd);
	wake_fd = -1;
	return ended;
}

void cv_corosync_call_queue(struct cv_corosync_call *call)
{
	call->err = CS_OK;
	call->why[0] = '\0';
	if (call->session && !call->deferred)
		cv_session_defer_reply(call->session, &call->reply);
	pthread_mutex_lock(&lock);
	list_push(&todo, call);
	pthread_cond_signal(&work);
	pthread_mutex_unlock(&lock);
}

static void forget_in(struct cv_corosync_call *call, struct cv_session *s)
{
	for (; call != NULL; call = call->next)
		if (call->session == s)
			call->session = NULL;
}

void cv_cluster_forget_session(struct cv_session *s)
{
	pthread_mutex_lock(&lock);
	forget_in(todo.head, s);
	forget_in(finished.head, s);
	if (current && current->session == s)
		current->session = NULL;
	pthread_mutex_unlock(&lock);
}

void cv_corosync_call_log(const struct cv_corosync_call *call)
{
	if (call->why[0] != '\0')
		cv_log_warning("cluster: %s", call->why);
}

int cv_corosync_peer_check(int fd, const char *what, char *why, size_t size)
{
	char peer[512];

	switch (cv_link_identify_peer(fd, peer, sizeof(peer))) {
	case CV_PEER_COROSYNC:
	case CV_PEER_UNKNOWN:
		return 0;
	default:
		snprintf(why, size, "%s's peer is not corosync but %s", what, peer);
		return -1;
	}
}
