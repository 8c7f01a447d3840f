/* libevs against a real conclaved: the functions of evs.h, delivery to the
 * connections that share a group with several processes, every documented
 * error, and our fixes of corosync 1.x (evs_overview(3)). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <corosync/evs.h>

#include "harness.h"

/* corosync 1.x's evs.h, as reference section 7 gives it: the same
 * signatures, layouts and values, so that its programs build and link. */
#define SAME_TYPE(a, b) _Static_assert(__builtin_types_compatible_p(a, b), #a " is not " #b)
SAME_TYPE(__typeof__(evs_initialize), cs_error_t(evs_handle_t *, evs_callbacks_t *));
SAME_TYPE(__typeof__(evs_finalize), cs_error_t(evs_handle_t));
SAME_TYPE(__typeof__(evs_fd_get), cs_error_t(evs_handle_t, int *));
SAME_TYPE(__typeof__(evs_context_get), cs_error_t(evs_handle_t, void **));
SAME_TYPE(__typeof__(evs_context_set), cs_error_t(evs_handle_t, void *));
SAME_TYPE(__typeof__(evs_dispatch), cs_error_t(evs_handle_t, cs_dispatch_flags_t));
SAME_TYPE(__typeof__(evs_join), cs_error_t(evs_handle_t, const struct evs_group *, size_t));
SAME_TYPE(__typeof__(evs_leave), cs_error_t(evs_handle_t, const struct evs_group *, size_t));
SAME_TYPE(__typeof__(evs_mcast_joined),
	  cs_error_t(evs_handle_t, evs_guarantee_t, const struct iovec *, unsigned int));
SAME_TYPE(__typeof__(evs_mcast_groups), cs_error_t(evs_handle_t, evs_guarantee_t, const struct evs_group *,
						   size_t, const struct iovec *, unsigned int));
SAME_TYPE(__typeof__(evs_membership_get), cs_error_t(evs_handle_t, unsigned int *, unsigned int *, size_t *));
SAME_TYPE(evs_deliver_fn_t, void (*)(hdb_handle_t, unsigned int, const void *, size_t));
SAME_TYPE(evs_confchg_fn_t, void (*)(hdb_handle_t, const unsigned int *, size_t, const unsigned int *, size_t,
				     const unsigned int *, size_t, const struct evs_ring_id *));
SAME_TYPE(evs_handle_t, uint64_t);
_Static_assert(sizeof(struct evs_group) == 32, "struct evs_group");
_Static_assert(sizeof(struct evs_ring_id) == 16 && offsetof(struct evs_ring_id, seq) == 8,
	       "struct evs_ring_id");
_Static_assert(offsetof(evs_callbacks_t, evs_confchg_fn) == sizeof(void *), "evs_callbacks_t");
_Static_assert(EVS_TYPE_UNORDERED == 0 && EVS_TYPE_FIFO == 1 && EVS_TYPE_AGREED == 2 && EVS_TYPE_SAFE == 3,
	       "evs_guarantee_t");
_Static_assert(TOTEMIP_ADDRLEN == 16, "TOTEMIP_ADDRLEN");

static struct test_daemon daemon_under_test;

#define MAX_SEEN 64

/* What the callbacks of this process saw, in order: 'c' confchg, 'm' message. */
static struct {
	char order[MAX_SEEN];
	size_t n;
	unsigned int members[8], joined[8];
	size_t n_members, n_left, n_joined;
	bool ring_id_given;
	struct evs_ring_id ring_id;
	char messages[MAX_SEEN][64];
	unsigned int message_nodeid[MAX_SEEN];
	size_t n_messages;
	bool finalize_in_callback;
	cs_error_t finalize_result;
} seen;

/* Counts every callback; keeps the first MAX_SEEN. */
static void note(char what)
{
	if (seen.n < MAX_SEEN)
		seen.order[seen.n] = what;
	seen.n++;
}

