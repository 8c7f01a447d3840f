/* The client object behind every handle, and the connection engine shared by
 * calls and dispatch.
 *
 * DESIGN
 *
 * Two channels. The fd X_fd_get returns is the socket the library
 * connect()ed to conclaved, so that SO_PEERCRED on it names the daemon (HA
 * programs authenticate it so). From the daemon it carries events only, and
 * its end; to the daemon, HELLO, requests and ring wake-up bytes. Replies,
 * and RING_ROOM, come on a private reply channel, a socketpair conclaved
 * makes per connection and passes with SCM_RIGHTS in its WELCOME (whose
 * SO_PEERCRED names the daemon too). Initialize reads the WELCOME exactly,
 * never past it: events right behind it stay in the socket.
 *
 * Rings. The first post, or the second call, offers the daemon a shared
 * ring for requests and a reply ring for the reply channel, in one memfd
 * (cv-wire.h); a connection used for one call maps none. Until the offer
 * is answered nothing else is sent (the daemon reads the socket as wake-up
 * bytes once it has taken the ring), even past a call's timeout. Once the
 * reply channel's token holder routes the REPLY to RING_OPEN, the reply
 * channel's bytes come from the reply ring instead of its socket, and the
 * socket brings only wake-up bytes, which the daemon writes when the
 * reader said it sleeps, and its end: a sleeping reader polls it, so a
 * daemon that dies wakes it (CS_ERR_LIBRARY, once what the ring held is
 * read), as does wake_fd. Everything else stays as it is: the same frames
 * in the same order, routed by seq; events and the fd never touch a ring.
 * A reader that took bytes while the daemon waits for room (its reply
 * queue behind a full ring) wakes it with a byte on the socket.
 *
 * Readable exactly while events are pending. Calls read the reply channel
 * only, never the socket, so a call neither takes events in nor buffers
 * them: events wait in the socket, and in the daemon's queue behind it,
 * until the program dispatches; the daemon holds back their senders
 * (CS_ERR_TRY_AGAIN) once its queue is full. Dispatch never leaves a
 * complete undispatched event in the library once it returns:
 * CS_DISPATCH_ONE and ONE_NONBLOCKING read exactly one frame (its header,
 * then its rest; nothing beyond), and ALL and BLOCKING, which may read in
 * bulk, deliver every complete frame they read before they return (even
 * after a callback failed). A partial frame may stay buffered; its rest is
 * still unread, so the socket turns readable when it comes. The daemon
 * writes a request's events before its reply when the socket has room for
 * them, so a call's effects (a confchg, one's own message) are readable
 * when it returns. A connection the library gives up (a malformed frame)
 * is shut down both ways: its fd turns readable (end of stream), as it does
 * when the daemon goes.
 *
 * Threads. One mutex (`lock`) guards the connection state; a condvar
 * (`cond`) announces every change to it. Each channel has a single-reader
 * token: whoever needs input from it (a call waiting for its reply, a
 * dispatcher waiting for an event) takes the channel's token, drops the
 * lock, polls and reads, then routes every complete frame under the lock:
 * replies to their waiting call by seq, events to the queue of events read
 * and not yet delivered. Threads that find the token taken wait on the
 * condvar. So a dispatcher blocked on the socket and callers on the reply
 * channel never wait for one another. Nobody holds the lock while blocked
 * in poll or in a callback. Sending is serialised by `send_lock`, which is
 * taken before `lock`; a sender waiting for room reads the reply channel
 * meanwhile (a daemon whose reply queue is full stops reading us), never
 * the socket: the daemon reads our requests whatever our events do.
 *
 * One's own posts at the next dispatch. Calls return once their reply
 * came, behind their events; posts (cpg_mcast_joined) return once the ring
 * or the socket took them, before the daemon has read them. So that a
 * dispatch right after a post finds its effects (one's own message) as
 * corosync's usually does, ALL and ONE_NONBLOCKING first wait, for at most
 * CV_SETTLE_WAIT_MS, until the daemon has handled every request the handle
 * posted (cv_client_settle_posts): with a ring, until the ring's header
 * says it has (`settled`, published once the events are in the socket) or
 * that it paused reading us, asking for a SETTLED wake-up when it has not;
 * without one, by sending SETTLE and waiting for its SETTLED, unless events
 * already wait in the socket (the daemon may be holding our posts back
 * until we dispatch them). A post refused with CS_ERR_TRY_AGAIN clears
 * what there was to wait for: the program dispatches to make room. The
 * wait reads the reply channel like a call,
 * so a daemon that dies ends it with CS_ERR_LIBRARY. ONE and BLOCKING wait
 * for an event anyway, which the post's own comes as soon as any.
 *
 * Polling. A call waiting for its reply polls the reply channel before it
 * sleeps only while that pays (cv-spin.h): back to back, the reply lands
 * within microseconds and the wake-up from idle would cost as much again;
 * a call that starts long after the previous reply, as paced ones do,
 * sleeps at once. The window is the channel's, kept by its token holder.
 * With a reply ring the poll reads the ring's head, no system call, and
 * while both sides poll a round trip makes none at all.
 *
 * Event rings. The daemon may write a large event's bytes into a ring of
 * the connection's (cv-wire.h: EVENT_RING), sent with the first such
 * event, whose frame in the socket says where they lie: the socket is
 * still readable exactly while events are pending. The callback reads the
 * bytes in place; they are given back (the ring header's tail) once every
 * event taken for delivery is done, so that threads dispatching at once
 * never give back bytes another still reads.
 *
 * `wake_fd` is raised once, when the connection dies or is finalized, and
 * sits in every blocking poll, so that finalize from another thread wakes a
 * blocked reader or sender.
 */
