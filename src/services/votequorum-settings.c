/* votequorum's settings: quorum {} and the node list's votes, read and
 * checked as corosync's votequorum_readconfig() does at start-up. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <conclave/service.h>

#include "votequorum-settings.h"

#define QDEVICE_DEFAULT_TIMEOUT_MS 10000u
#define QDEVICE_DEFAULT_SYNC_TIMEOUT_MS 30000u
#define LMS_DEFAULT_WINDOW_MS 10000u

struct loader {
	struct cv_conf_reader r;
	const struct cv_settings *daemon;
	struct vq_settings *q;
};

static int parse_atb_nodes(struct loader *l, const struct cv_conf_node *key, struct vq_settings *q)
{
	const char *cursor = key->value;

	if (strcmp(cursor, "lowest") == 0 || strcmp(cursor, "highest") == 0) {
		q->auto_tie_breaker = cursor[0] == 'l' ? CV_ATB_LOWEST : CV_ATB_HIGHEST;
		return 0;
	}
	q->n_atb_nodes = 0;
	while (*cursor) {
		char *end;
		unsigned long v;

		while (*cursor == ' ' || *cursor == '\t')
			cursor++;
		if (!*cursor)
			break;
		errno = 0;
		v = strtoul(cursor, &end, 10);
		if (end == cursor || v == 0 || v > UINT32_MAX || errno || q->n_atb_nodes == CV_MAX_NODES ||
		    (*end && *end != ' ' && *end != '\t'))
			return cv_conf_error(
				&l->r, key->line,
				"invalid value '%s' for auto_tie_breaker_node: expected lowest, highest "
				"or a list of node ids",
				key->value);
		q->atb_nodes[q->n_atb_nodes++] = (uint32_t)v;
		cursor = end;
	}
	if (q->n_atb_nodes == 0)
		return cv_conf_error(&l->r, key->line, "auto_tie_breaker_node is empty");
	q->auto_tie_breaker = CV_ATB_LIST;
	return 0;
}

static int load_device(struct loader *l, const struct cv_conf_node *device, bool *votes_set)
{
	struct vq_settings *q = l->q;
	const char *model = NULL;

	*votes_set = cv_conf_child(device, "votes") != NULL;
	for (const struct cv_conf_node *n = device->first_child; n; n = n->next_sibling)
		if (cv_conf_is_section(n))
			cv_conf_mark_used(n); /* the model's own section, for corosync-qdevice */
	if (cv_conf_get_string(&l->r, device, "model", &model) < 0)
		return -1;
	q->device_configured = model && *model;
	q->device_model = model;
	if (cv_conf_get_u32(&l->r, device, "votes", 0, 1000000, &q->device_votes) < 0 ||
	    cv_conf_get_u32(&l->r, device, "timeout", 10, 3600000, &q->device_timeout_ms) < 0 ||
	    cv_conf_get_u32(&l->r, device, "sync_timeout", 10, 3600000, &q->device_sync_timeout_ms) < 0)
		return -1;
	return 0;
}

static int load_quorum_options(struct loader *l, const struct cv_conf_node *quorum, bool *wfa_set)
{
	struct vq_settings *q = l->q;
	const struct cv_conf_node *atb_node = cv_conf_child(quorum, "auto_tie_breaker_node");
	bool atb = false;

	*wfa_set = cv_conf_child(quorum, "wait_for_all") != NULL;
	if (cv_conf_get_u32(&l->r, quorum, "expected_votes", 1, 1000000, &q->expected_votes) < 0 ||
	    cv_conf_get_bool(&l->r, quorum, "two_node", &q->two_node) < 0 ||
	    cv_conf_get_bool(&l->r, quorum, "wait_for_all", &q->wait_for_all) < 0 ||
	    cv_conf_get_bool(&l->r, quorum, "last_man_standing", &q->last_man_standing) < 0 ||
	    cv_conf_get_u32(&l->r, quorum, "last_man_standing_window", 1, 3600000,
			    &q->last_man_standing_window_ms) < 0 ||
	    cv_conf_get_bool(&l->r, quorum, "auto_tie_breaker", &atb) < 0 ||
	    cv_conf_get_bool(&l->r, quorum, "allow_downscale", &q->allow_downscale) < 0)
		return -1;
	q->auto_tie_breaker = atb ? CV_ATB_LOWEST : CV_ATB_NONE;
	if (atb_node)
		cv_conf_mark_used(atb_node);
	if (atb && atb_node && !cv_conf_is_section(atb_node) && parse_atb_nodes(l, atb_node, q) < 0)
		return -1;
	if (!*wfa_set)
		q->wait_for_all = q->two_node; /* two_node implies wait_for_all */
	return 0;
}

static uint32_t nodelist_votes(const struct loader *l)
{
	uint32_t sum = 0;

	for (size_t i = 0; i < l->daemon->n_nodes; i++)
		sum += l->q->node_votes[i];
	return sum;
}

static bool nodelist_all_single_votes(const struct loader *l)
{
	return nodelist_votes(l) == l->daemon->n_nodes;
}

