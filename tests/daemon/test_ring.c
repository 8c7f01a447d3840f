/* The shared ring (cv-wire.h) on the wire, against a real conclaved and raw
 * clients: the limit WELCOME announces, requests through a ring across its
 * wrap, RING_ROOM, the refusals a connection outlives, the RING_OPENs and
 * heads that close it with a log line, a ring read to its end after its
 * client left, and the settled counter with its wake-up. Every test has a daemon of its own, so that a log line can
 * only come from that test. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <corosync/cpg.h>
#include <corosync/quorum.h>

#include "cpg.pb-c.h"
#include "daemon-peer.h"
#include "quorum.pb-c.h"

#define QUORUM_REQUEST_GETQUORATE 0
#define QUORUM_REQUEST_MODEL_GETTYPE 3
#define CPG_REQUEST_JOIN 1
#define CPG_REQUEST_MCAST 3
#define CPG_EVENT_MESSAGE 0
#define CPG_EVENT_MEMBERSHIP 1

#define WITH_LIMITS(keys) TEST_SINGLE_NODE_SECTIONS "conclave {\n\thello_timeout: 500\n" keys "}\n"

static const ProtobufCMessageDescriptor *const cpg_events[] = {
	&cpg_message_event__descriptor,
	&cpg_membership_event__descriptor,
};

static struct test_daemon d;

static int start(void **state)
{
	return test_daemon_start(&d, TEST_SINGLE_NODE_CONFIG);
}

static int stop(void **state)
{
	return test_daemon_stop(&d) == 0 ? 0 : -1;
}

static int quorum_client(void)
{
	int fd = raw_client(d.socket, "quorum");

	assert_true(fd >= 0);
	return fd;
}

/* A quorum client whose frames go through a sound ring. */
static int ring_client(struct raw_ring *r, uint32_t capacity)
{
	int fd = quorum_client();

	assert_int_equal(raw_ring_create(r, capacity, RAW_RING_SOUND), 0);
	assert_int_equal(raw_ring_offer(fd, r), CS_OK);
	return fd;
}

/* getquorate through r, or over the socket when r is NULL. */
static void assert_quorate(int fd, struct raw_ring *r)
{
	QuorumGetquorateRequest request = QUORUM_GETQUORATE_REQUEST__INIT;
	QuorumGetquorateReply *reply;

	if (r)
		assert_int_equal(raw_ring_call(fd, r, QUORUM_REQUEST_GETQUORATE, &request.base,
					       &quorum_getquorate_reply__descriptor,
					       (ProtobufCMessage **)&reply),
				 CS_OK);
	else
		assert_int_equal(raw_call(fd, QUORUM_REQUEST_GETQUORATE, &request.base,
					  &quorum_getquorate_reply__descriptor, (ProtobufCMessage **)&reply),
				 CS_OK);
	assert_non_null(reply);
	assert_int_equal(reply->quorate, 1);
	protobuf_c_message_free_unpacked(&reply->base, NULL);
}

static void send_ring_open(int fd, uint32_t magic, uint32_t capacity, const int *fds, size_t n_fds)
{
	struct cv_ring_open open = { .magic = magic, .capacity = capacity };

	assert_int_equal(raw_send_ring_open(fd, 1, &open, sizeof(open), fds, n_fds), 0);
}

/* The daemon closed fd without a frame before, and logged why. */
static void assert_violation(int fd, const char *reason)
{
	struct cv_frame_header h;
	uint8_t *payload;

	assert_int_equal(raw_read_frame(fd, &h, &payload, 3000), 0);
	assert_closed_with_log(&d, fd, reason);
}

/* ---- what WELCOME announces --------------------------------------------- */

static struct cv_welcome welcome_of(const char *config)
{
	struct cv_frame_header h;
	struct cv_welcome welcome;
	uint8_t *payload;
	int fd;

	assert_int_equal(test_daemon_start(&d, config), 0);
	fd = raw_connect(d.socket);
	assert_true(fd >= 0);
	assert_int_equal(raw_send_hello(fd, CV_WIRE_MAGIC, "quorum", 1, 0), 0);
	assert_int_equal(raw_read_welcome(fd, &h, &payload, 2000), 1);
	assert_int_equal(h.kind, CV_FRAME_WELCOME);
	assert_int_equal(h.status, CS_OK);
	assert_int_equal(h.length, 12);
	memcpy(&welcome, payload, sizeof(welcome));
	assert_int_equal(welcome.magic, CV_WIRE_MAGIC);
	free(payload);
	close(fd);
	assert_int_equal(test_daemon_stop(&d), 0);
	return welcome;
}

/* A ring is never larger than the queue of the replies it causes. */
static void test_welcome_announces_the_ring_limit(void **state)
{
	assert_int_equal(welcome_of(TEST_SINGLE_NODE_CONFIG).max_ring_size, 1024 * 1024);
	assert_int_equal(welcome_of(WITH_LIMITS("\tmax_message_size: 4096\n\tmax_queued_bytes: 65536\n"))
				 .max_ring_size,
			 65536);
	assert_int_equal(welcome_of(WITH_LIMITS("\tmax_ring_size: 65536\n")).max_ring_size, 65536);
	assert_int_equal(welcome_of(WITH_LIMITS("\tmax_ring_size: 0\n")).max_ring_size, 0);
}

/* ---- a working ring ----------------------------------------------------- */

