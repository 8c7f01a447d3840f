/* libcmap against a real conclaved: every function of cmap.h and each error
 * of corosync-api.md section 4 and checklist CMAP-1 to CMAP-8 that a client
 * can observe. Every test skips while the daemon does not offer cmap. The
 * keys a test writes start with "test.".
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <float.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <corosync/cmap.h>

#include "harness.h"

/* totem.cluster_name in SINGLE_NODE_CONFIG. */
#ifndef TEST_CLUSTER_NAME
#define TEST_CLUSTER_NAME "test"
#endif

#define MAX_SEEN 16
#define VALUE_LIMIT 16384

static struct test_daemon daemon_under_test;

struct notification {
	cmap_handle_t handle;
	cmap_track_handle_t track_handle;
	int32_t event;
	char key_name[CMAP_KEYNAME_MAXLEN + 1];
	struct cmap_notify_value new_value;
	struct cmap_notify_value old_value;
	uint8_t new_bytes[32];
	uint8_t old_bytes[32];
	void *user_data;
};

static struct {
	struct notification n[MAX_SEEN];
	int count;
	bool finalize_in_callback;
	cs_error_t finalize_result;
} seen;

static void copy_value(uint8_t *dst, size_t size, struct cmap_notify_value value)
{
	if (value.data != NULL)
		memcpy(dst, value.data, value.len < size ? value.len : size);
}

static void record(cmap_handle_t handle, cmap_track_handle_t track_handle, int32_t event,
		   const char *key_name, struct cmap_notify_value new_value,
		   struct cmap_notify_value old_value, void *user_data)
{
	if (seen.count < MAX_SEEN) {
		struct notification *n = &seen.n[seen.count];

		n->handle = handle;
		n->track_handle = track_handle;
		n->event = event;
		snprintf(n->key_name, sizeof(n->key_name), "%s", key_name);
		n->new_value = new_value;
		n->old_value = old_value;
		copy_value(n->new_bytes, sizeof(n->new_bytes), new_value);
		copy_value(n->old_bytes, sizeof(n->old_bytes), old_value);
		n->user_data = user_data;
	}
	seen.count++;
	if (seen.finalize_in_callback)
		seen.finalize_result = cmap_finalize(handle);
}

static int start(void **state)
{
	memset(&seen, 0, sizeof(seen));
	return test_daemon_start(&daemon_under_test, SINGLE_NODE_CONFIG);
}

static int stop(void **state)
{
	return test_daemon_stop(&daemon_under_test);
}

/* Skips the test while conclaved does not offer the cmap service. */
static cmap_handle_t connect(void)
{
	cmap_handle_t h;
	cs_error_t err = cmap_initialize(&h);

	if (err == CS_ERR_NOT_SUPPORTED) {
		print_message("conclaved does not offer the cmap service: skipped\n");
		skip();
	}
	assert_int_equal(err, CS_OK);
	return h;
}

static void disconnect(cmap_handle_t h)
{
	assert_int_equal(cmap_finalize(h), CS_OK);
}

/* Dispatches until `expected` notifications were seen, then makes sure no
 * other one follows within 50 ms. */
static void expect_notifications(cmap_handle_t h, int expected)
{
	int fd;

	assert_int_equal(cmap_fd_get(h, &fd), CS_OK);
	for (int waited = 0; seen.count < expected && waited < 2000; waited += 10)
		if (fd_readable_within(fd, 10))
			assert_int_equal(cmap_dispatch(h, CS_DISPATCH_ALL), CS_OK);
	if (fd_readable_within(fd, 50))
		assert_int_equal(cmap_dispatch(h, CS_DISPATCH_ALL), CS_OK);
	assert_int_equal(seen.count, expected);
}

static char *repeated(char c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static int open_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(dir);
	while (readdir(dir) != NULL)
		n++;
	closedir(dir);
	return n;
}

static void assert_stored(cmap_handle_t h, const char *key, cmap_value_types_t type, const void *value,
			  size_t len)
{
	cmap_value_types_t stored_type = 0;
	uint8_t buffer[64] = { 0 };
	size_t stored_len = sizeof(buffer);

	assert_true(len <= sizeof(buffer));
	assert_int_equal(cmap_get(h, key, buffer, &stored_len, &stored_type), CS_OK);
	assert_int_equal(stored_type, type);
	assert_int_equal(stored_len, len);
	assert_memory_equal(buffer, value, len);
}

/* ---- life cycle, handles, dispatch ------------------------------------------ */

static void test_initialize_and_finalize(void **state)
{
	cmap_handle_t h = connect();

	assert_int_equal(cmap_initialize(NULL), CS_ERR_INVALID_PARAM);
	assert_int_equal(cmap_finalize(h), CS_OK);
	assert_int_equal(cmap_finalize(h), CS_ERR_BAD_HANDLE);
	assert_int_equal(cmap_finalize(0), CS_ERR_BAD_HANDLE);
}

static void test_calls_on_bad_handles(void **state)
{
	cmap_handle_t h = connect();
	cmap_iter_handle_t iter;
	cmap_track_handle_t track;
	char name[CMAP_KEYNAME_MAXLEN + 1];
	const void *context;
	uint32_t u32;
	char *str;
	int fd;

	disconnect(h);
	for (int i = 0; i < 2; i++) {
		cmap_handle_t bad = i == 0 ? h : 0;

		assert_int_equal(cmap_set_uint32(bad, "test.k", 1), CS_ERR_BAD_HANDLE);
		assert_int_equal(cmap_get_uint32(bad, "test.k", &u32), CS_ERR_BAD_HANDLE);
		assert_int_equal(cmap_get_string(bad, "test.k", &str), CS_ERR_BAD_HANDLE);
		assert_int_equal(cmap_get(bad, "test.k", NULL, NULL, NULL), CS_ERR_BAD_HANDLE);
		assert_int_equal(cmap_delete(bad, "test.k"), CS_ERR_BAD_HANDLE);
		assert_int_equal(cmap_inc(bad, "test.k"), CS_ERR_BAD_HANDLE);
		assert_int_equal(cmap_dec(bad, "test.k"), CS_ERR_BAD_HANDLE);
		assert_int_equal(cmap_iter_init(bad, NULL, &iter), CS_ERR_BAD_HANDLE);
		assert_int_equal(cmap_iter_next(bad, 1, name, NULL, NULL), CS_ERR_BAD_HANDLE);
		assert_int_equal(cmap_iter_finalize(bad, 1), CS_ERR_BAD_HANDLE);
		assert_int_equal(cmap_track_add(bad, "test.k", CMAP_TRACK_ADD, record, NULL, &track),
				 CS_ERR_BAD_HANDLE);
		assert_int_equal(cmap_track_delete(bad, 1), CS_ERR_BAD_HANDLE);
		assert_int_equal(cmap_fd_get(bad, &fd), CS_ERR_BAD_HANDLE);
		assert_int_equal(cmap_dispatch(bad, CS_DISPATCH_ALL), CS_ERR_BAD_HANDLE);
		assert_int_equal(cmap_context_get(bad, &context), CS_ERR_BAD_HANDLE);
		assert_int_equal(cmap_context_set(bad, NULL), CS_ERR_BAD_HANDLE);
	}
}

static void test_initialize_map(void **state)
{
	cmap_handle_t h = connect();
	cmap_handle_t m;
	char *name;
	int fds;

	disconnect(h);
	assert_int_equal(cmap_initialize_map(NULL, CMAP_MAP_DEFAULT), CS_ERR_INVALID_PARAM);
	assert_int_equal(cmap_initialize_map(&m, CMAP_MAP_ICMAP), CS_OK);
	assert_int_equal(cmap_get_string(m, "totem.cluster_name", &name), CS_OK);
	assert_string_equal(name, TEST_CLUSTER_NAME);
	free(name);
	disconnect(m);

	/* An unknown map: corosync leaks the connection; no descriptor may stay open here. */
	fds = open_fds();
	m = 0x5a5a;
	assert_int_equal(cmap_initialize_map(&m, (cmap_map_t)42), CS_ERR_NOT_EXIST);
	assert_int_equal(m, 0x5a5a);
	assert_int_equal(open_fds(), fds);
}

/* CMAP-8: the stats map is optional. When offered it is read-only, but for
 * the write-only stats.clear.* keys, which any set triggers. */
