#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmap-config.h"
#include "cv-log.h"

struct loader {
	struct cmap_store *map;
	const struct cv_settings *settings;
	const char *file;
	char *err;
	size_t err_size;
};

/* The keys corosync's parser (coroparse.c) stores as numbers; '*' stands
 * for one path component. Every other key is a string. */
static const struct typed_key {
	const char *pattern;
	int32_t type;
} typed_keys[] = {
	{ "quorum.expected_votes", CMAP_STORE_UINT32 },
	{ "quorum.votes", CMAP_STORE_UINT32 },
	{ "quorum.last_man_standing_window", CMAP_STORE_UINT32 },
	{ "quorum.leaving_timeout", CMAP_STORE_UINT32 },
	{ "quorum.two_node", CMAP_STORE_UINT8 },
	{ "quorum.expected_votes_tracking", CMAP_STORE_UINT8 },
	{ "quorum.allow_downscale", CMAP_STORE_UINT8 },
	{ "quorum.wait_for_all", CMAP_STORE_UINT8 },
	{ "quorum.auto_tie_breaker", CMAP_STORE_UINT8 },
	{ "quorum.last_man_standing", CMAP_STORE_UINT8 },
	{ "quorum.device.timeout", CMAP_STORE_UINT32 },
	{ "quorum.device.sync_timeout", CMAP_STORE_UINT32 },
	{ "quorum.device.votes", CMAP_STORE_UINT32 },
	{ "quorum.device.master_wins", CMAP_STORE_UINT8 },
	{ "nodelist.node.*.nodeid", CMAP_STORE_UINT32 },
	{ "nodelist.node.*.quorum_votes", CMAP_STORE_UINT32 },
	{ "totem.version", CMAP_STORE_UINT32 },
	{ "totem.nodeid", CMAP_STORE_UINT32 },
	{ "totem.threads", CMAP_STORE_UINT32 },
	{ "totem.token", CMAP_STORE_UINT32 },
	{ "totem.token_coefficient", CMAP_STORE_UINT32 },
	{ "totem.token_retransmit", CMAP_STORE_UINT32 },
	{ "totem.token_warning", CMAP_STORE_UINT32 },
	{ "totem.hold", CMAP_STORE_UINT32 },
	{ "totem.token_retransmits_before_loss_const", CMAP_STORE_UINT32 },
	{ "totem.join", CMAP_STORE_UINT32 },
	{ "totem.send_join", CMAP_STORE_UINT32 },
	{ "totem.consensus", CMAP_STORE_UINT32 },
	{ "totem.merge", CMAP_STORE_UINT32 },
	{ "totem.downcheck", CMAP_STORE_UINT32 },
	{ "totem.fail_recv_const", CMAP_STORE_UINT32 },
	{ "totem.seqno_unchanged_const", CMAP_STORE_UINT32 },
	{ "totem.heartbeat_failures_allowed", CMAP_STORE_UINT32 },
	{ "totem.max_network_delay", CMAP_STORE_UINT32 },
	{ "totem.window_size", CMAP_STORE_UINT32 },
	{ "totem.max_messages", CMAP_STORE_UINT32 },
	{ "totem.miss_count_const", CMAP_STORE_UINT32 },
	{ "totem.knet_pmtud_interval", CMAP_STORE_UINT32 },
	{ "totem.knet_mtu", CMAP_STORE_UINT32 },
	{ "totem.knet_compression_threshold", CMAP_STORE_UINT32 },
	{ "totem.netmtu", CMAP_STORE_UINT32 },
	{ "totem.knet_compression_level", CMAP_STORE_INT32 },
	{ "totem.config_version", CMAP_STORE_UINT64 },
	{ "totem.interface.*.mcastport", CMAP_STORE_UINT16 },
	{ "totem.interface.*.ttl", CMAP_STORE_UINT8 },
	{ "totem.interface.*.knet_link_priority", CMAP_STORE_UINT8 },
	{ "totem.interface.*.knet_ping_interval", CMAP_STORE_UINT32 },
	{ "totem.interface.*.knet_ping_timeout", CMAP_STORE_UINT32 },
	{ "totem.interface.*.knet_ping_precision", CMAP_STORE_UINT32 },
	{ "totem.interface.*.knet_pong_count", CMAP_STORE_UINT32 },
	{ "resources.watchdog_timeout", CMAP_STORE_UINT32 },
	{ "resources.system.*.poll_period", CMAP_STORE_UINT64 },
	{ "resources.process.*.poll_period", CMAP_STORE_UINT64 },
	{ "pload.count", CMAP_STORE_UINT32 },
	{ "pload.size", CMAP_STORE_UINT32 },
	{ "conclave.service_dir", CMAP_STORE_STRING },
	{ "conclave.cluster_engine", CMAP_STORE_STRING },
	{ "conclave.*", CMAP_STORE_UINT32 },
};

