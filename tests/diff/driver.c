/* One client process of a differential scenario. It is built twice from this
 * source: against Conclave's libraries and against corosync 3.1.7's (Debian's
 * headers and libraries), so that one scenario runs unchanged on both.
 *
 * It reads one command per line on its standard input, runs it, and writes
 * what happened on its standard output: each call's return code and each
 * callback with its values, then a line "." when the command is over. The
 * runner (run.py) sequences the commands of several such processes, masks
 * what legitimately differs (pids, ring ids, connection ids) and diffs the
 * two transcripts. Commands: see the table at the end.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <corosync/cfg.h>
#include <corosync/cmap.h>
#include <corosync/corotypes.h>
#include <corosync/cpg.h>
#include <corosync/quorum.h>
#include <corosync/votequorum.h>

#define MAX_SLOTS 16
#define MAX_TRACKS 16
#define MAX_ARGS 8
#define NAME_MAX_LEN 32
#define WAIT_DEFAULT_MS 5000
#define MEMBERS_MAX 384

enum service { SVC_NONE, SVC_CPG, SVC_CMAP, SVC_QUORUM, SVC_VOTEQUORUM, SVC_CFG };

/* How a track prints values: all of them, strings only, or none. */
enum show { SHOW_ALL, SHOW_STRINGS, SHOW_NONE };

struct slot {
	char name[NAME_MAX_LEN];
	enum service service;
	uint64_t handle;
};

struct track {
	char name[NAME_MAX_LEN];
	char slot[NAME_MAX_LEN];
	cmap_track_handle_t handle;
	enum show show;
	bool used;
	bool deleted; /* by cmap_untrack; kept to try deleting it again */
};

static struct slot slots[MAX_SLOTS];
static struct track tracks[MAX_TRACKS];
static unsigned callbacks_seen;
static votequorum_ring_id_t last_vq_ring;
static FILE *capture; /* while set, where out() writes instead of stdout */

/* ---- output ------------------------------------------------------------- */

static void out(const char *format, ...)
{
	FILE *sink = capture ? capture : stdout;
	va_list ap;

	va_start(ap, format);
	vfprintf(sink, format, ap);
	va_end(ap);
	fputc('\n', sink);
}

static const char *error_name(cs_error_t err)
{
	static const char *const names[] = {
		[CS_OK] = "CS_OK",
		[CS_ERR_LIBRARY] = "CS_ERR_LIBRARY",
		[CS_ERR_VERSION] = "CS_ERR_VERSION",
		[CS_ERR_INIT] = "CS_ERR_INIT",
		[CS_ERR_TIMEOUT] = "CS_ERR_TIMEOUT",
		[CS_ERR_TRY_AGAIN] = "CS_ERR_TRY_AGAIN",
		[CS_ERR_INVALID_PARAM] = "CS_ERR_INVALID_PARAM",
		[CS_ERR_NO_MEMORY] = "CS_ERR_NO_MEMORY",
		[CS_ERR_BAD_HANDLE] = "CS_ERR_BAD_HANDLE",
		[CS_ERR_BUSY] = "CS_ERR_BUSY",
		[CS_ERR_ACCESS] = "CS_ERR_ACCESS",
		[CS_ERR_NOT_EXIST] = "CS_ERR_NOT_EXIST",
		[CS_ERR_NAME_TOO_LONG] = "CS_ERR_NAME_TOO_LONG",
		[CS_ERR_EXIST] = "CS_ERR_EXIST",
		[CS_ERR_NO_SPACE] = "CS_ERR_NO_SPACE",
		[CS_ERR_INTERRUPT] = "CS_ERR_INTERRUPT",
		[CS_ERR_NAME_NOT_FOUND] = "CS_ERR_NAME_NOT_FOUND",
		[CS_ERR_NO_RESOURCES] = "CS_ERR_NO_RESOURCES",
		[CS_ERR_NOT_SUPPORTED] = "CS_ERR_NOT_SUPPORTED",
		[CS_ERR_BAD_OPERATION] = "CS_ERR_BAD_OPERATION",
		[CS_ERR_FAILED_OPERATION] = "CS_ERR_FAILED_OPERATION",
		[CS_ERR_MESSAGE_ERROR] = "CS_ERR_MESSAGE_ERROR",
		[CS_ERR_QUEUE_FULL] = "CS_ERR_QUEUE_FULL",
		[CS_ERR_QUEUE_NOT_AVAILABLE] = "CS_ERR_QUEUE_NOT_AVAILABLE",
		[CS_ERR_BAD_FLAGS] = "CS_ERR_BAD_FLAGS",
		[CS_ERR_TOO_BIG] = "CS_ERR_TOO_BIG",
		[CS_ERR_NO_SECTIONS] = "CS_ERR_NO_SECTIONS",
		[CS_ERR_CONTEXT_NOT_FOUND] = "CS_ERR_CONTEXT_NOT_FOUND",
		[CS_ERR_TOO_MANY_GROUPS] = "CS_ERR_TOO_MANY_GROUPS",
	};
	static char other[32];

	if (err >= 0 && (size_t)err < sizeof(names) / sizeof(names[0]) && names[err])
		return names[err];
	snprintf(other, sizeof(other), "cs_error(%d)", (int)err);
	return other;
}

/* "pid:N" is how every pid is printed, so that the runner can name it. */
static void print_addresses(char *buf, size_t size, const struct cpg_address *list, size_t n, bool reasons)
{
	size_t used = 0;

	used += (size_t)snprintf(buf + used, size - used, "[");
	for (size_t i = 0; i < n && used < size; i++) {
		used += (size_t)snprintf(buf + used, size - used, "%s%" PRIu32 "/pid:%" PRIu32, i ? " " : "",
					 list[i].nodeid, list[i].pid);
		if (reasons && used < size)
			used += (size_t)snprintf(buf + used, size - used, "/%" PRIu32, list[i].reason);
	}
	if (used < size)
		snprintf(buf + used, size - used, "]");
}

