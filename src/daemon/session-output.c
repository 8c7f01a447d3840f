/* Writing to a client: frames packed once and shared by every queue they
 * are in; two queues per session, events to the socket the client
 * connected and replies to the reply channel (its socket, or its reply
 * ring once the client has one: cv-wire.h), written at the
 * end of each batch of the loop; and the back-pressure of a full queue
 * (events refused, or reading paused). */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cv-fds.h"
#include "cv-server-private.h"
#include "cv-split.h"

#define IOV_PER_SEND 64

/* ---- packed frames ------------------------------------------------------ */

struct cv_packed_frame *packed_frame_new(size_t payload_size)
{
	struct cv_packed_frame *f = malloc(sizeof(*f) + sizeof(struct cv_frame_header) + payload_size);

	if (!f)
		return NULL;
	f->refs = 1;
	f->size = sizeof(struct cv_frame_header) + payload_size;
	f->head_length = 0;
	return f;
}

void packed_frame_set_header(struct cv_packed_frame *f, uint16_t kind, uint16_t id, uint32_t seq,
			     int32_t status)
{
	struct cv_frame_header h = {
		.length = (uint32_t)(f->size - sizeof(struct cv_frame_header)),
		.kind = kind,
		.id = id,
		.seq = seq,
		.status = status,
	};

	memcpy(f->bytes, &h, sizeof(h));
}

static struct cv_packed_frame *message_pack(uint16_t kind, uint16_t id, uint32_t seq, int32_t status,
					    const ProtobufCMessage *msg)
{
	size_t size = msg ? protobuf_c_message_get_packed_size(msg) : 0;
	struct cv_packed_frame *f = packed_frame_new(size);

	if (!f)
		return NULL;
	packed_frame_set_header(f, kind, id, seq, status);
	if (msg)
		protobuf_c_message_pack(msg, f->bytes + sizeof(struct cv_frame_header));
	return f;
}

/* A large bytes field goes after the protobuf (cv-wire.h), copied once. */
static struct cv_packed_frame *event_pack_split(uint16_t event_id, const ProtobufCMessage *event,
						const struct cv_split *split)
{
	struct cv_packed_frame *f = packed_frame_new(split->head_length + split->bytes.len);
	unsigned char *payload;

	if (!f)
		return NULL;
	packed_frame_set_header(f, CV_FRAME_EVENT_SPLIT, event_id, 0, 0);
	payload = f->bytes + sizeof(struct cv_frame_header);
	if (cv_split_pack_head(event, split, payload) < 0) {
		free(f);
		return NULL;
	}
	memcpy(payload + split->head_length, split->bytes.data, split->bytes.len);
	f->head_length = (uint32_t)split->head_length;
	return f;
}

struct cv_packed_frame *cv_event_pack(uint16_t event_id, const ProtobufCMessage *event)
{
	struct cv_split split;

	cv_split_plan(event, &split);
	if (split.field)
		return event_pack_split(event_id, event, &split);
	return message_pack(CV_FRAME_EVENT, event_id, 0, 0, event);
}

size_t cv_packed_frame_payload(const struct cv_packed_frame *f)
{
	return f->size - sizeof(struct cv_frame_header);
}

static uint16_t packed_frame_id(const struct cv_packed_frame *f)
{
	struct cv_frame_header h;

	memcpy(&h, f->bytes, sizeof(h));
	return h.id;
}

void cv_packed_frame_release(struct cv_packed_frame *f)
{
	if (f && --f->refs == 0)
		free(f);
}

/* ---- the queues --------------------------------------------------------- */

/* What malloc takes for n bytes: glibc's chunks carry 8 bytes of header,
 * are multiples of 16 bytes and 32 at least. */
static size_t allocation_cost(size_t n)
{
	size_t chunk = (n + 8 + 15) & ~(size_t)15;

	return chunk < 32 ? 32 : chunk;
}

/* The memory a queued frame of `size` bytes holds: its packed frame and
 * its place in the queue. A small reply costs several times its bytes, so
 * queues are bounded by this, not by the bytes alone. A frame shared by
 * several queues counts in each. */
size_t output_frame_cost(size_t size)
{
	return allocation_cost(sizeof(struct out_frame)) +
	       allocation_cost(offsetof(struct cv_packed_frame, bytes) + size);
}

static void out_frame_free(struct out_frame *f)
{
	cv_packed_frame_release(f->packed);
	free(f);
}

static void queue_free(struct out_queue *q)
{
	while (q->head) {
		struct out_frame *next = q->head->next;

		out_frame_free(q->head);
		q->head = next;
	}
	*q = (struct out_queue){ 0 };
}

