/* conclavectl: read, write, list and track the keys of conclaved's cmap, with
 * corosync-cmapctl's output, "key (type) = value". See conclavectl(8).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <corosync/cmap.h>
#include <corosync/corotypes.h>

#include "conclavectl.h"

/* Exit statuses; conclavectl(8) documents them. */
enum exit_status {
	EXIT_OK = 0,
	EXIT_FAILED = 1,     /* the daemon refused or failed the operation */
	EXIT_USAGE = 2,      /* bad command line or value */
	EXIT_NO_SERVICE = 3, /* conclaved cannot be reached or does not offer cmap */
};

static const char USAGE[] =
	"usage: conclavectl cmap [-m MAP] get KEY\n"
	"       conclavectl cmap [-m MAP] set KEY TYPE VALUE\n"
	"       conclavectl cmap [-m MAP] delete KEY\n"
	"       conclavectl cmap [-m MAP] list [PREFIX]\n"
	"       conclavectl cmap [-m MAP] track [-p] KEY\n"
	"       conclavectl cpg\n"
	"       conclavectl --help\n"
	"MAP is icmap (the default) or stats.\n"
	"TYPE is one of u8 i8 u16 i16 u32 i32 u64 i64 flt dbl str bin.\n";

static const struct {
	const char *name;
	cmap_value_types_t type;
} TYPE_NAMES[] = {
	{ "i8", CMAP_VALUETYPE_INT8 },   { "u8", CMAP_VALUETYPE_UINT8 },   { "i16", CMAP_VALUETYPE_INT16 },
	{ "u16", CMAP_VALUETYPE_UINT16 }, { "i32", CMAP_VALUETYPE_INT32 }, { "u32", CMAP_VALUETYPE_UINT32 },
	{ "i64", CMAP_VALUETYPE_INT64 }, { "u64", CMAP_VALUETYPE_UINT64 }, { "flt", CMAP_VALUETYPE_FLOAT },
	{ "dbl", CMAP_VALUETYPE_DOUBLE }, { "str", CMAP_VALUETYPE_STRING }, { "bin", CMAP_VALUETYPE_BINARY },
};

#define N_TYPES (sizeof(TYPE_NAMES) / sizeof(TYPE_NAMES[0]))

static int usage_error(const char *why)
{
	if (why != NULL)
		fprintf(stderr, "conclavectl: %s\n", why);
	fputs(USAGE, stderr);
	return EXIT_USAGE;
}

int conclavectl_usage_error(const char *why)
{
	return usage_error(why);
}

static const char *type_name(cmap_value_types_t type)
{
	for (size_t i = 0; i < N_TYPES; i++)
		if (TYPE_NAMES[i].type == type)
			return TYPE_NAMES[i].name;
	return "?";
}

static bool type_by_name(const char *name, cmap_value_types_t *type)
{
	for (size_t i = 0; i < N_TYPES; i++) {
		if (strcmp(TYPE_NAMES[i].name, name) == 0) {
			*type = TYPE_NAMES[i].type;
			return true;
		}
	}
	return false;
}

/* ---- errors -------------------------------------------------------------- */

static const char *error_text(cs_error_t err)
{
	switch (err) {
	case CS_ERR_NOT_EXIST:
		return "no such key";
	case CS_ERR_ACCESS:
		return "the key is read-only";
	case CS_ERR_NAME_TOO_LONG:
		return "invalid key name";
	case CS_ERR_INVALID_PARAM:
		return "invalid value or type for this key";
	case CS_ERR_LIBRARY:
		return "cannot reach conclaved";
	case CS_ERR_NOT_SUPPORTED:
		return "conclaved does not offer the cmap service";
	case CS_ERR_TRY_AGAIN:
		return "conclaved is busy; try again";
	default:
		return "failed";
	}
}

static int report(const char *what, const char *key, cs_error_t err)
{
	fprintf(stderr, "conclavectl: %s %s: %s (%s)\n", what, key, error_text(err), cs_strerror(err));
	return EXIT_FAILED;
}

/* ---- printing values, as corosync-cmapctl -b does ------------------------ */

