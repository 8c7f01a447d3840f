/* The cmap service on the wire, against a real conclaved: the value, name
 * and read-only rules, inc/dec, iterators, tracking and its back-pressure,
 * the stats map, the configuration's keys, and settings changed at run time
 * through cmap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

#include <cmocka.h>

#include "cmap.pb-c.h"
#include "daemon-peer.h"
#include "votequorum.pb-c.h"

/* The wire contract's request ids. */
enum {
	STORE_SET,
	DELETE,
	STORE_GET,
	INC,
	ITER_INIT,
	ITER_NEXT,
	ITER_FINALIZE,
	TRACK_ADD,
	TRACK_DELETE,
	SELECT_MAP,
	DEC,
};
enum {
	T_INT8 = 1,
	T_UINT8,
	T_INT16,
	T_UINT16,
	T_INT32,
	T_UINT32,
	T_INT64,
	T_UINT64,
	T_FLOAT,
	T_DOUBLE,
	T_STRING,
	T_BINARY
};
enum { EV_DELETE = 1, EV_MODIFY = 2, EV_ADD = 4, TRACK_PREFIX = 8 };
#define ALL_EVENTS (EV_ADD | EV_MODIFY | EV_DELETE)
/* How long a test waits for what must come (an event, a close, a log line):
 * generous, as a loaded machine or a sanitizer slows the daemon down. */
#define EVENT_WAIT_MS 10000

#define CONCLAVE_LIMITS "conclave {\n\tcmap_max_iterators: 8\n\tcmap_max_tracks: 8\n}\n"
#define CMAP_CONFIG                                                             \
	"totem {\n\tversion: 2\n\tcluster_name: test\n\ttoken: 3000\n}\n"       \
	"logging {\n\tdebug: off\n}\n"                                          \
	"quorum {\n\tprovider: corosync_votequorum\n}\n"                        \
	"nodelist {\n\tnode {\n\t\tnodeid: 1\n\t\tring0_addr: 127.0.0.1\n\t}\n" \
	"\tnode {\n\t\tnodeid: 2\n\t\tring0_addr: 192.0.2.2\n\t}\n"             \
	"\tnode {\n\t\tnodeid: 3\n\t\tring0_addr: 192.0.2.3\n\t}\n}\n" CONCLAVE_LIMITS
#define SMALL_QUEUE_CONFIG                               \
	"quorum {\n\tprovider: corosync_votequorum\n}\n" \
	"conclave {\n\tmax_message_size: 4096\n\tmax_queued_bytes: 8192\n\tlog_rate_burst: 0\n}\n"

static const ProtobufCMessageDescriptor *const cmap_events[] = { &cmap_notification_event__descriptor };

static struct test_daemon d;   /* shared by most tests */
static struct test_daemon own; /* for a test that needs its own settings */

static int start_shared(void **state)
{
	return test_daemon_start(&d, CMAP_CONFIG);
}

static int stop_shared(void **state)
{
	return test_daemon_stop(&d) == 0 ? 0 : -1;
}

static int stop_own(void **state)
{
	return test_daemon_stop(&own) == 0 ? 0 : -1;
}

static int client(void)
{
	int fd = raw_client(d.socket, "cmap");

	assert_true(fd >= 0);
	return fd;
}

/* ---- calls ------------------------------------------------------------- */

static int call(int fd, uint16_t id, const ProtobufCMessage *request,
		const ProtobufCMessageDescriptor *reply_desc)
{
	ProtobufCMessage *reply;
	int status = raw_call(fd, id, request, reply_desc, &reply);

	if (reply)
		protobuf_c_message_free_unpacked(reply, NULL);
	return status;
}

static int set(int fd, const char *key, int32_t type, const void *bytes, size_t len)
{
	CmapStoreSetRequest r = CMAP_STORE_SET_REQUEST__INIT;

	r.key_name = (char *)key;
	r.type = type;
	r.value.data = (uint8_t *)bytes;
	r.value.len = len;
	return call(fd, STORE_SET, &r.base, &cmap_store_set_reply__descriptor);
}

static int set_u32(int fd, const char *key, uint32_t v)
{
	return set(fd, key, T_UINT32, &v, sizeof(v));
}

static int set_string(int fd, const char *key, const char *value)
{
	return set(fd, key, T_STRING, value, strlen(value));
}

struct value {
	int32_t type;
	size_t len;
	uint8_t bytes[16400];
};

static int get(int fd, const char *key, struct value *out)
{
	CmapStoreGetRequest r = CMAP_STORE_GET_REQUEST__INIT;
	CmapStoreGetReply *reply;
	int status;

	r.key_name = (char *)key;
	status = raw_call(fd, STORE_GET, &r.base, &cmap_store_get_reply__descriptor,
			  (ProtobufCMessage **)&reply);
	if (reply && status == CS_OK) {
		assert_true(reply->value.len <= sizeof(out->bytes));
		out->type = reply->type;
		out->len = reply->value.len;
		if (out->len)
			memcpy(out->bytes, reply->value.data, reply->value.len);
	}
	if (reply)
		protobuf_c_message_free_unpacked(&reply->base, NULL);
	return status;
}

static uint64_t get_number(int fd, const char *key, int32_t expected_type)
{
	static struct value v;
	uint64_t n = 0;

	assert_int_equal(get(fd, key, &v), CS_OK);
	assert_int_equal(v.type, expected_type);
	assert_true(v.len <= sizeof(n));
	memcpy(&n, v.bytes, v.len); /* little endian */
	return n;
}

static void assert_string_value(int fd, const char *key, const char *expected)
{
	static struct value v;

	assert_int_equal(get(fd, key, &v), CS_OK);
	assert_int_equal(v.type, T_STRING);
	assert_int_equal(v.len, strlen(expected) + 1);
	assert_string_equal((const char *)v.bytes, expected);
}

static int key_call(int fd, uint16_t id, const char *key)
{
	CmapDeleteRequest r = CMAP_DELETE_REQUEST__INIT; /* delete, inc and dec have one shape */
	static const ProtobufCMessageDescriptor *const replies[] = {
		[DELETE] = &cmap_delete_reply__descriptor,
		[INC] = &cmap_inc_reply__descriptor,
		[DEC] = &cmap_dec_reply__descriptor,
	};

	r.key_name = (char *)key;
	return call(fd, id, &r.base, replies[id]);
}

static int del(int fd, const char *key)
{
	return key_call(fd, DELETE, key);
}

static int inc(int fd, const char *key)
{
	return key_call(fd, INC, key);
}

static int dec(int fd, const char *key)
{
	return key_call(fd, DEC, key);
}

static int iter_init(int fd, const char *prefix, uint64_t *handle)
{
	CmapIterInitRequest r = CMAP_ITER_INIT_REQUEST__INIT;
	CmapIterInitReply *reply;
	int status;

	r.prefix = (char *)prefix;
	status = raw_call(fd, ITER_INIT, &r.base, &cmap_iter_init_reply__descriptor,
			  (ProtobufCMessage **)&reply);
	if (reply) {
		*handle = reply->cmap_iter_handle;
		protobuf_c_message_free_unpacked(&reply->base, NULL);
	}
	return status;
}

/* The next key's name into key (256 bytes), or the status. */
static int iter_next(int fd, uint64_t handle, char *key, uint64_t *len, int32_t *type)
{
	CmapStoreIterNextRequest r = CMAP_STORE_ITER_NEXT_REQUEST__INIT;
	CmapStoreIterNextReply *reply;
	int status;

	r.iter_handle = handle;
	status = raw_call(fd, ITER_NEXT, &r.base, &cmap_store_iter_next_reply__descriptor,
			  (ProtobufCMessage **)&reply);
	if (reply && status == CS_OK) {
		snprintf(key, 256, "%s", reply->key_name);
		if (len)
			*len = reply->value_len;
		if (type)
			*type = reply->type;
	}
	if (reply)
		protobuf_c_message_free_unpacked(&reply->base, NULL);
	return status;
}

