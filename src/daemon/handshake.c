/* The frames that set a connection up rather than call a service: HELLO,
 * answered with WELCOME, which carries the client's end of its reply
 * channel, and RING_OPEN, the offer of a shared ring. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cv-server-private.h"

/* What a client has written to its ring is accepted, but waits there while
 * its own queue is full; a ring no larger than the queue keeps that within
 * what the socket's buffers would have held. */
uint32_t handshake_ring_size_limit(const struct cv_settings *settings)
{
	const struct cv_limits *limits = &settings->limits;

	return limits->max_ring_size < limits->max_queued_bytes ? limits->max_ring_size
								: limits->max_queued_bytes;
}

static void send_welcome(struct cv_session *s, cs_error_t status)
{
	size_t size = status == CS_OK ? sizeof(struct cv_welcome) : 0;
	struct cv_packed_frame *f = packed_frame_new(size);
	const struct cv_settings *settings = s->server->settings;
	cs_error_t err = CS_ERR_NO_MEMORY;

	if (f) {
		packed_frame_set_header(f, CV_FRAME_WELCOME, 0, 0, status);
		if (size) {
			struct cv_welcome w = { .magic = CV_WIRE_MAGIC,
						.max_message_size = settings->limits.max_message_size,
						.max_ring_size = handshake_ring_size_limit(settings) };

			memcpy(f->bytes + sizeof(struct cv_frame_header), &w, sizeof(w));
		}
		err = output_queue(s, &s->events, f);
		cv_packed_frame_release(f);
	}
	if (err != CS_OK)
		session_close_later(s, CV_LOG_ERROR, "out of memory for WELCOME");
}

/* ---- HELLO -------------------------------------------------------------- */

/* The reply channel (cv-wire.h): our end, watched for room while replies
 * wait, and the client's, which the WELCOME carries. */
static bool reply_channel_open(struct cv_session *s)
{
	int ends[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) < 0) {
		cv_log_warning("no reply channel for connection %llu: %m", (unsigned long long)s->id);
		return false;
	}
	if (cv_watch_add(&s->reply_watch, ends[0], 0, output_on_reply_event, s) < 0) {
		cv_log_warning("epoll_ctl for the reply channel of connection %llu: %m",
			       (unsigned long long)s->id);
		s->reply_watch.fd = -1;
		close(ends[0]);
		close(ends[1]);
		return false;
	}
	s->reply_sock = ends[0];
	s->reply_gift = ends[1];
	return true;
}

/* The log names the service a client asked for, in printable characters:
 * the name comes from the client. */
static const char *unknown_service(const char *name, char *buf, size_t size)
{
	char printable[CV_SERVICE_NAME_MAX + 1];
	size_t i;

	for (i = 0; name[i]; i++)
		printable[i] = isprint((unsigned char)name[i]) ? name[i] : '?';
	printable[i] = '\0';
	snprintf(buf, size, "HELLO for service '%s', which is not offered", printable);
	return buf;
}

#define CV_WHY_MAX (CV_SERVICE_NAME_MAX + 64)

/* CS_OK, or the WELCOME status refusing the client, with *why set (in
 * why_buf, of CV_WHY_MAX bytes, or a constant). */
static cs_error_t check_hello(struct cv_session *s, const struct cv_hello *hello, const char **why,
			      char *why_buf)
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
	svc = server_find_service(s->server, name);
	if (!svc) {
		*why = unknown_service(name, why_buf, CV_WHY_MAX);
		return CS_ERR_NOT_SUPPORTED;
	}
	s->service = svc;
	if (hello->idl_major != svc->version_major || hello->idl_minor > svc->version_minor) {
		*why = "HELLO with an incompatible IDL version";
		return CS_ERR_NOT_SUPPORTED;
	}
	if (svc == &cv_monitor_service && s->cred.uid != 0) {
		*why = "HELLO for the monitor, which is root's only";
		return CS_ERR_ACCESS;
	}
	if (!reply_channel_open(s)) {
		*why = "no descriptors left for a reply channel";
		return CS_ERR_NO_RESOURCES;
	}
	if (svc->ops && svc->ops->connect && svc->ops->connect(s) < 0) {
		*why = "the service refused the connection";
		return CS_ERR_NO_RESOURCES;
	}
	return CS_OK;
}

