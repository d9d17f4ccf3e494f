/* heap.h - intrusive binary min-heap.
 *
 * Nodes live inside the caller's structures (see heap_entry() to get the
 * owner back), so inserting never allocates and cannot fail.  The heap is a
 * pointer-linked complete binary tree (after libuv's heap-inl.h): insert,
 * remove of any node and pop are O(log n).
 *
 * Nodes are ordered by (key, seq): seq is assigned on insert from a counter,
 * so nodes with equal keys come out in insertion order.
 *
 * No clock, no threads, no locking: callers serialise access.
 */
#ifndef USERD_HEAP_H
#define USERD_HEAP_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct heap_node {
	struct heap_node *left;
	struct heap_node *right;
	struct heap_node *parent;
	uint64_t key;
	uint64_t seq;
};

struct heap {
	struct heap_node *min;
	size_t count;
	uint64_t next_seq;
};

/* The structure that embeds `node` as `member`. */
#define heap_entry(node, type, member) container_of(node, type, member)

/* Make `h` an empty heap. */
void heap_init(struct heap *h);

/* The node with the smallest (key, seq), or NULL when empty.  O(1). */
static inline struct heap_node *heap_min(const struct heap *h)
{
	return h->min;
}

/* Number of nodes in the heap.  O(1). */
static inline size_t heap_count(const struct heap *h)
{
	return h->count;
}

/* Insert `node` with `key`.  The node must not already be in a heap.
 * Never fails. */
void heap_insert(struct heap *h, struct heap_node *node, uint64_t key);

/* Remove `node`, which must be in `h` (asserted).  Never fails. */
void heap_remove(struct heap *h, struct heap_node *node);

/* Remove and return the minimum, or NULL when empty. */
struct heap_node *heap_pop(struct heap *h);

/* Check every invariant (shape, order, parent links, count); returns 0 when
 * they hold, -1 otherwise.  O(n): for tests and debug builds. */
int heap_validate(const struct heap *h);

#endif
