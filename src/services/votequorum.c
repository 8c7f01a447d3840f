/* The votequorum service: vote counting for this node (votequorum-math.c),
 * the quorum device, and notifications to trackers. It is the quorum
 * provider: every change is published to quorum-state for the quorum
 * service, and its state to cmap as runtime.votequorum.*.
 *
 * It tracks quorum.* and nodelist.* in cmap, as corosync does, so that
 * changing quorum.expected_votes (or the votes) at run time recalculates
 * quorum and notifies trackers (votequorum-config.h).
 *
 * In cluster mode it counts nothing itself: it follows the corosync on
 * this node (<conclave/cluster.h>), passes corosync's notifications on to
 * its trackers and its quorate turns to the quorum service, and passes
 * getinfo, setexpected, setvotes and the quorum device calls on to
 * corosync (cv_cluster_votequorum_call()). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <corosync/votequorum.h>

#include <conclave/cluster.h>
#include <conclave/service.h>

#include "cv-wire.h"
#include "quorum-state.h"
#include "votequorum-config.h"
#include "votequorum-math.h"
#include "votequorum-server.h"
#include "votequorum-settings.h"

/* The ring id is fixed: one node, one membership for the daemon's life. */
#define VQ_RING_SEQ 1u

struct vq_client {
	struct cv_session *session;
	uint64_t context;
	struct cv_list tracker_link; /* in `trackers` while tracking */
};

enum change_origin { FROM_CLIENT, FROM_DAEMON };

/* The quorum notification lists the nodes corosync has seen (a configured
 * node that never ran is not among them) and a registered quorum device as
 * node 0 with state 0: alone, this node and its device. */
#define VQ_LISTED_MAX (CV_MAX_NODES + 1)

enum notification_kind { NOTIFY_NODELIST, NOTIFY_EXPECTED_VOTES, NOTIFY_QUORUM };

/* One notification for one tracker, built on the stack. */
struct vq_notification {
	enum notification_kind kind;
	VotequorumQuorumNotificationEvent quorum;
	VotequorumNodeT nodes[VQ_LISTED_MAX];
	VotequorumNodeT *node_pointers[VQ_LISTED_MAX];
	VotequorumNodelistNotificationEvent nodelist;
	VotequorumRingIdT ring_id;
	uint32_t member;
	VotequorumExpectedvotesNotificationEvent expected;
};

static struct vq_settings settings_at_start; /* quorum {}, read by the configure hook */
static struct vq_state state;
static struct vq_state scratch; /* a change in progress */
static struct cv_list trackers = CV_LIST_INIT(trackers);
static struct cv_timer *qdevice_timer;
static uint32_t qdevice_timeout_ms;
static struct cmap_track *config_tracks[3];

/* ---- notifications ----------------------------------------------------- */

static void build_quorum(struct vq_notification *n, const struct vq_state *st, bool quorate,
			 bool qdevice_listed)
{
	size_t listed = 0;

	n->kind = NOTIFY_QUORUM;
	n->quorum = (VotequorumQuorumNotificationEvent)VOTEQUORUM_QUORUM_NOTIFICATION_EVENT__INIT;
	n->quorum.quorate = quorate;
	n->nodes[listed] = (VotequorumNodeT)VOTEQUORUM_NODE_T__INIT;
	n->nodes[listed].nodeid = st->nodes[st->local].nodeid;
	n->nodes[listed++].state = VOTEQUORUM_NODESTATE_MEMBER;
	if (qdevice_listed) {
		n->nodes[listed] = (VotequorumNodeT)VOTEQUORUM_NODE_T__INIT;
		n->nodes[listed++].nodeid = VOTEQUORUM_QDEVICE_NODEID;
	}
	for (size_t i = 0; i < listed; i++)
		n->node_pointers[i] = &n->nodes[i];
	n->quorum.n_node_list = listed;
	n->quorum.node_list = n->node_pointers;
}

