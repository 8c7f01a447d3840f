/* corosync.conf syntax parsed into a tree that remembers line numbers.
 *
 *   # comment
 *   section {
 *       key: value
 *       subsection { key: value ... }
 *   }
 *
 * Keys are kept in file order, unknown ones included, so the whole file can
 * later be exposed as cmap keys ("totem.cluster_name",
 * "nodelist.node.0.nodeid"): see cv_conf_for_each_key().
 */
#ifndef CONCLAVE_CONFIG_H
#define CONCLAVE_CONFIG_H

#include <stdarg.h>
#include <stddef.h>

struct cv_conf_node {
	char *name;  /* section name or key */
	char *value; /* NULL for a section */
	unsigned line;
	struct cv_conf_node *parent;
	struct cv_conf_node *first_child, *last_child;
	struct cv_conf_node *next_sibling;
};

struct cv_conf {
	char *file;
	struct cv_conf_node root; /* a section without a name */
};

#define CV_CONF_ERROR_MAX 512

/* 0, or -1 with "FILE:LINE: error: message" (or "FILE: error: ...") in err. */
int cv_conf_parse_file(const char *path, struct cv_conf **out, char *err, size_t err_size);
/* Writes "FILE:LINE: error: message" into err ("FILE: error: message" when
 * line is 0), the one form every configuration error takes; returns -1. */
int cv_conf_verror(char *err, size_t err_size, const char *file, unsigned line, const char *format,
		   va_list args) __attribute__((format(printf, 5, 0)));
int cv_conf_parse_text(const char *file_name, const char *text, struct cv_conf **out, char *err,
		       size_t err_size);
void cv_conf_free(struct cv_conf *conf);

static inline int cv_conf_is_section(const struct cv_conf_node *n)
{
	return n->value == NULL;
}

/* The last child called `name` of `section` (later keys override earlier
 * ones, as in corosync), or NULL. */
const struct cv_conf_node *cv_conf_child(const struct cv_conf_node *section, const char *name);
const char *cv_conf_value(const struct cv_conf_node *section, const char *name);

/* Calls fn for every key with its dotted cmap-style path: sections that
 * repeat under one parent (node, interface) are numbered from 0 in file
 * order, as corosync does ("nodelist.node.1.ring0_addr"). Stops at the
 * first non-zero return and returns it. */
typedef int (*cv_conf_key_fn)(const char *path, const struct cv_conf_node *key, void *data);
int cv_conf_for_each_key(const struct cv_conf *conf, cv_conf_key_fn fn, void *data);

#endif
