/* conclavectl cmap: read, write, delete, load, list and track the keys of
 * conclaved's cmap, with corosync-cmapctl's output, "key (type) = value". */
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

enum exit_status {
	EXIT_OK = CONCLAVECTL_EXIT_OK,
	EXIT_FAILED = CONCLAVECTL_EXIT_FAILED,
	EXIT_USAGE = CONCLAVECTL_EXIT_USAGE,
	EXIT_NO_SERVICE = CONCLAVECTL_EXIT_NO_SERVICE,
};

/* The largest value a file may give: cmap's own limit is far below it. */
#define VALUE_FILE_MAX (1024 * 1024)

static int usage_error(const char *why)
{
	return conclavectl_usage_error(&conclavectl_cmap_command, why);
}

static const struct {
	const char *name;
	cmap_value_types_t type;
} TYPE_NAMES[] = {
	{ "i8", CMAP_VALUETYPE_INT8 },    { "u8", CMAP_VALUETYPE_UINT8 },   { "i16", CMAP_VALUETYPE_INT16 },
	{ "u16", CMAP_VALUETYPE_UINT16 }, { "i32", CMAP_VALUETYPE_INT32 },  { "u32", CMAP_VALUETYPE_UINT32 },
	{ "i64", CMAP_VALUETYPE_INT64 },  { "u64", CMAP_VALUETYPE_UINT64 }, { "flt", CMAP_VALUETYPE_FLOAT },
	{ "dbl", CMAP_VALUETYPE_DOUBLE }, { "str", CMAP_VALUETYPE_STRING }, { "bin", CMAP_VALUETYPE_BINARY },
};

#define N_TYPES (sizeof(TYPE_NAMES) / sizeof(TYPE_NAMES[0]))

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

/* What a refusal means for a key; the rest as for any service. */
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
	default:
		return conclavectl_error_text(err);
	}
}

/* What was printed before the failure comes before its message. */
static int report(const char *what, const char *key, cs_error_t err)
{
	fflush(stdout);
	fprintf(stderr, "conclavectl: %s %s: %s (%s)\n", what, key, error_text(err), cs_strerror(err));
	return EXIT_FAILED;
}

/* ---- printing values, as corosync-cmapctl -b does ------------------------ */

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
	case CMAP_VALUETYPE_INT8:
		printf("%" PRId8, v.i8);
		break;
	case CMAP_VALUETYPE_UINT8:
		printf("%" PRIu8, v.u8);
		break;
	case CMAP_VALUETYPE_INT16:
		printf("%" PRId16, v.i16);
		break;
	case CMAP_VALUETYPE_UINT16:
		printf("%" PRIu16, v.u16);
		break;
	case CMAP_VALUETYPE_INT32:
		printf("%" PRId32, v.i32);
		break;
	case CMAP_VALUETYPE_UINT32:
		printf("%" PRIu32, v.u32);
		break;
	case CMAP_VALUETYPE_INT64:
		printf("%" PRId64, v.i64);
		break;
	case CMAP_VALUETYPE_UINT64:
		printf("%" PRIu64, v.u64);
		break;
	case CMAP_VALUETYPE_FLOAT:
		printf("%f", v.flt);
		break;
	case CMAP_VALUETYPE_DOUBLE:
		printf("%f", v.dbl);
		break;
	default:
		break;
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
		conclavectl_print_escaped(stdout, data, len);
	else if (fixed_size(type) != 0 && len == fixed_size(type))
		print_fixed(type, data, len);
}

static void print_key(const char *prefix, const char *key, cmap_value_types_t type, const void *data,
		      size_t len)
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
	{ CMAP_VALUETYPE_INT8, true, INT8_MIN, INT8_MAX },    { CMAP_VALUETYPE_UINT8, false, 0, UINT8_MAX },
	{ CMAP_VALUETYPE_INT16, true, INT16_MIN, INT16_MAX }, { CMAP_VALUETYPE_UINT16, false, 0, UINT16_MAX },
	{ CMAP_VALUETYPE_INT32, true, INT32_MIN, INT32_MAX }, { CMAP_VALUETYPE_UINT32, false, 0, UINT32_MAX },
	{ CMAP_VALUETYPE_INT64, true, INT64_MIN, INT64_MAX }, { CMAP_VALUETYPE_UINT64, false, 0, UINT64_MAX },
};