#define WRAP_CAPACITY 4096u
/* Byte positions run modulo 2^32 from here: the first frame straddles the
 * end of the data (10 bytes before it, 6 after), and positions pass 2^32. */
#define WRAP_START (UINT32_MAX - 9u)
#define WRAP_BATCH 150 /* 2600 bytes of requests, within the ring */
#define WRAP_BATCHES 5
#define SOCKET_FRAME_SEQ 100000

/* Request seq, by seq % 3: getquorate (16 bytes), model_gettype of
 * QUORUM_MODEL_V1 and of an unknown model (18 bytes each). */
static void ring_send_request(int fd, struct raw_ring *r, uint32_t seq)
{
	static const uint8_t model_v1[] = { 0x08, QUORUM_MODEL_V1 };
	static const uint8_t model_unknown[] = { 0x08, 0x07 };
	const uint8_t *model = seq % 3 == 1 ? model_v1 : model_unknown;
	int sent;

	if (seq % 3 == 0)
		sent = raw_ring_send_frame(fd, r, CV_FRAME_REQUEST, QUORUM_REQUEST_GETQUORATE, seq, NULL, 0);
	else
		sent = raw_ring_send_frame(fd, r, CV_FRAME_REQUEST, QUORUM_REQUEST_MODEL_GETTYPE, seq, model,
					   2);
	assert_int_equal(sent, 0);
}

static void expect_reply_to(int fd, uint32_t seq)
{
	QuorumGetquorateReply *quorate;
	QuorumModelGettypeReply *type;
	struct cv_frame_header h;
	uint8_t *payload;

	assert_int_equal(raw_read_reply(fd, &h, &payload, 5000), 1);
	assert_int_equal(h.kind, CV_FRAME_REPLY);
	assert_int_equal(h.seq, seq);
	if (seq % 3 == 0) {
		assert_int_equal(h.id, QUORUM_REQUEST_GETQUORATE);
		assert_int_equal(h.status, CS_OK);
		quorate = quorum_getquorate_reply__unpack(NULL, h.length, payload);
		assert_non_null(quorate);
		assert_int_equal(quorate->quorate, 1);
		quorum_getquorate_reply__free_unpacked(quorate, NULL);
	} else if (seq % 3 == 1) {
		assert_int_equal(h.id, QUORUM_REQUEST_MODEL_GETTYPE);
		assert_int_equal(h.status, CS_OK);
		type = quorum_model_gettype_reply__unpack(NULL, h.length, payload);
		assert_non_null(type);
		assert_int_equal(type->quorum_type, QUORUM_SET);
		quorum_model_gettype_reply__free_unpacked(type, NULL);
	} else {
		assert_int_equal(h.id, QUORUM_REQUEST_MODEL_GETTYPE);
		assert_int_equal(h.status, CS_ERR_INVALID_PARAM);
	}
	free(payload);
}

/* Whatever the socket brings once the ring is taken is wake-up bytes, even
 * a frame sent along with the RING_OPEN: never answered, nor does it
 * disturb the frames in the ring. */
static void test_ring_carries_requests_across_its_wrap(void **state)
{
	struct {
		struct cv_frame_header open_header;
		struct cv_ring_open open;
		struct cv_frame_header request;
	} open_and_request = {
		.open_header = { .length = sizeof(struct cv_ring_open),
				 .kind = CV_FRAME_RING_OPEN,
				 .seq = 77 },
		.open = { .magic = CV_WIRE_MAGIC, .capacity = WRAP_CAPACITY },
		.request = { .kind = CV_FRAME_REQUEST,
			     .id = QUORUM_REQUEST_GETQUORATE,
			     .seq = SOCKET_FRAME_SEQ },
	};
	struct cv_frame_header h;
	struct raw_ring r;
	uint8_t *payload;
	uint32_t seq = 1;
	int fd = quorum_client();

	assert_int_equal(sizeof(open_and_request), 44);
	assert_int_equal(raw_ring_create(&r, WRAP_CAPACITY, RAW_RING_SOUND), 0);
	r.head = r.shared->head = r.shared->tail = WRAP_START;
	assert_int_equal(raw_send_with_fds(fd, &open_and_request, sizeof(open_and_request), &r.memfd, 1), 0);
	assert_int_equal(raw_read_reply(fd, &h, &payload, 2000), 1);
	assert_int_equal(h.kind, CV_FRAME_REPLY);
	assert_int_equal(h.id, 0);
	assert_int_equal(h.seq, 77);
	assert_int_equal(h.status, CS_OK);
	assert_int_equal(h.length, 0);
	assert_null(payload);
	assert_true(test_daemon_log_contains(&d, "writes through a shared ring of 4096 bytes", 2000));
	assert_int_equal(raw_send_frame(fd, CV_FRAME_REQUEST, QUORUM_REQUEST_GETQUORATE, SOCKET_FRAME_SEQ + 1,
					NULL, 0),
			 0);
	for (int batch = 0; batch < WRAP_BATCHES; batch++) {
		uint32_t first = seq;

		while (seq - first < WRAP_BATCH)
			ring_send_request(fd, &r, seq++);
		assert_int_equal(raw_send(fd, "wake", 4), 0);
		for (uint32_t s = first; s < seq; s++)
			expect_reply_to(fd, s);
	}
	assert_true(r.head - WRAP_START > 3 * WRAP_CAPACITY);
	assert_int_equal(__atomic_load_n(&r.shared->tail, __ATOMIC_ACQUIRE), r.head);
	assert_int_equal(raw_read_reply(fd, &h, &payload, 300), -1);
	close(fd);
	raw_ring_destroy(&r);
}

