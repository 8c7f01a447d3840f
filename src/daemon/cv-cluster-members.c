/* Cluster mode: corosync's runtime.members.* keys copied into conclaved's
 * cmap (its default map), so that cmap on this node carries the membership
 * corosync keeps, as corosync's own cmap does. Copied when tracking
 * corosync's votequorum starts and at each of its nodelist notifications
 * (a new ring), before the notification goes on: a client told of a new
 * membership finds its keys. Keys corosync no longer has are deleted.
 * corosync's cmap is read through corosync's own libcmap.so.4, reached as
 * libcpg.so.4 is (cv-corosync-link.h). */
#include <stdio.h>
#include <string.h>

#include <corosync/cmap.h>

#include "cv-corosync-link.h"
#include "cv-log.h"
#include <conclave/cluster.h>
#include <conclave/cmap-store.h>
#include <conclave/service.h>

#define MEMBERS_PREFIX "runtime.members."
/* corosync's values under runtime.members are numbers and short strings. */
#define VALUE_MAX 1024

static cs_error_t copy_key(cmap_handle_t h, const char *key)
{
	char value[VALUE_MAX];
	size_t length = sizeof(value);
	cmap_value_types_t type;
	cs_error_t err = cmap_get(h, key, value, &length, &type);

	if (err != CS_OK)
		return err;
	return cmap_store_write(cmap_default_map(), key, (int32_t)type, value, length);
}

/* Our keys under the prefix that corosync's cmap does not have. */
static void delete_gone(cmap_handle_t h)
{
	struct cmap_store *map = cmap_default_map();
	const struct cmap_entry *e = cmap_store_next(map, MEMBERS_PREFIX, NULL);
	char key[CMAP_KEYNAME_MAXLEN + 1];

	while (e != NULL) {
		size_t length;
		cmap_value_types_t type;

		snprintf(key, sizeof(key), "%s", cmap_entry_key(e));
		e = cmap_store_next(map, MEMBERS_PREFIX, key);
		if (cmap_get(h, key, NULL, &length, &type) == CS_ERR_NOT_EXIST)
			cmap_store_erase(map, key);
	}
}

static cs_error_t copy_members(cmap_handle_t h)
{
	cmap_iter_handle_t iter;
	char key[CMAP_KEYNAME_MAXLEN + 1];
	size_t length;
	cmap_value_types_t type;
	cs_error_t err = cmap_iter_init(h, MEMBERS_PREFIX, &iter);

	if (err != CS_OK)
		return err;
	while ((err = cmap_iter_next(h, iter, key, &length, &type)) == CS_OK)
		if ((err = copy_key(h, key)) != CS_OK && err != CS_ERR_NOT_EXIST)
			break;
	cmap_iter_finalize(h, iter);
	if (err != CS_ERR_NO_SECTIONS && err != CS_ERR_NOT_EXIST)
		return err;
	delete_gone(h);
	return CS_OK;
}

void cv_cluster_copy_members(void)
{
	char why[600];
	cmap_handle_t h;
	cs_error_t err;

	if (cv_link_check_cmap(why, sizeof(why)) != 0) {
		cv_log_error("cluster: cannot copy corosync's %s keys: %s", MEMBERS_PREFIX, why);
		return;
	}
	err = cmap_initialize(&h);
	if (err != CS_OK) {
		cv_log_warning("cluster: cannot read corosync's cmap (error %d): %s keys not copied",
			       (int)err, MEMBERS_PREFIX);
		return;
	}
	err = copy_members(h);
	if (err != CS_OK)
		cv_log_warning("cluster: copying corosync's %s keys failed (error %d)", MEMBERS_PREFIX,
			       (int)err);
	cmap_finalize(h);
}
