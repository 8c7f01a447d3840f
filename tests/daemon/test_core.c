/* The daemon core (loop, listener, sessions) with a service of the test's
 * own, run in a thread: the quorate gate, one-way requests, the validate
 * hook (a violation closes the connection), reply memory, event back-pressure, the connect hook and
 * events packed once for many sessions, and room for events sent split. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cv-daemon.h"
#include "cv-log.h"
#include "cv-server-private.h"
#include "cv-loop.h"
#include "cv-split.h"
#include "cpg.pb-c.h"
#include "daemon-peer.h"
#include "quorum.pb-c.h"

enum {
	FAKE_SET_QUORATE,
	FAKE_GUARDED,
	FAKE_ONEWAY,
	FAKE_VALIDATED,
	FAKE_BIG_REPLY,
	FAKE_FLOOD,
	FAKE_REFUSE_CONNECTS,
	FAKE_WHOAMI,
	FAKE_QUIT,
	FAKE_HELD,
	FAKE_RELEASE,
	FAKE_SHARE,
	FAKE_ROOM_THEN_SPLIT,
	FAKE_GAP, /* no request: a gap in the table, as the generator leaves */
	FAKE_AFTER_GAP,
	FAKE_N_REQUESTS,
};

static bool refuse_connects;
static int handler_runs;

#define ARG(request) (((const QuorumTrackstartRequest *)(request))->flags)
#define ANSWER(reply) (((QuorumModelGettypeReply *)(reply))->quorum_type)

static cs_error_t set_quorate(struct cv_session *s, const ProtobufCMessage *rq, ProtobufCMessage *rp)
{
	cv_server_set_quorate(ARG(rq) != 0);
	return CS_OK;
}

static cs_error_t guarded(struct cv_session *s, const ProtobufCMessage *rq, ProtobufCMessage *rp)
{
	ANSWER(rp) = 42;
	return CS_OK;
}

static cs_error_t oneway(struct cv_session *s, const ProtobufCMessage *rq, ProtobufCMessage *rp)
{
	QuorumNotificationEvent event = QUORUM_NOTIFICATION_EVENT__INIT;

	event.quorate = rp ? 999 : ARG(rq); /* one-way: no reply message */
	return cv_session_send_event(s, 0, &event.base);
}

static cs_error_t check_arg(const ProtobufCMessage *rq)
{
	return ARG(rq) == 13 ? CS_ERR_INVALID_PARAM : CS_OK;
}

static cs_error_t validated(struct cv_session *s, const ProtobufCMessage *rq, ProtobufCMessage *rp)
{
	handler_runs++;
	return CS_OK;
}

static cs_error_t big_reply(struct cv_session *s, const ProtobufCMessage *rq, ProtobufCMessage *rp)
{
	QuorumNotificationEvent *reply = (QuorumNotificationEvent *)rp;
	uint32_t n = ARG(rq);

	reply->view_list = cv_reply_alloc(s, n * sizeof(uint32_t));
	if (!reply->view_list)
		return CS_ERR_NO_MEMORY;
	reply->n_view_list = n;
	for (uint32_t i = 0; i < n; i++)
		reply->view_list[i] = i;
	return CS_OK;
}

static cs_error_t flood(struct cv_session *s, const ProtobufCMessage *rq, ProtobufCMessage *rp)
{
	QuorumNotificationEvent event = QUORUM_NOTIFICATION_EVENT__INIT;
	cs_error_t err;
	uint32_t sent = 0;

	event.ring_seq = 0x123456789abcdefULL;
	while ((err = cv_session_send_event(s, 0, &event.base)) == CS_OK)
		sent++;
	ANSWER(rp) = sent;
	return err == CS_ERR_TRY_AGAIN && !cv_session_has_room(s, 8) ? CS_OK : CS_ERR_LIBRARY;
}

static cs_error_t set_refuse(struct cv_session *s, const ProtobufCMessage *rq, ProtobufCMessage *rp)
{
	refuse_connects = ARG(rq) != 0;
	return CS_OK;
}

static cs_error_t whoami(struct cv_session *s, const ProtobufCMessage *rq, ProtobufCMessage *rp)
{
	/* no cmocka assertions here: this runs on the daemon's thread */
	if (cv_session_uid(s) != getuid() || cv_session_private(s) != (void *)(uintptr_t)cv_session_id(s))
		return CS_ERR_LIBRARY;
	ANSWER(rp) = (uint32_t)cv_session_pid(s);
	return CS_OK;
}

