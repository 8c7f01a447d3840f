/* The cpg service: closed process groups on this node. Every request runs
 * to completion on the daemon's one event loop, and a change or message is
 * queued to all of its recipients in one step, so every member sees the
 * same total order of confchgs and messages. A change is only accepted
 * when every recipient has room for it (else CS_ERR_TRY_AGAIN), and a member
 * that cannot take the confchg of a process going down is closed rather
 * than left with a gap in what it saw.
 *
 * Messages are pipelined (one-way, CV_REQUEST_NOWAIT). A message some
 * member has no room for is held by the daemon, which stops reading its
 * sender; the sender's socket fills and its library returns
 * CS_ERR_TRY_AGAIN. Whenever a queue shrinks, a timer retries the held
 * messages in the order they were put off. */
#include <stdlib.h>
#include <string.h>

#include <corosync/cpg.h>

#include <conclave/service.h>
#include <conclave/cluster.h>

#include "cv-wire.h"
#include "cpg-groups.h"
#include "cpg-private.h"
#include "cpg-server.h"
#include "held-senders.h"
#include "quorum-state.h"

/* What messages leave free in every member's queue for the membership
 * changes that follow, which cannot be refused: a member whose queue has
 * no room for one is closed. */
#define CONFCHG_ROOM 4096u

/* cpg_flow_control_state_get() says ENABLED while a member has no room
 * for a message of this size beside CONFCHG_ROOM: while such a message
 * would be refused with CS_ERR_TRY_AGAIN. */
#define FLOW_CONTROL_ROOM 4096u

/* Senders whose message waits for room. */
static struct held_senders held;
/* conclave { cpg_max_message_size }: the largest message sent in pieces. */
static uint32_t max_message_size = CV_CPG_MAX_MESSAGE_SIZE;
struct cpg_group_table cpg_groups;

/* corosync's id of this node in cluster mode. */
uint32_t cpg_local_nodeid(void)
{
	if (cv_cluster_enabled())
		return cv_cluster_nodeid();
	return cv_settings_local_node(cv_server_settings())->nodeid;
}

/* ---- confchgs -------------------------------------------------------------- */

void cpg_address_to_wire(const struct cpg_address *a, CpgAddress *out)
{
	*out = (CpgAddress)CPG_ADDRESS__INIT;
	out->nodeid = a->nodeid;
	out->pid = a->pid;
	out->reason = a->reason;
}

void cpg_name_to_wire(const struct cpg_group *g, CpgName *out)
{
	*out = (CpgName)CPG_NAME__INIT;
	out->value = (ProtobufCBinaryData){ .data = (uint8_t *)g->name, .len = g->length };
}

ProtobufCBinaryData cpg_name_bytes(const CpgName *name)
{
	return name != NULL ? name->value : (ProtobufCBinaryData){ .data = NULL, .len = 0 };
}

static void put_address(struct cpg_confchg *c, size_t i, const struct cpg_member *m, uint32_t reason)
{
	struct cpg_address a;

	cpg_address_of(m, reason, &a);
	cpg_address_to_wire(&a, &c->entries[i]);
	c->pointers[i] = &c->entries[i];
}

int cpg_confchg_build(struct cpg_confchg *c, const struct cpg_group *g, uint32_t reason, bool joined)
{
	size_t n = 0, n_changed = 0;

	memset(c, 0, sizeof(*c));
	c->entries = calloc(2 * g->n_members + 1, sizeof(*c->entries));
	c->pointers = calloc(2 * g->n_members + 1, sizeof(*c->pointers));
	if (c->entries == NULL || c->pointers == NULL)
		return -1;
	for (const struct cpg_member *m = g->members; m != NULL; m = m->next)
		if (joined || !m->marked)
			put_address(c, n++, m, CPG_REASON_UNDEFINED);
	for (const struct cpg_member *m = g->members; m != NULL; m = m->next)
		if (m->marked)
			put_address(c, n + n_changed++, m, reason);
	c->event = (CpgMembershipEvent)CPG_MEMBERSHIP_EVENT__INIT;
	cpg_name_to_wire(g, &c->group);
	c->event.group = &c->group;
	c->event.n_member_list = n;
	c->event.member_list = c->pointers;
	if (joined) {
		c->event.n_joined_list = n_changed;
		c->event.joined_list = &c->pointers[n];
	} else {
		c->event.n_left_list = n_changed;
		c->event.left_list = &c->pointers[n];
	}
	return 0;
}

void cpg_confchg_free(struct cpg_confchg *c)
{
	free(c->entries);
	free(c->pointers);
}