/* corosync's read-only keys (main.c, votequorum.c, totemconfig.c), and our
 * own limits, which are fixed at start. */
static const char *const ro_prefixes[] = {
	"internal_configuration.", "runtime.services.", "runtime.config.", "runtime.totem.",
	"uidgid.config.",          "system.",           "nodelist.",       "conclave.",
};
static const char *const ro_keys[] = {
	"totem.crypto_cipher",
	"totem.crypto_hash",
	"totem.crypto_model",
	"totem.keyfile",
	"totem.key",
	"totem.secauth",
	"totem.ip_version",
	"totem.ip_dscp",
	"totem.transport",
	"totem.cluster_name",
	"totem.netmtu",
	"totem.threads",
	"totem.version",
	"totem.nodeid",
	"totem.clear_node_high_bit",
	"config.reload_in_progress",
	"config.totemconfig_reload_in_progress",
	"nodelist.local_node_pos",
};

#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

static int load_error(struct loader *l, unsigned line, const char *format, ...)
	__attribute__((format(printf, 3, 4)));

static int load_error(struct loader *l, unsigned line, const char *format, ...)
{
	va_list args;
	int r;

	va_start(args, format);
	r = cv_conf_verror(l->err, l->err_size, l->file, line, format, args);
	va_end(args);
	return r;
}

/* ---- types ------------------------------------------------------------- */

/* "a.*.c" matches "a.b.c": '*' is one whole, non-empty component. */
static bool pattern_matches(const char *pattern, const char *path)
{
	while (*pattern && *path) {
		if (pattern[0] == '*' && (pattern[1] == '.' || pattern[1] == '\0')) {
			const char *end = strchr(path, '.');

			if (end == path)
				return false;
			pattern++;
			path = end ? end : path + strlen(path);
			continue;
		}
		if (*pattern++ != *path++)
			return false;
	}
	return *pattern == '\0' && *path == '\0';
}

static int32_t config_key_type(const char *path)
{
	for (size_t i = 0; i < N_ELEMENTS(typed_keys); i++)
		if (pattern_matches(typed_keys[i].pattern, path))
			return typed_keys[i].type;
	return CMAP_STORE_STRING;
}

/* Switches accept the words the settings do; corosync wants 0 or 1. */
static const char *switch_as_number(const char *text)
{
	static const char *const yes[] = { "yes", "on", "true" };
	static const char *const no[] = { "no", "off", "false" };

	for (size_t i = 0; i < 3; i++) {
		if (strcmp(text, yes[i]) == 0)
			return "1";
		if (strcmp(text, no[i]) == 0)
			return "0";
	}
	return text;
}

static bool parse_in_range(const char *text, int64_t min, uint64_t max, uint64_t *out)
{
	char *end;

	errno = 0;
	if (min < 0 && text[0] == '-') {
		long long v = strtoll(text, &end, 10);

		if (errno || *end || end == text || v < min)
			return false;
		*out = (uint64_t)v;
		return true;
	}
	if (text[0] < '0' || text[0] > '9')
		return false;
	*out = strtoull(text, &end, 10);
	return !errno && !*end && *out <= max;
}

