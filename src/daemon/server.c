/* The one server object: the services offered, their statistics, the
 * connections per uid, the observers of sessions, the quorum gate, and the
 * service-facing accessors of a session. */
#include <stdlib.h>
#include <string.h>

#include "cv-server-private.h"

static struct cv_server server = {
	.sessions = CV_LIST_INIT(server.sessions),
	.polled_sessions = CV_LIST_INIT(server.polled_sessions),
	.quorate = true,
};

struct cv_server *server_get(void)
{
	return &server;
}

void cv_sessions_init(const struct cv_settings *config)
{
	server.settings = config;
	/* The monitor is the daemon's own, beside whatever it offers. */
	if (!server_find_service(&server, cv_monitor_service.name) &&
	    cv_server_add_service(&cv_monitor_service) < 0)
		abort(); /* at start-up, before any client */
}

/* ---- services ----------------------------------------------------------- */

int cv_server_add_service(const struct cv_server_service *service)
{
	const struct cv_server_service **services;
	struct cv_service_stats *stats;
	size_t n = server.n_services + 1;

	if (server_find_service(&server, service->name)) {
		cv_log_error("two services are called %s", service->name);
		return -1;
	}
	services = realloc(server.services, n * sizeof(*services));
	if (!services)
		return -1;
	server.services = services;
	stats = realloc(server.service_stats, n * sizeof(*stats));
	if (!stats)
		return -1;
	server.service_stats = stats;
	server.services[server.n_services] = service;
	server.service_stats[server.n_services] = (struct cv_service_stats){ 0 };
	server.n_services = n;
	return 0;
}

const struct cv_server_service *const *cv_server_services(size_t *n)
{
	*n = server.n_services;
	return server.services;
}

void cv_server_remove_services(void)
{
	free(server.services);
	free(server.service_stats);
	server.services = NULL;
	server.service_stats = NULL;
	server.n_services = 0;
}

const struct cv_server_service *server_find_service(const struct cv_server *srv, const char *name)
{
	for (size_t i = 0; i < srv->n_services; i++)
		if (strcmp(srv->services[i]->name, name) == 0)
			return srv->services[i];
	return NULL;
}

struct cv_service_stats *server_stats_of(struct cv_server *srv, const struct cv_server_service *service)
{
	for (size_t i = 0; service && i < srv->n_services; i++)
		if (srv->services[i] == service)
			return &srv->service_stats[i];
	return NULL;
}

const struct cv_service_stats *cv_server_service_stats(const char *service)
{
	return server_stats_of(&server, server_find_service(&server, service));
}

/* ---- connections per uid ------------------------------------------------ */

static struct uid_count *uid_slot(struct cv_server *srv, uid_t uid, bool create)
{
	struct uid_count *grown;

	for (size_t i = 0; i < srv->n_uid_counts; i++)
		if (srv->uid_counts[i].uid == uid)
			return &srv->uid_counts[i];
	if (!create)
		return NULL;
	grown = realloc(srv->uid_counts, (srv->n_uid_counts + 1) * sizeof(*srv->uid_counts));
	if (!grown)
		return NULL;
	srv->uid_counts = grown;
	srv->uid_counts[srv->n_uid_counts] = (struct uid_count){ .uid = uid };
	return &srv->uid_counts[srv->n_uid_counts++];
}

void server_admit(struct cv_server *srv, uid_t uid)
{
	struct uid_count *slot = uid_slot(srv, uid, true);

	if (slot)
		slot->count++;
	srv->n_admitted++;
}

void server_release(struct cv_server *srv, uid_t uid)
{
	struct uid_count *slot = uid_slot(srv, uid, false);

	srv->n_admitted--;
	srv->n_closed++;
	if (slot && --slot->count == 0) {
		*slot = srv->uid_counts[--srv->n_uid_counts];
		if (srv->n_uid_counts == 0) {
			free(srv->uid_counts);
			srv->uid_counts = NULL;
		}
	}
}

size_t cv_sessions_admitted(void)
{
	return server.n_admitted;
}

size_t cv_sessions_refusing(void)
{
	return server.n_refusing;
}

size_t cv_sessions_of_uid(uid_t uid)
{
	struct uid_count *slot = uid_slot(&server, uid, false);

	return slot ? slot->count : 0;
}

/* ---- statistics --------------------------------------------------------- */

const struct cv_session_stats *cv_session_stats(const struct cv_session *s)
{
	return &s->stats;
}

void cv_session_queue_state(const struct cv_session *s, struct cv_session_queue *out)
{
	out->frames = s->events.frames + s->replies.frames;
	out->bytes = s->events.bytes + s->replies.bytes;
	out->flow_controlled = s->flow_controlled;
}

uint64_t cv_server_active_connections(void)
{
	return server.n_admitted;
}

uint64_t cv_server_closed_connections(void)
{
	return server.n_closed;
}

void cv_server_clear_stats(void)
{
	struct cv_session *s;

	cv_list_for_each (s, &server.sessions, link)
		memset(&s->stats, 0, sizeof(s->stats));
	for (size_t i = 0; i < server.n_services; i++) {
		uint64_t connections = server.service_stats[i].connections;

		memset(&server.service_stats[i], 0, sizeof(server.service_stats[i]));
		server.service_stats[i].connections = connections;
	}
}

void cv_server_observe_sessions(const struct cv_session_observer *o)
{
	server.observer = o;
}

/* ---- the daemon as a whole ---------------------------------------------- */

const struct cv_settings *cv_server_settings(void)
{
	return server.settings;
}

void cv_server_set_quorate(bool quorate)
{
	server.quorate = quorate;
}

void cv_server_shutdown(const char *why)
{
	cv_log_notice("shutting down: %s", why);
	cv_loop_quit();
}

/* ---- a session, as services see it -------------------------------------- */

void cv_session_set_private(struct cv_session *s, void *data)
{
	s->private_data = data;
}

void *cv_session_private(const struct cv_session *s)
{
	return s->private_data;
}

pid_t cv_session_pid(const struct cv_session *s)
{
	return s->cred.pid;
}

uid_t cv_session_uid(const struct cv_session *s)
{
	return s->cred.uid;
}

uint64_t cv_session_id(const struct cv_session *s)
{
	return s->id;
}

bool cv_session_is_open(const struct cv_session *s)
{
	return s->state == SESSION_READY;
}

const char *cv_session_service_name(const struct cv_session *s)
{
	return s->service ? s->service->name : "";
}
