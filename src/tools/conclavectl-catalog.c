#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conclavectl.h"
#include "conclavectl-catalog.h"
#include "cv-trace.h"

const struct cv_catalog *conclavectl_find_catalog(const char *service)
{
	const struct cv_catalog *const *catalogs = conclavectl_catalogs();

	for (size_t i = 0; catalogs[i]; i++)
		if (strcmp(catalogs[i]->service, service) == 0)
			return catalogs[i];
	return NULL;
}

const struct cv_catalog_request *conclavectl_find_request(const struct cv_catalog *c, const char *name,
							  uint16_t *id)
{
	for (uint16_t i = 0; i < c->n_requests; i++) {
		const struct cv_catalog_request *r = &c->requests[i];

		if (r->name && (strcmp(r->name, name) == 0 || strcmp(r->function, name) == 0)) {
			*id = i;
			return r;
		}
	}
	return NULL;
}

static const char *type_name(const ProtobufCFieldDescriptor *f)
{
	static const char *const names[] = {
		[PROTOBUF_C_TYPE_INT32] = "int32",     [PROTOBUF_C_TYPE_SINT32] = "int32",
		[PROTOBUF_C_TYPE_SFIXED32] = "int32",  [PROTOBUF_C_TYPE_INT64] = "int64",
		[PROTOBUF_C_TYPE_SINT64] = "int64",    [PROTOBUF_C_TYPE_SFIXED64] = "int64",
		[PROTOBUF_C_TYPE_UINT32] = "uint32",   [PROTOBUF_C_TYPE_FIXED32] = "uint32",
		[PROTOBUF_C_TYPE_UINT64] = "uint64",   [PROTOBUF_C_TYPE_FIXED64] = "uint64",
		[PROTOBUF_C_TYPE_FLOAT] = "float",     [PROTOBUF_C_TYPE_DOUBLE] = "double",
		[PROTOBUF_C_TYPE_BOOL] = "bool",       [PROTOBUF_C_TYPE_ENUM] = "enum",
		[PROTOBUF_C_TYPE_STRING] = "string",   [PROTOBUF_C_TYPE_BYTES] = "bytes",
		[PROTOBUF_C_TYPE_MESSAGE] = "message",
	};

	return f->type < sizeof(names) / sizeof(names[0]) && names[f->type] ? names[f->type] : "?";
}

void conclavectl_print_field_list(FILE *out, const ProtobufCMessageDescriptor *desc)
{
	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &desc->fields[i];

		fprintf(out, "%s%s: %s%s", i ? ", " : "", f->name,
			f->label == PROTOBUF_C_LABEL_REPEATED ? "[]" : "", type_name(f));
		if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
			fputs(" {", out);
			conclavectl_print_field_list(out, f->descriptor);
			fputs("}", out);
		}
	}
}

/* ---- building a request ------------------------------------------------- */

static bool parse_integer(const ProtobufCFieldDescriptor *f, const char *text, void *out)
{
	bool is_signed = f->type == PROTOBUF_C_TYPE_INT32 || f->type == PROTOBUF_C_TYPE_SINT32 ||
			 f->type == PROTOBUF_C_TYPE_SFIXED32 || f->type == PROTOBUF_C_TYPE_INT64 ||
			 f->type == PROTOBUF_C_TYPE_SINT64 || f->type == PROTOBUF_C_TYPE_SFIXED64 ||
			 f->type == PROTOBUF_C_TYPE_ENUM;
	bool wide = cv_field_value_size(f) == 8;
	char *end;

	errno = 0;
	if (is_signed) {
		long long v = strtoll(text, &end, 0);

		if (!wide && (v < INT32_MIN || v > INT32_MAX))
			errno = ERANGE;
		if (wide)
			*(int64_t *)out = v;
		else
			*(int32_t *)out = (int32_t)v;
	} else {
		unsigned long long v = strtoull(text, &end, 0);

		if (text[0] == '-' || (!wide && v > UINT32_MAX))
			errno = ERANGE;
		if (wide)
			*(uint64_t *)out = v;
		else
			*(uint32_t *)out = (uint32_t)v;
	}
	return end != text && *end == '\0' && errno == 0;
}

/* Text with conclavectl's escapes ("\\", "\xHH") into bytes. */
static bool parse_bytes(const char *text, ProtobufCBinaryData *out)
{
	uint8_t *data = malloc(strlen(text) + 1);

	if (!data || !conclavectl_parse_escaped(text, data, &out->len)) {
		free(data);
		return false;
	}
	out->data = data;
	return true;
}

static bool parse_value(const ProtobufCFieldDescriptor *f, const char *text, void *out)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_BOOL:
		if (strcmp(text, "true") == 0 || strcmp(text, "1") == 0)
			*(protobuf_c_boolean *)out = 1;
		else if (strcmp(text, "false") == 0 || strcmp(text, "0") == 0)
			*(protobuf_c_boolean *)out = 0;
		else
			return false;
		return true;
	case PROTOBUF_C_TYPE_FLOAT:
		*(float *)out = strtof(text, NULL);
		return true;
	case PROTOBUF_C_TYPE_DOUBLE:
		*(double *)out = strtod(text, NULL);
		return true;
	case PROTOBUF_C_TYPE_STRING:
		return (*(char **)out = strdup(text)) != NULL;
	case PROTOBUF_C_TYPE_BYTES:
		return parse_bytes(text, out);
	case PROTOBUF_C_TYPE_MESSAGE:
		return false;
	default:
		return parse_integer(f, text, out);
	}
}

