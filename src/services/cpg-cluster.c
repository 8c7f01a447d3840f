/* cpg's ordering seam in cluster mode: groups span every node running
 * conclaved beside corosync. A join, leave, message or a joined process
 * going away is submitted to the engine (cv-cluster.h) as a message and
 * takes effect only when it is delivered, at every node in the same order;
 * each node then sends the resulting event to its own members. So every
 * member on every node sees the same sequence of confchgs and messages.
 *
 * At each configuration change every node gives its joinlist (its own
 * processes and their groups, as they stand after the last delivery), and
 * every node computes, as corosync's exec/cpg.c does in cpg_sync_activate:
 * the processes of nodes that left leave with CPG_REASON_NODEDOWN (one
 * confchg per group); processes in other nodes' joinlists not known here
 * join with CPG_REASON_NODEUP (one confchg per group); known processes of a
 * remaining node missing from its joinlist leave with CPG_REASON_PROCDOWN;
 * then every V1 connection gets the totem confchg.
 *
 * Flow control across nodes. A delivered message is never refused: it is
 * queued to every member of this node past the queue limit if need be. A
 * node with a member whose queue is over half of max_queued_bytes submits
 * FLOW on for its group, and FLOW off once every such member is below a
 * quarter. While the order has delivered a FLOW on of some node and not its
 * off, every node refuses that group's messages with CS_ERR_TRY_AGAIN and
 * cpg_flow_control_state_get says ENABLED. What was sent before the FLOW on
 * reached its sender is bounded by each node's window: the bytes of its
 * messages submitted and not yet delivered back stay under a quarter of
 * max_queued_bytes (a larger message goes alone). A node's holds travel in
 * its joinlist (entries of pid 0), so a node that joins knows them, and a
 * node that leaves takes its holds with it. */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <corosync/cpg.h>

#include "cpg-private.h"
#include <conclave/service.h>
#include <conclave/cluster.h>

enum order_kind {
	ORDER_JOIN = 1,
	ORDER_LEAVE = 2,
	ORDER_PROCDOWN = 3,
	ORDER_MCAST = 4,
	ORDER_FRAGMENT = 5,
	ORDER_FLOW = 6, /* flags: 1 on, 0 off; pid 0 */
};

/* A node holding back a group's senders (a FLOW on delivered). */
struct flow_hold {
	uint32_t nodeid;
	uint32_t length;
	uint8_t name[CPG_MAX_NAME_LENGTH];
};

/* A cpg message in the total order (little-endian), then the group's name,
 * then the client's bytes for MCAST and FRAGMENT. */
struct order_head {
	uint8_t kind;
	uint8_t reserved[3];
	uint32_t pid;
	uint64_t session; /* the sending session on its node */
	uint32_t flags;   /* JOIN: the model's flags; FRAGMENT: the part */
	uint32_t total;   /* FRAGMENT: the whole message's length */
	uint32_t group_length;
} __attribute__((packed));

/* A joinlist entry (little-endian): pid, name length, then the name. */
struct joinlist_entry {
	uint32_t pid;
	uint32_t group_length;
} __attribute__((packed));

/* Every cpg connection of this node, and members whose session closed
 * before their going was delivered. */
static struct cpg_member *local_members;

static struct flow_hold *holds;
static size_t n_holds, holds_capacity;
/* Groups for which this node submitted FLOW on and not yet off. */
static struct flow_hold *asked;
static size_t n_asked, asked_capacity;
/* This node's message bytes submitted and not yet delivered back. */
static size_t outstanding;
static struct cv_timer *flow_timer;

/* ---- confchgs of several processes ------------------------------------ */

static void forget(struct cpg_member *m)
{
	for (struct cpg_member **link = &local_members; *link != NULL; link = &(*link)->next_local) {
		if (*link == m) {
			*link = m->next_local;
			break;
		}
	}
	free(m);
}

/* Sends the confchg of g's marked members to this node's members of g,
 * then takes the marked ones out when they left (freeing those without a
 * session). */
