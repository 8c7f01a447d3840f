/* The monitor service: connections of root (only) that receive a record of
 * every request, reply and event of every other connection, with its
 * payload, for conclavectl monitor. A monitor that does not keep up loses
 * records, counted in the next one it gets; the traffic it watches is
 * never held back. */
#include <string.h>
#include <time.h>

#include "cv-monitor.h"
#include "cv-server-private.h"
#include "monitor.pb-c.h"

#define MAX_MONITORS 8

struct monitor {
	struct cv_session *session;
	uint64_t missed;
};

static struct monitor monitors[MAX_MONITORS];
static size_t n_monitors;

/* Only root gets this far (handshake.c). */
static int monitor_connect(struct cv_session *s)
{
	(void)s;
	return n_monitors < MAX_MONITORS ? 0 : -1;
}

static void monitor_opened(struct cv_session *s)
{
	monitors[n_monitors++] = (struct monitor){ .session = s };
}

static void monitor_disconnect(struct cv_session *s)
{
	for (size_t i = 0; i < n_monitors; i++) {
		if (monitors[i].session == s) {
			monitors[i] = monitors[--n_monitors];
			return;
		}
	}
}

static const struct cv_service_ops monitor_ops = {
	.connect = monitor_connect,
	.opened = monitor_opened,
	.disconnect = monitor_disconnect,
};

static const char *const monitor_event_names[] = { [CV_MONITOR_EVENT_RECORD] = "record" };

const struct cv_server_service cv_monitor_service = {
	.name = CV_MONITOR_SERVICE,
	.version_major = CV_MONITOR_VERSION_MAJOR,
	.version_minor = CV_MONITOR_VERSION_MINOR,
	.n_events = 1,
	.event_names = monitor_event_names,
	.ops = &monitor_ops,
	.daemon_own = true,
};

bool monitor_watching(const struct cv_session *s)
{
	return n_monitors > 0 && s->service != &cv_monitor_service;
}

static uint64_t realtime_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

static void send_to(struct monitor *m, MonitorRecord *record)
{
	struct cv_packed_frame *packed;

	record->missed = m->missed;
	packed = cv_event_pack(CV_MONITOR_EVENT_RECORD, &record->base);
	if (packed && cv_session_send_packed(m->session, packed) == CS_OK)
		m->missed = 0;
	else
		m->missed++;
	cv_packed_frame_release(packed);
}

void monitor_record(const struct cv_session *s, enum cv_monitor_kind kind, uint16_t id, int32_t status,
		    bool split, const uint8_t *payload, size_t length)
{
	MonitorRecord record = MONITOR_RECORD__INIT;

	if (!monitor_watching(s))
		return;
	record.time_ns = realtime_ns();
	record.connection = s->id;
	record.pid = s->cred.pid;
	record.uid = s->cred.uid;
	record.service = (char *)s->service->name;
	record.kind = kind;
	record.id = id;
	record.status = status;
	record.split = split;
	record.payload = (ProtobufCBinaryData){ .len = length, .data = (uint8_t *)payload };
	for (size_t i = 0; i < n_monitors; i++)
		send_to(&monitors[i], &record);
}