static void test_stats_map_when_offered(void **state)
{
	cmap_handle_t h = connect();
	cmap_handle_t stats;
	cmap_iter_handle_t iter;
	cmap_track_handle_t track;
	cs_error_t err;

	disconnect(h);
	err = cmap_initialize_map(&stats, CMAP_MAP_STATS);
	if (err == CS_ERR_NOT_EXIST) {
		print_message("conclaved does not offer the stats map (optional)\n");
		return;
	}
	assert_int_equal(err, CS_OK);
	assert_int_equal(cmap_set_uint32(stats, "stats.test.new", 1), CS_ERR_ACCESS);
	assert_int_equal(cmap_delete(stats, "stats.test.new"), CS_ERR_ACCESS);
	assert_int_equal(cmap_inc(stats, "stats.test.new"), CS_ERR_ACCESS);
	assert_int_equal(cmap_set_uint8(stats, "stats.clear.all", 1), CS_OK);
	assert_int_equal(cmap_set_string(stats, "stats.clear.all", "x"), CS_OK);
	assert_int_equal(cmap_delete(stats, "stats.clear.all"), CS_ERR_NOT_SUPPORTED);
	assert_int_equal(cmap_inc(stats, "stats.clear.all"), CS_ERR_NOT_SUPPORTED);
	assert_int_equal(cmap_dec(stats, "stats.clear.all"), CS_ERR_NOT_SUPPORTED);
	assert_int_equal(cmap_get(stats, "stats.clear.all", NULL, NULL, NULL), CS_ERR_NOT_EXIST);
	/* Prefix tracks need both ADD and DELETE there. */
	assert_int_equal(
		cmap_track_add(stats, "stats.", CMAP_TRACK_ADD | CMAP_TRACK_PREFIX, record, NULL, &track),
		CS_ERR_NOT_SUPPORTED);
	assert_int_equal(cmap_track_add(stats, "stats.",
					CMAP_TRACK_ADD | CMAP_TRACK_DELETE | CMAP_TRACK_PREFIX, record, NULL,
					&track),
			 CS_OK);
	assert_int_equal(cmap_iter_init(stats, "stats.", &iter), CS_OK);
	assert_int_equal(cmap_iter_finalize(stats, iter), CS_OK);
	disconnect(stats);
	/* The default map is another map. */
	h = connect();
	assert_int_equal(cmap_get(h, "stats.clear.all", NULL, NULL, NULL), CS_ERR_NOT_EXIST);
	disconnect(h);
}

static void test_initialize_without_daemon_is_library_error(void **state)
{
	char *saved = strdup(getenv("CONCLAVE_SOCKET"));
	cmap_handle_t h;

	disconnect(connect());
	setenv("CONCLAVE_SOCKET", "/tmp/conclave-test-no-such-dir/none.sock", 1);
	assert_int_equal(cmap_initialize(&h), CS_ERR_LIBRARY);
	assert_int_equal(cmap_initialize_map(&h, CMAP_MAP_DEFAULT), CS_ERR_LIBRARY);
	setenv("CONCLAVE_SOCKET", saved, 1);
	free(saved);
}

static void test_initialize_refused_uid_is_access_error(void **state)
{
	pid_t child;
	int status;

	disconnect(connect());
	if (geteuid() != 0)
		skip();
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		cmap_handle_t h;

		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(2);
		_exit(cmap_initialize(&h) == CS_ERR_ACCESS ? 0 : 1);
	}
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_context(void **state)
{
	cmap_handle_t h = connect();
	const void *context = &context;
	int marker;

	assert_int_equal(cmap_context_get(h, &context), CS_OK);
	assert_null(context);
	assert_int_equal(cmap_context_set(h, &marker), CS_OK);
	assert_int_equal(cmap_context_get(h, &context), CS_OK);
	assert_ptr_equal(context, &marker);
	assert_int_equal(cmap_context_get(h, NULL), CS_ERR_INVALID_PARAM);
	disconnect(h);
}

static void test_fd_and_dispatch_flags(void **state)
{
	cmap_handle_t h = connect();
	int fd = -1, again = -1;

	assert_int_equal(cmap_fd_get(h, NULL), CS_ERR_INVALID_PARAM);
	assert_int_equal(cmap_fd_get(h, &fd), CS_OK);
	assert_int_equal(cmap_fd_get(h, &again), CS_OK);
	assert_int_equal(fd, again);
	assert_false(fd_readable_within(fd, 0));
	assert_int_equal(cmap_dispatch(h, CS_DISPATCH_ALL), CS_OK);
	assert_int_equal(cmap_dispatch(h, CS_DISPATCH_ONE_NONBLOCKING), CS_ERR_TRY_AGAIN);
	/* corosync treats an unknown value as BLOCKING and may hang; we refuse it. */
	assert_int_equal(cmap_dispatch(h, (cs_dispatch_flags_t)7), CS_ERR_INVALID_PARAM);
	disconnect(h);
}

static void test_dispatch_one_runs_one_notification(void **state)
{
	cmap_handle_t h = connect();
	cmap_track_handle_t track;
	int fd;

	assert_int_equal(
		cmap_track_add(h, "test.one.", CMAP_TRACK_ADD | CMAP_TRACK_PREFIX, record, NULL, &track),
		CS_OK);
	assert_int_equal(cmap_set_uint8(h, "test.one.a", 1), CS_OK);
	assert_int_equal(cmap_set_uint8(h, "test.one.b", 1), CS_OK);
	assert_int_equal(cmap_set_uint8(h, "test.one.c", 1), CS_OK);
	assert_int_equal(cmap_fd_get(h, &fd), CS_OK);
	assert_true(fd_readable_within(fd, 2000));
	assert_int_equal(cmap_dispatch(h, CS_DISPATCH_ONE), CS_OK);
	assert_int_equal(seen.count, 1);
	assert_true(fd_readable_within(fd, 2000));
	assert_int_equal(cmap_dispatch(h, CS_DISPATCH_ONE_NONBLOCKING), CS_OK);
	assert_int_equal(seen.count, 2);
	assert_true(fd_readable_within(fd, 2000));
	assert_int_equal(cmap_dispatch(h, CS_DISPATCH_ALL), CS_OK);
	assert_int_equal(seen.count, 3);
	assert_false(fd_readable_within(fd, 0));
	assert_int_equal(cmap_dispatch(h, CS_DISPATCH_ONE_NONBLOCKING), CS_ERR_TRY_AGAIN);
	disconnect(h);
}

/* ---- CMAP-1: values of every type ------------------------------------------- */

static void test_typed_setters_and_getters(void **state)
{
	cmap_handle_t h = connect();
	int8_t i8;
	uint8_t u8;
	int16_t i16;
	uint16_t u16;
	int32_t i32;
	uint32_t u32;
	int64_t i64;
	uint64_t u64;
	float flt;
	double dbl;
	char *str;

	assert_int_equal(cmap_set_int8(h, "test.i8", INT8_MIN), CS_OK);
	assert_int_equal(cmap_set_uint8(h, "test.u8", UINT8_MAX), CS_OK);
	assert_int_equal(cmap_set_int16(h, "test.i16", INT16_MIN), CS_OK);
	assert_int_equal(cmap_set_uint16(h, "test.u16", UINT16_MAX), CS_OK);
	assert_int_equal(cmap_set_int32(h, "test.i32", INT32_MIN), CS_OK);
	assert_int_equal(cmap_set_uint32(h, "test.u32", UINT32_MAX), CS_OK);
	assert_int_equal(cmap_set_int64(h, "test.i64", INT64_MIN), CS_OK);
	assert_int_equal(cmap_set_uint64(h, "test.u64", UINT64_MAX), CS_OK);
	assert_int_equal(cmap_set_float(h, "test.flt", 1.5f), CS_OK);
	assert_int_equal(cmap_set_double(h, "test.dbl", DBL_MAX), CS_OK);
	assert_int_equal(cmap_set_string(h, "test.str", "hello"), CS_OK);

	assert_int_equal(cmap_get_int8(h, "test.i8", &i8), CS_OK);
	assert_int_equal(i8, INT8_MIN);
	assert_int_equal(cmap_get_uint8(h, "test.u8", &u8), CS_OK);
	assert_int_equal(u8, UINT8_MAX);
	assert_int_equal(cmap_get_int16(h, "test.i16", &i16), CS_OK);
	assert_int_equal(i16, INT16_MIN);
	assert_int_equal(cmap_get_uint16(h, "test.u16", &u16), CS_OK);
	assert_int_equal(u16, UINT16_MAX);
	assert_int_equal(cmap_get_int32(h, "test.i32", &i32), CS_OK);
	assert_int_equal(i32, INT32_MIN);
	assert_int_equal(cmap_get_uint32(h, "test.u32", &u32), CS_OK);
	assert_int_equal(u32, UINT32_MAX);
	assert_int_equal(cmap_get_int64(h, "test.i64", &i64), CS_OK);
	assert_true(i64 == INT64_MIN);
	assert_int_equal(cmap_get_uint64(h, "test.u64", &u64), CS_OK);
	assert_true(u64 == UINT64_MAX);
	assert_int_equal(cmap_get_float(h, "test.flt", &flt), CS_OK);
	assert_true(flt == 1.5f);
	assert_int_equal(cmap_get_double(h, "test.dbl", &dbl), CS_OK);
	assert_true(dbl == DBL_MAX);
	assert_int_equal(cmap_get_string(h, "test.str", &str), CS_OK);
	assert_string_equal(str, "hello");
	free(str);
	disconnect(h);
}

