/* The cmap functions the IDL marks `manual`, over the internal store_*
 * requests: connecting (with the notification handler in the callback table),
 * the typed setters and getters, get's buffer rules, the iterator's key
 * buffer, and each handle's table of tracks, which turns the daemon's
 * notifications into calls of each track's notify_fn.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <corosync/cmap.h>

#include <conclave/client-runtime.h>
#include "cmap-client.h"

#define TRACK_TYPES (CMAP_TRACK_ADD | CMAP_TRACK_DELETE | CMAP_TRACK_MODIFY | CMAP_TRACK_PREFIX)

/* ---- a handle's tracks ----------------------------------------------------
 * The daemon knows a track by its own handle; every notification also carries
 * the id the library gave the track, which finds its notify_fn and user_data
 * in the bucket of its id, in the handle's instance: its private state in the
 * runtime, freed with the handle. Entries are only used under the instance's
 * lock (callers get copies), so a notify_fn runs without it and may add or
 * delete tracks, or finalize its handle.
 */
#define TRACK_BUCKETS 64

struct track {
	uint64_t id;
	cmap_track_handle_t track_handle; /* the daemon's, once it has answered */
	cmap_notify_fn_t notify_fn;
	void *user_data;
	struct track *next;
};

struct cmap_instance {
	pthread_mutex_t lock;
	uint64_t last_track_id;
	struct track *tracks[TRACK_BUCKETS];
};

static void tracks_free(struct track *t)
{
	while (t != NULL) {
		struct track *next = t->next;

		free(t);
		t = next;
	}
}

static void instance_destroy(void *data)
{
	struct cmap_instance *instance = data;

	for (size_t i = 0; i < TRACK_BUCKETS; i++)
		tracks_free(instance->tracks[i]);
	pthread_mutex_destroy(&instance->lock);
	free(instance);
}

/* The instance of `handle`, locked, with a reference on the handle; NULL
 * once the handle is finalized. */
static struct cmap_instance *instance_lock(cmap_handle_t handle)
{
	struct cmap_instance *instance;

	if (cv_client_private_get(&cmap_client_service, handle, (void **)&instance) != CS_OK)
		return NULL;
	pthread_mutex_lock(&instance->lock);
	return instance;
}

static void instance_unlock(cmap_handle_t handle, struct cmap_instance *instance)
{
	pthread_mutex_unlock(&instance->lock);
	cv_client_private_put(&cmap_client_service, handle);
}

static struct track **track_bucket(struct cmap_instance *instance, uint64_t id)
{
	return &instance->tracks[id % TRACK_BUCKETS];
}

static cs_error_t track_register(cmap_handle_t handle, cmap_notify_fn_t notify_fn, void *user_data,
				 uint64_t *id)
{
	struct track *t = calloc(1, sizeof(*t));
	struct cmap_instance *instance;

	if (t == NULL)
		return CS_ERR_NO_MEMORY;
	instance = instance_lock(handle);
	if (instance == NULL) {
		free(t);
		return CS_ERR_BAD_HANDLE;
	}
	t->notify_fn = notify_fn;
	t->user_data = user_data;
	t->id = ++instance->last_track_id;
	t->next = *track_bucket(instance, t->id);
	*track_bucket(instance, t->id) = t;
	*id = t->id;
	instance_unlock(handle, instance);
	return CS_OK;
}

/* Instance lock held. */
static struct track *track_by_id(struct cmap_instance *instance, uint64_t id)
{
	struct track *t = *track_bucket(instance, id);

	while (t != NULL && t->id != id)
		t = t->next;
	return t;
}

/* False when the track is gone: its handle was finalized meanwhile. */
static bool track_bind(cmap_handle_t handle, uint64_t id, cmap_track_handle_t track_handle)
{
	struct cmap_instance *instance = instance_lock(handle);
	struct track *t;

	if (instance == NULL)
		return false;
	t = track_by_id(instance, id);
	if (t != NULL)
		t->track_handle = track_handle;
	instance_unlock(handle, instance);
	return t != NULL;
}

