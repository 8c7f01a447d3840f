#include <stdlib.h>
#include <string.h>

#include <corosync/votequorum.h>

#include "votequorum-math.h"

#define MAX(a, b) ((a) > (b) ? (a) : (b))

static int compare_nodeid(const void *a, const void *b)
{
	uint32_t x = ((const struct vq_node *)a)->nodeid, y = ((const struct vq_node *)b)->nodeid;

	return x < y ? -1 : x > y;
}

static void init_nodes(struct vq_state *st, const struct cv_settings *settings, const struct vq_settings *q)
{
	uint32_t local_nodeid = cv_settings_local_node(settings)->nodeid;

	st->n_nodes = settings->n_nodes;
	for (size_t i = 0; i < settings->n_nodes; i++) {
		st->nodes[i] = (struct vq_node){
			.nodeid = settings->nodes[i].nodeid,
			.state = VOTEQUORUM_NODESTATE_DEAD,
			.votes = q->node_votes[i],
			.expected_votes = q->expected_votes,
		};
	}
	qsort(st->nodes, st->n_nodes, sizeof(st->nodes[0]), compare_nodeid);
	for (size_t i = 0; i < st->n_nodes; i++)
		if (st->nodes[i].nodeid == local_nodeid)
			st->local = i;
	vq_local(st)->state = VOTEQUORUM_NODESTATE_MEMBER;
	vq_local(st)->votes = q->local_votes;
}

void vq_init(struct vq_state *st, const struct cv_settings *settings, const struct vq_settings *q)
{
	memset(st, 0, sizeof(*st));
	st->two_node = q->two_node;
	st->wait_for_all = q->wait_for_all;
	st->last_man_standing = q->last_man_standing;
	st->allow_downscale = q->allow_downscale;
	st->auto_tie_breaker = q->auto_tie_breaker;
	st->atb_nodes = q->atb_nodes;
	st->n_atb_nodes = q->n_atb_nodes;
	st->qdevice_allowed = q->device_allowed;
	st->qdevice_votes = q->device_votes;
	st->lowest_node_id = st->highest_node_id = -1;
	init_nodes(st, settings, q);
	st->ev_barrier = vq_local(st)->expected_votes;
	st->wait_for_all_status = st->wait_for_all;
	st->qdevice_can_operate_published = q->device_configured;
	vq_recalculate(st, false);
	st->n_events = 0; /* nobody is tracking yet */
}

const struct vq_node *vq_find_node(const struct vq_state *st, uint32_t nodeid)
{
	for (size_t i = 0; i < st->n_nodes; i++)
		if (st->nodes[i].nodeid == nodeid)
			return &st->nodes[i];
	return NULL;
}

static bool casts_vote(const struct vq_state *st)
{
	return (st->qdevice_flags & VQ_QDEVICE_CAST_VOTE) != 0;
}

uint32_t vq_total_votes(const struct vq_state *st)
{
	uint32_t total = 0;

	for (size_t i = 0; i < st->n_nodes; i++)
		if (st->nodes[i].state == VOTEQUORUM_NODESTATE_MEMBER)
			total += st->nodes[i].votes;
	return total + (casts_vote(st) ? st->qdevice_votes : 0);
}

uint32_t vq_highest_expected(const struct vq_state *st)
{
	uint32_t highest = 0;

	for (size_t i = 0; i < st->n_nodes; i++)
		if (st->nodes[i].state == VOTEQUORUM_NODESTATE_MEMBER)
			highest = MAX(highest, st->nodes[i].expected_votes);
	return highest;
}

static uint32_t member_count(const struct vq_state *st)
{
	uint32_t n = 0;

	for (size_t i = 0; i < st->n_nodes; i++)
		n += st->nodes[i].state == VOTEQUORUM_NODESTATE_MEMBER;
	return n + casts_vote(st);
}

