/* libcfg against a real conclaved: every function of cfg.h, each documented
 * error, and the shutdown negotiation observed as the daemon's own exit. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <corosync/cfg.h>
#include <corosync/cmap.h>

#include "harness.h"

/* Node 1 is this machine, with a second link on ::1; nodes 2 and 3 are
 * configured but never run. */
static const char THREE_NODE_CONFIG[] =
	"totem {\n\tversion: 2\n\tcluster_name: three\n}\n"
	"nodelist {\n"
	"\tnode {\n\t\tnodeid: 3\n\t\tring0_addr: 192.0.2.3\n\t}\n"
	"\tnode {\n\t\tnodeid: 1\n\t\tring0_addr: 127.0.0.1\n\t\tring1_addr: ::1\n\t}\n"
	"\tnode {\n\t\tnodeid: 2\n\t\tring0_addr: 192.0.2.2\n\t\tring1_addr: 2001:db8::2\n\t}\n"
	"}\n"
	"quorum {\n\tprovider: corosync_votequorum\n\texpected_votes: 1\n}\n";

static struct test_daemon daemon_under_test;

static int start_with(void **state, const char *config)
{
	(void)state;
	return test_daemon_start(&daemon_under_test, config);
}

static int start_single(void **state)
{
	return start_with(state, SINGLE_NODE_CONFIG);
}

static int start_three(void **state)
{
	return start_with(state, THREE_NODE_CONFIG);
}

static int start_without_config(void **state)
{
	return start_with(state, NULL);
}

static int stop(void **state)
{
	(void)state;
	return test_daemon_stop(&daemon_under_test);
}

static corosync_cfg_handle_t connect_cfg(const corosync_cfg_callbacks_t *callbacks)
{
	corosync_cfg_handle_t h = 0;

	assert_int_equal(corosync_cfg_initialize(&h, callbacks), CS_OK);
	return h;
}

/* ---- life cycle and handles ------------------------------------------- */

static void test_initialize_and_handles(void **state)
{
	corosync_cfg_handle_t h;
	unsigned int nodeid = 0;
	int32_t fd = -1, fd_again = -1;

	(void)state;
	assert_int_equal(corosync_cfg_initialize(NULL, NULL), CS_ERR_INVALID_PARAM);
	h = connect_cfg(NULL);
	assert_int_equal(corosync_cfg_fd_get(h, &fd), CS_OK);
	assert_true(fd >= 0);
	assert_int_equal(corosync_cfg_fd_get(h, &fd_again), CS_OK);
	assert_int_equal(fd, fd_again);
	assert_int_equal(corosync_cfg_fd_get(h, NULL), CS_ERR_INVALID_PARAM);
	assert_int_equal(corosync_cfg_dispatch(h, CS_DISPATCH_ALL), CS_OK);
	assert_int_equal(corosync_cfg_dispatch(h, CS_DISPATCH_ONE_NONBLOCKING), CS_ERR_TRY_AGAIN);
	assert_int_equal(corosync_cfg_finalize(h), CS_OK);

	assert_int_equal(corosync_cfg_finalize(h), CS_ERR_BAD_HANDLE);
	assert_int_equal(corosync_cfg_local_get(h, &nodeid), CS_ERR_BAD_HANDLE);
	assert_int_equal(corosync_cfg_local_get(0, &nodeid), CS_ERR_BAD_HANDLE);
	assert_int_equal(corosync_cfg_fd_get(h, &fd), CS_ERR_BAD_HANDLE);
	assert_int_equal(corosync_cfg_dispatch(h, CS_DISPATCH_ALL), CS_ERR_BAD_HANDLE);
	assert_int_equal(corosync_cfg_trackstart(h, 0), CS_ERR_BAD_HANDLE);
	assert_int_equal(corosync_cfg_trackstop(h), CS_ERR_BAD_HANDLE);
	assert_int_equal(corosync_cfg_try_shutdown(h, COROSYNC_CFG_SHUTDOWN_FLAG_REQUEST), CS_ERR_BAD_HANDLE);
	assert_int_equal(corosync_cfg_replyto_shutdown(h, COROSYNC_CFG_SHUTDOWN_FLAG_YES), CS_ERR_BAD_HANDLE);
	assert_int_equal(corosync_cfg_kill_node(h, 2, "x"), CS_ERR_BAD_HANDLE);
	assert_int_equal(corosync_cfg_reload_config(h), CS_ERR_BAD_HANDLE);
	assert_int_equal(corosync_cfg_reopen_log_files(h), CS_ERR_BAD_HANDLE);
	{
		struct corosync_cfg_node_status_v1 status;
		corosync_cfg_node_address_t addrs[2];
		char **names, **statuses;
		unsigned int count;
		int n;

		assert_int_equal(corosync_cfg_node_status_get(h, 1, CFG_NODE_STATUS_V1, &status),
				 CS_ERR_BAD_HANDLE);
		assert_int_equal(corosync_cfg_get_node_addrs(h, 1, 2, &n, addrs), CS_ERR_BAD_HANDLE);
		assert_int_equal(corosync_cfg_ring_status_get(h, &names, &statuses, &count),
				 CS_ERR_BAD_HANDLE);
	}
	assert_true(test_daemon_running(&daemon_under_test));
}

