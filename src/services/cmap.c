/* The cmap service: requests on the daemon's maps (cmap-maps.h), each
 * connection's iterators and tracks, and notifications.
 *
 * A client's set, delete, inc or dec is prepared, then refused with
 * CS_ERR_TRY_AGAIN before anything changes when a tracker it would notify
 * has no room in its queue (or an internal track, such as votequorum's,
 * says its own trackers have none); otherwise it is committed. Changes the
 * daemon makes itself close a tracker whose queue is full instead.
 *
 * Limits per connection: conclave.cmap_max_iterators iterators and
 * conclave.cmap_max_tracks tracks; beyond them iter_init and track_add
 * return CS_ERR_NO_RESOURCES. Both are freed when the connection closes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <corosync/cmap.h>

#include <conclave/service.h>

#include "cv-wire.h"
#include "cmap-server.h"

/* Per connection, conclave { cmap_max_iterators cmap_max_tracks }. The
 * store's own limit, cmap_max_bytes, is the daemon's. */
struct cmap_limits {
	uint32_t max_iterators;
	uint32_t max_tracks;
};

static struct cmap_limits limits;

_Static_assert(CMAP_TRACK_ADD == CMAP_STORE_ADDED && CMAP_TRACK_DELETE == CMAP_STORE_DELETED &&
		       CMAP_TRACK_MODIFY == CMAP_STORE_MODIFIED && CMAP_TRACK_PREFIX == CMAP_STORE_PREFIX,
	       "the store's event bits are cmap's");
_Static_assert((int)CMAP_VALUETYPE_INT8 == (int)CMAP_STORE_INT8 &&
		       (int)CMAP_VALUETYPE_BINARY == (int)CMAP_STORE_BINARY,
	       "the store's types are cmap's");

#define STATS_POLL_MS 1500 /* corosync's stats updater runs every 1.5 s */

struct cmap_iter {
	struct cv_list link; /* in the client's iters */
	uint64_t handle;
	bool started, done;
	char prefix[CMAP_STORE_KEY_MAX + 1];
	char last[CMAP_STORE_KEY_MAX + 1];
};

/* A client's track on the stats map with MODIFY: computed values change
 * without a write, so they are polled and compared with the last seen.
 * As in corosync, the notification carries the new value as the old one
 * too. */
struct stats_poll {
	struct cv_list link; /* in stats_polls */
	struct client_track *track;
	struct cmap_value last;
	uint8_t last_bytes[CMAP_COMPUTED_MAX];
	bool exists;
};

struct client_track {
	struct cv_list link; /* in the client's tracks */
	struct cmap_client *client;
	struct cmap_track *track;
	uint64_t handle;
	uint64_t id; /* the library's, echoed in every notification */
	struct stats_poll *poll;
};

struct cmap_client {
	struct cv_session *session;
	struct cmap_store *map;
	struct cv_list iters;
	size_t n_iters;
	struct cv_list tracks;
	size_t n_tracks;
	uint64_t next_handle;
	size_t pending_bytes; /* while checking room for a change */
};

static struct cv_timer *stats_poll_timer;
static struct cv_list stats_polls = CV_LIST_INIT(stats_polls);

/* ---- notifications ----------------------------------------------------- */

static void build_notification(CmapNotificationEvent *ev, const struct client_track *ct, int32_t event,
			       const char *key, const struct cmap_value *new_value,
			       const struct cmap_value *old_value)
{
	*ev = (CmapNotificationEvent)CMAP_NOTIFICATION_EVENT__INIT;
	ev->track_id = ct->id;
	ev->track_handle = ct->handle;
	ev->event = event;
	ev->key_name = (char *)key;
	ev->new_type = new_value->type;
	ev->new_value.len = new_value->len;
	ev->new_value.data = (uint8_t *)new_value->bytes;
	ev->old_type = old_value->type;
	ev->old_value.len = old_value->len;
	ev->old_value.data = (uint8_t *)old_value->bytes;
}

/* A notification is never dropped in silence: a tracker that cannot take
 * it is closed. A closing one is past caring. */
static void send_notification(struct client_track *ct, const CmapNotificationEvent *ev)
{
	struct cv_session *s = ct->client->session;

	if (cv_session_is_open(s) && cmap_send_notification(s, ev) != CS_OK)
		cv_session_close(s, "cmap notification queue full");
}

static bool on_stats_map(const struct cmap_client *client)
{
	return client->map == cmap_stats_map();
}

/* The notification of a change. corosync's stats map gives the value of a
 * key coming or going as both the new and the old one (exec/stats.c,
 * stats_map_notify_fn), as it gives a polled change (poll_one). */