/* corosync refuses these combinations at start-up (votequorum_readconfig). */
static int check_device_conflicts(struct loader *l, const struct cv_conf_node *device, bool votes_set)
{
	const struct vq_settings *q = l->q;
	unsigned line = device->line;

	if (q->two_node)
		return cv_conf_error(&l->r, line,
				     "two_node and a quorum device cannot be configured together");
	if (q->last_man_standing)
		return cv_conf_error(&l->r, line, "a quorum device is not compatible with last_man_standing");
	if (q->auto_tie_breaker != CV_ATB_NONE)
		return cv_conf_error(&l->r, line, "a quorum device is not compatible with auto_tie_breaker");
	if (q->allow_downscale)
		return cv_conf_error(&l->r, line, "a quorum device is not compatible with allow_downscale");
	if (q->expected_votes && !votes_set)
		return cv_conf_error(&l->r, line,
				     "quorum.device.votes must be set when quorum.expected_votes is set");
	if (!votes_set && l->daemon->have_nodelist && !nodelist_all_single_votes(l))
		return cv_conf_error(&l->r, line,
				     "quorum.device.votes must be set when not every node has one vote");
	if (votes_set && q->expected_votes && (int64_t)q->expected_votes - q->device_votes < 2)
		return cv_conf_error(&l->r, line,
				     "quorum.device.votes is too high or quorum.expected_votes too low");
	return 0;
}

static int check_tie_breaker(struct loader *l, const struct cv_conf_node *quorum)
{
	struct vq_settings *q = l->q;

	if (q->two_node && q->auto_tie_breaker != CV_ATB_NONE) {
		cv_log_warning("two_node and auto_tie_breaker are not compatible: two_node is disabled");
		q->two_node = false;
	}
	if (q->auto_tie_breaker != CV_ATB_NONE && nodelist_votes(l) % 2 && !q->wait_for_all) {
		if (q->last_man_standing)
			return cv_conf_error(
				&l->r, quorum->line,
				"auto_tie_breaker and last_man_standing need wait_for_all in a cluster "
				"with an odd number of votes");
		cv_log_warning(
			"auto_tie_breaker needs wait_for_all with an odd number of votes: it is disabled");
		q->auto_tie_breaker = CV_ATB_NONE;
	}
	return 0;
}

static void settle_votes(struct loader *l, bool device_votes_set)
{
	const struct cv_settings *s = l->daemon;
	struct vq_settings *q = l->q;
	uint32_t expected = s->have_nodelist ? nodelist_votes(l) : q->node_votes[s->local_node];

	if (q->device_configured && !device_votes_set && !q->expected_votes && s->have_nodelist) {
		/* the device gets one vote less than the nodes, as corosync does */
		q->device_votes = expected - 1;
		expected += q->device_votes;
	}
	if (!q->device_configured)
		q->device_votes = 0;
	q->local_votes = q->node_votes[s->local_node];
	if (q->expected_votes)
		expected = q->expected_votes;
	q->expected_votes = expected;
	q->device_allowed = !(q->two_node || q->last_man_standing || q->auto_tie_breaker != CV_ATB_NONE ||
			      q->allow_downscale);
}

/* Each node's quorum_votes, or quorum.votes for the node of a file
 * without a nodelist: read whatever the provider, as they always were. */
static int load_node_votes(struct loader *l, const struct cv_conf_node *root)
{
	const struct cv_settings *s = l->daemon;
	const struct cv_conf_node *nodelist = cv_conf_section(root, "nodelist");
	size_t i = 0;

	for (size_t n = 0; n < s->n_nodes; n++)
		l->q->node_votes[n] = 1;
	if (!s->have_nodelist)
		return cv_conf_get_u32(&l->r, cv_conf_section(root, "quorum"), "votes", 0, 1000000,
				       &l->q->node_votes[0]);
	for (const struct cv_conf_node *n = nodelist->first_child; n && i < s->n_nodes; n = n->next_sibling)
		if (cv_conf_is_section(n) && strcmp(n->name, "node") == 0 &&
		    cv_conf_get_u32(&l->r, n, "quorum_votes", 0, 1000000, &l->q->node_votes[i++]) < 0)
			return -1;
	return 0;
}

static int load_quorum(struct loader *l, const struct cv_conf_node *root)
{
	const struct cv_conf_node *quorum = cv_conf_section(root, "quorum");
	const struct cv_conf_node *provider = cv_conf_child(quorum, "provider");
	const struct cv_conf_node *device = cv_conf_section(quorum, "device");
	const char *name = "corosync_votequorum"; /* without a file */
	bool wfa_set = false, device_votes_set = false;

	if (l->r.conf && (!provider || cv_conf_is_section(provider)))
		return 0; /* no provider: QUORUM_FREE */
	if (cv_conf_get_string(&l->r, quorum, "provider", &name) < 0)
		return -1;
	l->q->votequorum = true;
	if (strcmp(name, "corosync_votequorum") != 0)
		return cv_conf_error(&l->r, provider->line,
				     "unknown quorum provider '%s': only corosync_votequorum is supported",
				     name);
	if (quorum && load_quorum_options(l, quorum, &wfa_set) < 0)
		return -1;
	if (device && load_device(l, device, &device_votes_set) < 0)
		return -1;
	if (quorum && check_tie_breaker(l, quorum) < 0)
		return -1;
	if (device && l->q->device_configured && check_device_conflicts(l, device, device_votes_set) < 0)
		return -1;
	settle_votes(l, device_votes_set);
	return 0;
}

int vq_settings_load(const struct cv_conf *conf, const struct cv_settings *daemon, struct vq_settings *out,
		     char *err, size_t err_size)
{
	struct loader l = { .r = { .conf = conf, .err = err, .err_size = err_size },
			    .daemon = daemon,
			    .q = out };

	*out = (struct vq_settings){
		.last_man_standing_window_ms = LMS_DEFAULT_WINDOW_MS,
		.device_timeout_ms = QDEVICE_DEFAULT_TIMEOUT_MS,
		.device_sync_timeout_ms = QDEVICE_DEFAULT_SYNC_TIMEOUT_MS,
	};
	if (load_node_votes(&l, cv_conf_root(&l.r)) < 0)
		return -1;
	return load_quorum(&l, cv_conf_root(&l.r));
}
