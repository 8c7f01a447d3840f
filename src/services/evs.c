/* The evs service: corosync 1.x's extended virtual synchrony groups, on the
 * group table cpg uses (cpg-groups.h), in a table of its own. A connection
 * may join many groups, and the same group more than once: each join is a
 * member of its group. A message goes to every connection that has joined
 * at least one of its groups, once, in one step of the daemon's loop, so
 * every receiver sees the same total order. A connection holds at most
 * conclave.evs_max_joins joins.
 *
 * Messages of up to 64 KiB are pipelined (one-way, CV_REQUEST_NOWAIT), as
 * cpg's: when a receiver has no room, the daemon holds the message and
 * stops reading its sender, whose library then returns CS_ERR_TRY_AGAIN
 * once the connection is full, and retries it whenever a queue shrinks.
 * Larger messages come with a round trip: nobody gets one a receiver has
 * no room for, and its sender gets CS_ERR_TRY_AGAIN.
 *
 * The configuration change reports nodes, not groups: one right after the
 * WELCOME, with the cluster membership the quorum provider published (this
 * node alone without one). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <corosync/evs.h>

#include <conclave/service.h>
#include <conclave/cluster.h>

#include "cpg-groups.h"
#include "evs-private.h"
#include "evs-server.h"
#include "held-senders.h"
#include "quorum-state.h"

/* One join of one group by one connection. */
struct evs_join {
	struct cpg_member member;
	struct cv_list link; /* in evs_connection.joins, oldest first */
};

struct evs_connection {
	struct cv_session *session;
	struct cv_list link; /* in connections */
	struct cv_list joins;
	size_t n_joins;
	uint64_t last_message; /* the stamp of the last message queued to it */
};

static struct cpg_group_table groups;
static uint32_t max_joins = 1024; /* per connection: conclave { evs_max_joins } */
static struct cv_list connections = CV_LIST_INIT(connections);
static uint64_t message_stamp;

/* A held message the daemon lacked memory for is tried again after this. */
#define NO_MEMORY_RETRY_MS 10

/* Senders whose posted message waits for room. */
static struct held_senders held;

/* The receivers of the message being sent, each once. */
static struct evs_connection **receivers;
static size_t n_receivers, receivers_capacity;

static uint32_t local_nodeid(void)
{
	if (cv_cluster_enabled())
		return cv_cluster_nodeid();
	return cv_settings_local_node(cv_server_settings())->nodeid;
}

static struct evs_connection *connection_of(const struct cv_session *s)
{
	return cv_session_private(s);
}

/* The keys of a request's groups, packed EVS_GROUP_KEY_LENGTH bytes each
 * (as the cluster's messages carry them) in memory of the reply. */
static cs_error_t keys_of(struct cv_session *s, EvsGroup *const *wire, size_t n, ProtobufCBinaryData *keys)
{
	if (n > EVS_MAX_GROUPS_PER_CALL)
		return CS_ERR_TOO_MANY_GROUPS;
	keys->len = n * EVS_GROUP_KEY_LENGTH;
	keys->data = cv_reply_alloc(s, keys->len + 1);
	if (keys->data == NULL)
		return CS_ERR_NO_MEMORY;
	for (size_t i = 0; i < n; i++) {
		if (wire[i]->key.len != EVS_GROUP_KEY_LENGTH)
			return CS_ERR_INVALID_PARAM;
		memcpy(keys->data + i * EVS_GROUP_KEY_LENGTH, wire[i]->key.data, EVS_GROUP_KEY_LENGTH);
	}
	return CS_OK;
}

static const uint8_t *key_at(ProtobufCBinaryData keys, size_t i)
{
	return keys.data + i * EVS_GROUP_KEY_LENGTH;
}

/* ---- join and leave -------------------------------------------------------- */

static void join_free(struct evs_connection *c, struct evs_join *j)
{
	c->n_joins--;
	cpg_group_remove(&j->member);
	cv_list_remove(&j->link);
	free(j);
}