static void build_change_notification(CmapNotificationEvent *ev, const struct client_track *ct,
				      const struct cmap_change *c)
{
	const struct cmap_value *value = c->event == CMAP_TRACK_DELETE ? &c->old_value : &c->new_value;

	if (on_stats_map(ct->client))
		build_notification(ev, ct, c->event, c->key, value, value);
	else
		build_notification(ev, ct, c->event, c->key, &c->new_value, &c->old_value);
}

static void deliver_to_client(struct cmap_track *t, const struct cmap_change *c)
{
	struct client_track *ct = cmap_track_owner(t);
	CmapNotificationEvent ev;

	build_change_notification(&ev, ct, c);
	send_notification(ct, &ev);
}

static const struct cmap_track_ops client_track_ops = { .deliver = deliver_to_client };

/* Frame bytes the change's notification takes in ct's queue. */
static size_t notification_bytes(const struct client_track *ct, const struct cmap_change *c)
{
	CmapNotificationEvent ev;

	build_change_notification(&ev, ct, c);
	return protobuf_c_message_get_packed_size(&ev.base) + sizeof(struct cv_frame_header);
}

static bool clients_have_room(const struct cmap_change *c)
{
	bool room = true;

	for (size_t i = 0; i < c->n_matches; i++) {
		struct cmap_track *t = c->matches[i];

		if (cmap_track_ops(t) == &client_track_ops) {
			struct client_track *ct = cmap_track_owner(t);

			ct->client->pending_bytes += notification_bytes(ct, c);
		}
	}
	for (size_t i = 0; i < c->n_matches; i++) {
		struct cmap_track *t = c->matches[i];
		struct cmap_client *client;

		if (cmap_track_ops(t) != &client_track_ops)
			continue;
		client = ((struct client_track *)cmap_track_owner(t))->client;
		if (client->pending_bytes && cv_session_is_open(client->session) &&
		    !cv_session_has_room(client->session,
					 client->pending_bytes - sizeof(struct cv_frame_header)))
			room = false;
		client->pending_bytes = 0;
	}
	return room;
}

static cs_error_t internal_tracks_agree(const struct cmap_change *c)
{
	for (size_t i = 0; i < c->n_matches; i++) {
		const struct cmap_track_ops *ops = cmap_track_ops(c->matches[i]);
		cs_error_t err;

		if (ops->check && (err = ops->check(c->matches[i], c)) != CS_OK)
			return err;
	}
	return CS_OK;
}

/* A prepared client change: made when every tracker can be told. */
static cs_error_t commit_if_room(struct cmap_change *c)
{
	cs_error_t err = CS_OK;

	if (c->event != 0 && !clients_have_room(c))
		err = CS_ERR_TRY_AGAIN;
	if (err == CS_OK && c->event != 0)
		err = internal_tracks_agree(c);
	if (err == CS_OK)
		cmap_change_commit(c);
	else
		cmap_change_abandon(c);
	return err;
}

/* ---- handles ----------------------------------------------------------- */

static struct cmap_iter *find_iter(struct cmap_client *client, uint64_t handle)
{
	struct cmap_iter *it;

	cv_list_for_each (it, &client->iters, link)
		if (it->handle == handle)
			return it;
	return NULL;
}

static struct client_track *find_track(struct cmap_client *client, uint64_t handle)
{
	struct client_track *ct;

	cv_list_for_each (ct, &client->tracks, link)
		if (ct->handle == handle)
			return ct;
	return NULL;
}

static struct cmap_client *client_of(struct cv_session *s)
{
	return cv_session_private(s);
}

static bool is_stats_clear_key(const char *key)
{
	return strncmp(key, CMAP_STATS_CLEAR_PREFIX, strlen(CMAP_STATS_CLEAR_PREFIX)) == 0;
}

/* ---- reading ----------------------------------------------------------- */

/* A computed value lives in scratch: copy it where the reply can use it. */
static cs_error_t reply_bytes(struct cv_session *s, const struct cmap_value *v, const uint8_t *scratch,
			      ProtobufCBinaryData *out)
{
	out->len = v->len;
	out->data = (uint8_t *)v->bytes;
	if (v->bytes == scratch && v->len > 0) {
		out->data = cv_reply_alloc(s, v->len);
		if (!out->data)
			return CS_ERR_NO_MEMORY;
		memcpy(out->data, v->bytes, v->len);
	}
	return CS_OK;
}

