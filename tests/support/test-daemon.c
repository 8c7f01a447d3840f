#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test-daemon.h"
#include "test-proc.h"

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	nanosleep(&(struct timespec){ .tv_nsec = ms * 1000L * 1000L }, NULL);
}

static bool socket_accepts(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	if (fd < 0)
		return false;
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	ok = connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;
	close(fd);
	return ok;
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static void become(uid_t uid)
{
	const struct rlimit none = { 0, 0 };

	if (setrlimit(RLIMIT_RTPRIO, &none) < 0 || setrlimit(RLIMIT_NICE, &none) < 0 ||
	    setgroups(0, NULL) < 0 || setgid((gid_t)uid) < 0 || setuid(uid) < 0) {
		perror("becoming the daemon's user");
		_exit(127);
	}
}

/* As a service manager's system call filter refuses it: sched_setscheduler
 * fails with EPERM, everything else is allowed. */
static void refuse_realtime(void)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_sched_setscheduler, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog program = { .len = sizeof(filter) / sizeof(filter[0]), .filter = filter };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) < 0) {
		perror("refusing the daemon SCHED_RR");
		_exit(127);
	}
}

struct start_options {
	uid_t uid;
	bool realtime_refused;
};

static void exec_daemon(const struct test_daemon *d, bool with_config, const struct start_options *o)
{
	int log_fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (log_fd >= 0) {
		/* not the test's stdout: a daemon left behind must not hold it open */
		dup2(log_fd, STDOUT_FILENO);
		dup2(log_fd, STDERR_FILENO);
	}
	if (o->realtime_refused)
		refuse_realtime();
	if (o->uid != 0)
		become(o->uid);
	if (with_config)
		execl(CONCLAVED_PATH, "conclaved", "-f", "-d", "-s", d->socket, "-c", d->config,
		      (char *)NULL);
	else
		execl(CONCLAVED_PATH, "conclaved", "-f", "-d", "-s", d->socket, (char *)NULL);
	_exit(127);
}

static int wait_until_accepting(struct test_daemon *d)
{
	for (int i = 0; i < 500; i++) {
		int status;

		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			fprintf(stderr, "conclaved exited during start-up; log: %s\n", d->log);
			d->pid = 0;
			return -1;
		}
		if (socket_accepts(d->socket))
			return 0;
		sleep_ms(10);
	}
	fprintf(stderr, "conclaved did not accept connections within 5 s; log: %s\n", d->log);
	return -1;
}

static int start(struct test_daemon *d, const char *config_text, const struct start_options *o)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->dir, sizeof(d->dir), "/tmp/conclave-test-XXXXXX");
	if (mkdtemp(d->dir) == NULL)
		return -1;
	chmod(d->dir, 0755); /* tests connect as other users too */
	if (o->uid != 0 && chown(d->dir, o->uid, (gid_t)o->uid) < 0)
		return -1;
	snprintf(d->socket, sizeof(d->socket), "%s/conclaved.sock", d->dir);
	snprintf(d->config, sizeof(d->config), "%s/conclave.conf", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/conclaved.log", d->dir);
	if (config_text != NULL && write_file(d->config, config_text) != 0)
		return -1;
	d->pid = fork();
	if (d->pid < 0)
		return -1;
	if (d->pid == 0)
		exec_daemon(d, config_text != NULL, o);
	setenv("CONCLAVE_SOCKET", d->socket, 1);
	return wait_until_accepting(d);
}

int test_daemon_start(struct test_daemon *d, const char *config_text)
{
	return start(d, config_text, &(struct start_options){ .uid = 0 });
}

int test_daemon_start_as(struct test_daemon *d, const char *config_text, uid_t uid)
{
	return start(d, config_text, &(struct start_options){ .uid = uid });
}

int test_daemon_start_without_realtime(struct test_daemon *d, const char *config_text)
{
	return start(d, config_text, &(struct start_options){ .realtime_refused = true });
}

static void print_log(const struct test_daemon *d)
{
	char line[1024];
	FILE *f = fopen(d->log, "r");

	if (f == NULL)
		return;
	fprintf(stderr, "--- %s\n", d->log);
	while (fgets(line, sizeof(line), f) != NULL)
		fputs(line, stderr);
	fclose(f);
}

