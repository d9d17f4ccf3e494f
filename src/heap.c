/* heap.c - intrusive 4-ary min-heap in one array; see heap.h.
 *
 * Slot i's children are 4i+1 .. 4i+4, its parent (i-1)/4.  Every move of
 * a slot writes its node's index, so a node always knows where it is and
 * can be removed from the middle.
 */
#include "heap.h"

#include <errno.h>
#include <stdlib.h>

#define ARITY 4

/* Does slot a come before slot b?  Equal keys (rare: deadlines are in
 * nanoseconds) fall back to insertion order. */
static bool slot_less(const struct heap_slot *a, const struct heap_slot *b)
{
	if (a->key != b->key)
		return a->key < b->key;
	return a->node->seq < b->node->seq;
}

/* Put `s` in slot i. */
static void place(struct heap *h, size_t i, struct heap_slot s)
{
	h->slots[i] = s;
	s.node->index = i;
}

/* Move `s`, destined for slot i, up past every parent it precedes;
 * returns where it lands. */
static size_t sift_up(struct heap *h, size_t i, struct heap_slot s)
{
	while (i > 0) {
		size_t parent = (i - 1) / ARITY;

		if (!slot_less(&s, &h->slots[parent]))
			break;
		place(h, i, h->slots[parent]);
		i = parent;
	}
	place(h, i, s);
	return i;
}

/* Move `s`, destined for slot i, down past every child that precedes
 * it. */
static void sift_down(struct heap *h, size_t i, struct heap_slot s)
{
	for (;;) {
		size_t first = i * ARITY + 1;
		size_t end = first + ARITY < h->count ? first + ARITY : h->count;
		size_t best = i;
		const struct heap_slot *best_slot = &s;

		for (size_t c = first; c < end; c++) {
			if (slot_less(&h->slots[c], best_slot)) {
				best = c;
				best_slot = &h->slots[c];
			}
		}
		if (best == i)
			break;
		place(h, i, h->slots[best]);
		i = best;
	}
	place(h, i, s);
}

int heap_init(struct heap *h, size_t capacity)
{
	assert(capacity > 0);
	h->slots = malloc(capacity * sizeof(*h->slots));
	if (h->slots == NULL)
		return ENOMEM;
	h->count = 0;
	h->capacity = capacity;
	h->next_seq = 0;
	return 0;
}

void heap_destroy(struct heap *h)
{
	free(h->slots);
	h->slots = NULL;
	h->count = 0;
	h->capacity = 0;
}

bool heap_insert(struct heap *h, struct heap_node *node, uint64_t key)
{
	struct heap_slot s = {.key = key, .node = node};

	if (h->count == h->capacity)
		return false;
	node->seq = h->next_seq++;
	sift_up(h, h->count++, s);
	return true;
}

void heap_remove(struct heap *h, struct heap_node *node)
{
	size_t i = node->index;
	struct heap_slot last;

	assert(i < h->count && h->slots[i].node == node);
	if (i >= h->count || h->slots[i].node != node)
		return;

	/* The last slot fills the hole; it may belong above or below it. */
	last = h->slots[--h->count];
	if (i == h->count)
		return;
	if (sift_up(h, i, last) == i)
		sift_down(h, i, last);
}

struct heap_node *heap_pop(struct heap *h)
{
	struct heap_node *min = heap_min(h);

	if (min != NULL)
		heap_remove(h, min);
	return min;
}

int heap_validate(const struct heap *h)
{
	if (h->count > h->capacity || (h->count > 0 && h->slots == NULL))
		return -1;
	for (size_t i = 0; i < h->count; i++) {
		if (h->slots[i].node == NULL || h->slots[i].node->index != i)
			return -1;
		if (i > 0 && slot_less(&h->slots[i], &h->slots[(i - 1) / ARITY]))
			return -1;
	}
	return 0;
}