cs_error_t cmap_handle_store_get(struct cv_session *s, const CmapStoreGetRequest *request,
				 CmapStoreGetReply *reply)
{
	uint8_t scratch[CMAP_COMPUTED_MAX];
	struct cmap_value v;
	cs_error_t err = cmap_store_get(client_of(s)->map, request->key_name, &v, scratch);

	if (err != CS_OK)
		return err;
	reply->type = v.type;
	return reply_bytes(s, &v, scratch, &reply->value);
}

/* ---- changes ----------------------------------------------------------- */

/* The stats map is read-only but for its stats.clear.* triggers, which
 * take any value, as corosync's do. */
static cs_error_t stats_set(const char *key)
{
	return is_stats_clear_key(key) ? cmap_stats_clear(key) : CS_ERR_ACCESS;
}

static cs_error_t stats_refuse_change(const char *key)
{
	return is_stats_clear_key(key) ? CS_ERR_NOT_SUPPORTED : CS_ERR_ACCESS;
}

cs_error_t cmap_handle_store_set(struct cv_session *s, const CmapStoreSetRequest *request,
				 CmapStoreSetReply *reply)
{
	struct cmap_client *client = client_of(s);
	struct cmap_change c;
	cs_error_t err;

	if (on_stats_map(client))
		return stats_set(request->key_name);
	err = cmap_change_set(&c, client->map, request->key_name, request->type, request->value.data,
			      request->value.len, CMAP_FROM_CLIENT);
	return err == CS_OK ? commit_if_room(&c) : err;
}

cs_error_t cmap_handle_delete(struct cv_session *s, const CmapDeleteRequest *request, CmapDeleteReply *reply)
{
	struct cmap_client *client = client_of(s);
	struct cmap_change c;
	cs_error_t err;

	if (on_stats_map(client))
		return stats_refuse_change(request->key_name);
	err = cmap_change_delete(&c, client->map, request->key_name, CMAP_FROM_CLIENT);
	return err == CS_OK ? commit_if_room(&c) : err;
}

static cs_error_t adjust(struct cv_session *s, const char *key, int step)
{
	struct cmap_client *client = client_of(s);
	struct cmap_change c;
	cs_error_t err;

	if (on_stats_map(client))
		return stats_refuse_change(key);
	err = cmap_change_adjust(&c, client->map, key, step, CMAP_FROM_CLIENT);
	return err == CS_OK ? commit_if_room(&c) : err;
}

cs_error_t cmap_handle_inc(struct cv_session *s, const CmapIncRequest *request, CmapIncReply *reply)
{
	return adjust(s, request->key_name, 1);
}

cs_error_t cmap_handle_dec(struct cv_session *s, const CmapDecRequest *request, CmapDecReply *reply)
{
	return adjust(s, request->key_name, -1);
}

/* ---- iteration --------------------------------------------------------- */

cs_error_t cmap_handle_iter_init(struct cv_session *s, const CmapIterInitRequest *request,
				 CmapIterInitReply *reply)
{
	struct cmap_client *client = client_of(s);
	struct cmap_iter *it;

	if (client->n_iters >= limits.max_iterators)
		return CS_ERR_NO_RESOURCES;
	it = calloc(1, sizeof(*it));
	if (!it)
		return CS_ERR_NO_MEMORY;
	snprintf(it->prefix, sizeof(it->prefix), "%s", request->prefix);
	it->handle = client->next_handle++;
	cv_list_insert(&client->iters, &it->link);
	client->n_iters++;
	reply->cmap_iter_handle = it->handle;
	return CS_OK;
}

/* A cursor, not a snapshot: keys added or deleted meanwhile are seen or
 * skipped as their place in the order comes. */
cs_error_t cmap_handle_store_iter_next(struct cv_session *s, const CmapStoreIterNextRequest *request,
				       CmapStoreIterNextReply *reply)
{
	struct cmap_client *client = client_of(s);
	struct cmap_iter *it = find_iter(client, request->iter_handle);
	const struct cmap_entry *e;
	uint8_t scratch[CMAP_COMPUTED_MAX];
	struct cmap_value v;

	if (!it)
		return CS_ERR_BAD_HANDLE;
	e = it->done ? NULL : cmap_store_next(client->map, it->prefix, it->started ? it->last : NULL);
	if (!e) {
		it->done = true;
		return CS_ERR_NO_SECTIONS;
	}
	it->started = true;
	snprintf(it->last, sizeof(it->last), "%s", cmap_entry_key(e));
	cmap_entry_value(e, &v, scratch);
	reply->key_name = it->last;
	reply->value_len = v.len;
	reply->type = v.type;
	return CS_OK;
}

