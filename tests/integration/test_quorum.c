/* libquorum against a real conclaved: every function of quorum.h and each of
 * its documented errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <corosync/quorum.h>
#include <corosync/votequorum.h>

#include "harness.h"

static const char THREE_NODE_CONFIG[] = "totem {\n\tversion: 2\n\tcluster_name: three\n}\n"
					"nodelist {\n"
					"\tnode {\n\t\tnodeid: 1\n\t\tring0_addr: 127.0.0.1\n\t}\n"
					"\tnode {\n\t\tnodeid: 2\n\t\tring0_addr: 192.0.2.2\n\t}\n"
					"\tnode {\n\t\tnodeid: 3\n\t\tring0_addr: 192.0.2.3\n\t}\n"
					"}\n"
					"quorum {\n\tprovider: corosync_votequorum\n}\n";

static const char NO_PROVIDER_CONFIG[] =
	"totem {\n\tversion: 2\n\tcluster_name: free\n}\n"
	"nodelist {\n\tnode {\n\t\tnodeid: 1\n\t\tring0_addr: 127.0.0.1\n\t}\n}\n";

static const char LIMITED_CONFIG[] =
	"nodelist {\n\tnode {\n\t\tnodeid: 1\n\t\tring0_addr: 127.0.0.1\n\t}\n}\n"
	"quorum {\n\tprovider: corosync_votequorum\n}\n"
	"conclave {\n\tmax_connections: 2\n}\n";

static const char PER_UID_LIMITED_CONFIG[] =
	"nodelist {\n\tnode {\n\t\tnodeid: 1\n\t\tring0_addr: 127.0.0.1\n\t}\n}\n"
	"quorum {\n\tprovider: corosync_votequorum\n}\n"
	"conclave {\n\tmax_connections_per_uid: 1\n}\n";

static struct test_daemon daemon_under_test;

/* What the callbacks saw, in order. */
static struct {
	char order[16];
	int calls;
	uint32_t quorate;
	uint64_t ring_seq;
	struct quorum_ring_id ring_id;
	uint32_t members[8];
	uint32_t n_members;
	uint32_t n_joined;
	uint32_t n_left;
	quorum_handle_t handle;
	bool finalize_in_callback;
	cs_error_t finalize_result;
} seen;

static void note(char what)
{
	size_t len = strlen(seen.order);

	if (len + 1 < sizeof(seen.order))
		seen.order[len] = what;
	seen.calls++;
}

static void copy_members(uint32_t n, const uint32_t *list)
{
	seen.n_members = n;
	for (uint32_t i = 0; i < n && i < 8; i++)
		seen.members[i] = list[i];
}

static void v0_notify(quorum_handle_t handle, uint32_t quorate, uint64_t ring_seq, uint32_t view_list_entries,
		      uint32_t *view_list)
{
	note('0');
	seen.handle = handle;
	seen.quorate = quorate;
	seen.ring_seq = ring_seq;
	copy_members(view_list_entries, view_list);
	if (seen.finalize_in_callback)
		seen.finalize_result = quorum_finalize(handle);
}

static void v1_quorum_notify(quorum_handle_t handle, uint32_t quorate, struct quorum_ring_id ring_id,
			     uint32_t member_list_entries, const uint32_t *member_list)
{
	note('Q');
	seen.quorate = quorate;
	seen.ring_id = ring_id;
	copy_members(member_list_entries, member_list);
}

static void v1_nodelist_notify(quorum_handle_t handle, struct quorum_ring_id ring_id,
			       uint32_t member_list_entries, const uint32_t *member_list,
			       uint32_t joined_list_entries, const uint32_t *joined_list,
			       uint32_t left_list_entries, const uint32_t *left_list)
{
	note('N');
	seen.ring_id = ring_id;
	seen.n_joined = joined_list_entries;
	seen.n_left = left_list_entries;
	copy_members(member_list_entries, member_list);
}

static quorum_callbacks_t v0_callbacks = { .quorum_notify_fn = v0_notify };

static int start_with(const char *config)
{
	memset(&seen, 0, sizeof(seen));
	return test_daemon_start(&daemon_under_test, config);
}

static int start_single(void **state)
{
	return start_with(SINGLE_NODE_CONFIG);
}
static int start_three(void **state)
{
	return start_with(THREE_NODE_CONFIG);
}
static int start_free(void **state)
{
	return start_with(NO_PROVIDER_CONFIG);
}
static int start_limited(void **state)
{
	return start_with(LIMITED_CONFIG);
}
static int start_per_uid_limited(void **state)
{
	return start_with(PER_UID_LIMITED_CONFIG);
}

