/* The evs service: corosync 1.x's extended virtual synchrony groups, on the
 * group table cpg uses (cpg-groups.h), in a table of its own. A connection
 * may join many groups, and the same group more than once: each join is a
 * member of its group. A message goes to every connection that has joined
 * at least one of its groups, once, in one step of the daemon's loop, so
 * every receiver sees the same total order; when one of them has no room,
 * nobody gets it and the sender gets CS_ERR_TRY_AGAIN. A connection holds at
 * most conclave.evs_max_joins joins.
 *
 * The configuration change reports nodes, not groups: one right after the
 * WELCOME, with the cluster membership the quorum provider published (this
 * node alone without one). */
#include <stdlib.h>
#include <string.h>

#include <corosync/evs.h>

#include <conclave/service.h>
#include <conclave/cluster.h>

#include "cpg-groups.h"
#include "evs-private.h"
#include "evs-server.h"
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

/* Keys travel packed, EVS_GROUP_KEY_LENGTH bytes each. */
static cs_error_t keys_count(ProtobufCBinaryData keys, size_t *count)
{
	if (keys.len % EVS_GROUP_KEY_LENGTH != 0)
		return CS_ERR_INVALID_PARAM;
	*count = keys.len / EVS_GROUP_KEY_LENGTH;
	return *count > EVS_MAX_GROUPS_PER_CALL ? CS_ERR_TOO_MANY_GROUPS : CS_OK;
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
cs_error_t evs_handle_groups_join(struct cv_session *s, const EvsGroupsJoinRequest *request,
				  EvsGroupsJoinReply *reply)
{
	struct evs_connection *c = connection_of(s);
	struct evs_join *added[EVS_MAX_GROUPS_PER_CALL];
	size_t count;
	cs_error_t err = keys_count(request->keys, &count);

	if (err != CS_OK)
		return err;
	if (c->n_joins + count > max_joins)
		return CS_ERR_NO_RESOURCES;
	for (size_t i = 0; i < count; i++) {
		added[i] = join_new(c, key_at(request->keys, i));
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
cs_error_t evs_handle_groups_leave(struct cv_session *s, const EvsGroupsLeaveRequest *request,
				   EvsGroupsLeaveReply *reply)
{
	struct evs_connection *c = connection_of(s);
	size_t count;
	cs_error_t err = keys_count(request->keys, &count);

	if (err != CS_OK)
		return err;
	for (size_t i = 0; i < count; i++) {
		struct evs_join *j = join_find(c, key_at(request->keys, i));

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

/* To every receiver, or to none with CS_ERR_TRY_AGAIN. */
static cs_error_t message_fan_out(ProtobufCBinaryData msg)
{
	EvsMessageEvent event = EVS_MESSAGE_EVENT__INIT;
	size_t bytes;

	event.nodeid = local_nodeid();
	event.msg = msg;
	bytes = protobuf_c_message_get_packed_size(&event.base);
	for (size_t i = 0; i < n_receivers; i++)
		if (cv_session_is_open(receivers[i]->session) &&
		    !cv_session_has_room(receivers[i]->session, bytes))
			return CS_ERR_TRY_AGAIN;
	for (size_t i = 0; i < n_receivers; i++)
		evs_send_message(receivers[i]->session, &event);
	return CS_OK;
}

/* A node's message to the receivers evs_receivers_of() chose; one without
 * room is closed, as the sender, on another node maybe, cannot wait. */
void evs_deliver(uint32_t nodeid, ProtobufCBinaryData msg)
{
	EvsMessageEvent event = EVS_MESSAGE_EVENT__INIT;

	event.nodeid = nodeid;
	event.msg = msg;
	for (size_t i = 0; i < n_receivers; i++)
		if (evs_send_message(receivers[i]->session, &event) == CS_ERR_TRY_AGAIN)
			cv_session_close(receivers[i]->session,
					 "evs: no room for the cluster's messages to its groups");
}

cs_error_t evs_handle_groups_mcast(struct cv_session *s, const EvsGroupsMcastRequest *request,
				   EvsGroupsMcastReply *reply)
{
	if (cv_cluster_enabled()) {
		size_t count = 0;
		uint8_t *keys = joined_keys(connection_of(s), &count);
		cs_error_t err = keys ? evs_cluster_mcast(keys, count, request->msg) : CS_ERR_NO_MEMORY;

		free(keys);
		return err;
	}
	if (joined_receivers_add(connection_of(s)) < 0)
		return CS_ERR_NO_MEMORY;
	return message_fan_out(request->msg);
}

cs_error_t evs_handle_groups_mcast_to(struct cv_session *s, const EvsGroupsMcastToRequest *request,
				      EvsGroupsMcastToReply *reply)
{
	size_t count;
	cs_error_t err = keys_count(request->keys, &count);

	if (err != CS_OK)
		return err;
	if (cv_cluster_enabled())
		return evs_cluster_mcast(request->keys.data, count, request->msg);
	if (evs_receivers_of(request->keys, count) < 0)
		return CS_ERR_NO_MEMORY;
	return message_fan_out(request->msg);
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

	cv_list_for_each_safe (j, tmp, &c->joins, link)
		join_free(c, j);
	cv_list_remove(&c->link);
	free(c);
	cv_session_set_private(s, NULL);
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
};