static void build_nodelist(struct vq_notification *n, const struct vq_state *st)
{
	n->kind = NOTIFY_NODELIST;
	n->ring_id = (VotequorumRingIdT)VOTEQUORUM_RING_ID_T__INIT;
	n->ring_id.nodeid = st->nodes[st->local].nodeid;
	n->ring_id.seq = VQ_RING_SEQ;
	n->member = st->nodes[st->local].nodeid;
	n->nodelist = (VotequorumNodelistNotificationEvent)VOTEQUORUM_NODELIST_NOTIFICATION_EVENT__INIT;
	n->nodelist.ring_id = &n->ring_id;
	n->nodelist.n_node_list = 1;
	n->nodelist.node_list = &n->member;
}

static void build_event(struct vq_notification *n, const struct vq_state *st, const struct vq_event *e,
			uint64_t context)
{
	if (e->type == VQ_EVENT_QUORATE) {
		build_quorum(n, st, e->quorate, e->qdevice_listed);
		n->quorum.context = context;
		return;
	}
	n->kind = NOTIFY_EXPECTED_VOTES;
	n->expected = (VotequorumExpectedvotesNotificationEvent)
		VOTEQUORUM_EXPECTEDVOTES_NOTIFICATION_EVENT__INIT;
	n->expected.expected_votes = e->expected_votes;
	n->expected.context = context;
}

/* ---- following corosync (cluster mode) ---------------------------------- */

static void build_cluster_quorum(struct vq_notification *n, const struct cv_cluster_quorum *q)
{
	n->kind = NOTIFY_QUORUM;
	n->quorum = (VotequorumQuorumNotificationEvent)VOTEQUORUM_QUORUM_NOTIFICATION_EVENT__INIT;
	n->quorum.quorate = q->quorate;
	for (size_t i = 0; i < q->n_listed; i++) {
		n->nodes[i] = (VotequorumNodeT)VOTEQUORUM_NODE_T__INIT;
		n->nodes[i].nodeid = q->listed[i].nodeid;
		n->nodes[i].state = q->listed[i].state;
		n->node_pointers[i] = &n->nodes[i];
	}
	n->quorum.n_node_list = q->n_listed;
	n->quorum.node_list = n->node_pointers;
}

static void build_cluster_nodelist(struct vq_notification *n, const struct cv_cluster_quorum *q)
{
	n->kind = NOTIFY_NODELIST;
	n->ring_id = (VotequorumRingIdT)VOTEQUORUM_RING_ID_T__INIT;
	n->ring_id.nodeid = q->ring_nodeid;
	n->ring_id.seq = q->ring_seq;
	n->nodelist = (VotequorumNodelistNotificationEvent)VOTEQUORUM_NODELIST_NOTIFICATION_EVENT__INIT;
	n->nodelist.ring_id = &n->ring_id;
	n->nodelist.n_node_list = q->n_members;
	n->nodelist.node_list = (uint32_t *)q->members;
}

static void build_cluster_event(struct vq_notification *n, enum cv_quorum_event event,
				const struct cv_cluster_quorum *q)
{
	switch (event) {
	case CV_QUORUM_NODELIST:
		build_cluster_nodelist(n, q);
		return;
	case CV_QUORUM_QUORATE:
		build_cluster_quorum(n, q);
		return;
	case CV_QUORUM_EXPECTED_VOTES:
		break;
	}
	n->kind = NOTIFY_EXPECTED_VOTES;
	n->expected = (VotequorumExpectedvotesNotificationEvent)
		VOTEQUORUM_EXPECTEDVOTES_NOTIFICATION_EVENT__INIT;
	n->expected.expected_votes = q->expected_votes;
}

static void set_context(struct vq_notification *n, uint64_t context)
{
	switch (n->kind) {
	case NOTIFY_NODELIST:
		n->nodelist.context = context;
		return;
	case NOTIFY_EXPECTED_VOTES:
		n->expected.context = context;
		return;
	case NOTIFY_QUORUM:
		n->quorum.context = context;
		return;
	}
}

static void view_from_cluster(struct quorum_view *view, const struct cv_cluster_quorum *q)
{
	memset(view, 0, sizeof(*view));
	view->provider = true;
	view->quorate = q->quorate;
	view->ring_nodeid = q->ring_nodeid;
	view->ring_seq = q->ring_seq;
	view->n_members = q->n_members;
	memcpy(view->members, q->members, q->n_members * sizeof(q->members[0]));
}

