/* libvotequorum against a real conclaved: every function of votequorum.h and
 * each of its documented errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <corosync/quorum.h>
#include <corosync/votequorum.h>

#include "harness.h"

static const char NO_PROVIDER_CONFIG[] =
	"totem {\n\tversion: 2\n\tcluster_name: free\n}\n"
	"nodelist {\n\tnode {\n\t\tnodeid: 1\n\t\tring0_addr: 127.0.0.1\n\t}\n}\n";

/* Node 1 here, node 2 away, a quorum device with one vote: expected votes 3,
 * quorum 2, so this node is quorate only while the device casts its vote. */
static const char QDEVICE_CONFIG[] = "totem {\n\tversion: 2\n\tcluster_name: qdev\n}\n"
				     "nodelist {\n"
				     "\tnode {\n\t\tnodeid: 1\n\t\tring0_addr: 127.0.0.1\n\t}\n"
				     "\tnode {\n\t\tnodeid: 2\n\t\tring0_addr: 192.0.2.2\n\t}\n"
				     "}\n"
				     "quorum {\n\tprovider: corosync_votequorum\n"
				     "\tdevice {\n\t\tmodel: net\n\t\tvotes: 1\n\t\ttimeout: 300\n\t}\n}\n";

static const char TWO_NODE_CONFIG[] = "totem {\n\tversion: 2\n\tcluster_name: pair\n}\n"
				      "nodelist {\n"
				      "\tnode {\n\t\tnodeid: 1\n\t\tring0_addr: 127.0.0.1\n\t}\n"
				      "\tnode {\n\t\tnodeid: 2\n\t\tring0_addr: 192.0.2.2\n\t}\n"
				      "}\n"
				      "quorum {\n\tprovider: corosync_votequorum\n\ttwo_node: 1\n}\n";

static struct test_daemon daemon_under_test;

static struct {
	char order[16];
	int calls;
	uint64_t context;
	uint32_t quorate;
	uint32_t expected_votes;
	votequorum_ring_id_t ring_id;
	votequorum_node_t nodes[8];
	uint32_t n_nodes;
	uint32_t nodelist[8];
	uint32_t n_nodelist;
	bool finalize_in_callback;
	cs_error_t finalize_result;
} seen;

static void note(char what, uint64_t context)
{
	size_t len = strlen(seen.order);

	if (len + 1 < sizeof(seen.order))
		seen.order[len] = what;
	seen.calls++;
	seen.context = context;
}

static void quorum_notify(votequorum_handle_t handle, uint64_t context, uint32_t quorate,
			  uint32_t node_list_entries, votequorum_node_t node_list[])
{
	note('Q', context);
	seen.quorate = quorate;
	seen.n_nodes = node_list_entries;
	for (uint32_t i = 0; i < node_list_entries && i < 8; i++)
		seen.nodes[i] = node_list[i];
	if (seen.finalize_in_callback)
		seen.finalize_result = votequorum_finalize(handle);
}

static void nodelist_notify(votequorum_handle_t handle, uint64_t context, votequorum_ring_id_t ring_id,
			    uint32_t node_list_entries, uint32_t node_list[])
{
	note('N', context);
	seen.ring_id = ring_id;
	seen.n_nodelist = node_list_entries;
	for (uint32_t i = 0; i < node_list_entries && i < 8; i++)
		seen.nodelist[i] = node_list[i];
}

static void expectedvotes_notify(votequorum_handle_t handle, uint64_t context, uint32_t expected_votes)
{
	note('E', context);
	seen.expected_votes = expected_votes;
}

static votequorum_callbacks_t callbacks = {
	.votequorum_quorum_notify_fn = quorum_notify,
	.votequorum_expectedvotes_notify_fn = expectedvotes_notify,
	.votequorum_nodelist_notify_fn = nodelist_notify,
};

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
	return start_with(INQUORATE_THREE_NODE_CONFIG);
}
static int start_free(void **state)
{
	return start_with(NO_PROVIDER_CONFIG);
}
static int start_qdevice(void **state)
{
	return start_with(QDEVICE_CONFIG);
}
static int start_two_node(void **state)
{
	return start_with(TWO_NODE_CONFIG);
}

