/* Cluster mode: the keys corosync keeps about the cluster, copied from the
 * corosync on this node into conclaved's cmap (its default map) and kept in
 * step with it: runtime.members.*, nodelist.*, totem.*, quorum.* and
 * runtime.votequorum.*, with corosync's types and values, so that cmap on
 * this node carries what corosync's cmap carries there.
 *
 * A connection to corosync's own libcmap.so.4 (reached as libcpg.so.4 is;
 * see cv-corosync-link.h) tracks each prefix. Opening it, adding the tracks
 * and reading every key (a snapshot) are calls that wait for corosync: they
 * run on the worker (cv-corosync-calls.h), tracks first, so that no change
 * falls between the snapshot and the tracking. The loop then applies the
 * snapshot (deleting what corosync does not have), and from there on reads
 * the tracking's notifications, which carry the new values, as they come:
 * that reading does not wait. When corosync closes the connection the keys
 * stay as last seen and the connection is opened again every RETRY_MS.
 *
 * A reload of conclaved's own file rewrites some of these keys: the copy is
 * made again once it is over.
 *
 * Writes of conclaved's clients under these prefixes are passed on to
 * corosync's cmap (cv_cluster_cmap_call()), whose answer they get; the
 * tracking brings the change back. corosync's read-only keys are the same
 * in conclaved's map (cmap-config.c), so a write to one fails here as it
 * does there. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include <corosync/cmap.h>

#include "cv-corosync-calls.h"
#include "cv-corosync-link.h"
#include "cv-log.h"
#include "cv-loop.h"
#include <conclave/cluster.h>
#include <conclave/cmap-store.h>

#define RETRY_MS 1000u
/* How long start-up waits for the first snapshot. */
#define FIRST_COPY_MS 5000

static const char *const prefixes[] = {
	"runtime.members.", "nodelist.", "totem.", "quorum.", "runtime.votequorum.",
};
#define N_PREFIXES (sizeof(prefixes) / sizeof(prefixes[0]))

struct entry {
	struct entry *next;
	int32_t type;
	size_t length;
	char key[CMAP_KEYNAME_MAXLEN + 1];
	unsigned char value[];
};

struct snapshot_call {
	struct cv_corosync_call call;
	cmap_handle_t handle;
	struct entry *entries;
};

static cmap_handle_t tracking; /* the worker's until handed to the loop */
static cmap_handle_t writer;   /* the worker's, for clients' writes */
static struct cv_watch watch = { .fd = -1 };
static struct cv_timer retry;
static bool copying;     /* a snapshot call is queued */
static bool copied_once; /* a snapshot was applied */
static unsigned failures;

/* ---- on the worker ------------------------------------------------------ */

static void on_change(cmap_handle_t h, cmap_track_handle_t t, int32_t event, const char *key,
		      struct cmap_notify_value new_value, struct cmap_notify_value old_value, void *data);

static cs_error_t open_tracked(cmap_handle_t *h, char *why, size_t size)
{
	cmap_track_handle_t track;
	cs_error_t err;
	int fd;

	if (cv_link_check_cmap(why, size) != 0)
		return CS_ERR_LIBRARY;
	err = cmap_initialize(h);
	if (err != CS_OK)
		return err;
	if (cmap_fd_get(*h, &fd) != CS_OK || cv_corosync_peer_check(fd, "cmap", why, size) != 0) {
		cmap_finalize(*h);
		return CS_ERR_LIBRARY;
	}
	for (size_t i = 0; i < N_PREFIXES; i++) {
		err = cmap_track_add(*h, prefixes[i],
				     CMAP_TRACK_ADD | CMAP_TRACK_DELETE | CMAP_TRACK_MODIFY |
					     CMAP_TRACK_PREFIX,
				     on_change, NULL, &track);
		if (err != CS_OK) {
			snprintf(why, size, "cmap_track_add(%s): error %d", prefixes[i], (int)err);
			cmap_finalize(*h);
			return err;
		}
	}
	return CS_OK;
}

