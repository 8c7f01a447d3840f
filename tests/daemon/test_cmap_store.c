/* The cmap store on its own: the ordered tree, the value and name rules,
 * read-only rules, inc/dec, cursors, and the tracking index. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <conclave/cmap-store.h>

#include "cmap-tree.h"

/* ---- helpers ----------------------------------------------------------- */

struct seen_event {
	char key[CMAP_STORE_KEY_MAX + 1];
	const char *track;
	int32_t event;
	struct cmap_value old_value, new_value;
	uint8_t old_bytes[64], new_bytes[64];
};

#define MAX_SEEN 32

static struct seen_event seen[MAX_SEEN];
static size_t n_seen;

static void keep_value(struct cmap_value *to, uint8_t *buffer, const struct cmap_value *from)
{
	*to = *from;
	if (from->bytes && from->len <= 64) {
		memcpy(buffer, from->bytes, from->len);
		to->bytes = buffer;
	}
}

static void record(struct cmap_track *t, const struct cmap_change *c)
{
	struct seen_event *e = &seen[n_seen++];

	assert_true(n_seen <= MAX_SEEN);
	snprintf(e->key, sizeof(e->key), "%s", c->key);
	e->track = cmap_track_owner(t);
	e->event = c->event;
	keep_value(&e->old_value, e->old_bytes, &c->old_value);
	keep_value(&e->new_value, e->new_bytes, &c->new_value);
}

static const struct cmap_track_ops client_ops = { .deliver = record };
static const struct cmap_track_ops internal_ops = { .deliver = record, .internal = true };

static int set(struct cmap_store *s, const char *key, int32_t type, const void *bytes, size_t len)
{
	struct cmap_change c;
	cs_error_t err = cmap_change_set(&c, s, key, type, bytes, len, CMAP_FROM_CLIENT);

	if (err == CS_OK)
		cmap_change_commit(&c);
	return err;
}

static int set_u32(struct cmap_store *s, const char *key, uint32_t v)
{
	return set(s, key, CMAP_STORE_UINT32, &v, sizeof(v));
}

static int delete (struct cmap_store *s, const char *key)
{
	struct cmap_change c;
	cs_error_t err = cmap_change_delete(&c, s, key, CMAP_FROM_CLIENT);

	if (err == CS_OK)
		cmap_change_commit(&c);
	return err;
}

static int adjust(struct cmap_store *s, const char *key, int step)
{
	struct cmap_change c;
	cs_error_t err = cmap_change_adjust(&c, s, key, step, CMAP_FROM_CLIENT);

	if (err == CS_OK)
		cmap_change_commit(&c);
	return err;
}

static struct cmap_value get(struct cmap_store *s, const char *key)
{
	static uint8_t scratch[CMAP_COMPUTED_MAX];
	struct cmap_value v = { 0 };

	assert_int_equal(cmap_store_get(s, key, &v, scratch), CS_OK);
	return v;
}

static int setup(void **state)
{
	*state = cmap_store_new(0);
	n_seen = 0;
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	cmap_store_free(*state);
	return 0;
}

/* ---- the tree ---------------------------------------------------------- */

struct test_node {
	struct cmap_node node;
	char key[16];
	bool present;
};

static void test_tree_random_operations(void **state)
{
	enum { N = 2000 };
	static struct test_node nodes[N];
	struct cmap_tree tree = { 0 };
	size_t present = 0;

	srand(7);
	for (int i = 0; i < N; i++) {
		snprintf(nodes[i].key, sizeof(nodes[i].key), "k%d", rand() % 100000 * N + i);
		nodes[i].node.key = nodes[i].key;
		nodes[i].present = false;
	}
	for (int round = 0; round < 20000; round++) {
		struct test_node *n = &nodes[rand() % N];

		if (n->present)
			cmap_tree_remove(&tree, &n->node), present--;
		else
			cmap_tree_insert(&tree, &n->node), present++;
		n->present = !n->present;
		if (round % 500 == 0)
			assert_int_equal(cmap_tree_check(&tree), (long)present);
	}
	assert_int_equal(cmap_tree_check(&tree), (long)present);
	for (int i = 0; i < N; i++)
		assert_true((cmap_tree_find(&tree, nodes[i].key) != NULL) == nodes[i].present);
}