static void test_local_get(void **state)
{
	corosync_cfg_handle_t h = connect_cfg(NULL);
	unsigned int nodeid = 0;

	(void)state;
	assert_int_equal(corosync_cfg_local_get(h, &nodeid), CS_OK);
	assert_int_equal(nodeid, 1);
	assert_int_equal(corosync_cfg_local_get(h, NULL), CS_ERR_INVALID_PARAM);
	assert_int_equal(corosync_cfg_finalize(h), CS_OK);
}

/* ---- node status, addresses and ring status ---------------------------- */

static void assert_link(const struct corosync_knet_link_status_v1 *link, int connected, unsigned mtu,
			const char *src, const char *dst)
{
	assert_int_equal(link->enabled, 1);
	assert_int_equal(link->connected, connected);
	assert_int_equal(link->dynconnected, 0);
	assert_int_equal(link->mtu, mtu);
	assert_string_equal(link->src_ipaddr, src);
	assert_string_equal(link->dst_ipaddr, dst);
}

static void assert_no_link(const struct corosync_knet_link_status_v1 *link)
{
	static const struct corosync_knet_link_status_v1 none;

	assert_memory_equal(link, &none, sizeof(none));
}

/* Corosync 3.1.7's answer for its own node of this configuration. */
static void test_node_status_single(void **state)
{
	corosync_cfg_handle_t h = connect_cfg(NULL);
	struct corosync_cfg_node_status_v1 status;

	(void)state;
	memset(&status, 0xaa, sizeof(status));
	assert_int_equal(corosync_cfg_node_status_get(h, 1, CFG_NODE_STATUS_V1, &status), CS_OK);
	assert_int_equal(status.version, CFG_NODE_STATUS_V1);
	assert_int_equal(status.nodeid, 1);
	assert_int_equal(status.reachable, 1);
	assert_int_equal(status.remote, 0);
	assert_int_equal(status.external, 0);
	assert_int_equal(status.onwire_min + status.onwire_max + status.onwire_ver, 0);
	assert_link(&status.link_status[0], 1, 65535, "127.0.0.1", "127.0.0.1");
	for (int i = 1; i < CFG_MAX_LINKS; i++)
		assert_no_link(&status.link_status[i]);

	assert_int_equal(corosync_cfg_node_status_get(h, 0, CFG_NODE_STATUS_V1, &status),
			 CS_ERR_FAILED_OPERATION);
	assert_int_equal(corosync_cfg_node_status_get(h, 2, CFG_NODE_STATUS_V1, &status),
			 CS_ERR_FAILED_OPERATION);
	memset(&status, 0xaa, sizeof(status));
	assert_int_equal(corosync_cfg_node_status_get(h, 1, 2, &status), CS_ERR_INVALID_PARAM);
	assert_int_equal(corosync_cfg_node_status_get(h, 1, 0, &status), CS_ERR_INVALID_PARAM);
	assert_int_equal(((unsigned char *)&status)[0], 0xaa);
	assert_int_equal(corosync_cfg_node_status_get(h, 1, CFG_NODE_STATUS_V1, NULL), CS_ERR_INVALID_PARAM);
	assert_int_equal(corosync_cfg_finalize(h), CS_OK);
}

static void test_node_status_configured_nodes(void **state)
{
	corosync_cfg_handle_t h = connect_cfg(NULL);
	struct corosync_cfg_node_status_v1 status;

	(void)state;
	assert_int_equal(corosync_cfg_node_status_get(h, 1, CFG_NODE_STATUS_V1, &status), CS_OK);
	assert_link(&status.link_status[0], 1, 65535, "127.0.0.1", "127.0.0.1");
	assert_link(&status.link_status[1], 1, 65535, "::1", "::1");

	assert_int_equal(corosync_cfg_node_status_get(h, 2, CFG_NODE_STATUS_V1, &status), CS_OK);
	assert_int_equal(status.nodeid, 2);
	assert_int_equal(status.reachable, 0);
	assert_link(&status.link_status[0], 0, 0, "127.0.0.1", "192.0.2.2");
	assert_link(&status.link_status[1], 0, 0, "::1", "2001:db8::2");
	assert_no_link(&status.link_status[2]);

	assert_int_equal(corosync_cfg_node_status_get(h, 3, CFG_NODE_STATUS_V1, &status), CS_OK);
	assert_link(&status.link_status[0], 0, 0, "127.0.0.1", "192.0.2.3");
	assert_no_link(&status.link_status[1]);
	assert_int_equal(corosync_cfg_node_status_get(h, 4, CFG_NODE_STATUS_V1, &status),
			 CS_ERR_FAILED_OPERATION);
	assert_int_equal(corosync_cfg_finalize(h), CS_OK);
}

