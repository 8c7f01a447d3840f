/* libcpg against a real conclaved: the functions of cpg.h, membership and
 * confchg semantics with several processes, total order, and our decisions
 * on corosync's quirks (cpg_overview(3)). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <corosync/cpg.h>
#include <corosync/votequorum.h>

#include "harness.h"

static struct test_daemon daemon_under_test;

#define MAX_SEEN 64

struct seen_confchg {
	struct cpg_name group;
	struct cpg_address members[MAX_SEEN], left[MAX_SEEN], joined[MAX_SEEN];
	size_t n_members, n_left, n_joined;
};

/* What the callbacks of this process saw, in order: 'c' confchg, 'm'
 * message, 't' totem confchg. */
static struct {
	char order[MAX_SEEN];
	size_t n;
	struct seen_confchg confchg[MAX_SEEN];
	size_t n_confchg;
	char messages[MAX_SEEN][64];
	uint32_t message_pid[MAX_SEEN], message_nodeid[MAX_SEEN];
	size_t n_messages;
	struct cpg_ring_id ring;
	uint32_t totem_members[8];
	uint32_t n_totem_members;
	bool finalize_in_callback;
	cs_error_t finalize_result;
} seen;

static void note(char what)
{
	if (seen.n < MAX_SEEN - 1)
		seen.order[seen.n++] = what;
}

static void copy_list(struct cpg_address *to, size_t *n_to, const struct cpg_address *from, size_t n)
{
	*n_to = n;
	memcpy(to, from, (n < MAX_SEEN ? n : MAX_SEEN) * sizeof(*from));
}

static void on_confchg(cpg_handle_t handle, const struct cpg_name *group, const struct cpg_address *members,
		       size_t n_members, const struct cpg_address *left, size_t n_left,
		       const struct cpg_address *joined, size_t n_joined)
{
	struct seen_confchg *c =
		&seen.confchg[seen.n_confchg < MAX_SEEN - 1 ? seen.n_confchg++ : seen.n_confchg];

	note('c');
	c->group = *group;
	copy_list(c->members, &c->n_members, members, n_members);
	copy_list(c->left, &c->n_left, left, n_left);
	copy_list(c->joined, &c->n_joined, joined, n_joined);
	if (seen.finalize_in_callback)
		seen.finalize_result = cpg_finalize(handle);
}

static void on_deliver(cpg_handle_t handle, const struct cpg_name *group, uint32_t nodeid, uint32_t pid,
		       void *msg, size_t msg_len)
{
	size_t i = seen.n_messages < MAX_SEEN - 1 ? seen.n_messages++ : seen.n_messages;

	note('m');
	snprintf(seen.messages[i], sizeof(seen.messages[i]), "%.*s", (int)msg_len, (const char *)msg);
	seen.message_pid[i] = pid;
	seen.message_nodeid[i] = nodeid;
}

static void on_totem(cpg_handle_t handle, struct cpg_ring_id ring, uint32_t n_members,
		     const uint32_t *members)
{
	note('t');
	seen.ring = ring;
	seen.n_totem_members = n_members;
	memcpy(seen.totem_members, members, (n_members < 8 ? n_members : 8) * sizeof(*members));
}

static cpg_callbacks_t callbacks = { .cpg_deliver_fn = on_deliver, .cpg_confchg_fn = on_confchg };

static int start(void **state)
{
	memset(&seen, 0, sizeof(seen));
	return test_daemon_start(&daemon_under_test, SINGLE_NODE_CONFIG);
}

static int stop(void **state)
{
	return test_daemon_stop(&daemon_under_test);
}

static struct cpg_name name_of(const char *text)
{
	struct cpg_name name = { .length = (uint32_t)strlen(text) };

	memcpy(name.value, text, name.length);
	return name;
}

static cpg_handle_t connect_cpg(void)
{
	cpg_handle_t h;

	assert_int_equal(cpg_initialize(&h, &callbacks), CS_OK);
	return h;
}

/* Dispatches until `count` callbacks have been seen in total. */
static void dispatch_until(cpg_handle_t h, size_t count)
{
	int fd;

	assert_int_equal(cpg_fd_get(h, &fd), CS_OK);
	while (seen.n < count) {
		assert_true(fd_readable_within(fd, 5000));
		assert_int_equal(cpg_dispatch(h, CS_DISPATCH_ALL), CS_OK);
	}
}

static void assert_process(const struct cpg_address *a, pid_t pid, uint32_t reason)
{
	assert_int_equal(a->nodeid, 1);
	assert_int_equal(a->pid, (uint32_t)pid);
	assert_int_equal(a->reason, reason);
}

/* ---- child processes ------------------------------------------------------- */

