/* conclavectl monitor: every request, reply and event of every client of
 * conclaved as it happens, decoded by name from the generator's catalogs
 * (root only: conclaved's monitor service refuses other users). */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conclavectl.h"
#include "conclavectl-catalog.h"
#include "cv-monitor.h"
#include "cv-split.h"
#include "cv-trace.h"
#include "monitor.pb-c.h"

static const char *only_service; /* NULL: every service */

static void append_stamp(struct cv_trace_line *l, uint64_t time_ns)
{
	time_t seconds = (time_t)(time_ns / 1000000000u);
	struct tm tm;

	if (!localtime_r(&seconds, &tm))
		memset(&tm, 0, sizeof(tm));
	cv_trace_append(l, "[%02d:%02d:%02d.%06u] ", tm.tm_hour, tm.tm_min, tm.tm_sec,
			(unsigned)(time_ns % 1000000000u / 1000u));
}

static const ProtobufCMessageDescriptor *record_descriptor(const struct cv_catalog *c, const MonitorRecord *r,
							   const char **name)
{
	const struct cv_catalog_request *request = cv_catalog_request(c, (uint16_t)r->id);
	const struct cv_catalog_event *event = cv_catalog_event(c, (uint16_t)r->id);

	if (r->kind == CV_MONITOR_EVENT) {
		*name = event ? event->name : "unknown";
		return event ? event->message : NULL;
	}
	*name = request ? request->name : "unknown";
	if (!request)
		return NULL;
	return r->kind == CV_MONITOR_REQUEST ? request->request : request->reply;
}

static void append_payload(struct cv_trace_line *l, const struct cv_catalog *c, const MonitorRecord *r)
{
	const char *name, *why;
	const ProtobufCMessageDescriptor *desc = record_descriptor(c, r, &name);
	const ProtobufCFieldDescriptor *split_field;
	ProtobufCMessage *m = NULL;

	if (r->kind == CV_MONITOR_REPLY) {
		cv_trace_append(l, "%s = ", name);
		cv_trace_status(l, r->status);
		cv_trace_append(l, " ");
		name = "";
	}
	if (desc)
		m = cv_payload_unpack(desc, NULL, r->split, r->payload.data, r->payload.len, &split_field,
				      &why);
	if (m) {
		cv_trace_message(l, name, m);
		cv_payload_free(m, split_field, NULL);
	} else {
		cv_trace_append(l, "%s (%zu bytes that do not decode)", name, r->payload.len);
	}
}

static cs_error_t print_record(uint64_t handle, cv_callback_fn fn, const ProtobufCMessage *message)
{
	static const char *const arrows[] = {
		[CV_MONITOR_REQUEST] = "->", [CV_MONITOR_REPLY] = "<-", [CV_MONITOR_EVENT] = "<- event"
	};
	const MonitorRecord *r = (const MonitorRecord *)message;
	struct cv_trace_line l = { .used = 0 };

	(void)handle;
	(void)fn;
	if (r->missed)
		printf("(%llu records lost: conclavectl monitor did not keep up)\n",
		       (unsigned long long)r->missed);
	if (only_service && strcmp(r->service, only_service) != 0)
		return CS_OK;
	append_stamp(&l, r->time_ns);
	cv_trace_append(&l, "connection %llu (pid %d, uid %u) %s %s ", (unsigned long long)r->connection,
			r->pid, r->uid, r->service,
			r->kind <= CV_MONITOR_EVENT && r->kind ? arrows[r->kind] : "?");
	append_payload(&l, conclavectl_find_catalog(r->service), r);
	printf("%s\n", l.text);
	fflush(stdout);
	return CS_OK;
}

static void record_callback(void)
{
}

static const struct cv_event_desc monitor_events[] = {
	[CV_MONITOR_EVENT_RECORD] = { "record", &monitor_record__descriptor, print_record },
};

static struct cv_handle_table monitor_handles = CV_HANDLE_TABLE_INIT;

static const struct cv_client_service monitor_service = {
	.name = CV_MONITOR_SERVICE,
	.version_major = CV_MONITOR_VERSION_MAJOR,
	.version_minor = CV_MONITOR_VERSION_MINOR,
	.n_events = 1,
	.events = monitor_events,
	.handles = &monitor_handles,
};

/* Until SIGINT or SIGTERM (0), or until conclaved goes away (1). */
static int watch(uint64_t handle)
{
	struct pollfd fds[2] = { { .fd = conclavectl_stop_signals_fd(), .events = POLLIN },
				 { .events = POLLIN } };

	if (fds[0].fd < 0 || cv_client_fd_get(&monitor_service, handle, &fds[1].fd) != CS_OK)
		return CONCLAVECTL_EXIT_FAILED;
	for (;;) {
		if (poll(fds, 2, -1) < 0)
			continue;
		if (fds[0].revents)
			return CONCLAVECTL_EXIT_OK;
		if (fds[1].revents &&
		    cv_client_dispatch(&monitor_service, handle, CS_DISPATCH_ALL) != CS_OK) {
			fprintf(stderr, "conclavectl: conclaved went away\n");
			return CONCLAVECTL_EXIT_FAILED;
		}
	}
}

static int run_monitor(int argc, char **argv)
{
	static const cv_callback_fn callbacks[] = { record_callback };
	uint64_t handle;
	cs_error_t err;
	char why[256];
	int status;

	if (conclavectl_help_asked(&conclavectl_monitor_command, argc, argv))
		return CONCLAVECTL_EXIT_OK;
	if (!conclavectl_service_dir_options(&argc, &argv, why, sizeof(why)))
		return conclavectl_usage_error(&conclavectl_monitor_command, why);
	if (argc > 1)
		return conclavectl_usage_error(&conclavectl_monitor_command,
					       "monitor takes one service at most");
	if (argc == 1 && !conclavectl_find_catalog(argv[0]))
		return conclavectl_usage_error(&conclavectl_monitor_command,
					       "no such service (conclavectl call lists them)");
	only_service = argc == 1 ? argv[0] : NULL;
	err = cv_client_initialize(&monitor_service, &handle, callbacks, NULL);
	if (err != CS_OK)
		return conclavectl_cannot_connect("monitor", err);
	status = watch(handle);
	cv_client_finalize(&monitor_service, handle);
	return status;
}

const struct conclavectl_command conclavectl_monitor_command = {
	.name = "monitor",
	.usage = "usage: conclavectl monitor [--service-dir DIR | --config FILE] [SERVICE]\n",
	.usage_status = CONCLAVECTL_EXIT_USAGE,
	.run = run_monitor,
};
