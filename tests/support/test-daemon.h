/* A real conclaved for a test: started in the foreground with debug logs on
 * a socket in a temporary directory, which $CONCLAVE_SOCKET then names for
 * the client libraries, and stopped, killed or watched as the test needs.
 * Shared by the daemon tests and the integration tests. */
#ifndef CONCLAVE_TEST_DAEMON_H
#define CONCLAVE_TEST_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct test_daemon {
	pid_t pid;
	char dir[64];
	char socket[128];
	char config[128];
	char log[128];
};

/* Writes config_text (NULL: no -c), runs conclaved -f -d with its stderr in
 * d->log, and waits until the socket accepts. 0, or -1 after printing why. */
int test_daemon_start(struct test_daemon *d, const char *config_text);
/* The same as the user uid (its group the same number), with no right to
 * raise its priority (RLIMIT_RTPRIO and RLIMIT_NICE 0); the caller is root. */
int test_daemon_start_as(struct test_daemon *d, const char *config_text, uid_t uid);
/* The same as root, with SCHED_RR refused (sched_setscheduler fails with
 * EPERM, as under a service manager's system call filter) and nice values
 * allowed. */
int test_daemon_start_without_realtime(struct test_daemon *d, const char *config_text);
/* SIGTERM, wait, and remove the files (kept with $CONCLAVE_KEEP_LOGS). The
 * exit status: 0 when the daemon exited cleanly (no sanitizer report, no
 * crash), -1 when a signal killed it, and also 0 when nothing was running;
 * the log is printed unless 0. */
int test_daemon_stop(struct test_daemon *d);
/* Waits up to timeout_ms for the daemon to exit on its own. Returns its exit
 * status (0: clean), or -1 when it is still running or was killed by a
 * signal (printing its log). test_daemon_stop() then only cleans up. */
int test_daemon_wait_exit(struct test_daemon *d, int timeout_ms);
/* True while the daemon process runs. */
bool test_daemon_running(struct test_daemon *d);
/* SIGKILL and wait: the daemon dies without closing anything itself. */
void test_daemon_kill(struct test_daemon *d);
long test_daemon_rss_kb(const struct test_daemon *d);

/* True when, within timeout_ms (0: now), the log has a line containing
 * text. */
bool test_daemon_log_contains(const struct test_daemon *d, const char *text, int timeout_ms);
/* The same for a line containing `first` and, after it, `then`. */
bool test_daemon_log_has(const struct test_daemon *d, const char *first, const char *then, int timeout_ms);
/* Copies the first line of the log that contains text to line (size bytes,
 * cut short when longer); false when no line does. */
bool test_daemon_log_line(const struct test_daemon *d, const char *text, char *line, size_t size);

/* Runs conclaved with args (NULL-terminated, without argv[0]) to
 * completion; returns its exit status and its stderr in out. */
int run_conclaved(const char *const *args, char *out, size_t out_size);

#endif
