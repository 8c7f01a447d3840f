/* Paced loads, written against corosync's public API only, like the other
 * benchmark programs: quorum_getquorate, cmap_get and a cpg message's round
 * trip to its own sender, one call every millisecond and then every 100 us
 * for a few seconds, each on an absolute schedule (a late call does not move
 * the ones after it). A program that asks a question now and then is what
 * most cluster clients are, and what a client or daemon that spins while it
 * waits makes expensive: beside each call's latency (median and p99) stand
 * the daemon's and the client's CPU per call.
 *
 * no_call is the pacing loop alone, whose CPU is the floor beneath the
 * others' (the client's wake-ups). The same loads run again under
 * contention, with a busy loop on every core, reporting how many calls were
 * made in the interval; and the daemon's and client's CPU are measured while
 * three connections (a quorum tracker, a cmap tracker and a cpg member) sit
 * idle.
 *
 *   paced-bench paced RUNS DAEMON_PID [FILTER]
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <corosync/cmap.h>
#include <corosync/corotypes.h>
#include <corosync/cpg.h>
#include <corosync/quorum.h>

#include "bench-cpg.h"

#define PACED_SECONDS 3
#define IDLE_SECONDS 3
#define WARM_UP_CALLS 10
#define MAX_HOGS 64

static const int paces[] = { 1000, 10000 }; /* calls per second */

/* The connections the loads use, which also sit idle for the idle figure. */
static quorum_handle_t quorum;
static cmap_handle_t cmap;
static uint64_t cpg;

static void on_quorum_change(quorum_handle_t handle, uint32_t quorate, uint64_t ring_seq, uint32_t n,
			     uint32_t *nodes)
{
}

static void on_cmap_change(cmap_handle_t handle, cmap_track_handle_t track, int32_t event, const char *key,
			   struct cmap_notify_value new_value, struct cmap_notify_value old_value, void *data)
{
}

/* Connects as a cluster program does: tracking quorum, tracking a cmap key,
 * a member of a cpg group. */
static void connect_clients(void)
{
	quorum_callbacks_t quorum_callbacks = { .quorum_notify_fn = on_quorum_change };
	cmap_track_handle_t track;
	uint32_t quorum_type;

	check(quorum_initialize(&quorum, &quorum_callbacks, &quorum_type), "quorum_initialize");
	check(quorum_trackstart(quorum, CS_TRACK_CHANGES), "quorum_trackstart");
	check(cmap_initialize(&cmap), "cmap_initialize");
	check(cmap_set_uint32(cmap, "bench.paced", 1), "cmap_set_uint32");
	check(cmap_track_add(cmap, "bench.paced.tracked", CMAP_TRACK_MODIFY, on_cmap_change, NULL, &track),
	      "cmap_track_add");
	cpg = bench_cpg_join("bench-paced");
	bench_cpg_wait_for_members(cpg, 1);
}

static void disconnect_clients(void)
{
	bench_cpg_finalize(cpg);
	cmap_finalize(cmap);
	quorum_finalize(quorum);
}

/* ---- the calls --------------------------------------------------------- */

static void getquorate(void)
{
	int quorate;

	check(quorum_getquorate(quorum, &quorate), "quorum_getquorate");
}

static void get(void)
{
	uint32_t value;

	check(cmap_get_uint32(cmap, "bench.paced", &value), "cmap_get_uint32");
}

/* The floor of the client's CPU per call: what the pacing itself costs. */
static void no_call(void)
{
}

static void mcast_round_trip(void)
{
	char payload[64] = { 0 };
	struct iovec iov = { payload, sizeof(payload) };

	bench_round_trip_once(&bench_cpg_api, cpg, &iov);
}

static const struct paced_load {
	const char *name;
	void (*call)(void);
} loads[] = {
	{ "no_call", no_call },
	{ "quorum_getquorate", getquorate },
	{ "cmap_get", get },
	{ "cpg_mcast_round_trip", mcast_round_trip },
};

/* ---- busy loops on every core ------------------------------------------ */

struct hogs {
	pid_t pids[MAX_HOGS];
	int n;
};

static struct hogs hogs_start(void)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	struct hogs hogs = { .n = cores < 1 ? 1 : cores > MAX_HOGS ? MAX_HOGS : (int)cores };

	for (int i = 0; i < hogs.n; i++) {
		hogs.pids[i] = fork();
		if (hogs.pids[i] < 0) {
			perror("fork");
			exit(1);
		}
		if (hogs.pids[i] == 0) {
			setpriority(PRIO_PROCESS, 0, 0);
			for (volatile unsigned long spin = 0;; spin++)
				;
		}
	}
	usleep(100 * 1000);
	return hogs;
}

/* Reaped only after the meter has stopped, so their CPU is no client's. */
static void hogs_stop(const struct hogs *hogs)
{
	for (int i = 0; i < hogs->n; i++)
		kill(hogs->pids[i], SIGKILL);
	for (int i = 0; i < hogs->n; i++)
		waitpid(hogs->pids[i], NULL, 0);
}

/* ---- paced runs -------------------------------------------------------- */

struct paced_run {
	double calls, median, p99, daemon_cpu, client_cpu;
};

static void timespec_add_ns(struct timespec *t, long ns)
{
	t->tv_nsec += ns;
	while (t->tv_nsec >= 1000000000L) {
		t->tv_nsec -= 1000000000L;
		t->tv_sec++;
	}
}

/* Calls at `rate` per second, each due at a fixed time from the start, for
 * PACED_SECONDS; a call due when the interval is over is not made. A call's
 * latency runs from its start to its return; how late calls start shows in
 * how many were made. */
