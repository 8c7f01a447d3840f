/* libcpg under load against a real conclaved: pipelined messages from
 * several processes keep one total order with nothing lost, and a member
 * that does not dispatch holds senders back with CS_ERR_TRY_AGAIN while the
 * daemon's queue for it stays within max_queued_bytes, even while it makes
 * calls. Posted messages go
 * through a shared ring unless conclave.max_ring_size is 0, so the tests
 * that post run over both transports. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <corosync/cpg.h>

#include "harness.h"
#include "test-proc.h"

#define SENDERS 8
#define MESSAGES_EACH 10000
#define MESSAGE_SIZE 64

static const char SMALL_QUEUE_CONFIG[] =
	"nodelist {\n\tnode {\n\t\tnodeid: 1\n\t\tring0_addr: 127.0.0.1\n\t}\n}\n"
	"conclave {\n\tmax_message_size: 32768\n\tmax_queued_bytes: 65536\n}\n";

static const char MEDIUM_QUEUE_CONFIG[] =
	"nodelist {\n\tnode {\n\t\tnodeid: 1\n\t\tring0_addr: 127.0.0.1\n\t}\n}\n"
	"conclave {\n\tmax_queued_bytes: 2097152\n}\n";

static const char NO_RING_CONFIG[] =
	"nodelist {\n\tnode {\n\t\tnodeid: 1\n\t\tring0_addr: 127.0.0.1\n\t}\n}\n"
	"conclave {\n\tmax_ring_size: 0\n}\n";

static const char SMALL_QUEUE_NO_RING_CONFIG[] =
	"nodelist {\n\tnode {\n\t\tnodeid: 1\n\t\tring0_addr: 127.0.0.1\n\t}\n}\n"
	"conclave {\n\tmax_message_size: 32768\n\tmax_queued_bytes: 65536\n\tmax_ring_size: 0\n}\n";

/* The ring a client offers when the daemon takes one that large, and the
 * one it takes with the small queue (no larger than max_queued_bytes). */
#define CLIENT_RING_SIZE (256u * 1024)
#define SMALL_QUEUE_RING_SIZE 65536u

static struct test_daemon daemon_under_test;

/* What one process has seen. */
static struct {
	size_t members; /* in the last confchg */
	uint64_t delivered;
	uint64_t order_hash; /* of (sender, seq) in delivery order */
	uint32_t next_seq[SENDERS];
	bool out_of_order;
	uint32_t left_pid; /* of the last confchg in which a member left */
	uint32_t left_reason;
	uint64_t delivered_before_left;
} seen;

struct stress_message {
	uint32_t sender;
	uint32_t seq;
	uint8_t padding[MESSAGE_SIZE - 8];
};

static void on_confchg(cpg_handle_t handle, const struct cpg_name *group, const struct cpg_address *members,
		       size_t n_members, const struct cpg_address *left, size_t n_left,
		       const struct cpg_address *joined, size_t n_joined)
{
	seen.members = n_members;
	if (n_left > 0) {
		seen.left_pid = left[0].pid;
		seen.left_reason = left[0].reason;
		seen.delivered_before_left = seen.delivered;
	}
}

static void on_deliver(cpg_handle_t handle, const struct cpg_name *group, uint32_t nodeid, uint32_t pid,
		       void *msg, size_t msg_len)
{
	struct stress_message m;

	if (msg_len < 8) {
		seen.out_of_order = true;
		return;
	}
	memcpy(&m, msg, 8);
	if (m.sender >= SENDERS || m.seq != seen.next_seq[m.sender]) {
		seen.out_of_order = true;
		return;
	}
	seen.next_seq[m.sender]++;
	seen.delivered++;
	seen.order_hash = (seen.order_hash * 1000003u) ^ (((uint64_t)m.sender << 32) | m.seq);
}

static cpg_callbacks_t callbacks = { .cpg_deliver_fn = on_deliver, .cpg_confchg_fn = on_confchg };

static struct cpg_name group_name(void)
{
	struct cpg_name name = { .length = 6 };

	memcpy(name.value, "stress", 6);
	return name;
}

/* Sends, dispatching whenever the daemon pushes back. */
static int send_one(cpg_handle_t h, const struct iovec *iov)
{
	for (;;) {
		cs_error_t err = cpg_mcast_joined(h, CPG_TYPE_AGREED, iov, 1);

		if (err == CS_OK)
			return 0;
		if (err != CS_ERR_TRY_AGAIN)
			return -1;
		if (cpg_dispatch(h, CS_DISPATCH_ALL) != CS_OK)
			return -1;
	}
}

