/* The handle table: check bits, refcounting, deferred destruction, limits
 * and thread safety. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "cv-limits.h"
#include <conclave/client-runtime.h>

static struct cv_handle_table table = CV_HANDLE_TABLE_INIT;
static unsigned int destroyed;
static pthread_mutex_t destroyed_lock = PTHREAD_MUTEX_INITIALIZER;

static void count_destroy(void *object)
{
	pthread_mutex_lock(&destroyed_lock);
	destroyed++;
	pthread_mutex_unlock(&destroyed_lock);
}

static unsigned int destroyed_count(void)
{
	unsigned int n;

	pthread_mutex_lock(&destroyed_lock);
	n = destroyed;
	pthread_mutex_unlock(&destroyed_lock);
	return n;
}

static int reset(void **state)
{
	destroyed = 0;
	return 0;
}

static int check_empty(void **state)
{
	assert_int_equal(table.used, 0);
	return 0;
}

static void test_create_get_put_destroy(void **state)
{
	int object;
	uint64_t h;
	void *got = NULL;

	assert_int_equal(cv_handle_create(&table, &object, count_destroy, &h), CS_OK);
	assert_int_equal(cv_handle_get(&table, h, &got), CS_OK);
	assert_ptr_equal(got, &object);
	cv_handle_put(&table, h);
	assert_int_equal(destroyed_count(), 0);
	assert_int_equal(cv_handle_destroy(&table, h), CS_OK);
	assert_int_equal(destroyed_count(), 1);
	assert_int_equal(cv_handle_get(&table, h, &got), CS_ERR_BAD_HANDLE);
}

static void test_handle_layout(void **state)
{
	uint64_t a, b;

	assert_int_equal(cv_handle_create(&table, NULL, count_destroy, &a), CS_OK);
	assert_int_equal(cv_handle_create(&table, NULL, count_destroy, &b), CS_OK);
	assert_int_not_equal((uint32_t)(a >> 32), 0);
	assert_int_not_equal((uint32_t)(b >> 32), 0);
	assert_int_not_equal((uint32_t)(a >> 32), 0xffffffffu);
	assert_int_not_equal((uint32_t)a, (uint32_t)b);
	assert_true((uint32_t)a < table.capacity && (uint32_t)b < table.capacity);
	assert_int_equal(cv_handle_destroy(&table, a), CS_OK);
	assert_int_equal(cv_handle_destroy(&table, b), CS_OK);
}

static void test_zero_and_unknown_handles(void **state)
{
	uint64_t h;
	void *got;

	assert_int_equal(cv_handle_get(&table, 0, &got), CS_ERR_BAD_HANDLE);
	assert_int_equal(cv_handle_destroy(&table, 0), CS_ERR_BAD_HANDLE);
	cv_handle_put(&table, 0);
	assert_int_equal(cv_handle_create(&table, NULL, count_destroy, &h), CS_OK);
	/* Right index, wrong check; right check, index out of range; check 0. */
	assert_int_equal(cv_handle_get(&table, h ^ (1ull << 40), &got), CS_ERR_BAD_HANDLE);
	assert_int_equal(cv_handle_get(&table, (h & ~0xffffffffull) | 0x7fffffffu, &got), CS_ERR_BAD_HANDLE);
	assert_int_equal(cv_handle_get(&table, h & 0xffffffffull, &got), CS_ERR_BAD_HANDLE);
	assert_int_equal(cv_handle_destroy(&table, h ^ (1ull << 40)), CS_ERR_BAD_HANDLE);
	assert_int_equal(destroyed_count(), 0);
	assert_int_equal(cv_handle_destroy(&table, h), CS_OK);
}