static int stop(void **state)
{
	return test_daemon_stop(&daemon_under_test);
}

static votequorum_handle_t connect(void)
{
	votequorum_handle_t h;

	assert_int_equal(votequorum_initialize(&h, &callbacks), CS_OK);
	return h;
}

static const struct votequorum_info *info_of(votequorum_handle_t h, unsigned int nodeid)
{
	static struct votequorum_info info;

	memset(&info, 0xa5, sizeof(info));
	assert_int_equal(votequorum_getinfo(h, nodeid, &info), CS_OK);
	return &info;
}

static void test_initialize_without_callbacks(void **state)
{
	votequorum_handle_t h;

	assert_int_equal(votequorum_initialize(&h, NULL), CS_OK);
	assert_int_equal(votequorum_finalize(h), CS_OK);
	assert_int_equal(votequorum_finalize(h), CS_ERR_BAD_HANDLE);
	assert_int_equal(votequorum_initialize(NULL, &callbacks), CS_ERR_INVALID_PARAM);
}

static void test_initialize_without_provider_is_not_supported(void **state)
{
	votequorum_handle_t h;

	assert_int_equal(votequorum_initialize(&h, &callbacks), CS_ERR_NOT_SUPPORTED);
}

static void test_getinfo_single_node(void **state)
{
	votequorum_handle_t h = connect();
	const struct votequorum_info *info = info_of(h, 0);

	assert_int_equal(info->node_id, 1);
	assert_int_equal(info->node_state, VOTEQUORUM_NODESTATE_MEMBER);
	assert_int_equal(info->node_votes, 1);
	assert_int_equal(info->node_expected_votes, 1);
	assert_int_equal(info->highest_expected, 1);
	assert_int_equal(info->total_votes, 1);
	assert_int_equal(info->quorum, 1);
	assert_int_equal(info->flags, VOTEQUORUM_INFO_QUORATE);
	assert_int_equal(info->qdevice_votes, 0);
	assert_string_equal(info->qdevice_name, "");
	assert_int_equal(info_of(h, 1)->node_id, 1);
	assert_int_equal(votequorum_finalize(h), CS_OK);
}

static void test_getinfo_errors(void **state)
{
	votequorum_handle_t h = connect();
	struct votequorum_info info;

	assert_int_equal(votequorum_getinfo(h, 42, &info), CS_ERR_NOT_EXIST);
	assert_int_equal(votequorum_getinfo(h, 0, NULL), CS_ERR_INVALID_PARAM);
	assert_int_equal(votequorum_finalize(h), CS_OK);
	assert_int_equal(votequorum_getinfo(h, 0, &info), CS_ERR_BAD_HANDLE);
}

static void test_getinfo_three_nodes_is_inquorate(void **state)
{
	votequorum_handle_t h = connect();
	const struct votequorum_info *info = info_of(h, 0);

	assert_int_equal(info->node_expected_votes, 4);
	assert_int_equal(info->total_votes, 1);
	assert_int_equal(info->quorum, 3);
	assert_int_equal(info->flags & VOTEQUORUM_INFO_QUORATE, 0);

	info = info_of(h, 2);
	assert_int_equal(info->node_id, 2);
	assert_int_equal(info->node_state, VOTEQUORUM_NODESTATE_DEAD);
	assert_int_equal(info->node_votes, 2);
	assert_int_equal(votequorum_finalize(h), CS_OK);
}

