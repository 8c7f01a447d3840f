/* Votequorum's arithmetic for one running node, against what corosync
 * 3.1.7 computes (values probed on a single-node corosync where they can be
 * observed there). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <corosync/votequorum.h>

#include <conclave/config.h>
#include <conclave/settings.h>

#include "cmap-config.h"
#include "votequorum-config.h"
#include "votequorum-math.h"

static struct cv_settings settings;
static struct vq_settings quorum_settings;
static struct vq_state st;
static struct cv_conf *conf;

#define NODE(id, addr) " node {\n  nodeid: " #id "\n  ring0_addr: " addr "\n }\n"
#define ONE_NODE "nodelist {\n" NODE(1, "127.0.0.1") "}\n"
#define TWO_NODES "nodelist {\n" NODE(1, "127.0.0.1") NODE(2, "192.0.2.2") "}\n"
#define THREE_NODES "nodelist {\n" NODE(1, "127.0.0.1") NODE(2, "192.0.2.2") NODE(3, "192.0.2.3") "}\n"
#define PROVIDER "provider: corosync_votequorum\n"

static void start(const char *text)
{
	char err[512];

	cv_conf_free(conf);
	assert_int_equal(cv_conf_parse_text("t.conf", text, &conf, err, sizeof(err)), 0);
	if (cv_settings_load(conf, &settings, err, sizeof(err)) < 0 ||
	    vq_settings_load(conf, &settings, &quorum_settings, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	vq_init(&st, &settings, &quorum_settings);
}

static void assert_votes(uint32_t expected, uint32_t total, uint32_t quorum, bool quorate)
{
	assert_int_equal(vq_local(&st)->expected_votes, expected);
	assert_int_equal(vq_total_votes(&st), total);
	assert_int_equal(st.quorum, quorum);
	assert_int_equal(st.quorate, quorate);
}

static void test_single_node(void **state)
{
	start("quorum {\n" PROVIDER "}\n" ONE_NODE);
	assert_votes(1, 1, 1, true);
	assert_int_equal(vq_info_flags(&st, vq_local(&st)), VOTEQUORUM_INFO_QUORATE);
	assert_null(vq_find_node(&st, 0));
	assert_null(vq_find_node(&st, 5));
}

static void test_setexpected(void **state)
{
	start("quorum {\n" PROVIDER "}\n" ONE_NODE);
	assert_int_equal(vq_set_expected(&st, 0), CS_ERR_INVALID_PARAM); /* below the total */
	assert_int_equal(vq_set_expected(&st, 2), CS_ERR_INVALID_PARAM); /* would lose quorum */
	assert_int_equal(vq_set_expected(&st, 1), CS_OK);
	assert_votes(1, 1, 1, true);
	/* corosync's 32-bit quorum wraps to 1 here and accepts */
	assert_int_equal(vq_set_expected(&st, UINT32_MAX), CS_ERR_INVALID_PARAM);
	assert_int_equal(vq_set_expected(&st, UINT32_MAX - 1), CS_ERR_INVALID_PARAM);
	assert_votes(1, 1, 1, true);
}

static void test_setvotes(void **state)
{
	start("quorum {\n" PROVIDER "}\n" ONE_NODE);
	assert_int_equal(vq_set_votes(&st, 9, 1), CS_ERR_NAME_NOT_FOUND);
	assert_int_equal(vq_set_votes(&st, 1, 0), CS_ERR_INVALID_PARAM);
	assert_int_equal(vq_set_votes(&st, 1, 3), CS_OK);
	/* expected votes follow the total up and never come back down */
	assert_votes(3, 3, 2, true);
	assert_int_equal(vq_set_votes(&st, 1, 1), CS_ERR_INVALID_PARAM);
	/* nodeid 0 is the device: its votes count only while it casts them */
	assert_int_equal(vq_set_votes(&st, 0, 2), CS_OK);
	assert_int_equal(st.qdevice_votes, 2);
	assert_votes(5, 3, 3, true); /* expected votes count the device's votes */
	/* sums that would wrap corosync's unsigned int */
	assert_int_equal(vq_set_votes(&st, 1, UINT32_MAX - 1), CS_ERR_INVALID_PARAM);
	assert_int_equal(vq_set_votes(&st, 0, UINT32_MAX - 2), CS_ERR_INVALID_PARAM);
	assert_votes(5, 3, 3, true);
}