static void assert_ipv4(const corosync_cfg_node_address_t *a, const char *text)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)a->address;
	char buf[INET_ADDRSTRLEN];

	assert_int_equal(a->address_length, sizeof(struct sockaddr_in));
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(sin->sin_port, 0);
	assert_non_null(inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf)));
	assert_string_equal(buf, text);
}

static void assert_ipv6(const corosync_cfg_node_address_t *a, const char *text)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)a->address;
	char buf[INET6_ADDRSTRLEN];

	assert_int_equal(a->address_length, sizeof(struct sockaddr_in6));
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_non_null(inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof(buf)));
	assert_string_equal(buf, text);
}

static void test_get_node_addrs_single(void **state)
{
	corosync_cfg_handle_t h = connect_cfg(NULL);
	corosync_cfg_node_address_t addrs[4];
	int n = -1;

	(void)state;
	assert_int_equal(corosync_cfg_get_node_addrs(h, 1, 4, &n, addrs), CS_OK);
	assert_int_equal(n, 1);
	assert_ipv4(&addrs[0], "127.0.0.1");
	n = -1;
	memset(addrs, 0, sizeof(addrs));
	assert_int_equal(corosync_cfg_get_node_addrs(h, 0, 4, &n, addrs), CS_OK);
	assert_int_equal(n, 1);
	assert_ipv4(&addrs[0], "127.0.0.1");

	n = -1;
	assert_int_equal(corosync_cfg_get_node_addrs(h, 2, 4, &n, addrs), CS_ERR_NOT_EXIST);
	assert_int_equal(n, 0);
	assert_int_equal(corosync_cfg_get_node_addrs(h, 1, 4, NULL, addrs), CS_ERR_INVALID_PARAM);
	assert_int_equal(corosync_cfg_get_node_addrs(h, 1, 4, &n, NULL), CS_ERR_INVALID_PARAM);
	assert_int_equal(corosync_cfg_finalize(h), CS_OK);
}

/* As corosync's, *num_addrs counts every address, written or not. */
static void test_get_node_addrs_links(void **state)
{
	corosync_cfg_handle_t h = connect_cfg(NULL);
	corosync_cfg_node_address_t addrs[4];
	int n = -1;

	(void)state;
	assert_int_equal(corosync_cfg_get_node_addrs(h, 2, 4, &n, addrs), CS_OK);
	assert_int_equal(n, 2);
	assert_ipv4(&addrs[0], "192.0.2.2");
	assert_ipv6(&addrs[1], "2001:db8::2");

	memset(addrs, 0x55, sizeof(addrs));
	assert_int_equal(corosync_cfg_get_node_addrs(h, 1, 1, &n, addrs), CS_OK);
	assert_int_equal(n, 2);
	assert_ipv4(&addrs[0], "127.0.0.1");
	assert_int_equal(addrs[1].address_length, 0x55555555);
	assert_int_equal(corosync_cfg_get_node_addrs(h, 1, 0, &n, NULL), CS_OK);
	assert_int_equal(n, 2);
	assert_int_equal(corosync_cfg_finalize(h), CS_OK);
}

static void free_ring_status(char **names, char **statuses, unsigned int count)
{
	for (unsigned int i = 0; i < count; i++) {
		free(names[i]);
		free(statuses[i]);
	}
	free(names);
	free(statuses);
}

static void test_ring_status_single(void **state)
{
	corosync_cfg_handle_t h = connect_cfg(NULL);
	char **names = NULL, **statuses = NULL;
	unsigned int count = 0;

	(void)state;
	assert_int_equal(corosync_cfg_ring_status_get(h, &names, &statuses, &count), CS_OK);
	assert_int_equal(count, 1);
	assert_string_equal(names[0], "0 127.0.0.1");
	assert_string_equal(statuses[0], "n");
	free_ring_status(names, statuses, count);
	assert_int_equal(corosync_cfg_ring_status_get(h, NULL, &statuses, &count), CS_ERR_INVALID_PARAM);
	assert_int_equal(corosync_cfg_ring_status_get(h, &names, NULL, &count), CS_ERR_INVALID_PARAM);
	assert_int_equal(corosync_cfg_ring_status_get(h, &names, &statuses, NULL), CS_ERR_INVALID_PARAM);
	assert_int_equal(corosync_cfg_finalize(h), CS_OK);
}

/* One character per node in node id order: this node 'n', a configured
 * link that is down '1', no such link '0'. */
