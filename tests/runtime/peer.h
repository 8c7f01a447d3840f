/* A scripted stand-in for conclaved: a listening Unix socket in a temporary
 * directory ($CONCLAVE_SOCKET points at it) that answers the handshake the
 * way a test asks, handing the client a reply channel as conclaved does
 * (cv-wire.h), then lets the test write frames by hand or runs a responder
 * thread that answers requests.
 */
#ifndef CONCLAVE_TEST_PEER_H
#define CONCLAVE_TEST_PEER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cv-wire.h"
#include "test-service.h"

enum peer_handshake {
	PEER_WELCOME,            /* HELLO -> WELCOME(CS_OK, max_message, max_ring) with a reply channel */
	PEER_WELCOME_NO_CHANNEL, /* HELLO -> WELCOME(CS_OK) without a reply channel */
	PEER_WELCOME_TWO_FDS,    /* HELLO -> WELCOME(CS_OK) with a reply channel and another descriptor */
	PEER_REFUSE_WITH_FD,     /* HELLO -> WELCOME(refusal) with a descriptor, close */
	PEER_WELCOME_SHORT,      /* HELLO -> WELCOME(CS_OK) of 8 bytes: no max_ring_size */
	PEER_WELCOME_LONG,       /* HELLO -> WELCOME(CS_OK) of 16 bytes, longer than struct cv_welcome */
	PEER_REFUSE,             /* HELLO -> WELCOME(refusal), close */
	PEER_REFUSE_AT_ONCE,     /* WELCOME(refusal) without reading HELLO, close */
	PEER_CLOSE_AT_ONCE,      /* close right after accept */
	PEER_CLOSE_AFTER_HELLO,  /* HELLO -> close */
	PEER_CLOSE_MID_HEADER,   /* HELLO -> half a WELCOME header, close */
	PEER_CLOSE_MID_WELCOME,  /* HELLO -> WELCOME header without its payload, close */
	PEER_BAD_MAGIC,          /* HELLO -> WELCOME with a wrong magic */
	PEER_BAD_LENGTH,         /* HELLO -> WELCOME(CS_OK) with a 4-byte payload */
	PEER_WRONG_KIND,         /* HELLO -> an EVENT frame */
	PEER_SILENT,             /* HELLO -> nothing, connection kept open */
};

#define PEER_MAX_HELD 64
#define PEER_MAX_CLIENTS 64

struct peer_request {
	struct cv_frame_header header;
	uint8_t *payload;
	int passed_fd;           /* the first descriptor attached to the frame's bytes; -1 */
	unsigned int passed_fds; /* how many were attached (all but the first closed) */
};

/* What the responder saw of a RING_OPEN. */
struct peer_ring_open {
	struct cv_ring_open open;
	unsigned int fds;             /* descriptors attached */
	int64_t size;                 /* of the first, by fstat; -1 without one */
	int seals;                    /* its F_GET_SEALS; -1 when it is no memfd */
	unsigned int requests_before; /* requests read before it */
};

struct peer {
	char dir[64];
	char path[128];
	int listen_fd;
	int fd;       /* the accepted connection (events go here), -1 before or after closing */
	int reply_fd; /* our end of its reply channel, -1 without one */

	/* handshake */
	enum peer_handshake mode;
	int32_t refusal;
	uint32_t max_message;
	uint32_t max_ring;                /* announced in WELCOME; 0: no rings */
	unsigned int ticks_after_welcome; /* sent in the same write as WELCOME */
	struct cv_hello hello;
	bool hello_received;
	pthread_t acceptor;
	bool acceptor_started;

	pthread_mutex_t write_lock; /* frames from the test and the responder */

	/* responder */
	pthread_t responder;
	bool responder_started;
	int control[2]; /* pipe: wakes the responder when the fields below change */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stopping;
	bool paused;                   /* do not read requests */
	bool gate_closed;              /* read requests but hold the replies */
	bool hang_up_on_request;       /* close the connection on a request */
	unsigned int events_per_reply; /* tick events sent before each reply; what the socket
					  cannot take waits in `backlog`, written as it takes it */
	bool flood;                    /* before each reply, ticks until the socket is full */
	size_t flooded;                /* bytes of ticks the socket took from the flood */
	uint8_t *backlog;
	size_t backlog_length;
	unsigned int requests;       /* requests read so far */
	unsigned int split_requests; /* of which REQUEST_SPLIT frames */
	unsigned int notifies;
	uint32_t last_notify;
	struct peer_request held[PEER_MAX_HELD];
	unsigned int n_held;
	int32_t ring_reply;      /* the status RING_OPEN is answered with */
	unsigned int ring_opens; /* RING_OPEN frames read so far */
	struct peer_ring_open last_ring_open;

