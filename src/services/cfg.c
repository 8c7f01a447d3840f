/* The configuration service (corosync's cfg): node and link information,
 * configuration reload, log reopening, and the shutdown negotiation: a
 * try_shutdown asks every tracking connection through the shutdown event and
 * answers its caller once all have replied, or the timeout has passed. */
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

/* ---- node and link information ---------------------------------------- */

/* Packs name and status of each link, NUL-terminated, one after another. */
cs_error_t corosync_cfg_handle_links(struct cv_session *s, const CorosyncCfgLinksRequest *request,
				     CorosyncCfgLinksReply *reply)
{
	size_t status_size = cfg_nodes_count() + 1, entry_max = CFG_MAX_HOST_LEN + 16 + status_size;
	char *out = cv_reply_alloc(s, CFG_MAX_LINKS * entry_max);
	char *status = cv_reply_alloc(s, status_size);
	size_t used = 0;

	(void)request;
	if (!out || !status)
		return CS_ERR_NO_MEMORY;
	for (unsigned link = 0; link < CFG_MAX_LINKS; link++) {
		char name[CFG_MAX_HOST_LEN + 16];

		if (!cfg_link_describe(link, name, status, status_size))
			continue;
		memcpy(out + used, name, strlen(name) + 1);
		used += strlen(name) + 1;
		memcpy(out + used, status, strlen(status) + 1);
		used += strlen(status) + 1;
	}
	reply->entries = (ProtobufCBinaryData){ .len = used, .data = (uint8_t *)out };
	return CS_OK;
}

/* In cluster mode, corosync's answer. */
static cs_error_t cluster_node_status(struct cv_session *s, uint32_t nodeid,
				      CorosyncCfgNodeStatusReply *reply)
{
	struct corosync_cfg_node_status_v1 *status = cv_reply_alloc(s, sizeof(*status));
	cs_error_t err;

	if (!status)
		return CS_ERR_NO_MEMORY;
	err = cv_cluster_node_status(nodeid, status, sizeof(*status));
	if (err == CS_OK)
		reply->v1 = (ProtobufCBinaryData){ .len = sizeof(*status), .data = (uint8_t *)status };
	return err;
}

/* As corosync: node id 0 is no node here. */
cs_error_t corosync_cfg_handle_node_status(struct cv_session *s, const CorosyncCfgNodeStatusRequest *request,
					   CorosyncCfgNodeStatusReply *reply)
{
	const struct cfg_node *node = cfg_node_find(request->nodeid);
	struct corosync_cfg_node_status_v1 *status;

	if (cv_cluster_enabled())
		return cluster_node_status(s, request->nodeid, reply);
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
	size_t n;

	if (!node)
		return CS_ERR_NOT_EXIST;
	addrs = cv_reply_alloc(s, CFG_MAX_LINKS * sizeof(*addrs));
	if (!addrs)
		return CS_ERR_NO_MEMORY;
	n = cfg_node_addresses(node, addrs);
	reply->addrs = (ProtobufCBinaryData){ .len = n * sizeof(*addrs), .data = (uint8_t *)addrs };
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

/* corosync multicasts the request and only the named node acts on it, so
 * an id that is no member is accepted and ignored. */
cs_error_t corosync_cfg_handle_kill_node(struct cv_session *s, const CorosyncCfgKillNodeRequest *request,
					 CorosyncCfgKillNodeReply *reply)
{
	(void)reply;
	if (request->nodeid != local_nodeid()) {
		cv_log_info("cfg: kill of node %u, which is not running, ignored", request->nodeid);
		return CS_OK;
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

/* Once every asked connection has answered: shut down, or tell the caller
 * CS_ERR_BUSY. */
static void decide(void)
{
	struct cfg_client *caller = pending.caller;
	bool go = pending.no == 0 || pending.flags == COROSYNC_CFG_SHUTDOWN_FLAG_REGARDLESS;

	if (!caller || pending.yes + pending.no < pending.asked)
		return;
	cv_log_info("cfg: shutdown %s (%u yes, %u no)", go ? "agreed" : "refused", pending.yes, pending.no);
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
