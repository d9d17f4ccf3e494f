/* timerq.h - one shared deadline queue with its own timer thread.
 *
 * Entries are intrusive (embed a struct timerq_entry in your object) and
 * the queue is sized once, for as many entries as can be pending at once,
 * so adding never allocates.  A single thread sleeps until the
 * earliest deadline (plus the configured slack), detaches every entry whose
 * deadline has passed, and then fires their callbacks outside the lock, in
 * deadline order (equal deadlines in insertion order).  A callback may add
 * or cancel entries.
 *
 * Guarantee: a callback never runs before its deadline (CLOCK_MONOTONIC),
 * except when timerq_close() fires it early on purpose.  Slack trades
 * lateness for batching: with slack S the thread wakes at most S ns after
 * the earliest deadline, and fires everything due by then in one batch.
 *
 * Knows nothing of HTTP.
 */
#ifndef USERD_TIMERQ_H
#define USERD_TIMERQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heap.h"

typedef struct timerq timerq;

/* Why a callback runs. */
enum timerq_reason {
	TIMERQ_EXPIRED = 0, /* its deadline passed */
	TIMERQ_FLUSHED,     /* timerq_close() fired it, possibly early */
};

struct timerq_entry;

/* Called on the timer thread (or on the thread calling timerq_close) with
 * the clock reading taken just before the batch fired.  Once the callback
 * has handed the entry to another thread it must not touch it again: the
 * queue itself never touches an entry after its callback started. */
typedef void (*timerq_cb)(struct timerq_entry *entry, uint64_t now_ns,
			  enum timerq_reason reason);

struct timerq_entry {
	struct heap_node node;     /* private */
	struct timerq_entry *next; /* private: batch list while firing */
	timerq_cb cb;              /* private */
	bool pending;              /* private: in the heap */
};

/* Current CLOCK_MONOTONIC time in nanoseconds. */
uint64_t timerq_now(void);

/* Create a queue for at most `capacity` (> 0) pending entries and start
 * its thread.  Returns 0 and sets *out, or returns an errno value with
 * *out untouched and nothing left allocated. */
int timerq_create(timerq **out, uint64_t slack_ns, size_t capacity);

/* Change the slack; takes effect from the next sleep.  Thread-safe. */
void timerq_set_slack(timerq *q, uint64_t slack_ns);

/* Schedule `entry` to fire `cb` at `deadline_ns` (timerq_now() clock).
 * The entry must not be pending already (asserted).  A deadline in the
 * past fires on the next pass of the timer thread.  Returns true; false
 * once the queue is closed (timerq_close) or when `capacity` entries are
 * pending already, and then the entry is not pending and cb will never
 * run for it.  Allocates nothing; thread-safe. */
bool timerq_add(timerq *q, struct timerq_entry *entry, uint64_t deadline_ns,
		timerq_cb cb);

/* Remove a pending entry.  Returns true when it was pending (its callback
 * will not run), false when it had already been detached to fire (its
 * callback has run or is about to).  Thread-safe. */
bool timerq_cancel(timerq *q, struct timerq_entry *entry);

/* Close the queue: fire every pending entry now, on the calling thread,
 * with reason TIMERQ_FLUSHED, and refuse every later timerq_add().  After
 * it returns, once timerq_pending() is 0, no callback can run again.
 * Returns how many fired.  Idempotent; thread-safe. */
size_t timerq_close(timerq *q);

/* Entries not yet finished: pending ones plus those whose callbacks are
 * running right now.  Zero means no callback can still run unless new
 * entries are added.  Thread-safe. */
size_t timerq_pending(timerq *q);

/* Stop the thread and free the queue.  Entries still pending are dropped
 * without firing; their memory stays the caller's. */
void timerq_destroy(timerq *q);

#endif
