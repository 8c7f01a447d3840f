/* Conclave wire format, shared by the client runtime and conclaved.
 *
 * A connection is a SOCK_STREAM Unix socket carrying frames, plus a private
 * reply channel the daemon hands over in its WELCOME. Every frame is a fixed
 * 16-byte header followed by `length` payload bytes. Both ends run on one
 * host, so integers are in host byte order.
 *
 * Connection life:
 *   client -> HELLO   (payload: struct cv_hello)
 *   daemon -> WELCOME (status CS_OK, payload: struct cv_welcome, with one
 *             descriptor attached: the client's end of the reply channel, a
 *             connected SOCK_STREAM Unix socket), or WELCOME with status
 *             CS_ERR_ACCESS / CS_ERR_NOT_SUPPORTED / CS_ERR_TRY_AGAIN /
 *             CS_ERR_NO_RESOURCES, no payload and no descriptor, after which
 *             the daemon closes.
 *   client -> REQUEST (id = request id, seq = client-chosen, payload = protobuf)
 *   daemon -> REPLY   (id and seq echoed, status = cs_error_t, payload = protobuf,
 *                      possibly empty), never sent for one-way requests
 *   daemon -> EVENT   (id = event id, seq 0, payload = protobuf)
 *
 * The two channels. After WELCOME, the socket the client connected carries,
 * from the daemon, EVENT, EVENT_SPLIT and EVENT_RING frames only (and its end when the
 * daemon closes); the reply channel carries REPLY and RING_ROOM frames only,
 * and nothing from the client. So a client reads its replies without
 * reading its events, which wait in the socket until it dispatches them,
 * and the socket is readable exactly while events are pending. The daemon
 * queues each channel on its own: a client that does not read its events
 * holds back whoever sends it events (CS_ERR_TRY_AGAIN), never its own
 * requests; one that does not read its replies stops the daemon reading
 * its requests. Events a request causes for its own client are written
 * before its reply whenever the socket has room for them.
 *
 * REQUEST_SPLIT and EVENT_SPLIT are REQUEST and EVENT whose message's
 * largest bytes field (cv-split.h says which qualify) travels after the
 * protobuf instead of inside it. The payload is a prefix of two protobuf
 * varints, the field's number and the length of the protobuf, then that
 * protobuf (the message without the field), then the field's bytes up to
 * the end of the payload. A receiver refuses, as any malformed frame, a
 * prefix cut short or beyond 32 bits, a protobuf running past the end, a
 * field number that is no top-level bytes field of the message, or a
 * protobuf that carries the field as well.
 *
 * A shared ring (RING_OPEN) can take over the client-to-daemon direction:
 *   client -> RING_OPEN (seq = client-chosen, payload: struct cv_ring_open,
 *             with one descriptor attached: a memfd sealed against
 *             shrinking, CV_RING_HEADER_SIZE + capacity bytes long)
 *   daemon -> REPLY   (id 0, the seq echoed, no payload; status CS_OK, or
 *             CS_ERR_NOT_SUPPORTED / CS_ERR_NO_RESOURCES when the daemon
 *             takes no ring or none that large, and the socket carries on)
 * A client offers a ring only to a daemon whose WELCOME announced one at
 * least that large. After an accepted RING_OPEN the client writes every further byte of its
 * frames into the ring instead of the socket, and the socket carries only
 * wake-up bytes from the client (any value, to be read and dropped) and its
 * end. The daemon writes RING_ROOM (no payload) to the reply channel when it
 * has made room in the ring for a client waiting for it, and SETTLED (seq
 * 0, no payload) when it has handled what such a client waits for (or has
 * paused reading it). struct cv_ring_shared says who writes what in the
 * ring.
 *
 * EVENT_RING is an EVENT_SPLIT whose field's bytes are not in the frame
 * but in an event ring, shared memory the daemon makes for the connection
 * and writes, the client reads. Its payload is a struct cv_event_ring_place
 * saying where the bytes lie, then the prefix and the protobuf. The first
 * EVENT_RING of a connection carries, attached to its first byte, the
 * ring: a memfd sealed against shrinking and growing,
 * CV_EVENT_RING_HEADER_SIZE bytes of struct cv_event_ring_shared followed
 * by the data, a power of two of bytes; no other frame carries a
 * descriptor. Once it has delivered the event, the client gives the bytes
 * back by setting the header's tail to the place's end. The daemon sends
 * EVENT_RING, to a client whose HELLO says it reads them, instead of
 * EVENT_SPLIT for large bytes when the ring has room for them, so that they take one copy in memory instead of one into the
 * socket and one out of it; when it has none they go in the frame, so
 * nothing waits for the ring. A receiver refuses, as any malformed frame,
 * an EVENT_RING without a ring, a second ring, a descriptor on any other
 * frame, a ring that is no memfd so sealed and sized, or a place outside
 * its data.
 * The reply ring. A RING_OPEN whose reply_capacity equals its capacity
 * offers the daemon-to-client direction of the reply channel as well: the
 * memfd is then CV_RING_HEADER_SIZE + 2 * capacity bytes long, the request
 * ring's data followed by the reply ring's. The daemon that accepts it
 * writes the REPLY to RING_OPEN, the last frame of the reply channel's
 * socket, and every later REPLY, RING_ROOM and SETTLED into the reply ring,
 * in the order it would have written them to the socket; the socket then
 * carries only wake-up bytes (any value, read and dropped) and its end,
 * which still tells the client that the daemon is gone. A reply ring full
 * keeps the daemon's frames in its reply queue, counted against its limit
 * as unsent replies always are: reading the client pauses when that queue
 * is full, and nothing is lost. A RING_OPEN of CV_RING_OPEN_MIN_SIZE bytes,
 * or with reply_capacity 0, offers no reply ring, and replies keep the
 * socket.
 *
 * Settling without a ring:
 *   client -> SETTLE  (seq = client-chosen, no payload)
 *   daemon -> SETTLED (the seq echoed, no payload) on the reply channel,
 *             after the events of every request the client sent before
 *             it, as a reply would be
 * so that a client can wait until what it posted has taken effect.
 */
