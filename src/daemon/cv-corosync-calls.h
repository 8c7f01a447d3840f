/* Cluster mode's calls into corosync's client libraries, off the event loop.
 *
 * corosync's libraries wait for corosync's answer without a time limit
 * (CS_IPC_TIMEOUT_MS is -1): a corosync that is stopped, swapping or busy
 * in a long sync would stall conclaved's loop, and every client with it.
 * So every request-reply call runs on one worker thread, in the order the
 * calls were queued; the loop learns of the end through an eventfd and
 * runs the call's `done`, which answers the client (whose reply was
 * deferred). The worker owns the corosync handles it uses; the loop never
 * touches them. A call whose session closed runs, and answers nobody
 * (cv_cluster_forget_session()). Only the dispatch of tracking connections (which reads what
 * corosync has already sent, without waiting) stays on the loop.
 *
 * The worker does not log (the daemon's log is the loop's): a call keeps
 * what went wrong in `why`, and `done` logs it. */
#ifndef CONCLAVE_CV_COROSYNC_CALLS_H
#define CONCLAVE_CV_COROSYNC_CALLS_H

#include <corosync/corotypes.h>

#include <conclave/service.h>

struct cv_corosync_call {
	/* On the worker: may block on corosync. */
	void (*run)(struct cv_corosync_call *call);
	/* On the loop, once run returned: answers and frees the call. */
	void (*done)(struct cv_corosync_call *call);
	/* The requester, whose reply is deferred; NULL once it left. */
	struct cv_session *session;
	struct cv_pending_reply reply;
	bool deferred; /* reply was deferred before the call was queued */
	cs_error_t err;
	char why[600]; /* run's complaint, for done to log; empty when none */
	struct cv_corosync_call *next;
};

/* Starts the worker: 0, or -1 (logged). */
int cv_corosync_calls_start(void);
/* Ends the worker once the calls queued are made: true. A call stuck in
 * corosync for longer than a few seconds is left behind (the daemon is
 * exiting): false, and the worker's handles must not be touched. */
bool cv_corosync_calls_stop(void);
/* Queues call; when call->session is set, its reply is deferred here
 * unless call->deferred says it was already. */
void cv_corosync_call_queue(struct cv_corosync_call *call);
/* Before the loop runs (start-up): runs finished calls' done until *busy
 * turns false or timeout_ms passed. */
void cv_corosync_calls_wait(int timeout_ms, const bool *busy);
/* Logs call->why, if any, at warning level. */
void cv_corosync_call_log(const struct cv_corosync_call *call);

/* On the worker: a connection's peer is corosync (0), or -1 with why. */
int cv_corosync_peer_check(int fd, const char *what, char *why, size_t size);

#endif
