/* The configuration service (corosync's cfg): node and link information,
 * configuration reload, log reopening, and the shutdown negotiation: a
 * try_shutdown asks every tracking connection through the shutdown event and
 * answers its caller once all have replied, or the timeout has passed.
 *
 * In cluster mode node status, addresses and links are corosync's answers,
 * kill_node is corosync's, and a shutdown conclaved's clients agreed to is
 * then asked of corosync, whose answer the caller gets; when corosync
 * shuts down, so does conclaved (cv_cluster_cfg_call()). */
#include <stdlib.h>
#include <string.h>

#include <corosync/cfg.h>

#include <conclave/cluster.h>
#include <conclave/service.h>

#include "cfg-nodes.h"
#include "corosync_cfg-server.h"

#define DEFAULT_SHUTDOWN_TIMEOUT_S 5u /* corosync's, overridden by cfg.shutdown_timeout */

enum shutdown_answer { ANSWER_NONE, ANSWER_PENDING, ANSWER_YES, ANSWER_NO };

struct cfg_client {
	struct cv_session *session;
	bool tracking;
	struct cv_list tracker_link; /* in trackers while tracking */
	enum shutdown_answer answer;
};

static struct cv_list trackers = CV_LIST_INIT(trackers);

/* The shutdown waiting for answers; caller is NULL when there is none. */
static struct {
	struct cfg_client *caller;
	struct cv_pending_reply reply;
	corosync_cfg_shutdown_flags_t flags;
	unsigned asked, yes, no;
	struct cv_timer *timer;
} pending;

static struct cfg_client *client_of(struct cv_session *s)
{
	return cv_session_private(s);
}

/* In cluster mode, corosync's id of this node. */
static uint32_t local_nodeid(void)
{
	if (cv_cluster_enabled())
		return cv_cluster_nodeid();
	return cv_settings_local_node(cv_server_settings())->nodeid;
}

/* ---- corosync's answers (cluster mode) --------------------------------- */

/* The reply's n addresses point into wire and pointers, which the caller
 * keeps until the reply is sent. */
static void node_addrs_reply_fill(CorosyncCfgNodeAddrsReply *reply, const corosync_cfg_node_address_t *addrs,
				  size_t n, CorosyncCfgNodeAddressT *wire, CorosyncCfgNodeAddressT **pointers)
{
	for (size_t i = 0; i < n; i++) {
		wire[i] = (CorosyncCfgNodeAddressT)COROSYNC_CFG_NODE_ADDRESS_T__INIT;
		wire[i].address = (ProtobufCBinaryData){ .len = (size_t)addrs[i].address_length,
							 .data = (uint8_t *)addrs[i].address };
		pointers[i] = &wire[i];
	}
	reply->addrs = pointers;
	reply->n_addrs = n;
}

static const struct cv_cfg_result *answered(struct cv_session *s, const struct cv_pending_reply *deferred,
					    cs_error_t err, const void *result)
{
	if (s != NULL && result == NULL)
		cv_session_reply(s, deferred, err, NULL);
	return s != NULL ? result : NULL;
}

static void links_answered(struct cv_session *s, const struct cv_pending_reply *deferred, cs_error_t err,
			   const void *result)
{
	const struct cv_cfg_result *r = answered(s, deferred, err, result);
	CorosyncCfgRingStatusGetReply reply = COROSYNC_CFG_RING_STATUS_GET_REPLY__INIT;

	if (r == NULL)
		return;
	reply.n_interface_names = reply.n_status = r->n_links;
	reply.interface_names = r->link_names;
	reply.status = r->link_status;
	cv_session_reply(s, deferred, err, &reply.base);
}

static void node_status_answered(struct cv_session *s, const struct cv_pending_reply *deferred,
				 cs_error_t err, const void *result)
{
	const struct cv_cfg_result *r = answered(s, deferred, err, result);
	CorosyncCfgNodeStatusReply reply = COROSYNC_CFG_NODE_STATUS_REPLY__INIT;

	if (r == NULL)
		return;
	reply.v1 = (ProtobufCBinaryData){ .len = sizeof(r->status), .data = (uint8_t *)&r->status };
	cv_session_reply(s, deferred, err, &reply.base);
}