/* A child joined to `group` that obeys one command byte from the parent:
 * 'l' leave then exit, 'f' finalize then exit, 'x' exit as it is, 'k' wait
 * to be killed. It writes 'j' once its own join confchg has arrived. */
static void child_run(const char *group, int commands, int replies)
{
	struct cpg_name name = name_of(group);
	cpg_handle_t h;
	char command;

	memset(&seen, 0, sizeof(seen));
	if (cpg_initialize(&h, &callbacks) != CS_OK || cpg_join(h, &name) != CS_OK)
		_exit(2);
	while (seen.n_confchg == 0)
		if (cpg_dispatch(h, CS_DISPATCH_ONE) != CS_OK)
			_exit(3);
	if (write(replies, "j", 1) != 1 || read(commands, &command, 1) != 1)
		_exit(4);
	if (command == 'l' && cpg_leave(h, &name) != CS_OK)
		_exit(5);
	if (command == 'f' && cpg_finalize(h) != CS_OK)
		_exit(6);
	if (command == 'k')
		pause();
	_exit(0);
}

static struct test_child child_start(const char *group)
{
	struct test_child c;

	assert_int_equal(test_child_start(&c, child_run, group, 'j'), 0);
	return c;
}

static void child_command(struct test_child *c, char command)
{
	assert_int_equal(write(c->to_child, &command, 1), 1);
}

static void child_wait(struct test_child *c)
{
	int status;

	assert_int_equal(waitpid(c->pid, &status, 0), c->pid);
	assert_true(WIFEXITED(status) || WIFSIGNALED(status));
	if (WIFEXITED(status))
		assert_int_equal(WEXITSTATUS(status), 0);
	close(c->to_child);
	close(c->from_child);
}

/* ---- CPG-1: join ----------------------------------------------------------- */

static void test_join_gives_own_confchg(void **state)
{
	cpg_handle_t h = connect_cpg();
	struct cpg_name group = name_of("alpha");

	assert_int_equal(cpg_join(h, &group), CS_OK);
	dispatch_until(h, 1);
	assert_int_equal(seen.order[0], 'c');
	assert_int_equal(seen.confchg[0].group.length, 5);
	assert_memory_equal(seen.confchg[0].group.value, "alpha", 5);
	assert_int_equal(seen.confchg[0].n_joined, 1);
	assert_process(&seen.confchg[0].joined[0], getpid(), CPG_REASON_JOIN);
	assert_int_equal(seen.confchg[0].n_members, 1);
	assert_process(&seen.confchg[0].members[0], getpid(), CPG_REASON_UNDEFINED);
	assert_int_equal(seen.confchg[0].n_left, 0);
	assert_int_equal(cpg_finalize(h), CS_OK);
}

static void test_join_errors(void **state)
{
	cpg_handle_t h = connect_cpg(), other = connect_cpg(), third = connect_cpg();
	struct cpg_name group = name_of("alpha"), another = name_of("beta");
	struct cpg_name longest = { .length = CPG_MAX_NAME_LENGTH },
			too_long = { .length = CPG_MAX_NAME_LENGTH + 1 };
	struct cpg_name empty = { .length = 0 };

	memset(longest.value, 'n', sizeof(longest.value));
	assert_int_equal(cpg_join(h, &group), CS_OK);
	assert_int_equal(cpg_join(h, &group), CS_ERR_EXIST);
	assert_int_equal(cpg_join(h, &another), CS_ERR_EXIST);
	/* The same process through another handle. */
	assert_int_equal(cpg_join(other, &group), CS_ERR_EXIST);
	assert_int_equal(cpg_join(other, &too_long), CS_ERR_NAME_TOO_LONG);
	assert_int_equal(cpg_join(other, &empty), CS_ERR_INVALID_PARAM);
	assert_int_equal(cpg_join(other, NULL), CS_ERR_INVALID_PARAM);
	assert_int_equal(cpg_join(other, &longest), CS_OK);
	assert_int_equal(cpg_join(third, &another), CS_OK);
	assert_int_equal(cpg_join(0, &group), CS_ERR_BAD_HANDLE);
	assert_int_equal(cpg_finalize(h), CS_OK);
	assert_int_equal(cpg_finalize(other), CS_OK);
	assert_int_equal(cpg_finalize(third), CS_OK);
}

/* ---- CPG-2: messages ------------------------------------------------------- */

