/* What cmap-store.c and cmap-track.c share; not for other code. */
#ifndef CONCLAVE_CMAP_STORE_PRIVATE_H
#define CONCLAVE_CMAP_STORE_PRIVATE_H

#include "cmap-store.h"

#define CMAP_INLINE_VALUE_MAX 16

struct track_group;

struct cmap_entry {
	struct cmap_node node;
	struct cmap_entry *hash_next; /* in its bucket of the index */
	int32_t type;
	uint32_t len;
	cmap_compute_fn compute; /* NULL for a stored value */
	const void *source;
	uint32_t field;
	uint32_t hash;
	union {
		uint8_t bytes[CMAP_INLINE_VALUE_MAX];
		uint8_t *heap; /* when len > CMAP_INLINE_VALUE_MAX */
	} value;
	char key[];
};

/* Groups of tracks with the same key, chained in hash buckets. */
struct track_table {
	struct track_group **buckets;
	size_t n_buckets; /* a power of two, or 0 */
	size_t n_groups;
};

/* The entries by key, beside the tree: exact lookups (get, set, delete,
 * inc) cost the same with a thousand keys or a million, where the tree's
 * cache misses grow with its depth; the tree serves order and prefixes. */
struct entry_index {
	struct cmap_entry **buckets;
	size_t n_buckets; /* a power of two */
};

struct track_index {
	struct track_table exact;
	struct track_table prefix;
	/* How many prefix tracks use each prefix length: a change probes only
	 * the lengths in use. */
	size_t prefix_lengths[CMAP_STORE_KEY_MAX + 1];
	uint64_t seed;
};

struct cmap_store {
	struct cmap_tree tree;
	struct entry_index index;
	size_t bytes;
	size_t max_bytes;
	struct ro_rule *ro_rules;
	size_t n_ro_rules;
	struct track_index tracks;
	/* Memory a delivery may still point at: freed when the outermost
	 * commit has delivered (a delivery may commit further changes). */
	unsigned delivery_depth;
	void **garbage;
	size_t n_garbage, garbage_capacity;
};

/* FNV-1a from a random basis, so clients cannot aim at one bucket; the
 * hashes of every prefix of a key come out of one pass. */
#define CMAP_FNV_PRIME 0x100000001b3ull

static inline uint64_t cmap_hash_step(uint64_t h, unsigned char byte)
{
	return (h ^ byte) * CMAP_FNV_PRIME;
}

static inline uint64_t cmap_hash(uint64_t seed, const char *key, size_t len)
{
	for (size_t i = 0; i < len; i++)
		seed = cmap_hash_step(seed, (unsigned char)key[i]);
	return seed;
}

int cmap_index_init(struct entry_index *index);
void cmap_index_fini(struct entry_index *index);
struct cmap_entry *cmap_index_find(const struct cmap_store *s, const char *key);
/* Never fails: without memory to grow, the buckets just get longer. */
void cmap_index_insert(struct cmap_store *s, struct cmap_entry *e);
void cmap_index_remove(struct cmap_store *s, struct cmap_entry *e);

void cmap_tracks_init(struct track_index *index);
void cmap_tracks_fini(struct track_index *index);
/* Appends the tracks matching c->key and c->event to c's matches, taking a
 * reference on each; false when out of memory. */
bool cmap_tracks_collect(struct cmap_store *s, struct cmap_change *c);
/* Drops the references cmap_tracks_collect() took. */
void cmap_tracks_release(struct cmap_change *c);
bool cmap_track_removed(const struct cmap_track *t);

/* Shared by preparing (cmap-store.c) and committing (cmap-change.c). */
size_t cmap_entry_cost(size_t key_len, size_t value_len);
const uint8_t *cmap_entry_stored_bytes(const struct cmap_entry *e);
struct cmap_entry *cmap_entry_of(const struct cmap_node *n);
void cmap_entry_free(struct cmap_entry *e);

#endif
