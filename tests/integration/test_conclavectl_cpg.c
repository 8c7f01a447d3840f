/* conclavectl cpg against a real conclaved: groups and members in
 * corosync-cpgtool's layout. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <corosync/cpg.h>

#include "harness.h"

static struct test_daemon daemon_under_test;

static int start(void **state)
{
	return test_daemon_start(&daemon_under_test, SINGLE_NODE_CONFIG);
}

static int stop(void **state)
{
	return test_daemon_stop(&daemon_under_test);
}

/* Runs conclavectl with `arguments`; its output in out, its exit status. */
static int run_tool(const char *arguments, char *out, size_t size)
{
	char command[512];
	size_t used = 0, n;
	FILE *pipe;
	int status;

	snprintf(command, sizeof(command), "%s %s 2>&1", CONCLAVECTL_PATH, arguments);
	pipe = popen(command, "r");
	assert_non_null(pipe);
	while (used < size - 1 && (n = fread(out + used, 1, size - 1 - used, pipe)) > 0)
		used += n;
	out[used] = '\0';
	status = pclose(pipe);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void join(cpg_handle_t *h, const char *name, uint32_t length)
{
	struct cpg_name group = { .length = length };

	memcpy(group.value, name, length);
	assert_int_equal(cpg_initialize(h, NULL), CS_OK);
	assert_int_equal(cpg_join(*h, &group), CS_OK);
}

static void test_lists_groups_and_members(void **state)
{
	cpg_handle_t a, b;
	char out[4096], line[128];

	assert_int_equal(run_tool("cpg", out, sizeof(out)), 0);
	assert_string_equal(out, "Group Name\t       PID\t   Node ID\n");
	join(&a, "alpha", 5);
	join(&b, "bin\x01\\", 5);
	assert_int_equal(run_tool("cpg", out, sizeof(out)), 0);
	snprintf(line, sizeof(line), "alpha\n\t\t%10u\t%10u (127.0.0.1)\n", (unsigned)getpid(), 1u);
	assert_non_null(strstr(out, line));
	snprintf(line, sizeof(line), "bin\\x01\\\\\n\t\t%10u\t%10u (127.0.0.1)\n", (unsigned)getpid(), 1u);
	assert_non_null(strstr(out, line));
	assert_int_equal(cpg_finalize(a), CS_OK);
	assert_int_equal(cpg_finalize(b), CS_OK);
}

static void test_usage_and_no_daemon(void **state)
{
	char out[4096];

	assert_int_equal(run_tool("cpg extra", out, sizeof(out)), 2);
	assert_non_null(strstr(out, "conclavectl cpg"));
	test_daemon_kill(&daemon_under_test);
	assert_int_equal(run_tool("cpg", out, sizeof(out)), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lists_groups_and_members, start, stop),
		cmocka_unit_test_setup_teardown(test_usage_and_no_daemon, start, stop),
	};

	return cmocka_run_group_tests_name("conclavectl_cpg", tests, NULL, NULL);
}