static struct evs_join *join_new(struct evs_connection *c, const uint8_t *key)
{
	struct evs_join *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return NULL;
	j->member.session = c->session;
	j->member.nodeid = local_nodeid();
	j->member.pid = (uint32_t)cv_session_pid(c->session);
	cv_list_init(&j->link);
	if (cpg_group_add(&groups, &j->member, key, EVS_GROUP_KEY_LENGTH) < 0) {
		free(j);
		return NULL;
	}
	cv_list_insert(c->joins.prev, &j->link);
	c->n_joins++;
	return j;
}

/* All of them or, beyond the limit or out of memory, none. */
cs_error_t evs_handle_join(struct cv_session *s, const EvsJoinRequest *request, EvsJoinReply *reply)
{
	struct evs_connection *c = connection_of(s);
	struct evs_join *added[EVS_MAX_GROUPS_PER_CALL];
	size_t count = request->n_groups;
	ProtobufCBinaryData keys;
	cs_error_t err = keys_of(s, request->groups, count, &keys);

	if (err != CS_OK)
		return err;
	if (c->n_joins + count > max_joins)
		return CS_ERR_NO_RESOURCES;
	for (size_t i = 0; i < count; i++) {
		added[i] = join_new(c, key_at(keys, i));
		if (added[i] == NULL) {
			while (i-- > 0)
				join_free(c, added[i]);
			return CS_ERR_NO_MEMORY;
		}
	}
	return CS_OK;
}

static struct evs_join *join_find(struct evs_connection *c, const uint8_t *key)
{
	struct evs_join *j;

	cv_list_for_each (j, &c->joins, link)
		/* The analyzer does not see join_free unlink what it frees. */
		/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc) */
		if (memcmp(j->member.group->name, key, EVS_GROUP_KEY_LENGTH) == 0)
			return j;
	return NULL;
}

/* In order, stopping at the first group not joined, as corosync does. */
cs_error_t evs_handle_leave(struct cv_session *s, const EvsLeaveRequest *request, EvsLeaveReply *reply)
{
	struct evs_connection *c = connection_of(s);
	ProtobufCBinaryData keys;
	cs_error_t err = keys_of(s, request->groups, request->n_groups, &keys);

	if (err != CS_OK)
		return err;
	for (size_t i = 0; i < request->n_groups; i++) {
		struct evs_join *j = join_find(c, key_at(keys, i));

		if (j == NULL)
			return CS_ERR_NOT_EXIST;
		join_free(c, j);
	}
	return CS_OK;
}

/* ---- messages -------------------------------------------------------------- */

static int receiver_add(struct evs_connection *c)
{
	if (c->last_message == message_stamp)
		return 0;
	if (n_receivers == receivers_capacity) {
		size_t capacity = receivers_capacity ? 2 * receivers_capacity : 16;
		struct evs_connection **grown = realloc(receivers, capacity * sizeof(*receivers));

		if (grown == NULL)
			return -1;
		receivers = grown;
		receivers_capacity = capacity;
	}
	c->last_message = message_stamp;
	receivers[n_receivers++] = c;
	return 0;
}

static int group_receivers_add(const struct cpg_group *g)
{
	for (const struct cpg_member *m = g->members; m != NULL; m = m->next)
		if (receiver_add(connection_of(m->session)) < 0)
			return -1;
	return 0;
}

static void receivers_start(void)
{
	message_stamp++;
	n_receivers = 0;
}

/* The keys of the sender's joins, packed as a request's keys. */
static uint8_t *joined_keys(struct evs_connection *sender, size_t *count)
{
	uint8_t *keys = malloc(sender->n_joins * EVS_GROUP_KEY_LENGTH + 1);
	struct evs_join *j;
	size_t n = 0;

	if (keys == NULL)
		return NULL;
	cv_list_for_each (j, &sender->joins, link)
		memcpy(keys + EVS_GROUP_KEY_LENGTH * n++, j->member.group->name, EVS_GROUP_KEY_LENGTH);
	*count = n;
	return keys;
}

static int joined_receivers_add(struct evs_connection *sender)
{
	struct evs_join *j;

	receivers_start();
	cv_list_for_each (j, &sender->joins, link)
		if (group_receivers_add(j->member.group) < 0)
			return -1;
	return 0;
}

