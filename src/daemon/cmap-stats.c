#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <conclave/list.h>
#include <conclave/service.h>

#include "cmap-stats.h"
#include "cv-log.h"

#define OTHER_SERVICE_ID 99 /* a service corosync has no id for */

/* corosync's names, types and order (exec/stats.c, cs_ipcs_conn_stats):
 * a tracker sees a connection's keys come and go in this order. */
enum connection_field {
	F_QUEUEING,
	F_QUEUED,
	F_INVALID_REQUEST,
	F_OVERLOAD,
	F_SENT,
	F_PROCNAME,
	F_REQUESTS,
	F_RESPONSES,
	F_DISPATCHED,
	F_SEND_RETRIES,
	F_RECV_RETRIES,
	F_FLOW_CONTROL,
	F_FLOW_CONTROL_COUNT,
	N_CONNECTION_FIELDS
};

static const struct stat_field {
	const char *name;
	int32_t type;
} connection_fields[N_CONNECTION_FIELDS] = {
	[F_QUEUEING] = { "queueing", CMAP_STORE_INT32 },
	[F_QUEUED] = { "queued", CMAP_STORE_UINT32 },
	[F_INVALID_REQUEST] = { "invalid_request", CMAP_STORE_UINT64 },
	[F_OVERLOAD] = { "overload", CMAP_STORE_UINT64 },
	[F_SENT] = { "sent", CMAP_STORE_UINT32 },
	[F_PROCNAME] = { "procname", CMAP_STORE_STRING },
	[F_REQUESTS] = { "requests", CMAP_STORE_UINT64 },
	[F_RESPONSES] = { "responses", CMAP_STORE_UINT64 },
	[F_DISPATCHED] = { "dispatched", CMAP_STORE_UINT64 },
	[F_SEND_RETRIES] = { "send_retries", CMAP_STORE_UINT64 },
	[F_RECV_RETRIES] = { "recv_retries", CMAP_STORE_UINT64 },
	[F_FLOW_CONTROL] = { "flow_control", CMAP_STORE_UINT32 },
	[F_FLOW_CONTROL_COUNT] = { "flow_control_count", CMAP_STORE_UINT64 },
};

enum service_field {
	S_CONNECTIONS,
	S_CONNECTS,
	S_REQUESTS,
	S_ERRORS,
	S_EVENTS,
	S_INVALID_REQUESTS,
	N_SERVICE_FIELDS
};

static const char *const service_fields[N_SERVICE_FIELDS] = {
	"connections", "connects", "requests", "errors", "events", "invalid_requests",
};

#define PROCNAME_MAX 64

/* Every open connection; their keys exist once the map is in use. The
 * process's name is read when it connects, as corosync does, so that it
 * is still there when the connection goes after its process. */
struct connection {
	struct cv_list link;
	struct cv_session *session;
	char procname[PROCNAME_MAX];
};

static struct cmap_store *stats_map;
static const struct cv_server_service *const *services_offered;
static size_t n_services_offered;
static struct cv_list connections = CV_LIST_INIT(connections);
static bool connection_keys_on;

/* ---- values ------------------------------------------------------------ */

static uint32_t put_u64(void *buf, uint64_t v)
{
	memcpy(buf, &v, sizeof(v));
	return sizeof(v);
}

static uint32_t put_u32(void *buf, uint32_t v)
{
	memcpy(buf, &v, sizeof(v));
	return sizeof(v);
}

/* The process's name from /proc, as corosync reads it; "" when gone. */
static void read_procname(pid_t pid, char *name, size_t size)
{
	char path[64];
	ssize_t n = -1;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, name, size - 1);
		close(fd);
	}
	if (n < 0)
		n = 0;
	if (n > 0 && name[n - 1] == '\n')
		n--;
	name[n] = '\0';
}

static uint32_t put_string(void *buf, const char *text)
{
	size_t n = strlen(text) + 1;

	memcpy(buf, text, n);
	return (uint32_t)n;
}

static uint32_t compute_connection(const void *source, uint32_t field, void *buf)
{
	const struct connection *c = source;
	const struct cv_session_stats *st = cv_session_stats(c->session);
	struct cv_session_queue q;

	cv_session_queue_state(c->session, &q);
	switch ((enum connection_field)field) {
	case F_PROCNAME:
		return put_string(buf, c->procname);
	case F_REQUESTS:
		return put_u64(buf, st->requests);
	case F_RESPONSES:
		return put_u64(buf, st->responses);
	case F_DISPATCHED:
		return put_u64(buf, st->events);
	case F_OVERLOAD:
		return put_u64(buf, st->overload);
	case F_INVALID_REQUEST:
		return put_u64(buf, 0); /* an invalid request closes its connection */
	case F_QUEUED:
		return put_u32(buf, (uint32_t)q.frames);
	case F_QUEUEING:
		return put_u32(buf, q.frames > 0);
	case F_SENT:
		return put_u32(buf, (uint32_t)st->sent);
	case F_SEND_RETRIES:
		return put_u64(buf, st->send_retries);
	case F_RECV_RETRIES:
		return put_u64(buf, st->recv_retries);
	case F_FLOW_CONTROL:
		return put_u32(buf, q.flow_controlled);
	case F_FLOW_CONTROL_COUNT:
		return put_u64(buf, st->flow_control_count);
	case N_CONNECTION_FIELDS:
		break;
	}
	return put_u64(buf, 0);
}

