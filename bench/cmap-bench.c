/* cmap figures, written against corosync's public cmap API only so that the
 * same source builds against corosync's libcmap and against Conclave's.
 * bench/run builds it twice and runs each build against its own daemon in
 * one session.
 *
 *   cmap-bench latency RUNS DAEMON_PID
 *
 * Round trips of cmap_get and cmap_set, the time from a cmap_set on one
 * connection to the track callback on another, a full iteration over 10 000
 * keys, and cmap_get with 1 000 and then 1 000 000 keys in the map (to show
 * whether it stays flat), plus the daemon's memory per key at a million.
 * The keys are left behind: bench/run restarts the daemons afterwards.
 *
 * Prints one line per figure: "name median unit runs v1 v2 ...".
 */
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <corosync/cmap.h>
#include <corosync/corotypes.h>

#include "bench-util.h"

#define MAX_RUNS 15
#define ROUND_TRIPS 20000
#define NOTIFY_ROUNDS 5000
#define ITERATION_KEYS 10000
#define SMALL_MAP 1000
#define LARGE_MAP 1000000
#define GETS_PER_RUN 20000

/* ---- round trips ------------------------------------------------------- */

static double get_us(cmap_handle_t h)
{
	uint32_t value;
	double start = now_us();

	for (int i = 0; i < ROUND_TRIPS; i++)
		check(cmap_get_uint32(h, "bench.get", &value), "cmap_get_uint32");
	return (now_us() - start) / ROUND_TRIPS;
}

/* Each set changes the value, so the daemon really stores it. */
static double set_us(cmap_handle_t h)
{
	double start = now_us();

	for (uint32_t i = 0; i < ROUND_TRIPS; i++)
		check(cmap_set_uint32(h, "bench.set", i), "cmap_set_uint32");
	return (now_us() - start) / ROUND_TRIPS;
}

/* ---- set to callback --------------------------------------------------- */

static double notified_at;

static void on_notify(cmap_handle_t handle, cmap_track_handle_t track, int32_t event, const char *key,
		      struct cmap_notify_value new_value, struct cmap_notify_value old_value, void *data)
{
	notified_at = now_us();
}

static void wait_for_notification(cmap_handle_t tracker, int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	notified_at = 0;
	while (notified_at == 0) {
		if (poll(&p, 1, 5000) != 1) {
			fprintf(stderr, "no notification within 5 s\n");
			exit(1);
		}
		check(cmap_dispatch(tracker, CS_DISPATCH_ALL), "cmap_dispatch");
	}
}

static double notify_us(cmap_handle_t writer, cmap_handle_t tracker, int fd)
{
	double total = 0;

	for (uint32_t i = 1; i <= NOTIFY_ROUNDS; i++) {
		double start = now_us();

		check(cmap_set_uint32(writer, "bench.track", i), "cmap_set_uint32 (tracked)");
		wait_for_notification(tracker, fd);
		total += notified_at - start;
	}
	return total / NOTIFY_ROUNDS;
}

/* ---- iteration and large maps ------------------------------------------ */

static void fill(cmap_handle_t h, const char *format, uint32_t from, uint32_t to)
{
	char key[CMAP_KEYNAME_MAXLEN + 1];

	for (uint32_t i = from; i < to; i++) {
		snprintf(key, sizeof(key), format, i);
		check(cmap_set_uint32(h, key, i), "cmap_set_uint32 (fill)");
	}
}

static double iterate_ms(cmap_handle_t h)
{
	char key[CMAP_KEYNAME_MAXLEN + 1];
	cmap_iter_handle_t it;
	size_t len, n = 0;
	cmap_value_types_t type;
	double start = now_us();
	cs_error_t err;

	check(cmap_iter_init(h, "bench.iter.", &it), "cmap_iter_init");
	while ((err = cmap_iter_next(h, it, key, &len, &type)) == CS_OK)
		n++;
	if (err != CS_ERR_NO_SECTIONS || n != ITERATION_KEYS) {
		fprintf(stderr, "iteration saw %zu keys (%s)\n", n, cs_strerror(err));
		exit(1);
	}
	check(cmap_iter_finalize(h, it), "cmap_iter_finalize");
	return (now_us() - start) / 1000.0;
}

/* Gets of keys spread over the whole map, in a fixed pseudo-random order. */
static double random_get_us(cmap_handle_t h, uint32_t keys, unsigned seed)
{
	char key[CMAP_KEYNAME_MAXLEN + 1];
	uint32_t value;
	double start;

	srand(seed);
	start = now_us();
	for (int i = 0; i < GETS_PER_RUN; i++) {
		snprintf(key, sizeof(key), "bench.many.%07u", (uint32_t)rand() % keys);
		check(cmap_get_uint32(h, key, &value), "cmap_get_uint32 (many)");
	}
	return (now_us() - start) / GETS_PER_RUN;
}

/* The same gets with a thousand keys and then a million in the map, and
 * what the daemon's memory grew by for each key added. */
static void measure_map_sizes(cmap_handle_t h, int runs, pid_t daemon)
{
	double values[MAX_RUNS], per_key;
	long before;

	fill(h, "bench.many.%07u", 0, SMALL_MAP);
	for (int i = 0; i < runs; i++)
		values[i] = random_get_us(h, SMALL_MAP, (unsigned)i + 1);
	report("cmap_get_with_1000_keys", "us", values, runs);
	before = rss_kib(daemon);
	fill(h, "bench.many.%07u", SMALL_MAP, LARGE_MAP);
	per_key = (double)(rss_kib(daemon) - before) * 1024.0 / (LARGE_MAP - SMALL_MAP);
	for (int i = 0; i < runs; i++)
		values[i] = random_get_us(h, LARGE_MAP, (unsigned)i + 1);
	report("cmap_get_with_1000000_keys", "us", values, runs);
	report("daemon_memory_per_key", "bytes", &per_key, 1);
}

static int run_latency(int runs, pid_t daemon)
{
	double values[MAX_RUNS];
	cmap_handle_t h, tracker;
	cmap_track_handle_t track;
	int fd;

	if (runs < 1 || runs > MAX_RUNS)
		runs = 5;
	check(cmap_initialize(&h), "cmap_initialize");
	check(cmap_initialize(&tracker), "cmap_initialize (tracker)");
	check(cmap_fd_get(tracker, &fd), "cmap_fd_get");
	check(cmap_set_uint32(h, "bench.get", 1), "cmap_set_uint32");
	for (int i = 0; i < runs; i++)
		values[i] = get_us(h);
	report("cmap_get_round_trip", "us", values, runs);
	for (int i = 0; i < runs; i++)
		values[i] = set_us(h);
	report("cmap_set_round_trip", "us", values, runs);
	check(cmap_track_add(tracker, "bench.track", CMAP_TRACK_ADD | CMAP_TRACK_MODIFY, on_notify, NULL, &track),
	      "cmap_track_add");
	for (int i = 0; i < runs; i++)
		values[i] = notify_us(h, tracker, fd);
	report("cmap_set_to_track_callback", "us", values, runs);
	fill(h, "bench.iter.%05u", 0, ITERATION_KEYS);
	for (int i = 0; i < runs; i++)
		values[i] = iterate_ms(h);
	report("cmap_iterate_10000_keys", "ms", values, runs);
	measure_map_sizes(h, runs, daemon);
	cmap_finalize(tracker);
	cmap_finalize(h);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "latency") == 0)
		return run_latency(atoi(argv[2]), (pid_t)atoi(argv[3]));
	fprintf(stderr, "usage: %s latency RUNS DAEMON_PID\n", argv[0]);
	return 2;
}