static int stop(void **state)
{
	return test_daemon_stop(&daemon_under_test);
}

static quorum_handle_t connect_v0(void)
{
	quorum_handle_t h;
	uint32_t type = 99;

	assert_int_equal(quorum_initialize(&h, &v0_callbacks, &type), CS_OK);
	assert_int_equal(type, QUORUM_SET);
	return h;
}

static quorum_handle_t connect_v1(void)
{
	quorum_handle_t h;
	quorum_model_v1_data_t data = {
		.model = QUORUM_MODEL_V1,
		.quorum_notify_fn = v1_quorum_notify,
		.nodelist_notify_fn = v1_nodelist_notify,
	};

	assert_int_equal(
		quorum_model_initialize(&h, QUORUM_MODEL_V1, (quorum_model_data_t *)&data, NULL, NULL),
		CS_OK);
	return h;
}

static void test_initialize_reports_quorum_type(void **state)
{
	quorum_handle_t h;
	uint32_t type = 99;

	assert_int_equal(quorum_initialize(&h, NULL, &type), CS_OK);
	assert_int_equal(type, QUORUM_SET);
	assert_int_equal(quorum_finalize(h), CS_OK);
	assert_int_equal(quorum_initialize(&h, NULL, NULL), CS_OK);
	assert_int_equal(quorum_finalize(h), CS_OK);
}

static void test_initialize_null_handle_is_invalid(void **state)
{
	uint32_t type;

	assert_int_equal(quorum_initialize(NULL, &v0_callbacks, &type), CS_ERR_INVALID_PARAM);
	assert_int_equal(quorum_model_initialize(NULL, QUORUM_MODEL_V0, NULL, &type, NULL),
			 CS_ERR_INVALID_PARAM);
}

static void test_initialize_without_daemon_is_library_error(void **state)
{
	quorum_handle_t h;
	char *saved = strdup(getenv("CONCLAVE_SOCKET"));

	setenv("CONCLAVE_SOCKET", "/tmp/conclave-test-no-such-dir/none.sock", 1);
	assert_int_equal(quorum_initialize(&h, NULL, NULL), CS_ERR_LIBRARY);
	setenv("CONCLAVE_SOCKET", saved, 1);
	free(saved);
}

static void test_initialize_refused_uid_is_access_error(void **state)
{
	pid_t child;
	int status;

	if (geteuid() != 0)
		skip();
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		quorum_handle_t h;

		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(2);
		_exit(quorum_initialize(&h, NULL, NULL) == CS_ERR_ACCESS ? 0 : 1);
	}
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* Initializes, retrying while the daemon has not yet reaped a connection
 * that was closed just before (its slot still counts). */
static quorum_handle_t initialize_once_a_slot_frees(void)
{
	quorum_handle_t h;
	cs_error_t err;

	for (int i = 0; i < 200; i++) {
		err = quorum_initialize(&h, NULL, NULL);
		if (err != CS_ERR_TRY_AGAIN)
			break;
		usleep(10 * 1000);
	}
	assert_int_equal(err, CS_OK);
	return h;
}

/* Past the daemon's connection limits initialize gets CS_ERR_TRY_AGAIN, and a
 * slot freed by finalize can be taken again. */
static void expect_connection_limit(int limit)
{
	quorum_handle_t handles[2], extra;

	for (int i = 0; i < limit; i++)
		handles[i] = initialize_once_a_slot_frees();
	assert_int_equal(quorum_initialize(&extra, NULL, NULL), CS_ERR_TRY_AGAIN);
	assert_int_equal(quorum_finalize(handles[0]), CS_OK);
	handles[0] = initialize_once_a_slot_frees();
	for (int i = 0; i < limit; i++)
		assert_int_equal(quorum_finalize(handles[i]), CS_OK);
}

static void test_initialize_past_max_connections_is_try_again(void **state)
{
	expect_connection_limit(2);
	assert_true(test_daemon_log_contains(&daemon_under_test, "max_connections (2) reached", 0));
}

static void test_initialize_past_max_connections_per_uid_is_try_again(void **state)
{
	expect_connection_limit(1);
	assert_true(test_daemon_log_contains(&daemon_under_test, "max_connections_per_uid (1) reached", 0));
}

