/* The quorum and votequorum services as seen on the wire: replies, errors
 * and notifications, against a real conclaved. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <corosync/quorum.h>
#include <corosync/votequorum.h>

#include "daemon-peer.h"
#include "quorum.pb-c.h"
#include "votequorum.pb-c.h"

enum { Q_GETQUORATE, Q_TRACKSTART, Q_TRACKSTOP, Q_MODEL_GETTYPE };
enum { Q_EV_V0, Q_EV_V1_QUORUM, Q_EV_V1_NODELIST };
enum {
	VQ_GETINFO,
	VQ_SETEXPECTED,
	VQ_SETVOTES,
	VQ_TRACKSTART,
	VQ_TRACKSTOP,
	VQ_QDEVICE_REGISTER,
	VQ_QDEVICE_UNREGISTER,
	VQ_QDEVICE_UPDATE,
	VQ_QDEVICE_POLL,
	VQ_QDEVICE_MASTER_WINS
};
enum { VQ_EV_QUORUM, VQ_EV_NODELIST, VQ_EV_EXPECTED };

static const ProtobufCMessageDescriptor *const quorum_events[] = {
	&quorum_notification_event__descriptor,
	&quorum_v1_quorum_notification_event__descriptor,
	&quorum_v1_nodelist_notification_event__descriptor,
};
static const ProtobufCMessageDescriptor *const vq_events[] = {
	&votequorum_quorum_notification_event__descriptor,
	&votequorum_nodelist_notification_event__descriptor,
	&votequorum_expectedvotes_notification_event__descriptor,
};

#define TWO_NODES_WITH_DEVICE                                                                               \
	"quorum {\n\tprovider: corosync_votequorum\n\tdevice {\n\t\tmodel: net\n\t\ttimeout: 500\n\t}\n}\n" \
	"nodelist {\n\tnode {\n\t\tnodeid: 1\n\t\tring0_addr: 127.0.0.1\n\t}\n"                             \
	"\tnode {\n\t\tnodeid: 2\n\t\tring0_addr: 192.0.2.2\n\t}\n}\n" TEST_CONCLAVE_SECTION
#define THREE_NODES                                                             \
	"quorum {\n\tprovider: corosync_votequorum\n}\n"                        \
	"nodelist {\n\tnode {\n\t\tnodeid: 1\n\t\tring0_addr: 127.0.0.1\n\t}\n" \
	"\tnode {\n\t\tnodeid: 2\n\t\tring0_addr: 192.0.2.2\n\t}\n"             \
	"\tnode {\n\t\tnodeid: 3\n\t\tring0_addr: 192.0.2.3\n\t}\n}\n" TEST_CONCLAVE_SECTION

static struct test_daemon d;

static int start(const char *config)
{
	return test_daemon_start(&d, config);
}

static int stop(void **state)
{
	return test_daemon_stop(&d) == 0 ? 0 : -1;
}

/* ---- calls ------------------------------------------------------------- */

/* A call whose reply carries nothing the test needs. */
static int call(int fd, uint16_t id, const ProtobufCMessage *request,
		const ProtobufCMessageDescriptor *reply_desc)
{
	ProtobufCMessage *reply;
	int status = raw_call(fd, id, request, reply_desc, &reply);

	if (reply)
		protobuf_c_message_free_unpacked(reply, NULL);
	return status;
}

static int getquorate(int fd)
{
	QuorumGetquorateRequest request = QUORUM_GETQUORATE_REQUEST__INIT;
	QuorumGetquorateReply *reply;
	int quorate;

	assert_int_equal(raw_call(fd, Q_GETQUORATE, &request.base, &quorum_getquorate_reply__descriptor,
				  (ProtobufCMessage **)&reply),
			 CS_OK);
	quorate = reply->quorate;
	protobuf_c_message_free_unpacked(&reply->base, NULL);
	return quorate;
}

static int q_trackstart(int fd, uint32_t flags)
{
	QuorumTrackstartRequest request = QUORUM_TRACKSTART_REQUEST__INIT;

	request.flags = flags;
	return call(fd, Q_TRACKSTART, &request.base, &quorum_trackstart_reply__descriptor);
}

