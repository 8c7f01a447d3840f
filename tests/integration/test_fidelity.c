/* What corosync 3.1.7 shows a program where it is easy to differ: the values
 * cmap's trackers are given, when quorum and votequorum notify and in which
 * order, and what a call's effect looks like right after it returns. The
 * differential harness (tests/diff) compares these with corosync itself;
 * these tests hold conclaved to them where no corosync is installed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <corosync/cmap.h>
#include <corosync/cpg.h>
#include <corosync/quorum.h>
#include <corosync/votequorum.h>

#include "harness.h"

/* Three nodes of which this one runs, and a quorum device with two votes:
 * quorate while the device casts them. */
static const char THREE_NODES_AND_DEVICE[] =
	"totem {\n\tversion: 2\n\tcluster_name: fidelity\n}\n"
	"nodelist {\n"
	"\tnode {\n\t\tnodeid: 1\n\t\tring0_addr: 127.0.0.1\n\t}\n"
	"\tnode {\n\t\tnodeid: 2\n\t\tring0_addr: 192.0.2.2\n\t}\n"
	"\tnode {\n\t\tnodeid: 3\n\t\tring0_addr: 192.0.2.3\n\t}\n"
	"}\n"
	"quorum {\n\tprovider: corosync_votequorum\n\tdevice {\n\t\tmodel: net\n\t}\n}\n";

static struct test_daemon daemon_under_test;

/* Each callback adds a letter: q quorum (either service), e expected votes,
 * n node list. */
static struct {
	char order[32];
	uint32_t quorate;
	uint32_t expected_votes;
	votequorum_ring_id_t ring_id;
	votequorum_node_t nodes[8];
	uint32_t n_nodes;
} seen;

static void note(char what)
{
	size_t len = strlen(seen.order);

	if (len + 1 < sizeof(seen.order))
		seen.order[len] = what;
}

static void forget(void)
{
	memset(&seen, 0, sizeof(seen));
}

static int start_single(void **state)
{
	forget();
	return test_daemon_start(&daemon_under_test, SINGLE_NODE_CONFIG);
}

static int start_single_without_rings(void **state)
{
	char config[1024];

	forget();
	snprintf(config, sizeof(config), "%sconclave {\n\tmax_ring_size: 0\n}\n", SINGLE_NODE_CONFIG);
	return test_daemon_start(&daemon_under_test, config);
}

static int start_three(void **state)
{
	forget();
	return test_daemon_start(&daemon_under_test, THREE_NODES_AND_DEVICE);
}

static int stop(void **state)
{
	return test_daemon_stop(&daemon_under_test);
}

/* ---- callbacks ------------------------------------------------------------ */

static void vq_quorum(votequorum_handle_t handle, uint64_t context, uint32_t quorate, uint32_t n_nodes,
		      votequorum_node_t nodes[])
{
	note('q');
	seen.quorate = quorate;
	seen.n_nodes = n_nodes < 8 ? n_nodes : 8;
	memcpy(seen.nodes, nodes, seen.n_nodes * sizeof(nodes[0]));
}

static void vq_expected(votequorum_handle_t handle, uint64_t context, uint32_t expected_votes)
{
	note('e');
	seen.expected_votes = expected_votes;
}

static void vq_nodelist(votequorum_handle_t handle, uint64_t context, votequorum_ring_id_t ring_id,
			uint32_t n_nodes, uint32_t nodes[])
{
	note('n');
	seen.ring_id = ring_id;
}

static void quorum_v0(quorum_handle_t handle, uint32_t quorate, uint64_t ring_seq, uint32_t n_view,
		      uint32_t *view)
{
	note('q');
	seen.quorate = quorate;
}

/* ---- helpers -------------------------------------------------------------- */

static votequorum_handle_t vq_tracker(void)
{
	votequorum_callbacks_t callbacks = { vq_quorum, vq_expected, vq_nodelist };
	votequorum_handle_t h;

	assert_int_equal(votequorum_initialize(&h, &callbacks), CS_OK);
	assert_int_equal(votequorum_trackstart(h, 1, CS_TRACK_CHANGES), CS_OK);
	return h;
}

static quorum_handle_t quorum_tracker(void)
{
	quorum_callbacks_t callbacks = { quorum_v0 };
	quorum_handle_t h;
	uint32_t type;

	assert_int_equal(quorum_initialize(&h, &callbacks, &type), CS_OK);
	assert_int_equal(quorum_trackstart(h, CS_TRACK_CHANGES_ONLY), CS_OK);
	return h;
}

