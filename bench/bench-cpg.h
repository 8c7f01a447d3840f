/* cpg's table for the group-messaging figures of bench-group.h, shared by
 * cpg-bench and paced-bench. Header-only, like bench-util.h. */
#ifndef CONCLAVE_BENCH_CPG_H
#define CONCLAVE_BENCH_CPG_H

#include <stdint.h>
#include <string.h>

#include <corosync/corotypes.h>
#include <corosync/cpg.h>

#include "bench-group.h"

static size_t bench_cpg_members_seen;

static inline void bench_cpg_on_deliver(cpg_handle_t handle, const struct cpg_name *group, uint32_t nodeid,
					uint32_t pid, void *msg, size_t msg_len)
{
	bench_delivered++;
}

static inline void bench_cpg_on_confchg(cpg_handle_t handle, const struct cpg_name *group,
					const struct cpg_address *members, size_t n_members,
					const struct cpg_address *left, size_t n_left,
					const struct cpg_address *joined, size_t n_joined)
{
	bench_cpg_members_seen = n_members;
}

static cpg_callbacks_t bench_cpg_callbacks = {
	.cpg_deliver_fn = bench_cpg_on_deliver,
	.cpg_confchg_fn = bench_cpg_on_confchg,
};

static inline struct cpg_name bench_cpg_name(const char *text)
{
	struct cpg_name name = { .length = (uint32_t)strlen(text) };

	memcpy(name.value, text, name.length);
	return name;
}

static inline uint64_t bench_cpg_join(const char *group)
{
	struct cpg_name name = bench_cpg_name(group);
	cpg_handle_t h;

	bench_cpg_members_seen = 0;
	check(cpg_initialize(&h, &bench_cpg_callbacks), "cpg_initialize");
	check(cpg_join(h, &name), "cpg_join");
	return h;
}

static inline void bench_cpg_dispatch_one(uint64_t h)
{
	check(cpg_dispatch(h, CS_DISPATCH_ONE), "cpg_dispatch");
}

static inline void bench_cpg_send(uint64_t h, const struct iovec *iov)
{
	cs_error_t err;

	while ((err = cpg_mcast_joined(h, CPG_TYPE_AGREED, iov, 1)) == CS_ERR_TRY_AGAIN)
		check(cpg_dispatch(h, CS_DISPATCH_ALL), "cpg_dispatch");
	check(err, "cpg_mcast_joined");
}

static inline void bench_cpg_wait_for_members(uint64_t h, int members)
{
	while (bench_cpg_members_seen < (size_t)members)
		bench_cpg_dispatch_one(h);
}

static inline void bench_cpg_finalize(uint64_t h)
{
	cpg_finalize(h);
}

static const struct bench_group_api bench_cpg_api = {
	.prefix = "cpg",
	.largest_message = 1048576,
	.join = bench_cpg_join,
	.send = bench_cpg_send,
	.dispatch_one = bench_cpg_dispatch_one,
	.wait_for_members = bench_cpg_wait_for_members,
	.finalize = bench_cpg_finalize,
};

#endif
