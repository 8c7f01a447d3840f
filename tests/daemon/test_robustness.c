/* A real conclaved against misbehaving raw clients: every bad frame closes
 * only its own connection, with a log line naming the reason and the pid,
 * and a well-behaved client still gets correct replies afterwards. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cpg.pb-c.h"
#include "daemon-peer.h"
#include "quorum.pb-c.h"
#include "votequorum.pb-c.h"

/* RSS is meaningless under AddressSanitizer's shadow memory and quarantine:
 * small growths get a slack there, and the bounds of memory given back to
 * the system are checked in the plain build only (ASan keeps what is freed
 * in its quarantine and pads every allocation). */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_SLACK_KB (64L * 1024L)
#define RSS_BOUNDS_CHECKED false
#else
#define RSS_SLACK_KB 0L
#define RSS_BOUNDS_CHECKED true
#endif

#define NOBODY 65534

static struct test_daemon daemon_under_test;

static int start_single_node(void **state)
{
	return test_daemon_start(&daemon_under_test, TEST_SINGLE_NODE_CONFIG);
}

static int stop_daemon(void **state)
{
	return test_daemon_stop(&daemon_under_test) == 0 ? 0 : -1;
}

static void test_truncated_header(void **state)
{
	int fd = raw_client(daemon_under_test.socket, "quorum");
	struct cv_frame_header h = { .length = 0, .kind = CV_FRAME_REQUEST };

	assert_true(fd >= 0);
	assert_int_equal(raw_send(fd, &h, 7), 0);
	/* the daemon keeps serving others while this frame is incomplete */
	assert_daemon_serves(&daemon_under_test);
	shutdown(fd, SHUT_WR);
	assert_closed_with_log(&daemon_under_test, fd, "connection closed inside a frame header");
}

static void test_truncated_payload(void **state)
{
	int fd = raw_client(daemon_under_test.socket, "quorum");
	struct cv_frame_header h = { .length = 100, .kind = CV_FRAME_REQUEST };

	assert_true(fd >= 0);
	assert_int_equal(raw_send(fd, &h, sizeof(h)), 0);
	assert_int_equal(raw_send(fd, "abc", 3), 0);
	shutdown(fd, SHUT_WR);
	assert_closed_with_log(&daemon_under_test, fd, "connection closed inside a frame payload");
}

/* The length is checked before anything is allocated for the payload. */
static void test_oversized_length(void **state)
{
	long before = test_daemon_rss_kb(&daemon_under_test);

	for (int i = 0; i < 8; i++) {
		int fd = raw_client(daemon_under_test.socket, "quorum");
		struct cv_frame_header h = { .length = 64u * 1024u * 1024u, .kind = CV_FRAME_REQUEST };

		assert_true(fd >= 0);
		assert_int_equal(raw_send(fd, &h, sizeof(h)), 0);
		assert_closed_with_log(&daemon_under_test, fd,
				       "frame of 67108864 bytes exceeds max_message_size 1048576");
	}
	assert_true(test_daemon_rss_kb(&daemon_under_test) - before < 2048 + RSS_SLACK_KB);
}

static void test_oversized_before_hello(void **state)
{
	int fd = raw_connect(daemon_under_test.socket);
	struct cv_frame_header h = { .length = 0xfffffff0u, .kind = CV_FRAME_HELLO };

	assert_true(fd >= 0);
	assert_int_equal(raw_send(fd, &h, sizeof(h)), 0);
	assert_closed_with_log(&daemon_under_test, fd, "frame of 4294967280 bytes exceeds max_message_size");
}

static void test_unknown_frame_kind(void **state)
{
	int fd = raw_client(daemon_under_test.socket, "quorum");

	assert_true(fd >= 0);
	assert_int_equal(raw_send_frame(fd, 99, 0, 1, NULL, 0), 0);
	assert_closed_with_log(&daemon_under_test, fd, "unexpected frame kind 99");
}

static void test_reply_kind_from_client(void **state)
{
	int fd = raw_client(daemon_under_test.socket, "quorum");

	assert_true(fd >= 0);
	assert_int_equal(raw_send_frame(fd, CV_FRAME_REPLY, 0, 1, NULL, 0), 0);
	assert_closed_with_log(&daemon_under_test, fd, "unexpected frame kind 4");
}

static void test_unknown_request_id(void **state)
{
	int fd = raw_client(daemon_under_test.socket, "quorum");

	assert_true(fd >= 0);
	assert_int_equal(raw_send_frame(fd, CV_FRAME_REQUEST, 200, 1, NULL, 0), 0);
	assert_closed_with_log(&daemon_under_test, fd, "unknown request id 200");
}

