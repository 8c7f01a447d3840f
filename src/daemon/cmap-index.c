/* The hash index of a map's entries (see struct entry_index). */
#include <stdlib.h>
#include <string.h>

#include "cmap-store-private.h"

#define INDEX_MIN_BUCKETS 64

int cmap_index_init(struct entry_index *index)
{
	index->buckets = calloc(INDEX_MIN_BUCKETS, sizeof(*index->buckets));
	index->n_buckets = INDEX_MIN_BUCKETS;
	return index->buckets ? 0 : -1;
}

void cmap_index_fini(struct entry_index *index)
{
	free(index->buckets);
	index->buckets = NULL;
	index->n_buckets = 0;
}

static struct cmap_entry **bucket_of(const struct entry_index *index, uint32_t hash)
{
	return &index->buckets[hash & (index->n_buckets - 1)];
}

static uint32_t hash_of(const struct cmap_store *s, const char *key)
{
	return (uint32_t)cmap_hash(s->tracks.seed, key, strlen(key));
}

struct cmap_entry *cmap_index_find(const struct cmap_store *s, const char *key)
{
	uint32_t hash = hash_of(s, key);

	for (struct cmap_entry *e = *bucket_of(&s->index, hash); e; e = e->hash_next)
		if (e->hash == hash && strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

/* Doubles the table at one entry per bucket; the map keeps working on the
 * old one when there is no memory for it. */
static void grow(struct cmap_store *s)
{
	struct entry_index bigger = { .n_buckets = s->index.n_buckets * 2 };

	bigger.buckets = calloc(bigger.n_buckets, sizeof(*bigger.buckets));
	if (!bigger.buckets)
		return;
	for (size_t i = 0; i < s->index.n_buckets; i++) {
		struct cmap_entry *e = s->index.buckets[i];

		while (e) {
			struct cmap_entry *next = e->hash_next;
			struct cmap_entry **bucket = bucket_of(&bigger, e->hash);

			e->hash_next = *bucket;
			*bucket = e;
			e = next;
		}
	}
	free(s->index.buckets);
	s->index = bigger;
}

void cmap_index_insert(struct cmap_store *s, struct cmap_entry *e)
{
	struct cmap_entry **bucket;

	if (s->tree.count > s->index.n_buckets)
		grow(s);
	e->hash = hash_of(s, e->key);
	bucket = bucket_of(&s->index, e->hash);
	e->hash_next = *bucket;
	*bucket = e;
}

void cmap_index_remove(struct cmap_store *s, struct cmap_entry *e)
{
	struct cmap_entry **link = bucket_of(&s->index, e->hash);

	while (*link != e)
		link = &(*link)->hash_next;
	*link = e->hash_next;
	e->hash_next = NULL;
}