static void test_ring_status_links(void **state)
{
	corosync_cfg_handle_t h = connect_cfg(NULL);
	char **names = NULL, **statuses = NULL;
	unsigned int count = 0;

	(void)state;
	assert_int_equal(corosync_cfg_ring_status_get(h, &names, &statuses, &count), CS_OK);
	assert_int_equal(count, 2);
	assert_string_equal(names[0], "0 127.0.0.1");
	assert_string_equal(statuses[0], "n11");
	assert_string_equal(names[1], "1 ::1");
	assert_string_equal(statuses[1], "n10");
	free_ring_status(names, statuses, count);
	assert_int_equal(corosync_cfg_finalize(h), CS_OK);
}

/* Without a configuration file the node has no address at all. */
static void test_node_without_addresses(void **state)
{
	corosync_cfg_handle_t h = connect_cfg(NULL);
	struct corosync_cfg_node_status_v1 status;
	corosync_cfg_node_address_t addrs[2];
	char **names = NULL, **statuses = NULL;
	unsigned int count = 7;
	int n = -1;

	(void)state;
	assert_int_equal(corosync_cfg_node_status_get(h, 1, CFG_NODE_STATUS_V1, &status), CS_OK);
	assert_int_equal(status.reachable, 1);
	assert_no_link(&status.link_status[0]);
	assert_int_equal(corosync_cfg_get_node_addrs(h, 0, 2, &n, addrs), CS_OK);
	assert_int_equal(n, 0);
	assert_int_equal(corosync_cfg_ring_status_get(h, &names, &statuses, &count), CS_OK);
	assert_int_equal(count, 0);
	free_ring_status(names, statuses, count);
	assert_int_equal(corosync_cfg_reload_config(h), CS_ERR_NOT_SUPPORTED);
	assert_int_equal(corosync_cfg_finalize(h), CS_OK);
}

/* ---- kill_node ---------------------------------------------------------- */

static void test_kill_node_errors_and_other_nodes(void **state)
{
	corosync_cfg_handle_t h = connect_cfg(NULL);
	char reason[300];

	(void)state;
	memset(reason, 'r', sizeof(reason));
	reason[256] = '\0';
	assert_int_equal(corosync_cfg_kill_node(h, 2, reason), CS_ERR_NAME_TOO_LONG);
	reason[255] = '\0';
	assert_int_equal(corosync_cfg_kill_node(h, 2, reason), CS_ERR_NOT_EXIST);
	assert_int_equal(corosync_cfg_kill_node(h, 77, "not a node"), CS_ERR_NOT_EXIST);
	assert_int_equal(corosync_cfg_kill_node(h, 0, "not a node"), CS_ERR_NOT_EXIST);
	assert_int_equal(corosync_cfg_kill_node(h, 1, NULL), CS_ERR_INVALID_PARAM);
	assert_true(test_daemon_log_contains(&daemon_under_test,
					     "kill of node 77 refused: it is not a member", 0));
	assert_true(test_daemon_running(&daemon_under_test));
	assert_int_equal(corosync_cfg_finalize(h), CS_OK);
}

/* Configured nodes that never ran are no members either, as in corosync. */
static void test_kill_configured_node_not_running(void **state)
{
	corosync_cfg_handle_t h = connect_cfg(NULL);

	(void)state;
	assert_int_equal(corosync_cfg_kill_node(h, 2, "configured"), CS_ERR_NOT_EXIST);
	assert_int_equal(corosync_cfg_kill_node(h, 3, "configured"), CS_ERR_NOT_EXIST);
	assert_true(test_daemon_running(&daemon_under_test));
	assert_int_equal(corosync_cfg_finalize(h), CS_OK);
}

static void test_kill_local_node_stops_daemon(void **state)
{
	corosync_cfg_handle_t h = connect_cfg(NULL);
	unsigned int nodeid;

	(void)state;
	assert_int_equal(corosync_cfg_kill_node(h, 1, "Killed by the test"), CS_OK);
	assert_int_equal(test_daemon_wait_exit(&daemon_under_test, 5000), 0);
	assert_true(test_daemon_log_contains(&daemon_under_test, "Killed by the test", 0));
	assert_int_equal(corosync_cfg_local_get(h, &nodeid), CS_ERR_LIBRARY);
	assert_int_equal(corosync_cfg_finalize(h), CS_OK);
}

/* ---- the shutdown negotiation ----------------------------------------- */

enum tracker_policy { ANSWER_YES, ANSWER_NO, NEVER_ANSWER, STOP_TRACKING, FINALIZE };

/* A tracking handle on a thread of its own, answering as its policy says. */
struct tracker {
	corosync_cfg_handle_t handle;
	enum tracker_policy policy;
	pthread_t thread;
	int asked;
	corosync_cfg_shutdown_flags_t flags;
	cs_error_t answer_result;
};

