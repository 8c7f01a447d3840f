/* Daemon logging: one line per message on stderr, "conclaved: [level] text",
 * and, when a log file is set, the same line after a time stamp there.
 * Control characters in the text are escaped, and each call site (format)
 * logs at most a burst of lines per interval (cv_log_set_rate_limit). */
#ifndef CONCLAVE_CV_LOG_H
#define CONCLAVE_CV_LOG_H

#include <stdbool.h>

enum cv_log_level {
	CV_LOG_ERROR,
	CV_LOG_WARNING,
	CV_LOG_NOTICE,
	CV_LOG_INFO,
	CV_LOG_DEBUG,
};

#define CV_LOG_DEFAULT_RATE_BURST 10
#define CV_LOG_DEFAULT_RATE_INTERVAL_MS 5000

void cv_log_set_debug(bool enabled);
/* At most burst lines per interval_ms from one format; 0: no limit. */
void cv_log_set_rate_limit(unsigned int burst, unsigned int interval_ms);
/* Appends to path from now on (NULL: no file); 0 or -errno, when the file
 * cannot be opened (logged on stderr; it is tried again at each reopen). */
int cv_log_set_file(const char *path);
/* Closes and opens the log file again, for rotation: 0, or -errno. */
int cv_log_reopen(void);
bool cv_log_debug_enabled(void);
void cv_log(enum cv_log_level level, const char *format, ...) __attribute__((format(printf, 2, 3)));

#define cv_log_error(...) cv_log(CV_LOG_ERROR, __VA_ARGS__)
#define cv_log_warning(...) cv_log(CV_LOG_WARNING, __VA_ARGS__)
#define cv_log_notice(...) cv_log(CV_LOG_NOTICE, __VA_ARGS__)
#define cv_log_info(...) cv_log(CV_LOG_INFO, __VA_ARGS__)
#define cv_log_debug(...) cv_log(CV_LOG_DEBUG, __VA_ARGS__)

#endif
