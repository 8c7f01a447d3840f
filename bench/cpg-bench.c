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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <corosync/corotypes.h>
#include <corosync/cpg.h>

#include "bench-group.h"

static size_t members_seen;

static void on_deliver(cpg_handle_t handle, const struct cpg_name *group, uint32_t nodeid, uint32_t pid,
		       void *msg, size_t msg_len)
{
	bench_delivered++;
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

static uint64_t join(const char *group)
{
	struct cpg_name name = group_named(group);
	cpg_handle_t h;

	members_seen = 0;
	check(cpg_initialize(&h, &callbacks), "cpg_initialize");
	check(cpg_join(h, &name), "cpg_join");
	return h;
}

static void dispatch_one(uint64_t h)
{
	check(cpg_dispatch(h, CS_DISPATCH_ONE), "cpg_dispatch");
}

static void send_one(uint64_t h, const struct iovec *iov)
{
	cs_error_t err;

	while ((err = cpg_mcast_joined(h, CPG_TYPE_AGREED, iov, 1)) == CS_ERR_TRY_AGAIN)
		check(cpg_dispatch(h, CS_DISPATCH_ALL), "cpg_dispatch");
	check(err, "cpg_mcast_joined");
}

static void wait_for_members(uint64_t h, int members)
{
	while (members_seen < (size_t)members)
		dispatch_one(h);
}

static void finalize(uint64_t h)
{
	cpg_finalize(h);
}

static const struct bench_group_api cpg_api = {
	.prefix = "cpg",
	.largest_message = 1048576,
	.join = join,
	.send = send_one,
	.dispatch_one = dispatch_one,
	.wait_for_members = wait_for_members,
	.finalize = finalize,
};

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
		check(cpg_leave(h, &name), "cpg_leave");
		check(cpg_finalize(h), "cpg_finalize");
	}
	return (now_us() - start) / N;
}

int main(int argc, char **argv)
{
	int runs = argc > 2 ? atoi(argv[2]) : 5;
	const char *filter = argc > 3 ? argv[3] : "";
	double values[BENCH_MAX_RUNS];

	if (argc < 2 || strcmp(argv[1], "latency") != 0 || runs < 1 || runs > BENCH_MAX_RUNS) {
		fprintf(stderr, "usage: %s latency [RUNS [FILTER]]\n", argv[0]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	bench_group_figures(&cpg_api, runs, filter);
	if (strstr("cpg_join_leave", filter) != NULL) {
		for (int r = 0; r < runs; r++)
			values[r] = join_leave_us();
		report("cpg_join_leave", "us", values, runs);
	}
	return 0;
}
