/* The configuration, validated and typed. Every value has a default, so a
 * daemon without a configuration file runs a single-node cluster: nodeid 1,
 * one vote, the votequorum provider. */
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
#define CV_DEFAULT_CMAP_MAX_ITERATORS 128u
#define CV_DEFAULT_CMAP_MAX_TRACKS 1024u
#define CV_DEFAULT_CMAP_MAX_BYTES (256u * 1024u * 1024u)
#define CV_DEFAULT_EVS_MAX_JOINS 1024u
#define CV_DEFAULT_MAX_RING_SIZE (1024u * 1024u)

struct cv_limits {
	uint32_t max_message_size; /* conclave.max_message_size */
	uint32_t max_queued_bytes; /* conclave.max_queued_bytes */
	uint32_t max_connections;  /* conclave.max_connections */
	uint32_t max_connections_per_uid;
	uint32_t hello_timeout_ms;     /* conclave.hello_timeout */
	uint32_t cmap_max_iterators;   /* per connection */
	uint32_t cmap_max_tracks;      /* per connection */
	uint32_t cmap_max_bytes;       /* what clients may store in the default map */
	uint32_t evs_max_joins;        /* per connection */
	uint32_t max_ring_size;        /* largest shared ring a client may write through; 0: none */
	uint32_t cpg_max_message_size; /* largest cpg message sent in pieces */
	uint32_t log_rate_burst;       /* lines per interval from one call site; 0: no limit */
	uint32_t log_rate_interval_ms;
};

struct cv_node_settings {
	uint32_t nodeid;
	uint32_t votes;                       /* quorum_votes, default 1 */
	const char *name;                     /* NULL when not configured */
	const char *ring0_addr;               /* NULL when not configured */
	const char *ring_addrs[CV_MAX_LINKS]; /* ringN_addr, NULL when not configured */
	unsigned line;                        /* of the node { */
};

/* conclave.cluster_engine: what orders cpg's and evs's messages. */
enum cv_cluster_engine {
	CV_CLUSTER_NONE,     /* this node alone: the daemon itself */
	CV_CLUSTER_COROSYNC, /* the corosync running on this node (src/cluster) */
};

enum cv_atb_mode { CV_ATB_NONE, CV_ATB_LOWEST, CV_ATB_HIGHEST, CV_ATB_LIST };

struct cv_quorum_settings {
	bool votequorum;         /* quorum.provider: corosync_votequorum */
	uint32_t expected_votes; /* effective start value for the local node */
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
	const char *cluster_name;  /* totem.cluster_name or NULL */
	bool have_nodelist;
	struct cv_node_settings nodes[CV_MAX_NODES];
	size_t n_nodes;    /* at least 1: the local node */
	size_t local_node; /* index into nodes */
	struct cv_quorum_settings quorum;
};

/* Fills *out from conf (NULL: defaults). 0, or -1 with "FILE:LINE: error:
 * message" in err. `out` points into conf: keep conf alive. */
int cv_settings_load(const struct cv_conf *conf, struct cv_settings *out, char *err, size_t err_size);

/* True when host (an address or a name) resolves to an address of one of
 * this machine's interfaces. */
bool cv_host_is_local(const char *host);

static inline const struct cv_node_settings *cv_settings_local_node(const struct cv_settings *s)
{
	return &s->nodes[s->local_node];
}

#endif
