/* Daemon logging: one line per message on stderr, "conclaved: [level] text",
 * and, when a log file is set, the same line after a time stamp there. */
#ifndef CONCLAVE_CV_LOG_H
#define CONCLAVE_CV_LOG_H

#include <stdbool.h>

#include <conclave/service.h> /* cv_log() and its levels */

void cv_log_set_debug(bool enabled);
/* Appends to path from now on (NULL: no file); 0 or -errno, when the file
 * cannot be opened (logged on stderr; it is tried again at each reopen). */
int cv_log_set_file(const char *path);

#endif