static void test_three_nodes_one_running(void **state)
{
	const struct vq_node *dead;

	start("quorum {\n" PROVIDER "}\n" THREE_NODES);
	assert_votes(3, 1, 2, false);
	dead = vq_find_node(&st, 3);
	assert_non_null(dead);
	assert_int_equal(dead->state, VOTEQUORUM_NODESTATE_DEAD);
	assert_int_equal(dead->votes, 1);
	assert_int_equal(vq_highest_expected(&st), 3);
	/* an administrator lowering expected votes restores quorum */
	assert_int_equal(vq_set_expected(&st, 1), CS_OK);
	assert_votes(1, 1, 1, true);
}

static void test_two_node(void **state)
{
	start("quorum {\n" PROVIDER "two_node: 1\n}\n" TWO_NODES);
	assert_votes(2, 1, 1, false); /* wait_for_all: the other node never showed up */
	assert_int_equal(vq_info_flags(&st, vq_local(&st)),
			 VOTEQUORUM_INFO_TWONODE | VOTEQUORUM_INFO_WAIT_FOR_ALL);
	start("quorum {\n" PROVIDER "two_node: 1\nwait_for_all: 0\n}\n" TWO_NODES);
	assert_votes(2, 1, 1, true);
}

static void test_auto_tie_breaker(void **state)
{
	start("quorum {\n" PROVIDER "auto_tie_breaker: 1\nauto_tie_breaker_node: 1\n}\n" TWO_NODES);
	assert_votes(2, 1, 2, true); /* a half split that holds the listed node */
	start("quorum {\n" PROVIDER "auto_tie_breaker: 1\nauto_tie_breaker_node: 2\n}\n" TWO_NODES);
	assert_votes(2, 1, 2, false);
	/* corosync only learns the lowest node id once quorate */
	start("quorum {\n" PROVIDER "auto_tie_breaker: 1\n}\n" TWO_NODES);
	assert_votes(2, 1, 2, false);
}

static void test_qdevice_votes(void **state)
{
	start("quorum {\n" PROVIDER "device {\n model: net\n}\n}\n" TWO_NODES);
	assert_int_equal(st.qdevice_votes, 1);
	assert_votes(3, 1, 2, false);
	assert_int_equal(vq_qdevice_register(&st, "dev"), CS_OK);
	assert_int_equal(vq_qdevice_poll(&st, "dev", true, true), CS_OK);
	assert_votes(3, 2, 2, true);
	assert_int_equal(vq_info_flags(&st, vq_local(&st)),
			 VOTEQUORUM_INFO_QUORATE | VOTEQUORUM_INFO_QDEVICE_REGISTERED |
				 VOTEQUORUM_INFO_QDEVICE_ALIVE | VOTEQUORUM_INFO_QDEVICE_CAST_VOTE);
	assert_true(vq_qdevice_timed_out(&st));
	assert_false(vq_qdevice_timed_out(&st));
	assert_votes(3, 1, 2, false);
	assert_int_equal(vq_info_flags(&st, vq_local(&st)), VOTEQUORUM_INFO_QDEVICE_REGISTERED);
}

static void test_qdevice_master_wins(void **state)
{
	start("quorum {\n" PROVIDER "device {\n model: net\n votes: 0\n}\n}\n" THREE_NODES);
	assert_int_equal(vq_qdevice_register(&st, "dev"), CS_OK);
	assert_int_equal(vq_qdevice_poll(&st, "dev", true, true), CS_OK);
	assert_votes(3, 1, 2, false);
	assert_int_equal(vq_qdevice_master_wins(&st, "dev", true), CS_OK);
	assert_votes(3, 1, 2, true);
	assert_int_equal(vq_qdevice_poll(&st, "dev", false, true), CS_OK); /* no vote: no master */
	assert_votes(3, 1, 2, false);
}