static const ProtobufCMessage *notification_message(const struct vq_notification *n)
{
	switch (n->kind) {
	case NOTIFY_NODELIST:
		return &n->nodelist.base;
	case NOTIFY_EXPECTED_VOTES:
		return &n->expected.base;
	case NOTIFY_QUORUM:
		break;
	}
	return &n->quorum.base;
}

static cs_error_t notification_send(struct cv_session *s, const struct vq_notification *n)
{
	switch (n->kind) {
	case NOTIFY_NODELIST:
		return votequorum_send_nodelist_notification(s, &n->nodelist);
	case NOTIFY_EXPECTED_VOTES:
		return votequorum_send_expectedvotes_notification(s, &n->expected);
	case NOTIFY_QUORUM:
		break;
	}
	return votequorum_send_quorum_notification(s, &n->quorum);
}

/* Payload bytes plus the headers of all but the first frame, as
 * cv_session_has_room() counts them. */
static size_t events_size(const struct vq_state *st, uint64_t context)
{
	struct vq_notification n;
	size_t size = 0;

	for (size_t i = 0; i < st->n_events; i++) {
		build_event(&n, st, &st->events[i], context);
		size += protobuf_c_message_get_packed_size(notification_message(&n)) +
			(i > 0 ? sizeof(struct cv_frame_header) : 0);
	}
	return size;
}

/* corosync's notification, to every tracker; a turn of quorate or a new
 * membership reaches the quorum service with the quorate notification
 * that follows it, as corosync's quorum service hears of both at once. */
static void cluster_event(enum cv_quorum_event event, const struct cv_cluster_quorum *q)
{
	struct vq_notification n;
	struct quorum_view view;
	struct vq_client *c;

	build_cluster_event(&n, event, q);
	cv_list_for_each (c, &trackers, tracker_link) {
		set_context(&n, c->context);
		if (notification_send(c->session, &n) != CS_OK)
			cv_session_close(c->session, "votequorum notification queue full");
	}
	if (event == CV_QUORUM_QUORATE) {
		view_from_cluster(&view, q);
		quorum_state_publish(&view);
	}
}

static const struct cv_quorum_ops cluster_ops = { .event = cluster_event };

/* ---- committing a change ----------------------------------------------- */

static void view_from_state(struct quorum_view *view, const struct vq_state *st, bool quorate)
{
	memset(view, 0, sizeof(*view));
	view->provider = true;
	view->quorate = quorate;
	view->ring_nodeid = st->nodes[st->local].nodeid;
	view->ring_seq = VQ_RING_SEQ;
	view->n_members = 1;
	view->members[0] = st->nodes[st->local].nodeid;
}

/* The quorum service's views, one per turn of quorate. */
static size_t quorum_views(const struct vq_state *st, struct quorum_view views[VQ_MAX_EVENTS])
{
	size_t n = 0;

	for (size_t i = 0; i < st->n_events; i++)
		if (st->events[i].type == VQ_EVENT_QUORATE)
			view_from_state(&views[n++], st, st->events[i].quorate);
	return n;
}

static bool events_fit(const struct vq_state *next)
{
	struct quorum_view views[VQ_MAX_EVENTS];
	struct vq_client *c;

	if (next->n_events == 0)
		return true;
	cv_list_for_each (c, &trackers, tracker_link)
		if (!cv_session_has_room(c->session, events_size(next, c->context)))
			return false;
	return quorum_state_can_publish(views, quorum_views(next, views));
}

/* The events in corosync's order: each goes to every tracker, and a turn
 * of quorate to the quorum service too. */
static void notify_events(const struct vq_state *st)
{
	struct vq_notification n;
	struct quorum_view view;
	struct vq_client *c;

	for (size_t i = 0; i < st->n_events; i++) {
		cv_list_for_each (c, &trackers, tracker_link) {
			build_event(&n, st, &st->events[i], c->context);
			if (notification_send(c->session, &n) != CS_OK)
				cv_session_close(c->session, "votequorum notification queue full");
		}
		if (st->events[i].type == VQ_EVENT_QUORATE) {
			view_from_state(&view, st, st->events[i].quorate);
			quorum_state_publish(&view);
		}
	}
}