/* RING_ROOM answers a writer that waits for room, and only such a writer. */
static void test_ring_room_for_a_waiting_writer(void **state)
{
	bool room = false, reply = false;
	struct cv_frame_header h;
	struct raw_ring r;
	uint8_t *payload;
	int fd = ring_client(&r, 4096);

	__atomic_store_n(&r.shared->writer_waiting, 1, __ATOMIC_SEQ_CST);
	assert_int_equal(raw_ring_send_frame(fd, &r, CV_FRAME_REQUEST, QUORUM_REQUEST_GETQUORATE, 5, NULL, 0),
			 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(raw_read_reply(fd, &h, &payload, 2000), 1);
		free(payload);
		if (h.kind == CV_FRAME_RING_ROOM) {
			assert_false(room);
			assert_int_equal(h.length, 0);
			assert_int_equal(h.id, 0);
			assert_int_equal(h.seq, 0);
			assert_int_equal(h.status, 0);
			room = true;
		} else {
			assert_int_equal(h.kind, CV_FRAME_REPLY);
			assert_int_equal(h.seq, 5);
			assert_int_equal(h.status, CS_OK);
			reply = true;
		}
	}
	assert_true(room && reply);
	assert_int_equal(__atomic_load_n(&r.shared->writer_waiting, __ATOMIC_SEQ_CST), 0);

	assert_int_equal(raw_ring_send_frame(fd, &r, CV_FRAME_REQUEST, QUORUM_REQUEST_GETQUORATE, 6, NULL, 0),
			 0);
	assert_int_equal(raw_read_reply(fd, &h, &payload, 2000), 1);
	free(payload);
	assert_int_equal(h.kind, CV_FRAME_REPLY);
	assert_int_equal(h.seq, 6);
	assert_int_equal(raw_read_reply(fd, &h, &payload, 300), -1);
	close(fd);
	raw_ring_destroy(&r);
}

/* ---- refusals the connection outlives ----------------------------------- */

/* A ring above the limit is refused, the socket carries on, and a ring
 * within the limit is still taken. */
static void test_ring_above_the_limit_is_refused(void **state)
{
	struct raw_ring big, small;
	int fd;

	assert_int_equal(test_daemon_start(&d, WITH_LIMITS("\tmax_ring_size: 65536\n")), 0);
	fd = quorum_client();
	assert_int_equal(raw_ring_create(&big, 131072, RAW_RING_SOUND), 0);
	assert_int_equal(raw_ring_offer(fd, &big), CS_ERR_NO_RESOURCES);
	assert_quorate(fd, NULL);
	assert_int_equal(raw_ring_create(&small, 65536, RAW_RING_SOUND), 0);
	assert_int_equal(raw_ring_offer(fd, &small), CS_OK);
	assert_quorate(fd, &small);
	assert_int_equal(__atomic_load_n(&small.shared->tail, __ATOMIC_ACQUIRE), small.head);
	close(fd);
	raw_ring_destroy(&big);
	raw_ring_destroy(&small);
}

static void test_no_ring_when_the_limit_is_0(void **state)
{
	struct raw_ring r;
	int fd;

	assert_int_equal(test_daemon_start(&d, WITH_LIMITS("\tmax_ring_size: 0\n")), 0);
	fd = quorum_client();
	assert_int_equal(raw_ring_create(&r, 4096, RAW_RING_SOUND), 0);
	assert_int_equal(raw_ring_offer(fd, &r), CS_ERR_NOT_SUPPORTED);
	assert_quorate(fd, NULL);
	close(fd);
	raw_ring_destroy(&r);
}

/* ---- violations --------------------------------------------------------- */

static void test_ring_open_without_a_memfd(void **state)
{
	int fd = quorum_client();

	send_ring_open(fd, CV_WIRE_MAGIC, 4096, NULL, 0);
	assert_violation(fd, "RING_OPEN without a memfd");
}

static void test_ring_open_with_a_wrong_magic(void **state)
{
	struct raw_ring r;
	int fd = quorum_client();

	assert_int_equal(raw_ring_create(&r, 4096, RAW_RING_SOUND), 0);
	send_ring_open(fd, 0x12345678, 4096, &r.memfd, 1);
	assert_violation(fd, "RING_OPEN with a wrong magic number");
	raw_ring_destroy(&r);
}

static void test_ring_open_of_4_bytes(void **state)
{
	uint32_t magic = CV_WIRE_MAGIC;
	struct raw_ring r;
	int fd = quorum_client();

	assert_int_equal(raw_ring_create(&r, 4096, RAW_RING_SOUND), 0);
	assert_int_equal(raw_send_ring_open(fd, 1, &magic, sizeof(magic), &r.memfd, 1), 0);
	assert_violation(fd, "RING_OPEN of 4 bytes, expected 8");
	raw_ring_destroy(&r);
}

static void test_ring_open_with_a_pipe(void **state)
{
	int fd = quorum_client();
	int pipe_fds[2];

	assert_int_equal(pipe(pipe_fds), 0);
	send_ring_open(fd, CV_WIRE_MAGIC, 4096, &pipe_fds[0], 1);
	assert_violation(fd, "RING_OPEN with a descriptor that is no memfd sealed against shrinking");
	close(pipe_fds[0]);
	close(pipe_fds[1]);
}