static void on_confchg(hdb_handle_t handle, const unsigned int *members, size_t n_members,
		       const unsigned int *left, size_t n_left, const unsigned int *joined, size_t n_joined,
		       const struct evs_ring_id *ring_id)
{
	note('c');
	seen.n_members = n_members;
	seen.n_left = n_left;
	seen.n_joined = n_joined;
	memcpy(seen.members, members, (n_members < 8 ? n_members : 8) * sizeof(*members));
	memcpy(seen.joined, joined, (n_joined < 8 ? n_joined : 8) * sizeof(*joined));
	seen.ring_id_given = ring_id != NULL;
	if (ring_id != NULL)
		seen.ring_id = *ring_id;
	if (seen.finalize_in_callback)
		seen.finalize_result = evs_finalize(handle);
}

static void on_deliver(hdb_handle_t handle, unsigned int nodeid, const void *msg, size_t msg_len)
{
	size_t i = seen.n_messages < MAX_SEEN - 1 ? seen.n_messages : MAX_SEEN - 1;

	seen.n_messages++;
	note('m');
	snprintf(seen.messages[i], sizeof(seen.messages[i]), "%.*s", (int)msg_len, (const char *)msg);
	seen.message_nodeid[i] = nodeid;
}

static evs_callbacks_t callbacks = { .evs_deliver_fn = on_deliver, .evs_confchg_fn = on_confchg };

static int start(void **state)
{
	memset(&seen, 0, sizeof(seen));
	return test_daemon_start(&daemon_under_test, SINGLE_NODE_CONFIG);
}

/* conclave.evs_max_joins at 3. */
static int start_with_few_joins(void **state)
{
	static char config[1024];

	memset(&seen, 0, sizeof(seen));
	snprintf(config, sizeof(config), "%sconclave {\n\tevs_max_joins: 3\n}\n", SINGLE_NODE_CONFIG);
	return test_daemon_start(&daemon_under_test, config);
}

static int stop(void **state)
{
	return test_daemon_stop(&daemon_under_test);
}

static struct evs_group group_of(const char *key)
{
	struct evs_group g;

	memset(&g, 0, sizeof(g));
	strncpy(g.key, key, sizeof(g.key));
	return g;
}

static evs_handle_t connect_evs(void)
{
	evs_handle_t h;

	assert_int_equal(evs_initialize(&h, &callbacks), CS_OK);
	return h;
}

/* Dispatches until `count` callbacks have been seen in total. */
static void dispatch_until(evs_handle_t h, size_t count)
{
	int fd;

	assert_int_equal(evs_fd_get(h, &fd), CS_OK);
	while (seen.n < count) {
		assert_true(fd_readable_within(fd, 5000));
		assert_int_equal(evs_dispatch(h, CS_DISPATCH_ALL), CS_OK);
	}
}

/* Dispatches what arrives within 300 ms. */
static void dispatch_pending(evs_handle_t h)
{
	int fd;

	assert_int_equal(evs_fd_get(h, &fd), CS_OK);
	while (fd_readable_within(fd, 300))
		assert_int_equal(evs_dispatch(h, CS_DISPATCH_ALL), CS_OK);
}

static cs_error_t send_text(evs_handle_t h, const char *text)
{
	struct iovec iov = { (void *)text, strlen(text) };

	return evs_mcast_joined(h, EVS_TYPE_AGREED, &iov, 1);
}

static cs_error_t send_text_to(evs_handle_t h, const struct evs_group *groups, size_t n, const char *text)
{
	struct iovec iov = { (void *)text, strlen(text) };

	return evs_mcast_groups(h, EVS_TYPE_AGREED, groups, n, &iov, 1);
}

/* ---- EVS-1: the first confchg, join and leave ------------------------------ */

static void test_initialize_gives_a_confchg_with_this_node(void **state)
{
	evs_handle_t h = connect_evs();

	dispatch_until(h, 1);
	assert_int_equal(seen.order[0], 'c');
	assert_int_equal(seen.n_members, 1);
	assert_int_equal(seen.members[0], 1);
	assert_int_equal(seen.n_joined, 1);
	assert_int_equal(seen.joined[0], 1);
	assert_int_equal(seen.n_left, 0);
	assert_true(seen.ring_id_given);
	assert_int_equal(seen.ring_id.nodeid, 1);
	assert_int_equal(evs_dispatch(h, CS_DISPATCH_ONE_NONBLOCKING), CS_ERR_TRY_AGAIN);
	assert_int_equal(evs_finalize(h), CS_OK);
}

