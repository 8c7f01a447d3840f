/* libFuzzer target: the daemon's socket input (session-input.c) on a real
 * session of the daemon core, with a service of its own. Each input is a
 * client's byte stream, written into one end of a socket pair whose other
 * end the core took as an accepted connection, in chunks between turns of
 * the loop; then the client leaves. The session must consume it or close,
 * and a second session, open all along, must still answer a request.
 *
 * Input: a control byte, then the stream.
 *   bits 0-3: chunk size in bytes (0: the whole stream in one write)
 *   bit 4:    a sealed memfd, as RING_OPEN takes, attached to the first chunk
 *   bit 5:    a second descriptor attached too (one more than any frame takes)
 *   bit 6:    the client shuts down its writing before it closes
 * A ring the stream opens is not written to: tests/fuzz/fuzz-ring-reader.c
 * covers what a ring brings. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <linux/sockios.h>
#include <unistd.h>

#include "cpg.pb-c.h"
#include "cv-daemon.h"
#include "cv-fds.h"
#include "cv-log.h"
#include "cv-loop.h"
#include "cv-server-private.h"
#include "quorum.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SERVICE_NAME "fuzz"
/* Turns of the loop at most after each chunk, and after the client left:
 * bounded so that no input runs long. */
#define TURNS_PER_CHUNK 4
#define TURNS_TO_CLOSE 64
#define MAX_CHUNKS 4096

enum {
	REQ_ECHO,      /* replies with its argument */
	REQ_EVENT,     /* one-way: an event carrying its argument */
	REQ_VALIDATED, /* argument 13 is a violation */
	REQ_QUORATE,   /* quorate only */
	REQ_GAP,       /* no request: a gap in the table */
	REQ_MESSAGE,   /* a bytes field, which a REQUEST_SPLIT carries after the protobuf */
	N_REQUESTS,
};

#define ARG(request) (((const QuorumTrackstartRequest *)(request))->flags)
#define ANSWER(reply) (((QuorumModelGettypeReply *)(reply))->quorum_type)

static cs_error_t echo(struct cv_session *s, const ProtobufCMessage *rq, ProtobufCMessage *rp)
{
	ANSWER(rp) = ARG(rq);
	return CS_OK;
}

static cs_error_t event(struct cv_session *s, const ProtobufCMessage *rq, ProtobufCMessage *rp)
{
	QuorumNotificationEvent e = QUORUM_NOTIFICATION_EVENT__INIT;

	e.quorate = ARG(rq);
	return cv_session_send_event(s, 0, &e.base);
}

static cs_error_t check_arg(const ProtobufCMessage *rq)
{
	return ARG(rq) == 13 ? CS_ERR_INVALID_PARAM : CS_OK;
}

static cs_error_t message(struct cv_session *s, const ProtobufCMessage *rq, ProtobufCMessage *rp)
{
	ANSWER(rp) = (uint32_t)((const CpgMessageEvent *)rq)->msg.len;
	return CS_OK;
}

#define REQUEST(fn, request_desc, validate, flags)                                              \
	{                                                                                       \
#fn, request_desc, &quorum_model_gettype_reply__descriptor, fn, validate, flags \
	}

static const struct cv_request_desc requests[N_REQUESTS] = {
	[REQ_ECHO] = REQUEST(echo, &quorum_trackstart_request__descriptor, NULL, 0),
	[REQ_EVENT] = { "event", &quorum_trackstart_request__descriptor, NULL, event, NULL,
			CV_REQUEST_ONEWAY },
	[REQ_VALIDATED] = REQUEST(echo, &quorum_trackstart_request__descriptor, check_arg, 0),
	[REQ_QUORATE] = REQUEST(echo, &quorum_trackstart_request__descriptor, NULL, CV_REQUEST_QUORATE_ONLY),
	[REQ_MESSAGE] = REQUEST(message, &cpg_message_event__descriptor, NULL, 0),
};