static void node_addrs_answered(struct cv_session *s, const struct cv_pending_reply *deferred, cs_error_t err,
				const void *result)
{
	const struct cv_cfg_result *r = answered(s, deferred, err, result);
	CorosyncCfgNodeAddrsReply reply = COROSYNC_CFG_NODE_ADDRS_REPLY__INIT;
	CorosyncCfgNodeAddressT wire[CFG_MAX_LINKS], *pointers[CFG_MAX_LINKS];

	if (r == NULL)
		return;
	node_addrs_reply_fill(&reply, r->addrs, r->n_addrs, wire, pointers);
	cv_session_reply(s, deferred, err, &reply.base);
}

/* corosync agreed to shut down: so does this node's conclaved. */
static void shutdown_answered(struct cv_session *s, const struct cv_pending_reply *deferred, cs_error_t err,
			      const void *result)
{
	(void)result;
	if (s != NULL)
		cv_session_reply(s, deferred, err, NULL);
	if (err == CS_OK)
		cv_server_shutdown("corosync was shut down through cfg");
	else
		cv_log_info("cfg: corosync refused to shut down (error %d)", (int)err);
}

static cs_error_t pass_on(struct cv_session *s, const struct cv_cfg_request *request,
			  cv_cluster_answer_fn *answer)
{
	return cv_cluster_cfg_call(s, NULL, request, answer);
}

/* ---- node and link information ---------------------------------------- */

/* The name and status of each link this node has. */
cs_error_t corosync_cfg_handle_ring_status_get(struct cv_session *s,
					       const CorosyncCfgRingStatusGetRequest *request,
					       CorosyncCfgRingStatusGetReply *reply)
{
	size_t status_size = cfg_nodes_count() + 1, name_size = CFG_MAX_HOST_LEN + 16;
	char **names = cv_reply_alloc(s, CFG_MAX_LINKS * sizeof(*names));
	char **statuses = cv_reply_alloc(s, CFG_MAX_LINKS * sizeof(*statuses));
	size_t n = 0;

	(void)request;
	if (cv_cluster_enabled())
		return pass_on(s, &(struct cv_cfg_request){ .kind = CV_CFG_RING_STATUS }, links_answered);
	if (!names || !statuses)
		return CS_ERR_NO_MEMORY;
	for (unsigned link = 0; link < CFG_MAX_LINKS; link++) {
		char *name = cv_reply_alloc(s, name_size);
		char *status = cv_reply_alloc(s, status_size);

		if (!name || !status)
			return CS_ERR_NO_MEMORY;
		if (!cfg_link_describe(link, name, status, status_size))
			continue;
		names[n] = name;
		statuses[n] = status;
		n++;
	}
	reply->n_interface_names = reply->n_status = n;
	reply->interface_names = names;
	reply->status = statuses;
	return CS_OK;
}

/* As corosync: node id 0 is no node here. */
cs_error_t corosync_cfg_handle_node_status(struct cv_session *s, const CorosyncCfgNodeStatusRequest *request,
					   CorosyncCfgNodeStatusReply *reply)
{
	const struct cfg_node *node = cfg_node_find(request->nodeid);
	struct corosync_cfg_node_status_v1 *status;

	if (cv_cluster_enabled())
		return pass_on(
			s, &(struct cv_cfg_request){ .kind = CV_CFG_NODE_STATUS, .nodeid = request->nodeid },
			node_status_answered);
	if (!node)
		return CS_ERR_FAILED_OPERATION;
	status = cv_reply_alloc(s, sizeof(*status));
	if (!status)
		return CS_ERR_NO_MEMORY;
	cfg_node_status(node, status);
	reply->v1 = (ProtobufCBinaryData){ .len = sizeof(*status), .data = (uint8_t *)status };
	return CS_OK;
}

