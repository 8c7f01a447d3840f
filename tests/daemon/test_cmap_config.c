/* The configuration as cmap keys: corosync's names and types, the derived
 * keys, the read-only rules, and the errors that stop the daemon. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <conclave/config.h>
#include <conclave/settings.h>

#include "cmap-config.h"

static const struct cv_server_service cmap = { .name = "cmap", .id = 0 };
static const struct cv_server_service cfg = { .name = "corosync_cfg", .id = 1 };
static const struct cv_server_service quorum = { .name = "quorum", .id = 3 };
static const struct cv_server_service votequorum = { .name = "votequorum", .id = 5 };
static const struct cv_server_service *const services[] = { &cmap, &cfg, &quorum, &votequorum };

static struct cv_settings settings;
static struct cv_conf *conf;
static struct cmap_store *map;
static char err[1024];

#define CONFIG                                                                                              \
	"totem {\n version: 2\n cluster_name: test\n token: 3000\n knet_compression_level: -1\n"            \
	" interface {\n  linknumber: 1\n  mcastport: 5405\n  ttl: 1\n  bindnetaddr: 127.0.0.1\n }\n}\n"     \
	"logging {\n debug: on\n to_stderr: yes\n logger_subsys {\n  subsys: QUORUM\n  debug: off\n }\n}\n" \
	"quorum {\n provider: corosync_votequorum\n expected_votes: 3\n wait_for_all: yes\n}\n"             \
	"nodelist {\n node {\n  nodeid: 1\n  ring0_addr: 127.0.0.1\n  quorum_votes: 2\n }\n"                \
	" node {\n  nodeid: 2\n  ring0_addr: 192.0.2.2\n  name: two\n }\n}\n"                               \
	"uidgid {\n uid: 1000\n gid: 0\n}\n"                                                                \
	"conclave {\n max_connections: 100\n}\n"

/* "" when loaded, else the error. */
static const char *load(const char *text)
{
	err[0] = '\0';
	cmap_store_free(map);
	map = cmap_store_new(0);
	cv_conf_free(conf);
	conf = NULL;
	if (text && cv_conf_parse_text("t.conf", text, &conf, err, sizeof(err)) < 0)
		return err;
	if (cv_settings_load(conf, &settings, err, sizeof(err)) < 0)
		return err;
	if (cmap_config_load(map, &settings, services, sizeof(services) / sizeof(services[0]), err,
			     sizeof(err)) < 0)
		return err;
	return "";
}

static int teardown(void **state)
{
	cmap_store_free(map);
	cv_conf_free(conf);
	map = NULL;
	conf = NULL;
	return 0;
}

static struct cmap_value value_of(const char *key)
{
	static uint8_t scratch[CMAP_COMPUTED_MAX];
	struct cmap_value v = { 0 };

	if (cmap_store_get(map, key, &v, scratch) != CS_OK)
		fail_msg("no key %s", key);
	return v;
}

static void assert_string_key(const char *key, const char *expected)
{
	struct cmap_value v = value_of(key);

	assert_int_equal(v.type, CMAP_STORE_STRING);
	assert_int_equal(v.len, strlen(expected) + 1);
	assert_string_equal((const char *)v.bytes, expected);
}

static void assert_number_key(const char *key, int32_t type, uint64_t expected)
{
	struct cmap_value v = value_of(key);
	uint64_t got = 0;

	assert_int_equal(v.type, type);
	assert_int_equal(v.len, cmap_type_size(type));
	memcpy(&got, v.bytes, v.len); /* little endian test machines */
	assert_true(got == expected);
}

static void test_file_keys_and_types(void **state)
{
	assert_string_equal(load(CONFIG), "");
	assert_string_key("totem.cluster_name", "test");
	assert_number_key("totem.version", CMAP_STORE_UINT32, 2);
	assert_number_key("totem.token", CMAP_STORE_UINT32, 3000);
	assert_number_key("totem.knet_compression_level", CMAP_STORE_INT32, UINT32_MAX);
	assert_number_key("totem.interface.1.mcastport", CMAP_STORE_UINT16, 5405);
	assert_number_key("totem.interface.1.ttl", CMAP_STORE_UINT8, 1);
	assert_string_key("totem.interface.1.bindnetaddr", "127.0.0.1");
	assert_null(cmap_store_find(map, "totem.interface.1.linknumber"));
	assert_string_key("logging.debug", "on");
	assert_string_key("logging.to_stderr", "yes");
	assert_string_key("logging.logger_subsys.QUORUM.debug", "off");
	assert_string_key("logging.logger_subsys.QUORUM.subsys", "QUORUM");
	assert_string_key("quorum.provider", "corosync_votequorum");
	assert_number_key("quorum.expected_votes", CMAP_STORE_UINT32, 3);
	assert_number_key("quorum.wait_for_all", CMAP_STORE_UINT8, 1);
	assert_number_key("nodelist.node.0.nodeid", CMAP_STORE_UINT32, 1);
	assert_string_key("nodelist.node.0.ring0_addr", "127.0.0.1");
	assert_number_key("nodelist.node.0.quorum_votes", CMAP_STORE_UINT32, 2);
	assert_number_key("nodelist.node.1.nodeid", CMAP_STORE_UINT32, 2);
	assert_string_key("nodelist.node.1.name", "two");
	assert_number_key("conclave.max_connections", CMAP_STORE_UINT32, 100);
}

