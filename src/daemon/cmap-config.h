/* The configuration as cmap keys, with corosync's names and types:
 * strings as read from the file, except the keys corosync converts
 * (nodelist.node.N.nodeid, quorum.expected_votes, totem.version, ... as
 * u32; quorum.two_node and the other switches as u8), plus the keys
 * corosync derives from it (uidgid.config.uid.N, nodelist.local_node_pos,
 * runtime.members.N.*, internal_configuration.service.N.*), the daemon's
 * effective limits under runtime.config.conclave., and corosync's
 * read-only rules.
 */
#ifndef CONCLAVE_CMAP_CONFIG_H
#define CONCLAVE_CMAP_CONFIG_H

#include <stddef.h>

#include <conclave/cmap-store.h>
#include <conclave/service.h>
#include <conclave/settings.h>

/* 0, or -1 with "FILE:LINE: error: message" in err. */
int cmap_config_load(struct cmap_store *map, const struct cv_settings *settings,
		     const struct cv_server_service *const *services, size_t n_services, char *err,
		     size_t err_size);

/* A reload, as corosync's: the keys the file gave (`loaded`) are replaced
 * by those of `next`, between config.reload_in_progress 1 and 0; keys the
 * daemon derived and keys clients added are left alone, values clients
 * changed are set back to the file's. As in corosync, the keys of system {}
 * read at start (sched_rr, priority, ...) keep their value, with a notice
 * when the file changed them, and no key of system {} is deleted. 0, or -1
 * with an error in err and nothing changed. */
int cmap_config_reload(struct cmap_store *map, const struct cv_settings *loaded,
		       const struct cv_settings *next, char *err, size_t err_size);

#endif
