/* The map itself: entries in the tree, values, read-only rules, and the
 * two-phase changes (see cmap-store.h). */
#include <stdlib.h>
#include <string.h>

#include "cmap-store-private.h"

struct ro_rule {
	char *key;
	size_t len;
	bool prefix;
};

/* ---- values and names --------------------------------------------------- */

int cmap_type_size(int32_t type)
{
	static const int sizes[] = { -1, 1, 1, 2, 2, 4, 4, 8, 8, 4, 8, 0, 0 };

	return type >= 1 && type <= CMAP_STORE_BINARY ? sizes[type] : -1;
}

static bool is_integer_type(int32_t type)
{
	return type >= CMAP_STORE_INT8 && type <= CMAP_STORE_UINT64;
}

static bool name_char_valid(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
	       c == '_' || c == '-' || c == '/' || c == ':';
}

bool cmap_key_name_valid(const char *key)
{
	size_t len = strnlen(key, CMAP_STORE_KEY_MAX + 1);

	if (len < CMAP_STORE_KEY_MIN || len > CMAP_STORE_KEY_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!name_char_valid(key[i]))
			return false;
	return true;
}

/* What an entry costs against the byte budget. */
size_t cmap_entry_cost(size_t key_len, size_t value_len)
{
	return sizeof(struct cmap_entry) + key_len + 1 + (value_len > CMAP_INLINE_VALUE_MAX ? value_len : 0);
}

const uint8_t *cmap_entry_stored_bytes(const struct cmap_entry *e)
{
	return e->len > CMAP_INLINE_VALUE_MAX ? e->value.heap : e->value.bytes;
}

struct cmap_entry *cmap_entry_of(const struct cmap_node *n)
{
	return n ? (struct cmap_entry *)((char *)n - offsetof(struct cmap_entry, node)) : NULL;
}

void cmap_entry_free(struct cmap_entry *e)
{
	if (!e->compute && e->len > CMAP_INLINE_VALUE_MAX)
		free(e->value.heap);
	free(e);
}

/* ---- the map ----------------------------------------------------------- */

/* Post-order, without rebalancing; the depth is logarithmic. */
static void free_subtree(struct cmap_node *n)
{
	if (!n)
		return;
	free_subtree(n->left);
	free_subtree(n->right);
	cmap_entry_free(cmap_entry_of(n));
}

struct cmap_store *cmap_store_new(size_t max_bytes)
{
	struct cmap_store *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->max_bytes = max_bytes;
	cmap_tracks_init(&s->tracks);
	if (cmap_index_init(&s->index) < 0) {
		free(s);
		return NULL;
	}
	return s;
}

void cmap_store_free(struct cmap_store *s)
{
	if (!s)
		return;
	free_subtree(s->tree.root);
	cmap_index_fini(&s->index);
	for (size_t i = 0; i < s->n_ro_rules; i++)
		free(s->ro_rules[i].key);
	free(s->ro_rules);
	cmap_tracks_fini(&s->tracks);
	free(s->garbage);
	free(s);
}

size_t cmap_store_count(const struct cmap_store *s)
{
	return s->tree.count;
}

size_t cmap_store_bytes(const struct cmap_store *s)
{
	return s->bytes;
}

int cmap_store_add_ro(struct cmap_store *s, const char *key, bool prefix)
{
	struct ro_rule *grown = realloc(s->ro_rules, (s->n_ro_rules + 1) * sizeof(*grown));
	char *copy = strdup(key);

	if (grown)
		s->ro_rules = grown;
	if (!grown || !copy) {
		free(copy);
		return -1;
	}
	s->ro_rules[s->n_ro_rules++] = (struct ro_rule){ .key = copy, .len = strlen(copy), .prefix = prefix };
	return 0;
}

bool cmap_store_is_ro(const struct cmap_store *s, const char *key)
{
	for (size_t i = 0; i < s->n_ro_rules; i++) {
		const struct ro_rule *r = &s->ro_rules[i];

		if (r->prefix ? strncmp(key, r->key, r->len) == 0 : strcmp(key, r->key) == 0)
			return true;
	}
	return false;
}

/* ---- reading ----------------------------------------------------------- */

const struct cmap_entry *cmap_store_find(const struct cmap_store *s, const char *key)
{
	return cmap_index_find(s, key);
}

const char *cmap_entry_key(const struct cmap_entry *e)
{
	return e->key;
}

int32_t cmap_entry_type(const struct cmap_entry *e)
{
	return e->type;
}

void cmap_entry_value(const struct cmap_entry *e, struct cmap_value *out, uint8_t scratch[CMAP_COMPUTED_MAX])
{
	out->type = e->type;
	if (e->compute) {
		out->len = e->compute(e->source, e->field, scratch);
		out->bytes = scratch;
	} else {
		out->len = e->len;
		out->bytes = cmap_entry_stored_bytes(e);
	}
}