static cs_error_t quit(struct cv_session *s, const ProtobufCMessage *rq, ProtobufCMessage *rp)
{
	cv_loop_quit();
	return CS_OK;
}

/* A pipelined request put off until FAKE_RELEASE, whose timer retries it. */
static bool holding;
static struct cv_session *held_session;
static struct cv_timer *release_timer;

static cs_error_t held(struct cv_session *s, const ProtobufCMessage *rq, ProtobufCMessage *rp)
{
	QuorumNotificationEvent event = QUORUM_NOTIFICATION_EVENT__INIT;

	if (holding) {
		held_session = s;
		return CS_ERR_TRY_AGAIN;
	}
	event.quorate = ARG(rq);
	return cv_session_send_event(s, 0, &event.base);
}

static void retry_held(void *data)
{
	if (held_session != NULL && cv_session_is_held(held_session))
		cv_session_retry_held(held_session);
}

static cs_error_t release(struct cv_session *s, const ProtobufCMessage *rq, ProtobufCMessage *rp)
{
	holding = false;
	if (release_timer == NULL)
		release_timer = cv_timer_new(retry_held, NULL);
	if (release_timer == NULL)
		return CS_ERR_NO_MEMORY;
	cv_timer_start(release_timer, 0);
	return CS_OK;
}

/* The open sessions, for an event packed once and queued to each. */
#define MAX_FAKE_SESSIONS 16
static struct cv_session *fake_sessions[MAX_FAKE_SESSIONS];

#define SHARE_AFTER_FILLING_OWN_QUEUE 0x100u

/* Answers how many sessions took the event; an unknown event id must be
 * refused by every one of them. */
static cs_error_t share(struct cv_session *s, const ProtobufCMessage *rq, ProtobufCMessage *rp)
{
	QuorumNotificationEvent event = QUORUM_NOTIFICATION_EVENT__INIT;
	struct cv_packed_frame *packed, *unknown;
	uint32_t queued = 0;

	if (ARG(rq) & SHARE_AFTER_FILLING_OWN_QUEUE)
		while (cv_session_send_event(s, 0, &event.base) == CS_OK)
			continue;
	event.quorate = ARG(rq) & ~SHARE_AFTER_FILLING_OWN_QUEUE;
	packed = cv_event_pack(0, &event.base);
	unknown = cv_event_pack(1, &event.base);
	if (packed == NULL || unknown == NULL || cv_packed_frame_payload(packed) == 0)
		return CS_ERR_NO_MEMORY;
	for (size_t i = 0; i < MAX_FAKE_SESSIONS; i++) {
		if (fake_sessions[i] == NULL)
			continue;
		if (cv_session_send_packed(fake_sessions[i], unknown) != CS_ERR_INVALID_PARAM)
			return CS_ERR_LIBRARY;
		if (cv_session_send_packed(fake_sessions[i], packed) == CS_OK)
			queued++;
	}
	cv_packed_frame_release(packed);
	cv_packed_frame_release(unknown);
	ANSWER(rp) = queued;
	return CS_OK;
}

/* A filler event of ARG bytes, then a split one if has_room says it fits:
 * it must then be queued. Answers whether there was room. */
#define SPLIT_EVENT_BYTES (CV_SPLIT_MIN + 4)
static cs_error_t room_then_split(struct cv_session *s, const ProtobufCMessage *rq, ProtobufCMessage *rp)
{
	static uint8_t bytes[SPLIT_EVENT_BYTES];
	CpgMessageEvent filler = CPG_MESSAGE_EVENT__INIT, big = CPG_MESSAGE_EVENT__INIT;

	filler.msg = (ProtobufCBinaryData){ .len = ARG(rq), .data = bytes };
	big.msg = (ProtobufCBinaryData){ .len = SPLIT_EVENT_BYTES, .data = bytes };
	if (ARG(rq) >= CV_SPLIT_MIN || cv_session_send_event(s, 0, &filler.base) != CS_OK)
		return CS_ERR_LIBRARY;
	ANSWER(rp) = cv_session_has_room(s, protobuf_c_message_get_packed_size(&big.base));
	return ANSWER(rp) ? cv_session_send_event(s, 0, &big.base) : CS_OK;
}