/* The cmap keys corosync keeps up to date with votequorum's state. */
static void publish_runtime_keys(void)
{
	struct cmap_store *map = cmap_default_map();

	cmap_store_write_u32(map, "runtime.votequorum.this_node_id", state.nodes[state.local].nodeid);
	cmap_store_write_u32(map, "runtime.votequorum.ev_barrier", state.ev_barrier);
	cmap_store_write_u8(map, "runtime.votequorum.two_node", state.two_node);
	if (state.lowest_node_id >= 0)
		cmap_store_write_u32(map, "runtime.votequorum.lowest_node_id",
				     (uint32_t)state.lowest_node_id);
	if (state.highest_node_id >= 0)
		cmap_store_write_u32(map, "runtime.votequorum.highest_node_id",
				     (uint32_t)state.highest_node_id);
	if (state.auto_tie_breaker != CV_ATB_NONE)
		cmap_store_write_u32(map, "runtime.votequorum.atb_type", (uint32_t)state.auto_tie_breaker);
	if (state.qdevice_can_operate_published)
		cmap_store_write_u8(map, "runtime.votequorum.qdevice_can_operate", state.qdevice_allowed);
	if (state.qdevice_master_wins_published)
		cmap_store_write_u8(map, "runtime.votequorum.qdevice_master_wins", state.qdevice_master_wins);
}

/* CS_OK when a change a client asked for could be committed now. */
static cs_error_t can_commit(const struct vq_state *next)
{
	return events_fit(next) ? CS_OK : CS_ERR_TRY_AGAIN;
}

/* Makes `next` the state and notifies the trackers of both services of its
 * events. A change a client asked for is refused with CS_ERR_TRY_AGAIN,
 * before anything changes, when a tracker has no room for its
 * notifications; a change the daemon makes on its own closes such trackers
 * instead. */
static cs_error_t commit(const struct vq_state *next, enum change_origin origin)
{
	if (origin == FROM_CLIENT && !events_fit(next))
		return CS_ERR_TRY_AGAIN;
	state = *next;
	state.n_events = 0;
	notify_events(next);
	publish_runtime_keys();
	return CS_OK;
}

/* A change starts from the current state, with no events yet. */
static struct vq_state *change_begin(void)
{
	scratch = state;
	scratch.n_events = 0;
	return &scratch;
}

/* ---- tracking ---------------------------------------------------------- */

static bool tracking(const struct vq_client *c)
{
	return cv_list_linked(&c->tracker_link);
}

static void tracker_add(struct vq_client *c, uint64_t context)
{
	c->context = context;
	cv_list_insert(&trackers, &c->tracker_link);
}

/* The node list, then the quorum, as corosync sends them at trackstart. */
static cs_error_t send_snapshot(struct cv_session *s, uint64_t context)
{
	struct vq_notification nodelist, quorum;
	size_t size;
	cs_error_t err;

	if (cv_cluster_enabled()) {
		build_cluster_nodelist(&nodelist, cv_cluster_quorum());
		build_cluster_quorum(&quorum, cv_cluster_quorum());
	} else {
		build_nodelist(&nodelist, &state);
		build_quorum(&quorum, &state, state.quorate, state.qdevice_flags & VQ_QDEVICE_REGISTERED);
	}
	nodelist.nodelist.context = context;
	quorum.quorum.context = context;
	size = protobuf_c_message_get_packed_size(&nodelist.nodelist.base) + sizeof(struct cv_frame_header) +
	       protobuf_c_message_get_packed_size(&quorum.quorum.base);
	if (!cv_session_has_room(s, size))
		return CS_ERR_TRY_AGAIN;
	err = notification_send(s, &nodelist);
	return err == CS_OK ? notification_send(s, &quorum) : err;
}

cs_error_t votequorum_handle_trackstart(struct cv_session *s, const VotequorumTrackstartRequest *request,
					VotequorumTrackstartReply *reply)
{
	struct vq_client *c = cv_session_private(s);
	cs_error_t err;

	if (request->flags & (CS_TRACK_CURRENT | CS_TRACK_CHANGES)) {
		err = send_snapshot(s, request->context);
		if (err != CS_OK)
			return err;
	}
	if (tracking(c))
		return CS_ERR_EXIST;
	if (request->flags & (CS_TRACK_CHANGES | CS_TRACK_CHANGES_ONLY))
		tracker_add(c, request->context);
	return CS_OK;
}

