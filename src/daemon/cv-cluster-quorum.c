/* Cluster mode's mirror of corosync's votequorum on this node: a
 * connection to corosync's libvotequorum (reached as libcpg is, through
 * DT_RPATH; see cv-corosync-link.h) tracking changes, whose notifications
 * are kept (struct cv_cluster_quorum) and passed on to the votequorum
 * service, which feeds the quorum service from them. While corosync is
 * unreachable this node is alone and inquorate; the connection is tried
 * again every RETRY_MS, and tracking's first notifications bring the
 * cluster's state back. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include <corosync/votequorum.h>

#include "cv-corosync-calls.h"
#include "cv-corosync-link.h"
#include "cv-log.h"
#include "cv-loop.h"
#include <conclave/cluster.h>
#include <conclave/service.h>

#define RETRY_MS 1000u
/* How long start-up waits for tracking's first notifications. */
#define FIRST_STATE_MS 5000

static votequorum_handle_t handle;
static bool connected_once;
static unsigned failures; /* attempts since the last connection */
static struct cv_cluster_quorum mirror;
static const struct cv_quorum_ops *service;
static struct cv_watch watch = { .fd = -1 };
static struct cv_timer retry;
static bool seen_quorum; /* a quorum notification came since connecting */

void cv_cluster_quorum_register(const struct cv_quorum_ops *ops)
{
	service = ops;
}

const struct cv_cluster_quorum *cv_cluster_quorum(void)
{
	return &mirror;
}

static void tell(enum cv_quorum_event event)
{
	if (service != NULL && service->event != NULL)
		service->event(event, &mirror);
}

static void on_quorum(votequorum_handle_t h, uint64_t context, uint32_t quorate, uint32_t n,
		      votequorum_node_t nodes[])
{
	(void)h;
	(void)context;
	if (n > CV_MAX_NODES)
		n = CV_MAX_NODES;
	mirror.quorate = quorate != 0;
	mirror.n_listed = n;
	for (uint32_t i = 0; i < n; i++) {
		mirror.listed[i].nodeid = nodes[i].nodeid;
		mirror.listed[i].state = nodes[i].state;
	}
	seen_quorum = true;
	tell(CV_QUORUM_QUORATE);
}

static void on_nodelist(votequorum_handle_t h, uint64_t context, votequorum_ring_id_t ring_id, uint32_t n,
			uint32_t nodes[])
{
	(void)h;
	(void)context;
	if (n > CV_MAX_NODES)
		n = CV_MAX_NODES;
	mirror.ring_nodeid = ring_id.nodeid;
	mirror.ring_seq = ring_id.seq;
	mirror.n_members = n;
	memcpy(mirror.members, nodes, n * sizeof(nodes[0]));
	cv_cluster_cmap_drain(); /* corosync changed runtime.members before telling */
	tell(CV_QUORUM_NODELIST);
}

static void on_expected_votes(votequorum_handle_t h, uint64_t context, uint32_t expected_votes)
{
	(void)h;
	(void)context;
	mirror.expected_votes = expected_votes;
	tell(CV_QUORUM_EXPECTED_VOTES);
}

/* ---- the connection ---------------------------------------------------- */

static void on_readable(void *data, uint32_t events);

static void disconnect(void)
{
	if (watch.fd >= 0)
		cv_watch_remove(&watch);
	watch.fd = -1;
	votequorum_finalize(handle);
	handle = 0;
}

/* corosync gone: this node alone and inquorate, as a node cut off from
 * the others would see it, until the connection is back. */
static void lost(const char *why)
{
	uint32_t self = cv_cluster_nodeid();

	cv_log_warning(
		"cluster: corosync's votequorum lost (%s): this node is alone and inquorate until it is back",
		why);
	disconnect();
	mirror.connected = false;
	mirror.n_members = 1;
	mirror.members[0] = self;
	tell(CV_QUORUM_NODELIST);
	mirror.quorate = false;
	mirror.n_listed = 1;
	mirror.listed[0] = (struct cv_quorum_node){ .nodeid = self, .state = VOTEQUORUM_NODESTATE_MEMBER };
	tell(CV_QUORUM_QUORATE);
	cv_timer_start(&retry, RETRY_MS);
}

/* Connecting and starting the tracking wait for corosync: they run on the
 * worker (cv-corosync-calls.h), and the loop takes the handle over once
 * they are done. Notifications sent meanwhile wait in the connection. */
struct connect_call {
	struct cv_corosync_call call;
	votequorum_handle_t handle;
	int fd;
};

static bool connecting; /* a connect call is queued */
static bool stopped;