static void test_mcast_is_delivered_to_the_sender(void **state)
{
	cpg_handle_t h = connect_cpg();
	struct cpg_name group = name_of("alpha");
	struct iovec iov[2] = { { "hel", 3 }, { "lo", 2 } };

	assert_int_equal(cpg_join(h, &group), CS_OK);
	/* Sent before the join confchg is dispatched, delivered after it. */
	assert_int_equal(cpg_mcast_joined(h, CPG_TYPE_AGREED, iov, 2), CS_OK);
	assert_int_equal(cpg_mcast_joined(h, CPG_TYPE_FIFO, iov, 1), CS_OK);
	assert_int_equal(cpg_mcast_joined(h, CPG_TYPE_SAFE, NULL, 0), CS_OK);
	dispatch_until(h, 4);
	assert_memory_equal(seen.order, "cmmm", 4);
	assert_string_equal(seen.messages[0], "hello");
	assert_string_equal(seen.messages[1], "hel");
	assert_string_equal(seen.messages[2], "");
	assert_int_equal(seen.message_pid[0], (uint32_t)getpid());
	assert_int_equal(seen.message_nodeid[0], 1);
	assert_int_equal(cpg_mcast_joined(h, CPG_TYPE_AGREED, NULL, 1), CS_ERR_INVALID_PARAM);
	assert_int_equal(cpg_finalize(h), CS_OK);
}

/* CPG-Q2: corosync returns CS_OK and drops the message. */
static void test_mcast_when_not_joined_is_not_exist(void **state)
{
	cpg_handle_t h = connect_cpg();
	struct cpg_name group = name_of("alpha");
	struct iovec iov = { "x", 1 };

	assert_int_equal(cpg_mcast_joined(h, CPG_TYPE_AGREED, &iov, 1), CS_ERR_NOT_EXIST);
	assert_int_equal(cpg_join(h, &group), CS_OK);
	assert_int_equal(cpg_leave(h, &group), CS_OK);
	assert_int_equal(cpg_mcast_joined(h, CPG_TYPE_AGREED, &iov, 1), CS_ERR_NOT_EXIST);
	assert_int_equal(cpg_finalize(h), CS_OK);
}

static void test_max_atomic_msgsize(void **state)
{
	cpg_handle_t h = connect_cpg();
	struct cpg_name group = name_of("alpha");
	uint32_t max = 0;
	char *big;
	struct iovec iov;

	assert_int_equal(cpg_max_atomic_msgsize_get(h, &max), CS_OK);
	assert_int_equal(max, 1047552);
	assert_int_equal(cpg_max_atomic_msgsize_get(h, NULL), CS_ERR_INVALID_PARAM);
	assert_int_equal(cpg_max_atomic_msgsize_get(0, &max), CS_ERR_BAD_HANDLE);
	big = calloc(1, max + 1);
	assert_non_null(big);
	assert_int_equal(cpg_join(h, &group), CS_OK);
	iov = (struct iovec){ big, max };
	assert_int_equal(cpg_mcast_joined(h, CPG_TYPE_AGREED, &iov, 1), CS_OK);
	dispatch_until(h, 2);
	assert_memory_equal(seen.order, "cm", 2);
	free(big);
	assert_int_equal(cpg_finalize(h), CS_OK);
}

/* ---- large messages to several members ------------------------------------ */

/* What this member's callback made of the large messages: how many came
 * in order and whole, and how many did not. */
static struct {
	size_t delivered;
	size_t wrong;
} large;

enum { LARGE_BURST = 40, LARGE_PACED = 40, LARGE_ALL = LARGE_BURST + LARGE_PACED };

static size_t large_size(size_t i)
{
	static const size_t sizes[] = { 65536, 16384, 20000, 65536, 40000, 17 };

	return sizes[i % (sizeof(sizes) / sizeof(sizes[0]))];
}

static uint8_t large_byte(size_t message, size_t i)
{
	return (uint8_t)(message * 7 + i);
}

static void on_large_deliver(cpg_handle_t handle, const struct cpg_name *group, uint32_t nodeid, uint32_t pid,
			     void *msg, size_t msg_len)
{
	size_t i = large.delivered + large.wrong;
	const uint8_t *bytes = msg;

	for (size_t b = 0; b < msg_len; b++) {
		if (msg_len != large_size(i) || bytes[b] != large_byte(i, b)) {
			large.wrong++;
			return;
		}
	}
	large.delivered++;
}

static cpg_callbacks_t large_callbacks = { .cpg_deliver_fn = on_large_deliver };

static void large_send(cpg_handle_t h, size_t i)
{
	uint8_t *message = malloc(large_size(i));
	struct iovec iov = { message, large_size(i) };
	cs_error_t err;

	assert_non_null(message);
	for (size_t b = 0; b < large_size(i); b++)
		message[b] = large_byte(i, b);
	while ((err = cpg_mcast_joined(h, CPG_TYPE_AGREED, &iov, 1)) == CS_ERR_TRY_AGAIN)
		assert_int_equal(cpg_dispatch(h, CS_DISPATCH_ALL), CS_OK);
	assert_int_equal(err, CS_OK);
	free(message);
}

