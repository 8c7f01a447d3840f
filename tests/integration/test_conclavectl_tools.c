/* conclavectl's quorum, cfg and cpg subcommands and cmap's additions against a
 * real conclaved. Their output is held to Debian's corosync-quorumtool,
 * corosync-cfgtool and corosync-cpgtool run on Conclave's libraries against
 * the same conclaved: the same text (the date aside) and the same exit
 * status. Without Debian's corosync package those comparisons are skipped
 * (under CI=true they fail); the rest runs everywhere. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <corosync/cfg.h>
#include <corosync/cmap.h>
#include <corosync/cpg.h>

#include "harness.h"

#define OUTPUT_MAX 16384

/* Node 1 (alpha, two links) of two, with names: what quorumtool's names,
 * -a and cfgtool's links show. */
static const char TWO_LINK_CONFIG[] =
	"totem {\n\tversion: 2\n\tcluster_name: pair\n"
	"\tinterface {\n\t\tlinknumber: 1\n\t\tknet_transport: sctp\n\t}\n}\n"
	"nodelist {\n"
	"\tnode {\n\t\tnodeid: 1\n\t\tname: alpha\n\t\tring0_addr: 127.0.0.1\n\t\tring1_addr: ::1\n\t}\n"
	"\tnode {\n\t\tnodeid: 2\n\t\tname: beta\n\t\tring0_addr: 192.0.2.2\n\t\tring1_addr: 2001:db8::2\n\t}\n"
	"}\n"
	"quorum {\n\tprovider: corosync_votequorum\n\ttwo_node: 1\n}\n";

static struct test_daemon daemon_under_test;

struct output {
	int status; /* exit status, or -1 when killed by a signal */
	char text[OUTPUT_MAX];
};

static int start_three(void **state)
{
	return test_daemon_start(&daemon_under_test, INQUORATE_THREE_NODE_CONFIG);
}

static int start_two(void **state)
{
	return test_daemon_start(&daemon_under_test, TWO_LINK_CONFIG);
}

static int start_single(void **state)
{
	return test_daemon_start(&daemon_under_test, SINGLE_NODE_CONFIG);
}

static int stop(void **state)
{
	return test_daemon_stop(&daemon_under_test);
}

/* Leaves out the line "Date: ...", which no two runs share. */
static void drop_date(char *text)
{
	char *line = strstr(text, "Date:");

	if (line != NULL && (line == text || line[-1] == '\n')) {
		char *end = strchr(line, '\n');
		memmove(line, end ? end + 1 : line + strlen(line), strlen(end ? end + 1 : "") + 1);
	}
}

/* Runs a shell command line; its stdout and stderr in out->text. */
static void run(struct output *out, const char *format, ...)
{
	char command[1024];
	size_t used = 0, n;
	va_list ap;
	FILE *pipe;
	int status;

	va_start(ap, format);
	vsnprintf(command, sizeof(command) - 8, format, ap);
	va_end(ap);
	strcat(command, " 2>&1");
	pipe = popen(command, "r");
	assert_non_null(pipe);
	while (used < OUTPUT_MAX - 1 && (n = fread(out->text + used, 1, OUTPUT_MAX - 1 - used, pipe)) > 0)
		used += n;
	out->text[used] = '\0';
	status = pclose(pipe);
	out->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	drop_date(out->text);
}

static struct output *ctl(const char *arguments)
{
	static struct output out;
	run(&out, "%s %s", CONCLAVECTL_PATH, arguments);
	return &out;
}

static void assert_ctl(const char *arguments, int status, const char *text)
{
	struct output *out = ctl(arguments);

	if (out->status != status || strcmp(out->text, text) != 0)
		print_error("conclavectl %s exited %d:\n%s", arguments, out->status, out->text);
	assert_int_equal(out->status, status);
	assert_string_equal(out->text, text);
}

/* ---- beside Debian's tools --------------------------------------------------- */

