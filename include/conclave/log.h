/* Logging, for the daemon and its services (<conclave/service.h>): one
 * line per message, "conclaved: [level] text", to the targets the
 * configuration's logging {} section names. */
#ifndef CONCLAVE_LOG_H
#define CONCLAVE_LOG_H

#include <stdbool.h>

enum cv_log_level {
	CV_LOG_ERROR,
	CV_LOG_WARNING,
	CV_LOG_NOTICE,
	CV_LOG_INFO,
	CV_LOG_DEBUG,
};

bool cv_log_debug_enabled(void);
/* Closes and opens the log file and the syslog connection again, for
 * rotation: 0, or -errno. */
int cv_log_reopen(void);
void cv_log(enum cv_log_level level, const char *format, ...) __attribute__((format(printf, 2, 3)));

#define cv_log_error(...) cv_log(CV_LOG_ERROR, __VA_ARGS__)
#define cv_log_warning(...) cv_log(CV_LOG_WARNING, __VA_ARGS__)
#define cv_log_notice(...) cv_log(CV_LOG_NOTICE, __VA_ARGS__)
#define cv_log_info(...) cv_log(CV_LOG_INFO, __VA_ARGS__)
#define cv_log_debug(...) cv_log(CV_LOG_DEBUG, __VA_ARGS__)

#endif
