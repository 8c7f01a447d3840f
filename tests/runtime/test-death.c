/* Daemon death: the fd turns readable, dispatch and every call return
 * CS_ERR_LIBRARY, nothing hangs or crashes (no SIGPIPE either: this test
 * keeps SIGPIPE's default action), and finalize still frees the handle. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "peer.h"
#include "test-util.h"

static int fixture_setup(void **state)
{
	signal(SIGPIPE, SIG_DFL);
	return fixture_connect(state, recording_callbacks, NULL, 0);
}

static void assert_everything_says_library_error(struct fixture *f)
{
	const int flags[] = {
		CS_DISPATCH_ALL,
		CS_DISPATCH_ONE_NONBLOCKING,
		CS_DISPATCH_ONE,
		CS_DISPATCH_BLOCKING,
	};
	void *context = NULL;
	int fd = -1;

	assert_true(fd_readable(f->fd, PROMPTLY_MS));
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		assert_int_equal(cv_client_dispatch(&test_service, f->handle, flags[i]), CS_ERR_LIBRARY);
	assert_int_equal(test_echo(f->handle, 1, NULL), CS_ERR_LIBRARY);
	assert_int_equal(test_notify(f->handle, 1), CS_ERR_LIBRARY);
	/* Local state is still there until finalize. */
	assert_int_equal(cv_client_fd_get(&test_service, f->handle, &fd), CS_OK);
	assert_int_equal(fd, f->fd);
	assert_int_equal(cv_client_context_set(&test_service, f->handle, &fd), CS_OK);
	assert_int_equal(cv_client_context_get(&test_service, f->handle, &context), CS_OK);
	assert_ptr_equal(context, &fd);
	assert_true(fd_readable(f->fd, 0));
	assert_int_equal(cv_client_finalize(&test_service, f->handle), CS_OK);
	assert_int_equal(test_handles.used, 0);
	assert_int_equal(cv_client_finalize(&test_service, f->handle), CS_ERR_BAD_HANDLE);
}

static void test_death_while_idle(void **state)
{
	struct fixture *f = *state;

	assert_false(fd_readable(f->fd, 0));
	peer_hang_up(f->p);
	assert_everything_says_library_error(f);
}

static void test_death_noticed_by_a_call_first(void **state)
{
	struct fixture *f = *state;

	/* Closed outright; the client has not looked yet. Sending must fail
	 * with EPIPE quietly (MSG_NOSIGNAL), not raise SIGPIPE. */
	peer_drop_client(f->p);
	assert_int_equal(test_notify(f->handle, 1), CS_ERR_LIBRARY);
	assert_everything_says_library_error(f);
}

static void test_death_during_blocking_dispatch(void **state)
{
	struct fixture *f = *state;
	struct background b;

	background_start(&b, BACKGROUND_DISPATCH, f->handle, CS_DISPATCH_BLOCKING, 0);
	assert_true(thread_wait_sleeping(b.tid, PROMPTLY_MS));
	peer_hang_up(f->p);
	assert_true(background_finish(&b, PROMPTLY_MS));
	assert_int_equal(b.result, CS_ERR_LIBRARY);
	assert_everything_says_library_error(f);
}

static void test_death_during_a_call(void **state)
{
	struct fixture *f = *state;

	f->p->hang_up_on_request = true;
	peer_respond(f->p);
	assert_int_equal(test_echo(f->handle, 1, NULL), CS_ERR_LIBRARY);
	assert_everything_says_library_error(f);
}

static void test_death_during_a_call_beside_a_dispatcher(void **state)
{
	struct fixture *f = *state;
	struct background dispatcher, call;

	f->p->gate_closed = true;
	peer_respond(f->p);
	background_start(&dispatcher, BACKGROUND_DISPATCH, f->handle, CS_DISPATCH_BLOCKING, 0);
	background_start(&call, BACKGROUND_ECHO, f->handle, 0, 1);
	assert_true(peer_wait_requests(f->p, 1, PROMPTLY_MS));
	peer_hang_up(f->p);
	assert_true(background_finish(&dispatcher, PROMPTLY_MS));
	assert_true(background_finish(&call, PROMPTLY_MS));
	assert_int_equal(dispatcher.result, CS_ERR_LIBRARY);
	assert_int_equal(call.result, CS_ERR_LIBRARY);
	assert_everything_says_library_error(f);
}

static void test_events_received_before_death_are_delivered(void **state)
{
	struct fixture *f = *state;

	peer_send_tick(f->p, 1);
	peer_send_tick(f->p, 2);
	peer_hang_up(f->p);
	assert_int_equal(cv_client_dispatch(&test_service, f->handle, CS_DISPATCH_ALL), CS_ERR_LIBRARY);
	assert_int_equal(record_ticks(), 2);
	assert_everything_says_library_error(f);
}

static void test_death_while_sending_a_large_request(void **state)
{
	struct fixture *f = *state;
	struct background b;

	/* The daemon reads nothing, so the client blocks with its request half
	 * sent; then the daemon goes away. */
	f->p->max_message = 64 * 1024 * 1024;
	cv_client_finalize(&test_service, f->handle);
	peer_drop_client(f->p);
	f->handle = peer_connect_client(f->p, recording_callbacks, NULL);
	assert_int_equal(cv_client_fd_get(&test_service, f->handle, &f->fd), CS_OK);
	background_start(&b, BACKGROUND_BLOB, f->handle, 0, 8 * 1024 * 1024);
	assert_true(thread_wait_sleeping(b.tid, PROMPTLY_MS));
	peer_hang_up(f->p);
	assert_true(background_finish(&b, PROMPTLY_MS));
	assert_int_equal(b.result, CS_ERR_LIBRARY);
	assert_everything_says_library_error(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(t) cmocka_unit_test_setup_teardown(t, fixture_setup, fixture_teardown)
		T(test_death_while_idle),
		T(test_death_noticed_by_a_call_first),
		T(test_death_during_blocking_dispatch),
		T(test_death_during_a_call),
		T(test_death_during_a_call_beside_a_dispatcher),
		T(test_events_received_before_death_are_delivered),
		T(test_death_while_sending_a_large_request),
	};

	return cmocka_run_group_tests_name("daemon death", tests, NULL, NULL);
}
