/* conclavectl(8) end to end: the binary against a real conclaved, its output,
 * its messages and its exit statuses. Tests that need the cmap service skip
 * while conclaved does not offer it.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <corosync/cmap.h>

#include "harness.h"

#define OUTPUT_MAX 8192

static struct test_daemon daemon_under_test;

struct run {
	int status; /* exit status, or -1 when killed by a signal */
	char out[OUTPUT_MAX];
	char err[OUTPUT_MAX];
};

struct child {
	pid_t pid;
	int out;
	int err;
	size_t out_len;
	size_t err_len;
};

static int start(void **state)
{
	return test_daemon_start(&daemon_under_test, SINGLE_NODE_CONFIG);
}

static int stop(void **state)
{
	return test_daemon_stop(&daemon_under_test);
}

static void skip_unless_cmap_offered(void)
{
	cmap_handle_t h;
	cs_error_t err = cmap_initialize(&h);

	if (err == CS_ERR_NOT_SUPPORTED) {
		print_message("conclaved does not offer the cmap service: skipped\n");
		skip();
	}
	assert_int_equal(err, CS_OK);
	assert_int_equal(cmap_finalize(h), CS_OK);
}

static void spawn(struct child *c, const char *const args[])
{
	const char *argv[16] = { "conclavectl" };
	int out[2], err[2];
	size_t n = 1;

	while (args[n - 1] != NULL && n < 15) {
		argv[n] = args[n - 1];
		n++;
	}
	argv[n] = NULL;
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	assert_int_equal(pipe2(err, O_CLOEXEC), 0);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		dup2(out[1], STDOUT_FILENO);
		dup2(err[1], STDERR_FILENO);
		execv(CONCLAVECTL_PATH, (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	c->out = out[0];
	c->err = err[0];
	c->out_len = c->err_len = 0;
}

/* Reads what is available from fd into buf; false at end of file. */
static bool read_some(int fd, char *buf, size_t *len)
{
	ssize_t n = read(fd, buf + *len, OUTPUT_MAX - 1 - *len);

	if (n > 0)
		*len += (size_t)n;
	buf[*len] = '\0';
	return n > 0 || (n < 0 && errno == EINTR);
}

static int count_lines(const char *text)
{
	int lines = 0;

	for (const char *p = text; (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	return lines;
}

/* What collect() waits for: both pipes closed, a text on stderr, or a
 * number of lines on stdout. */
struct wanted {
	const char *err_text;
	int out_lines;
};

static bool got(const struct run *r, const struct wanted *w)
{
	if (w == NULL)
		return false;
	if (w->err_text != NULL)
		return strstr(r->err, w->err_text) != NULL;
	return count_lines(r->out) >= w->out_lines;
}

/* Collects output until w is met (NULL: until both pipes close), for at
 * most 5 s. */
static void collect(struct child *c, struct run *r, const struct wanted *w)
{
	bool out_open = true, err_open = true;

	for (int waited = 0; (out_open || err_open) && !got(r, w) && waited < 5000; waited += 10) {
		struct pollfd fds[2] = { { .fd = out_open ? c->out : -1, .events = POLLIN },
					 { .fd = err_open ? c->err : -1, .events = POLLIN } };

		if (poll(fds, 2, 10) <= 0)
			continue;
		if (fds[0].revents)
			out_open = read_some(c->out, r->out, &c->out_len);
		if (fds[1].revents)
			err_open = read_some(c->err, r->err, &c->err_len);
	}
}

/* Waits for the child's output and exit; one still running after 5 s is
 * killed and fails the test. */
static void finish(struct child *c, struct run *r)
{
	pid_t done = 0;
	int status;

	collect(c, r, NULL);
	close(c->out);
	close(c->err);
	for (int waited = 0; done == 0 && waited < 5000; waited += 10) {
		done = waitpid(c->pid, &status, WNOHANG);
		if (done == 0)
			usleep(10 * 1000);
	}
	if (done == 0) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, &status, 0);
		fail_msg("conclavectl did not exit; its stderr: %s", r->err);
	}
	assert_int_equal(done, c->pid);
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static struct run *ctl(const char *const args[])
{
	static struct run r;
	struct child c;

	memset(&r, 0, sizeof(r));
	spawn(&c, args);
	finish(&c, &r);
	return &r;
}

#define CTL(...) ctl((const char *const[]){ __VA_ARGS__, NULL })

static void assert_ok(const struct run *r, const char *out)
{
	if (r->status != 0)
		print_error("conclavectl failed with %d: %s", r->status, r->err);
	assert_int_equal(r->status, 0);
	assert_string_equal(r->out, out);
	assert_string_equal(r->err, "");
}

/* ---- without the service ---------------------------------------------------- */

static void test_help(void **state)
{
	struct run *r = CTL("--help");

	assert_int_equal(r->status, 0);
	assert_non_null(strstr(r->out, "usage: conclavectl cmap [-m MAP] get KEY"));
	assert_string_equal(r->err, "");
}

static void test_usage_errors_exit_2(void **state)
{
	static const char *const bad[][7] = {
		{ NULL },
		{ "quorom", NULL },
		{ "cmap", NULL },
		{ "cmap", "fetch", "test.k", NULL },
		{ "cmap", "get", NULL },
		{ "cmap", "get", "-q", NULL },
		{ "cmap", "set", "test.k", "u8", NULL },
		{ "cmap", "set", "test.k", "u9", "1", NULL },
		{ "cmap", "set", "-f", "/dev/null", "test.k", "u8", NULL },
		{ "cmap", "load", NULL },
		{ "cmap", "clear-stats", "everything", NULL },
		{ "cmap", "track", "-p", NULL },
		{ "cmap", "delete", NULL },
		{ "cmap", "delete", "-p", NULL },
		{ "cpg", "-x", NULL },
		{ "cfg", "--bogus", NULL },
		{ "cmap", "-m", NULL },
		{ "cmap", "-m", "confdb", "get", "test.k", NULL },
		{ "cmap", "-m", "stats", NULL },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct run *r = ctl(bad[i]);

		assert_int_equal(r->status, 2);
		assert_string_equal(r->out, "");
		assert_non_null(strstr(r->err, "usage: conclavectl"));
	}
}

static void test_values_that_do_not_parse_exit_2(void **state)
{
	static const char *const bad[][2] = {
		{ "u8", "256" },    { "u8", "-1" },
		{ "i8", "128" },    { "i8", "-129" },
		{ "u16", "65536" }, { "i32", "2147483648" },
		{ "u32", "1x" },    { "u64", "18446744073709551616" },
		{ "i64", "" },      { "flt", "one" },
		{ "dbl", "1.5.2" }, { "bin", "\\q" },
		{ "bin", "\\x4" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct run *r = CTL("cmap", "set", "test.k", bad[i][0], bad[i][1]);

		assert_int_equal(r->status, 2);
		assert_non_null(strstr(r->err, "is not a"));
	}
}

static void test_no_daemon_exits_3(void **state)
{
	char *saved = strdup(getenv("CONCLAVE_SOCKET"));
	struct run *r;

	setenv("CONCLAVE_SOCKET", "/tmp/conclave-test-no-such-dir/none.sock", 1);
	r = CTL("cmap", "get", "totem.cluster_name");
	setenv("CONCLAVE_SOCKET", saved, 1);
	free(saved);
	assert_int_equal(r->status, 3);
	assert_string_equal(r->out, "");
	assert_non_null(strstr(r->err, "CS_ERR_LIBRARY"));
}

/* ---- with the service -------------------------------------------------------- */

static void test_set_and_get_every_type(void **state)
{
	static const char *const cases[][4] = {
		{ "test.i8", "i8", "-128", "test.i8 (i8) = -128\n" },
		{ "test.u8", "u8", "255", "test.u8 (u8) = 255\n" },
		{ "test.i16", "i16", "-32768", "test.i16 (i16) = -32768\n" },
		{ "test.u16", "u16", "0xffff", "test.u16 (u16) = 65535\n" },
		{ "test.i32", "i32", "-2147483648", "test.i32 (i32) = -2147483648\n" },
		{ "test.u32", "u32", "4294967295", "test.u32 (u32) = 4294967295\n" },
		{ "test.i64", "i64", "-9223372036854775808", "test.i64 (i64) = -9223372036854775808\n" },
		{ "test.u64", "u64", "18446744073709551615", "test.u64 (u64) = 18446744073709551615\n" },
		{ "test.flt", "flt", "1.5", "test.flt (flt) = 1.500000\n" },
		{ "test.dbl", "dbl", "2.25", "test.dbl (dbl) = 2.250000\n" },
		{ "test.str", "str", "hello world", "test.str (str) = hello world\n" },
		{ "test.bin", "bin", "ab\\\\c\\x01\\x0a", "test.bin (bin) = ab\\\\c\\x01\\x0A\n" },
	};

	skip_unless_cmap_offered();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_ok(CTL("cmap", "set", cases[i][0], cases[i][1], cases[i][2]), "");
		assert_ok(CTL("cmap", "get", cases[i][0]), cases[i][3]);
	}
}

static void test_binary_values_keep_every_byte(void **state)
{
	cmap_handle_t h;
	char value[8];
	size_t len = sizeof(value);

	skip_unless_cmap_offered();
	assert_ok(CTL("cmap", "set", "test.raw", "bin", "\\x00\\xff\\\\z"), "");
	assert_int_equal(cmap_initialize(&h), CS_OK);
	assert_int_equal(cmap_get(h, "test.raw", value, &len, NULL), CS_OK);
	assert_int_equal(len, 4);
	assert_memory_equal(value, "\0\xff\\z", 4);
	assert_int_equal(cmap_finalize(h), CS_OK);
	assert_ok(CTL("cmap", "get", "test.raw"), "test.raw (bin) = \\x00\\xFF\\\\z\n");
}

static void test_list(void **state)
{
	skip_unless_cmap_offered();
	assert_ok(CTL("cmap", "set", "test.l.b", "u8", "2"), "");
	assert_ok(CTL("cmap", "set", "test.l.a", "str", "one"), "");
	assert_ok(CTL("cmap", "set", "test.m", "u8", "3"), "");
	assert_ok(CTL("cmap", "list", "test.l."), "test.l.a (str) = one\ntest.l.b (u8) = 2\n");
	assert_ok(CTL("cmap", "list", "test.none."), "");
	assert_non_null(strstr(CTL("cmap", "list")->out, "totem.cluster_name (str) = test\n"));
}

static void test_delete(void **state)
{
	struct run *r;

	skip_unless_cmap_offered();
	assert_ok(CTL("cmap", "set", "test.d", "u32", "1"), "");
	assert_ok(CTL("cmap", "delete", "test.d"), "");
	r = CTL("cmap", "get", "test.d");
	assert_int_equal(r->status, 1);
	assert_string_equal(r->out, "");
	assert_string_equal(r->err, "conclavectl: get test.d: no such key (CS_ERR_NOT_EXIST)\n");
	r = CTL("cmap", "delete", "test.d");
	assert_int_equal(r->status, 1);
	assert_non_null(strstr(r->err, "CS_ERR_NOT_EXIST"));
}

static void test_refusals_exit_1(void **state)
{
	struct run *r;

	skip_unless_cmap_offered();
	r = CTL("cmap", "set", "totem.cluster_name", "str", "other");
	assert_int_equal(r->status, 1);
	assert_string_equal(r->err,
			    "conclavectl: set totem.cluster_name: the key is read-only (CS_ERR_ACCESS)\n");
	r = CTL("cmap", "set", "a b", "u8", "1");
	assert_int_equal(r->status, 1);
	assert_non_null(strstr(r->err, "CS_ERR_NAME_TOO_LONG"));
	r = CTL("cmap", "delete", "totem.cluster_name");
	assert_int_equal(r->status, 1);
	assert_non_null(strstr(r->err, "CS_ERR_ACCESS"));
	assert_ok(CTL("cmap", "get", "totem.cluster_name"), "totem.cluster_name (str) = test\n");
}

static void test_stats_map(void **state)
{
	struct run *r;

	skip_unless_cmap_offered();
	r = CTL("cmap", "-m", "stats", "get", "stats.ipcs.global.active");
	assert_int_equal(r->status, 0);
	assert_non_null(strstr(r->out, "stats.ipcs.global.active (u64) = "));
	r = CTL("cmap", "-m", "stats", "list", "stats.ipcs.global.");
	assert_int_equal(r->status, 0);
	assert_non_null(strstr(r->out, "stats.ipcs.global.active (u64) = "));
	assert_non_null(strstr(r->out, "stats.ipcs.global.closed (u64) = "));
	r = CTL("cmap", "-m", "stats", "set", "stats.ipcs.global.active", "u64", "0");
	assert_int_equal(r->status, 1);
	assert_non_null(strstr(r->err, "CS_ERR_ACCESS"));
	r = CTL("cmap", "-m", "stats", "get", "totem.cluster_name");
	assert_int_equal(r->status, 1);
	assert_non_null(strstr(r->err, "CS_ERR_NOT_EXIST"));
	assert_ok(CTL("cmap", "-m", "icmap", "get", "totem.cluster_name"),
		  "totem.cluster_name (str) = test\n");
}

/* Starts `conclavectl cmap track ARGS` and waits until its track is in place. */
static void start_tracking(struct child *c, struct run *r, const char *const args[])
{
	memset(r, 0, sizeof(*r));
	spawn(c, args);
	collect(c, r, &(struct wanted){ .err_text = "conclavectl: tracking" });
	assert_non_null(strstr(r->err, "conclavectl: tracking"));
}

/* Waits for `lines` lines of changes, then interrupts the tracker, which
 * must exit with 0. */
static void stop_tracking(struct child *c, struct run *r, int lines)
{
	collect(c, r, &(struct wanted){ .out_lines = lines });
	kill(c->pid, SIGTERM);
	finish(c, r);
	assert_int_equal(r->status, 0);
}

static void test_track_a_key(void **state)
{
	struct child c;
	struct run r;

	skip_unless_cmap_offered();
	start_tracking(&c, &r, (const char *const[]){ "cmap", "track", "test.t", NULL });
	assert_ok(CTL("cmap", "set", "test.t", "u8", "1"), "");
	assert_ok(CTL("cmap", "set", "test.t.child", "u8", "1"), "");
	assert_ok(CTL("cmap", "set", "test.t", "str", "one"), "");
	assert_ok(CTL("cmap", "delete", "test.t"), "");
	stop_tracking(&c, &r, 3);
	assert_string_equal(r.out, "create> test.t (u8) = 1\n"
				   "modify> test.t (str) = one\n"
				   "delete> test.t (str) = one\n");
}

static void test_track_a_prefix(void **state)
{
	struct child c;
	struct run r;

	skip_unless_cmap_offered();
	start_tracking(&c, &r, (const char *const[]){ "cmap", "track", "-p", "test.p.", NULL });
	assert_ok(CTL("cmap", "set", "test.p.a", "u16", "7"), "");
	assert_ok(CTL("cmap", "set", "test.q", "u16", "7"), "");
	assert_ok(CTL("cmap", "set", "test.p.b", "bin", "\\x01"), "");
	stop_tracking(&c, &r, 2);
	assert_string_equal(r.out, "create> test.p.a (u16) = 7\n"
				   "create> test.p.b (bin) = \\x01\n");
}

static void test_track_ends_with_the_daemon(void **state)
{
	struct child c;
	struct run r;

	skip_unless_cmap_offered();
	start_tracking(&c, &r, (const char *const[]){ "cmap", "track", "test.gone", NULL });
	test_daemon_kill(&daemon_under_test);
	finish(&c, &r);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "CS_ERR_LIBRARY"));
}

#define TEST(t) cmocka_unit_test_setup_teardown(t, start, stop)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_help),
		TEST(test_usage_errors_exit_2),
		TEST(test_values_that_do_not_parse_exit_2),
		TEST(test_no_daemon_exits_3),
		TEST(test_set_and_get_every_type),
		TEST(test_binary_values_keep_every_byte),
		TEST(test_list),
		TEST(test_delete),
		TEST(test_refusals_exit_1),
		TEST(test_stats_map),
		TEST(test_track_a_key),
		TEST(test_track_a_prefix),
		TEST(test_track_ends_with_the_daemon),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
