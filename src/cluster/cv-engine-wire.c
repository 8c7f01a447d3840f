/* Encoding and checked decoding of the engine's packets; see cv-engine-wire.h. */
#include <string.h>

#include "cv-engine-wire.h"

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

void cv_wire_put_header(uint8_t out[CV_WIRE_HEADER], const struct cv_wire_header *h)
{
	put32(out, CV_WIRE_MAGIC);
	out[4] = CV_WIRE_VERSION;
	out[5] = h->type;
	out[6] = out[7] = 0;
	put64(out + 8, h->incarnation);
	put64(out + 16, h->packet);
	put64(out + 24, h->seq);
	put32(out + 32, h->count);
	put32(out + 36, h->body_length);
	put64(out + 40, h->sent_bytes);
}

void cv_wire_put_fragment(uint8_t out[CV_WIRE_FRAGMENT_HEADER], uint64_t total, uint64_t offset)
{
	put64(out, total);
	put64(out + 8, offset);
}

void cv_wire_put_sync(uint8_t out[CV_WIRE_SYNC_HEADER], uint32_t ring_nodeid, uint64_t ring_seq,
		      uint64_t view_hash, uint32_t state_length)
{
	put32(out, ring_nodeid);
	put64(out + 4, ring_seq);
	put64(out + 12, view_hash);
	put32(out + 20, state_length);
	put32(out + 24, 0);
}

void cv_wire_put_ack(uint8_t out[CV_WIRE_ACK_ENTRY], const struct cv_wire_ack *ack)
{
	put32(out, ack->nodeid);
	put32(out + 4, 0);
	put64(out + 8, ack->incarnation);
	put64(out + 16, ack->seq);
}

size_t cv_wire_put_message(uint8_t *out, const void *data, uint32_t length)
{
	put32(out, length);
	memcpy(out + CV_WIRE_MESSAGE_PREFIX, data, length);
	return CV_WIRE_MESSAGE_PREFIX + (size_t)length;
}

static int fail(const char **why, const char *text)
{
	*why = text;
	return -1;
}

/* The messages of a batch must fill its body exactly, count of them. */
static int check_batch(const struct cv_wire_packet *p, const char **why)
{
	size_t at = 0, left = p->header.body_length;

	if (p->header.count == 0)
		return fail(why, "a batch of no message");
	if (p->header.seq == 0 || p->header.seq > UINT64_MAX - p->header.count)
		return fail(why, "a batch's sequence numbers are out of range");
	for (uint32_t i = 0; i < p->header.count; i++) {
		if (left < CV_WIRE_MESSAGE_PREFIX)
			return fail(why, "a batch's message length is cut short");
		uint32_t length = get32(p->body + at);
		at += CV_WIRE_MESSAGE_PREFIX;
		left -= CV_WIRE_MESSAGE_PREFIX;
		if (length > left)
			return fail(why, "a batch's message runs past the packet");
		at += length;
		left -= length;
	}
	if (left != 0)
		return fail(why, "a batch has bytes after its last message");
	return 0;
}

static int check_fragment(struct cv_wire_packet *p, uint64_t max_message, const char **why)
{
	struct cv_wire_fragment *f = &p->fragment;

	if (p->header.body_length <= CV_WIRE_FRAGMENT_HEADER)
		return fail(why, "a fragment with no data");
	if (p->header.seq == 0 || p->header.count != 0)
		return fail(why, "a fragment's sequence number or count is wrong");
	f->total = get64(p->body);
	f->offset = get64(p->body + 8);
	f->data = p->body + CV_WIRE_FRAGMENT_HEADER;
	f->length = p->header.body_length - CV_WIRE_FRAGMENT_HEADER;
	if (f->total > max_message)
		return fail(why, "a fragmented message is larger than the largest message");
	if (f->offset > f->total || f->length > f->total - f->offset)
		return fail(why, "a fragment lies outside its message");
	return 0;
}