static void test_undecodable_protobuf(void **state)
{
	static const uint8_t garbage[] = { 0x0f, 0xff, 0xff, 0xff, 0xff, 0xff,
					   0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
	int fd = raw_client(daemon_under_test.socket, "quorum");

	assert_true(fd >= 0);
	assert_int_equal(raw_send_frame(fd, CV_FRAME_REQUEST, 1, 1, garbage, sizeof(garbage)), 0);
	assert_closed_with_log(&daemon_under_test, fd, "undecodable protobuf payload");
}

/* ---- split frames (cv-wire.h) ---- */

#define CPG_REQUEST_JOIN 1
#define CPG_REQUEST_FRAGMENT 7
#define CPG_REQUEST_MCAST_LARGE 8
#define CPG_EVENT_MESSAGE 0
#define SPLIT_MSG_SIZE 5000

static int cpg_joined_client_of(const struct test_daemon *d)
{
	CpgGroupsJoinRequest join = CPG_GROUPS_JOIN_REQUEST__INIT;
	CpgName group = CPG_NAME__INIT;
	ProtobufCMessage *reply;
	int fd = raw_client(d->socket, "cpg");

	assert_true(fd >= 0);
	group.value.data = (uint8_t *)"split";
	group.value.len = 5;
	join.group = &group;
	assert_int_equal(
		raw_call(fd, CPG_REQUEST_JOIN, &join.base, &cpg_groups_join_reply__descriptor, &reply),
		CS_OK);
	protobuf_c_message_free_unpacked(reply, NULL);
	return fd;
}

static int cpg_joined_client(void)
{
	return cpg_joined_client_of(&daemon_under_test);
}

/* ---- large messages in pieces: the totals another member announces ---- */

static int fragment_call(int fd, uint32_t part, uint64_t total, size_t length)
{
	CpgGroupsFragmentRequest request = CPG_GROUPS_FRAGMENT_REQUEST__INIT;
	static uint8_t bytes[64];
	ProtobufCMessage *reply = NULL;
	int status;

	assert_true(length <= sizeof(bytes));
	request.part = part;
	request.total = total;
	request.msg.data = bytes;
	request.msg.len = length;
	status = raw_call(fd, CPG_REQUEST_FRAGMENT, &request.base, &cpg_groups_fragment_reply__descriptor,
			  &reply);
	if (reply != NULL)
		protobuf_c_message_free_unpacked(reply, NULL);
	return status;
}

/* A first piece announcing more than conclave.cpg_max_message_size (1 GiB
 * by default) is refused before any member sees it. */
static void test_fragment_total_beyond_the_limit(void **state)
{
	int fd = cpg_joined_client();

	assert_int_equal(fragment_call(fd, 1, UINT64_C(1) << 62, 8), CS_ERR_TOO_BIG);
	assert_int_equal(fragment_call(fd, 1, (UINT64_C(1) << 30) + 1, 8), CS_ERR_TOO_BIG);
	assert_int_equal(fragment_call(fd, 1, UINT64_C(1) << 30, 8), CS_OK);
	close(fd);
}

/* Pieces must add up to the total the first one announced. */
static void test_fragments_add_up_to_their_total(void **state)
{
	int fd = cpg_joined_client();

	assert_int_equal(fragment_call(fd, 1, 8, 9), CS_ERR_INVALID_PARAM);
	assert_int_equal(fragment_call(fd, 1, 20, 8), CS_OK);
	assert_int_equal(fragment_call(fd, 2, 21, 8), CS_ERR_INVALID_PARAM);
	assert_int_equal(fragment_call(fd, 2, 20, 8), CS_ERR_INTERRUPT); /* the message was abandoned */
	assert_int_equal(fragment_call(fd, 1, 20, 8), CS_OK);
	assert_int_equal(fragment_call(fd, 2, 20, 13), CS_ERR_INVALID_PARAM);
	assert_int_equal(fragment_call(fd, 1, 20, 8), CS_OK);
	assert_int_equal(fragment_call(fd, 3, 20, 8), CS_ERR_INVALID_PARAM); /* 16 of 20 at the last */
	assert_int_equal(fragment_call(fd, 1, 20, 8), CS_OK);
	assert_int_equal(fragment_call(fd, 2, 20, 8), CS_OK);
	assert_int_equal(fragment_call(fd, 3, 20, 4), CS_OK);
	assert_daemon_serves(&daemon_under_test);
	close(fd);
}

/* A REQUEST_SPLIT payload: the prefix (field and head_length, one-byte
 * varints), `head` as the protobuf, then `tail`. */
static void send_split_request(int fd, uint16_t id, uint8_t field, uint8_t head_length, const uint8_t *head,
			       size_t head_size, const uint8_t *tail, size_t tail_size)
{
	uint8_t prefix[2] = { field, head_length };
	size_t length = sizeof(prefix) + head_size + tail_size;
	uint8_t *payload = malloc(length);

	assert_true(field < 0x80 && head_length < 0x80);
	assert_non_null(payload);
	memcpy(payload, prefix, sizeof(prefix));
	if (head_size > 0)
		memcpy(payload + sizeof(prefix), head, head_size);
	memcpy(payload + sizeof(prefix) + head_size, tail, tail_size);
	assert_int_equal(raw_send_frame(fd, CV_FRAME_REQUEST_SPLIT, id, 1, payload, (uint32_t)length), 0);
	free(payload);
}

/* The next frame that is not the confchg of the join. */
static int read_past_confchgs(int fd, struct cv_frame_header *h, uint8_t **payload)
{
	int r;

	while ((r = raw_read_frame(fd, h, payload, 2000)) == 1 && h->kind == CV_FRAME_EVENT &&
	       h->id != CPG_EVENT_MESSAGE)
		free(*payload);
	return r;
}

/* A message sent split comes back split: the event's protobuf without
 * the message, the message's bytes after it. */
static void test_split_request_and_event(void **state)
{
	uint8_t msg[SPLIT_MSG_SIZE], *payload, head_length;
	struct cv_frame_header h;
	CpgMessageEvent *event;
	int fd = cpg_joined_client();

	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 13);
	send_split_request(fd, CPG_REQUEST_MCAST_LARGE, 1, 0, NULL, 0, msg, sizeof(msg));
	assert_int_equal(read_past_confchgs(fd, &h, &payload), 1);
	assert_int_equal(h.kind, CV_FRAME_EVENT_SPLIT);
	assert_int_equal(h.id, CPG_EVENT_MESSAGE);
	assert_int_equal(payload[0], 4); /* the prefix: CpgMessageEvent.msg, */
	head_length = payload[1];        /* then a protobuf shorter than 128 bytes */
	assert_true(head_length < 0x80);
	assert_int_equal(h.length, 2 + head_length + sizeof(msg));
	event = cpg_message_event__unpack(NULL, head_length, payload + 2);
	assert_non_null(event);
	assert_int_equal(event->msg.len, 0);
	assert_int_equal(event->pid, getpid());
	assert_memory_equal(payload + 2 + head_length, msg, sizeof(msg));
	cpg_message_event__free_unpacked(event, NULL);
	free(payload);
	assert_int_equal(raw_read_reply(fd, &h, &payload, 2000), 1);
	assert_int_equal(h.kind, CV_FRAME_REPLY);
	assert_int_equal(h.status, CS_OK);
	free(payload);
	close(fd);
}

static void test_split_request_with_its_prefix_cut_short(void **state)
{
	int fd = cpg_joined_client();

	assert_int_equal(
		raw_send_frame(fd, CV_FRAME_REQUEST_SPLIT, CPG_REQUEST_MCAST_LARGE, 1, "\x01\x80", 2), 0);
	assert_closed_with_log(&daemon_under_test, fd, "split frame with a malformed prefix");
}

static void test_split_request_with_a_field_number_beyond_32_bits(void **state)
{
	static const uint8_t prefix[] = { 0xff, 0xff, 0xff, 0xff, 0x7f, 0x00 };
	int fd = cpg_joined_client();

	assert_int_equal(raw_send_frame(fd, CV_FRAME_REQUEST_SPLIT, CPG_REQUEST_MCAST_LARGE, 1, prefix,
					sizeof(prefix)),
			 0);
	assert_closed_with_log(&daemon_under_test, fd, "split frame with a malformed prefix");
}

