/* rules.c - per-request overrides; see rules.h. */
#include "rules.h"

#include <assert.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decimal.h"
#include "user.h"

struct id_range {
	uint64_t lo, hi;
};

/* What a counted rule counts apart. */
enum per {
	PER_ID = 0,
	PER_CLIENT,
	PER_ALL,
};

/* One key's count: an id, or a client address as 16 bytes (IPv4 mapped
 * into IPv6). */
struct count_slot {
	uint8_t key[16];
	uint64_t n;
	bool used;
};

#define COUNT_SLOTS (RULES_COUNT_KEYS * 2) /* open addressing, half full */

/* A counted rule's mutable part, behind a pointer so the set stays
 * const for its readers: the whole count (an atomic) and, per id or
 * client, a table of keys under a short lock. */
struct rule_count {
	_Atomic uint64_t matches;
	_Atomic uint64_t untracked;
	pthread_mutex_t lock;
	size_t keys;
	struct count_slot *slot;     /* COUNT_SLOTS, at the first match */
};

struct rule {
	unsigned routes;             /* RULES_ROUTE_*; 0: any */
	size_t nranges;              /* 0: any id */
	struct id_range ranges[RULES_MAX_RANGES];
	struct rule_effect effect;
	bool has_times, has_after, has_per, has_retry_after;
	uint64_t times, after, retry_after;
	enum per per;
	bool has_at, has_every, has_scale;
	uint64_t at_from_ms, at_to_ms, every_ms; /* the window, the period */
	uint64_t scale_from, scale_to;           /* thousandths */
	struct rule_count *count;    /* NULL: not counted */
	struct rule_parts parts;     /* canonical, pointing into text */
	char *text;                  /* canonical form, malloc'd */
};