static void test_join_takes_at_most_50_groups_per_call(void **state)
{
	evs_handle_t h = connect_evs();
	struct evs_group groups[51];

	for (int i = 0; i < 51; i++) {
		char key[16];

		snprintf(key, sizeof(key), "g%d", i);
		groups[i] = group_of(key);
	}
	assert_int_equal(evs_join(h, groups, 51), CS_ERR_TOO_MANY_GROUPS);
	assert_int_equal(evs_leave(h, groups, 1), CS_ERR_NOT_EXIST);
	assert_int_equal(evs_join(h, groups, 50), CS_OK);
	assert_int_equal(evs_join(h, &groups[50], 1), CS_OK);
	assert_int_equal(evs_leave(h, groups, 51), CS_ERR_TOO_MANY_GROUPS);
	assert_int_equal(evs_leave(h, groups, 50), CS_OK);
	assert_int_equal(evs_leave(h, &groups[50], 1), CS_OK);
	assert_int_equal(evs_join(h, NULL, 0), CS_OK);
	assert_int_equal(evs_leave(h, NULL, 0), CS_OK);
	assert_int_equal(evs_join(h, NULL, 1), CS_ERR_INVALID_PARAM);
	assert_int_equal(evs_leave(h, NULL, 1), CS_ERR_INVALID_PARAM);
	assert_int_equal(evs_finalize(h), CS_OK);
}

/* Past conclave.evs_max_joins a join takes nothing; a leave makes room. */
static void test_joins_per_connection_are_limited(void **state)
{
	evs_handle_t h = connect_evs(), other = connect_evs();
	struct evs_group a = group_of("a"), groups[] = { a, a, group_of("b") };

	assert_int_equal(evs_join(h, groups, 2), CS_OK);
	assert_int_equal(evs_join(h, groups, 2), CS_ERR_NO_RESOURCES);
	assert_int_equal(evs_join(h, &groups[2], 1), CS_OK);
	assert_int_equal(evs_join(h, &a, 1), CS_ERR_NO_RESOURCES);
	assert_int_equal(evs_join(other, groups, 3), CS_OK);
	assert_int_equal(evs_leave(h, &a, 1), CS_OK);
	assert_int_equal(evs_join(h, &a, 1), CS_OK);
	assert_int_equal(evs_leave(h, groups, 3), CS_OK);
	assert_int_equal(evs_leave(h, &a, 1), CS_ERR_NOT_EXIST);
	assert_int_equal(evs_finalize(h), CS_OK);
	assert_int_equal(evs_finalize(other), CS_OK);
}

/* Leave stops at the first group not joined; the ones before stay left.
 * A group joined twice needs two leaves. */
static void test_leave_removes_one_join_each_in_order(void **state)
{
	evs_handle_t h = connect_evs();
	struct evs_group a = group_of("a"), b = group_of("b"), c = group_of("c");
	struct evs_group joins[] = { a, a, c }, leaves[] = { a, b, c }, rest[] = { a, c };

	dispatch_until(h, 1);
	assert_int_equal(evs_join(h, joins, 3), CS_OK);
	assert_int_equal(evs_leave(h, leaves, 3), CS_ERR_NOT_EXIST);
	assert_int_equal(send_text_to(h, &a, 1, "to a"), CS_OK);
	assert_int_equal(send_text_to(h, &c, 1, "to c"), CS_OK);
	dispatch_until(h, 3);
	assert_string_equal(seen.messages[0], "to a");
	assert_string_equal(seen.messages[1], "to c");
	assert_int_equal(evs_leave(h, joins, 3), CS_ERR_NOT_EXIST);
	assert_int_equal(evs_leave(h, rest, 2), CS_ERR_NOT_EXIST);
	assert_int_equal(evs_leave(h, &c, 1), CS_OK);
	assert_int_equal(evs_leave(h, &a, 1), CS_ERR_NOT_EXIST);
	assert_int_equal(send_text_to(h, &a, 1, "nobody"), CS_OK);
	dispatch_pending(h);
	assert_int_equal(seen.n_messages, 2);
	assert_int_equal(evs_finalize(h), CS_OK);
}

