/* Cluster mode: votequorum requests passed on to the corosync on this node,
 * off the loop (cv-corosync-calls.h), through corosync's own
 * libvotequorum.so.8 (reached as libcpg.so.4 is; see cv-corosync-link.h).
 *
 * Every call goes through one connection, opened at the first request and
 * again when corosync closed it (a restart). corosync's votequorum keeps a
 * quorum device registered when the connection that registered it closes
 * (only unregister, or corosync's end, removes it; the device's poll timer
 * then withdraws its vote), so the calls need no connection of their own. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <corosync/votequorum.h>

#include "cv-corosync-calls.h"
#include "cv-corosync-link.h"
#include <conclave/cluster.h>

struct vq_call {
	struct cv_corosync_call call;
	struct cv_vq_request request;
	char name[VOTEQUORUM_QDEVICE_MAX_NAME_LEN], newname[VOTEQUORUM_QDEVICE_MAX_NAME_LEN];
	cv_cluster_answer_fn *answer;
	struct cv_quorum_info info;
};

static votequorum_handle_t shared; /* the worker's */

/* ---- on the worker ------------------------------------------------------ */

static bool connection_lost(cs_error_t err)
{
	return err == CS_ERR_LIBRARY || err == CS_ERR_BAD_HANDLE;
}

/* A connection to corosync's votequorum whose peer is corosync: CS_OK;
 * CS_ERR_TRY_AGAIN while corosync is unreachable; CS_ERR_LIBRARY when the
 * library or the peer is not corosync's (why says which). */
static cs_error_t open_votequorum(votequorum_handle_t *h, char *why, size_t size)
{
	cs_error_t err;
	int fd;

	if (*h != 0)
		return CS_OK;
	if (cv_link_check_votequorum(why, size) != 0)
		return CS_ERR_LIBRARY;
	err = votequorum_initialize(h, NULL);
	if (err != CS_OK) {
		*h = 0;
		return connection_lost(err) ? CS_ERR_TRY_AGAIN : err;
	}
	if (votequorum_fd_get(*h, &fd) != CS_OK || cv_corosync_peer_check(fd, "votequorum", why, size) != 0) {
		votequorum_finalize(*h);
		*h = 0;
		return CS_ERR_LIBRARY;
	}
	return CS_OK;
}

static void close_votequorum(votequorum_handle_t *h)
{
	if (*h != 0)
		votequorum_finalize(*h);
	*h = 0;
}

static void copy_info(struct cv_quorum_info *out, const struct votequorum_info *got)
{
	*out = (struct cv_quorum_info){
		.node_id = got->node_id,
		.node_state = got->node_state,
		.node_votes = got->node_votes,
		.node_expected_votes = got->node_expected_votes,
		.highest_expected = got->highest_expected,
		.total_votes = got->total_votes,
		.quorum = got->quorum,
		.flags = got->flags,
		.qdevice_votes = got->qdevice_votes,
	};
	snprintf(out->qdevice_name, sizeof(out->qdevice_name), "%s", got->qdevice_name);
}

static cs_error_t request(votequorum_handle_t h, struct vq_call *c)
{
	const struct cv_vq_request *r = &c->request;
	votequorum_ring_id_t ring = { .nodeid = r->ring_nodeid, .seq = r->ring_seq };
	struct votequorum_info got;
	cs_error_t err;

	switch (r->kind) {
	case CV_VQ_GETINFO:
		err = votequorum_getinfo(h, r->nodeid, &got);
		if (err == CS_OK)
			copy_info(&c->info, &got);
		return err;
	case CV_VQ_SETEXPECTED:
		return votequorum_setexpected(h, r->value);
	case CV_VQ_SETVOTES:
		return votequorum_setvotes(h, r->nodeid, r->value);
	case CV_VQ_QDEVICE_REGISTER:
		return votequorum_qdevice_register(h, c->name);
	case CV_VQ_QDEVICE_UNREGISTER:
		return votequorum_qdevice_unregister(h, c->name);
	case CV_VQ_QDEVICE_UPDATE:
		return votequorum_qdevice_update(h, c->name, c->newname);
	case CV_VQ_QDEVICE_POLL:
		return votequorum_qdevice_poll(h, c->name, r->value, ring);
	case CV_VQ_QDEVICE_MASTER_WINS:
		return votequorum_qdevice_master_wins(h, c->name, r->value);
	}
	return CS_ERR_LIBRARY;
}

/* A connection open from before a restart of corosync fails at its first
 * call: the call is made once more on a new one. */
static void run(struct cv_corosync_call *call)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		call->err = open_votequorum(&shared, call->why, sizeof(call->why));
		if (call->err != CS_OK)
			return;
		call->err = request(shared, (struct vq_call *)call);
		if (!connection_lost(call->err))
			return;
		close_votequorum(&shared);
	}
}

/* ---- on the loop --------------------------------------------------------- */

static void answer(struct cv_corosync_call *call)
{
	struct vq_call *c = (struct vq_call *)call;

	cv_corosync_call_log(call);
	if (c->answer != NULL)
		c->answer(call->session, &call->reply, call->err, call->err == CS_OK ? &c->info : NULL);
	else if (call->session != NULL)
		cv_session_reply(call->session, &call->reply, call->err, NULL);
	free(c);
}

static void copy_name(char dest[VOTEQUORUM_QDEVICE_MAX_NAME_LEN], const char *name)
{
	snprintf(dest, VOTEQUORUM_QDEVICE_MAX_NAME_LEN, "%s", name ? name : "");
}

static bool name_fits(const char *name)
{
	return name == NULL || strlen(name) < VOTEQUORUM_QDEVICE_MAX_NAME_LEN;
}

cs_error_t cv_cluster_votequorum_call(struct cv_session *s, const struct cv_vq_request *request,
				      cv_cluster_answer_fn *answer_fn)
{
	struct vq_call *c;

	if (!name_fits(request->name) || !name_fits(request->newname))
		return CS_ERR_INVALID_PARAM;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return CS_ERR_NO_MEMORY;
	c->request = *request;
	copy_name(c->name, request->name);
	copy_name(c->newname, request->newname);
	c->request.name = c->name;
	c->request.newname = c->newname;
	c->answer = answer_fn;
	c->call.session = s;
	c->call.done = answer;
	c->call.run = run;
	cv_corosync_call_queue(&c->call);
	return CS_OK;
}

/* Stopping, once the worker has ended (worker_ended) or was left behind
 * in a call: closes what is left. */
void cv_cluster_votequorum_stop(bool worker_ended)
{
	if (worker_ended)
		close_votequorum(&shared);
}
