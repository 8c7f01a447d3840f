/* libsam against a real conclaved: each scenario of sam-scenarios.c runs as a
 * process of its own (sam_register() forks it into a supervisor and an
 * application), and its output, its exit status and the cmap keys it leaves
 * are compared with corosync 3.1.7's, as observed by running the same source
 * on Debian's libsam against corosync. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <corosync/cmap.h>

#include "harness.h"

#define OUTPUT_MAX 8192
#define SCENARIO_TIMEOUT_MS 60000

static struct test_daemon daemon_under_test;

struct scenario_run {
	pid_t pid; /* the supervisor's, which names its cmap keys */
	int status;
	char out[OUTPUT_MAX];
};

static int start_single(void **state)
{
	return test_daemon_start(&daemon_under_test, SINGLE_NODE_CONFIG);
}

static int start_three(void **state)
{
	return test_daemon_start(&daemon_under_test, INQUORATE_THREE_NODE_CONFIG);
}

static int stop(void **state)
{
	return test_daemon_stop(&daemon_under_test);
}

static void read_output(int fd, char *out)
{
	ssize_t n = pread(fd, out, OUTPUT_MAX - 1, 0);
	out[n > 0 ? n : 0] = '\0';
}

/* Runs the scenario with its output in a file (the supervisor and each
 * instance write to it); one still running after the timeout is killed,
 * with its process group, and fails the test. */