static struct tracker *tracker_of_handle[4];

static struct tracker *find_tracker(corosync_cfg_handle_t handle)
{
	for (int i = 0; i < 4; i++)
		if (tracker_of_handle[i] && tracker_of_handle[i]->handle == handle)
			return tracker_of_handle[i];
	return NULL;
}

static void on_shutdown(corosync_cfg_handle_t handle, corosync_cfg_shutdown_flags_t flags)
{
	struct tracker *t = find_tracker(handle);

	t->asked++;
	t->flags = flags;
	switch (t->policy) {
	case ANSWER_YES:
		t->answer_result = corosync_cfg_replyto_shutdown(handle, COROSYNC_CFG_SHUTDOWN_FLAG_YES);
		break;
	case ANSWER_NO:
		t->answer_result = corosync_cfg_replyto_shutdown(handle, COROSYNC_CFG_SHUTDOWN_FLAG_NO);
		break;
	case STOP_TRACKING:
		t->answer_result = corosync_cfg_trackstop(handle);
		break;
	case FINALIZE:
		t->answer_result = corosync_cfg_finalize(handle);
		break;
	case NEVER_ANSWER:
		break;
	}
}

static const corosync_cfg_callbacks_t tracker_callbacks = { .corosync_cfg_shutdown_callback = on_shutdown };

/* Dispatches until the first question or the connection's end. */
static void *tracker_run(void *arg)
{
	struct tracker *t = arg;
	int32_t fd;

	corosync_cfg_fd_get(t->handle, &fd);
	while (t->asked == 0 && fd_readable_within(fd, 10000))
		if (corosync_cfg_dispatch(t->handle, CS_DISPATCH_ALL) != CS_OK)
			break;
	return NULL;
}

static void tracker_start(struct tracker *t, int slot, enum tracker_policy policy)
{
	memset(t, 0, sizeof(*t));
	t->policy = policy;
	t->answer_result = -1;
	t->handle = connect_cfg(&tracker_callbacks);
	tracker_of_handle[slot] = t;
	assert_int_equal(corosync_cfg_trackstart(t->handle, 0), CS_OK);
	assert_int_equal(pthread_create(&t->thread, NULL, tracker_run, t), 0);
}

static void tracker_finish(struct tracker *t, int slot)
{
	pthread_join(t->thread, NULL);
	corosync_cfg_finalize(t->handle);
	tracker_of_handle[slot] = NULL;
}

static void set_shutdown_timeout(uint32_t seconds)
{
	cmap_handle_t cmap;

	assert_int_equal(cmap_initialize(&cmap), CS_OK);
	assert_int_equal(cmap_set_uint32(cmap, "cfg.shutdown_timeout", seconds), CS_OK);
	assert_int_equal(cmap_finalize(cmap), CS_OK);
}

static void test_try_shutdown_without_trackers(void **state)
{
	corosync_cfg_handle_t h = connect_cfg(NULL);

	(void)state;
	assert_int_equal(corosync_cfg_try_shutdown(h, 3), CS_ERR_INVALID_PARAM);
	assert_int_equal(corosync_cfg_try_shutdown(h, -1), CS_ERR_INVALID_PARAM);
	assert_true(test_daemon_running(&daemon_under_test));
	assert_int_equal(corosync_cfg_try_shutdown(h, COROSYNC_CFG_SHUTDOWN_FLAG_REQUEST), CS_OK);
	assert_int_equal(test_daemon_wait_exit(&daemon_under_test, 5000), 0);
	assert_int_equal(corosync_cfg_finalize(h), CS_OK);
}

static void test_request_refused_by_a_no(void **state)
{
	struct tracker yes, no;
	corosync_cfg_handle_t h = connect_cfg(NULL);
	unsigned int nodeid;

	(void)state;
	tracker_start(&yes, 0, ANSWER_YES);
	tracker_start(&no, 1, ANSWER_NO);
	/* The caller's own tracking handle is not asked. */
	assert_int_equal(corosync_cfg_trackstart(h, 0), CS_OK);
	assert_int_equal(corosync_cfg_try_shutdown(h, COROSYNC_CFG_SHUTDOWN_FLAG_REQUEST), CS_ERR_BUSY);
	tracker_finish(&yes, 0);
	tracker_finish(&no, 1);
	assert_int_equal(yes.asked, 1);
	assert_int_equal(yes.flags, COROSYNC_CFG_SHUTDOWN_FLAG_REQUEST);
	assert_int_equal(yes.answer_result, CS_OK);
	assert_int_equal(no.asked, 1);
	assert_int_equal(no.answer_result, CS_OK);
	assert_int_equal(corosync_cfg_dispatch(h, CS_DISPATCH_ONE_NONBLOCKING), CS_ERR_TRY_AGAIN);
	assert_true(test_daemon_running(&daemon_under_test));
	assert_int_equal(corosync_cfg_local_get(h, &nodeid), CS_OK);
	/* A late answer is accepted and ignored. */
	assert_int_equal(corosync_cfg_replyto_shutdown(h, COROSYNC_CFG_SHUTDOWN_FLAG_YES), CS_OK);
	assert_int_equal(corosync_cfg_replyto_shutdown(h, 2), CS_ERR_INVALID_PARAM);
	assert_true(test_daemon_running(&daemon_under_test));
	assert_int_equal(corosync_cfg_finalize(h), CS_OK);
}

