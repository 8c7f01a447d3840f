/* The server behind <conclave/service.h>, shared by its modules and nothing else:
 *
 *   server.c          the one server object: services, statistics, per-uid
 *                     accounting, observers, the quorum gate, shutdown
 *   session.c         a session's life: creation, closing, reaping
 *   session-input.c   reading: chunked reads, passed descriptors, shared
 *                     rings, header checks, frames handed on by kind
 *   session-output.c  writing: packed frames, the queue, flushing at the end
 *                     of a batch, back-pressure
 *   request.c         running a request's handler: decoding within bounds,
 *                     the quorum gate, replies now or deferred
 *   handshake.c       HELLO and WELCOME, RING_OPEN
 */
#ifndef CONCLAVE_CV_SERVER_PRIVATE_H
#define CONCLAVE_CV_SERVER_PRIVATE_H

#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <conclave/list.h>
#include <conclave/service.h>

#include "cv-daemon.h"
#include "cv-log.h"
#include "cv-loop.h"
#include "cv-ring-reader.h"
#include "cv-monitor.h"
#include "cv-wire.h"

enum session_state { SESSION_AWAIT_HELLO, SESSION_READY, SESSION_CLOSING };

/* A frame's bytes, shared by every queue it is in. */
struct cv_packed_frame {
	uint32_t refs;
	uint32_t head_length; /* EVENT_SPLIT: its prefix and protobuf; else 0 */
	size_t size;          /* header and payload */
	alignas(max_align_t) unsigned char bytes[];
};

/* An EVENT_SPLIT's form as EVENT_RING in one queue: its own header and
 * place, then the packed frame's head. */
struct ring_form {
	struct cv_frame_header header;
	struct cv_event_ring_place place;
};

/* One place in one session's queue. */
struct out_frame {
	struct out_frame *next;
	struct cv_packed_frame *packed;
	size_t sent;
	bool decided;      /* how it goes, before its first byte went */
	bool ringed;       /* going out as EVENT_RING, in ring_form */
	bool carries_ring; /* the first EVENT_RING: the ring goes with it */
	struct ring_form ring_form;
};

/* One of a session's two output queues: its events, written to the socket
 * the client connected, or its replies, written to the reply channel. */
struct out_queue {
	struct out_frame *head, *tail;
	size_t bytes; /* on the wire */
	size_t cost;  /* in memory: what max_queued_bytes bounds (output_frame_cost) */
	size_t frames;
};

struct reply_block {
	struct reply_block *next;
	alignas(max_align_t) unsigned char data[];
};

/* Queued output of closed sessions, in bytes, after which the heap is
 * trimmed (malloc_trim). */
#define CV_TRIM_AFTER_FREED_BYTES (1024u * 1024u)

struct uid_count {
	uid_t uid;
	size_t count;
};

/* A client that woke the loop through its ring, for cv-sched.h. `session`
 * is only compared, never dereferenced: it may be gone by the batch's end. */
struct cv_wake {
	const struct cv_session *session; /* NULL: none this batch */
	uint32_t cpu;                     /* the CPU it woke us from, plus one */
	bool on_reply;                    /* it sleeps until a reply */
	bool on_event;                    /* it sleeps until an event */
	bool replied;                     /* it got a REPLY in this batch */
	bool evented;                     /* it got an event in this batch */
};

struct cv_server {
	const struct cv_settings *settings;
	const struct cv_server_service **services; /* in the order they were added */
	size_t n_services;
	struct cv_service_stats *service_stats; /* parallel to services */
	const struct cv_session_observer *observer;
	bool quorate;
	struct cv_list sessions;
	/* Sessions whose input no descriptor announces: those whose client
	 * writes through a ring, and those whose client is gone, read to the end
	 * of what it sent without epoll (which would report the hang-up for
	 * ever). */
	struct cv_list polled_sessions;
	struct cv_session *closing_head;
	struct cv_session *flush_head;
	uint64_t last_session_id;
	size_t n_admitted, n_refusing;
	uint64_t n_closed;
	struct uid_count *uid_counts;
	size_t n_uid_counts;
	struct cv_packed_frame *ring_room;      /* RING_ROOM, shared by every session */
	struct cv_packed_frame *settled_wakeup; /* SETTLED, likewise */
	size_t freed_since_trim; /* queued output of sessions destroyed since the heap was last trimmed */
	struct cv_wake wake;     /* the last wake-up byte of this batch */
};