static int q_trackstop(int fd)
{
	QuorumTrackstopRequest request = QUORUM_TRACKSTOP_REQUEST__INIT;

	return call(fd, Q_TRACKSTOP, &request.base, &quorum_trackstop_reply__descriptor);
}

/* The status; *quorum_type set on success. */
static int model_gettype(int fd, int32_t model, uint32_t *quorum_type)
{
	QuorumModelGettypeRequest request = QUORUM_MODEL_GETTYPE_REQUEST__INIT;
	QuorumModelGettypeReply *reply;
	int status;

	request.model = model;
	status = raw_call(fd, Q_MODEL_GETTYPE, &request.base, &quorum_model_gettype_reply__descriptor,
			  (ProtobufCMessage **)&reply);
	if (reply) {
		*quorum_type = reply->quorum_type;
		protobuf_c_message_free_unpacked(&reply->base, NULL);
	}
	return status;
}

static int getinfo(int fd, uint32_t nodeid, VotequorumInfo *out)
{
	VotequorumGetinfoRequest request = VOTEQUORUM_GETINFO_REQUEST__INIT;
	VotequorumGetinfoReply *reply;
	int status;

	request.nodeid = nodeid;
	status = raw_call(fd, VQ_GETINFO, &request.base, &votequorum_getinfo_reply__descriptor,
			  (ProtobufCMessage **)&reply);
	if (status == CS_OK) {
		assert_non_null(reply->info);
		*out = *reply->info;
		out->qdevice_name = strcmp(reply->info->qdevice_name, "") ? "(set)" : "";
	}
	if (reply)
		protobuf_c_message_free_unpacked(&reply->base, NULL);
	return status;
}

static int vq_trackstart(int fd, uint64_t context, uint32_t flags)
{
	VotequorumTrackstartRequest request = VOTEQUORUM_TRACKSTART_REQUEST__INIT;

	request.context = context;
	request.flags = flags;
	return call(fd, VQ_TRACKSTART, &request.base, &votequorum_trackstart_reply__descriptor);
}

static int vq_trackstop(int fd)
{
	VotequorumTrackstopRequest request = VOTEQUORUM_TRACKSTOP_REQUEST__INIT;

	return call(fd, VQ_TRACKSTOP, &request.base, &votequorum_trackstop_reply__descriptor);
}

static int setexpected(int fd, uint32_t expected)
{
	VotequorumSetexpectedRequest request = VOTEQUORUM_SETEXPECTED_REQUEST__INIT;

	request.expected_votes = expected;
	return call(fd, VQ_SETEXPECTED, &request.base, &votequorum_setexpected_reply__descriptor);
}

static int setvotes(int fd, uint32_t nodeid, uint32_t votes)
{
	VotequorumSetvotesRequest request = VOTEQUORUM_SETVOTES_REQUEST__INIT;

	request.nodeid = nodeid;
	request.votes = votes;
	return call(fd, VQ_SETVOTES, &request.base, &votequorum_setvotes_reply__descriptor);
}

static int qdevice_register(int fd, const char *name)
{
	VotequorumQdeviceRegisterRequest request = VOTEQUORUM_QDEVICE_REGISTER_REQUEST__INIT;

	request.name = (char *)name;
	return call(fd, VQ_QDEVICE_REGISTER, &request.base, &votequorum_qdevice_register_reply__descriptor);
}

static int qdevice_unregister(int fd, const char *name)
{
	VotequorumQdeviceUnregisterRequest request = VOTEQUORUM_QDEVICE_UNREGISTER_REQUEST__INIT;

	request.name = (char *)name;
	return call(fd, VQ_QDEVICE_UNREGISTER, &request.base,
		    &votequorum_qdevice_unregister_reply__descriptor);
}

