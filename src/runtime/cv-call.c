/* Requests: pack, send, and wait for the reply with the same seq. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <conclave/cv-status.h>
#include "cv-client.h"
#include "cv-clock.h"
#include "cv-limits.h"
#include "cv-split.h"

struct request_frame {
	uint8_t *data; /* header followed by the packed request, or by a split frame's head */
	size_t length;
	ProtobufCBinaryData tail; /* a split frame's field, sent from where it lies */
};

static cs_error_t request_pack(const struct cv_client *c, uint16_t request_id,
			       const ProtobufCMessage *request, struct request_frame *frame)
{
	struct cv_frame_header header = { .kind = CV_FRAME_REQUEST, .id = request_id };
	struct cv_split split;
	size_t head;

	cv_split_plan(request, &split);
	head = split.field != NULL ? split.head_length : protobuf_c_message_get_packed_size(request);
	frame->tail = split.field != NULL ? split.bytes : (ProtobufCBinaryData){ 0 };
	if (head + frame->tail.len > c->max_request)
		return CS_ERR_TOO_BIG;
	frame->length = sizeof(header) + head;
	frame->data = malloc(frame->length);
	if (frame->data == NULL)
		return CS_ERR_NO_MEMORY;
	header.length = (uint32_t)(head + frame->tail.len);
	if (split.field != NULL)
		header.kind = CV_FRAME_REQUEST_SPLIT;
	memcpy(frame->data, &header, sizeof(header));
	if (split.field == NULL) {
		protobuf_c_message_pack(request, frame->data + sizeof(header));
	} else if (cv_split_pack_head(request, &split, frame->data + sizeof(header)) < 0) {
		free(frame->data);
		return CS_ERR_NO_MEMORY;
	}
	return CS_OK;
}

static cs_error_t request_send(struct cv_client *c, const struct request_frame *frame, bool nowait)
{
	struct iovec iov[2] = { { frame->data, frame->length }, { frame->tail.data, frame->tail.len } };
	size_t n = frame->tail.len > 0 ? 2 : 1;

	return nowait ? cv_client_send_nowait(c, iov, n) : cv_client_send(c, iov, n);
}

static void header_set_seq(uint8_t *header, uint32_t seq)
{
	memcpy(header + offsetof(struct cv_frame_header, seq), &seq, sizeof(seq));
}

/* Lock held. Seq 0 is never used: it marks events. */
static uint32_t seq_next(struct cv_client *c)
{
	uint32_t seq = c->next_seq++;

	if (c->next_seq == 0)
		c->next_seq = 1;
	return seq;
}

/* Registers `call` (NULL for one-way requests) before the request leaves, so
 * whoever reads the socket can route the reply however fast it comes. */
