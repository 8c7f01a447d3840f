/* The index of tracks: which tracks a change of a key matches. */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <conclave/list.h>

#include "cmap-store-private.h"

#define TABLE_MIN_BUCKETS 16

struct cmap_track {
	struct cmap_store *store;
	struct track_group *group; /* NULL once removed */
	struct cv_list link;       /* in its group's tracks, in the order added */
	const struct cmap_track_ops *ops;
	void *owner;
	int32_t flags;
	unsigned refs; /* the index's plus one per change in progress */
	char key[];
};

struct track_group {
	struct track_group *next_in_bucket;
	uint64_t hash;
	struct cv_list tracks;
	size_t key_len;
	char key[];
};

void cmap_tracks_init(struct track_index *index)
{
	memset(index, 0, sizeof(*index));
	if (getrandom(&index->seed, sizeof(index->seed), GRND_NONBLOCK) != sizeof(index->seed))
		index->seed = 0xcbf29ce484222325ull ^ (uint64_t)(uintptr_t)index;
}

/* ---- tables ------------------------------------------------------------ */

static struct track_group *table_find(const struct track_table *t, uint64_t hash, const char *key, size_t len)
{
	if (t->n_buckets == 0)
		return NULL;
	for (struct track_group *g = t->buckets[hash & (t->n_buckets - 1)]; g; g = g->next_in_bucket)
		if (g->hash == hash && g->key_len == len && memcmp(g->key, key, len) == 0)
			return g;
	return NULL;
}

static bool table_grow(struct track_table *t)
{
	size_t n = t->n_buckets ? t->n_buckets * 2 : TABLE_MIN_BUCKETS;
	struct track_group **buckets = calloc(n, sizeof(*buckets));

	if (!buckets)
		return false;
	for (size_t i = 0; i < t->n_buckets; i++) {
		struct track_group *g = t->buckets[i];

		while (g) {
			struct track_group *next = g->next_in_bucket;

			g->next_in_bucket = buckets[g->hash & (n - 1)];
			buckets[g->hash & (n - 1)] = g;
			g = next;
		}
	}
	free(t->buckets);
	t->buckets = buckets;
	t->n_buckets = n;
	return true;
}

static struct track_group *table_insert(struct track_table *t, uint64_t hash, const char *key, size_t len)
{
	struct track_group *g;

	if (t->n_groups >= t->n_buckets && !table_grow(t) && t->n_buckets == 0)
		return NULL;
	g = calloc(1, sizeof(*g) + len + 1);
	if (!g)
		return NULL;
	g->hash = hash;
	cv_list_init(&g->tracks);
	g->key_len = len;
	memcpy(g->key, key, len);
	g->next_in_bucket = t->buckets[hash & (t->n_buckets - 1)];
	t->buckets[hash & (t->n_buckets - 1)] = g;
	t->n_groups++;
	return g;
}

static void table_unlink(struct track_table *t, struct track_group *group)
{
	struct track_group **link = &t->buckets[group->hash & (t->n_buckets - 1)];

	while (*link != group)
		link = &(*link)->next_in_bucket;
	*link = group->next_in_bucket;
	t->n_groups--;
	free(group);
}

static void table_free(struct track_table *t)
{
	for (size_t i = 0; i < t->n_buckets; i++) {
		struct track_group *g = t->buckets[i];

		while (g) {
			struct track_group *next = g->next_in_bucket;

			struct cmap_track *tr, *after;

			cv_list_for_each_safe (tr, after, &g->tracks, link)
				free(tr);
			free(g);
			g = next;
		}
	}
	free(t->buckets);
	memset(t, 0, sizeof(*t));
}

void cmap_tracks_fini(struct track_index *index)
{
	table_free(&index->exact);
	table_free(&index->prefix);
}

/* ---- tracks ------------------------------------------------------------ */

