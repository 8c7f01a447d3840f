/* The configuration parser and the settings built from it, the daemon's and
 * each built-in service's (read by its configure hook, as conclaved does):
 * good files give the right values, and every kind of mistake gives one
 * exact "FILE:LINE: error: message". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <conclave/config.h>
#include <conclave/settings.h>

#include "cv-conf-usage.h"
#include "cv-daemon.h"
#include "votequorum-settings.h"

static struct cv_settings settings; /* large: not on the stack */
static struct vq_settings quorum;   /* votequorum's, as its configure hook reads them */

/* cfg's request to reload, which lives in conclaved's main.c; no test here
 * sends requests. */
cs_error_t cv_server_reload_configuration(void)
{
	return CS_ERR_NOT_SUPPORTED;
}

/* Every built-in service reads its settings from conf, as at conclaved's
 * start: 0, or -1 with the error in err. */
static int configure_services(const struct cv_conf *conf, char *err, size_t err_size)
{
	cv_sessions_init(&settings);
	for (size_t i = 0; cv_builtin_services[i]; i++) {
		const struct cv_service_ops *ops = cv_builtin_services[i]->ops;

		if (ops && ops->configure && ops->configure(conf, err, err_size) < 0)
			return -1;
	}
	return cv_settings_check_conclave_section(conf, err, err_size);
}

/* Parses and loads text as "t.conf"; returns the error text or "" */
static const char *load(const char *text, struct cv_conf **conf)
{
	static char err[1024];

	err[0] = '\0';
	*conf = NULL;
	if (cv_conf_parse_text("t.conf", text, conf, err, sizeof(err)) < 0)
		return err;
	if (cv_settings_load(*conf, &settings, err, sizeof(err)) < 0 ||
	    configure_services(*conf, err, sizeof(err)) < 0 ||
	    vq_settings_load(*conf, &settings, &quorum, err, sizeof(err)) < 0)
		return err;
	return "";
}

static void assert_error(const char *text, const char *expected)
{
	struct cv_conf *conf;

	assert_string_equal(load(text, &conf), expected);
	cv_conf_free(conf);
}

#define LOCAL_NODELIST "nodelist {\n node {\n  nodeid: 1\n  ring0_addr: 127.0.0.1\n }\n}\n"

/* ---- syntax ------------------------------------------------------------ */

static void test_syntax_errors(void **state)
{
	assert_error("totem {\n version: 2\n", "t.conf:1: error: section 'totem' is not closed");
	assert_error("totem {\n}\n}\n", "t.conf:3: error: unexpected '}' outside any section");
	assert_error("totem {\n just words\n}\n",
		     "t.conf:2: error: expected 'key: value', 'section {' or '}', got 'just words'");
	assert_error("totem {\n : 2\n}\n", "t.conf:2: error: missing key before ':'");
	assert_error("totem {\n bad key: 2\n}\n", "t.conf:2: error: invalid key name 'bad key'");
	assert_error("version: 2\n", "t.conf:1: error: key 'version' outside any section");
	assert_error("# comment\n{\n}\n", "t.conf:2: error: missing section name before '{'");
}

static int append_key(const char *path, const struct cv_conf_node *key, void *data)
{
	char line[256];

	snprintf(line, sizeof(line), "%s=%s@%u\n", path, key->value, key->line);
	strcat(data, line);
	return 0;
}