cs_error_t corosync_cfg_handle_node_addrs(struct cv_session *s, const CorosyncCfgNodeAddrsRequest *request,
					  CorosyncCfgNodeAddrsReply *reply)
{
	const struct cfg_node *node = request->nodeid == 0 ? cfg_node_local()
							   : cfg_node_find(request->nodeid);
	corosync_cfg_node_address_t *addrs;
	CorosyncCfgNodeAddressT *wire, **pointers;
	size_t n;

	if (cv_cluster_enabled())
		return pass_on(
			s, &(struct cv_cfg_request){ .kind = CV_CFG_NODE_ADDRS, .nodeid = request->nodeid },
			node_addrs_answered);
	if (!node)
		return CS_ERR_NOT_EXIST;
	addrs = cv_reply_alloc(s, CFG_MAX_LINKS * sizeof(*addrs));
	wire = cv_reply_alloc(s, CFG_MAX_LINKS * sizeof(*wire));
	pointers = cv_reply_alloc(s, CFG_MAX_LINKS * sizeof(*pointers));
	if (!addrs || !wire || !pointers)
		return CS_ERR_NO_MEMORY;
	n = cfg_node_addresses(node, addrs);
	node_addrs_reply_fill(reply, addrs, n, wire, pointers);
	return CS_OK;
}

cs_error_t corosync_cfg_handle_local_get(struct cv_session *s, const CorosyncCfgLocalGetRequest *request,
					 CorosyncCfgLocalGetReply *reply)
{
	(void)s;
	(void)request;
	reply->local_nodeid = local_nodeid();
	return CS_OK;
}

/* ---- administration ----------------------------------------------------- */

/* corosync answers CS_ERR_NOT_EXIST for a node id that is not a joined
 * member (runtime.members.N.status): here, any but this node's. In cluster
 * mode the request is corosync's: the named node's corosync exits. */
cs_error_t corosync_cfg_handle_kill_node(struct cv_session *s, const CorosyncCfgKillNodeRequest *request,
					 CorosyncCfgKillNodeReply *reply)
{
	(void)reply;
	if (cv_cluster_enabled())
		return pass_on(s,
			       &(struct cv_cfg_request){ .kind = CV_CFG_KILL_NODE,
							 .nodeid = request->nodeid,
							 .reason = request->reason },
			       NULL);
	if (request->nodeid != local_nodeid()) {
		cv_log_info("cfg: kill of node %u refused: it is not a member", request->nodeid);
		return CS_ERR_NOT_EXIST;
	}
	cv_log_notice("cfg: killed by pid %d: %s", (int)cv_session_pid(s), request->reason);
	cv_server_shutdown("this node was killed through cfg");
	return CS_OK;
}

cs_error_t corosync_cfg_handle_reload_config(struct cv_session *s,
					     const CorosyncCfgReloadConfigRequest *request,
					     CorosyncCfgReloadConfigReply *reply)
{
	(void)s;
	(void)request;
	(void)reply;
	return cv_server_reload_configuration();
}

cs_error_t corosync_cfg_handle_reopen_log_files(struct cv_session *s,
						const CorosyncCfgReopenLogFilesRequest *request,
						CorosyncCfgReopenLogFilesReply *reply)
{
	(void)s;
	(void)request;
	(void)reply;
	return cv_log_reopen() == 0 ? CS_OK : CS_ERR_ACCESS;
}

/* ---- the shutdown negotiation ----------------------------------------- */

static uint32_t shutdown_timeout_ms(void)
{
	uint8_t scratch[CMAP_COMPUTED_MAX];
	struct cmap_value v;
	uint32_t seconds = DEFAULT_SHUTDOWN_TIMEOUT_S;

	if (cmap_store_get(cmap_default_map(), "cfg.shutdown_timeout", &v, scratch) == CS_OK)
		cmap_value_u32(&v, &seconds);
	return seconds > UINT32_MAX / 1000u ? UINT32_MAX : seconds * 1000u;
}

static void end_negotiation(void)
{
	struct cfg_client *c;

	cv_timer_stop(pending.timer);
	pending.caller = NULL;
	cv_list_for_each (c, &trackers, tracker_link)
		c->answer = ANSWER_NONE;
}

/* Cluster mode: once conclaved's own clients agreed, corosync asks its own
 * and shuts down, and conclaved with it (shutdown_answered()). */
