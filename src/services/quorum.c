/* The quorum service: whether this node is quorate, and notifications of
 * quorum and membership changes in the V0 or V1 callback model. It observes
 * quorum-state; the quorum itself comes from votequorum. */
#include <stdlib.h>
#include <string.h>

#include <corosync/quorum.h>

#include <conclave/service.h>

#include "cv-wire.h"
#include "quorum-server.h"
#include "quorum-state.h"

struct quorum_client {
	struct cv_session *session;
	int32_t model;
	struct cv_list tracker_link; /* in `trackers` while tracking */
	bool trackstart_seen;        /* a trackstart since connecting or the last trackstop */
};

/* The events one change produces for one client, built on the stack and
 * pointing into the views. */
struct quorum_events {
	QuorumRingId ring_id;
	QuorumNotificationEvent v0;
	QuorumV1QuorumNotificationEvent v1_quorum;
	QuorumV1NodelistNotificationEvent v1_nodelist;
	bool with_nodelist;
	uint32_t joined[QUORUM_VIEW_MAX_MEMBERS];
	uint32_t left[QUORUM_VIEW_MAX_MEMBERS];
};

static struct cv_list trackers = CV_LIST_INIT(trackers);

/* Members of `a` that are not in `b`. */
static size_t list_difference(const struct quorum_view *a, const struct quorum_view *b, uint32_t *out)
{
	size_t n = 0;

	for (uint32_t i = 0; i < a->n_members; i++) {
		bool found = false;

		for (uint32_t j = 0; j < b->n_members && !found; j++)
			found = a->members[i] == b->members[j];
		if (!found)
			out[n++] = a->members[i];
	}
	return n;
}

/* previous NULL: a snapshot, whose node list has empty joined and left lists. */
static void events_build(struct quorum_events *e, const struct quorum_view *previous,
			 const struct quorum_view *view, bool with_nodelist)
{
	e->ring_id = (QuorumRingId)QUORUM_RING_ID__INIT;
	e->ring_id.nodeid = view->ring_nodeid;
	e->ring_id.seq = view->ring_seq;
	e->v0 = (QuorumNotificationEvent)QUORUM_NOTIFICATION_EVENT__INIT;
	e->v0.quorate = view->quorate;
	e->v0.ring_seq = view->ring_seq;
	e->v0.n_view_list = view->n_members;
	e->v0.view_list = (uint32_t *)view->members;
	e->v1_quorum = (QuorumV1QuorumNotificationEvent)QUORUM_V1_QUORUM_NOTIFICATION_EVENT__INIT;
	e->v1_quorum.quorate = view->quorate;
	e->v1_quorum.ring_id = &e->ring_id;
	e->v1_quorum.n_member_list = view->n_members;
	e->v1_quorum.member_list = (uint32_t *)view->members;
	e->v1_nodelist = (QuorumV1NodelistNotificationEvent)QUORUM_V1_NODELIST_NOTIFICATION_EVENT__INIT;
	e->v1_nodelist.ring_id = &e->ring_id;
	e->v1_nodelist.n_member_list = view->n_members;
	e->v1_nodelist.member_list = (uint32_t *)view->members;
	if (previous) {
		e->v1_nodelist.n_joined_list = list_difference(view, previous, e->joined);
		e->v1_nodelist.joined_list = e->joined;
		e->v1_nodelist.n_left_list = list_difference(previous, view, e->left);
		e->v1_nodelist.left_list = e->left;
	}
	e->with_nodelist = with_nodelist;
}

static size_t events_size(const struct quorum_events *e, int32_t model)
{
	if (model == QUORUM_MODEL_V0)
		return protobuf_c_message_get_packed_size(&e->v0.base);
	return protobuf_c_message_get_packed_size(&e->v1_quorum.base) +
	       (e->with_nodelist ? sizeof(struct cv_frame_header) +
					   protobuf_c_message_get_packed_size(&e->v1_nodelist.base)
				 : 0);
}

/* V1 gets the node list first, then the quorum, as corosync sends them. */
static cs_error_t events_send(struct cv_session *s, const struct quorum_events *e, int32_t model)
{
	cs_error_t err;

	if (model == QUORUM_MODEL_V0)
		return quorum_send_notification(s, &e->v0);
	if (e->with_nodelist && (err = quorum_send_v1_nodelist_notification(s, &e->v1_nodelist)) != CS_OK)
		return err;
	return quorum_send_v1_quorum_notification(s, &e->v1_quorum);
}

/* ---- observer ---------------------------------------------------------- */

/* Frame bytes of each model's notifications of the changes through next. */
static bool sequence_sizes(const struct quorum_view *previous, const struct quorum_view *next, size_t n,
			   size_t sizes[2])
{
	struct quorum_events *e = malloc(sizeof(*e));

	if (!e)
		return false;
	sizes[QUORUM_MODEL_V0] = sizes[QUORUM_MODEL_V1] = 0;
	for (size_t i = 0; i < n; previous = &next[i++]) {
		if (!quorum_view_notifies(previous, &next[i]))
			continue;
		events_build(e, previous, &next[i], quorum_view_membership_differs(previous, &next[i]));
		for (int model = QUORUM_MODEL_V0; model <= QUORUM_MODEL_V1; model++)
			sizes[model] += events_size(e, model) + sizeof(struct cv_frame_header);
	}
	free(e);
	return true;
}

