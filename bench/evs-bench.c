/* evs figures, beside cpg's (corosync 3 has no evs: bench/run sets them
 * against corosync's cpg figures of the same shape): a message's round trip
 * to its own sender, and the time per message of a stream of 64 B, 1 KiB
 * and 64 KiB messages to a group of 1 and of 8 members (one sender, every
 * member receiving every message), each with the daemon's and the client's
 * CPU per message, in microseconds (lower is better).
 *
 *   evs-bench latency RUNS DAEMON_PID [FILTER]
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <corosync/corotypes.h>
#include <corosync/evs.h>

#include "bench-group.h"

static void on_deliver(hdb_handle_t handle, unsigned int nodeid, const void *msg, size_t msg_len)
{
	bench_delivered++;
}

static evs_callbacks_t callbacks = { .evs_deliver_fn = on_deliver };

static uint64_t join(const char *key)
{
	struct evs_group group;
	evs_handle_t h;

	memset(&group, 0, sizeof(group));
	memcpy(group.key, key, strnlen(key, sizeof(group.key)));
	check(evs_initialize(&h, &callbacks), "evs_initialize");
	check(evs_join(h, &group, 1), "evs_join");
	return h;
}

static void dispatch_one(uint64_t h)
{
	check(evs_dispatch(h, CS_DISPATCH_ONE), "evs_dispatch");
}

static void send_one(uint64_t h, const struct iovec *iov)
{
	cs_error_t err;

	while ((err = evs_mcast_joined(h, EVS_TYPE_AGREED, iov, 1)) == CS_ERR_TRY_AGAIN)
		check(evs_dispatch(h, CS_DISPATCH_ALL), "evs_dispatch");
	check(err, "evs_mcast_joined");
}

static void finalize(uint64_t h)
{
	evs_finalize(h);
}

/* evs reports node membership, not group membership: nothing to wait for.
 * A message and its frame must fit max_message_size (1 MiB by default), so
 * the 1 MiB streams are left out. */
static const struct bench_group_api evs_api = {
	.prefix = "evs",
	.largest_message = 65536,
	.join = join,
	.send = send_one,
	.dispatch_one = dispatch_one,
	.wait_for_members = NULL,
	.finalize = finalize,
};

int main(int argc, char **argv)
{
	if (bench_parse_args(argc, argv, "latency") == NULL)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	bench_group_figures(&evs_api);
	return 0;
}
