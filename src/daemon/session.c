#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cv-split.h"
#include "cv-wire.h"
#include "cv-daemon.h"
#include "cv-list.h"
#include "cv-log.h"
#include "cv-loop.h"
#include "cv-ring-reader.h"

#define FRAMES_PER_WAKEUP 16
/* Input is read in chunks of up to this much, so that a stream of small
 * frames costs a read per chunk, not two per frame; larger payloads are
 * read straight into their own buffer. */
#define RX_CHUNK 65536
#define IOV_PER_SEND 64
/* Room for more descriptors than RING_OPEN takes, to tell a client that
 * sent too many. */
#define PASSED_FDS_MAX 2

enum session_state { SESSION_AWAIT_HELLO, SESSION_READY, SESSION_CLOSING };

/* A frame's bytes, shared by every queue it is in. */
struct cv_packed_frame {
	size_t refs;
	size_t size; /* header and payload */
	alignas(max_align_t) unsigned char bytes[];
};

/* One place in one session's queue. */
struct out_frame {
	struct out_frame *next;
	struct cv_packed_frame *packed;
	size_t sent;
};

struct reply_block {
	struct reply_block *next;
	alignas(max_align_t) unsigned char data[];
};

struct uid_count {
	uid_t uid;
	size_t count;
};

struct cv_session {
	uint64_t id;
	int sock;
	struct cv_watch watch; /* of sock; removed once a ring's client is gone */
	struct cv_timer hello_timer;
	struct ucred cred;
	enum session_state state;
	cs_error_t refusal;
	bool connected; /* the service's connect hook accepted it */
	const struct cv_server_service *service;
	void *private_data;
	struct cv_frame_header header;
	size_t header_have;
	unsigned char *payload;
	size_t payload_have;
	unsigned char *rx; /* RX_CHUNK bytes, read but not yet taken, from rx_start to rx_end */
	size_t rx_start, rx_end;
	struct out_frame *out_head, *out_tail;
	size_t out_bytes;
	size_t out_frames;
	bool flow_controlled;
	bool held; /* the frame in header/payload waits for cv_session_retry_held */
	bool reply_deferred; /* the running handler answers later, with cv_session_reply */
	bool flush_pending; /* in flush_head: output queued during this loop batch */
	struct cv_session *next_flush;
	struct cv_session_stats stats;
	struct reply_block *reply_memory;
	size_t reply_memory_bytes;
	int passed_fd; /* a descriptor the client attached, for RING_OPEN; -1 */
	struct cv_ring_reader ring; /* ring.shared: the client's frames come through it */
	bool peer_gone; /* the client closed its socket: output is dropped, input read to its end */
	struct cv_list polled_link; /* in `polled_sessions` once it has a ring or its client is gone */
	struct cv_list link; /* in `sessions` */
	struct cv_session *next_closing;
};

static const struct cv_settings *settings;
static const struct cv_server_service *const *services;
static size_t n_services;
static struct cv_list sessions = CV_LIST_INIT(sessions);
/* Sessions whose input no descriptor announces: those whose client writes
 * through a ring, and those whose client is gone, read to the end of what
 * it sent without epoll (which would report the hang-up for ever). */
static struct cv_list polled_sessions = CV_LIST_INIT(polled_sessions);
static struct cv_session *closing_head;
static struct cv_session *flush_head;
static uint64_t last_session_id;
static size_t n_admitted, n_refusing;
static uint64_t n_closed;
static struct cv_service_stats *service_stats; /* parallel to services */
static const struct cv_session_observer *observer;
static struct uid_count *uid_counts;
static size_t n_uid_counts;
static bool server_quorate = true;

static void session_on_event(void *data, uint32_t events);
static void session_update_events(struct cv_session *s);

/* ---- accounting -------------------------------------------------------- */

static struct uid_count *uid_slot(uid_t uid, bool create)
{
	struct uid_count *grown;

	for (size_t i = 0; i < n_uid_counts; i++)
		if (uid_counts[i].uid == uid)
			return &uid_counts[i];
	if (!create)
		return NULL;
	grown = realloc(uid_counts, (n_uid_counts + 1) * sizeof(*uid_counts));
	if (!grown)
		return NULL;
	uid_counts = grown;
	uid_counts[n_uid_counts] = (struct uid_count){ .uid = uid };
	return &uid_counts[n_uid_counts++];
}

static void uid_release(uid_t uid)
{
	struct uid_count *slot = uid_slot(uid, false);

	if (slot && --slot->count == 0) {
		*slot = uid_counts[--n_uid_counts];
		if (n_uid_counts == 0) {
			free(uid_counts);
			uid_counts = NULL;
		}
	}
}

size_t cv_sessions_admitted(void)
{
	return n_admitted;
}

size_t cv_sessions_refusing(void)
{
	return n_refusing;
}

size_t cv_sessions_of_uid(uid_t uid)
{
	struct uid_count *slot = uid_slot(uid, false);

	return slot ? slot->count : 0;
}

