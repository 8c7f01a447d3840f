/* The handle table: 64-bit handles made of a random check value (high 32
 * bits, never 0) and a slot index (low 32 bits), with refcounted entries.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "cv-limits.h"
#include <conclave/client-runtime.h>

enum entry_state {
	ENTRY_FREE = 0,
	ENTRY_ACTIVE,
	ENTRY_DESTROYED, /* waiting for its last reference to drop */
};

struct cv_handle_entry {
	void *object;
	void (*destroy)(void *object);
	uint32_t check;
	uint32_t refs;
	enum entry_state state;
};

#define INITIAL_CAPACITY 8u
/* qb_hdb treats this check value as "no check"; never hand it out. */
#define NOCHECK_VALUE 0xffffffffu

static pthread_once_t check_seed_once = PTHREAD_ONCE_INIT;
static uint64_t check_state;

static void check_seed_init(void)
{
	uint64_t seed;
	struct timespec now;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed)) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		seed = ((uint64_t)now.tv_sec << 32) ^ (uint64_t)now.tv_nsec ^ ((uint64_t)getpid() << 16) ^
		       (uint64_t)(uintptr_t)&seed;
	}
	__atomic_store_n(&check_state, seed, __ATOMIC_RELAXED);
}

/* splitmix64 over an atomic counter: cheap, thread-safe, and good enough to
 * make a stale handle's check differ from its slot's next occupant. */
static uint32_t check_random(void)
{
	uint64_t z;

	pthread_once(&check_seed_once, check_seed_init);
	z = __atomic_add_fetch(&check_state, 0x9e3779b97f4a7c15ull, __ATOMIC_RELAXED);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (uint32_t)(z ^ (z >> 31));
}

static uint32_t check_next(uint32_t previous)
{
	uint32_t check;

	do
		check = check_random();
	while (check == 0 || check == NOCHECK_VALUE || check == previous);
	return check;
}

static uint64_t handle_compose(uint32_t check, uint32_t index)
{
	return ((uint64_t)check << 32) | index;
}

/* The entry `handle` names, in any state but FREE; NULL if none. */
static struct cv_handle_entry *entry_lookup(struct cv_handle_table *table, uint64_t handle)
{
	uint32_t check = (uint32_t)(handle >> 32);
	uint32_t index = (uint32_t)handle;
	struct cv_handle_entry *entry;

	if (check == 0 || index >= table->capacity)
		return NULL;
	entry = &table->entries[index];
	if (entry->state == ENTRY_FREE || entry->check != check)
		return NULL;
	return entry;
}

static cs_error_t table_grow(struct cv_handle_table *table)
{
	uint32_t capacity = table->capacity ? table->capacity * 2 : INITIAL_CAPACITY;
	struct cv_handle_entry *entries;

	if (capacity > CV_HANDLE_TABLE_MAX_ENTRIES)
		capacity = CV_HANDLE_TABLE_MAX_ENTRIES;
	if (capacity <= table->capacity)
		return CS_ERR_NO_RESOURCES;
	entries = realloc(table->entries, capacity * sizeof(*entries));
	if (entries == NULL)
		return CS_ERR_NO_MEMORY;
	memset(entries + table->capacity, 0, (capacity - table->capacity) * sizeof(*entries));
	table->entries = entries;
	table->capacity = capacity;
	return CS_OK;
}

/* Scans from `used`, which is the next free slot whenever handles are freed
 * in creation order, so the common case does not walk the whole table. */
static cs_error_t table_find_free(struct cv_handle_table *table, uint32_t *index)
{
	cs_error_t err;

	if (table->used == table->capacity) {
		err = table_grow(table);
		if (err != CS_OK)
			return err;
	}
	for (uint32_t n = 0; n < table->capacity; n++) {
		uint32_t i = (table->used + n) % table->capacity;

		if (table->entries[i].state == ENTRY_FREE) {
			*index = i;
			return CS_OK;
		}
	}
	return CS_ERR_NO_RESOURCES; /* unreachable: used < capacity */
}

cs_error_t cv_handle_create(struct cv_handle_table *table, void *object, void (*destroy)(void *object),
			    uint64_t *handle)
{
	struct cv_handle_entry *entry;
	uint32_t index;
	cs_error_t err;

	if (table == NULL || handle == NULL)
		return CS_ERR_INVALID_PARAM;
	pthread_mutex_lock(&table->lock);
	err = table_find_free(table, &index);
	if (err == CS_OK) {
		entry = &table->entries[index];
		entry->check = check_next(entry->check);
		entry->object = object;
		entry->destroy = destroy;
		entry->refs = 1;
		entry->state = ENTRY_ACTIVE;
		table->used++;
		*handle = handle_compose(entry->check, index);
	}
	pthread_mutex_unlock(&table->lock);
	return err;
}

cs_error_t cv_handle_get(struct cv_handle_table *table, uint64_t handle, void **object)
{
	struct cv_handle_entry *entry;
	cs_error_t err = CS_ERR_BAD_HANDLE;

	if (table == NULL || object == NULL)
		return CS_ERR_INVALID_PARAM;
	pthread_mutex_lock(&table->lock);
	entry = entry_lookup(table, handle);
	if (entry != NULL && entry->state == ENTRY_ACTIVE) {
		entry->refs++;
		*object = entry->object;
		err = CS_OK;
	}
	pthread_mutex_unlock(&table->lock);
	return err;
}

/* Drops one reference with the lock held. When it was the last, frees the
 * slot and returns true with the destructor to run once the lock is gone:
 * a destructor may itself use the table. */
static bool entry_unref(struct cv_handle_table *table, struct cv_handle_entry *entry, void **object,
			void (**destroy)(void *object))
{
	if (--entry->refs > 0)
		return false;
	*object = entry->object;
	*destroy = entry->destroy;
	entry->object = NULL;
	entry->destroy = NULL;
	entry->state = ENTRY_FREE;
	table->used--;
	return true;
}

static void handle_release(struct cv_handle_table *table, uint64_t handle, bool mark_destroyed,
			   cs_error_t *result)
{
	struct cv_handle_entry *entry;
	void (*destroy)(void *object) = NULL;
	void *object = NULL;
	bool last = false;

	pthread_mutex_lock(&table->lock);
	entry = entry_lookup(table, handle);
	if (entry != NULL && mark_destroyed && entry->state != ENTRY_ACTIVE)
		entry = NULL;
	if (entry != NULL) {
		if (mark_destroyed)
			entry->state = ENTRY_DESTROYED;
		last = entry_unref(table, entry, &object, &destroy);
	}
	pthread_mutex_unlock(&table->lock);
	if (last && destroy != NULL)
		destroy(object);
	if (result != NULL)
		*result = entry != NULL ? CS_OK : CS_ERR_BAD_HANDLE;
}

void cv_handle_put(struct cv_handle_table *table, uint64_t handle)
{
	if (table != NULL)
		handle_release(table, handle, false, NULL);
}

cs_error_t cv_handle_destroy(struct cv_handle_table *table, uint64_t handle)
{
	cs_error_t err;

	if (table == NULL)
		return CS_ERR_INVALID_PARAM;
	handle_release(table, handle, true, &err);
	return err;
}