uint32_t vq_calculate_quorum(const struct vq_state *st, bool allow_decrease, uint32_t max_expected,
			     uint32_t *total_votes)
{
	uint32_t highest_expected = vq_highest_expected(st);
	uint32_t total = vq_total_votes(st);
	uint32_t quorum;

	if (st->allow_downscale && allow_decrease && max_expected)
		max_expected = MAX(st->ev_barrier, max_expected);
	if (max_expected > 0)
		highest_expected = max_expected;
	/* From the OpenVMS cluster manual, as corosync says; in 64 bits, where
	 * corosync's unsigned int wraps for expected votes near UINT32_MAX. */
	quorum = (uint32_t)MAX(((uint64_t)highest_expected + 2) / 2, ((uint64_t)total + 2) / 2);
	if (!allow_decrease)
		quorum = MAX(st->quorum, quorum);
	if (st->two_node && member_count(st) <= 2)
		quorum = 1;
	if (total_votes)
		*total_votes = total;
	return quorum;
}

static void update_lowest_highest(struct vq_state *st)
{
	st->lowest_node_id = st->highest_node_id = vq_local(st)->nodeid;
	for (size_t i = 0; i < st->n_nodes; i++) {
		if (st->nodes[i].state != VOTEQUORUM_NODESTATE_MEMBER)
			continue;
		if (st->nodes[i].nodeid < st->lowest_node_id)
			st->lowest_node_id = st->nodes[i].nodeid;
		if (st->nodes[i].nodeid > st->highest_node_id)
			st->highest_node_id = st->nodes[i].nodeid;
	}
}

static bool is_member(const struct vq_state *st, int64_t nodeid)
{
	const struct vq_node *node = nodeid > 0 ? vq_find_node(st, (uint32_t)nodeid) : NULL;

	return node && node->state == VOTEQUORUM_NODESTATE_MEMBER;
}

/* The first listed tie-breaker node that is a member wins; no partition
 * existed before this one, so no earlier listed node can be elsewhere. */
static bool tie_breaker_holds(const struct vq_state *st)
{
	switch (st->auto_tie_breaker) {
	case CV_ATB_LOWEST:
		return is_member(st, st->lowest_node_id);
	case CV_ATB_HIGHEST:
		return is_member(st, st->highest_node_id);
	case CV_ATB_LIST:
		for (size_t i = 0; i < st->n_atb_nodes; i++)
			if (is_member(st, st->atb_nodes[i]))
				return true;
		return false;
	case CV_ATB_NONE:
		break;
	}
	return false;
}

static bool master_wins_holds(const struct vq_state *st)
{
	return (st->qdevice_flags & VQ_QDEVICE_MASTER_WINS) && casts_vote(st);
}

/* corosync's are_we_quorate(). */
static void decide_quorate(struct vq_state *st, uint32_t total_votes)
{
	bool quorate;

	if (st->wait_for_all && st->wait_for_all_status) {
		if (total_votes != vq_local(st)->expected_votes) {
			st->quorate = false;
			return;
		}
		st->wait_for_all_status = false;
	}
	quorate = st->quorum <= total_votes;
	if (quorate)
		update_lowest_highest(st);
	/* One member now, none before: the "other half" can hold fewer than
	 * quorum members, so the tie-breaker applies on a half split. */
	if (st->auto_tie_breaker != CV_ATB_NONE && total_votes == vq_local(st)->expected_votes / 2 &&
	    tie_breaker_holds(st))
		quorate = true;
	if (st->qdevice_master_wins && !quorate && master_wins_holds(st))
		quorate = true;
	st->quorate = quorate;
	if (st->wait_for_all)
		st->wait_for_all_status = !quorate;
}

/* The votes of every member plus a registered device's votes, whether it
 * casts them or not: corosync's get_total_votes(), which decides whether
 * expected votes must grow. */
static uint32_t votes_for_expected(const struct vq_state *st)
{
	uint32_t total = 0;

	for (size_t i = 0; i < st->n_nodes; i++)
		if (st->nodes[i].state == VOTEQUORUM_NODESTATE_MEMBER)
			total += st->nodes[i].votes;
	return total + st->qdevice_votes;
}

static void record_event(struct vq_state *st, enum vq_event_type type)
{
	if (st->n_events == VQ_MAX_EVENTS)
		return; /* no change makes that many */
	st->events[st->n_events++] = (struct vq_event){
		.type = type,
		.expected_votes = vq_local(st)->expected_votes,
		.quorate = st->quorate,
		.qdevice_listed = (st->qdevice_flags & VQ_QDEVICE_REGISTERED) != 0,
	};
}