int evs_receivers_of(ProtobufCBinaryData keys, size_t count)
{
	receivers_start();
	for (size_t i = 0; i < count; i++) {
		const struct cpg_group *g = cpg_group_find(&groups, key_at(keys, i), EVS_GROUP_KEY_LENGTH);

		if (g != NULL && group_receivers_add(g) < 0)
			return -1;
	}
	return 0;
}

static bool receivers_have_room(size_t bytes)
{
	for (size_t i = 0; i < n_receivers; i++)
		if (cv_session_is_open(receivers[i]->session) &&
		    !cv_session_has_room(receivers[i]->session, bytes))
			return false;
	return true;
}

static EvsMessageEvent message_event(uint32_t nodeid, ProtobufCBinaryData msg)
{
	EvsMessageEvent event = EVS_MESSAGE_EVENT__INIT;

	event.nodeid = nodeid;
	event.msg = msg;
	return event;
}

/* To every receiver, or to none with CS_ERR_TRY_AGAIN; packed once,
 * however many receivers share it. */
static cs_error_t message_fan_out(ProtobufCBinaryData msg)
{
	EvsMessageEvent event = message_event(local_nodeid(), msg);
	struct cv_packed_frame *packed;

	if (n_receivers == 0)
		return CS_OK;
	if (!receivers_have_room(protobuf_c_message_get_packed_size(&event.base)))
		return CS_ERR_TRY_AGAIN;
	packed = cv_event_pack(EVS_EVENT_MESSAGE, &event.base);
	if (packed == NULL)
		return CS_ERR_NO_MEMORY;
	for (size_t i = 0; i < n_receivers; i++)
		cv_session_send_packed(receivers[i]->session, packed);
	cv_packed_frame_release(packed);
	return CS_OK;
}

/* A node's message to the receivers evs_receivers_of() chose; one without
 * room is closed, as the sender, on another node maybe, cannot wait. */
void evs_deliver(uint32_t nodeid, ProtobufCBinaryData msg)
{
	EvsMessageEvent event = message_event(nodeid, msg);
	struct cv_packed_frame *packed;

	if (n_receivers == 0)
		return;
	packed = cv_event_pack(EVS_EVENT_MESSAGE, &event.base);
	if (packed == NULL) {
		cv_log_error("evs: out of memory delivering a message of node %u", nodeid);
		return;
	}
	for (size_t i = 0; i < n_receivers; i++)
		if (cv_session_send_packed(receivers[i]->session, packed) == CS_ERR_TRY_AGAIN)
			cv_session_close(receivers[i]->session,
					 "evs: no room for the cluster's messages to its groups");
	cv_packed_frame_release(packed);
}

/* In cluster mode a message is ordered first and delivered at every node.
 * This node's receivers must have room for it beside what this node has
 * ordered and not yet seen delivered, or the sender waits; a receiver on
 * another node without room when it comes is closed. */
static cs_error_t cluster_mcast(const uint8_t *keys, size_t count, ProtobufCBinaryData msg)
{
	ProtobufCBinaryData packed_keys = { .data = (uint8_t *)keys, .len = count * EVS_GROUP_KEY_LENGTH };
	EvsMessageEvent event = message_event(local_nodeid(), msg);

	if (evs_receivers_of(packed_keys, count) < 0)
		return CS_ERR_NO_MEMORY;
	if (!receivers_have_room(protobuf_c_message_get_packed_size(&event.base) + evs_cluster_in_flight()))
		return CS_ERR_TRY_AGAIN;
	return evs_cluster_mcast(keys, count, msg);
}

static cs_error_t joined_mcast(struct cv_session *s, ProtobufCBinaryData msg)
{
	struct evs_connection *c = connection_of(s);
	size_t count = 0;
	uint8_t *keys;
	cs_error_t err;

	if (!cv_cluster_enabled()) {
		if (joined_receivers_add(c) < 0)
			return CS_ERR_NO_MEMORY;
		return message_fan_out(msg);
	}
	keys = joined_keys(c, &count);
	if (keys == NULL)
		return CS_ERR_NO_MEMORY;
	err = cluster_mcast(keys, count, msg);
	free(keys);
	return err;
}

