/* The daemon's single event loop: epoll for file descriptors, one timerfd
 * carrying every timer, and a hook that runs after each batch of events. */
#ifndef CONCLAVE_CV_LOOP_H
#define CONCLAVE_CV_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include <conclave/list.h>

typedef void (*cv_watch_fn)(void *data, uint32_t events);

struct cv_watch {
	int fd;
	uint32_t events;
	cv_watch_fn fn;
	void *data;
};

/* Embeddable timer; struct cv_timer is opaque to service code. */
struct cv_timer {
	uint64_t deadline_ns; /* CLOCK_MONOTONIC */
	bool pending;
	bool heap_allocated;
	void (*fn)(void *data);
	void *data;
	struct cv_list link; /* in the loop's list, sorted by deadline, while pending */
};

int cv_loop_init(void); /* -errno */
void cv_loop_fini(void);

int cv_watch_add(struct cv_watch *w, int fd, uint32_t events, cv_watch_fn fn, void *data);
int cv_watch_set_events(struct cv_watch *w, uint32_t events);
void cv_watch_remove(struct cv_watch *w);

void cv_timer_init(struct cv_timer *t, void (*fn)(void *data), void *data);

/* Runs after every batch of ready events and timers (deferred closes). */
void cv_loop_set_after_batch(void (*fn)(void));

/* Work that no descriptor announces (input in shared rings): `pending`
 * says whether there is any, `run` does it (true when it did some), and
 * `sleep` is called before the loop sleeps: it asks for a wake-up through a
 * descriptor, or returns false when work came meanwhile. */
struct cv_loop_poller {
	bool (*pending)(void);
	bool (*run)(void);
	bool (*sleep)(void);
};

void cv_loop_set_poller(const struct cv_loop_poller *poller);

/* How long the loop slept before the batch it is running (0: it found the
 * batch without sleeping). */
uint64_t cv_loop_slept_ns(void);

int cv_loop_run(void); /* until cv_loop_quit(), after which it can run again; 0 or -errno */
void cv_loop_quit(void);

#endif