/* s or u, whichever the type's signedness says, is within the type's range. */
static void store_integer(cmap_value_types_t type, int64_t s, uint64_t u, union fixed_value *v)
{
	switch (type) {
	case CMAP_VALUETYPE_INT8:
		v->i8 = (int8_t)s;
		break;
	case CMAP_VALUETYPE_UINT8:
		v->u8 = (uint8_t)u;
		break;
	case CMAP_VALUETYPE_INT16:
		v->i16 = (int16_t)s;
		break;
	case CMAP_VALUETYPE_UINT16:
		v->u16 = (uint16_t)u;
		break;
	case CMAP_VALUETYPE_INT32:
		v->i32 = (int32_t)s;
		break;
	case CMAP_VALUETYPE_UINT32:
		v->u32 = (uint32_t)u;
		break;
	case CMAP_VALUETYPE_INT64:
		v->i64 = s;
		break;
	case CMAP_VALUETYPE_UINT64:
		v->u64 = u;
		break;
	default:
		break;
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
		return v->bytes != NULL && conclavectl_parse_escaped(text, v->bytes, &v->len);
	default:
		return parse_integer(type, text, &v->fixed);
	}
}

/* ---- the connection ------------------------------------------------------- */

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

	if (err != CS_OK)
		return conclavectl_cannot_connect("cmap", err);
	s->connected = true;
	return EXIT_OK;
}

/* Prints one key, or only its value when quiet. */
static cs_error_t show_key(cmap_handle_t handle, const char *key, bool quiet)
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
	if (err == CS_OK && quiet) {
		print_value(type, data, len);
		putchar('\n');
	} else if (err == CS_OK) {
		print_key("", key, type, data, len);
	}
	free(data);
	return err;
}

/* ---- get, set, delete ------------------------------------------------------ */

/* Several keys: they are shown in order, and the first that fails ends the
 * command, as with corosync-cmapctl -g. */
static int command_get(struct session *s, int argc, char **argv)
{
	bool quiet = argc > 0 && strcmp(argv[0], "-q") == 0;
	int status;

	if (quiet) {
		argc--;
		argv++;
	}
	if (argc < 1)
		return usage_error("get takes [-q] KEY...");
	status = session_connect(s);
	for (int i = 0; status == EXIT_OK && i < argc; i++) {
		cs_error_t err = show_key(s->handle, argv[i], quiet);

		if (err != CS_OK)
			status = report("get", argv[i], err);
	}
	return status;
}

/* Reads a whole file, or stdin for "-", into a malloc'd buffer with a NUL
 * after its end. Returns false after saying why. */
static bool read_value_file(const char *path, char **data, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	size_t used = 0, n;
	char *buf = malloc(VALUE_FILE_MAX + 1);

	if (f == NULL || buf == NULL) {
		fprintf(stderr, "conclavectl: cannot read %s: %s\n", path, strerror(errno));
		free(buf);
		return false;
	}
	while (used <= VALUE_FILE_MAX && (n = fread(buf + used, 1, VALUE_FILE_MAX + 1 - used, f)) > 0)
		used += n;
	if (f != stdin)
		fclose(f);
	if (used > VALUE_FILE_MAX) {
		fprintf(stderr, "conclavectl: %s is larger than %d bytes\n", path, VALUE_FILE_MAX);
		free(buf);
		return false;
	}
	buf[used] = '\0';
	*data = buf;
	*len = used;
	return true;
}

