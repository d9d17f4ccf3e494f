/* rules.h - per-request overrides of the delay model and faults.
 *
 * A rule matches a route and/or ids ("route=/user ids=13,100-199") and
 * says which delay model and/or fault those requests get ("delay=fixed:5000
 * fault=reset").  The first rule that matches wins; a request that no rule
 * matches gets the settings.  So a test can say "user 13 is always 5 s
 * late" or "ids 100-199 are reset" in one line (config file, --rule) or
 * one call (the control API's PUT /rules).
 *
 * A rule set is immutable once built and shared by counted reference, so
 * a request keeps the set it started with while a new one is put in
 * place.  Pure otherwise: no I/O, no HTTP library.
 */
#ifndef USERD_RULES_H
#define USERD_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
};

struct rules;

/* Most rules in a set, and most id ranges in one rule. */
#define RULES_MAX 256
#define RULES_MAX_RANGES 64

/* A new, empty set (reference count 1), or NULL when out of memory. */
struct rules *rules_create(void);

/* One field of a rule, its key and its whole value: `route` (/user or
 * /users), `ids` (13,100-199), `delay` (a delay model) or `fault` (a
 * fault).  A value is taken whole, blanks and all: it is never split. */
struct rule_field {
	const char *key;
	const char *value;
};

/* Append the rule made of `n` fields (at least one of delay and fault;
 * a key given twice adds to it for route and ids, and is refused for
 * delay and fault).  Only while the set is not shared yet.  Returns
 * true, or false with a message in err and the set unchanged. */
bool rules_add_fields(struct rules *r, const struct rule_field *fields, size_t n,
		      char *err, size_t errlen);

/* Append the rule in `text`: space-separated key=value words, each a
 * field as rules_add_fields() takes them, with the same result. */
bool rules_add(struct rules *r, const char *text, char *err, size_t errlen);

/* Take and drop a reference; the last rules_unref() frees the set.  Both
 * take NULL (no rules). */
struct rules *rules_ref(struct rules *r);
void rules_unref(struct rules *r);

/* The number of rules, and the i-th in its canonical text form (every
 * field as rules_add() reads it back, whole, in the order route, ids,
 * delay, fault). */
size_t rules_count(const struct rules *r);
const char *rules_text(const struct rules *r, size_t i);

/* The i-th rule's fields in canonical form, each NULL when the rule does
 * not have it; valid as long as the set is. */
struct rule_parts {
	const char *route;  /* "/user" or "/users"; NULL: both */
	const char *ids;    /* "13,100-199"; NULL: any id */
	const char *delay;  /* "fixed:5000" */
	const char *fault;  /* "reset" */
};
void rules_parts(const struct rules *r, size_t i, struct rule_parts *out);

/* Do `a` and `b` hold the same rules, in the same order?  Either may be
 * NULL (no rules). */
bool rules_equal(const struct rules *a, const struct rules *b);

/* The effect of the first rule matching `route` (RULES_ROUTE_*) and `id`,
 * or NULL when none does (or r is NULL).  A rule's delay model is not
 * clamped: the caller applies --max-delay. */
const struct rule_effect *rules_match(const struct rules *r, unsigned route,
				      uint64_t id);

#endif
