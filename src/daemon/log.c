#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "cv-log.h"

static bool debug_enabled;
static struct cv_log_targets targets = CV_LOG_TARGETS_DEFAULT;
static char *file_path; /* targets.logfile's copy, or NULL */
static FILE *file;      /* NULL while it cannot be opened */
static bool syslog_open;

static const char *const level_names[] = {
	[CV_LOG_ERROR] = "error",
	[CV_LOG_WARNING] = "warning",
	[CV_LOG_NOTICE] = "notice",
	[CV_LOG_INFO] = "info",
	[CV_LOG_DEBUG] = "debug",
};

static const int syslog_priorities[] = {
	[CV_LOG_ERROR] = LOG_ERR,
	[CV_LOG_WARNING] = LOG_WARNING,
	[CV_LOG_NOTICE] = LOG_NOTICE,
	[CV_LOG_INFO] = LOG_INFO,
	[CV_LOG_DEBUG] = LOG_DEBUG,
};

void cv_log_set_debug(bool enabled)
{
	debug_enabled = enabled;
}

bool cv_log_debug_enabled(void)
{
	return debug_enabled;
}

static bool target_takes(enum cv_log_level level, enum cv_log_level target_level)
{
	return level <= target_level || debug_enabled;
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
	if (targets.to_stderr)
		fprintf(stderr, "conclaved: [%s] %s\n", level_names[level], line);
	if (file && target_takes(level, targets.logfile_level))
		log_to_file(level, line);
	if (syslog_open && target_takes(level, targets.syslog_level))
		syslog(syslog_priorities[level], "%s", line);
	errno = saved_errno;
}

static void reopen_syslog(void)
{
	if (syslog_open)
		closelog();
	syslog_open = targets.to_syslog;
	if (syslog_open)
		openlog("conclaved", LOG_PID | LOG_NDELAY, targets.syslog_facility);
}

static int reopen_file(void)
{
	int err;

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

int cv_log_reopen(void)
{
	reopen_syslog();
	return reopen_file();
}

static bool same_file(const char *a, const char *b)
{
	return (a == NULL) == (b == NULL) && (!a || strcmp(a, b) == 0);
}

int cv_log_set_targets(const struct cv_log_targets *t)
{
	bool file_changed = !same_file(t->logfile, file_path);
	bool syslog_changed = t->to_syslog != targets.to_syslog || t->syslog_facility != targets.syslog_facility;

	targets = *t;
	targets.logfile = file_path; /* t's may point into a configuration freed later */
	if (syslog_changed || (t->to_syslog && !syslog_open))
		reopen_syslog();
	if (!file_changed)
		return 0;
	targets.logfile = NULL;
	free(file_path);
	file_path = NULL;
	if (t->logfile && !(file_path = strdup(t->logfile)))
		return -ENOMEM;
	targets.logfile = file_path;
	return reopen_file();
}