static int store_number(struct loader *l, const char *path, const struct cv_conf_node *key, int32_t type)
{
	static const struct {
		int64_t min;
		uint64_t max;
	} ranges[] = {
		[CMAP_STORE_UINT8] = { 0, UINT8_MAX },   [CMAP_STORE_UINT16] = { 0, UINT16_MAX },
		[CMAP_STORE_UINT32] = { 0, UINT32_MAX }, [CMAP_STORE_INT32] = { INT32_MIN, INT32_MAX },
		[CMAP_STORE_UINT64] = { 0, UINT64_MAX },
	};
	const char *text = type == CMAP_STORE_UINT8 ? switch_as_number(key->value) : key->value;
	uint64_t v;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	const void *bytes = &v;

	if (!parse_in_range(text, ranges[type].min, ranges[type].max, &v))
		return load_error(l, key->line,
				  "invalid value '%s' for %s: expected an integer from %" PRId64
				  " to %" PRIu64,
				  key->value, path, ranges[type].min, ranges[type].max);
	if (type == CMAP_STORE_UINT8)
		u8 = (uint8_t)v, bytes = &u8;
	else if (type == CMAP_STORE_UINT16)
		u16 = (uint16_t)v, bytes = &u16;
	else if (type == CMAP_STORE_UINT32 || type == CMAP_STORE_INT32)
		u32 = (uint32_t)v, bytes = &u32;
	if (cmap_store_write(l->map, path, type, bytes, (size_t)cmap_type_size(type)) != CS_OK)
		return load_error(l, key->line, "cannot store %s", path);
	return 0;
}

/* ---- paths ------------------------------------------------------------- */

static bool section_is(const struct cv_conf_node *section, const char *name, const char *parent)
{
	return section && section->name && strcmp(section->name, name) == 0 && section->parent &&
	       section->parent->name && strcmp(section->parent->name, parent) == 0;
}

/* corosync's names for two kinds of subsection: a logger_subsys is named by
 * its subsys key (which it keeps too), an interface by its linknumber
 * (default 0, which it does not keep: *path is emptied). */
static int rewrite_path(struct loader *l, const struct cv_conf_node *key, char *path, size_t size)
{
	const struct cv_conf_node *section = key->parent;

	if (section_is(section, "logger_subsys", "logging")) {
		const char *subsys = cv_conf_value(section, "subsys");

		if (!subsys)
			return load_error(l, section->line, "logger_subsys has no subsys key");
		snprintf(path, size, "logging.logger_subsys.%s.%s", subsys, key->name);
	} else if (section_is(section, "interface", "totem")) {
		const char *link = cv_conf_value(section, "linknumber");
		uint64_t number;

		if (link && !parse_in_range(link, 0, UINT8_MAX, &number))
			return load_error(l, section->line, "invalid value '%s' for linknumber", link);
		if (strcmp(key->name, "linknumber") == 0)
			path[0] = '\0';
		else
			snprintf(path, size, "totem.interface.%s.%s", link ? link : "0", key->name);
	}
	return 0;
}

static bool is_uidgid_key(const struct cv_conf_node *key)
{
	return key->parent && key->parent->name && strcmp(key->parent->name, "uidgid") == 0 &&
	       key->parent->parent && !key->parent->parent->name;
}