static void skip_without_debian_tools(void)
{
	if (access("/usr/sbin/corosync-quorumtool", X_OK) == 0)
		return;
	if (getenv("CI") != NULL && strcmp(getenv("CI"), "true") == 0)
		fail_msg("Debian's corosync package is not installed (tools/install-deps installs it)");
	print_message("Debian's corosync tools are not installed: skipped\n");
	skip();
}

/* `corosync-TOOL ARGS` on Conclave's libraries and `conclavectl COMMAND
 * ARGS` print the same and exit the same. */
static void assert_same(const char *tool, const char *command, const char *arguments)
{
	struct output theirs, ours;

	/* Leaks in Debian's tools are theirs: only the preloaded sanitizer sees them. */
	run(&theirs,
	    "ASAN_OPTIONS=detect_leaks=0 LD_LIBRARY_PATH=%s:%s LD_PRELOAD=%s /usr/sbin/corosync-%s %s",
	    CLIENT_LIB_DIR, COMMON_LIB_DIR, TOOL_PRELOAD, tool, arguments);
	run(&ours, "%s %s %s", CONCLAVECTL_PATH, command, arguments);
	if (theirs.status != ours.status || strcmp(theirs.text, ours.text) != 0)
		print_error("corosync-%s %s: exit %d\n%s\nconclavectl %s %s: exit %d\n%s\n", tool, arguments,
			    theirs.status, theirs.text, command, arguments, ours.status, ours.text);
	assert_string_equal(ours.text, theirs.text);
	assert_int_equal(ours.status, theirs.status);
}

static void join(cpg_handle_t *h, const char *name, uint32_t length)
{
	struct cpg_name group = { .length = length };

	memcpy(group.value, name, length);
	assert_int_equal(cpg_initialize(h, NULL), CS_OK);
	assert_int_equal(cpg_join(*h, &group), CS_OK);
}

static void test_quorum_as_quorumtool(void **state)
{
	static const char *const cases[] = {
		"-s",      "",     "-l",   "-l -a",     "-l -i -H", "-s -p -o i", "-l -o n",
		"-m -e 0", "-e 0", "-o x", "-v 0 -n 2", "-n 0",     "-f",         "-s -H",
		"-e 1",    "-s",   "-v 2", "-s -p",     "-l -o i",
	};

	skip_without_debian_tools();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_same("quorumtool", "quorum", cases[i]);
}

static void test_cfg_and_cpg_as_their_tools(void **state)
{
	static const char *const cfg_cases[] = { "-s",   "-s -b", "-n",   "-a 1", "-a 2",
						 "-a 9", "-a x",  "-k 0", "-R",   "-L" };
	static const char *const cpg_cases[] = { "", "-d ,", "-n", "-n -d :", "-e", "-d '' -n" };
	cpg_handle_t a, b;

	skip_without_debian_tools();
	for (size_t i = 0; i < sizeof(cfg_cases) / sizeof(cfg_cases[0]); i++)
		assert_same("cfgtool", "cfg", cfg_cases[i]);
	assert_same("cpgtool", "cpg", "");
	join(&a, "alpha", 5);
	join(&b, "bin\x01\\", 5);
	for (size_t i = 0; i < sizeof(cpg_cases) / sizeof(cpg_cases[0]); i++)
		assert_same("cpgtool", "cpg", cpg_cases[i]);
	assert_int_equal(cpg_finalize(a), CS_OK);
	assert_int_equal(cpg_finalize(b), CS_OK);
}

/* Names from the nodelist, several links and their transports. */
static void test_names_and_links_as_the_tools(void **state)
{
	static const char *const quorum_cases[] = { "-s", "-l -a", "-l -a -i", "-s -H -p", "-l -o n" };
	static const char *const cfg_cases[] = { "-s", "-s -b", "-n", "-a 1", "-a 2" };

	skip_without_debian_tools();
	for (size_t i = 0; i < sizeof(quorum_cases) / sizeof(quorum_cases[0]); i++)
		assert_same("quorumtool", "quorum", quorum_cases[i]);
	for (size_t i = 0; i < sizeof(cfg_cases) / sizeof(cfg_cases[0]); i++)
		assert_same("cfgtool", "cfg", cfg_cases[i]);
}