static void test_get_reports_type_and_length(void **state)
{
	static const struct {
		const char *key;
		cmap_value_types_t type;
		size_t len;
	} expected[] = {
		{ "test.i8", CMAP_VALUETYPE_INT8, 1 },     { "test.u8", CMAP_VALUETYPE_UINT8, 1 },
		{ "test.i16", CMAP_VALUETYPE_INT16, 2 },   { "test.u16", CMAP_VALUETYPE_UINT16, 2 },
		{ "test.i32", CMAP_VALUETYPE_INT32, 4 },   { "test.u32", CMAP_VALUETYPE_UINT32, 4 },
		{ "test.i64", CMAP_VALUETYPE_INT64, 8 },   { "test.u64", CMAP_VALUETYPE_UINT64, 8 },
		{ "test.flt", CMAP_VALUETYPE_FLOAT, 4 },   { "test.dbl", CMAP_VALUETYPE_DOUBLE, 8 },
		{ "test.str", CMAP_VALUETYPE_STRING, 13 }, { "test.bin", CMAP_VALUETYPE_BINARY, 5 },
	};
	cmap_handle_t h = connect();

	assert_int_equal(cmap_set_int8(h, "test.i8", 1), CS_OK);
	assert_int_equal(cmap_set_uint8(h, "test.u8", 1), CS_OK);
	assert_int_equal(cmap_set_int16(h, "test.i16", 1), CS_OK);
	assert_int_equal(cmap_set_uint16(h, "test.u16", 1), CS_OK);
	assert_int_equal(cmap_set_int32(h, "test.i32", 1), CS_OK);
	assert_int_equal(cmap_set_uint32(h, "test.u32", 1), CS_OK);
	assert_int_equal(cmap_set_int64(h, "test.i64", 1), CS_OK);
	assert_int_equal(cmap_set_uint64(h, "test.u64", 1), CS_OK);
	assert_int_equal(cmap_set_float(h, "test.flt", 1), CS_OK);
	assert_int_equal(cmap_set_double(h, "test.dbl", 1), CS_OK);
	assert_int_equal(cmap_set_string(h, "test.str", "now-a-string"), CS_OK);
	assert_int_equal(cmap_set(h, "test.bin", "a\0b\0c", 5, CMAP_VALUETYPE_BINARY), CS_OK);
	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		cmap_value_types_t type = 0;
		size_t len = 0;

		assert_int_equal(cmap_get(h, expected[i].key, NULL, &len, &type), CS_OK);
		assert_int_equal(type, expected[i].type);
		assert_int_equal(len, expected[i].len);
	}
	assert_stored(h, "test.bin", CMAP_VALUETYPE_BINARY, "a\0b\0c", 5);
	disconnect(h);
}

static void test_fixed_size_types_need_their_size(void **state)
{
	static const struct {
		cmap_value_types_t type;
		size_t size;
	} fixed[] = {
		{ CMAP_VALUETYPE_INT8, 1 },   { CMAP_VALUETYPE_UINT8, 1 },  { CMAP_VALUETYPE_INT16, 2 },
		{ CMAP_VALUETYPE_UINT16, 2 }, { CMAP_VALUETYPE_INT32, 4 },  { CMAP_VALUETYPE_UINT32, 4 },
		{ CMAP_VALUETYPE_INT64, 8 },  { CMAP_VALUETYPE_UINT64, 8 }, { CMAP_VALUETYPE_FLOAT, 4 },
		{ CMAP_VALUETYPE_DOUBLE, 8 },
	};
	static const uint8_t bytes[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	cmap_handle_t h = connect();

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		assert_int_equal(cmap_set(h, "test.fixed", bytes, fixed[i].size - 1, fixed[i].type),
				 CS_ERR_INVALID_PARAM);
		assert_int_equal(cmap_set(h, "test.fixed", bytes, fixed[i].size + 1, fixed[i].type),
				 CS_ERR_INVALID_PARAM);
		assert_int_equal(cmap_set(h, "test.fixed", bytes, fixed[i].size, fixed[i].type), CS_OK);
		assert_stored(h, "test.fixed", fixed[i].type, bytes, fixed[i].size);
	}
	disconnect(h);
}

static void test_string_length_and_truncation(void **state)
{
	cmap_handle_t h = connect();
	char *str;

	assert_int_equal(cmap_set(h, "test.s", "abcdef", 3, CMAP_VALUETYPE_STRING), CS_OK);
	assert_stored(h, "test.s", CMAP_VALUETYPE_STRING, "abc", 4);
	assert_int_equal(cmap_set(h, "test.s", "abcdef", 7, CMAP_VALUETYPE_STRING), CS_OK);
	assert_stored(h, "test.s", CMAP_VALUETYPE_STRING, "abcdef", 7);
	assert_int_equal(cmap_set(h, "test.s", "abcdef", 6, CMAP_VALUETYPE_STRING), CS_OK);
	assert_stored(h, "test.s", CMAP_VALUETYPE_STRING, "abcdef", 7);
	/* More bytes than the string has up to its NUL. */
	assert_int_equal(cmap_set(h, "test.s", "abcdef", 8, CMAP_VALUETYPE_STRING), CS_ERR_INVALID_PARAM);
	assert_int_equal(cmap_set(h, "test.s", "ab\0cd", 5, CMAP_VALUETYPE_STRING), CS_ERR_INVALID_PARAM);
	assert_stored(h, "test.s", CMAP_VALUETYPE_STRING, "abcdef", 7);
	assert_int_equal(cmap_set_string(h, "test.empty", ""), CS_OK);
	assert_stored(h, "test.empty", CMAP_VALUETYPE_STRING, "", 1);
	assert_int_equal(cmap_get_string(h, "test.empty", &str), CS_OK);
	assert_string_equal(str, "");
	free(str);
	assert_int_equal(cmap_set_string(h, "test.s", NULL), CS_ERR_INVALID_PARAM);
	disconnect(h);
}

/* A daemon whose rings are the smallest, or which takes none. */
static int start_small_rings(void **state)
{
	memset(&seen, 0, sizeof(seen));
	return test_daemon_start(&daemon_under_test,
				 "totem {\n\tversion: 2\n\tcluster_name: test\n}\n"
				 "nodelist {\n\tnode {\n\t\tnodeid: 1\n\t\tring0_addr: 127.0.0.1\n\t}\n}\n"
				 "conclave {\n\tmax_ring_size: 4096\n}\n");
}

static int start_no_rings(void **state)
{
	memset(&seen, 0, sizeof(seen));
	return test_daemon_start(&daemon_under_test,
				 "totem {\n\tversion: 2\n\tcluster_name: test\n}\n"
				 "nodelist {\n\tnode {\n\t\tnodeid: 1\n\t\tring0_addr: 127.0.0.1\n\t}\n}\n"
				 "conclave {\n\tmax_ring_size: 0\n}\n");
}

/* Values of up to VALUE_LIMIT bytes, each different, set and got back
 * whole, one call after another. */
