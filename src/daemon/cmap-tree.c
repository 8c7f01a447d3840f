#include <string.h>

#include "cmap-tree.h"

static int height(const struct cmap_node *n)
{
	return n ? n->height : 0;
}

static int balance(const struct cmap_node *n)
{
	return height(n->left) - height(n->right);
}

static void update_height(struct cmap_node *n)
{
	int l = height(n->left), r = height(n->right);

	n->height = (l > r ? l : r) + 1;
}

/* Makes `replacement` take `old`'s place under old's parent. */
static void replace_child(struct cmap_tree *t, struct cmap_node *old, struct cmap_node *replacement)
{
	struct cmap_node *parent = old->parent;

	if (!parent)
		t->root = replacement;
	else if (parent->left == old)
		parent->left = replacement;
	else
		parent->right = replacement;
	if (replacement)
		replacement->parent = parent;
}

static struct cmap_node *rotate_left(struct cmap_tree *t, struct cmap_node *n)
{
	struct cmap_node *pivot = n->right;

	replace_child(t, n, pivot);
	n->right = pivot->left;
	if (n->right)
		n->right->parent = n;
	pivot->left = n;
	n->parent = pivot;
	update_height(n);
	update_height(pivot);
	return pivot;
}

static struct cmap_node *rotate_right(struct cmap_tree *t, struct cmap_node *n)
{
	struct cmap_node *pivot = n->left;

	replace_child(t, n, pivot);
	n->left = pivot->right;
	if (n->left)
		n->left->parent = n;
	pivot->right = n;
	n->parent = pivot;
	update_height(n);
	update_height(pivot);
	return pivot;
}

/* Restores heights and balance from n up to the root. */
static void rebalance_upwards(struct cmap_tree *t, struct cmap_node *n)
{
	while (n) {
		int b;

		update_height(n);
		b = balance(n);
		if (b > 1) {
			if (balance(n->left) < 0)
				rotate_left(t, n->left);
			n = rotate_right(t, n);
		} else if (b < -1) {
			if (balance(n->right) > 0)
				rotate_right(t, n->right);
			n = rotate_left(t, n);
		}
		n = n->parent;
	}
}

struct cmap_node *cmap_tree_find(const struct cmap_tree *t, const char *key)
{
	struct cmap_node *n = t->root;

	while (n) {
		int c = strcmp(key, n->key);

		if (c == 0)
			return n;
		n = c < 0 ? n->left : n->right;
	}
	return NULL;
}

struct cmap_node *cmap_tree_lower_bound(const struct cmap_tree *t, const char *key, bool after)
{
	struct cmap_node *n = t->root, *best = NULL;

	while (n) {
		int c = strcmp(n->key, key);

		if (c > 0 || (c == 0 && !after)) {
			best = n;
			n = n->left;
		} else {
			n = n->right;
		}
	}
	return best;
}

static struct cmap_node *leftmost(struct cmap_node *n)
{
	while (n && n->left)
		n = n->left;
	return n;
}

struct cmap_node *cmap_tree_first(const struct cmap_tree *t)
{
	return leftmost(t->root);
}

struct cmap_node *cmap_tree_next(const struct cmap_node *n)
{
	if (n->right)
		return leftmost(n->right);
	while (n->parent && n->parent->right == n)
		n = n->parent;
	return n->parent;
}

void cmap_tree_insert(struct cmap_tree *t, struct cmap_node *n)
{
	struct cmap_node *parent = NULL, **link = &t->root;

	while (*link) {
		parent = *link;
		link = strcmp(n->key, parent->key) < 0 ? &parent->left : &parent->right;
	}
	n->parent = parent;
	n->left = n->right = NULL;
	n->height = 1;
	*link = n;
	t->count++;
	rebalance_upwards(t, parent);
}

/* Moves `successor` (the leftmost node of n's right subtree) into n's
 * place; returns the node from which heights must be repaired. */
static struct cmap_node *splice_successor(struct cmap_tree *t, struct cmap_node *n,
					  struct cmap_node *successor)
{
	struct cmap_node *repair_from;

	if (successor->parent == n) {
		repair_from = successor;
	} else {
		repair_from = successor->parent;
		replace_child(t, successor, successor->right);
		successor->right = n->right;
		successor->right->parent = successor;
	}
	replace_child(t, n, successor);
	successor->left = n->left;
	successor->left->parent = successor;
	return repair_from;
}

void cmap_tree_remove(struct cmap_tree *t, struct cmap_node *n)
{
	struct cmap_node *repair_from;

	if (!n->left || !n->right) {
		repair_from = n->parent;
		replace_child(t, n, n->left ? n->left : n->right);
	} else {
		repair_from = splice_successor(t, n, leftmost(n->right));
	}
	n->parent = n->left = n->right = NULL;
	t->count--;
	rebalance_upwards(t, repair_from);
}

static long check_subtree(const struct cmap_node *n, const struct cmap_node *parent, const char *low,
			  const char *high)
{
	long left, right;

	if (!n)
		return 0;
	if (n->parent != parent || (low && strcmp(n->key, low) <= 0) || (high && strcmp(n->key, high) >= 0))
		return -1;
	left = check_subtree(n->left, n, low, n->key);
	right = check_subtree(n->right, n, n->key, high);
	if (left < 0 || right < 0)
		return -1;
	if (n->height != (height(n->left) > height(n->right) ? height(n->left) : height(n->right)) + 1)
		return -1;
	if (balance(n) > 1 || balance(n) < -1)
		return -1;
	return left + right + 1;
}

long cmap_tree_check(const struct cmap_tree *t)
{
	long count = check_subtree(t->root, NULL, NULL, NULL);

	return count >= 0 && (size_t)count == t->count ? count : -1;
}
