/* Running a request's handler: the request decoded within a memory budget
 * and checked against the IDL's bounds, the quorum gate, and the reply,
 * sent when the handler returns or later by the service. */
#include <stdlib.h>

#include "cv-server-private.h"
#include "cv-split.h"

static void *bounded_alloc(void *data, size_t size)
{
	struct cv_bounded_allocator *a = data;

	if (size > a->budget - a->used)
		return NULL;
	a->used += size;
	return malloc(size);
}

static void bounded_free(void *data, void *pointer)
{
	(void)data;
	free(pointer);
}

void cv_request_allocator_init(struct cv_bounded_allocator *a, size_t payload_length)
{
	*a = (struct cv_bounded_allocator){
		.base = { bounded_alloc, bounded_free, a },
		.budget = 8u * payload_length + 4096u,
	};
}

void *cv_reply_alloc(struct cv_session *s, size_t size)
{
	struct reply_block *b;
	/* A reply bigger than this could not be sent anyway. */
	size_t budget = 4u * (size_t)s->server->settings->limits.max_message_size;

	if (size > budget || s->reply_memory_bytes > budget - size)
		return NULL;
	b = calloc(1, sizeof(*b) + size);
	if (!b)
		return NULL;
	b->next = s->reply_memory;
	s->reply_memory = b;
	s->reply_memory_bytes += size;
	return b->data;
}

static ProtobufCMessage *reply_new(const ProtobufCMessageDescriptor *desc)
{
	ProtobufCMessage *reply = calloc(1, desc->sizeof_message);

	if (reply)
		protobuf_c_message_init(desc, reply);
	return reply;
}

static cs_error_t run_handler(struct cv_session *s, const struct cv_request_desc *desc,
			      const ProtobufCMessage *request, ProtobufCMessage *reply)
{
	if ((desc->flags & CV_REQUEST_QUORATE_ONLY) && !s->server->quorate)
		return CS_ERR_TRY_AGAIN;
	return desc->handle(s, request, reply);
}

/* The last boundary check: the IDL's declared bounds (string lengths).
 * Client stubs check them before sending, so a violation is bad input. */
static bool request_in_bounds(struct cv_session *s, const struct cv_request_desc *desc,
			      const ProtobufCMessage *request)
{
	cs_error_t status = desc->validate ? desc->validate(request) : CS_OK;

	if (status == CS_OK)
		return true;
	session_protocol_violation(s, "request %s breaks the declared bounds of its fields (%d)", desc->name,
				   status);
	return false;
}

static void count_request(struct cv_session *s, cs_error_t status)
{
	struct cv_service_stats *service = server_stats_of(s->server, s->service);

	s->stats.requests++;
	service->requests++;
	if (status == CS_OK)
		return;
	s->stats.errors++;
	service->errors++;
	if (status == CS_ERR_TRY_AGAIN)
		s->stats.overload++;
}

/* The handler said it answers later: the request counts, with no status. */
static void count_deferred(struct cv_session *s)
{
	s->reply_deferred = false;
	s->stats.requests++;
	server_stats_of(s->server, s->service)->requests++;
}

static void reply_now(struct cv_session *s, const struct cv_request_desc *desc, cs_error_t status,
		      const ProtobufCMessage *reply)
{
	count_request(s, status);
	if ((desc->flags & CV_REQUEST_NOWAIT) && status == CS_ERR_TRY_AGAIN && s->state == SESSION_READY)
		s->held = true;
	if ((desc->flags & CV_REQUEST_ONEWAY) || !desc->reply || s->state != SESSION_READY)
		return;
	session_trace_reply(s, s->header.id, status, reply);
	if (output_queue_reply(s, CV_FRAME_REPLY, s->header.id, s->header.seq, status, reply) != CS_OK)
		session_close_later(s, CV_LOG_ERROR, "out of memory for a reply");
	else
		s->stats.responses++;
}

void request_handle(struct cv_session *s)
{
	const struct cv_request_desc *desc = &s->service->requests[s->header.id];
	struct cv_bounded_allocator alloc;
	const ProtobufCFieldDescriptor *split_field;
	ProtobufCMessage *request, *reply = NULL;
	const char *why;
	cs_error_t status;

	cv_request_allocator_init(&alloc, s->header.length);
	request = cv_payload_unpack(desc->request, &alloc.base, s->header.kind == CV_FRAME_REQUEST_SPLIT,
				    s->payload, s->header.length, &split_field, &why);
	if (!request) {
		session_close_later(s, CV_LOG_WARNING, why);
		return;
	}
	if (!request_in_bounds(s, desc, request)) {
		cv_payload_free(request, split_field, &alloc.base);
		return;
	}
	if (desc->reply && !(reply = reply_new(desc->reply))) {
		cv_payload_free(request, split_field, &alloc.base);
		session_close_later(s, CV_LOG_ERROR, "out of memory for a reply");
		return;
	}
	session_trace_request(s, desc, request);
	status = run_handler(s, desc, request, reply);
	cv_payload_free(request, split_field, &alloc.base);
	if (s->reply_deferred)
		count_deferred(s);
	else
		reply_now(s, desc, status, reply);
	free(reply);
	session_free_reply_memory(s);
}

/* ---- deferred replies --------------------------------------------------- */

void cv_session_defer_reply(struct cv_session *s, struct cv_pending_reply *pending)
{
	s->reply_deferred = true;
	*pending = (struct cv_pending_reply){ .request_id = s->header.id, .seq = s->header.seq };
}

void cv_session_reply(struct cv_session *s, const struct cv_pending_reply *pending, cs_error_t status,
		      const ProtobufCMessage *reply)
{
	struct cv_service_stats *service = server_stats_of(s->server, s->service);

	if (s->state != SESSION_READY)
		return;
	session_trace_reply(s, pending->request_id, status, reply);
	if (output_queue_reply(s, CV_FRAME_REPLY, pending->request_id, pending->seq, status, reply) !=
	    CS_OK) {
		session_close_later(s, CV_LOG_ERROR, "out of memory for a reply");
		return;
	}
	s->stats.responses++;
	if (status != CS_OK) {
		s->stats.errors++;
		service->errors++;
	}
}
