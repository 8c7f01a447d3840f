/* The engine's packet format: what it encodes decodes back, and every
 * malformed header or length from a peer is refused before use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cv-engine-wire.h"

#define MAX_MESSAGE (64u << 20)

static uint8_t packet[4096];

static size_t build(uint8_t type, uint64_t seq, uint32_t count, const void *body, size_t body_length)
{
	struct cv_wire_header h = { .type = type,
				    .incarnation = 7,
				    .packet = 1,
				    .seq = seq,
				    .count = count,
				    .sent_bytes = 100,
				    .body_length = (uint32_t)body_length };

	cv_wire_put_header(packet, &h);
	if (body_length)
		memcpy(packet + CV_WIRE_HEADER, body, body_length);
	return CV_WIRE_HEADER + body_length;
}

static size_t build_batch(void)
{
	uint8_t body[64];
	size_t n = cv_wire_put_message(body, "hello", 5);

	n += cv_wire_put_message(body + n, "", 0);
	n += cv_wire_put_message(body + n, "xyz", 3);
	return build(CV_WIRE_BATCH, 10, 3, body, n);
}

static const char *refusal(size_t length)
{
	struct cv_wire_packet p;
	const char *why = NULL;

	assert_int_equal(cv_wire_decode(packet, length, MAX_MESSAGE, &p, &why), -1);
	assert_non_null(why);
	return why;
}

static void batch_round_trip(void **state)
{
	size_t length = build_batch(), cursor = 0;
	struct cv_wire_packet p;
	const char *why;
	const uint8_t *data;
	uint32_t n;

	assert_int_equal(cv_wire_decode(packet, length, MAX_MESSAGE, &p, &why), 0);
	assert_int_equal(p.header.incarnation, 7);
	assert_int_equal(p.header.seq, 10);
	assert_int_equal(p.header.sent_bytes, 100);
	assert_true(cv_wire_next_message(&p, &cursor, &data, &n));
	assert_int_equal(n, 5);
	assert_memory_equal(data, "hello", 5);
	assert_true(cv_wire_next_message(&p, &cursor, &data, &n));
	assert_int_equal(n, 0);
	assert_true(cv_wire_next_message(&p, &cursor, &data, &n));
	assert_memory_equal(data, "xyz", 3);
	assert_false(cv_wire_next_message(&p, &cursor, &data, &n));
}

static void malformed_headers(void **state)
{
	size_t length = build_batch();

	assert_string_equal(refusal(CV_WIRE_HEADER - 1), "a packet shorter than the header");
	refusal(length - 1); /* body length disagrees with what arrived */
	packet[0] ^= 1;
	assert_string_equal(refusal(length), "a packet without the engine's magic number");
	packet[0] ^= 1;
	packet[4] = 2;
	refusal(length);
	packet[4] = CV_WIRE_VERSION;
	packet[6] = 1;
	refusal(length);
	packet[6] = 0;
	packet[5] = 99;
	assert_string_equal(refusal(length), "an unknown packet type");
}

static void malformed_batches(void **state)
{
	uint8_t body[16];
	size_t n = cv_wire_put_message(body, "abc", 3);

	/* a message length running past the packet */
	body[0] = 200;
	refusal(build(CV_WIRE_BATCH, 1, 1, body, n));
	body[0] = 3;
	/* more messages announced than present, or fewer */
	refusal(build(CV_WIRE_BATCH, 1, 2, body, n));
	refusal(build(CV_WIRE_BATCH, 1, 0, body, n));
	refusal(build(CV_WIRE_BATCH, 1, 1, body, n + 1));
	/* a length prefix cut short */
	refusal(build(CV_WIRE_BATCH, 1, 2, body, n + 2));
	/* sequence numbers that wrap */
	refusal(build(CV_WIRE_BATCH, UINT64_MAX, 1, body, n));
	refusal(build(CV_WIRE_BATCH, 0, 1, body, n));
}

static size_t build_fragment(uint64_t total, uint64_t offset, size_t data)
{
	uint8_t body[CV_WIRE_FRAGMENT_HEADER + 64] = { 0 };

	cv_wire_put_fragment(body, total, offset);
	return build(CV_WIRE_FRAGMENT, 5, 0, body, CV_WIRE_FRAGMENT_HEADER + data);
}

static void fragments(void **state)
{
	struct cv_wire_packet p;
	const char *why;
	size_t length = build_fragment(1000, 960, 40);

	assert_int_equal(cv_wire_decode(packet, length, MAX_MESSAGE, &p, &why), 0);
	assert_int_equal(p.fragment.total, 1000);
	assert_int_equal(p.fragment.offset, 960);
	assert_int_equal(p.fragment.length, 40);
	/* a total no larger than the largest message: never trusted for an allocation */
	assert_string_equal(refusal(build_fragment((uint64_t)MAX_MESSAGE + 1, 0, 10)),
			    "a fragmented message is larger than the largest message");
	refusal(build_fragment(UINT64_MAX, 0, 10));
	refusal(build_fragment(1000, 961, 40));
	refusal(build_fragment(1000, UINT64_MAX, 40));
	refusal(build_fragment(1000, 0, 0));
}

static void syncs_acks_probes(void **state)
{
	uint8_t body[CV_WIRE_SYNC_HEADER + 8];
	struct cv_wire_packet p;
	struct cv_wire_ack ack = { 3, 99, 12345 }, back;
	const char *why;

	cv_wire_put_sync(body, 1, 42, 0xabcdef, 8);
	memcpy(body + CV_WIRE_SYNC_HEADER, "joinlist", 8);
	assert_int_equal(
		cv_wire_decode(packet, build(CV_WIRE_SYNC, 4, 0, body, sizeof(body)), MAX_MESSAGE, &p, &why),
		0);
	assert_int_equal(p.sync.ring_seq, 42);
	assert_int_equal(p.sync.view_hash, 0xabcdef);
	assert_memory_equal(p.sync.state, "joinlist", 8);
	cv_wire_put_sync(body, 1, 42, 0xabcdef, 9);
	refusal(build(CV_WIRE_SYNC, 4, 0, body, sizeof(body)));
	refusal(build(CV_WIRE_SYNC, 4, 0, body, CV_WIRE_SYNC_HEADER - 1));

	cv_wire_put_ack(body, &ack);
	assert_int_equal(cv_wire_decode(packet, build(CV_WIRE_ACK, 0, 1, body, CV_WIRE_ACK_ENTRY),
					MAX_MESSAGE, &p, &why),
			 0);
	cv_wire_ack_entry(&p, 0, &back);
	assert_int_equal(back.nodeid, 3);
	assert_int_equal(back.incarnation, 99);
	assert_int_equal(back.seq, 12345);
	refusal(build(CV_WIRE_ACK, 0, 2, body, CV_WIRE_ACK_ENTRY));
	refusal(build(CV_WIRE_ACK, 0, UINT32_MAX, body, CV_WIRE_ACK_ENTRY));

	assert_int_equal(cv_wire_decode(packet, build(CV_WIRE_PROBE, 0, 0, NULL, 0), MAX_MESSAGE, &p, &why),
			 0);
	refusal(build(CV_WIRE_PROBE, 0, 0, body, 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(batch_round_trip),  cmocka_unit_test(malformed_headers),
		cmocka_unit_test(malformed_batches), cmocka_unit_test(fragments),
		cmocka_unit_test(syncs_acks_probes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
