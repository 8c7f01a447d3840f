/* One cmap map: typed values under key names, ordered bytewise, with
 * read-only rules and change tracking. It knows nothing of sessions: a
 * track is an owner plus a delivery function, so the cmap service's client
 * tracks and the daemon's own (votequorum's settings) are alike.
 *
 * Every change is two-phase. cmap_change_set() and its siblings check the
 * request, work out the event and collect the tracks it matches, without
 * changing anything; the caller may then refuse it (a tracker without room
 * for its notification) with cmap_change_abandon(), or make it with
 * cmap_change_commit(), which applies it and then delivers it to every
 * match: client tracks first (exact key, then prefixes longest first), the
 * daemon's internal tracks last.
 *
 * Data structures: the entries are in an AVL tree (src/daemon/cmap-tree.h), for
 * bytewise order and prefixes, and in a hash table by key, so get, set,
 * delete and inc cost the same with a thousand keys or a million. Tracks are
 * indexed by their key in two hash tables, exact and prefix; a change of key
 * K probes the exact table once and the prefix table once per length of a
 * prefix some track uses, so its cost grows with the tracks that match it,
 * not with the tracks that exist.
 */
#ifndef CONCLAVE_CMAP_STORE_H
#define CONCLAVE_CMAP_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <corosync/corotypes.h>

#define CMAP_STORE_KEY_MIN 3
#define CMAP_STORE_KEY_MAX 255
#define CMAP_STORE_VALUE_MAX 16384
#define CMAP_COMPUTED_MAX 256 /* the longest value a computed entry yields */

/* cmap_value_types_t, without depending on the public header. */
enum cmap_store_type {
	CMAP_STORE_INT8 = 1,
	CMAP_STORE_UINT8 = 2,
	CMAP_STORE_INT16 = 3,
	CMAP_STORE_UINT16 = 4,
	CMAP_STORE_INT32 = 5,
	CMAP_STORE_UINT32 = 6,
	CMAP_STORE_INT64 = 7,
	CMAP_STORE_UINT64 = 8,
	CMAP_STORE_FLOAT = 9,
	CMAP_STORE_DOUBLE = 10,
	CMAP_STORE_STRING = 11,
	CMAP_STORE_BINARY = 12,
};

/* CMAP_TRACK_*: events and track flags share the bits. */
enum cmap_store_event {
	CMAP_STORE_DELETED = 1,
	CMAP_STORE_MODIFIED = 2,
	CMAP_STORE_ADDED = 4,
	CMAP_STORE_PREFIX = 8,
};
#define CMAP_STORE_TRACK_FLAGS 0x0F

struct cmap_value {
	int32_t type; /* 0: no value */
	uint32_t len;
	const uint8_t *bytes;
};

struct cmap_store;
struct cmap_entry;
struct cmap_track;
struct cmap_change;

/* ---- the map ----------------------------------------------------------- */

/* max_bytes bounds what clients may store (keys, values and per-key
 * overhead); 0 means no bound. The daemon's own writes are not bounded. */
struct cmap_store *cmap_store_new(size_t max_bytes);
/* Frees the entries and any tracks left (their owners must be done). */
void cmap_store_free(struct cmap_store *s);
size_t cmap_store_count(const struct cmap_store *s);
size_t cmap_store_bytes(const struct cmap_store *s);

/* Read-only rules, checked for clients' set, delete, inc and dec. */
int cmap_store_add_ro(struct cmap_store *s, const char *key, bool prefix);
bool cmap_store_is_ro(const struct cmap_store *s, const char *key);

/* True for a valid name of a new key: 3 to 255 of [a-zA-Z0-9._/:-]. */
bool cmap_key_name_valid(const char *key);
/* The size of a fixed-size type, 0 for STRING and BINARY, -1 when invalid. */
int cmap_type_size(int32_t type);

/* ---- reading ----------------------------------------------------------- */

const struct cmap_entry *cmap_store_find(const struct cmap_store *s, const char *key);
const char *cmap_entry_key(const struct cmap_entry *e);
int32_t cmap_entry_type(const struct cmap_entry *e);
/* The value; a computed one is written into scratch. */
void cmap_entry_value(const struct cmap_entry *e, struct cmap_value *out, uint8_t scratch[CMAP_COMPUTED_MAX]);

/* The first key after `after` (or from the start when NULL) that starts
 * with prefix, or NULL: a cursor that survives any change to the map. */
const struct cmap_entry *cmap_store_next(const struct cmap_store *s, const char *prefix, const char *after);

/* CS_OK with the value, or CS_ERR_NOT_EXIST; scratch as above. */
cs_error_t cmap_store_get(const struct cmap_store *s, const char *key, struct cmap_value *out,
			  uint8_t scratch[CMAP_COMPUTED_MAX]);

/* ---- tracks ------------------------------------------------------------ */

