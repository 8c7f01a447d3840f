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
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cv_conf_node {
	char *name;  /* section name or key */
	char *value; /* NULL for a section */
	unsigned line;
	struct cv_conf_node *parent;
	struct cv_conf_node *first_child, *last_child;
	struct cv_conf_node *next_sibling;
	bool used; /* read through cv_conf_get_*() or marked by cv_conf_mark_used() */
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

/* ---- Typed reading, for the daemon and for every service ----
 *
 * A reader carries the file (NULL: there is none, and every key is absent)
 * and where its errors go. Each cv_conf_get_*() reads the last key `name`
 * of `section` (NULL: an absent section): absent, it leaves *value as it is
 * and returns 0; present, it checks the value and returns 0, or -1 with
 * "FILE:LINE: error: message" in the reader's err. A key read this way is
 * marked used: conclaved warns, at start and at each reload, about the keys
 * of the file that nothing read, and refuses unread keys in conclave {}. */
struct cv_conf_reader {
	const struct cv_conf *conf;
	char *err;
	size_t err_size;
};

/* The file's top level, or NULL without a file. */
const struct cv_conf_node *cv_conf_root(const struct cv_conf_reader *r);
/* The last child section `name` of parent, or NULL (also for a key). */
const struct cv_conf_node *cv_conf_section(const struct cv_conf_node *parent, const char *name);

/* An integer from min to max: "invalid value 'V' for NAME: expected an
 * integer from MIN to MAX". */
int cv_conf_get_u32(const struct cv_conf_reader *r, const struct cv_conf_node *section, const char *name,
		    uint32_t min, uint32_t max, uint32_t *value);
/* 1, yes, on, true or 0, no, off, false. */
int cv_conf_get_bool(const struct cv_conf_reader *r, const struct cv_conf_node *section, const char *name,
		     bool *value);
/* Any text; *value points into the tree. */
int cv_conf_get_string(const struct cv_conf_reader *r, const struct cv_conf_node *section, const char *name,
		       const char **value);
/* One of n names, giving the value of the same index: "invalid value 'V'
 * for NAME: expected one of A, B, C". */
int cv_conf_get_choice(const struct cv_conf_reader *r, const struct cv_conf_node *section, const char *name,
		       const char *const *names, const int *values, size_t n, int *value);
/* The same checks on a key already found (a section's children in a loop). */
int cv_conf_parse_u32(const struct cv_conf_reader *r, const struct cv_conf_node *key, uint32_t min,
		      uint32_t max, uint32_t *value);
int cv_conf_parse_bool(const struct cv_conf_reader *r, const struct cv_conf_node *key, bool *value);
/* "FILE:LINE: error: message" in the reader's err, for a service's own
 * checks across keys; returns -1. */
int cv_conf_error(const struct cv_conf_reader *r, unsigned line, const char *format, ...)
	__attribute__((format(printf, 3, 4)));
/* Marks a key, or every key under a section, as used (NULL: nothing): for
 * keys read later from cmap, or by another program (corosync-qdevice's
 * quorum.device.net). */
void cv_conf_mark_used(const struct cv_conf_node *node);

#endif
