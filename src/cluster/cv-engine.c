/* The corosync connection, configurations and sync rounds, and the loop
 * entry points. See cv-engine.h. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "cv-corosync-link.h"
#include "cv-engine-private.h"

#define ROUND_WARN_MS 10000
/* room for a path and a sentence around it */
#define CV_TEXT 4352

int64_t cv_engine_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void cv_engine_log(struct cv_engine *e, int level, const char *format, ...)
{
	char text[512];
	va_list ap;

	if (e->cb.log == NULL)
		return;
	va_start(ap, format);
	vsnprintf(text, sizeof(text), format, ap);
	va_end(ap);
	e->cb.log(e->ctx, level, text);
}

void cv_engine_config_default(struct cv_engine_config *c)
{
	*c = (struct cv_engine_config){
		.group = "conclaved",
		.max_message = 64u << 20,
		.max_held = 192u << 20,
		.batch_bytes = 64u << 10,
		.packet_max = 256u << 10,
		.inflight_max = 1u << 20,
		.ack_delay_ms = 20,
		.ack_bytes = 1u << 20,
		.probe_ms = 500,
		.owed_ms = 60000,
		.reconnect_min_ms = 100,
		.reconnect_max_ms = 5000,
	};
}

/* corosync takes at most 1 MiB - 1 KiB per message (lib/cpg.c max_msg_size)
 * before fragmenting it itself, blocking. */
#define COROSYNC_MESSAGE_MAX ((1u << 20) - 1024u)

static bool config_valid(const struct cv_engine_config *c)
{
	size_t min_packet = CV_WIRE_HEADER + CV_WIRE_FRAGMENT_HEADER + 64;

	return c->group && strlen(c->group) > 0 && strlen(c->group) < CPG_MAX_NAME_LENGTH &&
	       c->packet_max >= min_packet && c->packet_max <= COROSYNC_MESSAGE_MAX && c->batch_bytes > 0 &&
	       c->max_message <= UINT32_MAX && c->max_held >= c->max_message + CV_WIRE_MESSAGE_PREFIX &&
	       c->inflight_max > 0 && c->ack_delay_ms >= 0 && c->probe_ms > 0 && c->owed_ms > 0 &&
	       c->reconnect_min_ms > 0 && c->reconnect_max_ms >= c->reconnect_min_ms;
}

