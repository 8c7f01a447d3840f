/* Threads: a BLOCKING dispatcher beside concurrent callers, finalize from
 * another thread waking whoever is blocked, concurrent handles. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "peer.h"
#include "test-util.h"

#define CALLERS 3
#define CALLS_PER_CALLER 300

static int fixture_setup(void **state)
{
	return fixture_connect(state, recording_callbacks, NULL, 0);
}

struct caller {
	pthread_t thread;
	uint64_t handle;
	uint32_t base;
	unsigned int calls;
	long failures;
	cs_error_t last;
};

/* Makes `calls` echo calls (0: until one fails) and checks every reply is
 * its own. */
static void *caller_main(void *arg)
{
	struct caller *c = arg;
	uint32_t reply;

	for (unsigned int i = 0; c->calls == 0 || i < c->calls; i++) {
		reply = 0;
		c->last = test_echo(c->handle, c->base + i, &reply);
		if (c->last != CS_OK) {
			c->failures += c->calls != 0;
			break;
		}
		c->failures += reply != c->base + i + 1;
	}
	return NULL;
}

static void callers_start(struct caller *callers, unsigned int n, uint64_t handle, unsigned int calls)
{
	for (unsigned int i = 0; i < n; i++) {
		callers[i] = (struct caller){ .handle = handle, .base = 100000 * (i + 1), .calls = calls };
		assert_int_equal(pthread_create(&callers[i].thread, NULL, caller_main, &callers[i]), 0);
	}
}

static void callers_join(struct caller *callers, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		pthread_join(callers[i].thread, NULL);
		assert_int_equal(callers[i].failures, 0);
	}
}

static void test_blocking_dispatcher_beside_concurrent_callers(void **state)
{
	struct fixture *f = *state;
	struct caller callers[CALLERS];
	struct background dispatcher;

	f->p->events_per_reply = 1;
	peer_respond(f->p);
	background_start(&dispatcher, BACKGROUND_DISPATCH, f->handle, CS_DISPATCH_BLOCKING, 0);
	callers_start(callers, CALLERS, f->handle, CALLS_PER_CALLER);
	callers_join(callers, CALLERS);
	assert_true(record_wait_ticks(CALLERS * CALLS_PER_CALLER, 10 * PROMPTLY_MS));
	assert_true(background_running(&dispatcher));
	assert_int_equal(cv_client_finalize(&test_service, f->handle), CS_OK);
	assert_true(background_finish(&dispatcher, PROMPTLY_MS));
	assert_int_equal(dispatcher.result, CS_ERR_BAD_HANDLE);
	assert_int_equal(record_ticks(), CALLERS * CALLS_PER_CALLER);
}

static void test_concurrent_callers_without_a_dispatcher(void **state)
{
	struct fixture *f = *state;
	struct caller callers[CALLERS + 1];

	f->p->events_per_reply = 1;
	peer_respond(f->p);
	callers_start(callers, CALLERS + 1, f->handle, CALLS_PER_CALLER);
	callers_join(callers, CALLERS + 1);
	/* No caller took an event in: they wait in the socket (and in the
	 * peer's queue behind it, as in conclaved's), the fd says so, and
	 * dispatch delivers every one. */
	assert_int_equal(record_ticks(), 0);
	while (record_ticks() < (CALLERS + 1) * CALLS_PER_CALLER) {
		assert_true(fd_readable(f->fd, PROMPTLY_MS));
		assert_int_equal(cv_client_dispatch(&test_service, f->handle, CS_DISPATCH_ALL), CS_OK);
	}
	assert_int_equal(record_ticks(), (CALLERS + 1) * CALLS_PER_CALLER);
	assert_false(fd_readable(f->fd, 100));
}

static void finalize_wakes_dispatcher(struct fixture *f, int flags)
{
	struct background b;

	background_start(&b, BACKGROUND_DISPATCH, f->handle, flags, 0);
	assert_true(thread_wait_sleeping(b.tid, PROMPTLY_MS));
	assert_true(background_running(&b));
	assert_int_equal(cv_client_finalize(&test_service, f->handle), CS_OK);
	assert_true(background_finish(&b, PROMPTLY_MS));
	assert_int_equal(b.result, CS_ERR_BAD_HANDLE);
	assert_int_equal(test_handles.used, 0);
}

static void test_finalize_wakes_a_blocking_dispatcher(void **state)
{
	finalize_wakes_dispatcher(*state, CS_DISPATCH_BLOCKING);
}

static void test_finalize_wakes_a_one_dispatcher(void **state)
{
	finalize_wakes_dispatcher(*state, CS_DISPATCH_ONE);
}

