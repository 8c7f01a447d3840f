/* Where conclaved watches its traffic: each request, reply and event of a
 * connection goes to the monitors (monitor.c) and, with -d, into a debug
 * line decoded by name from the service's catalog. A monitor's own frames
 * are not watched. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cv-server-private.h"
#include "cv-split.h"
#include "cv-trace.h"

static bool traced(const struct cv_session *s)
{
	return s->service != &cv_monitor_service && cv_log_debug_enabled();
}

static void begin(struct cv_trace_line *l, const struct cv_session *s, const char *arrow)
{
	cv_trace_begin(l);
	cv_trace_append(l, "connection %llu (pid %d) %s %s ", (unsigned long long)s->id, (int)s->cred.pid,
			s->service->name, arrow);
}

void session_trace_request(const struct cv_session *s, const struct cv_request_desc *desc,
			   const ProtobufCMessage *request)
{
	struct cv_trace_line l;

	monitor_record(s, CV_MONITOR_REQUEST, s->header.id, 0, s->header.kind == CV_FRAME_REQUEST_SPLIT,
		       s->payload, s->header.length);
	if (!traced(s))
		return;
	begin(&l, s, "->");
	cv_trace_message(&l, desc->name, request);
	cv_log_escaped_debug(l.text);
}

static void monitor_reply(const struct cv_session *s, uint16_t request_id, cs_error_t status,
			  const ProtobufCMessage *reply)
{
	size_t size = reply ? protobuf_c_message_get_packed_size(reply) : 0;
	uint8_t *payload = malloc(size ? size : 1);

	if (!payload)
		return;
	if (reply)
		protobuf_c_message_pack(reply, payload);
	monitor_record(s, CV_MONITOR_REPLY, request_id, status, false, payload, size);
	free(payload);
}

void session_trace_reply(const struct cv_session *s, uint16_t request_id, cs_error_t status,
			 const ProtobufCMessage *reply)
{
	struct cv_trace_line l;

	if (monitor_watching(s))
		monitor_reply(s, request_id, status, reply);
	if (!traced(s))
		return;
	begin(&l, s, "<-");
	cv_trace_append(&l, "%s = ", s->service->requests[request_id].name);
	cv_trace_status(&l, status);
	if (reply) {
		cv_trace_append(&l, " ");
		cv_trace_message(&l, "", reply);
	}
	cv_log_escaped_debug(l.text);
}

/* Events are packed once for all their receivers: decoded again here. */
void session_trace_event(const struct cv_session *s, const struct cv_packed_frame *event)
{
	struct cv_frame_header h;
	const struct cv_catalog_event *desc;
	const ProtobufCFieldDescriptor *split_field;
	ProtobufCMessage *message = NULL;
	struct cv_trace_line l;
	const char *why;

	memcpy(&h, event->bytes, sizeof(h));
	monitor_record(s, CV_MONITOR_EVENT, h.id, 0, h.kind == CV_FRAME_EVENT_SPLIT, event->bytes + sizeof(h),
		       h.length);
	if (!traced(s))
		return;
	desc = cv_catalog_event(s->service->catalog, h.id);
	begin(&l, s, "<- event");
	if (desc)
		message = cv_payload_unpack(desc->message, NULL, h.kind == CV_FRAME_EVENT_SPLIT,
					    event->bytes + sizeof(h), h.length, &split_field, &why);
	if (message) {
		cv_trace_message(&l, desc->name, message);
		cv_payload_free(message, split_field, NULL);
	} else {
		cv_trace_append(&l, "%s (%u bytes)", desc ? desc->name : "unknown", h.length);
	}
	cv_log_escaped_debug(l.text);
}