#define REQUEST(fn, reply_desc, validate, flags)                                             \
	{                                                                                    \
#fn, &quorum_trackstart_request__descriptor, reply_desc, fn, validate, flags \
	}

static const struct cv_request_desc fake_requests[FAKE_N_REQUESTS] = {
	REQUEST(set_quorate, &quorum_model_gettype_reply__descriptor, NULL, 0),
	REQUEST(guarded, &quorum_model_gettype_reply__descriptor, NULL, CV_REQUEST_QUORATE_ONLY),
	REQUEST(oneway, NULL, NULL, CV_REQUEST_ONEWAY),
	REQUEST(validated, &quorum_model_gettype_reply__descriptor, check_arg, 0),
	REQUEST(big_reply, &quorum_notification_event__descriptor, NULL, 0),
	REQUEST(flood, &quorum_model_gettype_reply__descriptor, NULL, 0),
	REQUEST(set_refuse, &quorum_model_gettype_reply__descriptor, NULL, 0),
	REQUEST(whoami, &quorum_model_gettype_reply__descriptor, NULL, 0),
	REQUEST(quit, &quorum_model_gettype_reply__descriptor, NULL, 0),
	REQUEST(held, NULL, NULL, CV_REQUEST_ONEWAY | CV_REQUEST_NOWAIT),
	REQUEST(release, &quorum_model_gettype_reply__descriptor, NULL, 0),
	REQUEST(share, &quorum_model_gettype_reply__descriptor, NULL, 0),
	REQUEST(room_then_split, &quorum_model_gettype_reply__descriptor, NULL, 0),
	[FAKE_AFTER_GAP] = REQUEST(guarded, &quorum_model_gettype_reply__descriptor, NULL, 0),
};

static int fake_connect(struct cv_session *s)
{
	if (refuse_connects)
		return -1;
	cv_session_set_private(s, (void *)(uintptr_t)cv_session_id(s));
	for (size_t i = 0; i < MAX_FAKE_SESSIONS; i++) {
		if (fake_sessions[i] == NULL) {
			fake_sessions[i] = s;
			return 0;
		}
	}
	return -1;
}

static void fake_disconnect(struct cv_session *s)
{
	for (size_t i = 0; i < MAX_FAKE_SESSIONS; i++)
		if (fake_sessions[i] == s)
			fake_sessions[i] = NULL;
}

static const struct cv_service_ops fake_ops = { .connect = fake_connect, .disconnect = fake_disconnect };
static const char *const fake_event_names[] = { "notification" };
static const struct cv_server_service fake_service = {
	.name = "fake",
	.version_major = 3,
	.version_minor = 2,
	.n_requests = FAKE_N_REQUESTS,
	.requests = fake_requests,
	.n_events = 1,
	.event_names = fake_event_names,
	.ops = &fake_ops,
};

/* ---- the daemon in a thread -------------------------------------------- */

static struct cv_settings settings;
static pthread_t loop_thread;
static char socket_path[64];

static void *run_loop(void *data)
{
	(void)data;
	cv_loop_run();
	return NULL;
}

static int start_core(void **state)
{
	char err[256];

	snprintf(socket_path, sizeof(socket_path), "/tmp/conclave-core-%d/core.sock", (int)getpid());
	if (cv_settings_load(NULL, &settings, err, sizeof(err)) < 0)
		return -1;
	settings.limits.max_message_size = 4096;
	settings.limits.max_queued_bytes = 8192;
	if (cv_loop_init() < 0)
		return -1;
	cv_sessions_init(&settings);
	if (cv_server_add_service(&fake_service) < 0)
		return -1;
	cv_loop_set_after_batch(cv_sessions_reap);
	cv_loop_set_poller(&cv_sessions_poller);
	if (cv_listener_open(socket_path, &settings) < 0)
		return -1;
	return pthread_create(&loop_thread, NULL, run_loop, NULL) == 0 ? 0 : -1;
}

static int fake_client(uint16_t major, uint16_t minor)
{
	int fd = raw_connect(socket_path);
	struct cv_frame_header h;
	uint8_t *payload;
	int status = -1;

	if (fd < 0)
		return -1;
	if (raw_send_hello(fd, CV_WIRE_MAGIC, "fake", major, minor) == 0 &&
	    raw_read_welcome(fd, &h, &payload, 2000) == 1) {
		status = h.status;
		free(payload);
	}
	if (status == CS_OK)
		return fd;
	close(fd);
	return -status;
}