/* The confchg of m alone joining or leaving. */
static int confchg_of(struct cpg_confchg *c, struct cpg_member *m, uint32_t reason, bool joined)
{
	int r;

	m->marked = true;
	r = cpg_confchg_build(c, m->group, reason, joined);
	m->marked = false;
	return r;
}

static bool members_have_room(const struct cpg_group *g, size_t bytes)
{
	for (const struct cpg_member *m = g->members; m != NULL; m = m->next)
		if (m->session != NULL && cv_session_is_open(m->session) &&
		    !cv_session_has_room(m->session, bytes))
			return false;
	return true;
}

void cpg_send_membership_to(struct cpg_member *m, const CpgMembershipEvent *event)
{
	cs_error_t err = cpg_send_membership(m->session, event);

	m->confchgs++;
	if (err == CS_ERR_TRY_AGAIN)
		cv_session_close(m->session, "cpg: no room for a membership change of its group");
}

/* To every member but `skipped`. */
static void confchg_send(const struct cpg_confchg *c, const struct cpg_group *g,
			 const struct cpg_member *skipped)
{
	for (struct cpg_member *m = g->members; m != NULL; m = m->next)
		if (m != skipped)
			cpg_send_membership_to(m, &c->event);
}

/* ---- the totem confchg ----------------------------------------------------- */

/* The cluster membership as the quorum provider last published it; without
 * a provider, this node alone. In cluster mode, corosync's ring. */
void cpg_totem_send(struct cpg_member *m)
{
	const struct quorum_view *view = quorum_state_current();
	uint32_t self = cpg_local_nodeid();
	CpgRingId ring = CPG_RING_ID__INIT;
	CpgTotemConfchgEvent event = CPG_TOTEM_CONFCHG_EVENT__INIT;

	ring.nodeid = view->n_members > 0 ? view->ring_nodeid : self;
	ring.seq = view->ring_seq;
	event.ring_id = &ring;
	event.n_member_list = view->n_members > 0 ? view->n_members : 1;
	event.member_list = view->n_members > 0 ? (uint32_t *)view->members : &self;
	if (cv_cluster_enabled()) {
		const uint32_t *nodes;

		cv_cluster_ring(&ring.nodeid, &ring.seq, &nodes, &event.n_member_list);
		event.member_list = (uint32_t *)nodes;
	}
	if (cpg_send_totem_confchg(m->session, &event) == CS_ERR_TRY_AGAIN)
		cv_session_close(m->session, "cpg: no room for a totem confchg");
}

/* ---- join and leave -------------------------------------------------------- */

static cs_error_t join_announce(struct cpg_member *m)
{
	struct cpg_confchg c;
	size_t bytes;

	if (confchg_of(&c, m, CPG_REASON_JOIN, true) < 0) {
		cpg_confchg_free(&c);
		return CS_ERR_NO_MEMORY;
	}
	bytes = protobuf_c_message_get_packed_size(&c.event.base);
	if (!members_have_room(m->group, bytes)) {
		cpg_confchg_free(&c);
		return CS_ERR_TRY_AGAIN;
	}
	confchg_send(&c, m->group, NULL);
	cpg_confchg_free(&c);
	if (m->flags & CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF)
		cpg_totem_send(m);
	return CS_OK;
}

cs_error_t cpg_handle_groups_join(struct cv_session *s, const CpgGroupsJoinRequest *request,
				  CpgGroupsJoinReply *reply)
{
	struct cpg_member *m = cv_session_private(s);
	ProtobufCBinaryData name = cpg_name_bytes(request->group);
	const struct cpg_group *existing;
	cs_error_t err;

	if (name.len == 0)
		return CS_ERR_INVALID_PARAM;
	if (cv_cluster_enabled())
		return cpg_cluster_join(m, name, request->flags);
	if (m->group != NULL)
		return CS_ERR_EXIST;
	existing = cpg_group_find(&cpg_groups, name.data, name.len);
	if (existing != NULL && cpg_group_has_process(existing, m->nodeid, m->pid))
		return CS_ERR_EXIST;
	m->flags = request->flags;
	if (cpg_group_add(&cpg_groups, m, name.data, name.len) < 0)
		return CS_ERR_NO_MEMORY;
	err = join_announce(m);
	if (err != CS_OK)
		cpg_group_remove(m);
	return err;
}