static void test_tree_and_keys(void **state)
{
	const char *text = "# a comment\n"
			   "totem {\n"
			   "\tcluster_name: demo\n"
			   "\tcrypto_cipher: none   \n"
			   "\tinterface {\n\t\tlinknumber: 0\n\t}\n"
			   "}\n"
			   "nodelist {\n"
			   "\tnode {\n\t\tnodeid: 1\n\t\tring0_addr: 127.0.0.1\n\t}\n"
			   "\tnode {\n\t\tnodeid: 2\n\t\tring0_addr: 192.0.2.2\n\t}\n"
			   "}\n"
			   "quorum {\n\tprovider: corosync_votequorum\n\tdevice {\n\t\tmodel: net\n\t}\n}\n";
	char keys[2048] = "";
	struct cv_conf *conf;

	assert_string_equal(load(text, &conf), "");
	assert_string_equal(cv_conf_value(cv_conf_child(&conf->root, "totem"), "crypto_cipher"), "none");
	assert_int_equal(cv_conf_child(&conf->root, "nodelist")->line, 9);
	assert_int_equal(cv_conf_for_each_key(conf, append_key, keys), 0);
	assert_string_equal(keys, "totem.cluster_name=demo@3\n"
				  "totem.crypto_cipher=none@4\n"
				  "totem.interface.0.linknumber=0@6\n"
				  "nodelist.node.0.nodeid=1@11\n"
				  "nodelist.node.0.ring0_addr=127.0.0.1@12\n"
				  "nodelist.node.1.nodeid=2@15\n"
				  "nodelist.node.1.ring0_addr=192.0.2.2@16\n"
				  "quorum.provider=corosync_votequorum@20\n"
				  "quorum.device.model=net@22\n");
	assert_string_equal(settings.cluster_name, "demo");
	cv_conf_free(conf);
}

static void test_missing_file(void **state)
{
	struct cv_conf *conf;
	char err[512];

	assert_int_equal(cv_conf_parse_file("/nonexistent/x.conf", &conf, err, sizeof(err)), -1);
	assert_string_equal(err, "/nonexistent/x.conf: error: cannot open: No such file or directory");
}