/* Dispatches what comes within 300 ms. */
static void settle_vq(votequorum_handle_t h)
{
	int fd;

	assert_int_equal(votequorum_fd_get(h, &fd), CS_OK);
	while (fd_readable_within(fd, 300))
		assert_int_equal(votequorum_dispatch(h, CS_DISPATCH_ALL), CS_OK);
}

static void settle_quorum(quorum_handle_t h)
{
	int fd;

	assert_int_equal(quorum_fd_get(h, &fd), CS_OK);
	while (fd_readable_within(fd, 300))
		assert_int_equal(quorum_dispatch(h, CS_DISPATCH_ALL), CS_OK);
}

static uint8_t get_u8(cmap_handle_t cmap, const char *key, cs_error_t *err)
{
	uint8_t value = 99;

	*err = cmap_get_uint8(cmap, key, &value);
	return value;
}

/* ---- cmap's stats map ------------------------------------------------------ */

static void note_procname(cmap_handle_t handle, cmap_track_handle_t track, int32_t event, const char *key,
			  struct cmap_notify_value new_value, struct cmap_notify_value old_value,
			  void *user_data)
{
	char *name = user_data;
	size_t len = strlen(key), suffix = strlen(".procname");

	if (event != CMAP_TRACK_DELETE || len < suffix || strcmp(key + len - suffix, ".procname") != 0)
		return;
	assert_non_null(new_value.data);
	assert_non_null(old_value.data);
	assert_int_equal(new_value.len, old_value.len);
	snprintf(name, 32, "%.*s", (int)new_value.len, (const char *)new_value.data);
	assert_string_equal((const char *)old_value.data, name);
}

static void connect_and_wait(const char *arg, int commands, int reports)
{
	quorum_handle_t h;
	char byte = 'r';

	if (quorum_initialize(&h, NULL, NULL) != CS_OK)
		byte = 'x';
	if (write(reports, &byte, 1) != 1 || read(commands, &byte, 1) < 0)
		_exit(1);
	_exit(0); /* the connection goes with the process */
}

/* A process that has gone before conclaved notices its connection close
 * still has its name in the DELETE of its keys, in the new value and the
 * old, as in corosync, which reads the name when the process connects. */
static void test_stats_delete_names_a_departed_process(void **state)
{
	char departed[32] = "";
	struct test_child child;
	cmap_track_handle_t track;
	cmap_handle_t stats;
	int fd, status;

	assert_int_equal(cmap_initialize_map(&stats, CMAP_MAP_STATS), CS_OK);
	assert_int_equal(cmap_track_add(stats, "stats.ipcs.service3.",
					CMAP_TRACK_ADD | CMAP_TRACK_DELETE | CMAP_TRACK_PREFIX, note_procname,
					departed, &track),
			 CS_OK);
	assert_int_equal(test_child_start(&child, connect_and_wait, NULL, 'r'), 0);
	assert_int_equal(kill(daemon_under_test.pid, SIGSTOP), 0);
	assert_int_equal(write(child.to_child, "x", 1), 1);
	assert_int_equal(waitpid(child.pid, &status, 0), child.pid); /* gone from /proc */
	assert_int_equal(kill(daemon_under_test.pid, SIGCONT), 0);
	assert_int_equal(cmap_fd_get(stats, &fd), CS_OK);
	while (departed[0] == '\0' && fd_readable_within(fd, 3000))
		assert_int_equal(cmap_dispatch(stats, CS_DISPATCH_ALL), CS_OK);
	assert_string_equal(departed, "test_fidelity");
	close(child.to_child);
	close(child.from_child);
	assert_int_equal(cmap_finalize(stats), CS_OK);
}

/* ---- quorum and votequorum notifications ---------------------------------- */

/* More votes raise expected votes, and trackers hear of that alone: quorate
 * does not change, so neither service sends a quorum notification. */
static void test_votes_without_a_quorum_change(void **state)
{
	votequorum_handle_t vq = vq_tracker();
	quorum_handle_t q = quorum_tracker();

	settle_vq(vq);
	forget();
	assert_int_equal(votequorum_setvotes(vq, 1, 3), CS_OK);
	settle_vq(vq);
	settle_quorum(q);
	assert_string_equal(seen.order, "e");
	assert_int_equal(seen.expected_votes, 3);
	assert_int_equal(votequorum_finalize(vq), CS_OK);
	assert_int_equal(quorum_finalize(q), CS_OK);
}

/* quorum.expected_votes in cmap: corosync's node message recalculates first
 * (quorum lost: q), then its reconfigure message sets expected votes (e);
 * lowering them again notifies expected votes before the quorum they give. */
