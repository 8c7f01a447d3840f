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

struct loader {
	struct cv_conf_reader r;
	struct cv_settings *out;
};

static int load_error(struct loader *l, unsigned line, const char *format, ...)
	__attribute__((format(printf, 3, 4)));

static int load_error(struct loader *l, unsigned line, const char *format, ...)
{
	va_list args;
	int r;

	va_start(args, format);
	r = cv_conf_verror(l->r.err, l->r.err_size, l->r.conf->file, line, format, args);
	va_end(args);
	return r;
}

static int get_u32(struct loader *l, const struct cv_conf_node *section, const char *name, uint32_t min,
		   uint32_t max, uint32_t *value)
{
	return cv_conf_get_u32(&l->r, section, name, min, max, value);
}

static int get_bool(struct loader *l, const struct cv_conf_node *section, const char *name, bool *value)
{
	return cv_conf_get_bool(&l->r, section, name, value);
}

/* A key whose text the daemon takes as it is (names, addresses), or NULL:
 * a section of that name reads as absent, as corosync's lookups do. */
static const char *get_string(const struct cv_conf_node *section, const char *name)
{
	const char *value = NULL;

	cv_conf_get_string(&(struct cv_conf_reader){ 0 }, section, name, &value);
	return value;
}

/* ---- conclave {} ------------------------------------------------------- */

static int load_cluster_engine(struct loader *l, const struct cv_conf_node *section)
{
	const struct cv_conf_node *key = cv_conf_child(section, "cluster_engine");
	const char *engine = "none";

	if (cv_conf_get_string(&l->r, section, "cluster_engine", &engine) < 0)
		return -1;
	if (strcmp(engine, "none") == 0)
		l->out->cluster_engine = CV_CLUSTER_NONE;
	else if (strcmp(engine, "corosync") == 0)
		l->out->cluster_engine = CV_CLUSTER_COROSYNC;
	else
		return load_error(l, key->line,
				  "invalid value '%s' for cluster_engine: expected none or corosync", engine);
	return 0;
}

/* The daemon's keys of conclave {}; the section's other keys are the
 * services' (cv_settings_check_conclave_section). */
static int load_limits(struct loader *l, const struct cv_conf_node *root)
{
	const struct cv_conf_node *section = cv_conf_section(root, "conclave");
	const struct cv_conf_node *queued = cv_conf_child(section, "max_queued_bytes");
	struct cv_limits *lim = &l->out->limits;

	if (!section)
		return 0;
	if (cv_conf_get_string(&l->r, section, "service_dir", &l->out->service_dir) < 0 ||
	    get_u32(l, section, "max_message_size", 4096, 64u * 1024u * 1024u, &lim->max_message_size) < 0 ||
	    get_u32(l, section, "max_queued_bytes", 4096, 1024u * 1024u * 1024u, &lim->max_queued_bytes) <
		    0 ||
	    get_u32(l, section, "max_connections", 1, 1000000, &lim->max_connections) < 0 ||
	    get_u32(l, section, "max_connections_per_uid", 1, 1000000, &lim->max_connections_per_uid) < 0 ||
	    get_u32(l, section, "hello_timeout", 10, 600000, &lim->hello_timeout_ms) < 0 ||
	    get_u32(l, section, "cmap_max_bytes", 65536, UINT32_MAX, &lim->cmap_max_bytes) < 0 ||
	    get_u32(l, section, "max_ring_size", 0, CV_RING_MAX_CAPACITY, &lim->max_ring_size) < 0 ||
	    get_u32(l, section, "log_rate_burst", 0, 1000000, &lim->log_rate_burst) < 0 ||
	    get_u32(l, section, "log_rate_interval", 1, 3600000, &lim->log_rate_interval_ms) < 0 ||
	    load_cluster_engine(l, section) < 0)
		return -1;
	if (lim->max_queued_bytes < lim->max_message_size + 16u)
		return load_error(l, queued ? queued->line : section->line,
				  "max_queued_bytes (%u) must be at least max_message_size + 16 (%u)",
				  lim->max_queued_bytes, lim->max_message_size + 16u);
	return 0;
}