#ifndef CONCLAVE_CV_WIRE_H
#define CONCLAVE_CV_WIRE_H

#include <stdint.h>

#define CV_WIRE_MAGIC 0x31564c43u /* "CLV1" */
#define CV_SERVICE_NAME_MAX 32

enum cv_frame_kind {
	CV_FRAME_HELLO = 1,
	CV_FRAME_WELCOME = 2,
	CV_FRAME_REQUEST = 3,
	CV_FRAME_REPLY = 4,
	CV_FRAME_EVENT = 5,
	CV_FRAME_REQUEST_SPLIT = 6,
	CV_FRAME_EVENT_SPLIT = 7,
	CV_FRAME_RING_OPEN = 8,
	CV_FRAME_RING_ROOM = 9,
	CV_FRAME_SETTLED = 10,
	CV_FRAME_SETTLE = 11,
	CV_FRAME_EVENT_RING = 12,
};

struct cv_frame_header {
	uint32_t length; /* payload bytes after this header */
	uint16_t kind;   /* enum cv_frame_kind */
	uint16_t id;     /* request or event id within the service */
	uint32_t seq;    /* request sequence, echoed in the reply; 0 otherwise */
	int32_t status;  /* cs_error_t in REPLY and WELCOME; 0 otherwise */
};

struct cv_hello {
	uint32_t magic;
	uint16_t idl_major; /* the service's IDL version the client was built from */
	uint16_t idl_minor;
	char service[CV_SERVICE_NAME_MAX]; /* NUL-padded */
	uint32_t reads; /* CV_READS_*: what the client reads beyond EVENT and EVENT_SPLIT */
};

/* A HELLO without `reads` (CV_HELLO_MIN_SIZE bytes) reads neither. */
#define CV_HELLO_MIN_SIZE 40u
#define CV_READS_EVENT_RING 1u /* EVENT_RING frames */

struct cv_welcome {
	uint32_t magic;
	uint32_t max_message_size; /* largest payload the daemon accepts */
	uint32_t max_ring_size;    /* largest shared ring it takes; 0: none */
};

/* A WELCOME without max_ring_size (CV_WELCOME_MIN_SIZE bytes) offers no
 * ring. */
#define CV_WELCOME_MIN_SIZE 8u

struct cv_ring_open {
	uint32_t magic;
	uint32_t capacity;       /* of the ring's data, a power of two */
	uint32_t reply_capacity; /* of the reply ring's data: 0 (none) or capacity */
};

/* A RING_OPEN without reply_capacity offers no reply ring. */
#define CV_RING_OPEN_MIN_SIZE 8u

