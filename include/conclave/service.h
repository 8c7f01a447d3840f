/* The server API for service authors: everything conclaved offers to the
 * code of a service and to its generated server table, and the only daemon
 * header a service includes. It covers per-session state, replies (now or
 * deferred), events to one session or to many, back-pressure, timers, the
 * configuration, the daemon's cmap store, and logging.
 *
 * The daemon validates every frame before a handler runs: header size, payload
 * size against the configured maximum (before allocating), the request id
 * against the service's table, and the protobuf decode. Handlers therefore see
 * only well-formed requests of the right type.
 */
#ifndef CONCLAVE_SERVICE_H
#define CONCLAVE_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <protobuf-c/protobuf-c.h>
#include <corosync/corotypes.h>

#include <conclave/cmap-store.h>
#include <conclave/config.h>
#include <conclave/list.h>
#include <conclave/log.h>
#include <conclave/settings.h>

struct cv_catalog;

/* ---- Services and their requests ---- */

/* The version of this API. Generated servers refuse to compile against
 * another; it changes with any change of the structures or functions below. */
#define CV_SERVICE_API 4

struct cv_session; /* one client connection bound to one service */

enum { CV_SERVICE_OFFERED = 0, CV_SERVICE_NOT_OFFERED = 1 };

typedef cs_error_t (*cv_request_fn)(struct cv_session *s, const ProtobufCMessage *request,
				    ProtobufCMessage *reply);

enum cv_request_flags {
	CV_REQUEST_ONEWAY = 1u << 0,       /* no reply frame is sent */
	CV_REQUEST_QUORATE_ONLY = 1u << 1, /* refused with CS_ERR_TRY_AGAIN while inquorate */
	/* One-way, sent without waiting (pipelined): when the handler returns
	 * CS_ERR_TRY_AGAIN the daemon keeps the frame and stops reading the
	 * connection until cv_session_retry_held() runs the handler again. */
	CV_REQUEST_NOWAIT = 1u << 2,
};

struct cv_request_desc {
	const char *name;
	const ProtobufCMessageDescriptor *request;
	const ProtobufCMessageDescriptor *reply; /* NULL when one-way */
	cv_request_fn handle;
	/* Checks the IDL's declared bounds (string lengths, counts) before the
	 * handler runs; anything but CS_OK closes the connection, as for any
	 * other malformed frame, since the client stub checks the same bounds
	 * before sending. NULL: nothing to check. */
	cs_error_t (*validate)(const ProtobufCMessage *request);
	uint32_t flags;
};

/* Hand-written per service (src/services/<name>.c), referenced by the
 * generated table as <name>_service_ops. Every hook may be NULL. */
struct cv_service_ops {
	/* Reads the service's own settings from the configuration file (conf is
	 * NULL without one) with the readers of <conclave/config.h>, before the
	 * cmap maps exist: CV_SERVICE_OFFERED, CV_SERVICE_NOT_OFFERED (the
	 * configuration turns it off), or -1 with "FILE:LINE: error: message" in
	 * err, which stops the daemon. The daemon's settings (cv_server_settings())
	 * are read by then. Keys the service reads count as used; those nothing
	 * reads are named in a warning, and in conclave {} refused. NULL: offered,
	 * with no settings. */
	int (*configure)(const struct cv_conf *conf, char *err, size_t err_size);
	/* A reload (SIGHUP, cfg's reload) is about to replace the file with
	 * `next`: reads the service's settings from it as configure does, without
	 * applying them (they stay as at start; what follows run-time changes
	 * tracks cmap), so that a file the service would refuse is not loaded: 0,
	 * or -1 with "FILE:LINE: error: message" in err. NULL: no settings. */
	int (*check_reload)(const struct cv_conf *next, char *err, size_t err_size);
	int (*start)(void);                   /* daemon start-up; <0 aborts start */
	void (*stop)(void);                   /* daemon shutdown */
	int (*connect)(struct cv_session *s); /* <0 refuses the client (CS_ERR_NO_RESOURCES) */
	/* The client has its WELCOME: the first moment events may be sent. */
	void (*opened)(struct cv_session *s);
	void (*disconnect)(struct cv_session *s); /* connection closed, any reason */
	/* The session's queues shrank. It may run inside a handler of another
	 * session, so it should only schedule work (a timer). */
	void (*room)(struct cv_session *s);
};

struct cv_server_service {
	const char *name;
	/* The service's number (the IDL's `id`): the order services start in, and
	 * corosync's id in cmap keys such as runtime.services.cpg.service_id. */
	uint16_t id;
	uint16_t version_major;
	uint16_t version_minor;
	uint16_t n_requests;
	const struct cv_request_desc *requests; /* indexed by request id */
	uint16_t n_events;
	const char *const *event_names; /* indexed by event id, for logs */
	const struct cv_service_ops *ops;
	/* Its messages by name (S-catalog.c), for -d's traces and for conclavectl
	 * call and monitor, which read a module's from its file: a service
	 * without one cannot be called by name. */
	const struct cv_catalog *catalog;
	/* The daemon's own (the monitor), not one of corosync's services: cmap's
	 * runtime.services and internal_configuration keys leave it out. */
	bool daemon_own;
};

