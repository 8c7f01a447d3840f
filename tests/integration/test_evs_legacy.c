/* A program written against corosync 1.x's spellings, and only those (a
 * test checks that this file names none of the current ones): evs_error_t
 * and EVS_OK / EVS_ERR_*, evs_dispatch_t and EVS_DISPATCH_*, cpg_error_t and
 * CPG_OK / CPG_ERR_*, cpg_dispatch_t and CPG_DISPATCH_*. It builds and
 * behaves as the same program written with today's names. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <sys/uio.h>

#include <corosync/cpg.h>
#include <corosync/evs.h>

#include "harness.h"

static struct test_daemon daemon_under_test;
static int evs_messages, evs_confchgs, cpg_messages, cpg_confchgs;

static void evs_deliver(hdb_handle_t handle, unsigned int nodeid, const void *msg, size_t msg_len)
{
	evs_messages++;
}

static void evs_confchg(hdb_handle_t handle, const unsigned int *members, size_t n_members,
			const unsigned int *left, size_t n_left, const unsigned int *joined, size_t n_joined,
			const struct evs_ring_id *ring_id)
{
	evs_confchgs++;
}

static void cpg_deliver(cpg_handle_t handle, const struct cpg_name *group, uint32_t nodeid, uint32_t pid,
			void *msg, size_t msg_len)
{
	cpg_messages++;
}

static void cpg_confchg(cpg_handle_t handle, const struct cpg_name *group, const struct cpg_address *members,
			size_t n_members, const struct cpg_address *left, size_t n_left,
			const struct cpg_address *joined, size_t n_joined)
{
	cpg_confchgs++;
}

static int start(void **state)
{
	evs_messages = evs_confchgs = cpg_messages = cpg_confchgs = 0;
	return test_daemon_start(&daemon_under_test, SINGLE_NODE_CONFIG);
}

static int stop(void **state)
{
	return test_daemon_stop(&daemon_under_test);
}

/* The same dispatch, spelled as in corosync 1.x. */
static evs_error_t evs_dispatch_when_readable(evs_handle_t h, evs_dispatch_t how)
{
	int fd;
	evs_error_t result = evs_fd_get(h, &fd);

	if (result != EVS_OK)
		return result;
	assert_true(fd_readable_within(fd, 5000));
	return evs_dispatch(h, how);
}

static void test_evs_with_old_names(void **state)
{
	evs_callbacks_t callbacks = { evs_deliver, evs_confchg };
	struct evs_group groups[51];
	struct iovec iov = { "old", 3 };
	evs_handle_t h;
	evs_error_t result;

	memset(groups, 0, sizeof(groups));
	memcpy(groups[0].key, "legacy", 6);
	result = evs_initialize(&h, &callbacks);
	assert_int_equal(result, EVS_OK);
	assert_int_equal(evs_dispatch_when_readable(h, EVS_DISPATCH_ONE), EVS_OK);
	assert_int_equal(evs_confchgs, 1);
	assert_int_equal(evs_join(h, groups, 51), EVS_ERR_TOO_MANY_GROUPS);
	assert_int_equal(evs_leave(h, groups, 1), EVS_ERR_NOT_EXIST);
	assert_int_equal(evs_join(h, groups, 1), EVS_OK);
	assert_int_equal(evs_mcast_joined(h, EVS_TYPE_AGREED, &iov, 1), EVS_OK);
	assert_int_equal(evs_mcast_joined(h, EVS_TYPE_AGREED, NULL, 1), EVS_ERR_INVALID_PARAM);
	assert_int_equal(evs_dispatch_when_readable(h, EVS_DISPATCH_ALL), EVS_OK);
	assert_int_equal(evs_messages, 1);
	assert_int_equal(evs_finalize(h), EVS_OK);
	assert_int_equal(evs_finalize(h), EVS_ERR_BAD_HANDLE);
	assert_int_equal(evs_dispatch(h, EVS_DISPATCH_BLOCKING), EVS_ERR_BAD_HANDLE);
}

static void test_cpg_with_old_names(void **state)
{
	cpg_callbacks_t callbacks = { cpg_deliver, cpg_confchg };
	struct cpg_name group = { 6, "legacy" };
	struct iovec iov = { "old", 3 };
	cpg_dispatch_t how = CPG_DISPATCH_ALL;
	cpg_handle_t h;
	cpg_error_t result;
	int fd;

	result = cpg_initialize(&h, &callbacks);
	assert_int_equal(result, CPG_OK);
	assert_int_equal(cpg_leave(h, &group), CPG_ERR_NOT_EXIST);
	assert_int_equal(cpg_join(h, &group), CPG_OK);
	assert_int_equal(cpg_join(h, &group), CPG_ERR_EXIST);
	assert_int_equal(cpg_mcast_joined(h, CPG_TYPE_AGREED, &iov, 1), CPG_OK);
	assert_int_equal(cpg_fd_get(h, &fd), CPG_OK);
	while (cpg_messages == 0) {
		assert_true(fd_readable_within(fd, 5000));
		assert_int_equal(cpg_dispatch(h, how), CPG_OK);
	}
	assert_int_equal(cpg_confchgs, 1);
	assert_int_equal(cpg_dispatch(h, CPG_DISPATCH_ALL), CPG_OK);
	assert_int_equal(cpg_finalize(h), CPG_OK);
	assert_int_equal(cpg_finalize(h), CPG_ERR_BAD_HANDLE);
}

#define SINGLE(t) cmocka_unit_test_setup_teardown(t, start, stop)

int main(void)
{
	const struct CMUnitTest tests[] = {
		SINGLE(test_evs_with_old_names),
		SINGLE(test_cpg_with_old_names),
	};

	return cmocka_run_group_tests_name("evs_legacy", tests, NULL, NULL);
}