static void test_request_agreed_by_all(void **state)
{
	struct tracker a, b;
	corosync_cfg_handle_t h = connect_cfg(NULL);

	(void)state;
	tracker_start(&a, 0, ANSWER_YES);
	tracker_start(&b, 1, STOP_TRACKING);
	assert_int_equal(corosync_cfg_try_shutdown(h, COROSYNC_CFG_SHUTDOWN_FLAG_REQUEST), CS_OK);
	assert_int_equal(test_daemon_wait_exit(&daemon_under_test, 5000), 0);
	tracker_finish(&a, 0);
	tracker_finish(&b, 1);
	assert_int_equal(a.asked, 1);
	assert_int_equal(b.asked, 1);
	assert_int_equal(b.answer_result, CS_OK);
	assert_int_equal(corosync_cfg_finalize(h), CS_OK);
}

static void test_regardless_overrides_a_no(void **state)
{
	struct tracker no;
	corosync_cfg_handle_t h = connect_cfg(NULL);

	(void)state;
	tracker_start(&no, 0, ANSWER_NO);
	assert_int_equal(corosync_cfg_try_shutdown(h, COROSYNC_CFG_SHUTDOWN_FLAG_REGARDLESS), CS_OK);
	assert_int_equal(test_daemon_wait_exit(&daemon_under_test, 5000), 0);
	tracker_finish(&no, 0);
	assert_int_equal(no.asked, 1);
	assert_int_equal(no.flags, COROSYNC_CFG_SHUTDOWN_FLAG_REGARDLESS);
	assert_int_equal(corosync_cfg_finalize(h), CS_OK);
}

static void test_immediate_asks_no_one(void **state)
{
	struct tracker t;
	corosync_cfg_handle_t h = connect_cfg(NULL);

	(void)state;
	tracker_start(&t, 0, ANSWER_NO);
	assert_int_equal(corosync_cfg_try_shutdown(h, COROSYNC_CFG_SHUTDOWN_FLAG_IMMEDIATE), CS_OK);
	assert_int_equal(test_daemon_wait_exit(&daemon_under_test, 5000), 0);
	tracker_finish(&t, 0);
	assert_int_equal(t.asked, 0);
	assert_int_equal(corosync_cfg_finalize(h), CS_OK);
}

static double seconds_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* A tracker that never answers counts as no once cfg.shutdown_timeout has
 * passed; a second try meanwhile is refused with CS_ERR_EXIST. */
struct second_try {
	corosync_cfg_handle_t handle;
	cs_error_t result;
};

static void *try_while_pending(void *arg)
{
	struct second_try *second = arg;

	nanosleep(&(struct timespec){ .tv_nsec = 300 * 1000 * 1000 }, NULL);
	second->result = corosync_cfg_try_shutdown(second->handle, COROSYNC_CFG_SHUTDOWN_FLAG_REQUEST);
	return NULL;
}

static void test_silence_times_out_as_no(void **state)
{
	struct tracker silent;
	struct second_try second = { .result = -1 };
	corosync_cfg_handle_t h;
	struct timespec start;
	pthread_t other;
	double took;

	(void)state;
	set_shutdown_timeout(1);
	h = connect_cfg(NULL);
	second.handle = connect_cfg(NULL);
	tracker_start(&silent, 0, NEVER_ANSWER);
	assert_int_equal(pthread_create(&other, NULL, try_while_pending, &second), 0);
	clock_gettime(CLOCK_MONOTONIC, &start);
	assert_int_equal(corosync_cfg_try_shutdown(h, COROSYNC_CFG_SHUTDOWN_FLAG_REQUEST), CS_ERR_BUSY);
	took = seconds_since(&start);
	pthread_join(other, NULL);
	assert_int_equal(second.result, CS_ERR_EXIST);
	assert_true(took >= 0.9 && took < 4.0);
	tracker_finish(&silent, 0);
	assert_int_equal(silent.asked, 1);
	assert_true(test_daemon_running(&daemon_under_test));
	assert_int_equal(corosync_cfg_finalize(second.handle), CS_OK);
	assert_int_equal(corosync_cfg_finalize(h), CS_OK);
}