cs_error_t cmap_handle_iter_finalize(struct cv_session *s, const CmapIterFinalizeRequest *request,
				     CmapIterFinalizeReply *reply)
{
	struct cmap_client *client = client_of(s);
	struct cmap_iter *it = find_iter(client, request->iter_handle);

	if (!it)
		return CS_ERR_BAD_HANDLE;
	cv_list_remove(&it->link);
	client->n_iters--;
	free(it);
	return CS_OK;
}

/* ---- polling the stats map --------------------------------------------- */

static void poll_remember(struct stats_poll *p, const struct cmap_value *now)
{
	memcpy(p->last_bytes, now->bytes, now->len);
	p->last = *now;
	p->last.bytes = p->last_bytes;
	p->exists = true;
}

static void poll_one(struct stats_poll *p)
{
	struct client_track *ct = p->track;
	uint8_t scratch[CMAP_COMPUTED_MAX];
	struct cmap_value now;
	CmapNotificationEvent ev;

	if (cmap_store_get(ct->client->map, cmap_track_key(ct->track), &now, scratch) != CS_OK) {
		p->exists = false; /* its deletion went out as a DELETE */
		return;
	}
	if (p->exists && now.len == p->last.len && memcmp(now.bytes, p->last.bytes, now.len) == 0)
		return;
	if (p->exists) {
		build_notification(&ev, ct, CMAP_TRACK_MODIFY, cmap_track_key(ct->track), &now, &now);
		send_notification(ct, &ev);
	}
	poll_remember(p, &now);
}

static void stats_poll_fire(void *data)
{
	struct stats_poll *p;

	cv_list_for_each (p, &stats_polls, link)
		poll_one(p);
	if (!cv_list_empty(&stats_polls))
		cv_timer_start(stats_poll_timer, STATS_POLL_MS);
}

static int poll_start(struct client_track *ct)
{
	struct stats_poll *p = calloc(1, sizeof(*p));
	uint8_t scratch[CMAP_COMPUTED_MAX];
	struct cmap_value now;

	if (!p)
		return -1;
	p->track = ct;
	ct->poll = p;
	if (cmap_store_get(ct->client->map, cmap_track_key(ct->track), &now, scratch) == CS_OK)
		poll_remember(p, &now);
	cv_list_insert(&stats_polls, &p->link);
	if (!cv_timer_pending(stats_poll_timer))
		cv_timer_start(stats_poll_timer, STATS_POLL_MS);
	return 0;
}

static void poll_stop(struct stats_poll *p)
{
	if (!p)
		return;
	cv_list_remove(&p->link);
	free(p);
	if (cv_list_empty(&stats_polls))
		cv_timer_stop(stats_poll_timer);
}

/* ---- tracks ------------------------------------------------------------ */

static bool track_type_valid(const struct cmap_client *client, int32_t flags, cs_error_t *err)
{
	*err = CS_OK;
	if (flags & ~CMAP_STORE_TRACK_FLAGS)
		*err = CS_ERR_INVALID_PARAM;
	/* the stats map reports prefixes' keys coming and going only */
	else if (on_stats_map(client) && (flags & CMAP_TRACK_PREFIX) &&
		 !((flags & CMAP_TRACK_ADD) && (flags & CMAP_TRACK_DELETE)))
		*err = CS_ERR_NOT_SUPPORTED;
	return *err == CS_OK;
}

static void track_free(struct client_track *ct)
{
	poll_stop(ct->poll);
	cmap_store_remove_track(ct->track);
	free(ct);
}

cs_error_t cmap_handle_store_track_add(struct cv_session *s, const CmapStoreTrackAddRequest *request,
				       CmapStoreTrackAddReply *reply)
{
	struct cmap_client *client = client_of(s);
	int32_t flags = request->track_type;
	struct client_track *ct;
	cs_error_t err;

	if (!track_type_valid(client, flags, &err))
		return err;
	if (client->n_tracks >= limits.max_tracks)
		return CS_ERR_NO_RESOURCES;
	ct = calloc(1, sizeof(*ct));
	if (!ct)
		return CS_ERR_NO_MEMORY;
	*ct = (struct client_track){ .client = client,
				     .id = request->track_id,
				     .handle = client->next_handle };
	ct->track = cmap_store_add_track(client->map, request->key_name, flags, &client_track_ops, ct);
	if (!ct->track) {
		free(ct);
		return CS_ERR_NO_MEMORY;
	}
	if (on_stats_map(client) && (flags & CMAP_TRACK_MODIFY) && !(flags & CMAP_TRACK_PREFIX) &&
	    poll_start(ct) < 0) {
		track_free(ct);
		return CS_ERR_NO_MEMORY;
	}
	client->next_handle++;
	cv_list_insert(&client->tracks, &ct->link);
	client->n_tracks++;
	reply->track_handle = ct->handle;
	return CS_OK;
}

