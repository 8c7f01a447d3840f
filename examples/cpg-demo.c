/* A short tour of the cpg API, written against corosync's public headers
 * only: it builds unchanged against corosync's libraries.
 *
 * Two processes join the group "demo"; each multicasts one greeting, and each
 * prints every membership change and message it is given, in the one order
 * that every member sees. The child leaves first, so the parent sees it go.
 */
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <corosync/corotypes.h>
#include <corosync/cpg.h>

#define MEMBERS 2

static const char *who;
static int greetings_seen;
static size_t members_now;

static const char *reason_name(uint32_t reason)
{
	switch (reason) {
	case CPG_REASON_JOIN:
		return "joined";
	case CPG_REASON_LEAVE:
		return "left";
	case CPG_REASON_NODEDOWN:
		return "node down";
	case CPG_REASON_NODEUP:
		return "node up";
	case CPG_REASON_PROCDOWN:
		return "process down";
	default:
		return "?";
	}
}

static void on_confchg(cpg_handle_t handle, const struct cpg_name *group, const struct cpg_address *members,
		       size_t n_members, const struct cpg_address *left, size_t n_left,
		       const struct cpg_address *joined, size_t n_joined)
{
	printf("%s: %.*s has %zu member(s)", who, (int)group->length, group->value, n_members);
	for (size_t i = 0; i < n_joined; i++)
		printf("; pid %" PRIu32 " %s", joined[i].pid, reason_name(joined[i].reason));
	for (size_t i = 0; i < n_left; i++)
		printf("; pid %" PRIu32 " %s", left[i].pid, reason_name(left[i].reason));
	printf("\n");
	members_now = n_members;
}

static void on_deliver(cpg_handle_t handle, const struct cpg_name *group, uint32_t nodeid, uint32_t pid,
		       void *msg, size_t msg_len)
{
	printf("%s: message from node %" PRIu32 " pid %" PRIu32 ": %.*s\n", who, nodeid, pid, (int)msg_len,
	       (const char *)msg);
	greetings_seen++;
}

static int fail(const char *what, cs_error_t err)
{
	fprintf(stderr, "%s: %s: %s\n", who, what, cs_strerror(err));
	return 1;
}

/* Dispatches until `done` holds; false if the daemon went away. */
static int dispatch_until(cpg_handle_t h, int (*done)(void))
{
	struct pollfd p = { .events = POLLIN };

	cpg_fd_get(h, &p.fd);
	while (!done()) {
		if (poll(&p, 1, 5000) != 1 || cpg_dispatch(h, CS_DISPATCH_ALL) != CS_OK)
			return 0;
	}
	return 1;
}

static int everyone_here(void)
{
	return members_now == MEMBERS;
}
static int all_greetings_seen(void)
{
	return greetings_seen == MEMBERS;
}
static int alone(void)
{
	return members_now == 1;
}

static int greet(cpg_handle_t h)
{
	char text[64];
	struct iovec iov = { .iov_base = text };
	cs_error_t err;

	iov.iov_len = (size_t)snprintf(text, sizeof(text), "hello from the %s", who);
	while ((err = cpg_mcast_joined(h, CPG_TYPE_AGREED, &iov, 1)) == CS_ERR_TRY_AGAIN)
		usleep(1000);
	return err == CS_OK ? 0 : fail("cpg_mcast_joined", err);
}

static int member(int is_parent)
{
	cpg_callbacks_t callbacks = { .cpg_deliver_fn = on_deliver, .cpg_confchg_fn = on_confchg };
	struct cpg_name group = { .length = 4, .value = "demo" };
	cpg_handle_t h;
	cs_error_t err;

	who = is_parent ? "parent" : "child";
	if ((err = cpg_initialize(&h, &callbacks)) != CS_OK)
		return fail("cpg_initialize", err);
	if ((err = cpg_join(h, &group)) != CS_OK)
		return fail("cpg_join", err);
	if (!dispatch_until(h, everyone_here) || greet(h) != 0 || !dispatch_until(h, all_greetings_seen))
		return fail("waiting for the group", CS_ERR_LIBRARY);
	if (is_parent && !dispatch_until(h, alone))
		return fail("waiting for the child to leave", CS_ERR_LIBRARY);
	if ((err = cpg_leave(h, &group)) != CS_OK)
		return fail("cpg_leave", err);
	cpg_finalize(h);
	return 0;
}

int main(void)
{
	int status;
	pid_t child;

	setvbuf(stdout, NULL, _IOLBF, 0);
	child = fork();
	if (child < 0)
		return 1;
	if (child == 0)
		return member(0);
	if (member(1) != 0)
		return 1;
	return waitpid(child, &status, 0) == child && WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
