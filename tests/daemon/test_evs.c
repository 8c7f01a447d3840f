/* The evs service as seen on the wire, with requests the library never
 * sends: the first configuration change right after the WELCOME, and keys
 * that are not whole groups. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <corosync/evs.h>

#include "daemon-peer.h"
#include "evs.pb-c.h"

enum { EVS_JOIN, EVS_LEAVE, EVS_MCAST, EVS_MCAST_TO, EVS_MEMBERS };
enum { EVS_EV_MESSAGE, EVS_EV_MEMBERSHIP };

static const ProtobufCMessageDescriptor *const evs_events[] = {
	&evs_message_event__descriptor,
	&evs_membership_event__descriptor,
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

static int join(int fd, const void *keys, size_t length)
{
	EvsGroupsJoinRequest request = EVS_GROUPS_JOIN_REQUEST__INIT;
	ProtobufCMessage *reply;
	int status;

	request.keys.data = (uint8_t *)keys;
	request.keys.len = length;
	status = raw_call(fd, EVS_JOIN, &request.base, &evs_groups_join_reply__descriptor, &reply);
	if (reply)
		protobuf_c_message_free_unpacked(reply, NULL);
	return status;
}

static void test_first_event_is_the_configuration_change(void **state)
{
	int fd = raw_client(d.socket, "evs");
	EvsMembershipEvent *event;

	assert_true(fd >= 0);
	assert_int_equal(raw_next_event(fd, evs_events, 2, (ProtobufCMessage **)&event, 2000),
			 EVS_EV_MEMBERSHIP);
	assert_int_equal(event->n_member_list, 1);
	assert_int_equal(event->member_list[0], 1);
	assert_int_equal(event->n_joined_list, 1);
	assert_int_equal(event->n_left_list, 0);
	assert_non_null(event->ring_id);
	assert_int_equal(event->ring_id->nodeid, 1);
	protobuf_c_message_free_unpacked(&event->base, NULL);
	close(fd);
}

/* Keys that are not a whole number of groups are refused, and the
 * connection goes on; more than 50 groups are too many. */
static void test_keys_must_be_whole_groups(void **state)
{
	int fd = raw_client(d.socket, "evs");
	uint8_t keys[51 * EVS_GROUP_KEY_LENGTH] = { 0 };

	assert_int_equal(join(fd, keys, EVS_GROUP_KEY_LENGTH + 1), CS_ERR_INVALID_PARAM);
	assert_int_equal(join(fd, keys, 51 * EVS_GROUP_KEY_LENGTH), CS_ERR_TOO_MANY_GROUPS);
	assert_int_equal(join(fd, keys, EVS_GROUP_KEY_LENGTH), CS_OK);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_first_event_is_the_configuration_change, start, stop),
		cmocka_unit_test_setup_teardown(test_keys_must_be_whole_groups, start, stop),
	};

	return cmocka_run_group_tests_name("daemon_evs", tests, NULL, NULL);
}
