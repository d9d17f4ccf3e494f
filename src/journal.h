/* journal.h - the last requests userd answered, for a test to verify
 * what its client did (how often it retried, how far apart, what it got).
 *
 * A bounded ring of fixed-size entries: adding one past the capacity
 * drops the oldest added.  Threads add finished requests one at a time,
 * under one short lock (a copy of one entry); readers filter and copy
 * under the same lock.  Entries are added as requests finish, which is
 * not the order they arrived in (a short request overtakes a long one,
 * and two threads finish in either order): each carries the number the
 * caller gave it on arrival, and readers get entries in that order.
 * Knows no HTTP: the caller fills the entries.
 */
#ifndef USERD_JOURNAL_H
#define USERD_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Most bytes of a path, query or id list kept (with the NUL); longer ones
 * are cut and the entry says so. */
#define JOURNAL_TEXT_MAX 128

/* Most entries; and the bytes one takes (the ring is capacity entries). */
#define JOURNAL_MAX 1000000u
#define JOURNAL_ENTRY_BYTES 640u

/* One finished request. */
struct journal_entry {
	uint64_t seq;                    /* the caller's: its number in the */
					 /* order requests arrived */
	int64_t arrived_us, answered_us; /* Unix time, microseconds */
	uint64_t delay_us;               /* the delay drawn */
	bool queued;                     /* it went through --capacity: */
	uint64_t queue_wait_us;          /* ... its wait for a slot */
	uint64_t bytes;                  /* body bytes sent */
	unsigned status;                 /* 0: none sent (a transport fault) */
	int rule;                        /* the rule that applied; -1: none */
	unsigned port;                   /* the client's */
	bool cut;                        /* a text below was cut to fit */
	char method[12];
	char client[48];                 /* the client's address */
	char fault[24];                  /* as --faults writes it; "": none */
	char path[JOURNAL_TEXT_MAX];
	char query[JOURNAL_TEXT_MAX];    /* "k=v&k=v", decoded; "": none */
	char ids[JOURNAL_TEXT_MAX];      /* "7" or "1,2,3"; "": none */
};

/* Which entries a reader wants: each condition unset matches all. */
struct journal_filter {
	const char *route;   /* "/user": path /user or /user/...; NULL: any */
	bool has_id;
	uint64_t id;         /* one of the entry's ids */
	unsigned status;     /* 0: any */
	const char *fault;   /* "reset", "status:503", a kind ("status") or
			      * "none"; NULL: any */
	bool has_since;
	int64_t since_us;    /* arrived at or after (Unix time, us) */
	size_t limit;        /* the last this many to arrive; 0: all */
};

struct journal;

/* A journal of the last `capacity` requests (1 to JOURNAL_MAX), or NULL
 * when out of memory.  The ring is allocated whole now. */
struct journal *journal_create(size_t capacity);
void journal_destroy(struct journal *j);

/* Add `e` (copied), dropping the oldest added when full.  Thread-safe. */
void journal_add(struct journal *j, const struct journal_entry *e);

/* Forget every entry.  Thread-safe. */
void journal_clear(struct journal *j);

/* The entries `f` matches in the order they arrived (by seq; the last
 * f->limit of them when it is set): a malloc'd array in *out (NULL when
 * there are none) and its length in *n; the count of all matching
 * entries (limit aside) in *total.  False when out of memory (nothing
 * allocated).  out may be NULL to count only. */
bool journal_query(struct journal *j, const struct journal_filter *f,
		   struct journal_entry **out, size_t *n, size_t *total);

/* Does `e` match `f`?  Pure: for the tests. */
bool journal_matches(const struct journal_entry *e, const struct journal_filter *f);

#endif