/* ---- Events and back-pressure ---- */

/* Queues an event frame for the client. CS_OK, or CS_ERR_TRY_AGAIN when the
 * session's queued events are at the configured limit (nothing is queued),
 * or CS_ERR_LIBRARY when the session is closing. A full event queue never
 * holds back the session's own requests, only its events. */
cs_error_t cv_session_send_event(struct cv_session *s, uint16_t event_id, const ProtobufCMessage *event);

/* An event packed once and queued to any number of sessions, which share
 * its bytes: for an event many clients get. cv_event_pack returns NULL on
 * exhaustion; the frame lives until it is released and no queue holds it. */
struct cv_packed_frame;
struct cv_packed_frame *cv_event_pack(uint16_t event_id, const ProtobufCMessage *event);
size_t cv_packed_frame_payload(const struct cv_packed_frame *f); /* for cv_session_has_room */
void cv_packed_frame_release(struct cv_packed_frame *f);
/* As cv_session_send_event. */
cs_error_t cv_session_send_packed(struct cv_session *s, struct cv_packed_frame *event);

/* True when an event whose protobuf_c_message_get_packed_size() is `bytes`
 * would fit under the queue limit now. */
bool cv_session_has_room(const struct cv_session *s, size_t bytes);

/* ---- Replies, now or later ---- */

/* Zeroed memory that lives until the current reply has been packed and sent;
 * for building repeated or nested reply fields. NULL on exhaustion. */
void *cv_reply_alloc(struct cv_session *s, size_t size);

/* True while the session holds a CV_REQUEST_NOWAIT frame its handler put off. */
bool cv_session_is_held(const struct cv_session *s);
/* Runs the handler of the held frame again; reading resumes once it is taken.
 * Call it from a timer, never from inside a handler. */
void cv_session_retry_held(struct cv_session *s);

/* A reply the service sends later, outside the handler of its request. */
struct cv_pending_reply {
	uint16_t request_id;
	uint32_t seq;
};
/* Called by a handler of a request with a reply: no reply is sent when the
 * handler returns (its status is ignored); the service answers later with
 * cv_session_reply(), or never if the session closes first. The client's call
 * blocks until then; its events still arrive meanwhile. */
void cv_session_defer_reply(struct cv_session *s, struct cv_pending_reply *pending);
/* Sends a deferred reply; reply NULL is the empty reply message. Nothing
 * happens when the session is closing. */
void cv_session_reply(struct cv_session *s, const struct cv_pending_reply *pending, cs_error_t status,
		      const ProtobufCMessage *reply);

/* ---- The daemon and its sessions ---- */

/* Reads the configuration file again into cmap, as SIGHUP does: CS_OK;
 * CS_ERR_NOT_SUPPORTED without a configuration file; CS_ERR_INVALID_PARAM
 * when the file cannot be loaded (logged, and stored in cmap's
 * config.reload_error_message). */
cs_error_t cv_server_reload_configuration(void);

/* Ends the event loop after the current batch, whose replies are still sent;
 * the daemon then closes every session and exits with status 0. */
void cv_server_shutdown(const char *why);

/* Closes the session after the current handler returns, logging `why`. */
void cv_session_close(struct cv_session *s, const char *why);

void cv_session_set_private(struct cv_session *s, void *data);
void *cv_session_private(const struct cv_session *s);
pid_t cv_session_pid(const struct cv_session *s);
uid_t cv_session_uid(const struct cv_session *s);
uint64_t cv_session_id(const struct cv_session *s); /* unique for the daemon's life */

/* ---- Timers, settings and the quorum gate ---- */

/* One-shot timers on the daemon's event loop; the callback runs on the loop,
 * never inside a handler. */
struct cv_timer;
typedef void (*cv_timer_fn)(void *data);

struct cv_timer *cv_timer_new(cv_timer_fn fn, void *data); /* NULL on exhaustion */
void cv_timer_start(struct cv_timer *t, uint64_t ms);      /* (re)arms, ms from now */
void cv_timer_stop(struct cv_timer *t);
bool cv_timer_pending(const struct cv_timer *t);
void cv_timer_free(struct cv_timer *t);

/* The daemon's validated settings (<conclave/settings.h>): its node list,
 * limits and the file; a service's own are read by its configure hook. */
struct cv_settings;
const struct cv_settings *cv_server_settings(void);

/* Set by the quorum provider; while false, CV_REQUEST_QUORATE_ONLY requests
 * are refused with CS_ERR_TRY_AGAIN. True until a provider says otherwise. */
void cv_server_set_quorate(bool quorate);

/* False once the session is closing: it takes no more events. */
bool cv_session_is_open(const struct cv_session *s);

/* ---- Statistics and connection events, for the cmap stats map ---- */