static void pass_to_corosync(struct cv_session *caller, const struct cv_pending_reply *deferred,
			     int32_t flags)
{
	cs_error_t err = cv_cluster_cfg_call(
		caller, deferred, &(struct cv_cfg_request){ .kind = CV_CFG_TRY_SHUTDOWN, .flags = flags },
		shutdown_answered);

	if (err != CS_OK)
		cv_session_reply(caller, deferred, err, NULL);
}

/* Once every asked connection has answered: shut down, or tell the caller
 * CS_ERR_BUSY. */
static void decide(void)
{
	struct cfg_client *caller = pending.caller;
	bool go = pending.no == 0 || pending.flags == COROSYNC_CFG_SHUTDOWN_FLAG_REGARDLESS;

	if (!caller || pending.yes + pending.no < pending.asked)
		return;
	cv_log_info("cfg: shutdown %s (%u yes, %u no)", go ? "agreed" : "refused", pending.yes, pending.no);
	if (go && cv_cluster_enabled()) {
		pass_to_corosync(caller->session, &pending.reply, pending.flags);
		end_negotiation();
		return;
	}
	cv_session_reply(caller->session, &pending.reply, go ? CS_OK : CS_ERR_BUSY, NULL);
	end_negotiation();
	if (go)
		cv_server_shutdown("asked through cfg");
}

static void shutdown_timed_out(void *data)
{
	(void)data;
	pending.no = pending.asked - pending.yes;
	decide();
}

static void ask(struct cfg_client *c)
{
	CorosyncCfgShutdownEvent event = COROSYNC_CFG_SHUTDOWN_EVENT__INIT;

	c->answer = ANSWER_PENDING;
	pending.asked++;
	event.flags = (int32_t)pending.flags;
	/* A connection without room to be asked cannot answer in time either:
	 * the timeout counts it as a no. */
	if (corosync_cfg_send_shutdown(c->session, &event) != CS_OK)
		cv_log_warning("cfg: connection of pid %d cannot be asked about the shutdown",
			       (int)cv_session_pid(c->session));
}

static void record_answer(struct cfg_client *c, bool yes)
{
	if (!pending.caller || c->answer != ANSWER_PENDING)
		return;
	c->answer = yes ? ANSWER_YES : ANSWER_NO;
	if (yes)
		pending.yes++;
	else
		pending.no++;
	decide();
}

static bool valid_shutdown_flags(int32_t flags)
{
	return flags == COROSYNC_CFG_SHUTDOWN_FLAG_REQUEST ||
	       flags == COROSYNC_CFG_SHUTDOWN_FLAG_REGARDLESS ||
	       flags == COROSYNC_CFG_SHUTDOWN_FLAG_IMMEDIATE;
}

cs_error_t corosync_cfg_handle_try_shutdown(struct cv_session *s,
					    const CorosyncCfgTryShutdownRequest *request,
					    CorosyncCfgTryShutdownReply *reply)
{
	struct cfg_client *c;

	(void)reply;
	if (!valid_shutdown_flags(request->flags))
		return CS_ERR_INVALID_PARAM;
	if (cv_cluster_enabled() && request->flags == COROSYNC_CFG_SHUTDOWN_FLAG_IMMEDIATE)
		return pass_on(
			s, &(struct cv_cfg_request){ .kind = CV_CFG_TRY_SHUTDOWN, .flags = request->flags },
			shutdown_answered);
	if (request->flags == COROSYNC_CFG_SHUTDOWN_FLAG_IMMEDIATE) {
		cv_server_shutdown("asked through cfg, immediately");
		return CS_OK;
	}
	if (pending.caller)
		return CS_ERR_EXIST;
	pending.caller = client_of(s);
	pending.flags = (corosync_cfg_shutdown_flags_t)request->flags;
	pending.asked = pending.yes = pending.no = 0;
	cv_list_for_each (c, &trackers, tracker_link)
		if (c != pending.caller)
			ask(c);
	if (pending.asked == 0 && cv_cluster_enabled()) {
		end_negotiation();
		return pass_on(
			s, &(struct cv_cfg_request){ .kind = CV_CFG_TRY_SHUTDOWN, .flags = request->flags },
			shutdown_answered);
	}
	if (pending.asked == 0) {
		end_negotiation();
		cv_server_shutdown("asked through cfg");
		return CS_OK;
	}
	cv_session_defer_reply(s, &pending.reply);
	cv_timer_start(pending.timer, shutdown_timeout_ms());
	return CS_OK;
}