static void test_qdevice_errors(void **state)
{
	start("quorum {\n" PROVIDER "}\n" ONE_NODE);
	assert_int_equal(vq_qdevice_unregister(&st, "dev"), CS_ERR_NOT_EXIST);
	assert_int_equal(vq_qdevice_update(&st, "dev", "new"), CS_ERR_NOT_EXIST);
	assert_int_equal(vq_qdevice_poll(&st, "dev", true, true), CS_ERR_NOT_EXIST);
	assert_int_equal(vq_qdevice_master_wins(&st, "dev", true), CS_ERR_NOT_EXIST);
	assert_int_equal(vq_qdevice_register(&st, "dev"), CS_OK);
	assert_int_equal(vq_qdevice_register(&st, "dev"), CS_OK);
	assert_int_equal(vq_qdevice_register(&st, "other"), CS_ERR_EXIST);
	assert_int_equal(vq_qdevice_poll(&st, "other", true, false),
			 CS_ERR_MESSAGE_ERROR); /* ring id first */
	assert_int_equal(vq_qdevice_poll(&st, "other", true, true), CS_ERR_INVALID_PARAM);
	assert_int_equal(vq_qdevice_update(&st, "other", "new"), CS_ERR_INVALID_PARAM);
	assert_int_equal(vq_qdevice_update(&st, "dev", "new"), CS_OK);
	assert_string_equal(st.qdevice_name, "new");
	assert_int_equal(vq_qdevice_unregister(&st, "dev"), CS_ERR_INVALID_PARAM);
	assert_int_equal(vq_qdevice_unregister(&st, "new"), CS_OK);
	assert_string_equal(st.qdevice_name, "");
	assert_int_equal(vq_info_flags(&st, vq_local(&st)), VOTEQUORUM_INFO_QUORATE);
	/* options that exclude a device make its calls ACCESS */
	start("quorum {\n" PROVIDER "two_node: 1\n}\n" TWO_NODES);
	assert_int_equal(vq_qdevice_register(&st, "dev"), CS_ERR_ACCESS);
}

static int free_conf(void **state)
{
	cv_conf_free(conf);
	return 0;
}

/* ---- settings that follow cmap ----------------------------------------- */

static struct cmap_store *map;

/* Starts from text with its configuration loaded into a fresh map. */
static void start_with_map(const char *text)
{
	char err[512];

	start(text);
	cmap_store_free(map);
	map = cmap_store_new(0);
	assert_int_equal(cmap_config_load(map, &settings, NULL, 0, err, sizeof(err)), 0);
}

static bool recorded(enum vq_event_type type)
{
	for (size_t i = 0; i < st.n_events; i++)
		if (st.events[i].type == type)
			return true;
	return false;
}

/* Reads the map (plus a pending change) and applies it to the state; true
 * when trackers are told of expected votes. */
static bool follow_map(const struct cmap_change *c)
{
	struct vq_runtime_config cfg;

	assert_int_equal(vq_read_runtime_config(map, c, &settings, &cfg), 0);
	st.n_events = 0;
	vq_apply_runtime_config(&st, &cfg, &settings);
	return recorded(VQ_EVENT_EXPECTED_VOTES);
}