static struct cv_service_stats *stats_of_service(const struct cv_server_service *service)
{
	for (size_t i = 0; service && i < n_services; i++)
		if (services[i] == service)
			return &service_stats[i];
	return NULL;
}

/* ---- closing ----------------------------------------------------------- */

static void flush_list_remove(struct cv_session *s);
static void session_flush(struct cv_session *s);

/* What was queued before the close (a refusal, the last events) is still
 * written as far as the socket takes it. */
static void session_close_later(struct cv_session *s, enum cv_log_level level, const char *why)
{
	if (s->state == SESSION_CLOSING)
		return;
	if (s->flush_pending) {
		flush_list_remove(s);
		session_flush(s);
		if (s->state == SESSION_CLOSING)
			return;
	}
	cv_log(level, "closing connection %llu (pid %d, uid %u%s%s): %s", (unsigned long long)s->id,
	       (int)s->cred.pid, (unsigned)s->cred.uid, s->service ? ", service " : "",
	       s->service ? s->service->name : "", why);
	s->state = SESSION_CLOSING;
	s->next_closing = closing_head;
	closing_head = s;
}

static void protocol_violation(struct cv_session *s, const char *format, ...) __attribute__((format(printf, 2, 3)));

static void protocol_violation(struct cv_session *s, const char *format, ...)
{
	char why[160];
	va_list args;

	va_start(args, format);
	vsnprintf(why, sizeof(why), format, args);
	va_end(args);
	if (s->state != SESSION_CLOSING && stats_of_service(s->service))
		stats_of_service(s->service)->invalid_requests++;
	session_close_later(s, CV_LOG_WARNING, why);
}

static void free_reply_memory(struct cv_session *s)
{
	while (s->reply_memory) {
		struct reply_block *next = s->reply_memory->next;

		free(s->reply_memory);
		s->reply_memory = next;
	}
	s->reply_memory_bytes = 0;
}

static void out_frame_free(struct out_frame *f)
{
	cv_packed_frame_release(f->packed);
	free(f);
}

static void free_out_queue(struct cv_session *s)
{
	while (s->out_head) {
		struct out_frame *next = s->out_head->next;

		out_frame_free(s->out_head);
		s->out_head = next;
	}
	s->out_tail = NULL;
	s->out_bytes = 0;
	s->out_frames = 0;
}

static void session_disconnect(struct cv_session *s)
{
	if (!s->connected)
		return;
	if (observer && observer->closed)
		observer->closed(s);
	if (s->service->ops && s->service->ops->disconnect)
		s->service->ops->disconnect(s);
	stats_of_service(s->service)->connections--;
}

static void flush_list_remove(struct cv_session *s)
{
	struct cv_session **link = &flush_head;

	if (!s->flush_pending)
		return;
	while (*link != s)
		link = &(*link)->next_flush;
	*link = s->next_flush;
	s->flush_pending = false;
}

static void session_destroy(struct cv_session *s)
{
	flush_list_remove(s);
	session_disconnect(s);

	cv_watch_remove(&s->watch);
	close(s->sock);
	if (s->passed_fd >= 0)
		close(s->passed_fd);
	cv_ring_reader_close(&s->ring);
	cv_list_remove(&s->polled_link);
	cv_timer_stop(&s->hello_timer);
	free_out_queue(s);
	free_reply_memory(s);
	free(s->payload);
	free(s->rx);
	if (s->refusal == CS_OK) {
		n_admitted--;
		n_closed++;
		uid_release(s->cred.uid);
	} else {
		n_refusing--;
	}
	cv_list_remove(&s->link);
	free(s);
}

static void session_read(struct cv_session *s);
static size_t rx_buffered(const struct cv_session *s);
static bool queue_limit_reached(const struct cv_session *s);

static bool reading_paused(const struct cv_session *s)
{
	return s->held || queue_limit_reached(s);
}

/* Input that no event on the socket announces: frames left in the chunk
 * buffer, bytes in the ring, or the rest of what a departed client sent. */
static bool readable_unannounced(const struct cv_session *s)
{
	return s->state != SESSION_CLOSING && !reading_paused(s) &&
	       (s->peer_gone || rx_buffered(s) > 0 || (s->ring.shared && cv_ring_reader_has_input(&s->ring)));
}

/* Reading was paused (queue full, frame held): take what no event will
 * announce now. */
static void session_resume_buffered(struct cv_session *s)
{
	if (readable_unannounced(s))
		session_read(s);
}

/* Output queued during a batch is written once at its end, so that a
 * burst of events to one session leaves in a few writes, not one each. */
static void sessions_flush_pending(void)
{
	while (flush_head) {
		struct cv_session *s = flush_head;

		flush_head = s->next_flush;
		s->flush_pending = false;
		session_flush(s);
		session_resume_buffered(s);
	}
}

/* Closing a session can queue output to others (a service's disconnect
 * hook), and flushing can close sessions: repeat until both settle. */