static bool trackers_have_room(const struct quorum_view *previous, const struct quorum_view *next, size_t n)
{
	size_t sizes[2];
	struct quorum_client *c;

	if (!sequence_sizes(previous, next, n, sizes))
		return false;
	cv_list_for_each (c, &trackers, tracker_link)
		if (sizes[c->model] &&
		    !cv_session_has_room(c->session, sizes[c->model] - sizeof(struct cv_frame_header)))
			return false;
	return true;
}

static void trackers_notify(const struct quorum_view *previous, const struct quorum_view *next)
{
	struct quorum_events *e = malloc(sizeof(*e));
	struct quorum_client *c;

	if (!e) {
		cv_log_error("quorum: out of memory for notifications");
		return;
	}
	events_build(e, previous, next, quorum_view_membership_differs(previous, next));
	cv_list_for_each (c, &trackers, tracker_link)
		if (events_send(c->session, e, c->model) != CS_OK)
			cv_session_close(c->session, "quorum notification queue full");
	free(e);
}

static const struct quorum_observer observer = {
	.has_room = trackers_have_room,
	.notify = trackers_notify,
};

/* ---- tracking ---------------------------------------------------------- */

static bool tracking(const struct quorum_client *c)
{
	return cv_list_linked(&c->tracker_link);
}

static cs_error_t send_snapshot(struct quorum_client *c)
{
	struct quorum_events *e = malloc(sizeof(*e));
	cs_error_t err = CS_OK;

	if (!e)
		return CS_ERR_NO_MEMORY;
	events_build(e, NULL, quorum_state_current(), true);
	if (!cv_session_has_room(c->session, events_size(e, c->model)))
		err = CS_ERR_TRY_AGAIN;
	else
		err = events_send(c->session, e, c->model);
	free(e);
	return err;
}

/* ---- handlers ---------------------------------------------------------- */

cs_error_t quorum_handle_getquorate(struct cv_session *s, const QuorumGetquorateRequest *request,
				    QuorumGetquorateReply *reply)
{
	reply->quorate = quorum_state_current()->quorate ? 1 : 0;
	return CS_OK;
}

cs_error_t quorum_handle_trackstart(struct cv_session *s, const QuorumTrackstartRequest *request,
				    QuorumTrackstartReply *reply)
{
	struct quorum_client *c = cv_session_private(s);
	cs_error_t err;

	if (request->flags & (CS_TRACK_CURRENT | CS_TRACK_CHANGES)) {
		err = send_snapshot(c);
		if (err != CS_OK)
			return err;
	}
	if (tracking(c))
		return CS_ERR_EXIST;
	c->trackstart_seen = true;
	if (request->flags & (CS_TRACK_CHANGES | CS_TRACK_CHANGES_ONLY))
		cv_list_insert(&trackers, &c->tracker_link);
	return CS_OK;
}

/* corosync 3.1.7 always answers CS_OK. A trackstop ends whatever trackstart
 * began, a one-shot CS_TRACK_CURRENT included (corosync-quorumtool stops
 * after one and reports any error); only a trackstop with no trackstart
 * before it is refused. */
cs_error_t quorum_handle_trackstop(struct cv_session *s, const QuorumTrackstopRequest *request,
				   QuorumTrackstopReply *reply)
{
	struct quorum_client *c = cv_session_private(s);

	if (!c->trackstart_seen)
		return CS_ERR_NOT_EXIST;
	c->trackstart_seen = false;
	if (tracking(c))
		cv_list_remove(&c->tracker_link);
	return CS_OK;
}

cs_error_t quorum_handle_model_gettype(struct cv_session *s, const QuorumModelGettypeRequest *request,
				       QuorumModelGettypeReply *reply)
{
	struct quorum_client *c = cv_session_private(s);

	if (request->model != QUORUM_MODEL_V0 && request->model != QUORUM_MODEL_V1)
		return CS_ERR_INVALID_PARAM;
	c->model = request->model;
	reply->quorum_type = quorum_state_current()->provider ? QUORUM_SET : QUORUM_FREE;
	return CS_OK;
}

/* ---- service hooks ----------------------------------------------------- */

static int quorum_start(void)
{
	quorum_state_set_observer(&observer);
	return 0;
}

static void quorum_stop(void)
{
	quorum_state_set_observer(NULL);
}

static int quorum_connect(struct cv_session *s)
{
	struct quorum_client *c = calloc(1, sizeof(*c));

	if (!c)
		return -1;
	c->session = s;
	c->model = QUORUM_MODEL_V0;
	cv_list_init(&c->tracker_link);
	cv_session_set_private(s, c);
	return 0;
}

static void quorum_disconnect(struct cv_session *s)
{
	struct quorum_client *c = cv_session_private(s);

	cv_list_remove(&c->tracker_link);
	free(c);
	cv_session_set_private(s, NULL);
}

const struct cv_service_ops quorum_service_ops = {
	.start = quorum_start,
	.stop = quorum_stop,
	.connect = quorum_connect,
	.disconnect = quorum_disconnect,
};