static void announce(struct cpg_group *g, uint32_t reason, bool joined)
{
	struct cpg_confchg c;
	struct cpg_member *m, *next;

	if (cpg_confchg_build(&c, g, reason, joined) == 0) {
		for (m = g->members; m != NULL; m = m->next)
			if (m->session != NULL)
				cpg_send_membership_to(m, &c.event);
	} else {
		cv_log_error("cpg: out of memory announcing a membership change");
	}
	cpg_confchg_free(&c);
	for (m = g->members; m != NULL; m = next) {
		next = m->next;
		if (!m->marked)
			continue;
		m->marked = false;
		if (joined)
			continue;
		cpg_group_remove(m);
		if (m->session == NULL)
			forget(m);
	}
}

/* ---- submitting ------------------------------------------------------- */

static cs_error_t submit(struct cpg_member *m, enum order_kind kind, const uint8_t *name, uint32_t length,
			 uint32_t flags, uint32_t total, const void *body, size_t body_length)
{
	uint8_t head[sizeof(struct order_head) + CPG_MAX_NAME_LENGTH];
	struct order_head h = {
		.kind = (uint8_t)kind,
		.pid = htole32(m->pid),
		.session = htole64(m->session_id),
		.flags = htole32(flags),
		.total = htole32(total),
		.group_length = htole32(length),
	};

	memcpy(head, &h, sizeof(h));
	memcpy(head + sizeof(h), name, length);
	return cv_order_submit(CV_ORDER_CPG, head, sizeof(h) + length, body, body_length);
}

/* ---- flow control ------------------------------------------------------ */

static size_t queue_limit(void)
{
	return cv_server_settings()->limits.max_queued_bytes;
}

static bool same_group(const struct flow_hold *h, const uint8_t *name, uint32_t length)
{
	return h->length == length && memcmp(h->name, name, length) == 0;
}

static struct flow_hold *hold_find(struct flow_hold *list, size_t n, uint32_t nodeid, const uint8_t *name,
				   uint32_t length)
{
	for (size_t i = 0; i < n; i++)
		if (list[i].nodeid == nodeid && same_group(&list[i], name, length))
			return &list[i];
	return NULL;
}

static bool hold_add(struct flow_hold **list, size_t *n, size_t *capacity, uint32_t nodeid,
		     const uint8_t *name, uint32_t length)
{
	if (hold_find(*list, *n, nodeid, name, length) != NULL)
		return true;
	if (*n == *capacity) {
		size_t grown = *capacity ? 2 * *capacity : 8;
		struct flow_hold *bigger = realloc(*list, grown * sizeof(**list));

		if (bigger == NULL)
			return false;
		*list = bigger;
		*capacity = grown;
	}
	(*list)[*n] = (struct flow_hold){ .nodeid = nodeid, .length = length };
	memcpy((*list)[*n].name, name, length);
	(*n)++;
	return true;
}

static void hold_remove(struct flow_hold *list, size_t *n, struct flow_hold *h)
{
	if (h != NULL)
		*h = list[--*n];
}

static bool group_held(const uint8_t *name, uint32_t length)
{
	for (size_t i = 0; i < n_holds; i++)
		if (same_group(&holds[i], name, length))
			return true;
	return false;
}

/* A message of `bytes` may be submitted to the group now. */
static bool flow_allows(const uint8_t *name, uint32_t length, size_t bytes)
{
	return !group_held(name, length) && (outstanding == 0 || outstanding + bytes <= queue_limit() / 4);
}

static size_t queued_bytes(const struct cpg_member *m)
{
	struct cv_session_queue q;

	cv_session_queue_state(m->session, &q);
	return q.bytes;
}

static void submit_flow(const uint8_t *name, uint32_t length, bool on)
{
	uint8_t head[sizeof(struct order_head) + CPG_MAX_NAME_LENGTH];
	struct order_head h = {
		.kind = ORDER_FLOW,
		.flags = htole32(on ? 1u : 0u),
		.group_length = htole32(length),
	};

	memcpy(head, &h, sizeof(h));
	memcpy(head + sizeof(h), name, length);
	if (cv_order_submit(CV_ORDER_CPG, head, sizeof(h) + length, NULL, 0) != CS_OK) {
		/* No room in the engine: an off is tried again soon, an on at
		 * the next delivery to the member. */
		cv_timer_start(flow_timer, 10);
		return;
	}
	if (on && !hold_add(&asked, &n_asked, &asked_capacity, 0, name, length))
		cv_log_error("cpg: out of memory for flow control");
	if (!on)
		hold_remove(asked, &n_asked, hold_find(asked, n_asked, 0, name, length));
}