cs_error_t cmap_handle_store_track_delete(struct cv_session *s, const CmapStoreTrackDeleteRequest *request,
					  CmapStoreTrackDeleteReply *reply)
{
	struct cmap_client *client = client_of(s);
	struct client_track *ct = find_track(client, request->track_handle);

	if (!ct)
		return CS_ERR_BAD_HANDLE;
	cv_list_remove(&ct->link);
	client->n_tracks--;
	track_free(ct);
	return CS_OK;
}

/* ---- maps and connections ---------------------------------------------- */

/* corosync refuses to switch maps under open iterators or tracks. */
cs_error_t cmap_handle_store_select_map(struct cv_session *s, const CmapStoreSelectMapRequest *request,
					CmapStoreSelectMapReply *reply)
{
	struct cmap_client *client = client_of(s);
	struct cmap_store *map = request->map == CMAP_MAP_DEFAULT ? cmap_default_map()
				 : request->map == CMAP_MAP_STATS ? cmap_stats_map()
								  : NULL;

	if (!map)
		return CS_ERR_NOT_EXIST;
	if (map != client->map && (client->n_iters || client->n_tracks))
		return CS_ERR_BUSY;
	if (map == cmap_stats_map())
		cmap_stats_in_use();
	client->map = map;
	return CS_OK;
}

static int cmap_connect(struct cv_session *s)
{
	struct cmap_client *client = calloc(1, sizeof(*client));

	if (!client)
		return -1;
	client->session = s;
	client->map = cmap_default_map();
	client->next_handle = 1;
	cv_list_init(&client->iters);
	cv_list_init(&client->tracks);
	cv_session_set_private(s, client);
	return 0;
}

static void cmap_disconnect(struct cv_session *s)
{
	struct cmap_client *client = client_of(s);
	struct cmap_iter *it, *next_it;
	struct client_track *ct, *next_ct;

	cv_list_for_each_safe (it, next_it, &client->iters, link)
		free(it);
	cv_list_for_each_safe (ct, next_ct, &client->tracks, link)
		track_free(ct);
	free(client);
	cv_session_set_private(s, NULL);
}

/* ---- settings ---------------------------------------------------------- */

static int read_limits(const struct cv_conf *conf, struct cmap_limits *out, char *err, size_t err_size)
{
	const struct cv_conf_reader r = { .conf = conf, .err = err, .err_size = err_size };
	const struct cv_conf_node *section = cv_conf_section(cv_conf_root(&r), "conclave");

	*out = (struct cmap_limits){ .max_iterators = 128, .max_tracks = 1024 };
	return cv_conf_get_u32(&r, section, "cmap_max_iterators", 1, 65536, &out->max_iterators) < 0 ||
			       cv_conf_get_u32(&r, section, "cmap_max_tracks", 1, 1000000, &out->max_tracks) <
				       0
		       ? -1
		       : 0;
}

static int cmap_configure(const struct cv_conf *conf, char *err, size_t err_size)
{
	return read_limits(conf, &limits, err, err_size) < 0 ? -1 : CV_SERVICE_OFFERED;
}

static int cmap_check_reload(const struct cv_conf *next, char *err, size_t err_size)
{
	struct cmap_limits unused;

	return read_limits(next, &unused, err, err_size);
}

static int cmap_start(void)
{
	struct cmap_store *map = cmap_default_map();

	stats_poll_timer = cv_timer_new(stats_poll_fire, NULL);
	if (!stats_poll_timer ||
	    cmap_store_write_u32(map, "runtime.config.conclave.cmap_max_iterators", limits.max_iterators) !=
		    CS_OK ||
	    cmap_store_write_u32(map, "runtime.config.conclave.cmap_max_tracks", limits.max_tracks) != CS_OK)
		return -1;
	return 0;
}

static void cmap_stop(void)
{
	cv_timer_free(stats_poll_timer);
	stats_poll_timer = NULL;
}

const struct cv_service_ops cmap_service_ops = {
	.configure = cmap_configure,
	.check_reload = cmap_check_reload,
	.start = cmap_start,
	.stop = cmap_stop,
	.connect = cmap_connect,
	.disconnect = cmap_disconnect,
};