struct cmap_track_ops {
	/* Called after the change is applied; key, old and new values are valid
	 * during the call only. */
	void (*deliver)(struct cmap_track *t, const struct cmap_change *c);
	/* Optional: asked before a client's change is committed; an error
	 * refuses the change (say, CS_ERR_TRY_AGAIN when the owner could not
	 * pass its consequences on). The store itself never calls it. */
	cs_error_t (*check)(struct cmap_track *t, const struct cmap_change *c);
	bool internal; /* the daemon's own: delivered after client tracks */
};

/* flags: CMAP_STORE_* events plus CMAP_STORE_PREFIX; key "" with PREFIX
 * tracks every key. NULL when out of memory. */
struct cmap_track *cmap_store_add_track(struct cmap_store *s, const char *key, int32_t flags,
					const struct cmap_track_ops *ops, void *owner);
/* No delivery happens after this, even for a change in progress. */
void cmap_store_remove_track(struct cmap_track *t);
void *cmap_track_owner(const struct cmap_track *t);
const struct cmap_track_ops *cmap_track_ops(const struct cmap_track *t);
int32_t cmap_track_flags(const struct cmap_track *t);
const char *cmap_track_key(const struct cmap_track *t);

/* ---- changes ----------------------------------------------------------- */

enum cmap_origin {
	CMAP_FROM_CLIENT, /* read-only rules and the byte budget apply */
	CMAP_FROM_DAEMON,
};

#define CMAP_CHANGE_INLINE_MATCHES 8

struct cmap_change {
	struct cmap_store *store;
	const char *key;
	int32_t event; /* CMAP_STORE_ADDED, _MODIFIED, _DELETED; 0: nothing changes */
	struct cmap_value old_value, new_value;
	struct cmap_track **matches;
	size_t n_matches;
	/* private */
	size_t matches_capacity;
	struct cmap_track *inline_matches[CMAP_CHANGE_INLINE_MATCHES];
	struct cmap_entry *entry;   /* the existing entry, or the one being added */
	uint8_t *new_heap;          /* a new value too big for new_inline */
	uint8_t *old_heap;          /* the replaced value, kept until delivered */
	struct cmap_entry *removed; /* a deleted entry, kept until delivered */
	bool prepared;
	/* buffers, left uninitialized until used */
	uint8_t new_inline[16];
	uint8_t old_scratch[CMAP_COMPUTED_MAX];
	uint8_t new_scratch[CMAP_COMPUTED_MAX];
};

/* Each prepares *c (CS_OK), or returns the error and leaves nothing to
 * release. With CS_OK, c->event may be 0 (an identical value): commit is
 * then a no-op. */
cs_error_t cmap_change_set(struct cmap_change *c, struct cmap_store *s, const char *key, int32_t type,
			   const void *bytes, size_t len, enum cmap_origin origin);
cs_error_t cmap_change_delete(struct cmap_change *c, struct cmap_store *s, const char *key,
			      enum cmap_origin origin);
/* inc (+1) and dec (-1): integers wrap around on their unsigned pattern. */
cs_error_t cmap_change_adjust(struct cmap_change *c, struct cmap_store *s, const char *key, int step,
			      enum cmap_origin origin);

/* A computed key (the stats map): its value is read through fn(source,
 * field, buf) whenever it is read; fn returns the length. */
typedef uint32_t (*cmap_compute_fn)(const void *source, uint32_t field, void *buf);
cs_error_t cmap_change_add_computed(struct cmap_change *c, struct cmap_store *s, const char *key,
				    int32_t type, cmap_compute_fn fn, const void *source, uint32_t field);

void cmap_change_commit(struct cmap_change *c);
void cmap_change_abandon(struct cmap_change *c);

/* The value of key as a track reads it while c is delivered (c NULL: the
 * current one): a set's new value, but a deletion's old one, as corosync's
 * trackers see it (libqb tells them before it removes the key). Before c
 * is committed, it is what the track will read then. */
cs_error_t cmap_change_lookup(const struct cmap_change *c, const struct cmap_store *s, const char *key,
			      struct cmap_value *out, uint8_t scratch[CMAP_COMPUTED_MAX]);

/* The daemon's own writes: prepare and commit in one step. */
cs_error_t cmap_store_write(struct cmap_store *s, const char *key, int32_t type, const void *bytes,
			    size_t len);
cs_error_t cmap_store_write_u8(struct cmap_store *s, const char *key, uint8_t value);
cs_error_t cmap_store_write_u16(struct cmap_store *s, const char *key, uint16_t value);
cs_error_t cmap_store_write_u32(struct cmap_store *s, const char *key, uint32_t value);
cs_error_t cmap_store_write_u64(struct cmap_store *s, const char *key, uint64_t value);
cs_error_t cmap_store_write_string(struct cmap_store *s, const char *key, const char *value);
cs_error_t cmap_store_erase(struct cmap_store *s, const char *key);

/* Reads an unsigned integer of the exact type asked; false when the key is
 * missing or of another type (as corosync's icmap_get_uint32 and friends). */
bool cmap_value_u32(const struct cmap_value *v, uint32_t *out);
bool cmap_value_u8(const struct cmap_value *v, uint8_t *out);

#endif
