/* cmap figures, written against corosync's public cmap API only so that the
 * same source builds against corosync's libcmap and against Conclave's.
 * bench/run builds it twice and runs each build against its own daemon in
 * one session.
 *
 *   cmap-bench latency RUNS DAEMON_PID [FILTER]
 *
 * Round trips of cmap_get and cmap_set, the time from a cmap_set on one
 * connection to the track callback on another, the same set and callback with
 * 10 000 tracks that do not match it (a change should cost what the tracks that
 * match it cost, not what all tracks cost), a full iteration over 10 000 keys,
 * and cmap_get and cmap_set with 1 000 and then 1 000 000 keys in the map (to
 * show whether they stay flat), plus the daemon's memory per key at a million.
 * The keys are left behind: bench/run restarts the daemons afterwards.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <corosync/cmap.h>
#include <corosync/corotypes.h>

#include "bench-util.h"

#define ROUND_TRIPS 20000
#define NOTIFY_ROUNDS 5000
#define ITERATION_KEYS 10000
#define SMALL_MAP 1000
#define LARGE_MAP 1000000
#define GETS_PER_RUN 20000
#define OTHER_TRACKS 10000
#define TRACKS_PER_CONNECTION 1000 /* within conclaved's default cmap_max_tracks */
#define TRACKER_CONNECTIONS (OTHER_TRACKS / TRACKS_PER_CONNECTION)

/* What the measurements work on. */
struct cmap_bench {
	cmap_handle_t h;
	cmap_handle_t tracker; /* tracks "bench.track" */
	int tracker_fd;
	uint32_t keys; /* "bench.many." keys in the map */
	unsigned seed; /* of the next run of random gets or sets */
};

/* ---- round trips ------------------------------------------------------- */

static struct bench_run get(void *context)
{
	struct cmap_bench *b = context;
	struct bench_meter meter = bench_meter_start();
	uint32_t value;

	for (int i = 0; i < ROUND_TRIPS; i++)
		check(cmap_get_uint32(b->h, "bench.get", &value), "cmap_get_uint32");
	return bench_meter_stop(&meter, ROUND_TRIPS);
}

/* Each set changes the value, so the daemon really stores it. */
static struct bench_run set(void *context)
{
	struct cmap_bench *b = context;
	struct bench_meter meter = bench_meter_start();

	for (uint32_t i = 0; i < ROUND_TRIPS; i++)
		check(cmap_set_uint32(b->h, "bench.set", i), "cmap_set_uint32");
	return bench_meter_stop(&meter, ROUND_TRIPS);
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

/* The time is from each set to its callback; the CPU, that of the whole
 * run. */
static struct bench_run notify(void *context)
{
	struct cmap_bench *b = context;
	struct bench_meter meter = bench_meter_start();
	struct bench_run run;
	double total = 0;