static void test_finalize_wakes_a_waiting_call(void **state)
{
	struct fixture *f = *state;
	struct background b;

	f->p->gate_closed = true;
	peer_respond(f->p);
	background_start(&b, BACKGROUND_ECHO, f->handle, 0, 1);
	assert_true(peer_wait_requests(f->p, 1, PROMPTLY_MS));
	assert_true(thread_wait_sleeping(b.tid, PROMPTLY_MS));
	assert_int_equal(cv_client_finalize(&test_service, f->handle), CS_OK);
	assert_true(background_finish(&b, PROMPTLY_MS));
	assert_true(b.result == CS_ERR_BAD_HANDLE || b.result == CS_ERR_LIBRARY);
}

static void test_finalize_wakes_everyone_at_once(void **state)
{
	struct fixture *f = *state;
	struct background dispatchers[2], calls[3];

	f->p->gate_closed = true;
	peer_respond(f->p);
	for (int i = 0; i < 2; i++)
		background_start(&dispatchers[i], BACKGROUND_DISPATCH, f->handle,
				 i == 0 ? CS_DISPATCH_BLOCKING : CS_DISPATCH_ONE, 0);
	for (int i = 0; i < 3; i++)
		background_start(&calls[i], BACKGROUND_ECHO, f->handle, 0, (uint32_t)i);
	assert_true(peer_wait_requests(f->p, 3, PROMPTLY_MS));
	for (int i = 0; i < 2; i++)
		assert_true(thread_wait_sleeping(dispatchers[i].tid, PROMPTLY_MS));
	assert_int_equal(cv_client_finalize(&test_service, f->handle), CS_OK);
	for (int i = 0; i < 2; i++) {
		assert_true(background_finish(&dispatchers[i], PROMPTLY_MS));
		assert_int_equal(dispatchers[i].result, CS_ERR_BAD_HANDLE);
	}
	for (int i = 0; i < 3; i++) {
		assert_true(background_finish(&calls[i], PROMPTLY_MS));
		assert_true(calls[i].result == CS_ERR_BAD_HANDLE || calls[i].result == CS_ERR_LIBRARY);
	}
	assert_int_equal(test_handles.used, 0);
}

static void test_two_dispatchers_share_the_events(void **state)
{
	struct fixture *f = *state;
	struct background dispatchers[2];

	for (int i = 0; i < 2; i++)
		background_start(&dispatchers[i], BACKGROUND_DISPATCH, f->handle, CS_DISPATCH_BLOCKING, 0);
	for (uint32_t v = 0; v < 500; v++)
		peer_send_tick(f->p, v);
	assert_true(record_wait_ticks(500, 10 * PROMPTLY_MS));
	assert_int_equal(cv_client_finalize(&test_service, f->handle), CS_OK);
	for (int i = 0; i < 2; i++) {
		assert_true(background_finish(&dispatchers[i], PROMPTLY_MS));
		assert_int_equal(dispatchers[i].result, CS_ERR_BAD_HANDLE);
	}
	assert_int_equal(record_ticks(), 500);
}

static void test_finalize_races_with_calls(void **state)
{
	struct fixture *f = *state;
	struct caller callers[CALLERS];

	peer_respond(f->p);
	callers_start(callers, CALLERS, f->handle, 0);
	assert_true(peer_wait_requests(f->p, 100, 10 * PROMPTLY_MS));
	assert_int_equal(cv_client_finalize(&test_service, f->handle), CS_OK);
	for (unsigned int i = 0; i < CALLERS; i++) {
		pthread_join(callers[i].thread, NULL);
		assert_int_equal(callers[i].failures, 0);
		assert_true(callers[i].last == CS_ERR_BAD_HANDLE || callers[i].last == CS_ERR_LIBRARY);
	}
	assert_int_equal(test_handles.used, 0);
}

/* ---- finalize from another thread while a callback runs ---- */

static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static bool in_callback, finalized;
static void *context_seen;

