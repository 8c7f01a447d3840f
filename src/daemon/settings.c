#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <ifaddrs.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <conclave/settings.h>

#include "cv-wire.h"
#include "cv-log.h"

#define QDEVICE_DEFAULT_TIMEOUT_MS 10000u
#define QDEVICE_DEFAULT_SYNC_TIMEOUT_MS 30000u
#define LMS_DEFAULT_WINDOW_MS 10000u

struct loader {
	const struct cv_conf *conf;
	struct cv_settings *out;
	char *err;
	size_t err_size;
};

static int load_error(struct loader *l, unsigned line, const char *format, ...)
	__attribute__((format(printf, 3, 4)));

static int load_error(struct loader *l, unsigned line, const char *format, ...)
{
	va_list args;
	int r;

	va_start(args, format);
	r = cv_conf_verror(l->err, l->err_size, l->conf->file, line, format, args);
	va_end(args);
	return r;
}

/* ---- typed values ------------------------------------------------------ */

static int parse_u32(struct loader *l, const struct cv_conf_node *key, uint32_t min, uint32_t max,
		     uint32_t *value)
{
	const char *text = key->value;
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(text, &end, 10);
	if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno == ERANGE || v < min || v > max)
		return load_error(l, key->line,
				  "invalid value '%s' for %s: expected an integer from %u to %u", text,
				  key->name, min, max);
	*value = (uint32_t)v;
	return 0;
}

static int parse_bool(struct loader *l, const struct cv_conf_node *key, bool *value)
{
	static const char *const yes[] = { "1", "yes", "on", "true" };
	static const char *const no[] = { "0", "no", "off", "false" };

	for (size_t i = 0; i < 4; i++) {
		if (strcmp(key->value, yes[i]) == 0) {
			*value = true;
			return 0;
		}
		if (strcmp(key->value, no[i]) == 0) {
			*value = false;
			return 0;
		}
	}
	return load_error(l, key->line, "invalid value '%s' for %s: expected 0, 1, yes, no, on or off",
			  key->value, key->name);
}

/* Optional keys: absent leaves *value untouched. */
static int get_u32(struct loader *l, const struct cv_conf_node *section, const char *name, uint32_t min,
		   uint32_t max, uint32_t *value)
{
	const struct cv_conf_node *key = cv_conf_child(section, name);

	if (!key)
		return 0;
	if (cv_conf_is_section(key))
		return load_error(l, key->line, "'%s' must be a key, not a section", name);
	return parse_u32(l, key, min, max, value);
}

static int get_bool(struct loader *l, const struct cv_conf_node *section, const char *name, bool *value)
{
	const struct cv_conf_node *key = cv_conf_child(section, name);

	if (!key)
		return 0;
	if (cv_conf_is_section(key))
		return load_error(l, key->line, "'%s' must be a key, not a section", name);
	return parse_bool(l, key, value);
}

static const struct cv_conf_node *get_section(const struct cv_conf_node *parent, const char *name)
{
	const struct cv_conf_node *n = cv_conf_child(parent, name);

	return n && cv_conf_is_section(n) ? n : NULL;
}

/* ---- conclave {} ------------------------------------------------------- */

static int load_cluster_engine(struct loader *l, const struct cv_conf_node *section)
{
	const struct cv_conf_node *key = cv_conf_child(section, "cluster_engine");

	if (!key || strcmp(key->value, "none") == 0)
		l->out->cluster_engine = CV_CLUSTER_NONE;
	else if (strcmp(key->value, "corosync") == 0)
		l->out->cluster_engine = CV_CLUSTER_COROSYNC;
	else
		return load_error(l, key->line,
				  "invalid value '%s' for cluster_engine: expected none or corosync",
				  key->value);
	return 0;
}