static bool track_find(cmap_handle_t handle, uint64_t id, cmap_notify_fn_t *notify_fn, void **user_data)
{
	struct cmap_instance *instance = instance_lock(handle);
	struct track *t;

	if (instance == NULL)
		return false;
	t = track_by_id(instance, id);
	if (t != NULL) {
		*notify_fn = t->notify_fn;
		*user_data = t->user_data;
	}
	instance_unlock(handle, instance);
	return t != NULL;
}

struct track_match {
	bool by_id;
	uint64_t id;
	cmap_track_handle_t track_handle;
};

static bool track_matches(const struct track *t, const struct track_match *m)
{
	return m->by_id ? t->id == m->id : t->track_handle == m->track_handle;
}

/* Instance lock held. Moves the matching tracks of one bucket to *gone. */
static void bucket_unlink(struct track **link, const struct track_match *match, struct track **gone)
{
	struct track *t;

	while ((t = *link) != NULL) {
		if (track_matches(t, match)) {
			*link = t->next;
			t->next = *gone;
			*gone = t;
		} else {
			link = &t->next;
		}
	}
}

static void tracks_forget(cmap_handle_t handle, const struct track_match *match)
{
	struct cmap_instance *instance = instance_lock(handle);
	struct track *gone = NULL;

	if (instance == NULL)
		return;
	if (match->by_id) {
		bucket_unlink(track_bucket(instance, match->id), match, &gone);
	} else {
		for (size_t i = 0; i < TRACK_BUCKETS; i++)
			bucket_unlink(&instance->tracks[i], match, &gone);
	}
	instance_unlock(handle, instance);
	tracks_free(gone);
}

static void track_forget_id(cmap_handle_t handle, uint64_t id)
{
	tracks_forget(handle, &(struct track_match){ .by_id = true, .id = id });
}

static void track_forget_track_handle(cmap_handle_t handle, cmap_track_handle_t track_handle)
{
	tracks_forget(handle, &(struct track_match){ .track_handle = track_handle });
}

/* ---- notifications ------------------------------------------------------ */

/* As in corosync, data is never NULL, not even for the value an ADD or a
 * DELETE does not have (type 0, len 0). */
static struct cmap_notify_value notify_value(cmap_value_types_t type, size_t len, const void *data)
{
	static const char no_bytes[1];
	struct cmap_notify_value value = { .type = type, .len = len, .data = data ? data : no_bytes };

	if (type == 0)
		value.len = 0;
	return value;
}

/* The library's handler of the notification event (cmap_notification_fn_t). */
static void notification_received(cmap_handle_t handle, uint64_t track_id, cmap_track_handle_t track_handle,
				  int32_t event, const char *key_name, cmap_value_types_t new_type,
				  size_t new_len, const void *new_value, cmap_value_types_t old_type,
				  size_t old_len, const void *old_value)
{
	cmap_notify_fn_t notify_fn;
	void *user_data;

	if (!track_find(handle, track_id, &notify_fn, &user_data))
		return; /* deleted after the daemon sent this */
	notify_fn(handle, track_handle, event, key_name, notify_value(new_type, new_len, new_value),
		  notify_value(old_type, old_len, old_value), user_data);
}

/* ---- connecting ---------------------------------------------------------- */

static cs_error_t connect_service(cmap_handle_t *handle)
{
	cv_callback_fn table[CMAP_N_EVENTS] = {
		[CMAP_EVENT_NOTIFICATION] = (cv_callback_fn)notification_received,
	};
	struct cmap_instance *instance = calloc(1, sizeof(*instance));

	if (instance == NULL)
		return CS_ERR_NO_MEMORY;
	pthread_mutex_init(&instance->lock, NULL);
	return cv_client_initialize_private(&cmap_client_service, handle, table, NULL, instance,
					    instance_destroy);
}

cs_error_t cmap_initialize(cmap_handle_t *handle)
{
	return connect_service(handle);
}

/* Unlike corosync, a map the daemon refuses leaves no handle behind. */
cs_error_t cmap_initialize_map(cmap_handle_t *handle, cmap_map_t map)
{
	cmap_handle_t connected;
	cs_error_t err;

	if (handle == NULL)
		return CS_ERR_INVALID_PARAM;
	err = connect_service(&connected);
	if (err != CS_OK)
		return err;
	err = cmap_store_select_map(connected, map);
	if (err != CS_OK) {
		cv_client_finalize(&cmap_client_service, connected);
		return err;
	}
	*handle = connected;
	return CS_OK;
}

