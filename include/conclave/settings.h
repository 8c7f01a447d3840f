/* The daemon's own settings, validated and typed: its limits, who may
 * connect, logging, its scheduling, the cluster engine and the node list. Every value has a
 * default, so a daemon without a configuration file runs a single-node
 * cluster (nodeid 1). Each service reads its own settings in its configure
 * hook (<conclave/service.h>), with the readers of <conclave/config.h>. */
#ifndef CONCLAVE_SETTINGS_H
#define CONCLAVE_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <syslog.h>

#include <conclave/config.h>
#include <conclave/log.h>

/* Where lines go (logging.to_stderr, to_syslog, syslog_facility,
 * syslog_priority, to_logfile with logfile, logfile_priority). A target
 * takes lines up to its level; debug lines go everywhere with debug on. */
struct cv_log_targets {
	bool to_stderr;
	bool to_syslog;
	int syslog_facility; /* LOG_DAEMON, LOG_LOCAL0 ... LOG_LOCAL7 */
	enum cv_log_level syslog_level;
	enum cv_log_level logfile_level;
	const char *logfile; /* NULL: no file */
};

/* stderr only, at info, as before any configuration is read. */
#define CV_LOG_TARGETS_DEFAULT                                   \
	((struct cv_log_targets){ .to_stderr = true,             \
				  .syslog_facility = LOG_DAEMON, \
				  .syslog_level = CV_LOG_INFO,   \
				  .logfile_level = CV_LOG_INFO })

#define CV_DEFAULT_CONFIG_PATH "/etc/conclave/conclave.conf"
#ifndef CV_DEFAULT_SERVICE_DIR /* set by the build: LIBDIR/conclave/services */
#define CV_DEFAULT_SERVICE_DIR "/usr/lib/conclave/services"
#endif
#define CV_MAX_NODES 384 /* corosync's PROCESSOR_COUNT_MAX */
#define CV_MAX_LINKS 8   /* corosync's ring0_addr to ring7_addr (knet links) */

#define CV_DEFAULT_MAX_MESSAGE_SIZE (1024u * 1024u)
#define CV_DEFAULT_MAX_QUEUED_BYTES (8u * 1024u * 1024u)
#define CV_DEFAULT_MAX_CONNECTIONS 4096u
#define CV_DEFAULT_MAX_CONNECTIONS_PER_UID 1024u
#define CV_DEFAULT_HELLO_TIMEOUT_MS 5000u
#define CV_DEFAULT_CMAP_MAX_BYTES (256u * 1024u * 1024u)
#define CV_DEFAULT_MAX_RING_SIZE (1024u * 1024u)

struct cv_limits {
	uint32_t max_message_size; /* conclave.max_message_size */
	uint32_t max_queued_bytes; /* conclave.max_queued_bytes */
	uint32_t max_connections;  /* conclave.max_connections */
	uint32_t max_connections_per_uid;
	uint32_t hello_timeout_ms; /* conclave.hello_timeout */
	/* What clients may store in the default map: a limit of the cmap store,
	 * which is the daemon's own and exists before any service reads its
	 * settings, so it is the daemon's setting, not the cmap service's. */
	uint32_t cmap_max_bytes;
	uint32_t max_ring_size;  /* largest shared ring a client may write through; 0: none */
	uint32_t log_rate_burst; /* lines per interval from one call site; 0: no limit */
	uint32_t log_rate_interval_ms;
};

struct cv_node_settings {
	uint32_t nodeid;
	const char *name;                     /* NULL when not configured */
	const char *ring0_addr;               /* NULL when not configured */
	const char *ring_addrs[CV_MAX_LINKS]; /* ringN_addr, NULL when not configured */
	unsigned line;                        /* of the node { */
};

/* system.move_to_root_cgroup, accepted as corosync accepts it; conclaved
 * does not move itself between cgroups. */
enum cv_root_cgroup {
	CV_ROOT_CGROUP_AUTO,
	CV_ROOT_CGROUP_YES,
	CV_ROOT_CGROUP_NO,
};

#define CV_NICE_HIGHEST (-20) /* system.priority: max */
#define CV_NICE_LOWEST 19     /* system.priority: min */

/* system {}: how the daemon is scheduled, set once at start as corosync
 * 3.1.7 does (cv_sched_apply). */
struct cv_sched_settings {
	bool sched_rr; /* system.sched_rr: SCHED_RR at its highest priority (default yes) */
	int nice;      /* system.priority as a nice value, used with sched_rr: no; 0: left alone */
	enum cv_root_cgroup move_to_root_cgroup;
};

/* conclave.cluster_engine: what orders cpg's and evs's messages. */
enum cv_cluster_engine {
	CV_CLUSTER_NONE,     /* this node alone: the daemon itself */
	CV_CLUSTER_COROSYNC, /* the corosync running on this node (src/cluster) */
};

struct cv_settings {
	const struct cv_conf *conf; /* NULL without a configuration file */
	struct cv_limits limits;
	const char *service_dir; /* conclave.service_dir: the service modules to load */
	enum cv_cluster_engine cluster_engine;
	uid_t uids[64];
	size_t n_uids;
	gid_t gids[64];
	size_t n_gids;
	bool debug;                /* logging.debug: on */
	struct cv_log_targets log; /* the rest of logging {}; log.logfile only with to_logfile: yes */
	struct cv_sched_settings sched;
	const char *cluster_name; /* totem.cluster_name or NULL */
	bool have_nodelist;
	struct cv_node_settings nodes[CV_MAX_NODES];
	size_t n_nodes;    /* at least 1: the local node */
	size_t local_node; /* index into nodes */
};

/* Fills *out from conf (NULL: defaults). 0, or -1 with "FILE:LINE: error:
 * message" in err. `out` points into conf: keep conf alive. */
int cv_settings_load(const struct cv_conf *conf, struct cv_settings *out, char *err, size_t err_size);

/* Once every service has read its settings: 0, or -1 with "FILE:LINE:
 * error: unknown key 'K' in section conclave" for the first key of
 * conclave {} that neither the daemon nor a service read. */
int cv_settings_check_conclave_section(const struct cv_conf *conf, char *err, size_t err_size);

/* True when host (an address or a name) resolves to an address of one of
 * this machine's interfaces. */
bool cv_host_is_local(const char *host);

static inline const struct cv_node_settings *cv_settings_local_node(const struct cv_settings *s)
{
	return &s->nodes[s->local_node];
}

#endif