struct cv_session {
	struct cv_server *server;
	uint64_t id;
	int sock;                    /* the socket the client connected: its requests, our events */
	struct cv_watch watch;       /* of sock; removed once the client is gone */
	int reply_sock;              /* our end of the reply channel, from the WELCOME on; -1 */
	int reply_gift;              /* the client's end, until the WELCOME carries it; -1 */
	struct cv_watch reply_watch; /* of reply_sock */
	struct cv_timer hello_timer;
	struct ucred cred;
	enum session_state state;
	cs_error_t refusal;
	bool connected; /* the service's connect hook accepted it */
	const struct cv_server_service *service;
	void *private_data;
	struct cv_frame_header header;
	size_t header_have;
	unsigned char *payload;
	size_t payload_have;
	unsigned char *rx; /* RX_CHUNK bytes, read but not yet taken, from rx_start to rx_end */
	size_t rx_start, rx_end;
	struct out_queue events, replies;
	bool flow_controlled; /* a queue is at max_queued_bytes */
	bool held;            /* the frame in header/payload waits for cv_session_retry_held */
	bool reply_deferred;  /* the running handler answers later, with cv_session_reply */
	bool flush_pending;   /* in flush_head: output queued during this loop batch */
	struct cv_session *next_flush;
	struct cv_session_stats stats;
	struct reply_block *reply_memory;
	size_t reply_memory_bytes;
	int passed_fd;                 /* a descriptor the client attached, for RING_OPEN; -1 */
	struct event_ring *event_ring; /* NULL until an event goes through one */
	bool reads_event_ring;         /* its HELLO said so */
	struct cv_ring_reader ring;    /* ring.shared: the client's frames come through it */
	/* With a reply ring: how many queued replies still go to the socket
	 * (those queued up to the REPLY to RING_OPEN). */
	size_t reply_socket_frames;
	uint32_t settled; /* seq of the last request handled, for the ring's header */
	bool peer_gone;   /* the client closed its socket: output is dropped, input read to its end */
	struct cv_list
		polled_link; /* in the server's polled_sessions once it has a ring or its client is gone */
	struct cv_list link; /* in the server's sessions */
	struct cv_session *next_closing;
};

/* ---- server.c ---- */
struct cv_server *server_get(void);
struct cv_service_stats *server_stats_of(struct cv_server *server, const struct cv_server_service *service);
const struct cv_server_service *server_find_service(const struct cv_server *server, const char *name);
void server_admit(struct cv_server *server, uid_t uid);
void server_release(struct cv_server *server, uid_t uid);

/* ---- session.c ---- */
/* What was queued before the close (a refusal, the last events) is still
 * written as far as the socket takes it. */
void session_close_later(struct cv_session *s, enum cv_log_level level, const char *why);
/* Closes for bad input, counted as an invalid request of the service. */
void session_protocol_violation(struct cv_session *s, const char *format, ...)
	__attribute__((format(printf, 2, 3)));
void session_free_reply_memory(struct cv_session *s);
/* The client closed its socket: its output has nowhere to go, but what it
 * sent before is still read and handled. */
void session_client_gone(struct cv_session *s);

/* ---- session-input.c ---- */
bool input_paused(const struct cv_session *s);
/* Reading was paused (queue full, frame held): takes what no event will
 * announce now. */
void input_resume(struct cv_session *s);
void input_on_event(void *data, uint32_t events);
void input_free(struct cv_session *s);
/* With a ring: tells the client, in its header, which requests are
 * handled, once their output is written (cv-wire.h, Settling). */
