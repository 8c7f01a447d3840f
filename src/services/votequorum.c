/* The votequorum service: vote counting for this node (votequorum-math.c),
 * the quorum device, and notifications to trackers. It is the quorum
 * provider: every change is published to quorum-state for the quorum
 * service, and its state to cmap as runtime.votequorum.*.
 *
 * It tracks quorum.* and nodelist.* in cmap, as corosync does, so that
 * changing quorum.expected_votes (or the votes) at run time recalculates
 * quorum and notifies trackers (votequorum-config.h). */
#include <stdlib.h>
#include <string.h>

#include <corosync/votequorum.h>

#include "cv-wire.h"
#include "cmap-maps.h"
#include "cv-list.h"
#include "cv-log.h"
#include "quorum-state.h"
#include "votequorum-config.h"
#include "votequorum-math.h"
#include "votequorum-server.h"

/* The ring id is fixed: one node, one membership for the daemon's life. */
#define VQ_RING_SEQ 1u

struct vq_client {
	struct cv_session *session;
	uint64_t context;
	struct cv_list tracker_link; /* in `trackers` while tracking */
};

/* A change's notifications, built once and sent with each tracker's context. */
struct vq_events {
	VotequorumQuorumNotificationEvent quorum;
	VotequorumNodelistNotificationEvent nodelist;
	VotequorumExpectedvotesNotificationEvent expected;
	VotequorumRingIdT ring_id;
	VotequorumNodeT nodes[VQ_MAX_NODES + 1];
	VotequorumNodeT *node_pointers[VQ_MAX_NODES + 1];
	uint32_t member;
	bool send_expected, send_quorum, send_nodelist;
};

enum change_origin { FROM_CLIENT, FROM_DAEMON };

static struct vq_state state;
static struct vq_state scratch; /* a change in progress */
static struct cv_list trackers = CV_LIST_INIT(trackers);
static struct cv_timer *qdevice_timer;
static struct cv_session *qdevice_owner;
static uint32_t qdevice_timeout_ms;
static struct cmap_track *config_tracks[3];

/* ---- events ------------------------------------------------------------ */

/* corosync reports state 0 for the device; we say whether it counts. */
static uint32_t qdevice_state(const struct vq_state *st)
{
	return (st->qdevice_flags & VQ_QDEVICE_CAST_VOTE) ? VOTEQUORUM_NODESTATE_MEMBER : VOTEQUORUM_NODESTATE_DEAD;
}

static void build_node_list(struct vq_events *e, const struct vq_state *st)
{
	size_t n = 0;

	for (size_t i = 0; i < st->n_nodes; i++, n++) {
		e->nodes[n] = (VotequorumNodeT)VOTEQUORUM_NODE_T__INIT;
		e->nodes[n].nodeid = st->nodes[i].nodeid;
		e->nodes[n].state = st->nodes[i].state;
	}
	if (st->qdevice_flags & VQ_QDEVICE_REGISTERED) {
		e->nodes[n] = (VotequorumNodeT)VOTEQUORUM_NODE_T__INIT;
		e->nodes[n].nodeid = VOTEQUORUM_QDEVICE_NODEID;
		e->nodes[n].state = qdevice_state(st);
		n++;
	}
	for (size_t i = 0; i < n; i++)
		e->node_pointers[i] = &e->nodes[i];
	e->quorum.n_node_list = n;
	e->quorum.node_list = e->node_pointers;
}

static void build_events(struct vq_events *e, const struct vq_state *st)
{
	e->quorum = (VotequorumQuorumNotificationEvent)VOTEQUORUM_QUORUM_NOTIFICATION_EVENT__INIT;
	e->quorum.quorate = st->quorate;
	build_node_list(e, st);
	e->ring_id = (VotequorumRingIdT)VOTEQUORUM_RING_ID_T__INIT;
	e->ring_id.nodeid = st->nodes[st->local].nodeid;
	e->ring_id.seq = VQ_RING_SEQ;
	e->member = st->nodes[st->local].nodeid;
	e->nodelist = (VotequorumNodelistNotificationEvent)VOTEQUORUM_NODELIST_NOTIFICATION_EVENT__INIT;
	e->nodelist.ring_id = &e->ring_id;
	e->nodelist.n_node_list = 1;
	e->nodelist.node_list = &e->member;
	e->expected = (VotequorumExpectedvotesNotificationEvent)VOTEQUORUM_EXPECTEDVOTES_NOTIFICATION_EVENT__INIT;
	e->expected.expected_votes = st->nodes[st->local].expected_votes;
}