static cs_error_t groups_mcast(ProtobufCBinaryData keys, size_t count, ProtobufCBinaryData msg)
{
	if (cv_cluster_enabled())
		return cluster_mcast(keys.data, count, msg);
	if (evs_receivers_of(keys, count) < 0)
		return CS_ERR_NO_MEMORY;
	return message_fan_out(msg);
}

/* A message with a round trip: the caller is told. */
cs_error_t evs_handle_joined_mcast_large(struct cv_session *s, const EvsJoinedMcastLargeRequest *request,
					 EvsJoinedMcastLargeReply *reply)
{
	return joined_mcast(s, request->msg);
}

cs_error_t evs_handle_groups_mcast_large(struct cv_session *s, const EvsGroupsMcastLargeRequest *request,
					 EvsGroupsMcastLargeReply *reply)
{
	ProtobufCBinaryData keys;
	cs_error_t err = keys_of(s, request->groups, request->n_groups, &keys);

	if (err != CS_OK)
		return err;
	return groups_mcast(keys, request->n_groups, request->msg);
}

/* A posted message was accepted: it is delivered, however long it waits.
 * CS_ERR_TRY_AGAIN holds the sender until room comes; memory the daemon
 * lacks holds it too, tried again a little later. What can never be
 * delivered (larger than the cluster carries, the engine gone) closes the
 * connection, so that the sender learns it lost something. */
static cs_error_t posted(struct cv_session *s, cs_error_t err)
{
	bool short_of_memory = err == CS_ERR_NO_MEMORY;

	if (short_of_memory)
		err = CS_ERR_TRY_AGAIN;
	else if (err != CS_OK && err != CS_ERR_TRY_AGAIN)
		cv_session_close(s, "evs: a posted message cannot be delivered");
	held_senders_note(&held, s, err);
	if (short_of_memory)
		held_senders_retry_in(&held, NO_MEMORY_RETRY_MS);
	return err;
}

cs_error_t evs_handle_joined_mcast(struct cv_session *s, const EvsJoinedMcastRequest *request)
{
	return posted(s, joined_mcast(s, request->msg));
}

/* The library never posts more than EVS_MAX_GROUPS_PER_CALL groups. */
cs_error_t evs_handle_groups_mcast(struct cv_session *s, const EvsGroupsMcastRequest *request)
{
	ProtobufCBinaryData keys;
	cs_error_t err = keys_of(s, request->groups, request->n_groups, &keys);

	if (err == CS_ERR_TOO_MANY_GROUPS || err == CS_ERR_INVALID_PARAM) {
		cv_session_close(s, "evs: a posted message names too many groups or a malformed key");
		return err;
	}
	if (err == CS_OK)
		err = groups_mcast(keys, request->n_groups, request->msg);
	return posted(s, err);
}

void evs_retry_held(void)
{
	held_senders_retry_soon(&held);
}

/* ---- membership ------------------------------------------------------------ */

/* The members the quorum provider published; without one, this node. In
 * cluster mode, corosync's ring. */
static const uint32_t *cluster_members(size_t *n, uint32_t *self)
{
	const struct quorum_view *view = quorum_state_current();

	*self = local_nodeid();
	if (cv_cluster_enabled()) {
		uint32_t ring_nodeid;
		uint64_t ring_seq;
		const uint32_t *nodes;

		cv_cluster_ring(&ring_nodeid, &ring_seq, &nodes, n);
		return nodes;
	}
	if (view->n_members == 0) {
		*n = 1;
		return self;
	}
	*n = view->n_members;
	return view->members;
}

cs_error_t evs_handle_members(struct cv_session *s, const EvsMembersRequest *request, EvsMembersReply *reply)
{
	uint32_t self;
	size_t n;
	const uint32_t *members = cluster_members(&n, &self);

	reply->local_nodeid = self;
	reply->members = cv_reply_alloc(s, n * sizeof(*reply->members));
	if (reply->members == NULL)
		return CS_ERR_NO_MEMORY;
	memcpy(reply->members, members, n * sizeof(*members));
	reply->n_members = n;
	return CS_OK;
}

