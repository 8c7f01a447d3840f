/* The votequorum settings that follow cmap at run time, as corosync's
 * votequorum_readconfig(VOTEQUORUM_READCONFIG_RUNTIME) and its reconfigure
 * messages: quorum.expected_votes, quorum.votes (without a node list),
 * nodelist.node.N.quorum_votes and quorum.device.votes. The rest
 * (wait_for_all, last_man_standing, auto_tie_breaker, ...) is read once at
 * start, as in corosync, and its keys are read-only.
 */
#ifndef CONCLAVE_VOTEQUORUM_CONFIG_H
#define CONCLAVE_VOTEQUORUM_CONFIG_H

#include <conclave/service.h>

#include "votequorum-math.h"

struct vq_runtime_config {
	uint32_t node_votes[VQ_MAX_NODES]; /* by position in the settings' node list */
	uint32_t local_votes;
	uint32_t expected_votes; /* 0: leave the current value */
	bool device_configured;  /* quorum.device.model is set */
	bool device_votes_set;   /* quorum.device.votes, or derived from the node list */
	uint32_t device_votes;
	bool device_conflict; /* the configured device cannot operate with the rest */
};

/* What the map holds, or will hold once c is committed (c may be NULL), as
 * corosync's votequorum_readconfig() reads it at run time. A key that is
 * missing or not of its type counts as absent, as with corosync's
 * icmap_get_uint32(). -1 when the votes would not fit in 32 bits. */
int vq_read_runtime_config(const struct cmap_store *map, const struct cmap_change *c,
			   const struct cv_settings *settings, struct vq_runtime_config *out);

/* Applies it as corosync's votequorum_refresh_config() does: the values
 * are set as they are read, then this node's nodeinfo message recalculates
 * quorum, and reconfigure messages follow for changed votes and expected
 * votes; each step records its events in st. */
void vq_apply_runtime_config(struct vq_state *st, const struct vq_runtime_config *cfg,
			     const struct cv_settings *settings);

#endif