static bool event_ring_mapped(void)
{
	FILE *maps = fopen("/proc/self/maps", "r");
	char line[512];
	bool found = false;

	if (maps == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), maps) != NULL)
		found = strstr(line, "conclave-events") != NULL;
	fclose(maps);
	return found;
}

/* Dispatches until every large message came, for at most 10 s. */
static void large_receive(cpg_handle_t h)
{
	int fd;

	if (cpg_fd_get(h, &fd) != CS_OK)
		return;
	for (int rounds = 0; rounds < 100 && large.delivered + large.wrong < LARGE_ALL; rounds++)
		if (fd_readable_within(fd, 100) && cpg_dispatch(h, CS_DISPATCH_ALL) != CS_OK)
			return;
}

/* A member in a process of its own: exits 0 when every message came
 * whole and in order, through its event ring. */
static pid_t large_member_start(int joined)
{
	struct cpg_name group = name_of("large");
	pid_t pid = fork();
	cpg_handle_t h;

	if (pid != 0)
		return pid;
	if (cpg_initialize(&h, &large_callbacks) != CS_OK || cpg_join(h, &group) != CS_OK ||
	    write(joined, "j", 1) != 1)
		_exit(2);
	large_receive(h);
	_exit(large.wrong == 0 && large.delivered == LARGE_ALL && event_ring_mapped() ? 0 : 1);
}

/* Large messages reach each member through its event ring, read in place;
 * a burst larger than the ring goes whole past it, and a ring given back
 * is written again: every message arrives whole, in order, to each. */
static void test_large_messages_to_several_members(void **state)
{
	struct cpg_name group = name_of("large");
	int joined[2], status = -1;
	cpg_handle_t h;
	char byte;
	pid_t other;

	memset(&large, 0, sizeof(large));
	assert_int_equal(pipe(joined), 0);
	other = large_member_start(joined[1]);
	assert_true(other > 0);
	assert_int_equal(read(joined[0], &byte, 1), 1);
	assert_int_equal(cpg_initialize(&h, &large_callbacks), CS_OK);
	assert_int_equal(cpg_join(h, &group), CS_OK);
	assert_false(event_ring_mapped());
	for (size_t i = 0; i < LARGE_BURST; i++)
		large_send(h, i);
	for (size_t i = LARGE_BURST; i < LARGE_ALL; i++) {
		large_send(h, i);
		assert_int_equal(cpg_dispatch(h, CS_DISPATCH_ALL), CS_OK);
	}
	large_receive(h);
	assert_int_equal(waitpid(other, &status, 0), other);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(large.wrong, 0);
	assert_int_equal(large.delivered, LARGE_ALL);
	assert_true(event_ring_mapped());
	close(joined[0]);
	close(joined[1]);
	assert_int_equal(cpg_finalize(h), CS_OK);
}

/* ---- CPG-3: leave, and CPG-Q1: join again ---------------------------------- */

static void test_leave_gives_own_confchg_and_rejoin_works(void **state)
{
	cpg_handle_t h = connect_cpg();
	struct cpg_name group = name_of("alpha"), another = name_of("beta");
	struct cpg_name too_long = { .length = CPG_MAX_NAME_LENGTH + 1 };

	assert_int_equal(cpg_leave(h, &group), CS_ERR_NOT_EXIST);
	assert_int_equal(cpg_join(h, &group), CS_OK);
	assert_int_equal(cpg_leave(h, &too_long), CS_ERR_NAME_TOO_LONG);
	assert_int_equal(cpg_leave(h, NULL), CS_ERR_INVALID_PARAM);
	assert_int_equal(cpg_leave(h, &group), CS_OK);
	assert_int_equal(cpg_leave(h, &group), CS_ERR_NOT_EXIST);
	assert_int_equal(cpg_join(h, &group), CS_OK);
	assert_int_equal(cpg_leave(h, &group), CS_OK);
	assert_int_equal(cpg_join(h, &another), CS_OK);
	dispatch_until(h, 5);
	assert_memory_equal(seen.order, "ccccc", 5);
	assert_int_equal(seen.confchg[1].n_left, 1);
	assert_process(&seen.confchg[1].left[0], getpid(), CPG_REASON_LEAVE);
	assert_int_equal(seen.confchg[1].n_members, 0);
	assert_int_equal(seen.confchg[2].n_joined, 1);
	assert_int_equal(seen.confchg[4].group.length, 4);
	assert_memory_equal(seen.confchg[4].group.value, "beta", 4);
	assert_int_equal(cpg_finalize(h), CS_OK);
}

/* ---- CPG-4: other processes ------------------------------------------------ */