static void test_split_request_head_past_its_end(void **state)
{
	static const uint8_t tail[8];
	int fd = cpg_joined_client();

	send_split_request(fd, CPG_REQUEST_MCAST_LARGE, 1, 9, NULL, 0, tail, sizeof(tail));
	assert_closed_with_log(&daemon_under_test, fd, "split frame whose protobuf runs past its end");
}

static void test_split_request_naming_no_bytes_field(void **state)
{
	static const uint8_t tail[8];
	int fd = cpg_joined_client();

	send_split_request(fd, CPG_REQUEST_MCAST_LARGE, 2, 0, NULL, 0, tail, sizeof(tail));
	assert_closed_with_log(&daemon_under_test, fd, "split frame naming no bytes field of its message");
}

static void test_split_request_with_its_field_inside_too(void **state)
{
	static const uint8_t head[] = { 0x0a, 0x01, 0x07 }; /* msg = "\x07" */
	static const uint8_t tail[8];
	int fd = cpg_joined_client();

	send_split_request(fd, CPG_REQUEST_MCAST_LARGE, 1, sizeof(head), head, sizeof(head), tail,
			   sizeof(tail));
	assert_closed_with_log(&daemon_under_test, fd,
			       "split frame carrying its split field inside the protobuf too");
}

static void test_split_request_undecodable(void **state)
{
	static const uint8_t head[] = { 0x0f, 0xff, 0xff };
	static const uint8_t tail[8];
	int fd = cpg_joined_client();

	send_split_request(fd, CPG_REQUEST_MCAST_LARGE, 1, sizeof(head), head, sizeof(head), tail,
			   sizeof(tail));
	assert_closed_with_log(&daemon_under_test, fd, "undecodable protobuf payload");
}

/* Declared bounds are the last check: a 300-byte quorum device name. */
static void test_request_out_of_bounds(void **state)
{
	VotequorumQdeviceRegisterRequest request = VOTEQUORUM_QDEVICE_REGISTER_REQUEST__INIT;
	char name[301];
	uint8_t bytes[400];
	int fd = raw_client(daemon_under_test.socket, "votequorum");

	assert_true(fd >= 0);
	memset(name, 'q', 300);
	name[300] = '\0';
	request.name = name;
	assert_int_equal(raw_send_frame(fd, CV_FRAME_REQUEST, 5, 1, bytes,
					(uint32_t)protobuf_c_message_pack(&request.base, bytes)),
			 0);
	assert_closed_with_log(&daemon_under_test, fd,
			       "request qdevice_register breaks the declared bounds of its fields");
}

/* A counted array's bytes beyond its size: a 129-byte cpg group name. */
static void test_counted_field_beyond_its_array(void **state)
{
	CpgGroupsJoinRequest request = CPG_GROUPS_JOIN_REQUEST__INIT;
	CpgName group = CPG_NAME__INIT;
	uint8_t name[129];
	uint8_t bytes[256];
	int fd = raw_client(daemon_under_test.socket, "cpg");

	assert_true(fd >= 0);
	memset(name, 'g', sizeof(name));
	group.value.data = name;
	group.value.len = sizeof(name);
	request.group = &group;
	assert_int_equal(raw_send_frame(fd, CV_FRAME_REQUEST, CPG_REQUEST_JOIN, 1, bytes,
					(uint32_t)protobuf_c_message_pack(&request.base, bytes)),
			 0);
	assert_closed_with_log(&daemon_under_test, fd,
			       "request groups_join breaks the declared bounds of its fields");
}

static void test_request_before_hello(void **state)
{
	int fd = raw_connect(daemon_under_test.socket);

	assert_true(fd >= 0);
	assert_int_equal(raw_send_frame(fd, CV_FRAME_REQUEST, 0, 1, NULL, 0), 0);
	assert_closed_with_log(&daemon_under_test, fd, "frame kind 3 before HELLO");
}

static void test_short_hello(void **state)
{
	int fd = raw_connect(daemon_under_test.socket);

	assert_true(fd >= 0);
	assert_int_equal(raw_send_frame(fd, CV_FRAME_HELLO, 0, 0, "quorum", 6), 0);
	assert_closed_with_log(&daemon_under_test, fd, "HELLO of 6 bytes, expected 40 or 44");
}

static void assert_hello_refused(uint32_t magic, const char *service, uint16_t major, uint16_t minor,
				 int status, const char *reason)
{
	int fd = raw_connect(daemon_under_test.socket);
	struct cv_frame_header h;
	uint8_t *payload;

	assert_true(fd >= 0);
	assert_int_equal(raw_send_hello(fd, magic, service, major, minor), 0);
	assert_int_equal(raw_read_welcome(fd, &h, &payload, 2000), 1);
	assert_int_equal(h.kind, CV_FRAME_WELCOME);
	assert_int_equal(h.status, status);
	assert_int_equal(h.length, 0);
	assert_int_equal(raw_reply_fd(fd), -1); /* a refusal comes without a reply channel */
	assert_closed_with_log(&daemon_under_test, fd, reason);
}

static void test_wrong_magic(void **state)
{
	assert_hello_refused(0x12345678, "quorum", 1, 0, CS_ERR_NOT_SUPPORTED,
			     "HELLO with a wrong magic number");
}

static void test_unknown_service(void **state)
{
	assert_hello_refused(CV_WIRE_MAGIC, "nosuchservice", 1, 0, CS_ERR_NOT_SUPPORTED,
			     "HELLO for service 'nosuchservice', which is not offered");
}

static void test_wrong_version(void **state)
{
	assert_hello_refused(CV_WIRE_MAGIC, "quorum", 2, 0, CS_ERR_NOT_SUPPORTED,
			     "HELLO with an incompatible IDL version");
	assert_hello_refused(CV_WIRE_MAGIC, "votequorum", 1, 1, CS_ERR_NOT_SUPPORTED,
			     "HELLO with an incompatible IDL version");
}

static void test_silent_client_is_closed(void **state)
{
	int fd = raw_connect(daemon_under_test.socket);

	assert_true(fd >= 0);
	assert_closed_with_log(&daemon_under_test, fd, "no HELLO in time");
}