/* ---- conclavectl's own ---------------------------------------------------------- */

static void test_version_help_and_bare(void **state)
{
	struct output *out = ctl("--version");

	assert_int_equal(out->status, 0);
	assert_non_null(strstr(out->text, "conclavectl (Conclave) "));
	out = ctl("");
	assert_int_equal(out->status, 2);
	assert_non_null(strstr(out->text, "conclavectl: a command is needed"));
	assert_non_null(strstr(out->text, "usage: conclavectl quorum"));
	assert_non_null(strstr(out->text, "usage: conclavectl cfg"));
	for (const char *const *c = (const char *const[]){ "cmap", "quorum", "cpg", "cfg", NULL }; *c; c++) {
		char arguments[64], usage[64];

		snprintf(arguments, sizeof(arguments), "%s --help", *c);
		snprintf(usage, sizeof(usage), "usage: conclavectl %s ", *c);
		out = ctl(arguments);
		assert_int_equal(out->status, 0);
		assert_ptr_equal(strstr(out->text, usage), out->text);
	}
	assert_int_equal(ctl("quorum -V")->status, 0);
	assert_int_equal(ctl("cfg")->status, 0);
}

/* Where the libraries looked, and who chose it. */
static void test_unreachable_daemon_names_the_socket(void **state)
{
	static const char *const commands[] = { "cmap list", "quorum -s", "cpg", "cfg -s" };
	struct output out;

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		run(&out, "CONCLAVE_SOCKET=/tmp/conclave-test-none/x.sock %s %s", CONCLAVECTL_PATH,
		    commands[i]);
		assert_int_equal(out.status, 3);
		assert_non_null(strstr(out.text, "cannot reach conclaved (CS_ERR_LIBRARY)"));
		assert_non_null(strstr(out.text,
				       "the socket is /tmp/conclave-test-none/x.sock, from CONCLAVE_SOCKET"));
		run(&out, "env -u CONCLAVE_SOCKET %s %s", CONCLAVECTL_PATH, commands[i]);
		assert_int_equal(out.status, 3);
		assert_non_null(strstr(out.text, "the socket is /run/conclave/conclaved.sock, the default "
						 "(CONCLAVE_SOCKET is not set)"));
	}
}

static void test_quorum_exit_statuses(void **state)
{
	assert_int_equal(ctl("quorum -s")->status, 2);
	assert_ctl("quorum -e 0", 1, "New expected votes value was not valid, try a positive number\n");
	assert_ctl("quorum -v x", 1, "New votes value was not valid, try a positive number or zero\n");
	assert_int_equal(ctl("quorum -z")->status, 1);
	assert_int_equal(ctl("quorum extra")->status, 1);
	assert_ctl("quorum -e 1", 0, "");
	assert_int_equal(ctl("quorum -s")->status, 0);
	assert_ctl("quorum -e 4", 1, "Unable to set expected votes: CS_ERR_INVALID_PARAM\n");
	assert_ctl("quorum -v 1 -n 7", 1, "Unable to set votes 1 for nodeid: 7: CS_ERR_NAME_NOT_FOUND\n");
}

static int count(const char *text, const char *what)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, what)) != NULL; p++)
		n++;
	return n;
}

/* Reads the monitor's output until it holds `reports` reports (10 s at most). */
static void read_reports(int fd, char *text, size_t *len, int reports)
{
	for (int waited = 0; count(text, "Quorate:") < reports && waited < 100; waited++) {
		ssize_t n;

		if (!fd_readable_within(fd, 100))
			continue;
		n = read(fd, text + *len, OUTPUT_MAX - 1 - *len);
		if (n <= 0)
			break;
		*len += (size_t)n;
		text[*len] = '\0';
	}
}

/* quorum -m prints a report at once and at every change, each as it happens,
 * and ends with 0 on SIGTERM. */