static int qdevice_poll(int fd, const char *name, uint32_t cast_vote, uint32_t ring_nodeid, uint64_t ring_seq)
{
	VotequorumQdevicePollRequest request = VOTEQUORUM_QDEVICE_POLL_REQUEST__INIT;
	VotequorumRingIdT ring = VOTEQUORUM_RING_ID_T__INIT;

	ring.nodeid = ring_nodeid;
	ring.seq = ring_seq;
	request.name = (char *)name;
	request.cast_vote = cast_vote;
	request.ring_id = &ring;
	return call(fd, VQ_QDEVICE_POLL, &request.base, &votequorum_qdevice_poll_reply__descriptor);
}

/* ---- events ------------------------------------------------------------ */

static ProtobufCMessage *expect_event(int fd, const ProtobufCMessageDescriptor *const *descs, int id)
{
	ProtobufCMessage *event;

	assert_int_equal(raw_next_event(fd, descs, 3, &event, 3000), id);
	return event;
}

static void expect_no_event(int fd, const ProtobufCMessageDescriptor *const *descs)
{
	ProtobufCMessage *event;

	assert_int_equal(raw_next_event(fd, descs, 3, &event, 150), -1);
}

static void expect_vq_quorum(int fd, uint64_t context, uint32_t quorate, const char *nodes)
{
	VotequorumQuorumNotificationEvent *e = (VotequorumQuorumNotificationEvent *)expect_event(
		fd, vq_events, VQ_EV_QUORUM);
	char list[256] = "";

	for (size_t i = 0; i < e->n_node_list; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%u/%u", i ? " " : "",
			 e->node_list[i]->nodeid, e->node_list[i]->state);
	assert_int_equal(e->context, context);
	assert_int_equal(e->quorate, quorate);
	assert_string_equal(list, nodes);
	protobuf_c_message_free_unpacked(&e->base, NULL);
}

static void expect_vq_nodelist(int fd, uint64_t context)
{
	VotequorumNodelistNotificationEvent *e = (VotequorumNodelistNotificationEvent *)expect_event(
		fd, vq_events, VQ_EV_NODELIST);

	assert_int_equal(e->context, context);
	assert_int_equal(e->ring_id->nodeid, 1);
	assert_int_equal(e->ring_id->seq, 1);
	assert_int_equal(e->n_node_list, 1);
	assert_int_equal(e->node_list[0], 1);
	protobuf_c_message_free_unpacked(&e->base, NULL);
}

static void expect_vq_expected(int fd, uint64_t context, uint32_t expected)
{
	VotequorumExpectedvotesNotificationEvent *e = (VotequorumExpectedvotesNotificationEvent *)
		expect_event(fd, vq_events, VQ_EV_EXPECTED);

	assert_int_equal(e->context, context);
	assert_int_equal(e->expected_votes, expected);
	protobuf_c_message_free_unpacked(&e->base, NULL);
}

static void expect_v0(int fd, uint32_t quorate, uint64_t ring_seq, size_t n_view)
{
	QuorumNotificationEvent *e = (QuorumNotificationEvent *)expect_event(fd, quorum_events, Q_EV_V0);

	assert_int_equal(e->quorate, quorate);
	assert_int_equal(e->ring_seq, ring_seq);
	assert_int_equal(e->n_view_list, n_view);
	if (n_view)
		assert_int_equal(e->view_list[0], 1);
	protobuf_c_message_free_unpacked(&e->base, NULL);
}

/* ---- quorum ------------------------------------------------------------ */

static void test_quorum_requests(void **state)
{
	int fd = raw_client(d.socket, "quorum");
	uint32_t type = 99;

	assert_int_equal(getquorate(fd), 1);
	assert_int_equal(model_gettype(fd, QUORUM_MODEL_V0, &type), CS_OK);
	assert_int_equal(type, QUORUM_SET);
	assert_int_equal(model_gettype(fd, 7, &type), CS_ERR_INVALID_PARAM);
	assert_int_equal(q_trackstop(fd), CS_ERR_NOT_EXIST);
	close(fd);
}

