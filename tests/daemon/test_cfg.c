/* The cfg service on the wire, against a real conclaved: what only a client
 * that bypasses libcfg can send, and the shutdown negotiation's edges. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <corosync/cfg.h>

#include "daemon-peer.h"
#include "corosync_cfg.pb-c.h"

enum {
	CFG_KILL_NODE = 3,
	CFG_TRACKSTART = 4,
	CFG_TRY_SHUTDOWN = 6,
	CFG_REPLYTO_SHUTDOWN = 7,
	CFG_LOCAL_GET = 8
};

static const ProtobufCMessageDescriptor *const cfg_events[] = { &corosync_cfg_shutdown_event__descriptor };

static struct test_daemon d;

static int start(void **state)
{
	(void)state;
	return test_daemon_start(&d, TEST_SINGLE_NODE_CONFIG);
}

static int stop(void **state)
{
	(void)state;
	return test_daemon_stop(&d) == 0 ? 0 : -1;
}

static int call(int fd, uint16_t id, const ProtobufCMessage *request,
		const ProtobufCMessageDescriptor *reply_desc)
{
	ProtobufCMessage *reply = NULL;
	int status = raw_call(fd, id, request, reply_desc, &reply);

	if (reply)
		protobuf_c_message_free_unpacked(reply, NULL);
	return status;
}

static int trackstart(int fd)
{
	CorosyncCfgTrackstartRequest request = COROSYNC_CFG_TRACKSTART_REQUEST__INIT;

	return call(fd, CFG_TRACKSTART, &request.base, &corosync_cfg_trackstart_reply__descriptor);
}

static int replyto(int fd, int32_t flags)
{
	CorosyncCfgReplytoShutdownRequest request = COROSYNC_CFG_REPLYTO_SHUTDOWN_REQUEST__INIT;

	request.flags = flags;
	return call(fd, CFG_REPLYTO_SHUTDOWN, &request.base,
		    &corosync_cfg_replyto_shutdown_reply__descriptor);
}

static bool daemon_alive(void)
{
	int fd = raw_client(d.socket, "corosync_cfg");
	CorosyncCfgLocalGetRequest request = COROSYNC_CFG_LOCAL_GET_REQUEST__INIT;
	bool alive = fd >= 0 && call(fd, CFG_LOCAL_GET, &request.base,
				     &corosync_cfg_local_get_reply__descriptor) == CS_OK;

	if (fd >= 0)
		close(fd);
	return alive;
}

static void expect_asked(int fd, int32_t flags)
{
	ProtobufCMessage *event = NULL;

	assert_int_equal(raw_next_event(fd, cfg_events, 1, &event, 2000), 0);
	assert_int_equal(((CorosyncCfgShutdownEvent *)event)->flags, flags);
	protobuf_c_message_free_unpacked(event, NULL);
}

/* libcfg refuses a reason over 255 bytes; a client that sends one anyway
 * is closed, and the daemon carries on. */
static void test_long_reason_closes_the_connection(void **state)
{
	int fd = raw_client(d.socket, "corosync_cfg");
	CorosyncCfgKillNodeRequest request = COROSYNC_CFG_KILL_NODE_REQUEST__INIT;
	char reason[300];

	(void)state;
	memset(reason, 'r', sizeof(reason) - 1);
	reason[sizeof(reason) - 1] = '\0';
	request.nodeid = 1;
	request.reason = reason;
	assert_int_equal(call(fd, CFG_KILL_NODE, &request.base, &corosync_cfg_kill_node_reply__descriptor),
			 -1);
	assert_true(raw_closed_within(fd, 2000));
	close(fd);
	assert_true(daemon_alive());
}

/* The caller leaving cancels the shutdown: a later yes shuts nothing down,
 * and the next try is not refused as a duplicate. */
static void test_caller_leaving_cancels_the_shutdown(void **state)
{
	int tracker = raw_client(d.socket, "corosync_cfg");
	int caller = raw_client(d.socket, "corosync_cfg");
	struct cv_frame_header h;
	uint8_t *payload = NULL;

	(void)state;
	assert_int_equal(trackstart(tracker), CS_OK);
	/* An empty payload is a try with COROSYNC_CFG_SHUTDOWN_FLAG_REQUEST (0). */
	assert_int_equal(raw_send_frame(caller, CV_FRAME_REQUEST, CFG_TRY_SHUTDOWN, 1, NULL, 0), 0);
	expect_asked(tracker, COROSYNC_CFG_SHUTDOWN_FLAG_REQUEST);
	/* No reply before the tracker answers. */
	assert_int_equal(raw_read_reply(caller, &h, &payload, 200), -1);
	close(caller);
	assert_true(test_daemon_log_contains(&d, "shutdown cancelled", 2000));
	assert_int_equal(replyto(tracker, COROSYNC_CFG_SHUTDOWN_FLAG_YES), CS_OK);
	assert_true(daemon_alive());

	caller = raw_client(d.socket, "corosync_cfg");
	assert_int_equal(raw_send_frame(caller, CV_FRAME_REQUEST, CFG_TRY_SHUTDOWN, 1, NULL, 0), 0);
	expect_asked(tracker, COROSYNC_CFG_SHUTDOWN_FLAG_REQUEST);
	assert_int_equal(replyto(tracker, COROSYNC_CFG_SHUTDOWN_FLAG_NO), CS_OK);
	assert_int_equal(raw_read_reply(caller, &h, &payload, 2000), 1);
	assert_int_equal(h.kind, CV_FRAME_REPLY);
	assert_int_equal(h.seq, 1);
	assert_int_equal(h.status, CS_ERR_BUSY);
	free(payload);
	close(caller);
	close(tracker);
	assert_true(daemon_alive());
}

/* A tracker that starts while a shutdown waits is asked too. */
static void test_late_tracker_is_asked(void **state)
{
	int early = raw_client(d.socket, "corosync_cfg");
	int caller = raw_client(d.socket, "corosync_cfg");
	int late = raw_client(d.socket, "corosync_cfg");
	struct cv_frame_header h;
	uint8_t *payload = NULL;

	(void)state;
	assert_int_equal(trackstart(early), CS_OK);
	assert_int_equal(raw_send_frame(caller, CV_FRAME_REQUEST, CFG_TRY_SHUTDOWN, 7, NULL, 0), 0);
	expect_asked(early, COROSYNC_CFG_SHUTDOWN_FLAG_REQUEST);
	assert_int_equal(trackstart(late), CS_OK);
	expect_asked(late, COROSYNC_CFG_SHUTDOWN_FLAG_REQUEST);
	assert_int_equal(replyto(early, COROSYNC_CFG_SHUTDOWN_FLAG_YES), CS_OK);
	assert_int_equal(raw_read_reply(caller, &h, &payload, 200), -1);
	assert_int_equal(replyto(late, COROSYNC_CFG_SHUTDOWN_FLAG_YES), CS_OK);
	assert_int_equal(raw_read_reply(caller, &h, &payload, 2000), 1);
	assert_int_equal(h.seq, 7);
	assert_int_equal(h.status, CS_OK);
	free(payload);
	assert_true(raw_closed_within(caller, 5000));
	close(caller);
	close(early);
	close(late);
	assert_int_equal(test_daemon_stop(&d), 0);
	assert_int_equal(test_daemon_start(&d, TEST_SINGLE_NODE_CONFIG), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_long_reason_closes_the_connection),
		cmocka_unit_test(test_caller_leaving_cancels_the_shutdown),
		cmocka_unit_test(test_late_tracker_is_asked),
	};

	return cmocka_run_group_tests_name("cfg", tests, start, stop);
}