static ProtobufCMessage *message_new(const ProtobufCMessageDescriptor *desc)
{
	ProtobufCMessage *m = calloc(1, desc->sizeof_message);

	if (m)
		protobuf_c_message_init(desc, m);
	return m;
}

static bool set_field(ProtobufCMessage *m, char *name, const char *value, char *why, size_t why_size);

/* NAME.REST: REST of the nested message NAME, which is made when absent. */
static bool set_nested_field(ProtobufCMessage *m, char *name, char *rest, const char *value, char *why,
			     size_t why_size)
{
	const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(m->descriptor,
											    name);
	ProtobufCMessage **nested;

	if (!f || f->type != PROTOBUF_C_TYPE_MESSAGE || f->label == PROTOBUF_C_LABEL_REPEATED) {
		snprintf(why, why_size, "%s is no message field (conclavectl call SERVICE lists them)", name);
		return false;
	}
	nested = (ProtobufCMessage **)((char *)m + f->offset);
	if (!*nested && !(*nested = message_new(f->descriptor))) {
		snprintf(why, why_size, "out of memory");
		return false;
	}
	return set_field(*nested, rest, value, why, why_size);
}

static bool set_field(ProtobufCMessage *m, char *name, const char *value, char *why, size_t why_size)
{
	char *dot = strchr(name, '.');
	const ProtobufCFieldDescriptor *f;

	if (dot) {
		bool ok;

		*dot = '\0';
		ok = set_nested_field(m, name, dot + 1, value, why, why_size);
		*dot = '.';
		return ok;
	}
	f = protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name);
	if (!f) {
		snprintf(why, why_size, "no field %s (conclavectl call SERVICE lists them)", name);
		return false;
	}
	if (f->label != PROTOBUF_C_LABEL_REPEATED && f->type == PROTOBUF_C_TYPE_MESSAGE) {
		snprintf(why, why_size, "%s is a message: give its fields as %s.FIELD=VALUE", f->name,
			 f->name);
		return false;
	}
	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		snprintf(why, why_size, "%s is a %s%s, which the command line cannot give", f->name,
			 f->label == PROTOBUF_C_LABEL_REPEATED ? "list of " : "", type_name(f));
		return false;
	}
	if (parse_value(f, value, (char *)m + f->offset))
		return true;
	snprintf(why, why_size, "invalid %s '%s' for %s", type_name(f), value, f->name);
	return false;
}

ProtobufCMessage *conclavectl_build_message(const ProtobufCMessageDescriptor *desc, int argc, char **argv,
					    char *why, size_t why_size)
{
	ProtobufCMessage *m = message_new(desc);

	if (!m) {
		snprintf(why, why_size, "out of memory");
		return NULL;
	}
	for (int i = 0; i < argc; i++) {
		char *equals = strchr(argv[i], '=');
		bool ok;

		if (!equals) {
			snprintf(why, why_size, "'%s' is not FIELD=VALUE", argv[i]);
			ok = false;
		} else {
			*equals = '\0';
			ok = set_field(m, argv[i], equals + 1, why, why_size);
			*equals = '=';
		}
		if (!ok) {
			protobuf_c_message_free_unpacked(m, NULL);
			return NULL;
		}
	}
	return m;
}

/* ---- printing ----------------------------------------------------------- */

void conclavectl_print_fields(FILE *out, const ProtobufCMessage *m)
{
	for (unsigned i = 0; i < m->descriptor->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &m->descriptor->fields[i];
		struct cv_trace_line l = { .used = 0 };

		cv_trace_field(&l, m, f);
		fprintf(out, "%s\n", l.text);
	}
}

/* ---- a service to connect to -------------------------------------------- */

static cs_error_t print_event(uint64_t handle, cv_callback_fn fn, const ProtobufCMessage *event)
{
	(void)handle;
	(void)fn;
	conclavectl_print_fields(stdout, event);
	return CS_OK;
}

struct cv_client_service *conclavectl_service_new(const struct cv_catalog *c)
{
	static struct cv_handle_table handles = CV_HANDLE_TABLE_INIT;
	struct cv_client_service *svc = calloc(1, sizeof(*svc));
	struct cv_event_desc *events = c->n_events ? calloc(c->n_events, sizeof(*events)) : NULL;

	if (!svc || (c->n_events && !events)) {
		free(svc);
		free(events);
		return NULL;
	}
	for (uint16_t i = 0; i < c->n_events; i++)
		events[i] = (struct cv_event_desc){ c->events[i].name, c->events[i].message, print_event };
	*svc = (struct cv_client_service){
		.name = c->service,
		.version_major = c->version_major,
		.version_minor = c->version_minor,
		.n_events = c->n_events,
		.events = events,
		.handles = &handles,
		.catalog = c,
	};
	return svc;
}

void conclavectl_service_free(struct cv_client_service *svc)
{
	if (svc)
		free((void *)svc->events);
	free(svc);
}