static void set_context(struct vq_events *e, uint64_t context)
{
	e->quorum.context = context;
	e->nodelist.context = context;
	e->expected.context = context;
}

/* Payload bytes plus the headers of all but the first frame, as
 * cv_session_has_room() counts them. */
static size_t events_size(const struct vq_events *e)
{
	size_t size = 0, frames = 0;

	if (e->send_nodelist)
		size += protobuf_c_message_get_packed_size(&e->nodelist.base), frames++;
	if (e->send_expected)
		size += protobuf_c_message_get_packed_size(&e->expected.base), frames++;
	if (e->send_quorum)
		size += protobuf_c_message_get_packed_size(&e->quorum.base), frames++;
	return size + (frames > 1 ? (frames - 1) * sizeof(struct cv_frame_header) : 0);
}

/* In corosync's order: node list, expected votes, quorum. */
static cs_error_t events_send(struct cv_session *s, const struct vq_events *e)
{
	cs_error_t err = CS_OK;

	if (e->send_nodelist)
		err = votequorum_send_nodelist_notification(s, &e->nodelist);
	if (err == CS_OK && e->send_expected)
		err = votequorum_send_expectedvotes_notification(s, &e->expected);
	if (err == CS_OK && e->send_quorum)
		err = votequorum_send_quorum_notification(s, &e->quorum);
	return err;
}

/* ---- committing a change ----------------------------------------------- */

static bool nodes_differ(const struct vq_state *a, const struct vq_state *b)
{
	for (size_t i = 0; i < a->n_nodes; i++)
		if (a->nodes[i].state != b->nodes[i].state || a->nodes[i].votes != b->nodes[i].votes ||
		    a->nodes[i].expected_votes != b->nodes[i].expected_votes)
			return true;
	return false;
}

/* What the quorum notification and getinfo show; not the device's name. */
static bool state_differs(const struct vq_state *a, const struct vq_state *b)
{
	return a->quorum != b->quorum || a->quorate != b->quorate || a->qdevice_flags != b->qdevice_flags ||
	       a->qdevice_votes != b->qdevice_votes || nodes_differ(a, b);
}

static void view_from_state(struct quorum_view *view, const struct vq_state *st)
{
	memset(view, 0, sizeof(*view));
	view->provider = true;
	view->quorate = st->quorate;
	view->ring_nodeid = st->nodes[st->local].nodeid;
	view->ring_seq = VQ_RING_SEQ;
	view->n_members = 1;
	view->members[0] = st->nodes[st->local].nodeid;
}

static bool trackers_have_room(struct vq_events *e)
{
	struct vq_client *c;

	cv_list_for_each(c, &trackers, tracker_link) {
		set_context(e, c->context);
		if (!cv_session_has_room(c->session, events_size(e)))
			return false;
	}
	return true;
}