static int set_parsed(struct session *s, const char *key, cmap_value_types_t type, const void *data,
		      size_t len)
{
	int status = session_connect(s);
	cs_error_t err;

	if (status != EXIT_OK)
		return status;
	err = cmap_set(s->handle, key, data, len, type);
	return err == CS_OK ? EXIT_OK : report("set", key, err);
}

/* set -f FILE KEY TYPE: the value is the file's bytes (str or bin), as
 * corosync-cmapctl -s reads a bin value from a file or stdin. */
static int command_set_from_file(struct session *s, int argc, char **argv)
{
	cmap_value_types_t type;
	char *data;
	size_t len;
	int status;

	if (argc != 3)
		return usage_error("set -f takes FILE KEY TYPE");
	if (!type_by_name(argv[2], &type) || (type != CMAP_VALUETYPE_STRING && type != CMAP_VALUETYPE_BINARY))
		return usage_error("set -f takes the TYPE str or bin");
	if (!read_value_file(argv[0], &data, &len))
		return EXIT_USAGE;
	if (type == CMAP_VALUETYPE_STRING && strlen(data) != len) {
		fprintf(stderr, "conclavectl: %s holds a NUL byte, which a str value cannot\n", argv[0]);
		free(data);
		return EXIT_USAGE;
	}
	status = set_parsed(s, argv[1], type, data, len);
	free(data);
	return status;
}

static int command_set(struct session *s, int argc, char **argv)
{
	struct parsed_value value;
	cmap_value_types_t type;
	int status;

	if (argc > 0 && strcmp(argv[0], "-f") == 0)
		return command_set_from_file(s, argc - 1, argv + 1);
	if (argc != 3)
		return usage_error("set takes KEY TYPE VALUE");
	if (!type_by_name(argv[1], &type))
		return usage_error("unknown TYPE");
	if (!parse_value(type, argv[2], &value)) {
		free(value.bytes);
		fprintf(stderr, "conclavectl: '%s' is not a %s value\n", argv[2], argv[1]);
		return EXIT_USAGE;
	}
	status = set_parsed(s, argv[0], type, value.data, value.len);
	free(value.bytes);
	return status;
}

/* Deletes every key under prefix; a key that cannot be deleted is reported
 * and the others are still deleted, as corosync-cmapctl -D does. */
static cs_error_t delete_prefix(cmap_handle_t handle, const char *prefix)
{
	char key[CMAP_KEYNAME_MAXLEN + 1];
	cmap_iter_handle_t iter;
	cs_error_t err, failed = CS_OK;

	err = cmap_iter_init(handle, prefix, &iter);
	if (err != CS_OK) {
		report("delete -p", prefix, err);
		return err;
	}
	while ((err = cmap_iter_next(handle, iter, key, NULL, NULL)) == CS_OK) {
		cs_error_t deleted = cmap_delete(handle, key);

		if (deleted != CS_OK && deleted != CS_ERR_NOT_EXIST) {
			report("delete", key, deleted);
			failed = deleted;
		}
	}
	cmap_iter_finalize(handle, iter);
	if (err != CS_ERR_NO_SECTIONS) {
		report("delete -p", prefix, err);
		return err;
	}
	return failed;
}

/* delete KEY...: stops at the first refusal, as corosync-cmapctl -d does;
 * delete -p PREFIX...: goes through every prefix. */
static int command_delete(struct session *s, int argc, char **argv)
{
	bool by_prefix = argc > 0 && strcmp(argv[0], "-p") == 0;
	int status;

	if (by_prefix) {
		argc--;
		argv++;
	}
	if (argc < 1)
		return usage_error(by_prefix ? "delete -p takes PREFIX..." : "delete takes KEY...");
	status = session_connect(s);
	for (int i = 0; status == EXIT_OK && i < argc; i++) {
		cs_error_t err = by_prefix ? delete_prefix(s->handle, argv[i])
					   : cmap_delete(s->handle, argv[i]);

		if (err != CS_OK)
			status = by_prefix ? EXIT_FAILED : report("delete", argv[i], err);
	}
	return status;
}