static int stress_sender(uint32_t index)
{
	struct cpg_name name = group_name();
	struct stress_message m = { .sender = index };
	struct iovec iov = { &m, sizeof(m) };
	cpg_handle_t h;

	if (cpg_initialize(&h, &callbacks) != CS_OK || cpg_join(h, &name) != CS_OK)
		return 2;
	while (seen.members < SENDERS)
		if (cpg_dispatch(h, CS_DISPATCH_ONE) != CS_OK)
			return 3;
	for (m.seq = 0; m.seq < MESSAGES_EACH; m.seq++)
		if (send_one(h, &iov) < 0)
			return 4;
	while (seen.delivered < (uint64_t)SENDERS * MESSAGES_EACH && !seen.out_of_order)
		if (cpg_dispatch(h, CS_DISPATCH_ONE) != CS_OK)
			return 5;
	return seen.out_of_order ? 6 : 0;
}

static int start(void **state)
{
	memset(&seen, 0, sizeof(seen));
	return test_daemon_start(&daemon_under_test, SINGLE_NODE_CONFIG);
}

static int start_small_queue(void **state)
{
	memset(&seen, 0, sizeof(seen));
	return test_daemon_start(&daemon_under_test, SMALL_QUEUE_CONFIG);
}

static int start_medium_queue(void **state)
{
	memset(&seen, 0, sizeof(seen));
	return test_daemon_start(&daemon_under_test, MEDIUM_QUEUE_CONFIG);
}

static int start_without_rings(void **state)
{
	memset(&seen, 0, sizeof(seen));
	return test_daemon_start(&daemon_under_test, NO_RING_CONFIG);
}

static int start_small_queue_without_rings(void **state)
{
	memset(&seen, 0, sizeof(seen));
	return test_daemon_start(&daemon_under_test, SMALL_QUEUE_NO_RING_CONFIG);
}

static int stop(void **state)
{
	return test_daemon_stop(&daemon_under_test);
}

/* The capacity of the ring conclaved logged taking from the cpg
 * connection of process pid; 0 when it took none. */
static uint32_t ring_of(pid_t pid)
{
	char text[80], line[1024];
	unsigned long long connection;
	unsigned int size;
	const char *at;

	snprintf(text, sizeof(text), "(pid %d) uses service cpg", (int)pid);
	assert_true(test_daemon_log_line(&daemon_under_test, text, line, sizeof(line)));
	at = strstr(line, "connection ");
	assert_non_null(at);
	assert_int_equal(sscanf(at, "connection %llu", &connection), 1);
	snprintf(text, sizeof(text), "connection %llu writes through a shared ring of ", connection);
	if (!test_daemon_log_line(&daemon_under_test, text, line, sizeof(line)))
		return 0;
	assert_int_equal(sscanf(strstr(line, text) + strlen(text), "%u bytes", &size), 1);
	return size;
}

/* Each child writes its exit code, count and order hash to the pipe; each
 * child's connection took a ring of ring_size bytes (0: none). */
static void eight_senders_one_order_nothing_lost(uint32_t ring_size)
{
	int results[2];
	pid_t pids[SENDERS];
	uint64_t first_hash = 0;

	assert_int_equal(pipe(results), 0);
	for (uint32_t i = 0; i < SENDERS; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			uint64_t report[3];

			report[0] = (uint64_t)stress_sender(i);
			report[1] = seen.delivered;
			report[2] = seen.order_hash;
			_exit(write(results[1], report, sizeof(report)) == sizeof(report) ? 0 : 1);
		}
	}
	for (int i = 0; i < SENDERS; i++) {
		uint64_t report[3];

		assert_int_equal(read(results[0], report, sizeof(report)), sizeof(report));
		assert_int_equal(report[0], 0);
		assert_int_equal(report[1], (uint64_t)SENDERS * MESSAGES_EACH);
		if (i == 0)
			first_hash = report[2];
		assert_int_equal(report[2], first_hash);
	}
	for (int i = 0; i < SENDERS; i++) {
		int status;

		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
		assert_int_equal(ring_of(pids[i]), ring_size);
	}
	close(results[0]);
	close(results[1]);
}

static void test_eight_senders_one_order_nothing_lost(void **state)
{
	eight_senders_one_order_nothing_lost(CLIENT_RING_SIZE);
}

static void test_eight_senders_one_order_nothing_lost_over_the_socket(void **state)
{
	eight_senders_one_order_nothing_lost(0);
}

/* ---- a sender that exits ---------------------------------------------------- */

#define EXITING_SENDER_MESSAGES 5000

/* Joins, reports 'j', posts its messages and exits at once, without
 * cpg_finalize: some of them may still be in its ring or socket. */
static void exiting_sender(const char *arg, int commands, int reports)
{
	struct cpg_name name = group_name();
	struct stress_message m = { .sender = 0 };
	struct iovec iov = { &m, sizeof(m) };
	cpg_handle_t h;

	if (cpg_initialize(&h, &callbacks) != CS_OK || cpg_join(h, &name) != CS_OK ||
	    write(reports, "j", 1) != 1)
		_exit(2);
	for (m.seq = 0; m.seq < EXITING_SENDER_MESSAGES; m.seq++)
		if (send_one(h, &iov) < 0)
			_exit(3);
	_exit(0);
}