void handshake_hello(struct cv_session *s)
{
	const struct cv_session_observer *observer = s->server->observer;
	struct cv_service_stats *stats;
	struct cv_hello hello = { 0 };
	const char *why = NULL;
	char why_buf[CV_WHY_MAX];
	cs_error_t status;

	memcpy(&hello, s->payload, s->header.length);
	s->reads_event_ring = (hello.reads & CV_READS_EVENT_RING) != 0;
	cv_timer_stop(&s->hello_timer);
	status = check_hello(s, &hello, &why, why_buf);
	if (status != CS_OK) {
		/* A refusal carries no reply channel: the client takes one with
		 * a refusal for a broken daemon (CS_ERR_LIBRARY). */
		if (s->reply_gift >= 0)
			close(s->reply_gift);
		s->reply_gift = -1;
		send_welcome(s, status);
		session_close_later(s, s->refusal != CS_OK ? CV_LOG_DEBUG : CV_LOG_INFO, why);
		return;
	}
	s->connected = true;
	s->state = SESSION_READY;
	stats = server_stats_of(s->server, s->service);
	stats->connections++;
	stats->connects++;
	cv_log_debug("connection %llu (pid %d) uses service %s %u.%u", (unsigned long long)s->id,
		     (int)s->cred.pid, s->service->name, hello.idl_major, hello.idl_minor);
	send_welcome(s, CS_OK);
	if (s->service->ops && s->service->ops->opened)
		s->service->ops->opened(s);
	if (observer && observer->opened)
		observer->opened(s);
}

/* ---- RING_OPEN ---------------------------------------------------------- */

static cs_error_t ring_accept(struct cv_session *s, int memfd, const struct cv_ring_open *open)
{
	uint32_t limit = handshake_ring_size_limit(s->server->settings);
	const char *why;
	cs_error_t err;

	if (open->capacity > limit)
		return limit == 0 ? CS_ERR_NOT_SUPPORTED : CS_ERR_NO_RESOURCES;
	if (open->reply_capacity != 0 && open->reply_capacity != open->capacity) {
		session_protocol_violation(s, "RING_OPEN with a reply ring of %u bytes beside one of %u",
					   open->reply_capacity, open->capacity);
		return CS_ERR_INVALID_PARAM;
	}
	err = cv_ring_reader_open(&s->ring, memfd, open->capacity, open->reply_capacity != 0, &why);
	if (err == CS_ERR_INVALID_PARAM)
		session_protocol_violation(s, "%s", why);
	else if (err != CS_OK)
		cv_log_warning("connection %llu keeps the socket: %s: %m", (unsigned long long)s->id, why);
	return err;
}

void handshake_ring_open(struct cv_session *s)
{
	struct cv_ring_open open = { 0 };
	int memfd = s->passed_fd;
	cs_error_t status = CS_OK;

	memcpy(&open, s->payload, s->header.length);
	s->passed_fd = -1;
	if (memfd < 0)
		session_protocol_violation(s, "RING_OPEN without a memfd");
	else if (open.magic != CV_WIRE_MAGIC)
		session_protocol_violation(s, "RING_OPEN with a wrong magic number");
	else
		status = ring_accept(s, memfd, &open);
	if (memfd >= 0)
		close(memfd);
	if (s->state != SESSION_READY)
		return;
	if (output_queue_reply(s, CV_FRAME_REPLY, 0, s->header.seq, status, NULL) != CS_OK) {
		session_close_later(s, CV_LOG_ERROR, "out of memory for a reply");
		return;
	}
	if (status != CS_OK)
		return;
	s->rx_start = s->rx_end; /* wake-up bytes at most: frames come through the ring now */
	/* Replies already queued, and this one, end the socket's stream. */
	s->reply_socket_frames = s->replies.frames;
	cv_list_insert(&s->server->polled_sessions, &s->polled_link);
	cv_log_debug("connection %llu writes through a shared ring of %u bytes%s", (unsigned long long)s->id,
		     open.capacity, s->ring.reply_data ? " and reads its replies from another" : "");
}