static void test_derived_keys(void **state)
{
	assert_string_equal(load(CONFIG), "");
	assert_number_key("uidgid.config.uid.1000", CMAP_STORE_UINT8, 1);
	assert_number_key("uidgid.config.gid.0", CMAP_STORE_UINT8, 1);
	assert_null(cmap_store_find(map, "uidgid.uid"));
	assert_number_key("nodelist.local_node_pos", CMAP_STORE_UINT32, 0);
	assert_string_key("runtime.members.1.ip", "r(0) ip(127.0.0.1) ");
	assert_string_key("runtime.members.1.status", "joined");
	assert_number_key("runtime.members.1.join_count", CMAP_STORE_UINT32, 1);
	assert_number_key("runtime.members.1.config_version", CMAP_STORE_UINT64, 0);
	assert_string_key("totem.interface.0.bindnetaddr", "127.0.0.1");
	assert_string_key("internal_configuration.service.0.name", "corosync_cmap");
	assert_string_key("internal_configuration.service.3.name", "corosync_quorum");
	assert_string_key("internal_configuration.service.5.name", "corosync_votequorum");
	assert_number_key("internal_configuration.service.5.ver", CMAP_STORE_UINT32, 0);
	assert_string_key("internal_configuration.service.1.name", "corosync_cfg");
	assert_number_key("runtime.services.cfg.service_id", CMAP_STORE_UINT16, 1);
	assert_null(cmap_store_find(map, "internal_configuration.service.2.name"));
	assert_number_key("runtime.services.votequorum.service_id", CMAP_STORE_UINT16, 5);
	assert_number_key("runtime.config.conclave.max_connections", CMAP_STORE_UINT32, 100);
	assert_number_key("runtime.config.conclave.max_message_size", CMAP_STORE_UINT32, 1024 * 1024);
	assert_number_key("runtime.config.conclave.max_ring_size", CMAP_STORE_UINT32, 1024 * 1024);
}

static void test_without_a_file(void **state)
{
	assert_string_equal(load(NULL), "");
	assert_null(cmap_store_find(map, "nodelist.local_node_pos"));
	assert_null(cmap_store_find(map, "totem.interface.0.bindnetaddr"));
	assert_string_key("runtime.members.1.status", "joined");
}

static void test_read_only_rules(void **state)
{
	static const char *const read_only[] = {
		"totem.cluster_name",
		"totem.version",
		"nodelist.node.0.quorum_votes",
		"nodelist.new",
		"nodelist.local_node_pos",
		"runtime.services.cmap.service_id",
		"runtime.config.x",
		"internal_configuration.x",
		"uidgid.config.uid.5",
		"system.x",
		"config.reload_in_progress",
		"conclave.max_connections",
		"runtime.totem.x",
	};
	static const char *const writable[] = {
		"quorum.expected_votes", "quorum.votes",         "quorum.two_node", "logging.debug",
		"uidgid.uid.1000",       "runtime.votequorum.x", "totem.token",     "my.own.key",
	};

	assert_string_equal(load(CONFIG), "");
	for (size_t i = 0; i < sizeof(read_only) / sizeof(read_only[0]); i++)
		if (!cmap_store_is_ro(map, read_only[i]))
			fail_msg("%s should be read-only", read_only[i]);
	for (size_t i = 0; i < sizeof(writable) / sizeof(writable[0]); i++)
		if (cmap_store_is_ro(map, writable[i]))
			fail_msg("%s should be writable", writable[i]);
}