static int load_key(const char *config_path, const struct cv_conf_node *key, void *data)
{
	struct loader *l = data;
	char path[512];
	int32_t type;

	if (is_uidgid_key(key))
		return 0; /* stored by id, as uidgid.config.uid.N */
	snprintf(path, sizeof(path), "%s", config_path);
	if (rewrite_path(l, key, path, sizeof(path)) < 0)
		return -1;
	if (path[0] == '\0')
		return 0;
	if (strlen(path) > CMAP_STORE_KEY_MAX)
		return load_error(l, key->line, "the key %s is longer than %d characters", path,
				  CMAP_STORE_KEY_MAX);
	type = config_key_type(path);
	if (type != CMAP_STORE_STRING)
		return store_number(l, path, key, type);
	switch (cmap_store_write_string(l->map, path, key->value)) {
	case CS_OK:
		return 0;
	case CS_ERR_NAME_TOO_LONG:
		return load_error(l, key->line, "'%s' is not a valid cmap key name", path);
	case CS_ERR_INVALID_PARAM:
		return load_error(l, key->line, "the value of %s is longer than %d bytes", path,
				  CMAP_STORE_VALUE_MAX);
	default:
		return load_error(l, key->line, "cannot store %s: out of memory", path);
	}
}

/* ---- keys derived from the settings ------------------------------------ */

static int write_ok(struct loader *l, cs_error_t err, const char *key)
{
	return err == CS_OK ? 0 : load_error(l, 0, "cannot store %s", key);
}

static int load_uidgid(struct loader *l)
{
	const struct cv_settings *s = l->settings;
	char key[64];

	for (size_t i = 0; i < s->n_uids; i++) {
		snprintf(key, sizeof(key), "uidgid.config.uid.%u", (unsigned)s->uids[i]);
		if (write_ok(l, cmap_store_write_u8(l->map, key, 1), key) < 0)
			return -1;
	}
	for (size_t i = 0; i < s->n_gids; i++) {
		snprintf(key, sizeof(key), "uidgid.config.gid.%u", (unsigned)s->gids[i]);
		if (write_ok(l, cmap_store_write_u8(l->map, key, 1), key) < 0)
			return -1;
	}
	return 0;
}

/* The local node as corosync's totem shows its members. */
static int load_local_member(struct loader *l)
{
	const struct cv_node_settings *node = cv_settings_local_node(l->settings);
	const char *address = node->ring0_addr ? node->ring0_addr : node->name ? node->name : "127.0.0.1";
	char key[96], ip[320];
	uint32_t id = node->nodeid;
	int r = 0;

	if (l->settings->have_nodelist)
		r |= write_ok(l,
			      cmap_store_write_u32(l->map, "nodelist.local_node_pos",
						   (uint32_t)l->settings->local_node),
			      "nodelist.local_node_pos");
	/* corosync binds link 0 to the local node's ring0_addr and says so here. */
	if (l->settings->have_nodelist && node->ring0_addr)
		r |= write_ok(
			l, cmap_store_write_string(l->map, "totem.interface.0.bindnetaddr", node->ring0_addr),
			"totem.interface.0.bindnetaddr");
	snprintf(key, sizeof(key), "runtime.members.%u.config_version", id);
	r |= write_ok(l, cmap_store_write_u64(l->map, key, 0), key);
	snprintf(key, sizeof(key), "runtime.members.%u.ip", id);
	snprintf(ip, sizeof(ip), "r(0) ip(%s) ", address);
	r |= write_ok(l, cmap_store_write_string(l->map, key, ip), key);
	snprintf(key, sizeof(key), "runtime.members.%u.join_count", id);
	r |= write_ok(l, cmap_store_write_u32(l->map, key, 1), key);
	snprintf(key, sizeof(key), "runtime.members.%u.status", id);
	r |= write_ok(l, cmap_store_write_string(l->map, key, "joined"), key);
	return r ? -1 : 0;
}

/* corosync's name for a service: the daemon offers cfg as corosync_cfg,
 * after its functions' prefix. */
static const char *corosync_service_name(const char *offered)
{
	static const char prefix[] = "corosync_";

	return strncmp(offered, prefix, sizeof(prefix) - 1) == 0 ? offered + sizeof(prefix) - 1 : offered;
}

/* corosync loads its services in service id order and numbers them as it
 * loads them, so a service's entry is internal_configuration.service.<id>. */
