#include <stdio.h>

#include "cmap-maps.h"
#include "cmap-stats.h"

static struct cmap_store *default_map;
static struct cmap_store *stats_map;

int cmap_maps_init(const struct cv_settings *settings, const struct cv_server_service *const *services,
		   size_t n_services, char *err, size_t err_size)
{
	default_map = cmap_store_new(settings->limits.cmap_max_bytes);
	stats_map = cmap_store_new(0);
	if (!default_map || !stats_map) {
		snprintf(err, err_size, "conclaved: error: out of memory for the cmap maps");
		cmap_maps_fini();
		return -1;
	}
	if (cmap_config_load(default_map, settings, services, n_services, err, err_size) < 0 ||
	    cmap_stats_init(stats_map, services, n_services) < 0) {
		cmap_maps_fini();
		return -1;
	}
	return 0;
}

void cmap_maps_fini(void)
{
	cmap_stats_fini();
	cmap_store_free(default_map);
	cmap_store_free(stats_map);
	default_map = stats_map = NULL;
}

struct cmap_store *cmap_default_map(void)
{
	return default_map;
}

struct cmap_store *cmap_stats_map(void)
{
	return stats_map;
}

static bool id_listed(const char *kind, unsigned id)
{
	uint8_t scratch[CMAP_COMPUTED_MAX];
	struct cmap_value v;
	char key[64];
	uint8_t allowed;

	snprintf(key, sizeof(key), "uidgid.%s.%u", kind, id);
	if (cmap_store_get(default_map, key, &v, scratch) == CS_OK && cmap_value_u8(&v, &allowed) &&
	    allowed == 1)
		return true;
	snprintf(key, sizeof(key), "uidgid.config.%s.%u", kind, id);
	return cmap_store_get(default_map, key, &v, scratch) == CS_OK && cmap_value_u8(&v, &allowed) &&
	       allowed == 1;
}

bool cmap_uidgid_allows(uid_t uid, gid_t gid)
{
	return id_listed("uid", (unsigned)uid) || id_listed("gid", (unsigned)gid);
}
