/* conclaved's scheduling, which it sets at start from system {} as corosync
 * 3.1.7 does: SCHED_RR at the highest priority by default, the nice value
 * of system.priority with sched_rr: no, invalid values refused as every
 * invalid setting is, and a daemon that may not raise its priority carrying
 * on with a warning. Each test reads the policy, realtime priority and nice
 * value of the real daemon process. Root is needed (under CI=true its
 * absence fails the tests). */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon-peer.h"

#define NOBODY 65534

static struct test_daemon d;
static int started_nice; /* this process's, which the daemon inherits */

static int setup(void **state)
{
	const char *ci = getenv("CI");

	(void)state;
	if (geteuid() != 0) {
		if (ci != NULL && strcmp(ci, "true") == 0) {
			fprintf(stderr, "daemon_scheduling needs root\n");
			return -1;
		}
		fprintf(stderr, "skipped: daemon_scheduling needs root\n");
		exit(77);
	}
	errno = 0;
	started_nice = getpriority(PRIO_PROCESS, 0);
	return errno == 0 ? 0 : -1;
}

static int stop(void **state)
{
	(void)state;
	return test_daemon_stop(&d) == 0 ? 0 : -1;
}

/* A quorate single node with system_section after it. */
static void start_with(const char *system_section)
{
	char config[1024];

	snprintf(config, sizeof(config), "%s%s", TEST_SINGLE_NODE_CONFIG, system_section);
	assert_int_equal(test_daemon_start(&d, config), 0);
}

static void assert_scheduled(int policy, int realtime_priority, int nice)
{
	struct sched_param param;

	assert_int_equal(sched_getscheduler(d.pid), policy);
	assert_int_equal(sched_getparam(d.pid, &param), 0);
	assert_int_equal(param.sched_priority, realtime_priority);
	errno = 0;
	assert_int_equal(getpriority(PRIO_PROCESS, (id_t)d.pid), nice);
	assert_int_equal(errno, 0);
}

static void test_round_robin_without_a_file(void **state)
{
	char line[64];

	(void)state;
	assert_int_equal(test_daemon_start(&d, NULL), 0);
	assert_scheduled(SCHED_RR, sched_get_priority_max(SCHED_RR), started_nice);
	snprintf(line, sizeof(line), "scheduling: SCHED_RR at priority %d", sched_get_priority_max(SCHED_RR));
	assert_true(test_daemon_log_contains(&d, line, 0));
	assert_daemon_serves(&d);
}

static void test_round_robin_by_default(void **state)
{
	(void)state;
	start_with("");
	assert_scheduled(SCHED_RR, sched_get_priority_max(SCHED_RR), started_nice);
	assert_daemon_serves(&d);
}

/* priority applies only with sched_rr: no. */
static void test_round_robin_ignores_priority(void **state)
{
	(void)state;
	start_with("system {\n\tsched_rr: yes\n\tpriority: 5\n}\n");
	assert_scheduled(SCHED_RR, sched_get_priority_max(SCHED_RR), started_nice);
}

static void test_sched_rr_no(void **state)
{
	(void)state;
	start_with("system {\n\tsched_rr: no\n}\n");
	assert_scheduled(SCHED_OTHER, 0, started_nice);
	assert_true(test_daemon_log_contains(&d, "scheduling: as started (system.sched_rr: no", 0));
	assert_daemon_serves(&d);
}

static void test_priority_max(void **state)
{
	(void)state;
	start_with("system {\n\tsched_rr: no\n\tpriority: max\n}\n");
	assert_scheduled(SCHED_OTHER, 0, -20);
	assert_true(test_daemon_log_contains(&d, "scheduling: SCHED_OTHER at nice -20 (system.priority)", 0));
}

static void test_priority_min(void **state)
{
	(void)state;
	start_with("system {\n\tsched_rr: no\n\tpriority: min\n}\n");
	assert_scheduled(SCHED_OTHER, 0, 19);
}

static void test_priority_number(void **state)
{
	(void)state;
	start_with("system {\n\tsched_rr: no\n\tpriority: 5\n}\n");
	assert_scheduled(SCHED_OTHER, 0, 5);
	assert_daemon_serves(&d);
}

