/* cpg figures, built against Conclave's libcpg and against corosync's by
 * bench/run: a message's round trip to its own sender, the time per message
 * of a stream of 64 B, 1 KiB, 64 KiB and 1 MiB messages to a group of 1 and
 * of 8 members (one sender, every member receiving every message), and a
 * join plus leave. Each figure is the median of RUNS runs, in microseconds
 * per operation (lower is better), one line per figure:
 * "name median unit runs v1 v2 ...".
 *
 *   cpg-bench latency [RUNS [FILTER]]
 *
 * With FILTER, only the figures whose name contains it.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <corosync/corotypes.h>
#include <corosync/cpg.h>

#include "bench-util.h"

#define MAX_RUNS 31
#define MEMBERS 8

static unsigned long delivered;
static size_t members_seen;

static void on_deliver(cpg_handle_t handle, const struct cpg_name *group, uint32_t nodeid, uint32_t pid,
		       void *msg, size_t msg_len)
{
	delivered++;
}

static void on_confchg(cpg_handle_t handle, const struct cpg_name *group, const struct cpg_address *members,
		       size_t n_members, const struct cpg_address *left, size_t n_left,
		       const struct cpg_address *joined, size_t n_joined)
{
	members_seen = n_members;
}

static cpg_callbacks_t callbacks = { .cpg_deliver_fn = on_deliver, .cpg_confchg_fn = on_confchg };

static struct cpg_name group_named(const char *text)
{
	struct cpg_name name = { .length = (uint32_t)strlen(text) };

	memcpy(name.value, text, name.length);
	return name;
}

static cpg_handle_t join(const char *group)
{
	struct cpg_name name = group_named(group);
	cpg_handle_t h;

	check(cpg_initialize(&h, &callbacks), "cpg_initialize");
	check(cpg_join(h, &name), "cpg_join");
	return h;
}

static void dispatch_until_delivered(cpg_handle_t h, unsigned long n)
{
	while (delivered < n)
		check(cpg_dispatch(h, CS_DISPATCH_ONE), "cpg_dispatch");
}

static void send_one(cpg_handle_t h, const struct iovec *iov)
{
	cs_error_t err;

	while ((err = cpg_mcast_joined(h, CPG_TYPE_AGREED, iov, 1)) == CS_ERR_TRY_AGAIN)
		check(cpg_dispatch(h, CS_DISPATCH_ALL), "cpg_dispatch");
	check(err, "cpg_mcast_joined");
}

static double round_trip_us(void)
{
	enum { N = 2000 };
	char payload[64] = { 0 };
	struct iovec iov = { payload, sizeof(payload) };
	cpg_handle_t h = join("bench-rtt");
	double start;

	delivered = 0;
	start = now_us();
	for (unsigned long i = 1; i <= N; i++) {
		send_one(h, &iov);
		dispatch_until_delivered(h, i);
	}
	start = (now_us() - start) / N;
	cpg_finalize(h);
	return start;
}

/* A member that receives n messages, then writes one byte. */
static pid_t receiver_start(const char *group, unsigned long n, int done)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	delivered = 0;
	cpg_handle_t h = join(group);
	if (write(done, "j", 1) != 1)
		_exit(1);
	dispatch_until_delivered(h, n);
	_exit(write(done, "d", 1) == 1 ? 0 : 1);
}

static double stream_us(size_t size, int members, unsigned long n)
{
	char *payload = calloc(1, size);
	struct iovec iov = { payload, size };
	pid_t pids[MEMBERS];
	int done[2];
	char byte;
	cpg_handle_t h;
	double start;

	if (payload == NULL || pipe(done) < 0)
		exit(1);
	for (int i = 1; i < members; i++)
		pids[i] = receiver_start("bench-stream", n, done[1]);
	for (int i = 1; i < members; i++)
		if (read(done[0], &byte, 1) != 1)
			exit(1);
	delivered = 0;
	members_seen = 0;
	h = join("bench-stream");
	while (members_seen < (size_t)members)
		check(cpg_dispatch(h, CS_DISPATCH_ONE), "cpg_dispatch");
	start = now_us();
	for (unsigned long i = 0; i < n; i++)
		send_one(h, &iov);
	dispatch_until_delivered(h, n);
	for (int i = 1; i < members; i++)
		if (read(done[0], &byte, 1) != 1)
			exit(1);
	start = (now_us() - start) / n;
	for (int i = 1; i < members; i++)
		waitpid(pids[i], NULL, 0);
	cpg_finalize(h);
	close(done[0]);
	close(done[1]);
	free(payload);
	return start;
}

static double join_leave_us(void)
{
	enum { N = 1000 };
	struct cpg_name name = group_named("bench-join");
	cpg_handle_t h;
	double start;

	start = now_us();
	for (int i = 0; i < N; i++) {
		check(cpg_initialize(&h, &callbacks), "cpg_initialize");
		check(cpg_join(h, &name), "cpg_join");
		members_seen = 0;
		check(cpg_leave(h, &name), "cpg_leave");
		check(cpg_finalize(h), "cpg_finalize");
	}
	return (now_us() - start) / N;
}

struct stream_figure {
	const char *name;
	size_t size;
	int members;
	unsigned long n;
};

static const struct stream_figure streams[] = {
	{ "cpg_stream_64B_1_member", 64, 1, 100000 },
	{ "cpg_stream_1KiB_1_member", 1024, 1, 50000 },
	{ "cpg_stream_64KiB_1_member", 65536, 1, 5000 },
	{ "cpg_stream_1MiB_1_member", 1048576, 1, 200 },
	{ "cpg_stream_64B_8_members", 64, MEMBERS, 50000 },
	{ "cpg_stream_1KiB_8_members", 1024, MEMBERS, 20000 },
	{ "cpg_stream_64KiB_8_members", 65536, MEMBERS, 1000 },
	{ "cpg_stream_1MiB_8_members", 1048576, MEMBERS, 50 },
};

static const char *filter = "";

static bool wanted(const char *figure)
{
	return strstr(figure, filter) != NULL;
}

int main(int argc, char **argv)
{
	int runs = argc > 2 ? atoi(argv[2]) : 5;
	double values[MAX_RUNS];

	if (argc < 2 || strcmp(argv[1], "latency") != 0 || runs < 1 || runs > MAX_RUNS) {
		fprintf(stderr, "usage: %s latency [RUNS [FILTER]]\n", argv[0]);
		return 2;
	}
	if (argc > 3)
		filter = argv[3];
	signal(SIGPIPE, SIG_IGN);
	if (wanted("cpg_mcast_round_trip")) {
		for (int r = 0; r < runs; r++)
			values[r] = round_trip_us();
		report("cpg_mcast_round_trip", "us", values, runs);
	}
	for (size_t s = 0; s < sizeof(streams) / sizeof(streams[0]); s++) {
		if (!wanted(streams[s].name))
			continue;
		for (int r = 0; r < runs; r++)
			values[r] = stream_us(streams[s].size, streams[s].members, streams[s].n);
		report(streams[s].name, "us", values, runs);
	}
	if (wanted("cpg_join_leave")) {
		for (int r = 0; r < runs; r++)
			values[r] = join_leave_us();
		report("cpg_join_leave", "us", values, runs);
	}
	return 0;
}
