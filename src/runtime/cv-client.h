/* The client object behind every handle, and the connection engine shared by
 * calls and dispatch.
 *
 * Threading model. One mutex (`lock`) guards the connection state; a condvar
 * (`cond`) announces every change to it. Whoever needs input (a call waiting
 * for its reply, a dispatcher waiting for an event) takes the single-reader
 * token, drops the lock, polls and reads the socket, then routes every
 * complete frame under the lock: replies to their waiting call by seq, events
 * to the event queue. Threads that find the token taken wait on the condvar.
 * Nobody holds the lock while blocked in poll or in a callback. Sending is
 * serialised by `send_lock`, which is taken before `lock` and never while
 * holding the reader token.
 *
 * fds. fd_get hands out an epoll set holding the socket and `event_fd`, an
 * eventfd raised while the event queue is non-empty (or the connection is
 * dead or finalized). So the fd is readable exactly while an event is unread
 * on the socket or already buffered here. `wake_fd` is raised once, when the
 * connection dies or is finalized, and sits in every blocking poll so that
 * finalize from another thread wakes a blocked reader.
 */
#ifndef CONCLAVE_CV_CLIENT_H
#define CONCLAVE_CV_CLIENT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "cv-ring.h"
#include "cv-runtime.h"
#include "cv-rx.h"
#include "cv-transport.h"

struct cv_event {
	struct cv_event *next;
	uint16_t id;
	bool split; /* an EVENT_SPLIT frame */
	uint32_t length;
	const uint8_t *payload; /* in inline_payload, or in storage */
	uint8_t *storage;       /* a receive buffer the event took over, or NULL */
	size_t storage_size;    /* its allocated size */
	uint8_t inline_payload[];
};

struct cv_pending_call {
	struct cv_pending_call *next;
	uint32_t seq;
	uint16_t request_id;
	bool done;
	int32_t status;
	uint8_t *payload; /* malloc'd copy of the reply payload, NULL when empty */
	uint32_t length;
};

struct cv_client {
	const struct cv_client_service *svc;
	int sock;
	int poll_fd;  /* what fd_get returns: epoll over sock and event_fd */
	int event_fd; /* raised while events are queued, or dead or finalized */
	int wake_fd;  /* raised once dead or finalized */
	uint32_t max_request;
	uint32_t max_ring; /* the largest shared ring the daemon takes */

	pthread_mutex_t send_lock;
	/* Guarded by send_lock: the socket, or once the daemon took it, the
	 * shared ring. */
	const struct cv_transport *transport;
	struct cv_ring ring;
	bool ring_asked;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* Everything below is guarded by lock, except rx. */
	bool finalized;
	bool dead;
	bool reader_busy; /* the single-reader token */
	bool event_fd_raised;
	uint32_t next_seq;
	struct cv_pending_call *calls;
	struct cv_event *queue_head;
	struct cv_event **queue_tail;
	cv_callback_fn *callbacks; /* svc->n_events entries, or NULL */
	void *context;
	void *private_data; /* cv_client_initialize_private's */
	void (*private_destroy)(void *data);
	/* A receive buffer of CV_RX_DEFAULT_SIZE a dispatched event gave back,
	 * for the next event that takes one over: freeing and allocating one
	 * per large message would make malloc return and fetch the pages. */
	uint8_t *spare_rx;
	/* Owned by the holder of the reader token. */
	struct cv_rx_buffer rx;
};

/* Takes a reference on the client behind `handle`; CS_ERR_BAD_HANDLE. */
CV_HIDDEN cs_error_t cv_client_acquire(const struct cv_client_service *svc, uint64_t handle,
				       struct cv_client **client);
CV_HIDDEN void cv_client_release(const struct cv_client_service *svc, uint64_t handle);

/* ---- with c->lock held ---- */

enum cv_wait_mode {
	CV_WAIT_NONBLOCKING, /* take what the socket holds, never wait */
	CV_WAIT_BLOCKING,    /* sleep until input arrives */
	CV_WAIT_REPLY,       /* poll briefly for a reply that is due, then sleep */
};

/* Waits until ready(c, arg) holds, reading the socket when nobody else is.
 * Returns CS_OK when ready, CS_ERR_BAD_HANDLE once finalized (checked first),
 * CS_ERR_LIBRARY once dead, and, with CV_WAIT_NONBLOCKING, CS_ERR_TRY_AGAIN
 * when the socket has nothing more to give. Events it routed show on the
 * event fd only once the caller, done with the queue, calls
 * cv_client_event_fd_update: a dispatch that takes the one event it read
 * then leaves the fd alone instead of raising and lowering it. */
CV_HIDDEN cs_error_t cv_client_wait(struct cv_client *c, bool (*ready)(struct cv_client *c, void *arg),
				    void *arg, enum cv_wait_mode mode);
CV_HIDDEN void cv_client_mark_dead(struct cv_client *c);
CV_HIDDEN void cv_client_mark_finalized(struct cv_client *c);
/* CS_OK, or CS_ERR_BAD_HANDLE / CS_ERR_LIBRARY when finalized or dead. */
CV_HIDDEN cs_error_t cv_client_state(const struct cv_client *c);
CV_HIDDEN struct cv_event *cv_client_event_pop(struct cv_client *c);

/* Takes the single-reader token, for a sender that waits for room: false
 * when another thread holds it. */
CV_HIDDEN bool cv_client_reader_claim(struct cv_client *c);
/* Gives the token back, having first routed what the socket holds when
 * `input` says there is some. */
CV_HIDDEN void cv_client_reader_yield(struct cv_client *c, bool input);

/* Raises the event fd while events are queued (or the client is dead or
 * finalized), lowers it otherwise. */
CV_HIDDEN void cv_client_event_fd_update(struct cv_client *c);

/* ---- without c->lock ---- */

/* Frees an event, keeping its receive buffer as c->spare_rx if it can. */
CV_HIDDEN void cv_client_event_free(struct cv_client *c, struct cv_event *event);

/* Sends one whole frame, the n buffers of iov (which it consumes), waiting
 * for room (and reading input meanwhile, so a daemon blocked on writing to
 * us cannot deadlock with us). */
struct iovec;
CV_HIDDEN cs_error_t cv_client_send(struct cv_client *c, struct iovec *iov, size_t n);
/* As cv_client_send, but CS_ERR_TRY_AGAIN, with nothing sent, when the
 * socket cannot take any of the frame now. A frame the socket took in part
 * is finished as cv_client_send does, so no frame is ever left half-sent. */
CV_HIDDEN cs_error_t cv_client_send_nowait(struct cv_client *c, struct iovec *iov, size_t n);
/* With send_lock held: sends a frame with a descriptor attached, over the
 * socket. */
CV_HIDDEN cs_error_t cv_client_send_fd(struct cv_client *c, const void *frame, size_t size, int fd);

#endif