static void test_trackstart_snapshot_carries_context(void **state)
{
	votequorum_handle_t h = connect();

	assert_int_equal(votequorum_trackstart(h, 0xfeedULL, CS_TRACK_CURRENT), CS_OK);
	assert_int_equal(votequorum_dispatch(h, CS_DISPATCH_ALL), CS_OK);
	assert_string_equal(seen.order, "NQ");
	assert_int_equal(seen.context, 0xfeedULL);
	assert_int_equal(seen.ring_id.nodeid, 1);
	assert_int_equal(seen.n_nodelist, 1);
	assert_int_equal(seen.nodelist[0], 1);
	assert_int_equal(seen.quorate, 1);
	assert_int_equal(seen.n_nodes, 1);
	assert_int_equal(seen.nodes[0].nodeid, 1);
	assert_int_equal(seen.nodes[0].state, VOTEQUORUM_NODESTATE_MEMBER);
	assert_int_equal(votequorum_trackstop(h), CS_ERR_NOT_EXIST);
	assert_int_equal(votequorum_finalize(h), CS_OK);
}

static void test_trackstart_twice_is_exist_with_snapshot(void **state)
{
	votequorum_handle_t h = connect();

	assert_int_equal(votequorum_trackstart(h, 1, CS_TRACK_CHANGES), CS_OK);
	assert_int_equal(votequorum_trackstart(h, 2, CS_TRACK_CHANGES), CS_ERR_EXIST);
	assert_int_equal(votequorum_dispatch(h, CS_DISPATCH_ALL), CS_OK);
	assert_string_equal(seen.order, "NQNQ");
	assert_int_equal(seen.context, 2);
	assert_int_equal(votequorum_trackstop(h), CS_OK);
	assert_int_equal(votequorum_trackstop(h), CS_ERR_NOT_EXIST);
	assert_int_equal(votequorum_finalize(h), CS_OK);
}

static void test_setexpected_validation(void **state)
{
	votequorum_handle_t h = connect();

	assert_int_equal(votequorum_setexpected(h, 0), CS_ERR_INVALID_PARAM);
	assert_int_equal(votequorum_setexpected(h, 3), CS_ERR_INVALID_PARAM);
	assert_int_equal(info_of(h, 0)->node_expected_votes, 1);
	assert_int_equal(votequorum_finalize(h), CS_OK);
}

static void test_setexpected_notifies_votequorum_and_quorum_trackers(void **state)
{
	votequorum_handle_t h = connect();
	quorum_handle_t q;
	int quorate = -1;
	int fd;

	assert_int_equal(votequorum_trackstart(h, 7, CS_TRACK_CHANGES_ONLY), CS_OK);
	assert_int_equal(votequorum_setexpected(h, 1), CS_OK);
	assert_int_equal(votequorum_fd_get(h, &fd), CS_OK);
	assert_true(fd_readable_within(fd, 2000));
	assert_int_equal(votequorum_dispatch(h, CS_DISPATCH_ALL), CS_OK);
	assert_non_null(strchr(seen.order, 'E'));
	assert_non_null(strchr(seen.order, 'Q'));
	assert_int_equal(seen.expected_votes, 1);
	assert_int_equal(seen.quorate, 1);
	assert_int_equal(seen.context, 7);
	assert_int_equal(info_of(h, 0)->quorum, 1);

	assert_int_equal(quorum_initialize(&q, NULL, NULL), CS_OK);
	assert_int_equal(quorum_getquorate(q, &quorate), CS_OK);
	assert_int_equal(quorate, 1);
	assert_int_equal(quorum_finalize(q), CS_OK);
	assert_int_equal(votequorum_finalize(h), CS_OK);
}

static void test_setvotes(void **state)
{
	votequorum_handle_t h = connect();

	assert_int_equal(votequorum_setvotes(h, 42, 1), CS_ERR_NAME_NOT_FOUND);
	assert_int_equal(votequorum_setvotes(h, 1, 0), CS_ERR_INVALID_PARAM);
	assert_int_equal(votequorum_trackstart(h, 9, CS_TRACK_CHANGES_ONLY), CS_OK);
	assert_int_equal(votequorum_setvotes(h, 1, 3), CS_OK);
	assert_int_equal(info_of(h, 0)->node_votes, 3);
	assert_int_equal(info_of(h, 0)->total_votes, 3);
	assert_int_equal(votequorum_dispatch(h, CS_DISPATCH_ALL), CS_OK);
	assert_non_null(strchr(seen.order, 'Q'));
	assert_int_equal(seen.quorate, 1);
	assert_int_equal(votequorum_finalize(h), CS_OK);
}