struct cv_engine *cv_engine_new(const struct cv_engine_config *config,
				const struct cv_engine_callbacks *callbacks, void *ctx)
{
	struct cv_engine *e;

	if (!config_valid(config) || callbacks->deliver == NULL || callbacks->view == NULL) {
		errno = EINVAL;
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return NULL;
	e->config = *config;
	e->cb = *callbacks;
	e->ctx = ctx;
	snprintf(e->group, sizeof(e->group), "%s", config->group);
	e->fd = -1;
	e->next_seq = 1;
	e->reconnect_delay = config->reconnect_min_ms;
	while (e->incarnation == 0)
		if (getrandom(&e->incarnation, sizeof(e->incarnation), 0) != sizeof(e->incarnation))
			e->incarnation = ((uint64_t)getpid() << 32) ^ (uint64_t)cv_engine_now();
	return e;
}

static void free_held(struct cv_engine *e)
{
	while (e->held_head) {
		struct cv_held *h = e->held_head;
		e->held_head = h->next;
		free(h);
	}
	e->held_tail = NULL;
}

void cv_engine_free(struct cv_engine *e)
{
	if (e == NULL)
		return;
	if (e->have_handle)
		cpg_finalize(e->handle);
	cv_send_free_all(e);
	cv_receive_free_all(e);
	free_held(e);
	free(e->members);
	free(e->settled);
	free(e->ring_nodes);
	free(e);
}

int cv_engine_fd(const struct cv_engine *e)
{
	return e->state == CV_CONNECTED ? e->fd : -1;
}

bool cv_engine_is_member(const struct cv_engine *e, uint32_t nodeid, uint32_t pid)
{
	for (size_t i = 0; i < e->n_members; i++)
		if (e->members[i].nodeid == nodeid && e->members[i].pid == pid)
			return true;
	return false;
}

void cv_engine_stats(const struct cv_engine *e, struct cv_engine_stats *stats)
{
	*stats = e->stats;
	stats->nodeid = e->nodeid;
	stats->connected = e->state == CV_CONNECTED;
	stats->settled = !e->round_open && e->n_settled > 0;
	stats->held_bytes = e->held_bytes;
	stats->inflight_bytes = e->inflight;
}

cs_error_t cv_engine_mcast(struct cv_engine *e, struct cv_wire_header *h, const struct iovec *body,
			   int n_body)
{
	uint8_t header[CV_WIRE_HEADER];
	struct iovec iov[4];
	size_t length = 0;
	cs_error_t err;

	for (int i = 0; i < n_body; i++) {
		iov[i + 1] = body[i];
		length += body[i].iov_len;
	}
	h->incarnation = e->incarnation;
	h->packet = e->packet_sent + 1;
	h->body_length = (uint32_t)length;
	h->sent_bytes = e->sent_bytes + CV_WIRE_HEADER + length;
	cv_wire_put_header(header, h);
	iov[0] = (struct iovec){ header, sizeof(header) };
	err = cpg_mcast_joined(e->handle, CPG_TYPE_AGREED, iov, (unsigned)n_body + 1);
	if (err == CS_OK) {
		if (e->packet_sent == e->packet_back)
			e->back_at = cv_engine_now();
		e->packet_sent++;
		e->sent_bytes = h->sent_bytes;
		e->inflight += CV_WIRE_HEADER + length;
		e->stats.packets_sent++;
	} else if (err != CS_ERR_TRY_AGAIN) {
		char why[128];
		snprintf(why, sizeof(why), "cpg_mcast_joined: %s", cs_strerror(err));
		cv_engine_disconnect(e, why);
	}
	return err;
}

/* ---- configurations ---------------------------------------------------- */

static uint64_t fnv(uint64_t hash, uint64_t value)
{
	for (int i = 0; i < 8; i++) {
		hash ^= (value >> (8 * i)) & 0xff;
		hash *= 0x100000001b3ull;
	}
	return hash;
}

static int member_order(const void *a, const void *b)
{
	const struct cv_member_id *x = a, *y = b;

	if (x->nodeid != y->nodeid)
		return x->nodeid < y->nodeid ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static uint64_t view_hash(const struct cv_engine *e)
{
	uint64_t hash = fnv(fnv(0xcbf29ce484222325ull, e->ring_nodeid), e->ring_seq);

	for (size_t i = 0; i < e->n_members; i++)
		hash = fnv(hash, (uint64_t)e->members[i].nodeid << 32 | e->members[i].pid);
	return hash;
}

/* Delivers what was held back during an open round, in the order it came. */
static void release_held(struct cv_engine *e)
{
	while (e->held_head) {
		struct cv_held *h = e->held_head;
		struct cv_wire_packet p;
		const char *why;
		e->held_head = h->next;
		if (cv_wire_decode(h->bytes, h->length, e->config.max_message, &p, &why) == 0)
			cv_receive_data(e, h->nodeid, h->pid, &p);
		free(h);
	}
	e->held_tail = NULL;
}

static void start_round(struct cv_engine *e)
{
	release_held(e);
	for (size_t i = 0; i < e->n_origins; i++) {
		struct cv_origin *o = &e->origins[i];
		o->member = cv_engine_is_member(e, o->nodeid, o->pid);
		o->synced = false;
		free(o->state);
		o->state = NULL;
		o->state_length = 0;
	}
	e->resend_all = false;
	for (size_t i = 0; i < e->n_origins; i++)
		e->resend_all |= e->origins[i].owed && e->origins[i].member;
	e->round_open = cv_engine_is_member(e, e->nodeid, e->pid);
	e->round_hash = view_hash(e);
	e->sync_pending = e->round_open;
	e->own_sync_back = false;
	e->round_started_at = cv_engine_now();
	e->round_warned = false;
	cv_send_update_stable(e);
}

static void record_left(struct cv_engine *e, const struct cpg_address *left, size_t n_left)
{
	for (size_t i = 0; i < n_left; i++) {
		struct cv_origin *o = cv_origin_get(e, left[i].nodeid, left[i].pid, 0);
		if (o)
			o->left_reason = left[i].reason;
	}
}

static void on_confchg(cpg_handle_t handle, const struct cpg_name *group, const struct cpg_address *members,
		       size_t n_members, const struct cpg_address *left, size_t n_left,
		       const struct cpg_address *joined, size_t n_joined)
{
	struct cv_engine *e = NULL;
	struct cv_member_id *ids;

	cpg_context_get(handle, (void **)&e);
	ids = calloc(n_members + 1, sizeof(*ids));
	if (ids == NULL) {
		cv_engine_disconnect(e, "no memory for a configuration");
		return;
	}
	for (size_t i = 0; i < n_members; i++)
		ids[i] = (struct cv_member_id){ members[i].nodeid, members[i].pid };
	qsort(ids, n_members, sizeof(*ids), member_order);
	free(e->members);
	e->members = ids;
	e->n_members = n_members;
	record_left(e, left, n_left);
	cv_engine_log(e, LOG_INFO, "engine group: %zu members, %zu joined, %zu left", n_members, n_joined,
		      n_left);
	start_round(e);
}

static void on_totem_confchg(cpg_handle_t handle, struct cpg_ring_id ring_id, uint32_t n_nodes,
			     const uint32_t *nodes)
{
	struct cv_engine *e = NULL;
	uint32_t *copy;

	cpg_context_get(handle, (void **)&e);
	copy = malloc((n_nodes + 1) * sizeof(*copy));
	if (copy == NULL) {
		cv_engine_disconnect(e, "no memory for a ring");
		return;
	}
	memcpy(copy, nodes, n_nodes * sizeof(*copy));
	free(e->ring_nodes);
	e->ring_nodes = copy;
	e->n_ring_nodes = n_nodes;
	e->ring_nodeid = ring_id.nodeid;
	e->ring_seq = ring_id.seq;
	cv_engine_log(e, LOG_INFO, "corosync ring %u.%llu: %u nodes", ring_id.nodeid,
		      (unsigned long long)ring_id.seq, n_nodes);
	start_round(e);
}

static void send_sync(struct cv_engine *e)
{
	struct cv_wire_header h = { .type = CV_WIRE_SYNC };
	size_t cap = e->config.packet_max - CV_WIRE_HEADER - CV_WIRE_SYNC_HEADER;
	uint8_t *state = malloc(cap);
	ssize_t length = 0;

	if (state == NULL) {
		/* retried later, not at once: the loop would spin on it */
		e->retry_send_at = cv_engine_now() + 5;
		return;
	}
	if (e->cb.collect_state)
		length = e->cb.collect_state(e->ctx, state, cap);
	if (length < 0 || (size_t)length > cap) {
		cv_engine_log(e, LOG_ERR, "this node's state does not fit a sync packet (%zu bytes at most)",
			      cap);
		length = 0;
	}
	uint8_t sync[CV_WIRE_SYNC_HEADER];
	e->own_sync_start = cv_send_start_seq(e);
	h.seq = e->own_sync_start;
	cv_wire_put_sync(sync, e->ring_nodeid, e->ring_seq, e->round_hash, (uint32_t)length);
	struct iovec body[2] = { { sync, sizeof(sync) }, { state, (size_t)length } };
	uint64_t number = e->packet_sent + 1;
	cs_error_t err = cv_engine_mcast(e, &h, body, 2);
	if (err == CS_OK) {
		e->sync_pending = false;
		e->own_sync_packet = number;
	} else if (err == CS_ERR_TRY_AGAIN) {
		e->retry_send_at = cv_engine_now() + 5;
	}
	free(state);
}

static bool listed(const struct cv_member_id *list, size_t n, const struct cv_member_id *id)
{
	return n > 0 && bsearch(id, list, n, sizeof(*list), member_order) != NULL;
}

/* Stops keeping messages for members from before a corosync loss: when
 * the same node came back as another process, or (expired) once owed_ms
 * has passed. */
static void forget_owed(struct cv_engine *e, bool expired)
{
	for (size_t i = 0; i < e->n_origins; i++) {
		struct cv_origin *o = &e->origins[i];
		bool replaced = false;
		if (!o->owed)
			continue;
		for (size_t m = 0; m < e->n_members; m++)
			replaced |= e->members[m].nodeid == o->nodeid && e->members[m].pid != o->pid;
		if (!replaced && !expired)
			continue;
		o->owed = false;
		cv_engine_log(e, LOG_WARNING,
			      "node %u pid %u %s: what it may have missed of ours is not sent again",
			      o->nodeid, o->pid,
			      replaced ? "came back as another process" : "did not come back in time");
	}
	cv_send_update_stable(e);
}

/* Every member's SYNC is in: the configuration settles. */
static void settle_round(struct cv_engine *e)
{
	struct cv_engine_member *list = calloc(2 * e->n_members + e->n_settled + 1, sizeof(*list));
	struct cv_member_id *settled = calloc(e->n_members + 1, sizeof(*settled));
	size_t n_joined = 0, n_left = 0;

	if (list == NULL || settled == NULL) {
		free(list);
		free(settled);
		cv_engine_disconnect(e, "no memory to settle a configuration");
		return;
	}
	struct cv_engine_member *members = list, *joined = list + e->n_members, *left = joined;
	for (size_t i = 0; i < e->n_members; i++) {
		struct cv_origin *o = cv_origin_find(e, e->members[i].nodeid, e->members[i].pid);
		bool was = listed(e->settled, e->n_settled, &e->members[i]);
		if (!o->known || o->sync_start > o->last + 1)
			o->last = o->sync_start - 1;
		o->known = true;
		o->left_reason = 0;
		if (!was && !o->owed && o != cv_origin_find(e, e->nodeid, e->pid) &&
		    e->own_sync_start > o->floor + 1)
			o->floor = e->own_sync_start - 1;
		o->owed = false;
		members[i] = (struct cv_engine_member){ o->nodeid, o->pid, 0, o->state, o->state_length };
		if (!was)
			joined[n_joined++] = members[i];
		settled[i] = e->members[i];
	}
	left = joined + n_joined;
	for (size_t i = 0; i < e->n_settled; i++) {
		if (listed(e->members, e->n_members, &e->settled[i]))
			continue;
		struct cv_origin *o = cv_origin_find(e, e->settled[i].nodeid, e->settled[i].pid);
		uint32_t reason = o && o->left_reason ? o->left_reason : CV_ENGINE_NODEDOWN;
		left[n_left++] = (struct cv_engine_member){ .nodeid = e->settled[i].nodeid,
							    .pid = e->settled[i].pid,
							    .reason = reason };
	}
	struct cv_engine_view view = {
		.ring_nodeid = e->ring_nodeid,
		.ring_seq = e->ring_seq,
		.ring_nodes = e->ring_nodes,
		.n_ring_nodes = e->n_ring_nodes,
		.members = members,
		.n_members = e->n_members,
		.joined = joined,
		.n_joined = n_joined,
		.left = left,
		.n_left = n_left,
		.connected = true,
	};
	free(e->settled);
	e->settled = settled;
	e->n_settled = e->n_members;
	e->round_open = false;
	if (e->resend_all)
		cv_send_rewind(e);
	e->resend_all = false;
	forget_owed(e, false);
	cv_engine_log(e, LOG_INFO, "configuration settled: %zu members, %zu joined, %zu left", e->n_members,
		      n_joined, n_left);
	e->cb.view(e->ctx, &view);
	free(list);
	release_held(e);
	cv_send_update_stable(e);
}

static void on_sync(struct cv_engine *e, uint32_t nodeid, uint32_t pid, const struct cv_wire_packet *p)
{
	struct cv_origin *o;

	if (!e->round_open || p->sync.view_hash != e->round_hash || !cv_engine_is_member(e, nodeid, pid))
		return;
	o = cv_origin_get(e, nodeid, pid, p->header.incarnation);
	if (o == NULL || o->synced)
		return;
	o->member = true;
	o->state = p->sync.state_length ? malloc(p->sync.state_length) : NULL;
	if (p->sync.state_length && o->state == NULL) {
		cv_engine_disconnect(e, "no memory for a member's state");
		return;
	}
	if (o->state)
		memcpy(o->state, p->sync.state, p->sync.state_length);
	o->state_length = p->sync.state_length;
	o->sync_start = p->header.seq;
	o->synced = true;
	if (nodeid == e->nodeid && pid == e->pid)
		e->own_sync_back = true;
	for (size_t i = 0; i < e->n_members; i++) {
		struct cv_origin *m = cv_origin_find(e, e->members[i].nodeid, e->members[i].pid);
		if (m == NULL || !m->synced)
			return;
	}
	settle_round(e);
}

static void hold(struct cv_engine *e, uint32_t nodeid, uint32_t pid, const void *bytes, size_t length)
{
	struct cv_held *h = malloc(sizeof(*h) + length);

	if (h == NULL) {
		cv_engine_disconnect(e, "no memory to hold a packet during a sync round");
		return;
	}
	*h = (struct cv_held){ .nodeid = nodeid, .pid = pid, .length = length };
	memcpy(h->bytes, bytes, length);
	if (e->held_tail)
		e->held_tail->next = h;
	else
		e->held_head = h;
	e->held_tail = h;
}

static void on_deliver(cpg_handle_t handle, const struct cpg_name *group, uint32_t nodeid, uint32_t pid,
		       void *msg, size_t length)
{
	struct cv_engine *e = NULL;
	struct cv_wire_packet p;
	const char *why;

	cpg_context_get(handle, (void **)&e);
	if (cv_wire_decode(msg, length, e->config.max_message, &p, &why) != 0) {
		if (e->stats.dropped_malformed++ % 1000 < 10)
			cv_engine_log(e, LOG_WARNING,
				      "dropped a malformed packet of %zu bytes from node %u pid %u: %s",
				      length, nodeid, pid, why);
		return;
	}
	if (nodeid == e->nodeid && pid == e->pid && p.header.incarnation == e->incarnation)
		cv_send_own_packet_back(e, &p);
	switch (p.header.type) {
	case CV_WIRE_ACK:
		cv_receive_ack(e, nodeid, pid, &p);
		break;
	case CV_WIRE_SYNC:
		on_sync(e, nodeid, pid, &p);
		break;
	case CV_WIRE_BATCH:
	case CV_WIRE_FRAGMENT:
		if (e->round_open)
			hold(e, nodeid, pid, msg, length);
		else
			cv_receive_data(e, nodeid, pid, &p);
		break;
	}
}

/* ---- the connection ---------------------------------------------------- */

/* This node alone: how the engine reports corosync being unreachable. */
static void report_alone(struct cv_engine *e)
{
	struct cv_member_id self = { e->nodeid, e->pid };
	struct cv_engine_member me = { .nodeid = e->nodeid, .pid = e->pid };
	struct cv_engine_member *left = calloc(e->n_settled + 1, sizeof(*left));
	size_t n_left = 0;

	if (left == NULL)
		return;
	for (size_t i = 0; i < e->n_settled; i++)
		if (member_order(&e->settled[i], &self) != 0)
			left[n_left++] = (struct cv_engine_member){ .nodeid = e->settled[i].nodeid,
								    .pid = e->settled[i].pid,
								    .reason = CV_ENGINE_NODEDOWN };
	e->settled[0] = self;
	e->n_settled = 1;
	e->members[0] = self;
	e->n_members = 1;
	struct cv_engine_view view = {
		.members = &me,
		.n_members = 1,
		.left = left,
		.n_left = n_left,
		.connected = false,
	};
	e->cb.view(e->ctx, &view);
	free(left);
}

static void finalize_handle(struct cv_engine *e)
{
	if (e->have_handle)
		cpg_finalize(e->handle);
	e->have_handle = false;
	e->fd = -1;
}

void cv_engine_disconnect(struct cv_engine *e, const char *why)
{
	bool was_connected = e->state == CV_CONNECTED;

	finalize_handle(e);
	if (!was_connected)
		return;
	cv_engine_log(e, LOG_WARNING, "lost corosync: %s; this node goes on alone until it is back", why);
	e->state = CV_DISCONNECTED;
	release_held(e);
	e->round_open = e->sync_pending = false;
	cv_send_rewind(e);
	for (size_t i = 0; i < e->n_origins; i++)
		e->origins[i].owed |= e->origins[i].member &&
				      !(e->origins[i].nodeid == e->nodeid && e->origins[i].pid == e->pid);
	e->owed_until = cv_engine_now() + e->config.owed_ms;
	if (e->n_settled > 0)
		report_alone(e);
	e->reconnect_delay = e->config.reconnect_min_ms;
	e->reconnect_at = cv_engine_now() + e->reconnect_delay;
}

static void fail(struct cv_engine *e, const char *why)
{
	finalize_handle(e);
	e->state = CV_FAILED;
	cv_engine_log(e, LOG_ERR, "cluster engine stops: %s", why);
	if (e->cb.failed)
		e->cb.failed(e->ctx, why);
}

static void connect_failed(struct cv_engine *e, const char *step, cs_error_t err)
{
	char why[160];

	finalize_handle(e);
	e->attempts++;
	snprintf(why, sizeof(why), "%s: %s", step, cs_strerror(err));
	if (e->config.reconnect_attempts && e->attempts >= e->config.reconnect_attempts) {
		char text[256];
		snprintf(text, sizeof(text), "corosync unreachable after %u attempts (%s)", e->attempts, why);
		fail(e, text);
		return;
	}
	if (e->attempts == 1 || e->attempts % 10 == 0)
		cv_engine_log(e, LOG_WARNING, "corosync unreachable (%s); attempt %u, next in %d ms", why,
			      e->attempts, e->reconnect_delay);
	e->reconnect_at = cv_engine_now() + e->reconnect_delay;
	e->reconnect_delay = e->reconnect_delay * 2 < e->config.reconnect_max_ms ? e->reconnect_delay * 2
										 : e->config.reconnect_max_ms;
}

/* Refuses a connection that does not reach corosync: 0 to go on. */
static int check_peer(struct cv_engine *e)
{
	char what[CV_TEXT - 256], why[CV_TEXT];

	switch (cv_link_identify_peer(e->fd, what, sizeof(what))) {
	case CV_PEER_COROSYNC:
		return 0;
	case CV_PEER_UNKNOWN:
		cv_engine_log(e, LOG_WARNING, "cannot tell who serves cpg: %s", what);
		return 0;
	case CV_PEER_ERROR:
		connect_failed(e, what, CS_ERR_LIBRARY);
		return -1;
	default:
		snprintf(why, sizeof(why),
			 "the cpg connection reaches %s, not corosync: a library of Conclave's (or another) "
			 "answers instead of corosync's libcpg",
			 what);
		fail(e, why);
		return -1;
	}
}

static void connect_corosync(struct cv_engine *e)
{
	cpg_model_v1_data_t model = {
		.model = CPG_MODEL_V1,
		.cpg_deliver_fn = on_deliver,
		.cpg_confchg_fn = on_confchg,
		.cpg_totem_confchg_fn = on_totem_confchg,
		.flags = CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF,
	};
	struct cpg_name name = { .length = (uint32_t)strlen(e->group) };
	char why[CV_TEXT];
	cs_error_t err;
	unsigned int nodeid;

	if (cv_link_check_libraries(why, sizeof(why)) != 0) {
		fail(e, why);
		return;
	}
	err = cpg_model_initialize(&e->handle, CPG_MODEL_V1, (cpg_model_data_t *)&model, e);
	if (err != CS_OK) {
		connect_failed(e, "cpg_model_initialize", err);
		return;
	}
	e->have_handle = true;
	if ((err = cpg_fd_get(e->handle, &e->fd)) != CS_OK) {
		connect_failed(e, "cpg_fd_get", err);
		return;
	}
	if (check_peer(e) != 0)
		return;
	memcpy(name.value, e->group, name.length);
	if ((err = cpg_local_get(e->handle, &nodeid)) != CS_OK ||
	    (err = cpg_join(e->handle, &name)) != CS_OK) {
		connect_failed(e, "joining the engine group", err);
		return;
	}
	if (e->nodeid && e->nodeid != nodeid)
		cv_engine_log(e, LOG_WARNING, "corosync's node id changed from %u to %u", e->nodeid, nodeid);
	e->nodeid = nodeid;
	e->pid = (uint32_t)getpid();
	e->state = CV_CONNECTED;
	e->packet_back = e->packet_sent;
	e->inflight = 0;
	e->retry_send_at = 0;
	cv_engine_log(e, LOG_NOTICE, "%s corosync: node %u, group %s",
		      e->ever_connected ? "back on" : "connected to", nodeid, e->group);
	e->ever_connected = true;
	e->attempts = 0;
	e->reconnect_delay = e->config.reconnect_min_ms;
}

/* ---- the loop ---------------------------------------------------------- */

static void send_probe_when_due(struct cv_engine *e)
{
	struct cv_wire_header h = { .type = CV_WIRE_PROBE };

	if (e->packet_sent == e->packet_back || cv_engine_now() < e->back_at + e->config.probe_ms)
		return;
	if (cv_engine_mcast(e, &h, NULL, 0) == CS_OK)
		e->back_at = cv_engine_now();
}

static void warn_of_slow_round(struct cv_engine *e)
{
	if (!e->round_open || e->round_warned || cv_engine_now() < e->round_started_at + ROUND_WARN_MS)
		return;
	e->round_warned = true;
	for (size_t i = 0; i < e->n_members; i++) {
		struct cv_origin *o = cv_origin_find(e, e->members[i].nodeid, e->members[i].pid);
		if (o == NULL || !o->synced)
			cv_engine_log(e, LOG_WARNING,
				      "configuration change waits for node %u pid %u for %d s",
				      e->members[i].nodeid, e->members[i].pid, ROUND_WARN_MS / 1000);
	}
}

static bool owes(const struct cv_engine *e)
{
	for (size_t i = 0; i < e->n_origins; i++)
		if (e->origins[i].owed)
			return true;
	return false;
}

static void send_what_is_due(struct cv_engine *e, bool flush)
{
	if (e->state != CV_CONNECTED)
		return;
	if (cv_engine_now() >= e->owed_until && owes(e))
		forget_owed(e, true);
	if (e->sync_pending && cv_engine_now() >= e->retry_send_at)
		send_sync(e);
	cv_send_pending(e, flush);
	if (e->state == CV_CONNECTED)
		send_probe_when_due(e);
	warn_of_slow_round(e);
}

/* A hang-up that cpg_dispatch does not report. */
static bool hung_up(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLHUP | POLLERR | POLLNVAL));
}

