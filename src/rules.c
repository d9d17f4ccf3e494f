/* rules.c - per-request overrides; see rules.h. */
#include "rules.h"

#include <assert.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "user.h"

struct id_range {
	uint64_t lo, hi;
};

struct rule {
	unsigned routes;             /* RULES_ROUTE_*; 0: any */
	size_t nranges;              /* 0: any id */
	struct id_range ranges[RULES_MAX_RANGES];
	struct rule_effect effect;
	struct rule_parts parts;     /* canonical, pointing into text */
	char *text;                  /* canonical form, malloc'd */
};

struct rules {
	_Atomic unsigned refs;
	size_t n;
	struct rule *rule;
};

struct rules *rules_create(void)
{
	struct rules *r = calloc(1, sizeof(*r));

	if (r != NULL)
		atomic_init(&r->refs, 1);
	return r;
}

struct rules *rules_ref(struct rules *r)
{
	if (r != NULL)
		atomic_fetch_add(&r->refs, 1);
	return r;
}

void rules_unref(struct rules *r)
{
	if (r == NULL || atomic_fetch_sub(&r->refs, 1) != 1)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->rule[i].text);
		delay_model_unref(&r->rule[i].effect.delay);
	}
	free(r->rule);
	free(r);
}

size_t rules_count(const struct rules *r)
{
	return r != NULL ? r->n : 0;
}

const char *rules_text(const struct rules *r, size_t i)
{
	assert(r != NULL && i < r->n);
	return r->rule[i].text;
}

void rules_parts(const struct rules *r, size_t i, struct rule_parts *out)
{
	assert(r != NULL && i < r->n);
	*out = r->rule[i].parts;
}

bool rules_equal(const struct rules *a, const struct rules *b)
{
	if (rules_count(a) != rules_count(b))
		return false;
	for (size_t i = 0; i < rules_count(a); i++)
		if (strcmp(rules_text(a, i), rules_text(b, i)) != 0)
			return false;
	return true;
}

/* "13" or "100-199" into *out. */
static bool parse_range(const char *s, size_t len, struct id_range *out)
{
	const char *dash = memchr(s, '-', len);

	if (dash == NULL) {
		if (!user_parse_id(s, len, &out->lo))
			return false;
		out->hi = out->lo;
		return true;
	}
	return user_parse_id(s, (size_t)(dash - s), &out->lo) &&
	       user_parse_id(dash + 1, len - (size_t)(dash - s) - 1, &out->hi) &&
	       out->lo <= out->hi;
}

static bool parse_ids(struct rule *rule, const char *v, size_t len, char *err,
		      size_t errlen)
{
	size_t start = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && v[i] != ',')
			continue;
		if (rule->nranges == RULES_MAX_RANGES) {
			snprintf(err, errlen, "ids: at most %d ids or ranges", RULES_MAX_RANGES);
			return false;
		}
		if (!parse_range(v + start, i - start, &rule->ranges[rule->nranges])) {
			snprintf(err, errlen, "ids: '%.*s' is not an id or a range LOW-HIGH",
				 (int)(i - start < 40 ? i - start : 40), v + start);
			return false;
		}
		rule->nranges++;
		start = i + 1;
	}
	return true;
}

/* One field of a rule, its value whole (NUL-terminated). */
static bool parse_field(struct rule *rule, const char *key, const char *value, char *err,
			size_t errlen)
{
	char msg[192];

	if (*value == '\0') {
		snprintf(err, errlen, "%.40s: a value is required", key);
		return false;
	}
	if (strcmp(key, "route") == 0) {
		if (strcmp(value, "/user") == 0 || strcmp(value, "/user/") == 0)
			rule->routes |= RULES_ROUTE_USER;
		else if (strcmp(value, "/users") == 0)
			rule->routes |= RULES_ROUTE_USERS;
		else {
			snprintf(err, errlen, "route: '%.40s' is not /user or /users", value);
			return false;
		}
		return true;
	}
	if (strcmp(key, "ids") == 0)
		return parse_ids(rule, value, strlen(value), err, errlen);
	if (strcmp(key, "delay") == 0) {
		if (rule->effect.has_delay) {
			snprintf(err, errlen, "delay: given twice");
			return false;
		}
		rule->effect.delay.clamp_ms = DELAY_LIMIT_MS;
		if (!delay_model_parse(value, &rule->effect.delay, msg, sizeof(msg))) {
			snprintf(err, errlen, "delay: %s", msg);
			return false;
		}
		rule->effect.has_delay = true;
		return true;
	}
	if (strcmp(key, "fault") == 0) {
		if (rule->effect.has_fault) {
			snprintf(err, errlen, "fault: given twice");
			return false;
		}
		if (!fault_parse(value, strlen(value), &rule->effect.fault, msg, sizeof(msg))) {
			snprintf(err, errlen, "%s", msg);
			return false;
		}
		rule->effect.has_fault = true;
		return true;
	}
	snprintf(err, errlen, "unknown key '%.40s': route, ids, delay or fault", key);
	return false;
}

/* Append `s` (with its NUL) at *at in `block`; returns where it went. */
static const char *put(char *block, size_t *at, const char *s)
{
	char *where = block + *at;

	memcpy(where, s, strlen(s) + 1);
	*at += strlen(s) + 1;
	return where;
}

/* Make the rule's canonical text and parts, in one malloc'd block at
 * rule->text: the text "route=R ids=I delay=D fault=F" (the fields it
 * has), then each part's value.  False when out of memory. */
