/* The daemon's two cmap maps. The default map holds the configuration
 * (cmap-config.h) and what services publish (runtime.votequorum.*); services
 * read their settings from it and track it to follow run-time changes. The
 * stats map is cmap-stats.h. Both exist from cmap_maps_init(), which the
 * daemon calls once the settings are loaded and before any service starts.
 */
#ifndef CONCLAVE_CMAP_MAPS_H
#define CONCLAVE_CMAP_MAPS_H

#include <stdbool.h>
#include <sys/types.h>

#include <conclave/service.h>

#include "cmap-config.h"

/* 0, or -1 with "FILE:LINE: error: message" in err. */
int cmap_maps_init(const struct cv_settings *settings, const struct cv_server_service *const *services,
		   size_t n_services, char *err, size_t err_size);
void cmap_maps_fini(void);

/* corosync's IPC access check: uidgid.uid.<uid> or uidgid.config.uid.<uid>
 * (likewise gid) holding the u8 1; so entries added or deleted at run time
 * take effect for the next connection. Root is checked by the caller. */
bool cmap_uidgid_allows(uid_t uid, gid_t gid);

#endif
