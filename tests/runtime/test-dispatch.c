/* The dispatch flag matrix, callbacks, context, finalize inside a callback,
 * and the fd readability contract. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "peer.h"
#include "test-util.h"

static struct fixture *current;
static cs_error_t hook_result;

static int fixture_setup(void **state, const cv_callback_fn *callbacks)
{
	hook_result = 0;
	fixture_connect(state, callbacks, &current, 0);
	current = *state;
	return 0;
}

static int recording_setup(void **state)
{
	return fixture_setup(state, recording_callbacks);
}

static int no_callbacks_setup(void **state)
{
	return fixture_setup(state, NULL);
}

static cs_error_t dispatch(struct fixture *f, int flags)
{
	return cv_client_dispatch(&test_service, f->handle, flags);
}

static void send_ticks(struct fixture *f, uint32_t n)
{
	for (uint32_t v = 1; v <= n; v++)
		peer_send_tick(f->p, v);
}

static void test_invalid_flags(void **state)
{
	struct fixture *f = *state;
	const int bad[] = { 0, 5, -1, 0x100, CS_DISPATCH_ONE | CS_DISPATCH_ALL | 4 };

	send_ticks(f, 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(dispatch(f, bad[i]), CS_ERR_INVALID_PARAM);
		assert_int_equal(cv_client_dispatch(&test_service, 0, bad[i]), CS_ERR_INVALID_PARAM);
	}
	assert_int_equal(record_ticks(), 0);
	assert_true(fd_readable(f->fd, 0));
}

static void test_bad_handles(void **state)
{
	struct fixture *f = *state;
	const uint64_t bad[] = { 0, f->handle ^ (1ull << 63), f->handle + 1, ~0ull };
	void *context;
	int fd;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(cv_client_dispatch(&test_service, bad[i], CS_DISPATCH_ALL),
				 CS_ERR_BAD_HANDLE);
		assert_int_equal(cv_client_fd_get(&test_service, bad[i], &fd), CS_ERR_BAD_HANDLE);
		assert_int_equal(cv_client_context_get(&test_service, bad[i], &context), CS_ERR_BAD_HANDLE);
		assert_int_equal(cv_client_context_set(&test_service, bad[i], NULL), CS_ERR_BAD_HANDLE);
		assert_int_equal(cv_client_callbacks_set(&test_service, bad[i], NULL), CS_ERR_BAD_HANDLE);
		assert_int_equal(test_echo(bad[i], 1, NULL), CS_ERR_BAD_HANDLE);
		assert_int_equal(cv_client_finalize(&test_service, bad[i]), CS_ERR_BAD_HANDLE);
	}
	assert_int_equal(cv_client_finalize(&test_service, f->handle), CS_OK);
	assert_int_equal(cv_client_finalize(&test_service, f->handle), CS_ERR_BAD_HANDLE);
	assert_int_equal(dispatch(f, CS_DISPATCH_ALL), CS_ERR_BAD_HANDLE);
	assert_int_equal(cv_client_fd_get(&test_service, f->handle, &fd), CS_ERR_BAD_HANDLE);
	assert_int_equal(test_echo(f->handle, 1, NULL), CS_ERR_BAD_HANDLE);
}

static void test_all_with_nothing_pending(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(dispatch(f, CS_DISPATCH_ALL), CS_OK);
	assert_int_equal(record_ticks(), 0);
}

static void test_one_nonblocking_with_nothing_pending(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(dispatch(f, CS_DISPATCH_ONE_NONBLOCKING), CS_ERR_TRY_AGAIN);
	assert_int_equal(record_ticks(), 0);
}

static void test_one_nonblocking_takes_one(void **state)
{
	struct fixture *f = *state;

	send_ticks(f, 2);
	assert_int_equal(dispatch(f, CS_DISPATCH_ONE_NONBLOCKING), CS_OK);
	assert_int_equal(record_ticks(), 1);
	assert_int_equal(dispatch(f, CS_DISPATCH_ONE_NONBLOCKING), CS_OK);
	assert_int_equal(record_ticks(), 2);
	assert_int_equal(dispatch(f, CS_DISPATCH_ONE_NONBLOCKING), CS_ERR_TRY_AGAIN);
}

static void test_one_takes_exactly_one(void **state)
{
	struct fixture *f = *state;

	send_ticks(f, 3);
	assert_int_equal(dispatch(f, CS_DISPATCH_ONE), CS_OK);
	assert_int_equal(record_ticks(), 1);
	assert_int_equal(dispatch(f, CS_DISPATCH_ONE), CS_OK);
	assert_int_equal(record_ticks(), 2);
	assert_int_equal(dispatch(f, CS_DISPATCH_ALL), CS_OK);
	assert_int_equal(record_ticks(), 3);
	for (unsigned int i = 0; i < 3; i++)
		assert_int_equal(record_tick_value(i), i + 1);
}

static void test_one_blocks_until_an_event(void **state)
{
	struct fixture *f = *state;
	struct background b;

	background_start(&b, BACKGROUND_DISPATCH, f->handle, CS_DISPATCH_ONE, 0);
	assert_true(thread_wait_sleeping(b.tid, PROMPTLY_MS));
	assert_true(background_running(&b));
	peer_send_tick(f->p, 11);
	assert_true(background_finish(&b, PROMPTLY_MS));
	assert_int_equal(b.result, CS_OK);
	assert_int_equal(record_ticks(), 1);
}

static void finalize_at_third_tick(uint64_t handle, uint32_t value)
{
	if (value == 3)
		hook_result = cv_client_finalize(&test_service, handle);
}

static void test_blocking_runs_until_finalize(void **state)
{
	struct fixture *f = *state;
	struct background b;

	record.on_tick = finalize_at_third_tick;
	background_start(&b, BACKGROUND_DISPATCH, f->handle, CS_DISPATCH_BLOCKING, 0);
	send_ticks(f, 2);
	assert_true(record_wait_ticks(2, PROMPTLY_MS));
	assert_true(thread_wait_sleeping(b.tid, PROMPTLY_MS));
	assert_true(background_running(&b)); /* an empty queue does not end it */
	send_ticks(f, 5);
	assert_true(background_finish(&b, PROMPTLY_MS));
	assert_int_equal(b.result, CS_ERR_BAD_HANDLE);
	assert_int_equal(hook_result, CS_OK);
	assert_int_equal(record_ticks(), 5); /* 1, 2, then 1, 2, 3 */
}

