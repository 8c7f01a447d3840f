#define _GNU_SOURCE
#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <conclave/cv-status.h>

#include "cv-trace.h"

#define BYTES_SHOWN 32
#define STRING_SHOWN 200

static bool client_enabled;
static pthread_once_t client_once = PTHREAD_ONCE_INIT;

static void read_client_environment(void)
{
	const char *value = secure_getenv("CONCLAVE_DEBUG");

	client_enabled = value && value[0] && strcmp(value, "0") != 0;
}

bool cv_trace_client_enabled(void)
{
	pthread_once(&client_once, read_client_environment);
	return client_enabled;
}

void cv_trace_append(struct cv_trace_line *l, const char *format, ...)
{
	va_list args;
	int n;

	if (l->used >= CV_TRACE_LINE_MAX)
		return;
	va_start(args, format);
	n = vsnprintf(l->text + l->used, CV_TRACE_LINE_MAX + 1 - l->used, format, args);
	va_end(args);
	if (n < 0)
		return;
	if ((size_t)n > CV_TRACE_LINE_MAX - l->used) {
		l->used = CV_TRACE_LINE_MAX;
		memcpy(l->text + l->used, "...", 4);
		return;
	}
	l->used += (size_t)n;
}

void cv_trace_begin(struct cv_trace_line *l)
{
	struct timespec now;
	struct tm tm;

	l->used = 0;
	l->text[0] = '\0';
	clock_gettime(CLOCK_REALTIME, &now);
	if (!localtime_r(&now.tv_sec, &tm))
		memset(&tm, 0, sizeof(tm));
	cv_trace_append(l, "[%02d:%02d:%02d.%06ld] ", tm.tm_hour, tm.tm_min, tm.tm_sec, now.tv_nsec / 1000);
}

void cv_trace_status(struct cv_trace_line *l, int64_t status)
{
	const char *name = cv_status_name(status);

	if (name)
		cv_trace_append(l, "%s", name);
	else
		cv_trace_append(l, "status %lld", (long long)status);
}

static void append_quoted(struct cv_trace_line *l, const char *prefix, const uint8_t *s, size_t length)
{
	size_t shown = length < STRING_SHOWN ? length : STRING_SHOWN;

	cv_trace_append(l, "%s\"", prefix);
	for (size_t i = 0; i < shown; i++) {
		if (s[i] == '"' || s[i] == '\\')
			cv_trace_append(l, "\\%c", s[i]);
		else if (isprint(s[i]))
			cv_trace_append(l, "%c", s[i]);
		else
			cv_trace_append(l, "\\x%02x", s[i]);
	}
	cv_trace_append(l, shown < length ? "\"...(%zu bytes)" : "\"", length);
}

static bool mostly_text(const ProtobufCBinaryData *b)
{
	size_t printable = 0;

	for (size_t i = 0; i < b->len; i++)
		printable += isprint(b->data[i]) || (b->data[i] == '\0' && i == b->len - 1);
	return b->len > 0 && printable == b->len;
}

/* Text (a cmap string with its NUL) as b"...", anything else in hex. */
static void append_bytes(struct cv_trace_line *l, const ProtobufCBinaryData *b)
{
	size_t shown = b->len < BYTES_SHOWN ? b->len : BYTES_SHOWN;

	if (mostly_text(b)) {
		append_quoted(l, "b", b->data, b->len);
		return;
	}
	cv_trace_append(l, "<");
	for (size_t i = 0; i < shown; i++)
		cv_trace_append(l, i ? " %02x" : "%02x", b->data[i]);
	cv_trace_append(l, shown < b->len ? " ...(%zu bytes)>" : ">", b->len);
}

static void append_enum(struct cv_trace_line *l, const ProtobufCEnumDescriptor *desc, int value)
{
	const ProtobufCEnumValue *v = desc ? protobuf_c_enum_descriptor_get_value(desc, value) : NULL;

	if (v)
		cv_trace_append(l, "%s", v->name);
	else
		cv_trace_append(l, "%d", value);
}

static void append_value(struct cv_trace_line *l, const ProtobufCFieldDescriptor *f, const void *p)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		cv_trace_append(l, "%d", *(const int32_t *)p);
		break;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		cv_trace_append(l, "%u", *(const uint32_t *)p);
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		cv_trace_append(l, "%lld", (long long)*(const int64_t *)p);
		break;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		cv_trace_append(l, "%llu", (unsigned long long)*(const uint64_t *)p);
		break;
	case PROTOBUF_C_TYPE_FLOAT:
		cv_trace_append(l, "%g", (double)*(const float *)p);
		break;
	case PROTOBUF_C_TYPE_DOUBLE:
		cv_trace_append(l, "%g", *(const double *)p);
		break;
	case PROTOBUF_C_TYPE_BOOL:
		cv_trace_append(l, "%s", *(const protobuf_c_boolean *)p ? "true" : "false");
		break;
	case PROTOBUF_C_TYPE_ENUM:
		append_enum(l, f->descriptor, *(const int *)p);
		break;
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;

		if (s)
			append_quoted(l, "", (const uint8_t *)s, strlen(s));
		else
			cv_trace_append(l, "null");
		break;
	}
	case PROTOBUF_C_TYPE_BYTES:
		append_bytes(l, p);
		break;
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *m = *(ProtobufCMessage *const *)p;

		cv_trace_append(l, "{");
		if (m)
			cv_trace_fields(l, m);
		cv_trace_append(l, "}");
		break;
	}
	}
}

size_t cv_field_value_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return 8;
	case PROTOBUF_C_TYPE_DOUBLE:
		return sizeof(double);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_ENUM:
		return sizeof(int);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	default:
		return 4;
	}
}

void cv_trace_field(struct cv_trace_line *l, const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
	const char *base = (const char *)m;

	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		size_t n = *(const size_t *)(base + f->quantifier_offset);
		const char *items = *(char *const *)(base + f->offset);

		cv_trace_append(l, "%s=[", f->name);
		for (size_t i = 0; i < n; i++) {
			cv_trace_append(l, i ? ", " : "");
			append_value(l, f, items + i * cv_field_value_size(f));
		}
		cv_trace_append(l, "]");
		return;
	}
	cv_trace_append(l, "%s=", f->name);
	append_value(l, f, base + f->offset);
}

void cv_trace_fields(struct cv_trace_line *l, const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *desc = m->descriptor;

	for (unsigned i = 0; i < desc->n_fields; i++) {
		if (i)
			cv_trace_append(l, ", ");
		cv_trace_field(l, m, &desc->fields[i]);
	}
}

void cv_trace_message(struct cv_trace_line *l, const char *name, const ProtobufCMessage *m)
{
	cv_trace_append(l, "%s(", name);
	if (m)
		cv_trace_fields(l, m);
	cv_trace_append(l, ")");
}

const struct cv_catalog_request *cv_catalog_request(const struct cv_catalog *c, uint16_t id)
{
	if (!c || id >= c->n_requests || !c->requests[id].name)
		return NULL;
	return &c->requests[id];
}

const struct cv_catalog_event *cv_catalog_event(const struct cv_catalog *c, uint16_t id)
{
	if (!c || id >= c->n_events || !c->events[id].name)
		return NULL;
	return &c->events[id];
}