static int iter_finalize(int fd, uint64_t handle)
{
	CmapIterFinalizeRequest r = CMAP_ITER_FINALIZE_REQUEST__INIT;

	r.iter_handle = handle;
	return call(fd, ITER_FINALIZE, &r.base, &cmap_iter_finalize_reply__descriptor);
}

static int track_add(int fd, const char *key, int32_t type, uint64_t id, uint64_t *handle)
{
	CmapStoreTrackAddRequest r = CMAP_STORE_TRACK_ADD_REQUEST__INIT;
	CmapStoreTrackAddReply *reply;
	int status;

	r.key_name = (char *)key;
	r.track_type = type;
	r.track_id = id;
	status = raw_call(fd, TRACK_ADD, &r.base, &cmap_store_track_add_reply__descriptor,
			  (ProtobufCMessage **)&reply);
	if (reply) {
		if (handle)
			*handle = reply->track_handle;
		protobuf_c_message_free_unpacked(&reply->base, NULL);
	}
	return status;
}

static int track_delete(int fd, uint64_t handle)
{
	CmapStoreTrackDeleteRequest r = CMAP_STORE_TRACK_DELETE_REQUEST__INIT;

	r.track_handle = handle;
	return call(fd, TRACK_DELETE, &r.base, &cmap_store_track_delete_reply__descriptor);
}

static int select_map(int fd, int32_t map)
{
	CmapStoreSelectMapRequest r = CMAP_STORE_SELECT_MAP_REQUEST__INIT;

	r.map = map;
	return call(fd, SELECT_MAP, &r.base, &cmap_store_select_map_reply__descriptor);
}

/* The next notification on fd within timeout_ms; NULL when none. */
static CmapNotificationEvent *next_notification(int fd, int timeout_ms)
{
	ProtobufCMessage *event = NULL;

	if (raw_next_event(fd, cmap_events, 1, &event, timeout_ms) != 0)
		return NULL;
	return (CmapNotificationEvent *)event;
}

static void free_notification(CmapNotificationEvent *ev)
{
	protobuf_c_message_free_unpacked(&ev->base, NULL);
}

static void assert_no_notification(int fd)
{
	CmapNotificationEvent *ev = next_notification(fd, 100);

	if (ev)
		fail_msg("unexpected notification for %s (event %d)", ev->key_name, ev->event);
}

/* ---- values ------------------------------------------------------------ */

static void test_every_type_round_trips(void **state)
{
	static const size_t sizes[] = { 0, 1, 1, 2, 2, 4, 4, 8, 8, 4, 8 };
	const uint8_t bytes[9] = { 0xfe, 2, 3, 4, 5, 6, 7, 8, 9 };
	static struct value v;
	int fd = client();
	char key[32];

	for (int32_t type = T_INT8; type <= T_DOUBLE; type++) {
		snprintf(key, sizeof(key), "types.%d", type);
		assert_int_equal(set(fd, key, type, bytes, sizes[type] + 1), CS_ERR_INVALID_PARAM);
		assert_int_equal(set(fd, key, type, bytes, sizes[type] - 1), CS_ERR_INVALID_PARAM);
		assert_int_equal(set(fd, key, type, bytes, sizes[type]), CS_OK);
		assert_int_equal(get(fd, key, &v), CS_OK);
		assert_int_equal(v.type, type);
		assert_int_equal(v.len, sizes[type]);
		assert_memory_equal(v.bytes, bytes, sizes[type]);
	}
	assert_int_equal(set(fd, "types.binary", T_BINARY, "a\0b", 3), CS_OK);
	assert_int_equal(get(fd, "types.binary", &v), CS_OK);
	assert_int_equal(v.type, T_BINARY);
	assert_int_equal(v.len, 3);
	assert_memory_equal(v.bytes, "a\0b", 3);
	assert_int_equal(set(fd, "types.empty_binary", T_BINARY, "", 0), CS_OK);
	assert_int_equal(get(fd, "types.empty_binary", &v), CS_OK);
	assert_int_equal(v.len, 0);
	for (int32_t bad = -1; bad <= 13; bad += 14)
		assert_int_equal(set(fd, "types.bad", bad, bytes, 1), CS_ERR_INVALID_PARAM);
	assert_int_equal(set(fd, "types.bad", 0, bytes, 0), CS_ERR_INVALID_PARAM);
	assert_int_equal(get(fd, "types.bad", &v), CS_ERR_NOT_EXIST);
	close(fd);
}

/* The client sends the bytes it was given; the daemon applies the NUL rule. */
static void test_string_nul_rule(void **state)
{
	static struct value v;
	int fd = client();

	assert_int_equal(set(fd, "str.trunc", T_STRING, "abcdef", 3), CS_OK);
	assert_string_value(fd, "str.trunc", "abc");
	assert_int_equal(set(fd, "str.with_nul", T_STRING, "now-a-string", 13), CS_OK);
	assert_string_value(fd, "str.with_nul", "now-a-string");
	assert_int_equal(set(fd, "str.empty", T_STRING, "", 0), CS_OK);
	assert_int_equal(get(fd, "str.empty", &v), CS_OK);
	assert_int_equal(v.len, 1);
	assert_int_equal(v.bytes[0], 0);
	assert_int_equal(set(fd, "str.claims_more", T_STRING, "ab\0cd", 5), CS_ERR_INVALID_PARAM);
	assert_int_equal(set(fd, "str.up_to_nul", T_STRING, "ab\0cd", 3), CS_OK);
	assert_string_value(fd, "str.up_to_nul", "ab");
	close(fd);
}

static void test_value_length_limit(void **state)
{
	static uint8_t big[16385];
	static struct value v;
	int fd = client();

	memset(big, 'x', sizeof(big));
	assert_int_equal(set(fd, "big.binary", T_BINARY, big, 16384), CS_OK);
	assert_int_equal(get(fd, "big.binary", &v), CS_OK);
	assert_int_equal(v.len, 16384);
	assert_int_equal(set(fd, "big.binary", T_BINARY, big, 16385), CS_ERR_INVALID_PARAM);
	assert_int_equal(set(fd, "big.string", T_STRING, big, 16384), CS_OK);
	assert_int_equal(get(fd, "big.string", &v), CS_OK);
	assert_int_equal(v.len, 16385);
	assert_int_equal(set(fd, "big.string", T_STRING, big, 16385), CS_ERR_INVALID_PARAM);
	close(fd);
}

static void test_new_key_names(void **state)
{
	char name[260];
	int fd = client();

	assert_int_equal(set_u32(fd, "ab", 1), CS_ERR_NAME_TOO_LONG);
	assert_int_equal(set_u32(fd, "a b", 1), CS_ERR_NAME_TOO_LONG);
	assert_int_equal(set_u32(fd, "a@b", 1), CS_ERR_NAME_TOO_LONG);
	assert_int_equal(set_u32(fd, "", 1), CS_ERR_NAME_TOO_LONG);
	assert_int_equal(set_u32(fd, "abc", 1), CS_OK);
	assert_int_equal(set_u32(fd, "names.A-z_0.9/x:y", 1), CS_OK);
	memset(name, 'n', sizeof(name));
	name[255] = '\0';
	assert_int_equal(set_u32(fd, name, 1), CS_OK);
	assert_int_equal(del(fd, name), CS_OK);
	/* get, delete and inc of such names are simply missing */
	assert_int_equal(del(fd, "a b"), CS_ERR_NOT_EXIST);
	assert_int_equal(inc(fd, "ab"), CS_ERR_NOT_EXIST);
	/* 256 bytes break the declared bound: the library never sends them */
	name[255] = 'n';
	name[256] = '\0';
	assert_int_equal(set_u32(fd, name, 1), -1);
	assert_true(raw_closed_within(fd, EVENT_WAIT_MS));
	close(fd);
}