void cv_sessions_reap(void)
{
	sessions_flush_pending();
	while (closing_head) {
		while (closing_head) {
			struct cv_session *s = closing_head;

			closing_head = s->next_closing;
			session_destroy(s);
		}
		sessions_flush_pending();
	}
}

void cv_sessions_close_all(void)
{
	struct cv_session *s;

	cv_list_for_each(s, &sessions, link)
		session_close_later(s, CV_LOG_DEBUG, "daemon shutting down");
	cv_sessions_reap();
}

/* ---- output ------------------------------------------------------------ */

static struct cv_packed_frame *packed_frame_new(size_t payload_size)
{
	struct cv_packed_frame *f = malloc(sizeof(*f) + sizeof(struct cv_frame_header) + payload_size);

	if (!f)
		return NULL;
	f->refs = 1;
	f->size = sizeof(struct cv_frame_header) + payload_size;
	return f;
}

static void packed_frame_set_header(struct cv_packed_frame *f, uint16_t kind, uint16_t id, uint32_t seq,
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

/* The client closed its socket: its output has nowhere to go, but what it
 * sent before (in the socket or its ring) is still read and handled, so
 * that a client that posts messages and exits loses none of them. */
static void client_gone(struct cv_session *s)
{
	s->peer_gone = true;
	free_out_queue(s);
	cv_watch_remove(&s->watch);
	if (!cv_list_linked(&s->polled_link))
		cv_list_insert(&polled_sessions, &s->polled_link);
}

static bool peer_closed(int err)
{
	return err == EPIPE || err == ECONNRESET;
}

/* Writes as much of the queue as the socket takes. */
static void session_flush(struct cv_session *s)
{
	bool wrote = false;

	if (s->peer_gone)
		free_out_queue(s);
	while (s->out_head && s->state != SESSION_CLOSING) {
		struct iovec iov[IOV_PER_SEND];
		struct msghdr msg = { .msg_iov = iov };
		ssize_t n;

		for (struct out_frame *f = s->out_head; f && msg.msg_iovlen < IOV_PER_SEND; f = f->next)
			iov[msg.msg_iovlen++] = (struct iovec){ f->packed->bytes + f->sent, f->packed->size - f->sent };
		n = sendmsg(s->sock, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN)
				s->stats.send_retries++;
			if (errno == EAGAIN || errno == EINTR)
				break;
			if (peer_closed(errno)) {
				client_gone(s);
				return;
			}
			session_close_later(s, CV_LOG_DEBUG, errno == EPIPE ? "peer closed" : "send failed");
			return;
		}
		s->out_bytes -= (size_t)n;
		while (n > 0) {
			struct out_frame *f = s->out_head;
			size_t left = f->packed->size - f->sent;

			if ((size_t)n < left) {
				f->sent += (size_t)n;
				break;
			}
			n -= (ssize_t)left;
			s->out_head = f->next;
			s->out_frames--;
			s->stats.sent++;
			out_frame_free(f);
		}
		if (!s->out_head)
			s->out_tail = NULL;
		wrote = true;
	}
	session_update_events(s);
	if (wrote && s->connected && s->service->ops && s->service->ops->room)
		s->service->ops->room(s);
}

/* Takes a reference to `packed`. */
static cs_error_t session_queue(struct cv_session *s, struct cv_packed_frame *packed)
{
	struct out_frame *f = malloc(sizeof(*f));

	if (!f)
		return CS_ERR_NO_MEMORY;
	packed->refs++;
	*f = (struct out_frame){ .packed = packed };
	if (s->out_tail)
		s->out_tail->next = f;
	else
		s->out_head = f;
	s->out_tail = f;
	s->out_bytes += packed->size;
	s->out_frames++;
	if (!s->flush_pending) {
		s->flush_pending = true;
		s->next_flush = flush_head;
		flush_head = s;
	}
	return CS_OK;
}

/* What a client has written to its ring is accepted, but waits there while
 * its own queue is full; a ring no larger than the queue keeps that within
 * what the socket's buffers would have held. */
static uint32_t ring_size_limit(void)
{
	const struct cv_limits *limits = &settings->limits;

	return limits->max_ring_size < limits->max_queued_bytes ? limits->max_ring_size : limits->max_queued_bytes;
}

static void send_welcome(struct cv_session *s, cs_error_t status)
{
	size_t size = status == CS_OK ? sizeof(struct cv_welcome) : 0;
	struct cv_packed_frame *f = packed_frame_new(size);
	cs_error_t err = CS_ERR_NO_MEMORY;

	if (f) {
		packed_frame_set_header(f, CV_FRAME_WELCOME, 0, 0, status);
		if (size) {
			struct cv_welcome w = { .magic = CV_WIRE_MAGIC,
						.max_message_size = settings->limits.max_message_size,
						.max_ring_size = ring_size_limit() };

			memcpy(f->bytes + sizeof(struct cv_frame_header), &w, sizeof(w));
		}
		err = session_queue(s, f);
		cv_packed_frame_release(f);
	}
	if (err != CS_OK)
		session_close_later(s, CV_LOG_ERROR, "out of memory for WELCOME");
}