static void test_model_initialize_rejects_unknown_model(void **state)
{
	quorum_handle_t h;

	assert_int_equal(quorum_model_initialize(&h, (quorum_model_t)2, NULL, NULL, NULL),
			 CS_ERR_INVALID_PARAM);
}

static void test_model_initialize_sets_context(void **state)
{
	quorum_handle_t h;
	int marker;
	const void *context = NULL;
	uint32_t type = 99;

	assert_int_equal(quorum_model_initialize(&h, QUORUM_MODEL_V0, NULL, &type, &marker), CS_OK);
	assert_int_equal(type, QUORUM_SET);
	assert_int_equal(quorum_context_get(h, &context), CS_OK);
	assert_ptr_equal(context, &marker);
	assert_int_equal(quorum_context_set(h, NULL), CS_OK);
	assert_int_equal(quorum_context_get(h, &context), CS_OK);
	assert_null(context);
	assert_int_equal(quorum_context_get(h, NULL), CS_ERR_INVALID_PARAM);
	assert_int_equal(quorum_finalize(h), CS_OK);
}

static void test_getquorate_single_node(void **state)
{
	quorum_handle_t h = connect_v0();
	int quorate = -1;

	assert_int_equal(quorum_getquorate(h, &quorate), CS_OK);
	assert_int_equal(quorate, 1);
	assert_int_equal(quorum_getquorate(h, NULL), CS_ERR_INVALID_PARAM);
	assert_int_equal(quorum_finalize(h), CS_OK);
}

static void test_getquorate_three_node_config_is_inquorate(void **state)
{
	quorum_handle_t h = connect_v0();
	int quorate = -1;

	assert_int_equal(quorum_getquorate(h, &quorate), CS_OK);
	assert_int_equal(quorate, 0);
	assert_int_equal(quorum_finalize(h), CS_OK);
}

static void test_no_provider_is_quorum_free_and_quorate(void **state)
{
	quorum_handle_t h;
	uint32_t type = 99;
	int quorate = -1;

	assert_int_equal(quorum_initialize(&h, NULL, &type), CS_OK);
	assert_int_equal(type, QUORUM_FREE);
	assert_int_equal(quorum_getquorate(h, &quorate), CS_OK);
	assert_int_equal(quorate, 1);
	assert_int_equal(quorum_finalize(h), CS_OK);
}

static void test_bad_handles(void **state)
{
	quorum_handle_t h = connect_v0();
	int quorate, fd;
	const void *context;

	assert_int_equal(quorum_finalize(h), CS_OK);
	for (int i = 0; i < 3; i++) {
		quorum_handle_t bad = i == 0 ? h : i == 1 ? 0 : 0x123456789ULL;

		assert_int_equal(quorum_getquorate(bad, &quorate), CS_ERR_BAD_HANDLE);
		assert_int_equal(quorum_trackstart(bad, CS_TRACK_CHANGES), CS_ERR_BAD_HANDLE);
		assert_int_equal(quorum_trackstop(bad), CS_ERR_BAD_HANDLE);
		assert_int_equal(quorum_fd_get(bad, &fd), CS_ERR_BAD_HANDLE);
		assert_int_equal(quorum_dispatch(bad, CS_DISPATCH_ALL), CS_ERR_BAD_HANDLE);
		assert_int_equal(quorum_context_get(bad, &context), CS_ERR_BAD_HANDLE);
		assert_int_equal(quorum_context_set(bad, NULL), CS_ERR_BAD_HANDLE);
		assert_int_equal(quorum_finalize(bad), CS_ERR_BAD_HANDLE);
	}
}

static void test_fd_get(void **state)
{
	quorum_handle_t h = connect_v0();
	int fd1 = -1, fd2 = -1;

	assert_int_equal(quorum_fd_get(h, NULL), CS_ERR_INVALID_PARAM);
	assert_int_equal(quorum_fd_get(h, &fd1), CS_OK);
	assert_true(fd1 >= 0);
	assert_false(fd_readable_within(fd1, 0));
	assert_int_equal(quorum_trackstart(h, CS_TRACK_CURRENT), CS_OK);
	assert_true(fd_readable_within(fd1, 2000));
	assert_int_equal(quorum_fd_get(h, &fd2), CS_OK);
	assert_int_equal(fd1, fd2);
	assert_int_equal(quorum_dispatch(h, CS_DISPATCH_ALL), CS_OK);
	assert_false(fd_readable_within(fd1, 0));
	assert_int_equal(quorum_finalize(h), CS_OK);
}