/* A local member of g is over half its queue limit: the group is held. */
static void flow_check_over(const struct cpg_group *g, const struct cpg_member *m)
{
	if (queued_bytes(m) > queue_limit() / 2 && hold_find(asked, n_asked, 0, g->name, g->length) == NULL)
		submit_flow(g->name, g->length, true);
}

static bool group_drained(const struct cpg_group *g)
{
	uint32_t self = cpg_local_nodeid();

	for (const struct cpg_member *m = g != NULL ? g->members : NULL; m != NULL; m = m->next)
		if (m->nodeid == self && m->session != NULL && queued_bytes(m) > queue_limit() / 4)
			return false;
	return true;
}

/* Releases the groups whose local members caught up (or left). */
static void flow_release(void *data)
{
	(void)data;
	for (size_t i = n_asked; i-- > 0;) {
		struct flow_hold h = asked[i];

		if (group_drained(cpg_group_find(&cpg_groups, h.name, h.length)))
			submit_flow(h.name, h.length, false);
	}
}

static void apply_flow(uint32_t nodeid, const struct order_head *h, const uint8_t *name)
{
	if (h->flags & 1u) {
		if (!hold_add(&holds, &n_holds, &holds_capacity, nodeid, name, h->group_length))
			cv_log_error("cpg: out of memory for flow control");
		return;
	}
	hold_remove(holds, &n_holds, hold_find(holds, n_holds, nodeid, name, h->group_length));
	cpg_retry_soon();
}

bool cpg_cluster_flow_enabled(const struct cpg_member *m)
{
	return m->group != NULL && !flow_allows(m->group->name, m->group->length, 1);
}

void cpg_cluster_room(void)
{
	if (n_asked > 0 && flow_timer != NULL && !cv_timer_pending(flow_timer))
		cv_timer_start(flow_timer, 0);
}

/* The group m is joined to or joining: its name, or NULL. */
static const uint8_t *group_of(const struct cpg_member *m, uint32_t *length)
{
	if (m->group != NULL && !m->leave_pending) {
		*length = m->group->length;
		return m->group->name;
	}
	if (m->join_pending) {
		*length = m->pending_length;
		return m->pending_name;
	}
	return NULL;
}

static bool local_join_pending(uint32_t pid, const uint8_t *name, size_t length)
{
	for (const struct cpg_member *m = local_members; m != NULL; m = m->next_local)
		if (m->join_pending && m->pid == pid && m->pending_length == length &&
		    memcmp(m->pending_name, name, length) == 0)
			return true;
	return false;
}

/* As corosync: a second join is CS_ERR_EXIST, a join while the leave is
 * under way CS_ERR_BUSY. */
cs_error_t cpg_cluster_join(struct cpg_member *m, ProtobufCBinaryData name, uint32_t flags)
{
	const struct cpg_group *existing;
	cs_error_t err;

	if (m->leave_pending)
		return CS_ERR_BUSY;
	if (m->group != NULL || m->join_pending)
		return CS_ERR_EXIST;
	existing = cpg_group_find(&cpg_groups, name.data, name.len);
	if ((existing != NULL && cpg_group_has_process(existing, m->nodeid, m->pid)) ||
	    local_join_pending(m->pid, name.data, name.len))
		return CS_ERR_EXIST;
	err = submit(m, ORDER_JOIN, name.data, (uint32_t)name.len, flags, 0, NULL, 0);
	if (err != CS_OK)
		return err;
	m->flags = flags;
	m->join_pending = true;
	m->pending_length = (uint32_t)name.len;
	memcpy(m->pending_name, name.data, name.len);
	return CS_OK;
}

cs_error_t cpg_cluster_leave(struct cpg_member *m)
{
	cs_error_t err;

	if (m->join_pending)
		return CS_ERR_BUSY;
	if (m->group == NULL)
		return CS_ERR_NOT_EXIST;
	if (m->leave_pending)
		return CS_ERR_EXIST;
	err = submit(m, ORDER_LEAVE, m->group->name, m->group->length, 0, 0, NULL, 0);
	if (err == CS_OK)
		m->leave_pending = true;
	return err;
}

