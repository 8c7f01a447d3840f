/* The stats map (CMAP_MAP_STATS): conclaved's own statistics as computed
 * keys, read live whenever they are read.
 *
 *   stats.ipcs.global.active, .closed             u64, as corosync
 *   stats.ipcs.service<ID>.<PID>.0x<CONN>.<field>  one set per connection, as
 *       corosync: procname, requests, responses, dispatched, overload,
 *       invalid_request, queued, queueing, sent, send_retries, recv_retries,
 *       flow_control, flow_control_count; ID is corosync's service id
 *   stats.conclave.<service>.<field>               ours, per service:
 *       connections, connects, requests, errors, events, invalid_requests
 *
 * Connections' keys come and go with the connections, so PREFIX trackers
 * (which must track both ADD and DELETE, as in corosync) see them. They are
 * made once the map is first selected (cmap_stats_in_use()), so a daemon
 * whose stats nobody reads does not pay for them.
 */
#ifndef CONCLAVE_CMAP_STATS_H
#define CONCLAVE_CMAP_STATS_H

#include <conclave/service.h>

#include "cmap-config.h"

int cmap_stats_init(struct cmap_store *stats, const struct cv_server_service *const *services,
		    size_t n_services);
void cmap_stats_fini(void);

#endif
