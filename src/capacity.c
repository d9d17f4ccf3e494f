/* capacity.c - slots and a FIFO of waiting requests; see capacity.h. */
#include "capacity.h"

#include <assert.h>

void capacity_init(struct capacity *c)
{
	assert(c != NULL);
	c->head = c->tail = NULL;
	c->queued = 0;
	c->in_service = 0;
}

bool capacity_fits(const struct capacity *c, unsigned slots, unsigned limit)
{
	assert(c != NULL);
	return limit == 0 || c->in_service == 0 || c->in_service + (uint64_t)slots <= limit;
}

enum capacity_verdict capacity_arrive(struct capacity *c, struct capacity_node *n,
				      unsigned slots, unsigned limit,
				      unsigned queue_max, uint64_t now)
{
	assert(c != NULL && n != NULL && slots > 0 && !n->queued);
	n->slots = slots;
	if (c->head == NULL && capacity_fits(c, slots, limit)) {
		capacity_take(c, slots);
		return CAPACITY_START;
	}
	if (queue_max != CAPACITY_UNBOUNDED && c->queued >= queue_max)
		return CAPACITY_FULL;
	n->next = NULL;
	n->prev = c->tail;
	n->queued = true;
	n->since = now;
	if (c->tail != NULL)
		c->tail->next = n;
	else
		c->head = n;
	c->tail = n;
	c->queued++;
	return CAPACITY_QUEUED;
}

struct capacity_node *capacity_ready(const struct capacity *c, unsigned limit)
{
	assert(c != NULL);
	return c->head != NULL && capacity_fits(c, c->head->slots, limit) ? c->head : NULL;
}

bool capacity_remove(struct capacity *c, struct capacity_node *n)
{
	assert(c != NULL && n != NULL);
	if (!n->queued)
		return false;
	if (n->prev != NULL)
		n->prev->next = n->next;
	else
		c->head = n->next;
	if (n->next != NULL)
		n->next->prev = n->prev;
	else
		c->tail = n->prev;
	n->next = n->prev = NULL;
	n->queued = false;
	c->queued--;
	return true;
}

void capacity_take(struct capacity *c, unsigned slots)
{
	assert(c != NULL);
	c->in_service += slots;
}

void capacity_give(struct capacity *c, unsigned slots)
{
	assert(c != NULL && slots <= c->in_service);
	c->in_service -= slots;
}