cs_error_t votequorum_handle_trackstop(struct cv_session *s, const VotequorumTrackstopRequest *request,
				       VotequorumTrackstopReply *reply)
{
	struct vq_client *c = cv_session_private(s);

	if (!tracking(c))
		return CS_ERR_NOT_EXIST;
	cv_list_remove(&c->tracker_link);
	return CS_OK;
}

/* ---- vote requests ----------------------------------------------------- */

static char *reply_strdup(struct cv_session *s, const char *text)
{
	size_t size = strlen(text) + 1;
	char *copy = cv_reply_alloc(s, size);

	if (copy)
		memcpy(copy, text, size);
	return copy;
}

static void info_from_cluster(VotequorumInfo *info, const struct cv_quorum_info *got)
{
	info->node_id = got->node_id;
	info->node_state = got->node_state;
	info->node_votes = got->node_votes;
	info->node_expected_votes = got->node_expected_votes;
	info->highest_expected = got->highest_expected;
	info->total_votes = got->total_votes;
	info->quorum = got->quorum;
	info->flags = got->flags;
	info->qdevice_votes = got->qdevice_votes;
	info->qdevice_name = (char *)got->qdevice_name;
}

static void cluster_getinfo_answered(struct cv_session *s, const struct cv_pending_reply *pending,
				     cs_error_t err, const void *result)
{
	VotequorumGetinfoReply reply = VOTEQUORUM_GETINFO_REPLY__INIT;
	VotequorumInfo info = VOTEQUORUM_INFO__INIT;

	if (s == NULL)
		return;
	if (result == NULL) {
		cv_session_reply(s, pending, err, NULL);
		return;
	}
	info_from_cluster(&info, result);
	reply.info = &info;
	cv_session_reply(s, pending, err, &reply.base);
}

/* A request passed on to corosync's votequorum (cluster mode). */
static cs_error_t pass_on(struct cv_session *s, const struct cv_vq_request *request)
{
	return cv_cluster_votequorum_call(s, request,
					  request->kind == CV_VQ_GETINFO ? cluster_getinfo_answered : NULL);
}

cs_error_t votequorum_handle_getinfo(struct cv_session *s, const VotequorumGetinfoRequest *request,
				     VotequorumGetinfoReply *reply)
{
	uint32_t nodeid = request->nodeid == VOTEQUORUM_QDEVICE_NODEID ? state.nodes[state.local].nodeid
								       : request->nodeid;
	const struct vq_node *node = vq_find_node(&state, nodeid);
	bool device_votes_elsewhere = node != &state.nodes[state.local] &&
				      (state.qdevice_flags & VQ_QDEVICE_CAST_VOTE);
	VotequorumInfo *info;

	if (cv_cluster_enabled())
		return pass_on(s,
			       &(struct cv_vq_request){ .kind = CV_VQ_GETINFO, .nodeid = request->nodeid });
	if (!node)
		return CS_ERR_NOT_EXIST;
	info = cv_reply_alloc(s, sizeof(*info));
	if (!info)
		return CS_ERR_NO_MEMORY;
	votequorum_info__init(info);
	info->node_id = node->nodeid;
	info->node_state = node->state;
	info->node_votes = node->votes;
	info->node_expected_votes = node->expected_votes;
	info->highest_expected = vq_highest_expected(&state);
	/* the device belongs to the local node: other nodes do not count it */
	info->total_votes = vq_total_votes(&state) - (device_votes_elsewhere ? state.qdevice_votes : 0);
	info->quorum = state.quorum;
	info->flags = vq_info_flags(&state, node);
	info->qdevice_votes = state.qdevice_votes;
	info->qdevice_name = reply_strdup(s, state.qdevice_name);
	if (!info->qdevice_name)
		return CS_ERR_NO_MEMORY;
	reply->info = info;
	return CS_OK;
}