/* Refused for room: the daemon holds the frame (CV_REQUEST_NOWAIT) and the
 * engine's room hook retries it. */
cs_error_t cpg_cluster_mcast(struct cpg_member *m, ProtobufCBinaryData msg)
{
	uint32_t length;
	const uint8_t *name = group_of(m, &length);

	cs_error_t err;

	if (name == NULL)
		return CS_ERR_NOT_EXIST;
	if (!flow_allows(name, length, msg.len))
		return CS_ERR_TRY_AGAIN;
	err = submit(m, ORDER_MCAST, name, length, 0, 0, msg.data, msg.len);
	if (err == CS_OK)
		outstanding += msg.len;
	return err;
}

cs_error_t cpg_cluster_fragment(struct cpg_member *m, const CpgGroupsFragmentRequest *request)
{
	uint32_t length;
	const uint8_t *name = group_of(m, &length);
	cs_error_t err;

	if (name == NULL)
		return CS_ERR_NOT_EXIST;
	err = cpg_pieces_check(m, request);
	if (err != CS_OK)
		return err;
	if (!flow_allows(name, length, request->msg.len))
		return CS_ERR_TRY_AGAIN;
	err = submit(m, ORDER_FRAGMENT, name, length, request->part, request->total, request->msg.data,
		     request->msg.len);
	if (err == CS_OK) {
		outstanding += request->msg.len;
		cpg_piece_sent(m, request);
	}
	return err;
}

/* ---- connections ------------------------------------------------------ */

void cpg_cluster_connect(struct cpg_member *m)
{
	m->session_id = cv_session_id(m->session);
	m->next_local = local_members;
	local_members = m;
}

static void submit_procdown(struct cpg_member *m)
{
	uint32_t length = 0;
	const uint8_t *name = m->group != NULL ? m->group->name : m->pending_name;

	length = m->group != NULL ? m->group->length : m->pending_length;
	m->procdown_owed = submit(m, ORDER_PROCDOWN, name, length, 0, 0, NULL, 0) != CS_OK;
}

/* A member joined or joining stays, without a session, until its
 * PROCDOWN is delivered; the others go at once. */
void cpg_cluster_disconnect(struct cpg_member *m)
{
	m->session = NULL;
	cpg_cluster_room();
	if (m->group == NULL && !m->join_pending) {
		forget(m);
		return;
	}
	submit_procdown(m);
}

static void cluster_room(void)
{
	for (struct cpg_member *m = local_members; m != NULL; m = m->next_local)
		if (m->procdown_owed)
			submit_procdown(m);
	cpg_retry_soon();
}

/* ---- deliveries -------------------------------------------------------- */

static struct cpg_member *local_by_session(uint64_t session)
{
	for (struct cpg_member *m = local_members; m != NULL; m = m->next_local)
		if (m->session_id == session)
			return m;
	return NULL;
}

static struct cpg_member *group_member(struct cpg_group *g, uint32_t nodeid, uint32_t pid)
{
	for (struct cpg_member *m = g != NULL ? g->members : NULL; m != NULL; m = m->next)
		if (m->nodeid == nodeid && m->pid == pid)
			return m;
	return NULL;
}

static struct cpg_member *remote_member(uint32_t nodeid, uint32_t pid, uint32_t flags)
{
	struct cpg_member *m = calloc(1, sizeof(*m));

	if (m == NULL) {
		cv_log_error("cpg: out of memory adding process %u of node %u", pid, nodeid);
		return NULL;
	}
	m->nodeid = nodeid;
	m->pid = pid;
	m->flags = flags;
	return m;
}