static void run_scenario(const char *name, struct scenario_run *r)
{
	char path[] = "/tmp/sam-scenario-XXXXXX";
	int fd = mkstemp(path), status = 0;
	pid_t done = 0;

	assert_true(fd >= 0);
	unlink(path);
	r->pid = fork();
	assert_true(r->pid >= 0);
	if (r->pid == 0) {
		setpgid(0, 0);
		dup2(fd, STDOUT_FILENO);
		execl(SAM_SCENARIOS_PATH, "sam-scenarios", name, (char *)NULL);
		_exit(127);
	}
	for (int waited = 0; done == 0 && waited < SCENARIO_TIMEOUT_MS; waited += 10) {
		done = waitpid(r->pid, &status, WNOHANG);
		if (done == 0)
			usleep(10 * 1000);
	}
	read_output(fd, r->out);
	close(fd);
	if (done == 0) {
		kill(-r->pid, SIGKILL);
		waitpid(r->pid, &status, 0);
		fail_msg("sam-scenarios %s did not finish; it wrote:\n%s", name, r->out);
	}
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void expect_scenario(const char *name, const char *out, int status, struct scenario_run *r)
{
	run_scenario(name, r);
	assert_string_equal(r->out, out);
	assert_int_equal(r->status, status);
}

/* The keys left under resources.process.PID., as "name (type) = value"
 * lines without the prefix, last_updated's value left out. */
static void supervisor_keys(pid_t pid, char *out, size_t size)
{
	char prefix[64], key[CMAP_KEYNAME_MAXLEN + 1];
	cmap_handle_t h;
	cmap_iter_handle_t iter;
	size_t len = 0;
	cmap_value_types_t type;

	snprintf(prefix, sizeof(prefix), "resources.process.%d.", (int)pid);
	out[0] = '\0';
	assert_int_equal(cmap_initialize(&h), CS_OK);
	assert_int_equal(cmap_iter_init(h, prefix, &iter), CS_OK);
	while (cmap_iter_next(h, iter, key, NULL, &type) == CS_OK) {
		const char *name = key + strlen(prefix);
		char *text = NULL;
		uint64_t number = 0;

		if (type == CMAP_VALUETYPE_STRING && cmap_get_string(h, key, &text) == CS_OK)
			len += snprintf(out + len, size - len, "%s = %s\n", name, text);
		else if (strcmp(name, "last_updated") == 0)
			len += snprintf(out + len, size - len, "%s (u64)\n", name);
		else if (cmap_get_uint64(h, key, &number) == CS_OK)
			len += snprintf(out + len, size - len, "%s = %llu\n", name,
					(unsigned long long)number);
		free(text);
		assert_true(len < size);
	}
	cmap_iter_finalize(h, iter);
	cmap_finalize(h);
}

static void assert_supervisor_keys(pid_t pid, const char *expected)
{
	char keys[1024];
	supervisor_keys(pid, keys, sizeof(keys));
	assert_string_equal(keys, expected);
}

/* ---- every call's errors, without and with sam_register --------------------- */

static void test_calls_and_their_errors(void **state)
{
	struct scenario_run r;
	expect_scenario("calls",
			"sam_finalize: CS_ERR_BAD_HANDLE\n"
			"sam_start: CS_ERR_BAD_HANDLE\n"
			"sam_stop: CS_ERR_BAD_HANDLE\n"
			"sam_hc_send: CS_ERR_BAD_HANDLE\n"
			"sam_warn_signal_set: CS_ERR_BAD_HANDLE\n"
			"sam_register: CS_ERR_BAD_HANDLE\n"
			"sam_hc_callback_register: CS_ERR_BAD_HANDLE\n"
			"sam_data_getsize: CS_ERR_BAD_HANDLE\n"
			"sam_data_getsize(NULL): CS_ERR_INVALID_PARAM\n"
			"sam_data_restore: CS_ERR_BAD_HANDLE\n"
			"sam_data_restore(NULL): CS_ERR_INVALID_PARAM\n"
			"sam_data_store: CS_ERR_BAD_HANDLE\n"
			"sam_mark_failed: CS_ERR_BAD_HANDLE\n"
			"sam_initialize policy 0x0: CS_ERR_INVALID_PARAM\n"
			"sam_initialize policy 0x3: CS_ERR_INVALID_PARAM\n"
			"sam_initialize policy 0x4: CS_ERR_INVALID_PARAM\n"
			"sam_initialize policy 0x8: CS_ERR_INVALID_PARAM\n"
			"sam_initialize policy 0x10: CS_ERR_INVALID_PARAM\n"
			"sam_initialize policy 0x18: CS_ERR_INVALID_PARAM\n"
			"sam_initialize policy 0x21: CS_ERR_INVALID_PARAM\n"
			"sam_initialize: success\n"
			"sam_initialize again: CS_ERR_BAD_HANDLE\n"
			"sam_start: CS_ERR_BAD_HANDLE\n"
			"sam_stop: CS_ERR_BAD_HANDLE\n"
			"sam_hc_send: CS_ERR_BAD_HANDLE\n"
			"sam_hc_callback_register: CS_ERR_BAD_HANDLE\n"
			"sam_mark_failed: CS_ERR_BAD_HANDLE\n"
			"sam_warn_signal_set: success\n"
			"size: 0\n"
			"sam_data_restore nothing stored: success\n"
			"sam_data_store abc: success\n"
			"size: 4\n"
			"sam_data_restore into 3: CS_ERR_INVALID_PARAM\n"
			"sam_data_restore into 16: success\n"
			"restored: abc\n"
			"sam_data_store wxyz: success\n"
			"sam_data_restore into 16: success\n"
			"restored: wxyz\n"
			"sam_data_store(NULL, 99): success\n"
			"size: 0\n"
			"sam_finalize: success\n"
			"sam_finalize again: CS_ERR_BAD_HANDLE\n"
			"sam_data_getsize: CS_ERR_BAD_HANDLE\n"
			"sam_data_store: CS_ERR_BAD_HANDLE\n"
			"sam_warn_signal_set: CS_ERR_BAD_HANDLE\n"
			"sam_register: CS_ERR_BAD_HANDLE\n"
			"sam_initialize after finalize: CS_ERR_BAD_HANDLE\n",
			0, &r);
}

/* An application that exits while stopped ends its supervisor with its
 * exit status. */
static void test_register_start_stop_finalize(void **state)
{
	struct scenario_run r;
	expect_scenario("register",
			"sam_initialize: success\n"
			"sam_data_store before: success\n"
			"sam_register: success\n"
			"instance 1\n"
			"sam_register again: CS_ERR_BAD_HANDLE\n"
			"sam_hc_send: CS_ERR_BAD_HANDLE\n"
			"sam_stop: CS_ERR_BAD_HANDLE\n"
			"sam_mark_failed: CS_ERR_INVALID_PARAM\n"
			"sam_hc_callback_register: CS_ERR_INVALID_PARAM\n"
			"size 7: before\n"
			"sam_warn_signal_set: success\n"
			"sam_start: success\n"
			"sam_start again: CS_ERR_BAD_HANDLE\n"
			"sam_hc_callback_register: CS_ERR_BAD_HANDLE\n"
			"sam_hc_send: success\n"
			"sam_stop: success\n"
			"sam_start: success\n"
			"sam_finalize: success\n"
			"sam_hc_send: CS_ERR_BAD_HANDLE\n"
			"sam_start: CS_ERR_BAD_HANDLE\n"
			"sam_data_getsize: CS_ERR_BAD_HANDLE\n",
			3, &r);
}

static void test_no_daemon(void **state)
{
	struct scenario_run r;
	setenv("CONCLAVE_SOCKET", "/nonexistent/conclaved.sock", 1);
	expect_scenario("no-daemon",
			"sam_initialize quorum: CS_ERR_LIBRARY\n"
			"sam_initialize cmap: success\n"
			"sam_register: CS_ERR_LIBRARY\n",
			0, &r);
}

/* ---- the recovery policies ---------------------------------------------------- */

/* Health checks keep it alive, a stop suspends them, a missed one brings
 * SIGTERM; the supervisor exits with the application's status. */
static void test_policy_quit(void **state)
{
	struct scenario_run r;
	expect_scenario("quit",
			"sam_register: success\n"
			"instance 1\n"
			"sam_start: success\n"
			"sam_stop: success\n"
			"stopped for two intervals: not killed\n"
			"sam_start: success\n"
			"warning signal SIGTERM\n",
			7, &r);
}

/* An ignored warning is followed by SIGKILL one interval later, and the
 * supervisor then exits 0, as corosync's does. */
static void test_policy_quit_after_sigkill(void **state)
{
	struct scenario_run r;
	expect_scenario("quit-ignored", "sam_start: success\n", 0, &r);
}

/* Each failure starts the next instance with the data stored so far; the
 * warning signal chosen by an instance is the one its supervisor sends. */
static void test_policy_restart(void **state)
{
	struct scenario_run r;
	expect_scenario("restart",
			"instance 1\n"
			"sam_data_store: success\n"
			"sam_start: success\n"
			"instance 2\n"
			"restored: one\n"
			"sam_warn_signal_set SIGUSR1: success\n"
			"sam_start: success\n"
			"warned by SIGUSR1\n"
			"sam_data_store: success\n"
			"instance 3\n"
			"restored: two, warned\n",
			4, &r);
}

/* The library's thread keeps the checks going while the callback answers 0;
 * the callback registered last is the one asked, once per interval. */
static void test_hc_callback(void **state)
{
	struct scenario_run r;
	expect_scenario("hc-callback",
			"instance 1\n"
			"sam_hc_callback_register(NULL): CS_ERR_INVALID_PARAM\n"
			"sam_hc_callback_register failing: success\n"
			"sam_hc_callback_register counting: success\n"
			"sam_start: success\n"
			"instance 2\n"
			"the callback ran 3 times\n",
			0, &r);
}

/* The CMAP flag: the keys follow the state, and a clean exit removes them. */
static void test_policy_cmap(void **state)
{
	struct scenario_run r;
	expect_scenario("cmap",
			"sam_register: success\n"
			"recovery = quit\n"
			"poll_period = 1000\n"
			"state = stopped\n"
			"sam_start: success\n"
			"state = running\n"
			"sam_hc_send: success\n"
			"last_updated advanced: yes\n"
			"sam_stop: success\n"
			"state = stopped\n",
			0, &r);
	assert_supervisor_keys(r.pid, "");
}

/* sam_mark_failed: SIGKILL without a warning, state "failed", and the
 * supervisor quits although the policy is RESTART. */
static void test_mark_failed(void **state)
{
	struct scenario_run r;
	expect_scenario("mark-failed",
			"recovery = restart\n"
			"sam_start: success\n"
			"sam_mark_failed\n",
			0, &r);
	assert_supervisor_keys(r.pid, "last_updated (u64)\n"
				      "poll_period = 1000\n"
				      "recovery = restart\n"
				      "state = failed\n");
}

/* sam_start waits in "waiting for quorum" until votequorum_setexpected(1)
 * makes this node quorate; the loss of quorum brings the warning signal. */
static void test_policy_quorum_quit(void **state)
{
	struct scenario_run r;
	expect_scenario("quorum-quit",
			"sam_initialize: success\n"
			"sam_register: success\n"
			"start returned after setexpected was called: yes\n"
			"state while sam_start waited: waiting for quorum\n"
			"quorate before setexpected: 0\n"
			"votequorum_setexpected(1): success\n"
			"sam_start: success\n"
			"quorate: 1\n"
			"state = running\n"
			"votequorum_setexpected(4) while quorate: CS_ERR_INVALID_PARAM\n"
			"cmap set quorum.expected_votes 4: success\n"
			"warning signal SIGTERM\n",
			7, &r);
	assert_supervisor_keys(r.pid, "last_updated (u64)\n"
				      "poll_period = 0\n"
				      "recovery = quit\n"
				      "state = failed\n");
}

/* The restarted instance's sam_start waits for quorum again. */
static void test_policy_quorum_restart(void **state)
{
	struct scenario_run r;
	expect_scenario("quorum-restart",
			"sam_initialize: success\n"
			"instance 1\n"
			"start returned after setexpected was called: yes\n"
			"quorate before setexpected: 0\n"
			"votequorum_setexpected(1): success\n"
			"sam_start: success\n"
			"quorate: 1\n"
			"votequorum_setexpected(4) while quorate: CS_ERR_INVALID_PARAM\n"
			"cmap set quorum.expected_votes 4: success\n"
			"instance 2\n"
			"start returned after setexpected was called: yes\n"
			"quorate before setexpected: 0\n"
			"votequorum_setexpected(1): success\n"
			"sam_start: success\n"
			"quorate: 1\n"
			"sam_stop: success\n",
			5, &r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_calls_and_their_errors),
		cmocka_unit_test_setup_teardown(test_register_start_stop_finalize, start_single, stop),
		cmocka_unit_test_setup_teardown(test_policy_quit, start_single, stop),
		cmocka_unit_test_setup_teardown(test_policy_quit_after_sigkill, start_single, stop),
		cmocka_unit_test_setup_teardown(test_policy_restart, start_single, stop),
		cmocka_unit_test_setup_teardown(test_hc_callback, start_single, stop),
		cmocka_unit_test_setup_teardown(test_policy_cmap, start_single, stop),
		cmocka_unit_test_setup_teardown(test_mark_failed, start_single, stop),
		cmocka_unit_test_setup_teardown(test_policy_quorum_quit, start_three, stop),
		cmocka_unit_test_setup_teardown(test_policy_quorum_restart, start_three, stop),
		cmocka_unit_test(test_no_daemon),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
