/* Reading from a client: its bytes come from the socket, in chunks, or
 * from its shared ring once it has one; each frame's header is checked
 * before any memory is allocated for its payload, then the frame goes to
 * the handshake or to its request's handler. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cv-fds.h"
#include "cv-server-private.h"

#define FRAMES_PER_WAKEUP 16
#define FRAMES_PER_RING_TURN 256
/* Input is read in chunks of up to this much, so that a stream of small
 * frames costs a read per chunk, not two per frame; larger payloads are
 * read straight into their own buffer. */
#define RX_CHUNK 65536

static void session_read(struct cv_session *s);

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

bool input_paused(const struct cv_session *s)
{
	return s->held || output_replies_full(s);
}

/* Input that no event on the socket announces: frames left in the chunk
 * buffer, bytes in the ring, or the rest of what a departed client sent. */
static bool readable_unannounced(const struct cv_session *s)
{
	return s->state != SESSION_CLOSING && !input_paused(s) &&
	       (s->peer_gone || rx_buffered(s) > 0 || (s->ring.shared && cv_ring_reader_has_input(&s->ring)));
}

void input_resume(struct cv_session *s)
{
	if (readable_unannounced(s))
		session_read(s);
}

void input_free(struct cv_session *s)
{
	if (s->passed_fd >= 0)
		close(s->passed_fd);
	s->passed_fd = -1;
	cv_ring_reader_close(&s->ring);
	cv_list_remove(&s->polled_link);
	free(s->payload);
	s->payload = NULL;
	free(s->rx);
	s->rx = NULL;
}

/* ---- header checks ------------------------------------------------------ */

/* The checks that need only the header, in the documented order, before
 * any payload memory is allocated. */
static bool header_is_acceptable(struct cv_session *s)
{
	const struct cv_frame_header *h = &s->header;
	uint32_t max_message_size = s->server->settings->limits.max_message_size;

	if (h->length > max_message_size) {
		session_protocol_violation(s, "frame of %u bytes exceeds max_message_size %u", h->length,
					   max_message_size);
		return false;
	}
	if (s->state == SESSION_AWAIT_HELLO) {
		if (h->kind != CV_FRAME_HELLO) {
			session_protocol_violation(s, "frame kind %u before HELLO", h->kind);
			return false;
		}
		if (h->length != sizeof(struct cv_hello) && h->length != CV_HELLO_MIN_SIZE) {
			session_protocol_violation(s, "HELLO of %u bytes, expected %u or %zu", h->length,
						   CV_HELLO_MIN_SIZE, sizeof(struct cv_hello));
			return false;
		}
		return true;
	}
	if (h->kind == CV_FRAME_RING_OPEN) {
		if (h->length == CV_RING_OPEN_MIN_SIZE || h->length == sizeof(struct cv_ring_open))
			return true;
		session_protocol_violation(s, "RING_OPEN of %u bytes, expected %u or %zu", h->length,
					   CV_RING_OPEN_MIN_SIZE, sizeof(struct cv_ring_open));
		return false;
	}
	if (h->kind == CV_FRAME_SETTLE) {
		if (h->length == 0)
			return true;
		session_protocol_violation(s, "SETTLE of %u bytes, expected 0", h->length);
		return false;
	}
	if (h->kind != CV_FRAME_REQUEST && h->kind != CV_FRAME_REQUEST_SPLIT) {
		session_protocol_violation(s, "unexpected frame kind %u", h->kind);
		return false;
	}
	/* The generated tables leave the ids between a service's requests empty. */
	if (h->id >= s->service->n_requests || !s->service->requests[h->id].handle) {
		session_protocol_violation(s, "unknown request id %u", h->id);
		return false;
	}
	return true;
}

/* ---- the socket and the ring -------------------------------------------- */

/* recv, keeping a descriptor the client attached for its RING_OPEN (none
 * once it has a ring). More descriptors than that close the session, and
 * none of the bytes that came with them is read as a frame. */