static void test_welcome_announces_limit(void **state)
{
	int fd = raw_connect(daemon_under_test.socket);
	struct ucred cred;
	struct cv_frame_header h;
	struct cv_welcome welcome;
	uint8_t *payload;

	assert_true(fd >= 0);
	assert_int_equal(raw_send_hello(fd, CV_WIRE_MAGIC, "votequorum", 1, 0), 0);
	assert_int_equal(raw_read_welcome(fd, &h, &payload, 2000), 1);
	assert_int_equal(h.status, CS_OK);
	assert_int_equal(h.length, sizeof(welcome));
	memcpy(&welcome, payload, sizeof(welcome));
	assert_int_equal(welcome.magic, CV_WIRE_MAGIC);
	assert_int_equal(welcome.max_message_size, 1024 * 1024);
	free(payload);
	/* the reply channel it carries is the daemon's too */
	assert_int_equal(
		getsockopt(raw_reply_fd(fd), SOL_SOCKET, SO_PEERCRED, &cred, &(socklen_t){ sizeof(cred) }),
		0);
	assert_int_equal(cred.pid, daemon_under_test.pid);
	close(fd);
}

/* ---- tests with a daemon of their own ---------------------------------- */
/* The daemon of the current test, stopped by the teardown even when an
 * assertion ends the test early. */
static struct test_daemon own;

static int stop_own(void **state)
{
	if (own.pid > 0 && test_daemon_stop(&own) != 0)
		return -1;
	return 0;
}

#define LIMITS_CONFIG                                    \
	"quorum {\n\tprovider: corosync_votequorum\n}\n" \
	"conclave {\n\tmax_connections: %u\n\tmax_connections_per_uid: %u\n\thello_timeout: 500\n}\n"

static int start_with_limits(struct test_daemon *d, unsigned max, unsigned per_uid)
{
	char config[512];

	snprintf(config, sizeof(config), LIMITS_CONFIG, max, per_uid);
	return test_daemon_start(d, config);
}

static void assert_limit_refusal(struct test_daemon *d, const char *log_text)
{
	int fd = raw_connect(d->socket);

	assert_true(fd >= 0);
	assert_int_equal(raw_handshake(fd, "quorum"), CS_ERR_TRY_AGAIN);
	assert_true(raw_closed_within(fd, 2000));
	close(fd);
	assert_true(test_daemon_log_contains(d, log_text, 2000));
}

static void test_connection_limit(void **state)
{
	int fds[3];

	assert_int_equal(start_with_limits(&own, 3, 3), 0);
	for (int i = 0; i < 3; i++)
		assert_true((fds[i] = raw_client(own.socket, "quorum")) >= 0);
	assert_limit_refusal(&own, "max_connections (3) reached");
	close(fds[0]);
	usleep(100000);
	assert_true((fds[0] = raw_client(own.socket, "quorum")) >= 0);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	assert_int_equal(test_daemon_stop(&own), 0);
}

static void test_connection_limit_per_uid(void **state)
{
	int fds[2];

	assert_int_equal(start_with_limits(&own, 100, 2), 0);
	for (int i = 0; i < 2; i++)
		assert_true((fds[i] = raw_client(own.socket, "votequorum")) >= 0);
	assert_limit_refusal(&own, "max_connections_per_uid (2) reached");
	for (int i = 0; i < 2; i++)
		close(fds[i]);
	assert_int_equal(test_daemon_stop(&own), 0);
}

static void test_sigterm_closes_clients(void **state)
{
	struct stat st;
	int fds[3];
	int status;

	assert_int_equal(test_daemon_start(&own, TEST_SINGLE_NODE_CONFIG), 0);
	fds[0] = raw_client(own.socket, "quorum");
	fds[1] = raw_client(own.socket, "votequorum");
	fds[2] = raw_connect(own.socket); /* still in its handshake */
	for (int i = 0; i < 3; i++)
		assert_true(fds[i] >= 0);
	kill(own.pid, SIGTERM);
	for (int i = 0; i < 3; i++) {
		assert_true(raw_closed_within(fds[i], 3000));
		close(fds[i]);
	}
	assert_int_equal(waitpid(own.pid, &status, 0), own.pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	own.pid = 0;
	assert_int_equal(stat(own.socket, &st), -1);
	test_daemon_stop(&own);
}

static void test_bad_config_exits(void **state)
{
	char path[] = "/tmp/conclaved-bad-XXXXXX";
	char out[4096], expected[256];
	const char *args[] = { "-f", "-s", "/tmp/conclaved-never.sock", "-c", path, NULL };
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	const char *text = "totem {\n\tversion: 2\n}\nconclave {\n\tmax_connections: lots\n}\n";

	assert_true(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(run_conclaved(args, out, sizeof(out)), 1);
	snprintf(
		expected, sizeof(expected),
		"%s:5: error: invalid value 'lots' for max_connections: expected an integer from 1 to 1000000\n",
		path);
	assert_string_equal(out, expected);
	unlink(path);
}

static void test_missing_explicit_config_exits(void **state)
{
	const char *args[] = { "-f", "-s", "/tmp/conclaved-never.sock", "-c", "/nonexistent/conclave.conf",
			       NULL };
	char out[4096];

	assert_int_equal(run_conclaved(args, out, sizeof(out)), 1);
	assert_string_equal(out,
			    "/nonexistent/conclave.conf: error: cannot open: No such file or directory\n");
}

static void test_unknown_option_exits(void **state)
{
	const char *args[] = { "-x", NULL };
	char out[4096];

	assert_int_equal(run_conclaved(args, out, sizeof(out)), 2);
	assert_non_null(strstr(out, "usage: conclaved"));
}

/* Without -f the parent returns once the daemon listens; the daemon is
 * found through the socket's peer credentials. */
/* SIGTERM to the daemon listening on socket_path (started in the
 * background), and waits until it has closed. */
static void stop_daemon_on(const char *socket_path)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd = raw_client(socket_path, "quorum");

	assert_true(fd >= 0);
	assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len), 0);
	assert_true(cred.pid != getpid() && cred.pid > 1);
	assert_int_equal(kill(cred.pid, SIGTERM), 0);
	assert_true(raw_closed_within(fd, 3000));
	close(fd);
}

static void test_daemonizes(void **state)
{
	char dir[] = "/tmp/conclaved-bg-XXXXXX";
	char socket_path[64], out[4096];
	const char *args[] = { "-s", socket_path, NULL };
	struct stat st;

	assert_non_null(mkdtemp(dir));
	snprintf(socket_path, sizeof(socket_path), "%s/sub/conclaved.sock", dir);
	assert_int_equal(run_conclaved(args, out, sizeof(out)), 0);
	stop_daemon_on(socket_path);
	for (int i = 0; i < 300 && stat(socket_path, &st) == 0; i++)
		usleep(10000);
	assert_int_equal(stat(socket_path, &st), -1);
	*strrchr(socket_path, '/') = '\0';
	rmdir(socket_path);
	rmdir(dir);
}