void output_free(struct cv_session *s)
{
	s->server->freed_since_trim += s->events.cost + s->replies.cost;
	queue_free(&s->events);
	queue_free(&s->replies);
}

cs_error_t output_queue(struct cv_session *s, struct out_queue *q, struct cv_packed_frame *packed)
{
	struct out_frame *f = malloc(sizeof(*f));

	if (!f)
		return CS_ERR_NO_MEMORY;
	packed->refs++;
	*f = (struct out_frame){ .packed = packed };
	if (q->tail)
		q->tail->next = f;
	else
		q->head = f;
	q->tail = f;
	q->bytes += packed->size;
	q->cost += output_frame_cost(packed->size);
	q->frames++;
	output_flush_later(s);
	return CS_OK;
}

void output_flush_later(struct cv_session *s)
{
	if (!s->flush_pending) {
		s->flush_pending = true;
		s->next_flush = s->server->flush_head;
		s->server->flush_head = s;
	}
}

cs_error_t output_queue_reply(struct cv_session *s, uint16_t kind, uint16_t id, uint32_t seq, int32_t status,
			      const ProtobufCMessage *msg)
{
	struct cv_packed_frame *f = message_pack(kind, id, seq, status, msg);
	cs_error_t err;

	if (!f)
		return CS_ERR_NO_MEMORY;
	err = output_queue(s, &s->replies, f);
	cv_packed_frame_release(f);
	if (kind == CV_FRAME_REPLY && s->server->wake.session == s)
		s->server->wake.replied = true;
	return err;
}

/* ---- writing ------------------------------------------------------------ */

static bool peer_closed(int err)
{
	return err == EPIPE || err == ECONNRESET;
}

/* The bytes f puts on the wire. */
static size_t out_frame_size(const struct out_frame *f)
{
	return f->ringed ? event_ring_frame_size(f) : f->packed->size;
}

/* A send failed with errno: the session takes no more output. */
static bool send_failed(struct cv_session *s)
{
	if (peer_closed(errno))
		session_client_gone(s);
	else
		session_close_later(s, CV_LOG_DEBUG, "send failed");
	return false;
}

/* Takes the n bytes a socket took off the front of q. */
static void queue_consume(struct cv_session *s, struct out_queue *q, size_t n)
{
	q->bytes -= n;
	while (n > 0 && q->head != NULL) {
		struct out_frame *f = q->head;
		size_t left = out_frame_size(f) - f->sent;

		if (n < left) {
			f->sent += n;
			break;
		}
		n -= left;
		q->head = f->next;
		q->cost -= output_frame_cost(f->packed->size);
		q->frames--;
		s->stats.sent++;
		out_frame_free(f);
	}
	if (!q->head)
		q->tail = NULL;
}

static void reply_gift_given(struct cv_session *s)
{
	if (s->reply_gift >= 0)
		close(s->reply_gift);
	s->reply_gift = -1;
}

/* Decides, before its first byte goes, how f goes: its bytes through the
 * event ring when it has room for them. */
static void out_frame_choose(struct cv_session *s, struct out_queue *q, struct out_frame *f)
{
	if (f->decided)
		return;
	f->decided = true;
	if (q == &s->events && event_ring_place(s, f))
		q->bytes -= f->packed->size - event_ring_frame_size(f);
}

/* The unsent bytes of f into iov (room for two): an EVENT_RING's header
 * and place are its own, its head the packed frame's. */
static size_t out_frame_iov(const struct out_frame *f, struct iovec *iov)
{
	const struct cv_packed_frame *p = f->packed;
	size_t own = sizeof(f->ring_form), n = 0;
	size_t head_sent = f->sent > own ? f->sent - own : 0;

	if (!f->ringed) {
		iov[0] = (struct iovec){ (unsigned char *)p->bytes + f->sent, p->size - f->sent };
		return 1;
	}
	if (f->sent < own)
		iov[n++] = (struct iovec){ (unsigned char *)&f->ring_form + f->sent, own - f->sent };
	iov[n++] = (struct iovec){ (unsigned char *)p->bytes + sizeof(struct cv_frame_header) + head_sent,
				   p->head_length - head_sent };
	return n;
}

/* The frames of q, up to max_frames, one sendmsg writes: the ring goes
 * with the first byte of the frame that carries it, so that frame starts a
 * sendmsg of its own. */
static void queue_iov(struct cv_session *s, struct out_queue *q, struct msghdr *msg, struct iovec *iov,
		      size_t max_frames)
{
	size_t frames = 0;

	for (struct out_frame *f = q->head; f && msg->msg_iovlen + 2 <= IOV_PER_SEND && frames < max_frames;
	     f = f->next, frames++) {
		out_frame_choose(s, q, f);
		if (f->carries_ring && f->sent == 0 && f != q->head)
			break;
		msg->msg_iovlen += out_frame_iov(f, iov + msg->msg_iovlen);
	}
}