static bool queue_limit_reached(const struct cv_session *s)
{
	return s->out_bytes >= settings->limits.max_queued_bytes;
}

/* Reading pauses while the queue is at its limit: a client that sends
 * requests without reading replies cannot grow the queue further. */
static void session_update_events(struct cv_session *s)
{
	uint32_t events = 0;

	if (s->state == SESSION_CLOSING || s->peer_gone)
		return;
	if (!reading_paused(s))
		events |= EPOLLIN;
	else if (!s->flow_controlled)
		s->stats.flow_control_count++;
	s->flow_controlled = queue_limit_reached(s);
	if (s->out_head)
		events |= EPOLLOUT;
	if (cv_watch_set_events(&s->watch, events) < 0)
		session_close_later(s, CV_LOG_ERROR, "epoll_ctl failed");
}

static cs_error_t queue_message(struct cv_session *s, uint16_t kind, uint16_t id, uint32_t seq, int32_t status,
				const ProtobufCMessage *msg)
{
	struct cv_packed_frame *f = message_pack(kind, id, seq, status, msg);
	cs_error_t err;

	if (!f)
		return CS_ERR_NO_MEMORY;
	err = session_queue(s, f);
	cv_packed_frame_release(f);
	return err;
}

static bool room_for_frame(const struct cv_session *s, size_t frame_size)
{
	return s->state == SESSION_READY && s->out_bytes + frame_size <= settings->limits.max_queued_bytes;
}

/* Services measure an event with protobuf_c_message_get_packed_size: sent
 * split, it is never longer (cv_split_plan), so room found holds it. */
bool cv_session_has_room(const struct cv_session *s, size_t bytes)
{
	return room_for_frame(s, sizeof(struct cv_frame_header) + bytes);
}

