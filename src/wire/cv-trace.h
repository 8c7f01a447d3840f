/* Traces of the wire, as WAYLAND_DEBUG=1 gives them: one line per request,
 * reply and event, named from the service's catalog with every field
 * decoded by name, after a wall-clock time stamp. Clients write them to
 * stderr when CONCLAVE_DEBUG is set (cv_trace_client_enabled), conclaved
 * logs them with -d. */
#ifndef CONCLAVE_CV_TRACE_H
#define CONCLAVE_CV_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include <conclave/catalog.h>

#define CV_TRACE_LINE_MAX 1000 /* longer lines end in "..." */

struct cv_trace_line {
	char text[CV_TRACE_LINE_MAX + 4];
	size_t used;
};

#define CV_TRACE_HIDDEN __attribute__((visibility("hidden")))

/* CONCLAVE_DEBUG set to anything but "" or "0", read once (secure_getenv:
 * never for a set-uid program). */
CV_TRACE_HIDDEN bool cv_trace_client_enabled(void);
/* Starts l with "[HH:MM:SS.uuuuuu] ". */
CV_TRACE_HIDDEN void cv_trace_begin(struct cv_trace_line *l);
CV_TRACE_HIDDEN void cv_trace_append(struct cv_trace_line *l, const char *format, ...)
	__attribute__((format(printf, 2, 3)));
/* Appends "name(field=value, ...)"; a NULL message gives "name()". */
CV_TRACE_HIDDEN void cv_trace_message(struct cv_trace_line *l, const char *name, const ProtobufCMessage *m);
/* Appends the fields alone, "field=value, ...". */
CV_TRACE_HIDDEN void cv_trace_fields(struct cv_trace_line *l, const ProtobufCMessage *m);
/* The bytes one value of f takes in a message (an element of a repeated f). */
CV_TRACE_HIDDEN size_t cv_field_value_size(const ProtobufCFieldDescriptor *f);
/* Appends one field, "field=value". */
CV_TRACE_HIDDEN void cv_trace_field(struct cv_trace_line *l, const ProtobufCMessage *m,
				    const ProtobufCFieldDescriptor *f);
/* Appends "CS_OK", "CS_ERR_TRY_AGAIN", or the number. */
CV_TRACE_HIDDEN void cv_trace_status(struct cv_trace_line *l, int64_t status);

/* A catalog's entry for an id, or NULL when it has none (or no catalog). */
CV_TRACE_HIDDEN const struct cv_catalog_request *cv_catalog_request(const struct cv_catalog *c, uint16_t id);
CV_TRACE_HIDDEN const struct cv_catalog_event *cv_catalog_event(const struct cv_catalog *c, uint16_t id);

#endif
