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

/* Joins n groups whose keys are key_length zero bytes. */
static int join(int fd, size_t n, size_t key_length)
{
	EvsJoinRequest request = EVS_JOIN_REQUEST__INIT;
	EvsGroup groups[51], *pointers[51];
	uint8_t key[EVS_GROUP_KEY_LENGTH + 1] = { 0 };
	ProtobufCMessage *reply;
	int status;

	assert_true(n <= 51 && key_length <= sizeof(key));
	for (size_t i = 0; i < n; i++) {
		groups[i] = (EvsGroup)EVS_GROUP__INIT;
		groups[i].key = (ProtobufCBinaryData){ .data = key, .len = key_length };
		pointers[i] = &groups[i];
	}
	request.n_groups = n;
	request.groups = pointers;
	status = raw_call(fd, EVS_JOIN, &request.base, &evs_join_reply__descriptor, &reply);
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

/* A key that is not a whole group key is refused, and the connection goes
 * on; more than 50 groups are too many. */
static void test_keys_must_be_whole_groups(void **state)
{
	int fd = raw_client(d.socket, "evs");

	assert_int_equal(join(fd, 1, EVS_GROUP_KEY_LENGTH + 1), CS_ERR_INVALID_PARAM);
	assert_int_equal(join(fd, 1, EVS_GROUP_KEY_LENGTH - 1), CS_ERR_INVALID_PARAM);
	assert_int_equal(join(fd, 51, EVS_GROUP_KEY_LENGTH), CS_ERR_TOO_MANY_GROUPS);
	assert_int_equal(join(fd, 1, EVS_GROUP_KEY_LENGTH), CS_OK);
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