static void assert_flawed_ring_refused(uint32_t capacity, enum raw_ring_flaw flaw, const char *reason)
{
	struct raw_ring r;
	int fd = quorum_client();

	assert_int_equal(raw_ring_create(&r, capacity, flaw), 0);
	send_ring_open(fd, CV_WIRE_MAGIC, capacity, &r.memfd, 1);
	assert_violation(fd, reason);
	raw_ring_destroy(&r);
}

static void test_ring_open_with_a_memfd_not_sealed_against_shrinking(void **state)
{
	assert_flawed_ring_refused(4096, RAW_RING_SHRINKABLE,
				   "RING_OPEN with a descriptor that is no memfd sealed against shrinking");
}

static void test_ring_open_with_a_memfd_of_the_wrong_size(void **state)
{
	assert_flawed_ring_refused(4096, RAW_RING_WRONG_SIZE,
				   "RING_OPEN with a memfd whose size is not the ring's");
}

static void test_ring_capacity_no_power_of_two(void **state)
{
	assert_flawed_ring_refused(6000, RAW_RING_SOUND,
				   "RING_OPEN with a capacity that is no power of two within the limits");
}

static void test_ring_capacity_below_the_minimum(void **state)
{
	assert_flawed_ring_refused(2048, RAW_RING_SOUND,
				   "RING_OPEN with a capacity that is no power of two within the limits");
}

static void test_ring_open_with_two_descriptors(void **state)
{
	struct raw_ring r;
	int fd = quorum_client();
	int pipe_fds[2], fds[2];

	assert_int_equal(raw_ring_create(&r, 4096, RAW_RING_SOUND), 0);
	assert_int_equal(pipe(pipe_fds), 0);
	fds[0] = r.memfd;
	fds[1] = pipe_fds[0];
	send_ring_open(fd, CV_WIRE_MAGIC, 4096, fds, 2);
	assert_violation(fd, "descriptors beyond the one RING_OPEN takes");
	close(pipe_fds[0]);
	close(pipe_fds[1]);
	raw_ring_destroy(&r);
}

/* Before any HELLO too, and the bytes that came with them are not read as
 * a frame (the session has no service yet to check a request against). */
static void test_descriptors_before_hello(void **state)
{
	struct cv_frame_header request = { .kind = CV_FRAME_REQUEST };
	int fd = raw_connect(d.socket);
	int pipe_fds[2];

	assert_true(fd >= 0);
	assert_int_equal(pipe(pipe_fds), 0);
	assert_int_equal(raw_send_with_fds(fd, &request, sizeof(request), pipe_fds, 2), 0);
	assert_violation(fd, "descriptors beyond the one RING_OPEN takes");
	close(pipe_fds[0]);
	close(pipe_fds[1]);
}

/* Once the ring is taken, a descriptor on the socket is one too many. */
static void test_second_ring_open_with_a_descriptor(void **state)
{
	struct raw_ring r, second;
	int fd = ring_client(&r, 4096);

	assert_int_equal(raw_ring_create(&second, 4096, RAW_RING_SOUND), 0);
	send_ring_open(fd, CV_WIRE_MAGIC, 4096, &second.memfd, 1);
	assert_violation(fd, "descriptors beyond the one RING_OPEN takes");
	raw_ring_destroy(&second);
	raw_ring_destroy(&r);
}

/* A RING_OPEN in the ring cannot bring a descriptor. */
static void test_ring_open_through_the_ring(void **state)
{
	struct cv_ring_open open = { .magic = CV_WIRE_MAGIC, .capacity = 4096 };
	struct raw_ring r;
	int fd = ring_client(&r, 4096);

	assert_int_equal(raw_ring_send_frame(fd, &r, CV_FRAME_RING_OPEN, 0, 9, &open, sizeof(open)), 0);
	assert_violation(fd, "RING_OPEN without a memfd");
	raw_ring_destroy(&r);
}

static void test_ring_head_beyond_its_capacity(void **state)
{
	struct raw_ring r;
	int fd = ring_client(&r, 4096);

	r.head += 4097;
	assert_int_equal(raw_ring_publish(fd, &r), 0);
	assert_violation(fd, "ring head 4097 bytes ahead of its tail, beyond its capacity 4096");
	raw_ring_destroy(&r);
}

/* ---- the client's end --------------------------------------------------- */

#define END_GROUP "ring-end"
#define END_CAPACITY 16384u
#define END_MESSAGES 200 /* about 12 KiB of frames */

static int join_end_group(int fd)
{
	CpgGroupsJoinRequest join = CPG_GROUPS_JOIN_REQUEST__INIT;
	CpgName group = CPG_NAME__INIT;
	ProtobufCMessage *reply;
	int status;

	group.value.data = (uint8_t *)END_GROUP;
	group.value.len = strlen(END_GROUP);
	join.group = &group;
	status = raw_call(fd, CPG_REQUEST_JOIN, &join.base, &cpg_groups_join_reply__descriptor, &reply);
	if (reply)
		protobuf_c_message_free_unpacked(reply, NULL);
	return status;
}

static size_t end_message(int i, char *text, size_t size)
{
	return (size_t)snprintf(text, size, "message %d through the ring", i);
}

/* Whether the daemon asked for a wake-up within 2 s: it sleeps then, and
 * reads the ring only once something wakes it. */