static void test_expected_votes_from_cmap(void **state)
{
	start_with_map("quorum {\n" PROVIDER "}\n" THREE_NODES);
	assert_votes(3, 1, 2, false);
	assert_false(follow_map(NULL));
	assert_int_equal(cmap_store_write_u32(map, "quorum.expected_votes", 1), CS_OK);
	assert_true(follow_map(NULL));
	assert_votes(1, 1, 1, true);
	assert_int_equal(st.ev_barrier, 1);
	/* absent, 0 or not a u32: the node list's sum */
	assert_int_equal(cmap_store_write_string(map, "quorum.expected_votes", "1"), CS_OK);
	assert_true(follow_map(NULL));
	assert_votes(3, 1, 2, false);
	assert_int_equal(cmap_store_write_u32(map, "quorum.expected_votes", 0), CS_OK);
	assert_false(follow_map(NULL));
	assert_votes(3, 1, 2, false);
}

static void test_pending_change_is_read(void **state)
{
	struct cmap_change c;
	uint32_t two = 2;

	start_with_map("quorum {\n" PROVIDER "}\n" THREE_NODES);
	assert_int_equal(cmap_change_set(&c, map, "quorum.expected_votes", CMAP_STORE_UINT32, &two, 4,
					 CMAP_FROM_CLIENT),
			 CS_OK);
	assert_true(follow_map(&c));
	assert_votes(2, 1, 2, false);
	cmap_change_abandon(&c);
}

static void test_node_votes_from_cmap(void **state)
{
	start_with_map("quorum {\n" PROVIDER "}\n" THREE_NODES);
	/* the daemon's own write: clients may not touch nodelist. */
	assert_int_equal(cmap_store_write_u32(map, "nodelist.node.0.quorum_votes", 2), CS_OK);
	assert_int_equal(cmap_store_write_u32(map, "nodelist.node.2.quorum_votes", 3), CS_OK);
	assert_true(follow_map(NULL));
	assert_votes(6, 2, 4, false);
	assert_int_equal(vq_find_node(&st, 3)->votes, 3);
	assert_int_equal(cmap_store_write_u32(map, "nodelist.node.1.quorum_votes", UINT32_MAX), CS_OK);
	{
		struct vq_runtime_config cfg;

		assert_int_equal(vq_read_runtime_config(map, NULL, &settings, &cfg), -1);
	}
}

static void test_votes_without_a_node_list(void **state)
{
	start_with_map("quorum {\n" PROVIDER "}\n");
	assert_int_equal(cmap_store_write_u32(map, "quorum.votes", 3), CS_OK);
	assert_true(follow_map(NULL)); /* expected votes follow the total up, and say so */
	assert_votes(3, 3, 2, true);
}

static void test_device_votes_from_cmap(void **state)
{
	start_with_map("quorum {\n" PROVIDER " device {\n  model: net\n }\n}\n" THREE_NODES);
	assert_int_equal(st.qdevice_votes, 2); /* one less than the nodes' */
	assert_false(follow_map(NULL));
	assert_int_equal(st.qdevice_votes, 2);
	assert_int_equal(cmap_store_write_u32(map, "quorum.device.votes", 1), CS_OK);
	assert_true(follow_map(NULL)); /* no longer counted in expected votes */
	assert_int_equal(st.qdevice_votes, 1);
	assert_int_equal(vq_local(&st)->expected_votes, 3);
}

static int free_map(void **state)
{
	cmap_store_free(map);
	map = NULL;
	return free_conf(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_node),
		cmocka_unit_test(test_setexpected),
		cmocka_unit_test(test_setvotes),
		cmocka_unit_test(test_three_nodes_one_running),
		cmocka_unit_test(test_two_node),
		cmocka_unit_test(test_auto_tie_breaker),
		cmocka_unit_test(test_qdevice_votes),
		cmocka_unit_test(test_qdevice_master_wins),
		cmocka_unit_test(test_qdevice_errors),
		cmocka_unit_test(test_expected_votes_from_cmap),
		cmocka_unit_test(test_pending_change_is_read),
		cmocka_unit_test(test_node_votes_from_cmap),
		cmocka_unit_test(test_votes_without_a_node_list),
		cmocka_unit_test(test_device_votes_from_cmap),
	};

	return cmocka_run_group_tests_name("daemon_votequorum_math", tests, NULL, free_map);
}