static void test_null_callbacks_consume_events(void **state)
{
	struct fixture *f = *state;

	send_ticks(f, 2);
	peer_send_note(f->p, "n");
	assert_int_equal(dispatch(f, CS_DISPATCH_ONE), CS_OK);
	assert_int_equal(dispatch(f, CS_DISPATCH_ALL), CS_OK);
	assert_false(fd_readable(f->fd, 0));
	assert_int_equal(dispatch(f, CS_DISPATCH_ONE_NONBLOCKING), CS_ERR_TRY_AGAIN);
	assert_int_equal(record_ticks() + record_notes(), 0);
}

static void test_null_entry_in_the_table(void **state)
{
	struct fixture *f = *state;
	cv_callback_fn notes_only[TEST_EVENT_COUNT] = {
		[TEST_EVENT_NOTE] = recording_callbacks[TEST_EVENT_NOTE],
	};

	assert_int_equal(cv_client_callbacks_set(&test_service, f->handle, notes_only), CS_OK);
	send_ticks(f, 1);
	peer_send_note(f->p, "hello");
	assert_int_equal(dispatch(f, CS_DISPATCH_ONE), CS_OK); /* the tick, silently */
	assert_int_equal(record_notes(), 0);
	assert_int_equal(dispatch(f, CS_DISPATCH_ONE), CS_OK);
	assert_int_equal(record_notes(), 1);
	assert_string_equal(record.last_note, "hello");
	assert_int_equal(record.last_handle, f->handle);
	assert_int_equal(record_ticks(), 0);
}

static void test_callbacks_set_replaces_the_table(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cv_client_callbacks_set(&test_service, f->handle, recording_callbacks), CS_OK);
	send_ticks(f, 1);
	assert_int_equal(dispatch(f, CS_DISPATCH_ALL), CS_OK);
	assert_int_equal(record_ticks(), 1);
	assert_int_equal(cv_client_callbacks_set(&test_service, f->handle, NULL), CS_OK);
	send_ticks(f, 1);
	assert_int_equal(dispatch(f, CS_DISPATCH_ALL), CS_OK);
	assert_int_equal(record_ticks(), 1);
}

static void test_context_round_trip(void **state)
{
	struct fixture *f = *state;
	void *context = NULL;
	int marker;

	assert_int_equal(cv_client_context_get(&test_service, f->handle, &context), CS_OK);
	assert_ptr_equal(context, &current); /* from initialize */
	assert_int_equal(cv_client_context_set(&test_service, f->handle, &marker), CS_OK);
	assert_int_equal(cv_client_context_get(&test_service, f->handle, &context), CS_OK);
	assert_ptr_equal(context, &marker);
	assert_int_equal(cv_client_context_set(&test_service, f->handle, NULL), CS_OK);
	assert_int_equal(cv_client_context_get(&test_service, f->handle, &context), CS_OK);
	assert_null(context);
	assert_int_equal(cv_client_context_get(&test_service, f->handle, NULL), CS_ERR_INVALID_PARAM);
	assert_int_equal(cv_client_fd_get(&test_service, f->handle, NULL), CS_ERR_INVALID_PARAM);
}

