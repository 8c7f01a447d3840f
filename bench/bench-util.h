/* Helpers shared by the benchmark programs: a clock, an error check, the
 * report line bench/run parses, and a daemon's resident memory. Header-only
 * so that bench/run can build each program against corosync's libraries with
 * a plain cc command. */
#ifndef CONCLAVE_BENCH_UTIL_H
#define CONCLAVE_BENCH_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include <corosync/corotypes.h>

#define BENCH_MAX_RUNS 31

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

static inline int compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Prints "name median unit runs v1 v2 ..."; runs is at most BENCH_MAX_RUNS. */
static inline void report(const char *name, const char *unit, const double *values, int runs)
{
	double sorted[BENCH_MAX_RUNS];

	memcpy(sorted, values, sizeof(double) * (size_t)runs);
	qsort(sorted, (size_t)runs, sizeof(double), compare_doubles);
	printf("%s %.3f %s runs", name, sorted[runs / 2], unit);
	for (int i = 0; i < runs; i++)
		printf(" %.3f", values[i]);
	printf("\n");
	fflush(stdout);
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
