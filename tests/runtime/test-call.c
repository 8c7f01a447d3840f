/* Requests: round trips, daemon statuses, one-way requests, size limits,
 * seq matching with replies out of order, argument checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cv-split.h"
#include "peer.h"
#include "test-proc.h"
#include "test-util.h"

static int fixture_setup(void **state)
{
	return fixture_connect(state, recording_callbacks, NULL, 16 * 1024 * 1024);
}

static int small_limit_setup(void **state)
{
	return fixture_connect(state, recording_callbacks, NULL, 100);
}

static void test_echo_round_trip(void **state)
{
	struct fixture *f = *state;
	uint32_t reply = 0;

	peer_respond(f->p);
	assert_int_equal(test_echo(f->handle, 41, &reply), CS_OK);
	assert_int_equal(reply, 42);
	assert_int_equal(test_echo(f->handle, 0, &reply), CS_OK);
	assert_int_equal(reply, 1);
}

/* Runs an echo on a thread and answers it by hand with `status` and a reply
 * carrying `value` (or `payload` when given). */
static struct background answered_call(struct fixture *f, int32_t status, uint32_t value, const char *payload,
				       uint32_t payload_length)
{
	TestEchoReply reply = TEST_ECHO_REPLY__INIT;
	struct cv_frame_header request;
	struct background b;
	uint8_t packed[16], *request_payload;
	size_t length;

	background_start(&b, BACKGROUND_ECHO, f->handle, 0, 1);
	assert_true(peer_read_frame(f->p, &request, &request_payload));
	free(request_payload);
	reply.value = value;
	length = test_echo_reply__pack(&reply, packed);
	if (payload == NULL)
		peer_send_frame(f->p, CV_FRAME_REPLY, request.id, request.seq, status, packed,
				(uint32_t)length);
	else
		peer_send_frame(f->p, CV_FRAME_REPLY, request.id, request.seq, status, payload,
				payload_length);
	assert_true(background_finish(&b, PROMPTLY_MS));
	return b;
}

static void test_daemon_status_is_returned_with_the_reply(void **state)
{
	struct fixture *f = *state;
	struct background b;

	b = answered_call(f, CS_ERR_EXIST, 9, NULL, 0);
	assert_int_equal(b.result, CS_ERR_EXIST);
	assert_int_equal(b.reply_value, 9);
	b = answered_call(f, CS_ERR_TRY_AGAIN, 0, NULL, 0);
	assert_int_equal(b.result, CS_ERR_TRY_AGAIN);
	assert_int_equal(b.reply_value, 0);
}

static void test_status_out_of_range_is_library_error(void **state)
{
	struct fixture *f = *state;
	struct background b;

	b = answered_call(f, 0, 1, NULL, 0);
	assert_int_equal(b.result, CS_ERR_LIBRARY);
	b = answered_call(f, 1000, 1, NULL, 0);
	assert_int_equal(b.result, CS_ERR_LIBRARY);
	b = answered_call(f, -3, 1, NULL, 0);
	assert_int_equal(b.result, CS_ERR_LIBRARY);
}

static void test_undecodable_reply(void **state)
{
	struct fixture *f = *state;
	struct background b;

	b = answered_call(f, CS_OK, 0, "\x08", 1);
	assert_int_equal(b.result, CS_ERR_LIBRARY);
	assert_int_equal(b.reply_value, BACKGROUND_NO_REPLY); /* *reply stayed NULL */
	/* The frame itself was sound, so the connection carries on. */
	b = answered_call(f, CS_OK, 5, NULL, 0);
	assert_int_equal(b.result, CS_OK);
	assert_int_equal(b.reply_value, 5);
}

static void test_one_way_request(void **state)
{
	struct fixture *f = *state;
	uint32_t reply = 0;

	f->p->gate_closed = true; /* echo replies held: one-way must not wait */
	peer_respond(f->p);
	assert_int_equal(test_notify(f->handle, 5), CS_OK);
	assert_int_equal(test_notify(f->handle, 6), CS_OK);
	assert_true(peer_wait_notifies(f->p, 2, PROMPTLY_MS));
	assert_int_equal(f->p->last_notify, 6);
	peer_set_gate(f->p, false);
	assert_int_equal(test_echo(f->handle, 7, &reply), CS_OK);
	assert_int_equal(reply, 8);
}