/* The same, posting until the daemon holds it back (the messages it
 * accepted wait in its ring or socket), then reporting how many it posted. */
static void held_back_exiting_sender(const char *arg, int commands, int reports)
{
	struct cpg_name name = group_name();
	struct stress_message m = { .sender = 0 };
	struct iovec iov = { &m, sizeof(m) };
	cpg_handle_t h;
	cs_error_t err = CS_OK;

	if (cpg_initialize(&h, &callbacks) != CS_OK || cpg_join(h, &name) != CS_OK ||
	    write(reports, "j", 1) != 1)
		_exit(2);
	while (m.seq < 1000000 && (err = cpg_mcast_joined(h, CPG_TYPE_AGREED, &iov, 1)) == CS_OK)
		m.seq++;
	if (err != CS_ERR_TRY_AGAIN || write(reports, &m.seq, sizeof(m.seq)) != sizeof(m.seq))
		_exit(3);
	_exit(0);
}

static void sender_reap(struct test_child *sender, uint32_t ring_size)
{
	int status;

	assert_int_equal(waitpid(sender->pid, &status, 0), sender->pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	close(sender->to_child);
	close(sender->from_child);
	assert_int_equal(ring_of(sender->pid), ring_size);
}

/* Dispatches until a member leaves: the sender, with PROCDOWN, after all
 * `posted` of its messages, in order. */
static void expect_heard_out(cpg_handle_t h, const struct test_child *sender, uint64_t posted)
{
	int fd;

	assert_int_equal(cpg_fd_get(h, &fd), CS_OK);
	while (seen.left_pid == 0 && !seen.out_of_order) {
		assert_true(fd_readable_within(fd, 60000));
		assert_int_equal(cpg_dispatch(h, CS_DISPATCH_ALL), CS_OK);
	}
	assert_false(seen.out_of_order);
	assert_int_equal(seen.left_pid, (uint32_t)sender->pid);
	assert_int_equal(seen.left_reason, CPG_REASON_PROCDOWN);
	assert_int_equal(seen.delivered_before_left, posted);
	assert_int_equal(seen.delivered, posted);
}

/* While this member dispatches. */
static void exiting_sender_is_heard_out(uint32_t ring_size)
{
	struct cpg_name name = group_name();
	struct test_child sender;
	cpg_handle_t h;

	assert_int_equal(cpg_initialize(&h, &callbacks), CS_OK);
	assert_int_equal(cpg_join(h, &name), CS_OK);
	assert_int_equal(test_child_start(&sender, exiting_sender, NULL, 'j'), 0);
	expect_heard_out(h, &sender, EXITING_SENDER_MESSAGES);
	sender_reap(&sender, ring_size);
	assert_int_equal(cpg_finalize(h), CS_OK);
}

/* This member dispatches only once the sender is gone: what the daemon
 * had accepted from it and not yet read is still delivered. */
static void held_back_exiting_sender_is_heard_out(uint32_t ring_size)
{
	struct cpg_name name = group_name();
	struct test_child sender;
	uint32_t posted;
	cpg_handle_t h;

	assert_int_equal(cpg_initialize(&h, &callbacks), CS_OK);
	assert_int_equal(cpg_join(h, &name), CS_OK);
	assert_int_equal(test_child_start(&sender, held_back_exiting_sender, NULL, 'j'), 0);
	assert_int_equal(read(sender.from_child, &posted, sizeof(posted)), sizeof(posted));
	sender_reap(&sender, ring_size);
	expect_heard_out(h, &sender, posted);
	assert_int_equal(cpg_finalize(h), CS_OK);
}

static void test_sender_that_exits_after_posting_is_heard_out(void **state)
{
	exiting_sender_is_heard_out(CLIENT_RING_SIZE);
}

static void test_sender_that_exits_after_posting_is_heard_out_over_the_socket(void **state)
{
	exiting_sender_is_heard_out(0);
}

static void test_held_back_sender_that_exits_is_heard_out(void **state)
{
	held_back_exiting_sender_is_heard_out(SMALL_QUEUE_RING_SIZE);
}

static void test_held_back_sender_that_exits_is_heard_out_over_the_socket(void **state)
{
	held_back_exiting_sender_is_heard_out(0);
}

/* ---- which transport -------------------------------------------------------- */

/* A connection takes a ring with its first posted message, not before. */
static void first_post_opens_a_ring_of(uint32_t ring_size)
{
	struct cpg_name name = group_name();
	struct stress_message m = { .sender = 0 };
	struct iovec iov = { &m, sizeof(m) };
	cpg_handle_t h;

	assert_int_equal(cpg_initialize(&h, &callbacks), CS_OK);
	assert_int_equal(cpg_join(h, &name), CS_OK);
	assert_int_equal(ring_of(getpid()), 0);
	assert_int_equal(cpg_mcast_joined(h, CPG_TYPE_AGREED, &iov, 1), CS_OK);
	/* Delivered after the daemon logged the ring it took. */
	while (seen.delivered < 1 && !seen.out_of_order)
		assert_int_equal(cpg_dispatch(h, CS_DISPATCH_ONE), CS_OK);
	assert_int_equal(ring_of(getpid()), ring_size);
	assert_int_equal(cpg_finalize(h), CS_OK);
}

static void test_first_post_opens_a_ring(void **state)
{
	first_post_opens_a_ring_of(CLIENT_RING_SIZE);
}

static void test_no_ring_when_max_ring_size_is_0(void **state)
{
	first_post_opens_a_ring_of(0);
	assert_false(test_daemon_log_contains(&daemon_under_test, "shared ring", 0));
}

static void test_ring_is_no_larger_than_max_queued_bytes(void **state)
{
	first_post_opens_a_ring_of(SMALL_QUEUE_RING_SIZE);
}

/* A member that joins, then reads its command pipe instead of dispatching
 * until told how many messages to expect; it reports 0 when they all
 * arrived in order. */
static void sleeping_member(int commands, int replies)
{
	struct cpg_name name = group_name();
	uint64_t expected;
	uint8_t result = 1;
	cpg_handle_t h;

	if (cpg_initialize(&h, &callbacks) != CS_OK || cpg_join(h, &name) != CS_OK ||
	    write(replies, &result, 1) != 1 ||
	    read(commands, &expected, sizeof(expected)) != sizeof(expected))
		_exit(2);
	while (seen.delivered < expected && !seen.out_of_order)
		if (cpg_dispatch(h, CS_DISPATCH_ONE) != CS_OK)
			_exit(3);
	result = seen.out_of_order || seen.delivered != expected;
	_exit(write(replies, &result, 1) == 1 ? 0 : 4);
}

/* Sends messages of `size` bytes until the daemon pushes back even though
 * this process dispatches its own queue; returns how many were accepted. */
static uint64_t send_until_held_back(cpg_handle_t h, size_t size)
{
	uint8_t *payload = calloc(1, size);
	struct stress_message *m = (struct stress_message *)payload;
	struct iovec iov = { payload, size };
	uint64_t accepted = 0;
	int refusals = 0;

	assert_non_null(payload);
	while (accepted < 100000 && refusals < 50) {
		m->seq = (uint32_t)accepted;
		if (cpg_mcast_joined(h, CPG_TYPE_AGREED, &iov, 1) == CS_OK) {
			accepted++;
			refusals = 0;
			continue;
		}
		refusals++;
		assert_int_equal(cpg_dispatch(h, CS_DISPATCH_ALL), CS_OK);
		usleep(1000);
	}
	free(payload);
	return accepted;
}

/* What is accepted for a member that does not dispatch fits in its queue
 * plus the sender's ring (or socket buffer); all of it arrives, in order,
 * once the member dispatches. */
static void held_back_by_sleeping_member(size_t size, uint64_t at_most)
{
	struct cpg_name name = group_name();
	cpg_flow_control_state_t fc = CPG_FLOW_CONTROL_DISABLED;
	int down[2], up[2], status;
	uint64_t accepted;
	uint8_t reply;
	cpg_handle_t h;
	pid_t pid;

	assert_int_equal(pipe(down), 0);
	assert_int_equal(pipe(up), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		sleeping_member(down[0], up[1]);
	assert_int_equal(read(up[0], &reply, 1), 1);
	assert_int_equal(cpg_initialize(&h, &callbacks), CS_OK);
	assert_int_equal(cpg_join(h, &name), CS_OK);
	accepted = send_until_held_back(h, size);
	assert_true(accepted > 2);
	assert_true(accepted < at_most);
	/* A held-back sender's calls wait behind its held message. */
	assert_int_equal(write(down[1], &accepted, sizeof(accepted)), sizeof(accepted));
	assert_int_equal(read(up[0], &reply, 1), 1);
	assert_int_equal(reply, 0);
	assert_int_equal(cpg_flow_control_state_get(h, &fc), CS_OK);
	assert_int_equal(fc, CPG_FLOW_CONTROL_DISABLED);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(cpg_finalize(h), CS_OK);
	close(down[0]);
	close(down[1]);
	close(up[0]);
	close(up[1]);
}

/* Posted messages: a 64 KiB queue. */
static void test_member_that_does_not_dispatch_holds_senders_back(void **state)
{
	held_back_by_sleeping_member(1024, 2000);
}

/* Messages sent with a round trip: a 2 MiB queue. */
static void test_member_that_does_not_dispatch_holds_large_senders_back(void **state)
{
	held_back_by_sleeping_member(256 * 1024, 40);
}

/* ---- a member that calls but never dispatches ----------------------------- */

#define CALLING_SENDERS 4
/* Senders stream until the member's queue is full (CALLING_STREAM_MAX
 * messages each at most; QUEUE_FULL_WITHIN_MS at most); then the member
 * makes CALLS_WHILE_HELD more calls (CALLS_WITHIN_MS at most). */
#define CALLING_STREAM_MAX 1000000
#define QUEUE_FULL_WITHIN_MS 120000
#define CALLS_WHILE_HELD 20
#define CALLS_WITHIN_MS 60000

struct calling_report {
	uint64_t calls;
	uint64_t calls_while_held; /* after its queue was full */
	uint64_t failed_calls;
	long grown_kb; /* the most its resident set grew while calling */
	uint8_t in_order;
};

static long elapsed_ms(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - since->tv_sec) * 1000 + (now.tv_nsec - since->tv_nsec) / 1000000;
}

static void calling_member_call(cpg_handle_t h, struct calling_report *report, long rss_before)
{
	unsigned int nodeid;
	long grown;

	report->calls++;
	report->failed_calls += cpg_local_get(h, &nodeid) != CS_OK;
	grown = process_rss_kb(getpid()) - rss_before;
	if (grown > report->grown_kb)
		report->grown_kb = grown;
}

/* Whether the daemon says a member of the group has no room. */
static bool flow_control_enabled(cpg_handle_t h)
{
	cpg_flow_control_state_t fc = CPG_FLOW_CONTROL_DISABLED;

	return cpg_flow_control_state_get(h, &fc) == CS_OK && fc == CPG_FLOW_CONTROL_ENABLED;
}

/* Joins, then makes a call every millisecond without ever dispatching,
 * and writes 'f' to replies once the daemon says a member has no room,
 * until its command pipe says how many messages to expect; then makes
 * CALLS_WHILE_HELD more calls, takes the messages and reports. */
static void calling_member(int commands, int replies)
{
	struct cpg_name name = group_name();
	struct calling_report report = { 0 };
	struct pollfd command = { .fd = commands, .events = POLLIN };
	struct timespec told;
	uint64_t expected;
	bool full = false;
	long before;
	cpg_handle_t h;

	if (cpg_initialize(&h, &callbacks) != CS_OK || cpg_join(h, &name) != CS_OK ||
	    write(replies, "j", 1) != 1)
		_exit(2);
	before = process_rss_kb(getpid());
	while (poll(&command, 1, 1) == 0) {
		calling_member_call(h, &report, before);
		if (!full && flow_control_enabled(h)) {
			full = true;
			if (write(replies, "f", 1) != 1)
				_exit(6);
		}
	}
	if (read(commands, &expected, sizeof(expected)) != sizeof(expected))
		_exit(3);
	clock_gettime(CLOCK_MONOTONIC, &told);
	while (report.calls_while_held < CALLS_WHILE_HELD && elapsed_ms(&told) < CALLS_WITHIN_MS) {
		calling_member_call(h, &report, before);
		report.calls_while_held++;
	}
	while (seen.delivered < expected && !seen.out_of_order)
		if (cpg_dispatch(h, CS_DISPATCH_ONE) != CS_OK)
			_exit(4);
	report.in_order = !seen.out_of_order && seen.delivered == expected;
	_exit(write(replies, &report, sizeof(report)) == sizeof(report) ? 0 : 5);
}

static bool readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

/* Joins, and once told, streams until stop_pipe is readable and the
 * daemon held it back at least once (CALLING_STREAM_MAX messages at most),
 * dispatching its own queue as it goes and whenever the daemon holds it
 * back; reports how many were accepted and refused. */
static void streaming_sender(uint32_t index, int start_pipe, int stop_pipe, int replies)
{
	struct cpg_name name = group_name();
	struct stress_message m = { .sender = index };
	struct iovec iov = { &m, sizeof(m) };
	uint64_t counts[2] = { 0 }; /* accepted, refused */
	cpg_handle_t h;
	char go;

	/* All join before any streams: a join, too, waits for room in the
	 * member's queue. */
	if (cpg_initialize(&h, &callbacks) != CS_OK || cpg_join(h, &name) != CS_OK ||
	    write(replies, "j", 1) != 1 || read(start_pipe, &go, 1) != 1)
		_exit(2);
	while (counts[0] < CALLING_STREAM_MAX) {
		cs_error_t err = cpg_mcast_joined(h, CPG_TYPE_AGREED, &iov, 1);

		if (err == CS_OK) {
			m.seq++;
			counts[0]++;
		} else if (err == CS_ERR_TRY_AGAIN) {
			counts[1]++;
			usleep(100);
		} else {
			_exit(3);
		}
		if (err != CS_OK || counts[0] % 256 == 0) {
			if (cpg_dispatch(h, CS_DISPATCH_ALL) != CS_OK)
				_exit(4);
			if (counts[1] > 0 && readable(stop_pipe))
				break;
		}
	}
	_exit(write(replies, counts, sizeof(counts)) == sizeof(counts) ? 0 : 5);
}

/* A member that never dispatches but makes a call every millisecond while
 * senders stream until its queue is full, and more calls after:
 * its calls are answered while its events wait, its memory
 * stays where it was (the events wait in the daemon, which holds the
 * senders back with CS_ERR_TRY_AGAIN), and every message accepted reaches
 * it, in order, once it dispatches. */
static void test_member_that_calls_but_never_dispatches(void **state)
{
	int down[2], up[2], go[2], stop[2], sent[2], status;
	uint64_t counts[2], accepted = 0, refused = 0;
	struct calling_report report;
	pid_t member, senders[CALLING_SENDERS];
	char joined, full;

	assert_int_equal(pipe(down), 0);
	assert_int_equal(pipe(up), 0);
	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(stop), 0);
	assert_int_equal(pipe(sent), 0);
	member = fork();
	assert_true(member >= 0);
	if (member == 0) {
		close(down[1]); /* a test that fails ends the member's wait */
		calling_member(down[0], up[1]);
	}
	assert_int_equal(read(up[0], &joined, 1), 1);
	for (uint32_t i = 0; i < CALLING_SENDERS; i++) {
		senders[i] = fork();
		assert_true(senders[i] >= 0);
		if (senders[i] == 0) {
			close(down[1]);
			streaming_sender(i, go[0], stop[0], sent[1]);
		}
		assert_int_equal(read(sent[0], &joined, 1), 1);
	}
	assert_int_equal(write(go[1], "gggg", CALLING_SENDERS), CALLING_SENDERS);
	assert_true(fd_readable_within(up[0], QUEUE_FULL_WITHIN_MS));
	assert_int_equal(read(up[0], &full, 1), 1);
	assert_int_equal(full, 'f');
	assert_int_equal(write(stop[1], "s", 1), 1);
	for (uint32_t i = 0; i < CALLING_SENDERS; i++) {
		assert_int_equal(read(sent[0], counts, sizeof(counts)), sizeof(counts));
		accepted += counts[0];
		refused += counts[1];
		assert_int_equal(waitpid(senders[i], &status, 0), senders[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	print_message("%llu messages accepted, %llu refused with CS_ERR_TRY_AGAIN\n",
		      (unsigned long long)accepted, (unsigned long long)refused);
	assert_true(refused > 0);
	assert_int_equal(write(down[1], &accepted, sizeof(accepted)), sizeof(accepted));
	assert_int_equal(read(up[0], &report, sizeof(report)), sizeof(report));
	assert_int_equal(waitpid(member, &status, 0), member);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	print_message("the member made %llu calls; its RSS grew %ld KiB at most\n",
		      (unsigned long long)report.calls, report.grown_kb);
	assert_int_equal(report.failed_calls, 0);
	assert_int_equal(report.calls_while_held, CALLS_WHILE_HELD);
	assert_true(report.grown_kb < 16 * 1024);
	assert_true(report.in_order);
	for (int i = 0; i < 2; i++) {
		close(down[i]);
		close(up[i]);
		close(go[i]);
		close(stop[i]);
		close(sent[i]);
	}
}

/* ---- large messages -------------------------------------------------------- */

#define LARGE_SIZE (64u * 1024 * 1024 + 12345)

#define LARGE_MAX_SEEN 8

static struct {
	uint64_t whole;                 /* delivered with the right size and bytes */
	uint64_t broken;                /* anything else */
	size_t lengths[LARGE_MAX_SEEN]; /* of the first ones delivered, in order */
} large;

static uint8_t pattern_byte(size_t i)
{
	return (uint8_t)(i * 7 + (i >> 20));
}

static void on_large(cpg_handle_t handle, const struct cpg_name *group, uint32_t nodeid, uint32_t pid,
		     void *msg, size_t msg_len)
{
	const uint8_t *bytes = msg;
	size_t expected = (size_t)((const uint32_t *)msg)[0];
	uint64_t delivered = large.whole + large.broken;

	if (delivered < LARGE_MAX_SEEN)
		large.lengths[delivered] = msg_len;
	if (msg_len < 4 || msg_len != expected) {
		large.broken++;
		return;
	}
	for (size_t i = 4; i < msg_len; i += 4093)
		if (bytes[i] != pattern_byte(i)) {
			large.broken++;
			return;
		}
	large.whole++;
}

static cpg_callbacks_t large_callbacks = { .cpg_deliver_fn = on_large, .cpg_confchg_fn = on_confchg };

static uint64_t large_delivered(void)
{
	return __atomic_load_n(&large.whole, __ATOMIC_ACQUIRE) +
	       __atomic_load_n(&large.broken, __ATOMIC_ACQUIRE);
}

/* A member's own messages wait in its queue in the daemon, which only its
 * dispatching empties: one that sends more than that queue holds dispatches
 * on another thread meanwhile, as a program would. */
struct dispatcher {
	pthread_t thread;
	cpg_handle_t handle;
	cs_error_t result;
};

static void *dispatcher_main(void *arg)
{
	struct dispatcher *d = arg;

	d->result = cpg_dispatch(d->handle, CS_DISPATCH_BLOCKING);
	return NULL;
}

static void dispatcher_start(struct dispatcher *d, cpg_handle_t handle)
{
	d->handle = handle;
	assert_int_equal(pthread_create(&d->thread, NULL, dispatcher_main, d), 0);
}

/* Waits (180 s at most: a sanitizer on a loaded machine takes most of a
 * minute) until n large messages were delivered. */
static void large_wait(uint64_t n)
{
	struct timespec start;

	clock_gettime(CLOCK_MONOTONIC, &start);
	while (large_delivered() < n && elapsed_ms(&start) < 180000)
		usleep(1000);
	assert_true(large_delivered() >= n);
}

/* cpg_mcast_joined (or with zero_copy, cpg_zcb_mcast_joined of iov[0]),
 * again while the daemon pushes back (60 s at least): the queues may still
 * hold the message before. */
static cs_error_t mcast_retrying(cpg_handle_t h, struct iovec *iov, unsigned int n, bool zero_copy)
{
	cs_error_t err;

	for (int tries = 0;; tries++) {
		err = zero_copy ? cpg_zcb_mcast_joined(h, CPG_TYPE_AGREED, iov[0].iov_base, iov[0].iov_len)
				: cpg_mcast_joined(h, CPG_TYPE_AGREED, iov, n);
		if (err != CS_ERR_TRY_AGAIN || tries == 60000)
			return err;
		usleep(1000);
	}
}

/* Finalizes handle, which ends the dispatcher's BLOCKING dispatch. */
static void dispatcher_finalize(struct dispatcher *d)
{
	assert_int_equal(cpg_finalize(d->handle), CS_OK);
	assert_int_equal(pthread_join(d->thread, NULL), 0);
	assert_int_equal(d->result, CS_ERR_BAD_HANDLE);
}

static uint8_t *large_message(size_t size)
{
	uint8_t *m = malloc(size);
	uint32_t head = (uint32_t)size;

	assert_non_null(m);
	for (size_t i = 0; i < size; i++)
		m[i] = pattern_byte(i);
	memcpy(m, &head, sizeof(head));
	return m;
}

/* A member in another process that reports how many large messages it got
 * whole once told how many to expect. */
static void large_receiver(int commands, int replies)
{
	struct cpg_name name = group_name();
	uint64_t expected, report[2];
	cpg_handle_t h;

	if (cpg_initialize(&h, &large_callbacks) != CS_OK || cpg_join(h, &name) != CS_OK ||
	    write(replies, "j", 1) != 1 || read(commands, &expected, sizeof(expected)) != sizeof(expected))
		_exit(2);
	while (large.whole + large.broken < expected)
		if (cpg_dispatch(h, CS_DISPATCH_ONE) != CS_OK)
			_exit(3);
	report[0] = large.whole;
	report[1] = large.broken;
	_exit(write(replies, report, sizeof(report)) == sizeof(report) ? 0 : 4);
}

static void test_large_message_is_delivered_whole_once(void **state)
{
	struct cpg_name name = group_name();
	uint8_t *message = large_message(LARGE_SIZE);
	struct iovec iov[2] = { { message, 1000 }, { message + 1000, LARGE_SIZE - 1000 } };
	uint64_t expected = 2, report[2];
	int down[2], up[2], status;
	struct dispatcher dispatcher;
	cpg_handle_t h;
	char joined;
	pid_t pid;

	memset(&large, 0, sizeof(large));
	assert_int_equal(pipe(down), 0);
	assert_int_equal(pipe(up), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		large_receiver(down[0], up[1]);
	assert_int_equal(read(up[0], &joined, 1), 1);
	assert_int_equal(cpg_initialize(&h, &large_callbacks), CS_OK);
	assert_int_equal(cpg_join(h, &name), CS_OK);
	assert_int_equal(write(down[1], &expected, sizeof(expected)), sizeof(expected));
	dispatcher_start(&dispatcher, h);
	assert_int_equal(mcast_retrying(h, iov, 1 + 1, false), CS_OK);
	assert_int_equal(mcast_retrying(h, &(struct iovec){ message, LARGE_SIZE }, 1, true), CS_OK);
	large_wait(expected);
	assert_int_equal(read(up[0], report, sizeof(report)), sizeof(report));
	assert_int_equal(report[0], 2);
	assert_int_equal(report[1], 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	dispatcher_finalize(&dispatcher);
	assert_int_equal(large.whole, 2);
	assert_int_equal(large.broken, 0);
	free(message);
}

/* A message larger than the ring goes through it in parts, after what was
 * posted before it; the ring carries on afterwards. */
static void test_messages_larger_than_the_ring_are_delivered_whole_once(void **state)
{
	const size_t sizes[] = { 64, 1024 * 1024 + 123, LARGE_SIZE, 64 };
	const size_t n = sizeof(sizes) / sizeof(sizes[0]);
	struct cpg_name name = group_name();
	struct dispatcher dispatcher;
	cpg_handle_t h;

	memset(&large, 0, sizeof(large));
	assert_int_equal(cpg_initialize(&h, &large_callbacks), CS_OK);
	assert_int_equal(cpg_join(h, &name), CS_OK);
	dispatcher_start(&dispatcher, h);
	for (size_t i = 0; i < n; i++) {
		uint8_t *message = large_message(sizes[i]);
		struct iovec iov = { message, sizes[i] };

		assert_int_equal(mcast_retrying(h, &iov, 1, false), CS_OK);
		free(message);
	}
	large_wait(n);
	assert_int_equal(ring_of(getpid()), CLIENT_RING_SIZE);
	dispatcher_finalize(&dispatcher);
	assert_int_equal(large.broken, 0);
	assert_int_equal(large.whole, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(large.lengths[i], sizes[i]);
}

/* A process that joins and leaves over and over until killed. */
static void churner(void)
{
	struct cpg_name name = group_name();
	cpg_handle_t h;

	if (cpg_initialize(&h, NULL) != CS_OK)
		_exit(2);
	for (;;) {
		if (cpg_join(h, &name) == CS_OK)
			cpg_leave(h, &name);
		cpg_dispatch(h, CS_DISPATCH_ALL);
	}
}

static void test_confchg_during_large_send_is_interrupt(void **state)
{
	struct cpg_name name = group_name();
	uint8_t *message = large_message(8u * 1024 * 1024);
	struct iovec iov = { message, 8u * 1024 * 1024 };
	uint64_t sent = 0, interrupted = 0;
	cpg_handle_t h;
	pid_t pid;

	memset(&large, 0, sizeof(large));
	assert_int_equal(cpg_initialize(&h, &large_callbacks), CS_OK);
	assert_int_equal(cpg_join(h, &name), CS_OK);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		churner();
	for (int i = 0; i < 200 && interrupted == 0; i++) {
		cs_error_t err = cpg_mcast_joined(h, CPG_TYPE_AGREED, &iov, 1);

		if (err == CS_OK)
			sent++;
		else if (err == CS_ERR_INTERRUPT)
			interrupted++;
		else
			assert_int_equal(err, CS_ERR_TRY_AGAIN);
		assert_int_equal(cpg_dispatch(h, CS_DISPATCH_ALL), CS_OK);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	assert_true(interrupted > 0);
	assert_int_equal(cpg_dispatch(h, CS_DISPATCH_ALL), CS_OK);
	assert_int_equal(large.broken, 0);
	assert_int_equal(large.whole, sent);
	assert_int_equal(cpg_finalize(h), CS_OK);
	free(message);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_eight_senders_one_order_nothing_lost, start, stop),
		cmocka_unit_test_setup_teardown(test_eight_senders_one_order_nothing_lost_over_the_socket,
						start_without_rings, stop),
		cmocka_unit_test_setup_teardown(test_sender_that_exits_after_posting_is_heard_out, start,
						stop),
		cmocka_unit_test_setup_teardown(
			test_sender_that_exits_after_posting_is_heard_out_over_the_socket,
			start_without_rings, stop),
		cmocka_unit_test_setup_teardown(test_held_back_sender_that_exits_is_heard_out,
						start_small_queue, stop),
		cmocka_unit_test_setup_teardown(test_held_back_sender_that_exits_is_heard_out_over_the_socket,
						start_small_queue_without_rings, stop),
		cmocka_unit_test_setup_teardown(test_first_post_opens_a_ring, start, stop),
		cmocka_unit_test_setup_teardown(test_no_ring_when_max_ring_size_is_0, start_without_rings,
						stop),
		cmocka_unit_test_setup_teardown(test_ring_is_no_larger_than_max_queued_bytes,
						start_small_queue, stop),
		cmocka_unit_test_setup_teardown(test_member_that_does_not_dispatch_holds_senders_back,
						start_small_queue, stop),
		cmocka_unit_test_setup_teardown(test_member_that_does_not_dispatch_holds_large_senders_back,
						start_medium_queue, stop),
		cmocka_unit_test_setup_teardown(test_member_that_calls_but_never_dispatches,
						start_medium_queue, stop),
		cmocka_unit_test_setup_teardown(test_large_message_is_delivered_whole_once, start, stop),
		cmocka_unit_test_setup_teardown(test_messages_larger_than_the_ring_are_delivered_whole_once,
						start, stop),
		cmocka_unit_test_setup_teardown(test_confchg_during_large_send_is_interrupt, start, stop),
	};

	return cmocka_run_group_tests_name("cpg_flow", tests, NULL, NULL);
}