static const char *const event_names[] = { "notification" };
static const struct cv_server_service service = {
	.name = SERVICE_NAME,
	.version_major = 1,
	.version_minor = 0,
	.n_requests = N_REQUESTS,
	.requests = requests,
	.n_events = 1,
	.event_names = event_names,
};

/* ---- a client's end of a connection ------------------------------------ */

struct client {
	int sock;
	int replies; /* the reply channel a WELCOME brought; -1 before */
};

/* Hands the core its end of a new socket pair, as the listener would. */
static int client_connect(struct client *c)
{
	struct ucred cred = { .pid = getpid(), .uid = getuid(), .gid = getgid() };
	int ends[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, ends) < 0)
		return -1;
	c->sock = ends[0];
	c->replies = -1;
	cv_session_create(ends[1], &cred, CS_OK);
	return 0;
}

/* Reads and drops what the daemon wrote, keeping the reply channel a
 * WELCOME carries; the bytes themselves are not checked here. */
static void drain(int fd, int *kept)
{
	uint8_t buf[65536];
	union cv_fds_control control;
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	for (;;) {
		cv_fds_expect(&msg, &control);
		if (recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) <= 0)
			return;
		if (kept)
			cv_fds_take(&msg, kept);
	}
}

static void client_drain(struct client *c)
{
	drain(c->sock, &c->replies);
	if (c->replies >= 0)
		drain(c->replies, NULL);
}

static void client_close(struct client *c)
{
	if (c->replies >= 0)
		close(c->replies);
	close(c->sock);
	c->sock = c->replies = -1;
}

static int send_frame(int fd, uint16_t kind, uint16_t id, uint32_t seq, const void *payload, uint32_t length)
{
	struct cv_frame_header h = { .length = length, .kind = kind, .id = id, .seq = seq };

	if (write(fd, &h, sizeof(h)) != (ssize_t)sizeof(h))
		return -1;
	return length == 0 || write(fd, payload, length) == (ssize_t)length ? 0 : -1;
}

/* ---- the core ---------------------------------------------------------- */

static struct cv_settings settings;
static struct client witness;
static struct cv_watch tick;
static int turns_left;

/* An always readable descriptor: every turn of the loop returns at once,
 * whether or not the session has anything to do. */
static void on_tick(void *data, uint32_t events)
{
	(void)data;
	(void)events;
}

static void after_turn(void)
{
	cv_sessions_reap();
	if (--turns_left <= 0)
		cv_loop_quit();
}

static void run_turns(int turns)
{
	turns_left = turns;
	if (cv_loop_run() < 0)
		abort();
}

static size_t sessions_open(void)
{
	struct cv_session *s;
	size_t n = 0;

	cv_list_for_each (s, &server_get()->sessions, link)
		n++;
	return n;
}

static uint32_t witness_seq;

/* The witness's request must be answered: the daemon serves on. */
static void witness_call(void)
{
	struct cv_frame_header h;
	uint8_t payload[16];
	QuorumTrackstartRequest request = QUORUM_TRACKSTART_REQUEST__INIT;

	request.flags = ++witness_seq;
	if (send_frame(witness.sock, CV_FRAME_REQUEST, REQ_ECHO, witness_seq, payload,
		       (uint32_t)protobuf_c_message_pack(&request.base, payload)) < 0)
		abort();
	for (int turn = 0; turn < TURNS_TO_CLOSE; turn++) {
		run_turns(1);
		if (recv(witness.replies, &h, sizeof(h), MSG_DONTWAIT) != (ssize_t)sizeof(h))
			continue;
		if (h.kind != CV_FRAME_REPLY || h.seq != witness_seq || h.status != CS_OK)
			abort();
		drain(witness.replies, NULL);
		return;
	}
	fprintf(stderr, "the witness session got no reply\n");
	abort();
}

static void witness_open(void)
{
	struct cv_hello hello = { .magic = CV_WIRE_MAGIC, .idl_major = 1 };

	strcpy(hello.service, SERVICE_NAME);
	if (client_connect(&witness) < 0 ||
	    send_frame(witness.sock, CV_FRAME_HELLO, 0, 0, &hello, sizeof(hello)) < 0)
		abort();
	for (int turn = 0; turn < TURNS_TO_CLOSE && witness.replies < 0; turn++) {
		run_turns(1);
		drain(witness.sock, &witness.replies);
	}
	if (witness.replies < 0)
		abort();
}