/* The leaver gets the confchg too, with itself in the left list. */
cs_error_t cpg_handle_groups_leave(struct cv_session *s, const CpgGroupsLeaveRequest *request,
				   CpgGroupsLeaveReply *reply)
{
	struct cpg_member *m = cv_session_private(s);
	struct cpg_confchg c;

	if (cv_cluster_enabled())
		return cpg_cluster_leave(m);
	if (m->group == NULL)
		return CS_ERR_NOT_EXIST;
	if (confchg_of(&c, m, CPG_REASON_LEAVE, false) < 0) {
		cpg_confchg_free(&c);
		return CS_ERR_NO_MEMORY;
	}
	if (!members_have_room(m->group, protobuf_c_message_get_packed_size(&c.event.base))) {
		cpg_confchg_free(&c);
		return CS_ERR_TRY_AGAIN;
	}
	confchg_send(&c, m->group, NULL);
	cpg_confchg_free(&c);
	cpg_group_remove(m);
	return CS_OK;
}

/* A member's connection closed while joined: the others see PROCDOWN. */
static void member_gone(struct cpg_member *m)
{
	struct cpg_confchg c;

	if (confchg_of(&c, m, CPG_REASON_PROCDOWN, false) == 0)
		confchg_send(&c, m->group, m);
	else
		cv_log_error("cpg: out of memory announcing that pid %u left its group", m->pid);
	cpg_confchg_free(&c);
	cpg_group_remove(m);
}

/* ---- messages -------------------------------------------------------------- */

void cpg_retry_soon(void)
{
	held_senders_retry_soon(&held);
}

/* To every member of g in one step, or CS_ERR_TRY_AGAIN; packed once,
 * however many members share it. */
static cs_error_t group_send(const struct cpg_group *g, uint16_t event_id, const ProtobufCMessage *event)
{
	struct cv_packed_frame *packed;

	if (!members_have_room(g, protobuf_c_message_get_packed_size(event) + CONFCHG_ROOM))
		return CS_ERR_TRY_AGAIN;
	packed = cv_event_pack(event_id, event);
	if (packed == NULL)
		return CS_ERR_NO_MEMORY;
	for (struct cpg_member *to = g->members; to != NULL; to = to->next)
		if (to->session != NULL)
			cv_session_send_packed(to->session, packed);
	cv_packed_frame_release(packed);
	return CS_OK;
}

/* To every member of m's group in one step, or CS_ERR_TRY_AGAIN. */
static cs_error_t message_fan_out(struct cpg_member *m, ProtobufCBinaryData msg)
{
	CpgMessageEvent event = CPG_MESSAGE_EVENT__INIT;
	CpgName group;

	if (cv_cluster_enabled())
		return cpg_cluster_mcast(m, msg);
	if (m->group == NULL)
		return CS_ERR_NOT_EXIST;
	cpg_name_to_wire(m->group, &group);
	event.group = &group;
	event.nodeid = m->nodeid;
	event.pid = m->pid;
	event.msg = msg;
	return group_send(m->group, CPG_EVENT_MESSAGE, &event.base);
}

/* Not joined: dropped, as the library refuses to send it. */
cs_error_t cpg_handle_groups_mcast(struct cv_session *s, const CpgGroupsMcastRequest *request)
{
	struct cpg_member *m = cv_session_private(s);
	cs_error_t err = message_fan_out(m, request->msg);

	held_senders_note(&held, s, err);
	return err;
}

cs_error_t cpg_handle_groups_mcast_large(struct cv_session *s, const CpgGroupsMcastLargeRequest *request,
					 CpgGroupsMcastLargeReply *reply)
{
	return message_fan_out(cv_session_private(s), request->msg);
}

/* ---- large messages, in pieces (cpg.idl: cpg_fragment_fn_t) ---------------- */

/* A confchg since the first piece abandons the message: receivers drop
 * what they were reassembling at every confchg. The pieces must add up to
 * the total the first one announced, which the configuration bounds. */
cs_error_t cpg_pieces_check(struct cpg_member *m, const CpgGroupsFragmentRequest *request)
{
	uint64_t total = request->total, len = request->msg.len;

	if (request->part < PART_FIRST || request->part > PART_LAST)
		return CS_ERR_INVALID_PARAM;
	if (request->part == PART_FIRST) {
		if (total > max_message_size)
			return CS_ERR_TOO_BIG;
		return len > total ? CS_ERR_INVALID_PARAM : CS_OK;
	}
	if (!m->sending_pieces)
		return CS_ERR_INTERRUPT;
	if (m->confchgs != m->pieces_since) {
		m->sending_pieces = false;
		return CS_ERR_INTERRUPT;
	}
	if (total != m->pieces_total || len > total - m->pieces_sent ||
	    (request->part == PART_LAST && m->pieces_sent + len != total)) {
		m->sending_pieces = false;
		return CS_ERR_INVALID_PARAM;
	}
	return CS_OK;
}