/* Writes as much of q, up to max_frames frames, as fd takes. False when
 * the session can take no more output (its client is gone, or it is
 * closing). */
static bool queue_write(struct cv_session *s, struct out_queue *q, int fd, size_t max_frames, bool *wrote)
{
	union cv_fds_control control;
	size_t frames_before = q->frames;

	while (q->head && s->state != SESSION_CLOSING && frames_before - q->frames < max_frames) {
		size_t allowed = max_frames - (frames_before - q->frames);
		struct iovec iov[IOV_PER_SEND];
		struct msghdr msg = { .msg_iov = iov };
		ssize_t n;

		queue_iov(s, q, &msg, iov, allowed);
		/* The client's end of the reply channel goes with the first
		 * byte written to the socket: the WELCOME's. */
		if (q == &s->events && s->reply_gift >= 0)
			cv_fds_attach(&msg, &control, &s->reply_gift, 1);
		else if (q->head->carries_ring && q->head->sent == 0)
			cv_fds_attach(&msg, &control, &s->event_ring->fd, 1);
		n = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN)
				s->stats.send_retries++;
			if (errno == EAGAIN || errno == EINTR)
				return true;
			return send_failed(s);
		}
		if (q == &s->events)
			reply_gift_given(s);
		queue_consume(s, q, (size_t)n);
		*wrote = true;
	}
	return s->state != SESSION_CLOSING;
}

/* The client sleeps on the reply channel's socket: a byte wakes it. When
 * the socket is full, the bytes in it will. */