static void notify_trackers(struct vq_events *e)
{
	struct vq_client *c;

	cv_list_for_each(c, &trackers, tracker_link) {
		set_context(e, c->context);
		if (events_send(c->session, e) != CS_OK)
			cv_session_close(c->session, "votequorum notification queue full");
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
		cmap_store_write_u32(map, "runtime.votequorum.lowest_node_id", (uint32_t)state.lowest_node_id);
	if (state.highest_node_id >= 0)
		cmap_store_write_u32(map, "runtime.votequorum.highest_node_id", (uint32_t)state.highest_node_id);
	if (state.auto_tie_breaker != CV_ATB_NONE)
		cmap_store_write_u32(map, "runtime.votequorum.atb_type", (uint32_t)state.auto_tie_breaker);
}

/* The notifications going from the state to `next` causes. */
static struct vq_events *events_for(const struct vq_state *next, bool expected_requested, struct quorum_view *view)
{
	struct vq_events *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->send_expected = expected_requested ||
			   next->nodes[next->local].expected_votes != state.nodes[state.local].expected_votes;
	e->send_quorum = state_differs(&state, next);
	build_events(e, next);
	view_from_state(view, next);
	return e;
}

static bool events_fit(struct vq_events *e, const struct quorum_view *view)
{
	return !(e->send_expected || e->send_quorum) || (trackers_have_room(e) && quorum_state_can_publish(view));
}

/* CS_OK when a change a client asked for could be committed now. */
static cs_error_t can_commit(const struct vq_state *next, bool expected_requested)
{
	struct quorum_view view;
	struct vq_events *e = events_for(next, expected_requested, &view);
	cs_error_t err;

	if (!e)
		return CS_ERR_NO_MEMORY;
	err = events_fit(e, &view) ? CS_OK : CS_ERR_TRY_AGAIN;
	free(e);
	return err;
}

/* Makes `next` the state and notifies the trackers of both services. A
 * change a client asked for is refused with CS_ERR_TRY_AGAIN, before
 * anything changes, when a tracker has no room for its notifications; a
 * change the daemon makes on its own closes such trackers instead. */
static cs_error_t commit(const struct vq_state *next, bool expected_requested, enum change_origin origin)
{
	struct quorum_view view;
	struct vq_events *e = events_for(next, expected_requested, &view);

	if (!e)
		return CS_ERR_NO_MEMORY;
	if (origin == FROM_CLIENT && !events_fit(e, &view)) {
		free(e);
		return CS_ERR_TRY_AGAIN;
	}
	state = *next;
	if (e->send_expected || e->send_quorum) {
		notify_trackers(e);
		quorum_state_publish(&view);
	}
	free(e);
	publish_runtime_keys();
	return CS_OK;
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

static cs_error_t send_snapshot(struct cv_session *s, uint64_t context)
{
	struct vq_events *e = calloc(1, sizeof(*e));
	cs_error_t err;

	if (!e)
		return CS_ERR_NO_MEMORY;
	build_events(e, &state);
	e->send_nodelist = e->send_quorum = true;
	set_context(e, context);
	err = cv_session_has_room(s, events_size(e)) ? events_send(s, e) : CS_ERR_TRY_AGAIN;
	free(e);
	return err;
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

cs_error_t votequorum_handle_getinfo(struct cv_session *s, const VotequorumGetinfoRequest *request,
				     VotequorumGetinfoReply *reply)
{
	uint32_t nodeid = request->nodeid == VOTEQUORUM_QDEVICE_NODEID ? state.nodes[state.local].nodeid
								       : request->nodeid;
	const struct vq_node *node = vq_find_node(&state, nodeid);
	bool device_votes_elsewhere = node != &state.nodes[state.local] && (state.qdevice_flags & VQ_QDEVICE_CAST_VOTE);
	VotequorumInfo *info;

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
	cs_error_t err;

	scratch = state;
	err = vq_set_expected(&scratch, request->expected_votes);
	if (err != CS_OK)
		return err;
	return commit(&scratch, true, FROM_CLIENT);
}

cs_error_t votequorum_handle_setvotes(struct cv_session *s, const VotequorumSetvotesRequest *request,
				      VotequorumSetvotesReply *reply)
{
	cs_error_t err;

	scratch = state;
	err = vq_set_votes(&scratch, request->nodeid, request->votes);
	if (err != CS_OK)
		return err;
	return commit(&scratch, false, FROM_CLIENT);
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
	bool was_registered = state.qdevice_flags & VQ_QDEVICE_REGISTERED;
	cs_error_t err;

	scratch = state;
	err = vq_qdevice_register(&scratch, request->name);
	if (err == CS_OK)
		err = commit(&scratch, false, FROM_CLIENT);
	if (err == CS_OK && !was_registered) {
		qdevice_owner = s;
		cv_log_info("quorum device %s registered by pid %d", request->name, (int)cv_session_pid(s));
	}
	return err;
}

cs_error_t votequorum_handle_qdevice_unregister(struct cv_session *s,
						const VotequorumQdeviceUnregisterRequest *request,
						VotequorumQdeviceUnregisterReply *reply)
{
	cs_error_t err;

	scratch = state;
	err = vq_qdevice_unregister(&scratch, request->name);
	if (err == CS_OK)
		err = commit(&scratch, false, FROM_CLIENT);
	if (err == CS_OK) {
		cv_timer_stop(qdevice_timer);
		qdevice_owner = NULL;
		cv_log_info("quorum device %s unregistered", request->name);
	}
	return err;
}

cs_error_t votequorum_handle_qdevice_update(struct cv_session *s, const VotequorumQdeviceUpdateRequest *request,
					    VotequorumQdeviceUpdateReply *reply)
{
	cs_error_t err;

	scratch = state;
	err = vq_qdevice_update(&scratch, request->oldname, request->newname);
	if (err != CS_OK)
		return err;
	return commit(&scratch, false, FROM_CLIENT);
}

cs_error_t votequorum_handle_qdevice_poll(struct cv_session *s, const VotequorumQdevicePollRequest *request,
					  VotequorumQdevicePollReply *reply)
{
	cs_error_t err;

	scratch = state;
	err = vq_qdevice_poll(&scratch, request->name, request->cast_vote != 0,
			      ring_id_is_current(request->ring_id));
	if (err == CS_OK)
		err = commit(&scratch, false, FROM_CLIENT);
	if (err == CS_OK)
		cv_timer_start(qdevice_timer, qdevice_timeout_ms);
	return err;
}

cs_error_t votequorum_handle_qdevice_master_wins(struct cv_session *s,
						 const VotequorumQdeviceMasterWinsRequest *request,
						 VotequorumQdeviceMasterWinsReply *reply)
{
	cs_error_t err;

	scratch = state;
	err = vq_qdevice_master_wins(&scratch, request->name, request->allow != 0);
	if (err != CS_OK)
		return err;
	return commit(&scratch, false, FROM_CLIENT);
}

static void qdevice_poll_missed(void *data)
{
	(void)data;
	scratch = state;
	if (!vq_qdevice_timed_out(&scratch))
		return;
	cv_log_info("lost contact with quorum device %s: no poll within %u ms", state.qdevice_name,
		    qdevice_timeout_ms);
	commit(&scratch, false, FROM_DAEMON);
}

static void qdevice_owner_gone(void)
{
	cv_log_info("quorum device %s unregistered: its connection closed", state.qdevice_name);
	scratch = state;
	vq_qdevice_unregister(&scratch, state.qdevice_name);
	cv_timer_stop(qdevice_timer);
	qdevice_owner = NULL;
	commit(&scratch, false, FROM_DAEMON);
}

/* ---- settings from cmap ------------------------------------------------ */

/* Where cmap would take the votes once the change c is made. */
static cs_error_t state_after(const struct cmap_change *c, bool *expected_changed)
{
	const struct cv_settings *settings = cv_server_settings();
	struct vq_runtime_config cfg;

	if (vq_read_runtime_config(cmap_default_map(), c, settings, &cfg) < 0)
		return CS_ERR_INVALID_PARAM;
	scratch = state;
	vq_apply_runtime_config(&scratch, &cfg, settings, expected_changed);
	return CS_OK;
}

/* A client's change of quorum.* or nodelist.*: refused when its
 * consequences could not reach every tracker, or the votes overflow. */
static cs_error_t config_change_check(struct cmap_track *t, const struct cmap_change *c)
{
	bool expected_changed;
	cs_error_t err = state_after(c, &expected_changed);

	return err == CS_OK ? can_commit(&scratch, expected_changed) : err;
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
	bool expected_changed;

	if (reload_in_progress())
		return;
	if (state_after(NULL, &expected_changed) != CS_OK) {
		cv_log_warning("votequorum: ignoring %s: the votes would not fit in 32 bits", c->key);
		return;
	}
	commit(&scratch, expected_changed, FROM_DAEMON);
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
	config_tracks[1] = cmap_store_add_track(cmap_default_map(), "nodelist.", all, &config_track_ops, NULL);
	config_tracks[2] = cmap_store_add_track(cmap_default_map(), "config.reload_in_progress",
						CMAP_STORE_ADDED | CMAP_STORE_MODIFIED, &config_track_ops, NULL);
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

/* ---- service hooks ----------------------------------------------------- */

static int votequorum_start(void)
{
	const struct cv_settings *settings = cv_server_settings();
	struct quorum_view view;

	vq_init(&state, settings);
	qdevice_timeout_ms = settings->quorum.device_timeout_ms;
	qdevice_timer = cv_timer_new(qdevice_poll_missed, NULL);
	if (!qdevice_timer || track_configuration() < 0)
		return -1;
	view_from_state(&view, &state);
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
	if (s == qdevice_owner)
		qdevice_owner_gone();
}

const struct cv_service_ops votequorum_service_ops = {
	.start = votequorum_start,
	.stop = votequorum_stop,
	.connect = votequorum_connect,
	.disconnect = votequorum_disconnect,
};
