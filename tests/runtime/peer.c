#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cv-fds.h"
#include "cv-split.h"
#include "peer.h"
#include "test-util.h"

struct peer *peer_new(void)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct peer *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	p->fd = -1;
	p->reply_fd = -1;
	p->max_message = 1024 * 1024;
	p->refusal = CS_ERR_ACCESS;
	p->ring_reply = CS_ERR_NOT_SUPPORTED;
	pthread_mutex_init(&p->write_lock, NULL);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	assert_int_equal(pipe2(p->control, O_CLOEXEC | O_NONBLOCK), 0);
	strcpy(p->dir, "/tmp/cv-runtime-XXXXXX");
	assert_non_null(mkdtemp(p->dir));
	snprintf(p->path, sizeof(p->path), "%s/sock", p->dir);
	strcpy(addr.sun_path, p->path);
	p->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(p->listen_fd >= 0);
	assert_int_equal(bind(p->listen_fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(p->listen_fd, 64), 0);
	setenv(CV_SOCKET_ENV, p->path, 1);
	return p;
}

static void control_poke(struct peer *p)
{
	char byte = 1;

	if (write(p->control[1], &byte, 1) < 0 && errno != EAGAIN)
		abort();
}

static void request_free(struct peer_request *request)
{
	free(request->payload);
	if (request->passed_fd >= 0)
		close(request->passed_fd);
}

static void held_free(struct peer *p)
{
	for (unsigned int i = 0; i < p->n_held; i++)
		request_free(&p->held[i]);
	p->n_held = 0;
}

static void many_stop(struct peer *p)
{
	pthread_mutex_lock(&p->lock);
	for (unsigned int i = 0; i < PEER_MAX_CLIENTS; i++)
		if (p->many && p->clients[i] >= 0)
			shutdown(p->clients[i], SHUT_RDWR);
	while (p->live_clients > 0)
		pthread_cond_wait(&p->cond, &p->lock);
	pthread_mutex_unlock(&p->lock);
}

void peer_free(struct peer *p)
{
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	p->paused = false;
	p->gate_closed = false;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	control_poke(p);
	shutdown(p->listen_fd, SHUT_RDWR);
	peer_hang_up(p);
	if (p->acceptor_started)
		pthread_join(p->acceptor, NULL);
	if (p->responder_started)
		pthread_join(p->responder, NULL);
	many_stop(p);
	held_free(p);
	if (p->fd >= 0)
		close(p->fd);
	if (p->reply_fd >= 0)
		close(p->reply_fd);
	free(p->backlog);
	close(p->listen_fd);
	close(p->control[0]);
	close(p->control[1]);
	unlink(p->path);
	rmdir(p->dir);
	unsetenv(CV_SOCKET_ENV);
	free(p);
}

/* ---- raw I/O ---- */