cs_error_t votequorum_handle_setexpected(struct cv_session *s, const VotequorumSetexpectedRequest *request,
					 VotequorumSetexpectedReply *reply)
{
	struct vq_state *next;
	cs_error_t err;

	if (cv_cluster_enabled())
		return pass_on(s, &(struct cv_vq_request){ .kind = CV_VQ_SETEXPECTED,
							   .value = request->expected_votes });
	next = change_begin();
	err = vq_set_expected(next, request->expected_votes);

	return err == CS_OK ? commit(next, FROM_CLIENT) : err;
}

cs_error_t votequorum_handle_setvotes(struct cv_session *s, const VotequorumSetvotesRequest *request,
				      VotequorumSetvotesReply *reply)
{
	struct vq_state *next;
	cs_error_t err;

	if (cv_cluster_enabled())
		return pass_on(s, &(struct cv_vq_request){ .kind = CV_VQ_SETVOTES,
							   .nodeid = request->nodeid,
							   .value = request->votes });
	next = change_begin();
	err = vq_set_votes(next, request->nodeid, request->votes);

	return err == CS_OK ? commit(next, FROM_CLIENT) : err;
}

/* ---- the quorum device ------------------------------------------------- */

static bool ring_id_is_current(const VotequorumRingIdT *ring_id)
{
	return ring_id && ring_id->nodeid == state.nodes[state.local].nodeid && ring_id->seq == VQ_RING_SEQ;
}

cs_error_t votequorum_handle_qdevice_register(struct cv_session *s,
					      const VotequorumQdeviceRegisterRequest *request,
					      VotequorumQdeviceRegisterReply *reply)
{
	if (cv_cluster_enabled())
		return pass_on(
			s, &(struct cv_vq_request){ .kind = CV_VQ_QDEVICE_REGISTER, .name = request->name });
	bool was_registered = state.qdevice_flags & VQ_QDEVICE_REGISTERED;
	struct vq_state *next = change_begin();
	cs_error_t err = vq_qdevice_register(next, request->name);

	if (err == CS_OK)
		err = commit(next, FROM_CLIENT);
	if (err == CS_OK && !was_registered)
		cv_log_info("quorum device %s registered by pid %d", request->name, (int)cv_session_pid(s));
	return err;
}

cs_error_t votequorum_handle_qdevice_unregister(struct cv_session *s,
						const VotequorumQdeviceUnregisterRequest *request,
						VotequorumQdeviceUnregisterReply *reply)
{
	if (cv_cluster_enabled())
		return pass_on(s, &(struct cv_vq_request){ .kind = CV_VQ_QDEVICE_UNREGISTER,
							   .name = request->name });
	struct vq_state *next = change_begin();
	cs_error_t err = vq_qdevice_unregister(next, request->name);

	if (err == CS_OK)
		err = commit(next, FROM_CLIENT);
	if (err == CS_OK) {
		cv_timer_stop(qdevice_timer);
		cv_log_info("quorum device %s unregistered by pid %d", request->name, (int)cv_session_pid(s));
	}
	return err;
}

cs_error_t votequorum_handle_qdevice_update(struct cv_session *s,
					    const VotequorumQdeviceUpdateRequest *request,
					    VotequorumQdeviceUpdateReply *reply)
{
	if (cv_cluster_enabled())
		return pass_on(s, &(struct cv_vq_request){ .kind = CV_VQ_QDEVICE_UPDATE,
							   .name = request->oldname,
							   .newname = request->newname });
	struct vq_state *next = change_begin();
	cs_error_t err = vq_qdevice_update(next, request->oldname, request->newname);

	return err == CS_OK ? commit(next, FROM_CLIENT) : err;
}

cs_error_t votequorum_handle_qdevice_poll(struct cv_session *s, const VotequorumQdevicePollRequest *request,
					  VotequorumQdevicePollReply *reply)
{
	if (cv_cluster_enabled())
		return pass_on(s, &(struct cv_vq_request){
					  .kind = CV_VQ_QDEVICE_POLL,
					  .name = request->name,
					  .value = request->cast_vote,
					  .ring_nodeid = request->ring_id ? request->ring_id->nodeid : 0,
					  .ring_seq = request->ring_id ? request->ring_id->seq : 0,
				  });
	struct vq_state *next = change_begin();
	cs_error_t err = vq_qdevice_poll(next, request->name, request->cast_vote != 0,
					 ring_id_is_current(request->ring_id));

	if (err == CS_OK)
		err = commit(next, FROM_CLIENT);
	if (err == CS_OK)
		cv_timer_start(qdevice_timer, qdevice_timeout_ms);
	return err;
}