static void values_round_trip(void)
{
	cmap_handle_t h = connect();
	char *value = repeated('a', VALUE_LIMIT);
	char *got = malloc(VALUE_LIMIT);
	size_t len;

	assert_non_null(got);
	for (int i = 0; i < 50; i++) {
		size_t size = VALUE_LIMIT - (size_t)i * 97;

		memset(value, 'a' + i % 26, size);
		assert_int_equal(cmap_set(h, "test.ring", value, size, CMAP_VALUETYPE_BINARY), CS_OK);
		len = VALUE_LIMIT;
		assert_int_equal(cmap_get(h, "test.ring", got, &len, NULL), CS_OK);
		assert_int_equal(len, size);
		assert_memory_equal(got, value, size);
	}
	free(got);
	free(value);
	disconnect(h);
}

/* Replies four times as large as the reply ring come through it in
 * pieces, the daemon waiting for room while the caller reads. */
static void test_replies_larger_than_the_reply_ring(void **state)
{
	values_round_trip();
	assert_true(test_daemon_log_has(&daemon_under_test, "reads its replies from another", "", 2000));
}

/* With max_ring_size 0, requests and replies keep the sockets. */
static void test_no_rings_with_max_ring_size_0(void **state)
{
	values_round_trip();
	assert_false(test_daemon_log_has(&daemon_under_test, "shared ring", "", 0));
}

static void test_value_size_limit(void **state)
{
	cmap_handle_t h = connect();
	char *big = repeated('v', VALUE_LIMIT + 1);
	size_t len = 0;

	assert_int_equal(cmap_set(h, "test.bin", big, VALUE_LIMIT, CMAP_VALUETYPE_BINARY), CS_OK);
	assert_int_equal(cmap_get(h, "test.bin", NULL, &len, NULL), CS_OK);
	assert_int_equal(len, VALUE_LIMIT);
	assert_int_equal(cmap_set(h, "test.bin2", big, VALUE_LIMIT + 1, CMAP_VALUETYPE_BINARY),
			 CS_ERR_INVALID_PARAM);
	assert_int_equal(cmap_set_string(h, "test.str", big), CS_ERR_INVALID_PARAM);
	big[VALUE_LIMIT] = '\0';
	assert_int_equal(cmap_set_string(h, "test.str", big), CS_OK);
	assert_int_equal(cmap_get(h, "test.str", NULL, &len, NULL), CS_OK);
	assert_int_equal(len, VALUE_LIMIT + 1);
	assert_int_equal(cmap_get(h, "test.bin2", NULL, NULL, NULL), CS_ERR_NOT_EXIST);
	free(big);
	disconnect(h);
}

static void test_invalid_types_and_null_arguments(void **state)
{
	cmap_handle_t h = connect();
	uint32_t v = 1;

	assert_int_equal(cmap_set(h, "test.t", &v, sizeof(v), (cmap_value_types_t)0), CS_ERR_INVALID_PARAM);
	assert_int_equal(cmap_set(h, "test.t", &v, sizeof(v), (cmap_value_types_t)13), CS_ERR_INVALID_PARAM);
	assert_int_equal(cmap_set(h, NULL, &v, sizeof(v), CMAP_VALUETYPE_UINT32), CS_ERR_INVALID_PARAM);
	assert_int_equal(cmap_set(h, "test.t", NULL, sizeof(v), CMAP_VALUETYPE_UINT32), CS_ERR_INVALID_PARAM);
	assert_int_equal(cmap_set_uint32(h, NULL, 1), CS_ERR_INVALID_PARAM);
	assert_int_equal(cmap_get(h, NULL, NULL, NULL, NULL), CS_ERR_INVALID_PARAM);
	assert_int_equal(cmap_delete(h, NULL), CS_ERR_INVALID_PARAM);
	assert_int_equal(cmap_inc(h, NULL), CS_ERR_INVALID_PARAM);
	assert_int_equal(cmap_dec(h, NULL), CS_ERR_INVALID_PARAM);
	assert_int_equal(cmap_get(h, "test.t", NULL, NULL, NULL), CS_ERR_NOT_EXIST);
	disconnect(h);
}

static void test_set_with_another_type_replaces_the_type(void **state)
{
	cmap_handle_t h = connect();
	uint8_t u8;
	char *str;

	assert_int_equal(cmap_set_uint8(h, "test.k", 7), CS_OK);
	assert_int_equal(cmap_set_string(h, "test.k", "seven"), CS_OK);
	assert_int_equal(cmap_get_uint8(h, "test.k", &u8), CS_ERR_INVALID_PARAM);
	assert_int_equal(cmap_get_string(h, "test.k", &str), CS_OK);
	assert_string_equal(str, "seven");
	free(str);
	disconnect(h);
}

static void test_delete(void **state)
{
	cmap_handle_t h = connect();

	assert_int_equal(cmap_delete(h, "test.gone"), CS_ERR_NOT_EXIST);
	assert_int_equal(cmap_set_uint32(h, "test.gone", 1), CS_OK);
	assert_int_equal(cmap_delete(h, "test.gone"), CS_OK);
	assert_int_equal(cmap_get(h, "test.gone", NULL, NULL, NULL), CS_ERR_NOT_EXIST);
	assert_int_equal(cmap_delete(h, "test.gone"), CS_ERR_NOT_EXIST);
	disconnect(h);
}

/* ---- CMAP-2: key names -------------------------------------------------------- */

static void test_new_key_names_are_validated(void **state)
{
	cmap_handle_t h = connect();
	char *longest = repeated('k', CMAP_KEYNAME_MAXLEN);

	assert_int_equal(cmap_set_uint8(h, "ab", 1), CS_ERR_NAME_TOO_LONG);
	assert_int_equal(cmap_set_uint8(h, "", 1), CS_ERR_NAME_TOO_LONG);
	assert_int_equal(cmap_set_uint8(h, "a b", 1), CS_ERR_NAME_TOO_LONG);
	assert_int_equal(cmap_set_uint8(h, "test.a@b", 1), CS_ERR_NAME_TOO_LONG);
	assert_int_equal(cmap_set_uint8(h, "abc", 1), CS_OK);
	assert_int_equal(cmap_delete(h, "abc"), CS_OK);
	assert_int_equal(cmap_set_uint8(h, "test.aZ09._/:-", 1), CS_OK);
	memcpy(longest, "test.", 5);
	assert_int_equal(cmap_set_uint8(h, longest, 1), CS_OK);
	assert_int_equal(cmap_get(h, longest, NULL, NULL, NULL), CS_OK);
	/* Reading or deleting a name that cannot exist is simply NOT_EXIST. */
	assert_int_equal(cmap_get(h, "ab", NULL, NULL, NULL), CS_ERR_NOT_EXIST);
	assert_int_equal(cmap_delete(h, "a b"), CS_ERR_NOT_EXIST);
	assert_int_equal(cmap_inc(h, "ab"), CS_ERR_NOT_EXIST);
	free(longest);
	disconnect(h);
}

static void test_names_of_256_bytes_are_too_long_everywhere(void **state)
{
	cmap_handle_t h = connect();
	char *name = repeated('k', CS_MAX_NAME_LENGTH);
	cmap_iter_handle_t iter;
	cmap_track_handle_t track;
	char *str;
	uint8_t u8;

	assert_int_equal(cmap_set_uint8(h, name, 1), CS_ERR_NAME_TOO_LONG);
	assert_int_equal(cmap_set(h, name, "x", 1, CMAP_VALUETYPE_BINARY), CS_ERR_NAME_TOO_LONG);
	assert_int_equal(cmap_get(h, name, NULL, NULL, NULL), CS_ERR_NAME_TOO_LONG);
	assert_int_equal(cmap_get_uint8(h, name, &u8), CS_ERR_NAME_TOO_LONG);
	assert_int_equal(cmap_get_string(h, name, &str), CS_ERR_NAME_TOO_LONG);
	assert_int_equal(cmap_delete(h, name), CS_ERR_NAME_TOO_LONG);
	assert_int_equal(cmap_inc(h, name), CS_ERR_NAME_TOO_LONG);
	assert_int_equal(cmap_dec(h, name), CS_ERR_NAME_TOO_LONG);
	assert_int_equal(cmap_iter_init(h, name, &iter), CS_ERR_NAME_TOO_LONG);
	assert_int_equal(cmap_track_add(h, name, CMAP_TRACK_ADD, record, NULL, &track), CS_ERR_NAME_TOO_LONG);
	free(name);
	disconnect(h);
}

