#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cv-log.h"

static bool debug_enabled;
static char *file_path; /* logging.logfile, or NULL */
static FILE *file;      /* NULL while it cannot be opened */

static const char *const level_names[] = {
	[CV_LOG_ERROR] = "error",
	[CV_LOG_WARNING] = "warning",
	[CV_LOG_NOTICE] = "notice",
	[CV_LOG_INFO] = "info",
	[CV_LOG_DEBUG] = "debug",
};

void cv_log_set_debug(bool enabled)
{
	debug_enabled = enabled;
}

bool cv_log_debug_enabled(void)
{
	return debug_enabled;
}

static void log_to_file(enum cv_log_level level, const char *line)
{
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;

	if (!localtime_r(&now, &tm) || !strftime(stamp, sizeof(stamp), "%b %d %H:%M:%S", &tm))
		stamp[0] = '\0';
	fprintf(file, "%s conclaved: [%s] %s\n", stamp, level_names[level], line);
}

void cv_log(enum cv_log_level level, const char *format, ...)
{
	char line[1024];
	va_list args;
	int saved_errno = errno;

	if (level == CV_LOG_DEBUG && !debug_enabled)
		return;
	va_start(args, format);
	vsnprintf(line, sizeof(line), format, args);
	va_end(args);
	/* One fprintf per line keeps lines whole when stderr is shared. */
	fprintf(stderr, "conclaved: [%s] %s\n", level_names[level], line);
	if (file)
		log_to_file(level, line);
	errno = saved_errno;
}

int cv_log_reopen(void)
{
	int err = 0;

	if (file)
		fclose(file);
	file = NULL;
	if (!file_path)
		return 0;
	file = fopen(file_path, "ae");
	if (!file) {
		err = -errno;
		cv_log_error("cannot open the log file %s: %s", file_path, strerror(-err));
		return err;
	}
	setvbuf(file, NULL, _IOLBF, 0);
	return 0;
}

int cv_log_set_file(const char *path)
{
	if ((path == NULL) == (file_path == NULL) && (!path || strcmp(path, file_path) == 0))
		return 0;
	free(file_path);
	file_path = NULL;
	if (path && !(file_path = strdup(path)))
		return -ENOMEM;
	return cv_log_reopen();
}