static void test_expected_votes_and_quorum_in_corosync_order(void **state)
{
	votequorum_handle_t vq = vq_tracker();
	cmap_handle_t cmap;

	assert_int_equal(cmap_initialize(&cmap), CS_OK);
	settle_vq(vq);
	forget();
	assert_int_equal(cmap_set_uint32(cmap, "quorum.expected_votes", 3), CS_OK);
	settle_vq(vq);
	assert_string_equal(seen.order, "qe");
	assert_int_equal(seen.quorate, 0);
	forget();
	assert_int_equal(cmap_set_uint32(cmap, "quorum.expected_votes", 1), CS_OK);
	settle_vq(vq);
	assert_string_equal(seen.order, "eq");
	assert_int_equal(seen.quorate, 1);
	/* a deleted key is read as still there, as corosync's tracker reads it */
	assert_int_equal(cmap_set_uint32(cmap, "quorum.expected_votes", 3), CS_OK);
	settle_vq(vq);
	forget();
	assert_int_equal(cmap_delete(cmap, "quorum.expected_votes"), CS_OK);
	settle_vq(vq);
	assert_string_equal(seen.order, "");
	assert_int_equal(cmap_set_uint8(cmap, "quorum.unrelated", 1), CS_OK);
	settle_vq(vq);
	assert_string_equal(seen.order, "eq");
	assert_int_equal(cmap_delete(cmap, "quorum.unrelated"), CS_OK);
	assert_int_equal(cmap_finalize(cmap), CS_OK);
	assert_int_equal(votequorum_finalize(vq), CS_OK);
}

/* Without a configured device, votes given to it last until quorum.* next
 * changes, which sets them back to none, as corosync does. */
static void test_unconfigured_device_votes_reset(void **state)
{
	struct votequorum_info info;
	votequorum_handle_t vq = vq_tracker();
	cmap_handle_t cmap;

	assert_int_equal(cmap_initialize(&cmap), CS_OK);
	assert_int_equal(votequorum_setvotes(vq, VOTEQUORUM_QDEVICE_NODEID, 1), CS_OK);
	assert_int_equal(votequorum_getinfo(vq, VOTEQUORUM_QDEVICE_NODEID, &info), CS_OK);
	assert_int_equal(info.qdevice_votes, 1);
	assert_int_equal(info.node_expected_votes, 2);
	assert_int_equal(cmap_set_uint8(cmap, "quorum.unrelated", 1), CS_OK);
	assert_int_equal(votequorum_getinfo(vq, VOTEQUORUM_QDEVICE_NODEID, &info), CS_OK);
	assert_int_equal(info.qdevice_votes, 0);
	assert_int_equal(info.node_expected_votes, 1);
	assert_int_equal(cmap_finalize(cmap), CS_OK);
	assert_int_equal(votequorum_finalize(vq), CS_OK);
}

/* The device's life as a tracker and cmap see it: registering and polling
 * notify nobody until quorate turns over; the node list holds this node and
 * the device as node 0 with state 0 (the other configured nodes never ran);
 * runtime.votequorum.qdevice_* follow the device. */