static void expect_peer_change(cpg_handle_t h, pid_t peer, bool joined, uint32_t reason, size_t members)
{
	const struct seen_confchg *c;

	dispatch_until(h, seen.n + 1);
	c = &seen.confchg[seen.n_confchg - 1];
	assert_int_equal(joined ? c->n_joined : c->n_left, 1);
	assert_process(joined ? &c->joined[0] : &c->left[0], peer, reason);
	assert_int_equal(c->n_members, members);
}

static void test_peers_join_leave_exit_finalize_and_die(void **state)
{
	cpg_handle_t h = connect_cpg();
	struct cpg_name group = name_of("peers");
	const char commands[] = "lfxk";

	assert_int_equal(cpg_join(h, &group), CS_OK);
	dispatch_until(h, 1);
	for (const char *command = commands; *command != '\0'; command++) {
		struct test_child c = child_start("peers");

		expect_peer_change(h, c.pid, true, CPG_REASON_JOIN, 2);
		if (*command == 'k')
			kill(c.pid, SIGKILL);
		else
			child_command(&c, *command);
		expect_peer_change(h, c.pid, false, *command == 'l' ? CPG_REASON_LEAVE : CPG_REASON_PROCDOWN,
				   1);
		child_wait(&c);
	}
	assert_int_equal(cpg_finalize(h), CS_OK);
}

/* ---- CPG-5: membership_get ------------------------------------------------- */

static void test_membership_get(void **state)
{
	cpg_handle_t h = connect_cpg();
	struct cpg_name group = name_of("peers"), unknown = name_of("nobody");
	struct cpg_name too_long = { .length = CPG_MAX_NAME_LENGTH + 1 };
	struct cpg_address members[CPG_MEMBERS_MAX];
	struct test_child a, b;
	int n = -1;

	a = child_start("peers");
	b = child_start("peers");
	assert_int_equal(cpg_membership_get(h, &group, members, &n), CS_OK);
	assert_int_equal(n, 2);
	assert_true(members[0].pid < members[1].pid);
	assert_true(members[0].pid == (uint32_t)a.pid || members[0].pid == (uint32_t)b.pid);
	assert_int_equal(members[0].nodeid, 1);
	assert_int_equal(members[0].reason, 0);
	assert_int_equal(cpg_membership_get(h, &unknown, members, &n), CS_OK);
	assert_int_equal(n, 0);
	assert_int_equal(cpg_membership_get(h, NULL, members, &n), CS_ERR_INVALID_PARAM);
	assert_int_equal(cpg_membership_get(h, &group, NULL, &n), CS_ERR_INVALID_PARAM);
	assert_int_equal(cpg_membership_get(h, &group, members, NULL), CS_ERR_INVALID_PARAM);
	assert_int_equal(cpg_membership_get(h, &too_long, members, &n), CS_ERR_NAME_TOO_LONG);
	assert_int_equal(cpg_membership_get(0, &group, members, &n), CS_ERR_BAD_HANDLE);
	child_command(&a, 'x');
	child_command(&b, 'x');
	child_wait(&a);
	child_wait(&b);
	assert_int_equal(cpg_finalize(h), CS_OK);
}

/* CPG-Q3: no more than CPG_MEMBERS_MAX entries are written. */
static void test_membership_get_is_bounded(void **state)
{
	struct cpg_address members[CPG_MEMBERS_MAX + 1];
	struct test_child children[CPG_MEMBERS_MAX + 1]; /* a process is in a group once */
	struct cpg_name group = name_of("crowd");
	cpg_handle_t h = connect_cpg();
	int n = -1;

	for (size_t i = 0; i < CPG_MEMBERS_MAX + 1; i++)
		children[i] = child_start("crowd");
	members[CPG_MEMBERS_MAX].pid = 0xdeadbeef;
	assert_int_equal(cpg_membership_get(h, &group, members, &n), CS_ERR_NO_SPACE);
	assert_int_equal(n, CPG_MEMBERS_MAX);
	assert_int_equal(members[CPG_MEMBERS_MAX].pid, 0xdeadbeef);
	for (size_t i = 0; i < CPG_MEMBERS_MAX + 1; i++)
		child_command(&children[i], 'x');
	for (size_t i = 0; i < CPG_MEMBERS_MAX + 1; i++)
		child_wait(&children[i]);
	assert_int_equal(cpg_finalize(h), CS_OK);
}

/* ---- CPG-7: iteration ------------------------------------------------------ */

static size_t iterate(cpg_handle_t h, cpg_iteration_type_t type, const struct cpg_name *group,
		      struct cpg_iteration_description_t *out, size_t capacity)
{
	cpg_iteration_handle_t it;
	size_t n = 0;
	cs_error_t err;

