/* The corosync engine: the transport under conclaved's ordering seam in
 * cluster mode. Every node's engine joins one corosync cpg group (model V1,
 * CPG_TYPE_AGREED); what one submits is delivered to every node's engine,
 * its own included, in one total order, and configuration changes arrive in
 * the same ordered stream. It depends on nothing of the daemon: the daemon
 * polls cv_engine_fd() and calls cv_engine_process() when it is readable or
 * cv_engine_timeout() has passed, cv_engine_flush() when its loop goes idle,
 * and gets deliveries and configurations through callbacks. doc/cluster.md
 * tells the same story with the daemon's side of it.
 *
 * Protocol
 * --------
 * One corosync message is one packet (cv-engine-wire.h): a 48-byte header
 * (magic "CVE1", version, type, the sender's incarnation, packet number,
 * sequence number, count, body length, bytes sent) and a body. Types:
 *   BATCH     whole messages seq..seq+count-1, each a u32 length and bytes:
 *             many small submissions travel as one corosync message, closed
 *             when batch_bytes is reached or when the loop goes idle.
 *   FRAGMENT  u64 total, u64 offset, a slice of message seq: a message
 *             larger than a packet (up to max_message, 64 MiB) is sent in
 *             slices of packet_max; receivers reassemble per sender, which
 *             corosync's per-sender FIFO order makes a single buffer, and
 *             deliver it at its last slice, the same place at every node.
 *   SYNC      a member's state for a configuration's sync round (below).
 *   ACK       per origin, the last seq this node delivered.
 *   PROBE     empty; sent when own packets are outstanding and none came
 *             back for probe_ms, to bring a dropped last packet to light.
 *
 * Every engine draws a random 64-bit incarnation at creation and numbers
 * its messages from 1 (seq) and its packets from 1 (packet). A receiver
 * keeps per sender (nodeid, pid) the last seq it delivered: it delivers
 * seq == last + 1 only, drops seq <= last as a duplicate and seq > last + 1
 * as out of order. All nodes see the same packets in the same order and
 * apply the same rule, so they drop and deliver the same ones.
 *
 * No loss, no duplicate. corosync 3.1.7 drops an asynchronous cpg message
 * when its totem queue has no room or a sync is in progress (exec/ipc_glue.c
 * logs "cs_ipcs_msg_process() ... !" and frees it). A sender sees its own
 * packets come back in order; a gap in its own packet numbers means corosync
 * dropped some, and the sender rewinds to the first message it has not had
 * back and sends again from there (receivers dropped what followed the gap
 * as out of order). Own bytes handed to corosync and not yet back are kept
 * under inflight_max (about a quarter of corosync's 4 MiB totem queue) so
 * that drops stay rare. A message is kept after delivery until it is stable,
 * i.e. every current member acknowledged it (ACK) or joined after it; when
 * the local corosync goes away (killed, restarted), everything not stable
 * is sent again once the members of that time are back (a message
 * delivered here may not have left this node before corosync died), even
 * if corosync first forms a ring alone. Receivers drop the duplicates. A
 * member that does not come back within owed_ms, or comes back as another
 * process, is no longer waited for.
 *
 * Configurations and sync. A configuration change is a change of the
 * engine group's members (corosync cpg confchg) or of corosync's ring (totem
 * confchg). At each one every member sends a SYNC packet with the state the
 * layer above gives (collect_state, e.g. cpg's local joins, as corosync's
 * exec/cpg.c sends its joinlist in cpg_sync_process) and the first seq it
 * will send next; a SYNC counts only for the configuration it names (hash
 * of ring id and member list). When every member's SYNC is in, the round
 * settles: the view callback gets the configuration, who joined and left
 * since the last settled one, and every member's state (as cpg_sync_activate
 * computes its confchgs from the joinlists). No member sends messages while
 * a round is open, and messages sent before it that arrive during it are
 * held and delivered right after it settles, so every node delivers the
 * same messages in the same configuration. A change during an open round
 * delivers what was held and starts a new round.
 *
 * While corosync is unreachable the engine reports a configuration of this
 * node alone (the others left, reason NODEDOWN), keeps accepting messages
 * within max_held bytes and retries the connection (reconnect_min_ms
 * doubling up to reconnect_max_ms, reconnect_attempts times, 0 meaning
 * forever), with a log line when it fails, every tenth attempt after, and
 * when it is back.
 */
#ifndef CONCLAVE_CV_ENGINE_H
#define CONCLAVE_CV_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct cv_engine;

