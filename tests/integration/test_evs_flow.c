/* libevs's pipelined messages against a real conclaved: a stream reaches
 * every member once and in order, a member that does not dispatch holds the
 * sender back with CS_ERR_TRY_AGAIN while everything accepted arrives once
 * it dispatches, a held sender's calls keep their place behind its
 * messages, the size limit is still reported, and one's own message is
 * there at the next dispatch. Posted messages go through a shared ring
 * unless conclave.max_ring_size is 0, so the tests run over both
 * transports; the handles of one test are connections of this process. */
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
#include <unistd.h>

#include <corosync/evs.h>

#include "harness.h"

#define NODE "nodelist {\n\tnode {\n\t\tnodeid: 1\n\t\tring0_addr: 127.0.0.1\n\t}\n}\n"

static const char NO_RING_CONFIG[] = NODE "conclave {\n\tmax_ring_size: 0\n}\n";
/* A member's queue holds about 60 messages of 1 KiB. */
static const char SMALL_QUEUE_CONFIG[] = NODE "conclave {\n\tmax_message_size: 32768\n"
					      "\tmax_queued_bytes: 65536\n}\n";
static const char SMALL_QUEUE_NO_RING_CONFIG[] = NODE "conclave {\n\tmax_message_size: 32768\n"
						      "\tmax_queued_bytes: 65536\n\tmax_ring_size: 0\n}\n";

/* evs's posting limit (src/client/evs.c): larger messages go with a round trip. */
#define POSTED_MAX (64u * 1024)

#define STREAM_MEMBERS 4
#define STREAM_MESSAGES 20000
#define STREAM_MESSAGE_SIZE 64

static struct test_daemon daemon_under_test;

/* What one handle has seen, its context: messages carry their sequence
 * number first. */
struct tracker {
	uint64_t next;
	uint64_t delivered;
	bool out_of_order; /* a gap, a repeat or a malformed message */
};

static void on_deliver(hdb_handle_t handle, unsigned int nodeid, const void *msg, size_t msg_len)
{
	struct tracker *t = NULL;
	uint64_t seq;

	if (evs_context_get(handle, (void **)&t) != CS_OK || t == NULL)
		return;
	if (msg_len < sizeof(seq)) {
		t->out_of_order = true;
		return;
	}
	memcpy(&seq, msg, sizeof(seq));
	if (seq != t->next)
		t->out_of_order = true;
	t->next = seq + 1;
	t->delivered++;
}

static evs_callbacks_t callbacks = { .evs_deliver_fn = on_deliver };

static int start(void **state)
{
	return test_daemon_start(&daemon_under_test, SINGLE_NODE_CONFIG);
}

static int start_without_rings(void **state)
{
	return test_daemon_start(&daemon_under_test, NO_RING_CONFIG);
}

static int start_small_queue(void **state)
{
	return test_daemon_start(&daemon_under_test, SMALL_QUEUE_CONFIG);
}