static cs_error_t read_key(cmap_handle_t h, const char *key, size_t length, struct entry **out)
{
	struct entry *e = malloc(sizeof(*e) + (length ? length : 1));
	cmap_value_types_t type;
	cs_error_t err;

	if (e == NULL)
		return CS_ERR_NO_MEMORY;
	e->length = length;
	err = cmap_get(h, key, e->value, &e->length, &type);
	if (err != CS_OK) {
		free(e);
		return err;
	}
	e->type = (int32_t)type;
	snprintf(e->key, sizeof(e->key), "%s", key);
	*out = e;
	return CS_OK;
}

static cs_error_t read_prefix(cmap_handle_t h, const char *prefix, struct entry **list)
{
	cmap_iter_handle_t iter;
	char key[CMAP_KEYNAME_MAXLEN + 1];
	size_t length;
	cmap_value_types_t type;
	struct entry *e;
	cs_error_t err = cmap_iter_init(h, prefix, &iter);

	if (err != CS_OK)
		return err;
	while ((err = cmap_iter_next(h, iter, key, &length, &type)) == CS_OK) {
		err = read_key(h, key, length, &e);
		if (err == CS_ERR_NOT_EXIST) /* deleted meanwhile: the tracking says so */
			continue;
		if (err != CS_OK)
			break;
		e->next = *list;
		*list = e;
	}
	cmap_iter_finalize(h, iter);
	return err == CS_ERR_NO_SECTIONS || err == CS_ERR_NOT_EXIST ? CS_OK : err;
}

static void run_snapshot(struct cv_corosync_call *call)
{
	struct snapshot_call *c = (struct snapshot_call *)call;

	call->err = open_tracked(&c->handle, call->why, sizeof(call->why));
	for (size_t i = 0; call->err == CS_OK && i < N_PREFIXES; i++)
		call->err = read_prefix(c->handle, prefixes[i], &c->entries);
	if (call->err != CS_OK && c->handle != 0) {
		cmap_finalize(c->handle);
		c->handle = 0;
	}
}

/* ---- on the loop --------------------------------------------------------- */

