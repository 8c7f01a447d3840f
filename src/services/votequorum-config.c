#include <stdio.h>
#include <string.h>

#include <corosync/votequorum.h>

#include "votequorum-config.h"

static bool read_u32(const struct cmap_store *map, const struct cmap_change *c, const char *key,
		     uint32_t *out)
{
	uint8_t scratch[CMAP_COMPUTED_MAX];
	struct cmap_value v;

	return cmap_change_lookup(c, map, key, &v, scratch) == CS_OK && cmap_value_u32(&v, out);
}

/* A non-empty string, as corosync's votequorum_qdevice_is_configured(). */
static bool read_nonempty_string(const struct cmap_store *map, const struct cmap_change *c, const char *key)
{
	uint8_t scratch[CMAP_COMPUTED_MAX];
	struct cmap_value v;

	return cmap_change_lookup(c, map, key, &v, scratch) == CS_OK && v.type == CMAP_STORE_STRING &&
	       v.len > 1;
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

/* The device's votes, and whether they cannot work with the expected votes
 * and the node list (the rest of corosync's checks need the state). */
static void read_device(const struct cmap_store *map, const struct cmap_change *c,
			const struct cv_settings *settings, bool all_single, struct vq_runtime_config *out,
			uint64_t *sum)
{
	bool given;

	out->device_configured = read_nonempty_string(map, c, "quorum.device.model");
	if (!out->device_configured)
		return;
	given = out->device_votes_set = read_u32(map, c, "quorum.device.votes", &out->device_votes);
	if (!given && out->expected_votes)
		out->device_conflict = true;
	if (!given && settings->have_nodelist && !all_single)
		out->device_conflict = true;
	if (given && out->device_votes > 0 && out->expected_votes &&
	    (int64_t)out->expected_votes - out->device_votes < 2)
		out->device_conflict = true;
	if (!given && !out->expected_votes && settings->have_nodelist && all_single) {
		/* the device gets one vote less than the nodes */
		out->device_votes = (uint32_t)(*sum - 1);
		out->device_votes_set = true;
		*sum += out->device_votes;
	}
}

int vq_read_runtime_config(const struct cmap_store *map, const struct cmap_change *c,
			   const struct cv_settings *settings, struct vq_runtime_config *out)
{
	uint64_t sum = 0;
	bool all_single = false;

	*out = (struct vq_runtime_config){ .local_votes = 1 };
	read_u32(map, c, "quorum.expected_votes", &out->expected_votes);
	if (settings->have_nodelist) {
		all_single = read_node_votes(map, c, settings, out, &sum);
	} else {
		read_u32(map, c, "quorum.votes", &out->local_votes);
		out->node_votes[0] = out->local_votes;
		sum = out->local_votes;
	}
	read_device(map, c, settings, all_single, out, &sum);
	if (!out->expected_votes && settings->have_nodelist)
		out->expected_votes = sum > UINT32_MAX ? 0 : (uint32_t)sum;
	if (sum > UINT32_MAX || sum + (out->device_votes_set ? out->device_votes : 0) > UINT32_MAX)
		return -1;
	return 0;
}

static void set_other_node_votes(struct vq_state *st, const struct vq_runtime_config *cfg,
				 const struct cv_settings *settings)
{
	for (size_t i = 0; i < settings->n_nodes; i++)
		for (size_t n = 0; n < st->n_nodes; n++)
			if (n != st->local && st->nodes[n].nodeid == settings->nodes[i].nodeid)
				st->nodes[n].votes = cfg->node_votes[i];
}

/* corosync keeps a device from operating where the configuration excludes
 * it (qdevice_can_operate), and publishes that once a device is configured. */
static void set_device(struct vq_state *st, const struct vq_runtime_config *cfg)
{
	if (!cfg->device_configured) {
		st->qdevice_votes = 0;
		return;
	}
	if (cfg->device_votes_set)
		st->qdevice_votes = cfg->device_votes;
	st->qdevice_can_operate_published = true;
	st->qdevice_allowed = !(cfg->device_conflict || st->last_man_standing || st->allow_downscale ||
				st->auto_tie_breaker != CV_ATB_NONE ||
				(st->two_node && !(st->qdevice_flags & VQ_QDEVICE_REGISTERED)));
}

void vq_apply_runtime_config(struct vq_state *st, const struct vq_runtime_config *cfg,
			     const struct cv_settings *settings)
{
	struct vq_node *local = vq_local(st);
	uint32_t old_votes = local->votes, old_expected = local->expected_votes, expected;
	bool votes_changed, expected_changed;

	set_other_node_votes(st, cfg, settings);
	local->votes = cfg->local_votes;
	if (cfg->expected_votes)
		local->expected_votes = cfg->expected_votes;
	set_device(st, cfg);
	st->ev_barrier = local->expected_votes;
	votes_changed = local->votes != old_votes;
	expected = local->expected_votes;
	expected_changed = expected != old_expected;
	vq_recalculate(st, false);
	if (votes_changed)
		vq_recalculate(st, true);
	if (expected_changed)
		vq_reconfigure_expected(st, expected);
}