/* All 32 bytes name a group: "a" and "a\0...\0x" differ. */
static void test_keys_are_compared_whole(void **state)
{
	evs_handle_t h = connect_evs();
	struct evs_group a = group_of("a"), other = group_of("a");

	other.key[31] = 'x';
	dispatch_until(h, 1);
	assert_int_equal(evs_join(h, &a, 1), CS_OK);
	assert_int_equal(send_text_to(h, &other, 1, "other"), CS_OK);
	assert_int_equal(send_text_to(h, &a, 1, "a"), CS_OK);
	dispatch_until(h, 2);
	dispatch_pending(h);
	assert_int_equal(seen.n_messages, 1);
	assert_string_equal(seen.messages[0], "a");
	assert_int_equal(evs_leave(h, &other, 1), CS_ERR_NOT_EXIST);
	assert_int_equal(evs_finalize(h), CS_OK);
}

/* ---- EVS-2: delivery, with several processes ------------------------------- */

/* A child that joins the groups named by `keys` (one character each, '-'
 * for none), writes 'j', and on 'd' dispatches what arrived, writes how
 * many messages it got and the first one's first byte, and exits. */
static void child_run(const char *keys, int commands, int replies)
{
	evs_handle_t h;
	char command, report[2];
	int fd;

	memset(&seen, 0, sizeof(seen));
	if (evs_initialize(&h, &callbacks) != CS_OK)
		_exit(2);
	for (const char *k = keys; *k != '\0' && *k != '-'; k++) {
		char key[2] = { *k, '\0' };
		struct evs_group g = group_of(key);

		if (evs_join(h, &g, 1) != CS_OK)
			_exit(3);
	}
	if (write(replies, "j", 1) != 1 || read(commands, &command, 1) != 1 || evs_fd_get(h, &fd) != CS_OK)
		_exit(4);
	while (fd_readable_within(fd, 300))
		if (evs_dispatch(h, CS_DISPATCH_ALL) != CS_OK)
			_exit(8);
	report[0] = (char)seen.n_messages;
	report[1] = seen.n_messages > 0 ? seen.messages[0][0] : '-';
	if (write(replies, report, 2) != 2)
		_exit(5);
	if (seen.n_messages > 0 && seen.message_nodeid[0] != 1)
		_exit(6);
	_exit(evs_finalize(h) == CS_OK ? 0 : 7);
}

static struct test_child child_start(const char *keys)
{
	struct test_child c;

	assert_int_equal(test_child_start(&c, child_run, keys, 'j'), 0);
	return c;
}