static void test_errors(void **state)
{
	assert_string_equal(
		load("totem {\n token: 3s\n}\n"),
		"t.conf:2: error: invalid value '3s' for totem.token: expected an integer from 0 to "
		"4294967295");
	assert_string_equal(
		load("totem {\n interface {\n  mcastport: 70000\n }\n}\n"),
		"t.conf:3: error: invalid value '70000' for totem.interface.0.mcastport: expected an "
		"integer from 0 to 65535");
	assert_string_equal(
		load("totem {\n knet_compression_level: -3000000000\n}\n"),
		"t.conf:2: error: invalid value '-3000000000' for totem.knet_compression_level: expected "
		"an integer from -2147483648 to 2147483647");
	assert_string_equal(load("logging {\n logger_subsys {\n  debug: on\n }\n}\n"),
			    "t.conf:2: error: logger_subsys has no subsys key");
	assert_string_equal(
		load("logging {\n logger_subsys {\n  subsys: A@B\n  debug: on\n }\n}\n"),
		"t.conf:3: error: 'logging.logger_subsys.A@B.subsys' is not a valid cmap key name");
}

static void test_reload(void **state)
{
	static struct cv_settings loaded;
	struct cv_conf *next_conf;
	uint32_t mine = 7;
	struct cmap_change c;

	assert_string_equal(load(CONFIG), "");
	loaded = settings;
	assert_int_equal(cmap_change_set(&c, map, "my.key", CMAP_STORE_UINT32, &mine, 4, CMAP_FROM_CLIENT),
			 CS_OK);
	cmap_change_commit(&c);
	assert_int_equal(cmap_store_write_u32(map, "totem.token", 1), CS_OK); /* as a client could */
	assert_int_equal(
		cv_conf_parse_text("t.conf",
				   "totem {\n version: 2\n token: 4000\n}\n"
				   "quorum {\n provider: corosync_votequorum\n}\n"
				   "nodelist {\n node {\n  nodeid: 1\n  ring0_addr: 127.0.0.1\n }\n}\n"
				   "uidgid {\n uid: 1001\n}\n",
				   &next_conf, err, sizeof(err)),
		0);
	assert_int_equal(cv_settings_load(next_conf, &settings, err, sizeof(err)), 0);
	assert_int_equal(cmap_config_reload(map, &loaded, &settings, err, sizeof(err)), 0);
	assert_number_key("totem.token", CMAP_STORE_UINT32, 4000);
	assert_number_key("totem.version", CMAP_STORE_UINT32, 2);
	assert_null(cmap_store_find(map, "totem.cluster_name"));
	assert_null(cmap_store_find(map, "nodelist.node.1.nodeid"));
	assert_null(cmap_store_find(map, "logging.logger_subsys.QUORUM.debug"));
	assert_null(cmap_store_find(map, "uidgid.config.uid.1000"));
	assert_number_key("uidgid.config.uid.1001", CMAP_STORE_UINT8, 1);
	assert_number_key("my.key", CMAP_STORE_UINT32, 7);
	assert_number_key("runtime.config.conclave.max_connections", CMAP_STORE_UINT32, 100);
	assert_number_key("config.reload_in_progress", CMAP_STORE_UINT8, 0);
	assert_number_key("config.totemconfig_reload_in_progress", CMAP_STORE_UINT8, 0);
	cv_conf_free(next_conf);
}

/* As corosync's cfg.c: the scheduling and the rest of system {} read at
 * start keep their values, whether the new file changes, adds or drops them,
 * and no key of system {} is deleted; the section's other keys are set. */
static void test_reload_keeps_system_keys(void **state)
{
	static struct cv_settings loaded;
	struct cv_conf *next_conf;

	assert_string_equal(load("system {\n sched_rr: no\n priority: 5\n qb_ipc_type: shm\n old: a\n}\n"),
			    "");
	loaded = settings;
	assert_int_equal(cv_conf_parse_text(
				 "t.conf", "system {\n sched_rr: yes\n move_to_root_cgroup: no\n new: b\n}\n",
				 &next_conf, err, sizeof(err)),
			 0);
	assert_int_equal(cv_settings_load(next_conf, &settings, err, sizeof(err)), 0);
	assert_int_equal(cmap_config_reload(map, &loaded, &settings, err, sizeof(err)), 0);
	assert_string_key("system.sched_rr", "no");
	assert_string_key("system.priority", "5");
	assert_string_key("system.qb_ipc_type", "shm");
	assert_null(cmap_store_find(map, "system.move_to_root_cgroup"));
	assert_string_key("system.old", "a");
	assert_string_key("system.new", "b");
	cv_conf_free(next_conf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_file_keys_and_types, teardown),
		cmocka_unit_test_teardown(test_derived_keys, teardown),
		cmocka_unit_test_teardown(test_without_a_file, teardown),
		cmocka_unit_test_teardown(test_read_only_rules, teardown),
		cmocka_unit_test_teardown(test_errors, teardown),
		cmocka_unit_test_teardown(test_reload, teardown),
		cmocka_unit_test_teardown(test_reload_keeps_system_keys, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