static void test_quorum_tracking_v0(void **state)
{
	int fd = raw_client(d.socket, "quorum");

	assert_int_equal(q_trackstart(fd, 0), CS_OK);
	expect_no_event(fd, quorum_events);
	assert_int_equal(q_trackstart(fd, CS_TRACK_CURRENT), CS_OK);
	expect_v0(fd, 1, 1, 1);
	assert_int_equal(q_trackstop(fd), CS_OK); /* ends the one-shot CURRENT trackstart */
	assert_int_equal(q_trackstart(fd, CS_TRACK_CHANGES_ONLY), CS_OK);
	expect_no_event(fd, quorum_events);
	assert_int_equal(q_trackstart(fd, CS_TRACK_CHANGES), CS_ERR_EXIST);
	expect_v0(fd, 1, 1, 1); /* the snapshot still comes */
	assert_int_equal(q_trackstop(fd), CS_OK);
	assert_int_equal(q_trackstop(fd), CS_ERR_NOT_EXIST);
	close(fd);
}

static void test_quorum_tracking_v1(void **state)
{
	int fd = raw_client(d.socket, "quorum");
	QuorumV1NodelistNotificationEvent *nodelist;
	QuorumV1QuorumNotificationEvent *quorum;
	uint32_t type;

	assert_int_equal(model_gettype(fd, QUORUM_MODEL_V1, &type), CS_OK);
	assert_int_equal(q_trackstart(fd, CS_TRACK_CHANGES), CS_OK);
	nodelist = (QuorumV1NodelistNotificationEvent *)expect_event(fd, quorum_events, Q_EV_V1_NODELIST);
	assert_int_equal(nodelist->ring_id->nodeid, 1);
	assert_int_equal(nodelist->ring_id->seq, 1);
	assert_int_equal(nodelist->n_member_list, 1);
	assert_int_equal(nodelist->n_joined_list + nodelist->n_left_list, 0);
	quorum = (QuorumV1QuorumNotificationEvent *)expect_event(fd, quorum_events, Q_EV_V1_QUORUM);
	assert_int_equal(quorum->quorate, 1);
	assert_int_equal(quorum->ring_id->seq, 1);
	assert_int_equal(quorum->n_member_list, 1);
	protobuf_c_message_free_unpacked(&nodelist->base, NULL);
	protobuf_c_message_free_unpacked(&quorum->base, NULL);
	close(fd);
}

/* ---- votequorum -------------------------------------------------------- */

static void test_getinfo(void **state)
{
	int fd = raw_client(d.socket, "votequorum");
	VotequorumInfo info;

	assert_int_equal(getinfo(fd, 0, &info), CS_OK);
	assert_int_equal(info.node_id, 1);
	assert_int_equal(info.node_state, VOTEQUORUM_NODESTATE_MEMBER);
	assert_int_equal(info.node_votes, 1);
	assert_int_equal(info.node_expected_votes, 1);
	assert_int_equal(info.highest_expected, 1);
	assert_int_equal(info.total_votes, 1);
	assert_int_equal(info.quorum, 1);
	assert_int_equal(info.flags, VOTEQUORUM_INFO_QUORATE);
	assert_int_equal(info.qdevice_votes, 0);
	assert_string_equal(info.qdevice_name, "");
	assert_int_equal(getinfo(fd, 1, &info), CS_OK);
	assert_int_equal(info.node_id, 1);
	assert_int_equal(getinfo(fd, 5, &info), CS_ERR_NOT_EXIST);
	close(fd);
}

static void test_votequorum_tracking(void **state)
{
	int fd = raw_client(d.socket, "votequorum");

	assert_int_equal(vq_trackstart(fd, 7, CS_TRACK_CHANGES), CS_OK);
	expect_vq_nodelist(fd, 7);
	expect_vq_quorum(fd, 7, 1, "1/1");
	assert_int_equal(vq_trackstart(fd, 9, CS_TRACK_CURRENT), CS_ERR_EXIST);
	expect_vq_nodelist(fd, 9); /* the snapshot carries the call's context */
	expect_vq_quorum(fd, 9, 1, "1/1");
	assert_int_equal(setexpected(fd, 0), CS_ERR_INVALID_PARAM);
	assert_int_equal(setexpected(fd, 2), CS_ERR_INVALID_PARAM);
	expect_no_event(fd, vq_events);
	assert_int_equal(setexpected(fd, 1), CS_OK);
	expect_vq_expected(fd, 7, 1); /* changes carry the tracking context */
	assert_int_equal(setvotes(fd, 9, 1), CS_ERR_NAME_NOT_FOUND);
	assert_int_equal(vq_trackstop(fd), CS_OK);
	assert_int_equal(vq_trackstop(fd), CS_ERR_NOT_EXIST);
	close(fd);
}