cs_error_t cv_session_send_packed(struct cv_session *s, struct cv_packed_frame *event)
{
	uint16_t event_id = packed_frame_id(event);

	if (s->state != SESSION_READY)
		return CS_ERR_LIBRARY;
	if (event_id >= s->service->n_events) {
		cv_log_error("service %s sent unknown event id %u", s->service->name, event_id);
		return CS_ERR_INVALID_PARAM;
	}
	if (!room_for_frame(s, event->size))
		return CS_ERR_TRY_AGAIN;
	cv_log_debug("event %s to connection %llu", s->service->event_names ? s->service->event_names[event_id] : "?",
		     (unsigned long long)s->id);
	if (session_queue(s, event) != CS_OK)
		return CS_ERR_NO_MEMORY;
	s->stats.events++;
	stats_of_service(s->service)->events++;
	return CS_OK;
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

/* ---- replies ----------------------------------------------------------- */

void *cv_reply_alloc(struct cv_session *s, size_t size)
{
	struct reply_block *b;
	/* A reply bigger than this could not be sent anyway. */
	size_t budget = 4u * (size_t)settings->limits.max_message_size;

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

/* protobuf-c allocates while decoding with no limit of its own: count. */
struct bounded_allocator {
	ProtobufCAllocator base;
	size_t used;
	size_t budget;
};

static void *bounded_alloc(void *data, size_t size)
{
	struct bounded_allocator *a = data;

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
	if ((desc->flags & CV_REQUEST_QUORATE_ONLY) && !server_quorate)
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
	protocol_violation(s, "request %s breaks the declared bounds of its fields (%d)", desc->name, status);
	return false;
}

static void count_request(struct cv_session *s, cs_error_t status)
{
	struct cv_service_stats *service = stats_of_service(s->service);

	s->stats.requests++;
	service->requests++;
	if (status == CS_OK)
		return;
	s->stats.errors++;
	service->errors++;
	if (status == CS_ERR_TRY_AGAIN)
		s->stats.overload++;
}

static void handle_request(struct cv_session *s)
{
	const struct cv_request_desc *desc = &s->service->requests[s->header.id];
	struct bounded_allocator alloc = {
		.base = { bounded_alloc, bounded_free, &alloc },
		.budget = 8u * (size_t)s->header.length + 4096u,
	};
	const ProtobufCFieldDescriptor *split_field;
	ProtobufCMessage *request, *reply = NULL;
	const char *why;
	cs_error_t status;

	request = cv_payload_unpack(desc->request, &alloc.base, s->header.kind == CV_FRAME_REQUEST_SPLIT, s->payload,
				    s->header.length, &split_field, &why);
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
	cv_log_debug("request %s from connection %llu", desc->name, (unsigned long long)s->id);
	status = run_handler(s, desc, request, reply);
	cv_payload_free(request, split_field, &alloc.base);
	if (s->reply_deferred) {
		s->reply_deferred = false;
		s->stats.requests++;
		stats_of_service(s->service)->requests++;
		free(reply);
		free_reply_memory(s);
		return;
	}
	count_request(s, status);
	if ((desc->flags & CV_REQUEST_NOWAIT) && status == CS_ERR_TRY_AGAIN && s->state == SESSION_READY)
		s->held = true;
	if (!(desc->flags & CV_REQUEST_ONEWAY) && desc->reply && s->state == SESSION_READY) {
		if (queue_message(s, CV_FRAME_REPLY, s->header.id, s->header.seq, status, reply) != CS_OK)
			session_close_later(s, CV_LOG_ERROR, "out of memory for a reply");
		else
			s->stats.responses++;
	}
	free(reply);
	free_reply_memory(s);
}

/* ---- handshake --------------------------------------------------------- */

static const struct cv_server_service *find_service(const char *name)
{
	for (size_t i = 0; i < n_services; i++)
		if (strcmp(services[i]->name, name) == 0)
			return services[i];
	return NULL;
}

/* CS_OK, or the WELCOME status refusing the client, with *why set. */
static cs_error_t check_hello(struct cv_session *s, const struct cv_hello *hello, const char **why)
{
	char name[CV_SERVICE_NAME_MAX + 1] = { 0 };
	const struct cv_server_service *svc;

	memcpy(name, hello->service, CV_SERVICE_NAME_MAX);
	if (s->refusal != CS_OK) {
		*why = "refused at HELLO";
		return s->refusal;
	}
	if (hello->magic != CV_WIRE_MAGIC) {
		*why = "HELLO with a wrong magic number";
		return CS_ERR_NOT_SUPPORTED;
	}
	svc = find_service(name);
	if (!svc) {
		*why = "HELLO for an unknown service";
		return CS_ERR_NOT_SUPPORTED;
	}
	s->service = svc;
	if (hello->idl_major != svc->version_major || hello->idl_minor > svc->version_minor) {
		*why = "HELLO with an incompatible IDL version";
		return CS_ERR_NOT_SUPPORTED;
	}
	if (svc->ops && svc->ops->connect && svc->ops->connect(s) < 0) {
		*why = "the service refused the connection";
		return CS_ERR_NO_RESOURCES;
	}
	return CS_OK;
}

static void handle_hello(struct cv_session *s)
{
	struct cv_hello hello;
	const char *why = NULL;
	cs_error_t status;

	memcpy(&hello, s->payload, sizeof(hello));
	cv_timer_stop(&s->hello_timer);
	status = check_hello(s, &hello, &why);
	if (status != CS_OK) {
		send_welcome(s, status);
		session_close_later(s, s->refusal != CS_OK ? CV_LOG_DEBUG : CV_LOG_INFO, why);
		return;
	}
	s->connected = true;
	s->state = SESSION_READY;
	stats_of_service(s->service)->connections++;
	stats_of_service(s->service)->connects++;
	cv_log_debug("connection %llu (pid %d) uses service %s %u.%u", (unsigned long long)s->id,
		     (int)s->cred.pid, s->service->name, hello.idl_major, hello.idl_minor);
	send_welcome(s, CS_OK);
	if (s->service->ops && s->service->ops->opened)
		s->service->ops->opened(s);
	if (observer && observer->opened)
		observer->opened(s);
}

/* ---- shared rings ------------------------------------------------------ */

static cs_error_t ring_accept(struct cv_session *s, int memfd, const struct cv_ring_open *open)
{
	const char *why;
	cs_error_t err;

	if (open->capacity > ring_size_limit())
		return ring_size_limit() == 0 ? CS_ERR_NOT_SUPPORTED : CS_ERR_NO_RESOURCES;
	err = cv_ring_reader_open(&s->ring, memfd, open->capacity, &why);
	if (err == CS_ERR_INVALID_PARAM)
		protocol_violation(s, "%s", why);
	else if (err != CS_OK)
		cv_log_warning("connection %llu keeps the socket: %s: %m", (unsigned long long)s->id, why);
	return err;
}

static void handle_ring_open(struct cv_session *s)
{
	struct cv_ring_open open;
	int memfd = s->passed_fd;
	cs_error_t status = CS_OK;

	memcpy(&open, s->payload, sizeof(open));
	s->passed_fd = -1;
	if (memfd < 0)
		protocol_violation(s, "RING_OPEN without a memfd");
	else if (open.magic != CV_WIRE_MAGIC)
		protocol_violation(s, "RING_OPEN with a wrong magic number");
	else
		status = ring_accept(s, memfd, &open);
	if (memfd >= 0)
		close(memfd);
	if (s->state != SESSION_READY)
		return;
	if (queue_message(s, CV_FRAME_REPLY, 0, s->header.seq, status, NULL) != CS_OK) {
		session_close_later(s, CV_LOG_ERROR, "out of memory for a reply");
		return;
	}
	if (status != CS_OK)
		return;
	s->rx_start = s->rx_end; /* wake-up bytes at most: frames come through the ring now */
	cv_list_insert(&polled_sessions, &s->polled_link);
	cv_log_debug("connection %llu writes through a shared ring of %u bytes", (unsigned long long)s->id,
		     open.capacity);
}

static bool polled_pending(void)
{
	struct cv_session *s;

	cv_list_for_each(s, &polled_sessions, polled_link)
		if (readable_unannounced(s))
			return true;
	return false;
}

static bool polled_run(void)
{
	struct cv_session *s;
	bool worked = false;

	cv_list_for_each(s, &polled_sessions, polled_link) {
		if (readable_unannounced(s)) {
			session_read(s);
			worked = true;
		}
	}
	return worked;
}

/* A session whose reading is paused is resumed by what unpauses it, and
 * needs no wake-up from its client. */
static bool polled_sleep(void)
{
	struct cv_session *s;

	cv_list_for_each(s, &polled_sessions, polled_link) {
		if (s->state == SESSION_CLOSING || reading_paused(s))
			continue;
		if (readable_unannounced(s) || (s->ring.shared && !cv_ring_reader_sleep(&s->ring)))
			return false;
	}
	return true;
}

const struct cv_loop_poller cv_sessions_poller = {
	.pending = polled_pending,
	.run = polled_run,
	.sleep = polled_sleep,
};

/* ---- input ------------------------------------------------------------- */

/* The checks that need only the header, in the documented order, before
 * any payload memory is allocated. */
static bool header_is_acceptable(struct cv_session *s)
{
	const struct cv_frame_header *h = &s->header;

	if (h->length > settings->limits.max_message_size) {
		protocol_violation(s, "frame of %u bytes exceeds max_message_size %u", h->length,
				   settings->limits.max_message_size);
		return false;
	}
	if (s->state == SESSION_AWAIT_HELLO) {
		if (h->kind != CV_FRAME_HELLO) {
			protocol_violation(s, "frame kind %u before HELLO", h->kind);
			return false;
		}
		if (h->length != sizeof(struct cv_hello)) {
			protocol_violation(s, "HELLO of %u bytes, expected %zu", h->length, sizeof(struct cv_hello));
			return false;
		}
		return true;
	}
	if (h->kind == CV_FRAME_RING_OPEN) {
		if (h->length == sizeof(struct cv_ring_open))
			return true;
		protocol_violation(s, "RING_OPEN of %u bytes, expected %zu", h->length, sizeof(struct cv_ring_open));
		return false;
	}
	if (h->kind != CV_FRAME_REQUEST && h->kind != CV_FRAME_REQUEST_SPLIT) {
		protocol_violation(s, "unexpected frame kind %u", h->kind);
		return false;
	}
	if (h->id >= s->service->n_requests) {
		protocol_violation(s, "unknown request id %u", h->id);
		return false;
	}
	return true;
}

static void receive_failed(struct cv_session *s, ssize_t n)
{
	if (n < 0 && errno != ECONNRESET) {
		session_close_later(s, CV_LOG_WARNING, "receive failed");
		return;
	}
	if (s->header_have > 0 && s->header_have < sizeof(s->header))
		session_close_later(s, CV_LOG_WARNING, "connection closed inside a frame header");
	else if (s->header_have > 0)
		session_close_later(s, CV_LOG_WARNING, "connection closed inside a frame payload");
	else
		session_close_later(s, CV_LOG_DEBUG, "peer closed");
}

static size_t rx_buffered(const struct cv_session *s)
{
	return s->rx_end - s->rx_start;
}

static size_t rx_take(struct cv_session *s, void *to, size_t want)
{
	size_t n = rx_buffered(s) < want ? rx_buffered(s) : want;

	memcpy(to, s->rx + s->rx_start, n);
	s->rx_start += n;
	return n;
}

static void keep_passed_fds(struct cv_session *s, struct msghdr *msg)
{
	bool surplus = (msg->msg_flags & MSG_CTRUNC) != 0;
	int fd;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			if (s->passed_fd < 0 && !s->ring.shared) {
				s->passed_fd = fd;
			} else {
				close(fd);
				surplus = true;
			}
		}
	}
	if (surplus)
		protocol_violation(s, "descriptors beyond the one RING_OPEN takes");
}

