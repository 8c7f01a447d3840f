/* Test helpers: raw clients that speak the wire protocol directly (no
 * client library) to a real conclaved (test-daemon.h), so tests can send
 * exactly the bytes they want. The assertions are cmocka's. */
#ifndef CONCLAVE_TEST_DAEMON_PEER_H
#define CONCLAVE_TEST_DAEMON_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <protobuf-c/protobuf-c.h>
#include <corosync/corotypes.h>

#include "cv-wire.h"
#include "test-daemon.h"

/* Options every test daemon gets unless the test's own config has a
 * conclave section: a short HELLO timeout, and no rate limit on the log,
 * which tests read for a line per event. */
#define TEST_CONCLAVE_SECTION "conclave {\n\thello_timeout: 500\n\tlog_rate_burst: 0\n}\n"
/* A quorate node of its own, for a test to add its conclave section to. */
#define TEST_SINGLE_NODE_SECTIONS                          \
	"totem {\n\tversion: 2\n\tcluster_name: test\n}\n" \
	"quorum {\n\tprovider: corosync_votequorum\n}\n"   \
	"nodelist {\n\tnode {\n\t\tnodeid: 1\n\t\tring0_addr: 127.0.0.1\n\t}\n}\n"
#define TEST_SINGLE_NODE_CONFIG TEST_SINGLE_NODE_SECTIONS TEST_CONCLAVE_SECTION

/* ---- raw clients ------------------------------------------------------- */

int raw_connect(const char *socket_path); /* -1 on failure */
int raw_send(int fd, const void *bytes, size_t size);
int raw_send_frame(int fd, uint16_t kind, uint16_t id, uint32_t seq, const void *payload, uint32_t length);
int raw_send_hello(int fd, uint32_t magic, const char *service, uint16_t major, uint16_t minor);
/* 1 with a frame (payload malloc'd into *payload, may be NULL when empty),
 * 0 on EOF, -1 on timeout or error. Descriptors passed with it are closed. */
int raw_read_frame(int fd, struct cv_frame_header *h, uint8_t **payload, int timeout_ms);
/* The same on the reply channel of fd (cv-wire.h), which replies and
 * RING_ROOM come on; fd itself brings events only. */
int raw_read_reply(int fd, struct cv_frame_header *h, uint8_t **payload, int timeout_ms);
/* The reply channel a WELCOME gave fd; -1 before. */
int raw_reply_fd(int fd);
/* Reads a frame as raw_read_frame, keeping the reply channel a WELCOME
 * carries as fd's: -1 also for a WELCOME(CS_OK) without one. */
int raw_read_welcome(int fd, struct cv_frame_header *h, uint8_t **payload, int timeout_ms);
/* The WELCOME status, or -1 when none came. */
int raw_handshake(int fd, const char *service);
/* Connects and handshakes; the fd, or -1. */
int raw_client(const char *socket_path, const char *service);
/* True when the daemon closes fd within timeout_ms (frames before the EOF
 * are read and dropped). */
bool raw_closed_within(int fd, int timeout_ms);

/* Sends a request and waits for its reply on the reply channel; events
 * wait in fd. *reply is unpacked (free with protobuf_c_message_free_unpacked)
 * or NULL. Returns the reply status, or -1 when no reply came. */
int raw_call(int fd, uint16_t request_id, const ProtobufCMessage *request,
	     const ProtobufCMessageDescriptor *reply_desc, ProtobufCMessage **reply);
/* The next event on fd, read within timeout_ms: its id, with the unpacked
 * message in *event; -1 when none. */
int raw_next_event(int fd, const ProtobufCMessageDescriptor *const *event_descs, size_t n_descs,
		   ProtobufCMessage **event, int timeout_ms);
/* Reads and drops fd's events until none comes within idle_ms: how many. */
size_t raw_drain_events(int fd, int idle_ms);
/* raw_drain_events with a short idle time. */
void raw_forget_events(int fd);

