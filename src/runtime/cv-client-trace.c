/* CONCLAVE_DEBUG=1: every request, reply and event of this process on
 * stderr, one line each, named from the service's catalog. */
#include <stdio.h>

#include "cv-client.h"
#include "cv-trace.h"

static void begin(struct cv_trace_line *l, const struct cv_client *c, const char *arrow)
{
	cv_trace_begin(l);
	cv_trace_append(l, "conclave: %s[fd %d] %s ", c->svc->name, c->events.fd, arrow);
}

static void finish(const struct cv_trace_line *l)
{
	fprintf(stderr, "%s\n", l->text);
}

static const char *request_name(const struct cv_client *c, uint16_t id, char *fallback, size_t size)
{
	const struct cv_catalog_request *r = cv_catalog_request(c->svc->catalog, id);

	if (r)
		return r->name;
	snprintf(fallback, size, "request%u", id);
	return fallback;
}

void cv_client_trace_request(const struct cv_client *c, uint16_t id, const ProtobufCMessage *request)
{
	struct cv_trace_line l;
	char fallback[32];

	if (!cv_trace_client_enabled())
		return;
	begin(&l, c, "->");
	cv_trace_message(&l, request_name(c, id, fallback, sizeof(fallback)), request);
	finish(&l);
}

void cv_client_trace_reply(const struct cv_client *c, uint16_t id, int64_t status,
			   const ProtobufCMessage *reply)
{
	struct cv_trace_line l;
	char fallback[32];

	if (!cv_trace_client_enabled())
		return;
	begin(&l, c, "<-");
	cv_trace_append(&l, "%s = ", request_name(c, id, fallback, sizeof(fallback)));
	cv_trace_status(&l, status);
	if (reply) {
		cv_trace_append(&l, " ");
		cv_trace_message(&l, "", reply);
	}
	finish(&l);
}

void cv_client_trace_event(const struct cv_client *c, uint16_t id, const ProtobufCMessage *event)
{
	struct cv_trace_line l;
	const struct cv_event_desc *desc = id < c->svc->n_events ? &c->svc->events[id] : NULL;

	if (!cv_trace_client_enabled())
		return;
	begin(&l, c, "<- event");
	cv_trace_message(&l, desc && desc->name ? desc->name : "unknown", event);
	finish(&l);
}
