/* Signals never abort a blocked dispatch or call: EINTR is retried inside
 * the runtime and CS_ERR_INTERRUPT never surfaces. The handler is installed
 * without SA_RESTART, so every blocking syscall does see EINTR. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "peer.h"
#include "test-util.h"

#define SIGNALS 5

static int signal_pipe[2];

static void on_sigalrm(int signo)
{
	int saved = errno;
	char byte = 1;

	if (write(signal_pipe[1], &byte, 1) < 0) {
		/* full pipe: the count is already large enough */
	}
	errno = saved;
}

/* Waits until the handler ran once more. */
static bool signal_handled(void)
{
	char byte;

	return fd_readable(signal_pipe[0], PROMPTLY_MS) && read(signal_pipe[0], &byte, 1) == 1;
}

static void signals_to(pthread_t thread)
{
	for (int i = 0; i < SIGNALS; i++) {
		assert_int_equal(pthread_kill(thread, SIGALRM), 0);
		assert_true(signal_handled());
	}
}

static int signals_setup(void **state)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigalrm;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART */
	assert_int_equal(sigaction(SIGALRM, &sa, NULL), 0);
	assert_int_equal(pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK), 0);
	return fixture_connect(state, recording_callbacks, NULL, 64 * 1024 * 1024);
}

static int signals_teardown(void **state)
{
	signal(SIGALRM, SIG_DFL);
	close(signal_pipe[0]);
	close(signal_pipe[1]);
	return fixture_teardown(state);
}

static cs_error_t hook_result;

static void finalize_in_callback(uint64_t handle, uint32_t value)
{
	hook_result = cv_client_finalize(&test_service, handle);
}

static void test_signals_during_blocking_dispatch(void **state)
{
	struct fixture *f = *state;
	struct background b;

	record.on_tick = finalize_in_callback;
	background_start(&b, BACKGROUND_DISPATCH, f->handle, CS_DISPATCH_BLOCKING, 0);
	assert_true(thread_wait_sleeping(b.tid, PROMPTLY_MS));
	signals_to(b.thread);
	assert_true(background_running(&b));
	peer_send_tick(f->p, 1);
	assert_true(background_finish(&b, PROMPTLY_MS));
	assert_int_equal(b.result, CS_ERR_BAD_HANDLE); /* the finalize, not the signals */
	assert_int_equal(hook_result, CS_OK);
	assert_int_equal(record_ticks(), 1);
}

static void test_signals_during_one_dispatch(void **state)
{
	struct fixture *f = *state;
	struct background b;

	background_start(&b, BACKGROUND_DISPATCH, f->handle, CS_DISPATCH_ONE, 0);
	assert_true(thread_wait_sleeping(b.tid, PROMPTLY_MS));
	signals_to(b.thread);
	assert_true(background_running(&b));
	peer_send_tick(f->p, 1);
	assert_true(background_finish(&b, PROMPTLY_MS));
	assert_int_equal(b.result, CS_OK);
	assert_int_equal(record_ticks(), 1);
}

static void test_signals_while_waiting_for_a_reply(void **state)
{
	struct fixture *f = *state;
	struct background b;

	f->p->gate_closed = true;
	peer_respond(f->p);
	background_start(&b, BACKGROUND_ECHO, f->handle, 0, 70);
	assert_true(peer_wait_requests(f->p, 1, PROMPTLY_MS));
	assert_true(thread_wait_sleeping(b.tid, PROMPTLY_MS));
	signals_to(b.thread);
	assert_true(background_running(&b));
	peer_set_gate(f->p, false);
	assert_true(background_finish(&b, PROMPTLY_MS));
	assert_int_equal(b.result, CS_OK);
	assert_int_equal(b.reply_value, 71);
}

static void test_signals_while_sending(void **state)
{
	struct fixture *f = *state;
	struct background b;

	/* 8 MiB do not fit the socket buffer while the peer is not reading. */
	f->p->paused = true;
	peer_respond(f->p);
	background_start(&b, BACKGROUND_BLOB, f->handle, 0, 8 * 1024 * 1024);
	assert_true(thread_wait_sleeping(b.tid, PROMPTLY_MS));
	signals_to(b.thread);
	assert_true(background_running(&b));
	peer_set_paused(f->p, false);
	assert_true(background_finish(&b, 5 * PROMPTLY_MS));
	assert_int_equal(b.result, CS_OK);
}

static void test_interval_timer_during_blocking_dispatch(void **state)
{
	struct fixture *f = *state;
	struct itimerval every_ms = { { 0, 1000 }, { 0, 1000 } }, off = { { 0, 0 }, { 0, 0 } };
	struct background b;
	sigset_t alarm_only, saved;

	/* Process-directed SIGALRMs, as alarm() users produce: keep them off
	 * this thread so that they land on the dispatcher. */
	record.on_tick = finalize_in_callback;
	background_start(&b, BACKGROUND_DISPATCH, f->handle, CS_DISPATCH_BLOCKING, 0);
	sigemptyset(&alarm_only);
	sigaddset(&alarm_only, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &alarm_only, &saved);
	assert_int_equal(setitimer(ITIMER_REAL, &every_ms, NULL), 0);
	for (int i = 0; i < 20; i++)
		assert_true(signal_handled());
	setitimer(ITIMER_REAL, &off, NULL);
	assert_true(background_running(&b));
	peer_send_tick(f->p, 1);
	assert_true(background_finish(&b, PROMPTLY_MS));
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	assert_int_equal(b.result, CS_ERR_BAD_HANDLE);
	assert_int_equal(record_ticks(), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(t) cmocka_unit_test_setup_teardown(t, signals_setup, signals_teardown)
		T(test_signals_during_blocking_dispatch),        T(test_signals_during_one_dispatch),
		T(test_signals_while_waiting_for_a_reply),       T(test_signals_while_sending),
		T(test_interval_timer_during_blocking_dispatch),
	};

	return cmocka_run_group_tests_name("signals", tests, NULL, NULL);
}
