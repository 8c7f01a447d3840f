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

void cv_sessions_init(const struct cv_settings *config, const struct cv_server_service *const *offered,
		      size_t n_offered)
{
	const struct cv_server_service **services = calloc(n_offered + 1, sizeof(*services));

	/* The monitor is the daemon's own, beside whatever it offers. */
	if (!services)
		abort(); /* at start-up, before any client */
	memcpy(services, offered, n_offered * sizeof(*services));
	services[n_offered] = &cv_monitor_service;
	server.settings = config;
	free((void *)server.services);
	server.services = services;
	server.n_services = n_offered + 1;
	free(server.service_stats);
	server.service_stats = calloc(server.n_services, sizeof(*server.service_stats));
	if (!server.service_stats)
		abort();
}

/* ---- services ----------------------------------------------------------- */

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

	cv_list_for_each(s, &server.sessions, link)
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
