#include <fnmatch.h>
#include <stdbool.h>
#include <stddef.h>

#include "cv-conf-usage.h"

/* Dotted paths as cv_conf_for_each_key() gives them; '*' stands for a
 * section's number. Keys for other programs are those corosync's companions
 * read from cmap (corosync-qdevice: quorum.device.MODEL.*). */
static const char *const used_keys[] = {
	"totem.cluster_name",
	"nodelist.node.*.nodeid",
	"nodelist.node.*.name",
	"nodelist.node.*.ring[0-7]_addr",
	"nodelist.node.*.quorum_votes",
	"quorum.provider",
	"quorum.expected_votes",
	"quorum.votes",
	"quorum.two_node",
	"quorum.wait_for_all",
	"quorum.last_man_standing",
	"quorum.last_man_standing_window",
	"quorum.auto_tie_breaker",
	"quorum.auto_tie_breaker_node",
	"quorum.allow_downscale",
	"quorum.device.model",
	"quorum.device.votes",
	"quorum.device.timeout",
	"quorum.device.sync_timeout",
	"quorum.device.*.*",
	"logging.debug",
	"logging.to_stderr",
	"logging.to_syslog",
	"logging.to_logfile",
	"logging.logfile",
	"logging.syslog_facility",
	"logging.syslog_priority",
	"logging.logfile_priority",
	"uidgid.uid",
	"uidgid.gid",
	"uidgid.*.uid",
	"uidgid.*.gid",
	"cfg.shutdown_timeout",
	"conclave.*",
};

static bool is_used(const char *path)
{
	for (size_t i = 0; i < sizeof(used_keys) / sizeof(used_keys[0]); i++)
		if (fnmatch(used_keys[i], path, 0) == 0)
			return true;
	return false;
}

struct walk {
	cv_conf_unused_fn fn;
	void *data;
	unsigned count;
};

static int check_key(const char *path, const struct cv_conf_node *key, void *data)
{
	struct walk *w = data;

	if (!is_used(path)) {
		w->count++;
		w->fn(path, key, w->data);
	}
	return 0;
}

unsigned cv_conf_for_each_unused_key(const struct cv_conf *conf, cv_conf_unused_fn fn, void *data)
{
	struct walk w = { fn, data, 0 };

	if (conf)
		cv_conf_for_each_key(conf, check_key, &w);
	return w.count;
}