cs_error_t votequorum_handle_qdevice_master_wins(struct cv_session *s,
						 const VotequorumQdeviceMasterWinsRequest *request,
						 VotequorumQdeviceMasterWinsReply *reply)
{
	if (cv_cluster_enabled())
		return pass_on(s, &(struct cv_vq_request){ .kind = CV_VQ_QDEVICE_MASTER_WINS,
							   .name = request->name,
							   .value = request->allow });
	struct vq_state *next = change_begin();
	cs_error_t err = vq_qdevice_master_wins(next, request->name, request->allow != 0);

	return err == CS_OK ? commit(next, FROM_CLIENT) : err;
}

static void qdevice_poll_missed(void *data)
{
	struct vq_state *next = change_begin();

	if (!vq_qdevice_timed_out(next))
		return;
	cv_log_info("lost contact with quorum device %s: no poll within %u ms", state.qdevice_name,
		    qdevice_timeout_ms);
	commit(next, FROM_DAEMON);
}

/* ---- settings from cmap ------------------------------------------------ */

/* Where cmap takes the votes with the change c, read as corosync reads
 * it (a deleted key is still there: see cmap_change_lookup()); NULL when
 * they would not fit in 32 bits. */
static struct vq_state *state_after(const struct cmap_change *c)
{
	const struct cv_settings *settings = cv_server_settings();
	struct vq_runtime_config cfg;
	struct vq_state *next;

	if (vq_read_runtime_config(cmap_default_map(), c, settings, &cfg) < 0)
		return NULL;
	next = change_begin();
	vq_apply_runtime_config(next, &cfg, settings);
	return next;
}

/* A client's change of quorum.* or nodelist.*: refused when its
 * consequences could not reach every tracker, or the votes overflow. */
static cs_error_t config_change_check(struct cmap_track *t, const struct cmap_change *c)
{
	struct vq_state *next = state_after(c);

	return next ? can_commit(next) : CS_ERR_INVALID_PARAM;
}

/* A reload changes many keys: follow them once it is over, as corosync. */
static bool reload_in_progress(void)
{
	uint8_t buffer[CMAP_COMPUTED_MAX], reloading = 0;
	struct cmap_value v;

	return cmap_store_get(cmap_default_map(), "config.reload_in_progress", &v, buffer) == CS_OK &&
	       cmap_value_u8(&v, &reloading) && reloading;
}

static void config_changed(struct cmap_track *t, const struct cmap_change *c)
{
	struct vq_state *next;

	if (reload_in_progress())
		return;
	next = state_after(c);
	if (!next) {
		cv_log_warning("votequorum: ignoring %s: the votes would not fit in 32 bits", c->key);
		return;
	}
	commit(next, FROM_DAEMON);
}

static const struct cmap_track_ops config_track_ops = {
	.deliver = config_changed,
	.check = config_change_check,
	.internal = true,
};

static int track_configuration(void)
{
	const int32_t all = CMAP_STORE_ADDED | CMAP_STORE_MODIFIED | CMAP_STORE_DELETED | CMAP_STORE_PREFIX;

	config_tracks[0] = cmap_store_add_track(cmap_default_map(), "quorum.", all, &config_track_ops, NULL);
	config_tracks[1] = cmap_store_add_track(cmap_default_map(), "nodelist.", all, &config_track_ops,
						NULL);
	config_tracks[2] = cmap_store_add_track(cmap_default_map(), "config.reload_in_progress",
						CMAP_STORE_ADDED | CMAP_STORE_MODIFIED, &config_track_ops,
						NULL);
	return config_tracks[0] && config_tracks[1] && config_tracks[2] ? 0 : -1;
}

static void untrack_configuration(void)
{
	for (size_t i = 0; i < 3; i++) {
		if (config_tracks[i])
			cmap_store_remove_track(config_tracks[i]);
		config_tracks[i] = NULL;
	}
}