/* The status of request id with argument arg; *answer from the reply. */
static int fake_call(int fd, uint16_t id, uint32_t arg, uint32_t *answer)
{
	QuorumTrackstartRequest request = QUORUM_TRACKSTART_REQUEST__INIT;
	QuorumModelGettypeReply *reply;
	int status;

	request.flags = arg;
	status = raw_call(fd, id, &request.base, &quorum_model_gettype_reply__descriptor,
			  (ProtobufCMessage **)&reply);
	if (reply && answer)
		*answer = reply->quorum_type;
	if (reply)
		protobuf_c_message_free_unpacked(&reply->base, NULL);
	return status;
}

static int stop_core(void **state)
{
	int fd = fake_client(3, 0);

	fake_call(fd, FAKE_QUIT, 0, NULL);
	close(fd);
	pthread_join(loop_thread, NULL);
	cv_listener_close();
	cv_sessions_close_all();
	cv_server_remove_services();
	cv_loop_fini();
	*strrchr(socket_path, '/') = '\0';
	rmdir(socket_path);
	return 0;
}

/* ---- tests ------------------------------------------------------------- */

static void test_version_check(void **state)
{
	int fd;

	assert_true((fd = fake_client(3, 2)) >= 0);
	close(fd);
	assert_true((fd = fake_client(3, 0)) >= 0); /* an older minor is fine */
	close(fd);
	assert_int_equal(fake_client(3, 3), -CS_ERR_NOT_SUPPORTED);
	assert_int_equal(fake_client(2, 2), -CS_ERR_NOT_SUPPORTED);
}

static void test_quorate_gate(void **state)
{
	int fd = fake_client(3, 2);
	uint32_t answer = 0;

	assert_int_equal(fake_call(fd, FAKE_GUARDED, 0, &answer), CS_OK);
	assert_int_equal(answer, 42);
	assert_int_equal(fake_call(fd, FAKE_SET_QUORATE, 0, NULL), CS_OK);
	assert_int_equal(fake_call(fd, FAKE_GUARDED, 0, NULL), CS_ERR_TRY_AGAIN);
	assert_int_equal(fake_call(fd, FAKE_SET_QUORATE, 1, NULL), CS_OK);
	assert_int_equal(fake_call(fd, FAKE_GUARDED, 0, &answer), CS_OK);
	close(fd);
}

static void test_oneway_has_no_reply(void **state)
{
	int fd = fake_client(3, 2);
	QuorumTrackstartRequest request = QUORUM_TRACKSTART_REQUEST__INIT;
	uint8_t bytes[16];
	struct cv_frame_header h;
	uint8_t *payload;
	QuorumNotificationEvent *event;

	request.flags = 7;
	assert_int_equal(raw_send_frame(fd, CV_FRAME_REQUEST, FAKE_ONEWAY, 77, bytes,
					(uint32_t)protobuf_c_message_pack(&request.base, bytes)),
			 0);
	assert_int_equal(fake_call(fd, FAKE_GUARDED, 0, NULL), CS_OK);
	/* the event came before the next reply, and nothing answered seq 77 */
	assert_int_equal(raw_next_event(fd,
					(const ProtobufCMessageDescriptor *const[]){
						&quorum_notification_event__descriptor },
					1, (ProtobufCMessage **)&event, 0),
			 0);
	assert_int_equal(event->quorate, 7);
	protobuf_c_message_free_unpacked(&event->base, NULL);
	assert_int_equal(raw_read_reply(fd, &h, &payload, 100), -1);
	close(fd);
}

/* A held frame stops reading its connection: the request after it is not
 * answered until the retry takes the held one, and then in order. */
