/* rules.h - per-request overrides of the delay model and faults.
 *
 * A rule matches a route and/or ids ("route=/user ids=13,100-199") and
 * says which delay model and/or fault those requests get ("delay=fixed:5000
 * fault=reset").  The first rule that matches wins; a request that no rule
 * matches gets the settings.  So a test can say "user 13 is always 5 s
 * late" or "ids 100-199 are reset" in one line (config file, --rule) or
 * one call (the control API's PUT /rules).
 *
 * A rule may count the requests it matches ("times=2": only the first
 * two; "after=3": from the fourth on), per user id, per client address
 * or all together, so a test can say "user 7 fails twice, then answers".
 *
 * A rule set is immutable once built and shared by counted reference, so
 * a request keeps the set it started with while a new one is put in
 * place; its only mutable part is its rules' counts, which start at zero
 * with the set and are thread-safe.  Pure otherwise: no I/O, no HTTP
 * library.
 */
#ifndef USERD_RULES_H
#define USERD_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#include "delay.h"
#include "fault.h"

/* The routes a rule can name. */
enum {
	RULES_ROUTE_USER = 1 << 0,  /* /user/<id> */
	RULES_ROUTE_USERS = 1 << 1, /* /users?ids= (each id on its own) */
};

/* What a matching rule says. */
struct rule_effect {
	bool has_delay;
	struct delay_model delay;
	bool has_fault;
	struct fault fault;
	unsigned retry_after_s;  /* 0, or Retry-After for a status fault */
};

struct rules;

/* Most rules in a set, and most id ranges in one rule. */
#define RULES_MAX 256
#define RULES_MAX_RANGES 64

/* Most ids (per=id) or client addresses (per=client) one counted rule
 * tells apart; a request with a key past them is not matched by the rule
 * (and counted as untracked).  Each such rule takes at most
 * RULES_COUNT_KEYS * 2 slots of 32 bytes (64 KiB), allocated at its first
 * match. */
#define RULES_COUNT_KEYS 1024

/* Most for times=, after= and retry-after=. */
#define RULES_TIMES_MAX 1000000000u
#define RULES_RETRY_AFTER_MAX 86400u

/* A new, empty set (reference count 1), or NULL when out of memory. */
struct rules *rules_create(void);

/* One field of a rule, its key and its whole value: `route` (/user or
 * /users), `ids` (13,100-199), `delay` (a delay model), `fault` (a
 * fault), `retry-after` (seconds, with a status fault), `times` and
 * `after` (counts), `per` (id, client or all: what is counted apart, id
 * when not given).  A value is taken whole, blanks and all: it is never
 * split. */
struct rule_field {
	const char *key;
	const char *value;
};

/* Append the rule made of `n` fields (at least one of delay and fault;
 * a key given twice adds to it for route and ids, and is refused for the
 * others; per needs times or after).  Only while the set is not shared yet.  Returns
 * true, or false with a message in err and the set unchanged. */
bool rules_add_fields(struct rules *r, const struct rule_field *fields, size_t n,
		      char *err, size_t errlen);

/* Append the rule in `text`: space-separated key=value words, each a
 * field as rules_add_fields() takes them, with the same result. */
bool rules_add(struct rules *r, const char *text, char *err, size_t errlen);

/* A new set (reference count 1) of the same rules as `r`, their counts
 * at zero; NULL when r is NULL or out of memory. */
struct rules *rules_copy(const struct rules *r);

/* Take and drop a reference; the last rules_unref() frees the set.  Both
 * take NULL (no rules). */
struct rules *rules_ref(struct rules *r);
void rules_unref(struct rules *r);

/* The number of rules, and the i-th in its canonical text form (every
 * field as rules_add() reads it back, whole, in the order route, ids,
 * delay, fault, retry-after, times, after, per; per only when not id). */
size_t rules_count(const struct rules *r);
const char *rules_text(const struct rules *r, size_t i);

/* The i-th rule's fields in canonical form, each NULL when the rule does
 * not have it; valid as long as the set is. */
struct rule_parts {
	const char *route;  /* "/user" or "/users"; NULL: both */
	const char *ids;    /* "13,100-199"; NULL: any id */
	const char *delay;  /* "fixed:5000" */
	const char *fault;  /* "reset" */
	const char *retry_after; /* "2" */
	const char *times;  /* "2" */
	const char *after;  /* "3" */
	const char *per;    /* "client" or "all"; NULL: id (or not counted) */
};
void rules_parts(const struct rules *r, size_t i, struct rule_parts *out);

/* Do `a` and `b` hold the same rules, in the same order?  Either may be
 * NULL (no rules). */
bool rules_equal(const struct rules *a, const struct rules *b);

/* What the i-th rule has counted since the set was made: every request
 * that reached it and matched its route and ids (`matches`), how many
 * ids or clients it tells apart (`keys`, 0 for per=all) and how many
 * requests had a key past RULES_COUNT_KEYS (`untracked`).  `counted` is
 * false for a rule without times or after (the rest is then 0). */
struct rule_counts {
	bool counted;
	uint64_t matches, keys, untracked;
};
void rules_counts(const struct rules *r, size_t i, struct rule_counts *out);

/* The effect of the first rule that applies to a request for `route`
 * (RULES_ROUTE_*) and `id` from `client` (NULL: unknown, one key), or
 * NULL when none does (or r is NULL); its index in *index when index is
 * not NULL.  A counted rule counts the request when its route and ids
 * match (thread-safe, once per call): so call it once per request and
 * id, when the request is dispatched.  A rule's delay model is not
 * clamped: the caller applies --max-delay. */
const struct rule_effect *rules_apply(const struct rules *r, unsigned route, uint64_t id,
				      const struct sockaddr *client, size_t *index);

/* rules_apply() without a client or index. */
const struct rule_effect *rules_match(const struct rules *r, unsigned route,
				      uint64_t id);

#endif