/* ---- list ------------------------------------------------------------------- */

static cs_error_t list_prefix(cmap_handle_t handle, const char *prefix)
{
	char key[CMAP_KEYNAME_MAXLEN + 1];
	cmap_iter_handle_t iter;
	cs_error_t err = cmap_iter_init(handle, prefix, &iter);

	if (err != CS_OK)
		return err;
	while ((err = cmap_iter_next(handle, iter, key, NULL, NULL)) == CS_OK) {
		cs_error_t shown = show_key(handle, key, false);

		if (shown != CS_OK && shown != CS_ERR_NOT_EXIST) {
			err = shown;
			break;
		}
	}
	cmap_iter_finalize(handle, iter);
	return err == CS_ERR_NO_SECTIONS ? CS_OK : err;
}

static int command_list(struct session *s, int argc, char **argv)
{
	int status = session_connect(s);

	if (status == EXIT_OK && argc == 0) {
		cs_error_t err = list_prefix(s->handle, "");
		return err == CS_OK ? EXIT_OK : report("list", "", err);
	}
	for (int i = 0; status == EXIT_OK && i < argc; i++) {
		cs_error_t err = list_prefix(s->handle, argv[i]);

		if (err != CS_OK)
			status = report("list", argv[i], err);
	}
	return status;
}

/* ---- load: corosync-cmapctl -p's file ---------------------------------------- */

/* Each line is "[^[^]]KEY [TYPE VALUE]": KEY TYPE VALUE sets, ^KEY deletes,
 * ^^PREFIX deletes by prefix; blank lines and lines starting with # are
 * skipped. A bin VALUE names a file holding the bytes, as in corosync. */
enum load_kind { LOAD_SET, LOAD_DELETE, LOAD_DELETE_PREFIX };

struct load_op {
	int line;
	enum load_kind kind;
	char *key;
	cmap_value_types_t type;
	char *data; /* malloc'd */
	size_t len;
};

struct load_file {
	const char *path;
	struct load_op *ops;
	size_t n_ops;
};

static void load_file_free(struct load_file *f)
{
	for (size_t i = 0; i < f->n_ops; i++) {
		free(f->ops[i].key);
		free(f->ops[i].data);
	}
	free(f->ops);
}

static bool load_error(const struct load_file *f, int line, const char *why, const char *what)
{
	fprintf(stderr, "conclavectl: %s:%d: %s%s\n", f->path, line, why, what);
	return false;
}

static bool load_value(const struct load_file *f, struct load_op *op, const char *type, const char *value)
{
	struct parsed_value parsed;

	if (!type_by_name(type, &op->type))
		return load_error(f, op->line, "unknown type ", type);
	if (op->type == CMAP_VALUETYPE_BINARY)
		return read_value_file(value, &op->data, &op->len) ||
		       load_error(f, op->line, "the file of this bin value cannot be used: ", value);
	if (!parse_value(op->type, value, &parsed)) {
		free(parsed.bytes);
		return load_error(f, op->line, "not a value of its type: ", value);
	}
	op->data = malloc(parsed.len + 1);
	if (op->data == NULL)
		return load_error(f, op->line, "out of memory", "");
	memcpy(op->data, parsed.data, parsed.len);
	op->len = parsed.len;
	return true;
}

