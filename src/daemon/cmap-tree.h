/* An AVL tree of NUL-terminated keys in bytewise (strcmp) order: the
 * ordered index of a cmap map. O(log n) find, insert, remove and
 * lower-bound, so get and set stay flat as the map grows, and iteration in
 * key order (and over a prefix) is a lower-bound followed by successors.
 *
 * Nodes are embedded in the caller's entries and point at the entry's key;
 * the tree never allocates.
 */
#ifndef CONCLAVE_CMAP_TREE_H
#define CONCLAVE_CMAP_TREE_H

#include <stdbool.h>
#include <stddef.h>

struct cmap_node {
	struct cmap_node *parent, *left, *right;
	int height; /* of the subtree rooted here; a leaf is 1 */
	const char *key;
};

struct cmap_tree {
	struct cmap_node *root;
	size_t count;
};

struct cmap_node *cmap_tree_find(const struct cmap_tree *t, const char *key);

/* The first node whose key is >= key (> key when `after`), or NULL. */
struct cmap_node *cmap_tree_lower_bound(const struct cmap_tree *t, const char *key, bool after);

struct cmap_node *cmap_tree_first(const struct cmap_tree *t);
struct cmap_node *cmap_tree_next(const struct cmap_node *n);

/* n->key must be set and absent from the tree. */
void cmap_tree_insert(struct cmap_tree *t, struct cmap_node *n);
void cmap_tree_remove(struct cmap_tree *t, struct cmap_node *n);

/* For tests: checks order, parent links, heights and balance; returns the
 * number of nodes, or -1 when something is wrong. */
long cmap_tree_check(const struct cmap_tree *t);

#endif