void cpg_piece_sent(struct cpg_member *m, const CpgGroupsFragmentRequest *request)
{
	m->sending_pieces = request->part != PART_LAST;
	if (request->part == PART_FIRST) {
		m->pieces_since = m->confchgs;
		m->pieces_total = request->total;
		m->pieces_sent = 0;
	}
	m->pieces_sent += request->msg.len;
}

cs_error_t cpg_handle_groups_fragment(struct cv_session *s, const CpgGroupsFragmentRequest *request,
				      CpgGroupsFragmentReply *reply)
{
	struct cpg_member *m = cv_session_private(s);
	CpgFragmentEvent event = CPG_FRAGMENT_EVENT__INIT;
	CpgName group;
	cs_error_t err;

	if (cv_cluster_enabled())
		return cpg_cluster_fragment(m, request);
	if (m->group == NULL)
		return CS_ERR_NOT_EXIST;
	err = cpg_pieces_check(m, request);
	if (err != CS_OK)
		return err;
	cpg_name_to_wire(m->group, &group);
	event.group = &group;
	event.nodeid = m->nodeid;
	event.pid = m->pid;
	event.part = request->part;
	event.total = request->total;
	event.msg = request->msg;
	err = group_send(m->group, CPG_EVENT_FRAGMENT, &event.base);
	if (err == CS_OK)
		cpg_piece_sent(m, request);
	return err;
}

cs_error_t cpg_handle_flow_control_state_get(struct cv_session *s,
					     const CpgFlowControlStateGetRequest *request,
					     CpgFlowControlStateGetReply *reply)
{
	struct cpg_member *m = cv_session_private(s);
	/* In cluster mode the engine's room and the holds of every node count
	 * too: senders wait for them. */
	bool full = m->group != NULL &&
		    (!members_have_room(m->group, FLOW_CONTROL_ROOM + CONFCHG_ROOM) ||
		     (cv_cluster_enabled() && (held_senders_any(&held) || cpg_cluster_flow_enabled(m))));

	reply->flow_control_enabled = full ? CPG_FLOW_CONTROL_ENABLED : CPG_FLOW_CONTROL_DISABLED;
	return CS_OK;
}

/* ---- questions ------------------------------------------------------------- */

cs_error_t cpg_handle_local_get(struct cv_session *s, const CpgLocalGetRequest *request,
				CpgLocalGetReply *reply)
{
	reply->local_nodeid = cpg_local_nodeid();
	return CS_OK;
}

cs_error_t cpg_handle_groups_members(struct cv_session *s, const CpgGroupsMembersRequest *request,
				     CpgGroupsMembersReply *reply)
{
	ProtobufCBinaryData name = cpg_name_bytes(request->group);
	const struct cpg_group *g;
	CpgAddress *entries;
	size_t n = 0;

	g = cpg_group_find(&cpg_groups, name.data, name.len);
	if (g == NULL)
		return CS_OK;
	entries = cv_reply_alloc(s, g->n_members * sizeof(*entries));
	reply->members = cv_reply_alloc(s, g->n_members * sizeof(*reply->members));
	if (entries == NULL || reply->members == NULL)
		return CS_ERR_NO_MEMORY;
	for (const struct cpg_member *m = g->members; m != NULL; m = m->next, n++) {
		struct cpg_address a;

		cpg_address_of(m, CPG_REASON_UNDEFINED, &a);
		cpg_address_to_wire(&a, &entries[n]);
		reply->members[n] = &entries[n];
	}
	reply->n_members = n;
	return CS_OK;
}

/* ---- iteration snapshots --------------------------------------------------- */

/* One entry of an iteration, with the name its description points to. */
struct snapshot_entry {
	CpgIterationDescriptionT description;
	CpgName group;
};

/* With entries NULL, only counts. */
static size_t entry_put(struct snapshot_entry *entries, CpgIterationDescriptionT **out, size_t n,
			const struct cpg_group *g, uint32_t nodeid, uint32_t pid)
{
	if (entries != NULL) {
		struct snapshot_entry *e = &entries[n];

		e->description = (CpgIterationDescriptionT)CPG_ITERATION_DESCRIPTION_T__INIT;
		cpg_name_to_wire(g, &e->group);
		e->description.group = &e->group;
		e->description.nodeid = nodeid;
		e->description.pid = pid;
		out[n] = &e->description;
	}
	return n + 1;
}

