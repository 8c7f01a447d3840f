#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <conclave/config.h>

/* Anything bigger is not a configuration file; refuse before reading it. */
#define CONF_MAX_FILE_SIZE (4u * 1024u * 1024u)
#define CONF_MAX_DEPTH 16
#define CONF_KEY_PATH_MAX 512 /* longer than any cmap key, so a long path is seen whole */

struct parser {
	struct cv_conf *conf;
	struct cv_conf_node *section; /* innermost open section */
	unsigned depth;
	unsigned line;
	char *err;
	size_t err_size;
};

static int parse_error(struct parser *p, unsigned line, const char *format, ...)
	__attribute__((format(printf, 3, 4)));

static int parse_error(struct parser *p, unsigned line, const char *format, ...)
{
	va_list args;
	int r;

	va_start(args, format);
	r = cv_conf_verror(p->err, p->err_size, p->conf->file, line, format, args);
	va_end(args);
	return r;
}

int cv_conf_verror(char *err, size_t err_size, const char *file, unsigned line, const char *format,
		   va_list args)
{
	char message[CV_CONF_ERROR_MAX];

	vsnprintf(message, sizeof(message), format, args);
	if (line)
		snprintf(err, err_size, "%s:%u: error: %s", file, line, message);
	else
		snprintf(err, err_size, "%s: error: %s", file, message);
	return -1;
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

static struct cv_conf_node *node_append(struct parser *p, const char *name, const char *value)
{
	struct cv_conf_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->name = strdup(name);
	n->value = value ? strdup(value) : NULL;
	if (!n->name || (value && !n->value)) {
		free(n->name);
		free(n->value);
		free(n);
		return NULL;
	}
	n->line = p->line;
	n->parent = p->section;
	if (p->section->last_child)
		p->section->last_child->next_sibling = n;
	else
		p->section->first_child = n;
	p->section->last_child = n;
	return n;
}

static bool name_is_valid(const char *name)
{
	if (!*name)
		return false;
	for (const char *c = name; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-')
			return false;
	return true;
}

static int open_section(struct parser *p, char *line)
{
	char *name;
	struct cv_conf_node *n;

	line[strlen(line) - 1] = '\0'; /* the '{' */
	name = trim(line);
	if (!name_is_valid(name))
		return parse_error(p, p->line,
				   *name ? "invalid section name '%s'" : "missing section name before '{'",
				   name);
	if (p->depth >= CONF_MAX_DEPTH)
		return parse_error(p, p->line, "sections nested deeper than %d", CONF_MAX_DEPTH);
	n = node_append(p, name, NULL);
	if (!n)
		return parse_error(p, p->line, "out of memory");
	p->section = n;
	p->depth++;
	return 0;
}

static int close_section(struct parser *p)
{
	if (p->depth == 0)
		return parse_error(p, p->line, "unexpected '}' outside any section");
	p->section = p->section->parent;
	p->depth--;
	return 0;
}

static int add_key(struct parser *p, char *line, char *colon)
{
	char *name, *value;

	*colon = '\0';
	name = trim(line);
	value = trim(colon + 1);
	if (!*name)
		return parse_error(p, p->line, "missing key before ':'");
	if (!name_is_valid(name))
		return parse_error(p, p->line, "invalid key name '%s'", name);
	if (p->depth == 0)
		return parse_error(p, p->line, "key '%s' outside any section", name);
	if (!node_append(p, name, value))
		return parse_error(p, p->line, "out of memory");
	return 0;
}

static int parse_line(struct parser *p, char *raw)
{
	char *line = trim(raw);
	size_t len = strlen(line);
	char *colon;

	if (len == 0 || line[0] == '#')
		return 0;
	if (strcmp(line, "}") == 0)
		return close_section(p);
	if (line[len - 1] == '{')
		return open_section(p, line);
	colon = strchr(line, ':');
	if (colon)
		return add_key(p, line, colon);
	return parse_error(p, p->line, "expected 'key: value', 'section {' or '}', got '%s'", line);
}

static int parse_lines(struct parser *p, char *text)
{
	char *cursor = text;

	while (*cursor) {
		char *end = strchr(cursor, '\n');

		if (end)
			*end = '\0';
		p->line++;
		if (parse_line(p, cursor) < 0)
			return -1;
		if (!end)
			break;
		cursor = end + 1;
	}
	if (p->depth > 0)
		return parse_error(p, p->section->line, "section '%s' is not closed", p->section->name);
	return 0;
}

int cv_conf_parse_text(const char *file_name, const char *text, struct cv_conf **out, char *err,
		       size_t err_size)
{
	struct parser p = { .err = err, .err_size = err_size };
	char *copy;
	int r;

	*out = NULL;
	p.conf = calloc(1, sizeof(*p.conf));
	copy = strdup(text);
	if (!p.conf || !copy || !(p.conf->file = strdup(file_name))) {
		snprintf(err, err_size, "%s: error: out of memory", file_name);
		free(copy);
		cv_conf_free(p.conf);
		return -1;
	}
	p.section = &p.conf->root;
	r = parse_lines(&p, copy);
	free(copy);
	if (r < 0) {
		cv_conf_free(p.conf);
		return -1;
	}
	*out = p.conf;
	return 0;
}

static char *read_whole_file(const char *path, char *err, size_t err_size)
{
	FILE *f = fopen(path, "re");
	struct stat st;
	char *text = NULL;
	size_t got;

	if (!f) {
		snprintf(err, err_size, "%s: error: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > CONF_MAX_FILE_SIZE) {
		snprintf(err, err_size, "%s: error: not a regular file of at most %u bytes", path,
			 CONF_MAX_FILE_SIZE);
		fclose(f);
		return NULL;
	}
	text = malloc((size_t)st.st_size + 1);
	if (text) {
		got = fread(text, 1, (size_t)st.st_size, f);
		text[got] = '\0';
		if (strlen(text) != got) {
			snprintf(err, err_size, "%s: error: the file contains a NUL byte", path);
			free(text);
			text = NULL;
		}
	} else {
		snprintf(err, err_size, "%s: error: out of memory", path);
	}
	fclose(f);
	return text;
}

int cv_conf_parse_file(const char *path, struct cv_conf **out, char *err, size_t err_size)
{
	char *text = read_whole_file(path, err, err_size);
	int r;

	*out = NULL;
	if (!text)
		return -1;
	r = cv_conf_parse_text(path, text, out, err, err_size);
	free(text);
	return r;
}

static void free_children(struct cv_conf_node *section)
{
	struct cv_conf_node *n = section->first_child;

	while (n) {
		struct cv_conf_node *next = n->next_sibling;

		free_children(n);
		free(n->name);
		free(n->value);
		free(n);
		n = next;
	}
}

void cv_conf_free(struct cv_conf *conf)
{
	if (!conf)
		return;
	free_children(&conf->root);
	free(conf->file);
	free(conf);
}

const struct cv_conf_node *cv_conf_child(const struct cv_conf_node *section, const char *name)
{
	const struct cv_conf_node *found = NULL;

	if (!section)
		return NULL;
	for (const struct cv_conf_node *n = section->first_child; n; n = n->next_sibling)
		if (strcmp(n->name, name) == 0)
			found = n;
	return found;
}

const char *cv_conf_value(const struct cv_conf_node *section, const char *name)
{
	const struct cv_conf_node *n = cv_conf_child(section, name);

	return n && n->value ? n->value : NULL;
}

static bool section_repeats(const struct cv_conf_node *section)
{
	unsigned count = 0;

	for (const struct cv_conf_node *n = section->parent->first_child; n; n = n->next_sibling)
		if (cv_conf_is_section(n) && strcmp(n->name, section->name) == 0)
			count++;
	/* corosync numbers node and interface entries even when there is one. */
	return count > 1 || strcmp(section->name, "node") == 0 || strcmp(section->name, "interface") == 0;
}

static unsigned section_index(const struct cv_conf_node *section)
{
	unsigned index = 0;

	for (const struct cv_conf_node *n = section->parent->first_child; n != section; n = n->next_sibling)
		if (cv_conf_is_section(n) && strcmp(n->name, section->name) == 0)
			index++;
	return index;
}

static int walk_section(const struct cv_conf_node *section, const char *prefix, cv_conf_key_fn fn, void *data)
{
	char path[CONF_KEY_PATH_MAX];
	int r;

	for (const struct cv_conf_node *n = section->first_child; n; n = n->next_sibling) {
		if (!cv_conf_is_section(n)) {
			snprintf(path, sizeof(path), "%s%s", prefix, n->name);
			r = fn(path, n, data);
		} else if (section_repeats(n)) {
			snprintf(path, sizeof(path), "%s%s.%u.", prefix, n->name, section_index(n));
			r = walk_section(n, path, fn, data);
		} else {
			snprintf(path, sizeof(path), "%s%s.", prefix, n->name);
			r = walk_section(n, path, fn, data);
		}
		if (r != 0)
			return r;
	}
	return 0;
}

int cv_conf_for_each_key(const struct cv_conf *conf, cv_conf_key_fn fn, void *data)
{
	return walk_section(&conf->root, "", fn, data);
}