/* Events read per cv_engine_process(), so that a stream from corosync
 * cannot keep the daemon's loop from its other work (and this node from
 * sending); the rest wait for the next call, which cv_engine_timeout()
 * makes immediate. */
#define DISPATCH_BUDGET 256

void cv_engine_process(struct cv_engine *e)
{
	cs_error_t err = CS_OK;

	if (e->state == CV_DISCONNECTED && cv_engine_now() >= e->reconnect_at)
		connect_corosync(e);
	if (e->state != CV_CONNECTED)
		return;
	e->in_dispatch = true;
	e->more_to_read = true;
	for (int i = 0; i < DISPATCH_BUDGET && e->state == CV_CONNECTED; i++) {
		err = cpg_dispatch(e->handle, CS_DISPATCH_ONE_NONBLOCKING);
		if (err != CS_OK)
			break;
	}
	e->in_dispatch = false;
	if (e->state != CV_CONNECTED)
		return;
	if (err == CS_ERR_TRY_AGAIN) {
		e->more_to_read = false;
		err = CS_OK;
	}
	if (err != CS_OK) {
		char why[96];
		snprintf(why, sizeof(why), "cpg_dispatch: %s", cs_strerror(err));
		cv_engine_disconnect(e, why);
		return;
	}
	if (hung_up(e->fd)) {
		cv_engine_disconnect(e, "corosync closed the connection");
		return;
	}
	send_what_is_due(e, false);
}

void cv_engine_flush(struct cv_engine *e)
{
	send_what_is_due(e, true);
}

static int64_t earliest(int64_t a, int64_t b)
{
	return a < 0 || (b >= 0 && b < a) ? b : a;
}

int cv_engine_timeout(const struct cv_engine *e)
{
	int64_t now = cv_engine_now(), at = -1;

	if (e->state == CV_FAILED)
		return -1;
	if (e->state == CV_DISCONNECTED)
		at = e->reconnect_at;
	else {
		if (e->more_to_read)
			return 0;
		if (e->sync_pending || (e->cursor && e->retry_send_at > now))
			at = earliest(at, e->retry_send_at);
		if (e->ack_due)
			at = earliest(at, e->ack_first_at + e->config.ack_delay_ms);
		if (e->packet_sent != e->packet_back)
			at = earliest(at, e->back_at + e->config.probe_ms);
		if (e->round_open && !e->round_warned)
			at = earliest(at, e->round_started_at + ROUND_WARN_MS);
		if (owes(e))
			at = earliest(at, e->owed_until);
	}
	if (at < 0)
		return -1;
	return at <= now ? 0 : (int)(at - now > 60000 ? 60000 : at - now);
}