static void finalize_in_callback(uint64_t handle, uint32_t value)
{
	void *context;

	hook_result = cv_client_finalize(&test_service, handle);
	/* The handle is gone for new calls, even inside the callback. */
	if (cv_client_context_get(&test_service, handle, &context) != CS_ERR_BAD_HANDLE)
		hook_result = CS_ERR_LIBRARY;
}

static void test_finalize_inside_a_callback(void **state)
{
	struct fixture *f = *state;
	const int flags[] = {
		CS_DISPATCH_ONE,
		CS_DISPATCH_ALL,
		CS_DISPATCH_BLOCKING,
		CS_DISPATCH_ONE_NONBLOCKING,
	};

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		if (i > 0) {
			peer_drop_client(f->p);
			f->handle = peer_connect_client(f->p, recording_callbacks, NULL);
		}
		record_reset();
		record.on_tick = finalize_in_callback;
		send_ticks(f, 3);
		assert_int_equal(dispatch(f, flags[i]), CS_ERR_BAD_HANDLE);
		assert_int_equal(hook_result, CS_OK);
		assert_int_equal(record_ticks(), 1); /* nothing after the finalize */
		assert_int_equal(dispatch(f, flags[i]), CS_ERR_BAD_HANDLE);
		assert_int_equal(test_echo(f->handle, 1, NULL), CS_ERR_BAD_HANDLE);
		assert_int_equal(cv_client_finalize(&test_service, f->handle), CS_ERR_BAD_HANDLE);
		assert_int_equal(test_handles.used, 0); /* freed once dispatch let go */
	}
}

static void echo_in_callback(uint64_t handle, uint32_t value)
{
	uint32_t reply = 0;

	hook_result = test_echo(handle, value, &reply);
	if (hook_result == CS_OK && reply != value + 1)
		hook_result = CS_ERR_LIBRARY;
}

static void test_calls_from_inside_a_callback(void **state)
{
	struct fixture *f = *state;

	peer_respond(f->p);
	record.on_tick = echo_in_callback;
	peer_send_tick(f->p, 41);
	assert_int_equal(dispatch(f, CS_DISPATCH_ONE), CS_OK);
	assert_int_equal(hook_result, CS_OK);
}

static void dispatch_in_callback(uint64_t handle, uint32_t value)
{
	if (value == 1)
		hook_result = cv_client_dispatch(&test_service, handle, CS_DISPATCH_ONE);
}

static void test_nested_dispatch_inside_a_callback(void **state)
{
	struct fixture *f = *state;

	record.on_tick = dispatch_in_callback;
	send_ticks(f, 3);
	assert_int_equal(dispatch(f, CS_DISPATCH_ONE), CS_OK);
	assert_int_equal(hook_result, CS_OK);
	assert_int_equal(record_ticks(), 2);
	assert_int_equal(dispatch(f, CS_DISPATCH_ALL), CS_OK);
	assert_int_equal(record_ticks(), 3);
}

static void test_fd_is_stable_and_level_triggered(void **state)
{
	struct fixture *f = *state;
	int again = -1;

	assert_false(fd_readable(f->fd, 0));
	send_ticks(f, 2);
	assert_true(fd_readable(f->fd, 0));
	assert_true(fd_readable(f->fd, 0)); /* still: nothing was consumed */
	assert_int_equal(dispatch(f, CS_DISPATCH_ONE), CS_OK);
	assert_true(fd_readable(f->fd, 0));
	assert_int_equal(dispatch(f, CS_DISPATCH_ONE), CS_OK);
	assert_false(fd_readable(f->fd, 0));
	assert_int_equal(cv_client_fd_get(&test_service, f->handle, &again), CS_OK);
	assert_int_equal(again, f->fd);
}

/* Written in one go, three events and half of a fourth: each ONE and
 * ONE_NONBLOCKING reads no further than its own frame, so the fd shows the
 * rest after each; the partial frame alone does not make it readable. */