static void test_nowait_request_is_held_until_retried(void **state)
{
	int fd = fake_client(3, 2), other = fake_client(3, 2);
	QuorumTrackstartRequest request = QUORUM_TRACKSTART_REQUEST__INIT;
	QuorumNotificationEvent *event;
	struct cv_frame_header h;
	uint8_t bytes[16], *payload;
	uint32_t length;

	holding = true;
	request.flags = 5;
	length = (uint32_t)protobuf_c_message_pack(&request.base, bytes);
	assert_int_equal(raw_send_frame(fd, CV_FRAME_REQUEST, FAKE_HELD, 1, bytes, length), 0);
	assert_int_equal(raw_send_frame(fd, CV_FRAME_REQUEST, FAKE_GUARDED, 2, bytes, length), 0);
	assert_int_equal(raw_read_reply(fd, &h, &payload, 300), -1);
	assert_int_equal(fake_call(other, FAKE_RELEASE, 0, NULL), CS_OK);
	assert_int_equal(raw_next_event(fd,
					(const ProtobufCMessageDescriptor *const[]){
						&quorum_notification_event__descriptor },
					1, (ProtobufCMessage **)&event, 2000),
			 0);
	assert_int_equal(event->quorate, 5);
	protobuf_c_message_free_unpacked(&event->base, NULL);
	assert_int_equal(raw_read_reply(fd, &h, &payload, 2000), 1);
	assert_int_equal(h.kind, CV_FRAME_REPLY);
	assert_int_equal(h.seq, 2);
	free(payload);
	close(fd);
	close(other);
}

static void test_validate_closes_without_handler(void **state)
{
	int fd = fake_client(3, 2);
	int runs = handler_runs;

	assert_int_equal(fake_call(fd, FAKE_VALIDATED, 1, NULL), CS_OK);
	assert_int_equal(handler_runs, runs + 1);
	assert_int_equal(fake_call(fd, FAKE_VALIDATED, 13, NULL), -1);
	assert_true(raw_closed_within(fd, 2000));
	assert_int_equal(handler_runs, runs + 1);
	close(fd);
}

static bool file_contains(const char *path, const char *text)
{
	char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return strstr(buf, text) != NULL;
}

/* An id between two requests of the table names no request: the connection
 * is closed with a log line, and the ids around the gap still work. */
static void test_request_id_in_a_gap_closes_the_connection(void **state)
{
	char log_path[96], expected[64];
	int fd = fake_client(3, 2), other = fake_client(3, 2);
	uint32_t answer = 0;
	struct cv_log_targets to_file = CV_LOG_TARGETS_DEFAULT;

	snprintf(log_path, sizeof(log_path), "%s.log", socket_path);
	to_file.logfile = log_path;
	assert_int_equal(cv_log_set_targets(&to_file), 0);
	assert_int_equal(fake_call(fd, FAKE_AFTER_GAP, 0, &answer), CS_OK);
	assert_int_equal(answer, 42);
	assert_int_equal(fake_call(fd, FAKE_GAP, 0, NULL), -1);
	assert_true(raw_closed_within(fd, 2000));
	assert_int_equal(fake_call(other, FAKE_AFTER_GAP, 0, &answer), CS_OK);
	cv_log_set_targets(&CV_LOG_TARGETS_DEFAULT);
	snprintf(expected, sizeof(expected), "service fake): unknown request id %d", FAKE_GAP);
	assert_true(file_contains(log_path, expected));
	unlink(log_path);
	close(fd);
	close(other);
}

static void test_reply_memory(void **state)
{
	int fd = fake_client(3, 2);
	QuorumTrackstartRequest request = QUORUM_TRACKSTART_REQUEST__INIT;
	QuorumNotificationEvent *reply;

	request.flags = 1000;
	assert_int_equal(raw_call(fd, FAKE_BIG_REPLY, &request.base, &quorum_notification_event__descriptor,
				  (ProtobufCMessage **)&reply),
			 CS_OK);
	assert_int_equal(reply->n_view_list, 1000);
	assert_int_equal(reply->view_list[999], 999);
	protobuf_c_message_free_unpacked(&reply->base, NULL);
	/* more than four times max_message_size: refused, and the daemon lives */
	request.flags = 5000;
	assert_int_equal(raw_call(fd, FAKE_BIG_REPLY, &request.base, &quorum_notification_event__descriptor,
				  (ProtobufCMessage **)&reply),
			 CS_ERR_NO_MEMORY);
	if (reply)
		protobuf_c_message_free_unpacked(&reply->base, NULL);
	assert_int_equal(fake_call(fd, FAKE_GUARDED, 0, NULL), CS_OK);
	close(fd);
}

