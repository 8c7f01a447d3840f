#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "cv-log.h"

#define LOG_LINE_MAX 1024
#define LOG_SOURCES 64

static bool debug_enabled;
static struct cv_log_targets targets = CV_LOG_TARGETS_DEFAULT;
static char *file_path; /* targets.logfile's copy, or NULL */
static FILE *file;      /* NULL while it cannot be opened */
static bool syslog_open;

/* Rate limiting, per source: the format string of the call. A source logs at
 * most `burst` lines per interval; what it logs beyond is counted and said
 * in one line once its interval is over, as the kernel's printk_ratelimit
 * does. */
struct log_source {
	const char *format; /* NULL: a free slot */
	enum cv_log_level level;
	int64_t interval_start_ms;
	unsigned int lines;
	unsigned long suppressed;
};

static unsigned int rate_burst = CV_LOG_DEFAULT_RATE_BURST;
static unsigned int rate_interval_ms = CV_LOG_DEFAULT_RATE_INTERVAL_MS;
static struct log_source sources[LOG_SOURCES];

static const char *const level_names[] = {
	[CV_LOG_ERROR] = "error", [CV_LOG_WARNING] = "warning", [CV_LOG_NOTICE] = "notice",
	[CV_LOG_INFO] = "info",   [CV_LOG_DEBUG] = "debug",
};

static const int syslog_priorities[] = {
	[CV_LOG_ERROR] = LOG_ERR, [CV_LOG_WARNING] = LOG_WARNING, [CV_LOG_NOTICE] = LOG_NOTICE,
	[CV_LOG_INFO] = LOG_INFO, [CV_LOG_DEBUG] = LOG_DEBUG,
};

void cv_log_set_debug(bool enabled)
{
	debug_enabled = enabled;
}

bool cv_log_debug_enabled(void)
{
	return debug_enabled;
}

void cv_log_set_rate_limit(unsigned int burst, unsigned int interval_ms)
{
	rate_burst = burst;
	rate_interval_ms = interval_ms;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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

static void log_line(enum cv_log_level level, const char *line)
{
	/* One fprintf per line keeps lines whole when stderr is shared. */
	if (targets.to_stderr)
		fprintf(stderr, "conclaved: [%s] %s\n", level_names[level], line);
	if (file && target_takes(level, targets.logfile_level))
		log_to_file(level, line);
	if (syslog_open && target_takes(level, targets.syslog_level))
		syslog(syslog_priorities[level], "%s", line);
}

/* Control characters (a newline, an escape sequence) and backslashes as
 * \xNN, so that no string a client sent can start a line of its own or
 * drive a terminal: everything logged is one line. */
static void escape_line(const char *raw, char *line, size_t size)
{
	size_t n = 0;

	for (const unsigned char *c = (const unsigned char *)raw; *c != '\0' && n + 5 <= size; c++) {
		if (*c < 0x20 || *c == 0x7f || *c == '\\')
			n += (size_t)snprintf(line + n, size - n, "\\x%02x", *c);
		else
			line[n++] = (char)*c;
	}
	line[n] = '\0';
}

static void report_suppressed(struct log_source *src)
{
	char raw[LOG_LINE_MAX], line[4 * LOG_LINE_MAX];

	snprintf(raw, sizeof(raw), "suppressed %lu similar messages: \"%s\"", src->suppressed, src->format);
	escape_line(raw, line, sizeof(line));
	log_line(src->level, line);
	src->suppressed = 0;
}

/* Says what the sources whose interval is over suppressed, and frees them. */
static void close_intervals(int64_t now)
{
	for (size_t i = 0; i < LOG_SOURCES; i++) {
		struct log_source *src = &sources[i];

		if (src->format == NULL || now - src->interval_start_ms < rate_interval_ms)
			continue;
		if (src->suppressed > 0)
			report_suppressed(src);
		src->format = NULL;
	}
}

/* False when format has logged its burst in this interval. A source that
 * finds no free slot is not limited. */
static bool rate_allows(enum cv_log_level level, const char *format)
{
	struct log_source *src = NULL;
	int64_t now;

	if (rate_burst == 0 || level == CV_LOG_DEBUG) /* debug lines are asked for */
		return true;
	now = now_ms();
	close_intervals(now);
	for (size_t i = 0; i < LOG_SOURCES && (src == NULL || src->format != format); i++)
		if (sources[i].format == format || (src == NULL && sources[i].format == NULL))
			src = &sources[i];
	if (src == NULL)
		return true;
	if (src->format != format)
		*src = (struct log_source){ .format = format, .level = level, .interval_start_ms = now };
	if (src->lines < rate_burst) {
		src->lines++;
		return true;
	}
	src->suppressed++;
	return false;
}

void cv_log(enum cv_log_level level, const char *format, ...)
{
	char raw[LOG_LINE_MAX], line[4 * LOG_LINE_MAX];
	va_list args;
	int saved_errno = errno;

	if (level == CV_LOG_DEBUG && !debug_enabled)
		return;
	if (rate_allows(level, format)) {
		va_start(args, format);
		vsnprintf(raw, sizeof(raw), format, args);
		va_end(args);
		escape_line(raw, line, sizeof(line));
		log_line(level, line);
	}
	errno = saved_errno;
}

void cv_log_escaped_debug(const char *line)
{
	int saved_errno = errno;

	if (debug_enabled)
		log_line(CV_LOG_DEBUG, line);
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
	bool syslog_changed = t->to_syslog != targets.to_syslog ||
			      t->syslog_facility != targets.syslog_facility;

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
