/* votequorum's settings (quorum {} and each node's quorum_votes), read by
 * its configure hook and checked again at each reload. */
#ifndef CONCLAVE_VOTEQUORUM_SETTINGS_H
#define CONCLAVE_VOTEQUORUM_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <conclave/service.h>

enum cv_atb_mode { CV_ATB_NONE, CV_ATB_LOWEST, CV_ATB_HIGHEST, CV_ATB_LIST };

struct vq_settings {
	bool votequorum;                   /* quorum.provider: corosync_votequorum */
	uint32_t node_votes[CV_MAX_NODES]; /* of the daemon's nodes, in their order; default 1 */
	uint32_t expected_votes;           /* effective start value for the local node */
	uint32_t local_votes;
	bool two_node;
	bool wait_for_all;
	bool last_man_standing;
	uint32_t last_man_standing_window_ms;
	enum cv_atb_mode auto_tie_breaker;
	uint32_t atb_nodes[CV_MAX_NODES];
	size_t n_atb_nodes;
	bool allow_downscale;
	bool device_configured; /* quorum.device.model is set */
	bool device_allowed;    /* no option that excludes a quorum device */
	uint32_t device_votes;
	uint32_t device_timeout_ms;
	uint32_t device_sync_timeout_ms;
	const char *device_model;
};

/* Fills *out from conf (NULL: no file, votequorum with defaults) and the
 * daemon's node list: 0, or -1 with "FILE:LINE: error: message" in err.
 * `out` points into conf. */
int vq_settings_load(const struct cv_conf *conf, const struct cv_settings *daemon, struct vq_settings *out,
		     char *err, size_t err_size);

#endif
