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
#include <string.h>
#include <sys/epoll.h>

#include <corosync/votequorum.h>

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

/* 0 connected and tracking, else -1 with why. */
static int try_connect(char *why, size_t size)
{
	static votequorum_callbacks_t callbacks = {
		.votequorum_quorum_notify_fn = on_quorum,
		.votequorum_nodelist_notify_fn = on_nodelist,
		.votequorum_expectedvotes_notify_fn = on_expected_votes,
	};
	char peer[512];
	cs_error_t err;
	int fd;

	if (cv_link_check_votequorum(why, size) != 0)
		return -1;
	err = votequorum_initialize(&handle, &callbacks);
	if (err != CS_OK) {
		snprintf(why, size, "votequorum_initialize: error %d", (int)err);
		return -1;
	}
	if (votequorum_fd_get(handle, &fd) != CS_OK) {
		snprintf(why, size, "votequorum_fd_get failed");
		goto fail;
	}
	switch (cv_link_identify_peer(fd, peer, sizeof(peer))) {
	case CV_PEER_COROSYNC:
	case CV_PEER_UNKNOWN:
		break;
	default:
		snprintf(why, size, "votequorum's peer is not corosync but %s", peer);
		goto fail;
	}
	seen_quorum = false;
	err = votequorum_trackstart(handle, 0, CS_TRACK_CHANGES);
	if (err != CS_OK) {
		snprintf(why, size, "votequorum_trackstart: error %d", (int)err);
		goto fail;
	}
	if (cv_watch_add(&watch, fd, EPOLLIN, on_readable, NULL) < 0) {
		snprintf(why, size, "cannot watch votequorum's connection: %s", strerror(errno));
		goto fail;
	}
	mirror.connected = true;
	return 0;
fail:
	votequorum_finalize(handle);
	handle = 0;
	return -1;
}

static void connect_or_retry(void *data)
{
	char why[600];

	(void)data;
	if (try_connect(why, sizeof(why)) == 0) {
		cv_log_notice("cluster: tracking corosync's votequorum%s", connected_once ? " again" : "");
		connected_once = true;
		failures = 0;
		return;
	}
	if (failures++ % 10 == 0)
		cv_log_warning("cluster: cannot reach corosync's votequorum (%s); trying again every %u ms",
			       why, RETRY_MS);
	cv_timer_start(&retry, RETRY_MS);
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
	cv_timer_init(&retry, connect_or_retry, NULL);
	connect_or_retry(NULL);
}

/* Start-up: the first notifications of tracking, before clients come. */
void cv_cluster_quorum_wait_first_state(void)
{
	int waited = 0;

	while (mirror.connected && !seen_quorum && waited < FIRST_STATE_MS) {
		struct pollfd p = { .fd = watch.fd, .events = POLLIN };

		if (poll(&p, 1, 100) > 0)
			on_readable(NULL, 0);
		waited += 100;
	}
}

void cv_cluster_quorum_stop(void)
{
	cv_timer_stop(&retry);
	if (handle != 0)
		disconnect();
	mirror.connected = false;
	service = NULL;
}