static int load_limits(struct loader *l, const struct cv_conf_node *root)
{
	static const char *const known[] = {
		"max_message_size",  "max_queued_bytes",   "max_connections",      "max_connections_per_uid",
		"hello_timeout",     "cmap_max_iterators", "cmap_max_tracks",      "cmap_max_bytes",
		"evs_max_joins",     "max_ring_size",      "cpg_max_message_size", "log_rate_burst",
		"log_rate_interval", "cluster_engine",     "service_dir"
	};
	const struct cv_conf_node *section = get_section(root, "conclave");
	struct cv_limits *lim = &l->out->limits;

	if (!section)
		return 0;
	for (const struct cv_conf_node *n = section->first_child; n; n = n->next_sibling) {
		size_t i = 0;

		while (i < sizeof(known) / sizeof(known[0]) && strcmp(n->name, known[i]) != 0)
			i++;
		if (i == sizeof(known) / sizeof(known[0]) || cv_conf_is_section(n))
			return load_error(l, n->line, "unknown key '%s' in section conclave", n->name);
	}
	if (cv_conf_value(section, "service_dir"))
		l->out->service_dir = cv_conf_value(section, "service_dir");
	if (get_u32(l, section, "max_message_size", 4096, 64u * 1024u * 1024u, &lim->max_message_size) < 0 ||
	    get_u32(l, section, "max_queued_bytes", 4096, 1024u * 1024u * 1024u, &lim->max_queued_bytes) <
		    0 ||
	    get_u32(l, section, "max_connections", 1, 1000000, &lim->max_connections) < 0 ||
	    get_u32(l, section, "max_connections_per_uid", 1, 1000000, &lim->max_connections_per_uid) < 0 ||
	    get_u32(l, section, "hello_timeout", 10, 600000, &lim->hello_timeout_ms) < 0 ||
	    get_u32(l, section, "cmap_max_iterators", 1, 65536, &lim->cmap_max_iterators) < 0 ||
	    get_u32(l, section, "cmap_max_tracks", 1, 1000000, &lim->cmap_max_tracks) < 0 ||
	    get_u32(l, section, "cmap_max_bytes", 65536, UINT32_MAX, &lim->cmap_max_bytes) < 0 ||
	    get_u32(l, section, "evs_max_joins", 1, 1000000, &lim->evs_max_joins) < 0 ||
	    get_u32(l, section, "max_ring_size", 0, CV_RING_MAX_CAPACITY, &lim->max_ring_size) < 0 ||
	    get_u32(l, section, "cpg_max_message_size", 0, CV_CPG_MAX_MESSAGE_SIZE,
		    &lim->cpg_max_message_size) < 0 ||
	    get_u32(l, section, "log_rate_burst", 0, 1000000, &lim->log_rate_burst) < 0 ||
	    get_u32(l, section, "log_rate_interval", 1, 3600000, &lim->log_rate_interval_ms) < 0 ||
	    load_cluster_engine(l, section) < 0)
		return -1;
	if (lim->max_queued_bytes < lim->max_message_size + 16u)
		return load_error(l,
				  cv_conf_child(section, "max_queued_bytes")
					  ? cv_conf_child(section, "max_queued_bytes")->line
					  : section->line,
				  "max_queued_bytes (%u) must be at least max_message_size + 16 (%u)",
				  lim->max_queued_bytes, lim->max_message_size + 16u);
	return 0;
}

/* ---- uidgid {} and logging {} ------------------------------------------ */

static int parse_id(struct loader *l, const struct cv_conf_node *key, bool is_user, uint32_t *id)
{
	if (key->value[0] >= '0' && key->value[0] <= '9')
		return parse_u32(l, key, 0, UINT32_MAX - 1, id);
	if (is_user) {
		struct passwd *pw = getpwnam(key->value);

		if (!pw)
			return load_error(l, key->line, "unknown user '%s'", key->value);
		*id = pw->pw_uid;
	} else {
		struct group *gr = getgrnam(key->value);

		if (!gr)
			return load_error(l, key->line, "unknown group '%s'", key->value);
		*id = gr->gr_gid;
	}
	return 0;
}