/* ---- the socket's directory ------------------------------------------- */

/* Runs conclaved in the background on `dir`/conclaved.sock: its exit
 * status, its output in out. */
static int start_in_dir(const char *dir, char *socket_path, size_t size, char *out, size_t out_size)
{
	const char *args[] = { "-s", socket_path, NULL };

	snprintf(socket_path, size, "%s/conclaved.sock", dir);
	return run_conclaved(args, out, out_size);
}

static void test_socket_dir_writable_by_others(void **state)
{
	char dir[] = "/tmp/conclaved-dir-XXXXXX";
	char socket_path[96], out[4096];

	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_not_equal(start_in_dir(dir, socket_path, sizeof(socket_path), out, sizeof(out)), 0);
	assert_non_null(strstr(out, "refusing socket directory"));
	assert_non_null(strstr(out, "0777 lets other users write it"));
	assert_int_equal(chmod(dir, 0775), 0);
	assert_int_not_equal(start_in_dir(dir, socket_path, sizeof(socket_path), out, sizeof(out)), 0);
	assert_non_null(strstr(out, "0775 lets other users write it"));
	/* Sticky, as /tmp: others cannot move what is not theirs. */
	assert_int_equal(chmod(dir, 01777), 0);
	assert_int_equal(start_in_dir(dir, socket_path, sizeof(socket_path), out, sizeof(out)), 0);
	stop_daemon_on(socket_path);
	rmdir(dir);
}

static bool root_or_skip(const char *why)
{
	const char *ci = getenv("CI");

	if (geteuid() == 0)
		return true;
	if (ci != NULL && strcmp(ci, "true") == 0)
		fail_msg("%s needs root", why);
	print_message("skipped: %s needs root\n", why);
	return false;
}

