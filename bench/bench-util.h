/* Helpers shared by the benchmark programs: a clock, an error check, the
 * command line, the meter of time and CPU around a measured interval, the
 * report lines bench/run parses, and a daemon's resident memory. Header-only
 * so that bench/run can build each program against corosync's libraries with
 * a plain cc command.
 *
 * Every program takes "MODE RUNS DAEMON_PID [FILTER]" and prints one line per
 * figure and metric:
 *
 *   group figure metric median unit runs v1 v2 ...
 *
 * A figure is measured only when "group/figure" contains FILTER. */
#ifndef CONCLAVE_BENCH_UTIL_H
#define CONCLAVE_BENCH_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <time.h>

#include <corosync/corotypes.h>

#define BENCH_MAX_RUNS 31

/* From the command line: the daemon whose CPU the meter reads, how many
 * runs of each figure, and which figures. */
static pid_t bench_daemon;
static int bench_runs;
static const char *bench_filter = "";

static inline double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static inline void check(cs_error_t err, const char *what)
{
	if (err != CS_OK) {
		fprintf(stderr, "%s: %s\n", what, cs_strerror(err));
		exit(1);
	}
}

static inline int bench_is_mode(const char *word, const char *modes)
{
	size_t n = strlen(word);

	for (const char *m = modes; (m = strstr(m, word)) != NULL; m += n)
		if ((m == modes || m[-1] == '|') && (m[n] == '|' || m[n] == '\0'))
			return 1;
	return 0;
}

/* Reads "MODE RUNS DAEMON_PID [FILTER]", MODE one of `modes` ("a|b");
 * returns MODE, or NULL (after a usage line) when the line is not that. */
static inline const char *bench_parse_args(int argc, char **argv, const char *modes)
{
	if (argc < 4 || argc > 5 || !bench_is_mode(argv[1], modes) || (bench_runs = atoi(argv[2])) < 1 ||
	    bench_runs > BENCH_MAX_RUNS || (bench_daemon = (pid_t)atoi(argv[3])) <= 0) {
		fprintf(stderr, "usage: %s %s RUNS DAEMON_PID [FILTER]\n", argv[0], modes);
		return NULL;
	}
	if (argc == 5)
		bench_filter = argv[4];
	return argv[1];
}

static inline int bench_wanted(const char *group, const char *figure)
{
	char name[128];

	snprintf(name, sizeof(name), "%s/%s", group, figure);
	return strstr(name, bench_filter) != NULL;
}

/* Whether any of `names` ("group/figure", up to a NULL) is wanted: for a
 * step that sets up what several figures need. */
static inline int bench_any_wanted(const char *const *names)
{
	for (; *names != NULL; names++)
		if (strstr(*names, bench_filter) != NULL)
			return 1;
	return 0;
}

/* ---- CPU ------------------------------------------------------------- */

/* The daemon's CPU time, user and system, over all its threads: the sum of
 * utime and stime in /proc/PID/stat, read through the process's CPU clock,
 * which gives it to the nanosecond instead of the clock tick. */
static inline double bench_daemon_cpu_us(void)
{
	struct timespec ts;
	clockid_t clock;

	if (clock_getcpuclockid(bench_daemon, &clock) != 0 || clock_gettime(clock, &ts) != 0) {
		fprintf(stderr, "cannot read the CPU time of daemon %d\n", (int)bench_daemon);
		exit(1);
	}
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static inline double bench_rusage_us(int who)
{
	struct rusage usage;

	getrusage(who, &usage);
	return (double)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e6 +
	       (double)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

/* The client's CPU time: this process's and that of the children it has
 * reaped (the other members of a group), so a figure whose helpers are
 * reaped before the meter stops counts every client process. */
static inline double bench_client_cpu_us(void)
{
	return bench_rusage_us(RUSAGE_SELF) + bench_rusage_us(RUSAGE_CHILDREN);
}

/* One run of a figure, per operation: the time it took, and the CPU time
 * the daemon and the client processes spent on it, in the same unit. */
struct bench_run {
	double time;
	double daemon_cpu;
	double client_cpu;
};

struct bench_meter {
	double start, daemon_cpu, client_cpu;
	double elapsed, daemon_cpu_used; /* once the interval has ended */
};

static inline struct bench_meter bench_meter_start(void)
{
	struct bench_meter m = { .daemon_cpu = bench_daemon_cpu_us(), .client_cpu = bench_client_cpu_us() };

	m.start = now_us();
	m.elapsed = -1;
	return m;
}

/* Ends the measured interval before the client's CPU is read, for a figure
 * that must reap its helper processes first. */
static inline void bench_meter_end_interval(struct bench_meter *m)
{
	m->elapsed = now_us() - m->start;
	m->daemon_cpu_used = bench_daemon_cpu_us() - m->daemon_cpu;
}

static inline struct bench_run bench_meter_stop(struct bench_meter *m, double operations)
{
	if (m->elapsed < 0)
		bench_meter_end_interval(m);
	return (struct bench_run){
		.time = m->elapsed / operations,
		.daemon_cpu = m->daemon_cpu_used / operations,
		.client_cpu = (bench_client_cpu_us() - m->client_cpu) / operations,
	};
}

/* ---- report lines ------------------------------------------------------ */

static inline int compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The value at quantile q (0.5: the median) of n values, which it sorts. */
static inline double bench_quantile(double *values, size_t n, double q)
{
	qsort(values, n, sizeof(double), compare_doubles);
	return values[(size_t)(q * (double)(n - 1) + 0.5)];
}

/* Prints "group figure metric median unit runs v1 v2 ...". */
static inline void bench_report_metric(const char *group, const char *figure, const char *metric,
				       const char *unit, const double *values, int runs)
{
	double sorted[BENCH_MAX_RUNS];

	memcpy(sorted, values, sizeof(double) * (size_t)runs);
	printf("%s %s %s %.3f %s runs", group, figure, metric, bench_quantile(sorted, (size_t)runs, 0.5),
	       unit);
	for (int i = 0; i < runs; i++)
		printf(" %.3f", values[i]);
	printf("\n");
	fflush(stdout);
}

/* Runs a figure bench_runs times, if wanted, and reports its time and the
 * CPU beside it. */
static inline void bench_figure(const char *group, const char *figure, const char *unit,
				struct bench_run (*measure)(void *), void *context)
{
	double time[BENCH_MAX_RUNS], daemon_cpu[BENCH_MAX_RUNS], client_cpu[BENCH_MAX_RUNS];

	if (!bench_wanted(group, figure))
		return;
	for (int r = 0; r < bench_runs; r++) {
		struct bench_run run = measure(context);

		time[r] = run.time;
		daemon_cpu[r] = run.daemon_cpu;
		client_cpu[r] = run.client_cpu;
	}
	bench_report_metric(group, figure, "time", unit, time, bench_runs);
	bench_report_metric(group, figure, "daemon_cpu", unit, daemon_cpu, bench_runs);
	bench_report_metric(group, figure, "client_cpu", unit, client_cpu, bench_runs);
}

static inline long rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

#endif