/* ---- CMAP-3: read-only keys ---------------------------------------------------- */

static void test_read_only_keys(void **state)
{
	static const char *const read_only[] = {
		"totem.cluster_name",          "nodelist.test.new",         "runtime.config.test",
		"internal_configuration.test", "uidgid.config.test",        "system.test",
		"runtime.services.test",       "runtime.totem.test",        "totem.nodeid",
		"quorum.wait_for_all",         "config.reload_in_progress",
	};
	cmap_handle_t h = connect();
	char *name;

	for (size_t i = 0; i < sizeof(read_only) / sizeof(read_only[0]); i++) {
		assert_int_equal(cmap_set_uint8(h, read_only[i], 1), CS_ERR_ACCESS);
		assert_int_equal(cmap_delete(h, read_only[i]), CS_ERR_ACCESS);
		assert_int_equal(cmap_inc(h, read_only[i]), CS_ERR_ACCESS);
		assert_int_equal(cmap_dec(h, read_only[i]), CS_ERR_ACCESS);
	}
	assert_int_equal(cmap_get_string(h, "totem.cluster_name", &name), CS_OK);
	assert_string_equal(name, TEST_CLUSTER_NAME);
	free(name);
	assert_int_equal(cmap_get(h, "nodelist.test.new", NULL, NULL, NULL), CS_ERR_NOT_EXIST);
	disconnect(h);
}

/* ---- CMAP-4: getters -------------------------------------------------------------- */

static void test_typed_getters_do_not_convert(void **state)
{
	cmap_handle_t h = connect();
	uint8_t big[17] = { 0 };
	uint16_t u16;
	uint32_t u32;
	int16_t i16;
	uint8_t u8;
	char *str = (char *)&str;

	assert_int_equal(cmap_set_uint16(h, "test.u16", 5), CS_OK);
	assert_int_equal(cmap_get_uint32(h, "test.u16", &u32), CS_ERR_INVALID_PARAM);
	assert_int_equal(cmap_get_int16(h, "test.u16", &i16), CS_ERR_INVALID_PARAM);
	assert_int_equal(cmap_get_string(h, "test.u16", &str), CS_ERR_INVALID_PARAM);
	assert_ptr_equal(str, (char *)&str);
	assert_int_equal(cmap_get_uint16(h, "test.u16", &u16), CS_OK);
	assert_int_equal(u16, 5);
	assert_int_equal(cmap_set(h, "test.big", big, sizeof(big), CMAP_VALUETYPE_BINARY), CS_OK);
	assert_int_equal(cmap_get_uint8(h, "test.big", &u8), CS_ERR_INVALID_PARAM);
	assert_int_equal(cmap_get_uint32(h, "test.missing", &u32), CS_ERR_NOT_EXIST);
	assert_int_equal(cmap_get_string(h, "test.missing", &str), CS_ERR_NOT_EXIST);
	assert_int_equal(cmap_get_uint32(h, NULL, &u32), CS_ERR_INVALID_PARAM);
	/* corosync's library crashes on these. */
	assert_int_equal(cmap_get_uint16(h, "test.u16", NULL), CS_ERR_INVALID_PARAM);
	assert_int_equal(cmap_get_string(h, "test.u16", NULL), CS_ERR_INVALID_PARAM);
	disconnect(h);
}

static void test_get_buffer_rules(void **state)
{
	cmap_handle_t h = connect();
	cmap_value_types_t type = 0;
	char buffer[16];
	size_t len;

	assert_int_equal(cmap_set_string(h, "test.s", "hello"), CS_OK);
	assert_int_equal(cmap_get(h, "test.s", NULL, NULL, NULL), CS_OK);
	assert_int_equal(cmap_get(h, "test.s", NULL, NULL, &type), CS_OK);
	assert_int_equal(type, CMAP_VALUETYPE_STRING);
	assert_int_equal(cmap_get(h, "test.s", buffer, NULL, NULL), CS_ERR_INVALID_PARAM);

	len = 5;
	memset(buffer, 'x', sizeof(buffer));
	assert_int_equal(cmap_get(h, "test.s", buffer, &len, NULL), CS_ERR_INVALID_PARAM);
	assert_int_equal(len, 5);
	assert_int_equal(buffer[0], 'x');

	len = 6;
	assert_int_equal(cmap_get(h, "test.s", buffer, &len, NULL), CS_OK);
	assert_int_equal(len, 6);
	assert_string_equal(buffer, "hello");

	len = sizeof(buffer);
	assert_int_equal(cmap_get(h, "test.s", buffer, &len, &type), CS_OK);
	assert_int_equal(len, 6);
	assert_int_equal(cmap_get(h, "test.nope", buffer, &len, &type), CS_ERR_NOT_EXIST);
	disconnect(h);
}

/* ---- CMAP-5: inc and dec ----------------------------------------------------------- */

static void test_inc_and_dec_wrap_around(void **state)
{
	cmap_handle_t h = connect();
	uint8_t u8;
	int8_t i8;
	uint16_t u16;
	int32_t i32;
	uint64_t u64;
	int64_t i64;

	assert_int_equal(cmap_set_uint8(h, "test.u8", UINT8_MAX), CS_OK);
	assert_int_equal(cmap_inc(h, "test.u8"), CS_OK);
	assert_int_equal(cmap_get_uint8(h, "test.u8", &u8), CS_OK);
	assert_int_equal(u8, 0);
	assert_int_equal(cmap_dec(h, "test.u8"), CS_OK);
	assert_int_equal(cmap_get_uint8(h, "test.u8", &u8), CS_OK);
	assert_int_equal(u8, UINT8_MAX);

	assert_int_equal(cmap_set_int8(h, "test.i8", INT8_MIN), CS_OK);
	assert_int_equal(cmap_dec(h, "test.i8"), CS_OK);
	assert_int_equal(cmap_get_int8(h, "test.i8", &i8), CS_OK);
	assert_int_equal(i8, INT8_MAX);
	assert_int_equal(cmap_inc(h, "test.i8"), CS_OK);
	assert_int_equal(cmap_get_int8(h, "test.i8", &i8), CS_OK);
	assert_int_equal(i8, INT8_MIN);

	assert_int_equal(cmap_set_uint16(h, "test.u16", 0), CS_OK);
	assert_int_equal(cmap_dec(h, "test.u16"), CS_OK);
	assert_int_equal(cmap_get_uint16(h, "test.u16", &u16), CS_OK);
	assert_int_equal(u16, UINT16_MAX);

	assert_int_equal(cmap_set_int32(h, "test.i32", -1), CS_OK);
	assert_int_equal(cmap_inc(h, "test.i32"), CS_OK);
	assert_int_equal(cmap_inc(h, "test.i32"), CS_OK);
	assert_int_equal(cmap_get_int32(h, "test.i32", &i32), CS_OK);
	assert_int_equal(i32, 1);

	assert_int_equal(cmap_set_uint64(h, "test.u64", UINT64_MAX), CS_OK);
	assert_int_equal(cmap_inc(h, "test.u64"), CS_OK);
	assert_int_equal(cmap_get_uint64(h, "test.u64", &u64), CS_OK);
	assert_true(u64 == 0);

	assert_int_equal(cmap_set_int64(h, "test.i64", INT64_MAX), CS_OK);
	assert_int_equal(cmap_inc(h, "test.i64"), CS_OK);
	assert_int_equal(cmap_get_int64(h, "test.i64", &i64), CS_OK);
	assert_true(i64 == INT64_MIN);
	disconnect(h);
}