struct cv_engine_config {
	const char *group;           /* the corosync cpg group, default "conclaved" */
	size_t max_message;          /* largest message, default 64 MiB */
	size_t max_held;             /* own bytes queued, in flight or not yet stable, default 192 MiB */
	size_t batch_bytes;          /* a batch is sent once this full, default 64 KiB */
	size_t packet_max;           /* largest corosync message, default 256 KiB (corosync: 1 MiB - 1 KiB) */
	size_t inflight_max;         /* own bytes with corosync not yet back, default 1 MiB */
	int ack_delay_ms;            /* acknowledge deliveries this long after the first, default 20 */
	size_t ack_bytes;            /* ...or once this many bytes were delivered, default 1 MiB */
	int probe_ms;                /* see PROBE, default 500 */
	int owed_ms;                 /* how long members from before a corosync loss are waited for, 60000 */
	int reconnect_min_ms;        /* default 100 */
	int reconnect_max_ms;        /* default 5000 */
	unsigned reconnect_attempts; /* then give up (the failed callback); 0: never */
};

enum cv_engine_reason { /* why a member left: corosync's cpg reasons */
			CV_ENGINE_JOIN = 1,
			CV_ENGINE_LEAVE = 2,
			CV_ENGINE_NODEDOWN = 3,
			CV_ENGINE_NODEUP = 4,
			CV_ENGINE_PROCDOWN = 5,
};

struct cv_engine_member {
	uint32_t nodeid;
	uint32_t pid;      /* of that node's conclaved */
	uint32_t reason;   /* in left[]: enum cv_engine_reason */
	const void *state; /* in members[]: its SYNC state */
	size_t state_length;
};

struct cv_engine_view {
	uint32_t ring_nodeid; /* corosync's ring id */
	uint64_t ring_seq;
	const uint32_t *ring_nodes; /* corosync's ring members */
	size_t n_ring_nodes;
	const struct cv_engine_member *members, *joined, *left;
	size_t n_members, n_joined, n_left;
	bool connected; /* false: corosync is unreachable, this node alone */
};

struct cv_engine_callbacks {
	/* A message, in the total order. data is valid during the call. */
	void (*deliver)(void *ctx, uint32_t nodeid, uint32_t pid, const void *data, size_t length);
	/* A settled configuration (see above); pointers valid during the call. */
	void (*view)(void *ctx, const struct cv_engine_view *view);
	/* This node's state for a sync round: up to cap bytes into buf; returns
	 * the length, or -1 (the round then goes on with an empty state). NULL:
	 * always empty. */
	ssize_t (*collect_state)(void *ctx, void *buf, size_t cap);
	/* cv_engine_submit has room again after refusing. */
	void (*room)(void *ctx);
	/* A line for the log; level is syslog's. */
	void (*log)(void *ctx, int level, const char *text);
	/* The engine gave up: corosync refused (not corosync, or
	 * reconnect_attempts exhausted). cv_engine_fd() is -1 from now on. */
	void (*failed)(void *ctx, const char *why);
};

/* Fills in the defaults. */
void cv_engine_config_default(struct cv_engine_config *config);

/* A new engine (not yet connected: the first cv_engine_process() connects).
 * NULL with errno EINVAL when the configuration is inconsistent, ENOMEM. */
struct cv_engine *cv_engine_new(const struct cv_engine_config *config,
				const struct cv_engine_callbacks *callbacks, void *ctx);
void cv_engine_free(struct cv_engine *e);

/* The fd to poll for reading, -1 while not connected. It changes across
 * reconnections: ask again after each cv_engine_process(). */
int cv_engine_fd(const struct cv_engine *e);
/* Milliseconds until cv_engine_process() wants to run, -1 for never. */
int cv_engine_timeout(const struct cv_engine *e);
/* Reads what corosync delivered, sends what may be sent, reconnects when due. */
void cv_engine_process(struct cv_engine *e);
/* The loop goes idle: sends a batch that is not full yet. */
void cv_engine_flush(struct cv_engine *e);

/* Queues a message for the total order: 0; -EAGAIN when max_held has no
 * room for it now (the room callback tells when it has); -EMSGSIZE when it
 * is larger than max_message; -ENOMEM; -EIO after the engine failed. An accepted
 * message is delivered exactly once at every node that stays a member. */
int cv_engine_submit(struct cv_engine *e, const void *data, size_t length);

struct cv_engine_stats {
	uint32_t nodeid; /* this node's, 0 before the first connection */
	bool connected, settled;
	uint64_t submitted, delivered; /* messages */
	uint64_t packets_sent, rewinds, try_again, dropped_malformed, dropped_out_of_order, duplicates;
	size_t held_bytes, inflight_bytes;
};
void cv_engine_stats(const struct cv_engine *e, struct cv_engine_stats *stats);

#endif
