#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <syslog.h>

#include "cv-corosync-calls.h"
#include "cv-log.h"
#include "cv-loop.h"
#include <conclave/service.h>
#include <conclave/settings.h>
#include <conclave/cluster.h>

/* A member's state is one record per service: u8 service, u32 length
 * (little-endian), then the service's bytes. */
#define STATE_RECORD_HEAD 5u
/* How often the wait for corosync looks for SIGTERM and SIGINT. */
#define WAIT_SIGNAL_MS 200

static struct cv_engine *engine;
static bool failed;
static struct cv_watch engine_watch = { .fd = -1 };
static bool watched_connected;
static struct cv_timer engine_timer;
static const struct cv_order_ops *services[CV_ORDER_SERVICES];
static uint8_t *scratch; /* a submission's head and body, joined */
static size_t scratch_capacity;
static uint32_t ring_nodeid;
static uint64_t ring_seq;
static uint32_t *ring_nodes;
static size_t n_ring_nodes;

bool cv_cluster_enabled(void)
{
	return engine != NULL;
}

bool cv_cluster_failed(void)
{
	return failed;
}

uint32_t cv_cluster_nodeid(void)
{
	struct cv_engine_stats stats;

	if (engine == NULL)
		return 0;
	cv_engine_stats(engine, &stats);
	return stats.nodeid;
}

void cv_cluster_ring(uint32_t *nodeid, uint64_t *seq, const uint32_t **nodes, size_t *n_nodes)
{
	*nodeid = ring_nodeid;
	*seq = ring_seq;
	*nodes = ring_nodes;
	*n_nodes = n_ring_nodes;
}

void cv_order_register(enum cv_order_service service, const struct cv_order_ops *ops)
{
	services[service] = ops;
}

/* ---- the engine's callbacks -------------------------------------------- */

static void on_deliver(void *ctx, uint32_t nodeid, uint32_t pid, const void *data, size_t length)
{
	const uint8_t *bytes = data;

	(void)ctx;
	(void)pid;
	if (length < 1 || bytes[0] == 0 || bytes[0] >= CV_ORDER_SERVICES || services[bytes[0]] == NULL) {
		cv_log_warning("cluster: dropped a message of node %u for no service of ours (%zu bytes)",
			       nodeid, length);
		return;
	}
	services[bytes[0]]->deliver(nodeid, bytes + 1, length - 1);
}

/* This node alone while corosync is unreachable, as cpg's totem confchg says. */
static void remember_ring(const struct cv_engine_view *view)
{
	size_t n = view->n_ring_nodes > 0 ? view->n_ring_nodes : 1;
	uint32_t *nodes = malloc(n * sizeof(*nodes));

	if (nodes == NULL) {
		cv_log_error("cluster: out of memory keeping the ring's members");
		return;
	}
	if (view->n_ring_nodes > 0) {
		memcpy(nodes, view->ring_nodes, n * sizeof(*nodes));
		ring_nodeid = view->ring_nodeid;
		ring_seq = view->ring_seq;
	} else {
		nodes[0] = cv_cluster_nodeid();
		ring_nodeid = nodes[0];
	}
	free(ring_nodes);
	ring_nodes = nodes;
	n_ring_nodes = n;
}

static void on_view(void *ctx, const struct cv_engine_view *view)
{
	(void)ctx;
	remember_ring(view);
	cv_log_info(
		"cluster: configuration of %zu conclaved (%zu joined, %zu left)%s, ring %u.%llu of %zu nodes",
		view->n_members, view->n_joined, view->n_left,
		view->connected ? "" : ", corosync unreachable", ring_nodeid, (unsigned long long)ring_seq,
		n_ring_nodes);
	for (int s = 1; s < CV_ORDER_SERVICES; s++)
		if (services[s] != NULL)
			services[s]->view(view);
}

