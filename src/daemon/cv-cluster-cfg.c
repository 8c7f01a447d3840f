/* Cluster mode: cfg requests passed on to the corosync on this node, off
 * the loop (cv-corosync-calls.h), through corosync's own libcfg.so.7
 * (reached as libcpg.so.4 is; see cv-corosync-link.h): node status, node
 * addresses, the links' status, kill_node and try_shutdown. One connection
 * carries them all, opened at the first request and again after corosync
 * closed it. It tracks nothing, so corosync never asks it about a
 * shutdown. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <corosync/cfg.h>

#include "cv-corosync-calls.h"
#include "cv-corosync-link.h"
#include <conclave/cluster.h>

struct cfg_call {
	struct cv_corosync_call call;
	struct cv_cfg_request request;
	char reason[CV_CFG_REASON_MAX];
	cv_cluster_answer_fn *answer;
	struct cv_cfg_result result;
};

static corosync_cfg_handle_t shared; /* the worker's */

/* ---- on the worker ------------------------------------------------------ */

static bool connection_lost(cs_error_t err)
{
	return err == CS_ERR_LIBRARY || err == CS_ERR_BAD_HANDLE;
}

/* As open_votequorum() in cv-cluster-votequorum.c, for cfg. */
static cs_error_t open_cfg(char *why, size_t size)
{
	cs_error_t err;
	int fd;

	if (shared != 0)
		return CS_OK;
	if (cv_link_check_cfg(why, size) != 0)
		return CS_ERR_LIBRARY;
	err = corosync_cfg_initialize(&shared, NULL);
	if (err != CS_OK) {
		shared = 0;
		return connection_lost(err) ? CS_ERR_TRY_AGAIN : err;
	}
	if (corosync_cfg_fd_get(shared, &fd) != CS_OK || cv_corosync_peer_check(fd, "cfg", why, size) != 0) {
		corosync_cfg_finalize(shared);
		shared = 0;
		return CS_ERR_LIBRARY;
	}
	return CS_OK;
}

static void close_cfg(void)
{
	if (shared != 0)
		corosync_cfg_finalize(shared);
	shared = 0;
}

static void free_strings(char **strings, unsigned n)
{
	if (strings == NULL)
		return;
	for (unsigned i = 0; i < n; i++)
		free(strings[i]);
	free(strings);
}

static cs_error_t ring_status(struct cv_cfg_result *out)
{
	return corosync_cfg_ring_status_get(shared, &out->link_names, &out->link_status, &out->n_links);
}

static cs_error_t node_addrs(uint32_t nodeid, struct cv_cfg_result *out)
{
	int n = 0;
	cs_error_t err = corosync_cfg_get_node_addrs(shared, nodeid, CFG_MAX_LINKS, &n, out->addrs);

	out->n_addrs = n < 0 ? 0 : n > CFG_MAX_LINKS ? CFG_MAX_LINKS : (size_t)n;
	return err;
}

static cs_error_t request(struct cfg_call *c)
{
	const struct cv_cfg_request *r = &c->request;

	switch (r->kind) {
	case CV_CFG_NODE_STATUS:
		return corosync_cfg_node_status_get(shared, r->nodeid, CFG_NODE_STATUS_V1, &c->result.status);
	case CV_CFG_NODE_ADDRS:
		return node_addrs(r->nodeid, &c->result);
	case CV_CFG_RING_STATUS:
		return ring_status(&c->result);
	case CV_CFG_KILL_NODE:
		return corosync_cfg_kill_node(shared, r->nodeid, c->reason);
	case CV_CFG_TRY_SHUTDOWN:
		return corosync_cfg_try_shutdown(shared, (corosync_cfg_shutdown_flags_t)r->flags);
	}
	return CS_ERR_LIBRARY;
}

/* A connection open from before a restart of corosync fails at its first
 * call: the call is made once more on a new one. */
static void run(struct cv_corosync_call *call)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		call->err = open_cfg(call->why, sizeof(call->why));
		if (call->err != CS_OK)
			return;
		call->err = request((struct cfg_call *)call);
		if (!connection_lost(call->err))
			return;
		close_cfg();
	}
}

/* ---- on the loop --------------------------------------------------------- */

static void answer(struct cv_corosync_call *call)
{
	struct cfg_call *c = (struct cfg_call *)call;

	cv_corosync_call_log(call);
	if (c->answer != NULL)
		c->answer(call->session, &call->reply, call->err, call->err == CS_OK ? &c->result : NULL);
	else if (call->session != NULL)
		cv_session_reply(call->session, &call->reply, call->err, NULL);
	free_strings(c->result.link_names, c->result.n_links);
	free_strings(c->result.link_status, c->result.n_links);
	free(c);
}

cs_error_t cv_cluster_cfg_call(struct cv_session *s, const struct cv_pending_reply *deferred,
			       const struct cv_cfg_request *request, cv_cluster_answer_fn *answer_fn)
{
	struct cfg_call *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return CS_ERR_NO_MEMORY;
	c->request = *request;
	snprintf(c->reason, sizeof(c->reason), "%s", request->reason ? request->reason : "");
	c->request.reason = c->reason;
	c->answer = answer_fn;
	c->call.session = s;
	c->call.run = run;
	c->call.done = answer;
	if (deferred != NULL) {
		c->call.reply = *deferred;
		c->call.deferred = true;
	}
	cv_corosync_call_queue(&c->call);
	return CS_OK;
}

void cv_cluster_cfg_stop(bool worker_ended)
{
	if (worker_ended)
		close_cfg();
}