/* corosync 1.x sends the last configuration change to a new connection; on
 * a single node that is the one that formed the ring, with every member
 * joined. */
static void initial_confchg_send(struct cv_session *s)
{
	const struct quorum_view *view = quorum_state_current();
	EvsMembershipEvent event = EVS_MEMBERSHIP_EVENT__INIT;
	EvsRingId ring = EVS_RING_ID__INIT;
	uint32_t self;
	size_t n;
	uint32_t *members = (uint32_t *)cluster_members(&n, &self);

	ring.nodeid = view->n_members > 0 ? view->ring_nodeid : self;
	ring.seq = view->ring_seq;
	if (cv_cluster_enabled()) {
		const uint32_t *nodes;

		cv_cluster_ring(&ring.nodeid, &ring.seq, &nodes, &n);
	}
	event.member_list = members;
	event.n_member_list = n;
	event.joined_list = members;
	event.n_joined_list = n;
	event.ring_id = &ring;
	if (evs_send_membership(s, &event) == CS_ERR_TRY_AGAIN)
		cv_session_close(s, "evs: no room for the first configuration change");
}

/* ---- service hooks --------------------------------------------------------- */

static int evs_connect(struct cv_session *s)
{
	struct evs_connection *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return -1;
	c->session = s;
	cv_list_init(&c->joins);
	cv_list_insert(connections.prev, &c->link);
	cv_session_set_private(s, c);
	return 0;
}

static void evs_disconnect(struct cv_session *s)
{
	struct evs_connection *c = connection_of(s);
	struct evs_join *j, *tmp;

	held_senders_remove(&held, s);
	cv_list_for_each_safe (j, tmp, &c->joins, link)
		join_free(c, j);
	cv_list_remove(&c->link);
	free(c);
	cv_session_set_private(s, NULL);
	held_senders_retry_soon(&held);
}

static void evs_room(struct cv_session *s)
{
	held_senders_retry_soon(&held);
}

/* Every connection gets the configuration change of corosync's ring. */
void evs_send_to_all(const EvsMembershipEvent *event)
{
	struct evs_connection *c;

	cv_list_for_each (c, &connections, link)
		if (cv_session_is_open(c->session) &&
		    evs_send_membership(c->session, event) == CS_ERR_TRY_AGAIN)
			cv_session_close(c->session, "evs: no room for a configuration change");
}

static int read_max_joins(const struct cv_conf *conf, uint32_t *out, char *err, size_t err_size)
{
	const struct cv_conf_reader r = { .conf = conf, .err = err, .err_size = err_size };

	return cv_conf_get_u32(&r, cv_conf_section(cv_conf_root(&r), "conclave"), "evs_max_joins", 1, 1000000,
			       out);
}

static int evs_configure(const struct cv_conf *conf, char *err, size_t err_size)
{
	return read_max_joins(conf, &max_joins, err, err_size) < 0 ? -1 : CV_SERVICE_OFFERED;
}

static int evs_check_reload(const struct cv_conf *next, char *err, size_t err_size)
{
	uint32_t unused;

	return read_max_joins(next, &unused, err, err_size);
}

static int evs_start(void)
{
	if (held_senders_start(&held) < 0)
		return -1;
	if (cmap_store_write_u32(cmap_default_map(), "runtime.config.conclave.evs_max_joins", max_joins) !=
	    CS_OK)
		return -1;
	if (cv_cluster_enabled())
		evs_cluster_start();
	return 0;
}

static void evs_stop(void)
{
	if (cv_cluster_enabled())
		evs_cluster_stop();
	held_senders_stop(&held);
	free(receivers);
	receivers = NULL;
	n_receivers = receivers_capacity = 0;
}

const struct cv_service_ops evs_service_ops = {
	.configure = evs_configure,
	.check_reload = evs_check_reload,
	.start = evs_start,
	.stop = evs_stop,
	.connect = evs_connect,
	.opened = initial_confchg_send,
	.disconnect = evs_disconnect,
	.room = evs_room,
};