	/* many clients */
	bool many;
	int clients[PEER_MAX_CLIENTS]; /* -1: free slot */
	unsigned int live_clients;
};

/* Creates the socket and points $CONCLAVE_SOCKET at it. */
struct peer *peer_new(void);
void peer_free(struct peer *p);

/* Accepts one client on a thread and runs the handshake `mode`. */
void peer_expect_client(struct peer *p, enum peer_handshake mode);
/* Joins that thread; returns the connection fd (-1 when the mode closed it). */
int peer_client_arrived(struct peer *p);
/* expect_client(mode) + cv_client_initialize + client_arrived; fails the
 * test unless all went well. */
uint64_t peer_connect_client_with(struct peer *p, enum peer_handshake mode, const cv_callback_fn *callbacks,
				  void *context);
/* The same with PEER_WELCOME. */
uint64_t peer_connect_client(struct peer *p, const cv_callback_fn *callbacks, void *context);

/* The state most tests start from: a client connected to a new peer. */
struct fixture {
	struct peer *p;
	uint64_t handle;
	int fd; /* the client's cv_client_fd_get descriptor */
};

/* Resets the recorded callbacks, then connects a client with `callbacks` and
 * `context` to a new peer that allows messages of max_message bytes (0: the
 * peer's default), and stores the fixture in *state. */
int fixture_connect(void **state, const cv_callback_fn *callbacks, void *context, uint32_t max_message);
/* The same with the peer p (set up as the test wants) and handshake mode. */
int fixture_connect_to(void **state, struct peer *p, enum peer_handshake mode,
		       const cv_callback_fn *callbacks, void *context);
/* cmocka teardown: finalizes the client, frees the peer and checks that no
 * handle is left. */
int fixture_teardown(void **state);

/* Accepts any number of clients, each served on its own thread (WELCOME,
 * then echo replies until the client leaves). */
void peer_accept_many(struct peer *p);

/* ---- writing by hand (test thread) ---- */
/* To the socket the client connected, where events go. */
void peer_write(struct peer *p, const void *bytes, size_t length);
/* To the reply channel. */
void peer_write_reply(struct peer *p, const void *bytes, size_t length);
/* REPLY and RING_ROOM to the reply channel, any other kind to the socket. */
void peer_send_frame(struct peer *p, uint16_t kind, uint16_t id, uint32_t seq, int32_t status,
		     const void *payload, uint32_t length);
void peer_send_tick(struct peer *p, uint32_t value);
void peer_send_note(struct peer *p, const char *text);
/* Packs an event frame into a malloc'd buffer (header included). */
uint8_t *peer_pack_event(uint16_t id, const ProtobufCMessage *event, size_t *length);
uint8_t *peer_pack_tick(uint32_t value, size_t *length);
/* Writes to the reply channel without blocking past timeout_ms; false
 * when it could not. */
bool peer_write_reply_within(struct peer *p, const void *bytes, size_t length, int timeout_ms);
/* Blocking read of one frame; false at end of stream. */
bool peer_read_frame(struct peer *p, struct cv_frame_header *header, uint8_t **payload);
/* shutdown() of both channels: the client sees end of stream. */
void peer_hang_up(struct peer *p);
/* Closes the connection (after a test is done with a client). */
void peer_drop_client(struct peer *p);

/* ---- the responder thread ---- */
/* Answers TEST_REQUEST_ECHO with value + 1 and the same blob, counts
 * TEST_REQUEST_NOTIFY, answers RING_OPEN with ring_reply (the peer reads
 * no ring: a refusal), following the fields above. */
void peer_respond(struct peer *p);
void peer_set_paused(struct peer *p, bool paused);
/* Opening the gate answers the held requests, newest first. */
void peer_set_gate(struct peer *p, bool closed);
bool peer_wait_requests(struct peer *p, unsigned int n, int timeout_ms);
bool peer_wait_notifies(struct peer *p, unsigned int n, int timeout_ms);

#endif