static void remove_files(struct test_daemon *d)
{
	if (getenv("CONCLAVE_KEEP_LOGS") != NULL)
		return;
	unlink(d->socket);
	unlink(d->config);
	unlink(d->log);
	rmdir(d->dir);
}

/* The exit status of a wait status: -1 for a signal. */
static int exit_status(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int test_daemon_stop(struct test_daemon *d)
{
	int status = 0;

	if (d->pid > 0) {
		kill(d->pid, SIGTERM);
		if (waitpid(d->pid, &status, 0) != d->pid)
			status = -1;
		else
			status = exit_status(status);
		d->pid = 0;
	}
	if (status != 0) {
		fprintf(stderr, "conclaved did not exit cleanly on SIGTERM (status %d)\n", status);
		print_log(d);
	}
	remove_files(d);
	return status;
}

int test_daemon_wait_exit(struct test_daemon *d, int timeout_ms)
{
	for (int waited = 0; d->pid > 0 && waited <= timeout_ms; waited += 10) {
		int status;

		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			d->pid = 0;
			if (WIFEXITED(status))
				return WEXITSTATUS(status);
			fprintf(stderr, "conclaved died (wait status 0x%x)\n", status);
			print_log(d);
			return -1;
		}
		sleep_ms(10);
	}
	if (d->pid > 0)
		fprintf(stderr, "conclaved still runs after %d ms\n", timeout_ms);
	return -1;
}

bool test_daemon_running(struct test_daemon *d)
{
	int status;

	if (d->pid <= 0)
		return false;
	if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
		d->pid = 0;
		return false;
	}
	return true;
}

void test_daemon_kill(struct test_daemon *d)
{
	int status;

	if (d->pid > 0) {
		kill(d->pid, SIGKILL);
		waitpid(d->pid, &status, 0);
		d->pid = 0;
	}
}

long test_daemon_rss_kb(const struct test_daemon *d)
{
	return process_rss_kb(d->pid);
}

/* The first line with `first` and, after it, `then`, copied to line. */
static bool log_find(const struct test_daemon *d, const char *first, const char *then, char *line,
		     size_t size)
{
	FILE *f = fopen(d->log, "r");
	bool found = false;

	while (f != NULL && !found && fgets(line, (int)size, f) != NULL) {
		const char *at = strstr(line, first);

		found = at != NULL && strstr(at + strlen(first), then) != NULL;
	}
	if (f != NULL)
		fclose(f);
	return found;
}

bool test_daemon_log_has(const struct test_daemon *d, const char *first, const char *then, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	char line[2048];

	while (!log_find(d, first, then, line, sizeof(line))) {
		if (now_ms() >= deadline)
			return false;
		sleep_ms(10);
	}
	return true;
}

bool test_daemon_log_contains(const struct test_daemon *d, const char *text, int timeout_ms)
{
	return test_daemon_log_has(d, text, "", timeout_ms);
}

bool test_daemon_log_line(const struct test_daemon *d, const char *text, char *line, size_t size)
{
	return log_find(d, text, "", line, size);
}

/* stderr goes to a file, not a pipe: a daemon that detaches keeps it open. */
int run_conclaved(const char *const *args, char *out, size_t out_size)
{
	char log_path[] = "/tmp/conclaved-run-XXXXXX";
	const char *argv[16] = { "conclaved" };
	int log_fd = mkstemp(log_path), status;
	size_t n = 1;
	ssize_t got;
	pid_t pid;

	while (args[n - 1] && n < 15) {
		argv[n] = args[n - 1];
		n++;
	}
	if (log_fd < 0 || (pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		dup2(log_fd, STDERR_FILENO);
		execv(CONCLAVED_PATH, (char *const *)argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		status = -1;
	else
		status = WEXITSTATUS(status);
	got = pread(log_fd, out, out_size - 1, 0);
	out[got > 0 ? got : 0] = '\0';
	close(log_fd);
	unlink(log_path);
	return status;
}