/* The daemon drops the connection's tracks and iterators when it closes;
 * the library's go with the handle. */
cs_error_t cmap_finalize(cmap_handle_t handle)
{
	return cv_client_finalize(&cmap_client_service, handle);
}

/* The fixed-size value types, whose typed setter and getter are the same
 * but for the type: cmap_set_<suffix> and cmap_get_<suffix>. */
#define CMAP_FIXED_TYPES(X)                        \
	X(int8, int8_t, CMAP_VALUETYPE_INT8)       \
	X(uint8, uint8_t, CMAP_VALUETYPE_UINT8)    \
	X(int16, int16_t, CMAP_VALUETYPE_INT16)    \
	X(uint16, uint16_t, CMAP_VALUETYPE_UINT16) \
	X(int32, int32_t, CMAP_VALUETYPE_INT32)    \
	X(uint32, uint32_t, CMAP_VALUETYPE_UINT32) \
	X(int64, int64_t, CMAP_VALUETYPE_INT64)    \
	X(uint64, uint64_t, CMAP_VALUETYPE_UINT64) \
	X(float, float, CMAP_VALUETYPE_FLOAT)      \
	X(double, double, CMAP_VALUETYPE_DOUBLE)

/* ---- set ----------------------------------------------------------------- */

/* A string value must not claim more bytes than it has up to its NUL:
 * checked here, so that no more than that is read from the caller's memory.
 * The daemon checks the key, the type, the sizes and the read-only keys. */
cs_error_t cmap_set(cmap_handle_t handle, const char *key_name, const void *value, size_t value_len,
		    cmap_value_types_t type)
{
	if (key_name == NULL || value == NULL)
		return CS_ERR_INVALID_PARAM;
	if (type == CMAP_VALUETYPE_STRING && value_len > strnlen(value, value_len) + 1)
		return CS_ERR_INVALID_PARAM;
	return cmap_store_set(handle, key_name, value, value_len, type);
}

#define CMAP_SETTER(suffix, type, value_type)                                                \
	cs_error_t cmap_set_##suffix(cmap_handle_t handle, const char *key_name, type value) \
	{                                                                                    \
		return cmap_set(handle, key_name, &value, sizeof(value), value_type);        \
	}
CMAP_FIXED_TYPES(CMAP_SETTER)

cs_error_t cmap_set_string(cmap_handle_t handle, const char *key_name, const char *value)
{
	if (value == NULL)
		return CS_ERR_INVALID_PARAM;
	return cmap_set(handle, key_name, value, strlen(value), CMAP_VALUETYPE_STRING);
}

/* ---- get ----------------------------------------------------------------- */

/* The daemon returns the whole value; the caller's buffer rules apply here. */
cs_error_t cmap_get(cmap_handle_t handle, const char *key_name, void *value, size_t *value_len,
		    cmap_value_types_t *type)
{
	cmap_value_types_t stored_type;
	size_t stored_len;
	void *stored;
	cs_error_t err;

	if (value != NULL && value_len == NULL)
		return CS_ERR_INVALID_PARAM;
	err = cmap_store_get(handle, key_name, &stored_type, &stored, &stored_len);
	if (err != CS_OK)
		return err;
	if (value != NULL && *value_len < stored_len) {
		err = CS_ERR_INVALID_PARAM;
	} else {
		if (value != NULL && stored_len > 0)
			memcpy(value, stored, stored_len);
		if (value_len != NULL)
			*value_len = stored_len;
		if (type != NULL)
			*type = stored_type;
	}
	free(stored);
	return err;
}