static void test_dispatch_flags(void **state)
{
	quorum_handle_t h = connect_v0();

	assert_int_equal(quorum_dispatch(h, CS_DISPATCH_ALL), CS_OK);
	assert_int_equal(quorum_dispatch(h, CS_DISPATCH_ONE_NONBLOCKING), CS_ERR_TRY_AGAIN);
	assert_int_equal(quorum_dispatch(h, (cs_dispatch_flags_t)0), CS_ERR_INVALID_PARAM);
	assert_int_equal(quorum_dispatch(h, (cs_dispatch_flags_t)5), CS_ERR_INVALID_PARAM);

	assert_int_equal(quorum_trackstart(h, CS_TRACK_CURRENT), CS_OK);
	assert_int_equal(quorum_trackstart(h, CS_TRACK_CURRENT), CS_OK);
	assert_int_equal(quorum_dispatch(h, CS_DISPATCH_ONE), CS_OK);
	assert_int_equal(seen.calls, 1);
	assert_int_equal(quorum_dispatch(h, CS_DISPATCH_ONE_NONBLOCKING), CS_OK);
	assert_int_equal(seen.calls, 2);
	assert_int_equal(quorum_dispatch(h, CS_DISPATCH_ONE_NONBLOCKING), CS_ERR_TRY_AGAIN);
	assert_int_equal(quorum_finalize(h), CS_OK);
}

static void test_trackstart_current_is_one_shot(void **state)
{
	quorum_handle_t h = connect_v0();

	assert_int_equal(quorum_trackstart(h, CS_TRACK_CURRENT), CS_OK);
	assert_int_equal(quorum_dispatch(h, CS_DISPATCH_ONE), CS_OK);
	assert_string_equal(seen.order, "0");
	assert_int_equal(seen.quorate, 1);
	assert_int_equal(seen.n_members, 1);
	assert_int_equal(seen.members[0], 1);
	assert_int_equal(seen.handle, h);
	/* CURRENT registers no tracker, but a trackstop still ends it, as
	 * corosync-quorumtool expects; a second one has nothing to end. */
	assert_int_equal(quorum_trackstop(h), CS_OK);
	assert_int_equal(quorum_trackstop(h), CS_ERR_NOT_EXIST);
	assert_int_equal(quorum_trackstart(h, 0), CS_OK);
	assert_int_equal(quorum_dispatch(h, CS_DISPATCH_ALL), CS_OK);
	assert_int_equal(seen.calls, 1);
	assert_int_equal(quorum_finalize(h), CS_OK);
}

static void raise_expected_to_quorate(void)
{
	votequorum_handle_t vq;
	votequorum_callbacks_t none = { 0 };

	assert_int_equal(votequorum_initialize(&vq, &none), CS_OK);
	assert_int_equal(votequorum_setexpected(vq, 1), CS_OK);
	assert_int_equal(votequorum_finalize(vq), CS_OK);
}

static void test_trackstart_changes_notifies_on_expected_votes_change(void **state)
{
	quorum_handle_t h = connect_v0();
	int fd;

	assert_int_equal(quorum_trackstart(h, CS_TRACK_CHANGES), CS_OK);
	assert_int_equal(quorum_dispatch(h, CS_DISPATCH_ONE), CS_OK);
	assert_int_equal(seen.quorate, 0);
	assert_int_equal(quorum_trackstart(h, CS_TRACK_CHANGES), CS_ERR_EXIST);
	assert_int_equal(quorum_dispatch(h, CS_DISPATCH_ONE), CS_OK); /* the snapshot is still sent */
	assert_int_equal(seen.calls, 2);

	raise_expected_to_quorate();
	assert_int_equal(quorum_fd_get(h, &fd), CS_OK);
	assert_true(fd_readable_within(fd, 2000));
	assert_int_equal(quorum_dispatch(h, CS_DISPATCH_ONE), CS_OK);
	assert_int_equal(seen.quorate, 1);
	assert_int_equal(quorum_trackstop(h), CS_OK);
	assert_int_equal(quorum_trackstop(h), CS_ERR_NOT_EXIST);
	assert_int_equal(quorum_finalize(h), CS_OK);
}

