#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char SINGLE_NODE_CONFIG[] =
	"totem {\n\tversion: 2\n\tcluster_name: test\n}\n"
	"nodelist {\n\tnode {\n\t\tnodeid: 1\n\t\tname: node1\n\t\tring0_addr: 127.0.0.1\n\t}\n}\n"
	"quorum {\n\tprovider: corosync_votequorum\n}\n";

const char INQUORATE_THREE_NODE_CONFIG[] =
	"totem {\n\tversion: 2\n\tcluster_name: three\n}\n"
	"nodelist {\n"
	"\tnode {\n\t\tnodeid: 1\n\t\tring0_addr: 127.0.0.1\n\t}\n"
	"\tnode {\n\t\tnodeid: 2\n\t\tring0_addr: 192.0.2.2\n\t\tquorum_votes: 2\n\t}\n"
	"\tnode {\n\t\tnodeid: 3\n\t\tring0_addr: 192.0.2.3\n\t}\n"
	"}\n"
	"quorum {\n\tprovider: corosync_votequorum\n}\n";

int test_child_start(struct test_child *c, void (*run)(const char *arg, int commands, int reports),
		     const char *arg, char ready)
{
	int down[2], up[2];
	char reply;

	if (pipe(down) < 0 || pipe(up) < 0) {
		perror("pipe");
		return -1;
	}
	c->pid = fork();
	if (c->pid < 0) {
		perror("fork");
		return -1;
	}
	if (c->pid == 0) {
		close(down[1]);
		close(up[0]);
		run(arg, down[0], up[1]);
		_exit(100);
	}
	close(down[0]);
	close(up[1]);
	c->to_child = down[1];
	c->from_child = up[0];
	if (read(c->from_child, &reply, 1) != 1 || reply != ready) {
		fprintf(stderr, "test child %d did not report '%c'\n", (int)c->pid, ready);
		return -1;
	}
	return 0;
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

static void exec_daemon(const struct test_daemon *d, bool with_config)
{
	int log = open(d->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (log >= 0) {
		dup2(log, STDOUT_FILENO);
		dup2(log, STDERR_FILENO);
	}
	if (with_config)
		execl(CONCLAVED_PATH, "conclaved", "-f", "-d", "-s", d->socket, "-c", d->config, (char *)NULL);
	else
		execl(CONCLAVED_PATH, "conclaved", "-f", "-d", "-s", d->socket, (char *)NULL);
	_exit(127);
}

static int wait_until_ready(struct test_daemon *d)
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
		nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
	}
	fprintf(stderr, "conclaved did not accept connections within 5 s; log: %s\n", d->log);
	return -1;
}

int test_daemon_start(struct test_daemon *d, const char *config_text)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->dir, sizeof(d->dir), "/tmp/conclave-test-XXXXXX");
	if (mkdtemp(d->dir) == NULL)
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
		exec_daemon(d, config_text != NULL);
	setenv("CONCLAVE_SOCKET", d->socket, 1);
	return wait_until_ready(d);
}

static void remove_dir(struct test_daemon *d)
{
	char path[192];
	const char *files[] = { d->socket, d->config, d->log };

	if (getenv("CONCLAVE_KEEP_LOGS") != NULL)
		return;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		unlink(files[i]);
	snprintf(path, sizeof(path), "%s", d->dir);
	rmdir(path);
}

/* Returns the daemon's wait status, or 0 when it was not running. */
static int stop_with(struct test_daemon *d, int sig)
{
	int status = 0;

	if (d->pid > 0) {
		kill(d->pid, sig);
		waitpid(d->pid, &status, 0);
		d->pid = 0;
	}
	return status;
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

int test_daemon_stop(struct test_daemon *d)
{
	int status = stop_with(d, SIGTERM);
	bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;

	if (!clean) {
		fprintf(stderr, "conclaved did not exit cleanly on SIGTERM (wait status 0x%x)\n", status);
		print_log(d);
	}
	remove_dir(d);
	return clean ? 0 : -1;
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
		nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
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
	stop_with(d, SIGKILL);
}

bool test_daemon_log_line(const struct test_daemon *d, const char *text, char *line, size_t size)
{
	bool found = false;
	FILE *f = fopen(d->log, "r");

	if (f == NULL)
		return false;
	while (!found && fgets(line, (int)size, f) != NULL)
		found = strstr(line, text) != NULL;
	fclose(f);
	return found;
}

bool test_daemon_log_contains(const struct test_daemon *d, const char *text)
{
	char line[1024];

	return test_daemon_log_line(d, text, line, sizeof(line));
}

bool fd_readable_within(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int r;

	do
		r = poll(&pfd, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	return r == 1 && (pfd.revents & (POLLIN | POLLHUP)) != 0;
}