struct cmap_track *cmap_store_add_track(struct cmap_store *s, const char *key, int32_t flags,
					const struct cmap_track_ops *ops, void *owner)
{
	bool prefix = (flags & CMAP_STORE_PREFIX) != 0;
	struct track_table *table = prefix ? &s->tracks.prefix : &s->tracks.exact;
	size_t len = strnlen(key, CMAP_STORE_KEY_MAX + 1);
	uint64_t hash = cmap_hash(s->tracks.seed, key, len);
	struct track_group *group;
	struct cmap_track *t;

	if (len > CMAP_STORE_KEY_MAX)
		return NULL;
	t = calloc(1, sizeof(*t) + len + 1);
	if (!t)
		return NULL;
	group = table_find(table, hash, key, len);
	if (!group && !(group = table_insert(table, hash, key, len))) {
		free(t);
		return NULL;
	}
	*t = (struct cmap_track){
		.store = s, .group = group, .ops = ops, .owner = owner, .flags = flags, .refs = 1
	};
	memcpy(t->key, key, len);
	cv_list_insert(group->tracks.prev, &t->link);
	if (prefix)
		s->tracks.prefix_lengths[len]++;
	return t;
}

static void track_unref(struct cmap_track *t)
{
	if (--t->refs == 0)
		free(t);
}

void cmap_store_remove_track(struct cmap_track *t)
{
	struct track_group *group = t->group;
	bool prefix = (t->flags & CMAP_STORE_PREFIX) != 0;

	cv_list_remove(&t->link);
	if (prefix)
		t->store->tracks.prefix_lengths[group->key_len]--;
	if (cv_list_empty(&group->tracks))
		table_unlink(prefix ? &t->store->tracks.prefix : &t->store->tracks.exact, group);
	t->group = NULL;
	track_unref(t);
}

void *cmap_track_owner(const struct cmap_track *t)
{
	return t->owner;
}

const struct cmap_track_ops *cmap_track_ops(const struct cmap_track *t)
{
	return t->ops;
}

int32_t cmap_track_flags(const struct cmap_track *t)
{
	return t->flags;
}

const char *cmap_track_key(const struct cmap_track *t)
{
	return t->key;
}

/* ---- matching ---------------------------------------------------------- */

static bool add_match(struct cmap_change *c, struct cmap_track *t)
{
	if (c->n_matches == c->matches_capacity) {
		size_t n = c->matches_capacity * 2;
		struct cmap_track **grown;

		if (c->matches == c->inline_matches) {
			grown = malloc(n * sizeof(*grown));
			if (grown)
				memcpy(grown, c->inline_matches, sizeof(c->inline_matches));
		} else {
			grown = realloc(c->matches, n * sizeof(*grown));
		}
		if (!grown)
			return false;
		c->matches = grown;
		c->matches_capacity = n;
	}
	t->refs++;
	c->matches[c->n_matches++] = t;
	return true;
}

static bool collect_group(struct cmap_change *c, const struct track_group *g, bool internal)
{
	if (!g)
		return true;
	struct cmap_track *t;

	cv_list_for_each (t, &g->tracks, link)
		if ((t->flags & c->event) && t->ops->internal == internal && !add_match(c, t))
			return false;
	return true;
}

static bool collect_pass(struct cmap_store *s, struct cmap_change *c, const uint64_t *prefix_hashes,
			 size_t len, bool internal)
{
	const struct track_index *index = &s->tracks;

	if (!collect_group(c, table_find(&index->exact, prefix_hashes[len], c->key, len), internal))
		return false;
	for (size_t i = len + 1; i-- > 0;) {
		if (index->prefix_lengths[i] == 0)
			continue;
		if (!collect_group(c, table_find(&index->prefix, prefix_hashes[i], c->key, i), internal))
			return false;
	}
	return true;
}

bool cmap_tracks_collect(struct cmap_store *s, struct cmap_change *c)
{
	uint64_t prefix_hashes[CMAP_STORE_KEY_MAX + 1];
	size_t len = strnlen(c->key, CMAP_STORE_KEY_MAX + 1);

	if (len > CMAP_STORE_KEY_MAX)
		return true; /* no track can name it */
	prefix_hashes[0] = s->tracks.seed;
	for (size_t i = 0; i < len; i++)
		prefix_hashes[i + 1] = cmap_hash_step(prefix_hashes[i], (unsigned char)c->key[i]);
	return collect_pass(s, c, prefix_hashes, len, false) && collect_pass(s, c, prefix_hashes, len, true);
}

void cmap_tracks_release(struct cmap_change *c)
{
	for (size_t i = 0; i < c->n_matches; i++)
		track_unref(c->matches[i]);
	if (c->matches != c->inline_matches)
		free(c->matches);
	c->matches = c->inline_matches;
	c->n_matches = 0;
	c->matches_capacity = CMAP_CHANGE_INLINE_MATCHES;
}

bool cmap_track_removed(const struct cmap_track *t)
{
	return t->group == NULL;
}