static int load_uidgid_section(struct loader *l, const struct cv_conf_node *section)
{
	struct cv_settings *s = l->out;

	for (const struct cv_conf_node *n = section->first_child; n; n = n->next_sibling) {
		bool is_user = strcmp(n->name, "uid") == 0;
		uint32_t id = 0;

		if (cv_conf_is_section(n) || (!is_user && strcmp(n->name, "gid") != 0))
			return load_error(l, n->line, "unknown key '%s' in section uidgid", n->name);
		if (parse_id(l, n, is_user, &id) < 0)
			return -1;
		if ((is_user ? s->n_uids : s->n_gids) >= sizeof(s->uids) / sizeof(s->uids[0]))
			return load_error(l, n->line, "too many uidgid entries (at most %zu of each)",
					  sizeof(s->uids) / sizeof(s->uids[0]));
		if (is_user)
			s->uids[s->n_uids++] = (uid_t)id;
		else
			s->gids[s->n_gids++] = (gid_t)id;
	}
	return 0;
}

static int load_uidgid(struct loader *l, const struct cv_conf_node *root)
{
	for (const struct cv_conf_node *n = root->first_child; n; n = n->next_sibling)
		if (cv_conf_is_section(n) && strcmp(n->name, "uidgid") == 0 && load_uidgid_section(l, n) < 0)
			return -1;
	return 0;
}

/* corosync's logging.to_logfile and logging.logfile: the file must be named
 * when to_logfile is yes. */
static int load_logfile(struct loader *l, const struct cv_conf_node *logging)
{
	bool to_logfile = false;
	const struct cv_conf_node *to_key = cv_conf_child(logging, "to_logfile");

	if (get_bool(l, logging, "to_logfile", &to_logfile) < 0)
		return -1;
	if (!to_logfile)
		return 0;
	l->out->log.logfile = cv_conf_value(logging, "logfile");
	if (!l->out->log.logfile || !l->out->log.logfile[0])
		return load_error(l, to_key->line, "to_logfile is yes but no logfile is named");
	return 0;
}

static int get_choice(struct loader *l, const struct cv_conf_node *section, const char *name,
		      const char *const *names, const int *values, size_t n, int *value)
{
	const struct cv_conf_node *key = cv_conf_child(section, name);
	char expected[256] = "";

	if (!key)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!cv_conf_is_section(key) && strcmp(key->value, names[i]) == 0) {
			*value = values[i];
			return 0;
		}
		snprintf(expected + strlen(expected), sizeof(expected) - strlen(expected), "%s%s",
			 i ? ", " : "", names[i]);
	}
	return load_error(l, key->line, "invalid value '%s' for %s: expected one of %s",
			  key->value ? key->value : "{", name, expected);
}

/* syslog_facility, and syslog_priority and logfile_priority with
 * corosync's names (emerg, alert and crit count as err; debug as debug: on). */
static int load_log_choices(struct loader *l, const struct cv_conf_node *logging)
{
	static const char *const facilities[] = { "daemon", "local0", "local1", "local2", "local3",
						  "local4", "local5", "local6", "local7" };
	static const int facility_values[] = { LOG_DAEMON, LOG_LOCAL0, LOG_LOCAL1, LOG_LOCAL2, LOG_LOCAL3,
					       LOG_LOCAL4, LOG_LOCAL5, LOG_LOCAL6, LOG_LOCAL7 };
	static const char *const priorities[] = { "emerg",   "alert",  "crit", "err",
						  "warning", "notice", "info", "debug" };
	static const int levels[] = { CV_LOG_ERROR,   CV_LOG_ERROR,  CV_LOG_ERROR, CV_LOG_ERROR,
				      CV_LOG_WARNING, CV_LOG_NOTICE, CV_LOG_INFO,  CV_LOG_DEBUG };
	struct cv_log_targets *t = &l->out->log;
	int syslog_level = (int)t->syslog_level, logfile_level = (int)t->logfile_level;

	if (get_choice(l, logging, "syslog_facility", facilities, facility_values, 9, &t->syslog_facility) <
		    0 ||
	    get_choice(l, logging, "syslog_priority", priorities, levels, 8, &syslog_level) < 0 ||
	    get_choice(l, logging, "logfile_priority", priorities, levels, 8, &logfile_level) < 0)
		return -1;
	t->syslog_level = (enum cv_log_level)syslog_level;
	t->logfile_level = (enum cv_log_level)logfile_level;
	return 0;
}