static int load_services(struct loader *l, const struct cv_server_service *const *services, size_t n)
{
	char key[96], name[64];
	int r = 0;

	for (size_t i = 0; i < n; i++) {
		const char *service = corosync_service_name(services[i]->name);
		unsigned id = services[i]->id;

		if (services[i]->daemon_own)
			continue;
		snprintf(key, sizeof(key), "internal_configuration.service.%u.name", id);
		snprintf(name, sizeof(name), "corosync_%s", service);
		r |= write_ok(l, cmap_store_write_string(l->map, key, name), key);
		snprintf(key, sizeof(key), "internal_configuration.service.%u.ver", id);
		r |= write_ok(l, cmap_store_write_u32(l->map, key, 0), key);
		snprintf(key, sizeof(key), "runtime.services.%s.service_id", service);
		r |= write_ok(l, cmap_store_write_u16(l->map, key, services[i]->id), key);
	}
	return r ? -1 : 0;
}

/* What the daemon runs with, defaults included; each service publishes its
 * own limits under runtime.config.conclave. when it starts. */
static int load_effective_limits(struct loader *l)
{
	const struct cv_limits *lim = &l->settings->limits;
	const struct {
		const char *key;
		uint32_t value;
	} limits[] = {
		{ "runtime.config.conclave.max_message_size", lim->max_message_size },
		{ "runtime.config.conclave.max_queued_bytes", lim->max_queued_bytes },
		{ "runtime.config.conclave.max_connections", lim->max_connections },
		{ "runtime.config.conclave.max_connections_per_uid", lim->max_connections_per_uid },
		{ "runtime.config.conclave.hello_timeout", lim->hello_timeout_ms },
		{ "runtime.config.conclave.cmap_max_bytes", lim->cmap_max_bytes },
		{ "runtime.config.conclave.max_ring_size", lim->max_ring_size },
	};
	int r = 0;

	for (size_t i = 0; i < N_ELEMENTS(limits); i++)
		r |= write_ok(l, cmap_store_write_u32(l->map, limits[i].key, limits[i].value), limits[i].key);
	return r ? -1 : 0;
}

static int add_read_only_rules(struct loader *l)
{
	int r = 0;

	for (size_t i = 0; i < N_ELEMENTS(ro_prefixes); i++)
		r |= cmap_store_add_ro(l->map, ro_prefixes[i], true);
	for (size_t i = 0; i < N_ELEMENTS(ro_keys); i++)
		r |= cmap_store_add_ro(l->map, ro_keys[i], false);
	return r ? load_error(l, 0, "out of memory") : 0;
}

/* The keys the file itself gives: what a reload replaces. */
static int load_file_keys(struct loader *l)
{
	if (l->settings->conf && cv_conf_for_each_key(l->settings->conf, load_key, l) != 0)
		return -1;
	return load_uidgid(l);
}

int cmap_config_load(struct cmap_store *map, const struct cv_settings *settings,
		     const struct cv_server_service *const *services, size_t n_services, char *err,
		     size_t err_size)
{
	struct loader l = { .map = map, .settings = settings, .err = err, .err_size = err_size };

	l.file = settings->conf ? settings->conf->file : "conclaved";
	if (load_file_keys(&l) < 0)
		return -1;
	if (load_local_member(&l) < 0 || load_services(&l, services, n_services) < 0 ||
	    load_effective_limits(&l) < 0)
		return -1;
	return add_read_only_rules(&l);
}

static struct cmap_store *file_keys_of(const struct cv_settings *settings, char *err, size_t err_size)
{
	struct loader l = { .settings = settings, .err = err, .err_size = err_size };

	l.file = settings->conf ? settings->conf->file : "conclaved";
	l.map = cmap_store_new(0);
	if (!l.map) {
		snprintf(err, err_size, "%s: error: out of memory", l.file);
		return NULL;
	}
	if (load_file_keys(&l) < 0) {
		cmap_store_free(l.map);
		return NULL;
	}
	return l.map;
}

