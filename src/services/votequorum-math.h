/* Votequorum's vote counting as corosync 3.1.7 does it (exec/votequorum.c:
 * calculate_quorum, recalculate_quorum, are_we_quorate and the validation
 * of setexpected and setvotes), for one running node: the local node is the
 * only member, every other configured node is dead.
 *
 * Pure functions over a value, so a change can be computed on a copy and
 * only committed once every tracker has room for its notifications.
 */
#ifndef CONCLAVE_VOTEQUORUM_MATH_H
#define CONCLAVE_VOTEQUORUM_MATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <corosync/corotypes.h>

#include <conclave/service.h>

#include "votequorum-settings.h"

#define VQ_MAX_NODES CV_MAX_NODES
#define VQ_QDEVICE_NAME_MAX 255 /* VOTEQUORUM_QDEVICE_MAX_NAME_LEN, with the NUL */

/* The local node's quorum device flags (corosync's NODE_FLAGS_QDEVICE_*). */
enum vq_qdevice_flags {
	VQ_QDEVICE_REGISTERED = 1u << 0,
	VQ_QDEVICE_ALIVE = 1u << 1,
	VQ_QDEVICE_CAST_VOTE = 1u << 2,
	VQ_QDEVICE_MASTER_WINS = 1u << 3,
};

/* What corosync notifies trackers of, in the order it happens within one
 * change: expected votes set or raised, and quorate turning over (which
 * also notifies the quorum service's trackers). */
enum vq_event_type { VQ_EVENT_EXPECTED_VOTES, VQ_EVENT_QUORATE };

struct vq_event {
	enum vq_event_type type;
	uint32_t expected_votes; /* the local node's, then */
	bool quorate;
	bool qdevice_listed; /* the device was registered, then */
};

/* The most one change makes: a run-time configuration change recalculates
 * three times, each raising expected votes and turning quorate over, and
 * sets expected votes once. */
#define VQ_MAX_EVENTS 8

struct vq_node {
	uint32_t nodeid;
	uint32_t state; /* VOTEQUORUM_NODESTATE_* */
	uint32_t votes;
	uint32_t expected_votes;
};

struct vq_state {
	/* configuration */
	bool two_node;
	bool wait_for_all;
	bool last_man_standing;
	bool allow_downscale;
	enum cv_atb_mode auto_tie_breaker;
	const uint32_t *atb_nodes;
	size_t n_atb_nodes;
	bool qdevice_allowed;               /* corosync's qdevice_can_operate */
	bool qdevice_can_operate_published; /* a device has been configured */
	bool qdevice_master_wins_published; /* master_wins has been called */
	/* nodes, sorted by nodeid; nodes[local] is this node */
	struct vq_node nodes[VQ_MAX_NODES];
	size_t n_nodes;
	size_t local;
	/* the local quorum device */
	uint32_t qdevice_flags;
	uint32_t qdevice_votes;
	bool qdevice_master_wins;
	char qdevice_name[VQ_QDEVICE_NAME_MAX];
	/* results */
	uint32_t quorum;
	bool quorate;
	bool wait_for_all_status;
	uint32_t ev_barrier;
	int64_t lowest_node_id; /* -1 until first quorate */
	int64_t highest_node_id;
	/* what the last change notifies; the caller empties it */
	struct vq_event events[VQ_MAX_EVENTS];
	size_t n_events;
};

/* settings: the daemon's, for its node list; q: votequorum's own. */
void vq_init(struct vq_state *st, const struct cv_settings *settings, const struct vq_settings *q);

static inline struct vq_node *vq_local(struct vq_state *st)
{
	return &st->nodes[st->local];
}

/* A configured node, or NULL. nodeid 0 is the quorum device, not a node. */
const struct vq_node *vq_find_node(const struct vq_state *st, uint32_t nodeid);

/* corosync's calculate_quorum(): the quorum for these votes, and in
 * *total_votes the votes of the members plus a device that casts its vote. */
uint32_t vq_calculate_quorum(const struct vq_state *st, bool allow_decrease, uint32_t max_expected,
			     uint32_t *total_votes);

/* corosync's recalculate_quorum(): raises expected votes to the total when
 * the total exceeds them, then sets quorum and quorate; records the events
 * of both. */
void vq_recalculate(struct vq_state *st, bool allow_decrease);

/* Votes of the members plus the device's if it casts its vote. */
uint32_t vq_total_votes(const struct vq_state *st);
uint32_t vq_highest_expected(const struct vq_state *st);

/* The request semantics; CS_OK or the error, st untouched on error. */
cs_error_t vq_set_expected(struct vq_state *st, uint32_t expected_votes);
cs_error_t vq_set_votes(struct vq_state *st, uint32_t nodeid, uint32_t votes);
/* corosync's reconfigure message for expected votes: sets them on every
 * member, notifies them, and recalculates. */
void vq_reconfigure_expected(struct vq_state *st, uint32_t expected_votes);
cs_error_t vq_qdevice_register(struct vq_state *st, const char *name);
cs_error_t vq_qdevice_unregister(struct vq_state *st, const char *name);
cs_error_t vq_qdevice_update(struct vq_state *st, const char *oldname, const char *newname);
cs_error_t vq_qdevice_poll(struct vq_state *st, const char *name, bool cast_vote, bool ring_id_matches);
cs_error_t vq_qdevice_master_wins(struct vq_state *st, const char *name, bool allow);
/* The device missed its poll deadline: not alive, no vote. False when it
 * was not alive anyway. */
bool vq_qdevice_timed_out(struct vq_state *st);

/* VOTEQUORUM_INFO_* flags of node (cluster-wide bits, plus the device bits
 * for the local node). */
uint32_t vq_info_flags(const struct vq_state *st, const struct vq_node *node);

#endif