	for (uint32_t i = 1; i <= NOTIFY_ROUNDS; i++) {
		double start = now_us();

		check(cmap_set_uint32(b->h, "bench.track", i), "cmap_set_uint32 (tracked)");
		wait_for_notification(b->tracker, b->tracker_fd);
		total += notified_at - start;
	}
	run = bench_meter_stop(&meter, NOTIFY_ROUNDS);
	run.time = total / NOTIFY_ROUNDS;
	return run;
}

/* ---- many tracks that do not match ------------------------------------ */

static void on_unexpected_notify(cmap_handle_t handle, cmap_track_handle_t track, int32_t event,
				 const char *key, struct cmap_notify_value new_value,
				 struct cmap_notify_value old_value, void *data)
{
	fprintf(stderr, "a non-matching track was notified of %s\n", key);
	exit(1);
}

/* Half exact keys, half prefixes, none of which the measured keys match:
 * spread over several connections so that no one connection holds more than
 * conclaved's default per-connection track limit. */
static void add_other_tracks(cmap_handle_t *others)
{
	char key[CMAP_KEYNAME_MAXLEN + 1];
	cmap_track_handle_t track;

	for (int c = 0; c < TRACKER_CONNECTIONS; c++) {
		check(cmap_initialize(&others[c]), "cmap_initialize (other tracks)");
		for (int i = 0; i < TRACKS_PER_CONNECTION; i++) {
			int n = c * TRACKS_PER_CONNECTION + i;
			int prefix = n % 2;

			snprintf(key, sizeof(key), prefix ? "bench.other.p%05d." : "bench.other.k%05d", n);
			check(cmap_track_add(others[c], key,
					     CMAP_TRACK_ADD | CMAP_TRACK_MODIFY | CMAP_TRACK_DELETE |
						     (prefix ? CMAP_TRACK_PREFIX : 0),
					     on_unexpected_notify, NULL, &track),
			      "cmap_track_add (other)");
		}
	}
}

static void measure_other_tracks(struct cmap_bench *b)
{
	cmap_handle_t others[TRACKER_CONNECTIONS];
	static const char *const needing_them[] = {
		"cmap_scale/cmap_set_with_10000_other_tracks",
		"cmap_scale/cmap_set_to_track_callback_with_10000_other_tracks",
		NULL,
	};

	bench_figure("cmap_scale", "cmap_set_with_0_other_tracks", "us", set, b);
	if (!bench_any_wanted(needing_them))
		return;
	add_other_tracks(others);
	bench_figure("cmap_scale", "cmap_set_with_10000_other_tracks", "us", set, b);
	bench_figure("cmap_scale", "cmap_set_to_track_callback_with_10000_other_tracks", "us", notify, b);
	for (int c = 0; c < TRACKER_CONNECTIONS; c++)
		check(cmap_finalize(others[c]), "cmap_finalize (other tracks)");
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

/* One whole iteration. */
static struct bench_run iterate(void *context)
{
	struct cmap_bench *b = context;
	char key[CMAP_KEYNAME_MAXLEN + 1];
	struct bench_meter meter = bench_meter_start();
	cmap_iter_handle_t it;
	size_t len, n = 0;
	cmap_value_types_t type;
	cs_error_t err;

	check(cmap_iter_init(b->h, "bench.iter.", &it), "cmap_iter_init");
	while ((err = cmap_iter_next(b->h, it, key, &len, &type)) == CS_OK)
		n++;
	if (err != CS_ERR_NO_SECTIONS || n != ITERATION_KEYS) {
		fprintf(stderr, "iteration saw %zu keys (%s)\n", n, cs_strerror(err));
		exit(1);
	}
	check(cmap_iter_finalize(b->h, it), "cmap_iter_finalize");
	return bench_meter_stop(&meter, 1);
}

/* Gets of keys spread over the whole map, in a fixed pseudo-random order
 * that differs from run to run. */
static struct bench_run random_get(void *context)
{
	struct cmap_bench *b = context;
	char key[CMAP_KEYNAME_MAXLEN + 1];
	struct bench_meter meter;
	uint32_t value;

	srand(++b->seed);
	meter = bench_meter_start();
	for (int i = 0; i < GETS_PER_RUN; i++) {
		snprintf(key, sizeof(key), "bench.many.%07u", (uint32_t)rand() % b->keys);
		check(cmap_get_uint32(b->h, key, &value), "cmap_get_uint32 (many)");
	}
	return bench_meter_stop(&meter, GETS_PER_RUN);
}

/* Sets of keys spread over the whole map; each run stores values no earlier
 * run stored, so every set is a real change. */
static struct bench_run random_set(void *context)
{
	struct cmap_bench *b = context;
	char key[CMAP_KEYNAME_MAXLEN + 1];
	struct bench_meter meter;

	srand(++b->seed);
	meter = bench_meter_start();
	for (int i = 0; i < GETS_PER_RUN; i++) {
		snprintf(key, sizeof(key), "bench.many.%07u", (uint32_t)rand() % b->keys);
		check(cmap_set_uint32(b->h, key, LARGE_MAP + b->seed * GETS_PER_RUN + (uint32_t)i),
		      "cmap_set_uint32 (many)");
	}
	return bench_meter_stop(&meter, GETS_PER_RUN);
}

static void report_random_ops(struct cmap_bench *b, uint32_t keys, const char *get_name, const char *set_name)
{
	b->keys = keys;
	bench_figure("cmap_scale", get_name, "us", random_get, b);
	bench_figure("cmap_scale", set_name, "us", random_set, b);
}

/* The same gets and sets with a thousand keys and then a million in the map,
 * and what the daemon's memory grew by for each key added. */
static void measure_map_sizes(struct cmap_bench *b)
{
	static const char *const needing_the_keys[] = {
		"cmap_scale/cmap_get_with_1000_keys",    "cmap_scale/cmap_set_with_1000_keys",
		"cmap_scale/cmap_get_with_1000000_keys", "cmap_scale/cmap_set_with_1000000_keys",
		"memory/daemon_memory_per_key",          NULL,
	};
	double per_key;
	long before;

	if (!bench_any_wanted(needing_the_keys))
		return;
	fill(b->h, "bench.many.%07u", 0, SMALL_MAP);
	report_random_ops(b, SMALL_MAP, "cmap_get_with_1000_keys", "cmap_set_with_1000_keys");
	before = rss_kib(bench_daemon);
	fill(b->h, "bench.many.%07u", SMALL_MAP, LARGE_MAP);
	per_key = (double)(rss_kib(bench_daemon) - before) * 1024.0 / (LARGE_MAP - SMALL_MAP);
	report_random_ops(b, LARGE_MAP, "cmap_get_with_1000000_keys", "cmap_set_with_1000000_keys");
	if (bench_wanted("memory", "daemon_memory_per_key"))
		bench_report_metric("memory", "daemon_memory_per_key", "memory", "bytes", &per_key, 1);
}

static int run_latency(void)
{
	struct cmap_bench b = { 0 };
	cmap_track_handle_t track;

	check(cmap_initialize(&b.h), "cmap_initialize");
	check(cmap_initialize(&b.tracker), "cmap_initialize (tracker)");
	check(cmap_fd_get(b.tracker, &b.tracker_fd), "cmap_fd_get");
	check(cmap_set_uint32(b.h, "bench.get", 1), "cmap_set_uint32");
	bench_figure("round_trips", "cmap_get_round_trip", "us", get, &b);
	bench_figure("round_trips", "cmap_set_round_trip", "us", set, &b);
	check(cmap_track_add(b.tracker, "bench.track", CMAP_TRACK_ADD | CMAP_TRACK_MODIFY, on_notify, NULL,
			     &track),
	      "cmap_track_add");
	bench_figure("round_trips", "cmap_set_to_track_callback", "us", notify, &b);
	measure_other_tracks(&b);
	if (bench_wanted("cmap_scale", "cmap_iterate_10000_keys")) {
		fill(b.h, "bench.iter.%05u", 0, ITERATION_KEYS);
		bench_figure("cmap_scale", "cmap_iterate_10000_keys", "us", iterate, &b);
	}
	measure_map_sizes(&b);
	cmap_finalize(b.tracker);
	cmap_finalize(b.h);
	return 0;
}

int main(int argc, char **argv)
{
	return bench_parse_args(argc, argv, "latency") == NULL ? 2 : run_latency();
}