static void test_tree_order_and_lower_bound(void **state)
{
	static const char *const keys[] = { "tr.k2", "big", "Az09", "tr", "tr.k10", "a" };
	struct test_node nodes[6];
	struct cmap_tree tree = { 0 };
	const struct cmap_node *n;
	const char *expected[] = { "Az09", "a", "big", "tr", "tr.k10", "tr.k2" };
	size_t i = 0;

	for (size_t k = 0; k < 6; k++) {
		snprintf(nodes[k].key, sizeof(nodes[k].key), "%s", keys[k]);
		nodes[k].node.key = nodes[k].key;
		cmap_tree_insert(&tree, &nodes[k].node);
	}
	for (n = cmap_tree_first(&tree); n; n = cmap_tree_next(n))
		assert_string_equal(n->key, expected[i++]);
	assert_int_equal(i, 6);
	assert_string_equal(cmap_tree_lower_bound(&tree, "b", false)->key, "big");
	assert_string_equal(cmap_tree_lower_bound(&tree, "big", false)->key, "big");
	assert_string_equal(cmap_tree_lower_bound(&tree, "big", true)->key, "tr");
	assert_null(cmap_tree_lower_bound(&tree, "tr.k2", true));
	assert_string_equal(cmap_tree_lower_bound(&tree, "", false)->key, "Az09");
}

/* ---- values ------------------------------------------------------------ */