static void test_parse_real_file(void **state)
{
	char path[] = "/tmp/conclave-conf-XXXXXX";
	int fd = mkstemp(path);
	const char *text = "logging {\n\tdebug: on\n}\n";
	struct cv_conf *conf;
	char err[512];

	assert_true(fd >= 0);
	assert_true(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(cv_conf_parse_file(path, &conf, err, sizeof(err)), 0);
	assert_string_equal(conf->file, path);
	assert_int_equal(cv_settings_load(conf, &settings, err, sizeof(err)), 0);
	assert_true(settings.debug);
	assert_int_equal(vq_settings_load(conf, &settings, &quorum, err, sizeof(err)), 0);
	assert_false(quorum.votequorum); /* a file without a provider: QUORUM_FREE */
	cv_conf_free(conf);
	unlink(path);
}

/* ---- values ------------------------------------------------------------ */

static void test_defaults_without_file(void **state)
{
	char err[256];

	assert_int_equal(cv_settings_load(NULL, &settings, err, sizeof(err)), 0);
	assert_int_equal(settings.n_nodes, 1);
	assert_int_equal(cv_settings_local_node(&settings)->nodeid, 1);
	assert_int_equal(vq_settings_load(NULL, &settings, &quorum, err, sizeof(err)), 0);
	assert_int_equal(quorum.node_votes[0], 1);
	assert_true(quorum.votequorum);
	assert_int_equal(quorum.expected_votes, 1);
	assert_int_equal(quorum.device_timeout_ms, 10000);
	assert_int_equal(settings.limits.max_message_size, 1024 * 1024);
	assert_int_equal(settings.limits.max_queued_bytes, 8 * 1024 * 1024);
	assert_int_equal(settings.limits.max_connections, 4096);
	assert_int_equal(settings.limits.max_connections_per_uid, 1024);
	assert_int_equal(settings.limits.cmap_max_bytes, 256 * 1024 * 1024);
	assert_int_equal(settings.limits.max_ring_size, 1024 * 1024);
	assert_int_equal(settings.n_uids + settings.n_gids, 0);
	assert_true(settings.sched.sched_rr);
	assert_int_equal(settings.sched.nice, 0);
	assert_int_equal(settings.sched.move_to_root_cgroup, CV_ROOT_CGROUP_AUTO);
}

/* system {} as corosync reads it: priority is max, min or an integer the
 * kernel holds to the nice range. */
static void test_scheduling(void **state)
{
	static const struct {
		const char *priority;
		int nice;
	} priorities[] = { { "max", -20 }, { "min", 19 },   { "5", 5 },          { "-3", -3 },
			   { "0", 0 },     { "-100", -20 }, { "2147483647", 19 } };
	char text[128];
	struct cv_conf *conf;

	assert_string_equal(load("system {\n sched_rr: no\n move_to_root_cgroup: yes\n}\n", &conf), "");
	assert_false(settings.sched.sched_rr);
	assert_int_equal(settings.sched.nice, 0);
	assert_int_equal(settings.sched.move_to_root_cgroup, CV_ROOT_CGROUP_YES);
	cv_conf_free(conf);
	for (size_t i = 0; i < sizeof(priorities) / sizeof(priorities[0]); i++) {
		snprintf(text, sizeof(text), "system {\n sched_rr: no\n priority: %s\n}\n",
			 priorities[i].priority);
		assert_string_equal(load(text, &conf), "");
		assert_int_equal(settings.sched.nice, priorities[i].nice);
		cv_conf_free(conf);
	}
	assert_string_equal(
		load("system {\n sched_rr: yes\n priority: max\n move_to_root_cgroup: no\n}\n", &conf), "");
	assert_true(settings.sched.sched_rr);
	assert_int_equal(settings.sched.nice, -20);
	assert_int_equal(settings.sched.move_to_root_cgroup, CV_ROOT_CGROUP_NO);
	cv_conf_free(conf);
}

static void test_scheduling_errors(void **state)
{
	assert_error("system {\n sched_rr: on\n}\n",
		     "t.conf:2: error: invalid value 'on' for sched_rr: expected one of yes, no");
	assert_error("system {\n sched_rr {\n }\n}\n", "t.conf:2: error: invalid value '{' for sched_rr: "
						       "expected one of yes, no");
	assert_error("system {\n priority: high\n}\n",
		     "t.conf:2: error: invalid value 'high' for priority: expected max, min or an integer");
	assert_error("system {\n sched_rr: no\n priority: 5x\n}\n",
		     "t.conf:3: error: invalid value '5x' for priority: expected max, min or an integer");
	assert_error(
		"system {\n priority: 2147483648\n}\n",
		"t.conf:2: error: invalid value '2147483648' for priority: expected max, min or an integer");
	assert_error("system {\n priority:\n}\n",
		     "t.conf:2: error: invalid value '' for priority: expected max, min or an integer");
	assert_error("system {\n priority {\n }\n}\n",
		     "t.conf:2: error: 'priority' must be a key, not a section");
	assert_error(
		"system {\n move_to_root_cgroup: sometimes\n}\n",
		"t.conf:2: error: invalid value 'sometimes' for move_to_root_cgroup: expected one of auto, "
		"yes, no");
}

static void test_limits_and_uidgid(void **state)
{
	struct cv_conf *conf;

	assert_string_equal(load("conclave {\n max_message_size: 65536\n max_queued_bytes: 131072\n"
				 " max_connections: 10\n max_connections_per_uid: 5\n hello_timeout: 250\n"
				 " cmap_max_iterators: 2\n cmap_max_tracks: 3\n cmap_max_bytes: 65536\n"
				 " evs_max_joins: 7\n max_ring_size: 0\n cluster_engine: corosync\n}\n"
				 "uidgid {\n uid: 1000\n gid: 2000\n}\nuidgid {\n uid: root\n gid: root\n}\n",
				 &conf),
			    "");
	assert_int_equal(settings.limits.max_message_size, 65536);
	assert_int_equal(settings.limits.max_queued_bytes, 131072);
	assert_int_equal(settings.limits.max_connections, 10);
	assert_int_equal(settings.limits.max_connections_per_uid, 5);
	assert_int_equal(settings.limits.hello_timeout_ms, 250);
	assert_int_equal(settings.limits.cmap_max_bytes, 65536);
	assert_int_equal(settings.limits.max_ring_size, 0);
	assert_int_equal(settings.cluster_engine, CV_CLUSTER_COROSYNC);
	assert_int_equal(settings.n_uids, 2);
	assert_int_equal(settings.uids[0], 1000);
	assert_int_equal(settings.uids[1], 0);
	assert_int_equal(settings.gids[0], 2000);
	cv_conf_free(conf);
}

static void test_value_errors(void **state)
{
	assert_error(
		"conclave {\n max_message_size: 1k\n}\n",
		"t.conf:2: error: invalid value '1k' for max_message_size: expected an integer from 4096 to 67108864");
	assert_error(
		"conclave {\n max_connections: -1\n}\n",
		"t.conf:2: error: invalid value '-1' for max_connections: expected an integer from 1 to 1000000");
	assert_error(
		"conclave {\n max_connections: 99999999999999999999\n}\n",
		"t.conf:2: error: invalid value '99999999999999999999' for max_connections: expected an integer "
		"from 1 to 1000000");
	assert_error(
		"conclave {\n max_message_size: 65536\n max_queued_bytes: 65536\n}\n",
		"t.conf:3: error: max_queued_bytes (65536) must be at least max_message_size + 16 (65552)");
	assert_error(
		"conclave {\n cmap_max_tracks: 0\n}\n",
		"t.conf:2: error: invalid value '0' for cmap_max_tracks: expected an integer from 1 to 1000000");
	assert_error(
		"conclave {\n evs_max_joins: 1000001\n}\n",
		"t.conf:2: error: invalid value '1000001' for evs_max_joins: expected an integer from 1 to 1000000");
	assert_error(
		"conclave {\n max_ring_size: 67108865\n}\n",
		"t.conf:2: error: invalid value '67108865' for max_ring_size: expected an integer from 0 to 67108864");
	assert_error("conclave {\n cluster_engine: totem\n}\n",
		     "t.conf:2: error: invalid value 'totem' for cluster_engine: expected none or corosync");
	assert_error(
		"conclave {\n cmap_max_bytes: 4096\n}\n",
		"t.conf:2: error: invalid value '4096' for cmap_max_bytes: expected an integer from 65536 to "
		"4294967295");
	assert_error("conclave {\n max_conections: 5\n}\n",
		     "t.conf:2: error: unknown key 'max_conections' in section conclave");
	assert_error("uidgid {\n uid: no-such-user-here\n}\n",
		     "t.conf:2: error: unknown user 'no-such-user-here'");
	assert_error("uidgid {\n group: 5\n}\n", "t.conf:2: error: unknown key 'group' in section uidgid");
	assert_error("logging {\n debug: maybe\n}\n",
		     "t.conf:2: error: invalid value 'maybe' for debug: expected 0, 1, yes, no, on or off");
	assert_error("logging {\n to_logfile: yes\n}\n",
		     "t.conf:2: error: to_logfile is yes but no logfile is named");
	assert_error(
		"logging {\n to_logfile: sometimes\n logfile: /tmp/x\n}\n",
		"t.conf:2: error: invalid value 'sometimes' for to_logfile: expected 0, 1, yes, no, on or off");
	assert_error("quorum {\n provider: corosync_votequorum\n two_node: 2\n}\n" LOCAL_NODELIST,
		     "t.conf:3: error: invalid value '2' for two_node: expected 0, 1, yes, no, on or off");
	assert_error(
		"quorum {\n provider: corosync_ykd\n}\n",
		"t.conf:2: error: unknown quorum provider 'corosync_ykd': only corosync_votequorum is supported");
	assert_error(
		"quorum {\n provider: corosync_votequorum\n expected_votes: 0\n}\n",
		"t.conf:3: error: invalid value '0' for expected_votes: expected an integer from 1 to 1000000");
	assert_error(
		"quorum {\n provider: corosync_votequorum\n device {\n  timeout: 1\n }\n}\n",
		"t.conf:4: error: invalid value '1' for timeout: expected an integer from 10 to 3600000");
}

/* ---- the node list ----------------------------------------------------- */

static void test_nodelist_errors(void **state)
{
	assert_error("nodelist {\n node {\n  ring0_addr: 127.0.0.1\n }\n}\n",
		     "t.conf:2: error: node has no nodeid");
	assert_error(
		"nodelist {\n node {\n  nodeid: 0\n  ring0_addr: 127.0.0.1\n }\n}\n",
		"t.conf:3: error: invalid value '0' for nodeid: expected an integer from 1 to 4294967295");
	assert_error(
		"nodelist {\n node {\n  nodeid: x\n  ring0_addr: 127.0.0.1\n }\n}\n",
		"t.conf:3: error: invalid value 'x' for nodeid: expected an integer from 1 to 4294967295");
	assert_error("nodelist {\n node {\n  nodeid: 4\n }\n}\n",
		     "t.conf:2: error: node 4 has neither ring0_addr nor name");
	assert_error("nodelist {\n node {\n  nodeid: 1\n  ring0_addr: 127.0.0.1\n }\n"
		     " node {\n  nodeid: 1\n  ring0_addr: 192.0.2.1\n }\n}\n",
		     "t.conf:7: error: duplicate nodeid 1 (first used by the node at line 2)");
	assert_error("nodelist {\n node {\n  nodeid: 1\n  ring0_addr: 192.0.2.1\n }\n}\n",
		     "t.conf:1: error: no node in the nodelist has an address of this machine");
	assert_error("nodelist {\n}\n", "t.conf:1: error: the nodelist has no node");
	assert_error(
		"nodelist {\n node {\n  nodeid: 1\n  ring0_addr: 127.0.0.1\n  quorum_votes: many\n }\n}\n",
		"t.conf:5: error: invalid value 'many' for quorum_votes: expected an integer from 0 to 1000000");
}

static void test_local_node_detection(void **state)
{
	struct cv_conf *conf;

	assert_string_equal(load("nodelist {\n"
				 " node {\n  nodeid: 3\n  ring0_addr: 192.0.2.3\n }\n"
				 " node {\n  nodeid: 7\n  ring0_addr: 127.0.0.1\n  quorum_votes: 2\n }\n"
				 " node {\n  nodeid: 5\n  ring0_addr: 192.0.2.5\n }\n"
				 "}\n",
				 &conf),
			    "");
	assert_int_equal(settings.n_nodes, 3);
	assert_int_equal(settings.local_node, 1);
	assert_int_equal(cv_settings_local_node(&settings)->nodeid, 7);
	assert_int_equal(quorum.node_votes[settings.local_node], 2);
	cv_conf_free(conf);

	/* no ring0_addr: the name is resolved */
	assert_string_equal(load("nodelist {\n node {\n  nodeid: 9\n  name: 192.0.2.9\n }\n"
				 " node {\n  nodeid: 4\n  name: localhost\n }\n}\n",
				 &conf),
			    "");
	assert_int_equal(cv_settings_local_node(&settings)->nodeid, 4);
	cv_conf_free(conf);

	assert_true(cv_host_is_local("127.0.0.1"));
	assert_false(cv_host_is_local("192.0.2.77"));
	assert_false(cv_host_is_local("not a host name"));
}

/* logging.logfile counts only with to_logfile: yes, as in corosync. */
static void test_logfile_and_ring_addresses(void **state)
{
	struct cv_conf *conf;

	assert_string_equal(load("logging {\n to_logfile: no\n logfile: /tmp/unused.log\n}\n", &conf), "");
	assert_null(settings.log.logfile);
	cv_conf_free(conf);
	assert_string_equal(load("logging {\n to_logfile: yes\n logfile: /tmp/used.log\n}\n", &conf), "");
	assert_string_equal(settings.log.logfile, "/tmp/used.log");
	cv_conf_free(conf);

	assert_string_equal(load("nodelist {\n node {\n  nodeid: 1\n  ring0_addr: 127.0.0.1\n"
				 "  ring2_addr: ::1\n }\n}\n",
				 &conf),
			    "");
	assert_string_equal(settings.nodes[0].ring_addrs[0], "127.0.0.1");
	assert_null(settings.nodes[0].ring_addrs[1]);
	assert_string_equal(settings.nodes[0].ring_addrs[2], "::1");
	cv_conf_free(conf);
}

static void test_single_node_from_totem(void **state)
{
	struct cv_conf *conf;

	assert_string_equal(
		load("totem {\n nodeid: 42\n}\nquorum {\n provider: corosync_votequorum\n votes: 3\n}\n",
		     &conf),
		"");
	assert_int_equal(cv_settings_local_node(&settings)->nodeid, 42);
	assert_int_equal(quorum.local_votes, 3);
	assert_int_equal(quorum.expected_votes, 3);
	cv_conf_free(conf);
}

/* ---- quorum ------------------------------------------------------------ */

#define THREE_NODES                                                       \
	"nodelist {\n node {\n  nodeid: 1\n  ring0_addr: 127.0.0.1\n }\n" \
	" node {\n  nodeid: 2\n  ring0_addr: 192.0.2.2\n }\n node {\n  nodeid: 3\n  ring0_addr: 192.0.2.3\n }\n}\n"

static void test_quorum_settings(void **state)
{
	struct cv_conf *conf;

	assert_string_equal(load("quorum {\n provider: corosync_votequorum\n}\n" THREE_NODES, &conf), "");
	assert_int_equal(quorum.expected_votes, 3);
	assert_true(quorum.device_allowed);
	cv_conf_free(conf);

	assert_string_equal(
		load("quorum {\n provider: corosync_votequorum\n expected_votes: 5\n two_node: 1\n}\n" THREE_NODES,
		     &conf),
		"");
	assert_int_equal(quorum.expected_votes, 5);
	assert_true(quorum.two_node);
	assert_true(quorum.wait_for_all); /* implied by two_node */
	assert_false(quorum.device_allowed);
	cv_conf_free(conf);

	assert_string_equal(
		load("quorum {\n provider: corosync_votequorum\n two_node: 1\n wait_for_all: 0\n}\n", &conf),
		"");
	assert_false(quorum.wait_for_all);
	cv_conf_free(conf);

	/* a device without votes gets one less than the nodes */
	assert_string_equal(
		load("quorum {\n provider: corosync_votequorum\n device {\n  model: net\n  timeout: 200\n }\n}\n" THREE_NODES,
		     &conf),
		"");
	assert_true(quorum.device_configured);
	assert_int_equal(quorum.device_votes, 2);
	assert_int_equal(quorum.expected_votes, 5);
	assert_int_equal(quorum.device_timeout_ms, 200);
	cv_conf_free(conf);
}

static void test_tie_breaker_settings(void **state)
{
	struct cv_conf *conf;

	assert_string_equal(load("quorum {\n provider: corosync_votequorum\n auto_tie_breaker: 1\n"
				 " auto_tie_breaker_node: 3 1\n wait_for_all: 1\n}\n" THREE_NODES,
				 &conf),
			    "");
	assert_int_equal(quorum.auto_tie_breaker, CV_ATB_LIST);
	assert_int_equal(quorum.n_atb_nodes, 2);
	assert_int_equal(quorum.atb_nodes[0], 3);
	cv_conf_free(conf);

	/* odd votes without wait_for_all: corosync disables the tie-breaker */
	assert_string_equal(
		load("quorum {\n provider: corosync_votequorum\n auto_tie_breaker: 1\n}\n" THREE_NODES,
		     &conf),
		"");
	assert_int_equal(quorum.auto_tie_breaker, CV_ATB_NONE);
	cv_conf_free(conf);

	assert_error(
		"quorum {\n provider: corosync_votequorum\n auto_tie_breaker: 1\n auto_tie_breaker_node: 1 x\n}\n",
		"t.conf:4: error: invalid value '1 x' for auto_tie_breaker_node: expected lowest, highest or a "
		"list of node ids");
	assert_error(
		"quorum {\n provider: corosync_votequorum\n auto_tie_breaker: 1\n last_man_standing: 1\n}\n" THREE_NODES,
		"t.conf:1: error: auto_tie_breaker and last_man_standing need wait_for_all in a cluster with an "
		"odd number of votes");
}

static void test_device_conflicts(void **state)
{
	assert_error(
		"quorum {\n provider: corosync_votequorum\n two_node: 1\n device {\n  model: net\n }\n}\n",
		"t.conf:4: error: two_node and a quorum device cannot be configured together");
	assert_error(
		"quorum {\n provider: corosync_votequorum\n last_man_standing: 1\n device {\n  model: net\n }\n}\n",
		"t.conf:4: error: a quorum device is not compatible with last_man_standing");
	assert_error(
		"quorum {\n provider: corosync_votequorum\n allow_downscale: 1\n device {\n  model: net\n }\n}\n",
		"t.conf:4: error: a quorum device is not compatible with allow_downscale");
	assert_error(
		"quorum {\n provider: corosync_votequorum\n expected_votes: 3\n device {\n  model: net\n }\n}\n",
		"t.conf:4: error: quorum.device.votes must be set when quorum.expected_votes is set");
	assert_error(
		"quorum {\n provider: corosync_votequorum\n expected_votes: 3\n device {\n  model: net\n  votes: 2\n }\n}\n",
		"t.conf:4: error: quorum.device.votes is too high or quorum.expected_votes too low");
	assert_error("quorum {\n provider: corosync_votequorum\n device {\n  model: net\n }\n}\n"
		     "nodelist {\n node {\n  nodeid: 1\n  ring0_addr: 127.0.0.1\n  quorum_votes: 2\n }\n}\n",
		     "t.conf:3: error: quorum.device.votes must be set when not every node has one vote");
}

/* ---- keys nothing reads ------------------------------------------------ */

static void append_path(const char *path, const struct cv_conf_node *key, void *data)
{
	strcat(data, path);
	strcat(data, "\n");
}

/* What the daemon and the services read is used, and so is what they mark
 * as read from cmap or by corosync-qdevice; the rest is reported. */
static void test_keys_nothing_reads(void **state)
{
	char unused[512] = "";
	struct cv_conf *conf;

	assert_string_equal(
		load("totem {\n cluster_name: c\n token: 3000\n}\n"
		     "quorum {\n provider: corosync_votequorum\n wait_for_all: 1\n"
		     " device {\n  model: net\n  net {\n   host: q\n  }\n }\n}\n"
		     "cfg {\n shutdown_timeout: 3\n}\n"
		     "conclave {\n cmap_max_tracks: 5\n evs_max_joins: 5\n cpg_max_message_size: 5\n"
		     " max_connections: 5\n}\n"
		     "logging {\n timestamp: on\n logfile: /tmp/x\n debug: trace\n}\n" LOCAL_NODELIST,
		     &conf),
		"");
	assert_int_equal(cv_conf_for_each_unused_key(conf, append_path, unused), 2);
	assert_string_equal(unused, "totem.token\nlogging.timestamp\n");
	cv_conf_free(conf);

	/* without a quorum provider, nothing reads quorum's options */
	unused[0] = '\0';
	assert_string_equal(load("quorum {\n expected_votes: 2\n}\n", &conf), "");
	assert_int_equal(cv_conf_for_each_unused_key(conf, append_path, unused), 1);
	assert_string_equal(unused, "quorum.expected_votes\n");
	cv_conf_free(conf);
}

static void test_service_setting_errors(void **state)
{
	assert_error(
		"conclave {\n cpg_max_message_size: 1073741825\n}\n",
		"t.conf:2: error: invalid value '1073741825' for cpg_max_message_size: expected an integer "
		"from 0 to 1073741824");
	assert_error(
		"conclave {\n cmap_max_iterators: 65537\n}\n",
		"t.conf:2: error: invalid value '65537' for cmap_max_iterators: expected an integer from 1 "
		"to 65536");
	assert_error("conclave {\n evs_max_joins {\n }\n}\n",
		     "t.conf:2: error: 'evs_max_joins' must be a key, not a section");
	assert_error("conclave {\n cluster_engine {\n }\n}\n",
		     "t.conf:2: error: 'cluster_engine' must be a key, not a section");
	assert_error("conclave {\n max_connections: 5\n limits {\n }\n}\n",
		     "t.conf:3: error: unknown key 'limits' in section conclave");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_tree_and_keys),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_parse_real_file),
		cmocka_unit_test(test_defaults_without_file),
		cmocka_unit_test(test_limits_and_uidgid),
		cmocka_unit_test(test_value_errors),
		cmocka_unit_test(test_scheduling),
		cmocka_unit_test(test_scheduling_errors),
		cmocka_unit_test(test_nodelist_errors),
		cmocka_unit_test(test_local_node_detection),
		cmocka_unit_test(test_logfile_and_ring_addresses),
		cmocka_unit_test(test_single_node_from_totem),
		cmocka_unit_test(test_quorum_settings),
		cmocka_unit_test(test_tie_breaker_settings),
		cmocka_unit_test(test_device_conflicts),
		cmocka_unit_test(test_keys_nothing_reads),
		cmocka_unit_test(test_service_setting_errors),
	};

	return cmocka_run_group_tests_name("daemon_config", tests, NULL, NULL);
}