static bool mirrored(const char *key)
{
	for (size_t i = 0; i < N_PREFIXES; i++)
		if (strncmp(key, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return false;
}

bool cv_cluster_cmap_mirrored(const char *key)
{
	return cv_cluster_enabled() && mirrored(key);
}

static void write_key(const char *key, int32_t type, const void *value, size_t length)
{
	cs_error_t err = cmap_store_write(cmap_default_map(), key, type, value, length);

	if (err != CS_OK)
		cv_log_warning("cluster: cannot copy corosync's %s into cmap (error %d)", key, (int)err);
}

static void on_change(cmap_handle_t h, cmap_track_handle_t t, int32_t event, const char *key,
		      struct cmap_notify_value new_value, struct cmap_notify_value old_value, void *data)
{
	(void)h;
	(void)t;
	(void)old_value;
	(void)data;
	if (event == CMAP_TRACK_DELETE)
		cmap_store_erase(cmap_default_map(), key);
	else
		write_key(key, (int32_t)new_value.type, new_value.data, new_value.len);
}

static bool in_snapshot(const struct entry *e, const char *key)
{
	for (; e != NULL; e = e->next)
		if (strcmp(e->key, key) == 0)
			return true;
	return false;
}

/* Our keys under the prefixes that corosync's cmap does not have. */
static void delete_absent(const struct entry *entries)
{
	struct cmap_store *map = cmap_default_map();
	char key[CMAP_KEYNAME_MAXLEN + 1];

	for (size_t i = 0; i < N_PREFIXES; i++) {
		const struct cmap_entry *e = cmap_store_next(map, prefixes[i], NULL);

		while (e != NULL) {
			snprintf(key, sizeof(key), "%s", cmap_entry_key(e));
			e = cmap_store_next(map, prefixes[i], key);
			if (!in_snapshot(entries, key))
				cmap_store_erase(map, key);
		}
	}
}

static void free_entries(struct entry *e)
{
	while (e != NULL) {
		struct entry *next = e->next;

		free(e);
		e = next;
	}
}

static void on_readable(void *data, uint32_t events);

static void lost(const char *why)
{
	cv_log_warning("cluster: corosync's cmap lost (%s): its keys stay as last copied until it is back",
		       why);
	if (watch.fd >= 0)
		cv_watch_remove(&watch);
	watch.fd = -1;
	cmap_finalize(tracking);
	tracking = 0;
	cv_timer_start(&retry, RETRY_MS);
}

static void snapshot_done(struct cv_corosync_call *call)
{
	struct snapshot_call *c = (struct snapshot_call *)call;
	int fd;

	copying = false;
	if (call->err != CS_OK) {
		if (failures++ % 10 == 0)
			cv_log_warning(
				"cluster: cannot copy corosync's cmap (error %d%s%s); trying again every %u ms",
				(int)call->err, call->why[0] ? ": " : "", call->why, RETRY_MS);
		cv_timer_start(&retry, RETRY_MS);
		free(c);
		return;
	}
	for (const struct entry *e = c->entries; e != NULL; e = e->next)
		write_key(e->key, e->type, e->value, e->length);
	delete_absent(c->entries);
	free_entries(c->entries);
	tracking = c->handle;
	free(c);
	failures = 0;
	cv_log_notice("cluster: cmap carries corosync's cluster keys%s", copied_once ? " again" : "");
	copied_once = true;
	if (cmap_fd_get(tracking, &fd) != CS_OK || cv_watch_add(&watch, fd, EPOLLIN, on_readable, NULL) < 0)
		lost("cannot watch the connection");
	else
		on_readable(NULL, 0);
}

static void copy(void *data)
{
	struct snapshot_call *c;

	(void)data;
	if (copying || tracking != 0)
		return;
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		cv_timer_start(&retry, RETRY_MS);
		return;
	}
	c->call.run = run_snapshot;
	c->call.done = snapshot_done;
	copying = true;
	cv_corosync_call_queue(&c->call);
}

static void on_readable(void *data, uint32_t events)
{
	cs_error_t err;

	(void)data;
	(void)events;
	err = cmap_dispatch(tracking, CS_DISPATCH_ALL);
	if (err != CS_OK && err != CS_ERR_TRY_AGAIN)
		lost(err == CS_ERR_LIBRARY ? "connection closed" : "dispatch failed");
}

void cv_cluster_cmap_drain(void)
{
	if (watch.fd >= 0)
		on_readable(NULL, 0);
}

/* A reload of conclaved's file rewrites its keys, some under the copied
 * prefixes: once it is over, corosync's are copied again. */
static void reload_changed(struct cmap_track *t, const struct cmap_change *c)
{
	uint8_t buffer[CMAP_COMPUTED_MAX], reloading = 1;
	struct cmap_value v;

	(void)t;
	(void)c;
	if (cmap_store_get(cmap_default_map(), "config.reload_in_progress", &v, buffer) != CS_OK ||
	    !cmap_value_u8(&v, &reloading) || reloading || tracking == 0)
		return;
	cv_watch_remove(&watch);
	watch.fd = -1;
	cmap_finalize(tracking);
	tracking = 0;
	copy(NULL);
}

static const struct cmap_track_ops reload_ops = { .deliver = reload_changed, .internal = true };
static struct cmap_track *reload_track;

void cv_cluster_cmap_start(void)
{
	cv_timer_init(&retry, copy, NULL);
	reload_track = cmap_store_add_track(cmap_default_map(), "config.reload_in_progress",
					    CMAP_STORE_ADDED | CMAP_STORE_MODIFIED, &reload_ops, NULL);
	if (reload_track == NULL)
		cv_log_error(
			"cluster: out of memory: a reload will leave conclaved's keys in place of corosync's");
	copy(NULL);
	cv_corosync_calls_wait(FIRST_COPY_MS, &copying);
}

void cv_cluster_cmap_stop(bool worker_ended)
{
	if (reload_track != NULL)
		cmap_store_remove_track(reload_track);
	reload_track = NULL;
	cv_timer_stop(&retry);
	if (watch.fd >= 0)
		cv_watch_remove(&watch);
	watch.fd = -1;
	if (tracking != 0 && worker_ended)
		cmap_finalize(tracking);
	tracking = 0;
	if (writer != 0 && worker_ended)
		cmap_finalize(writer);
	writer = 0;
	copying = false;
}

/* ---- clients' writes, passed on ------------------------------------------ */

struct write_call {
	struct cv_corosync_call call;
	enum cv_cmap_write kind;
	int32_t type;
	size_t length;
	char key[CMAP_KEYNAME_MAXLEN + 1];
	unsigned char value[];
};

static cs_error_t write_request(const struct write_call *c)
{
	switch (c->kind) {
	case CV_CMAP_SET:
		return cmap_set(writer, c->key, c->value, c->length, (cmap_value_types_t)c->type);
	case CV_CMAP_DELETE:
		return cmap_delete(writer, c->key);
	case CV_CMAP_INC:
		return cmap_inc(writer, c->key);
	case CV_CMAP_DEC:
		return cmap_dec(writer, c->key);
	}
	return CS_ERR_LIBRARY;
}

static cs_error_t open_writer(char *why, size_t size)
{
	cs_error_t err;
	int fd;

	if (writer != 0)
		return CS_OK;
	if (cv_link_check_cmap(why, size) != 0)
		return CS_ERR_LIBRARY;
	err = cmap_initialize(&writer);
	if (err != CS_OK) {
		writer = 0;
		return err == CS_ERR_LIBRARY ? CS_ERR_TRY_AGAIN : err;
	}
	if (cmap_fd_get(writer, &fd) != CS_OK || cv_corosync_peer_check(fd, "cmap", why, size) != 0) {
		cmap_finalize(writer);
		writer = 0;
		return CS_ERR_LIBRARY;
	}
	return CS_OK;
}

/* A connection open from before a restart of corosync fails at its first
 * call: the call is made once more on a new one. */
static void run_write(struct cv_corosync_call *call)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		call->err = open_writer(call->why, sizeof(call->why));
		if (call->err != CS_OK)
			return;
		call->err = write_request((struct write_call *)call);
		if (call->err != CS_ERR_LIBRARY && call->err != CS_ERR_BAD_HANDLE)
			return;
		cmap_finalize(writer);
		writer = 0;
	}
}

/* The client hears once the change is back through the tracking, so that
 * a read after the answer sees it, as on corosync. */
static void write_done(struct cv_corosync_call *call)
{
	cv_corosync_call_log(call);
	cv_cluster_cmap_drain();
	if (call->session != NULL)
		cv_session_reply(call->session, &call->reply, call->err, NULL);
	free(call);
}

cs_error_t cv_cluster_cmap_call(struct cv_session *s, enum cv_cmap_write kind, const char *key, int32_t type,
				const void *value, size_t length)
{
	struct write_call *c;

	if (strlen(key) > CMAP_KEYNAME_MAXLEN)
		return CS_ERR_NAME_TOO_LONG;
	c = calloc(1, sizeof(*c) + length);
	if (c == NULL)
		return CS_ERR_NO_MEMORY;
	c->kind = kind;
	c->type = type;
	c->length = length;
	snprintf(c->key, sizeof(c->key), "%s", key);
	if (length > 0)
		memcpy(c->value, value, length);
	c->call.session = s;
	c->call.run = run_write;
	c->call.done = write_done;
	cv_corosync_call_queue(&c->call);
	return CS_OK;
}