void vq_recalculate(struct vq_state *st, bool allow_decrease)
{
	uint32_t total = votes_for_expected(st);
	bool was_quorate = st->quorate;

	if (total > vq_local(st)->expected_votes) {
		vq_local(st)->expected_votes = total;
		record_event(st, VQ_EVENT_EXPECTED_VOTES);
	}
	st->quorum = vq_calculate_quorum(st, allow_decrease, 0, &total);
	decide_quorate(st, total);
	if (st->quorate != was_quorate)
		record_event(st, VQ_EVENT_QUORATE);
}

static void set_member_expected_votes(struct vq_state *st, uint32_t expected_votes)
{
	for (size_t i = 0; i < st->n_nodes; i++)
		if (st->nodes[i].state == VOTEQUORUM_NODESTATE_MEMBER)
			st->nodes[i].expected_votes = expected_votes;
}

void vq_reconfigure_expected(struct vq_state *st, uint32_t expected_votes)
{
	set_member_expected_votes(st, expected_votes);
	record_event(st, VQ_EVENT_EXPECTED_VOTES);
	st->ev_barrier = expected_votes;
	vq_recalculate(st, true);
}

cs_error_t vq_set_expected(struct vq_state *st, uint32_t expected_votes)
{
	struct vq_state probe = *st;
	uint32_t total, quorum;

	/* corosync validates with allow_downscale off */
	probe.allow_downscale = false;
	quorum = vq_calculate_quorum(&probe, true, expected_votes, &total);
	if (expected_votes < total || (st->quorate && quorum > total))
		return CS_ERR_INVALID_PARAM;
	vq_reconfigure_expected(st, expected_votes);
	return CS_OK;
}

static uint32_t *votes_of(struct vq_state *st, uint32_t nodeid)
{
	if (nodeid == VOTEQUORUM_QDEVICE_NODEID)
		return &st->qdevice_votes;
	for (size_t i = 0; i < st->n_nodes; i++)
		if (st->nodes[i].nodeid == nodeid)
			return &st->nodes[i].votes;
	return NULL;
}

/* Every configured node's votes and the device's, which must add up
 * without wrapping whoever is a member. */
static uint64_t all_votes(const struct vq_state *st)
{
	uint64_t sum = st->qdevice_votes;

	for (size_t i = 0; i < st->n_nodes; i++)
		sum += st->nodes[i].votes;
	return sum;
}

cs_error_t vq_set_votes(struct vq_state *st, uint32_t nodeid, uint32_t votes)
{
	uint32_t *slot = votes_of(st, nodeid);
	uint32_t saved, total, quorum;

	if (!slot)
		return CS_ERR_NAME_NOT_FOUND;
	saved = *slot;
	*slot = votes;
	if (all_votes(st) > UINT32_MAX) {
		*slot = saved;
		return CS_ERR_INVALID_PARAM;
	}
	quorum = vq_calculate_quorum(st, true, 0, &total);
	if (quorum < total / 2 || quorum > total) {
		*slot = saved;
		return CS_ERR_INVALID_PARAM;
	}
	vq_recalculate(st, true);
	return CS_OK;
}

static bool qdevice_registered(const struct vq_state *st)
{
	return (st->qdevice_flags & VQ_QDEVICE_REGISTERED) != 0;
}

static bool is_qdevice_name(const struct vq_state *st, const char *name)
{
	return strncmp(name, st->qdevice_name, VQ_QDEVICE_NAME_MAX) == 0;
}

static void set_qdevice_name(struct vq_state *st, const char *name)
{
	memset(st->qdevice_name, 0, sizeof(st->qdevice_name));
	strncpy(st->qdevice_name, name, sizeof(st->qdevice_name) - 1);
}

cs_error_t vq_qdevice_register(struct vq_state *st, const char *name)
{
	if (!st->qdevice_allowed)
		return CS_ERR_ACCESS;
	if (qdevice_registered(st))
		return is_qdevice_name(st, name) ? CS_OK : CS_ERR_EXIST;
	set_qdevice_name(st, name);
	st->qdevice_flags = VQ_QDEVICE_REGISTERED;
	vq_recalculate(st, false);
	return CS_OK;
}