const struct cmap_entry *cmap_store_next(const struct cmap_store *s, const char *prefix, const char *after)
{
	const struct cmap_node *n = cmap_tree_lower_bound(&s->tree, after ? after : prefix, after != NULL);

	if (n && strncmp(n->key, prefix, strlen(prefix)) == 0)
		return cmap_entry_of(n);
	return NULL;
}

cs_error_t cmap_store_get(const struct cmap_store *s, const char *key, struct cmap_value *out,
			  uint8_t scratch[CMAP_COMPUTED_MAX])
{
	const struct cmap_entry *e = cmap_store_find(s, key);

	if (!e)
		return CS_ERR_NOT_EXIST;
	cmap_entry_value(e, out, scratch);
	return CS_OK;
}

bool cmap_value_u32(const struct cmap_value *v, uint32_t *out)
{
	if (v->type != CMAP_STORE_UINT32 || v->len != sizeof(*out))
		return false;
	memcpy(out, v->bytes, sizeof(*out));
	return true;
}

bool cmap_value_u8(const struct cmap_value *v, uint8_t *out)
{
	if (v->type != CMAP_STORE_UINT8 || v->len != sizeof(*out))
		return false;
	*out = v->bytes[0];
	return true;
}

/* ---- preparing changes ------------------------------------------------- */

static void change_init(struct cmap_change *c, struct cmap_store *s, const char *key)
{
	memset(c, 0, offsetof(struct cmap_change, new_inline));
	c->store = s;
	c->key = key;
	c->matches = c->inline_matches;
	c->matches_capacity = CMAP_CHANGE_INLINE_MATCHES;
}

/* Finishes a prepared change: the event is known, collect its tracks. */
static cs_error_t change_ready(struct cmap_change *c)
{
	c->prepared = true;
	if (c->event == 0 || cmap_tracks_collect(c->store, c))
		return CS_OK;
	cmap_change_abandon(c);
	return CS_ERR_NO_MEMORY;
}

static void old_value_of(struct cmap_change *c, const struct cmap_entry *e)
{
	cmap_entry_value(e, &c->old_value, c->old_scratch);
}

/* The normalized bytes of a new value in c->new_inline or c->new_heap. */
static cs_error_t copy_new_value(struct cmap_change *c, int32_t type, const void *bytes, size_t copy_len,
				 size_t stored_len)
{
	uint8_t *target = c->new_inline;

	if (stored_len > CMAP_INLINE_VALUE_MAX && !(target = c->new_heap = malloc(stored_len)))
		return CS_ERR_NO_MEMORY;
	if (copy_len)
		memcpy(target, bytes, copy_len);
	if (type == CMAP_STORE_STRING)
		target[stored_len - 1] = '\0';
	c->new_value = (struct cmap_value){ .type = type, .len = (uint32_t)stored_len, .bytes = target };
	return CS_OK;
}

/* corosync's icmap_check_value_len(): sizes, the 16 KiB bound, and a
 * string whose length claims no more than its bytes up to the NUL. */
static cs_error_t check_value(int32_t type, const void *bytes, size_t len, size_t *copy_len,
			      size_t *stored_len)
{
	int size = cmap_type_size(type);

	if (size < 0 || len > CMAP_STORE_VALUE_MAX || (size > 0 && len != (size_t)size))
		return CS_ERR_INVALID_PARAM;
	*copy_len = *stored_len = len;
	if (type == CMAP_STORE_STRING) {
		const uint8_t *nul = len ? memchr(bytes, 0, len) : NULL;
		size_t chars = nul ? (size_t)(nul - (const uint8_t *)bytes) : len;

		if (nul && len > chars + 1)
			return CS_ERR_INVALID_PARAM;
		*copy_len = chars;
		*stored_len = chars + 1;
	}
	return CS_OK;
}

static bool same_value(const struct cmap_entry *e, const struct cmap_value *v)
{
	return !e->compute && e->type == v->type && e->len == v->len &&
	       memcmp(cmap_entry_stored_bytes(e), v->bytes, v->len) == 0;
}

static bool within_budget(const struct cmap_store *s, const struct cmap_entry *e, size_t key_len,
			  size_t new_len)
{
	size_t before = e ? cmap_entry_cost(key_len, e->compute ? 0 : e->len) : 0;
	size_t after = cmap_entry_cost(key_len, new_len);

	return s->max_bytes == 0 || after <= before || s->bytes + (after - before) <= s->max_bytes;
}

static cs_error_t new_entry(struct cmap_change *c, size_t key_len)
{
	c->entry = calloc(1, sizeof(*c->entry) + key_len + 1);
	if (!c->entry)
		return CS_ERR_NO_MEMORY;
	memcpy(c->entry->key, c->key, key_len);
	c->entry->node.key = c->entry->key;
	return CS_OK;
}