static void test_read_only_keys(void **state)
{
	static const char *const read_only[] = {
		"totem.cluster_name",
		"totem.version",
		"nodelist.node.0.nodeid",
		"nodelist.local_node_pos",
		"runtime.services.cmap.service_id",
		"internal_configuration.service.0.name",
		"runtime.config.conclave.max_connections",
	};
	int fd = client();

	for (size_t i = 0; i < sizeof(read_only) / sizeof(read_only[0]); i++) {
		assert_int_equal(set_u32(fd, read_only[i], 7), CS_ERR_ACCESS);
		assert_int_equal(del(fd, read_only[i]), CS_ERR_ACCESS);
		assert_int_equal(inc(fd, read_only[i]), CS_ERR_ACCESS);
		assert_int_equal(dec(fd, read_only[i]), CS_ERR_ACCESS);
	}
	/* creating under a read-only prefix, even with a bad name or type */
	assert_int_equal(set_u32(fd, "nodelist.node.9.nodeid", 9), CS_ERR_ACCESS);
	assert_int_equal(set_u32(fd, "nodelist.a b", 9), CS_ERR_ACCESS);
	assert_int_equal(set(fd, "system.x", 99, "", 0), CS_ERR_ACCESS);
	assert_int_equal(del(fd, "uidgid.config.uid.12345"), CS_ERR_ACCESS);
	assert_int_equal(get_number(fd, "totem.version", T_UINT32), 2);
	/* an exact rule is not a prefix */
	assert_int_equal(set_u32(fd, "totem.versions", 1), CS_OK);
	close(fd);
}

/* ---- inc and dec ------------------------------------------------------- */

static void check_wrap(int fd, int32_t type, size_t size, uint64_t start, bool up, uint64_t expected)
{
	assert_int_equal(set(fd, "wrap.value", type, &start, size), CS_OK);
	assert_int_equal(up ? inc(fd, "wrap.value") : dec(fd, "wrap.value"), CS_OK);
	assert_true(get_number(fd, "wrap.value", type) == expected);
}

static void test_inc_dec_wrap_around(void **state)
{
	int fd = client();
	float f = 1;

	check_wrap(fd, T_UINT8, 1, 255, true, 0);
	check_wrap(fd, T_UINT8, 1, 0, false, 255);
	check_wrap(fd, T_INT8, 1, 0x80, false, 0x7f); /* -128 - 1 = 127 */
	check_wrap(fd, T_INT8, 1, 0x7f, true, 0x80);
	check_wrap(fd, T_UINT16, 2, 0xffff, true, 0);
	check_wrap(fd, T_INT16, 2, 0x8000, false, 0x7fff);
	check_wrap(fd, T_UINT32, 4, 0xffffffff, true, 0);
	check_wrap(fd, T_INT32, 4, 0x80000000, false, 0x7fffffff);
	check_wrap(fd, T_UINT64, 8, UINT64_MAX, true, 0);
	check_wrap(fd, T_INT64, 8, 0x8000000000000000ull, false, 0x7fffffffffffffffull);
	check_wrap(fd, T_UINT32, 4, 41, true, 42);
	assert_int_equal(inc(fd, "wrap.missing"), CS_ERR_NOT_EXIST);
	assert_int_equal(set(fd, "wrap.float", T_FLOAT, &f, sizeof(f)), CS_OK);
	assert_int_equal(inc(fd, "wrap.float"), CS_ERR_INVALID_PARAM);
	assert_int_equal(set_string(fd, "wrap.string", "1"), CS_OK);
	assert_int_equal(dec(fd, "wrap.string"), CS_ERR_INVALID_PARAM);
	assert_int_equal(set(fd, "wrap.binary", T_BINARY, "1", 1), CS_OK);
	assert_int_equal(inc(fd, "wrap.binary"), CS_ERR_INVALID_PARAM);
	close(fd);
}

/* ---- iteration --------------------------------------------------------- */

static void test_iteration_order_and_prefix(void **state)
{
	static const char *const keys[] = { "it.tr.k2", "it.big", "it.Az09", "it.tr", "it.tr.k10", "it.trx" };
	static const char *const ordered[] = {
		"it.Az09", "it.big", "it.tr", "it.tr.k10", "it.tr.k2", "it.trx"
	};
	char key[256];
	uint64_t h, len;
	int32_t type;
	int fd = client();

	for (size_t i = 0; i < 6; i++)
		assert_int_equal(set_string(fd, keys[i], "value"), CS_OK);
	assert_int_equal(iter_init(fd, "it.", &h), CS_OK);
	for (size_t i = 0; i < 6; i++) {
		assert_int_equal(iter_next(fd, h, key, &len, &type), CS_OK);
		assert_string_equal(key, ordered[i]);
		assert_int_equal(len, 6);
		assert_int_equal(type, T_STRING);
	}
	assert_int_equal(iter_next(fd, h, key, NULL, NULL), CS_ERR_NO_SECTIONS);
	assert_int_equal(iter_next(fd, h, key, NULL, NULL), CS_ERR_NO_SECTIONS);
	assert_int_equal(iter_finalize(fd, h), CS_OK);
	/* a plain string prefix, not a component */
	assert_int_equal(iter_init(fd, "it.tr", &h), CS_OK);
	for (size_t i = 2; i < 6; i++) {
		assert_int_equal(iter_next(fd, h, key, NULL, NULL), CS_OK);
		assert_string_equal(key, ordered[i]);
	}
	assert_int_equal(iter_next(fd, h, key, NULL, NULL), CS_ERR_NO_SECTIONS);
	assert_int_equal(iter_finalize(fd, h), CS_OK);
	assert_int_equal(iter_init(fd, "no.such.prefix.", &h), CS_OK);
	assert_int_equal(iter_next(fd, h, key, NULL, NULL), CS_ERR_NO_SECTIONS);
	assert_int_equal(iter_finalize(fd, h), CS_OK);
	close(fd);
}

static void test_iteration_without_prefix_sees_the_configuration(void **state)
{
	char key[256], previous[256] = "";
	bool seen_cluster_name = false;
	uint64_t h;
	size_t n = 0;
	int fd = client();

	assert_int_equal(iter_init(fd, "", &h), CS_OK);
	while (iter_next(fd, h, key, NULL, NULL) == CS_OK) {
		assert_true(strcmp(previous, key) < 0);
		snprintf(previous, sizeof(previous), "%s", key);
		seen_cluster_name |= strcmp(key, "totem.cluster_name") == 0;
		n++;
	}
	assert_true(seen_cluster_name);
	assert_true(n > 20);
	assert_int_equal(iter_finalize(fd, h), CS_OK);
	close(fd);
}