static void test_socket_dir_of_another_user(void **state)
{
	char dir[] = "/tmp/conclaved-dir-XXXXXX";
	char sub[64], socket_path[96], out[4096];
	struct stat st;

	if (!root_or_skip("a directory of another user"))
		skip();
	assert_non_null(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/theirs", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(chown(sub, NOBODY, NOBODY), 0);
	assert_int_not_equal(start_in_dir(sub, socket_path, sizeof(socket_path), out, sizeof(out)), 0);
	assert_non_null(strstr(out, "owned by uid 65534, neither root nor the daemon's"));
	/* A directory above the socket's counts as much. */
	assert_int_equal(chown(sub, 0, 0), 0);
	assert_int_equal(chown(dir, NOBODY, NOBODY), 0);
	assert_int_not_equal(start_in_dir(sub, socket_path, sizeof(socket_path), out, sizeof(out)), 0);
	assert_non_null(strstr(out, "owned by uid 65534"));
	/* A socket another user left in a sticky directory is not taken over. */
	assert_int_equal(chown(dir, 0, 0), 0);
	assert_int_equal(chmod(sub, 01777), 0);
	assert_int_equal(start_in_dir(sub, socket_path, sizeof(socket_path), out, sizeof(out)), 0);
	stop_daemon_on(socket_path);
	assert_int_equal(lstat(socket_path, &st), -1);
	assert_int_equal(mknod(socket_path, S_IFSOCK | 0666, 0), 0);
	assert_int_equal(lchown(socket_path, NOBODY, NOBODY), 0);
	assert_int_not_equal(start_in_dir(sub, socket_path, sizeof(socket_path), out, sizeof(out)), 0);
	assert_non_null(strstr(out, "belongs to uid 65534"));
	unlink(socket_path);
	rmdir(sub);
	rmdir(dir);
}

/* The socket is swapped for a symlink to a file right after bind(): the
 * file keeps its mode, and the socket has 0666 all the same. */
static void test_socket_swapped_after_bind(void **state)
{
	char dir[] = "/tmp/conclaved-race-XXXXXX";
	char socket_path[96], moved[128], victim[96], out[4096], asan[512];
	const char *asan_before = getenv("ASAN_OPTIONS");
	struct stat st;
	int fd, status;

	assert_non_null(mkdtemp(dir));
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	assert_true((fd = open(victim, O_CREAT | O_WRONLY | O_EXCL, 0600)) >= 0);
	close(fd);
	snprintf(asan, sizeof(asan), "%s%sverify_asan_link_order=0", asan_before ? asan_before : "",
		 asan_before ? ":" : "");
	setenv("ASAN_OPTIONS", asan, 1);
	setenv("LD_PRELOAD", BIND_RACE_PATH, 1);
	setenv("BIND_RACE_VICTIM", victim, 1);
	status = start_in_dir(dir, socket_path, sizeof(socket_path), out, sizeof(out));
	unsetenv("LD_PRELOAD");
	unsetenv("BIND_RACE_VICTIM");
	if (asan_before != NULL)
		setenv("ASAN_OPTIONS", asan_before, 1);
	else
		unsetenv("ASAN_OPTIONS");
	assert_int_equal(status, 0);
	assert_int_equal(stat(victim, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	snprintf(moved, sizeof(moved), "%s.moved", socket_path);
	assert_int_equal(lstat(moved, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0666);
	stop_daemon_on(moved);
	unlink(moved);
	unlink(socket_path);
	unlink(victim);
	rmdir(dir);
}

/* ---- the uid/gid allow-list -------------------------------------------- */

/* Forks a child that becomes nobody and returns its WELCOME status. */
static int handshake_as_nobody(const char *socket_path)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		int fd;

		if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
			_exit(250);
		fd = raw_connect(socket_path);
		if (fd < 0)
			_exit(251);
		status = raw_handshake(fd, "quorum");
		_exit(status < 0 ? 252 : status);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void assert_nobody_gets(const char *uidgid_section, int expected)
{
	char config[512];

	snprintf(config, sizeof(config),
		 "quorum {\n\tprovider: corosync_votequorum\n}\n%s" TEST_CONCLAVE_SECTION, uidgid_section);
	assert_int_equal(test_daemon_start(&own, config), 0);
	assert_int_equal(handshake_as_nobody(own.socket), expected);
	if (expected == CS_ERR_ACCESS)
		assert_true(test_daemon_log_contains(
			&own, "(uid 65534, gid 65534): not in the uidgid allow-list", 2000));
	assert_int_equal(test_daemon_stop(&own), 0);
}

static void test_fragment_total_configured(void **state)
{
	int fd;

	assert_int_equal(
		test_daemon_start(&own, TEST_SINGLE_NODE_SECTIONS
				  "conclave {\n\thello_timeout: 500\n\tcpg_max_message_size: 4096\n}\n"),
		0);
	fd = cpg_joined_client_of(&own);
	assert_int_equal(fragment_call(fd, 1, 4097, 8), CS_ERR_TOO_BIG);
	assert_int_equal(fragment_call(fd, 1, 4096, 8), CS_OK);
	close(fd);
	assert_int_equal(test_daemon_stop(&own), 0);
}

/* ---- the log's rate limit ---------------------------------------------- */

#define RATE_LIMITED_CONFIG                              \
	"quorum {\n\tprovider: corosync_votequorum\n}\n" \
	"conclave {\n\thello_timeout: 500\n\tlog_rate_burst: 10\n\tlog_rate_interval: 1000\n}\n"
#define REFUSAL_TEXT "not in the uidgid allow-list"

static size_t log_lines_containing(const struct test_daemon *d, const char *text)
{
	char line[1024];
	size_t n = 0;
	FILE *f = fopen(d->log, "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, text) != NULL;
	fclose(f);
	return n;
}

/* Connections the allow-list refuses, as fast as they go: nobody's when we
 * are root (root is always allowed), ours otherwise. */
static void connect_refused_in_a_loop(const char *socket_path, int count)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		if (geteuid() == 0 && (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0))
			_exit(250);
		for (int i = 0; i < count; i++) {
			int fd = raw_connect(socket_path);

			if (fd < 0)
				_exit(251);
			raw_handshake(fd, "quorum");
			close(fd);
		}
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Refused connections in a loop log a burst of lines per interval, then
 * one line that says how many were suppressed. */
static void test_log_rate_limited(void **state)
{
	struct timespec start, end;
	long elapsed_ms;
	size_t lines;

	assert_int_equal(test_daemon_start(&own, RATE_LIMITED_CONFIG), 0);
	clock_gettime(CLOCK_MONOTONIC, &start);
	connect_refused_in_a_loop(own.socket, 500);
	clock_gettime(CLOCK_MONOTONIC, &end);
	elapsed_ms = (end.tv_sec - start.tv_sec) * 1000 + (end.tv_nsec - start.tv_nsec) / 1000000;
	lines = log_lines_containing(&own, REFUSAL_TEXT);
	print_message("500 refused connections in %ld ms logged %zu lines\n", elapsed_ms, lines);
	assert_true(lines >= 10);
	assert_true(lines <= 10 * (size_t)(elapsed_ms / 1000 + 2));
	usleep(1100 * 1000);
	connect_refused_in_a_loop(own.socket, 1);
	assert_true(test_daemon_log_has(&own, "suppressed", REFUSAL_TEXT, 2000));
	assert_int_equal(test_daemon_stop(&own), 0);
}

static void test_uid_allow_list(void **state)
{
	if (geteuid() != 0) {
		print_message("skipped: the allow-list test needs root to become nobody\n");
		skip();
	}
	assert_nobody_gets("", CS_ERR_ACCESS);
	assert_nobody_gets("uidgid {\n\tuid: 1\n\tgid: 2\n}\n", CS_ERR_ACCESS);
	assert_nobody_gets("uidgid {\n\tuid: 65534\n}\n", CS_OK);
	assert_nobody_gets("uidgid {\n\tgid: 65534\n}\n", CS_OK);
}

/* ---- bounded memory ---------------------------------------------------- */

#define VOTEQUORUM_REQUEST_SETEXPECTED 1
#define VOTEQUORUM_REQUEST_SETVOTES 2
#define VOTEQUORUM_REQUEST_TRACKSTART 3
#define VOTEQUORUM_REQUEST_QDEVICE_REGISTER 5
#define VOTEQUORUM_REQUEST_QDEVICE_POLL 8

#define SMALL_QUEUE_CONFIG                                                                                   \
	"quorum {\n\tprovider: corosync_votequorum\n\tdevice {\n\t\tmodel: net\n\t\ttimeout: 2000\n\t}\n}\n" \
	"conclave {\n\tmax_message_size: 4096\n\tmax_queued_bytes: 8192\n\thello_timeout: 500\n}\n"

static int vq_call(int fd, uint16_t id, const ProtobufCMessage *request)
{
	ProtobufCMessage *reply;
	const ProtobufCMessageDescriptor *desc = id == VOTEQUORUM_REQUEST_SETEXPECTED
							 ? &votequorum_setexpected_reply__descriptor
						 : id == VOTEQUORUM_REQUEST_TRACKSTART
							 ? &votequorum_trackstart_reply__descriptor
						 : id == VOTEQUORUM_REQUEST_QDEVICE_REGISTER
							 ? &votequorum_qdevice_register_reply__descriptor
							 : &votequorum_qdevice_poll_reply__descriptor;
	int status = raw_call(fd, id, request, desc, &reply);

	if (reply)
		protobuf_c_message_free_unpacked(reply, NULL);
	return status;
}

static int start_tracking(int fd)
{
	VotequorumTrackstartRequest request = VOTEQUORUM_TRACKSTART_REQUEST__INIT;

	request.flags = CS_TRACK_CHANGES_ONLY;
	return vq_call(fd, VOTEQUORUM_REQUEST_TRACKSTART, &request.base);
}

/* setexpected(expected_votes) until the tracker's queue is full:
 * TRY_AGAIN, or -1. */
static int fill_tracker_queue(int writer, uint32_t expected_votes)
{
	VotequorumSetexpectedRequest request = VOTEQUORUM_SETEXPECTED_REQUEST__INIT;

	request.expected_votes = expected_votes;
	for (int i = 0; i < 200000; i++) {
		int status = vq_call(writer, VOTEQUORUM_REQUEST_SETEXPECTED, &request.base);

		if (status != CS_OK)
			return status;
	}
	return -1;
}

/* Registers a quorum device "dev" with two votes: it makes the node
 * quorate while it casts them, and not when it does not. */
static void register_device_with_two_votes(int qdevice)
{
	VotequorumQdeviceRegisterRequest reg = VOTEQUORUM_QDEVICE_REGISTER_REQUEST__INIT;
	VotequorumSetvotesRequest votes = VOTEQUORUM_SETVOTES_REQUEST__INIT;

	reg.name = "dev";
	assert_int_equal(vq_call(qdevice, VOTEQUORUM_REQUEST_QDEVICE_REGISTER, &reg.base), CS_OK);
	votes.nodeid = 0; /* the quorum device */
	votes.votes = 2;
	assert_int_equal(vq_call(qdevice, VOTEQUORUM_REQUEST_SETVOTES, &votes.base), CS_OK);
}

static int poll_device(int qdevice, bool cast_vote)
{
	VotequorumQdevicePollRequest request = VOTEQUORUM_QDEVICE_POLL_REQUEST__INIT;
	VotequorumRingIdT ring = VOTEQUORUM_RING_ID_T__INIT;

	ring.nodeid = 1;
	ring.seq = 1;
	request.name = "dev";
	request.cast_vote = cast_vote;
	request.ring_id = &ring;
	return vq_call(qdevice, VOTEQUORUM_REQUEST_QDEVICE_POLL, &request.base);
}

/* Polls that turn quorate over and over until one is refused: TRY_AGAIN,
 * or -1. As in corosync, only a turn of quorate notifies quorum trackers. */
static int fill_with_quorate_turns(int qdevice)
{
	for (int i = 0; i < 200000; i++) {
		int status = poll_device(qdevice, i % 2 == 0);

		if (status != CS_OK)
			return status;
	}
	return -1;
}

static void test_slow_tracker_gets_try_again(void **state)
{
	VotequorumSetexpectedRequest request = VOTEQUORUM_SETEXPECTED_REQUEST__INIT;
	int tracker, writer;
	long before;

	assert_int_equal(test_daemon_start(&own, SMALL_QUEUE_CONFIG), 0);
	tracker = raw_client(own.socket, "votequorum");
	writer = raw_client(own.socket, "votequorum");
	assert_int_equal(start_tracking(tracker), CS_OK);
	before = test_daemon_rss_kb(&own);
	assert_int_equal(fill_tracker_queue(writer, 1), CS_ERR_TRY_AGAIN);
	assert_true(test_daemon_rss_kb(&own) - before < 1024 + RSS_SLACK_KB);
	assert_true(raw_drain_events(tracker, 300) > 0);
	request.expected_votes = 1;
	assert_int_equal(vq_call(writer, VOTEQUORUM_REQUEST_SETEXPECTED, &request.base), CS_OK);
	close(tracker);
	close(writer);
	assert_int_equal(test_daemon_stop(&own), 0);
}

/* A quorum tracker that does not read holds back votequorum changes too. */
static void test_slow_quorum_tracker_gets_try_again(void **state)
{
	QuorumTrackstartRequest track = QUORUM_TRACKSTART_REQUEST__INIT;
	QuorumTrackstartReply *reply;
	int tracker, qdevice;

	assert_int_equal(test_daemon_start(&own, SMALL_QUEUE_CONFIG), 0);
	tracker = raw_client(own.socket, "quorum");
	qdevice = raw_client(own.socket, "votequorum");
	track.flags = CS_TRACK_CHANGES_ONLY;
	assert_int_equal(raw_call(tracker, 1, &track.base, &quorum_trackstart_reply__descriptor,
				  (ProtobufCMessage **)&reply),
			 CS_OK);
	protobuf_c_message_free_unpacked(&reply->base, NULL);
	register_device_with_two_votes(qdevice);
	assert_int_equal(fill_with_quorate_turns(qdevice), CS_ERR_TRY_AGAIN);
	assert_true(raw_drain_events(tracker, 300) > 0);
	assert_int_equal(poll_device(qdevice, true), CS_OK);
	assert_int_equal(poll_device(qdevice, false), CS_OK);
	close(tracker);
	close(qdevice);
	assert_int_equal(test_daemon_stop(&own), 0);
}

/* A change the daemon makes itself cannot be refused: a full tracker is
 * closed, with a log line, rather than silently missing a notification. */
static void test_full_tracker_closed_on_qdevice_timeout(void **state)
{
	int tracker, writer, qdevice;

	assert_int_equal(test_daemon_start(&own, SMALL_QUEUE_CONFIG), 0);
	tracker = raw_client(own.socket, "votequorum");
	writer = raw_client(own.socket, "votequorum");
	qdevice = raw_client(own.socket, "votequorum");
	assert_int_equal(start_tracking(tracker), CS_OK);
	register_device_with_two_votes(qdevice);
	assert_int_equal(poll_device(qdevice, true), CS_OK);
	/* 3 expected votes, 3 present with the device's: losing them loses quorum */
	assert_int_equal(fill_tracker_queue(writer, 3), CS_ERR_TRY_AGAIN);
	assert_true(test_daemon_log_contains(&own, "lost contact with quorum device dev", 6000));
	assert_true(raw_closed_within(tracker, 3000));
	assert_true(test_daemon_log_contains(&own, "votequorum notification queue full", 1000));
	close(tracker);
	close(writer);
	close(qdevice);
	assert_int_equal(test_daemon_stop(&own), 0);
}

/* Requests sent without ever reading the replies: the daemon stops reading
 * once the queue is at its limit, so its memory stays bounded. */
static void test_client_not_reading_replies(void **state)
{
	struct cv_frame_header h = { .kind = CV_FRAME_REQUEST, .id = 0 };
	int fd;
	long before;
	size_t sent = 0;

	assert_int_equal(test_daemon_start(&own, SMALL_QUEUE_CONFIG), 0);
	fd = raw_client(own.socket, "quorum");
	before = test_daemon_rss_kb(&own);
	while (sent < 2000000) {
		h.seq = (uint32_t)sent;
		if (send(fd, &h, sizeof(h), MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)sizeof(h))
			break;
		sent++;
	}
	assert_true(sent < 2000000);
	usleep(200000);
	assert_true(test_daemon_rss_kb(&own) - before < 2048 + RSS_SLACK_KB);
	assert_daemon_serves(&own);
	close(fd);
	assert_int_equal(test_daemon_stop(&own), 0);
}

#define MIB_QUEUE_CONFIG                                 \
	"quorum {\n\tprovider: corosync_votequorum\n}\n" \
	"conclave {\n\thello_timeout: 500\n\tmax_message_size: 65536\n\tmax_queued_bytes: 1048576\n\tlog_rate_burst: 0\n}\n"

/* Sends getquorate requests without reading a reply until the daemon
 * stops reading them: the socket takes nothing for a few rounds. */
static void send_until_held(int fd)
{
	struct cv_frame_header h = { .kind = CV_FRAME_REQUEST, .id = 0 };
	int idle_rounds = 0;

	for (uint32_t seq = 0; idle_rounds < 5; seq++) {
		h.seq = seq;
		if (send(fd, &h, sizeof(h), MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)sizeof(h)) {
			idle_rounds = 0;
			continue;
		}
		assert_true(errno == EAGAIN);
		idle_rounds++;
		usleep(20000);
	}
}

/* What a queue holds is bounded by what its frames cost in memory, not by
 * their bytes on the wire, and the heap goes back when they close. */
static void test_non_reading_connections_memory(void **state)
{
	enum { N = 16 };
	const long max_queued_kb = 1024;
	int fds[N];
	long before, held, after;

	assert_int_equal(test_daemon_start(&own, MIB_QUEUE_CONFIG), 0);
	assert_daemon_serves(&own);
	before = test_daemon_rss_kb(&own);
	for (int i = 0; i < N; i++) {
		assert_true((fds[i] = raw_client(own.socket, "quorum")) >= 0);
		send_until_held(fds[i]);
	}
	held = test_daemon_rss_kb(&own);
	/* Their reply channels stay open: a client that closed the socket it
	 * connected is gone all the same, its reading paused or not. */
	for (int i = 0; i < N; i++)
		close(fds[i]);
	assert_daemon_serves(&own);
	usleep(200000);
	after = test_daemon_rss_kb(&own);
	print_message("daemon RSS: %ld kB, %ld kB with %d connections not reading replies, %ld kB after they "
		      "closed\n",
		      before, held, N, after);
	if (RSS_BOUNDS_CHECKED) {
		assert_true(held - before <= N * max_queued_kb * 5 / 4 + 4096);
		assert_true(after - before <= 4096);
	}
	assert_int_equal(test_daemon_stop(&own), 0);
}

static void test_idle_connection_memory(void **state)
{
	enum { N = 1000 };
	struct rlimit rl;
	static int fds[N];
	long before, after;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur < N + 64) {
		print_message("skipped: needs %d descriptors\n", N + 64);
		skip();
	}
	assert_int_equal(test_daemon_start(&own, TEST_SINGLE_NODE_CONFIG), 0);
	before = test_daemon_rss_kb(&own);
	for (int i = 0; i < N; i++)
		assert_true((fds[i] = raw_client(own.socket, i % 2 ? "quorum" : "votequorum")) >= 0);
	after = test_daemon_rss_kb(&own);
	print_message("daemon RSS grew %ld kB for %d idle connections (%ld bytes each)\n", after - before, N,
		      (after - before) * 1024 / N);
	assert_true((after - before) * 1024 / N < 64 * 1024 + RSS_SLACK_KB);
	for (int i = 0; i < N; i++)
		close(fds[i]);
	assert_int_equal(test_daemon_stop(&own), 0);
}

int main(void)
{
	const struct CMUnitTest frames[] = {
		cmocka_unit_test(test_truncated_header),
		cmocka_unit_test(test_truncated_payload),
		cmocka_unit_test(test_oversized_length),
		cmocka_unit_test(test_oversized_before_hello),
		cmocka_unit_test(test_unknown_frame_kind),
		cmocka_unit_test(test_reply_kind_from_client),
		cmocka_unit_test(test_unknown_request_id),
		cmocka_unit_test(test_undecodable_protobuf),
		cmocka_unit_test(test_fragment_total_beyond_the_limit),
		cmocka_unit_test(test_fragments_add_up_to_their_total),
		cmocka_unit_test(test_split_request_and_event),
		cmocka_unit_test(test_split_request_with_its_prefix_cut_short),
		cmocka_unit_test(test_split_request_with_a_field_number_beyond_32_bits),
		cmocka_unit_test(test_split_request_head_past_its_end),
		cmocka_unit_test(test_split_request_naming_no_bytes_field),
		cmocka_unit_test(test_split_request_with_its_field_inside_too),
		cmocka_unit_test(test_split_request_undecodable),
		cmocka_unit_test(test_request_out_of_bounds),
		cmocka_unit_test(test_counted_field_beyond_its_array),
		cmocka_unit_test(test_request_before_hello),
		cmocka_unit_test(test_short_hello),
		cmocka_unit_test(test_wrong_magic),
		cmocka_unit_test(test_unknown_service),
		cmocka_unit_test(test_wrong_version),
		cmocka_unit_test(test_silent_client_is_closed),
		cmocka_unit_test(test_welcome_announces_limit),
	};
	const struct CMUnitTest own_daemon[] = {
		cmocka_unit_test_teardown(test_connection_limit, stop_own),
		cmocka_unit_test_teardown(test_connection_limit_per_uid, stop_own),
		cmocka_unit_test_teardown(test_sigterm_closes_clients, stop_own),
		cmocka_unit_test_teardown(test_bad_config_exits, stop_own),
		cmocka_unit_test_teardown(test_missing_explicit_config_exits, stop_own),
		cmocka_unit_test_teardown(test_unknown_option_exits, stop_own),
		cmocka_unit_test_teardown(test_daemonizes, stop_own),
		cmocka_unit_test_teardown(test_fragment_total_configured, stop_own),
		cmocka_unit_test(test_socket_dir_writable_by_others),
		cmocka_unit_test(test_socket_dir_of_another_user),
		cmocka_unit_test(test_socket_swapped_after_bind),
		cmocka_unit_test_teardown(test_log_rate_limited, stop_own),
		cmocka_unit_test_teardown(test_uid_allow_list, stop_own),
		cmocka_unit_test_teardown(test_slow_tracker_gets_try_again, stop_own),
		cmocka_unit_test_teardown(test_slow_quorum_tracker_gets_try_again, stop_own),
		cmocka_unit_test_teardown(test_full_tracker_closed_on_qdevice_timeout, stop_own),
		cmocka_unit_test_teardown(test_client_not_reading_replies, stop_own),
		cmocka_unit_test_teardown(test_non_reading_connections_memory, stop_own),
		cmocka_unit_test_teardown(test_idle_connection_memory, stop_own),
	};
	int failed;

	signal(SIGPIPE, SIG_IGN);
	failed = cmocka_run_group_tests_name("daemon_frames", frames, start_single_node, stop_daemon);
	return failed + cmocka_run_group_tests_name("daemon_limits", own_daemon, NULL, NULL);
}
