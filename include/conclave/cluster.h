/* Cluster mode (conclave { cluster_engine: corosync }): the corosync
 * engine (src/cluster/cv-engine.h) on the daemon's event loop, and the
 * ordering seam through which cpg and evs put their requests in one total
 * order across the cluster. doc/cluster.md tells the whole story.
 *
 * A service registers once at start; in cluster mode it submits what must
 * be agreed (joins, leaves, messages) as messages of its own and acts only
 * when they are delivered, to every node in the same order. At each
 * configuration change it gives its local state (collect_state) and gets
 * every member node's (view), from which it computes who came and went. */
#ifndef CONCLAVE_CLUSTER_H
#define CONCLAVE_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <corosync/cfg.h>
#include <corosync/corotypes.h>

#include "cv-engine.h"
#include <conclave/settings.h>

struct cv_settings;
struct cv_session;
struct cv_pending_reply;

enum cv_order_service {
	CV_ORDER_CPG = 1,
	CV_ORDER_EVS = 2,
	CV_ORDER_SERVICES = 3, /* one past the last */
};

struct cv_order_ops {
	/* A message the service submitted on some node, in the total order;
	 * nodeid is corosync's id of the node that sent it. */
	void (*deliver)(uint32_t nodeid, const void *data, size_t length);
	/* A settled configuration; cv_order_state() gives each member's state. */
	void (*view)(const struct cv_engine_view *view);
	/* This node's state for the next view: up to cap bytes into buf;
	 * the length, or -1 when it does not fit. */
	ssize_t (*collect_state)(void *buf, size_t cap);
	/* cv_order_submit() has room again after -EAGAIN. */
	void (*room)(void);
};

/* False in the single-node daemon (cluster_engine: none). */
bool cv_cluster_enabled(void);

/* Creates the engine when the settings ask for one: 0, or -1 (logged). */
int cv_cluster_start(const struct cv_settings *settings);
/* Waits until corosync is reached and the first configuration settled,
 * logging while it is unreachable: 0; -1 when the engine gave up or a
 * SIGTERM or SIGINT came first. Run before the listener opens. */
int cv_cluster_wait_for_corosync(void);
/* The loop goes idle: sends what is batched. */
void cv_cluster_flush(void);
/* True after the engine gave up (not corosync, or unreachable for good):
 * the daemon then exits with status 1. */
bool cv_cluster_failed(void);
void cv_cluster_stop(void);

/* corosync's id of this node (0 before the first connection). */
uint32_t cv_cluster_nodeid(void);
/* The last settled configuration's ring: corosync's ring id and members;
 * this node alone while corosync is unreachable. */
void cv_cluster_ring(uint32_t *ring_nodeid, uint64_t *ring_seq, const uint32_t **nodes, size_t *n_nodes);

void cv_order_register(enum cv_order_service service, const struct cv_order_ops *ops);
/* Queues head then body as one message of `service`: CS_OK;
 * CS_ERR_TRY_AGAIN (the service's room hook tells when to retry);
 * CS_ERR_TOO_BIG; CS_ERR_NO_MEMORY; CS_ERR_LIBRARY once the engine failed. */
cs_error_t cv_order_submit(enum cv_order_service service, const void *head, size_t head_length,
			   const void *body, size_t body_length);
/* A member's state for `service` in the view being delivered; NULL with
 * *length 0 when it sent none. */
const void *cv_order_state(const struct cv_engine_member *member, enum cv_order_service service,
			   size_t *length);

/* ---- corosync's votequorum on this node -------------------------------- */

/* What corosync's votequorum last told through its tracking callbacks.
 * While corosync is unreachable: not connected, inquorate, this node
 * alone (the ring id kept). */
struct cv_quorum_node {
	uint32_t nodeid;
	uint32_t state; /* VOTEQUORUM_NODESTATE_* */
};

struct cv_cluster_quorum {
	bool connected;
	bool quorate;
	uint32_t ring_nodeid;
	uint64_t ring_seq;
	uint32_t n_members; /* the nodelist notification's members */
	uint32_t members[CV_MAX_NODES];
	uint32_t n_listed; /* the quorum notification's nodes */
	struct cv_quorum_node listed[CV_MAX_NODES];
	uint32_t expected_votes; /* the last expected votes notification's */
};

/* corosync's struct votequorum_info, field for field. */
struct cv_quorum_info {
	uint32_t node_id, node_state, node_votes, node_expected_votes, highest_expected, total_votes, quorum,
		flags, qdevice_votes;
	char qdevice_name[255];
};

/* The notifications, in the order corosync's callbacks gave them. */
enum cv_quorum_event { CV_QUORUM_NODELIST, CV_QUORUM_QUORATE, CV_QUORUM_EXPECTED_VOTES };

struct cv_quorum_ops {
	void (*event)(enum cv_quorum_event event, const struct cv_cluster_quorum *quorum);
};

/* The votequorum service follows corosync's through these in cluster mode. */
void cv_cluster_quorum_register(const struct cv_quorum_ops *ops);
const struct cv_cluster_quorum *cv_cluster_quorum(void);