static int load_logging(struct loader *l, const struct cv_conf_node *root)
{
	const struct cv_conf_node *logging = get_section(root, "logging");
	const struct cv_conf_node *key = cv_conf_child(logging, "debug");

	if (load_logfile(l, logging) < 0 || get_bool(l, logging, "to_stderr", &l->out->log.to_stderr) < 0 ||
	    get_bool(l, logging, "to_syslog", &l->out->log.to_syslog) < 0 || load_log_choices(l, logging) < 0)
		return -1;
	if (!key || cv_conf_is_section(key))
		return 0;
	if (strcmp(key->value, "trace") == 0) {
		l->out->debug = true;
		return 0;
	}
	return parse_bool(l, key, &l->out->debug);
}

/* ---- nodelist {} ------------------------------------------------------- */

static int load_node(struct loader *l, const struct cv_conf_node *section, struct cv_node_settings *node)
{
	const struct cv_conf_node *nodeid = cv_conf_child(section, "nodeid");

	node->line = section->line;
	node->votes = 1;
	node->name = cv_conf_value(section, "name");
	node->ring0_addr = cv_conf_value(section, "ring0_addr");
	for (unsigned link = 0; link < CV_MAX_LINKS; link++) {
		char key[16];

		snprintf(key, sizeof(key), "ring%u_addr", link);
		node->ring_addrs[link] = cv_conf_value(section, key);
	}
	if (!nodeid || cv_conf_is_section(nodeid))
		return load_error(l, section->line, "node has no nodeid");
	if (parse_u32(l, nodeid, 1, UINT32_MAX, &node->nodeid) < 0 ||
	    get_u32(l, section, "quorum_votes", 0, 1000000, &node->votes) < 0)
		return -1;
	if (!node->ring0_addr && !node->name)
		return load_error(l, section->line, "node %u has neither ring0_addr nor name", node->nodeid);
	for (const struct cv_node_settings *other = l->out->nodes; other < node; other++)
		if (other->nodeid == node->nodeid)
			return load_error(l, nodeid->line,
					  "duplicate nodeid %u (first used by the node at line %u)",
					  node->nodeid, other->line);
	return 0;
}

static int find_local_node(struct loader *l, const struct cv_conf_node *nodelist)
{
	struct cv_settings *s = l->out;

	for (size_t i = 0; i < s->n_nodes; i++) {
		const char *host = s->nodes[i].ring0_addr ? s->nodes[i].ring0_addr : s->nodes[i].name;

		if (cv_host_is_local(host)) {
			s->local_node = i;
			return 0;
		}
	}
	return load_error(l, nodelist->line, "no node in the nodelist has an address of this machine");
}

static int load_nodelist(struct loader *l, const struct cv_conf_node *root)
{
	const struct cv_conf_node *nodelist = get_section(root, "nodelist");
	struct cv_settings *s = l->out;

	if (!nodelist)
		return 0;
	for (const struct cv_conf_node *n = nodelist->first_child; n; n = n->next_sibling) {
		if (!cv_conf_is_section(n) || strcmp(n->name, "node") != 0)
			continue;
		if (s->n_nodes == CV_MAX_NODES)
			return load_error(l, n->line, "more than %d nodes in the nodelist", CV_MAX_NODES);
		if (load_node(l, n, &s->nodes[s->n_nodes]) < 0)
			return -1;
		s->n_nodes++;
	}
	if (s->n_nodes == 0)
		return load_error(l, nodelist->line, "the nodelist has no node");
	s->have_nodelist = true;
	return find_local_node(l, nodelist);
}