/* As corosync, an answer nobody waits for is accepted and ignored. */
cs_error_t corosync_cfg_handle_replyto_shutdown(struct cv_session *s,
						const CorosyncCfgReplytoShutdownRequest *request,
						CorosyncCfgReplytoShutdownReply *reply)
{
	(void)reply;
	if (request->flags != COROSYNC_CFG_SHUTDOWN_FLAG_NO &&
	    request->flags != COROSYNC_CFG_SHUTDOWN_FLAG_YES)
		return CS_ERR_INVALID_PARAM;
	record_answer(client_of(s), request->flags == COROSYNC_CFG_SHUTDOWN_FLAG_YES);
	return CS_OK;
}

/* A newcomer is asked about a shutdown already waiting for answers. */
cs_error_t corosync_cfg_handle_trackstart(struct cv_session *s, const CorosyncCfgTrackstartRequest *request,
					  CorosyncCfgTrackstartReply *reply)
{
	struct cfg_client *c = client_of(s);

	(void)request;
	(void)reply;
	if (c->tracking)
		return CS_OK;
	c->tracking = true;
	cv_list_insert(&trackers, &c->tracker_link);
	if (pending.caller && c != pending.caller)
		ask(c);
	return CS_OK;
}

/* Leaving while asked is a yes, as in corosync. */
static void stop_tracking(struct cfg_client *c)
{
	if (!c->tracking)
		return;
	c->tracking = false;
	cv_list_remove(&c->tracker_link);
	record_answer(c, true);
	c->answer = ANSWER_NONE;
}

cs_error_t corosync_cfg_handle_trackstop(struct cv_session *s, const CorosyncCfgTrackstopRequest *request,
					 CorosyncCfgTrackstopReply *reply)
{
	(void)request;
	(void)reply;
	stop_tracking(client_of(s));
	return CS_OK;
}

/* ---- hooks ----------------------------------------------------------- */

/* cfg.shutdown_timeout is read from cmap when a shutdown is asked for, so
 * that a change at run time counts: here it is only marked as used. */
static int mark_shutdown_timeout(const struct cv_conf *conf, char *err, size_t err_size)
{
	const struct cv_conf_reader r = { .conf = conf };

	cv_conf_mark_used(cv_conf_child(cv_conf_section(cv_conf_root(&r), "cfg"), "shutdown_timeout"));
	return 0;
}

static int cfg_configure(const struct cv_conf *conf, char *err, size_t err_size)
{
	return mark_shutdown_timeout(conf, err, err_size) < 0 ? -1 : CV_SERVICE_OFFERED;
}

static int cfg_start(void)
{
	pending.timer = cv_timer_new(shutdown_timed_out, NULL);
	if (!pending.timer || cfg_nodes_load(cv_server_settings()) < 0) {
		cv_log_error("cfg: out of memory");
		return -1;
	}
	return 0;
}

static void cfg_stop(void)
{
	cv_timer_free(pending.timer);
	pending.timer = NULL;
	cfg_nodes_free();
}

static int cfg_connect(struct cv_session *s)
{
	struct cfg_client *c = calloc(1, sizeof(*c));

	if (!c)
		return -1;
	c->session = s;
	cv_session_set_private(s, c);
	return 0;
}

/* The caller of a pending shutdown leaving cancels it. */
static void cfg_disconnect(struct cv_session *s)
{
	struct cfg_client *c = client_of(s);

	if (!c)
		return;
	if (pending.caller == c) {
		cv_log_info("cfg: the caller of the shutdown left; shutdown cancelled");
		end_negotiation();
	}
	if (cv_cluster_enabled())
		cv_cluster_forget_session(s);
	stop_tracking(c);
	cv_session_set_private(s, NULL);
	free(c);
}

const struct cv_service_ops corosync_cfg_service_ops = {
	.configure = cfg_configure,
	.check_reload = mark_shutdown_timeout,
	.start = cfg_start,
	.stop = cfg_stop,
	.connect = cfg_connect,
	.disconnect = cfg_disconnect,
};