static void test_inc_and_dec_errors(void **state)
{
	cmap_handle_t h = connect();
	double dbl;

	assert_int_equal(cmap_inc(h, "test.missing"), CS_ERR_NOT_EXIST);
	assert_int_equal(cmap_dec(h, "test.missing"), CS_ERR_NOT_EXIST);
	assert_int_equal(cmap_set_float(h, "test.flt", 1), CS_OK);
	assert_int_equal(cmap_set_double(h, "test.dbl", 1), CS_OK);
	assert_int_equal(cmap_set_string(h, "test.str", "1"), CS_OK);
	assert_int_equal(cmap_set(h, "test.bin", "1", 1, CMAP_VALUETYPE_BINARY), CS_OK);
	assert_int_equal(cmap_inc(h, "test.flt"), CS_ERR_INVALID_PARAM);
	assert_int_equal(cmap_dec(h, "test.dbl"), CS_ERR_INVALID_PARAM);
	assert_int_equal(cmap_inc(h, "test.str"), CS_ERR_INVALID_PARAM);
	assert_int_equal(cmap_dec(h, "test.bin"), CS_ERR_INVALID_PARAM);
	assert_int_equal(cmap_get_double(h, "test.dbl", &dbl), CS_OK);
	assert_true(dbl == 1);
	disconnect(h);
}

/* ---- CMAP-6: iteration --------------------------------------------------------------- */

/* The names under prefix, in iteration order, joined by spaces. */
static void iterate(cmap_handle_t h, const char *prefix, char *out, size_t size)
{
	char name[CMAP_KEYNAME_MAXLEN + 1];
	cmap_iter_handle_t iter;
	cs_error_t err;

	out[0] = '\0';
	assert_int_equal(cmap_iter_init(h, prefix, &iter), CS_OK);
	while ((err = cmap_iter_next(h, iter, name, NULL, NULL)) == CS_OK) {
		if (out[0] != '\0')
			strncat(out, " ", size - strlen(out) - 1);
		strncat(out, name, size - strlen(out) - 1);
	}
	assert_int_equal(err, CS_ERR_NO_SECTIONS);
	assert_int_equal(cmap_iter_finalize(h, iter), CS_OK);
}

static void test_iteration_is_bytewise_ordered(void **state)
{
	static const char *const keys[] = { "test.it.tr.k2", "test.it.big", "test.it.tr", "test.it.Az09",
					    "test.it.tr.k10" };
	cmap_handle_t h = connect();
	char names[512];

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		assert_int_equal(cmap_set_uint8(h, keys[i], (uint8_t)i), CS_OK);
	iterate(h, "test.it.", names, sizeof(names));
	assert_string_equal(names, "test.it.Az09 test.it.big test.it.tr test.it.tr.k10 test.it.tr.k2");
	iterate(h, "test.it.tr.", names, sizeof(names));
	assert_string_equal(names, "test.it.tr.k10 test.it.tr.k2");
	iterate(h, "test.none.", names, sizeof(names));
	assert_string_equal(names, "");
	iterate(h, "a b@", names, sizeof(names));
	assert_string_equal(names, "");
	disconnect(h);
}

static void test_iteration_reports_length_and_type(void **state)
{
	cmap_handle_t h = connect();
	char name[CMAP_KEYNAME_MAXLEN + 1];
	cmap_value_types_t type = 0;
	cmap_iter_handle_t iter;
	size_t len = 0;

	assert_int_equal(cmap_set_string(h, "test.a", "four"), CS_OK);
	assert_int_equal(cmap_set_uint16(h, "test.b", 2), CS_OK);
	assert_int_equal(cmap_iter_init(h, "test.", &iter), CS_OK);
	assert_int_equal(cmap_iter_next(h, iter, name, &len, &type), CS_OK);
	assert_string_equal(name, "test.a");
	assert_int_equal(len, 5);
	assert_int_equal(type, CMAP_VALUETYPE_STRING);
	assert_int_equal(cmap_iter_next(h, iter, name, &len, NULL), CS_OK);
	assert_string_equal(name, "test.b");
	assert_int_equal(len, 2);
	assert_int_equal(cmap_iter_next(h, iter, name, NULL, &type), CS_ERR_NO_SECTIONS);
	assert_int_equal(cmap_iter_next(h, iter, name, NULL, NULL), CS_ERR_NO_SECTIONS);
	assert_int_equal(cmap_iter_next(h, iter, NULL, NULL, NULL), CS_ERR_INVALID_PARAM);
	assert_int_equal(cmap_iter_finalize(h, iter), CS_OK);
	disconnect(h);
}

static void test_iteration_without_prefix_sees_every_key(void **state)
{
	cmap_handle_t h = connect();
	char name[CMAP_KEYNAME_MAXLEN + 1];
	cmap_iter_handle_t iter;
	bool saw_cluster_name = false, saw_own = false;

	assert_int_equal(cmap_set_uint8(h, "test.mine", 1), CS_OK);
	for (int empty = 0; empty < 2; empty++) {
		saw_cluster_name = saw_own = false;
		assert_int_equal(cmap_iter_init(h, empty ? "" : NULL, &iter), CS_OK);
		while (cmap_iter_next(h, iter, name, NULL, NULL) == CS_OK) {
			saw_cluster_name |= strcmp(name, "totem.cluster_name") == 0;
			saw_own |= strcmp(name, "test.mine") == 0;
		}
		assert_int_equal(cmap_iter_finalize(h, iter), CS_OK);
		assert_true(saw_cluster_name);
		assert_true(saw_own);
	}
	assert_int_equal(cmap_iter_init(h, NULL, NULL), CS_ERR_INVALID_PARAM);
	disconnect(h);
}

static void test_iter_finalize(void **state)
{
	cmap_handle_t h = connect();
	cmap_handle_t other = connect();
	char name[CMAP_KEYNAME_MAXLEN + 1];
	cmap_iter_handle_t iter;

	assert_int_equal(cmap_iter_init(h, NULL, &iter), CS_OK);
	assert_int_equal(cmap_iter_next(other, iter, name, NULL, NULL), CS_ERR_BAD_HANDLE);
	assert_int_equal(cmap_iter_finalize(other, iter), CS_ERR_BAD_HANDLE);
	assert_int_equal(cmap_iter_finalize(h, iter), CS_OK);
	assert_int_equal(cmap_iter_next(h, iter, name, NULL, NULL), CS_ERR_BAD_HANDLE);
	assert_int_equal(cmap_iter_finalize(h, iter), CS_ERR_BAD_HANDLE);
	assert_int_equal(cmap_iter_next(h, iter ^ 0x1234567800000000ULL, name, NULL, NULL),
			 CS_ERR_BAD_HANDLE);
	disconnect(other);
	disconnect(h);
}

static void test_iteration_of_the_longest_name(void **state)
{
	cmap_handle_t h = connect();
	char *longest = repeated('n', CMAP_KEYNAME_MAXLEN);
	char name[CMAP_KEYNAME_MAXLEN + 2];
	cmap_iter_handle_t iter;

	memcpy(longest, "test.", 5);
	assert_int_equal(cmap_set_uint8(h, longest, 1), CS_OK);
	memset(name, '#', sizeof(name));
	assert_int_equal(cmap_iter_init(h, "test.", &iter), CS_OK);
	assert_int_equal(cmap_iter_next(h, iter, name, NULL, NULL), CS_OK);
	assert_string_equal(name, longest);
	assert_int_equal(name[CMAP_KEYNAME_MAXLEN + 1], '#');
	assert_int_equal(cmap_iter_finalize(h, iter), CS_OK);
	free(longest);
	disconnect(h);
}

/* ---- CMAP-7: tracking ------------------------------------------------------------------- */

static void test_track_add_validation(void **state)
{
	cmap_handle_t h = connect();
	cmap_track_handle_t track;

	assert_int_equal(cmap_track_add(h, "test.k", 0x10, record, NULL, &track), CS_ERR_INVALID_PARAM);
	assert_int_equal(cmap_track_add(h, "test.k", -1, record, NULL, &track), CS_ERR_INVALID_PARAM);
	assert_int_equal(cmap_track_add(h, "test.k", CMAP_TRACK_ADD, NULL, NULL, &track),
			 CS_ERR_INVALID_PARAM);
	assert_int_equal(cmap_track_add(h, "test.k", CMAP_TRACK_ADD, record, NULL, NULL),
			 CS_ERR_INVALID_PARAM);
	assert_int_equal(cmap_track_add(h, "test.k", 0x0F, record, NULL, &track), CS_OK);
	assert_int_equal(cmap_track_delete(h, track), CS_OK);
	disconnect(h);
}