int cv_settings_check_conclave_section(const struct cv_conf *conf, char *err, size_t err_size)
{
	const struct cv_conf_reader r = { .conf = conf, .err = err, .err_size = err_size };
	const struct cv_conf_node *section = cv_conf_section(cv_conf_root(&r), "conclave");

	for (const struct cv_conf_node *n = section ? section->first_child : NULL; n; n = n->next_sibling)
		if (!n->used || cv_conf_is_section(n))
			return cv_conf_error(&r, n->line, "unknown key '%s' in section conclave", n->name);
	return 0;
}

/* ---- uidgid {} and logging {} ------------------------------------------ */

static int parse_id(struct loader *l, const struct cv_conf_node *key, bool is_user, uint32_t *id)
{
	if (key->value[0] >= '0' && key->value[0] <= '9')
		return cv_conf_parse_u32(&l->r, key, 0, UINT32_MAX - 1, id);
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
		cv_conf_mark_used(n);
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
	for (const struct cv_conf_node *n = root ? root->first_child : NULL; n; n = n->next_sibling)
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
	const char *logfile = get_string(logging, "logfile");

	if (get_bool(l, logging, "to_logfile", &to_logfile) < 0)
		return -1;
	if (!to_logfile)
		return 0;
	l->out->log.logfile = logfile;
	if (!l->out->log.logfile || !l->out->log.logfile[0])
		return load_error(l, to_key->line, "to_logfile is yes but no logfile is named");
	return 0;
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

	if (cv_conf_get_choice(&l->r, logging, "syslog_facility", facilities, facility_values, 9,
			       &t->syslog_facility) < 0 ||
	    cv_conf_get_choice(&l->r, logging, "syslog_priority", priorities, levels, 8, &syslog_level) < 0 ||
	    cv_conf_get_choice(&l->r, logging, "logfile_priority", priorities, levels, 8, &logfile_level) < 0)
		return -1;
	t->syslog_level = (enum cv_log_level)syslog_level;
	t->logfile_level = (enum cv_log_level)logfile_level;
	return 0;
}

static int load_logging(struct loader *l, const struct cv_conf_node *root)
{
	const struct cv_conf_node *logging = cv_conf_section(root, "logging");
	const struct cv_conf_node *key = cv_conf_child(logging, "debug");

	if (load_logfile(l, logging) < 0 || get_bool(l, logging, "to_stderr", &l->out->log.to_stderr) < 0 ||
	    get_bool(l, logging, "to_syslog", &l->out->log.to_syslog) < 0 || load_log_choices(l, logging) < 0)
		return -1;
	if (!key || cv_conf_is_section(key))
		return 0;
	if (strcmp(key->value, "trace") == 0) {
		cv_conf_mark_used(key);
		l->out->debug = true;
		return 0;
	}
	return cv_conf_parse_bool(&l->r, key, &l->out->debug);
}

/* ---- system {} -------------------------------------------------------- */

/* corosync's system.priority: max, min or an int, which the kernel holds
 * to the nice range. */
static int parse_priority(struct loader *l, const struct cv_conf_node *key, int *nice)
{
	char *end;
	long value;

	if (strcmp(key->value, "max") == 0) {
		*nice = CV_NICE_HIGHEST;
		return 0;
	}
	if (strcmp(key->value, "min") == 0) {
		*nice = CV_NICE_LOWEST;
		return 0;
	}
	errno = 0;
	value = strtol(key->value, &end, 10);
	if (errno != 0 || end == key->value || *end != '\0' || value < INT_MIN || value > INT_MAX)
		return load_error(l, key->line,
				  "invalid value '%s' for priority: expected max, min or an integer",
				  key->value);
	*nice = value < CV_NICE_HIGHEST  ? CV_NICE_HIGHEST
		: value > CV_NICE_LOWEST ? CV_NICE_LOWEST
					 : (int)value;
	return 0;
}