#ifndef CONCLAVE_CV_CLIENT_H
#define CONCLAVE_CV_CLIENT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "cv-event-ring.h"
#include "cv-ring.h"
#include <conclave/client-runtime.h>
#include "cv-rx.h"
#include "cv-spin.h"
#include "cv-transport.h"

/* Timed-out calls whose late replies a connection can still recognise;
 * one more gives the connection up. */
#define CV_ABANDONED_CALLS_MAX 16

struct cv_event {
	struct cv_event *next;
	uint16_t id;
	bool split;  /* an EVENT_SPLIT or EVENT_RING frame */
	bool ringed; /* an EVENT_RING: its split field's bytes are at `place` */
	bool taken;  /* taken for delivery (cv_client_event_pop) */
	struct cv_event_ring_place place;
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
	/* RING_OPEN's: the ring offered, whose reply ring its CS_OK turns on. */
	const struct cv_ring *ring_offered;
};

/* One of the daemon's two ways to us. */
/* Descriptors received ahead of the frame they belong to (cv-wire.h: the
 * event ring, with the first EVENT_RING): one comes with a frame's first
 * byte, so besides that of the frame being received, at most one of the
 * next. */
#define CV_CHANNEL_FDS 2

struct cv_channel {
	int fd;
	bool busy;              /* its single-reader token, guarded by lock */
	struct cv_rx_buffer rx; /* owned by the holder of the token */
	struct cv_spin spin;    /* how a waiter polls it; the token holder's */
	/* The socket's: descriptors received, first in first out; the
	 * token holder's. */
	int fds[CV_CHANNEL_FDS];
	unsigned int n_fds;
	/* The reply channel's bytes come from here once the daemon took the
	 * reply ring, and fd brings wake-up bytes: the token holder's, set
	 * while it routes the REPLY to RING_OPEN. */
	struct cv_reply_ring ring;
	bool wake_bytes; /* fd was found readable: drain it before the ring */
};

struct cv_client {
	const struct cv_client_service *svc;
	/* events.fd is the socket we connected: what fd_get returns, and where
	 * requests go. */
	struct cv_channel events;
	struct cv_channel replies;
	int wake_fd; /* raised once dead or finalized */
	uint32_t max_request;
	uint32_t max_ring;       /* the largest shared ring the daemon takes */
	int64_t call_timeout_ms; /* a call's wait for its reply; 0: for ever */

	pthread_mutex_t send_lock;
	/* Guarded by send_lock: the socket, or once the daemon took it, the
	 * shared ring. */
	const struct cv_transport *transport;
	struct cv_ring ring;
	bool ring_asked;
	unsigned int calls_started; /* atomic: until the ring is asked for */
	/* The RING_OPEN in flight, once its wait timed out; read atomically. */
	struct cv_pending_call *ring_offer;
	/* ring's, once taken; read atomically by waits for events, which must
	 * not take send_lock (a sender may hold it waiting for room that only
	 * dispatching makes). */
	struct cv_ring *ring_taken;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* Everything below is guarded by lock. */
	bool finalized;
	bool dead;
	uint32_t next_seq;
	/* The seq of the last one-way request sent through the ring, while
	 * the daemon may not have handled it yet. */
	uint32_t unsettled_post;
	bool posts_unsettled;
	uint32_t settled; /* the seq of the last SETTLED */
	struct cv_pending_call *calls;
	/* Calls given up with CS_ERR_TIMEOUT, whose late replies are dropped. */
	uint32_t abandoned[CV_ABANDONED_CALLS_MAX];
	size_t n_abandoned;
	/* Events a dispatcher read and has not delivered yet. */
	struct cv_event *queue_head;
	struct cv_event **queue_tail;
	cv_callback_fn *callbacks; /* svc->n_events entries, or NULL */
	void *context;
	void *private_data; /* cv_client_initialize_private's */
	void (*private_destroy)(void *data);
	/* A receive buffer of up to CV_RX_KEEP_MAX a dispatched event gave
	 * back, for the next event that takes one over: freeing and allocating
	 * one per large message would make malloc return and fetch the pages. */
	uint8_t *spare_rx;
	size_t spare_rx_size;
	struct cv_event_ring_view event_ring;
};