static ssize_t on_collect_state(void *ctx, void *buf, size_t cap)
{
	uint8_t *out = buf;
	size_t used = 0;

	(void)ctx;
	for (int s = 1; s < CV_ORDER_SERVICES; s++) {
		ssize_t n;
		uint32_t length;

		if (services[s] == NULL || services[s]->collect_state == NULL)
			continue;
		if (cap - used < STATE_RECORD_HEAD)
			return -1;
		n = services[s]->collect_state(out + used + STATE_RECORD_HEAD,
					       cap - used - STATE_RECORD_HEAD);
		if (n < 0)
			return -1;
		length = (uint32_t)n;
		out[used] = (uint8_t)s;
		memcpy(out + used + 1, &length, sizeof(length));
		used += STATE_RECORD_HEAD + (size_t)n;
	}
	return (ssize_t)used;
}

const void *cv_order_state(const struct cv_engine_member *member, enum cv_order_service service,
			   size_t *length)
{
	const uint8_t *state = member->state;
	size_t at = 0;

	*length = 0;
	while (state != NULL && member->state_length - at >= STATE_RECORD_HEAD) {
		uint32_t n;

		memcpy(&n, state + at + 1, sizeof(n));
		if (n > member->state_length - at - STATE_RECORD_HEAD)
			return NULL;
		if (state[at] == service) {
			*length = n;
			return state + at + STATE_RECORD_HEAD;
		}
		at += STATE_RECORD_HEAD + n;
	}
	return NULL;
}

static void on_room(void *ctx)
{
	(void)ctx;
	for (int s = 1; s < CV_ORDER_SERVICES; s++)
		if (services[s] != NULL && services[s]->room != NULL)
			services[s]->room();
}

static void on_log(void *ctx, int level, const char *text)
{
	(void)ctx;
	if (level <= LOG_ERR)
		cv_log_error("cluster: %s", text);
	else if (level == LOG_WARNING)
		cv_log_warning("cluster: %s", text);
	else if (level <= LOG_NOTICE)
		cv_log_notice("cluster: %s", text);
	else if (level == LOG_INFO)
		cv_log_info("cluster: %s", text);
	else
		cv_log_debug("cluster: %s", text);
}

static void on_failed(void *ctx, const char *why)
{
	(void)ctx;
	failed = true;
	cv_log_error("cluster mode cannot go on: %s", why);
	cv_loop_quit();
}

/* ---- the event loop -------------------------------------------------- */

static void engine_ran(void);

static void on_engine_readable(void *data, uint32_t events)
{
	(void)data;
	(void)events;
	cv_engine_process(engine);
	engine_ran();
}

static void on_engine_timer(void *data)
{
	(void)data;
	cv_engine_process(engine);
	engine_ran();
}

/* The fd changes across reconnections (and a new connection may reuse the
 * number of the old one, whose registration closed with it). */
static void watch_engine_fd(void)
{
	struct cv_engine_stats stats;
	int fd = cv_engine_fd(engine);
	int r;

	cv_engine_stats(engine, &stats);
	if (fd == engine_watch.fd && stats.connected == watched_connected)
		return;
	/* The old descriptor is closed, and its registration with it: an
	 * EPOLL_CTL_DEL could hit another descriptor that took its number. */
	engine_watch.fd = -1;
	watched_connected = stats.connected;
	if (fd >= 0 && (r = cv_watch_add(&engine_watch, fd, EPOLLIN, on_engine_readable, NULL)) < 0 &&
	    r != -EEXIST) {
		engine_watch.fd = -1;
		cv_log_error("cluster: cannot watch corosync's connection: %m");
	}
}

static void engine_ran(void)
{
	int timeout;

	if (failed)
		return;
	watch_engine_fd();
	timeout = cv_engine_timeout(engine);
	if (timeout < 0)
		cv_timer_stop(&engine_timer);
	else
		cv_timer_start(&engine_timer, (uint64_t)timeout);
}

void cv_cluster_flush(void)
{
	if (engine == NULL || failed)
		return;
	cv_engine_flush(engine);
	engine_ran();
}

static cs_error_t submit_status(int r)
{
	switch (r) {
	case 0:
		return CS_OK;
	case -EAGAIN:
		return CS_ERR_TRY_AGAIN;
	case -EMSGSIZE:
		return CS_ERR_TOO_BIG;
	case -ENOMEM:
		return CS_ERR_NO_MEMORY;
	default:
		return CS_ERR_LIBRARY;
	}
}