static void test_stale_handle_after_slot_reuse(void **state)
{
	uint64_t old, reused;
	void *got;

	assert_int_equal(cv_handle_create(&table, NULL, count_destroy, &old), CS_OK);
	assert_int_equal(cv_handle_destroy(&table, old), CS_OK);
	assert_int_equal(cv_handle_create(&table, NULL, count_destroy, &reused), CS_OK);
	assert_int_equal((uint32_t)old, (uint32_t)reused); /* same slot... */
	assert_int_not_equal(old, reused);                 /* ...new check */
	assert_int_equal(cv_handle_get(&table, old, &got), CS_ERR_BAD_HANDLE);
	assert_int_equal(cv_handle_destroy(&table, old), CS_ERR_BAD_HANDLE);
	assert_int_equal(cv_handle_destroy(&table, reused), CS_OK);
}

static void test_destroy_twice(void **state)
{
	uint64_t h;

	assert_int_equal(cv_handle_create(&table, NULL, count_destroy, &h), CS_OK);
	assert_int_equal(cv_handle_destroy(&table, h), CS_OK);
	assert_int_equal(cv_handle_destroy(&table, h), CS_ERR_BAD_HANDLE);
	assert_int_equal(destroyed_count(), 1);
}

static void test_destroy_waits_for_last_reference(void **state)
{
	uint64_t h;
	void *got;

	assert_int_equal(cv_handle_create(&table, NULL, count_destroy, &h), CS_OK);
	assert_int_equal(cv_handle_get(&table, h, &got), CS_OK);
	assert_int_equal(cv_handle_get(&table, h, &got), CS_OK);
	assert_int_equal(cv_handle_destroy(&table, h), CS_OK);
	assert_int_equal(destroyed_count(), 0);
	/* Marked for removal: no new references, no second destroy. */
	assert_int_equal(cv_handle_get(&table, h, &got), CS_ERR_BAD_HANDLE);
	assert_int_equal(cv_handle_destroy(&table, h), CS_ERR_BAD_HANDLE);
	cv_handle_put(&table, h);
	assert_int_equal(destroyed_count(), 0);
	cv_handle_put(&table, h);
	assert_int_equal(destroyed_count(), 1);
	cv_handle_put(&table, h); /* one too many: ignored */
	assert_int_equal(destroyed_count(), 1);
}

static uint64_t nested_handle;

static void destroy_using_table(void *object)
{
	void *got;

	/* The destructor runs without the table lock: this must not deadlock. */
	assert_int_equal(cv_handle_get(&table, nested_handle, &got), CS_OK);
	cv_handle_put(&table, nested_handle);
	assert_int_equal(cv_handle_destroy(&table, nested_handle), CS_OK);
	count_destroy(object);
}

static void test_destructor_may_use_the_table(void **state)
{
	uint64_t h;

	assert_int_equal(cv_handle_create(&table, NULL, count_destroy, &nested_handle), CS_OK);
	assert_int_equal(cv_handle_create(&table, NULL, destroy_using_table, &h), CS_OK);
	assert_int_equal(cv_handle_destroy(&table, h), CS_OK);
	assert_int_equal(destroyed_count(), 2);
}

static void test_table_full(void **state)
{
	uint64_t *handles = calloc(CV_HANDLE_TABLE_MAX_ENTRIES, sizeof(*handles));
	uint64_t extra;

	assert_non_null(handles);
	for (uint32_t i = 0; i < CV_HANDLE_TABLE_MAX_ENTRIES; i++)
		assert_int_equal(cv_handle_create(&table, NULL, count_destroy, &handles[i]), CS_OK);
	assert_int_equal(cv_handle_create(&table, NULL, count_destroy, &extra), CS_ERR_NO_RESOURCES);
	assert_int_equal(cv_handle_destroy(&table, handles[100]), CS_OK);
	assert_int_equal(cv_handle_create(&table, NULL, count_destroy, &handles[100]), CS_OK);
	assert_int_equal((uint32_t)handles[100], 100);
	for (uint32_t i = 0; i < CV_HANDLE_TABLE_MAX_ENTRIES; i++)
		assert_int_equal(cv_handle_destroy(&table, handles[i]), CS_OK);
	assert_int_equal(destroyed_count(), CV_HANDLE_TABLE_MAX_ENTRIES + 1);
	free(handles);
}