static void test_device_life(void **state)
{
	votequorum_handle_t vq = vq_tracker(), device;
	votequorum_callbacks_t none = { NULL, NULL, NULL };
	quorum_handle_t q = quorum_tracker();
	struct votequorum_info info;
	cmap_handle_t cmap;
	cs_error_t err;

	assert_int_equal(cmap_initialize(&cmap), CS_OK);
	assert_int_equal(get_u8(cmap, "runtime.votequorum.qdevice_can_operate", &err), 1);
	assert_int_equal(err, CS_OK);
	get_u8(cmap, "runtime.votequorum.qdevice_master_wins", &err);
	assert_int_equal(err, CS_ERR_NOT_EXIST);
	settle_vq(vq);
	assert_int_equal(seen.n_nodes, 1);
	assert_int_equal(votequorum_initialize(&device, &none), CS_OK);
	forget();
	assert_int_equal(votequorum_qdevice_register(device, "dev"), CS_OK);
	assert_int_equal(votequorum_qdevice_poll(device, "dev", 0, (votequorum_ring_id_t){ 1, 1000 }),
			 CS_ERR_MESSAGE_ERROR);
	settle_vq(vq);
	assert_int_equal(votequorum_qdevice_poll(device, "dev", 0, (votequorum_ring_id_t){ 1, 1 }), CS_OK);
	settle_vq(vq);
	settle_quorum(q);
	assert_string_equal(seen.order, "");
	assert_int_equal(votequorum_qdevice_poll(device, "dev", 1, (votequorum_ring_id_t){ 1, 1 }), CS_OK);
	settle_vq(vq);
	assert_string_equal(seen.order, "q");
	assert_int_equal(seen.n_nodes, 2);
	assert_int_equal(seen.nodes[0].nodeid, 1);
	assert_int_equal(seen.nodes[0].state, VOTEQUORUM_NODESTATE_MEMBER);
	assert_int_equal(seen.nodes[1].nodeid, VOTEQUORUM_QDEVICE_NODEID);
	assert_int_equal(seen.nodes[1].state, 0);
	settle_quorum(q);
	assert_string_equal(seen.order, "qq");
	assert_int_equal(seen.quorate, 1);
	assert_int_equal(votequorum_qdevice_master_wins(device, "dev", 1), CS_OK);
	assert_int_equal(get_u8(cmap, "runtime.votequorum.qdevice_master_wins", &err), 1);
	assert_int_equal(votequorum_qdevice_master_wins(device, "dev", 0), CS_OK);
	assert_int_equal(get_u8(cmap, "runtime.votequorum.qdevice_master_wins", &err), 0);
	assert_int_equal(votequorum_qdevice_unregister(device, "dev"), CS_OK);
	assert_int_equal(votequorum_getinfo(vq, VOTEQUORUM_QDEVICE_NODEID, &info), CS_OK);
	assert_string_equal(info.qdevice_name, "");
	assert_int_equal(info.flags & VOTEQUORUM_INFO_QDEVICE_REGISTERED, 0);
	/* expected votes 2 with a device vote: the device cannot operate */
	assert_int_equal(cmap_set_uint32(cmap, "quorum.device.votes", 1), CS_OK);
	assert_int_equal(cmap_set_uint32(cmap, "quorum.expected_votes", 2), CS_OK);
	assert_int_equal(get_u8(cmap, "runtime.votequorum.qdevice_can_operate", &err), 0);
	assert_int_equal(votequorum_qdevice_register(device, "dev"), CS_ERR_ACCESS);
	assert_int_equal(votequorum_finalize(device), CS_OK);
	assert_int_equal(cmap_finalize(cmap), CS_OK);
	assert_int_equal(quorum_finalize(q), CS_OK);
	assert_int_equal(votequorum_finalize(vq), CS_OK);
}

/* ---- what a call's effect looks like when it returns ------------------------ */

/* corosync lists the caller once its join has gone round totem, which it
 * usually but not always has when cpg_join returns; conclaved always has. */
static void test_membership_right_after_join(void **state)
{
	struct cpg_name group = { .length = 9, .value = "fidelity1" };
	struct cpg_address members[CPG_MEMBERS_MAX];
	int n = 0;
	cpg_handle_t h;

	assert_int_equal(cpg_initialize(&h, NULL), CS_OK);
	assert_int_equal(cpg_join(h, &group), CS_OK);
	assert_int_equal(cpg_membership_get(h, &group, members, &n), CS_OK);
	assert_int_equal(n, 1);
	assert_int_equal(members[0].pid, (uint32_t)getpid());
	assert_int_equal(cpg_finalize(h), CS_OK);
}

/* corosync's setvotes returns before its message comes round; conclaved's
 * has recalculated by then. */
static void test_getinfo_right_after_setvotes(void **state)
{
	votequorum_callbacks_t none = { NULL, NULL, NULL };
	struct votequorum_info info;
	votequorum_handle_t h;

	assert_int_equal(votequorum_initialize(&h, &none), CS_OK);
	assert_int_equal(votequorum_setvotes(h, 1, 3), CS_OK);
	assert_int_equal(votequorum_getinfo(h, 0, &info), CS_OK);
	assert_int_equal(info.node_votes, 3);
	assert_int_equal(info.node_expected_votes, 3);
	assert_int_equal(info.total_votes, 3);
	assert_int_equal(info.quorum, 2);
	assert_int_equal(votequorum_finalize(h), CS_OK);
}

/* ---- one's own message at the first dispatch ------------------------------ */

#define OWN_MESSAGE_ROUNDS 300

static void count_own_message(cpg_handle_t handle, const struct cpg_name *group, uint32_t nodeid,
			      uint32_t pid, void *msg, size_t msg_len)
{
	unsigned int *delivered;

	assert_int_equal(cpg_context_get(handle, (void **)&delivered), CS_OK);
	if (pid == (uint32_t)getpid())
		(*delivered)++;
}