/* A tracker that disconnects while asked counts as yes. */
static void test_tracker_leaving_counts_as_yes(void **state)
{
	struct tracker leaver;
	corosync_cfg_handle_t h = connect_cfg(NULL);

	(void)state;
	tracker_start(&leaver, 0, FINALIZE);
	assert_int_equal(corosync_cfg_try_shutdown(h, COROSYNC_CFG_SHUTDOWN_FLAG_REQUEST), CS_OK);
	assert_int_equal(test_daemon_wait_exit(&daemon_under_test, 5000), 0);
	tracker_finish(&leaver, 0);
	assert_int_equal(leaver.asked, 1);
	assert_int_equal(leaver.answer_result, CS_OK);
	assert_int_equal(corosync_cfg_finalize(h), CS_OK);
}

static void test_trackstart_trackstop(void **state)
{
	corosync_cfg_handle_t h = connect_cfg(NULL);

	(void)state;
	assert_int_equal(corosync_cfg_trackstop(h), CS_OK);
	assert_int_equal(corosync_cfg_trackstart(h, 0), CS_OK);
	assert_int_equal(corosync_cfg_trackstart(h, 0xff), CS_OK);
	assert_int_equal(corosync_cfg_trackstop(h), CS_OK);
	assert_int_equal(corosync_cfg_trackstop(h), CS_OK);
	assert_int_equal(corosync_cfg_replyto_shutdown(h, COROSYNC_CFG_SHUTDOWN_FLAG_NO), CS_OK);
	assert_int_equal(corosync_cfg_finalize(h), CS_OK);
}

/* ---- reload_config and reopen_log_files ------------------------------- */