static void print_binary(const uint8_t *bytes, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (bytes[i] == '\\')
			fputs("\\\\", stdout);
		else if (bytes[i] >= ' ' && bytes[i] < 0x7f)
			putchar(bytes[i]);
		else
			printf("\\x%02X", bytes[i]);
	}
}

union fixed_value {
	int8_t i8;
	uint8_t u8;
	int16_t i16;
	uint16_t u16;
	int32_t i32;
	uint32_t u32;
	int64_t i64;
	uint64_t u64;
	float flt;
	double dbl;
};

/* len is the type's size: the notification's data need not be aligned. */
static void print_fixed(cmap_value_types_t type, const void *data, size_t len)
{
	union fixed_value v;

	memcpy(&v, data, len);
	switch (type) {
	case CMAP_VALUETYPE_INT8: printf("%" PRId8, v.i8); break;
	case CMAP_VALUETYPE_UINT8: printf("%" PRIu8, v.u8); break;
	case CMAP_VALUETYPE_INT16: printf("%" PRId16, v.i16); break;
	case CMAP_VALUETYPE_UINT16: printf("%" PRIu16, v.u16); break;
	case CMAP_VALUETYPE_INT32: printf("%" PRId32, v.i32); break;
	case CMAP_VALUETYPE_UINT32: printf("%" PRIu32, v.u32); break;
	case CMAP_VALUETYPE_INT64: printf("%" PRId64, v.i64); break;
	case CMAP_VALUETYPE_UINT64: printf("%" PRIu64, v.u64); break;
	case CMAP_VALUETYPE_FLOAT: printf("%f", v.flt); break;
	case CMAP_VALUETYPE_DOUBLE: printf("%f", v.dbl); break;
	default: break;
	}
}

static size_t fixed_size(cmap_value_types_t type)
{
	switch (type) {
	case CMAP_VALUETYPE_INT8:
	case CMAP_VALUETYPE_UINT8:
		return 1;
	case CMAP_VALUETYPE_INT16:
	case CMAP_VALUETYPE_UINT16:
		return 2;
	case CMAP_VALUETYPE_INT32:
	case CMAP_VALUETYPE_UINT32:
	case CMAP_VALUETYPE_FLOAT:
		return 4;
	case CMAP_VALUETYPE_INT64:
	case CMAP_VALUETYPE_UINT64:
	case CMAP_VALUETYPE_DOUBLE:
		return 8;
	default:
		return 0;
	}
}

static void print_value(cmap_value_types_t type, const void *data, size_t len)
{
	if (data == NULL)
		return;
	if (type == CMAP_VALUETYPE_STRING)
		printf("%.*s", (int)strnlen(data, len), (const char *)data);
	else if (type == CMAP_VALUETYPE_BINARY)
		print_binary(data, len);
	else if (fixed_size(type) != 0 && len == fixed_size(type))
		print_fixed(type, data, len);
}

static void print_key(const char *prefix, const char *key, cmap_value_types_t type, const void *data, size_t len)
{
	printf("%s%s (%s) = ", prefix, key, type_name(type));
	print_value(type, data, len);
	putchar('\n');
}

/* ---- parsing values ------------------------------------------------------- */