static void core_start(void)
{
	char err[256];
	struct cv_log_targets quiet = CV_LOG_TARGETS_DEFAULT;
	int fd;

	/* FUZZ_DAEMON_LOG=1 shows what the daemon logs, with debug lines. */
	quiet.to_stderr = getenv("FUZZ_DAEMON_LOG") != NULL;
	cv_log_set_targets(&quiet);
	cv_log_set_debug(quiet.to_stderr);
	if (cv_settings_load(NULL, &settings, err, sizeof(err)) < 0)
		abort();
	settings.limits.max_message_size = 8192;
	settings.limits.max_queued_bytes = 65536;
	if (cv_loop_init() < 0)
		abort();
	cv_sessions_init(&settings);
	if (cv_server_add_service(&service) < 0)
		abort();
	cv_server_set_quorate(true);
	cv_loop_set_after_batch(after_turn);
	cv_loop_set_poller(&cv_sessions_poller);
	fd = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0 || cv_watch_add(&tick, fd, EPOLLIN, on_tick, NULL) < 0)
		abort();
	witness_open();
}

/* ---- an input ---------------------------------------------------------- */

static int unread_bytes(int sock)
{
	int n = 0;

	return ioctl(sock, SIOCOUTQ, &n) < 0 ? 0 : n;
}

/* Turns until the session has read what its client sent, or stopped
 * reading (its output full, or closing). */
static void run_until_read(struct client *c)
{
	int turn = 0;

	do {
		run_turns(1);
		client_drain(c);
	} while (++turn < TURNS_PER_CHUNK && unread_bytes(c->sock) > 0);
}

/* A memfd as RING_OPEN wants one, for a ring of 4096 bytes. */
static int ring_memfd(void)
{
	int fd = memfd_create("fuzz-ring", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0 || ftruncate(fd, CV_RING_HEADER_SIZE + 4096) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		abort();
	return fd;
}

static void send_first_chunk(int sock, const uint8_t *bytes, size_t n, uint8_t control)
{
	int fds[2] = { -1, -1 };
	size_t n_fds = 0;
	union cv_fds_control space;
	struct iovec iov = { (void *)bytes, n };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (control & 0x10)
		fds[n_fds++] = ring_memfd();
	if (control & 0x20)
		fds[n_fds++] = eventfd(0, EFD_CLOEXEC);
	cv_fds_attach(&msg, &space, fds, n_fds);
	(void)sendmsg(sock, &msg, MSG_DONTWAIT);
	for (size_t i = 0; i < n_fds; i++)
		close(fds[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool started;
	struct client c;
	size_t chunk, at = 0, before;
	uint8_t control;

	if (!started) {
		core_start();
		started = true;
	}
	if (size < 1)
		return 0;
	control = data[0];
	data++;
	size--;
	chunk = (control & 0x0f) ? (control & 0x0f) : size;
	if (chunk == 0 || size / chunk > MAX_CHUNKS)
		chunk = size ? size : 1;
	before = sessions_open();
	if (client_connect(&c) < 0)
		abort();
	for (; at < size; at += chunk) {
		size_t n = size - at < chunk ? size - at : chunk;

		if (at == 0)
			send_first_chunk(c.sock, data, n, control);
		else
			(void)send(c.sock, data + at, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		run_until_read(&c);
	}
	if (control & 0x40) {
		shutdown(c.sock, SHUT_WR);
		run_turns(TURNS_PER_CHUNK);
		client_drain(&c);
	}
	client_close(&c);
	for (int turn = 0; turn < TURNS_TO_CLOSE && sessions_open() > before; turn++)
		run_turns(1);
	if (sessions_open() != before) {
		fprintf(stderr, "the session outlived its client\n");
		abort();
	}
	witness_call();
	return 0;
}