/* corosync's read-only quorum options (votequorum.c), and the provider
 * itself when no file names it. */
static int guard_configuration(void)
{
	static const char *const read_only[] = {
		"quorum.allow_downscale",         "quorum.wait_for_all",
		"quorum.last_man_standing",       "quorum.last_man_standing_window",
		"quorum.expected_votes_tracking", "quorum.auto_tie_breaker",
		"quorum.auto_tie_breaker_node",
	};
	int r = 0;

	for (size_t i = 0; i < sizeof(read_only) / sizeof(read_only[0]); i++)
		r |= cmap_store_add_ro(cmap_default_map(), read_only[i], false);
	if (!cv_server_settings()->conf)
		r |= cmap_store_write_string(cmap_default_map(), "quorum.provider", "corosync_votequorum") !=
		     CS_OK;
	return r ? -1 : 0;
}

/* ---- service hooks ----------------------------------------------------- */

static int votequorum_start(void)
{
	struct quorum_view view;

	vq_init(&state, cv_server_settings(), &settings_at_start);
	qdevice_timeout_ms = settings_at_start.device_timeout_ms;
	if (guard_configuration() < 0)
		return -1;
	qdevice_timer = cv_timer_new(qdevice_poll_missed, NULL);
	if (!qdevice_timer)
		return -1;
	if (cv_cluster_enabled()) {
		cv_cluster_quorum_register(&cluster_ops);
		view_from_cluster(&view, cv_cluster_quorum());
		quorum_state_publish(&view);
		cv_log_info("votequorum: following corosync's");
		return 0;
	}
	if (track_configuration() < 0)
		return -1;
	view_from_state(&view, &state, state.quorate);
	quorum_state_publish(&view);
	publish_runtime_keys();
	cv_log_info("votequorum: node %u, %u votes, expected votes %u, quorum %u, %squorate",
		    state.nodes[state.local].nodeid, state.nodes[state.local].votes,
		    state.nodes[state.local].expected_votes, state.quorum, state.quorate ? "" : "not ");
	return 0;
}

static void votequorum_stop(void)
{
	untrack_configuration();
	cv_timer_free(qdevice_timer);
	qdevice_timer = NULL;
	quorum_state_reset();
}

static int votequorum_connect(struct cv_session *s)
{
	struct vq_client *c = calloc(1, sizeof(*c));

	if (!c)
		return -1;
	c->session = s;
	cv_list_init(&c->tracker_link);
	cv_session_set_private(s, c);
	return 0;
}

static void votequorum_disconnect(struct cv_session *s)
{
	struct vq_client *c = cv_session_private(s);

	cv_list_remove(&c->tracker_link);
	free(c);
	cv_session_set_private(s, NULL);
	if (cv_cluster_enabled())
		cv_cluster_forget_session(s);
}

/* Offered only as the quorum provider (quorum.provider: corosync_votequorum),
 * which needs no configuration file. */
static int votequorum_configure(const struct cv_conf *conf, char *err, size_t err_size)
{
	if (vq_settings_load(conf, cv_server_settings(), &settings_at_start, err, err_size) < 0)
		return -1;
	return settings_at_start.votequorum ? CV_SERVICE_OFFERED : CV_SERVICE_NOT_OFFERED;
}

/* A reload may change votes and options, which votequorum follows in cmap,
 * but not whether it is the provider. */
static int votequorum_check_reload(const struct cv_conf *next, char *err, size_t err_size)
{
	static struct vq_settings scratch_settings; /* large: not on the stack */

	if (vq_settings_load(next, cv_server_settings(), &scratch_settings, err, err_size) < 0)
		return -1;
	if (scratch_settings.votequorum != settings_at_start.votequorum) {
		snprintf(err, err_size, "the quorum provider changed: restart conclaved");
		return -1;
	}
	return 0;
}

const struct cv_service_ops votequorum_service_ops = {
	.configure = votequorum_configure,
	.check_reload = votequorum_check_reload,
	.start = votequorum_start,
	.stop = votequorum_stop,
	.connect = votequorum_connect,
	.disconnect = votequorum_disconnect,
};