static bool load_line(struct load_file *f, char *text, int line)
{
	char *key = strtok(text, " \t\n"), *type, *value;
	struct load_op op = { .line = line, .kind = LOAD_SET };
	struct load_op *grown;

	if (key == NULL || key[0] == '#')
		return true;
	if (key[0] == '^') {
		op.kind = key[1] == '^' ? LOAD_DELETE_PREFIX : LOAD_DELETE;
		key += op.kind == LOAD_DELETE_PREFIX ? 2 : 1;
	} else {
		type = strtok(NULL, " \t\n");
		value = strtok(NULL, " \t\n");
		if (type == NULL || value == NULL)
			return load_error(f, line, "a TYPE and a VALUE are needed for ", key);
		if (!load_value(f, &op, type, value))
			return false;
	}
	grown = realloc(f->ops, (f->n_ops + 1) * sizeof(*f->ops));
	op.key = strdup(key);
	if (grown == NULL || op.key == NULL) {
		free(op.key);
		free(op.data);
		if (grown != NULL)
			f->ops = grown;
		return load_error(f, line, "out of memory", "");
	}
	f->ops = grown;
	f->ops[f->n_ops++] = op;
	return true;
}

static bool load_parse(struct load_file *f)
{
	FILE *in = fopen(f->path, "r");
	char text[1024];
	int line = 0;
	bool ok = true;

	if (in == NULL) {
		fprintf(stderr, "conclavectl: cannot read %s: %s\n", f->path, strerror(errno));
		return false;
	}
	while (ok && fgets(text, sizeof(text), in) != NULL) {
		line++;
		if (strchr(text, '\n') == NULL && !feof(in))
			ok = load_error(f, line, "line longer than 1023 bytes", "");
		else
			ok = load_line(f, text, line);
	}
	fclose(in);
	return ok;
}

/* Applies the lines in order; a refused set ends the load, a refused
 * delete is reported and the load goes on, as with corosync-cmapctl -p. */
static int load_apply(cmap_handle_t handle, const struct load_file *f)
{
	int status = EXIT_OK;

	for (size_t i = 0; i < f->n_ops; i++) {
		const struct load_op *op = &f->ops[i];
		cs_error_t err;

		if (op->kind == LOAD_DELETE_PREFIX) {
			if (delete_prefix(handle, op->key) != CS_OK)
				status = EXIT_FAILED;
			continue;
		}
		err = op->kind == LOAD_DELETE ? cmap_delete(handle, op->key)
					      : cmap_set(handle, op->key, op->data, op->len, op->type);
		if (err == CS_OK)
			continue;
		fprintf(stderr, "conclavectl: %s:%d: ", f->path, op->line);
		status = report(op->kind == LOAD_DELETE ? "delete" : "set", op->key, err);
		if (op->kind == LOAD_SET)
			break;
	}
	return status;
}

/* The whole file is read and checked before anything is changed. */
static int command_load(struct session *s, int argc, char **argv)
{
	struct load_file f = { .path = argc == 1 ? argv[0] : NULL };
	int status;

	if (argc != 1)
		return usage_error("load takes one FILE");
	if (!load_parse(&f)) {
		load_file_free(&f);
		return EXIT_USAGE;
	}
	status = session_connect(s);
	if (status == EXIT_OK)
		status = load_apply(s->handle, &f);
	load_file_free(&f);
	return status;
}

/* ---- clear-stats ---------------------------------------------------------------- */

static int command_clear_stats(struct session *s, int argc, char **argv)
{
	static const char *const WHAT[] = { "knet", "ipc", "totem", "schedmiss", "all" };
	char key[CMAP_KEYNAME_MAXLEN];
	cs_error_t err;
	bool known = false;
	int status;

	if (argc != 1)
		return usage_error("clear-stats takes knet, ipc, totem, schedmiss or all");
	for (size_t i = 0; i < sizeof(WHAT) / sizeof(WHAT[0]); i++)
		known = known || strcmp(argv[0], WHAT[i]) == 0;
	if (!known)
		return usage_error("clear-stats takes knet, ipc, totem, schedmiss or all");
	s->map = CMAP_MAP_STATS;
	status = session_connect(s);
	if (status != EXIT_OK)
		return status;
	snprintf(key, sizeof(key), "stats.clear.%s", argv[0]);
	err = cmap_set_uint32(s->handle, key, 1);
	return err == CS_OK ? EXIT_OK : report("clear-stats", argv[0], err);
}

/* ---- track ------------------------------------------------------------------ */