cs_error_t cv_order_submit(enum cv_order_service service, const void *head, size_t head_length,
			   const void *body, size_t body_length)
{
	size_t length = 1 + head_length + body_length;
	int r;

	if (engine == NULL)
		return CS_ERR_LIBRARY;
	if (length > scratch_capacity) {
		uint8_t *grown = realloc(scratch, length);

		if (grown == NULL)
			return CS_ERR_NO_MEMORY;
		scratch = grown;
		scratch_capacity = length;
	}
	scratch[0] = (uint8_t)service;
	memcpy(scratch + 1, head, head_length);
	if (body_length > 0)
		memcpy(scratch + 1 + head_length, body, body_length);
	r = cv_engine_submit(engine, scratch, length);
	if (length > 1024u * 1024u) {
		free(scratch);
		scratch = NULL;
		scratch_capacity = 0;
	}
	return submit_status(r);
}

/* ---- start and stop -------------------------------------------------- */

int cv_cluster_start(const struct cv_settings *settings)
{
	static const struct cv_engine_callbacks callbacks = {
		.deliver = on_deliver,
		.view = on_view,
		.collect_state = on_collect_state,
		.room = on_room,
		.log = on_log,
		.failed = on_failed,
	};
	struct cv_engine_config config;

	if (settings->cluster_engine != CV_CLUSTER_COROSYNC)
		return 0;
	cv_engine_config_default(&config);
	engine = cv_engine_new(&config, &callbacks, NULL);
	if (engine == NULL) {
		cv_log_error("cannot create the cluster engine: %m");
		return -1;
	}
	cv_timer_init(&engine_timer, on_engine_timer, NULL);
	return 0;
}

static bool stop_requested(void)
{
	sigset_t pending;

	return sigpending(&pending) == 0 && (sigismember(&pending, SIGTERM) || sigismember(&pending, SIGINT));
}

static bool ready(void)
{
	struct cv_engine_stats stats;

	cv_engine_stats(engine, &stats);
	return stats.connected && stats.settled;
}

int cv_cluster_wait_for_corosync(void)
{
	if (engine == NULL)
		return 0;
	cv_log_info("cluster mode: waiting for corosync");
	cv_engine_process(engine);
	while (!failed && !ready()) {
		struct pollfd p = { .fd = cv_engine_fd(engine), .events = POLLIN };
		int timeout = cv_engine_timeout(engine);

		if (stop_requested()) {
			cv_log_info("stopped while waiting for corosync");
			return -1;
		}
		if (timeout < 0 || timeout > WAIT_SIGNAL_MS)
			timeout = WAIT_SIGNAL_MS;
		if (poll(&p, p.fd >= 0 ? 1 : 0, timeout) < 0 && errno != EINTR)
			return -1;
		cv_engine_process(engine);
	}
	if (failed)
		return -1;
	cv_log_notice("cluster mode: node %u", cv_cluster_nodeid());
	engine_ran();
	if (cv_corosync_calls_start() < 0)
		return -1;
	cv_cluster_cmap_start();
	cv_cluster_quorum_start();
	cv_cluster_quorum_wait_first_state();
	return 0;
}

void cv_cluster_stop(void)
{
	bool worker_ended;

	if (engine == NULL)
		return;
	cv_cluster_quorum_stop();
	worker_ended = cv_corosync_calls_stop();
	cv_cluster_votequorum_stop(worker_ended);
	cv_cluster_cfg_stop(worker_ended);
	cv_cluster_cmap_stop(worker_ended);
	cv_timer_stop(&engine_timer);
	if (engine_watch.fd >= 0)
		cv_watch_remove(&engine_watch);
	cv_engine_free(engine);
	engine = NULL;
	free(scratch);
	scratch = NULL;
	scratch_capacity = 0;
	free(ring_nodes);
	ring_nodes = NULL;
	n_ring_nodes = 0;
}