	assert_int_equal(cpg_iteration_initialize(h, type, group, &it), CS_OK);
	while ((err = cpg_iteration_next(it, &out[n < capacity - 1 ? n : capacity - 1])) == CS_OK)
		n++;
	assert_int_equal(err, CS_ERR_NO_SECTIONS);
	assert_int_equal(cpg_iteration_next(it, &out[0]), CS_ERR_NO_SECTIONS);
	assert_int_equal(cpg_iteration_next(it, NULL), CS_ERR_INVALID_PARAM);
	assert_int_equal(cpg_iteration_finalize(it), CS_OK);
	assert_int_equal(cpg_iteration_finalize(it), CS_ERR_BAD_HANDLE);
	assert_int_equal(cpg_iteration_next(it, &out[0]), CS_ERR_BAD_HANDLE);
	return n;
}

static void test_iteration(void **state)
{
	cpg_handle_t h = connect_cpg(), other = connect_cpg();
	struct cpg_name a = name_of("a-group"), b = name_of("b-group"), none = name_of("none");
	struct cpg_name too_long = { .length = CPG_MAX_NAME_LENGTH + 1 };
	struct cpg_iteration_description_t d[8];
	cpg_iteration_handle_t it;
	struct test_child peer;

	assert_int_equal(cpg_join(h, &a), CS_OK);
	assert_int_equal(cpg_join(other, &b), CS_OK);
	peer = child_start("a-group");
	assert_int_equal(iterate(h, CPG_ITERATION_NAME_ONLY, NULL, d, 8), 2);
	assert_int_equal(d[0].nodeid, 0);
	assert_int_equal(d[0].pid, 0);
	assert_int_equal(d[0].group.length, 7);
	assert_int_equal(iterate(h, CPG_ITERATION_ONE_GROUP, &a, d, 8), 2);
	assert_memory_equal(d[1].group.value, "a-group", 7);
	assert_true(d[0].pid < d[1].pid);
	assert_int_equal(iterate(h, CPG_ITERATION_ONE_GROUP, &none, d, 8), 0);
	assert_int_equal(iterate(h, CPG_ITERATION_ALL, NULL, d, 8), 3);
	assert_memory_equal(d[0].group.value, d[1].group.value, 7);
	assert_int_equal(d[2].pid, (uint32_t)getpid());

	assert_int_equal(cpg_iteration_initialize(h, CPG_ITERATION_ONE_GROUP, NULL, &it),
			 CS_ERR_INVALID_PARAM);
	assert_int_equal(cpg_iteration_initialize(h, CPG_ITERATION_ALL, &a, &it), CS_ERR_INVALID_PARAM);
	assert_int_equal(cpg_iteration_initialize(h, CPG_ITERATION_NAME_ONLY, &a, &it), CS_ERR_INVALID_PARAM);
	assert_int_equal(cpg_iteration_initialize(h, 4, NULL, &it), CS_ERR_INVALID_PARAM);
	assert_int_equal(cpg_iteration_initialize(h, CPG_ITERATION_ALL, NULL, NULL), CS_ERR_INVALID_PARAM);
	assert_int_equal(cpg_iteration_initialize(h, CPG_ITERATION_ONE_GROUP, &too_long, &it),
			 CS_ERR_NAME_TOO_LONG);
	assert_int_equal(cpg_iteration_initialize(0, CPG_ITERATION_ALL, NULL, &it), CS_ERR_BAD_HANDLE);
	/* Finalizing the cpg handle destroys its iterations. */
	assert_int_equal(cpg_iteration_initialize(other, CPG_ITERATION_ALL, NULL, &it), CS_OK);
	assert_int_equal(cpg_finalize(other), CS_OK);
	assert_int_equal(cpg_iteration_next(it, &d[0]), CS_ERR_BAD_HANDLE);
	child_command(&peer, 'x');
	child_wait(&peer);
	assert_int_equal(cpg_finalize(h), CS_OK);
}

/* ---- CPG-9: models and the totem confchg ----------------------------------- */