static void test_context(void **state)
{
	votequorum_handle_t h = connect();
	void *context = &context;
	int marker;

	assert_int_equal(votequorum_context_get(h, &context), CS_OK);
	assert_null(context);
	assert_int_equal(votequorum_context_set(h, &marker), CS_OK);
	assert_int_equal(votequorum_context_get(h, &context), CS_OK);
	assert_ptr_equal(context, &marker);
	assert_int_equal(votequorum_context_get(h, NULL), CS_ERR_INVALID_PARAM);
	assert_int_equal(votequorum_finalize(h), CS_OK);
	assert_int_equal(votequorum_context_set(h, &marker), CS_ERR_BAD_HANDLE);
}

static void test_dispatch_flags_and_fd(void **state)
{
	votequorum_handle_t h = connect();
	int fd = -1;

	assert_int_equal(votequorum_fd_get(h, NULL), CS_ERR_INVALID_PARAM);
	assert_int_equal(votequorum_fd_get(h, &fd), CS_OK);
	assert_false(fd_readable_within(fd, 0));
	assert_int_equal(votequorum_dispatch(h, CS_DISPATCH_ALL), CS_OK);
	assert_int_equal(votequorum_dispatch(h, CS_DISPATCH_ONE_NONBLOCKING), CS_ERR_TRY_AGAIN);
	assert_int_equal(votequorum_dispatch(h, (cs_dispatch_flags_t)7), CS_ERR_INVALID_PARAM);
	assert_int_equal(votequorum_trackstart(h, 0, CS_TRACK_CURRENT), CS_OK);
	assert_true(fd_readable_within(fd, 2000));
	assert_int_equal(votequorum_dispatch(h, CS_DISPATCH_ONE), CS_OK);
	assert_int_equal(seen.calls, 1);
	assert_true(fd_readable_within(fd, 2000));
	assert_int_equal(votequorum_dispatch(h, CS_DISPATCH_ONE_NONBLOCKING), CS_OK);
	assert_int_equal(seen.calls, 2);
	assert_false(fd_readable_within(fd, 0));
	assert_int_equal(votequorum_finalize(h), CS_OK);
}

static void test_finalize_inside_callback(void **state)
{
	votequorum_handle_t h = connect();

	seen.finalize_in_callback = true;
	assert_int_equal(votequorum_trackstart(h, 0, CS_TRACK_CURRENT), CS_OK);
	assert_int_equal(votequorum_trackstart(h, 0, CS_TRACK_CURRENT), CS_OK);
	assert_int_equal(votequorum_dispatch(h, CS_DISPATCH_BLOCKING), CS_ERR_BAD_HANDLE);
	assert_int_equal(seen.finalize_result, CS_OK);
	assert_string_equal(seen.order, "NQ");
	assert_int_equal(votequorum_finalize(h), CS_ERR_BAD_HANDLE);
}

struct blocked_dispatch {
	votequorum_handle_t handle;
	cs_error_t result;
	volatile bool done;
};

static void *dispatch_blocking(void *arg)
{
	struct blocked_dispatch *b = arg;

	b->result = votequorum_dispatch(b->handle, CS_DISPATCH_BLOCKING);
	b->done = true;
	return NULL;
}

static void test_calls_while_another_thread_blocks_in_dispatch(void **state)
{
	struct blocked_dispatch b = { .handle = connect() };
	pthread_t thread;

	assert_int_equal(pthread_create(&thread, NULL, dispatch_blocking, &b), 0);
	for (int i = 0; i < 100; i++)
		assert_int_equal(info_of(b.handle, 0)->node_id, 1);
	assert_int_equal(votequorum_trackstart(b.handle, 5, CS_TRACK_CHANGES), CS_OK);
	assert_int_equal(votequorum_finalize(b.handle), CS_OK);
	assert_int_equal(pthread_join(thread, NULL), 0);
	assert_true(b.done);
	assert_int_equal(b.result, CS_ERR_BAD_HANDLE);
}