static void print_nodeids(char *buf, size_t size, const uint32_t *list, size_t n)
{
	size_t used = 0;

	used += (size_t)snprintf(buf + used, size - used, "[");
	for (size_t i = 0; i < n && used < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s%" PRIu32, i ? " " : "", list[i]);
	if (used < size)
		snprintf(buf + used, size - used, "]");
}

/* ---- slots -------------------------------------------------------------- */

static struct slot *slot_find(const char *name)
{
	for (int i = 0; i < MAX_SLOTS; i++)
		if (slots[i].service != SVC_NONE && strcmp(slots[i].name, name) == 0)
			return &slots[i];
	return NULL;
}

static struct slot *slot_new(const char *name, enum service service)
{
	struct slot *s = slot_find(name);

	for (int i = 0; !s && i < MAX_SLOTS; i++)
		if (slots[i].service == SVC_NONE)
			s = &slots[i];
	if (!s) {
		fprintf(stderr, "diff-driver: more than %d handles\n", MAX_SLOTS);
		exit(2);
	}
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->service = service;
	s->handle = 0;
	return s;
}

static const char *slot_name_of(enum service service, uint64_t handle)
{
	for (int i = 0; i < MAX_SLOTS; i++)
		if (slots[i].service == service && slots[i].handle == handle)
			return slots[i].name;
	return "?";
}

/* A slot of the service named by the command's first argument, or NULL
 * after saying why. */
static struct slot *slot_of(const char *name, enum service service)
{
	struct slot *s = slot_find(name);

	if (!s || s->service != service) {
		out("error: no such handle %s", name);
		return NULL;
	}
	return s;
}

/* ---- cpg ---------------------------------------------------------------- */

static void set_cpg_name(struct cpg_name *name, const char *text)
{
	memset(name, 0, sizeof(*name));
	name->length = (uint32_t)strlen(text);
	memcpy(name->value, text, name->length < CPG_MAX_NAME_LENGTH ? name->length : CPG_MAX_NAME_LENGTH);
}

static void on_cpg_deliver(cpg_handle_t handle, const struct cpg_name *group, uint32_t nodeid, uint32_t pid,
			   void *msg, size_t msg_len)
{
	callbacks_seen++;
	out("%s: deliver %.*s from %" PRIu32 "/pid:%" PRIu32 " len=%zu msg=%.*s",
	    slot_name_of(SVC_CPG, handle), (int)group->length, group->value, nodeid, pid, msg_len,
	    (int)msg_len, (const char *)msg);
}

static void on_cpg_confchg(cpg_handle_t handle, const struct cpg_name *group,
			   const struct cpg_address *members, size_t n_members,
			   const struct cpg_address *left, size_t n_left, const struct cpg_address *joined,
			   size_t n_joined)
{
	char m[4096], l[1024], j[1024];

	callbacks_seen++;
	print_addresses(m, sizeof(m), members, n_members, false);
	print_addresses(l, sizeof(l), left, n_left, true);
	print_addresses(j, sizeof(j), joined, n_joined, true);
	out("%s: confchg %.*s members=%s left=%s joined=%s", slot_name_of(SVC_CPG, handle),
	    (int)group->length, group->value, m, l, j);
}

static void on_cpg_totem_confchg(cpg_handle_t handle, struct cpg_ring_id ring_id, uint32_t n_members,
				 const uint32_t *members)
{
	char m[2048];

	callbacks_seen++;
	print_nodeids(m, sizeof(m), members, n_members);
	out("%s: totem_confchg ring=%" PRIu32 ".%" PRIu64 " members=%s", slot_name_of(SVC_CPG, handle),
	    ring_id.nodeid, ring_id.seq, m);
}

static void cmd_cpg_init(char **argv, int argc)
{
	struct slot *s = slot_new(argv[0], SVC_CPG);
	cpg_model_v1_data_t model = {
		.model = CPG_MODEL_V1,
		.cpg_deliver_fn = on_cpg_deliver,
		.cpg_confchg_fn = on_cpg_confchg,
		.cpg_totem_confchg_fn = on_cpg_totem_confchg,
		.flags = argc > 1 && strcmp(argv[1], "initial_totem") == 0
				 ? CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF
				 : 0,
	};
	cs_error_t err = cpg_model_initialize(&s->handle, CPG_MODEL_V1, (cpg_model_data_t *)&model, NULL);

	out("%s: cpg_model_initialize = %s", s->name, error_name(err));
}

static void group_call(char **argv, const char *name,
		       cs_error_t (*call)(cpg_handle_t, const struct cpg_name *))
{
	struct slot *s = slot_of(argv[0], SVC_CPG);
	struct cpg_name group;

	if (!s)
		return;
	set_cpg_name(&group, argv[1]);
	out("%s: %s %s = %s", s->name, name, argv[1], error_name(call(s->handle, &group)));
}

static void cmd_cpg_join(char **argv, int argc)
{
	group_call(argv, "cpg_join", cpg_join);
}

static void cmd_cpg_leave(char **argv, int argc)
{
	group_call(argv, "cpg_leave", cpg_leave);
}

static void cmd_cpg_mcast(char **argv, int argc)
{
	struct slot *s = slot_of(argv[0], SVC_CPG);
	struct iovec iov = { .iov_base = argv[1], .iov_len = strlen(argv[1]) };

	if (!s)
		return;
	out("%s: cpg_mcast_joined %s = %s", s->name, argv[1],
	    error_name(cpg_mcast_joined(s->handle, CPG_TYPE_AGREED, &iov, 1)));
}

static void cmd_cpg_members(char **argv, int argc)
{
	struct slot *s = slot_of(argv[0], SVC_CPG);
	static struct cpg_address members[MEMBERS_MAX];
	int n = 0;
	struct cpg_name group;
	cs_error_t err;
	char m[4096] = "[]";

	if (!s)
		return;
	set_cpg_name(&group, argv[1]);
	err = cpg_membership_get(s->handle, &group, members, &n);
	if (err == CS_OK)
		print_addresses(m, sizeof(m), members, (size_t)n, false);
	out("%s: cpg_membership_get %s = %s members=%s", s->name, argv[1], error_name(err), m);
}

static void cmd_cpg_local_get(char **argv, int argc)
{
	struct slot *s = slot_of(argv[0], SVC_CPG);
	unsigned int nodeid = 0;
	cs_error_t err;

	if (!s)
		return;
	err = cpg_local_get(s->handle, &nodeid);
	out("%s: cpg_local_get = %s nodeid=%u", s->name, error_name(err), nodeid);
}

static void cmd_cpg_finalize(char **argv, int argc)
{
	struct slot *s = slot_of(argv[0], SVC_CPG);

	if (s)
		out("%s: cpg_finalize = %s", s->name, error_name(cpg_finalize(s->handle)));
}

/* ---- cmap --------------------------------------------------------------- */

static const struct {
	const char *name;
	cmap_value_types_t type;
	size_t size;
} value_types[] = {
	{ "i8", CMAP_VALUETYPE_INT8, 1 },    { "u8", CMAP_VALUETYPE_UINT8, 1 },
	{ "i16", CMAP_VALUETYPE_INT16, 2 },  { "u16", CMAP_VALUETYPE_UINT16, 2 },
	{ "i32", CMAP_VALUETYPE_INT32, 4 },  { "u32", CMAP_VALUETYPE_UINT32, 4 },
	{ "i64", CMAP_VALUETYPE_INT64, 8 },  { "u64", CMAP_VALUETYPE_UINT64, 8 },
	{ "flt", CMAP_VALUETYPE_FLOAT, 4 },  { "dbl", CMAP_VALUETYPE_DOUBLE, 8 },
	{ "str", CMAP_VALUETYPE_STRING, 0 }, { "bin", CMAP_VALUETYPE_BINARY, 0 },
};

static int type_index(const char *name)
{
	for (size_t i = 0; i < sizeof(value_types) / sizeof(value_types[0]); i++)
		if (strcmp(value_types[i].name, name) == 0)
			return (int)i;
	return -1;
}

static const char *type_name(int type)
{
	for (size_t i = 0; i < sizeof(value_types) / sizeof(value_types[0]); i++)
		if ((int)value_types[i].type == type)
			return value_types[i].name;
	return NULL;
}

static void format_number(char *buf, size_t size, cmap_value_types_t type, const void *data)
{
	union {
		int8_t i8;
		uint8_t u8;
		int16_t i16;
		uint16_t u16;
		int32_t i32;
		uint32_t u32;
		int64_t i64;
		uint64_t u64;
		float f;
		double d;
	} v;

	memcpy(&v, data,
	       type == CMAP_VALUETYPE_INT8 || type == CMAP_VALUETYPE_UINT8     ? 1
	       : type <= CMAP_VALUETYPE_UINT16                                 ? 2
	       : type <= CMAP_VALUETYPE_UINT32 || type == CMAP_VALUETYPE_FLOAT ? 4
									       : 8);
	switch (type) {
	case CMAP_VALUETYPE_INT8:
		snprintf(buf, size, "%d", v.i8);
		break;
	case CMAP_VALUETYPE_UINT8:
		snprintf(buf, size, "%u", v.u8);
		break;
	case CMAP_VALUETYPE_INT16:
		snprintf(buf, size, "%d", v.i16);
		break;
	case CMAP_VALUETYPE_UINT16:
		snprintf(buf, size, "%u", v.u16);
		break;
	case CMAP_VALUETYPE_INT32:
		snprintf(buf, size, "%" PRId32, v.i32);
		break;
	case CMAP_VALUETYPE_UINT32:
		snprintf(buf, size, "%" PRIu32, v.u32);
		break;
	case CMAP_VALUETYPE_INT64:
		snprintf(buf, size, "%" PRId64, v.i64);
		break;
	case CMAP_VALUETYPE_UINT64:
		snprintf(buf, size, "%" PRIu64, v.u64);
		break;
	case CMAP_VALUETYPE_FLOAT:
		snprintf(buf, size, "%g", v.f);
		break;
	default:
		snprintf(buf, size, "%g", v.d);
		break;
	}
}

/* "TYPE len=N VALUE", or the raw fields of a value that is not there. */
static void format_value(char *buf, size_t size, int type, size_t len, const void *data, enum show show)
{
	const char *name = type_name(type);
	char value[300] = "";

	if (!name || data == NULL) {
		snprintf(buf, size, "type=%d len=%zu data=%s", type, len, data ? "set" : "NULL");
		return;
	}
	if (type == CMAP_VALUETYPE_STRING && show != SHOW_NONE)
		snprintf(value, sizeof(value), " \"%.*s\"",
			 (int)(len && ((const char *)data)[len - 1] == '\0' ? len - 1 : len),
			 (const char *)data);
	else if (type == CMAP_VALUETYPE_BINARY && show == SHOW_ALL)
		for (size_t i = 0; i < len && i < 64; i++)
			snprintf(value + strlen(value), sizeof(value) - strlen(value), "%s%02x", i ? "" : " ",
				 ((const unsigned char *)data)[i]);
	else if (type != CMAP_VALUETYPE_STRING && type != CMAP_VALUETYPE_BINARY && show == SHOW_ALL &&
		 len > 0) {
		value[0] = ' ';
		format_number(value + 1, sizeof(value) - 1, (cmap_value_types_t)type, data);
	}
	snprintf(buf, size, "%s len=%zu%s", name, len, value);
}

static const char *event_name(int32_t event)
{
	switch (event) {
	case CMAP_TRACK_ADD:
		return "ADD";
	case CMAP_TRACK_DELETE:
		return "DELETE";
	case CMAP_TRACK_MODIFY:
		return "MODIFY";
	default:
		return "?";
	}
}

static struct track *track_by_handle(cmap_track_handle_t handle)
{
	for (int i = 0; i < MAX_TRACKS; i++)
		if (tracks[i].used && !tracks[i].deleted && tracks[i].handle == handle)
			return &tracks[i];
	return NULL;
}

static void on_cmap_notify(cmap_handle_t handle, cmap_track_handle_t track_handle, int32_t event,
			   const char *key, struct cmap_notify_value new_value,
			   struct cmap_notify_value old_value, void *user_data)
{
	struct track *t = user_data;
	char n[400], o[400];
	bool same = new_value.len == old_value.len && new_value.data && old_value.data &&
		    memcmp(new_value.data, old_value.data, new_value.len) == 0;

	callbacks_seen++;
	format_value(n, sizeof(n), new_value.type, new_value.len, new_value.data, t->show);
	format_value(o, sizeof(o), old_value.type, old_value.len, old_value.data, t->show);
	out("%s: notify %s%s %s %s new=(%s) old=(%s)%s", slot_name_of(SVC_CMAP, handle), t->name,
	    track_by_handle(track_handle) == t ? "" : "(bad track handle)", event_name(event), key, n, o,
	    t->show != SHOW_ALL && same && new_value.len ? " old=new" : "");
}

static void cmd_cmap_init(char **argv, int argc)
{
	struct slot *s = slot_new(argv[0], SVC_CMAP);
	bool stats = argc > 1 && strcmp(argv[1], "stats") == 0;
	cs_error_t err = stats ? cmap_initialize_map(&s->handle, CMAP_MAP_STATS)
			       : cmap_initialize(&s->handle);

	out("%s: cmap_initialize%s = %s", s->name, stats ? "_map stats" : "", error_name(err));
}

/* The bytes of a value given as text: a number, a string, or hex. */
static size_t parse_value(int t, const char *text, unsigned char *buf, size_t size)
{
	cmap_value_types_t type = value_types[t].type;
	size_t n = 0;

	if (strcmp(text, "''") == 0)
		return 0;
	if (type == CMAP_VALUETYPE_STRING) {
		snprintf((char *)buf, size, "%s", text);
		return strlen((char *)buf);
	}
	if (type == CMAP_VALUETYPE_BINARY) {
		for (; text[2 * n] && text[2 * n + 1] && n < size; n++)
			sscanf(text + 2 * n, "%2hhx", &buf[n]);
		return n;
	}
	if (type == CMAP_VALUETYPE_FLOAT) {
		float f = strtof(text, NULL);
		memcpy(buf, &f, sizeof(f));
	} else if (type == CMAP_VALUETYPE_DOUBLE) {
		double d = strtod(text, NULL);
		memcpy(buf, &d, sizeof(d));
	} else if (type == CMAP_VALUETYPE_INT8 || type == CMAP_VALUETYPE_INT16 ||
		   type == CMAP_VALUETYPE_INT32 || type == CMAP_VALUETYPE_INT64) {
		int64_t v = strtoll(text, NULL, 0);
		memcpy(buf, &v, value_types[t].size); /* little-endian */
	} else {
		uint64_t v = strtoull(text, NULL, 0);
		memcpy(buf, &v, value_types[t].size);
	}
	return value_types[t].size;
}

static void cmd_cmap_set(char **argv, int argc)
{
	struct slot *s = slot_of(argv[0], SVC_CMAP);
	int t = type_index(argv[2]);
	unsigned char value[1024];
	size_t len;

	if (!s)
		return;
	if (t < 0) {
		out("error: unknown type %s", argv[2]);
		return;
	}
	len = parse_value(t, argv[3], value, sizeof(value));
	out("%s: cmap_set %s %s = %s", s->name, argv[1], argv[2],
	    error_name(cmap_set(s->handle, argv[1], value, len, value_types[t].type)));
}

static void cmd_cmap_delete(char **argv, int argc)
{
	struct slot *s = slot_of(argv[0], SVC_CMAP);

	if (s)
		out("%s: cmap_delete %s = %s", s->name, argv[1], error_name(cmap_delete(s->handle, argv[1])));
}

static void cmd_cmap_get(char **argv, int argc)
{
	struct slot *s = slot_of(argv[0], SVC_CMAP);
	unsigned char value[16384 + 1];
	size_t len = sizeof(value);
	cmap_value_types_t type = 0;
	enum show show = argc > 2 && strcmp(argv[2], "strings") == 0 ? SHOW_STRINGS : SHOW_ALL;
	cs_error_t err;
	char v[400] = "";

	if (!s)
		return;
	err = cmap_get(s->handle, argv[1], value, &len, &type);
	if (err == CS_OK)
		format_value(v, sizeof(v), type, len, value, show);
	out("%s: cmap_get %s = %s %s", s->name, argv[1], error_name(err), v);
}

static void cmd_cmap_adjust(char **argv, int argc, bool inc)
{
	struct slot *s = slot_of(argv[0], SVC_CMAP);

	if (s)
		out("%s: cmap_%s %s = %s", s->name, inc ? "inc" : "dec", argv[1],
		    error_name(inc ? cmap_inc(s->handle, argv[1]) : cmap_dec(s->handle, argv[1])));
}

static void cmd_cmap_inc(char **argv, int argc)
{
	cmd_cmap_adjust(argv, argc, true);
}

static void cmd_cmap_dec(char **argv, int argc)
{
	cmd_cmap_adjust(argv, argc, false);
}

static int32_t parse_track_flags(const char *text)
{
	int32_t flags = 0;

	flags |= strstr(text, "add") ? CMAP_TRACK_ADD : 0;
	flags |= strstr(text, "delete") ? CMAP_TRACK_DELETE : 0;
	flags |= strstr(text, "modify") ? CMAP_TRACK_MODIFY : 0;
	flags |= strstr(text, "prefix") ? CMAP_TRACK_PREFIX : 0;
	return flags;
}

static struct track *track_new(const char *name)
{
	for (int i = 0; i < MAX_TRACKS; i++)
		if (!tracks[i].used) {
			memset(&tracks[i], 0, sizeof(tracks[i]));
			snprintf(tracks[i].name, sizeof(tracks[i].name), "%s", name);
			return &tracks[i];
		}
	return NULL;
}

/* cmap_track H TRACK KEY FLAGS [strings|none] */
static void cmd_cmap_track(char **argv, int argc)
{
	struct slot *s = slot_of(argv[0], SVC_CMAP);
	struct track *t = s ? track_new(argv[1]) : NULL;
	cs_error_t err;

	if (!t)
		return;
	t->show = argc > 4 && strcmp(argv[4], "strings") == 0 ? SHOW_STRINGS
		  : argc > 4 && strcmp(argv[4], "none") == 0  ? SHOW_NONE
							      : SHOW_ALL;
	snprintf(t->slot, sizeof(t->slot), "%s", s->name);
	err = cmap_track_add(s->handle, argv[2], parse_track_flags(argv[3]), on_cmap_notify, t, &t->handle);
	t->used = err == CS_OK;
	out("%s: cmap_track_add %s %s %s = %s", s->name, argv[1], argv[2], argv[3], error_name(err));
}

static void cmd_cmap_untrack(char **argv, int argc)
{
	struct slot *s = slot_of(argv[0], SVC_CMAP);

	for (int i = 0; s && i < MAX_TRACKS; i++) {
		if (tracks[i].used && strcmp(tracks[i].name, argv[1]) == 0 &&
		    strcmp(tracks[i].slot, s->name) == 0) {
			out("%s: cmap_track_delete %s = %s", s->name, argv[1],
			    error_name(cmap_track_delete(s->handle, tracks[i].handle)));
			tracks[i].deleted = true;
			return;
		}
	}
	if (s)
		out("error: no such track %s", argv[1]);
}

static void cmd_cmap_finalize(char **argv, int argc)
{
	struct slot *s = slot_of(argv[0], SVC_CMAP);

	if (s)
		out("%s: cmap_finalize = %s", s->name, error_name(cmap_finalize(s->handle)));
}

/* ---- quorum ------------------------------------------------------------- */

static void on_quorum_v0(quorum_handle_t handle, uint32_t quorate, uint64_t ring_seq, uint32_t n_view,
			 uint32_t *view)
{
	char v[2048];

	callbacks_seen++;
	print_nodeids(v, sizeof(v), view, n_view);
	out("%s: quorum_notify quorate=%" PRIu32 " ring_seq=%" PRIu64 " view=%s",
	    slot_name_of(SVC_QUORUM, handle), quorate, ring_seq, v);
}

static void on_quorum_v1(quorum_handle_t handle, uint32_t quorate, struct quorum_ring_id ring_id,
			 uint32_t n_members, const uint32_t *members)
{
	char m[2048];

	callbacks_seen++;
	print_nodeids(m, sizeof(m), members, n_members);
	out("%s: quorum_v1_notify quorate=%" PRIu32 " ring=%" PRIu32 ".%" PRIu64 " members=%s",
	    slot_name_of(SVC_QUORUM, handle), quorate, ring_id.nodeid, ring_id.seq, m);
}

static void on_nodelist_v1(quorum_handle_t handle, struct quorum_ring_id ring_id, uint32_t n_members,
			   const uint32_t *members, uint32_t n_joined, const uint32_t *joined,
			   uint32_t n_left, const uint32_t *left)
{
	char m[2048], j[2048], l[2048];

	callbacks_seen++;
	print_nodeids(m, sizeof(m), members, n_members);
	print_nodeids(j, sizeof(j), joined, n_joined);
	print_nodeids(l, sizeof(l), left, n_left);
	out("%s: nodelist_v1_notify ring=%" PRIu32 ".%" PRIu64 " members=%s joined=%s left=%s",
	    slot_name_of(SVC_QUORUM, handle), ring_id.nodeid, ring_id.seq, m, j, l);
}

static void cmd_quorum_init(char **argv, int argc)
{
	struct slot *s = slot_new(argv[0], SVC_QUORUM);
	bool v1 = argc > 1 && strcmp(argv[1], "v1") == 0;
	quorum_model_v0_data_t v0_data = { .model = QUORUM_MODEL_V0, .quorum_notify_fn = on_quorum_v0 };
	quorum_model_v1_data_t v1_data = { .model = QUORUM_MODEL_V1,
					   .quorum_notify_fn = on_quorum_v1,
					   .nodelist_notify_fn = on_nodelist_v1 };
	uint32_t quorum_type = 99;
	cs_error_t err = quorum_model_initialize(
		&s->handle, v1 ? QUORUM_MODEL_V1 : QUORUM_MODEL_V0,
		v1 ? (quorum_model_data_t *)&v1_data : (quorum_model_data_t *)&v0_data, &quorum_type, NULL);

	out("%s: quorum_model_initialize %s = %s quorum_type=%" PRIu32, s->name, v1 ? "v1" : "v0",
	    error_name(err), quorum_type);
}

static unsigned parse_track(const char *text)
{
	unsigned flags = 0;

	flags |= strstr(text, "current") ? CS_TRACK_CURRENT : 0;
	flags |= strstr(text, "changes_only") ? CS_TRACK_CHANGES_ONLY
		 : strstr(text, "changes")    ? CS_TRACK_CHANGES
					      : 0;
	return flags;
}

static void cmd_quorum_trackstart(char **argv, int argc)
{
	struct slot *s = slot_of(argv[0], SVC_QUORUM);

	if (s)
		out("%s: quorum_trackstart %s = %s", s->name, argv[1],
		    error_name(quorum_trackstart(s->handle, parse_track(argv[1]))));
}

static void cmd_quorum_trackstop(char **argv, int argc)
{
	struct slot *s = slot_of(argv[0], SVC_QUORUM);

	if (s)
		out("%s: quorum_trackstop = %s", s->name, error_name(quorum_trackstop(s->handle)));
}

static void cmd_quorum_getquorate(char **argv, int argc)
{
	struct slot *s = slot_of(argv[0], SVC_QUORUM);
	int quorate = -1;
	cs_error_t err;

	if (!s)
		return;
	err = quorum_getquorate(s->handle, &quorate);
	out("%s: quorum_getquorate = %s quorate=%d", s->name, error_name(err), quorate);
}

static void cmd_quorum_finalize(char **argv, int argc)
{
	struct slot *s = slot_of(argv[0], SVC_QUORUM);

	if (s)
		out("%s: quorum_finalize = %s", s->name, error_name(quorum_finalize(s->handle)));
}

/* ---- votequorum --------------------------------------------------------- */

static void on_vq_quorum(votequorum_handle_t handle, uint64_t context, uint32_t quorate, uint32_t n_nodes,
			 votequorum_node_t nodes[])
{
	char list[4096] = "[";

	callbacks_seen++;
	for (uint32_t i = 0; i < n_nodes && strlen(list) < sizeof(list) - 32; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%" PRIu32 ":%" PRIu32,
			 i ? " " : "", nodes[i].nodeid, nodes[i].state);
	strcat(list, "]");
	out("%s: vq_quorum_notify context=%" PRIu64 " quorate=%" PRIu32 " nodes=%s",
	    slot_name_of(SVC_VOTEQUORUM, handle), context, quorate, list);
}

static void on_vq_nodelist(votequorum_handle_t handle, uint64_t context, votequorum_ring_id_t ring_id,
			   uint32_t n_nodes, uint32_t nodes[])
{
	char list[2048];

	callbacks_seen++;
	last_vq_ring = ring_id;
	print_nodeids(list, sizeof(list), nodes, n_nodes);
	out("%s: vq_nodelist_notify context=%" PRIu64 " ring=%" PRIu32 ".%" PRIu64 " nodes=%s",
	    slot_name_of(SVC_VOTEQUORUM, handle), context, ring_id.nodeid, ring_id.seq, list);
}

static void on_vq_expected(votequorum_handle_t handle, uint64_t context, uint32_t expected_votes)
{
	callbacks_seen++;
	out("%s: vq_expectedvotes_notify context=%" PRIu64 " expected_votes=%" PRIu32,
	    slot_name_of(SVC_VOTEQUORUM, handle), context, expected_votes);
}

static void cmd_vq_init(char **argv, int argc)
{
	struct slot *s = slot_new(argv[0], SVC_VOTEQUORUM);
	votequorum_callbacks_t callbacks = {
		.votequorum_quorum_notify_fn = on_vq_quorum,
		.votequorum_expectedvotes_notify_fn = on_vq_expected,
		.votequorum_nodelist_notify_fn = on_vq_nodelist,
	};

	out("%s: votequorum_initialize = %s", s->name,
	    error_name(votequorum_initialize(&s->handle, &callbacks)));
}

static void cmd_vq_trackstart(char **argv, int argc)
{
	struct slot *s = slot_of(argv[0], SVC_VOTEQUORUM);

	if (s)
		out("%s: votequorum_trackstart %s %s = %s", s->name, argv[1], argv[2],
		    error_name(votequorum_trackstart(s->handle, strtoull(argv[1], NULL, 0),
						     parse_track(argv[2]))));
}

static void cmd_vq_trackstop(char **argv, int argc)
{
	struct slot *s = slot_of(argv[0], SVC_VOTEQUORUM);

	if (s)
		out("%s: votequorum_trackstop = %s", s->name, error_name(votequorum_trackstop(s->handle)));
}

static void cmd_vq_getinfo(char **argv, int argc)
{
	struct slot *s = slot_of(argv[0], SVC_VOTEQUORUM);
	struct votequorum_info info;
	cs_error_t err;

	if (!s)
		return;
	memset(&info, 0, sizeof(info));
	err = votequorum_getinfo(s->handle, (unsigned)strtoul(argv[1], NULL, 0), &info);
	if (err != CS_OK) {
		out("%s: votequorum_getinfo %s = %s", s->name, argv[1], error_name(err));
		return;
	}
	out("%s: votequorum_getinfo %s = %s node_id=%u state=%u votes=%u expected=%u highest=%u total=%u "
	    "quorum=%u flags=0x%x qdevice_votes=%u qdevice_name=\"%.*s\"",
	    s->name, argv[1], error_name(err), info.node_id, info.node_state, info.node_votes,
	    info.node_expected_votes, info.highest_expected, info.total_votes, info.quorum, info.flags,
	    info.qdevice_votes, (int)sizeof(info.qdevice_name), info.qdevice_name);
}

static void cmd_vq_setexpected(char **argv, int argc)
{
	struct slot *s = slot_of(argv[0], SVC_VOTEQUORUM);

	if (s)
		out("%s: votequorum_setexpected %s = %s", s->name, argv[1],
		    error_name(votequorum_setexpected(s->handle, (unsigned)strtoul(argv[1], NULL, 0))));
}

static void cmd_vq_setvotes(char **argv, int argc)
{
	struct slot *s = slot_of(argv[0], SVC_VOTEQUORUM);

	if (s)
		out("%s: votequorum_setvotes %s %s = %s", s->name, argv[1], argv[2],
		    error_name(votequorum_setvotes(s->handle, (unsigned)strtoul(argv[1], NULL, 0),
						   (unsigned)strtoul(argv[2], NULL, 0))));
}

static void cmd_vq_register(char **argv, int argc)
{
	struct slot *s = slot_of(argv[0], SVC_VOTEQUORUM);

	if (s)
		out("%s: votequorum_qdevice_register %s = %s", s->name, argv[1],
		    error_name(votequorum_qdevice_register(s->handle, argv[1])));
}

static void cmd_vq_unregister(char **argv, int argc)
{
	struct slot *s = slot_of(argv[0], SVC_VOTEQUORUM);

	if (s)
		out("%s: votequorum_qdevice_unregister %s = %s", s->name, argv[1],
		    error_name(votequorum_qdevice_unregister(s->handle, argv[1])));
}

static void cmd_vq_update(char **argv, int argc)
{
	struct slot *s = slot_of(argv[0], SVC_VOTEQUORUM);

	if (s)
		out("%s: votequorum_qdevice_update %s %s = %s", s->name, argv[1], argv[2],
		    error_name(votequorum_qdevice_update(s->handle, argv[1], argv[2])));
}

/* vq_poll H NAME CAST [badring]: with the ring id of the last node list
 * notification, as a quorum device does. */
static void cmd_vq_poll(char **argv, int argc)
{
	struct slot *s = slot_of(argv[0], SVC_VOTEQUORUM);
	votequorum_ring_id_t ring = last_vq_ring;

	if (!s)
		return;
	if (argc > 3 && strcmp(argv[3], "badring") == 0)
		ring.seq += 1000;
	out("%s: votequorum_qdevice_poll %s %s%s = %s", s->name, argv[1], argv[2], argc > 3 ? " badring" : "",
	    error_name(votequorum_qdevice_poll(s->handle, argv[1], (unsigned)atoi(argv[2]), ring)));
}

static void cmd_vq_master_wins(char **argv, int argc)
{
	struct slot *s = slot_of(argv[0], SVC_VOTEQUORUM);

	if (s)
		out("%s: votequorum_qdevice_master_wins %s %s = %s", s->name, argv[1], argv[2],
		    error_name(votequorum_qdevice_master_wins(s->handle, argv[1], (unsigned)atoi(argv[2]))));
}

static void cmd_vq_finalize(char **argv, int argc)
{
	struct slot *s = slot_of(argv[0], SVC_VOTEQUORUM);

	if (s)
		out("%s: votequorum_finalize = %s", s->name, error_name(votequorum_finalize(s->handle)));
}

/* ---- cfg ---------------------------------------------------------------- */

static void cmd_cfg_init(char **argv, int argc)
{
	struct slot *s = slot_new(argv[0], SVC_CFG);

	out("%s: corosync_cfg_initialize = %s", s->name,
	    error_name(corosync_cfg_initialize(&s->handle, NULL)));
}

/* Never this node's id: that stops the daemon under the scenario. */
static void cmd_cfg_kill_node(char **argv, int argc)
{
	struct slot *s = slot_of(argv[0], SVC_CFG);

	if (s)
		out("%s: corosync_cfg_kill_node %s %s = %s", s->name, argv[1], argv[2],
		    error_name(
			    corosync_cfg_kill_node(s->handle, (unsigned)strtoul(argv[1], NULL, 0), argv[2])));
}

static void cmd_cfg_finalize(char **argv, int argc)
{
	struct slot *s = slot_of(argv[0], SVC_CFG);

	if (s)
		out("%s: corosync_cfg_finalize = %s", s->name, error_name(corosync_cfg_finalize(s->handle)));
}

/* ---- dispatching -------------------------------------------------------- */

static cs_error_t fd_of(const struct slot *s, int *fd)
{
	switch (s->service) {
	case SVC_CPG:
		return cpg_fd_get(s->handle, fd);
	case SVC_CMAP:
		return cmap_fd_get(s->handle, fd);
	case SVC_QUORUM:
		return quorum_fd_get(s->handle, fd);
	case SVC_VOTEQUORUM:
		return votequorum_fd_get(s->handle, fd);
	case SVC_CFG:
		return corosync_cfg_fd_get(s->handle, fd);
	case SVC_NONE:
		break;
	}
	return CS_ERR_BAD_HANDLE;
}

static cs_error_t dispatch(const struct slot *s, cs_dispatch_flags_t flags)
{
	switch (s->service) {
	case SVC_CPG:
		return cpg_dispatch(s->handle, flags);
	case SVC_CMAP:
		return cmap_dispatch(s->handle, flags);
	case SVC_QUORUM:
		return quorum_dispatch(s->handle, flags);
	case SVC_VOTEQUORUM:
		return votequorum_dispatch(s->handle, flags);
	case SVC_CFG:
		return corosync_cfg_dispatch(s->handle, flags);
	case SVC_NONE:
		break;
	}
	return CS_ERR_BAD_HANDLE;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const struct {
	const char *name;
	cs_dispatch_flags_t flags;
} dispatch_flags[] = {
	{ "one", CS_DISPATCH_ONE },
	{ "all", CS_DISPATCH_ALL },
	{ "blocking", CS_DISPATCH_BLOCKING },
	{ "one_nonblocking", CS_DISPATCH_ONE_NONBLOCKING },
};

/* dispatch H FLAGS: one call, as a program would make it. */
static void cmd_dispatch(char **argv, int argc)
{
	struct slot *s = slot_find(argv[0]);

	for (size_t i = 0; s && i < sizeof(dispatch_flags) / sizeof(dispatch_flags[0]); i++) {
		if (strcmp(dispatch_flags[i].name, argv[1]) == 0) {
			out("%s: dispatch %s = %s", s->name, argv[1],
			    error_name(dispatch(s, dispatch_flags[i].flags)));
			return;
		}
	}
	out("error: dispatch %s %s", argv[0], argv[1]);
}

/* Dispatches one event once fd is readable within timeout_ms; false when
 * it did not become readable, or dispatch failed (said). */
static bool dispatch_one_within(const struct slot *s, int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	cs_error_t err;

	if (poll(&p, 1, timeout_ms) <= 0)
		return false;
	err = dispatch(s, CS_DISPATCH_ONE_NONBLOCKING);
	if (err != CS_OK && err != CS_ERR_TRY_AGAIN) {
		out("%s: dispatch = %s", s->name, error_name(err));
		return false;
	}
	return true;
}

/* wait H N [MS]: dispatches until N callbacks ran (or MS passed). */
static void cmd_wait(char **argv, int argc)
{
	struct slot *s = slot_find(argv[0]);
	unsigned target = callbacks_seen + (unsigned)atoi(argv[1]);
	int64_t deadline = now_ms() + (argc > 2 ? atoi(argv[2]) : WAIT_DEFAULT_MS);
	int fd;

	if (!s || fd_of(s, &fd) != CS_OK) {
		out("error: wait %s", argv[0]);
		return;
	}
	while (callbacks_seen < target && now_ms() < deadline)
		if (!dispatch_one_within(s, fd, (int)(deadline - now_ms())) && now_ms() < deadline)
			break;
	if (callbacks_seen < target)
		out("%s: wait: %u callback(s) missing", s->name, target - callbacks_seen);
}

/* Dispatches what handle i has, its output going to its own stream; false
 * once its connection fails. */
static bool settle_one(struct slot *owner, FILE *stream)
{
	cs_error_t err;

	capture = stream;
	err = dispatch(owner, CS_DISPATCH_ONE_NONBLOCKING);
	if (err != CS_OK && err != CS_ERR_TRY_AGAIN)
		out("%s: dispatch = %s", owner->name, error_name(err));
	capture = NULL;
	return err == CS_OK || err == CS_ERR_TRY_AGAIN;
}

/* settle MS: dispatches every handle's events until none came for MS, then
 * prints them handle by handle: the order across handles is only the
 * order in which their sockets happened to become readable. */
static void cmd_settle(char **argv, int argc)
{
	int quiet_ms = argc > 0 ? atoi(argv[0]) : 300;
	struct pollfd fds[MAX_SLOTS];
	struct slot *owners[MAX_SLOTS];
	char *texts[MAX_SLOTS] = { NULL };
	size_t sizes[MAX_SLOTS];
	FILE *streams[MAX_SLOTS];
	nfds_t n = 0;

	for (int i = 0; i < MAX_SLOTS; i++)
		if (slots[i].service != SVC_NONE && fd_of(&slots[i], &fds[n].fd) == CS_OK) {
			fds[n].events = POLLIN;
			streams[n] = open_memstream(&texts[n], &sizes[n]);
			owners[n++] = &slots[i];
		}
	while (n > 0 && poll(fds, n, quiet_ms) > 0)
		for (nfds_t i = 0; i < n; i++)
			if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) &&
			    !settle_one(owners[i], streams[i]))
				fds[i].fd = -1; /* do not spin on a dead connection */
	for (nfds_t i = 0; i < n; i++) {
		fclose(streams[i]);
		fputs(texts[i], stdout);
		free(texts[i]);
	}
}

