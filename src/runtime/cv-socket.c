/* Connecting to conclaved, the HELLO/WELCOME handshake, and the
 * non-blocking send and receive primitives. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cv-clock.h"
#include "cv-errno.h"
#include "cv-fds.h"
#include "cv-socket.h"

static const char *socket_path(void)
{
	/* A set-uid program must not be pointed at a socket of the caller's
	 * choosing, hence secure_getenv. */
	const char *path = secure_getenv(CV_SOCKET_ENV);

	return path != NULL && path[0] != '\0' ? path : CV_DEFAULT_SOCKET_PATH;
}

static int connect_retrying(int sock, const struct sockaddr_un *addr)
{
	int r;

	r = connect(sock, (const struct sockaddr *)addr, sizeof(*addr));
	/* An interrupted AF_UNIX connect leaves the socket unconnected; try again. */
	while (r < 0 && errno == EINTR)
		r = connect(sock, (const struct sockaddr *)addr, sizeof(*addr));
	if (r < 0 && errno == EISCONN)
		r = 0;
	return r;
}

/* An AF_UNIX connect waits for room in the listener's backlog for up to
 * SO_SNDTIMEO, then fails with EAGAIN: a stuck daemon must not hang us. Our
 * own sends never block, so the timeout can stay set afterwards. */
static void connect_timeout_set(int fd, int timeout_ms)
{
	struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };

	if (tv.tv_sec == 0 && tv.tv_usec == 0)
		tv.tv_usec = 1000; /* zero would mean no timeout at all */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

cs_error_t cv_socket_connect(int *sock, int timeout_ms)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	const char *path = socket_path();
	int fd, err;

	if (strlen(path) >= sizeof(addr.sun_path))
		return CS_ERR_LIBRARY;
	memcpy(addr.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return cv_errno_to_cs(errno);
	connect_timeout_set(fd, timeout_ms);
	if (connect_retrying(fd, &addr) < 0) {
		err = errno;
		close(fd);
		return cv_errno_to_cs(err);
	}
	*sock = fd;
	return CS_OK;
}

ssize_t cv_socket_send_some(int sock, const struct iovec *iov, size_t iovcnt)
{
	struct msghdr msg = { .msg_iov = (struct iovec *)iov, .msg_iovlen = iovcnt };
	ssize_t n;

	/* send() of one buffer costs the kernel less than taking an iovec */
	do
		n = iovcnt == 1 ? send(sock, iov->iov_base, iov->iov_len, MSG_NOSIGNAL | MSG_DONTWAIT)
				: sendmsg(sock, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n >= 0)
		return n;
	return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
}

ssize_t cv_socket_send_fd(int sock, const void *buf, size_t len, int fd)
{
	union cv_fds_control control;
	struct iovec iov = { (void *)buf, len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	cv_fds_attach(&msg, &control, &fd, 1);
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n >= 0)
		return n;
	return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
}

ssize_t cv_socket_recv_some(int sock, void *buf, size_t len)
{
	ssize_t n;

	do
		n = recv(sock, buf, len, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n >= 0)
		return n;
	return errno == EWOULDBLOCK ? -EAGAIN : -errno;
}

int cv_poll(struct pollfd *fds, unsigned int nfds, int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? 0 : (int64_t)cv_clock_ms() + timeout_ms;
	int wait_ms = timeout_ms;
	int r;

	for (;;) {
		r = poll(fds, nfds, wait_ms);
		if (r >= 0)
			return r;
		if (errno != EINTR)
			return -errno;
		if (timeout_ms >= 0) {
			int64_t left = deadline - (int64_t)cv_clock_ms();

			wait_ms = left > 0 ? (int)left : 0;
		}
	}
}

/* Waits for `events` on sock until deadline_ms (monotonic). Returns 1 when
 * ready, 0 on timeout, -errno on error. */
static int wait_until(int sock, short events, int64_t deadline_ms)
{
	struct pollfd pfd = { .fd = sock, .events = events };
	int64_t left = deadline_ms - (int64_t)cv_clock_ms();

	return cv_poll(&pfd, 1, left > 0 ? (int)left : 0);
}

static cs_error_t send_exact(int sock, const void *buf, size_t len, int64_t deadline_ms)
{
	const uint8_t *p = buf;
	ssize_t n;
	int r;

	while (len > 0) {
		struct iovec iov = { (void *)p, len };

		n = cv_socket_send_some(sock, &iov, 1);
		if (n < 0)
			return CS_ERR_LIBRARY;
		p += n;
		len -= (size_t)n;
		if (len > 0 && n == 0) {
			r = wait_until(sock, POLLOUT, deadline_ms);
			if (r <= 0)
				return r == 0 ? CS_ERR_TRY_AGAIN : CS_ERR_LIBRARY;
		}
	}
	return CS_OK;
}

/* One non-blocking receive that takes the descriptor passed with the
 * bytes into *fd: as cv_socket_recv_some, and -EPROTO when any other came
 * (or one when *fd held one already). */