/* ---- requests passed on to this node's corosync -------------------------- */

/* The answer to a request passed on to corosync, on the loop: reply is the
 * session's deferred reply (s is NULL when the session closed meanwhile);
 * result the call's (NULL unless err is CS_OK). */
typedef void cv_cluster_answer_fn(struct cv_session *s, const struct cv_pending_reply *reply, cs_error_t err,
				  const void *result);

enum cv_vq_kind {
	CV_VQ_GETINFO,             /* nodeid; the result is a struct cv_quorum_info */
	CV_VQ_SETEXPECTED,         /* value: the expected votes */
	CV_VQ_SETVOTES,            /* nodeid, value: the votes */
	CV_VQ_QDEVICE_REGISTER,    /* name */
	CV_VQ_QDEVICE_UNREGISTER,  /* name */
	CV_VQ_QDEVICE_UPDATE,      /* name, newname */
	CV_VQ_QDEVICE_POLL,        /* name, value: cast_vote, ring_nodeid, ring_seq */
	CV_VQ_QDEVICE_MASTER_WINS, /* name, value: allow */
};

struct cv_vq_request {
	enum cv_vq_kind kind;
	uint32_t nodeid, value;
	uint32_t ring_nodeid;
	uint64_t ring_seq;
	const char *name, *newname;
};

/* corosync's votequorum call on this node's corosync, its reply deferred:
 * answer gets the result (NULL: the empty reply, with corosync's status).
 * CS_OK once queued (the caller then answers nothing itself), else an error
 * to reply now. As in corosync, a quorum device stays registered when the
 * session that registered it closes. */
cs_error_t cv_cluster_votequorum_call(struct cv_session *s, const struct cv_vq_request *request,
				      cv_cluster_answer_fn *answer);
/* A session that passed requests on closes: their answers go nowhere. A
 * service that passes requests on calls it at every disconnect. */
void cv_cluster_forget_session(struct cv_session *s);
/* ---- corosync's cmap keys (cv-cluster-cmap.c) ---------------------------- */

/* True in cluster mode for a key under the prefixes copied from corosync's
 * cmap (runtime.members., nodelist., totem., quorum., runtime.votequorum.). */
bool cv_cluster_cmap_mirrored(const char *key);

enum cv_cmap_write { CV_CMAP_SET, CV_CMAP_DELETE, CV_CMAP_INC, CV_CMAP_DEC };

/* A client's write of a mirrored key, made on corosync's cmap, its reply
 * deferred: corosync's status, once the change is back in conclaved's map.
 * CS_OK once queued, else an error to reply now. */
cs_error_t cv_cluster_cmap_call(struct cv_session *s, enum cv_cmap_write kind, const char *key, int32_t type,
				const void *value, size_t length);
/* Applies the changes corosync's cmap has already sent. */
void cv_cluster_cmap_drain(void);

enum cv_cfg_kind {
	CV_CFG_NODE_STATUS,  /* nodeid; result.status */
	CV_CFG_NODE_ADDRS,   /* nodeid; result.addrs, n_addrs */
	CV_CFG_RING_STATUS,  /* result.links */
	CV_CFG_KILL_NODE,    /* nodeid, reason */
	CV_CFG_TRY_SHUTDOWN, /* flags */
};

#define CV_CFG_REASON_MAX 256 /* kill_node's reason, its NUL included */

struct cv_cfg_request {
	enum cv_cfg_kind kind;
	uint32_t nodeid;
	int32_t flags;
	const char *reason;
};

struct cv_cfg_result {
	struct corosync_cfg_node_status_v1 status;
	corosync_cfg_node_address_t addrs[CFG_MAX_LINKS];
	size_t n_addrs;
	/* Each link's name and status, as corosync_cfg_ring_status_get gives them. */
	char **link_names;
	char **link_status;
	unsigned int n_links;
};

/* corosync's cfg call on this node's corosync, its reply deferred (or
 * already deferred: deferred names that reply). answer gets the result
 * (a struct cv_cfg_result; s NULL when the requester left); NULL: the empty
 * reply with corosync's status. CS_OK once queued, else an error to reply
 * now. */
cs_error_t cv_cluster_cfg_call(struct cv_session *s, const struct cv_pending_reply *deferred,
			       const struct cv_cfg_request *request, cv_cluster_answer_fn *answer);
/* The mirror's life, run by cv_cluster_wait_for_corosync() and cv_cluster_stop(). */
void cv_cluster_quorum_start(void);
void cv_cluster_quorum_wait_first_state(void);
void cv_cluster_quorum_stop(void);
/* After the worker that calls corosync ended (worker_ended) or was left
 * behind: closes the votequorum connections left. */
void cv_cluster_votequorum_stop(bool worker_ended);
void cv_cluster_cfg_stop(bool worker_ended);
/* Copies corosync's keys (waiting up to 5 s for the first copy) and tracks them. */
void cv_cluster_cmap_start(void);
void cv_cluster_cmap_stop(bool worker_ended);

#endif
