/* The engine's packets on corosync (see cv-engine.h for the protocol): one
 * corosync cpg message is one packet, a fixed little-endian header and a
 * body. Decoding checks every length against what arrived before anything
 * is read or allocated: a packet from a peer is never trusted.
 */
#ifndef CONCLAVE_CV_ENGINE_WIRE_H
#define CONCLAVE_CV_ENGINE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CV_WIRE_MAGIC 0x31455643u /* "CVE1" */
#define CV_WIRE_VERSION 1u
#define CV_WIRE_HEADER 48u
#define CV_WIRE_FRAGMENT_HEADER 16u
#define CV_WIRE_SYNC_HEADER 28u
#define CV_WIRE_ACK_ENTRY 24u
#define CV_WIRE_MESSAGE_PREFIX 4u

enum cv_wire_type {
	CV_WIRE_BATCH = 1,    /* count whole messages, seq..seq+count-1 */
	CV_WIRE_FRAGMENT = 2, /* a slice of message seq */
	CV_WIRE_SYNC = 3,     /* a member's state for a configuration's sync round */
	CV_WIRE_ACK = 4,      /* the last seq this node delivered, per origin */
	CV_WIRE_PROBE = 5,    /* nothing: brings the sender's dropped packets to light */
};

struct cv_wire_header {
	uint8_t type;
	uint64_t incarnation; /* the sending engine's, fixed for its life */
	uint64_t packet;      /* the sender's packet number, +1 per packet */
	uint64_t seq;         /* BATCH: first message; FRAGMENT: its message; SYNC: first seq it sends next */
	uint32_t count;       /* BATCH: messages; ACK: entries; else 0 */
	uint64_t sent_bytes;  /* the sender's bytes handed to corosync, this packet included */
	uint32_t body_length; /* bytes after the header */
};

struct cv_wire_fragment {
	uint64_t total;  /* the whole message's length */
	uint64_t offset; /* of this slice */
	const uint8_t *data;
	size_t length;
};

struct cv_wire_sync {
	uint32_t ring_nodeid;
	uint64_t ring_seq;
	uint64_t view_hash; /* of the configuration it answers: ring id and members */
	const uint8_t *state;
	size_t state_length;
};

struct cv_wire_ack {
	uint32_t nodeid;
	uint64_t incarnation;
	uint64_t seq;
};

/* A decoded packet; its pointers point into the bytes it was decoded from. */
struct cv_wire_packet {
	struct cv_wire_header header;
	const uint8_t *body;
	union {
		struct cv_wire_fragment fragment;
		struct cv_wire_sync sync;
	};
};

void cv_wire_put_header(uint8_t out[CV_WIRE_HEADER], const struct cv_wire_header *h);
void cv_wire_put_fragment(uint8_t out[CV_WIRE_FRAGMENT_HEADER], uint64_t total, uint64_t offset);
void cv_wire_put_sync(uint8_t out[CV_WIRE_SYNC_HEADER], uint32_t ring_nodeid, uint64_t ring_seq,
		      uint64_t view_hash, uint32_t state_length);
void cv_wire_put_ack(uint8_t out[CV_WIRE_ACK_ENTRY], const struct cv_wire_ack *ack);
/* Appends one message of a batch body: its length, then its bytes. */
size_t cv_wire_put_message(uint8_t *out, const void *data, uint32_t length);

/* Decodes and checks a packet of length bytes: 0, or -1 with *why saying
 * what is wrong. max_message bounds a fragmented message's total length. */
int cv_wire_decode(const uint8_t *bytes, size_t length, uint64_t max_message, struct cv_wire_packet *p,
		   const char **why);

/* Walks the messages of a decoded BATCH: *cursor starts at 0; returns false
 * after the last. Decoding has checked they fill the body exactly. */
bool cv_wire_next_message(const struct cv_wire_packet *p, size_t *cursor, const uint8_t **data,
			  uint32_t *length);

/* Entry i (< count) of a decoded ACK. */
void cv_wire_ack_entry(const struct cv_wire_packet *p, uint32_t i, struct cv_wire_ack *ack);

#endif