static void test_daemon_death_is_library_error(void **state)
{
	votequorum_handle_t h = connect();
	struct votequorum_info info;
	int fd;

	assert_int_equal(votequorum_fd_get(h, &fd), CS_OK);
	test_daemon_kill(&daemon_under_test);
	assert_true(fd_readable_within(fd, 2000));
	assert_int_equal(votequorum_dispatch(h, CS_DISPATCH_BLOCKING), CS_ERR_LIBRARY);
	assert_int_equal(votequorum_getinfo(h, 0, &info), CS_ERR_LIBRARY);
	assert_int_equal(votequorum_setexpected(h, 1), CS_ERR_LIBRARY);
	assert_int_equal(votequorum_finalize(h), CS_OK);
}

static votequorum_ring_id_t current_ring_id(votequorum_handle_t h)
{
	seen.order[0] = '\0';
	assert_int_equal(votequorum_trackstart(h, 0, CS_TRACK_CURRENT), CS_OK);
	assert_int_equal(votequorum_dispatch(h, CS_DISPATCH_ALL), CS_OK);
	assert_non_null(strchr(seen.order, 'N'));
	return seen.ring_id;
}

static void test_qdevice_register_validates_name(void **state)
{
	votequorum_handle_t h = connect();
	char name[256];

	assert_int_equal(votequorum_qdevice_register(h, NULL), CS_ERR_INVALID_PARAM);
	assert_int_equal(votequorum_qdevice_register(h, ""), CS_ERR_INVALID_PARAM);
	memset(name, 'q', 255);
	name[255] = '\0';
	assert_int_equal(votequorum_qdevice_register(h, name), CS_ERR_INVALID_PARAM);
	name[254] = '\0';
	assert_int_equal(votequorum_qdevice_register(h, name), CS_OK);
	assert_string_equal(info_of(h, 0)->qdevice_name, name);
	assert_int_equal(votequorum_qdevice_unregister(h, name), CS_OK);
	assert_int_equal(votequorum_finalize(h), CS_OK);
}

static void test_qdevice_life_cycle(void **state)
{
	votequorum_handle_t h = connect();
	votequorum_ring_id_t ring = current_ring_id(h);
	votequorum_ring_id_t stale = { .nodeid = ring.nodeid, .seq = ring.seq + 1 };
	const struct votequorum_info *info;

	assert_int_equal(votequorum_qdevice_register(h, "dev"), CS_OK);
	assert_int_equal(votequorum_qdevice_register(h, "dev"), CS_OK);
	assert_int_equal(votequorum_qdevice_register(h, "other"), CS_ERR_EXIST);
	info = info_of(h, 0);
	assert_true(info->flags & VOTEQUORUM_INFO_QDEVICE_REGISTERED);
	assert_false(info->flags & VOTEQUORUM_INFO_QDEVICE_ALIVE);
	assert_false(info->flags & VOTEQUORUM_INFO_QUORATE);
	assert_string_equal(info->qdevice_name, "dev");

	assert_int_equal(votequorum_qdevice_poll(h, "dev", 1, stale), CS_ERR_MESSAGE_ERROR);
	assert_int_equal(votequorum_qdevice_poll(h, "other", 1, ring), CS_ERR_INVALID_PARAM);
	assert_int_equal(votequorum_qdevice_poll(h, "dev", 1, ring), CS_OK);
	info = info_of(h, 0);
	assert_true(info->flags & VOTEQUORUM_INFO_QDEVICE_ALIVE);
	assert_true(info->flags & VOTEQUORUM_INFO_QDEVICE_CAST_VOTE);
	assert_true(info->flags & VOTEQUORUM_INFO_QUORATE);
	assert_int_equal(info->total_votes, 2);
	assert_int_equal(info->qdevice_votes, 1);

	assert_int_equal(votequorum_qdevice_master_wins(h, "other", 1), CS_ERR_INVALID_PARAM);
	assert_int_equal(votequorum_qdevice_master_wins(h, "dev", 1), CS_OK);
	assert_true(info_of(h, 0)->flags & VOTEQUORUM_INFO_QDEVICE_MASTER_WINS);
	assert_int_equal(votequorum_qdevice_master_wins(h, "dev", 0), CS_OK);
	assert_false(info_of(h, 0)->flags & VOTEQUORUM_INFO_QDEVICE_MASTER_WINS);

	assert_int_equal(votequorum_qdevice_update(h, "other", "dev2"), CS_ERR_INVALID_PARAM);
	assert_int_equal(votequorum_qdevice_update(h, "dev", "dev2"), CS_OK);
	assert_string_equal(info_of(h, 0)->qdevice_name, "dev2");
	assert_int_equal(votequorum_qdevice_unregister(h, "dev"), CS_ERR_INVALID_PARAM);
	assert_int_equal(votequorum_qdevice_unregister(h, "dev2"), CS_OK);
	assert_false(info_of(h, 0)->flags & VOTEQUORUM_INFO_QDEVICE_REGISTERED);
	assert_false(info_of(h, 0)->flags & VOTEQUORUM_INFO_QUORATE);
	assert_int_equal(votequorum_finalize(h), CS_OK);
}

