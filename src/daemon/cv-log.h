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

enum cv_log_level {
	CV_LOG_ERROR,
	CV_LOG_WARNING,
	CV_LOG_NOTICE,
	CV_LOG_INFO,
	CV_LOG_DEBUG,
};

#define CV_LOG_DEFAULT_RATE_BURST 10
#define CV_LOG_DEFAULT_RATE_INTERVAL_MS 5000

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
#define CV_LOG_TARGETS_DEFAULT                                                            \
	((struct cv_log_targets){ .to_stderr = true, .syslog_facility = LOG_DAEMON,       \
				  .syslog_level = CV_LOG_INFO, .logfile_level = CV_LOG_INFO })

void cv_log_set_debug(bool enabled);
/* At most burst lines per interval_ms from one format; 0: no limit. */
void cv_log_set_rate_limit(unsigned int burst, unsigned int interval_ms);
/* Sends lines to t's targets from now on; the log file is opened again when
 * its name changes. 0, or -errno when the file cannot be opened (logged;
 * it is tried again at each reopen). */
int cv_log_set_targets(const struct cv_log_targets *t);
/* Closes and opens the log file and the syslog connection again, for
 * rotation: 0, or -errno. */
int cv_log_reopen(void);
bool cv_log_debug_enabled(void);
void cv_log(enum cv_log_level level, const char *format, ...) __attribute__((format(printf, 2, 3)));
/* A debug line whose every peer-supplied character the caller has already
 * escaped (a trace line): logged as it is, so that it is not escaped twice. */
void cv_log_escaped_debug(const char *line);

#define cv_log_error(...) cv_log(CV_LOG_ERROR, __VA_ARGS__)
#define cv_log_warning(...) cv_log(CV_LOG_WARNING, __VA_ARGS__)
#define cv_log_notice(...) cv_log(CV_LOG_NOTICE, __VA_ARGS__)
#define cv_log_info(...) cv_log(CV_LOG_INFO, __VA_ARGS__)
#define cv_log_debug(...) cv_log(CV_LOG_DEBUG, __VA_ARGS__)

#endif
