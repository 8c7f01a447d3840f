/* Starts and stops a real conclaved on a temporary socket for integration
 * tests; the client libraries find it through $CONCLAVE_SOCKET. */
#ifndef CONCLAVE_TEST_HARNESS_H
#define CONCLAVE_TEST_HARNESS_H

#include <stdbool.h>
#include <sys/types.h>

struct test_daemon {
	pid_t pid;
	char dir[64];
	char socket[128];
	char config[128];
	char log[128];
};

/* A single node (nodeid 1, 127.0.0.1) with the votequorum provider. */
extern const char SINGLE_NODE_CONFIG[];
/* Node 1 (1 vote, this one) of three; node 2 (2 votes) and node 3 (1 vote)
 * are not running: 1 of 4 expected votes, inquorate. */
extern const char INQUORATE_THREE_NODE_CONFIG[];

/* Writes config_text (NULL: no -c), starts conclaved in the foreground and
 * waits until it accepts connections. Returns 0, or -1 after printing why. */
int test_daemon_start(struct test_daemon *d, const char *config_text);
/* SIGTERM, wait, and remove the temporary directory. Returns 0 when the
 * daemon exited cleanly (status 0: no sanitizer report, no crash), else -1
 * after printing its log. */
int test_daemon_stop(struct test_daemon *d);
/* Waits up to timeout_ms for the daemon to exit on its own. Returns its exit
 * status (0: clean), or -1 when it is still running or was killed by a
 * signal (printing its log). test_daemon_stop() then only cleans up. */
int test_daemon_wait_exit(struct test_daemon *d, int timeout_ms);
/* True while the daemon process runs. */
bool test_daemon_running(struct test_daemon *d);
/* SIGKILL and wait: the daemon dies without closing anything itself. */
void test_daemon_kill(struct test_daemon *d);
/* True when the daemon's log contains text. */
bool test_daemon_log_contains(const struct test_daemon *d, const char *text);
/* Copies the first line of the daemon's log that contains text to line
 * (size bytes, cut short when longer); false when no line does. */
bool test_daemon_log_line(const struct test_daemon *d, const char *text, char *line, size_t size);

/* A client process of a test, driven over two pipes. */
struct test_child {
	pid_t pid;
	int to_child;   /* the test's commands */
	int from_child; /* the child's reports */
};

/* Forks a child that runs run(arg, commands fd, reports fd), which must not
 * return, and waits for the child's first report byte, which must be
 * `ready`. Returns 0, or -1 after printing why. */
int test_child_start(struct test_child *c, void (*run)(const char *arg, int commands, int reports),
		     const char *arg, char ready);

/* Waits up to timeout_ms for fd to become readable; returns true if it did. */
bool fd_readable_within(int fd, int timeout_ms);

#endif