static size_t group_entries_put(struct snapshot_entry *entries, CpgIterationDescriptionT **out, size_t n,
				const struct cpg_group *g, int32_t type)
{
	if (type == CPG_ITERATION_NAME_ONLY)
		return entry_put(entries, out, n, g, 0, 0);
	for (const struct cpg_member *m = g->members; m != NULL; m = m->next)
		n = entry_put(entries, out, n, g, m->nodeid, m->pid);
	return n;
}

static size_t snapshot_put(struct snapshot_entry *entries, CpgIterationDescriptionT **out, int32_t type,
			   const struct cpg_group *only)
{
	size_t n = 0;

	if (type == CPG_ITERATION_ONE_GROUP)
		return only != NULL ? group_entries_put(entries, out, 0, only, type) : 0;
	for (const struct cpg_group *g = cpg_groups_first(&cpg_groups); g != NULL; g = g->next)
		n = group_entries_put(entries, out, n, g, type);
	return n;
}

cs_error_t cpg_handle_groups_snapshot(struct cv_session *s, const CpgGroupsSnapshotRequest *request,
				      CpgGroupsSnapshotReply *reply)
{
	ProtobufCBinaryData name = cpg_name_bytes(request->group);
	const struct cpg_group *only = NULL;
	struct snapshot_entry *entries;
	size_t n;

	if (request->type < CPG_ITERATION_NAME_ONLY || request->type > CPG_ITERATION_ALL)
		return CS_ERR_INVALID_PARAM;
	if (request->type == CPG_ITERATION_ONE_GROUP)
		only = cpg_group_find(&cpg_groups, name.data, name.len);
	n = snapshot_put(NULL, NULL, request->type, only);
	if (n == 0)
		return CS_OK;
	entries = cv_reply_alloc(s, n * sizeof(*entries));
	reply->entries = cv_reply_alloc(s, n * sizeof(*reply->entries));
	if (entries == NULL || reply->entries == NULL)
		return CS_ERR_NO_MEMORY;
	reply->n_entries = snapshot_put(entries, reply->entries, request->type, only);
	return CS_OK;
}

/* ---- service hooks --------------------------------------------------------- */

static int cpg_connect(struct cv_session *s)
{
	struct cpg_member *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return -1;
	m->session = s;
	m->nodeid = cpg_local_nodeid();
	m->pid = (uint32_t)cv_session_pid(s);
	cv_session_set_private(s, m);
	if (cv_cluster_enabled())
		cpg_cluster_connect(m);
	return 0;
}

static void cpg_disconnect(struct cv_session *s)
{
	struct cpg_member *m = cv_session_private(s);

	held_senders_remove(&held, s);
	if (cv_cluster_enabled()) {
		cpg_cluster_disconnect(m);
	} else {
		if (m->group != NULL)
			member_gone(m);
		free(m);
	}
	cv_session_set_private(s, NULL);
	cpg_retry_soon();
}

static void cpg_room(struct cv_session *s)
{
	if (cv_cluster_enabled())
		cpg_cluster_room();
	cpg_retry_soon();
}

static int read_max_message_size(const struct cv_conf *conf, uint32_t *out, char *err, size_t err_size)
{
	const struct cv_conf_reader r = { .conf = conf, .err = err, .err_size = err_size };

	return cv_conf_get_u32(&r, cv_conf_section(cv_conf_root(&r), "conclave"), "cpg_max_message_size", 0,
			       CV_CPG_MAX_MESSAGE_SIZE, out);
}

static int cpg_configure(const struct cv_conf *conf, char *err, size_t err_size)
{
	return read_max_message_size(conf, &max_message_size, err, err_size) < 0 ? -1 : CV_SERVICE_OFFERED;
}

static int cpg_check_reload(const struct cv_conf *next, char *err, size_t err_size)
{
	uint32_t unused;

	return read_max_message_size(next, &unused, err, err_size);
}

static int cpg_start(void)
{
	if (held_senders_start(&held) < 0)
		return -1;
	if (cv_cluster_enabled())
		return cpg_cluster_start();
	return 0;
}

static void cpg_stop(void)
{
	if (cv_cluster_enabled())
		cpg_cluster_stop();
	held_senders_stop(&held);
}

const struct cv_service_ops cpg_service_ops = {
	.configure = cpg_configure,
	.check_reload = cpg_check_reload,
	.start = cpg_start,
	.stop = cpg_stop,
	.connect = cpg_connect,
	.disconnect = cpg_disconnect,
	.room = cpg_room,
};