static void run_connect(struct cv_corosync_call *call)
{
	static votequorum_callbacks_t callbacks = {
		.votequorum_quorum_notify_fn = on_quorum,
		.votequorum_nodelist_notify_fn = on_nodelist,
		.votequorum_expectedvotes_notify_fn = on_expected_votes,
	};
	struct connect_call *c = (struct connect_call *)call;
	char *why = call->why;
	size_t size = sizeof(call->why);

	call->err = CS_ERR_LIBRARY;
	if (cv_link_check_votequorum(why, size) != 0)
		return;
	call->err = votequorum_initialize(&c->handle, &callbacks);
	if (call->err != CS_OK) {
		snprintf(why, size, "votequorum_initialize: error %d", (int)call->err);
		c->handle = 0;
		return;
	}
	if ((call->err = votequorum_fd_get(c->handle, &c->fd)) != CS_OK)
		snprintf(why, size, "votequorum_fd_get failed");
	else if (cv_corosync_peer_check(c->fd, "votequorum", why, size) != 0)
		call->err = CS_ERR_LIBRARY;
	else if ((call->err = votequorum_trackstart(c->handle, 0, CS_TRACK_CHANGES)) != CS_OK)
		snprintf(why, size, "votequorum_trackstart: error %d", (int)call->err);
	if (call->err != CS_OK) {
		votequorum_finalize(c->handle);
		c->handle = 0;
	}
}

static int take_over(struct connect_call *c, char *why, size_t size)
{
	if (cv_watch_add(&watch, c->fd, EPOLLIN, on_readable, NULL) < 0) {
		snprintf(why, size, "cannot watch votequorum's connection: %s", strerror(errno));
		votequorum_finalize(c->handle);
		return -1;
	}
	handle = c->handle;
	seen_quorum = false;
	mirror.connected = true;
	return 0;
}

static void connect_done(struct cv_corosync_call *call)
{
	struct connect_call *c = (struct connect_call *)call;

	connecting = false;
	if (stopped) {
		if (c->handle != 0)
			votequorum_finalize(c->handle);
	} else if (call->err == CS_OK && take_over(c, call->why, sizeof(call->why)) == 0) {
		cv_log_notice("cluster: tracking corosync's votequorum%s", connected_once ? " again" : "");
		connected_once = true;
		failures = 0;
	} else {
		if (failures++ % 10 == 0)
			cv_log_warning(
				"cluster: cannot reach corosync's votequorum (%s); trying again every %u ms",
				call->why, RETRY_MS);
		cv_timer_start(&retry, RETRY_MS);
	}
	free(c);
}

static void connect_or_retry(void *data)
{
	struct connect_call *c;

	(void)data;
	if (connecting || stopped)
		return;
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		cv_timer_start(&retry, RETRY_MS);
		return;
	}
	c->call.run = run_connect;
	c->call.done = connect_done;
	connecting = true;
	cv_corosync_call_queue(&c->call);
}

static void on_readable(void *data, uint32_t events)
{
	cs_error_t err;

	(void)data;
	(void)events;
	err = votequorum_dispatch(handle, CS_DISPATCH_ALL);
	if (err != CS_OK && err != CS_ERR_TRY_AGAIN)
		lost(err == CS_ERR_LIBRARY ? "connection closed" : "dispatch failed");
}

/* ---- start and stop ---------------------------------------------------- */

void cv_cluster_quorum_start(void)
{
	uint32_t self = cv_cluster_nodeid();

	mirror = (struct cv_cluster_quorum){ .n_members = 1, .n_listed = 1 };
	mirror.members[0] = self;
	mirror.listed[0] = (struct cv_quorum_node){ .nodeid = self, .state = VOTEQUORUM_NODESTATE_MEMBER };
	stopped = false;
	cv_timer_init(&retry, connect_or_retry, NULL);
	connect_or_retry(NULL);
}

/* Start-up: the first notifications of tracking, before clients come. */
void cv_cluster_quorum_wait_first_state(void)
{
	int waited = 0;

	cv_corosync_calls_wait(FIRST_STATE_MS, &connecting);
	while (mirror.connected && !seen_quorum && waited < FIRST_STATE_MS) {
		struct pollfd p = { .fd = watch.fd, .events = POLLIN };

		if (poll(&p, 1, 100) > 0)
			on_readable(NULL, 0);
		waited += 100;
	}
}

void cv_cluster_quorum_stop(void)
{
	stopped = true;
	cv_timer_stop(&retry);
	if (handle != 0)
		disconnect();
	mirror.connected = false;
	service = NULL;
}