/* recv, keeping a descriptor the client attached for its RING_OPEN. */
static ssize_t socket_recv(struct cv_session *s, void *buf, size_t len)
{
	union {
		struct cmsghdr align;
		char space[CMSG_SPACE(PASSED_FDS_MAX * sizeof(int))];
	} control;
	struct iovec iov = { buf, len };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.space,
		.msg_controllen = sizeof(control.space),
	};
	ssize_t n = recvmsg(s->sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

	if (n >= 0 && (msg.msg_controllen > 0 || (msg.msg_flags & MSG_CTRUNC)))
		keep_passed_fds(s, &msg);
	return n;
}

static void queue_ring_room(struct cv_session *s)
{
	static struct cv_packed_frame *room; /* shared by every session, for the daemon's life */

	if (!room && (room = packed_frame_new(0)) != NULL)
		packed_frame_set_header(room, CV_FRAME_RING_ROOM, 0, 0, 0);
	if (!room || session_queue(s, room) != CS_OK)
		session_close_later(s, CV_LOG_ERROR, "out of memory for RING_ROOM");
}

/* The client's bytes, as recv gives them: from its ring once it has one,
 * else from the socket. */
static ssize_t session_input(struct cv_session *s, void *buf, size_t len)
{
	bool room_wanted;
	ssize_t n;

	if (!s->ring.shared)
		return socket_recv(s, buf, len);
	n = cv_ring_reader_read(&s->ring, buf, len, &room_wanted);
	if (n < 0) {
		protocol_violation(s, "ring head %u bytes ahead of its tail, beyond its capacity %u",
				   s->ring.shared->head - s->ring.tail, s->ring.capacity);
		errno = EPROTO;
		return -1;
	}
	if (room_wanted)
		queue_ring_room(s);
	if (n == 0 && !s->peer_gone) {
		errno = EAGAIN;
		return -1;
	}
	return n;
}