static void test_trackstart_changes_only_sends_no_snapshot(void **state)
{
	quorum_handle_t h = connect_v0();

	assert_int_equal(quorum_trackstart(h, CS_TRACK_CHANGES_ONLY), CS_OK);
	assert_int_equal(quorum_dispatch(h, CS_DISPATCH_ALL), CS_OK);
	assert_int_equal(seen.calls, 0);
	raise_expected_to_quorate();
	assert_int_equal(quorum_dispatch(h, CS_DISPATCH_ONE), CS_OK);
	assert_int_equal(seen.calls, 1);
	assert_int_equal(seen.quorate, 1);
	assert_int_equal(quorum_finalize(h), CS_OK);
}

static void test_v1_snapshot_is_nodelist_then_quorum(void **state)
{
	quorum_handle_t h = connect_v1();

	assert_int_equal(quorum_trackstart(h, CS_TRACK_CURRENT), CS_OK);
	assert_int_equal(quorum_dispatch(h, CS_DISPATCH_ONE), CS_OK);
	assert_int_equal(quorum_dispatch(h, CS_DISPATCH_ONE), CS_OK);
	assert_string_equal(seen.order, "NQ");
	assert_int_equal(seen.n_joined, 0);
	assert_int_equal(seen.n_left, 0);
	assert_int_equal(seen.n_members, 1);
	assert_int_equal(seen.members[0], 1);
	assert_int_equal(seen.ring_id.nodeid, 1);
	assert_int_equal(seen.quorate, 1);
	assert_int_equal(quorum_finalize(h), CS_OK);
}

static void test_finalize_inside_callback(void **state)
{
	quorum_handle_t h = connect_v0();
	int quorate;

	seen.finalize_in_callback = true;
	assert_int_equal(quorum_trackstart(h, CS_TRACK_CURRENT), CS_OK);
	assert_int_equal(quorum_trackstart(h, CS_TRACK_CURRENT), CS_OK);
	assert_int_equal(quorum_dispatch(h, CS_DISPATCH_ALL), CS_ERR_BAD_HANDLE);
	assert_int_equal(seen.finalize_result, CS_OK);
	assert_int_equal(seen.calls, 1);
	assert_int_equal(quorum_getquorate(h, &quorate), CS_ERR_BAD_HANDLE);
	assert_int_equal(quorum_finalize(h), CS_ERR_BAD_HANDLE);
}

static void test_daemon_death_is_library_error(void **state)
{
	quorum_handle_t h = connect_v0();
	int fd, quorate;

	assert_int_equal(quorum_fd_get(h, &fd), CS_OK);
	test_daemon_kill(&daemon_under_test);
	assert_true(fd_readable_within(fd, 2000));
	assert_int_equal(quorum_dispatch(h, CS_DISPATCH_ALL), CS_ERR_LIBRARY);
	assert_int_equal(quorum_getquorate(h, &quorate), CS_ERR_LIBRARY);
	assert_int_equal(quorum_trackstart(h, CS_TRACK_CHANGES), CS_ERR_LIBRARY);
	assert_int_equal(quorum_finalize(h), CS_OK);
}

/* ---- calls through the rings ------------------------------------------- */

#define RING_THREADS 4
#define RING_CALLS_PER_THREAD 2000

/* A handle whose calls have taken the rings (the second call offers them),
 * as the daemon's log says. */
static quorum_handle_t connect_through_rings(void)
{
	quorum_handle_t h = connect_v0();
	int quorate = 0;

	for (int i = 0; i < 3; i++) {
		assert_int_equal(quorum_getquorate(h, &quorate), CS_OK);
		assert_int_equal(quorate, 1);
	}
	assert_true(test_daemon_log_has(&daemon_under_test, "reads its replies from another", "", 2000));
	return h;
}

struct ring_caller {
	quorum_handle_t h;
	int failures;
	cs_error_t result;
	int64_t returned_ms; /* CLOCK_MONOTONIC, when the call returned */
};

static int64_t monotonic_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static void *calls_back_to_back(void *arg)
{
	struct ring_caller *caller = arg;
	int quorate;

	for (int i = 0; i < RING_CALLS_PER_THREAD; i++) {
		quorate = 0;
		if (quorum_getquorate(caller->h, &quorate) != CS_OK || quorate != 1)
			caller->failures++;
	}
	return NULL;
}

/* Threads calling on one handle each get their own replies through the
 * reply ring; the fd stays unreadable while no event is pending, turns
 * readable for one and unreadable once it is dispatched. */