static void apply_join(uint32_t nodeid, const struct order_head *h, const uint8_t *name)
{
	struct cpg_group *g = cpg_group_find(&cpg_groups, name, h->group_length);
	struct cpg_member *m;

	if (group_member(g, nodeid, h->pid) != NULL)
		return; /* known from a joinlist already */
	if (nodeid == cpg_local_nodeid() && (m = local_by_session(h->session)) != NULL)
		m->join_pending = false;
	else if ((m = remote_member(nodeid, h->pid, h->flags)) == NULL)
		return;
	if (cpg_group_add(&cpg_groups, m, name, h->group_length) < 0) {
		cv_log_error("cpg: out of memory adding process %u of node %u", h->pid, nodeid);
		if (m->session == NULL)
			forget(m);
		return;
	}
	m->marked = true;
	announce(m->group, CPG_REASON_JOIN, true);
	if (m->session != NULL && (m->flags & CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF))
		cpg_totem_send(m);
}

static void apply_leave(uint32_t nodeid, const struct order_head *h, const uint8_t *name, uint32_t reason)
{
	struct cpg_group *g = cpg_group_find(&cpg_groups, name, h->group_length);
	struct cpg_member *m = group_member(g, nodeid, h->pid);
	struct cpg_member *local = nodeid == cpg_local_nodeid() ? local_by_session(h->session) : NULL;

	if (local != NULL) {
		local->leave_pending = false;
		local->join_pending = false;
		m = local->group == g ? local : NULL;
	}
	if (m != NULL) {
		m->marked = true;
		announce(g, reason, false);
	} else if (local != NULL && local->session == NULL && reason == CPG_REASON_PROCDOWN) {
		forget(local);
	}
}

/* To this node's members of the group, past their queue limit if need be. */
static void fan_out(uint32_t nodeid, const struct order_head *h, const uint8_t *name, const uint8_t *body,
		    size_t length)
{
	struct cpg_group *g = cpg_group_find(&cpg_groups, name, h->group_length);
	CpgMessageEvent message = CPG_MESSAGE_EVENT__INIT;
	CpgFragmentEvent fragment = CPG_FRAGMENT_EVENT__INIT;
	CpgName group;
	const ProtobufCMessage *event = &message.base;
	uint16_t event_id = CPG_EVENT_MESSAGE;
	struct cv_packed_frame *packed;

	if (nodeid == cpg_local_nodeid()) {
		outstanding -= length < outstanding ? length : outstanding;
		cpg_retry_soon();
	}
	if (g == NULL)
		return;
	cpg_name_to_wire(g, &group);
	if (h->kind == ORDER_MCAST) {
		message.group = &group;
		message.nodeid = nodeid;
		message.pid = h->pid;
		message.msg = (ProtobufCBinaryData){ .data = (uint8_t *)body, .len = length };
	} else {
		fragment.group = &group;
		fragment.nodeid = nodeid;
		fragment.pid = h->pid;
		fragment.part = h->flags;
		fragment.total = h->total;
		fragment.msg = (ProtobufCBinaryData){ .data = (uint8_t *)body, .len = length };
		event = &fragment.base;
		event_id = CPG_EVENT_FRAGMENT;
	}
	packed = cv_event_pack(event_id, event);
	if (packed == NULL) {
		cv_log_error("cpg: out of memory delivering a message of node %u", nodeid);
		return;
	}
	for (struct cpg_member *to = g->members; to != NULL; to = to->next) {
		if (to->session == NULL)
			continue;
		if (cv_session_send_agreed(to->session, packed) == CS_ERR_NO_MEMORY)
			cv_session_close(to->session,
					 "cpg: out of memory for the cluster's messages to its group");
		else
			flow_check_over(g, to);
	}
	cv_packed_frame_release(packed);
}

static void on_deliver(uint32_t nodeid, const void *data, size_t length)
{
	struct order_head h;
	const uint8_t *name = (const uint8_t *)data + sizeof(h);

	if (length < sizeof(h))
		goto malformed;
	memcpy(&h, data, sizeof(h));
	h.pid = le32toh(h.pid);
	h.session = le64toh(h.session);
	h.flags = le32toh(h.flags);
	h.total = le32toh(h.total);
	h.group_length = le32toh(h.group_length);
	if (h.group_length == 0 || h.group_length > CPG_MAX_NAME_LENGTH ||
	    length - sizeof(h) < h.group_length)
		goto malformed;
	switch (h.kind) {
	case ORDER_JOIN:
		apply_join(nodeid, &h, name);
		return;
	case ORDER_LEAVE:
		apply_leave(nodeid, &h, name, CPG_REASON_LEAVE);
		return;
	case ORDER_PROCDOWN:
		apply_leave(nodeid, &h, name, CPG_REASON_PROCDOWN);
		return;
	case ORDER_MCAST:
	case ORDER_FRAGMENT:
		fan_out(nodeid, &h, name, name + h.group_length, length - sizeof(h) - h.group_length);
		return;
	case ORDER_FLOW:
		apply_flow(nodeid, &h, name);
		return;
	}
malformed:
	cv_log_warning("cpg: dropped a malformed message of node %u (%zu bytes)", nodeid, length);
}

