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
 * A rule may have a schedule: "at=50-60" (seconds since the set was put
 * in force) matches only in that window, "every=60" repeats it every
 * period, and "scale=5" or the ramp "scale=1..4" multiplies the delay
 * its requests get.  A rule's fault may be a weighted mix as --faults
 * takes it ("fault=status:503=0.2": a fifth of its requests).
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

/* What a matching rule says.  Its scale, which may change with time,
 * comes with the match (struct rule_hit). */
struct rule_effect {
	bool has_delay;
	struct delay_model delay;
	bool has_fault;          /* fault, or mix when mixed */
	struct fault fault;      /* every matched request's */
	bool mixed;
	struct fault_mix mix;    /* each fault's share; the rest none */
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

/* Most seconds for at= and every= (a year), and most for scale=. */
#define RULES_SECONDS_MAX 31536000u
#define RULES_SCALE_MAX 1000u

/* A new, empty set (reference count 1), or NULL when out of memory. */
struct rules *rules_create(void);

/* One field of a rule, its key and its whole value: `route` (/user or
 * /users), `ids` (13,100-199), `delay` (a delay model), `fault` (a
 * fault, or a mix "status:503=0.2,reset=0.1"), `retry-after` (seconds,
 * with a status fault), `times` and `after` (counts), `per` (id, client
 * or all: what is counted apart, id when not given), `at` (A-B, seconds
 * since the set was put in force, decimals allowed, A < B), `every` (P
 * seconds: at= is within each period, B <= P; only with at), `scale`
 * (X, or the ramp X..Y from X at A to Y at B: only with at; 0 to
 * RULES_SCALE_MAX, up to 3 decimals).  A value is taken whole, blanks
 * and all: it is never split. */
struct rule_field {
	const char *key;
	const char *value;
};

/* Append the rule made of `n` fields (at least one of delay, fault and
 * scale;
 * a key given twice adds to it for route and ids, and is refused for the
 * others; per needs times or after).  Only while the set is not shared yet.  Returns
 * true, or false with a message in err and the set unchanged. */
bool rules_add_fields(struct rules *r, const struct rule_field *fields, size_t n,
		      char *err, size_t errlen);

/* Append the rule in `text`: space-separated key=value words, each a
 * field as rules_add_fields() takes them, with the same result. */
bool rules_add(struct rules *r, const char *text, char *err, size_t errlen);

/* A new set (reference count 1) of the same rules as `r`, their counts
 * at zero and not started; their models' data (a samples: or
 * histogram: file's contents) shared, not read again.  NULL when r is
 * NULL or out of memory. */
struct rules *rules_copy(const struct rules *r);

/* The set is put in force at `now_ns` (CLOCK_MONOTONIC): at= and every=
 * count from there.  Only while the set is not shared yet (its counts
 * are zero then too).  A set never started counts from 0.  Takes NULL
 * (no rules). */
void rules_start(struct rules *r, uint64_t now_ns);

/* Take and drop a reference; the last rules_unref() frees the set.  Both
 * take NULL (no rules). */
struct rules *rules_ref(struct rules *r);
void rules_unref(struct rules *r);

/* The number of rules, and the i-th in its canonical text form (every
 * field as rules_add() reads it back, whole, in the order route, ids,
 * delay, fault, retry-after, times, after, per, at, every, scale; per
 * only when not id). */
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
	const char *at;     /* "50-60", "1.5-2"; NULL: always */
	const char *every;  /* "60" */
	const char *scale;  /* "5", "1..4" */
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

/* Is the i-th rule in its window at `now_ns` (CLOCK_MONOTONIC; always
 * for a rule without at=)?  Its scale then in *scale when scale is not
 * NULL (1 without scale=; a ramp's value in the window, X outside
 * it). */
bool rules_active(const struct rules *r, size_t i, uint64_t now_ns, double *scale);

/* The i-th rule's windows that overlap [from_ns, to_ns) (CLOCK_MONOTONIC),
 * in order, each cut to that span and to the set's start, into
 * out[0..max-1] (the last max when there are more); returns how many (0
 * for a rule without at=). */
struct rule_window {
	uint64_t from_ns, to_ns;
};
size_t rules_windows(const struct rules *r, size_t i, uint64_t from_ns, uint64_t to_ns,
		     struct rule_window *out, size_t max);

/* Which rule applied to a request, and the factor for its delay then. */
struct rule_hit {
	size_t index;
	double scale;       /* 1 for a rule without scale= */
};

/* The effect of the first rule that applies at `now_ns` (CLOCK_MONOTONIC)
 * to a request for `route` (RULES_ROUTE_*) and `id` from `client` (NULL:
 * unknown, one key), or NULL when none does (or r is NULL); its index and
 * scale in *hit when hit is not NULL.  A rule outside its window is
 * passed over as if it did not match: it counts nothing.  A counted rule
 * counts the request when it is in its window and its route and ids
 * match (thread-safe, once per call): so call it once per request and
 * id, when the request is dispatched.  A rule's delay model is not
 * clamped: the caller applies the scale, then --max-delay. */
const struct rule_effect *rules_apply(const struct rules *r, unsigned route, uint64_t id,
				      const struct sockaddr *client, uint64_t now_ns,
				      struct rule_hit *hit);

/* rules_apply() without a client or hit, at the set's start. */
const struct rule_effect *rules_match(const struct rules *r, unsigned route,
				      uint64_t id);

#endif