static void test_calls_from_threads_through_the_rings(void **state)
{
	quorum_handle_t h = connect_through_rings();
	struct ring_caller callers[RING_THREADS];
	pthread_t threads[RING_THREADS];
	int fd;

	assert_int_equal(quorum_fd_get(h, &fd), CS_OK);
	for (int i = 0; i < RING_THREADS; i++) {
		callers[i] = (struct ring_caller){ .h = h };
		assert_int_equal(pthread_create(&threads[i], NULL, calls_back_to_back, &callers[i]), 0);
	}
	for (int i = 0; i < RING_THREADS; i++) {
		assert_int_equal(pthread_join(threads[i], NULL), 0);
		assert_int_equal(callers[i].failures, 0);
	}
	assert_false(fd_readable_within(fd, 100));
	assert_int_equal(quorum_trackstart(h, CS_TRACK_CURRENT), CS_OK);
	assert_true(fd_readable_within(fd, 2000));
	assert_int_equal(quorum_dispatch(h, CS_DISPATCH_ALL), CS_OK);
	assert_false(fd_readable_within(fd, 100));
	assert_int_equal(quorum_finalize(h), CS_OK);
}

static void *one_call(void *arg)
{
	struct ring_caller *caller = arg;
	int quorate;

	caller->result = quorum_getquorate(caller->h, &quorate);
	caller->returned_ms = monotonic_ms();
	return NULL;
}

/* A call asleep on the reply ring wakes when the daemon dies, with
 * CS_ERR_LIBRARY, at once rather than at its timeout (a minute). */
static void test_daemon_death_during_a_call_on_the_rings(void **state)
{
	quorum_handle_t h = connect_through_rings();
	struct ring_caller caller = { .h = h };
	pthread_t thread;
	int64_t killed_ms;
	int quorate;

	assert_int_equal(kill(daemon_under_test.pid, SIGSTOP), 0);
	assert_int_equal(pthread_create(&thread, NULL, one_call, &caller), 0);
	usleep(300 * 1000); /* past any poll: the call sleeps */
	killed_ms = monotonic_ms();
	test_daemon_kill(&daemon_under_test);
	assert_int_equal(pthread_join(thread, NULL), 0);
	assert_int_equal(caller.result, CS_ERR_LIBRARY);
	assert_true(caller.returned_ms - killed_ms < 2000);
	assert_int_equal(quorum_getquorate(h, &quorate), CS_ERR_LIBRARY);
	assert_int_equal(quorum_finalize(h), CS_OK);
}

/* ---- a daemon alive but stopped ---------------------------------------- */

/* In a child with $CONCLAVE_CALL_TIMEOUT_MS set to timeout: connects, says
 * so on `ready`, waits for the daemon to be stopped (`go`), then calls
 * getquorate and reports its result and how long it took on `ready`;
 * then, once told again, calls once more and reports that result. */
static void stopped_daemon_caller(const char *timeout, int go, int ready)
{
	quorum_handle_t h;
	uint32_t type;
	int quorate;
	struct timespec start, end;
	int32_t report[2];
	char byte;

	setenv("CONCLAVE_CALL_TIMEOUT_MS", timeout, 1);
	if (quorum_initialize(&h, &v0_callbacks, &type) != CS_OK || write(ready, "r", 1) != 1 ||
	    read(go, &byte, 1) != 1)
		_exit(2);
	clock_gettime(CLOCK_MONOTONIC, &start);
	report[0] = quorum_getquorate(h, &quorate);
	clock_gettime(CLOCK_MONOTONIC, &end);
	report[1] = (int32_t)((end.tv_sec - start.tv_sec) * 1000 + (end.tv_nsec - start.tv_nsec) / 1000000);
	if (write(ready, report, sizeof(report)) != sizeof(report) || read(go, &byte, 1) != 1)
		_exit(3);
	report[0] = quorum_getquorate(h, &quorate);
	report[1] = quorate;
	_exit(write(ready, report, sizeof(report)) == sizeof(report) ? 0 : 4);
}