static bool daemon_asleep(const struct raw_ring *r)
{
	for (int i = 0; i < 200; i++) {
		if (__atomic_load_n(&r->shared->reader_asleep, __ATOMIC_SEQ_CST))
			return true;
		usleep(10000);
	}
	return false;
}

/* In a child, as cpg allows one member per process in a group: joins,
 * fills its ring with END_MESSAGES multicasts while the daemon sleeps and
 * publishes them without a wake-up byte, then closes its socket at once:
 * the socket's end is what wakes the daemon, with everything still in the
 * ring. Its exit status tells how far it got. */
static int ring_writer_leaving_at_once(void)
{
	struct raw_ring r;
	int fd = raw_client(d.socket, "cpg");

	if (fd < 0 || join_end_group(fd) != CS_OK)
		return 1;
	if (raw_ring_create(&r, END_CAPACITY, RAW_RING_SOUND) < 0 || raw_ring_offer(fd, &r) != CS_OK)
		return 2;
	if (!daemon_asleep(&r))
		return 3;
	for (int i = 0; i < END_MESSAGES; i++) {
		CpgGroupsMcastRequest mcast = CPG_GROUPS_MCAST_REQUEST__INIT;
		uint8_t bytes[128];
		char text[64];
		size_t size;

		mcast.msg.data = (uint8_t *)text;
		mcast.msg.len = end_message(i, text, sizeof(text));
		size = protobuf_c_message_pack(&mcast.base, bytes);
		if (raw_ring_put_frame(&r, CV_FRAME_REQUEST, CPG_REQUEST_MCAST, i + 1, bytes,
				       (uint32_t)size) < 0)
			return 4;
	}
	__atomic_store_n(&r.shared->head, r.head, __ATOMIC_RELEASE);
	close(fd);
	return 0;
}

static void expect_membership(int fd, pid_t pid, uint32_t reason)
{
	CpgMembershipEvent *event;
	CpgAddress *changed;

	assert_int_equal(raw_next_event(fd, cpg_events, 2, (ProtobufCMessage **)&event, 3000),
			 CPG_EVENT_MEMBERSHIP);
	assert_int_equal(event->n_joined_list + event->n_left_list, 1);
	changed = reason == CPG_REASON_JOIN ? event->joined_list[0] : event->left_list[0];
	assert_int_equal(changed->pid, pid);
	assert_int_equal(changed->reason, reason);
	protobuf_c_message_free_unpacked(&event->base, NULL);
}

static void expect_message(int fd, pid_t pid, int i)
{
	CpgMessageEvent *event;
	char text[64];
	size_t size = end_message(i, text, sizeof(text));

	assert_int_equal(raw_next_event(fd, cpg_events, 2, (ProtobufCMessage **)&event, 3000),
			 CPG_EVENT_MESSAGE);
	assert_int_equal(event->pid, pid);
	assert_non_null(event->group);
	assert_int_equal(event->group->value.len, strlen(END_GROUP));
	assert_memory_equal(event->group->value.data, END_GROUP, strlen(END_GROUP));
	assert_int_equal(event->msg.len, size);
	assert_memory_equal(event->msg.data, text, size);
	protobuf_c_message_free_unpacked(&event->base, NULL);
}

/* What a client wrote to its ring before closing its socket is handled,
 * all of it, before the daemon lets it go: the other member gets every
 * message, then the writer's departure. */
static void test_ring_read_to_its_end_after_its_client_left(void **state)
{
	int member = raw_client(d.socket, "cpg");
	int status;
	pid_t writer;

	assert_true(member >= 0);
	assert_int_equal(join_end_group(member), CS_OK);
	expect_membership(member, getpid(), CPG_REASON_JOIN);
	writer = fork();
	assert_true(writer >= 0);
	if (writer == 0)
		_exit(ring_writer_leaving_at_once());
	assert_int_equal(waitpid(writer, &status, 0), writer);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	expect_membership(member, writer, CPG_REASON_JOIN);
	for (int i = 0; i < END_MESSAGES; i++)
		expect_message(member, writer, i);
	expect_membership(member, writer, CPG_REASON_PROCDOWN);
	assert_true(test_daemon_log_contains(&d, "writes through a shared ring of 16384 bytes", 1000));
	close(member);
}

/* ---- settling (cv-wire.h) ----------------------------------------------- */

#define SETTLE_MESSAGE_SIZE 30000

/* A cpg multicast of `size` bytes put in r, not yet published: -1 when r
 * has no room for it. */
static int ring_put_mcast(struct raw_ring *r, uint32_t seq, size_t size)
{
	CpgGroupsMcastRequest mcast = CPG_GROUPS_MCAST_REQUEST__INIT;
	uint8_t *bytes = malloc(size + 64);
	size_t packed;
	int result;

	assert_non_null(bytes);
	mcast.msg.data = calloc(1, size);
	assert_non_null(mcast.msg.data);
	mcast.msg.len = size;
	packed = protobuf_c_message_pack(&mcast.base, bytes);
	result = raw_ring_put_frame(r, CV_FRAME_REQUEST, CPG_REQUEST_MCAST, seq, bytes, (uint32_t)packed);
	free(mcast.msg.data);
	free(bytes);
	return result;
}

static uint32_t ring_settled(const struct raw_ring *r)
{
	return __atomic_load_n(&r->shared->settled, __ATOMIC_SEQ_CST);
}

/* Whether settled reaches seq within 2 s. */
static bool settled_within(const struct raw_ring *r, uint32_t seq)
{
	for (int i = 0; i < 2000 && ring_settled(r) != seq; i++)
		usleep(1000);
	return ring_settled(r) == seq;
}