static void test_qdevice_calls_when_not_registered(void **state)
{
	votequorum_handle_t h = connect();
	votequorum_ring_id_t ring = current_ring_id(h);

	assert_int_equal(votequorum_qdevice_unregister(h, "dev"), CS_ERR_NOT_EXIST);
	assert_int_equal(votequorum_qdevice_update(h, "dev", "dev2"), CS_ERR_NOT_EXIST);
	assert_int_equal(votequorum_qdevice_poll(h, "dev", 1, ring), CS_ERR_NOT_EXIST);
	assert_int_equal(votequorum_qdevice_master_wins(h, "dev", 1), CS_ERR_NOT_EXIST);
	assert_int_equal(votequorum_finalize(h), CS_OK);
}

static void test_qdevice_missed_poll_drops_its_vote(void **state)
{
	votequorum_handle_t h = connect();
	votequorum_ring_id_t ring = current_ring_id(h);
	int fd;

	assert_int_equal(votequorum_qdevice_register(h, "dev"), CS_OK);
	assert_int_equal(votequorum_qdevice_poll(h, "dev", 1, ring), CS_OK);
	assert_true(info_of(h, 0)->flags & VOTEQUORUM_INFO_QUORATE);
	assert_int_equal(votequorum_trackstart(h, 3, CS_TRACK_CHANGES_ONLY), CS_OK);
	seen.order[0] = '\0';
	/* The configured poll timeout is 300 ms; nothing polls any more. */
	assert_int_equal(votequorum_fd_get(h, &fd), CS_OK);
	assert_true(fd_readable_within(fd, 5000));
	assert_int_equal(votequorum_dispatch(h, CS_DISPATCH_ALL), CS_OK);
	assert_non_null(strchr(seen.order, 'Q'));
	assert_int_equal(seen.quorate, 0);
	assert_int_equal(seen.context, 3);
	assert_false(info_of(h, 0)->flags & VOTEQUORUM_INFO_QDEVICE_ALIVE);
	assert_int_equal(info_of(h, 0)->total_votes, 1);
	assert_int_equal(votequorum_finalize(h), CS_OK);
}

/* The device is the node's, as in corosync: it stays registered when the
 * connection that registered it closes, loses its vote at the poll it then
 * misses, and another connection may register it again under its name and
 * unregister it. */