static bool write_all(int fd, const void *bytes, size_t length)
{
	const uint8_t *b = bytes;
	ssize_t n;

	while (length > 0) {
		n = send(fd, b, length, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		b += n;
		length -= (size_t)n;
	}
	return true;
}

static bool read_all(int fd, void *bytes, size_t length)
{
	uint8_t *b = bytes;
	ssize_t n;

	while (length > 0) {
		n = read(fd, b, length);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		b += n;
		length -= (size_t)n;
	}
	return true;
}

/* read_all for a frame's bytes: recvmsg, to take the descriptors a client
 * attaches (RING_OPEN's memfd). */
static bool frame_bytes_read(int fd, void *bytes, size_t length, struct peer_request *request)
{
	union cv_fds_control control;
	uint8_t *b = bytes;
	ssize_t n;

	while (length > 0) {
		struct iovec iov = { b, length };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

		cv_fds_expect(&msg, &control);
		n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		request->passed_fds += cv_fds_take(&msg, &request->passed_fd);
		b += n;
		length -= (size_t)n;
	}
	return true;
}

/* False at end of stream, with nothing left in request to free. */
static bool frame_read(int fd, struct peer_request *request)
{
	*request = (struct peer_request){ .passed_fd = -1 };
	if (!frame_bytes_read(fd, &request->header, sizeof(request->header), request))
		goto failed;
	request->payload = malloc(request->header.length ? request->header.length : 1);
	if (request->payload == NULL ||
	    !frame_bytes_read(fd, request->payload, request->header.length, request))
		goto failed;
	return true;
failed:
	request_free(request);
	*request = (struct peer_request){ .passed_fd = -1 };
	return false;
}

static bool frame_write(int fd, uint16_t kind, uint16_t id, uint32_t seq, int32_t status, const void *payload,
			uint32_t length)
{
	struct cv_frame_header header = {
		.length = length,
		.kind = kind,
		.id = id,
		.seq = seq,
		.status = status,
	};

	return write_all(fd, &header, sizeof(header)) && write_all(fd, payload, length);
}

/* sendmsg with the n_fds descriptors fds attached to the first byte, then
 * the rest as write_all. */
static bool write_all_with_fds(int fd, const void *bytes, size_t length, const int *fds, size_t n_fds)
{
	union cv_fds_control control;
	struct iovec iov = { (void *)bytes, length };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	cv_fds_attach(&msg, &control, fds, n_fds);
	do
		n = sendmsg(fd, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return false;
	return write_all(fd, (const uint8_t *)bytes + n, length - (size_t)n);
}

void peer_write(struct peer *p, const void *bytes, size_t length)
{
	pthread_mutex_lock(&p->write_lock);
	write_all(p->fd, bytes, length);
	pthread_mutex_unlock(&p->write_lock);
}

void peer_write_reply(struct peer *p, const void *bytes, size_t length)
{
	pthread_mutex_lock(&p->write_lock);
	write_all(p->reply_fd, bytes, length);
	pthread_mutex_unlock(&p->write_lock);
}

static bool kind_is_reply(uint16_t kind)
{
	return kind == CV_FRAME_REPLY || kind == CV_FRAME_RING_ROOM;
}

void peer_send_frame(struct peer *p, uint16_t kind, uint16_t id, uint32_t seq, int32_t status,
		     const void *payload, uint32_t length)
{
	pthread_mutex_lock(&p->write_lock);
	frame_write(kind_is_reply(kind) ? p->reply_fd : p->fd, kind, id, seq, status, payload, length);
	pthread_mutex_unlock(&p->write_lock);
}

/* Write lock held. Writes what the socket takes of the backlog now. */
static void backlog_flush(struct peer *p)
{
	ssize_t n;

	while (p->backlog_length > 0) {
		n = send(p->fd, p->backlog, p->backlog_length, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		memmove(p->backlog, p->backlog + n, p->backlog_length - (size_t)n);
		p->backlog_length -= (size_t)n;
	}
}

/* An event of the responder's, as conclaved queues one: written now as
 * far as the socket takes it, the rest after what already waits. */
static void event_queue(struct peer *p, const uint8_t *frame, size_t length)
{
	pthread_mutex_lock(&p->write_lock);
	backlog_flush(p);
	p->backlog = realloc(p->backlog, p->backlog_length + length);
	if (p->backlog == NULL)
		abort();
	memcpy(p->backlog + p->backlog_length, frame, length);
	p->backlog_length += length;
	backlog_flush(p);
	pthread_mutex_unlock(&p->write_lock);
}

/* Ticks until the socket takes no more, or FLOOD_MAX bytes went. */
#define FLOOD_MAX (256u * 1024 * 1024)
static void flood(struct peer *p, uint32_t value)
{
	size_t length;
	uint8_t *tick = peer_pack_tick(value, &length);
	ssize_t n = 0;

	pthread_mutex_lock(&p->write_lock);
	while (p->flooded < FLOOD_MAX) {
		n = send(p->fd, tick, length, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n != (ssize_t)length)
			break;
		p->flooded += length;
	}
	/* a tick the socket took in part is finished */
	if (n > 0 && n < (ssize_t)length)
		write_all(p->fd, tick + n, length - (size_t)n);
	pthread_mutex_unlock(&p->write_lock);
	free(tick);
}

static void send_message(struct peer *p, uint16_t kind, uint16_t id, uint32_t seq, int32_t status,
			 const ProtobufCMessage *message)
{
	size_t length = protobuf_c_message_get_packed_size(message);
	uint8_t *payload = malloc(length ? length : 1);

	if (payload == NULL)
		abort();
	protobuf_c_message_pack(message, payload);
	peer_send_frame(p, kind, id, seq, status, payload, (uint32_t)length);
	free(payload);
}

void peer_send_tick(struct peer *p, uint32_t value)
{
	TestTickEvent event = TEST_TICK_EVENT__INIT;

	event.value = value;
	send_message(p, CV_FRAME_EVENT, TEST_EVENT_TICK, 0, 0, &event.base);
}

void peer_send_note(struct peer *p, const char *text)
{
	TestNoteEvent event = TEST_NOTE_EVENT__INIT;

	event.text = (char *)text;
	send_message(p, CV_FRAME_EVENT, TEST_EVENT_NOTE, 0, 0, &event.base);
}

uint8_t *peer_pack_event(uint16_t id, const ProtobufCMessage *event, size_t *length)
{
	struct cv_frame_header header = { .kind = CV_FRAME_EVENT, .id = id };
	uint8_t *frame;

	header.length = (uint32_t)protobuf_c_message_get_packed_size(event);
	*length = sizeof(header) + header.length;
	frame = malloc(*length);
	if (frame == NULL)
		abort();
	memcpy(frame, &header, sizeof(header));
	protobuf_c_message_pack(event, frame + sizeof(header));
	return frame;
}

uint8_t *peer_pack_tick(uint32_t value, size_t *length)
{
	TestTickEvent event = TEST_TICK_EVENT__INIT;

	event.value = value;
	return peer_pack_event(TEST_EVENT_TICK, &event.base, length);
}

bool peer_write_reply_within(struct peer *p, const void *bytes, size_t length, int timeout_ms)
{
	struct timespec start, now;
	const uint8_t *b = bytes;
	struct pollfd pfd = { .fd = p->reply_fd, .events = POLLOUT };
	ssize_t n;
	long waited_ms = 0;

	clock_gettime(CLOCK_MONOTONIC, &start);
	pthread_mutex_lock(&p->write_lock);
	while (length > 0 && waited_ms <= timeout_ms) {
		n = send(p->reply_fd, b, length, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			b += n;
			length -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			break;
		poll(&pfd, 1, 10);
		clock_gettime(CLOCK_MONOTONIC, &now);
		waited_ms = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
	}
	pthread_mutex_unlock(&p->write_lock);
	return length == 0;
}

bool peer_read_frame(struct peer *p, struct cv_frame_header *header, uint8_t **payload)
{
	struct peer_request frame;

	*payload = NULL;
	if (!frame_read(p->fd, &frame))
		return false;
	if (frame.passed_fd >= 0)
		close(frame.passed_fd);
	*header = frame.header;
	*payload = frame.payload;
	return true;
}

void peer_hang_up(struct peer *p)
{
	if (p->fd >= 0)
		shutdown(p->fd, SHUT_RDWR);
	if (p->reply_fd >= 0)
		shutdown(p->reply_fd, SHUT_RDWR);
}

void peer_drop_client(struct peer *p)
{
	assert_false(p->responder_started);
	if (p->fd >= 0)
		close(p->fd);
	if (p->reply_fd >= 0)
		close(p->reply_fd);
	p->fd = p->reply_fd = -1;
	p->backlog_length = 0;
}

/* ---- handshake ---- */

static bool hello_read(int fd, struct cv_hello *hello)
{
	struct cv_frame_header header;

	if (!read_all(fd, &header, sizeof(header)))
		return false;
	if (header.kind != CV_FRAME_HELLO || header.length != sizeof(*hello))
		return false;
	return read_all(fd, hello, sizeof(*hello));
}

/* A frame's header and payload in one malloc'd buffer. */
static uint8_t *frame_pack(uint16_t kind, int32_t status, const void *payload, uint32_t length)
{
	struct cv_frame_header header = { .length = length, .kind = kind, .status = status };
	uint8_t *frame = malloc(sizeof(header) + length);

	if (frame == NULL)
		abort();
	memcpy(frame, &header, sizeof(header));
	if (length > 0)
		memcpy(frame + sizeof(header), payload, length);
	return frame;
}

/* A WELCOME whose payload is `length` bytes of `fields` (none for a
 * refusal), with the descriptors fds attached, followed in the same write
 * by `extra` bytes. */
static void welcome_send(int fd, int32_t status, const void *fields, uint32_t length, const int *fds,
			 size_t n_fds, const uint8_t *extra, size_t extra_length)
{
	size_t frame_length = sizeof(struct cv_frame_header) + length;
	uint8_t *frame = frame_pack(CV_FRAME_WELCOME, status, fields, length);

	frame = realloc(frame, frame_length + extra_length);
	if (frame == NULL)
		abort();
	if (extra_length > 0)
		memcpy(frame + frame_length, extra, extra_length);
	write_all_with_fds(fd, frame, frame_length + extra_length, fds, n_fds);
	free(frame);
}

/* p->ticks_after_welcome events, packed one after another. */
static uint8_t *ticks_pack(struct peer *p, size_t *length)
{
	uint8_t *bytes = NULL;
	size_t tick_length;

	*length = 0;
	for (unsigned int i = 0; i < p->ticks_after_welcome; i++) {
		uint8_t *tick = peer_pack_tick(i + 1, &tick_length);

		bytes = realloc(bytes, *length + tick_length);
		if (bytes == NULL)
			abort();
		memcpy(bytes + *length, tick, tick_length);
		*length += tick_length;
		free(tick);
	}
	return bytes;
}

/* The WELCOME of `mode` with the client's end of a new reply channel (and
 * for PEER_WELCOME, p->ticks_after_welcome events in the same write); our
 * end in *reply_fd. */
static void welcome_with_channel_send(struct peer *p, int fd, enum peer_handshake mode, int *reply_fd)
{
	uint32_t fields[4] = { CV_WIRE_MAGIC, p->max_message, p->max_ring, 0 };
	uint32_t length = sizeof(struct cv_welcome);
	int ends[2], fds[2];
	size_t n_fds = 1, ticks_length = 0;
	uint8_t *ticks = NULL;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) < 0)
		abort();
	fds[0] = fds[1] = ends[1];
	if (mode == PEER_WELCOME)
		ticks = ticks_pack(p, &ticks_length);
	else if (mode == PEER_WELCOME_SHORT)
		length = CV_WELCOME_MIN_SIZE;
	else if (mode == PEER_WELCOME_LONG)
		length = sizeof(struct cv_welcome) + 4;
	else if (mode == PEER_BAD_MAGIC)
		fields[0] = 0xdeadbeef;
	else if (mode == PEER_BAD_LENGTH)
		length = 4;
	else if (mode == PEER_WELCOME_NO_CHANNEL)
		n_fds = 0;
	else if (mode == PEER_WELCOME_TWO_FDS)
		fds[1] = p->listen_fd, n_fds = 2;
	welcome_send(fd, CS_OK, fields, length, fds, n_fds, ticks, ticks_length);
	free(ticks);
	close(ends[1]);
	*reply_fd = ends[0];
}

/* Runs the handshake; returns false when the mode ends the connection. */
static bool handshake_run(struct peer *p, int fd, int *reply_fd)
{
	struct cv_frame_header header = { .kind = CV_FRAME_WELCOME, .status = CS_OK, .length = 8 };

	if (p->mode == PEER_CLOSE_AT_ONCE)
		return false;
	if (p->mode == PEER_REFUSE_AT_ONCE) {
		welcome_send(fd, p->refusal, NULL, 0, NULL, 0, NULL, 0);
		return false;
	}
	p->hello_received = hello_read(fd, &p->hello);
	switch (p->mode) {
	case PEER_REFUSE:
		welcome_send(fd, p->refusal, NULL, 0, NULL, 0, NULL, 0);
		return false;
	case PEER_REFUSE_WITH_FD:
		welcome_send(fd, p->refusal, NULL, 0, &p->listen_fd, 1, NULL, 0);
		return false;
	case PEER_CLOSE_MID_HEADER:
		write_all(fd, &header, sizeof(header) / 2);
		return false;
	case PEER_CLOSE_MID_WELCOME:
		write_all(fd, &header, sizeof(header));
		return false;
	case PEER_WRONG_KIND:
		frame_write(fd, CV_FRAME_EVENT, 0, 0, 0, NULL, 0);
		return true;
	case PEER_SILENT:
		return true;
	case PEER_CLOSE_AFTER_HELLO:
	case PEER_CLOSE_AT_ONCE:
	case PEER_REFUSE_AT_ONCE:
		return false;
	default:
		welcome_with_channel_send(p, fd, p->mode, reply_fd);
		return true;
	}
}

static int accept_one(int listen_fd)
{
	int fd;

	do
		fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	return fd;
}

static void *acceptor_main(void *arg)
{
	struct peer *p = arg;
	int fd = accept_one(p->listen_fd);
	int reply_fd = -1;

	if (fd < 0)
		return NULL;
	if (handshake_run(p, fd, &reply_fd)) {
		p->fd = fd;
		p->reply_fd = reply_fd;
	} else {
		close(fd);
	}
	return NULL;
}

void peer_expect_client(struct peer *p, enum peer_handshake mode)
{
	p->mode = mode;
	p->hello_received = false;
	assert_int_equal(pthread_create(&p->acceptor, NULL, acceptor_main, p), 0);
	p->acceptor_started = true;
}

int peer_client_arrived(struct peer *p)
{
	assert_true(p->acceptor_started);
	pthread_join(p->acceptor, NULL);
	p->acceptor_started = false;
	return p->fd;
}

uint64_t peer_connect_client_with(struct peer *p, enum peer_handshake mode, const cv_callback_fn *callbacks,
				  void *context)
{
	uint64_t handle = 0;

	peer_expect_client(p, mode);
	assert_int_equal(cv_client_initialize(&test_service, &handle, callbacks, context), CS_OK);
	assert_true(peer_client_arrived(p) >= 0);
	assert_true(p->hello_received);
	return handle;
}

uint64_t peer_connect_client(struct peer *p, const cv_callback_fn *callbacks, void *context)
{
	return peer_connect_client_with(p, PEER_WELCOME, callbacks, context);
}

int fixture_connect_to(void **state, struct peer *p, enum peer_handshake mode,
		       const cv_callback_fn *callbacks, void *context)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	record_reset();
	f->p = p;
	f->handle = peer_connect_client_with(p, mode, callbacks, context);
	assert_int_equal(cv_client_fd_get(&test_service, f->handle, &f->fd), CS_OK);
	*state = f;
	return 0;
}

int fixture_connect(void **state, const cv_callback_fn *callbacks, void *context, uint32_t max_message)
{
	struct peer *p = peer_new();

	if (max_message != 0)
		p->max_message = max_message;
	return fixture_connect_to(state, p, PEER_WELCOME, callbacks, context);
}

int fixture_teardown(void **state)
{
	struct fixture *f = *state;

	cv_client_finalize(&test_service, f->handle);
	peer_free(f->p);
	free(f);
	assert_int_equal(test_handles.used, 0);
	return 0;
}

/* ---- the responder ---- */

/* The request's message, whole or split (as conclaved takes it). */
static ProtobufCMessage *request_unpack(const struct peer_request *request,
					const ProtobufCMessageDescriptor *desc,
					const ProtobufCFieldDescriptor **split_field)
{
	const char *why;

	return cv_payload_unpack(desc, NULL, request->header.kind == CV_FRAME_REQUEST_SPLIT, request->payload,
				 request->header.length, split_field, &why);
}

/* The echo's events (for p's own client, whose reply channel is
 * reply_fd), then its reply on reply_fd. */
static void reply_echo(struct peer *p, int reply_fd, const struct peer_request *request)
{
	const ProtobufCFieldDescriptor *split_field;
	TestEchoRequest *echo = (TestEchoRequest *)request_unpack(request, &test_echo_request__descriptor,
								  &split_field);
	TestEchoReply reply = TEST_ECHO_REPLY__INIT;
	uint8_t *packed;
	size_t length;

	if (echo == NULL)
		return;
	for (unsigned int i = 0; reply_fd == p->reply_fd && i < p->events_per_reply; i++) {
		uint8_t *tick = peer_pack_tick(echo->value, &length);

		event_queue(p, tick, length);
		free(tick);
	}
	if (reply_fd == p->reply_fd && p->flood)
		flood(p, echo->value);
	reply.value = echo->value + 1;
	reply.blob = echo->blob;
	length = test_echo_reply__get_packed_size(&reply);
	packed = malloc(length ? length : 1);
	if (packed != NULL) {
		test_echo_reply__pack(&reply, packed);
		pthread_mutex_lock(&p->write_lock);
		frame_write(reply_fd, CV_FRAME_REPLY, request->header.id, request->header.seq, CS_OK, packed,
			    (uint32_t)length);
		pthread_mutex_unlock(&p->write_lock);
	}
	free(packed);
	cv_payload_free(&echo->base, split_field, NULL);
}

static void notify_count(struct peer *p, const struct peer_request *request)
{
	const ProtobufCFieldDescriptor *split_field;
	TestNotifyRequest *notify = (TestNotifyRequest *)request_unpack(
		request, &test_notify_request__descriptor, &split_field);

	pthread_mutex_lock(&p->lock);
	p->notifies++;
	p->last_notify = notify != NULL ? notify->value : 0;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	if (notify != NULL)
		cv_payload_free(&notify->base, split_field, NULL);
}

/* Lock held on entry and exit; answers newest first. */
static void held_answer(struct peer *p)
{
	while (p->n_held > 0) {
		struct peer_request request = p->held[--p->n_held];

		pthread_mutex_unlock(&p->lock);
		reply_echo(p, p->reply_fd, &request);
		request_free(&request);
		pthread_mutex_lock(&p->lock);
	}
}

/* Lock held on entry and exit. Notes what came with a RING_OPEN and
 * answers it with p->ring_reply. */
static void ring_open_answer(struct peer *p, const struct peer_request *request)
{
	struct peer_ring_open *seen = &p->last_ring_open;
	int32_t status = p->ring_reply;
	struct stat st;

	*seen = (struct peer_ring_open){ .fds = request->passed_fds, .size = -1, .seals = -1 };
	if (request->header.length == sizeof(seen->open))
		memcpy(&seen->open, request->payload, sizeof(seen->open));
	if (request->passed_fd >= 0 && fstat(request->passed_fd, &st) == 0)
		seen->size = st.st_size;
	if (request->passed_fd >= 0)
		seen->seals = fcntl(request->passed_fd, F_GET_SEALS);
	seen->requests_before = p->requests;
	p->ring_opens++;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	pthread_mutex_lock(&p->write_lock);
	frame_write(p->reply_fd, CV_FRAME_REPLY, 0, request->header.seq, status, NULL, 0);
	pthread_mutex_unlock(&p->write_lock);
	pthread_mutex_lock(&p->lock);
}

/* Lock held. Returns false at end of stream. */
static bool request_take(struct peer *p)
{
	struct peer_request request;

	pthread_mutex_unlock(&p->lock);
	if (!frame_read(p->fd, &request)) {
		pthread_mutex_lock(&p->lock);
		return false;
	}
	pthread_mutex_lock(&p->lock);
	if (request.header.kind == CV_FRAME_RING_OPEN) {
		ring_open_answer(p, &request);
		request_free(&request);
		return true;
	}
	p->requests++;
	if (request.header.kind == CV_FRAME_REQUEST_SPLIT)
		p->split_requests++;
	pthread_cond_broadcast(&p->cond);
	if (p->hang_up_on_request) {
		peer_hang_up(p);
		request_free(&request);
		return false;
	}
	if (request.header.id == TEST_REQUEST_NOTIFY) {
		pthread_mutex_unlock(&p->lock);
		notify_count(p, &request);
		request_free(&request);
		pthread_mutex_lock(&p->lock);
	} else if (p->n_held < PEER_MAX_HELD) {
		p->held[p->n_held++] = request;
	} else {
		request_free(&request);
	}
	return true;
}

static void control_drain(struct peer *p)
{
	char bytes[16];

	while (read(p->control[0], bytes, sizeof(bytes)) > 0)
		;
}

static void *responder_main(void *arg)
{
	struct peer *p = arg;
	struct pollfd fds[3];
	bool open = true;

	pthread_mutex_lock(&p->lock);
	while (open && !p->stopping) {
		if (!p->gate_closed)
			held_answer(p);
		fds[0] = (struct pollfd){ .fd = p->paused ? -1 : p->fd, .events = POLLIN };
		fds[1] = (struct pollfd){ .fd = p->control[0], .events = POLLIN };
		/* the backlog of events, as the socket takes it */
		fds[2] = (struct pollfd){ .fd = __atomic_load_n(&p->backlog_length, __ATOMIC_RELAXED) ? p->fd
												      : -1,
					  .events = POLLOUT };
		pthread_mutex_unlock(&p->lock);
		while (poll(fds, 3, -1) < 0 && errno == EINTR)
			;
		control_drain(p);
		if (fds[2].revents != 0) {
			pthread_mutex_lock(&p->write_lock);
			backlog_flush(p);
			pthread_mutex_unlock(&p->write_lock);
		}
		pthread_mutex_lock(&p->lock);
		if (fds[0].revents != 0 && !p->paused && !p->stopping)
			open = request_take(p);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

void peer_respond(struct peer *p)
{
	assert_true(p->fd >= 0);
	assert_int_equal(pthread_create(&p->responder, NULL, responder_main, p), 0);
	p->responder_started = true;
}

void peer_set_paused(struct peer *p, bool paused)
{
	pthread_mutex_lock(&p->lock);
	p->paused = paused;
	pthread_mutex_unlock(&p->lock);
	control_poke(p);
}

void peer_set_gate(struct peer *p, bool closed)
{
	pthread_mutex_lock(&p->lock);
	p->gate_closed = closed;
	pthread_mutex_unlock(&p->lock);
	control_poke(p);
}

static bool wait_count(struct peer *p, const unsigned int *counter, unsigned int n, int timeout_ms)
{
	struct timespec deadline = deadline_after(timeout_ms);
	bool reached;

	pthread_mutex_lock(&p->lock);
	while (*counter < n && pthread_cond_timedwait(&p->cond, &p->lock, &deadline) == 0)
		;
	reached = *counter >= n;
	pthread_mutex_unlock(&p->lock);
	return reached;
}

bool peer_wait_requests(struct peer *p, unsigned int n, int timeout_ms)
{
	return wait_count(p, &p->requests, n, timeout_ms);
}

bool peer_wait_notifies(struct peer *p, unsigned int n, int timeout_ms)
{
	return wait_count(p, &p->notifies, n, timeout_ms);
}

/* ---- many clients ---- */

struct client_conn {
	struct peer *p;
	unsigned int slot;
};

static void client_serve(struct peer *p, int fd, int reply_fd)
{
	struct peer_request request;

	while (frame_read(fd, &request)) {
		if (request.header.id == TEST_REQUEST_ECHO)
			reply_echo(p, reply_fd, &request);
		request_free(&request);
	}
}

static void *client_main(void *arg)
{
	struct client_conn *conn = arg;
	struct peer *p = conn->p;
	int fd = p->clients[conn->slot], reply_fd = -1;
	struct cv_hello hello;

	if (hello_read(fd, &hello)) {
		welcome_with_channel_send(p, fd, PEER_WELCOME, &reply_fd);
		client_serve(p, fd, reply_fd);
		close(reply_fd);
	}
	pthread_mutex_lock(&p->lock);
	close(fd);
	p->clients[conn->slot] = -1;
	p->live_clients--;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	free(conn);
	return NULL;
}

/* Lock held. */
static bool client_slot(struct peer *p, unsigned int *slot)
{
	for (unsigned int i = 0; i < PEER_MAX_CLIENTS; i++) {
		if (p->clients[i] < 0) {
			*slot = i;
			return true;
		}
	}
	return false;
}

static bool client_start(struct peer *p, int fd)
{
	struct client_conn *conn = malloc(sizeof(*conn));
	pthread_attr_t attr;
	pthread_t thread;
	bool started;

	if (conn == NULL)
		return false;
	conn->p = p;
	pthread_mutex_lock(&p->lock);
	started = client_slot(p, &conn->slot);
	if (started) {
		p->clients[conn->slot] = fd;
		p->live_clients++;
	}
	pthread_mutex_unlock(&p->lock);
	if (!started) {
		free(conn);
		return false;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	started = pthread_create(&thread, &attr, client_main, conn) == 0;
	pthread_attr_destroy(&attr);
	if (!started)
		abort();
	return true;
}

static void *many_main(void *arg)
{
	struct peer *p = arg;
	int fd;

	while ((fd = accept_one(p->listen_fd)) >= 0) {
		if (!client_start(p, fd))
			close(fd);
	}
	return NULL;
}

void peer_accept_many(struct peer *p)
{
	pthread_mutex_lock(&p->lock);
	for (unsigned int i = 0; i < PEER_MAX_CLIENTS; i++)
		p->clients[i] = -1;
	p->many = true;
	pthread_mutex_unlock(&p->lock);
	assert_int_equal(pthread_create(&p->acceptor, NULL, many_main, p), 0);
	p->acceptor_started = true;
}