/* ---- raw shared rings (cv-wire.h) -------------------------------------- */

enum raw_ring_flaw {
	RAW_RING_SOUND,
	RAW_RING_SHRINKABLE,   /* sealed against growing, not shrinking */
	RAW_RING_WRONG_SIZE,   /* sealed, but a page longer than its capacity needs */
	RAW_RING_WITH_REPLIES, /* followed by a reply ring as large, offered with it */
};

struct raw_ring {
	int memfd;
	struct cv_ring_shared *shared;
	uint8_t *data;
	uint32_t capacity;
	size_t size;         /* of the memfd and its mapping */
	uint32_t head;       /* where the next byte goes; raw_ring_publish shows it */
	uint8_t *reply_data; /* the reply ring's, or NULL */
	uint32_t reply_tail; /* where the next reply byte is read */
};

/* A memfd of CV_RING_HEADER_SIZE + capacity bytes (but for `flaw`),
 * mapped, with head and tail at 0. 0, or -1. */
int raw_ring_create(struct raw_ring *r, uint32_t capacity, enum raw_ring_flaw flaw);
void raw_ring_destroy(struct raw_ring *r);
/* raw_send with the n_fds descriptors fds attached to the first byte. */
int raw_send_with_fds(int fd, const void *bytes, size_t size, const int *fds, size_t n_fds);
/* Sends a RING_OPEN frame with `length` payload bytes and the n_fds
 * descriptors fds attached. */
int raw_send_ring_open(int fd, uint32_t seq, const void *payload, uint32_t length, const int *fds,
		       size_t n_fds);
/* Offers r with a right RING_OPEN and waits for its REPLY, as raw_call
 * does: the status of a REPLY with id 0 and no payload, or -1 when none
 * came. */
int raw_ring_offer(int fd, struct raw_ring *r);
/* Publishes r->head, then writes a wake-up byte to fd if the daemon asked
 * for one (reader_asleep taken from 1 to 0). */
int raw_ring_publish(int fd, struct raw_ring *r);
/* Copies a frame to the ring at its head, wrapping at its end, without
 * publishing it; -1 when the ring has no room for it. */
int raw_ring_put_frame(struct raw_ring *r, uint16_t kind, uint16_t id, uint32_t seq, const void *payload,
		       uint32_t length);
/* raw_ring_put_frame, then raw_ring_publish. */
int raw_ring_send_frame(int fd, struct raw_ring *r, uint16_t kind, uint16_t id, uint32_t seq,
			const void *payload, uint32_t length);
/* The next frame of r's reply ring, read as the daemon writes it (waking
 * it through fd when it waits for room): 1 with its header in *h and its
 * payload (or NULL) in *payload, 0 when it did not come within
 * timeout_ms. */
int raw_ring_read_reply(int fd, struct raw_ring *r, struct cv_frame_header *h, uint8_t **payload,
			int timeout_ms);
/* Writes request as request_id's REQUEST to r: its seq, or 0 when the
 * ring has no room for it. */
uint32_t raw_ring_request(int fd, struct raw_ring *r, uint16_t request_id, const ProtobufCMessage *request);
/* Whether fd turns readable within timeout_ms. */
bool raw_fd_readable_within(int fd, int timeout_ms);
/* raw_call with the request written to the ring (and with a reply ring,
 * the reply read from it). */
int raw_ring_call(int fd, struct raw_ring *r, uint16_t request_id, const ProtobufCMessage *request,
		  const ProtobufCMessageDescriptor *reply_desc, ProtobufCMessage **reply);

/* ---- assertions -------------------------------------------------------- */

/* A fresh, well-behaved client: getquorate must answer CS_OK, quorate 1. */
void assert_daemon_serves(const struct test_daemon *d);
/* d closed fd, logged why on one line naming this process's pid and uid
 * and then the reason, and still serves a fresh client. */
void assert_closed_with_log(const struct test_daemon *d, int fd, const char *reason);

#endif