static int load_single_node(struct loader *l, const struct cv_conf_node *root)
{
	struct cv_node_settings *node = &l->out->nodes[0];

	node->nodeid = 1;
	node->votes = 1;
	l->out->n_nodes = 1;
	l->out->local_node = 0;
	if (!l->conf)
		return 0;
	if (get_u32(l, get_section(root, "totem"), "nodeid", 1, UINT32_MAX, &node->nodeid) < 0)
		return -1;
	return get_u32(l, get_section(root, "quorum"), "votes", 0, 1000000, &node->votes);
}

/* ---- quorum {} --------------------------------------------------------- */

static int parse_atb_nodes(struct loader *l, const struct cv_conf_node *key, struct cv_quorum_settings *q)
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
			return load_error(
				l, key->line,
				"invalid value '%s' for auto_tie_breaker_node: expected lowest, highest "
				"or a list of node ids",
				key->value);
		q->atb_nodes[q->n_atb_nodes++] = (uint32_t)v;
		cursor = end;
	}
	if (q->n_atb_nodes == 0)
		return load_error(l, key->line, "auto_tie_breaker_node is empty");
	q->auto_tie_breaker = CV_ATB_LIST;
	return 0;
}

static int load_device(struct loader *l, const struct cv_conf_node *device, bool *votes_set)
{
	struct cv_quorum_settings *q = &l->out->quorum;
	const char *model = cv_conf_value(device, "model");

	*votes_set = cv_conf_child(device, "votes") != NULL;
	q->device_configured = model && *model;
	q->device_model = model;
	if (get_u32(l, device, "votes", 0, 1000000, &q->device_votes) < 0 ||
	    get_u32(l, device, "timeout", 10, 3600000, &q->device_timeout_ms) < 0 ||
	    get_u32(l, device, "sync_timeout", 10, 3600000, &q->device_sync_timeout_ms) < 0)
		return -1;
	return 0;
}

static int load_quorum_options(struct loader *l, const struct cv_conf_node *quorum, bool *wfa_set)
{
	struct cv_quorum_settings *q = &l->out->quorum;
	const struct cv_conf_node *atb_node = cv_conf_child(quorum, "auto_tie_breaker_node");
	bool atb = false;

	*wfa_set = cv_conf_child(quorum, "wait_for_all") != NULL;
	if (get_u32(l, quorum, "expected_votes", 1, 1000000, &q->expected_votes) < 0 ||
	    get_bool(l, quorum, "two_node", &q->two_node) < 0 ||
	    get_bool(l, quorum, "wait_for_all", &q->wait_for_all) < 0 ||
	    get_bool(l, quorum, "last_man_standing", &q->last_man_standing) < 0 ||
	    get_u32(l, quorum, "last_man_standing_window", 1, 3600000, &q->last_man_standing_window_ms) < 0 ||
	    get_bool(l, quorum, "auto_tie_breaker", &atb) < 0 ||
	    get_bool(l, quorum, "allow_downscale", &q->allow_downscale) < 0)
		return -1;
	q->auto_tie_breaker = atb ? CV_ATB_LOWEST : CV_ATB_NONE;
	if (atb && atb_node && !cv_conf_is_section(atb_node) && parse_atb_nodes(l, atb_node, q) < 0)
		return -1;
	if (!*wfa_set)
		q->wait_for_all = q->two_node; /* two_node implies wait_for_all */
	return 0;
}

static uint32_t nodelist_votes(const struct cv_settings *s)
{
	uint32_t sum = 0;

	for (size_t i = 0; i < s->n_nodes; i++)
		sum += s->nodes[i].votes;
	return sum;
}

static bool nodelist_all_single_votes(const struct cv_settings *s)
{
	return nodelist_votes(s) == s->n_nodes;
}