static ssize_t recv_taking_fd(int sock, void *buf, size_t len, int *fd)
{
	union cv_fds_control control;
	struct iovec iov = { buf, len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	unsigned int wanted = *fd == -1;
	ssize_t n;

	cv_fds_expect(&msg, &control);
	do
		n = recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return cv_fds_take(&msg, fd) > wanted ? -EPROTO : n;
}

ssize_t cv_socket_recv_queueing_fd(int sock, void *buf, size_t len, int *fds, unsigned int *n_fds,
				   unsigned int max_fds)
{
	int fd = -1;
	ssize_t n = recv_taking_fd(sock, buf, len, &fd);

	if (fd >= 0 && *n_fds == max_fds) {
		close(fd);
		return -EPROTO;
	}
	if (fd >= 0)
		fds[(*n_fds)++] = fd;
	return n;
}

/* Receives exactly len bytes, and the descriptor passed with them, if any,
 * in *fd. */
static cs_error_t recv_exact(int sock, void *buf, size_t len, int64_t deadline_ms, int *fd)
{
	uint8_t *p = buf;
	ssize_t n;
	int r;

	while (len > 0) {
		n = recv_taking_fd(sock, p, len, fd);
		if (n == 0)
			return CS_ERR_LIBRARY; /* the daemon hung up */
		if (n == -EAGAIN) {
			r = wait_until(sock, POLLIN, deadline_ms);
			if (r <= 0)
				return r == 0 ? CS_ERR_TRY_AGAIN : CS_ERR_LIBRARY;
			continue;
		}
		if (n < 0)
			return CS_ERR_LIBRARY;
		p += n;
		len -= (size_t)n;
	}
	return CS_OK;
}

static cs_error_t hello_send(int sock, const struct cv_client_service *svc, int64_t deadline_ms)
{
	struct {
		struct cv_frame_header header;
		struct cv_hello hello;
	} frame;
	size_t name_len = strlen(svc->name);

	memset(&frame, 0, sizeof(frame));
	frame.header.length = sizeof(frame.hello);
	frame.header.kind = CV_FRAME_HELLO;
	frame.hello.magic = CV_WIRE_MAGIC;
	frame.hello.idl_major = svc->version_major;
	frame.hello.idl_minor = svc->version_minor;
	memcpy(frame.hello.service, svc->name, name_len);
	frame.hello.reads = CV_READS_EVENT_RING;
	return send_exact(sock, &frame, sizeof(frame), deadline_ms);
}

/* The refusals the daemon may send; anything else is a protocol error. */
static cs_error_t welcome_refusal(int32_t status)
{
	switch (status) {
	case CS_ERR_ACCESS:
	case CS_ERR_NOT_SUPPORTED:
	case CS_ERR_TRY_AGAIN:
	case CS_ERR_NO_RESOURCES:
		return (cs_error_t)status;
	default:
		return CS_ERR_LIBRARY;
	}
}

/* The WELCOME, read exactly (events may follow it), with the reply
 * channel it carries in *reply_fd, which stays -1 for a refusal. */
static cs_error_t welcome_receive(int sock, int64_t deadline_ms, struct cv_welcome *welcome, int *reply_fd)
{
	struct cv_frame_header header;
	cs_error_t err;

	err = recv_exact(sock, &header, sizeof(header), deadline_ms, reply_fd);
	if (err != CS_OK)
		return err;
	if (header.kind != CV_FRAME_WELCOME)
		return CS_ERR_LIBRARY;
	if (header.status != CS_OK)
		return *reply_fd < 0 ? welcome_refusal(header.status) : CS_ERR_LIBRARY;
	if (header.length < CV_WELCOME_MIN_SIZE || header.length > sizeof(*welcome))
		return CS_ERR_LIBRARY;
	memset(welcome, 0, sizeof(*welcome));
	err = recv_exact(sock, welcome, header.length, deadline_ms, reply_fd);
	if (err != CS_OK)
		return err;
	return welcome->magic == CV_WIRE_MAGIC && *reply_fd >= 0 ? CS_OK : CS_ERR_LIBRARY;
}

cs_error_t cv_socket_handshake(int sock, const struct cv_client_service *svc, int timeout_ms,
			       struct cv_welcome *welcome, int *reply_fd)
{
	int64_t deadline_ms = (int64_t)cv_clock_ms() + timeout_ms;
	cs_error_t err;

	if (svc->name == NULL || strlen(svc->name) >= CV_SERVICE_NAME_MAX)
		return CS_ERR_LIBRARY;
	err = hello_send(sock, svc, deadline_ms);
	if (err == CS_ERR_TRY_AGAIN)
		return err;
	/* Even when sending failed: a daemon that refuses us may write its
	 * WELCOME and close before reading our HELLO, and the refusal is still
	 * there to read. */
	*reply_fd = -1;
	err = welcome_receive(sock, deadline_ms, welcome, reply_fd);
	if (err != CS_OK && *reply_fd >= 0) {
		close(*reply_fd);
		*reply_fd = -1;
	}
	return err;
}