static bool canonical(struct rule *rule)
{
	static const char *const keys[] = {"route", "ids", "delay", "fault"};
	/* ids the longest: RULES_MAX_RANGES ranges of two 20-digit ids. */
	char route[8] = "", delay[DELAY_TEXT_MAX] = "", fault[FAULT_TEXT_MAX] = "";
	char ids[RULES_MAX_RANGES * 42 + 1] = "";
	const char *values[] = {route, ids, delay, fault};
	const char **parts[] = {&rule->parts.route, &rule->parts.ids, &rule->parts.delay,
				&rule->parts.fault};
	size_t used = 0, size = 0, at = 0;
	char *block;

	if (rule->routes == RULES_ROUTE_USER)
		snprintf(route, sizeof(route), "/user");
	else if (rule->routes == RULES_ROUTE_USERS)
		snprintf(route, sizeof(route), "/users");
	for (size_t i = 0; i < rule->nranges; i++) {
		const struct id_range *g = &rule->ranges[i];

		used += (size_t)snprintf(ids + used, sizeof(ids) - used, "%s%" PRIu64,
					 i > 0 ? "," : "", g->lo);
		if (g->hi != g->lo)
			used += (size_t)snprintf(ids + used, sizeof(ids) - used, "-%" PRIu64,
						 g->hi);
		assert(used < sizeof(ids));
	}
	if (rule->effect.has_delay)
		delay_model_describe(&rule->effect.delay, delay, sizeof(delay));
	if (rule->effect.has_fault)
		fault_describe(&rule->effect.fault, fault, sizeof(fault));
	/* The text: each "key=value" and a blank or the NUL; the parts:
	 * each value and its NUL. */
	for (int k = 0; k < 4; k++)
		if (values[k][0] != '\0')
			size += strlen(keys[k]) + 1 + 2 * (strlen(values[k]) + 1);
	block = malloc(size + 1);
	if (block == NULL)
		return false;
	block[0] = '\0';
	for (int k = 0; k < 4; k++)
		if (values[k][0] != '\0')
			at += (size_t)sprintf(block + at, "%s%s=%s", at > 0 ? " " : "", keys[k],
					      values[k]);
	at++;
	memset(&rule->parts, 0, sizeof(rule->parts));
	for (int k = 0; k < 4; k++)
		if (values[k][0] != '\0')
			*parts[k] = put(block, &at, values[k]);
	assert(at <= size + 1);
	rule->text = block;
	return true;
}

bool rules_add_fields(struct rules *r, const struct rule_field *fields, size_t n,
		      char *err, size_t errlen)
{
	struct rule rule;
	struct rule *grown;

	assert(r != NULL && atomic_load(&r->refs) == 1);
	memset(&rule, 0, sizeof(rule));
	if (r->n == RULES_MAX) {
		snprintf(err, errlen, "at most %d rules", RULES_MAX);
		return false;
	}
	for (size_t i = 0; i < n; i++)
		if (!parse_field(&rule, fields[i].key, fields[i].value, err, errlen))
			goto fail;
	if (!rule.effect.has_delay && !rule.effect.has_fault) {
		snprintf(err, errlen, "a rule needs a delay or a fault (or both)");
		goto fail;
	}
	grown = realloc(r->rule, (r->n + 1) * sizeof(*grown));
	if (grown == NULL || !canonical(&rule)) {
		if (grown != NULL)
			r->rule = grown;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	r->rule = grown;
	r->rule[r->n++] = rule;
	return true;
fail:
	delay_model_unref(&rule.effect.delay); /* a parsed model's data */
	return false;
}

bool rules_add(struct rules *r, const char *text, char *err, size_t errlen)
{
	/* Every word is a field: at most as many as half the text. */
	size_t cap = strlen(text) / 2 + 1, n = 0;
	struct rule_field *fields = calloc(cap, sizeof(*fields));
	char *copy = strdup(text), *p = copy;
	bool ok = false;

	if (fields == NULL || copy == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (;;) {
		char *eq, *end;
		size_t word;

		p += strspn(p, " \t");
		word = strcspn(p, " \t");
		if (word == 0)
			break;
		end = p + word;
		eq = memchr(p, '=', word);
		if (eq == NULL) {
			snprintf(err, errlen, "'%.*s': expected key=value",
				 (int)(word < 40 ? word : 40), p);
			goto out;
		}
		*eq = '\0';
		fields[n].key = p;
		fields[n].value = eq + 1;
		n++;
		p = *end != '\0' ? end + 1 : end;
		*end = '\0';
	}
	ok = rules_add_fields(r, fields, n, err, errlen);
out:
	free(fields);
	free(copy);
	return ok;
}

static bool matches(const struct rule *rule, unsigned route, uint64_t id)
{
	if (rule->routes != 0 && (rule->routes & route) == 0)
		return false;
	if (rule->nranges == 0)
		return true;
	for (size_t i = 0; i < rule->nranges; i++)
		if (id >= rule->ranges[i].lo && id <= rule->ranges[i].hi)
			return true;
	return false;
}

const struct rule_effect *rules_match(const struct rules *r, unsigned route,
				      uint64_t id)
{
	if (r == NULL)
		return NULL;
	for (size_t i = 0; i < r->n; i++)
		if (matches(&r->rule[i], route, id))
			return &r->rule[i].effect;
	return NULL;
}