struct cv_session_stats {
	uint64_t requests;           /* requests handled */
	uint64_t responses;          /* replies queued */
	uint64_t errors;             /* replies whose status is not CS_OK */
	uint64_t overload;           /* replies of CS_ERR_TRY_AGAIN */
	uint64_t events;             /* events queued */
	uint64_t sent;               /* frames written whole */
	uint64_t send_retries;       /* writes the socket put off (EAGAIN) */
	uint64_t recv_retries;       /* reads that stopped inside a frame */
	uint64_t flow_control_count; /* times a queue reached max_queued_bytes */
};

struct cv_session_queue {
	size_t frames; /* events and replies */
	size_t bytes;
	bool flow_controlled; /* a queue is at its limit: events are refused, or reading paused */
};

struct cv_service_stats {
	uint64_t connections; /* open now */
	uint64_t connects;    /* accepted since start (or the last clear) */
	uint64_t requests;
	uint64_t errors;
	uint64_t events;
	uint64_t invalid_requests; /* frames that closed their connection */
};

const struct cv_session_stats *cv_session_stats(const struct cv_session *s);
void cv_session_queue_state(const struct cv_session *s, struct cv_session_queue *out);
const char *cv_session_service_name(const struct cv_session *s);

/* NULL for a service the daemon does not offer. */
const struct cv_service_stats *cv_server_service_stats(const char *service);
uint64_t cv_server_active_connections(void);
uint64_t cv_server_closed_connections(void);
/* Zeroes the counters of every session and service (not the connection
 * counts): stats.clear.ipc. */
void cv_server_clear_stats(void);

/* Told of every connection of every service: opened once its HELLO is
 * accepted, closed before its service's disconnect hook runs. */
struct cv_session_observer {
	void (*opened)(struct cv_session *s);
	void (*closed)(struct cv_session *s);
};
void cv_server_observe_sessions(const struct cv_session_observer *observer);

/* ---- Loadable services ---- */

/* A service built as a shared object, which conclaved loads from its
 * service directory (conclave { service_dir: DIR }, by default
 * LIBDIR/conclave/services) at start: each file of DIR named NAME.so, in
 * name order. The object names its service once, with
 * CV_SERVICE_MODULE(S_server_service).
 * conclaved refuses, with a log line naming the file, an object that cannot
 * be loaded, that has no module, that was built for another CV_SERVICE_API,
 * or whose service's name or number another service has; it serves the
 * others. */
struct cv_service_module {
	uint32_t api_version; /* CV_SERVICE_API as the module was built */
	const struct cv_server_service *service;
};
#define CV_SERVICE_MODULE_SYMBOL "conclave_service_module"
#define CV_SERVICE_MODULE(server_service)                                                              \
	__attribute__((                                                                                \
		visibility("default"))) extern const struct cv_service_module conclave_service_module; \
	const struct cv_service_module conclave_service_module = { CV_SERVICE_API, &(server_service) }

/* ---- Reading settings ---- */

/* A service reads its own settings in its configure hook, and checks a
 * reloaded file in its check_reload hook, with the readers of
 * <conclave/config.h>, which this header includes:
 *
 *   const struct cv_conf_reader r = { .conf = conf, .err = err, .err_size = err_size };
 *   const struct cv_conf_node *section = cv_conf_section(cv_conf_root(&r), "counter");
 *
 *   if (cv_conf_get_u32(&r, section, "max_value", 1, 1000000, &max_value) < 0)
 *           return -1;
 *
 * cv_conf_get_u32(), cv_conf_get_bool(), cv_conf_get_string() and
 * cv_conf_get_choice() leave the value as it is when the key is absent and
 * put "FILE:LINE: error: message" in err for a bad one; cv_conf_error()
 * reports a service's own checks the same way; cv_conf_mark_used() names
 * keys read later from cmap, which conclaved then does not report as
 * unused. */

/* ---- Logging ---- */

/* cv_log(level, format, ...) and cv_log_error(), cv_log_warning(),
 * cv_log_notice(), cv_log_info(), cv_log_debug(); cv_log_debug_enabled();
 * cv_log_reopen(), for rotation: <conclave/log.h>, which this header
 * includes. A line goes where the configuration's logging {} section says,
 * with its control characters escaped and at most a burst of lines per
 * interval from one call site. */

/* ---- The daemon's cmap store (<conclave/cmap-store.h>) ---- */

/* The default map holds the configuration file's keys and what services
 * publish (runtime.votequorum.*); services read their settings from it and
 * track it to follow run-time changes. The stats map holds conclaved's
 * statistics. Both exist before any service starts. */
struct cmap_store *cmap_default_map(void);
struct cmap_store *cmap_stats_map(void);

/* A client selected the stats map: from now on every connection has its
 * keys there (they are made only once someone reads them). */
void cmap_stats_in_use(void);
/* A set of stats.clear.<what>: CS_OK, or CS_ERR_NOT_SUPPORTED for a <what>
 * that names nothing (knet, ipc, totem, schedmiss and all do). */
cs_error_t cmap_stats_clear(const char *key);
#define CMAP_STATS_CLEAR_PREFIX "stats.clear."

#endif
