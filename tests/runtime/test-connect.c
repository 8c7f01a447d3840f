/* Connecting and the HELLO/WELCOME handshake, against a scripted peer. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "cv-limits.h"
#include "peer.h"
#include "test-util.h"

static int peer_setup(void **state)
{
	*state = peer_new();
	record_reset();
	cv_runtime_set_handshake_timeout(-1);
	return 0;
}

static int peer_teardown(void **state)
{
	peer_free(*state);
	assert_int_equal(test_handles.used, 0);
	return 0;
}

static cs_error_t initialize_against(struct peer *p, enum peer_handshake mode)
{
	uint64_t handle = 0;
	cs_error_t err;

	peer_expect_client(p, mode);
	err = cv_client_initialize(&test_service, &handle, recording_callbacks, NULL);
	peer_client_arrived(p);
	if (err == CS_OK)
		assert_int_equal(cv_client_finalize(&test_service, handle), CS_OK);
	return err;
}

static void test_handshake_ok(void **state)
{
	struct peer *p = *state;
	uint64_t handle = peer_connect_client(p, recording_callbacks, NULL);
	int fd = -1;

	assert_int_not_equal(handle, 0);
	assert_int_equal(p->hello.magic, CV_WIRE_MAGIC);
	assert_int_equal(p->hello.idl_major, TEST_VERSION_MAJOR);
	assert_int_equal(p->hello.idl_minor, TEST_VERSION_MINOR);
	assert_string_equal(p->hello.service, TEST_SERVICE_NAME);
	for (size_t i = strlen(TEST_SERVICE_NAME); i < CV_SERVICE_NAME_MAX; i++)
		assert_int_equal(p->hello.service[i], 0);
	assert_int_equal(cv_client_fd_get(&test_service, handle, &fd), CS_OK);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(cv_client_finalize(&test_service, handle), CS_OK);
}

static void test_refusals_are_passed_through(void **state)
{
	struct peer *p = *state;
	const cs_error_t refusals[] = {
		CS_ERR_ACCESS,
		CS_ERR_NOT_SUPPORTED,
		CS_ERR_TRY_AGAIN,
		CS_ERR_NO_RESOURCES,
	};

	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		p->refusal = refusals[i];
		assert_int_equal(initialize_against(p, PEER_REFUSE), refusals[i]);
		assert_int_equal(initialize_against(p, PEER_REFUSE_AT_ONCE), refusals[i]);
	}
}

static void test_unexpected_refusal_is_library_error(void **state)
{
	struct peer *p = *state;

	p->refusal = CS_ERR_EXIST;
	assert_int_equal(initialize_against(p, PEER_REFUSE), CS_ERR_LIBRARY);
	p->refusal = 0;
	assert_int_equal(initialize_against(p, PEER_REFUSE), CS_ERR_LIBRARY);
}

static void test_no_daemon_socket_file(void **state)
{
	uint64_t handle = 0;
	char path[160];

	snprintf(path, sizeof(path), "%s/nobody-here", ((struct peer *)*state)->dir);
	setenv(CV_SOCKET_ENV, path, 1);
	assert_int_equal(cv_client_initialize(&test_service, &handle, NULL, NULL), CS_ERR_LIBRARY);
	assert_int_equal(handle, 0);
}

static void test_no_daemon_listening(void **state)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	uint64_t handle = 0;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	/* A socket file nobody listens on gives ECONNREFUSED. */
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/stale", ((struct peer *)*state)->dir);
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	close(fd);
	setenv(CV_SOCKET_ENV, addr.sun_path, 1);
	assert_int_equal(cv_client_initialize(&test_service, &handle, NULL, NULL), CS_ERR_LIBRARY);
	unlink(addr.sun_path);
}

static void test_socket_path_too_long(void **state)
{
	char path[200];
	uint64_t handle;

	memset(path, 'x', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	setenv(CV_SOCKET_ENV, path, 1);
	assert_int_equal(cv_client_initialize(&test_service, &handle, NULL, NULL), CS_ERR_LIBRARY);
}

static void test_peer_closes_during_handshake(void **state)
{
	struct peer *p = *state;
	const enum peer_handshake modes[] = {
		PEER_CLOSE_AT_ONCE,
		PEER_CLOSE_AFTER_HELLO,
		PEER_CLOSE_MID_HEADER,
		PEER_CLOSE_MID_WELCOME,
	};

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		assert_int_equal(initialize_against(p, modes[i]), CS_ERR_LIBRARY);
}

static void test_malformed_welcome(void **state)
{
	struct peer *p = *state;

	assert_int_equal(initialize_against(p, PEER_BAD_MAGIC), CS_ERR_LIBRARY);
	assert_int_equal(initialize_against(p, PEER_BAD_LENGTH), CS_ERR_LIBRARY);
	assert_int_equal(initialize_against(p, PEER_WELCOME_LONG), CS_ERR_LIBRARY);
	assert_int_equal(initialize_against(p, PEER_WRONG_KIND), CS_ERR_LIBRARY);
}

/* A WELCOME(CS_OK) without its reply channel, or with more than it, and a
 * refusal with a descriptor: the daemon is not one we can talk to, and
 * nothing it passed stays open. */
static void test_welcome_with_the_wrong_descriptors(void **state)
{
	struct peer *p = *state;
	const enum peer_handshake modes[] = { PEER_WELCOME_NO_CHANNEL, PEER_WELCOME_TWO_FDS,
					      PEER_REFUSE_WITH_FD };
	int before = open_fd_count();

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		assert_int_equal(initialize_against(p, modes[i]), CS_ERR_LIBRARY);
		peer_drop_client(p);
		assert_int_equal(open_fd_count(), before);
	}
}