static void test_model_initialize_with_initial_totem_conf(void **state)
{
	cpg_model_v1_data_t data = {
		.model = CPG_MODEL_V1,
		.cpg_deliver_fn = on_deliver,
		.cpg_confchg_fn = on_confchg,
		.cpg_totem_confchg_fn = on_totem,
		.flags = CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF,
	};
	struct cpg_name group = name_of("alpha");
	cpg_handle_t h;
	void *context = NULL;
	int marker;

	assert_int_equal(cpg_model_initialize(&h, CPG_MODEL_V1, (cpg_model_data_t *)&data, &marker), CS_OK);
	assert_int_equal(cpg_context_get(h, &context), CS_OK);
	assert_ptr_equal(context, &marker);
	assert_int_equal(cpg_context_set(h, NULL), CS_OK);
	assert_int_equal(cpg_context_get(h, &context), CS_OK);
	assert_null(context);
	assert_int_equal(cpg_join(h, &group), CS_OK);
	dispatch_until(h, 2);
	assert_memory_equal(seen.order, "ct", 2);
	assert_int_equal(seen.ring.nodeid, 1);
	assert_int_equal(seen.n_totem_members, 1);
	assert_int_equal(seen.totem_members[0], 1);
	/* Only after the first confchg of a join. */
	assert_int_equal(cpg_leave(h, &group), CS_OK);
	assert_int_equal(cpg_join(h, &group), CS_OK);
	dispatch_until(h, 5);
	assert_memory_equal(seen.order, "ctcct", 5);
	assert_int_equal(cpg_finalize(h), CS_OK);
}

/* A quorum device casting its vote is no totem member. */
static void test_totem_confchg_leaves_out_the_quorum_device(void **state)
{
	cpg_model_v1_data_t data = {
		.model = CPG_MODEL_V1,
		.cpg_confchg_fn = on_confchg,
		.cpg_totem_confchg_fn = on_totem,
		.flags = CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF,
	};
	struct cpg_name group = name_of("alpha");
	votequorum_handle_t vq;
	votequorum_ring_id_t ring;
	cpg_handle_t h;

	assert_int_equal(cpg_model_initialize(&h, CPG_MODEL_V1, (cpg_model_data_t *)&data, NULL), CS_OK);
	assert_int_equal(cpg_join(h, &group), CS_OK);
	dispatch_until(h, 2);
	ring = (votequorum_ring_id_t){ .nodeid = seen.ring.nodeid, .seq = seen.ring.seq };
	assert_int_equal(votequorum_initialize(&vq, NULL), CS_OK);
	assert_int_equal(votequorum_qdevice_register(vq, "dev"), CS_OK);
	assert_int_equal(votequorum_qdevice_poll(vq, "dev", 1, ring), CS_OK);
	assert_int_equal(cpg_leave(h, &group), CS_OK);
	assert_int_equal(cpg_join(h, &group), CS_OK);
	dispatch_until(h, 5);
	assert_memory_equal(seen.order, "ctcct", 5);
	assert_int_equal(seen.n_totem_members, 1);
	assert_int_equal(seen.totem_members[0], 1);
	assert_int_equal(votequorum_finalize(vq), CS_OK);
	assert_int_equal(cpg_finalize(h), CS_OK);
}

static void test_model_initialize_errors(void **state)
{
	cpg_model_v1_data_t data = { .model = CPG_MODEL_V1, .flags = 2 };
	cpg_handle_t h;

	assert_int_equal(cpg_model_initialize(&h, 2, NULL, NULL), CS_ERR_INVALID_PARAM);
	assert_int_equal(cpg_model_initialize(&h, CPG_MODEL_V1, (cpg_model_data_t *)&data, NULL),
			 CS_ERR_INVALID_PARAM);
	assert_int_equal(cpg_model_initialize(NULL, CPG_MODEL_V1, NULL, NULL), CS_ERR_INVALID_PARAM);
	assert_int_equal(cpg_initialize(NULL, &callbacks), CS_ERR_INVALID_PARAM);
	assert_int_equal(cpg_model_initialize(&h, CPG_MODEL_V1, NULL, NULL), CS_OK);
	assert_int_equal(cpg_finalize(h), CS_OK);
	assert_int_equal(cpg_initialize(&h, NULL), CS_OK);
	assert_int_equal(cpg_finalize(h), CS_OK);
	assert_int_equal(cpg_finalize(h), CS_ERR_BAD_HANDLE);
}

/* ---- CPG-10: zero-copy buffers --------------------------------------------- */

static void test_zcb_shim(void **state)
{
	cpg_handle_t h = connect_cpg();
	struct cpg_name group = name_of("alpha");
	void *buffer = NULL;

	assert_int_equal(cpg_zcb_alloc(h, 6, &buffer), CS_OK);
	assert_non_null(buffer);
	memcpy(buffer, "zcb-ok", 6);
	assert_int_equal(cpg_zcb_mcast_joined(h, CPG_TYPE_AGREED, buffer, 6), CS_ERR_NOT_EXIST);
	assert_int_equal(cpg_join(h, &group), CS_OK);
	assert_int_equal(cpg_zcb_mcast_joined(h, CPG_TYPE_AGREED, buffer, 6), CS_OK);
	assert_int_equal(cpg_zcb_mcast_joined(h, CPG_TYPE_AGREED, NULL, 6), CS_ERR_INVALID_PARAM);
	assert_int_equal(cpg_zcb_free(h, buffer), CS_OK);
	assert_int_equal(cpg_zcb_alloc(h, 1, NULL), CS_ERR_INVALID_PARAM);
	dispatch_until(h, 2);
	assert_string_equal(seen.messages[0], "zcb-ok");
	assert_int_equal(cpg_finalize(h), CS_OK);
}