/* The number of messages the child got and the first byte of the first. */
static void child_report(struct test_child *c, int *messages, char *first)
{
	char report[2];
	int status;

	assert_int_equal(write(c->to_child, "d", 1), 1);
	assert_int_equal(read(c->from_child, report, 2), 2);
	*messages = report[0];
	*first = report[1];
	assert_int_equal(waitpid(c->pid, &status, 0), c->pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	close(c->to_child);
	close(c->from_child);
}

/* The sender is in a and b. A child in b gets it, one in a twice over gets
 * it once, one in c does not, and the sender gets its own message once. */
static void test_mcast_joined_reaches_each_sharing_connection_once(void **state)
{
	evs_handle_t h = connect_evs();
	struct evs_group mine[] = { group_of("a"), group_of("b") };
	struct test_child in_b = child_start("b"), twice_in_a = child_start("aa"), in_c = child_start("c");
	struct test_child in_nothing = child_start("-");
	int messages;
	char first;

	dispatch_until(h, 1);
	assert_int_equal(evs_join(h, mine, 2), CS_OK);
	assert_int_equal(send_text(h, "Hello"), CS_OK);
	dispatch_until(h, 2);
	dispatch_pending(h);
	assert_int_equal(seen.n_messages, 1);
	assert_string_equal(seen.messages[0], "Hello");
	assert_int_equal(seen.message_nodeid[0], 1);
	child_report(&in_b, &messages, &first);
	assert_int_equal(messages, 1);
	assert_int_equal(first, 'H');
	child_report(&twice_in_a, &messages, &first);
	assert_int_equal(messages, 1);
	child_report(&in_c, &messages, &first);
	assert_int_equal(messages, 0);
	child_report(&in_nothing, &messages, &first);
	assert_int_equal(messages, 0);
	assert_int_equal(evs_finalize(h), CS_OK);
}

/* The sender joined nothing: mcast_groups still reaches the groups'
 * members, and not the sender; mcast_joined reaches nobody. */
static void test_mcast_groups_works_without_joining(void **state)
{
	evs_handle_t h = connect_evs();
	struct evs_group targets[] = { group_of("x"), group_of("y"), group_of("x") }, too_many[51];
	struct test_child in_x = child_start("x"), in_y_and_x = child_start("yx"), in_z = child_start("z");
	int messages;
	char first;

	for (int i = 0; i < 51; i++)
		too_many[i] = group_of("x");
	dispatch_until(h, 1);
	assert_int_equal(send_text(h, "Lost"), CS_OK);
	assert_int_equal(send_text_to(h, targets, 3, "Groups"), CS_OK);
	dispatch_pending(h);
	assert_int_equal(seen.n_messages, 0);
	child_report(&in_x, &messages, &first);
	assert_int_equal(messages, 1);
	assert_int_equal(first, 'G');
	child_report(&in_y_and_x, &messages, &first);
	assert_int_equal(messages, 1);
	assert_int_equal(first, 'G');
	child_report(&in_z, &messages, &first);
	assert_int_equal(messages, 0);
	assert_int_equal(evs_mcast_groups(h, EVS_TYPE_AGREED, NULL, 1, NULL, 0), CS_ERR_INVALID_PARAM);
	assert_int_equal(evs_mcast_groups(h, EVS_TYPE_AGREED, too_many, 51, NULL, 0), CS_ERR_TOO_MANY_GROUPS);
	assert_int_equal(evs_finalize(h), CS_OK);
}

/* Two handles send alternately; both see one and the same order, and the
 * pieces of an iovec arrive as one message. */
static void test_messages_are_totally_ordered(void **state)
{
	evs_handle_t a = connect_evs(), b = connect_evs();
	struct evs_group g = group_of("order");
	struct iovec pieces[] = { { "one ", 4 }, { "", 0 }, { "two", 3 } };
	char order_a[MAX_SEEN][64];
	size_t n_a;

	assert_int_equal(evs_join(a, &g, 1), CS_OK);
	assert_int_equal(evs_join(b, &g, 1), CS_OK);
	for (int i = 0; i < 10; i++)
		assert_int_equal(send_text(i % 2 ? b : a, i % 2 ? "from b" : "from a"), CS_OK);
	assert_int_equal(evs_mcast_joined(a, EVS_TYPE_SAFE, pieces, 3), CS_OK);
	dispatch_until(a, 12);
	memcpy(order_a, seen.messages, sizeof(order_a));
	n_a = seen.n_messages;
	memset(&seen, 0, sizeof(seen));
	dispatch_until(b, 12);
	assert_int_equal(n_a, 11);
	assert_int_equal(seen.n_messages, 11);
	for (size_t i = 0; i < n_a; i++)
		assert_string_equal(order_a[i], seen.messages[i]);
	assert_string_equal(seen.messages[10], "one two");
	assert_int_equal(evs_finalize(a), CS_OK);
	assert_int_equal(evs_finalize(b), CS_OK);
}

/* A connection that exits while joined leaves its groups. */
static void test_exited_member_leaves_its_groups(void **state)
{
	evs_handle_t h = connect_evs();
	struct evs_group g = group_of("g");
	struct test_child peer = child_start("g");
	int messages;
	char first;

	dispatch_until(h, 1);
	child_report(&peer, &messages, &first);
	assert_int_equal(send_text_to(h, &g, 1, "after"), CS_OK);
	assert_int_equal(evs_join(h, &g, 1), CS_OK);
	assert_int_equal(send_text(h, "joined"), CS_OK);
	dispatch_until(h, 2);
	dispatch_pending(h);
	assert_int_equal(seen.n_messages, 1);
	assert_string_equal(seen.messages[0], "joined");
	assert_int_equal(evs_finalize(h), CS_OK);
}

/* ---- EVS-3: membership_get ------------------------------------------------- */

static void test_membership_get_counts_in_and_out(void **state)
{
	evs_handle_t h = connect_evs();
	unsigned int local = 0, members[4] = { 0 };
	size_t entries = 4;

	assert_int_equal(evs_membership_get(h, &local, members, &entries), CS_OK);
	assert_int_equal(local, 1);
	assert_int_equal(entries, 1);
	assert_int_equal(members[0], 1);
	entries = 0;
	members[0] = 77;
	assert_int_equal(evs_membership_get(h, NULL, members, &entries), CS_OK);
	assert_int_equal(entries, 0);
	assert_int_equal(members[0], 77);
	entries = 0;
	assert_int_equal(evs_membership_get(h, NULL, NULL, &entries), CS_OK);
	assert_int_equal(entries, 1);
	assert_int_equal(evs_membership_get(h, &local, members, NULL), CS_ERR_INVALID_PARAM);
	assert_int_equal(evs_finalize(h), CS_OK);
}

/* ---- handles, arguments, dispatch ----------------------------------------- */

static void test_bad_handles(void **state)
{
	evs_handle_t h = connect_evs();
	struct evs_group g = group_of("g");
	struct iovec iov = { "x", 1 };
	unsigned int members[4];
	size_t entries = 4;
	void *context;
	int fd;

	assert_int_equal(evs_finalize(h), CS_OK);
	for (int i = 0; i < 2; i++) {
		evs_handle_t bad = i == 0 ? 0 : h;

		assert_int_equal(evs_finalize(bad), CS_ERR_BAD_HANDLE);
		assert_int_equal(evs_fd_get(bad, &fd), CS_ERR_BAD_HANDLE);
		assert_int_equal(evs_context_get(bad, &context), CS_ERR_BAD_HANDLE);
		assert_int_equal(evs_context_set(bad, NULL), CS_ERR_BAD_HANDLE);
		assert_int_equal(evs_dispatch(bad, CS_DISPATCH_ALL), CS_ERR_BAD_HANDLE);
		assert_int_equal(evs_join(bad, &g, 1), CS_ERR_BAD_HANDLE);
		assert_int_equal(evs_leave(bad, &g, 1), CS_ERR_BAD_HANDLE);
		assert_int_equal(evs_mcast_joined(bad, EVS_TYPE_AGREED, &iov, 1), CS_ERR_BAD_HANDLE);
		assert_int_equal(evs_mcast_groups(bad, EVS_TYPE_AGREED, &g, 1, &iov, 1), CS_ERR_BAD_HANDLE);
		assert_int_equal(evs_membership_get(bad, NULL, members, &entries), CS_ERR_BAD_HANDLE);
	}
}

static void test_invalid_arguments(void **state)
{
	evs_handle_t h = connect_evs();
	struct iovec holes[] = { { "x", 1 }, { NULL, 3 } };
	struct iovec empty = { NULL, 0 };

	assert_int_equal(evs_initialize(NULL, &callbacks), CS_ERR_INVALID_PARAM);
	assert_int_equal(evs_fd_get(h, NULL), CS_ERR_INVALID_PARAM);
	assert_int_equal(evs_context_get(h, NULL), CS_ERR_INVALID_PARAM);
	assert_int_equal(evs_mcast_joined(h, EVS_TYPE_AGREED, NULL, 1), CS_ERR_INVALID_PARAM);
	assert_int_equal(evs_mcast_joined(h, EVS_TYPE_AGREED, holes, 2), CS_ERR_INVALID_PARAM);
	assert_int_equal(evs_mcast_joined(h, EVS_TYPE_AGREED, NULL, 0), CS_OK);
	assert_int_equal(evs_mcast_joined(h, EVS_TYPE_AGREED, &empty, 1), CS_OK);
	assert_int_equal(evs_dispatch(h, (cs_dispatch_flags_t)7), CS_ERR_INVALID_PARAM);
	assert_int_equal(evs_finalize(h), CS_OK);
}

/* Larger than the daemon's max_message_size (1 MiB by default). */
static void test_too_big(void **state)
{
	evs_handle_t h = connect_evs();
	struct evs_group g = group_of("g");
	size_t size = 2u << 20;
	struct iovec iov = { calloc(1, size), size };

	assert_non_null(iov.iov_base);
	assert_int_equal(evs_join(h, &g, 1), CS_OK);
	assert_int_equal(evs_mcast_joined(h, EVS_TYPE_AGREED, &iov, 1), CS_ERR_TOO_BIG);
	assert_int_equal(evs_mcast_groups(h, EVS_TYPE_AGREED, &g, 1, &iov, 1), CS_ERR_TOO_BIG);
	iov.iov_len = 1000;
	assert_int_equal(evs_mcast_joined(h, EVS_TYPE_AGREED, &iov, 1), CS_OK);
	free(iov.iov_base);
	dispatch_until(h, 2);
	assert_int_equal(seen.n_messages, 1);
	assert_int_equal(evs_finalize(h), CS_OK);
}

static void test_no_callbacks_and_context(void **state)
{
	evs_handle_t h;
	struct evs_group g = group_of("g");
	void *context = &h;
	int fd;

	assert_int_equal(evs_initialize(&h, NULL), CS_OK);
	assert_int_equal(evs_context_get(h, &context), CS_OK);
	assert_null(context);
	assert_int_equal(evs_context_set(h, &g), CS_OK);
	assert_int_equal(evs_context_get(h, &context), CS_OK);
	assert_ptr_equal(context, &g);
	assert_int_equal(evs_join(h, &g, 1), CS_OK);
	assert_int_equal(send_text(h, "ignored"), CS_OK);
	assert_int_equal(evs_fd_get(h, &fd), CS_OK);
	assert_true(fd_readable_within(fd, 2000));
	assert_int_equal(evs_dispatch(h, CS_DISPATCH_ONE), CS_OK);
	assert_int_equal(evs_dispatch(h, CS_DISPATCH_ONE), CS_OK);
	assert_false(fd_readable_within(fd, 100));
	assert_int_equal(evs_dispatch(h, CS_DISPATCH_ALL), CS_OK);
	assert_int_equal(evs_dispatch(h, CS_DISPATCH_ONE_NONBLOCKING), CS_ERR_TRY_AGAIN);
	assert_int_equal(evs_finalize(h), CS_OK);
}

/* corosync 1.x went on dispatching from a closed connection here. */
static void test_finalize_inside_callback(void **state)
{
	evs_handle_t h = connect_evs();
	struct evs_group g = group_of("g");

	assert_int_equal(evs_join(h, &g, 1), CS_OK);
	assert_int_equal(send_text(h, "never delivered"), CS_OK);
	seen.finalize_in_callback = true;
	assert_int_equal(evs_dispatch(h, CS_DISPATCH_BLOCKING), CS_ERR_BAD_HANDLE);
	assert_int_equal(seen.finalize_result, CS_OK);
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.order[0], 'c');
	assert_int_equal(evs_finalize(h), CS_ERR_BAD_HANDLE);
}

