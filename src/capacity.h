/* capacity.h - a backend's slots and the FIFO of requests waiting for one.
 *
 * At most `limit` slots are in use at once (0: no limit); a request that
 * arrives when too few are free waits in a first-in first-out queue of at
 * most `queue_max` entries, or is turned away.  A request takes `slots`
 * slots (a batch of k ids takes k); one that takes more than the limit
 * waits until every slot is free and then runs alone.
 *
 * Entries are intrusive (embed a struct capacity_node), so nothing
 * allocates.  The queue is not thread-safe: its user serializes every
 * call (exchange.c holds one mutex around it).  Knows nothing of HTTP or
 * clocks: times are the caller's numbers.
 */
#ifndef USERD_CAPACITY_H
#define USERD_CAPACITY_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* --queue's default: no bound on the waiting room. */
#define CAPACITY_UNBOUNDED UINT_MAX

struct capacity_node {
	struct capacity_node *next, *prev; /* private */
	bool queued;                /* private: in the FIFO */
	unsigned slots;             /* set by capacity_arrive */
	uint64_t since;             /* when it was queued, the caller's clock */
};

struct capacity {
	struct capacity_node *head, *tail; /* private */
	size_t queued;                     /* read-only: the FIFO's length */
	unsigned in_service;               /* read-only: slots taken */
};

/* What became of an arrival. */
enum capacity_verdict {
	CAPACITY_START = 0, /* its slots are taken: serve it now */
	CAPACITY_QUEUED,    /* it waits in the FIFO */
	CAPACITY_FULL,      /* the FIFO is full: turn it away */
};

/* An empty queue with every slot free. */
void capacity_init(struct capacity *c);

/* Would `slots` slots fit now under `limit` (0: no limit)?  A request
 * that takes more than the limit fits only when nothing is in service. */
bool capacity_fits(const struct capacity *c, unsigned slots, unsigned limit);

/* A request `n` (not queued) that takes `slots` (> 0) arrives at `now`:
 * it takes its slots when they fit and nobody waits before it
 * (CAPACITY_START), or joins the FIFO's tail when fewer than `queue_max`
 * wait (CAPACITY_QUEUED, n->since = now), or is refused (CAPACITY_FULL,
 * the queue unchanged). */
enum capacity_verdict capacity_arrive(struct capacity *c, struct capacity_node *n,
				      unsigned slots, unsigned limit,
				      unsigned queue_max, uint64_t now);

/* The FIFO's head when its slots fit under `limit`, else NULL (the head
 * stays first: nobody overtakes it).  Nothing changes. */
struct capacity_node *capacity_ready(const struct capacity *c, unsigned limit);

/* Take a queued node out of the FIFO, wherever it is (in constant time) (its wait is over:
 * started, timed out, flushed, or its client left).  Returns false, and
 * changes nothing, when it is not queued. */
bool capacity_remove(struct capacity *c, struct capacity_node *n);

/* Take and give back `slots` slots (a node started after waiting; a
 * service that ended).  Giving back more than are taken is asserted. */
void capacity_take(struct capacity *c, unsigned slots);
void capacity_give(struct capacity *c, unsigned slots);

#endif