static void write_config(const char *text)
{
	FILE *f = fopen(daemon_under_test.config, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static char *cmap_string(const char *key)
{
	cmap_handle_t cmap;
	char *value = NULL;

	assert_int_equal(cmap_initialize(&cmap), CS_OK);
	if (cmap_get_string(cmap, key, &value) != CS_OK)
		value = NULL;
	assert_int_equal(cmap_finalize(cmap), CS_OK);
	return value;
}

/* config.reload_status: the cs_error_t of the last reload, as corosync's. */
static int32_t reload_status(void)
{
	cmap_handle_t cmap;
	int32_t status = 0;

	assert_int_equal(cmap_initialize(&cmap), CS_OK);
	assert_int_equal(cmap_get_int32(cmap, "config.reload_status", &status), CS_OK);
	assert_int_equal(cmap_finalize(cmap), CS_OK);
	return status;
}

static void test_reload_config(void **state)
{
	corosync_cfg_handle_t h = connect_cfg(NULL);
	char *value;

	(void)state;
	value = cmap_string("totem.cluster_name");
	assert_string_equal(value, "test");
	free(value);

	write_config("totem {\n\tversion: 2\n\tcluster_name: renamed\n}\n"
		     "nodelist {\n\tnode {\n\t\tnodeid: 1\n\t\tring0_addr: 127.0.0.1\n\t}\n}\n"
		     "quorum {\n\tprovider: corosync_votequorum\n}\n");
	assert_int_equal(corosync_cfg_reload_config(h), CS_OK);
	value = cmap_string("totem.cluster_name");
	assert_string_equal(value, "renamed");
	free(value);
	assert_null(cmap_string("config.reload_error_message"));
	assert_int_equal(reload_status(), CS_OK);

	write_config("totem {\n\tcluster_name: broken\n");
	assert_int_equal(corosync_cfg_reload_config(h), CS_ERR_INVALID_PARAM);
	value = cmap_string("totem.cluster_name");
	assert_string_equal(value, "renamed");
	free(value);
	value = cmap_string("config.reload_error_message");
	assert_non_null(value);
	free(value);
	assert_int_equal(reload_status(), CS_ERR_INVALID_PARAM);

	write_config("nodelist {\n\tnode {\n\t\tnodeid: 5\n\t\tring0_addr: 127.0.0.1\n\t}\n}\n"
		     "quorum {\n\tprovider: corosync_votequorum\n}\n");
	assert_int_equal(corosync_cfg_reload_config(h), CS_ERR_INVALID_PARAM);

	write_config(SINGLE_NODE_CONFIG);
	assert_int_equal(corosync_cfg_reload_config(h), CS_OK);
	assert_null(cmap_string("config.reload_error_message"));
	assert_int_equal(corosync_cfg_finalize(h), CS_OK);
}

static void test_reopen_log_files_without_log_file(void **state)
{
	corosync_cfg_handle_t h = connect_cfg(NULL);

	(void)state;
	assert_int_equal(corosync_cfg_reopen_log_files(h), CS_OK);
	assert_int_equal(corosync_cfg_finalize(h), CS_OK);
}

static char log_dir[64];
static char log_path[128];

static int start_with_log_file(void **state)
{
	char config[1024];

	snprintf(log_dir, sizeof(log_dir), "/tmp/conclave-cfg-log-XXXXXX");
	if (!mkdtemp(log_dir))
		return -1;
	snprintf(log_path, sizeof(log_path), "%s/conclaved.log", log_dir);
	snprintf(config, sizeof(config), "%slogging {\n\tto_logfile: yes\n\tlogfile: %s\n}\n",
		 SINGLE_NODE_CONFIG, log_path);
	return start_with(state, config);
}

static int stop_and_remove_log(void **state)
{
	char rotated[160];
	int r = stop(state);

	snprintf(rotated, sizeof(rotated), "%s.1", log_path);
	unlink(log_path);
	rmdir(log_path);
	unlink(rotated);
	rmdir(log_dir);
	return r;
}

static bool file_contains(const char *path, const char *text)
{
	char line[1024];
	bool found = false;
	FILE *f = fopen(path, "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, text) != NULL;
	fclose(f);
	return found;
}

/* Rotation: after a rename, the daemon keeps writing to the old file until
 * reopen, then to a new one; a path it cannot open gives CS_ERR_ACCESS. */
static void test_reopen_log_files(void **state)
{
	corosync_cfg_handle_t h = connect_cfg(NULL);
	char rotated[160];

	(void)state;
	assert_true(file_contains(log_path, "ready: node 1"));
	snprintf(rotated, sizeof(rotated), "%s.1", log_path);
	assert_int_equal(rename(log_path, rotated), 0);
	assert_int_equal(corosync_cfg_kill_node(h, 9, "before reopen"), CS_ERR_NOT_EXIST);
	assert_true(file_contains(rotated, "kill of node 9"));
	assert_int_equal(corosync_cfg_reopen_log_files(h), CS_OK);
	assert_int_equal(corosync_cfg_kill_node(h, 8, "after reopen"), CS_ERR_NOT_EXIST);
	assert_true(file_contains(log_path, "kill of node 8"));
	assert_false(file_contains(rotated, "kill of node 8"));

	assert_int_equal(unlink(log_path), 0);
	assert_int_equal(mkdir(log_path, 0700), 0);
	assert_int_equal(corosync_cfg_reopen_log_files(h), CS_ERR_ACCESS);
	assert_true(test_daemon_log_contains(&daemon_under_test, "cannot open the log file", 0));
	assert_true(test_daemon_running(&daemon_under_test));
	assert_int_equal(corosync_cfg_finalize(h), CS_OK);
}

/* ---- the daemon going away --------------------------------------------- */

static void test_daemon_death(void **state)
{
	corosync_cfg_handle_t h = connect_cfg(&tracker_callbacks);
	unsigned int nodeid;
	int32_t fd;

	(void)state;
	assert_int_equal(corosync_cfg_fd_get(h, &fd), CS_OK);
	test_daemon_kill(&daemon_under_test);
	assert_true(fd_readable_within(fd, 5000));
	assert_int_equal(corosync_cfg_dispatch(h, CS_DISPATCH_ALL), CS_ERR_LIBRARY);
	assert_int_equal(corosync_cfg_local_get(h, &nodeid), CS_ERR_LIBRARY);
	assert_int_equal(corosync_cfg_finalize(h), CS_OK);
}

#define SINGLE(test) cmocka_unit_test_setup_teardown(test, start_single, stop)

int main(void)
{
	const struct CMUnitTest tests[] = {
		SINGLE(test_initialize_and_handles),
		SINGLE(test_local_get),
		SINGLE(test_node_status_single),
		cmocka_unit_test_setup_teardown(test_node_status_configured_nodes, start_three, stop),
		SINGLE(test_get_node_addrs_single),
		cmocka_unit_test_setup_teardown(test_get_node_addrs_links, start_three, stop),
		SINGLE(test_ring_status_single),
		cmocka_unit_test_setup_teardown(test_ring_status_links, start_three, stop),
		cmocka_unit_test_setup_teardown(test_node_without_addresses, start_without_config, stop),
		SINGLE(test_kill_node_errors_and_other_nodes),
		cmocka_unit_test_setup_teardown(test_kill_configured_node_not_running, start_three, stop),
		SINGLE(test_kill_local_node_stops_daemon),
		SINGLE(test_trackstart_trackstop),
		SINGLE(test_try_shutdown_without_trackers),
		SINGLE(test_request_refused_by_a_no),
		SINGLE(test_request_agreed_by_all),
		SINGLE(test_regardless_overrides_a_no),
		SINGLE(test_immediate_asks_no_one),
		SINGLE(test_silence_times_out_as_no),
		SINGLE(test_tracker_leaving_counts_as_yes),
		SINGLE(test_reload_config),
		SINGLE(test_reopen_log_files_without_log_file),
		cmocka_unit_test_setup_teardown(test_reopen_log_files, start_with_log_file,
						stop_and_remove_log),
		SINGLE(test_daemon_death),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