/* A daemon from before rings sends no max_ring_size. */
static void test_welcome_without_max_ring_size(void **state)
{
	struct peer *p = *state;

	p->max_ring = 65536;
	assert_int_equal(initialize_against(p, PEER_WELCOME_SHORT), CS_OK);
	assert_int_equal(initialize_against(p, PEER_WELCOME), CS_OK);
}

static void test_silent_daemon_times_out(void **state)
{
	struct peer *p = *state;

	cv_runtime_set_handshake_timeout(100);
	assert_int_equal(initialize_against(p, PEER_SILENT), CS_ERR_TRY_AGAIN);
}

static void test_full_backlog_times_out(void **state)
{
	struct peer *p = *state;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	uint64_t handle;
	int queued;

	/* Backlog 0 holds one pending connection; nobody accepts it. */
	assert_int_equal(listen(p->listen_fd, 0), 0);
	strcpy(addr.sun_path, p->path);
	queued = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(queued, (struct sockaddr *)&addr, sizeof(addr)), 0);
	cv_runtime_set_handshake_timeout(100);
	assert_int_equal(cv_client_initialize(&test_service, &handle, NULL, NULL), CS_ERR_TRY_AGAIN);
	close(queued);
}

static void test_invalid_arguments(void **state)
{
	uint64_t handle;

	assert_int_equal(cv_client_initialize(&test_service, NULL, NULL, NULL), CS_ERR_INVALID_PARAM);
	assert_int_equal(cv_client_initialize(NULL, &handle, NULL, NULL), CS_ERR_INVALID_PARAM);
}

static void test_no_descriptor_leaks(void **state)
{
	struct peer *p = *state;
	int before = open_fd_count();
	uint64_t handle;

	assert_int_equal(initialize_against(p, PEER_CLOSE_AFTER_HELLO), CS_ERR_LIBRARY);
	assert_int_equal(open_fd_count(), before);
	handle = peer_connect_client(p, NULL, NULL);
	assert_int_equal(cv_client_finalize(&test_service, handle), CS_OK);
	peer_drop_client(p);
	assert_int_equal(open_fd_count(), before);
}

static void test_events_right_after_welcome_are_kept(void **state)
{
	struct peer *p = *state;
	uint64_t handle;
	int fd;

	/* Events written together with the WELCOME are in the socket when the
	 * handshake reads: it must leave them for dispatch. */
	p->ticks_after_welcome = 2;
	handle = peer_connect_client(p, recording_callbacks, NULL);
	assert_int_equal(cv_client_fd_get(&test_service, handle, &fd), CS_OK);
	assert_true(fd_readable(fd, PROMPTLY_MS));
	assert_int_equal(cv_client_dispatch(&test_service, handle, CS_DISPATCH_ALL), CS_OK);
	assert_int_equal(record_ticks(), 2);
	assert_int_equal(cv_client_finalize(&test_service, handle), CS_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(t) cmocka_unit_test_setup_teardown(t, peer_setup, peer_teardown)
		T(test_handshake_ok),
		T(test_refusals_are_passed_through),
		T(test_unexpected_refusal_is_library_error),
		T(test_no_daemon_socket_file),
		T(test_no_daemon_listening),
		T(test_socket_path_too_long),
		T(test_peer_closes_during_handshake),
		T(test_malformed_welcome),
		T(test_welcome_with_the_wrong_descriptors),
		T(test_welcome_without_max_ring_size),
		T(test_silent_daemon_times_out),
		T(test_full_backlog_times_out),
		T(test_invalid_arguments),
		T(test_no_descriptor_leaks),
		T(test_events_right_after_welcome_are_kept),
	};

	return cmocka_run_group_tests_name("connect", tests, NULL, NULL);
}