static void *dispatch_blocking(void *handle)
{
	static cs_error_t result;

	result = evs_dispatch(*(evs_handle_t *)handle, CS_DISPATCH_BLOCKING);
	return &result;
}

/* corosync leaves the dispatcher blocked until the next event. */
static void test_finalize_from_another_thread_wakes_the_dispatcher(void **state)
{
	evs_handle_t h = connect_evs();
	pthread_t dispatcher;
	void *result;

	dispatch_until(h, 1);
	assert_int_equal(pthread_create(&dispatcher, NULL, dispatch_blocking, &h), 0);
	usleep(100000);
	assert_int_equal(evs_finalize(h), CS_OK);
	assert_int_equal(pthread_join(dispatcher, &result), 0);
	assert_int_equal(*(cs_error_t *)result, CS_ERR_BAD_HANDLE);
}

/* A receiver that does not dispatch: once its queue and the sender's
 * connection are full, sends return CS_ERR_TRY_AGAIN and nobody gets that
 * message; after it dispatches, sending works again. It got exactly the
 * messages that were accepted (test_evs_flow.c checks their order). */
static void test_try_again_under_back_pressure(void **state)
{
	evs_handle_t sender = connect_evs(), slow = connect_evs();
	struct evs_group g = group_of("slow");
	static char big[60000];
	struct iovec iov = { big, sizeof(big) };
	size_t accepted = 0;
	cs_error_t err = CS_OK;

	memset(big, 'b', sizeof(big));
	assert_int_equal(evs_join(slow, &g, 1), CS_OK);
	while (accepted < 10000 && (err = evs_mcast_groups(sender, EVS_TYPE_AGREED, &g, 1, &iov, 1)) == CS_OK)
		accepted++;
	assert_int_equal(err, CS_ERR_TRY_AGAIN);
	assert_true(accepted > 0);
	dispatch_until(slow, accepted + 1);
	dispatch_pending(slow);
	assert_int_equal(seen.n_messages, accepted);
	assert_int_equal(seen.n, accepted + 1);
	assert_int_equal(evs_mcast_groups(sender, EVS_TYPE_AGREED, &g, 1, &iov, 1), CS_OK);
	assert_int_equal(evs_finalize(sender), CS_OK);
	assert_int_equal(evs_finalize(slow), CS_OK);
}