/* As in corosync, more votes raise expected votes, which trackers hear of;
 * quorate stays as it was, so no quorum notification goes to either
 * service's trackers. */
static void test_vote_changes_reach_every_tracker(void **state)
{
	int vq = raw_client(d.socket, "votequorum");
	int q = raw_client(d.socket, "quorum");
	VotequorumInfo info;

	assert_int_equal(vq_trackstart(vq, 3, CS_TRACK_CHANGES_ONLY), CS_OK);
	assert_int_equal(q_trackstart(q, CS_TRACK_CHANGES_ONLY), CS_OK);
	assert_int_equal(setvotes(vq, 1, 3), CS_OK);
	expect_vq_expected(vq, 3, 3);
	expect_no_event(vq, vq_events);
	expect_no_event(q, quorum_events);
	assert_int_equal(getinfo(vq, 0, &info), CS_OK);
	assert_int_equal(info.node_votes, 3);
	assert_int_equal(info.node_expected_votes, 3);
	assert_int_equal(info.quorum, 2);
	/* expected votes never come back down by themselves */
	assert_int_equal(setvotes(vq, 1, 1), CS_ERR_INVALID_PARAM);
	close(vq);
	close(q);
}

/* ---- one node of three ------------------------------------------------- */

static void test_three_nodes_inquorate(void **state)
{
	int vq = raw_client(d.socket, "votequorum");
	int q = raw_client(d.socket, "quorum");
	VotequorumInfo info;

	assert_int_equal(getquorate(q), 0);
	assert_int_equal(getinfo(vq, 0, &info), CS_OK);
	assert_int_equal(info.node_expected_votes, 3);
	assert_int_equal(info.total_votes, 1);
	assert_int_equal(info.quorum, 2);
	assert_int_equal(info.flags, 0);
	assert_int_equal(getinfo(vq, 3, &info), CS_OK);
	assert_int_equal(info.node_state, VOTEQUORUM_NODESTATE_DEAD);
	assert_int_equal(info.node_votes, 1);
	assert_int_equal(vq_trackstart(vq, 1, CS_TRACK_CHANGES), CS_OK);
	expect_vq_nodelist(vq, 1);
	expect_vq_quorum(vq, 1, 0, "1/1"); /* the nodes that never ran are not listed */
	assert_int_equal(q_trackstart(q, CS_TRACK_CHANGES_ONLY), CS_OK);
	/* lowering expected votes by hand restores quorum, and says so */
	assert_int_equal(setexpected(vq, 1), CS_OK);
	expect_vq_expected(vq, 1, 1);
	expect_vq_quorum(vq, 1, 1, "1/1");
	expect_v0(q, 1, 1, 1);
	assert_int_equal(getquorate(q), 1);
	close(vq);
	close(q);
}

/* ---- the quorum device ------------------------------------------------- */