static void callback_waits_for_finalize(uint64_t handle, uint32_t value)
{
	pthread_mutex_lock(&gate_lock);
	in_callback = true;
	pthread_cond_broadcast(&gate_cond);
	while (!finalized)
		pthread_cond_wait(&gate_cond, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
	if (cv_client_context_get(&test_service, handle, &context_seen) != CS_ERR_BAD_HANDLE)
		context_seen = &context_seen;
}

static void test_finalize_from_another_thread_during_a_callback(void **state)
{
	struct fixture *f = *state;
	struct background b;

	in_callback = finalized = false;
	record.on_tick = callback_waits_for_finalize;
	peer_send_tick(f->p, 1);
	peer_send_tick(f->p, 2);
	background_start(&b, BACKGROUND_DISPATCH, f->handle, CS_DISPATCH_ALL, 0);
	pthread_mutex_lock(&gate_lock);
	while (!in_callback)
		pthread_cond_wait(&gate_cond, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
	assert_int_equal(cv_client_finalize(&test_service, f->handle), CS_OK);
	/* dispatch still holds its reference: the client is not freed yet */
	assert_int_equal(test_handles.used, 1);
	pthread_mutex_lock(&gate_lock);
	finalized = true;
	pthread_cond_broadcast(&gate_cond);
	pthread_mutex_unlock(&gate_lock);
	assert_true(background_finish(&b, PROMPTLY_MS));
	assert_int_equal(b.result, CS_ERR_BAD_HANDLE);
	assert_int_equal(record_ticks(), 1);
	assert_null(context_seen);
	assert_int_equal(test_handles.used, 0);
}

/* ---- many handles ---- */

#define CHURNERS 4
#define CHURN_ROUNDS 40

static void *churn_main(void *arg)
{
	long failures = 0;
	uint64_t handle;
	uint32_t reply;

	for (int i = 0; i < CHURN_ROUNDS; i++) {
		if (cv_client_initialize(&test_service, &handle, recording_callbacks, NULL) != CS_OK) {
			failures++;
			continue;
		}
		failures += test_echo(handle, (uint32_t)i, &reply) != CS_OK || reply != (uint32_t)i + 1;
		failures += cv_client_finalize(&test_service, handle) != CS_OK;
	}
	return (void *)failures;
}

static void test_concurrent_initialize_and_finalize(void **state)
{
	struct fixture *f = *state;
	pthread_t threads[CHURNERS];
	void *failures;

	peer_accept_many(f->p);
	for (int i = 0; i < CHURNERS; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, churn_main, NULL), 0);
	for (int i = 0; i < CHURNERS; i++) {
		pthread_join(threads[i], &failures);
		assert_int_equal((long)failures, 0);
	}
	assert_int_equal(test_handles.used, 1); /* the fixture's own handle */
}

#define FINALIZERS 4
#define FINALIZE_ROUNDS 100

struct finalizer {
	pthread_t thread;
	pthread_barrier_t *start;
	uint64_t handle;
	cs_error_t result;
};

static void *finalizer_main(void *arg)
{
	struct finalizer *fin = arg;

	pthread_barrier_wait(fin->start);
	fin->result = cv_client_finalize(&test_service, fin->handle);
	return NULL;
}

static void test_racing_finalizes_have_one_winner(void **state)
{
	struct fixture *f = *state;
	struct finalizer finalizers[FINALIZERS];
	pthread_barrier_t start;
	uint64_t handle;
	int winners;

	peer_accept_many(f->p);
	for (int round = 0; round < FINALIZE_ROUNDS; round++) {
		assert_int_equal(cv_client_initialize(&test_service, &handle, NULL, NULL), CS_OK);
		pthread_barrier_init(&start, NULL, FINALIZERS);
		for (int i = 0; i < FINALIZERS; i++) {
			finalizers[i] = (struct finalizer){ .start = &start, .handle = handle };
			assert_int_equal(
				pthread_create(&finalizers[i].thread, NULL, finalizer_main, &finalizers[i]),
				0);
		}
		winners = 0;
		for (int i = 0; i < FINALIZERS; i++) {
			pthread_join(finalizers[i].thread, NULL);
			winners += finalizers[i].result == CS_OK;
			assert_true(finalizers[i].result == CS_OK ||
				    finalizers[i].result == CS_ERR_BAD_HANDLE);
		}
		pthread_barrier_destroy(&start);
		assert_int_equal(winners, 1);
	}
	assert_int_equal(test_handles.used, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(t) cmocka_unit_test_setup_teardown(t, fixture_setup, fixture_teardown)
		T(test_blocking_dispatcher_beside_concurrent_callers),
		T(test_concurrent_callers_without_a_dispatcher),
		T(test_finalize_wakes_a_blocking_dispatcher),
		T(test_finalize_wakes_a_one_dispatcher),
		T(test_finalize_wakes_a_waiting_call),
		T(test_finalize_wakes_everyone_at_once),
		T(test_two_dispatchers_share_the_events),
		T(test_finalize_races_with_calls),
		T(test_finalize_from_another_thread_during_a_callback),
		T(test_concurrent_initialize_and_finalize),
		T(test_racing_finalizes_have_one_winner),
	};

	return cmocka_run_group_tests_name("threads", tests, NULL, NULL);
}