cs_error_t vq_qdevice_unregister(struct vq_state *st, const char *name)
{
	if (!qdevice_registered(st))
		return CS_ERR_NOT_EXIST;
	if (!is_qdevice_name(st, name))
		return CS_ERR_INVALID_PARAM;
	st->qdevice_flags = 0;
	memset(st->qdevice_name, 0, sizeof(st->qdevice_name));
	vq_recalculate(st, false);
	return CS_OK;
}

cs_error_t vq_qdevice_update(struct vq_state *st, const char *oldname, const char *newname)
{
	if (!qdevice_registered(st))
		return CS_ERR_NOT_EXIST;
	if (!is_qdevice_name(st, oldname))
		return CS_ERR_INVALID_PARAM;
	set_qdevice_name(st, newname);
	return CS_OK;
}

/* corosync checks the ring id before the name. */
cs_error_t vq_qdevice_poll(struct vq_state *st, const char *name, bool cast_vote, bool ring_id_matches)
{
	if (!st->qdevice_allowed)
		return CS_ERR_ACCESS;
	if (!qdevice_registered(st))
		return CS_ERR_NOT_EXIST;
	if (!ring_id_matches)
		return CS_ERR_MESSAGE_ERROR;
	if (!is_qdevice_name(st, name))
		return CS_ERR_INVALID_PARAM;
	st->qdevice_flags |= VQ_QDEVICE_ALIVE;
	if (cast_vote)
		st->qdevice_flags |= VQ_QDEVICE_CAST_VOTE;
	else
		st->qdevice_flags &= ~(uint32_t)VQ_QDEVICE_CAST_VOTE;
	vq_recalculate(st, false);
	return CS_OK;
}

cs_error_t vq_qdevice_master_wins(struct vq_state *st, const char *name, bool allow)
{
	if (!st->qdevice_allowed)
		return CS_ERR_ACCESS;
	if (!qdevice_registered(st))
		return CS_ERR_NOT_EXIST;
	if (!is_qdevice_name(st, name))
		return CS_ERR_INVALID_PARAM;
	if (allow)
		st->qdevice_flags |= VQ_QDEVICE_MASTER_WINS;
	else
		st->qdevice_flags &= ~(uint32_t)VQ_QDEVICE_MASTER_WINS;
	st->qdevice_master_wins = allow;
	st->qdevice_master_wins_published = true;
	vq_recalculate(st, false);
	return CS_OK;
}

bool vq_qdevice_timed_out(struct vq_state *st)
{
	if (!(st->qdevice_flags & VQ_QDEVICE_ALIVE))
		return false;
	st->qdevice_flags &= ~(uint32_t)(VQ_QDEVICE_ALIVE | VQ_QDEVICE_CAST_VOTE);
	vq_recalculate(st, false);
	return true;
}

uint32_t vq_info_flags(const struct vq_state *st, const struct vq_node *node)
{
	uint32_t flags = 0;

	flags |= st->two_node ? VOTEQUORUM_INFO_TWONODE : 0;
	flags |= st->quorate ? VOTEQUORUM_INFO_QUORATE : 0;
	flags |= st->wait_for_all ? VOTEQUORUM_INFO_WAIT_FOR_ALL : 0;
	flags |= st->last_man_standing ? VOTEQUORUM_INFO_LAST_MAN_STANDING : 0;
	flags |= st->auto_tie_breaker != CV_ATB_NONE ? VOTEQUORUM_INFO_AUTO_TIE_BREAKER : 0;
	flags |= st->allow_downscale ? VOTEQUORUM_INFO_ALLOW_DOWNSCALE : 0;
	if (node != &st->nodes[st->local])
		return flags;
	flags |= (st->qdevice_flags & VQ_QDEVICE_REGISTERED) ? VOTEQUORUM_INFO_QDEVICE_REGISTERED : 0;
	flags |= (st->qdevice_flags & VQ_QDEVICE_ALIVE) ? VOTEQUORUM_INFO_QDEVICE_ALIVE : 0;
	flags |= (st->qdevice_flags & VQ_QDEVICE_CAST_VOTE) ? VOTEQUORUM_INFO_QDEVICE_CAST_VOTE : 0;
	flags |= (st->qdevice_flags & VQ_QDEVICE_MASTER_WINS) ? VOTEQUORUM_INFO_QDEVICE_MASTER_WINS : 0;
	return flags;
}