/* corosync refuses these combinations at start-up (votequorum_readconfig). */
static int check_device_conflicts(struct loader *l, const struct cv_conf_node *device, bool votes_set)
{
	const struct cv_quorum_settings *q = &l->out->quorum;
	unsigned line = device->line;

	if (q->two_node)
		return load_error(l, line, "two_node and a quorum device cannot be configured together");
	if (q->last_man_standing)
		return load_error(l, line, "a quorum device is not compatible with last_man_standing");
	if (q->auto_tie_breaker != CV_ATB_NONE)
		return load_error(l, line, "a quorum device is not compatible with auto_tie_breaker");
	if (q->allow_downscale)
		return load_error(l, line, "a quorum device is not compatible with allow_downscale");
	if (q->expected_votes && !votes_set)
		return load_error(l, line,
				  "quorum.device.votes must be set when quorum.expected_votes is set");
	if (!votes_set && l->out->have_nodelist && !nodelist_all_single_votes(l->out))
		return load_error(l, line,
				  "quorum.device.votes must be set when not every node has one vote");
	if (votes_set && q->expected_votes && (int64_t)q->expected_votes - q->device_votes < 2)
		return load_error(l, line,
				  "quorum.device.votes is too high or quorum.expected_votes too low");
	return 0;
}

static int check_tie_breaker(struct loader *l, const struct cv_conf_node *quorum)
{
	struct cv_quorum_settings *q = &l->out->quorum;

	if (q->two_node && q->auto_tie_breaker != CV_ATB_NONE) {
		cv_log_warning("two_node and auto_tie_breaker are not compatible: two_node is disabled");
		q->two_node = false;
	}
	if (q->auto_tie_breaker != CV_ATB_NONE && nodelist_votes(l->out) % 2 && !q->wait_for_all) {
		if (q->last_man_standing)
			return load_error(
				l, quorum->line,
				"auto_tie_breaker and last_man_standing need wait_for_all in a cluster "
				"with an odd number of votes");
		cv_log_warning(
			"auto_tie_breaker needs wait_for_all with an odd number of votes: it is disabled");
		q->auto_tie_breaker = CV_ATB_NONE;
	}
	return 0;
}

static void settle_votes(struct cv_settings *s, bool device_votes_set)
{
	struct cv_quorum_settings *q = &s->quorum;
	uint32_t expected = s->have_nodelist ? nodelist_votes(s) : s->nodes[s->local_node].votes;

	if (q->device_configured && !device_votes_set && !q->expected_votes && s->have_nodelist) {
		/* the device gets one vote less than the nodes, as corosync does */
		q->device_votes = expected - 1;
		expected += q->device_votes;
	}
	if (!q->device_configured)
		q->device_votes = 0;
	q->local_votes = s->nodes[s->local_node].votes;
	if (q->expected_votes)
		expected = q->expected_votes;
	q->expected_votes = expected;
	q->device_allowed = !(q->two_node || q->last_man_standing || q->auto_tie_breaker != CV_ATB_NONE ||
			      q->allow_downscale);
}

static int load_quorum(struct loader *l, const struct cv_conf_node *root)
{
	const struct cv_conf_node *quorum = get_section(root, "quorum");
	const struct cv_conf_node *provider = cv_conf_child(quorum, "provider");
	const struct cv_conf_node *device = get_section(quorum, "device");
	bool wfa_set = false, device_votes_set = false;

	if (l->conf && (!provider || cv_conf_is_section(provider)))
		return 0; /* no provider: QUORUM_FREE */
	l->out->quorum.votequorum = true;
	if (l->conf && strcmp(provider->value, "corosync_votequorum") != 0)
		return load_error(l, provider->line,
				  "unknown quorum provider '%s': only corosync_votequorum is supported",
				  provider->value);
	if (quorum && load_quorum_options(l, quorum, &wfa_set) < 0)
		return -1;
	if (device && load_device(l, device, &device_votes_set) < 0)
		return -1;
	if (quorum && check_tie_breaker(l, quorum) < 0)
		return -1;
	if (l->out->quorum.device_configured && check_device_conflicts(l, device, device_votes_set) < 0)
		return -1;
	settle_votes(l->out, device_votes_set);
	return 0;
}