static void test_qdevice_outlives_its_connection(void **state)
{
	votequorum_handle_t owner = connect(), observer = connect();
	votequorum_ring_id_t ring = current_ring_id(owner);
	int fd;

	assert_int_equal(votequorum_trackstart(observer, 4, CS_TRACK_CHANGES_ONLY), CS_OK);
	assert_int_equal(votequorum_qdevice_register(owner, "dev"), CS_OK);
	assert_int_equal(votequorum_qdevice_poll(owner, "dev", 1, ring), CS_OK);
	assert_int_equal(votequorum_finalize(owner), CS_OK);
	/* quorate with the device's vote, then not once its poll is missed */
	seen.quorate = 1;
	assert_int_equal(votequorum_fd_get(observer, &fd), CS_OK);
	while (seen.quorate != 0 && fd_readable_within(fd, 5000))
		assert_int_equal(votequorum_dispatch(observer, CS_DISPATCH_ALL), CS_OK);
	assert_int_equal(seen.quorate, 0);
	assert_int_equal(seen.context, 4);
	assert_int_equal(info_of(observer, 0)->flags, VOTEQUORUM_INFO_QDEVICE_REGISTERED);
	assert_string_equal(info_of(observer, 0)->qdevice_name, "dev");
	assert_true(
		test_daemon_log_contains(&daemon_under_test, "lost contact with quorum device dev", 1000));

	assert_int_equal(votequorum_qdevice_register(observer, "other"), CS_ERR_EXIST);
	assert_int_equal(votequorum_qdevice_register(observer, "dev"), CS_OK);
	assert_int_equal(votequorum_qdevice_unregister(observer, "dev"), CS_OK);
	assert_int_equal(info_of(observer, 0)->flags, 0);
	assert_int_equal(votequorum_finalize(observer), CS_OK);
}

static void test_qdevice_refused_with_two_node(void **state)
{
	votequorum_handle_t h = connect();

	assert_true(info_of(h, 0)->flags & VOTEQUORUM_INFO_TWONODE);
	assert_int_equal(votequorum_qdevice_register(h, "dev"), CS_ERR_ACCESS);
	assert_int_equal(votequorum_finalize(h), CS_OK);
}

#define SINGLE(t) cmocka_unit_test_setup_teardown(t, start_single, stop)
#define THREE(t) cmocka_unit_test_setup_teardown(t, start_three, stop)
#define FREE(t) cmocka_unit_test_setup_teardown(t, start_free, stop)
#define QDEVICE(t) cmocka_unit_test_setup_teardown(t, start_qdevice, stop)
#define TWO_NODE(t) cmocka_unit_test_setup_teardown(t, start_two_node, stop)

int main(void)
{
	const struct CMUnitTest tests[] = {
		SINGLE(test_initialize_without_callbacks),
		FREE(test_initialize_without_provider_is_not_supported),
		SINGLE(test_getinfo_single_node),
		SINGLE(test_getinfo_errors),
		THREE(test_getinfo_three_nodes_is_inquorate),
		SINGLE(test_trackstart_snapshot_carries_context),
		SINGLE(test_trackstart_twice_is_exist_with_snapshot),
		SINGLE(test_setexpected_validation),
		THREE(test_setexpected_notifies_votequorum_and_quorum_trackers),
		THREE(test_setvotes),
		SINGLE(test_context),
		SINGLE(test_dispatch_flags_and_fd),
		SINGLE(test_finalize_inside_callback),
		SINGLE(test_calls_while_another_thread_blocks_in_dispatch),
		SINGLE(test_daemon_death_is_library_error),
		QDEVICE(test_qdevice_register_validates_name),
		QDEVICE(test_qdevice_life_cycle),
		QDEVICE(test_qdevice_calls_when_not_registered),
		QDEVICE(test_qdevice_missed_poll_drops_its_vote),
		QDEVICE(test_qdevice_outlives_its_connection),
		TWO_NODE(test_qdevice_refused_with_two_node),
	};

	return cmocka_run_group_tests_name("votequorum", tests, NULL, NULL);
}