/* A cpg member of END_GROUP whose frames go through r, its confchg read. */
static int cpg_ring_member(struct raw_ring *r, uint32_t capacity)
{
	int fd = raw_client(d.socket, "cpg");

	assert_true(fd >= 0);
	assert_int_equal(join_end_group(fd), CS_OK);
	expect_membership(fd, getpid(), CPG_REASON_JOIN);
	assert_int_equal(raw_ring_create(r, capacity, RAW_RING_SOUND), 0);
	assert_int_equal(raw_ring_offer(fd, r), CS_OK);
	return fd;
}

static void expect_own_message_now(int fd)
{
	ProtobufCMessage *event;

	assert_int_equal(raw_next_event(fd, cpg_events, 2, &event, 0), CPG_EVENT_MESSAGE);
	assert_int_equal(((CpgMessageEvent *)event)->pid, getpid());
	protobuf_c_message_free_unpacked(event, NULL);
}

/* settled names the last request handled from the ring once its events are
 * in the socket; SETTLED wakes a client that waits for it, and only such a
 * client. */
static void test_settled_counts_the_requests_handled(void **state)
{
	struct cv_frame_header h;
	struct raw_ring r;
	uint8_t *payload;
	int fd = cpg_ring_member(&r, 16384);

	assert_int_equal(ring_put_mcast(&r, 10, 100), 0);
	assert_int_equal(raw_ring_publish(fd, &r), 0);
	assert_true(settled_within(&r, 10));
	expect_own_message_now(fd);
	assert_int_equal(__atomic_load_n(&r.shared->paused, __ATOMIC_SEQ_CST), 0);
	assert_int_equal(raw_read_reply(fd, &h, &payload, 300), -1);

	__atomic_store_n(&r.shared->settle_waiting, 12, __ATOMIC_SEQ_CST);
	assert_int_equal(ring_put_mcast(&r, 11, 100), 0);
	assert_int_equal(ring_put_mcast(&r, 12, 100), 0);
	assert_int_equal(raw_ring_publish(fd, &r), 0);
	assert_int_equal(raw_read_reply(fd, &h, &payload, 2000), 1);
	assert_int_equal(h.kind, CV_FRAME_SETTLED);
	assert_int_equal(h.seq, 0);
	assert_int_equal(h.length, 0);
	assert_int_equal(ring_settled(&r), 12);
	assert_int_equal(__atomic_load_n(&r.shared->settle_waiting, __ATOMIC_SEQ_CST), 0);
	expect_own_message_now(fd);
	expect_own_message_now(fd);
	assert_int_equal(raw_read_reply(fd, &h, &payload, 300), -1);
	close(fd);
	raw_ring_destroy(&r);
}

/* A client that waits for a request the daemon holds back (its own event
 * queue is full) is told that reading paused, and settled catches up once
 * it reads its events. */
static void test_settled_wakes_a_waiter_when_reading_pauses(void **state)
{
	struct cv_frame_header h;
	struct raw_ring r;
	uint8_t *payload;
	uint32_t seq = 1;
	int fd;

	assert_int_equal(
		test_daemon_start(&d, WITH_LIMITS("\tmax_message_size: 32768\n\tmax_queued_bytes: 65536\n")),
		0);
	fd = cpg_ring_member(&r, 65536);
	__atomic_store_n(&r.shared->settle_waiting, 1000, __ATOMIC_SEQ_CST);
	for (;;) {
		if (ring_put_mcast(&r, seq, SETTLE_MESSAGE_SIZE) == 0)
			seq++;
		assert_int_equal(raw_ring_publish(fd, &r), 0);
		if (raw_read_reply(fd, &h, &payload, 20) == 1)
			break;
		assert_true(seq < 1000);
	}
	assert_int_equal(h.kind, CV_FRAME_SETTLED);
	assert_int_equal(__atomic_load_n(&r.shared->paused, __ATOMIC_SEQ_CST), 1);
	assert_true(ring_settled(&r) < seq - 1);
	assert_int_equal(__atomic_load_n(&r.shared->settle_waiting, __ATOMIC_SEQ_CST), 0);
	while (!settled_within(&r, seq - 1))
		assert_true(raw_drain_events(fd, 100) > 0);
	assert_int_equal(__atomic_load_n(&r.shared->paused, __ATOMIC_SEQ_CST), 0);
	close(fd);
	raw_ring_destroy(&r);
}

/* Without a ring, SETTLE is answered by SETTLED with its seq once what came
 * before it is handled, its events in the socket first. */
static void test_settle_over_the_socket(void **state)
{
	CpgGroupsMcastRequest mcast = CPG_GROUPS_MCAST_REQUEST__INIT;
	struct cv_frame_header h;
	uint8_t bytes[64], *payload;
	size_t size;
	int fd = raw_client(d.socket, "cpg");

	assert_true(fd >= 0);
	assert_int_equal(join_end_group(fd), CS_OK);
	expect_membership(fd, getpid(), CPG_REASON_JOIN);
	mcast.msg.data = (uint8_t *)"mine";
	mcast.msg.len = 4;
	size = protobuf_c_message_pack(&mcast.base, bytes);
	assert_int_equal(raw_send_frame(fd, CV_FRAME_REQUEST, CPG_REQUEST_MCAST, 7, bytes, (uint32_t)size),
			 0);
	assert_int_equal(raw_send_frame(fd, CV_FRAME_SETTLE, 0, 8, NULL, 0), 0);
	assert_int_equal(raw_read_reply(fd, &h, &payload, 2000), 1);
	assert_int_equal(h.kind, CV_FRAME_SETTLED);
	assert_int_equal(h.seq, 8);
	assert_int_equal(h.length, 0);
	expect_own_message_now(fd);
	close(fd);
}

