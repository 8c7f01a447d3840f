/* The fd each library hands out, against a real conclaved: it is a Unix
 * socket connected to the daemon, so SO_PEERCRED on it names conclaved's
 * pid, uid and gid, for root and for a uid the allow-list admits (HA
 * programs such as Pacemaker check it before they trust the daemon); and
 * what a call causes for its own client is readable on it when the call
 * returns. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <grp.h>
#include <stdbool.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <corosync/cfg.h>
#include <corosync/cmap.h>
#include <corosync/cpg.h>
#include <corosync/evs.h>
#include <corosync/quorum.h>
#include <corosync/votequorum.h>

#include "harness.h"

#define NOBODY 65534

static struct test_daemon daemon_under_test;

/* ---- one fd per service ---------------------------------------------------- */

struct service {
	const char *name;
	/* Connects and gives the fd: CS_OK or the failing call's status. */
	cs_error_t (*open)(uint64_t *handle, int *fd);
	cs_error_t (*close)(uint64_t handle);
};

static cs_error_t cpg_open(uint64_t *handle, int *fd)
{
	cs_error_t err = cpg_initialize(handle, NULL);

	return err == CS_OK ? cpg_fd_get(*handle, fd) : err;
}

static cs_error_t cmap_open(uint64_t *handle, int *fd)
{
	cs_error_t err = cmap_initialize(handle);

	return err == CS_OK ? cmap_fd_get(*handle, fd) : err;
}

static cs_error_t quorum_open(uint64_t *handle, int *fd)
{
	uint32_t type;
	cs_error_t err = quorum_initialize(handle, NULL, &type);

	return err == CS_OK ? quorum_fd_get(*handle, fd) : err;
}

static cs_error_t votequorum_open(uint64_t *handle, int *fd)
{
	cs_error_t err = votequorum_initialize(handle, NULL);

	return err == CS_OK ? votequorum_fd_get(*handle, fd) : err;
}

static cs_error_t cfg_open(uint64_t *handle, int *fd)
{
	int32_t selection_fd;
	cs_error_t err = corosync_cfg_initialize(handle, NULL);

	if (err == CS_OK)
		err = corosync_cfg_fd_get(*handle, &selection_fd);
	*fd = selection_fd;
	return err;
}

static cs_error_t evs_open(uint64_t *handle, int *fd)
{
	cs_error_t err = evs_initialize(handle, NULL);

	return err == CS_OK ? evs_fd_get(*handle, fd) : err;
}

static const struct service services[] = {
	{ "cpg", cpg_open, cpg_finalize },
	{ "cmap", cmap_open, cmap_finalize },
	{ "quorum", quorum_open, quorum_finalize },
	{ "votequorum", votequorum_open, votequorum_finalize },
	{ "corosync_cfg", cfg_open, corosync_cfg_finalize },
	{ "evs", evs_open, evs_finalize },
};

#define N_SERVICES (sizeof(services) / sizeof(services[0]))

/* The real uid and gid of process pid. */
static void ids_of(pid_t pid, uid_t *uid, gid_t *gid)
{
	char path[64], line[256];
	unsigned int u = ~0u, g = ~0u;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		sscanf(line, "Uid: %u", &u);
		sscanf(line, "Gid: %u", &g);
	}
	fclose(f);
	*uid = u;
	*gid = g;
}

enum fd_verdict {
	FD_DAEMONS,    /* a connected Unix socket whose peer is the daemon */
	FD_NO_HANDLE,  /* initialize or fd_get failed */
	FD_NO_SOCKET,  /* not a connected Unix stream socket */
	FD_OTHER_PEER, /* SO_PEERCRED names another process or ids */
	FD_UNSTABLE,   /* fd_get gave another fd the second time */
};

/* What service's fd is, seen from this process. */
static enum fd_verdict fd_check(const struct service *service, pid_t daemon, uid_t uid, gid_t gid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int domain, type;
	socklen_t optlen = sizeof(int);
	struct stat st;
	uint64_t handle;
	int fd = -1, again = -1;
	enum fd_verdict verdict = FD_DAEMONS;

	if (service->open(&handle, &fd) != CS_OK)
		return FD_NO_HANDLE;
	if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode) ||
	    getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &optlen) < 0 || domain != AF_UNIX ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &optlen) < 0 || type != SOCK_STREAM)
		verdict = FD_NO_SOCKET;
	else if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.pid != daemon ||
		 cred.uid != uid || cred.gid != gid)
		verdict = FD_OTHER_PEER;
	else if (service->open == cpg_open && (cpg_fd_get(handle, &again) != CS_OK || again != fd))
		verdict = FD_UNSTABLE;
	service->close(handle);
	return verdict;
}

static void assert_every_fd_is_the_daemons(void)
{
	pid_t daemon = daemon_under_test.pid;
	uid_t uid;
	gid_t gid;

	ids_of(daemon, &uid, &gid);
	for (size_t i = 0; i < N_SERVICES; i++)
		assert_int_equal(fd_check(&services[i], daemon, uid, gid), FD_DAEMONS);
}

static void test_peercred_names_the_daemon(void **state)
{
	assert_every_fd_is_the_daemons();
}

/* Checks, as uid and gid NOBODY, every service's fd; exits with the first
 * verdict that is not FD_DAEMONS (+ 10 * the service's index), or 0. */