static int check_sync(struct cv_wire_packet *p, const char **why)
{
	struct cv_wire_sync *s = &p->sync;

	if (p->header.body_length < CV_WIRE_SYNC_HEADER || p->header.count != 0)
		return fail(why, "a sync packet is cut short");
	s->ring_nodeid = get32(p->body);
	s->ring_seq = get64(p->body + 4);
	s->view_hash = get64(p->body + 12);
	s->state_length = get32(p->body + 20);
	s->state = p->body + CV_WIRE_SYNC_HEADER;
	if (get32(p->body + 24) != 0)
		return fail(why, "a sync packet's reserved field is not 0");
	if (s->state_length != p->header.body_length - CV_WIRE_SYNC_HEADER)
		return fail(why, "a sync packet's state length does not match the packet");
	if (p->header.seq == 0)
		return fail(why, "a sync packet's first sequence number is 0");
	return 0;
}

static int check_body(struct cv_wire_packet *p, uint64_t max_message, const char **why)
{
	switch (p->header.type) {
	case CV_WIRE_BATCH:
		return check_batch(p, why);
	case CV_WIRE_FRAGMENT:
		return check_fragment(p, max_message, why);
	case CV_WIRE_SYNC:
		return check_sync(p, why);
	case CV_WIRE_ACK:
		if ((uint64_t)p->header.count * CV_WIRE_ACK_ENTRY != p->header.body_length)
			return fail(why, "an ack's entries do not match its length");
		return 0;
	case CV_WIRE_PROBE:
		if (p->header.body_length != 0 || p->header.count != 0)
			return fail(why, "a probe with a body");
		return 0;
	default:
		return fail(why, "an unknown packet type");
	}
}

int cv_wire_decode(const uint8_t *bytes, size_t length, uint64_t max_message, struct cv_wire_packet *p,
		   const char **why)
{
	memset(p, 0, sizeof(*p));
	if (length < CV_WIRE_HEADER)
		return fail(why, "a packet shorter than the header");
	if (get32(bytes) != CV_WIRE_MAGIC)
		return fail(why, "a packet without the engine's magic number");
	if (bytes[4] != CV_WIRE_VERSION)
		return fail(why, "a packet of another protocol version");
	if (bytes[6] != 0 || bytes[7] != 0)
		return fail(why, "a packet's reserved flags are not 0");
	p->header.type = bytes[5];
	p->header.incarnation = get64(bytes + 8);
	p->header.packet = get64(bytes + 16);
	p->header.seq = get64(bytes + 24);
	p->header.count = get32(bytes + 32);
	p->header.body_length = get32(bytes + 36);
	p->header.sent_bytes = get64(bytes + 40);
	if ((uint64_t)p->header.body_length != length - CV_WIRE_HEADER)
		return fail(why, "a packet's body length does not match what arrived");
	if (p->header.incarnation == 0 || p->header.packet == 0)
		return fail(why, "a packet's incarnation or packet number is 0");
	p->body = bytes + CV_WIRE_HEADER;
	return check_body(p, max_message, why);
}

bool cv_wire_next_message(const struct cv_wire_packet *p, size_t *cursor, const uint8_t **data,
			  uint32_t *length)
{
	if (*cursor >= p->header.body_length)
		return false;
	*length = get32(p->body + *cursor);
	*data = p->body + *cursor + CV_WIRE_MESSAGE_PREFIX;
	*cursor += CV_WIRE_MESSAGE_PREFIX + (size_t)*length;
	return true;
}

void cv_wire_ack_entry(const struct cv_wire_packet *p, uint32_t i, struct cv_wire_ack *ack)
{
	const uint8_t *e = p->body + (size_t)i * CV_WIRE_ACK_ENTRY;

	ack->nodeid = get32(e);
	ack->incarnation = get64(e + 8);
	ack->seq = get64(e + 16);
}