/* Handles are forgotten, not finalized: the process may exit with them. */
static void cmd_forget(char **argv, int argc)
{
	struct slot *s = slot_find(argv[0]);

	if (s)
		s->service = SVC_NONE;
}

static void cmd_sleep(char **argv, int argc)
{
	struct timespec ts = { .tv_sec = atoi(argv[0]) / 1000,
			       .tv_nsec = (long)(atoi(argv[0]) % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* ---- the command loop --------------------------------------------------- */

static const struct command {
	const char *name;
	int min_args;
	void (*run)(char **argv, int argc);
} commands[] = {
	{ "cpg_init", 1, cmd_cpg_init },                   /* H [initial_totem] */
	{ "cpg_join", 2, cmd_cpg_join },                   /* H GROUP */
	{ "cpg_leave", 2, cmd_cpg_leave },                 /* H GROUP */
	{ "cpg_mcast", 2, cmd_cpg_mcast },                 /* H TEXT */
	{ "cpg_members", 2, cmd_cpg_members },             /* H GROUP */
	{ "cpg_local_get", 1, cmd_cpg_local_get },         /* H */
	{ "cpg_finalize", 1, cmd_cpg_finalize },           /* H */
	{ "cmap_init", 1, cmd_cmap_init },                 /* H [stats] */
	{ "cmap_set", 4, cmd_cmap_set },                   /* H KEY TYPE VALUE ('' is the empty string) */
	{ "cmap_delete", 2, cmd_cmap_delete },             /* H KEY */
	{ "cmap_get", 2, cmd_cmap_get },                   /* H KEY [strings] */
	{ "cmap_inc", 2, cmd_cmap_inc },                   /* H KEY */
	{ "cmap_dec", 2, cmd_cmap_dec },                   /* H KEY */
	{ "cmap_track", 4, cmd_cmap_track },               /* H TRACK KEY FLAGS [strings|none] */
	{ "cmap_untrack", 2, cmd_cmap_untrack },           /* H TRACK */
	{ "cmap_finalize", 1, cmd_cmap_finalize },         /* H */
	{ "quorum_init", 1, cmd_quorum_init },             /* H [v0|v1] */
	{ "quorum_trackstart", 2, cmd_quorum_trackstart }, /* H current|changes|changes_only */
	{ "quorum_trackstop", 1, cmd_quorum_trackstop },   /* H */
	{ "quorum_getquorate", 1, cmd_quorum_getquorate }, /* H */
	{ "quorum_finalize", 1, cmd_quorum_finalize },     /* H */
	{ "vq_init", 1, cmd_vq_init },                     /* H */
	{ "vq_trackstart", 3, cmd_vq_trackstart },         /* H CONTEXT FLAGS */
	{ "vq_trackstop", 1, cmd_vq_trackstop },           /* H */
	{ "vq_getinfo", 2, cmd_vq_getinfo },               /* H NODEID */
	{ "vq_setexpected", 2, cmd_vq_setexpected },       /* H VOTES */
	{ "vq_setvotes", 3, cmd_vq_setvotes },             /* H NODEID VOTES */
	{ "vq_register", 2, cmd_vq_register },             /* H NAME */
	{ "vq_unregister", 2, cmd_vq_unregister },         /* H NAME */
	{ "vq_update", 3, cmd_vq_update },                 /* H OLD NEW */
	{ "vq_poll", 3, cmd_vq_poll },                     /* H NAME CAST [badring] */
	{ "vq_master_wins", 3, cmd_vq_master_wins },       /* H NAME ALLOW */
	{ "vq_finalize", 1, cmd_vq_finalize },             /* H */
	{ "cfg_init", 1, cmd_cfg_init },                   /* H */
	{ "cfg_kill_node", 3, cmd_cfg_kill_node },         /* H NODEID REASON */
	{ "cfg_finalize", 1, cmd_cfg_finalize },           /* H */
	{ "dispatch", 2, cmd_dispatch },                   /* H one|all|blocking|one_nonblocking */
	{ "wait", 2, cmd_wait },                           /* H N [MS] */
	{ "settle", 0, cmd_settle },                       /* [MS] */
	{ "forget", 1, cmd_forget },                       /* H */
	{ "sleep", 1, cmd_sleep },                         /* MS */
};

static int split(char *line, char **argv)
{
	int argc = 0;

	for (char *word = strtok(line, " \t\n"); word && argc < MAX_ARGS; word = strtok(NULL, " \t\n"))
		argv[argc++] = word;
	return argc;
}

static void run_line(char *line)
{
	char *argv[MAX_ARGS];
	int argc = split(line, argv);

	if (argc == 0)
		return;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].name, argv[0]) != 0)
			continue;
		if (argc - 1 < commands[i].min_args)
			out("error: %s needs %d arguments", argv[0], commands[i].min_args);
		else
			commands[i].run(argv + 1, argc - 1);
		return;
	}
	out("error: unknown command %s", argv[0]);
}

int main(void)
{
	char line[1024];

	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	while (fgets(line, sizeof(line), stdin)) {
		if (strcmp(line, "exit\n") == 0)
			break;
		run_line(line);
		out(".");
		fflush(stdout);
	}
	return 0;
}