static void run_stopped_daemon_caller(const char *timeout, int32_t *first, int32_t *elapsed_ms,
				      int32_t *second, int blocked_check_ms)
{
	int go[2], ready[2], status;
	int32_t report[2];
	char byte;
	pid_t child;

	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(ready), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0)
		stopped_daemon_caller(timeout, go[0], ready[1]);
	assert_int_equal(read(ready[0], &byte, 1), 1);
	assert_int_equal(kill(daemon_under_test.pid, SIGSTOP), 0);
	assert_int_equal(write(go[1], "g", 1), 1);
	if (blocked_check_ms > 0) {
		/* still waiting: nothing to read yet */
		assert_false(fd_readable_within(ready[0], blocked_check_ms));
		assert_int_equal(kill(daemon_under_test.pid, SIGCONT), 0);
	}
	assert_int_equal(read(ready[0], report, sizeof(report)), sizeof(report));
	*first = report[0];
	*elapsed_ms = report[1];
	assert_int_equal(kill(daemon_under_test.pid, SIGCONT), 0);
	assert_int_equal(write(go[1], "g", 1), 1);
	assert_int_equal(read(ready[0], report, sizeof(report)), sizeof(report));
	*second = report[0];
	assert_int_equal(report[1], 1);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(go[0]);
	close(go[1]);
	close(ready[0]);
	close(ready[1]);
}

/* A call to a daemon that is alive but stopped gives up with
 * CS_ERR_TIMEOUT after $CONCLAVE_CALL_TIMEOUT_MS, and the handle carries
 * on once the daemon does: the late reply is dropped. */
static void test_call_to_stopped_daemon_times_out(void **state)
{
	int32_t first, elapsed_ms, second;

	run_stopped_daemon_caller("300", &first, &elapsed_ms, &second, 0);
	print_message("getquorate on a stopped daemon: %d after %d ms\n", first, elapsed_ms);
	assert_int_equal(first, CS_ERR_TIMEOUT);
	assert_true(elapsed_ms >= 300 && elapsed_ms < 5000);
	assert_int_equal(second, CS_OK);
}

/* CONCLAVE_CALL_TIMEOUT_MS=0 waits as long as it takes, as corosync does. */
static void test_call_timeout_0_waits_for_ever(void **state)
{
	int32_t first, elapsed_ms, second;

	run_stopped_daemon_caller("0", &first, &elapsed_ms, &second, 1500);
	assert_int_equal(first, CS_OK);
	assert_true(elapsed_ms >= 1500);
	assert_int_equal(second, CS_OK);
}

#define SINGLE(t) cmocka_unit_test_setup_teardown(t, start_single, stop)
#define THREE(t) cmocka_unit_test_setup_teardown(t, start_three, stop)
#define FREE(t) cmocka_unit_test_setup_teardown(t, start_free, stop)
#define LIMITED(t) cmocka_unit_test_setup_teardown(t, start_limited, stop)
#define PER_UID_LIMITED(t) cmocka_unit_test_setup_teardown(t, start_per_uid_limited, stop)

int main(void)
{
	const struct CMUnitTest tests[] = {
		SINGLE(test_initialize_reports_quorum_type),
		SINGLE(test_initialize_null_handle_is_invalid),
		SINGLE(test_initialize_without_daemon_is_library_error),
		SINGLE(test_initialize_refused_uid_is_access_error),
		LIMITED(test_initialize_past_max_connections_is_try_again),
		PER_UID_LIMITED(test_initialize_past_max_connections_per_uid_is_try_again),
		SINGLE(test_model_initialize_rejects_unknown_model),
		SINGLE(test_model_initialize_sets_context),
		SINGLE(test_getquorate_single_node),
		THREE(test_getquorate_three_node_config_is_inquorate),
		FREE(test_no_provider_is_quorum_free_and_quorate),
		SINGLE(test_bad_handles),
		SINGLE(test_fd_get),
		SINGLE(test_dispatch_flags),
		SINGLE(test_trackstart_current_is_one_shot),
		THREE(test_trackstart_changes_notifies_on_expected_votes_change),
		THREE(test_trackstart_changes_only_sends_no_snapshot),
		SINGLE(test_v1_snapshot_is_nodelist_then_quorum),
		SINGLE(test_finalize_inside_callback),
		SINGLE(test_daemon_death_is_library_error),
		SINGLE(test_calls_from_threads_through_the_rings),
		SINGLE(test_daemon_death_during_a_call_on_the_rings),
		SINGLE(test_call_to_stopped_daemon_times_out),
		SINGLE(test_call_timeout_0_waits_for_ever),
	};

	return cmocka_run_group_tests_name("quorum", tests, NULL, NULL);
}