/* corosync's keys that a reload leaves as they were (cfg.c,
 * remove_ro_entries), among them the scheduling conclaved sets at start. */
static const char *const fixed_at_start[] = {
	"system.move_to_root_cgroup",
	"system.allow_knet_handle_fallback",
	"system.sched_rr",
	"system.priority",
	"system.qb_ipc_type",
	"system.state_dir",
};

static bool is_fixed_at_start(const char *key)
{
	for (size_t i = 0; i < N_ELEMENTS(fixed_at_start); i++)
		if (strcmp(key, fixed_at_start[i]) == 0)
			return true;
	return false;
}

static bool same_value(const struct cmap_store *a, const struct cmap_store *b, const char *key)
{
	uint8_t scratch_a[CMAP_COMPUTED_MAX], scratch_b[CMAP_COMPUTED_MAX];
	struct cmap_value va, vb;
	bool in_a = cmap_store_get(a, key, &va, scratch_a) == CS_OK;
	bool in_b = cmap_store_get(b, key, &vb, scratch_b) == CS_OK;

	if (!in_a || !in_b)
		return in_a == in_b;
	return va.type == vb.type && va.len == vb.len &&
	       (va.len == 0 || memcmp(va.bytes, vb.bytes, va.len) == 0);
}

/* As corosync, which logs a notice for each. */
static void keep_fixed_keys(const struct cmap_store *map, const struct cmap_store *next)
{
	for (size_t i = 0; i < N_ELEMENTS(fixed_at_start); i++)
		if (!same_value(map, next, fixed_at_start[i]))
			cv_log_notice("%s cannot be changed at run time: it keeps its value until conclaved "
				      "restarts",
				      fixed_at_start[i]);
}

/* corosync's reload deletes no key of system {}. */
static bool reload_may_delete(const char *key)
{
	return strncmp(key, "system.", strlen("system.")) != 0;
}

/* Makes map's file keys those of `next`: deleted when next lacks them,
 * written otherwise (writing an unchanged value does nothing); the keys
 * fixed at start keep their value. */
static void replace_file_keys(struct cmap_store *map, const struct cmap_store *before,
			      const struct cmap_store *next)
{
	uint8_t scratch[CMAP_COMPUTED_MAX];
	struct cmap_value v;

	keep_fixed_keys(map, next);
	for (const struct cmap_entry *e = cmap_store_next(before, "", NULL); e;
	     e = cmap_store_next(before, "", cmap_entry_key(e)))
		if (!cmap_store_find(next, cmap_entry_key(e)) && reload_may_delete(cmap_entry_key(e)))
			cmap_store_erase(map, cmap_entry_key(e));
	for (const struct cmap_entry *e = cmap_store_next(next, "", NULL); e;
	     e = cmap_store_next(next, "", cmap_entry_key(e))) {
		if (is_fixed_at_start(cmap_entry_key(e)))
			continue;
		cmap_entry_value(e, &v, scratch);
		cmap_store_write(map, cmap_entry_key(e), v.type, v.bytes, v.len);
	}
}

int cmap_config_reload(struct cmap_store *map, const struct cv_settings *loaded,
		       const struct cv_settings *next, char *err, size_t err_size)
{
	struct cmap_store *before = file_keys_of(loaded, err, err_size);
	struct cmap_store *after = before ? file_keys_of(next, err, err_size) : NULL;

	if (!after) {
		cmap_store_free(before);
		return -1;
	}
	cmap_store_write_u8(map, "config.reload_in_progress", 1);
	cmap_store_write_u8(map, "config.totemconfig_reload_in_progress", 1);
	replace_file_keys(map, before, after);
	cmap_store_write_u8(map, "config.totemconfig_reload_in_progress", 0);
	cmap_store_write_u8(map, "config.reload_in_progress", 0);
	cmap_store_free(before);
	cmap_store_free(after);
	return 0;
}
