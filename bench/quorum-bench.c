/* Quorum and votequorum figures, written against corosync's public API only so
 * that the same source builds against corosync's libraries and against
 * Conclave's. bench/run builds it twice and runs each build against its own
 * daemon in one session.
 *
 *   quorum-bench latency RUNS DAEMON_PID [FILTER]  round trips, initialize + finalize
 *   quorum-bench memory 1 DAEMON_PID [FILTER]      RSS growth per idle connection, once
 *
 * Memory is measured once per process against a daemon started just before:
 * a daemon keeps freed heap, so a second measurement in the same daemon would
 * reuse the first one's pages and read as zero. bench/run restarts the daemon
 * for each memory run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <corosync/corotypes.h>
#include <corosync/quorum.h>
#include <corosync/votequorum.h>

#include "bench-util.h"

#define ROUND_TRIPS 20000
#define INIT_FINALIZE_PAIRS 500
#define IDLE_CONNECTIONS 1000

static struct bench_run getquorate(void *unused)
{
	struct bench_meter meter;
	struct bench_run run;
	quorum_handle_t h;
	int quorate;

	check(quorum_initialize(&h, NULL, NULL), "quorum_initialize");
	meter = bench_meter_start();
	for (int i = 0; i < ROUND_TRIPS; i++)
		check(quorum_getquorate(h, &quorate), "quorum_getquorate");
	run = bench_meter_stop(&meter, ROUND_TRIPS);
	quorum_finalize(h);
	return run;
}

static struct bench_run getinfo(void *unused)
{
	votequorum_callbacks_t callbacks = { 0 };
	votequorum_handle_t h;
	struct votequorum_info info;
	struct bench_meter meter;
	struct bench_run run;

	check(votequorum_initialize(&h, &callbacks), "votequorum_initialize");
	meter = bench_meter_start();
	for (int i = 0; i < ROUND_TRIPS; i++)
		check(votequorum_getinfo(h, 0, &info), "votequorum_getinfo");
	run = bench_meter_stop(&meter, ROUND_TRIPS);
	votequorum_finalize(h);
	return run;
}

static struct bench_run init_finalize(void *unused)
{
	struct bench_meter meter = bench_meter_start();

	for (int i = 0; i < INIT_FINALIZE_PAIRS; i++) {
		quorum_handle_t h;

		check(quorum_initialize(&h, NULL, NULL), "quorum_initialize");
		check(quorum_finalize(h), "quorum_finalize");
	}
	return bench_meter_stop(&meter, INIT_FINALIZE_PAIRS);
}

static double idle_connection_kib(pid_t daemon)
{
	static quorum_handle_t handles[IDLE_CONNECTIONS];
	long before, after;

	before = rss_kib(daemon);
	for (int i = 0; i < IDLE_CONNECTIONS; i++)
		check(quorum_initialize(&handles[i], NULL, NULL), "quorum_initialize (idle)");
	usleep(200 * 1000);
	after = rss_kib(daemon);
	for (int i = 0; i < IDLE_CONNECTIONS; i++)
		quorum_finalize(handles[i]);
	usleep(200 * 1000);
	return (double)(after - before) / IDLE_CONNECTIONS;
}

static void raise_fd_limit(void)
{
	struct rlimit limit;

	if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
		limit.rlim_cur = limit.rlim_max;
		setrlimit(RLIMIT_NOFILE, &limit);
	}
}

static int run_latency(void)
{
	bench_figure("round_trips", "quorum_getquorate_round_trip", "us", getquorate, NULL);
	bench_figure("round_trips", "votequorum_getinfo_round_trip", "us", getinfo, NULL);
	bench_figure("round_trips", "quorum_initialize_finalize", "us", init_finalize, NULL);
	return 0;
}

static int run_memory(void)
{
	double value;

	if (!bench_wanted("memory", "daemon_memory_per_idle_connection"))
		return 0;
	raise_fd_limit();
	value = idle_connection_kib(bench_daemon);
	bench_report_metric("memory", "daemon_memory_per_idle_connection", "memory", "KiB", &value, 1);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = bench_parse_args(argc, argv, "latency|memory");

	if (mode == NULL)
		return 2;
	return strcmp(mode, "latency") == 0 ? run_latency() : run_memory();
}