/* A daemon that stops reading: posting returns CS_ERR_TRY_AGAIN at once
 * instead of blocking, and every request accepted arrives whole, in order. */
static void test_posted_requests_meet_back_pressure(void **state)
{
	struct fixture *f = *state;
	struct cv_frame_header header;
	uint8_t *payload;
	uint32_t accepted = 0;
	cs_error_t err;

	while ((err = test_notify_post(f->handle, accepted)) == CS_OK)
		accepted++;
	assert_int_equal(err, CS_ERR_TRY_AGAIN);
	assert_true(accepted > 0);
	for (uint32_t i = 0; i < accepted; i++) {
		TestNotifyRequest *request;

		assert_true(peer_read_frame(f->p, &header, &payload));
		assert_int_equal(header.kind, CV_FRAME_REQUEST);
		assert_int_equal(header.id, TEST_REQUEST_NOTIFY);
		request = test_notify_request__unpack(NULL, header.length, payload);
		assert_non_null(request);
		assert_int_equal(request->value, i);
		test_notify_request__free_unpacked(request, NULL);
		free(payload);
	}
	assert_int_equal(test_notify_post(f->handle, 0), CS_OK);
	assert_int_equal(test_notify_post(0, 0), CS_ERR_BAD_HANDLE);
	assert_int_equal(cv_client_post(&test_service, f->handle, TEST_REQUEST_NOTIFY, NULL),
			 CS_ERR_INVALID_PARAM);
}

static void test_request_larger_than_the_daemon_accepts(void **state)
{
	struct fixture *f = *state;

	peer_respond(f->p);
	/* A blob of n < 128 bytes packs to n + 2. */
	assert_int_equal(test_echo_blob(f->handle, 99), CS_ERR_TOO_BIG);
	assert_int_equal(test_echo_blob(f->handle, 98), CS_OK);
	assert_int_equal(test_echo_blob(f->handle, 1000), CS_ERR_TOO_BIG);
	assert_int_equal(f->p->requests, 1); /* nothing was sent for the refused ones */
	assert_int_equal(test_echo(f->handle, 1, NULL), CS_OK);
}

static void test_invalid_arguments(void **state)
{
	struct fixture *f = *state;
	TestEchoRequest request = TEST_ECHO_REQUEST__INIT;
	ProtobufCMessage *reply = (ProtobufCMessage *)&reply;

	assert_int_equal(cv_client_call(&test_service, f->handle, TEST_REQUEST_ECHO, NULL,
					&test_echo_reply__descriptor, &reply),
			 CS_ERR_INVALID_PARAM);
	assert_null(reply);
	assert_int_equal(cv_client_call(&test_service, f->handle, TEST_REQUEST_ECHO, &request.base,
					&test_echo_reply__descriptor, NULL),
			 CS_ERR_INVALID_PARAM);
	reply = (ProtobufCMessage *)&reply;
	assert_int_equal(cv_client_call(&test_service, 0, TEST_REQUEST_ECHO, &request.base,
					&test_echo_reply__descriptor, &reply),
			 CS_ERR_BAD_HANDLE);
	assert_null(reply);
}

static void test_replies_out_of_order(void **state)
{
	struct fixture *f = *state;
	struct background calls[4];

	f->p->gate_closed = true;
	peer_respond(f->p);
	for (uint32_t i = 0; i < 4; i++)
		background_start(&calls[i], BACKGROUND_ECHO, f->handle, 0, 10 * (i + 1));
	assert_true(peer_wait_requests(f->p, 4, PROMPTLY_MS));
	peer_set_gate(f->p, false); /* answered newest first */
	for (uint32_t i = 0; i < 4; i++) {
		assert_true(background_finish(&calls[i], PROMPTLY_MS));
		assert_int_equal(calls[i].result, CS_OK);
		assert_int_equal(calls[i].reply_value, 10 * (i + 1) + 1);
	}
}

static unsigned int split_requests(struct peer *p)
{
	unsigned int n;

	pthread_mutex_lock(&p->lock);
	n = p->split_requests;
	pthread_mutex_unlock(&p->lock);
	return n;
}