static void test_track_a_key_through_its_life(void **state)
{
	cmap_handle_t h = connect();
	int marker;
	cmap_track_handle_t track;
	const struct notification *n = seen.n;
	int track_all = CMAP_TRACK_ADD | CMAP_TRACK_MODIFY | CMAP_TRACK_DELETE;

	/* The key does not exist yet. */
	assert_int_equal(cmap_track_add(h, "test.life", track_all, record, &marker, &track), CS_OK);
	assert_int_equal(cmap_set_uint32(h, "test.life", 7), CS_OK);
	expect_notifications(h, 1);
	assert_int_equal(n[0].handle, h);
	assert_int_equal(n[0].track_handle, track);
	assert_ptr_equal(n[0].user_data, &marker);
	assert_int_equal(n[0].event, CMAP_TRACK_ADD);
	assert_string_equal(n[0].key_name, "test.life");
	assert_int_equal(n[0].new_value.type, CMAP_VALUETYPE_UINT32);
	assert_int_equal(n[0].new_value.len, 4);
	assert_int_equal(*(const uint32_t *)n[0].new_bytes, 7);
	assert_int_equal(n[0].old_value.type, 0);
	assert_int_equal(n[0].old_value.len, 0);
	assert_non_null(n[0].old_value.data); /* never NULL, as in corosync */

	assert_int_equal(cmap_set_uint32(h, "test.life", 8), CS_OK);
	expect_notifications(h, 2);
	assert_int_equal(n[1].event, CMAP_TRACK_MODIFY);
	assert_int_equal(*(const uint32_t *)n[1].new_bytes, 8);
	assert_int_equal(*(const uint32_t *)n[1].old_bytes, 7);
	assert_int_equal(n[1].old_value.type, CMAP_VALUETYPE_UINT32);

	/* The same value and type again: nothing changes, nobody is told. */
	assert_int_equal(cmap_set_uint32(h, "test.life", 8), CS_OK);
	expect_notifications(h, 2);

	assert_int_equal(cmap_set_string(h, "test.life", "eight"), CS_OK);
	expect_notifications(h, 3);
	assert_int_equal(n[2].event, CMAP_TRACK_MODIFY);
	assert_int_equal(n[2].new_value.type, CMAP_VALUETYPE_STRING);
	assert_int_equal(n[2].new_value.len, 6);
	assert_string_equal((const char *)n[2].new_bytes, "eight");
	assert_int_equal(n[2].old_value.type, CMAP_VALUETYPE_UINT32);

	assert_int_equal(cmap_inc(h, "test.life"), CS_ERR_INVALID_PARAM);
	assert_int_equal(cmap_delete(h, "test.life"), CS_OK);
	expect_notifications(h, 4);
	assert_int_equal(n[3].event, CMAP_TRACK_DELETE);
	assert_int_equal(n[3].new_value.type, 0);
	assert_int_equal(n[3].new_value.len, 0);
	assert_non_null(n[3].new_value.data);
	assert_int_equal(n[3].old_value.type, CMAP_VALUETYPE_STRING);
	assert_string_equal((const char *)n[3].old_bytes, "eight");

	assert_int_equal(cmap_track_delete(h, track), CS_OK);
	disconnect(h);
}

static void test_inc_notifies_a_modification(void **state)
{
	cmap_handle_t h = connect();
	cmap_track_handle_t track;

	assert_int_equal(cmap_set_uint8(h, "test.counter", UINT8_MAX), CS_OK);
	assert_int_equal(cmap_track_add(h, "test.counter", CMAP_TRACK_MODIFY, record, NULL, &track), CS_OK);
	assert_int_equal(cmap_inc(h, "test.counter"), CS_OK);
	expect_notifications(h, 1);
	assert_int_equal(seen.n[0].event, CMAP_TRACK_MODIFY);
	assert_int_equal(seen.n[0].new_bytes[0], 0);
	assert_int_equal(seen.n[0].old_bytes[0], UINT8_MAX);
	disconnect(h);
}

static void test_track_types_filter_the_events(void **state)
{
	cmap_handle_t h = connect();
	cmap_track_handle_t track;

	assert_int_equal(cmap_track_add(h, "test.f", CMAP_TRACK_MODIFY, record, NULL, &track), CS_OK);
	assert_int_equal(cmap_set_uint8(h, "test.f", 1), CS_OK);
	expect_notifications(h, 0);
	assert_int_equal(cmap_set_uint8(h, "test.f", 2), CS_OK);
	expect_notifications(h, 1);
	assert_int_equal(seen.n[0].event, CMAP_TRACK_MODIFY);
	assert_int_equal(cmap_delete(h, "test.f"), CS_OK);
	expect_notifications(h, 1);
	disconnect(h);
}

static void test_track_an_exact_key_only(void **state)
{
	cmap_handle_t h = connect();
	cmap_track_handle_t track;

	assert_int_equal(cmap_track_add(h, "test.exact", CMAP_TRACK_ADD, record, NULL, &track), CS_OK);
	assert_int_equal(cmap_set_uint8(h, "test.exact.child", 1), CS_OK);
	assert_int_equal(cmap_set_uint8(h, "test.exac", 1), CS_OK);
	expect_notifications(h, 0);
	assert_int_equal(cmap_set_uint8(h, "test.exact", 1), CS_OK);
	expect_notifications(h, 1);
	disconnect(h);
}

static void test_track_a_prefix(void **state)
{
	cmap_handle_t h = connect();
	cmap_track_handle_t track;

	assert_int_equal(
		cmap_track_add(h, "test.tp.", CMAP_TRACK_ADD | CMAP_TRACK_PREFIX, record, NULL, &track),
		CS_OK);
	assert_int_equal(cmap_set_uint8(h, "test.tp", 1), CS_OK);
	expect_notifications(h, 0);
	assert_int_equal(cmap_set_uint8(h, "test.tp.k10", 1), CS_OK);
	assert_int_equal(cmap_set_uint8(h, "test.tp.k2", 1), CS_OK);
	expect_notifications(h, 2);
	assert_string_equal(seen.n[0].key_name, "test.tp.k10");
	assert_string_equal(seen.n[1].key_name, "test.tp.k2");
	assert_int_equal(seen.n[0].event, CMAP_TRACK_ADD);
	disconnect(h);
}

static void test_track_every_key(void **state)
{
	cmap_handle_t h = connect();
	cmap_track_handle_t by_null, by_empty;

	assert_int_equal(cmap_track_add(h, NULL, CMAP_TRACK_ADD | CMAP_TRACK_PREFIX, record, NULL, &by_null),
			 CS_OK);
	assert_int_equal(cmap_track_add(h, "", CMAP_TRACK_ADD | CMAP_TRACK_PREFIX, record, NULL, &by_empty),
			 CS_OK);
	assert_int_equal(cmap_set_uint8(h, "test.any", 1), CS_OK);
	expect_notifications(h, 2);
	assert_true(seen.n[0].track_handle != seen.n[1].track_handle);
	disconnect(h);
}

static void test_several_tracks_of_one_key(void **state)
{
	cmap_handle_t h = connect();
	cmap_track_handle_t exact, prefix, again;
	int first, second, third;
	bool got[3] = { false };

	assert_int_equal(cmap_track_add(h, "test.multi", CMAP_TRACK_ADD, record, &first, &exact), CS_OK);
	assert_int_equal(
		cmap_track_add(h, "test.mu", CMAP_TRACK_ADD | CMAP_TRACK_PREFIX, record, &second, &prefix),
		CS_OK);
	assert_int_equal(cmap_track_add(h, "test.multi", CMAP_TRACK_ADD, record, &third, &again), CS_OK);
	assert_true(exact != prefix && exact != again && prefix != again);
	assert_int_equal(cmap_set_uint8(h, "test.multi", 1), CS_OK);
	expect_notifications(h, 3);
	for (int i = 0; i < 3; i++) {
		const struct notification *n = &seen.n[i];

		if (n->user_data == &first && n->track_handle == exact)
			got[0] = true;
		if (n->user_data == &second && n->track_handle == prefix)
			got[1] = true;
		if (n->user_data == &third && n->track_handle == again)
			got[2] = true;
	}
	assert_true(got[0] && got[1] && got[2]);
	disconnect(h);
}

