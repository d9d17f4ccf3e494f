/* heap.c - intrusive binary min-heap; see heap.h.
 *
 * The tree is complete: node number k (1-based, breadth-first) is reached
 * from the root by following the bits of k below its top bit, 0 = left,
 * 1 = right.  That finds the insertion point (count + 1) and the last node
 * (count) in O(log n) without an array.
 */
#include "heap.h"

#include <assert.h>

#include <stdbool.h>

static bool node_less(const struct heap_node *a, const struct heap_node *b)
{
	if (a->key != b->key)
		return a->key < b->key;
	return a->seq < b->seq;
}

/* Point `node`'s children back at it. */
static void adopt_children(struct heap_node *node)
{
	if (node->left != NULL)
		node->left->parent = node;
	if (node->right != NULL)
		node->right->parent = node;
}

/* Put `node` where `old` hung from `parent` (NULL: at the root). */
static void take_place(struct heap *h, struct heap_node *parent,
		       const struct heap_node *old, struct heap_node *node)
{
	if (parent == NULL)
		h->min = node;
	else if (parent->left == old)
		parent->left = node;
	else
		parent->right = node;
}

/* Exchange `child` with its parent `parent`, fixing every link. */
static void swap_with_parent(struct heap *h, struct heap_node *parent,
			     struct heap_node *child)
{
	struct heap_node *sibling;
	struct heap_node tmp;

	tmp = *parent;
	*parent = *child;
	*child = tmp;
	/* Keys and seqs travelled with the copies; swap them back so each
	 * node keeps its own. */
	tmp.key = parent->key;
	tmp.seq = parent->seq;
	parent->key = child->key;
	parent->seq = child->seq;
	child->key = tmp.key;
	child->seq = tmp.seq;

	parent->parent = child;
	if (child->left == child) {
		child->left = parent;
		sibling = child->right;
	} else {
		child->right = parent;
		sibling = child->left;
	}
	if (sibling != NULL)
		sibling->parent = child;
	adopt_children(parent);
	take_place(h, child->parent, parent, child);
}

/* Move `node` up while it is smaller than its parent. */
static void sift_up(struct heap *h, struct heap_node *node)
{
	while (node->parent != NULL && node_less(node, node->parent))
		swap_with_parent(h, node->parent, node);
}

/* Move `node` down while a child is smaller than it. */
static void sift_down(struct heap *h, struct heap_node *node)
{
	for (;;) {
		struct heap_node *smallest = node;

		if (node->left != NULL && node_less(node->left, smallest))
			smallest = node->left;
		if (node->right != NULL && node_less(node->right, smallest))
			smallest = node->right;
		if (smallest == node)
			return;
		swap_with_parent(h, node, smallest);
	}
}

/* The link that holds (or will hold) node number `n`, and its parent. */
static struct heap_node **find_slot(struct heap *h, size_t n,
				    struct heap_node **parent)
{
	struct heap_node **slot = &h->min;
	size_t path = 0;
	unsigned depth = 0;

	*parent = NULL;
	/* Reverse the bits of n below its top bit into `path`. */
	while (n >= 2) {
		path = (path << 1) | (n & 1);
		n >>= 1;
		depth++;
	}
	while (depth-- > 0) {
		*parent = *slot;
		slot = (path & 1) ? &(*slot)->right : &(*slot)->left;
		path >>= 1;
	}
	return slot;
}

void heap_init(struct heap *h)
{
	h->min = NULL;
	h->count = 0;
	h->next_seq = 0;
}

void heap_insert(struct heap *h, struct heap_node *node, uint64_t key)
{
	struct heap_node *parent;
	struct heap_node **slot;

	node->left = NULL;
	node->right = NULL;
	node->key = key;
	node->seq = h->next_seq++;

	slot = find_slot(h, h->count + 1, &parent);
	node->parent = parent;
	*slot = node;
	h->count++;
	sift_up(h, node);
}

/* Is `node` in `h`?  Its parent links lead to h's root.  O(log n). */
static bool heap_contains(const struct heap *h, const struct heap_node *node)
{
	while (node->parent != NULL)
		node = node->parent;
	return node == h->min;
}

void heap_remove(struct heap *h, struct heap_node *node)
{
	struct heap_node *last;
	struct heap_node *parent;
	struct heap_node **slot;

	assert(h->count > 0 && heap_contains(h, node));
	if (h->count == 0)
		return;

	/* Detach the last node of the tree; it will fill `node`'s place. */
	slot = find_slot(h, h->count, &parent);
	last = *slot;
	*slot = NULL;
	h->count--;

	if (last == node)
		return;

	/* Put `last` where `node` was. */
	last->left = node->left;
	last->right = node->right;
	last->parent = node->parent;
	adopt_children(last);
	take_place(h, node->parent, node, last);

	/* It may belong above or below that place. */
	sift_down(h, last);
	sift_up(h, last);
}

struct heap_node *heap_pop(struct heap *h)
{
	struct heap_node *min = h->min;

	if (min != NULL)
		heap_remove(h, min);
	return min;
}

/* Validate the subtree at `node`, counting its nodes into *count. */
static int validate_node(const struct heap_node *node, size_t *count)
{
	const struct heap_node *kids[2] = {node->left, node->right};

	(*count)++;
	for (int i = 0; i < 2; i++) {
		if (kids[i] == NULL)
			continue;
		if (kids[i]->parent != node || node_less(kids[i], node))
			return -1;
		if (validate_node(kids[i], count) != 0)
			return -1;
	}
	/* Complete-tree shape: no right child without a left one. */
	if (node->left == NULL && node->right != NULL)
		return -1;
	return 0;
}

int heap_validate(const struct heap *h)
{
	struct heap copy = *h;
	size_t count = 0;
	struct heap_node *parent;

	if (h->min == NULL)
		return h->count == 0 ? 0 : -1;
	if (h->min->parent != NULL || validate_node(h->min, &count) != 0)
		return -1;
	if (count != h->count)
		return -1;
	/* The last node must be where the breadth-first numbering says. */
	if (*find_slot(&copy, h->count, &parent) == NULL)
		return -1;
	return 0;
}