/* ---- configuration changes --------------------------------------------- */

static ssize_t collect_joinlist(void *buf, size_t cap)
{
	uint8_t *out = buf;
	size_t used = 0;
	uint32_t self = cpg_local_nodeid();

	for (const struct cpg_group *g = cpg_groups_first(&cpg_groups); g != NULL; g = g->next) {
		for (const struct cpg_member *m = g->members; m != NULL; m = m->next) {
			struct joinlist_entry e = { htole32(m->pid), htole32(g->length) };

			if (m->nodeid != self)
				continue;
			if (cap - used < sizeof(e) + g->length)
				return -1;
			memcpy(out + used, &e, sizeof(e));
			memcpy(out + used + sizeof(e), g->name, g->length);
			used += sizeof(e) + g->length;
		}
	}
	for (size_t i = 0; i < n_holds; i++) {
		struct joinlist_entry e = { 0, htole32(holds[i].length) };

		if (holds[i].nodeid != self)
			continue;
		if (cap - used < sizeof(e) + holds[i].length)
			return -1;
		memcpy(out + used, &e, sizeof(e));
		memcpy(out + used + sizeof(e), holds[i].name, holds[i].length);
		used += sizeof(e) + holds[i].length;
	}
	return (ssize_t)used;
}

/* Calls fn for every (pid, group) of a joinlist; false when malformed. */
static bool joinlist_each(const uint8_t *list, size_t length,
			  void (*fn)(uint32_t pid, const uint8_t *name, uint32_t name_length, void *ctx),
			  void *ctx)
{
	size_t at = 0;

	while (length - at >= sizeof(struct joinlist_entry)) {
		struct joinlist_entry e;

		memcpy(&e, list + at, sizeof(e));
		e.pid = le32toh(e.pid);
		e.group_length = le32toh(e.group_length);
		if (e.group_length == 0 || e.group_length > CPG_MAX_NAME_LENGTH ||
		    length - at - sizeof(e) < e.group_length)
			return false;
		fn(e.pid, list + at + sizeof(e), e.group_length, ctx);
		at += sizeof(e) + e.group_length;
	}
	return at == length;
}

static bool node_in(uint32_t nodeid, const struct cv_engine_member *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (list[i].nodeid == nodeid)
			return true;
	return false;
}

/* Every group with a marked member gets its confchg, in the table's order. */
static void announce_marked(uint32_t reason, bool joined)
{
	struct cpg_group *g = cpg_groups_first(&cpg_groups), *next;

	for (; g != NULL; g = next) {
		bool any = false;

		next = g->next; /* g may go once its last member left */
		for (const struct cpg_member *m = g->members; m != NULL && !any; m = m->next)
			any = m->marked;
		if (any)
			announce(g, reason, joined);
	}
}

static void drop_left_nodes(const struct cv_engine_view *view)
{
	uint32_t self = cpg_local_nodeid();

	for (struct cpg_group *g = cpg_groups_first(&cpg_groups); g != NULL; g = g->next)
		for (struct cpg_member *m = g->members; m != NULL; m = m->next)
			m->marked = m->nodeid != self && node_in(m->nodeid, view->left, view->n_left);
	announce_marked(CPG_REASON_NODEDOWN, false);
}

struct joining {
	uint32_t nodeid;
	bool failed;
};