static void test_iterator_handles(void **state)
{
	char key[256];
	uint64_t h, other_h;
	int fd = client(), other = client();

	assert_int_equal(set_u32(fd, "ih.key", 1), CS_OK);
	assert_int_equal(iter_init(fd, "ih.", &h), CS_OK);
	assert_int_equal(iter_next(fd, h + 1000, key, NULL, NULL), CS_ERR_BAD_HANDLE);
	assert_int_equal(iter_next(other, h, key, NULL, NULL), CS_ERR_BAD_HANDLE);
	assert_int_equal(iter_finalize(other, h), CS_ERR_BAD_HANDLE);
	assert_int_equal(iter_init(other, "ih.", &other_h), CS_OK);
	assert_int_equal(iter_finalize(fd, h), CS_OK);
	assert_int_equal(iter_finalize(fd, h), CS_ERR_BAD_HANDLE);
	assert_int_equal(iter_next(fd, h, key, NULL, NULL), CS_ERR_BAD_HANDLE);
	assert_int_equal(iter_next(other, other_h, key, NULL, NULL), CS_OK);
	assert_string_equal(key, "ih.key");
	close(fd);
	close(other);
}

/* A cursor: keys deleted meanwhile are skipped, keys added ahead are seen. */
static void test_iteration_across_changes(void **state)
{
	char key[256];
	uint64_t h;
	int fd = client();

	assert_int_equal(set_u32(fd, "ic.a", 1), CS_OK);
	assert_int_equal(set_u32(fd, "ic.b", 1), CS_OK);
	assert_int_equal(set_u32(fd, "ic.c", 1), CS_OK);
	assert_int_equal(iter_init(fd, "ic.", &h), CS_OK);
	assert_int_equal(iter_next(fd, h, key, NULL, NULL), CS_OK);
	assert_string_equal(key, "ic.a");
	assert_int_equal(del(fd, "ic.a"), CS_OK);
	assert_int_equal(del(fd, "ic.b"), CS_OK);
	assert_int_equal(set_u32(fd, "ic.bb", 1), CS_OK);
	assert_int_equal(iter_next(fd, h, key, NULL, NULL), CS_OK);
	assert_string_equal(key, "ic.bb");
	assert_int_equal(iter_next(fd, h, key, NULL, NULL), CS_OK);
	assert_string_equal(key, "ic.c");
	assert_int_equal(iter_next(fd, h, key, NULL, NULL), CS_ERR_NO_SECTIONS);
	close(fd);
}

static void test_iterator_limit(void **state)
{
	uint64_t h[9];
	int fd = client();

	for (int i = 0; i < 8; i++)
		assert_int_equal(iter_init(fd, "", &h[i]), CS_OK);
	assert_int_equal(iter_init(fd, "", &h[8]), CS_ERR_NO_RESOURCES);
	assert_int_equal(iter_finalize(fd, h[3]), CS_OK);
	assert_int_equal(iter_init(fd, "", &h[8]), CS_OK);
	close(fd);
	/* freed with the connection */
	fd = client();
	for (int i = 0; i < 8; i++)
		assert_int_equal(iter_init(fd, "", &h[i]), CS_OK);
	close(fd);
}

/* ---- tracking ---------------------------------------------------------- */

static CmapNotificationEvent *expect_notification(int fd, const char *key, int32_t event)
{
	CmapNotificationEvent *ev = next_notification(fd, EVENT_WAIT_MS);

	if (!ev)
		fail_msg("no notification for %s", key);
	assert_string_equal(ev->key_name, key);
	assert_int_equal(ev->event, event);
	return ev;
}

static void test_track_a_key_not_yet_existing(void **state)
{
	CmapNotificationEvent *ev;
	uint64_t handle;
	uint32_t value;
	int fd = client(), writer = client();

	assert_int_equal(track_add(fd, "tk.key", ALL_EVENTS, 77, &handle), CS_OK);
	assert_int_equal(set_u32(writer, "tk.key", 5), CS_OK);
	ev = expect_notification(fd, "tk.key", EV_ADD);
	assert_true(ev->track_id == 77);
	assert_true(ev->track_handle == handle);
	assert_int_equal(ev->new_type, T_UINT32);
	assert_int_equal(ev->new_value.len, 4);
	memcpy(&value, ev->new_value.data, 4);
	assert_int_equal(value, 5);
	assert_int_equal(ev->old_type, 0);
	assert_int_equal(ev->old_value.len, 0);
	free_notification(ev);
	/* the same value and type again: nothing happens */
	assert_int_equal(set_u32(writer, "tk.key", 5), CS_OK);
	assert_no_notification(fd);
	/* another type: a modification */
	assert_int_equal(set_string(writer, "tk.key", "five"), CS_OK);
	ev = expect_notification(fd, "tk.key", EV_MODIFY);
	assert_int_equal(ev->old_type, T_UINT32);
	assert_int_equal(ev->new_type, T_STRING);
	assert_int_equal(ev->new_value.len, 5);
	assert_string_equal((const char *)ev->new_value.data, "five");
	free_notification(ev);
	assert_int_equal(del(writer, "tk.key"), CS_OK);
	ev = expect_notification(fd, "tk.key", EV_DELETE);
	assert_int_equal(ev->new_type, 0);
	assert_int_equal(ev->new_value.len, 0);
	assert_int_equal(ev->old_type, T_STRING);
	assert_string_equal((const char *)ev->old_value.data, "five");
	free_notification(ev);
	/* not the neighbours */
	assert_int_equal(set_u32(writer, "tk.key2", 5), CS_OK);
	assert_int_equal(set_u32(writer, "tk.ke", 5), CS_OK);
	assert_no_notification(fd);
	close(fd);
	close(writer);
}

static void test_inc_notifies_old_and_new(void **state)
{
	CmapNotificationEvent *ev;
	int fd = client();

	assert_int_equal(set_u32(fd, "ti.counter", 9), CS_OK);
	assert_int_equal(track_add(fd, "ti.counter", EV_MODIFY, 1, NULL), CS_OK);
	assert_int_equal(inc(fd, "ti.counter"), CS_OK);
	ev = expect_notification(fd, "ti.counter", EV_MODIFY);
	assert_int_equal(ev->old_value.data[0], 9);
	assert_int_equal(ev->new_value.data[0], 10);
	free_notification(ev);
	close(fd);
}

static void test_track_types_filter_events(void **state)
{
	CmapNotificationEvent *ev;
	int fd = client();

	assert_int_equal(track_add(fd, "tf.key", EV_DELETE, 1, NULL), CS_OK);
	assert_int_equal(track_add(fd, "tf.key", 0, 2, NULL), CS_OK);
	assert_int_equal(set_u32(fd, "tf.key", 1), CS_OK);
	assert_int_equal(set_u32(fd, "tf.key", 2), CS_OK);
	assert_no_notification(fd);
	assert_int_equal(del(fd, "tf.key"), CS_OK);
	ev = expect_notification(fd, "tf.key", EV_DELETE);
	assert_true(ev->track_id == 1);
	free_notification(ev);
	assert_no_notification(fd);
	close(fd);
}

static void test_track_prefix(void **state)
{
	CmapNotificationEvent *ev;
	int fd = client(), writer = client();

	assert_int_equal(track_add(fd, "tp.tr.", ALL_EVENTS | TRACK_PREFIX, 1, NULL), CS_OK);
	assert_int_equal(set_u32(writer, "tp.tr", 1), CS_OK);
	assert_int_equal(set_u32(writer, "tp.trx", 1), CS_OK);
	assert_int_equal(set_u32(writer, "tp.tr.k10", 1), CS_OK);
	ev = expect_notification(fd, "tp.tr.k10", EV_ADD);
	free_notification(ev);
	assert_no_notification(fd);
	close(fd);
	close(writer);
}

/* Every matching track gets its own event, this connection's too: exact
 * tracks first, then prefixes from the longest; "" with PREFIX is all. */
