/* evs figures, beside cpg's (corosync 3 has no evs: bench/run sets them
 * against corosync's cpg figures of the same shape): a message's round trip
 * to its own sender, and the time per message of a stream of 64 B, 1 KiB
 * and 64 KiB messages to a group of 1 and of 8 members (one sender, every
 * member receiving every message). Each figure is the median of RUNS runs,
 * in microseconds per operation (lower is better), one line per figure:
 * "name median unit runs v1 v2 ...".
 *
 *   evs-bench latency [RUNS]
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <corosync/corotypes.h>
#include <corosync/evs.h>

#include "bench-util.h"

#define MEMBERS 8

static unsigned long delivered;

static void on_deliver(hdb_handle_t handle, unsigned int nodeid, const void *msg, size_t msg_len)
{
	delivered++;
}

static evs_callbacks_t callbacks = { .evs_deliver_fn = on_deliver };

static evs_handle_t join(const char *key)
{
	struct evs_group group;
	evs_handle_t h;

	memset(&group, 0, sizeof(group));
	strncpy(group.key, key, sizeof(group.key));
	check(evs_initialize(&h, &callbacks), "evs_initialize");
	check(evs_join(h, &group, 1), "evs_join");
	return h;
}

static void dispatch_until_delivered(evs_handle_t h, unsigned long n)
{
	while (delivered < n)
		check(evs_dispatch(h, CS_DISPATCH_ONE), "evs_dispatch");
}

static void send_one(evs_handle_t h, const struct iovec *iov)
{
	cs_error_t err;

	while ((err = evs_mcast_joined(h, EVS_TYPE_AGREED, iov, 1)) == CS_ERR_TRY_AGAIN)
		check(evs_dispatch(h, CS_DISPATCH_ALL), "evs_dispatch");
	check(err, "evs_mcast_joined");
}

static double round_trip_us(void)
{
	enum { N = 2000 };
	char payload[64] = { 0 };
	struct iovec iov = { payload, sizeof(payload) };
	evs_handle_t h = join("bench-rtt");
	double start;

	delivered = 0;
	start = now_us();
	for (unsigned long i = 1; i <= N; i++) {
		send_one(h, &iov);
		dispatch_until_delivered(h, i);
	}
	start = (now_us() - start) / N;
	evs_finalize(h);
	return start;
}

/* A member that receives n messages, then writes one byte. */
static pid_t receiver_start(const char *key, unsigned long n, int done)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	delivered = 0;
	evs_handle_t h = join(key);
	if (write(done, "j", 1) != 1)
		_exit(1);
	dispatch_until_delivered(h, n);
	_exit(write(done, "d", 1) == 1 ? 0 : 1);
}

static double stream_us(size_t size, int members, unsigned long n)
{
	char *payload = calloc(1, size);
	struct iovec iov = { payload, size };
	pid_t pids[MEMBERS];
	int done[2];
	char byte;
	evs_handle_t h;
	double start;

	if (payload == NULL || pipe(done) < 0)
		exit(1);
	for (int i = 1; i < members; i++)
		pids[i] = receiver_start("bench-stream", n, done[1]);
	for (int i = 1; i < members; i++)
		if (read(done[0], &byte, 1) != 1)
			exit(1);
	delivered = 0;
	h = join("bench-stream");
	start = now_us();
	for (unsigned long i = 0; i < n; i++)
		send_one(h, &iov);
	dispatch_until_delivered(h, n);
	for (int i = 1; i < members; i++)
		if (read(done[0], &byte, 1) != 1)
			exit(1);
	start = (now_us() - start) / n;
	for (int i = 1; i < members; i++)
		waitpid(pids[i], NULL, 0);
	evs_finalize(h);
	close(done[0]);
	close(done[1]);
	free(payload);
	return start;
}

struct stream_figure {
	const char *name;
	size_t size;
	int members;
	unsigned long n;
};

static const struct stream_figure streams[] = {
	{ "evs_stream_64B_1_member", 64, 1, 100000 },
	{ "evs_stream_1KiB_1_member", 1024, 1, 50000 },
	{ "evs_stream_64KiB_1_member", 65536, 1, 5000 },
	{ "evs_stream_64B_8_members", 64, MEMBERS, 50000 },
	{ "evs_stream_1KiB_8_members", 1024, MEMBERS, 20000 },
	{ "evs_stream_64KiB_8_members", 65536, MEMBERS, 1000 },
};

int main(int argc, char **argv)
{
	int runs = argc > 2 ? atoi(argv[2]) : 5;
	double values[BENCH_MAX_RUNS];

	if (argc < 2 || strcmp(argv[1], "latency") != 0 || runs < 1 || runs > BENCH_MAX_RUNS) {
		fprintf(stderr, "usage: %s latency [RUNS]\n", argv[0]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	for (int r = 0; r < runs; r++)
		values[r] = round_trip_us();
	report("evs_mcast_round_trip", "us", values, runs);
	for (size_t s = 0; s < sizeof(streams) / sizeof(streams[0]); s++) {
		for (int r = 0; r < runs; r++)
			values[r] = stream_us(streams[s].size, streams[s].members, streams[s].n);
		report(streams[s].name, "us", values, runs);
	}
	return 0;
}