/* corosync takes exactly yes or no for sched_rr (coroparse.c). */
static int load_system(struct loader *l, const struct cv_conf_node *root)
{
	static const char *const switches[] = { "yes", "no" };
	static const int switch_values[] = { 1, 0 };
	static const char *const cgroup_modes[] = { "auto", "yes", "no" };
	static const int cgroup_values[] = { CV_ROOT_CGROUP_AUTO, CV_ROOT_CGROUP_YES, CV_ROOT_CGROUP_NO };
	const struct cv_conf_node *system = cv_conf_section(root, "system");
	struct cv_sched_settings *sched = &l->out->sched;
	const char *priority = NULL;
	int sched_rr = 1, cgroup = CV_ROOT_CGROUP_AUTO;

	if (cv_conf_get_choice(&l->r, system, "sched_rr", switches, switch_values, 2, &sched_rr) < 0 ||
	    cv_conf_get_choice(&l->r, system, "move_to_root_cgroup", cgroup_modes, cgroup_values, 3,
			       &cgroup) < 0 ||
	    cv_conf_get_string(&l->r, system, "priority", &priority) < 0)
		return -1;
	sched->sched_rr = sched_rr;
	sched->move_to_root_cgroup = (enum cv_root_cgroup)cgroup;
	return priority ? parse_priority(l, cv_conf_child(system, "priority"), &sched->nice) : 0;
}

/* ---- nodelist {} ------------------------------------------------------- */

static int load_node(struct loader *l, const struct cv_conf_node *section, struct cv_node_settings *node)
{
	const struct cv_conf_node *nodeid = cv_conf_child(section, "nodeid");

	node->line = section->line;
	node->name = get_string(section, "name");
	node->ring0_addr = get_string(section, "ring0_addr");
	for (unsigned link = 0; link < CV_MAX_LINKS; link++) {
		char key[16];

		snprintf(key, sizeof(key), "ring%u_addr", link);
		node->ring_addrs[link] = get_string(section, key);
	}
	if (!nodeid || cv_conf_is_section(nodeid))
		return load_error(l, section->line, "node has no nodeid");
	if (cv_conf_parse_u32(&l->r, nodeid, 1, UINT32_MAX, &node->nodeid) < 0)
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
	const struct cv_conf_node *nodelist = cv_conf_section(root, "nodelist");
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
	l->out->n_nodes = 1;
	l->out->local_node = 0;
	return get_u32(l, cv_conf_section(root, "totem"), "nodeid", 1, UINT32_MAX, &node->nodeid);
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
	s->limits.cmap_max_bytes = CV_DEFAULT_CMAP_MAX_BYTES;
	s->limits.max_ring_size = CV_DEFAULT_MAX_RING_SIZE;
	s->service_dir = CV_DEFAULT_SERVICE_DIR;
	s->log = CV_LOG_TARGETS_DEFAULT;
	s->limits.log_rate_burst = CV_LOG_DEFAULT_RATE_BURST;
	s->limits.log_rate_interval_ms = CV_LOG_DEFAULT_RATE_INTERVAL_MS;
	s->sched.sched_rr = true;
	s->sched.move_to_root_cgroup = CV_ROOT_CGROUP_AUTO;
}

int cv_settings_load(const struct cv_conf *conf, struct cv_settings *out, char *err, size_t err_size)
{
	struct loader l = { .r = { .conf = conf, .err = err, .err_size = err_size }, .out = out };
	const struct cv_conf_node *root = cv_conf_root(&l.r);

	set_defaults(out);
	out->conf = conf;
	out->cluster_name = get_string(cv_conf_section(root, "totem"), "cluster_name");
	if (load_limits(&l, root) < 0 || load_uidgid(&l, root) < 0 || load_logging(&l, root) < 0 ||
	    load_system(&l, root) < 0 || load_nodelist(&l, root) < 0)
		return -1;
	return out->have_nodelist ? 0 : load_single_node(&l, root);
}