static void test_every_matching_track_is_notified(void **state)
{
	static const uint64_t expected_ids[] = { 1, 2, 3, 4 };
	CmapNotificationEvent *ev;
	int fd = client(), other = client();

	assert_int_equal(track_add(fd, "", ALL_EVENTS | TRACK_PREFIX, 4, NULL), CS_OK);
	assert_int_equal(track_add(fd, "tm.", ALL_EVENTS | TRACK_PREFIX, 3, NULL), CS_OK);
	assert_int_equal(track_add(fd, "tm.key", ALL_EVENTS, 1, NULL), CS_OK);
	assert_int_equal(track_add(fd, "tm.key", ALL_EVENTS, 2, NULL), CS_OK);
	assert_int_equal(track_add(other, "tm.key", ALL_EVENTS, 9, NULL), CS_OK);
	assert_int_equal(set_u32(fd, "tm.key", 1), CS_OK);
	for (size_t i = 0; i < 4; i++) {
		ev = expect_notification(fd, "tm.key", EV_ADD);
		assert_true(ev->track_id == expected_ids[i]);
		free_notification(ev);
	}
	ev = expect_notification(other, "tm.key", EV_ADD);
	assert_true(ev->track_id == 9);
	free_notification(ev);
	close(fd);
	close(other);
}

static void test_track_add_and_delete_rules(void **state)
{
	uint64_t handles[9];
	int fd = client();

	assert_int_equal(track_add(fd, "tr.key", 0x10, 1, NULL), CS_ERR_INVALID_PARAM);
	assert_int_equal(track_add(fd, "tr.key", -1, 1, NULL), CS_ERR_INVALID_PARAM);
	for (int i = 0; i < 8; i++)
		assert_int_equal(track_add(fd, "tr.key", EV_ADD, (uint64_t)i, &handles[i]), CS_OK);
	assert_int_equal(track_add(fd, "tr.key", EV_ADD, 8, &handles[8]), CS_ERR_NO_RESOURCES);
	assert_int_equal(track_delete(fd, handles[2]), CS_OK);
	assert_int_equal(track_delete(fd, handles[2]), CS_ERR_BAD_HANDLE);
	assert_int_equal(track_delete(fd, 123456), CS_ERR_BAD_HANDLE);
	assert_int_equal(track_add(fd, "tr.key", EV_ADD, 8, &handles[8]), CS_OK);
	/* a deleted track is told nothing more */
	for (int i = 0; i < 9; i++)
		if (i != 2)
			assert_int_equal(track_delete(fd, handles[i]), CS_OK);
	assert_int_equal(set_u32(fd, "tr.key", 1), CS_OK);
	assert_no_notification(fd);
	close(fd);
}

/* ---- back-pressure ----------------------------------------------------- */

/* A tracker that does not read makes a change wait: the writer gets
 * TRY_AGAIN and nothing changes, until the tracker reads. (How much the
 * socket takes varies, so each step fills the queue anew.) */
static void test_full_tracker_holds_back_changes(void **state)
{
	int tracker, writer, status = CS_OK;
	uint32_t last_set = 0;
	uint64_t incs = 0;

	assert_int_equal(test_daemon_start(&own, SMALL_QUEUE_CONFIG), 0);
	tracker = raw_client(own.socket, "cmap");
	writer = raw_client(own.socket, "cmap");
	assert_int_equal(track_add(tracker, "bp.key", EV_ADD | EV_MODIFY, 1, NULL), CS_OK);
	for (uint32_t i = 1; i < 200000 && status == CS_OK; i++) {
		status = set_u32(writer, "bp.key", i);
		if (status == CS_OK)
			last_set = i;
	}
	assert_int_equal(status, CS_ERR_TRY_AGAIN);
	assert_true(get_number(writer, "bp.key", T_UINT32) == last_set);
	assert_int_equal(set_u32(writer, "bp.key", last_set), CS_OK); /* no change, no event */
	assert_int_equal(set_u32(writer, "bp.untracked", 1), CS_OK);
	while ((status = inc(writer, "bp.key")) == CS_OK)
		incs++;
	assert_int_equal(status, CS_ERR_TRY_AGAIN);
	assert_true(get_number(writer, "bp.key", T_UINT32) == last_set + incs);
	assert_true(raw_drain_events(tracker, 300) > 0);
	assert_int_equal(inc(writer, "bp.key"), CS_OK);
	assert_true(get_number(writer, "bp.key", T_UINT32) == last_set + incs + 1);
	close(tracker);
	close(writer);
}

/* Connections coming and going are the daemon's own changes to the stats
 * map: a tracker that cannot take them is closed, never skipped. */
static void test_full_tracker_of_daemon_changes_is_closed(void **state)
{
	int tracker, closed = 0;

	assert_int_equal(test_daemon_start(&own, SMALL_QUEUE_CONFIG), 0);
	tracker = raw_client(own.socket, "cmap");
	assert_int_equal(select_map(tracker, 1), CS_OK);
	assert_int_equal(track_add(tracker, "stats.ipcs.", EV_ADD | EV_DELETE | TRACK_PREFIX, 1, NULL),
			 CS_OK);
	for (int i = 0; i < 3000 && !closed; i++) {
		int fd = raw_client(own.socket, "quorum");

		assert_true(fd >= 0);
		close(fd);
		if (i % 100 == 99)
			closed = test_daemon_log_contains(&own, "cmap notification queue full", 50);
	}
	assert_true(closed);
	assert_true(raw_closed_within(tracker, EVENT_WAIT_MS));
	close(tracker);
}

/* ---- the stats map ----------------------------------------------------- */

/* The key of this process's connection fd: the first with our pid. */
static void own_stats_key(int fd, const char *field, char *key, size_t size)
{
	char prefix[64], found[256];
	uint64_t h;

	snprintf(prefix, sizeof(prefix), "stats.ipcs.service0.%d.", (int)getpid());
	assert_int_equal(iter_init(fd, prefix, &h), CS_OK);
	assert_int_equal(iter_next(fd, h, found, NULL, NULL), CS_OK);
	assert_int_equal(iter_finalize(fd, h), CS_OK);
	*strrchr(found, '.') = '\0';
	snprintf(key, size, "%s.%s", found, field);
}

static void test_stats_map_reads(void **state)
{
	static struct value v;
	char key[256];
	int fd = client();

	assert_int_equal(select_map(fd, 2), CS_ERR_NOT_EXIST);
	assert_int_equal(select_map(fd, -1), CS_ERR_NOT_EXIST);
	assert_int_equal(select_map(fd, 1), CS_OK);
	assert_true(get_number(fd, "stats.ipcs.global.active", T_UINT64) >= 1);
	get_number(fd, "stats.ipcs.global.closed", T_UINT64);
	assert_true(get_number(fd, "stats.conclave.cmap.connections", T_UINT64) >= 1);
	own_stats_key(fd, "procname", key, sizeof(key));
	assert_string_value(fd, key, "test_daemon_cma"); /* the kernel keeps 15 characters */
	own_stats_key(fd, "requests", key, sizeof(key));
	assert_true(get_number(fd, key, T_UINT64) >= 4);
	own_stats_key(fd, "queued", key, sizeof(key));
	assert_true(get_number(fd, key, T_UINT32) == 0);
	assert_int_equal(get(fd, "totem.cluster_name", &v), CS_ERR_NOT_EXIST); /* not the default map */
	close(fd);
}

