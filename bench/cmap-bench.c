/* cmap figures, written against corosync's public cmap API only so that the
 * same source builds against corosync's libcmap and against Conclave's.
 * bench/run builds it twice and runs each build against its own daemon in
 * one session.
 *
 *   cmap-bench latency RUNS DAEMON_PID
 *
 * Round trips of cmap_get and cmap_set, the time from a cmap_set on one
 * connection to the track callback on another, the same set and callback with
 * 10 000 tracks that do not match it (a change should cost what the tracks that
 * match it cost, not what all tracks cost), a full iteration over 10 000 keys,
 * and cmap_get and cmap_set with 1 000 and then 1 000 000 keys in the map (to
 * show whether they stay flat), plus the daemon's memory per key at a million.
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
#define OTHER_TRACKS 10000
#define TRACKS_PER_CONNECTION 1000	/* within conclaved's default cmap_max_tracks */
#define TRACKER_CONNECTIONS (OTHER_TRACKS / TRACKS_PER_CONNECTION)

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

static void measure_other_tracks(cmap_handle_t h, cmap_handle_t tracker, int fd, int runs)
{
	cmap_handle_t others[TRACKER_CONNECTIONS];
	double values[MAX_RUNS];

	for (int i = 0; i < runs; i++)
		values[i] = set_us(h);
	report("cmap_set_with_0_other_tracks", "us", values, runs);
	add_other_tracks(others);
	for (int i = 0; i < runs; i++)
		values[i] = set_us(h);
	report("cmap_set_with_10000_other_tracks", "us", values, runs);
	for (int i = 0; i < runs; i++)
		values[i] = notify_us(h, tracker, fd);
	report("cmap_set_to_track_callback_with_10000_other_tracks", "us", values, runs);
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

/* Sets of keys spread over the whole map; each run stores values no earlier
 * run stored, so every set is a real change. */
static double random_set_us(cmap_handle_t h, uint32_t keys, unsigned seed)
{
	char key[CMAP_KEYNAME_MAXLEN + 1];
	double start;

	srand(seed);
	start = now_us();
	for (int i = 0; i < GETS_PER_RUN; i++) {
		snprintf(key, sizeof(key), "bench.many.%07u", (uint32_t)rand() % keys);
		check(cmap_set_uint32(h, key, LARGE_MAP + seed * GETS_PER_RUN + (uint32_t)i),
		      "cmap_set_uint32 (many)");
	}
	return (now_us() - start) / GETS_PER_RUN;
}

static void report_random_ops(cmap_handle_t h, uint32_t keys, int runs, const char *get_name,
			      const char *set_name)
{
	double values[MAX_RUNS];

	for (int i = 0; i < runs; i++)
		values[i] = random_get_us(h, keys, (unsigned)i + 1);
	report(get_name, "us", values, runs);
	for (int i = 0; i < runs; i++)
		values[i] = random_set_us(h, keys, (unsigned)i + 1);
	report(set_name, "us", values, runs);
}

/* The same gets and sets with a thousand keys and then a million in the map,
 * and what the daemon's memory grew by for each key added. */
static void measure_map_sizes(cmap_handle_t h, int runs, pid_t daemon)
{
	double per_key;
	long before;

	fill(h, "bench.many.%07u", 0, SMALL_MAP);
	report_random_ops(h, SMALL_MAP, runs, "cmap_get_with_1000_keys", "cmap_set_with_1000_keys");
	before = rss_kib(daemon);
	fill(h, "bench.many.%07u", SMALL_MAP, LARGE_MAP);
	per_key = (double)(rss_kib(daemon) - before) * 1024.0 / (LARGE_MAP - SMALL_MAP);
	report_random_ops(h, LARGE_MAP, runs, "cmap_get_with_1000000_keys", "cmap_set_with_1000000_keys");
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
	measure_other_tracks(h, tracker, fd, runs);
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