static void test_quorum_monitor_prints_each_change(void **state)
{
	char text[OUTPUT_MAX] = "";
	size_t len = 0;
	int fds[2], status;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		execl(CONCLAVECTL_PATH, "conclavectl", "quorum", "-m", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	read_reports(fds[0], text, &len, 1);
	assert_int_equal(count(text, "Quorate:          No\n"), 1);
	assert_ctl("quorum -e 1", 0, "");
	read_reports(fds[0], text, &len, 2);
	assert_int_equal(count(text, "Quorate:          Yes\n"), 1);
	assert_non_null(strstr(strstr(text, "Quorate:          Yes\n"), "Expected votes:   1\n"));
	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	close(fds[0]);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_cfg_reload_reopen_and_errors(void **state)
{
	assert_ctl("cfg -R", 0, "Reloading corosync.conf...\nDone\n");
	assert_ctl("cfg -L", 0, "");
	assert_ctl("cfg -a 0", 1, "The nodeid was not valid, try a positive number\n");
	assert_ctl("cfg -a 7", 1, "Could not get node address for nodeid 7\n");
	/* As corosync-cfgtool on corosync 3.1.7: node 7 is not a member. */
	assert_ctl("cfg -k 7", 1, "Killing node 7\nCould not kill node (error = CS_ERR_NOT_EXIST)\n");
	assert_int_equal(ctl("cfg --bogus")->status, 2);
}

/* A tracker that answers no to every shutdown; it reports 'r' once tracking. */
static void refusing_tracker_answer(corosync_cfg_handle_t h, corosync_cfg_shutdown_flags_t flags)
{
	corosync_cfg_replyto_shutdown(h, COROSYNC_CFG_SHUTDOWN_FLAG_NO);
}

static void run_refusing_tracker(const char *arg, int commands, int reports)
{
	corosync_cfg_callbacks_t callbacks = { .corosync_cfg_shutdown_callback = refusing_tracker_answer };
	corosync_cfg_handle_t h;

	if (corosync_cfg_initialize(&h, &callbacks) != CS_OK || corosync_cfg_trackstart(h, 0) != CS_OK)
		_exit(1);
	(void)!write(reports, "r", 1);
	corosync_cfg_dispatch(h, CS_DISPATCH_BLOCKING);
	_exit(0);
}

/* -H asks the trackers and fails when one says no; --force shuts down
 * whatever they say. */
static void test_cfg_shutdown(void **state)
{
	struct test_child tracker;
	int status;

	assert_int_equal(test_child_start(&tracker, run_refusing_tracker, NULL, 'r'), 0);
	assert_ctl("cfg -H", 1, "Shutting down corosync\nCould not shutdown (error = 10)\n");
	assert_true(test_daemon_running(&daemon_under_test));
	assert_ctl("cfg -H --force", 0, "Shutting down corosync\n");
	assert_int_equal(test_daemon_wait_exit(&daemon_under_test, 10000), 0);
	waitpid(tracker.pid, &status, 0);
}

static void test_cfg_kill_this_node(void **state)
{
	assert_ctl("cfg -k 1", 0, "Killing node 1\n");
	assert_int_equal(test_daemon_wait_exit(&daemon_under_test, 10000), 0);
}

/* ---- cmap's additions ------------------------------------------------------------ */

static void test_cmap_several_keys(void **state)
{
	assert_ctl("cmap set test.a u8 1", 0, "");
	assert_ctl("cmap set test.b str two", 0, "");
	assert_ctl("cmap set test.c.x u16 3", 0, "");
	assert_ctl("cmap get test.a test.b", 0, "test.a (u8) = 1\ntest.b (str) = two\n");
	assert_ctl("cmap get -q test.a test.b", 0, "1\ntwo\n");
	assert_ctl("cmap get test.a test.none test.b", 1,
		   "test.a (u8) = 1\nconclavectl: get test.none: no such key (CS_ERR_NOT_EXIST)\n");
	assert_ctl("cmap list test.c. test.b", 0, "test.c.x (u16) = 3\ntest.b (str) = two\n");
	assert_ctl("cmap delete test.a test.b", 0, "");
	assert_ctl("cmap list test.a test.b", 0, "");
	assert_ctl("cmap delete test.c.x test.c.x", 1,
		   "conclavectl: delete test.c.x: no such key (CS_ERR_NOT_EXIST)\n");
}

static void test_cmap_delete_by_prefix(void **state)
{
	assert_ctl("cmap set test.p.a u8 1", 0, "");
	assert_ctl("cmap set test.p.b u8 2", 0, "");
	assert_ctl("cmap set test.q u8 3", 0, "");
	assert_ctl("cmap delete -p test.p. test.none.", 0, "");
	assert_ctl("cmap list test.", 0, "test.q (u8) = 3\n");
	assert_ctl("cmap delete -p totem.cluster", 1,
		   "conclavectl: delete totem.cluster_name: the key is read-only (CS_ERR_ACCESS)\n");
}

static void test_cmap_set_from_a_file(void **state)
{
	char path[] = "/tmp/conclavectl-value-XXXXXX";
	int fd = mkstemp(path);
	char arguments[256];

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "a\0b\\\n", 5), 5);
	close(fd);
	snprintf(arguments, sizeof(arguments), "cmap set -f %s test.bin bin", path);
	assert_ctl(arguments, 0, "");
	assert_ctl("cmap get test.bin", 0, "test.bin (bin) = a\\x00b\\\\\\x0A\n");
	snprintf(arguments, sizeof(arguments), "cmap set -f %s test.str str", path);
	assert_int_equal(ctl(arguments)->status, 2);
	assert_ctl("cmap set -f /nonexistent/file test.bin bin", 2,
		   "conclavectl: cannot read /nonexistent/file: No such file or directory\n");
	{
		struct output out;

		run(&out, "printf 'from stdin' | %s cmap set -f - test.str str", CONCLAVECTL_PATH);
		assert_int_equal(out.status, 0);
		assert_ctl("cmap get test.str", 0, "test.str (str) = from stdin\n");
	}
	unlink(path);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* corosync-cmapctl -p's format; a bad line changes nothing. */
static void test_cmap_load(void **state)
{
	char path[] = "/tmp/conclavectl-load-XXXXXX", arguments[256];
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	snprintf(arguments, sizeof(arguments), "cmap load %s", path);
	assert_ctl("cmap set test.old u8 1", 0, "");
	assert_ctl("cmap set test.gone.a u8 1", 0, "");
	write_file(path, "# comment\n\n  test.new u32 7\n^test.old\n^^test.gone.\ntest.s str word\n");
	assert_ctl(arguments, 0, "");
	assert_ctl("cmap list test.", 0, "test.new (u32) = 7\ntest.s (str) = word\n");
	write_file(path, "test.later u8 1\ntest.bad u8 300\n");
	assert_int_equal(ctl(arguments)->status, 2);
	assert_non_null(strstr(ctl(arguments)->text, ":2: not a value of its type: 300"));
	assert_ctl("cmap get test.later", 1, "conclavectl: get test.later: no such key (CS_ERR_NOT_EXIST)\n");
	write_file(path, "test.x u8 1\ntotem.cluster_name str other\ntest.y u8 1\n");
	assert_int_equal(ctl(arguments)->status, 1);
	assert_ctl("cmap get -q test.x totem.cluster_name", 0, "1\ntest\n");
	assert_ctl("cmap get test.y", 1, "conclavectl: get test.y: no such key (CS_ERR_NOT_EXIST)\n");
	unlink(path);
}

static void test_cmap_clear_stats(void **state)
{
	assert_ctl("cmap clear-stats all", 0, "");
	assert_ctl("cmap clear-stats ipc", 0, "");
	assert_int_equal(ctl("cmap clear-stats nothing")->status, 2);
}

/* ---- bash completion ------------------------------------------------------------ */

/* The words bash would offer after `line` (which ends where the cursor is). */
static const char *complete(const char *line)
{
	static struct output out;
	char dir[512];

	snprintf(dir, sizeof(dir), "%s", CONCLAVECTL_PATH);
	*strrchr(dir, '/') = '\0';
	run(&out,
	    "PATH=%s:$PATH bash -c '. %s; read -ra COMP_WORDS <<< \"%s\"; "
	    "case \"%s\" in *\" \") COMP_WORDS+=(\"\");; esac; COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); "
	    "_conclavectl 2>/dev/null; printf \"%%s \" \"${COMPREPLY[@]}\"'",
	    dir, COMPLETION_PATH, line, line);
	assert_int_equal(out.status, 0);
	return out.text;
}

static void test_bash_completion(void **state)
{
	assert_string_equal(complete("conclavectl "), "cmap quorum cpg cfg call monitor --help --version ");
	assert_string_equal(complete("conclavectl cmap "), "-m get set delete list track load clear-stats ");
	assert_string_equal(complete("conclavectl cmap -m "), "icmap stats ");
	assert_string_equal(complete("conclavectl cmap get totem.cl"), "totem.cluster_name ");
	assert_string_equal(complete("conclavectl cmap -m icmap delete -p totem.cl"), "totem.cluster_name ");
	assert_string_equal(complete("conclavectl cmap set test.k u"), "u8 u16 u32 u64 ");
	assert_string_equal(complete("conclavectl cmap set -f /dev/null test.k s"), "str ");
	assert_string_equal(complete("conclavectl cmap clear-stats "), "knet ipc totem schedmiss all ");
	assert_string_equal(complete("conclavectl quorum -o "), "a n i ");
	assert_string_equal(complete("conclavectl quorum -n "), "1 ");
	assert_string_equal(complete("conclavectl cfg -k "), "1 ");
	assert_string_equal(complete("conclavectl cfg --f"), "--force ");
	assert_string_equal(complete("conclavectl cpg -"), "-d -e -n --help ");
	assert_string_equal(complete("conclavectl call vo"), "votequorum ");
	assert_string_equal(complete("conclavectl call quorum track"), "trackstart trackstop ");
	assert_string_equal(complete("conclavectl monitor cm"), "cmap ");
	assert_string_equal(complete("conclavectl call --s"), "--service-dir ");
	assert_string_equal(complete("conclavectl monitor --c"), "--config ");
	assert_string_equal(complete("conclavectl monitor --service-dir " TEST_SERVICE_DIR " ec"), "echo ");
	assert_string_equal(complete("conclavectl call --service-dir " TEST_SERVICE_DIR " echo p"),
			    "plus_one ");
}

#define THREE(t) cmocka_unit_test_setup_teardown(t, start_three, stop)
#define SINGLE(t) cmocka_unit_test_setup_teardown(t, start_single, stop)

int main(void)
{
	const struct CMUnitTest tests[] = {
		THREE(test_quorum_as_quorumtool),
		THREE(test_cfg_and_cpg_as_their_tools),
		cmocka_unit_test_setup_teardown(test_names_and_links_as_the_tools, start_two, stop),
		SINGLE(test_version_help_and_bare),
		SINGLE(test_unreachable_daemon_names_the_socket),
		THREE(test_quorum_exit_statuses),
		THREE(test_quorum_monitor_prints_each_change),
		SINGLE(test_cfg_reload_reopen_and_errors),
		SINGLE(test_cfg_shutdown),
		SINGLE(test_cfg_kill_this_node),
		SINGLE(test_cmap_several_keys),
		SINGLE(test_cmap_delete_by_prefix),
		SINGLE(test_cmap_set_from_a_file),
		SINGLE(test_cmap_load),
		SINGLE(test_cmap_clear_stats),
		SINGLE(test_bash_completion),
	};

	return cmocka_run_group_tests_name("conclavectl_tools", tests, NULL, NULL);
}