/* No conversion: the stored type must be the one asked for. */
static cs_error_t get_fixed(cmap_handle_t handle, const char *key_name, void *out, size_t size,
			    cmap_value_types_t type)
{
	cmap_value_types_t stored_type;
	size_t stored_len;
	void *stored;
	cs_error_t err;

	if (out == NULL)
		return CS_ERR_INVALID_PARAM;
	err = cmap_store_get(handle, key_name, &stored_type, &stored, &stored_len);
	if (err != CS_OK)
		return err;
	if (stored_type == type && stored_len == size)
		memcpy(out, stored, size);
	else
		err = CS_ERR_INVALID_PARAM;
	free(stored);
	return err;
}

#define CMAP_GETTER(suffix, type, value_type)                                                 \
	cs_error_t cmap_get_##suffix(cmap_handle_t handle, const char *key_name, type *value) \
	{                                                                                     \
		return get_fixed(handle, key_name, value, sizeof(*value), value_type);        \
	}
CMAP_FIXED_TYPES(CMAP_GETTER)

/* A NUL-terminated copy even if the stored bytes lacked their NUL. */
static char *string_copy(const void *bytes, size_t len)
{
	char *copy = malloc(len + 1);

	if (copy == NULL)
		return NULL;
	if (len > 0)
		memcpy(copy, bytes, len);
	copy[len] = '\0';
	return copy;
}

/* One read, where corosync reads the length and then the value. */
cs_error_t cmap_get_string(cmap_handle_t handle, const char *key_name, char **str)
{
	cmap_value_types_t stored_type;
	size_t stored_len;
	void *stored;
	cs_error_t err;

	if (str == NULL)
		return CS_ERR_INVALID_PARAM;
	err = cmap_store_get(handle, key_name, &stored_type, &stored, &stored_len);
	if (err != CS_OK)
		return err;
	if (stored_type != CMAP_VALUETYPE_STRING) {
		err = CS_ERR_INVALID_PARAM;
	} else {
		*str = string_copy(stored, stored_len);
		if (*str == NULL)
			err = CS_ERR_NO_MEMORY;
	}
	free(stored);
	return err;
}

/* ---- iteration ------------------------------------------------------------ */

cs_error_t cmap_iter_next(cmap_handle_t handle, cmap_iter_handle_t iter_handle, char key_name[],
			  size_t *value_len, cmap_value_types_t *type)
{
	cmap_value_types_t next_type;
	size_t next_len;
	char *next_name;
	cs_error_t err;

	if (key_name == NULL)
		return CS_ERR_INVALID_PARAM;
	err = cmap_store_iter_next(handle, iter_handle, &next_name, &next_len, &next_type);
	if (err != CS_OK)
		return err;
	strncpy(key_name, next_name, CMAP_KEYNAME_MAXLEN);
	key_name[CMAP_KEYNAME_MAXLEN] = '\0';
	free(next_name);
	if (value_len != NULL)
		*value_len = next_len;
	if (type != NULL)
		*type = next_type;
	return CS_OK;
}

/* ---- tracking ------------------------------------------------------------- */

/* The track is in the table before the daemon knows it, so that no
 * notification can find it missing; unlike corosync, a refused track leaves
 * nothing behind. */
cs_error_t cmap_track_add(cmap_handle_t handle, const char *key_name, int32_t track_type,
			  cmap_notify_fn_t notify_fn, void *user_data, cmap_track_handle_t *cmap_track_handle)
{
	cmap_track_handle_t track_handle;
	uint64_t id;
	cs_error_t err;

	if (notify_fn == NULL || cmap_track_handle == NULL || (track_type & ~TRACK_TYPES) != 0)
		return CS_ERR_INVALID_PARAM;
	err = track_register(handle, notify_fn, user_data, &id);
	if (err != CS_OK)
		return err;
	err = cmap_store_track_add(handle, key_name, track_type, id, &track_handle);
	if (err == CS_OK && !track_bind(handle, id, track_handle))
		err = CS_ERR_BAD_HANDLE;
	if (err != CS_OK) {
		track_forget_id(handle, id);
		return err;
	}
	*cmap_track_handle = track_handle;
	return CS_OK;
}

cs_error_t cmap_track_delete(cmap_handle_t handle, cmap_track_handle_t track_handle)
{
	cs_error_t err = cmap_store_track_delete(handle, track_handle);

	if (err == CS_OK)
		track_forget_track_handle(handle, track_handle);
	return err;
}