static cs_error_t call_register(struct cv_client *c, uint8_t *header, struct cv_pending_call *call,
				uint32_t *assigned)
{
	uint32_t seq;
	cs_error_t err;

	pthread_mutex_lock(&c->lock);
	err = cv_client_state(c);
	if (err == CS_OK) {
		seq = seq_next(c);
		*assigned = seq;
		header_set_seq(header, seq);
		if (call != NULL) {
			call->seq = seq;
			call->next = c->calls;
			c->calls = call;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return err;
}

/* Lock held. */
static void call_unregister(struct cv_client *c, struct cv_pending_call *call)
{
	struct cv_pending_call **link = &c->calls;

	while (*link != NULL && *link != call)
		link = &(*link)->next;
	if (*link != NULL)
		*link = call->next;
}

int64_t cv_call_timeout_from_env(void)
{
	const char *text = getenv(CV_CALL_TIMEOUT_ENV);
	unsigned long long parsed;
	char *end;

	if (text == NULL || *text == '\0')
		return CV_CALL_TIMEOUT_MS;
	errno = 0;
	parsed = strtoull(text, &end, 10);
	if (*end != '\0' || errno != 0 || parsed > INT32_MAX)
		return CV_CALL_TIMEOUT_MS;
	return (int64_t)parsed;
}

static int64_t call_deadline_ms(const struct cv_client *c)
{
	return c->call_timeout_ms == 0 ? 0 : (int64_t)cv_clock_ms() + c->call_timeout_ms;
}

static bool call_answered(struct cv_client *c, void *arg)
{
	return ((struct cv_pending_call *)arg)->done;
}

/* Lock held. The reply of a call given up may still come; it is dropped
 * then. With too many such calls, the connection is given up too. */
static void call_abandon(struct cv_client *c, const struct cv_pending_call *call)
{
	if (c->n_abandoned == CV_ABANDONED_CALLS_MAX)
		cv_client_mark_dead(c);
	else
		c->abandoned[c->n_abandoned++] = call->seq;
}

static cs_error_t call_await(struct cv_client *c, struct cv_pending_call *call, bool sent)
{
	cs_error_t err = CS_OK;

	pthread_mutex_lock(&c->lock);
	if (sent)
		err = cv_client_wait(c, &c->replies, call_answered, call, CV_WAIT_BLOCK | CV_WAIT_SPIN,
				     call_deadline_ms(c));
	if (err == CS_ERR_TIMEOUT)
		call_abandon(c, call);
	call_unregister(c, call);
	pthread_mutex_unlock(&c->lock);
	return err;
}

/* The daemon's status, when it is one a caller can be given. */
static cs_error_t reply_status(int32_t status)
{
	if (cv_status_valid(status))
		return (cs_error_t)status;
	return CS_ERR_LIBRARY;
}

static cs_error_t reply_unpack(const struct cv_pending_call *call,
			       const ProtobufCMessageDescriptor *reply_desc, ProtobufCMessage **reply)
{
	static const uint8_t empty[1];
	const uint8_t *payload = call->payload != NULL ? call->payload : empty;

	*reply = protobuf_c_message_unpack(reply_desc, NULL, call->length, payload);
	if (*reply == NULL)
		return CS_ERR_LIBRARY;
	return reply_status(call->status);
}

/* Waits for the answer to the RING_OPEN in flight and, once it came,
 * turns the rings on or drops them. Timed out, the offer stays in flight:
 * the daemon may still take the rings, after which it reads nothing from
 * the socket but wake-up bytes, so every later request waits for that
 * answer first. */
static cs_error_t ring_offer_finish(struct cv_client *c)
{
	struct cv_pending_call *call = c->ring_offer;
	cs_error_t err;

	pthread_mutex_lock(&c->lock);
	err = cv_client_wait(c, &c->replies, call_answered, call, CV_WAIT_BLOCK | CV_WAIT_SPIN,
			     call_deadline_ms(c));
	if (err != CS_ERR_TIMEOUT)
		call_unregister(c, call);
	pthread_mutex_unlock(&c->lock);
	if (err == CS_ERR_TIMEOUT)
		return err;
	/* Taken, the rings are the connection's, whatever else failed. */
	if (call->done && call->status == CS_OK) {
		c->transport = &cv_transport_ring;
		__atomic_store_n(&c->ring_taken, &c->ring, __ATOMIC_RELEASE);
	} else
		cv_ring_destroy(&c->ring);
	free(call->payload);
	free(call);
	__atomic_store_n(&c->ring_offer, NULL, __ATOMIC_RELAXED);
	return err;
}

/* Offers the daemon a shared ring and a reply ring (cv-wire.h), once per
 * connection, as large as it takes up to CV_CLIENT_RING_CAPACITY. Rings pay
 * off for pipelined requests, which otherwise cost a send each, and for
 * calls made one after another, whose round trips then need no system
 * call while both sides poll: the first post asks, or the second call; a
 * connection used for one call, or idle, never maps one. Whatever the
 * answer, the connection carries on: over the rings, or over the sockets. */
static cs_error_t ring_offer(struct cv_client *c)
{
	struct {
		struct cv_frame_header header;
		struct cv_ring_open open;
	} frame = {
		.header = { .length = sizeof(struct cv_ring_open), .kind = CV_FRAME_RING_OPEN },
		.open = { .magic = CV_WIRE_MAGIC, .capacity = CV_CLIENT_RING_CAPACITY },
	};
	struct cv_pending_call *call;
	uint32_t seq;
	int memfd;
	cs_error_t err;

	__atomic_store_n(&c->ring_asked, true, __ATOMIC_RELAXED);
	while (frame.open.capacity > c->max_ring && frame.open.capacity > CV_RING_MIN_CAPACITY)
		frame.open.capacity /= 2;
	if (frame.open.capacity > c->max_ring)
		return CS_OK;
	call = calloc(1, sizeof(*call));
	if (call == NULL)
		return CS_OK;
	if (cv_ring_create(&c->ring, frame.open.capacity, &memfd) != CS_OK) {
		free(call);
		return CS_OK;
	}
	frame.open.reply_capacity = frame.open.capacity;
	call->ring_offered = &c->ring;
	err = call_register(c, (uint8_t *)&frame.header, call, &seq);
	if (err == CS_OK)
		err = cv_client_send_fd(c, &frame, sizeof(frame), memfd);
	close(memfd);
	if (err != CS_OK) {
		pthread_mutex_lock(&c->lock);
		call_unregister(c, call);
		pthread_mutex_unlock(&c->lock);
		cv_ring_destroy(&c->ring);
		free(call);
		return err;
	}
	__atomic_store_n(&c->ring_offer, call, __ATOMIC_RELAXED);
	return ring_offer_finish(c);
}

static cs_error_t ring_offer_once(struct cv_client *c)
{
	cs_error_t err = CS_OK;

	pthread_mutex_lock(&c->send_lock);
	if (!c->ring_asked)
		err = ring_offer(c);
	else if (c->ring_offer != NULL)
		err = ring_offer_finish(c);
	pthread_mutex_unlock(&c->send_lock);
	return err;
}

/* Whether a request must offer the rings first, or wait for the offer's
 * answer; `call` for one that waits for its reply. */
static bool ring_offer_due(struct cv_client *c, bool call)
{
	if (__atomic_load_n(&c->ring_offer, __ATOMIC_RELAXED) != NULL)
		return true;
	if (__atomic_load_n(&c->ring_asked, __ATOMIC_RELAXED))
		return false;
	return !call || __atomic_fetch_add(&c->calls_started, 1, __ATOMIC_RELAXED) > 0;
}

/* Notes a one-way request sent, for cv_client_settle_posts. One refused
 * with CS_ERR_TRY_AGAIN clears the note: a program pushed back dispatches
 * to make room, and waiting for the daemon to handle everything before
 * would only hold its stream up. */
static void post_note(struct cv_client *c, uint32_t seq, cs_error_t err)
{
	pthread_mutex_lock(&c->lock);
	if (err == CS_OK && (!c->posts_unsettled || cv_seq_reached(seq, c->unsettled_post)))
		c->unsettled_post = seq;
	c->posts_unsettled = err == CS_OK;
	pthread_mutex_unlock(&c->lock);
}

/* A one-way request sent only if the connection can take it now. */
static cs_error_t post_run(struct cv_client *c, uint16_t request_id, const ProtobufCMessage *request)
{
	struct request_frame frame;
	uint32_t seq;
	cs_error_t err;

	if (ring_offer_due(c, false)) {
		err = ring_offer_once(c);
		if (err != CS_OK)
			return err;
	}
	err = request_pack(c, request_id, request, &frame);
	if (err != CS_OK)
		return err;
	cv_client_trace_request(c, request_id, request);
	err = call_register(c, frame.data, NULL, &seq);
	if (err == CS_OK) {
		err = request_send(c, &frame, true);
		if (err == CS_OK || err == CS_ERR_TRY_AGAIN)
			post_note(c, seq, err);
	}
	free(frame.data);
	return err;
}

static cs_error_t call_run(struct cv_client *c, uint16_t request_id, const ProtobufCMessage *request,
			   const ProtobufCMessageDescriptor *reply_desc, ProtobufCMessage **reply)
{
	struct cv_pending_call call = { .request_id = request_id };
	struct cv_pending_call *waiting = reply_desc != NULL ? &call : NULL;
	struct request_frame frame;
	uint32_t seq;
	cs_error_t err;

	if (ring_offer_due(c, true)) {
		err = ring_offer_once(c);
		if (err != CS_OK)
			return err;
	}
	err = request_pack(c, request_id, request, &frame);
	if (err != CS_OK)
		return err;
	cv_client_trace_request(c, request_id, request);
	err = call_register(c, frame.data, waiting, &seq);
	if (err == CS_OK) {
		err = request_send(c, &frame, false);
		if (waiting != NULL) {
			cs_error_t await_err = call_await(c, waiting, err == CS_OK);

			if (err == CS_OK)
				err = await_err;
		}
	}
	free(frame.data);
	if (err == CS_OK && waiting != NULL)
		err = reply_unpack(&call, reply_desc, reply);
	if (waiting != NULL)
		cv_client_trace_reply(c, request_id, err, *reply);
	free(call.payload);
	return err;
}

static bool settled_in_ring(struct cv_client *c, void *arg)
{
	return cv_ring_settled(&c->ring, *(const uint32_t *)arg);
}

static bool settled_answered(struct cv_client *c, void *arg)
{
	return cv_seq_reached(c->settled, *(const uint32_t *)arg);
}

/* The ring, once taken, stays the connection's transport. */
static bool through_ring(struct cv_client *c)
{
	bool ring;

	pthread_mutex_lock(&c->send_lock);
	ring = c->transport == &cv_transport_ring;
	pthread_mutex_unlock(&c->send_lock);
	return ring;
}

/* Without a ring, SETTLE asks the daemon to answer once it has handled what
 * came before. Not when events wait already: the daemon may be holding the
 * posts back for want of room among them, which only dispatching makes
 * (CS_ERR_TRY_AGAIN then, as when the socket cannot take SETTLE now); nor
 * while an offer of the rings is unanswered: the daemon may have taken them
 * and would read SETTLE as wake-up bytes. */
static cs_error_t settle_ask(struct cv_client *c, uint32_t *seq)
{
	struct cv_frame_header header = { .kind = CV_FRAME_SETTLE };
	struct iovec iov = { &header, sizeof(header) };
	cs_error_t err;

	if (cv_client_events_waiting(c) || __atomic_load_n(&c->ring_offer, __ATOMIC_RELAXED) != NULL)
		return CS_ERR_TRY_AGAIN;
	err = call_register(c, (uint8_t *)&header, NULL, seq);
	return err == CS_OK ? cv_client_send_nowait(c, &iov, 1) : err;
}

cs_error_t cv_client_settle_posts(struct cv_client *c)
{
	bool (*settled)(struct cv_client * c, void *arg) = settled_in_ring;
	uint32_t last_post, awaited;
	cs_error_t err;

	pthread_mutex_lock(&c->lock);
	last_post = awaited = c->unsettled_post;
	if (!c->posts_unsettled) {
		pthread_mutex_unlock(&c->lock);
		return CS_OK;
	}
	pthread_mutex_unlock(&c->lock);
	if (!through_ring(c)) {
		settled = settled_answered;
		err = settle_ask(c, &awaited);
		if (err != CS_OK)
			return err == CS_ERR_TRY_AGAIN ? CS_OK : err;
	}
	pthread_mutex_lock(&c->lock);
	err = cv_client_wait(c, &c->replies, settled, &awaited, CV_WAIT_BLOCK,
			     (int64_t)cv_clock_ms() + CV_SETTLE_WAIT_MS);
	if (settled == settled_in_ring)
		cv_ring_stop_settle_waiting(&c->ring);
	if (err == CS_OK && c->unsettled_post == last_post)
		c->posts_unsettled = false;
	pthread_mutex_unlock(&c->lock);
	return err == CS_ERR_TIMEOUT ? CS_OK : err;
}

cs_error_t cv_client_call(const struct cv_client_service *svc, uint64_t handle, uint16_t request_id,
			  const ProtobufCMessage *request, const ProtobufCMessageDescriptor *reply_desc,
			  ProtobufCMessage **reply)
{
	struct cv_client *c;
	cs_error_t err;

	if (reply != NULL)
		*reply = NULL;
	if (request == NULL || (reply_desc != NULL && reply == NULL))
		return CS_ERR_INVALID_PARAM;
	err = cv_client_acquire(svc, handle, &c);
	if (err != CS_OK)
		return err;
	err = call_run(c, request_id, request, reply_desc, reply);
	cv_client_release(svc, handle);
	return err;
}

cs_error_t cv_client_post(const struct cv_client_service *svc, uint64_t handle, uint16_t request_id,
			  const ProtobufCMessage *request)
{
	struct cv_client *c;
	cs_error_t err;

	if (request == NULL)
		return CS_ERR_INVALID_PARAM;
	err = cv_client_acquire(svc, handle, &c);
	if (err != CS_OK)
		return err;
	err = post_run(c, request_id, request);
	cv_client_release(svc, handle);
	return err;
}
