/* The group-messaging figures that cpg-bench and evs-bench share, over a
 * small table of the API's calls: a message's round trip to its own sender,
 * and the time per message of a stream to a group of 1 and of 8 members
 * (one sender, every member receiving every message), each with the CPU the
 * daemon and the client processes spent per message. Header-only, like
 * bench-util.h, for bench/run's plain cc builds against corosync. */
#ifndef CONCLAVE_BENCH_GROUP_H
#define CONCLAVE_BENCH_GROUP_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench-util.h"

#define BENCH_MEMBERS 8

struct bench_group_api {
	const char *prefix; /* of the figure names: "cpg", "evs" */
	size_t largest_message;
	/* A new handle, joined to `group`. */
	uint64_t (*join)(const char *group);
	/* Sends one message, dispatching while the daemon says TRY_AGAIN. */
	void (*send)(uint64_t handle, const struct iovec *iov);
	void (*dispatch_one)(uint64_t handle);
	/* Dispatches until the handle has seen `members` members; NULL when
	 * the API reports no group membership. */
	void (*wait_for_members)(uint64_t handle, int members);
	void (*finalize)(uint64_t handle);
};

/* Counted by the program's deliver callback. */
static unsigned long bench_delivered;

static inline void bench_dispatch_until_delivered(const struct bench_group_api *api, uint64_t h,
						  unsigned long n)
{
	while (bench_delivered < n)
		api->dispatch_one(h);
}

/* Sends one message and dispatches until it has come back. */
static inline void bench_round_trip_once(const struct bench_group_api *api, uint64_t h,
					 const struct iovec *iov)
{
	unsigned long back = bench_delivered + 1;

	api->send(h, iov);
	bench_dispatch_until_delivered(api, h, back);
}

static inline struct bench_run bench_round_trip(void *context)
{
	enum { N = 2000 };
	const struct bench_group_api *api = context;
	char payload[64] = { 0 };
	struct iovec iov = { payload, sizeof(payload) };
	uint64_t h = api->join("bench-rtt");
	struct bench_meter meter;
	struct bench_run run;

	meter = bench_meter_start();
	for (int i = 0; i < N; i++)
		bench_round_trip_once(api, h, &iov);
	run = bench_meter_stop(&meter, N);
	api->finalize(h);
	return run;
}

/* A member that receives n messages, then writes one byte. */
static inline pid_t bench_receiver_start(const struct bench_group_api *api, const char *group,
					 unsigned long n, int done)
{
	pid_t pid = fork();
	uint64_t h;

	if (pid != 0)
		return pid;
	bench_delivered = 0;
	h = api->join(group);
	if (write(done, "j", 1) != 1)
		_exit(1);
	bench_dispatch_until_delivered(api, h, n);
	_exit(write(done, "d", 1) == 1 ? 0 : 1);
}

static inline void bench_read_byte(int fd)
{
	char byte;

	if (read(fd, &byte, 1) != 1)
		exit(1);
}

static const struct bench_stream_shape {
	const char *shape;
	size_t size;
	int members;
	unsigned long n;
} bench_streams[] = {
	{ "64B_1_member", 64, 1, 100000 },
	{ "1KiB_1_member", 1024, 1, 50000 },
	{ "64KiB_1_member", 65536, 1, 5000 },
	{ "1MiB_1_member", 1048576, 1, 200 },
	{ "64B_8_members", 64, BENCH_MEMBERS, 50000 },
	{ "1KiB_8_members", 1024, BENCH_MEMBERS, 20000 },
	{ "64KiB_8_members", 65536, BENCH_MEMBERS, 1000 },
	{ "1MiB_8_members", 1048576, BENCH_MEMBERS, 50 },
};

struct bench_stream {
	const struct bench_group_api *api;
	const struct bench_stream_shape *shape;
};

/* The time per message from the first send until every member has every
 * message; the client CPU is that of every member, reaped before it is read. */
static inline struct bench_run bench_stream(void *context)
{
	const struct bench_group_api *api = ((struct bench_stream *)context)->api;
	const struct bench_stream_shape *shape = ((struct bench_stream *)context)->shape;
	char *payload = calloc(1, shape->size);
	struct iovec iov = { payload, shape->size };
	pid_t pids[BENCH_MEMBERS];
	struct bench_meter meter;
	struct bench_run run;
	int done[2];
	uint64_t h;

	if (payload == NULL || pipe(done) < 0)
		exit(1);
	for (int i = 1; i < shape->members; i++)
		pids[i] = bench_receiver_start(api, "bench-stream", shape->n, done[1]);
	for (int i = 1; i < shape->members; i++)
		bench_read_byte(done[0]);
	bench_delivered = 0;
	h = api->join("bench-stream");
	if (api->wait_for_members != NULL)
		api->wait_for_members(h, shape->members);
	meter = bench_meter_start();
	for (unsigned long i = 0; i < shape->n; i++)
		api->send(h, &iov);
	bench_dispatch_until_delivered(api, h, shape->n);
	for (int i = 1; i < shape->members; i++)
		bench_read_byte(done[0]);
	bench_meter_end_interval(&meter);
	for (int i = 1; i < shape->members; i++)
		waitpid(pids[i], NULL, 0);
	run = bench_meter_stop(&meter, (double)shape->n);
	api->finalize(h);
	close(done[0]);
	close(done[1]);
	free(payload);
	return run;
}

/* Reports the round trip and every stream up to the API's largest message,
 * of the figures wanted. */
static inline void bench_group_figures(const struct bench_group_api *api)
{
	char name[64];

	snprintf(name, sizeof(name), "%s_mcast_round_trip", api->prefix);
	bench_figure("round_trips", name, "us", bench_round_trip, (void *)api);
	for (size_t s = 0; s < sizeof(bench_streams) / sizeof(bench_streams[0]); s++) {
		struct bench_stream stream = { api, &bench_streams[s] };

		if (bench_streams[s].size > api->largest_message)
			continue;
		snprintf(name, sizeof(name), "%s_stream_%s", api->prefix, bench_streams[s].shape);
		bench_figure("streams", name, "us", bench_stream, &stream);
	}
}

#endif
