#include <stdio.h>

#include <corosync/votequorum.h>

#include "votequorum-config.h"

static bool read_u32(const struct cmap_store *map, const struct cmap_change *c, const char *key, uint32_t *out)
{
	uint8_t scratch[CMAP_COMPUTED_MAX];
	struct cmap_value v;

	return cmap_change_lookup(c, map, key, &v, scratch) == CS_OK && cmap_value_u32(&v, out);
}

/* Sums the node list's votes; false when not every node has one vote. */
static bool read_node_votes(const struct cmap_store *map, const struct cmap_change *c,
			    const struct cv_settings *settings, struct vq_runtime_config *out, uint64_t *sum)
{
	bool all_single = true;
	char key[64];

	*sum = 0;
	for (size_t i = 0; i < settings->n_nodes; i++) {
		out->node_votes[i] = 1;
		snprintf(key, sizeof(key), "nodelist.node.%zu.quorum_votes", i);
		read_u32(map, c, key, &out->node_votes[i]);
		*sum += out->node_votes[i];
		all_single &= out->node_votes[i] == 1;
	}
	out->local_votes = out->node_votes[settings->local_node];
	return all_single;
}

int vq_read_runtime_config(const struct cmap_store *map, const struct cmap_change *c,
			   const struct cv_settings *settings, struct vq_runtime_config *out)
{
	uint64_t sum = 0;
	bool all_single = false;

	*out = (struct vq_runtime_config){ .local_votes = 1 };
	if (settings->have_nodelist) {
		all_single = read_node_votes(map, c, settings, out, &sum);
	} else {
		read_u32(map, c, "quorum.votes", &out->local_votes);
		out->node_votes[0] = out->local_votes;
		sum = out->local_votes;
	}
	out->device_votes_set = read_u32(map, c, "quorum.device.votes", &out->device_votes);
	read_u32(map, c, "quorum.expected_votes", &out->expected_votes);
	if (settings->have_nodelist && out->expected_votes == 0) {
		/* as at start: the node list's sum, plus a device's own share */
		if (settings->quorum.device_configured && !out->device_votes_set && all_single) {
			out->device_votes = (uint32_t)(sum - 1);
			out->device_votes_set = true;
			sum += out->device_votes;
		}
		if (sum > UINT32_MAX)
			return -1;
		out->expected_votes = (uint32_t)sum;
	}
	if (sum + (out->device_votes_set ? out->device_votes : 0) > UINT32_MAX)
		return -1;
	return 0;
}

void vq_apply_runtime_config(struct vq_state *st, const struct vq_runtime_config *cfg,
			     const struct cv_settings *settings, bool *expected_changed)
{
	uint32_t local_nodeid = vq_local(st)->nodeid;

	for (size_t i = 0; i < settings->n_nodes; i++)
		if (settings->nodes[i].nodeid != local_nodeid)
			vq_reconfigure_votes(st, settings->nodes[i].nodeid, cfg->node_votes[i]);
	if (settings->quorum.device_configured && cfg->device_votes_set)
		vq_reconfigure_votes(st, VOTEQUORUM_QDEVICE_NODEID, cfg->device_votes);
	vq_reconfigure_votes(st, local_nodeid, cfg->local_votes);
	*expected_changed = cfg->expected_votes != 0 && cfg->expected_votes != vq_local(st)->expected_votes;
	if (*expected_changed)
		vq_reconfigure_expected(st, cfg->expected_votes);
}