static uint32_t compute_service(const void *source, uint32_t field, void *buf)
{
	const struct cv_service_stats *st = cv_server_service_stats(source);
	const uint64_t values[N_SERVICE_FIELDS] = {
		st ? st->connections : 0, st ? st->connects : 0, st ? st->requests : 0,
		st ? st->errors : 0,      st ? st->events : 0,   st ? st->invalid_requests : 0,
	};

	return put_u64(buf, field < N_SERVICE_FIELDS ? values[field] : 0);
}

static uint32_t compute_global(const void *source, uint32_t field, void *buf)
{
	return put_u64(buf, field == 0 ? cv_server_active_connections() : cv_server_closed_connections());
}

/* ---- keys -------------------------------------------------------------- */

static void add_key(const char *key, int32_t type, cmap_compute_fn fn, const void *source, uint32_t field)
{
	struct cmap_change c;
	cs_error_t err = cmap_change_add_computed(&c, stats_map, key, type, fn, source, field);

	if (err == CS_OK)
		cmap_change_commit(&c);
	else
		cv_log_error("stats map: cannot add %s (error %d)", key, err);
}

static unsigned service_id_of(const char *name)
{
	for (size_t i = 0; i < n_services_offered; i++)
		if (strcmp(services_offered[i]->name, name) == 0)
			return services_offered[i]->id;
	return OTHER_SERVICE_ID;
}

static void connection_key(const struct cv_session *s, enum connection_field field, char *key, size_t size)
{
	snprintf(key, size, "stats.ipcs.service%u.%d.0x%llx.%s", service_id_of(cv_session_service_name(s)),
		 (int)cv_session_pid(s), (unsigned long long)cv_session_id(s), connection_fields[field].name);
}

static void add_connection_keys(struct connection *c)
{
	char key[CMAP_STORE_KEY_MAX + 1];

	for (int f = 0; f < N_CONNECTION_FIELDS; f++) {
		connection_key(c->session, f, key, sizeof(key));
		add_key(key, connection_fields[f].type, compute_connection, c, (uint32_t)f);
	}
}

static void remove_connection_keys(struct cv_session *s)
{
	char key[CMAP_STORE_KEY_MAX + 1];

	for (int f = 0; f < N_CONNECTION_FIELDS; f++) {
		connection_key(s, f, key, sizeof(key));
		cmap_store_erase(stats_map, key);
	}
}

static void connection_opened(struct cv_session *s)
{
	struct connection *c = malloc(sizeof(*c));

	if (!c) {
		cv_log_error("stats map: out of memory for connection %llu",
			     (unsigned long long)cv_session_id(s));
		return;
	}
	c->session = s;
	read_procname(cv_session_pid(s), c->procname, sizeof(c->procname));
	cv_list_insert(&connections, &c->link);
	if (connection_keys_on)
		add_connection_keys(c);
}

static void connection_closed(struct cv_session *s)
{
	struct connection *c, *next;

	cv_list_for_each_safe (c, next, &connections, link) {
		if (c->session != s)
			continue;
		cv_list_remove(&c->link);
		if (connection_keys_on)
			remove_connection_keys(s);
		free(c);
		return;
	}
}

/* A connection's 13 keys cost about 2 KiB: they are made only once someone
 * selects the map, and kept from then on. */
void cmap_stats_in_use(void)
{
	struct connection *c;

	if (connection_keys_on)
		return;
	connection_keys_on = true;
	cv_list_for_each (c, &connections, link)
		add_connection_keys(c);
}

static const struct cv_session_observer observer = {
	.opened = connection_opened,
	.closed = connection_closed,
};

int cmap_stats_init(struct cmap_store *stats, const struct cv_server_service *const *services,
		    size_t n_services)
{
	char key[CMAP_STORE_KEY_MAX + 1];

	stats_map = stats;
	services_offered = services;
	n_services_offered = n_services;
	add_key("stats.ipcs.global.active", CMAP_STORE_UINT64, compute_global, NULL, 0);
	add_key("stats.ipcs.global.closed", CMAP_STORE_UINT64, compute_global, NULL, 1);
	for (size_t i = 0; i < n_services; i++) {
		for (int f = 0; f < N_SERVICE_FIELDS; f++) {
			snprintf(key, sizeof(key), "stats.conclave.%s.%s", services[i]->name,
				 service_fields[f]);
			add_key(key, CMAP_STORE_UINT64, compute_service, services[i]->name, (uint32_t)f);
		}
	}
	cv_server_observe_sessions(&observer);
	return 0;
}

void cmap_stats_fini(void)
{
	struct connection *c, *next;

	cv_server_observe_sessions(NULL);
	cv_list_for_each_safe (c, next, &connections, link)
		free(c);
	cv_list_init(&connections);
	connection_keys_on = false;
	stats_map = NULL;
}

/* corosync matches the names as prefixes: stats.clear.ipcfoo clears too. */
cs_error_t cmap_stats_clear(const char *key)
{
	static const char *const targets[] = { "knet", "ipc", "totem", "schedmiss", "all" };
	const char *what = key + strlen(CMAP_STATS_CLEAR_PREFIX);
	bool known = false;

	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++)
		known |= strncmp(what, targets[i], strlen(targets[i])) == 0;
	if (!known)
		return CS_ERR_NOT_SUPPORTED;
	if (strncmp(what, "ipc", 3) == 0 || strncmp(what, "all", 3) == 0)
		cv_server_clear_stats();
	return CS_OK;
}