static void test_qdevice_life_cycle(void **state)
{
	int tracker = raw_client(d.socket, "votequorum");
	int qdevice = raw_client(d.socket, "votequorum");
	int q = raw_client(d.socket, "quorum");
	VotequorumInfo info;

	assert_int_equal(getquorate(q), 0); /* two nodes plus a device: 3 expected, 1 present */
	assert_int_equal(vq_trackstart(tracker, 5, CS_TRACK_CHANGES_ONLY), CS_OK);
	assert_int_equal(qdevice_poll(qdevice, "dev", 1, 1, 1), CS_ERR_NOT_EXIST);
	assert_int_equal(qdevice_register(qdevice, "dev"), CS_OK);
	expect_no_event(tracker, vq_events); /* registering changes no vote */
	assert_int_equal(qdevice_register(qdevice, "other"), CS_ERR_EXIST);
	assert_int_equal(qdevice_poll(qdevice, "dev", 1, 1, 2), CS_ERR_MESSAGE_ERROR);
	assert_int_equal(qdevice_poll(qdevice, "xx", 1, 1, 1), CS_ERR_INVALID_PARAM);
	assert_int_equal(qdevice_poll(qdevice, "dev", 1, 1, 1), CS_OK);
	expect_vq_quorum(tracker, 5, 1, "1/1 0/0"); /* corosync lists the device with state 0 */
	assert_int_equal(getquorate(q), 1);
	assert_int_equal(getinfo(tracker, 0, &info), CS_OK);
	assert_int_equal(info.total_votes, 2);
	assert_int_equal(info.qdevice_votes, 1);
	assert_string_equal(info.qdevice_name, "(set)");
	assert_int_equal(info.flags, VOTEQUORUM_INFO_QUORATE | VOTEQUORUM_INFO_QDEVICE_REGISTERED |
					     VOTEQUORUM_INFO_QDEVICE_ALIVE |
					     VOTEQUORUM_INFO_QDEVICE_CAST_VOTE);
	/* no poll within quorum.device.timeout (500 ms): the vote is gone */
	expect_vq_quorum(tracker, 5, 0, "1/1 0/0");
	assert_int_equal(getquorate(q), 0);
	assert_int_equal(getinfo(tracker, 0, &info), CS_OK);
	assert_int_equal(info.flags, VOTEQUORUM_INFO_QDEVICE_REGISTERED);
	assert_true(test_daemon_log_contains(&d, "lost contact with quorum device dev", 1000));
	/* the device is the node's, not its connection's, as in corosync: it
	 * stays registered when that closes, and any connection may register
	 * it again under its name (not another), poll it and unregister it */
	close(qdevice);
	expect_no_event(tracker, vq_events);
	assert_int_equal(getinfo(tracker, 0, &info), CS_OK);
	assert_int_equal(info.flags, VOTEQUORUM_INFO_QDEVICE_REGISTERED);
	assert_string_equal(info.qdevice_name, "(set)");
	qdevice = raw_client(d.socket, "votequorum");
	assert_int_equal(qdevice_register(qdevice, "other"), CS_ERR_EXIST);
	assert_int_equal(qdevice_register(qdevice, "dev"), CS_OK);
	assert_int_equal(qdevice_poll(tracker, "dev", 1, 1, 1), CS_OK);
	expect_vq_quorum(tracker, 5, 1, "1/1 0/0");
	close(qdevice);
	assert_int_equal(qdevice_unregister(tracker, "other"), CS_ERR_INVALID_PARAM);
	assert_int_equal(qdevice_unregister(tracker, "dev"), CS_OK);
	assert_int_equal(getinfo(tracker, 0, &info), CS_OK);
	assert_int_equal(info.flags, 0);
	assert_int_equal(qdevice_unregister(tracker, "dev"), CS_ERR_NOT_EXIST);
	close(tracker);
	close(q);
}

/* A device whose connection closed while it was alive keeps its vote until
 * the poll it then misses (quorum.device.timeout, 500 ms here), as in
 * corosync. */
static void test_qdevice_outlives_its_connection(void **state)
{
	int tracker = raw_client(d.socket, "votequorum");
	int qdevice = raw_client(d.socket, "votequorum");
	VotequorumInfo info;

	assert_int_equal(vq_trackstart(tracker, 6, CS_TRACK_CHANGES_ONLY), CS_OK);
	assert_int_equal(qdevice_register(qdevice, "dev"), CS_OK);
	assert_int_equal(qdevice_poll(qdevice, "dev", 1, 1, 1), CS_OK);
	expect_vq_quorum(tracker, 6, 1, "1/1 0/0");
	close(qdevice); /* no notification for that: the device is still listed when its vote goes */
	expect_vq_quorum(tracker, 6, 0, "1/1 0/0");
	assert_true(test_daemon_log_contains(&d, "lost contact with quorum device dev", 1000));
	assert_int_equal(getinfo(tracker, 0, &info), CS_OK);
	assert_int_equal(info.flags, VOTEQUORUM_INFO_QDEVICE_REGISTERED);
	assert_int_equal(qdevice_unregister(tracker, "dev"), CS_OK);
	close(tracker);
}