static void test_stats_map_is_read_only_but_for_clear(void **state)
{
	int fd = client();

	assert_int_equal(select_map(fd, 1), CS_OK);
	assert_int_equal(set_u32(fd, "stats.ipcs.global.active", 1), CS_ERR_ACCESS);
	assert_int_equal(set_u32(fd, "stats.new.key", 1), CS_ERR_ACCESS);
	assert_int_equal(del(fd, "stats.ipcs.global.active"), CS_ERR_ACCESS);
	assert_int_equal(del(fd, "stats.no.such.key"), CS_ERR_ACCESS);
	assert_int_equal(inc(fd, "stats.ipcs.global.closed"), CS_ERR_ACCESS);
	assert_int_equal(dec(fd, "stats.ipcs.global.closed"), CS_ERR_ACCESS);
	/* any set of a known stats.clear.* clears; they cannot be read */
	assert_int_equal(set_u32(fd, "stats.clear.all", 1), CS_OK);
	assert_true(get_number(fd, "stats.conclave.cmap.requests", T_UINT64) <= 2);
	assert_int_equal(set_string(fd, "stats.clear.ipc", "now"), CS_OK);
	assert_int_equal(set_u32(fd, "stats.clear.knet", 1), CS_OK);
	assert_int_equal(set_u32(fd, "stats.clear.bogus", 1), CS_ERR_NOT_SUPPORTED);
	assert_int_equal(del(fd, "stats.clear.all"), CS_ERR_NOT_SUPPORTED);
	assert_int_equal(inc(fd, "stats.clear.ipc"), CS_ERR_NOT_SUPPORTED);
	{
		static struct value v;

		assert_int_equal(get(fd, "stats.clear.all", &v), CS_ERR_NOT_EXIST);
	}
	close(fd);
}

static void test_select_map_is_busy_with_iterators_or_tracks(void **state)
{
	uint64_t h;
	int fd = client();

	assert_int_equal(iter_init(fd, "", &h), CS_OK);
	assert_int_equal(select_map(fd, 1), CS_ERR_BUSY);
	assert_int_equal(select_map(fd, 0), CS_OK);
	assert_int_equal(iter_finalize(fd, h), CS_OK);
	assert_int_equal(track_add(fd, "x.y.z", EV_ADD, 1, &h), CS_OK);
	assert_int_equal(select_map(fd, 1), CS_ERR_BUSY);
	assert_int_equal(track_delete(fd, h), CS_OK);
	assert_int_equal(select_map(fd, 1), CS_OK);
	close(fd);
}

/* Counts notifications of event for keys under prefix: waits for
 * `expected` of them, then for any more until none came for 500 ms. */
static size_t count_notifications(int fd, int32_t event, const char *prefix, size_t expected)
{
	CmapNotificationEvent *ev;
	size_t n = 0;

	while ((ev = next_notification(fd, n < expected ? EVENT_WAIT_MS : 500)) != NULL) {
		if (ev->event == event && strncmp(ev->key_name, prefix, strlen(prefix)) == 0)
			n++;
		free_notification(ev);
	}
	return n;
}

static void test_stats_map_tracking(void **state)
{
	CmapNotificationEvent *ev;
	uint64_t old_value, new_value;
	int fd = client(), other;

	assert_int_equal(select_map(fd, 1), CS_OK);
	assert_int_equal(track_add(fd, "stats.ipcs.", EV_ADD | TRACK_PREFIX, 1, NULL), CS_ERR_NOT_SUPPORTED);
	assert_int_equal(track_add(fd, "stats.ipcs.", EV_MODIFY | EV_DELETE | TRACK_PREFIX, 1, NULL),
			 CS_ERR_NOT_SUPPORTED);
	assert_int_equal(track_add(fd, "stats.ipcs.", 0x10, 1, NULL), CS_ERR_INVALID_PARAM);
	assert_int_equal(track_add(fd, "stats.ipcs.service3.", EV_ADD | EV_DELETE | TRACK_PREFIX, 1, NULL),
			 CS_OK);
	other = raw_client(d.socket, "quorum");
	assert_true(other >= 0);
	assert_int_equal(count_notifications(fd, EV_ADD, "stats.ipcs.service3.", 13), 13);
	close(other);
	assert_int_equal(count_notifications(fd, EV_DELETE, "stats.ipcs.service3.", 13), 13);
	/* per key, modifications of computed values are polled */
	assert_int_equal(track_add(fd, "stats.conclave.cmap.requests", EV_MODIFY, 2, NULL), CS_OK);
	ev = next_notification(fd, EVENT_WAIT_MS);
	assert_non_null(ev);
	assert_string_equal(ev->key_name, "stats.conclave.cmap.requests");
	assert_int_equal(ev->event, EV_MODIFY);
	assert_true(ev->track_id == 2);
	/* corosync gives the new value as the old one too */
	memcpy(&old_value, ev->old_value.data, 8);
	memcpy(&new_value, ev->new_value.data, 8);
	assert_true(new_value > 0 && new_value == old_value);
	free_notification(ev);
	close(fd);
}

/* ---- the configuration and settings at run time ------------------------ */

static void test_configuration_keys(void **state)
{
	int fd = client();

	assert_string_value(fd, "totem.cluster_name", "test");
	assert_true(get_number(fd, "totem.version", T_UINT32) == 2);
	assert_true(get_number(fd, "totem.token", T_UINT32) == 3000);
	assert_string_value(fd, "logging.debug", "off");
	assert_string_value(fd, "quorum.provider", "corosync_votequorum");
	assert_true(get_number(fd, "nodelist.node.0.nodeid", T_UINT32) == 1);
	assert_true(get_number(fd, "nodelist.node.2.nodeid", T_UINT32) == 3);
	assert_string_value(fd, "nodelist.node.2.ring0_addr", "192.0.2.3");
	assert_true(get_number(fd, "nodelist.local_node_pos", T_UINT32) == 0);
	assert_string_value(fd, "runtime.members.1.status", "joined");
	assert_string_value(fd, "internal_configuration.service.0.name", "corosync_cmap");
	assert_true(get_number(fd, "runtime.services.votequorum.service_id", T_UINT16) == 5);
	assert_true(get_number(fd, "runtime.config.conclave.cmap_max_tracks", T_UINT32) == 8);
	assert_true(get_number(fd, "conclave.cmap_max_iterators", T_UINT32) == 8);
	close(fd);
}

#define NOBODY 65534

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
		status = raw_handshake(fd, "cmap");
		_exit(status < 0 ? 252 : status);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* corosync's uidgid.uid.N and uidgid.gid.N keys: u8 1 allows. */
static void test_uidgid_keys_at_run_time(void **state)
{
	const uint8_t one = 1, zero = 0;
	int fd;

	if (geteuid() != 0) {
		print_message("skipped: the allow-list test needs root to become nobody\n");
		skip();
	}
	fd = client();
	assert_int_equal(handshake_as_nobody(d.socket), CS_ERR_ACCESS);
	assert_int_equal(set(fd, "uidgid.uid.65534", T_UINT8, &one, 1), CS_OK);
	assert_int_equal(handshake_as_nobody(d.socket), CS_OK);
	assert_int_equal(set(fd, "uidgid.uid.65534", T_UINT8, &zero, 1), CS_OK);
	assert_int_equal(handshake_as_nobody(d.socket), CS_ERR_ACCESS);
	assert_int_equal(del(fd, "uidgid.uid.65534"), CS_OK);
	assert_int_equal(set(fd, "uidgid.gid.65534", T_UINT8, &one, 1), CS_OK);
	assert_int_equal(handshake_as_nobody(d.socket), CS_OK);
	assert_int_equal(del(fd, "uidgid.gid.65534"), CS_OK);
	assert_int_equal(handshake_as_nobody(d.socket), CS_ERR_ACCESS);
	close(fd);
}