static void check_as_nobody(pid_t daemon, uid_t uid, gid_t gid)
{
	if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
		_exit(99);
	for (size_t i = 0; i < N_SERVICES; i++) {
		enum fd_verdict verdict = fd_check(&services[i], daemon, uid, gid);

		if (verdict != FD_DAEMONS)
			_exit((int)(10 * i + verdict));
	}
	_exit(0);
}

/* What HA programs do as their own user: the allow-list admits it, and the
 * fd still names the daemon, root's. */
static void test_peercred_names_the_daemon_for_an_allowed_uid(void **state)
{
	pid_t daemon = daemon_under_test.pid, child;
	uid_t uid;
	gid_t gid;
	int status;

	if (geteuid() != 0) {
		if (getenv("CI") != NULL && strcmp(getenv("CI"), "true") == 0)
			fail_msg("this test needs root, to become uid %d", NOBODY);
		print_message("skipped: needs root, to become uid %d\n", NOBODY);
		skip();
	}
	ids_of(daemon, &uid, &gid);
	child = fork();
	assert_true(child >= 0);
	if (child == 0)
		check_as_nobody(daemon, uid, gid);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- what a call causes is readable when it returns ------------------------ */

static bool readable_now(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, 0) == 1;
}

static unsigned int confchgs, messages;
static size_t last_message_length;

static void count_confchg(cpg_handle_t handle, const struct cpg_name *group,
			  const struct cpg_address *members, size_t n_members, const struct cpg_address *left,
			  size_t n_left, const struct cpg_address *joined, size_t n_joined)
{
	confchgs++;
}

static void count_message(cpg_handle_t handle, const struct cpg_name *group, uint32_t nodeid, uint32_t pid,
			  void *msg, size_t msg_len)
{
	messages++;
	last_message_length = msg_len;
}

/* cpg_join's confchg, and the caller's own message sent with a round trip
 * (larger than those posted), are in the socket when the calls return. */
static void test_cpg_effects_readable_when_the_call_returns(void **state)
{
	cpg_callbacks_t callbacks = { .cpg_deliver_fn = count_message, .cpg_confchg_fn = count_confchg };
	struct cpg_name group = { .length = 6, .value = "effect" };
	size_t size = 200 * 1024;
	uint8_t *message = calloc(1, size);
	struct iovec iov = { message, size };
	cpg_handle_t h;
	int fd;

	confchgs = messages = 0;
	assert_non_null(message);
	assert_int_equal(cpg_initialize(&h, &callbacks), CS_OK);
	assert_int_equal(cpg_fd_get(h, &fd), CS_OK);
	assert_false(readable_now(fd));
	assert_int_equal(cpg_join(h, &group), CS_OK);
	assert_true(readable_now(fd));
	assert_int_equal(cpg_dispatch(h, CS_DISPATCH_ONE_NONBLOCKING), CS_OK);
	assert_int_equal(confchgs, 1);
	assert_false(readable_now(fd));
	assert_int_equal(cpg_mcast_joined(h, CPG_TYPE_AGREED, &iov, 1), CS_OK);
	assert_true(readable_now(fd));
	assert_int_equal(cpg_dispatch(h, CS_DISPATCH_ALL), CS_OK);
	assert_int_equal(messages, 1);
	assert_int_equal(last_message_length, size);
	assert_false(readable_now(fd));
	assert_int_equal(cpg_finalize(h), CS_OK);
	free(message);
}

static unsigned int notifications;

static void count_notification(cmap_handle_t handle, cmap_track_handle_t track, int32_t event,
			       const char *key, struct cmap_notify_value new_value,
			       struct cmap_notify_value old_value, void *data)
{
	notifications++;
}

/* The notification of a change a tracker makes itself is in its socket
 * when cmap_set returns. */
static void test_cmap_notification_readable_when_the_set_returns(void **state)
{
	cmap_track_handle_t track;
	cmap_handle_t h;
	int fd;

	notifications = 0;
	assert_int_equal(cmap_initialize(&h), CS_OK);
	assert_int_equal(cmap_fd_get(h, &fd), CS_OK);
	assert_int_equal(cmap_track_add(h, "test.effect", CMAP_TRACK_ADD | CMAP_TRACK_MODIFY,
					count_notification, NULL, &track),
			 CS_OK);
	assert_false(readable_now(fd));
	for (uint32_t i = 1; i <= 3; i++) {
		assert_int_equal(cmap_set_uint32(h, "test.effect", i), CS_OK);
		assert_true(readable_now(fd));
		assert_int_equal(cmap_dispatch(h, CS_DISPATCH_ONE_NONBLOCKING), CS_OK);
		assert_int_equal(notifications, i);
		assert_false(readable_now(fd));
	}
	assert_int_equal(cmap_finalize(h), CS_OK);
}

static int start(void **state)
{
	char config[1024];

	snprintf(config, sizeof(config), "%suidgid {\n\tuid: %d\n\tgid: %d\n}\n", SINGLE_NODE_CONFIG, NOBODY,
		 NOBODY);
	return test_daemon_start(&daemon_under_test, config);
}

static int stop(void **state)
{
	return test_daemon_stop(&daemon_under_test);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_peercred_names_the_daemon),
		cmocka_unit_test(test_peercred_names_the_daemon_for_an_allowed_uid),
		cmocka_unit_test(test_cpg_effects_readable_when_the_call_returns),
		cmocka_unit_test(test_cmap_notification_readable_when_the_set_returns),
	};

	return cmocka_run_group_tests_name("fd", tests, start, stop);
}