/* Refused SCHED_RR, conclaved runs at nice -20 instead, as corosync does. */
static void test_falls_back_to_nice(void **state)
{
	(void)state;
	assert_int_equal(test_daemon_start_without_realtime(&d, TEST_SINGLE_NODE_CONFIG), 0);
	assert_scheduled(SCHED_OTHER, 0, -20);
	assert_true(test_daemon_log_has(&d, "cannot set SCHED_RR at priority", "trying the highest nice", 0));
	assert_true(test_daemon_log_contains(
		&d, "scheduling: SCHED_OTHER at nice -20 (the fallback of system.sched_rr: yes)", 0));
	assert_daemon_serves(&d);
}

/* Not allowed SCHED_RR, conclaved tries nice -20 as corosync does, and,
 * not allowed that either, runs on as it was started. */
static void test_refused_without_privilege(void **state)
{
	(void)state;
	assert_int_equal(test_daemon_start_as(&d, TEST_SINGLE_NODE_CONFIG, NOBODY), 0);
	assert_scheduled(SCHED_OTHER, 0, started_nice);
	assert_true(test_daemon_log_has(&d, "cannot set SCHED_RR at priority", "trying the highest nice", 0));
	assert_true(test_daemon_log_has(&d, "cannot set nice -20", "runs at the priority it was started with",
					0));
	assert_daemon_serves(&d);
}

static void test_priority_refused_without_privilege(void **state)
{
	(void)state;
	assert_int_equal(
		test_daemon_start_as(
			&d, TEST_SINGLE_NODE_CONFIG "system {\n\tsched_rr: no\n\tpriority: max\n}\n", NOBODY),
		0);
	assert_scheduled(SCHED_OTHER, 0, started_nice);
	assert_true(test_daemon_log_contains(&d, "cannot set nice -20 (system.priority)", 0));
	assert_daemon_serves(&d);
}

/* conclaved -c FILE with text in FILE: its exit status, stderr in out. */
static int run_with_config(const char *text, char *out, size_t size)
{
	char dir[] = "/tmp/conclave-sched-XXXXXX", config[64], socket_path[64];
	const char *args[] = { "-f", "-c", config, "-s", socket_path, NULL };
	FILE *f;
	int status;

	assert_non_null(mkdtemp(dir));
	snprintf(config, sizeof(config), "%s/conclave.conf", dir);
	snprintf(socket_path, sizeof(socket_path), "%s/conclaved.sock", dir);
	f = fopen(config, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	status = run_conclaved(args, out, size);
	unlink(config);
	unlink(socket_path);
	rmdir(dir);
	return status;
}

static void test_invalid_values_refused(void **state)
{
	static const struct {
		const char *section;
		const char *error;
	} cases[] = {
		{ "system {\n\tsched_rr: maybe\n}\n",
		  ":2: error: invalid value 'maybe' for sched_rr: expected one of yes, no" },
		{ "system {\n\tsched_rr: no\n\tpriority: high\n}\n",
		  ":3: error: invalid value 'high' for priority: expected max, min or an integer" },
		{ "system {\n\tmove_to_root_cgroup: always\n}\n",
		  ":2: error: invalid value 'always' for move_to_root_cgroup: expected one of auto, yes, no" },
	};
	char out[4096];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(run_with_config(cases[i].section, out, sizeof(out)), 1);
		assert_non_null(strstr(out, cases[i].error));
	}
}

#define RUN(t) cmocka_unit_test_teardown(t, stop)

int main(void)
{
	const struct CMUnitTest tests[] = {
		RUN(test_round_robin_without_a_file),
		RUN(test_round_robin_by_default),
		RUN(test_round_robin_ignores_priority),
		RUN(test_sched_rr_no),
		RUN(test_priority_max),
		RUN(test_priority_min),
		RUN(test_priority_number),
		RUN(test_falls_back_to_nice),
		RUN(test_refused_without_privilege),
		RUN(test_priority_refused_without_privilege),
		cmocka_unit_test(test_invalid_values_refused),
	};

	return cmocka_run_group_tests_name("daemon_scheduling", tests, setup, NULL);
}