static void test_changes_from_another_connection_are_notified(void **state)
{
	cmap_handle_t watcher = connect();
	cmap_handle_t writer = connect();
	cmap_track_handle_t track;

	assert_int_equal(cmap_track_add(watcher, "test.shared", CMAP_TRACK_ADD, record, NULL, &track), CS_OK);
	assert_int_equal(cmap_set_uint8(writer, "test.shared", 1), CS_OK);
	expect_notifications(watcher, 1);
	assert_int_equal(seen.n[0].handle, watcher);
	assert_int_equal(cmap_dispatch(writer, CS_DISPATCH_ALL), CS_OK);
	assert_int_equal(seen.count, 1);
	disconnect(writer);
	disconnect(watcher);
}

static void test_track_delete(void **state)
{
	cmap_handle_t h = connect();
	cmap_handle_t other = connect();
	cmap_track_handle_t track, kept;
	int fd;

	assert_int_equal(
		cmap_track_add(h, "test.td", CMAP_TRACK_ADD | CMAP_TRACK_MODIFY, record, NULL, &track),
		CS_OK);
	assert_int_equal(cmap_track_add(h, "test.kept", CMAP_TRACK_ADD, record, NULL, &kept), CS_OK);
	assert_int_equal(cmap_track_delete(other, track), CS_ERR_BAD_HANDLE);
	/* Queued before the delete: skipped by dispatch. */
	assert_int_equal(cmap_set_uint8(h, "test.td", 1), CS_OK);
	assert_int_equal(cmap_fd_get(h, &fd), CS_OK);
	assert_true(fd_readable_within(fd, 2000));
	assert_int_equal(cmap_track_delete(h, track), CS_OK);
	assert_int_equal(cmap_track_delete(h, track), CS_ERR_BAD_HANDLE);
	assert_int_equal(cmap_set_uint8(h, "test.td", 2), CS_OK);
	expect_notifications(h, 0);
	assert_int_equal(cmap_set_uint8(h, "test.kept", 1), CS_OK);
	expect_notifications(h, 1);
	assert_int_equal(seen.n[0].track_handle, kept);
	disconnect(other);
	disconnect(h);
}

static void test_finalize_inside_a_notification(void **state)
{
	cmap_handle_t h = connect();
	cmap_track_handle_t track;
	int fd;

	assert_int_equal(
		cmap_track_add(h, "test.fin.", CMAP_TRACK_ADD | CMAP_TRACK_PREFIX, record, NULL, &track),
		CS_OK);
	assert_int_equal(cmap_set_uint8(h, "test.fin.a", 1), CS_OK);
	assert_int_equal(cmap_set_uint8(h, "test.fin.b", 1), CS_OK);
	assert_int_equal(cmap_fd_get(h, &fd), CS_OK);
	assert_true(fd_readable_within(fd, 2000));
	seen.finalize_in_callback = true;
	assert_int_equal(cmap_dispatch(h, CS_DISPATCH_BLOCKING), CS_ERR_BAD_HANDLE);
	assert_int_equal(seen.count, 1);
	assert_int_equal(seen.finalize_result, CS_OK);
	assert_int_equal(cmap_finalize(h), CS_ERR_BAD_HANDLE);
}

static void test_finalize_forgets_the_tracks(void **state)
{
	cmap_handle_t h = connect();
	cmap_handle_t writer = connect();
	cmap_handle_t watcher;
	cmap_track_handle_t track;

	assert_int_equal(cmap_track_add(h, "test.ft", CMAP_TRACK_ADD, record, NULL, &track), CS_OK);
	disconnect(h);
	watcher = connect();
	assert_int_equal(cmap_set_uint8(writer, "test.ft", 1), CS_OK);
	expect_notifications(watcher, 0);
	assert_int_equal(cmap_track_delete(watcher, track), CS_ERR_BAD_HANDLE);
	disconnect(watcher);
	disconnect(writer);
}

struct blocked_dispatch {
	cmap_handle_t handle;
	cs_error_t result;
	volatile bool done;
};

static void *dispatch_blocking(void *arg)
{
	struct blocked_dispatch *b = arg;

	b->result = cmap_dispatch(b->handle, CS_DISPATCH_BLOCKING);
	b->done = true;
	return NULL;
}

static void test_calls_while_another_thread_dispatches(void **state)
{
	struct blocked_dispatch b = { .handle = connect() };
	cmap_track_handle_t track;
	pthread_t thread;
	uint32_t u32;

	assert_int_equal(cmap_track_add(b.handle, "test.thr", CMAP_TRACK_ADD | CMAP_TRACK_MODIFY, record,
					NULL, &track),
			 CS_OK);
	assert_int_equal(pthread_create(&thread, NULL, dispatch_blocking, &b), 0);
	for (uint32_t i = 0; i < 100; i++) {
		assert_int_equal(cmap_set_uint32(b.handle, "test.thr", i), CS_OK);
		assert_int_equal(cmap_get_uint32(b.handle, "test.thr", &u32), CS_OK);
		assert_int_equal(u32, i);
	}
	for (int waited = 0; __atomic_load_n(&seen.count, __ATOMIC_SEQ_CST) < 100 && waited < 2000;
	     waited += 10)
		usleep(10 * 1000);
	assert_int_equal(__atomic_load_n(&seen.count, __ATOMIC_SEQ_CST), 100);
	assert_int_equal(cmap_finalize(b.handle), CS_OK);
	assert_int_equal(pthread_join(thread, NULL), 0);
	assert_true(b.done);
	assert_int_equal(b.result, CS_ERR_BAD_HANDLE);
}

static void test_daemon_death_is_library_error(void **state)
{
	cmap_handle_t h = connect();
	uint32_t u32;
	int fd;

	assert_int_equal(cmap_fd_get(h, &fd), CS_OK);
	test_daemon_kill(&daemon_under_test);
	assert_true(fd_readable_within(fd, 2000));
	assert_int_equal(cmap_dispatch(h, CS_DISPATCH_BLOCKING), CS_ERR_LIBRARY);
	assert_int_equal(cmap_get_uint32(h, "test.k", &u32), CS_ERR_LIBRARY);
	assert_int_equal(cmap_set_uint32(h, "test.k", 1), CS_ERR_LIBRARY);
	disconnect(h);
}

#define TEST(t) cmocka_unit_test_setup_teardown(t, start, stop)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_initialize_and_finalize),
		TEST(test_calls_on_bad_handles),
		TEST(test_initialize_map),
		TEST(test_stats_map_when_offered),
		TEST(test_context),
		TEST(test_initialize_without_daemon_is_library_error),
		TEST(test_initialize_refused_uid_is_access_error),
		TEST(test_fd_and_dispatch_flags),
		TEST(test_dispatch_one_runs_one_notification),
		TEST(test_typed_setters_and_getters),
		TEST(test_get_reports_type_and_length),
		TEST(test_fixed_size_types_need_their_size),
		TEST(test_string_length_and_truncation),
		TEST(test_value_size_limit),
		cmocka_unit_test_setup_teardown(test_replies_larger_than_the_reply_ring, start_small_rings,
						stop),
		cmocka_unit_test_setup_teardown(test_no_rings_with_max_ring_size_0, start_no_rings, stop),
		TEST(test_invalid_types_and_null_arguments),
		TEST(test_set_with_another_type_replaces_the_type),
		TEST(test_delete),
		TEST(test_new_key_names_are_validated),
		TEST(test_names_of_256_bytes_are_too_long_everywhere),
		TEST(test_read_only_keys),
		TEST(test_typed_getters_do_not_convert),
		TEST(test_get_buffer_rules),
		TEST(test_inc_and_dec_wrap_around),
		TEST(test_inc_and_dec_errors),
		TEST(test_iteration_is_bytewise_ordered),
		TEST(test_iteration_reports_length_and_type),
		TEST(test_iteration_without_prefix_sees_every_key),
		TEST(test_iter_finalize),
		TEST(test_iteration_of_the_longest_name),
		TEST(test_track_add_validation),
		TEST(test_track_a_key_through_its_life),
		TEST(test_inc_notifies_a_modification),
		TEST(test_track_types_filter_the_events),
		TEST(test_track_an_exact_key_only),
		TEST(test_track_a_prefix),
		TEST(test_track_every_key),
		TEST(test_several_tracks_of_one_key),
		TEST(test_changes_from_another_connection_are_notified),
		TEST(test_track_delete),
		TEST(test_finalize_inside_a_notification),
		TEST(test_finalize_forgets_the_tracks),
		TEST(test_calls_while_another_thread_dispatches),
		TEST(test_daemon_death_is_library_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