static void test_event_back_pressure(void **state)
{
	int fd = fake_client(3, 2);
	uint32_t sent = 0, again = 0;

	assert_int_equal(fake_call(fd, FAKE_FLOOD, 0, &sent), CS_OK);
	assert_true(sent > 0);
	/* a full event queue holds back events, not the client's requests */
	assert_int_equal(fake_call(fd, FAKE_GUARDED, 0, NULL), CS_OK);
	raw_forget_events(fd);
	/* once the client has read everything, there is room again */
	assert_int_equal(fake_call(fd, FAKE_FLOOD, 0, &again), CS_OK);
	assert_true(again > 0);
	raw_forget_events(fd);
	close(fd);
}

static void test_connect_hook_refusal(void **state)
{
	int fd = fake_client(3, 2);
	uint32_t pid = 0;

	assert_int_equal(fake_call(fd, FAKE_WHOAMI, 0, &pid), CS_OK);
	assert_int_equal(pid, getpid());
	assert_int_equal(fake_call(fd, FAKE_REFUSE_CONNECTS, 1, NULL), CS_OK);
	assert_int_equal(fake_client(3, 2), -CS_ERR_NO_RESOURCES);
	assert_int_equal(fake_call(fd, FAKE_REFUSE_CONNECTS, 0, NULL), CS_OK);
	close(fd);
}

static int next_quorate(int fd)
{
	QuorumNotificationEvent *event;
	int quorate;

	if (raw_next_event(
		    fd, (const ProtobufCMessageDescriptor *const[]){ &quorum_notification_event__descriptor },
		    1, (ProtobufCMessage **)&event, 2000) != 0)
		return -1;
	quorate = (int)event->quorate;
	protobuf_c_message_free_unpacked(&event->base, NULL);
	return quorate;
}

/* The sender's own queue and another's get the same bytes, once; a
 * session with no room is skipped. */
static void test_packed_event_goes_to_many_sessions(void **state)
{
	int fd = fake_client(3, 2), other = fake_client(3, 2);
	uint32_t queued = 0;
	int quorate;

	assert_int_equal(fake_call(fd, FAKE_SHARE, 9, &queued), CS_OK);
	assert_int_equal(queued, 2);
	assert_int_equal(next_quorate(fd), 9);
	assert_int_equal(next_quorate(other), 9);
	assert_int_equal(fake_call(fd, FAKE_SHARE, 10 | SHARE_AFTER_FILLING_OWN_QUEUE, &queued), CS_OK);
	assert_int_equal(queued, 1);
	assert_int_equal(next_quorate(other), 10);
	while ((quorate = next_quorate(fd)) == 0)
		continue;
	assert_int_equal(quorate, -1);
	close(fd);
	close(other);
}

/* Fillers that leave the queue a few bytes either side of the point where
 * the split event fits: wherever has_room said yes, it was queued. */
static void test_room_found_for_an_event_holds_when_it_goes_split(void **state)
{
	int fd = fake_client(3, 2);
	uint32_t had_room, with_room = 0, without = 0;
	/* Queues count what frames cost in memory, a few dozen bytes each
	 * more than the frames themselves. */
	uint32_t around = settings.limits.max_queued_bytes - 2 * (uint32_t)output_frame_cost(0) -
			  SPLIT_EVENT_BYTES;

	for (uint32_t filler = around - 48; filler <= around + 48; filler++) {
		assert_int_equal(fake_call(fd, FAKE_ROOM_THEN_SPLIT, filler, &had_room), CS_OK);
		raw_forget_events(fd);
		if (had_room)
			with_room++;
		else
			without++;
	}
	assert_true(with_room > 0 && without > 0);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version_check),
		cmocka_unit_test(test_quorate_gate),
		cmocka_unit_test(test_oneway_has_no_reply),
		cmocka_unit_test(test_nowait_request_is_held_until_retried),
		cmocka_unit_test(test_validate_closes_without_handler),
		cmocka_unit_test(test_request_id_in_a_gap_closes_the_connection),
		cmocka_unit_test(test_reply_memory),
		cmocka_unit_test(test_event_back_pressure),
		cmocka_unit_test(test_connect_hook_refusal),
		cmocka_unit_test(test_packed_event_goes_to_many_sessions),
		cmocka_unit_test(test_room_found_for_an_event_holds_when_it_goes_split),
	};

	return cmocka_run_group_tests_name("daemon_core", tests, start_core, stop_core);
}