static bool reply_ring_wake(struct cv_session *s)
{
	static const uint8_t wake_byte;

	if (send(s->reply_sock, &wake_byte, 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1 || errno == EAGAIN ||
	    errno == EINTR)
		return true;
	return send_failed(s);
}

/* Copies as much of the reply queue into the reply ring as it has room
 * for (frames may be cut anywhere: the ring is a stream), and publishes it. */
static bool reply_ring_fill(struct cv_session *s, bool *wrote)
{
	struct out_queue *q = &s->replies;
	int64_t room = cv_ring_reply_room(&s->ring);
	size_t copied = 0;

	if (room < 0) {
		session_protocol_violation(s, "reply ring tail beyond its capacity %u from its head",
					   s->ring.capacity);
		return false;
	}
	for (struct out_frame *f = q->head; f && copied < (size_t)room; f = f->next) {
		size_t left = f->packed->size - f->sent;
		size_t len = left < (size_t)room - copied ? left : (size_t)room - copied;

		cv_ring_reply_put(&s->ring, f->packed->bytes + f->sent, (uint32_t)len);
		copied += len;
	}
	if (copied == 0)
		return true;
	queue_consume(s, q, copied);
	*wrote = true;
	return !cv_ring_reply_publish(&s->ring) || reply_ring_wake(s);
}

/* Writes the reply queue to the reply ring until it is empty or the ring
 * full, in which case the client wakes us once it has read. */
static bool reply_ring_write(struct cv_session *s, bool *wrote)
{
	do {
		if (!reply_ring_fill(s, wrote))
			return false;
	} while (s->replies.head && !cv_ring_reply_wait_room(&s->ring));
	return true;
}

/* The replies: to the socket, or to the reply ring once those queued
 * before it took over are written. */
static bool replies_write(struct cv_session *s, bool *wrote)
{
	size_t frames_before = s->replies.frames;
	bool ok;

	if (!s->ring.reply_data)
		return queue_write(s, &s->replies, s->reply_sock, SIZE_MAX, wrote);
	ok = queue_write(s, &s->replies, s->reply_sock, s->reply_socket_frames, wrote);
	s->reply_socket_frames -= frames_before - s->replies.frames;
	if (!ok || s->reply_socket_frames > 0)
		return ok;
	return reply_ring_write(s, wrote);
}

/* Whether replies wait for room in the reply channel's socket. */
static bool replies_wait_for_socket(const struct cv_session *s)
{
	return s->replies.head && (!s->ring.reply_data || s->reply_socket_frames > 0);
}

/* Events first: those a request caused for its own client are in the
 * socket before its reply, whenever the socket has room for them. */
void output_flush(struct cv_session *s)
{
	bool wrote = false;

	if (s->peer_gone)
		output_free(s);
	if (!queue_write(s, &s->events, s->sock, SIZE_MAX, &wrote) || !replies_write(s, &wrote))
		return;
	output_update_events(s);
	if (wrote && s->connected && s->service->ops && s->service->ops->room)
		s->service->ops->room(s);
}

void output_flush_list_remove(struct cv_session *s)
{
	struct cv_session **link = &s->server->flush_head;

	if (!s->flush_pending)
		return;
	while (*link != s)
		link = &(*link)->next_flush;
	*link = s->next_flush;
	s->flush_pending = false;
}

/* Output queued during a batch is written once at its end, so that a
 * burst of events to one session leaves in a few writes, not one each. */
void output_flush_pending(struct cv_server *server)
{
	while (server->flush_head) {
		struct cv_session *s = server->flush_head;

		server->flush_head = s->next_flush;
		s->flush_pending = false;
		output_flush(s);
		input_settle_publish(s);
		input_resume(s);
	}
}

void output_on_reply_event(void *data, uint32_t events)
{
	struct cv_session *s = data;

	if (s->state == SESSION_CLOSING || s->peer_gone)
		return;
	/* The client closed its end: it reads nothing more of ours. */
	if (events & (EPOLLHUP | EPOLLERR)) {
		session_client_gone(s);
		return;
	}
	if (events & EPOLLOUT) {
		output_flush(s);
		input_resume(s);
	}
}

/* ---- back-pressure ------------------------------------------------------ */

static bool queue_full(const struct cv_session *s, const struct out_queue *q)
{
	return q->cost >= s->server->settings->limits.max_queued_bytes;
}

bool output_replies_full(const struct cv_session *s)
{
	return queue_full(s, &s->replies);
}

/* A full event queue refuses events (cv_session_send_event); a full reply
 * queue pauses reading: a client that sends requests without reading its
 * replies cannot grow it further. */
void output_update_events(struct cv_session *s)
{
	bool limited = queue_full(s, &s->events) || queue_full(s, &s->replies);
	uint32_t events = 0;

	if (s->state == SESSION_CLOSING || s->peer_gone)
		return;
	if (limited && !s->flow_controlled)
		s->stats.flow_control_count++;
	s->flow_controlled = limited;
	/* With a reply ring, the socket's bytes also announce room in it. */
	if (!input_paused(s) || s->ring.reply_data)
		events |= EPOLLIN;
	if (s->events.head)
		events |= EPOLLOUT;
	if (cv_watch_set_events(&s->watch, events) < 0 ||
	    (s->reply_sock >= 0 &&
	     cv_watch_set_events(&s->reply_watch, replies_wait_for_socket(s) ? EPOLLOUT : 0) < 0))
		session_close_later(s, CV_LOG_ERROR, "epoll_ctl failed");
}

/* An empty queue takes any frame, so that a message of max_message_size
 * always has room once its receiver has caught up. */
static bool room_for_event(const struct cv_session *s, size_t frame_size)
{
	return s->state == SESSION_READY &&
	       (s->events.head == NULL || s->events.cost + output_frame_cost(frame_size) <=
						  s->server->settings->limits.max_queued_bytes);
}

/* Services measure an event with protobuf_c_message_get_packed_size: sent
 * split, it is never longer (cv_split_plan), so room found holds it. */
bool cv_session_has_room(const struct cv_session *s, size_t bytes)
{
	return room_for_event(s, sizeof(struct cv_frame_header) + bytes);
}

static cs_error_t send_packed(struct cv_session *s, struct cv_packed_frame *event, bool bounded)
{
	uint16_t event_id = packed_frame_id(event);

	if (s->state != SESSION_READY)
		return CS_ERR_LIBRARY;
	if (event_id >= s->service->n_events) {
		cv_log_error("service %s sent unknown event id %u", s->service->name, event_id);
		return CS_ERR_INVALID_PARAM;
	}
	if (bounded && !room_for_event(s, event->size))
		return CS_ERR_TRY_AGAIN;
	session_trace_event(s, event);
	if (output_queue(s, &s->events, event) != CS_OK)
		return CS_ERR_NO_MEMORY;
	if (s->server->wake.session == s)
		s->server->wake.evented = true;
	s->stats.events++;
	server_stats_of(s->server, s->service)->events++;
	return CS_OK;
}

cs_error_t cv_session_send_packed(struct cv_session *s, struct cv_packed_frame *event)
{
	return send_packed(s, event, true);
}

cs_error_t cv_session_send_agreed(struct cv_session *s, struct cv_packed_frame *event)
{
	return send_packed(s, event, false);
}

cs_error_t cv_session_send_event(struct cv_session *s, uint16_t event_id, const ProtobufCMessage *event)
{
	struct cv_packed_frame *packed = cv_event_pack(event_id, event);
	cs_error_t err;

	if (!packed)
		return CS_ERR_NO_MEMORY;
	err = cv_session_send_packed(s, packed);
	cv_packed_frame_release(packed);
	return err;
}