static struct paced_run paced_run(const struct paced_load *load, int rate, double *latencies)
{
	const size_t scheduled = (size_t)rate * PACED_SECONDS;
	struct bench_meter meter;
	struct bench_run cpu;
	struct timespec due;
	size_t calls = 0;
	double end;

	for (int i = 0; i < WARM_UP_CALLS; i++)
		load->call();
	clock_gettime(CLOCK_MONOTONIC, &due);
	meter = bench_meter_start();
	end = meter.start + PACED_SECONDS * 1e6;
	while (calls < scheduled) {
		double started;

		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL) == EINTR)
			;
		started = now_us();
		if (started >= end)
			break;
		load->call();
		latencies[calls++] = now_us() - started;
		timespec_add_ns(&due, 1000000000L / rate);
	}
	if (calls == 0) {
		fprintf(stderr, "%s: no call made in %d s\n", load->name, PACED_SECONDS);
		exit(1);
	}
	cpu = bench_meter_stop(&meter, (double)calls);
	return (struct paced_run){
		.calls = (double)calls,
		.median = bench_quantile(latencies, calls, 0.5),
		.p99 = bench_quantile(latencies, calls, 0.99),
		.daemon_cpu = cpu.daemon_cpu,
		.client_cpu = cpu.client_cpu,
	};
}

static void report_paced(const char *group, const char *figure, const struct paced_run *runs)
{
	double values[5][BENCH_MAX_RUNS];
	static const struct {
		const char *metric, *unit;
	} metrics[] = {
		{ "median", "us" },     { "p99", "us" },      { "daemon_cpu", "us" },
		{ "client_cpu", "us" }, { "calls", "calls" },
	};

	for (int r = 0; r < bench_runs; r++) {
		values[0][r] = runs[r].median;
		values[1][r] = runs[r].p99;
		values[2][r] = runs[r].daemon_cpu;
		values[3][r] = runs[r].client_cpu;
		values[4][r] = runs[r].calls;
	}
	for (int m = 0; m < 5; m++)
		bench_report_metric(group, figure, metrics[m].metric, metrics[m].unit, values[m], bench_runs);
}

/* group "paced", or "contention" with busy loops running through each run. */
static void paced_figure(const char *group, const struct paced_load *load, int rate)
{
	struct paced_run runs[BENCH_MAX_RUNS];
	double *latencies;
	char figure[64];

	snprintf(figure, sizeof(figure), "%s_at_%d_per_s", load->name, rate);
	if (!bench_wanted(group, figure))
		return;
	latencies = malloc(sizeof(double) * (size_t)rate * PACED_SECONDS);
	if (latencies == NULL)
		exit(1);
	for (int r = 0; r < bench_runs; r++) {
		struct hogs hogs = { .n = 0 };

		if (strcmp(group, "contention") == 0)
			hogs = hogs_start();
		runs[r] = paced_run(load, rate, latencies);
		hogs_stop(&hogs);
	}
	report_paced(group, figure, runs);
	free(latencies);
}

/* ---- idle -------------------------------------------------------------- */

/* The daemon's and the client's CPU per second while the connections wait
 * in poll() for events that do not come (any that do are dispatched). */
static struct bench_run idle_run(void)
{
	struct pollfd fds[3] = { { .events = POLLIN }, { .events = POLLIN }, { .events = POLLIN } };
	struct bench_meter meter = bench_meter_start();
	double end = meter.start + IDLE_SECONDS * 1e6, now;

	check(quorum_fd_get(quorum, &fds[0].fd), "quorum_fd_get");
	check(cmap_fd_get(cmap, &fds[1].fd), "cmap_fd_get");
	check(cpg_fd_get(cpg, &fds[2].fd), "cpg_fd_get");
	while ((now = now_us()) < end) {
		if (poll(fds, 3, (int)((end - now) / 1000) + 1) <= 0)
			continue;
		if (fds[0].revents != 0)
			check(quorum_dispatch(quorum, CS_DISPATCH_ALL), "quorum_dispatch");
		if (fds[1].revents != 0)
			check(cmap_dispatch(cmap, CS_DISPATCH_ALL), "cmap_dispatch");
		if (fds[2].revents != 0)
			check(cpg_dispatch(cpg, CS_DISPATCH_ALL), "cpg_dispatch");
	}
	return bench_meter_stop(&meter, IDLE_SECONDS);
}

static void idle_figure(void)
{
	double daemon_cpu[BENCH_MAX_RUNS], client_cpu[BENCH_MAX_RUNS];

	if (!bench_wanted("paced", "idle_3_connections"))
		return;
	for (int r = 0; r < bench_runs; r++) {
		struct bench_run run = idle_run();

		daemon_cpu[r] = run.daemon_cpu;
		client_cpu[r] = run.client_cpu;
	}
	bench_report_metric("paced", "idle_3_connections", "daemon_cpu", "us/s", daemon_cpu, bench_runs);
	bench_report_metric("paced", "idle_3_connections", "client_cpu", "us/s", client_cpu, bench_runs);
}

int main(int argc, char **argv)
{
	if (bench_parse_args(argc, argv, "paced") == NULL)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	connect_clients();
	idle_figure();
	for (size_t l = 0; l < sizeof(loads) / sizeof(loads[0]); l++)
		for (size_t p = 0; p < sizeof(paces) / sizeof(paces[0]); p++)
			paced_figure("paced", &loads[l], paces[p]);
	for (size_t l = 0; l < sizeof(loads) / sizeof(loads[0]); l++)
		for (size_t p = 0; p < sizeof(paces) / sizeof(paces[0]); p++)
			paced_figure("contention", &loads[l], paces[p]);
	disconnect_clients();
	return 0;
}