/* Takes a reference on the client behind `handle`; CS_ERR_BAD_HANDLE. */
CV_HIDDEN cs_error_t cv_client_acquire(const struct cv_client_service *svc, uint64_t handle,
				       struct cv_client **client);
CV_HIDDEN void cv_client_release(const struct cv_client_service *svc, uint64_t handle);

/* ---- with c->lock held ---- */

enum cv_wait_flags {
	CV_WAIT_BLOCK = 1u << 0,     /* sleep until input arrives; else never wait */
	CV_WAIT_SPIN = 1u << 1,      /* with CV_WAIT_BLOCK: poll first when that pays (cv-spin.h) */
	CV_WAIT_ONE_FRAME = 1u << 2, /* read nothing beyond the end of the next frame */
};

/* Waits until ready(c, arg) holds, reading channel ch when nobody else is.
 * Returns CS_OK when ready, CS_ERR_BAD_HANDLE once finalized (checked
 * first), CS_ERR_LIBRARY once dead, CS_ERR_TIMEOUT once the monotonic
 * clock passes deadline_ms (0: none), and, without CV_WAIT_BLOCK,
 * CS_ERR_TRY_AGAIN when the channel has nothing more to give now. */
CV_HIDDEN cs_error_t cv_client_wait(struct cv_client *c, struct cv_channel *ch,
				    bool (*ready)(struct cv_client *c, void *arg), void *arg,
				    unsigned int flags, int64_t deadline_ms);
/* Gives the connection up: wakes everyone, and shuts the socket down both
 * ways, so that its fd turns readable and the daemon lets go of it. */
CV_HIDDEN void cv_client_mark_dead(struct cv_client *c);
CV_HIDDEN void cv_client_mark_finalized(struct cv_client *c);
/* CS_OK, or CS_ERR_BAD_HANDLE / CS_ERR_LIBRARY when finalized or dead. */
CV_HIDDEN cs_error_t cv_client_state(const struct cv_client *c);
CV_HIDDEN struct cv_event *cv_client_event_pop(struct cv_client *c);

/* Takes the reply channel's reader token, for a sender that waits for
 * room: false when another thread holds it. */
CV_HIDDEN bool cv_client_replies_claim(struct cv_client *c);
/* Gives the token back, having first routed what the reply channel holds
 * when `input` says there is some. */
CV_HIDDEN void cv_client_replies_yield(struct cv_client *c, bool input);
/* Token held, before polling the reply channel's fd: false when input is
 * there already (a reply ring's), so the poll must not sleep. */
CV_HIDDEN bool cv_client_replies_sleep(struct cv_client *c);
/* After that poll, with what it found on the reply channel's fd. */
CV_HIDDEN void cv_client_replies_awake(struct cv_client *c, short revents);

/* ---- without c->lock ---- */

/* Before a dispatch that returns when nothing is pending: waits, for at
 * most CV_SETTLE_WAIT_MS, until the daemon has handled every request this
 * handle posted, so that their effects (one's own message) are in the
 * socket. CS_OK (also when the wait ran out, or the daemon paused reading
 * us), CS_ERR_BAD_HANDLE or CS_ERR_LIBRARY. */
CV_HIDDEN cs_error_t cv_client_settle_posts(struct cv_client *c);

/* Frees an event, keeping its receive buffer as c->spare_rx if it can (the
 * larger of the two, up to CV_RX_KEEP_MAX). */
CV_HIDDEN void cv_client_event_free(struct cv_client *c, struct cv_event *event);

/* Sends one whole frame, the n buffers of iov (which it consumes), waiting
 * for room (and reading replies meanwhile, so a daemon that stopped reading
 * us until we take them cannot deadlock with us). */
struct iovec;
CV_HIDDEN cs_error_t cv_client_send(struct cv_client *c, struct iovec *iov, size_t n);
/* As cv_client_send, but CS_ERR_TRY_AGAIN, with nothing sent, when the
 * socket cannot take any of the frame now. A frame the socket took in part
 * is finished as cv_client_send does, so no frame is ever left half-sent. */
CV_HIDDEN cs_error_t cv_client_send_nowait(struct cv_client *c, struct iovec *iov, size_t n);
/* True when events wait in the socket for the program to dispatch. */
CV_HIDDEN bool cv_client_events_waiting(const struct cv_client *c);
/* With send_lock held: sends a frame with a descriptor attached, over the
 * socket. */
CV_HIDDEN cs_error_t cv_client_send_fd(struct cv_client *c, const void *frame, size_t size, int fd);

/* CONCLAVE_DEBUG's trace lines (nothing when it is not set). */
CV_HIDDEN void cv_client_trace_request(const struct cv_client *c, uint16_t id,
				       const ProtobufCMessage *request);
CV_HIDDEN void cv_client_trace_reply(const struct cv_client *c, uint16_t id, int64_t status,
				     const ProtobufCMessage *reply);
CV_HIDDEN void cv_client_trace_event(const struct cv_client *c, uint16_t id, const ProtobufCMessage *event);

#endif
