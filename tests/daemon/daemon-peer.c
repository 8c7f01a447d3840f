#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cv-fds.h"
#include "daemon-peer.h"
#include "quorum.pb-c.h"

#define QUORUM_REQUEST_GETQUORATE 0

/* The reply channel of each raw client, by the number of its socket (+1,
 * so that 0 is none). A socket closed by a test leaves its reply channel
 * open until its number is used again. */
#define RAW_MAX_FD 16384
static int reply_fds[RAW_MAX_FD];
static uint32_t next_seq = 1;

int raw_reply_fd(int fd)
{
	return fd >= 0 && fd < RAW_MAX_FD ? reply_fds[fd] - 1 : -1;
}

static void reply_fd_set(int fd, int reply_fd)
{
	if (fd < 0 || fd >= RAW_MAX_FD) {
		if (reply_fd >= 0)
			close(reply_fd);
		return;
	}
	if (reply_fds[fd] > 0)
		close(reply_fds[fd] - 1);
	reply_fds[fd] = reply_fd + 1;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* ---- raw clients ------------------------------------------------------- */

int raw_connect(const char *socket_path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", socket_path);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int raw_send(int fd, const void *bytes, size_t size)
{
	const uint8_t *p = bytes;

	while (size > 0) {
		ssize_t n = send(fd, p, size, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		size -= (size_t)n;
	}
	return 0;
}

/* Header and payload in one buffer (malloc'd), or NULL. */
static uint8_t *frame_pack(uint16_t kind, uint16_t id, uint32_t seq, const void *payload, uint32_t length)
{
	struct cv_frame_header h = { .length = length, .kind = kind, .id = id, .seq = seq };
	uint8_t *frame = malloc(sizeof(h) + length);

	if (!frame)
		return NULL;
	memcpy(frame, &h, sizeof(h));
	if (length)
		memcpy(frame + sizeof(h), payload, length);
	return frame;
}

/* One send for header and payload: the daemon may close the connection as
 * soon as it has judged the header, before a second send. */
int raw_send_frame(int fd, uint16_t kind, uint16_t id, uint32_t seq, const void *payload, uint32_t length)
{
	uint8_t *frame = frame_pack(kind, id, seq, payload, length);
	int r;

	if (!frame)
		return -1;
	r = raw_send(fd, frame, sizeof(struct cv_frame_header) + length);
	free(frame);
	return r;
}

int raw_send_hello(int fd, uint32_t magic, const char *service, uint16_t major, uint16_t minor)
{
	struct cv_hello hello = { .magic = magic, .idl_major = major, .idl_minor = minor };

	strncpy(hello.service, service, sizeof(hello.service));
	return raw_send_frame(fd, CV_FRAME_HELLO, 0, 0, &hello, sizeof(hello));
}

/* recv that keeps the first descriptor passed with the bytes in *passed
 * (when passed is not NULL and holds none yet), closing any other. */
static ssize_t recv_keeping_fd(int fd, void *buf, size_t size, int *passed)
{
	union cv_fds_control control;
	struct iovec iov = { buf, size };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	int dropped = INT_MAX;
	ssize_t n;

	cv_fds_expect(&msg, &control);
	n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	if (n >= 0)
		cv_fds_take(&msg, passed ? passed : &dropped);
	return n;
}

static int read_exact(int fd, void *buf, size_t size, long long deadline, int *passed)
{
	uint8_t *p = buf;

	while (size > 0) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long long left = deadline - now_ms();
		ssize_t n;

		if (poll(&pfd, 1, left > 0 ? (int)left : 0) <= 0)
			return -1;
		n = recv_keeping_fd(fd, p, size, passed);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return 0;
		if (n < 0)
			return errno == EINTR ? 1 : -1;
		p += n;
		size -= (size_t)n;
	}
	return 1;
}

/* A frame, and the descriptor passed with it, if any, in *passed. */
static int read_frame_keeping_fd(int fd, struct cv_frame_header *h, uint8_t **payload, int timeout_ms,
				 int *passed)
{
	long long deadline = now_ms() + timeout_ms;
	int r = read_exact(fd, h, sizeof(*h), deadline, passed);

	*payload = NULL;
	if (r <= 0)
		return r;
	if (h->length == 0)
		return 1;
	if (h->length > CV_CLIENT_MAX_PAYLOAD || !(*payload = malloc(h->length)))
		return -1;
	r = read_exact(fd, *payload, h->length, deadline, passed);
	if (r <= 0) {
		free(*payload);
		*payload = NULL;
	}
	return r;
}

int raw_read_frame(int fd, struct cv_frame_header *h, uint8_t **payload, int timeout_ms)
{
	return read_frame_keeping_fd(fd, h, payload, timeout_ms, NULL);
}

int raw_read_reply(int fd, struct cv_frame_header *h, uint8_t **payload, int timeout_ms)
{
	*payload = NULL;
	if (raw_reply_fd(fd) < 0)
		return -1;
	return raw_read_frame(raw_reply_fd(fd), h, payload, timeout_ms);
}

int raw_read_welcome(int fd, struct cv_frame_header *h, uint8_t **payload, int timeout_ms)
{
	int reply_fd = -1;
	int r = read_frame_keeping_fd(fd, h, payload, timeout_ms, &reply_fd);

	if (r == 1 && h->kind == CV_FRAME_WELCOME && h->status == CS_OK && reply_fd < 0)
		return -1;
	reply_fd_set(fd, reply_fd);
	return r;
}

int raw_handshake(int fd, const char *service)
{
	struct cv_frame_header h;
	uint8_t *payload = NULL;
	int r;

	if (raw_send_hello(fd, CV_WIRE_MAGIC, service, 1, 0) < 0)
		return -1;
	r = raw_read_welcome(fd, &h, &payload, 2000);
	free(payload);
	if (r != 1 || h.kind != CV_FRAME_WELCOME)
		return -1;
	return h.status;
}

int raw_client(const char *socket_path, const char *service)
{
	int fd = raw_connect(socket_path);

	if (fd >= 0 && raw_handshake(fd, service) != CS_OK) {
		close(fd);
		return -1;
	}
	return fd;
}

bool raw_closed_within(int fd, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;

	for (;;) {
		struct cv_frame_header h;
		uint8_t *payload;
		int left = (int)(deadline - now_ms());
		int r = raw_read_frame(fd, &h, &payload, left > 0 ? left : 0);

		free(payload);
		if (r == 0)
			return true;
		if (r < 0)
			return false;
	}
}

/* Sends request as request_id's REQUEST, through ring unless it is NULL;
 * the frame's seq, or 0 when it could not be sent. */
static uint32_t request_send(int fd, struct raw_ring *ring, uint16_t request_id,
			     const ProtobufCMessage *request)
{
	size_t size = protobuf_c_message_get_packed_size(request);
	uint8_t *bytes = malloc(size ? size : 1);
	uint32_t seq = next_seq++;
	int r;

	if (!bytes)
		return 0;
	protobuf_c_message_pack(request, bytes);
	if (ring)
		r = raw_ring_send_frame(fd, ring, CV_FRAME_REQUEST, request_id, seq, bytes, (uint32_t)size);
	else
		r = raw_send_frame(fd, CV_FRAME_REQUEST, request_id, seq, bytes, (uint32_t)size);
	free(bytes);
	return r < 0 ? 0 : seq;
}

uint32_t raw_ring_request(int fd, struct raw_ring *r, uint16_t request_id, const ProtobufCMessage *request)
{
	return request_send(fd, r, request_id, request);
}

bool raw_fd_readable_within(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, timeout_ms) == 1;
}

/* Reads fd's reply channel (ring's reply ring, when it has one) up to the
 * REPLY to seq, dropping anything else (RING_ROOM): 1 with the reply in *h
 * and *payload, or -1 when none came. */
static int await_reply(int fd, struct raw_ring *ring, uint32_t seq, struct cv_frame_header *h,
		       uint8_t **payload)
{
	while ((ring && ring->reply_data ? raw_ring_read_reply(fd, ring, h, payload, 5000)
					 : raw_read_reply(fd, h, payload, 5000)) == 1) {
		if (h->kind == CV_FRAME_REPLY && h->seq == seq)
			return 1;
		free(*payload);
	}
	return -1;
}

static int call_via(int fd, struct raw_ring *ring, uint16_t request_id, const ProtobufCMessage *request,
		    const ProtobufCMessageDescriptor *reply_desc, ProtobufCMessage **reply)
{
	uint32_t seq = request_send(fd, ring, request_id, request);
	struct cv_frame_header h;
	uint8_t *payload;

	*reply = NULL;
	if (seq == 0 || await_reply(fd, ring, seq, &h, &payload) < 0)
		return -1;
	*reply = protobuf_c_message_unpack(reply_desc, NULL, h.length, payload);
	free(payload);
	return h.status;
}

int raw_call(int fd, uint16_t request_id, const ProtobufCMessage *request,
	     const ProtobufCMessageDescriptor *reply_desc, ProtobufCMessage **reply)
{
	return call_via(fd, NULL, request_id, request, reply_desc, reply);
}

int raw_ring_call(int fd, struct raw_ring *r, uint16_t request_id, const ProtobufCMessage *request,
		  const ProtobufCMessageDescriptor *reply_desc, ProtobufCMessage **reply)
{
	return call_via(fd, r, request_id, request, reply_desc, reply);
}

int raw_next_event(int fd, const ProtobufCMessageDescriptor *const *event_descs, size_t n_descs,
		   ProtobufCMessage **event, int timeout_ms)
{
	struct cv_frame_header h;
	uint8_t *payload = NULL;
	int id = -1;

	*event = NULL;
	if (raw_read_frame(fd, &h, &payload, timeout_ms) != 1 || h.kind != CV_FRAME_EVENT) {
		free(payload);
		return -1;
	}
	if (h.id < n_descs) {
		*event = protobuf_c_message_unpack(event_descs[h.id], NULL, h.length, payload);
		id = *event ? h.id : -1;
	}
	free(payload);
	return id;
}

size_t raw_drain_events(int fd, int idle_ms)
{
	struct cv_frame_header h;
	uint8_t *payload;
	size_t frames = 0;

	while (raw_read_frame(fd, &h, &payload, idle_ms) == 1) {
		free(payload);
		frames++;
	}
	return frames;
}

void raw_forget_events(int fd)
{
	raw_drain_events(fd, 100);
}

/* ---- raw shared rings -------------------------------------------------- */

#define RING_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

int raw_ring_create(struct raw_ring *r, uint32_t capacity, enum raw_ring_flaw flaw)
{
	size_t size = CV_RING_HEADER_SIZE + (size_t)capacity * (flaw == RAW_RING_WITH_REPLIES ? 2 : 1) +
		      (flaw == RAW_RING_WRONG_SIZE ? 4096 : 0);
	int seals = flaw == RAW_RING_SHRINKABLE ? F_SEAL_GROW | F_SEAL_SEAL : RING_SEALS;
	int fd = memfd_create("raw-ring", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	void *map;

	if (fd < 0)
		return -1;
	if (ftruncate(fd, (off_t)size) < 0 || fcntl(fd, F_ADD_SEALS, seals) < 0 ||
	    (map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED) {
		close(fd);
		return -1;
	}
	*r = (struct raw_ring){
		.memfd = fd,
		.shared = map,
		.data = (uint8_t *)map + CV_RING_HEADER_SIZE,
		.capacity = capacity,
		.size = size,
		.reply_data = flaw == RAW_RING_WITH_REPLIES ? (uint8_t *)map + CV_RING_HEADER_SIZE + capacity
							    : NULL,
	};
	return 0;
}

void raw_ring_destroy(struct raw_ring *r)
{
	if (r->shared)
		munmap(r->shared, r->size);
	if (r->memfd >= 0)
		close(r->memfd);
	r->shared = NULL;
	r->memfd = -1;
}

int raw_send_with_fds(int fd, const void *bytes, size_t size, const int *fds, size_t n_fds)
{
	union cv_fds_control control;
	struct iovec iov = { (void *)bytes, size };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (n_fds > CV_FDS_MAX)
		return -1;
	cv_fds_attach(&msg, &control, fds, n_fds);
	do
		n = sendmsg(fd, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return -1;
	return raw_send(fd, (const uint8_t *)bytes + n, size - (size_t)n);
}

int raw_send_ring_open(int fd, uint32_t seq, const void *payload, uint32_t length, const int *fds,
		       size_t n_fds)
{
	uint8_t *frame = frame_pack(CV_FRAME_RING_OPEN, 0, seq, payload, length);
	int r;

	if (!frame)
		return -1;
	r = raw_send_with_fds(fd, frame, sizeof(struct cv_frame_header) + length, fds, n_fds);
	free(frame);
	return r;
}

int raw_ring_offer(int fd, struct raw_ring *r)
{
	struct cv_ring_open open = { .magic = CV_WIRE_MAGIC,
				     .capacity = r->capacity,
				     .reply_capacity = r->reply_data ? r->capacity : 0 };
	uint32_t seq = next_seq++;
	struct cv_frame_header h;
	uint8_t *payload;

	if (raw_send_ring_open(fd, seq, &open, sizeof(open), &r->memfd, 1) < 0)
		return -1;
	if (await_reply(fd, NULL, seq, &h, &payload) < 0)
		return -1;
	free(payload);
	return h.id == 0 && h.length == 0 ? h.status : -1;
}

/* Takes size bytes from r's reply ring into `to`, as they come, within
 * timeout_ms: 0, or -1. */
static int reply_ring_take(int fd, struct raw_ring *r, uint8_t *to, size_t size, int timeout_ms)
{
	int idle_us = 0;

	while (size > 0) {
		uint32_t waiting = __atomic_load_n(&r->shared->reply_head, __ATOMIC_ACQUIRE) - r->reply_tail;
		uint32_t at = r->reply_tail & (r->capacity - 1);
		uint32_t n = waiting < size ? waiting : (uint32_t)size;
		uint32_t first = r->capacity - at < n ? r->capacity - at : n;

		if (n == 0) {
			if (idle_us >= timeout_ms * 1000)
				return -1;
			usleep(100);
			idle_us += 100;
			continue;
		}
		memcpy(to, r->reply_data + at, first);
		memcpy(to + first, r->reply_data, n - first);
		to += n;
		size -= n;
		r->reply_tail += n;
		__atomic_store_n(&r->shared->reply_tail, r->reply_tail, __ATOMIC_RELEASE);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (__atomic_exchange_n(&r->shared->reply_writer_waiting, 0, __ATOMIC_RELAXED) != 0 &&
		    raw_send(fd, "", 1) < 0)
			return -1;
	}
	return 0;
}

int raw_ring_read_reply(int fd, struct raw_ring *r, struct cv_frame_header *h, uint8_t **payload,
			int timeout_ms)
{
	*payload = NULL;
	if (reply_ring_take(fd, r, (uint8_t *)h, sizeof(*h), timeout_ms) < 0)
		return 0;
	if (h->length == 0)
		return 1;
	*payload = malloc(h->length);
	if (*payload == NULL || reply_ring_take(fd, r, *payload, h->length, timeout_ms) < 0) {
		free(*payload);
		*payload = NULL;
		return 0;
	}
	return 1;
}

int raw_ring_publish(int fd, struct raw_ring *r)
{
	__atomic_store_n(&r->shared->head, r->head, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_exchange_n(&r->shared->reader_asleep, 0, __ATOMIC_RELAXED) != 0)
		return raw_send(fd, "", 1);
	return 0;
}

/* Copies size bytes to the ring at its head, wrapping at its end; -1
 * when it has no room for them. */
static int ring_put(struct raw_ring *r, const void *bytes, size_t size)
{
	uint32_t tail = __atomic_load_n(&r->shared->tail, __ATOMIC_ACQUIRE);
	uint32_t at = r->head & (r->capacity - 1);
	size_t first = r->capacity - at < size ? r->capacity - at : size;

	if (size > r->capacity - (r->head - tail))
		return -1;
	memcpy(r->data + at, bytes, first);
	memcpy(r->data, (const uint8_t *)bytes + first, size - first);
	r->head += (uint32_t)size;
	return 0;
}

int raw_ring_put_frame(struct raw_ring *r, uint16_t kind, uint16_t id, uint32_t seq, const void *payload,
		       uint32_t length)
{
	uint8_t *frame = frame_pack(kind, id, seq, payload, length);
	int result;

	if (!frame)
		return -1;
	result = ring_put(r, frame, sizeof(struct cv_frame_header) + length);
	free(frame);
	return result;
}

int raw_ring_send_frame(int fd, struct raw_ring *r, uint16_t kind, uint16_t id, uint32_t seq,
			const void *payload, uint32_t length)
{
	if (raw_ring_put_frame(r, kind, id, seq, payload, length) < 0)
		return -1;
	return raw_ring_publish(fd, r);
}

/* ---- assertions -------------------------------------------------------- */

void assert_daemon_serves(const struct test_daemon *d)
{
	QuorumGetquorateRequest request = QUORUM_GETQUORATE_REQUEST__INIT;
	QuorumGetquorateReply *reply;
	int fd = raw_client(d->socket, "quorum");

	assert_true(fd >= 0);
	assert_int_equal(raw_call(fd, QUORUM_REQUEST_GETQUORATE, &request.base,
				  &quorum_getquorate_reply__descriptor, (ProtobufCMessage **)&reply),
			 CS_OK);
	assert_non_null(reply);
	assert_int_equal(reply->quorate, 1);
	protobuf_c_message_free_unpacked(&reply->base, NULL);
	close(fd);
}

void assert_closed_with_log(const struct test_daemon *d, int fd, const char *reason)
{
	char client[64], why[512];

	assert_true(raw_closed_within(fd, 3000));
	close(fd);
	snprintf(client, sizeof(client), "(pid %d, uid %u", (int)getpid(), (unsigned)getuid());
	snprintf(why, sizeof(why), "): %s", reason);
	assert_true(test_daemon_log_has(d, client, why, 2000));
	assert_daemon_serves(d);
}
