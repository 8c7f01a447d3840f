/* Quorum and votequorum figures, written against corosync's public API only so
 * that the same source builds against corosync's libraries and against
 * Conclave's. bench/run builds it twice and runs each build against its own
 * daemon in one session.
 *
 *   quorum-bench latency [RUNS]    round trips and initialize + finalize
 *   quorum-bench memory DAEMON_PID  RSS growth per idle connection, once
 *
 * Memory is measured once per process against a daemon started just before:
 * a daemon keeps freed heap, so a second measurement in the same daemon would
 * reuse the first one's pages and read as zero. bench/run restarts the daemon
 * for each memory run.
 *
 * Prints one line per figure: "name median unit runs v1 v2 ...".
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <corosync/corotypes.h>
#include <corosync/quorum.h>
#include <corosync/votequorum.h>

#include "bench-util.h"

#define MAX_RUNS 15
#define ROUND_TRIPS 20000
#define INIT_FINALIZE_PAIRS 500
#define IDLE_CONNECTIONS 1000

static double getquorate_us(void)
{
	quorum_handle_t h;
	int quorate;
	double start;

	check(quorum_initialize(&h, NULL, NULL), "quorum_initialize");
	start = now_us();
	for (int i = 0; i < ROUND_TRIPS; i++)
		check(quorum_getquorate(h, &quorate), "quorum_getquorate");
	start = (now_us() - start) / ROUND_TRIPS;
	quorum_finalize(h);
	return start;
}

static double getinfo_us(void)
{
	votequorum_callbacks_t callbacks = { 0 };
	votequorum_handle_t h;
	struct votequorum_info info;
	double start;

	check(votequorum_initialize(&h, &callbacks), "votequorum_initialize");
	start = now_us();
	for (int i = 0; i < ROUND_TRIPS; i++)
		check(votequorum_getinfo(h, 0, &info), "votequorum_getinfo");
	start = (now_us() - start) / ROUND_TRIPS;
	votequorum_finalize(h);
	return start;
}

static double init_finalize_us(void)
{
	double start = now_us();

	for (int i = 0; i < INIT_FINALIZE_PAIRS; i++) {
		quorum_handle_t h;

		check(quorum_initialize(&h, NULL, NULL), "quorum_initialize");
		check(quorum_finalize(h), "quorum_finalize");
	}
	return (now_us() - start) / INIT_FINALIZE_PAIRS;
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

static int run_latency(int runs)
{
	double values[MAX_RUNS];

	if (runs < 1 || runs > MAX_RUNS)
		runs = 5;
	for (int i = 0; i < runs; i++)
		values[i] = getquorate_us();
	report("quorum_getquorate_round_trip", "us", values, runs);
	for (int i = 0; i < runs; i++)
		values[i] = getinfo_us();
	report("votequorum_getinfo_round_trip", "us", values, runs);
	for (int i = 0; i < runs; i++)
		values[i] = init_finalize_us();
	report("quorum_initialize_finalize", "us", values, runs);
	return 0;
}

static int run_memory(pid_t daemon)
{
	double value;

	raise_fd_limit();
	value = idle_connection_kib(daemon);
	report("daemon_memory_per_idle_connection", "KiB", &value, 1);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "latency") == 0)
		return run_latency(argc > 2 ? atoi(argv[2]) : 5);
	if (argc == 3 && strcmp(argv[1], "memory") == 0)
		return run_memory((pid_t)atoi(argv[2]));
	fprintf(stderr, "usage: %s latency [RUNS] | memory DAEMON_PID\n", argv[0]);
	return 2;
}