static void test_every_type_round_trips(void **state)
{
	struct cmap_store *s = *state;
	uint8_t bytes[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	for (int32_t type = CMAP_STORE_INT8; type <= CMAP_STORE_DOUBLE; type++) {
		char key[32];
		size_t size = (size_t)cmap_type_size(type);
		struct cmap_value v;

		snprintf(key, sizeof(key), "type.%d", type);
		assert_int_equal(set(s, key, type, bytes, size + 1), CS_ERR_INVALID_PARAM);
		assert_int_equal(set(s, key, type, bytes, size - 1), CS_ERR_INVALID_PARAM);
		assert_int_equal(set(s, key, type, bytes, size), CS_OK);
		v = get(s, key);
		assert_int_equal(v.type, type);
		assert_int_equal(v.len, size);
		assert_memory_equal(v.bytes, bytes, size);
	}
	assert_int_equal(set(s, "type.bin", CMAP_STORE_BINARY, "a\0b", 3), CS_OK);
	assert_int_equal(get(s, "type.bin").len, 3);
	assert_memory_equal(get(s, "type.bin").bytes, "a\0b", 3);
	assert_int_equal(set(s, "type.bad", 0, bytes, 1), CS_ERR_INVALID_PARAM);
	assert_int_equal(set(s, "type.bad", 13, bytes, 1), CS_ERR_INVALID_PARAM);
}

static void test_string_nul_rules(void **state)
{
	struct cmap_store *s = *state;

	assert_int_equal(set(s, "str.trunc", CMAP_STORE_STRING, "abcdef", 3), CS_OK);
	assert_int_equal(get(s, "str.trunc").len, 4);
	assert_string_equal((const char *)get(s, "str.trunc").bytes, "abc");
	assert_int_equal(set(s, "str.full", CMAP_STORE_STRING, "now-a-string", 13), CS_OK);
	assert_int_equal(get(s, "str.full").len, 13);
	assert_int_equal(set(s, "str.empty", CMAP_STORE_STRING, "", 0), CS_OK);
	assert_int_equal(get(s, "str.empty").len, 1);
	assert_int_equal(set(s, "str.empty", CMAP_STORE_STRING, "", 1), CS_OK);
	/* more bytes claimed than the string has up to its NUL */
	assert_int_equal(set(s, "str.bad", CMAP_STORE_STRING, "ab\0cd", 5), CS_ERR_INVALID_PARAM);
	assert_int_equal(set(s, "str.ok", CMAP_STORE_STRING, "ab\0cd", 3), CS_OK);
	assert_int_equal(get(s, "str.ok").len, 3);
}

static void test_value_length_limit(void **state)
{
	struct cmap_store *s = *state;
	static uint8_t big[CMAP_STORE_VALUE_MAX + 1];

	memset(big, 'x', sizeof(big));
	assert_int_equal(set(s, "big.bin", CMAP_STORE_BINARY, big, 16384), CS_OK);
	assert_int_equal(get(s, "big.bin").len, 16384);
	assert_int_equal(set(s, "big.bin", CMAP_STORE_BINARY, big, 16385), CS_ERR_INVALID_PARAM);
	assert_int_equal(set(s, "big.str", CMAP_STORE_STRING, big, 16384), CS_OK);
	assert_int_equal(get(s, "big.str").len, 16385);
	assert_int_equal(set(s, "big.str", CMAP_STORE_STRING, big, 16385), CS_ERR_INVALID_PARAM);
}

static void test_key_names_checked_when_created(void **state)
{
	struct cmap_store *s = *state;
	char name[300];

	assert_int_equal(set_u32(s, "ab", 1), CS_ERR_NAME_TOO_LONG);
	assert_int_equal(set_u32(s, "a b", 1), CS_ERR_NAME_TOO_LONG);
	assert_int_equal(set_u32(s, "a@b", 1), CS_ERR_NAME_TOO_LONG);
	assert_int_equal(set_u32(s, "abc", 1), CS_OK);
	assert_int_equal(set_u32(s, "a.b_c-d/e:f09AZ", 1), CS_OK);
	memset(name, 'n', sizeof(name));
	name[255] = '\0';
	assert_int_equal(set_u32(s, name, 1), CS_OK);
	name[255] = 'n';
	name[256] = '\0';
	assert_int_equal(set_u32(s, name, 1), CS_ERR_NAME_TOO_LONG);
	/* get, delete and inc of such names are just missing */
	assert_int_equal(delete (s, "a b"), CS_ERR_NOT_EXIST);
	assert_int_equal(adjust(s, "ab", 1), CS_ERR_NOT_EXIST);
	assert_int_equal(cmap_store_write_u32(s, "a b", 1), CS_ERR_NAME_TOO_LONG);
}

static void test_read_only_rules(void **state)
{
	struct cmap_store *s = *state;

	assert_int_equal(cmap_store_add_ro(s, "runtime.services.", true), 0);
	assert_int_equal(cmap_store_add_ro(s, "totem.cluster_name", false), 0);
	assert_int_equal(cmap_store_write_string(s, "totem.cluster_name", "c"), CS_OK);
	assert_int_equal(cmap_store_write_u32(s, "runtime.services.x", 1), CS_OK);
	assert_int_equal(set_u32(s, "runtime.services.x", 2), CS_ERR_ACCESS);
	assert_int_equal(set_u32(s, "runtime.services.new", 2), CS_ERR_ACCESS);
	assert_int_equal(set_u32(s, "runtime.services.a b", 2), CS_ERR_ACCESS); /* before the name */
	assert_int_equal(delete (s, "runtime.services.x"), CS_ERR_ACCESS);
	assert_int_equal(delete (s, "runtime.services.missing"), CS_ERR_ACCESS);
	assert_int_equal(adjust(s, "runtime.services.x", 1), CS_ERR_ACCESS);
	assert_int_equal(set(s, "totem.cluster_name", CMAP_STORE_STRING, "d", 1), CS_ERR_ACCESS);
	assert_int_equal(set_u32(s, "totem.cluster_namex", 1), CS_OK); /* exact, not a prefix */
	assert_int_equal(set_u32(s, "runtime.servicesx", 1), CS_OK);
}

/* ---- inc and dec ------------------------------------------------------- */

static void check_wrap(struct cmap_store *s, int32_t type, uint64_t start, int step, uint64_t expected)
{
	size_t size = (size_t)cmap_type_size(type);
	uint64_t got = 0;
	uint8_t bytes[8];

	/* the value's own width in host order, as a client sends it */
	switch (size) {
	case 1: {
		uint8_t v = (uint8_t)start;
		memcpy(bytes, &v, 1);
		break;
	}
	case 2: {
		uint16_t v = (uint16_t)start;
		memcpy(bytes, &v, 2);
		break;
	}
	case 4: {
		uint32_t v = (uint32_t)start;
		memcpy(bytes, &v, 4);
		break;
	}
	default:
		memcpy(bytes, &start, 8);
		break;
	}
	assert_int_equal(set(s, "wrap.key", type, bytes, size), CS_OK);
	assert_int_equal(adjust(s, "wrap.key", step), CS_OK);
	switch (size) {
	case 1: {
		uint8_t v;
		memcpy(&v, get(s, "wrap.key").bytes, 1);
		got = v;
		break;
	}
	case 2: {
		uint16_t v;
		memcpy(&v, get(s, "wrap.key").bytes, 2);
		got = v;
		break;
	}
	case 4: {
		uint32_t v;
		memcpy(&v, get(s, "wrap.key").bytes, 4);
		got = v;
		break;
	}
	default:
		memcpy(&got, get(s, "wrap.key").bytes, 8);
		break;
	}
	assert_int_equal(get(s, "wrap.key").type, type);
	assert_true(got == expected);
}

static void test_inc_dec_wrap_every_integer_type(void **state)
{
	struct cmap_store *s = *state;

	check_wrap(s, CMAP_STORE_UINT8, 255, 1, 0);
	check_wrap(s, CMAP_STORE_UINT8, 0, -1, 255);
	check_wrap(s, CMAP_STORE_INT8, 0x80, -1, 0x7f); /* -128 - 1 = 127 */
	check_wrap(s, CMAP_STORE_INT8, 0x7f, 1, 0x80);  /* 127 + 1 = -128 */
	check_wrap(s, CMAP_STORE_UINT16, 0xffff, 1, 0);
	check_wrap(s, CMAP_STORE_INT16, 0x8000, -1, 0x7fff);
	check_wrap(s, CMAP_STORE_UINT32, 0xffffffffu, 1, 0);
	check_wrap(s, CMAP_STORE_INT32, 0x7fffffffu, 1, 0x80000000u);
	check_wrap(s, CMAP_STORE_UINT64, UINT64_MAX, 1, 0);
	check_wrap(s, CMAP_STORE_INT64, 0, -1, UINT64_MAX);
	check_wrap(s, CMAP_STORE_UINT32, 41, 1, 42);
	check_wrap(s, CMAP_STORE_UINT32, 41, -1, 40);
}

static void test_inc_refuses_non_integers(void **state)
{
	struct cmap_store *s = *state;
	float f = 1;
	double d = 1;

	assert_int_equal(adjust(s, "no.such.key", 1), CS_ERR_NOT_EXIST);
	assert_int_equal(set(s, "v.float", CMAP_STORE_FLOAT, &f, sizeof(f)), CS_OK);
	assert_int_equal(set(s, "v.double", CMAP_STORE_DOUBLE, &d, sizeof(d)), CS_OK);
	assert_int_equal(set(s, "v.string", CMAP_STORE_STRING, "1", 1), CS_OK);
	assert_int_equal(set(s, "v.binary", CMAP_STORE_BINARY, "1", 1), CS_OK);
	assert_int_equal(adjust(s, "v.float", 1), CS_ERR_INVALID_PARAM);
	assert_int_equal(adjust(s, "v.double", 1), CS_ERR_INVALID_PARAM);
	assert_int_equal(adjust(s, "v.string", -1), CS_ERR_INVALID_PARAM);
	assert_int_equal(adjust(s, "v.binary", -1), CS_ERR_INVALID_PARAM);
}

/* ---- cursors ----------------------------------------------------------- */

static void test_cursor_prefix_and_order(void **state)
{
	struct cmap_store *s = *state;
	const char *keys[] = { "tra.k2", "big", "Az09", "tra", "tra.k10", "trab" };
	const struct cmap_entry *e;

	for (size_t i = 0; i < 6; i++)
		assert_int_equal(set_u32(s, keys[i], 1), CS_OK);
	e = cmap_store_next(s, "tra.", NULL);
	assert_string_equal(cmap_entry_key(e), "tra.k10");
	e = cmap_store_next(s, "tra.", cmap_entry_key(e));
	assert_string_equal(cmap_entry_key(e), "tra.k2");
	assert_null(cmap_store_next(s, "tra.", "tra.k2"));
	assert_string_equal(cmap_entry_key(cmap_store_next(s, "", NULL)), "Az09");
	assert_null(cmap_store_next(s, "zzz", NULL));
}

static void test_cursor_survives_deleting_its_key(void **state)
{
	struct cmap_store *s = *state;
	char last[32];

	assert_int_equal(set_u32(s, "it.a", 1), CS_OK);
	assert_int_equal(set_u32(s, "it.b", 1), CS_OK);
	assert_int_equal(set_u32(s, "it.c", 1), CS_OK);
	snprintf(last, sizeof(last), "%s", cmap_entry_key(cmap_store_next(s, "it.", NULL)));
	assert_int_equal(delete (s, "it.a"), CS_OK);
	assert_int_equal(delete (s, "it.b"), CS_OK);
	assert_string_equal(cmap_entry_key(cmap_store_next(s, "it.", last)), "it.c");
}

/* ---- tracking ---------------------------------------------------------- */

static void test_track_exact_key_not_yet_existing(void **state)
{
	struct cmap_store *s = *state;
	uint32_t one = 1;

	assert_non_null(cmap_store_add_track(s, "tk.key",
					     CMAP_STORE_ADDED | CMAP_STORE_MODIFIED | CMAP_STORE_DELETED,
					     &client_ops, "exact"));
	assert_int_equal(set_u32(s, "tk.key", 1), CS_OK);
	assert_int_equal(set_u32(s, "tk.key2", 1), CS_OK);
	assert_int_equal(set_u32(s, "tk.key", 1), CS_OK); /* identical: nothing */
	assert_int_equal(set(s, "tk.key", CMAP_STORE_STRING, "x", 1), CS_OK);
	assert_int_equal(delete (s, "tk.key"), CS_OK);
	assert_int_equal(n_seen, 3);
	assert_int_equal(seen[0].event, CMAP_STORE_ADDED);
	assert_int_equal(seen[0].old_value.type, 0);
	assert_int_equal(seen[0].old_value.len, 0);
	assert_int_equal(seen[0].new_value.type, CMAP_STORE_UINT32);
	assert_memory_equal(seen[0].new_value.bytes, &one, 4);
	assert_int_equal(seen[1].event, CMAP_STORE_MODIFIED);
	assert_int_equal(seen[1].old_value.type, CMAP_STORE_UINT32);
	assert_int_equal(seen[1].new_value.type, CMAP_STORE_STRING);
	assert_int_equal(seen[1].new_value.len, 2);
	assert_int_equal(seen[2].event, CMAP_STORE_DELETED);
	assert_int_equal(seen[2].new_value.type, 0);
	assert_int_equal(seen[2].old_value.type, CMAP_STORE_STRING);
	assert_string_equal((const char *)seen[2].old_value.bytes, "x");
}

static void test_track_flags_filter_events(void **state)
{
	struct cmap_store *s = *state;

	assert_non_null(cmap_store_add_track(s, "f.key", CMAP_STORE_DELETED, &client_ops, "delete-only"));
	assert_non_null(cmap_store_add_track(s, "f.key", 0, &client_ops, "none"));
	assert_int_equal(set_u32(s, "f.key", 1), CS_OK);
	assert_int_equal(adjust(s, "f.key", 1), CS_OK);
	assert_int_equal(n_seen, 0);
	assert_int_equal(delete (s, "f.key"), CS_OK);
	assert_int_equal(n_seen, 1);
	assert_string_equal(seen[0].track, "delete-only");
}

static void test_track_prefix_is_a_plain_string_prefix(void **state)
{
	struct cmap_store *s = *state;
	int32_t all = CMAP_STORE_ADDED | CMAP_STORE_MODIFIED | CMAP_STORE_DELETED | CMAP_STORE_PREFIX;

	assert_non_null(cmap_store_add_track(s, "tra.", all, &client_ops, "tra."));
	assert_non_null(cmap_store_add_track(s, "", all, &client_ops, "everything"));
	assert_int_equal(set_u32(s, "tra.k10", 1), CS_OK);
	assert_int_equal(set_u32(s, "tra", 1), CS_OK);
	assert_int_equal(set_u32(s, "trax", 1), CS_OK);
	assert_int_equal(n_seen, 4);
	assert_string_equal(seen[0].track, "tra.");
	assert_string_equal(seen[0].key, "tra.k10");
	assert_string_equal(seen[1].track, "everything");
	assert_string_equal(seen[2].key, "tra");
	assert_string_equal(seen[3].key, "trax");
}

static void test_track_order_exact_then_longest_prefix_then_internal(void **state)
{
	struct cmap_store *s = *state;
	int32_t all = CMAP_STORE_ADDED | CMAP_STORE_MODIFIED | CMAP_STORE_DELETED;

	assert_non_null(cmap_store_add_track(s, "o.", all | CMAP_STORE_PREFIX, &internal_ops, "internal"));
	assert_non_null(cmap_store_add_track(s, "o.", all | CMAP_STORE_PREFIX, &client_ops, "short"));
	assert_non_null(cmap_store_add_track(s, "o.a.", all | CMAP_STORE_PREFIX, &client_ops, "long"));
	assert_non_null(cmap_store_add_track(s, "o.a.b", all, &client_ops, "exact"));
	assert_non_null(cmap_store_add_track(s, "o.a.b", all, &client_ops, "exact2"));
	assert_int_equal(set_u32(s, "o.a.b", 1), CS_OK);
	assert_int_equal(n_seen, 5);
	assert_string_equal(seen[0].track, "exact");
	assert_string_equal(seen[1].track, "exact2");
	assert_string_equal(seen[2].track, "long");
	assert_string_equal(seen[3].track, "short");
	assert_string_equal(seen[4].track, "internal");
}

static void test_track_remove_stops_delivery(void **state)
{
	struct cmap_store *s = *state;
	struct cmap_track *t = cmap_store_add_track(s, "rm.key", CMAP_STORE_ADDED, &client_ops, "t");
	struct cmap_change c;

	/* removed between prepare and commit: nothing is delivered */
	assert_int_equal(cmap_change_set(&c, s, "rm.key", CMAP_STORE_STRING, "v", 1, CMAP_FROM_CLIENT),
			 CS_OK);
	assert_int_equal(c.n_matches, 1);
	cmap_store_remove_track(t);
	cmap_change_commit(&c);
	assert_int_equal(n_seen, 0);
}

/* A delivery that rewrites and deletes the key it is told about. */
static struct cmap_store *nested_store;

static void rewrite_key(struct cmap_track *t, const struct cmap_change *c)
{
	static uint8_t big[100];

	record(t, c);
	if (c->event == CMAP_STORE_MODIFIED && n_seen == 1) {
		memset(big, 'z', sizeof(big));
		assert_int_equal(cmap_store_write(nested_store, c->key, CMAP_STORE_BINARY, big, sizeof(big)),
				 CS_OK);
		assert_int_equal(cmap_store_erase(nested_store, c->key), CS_OK);
	}
}

static const struct cmap_track_ops rewrite_ops = { .deliver = rewrite_key, .internal = true };

static void test_nested_change_of_the_same_key(void **state)
{
	struct cmap_store *s = *state;
	static uint8_t value[64];

	nested_store = s;
	memset(value, 'a', sizeof(value));
	assert_int_equal(set(s, "n.key", CMAP_STORE_BINARY, value, sizeof(value)), CS_OK);
	assert_non_null(cmap_store_add_track(s, "n.key", CMAP_STORE_MODIFIED | CMAP_STORE_DELETED,
					     &rewrite_ops, "rw"));
	assert_non_null(cmap_store_add_track(s, "n.",
					     CMAP_STORE_MODIFIED | CMAP_STORE_DELETED | CMAP_STORE_PREFIX,
					     &internal_ops, "after"));
	value[0] = 'b';
	assert_int_equal(set(s, "n.key", CMAP_STORE_BINARY, value, sizeof(value)), CS_OK);
	/* rw, then the nested modify and delete to both, then "after" sees the
	 * outer change with its values intact */
	assert_int_equal(n_seen, 6);
	assert_string_equal(seen[5].track, "after");
	assert_int_equal(seen[5].event, CMAP_STORE_MODIFIED);
	assert_int_equal(seen[5].new_value.bytes[0], 'b');
	assert_int_equal(seen[5].old_value.bytes[0], 'a');
	assert_int_equal(cmap_store_find(s, "n.key") == NULL, 1);
}

static void test_lookup_sees_a_pending_change(void **state)
{
	struct cmap_store *s = *state;
	uint8_t scratch[CMAP_COMPUTED_MAX];
	struct cmap_change c;
	struct cmap_value v;
	uint32_t x;

	assert_int_equal(set_u32(s, "p.key", 1), CS_OK);
	assert_int_equal(set_u32(s, "p.other", 7), CS_OK);
	x = 5;
	assert_int_equal(cmap_change_set(&c, s, "p.key", CMAP_STORE_UINT32, &x, 4, CMAP_FROM_CLIENT), CS_OK);
	assert_int_equal(cmap_change_lookup(&c, s, "p.key", &v, scratch), CS_OK);
	assert_true(cmap_value_u32(&v, &x) && x == 5);
	assert_int_equal(cmap_change_lookup(&c, s, "p.other", &v, scratch), CS_OK);
	assert_true(cmap_value_u32(&v, &x) && x == 7);
	cmap_change_abandon(&c);
	/* a deletion is read as corosync's trackers read it: not yet gone */
	assert_int_equal(cmap_change_delete(&c, s, "p.key", CMAP_FROM_CLIENT), CS_OK);
	assert_int_equal(cmap_change_lookup(&c, s, "p.key", &v, scratch), CS_OK);
	assert_true(cmap_value_u32(&v, &x) && x == 1);
	cmap_change_abandon(&c);
	v = get(s, "p.key");
	assert_true(cmap_value_u32(&v, &x) && x == 1);
}

/* ---- limits and computed keys ------------------------------------------ */

static void test_byte_budget(void **state)
{
	struct cmap_store *s = cmap_store_new(4096);
	static uint8_t value[2000];
	size_t before;

	assert_int_equal(set(s, "b.one", CMAP_STORE_BINARY, value, sizeof(value)), CS_OK);
	before = cmap_store_bytes(s);
	assert_int_equal(set(s, "b.two", CMAP_STORE_BINARY, value, sizeof(value)), CS_ERR_NO_RESOURCES);
	assert_int_equal(cmap_store_bytes(s), before);
	assert_int_equal(set(s, "b.one", CMAP_STORE_BINARY, value, 10), CS_OK); /* shrinking is fine */
	assert_int_equal(set(s, "b.two", CMAP_STORE_BINARY, value, sizeof(value)), CS_OK);
	assert_int_equal(cmap_store_write(s, "b.three", CMAP_STORE_BINARY, value, sizeof(value)), CS_OK);
	assert_int_equal(delete (s, "b.three"), CS_OK);
	assert_int_equal(delete (s, "b.two"), CS_OK);
	assert_int_equal(delete (s, "b.one"), CS_OK);
	assert_int_equal(cmap_store_bytes(s), 0);
	cmap_store_free(s);
}

static uint32_t compute_counter(const void *source, uint32_t field, void *buf)
{
	uint64_t v = *(const uint64_t *)source + field;

	memcpy(buf, &v, sizeof(v));
	return sizeof(v);
}

static void test_computed_keys(void **state)
{
	struct cmap_store *s = *state;
	uint64_t counter = 40, got;
	struct cmap_change c;

	assert_non_null(cmap_store_add_track(s, "stats.",
					     CMAP_STORE_ADDED | CMAP_STORE_DELETED | CMAP_STORE_PREFIX,
					     &client_ops, "stats"));
	assert_int_equal(
		cmap_change_add_computed(&c, s, "stats.x", CMAP_STORE_UINT64, compute_counter, &counter, 2),
		CS_OK);
	cmap_change_commit(&c);
	counter = 100;
	memcpy(&got, get(s, "stats.x").bytes, 8);
	assert_true(got == 102);
	assert_int_equal(cmap_store_erase(s, "stats.x"), CS_OK);
	assert_int_equal(n_seen, 2);
	memcpy(&got, seen[0].new_value.bytes, 8);
	assert_true(got == 42);
	memcpy(&got, seen[1].old_value.bytes, 8);
	assert_true(got == 102);
}

static void test_many_keys(void **state)
{
	struct cmap_store *s = *state;
	char key[32];
	size_t n = 0;

	for (uint32_t i = 0; i < 100000; i++) {
		snprintf(key, sizeof(key), "many.%u", i * 7919u % 100000u);
		assert_int_equal(cmap_store_write_u32(s, key, i), CS_OK);
	}
	assert_int_equal(cmap_store_count(s), 100000);
	for (const struct cmap_entry *e = cmap_store_next(s, "many.", NULL); e;
	     e = cmap_store_next(s, "many.", cmap_entry_key(e)))
		n++;
	assert_int_equal(n, 100000);
	/* the tree and the hash index agree through deletions */
	for (uint32_t i = 0; i < 100000; i += 2) {
		snprintf(key, sizeof(key), "many.%u", i);
		assert_int_equal(cmap_store_erase(s, key), CS_OK);
	}
	for (uint32_t i = 0; i < 100000; i++) {
		snprintf(key, sizeof(key), "many.%u", i);
		assert_true((cmap_store_find(s, key) != NULL) == (i % 2 == 1));
	}
	assert_int_equal(cmap_store_count(s), 50000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tree_random_operations),
		cmocka_unit_test(test_tree_order_and_lower_bound),
		cmocka_unit_test_setup_teardown(test_every_type_round_trips, setup, teardown),
		cmocka_unit_test_setup_teardown(test_string_nul_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_value_length_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_names_checked_when_created, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_only_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inc_dec_wrap_every_integer_type, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inc_refuses_non_integers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cursor_prefix_and_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cursor_survives_deleting_its_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_track_exact_key_not_yet_existing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_track_flags_filter_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_track_prefix_is_a_plain_string_prefix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_track_order_exact_then_longest_prefix_then_internal,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_track_remove_stops_delivery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nested_change_of_the_same_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lookup_sees_a_pending_change, setup, teardown),
		cmocka_unit_test(test_byte_budget),
		cmocka_unit_test_setup_teardown(test_computed_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_keys, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
