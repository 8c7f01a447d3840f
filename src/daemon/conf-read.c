/* Typed reading of the configuration (<conclave/config.h>): the one place
 * where a value's syntax, range and error text are decided, for the daemon's
 * settings and for every service's. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <conclave/config.h>

int cv_conf_error(const struct cv_conf_reader *r, unsigned line, const char *format, ...)
{
	va_list args;
	int result;

	va_start(args, format);
	result = cv_conf_verror(r->err, r->err_size, r->conf ? r->conf->file : "conclaved", line, format,
				args);
	va_end(args);
	return result;
}

const struct cv_conf_node *cv_conf_root(const struct cv_conf_reader *r)
{
	return r->conf ? &r->conf->root : NULL;
}

const struct cv_conf_node *cv_conf_section(const struct cv_conf_node *parent, const char *name)
{
	const struct cv_conf_node *n = cv_conf_child(parent, name);

	return n && cv_conf_is_section(n) ? n : NULL;
}

void cv_conf_mark_used(const struct cv_conf_node *node)
{
	if (!node)
		return;
	/* The one change reading makes to a tree handed out as const. */
	((struct cv_conf_node *)node)->used = true;
	for (const struct cv_conf_node *n = node->first_child; n; n = n->next_sibling)
		cv_conf_mark_used(n);
}

/* The last key `name` of section, every one of that name marked used: the
 * earlier ones are read too, and overridden, as in corosync. */
static const struct cv_conf_node *read_key(const struct cv_conf_node *section, const char *name)
{
	const struct cv_conf_node *found = NULL;

	if (!section)
		return NULL;
	for (const struct cv_conf_node *n = section->first_child; n; n = n->next_sibling)
		if (strcmp(n->name, name) == 0) {
			cv_conf_mark_used(n);
			found = n;
		}
	return found;
}

static int must_be_key(const struct cv_conf_reader *r, const struct cv_conf_node *key)
{
	if (cv_conf_is_section(key))
		return cv_conf_error(r, key->line, "'%s' must be a key, not a section", key->name);
	return 0;
}

int cv_conf_parse_u32(const struct cv_conf_reader *r, const struct cv_conf_node *key, uint32_t min,
		      uint32_t max, uint32_t *value)
{
	const char *text = key->value;
	char *end;
	unsigned long long v;

	cv_conf_mark_used(key);
	errno = 0;
	v = strtoull(text, &end, 10);
	if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno == ERANGE || v < min || v > max)
		return cv_conf_error(r, key->line,
				     "invalid value '%s' for %s: expected an integer from %u to %u", text,
				     key->name, min, max);
	*value = (uint32_t)v;
	return 0;
}

int cv_conf_parse_bool(const struct cv_conf_reader *r, const struct cv_conf_node *key, bool *value)
{
	static const char *const yes[] = { "1", "yes", "on", "true" };
	static const char *const no[] = { "0", "no", "off", "false" };

	cv_conf_mark_used(key);
	for (size_t i = 0; i < 4; i++) {
		if (strcmp(key->value, yes[i]) == 0) {
			*value = true;
			return 0;
		}
		if (strcmp(key->value, no[i]) == 0) {
			*value = false;
			return 0;
		}
	}
	return cv_conf_error(r, key->line, "invalid value '%s' for %s: expected 0, 1, yes, no, on or off",
			     key->value, key->name);
}

int cv_conf_get_u32(const struct cv_conf_reader *r, const struct cv_conf_node *section, const char *name,
		    uint32_t min, uint32_t max, uint32_t *value)
{
	const struct cv_conf_node *key = read_key(section, name);

	if (!key)
		return 0;
	return must_be_key(r, key) < 0 ? -1 : cv_conf_parse_u32(r, key, min, max, value);
}

int cv_conf_get_bool(const struct cv_conf_reader *r, const struct cv_conf_node *section, const char *name,
		     bool *value)
{
	const struct cv_conf_node *key = read_key(section, name);

	if (!key)
		return 0;
	return must_be_key(r, key) < 0 ? -1 : cv_conf_parse_bool(r, key, value);
}

int cv_conf_get_string(const struct cv_conf_reader *r, const struct cv_conf_node *section, const char *name,
		       const char **value)
{
	const struct cv_conf_node *key = read_key(section, name);

	if (!key)
		return 0;
	if (must_be_key(r, key) < 0)
		return -1;
	*value = key->value;
	return 0;
}

int cv_conf_get_choice(const struct cv_conf_reader *r, const struct cv_conf_node *section, const char *name,
		       const char *const *names, const int *values, size_t n, int *value)
{
	const struct cv_conf_node *key = read_key(section, name);
	char expected[256] = "";

	if (!key)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!cv_conf_is_section(key) && strcmp(key->value, names[i]) == 0) {
			*value = values[i];
			return 0;
		}
		snprintf(expected + strlen(expected), sizeof(expected) - strlen(expected), "%s%s",
			 i ? ", " : "", names[i]);
	}
	return cv_conf_error(r, key->line, "invalid value '%s' for %s: expected one of %s",
			     key->value ? key->value : "{", name, expected);
}