static ssize_t socket_recv(struct cv_session *s, void *buf, size_t len)
{
	union cv_fds_control control;
	struct iovec iov = { buf, len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	int kept = s->ring.shared ? INT_MAX : s->passed_fd;
	unsigned int wanted = kept == -1;
	ssize_t n;

	cv_fds_expect(&msg, &control);
	n = recvmsg(s->sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return n;
	if (cv_fds_take(&msg, &kept) > wanted) {
		if (kept != s->passed_fd && kept != INT_MAX)
			close(kept);
		session_protocol_violation(s, "descriptors beyond the one RING_OPEN takes");
		errno = EPROTO;
		return -1;
	}
	if (!s->ring.shared)
		s->passed_fd = kept;
	return n;
}

/* RING_ROOM or SETTLED, whose one packed copy `shared` keeps. */
static void queue_ring_wakeup(struct cv_session *s, struct cv_packed_frame **shared, uint16_t kind)
{
	if (!*shared && (*shared = packed_frame_new(0)) != NULL)
		packed_frame_set_header(*shared, kind, 0, 0, 0);
	if (!*shared || output_queue(s, &s->replies, *shared) != CS_OK)
		session_close_later(s, CV_LOG_ERROR, "out of memory for a ring wake-up");
}

void input_settle_publish(struct cv_session *s)
{
	if (s->ring.shared && s->state == SESSION_READY &&
	    cv_ring_reader_settle(&s->ring, s->settled, input_paused(s)))
		queue_ring_wakeup(s, &s->server->settled_wakeup, CV_FRAME_SETTLED);
}

/* The client's bytes, as recv gives them: from its ring once it has one,
 * else from the socket. */
static ssize_t session_input(struct cv_session *s, void *buf, size_t len)
{
	bool room_wanted;
	ssize_t n;

	if (!s->ring.shared) {
		n = socket_recv(s, buf, len);
		/* A departed client sends nothing more: what is not there now
		 * never comes (and a client that only shut down its reading must
		 * not keep us polling). */
		if (n < 0 && errno == EAGAIN && s->peer_gone)
			return 0;
		return n;
	}
	n = cv_ring_reader_read(&s->ring, buf, len, &room_wanted);
	if (n < 0) {
		session_protocol_violation(s, "ring head %u bytes ahead of its tail, beyond its capacity %u",
					   s->ring.shared->head - s->ring.tail, s->ring.capacity);
		errno = EPROTO;
		return -1;
	}
	if (room_wanted)
		queue_ring_wakeup(s, &s->server->ring_room, CV_FRAME_RING_ROOM);
	if (n == 0 && !s->peer_gone) {
		errno = EAGAIN;
		return -1;
	}
	return n;
}

/* Only a request counts: a client also wakes us when it makes room we
 * wait for. */
static void woken_by(struct cv_session *s)
{
	struct cv_wake *wake = &s->server->wake;

	if (!cv_ring_reader_has_input(&s->ring))
		return;
	wake->session = s;
	wake->cpu = cv_ring_reader_waker(&s->ring, &wake->on_reply, &wake->on_event);
	wake->replied = wake->evented = false;
}

/* With a ring, the socket brings only wake-up bytes, and the client's end.
 * One read per event: a client that keeps writing them cannot hold the loop
 * here, and epoll reports what is left. */
static void ring_wakeups_drain(struct cv_session *s)
{
	uint8_t bytes[256];
	ssize_t n = socket_recv(s, bytes, sizeof(bytes));

	if (n > 0)
		woken_by(s);
	else if (n == 0 || (errno != EAGAIN && errno != EINTR))
		session_client_gone(s);
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

/* ---- frames ------------------------------------------------------------- */

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
		s->header_have += rx_take(s, (char *)&s->header + s->header_have,
					  sizeof(s->header) - s->header_have);
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

/* Every request before it is handled, and its events queued before this. */
static void settle_answer(struct cv_session *s)
{
	if (output_queue_reply(s, CV_FRAME_SETTLED, 0, s->header.seq, CS_OK, NULL) != CS_OK)
		session_close_later(s, CV_LOG_ERROR, "out of memory for SETTLED");
}

static void handle_frame(struct cv_session *s)
{
	if (s->state == SESSION_AWAIT_HELLO)
		handshake_hello(s);
	else if (s->header.kind == CV_FRAME_RING_OPEN)
		handshake_ring_open(s);
	else if (s->header.kind == CV_FRAME_SETTLE)
		settle_answer(s);
	else
		request_handle(s);
	/* Settled or paused, the ring's header says so once the output is
	 * written. */
	if (s->ring.shared)
		output_flush_later(s);
	if (s->held)
		return;
	s->settled = s->header.seq;
	free(s->payload);
	s->payload = NULL;
	s->payload_have = 0;
	s->header_have = 0;
}

/* Frames already in the chunk buffer are handled even past the per-wakeup
 * limit: the socket may hold nothing more to wake us for them. A ring's
 * are not (the loop's poller comes back for them), so that a client that
 * keeps its ring full cannot hold the loop, and the output of what was
 * handled (and the settled counter behind it) leaves after each turn. */
static void read_frames(struct cv_session *s)
{
	bool ring = s->ring.shared != NULL;

	for (int frames = 0;
	     ring ? frames < FRAMES_PER_RING_TURN : frames < FRAMES_PER_WAKEUP || rx_buffered(s) > 0;
	     frames++) {
		if (s->state == SESSION_CLOSING || input_paused(s))
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
	output_update_events(s);
	input_resume(s);
}

void input_on_event(void *data, uint32_t events)
{
	struct cv_session *s = data;

	if (s->state == SESSION_CLOSING)
		return;
	if (events & EPOLLOUT) {
		output_flush(s);
		input_resume(s);
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		if (s->ring.shared)
			ring_wakeups_drain(s);
		/* The client may have made room in the reply ring. */
		if (s->ring.reply_data && s->replies.head)
			output_flush_later(s);
		session_read(s);
	}
	/* A Unix socket reports an error when its client left with our output
	 * unread, and a hang-up when it closed the socket, which must not wait
	 * for its reading to resume: what the client sent before is still to
	 * be read. */
	if ((events & (EPOLLERR | EPOLLHUP)) && s->state != SESSION_CLOSING && !s->peer_gone)
		session_client_gone(s);
}

/* ---- what no descriptor announces --------------------------------------- */

static bool polled_pending(void)
{
	struct cv_session *s;

	cv_list_for_each (s, &server_get()->polled_sessions, polled_link)
		if (readable_unannounced(s))
			return true;
	return false;
}

static bool polled_run(void)
{
	struct cv_session *s;
	bool worked = false;

	cv_list_for_each (s, &server_get()->polled_sessions, polled_link) {
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

	cv_list_for_each (s, &server_get()->polled_sessions, polled_link) {
		if (s->state == SESSION_CLOSING || input_paused(s))
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