struct rules {
	_Atomic unsigned refs;
	uint64_t start_ns;           /* CLOCK_MONOTONIC; at= counts from it */
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

void rules_start(struct rules *r, uint64_t now_ns)
{
	if (r == NULL)
		return;
	assert(atomic_load(&r->refs) == 1);
	r->start_ns = now_ns;
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
		struct rule_count *c = r->rule[i].count;

		if (c != NULL) {
			pthread_mutex_destroy(&c->lock);
			free(c->slot);
			free(c);
		}
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

/* A whole number from lo to hi for field `key`, once. */
static bool parse_number(const char *key, const char *value, uint64_t lo, uint64_t hi,
			 bool *has, uint64_t *out, char *err, size_t errlen)
{
	uint64_t n = 0;

	if (*has) {
		snprintf(err, errlen, "%s: given twice", key);
		return false;
	}
	for (const char *c = value; *c != '\0'; c++) {
		if (*c < '0' || *c > '9' || n > hi) {
			n = hi + 1;
			break;
		}
		n = n * 10 + (uint64_t)(*c - '0');
	}
	if (n < lo || n > hi) {
		snprintf(err, errlen, "%s: '%.40s' is not a whole number from %" PRIu64
			 " to %" PRIu64, key, value, lo, hi);
		return false;
	}
	*out = n;
	*has = true;
	return true;
}

/* A number with up to 3 decimals ("1", "2.5", "0.125") from the `len`
 * bytes at `s`, in thousandths, at most max * 1000: true and *out, or
 * false. */
static bool parse_milli(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	const char *point = memchr(s, '.', len);
	size_t whole = point != NULL ? (size_t)(point - s) : len;
	size_t frac = point != NULL ? len - whole - 1 : 0;
	uint64_t w = 0, f = 0;

	if (whole == 0 || (point != NULL && (frac == 0 || frac > 3)) ||
	    decimal_parse(s, whole, max, &w) != DECIMAL_OK ||
	    (frac > 0 && decimal_parse(point + 1, frac, 999, &f) != DECIMAL_OK))
		return false;
	for (size_t i = frac; i < 3; i++)
		f *= 10;
	if (w == max && f > 0)
		return false;
	*out = w * 1000 + f;
	return true;
}

/* Thousandths as the shortest text parse_milli() reads back. */
static void format_milli(uint64_t v, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%" PRIu64 ".%03" PRIu64, v / 1000, v % 1000);

	while (n > 0 && buf[n - 1] == '0')
		buf[--n] = '\0';
	if (n > 0 && buf[n - 1] == '.')
		buf[--n] = '\0';
}

/* "A-B" or, for scale, "X..Y" (or one "X") into *lo and *hi. */
static bool parse_pair(const char *value, const char *sep, uint64_t max, uint64_t *lo,
		       uint64_t *hi)
{
	const char *mid = strstr(value, sep);
	size_t len = strlen(value);

	if (mid == NULL) {
		if (strcmp(sep, "..") != 0 || !parse_milli(value, len, max, lo))
			return false;
		*hi = *lo;
		return true;
	}
	return parse_milli(value, (size_t)(mid - value), max, lo) &&
	       parse_milli(mid + strlen(sep), len - (size_t)(mid - value) - strlen(sep), max,
			   hi);
}

/* at=, every= or scale=, once. */
static bool parse_schedule(struct rule *rule, const char *key, const char *value,
			   char *err, size_t errlen)
{
	bool *has = strcmp(key, "at") == 0 ? &rule->has_at
		    : strcmp(key, "every") == 0 ? &rule->has_every : &rule->has_scale;

	if (*has) {
		snprintf(err, errlen, "%s: given twice", key);
		return false;
	}
	*has = true;
	if (has == &rule->has_at) {
		if (!parse_pair(value, "-", RULES_SECONDS_MAX, &rule->at_from_ms,
				&rule->at_to_ms) || rule->at_from_ms >= rule->at_to_ms) {
			snprintf(err, errlen, "at: '%.40s' is not A-B, seconds from 0 to %u "
				 "with A < B, e.g. at=50-60", value, RULES_SECONDS_MAX);
			return false;
		}
	} else if (has == &rule->has_every) {
		if (!parse_milli(value, strlen(value), RULES_SECONDS_MAX, &rule->every_ms) ||
		    rule->every_ms == 0) {
			snprintf(err, errlen, "every: '%.40s' is not a period in seconds, "
				 "more than 0 and at most %u, e.g. every=60", value,
				 RULES_SECONDS_MAX);
			return false;
		}
	} else if (!parse_pair(value, "..", RULES_SCALE_MAX, &rule->scale_from,
			       &rule->scale_to)) {
		snprintf(err, errlen, "scale: '%.40s' is not X or X..Y, each from 0 to %u "
			 "with at most 3 decimals, e.g. scale=5 or scale=1..4", value,
			 RULES_SCALE_MAX);
		return false;
	}
	return true;
}

/* A rule's fault: one ("reset": every request it matches) or a mix
 * ("status:503=0.2,reset=0.1": the rest get none), once. */
static bool parse_fault(struct rule *rule, const char *value, char *err, size_t errlen)
{
	struct rule_effect *e = &rule->effect;
	char msg[192];

	if (e->has_fault) {
		snprintf(err, errlen, "fault: given twice");
		return false;
	}
	if (strchr(value, '=') != NULL) {
		if (!fault_mix_parse(value, &e->mix, msg, sizeof(msg))) {
			snprintf(err, errlen, "fault: %s", msg);
			return false;
		}
		e->mixed = true;
	} else if (!fault_parse(value, strlen(value), &e->fault, msg, sizeof(msg))) {
		snprintf(err, errlen, "%s", msg);
		return false;
	}
	e->has_fault = true;
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
	if (strcmp(key, "fault") == 0)
		return parse_fault(rule, value, err, errlen);
	if (strcmp(key, "at") == 0 || strcmp(key, "every") == 0 || strcmp(key, "scale") == 0)
		return parse_schedule(rule, key, value, err, errlen);
	if (strcmp(key, "retry-after") == 0)
		return parse_number(key, value, 1, RULES_RETRY_AFTER_MAX, &rule->has_retry_after,
				    &rule->retry_after, err, errlen);
	if (strcmp(key, "times") == 0)
		return parse_number(key, value, 1, RULES_TIMES_MAX, &rule->has_times,
				    &rule->times, err, errlen);
	if (strcmp(key, "after") == 0)
		return parse_number(key, value, 0, RULES_TIMES_MAX, &rule->has_after,
				    &rule->after, err, errlen);
	if (strcmp(key, "per") == 0) {
		static const char *const names[] = {[PER_ID] = "id", [PER_CLIENT] = "client",
						    [PER_ALL] = "all"};

		if (rule->has_per) {
			snprintf(err, errlen, "per: given twice");
			return false;
		}
		for (int k = 0; k < 3; k++)
			if (strcmp(value, names[k]) == 0) {
				rule->per = (enum per)k;
				rule->has_per = true;
				return true;
			}
		snprintf(err, errlen, "per: '%.40s' is not id, client or all", value);
		return false;
	}
	snprintf(err, errlen, "unknown key '%.40s': route, ids, delay, fault, retry-after, "
		 "times, after, per, at, every or scale", key);
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

/* Room for a number parse_milli() reads: 20 digits, a point, 3. */
#define MILLI_TEXT_MAX 26

/* "A-B", or "X..Y" ("X" when X is Y), into buf. */
static void pair_text(uint64_t lo, uint64_t hi, const char *sep, char *buf, size_t len)
{
	char a[MILLI_TEXT_MAX], b[MILLI_TEXT_MAX];

	format_milli(lo, a, sizeof(a));
	format_milli(hi, b, sizeof(b));
	if (lo == hi && strcmp(sep, "..") == 0)
		snprintf(buf, len, "%s", a);
	else
		snprintf(buf, len, "%s%s%s", a, sep, b);
}

/* Make the rule's canonical text and parts, in one malloc'd block at
 * rule->text: the text "route=R ids=I delay=D fault=F ..." (the fields it
 * has, in the order of keys[]), then each part's value.  False when out
 * of memory. */
static bool canonical(struct rule *rule)
{
	enum { KEYS = 11 };
	static const char *const keys[KEYS] = {"route", "ids", "delay", "fault",
					       "retry-after", "times", "after", "per",
					       "at", "every", "scale"};
	static const char *const pers[] = {[PER_ID] = "", [PER_CLIENT] = "client",
					   [PER_ALL] = "all"};
	/* ids the longest: RULES_MAX_RANGES ranges of two 20-digit ids. */
	char route[8] = "", delay[DELAY_TEXT_MAX] = "", fault[FAULT_MIX_TEXT_MAX] = "";
	char retry[24] = "", times[24] = "", after[24] = "", per[8] = "";
	char ids[RULES_MAX_RANGES * 42 + 1] = "";
	char window[2 * MILLI_TEXT_MAX] = "", every[MILLI_TEXT_MAX] = "";
	char scale[2 * MILLI_TEXT_MAX] = "";
	const char *values[KEYS] = {route, ids, delay, fault, retry, times, after, per,
				    window, every, scale};
	const char **parts[KEYS] = {&rule->parts.route, &rule->parts.ids, &rule->parts.delay,
				    &rule->parts.fault, &rule->parts.retry_after,
				    &rule->parts.times, &rule->parts.after, &rule->parts.per,
				    &rule->parts.at, &rule->parts.every, &rule->parts.scale};
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
	if (rule->effect.mixed)
		fault_mix_describe(&rule->effect.mix, fault, sizeof(fault));
	else if (rule->effect.has_fault)
		fault_describe(&rule->effect.fault, fault, sizeof(fault));
	if (rule->has_retry_after)
		snprintf(retry, sizeof(retry), "%" PRIu64, rule->retry_after);
	if (rule->has_times)
		snprintf(times, sizeof(times), "%" PRIu64, rule->times);
	if (rule->has_after)
		snprintf(after, sizeof(after), "%" PRIu64, rule->after);
	snprintf(per, sizeof(per), "%s", pers[rule->per]);
	if (rule->has_at)
		pair_text(rule->at_from_ms, rule->at_to_ms, "-", window, sizeof(window));
	if (rule->has_every)
		format_milli(rule->every_ms, every, sizeof(every));
	if (rule->has_scale)
		pair_text(rule->scale_from, rule->scale_to, "..", scale, sizeof(scale));
	/* The text: each "key=value" and a blank or the NUL; the parts:
	 * each value and its NUL. */
	for (int k = 0; k < KEYS; k++)
		if (values[k][0] != '\0')
			size += strlen(keys[k]) + 1 + 2 * (strlen(values[k]) + 1);
	block = malloc(size + 1);
	if (block == NULL)
		return false;
	block[0] = '\0';
	for (int k = 0; k < KEYS; k++)
		if (values[k][0] != '\0')
			at += (size_t)sprintf(block + at, "%s%s=%s", at > 0 ? " " : "", keys[k],
					      values[k]);
	at++;
	memset(&rule->parts, 0, sizeof(rule->parts));
	for (int k = 0; k < KEYS; k++)
		if (values[k][0] != '\0')
			*parts[k] = put(block, &at, values[k]);
	assert(at <= size + 1);
	rule->text = block;
	return true;
}

/* Has the effect a status fault (alone or in its mix)? */
static bool has_status(const struct rule_effect *e)
{
	if (e->mixed) {
		for (unsigned i = 0; i < e->mix.n; i++)
			if (e->mix.fault[i].kind == FAULT_STATUS)
				return true;
		return false;
	}
	return e->has_fault && e->fault.kind == FAULT_STATUS;
}

/* A zero count for a counted rule; false when out of memory. */
static bool new_count(struct rule *rule)
{
	rule->count = calloc(1, sizeof(*rule->count));
	if (rule->count == NULL)
		return false;
	pthread_mutex_init(&rule->count->lock, NULL);
	return true;
}

/* The rule's fields consistent?  Then its count, zero, when counted. */
static bool counting(struct rule *rule, char *err, size_t errlen)
{
	if (rule->has_retry_after && !has_status(&rule->effect)) {
		snprintf(err, errlen, "retry-after: only with a status fault (fault=status:503)");
		return false;
	}
	if (rule->has_every && !rule->has_at) {
		snprintf(err, errlen, "every: only with at=A-B, the window within each period "
			 "(e.g. every=60 at=50-60)");
		return false;
	}
	if (rule->has_every && rule->at_to_ms > rule->every_ms) {
		char b[MILLI_TEXT_MAX], p[MILLI_TEXT_MAX];

		format_milli(rule->at_to_ms, b, sizeof(b));
		format_milli(rule->every_ms, p, sizeof(p));
		snprintf(err, errlen, "at: the window must end within the period: "
			 "B (%s) more than every= (%s)", b, p);
		return false;
	}
	if (rule->has_scale && rule->scale_from != rule->scale_to && !rule->has_at) {
		snprintf(err, errlen, "scale: a ramp X..Y only with at=A-B (X at A, Y at B)");
		return false;
	}
	if (!rule->has_times && !rule->has_after) {
		if (rule->has_per) {
			snprintf(err, errlen, "per: only with times or after");
			return false;
		}
		return true;
	}
	if (!new_count(rule)) {
		snprintf(err, errlen, "out of memory");
		return false;
	}
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
	if (!rule.effect.has_delay && !rule.effect.has_fault && !rule.has_scale) {
		snprintf(err, errlen, "a rule needs a delay, a fault or a scale");
		goto fail;
	}
	if (!counting(&rule, err, errlen))
		goto fail;
	rule.effect.retry_after_s = (unsigned)rule.retry_after;
	grown = realloc(r->rule, (r->n + 1) * sizeof(*grown));
	if (grown == NULL || !canonical(&rule)) {
		if (grown != NULL)
			r->rule = grown;
		if (rule.count != NULL) {
			pthread_mutex_destroy(&rule.count->lock);
			free(rule.count);
		}
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

struct rules *rules_copy(const struct rules *r)
{
	struct rules *copy = r != NULL ? rules_create() : NULL;

	if (copy == NULL)
		return NULL;
	copy->rule = calloc(r->n > 0 ? r->n : 1, sizeof(*copy->rule));
	if (copy->rule == NULL) {
		rules_unref(copy);
		return NULL;
	}
	/* Each rule as it was parsed, sharing its model's data (a file's
	 * contents are not read again): only its count and text are its
	 * own. */
	for (size_t i = 0; i < r->n; i++) {
		struct rule *to = &copy->rule[copy->n++];

		*to = r->rule[i];
		to->count = NULL;
		to->text = NULL;
		delay_model_ref(&to->effect.delay);
		if ((r->rule[i].count != NULL && !new_count(to)) || !canonical(to)) {
			rules_unref(copy);
			return NULL;
		}
	}
	return copy;
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

/* The request's key for `per`: its id, or its client's address. */
static void count_key(enum per per, uint64_t id, const struct sockaddr *client,
		      uint8_t key[16])
{
	memset(key, 0, 16);
	if (per == PER_ID) {
		memcpy(key, &id, sizeof(id));
	} else if (client != NULL && client->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)client;

		key[10] = key[11] = 0xff;
		memcpy(key + 12, &in->sin_addr, 4);
	} else if (client != NULL && client->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 =
			(const struct sockaddr_in6 *)(const void *)client;

		memcpy(key, &in6->sin6_addr, 16);
	}
}

/* FNV-1a of a key. */
static size_t key_hash(const uint8_t key[16])
{
	uint64_t h = UINT64_C(14695981039346656037);

	for (int i = 0; i < 16; i++)
		h = (h ^ key[i]) * UINT64_C(1099511628211);
	return (size_t)(h ^ (h >> 32));
}

/* Count one more match of `key`: its count from 1, or 0 when the table
 * is full (or cannot be made) and the key is new. */
static uint64_t count_keyed(struct rule_count *c, const uint8_t key[16])
{
	uint64_t n = 0;

	pthread_mutex_lock(&c->lock);
	if (c->slot == NULL)
		c->slot = calloc(COUNT_SLOTS, sizeof(*c->slot));
	if (c->slot != NULL) {
		for (size_t i = key_hash(key) % COUNT_SLOTS;; i = (i + 1) % COUNT_SLOTS) {
			struct count_slot *s = &c->slot[i];

			if (s->used && memcmp(s->key, key, 16) == 0) {
				n = ++s->n;
				break;
			}
			if (!s->used) {
				if (c->keys == RULES_COUNT_KEYS)
					break;
				s->used = true;
				memcpy(s->key, key, 16);
				n = s->n = 1;
				c->keys++;
				break;
			}
		}
	}
	pthread_mutex_unlock(&c->lock);
	return n;
}

/* Does the counted rule apply to this match?  Counts it. */
static bool count_applies(const struct rule *rule, uint64_t id,
			  const struct sockaddr *client)
{
	uint64_t n = atomic_fetch_add(&rule->count->matches, 1) + 1;

	if (rule->per != PER_ALL) {
		uint8_t key[16];

		count_key(rule->per, id, client, key);
		n = count_keyed(rule->count, key);
		if (n == 0) {
			atomic_fetch_add(&rule->count->untracked, 1);
			return false;
		}
	}
	return n > rule->after && (!rule->has_times || n - rule->after <= rule->times);
}

#define NS_PER_MS UINT64_C(1000000)

/* Where `now_ns` falls in the rule's schedule: in its window or not,
 * and its scale there. */
static bool in_window(const struct rules *r, const struct rule *rule, uint64_t now_ns,
		      double *scale)
{
	uint64_t t = now_ns > r->start_ns ? now_ns - r->start_ns : 0;
	uint64_t from = rule->at_from_ms * NS_PER_MS, to = rule->at_to_ms * NS_PER_MS;
	bool in;

	if (rule->has_every)
		t %= rule->every_ms * NS_PER_MS;
	in = !rule->has_at || (t >= from && t < to);
	if (scale != NULL) {
		double x = (double)rule->scale_from / 1000, y = (double)rule->scale_to / 1000;

		*scale = !rule->has_scale ? 1.0
			 : !in || x == y || !rule->has_at ? x
			 : x + (y - x) * (double)(t - from) / (double)(to - from);
	}
	return in;
}

bool rules_active(const struct rules *r, size_t i, uint64_t now_ns, double *scale)
{
	assert(r != NULL && i < r->n);
	return in_window(r, &r->rule[i], now_ns, scale);
}

size_t rules_windows(const struct rules *r, size_t i, uint64_t from_ns, uint64_t to_ns,
		     struct rule_window *out, size_t max)
{
	const struct rule *rule;
	uint64_t period, k;
	size_t n = 0;

	assert(r != NULL && i < r->n);
	rule = &r->rule[i];
	if (!rule->has_at)
		return 0;
	from_ns = from_ns > r->start_ns ? from_ns : r->start_ns;
	period = rule->has_every ? rule->every_ms * NS_PER_MS : 0;
	if (to_ns <= from_ns)
		return 0;
	/* The first period that can overlap: the one from_ns is in, or the
	 * max-th before the last whose window begins before to_ns, whichever
	 * is later. */
	k = period > 0 ? (from_ns - r->start_ns) / period : 0;
	if (period > 0) {
		uint64_t last = (to_ns - 1 - r->start_ns) / period;

		if (last > k && r->start_ns + last * period + rule->at_from_ms * NS_PER_MS >= to_ns)
			last--; /* to_ns comes before that period's window */
		if (last >= k + max)
			k = last + 1 - max;
	}
	for (; n < max; k++) {
		uint64_t base = r->start_ns + k * period;
		uint64_t a = base + rule->at_from_ms * NS_PER_MS;
		uint64_t b = base + rule->at_to_ms * NS_PER_MS;

		if (a >= to_ns)
			break;
		if (b > from_ns)
			out[n++] = (struct rule_window){a > from_ns ? a : from_ns,
							b < to_ns ? b : to_ns};
		if (period == 0)
			break;
	}
	return n;
}

const struct rule_effect *rules_apply(const struct rules *r, unsigned route, uint64_t id,
				      const struct sockaddr *client, uint64_t now_ns,
				      struct rule_hit *hit)
{
	if (r == NULL)
		return NULL;
	for (size_t i = 0; i < r->n; i++) {
		const struct rule *rule = &r->rule[i];
		double scale;

		/* Outside its window a rule is not reached, so not counted. */
		if (!in_window(r, rule, now_ns, &scale) || !matches(rule, route, id) ||
		    (rule->count != NULL && !count_applies(rule, id, client)))
			continue;
		if (hit != NULL)
			*hit = (struct rule_hit){.index = i, .scale = scale};
		return &rule->effect;
	}
	return NULL;
}

const struct rule_effect *rules_match(const struct rules *r, unsigned route,
				      uint64_t id)
{
	return rules_apply(r, route, id, NULL, r != NULL ? r->start_ns : 0, NULL);
}

void rules_counts(const struct rules *r, size_t i, struct rule_counts *out)
{
	struct rule_count *c;

	assert(r != NULL && i < r->n);
	memset(out, 0, sizeof(*out));
	c = r->rule[i].count;
	if (c == NULL)
		return;
	out->counted = true;
	out->matches = atomic_load(&c->matches);
	out->untracked = atomic_load(&c->untracked);
	pthread_mutex_lock(&c->lock);
	out->keys = c->keys;
	pthread_mutex_unlock(&c->lock);
}