static const char *event_label(int32_t event)
{
	switch (event) {
	case CMAP_TRACK_ADD:
		return "create> ";
	case CMAP_TRACK_DELETE:
		return "delete> ";
	case CMAP_TRACK_MODIFY:
		return "modify> ";
	default:
		return "?> ";
	}
}

/* A deletion shows the value the key had, as corosync-cmapctl does. */
static void print_change(cmap_handle_t handle, cmap_track_handle_t track, int32_t event, const char *key,
			 struct cmap_notify_value new_value, struct cmap_notify_value old_value,
			 void *user_data)
{
	struct cmap_notify_value shown = event == CMAP_TRACK_DELETE ? old_value : new_value;

	print_key(event_label(event), key, shown.type, shown.data, shown.len);
	fflush(stdout);
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
			fprintf(stderr, "conclavectl: tracking stopped: %s (%s)\n", error_text(err),
				cs_strerror(err));
			return EXIT_FAILED;
		}
	}
}

static int track(cmap_handle_t handle, int argc, char **argv, int32_t track_type, int signal_fd)
{
	for (int i = 0; i < argc; i++) {
		cmap_track_handle_t track;
		cs_error_t err = cmap_track_add(handle, argv[i], track_type, print_change, NULL, &track);

		if (err != CS_OK)
			return report("track", argv[i], err);
		fprintf(stderr, "conclavectl: tracking %s%s; interrupt to stop\n", argv[i],
			(track_type & CMAP_TRACK_PREFIX) ? " and the keys under it" : "");
	}
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
	if (argc < 1)
		return usage_error("track takes [-p] KEY...");
	signal_fd = conclavectl_stop_signals_fd();
	if (signal_fd < 0) {
		perror("conclavectl: signalfd");
		return EXIT_FAILED;
	}
	status = session_connect(s);
	if (status == EXIT_OK)
		status = track(s->handle, argc, argv, track_type, signal_fd);
	close(signal_fd);
	return status;
}

/* ---- the subcommand ------------------------------------------------------------ */

static const struct {
	const char *name;
	int (*run)(struct session *s, int argc, char **argv);
} COMMANDS[] = {
	{ "get", command_get },
	{ "set", command_set },
	{ "delete", command_delete },
	{ "list", command_list },
	{ "track", command_track },
	{ "load", command_load },
	{ "clear-stats", command_clear_stats },
};

/* corosync-cmapctl's names for the maps. */
static bool map_by_name(const char *name, cmap_map_t *map)
{
	if (strcmp(name, "icmap") == 0 || strcmp(name, "default") == 0)
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

const struct conclavectl_command conclavectl_cmap_command = {
	.name = "cmap",
	.usage = "usage: conclavectl cmap [-m MAP] get KEY...\n"
		 "       conclavectl cmap [-m MAP] get -q KEY...\n"
		 "       conclavectl cmap [-m MAP] set KEY TYPE VALUE\n"
		 "       conclavectl cmap [-m MAP] set -f FILE KEY TYPE\n"
		 "       conclavectl cmap [-m MAP] delete KEY...\n"
		 "       conclavectl cmap [-m MAP] delete -p PREFIX...\n"
		 "       conclavectl cmap [-m MAP] list [PREFIX...]\n"
		 "       conclavectl cmap [-m MAP] track [-p] KEY...\n"
		 "       conclavectl cmap [-m MAP] load FILE\n"
		 "       conclavectl cmap clear-stats knet|ipc|totem|schedmiss|all\n"
		 "  MAP is icmap (the default) or stats. TYPE is one of u8 i8 u16 i16 u32 i32\n"
		 "  u64 i64 flt dbl str bin. set -f reads a str or bin VALUE from FILE (- for\n"
		 "  stdin); load applies a corosync-cmapctl -p file.\n",
	.usage_status = CONCLAVECTL_EXIT_USAGE,
	.run = run_cmap,
};