static cpg_handle_t joined_counter(unsigned int *delivered)
{
	cpg_callbacks_t callbacks = { .cpg_deliver_fn = count_own_message };
	struct cpg_name group = { .length = 9, .value = "fidelity2" };
	cpg_handle_t h;
	int fd;

	assert_int_equal(cpg_initialize(&h, &callbacks), CS_OK);
	assert_int_equal(cpg_context_set(h, delivered), CS_OK);
	assert_int_equal(cpg_join(h, &group), CS_OK);
	assert_int_equal(cpg_fd_get(h, &fd), CS_OK);
	while (fd_readable_within(fd, 100))
		assert_int_equal(cpg_dispatch(h, CS_DISPATCH_ALL), CS_OK);
	return h;
}

/* corosync 3.1.7 has a process's own message at the first dispatch after
 * cpg_mcast_joined about half the time; conclaved always has: dispatch
 * first waits until the daemon has handled what the handle posted. Each
 * round alternates the dispatch flags that return when nothing is left. */
static void own_message_at_the_first_dispatch(void)
{
	struct iovec iov = { "mine", 4 };
	unsigned int delivered = 0;
	cpg_handle_t h = joined_counter(&delivered);

	for (unsigned int round = 0; round < OWN_MESSAGE_ROUNDS; round++) {
		int flags = round % 2 ? CS_DISPATCH_ONE_NONBLOCKING : CS_DISPATCH_ALL;

		assert_int_equal(cpg_mcast_joined(h, CPG_TYPE_AGREED, &iov, 1), CS_OK);
		assert_int_equal(cpg_dispatch(h, flags), CS_OK);
		assert_int_equal(delivered, round + 1);
	}
	assert_int_equal(cpg_finalize(h), CS_OK);
}

static void test_own_message_at_the_first_dispatch_after_mcast(void **state)
{
	own_message_at_the_first_dispatch();
}

/* Without shared rings, messages go through the socket, which the daemon
 * reads in order: the same holds. */
static void test_own_message_at_the_first_dispatch_without_rings(void **state)
{
	own_message_at_the_first_dispatch();
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void *kill_daemon_soon(void *arg)
{
	usleep(100 * 1000);
	test_daemon_kill(arg);
	return NULL;
}

/* A daemon that dies while dispatch waits for it to handle a message ends
 * the wait with CS_ERR_LIBRARY at once, not when the wait's bound (a
 * second) runs out. */
static void test_daemon_death_while_dispatch_waits_for_a_post(void **state)
{
	struct iovec iov = { "mine", 4 };
	unsigned int delivered = 0;
	cpg_handle_t h = joined_counter(&delivered);
	pthread_t killer;
	uint64_t started;

	assert_int_equal(cpg_mcast_joined(h, CPG_TYPE_AGREED, &iov, 1), CS_OK);
	assert_int_equal(cpg_dispatch(h, CS_DISPATCH_ALL), CS_OK);
	assert_int_equal(kill(daemon_under_test.pid, SIGSTOP), 0);
	assert_int_equal(cpg_mcast_joined(h, CPG_TYPE_AGREED, &iov, 1), CS_OK);
	assert_int_equal(pthread_create(&killer, NULL, kill_daemon_soon, &daemon_under_test), 0);
	started = now_ms();
	assert_int_equal(cpg_dispatch(h, CS_DISPATCH_ALL), CS_ERR_LIBRARY);
	assert_true(now_ms() - started < 900);
	assert_int_equal(pthread_join(killer, NULL), 0);
	assert_int_equal(delivered, 1);
	assert_int_equal(cpg_finalize(h), CS_ERR_LIBRARY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_stats_delete_names_a_departed_process, start_single,
						stop),
		cmocka_unit_test_setup_teardown(test_votes_without_a_quorum_change, start_single, stop),
		cmocka_unit_test_setup_teardown(test_expected_votes_and_quorum_in_corosync_order,
						start_single, stop),
		cmocka_unit_test_setup_teardown(test_unconfigured_device_votes_reset, start_single, stop),
		cmocka_unit_test_setup_teardown(test_device_life, start_three, stop),
		cmocka_unit_test_setup_teardown(test_membership_right_after_join, start_single, stop),
		cmocka_unit_test_setup_teardown(test_getinfo_right_after_setvotes, start_single, stop),
		cmocka_unit_test_setup_teardown(test_own_message_at_the_first_dispatch_after_mcast,
						start_single, stop),
		cmocka_unit_test_setup_teardown(test_own_message_at_the_first_dispatch_without_rings,
						start_single_without_rings, stop),
		cmocka_unit_test_setup_teardown(test_daemon_death_while_dispatch_waits_for_a_post,
						start_single, stop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