/* The first CV_RING_HEADER_SIZE bytes of a ring's memfd; the data follows.
 * Positions run free modulo 2^32: byte p lives at data[p % capacity]. Each
 * side keeps its own copy of its position and never trusts the other's
 * writes beyond reading them: the daemon refuses a head more than
 * `capacity` ahead of its tail as a malformed frame would be.
 *
 * Waking. A daemon about to sleep sets reader_asleep, then looks at head
 * once more; a client that published new bytes looks at reader_asleep, and
 * if it takes it from 1 to 0, writes a byte to the socket, having set
 * waker_cpu to the CPU it runs on (plus one): a daemon that the kernel
 * places without regard to its wakers (a realtime one) may move next to a
 * client that keeps waking it from another CPU and then sleeping until it
 * answers: on the reply it waits for (reply_reader_asleep, below), or on an
 * event (event_sleeper, which only the client writes and which wakes
 * nobody). With a full barrier between each side's write and read, one of
 * them always sees the other. writer_waiting works the same way the other
 * way round, with RING_ROOM as the wake-up, sent once the ring has room for as many bytes
 * as the client set it to (or is empty): a writer woken for every few
 * bytes freed would spend its time waking.
 *
 * Settling. `settled` is the seq of the last request the daemon has handled
 * from the ring, published only once the events it caused for this client
 * are in the socket (or the socket is full); `paused` says it has stopped
 * reading the ring for now (a request held back, its reply queue full). A
 * client that needs a request handled sets settle_waiting to its seq, then
 * looks at settled and paused once more; a daemon that published settled
 * or paused looks at settle_waiting, and if what it published is what the
 * client waits for and it takes settle_waiting to 0, sends SETTLED.
 * Seqs compare modulo 2^32.
 *
 * The reply ring runs the other way with the same rules: the daemon writes
 * at reply_head, the client reads at reply_tail, and each refuses the
 * other's position when it is more than the capacity away from its own
 * (the daemon closes the session, the client gives the connection up). A
 * client about to sleep sets reply_reader_asleep and looks at reply_head
 * once more; a daemon that published bytes and takes it from 1 to 0
 * writes a byte to the reply channel's socket. A daemon whose frames do
 * not fit sets reply_writer_waiting and looks at reply_tail once more; a
 * client that read bytes and takes it from 1 to 0 writes a byte to the
 * socket it connected, as for the request ring. */
struct cv_ring_shared {
	uint32_t head;           /* client: bytes written so far */
	uint32_t writer_waiting; /* client sets, daemon clears: bytes of room awaited */
	uint32_t settle_waiting; /* client sets, daemon clears: the seq awaited */
	uint32_t waker_cpu;      /* client: the CPU it last woke the daemon from, plus one; 0: unknown */
	uint32_t event_sleeper;  /* client: 1 while it sleeps until an event comes */
	uint8_t client_line[44];
	uint32_t tail;          /* daemon: bytes read so far */
	uint32_t reader_asleep; /* daemon sets, client clears: wake me */
	uint32_t settled;       /* daemon: seq of the last request handled */
	uint32_t paused;        /* daemon: 1 while it does not read the ring */
	uint8_t daemon_line[48];
	uint32_t reply_tail;          /* client: reply bytes read so far */
	uint32_t reply_reader_asleep; /* client sets, daemon clears: wake me */
	uint8_t client_reply_line[56];
	uint32_t reply_head;           /* daemon: reply bytes written so far */
	uint32_t reply_writer_waiting; /* daemon sets, client clears: wake me for room */
	uint8_t daemon_reply_line[56];
};

/* Where an EVENT_RING's bytes lie: at data[position % capacity], never
 * across the data's end. Positions run free modulo 2^32. */
struct cv_event_ring_place {
	uint32_t position;
	uint32_t length;
};

/* The header of an event ring. The client writes tail, the position up to
 * which it has given the data back; the daemon reads it, and writes no
 * bytes where the client may still read: a tail further behind than the
 * capacity, or ahead of what was written, leaves the ring full. */
struct cv_event_ring_shared {
	uint32_t tail;
};

#define CV_EVENT_RING_HEADER_SIZE 4096u

/* Whether seq `settled` is `awaited` or later, modulo 2^32. */
static inline int cv_seq_reached(uint32_t settled, uint32_t awaited)
{
	return (int32_t)(settled - awaited) >= 0;
}

#define CV_RING_HEADER_SIZE 4096u
#define CV_RING_MIN_CAPACITY 4096u
#define CV_RING_MAX_CAPACITY (64u * 1024u * 1024u)

_Static_assert(sizeof(struct cv_ring_shared) <= CV_RING_HEADER_SIZE, "ring header fits its page");
_Static_assert(sizeof(struct cv_frame_header) == 16, "frame header is 16 bytes");
_Static_assert(sizeof(struct cv_hello) == 44, "hello is 44 bytes");
_Static_assert(sizeof(struct cv_welcome) == 12, "welcome is 12 bytes");
_Static_assert(sizeof(struct cv_ring_open) == 12, "ring open is 12 bytes");

/* The daemon accepts a client whose idl_major equals its own and whose
 * idl_minor is not greater than its own; anything else gets NOT_SUPPORTED. */

#define CV_DEFAULT_SOCKET_PATH "/run/conclave/conclaved.sock"
#define CV_SOCKET_ENV "CONCLAVE_SOCKET"

/* Client-side ceiling on any incoming payload, whatever the daemon announces. */
#define CV_CLIENT_MAX_PAYLOAD (64u * 1024u * 1024u)

/* The largest message a cpg member may send in pieces: the default and the
 * ceiling of conclave.cpg_max_message_size, and what a library agrees to
 * reassemble whatever total a piece announces. */
#define CV_CPG_MAX_MESSAGE_SIZE (1024u * 1024u * 1024u)

#endif