static void add_from_joinlist(uint32_t pid, const uint8_t *name, uint32_t length, void *ctx)
{
	struct joining *j = ctx;
	struct cpg_group *g = cpg_group_find(&cpg_groups, name, length);
	struct cpg_member *m = group_member(g, j->nodeid, pid);

	if (pid == 0) { /* the node holds the group back */
		j->failed |= !hold_add(&holds, &n_holds, &holds_capacity, j->nodeid, name, length);
		return;
	}
	if (m != NULL) {
		m->suspect = false;
		return;
	}
	m = remote_member(j->nodeid, pid, 0);
	if (m == NULL || cpg_group_add(&cpg_groups, m, name, length) < 0) {
		free(m);
		j->failed = true;
		return;
	}
	m->marked = true;
}

/* Remote processes start as suspects; their node's joinlist clears those
 * still there. */
static void suspect_remote_processes(uint32_t self)
{
	for (struct cpg_group *g = cpg_groups_first(&cpg_groups); g != NULL; g = g->next)
		for (struct cpg_member *m = g->members; m != NULL; m = m->next)
			m->suspect = m->nodeid != self;
}

/* Other nodes' holds come again with their joinlists; those of nodes that
 * left go. */
static void drop_remote_holds(uint32_t self)
{
	for (size_t i = n_holds; i-- > 0;)
		if (holds[i].nodeid != self)
			hold_remove(holds, &n_holds, &holds[i]);
	cpg_retry_soon();
}

static void add_joinlists(const struct cv_engine_view *view, uint32_t self)
{
	suspect_remote_processes(self);
	drop_remote_holds(self);
	for (size_t i = 0; i < view->n_members; i++) {
		struct joining j = { .nodeid = view->members[i].nodeid };
		size_t length;
		const uint8_t *list;

		if (j.nodeid == self)
			continue;
		list = cv_order_state(&view->members[i], CV_ORDER_CPG, &length);
		if (list != NULL && !joinlist_each(list, length, add_from_joinlist, &j))
			cv_log_warning("cpg: node %u sent a malformed joinlist", j.nodeid);
		if (j.failed)
			cv_log_error("cpg: out of memory adding node %u's processes", j.nodeid);
	}
	announce_marked(CPG_REASON_NODEUP, true);
}

/* Processes of a remaining node that its joinlist no longer names: one
 * confchg each, as corosync's joinlist_remove_zombie_pi_entries. */
static struct cpg_member *first_suspect(void)
{
	for (struct cpg_group *g = cpg_groups_first(&cpg_groups); g != NULL; g = g->next)
		for (struct cpg_member *m = g->members; m != NULL; m = m->next)
			if (m->suspect)
				return m;
	return NULL;
}

static void drop_zombies(void)
{
	struct cpg_member *m;

	while ((m = first_suspect()) != NULL) {
		m->suspect = false;
		m->marked = true;
		announce(m->group, CPG_REASON_PROCDOWN, false);
	}
}

/* On a change of corosync's ring only, as corosync: a conclaved joining or
 * leaving the engine's group is no totem configuration change. */
static void totem_to_all(void)
{
	static uint32_t sent_nodeid;
	static uint64_t sent_seq;
	uint32_t nodeid;
	uint64_t seq;
	const uint32_t *nodes;
	size_t n_nodes;

	cv_cluster_ring(&nodeid, &seq, &nodes, &n_nodes);
	if (nodeid == sent_nodeid && seq == sent_seq)
		return;
	sent_nodeid = nodeid;
	sent_seq = seq;
	for (struct cpg_member *m = local_members; m != NULL; m = m->next_local)
		if (m->session != NULL)
			cpg_totem_send(m);
}

static void on_view(const struct cv_engine_view *view)
{
	uint32_t self = cpg_local_nodeid();

	drop_left_nodes(view);
	add_joinlists(view, self);
	drop_zombies();
	totem_to_all();
}

int cpg_cluster_start(void)
{
	static const struct cv_order_ops ops = {
		.deliver = on_deliver,
		.view = on_view,
		.collect_state = collect_joinlist,
		.room = cluster_room,
	};

	cv_order_register(CV_ORDER_CPG, &ops);
	flow_timer = cv_timer_new(flow_release, NULL);
	if (flow_timer == NULL)
		return -1;
	return 0;
}

void cpg_cluster_stop(void)
{
	cv_timer_free(flow_timer);
	flow_timer = NULL;
	free(holds);
	free(asked);
	holds = asked = NULL;
	n_holds = holds_capacity = n_asked = asked_capacity = 0;
	outstanding = 0;
}