/* conclave.cmap_max_bytes bounds what clients store, keys and values. */
static void test_byte_budget(void **state)
{
	static uint8_t value[16384];
	char key[32];
	int fd, status = CS_OK, stored = 0;

	assert_int_equal(test_daemon_start(&own, "conclave {\n\tcmap_max_bytes: 65536\n}\n"), 0);
	fd = raw_client(own.socket, "cmap");
	while (status == CS_OK && stored < 10) {
		snprintf(key, sizeof(key), "budget.%d", stored);
		status = set(fd, key, T_BINARY, value, sizeof(value));
		stored += status == CS_OK;
	}
	assert_int_equal(status, CS_ERR_NO_RESOURCES);
	assert_true(stored >= 2);
	assert_int_equal(set(fd, "budget.small", T_BINARY, value, 100), CS_OK);
	assert_int_equal(del(fd, "budget.0"), CS_OK);
	assert_int_equal(set(fd, key, T_BINARY, value, sizeof(value)), CS_OK);
	close(fd);
}

/* ---- votequorum follows cmap ------------------------------------------- */

enum { VQ_GETINFO = 0, VQ_TRACKSTART = 3 };
enum { VQ_EV_QUORUM, VQ_EV_NODELIST, VQ_EV_EXPECTED };

static const ProtobufCMessageDescriptor *const vq_events[] = {
	&votequorum_quorum_notification_event__descriptor,
	&votequorum_nodelist_notification_event__descriptor,
	&votequorum_expectedvotes_notification_event__descriptor,
};

static int vq_tracker(const char *socket_path)
{
	VotequorumTrackstartRequest r = VOTEQUORUM_TRACKSTART_REQUEST__INIT;
	int fd = raw_client(socket_path, "votequorum");

	assert_true(fd >= 0);
	r.flags = CS_TRACK_CHANGES_ONLY;
	r.context = 42;
	assert_int_equal(call(fd, VQ_TRACKSTART, &r.base, &votequorum_trackstart_reply__descriptor), CS_OK);
	return fd;
}

static void vq_getinfo(int fd, uint32_t *expected, uint32_t *quorum)
{
	VotequorumGetinfoRequest r = VOTEQUORUM_GETINFO_REQUEST__INIT;
	VotequorumGetinfoReply *reply;

	assert_int_equal(raw_call(fd, VQ_GETINFO, &r.base, &votequorum_getinfo_reply__descriptor,
				  (ProtobufCMessage **)&reply),
			 CS_OK);
	*expected = reply->info->node_expected_votes;
	*quorum = reply->info->quorum;
	protobuf_c_message_free_unpacked(&reply->base, NULL);
}

static void expect_vq_expected(int fd, uint32_t expected_votes)
{
	ProtobufCMessage *event;

	assert_int_equal(raw_next_event(fd, vq_events, 3, &event, EVENT_WAIT_MS), VQ_EV_EXPECTED);
	assert_int_equal(((VotequorumExpectedvotesNotificationEvent *)event)->expected_votes, expected_votes);
	assert_true(((VotequorumExpectedvotesNotificationEvent *)event)->context == 42);
	protobuf_c_message_free_unpacked(event, NULL);
}

static void expect_vq_quorate(int fd, bool quorate)
{
	ProtobufCMessage *event;

	assert_int_equal(raw_next_event(fd, vq_events, 3, &event, EVENT_WAIT_MS), VQ_EV_QUORUM);
	assert_int_equal(((VotequorumQuorumNotificationEvent *)event)->quorate, quorate);
	protobuf_c_message_free_unpacked(event, NULL);
}

static void assert_no_vq_event(int fd)
{
	ProtobufCMessage *event = NULL;

	if (raw_next_event(fd, vq_events, 3, &event, 200) >= 0) {
		protobuf_c_message_free_unpacked(event, NULL);
		fail_msg("unexpected votequorum event");
	}
}

/* As in corosync: votequorum tracks quorum.* and recalculates when
 * quorum.expected_votes changes, down to its trackers. */
static void test_expected_votes_changed_through_cmap(void **state)
{
	uint32_t expected, quorum;
	int vq = vq_tracker(d.socket), fd = client();

	vq_getinfo(vq, &expected, &quorum);
	assert_int_equal(expected, 3); /* three nodes, only this one up */
	assert_int_equal(quorum, 2);
	assert_true(get_number(fd, "runtime.votequorum.ev_barrier", T_UINT32) == 3);
	assert_true(get_number(fd, "runtime.votequorum.this_node_id", T_UINT32) == 1);
	/* corosync's reconfigure message: expected votes, then the quorum they make */
	assert_int_equal(set_u32(fd, "quorum.expected_votes", 1), CS_OK);
	expect_vq_expected(vq, 1);
	expect_vq_quorate(vq, true);
	vq_getinfo(vq, &expected, &quorum);
	assert_int_equal(expected, 1);
	assert_int_equal(quorum, 1);
	assert_true(get_number(fd, "runtime.votequorum.ev_barrier", T_UINT32) == 1);
	assert_true(get_number(fd, "runtime.votequorum.lowest_node_id", T_UINT32) == 1);
	/* corosync reads the map for a deletion before the key goes: nothing
	 * changes until the next change of quorum.* */
	assert_int_equal(del(fd, "quorum.expected_votes"), CS_OK);
	assert_no_vq_event(vq);
	/* a key of another type is as good as absent, as for corosync: the node
	 * list's votes count again, and corosync's node message loses quorum
	 * before its reconfigure message sets expected votes */
	assert_int_equal(set_string(fd, "quorum.expected_votes", "1"), CS_OK);
	expect_vq_quorate(vq, false);
	expect_vq_expected(vq, 3);
	assert_no_vq_event(vq);
	vq_getinfo(vq, &expected, &quorum);
	assert_int_equal(expected, 3);
	assert_int_equal(del(fd, "quorum.expected_votes"), CS_OK);
	close(vq);
	close(fd);
}

#define THREE_NODES_SMALL_QUEUE                                                 \
	"quorum {\n\tprovider: corosync_votequorum\n}\n"                        \
	"nodelist {\n\tnode {\n\t\tnodeid: 1\n\t\tring0_addr: 127.0.0.1\n\t}\n" \
	"\tnode {\n\t\tnodeid: 2\n\t\tring0_addr: 192.0.2.2\n\t}\n"             \
	"\tnode {\n\t\tnodeid: 3\n\t\tring0_addr: 192.0.2.3\n\t}\n}\n"          \
	"conclave {\n\tmax_message_size: 4096\n\tmax_queued_bytes: 8192\n\tlog_rate_burst: 0\n}\n"

/* A votequorum tracker that does not read holds back a cmap change whose
 * consequences it would be told of. */
static void test_full_votequorum_tracker_holds_back_cmap_changes(void **state)
{
	int vq, fd, status = CS_OK;
	uint32_t expected, quorum, i;

	assert_int_equal(test_daemon_start(&own, THREE_NODES_SMALL_QUEUE), 0);
	vq = vq_tracker(own.socket);
	fd = raw_client(own.socket, "cmap");
	for (i = 0; i < 200000 && status == CS_OK; i++)
		status = set_u32(fd, "quorum.expected_votes", 3 + i % 2);
	assert_int_equal(status, CS_ERR_TRY_AGAIN);
	assert_true(get_number(fd, "quorum.expected_votes", T_UINT32) == 3 + (i - 2) % 2);
	/* reading the reply reads the events queued before it */
	vq_getinfo(vq, &expected, &quorum);
	assert_int_equal(expected, 3 + (i - 2) % 2); /* unchanged by the refused set */
	raw_forget_events(vq);
	assert_int_equal(set_u32(fd, "quorum.expected_votes", 5), CS_OK);
	close(vq);
	close(fd);
}