static void test_settle_with_a_payload(void **state)
{
	int fd = quorum_client();

	assert_int_equal(raw_send_frame(fd, CV_FRAME_SETTLE, 0, 1, "x", 1), 0);
	assert_violation(fd, "SETTLE of 1 bytes, expected 0");
	assert_daemon_serves(&d);
}

/* ---- the reply ring ---------------------------------------------------- */

#define REPLY_RING_CAPACITY 4096u
#define REPLY_FULL_REQUESTS 600 /* replies of about 10 KiB: the reply ring holds 4 KiB */

/* A quorum client whose requests and replies go through rings. */
static int reply_ring_client(struct raw_ring *r)
{
	int fd = quorum_client();

	assert_int_equal(raw_ring_create(r, REPLY_RING_CAPACITY, RAW_RING_WITH_REPLIES), 0);
	assert_int_equal(raw_ring_offer(fd, r), CS_OK);
	return fd;
}

/* Whether the reply channel's socket has anything to read within ms. */
static bool reply_socket_readable(int fd, int ms)
{
	return raw_fd_readable_within(raw_reply_fd(fd), ms);
}

/* The REPLY to RING_OPEN ends the socket's stream; every later reply,
 * across the reply ring's wrap (and its positions' wrap modulo 2^32),
 * comes through the ring, and the socket stays silent while the client
 * does not sleep. */
static void test_replies_come_through_the_reply_ring_across_its_wrap(void **state)
{
	struct raw_ring r;
	int fd = quorum_client();

	assert_int_equal(raw_ring_create(&r, REPLY_RING_CAPACITY, RAW_RING_WITH_REPLIES), 0);
	r.reply_tail = r.shared->reply_tail = r.shared->reply_head = WRAP_START;
	assert_int_equal(raw_ring_offer(fd, &r), CS_OK);
	for (int i = 0; i < 1000; i++)
		assert_quorate(fd, &r);
	assert_true(r.reply_tail - WRAP_START > 4 * REPLY_RING_CAPACITY);
	assert_false(reply_socket_readable(fd, 100));
	assert_true(test_daemon_log_has(&d, "reads its replies from another", "", 2000));
	raw_ring_destroy(&r);
	close(fd);
}

/* A client that sleeps asks for a wake-up byte on the socket, and gets it
 * once its reply is in the ring. */
static void test_reply_ring_wakes_a_sleeping_client(void **state)
{
	QuorumGetquorateRequest request = QUORUM_GETQUORATE_REQUEST__INIT;
	struct cv_frame_header h;
	uint8_t *payload, wake;
	struct raw_ring r;
	int fd = reply_ring_client(&r);

	__atomic_store_n(&r.shared->reply_reader_asleep, 1, __ATOMIC_SEQ_CST);
	assert_int_not_equal(raw_ring_request(fd, &r, QUORUM_REQUEST_GETQUORATE, &request.base), 0);
	assert_true(reply_socket_readable(fd, 2000));
	assert_int_equal(read(raw_reply_fd(fd), &wake, 1), 1);
	assert_int_equal(__atomic_load_n(&r.shared->reply_reader_asleep, __ATOMIC_SEQ_CST), 0);
	assert_int_equal(raw_ring_read_reply(fd, &r, &h, &payload, 2000), 1);
	assert_int_equal(h.kind, CV_FRAME_REPLY);
	assert_int_equal(h.status, CS_OK);
	free(payload);
	raw_ring_destroy(&r);
	close(fd);
}

/* Replies beyond the reply ring's room wait in the daemon's queue, which
 * asks for a wake-up once the ring is full; read, every reply comes, in
 * order, none lost. */
static void test_reply_ring_full_queues_without_loss(void **state)
{
	QuorumGetquorateRequest request = QUORUM_GETQUORATE_REQUEST__INIT;
	uint32_t seqs[REPLY_FULL_REQUESTS];
	struct cv_frame_header h;
	uint8_t *payload;
	struct raw_ring r;
	int fd = reply_ring_client(&r);

	for (int i = 0; i < REPLY_FULL_REQUESTS; i++) {
		/* Requests wait for room in their own ring, as a client does. */
		while ((seqs[i] = raw_ring_request(fd, &r, QUORUM_REQUEST_GETQUORATE, &request.base)) == 0)
			usleep(1000);
	}
	for (int i = 0; i < 2000 && !__atomic_load_n(&r.shared->reply_writer_waiting, __ATOMIC_SEQ_CST); i++)
		usleep(1000);
	assert_int_equal(__atomic_load_n(&r.shared->reply_writer_waiting, __ATOMIC_SEQ_CST), 1);
	assert_int_equal(__atomic_load_n(&r.shared->reply_head, __ATOMIC_SEQ_CST) - r.reply_tail,
			 REPLY_RING_CAPACITY);
	for (int i = 0; i < REPLY_FULL_REQUESTS; i++) {
		assert_int_equal(raw_ring_read_reply(fd, &r, &h, &payload, 2000), 1);
		assert_int_equal(h.kind, CV_FRAME_REPLY);
		assert_int_equal(h.seq, seqs[i]);
		assert_int_equal(h.status, CS_OK);
		free(payload);
	}
	assert_quorate(fd, &r);
	raw_ring_destroy(&r);
	close(fd);
}