cs_error_t cmap_change_set(struct cmap_change *c, struct cmap_store *s, const char *key, int32_t type,
			   const void *bytes, size_t len, enum cmap_origin origin)
{
	size_t copy_len, stored_len, key_len = strlen(key);
	cs_error_t err;

	change_init(c, s, key);
	if (origin == CMAP_FROM_CLIENT && cmap_store_is_ro(s, key))
		return CS_ERR_ACCESS;
	if ((err = check_value(type, bytes, len, &copy_len, &stored_len)) != CS_OK)
		return err;
	c->entry = cmap_index_find(s, key);
	if (!c->entry && !cmap_key_name_valid(key))
		return CS_ERR_NAME_TOO_LONG;
	if (origin == CMAP_FROM_CLIENT && !within_budget(s, c->entry, key_len, stored_len))
		return CS_ERR_NO_RESOURCES;
	if ((err = copy_new_value(c, type, bytes, copy_len, stored_len)) != CS_OK)
		return err;
	if (c->entry && same_value(c->entry, &c->new_value)) {
		c->event = 0;
	} else if (c->entry) {
		c->event = CMAP_STORE_MODIFIED;
		old_value_of(c, c->entry);
	} else {
		c->event = CMAP_STORE_ADDED;
		if ((err = new_entry(c, key_len)) != CS_OK) {
			free(c->new_heap);
			return err;
		}
	}
	return change_ready(c);
}

cs_error_t cmap_change_delete(struct cmap_change *c, struct cmap_store *s, const char *key,
			      enum cmap_origin origin)
{
	change_init(c, s, key);
	if (origin == CMAP_FROM_CLIENT && cmap_store_is_ro(s, key))
		return CS_ERR_ACCESS;
	c->entry = cmap_index_find(s, key);
	if (!c->entry)
		return CS_ERR_NOT_EXIST;
	c->event = CMAP_STORE_DELETED;
	old_value_of(c, c->entry);
	return change_ready(c);
}

/* Adds step to the unsigned bit pattern of the value's own width, in host
 * byte order as clients send them. */
static void add_wrapping(uint8_t *bytes, size_t size, int step)
{
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;

	switch (size) {
	case 1:
		u8 = (uint8_t)(bytes[0] + step);
		bytes[0] = u8;
		break;
	case 2:
		memcpy(&u16, bytes, 2);
		u16 = (uint16_t)(u16 + step);
		memcpy(bytes, &u16, 2);
		break;
	case 4:
		memcpy(&u32, bytes, 4);
		u32 += (uint32_t)step;
		memcpy(bytes, &u32, 4);
		break;
	default:
		memcpy(&u64, bytes, 8);
		u64 += (uint64_t)(int64_t)step;
		memcpy(bytes, &u64, 8);
		break;
	}
}

cs_error_t cmap_change_adjust(struct cmap_change *c, struct cmap_store *s, const char *key, int step,
			      enum cmap_origin origin)
{
	int size;

	change_init(c, s, key);
	if (origin == CMAP_FROM_CLIENT && cmap_store_is_ro(s, key))
		return CS_ERR_ACCESS;
	c->entry = cmap_index_find(s, key);
	if (!c->entry)
		return CS_ERR_NOT_EXIST;
	if (!is_integer_type(c->entry->type) || c->entry->compute)
		return CS_ERR_INVALID_PARAM;
	size = cmap_type_size(c->entry->type);
	memcpy(c->new_inline, cmap_entry_stored_bytes(c->entry), (size_t)size);
	add_wrapping(c->new_inline, (size_t)size, step);
	c->new_value = (struct cmap_value){ .type = c->entry->type,
					    .len = (uint32_t)size,
					    .bytes = c->new_inline };
	c->event = CMAP_STORE_MODIFIED;
	old_value_of(c, c->entry);
	return change_ready(c);
}

cs_error_t cmap_change_add_computed(struct cmap_change *c, struct cmap_store *s, const char *key,
				    int32_t type, cmap_compute_fn fn, const void *source, uint32_t field)
{
	cs_error_t err;

	change_init(c, s, key);
	if (cmap_type_size(type) < 0)
		return CS_ERR_INVALID_PARAM;
	if (cmap_index_find(s, key))
		return CS_ERR_EXIST;
	if (!cmap_key_name_valid(key))
		return CS_ERR_NAME_TOO_LONG;
	if ((err = new_entry(c, strlen(key))) != CS_OK)
		return err;
	c->entry->compute = fn;
	c->entry->source = source;
	c->entry->field = field;
	c->entry->type = type;
	c->new_value.type = type;
	c->new_value.len = fn(source, field, c->new_scratch);
	c->new_value.bytes = c->new_scratch;
	c->event = CMAP_STORE_ADDED;
	return change_ready(c);
}