/* A blob of CV_SPLIT_MIN bytes or more travels after the protobuf. */
static void test_large_request_and_reply(void **state)
{
	struct fixture *f = *state;

	peer_respond(f->p);
	assert_int_equal(test_echo_blob(f->handle, 4 * 1024 * 1024), CS_OK);
	assert_int_equal(split_requests(f->p), 1); /* its blob after the protobuf */
	assert_int_equal(test_echo_blob(f->handle, 10), CS_OK);
	assert_int_equal(test_echo_blob(f->handle, CV_SPLIT_MIN - 1), CS_OK);
	assert_int_equal(split_requests(f->p), 1);
	assert_int_equal(test_echo_blob(f->handle, CV_SPLIT_MIN), CS_OK);
	assert_int_equal(split_requests(f->p), 2);
}

static void test_large_request_while_the_daemon_writes_to_us(void **state)
{
	struct fixture *f = *state;
	struct cv_frame_header room = { .kind = CV_FRAME_RING_ROOM };
	size_t total = 2 * 1024 * 1024;
	uint8_t *frames = malloc(total);
	struct background b;

	/* A daemon that reads no more requests until we take what it wrote to
	 * the reply channel (its reply queue is full): the client must read
	 * it while it waits to send, or both sides block. */
	for (size_t at = 0; at < total; at += sizeof(room))
		memcpy(frames + at, &room, sizeof(room));
	f->p->paused = true;
	peer_respond(f->p);
	background_start(&b, BACKGROUND_BLOB, f->handle, 0, 8 * 1024 * 1024);
	assert_true(thread_wait_sleeping(b.tid, PROMPTLY_MS));
	assert_true(peer_write_reply_within(f->p, frames, total, 5 * PROMPTLY_MS));
	peer_set_paused(f->p, false);
	assert_true(background_finish(&b, 5 * PROMPTLY_MS));
	assert_int_equal(b.result, CS_OK);
	free(frames);
}

/* A daemon that floods events while a call waits: the call returns with
 * its reply, and the library takes none of the flood in; it waits in the
 * socket, the fd readable, until dispatched. (A library that read events
 * during calls buffered all of them: the peer floods as long as the
 * socket takes its ticks, up to 256 MiB.) */
static void test_call_returns_while_events_flood_in(void **state)
{
	struct fixture *f = *state;
	uint32_t reply = 0;
	long before = process_rss_kb(getpid());
	unsigned int flooded_ticks;
	size_t tick_length;

	free(peer_pack_tick(1, &tick_length));
	f->p->flood = true;
	peer_respond(f->p);
	assert_int_equal(test_echo(f->handle, 41, &reply), CS_OK);
	assert_int_equal(reply, 42);
	assert_true(f->p->flooded > 0);
	assert_true(process_rss_kb(getpid()) - before < 16 * 1024);
	assert_true(fd_readable(f->fd, 0));
	flooded_ticks = (unsigned int)(f->p->flooded / tick_length);
	while (fd_readable(f->fd, 0))
		assert_int_equal(cv_client_dispatch(&test_service, f->handle, CS_DISPATCH_ALL), CS_OK);
	assert_true(record_ticks() >= flooded_ticks);
	for (unsigned int i = 0; i < record_ticks() && i < RECORD_MAX_TICKS; i++)
		assert_int_equal(record_tick_value(i), 41);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(t) cmocka_unit_test_setup_teardown(t, fixture_setup, fixture_teardown)
		T(test_echo_round_trip),
		T(test_daemon_status_is_returned_with_the_reply),
		T(test_status_out_of_range_is_library_error),
		T(test_undecodable_reply),
		T(test_one_way_request),
		T(test_posted_requests_meet_back_pressure),
		cmocka_unit_test_setup_teardown(test_request_larger_than_the_daemon_accepts,
						small_limit_setup, fixture_teardown),
		T(test_invalid_arguments),
		T(test_replies_out_of_order),
		T(test_large_request_and_reply),
		T(test_large_request_while_the_daemon_writes_to_us),
		T(test_call_returns_while_events_flood_in),
	};

	return cmocka_run_group_tests_name("call", tests, NULL, NULL);
}
