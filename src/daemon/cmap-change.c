/* Committing a prepared change: apply it to the tree, deliver it to the
 * tracks it matched, and free what it replaced once no delivery can still
 * point at it (a delivery may commit further changes, even of the same key). */
#include <stdlib.h>
#include <string.h>

#include "cmap-store-private.h"

/* ---- deferred frees ---------------------------------------------------- */

static void defer_free(struct cmap_store *s, void *p)
{
	if (!p)
		return;
	if (s->delivery_depth == 0) {
		free(p);
		return;
	}
	if (s->n_garbage == s->garbage_capacity) {
		size_t n = s->garbage_capacity ? s->garbage_capacity * 2 : 16;
		void **grown = realloc(s->garbage, n * sizeof(*grown));

		if (!grown)
			return; /* a leak rather than a use after free */
		s->garbage = grown;
		s->garbage_capacity = n;
	}
	s->garbage[s->n_garbage++] = p;
}

static void collect_garbage(struct cmap_store *s)
{
	if (s->delivery_depth > 0)
		return;
	for (size_t i = 0; i < s->n_garbage; i++)
		free(s->garbage[i]);
	s->n_garbage = 0;
}

static void defer_free_entry(struct cmap_store *s, struct cmap_entry *e)
{
	if (!e->compute && e->len > CMAP_INLINE_VALUE_MAX)
		defer_free(s, e->value.heap);
	defer_free(s, e);
}

/* ---- applying ---------------------------------------------------------- */

static size_t entry_cost_now(const struct cmap_entry *e)
{
	return cmap_entry_cost(strlen(e->key), e->compute ? 0 : e->len);
}

/* Takes the change's new value; a heap buffer changes hands. */
static void store_new_value(struct cmap_change *c, struct cmap_entry *e)
{
	e->type = c->new_value.type;
	e->len = c->new_value.len;
	e->compute = NULL;
	if (e->len > CMAP_INLINE_VALUE_MAX) {
		e->value.heap = c->new_heap;
		c->new_heap = NULL;
	} else {
		memcpy(e->value.bytes, c->new_value.bytes, e->len);
	}
}

static void apply_add(struct cmap_change *c)
{
	struct cmap_entry *e = c->entry;

	if (!e->compute)
		store_new_value(c, e);
	cmap_tree_insert(&c->store->tree, &e->node);
	cmap_index_insert(c->store, e);
	c->store->bytes += entry_cost_now(e);
}

/* The old value stays readable for the deliveries: a heap buffer is kept,
 * inline bytes are copied out before they are overwritten. */
static void apply_modify(struct cmap_change *c)
{
	struct cmap_entry *e = c->entry;

	c->store->bytes -= entry_cost_now(e);
	if (!e->compute && e->len > CMAP_INLINE_VALUE_MAX) {
		c->old_heap = e->value.heap;
	} else if (!e->compute) {
		memcpy(c->old_scratch, e->value.bytes, e->len);
		c->old_value.bytes = c->old_scratch;
	}
	store_new_value(c, e);
	c->store->bytes += entry_cost_now(e);
}

static void apply_delete(struct cmap_change *c)
{
	cmap_tree_remove(&c->store->tree, &c->entry->node);
	cmap_index_remove(c->store, c->entry);
	c->store->bytes -= entry_cost_now(c->entry);
	c->removed = c->entry;
}

static void deliver(struct cmap_change *c)
{
	c->store->delivery_depth++;
	for (size_t i = 0; i < c->n_matches; i++) {
		struct cmap_track *t = c->matches[i];

		if (!cmap_track_removed(t))
			cmap_track_ops(t)->deliver(t, c);
	}
	c->store->delivery_depth--;
}

static void release(struct cmap_change *c)
{
	struct cmap_store *s = c->store;

	cmap_tracks_release(c);
	free(c->new_heap);
	c->new_heap = NULL;
	defer_free(s, c->old_heap);
	c->old_heap = NULL;
	if (c->removed)
		defer_free_entry(s, c->removed);
	c->removed = NULL;
	c->prepared = false;
	collect_garbage(s);
}

void cmap_change_commit(struct cmap_change *c)
{
	if (!c->prepared)
		return;
	switch (c->event) {
	case CMAP_STORE_ADDED:
		apply_add(c);
		break;
	case CMAP_STORE_MODIFIED:
		apply_modify(c);
		break;
	case CMAP_STORE_DELETED:
		apply_delete(c);
		break;
	default:
		release(c);
		return;
	}
	deliver(c);
	release(c);
}

void cmap_change_abandon(struct cmap_change *c)
{
	if (!c->prepared)
		return;
	if (c->event == CMAP_STORE_ADDED)
		free(c->entry);
	c->entry = NULL;
	release(c);
}

cs_error_t cmap_change_lookup(const struct cmap_change *c, const struct cmap_store *s, const char *key,
			      struct cmap_value *out, uint8_t scratch[CMAP_COMPUTED_MAX])
{
	if (c && c->prepared && c->event != 0 && strcmp(key, c->key) == 0) {
		*out = c->event == CMAP_STORE_DELETED ? c->old_value : c->new_value;
		return CS_OK;
	}
	return cmap_store_get(s, key, out, scratch);
}

/* ---- the daemon's own writes ------------------------------------------- */

cs_error_t cmap_store_write(struct cmap_store *s, const char *key, int32_t type, const void *bytes,
			    size_t len)
{
	struct cmap_change c;
	cs_error_t err = cmap_change_set(&c, s, key, type, bytes, len, CMAP_FROM_DAEMON);

	if (err == CS_OK)
		cmap_change_commit(&c);
	return err;
}

cs_error_t cmap_store_write_u8(struct cmap_store *s, const char *key, uint8_t value)
{
	return cmap_store_write(s, key, CMAP_STORE_UINT8, &value, sizeof(value));
}

cs_error_t cmap_store_write_u16(struct cmap_store *s, const char *key, uint16_t value)
{
	return cmap_store_write(s, key, CMAP_STORE_UINT16, &value, sizeof(value));
}

cs_error_t cmap_store_write_u32(struct cmap_store *s, const char *key, uint32_t value)
{
	return cmap_store_write(s, key, CMAP_STORE_UINT32, &value, sizeof(value));
}

cs_error_t cmap_store_write_u64(struct cmap_store *s, const char *key, uint64_t value)
{
	return cmap_store_write(s, key, CMAP_STORE_UINT64, &value, sizeof(value));
}

cs_error_t cmap_store_write_string(struct cmap_store *s, const char *key, const char *value)
{
	return cmap_store_write(s, key, CMAP_STORE_STRING, value, strlen(value));
}

cs_error_t cmap_store_erase(struct cmap_store *s, const char *key)
{
	struct cmap_change c;
	cs_error_t err = cmap_change_delete(&c, s, key, CMAP_FROM_DAEMON);

	if (err == CS_OK)
		cmap_change_commit(&c);
	return err;
}