static void test_invalid_arguments(void **state)
{
	uint64_t h;
	void *got;

	assert_int_equal(cv_handle_create(&table, NULL, NULL, NULL), CS_ERR_INVALID_PARAM);
	assert_int_equal(cv_handle_create(NULL, NULL, NULL, &h), CS_ERR_INVALID_PARAM);
	assert_int_equal(cv_handle_create(&table, NULL, NULL, &h), CS_OK);
	assert_int_equal(cv_handle_get(&table, h, NULL), CS_ERR_INVALID_PARAM);
	assert_int_equal(cv_handle_get(NULL, h, &got), CS_ERR_INVALID_PARAM);
	assert_int_equal(cv_handle_destroy(&table, h), CS_OK); /* NULL destructor */
}

#define CHURN_THREADS 4
#define CHURN_ROUNDS 20000

static void *churn(void *arg)
{
	uint64_t h;
	void *got;
	long failures = 0;

	for (int i = 0; i < CHURN_ROUNDS; i++) {
		failures += cv_handle_create(&table, &table, count_destroy, &h) != CS_OK;
		failures += cv_handle_get(&table, h, &got) != CS_OK || got != &table;
		failures += cv_handle_destroy(&table, h) != CS_OK;
		failures += cv_handle_get(&table, h, &got) != CS_ERR_BAD_HANDLE;
		cv_handle_put(&table, h);
		failures += cv_handle_destroy(&table, h) != CS_ERR_BAD_HANDLE;
	}
	return (void *)failures;
}

static void test_concurrent_create_destroy(void **state)
{
	pthread_t threads[CHURN_THREADS];
	void *failures;

	for (int i = 0; i < CHURN_THREADS; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, churn, NULL), 0);
	for (int i = 0; i < CHURN_THREADS; i++) {
		pthread_join(threads[i], &failures);
		assert_int_equal((long)failures, 0);
	}
	assert_int_equal(destroyed_count(), CHURN_THREADS * CHURN_ROUNDS);
}

struct shared_handle {
	uint64_t handle;
	long got;
};

static void *get_put_loop(void *arg)
{
	struct shared_handle *shared = arg;
	void *got;

	for (int i = 0; i < CHURN_ROUNDS; i++) {
		if (cv_handle_get(&table, shared->handle, &got) != CS_OK)
			break;
		shared->got++;
		cv_handle_put(&table, shared->handle);
	}
	return NULL;
}

static void test_destroy_races_with_get_put(void **state)
{
	struct shared_handle shared[CHURN_THREADS];
	pthread_t threads[CHURN_THREADS];
	uint64_t h;

	assert_int_equal(cv_handle_create(&table, NULL, count_destroy, &h), CS_OK);
	for (int i = 0; i < CHURN_THREADS; i++) {
		shared[i] = (struct shared_handle){ .handle = h };
		assert_int_equal(pthread_create(&threads[i], NULL, get_put_loop, &shared[i]), 0);
	}
	assert_int_equal(cv_handle_destroy(&table, h), CS_OK);
	for (int i = 0; i < CHURN_THREADS; i++)
		pthread_join(threads[i], NULL);
	assert_int_equal(destroyed_count(), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(t) cmocka_unit_test_setup_teardown(t, reset, check_empty)
		T(test_create_get_put_destroy),
		T(test_handle_layout),
		T(test_zero_and_unknown_handles),
		T(test_stale_handle_after_slot_reuse),
		T(test_destroy_twice),
		T(test_destroy_waits_for_last_reference),
		T(test_destructor_may_use_the_table),
		T(test_table_full),
		T(test_invalid_arguments),
		T(test_concurrent_create_destroy),
		T(test_destroy_races_with_get_put),
	};

	return cmocka_run_group_tests_name("handle table", tests, NULL, NULL);
}
