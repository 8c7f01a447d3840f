/* cpg figures, built against Conclave's libcpg and against corosync's by
 * bench/run: a message's round trip to its own sender, the time per message
 * of a stream of 64 B, 1 KiB, 64 KiB and 1 MiB messages to a group of 1 and
 * of 8 members (one sender, every member receiving every message), and a
 * join plus leave, each with the daemon's and the client's CPU per operation,
 * in microseconds per operation (lower is better).
 *
 *   cpg-bench latency RUNS DAEMON_PID [FILTER]
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <corosync/corotypes.h>
#include <corosync/cpg.h>

#include "bench-cpg.h"

static struct bench_run join_leave(void *unused)
{
	enum { N = 1000 };
	struct cpg_name name = bench_cpg_name("bench-join");
	struct bench_meter meter = bench_meter_start();
	cpg_handle_t h;

	for (int i = 0; i < N; i++) {
		check(cpg_initialize(&h, &bench_cpg_callbacks), "cpg_initialize");
		check(cpg_join(h, &name), "cpg_join");
		check(cpg_leave(h, &name), "cpg_leave");
		check(cpg_finalize(h), "cpg_finalize");
	}
	return bench_meter_stop(&meter, N);
}

int main(int argc, char **argv)
{
	if (bench_parse_args(argc, argv, "latency") == NULL)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	bench_group_figures(&bench_cpg_api);
	bench_figure("round_trips", "cpg_join_leave", "us", join_leave, NULL);
	return 0;
}