static void test_one_reads_no_further_than_its_frame(void **state)
{
	struct fixture *f = *state;
	uint8_t *bytes = NULL, *tick;
	size_t total = 0, length;

	for (uint32_t v = 1; v <= 4; v++) {
		tick = peer_pack_tick(v, &length);
		bytes = realloc(bytes, total + length);
		assert_non_null(bytes);
		memcpy(bytes + total, tick, length);
		total += length;
		free(tick);
	}
	peer_write(f->p, bytes, total - length / 2);
	assert_int_equal(dispatch(f, CS_DISPATCH_ONE_NONBLOCKING), CS_OK);
	assert_true(fd_readable(f->fd, 0));
	assert_int_equal(dispatch(f, CS_DISPATCH_ONE), CS_OK);
	assert_true(fd_readable(f->fd, 0));
	assert_int_equal(dispatch(f, CS_DISPATCH_ONE_NONBLOCKING), CS_OK);
	assert_true(fd_readable(f->fd, 0)); /* the half frame is still unread */
	assert_int_equal(dispatch(f, CS_DISPATCH_ONE_NONBLOCKING), CS_ERR_TRY_AGAIN);
	assert_false(fd_readable(f->fd, 0));
	assert_int_equal(record_ticks(), 3);
	peer_write(f->p, bytes + total - length / 2, length / 2);
	assert_true(fd_readable(f->fd, PROMPTLY_MS));
	assert_int_equal(dispatch(f, CS_DISPATCH_ONE_NONBLOCKING), CS_OK);
	assert_int_equal(record_ticks(), 4);
	assert_int_equal(record_tick_value(3), 4);
	assert_false(fd_readable(f->fd, 0));
	free(bytes);
}

static void test_fd_readable_for_events_in_flight_when_a_call_returns(void **state)
{
	struct fixture *f = *state;
	uint32_t reply = 0;

	f->p->events_per_reply = 2;
	peer_respond(f->p);
	assert_int_equal(test_echo(f->handle, 5, &reply), CS_OK);
	assert_int_equal(reply, 6);
	/* Both events were written before the reply: the call left them in
	 * the socket, and the fd says so at once. */
	assert_int_equal(record_ticks(), 0);
	assert_true(fd_readable(f->fd, 0));
	assert_int_equal(dispatch(f, CS_DISPATCH_ONE), CS_OK);
	assert_true(fd_readable(f->fd, 0));
	assert_int_equal(dispatch(f, CS_DISPATCH_ONE), CS_OK);
	assert_false(fd_readable(f->fd, 0));
	assert_int_equal(record_ticks(), 2);
}

static void test_poll_and_dispatch_one_never_stalls(void **state)
{
	struct fixture *f = *state;

	f->p->events_per_reply = 5;
	peer_respond(f->p);
	assert_int_equal(test_echo(f->handle, 1, NULL), CS_OK);
	assert_int_equal(test_echo(f->handle, 2, NULL), CS_OK);
	for (int rounds = 0; rounds < 100 && fd_readable(f->fd, 0); rounds++)
		assert_int_equal(dispatch(f, CS_DISPATCH_ONE), CS_OK);
	assert_int_equal(record_ticks(), 10);
}

static void test_fd_not_readable_for_a_partial_frame(void **state)
{
	struct fixture *f = *state;
	size_t length;
	uint8_t *frame = peer_pack_tick(2, &length);

	peer_write(f->p, frame, length / 2);
	assert_int_equal(dispatch(f, CS_DISPATCH_ALL), CS_OK);
	assert_false(fd_readable(f->fd, 0));
	peer_write(f->p, frame + length / 2, length - length / 2);
	assert_true(fd_readable(f->fd, PROMPTLY_MS));
	assert_int_equal(dispatch(f, CS_DISPATCH_ONE_NONBLOCKING), CS_OK);
	assert_int_equal(record_ticks(), 1);
	free(frame);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(t) cmocka_unit_test_setup_teardown(t, recording_setup, fixture_teardown)
#define N(t) cmocka_unit_test_setup_teardown(t, no_callbacks_setup, fixture_teardown)
		T(test_invalid_flags),
		T(test_bad_handles),
		T(test_all_with_nothing_pending),
		T(test_one_nonblocking_with_nothing_pending),
		T(test_one_nonblocking_takes_one),
		T(test_one_takes_exactly_one),
		T(test_one_blocks_until_an_event),
		T(test_blocking_runs_until_finalize),
		N(test_null_callbacks_consume_events),
		T(test_null_entry_in_the_table),
		N(test_callbacks_set_replaces_the_table),
		T(test_context_round_trip),
		T(test_finalize_inside_a_callback),
		T(test_calls_from_inside_a_callback),
		T(test_nested_dispatch_inside_a_callback),
		T(test_fd_is_stable_and_level_triggered),
		T(test_one_reads_no_further_than_its_frame),
		T(test_fd_readable_for_events_in_flight_when_a_call_returns),
		T(test_poll_and_dispatch_one_never_stalls),
		T(test_fd_not_readable_for_a_partial_frame),
	};

	return cmocka_run_group_tests_name("dispatch", tests, NULL, NULL);
}