static void test_daemon_death_is_library_error(void **state)
{
	evs_handle_t h = connect_evs();
	struct evs_group g = group_of("g");
	unsigned int members[4];
	size_t entries = 4;
	int fd;

	dispatch_until(h, 1);
	assert_int_equal(evs_fd_get(h, &fd), CS_OK);
	test_daemon_kill(&daemon_under_test);
	assert_true(fd_readable_within(fd, 2000));
	assert_int_equal(evs_dispatch(h, CS_DISPATCH_ALL), CS_ERR_LIBRARY);
	assert_int_equal(evs_join(h, &g, 1), CS_ERR_LIBRARY);
	assert_int_equal(send_text(h, "x"), CS_ERR_LIBRARY);
	assert_int_equal(evs_membership_get(h, NULL, members, &entries), CS_ERR_LIBRARY);
	assert_int_equal(evs_finalize(h), CS_OK);
	assert_int_equal(evs_initialize(&h, &callbacks), CS_ERR_LIBRARY);
}

#define SINGLE(t) cmocka_unit_test_setup_teardown(t, start, stop)

int main(void)
{
	const struct CMUnitTest tests[] = {
		SINGLE(test_initialize_gives_a_confchg_with_this_node),
		SINGLE(test_join_takes_at_most_50_groups_per_call),
		SINGLE(test_leave_removes_one_join_each_in_order),
		cmocka_unit_test_setup_teardown(test_joins_per_connection_are_limited, start_with_few_joins,
						stop),
		SINGLE(test_keys_are_compared_whole),
		SINGLE(test_mcast_joined_reaches_each_sharing_connection_once),
		SINGLE(test_mcast_groups_works_without_joining),
		SINGLE(test_messages_are_totally_ordered),
		SINGLE(test_exited_member_leaves_its_groups),
		SINGLE(test_membership_get_counts_in_and_out),
		SINGLE(test_bad_handles),
		SINGLE(test_invalid_arguments),
		SINGLE(test_too_big),
		SINGLE(test_no_callbacks_and_context),
		SINGLE(test_finalize_inside_callback),
		SINGLE(test_finalize_from_another_thread_wakes_the_dispatcher),
		SINGLE(test_try_again_under_back_pressure),
		SINGLE(test_daemon_death_is_library_error),
	};

	return cmocka_run_group_tests_name("evs", tests, NULL, NULL);
}
