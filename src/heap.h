/* heap.h - intrusive 4-ary min-heap in one array.
 *
 * Nodes live inside the caller's structures (see heap_entry() to get the
 * owner back); the heap keeps an array of (key, node) slots, sized once
 * by heap_init(), so inserting never allocates.  Comparisons read only
 * the array, never the nodes: a pop over 10,000 deadlines touches a few
 * cache lines of one array instead of a node per level (the pointer-
 * linked tree this replaced spent most of its time in those misses).
 * Four children per slot halve the depth of a binary heap.  Insert,
 * remove of any node and pop are O(log n).
 *
 * Nodes are ordered by (key, seq): seq is assigned on insert from a
 * counter, so nodes with equal keys come out in insertion order.
 *
 * No clock, no threads, no locking: callers serialise access.
 */
#ifndef USERD_HEAP_H
#define USERD_HEAP_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct heap_node {
	size_t index; /* private: its slot */
	uint64_t seq; /* private: insertion order, for ties */
};

struct heap_slot {
	uint64_t key;
	struct heap_node *node;
};

struct heap {
	struct heap_slot *slots;
	size_t count;
	size_t capacity;
	uint64_t next_seq;
};

/* The structure that embeds `node` as `member`. */
#define heap_entry(node, type, member) container_of(node, type, member)

/* Make `h` an empty heap with room for `capacity` (> 0) nodes.  Returns 0,
 * or ENOMEM with nothing allocated. */
int heap_init(struct heap *h, size_t capacity);

/* Free the slots.  The nodes stay the caller's. */
void heap_destroy(struct heap *h);

/* The node with the smallest (key, seq), or NULL when empty.  O(1). */
static inline struct heap_node *heap_min(const struct heap *h)
{
	return h->count > 0 ? h->slots[0].node : NULL;
}

/* The key of heap_min(), which must exist (asserted).  O(1). */
static inline uint64_t heap_min_key(const struct heap *h)
{
	assert(h->count > 0);
	return h->slots[0].key;
}

/* Number of nodes in the heap.  O(1). */
static inline size_t heap_count(const struct heap *h)
{
	return h->count;
}

/* Insert `node` with `key`.  The node must not already be in a heap.
 * Returns false, changing nothing, when the heap holds `capacity` nodes
 * already. */
bool heap_insert(struct heap *h, struct heap_node *node, uint64_t key);

/* Remove `node`, which must be in `h` (asserted).  Never fails. */
void heap_remove(struct heap *h, struct heap_node *node);

/* Remove and return the minimum, or NULL when empty. */
struct heap_node *heap_pop(struct heap *h);

/* Check every invariant (order, each node's slot, count within
 * capacity); returns 0 when they hold, -1 otherwise.  O(n): for tests
 * and debug builds. */
int heap_validate(const struct heap *h);

#endif
