/* The engine's state, shared by its three parts: cv-engine.c (corosync
 * connection, configurations and sync rounds), cv-engine-send.c (own
 * messages from submission until stable) and cv-engine-receive.c (what
 * peers sent: order, duplicates, reassembly, acknowledgements).
 */
#ifndef CONCLAVE_CV_ENGINE_PRIVATE_H
#define CONCLAVE_CV_ENGINE_PRIVATE_H

#include <corosync/corotypes.h>
#include <corosync/cpg.h>

#include "cv-engine-wire.h"
#include "cv-engine.h"

/* Own messages from submission until every member has them: a batch of
 * small ones (its body, length-prefixed) or one large message sent in
 * fragments. Never changed once sent, so a resend sends the same bytes. */
struct cv_out {
	struct cv_out *next;
	uint64_t seq;   /* of its first message */
	uint32_t count; /* messages in it */
	bool large;     /* one message, sent as FRAGMENTs */
	bool closed;    /* a batch takes no more messages */
	size_t length, capacity;
	uint8_t *data;
};

/* What this node knows of one sender (a node's conclaved: nodeid and pid),
 * this node included. */
struct cv_origin {
	uint32_t nodeid, pid;
	uint64_t incarnation;
	bool known;    /* a settled round gave where its messages start */
	uint64_t last; /* the last of its seqs delivered here */
	/* reassembly of its fragmented message frag_seq */
	uint64_t frag_seq;
	size_t frag_total, frag_have, frag_capacity;
	uint8_t *frag;
	/* as a member: its acknowledgement of our messages */
	uint64_t acked; /* our highest seq it delivered */
	uint64_t floor; /* it needs none of ours up to this one (it joined after) */
	bool owed;      /* a member when our corosync went away: owed what is not stable */
	/* the open sync round */
	bool member, synced;
	uint64_t sync_start;
	uint8_t *state;
	size_t state_length;
	uint32_t left_reason; /* why it left since the last settled configuration, 0 if it did not */
};

/* A data packet that arrived during an open sync round, delivered once the
 * round settles. */
struct cv_held {
	struct cv_held *next;
	uint32_t nodeid, pid;
	size_t length;
	uint8_t bytes[];
};

struct cv_member_id {
	uint32_t nodeid, pid;
};

enum cv_engine_state { CV_DISCONNECTED, CV_CONNECTED, CV_FAILED };

struct cv_engine {
	struct cv_engine_config config;
	struct cv_engine_callbacks cb;
	void *ctx;
	char group[CPG_MAX_NAME_LENGTH];

	enum cv_engine_state state;
	cpg_handle_t handle;
	bool have_handle, in_dispatch;
	bool more_to_read; /* cv_engine_process() left events unread */
	int fd;
	uint32_t nodeid, pid;
	uint64_t incarnation;

	/* own messages */
	struct cv_out *out_head, *out_tail, *cursor;
	size_t cursor_offset; /* of a large message's next fragment */
	uint64_t next_seq;
	uint64_t stable;    /* every member has our messages up to this seq */
	bool resend_all;    /* an owed member is back: resend everything not stable */
	int64_t owed_until; /* members owed our unstable messages are forgotten then */
	uint64_t packet_sent, packet_back;
	uint64_t sent_bytes;
	size_t inflight, held_bytes;
	bool refused;          /* a submission was refused for want of room */
	bool flush_requested;  /* the open batch goes as soon as there is room */
	int64_t retry_send_at; /* after CS_ERR_TRY_AGAIN */
	int64_t back_at;       /* when an own packet last came back (or the first went out) */

	/* senders */
	struct cv_origin *origins;
	size_t n_origins, origins_capacity;
	bool ack_due;
	int64_t ack_first_at;
	size_t ack_pending_bytes;

	/* configurations */
	struct cv_member_id *members; /* corosync's group members now */
	size_t n_members;
	struct cv_member_id *settled; /* at the last settled configuration */
	size_t n_settled;
	uint32_t ring_nodeid;
	uint64_t ring_seq;
	uint32_t *ring_nodes;
	size_t n_ring_nodes;
	bool round_open, sync_pending, own_sync_back;
	uint64_t round_hash, own_sync_packet, own_sync_start;
	int64_t round_started_at;
	bool round_warned;
	struct cv_held *held_head, *held_tail;

	/* reconnection */
	int64_t reconnect_at;
	int reconnect_delay;
	unsigned attempts;
	bool ever_connected;

	struct cv_engine_stats stats;
};

/* cv-engine.c */
int64_t cv_engine_now(void);
void cv_engine_log(struct cv_engine *e, int level, const char *format, ...)
	__attribute__((format(printf, 3, 4)));
void cv_engine_disconnect(struct cv_engine *e, const char *why);
/* Hands one packet to corosync: CS_OK, CS_ERR_TRY_AGAIN, or another error
 * (the engine has then disconnected). */
cs_error_t cv_engine_mcast(struct cv_engine *e, struct cv_wire_header *h, const struct iovec *body,
			   int n_body);
bool cv_engine_is_member(const struct cv_engine *e, uint32_t nodeid, uint32_t pid);

/* cv-engine-send.c */
void cv_send_pending(struct cv_engine *e, bool flush);
void cv_send_own_packet_back(struct cv_engine *e, const struct cv_wire_packet *p);
void cv_send_rewind(struct cv_engine *e);
uint64_t cv_send_start_seq(const struct cv_engine *e);
void cv_send_update_stable(struct cv_engine *e);
void cv_send_free_all(struct cv_engine *e);

/* cv-engine-receive.c */
struct cv_origin *cv_origin_find(struct cv_engine *e, uint32_t nodeid, uint32_t pid);
struct cv_origin *cv_origin_get(struct cv_engine *e, uint32_t nodeid, uint32_t pid, uint64_t incarnation);
void cv_origin_reset(struct cv_origin *o, uint64_t incarnation);
void cv_receive_data(struct cv_engine *e, uint32_t nodeid, uint32_t pid, const struct cv_wire_packet *p);
void cv_receive_ack(struct cv_engine *e, uint32_t nodeid, uint32_t pid, const struct cv_wire_packet *p);
void cv_receive_send_ack(struct cv_engine *e, bool force);
void cv_receive_free_all(struct cv_engine *e);

#endif