static bool parse_signed(const char *text, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(text, &end, 0);
	if (errno != 0 || end == text || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_unsigned(const char *text, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	if (text[0] == '-')
		return false;
	v = strtoull(text, &end, 0);
	if (errno != 0 || end == text || *end != '\0' || v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_double(const char *text, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(text, &end);
	return errno == 0 && end != text && *end == '\0';
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The escapes print_binary writes: "\\" and "\xHH"; other bytes as they are. */
static bool parse_binary(const char *text, uint8_t *out, size_t *len)
{
	size_t n = 0;

	for (const char *p = text; *p != '\0'; n++) {
		if (p[0] != '\\') {
			out[n] = (uint8_t)*p++;
		} else if (p[1] == '\\') {
			out[n] = '\\';
			p += 2;
		} else if (p[1] == 'x' && hex_digit(p[2]) >= 0 && hex_digit(p[3]) >= 0) {
			out[n] = (uint8_t)(hex_digit(p[2]) * 16 + hex_digit(p[3]));
			p += 4;
		} else {
			return false;
		}
	}
	*len = n;
	return true;
}

struct parsed_value {
	union fixed_value fixed;
	const void *data;
	size_t len;
	uint8_t *bytes; /* for bin: malloc'd */
};

static const struct {
	cmap_value_types_t type;
	bool is_signed;
	int64_t min;
	uint64_t max;
} INTEGER_RANGES[] = {
	{ CMAP_VALUETYPE_INT8, true, INT8_MIN, INT8_MAX },     { CMAP_VALUETYPE_UINT8, false, 0, UINT8_MAX },
	{ CMAP_VALUETYPE_INT16, true, INT16_MIN, INT16_MAX },  { CMAP_VALUETYPE_UINT16, false, 0, UINT16_MAX },
	{ CMAP_VALUETYPE_INT32, true, INT32_MIN, INT32_MAX },  { CMAP_VALUETYPE_UINT32, false, 0, UINT32_MAX },
	{ CMAP_VALUETYPE_INT64, true, INT64_MIN, INT64_MAX },  { CMAP_VALUETYPE_UINT64, false, 0, UINT64_MAX },
};

/* s or u, whichever the type's signedness says, is within the type's range. */
static void store_integer(cmap_value_types_t type, int64_t s, uint64_t u, union fixed_value *v)
{
	switch (type) {
	case CMAP_VALUETYPE_INT8: v->i8 = (int8_t)s; break;
	case CMAP_VALUETYPE_UINT8: v->u8 = (uint8_t)u; break;
	case CMAP_VALUETYPE_INT16: v->i16 = (int16_t)s; break;
	case CMAP_VALUETYPE_UINT16: v->u16 = (uint16_t)u; break;
	case CMAP_VALUETYPE_INT32: v->i32 = (int32_t)s; break;
	case CMAP_VALUETYPE_UINT32: v->u32 = (uint32_t)u; break;
	case CMAP_VALUETYPE_INT64: v->i64 = s; break;
	case CMAP_VALUETYPE_UINT64: v->u64 = u; break;
	default: break;
	}
}

static bool parse_integer(cmap_value_types_t type, const char *text, union fixed_value *v)
{
	int64_t s = 0;
	uint64_t u = 0;

	for (size_t i = 0; i < sizeof(INTEGER_RANGES) / sizeof(INTEGER_RANGES[0]); i++) {
		bool ok;

		if (INTEGER_RANGES[i].type != type)
			continue;
		if (INTEGER_RANGES[i].is_signed)
			ok = parse_signed(text, INTEGER_RANGES[i].min, (int64_t)INTEGER_RANGES[i].max, &s);
		else
			ok = parse_unsigned(text, INTEGER_RANGES[i].max, &u);
		if (ok)
			store_integer(type, s, u, v);
		return ok;
	}
	return false;
}

static bool parse_value(cmap_value_types_t type, const char *text, struct parsed_value *v)
{
	double d;

	memset(v, 0, sizeof(*v));
	v->data = &v->fixed;
	v->len = fixed_size(type);
	switch (type) {
	case CMAP_VALUETYPE_FLOAT:
		if (!parse_double(text, &d))
			return false;
		v->fixed.flt = (float)d;
		return true;
	case CMAP_VALUETYPE_DOUBLE:
		return parse_double(text, &v->fixed.dbl);
	case CMAP_VALUETYPE_STRING:
		v->data = text;
		v->len = strlen(text);
		return true;
	case CMAP_VALUETYPE_BINARY:
		v->bytes = malloc(strlen(text) + 1);
		v->data = v->bytes;
		return v->bytes != NULL && parse_binary(text, v->bytes, &v->len);
	default:
		return parse_integer(type, text, &v->fixed);
	}
}

/* ---- commands --------------------------------------------------------------- */

/* A command connects once its arguments are known to be good, so that a
 * usage error is reported as one whether or not conclaved runs. */
struct session {
	cmap_map_t map;
	cmap_handle_t handle;
	bool connected;
};

static int session_connect(struct session *s)
{
	cs_error_t err = cmap_initialize_map(&s->handle, s->map);

	if (err == CS_OK) {
		s->connected = true;
		return EXIT_OK;
	}
	fprintf(stderr, "conclavectl: cannot connect to the cmap service: %s (%s)\n", error_text(err),
		cs_strerror(err));
	return EXIT_NO_SERVICE;
}

/* Prints one key; a key deleted since it was listed is skipped. */
static cs_error_t show_key(cmap_handle_t handle, const char *key)
{
	cmap_value_types_t type;
	size_t len = 0;
	void *data;
	cs_error_t err;

	err = cmap_get(handle, key, NULL, &len, NULL);
	if (err != CS_OK)
		return err;
	data = malloc(len + 1);
	if (data == NULL)
		return CS_ERR_NO_MEMORY;
	err = cmap_get(handle, key, data, &len, &type);
	if (err == CS_OK)
		print_key("", key, type, data, len);
	free(data);
	return err;
}

static int command_get(struct session *s, int argc, char **argv)
{
	cs_error_t err;
	int status;

	if (argc != 1)
		return usage_error("get takes one KEY");
	status = session_connect(s);
	if (status != EXIT_OK)
		return status;
	err = show_key(s->handle, argv[0]);
	return err == CS_OK ? EXIT_OK : report("get", argv[0], err);
}

static int command_set(struct session *s, int argc, char **argv)
{
	struct parsed_value value;
	cmap_value_types_t type;
	cs_error_t err;
	int status;

	if (argc != 3)
		return usage_error("set takes KEY TYPE VALUE");
	if (!type_by_name(argv[1], &type))
		return usage_error("unknown TYPE");
	if (!parse_value(type, argv[2], &value)) {
		free(value.bytes);
		fprintf(stderr, "conclavectl: '%s' is not a %s value\n", argv[2], argv[1]);
		return EXIT_USAGE;
	}
	status = session_connect(s);
	if (status == EXIT_OK) {
		err = cmap_set(s->handle, argv[0], value.data, value.len, type);
		status = err == CS_OK ? EXIT_OK : report("set", argv[0], err);
	}
	free(value.bytes);
	return status;
}

static int command_delete(struct session *s, int argc, char **argv)
{
	cs_error_t err;
	int status;

	if (argc != 1)
		return usage_error("delete takes one KEY");
	status = session_connect(s);
	if (status != EXIT_OK)
		return status;
	err = cmap_delete(s->handle, argv[0]);
	return err == CS_OK ? EXIT_OK : report("delete", argv[0], err);
}

static int command_list(struct session *s, int argc, char **argv)
{
	char key[CMAP_KEYNAME_MAXLEN + 1];
	const char *prefix = argc == 1 ? argv[0] : "";
	cmap_iter_handle_t iter;
	cs_error_t err;
	int status;

	if (argc > 1)
		return usage_error("list takes at most one PREFIX");
	status = session_connect(s);
	if (status != EXIT_OK)
		return status;
	err = cmap_iter_init(s->handle, prefix, &iter);
	if (err != CS_OK)
		return report("list", prefix, err);
	while ((err = cmap_iter_next(s->handle, iter, key, NULL, NULL)) == CS_OK) {
		cs_error_t shown = show_key(s->handle, key);

		if (shown != CS_OK && shown != CS_ERR_NOT_EXIST) {
			err = shown;
			break;
		}
	}
	cmap_iter_finalize(s->handle, iter);
	return err == CS_ERR_NO_SECTIONS ? EXIT_OK : report("list", prefix, err);
}

/* ---- track ------------------------------------------------------------------ */

static const char *event_label(int32_t event)
{
	switch (event) {
	case CMAP_TRACK_ADD: return "create> ";
	case CMAP_TRACK_DELETE: return "delete> ";
	case CMAP_TRACK_MODIFY: return "modify> ";
	default: return "?> ";
	}
}

/* A deletion shows the value the key had, as corosync-cmapctl does. */
static void print_change(cmap_handle_t handle, cmap_track_handle_t track, int32_t event, const char *key,
			 struct cmap_notify_value new_value, struct cmap_notify_value old_value, void *user_data)
{
	struct cmap_notify_value shown = event == CMAP_TRACK_DELETE ? old_value : new_value;

	print_key(event_label(event), key, shown.type, shown.data, shown.len);
	fflush(stdout);
}

static int stop_signals_fd(void)
{
	sigset_t signals;

	sigemptyset(&signals);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &signals, NULL) != 0)
		return -1;
	return signalfd(-1, &signals, SFD_CLOEXEC);
}

/* Dispatches changes until SIGINT or SIGTERM (exit 0) or a failure. */
static int track_until_stopped(cmap_handle_t handle, int signal_fd)
{
	struct pollfd fds[2] = { { .events = POLLIN, .fd = signal_fd }, { .events = POLLIN } };
	cs_error_t err;

	if (cmap_fd_get(handle, &fds[1].fd) != CS_OK)
		return EXIT_FAILED;
	for (;;) {
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return EXIT_FAILED;
		}
		if (fds[0].revents & POLLIN)
			return EXIT_OK;
		err = cmap_dispatch(handle, CS_DISPATCH_ALL);
		if (err != CS_OK) {
			fprintf(stderr, "conclavectl: tracking stopped: %s (%s)\n", error_text(err), cs_strerror(err));
			return EXIT_FAILED;
		}
	}
}

static int track(cmap_handle_t handle, const char *key, int32_t track_type, int signal_fd)
{
	cmap_track_handle_t track;
	cs_error_t err;

	err = cmap_track_add(handle, key, track_type, print_change, NULL, &track);
	if (err != CS_OK)
		return report("track", key, err);
	fprintf(stderr, "conclavectl: tracking %s%s; interrupt to stop\n", key,
		(track_type & CMAP_TRACK_PREFIX) ? " and the keys under it" : "");
	return track_until_stopped(handle, signal_fd);
}

static int command_track(struct session *s, int argc, char **argv)
{
	int32_t track_type = CMAP_TRACK_ADD | CMAP_TRACK_DELETE | CMAP_TRACK_MODIFY;
	int signal_fd, status;

	if (argc > 0 && strcmp(argv[0], "-p") == 0) {
		track_type |= CMAP_TRACK_PREFIX;
		argc--;
		argv++;
	}
	if (argc != 1)
		return usage_error("track takes [-p] KEY");
	signal_fd = stop_signals_fd();
	if (signal_fd < 0) {
		perror("conclavectl: signalfd");
		return EXIT_FAILED;
	}
	status = session_connect(s);
	if (status == EXIT_OK)
		status = track(s->handle, argv[0], track_type, signal_fd);
	close(signal_fd);
	return status;
}

/* ---- main ------------------------------------------------------------------- */

static const struct {
	const char *name;
	int (*run)(struct session *s, int argc, char **argv);
} COMMANDS[] = {
	{ "get", command_get },     { "set", command_set },     { "delete", command_delete },
	{ "list", command_list },   { "track", command_track },
};

/* corosync-cmapctl's names for the maps. */
static bool map_by_name(const char *name, cmap_map_t *map)
{
	if (strcmp(name, "icmap") == 0)
		*map = CMAP_MAP_ICMAP;
	else if (strcmp(name, "stats") == 0)
		*map = CMAP_MAP_STATS;
	else
		return false;
	return true;
}

static int run_cmap(int argc, char **argv)
{
	struct session s = { .map = CMAP_MAP_DEFAULT, .connected = false };
	int status;

	if (argc >= 1 && strcmp(argv[0], "-m") == 0) {
		if (argc < 2 || !map_by_name(argv[1], &s.map))
			return usage_error("-m takes icmap or stats");
		argc -= 2;
		argv += 2;
	}
	if (argc < 1)
		return usage_error("cmap needs a command");
	for (size_t i = 0; i < sizeof(COMMANDS) / sizeof(COMMANDS[0]); i++) {
		if (strcmp(COMMANDS[i].name, argv[0]) != 0)
			continue;
		status = COMMANDS[i].run(&s, argc - 1, argv + 1);
		if (s.connected)
			cmap_finalize(s.handle);
		return status;
	}
	return usage_error("unknown cmap command");
}

int main(int argc, char **argv)
{
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(USAGE, stdout);
		return EXIT_OK;
	}
	if (argc >= 2 && strcmp(argv[1], "cpg") == 0)
		return conclavectl_cpg(argc - 2, argv + 2);
	if (argc < 2 || strcmp(argv[1], "cmap") != 0)
		return usage_error(argc < 2 ? NULL : "unknown command");
	return run_cmap(argc - 2, argv + 2);
}
