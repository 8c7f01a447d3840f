/* Daemon logging: one line per message, "conclaved: [level] text" on
 * stderr, the same line after a time stamp in the log file, and the text at
 * its priority and the configured facility to syslog; as corosync's
 * logging {} section says which of the three get it. Control
 * characters in the text are escaped, and each call site (format) logs at
 * most a burst of lines per interval (cv_log_set_rate_limit). */
#ifndef CONCLAVE_CV_LOG_H
#define CONCLAVE_CV_LOG_H

#include <stdbool.h>
#include <syslog.h>

#include <conclave/log.h>
#include <conclave/settings.h> /* struct cv_log_targets */

#define CV_LOG_DEFAULT_RATE_BURST 10
#define CV_LOG_DEFAULT_RATE_INTERVAL_MS 5000

void cv_log_set_debug(bool enabled);
/* At most burst lines per interval_ms from one format; 0: no limit. */
void cv_log_set_rate_limit(unsigned int burst, unsigned int interval_ms);
/* Sends lines to t's targets from now on; the log file is opened again when
 * its name changes. 0, or -errno when the file cannot be opened (logged;
 * it is tried again at each reopen). */
int cv_log_set_targets(const struct cv_log_targets *t);
/* A debug line whose every peer-supplied character the caller has already
 * escaped (a trace line): logged as it is, so that it is not escaped twice. */
void cv_log_escaped_debug(const char *line);

#endif
