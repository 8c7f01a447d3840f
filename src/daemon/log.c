#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "cv-log.h"

static bool debug_enabled;

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
	errno = saved_errno;
}