static bool log_has_line_starting(const struct test_daemon *daemon, const char *start)
{
	char line[1024];
	bool found = false;
	FILE *f = fopen(daemon->log, "r");

	assert_non_null(f);
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strncmp(line, start, strlen(start)) == 0;
	fclose(f);
	return found;
}

/* A device name is the client's: a newline or an escape sequence in it
 * reaches the log escaped, on the line that names it. */
static void test_qdevice_name_escaped_in_log(void **state)
{
	int qdevice = raw_client(d.socket, "votequorum");
	char line[512];

	assert_int_equal(qdevice_register(qdevice, "dev\nconclaved: [error] forged\x1b[2J\\"), CS_OK);
	assert_true(test_daemon_log_contains(&d, "forged", 1000));
	assert_true(test_daemon_log_line(&d, "[2J\\x5c registered", line, sizeof(line)));
	assert_non_null(
		strstr(line, "quorum device dev\\x0aconclaved: [error] forged\\x1b[2J\\x5c registered"));
	assert_false(log_has_line_starting(&d, "conclaved: [error] forged"));
	assert_int_equal(qdevice_unregister(qdevice, "dev\nconclaved: [error] forged\x1b[2J\\"), CS_OK);
	close(qdevice);
}

/* ---- no quorum provider ------------------------------------------------ */

static void test_no_provider(void **state)
{
	int q = raw_client(d.socket, "quorum");
	int vq = raw_connect(d.socket);
	uint32_t type = 99;

	assert_int_equal(raw_handshake(vq, "votequorum"), CS_ERR_NOT_SUPPORTED);
	close(vq);
	assert_int_equal(model_gettype(q, QUORUM_MODEL_V0, &type), CS_OK);
	assert_int_equal(type, QUORUM_FREE);
	assert_int_equal(getquorate(q), 1);
	assert_int_equal(q_trackstart(q, CS_TRACK_CURRENT), CS_OK);
	expect_v0(q, 1, 0, 0);
	close(q);
}

static int start_single(void **state)
{
	return start(TEST_SINGLE_NODE_CONFIG);
}

static int start_three(void **state)
{
	return start(THREE_NODES);
}

static int start_device(void **state)
{
	return start(TWO_NODES_WITH_DEVICE);
}

static int start_no_provider(void **state)
{
	return start("totem {\n\tcluster_name: free\n}\n" TEST_CONCLAVE_SECTION);
}

int main(void)
{
	const struct CMUnitTest single[] = {
		cmocka_unit_test(test_quorum_requests),
		cmocka_unit_test(test_quorum_tracking_v0),
		cmocka_unit_test(test_quorum_tracking_v1),
		cmocka_unit_test(test_getinfo),
		cmocka_unit_test(test_votequorum_tracking),
		cmocka_unit_test(test_vote_changes_reach_every_tracker),
	};
	const struct CMUnitTest three[] = { cmocka_unit_test(test_three_nodes_inquorate) };
	const struct CMUnitTest device[] = {
		cmocka_unit_test(test_qdevice_life_cycle),
		cmocka_unit_test(test_qdevice_outlives_its_connection),
		cmocka_unit_test(test_qdevice_name_escaped_in_log),
	};
	const struct CMUnitTest free_quorum[] = { cmocka_unit_test(test_no_provider) };
	int failed = 0;

	failed += cmocka_run_group_tests_name("services_single_node", single, start_single, stop);
	failed += cmocka_run_group_tests_name("services_three_nodes", three, start_three, stop);
	failed += cmocka_run_group_tests_name("services_qdevice", device, start_device, stop);
	failed += cmocka_run_group_tests_name("services_no_provider", free_quorum, start_no_provider, stop);
	return failed;
}