/* ---- reloading the configuration --------------------------------------- */

#define RELOAD_NODES(votes)                                                                                  \
	"nodelist {\n\tnode {\n\t\tnodeid: 1\n\t\tring0_addr: 127.0.0.1\n\t\tquorum_votes: " votes "\n\t}\n" \
	"\tnode {\n\t\tnodeid: 2\n\t\tring0_addr: 192.0.2.2\n\t}\n"                                          \
	"\tnode {\n\t\tnodeid: 3\n\t\tring0_addr: 192.0.2.3\n\t}\n}\n"
#define RELOAD_QUORUM "quorum {\n\tprovider: corosync_votequorum\n}\n"
#define RELOAD_BEFORE                                                                             \
	"totem {\n\ttoken: 3000\n}\nlogging {\n\tdebug: off\n}\n" RELOAD_QUORUM RELOAD_NODES("1") \
		CONCLAVE_LIMITS
#define RELOAD_AFTER "totem {\n\ttoken: 5000\n}\n" RELOAD_QUORUM RELOAD_NODES("2") CONCLAVE_LIMITS

static void rewrite_config(const char *text)
{
	FILE *f = fopen(own.config, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void reload(const char *text, const char *expected_log)
{
	rewrite_config(text);
	assert_int_equal(kill(own.pid, SIGHUP), 0);
	assert_true(test_daemon_log_contains(&own, expected_log, EVENT_WAIT_MS));
}

/* SIGHUP replaces the file's keys in cmap, once, and votequorum follows
 * the new votes when the reload is over. */
static void test_reload_replaces_the_file_keys(void **state)
{
	static struct value v;
	uint32_t expected, quorum;
	int vq, fd;

	assert_int_equal(test_daemon_start(&own, RELOAD_BEFORE), 0);
	vq = vq_tracker(own.socket);
	fd = raw_client(own.socket, "cmap");
	assert_int_equal(set_u32(fd, "my.own.key", 1), CS_OK);
	reload(RELOAD_AFTER, "configuration reloaded");
	assert_true(get_number(fd, "nodelist.node.0.quorum_votes", T_UINT32) == 2);
	assert_true(get_number(fd, "totem.token", T_UINT32) == 5000);
	assert_int_equal(get(fd, "logging.debug", &v), CS_ERR_NOT_EXIST);
	assert_true(get_number(fd, "my.own.key", T_UINT32) == 1);
	assert_true(get_number(fd, "config.reload_in_progress", T_UINT8) == 0);
	/* once, when the reload is over; quorate stays as it was, so only
	 * expected votes are notified, as in corosync */
	expect_vq_expected(vq, 4);
	assert_no_vq_event(vq);
	vq_getinfo(vq, &expected, &quorum);
	assert_int_equal(expected, 4);
	assert_int_equal(quorum, 3);
	reload("totem {\n\ttoken: 3s\n}\n", "configuration not reloaded");
	assert_true(get_number(fd, "totem.token", T_UINT32) == 5000);
	reload(RELOAD_QUORUM "nodelist {\n\tnode {\n\t\tnodeid: 1\n\t\tring0_addr: 127.0.0.1\n\t}\n}\n",
	       "the nodes changed");
	/* each service checks the file with its own settings */
	reload(RELOAD_NODES("3"), "the quorum provider changed: restart conclaved");
	reload(RELOAD_QUORUM RELOAD_NODES("3") "conclave {\n\tcmap_max_tracks: 0\n}\n",
	       "error: invalid value '0' for cmap_max_tracks");
	reload(RELOAD_QUORUM RELOAD_NODES("3") "conclave {\n\tevs_max_joins: x\n}\n",
	       "error: invalid value 'x' for evs_max_joins");
	reload(RELOAD_QUORUM RELOAD_NODES("3") "conclave {\n\tcpg_max_message_size: 1073741825\n}\n",
	       "error: invalid value '1073741825' for cpg_max_message_size");
	reload("quorum {\n\tprovider: corosync_votequorum\n\ttwo_node: 2\n}\n" RELOAD_NODES("3"),
	       "error: invalid value '2' for two_node");
	reload(RELOAD_QUORUM RELOAD_NODES("3") "conclave {\n\tcmap_max_trucks: 5\n}\n",
	       "error: unknown key 'cmap_max_trucks' in section conclave");
	assert_true(get_number(fd, "nodelist.node.0.quorum_votes", T_UINT32) == 2);
	close(vq);
	close(fd);
}

/* Without a file votequorum is the provider: it says so in cmap, and keeps
 * the options corosync fixes at start read-only. */
static void test_votequorum_keys_without_a_file(void **state)
{
	int fd;

	assert_int_equal(test_daemon_start(&own, NULL), 0);
	fd = raw_client(own.socket, "cmap");
	assert_string_value(fd, "quorum.provider", "corosync_votequorum");
	assert_int_equal(set_u32(fd, "quorum.wait_for_all", 1), CS_ERR_ACCESS);
	assert_int_equal(set_u32(fd, "quorum.auto_tie_breaker_node", 1), CS_ERR_ACCESS);
	assert_int_equal(set_u32(fd, "quorum.expected_votes", 1), CS_OK);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest shared[] = {
		cmocka_unit_test(test_every_type_round_trips),
		cmocka_unit_test(test_string_nul_rule),
		cmocka_unit_test(test_value_length_limit),
		cmocka_unit_test(test_new_key_names),
		cmocka_unit_test(test_read_only_keys),
		cmocka_unit_test(test_inc_dec_wrap_around),
		cmocka_unit_test(test_iteration_order_and_prefix),
		cmocka_unit_test(test_iteration_without_prefix_sees_the_configuration),
		cmocka_unit_test(test_iterator_handles),
		cmocka_unit_test(test_iteration_across_changes),
		cmocka_unit_test(test_iterator_limit),
		cmocka_unit_test(test_track_a_key_not_yet_existing),
		cmocka_unit_test(test_inc_notifies_old_and_new),
		cmocka_unit_test(test_track_types_filter_events),
		cmocka_unit_test(test_track_prefix),
		cmocka_unit_test(test_every_matching_track_is_notified),
		cmocka_unit_test(test_track_add_and_delete_rules),
		cmocka_unit_test(test_stats_map_reads),
		cmocka_unit_test(test_stats_map_is_read_only_but_for_clear),
		cmocka_unit_test(test_select_map_is_busy_with_iterators_or_tracks),
		cmocka_unit_test(test_stats_map_tracking),
		cmocka_unit_test(test_configuration_keys),
		cmocka_unit_test(test_uidgid_keys_at_run_time),
		cmocka_unit_test(test_expected_votes_changed_through_cmap),
	};
	const struct CMUnitTest own_daemon[] = {
		cmocka_unit_test_teardown(test_full_tracker_holds_back_changes, stop_own),
		cmocka_unit_test_teardown(test_byte_budget, stop_own),
		cmocka_unit_test_teardown(test_full_tracker_of_daemon_changes_is_closed, stop_own),
		cmocka_unit_test_teardown(test_full_votequorum_tracker_holds_back_cmap_changes, stop_own),
		cmocka_unit_test_teardown(test_reload_replaces_the_file_keys, stop_own),
		cmocka_unit_test_teardown(test_votequorum_keys_without_a_file, stop_own),
	};
	int failed;

	signal(SIGPIPE, SIG_IGN);
	failed = cmocka_run_group_tests_name("cmap", shared, start_shared, stop_shared);
	return failed + cmocka_run_group_tests_name("cmap_limits", own_daemon, NULL, NULL);
}
