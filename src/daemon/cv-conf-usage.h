/* Which keys of corosync.conf nothing acts on: those neither the daemon's
 * settings nor a service read (through <conclave/config.h>'s readers, which
 * mark what they read) nor marked as read from cmap later or by another
 * program. The whole file is published in cmap all the same; an unused key
 * is reported at start and reload, so that an administrator does not
 * believe it took effect. */
#ifndef CONCLAVE_CV_CONF_USAGE_H
#define CONCLAVE_CV_CONF_USAGE_H

#include <conclave/config.h>

/* Calls fn for each key of conf that nothing uses, with its dotted path
 * ("totem.token", "nodelist.node.0.ring0_addr"); returns how many. */
typedef void (*cv_conf_unused_fn)(const char *path, const struct cv_conf_node *key, void *data);
unsigned cv_conf_for_each_unused_key(const struct cv_conf *conf, cv_conf_unused_fn fn, void *data);

#endif
