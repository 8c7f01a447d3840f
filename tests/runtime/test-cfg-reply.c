/* libcfg against a hostile daemon: corosync_cfg_ring_status_get's two arrays
 * share one count, so a reply whose arrays differ in length is no answer the
 * daemon gives; the call fails and writes nothing. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <corosync/cfg.h>

#include "corosync_cfg-client.h"
#include "corosync_cfg.pb-c.h"
#include "peer.h"

static struct peer *call_peer;

struct ring_status_call {
	corosync_cfg_handle_t handle;
	char **names;
	char **statuses;
	unsigned int count;
	cs_error_t result;
};

static void *ring_status_get(void *arg)
{
	struct ring_status_call *call = arg;

	call->result = corosync_cfg_ring_status_get(call->handle, &call->names, &call->statuses,
						    &call->count);
	return NULL;
}

/* Calls ring_status_get on a thread and answers it with n_names names and
 * n_statuses statuses. */
static void answered(struct ring_status_call *call, size_t n_names, size_t n_statuses)
{
	CorosyncCfgRingStatusGetReply reply = COROSYNC_CFG_RING_STATUS_GET_REPLY__INIT;
	char *names[] = { "0 127.0.0.1", "1 10.0.0.1" }, *statuses[] = { "n", "n" };
	struct cv_frame_header request;
	uint8_t packed[128], *payload;
	pthread_t thread;

	reply.n_interface_names = n_names;
	reply.interface_names = names;
	reply.n_status = n_statuses;
	reply.status = statuses;
	assert_int_equal(pthread_create(&thread, NULL, ring_status_get, call), 0);
	assert_true(peer_read_frame(call_peer, &request, &payload));
	free(payload);
	assert_int_equal(request.id, COROSYNC_CFG_REQUEST_RING_STATUS_GET);
	peer_send_frame(call_peer, CV_FRAME_REPLY, request.id, request.seq, CS_OK, packed,
			(uint32_t)corosync_cfg_ring_status_get_reply__pack(&reply, packed));
	assert_int_equal(pthread_join(thread, NULL), 0);
}

static int connect_cfg(void **state)
{
	static corosync_cfg_handle_t handle;

	call_peer = peer_new();
	peer_expect_client(call_peer, PEER_WELCOME);
	assert_int_equal(corosync_cfg_initialize(&handle, NULL), CS_OK);
	assert_true(peer_client_arrived(call_peer) >= 0);
	*state = &handle;
	return 0;
}

static int disconnect_cfg(void **state)
{
	corosync_cfg_finalize(*(corosync_cfg_handle_t *)*state);
	peer_free(call_peer);
	return 0;
}

static void test_arrays_of_one_length_are_copied(void **state)
{
	struct ring_status_call call = { .handle = *(corosync_cfg_handle_t *)*state };

	answered(&call, 2, 2);
	assert_int_equal(call.result, CS_OK);
	assert_int_equal(call.count, 2);
	assert_string_equal(call.names[1], "1 10.0.0.1");
	assert_string_equal(call.statuses[0], "n");
	for (unsigned int i = 0; i < call.count; i++) {
		free(call.names[i]);
		free(call.statuses[i]);
	}
	free(call.names);
	free(call.statuses);
}

static void test_arrays_of_different_lengths_are_refused(void **state)
{
	struct ring_status_call call = { .handle = *(corosync_cfg_handle_t *)*state, .count = 7 };

	answered(&call, 2, 1);
	assert_int_equal(call.result, CS_ERR_LIBRARY);
	assert_null(call.names);
	assert_null(call.statuses);
	assert_int_equal(call.count, 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_arrays_of_one_length_are_copied, connect_cfg,
						disconnect_cfg),
		cmocka_unit_test_setup_teardown(test_arrays_of_different_lengths_are_refused, connect_cfg,
						disconnect_cfg),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