/* ---- local addresses --------------------------------------------------- */

static bool same_address(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	if (a->sa_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
			      &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr)) == 0;
	return false;
}

static bool address_is_local(const struct sockaddr *addr, const struct ifaddrs *interfaces)
{
	for (const struct ifaddrs *i = interfaces; i; i = i->ifa_next)
		if (i->ifa_addr && same_address(addr, i->ifa_addr))
			return true;
	return false;
}

bool cv_host_is_local(const char *host)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM };
	struct addrinfo *found = NULL;
	struct ifaddrs *interfaces = NULL;
	bool local = false;

	if (!host || getifaddrs(&interfaces) < 0)
		return false;
	if (getaddrinfo(host, NULL, &hints, &found) == 0) {
		for (const struct addrinfo *a = found; a && !local; a = a->ai_next)
			local = address_is_local(a->ai_addr, interfaces);
		freeaddrinfo(found);
	}
	freeifaddrs(interfaces);
	return local;
}

/* ---- entry point ------------------------------------------------------- */

static void set_defaults(struct cv_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->limits.max_message_size = CV_DEFAULT_MAX_MESSAGE_SIZE;
	s->limits.max_queued_bytes = CV_DEFAULT_MAX_QUEUED_BYTES;
	s->limits.max_connections = CV_DEFAULT_MAX_CONNECTIONS;
	s->limits.max_connections_per_uid = CV_DEFAULT_MAX_CONNECTIONS_PER_UID;
	s->limits.hello_timeout_ms = CV_DEFAULT_HELLO_TIMEOUT_MS;
	s->limits.cmap_max_iterators = CV_DEFAULT_CMAP_MAX_ITERATORS;
	s->limits.cmap_max_tracks = CV_DEFAULT_CMAP_MAX_TRACKS;
	s->limits.cmap_max_bytes = CV_DEFAULT_CMAP_MAX_BYTES;
	s->limits.evs_max_joins = CV_DEFAULT_EVS_MAX_JOINS;
	s->limits.max_ring_size = CV_DEFAULT_MAX_RING_SIZE;
	s->service_dir = CV_DEFAULT_SERVICE_DIR;
	s->limits.cpg_max_message_size = CV_CPG_MAX_MESSAGE_SIZE;
	s->log = CV_LOG_TARGETS_DEFAULT;
	s->limits.log_rate_burst = CV_LOG_DEFAULT_RATE_BURST;
	s->limits.log_rate_interval_ms = CV_LOG_DEFAULT_RATE_INTERVAL_MS;
	s->quorum.last_man_standing_window_ms = LMS_DEFAULT_WINDOW_MS;
	s->quorum.device_timeout_ms = QDEVICE_DEFAULT_TIMEOUT_MS;
	s->quorum.device_sync_timeout_ms = QDEVICE_DEFAULT_SYNC_TIMEOUT_MS;
}

int cv_settings_load(const struct cv_conf *conf, struct cv_settings *out, char *err, size_t err_size)
{
	struct loader l = { .conf = conf, .out = out, .err = err, .err_size = err_size };
	const struct cv_conf_node *root = conf ? &conf->root : NULL;

	set_defaults(out);
	out->conf = conf;
	if (conf) {
		out->cluster_name = cv_conf_value(get_section(root, "totem"), "cluster_name");
		if (load_limits(&l, root) < 0 || load_uidgid(&l, root) < 0 || load_logging(&l, root) < 0 ||
		    load_nodelist(&l, root) < 0)
			return -1;
	}
	if (!out->have_nodelist && load_single_node(&l, root) < 0)
		return -1;
	return load_quorum(&l, root);
}