static int start_small_queue_without_rings(void **state)
{
	return test_daemon_start(&daemon_under_test, SMALL_QUEUE_NO_RING_CONFIG);
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

/* A handle whose deliveries t counts, joined to `key` unless it is NULL. */
static evs_handle_t tracked(struct tracker *t, const char *key)
{
	struct evs_group g = group_of(key != NULL ? key : "");
	evs_handle_t h;

	memset(t, 0, sizeof(*t));
	assert_int_equal(evs_initialize(&h, &callbacks), CS_OK);
	assert_int_equal(evs_context_set(h, t), CS_OK);
	if (key != NULL)
		assert_int_equal(evs_join(h, &g, 1), CS_OK);
	return h;
}

/* Dispatches until t has seen `count` messages; fails after 10 s without one. */
static void dispatch_until(evs_handle_t h, const struct tracker *t, uint64_t count)
{
	int fd;

	assert_int_equal(evs_fd_get(h, &fd), CS_OK);
	while (t->delivered < count) {
		assert_true(fd_readable_within(fd, 10000));
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

/* One message of `size` bytes (at least 8) numbered seq, to the joined
 * groups, or to `to` when it is not NULL. */
static cs_error_t send_numbered(evs_handle_t h, const struct evs_group *to, uint64_t seq, size_t size)
{
	static uint8_t payload[256 * 1024];
	struct iovec iov = { payload, size };

	memcpy(payload, &seq, sizeof(seq));
	if (to == NULL)
		return evs_mcast_joined(h, EVS_TYPE_AGREED, &iov, 1);
	return evs_mcast_groups(h, EVS_TYPE_AGREED, to, 1, &iov, 1);
}

/* ---- a stream, to every member once and in order --------------------------- */

/* The sender and three others in one group: the sender dispatches every
 * handle whenever the daemon pushes back. */
static void test_stream_reaches_every_member_once_in_order(void **state)
{
	struct tracker seen[STREAM_MEMBERS];
	evs_handle_t members[STREAM_MEMBERS];
	uint64_t pushed_back = 0;

	for (int i = 0; i < STREAM_MEMBERS; i++)
		members[i] = tracked(&seen[i], "stream");
	for (uint64_t seq = 0; seq < STREAM_MESSAGES; seq++) {
		cs_error_t err;

		while ((err = send_numbered(members[0], NULL, seq, STREAM_MESSAGE_SIZE)) ==
		       CS_ERR_TRY_AGAIN) {
			pushed_back++;
			for (int i = 0; i < STREAM_MEMBERS; i++)
				assert_int_equal(evs_dispatch(members[i], CS_DISPATCH_ALL), CS_OK);
		}
		assert_int_equal(err, CS_OK);
	}
	for (int i = 0; i < STREAM_MEMBERS; i++) {
		dispatch_until(members[i], &seen[i], STREAM_MESSAGES);
		dispatch_pending(members[i]);
		assert_false(seen[i].out_of_order);
		assert_int_equal(seen[i].delivered, STREAM_MESSAGES);
	}
	for (int i = 0; i < STREAM_MEMBERS; i++)
		assert_int_equal(evs_finalize(members[i]), CS_OK);
	print_message("pushed back %llu times\n", (unsigned long long)pushed_back);
}

/* ---- back-pressure ---------------------------------------------------------- */

/* Sends to `to` until the daemon pushes back twice in a row; the count accepted. */
static uint64_t send_until_held_back(evs_handle_t sender, const struct evs_group *to, size_t size)
{
	uint64_t accepted = 0;
	int refusals = 0;
	cs_error_t err;

	while (accepted < 100000 && refusals < 2) {
		err = send_numbered(sender, to, accepted, size);
		if (err == CS_OK) {
			accepted++;
			refusals = 0;
		} else {
			assert_int_equal(err, CS_ERR_TRY_AGAIN);
			refusals++;
			usleep(10000);
		}
	}
	assert_int_equal(refusals, 2);
	return accepted;
}

/* A member that does not dispatch: the sender (not a member, so that only
 * that member's queue fills) gets CS_ERR_TRY_AGAIN once its queue and the
 * sender's connection are full; once it dispatches, every message accepted
 * arrives, in order and once, and sending works again. */
static void held_back_by_a_member_that_does_not_dispatch(size_t size)
{
	struct tracker sender_seen, slow_seen;
	evs_handle_t sender = tracked(&sender_seen, NULL), slow = tracked(&slow_seen, "slow");
	struct evs_group g = group_of("slow");
	uint64_t accepted = send_until_held_back(sender, &g, size);

	assert_true(accepted > 2);
	assert_true(accepted < 2000);
	assert_int_equal(slow_seen.delivered, 0);
	dispatch_until(slow, &slow_seen, accepted);
	dispatch_pending(slow);
	assert_false(slow_seen.out_of_order);
	assert_int_equal(slow_seen.delivered, accepted);
	assert_int_equal(send_numbered(sender, &g, accepted, size), CS_OK);
	dispatch_until(slow, &slow_seen, accepted + 1);
	assert_false(slow_seen.out_of_order);
	assert_int_equal(sender_seen.delivered, 0);
	assert_int_equal(evs_finalize(sender), CS_OK);
	assert_int_equal(evs_finalize(slow), CS_OK);
}

/* Posted messages. */
static void test_member_that_does_not_dispatch_holds_the_sender_back(void **state)
{
	held_back_by_a_member_that_does_not_dispatch(1024);
}

/* Messages past the posting limit, with a round trip: CS_ERR_TRY_AGAIN
 * says that nobody got the message. */
static void test_member_that_does_not_dispatch_refuses_large_messages(void **state)
{
	held_back_by_a_member_that_does_not_dispatch(POSTED_MAX + 1);
}

/* ---- a held sender's calls keep their place ------------------------------- */

struct join_call {
	evs_handle_t handle;
	struct evs_group group;
	cs_error_t result;
};

static void *join_in_thread(void *arg)
{
	struct join_call *call = arg;

	call->result = evs_join(call->handle, &call->group, 1);
	return NULL;
}

/* The sender, held back, joins the group it sent to: the join takes effect
 * after every message it sent before, so it gets none of them, and gets
 * the next. */
static void test_join_of_a_held_sender_follows_its_messages(void **state)
{
	struct tracker sender_seen, slow_seen;
	evs_handle_t sender = tracked(&sender_seen, NULL), slow = tracked(&slow_seen, "slow");
	struct join_call call = { .handle = sender, .group = group_of("slow"), .result = CS_ERR_LIBRARY };
	uint64_t accepted = send_until_held_back(sender, &call.group, 1024);
	pthread_t joiner;

	assert_int_equal(pthread_create(&joiner, NULL, join_in_thread, &call), 0);
	dispatch_until(slow, &slow_seen, accepted);
	assert_int_equal(pthread_join(joiner, NULL), 0);
	assert_int_equal(call.result, CS_OK);
	assert_int_equal(send_numbered(sender, NULL, accepted, 1024), CS_OK);
	dispatch_until(slow, &slow_seen, accepted + 1);
	assert_false(slow_seen.out_of_order);
	sender_seen.next = accepted;
	dispatch_until(sender, &sender_seen, 1);
	dispatch_pending(sender);
	assert_int_equal(sender_seen.delivered, 1);
	assert_false(sender_seen.out_of_order);
	assert_int_equal(evs_finalize(sender), CS_OK);
	assert_int_equal(evs_finalize(slow), CS_OK);
}

/* Joins and leaves between posted messages take effect between them. */
static void test_posted_messages_and_joins_keep_their_order(void **state)
{
	struct tracker seen;
	evs_handle_t h = tracked(&seen, NULL);
	struct evs_group g = group_of("order");

	assert_int_equal(send_numbered(h, NULL, 100, 8), CS_OK);
	assert_int_equal(evs_join(h, &g, 1), CS_OK);
	assert_int_equal(send_numbered(h, NULL, 0, 8), CS_OK);
	assert_int_equal(send_numbered(h, &g, 1, 8), CS_OK);
	assert_int_equal(evs_leave(h, &g, 1), CS_OK);
	assert_int_equal(send_numbered(h, NULL, 101, 8), CS_OK);
	assert_int_equal(send_numbered(h, &g, 102, 8), CS_OK);
	dispatch_until(h, &seen, 2);
	dispatch_pending(h);
	assert_int_equal(seen.delivered, 2);
	assert_false(seen.out_of_order);
	assert_int_equal(evs_finalize(h), CS_OK);
}

/* ---- the size limit ---------------------------------------------------------- */

/* max_message_size 32 KiB: a message past it is refused before it is sent,
 * posted or not, and with its groups counted. */
static void test_too_big_is_reported(void **state)
{
	struct tracker seen;
	evs_handle_t h = tracked(&seen, "big");
	struct evs_group groups[EVS_MAX_GROUPS_PER_CALL];

	for (int i = 0; i < EVS_MAX_GROUPS_PER_CALL; i++)
		groups[i] = group_of("big");
	assert_int_equal(send_numbered(h, NULL, 0, 40000), CS_ERR_TOO_BIG);
	assert_int_equal(send_numbered(h, &groups[0], 0, 40000), CS_ERR_TOO_BIG);
	assert_int_equal(send_numbered(h, NULL, 0, POSTED_MAX + 1), CS_ERR_TOO_BIG);
	assert_int_equal(send_numbered(h, &groups[0], 0, POSTED_MAX + 1), CS_ERR_TOO_BIG);
	{
		static uint8_t payload[31000];
		struct iovec iov = { payload, sizeof(payload) };

		assert_int_equal(
			evs_mcast_groups(h, EVS_TYPE_AGREED, groups, EVS_MAX_GROUPS_PER_CALL, &iov, 1),
			CS_ERR_TOO_BIG);
		assert_int_equal(evs_mcast_groups(h, EVS_TYPE_AGREED, groups, 1, &iov, 1), CS_OK);
	}
	dispatch_until(h, &seen, 1);
	dispatch_pending(h);
	assert_int_equal(seen.delivered, 1);
	assert_int_equal(evs_finalize(h), CS_OK);
}

/* ---- one's own message at the next dispatch ------------------------------ */

#define OWN_MESSAGE_ROUNDS 300

/* Each round alternates the dispatch flags that return when nothing is left.
 * The configuration change every connection gets is dispatched first: over
 * the socket, a dispatch that finds events waiting delivers those without
 * waiting for the daemon to handle the posts. */
static void test_own_message_at_the_next_dispatch(void **state)
{
	struct tracker seen;
	evs_handle_t h = tracked(&seen, "own");
	struct evs_group g = group_of("own");

	dispatch_pending(h);
	for (uint64_t round = 0; round < OWN_MESSAGE_ROUNDS; round++) {
		int flags = round % 2 ? CS_DISPATCH_ONE_NONBLOCKING : CS_DISPATCH_ALL;

		if (round % 4 < 2)
			assert_int_equal(send_numbered(h, NULL, round, 8), CS_OK);
		else
			assert_int_equal(send_numbered(h, &g, round, 8), CS_OK);
		assert_int_equal(evs_dispatch(h, flags), CS_OK);
		assert_int_equal(seen.delivered, round + 1);
	}
	assert_false(seen.out_of_order);
	assert_int_equal(evs_finalize(h), CS_OK);
}

#define WITH(t, setup) cmocka_unit_test_setup_teardown(t, setup, stop)

int main(void)
{
	const struct CMUnitTest tests[] = {
		WITH(test_stream_reaches_every_member_once_in_order, start),
		WITH(test_stream_reaches_every_member_once_in_order, start_without_rings),
		WITH(test_member_that_does_not_dispatch_holds_the_sender_back, start_small_queue),
		WITH(test_member_that_does_not_dispatch_holds_the_sender_back,
		     start_small_queue_without_rings),
		WITH(test_member_that_does_not_dispatch_refuses_large_messages, start),
		WITH(test_join_of_a_held_sender_follows_its_messages, start_small_queue),
		WITH(test_join_of_a_held_sender_follows_its_messages, start_small_queue_without_rings),
		WITH(test_posted_messages_and_joins_keep_their_order, start),
		WITH(test_too_big_is_reported, start_small_queue),
		WITH(test_own_message_at_the_next_dispatch, start),
		WITH(test_own_message_at_the_next_dispatch, start_without_rings),
	};

	return cmocka_run_group_tests_name("evs_flow", tests, NULL, NULL);
}