/* A RING_OPEN offering reply_capacity beside a ring of 4096 bytes in a
 * memfd made with `flaw` closes the session, logging `reason`. */
static void reply_ring_refused(uint32_t reply_capacity, enum raw_ring_flaw flaw, const char *reason)
{
	struct cv_ring_open open = { .magic = CV_WIRE_MAGIC,
				     .capacity = 4096,
				     .reply_capacity = reply_capacity };
	struct raw_ring r;
	int fd = quorum_client();

	assert_int_equal(raw_ring_create(&r, 4096, flaw), 0);
	assert_int_equal(raw_send_ring_open(fd, 1, &open, sizeof(open), &r.memfd, 1), 0);
	assert_closed_with_log(&d, fd, reason);
	raw_ring_destroy(&r);
}

/* A reply ring of another size than the request ring's is refused. */
static void test_reply_ring_of_another_capacity(void **state)
{
	reply_ring_refused(8192, RAW_RING_WITH_REPLIES,
			   "RING_OPEN with a reply ring of 8192 bytes beside one of 4096");
}

/* The memfd must hold both rings. */
static void test_reply_ring_beyond_the_memfd(void **state)
{
	reply_ring_refused(4096, RAW_RING_SOUND, "RING_OPEN with a memfd whose size is not the ring's");
}

/* A reply tail more than the capacity behind the daemon's head closes
 * the session, as a head out of range does. */
static void test_reply_tail_beyond_its_capacity(void **state)
{
	QuorumGetquorateRequest request = QUORUM_GETQUORATE_REQUEST__INIT;
	struct raw_ring r;
	int fd = reply_ring_client(&r);

	assert_quorate(fd, &r);
	__atomic_store_n(&r.shared->reply_tail, r.reply_tail - 2 * REPLY_RING_CAPACITY, __ATOMIC_SEQ_CST);
	assert_int_not_equal(raw_ring_request(fd, &r, QUORUM_REQUEST_GETQUORATE, &request.base), 0);
	assert_closed_with_log(&d, fd, "reply ring tail beyond its capacity 4096 from its head");
	raw_ring_destroy(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_welcome_announces_the_ring_limit, stop),
		cmocka_unit_test_setup_teardown(test_ring_carries_requests_across_its_wrap, start, stop),
		cmocka_unit_test_setup_teardown(test_ring_room_for_a_waiting_writer, start, stop),
		cmocka_unit_test_teardown(test_ring_above_the_limit_is_refused, stop),
		cmocka_unit_test_teardown(test_no_ring_when_the_limit_is_0, stop),
		cmocka_unit_test_setup_teardown(test_ring_open_without_a_memfd, start, stop),
		cmocka_unit_test_setup_teardown(test_ring_open_with_a_wrong_magic, start, stop),
		cmocka_unit_test_setup_teardown(test_ring_open_of_4_bytes, start, stop),
		cmocka_unit_test_setup_teardown(test_ring_open_with_a_pipe, start, stop),
		cmocka_unit_test_setup_teardown(test_ring_open_with_a_memfd_not_sealed_against_shrinking,
						start, stop),
		cmocka_unit_test_setup_teardown(test_ring_open_with_a_memfd_of_the_wrong_size, start, stop),
		cmocka_unit_test_setup_teardown(test_ring_capacity_no_power_of_two, start, stop),
		cmocka_unit_test_setup_teardown(test_ring_capacity_below_the_minimum, start, stop),
		cmocka_unit_test_setup_teardown(test_ring_open_with_two_descriptors, start, stop),
		cmocka_unit_test_setup_teardown(test_descriptors_before_hello, start, stop),
		cmocka_unit_test_setup_teardown(test_second_ring_open_with_a_descriptor, start, stop),
		cmocka_unit_test_setup_teardown(test_ring_open_through_the_ring, start, stop),
		cmocka_unit_test_setup_teardown(test_ring_head_beyond_its_capacity, start, stop),
		cmocka_unit_test_setup_teardown(test_ring_read_to_its_end_after_its_client_left, start, stop),
		cmocka_unit_test_setup_teardown(test_settled_counts_the_requests_handled, start, stop),
		cmocka_unit_test_teardown(test_settled_wakes_a_waiter_when_reading_pauses, stop),
		cmocka_unit_test_setup_teardown(test_settle_over_the_socket, start, stop),
		cmocka_unit_test_setup_teardown(test_settle_with_a_payload, start, stop),
		cmocka_unit_test_setup_teardown(test_replies_come_through_the_reply_ring_across_its_wrap,
						start, stop),
		cmocka_unit_test_setup_teardown(test_reply_ring_wakes_a_sleeping_client, start, stop),
		cmocka_unit_test_setup_teardown(test_reply_ring_full_queues_without_loss, start, stop),
		cmocka_unit_test_setup_teardown(test_reply_ring_of_another_capacity, start, stop),
		cmocka_unit_test_setup_teardown(test_reply_ring_beyond_the_memfd, start, stop),
		cmocka_unit_test_setup_teardown(test_reply_tail_beyond_its_capacity, start, stop),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("daemon_ring", tests, NULL, NULL);
}