/* ---- the rest -------------------------------------------------------------- */

static void test_local_get_and_flow_control(void **state)
{
	cpg_handle_t h = connect_cpg();
	cpg_flow_control_state_t fc = CPG_FLOW_CONTROL_ENABLED;
	unsigned int nodeid = 0;

	assert_int_equal(cpg_local_get(h, &nodeid), CS_OK);
	assert_int_equal(nodeid, 1);
	assert_int_equal(cpg_local_get(h, NULL), CS_ERR_INVALID_PARAM);
	assert_int_equal(cpg_flow_control_state_get(h, &fc), CS_OK);
	assert_int_equal(fc, CPG_FLOW_CONTROL_DISABLED);
	assert_int_equal(cpg_local_get(0, &nodeid), CS_ERR_BAD_HANDLE);
	assert_int_equal(cpg_finalize(h), CS_OK);
}

static void test_finalize_inside_callback(void **state)
{
	cpg_handle_t h = connect_cpg();
	struct cpg_name group = name_of("alpha");
	struct iovec iov = { "x", 1 };

	seen.finalize_in_callback = true;
	assert_int_equal(cpg_join(h, &group), CS_OK);
	assert_int_equal(cpg_mcast_joined(h, CPG_TYPE_AGREED, &iov, 1), CS_OK);
	assert_int_equal(cpg_dispatch(h, CS_DISPATCH_BLOCKING), CS_ERR_BAD_HANDLE);
	assert_int_equal(seen.finalize_result, CS_OK);
	assert_int_equal(seen.n, 1);
	assert_int_equal(cpg_finalize(h), CS_ERR_BAD_HANDLE);
}

static void test_daemon_death_is_library_error(void **state)
{
	cpg_handle_t h = connect_cpg();
	struct cpg_name group = name_of("alpha");
	int fd;

	assert_int_equal(cpg_fd_get(h, &fd), CS_OK);
	test_daemon_kill(&daemon_under_test);
	assert_true(fd_readable_within(fd, 2000));
	assert_int_equal(cpg_dispatch(h, CS_DISPATCH_ALL), CS_ERR_LIBRARY);
	assert_int_equal(cpg_join(h, &group), CS_ERR_LIBRARY);
	/* as corosync's: LIBRARY, and the handle is freed all the same */
	assert_int_equal(cpg_finalize(h), CS_ERR_LIBRARY);
	assert_int_equal(cpg_finalize(h), CS_ERR_BAD_HANDLE);
}

/* Finalize notices a dead daemon also when nothing read from it since. */
static void test_finalize_right_after_daemon_death(void **state)
{
	cpg_handle_t h = connect_cpg();
	int fd;

	assert_int_equal(cpg_fd_get(h, &fd), CS_OK);
	test_daemon_kill(&daemon_under_test);
	assert_true(fd_readable_within(fd, 2000));
	assert_int_equal(cpg_finalize(h), CS_ERR_LIBRARY);
	assert_int_equal(cpg_finalize(h), CS_ERR_BAD_HANDLE);
}

#define SINGLE(t) cmocka_unit_test_setup_teardown(t, start, stop)

int main(void)
{
	const struct CMUnitTest tests[] = {
		SINGLE(test_join_gives_own_confchg),
		SINGLE(test_join_errors),
		SINGLE(test_mcast_is_delivered_to_the_sender),
		SINGLE(test_mcast_when_not_joined_is_not_exist),
		SINGLE(test_max_atomic_msgsize),
		SINGLE(test_large_messages_to_several_members),
		SINGLE(test_leave_gives_own_confchg_and_rejoin_works),
		SINGLE(test_peers_join_leave_exit_finalize_and_die),
		SINGLE(test_membership_get),
		SINGLE(test_membership_get_is_bounded),
		SINGLE(test_iteration),
		SINGLE(test_model_initialize_with_initial_totem_conf),
		SINGLE(test_totem_confchg_leaves_out_the_quorum_device),
		SINGLE(test_model_initialize_errors),
		SINGLE(test_zcb_shim),
		SINGLE(test_local_get_and_flow_control),
		SINGLE(test_finalize_inside_callback),
		SINGLE(test_daemon_death_is_library_error),
		SINGLE(test_finalize_right_after_daemon_death),
	};

	return cmocka_run_group_tests_name("cpg", tests, NULL, NULL);
}
