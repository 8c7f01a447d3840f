/* Framing: partial frames, several frames per read, hostile lengths and
 * kinds, replies nobody asked for, empty payloads, unknown or undecodable
 * events, split events whole and malformed, and a peer that hangs up
 * mid-frame. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cv-fds.h"
#include "cv-limits.h"
#include "peer.h"
#include "test-util.h"

/* --wrap=malloc,realloc: the largest single allocation since the reset,
 * how many receive buffers of the resting size were allocated, and how
 * many of watched_size bytes. */
void *__real_malloc(size_t size);
void *__real_realloc(void *ptr, size_t size);
void *__wrap_malloc(size_t size);
void *__wrap_realloc(void *ptr, size_t size);

static size_t largest_allocation;
static unsigned int receive_buffers_allocated;
static size_t watched_size;
static unsigned int watched_allocated;

static void allocation_seen(size_t size)
{
	if (size == CV_RX_DEFAULT_SIZE)
		__atomic_add_fetch(&receive_buffers_allocated, 1, __ATOMIC_RELAXED);
	if (size == __atomic_load_n(&watched_size, __ATOMIC_RELAXED))
		__atomic_add_fetch(&watched_allocated, 1, __ATOMIC_RELAXED);
	size_t largest = __atomic_load_n(&largest_allocation, __ATOMIC_RELAXED);

	while (size > largest && !__atomic_compare_exchange_n(&largest_allocation, &largest, size, false,
							      __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

void *__wrap_malloc(size_t size)
{
	allocation_seen(size);
	return __real_malloc(size);
}

void *__wrap_realloc(void *ptr, size_t size)
{
	allocation_seen(size);
	return __real_realloc(ptr, size);
}

static int connect_setup(void **state)
{
	return fixture_connect(state, recording_callbacks, NULL, 0);
}

static cs_error_t dispatch(struct fixture *f, int flags)
{
	return cv_client_dispatch(&test_service, f->handle, flags);
}

/* The connection is dead: everything says so, nothing hangs. */
static void assert_connection_dead(struct fixture *f)
{
	assert_true(fd_readable(f->fd, 0));
	assert_int_equal(dispatch(f, CS_DISPATCH_ONE), CS_ERR_LIBRARY);
	assert_int_equal(dispatch(f, CS_DISPATCH_ALL), CS_ERR_LIBRARY);
	assert_int_equal(test_echo(f->handle, 1, NULL), CS_ERR_LIBRARY);
}

static void test_event_delivered_byte_by_byte(void **state)
{
	struct fixture *f = *state;
	size_t length;
	uint8_t *frame = peer_pack_tick(300, &length);

	for (size_t i = 0; i + 1 < length; i++) {
		peer_write(f->p, frame + i, 1);
		assert_int_equal(dispatch(f, CS_DISPATCH_ONE_NONBLOCKING), CS_ERR_TRY_AGAIN);
		/* The byte now sits in the library, but no event is pending. */
		assert_false(fd_readable(f->fd, 0));
	}
	peer_write(f->p, frame + length - 1, 1);
	assert_true(fd_readable(f->fd, 0));
	assert_int_equal(dispatch(f, CS_DISPATCH_ONE_NONBLOCKING), CS_OK);
	assert_int_equal(record_ticks(), 1);
	assert_int_equal(record_tick_value(0), 300);
	free(frame);
}

static void test_blocking_dispatch_waits_for_the_whole_frame(void **state)
{
	struct fixture *f = *state;
	struct background b;
	size_t length;
	uint8_t *frame = peer_pack_tick(7, &length);

	background_start(&b, BACKGROUND_DISPATCH, f->handle, CS_DISPATCH_ONE, 0);
	for (size_t i = 0; i < length; i++)
		peer_write(f->p, frame + i, 1);
	assert_true(background_finish(&b, PROMPTLY_MS));
	assert_int_equal(b.result, CS_OK);
	assert_int_equal(record_ticks(), 1);
	assert_int_equal(record_tick_value(0), 7);
	free(frame);
}

static void test_several_frames_in_one_write(void **state)
{
	struct fixture *f = *state;
	uint8_t *all = NULL;
	size_t total = 0, length;

	for (uint32_t v = 1; v <= 3; v++) {
		uint8_t *frame = peer_pack_tick(v, &length);

		all = realloc(all, total + length);
		memcpy(all + total, frame, length);
		total += length;
		free(frame);
	}
	peer_write(f->p, all, total);
	assert_int_equal(dispatch(f, CS_DISPATCH_ALL), CS_OK);
	assert_int_equal(record_ticks(), 3);
	for (unsigned int i = 0; i < 3; i++)
		assert_int_equal(record_tick_value(i), i + 1);
	assert_false(fd_readable(f->fd, 0));
	free(all);
}

static void test_frame_split_across_writes(void **state)
{
	struct fixture *f = *state;
	size_t length;
	uint8_t *frame = peer_pack_tick(5, &length);

	peer_send_tick(f->p, 4);
	peer_write(f->p, frame, 3); /* part of the header */
	assert_int_equal(dispatch(f, CS_DISPATCH_ALL), CS_OK);
	assert_int_equal(record_ticks(), 1);
	assert_false(fd_readable(f->fd, 0));
	peer_write(f->p, frame + 3, length - 3);
	assert_true(fd_readable(f->fd, 0));
	assert_int_equal(dispatch(f, CS_DISPATCH_ALL), CS_OK);
	assert_int_equal(record_ticks(), 2);
	assert_int_equal(record_tick_value(1), 5);
	free(frame);
}

static void test_event_larger_than_the_receive_buffer(void **state)
{
	struct fixture *f = *state;
	size_t size = 3 * 1024 * 1024;
	char *text = malloc(size + 1);
	struct background b;

	memset(text, 'n', size);
	text[size] = '\0';
	/* The write blocks until the client reads, so dispatch runs aside. */
	background_start(&b, BACKGROUND_DISPATCH, f->handle, CS_DISPATCH_ONE, 0);
	peer_send_note(f->p, text);
	assert_true(background_finish(&b, PROMPTLY_MS));
	assert_int_equal(b.result, CS_OK);
	assert_int_equal(record_notes(), 1);
	assert_int_equal(strlen(record.last_note), sizeof(record.last_note) - 1);
	/* Small frames still flow afterwards. */
	peer_send_tick(f->p, 9);
	assert_int_equal(dispatch(f, CS_DISPATCH_ONE), CS_OK);
	assert_int_equal(record_ticks(), 1);
	free(text);
}

static void test_oversized_length_refused_without_allocating(void **state)
{
	struct fixture *f = *state;
	struct cv_frame_header header = {
		.length = CV_CLIENT_MAX_PAYLOAD + 1,
		.kind = CV_FRAME_EVENT,
		.id = TEST_EVENT_TICK,
	};

	peer_write(f->p, &header, sizeof(header));
	__atomic_store_n(&largest_allocation, 0, __ATOMIC_RELAXED);
	assert_int_equal(dispatch(f, CS_DISPATCH_ALL), CS_ERR_LIBRARY);
	assert_true(__atomic_load_n(&largest_allocation, __ATOMIC_RELAXED) < 1024 * 1024);
	assert_connection_dead(f);
	assert_int_equal(record_ticks(), 0);
}

static void test_huge_length_refused_during_a_call(void **state)
{
	struct fixture *f = *state;
	struct cv_frame_header header = { .length = 0xffffffffu, .kind = CV_FRAME_REPLY };
	struct cv_frame_header request;
	struct background b;
	uint8_t *payload;

	background_start(&b, BACKGROUND_ECHO, f->handle, 0, 1);
	assert_true(peer_read_frame(f->p, &request, &payload));
	free(payload);
	header.seq = request.seq;
	__atomic_store_n(&largest_allocation, 0, __ATOMIC_RELAXED);
	peer_write_reply(f->p, &header, sizeof(header));
	assert_true(background_finish(&b, PROMPTLY_MS));
	assert_int_equal(b.result, CS_ERR_LIBRARY);
	assert_true(__atomic_load_n(&largest_allocation, __ATOMIC_RELAXED) < 1024 * 1024);
	assert_connection_dead(f);
}

static void test_largest_allowed_length_is_accepted(void **state)
{
	struct fixture *f = *state;
	struct cv_frame_header header = {
		.length = CV_CLIENT_MAX_PAYLOAD,
		.kind = CV_FRAME_EVENT,
		.id = TEST_EVENT_TICK,
	};

	/* The header is fine; the frame simply never completes. */
	peer_write(f->p, &header, sizeof(header));
	peer_write(f->p, "\x08\x01", 2);
	assert_int_equal(dispatch(f, CS_DISPATCH_ALL), CS_OK);
	assert_int_equal(dispatch(f, CS_DISPATCH_ONE_NONBLOCKING), CS_ERR_TRY_AGAIN);
	assert_false(fd_readable(f->fd, 0));
	peer_hang_up(f->p);
	assert_int_equal(dispatch(f, CS_DISPATCH_ALL), CS_ERR_LIBRARY);
}

/* On the socket, anything but an event: replies and RING_ROOM come on the
 * reply channel only. */
static void test_unknown_frame_kinds_kill_the_connection(void **state)
{
	struct fixture *f = *state;
	const uint16_t kinds[] = {
		0, CV_FRAME_HELLO,     CV_FRAME_WELCOME, CV_FRAME_REQUEST, CV_FRAME_REPLY,
		6, CV_FRAME_RING_ROOM, 0xffff,
	};

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (i > 0) {
			assert_int_equal(cv_client_finalize(&test_service, f->handle), CS_OK);
			peer_drop_client(f->p);
			f->handle = peer_connect_client(f->p, recording_callbacks, NULL);
			assert_int_equal(cv_client_fd_get(&test_service, f->handle, &f->fd), CS_OK);
		}
		struct cv_frame_header header = { .kind = kinds[i] };

		peer_write(f->p, &header, sizeof(header));
		assert_int_equal(dispatch(f, CS_DISPATCH_ALL), CS_ERR_LIBRARY);
		assert_connection_dead(f);
	}
}

/* On the reply channel, anything but a reply or RING_ROOM: the call that
 * reads it fails, and the connection with it. */
static void test_event_on_the_reply_channel(void **state)
{
	struct fixture *f = *state;
	size_t length;
	uint8_t *tick = peer_pack_tick(1, &length);
	struct background b;
	struct cv_frame_header request;
	uint8_t *payload;

	background_start(&b, BACKGROUND_ECHO, f->handle, 0, 1);
	assert_true(peer_read_frame(f->p, &request, &payload));
	free(payload);
	peer_write_reply(f->p, tick, length);
	assert_true(background_finish(&b, PROMPTLY_MS));
	assert_int_equal(b.result, CS_ERR_LIBRARY);
	assert_connection_dead(f);
	assert_int_equal(record_ticks(), 0);
	free(tick);
}

/* Calls read the reply channel: the next one finds it. */
static void test_reply_nobody_asked_for(void **state)
{
	struct fixture *f = *state;

	peer_send_frame(f->p, CV_FRAME_REPLY, TEST_REQUEST_ECHO, 42, CS_OK, NULL, 0);
	assert_int_equal(dispatch(f, CS_DISPATCH_ALL), CS_OK);
	assert_int_equal(test_echo(f->handle, 1, NULL), CS_ERR_LIBRARY);
	assert_connection_dead(f);
}

static void answer_next_request_with(struct fixture *f, uint32_t seq_offset, uint16_t id)
{
	struct cv_frame_header request;
	uint8_t *payload;

	assert_true(peer_read_frame(f->p, &request, &payload));
	free(payload);
	peer_send_frame(f->p, CV_FRAME_REPLY, id, request.seq + seq_offset, CS_OK, NULL, 0);
}

static void test_reply_with_unknown_seq_during_a_call(void **state)
{
	struct fixture *f = *state;
	struct background b;

	background_start(&b, BACKGROUND_ECHO, f->handle, 0, 1);
	answer_next_request_with(f, 1000, TEST_REQUEST_ECHO);
	assert_true(background_finish(&b, PROMPTLY_MS));
	assert_int_equal(b.result, CS_ERR_LIBRARY);
	assert_connection_dead(f);
}

static void test_reply_with_another_request_id(void **state)
{
	struct fixture *f = *state;
	struct background b;

	background_start(&b, BACKGROUND_ECHO, f->handle, 0, 1);
	answer_next_request_with(f, 0, TEST_REQUEST_NOTIFY);
	assert_true(background_finish(&b, PROMPTLY_MS));
	assert_int_equal(b.result, CS_ERR_LIBRARY);
	assert_connection_dead(f);
}

static void test_zero_length_event(void **state)
{
	struct fixture *f = *state;

	peer_send_frame(f->p, CV_FRAME_EVENT, TEST_EVENT_TICK, 0, 0, NULL, 0);
	assert_int_equal(dispatch(f, CS_DISPATCH_ONE), CS_OK);
	assert_int_equal(record_ticks(), 1);
	assert_int_equal(record_tick_value(0), 0);
}

static void test_zero_length_reply(void **state)
{
	struct fixture *f = *state;
	struct background b;

	background_start(&b, BACKGROUND_ECHO, f->handle, 0, 1);
	answer_next_request_with(f, 0, TEST_REQUEST_ECHO);
	assert_true(background_finish(&b, PROMPTLY_MS));
	assert_int_equal(b.result, CS_OK);
	assert_int_equal(b.reply_value, 0); /* the default of an empty message */
}

static void test_unknown_event_id(void **state)
{
	struct fixture *f = *state;

	peer_send_frame(f->p, CV_FRAME_EVENT, 7, 0, 0, "\x08\x01", 2);
	peer_send_frame(f->p, CV_FRAME_EVENT, TEST_EVENT_COUNT, 0, 0, NULL, 0);
	peer_send_tick(f->p, 3);
	assert_int_equal(dispatch(f, CS_DISPATCH_ONE), CS_ERR_LIBRARY);
	assert_int_equal(dispatch(f, CS_DISPATCH_ALL), CS_ERR_LIBRARY);
	/* Consumed (the tick read with it delivered too), and the connection
	 * carries on. */
	assert_int_equal(dispatch(f, CS_DISPATCH_ALL), CS_OK);
	assert_int_equal(record_ticks(), 1);
	assert_int_equal(record_tick_value(0), 3);
}

static void test_undecodable_event(void **state)
{
	struct fixture *f = *state;

	peer_send_frame(f->p, CV_FRAME_EVENT, TEST_EVENT_TICK, 0, 0, "\x08", 1);
	peer_send_frame(f->p, CV_FRAME_EVENT, TEST_EVENT_NOTE, 0, 0,
			"\x0a\x05"
			"ab",
			4);
	peer_send_tick(f->p, 8);
	assert_int_equal(dispatch(f, CS_DISPATCH_ONE_NONBLOCKING), CS_ERR_LIBRARY);
	assert_int_equal(record_ticks(), 0); /* it read the bad tick and nothing more */
	/* A dispatch that read in bulk delivers all it read, then returns the
	 * failure: the socket no longer shows what it read. */
	assert_int_equal(dispatch(f, CS_DISPATCH_BLOCKING), CS_ERR_LIBRARY);
	assert_int_equal(record_ticks(), 1);
	assert_int_equal(record_notes(), 0);
	assert_false(fd_readable(f->fd, 0));
	assert_int_equal(dispatch(f, CS_DISPATCH_ONE_NONBLOCKING), CS_ERR_TRY_AGAIN);
}

/* An EVENT_SPLIT payload: the prefix (field and head_length, one-byte
 * varints), `head` as the protobuf, then `tail`. */
static void send_split_event(struct fixture *f, uint8_t field, uint8_t head_length, const void *head,
			     size_t head_size, const uint8_t *tail, size_t tail_size)
{
	uint8_t prefix[2] = { field, head_length };
	size_t length = sizeof(prefix) + head_size + tail_size;
	uint8_t *payload = malloc(length);

	assert_true(field < 0x80 && head_length < 0x80);
	assert_non_null(payload);
	memcpy(payload, prefix, sizeof(prefix));
	memcpy(payload + sizeof(prefix), head, head_size);
	memcpy(payload + sizeof(prefix) + head_size, tail, tail_size);
	peer_send_frame(f->p, CV_FRAME_EVENT_SPLIT, TEST_EVENT_BLOB, 0, 0, payload, (uint32_t)length);
	free(payload);
}

static uint8_t *blob_new(size_t size)
{
	uint8_t *blob = malloc(size);

	assert_non_null(blob);
	for (size_t i = 0; i < size; i++)
		blob[i] = blob_byte(i);
	return blob;
}

/* value 5 as the protobuf head; the blob (field 2) after it. */
static const uint8_t blob_head[] = { 0x08, 0x05 };

static void test_split_event_delivered(void **state)
{
	struct fixture *f = *state;
	uint8_t *blob = blob_new(70000);

	send_split_event(f, 2, sizeof(blob_head), blob_head, sizeof(blob_head), blob, 70000);
	send_split_event(f, 2, sizeof(blob_head), blob_head, sizeof(blob_head), blob, 0);
	assert_int_equal(dispatch(f, CS_DISPATCH_ONE), CS_OK);
	assert_int_equal(record.last_blob_length, 70000);
	assert_int_equal(record.last_blob_sum, blob_sum(blob, 70000));
	assert_int_equal(dispatch(f, CS_DISPATCH_ONE), CS_OK);
	assert_int_equal(record.last_blob_length, 0);
	assert_int_equal(record_blobs(), 2);
	free(blob);
}

/* Each is refused when dispatched, like an undecodable event; the
 * connection carries on. */
static void test_malformed_split_events(void **state)
{
	struct fixture *f = *state;
	static const uint8_t blob_inside[] = { 0x12, 0x01, 0x07 }; /* the blob in the protobuf too */
	static const uint8_t undecodable[] = { 0x08 };
	uint8_t *blob = blob_new(5000);
	enum { MALFORMED = 5 };

	peer_send_frame(f->p, CV_FRAME_EVENT_SPLIT, TEST_EVENT_BLOB, 0, 0, "\x02\x82", 2); /* cut short */
	send_split_event(f, 2, 100, blob_head, sizeof(blob_head), blob, 0); /* head past the end */
	send_split_event(f, 1, sizeof(blob_head), blob_head, sizeof(blob_head), blob, 5000); /* not bytes */
	send_split_event(f, 2, sizeof(blob_inside), blob_inside, sizeof(blob_inside), blob, 5000);
	send_split_event(f, 2, sizeof(undecodable), undecodable, sizeof(undecodable), blob, 5000);
	peer_send_tick(f->p, 9);
	for (int i = 0; i < MALFORMED; i++)
		assert_int_equal(dispatch(f, CS_DISPATCH_ONE), CS_ERR_LIBRARY);
	assert_int_equal(dispatch(f, CS_DISPATCH_ONE), CS_OK);
	assert_int_equal(record_blobs(), 0);
	assert_int_equal(record_ticks(), 1);
	free(blob);
}

static uint8_t *blob_event_pack(const uint8_t *blob, size_t size, size_t *length)
{
	TestBlobEvent event = TEST_BLOB_EVENT__INIT;

	event.blob = (ProtobufCBinaryData){ .len = size, .data = (uint8_t *)blob };
	return peer_pack_event(TEST_EVENT_BLOB, &event.base, length);
}

/* Large events take over the receive buffer they arrived in; the frames
 * after each, read along with it, must survive the move. */
static void test_large_events_among_small_ones_in_one_read(void **state)
{
	struct fixture *f = *state;
	size_t sizes[2] = { CV_RX_ADOPT_MIN, 3 * CV_RX_ADOPT_MIN }, lengths[4], total = 0;
	uint8_t *blob = blob_new(sizes[1]), *frames[4], *all;

	frames[0] = blob_event_pack(blob, sizes[0], &lengths[0]);
	frames[1] = peer_pack_tick(1, &lengths[1]);
	frames[2] = blob_event_pack(blob, sizes[1], &lengths[2]);
	frames[3] = peer_pack_tick(2, &lengths[3]);
	all = malloc(lengths[0] + lengths[1] + lengths[2] + lengths[3]);
	assert_non_null(all);
	for (int i = 0; i < 4; i++) {
		memcpy(all + total, frames[i], lengths[i]);
		total += lengths[i];
		free(frames[i]);
	}
	peer_write(f->p, all, total);
	assert_int_equal(dispatch(f, CS_DISPATCH_ONE), CS_OK);
	assert_int_equal(record.last_blob_sum, blob_sum(blob, sizes[0]));
	while (record_ticks() < 2)
		assert_int_equal(dispatch(f, CS_DISPATCH_ONE), CS_OK);
	assert_int_equal(record_blobs(), 2);
	assert_int_equal(record.last_blob_length, sizes[1]);
	assert_int_equal(record.last_blob_sum, blob_sum(blob, sizes[1]));
	assert_int_equal(record_tick_value(0), 1);
	assert_int_equal(record_tick_value(1), 2);
	free(all);
	free(blob);
}

/* A dispatched large event gives its buffer back for the next one to take
 * over: a stream of them allocates no receive buffer after the first. */
static void test_large_events_reuse_their_receive_buffers(void **state)
{
	struct fixture *f = *state;
	uint8_t *blob = blob_new(CV_RX_ADOPT_MIN), *frame;
	size_t length;

	frame = blob_event_pack(blob, CV_RX_ADOPT_MIN, &length);
	for (int i = 0; i < 8; i++) {
		if (i == 2)
			__atomic_store_n(&receive_buffers_allocated, 0, __ATOMIC_RELAXED);
		peer_write(f->p, frame, length);
		assert_int_equal(dispatch(f, CS_DISPATCH_ONE), CS_OK);
	}
	assert_int_equal(__atomic_load_n(&receive_buffers_allocated, __ATOMIC_RELAXED), 0);
	assert_int_equal(record_blobs(), 8);
	assert_int_equal(record.last_blob_sum, blob_sum(blob, CV_RX_ADOPT_MIN));
	free(frame);
	free(blob);
}

/* So do events above the resting size, up to CV_RX_KEEP_MAX: a stream of
 * them allocates no buffer of their frame's size after the first two (the
 * one the event takes and the one it gives back). */
static void test_events_above_the_resting_size_reuse_their_buffers(void **state)
{
	struct fixture *f = *state;
	size_t size = 100 * 1024, length;
	uint8_t *blob = blob_new(size), *frame;

	static_assert(100 * 1024 > CV_RX_DEFAULT_SIZE, "the event must grow the receive buffer");
	frame = blob_event_pack(blob, size, &length);
	__atomic_store_n(&watched_size, length, __ATOMIC_RELAXED);
	for (int i = 0; i < 8; i++) {
		if (i == 2)
			__atomic_store_n(&watched_allocated, 0, __ATOMIC_RELAXED);
		peer_write(f->p, frame, length);
		assert_int_equal(dispatch(f, CS_DISPATCH_ONE), CS_OK);
	}
	__atomic_store_n(&watched_size, 0, __ATOMIC_RELAXED);
	assert_int_equal(__atomic_load_n(&watched_allocated, __ATOMIC_RELAXED), 0);
	assert_int_equal(record_blobs(), 8);
	assert_int_equal(record.last_blob_sum, blob_sum(blob, size));
	free(frame);
	free(blob);
}

/* ---- event rings (cv-wire.h: EVENT_RING) ---- */

#define RING_CAPACITY (64u * 1024u)

struct test_ring {
	int fd;
	uint8_t *map;
};

/* A ring the daemon would make, sealed with `seals`. */
static struct test_ring ring_new(int seals)
{
	size_t size = CV_EVENT_RING_HEADER_SIZE + RING_CAPACITY;
	struct test_ring r = { .fd = memfd_create("test-ring", MFD_CLOEXEC | MFD_ALLOW_SEALING) };

	assert_true(r.fd >= 0);
	assert_int_equal(ftruncate(r.fd, (off_t)size), 0);
	assert_int_equal(fcntl(r.fd, F_ADD_SEALS, seals), 0);
	r.map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, r.fd, 0);
	assert_true(r.map != MAP_FAILED);
	return r;
}

static void ring_free(struct test_ring *r)
{
	munmap(r->map, CV_EVENT_RING_HEADER_SIZE + RING_CAPACITY);
	close(r->fd);
}

static uint32_t ring_tail(const struct test_ring *r)
{
	return atomic_load((_Atomic uint32_t *)r->map);
}

/* An EVENT_RING of blob_head whose bytes are at `place`, with fd (unless
 * -1) attached to its first byte. */
static void send_ring_event(struct fixture *f, uint16_t kind, struct cv_event_ring_place place, int fd)
{
	struct {
		struct cv_frame_header header;
		struct cv_event_ring_place place;
		uint8_t prefix[2];
		uint8_t head[sizeof(blob_head)];
	} frame = {
		.header = { .length = sizeof(frame) - sizeof(frame.header),
			    .kind = kind,
			    .id = TEST_EVENT_BLOB },
		.place = place,
		.prefix = { 2, sizeof(blob_head) },
	};
	struct iovec iov = { &frame, sizeof(frame) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	union cv_fds_control control;

	memcpy(frame.head, blob_head, sizeof(blob_head));
	if (fd >= 0)
		cv_fds_attach(&msg, &control, &fd, 1);
	assert_int_equal(sendmsg(f->p->fd, &msg, MSG_NOSIGNAL), (ssize_t)sizeof(frame));
}

static void ring_put(struct test_ring *r, uint32_t position, const uint8_t *bytes, size_t length)
{
	memcpy(r->map + CV_EVENT_RING_HEADER_SIZE + (position % RING_CAPACITY), bytes, length);
}

/* The callback reads the bytes in place; once it is done, the tail says
 * they are given back. */
static void test_ring_events_delivered(void **state)
{
	struct fixture *f = *state;
	struct test_ring r = ring_new(F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	uint8_t *blob = blob_new(20000);

	ring_put(&r, 0, blob, 20000);
	ring_put(&r, 20000, blob, 3000);
	send_ring_event(f, CV_FRAME_EVENT_RING, (struct cv_event_ring_place){ 0, 20000 }, r.fd);
	send_ring_event(f, CV_FRAME_EVENT_RING, (struct cv_event_ring_place){ 20000, 3000 }, -1);
	assert_int_equal(dispatch(f, CS_DISPATCH_ONE), CS_OK);
	assert_int_equal(record.last_blob_length, 20000);
	assert_int_equal(record.last_blob_sum, blob_sum(blob, 20000));
	assert_int_equal(ring_tail(&r), 20000);
	assert_int_equal(dispatch(f, CS_DISPATCH_ONE), CS_OK);
	assert_int_equal(record.last_blob_length, 3000);
	assert_int_equal(record.last_blob_sum, blob_sum(blob, 3000));
	assert_int_equal(ring_tail(&r), 23000);
	ring_free(&r);
	free(blob);
}

/* Each kills the connection, as any malformed frame. */
static void assert_ring_event_malformed(struct fixture *f, uint16_t kind, struct cv_event_ring_place place,
					int seals, bool with_ring)
{
	struct test_ring r = ring_new(seals);

	send_ring_event(f, kind, place, with_ring ? r.fd : -1);
	assert_connection_dead(f);
	ring_free(&r);
}

static void test_ring_event_without_its_ring(void **state)
{
	assert_ring_event_malformed(*state, CV_FRAME_EVENT_RING, (struct cv_event_ring_place){ 0, 10 },
				    F_SEAL_SHRINK, false);
}

static void test_ring_that_may_shrink(void **state)
{
	assert_ring_event_malformed(*state, CV_FRAME_EVENT_RING, (struct cv_event_ring_place){ 0, 10 },
				    F_SEAL_GROW, true);
}

static void test_ring_place_across_the_data_end(void **state)
{
	assert_ring_event_malformed(*state, CV_FRAME_EVENT_RING,
				    (struct cv_event_ring_place){ RING_CAPACITY - 5, 10 }, F_SEAL_SHRINK,
				    true);
}

static void test_descriptor_on_another_event(void **state)
{
	assert_ring_event_malformed(*state, CV_FRAME_EVENT_SPLIT, (struct cv_event_ring_place){ 0, 0 },
				    F_SEAL_SHRINK, true);
}

static void test_second_ring(void **state)
{
	struct fixture *f = *state;
	struct test_ring r = ring_new(F_SEAL_SHRINK);

	send_ring_event(f, CV_FRAME_EVENT_RING, (struct cv_event_ring_place){ 0, 10 }, r.fd);
	assert_int_equal(dispatch(f, CS_DISPATCH_ONE), CS_OK);
	assert_ring_event_malformed(f, CV_FRAME_EVENT_RING, (struct cv_event_ring_place){ 10, 10 },
				    F_SEAL_SHRINK, true);
	ring_free(&r);
}

static void test_peer_closes_mid_frame(void **state)
{
	struct fixture *f = *state;
	size_t length;
	uint8_t *frame = peer_pack_tick(1, &length);

	peer_write(f->p, frame, length - 1);
	peer_hang_up(f->p);
	assert_true(fd_readable(f->fd, PROMPTLY_MS));
	assert_int_equal(dispatch(f, CS_DISPATCH_ALL), CS_ERR_LIBRARY);
	assert_connection_dead(f);
	assert_int_equal(record_ticks(), 0);
	free(frame);
}

static void test_events_before_a_malformed_frame_are_delivered(void **state)
{
	struct fixture *f = *state;

	peer_send_tick(f->p, 1);
	peer_send_tick(f->p, 2);
	peer_send_frame(f->p, 99, 0, 0, 0, NULL, 0);
	assert_int_equal(dispatch(f, CS_DISPATCH_ALL), CS_ERR_LIBRARY);
	assert_int_equal(record_ticks(), 2);
	assert_connection_dead(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(t) cmocka_unit_test_setup_teardown(t, connect_setup, fixture_teardown)
		T(test_event_delivered_byte_by_byte),
		T(test_blocking_dispatch_waits_for_the_whole_frame),
		T(test_several_frames_in_one_write),
		T(test_frame_split_across_writes),
		T(test_event_larger_than_the_receive_buffer),
		T(test_oversized_length_refused_without_allocating),
		T(test_huge_length_refused_during_a_call),
		T(test_largest_allowed_length_is_accepted),
		T(test_unknown_frame_kinds_kill_the_connection),
		T(test_event_on_the_reply_channel),
		T(test_reply_nobody_asked_for),
		T(test_reply_with_unknown_seq_during_a_call),
		T(test_reply_with_another_request_id),
		T(test_zero_length_event),
		T(test_zero_length_reply),
		T(test_unknown_event_id),
		T(test_undecodable_event),
		T(test_split_event_delivered),
		T(test_malformed_split_events),
		T(test_large_events_among_small_ones_in_one_read),
		T(test_large_events_reuse_their_receive_buffers),
		T(test_events_above_the_resting_size_reuse_their_buffers),
		T(test_ring_events_delivered),
		T(test_ring_event_without_its_ring),
		T(test_ring_that_may_shrink),
		T(test_ring_place_across_the_data_end),
		T(test_descriptor_on_another_event),
		T(test_second_ring),
		T(test_peer_closes_mid_frame),
		T(test_events_before_a_malformed_frame_are_delivered),
	};

	return cmocka_run_group_tests_name("framing", tests, NULL, NULL);
}