/* With a ring, the socket brings only wake-up bytes, and the client's end.
 * One read per event: a client that keeps writing them cannot hold the loop
 * here, and epoll reports what is left. */
static void ring_wakeups_drain(struct cv_session *s)
{
	uint8_t bytes[256];
	ssize_t n = socket_recv(s, bytes, sizeof(bytes));

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		client_gone(s);
}

/* Reads what the client has into the empty chunk buffer. */
static ssize_t rx_fill(struct cv_session *s)
{
	ssize_t n;

	if (s->rx == NULL && (s->rx = malloc(RX_CHUNK)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	s->rx_start = s->rx_end = 0;
	n = session_input(s, s->rx, RX_CHUNK);
	if (n > 0)
		s->rx_end = (size_t)n;
	return n;
}

/* The rest of the payload: from the chunk buffer, else the socket. */
static ssize_t receive_payload(struct cv_session *s)
{
	size_t left = s->header.length - s->payload_have;
	ssize_t n;

	if (rx_buffered(s) > 0)
		return (ssize_t)rx_take(s, s->payload + s->payload_have, left);
	if (left < RX_CHUNK) {
		n = rx_fill(s);
		return n > 0 ? (ssize_t)rx_take(s, s->payload + s->payload_have, left) : n;
	}
	return session_input(s, s->payload + s->payload_have, left);
}

/* 1: a whole frame is in; 0: nothing more to read now; -1: closing. */
static int receive_frame(struct cv_session *s)
{
	ssize_t n;

	while (s->header_have < sizeof(s->header)) {
		if (rx_buffered(s) == 0 && (n = rx_fill(s)) <= 0)
			goto failed;
		s->header_have += rx_take(s, (char *)&s->header + s->header_have, sizeof(s->header) - s->header_have);
		if (s->header_have < sizeof(s->header))
			continue;
		if (!header_is_acceptable(s))
			return -1;
		if (s->header.length > 0 && !(s->payload = malloc(s->header.length))) {
			session_close_later(s, CV_LOG_ERROR, "out of memory for a frame");
			return -1;
		}
	}
	while (s->payload_have < s->header.length) {
		n = receive_payload(s);
		if (n <= 0)
			goto failed;
		s->payload_have += (size_t)n;
	}
	return 1;
failed:
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		if (s->header_have > 0)
			s->stats.recv_retries++;
		return 0;
	}
	receive_failed(s, n);
	return -1;
}

static void handle_frame(struct cv_session *s)
{
	if (s->state == SESSION_AWAIT_HELLO)
		handle_hello(s);
	else if (s->header.kind == CV_FRAME_RING_OPEN)
		handle_ring_open(s);
	else
		handle_request(s);
	if (s->held)
		return;
	free(s->payload);
	s->payload = NULL;
	s->payload_have = 0;
	s->header_have = 0;
}

/* Frames already in the chunk buffer are handled even past the per-wakeup
 * limit: the socket may hold nothing more to wake us for them. */
static void read_frames(struct cv_session *s)
{
	for (int frames = 0; frames < FRAMES_PER_WAKEUP || rx_buffered(s) > 0; frames++) {
		if (s->state == SESSION_CLOSING || reading_paused(s))
			return;
		if (receive_frame(s) <= 0)
			return;
		handle_frame(s);
	}
}

/* The chunk buffer is returned once drained: the pages a read touched would
 * otherwise stay resident for the life of every idle connection. */
static void session_read(struct cv_session *s)
{
	read_frames(s);
	if (s->rx != NULL && rx_buffered(s) == 0) {
		free(s->rx);
		s->rx = NULL;
	}
}

bool cv_session_is_held(const struct cv_session *s)
{
	return s->held;
}

void cv_session_retry_held(struct cv_session *s)
{
	if (!s->held || s->state != SESSION_READY)
		return;
	s->held = false;
	handle_frame(s);
	session_update_events(s);
	session_resume_buffered(s);
}

static void session_on_event(void *data, uint32_t events)
{
	struct cv_session *s = data;

	if (s->state == SESSION_CLOSING)
		return;
	if (events & EPOLLOUT) {
		session_flush(s);
		session_resume_buffered(s);
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		if (s->ring.shared)
			ring_wakeups_drain(s);
		session_read(s);
	}
	/* A Unix socket reports an error when its client left with our output
	 * unread: what the client sent before is still to be read. */
	if ((events & EPOLLERR) && s->state != SESSION_CLOSING && !s->peer_gone)
		client_gone(s);
}

static void hello_timed_out(void *data)
{
	struct cv_session *s = data;

	session_close_later(s, CV_LOG_WARNING, "no HELLO in time");
}

/* ---- life cycle -------------------------------------------------------- */

void cv_session_create(int fd, const struct ucred *cred, cs_error_t refusal)
{
	struct cv_session *s = calloc(1, sizeof(*s));

	if (!s) {
		cv_log_error("out of memory for a connection from pid %d", (int)cred->pid);
		close(fd);
		return;
	}
	s->id = ++last_session_id;
	s->sock = fd;
	s->passed_fd = -1;
	cv_list_init(&s->polled_link);
	s->cred = *cred;
	s->refusal = refusal;
	s->state = SESSION_AWAIT_HELLO;
	if (cv_watch_add(&s->watch, fd, EPOLLIN, session_on_event, s) < 0) {
		cv_log_error("epoll_ctl for a connection from pid %d: %m", (int)cred->pid);
		close(fd);
		free(s);
		return;
	}
	if (refusal == CS_OK) {
		struct uid_count *slot = uid_slot(cred->uid, true);

		if (slot)
			slot->count++;
		n_admitted++;
	} else {
		n_refusing++;
	}
	cv_list_insert(&sessions, &s->link);
	cv_timer_init(&s->hello_timer, hello_timed_out, s);
	cv_timer_start(&s->hello_timer, settings->limits.hello_timeout_ms);
}

void cv_sessions_init(const struct cv_settings *config, const struct cv_server_service *const *offered,
		      size_t n_offered)
{
	settings = config;
	services = offered;
	n_services = n_offered;
	free(service_stats);
	service_stats = calloc(n_offered ? n_offered : 1, sizeof(*service_stats));
	if (!service_stats)
		abort(); /* at start-up, before any client */
}

/* ---- the service-facing API ------------------------------------------- */

void cv_session_defer_reply(struct cv_session *s, struct cv_pending_reply *pending)
{
	s->reply_deferred = true;
	*pending = (struct cv_pending_reply){ .request_id = s->header.id, .seq = s->header.seq };
}

void cv_session_reply(struct cv_session *s, const struct cv_pending_reply *pending, cs_error_t status,
		      const ProtobufCMessage *reply)
{
	struct cv_service_stats *service = stats_of_service(s->service);

	if (s->state != SESSION_READY)
		return;
	if (queue_message(s, CV_FRAME_REPLY, pending->request_id, pending->seq, status, reply) != CS_OK) {
		session_close_later(s, CV_LOG_ERROR, "out of memory for a reply");
		return;
	}
	s->stats.responses++;
	if (status != CS_OK) {
		s->stats.errors++;
		service->errors++;
	}
}

void cv_server_shutdown(const char *why)
{
	cv_log_notice("shutting down: %s", why);
	cv_loop_quit();
}

void cv_session_close(struct cv_session *s, const char *why)
{
	session_close_later(s, CV_LOG_WARNING, why);
}

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

const struct cv_settings *cv_server_settings(void)
{
	return settings;
}

void cv_server_set_quorate(bool quorate)
{
	server_quorate = quorate;
}

bool cv_session_is_open(const struct cv_session *s)
{
	return s->state == SESSION_READY;
}

/* ---- statistics -------------------------------------------------------- */

const struct cv_session_stats *cv_session_stats(const struct cv_session *s)
{
	return &s->stats;
}

void cv_session_queue_state(const struct cv_session *s, struct cv_session_queue *out)
{
	out->frames = s->out_frames;
	out->bytes = s->out_bytes;
	out->flow_controlled = s->flow_controlled;
}

const char *cv_session_service_name(const struct cv_session *s)
{
	return s->service ? s->service->name : "";
}

const struct cv_service_stats *cv_server_service_stats(const char *service)
{
	for (size_t i = 0; i < n_services; i++)
		if (strcmp(services[i]->name, service) == 0)
			return &service_stats[i];
	return NULL;
}

uint64_t cv_server_active_connections(void)
{
	return n_admitted;
}

uint64_t cv_server_closed_connections(void)
{
	return n_closed;
}

void cv_server_clear_stats(void)
{
	struct cv_session *s;

	cv_list_for_each(s, &sessions, link)
		memset(&s->stats, 0, sizeof(s->stats));
	for (size_t i = 0; i < n_services; i++) {
		uint64_t connections = service_stats[i].connections;

		memset(&service_stats[i], 0, sizeof(service_stats[i]));
		service_stats[i].connections = connections;
	}
}

void cv_server_observe_sessions(const struct cv_session_observer *o)
{
	observer = o;
}
