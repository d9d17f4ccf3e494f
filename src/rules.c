/* rules.c - per-request overrides; see rules.h. */
#include "rules.h"

#include <assert.h>
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
	char text[512];              /* canonical form */
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

/* One key=value word of a rule. */
static bool parse_word(struct rule *rule, const char *key, size_t klen, const char *v,
		       size_t vlen, char *err, size_t errlen)
{
	char value[256], msg[192];

	if (vlen == 0 || vlen >= sizeof(value)) {
		snprintf(err, errlen, "%.*s: a value is required", (int)klen, key);
		return false;
	}
	memcpy(value, v, vlen);
	value[vlen] = '\0';
	if (klen == 5 && memcmp(key, "route", 5) == 0) {
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
	if (klen == 3 && memcmp(key, "ids", 3) == 0)
		return parse_ids(rule, value, vlen, err, errlen);
	if (klen == 5 && memcmp(key, "delay", 5) == 0) {
		rule->effect.delay.clamp_ms = DELAY_LIMIT_MS;
		if (!delay_model_parse(value, &rule->effect.delay, msg, sizeof(msg))) {
			snprintf(err, errlen, "delay: %s", msg);
			return false;
		}
		rule->effect.has_delay = true;
		return true;
	}
	if (klen == 5 && memcmp(key, "fault", 5) == 0) {
		if (!fault_parse(value, vlen, &rule->effect.fault, msg, sizeof(msg))) {
			snprintf(err, errlen, "%s", msg);
			return false;
		}
		rule->effect.has_fault = true;
		return true;
	}
	snprintf(err, errlen, "unknown key '%.*s': route, ids, delay or fault",
		 (int)(klen < 40 ? klen : 40), key);
	return false;
}

bool rules_add(struct rules *r, const char *text, char *err, size_t errlen)
{
	struct rule rule;
	struct rule *grown;
	const char *p = text;

	assert(r != NULL && atomic_load(&r->refs) == 1);
	memset(&rule, 0, sizeof(rule));
	if (r->n == RULES_MAX) {
		snprintf(err, errlen, "at most %d rules", RULES_MAX);
		return false;
	}
	while (*p != '\0') {
		size_t word, klen;
		const char *eq;

		p += strspn(p, " \t");
		word = strcspn(p, " \t");
		if (word == 0)
			break;
		eq = memchr(p, '=', word);
		if (eq == NULL) {
			snprintf(err, errlen, "'%.*s': expected key=value",
				 (int)(word < 40 ? word : 40), p);
			return false;
		}
		klen = (size_t)(eq - p);
		if (!parse_word(&rule, p, klen, eq + 1, word - klen - 1, err, errlen))
			return false;
		p += word;
	}
	if (!rule.effect.has_delay && !rule.effect.has_fault) {
		snprintf(err, errlen, "a rule needs a delay or a fault (or both)");
		return false;
	}
	snprintf(rule.text, sizeof(rule.text), "%s", text);
	grown = realloc(r->rule, (r->n + 1) * sizeof(*grown));
	if (grown == NULL) {
		snprintf(err, errlen, "out of memory");
		return false;
	}
	r->rule = grown;
	r->rule[r->n++] = rule;
	return true;
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