void input_settle_publish(struct cv_session *s);

/* ---- session-output.c ---- */
struct cv_packed_frame *packed_frame_new(size_t payload_size);

/* ---- event-ring.c ---- */

/* A session's event ring (cv-wire.h: EVENT_RING), made with its first
 * event whose bytes go there. */
struct event_ring {
	int fd;
	unsigned char *map; /* CV_EVENT_RING_HEADER_SIZE + capacity bytes */
	uint32_t capacity;
	uint32_t head; /* bytes written so far */
	bool fd_given; /* a frame carries the ring already */
};

/* Puts f's bytes into s's event ring and turns it into EVENT_RING, when f
 * is a split event with large enough bytes and the ring (made now, the
 * first time) has room for them. False: f goes whole. */
bool event_ring_place(struct cv_session *s, struct out_frame *f);
size_t event_ring_frame_size(const struct out_frame *f);
void event_ring_free(struct cv_session *s);
void packed_frame_set_header(struct cv_packed_frame *f, uint16_t kind, uint16_t id, uint32_t seq,
			     int32_t status);
/* Takes a reference to `packed`; CS_OK or CS_ERR_NO_MEMORY. */
/* protobuf-c allocates while decoding with no limit of its own: a request
 * is decoded with an allocator that counts, within a budget its payload's
 * length sets. */
struct cv_bounded_allocator {
	ProtobufCAllocator base;
	size_t used;
	size_t budget;
};
void cv_request_allocator_init(struct cv_bounded_allocator *a, size_t payload_length);

size_t output_frame_cost(size_t frame_size); /* what max_queued_bytes counts for a frame */
cs_error_t output_queue(struct cv_session *s, struct out_queue *q, struct cv_packed_frame *packed);
/* Has the session's output written at the end of the batch. */
void output_flush_later(struct cv_session *s);
/* A reply (or RING_ROOM, or the REPLY to RING_OPEN) for the reply channel. */
cs_error_t output_queue_reply(struct cv_session *s, uint16_t kind, uint16_t id, uint32_t seq, int32_t status,
			      const ProtobufCMessage *msg);
/* The reply queue is full: reading pauses until the client reads. */
bool output_replies_full(const struct cv_session *s);
/* Writes as much of the queues as the sockets take, events first. */
void output_flush(struct cv_session *s);
/* Writes the output queued during the batch. */
void output_flush_pending(struct cv_server *server);
void output_flush_list_remove(struct cv_session *s);
/* Asks epoll for what the session waits for: input unless reading is
 * paused, room while output is queued. */
void output_update_events(struct cv_session *s);
/* epoll's news of the reply channel. */
void output_on_reply_event(void *data, uint32_t events);
void output_free(struct cv_session *s);

/* ---- request.c ---- */
void request_handle(struct cv_session *s);

/* ---- trace.c: -d's lines, nothing without debug ---- */
void session_trace_request(const struct cv_session *s, const struct cv_request_desc *desc,
			   const ProtobufCMessage *request);
void session_trace_reply(const struct cv_session *s, uint16_t request_id, cs_error_t status,
			 const ProtobufCMessage *reply);
void session_trace_event(const struct cv_session *s, const struct cv_packed_frame *event);

/* ---- monitor.c: the service conclavectl monitor connects to ---- */
extern const struct cv_server_service cv_monitor_service;
/* True when a monitor gets s's frames (never a monitor's own). */
bool monitor_watching(const struct cv_session *s);
void monitor_record(const struct cv_session *s, enum cv_monitor_kind kind, uint16_t id, int32_t status,
		    bool split, const uint8_t *payload, size_t length);

/* ---- handshake.c ---- */
void handshake_hello(struct cv_session *s);
void handshake_ring_open(struct cv_session *s);
/* The largest ring a client may offer. */
uint32_t handshake_ring_size_limit(const struct cv_settings *settings);

#endif
