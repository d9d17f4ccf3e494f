/* Unit tests for src/rules.c: rules built from a line or field by field,
 * their canonical form, and matching. */
#include <arpa/inet.h>
#include <check.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rng.h"
#include "rules.h"
#include "testutil.h"

static struct rules *r;
static char err[256];

static void setup(void)
{
	r = rules_create();
	ck_assert_ptr_nonnull(r);
	err[0] = '\0';
}

static void teardown(void)
{
	rules_unref(r);
}

/* A line and the canonical text it is stored as. */
static const struct {
	const char *line, *canonical;
} lines[] = {
	{"fault=reset", "fault=reset"},
	{"  delay=fixed:5\tids=7  ", "ids=7 delay=fixed:5"},
	{"fault=close ids=007,100-199 route=/user/", "route=/user ids=7,100-199 fault=close"},
	{"route=/users delay=uniform:1:2 fault=status:503", "route=/users delay=uniform:1:2 fault=status:503"},
	{"route=/user route=/users fault=hang", "fault=hang"}, /* both routes: any */
	{"ids=1 ids=2-3 delay=lognormal:10:100", "ids=1,2-3 delay=lognormal:10:100"},
	{"per=id times=02 retry-after=3 fault=status:503 ids=7",
	 "ids=7 fault=status:503 retry-after=3 times=2"},         /* per=id: the default */
	{"after=0 per=all fault=reset", "fault=reset after=0 per=all"},
	{"per=client after=1 times=2 delay=fixed:1", "delay=fixed:1 times=2 after=1 per=client"},
	/* Schedules: seconds with up to 3 decimals, the shortest form. */
	{"at=1-2.50 fault=status:503", "fault=status:503 at=1-2.5"},
	{"every=60 at=50-60 scale=5 fault=status:503=0.2",
	 "fault=status:503=0.2 at=50-60 every=60 scale=5"},
	{"scale=1.000..4 at=0-300", "at=0-300 scale=1..4"},
	{"at=120-150 fault=reset", "fault=reset at=120-150"},
	{"scale=2..2 delay=fixed:1", "delay=fixed:1 scale=2"},        /* no ramp */
	{"scale=0.125", "scale=0.125"},
	{"at=0.001-0.002 every=0.5 fault=close", "fault=close at=0.001-0.002 every=0.5"},
	{"fault=reset=0.1,status:503=0.2 ids=3", "ids=3 fault=reset=0.1,status:503=0.2"},
	{"fault=status:429=0.5 retry-after=2", "fault=status:429=0.5 retry-after=2"},
};

START_TEST(test_canonical_text)
{
	struct rules *again = rules_create();

	ck_assert_msg(rules_add(r, lines[_i].line, err, sizeof(err)), "%s", err);
	ck_assert_str_eq(rules_text(r, 0), lines[_i].canonical);
	/* The canonical text reads back as itself. */
	ck_assert(rules_add(again, rules_text(r, 0), err, sizeof(err)));
	ck_assert(rules_equal(r, again));
	rules_unref(again);
}
END_TEST

START_TEST(test_parts)
{
	struct rule_parts p;

	ck_assert(rules_add(r, "fault=reset ids=4-5 route=/users", err, sizeof(err)));
	rules_parts(r, 0, &p);
	ck_assert_str_eq(p.route, "/users");
	ck_assert_str_eq(p.ids, "4-5");
	ck_assert_ptr_null(p.delay);
	ck_assert_str_eq(p.fault, "reset");
}
END_TEST

/* A value is taken whole: a blank inside one is not a new field (the
 * control API joined fields into a line and split it again, so a blank
 * inside "delay" added match keys to the rule). */
START_TEST(test_fields_are_never_split)
{
	static const struct rule_field bad[][2] = {
		{{"delay", "fixed:5 ids=3"}, {NULL, NULL}},
		{{"fault", "reset route=/users"}, {NULL, NULL}},
		{{"ids", "3 delay=fixed:9"}, {"fault", "reset"}},
		{{"route", "/user ids=4"}, {"fault", "reset"}},
		{{"fault", "reset"}, {"fault", "close"}},       /* twice */
		{{"delay", "fixed:1"}, {"delay", "fixed:2"}},
		{{"id", "7"}, {"fault", "reset"}},              /* unknown key */
		{{"ids", ""}, {"fault", "reset"}},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = bad[i][1].key != NULL ? 2 : 1;

		ck_assert_msg(!rules_add_fields(r, bad[i], n, err, sizeof(err)),
			      "case %zu was taken", i);
		ck_assert_uint_eq(rules_count(r), 0);
	}
}
END_TEST

/* Nothing is cut: the longest rule (every range, 20-digit ids) is kept
 * and shown whole; one range more is refused, naming the limit. */
START_TEST(test_long_rules_are_whole_or_refused)
{
	char line[RULES_MAX_RANGES * 48 + 64];
	size_t used = 0;
	const struct rule_effect *e;

	used += (size_t)snprintf(line + used, sizeof(line) - used, "fault=reset ids=");
	for (int i = 0; i < RULES_MAX_RANGES; i++)
		used += (size_t)snprintf(line + used, sizeof(line) - used, "%s%" PRIu64 "-%" PRIu64,
					 i > 0 ? "," : "", UINT64_C(9223372036854775000) + 2 * (uint64_t)i,
					 UINT64_C(9223372036854775000) + 2 * (uint64_t)i + 1);
	ck_assert_msg(rules_add(r, line, err, sizeof(err)), "%s", err);
	ck_assert_uint_gt(strlen(rules_text(r, 0)), 2048);
	ck_assert_ptr_nonnull(strstr(rules_text(r, 0), "9223372036854775127"));
	e = rules_match(r, RULES_ROUTE_USER, UINT64_C(9223372036854775127));
	ck_assert_ptr_nonnull(e);
	snprintf(line + used, sizeof(line) - used, ",1");
	ck_assert(!rules_add(r, line, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "at most 64"));
}
END_TEST

/* An 827-byte line of four ids words, each under 256 bytes, was stored
 * cut at 511 bytes. */
START_TEST(test_long_line_is_kept_whole)
{
	char line[1024];
	size_t used = 0;

	used += (size_t)snprintf(line, sizeof(line), "fault=reset");
	for (int w = 0; w < 4; w++) {
		used += (size_t)snprintf(line + used, sizeof(line) - used, " ids=");
		for (int i = 0; i < 5; i++) {
			uint64_t lo = UINT64_C(9223372036854775000) + 10 * (uint64_t)(w * 5 + i);

			used += (size_t)snprintf(line + used, sizeof(line) - used,
						 "%s%" PRIu64 "-%" PRIu64, i > 0 ? "," : "", lo, lo + 1);
		}
	}
	ck_assert_uint_gt(used, 800);
	ck_assert_msg(rules_add(r, line, err, sizeof(err)), "%s", err);
	/* Canonical: one ids field, the same ids in order: the three
	 * extra " ids=" become commas. */
	ck_assert_uint_eq(strlen(rules_text(r, 0)), used - 3 * (strlen(" ids=") - 1));
	ck_assert_ptr_nonnull(rules_match(r, RULES_ROUTE_USER, UINT64_C(9223372036854775191)));
}
END_TEST

START_TEST(test_first_match_wins)
{
	const struct rule_effect *e;

	ck_assert(rules_add(r, "route=/user ids=13,100-199 delay=fixed:5000", err, sizeof(err)));
	ck_assert(rules_add(r, "ids=150 fault=reset", err, sizeof(err)));
	e = rules_match(r, RULES_ROUTE_USER, 150);
	ck_assert(e != NULL && e->has_delay && !e->has_fault);
	e = rules_match(r, RULES_ROUTE_USERS, 150);
	ck_assert(e != NULL && e->has_fault && e->fault.kind == FAULT_RESET);
	ck_assert_ptr_null(rules_match(r, RULES_ROUTE_USER, 99));
	ck_assert_ptr_null(rules_match(NULL, RULES_ROUTE_USER, 13));
}
END_TEST

START_TEST(test_bad_lines_say_why)
{
	static const struct {
		const char *line, *says;
	} bad[] = {
		{"ids=5", "needs a delay, a fault or a scale"},
		{"fault", "expected key=value"},
		{"fault=", "a value is required"},
		{"route=/x fault=reset", "is not /user or /users"},
		{"ids=5-4 fault=reset", "is not an id or a range"},
		{"delay=fixed:x", "delay:"},
		{"fault=bogus", "unknown fault"},
		{"what=1 fault=reset", "unknown key 'what'"},
		{"times=0 fault=reset", "times: '0' is not a whole number from 1"},
		{"times=-1 fault=reset", "times: '-1'"},
		{"times=1000000001 fault=reset", "to 1000000000"},
		{"times=99999999999999999999999 fault=reset", "times:"},
		{"after=x fault=reset", "after: 'x'"},
		{"times=1 times=2 fault=reset", "times: given twice"},
		{"per=id fault=reset", "per: only with times or after"},
		{"per=user times=1 fault=reset", "per: 'user' is not id, client or all"},
		{"retry-after=2 fault=reset", "retry-after: only with a status fault"},
		{"retry-after=2 delay=fixed:1", "retry-after: only with a status fault"},
		/* Refused after its model was parsed: the model's data freed. */
		{"retry-after=2 delay=quantiles:50=80,99=900", "retry-after: only with"},
		{"every=5 delay=quantiles:50=80,99=900", "every: only with at="},
		{"retry-after=0 fault=status:503", "retry-after: '0'"},
		{"retry-after=86401 fault=status:503", "to 86400"},
		{"retry-after=2 fault=reset=0.5", "retry-after: only with a status fault"},
		{"at=2-1 fault=reset", "at: '2-1' is not A-B, seconds from 0 to 31536000"},
		{"at=1-1 fault=reset", "with A < B"},
		{"at=1 fault=reset", "at: '1'"},
		{"at=0.0001-1 fault=reset", "at: '0.0001-1'"},
		{"at=1.-2 fault=reset", "at: '1.-2'"},
		{"at=-1-2 fault=reset", "at: '-1-2'"},
		{"at=0-31536001 fault=reset", "at:"},
		{"at=1-2 at=3-4 fault=reset", "at: given twice"},
		{"every=60 fault=reset", "every: only with at=A-B"},
		{"every=0 at=0-1 fault=reset", "every: '0' is not a period in seconds"},
		{"every=60 at=50-70 fault=reset", "B (70) more than every= (60)"},
		{"every=1.5 at=1-1.501 fault=reset", "B (1.501) more than every= (1.5)"},
		{"scale=1..4", "scale: a ramp X..Y only with at=A-B"},
		{"scale=x", "scale: 'x' is not X or X..Y, each from 0 to 1000"},
		{"scale=1001", "scale: '1001'"},
		{"scale=1000.001", "scale: '1000.001'"},
		{"scale=1...4 at=0-1", "scale: '1...4'"},
		{"scale=-1", "scale: '-1'"},
		{"fault=status:503=2", "fault: "},
		{"fault=status:503=0.6,reset=0.6", "more than 1"},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(!rules_add(r, bad[i].line, err, sizeof(err)), "%s", bad[i].line);
		ck_assert_msg(strstr(err, bad[i].says) != NULL, "%s: %s", bad[i].line, err);
	}
	ck_assert_uint_eq(rules_count(r), 0);
}
END_TEST

/* ---- faults by count ---------------------------------------------------- */

/* Apply the set to `n` requests for user `id` from `client`; a bit per
 * request, 1 where rule `want` applied. */
static unsigned applied(unsigned n, uint64_t id, const struct sockaddr *client, size_t want)
{
	unsigned bits = 0;

	for (unsigned k = 0; k < n; k++) {
		struct rule_hit hit = {.index = 99};

		if (rules_apply(r, RULES_ROUTE_USER, id, client, 0, &hit) != NULL &&
		    hit.index == want)
			bits |= 1u << k;
	}
	return bits;
}

/* times=N: the first N matches; after=N: from the (N+1)th; both: the
 * N after the first M.  A request the counted rule does not take falls
 * through to the next rule. */
START_TEST(test_times_and_after)
{
	ck_assert(rules_add(r, "ids=7 times=2 fault=status:503 retry-after=1", err, sizeof(err)));
	ck_assert(rules_add(r, "ids=8 after=3 fault=reset", err, sizeof(err)));
	ck_assert(rules_add(r, "ids=9 after=1 times=2 fault=reset", err, sizeof(err)));
	ck_assert(rules_add(r, "delay=fixed:1", err, sizeof(err)));
	ck_assert_uint_eq(applied(2, 7, NULL, 0), 0x3);
	ck_assert_uint_eq(applied(3, 7, NULL, 3), 0x7); /* then the next rule */
	ck_assert_uint_eq(applied(6, 8, NULL, 1), 0x38);
	ck_assert_uint_eq(applied(5, 9, NULL, 2), 0x06);
	ck_assert_uint_eq(rules_match(r, RULES_ROUTE_USER, 10) != NULL, 1);
	ck_assert_uint_eq(rules_match(NULL, RULES_ROUTE_USER, 7) == NULL, 1);
}
END_TEST

/* The effect carries Retry-After; a rule without it has 0. */
START_TEST(test_retry_after)
{
	const struct rule_effect *e;

	ck_assert(rules_add(r, "ids=7 fault=status:503 retry-after=2", err, sizeof(err)));
	ck_assert(rules_add(r, "fault=status:429", err, sizeof(err)));
	e = rules_match(r, RULES_ROUTE_USER, 7);
	ck_assert(e != NULL && e->fault.arg == 503);
	ck_assert_uint_eq(e->retry_after_s, 2);
	ck_assert_uint_eq(rules_match(r, RULES_ROUTE_USER, 8)->retry_after_s, 0);
}
END_TEST

static struct sockaddr_in v4(const char *addr, unsigned port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};

	ck_assert_int_eq(inet_pton(AF_INET, addr, &a.sin_addr), 1);
	return a;
}

/* per=id (the default): each id its own count; per=client: each client
 * address (not port) its own, whatever the id; per=all: one count. */
START_TEST(test_per_kinds)
{
	struct sockaddr_in a = v4("127.0.0.1", 1000), a2 = v4("127.0.0.1", 2000),
			   b = v4("127.0.0.2", 1000);
	struct sockaddr_in6 c = {.sin6_family = AF_INET6};
	struct rule_counts n;

	c.sin6_addr.s6_addr[15] = 1; /* ::1, not 127.0.0.1 */
	ck_assert(rules_add(r, "route=/user ids=1-2 times=1 fault=reset", err, sizeof(err)));
	ck_assert(rules_add(r, "ids=3-4 times=1 per=client fault=reset", err, sizeof(err)));
	ck_assert(rules_add(r, "ids=5-6 times=1 per=all fault=reset", err, sizeof(err)));
	ck_assert_uint_eq(applied(2, 1, NULL, 0), 0x1);
	ck_assert_uint_eq(applied(2, 2, NULL, 0), 0x1);
	ck_assert_uint_eq(applied(1, 3, (struct sockaddr *)&a, 1), 0x1);
	ck_assert_uint_eq(applied(1, 4, (struct sockaddr *)&a2, 1), 0x0);
	ck_assert_uint_eq(applied(2, 4, (struct sockaddr *)&b, 1), 0x1);
	ck_assert_uint_eq(applied(2, 3, (struct sockaddr *)&c, 1), 0x1);
	ck_assert_uint_eq(applied(2, 5, NULL, 2), 0x1);
	ck_assert_uint_eq(applied(2, 6, NULL, 2), 0x0);
	rules_counts(r, 0, &n);
	ck_assert(n.counted);
	ck_assert_uint_eq(n.matches, 4);
	ck_assert_uint_eq(n.keys, 2);
	rules_counts(r, 1, &n);
	ck_assert_uint_eq(n.matches, 6);
	ck_assert_uint_eq(n.keys, 3);
	rules_counts(r, 2, &n);
	ck_assert_uint_eq(n.matches, 4);
	ck_assert_uint_eq(n.keys, 0);
}
END_TEST

/* Counts belong to the set: a new set of the same rules starts at 0. */
START_TEST(test_counts_restart_with_a_new_set)
{
	struct rules *again = rules_create();
	struct rule_counts n;

	ck_assert(rules_add(r, "ids=7 times=2 fault=status:503", err, sizeof(err)));
	ck_assert(rules_add(again, rules_text(r, 0), err, sizeof(err)));
	ck_assert_uint_eq(applied(3, 7, NULL, 0), 0x3);
	ck_assert(rules_equal(r, again));
	rules_counts(again, 0, &n);
	ck_assert_uint_eq(n.matches, 0);
	ck_assert_ptr_nonnull(rules_match(again, RULES_ROUTE_USER, 7));
	rules_counts(r, 0, &n);
	ck_assert_uint_eq(n.matches, 3);
	rules_unref(again);
}
END_TEST

/* Past RULES_COUNT_KEYS ids, a new id is not matched and is counted as
 * untracked; the ids already known go on being counted. */
START_TEST(test_count_keys_are_bounded)
{
	struct rule_counts n;

	ck_assert(rules_add(r, "times=1 fault=reset", err, sizeof(err)));
	for (uint64_t id = 0; id < RULES_COUNT_KEYS; id++)
		ck_assert_ptr_nonnull(rules_match(r, RULES_ROUTE_USER, id));
	ck_assert_ptr_null(rules_match(r, RULES_ROUTE_USER, RULES_COUNT_KEYS));
	ck_assert_ptr_null(rules_match(r, RULES_ROUTE_USER, 0));
	rules_counts(r, 0, &n);
	ck_assert_uint_eq(n.keys, RULES_COUNT_KEYS);
	ck_assert_uint_eq(n.untracked, 1);
	ck_assert_uint_eq(n.matches, RULES_COUNT_KEYS + 2);
}
END_TEST

/* Several threads at once: a times=N rule applies exactly N times, per
 * id and all together, and every match is counted once. */
#define RACERS 4
#define RACES 2000

static void *race(void *arg)
{
	unsigned *hits = arg;

	for (unsigned k = 0; k < RACES; k++) {
		struct rule_hit hit;

		if (rules_apply(r, RULES_ROUTE_USER, k % 4, NULL, 0, &hit) != NULL)
			hits[hit.index]++;
	}
	return NULL;
}

START_TEST(test_counting_is_thread_safe)
{
	pthread_t t[RACERS];
	unsigned hits[RACERS][2] = {{0}}, sum[2] = {0};
	struct rule_counts n;

	ck_assert(rules_add(r, "ids=0-1 times=300 fault=reset", err, sizeof(err)));
	ck_assert(rules_add(r, "times=700 per=all fault=close", err, sizeof(err)));
	for (int i = 0; i < RACERS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, race, hits[i]), 0);
	for (int i = 0; i < RACERS; i++) {
		pthread_join(t[i], NULL);
		sum[0] += hits[i][0];
		sum[1] += hits[i][1];
	}
	ck_assert_uint_eq(sum[0], 600);
	ck_assert_uint_eq(sum[1], 700);
	rules_counts(r, 0, &n);
	ck_assert_uint_eq(n.matches, RACERS * RACES / 2);
	rules_counts(r, 1, &n);
	ck_assert_uint_eq(n.matches, RACERS * RACES - 600);
}
END_TEST

/* ---- schedules ------------------------------------------------------------ */

#define T0 UINT64_C(5000000000000) /* when the set is put in force */
#define MS(x) (T0 + (uint64_t)(x) * UINT64_C(1000000))

/* Does the set apply a rule to user 1 at `now`?  Its scale in *scale. */
static bool hit_at(uint64_t now, double *scale)
{
	struct rule_hit hit;

	if (rules_apply(r, RULES_ROUTE_USER, 1, NULL, now, &hit) == NULL)
		return false;
	if (scale != NULL)
		*scale = hit.scale;
	return true;
}

/* at=A-B: from A (included) to B (not), counted from the set's start. */
START_TEST(test_window)
{
	ck_assert(rules_add(r, "at=1-2.5 fault=status:503", err, sizeof(err)));
	rules_start(r, T0);
	ck_assert(!hit_at(T0, NULL));
	ck_assert(!hit_at(MS(999), NULL));
	ck_assert(hit_at(MS(1000), NULL));
	ck_assert(hit_at(MS(2499), NULL));
	ck_assert(!hit_at(MS(2500), NULL));
	ck_assert(!hit_at(MS(100000), NULL));
	ck_assert(!hit_at(T0 - 1, NULL)); /* a clock before the start: at 0 */
	ck_assert(!rules_active(r, 0, MS(500), NULL));
	ck_assert(rules_active(r, 0, MS(1500), NULL));
}
END_TEST

/* every=P: the window in each period, again and again. */
START_TEST(test_every)
{
	ck_assert(rules_add(r, "every=2 at=1-2 fault=reset", err, sizeof(err)));
	rules_start(r, T0);
	ck_assert(!hit_at(MS(500), NULL));
	ck_assert(hit_at(MS(1500), NULL));
	ck_assert(!hit_at(MS(2000), NULL));
	ck_assert(!hit_at(MS(2999), NULL));
	ck_assert(hit_at(MS(3000), NULL));
	ck_assert(hit_at(MS(101999), NULL));
	ck_assert(!hit_at(MS(102000), NULL));
}
END_TEST

/* A ramp: X at A, Y at B, straight between; outside the window the
 * rule does not apply.  A constant scale is the same everywhere. */
START_TEST(test_ramp)
{
	double scale = 0;

	ck_assert(rules_add(r, "at=1-3 scale=1..4 ids=1", err, sizeof(err)));
	ck_assert(rules_add(r, "scale=2.5", err, sizeof(err)));
	rules_start(r, T0);
	ck_assert(hit_at(MS(1000), &scale));
	ck_assert_double_eq_tol(scale, 1.0, 1e-9);
	ck_assert(hit_at(MS(2000), &scale));
	ck_assert_double_eq_tol(scale, 2.5, 1e-9);
	ck_assert(hit_at(MS(2500), &scale));
	ck_assert_double_eq_tol(scale, 3.25, 1e-9);
	ck_assert(hit_at(MS(2999), &scale));
	ck_assert_double_eq_tol(scale, 3.9985, 1e-9);
	/* Outside its window the next rule applies: scale=2.5, always. */
	ck_assert(hit_at(MS(3000), &scale));
	ck_assert_double_eq_tol(scale, 2.5, 1e-9);
	ck_assert(rules_active(r, 1, MS(0), &scale));
	ck_assert_double_eq_tol(scale, 2.5, 1e-9);
	ck_assert(!rules_active(r, 0, MS(0), &scale));
	ck_assert_double_eq_tol(scale, 1.0, 1e-9);
}
END_TEST

/* A rule without scale= scales by 1. */
START_TEST(test_no_scale_is_one)
{
	double scale = 0;

	ck_assert(rules_add(r, "at=0-1 delay=fixed:5", err, sizeof(err)));
	rules_start(r, T0);
	ck_assert(hit_at(MS(10), &scale));
	ck_assert_double_eq(scale, 1.0);
}
END_TEST

/* A request outside the window does not reach the rule: it is not
 * counted, so times=1 is the first request inside the window. */
START_TEST(test_window_before_counts)
{
	struct rule_counts n;

	ck_assert(rules_add(r, "at=1-2 times=1 fault=reset", err, sizeof(err)));
	rules_start(r, T0);
	ck_assert(!hit_at(MS(500), NULL));
	ck_assert(!hit_at(MS(900), NULL));
	rules_counts(r, 0, &n);
	ck_assert_uint_eq(n.matches, 0);
	ck_assert(hit_at(MS(1100), NULL));
	ck_assert(!hit_at(MS(1200), NULL));
	rules_counts(r, 0, &n);
	ck_assert_uint_eq(n.matches, 2);
}
END_TEST

/* A copy has the same schedule and counts from its own start; a set
 * never started counts from 0 (so rules_match(), at the start, sees
 * at=0-1 active and at=1-2 not). */
START_TEST(test_copy_starts_anew)
{
	struct rules *copy;
	struct rule_parts p;

	ck_assert(rules_add(r, "at=1-2 every=3 scale=1..2 fault=close", err, sizeof(err)));
	ck_assert(rules_add(r, "at=0-1 fault=reset", err, sizeof(err)));
	rules_start(r, T0);
	copy = rules_copy(r);
	ck_assert(rules_equal(r, copy));
	rules_parts(copy, 0, &p);
	ck_assert_str_eq(p.at, "1-2");
	ck_assert_str_eq(p.every, "3");
	ck_assert_str_eq(p.scale, "1..2");
	ck_assert_ptr_null(p.delay);
	ck_assert_int_eq(rules_match(copy, RULES_ROUTE_USER, 1)->fault.kind, FAULT_RESET);
	ck_assert(rules_active(copy, 0, UINT64_C(1500000000), NULL));
	ck_assert(!rules_active(r, 0, UINT64_C(1500000000), NULL));
	rules_start(copy, MS(7000));
	ck_assert(rules_active(copy, 0, MS(8500), NULL));
	ck_assert(!rules_active(copy, 0, MS(7500), NULL));
	rules_unref(copy);
}
END_TEST

/* A copy (POST /config/reset) shares its models' data: it does not read
 * a samples: file again, so it works when the file has gone or changed
 * since, and draws what the original does.  Before, the copy parsed each
 * rule's text again: with the file gone it failed. */
START_TEST(test_copy_keeps_file_data)
{
	char path[] = "/tmp/check_rules_XXXXXX", text[96];
	struct rules *copy;
	struct rule_counts n;
	const struct rule_effect *e;
	struct rng g;
	bool seen5 = false, seen7 = false;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "5\n7\n", 4), 4);
	close(fd);
	snprintf(text, sizeof(text), "ids=7 times=1 delay=samples:%s", path);
	ck_assert_msg(rules_add(r, text, err, sizeof(err)), "%s", err);
	ck_assert_ptr_nonnull(rules_match(r, RULES_ROUTE_USER, 7)); /* counted: 1 */
	unlink(path);
	copy = rules_copy(r);
	ck_assert_ptr_nonnull(copy);
	ck_assert(rules_equal(r, copy));
	ck_assert_str_eq(rules_text(copy, 0), rules_text(r, 0));
	rules_counts(copy, 0, &n);
	ck_assert(n.counted);
	ck_assert_uint_eq(n.matches, 0);
	/* It matches once (times=1) and draws the file's 5 or 7 ms. */
	e = rules_match(copy, RULES_ROUTE_USER, 7);
	ck_assert_ptr_nonnull(e);
	ck_assert_ptr_null(rules_match(copy, RULES_ROUTE_USER, 7));
	rng_seed(&g, 9);
	for (int i = 0; i < 64; i++) {
		uint64_t us = delay_draw_us(&e->delay, &g);

		ck_assert_msg(us == 5000 || us == 7000, "drew %" PRIu64 " us", us);
		seen5 |= us == 5000;
		seen7 |= us == 7000;
	}
	ck_assert(seen5 && seen7);
	rules_unref(copy);
}
END_TEST

/* The windows in a span: cut to it and to the start; the last ones
 * when there are more than asked for; none for a rule without at=. */
START_TEST(test_windows)
{
	struct rule_window w[4];

	ck_assert(rules_add(r, "every=2 at=1-2 fault=reset", err, sizeof(err)));
	ck_assert(rules_add(r, "at=1-2.5 fault=reset", err, sizeof(err)));
	ck_assert(rules_add(r, "fault=reset", err, sizeof(err)));
	rules_start(r, T0);
	ck_assert_uint_eq(rules_windows(r, 0, 0, MS(5000), w, 4), 2);
	ck_assert_uint_eq(w[0].from_ns, MS(1000));
	ck_assert_uint_eq(w[0].to_ns, MS(2000));
	ck_assert_uint_eq(w[1].from_ns, MS(3000));
	ck_assert_uint_eq(w[1].to_ns, MS(4000));
	ck_assert_uint_eq(rules_windows(r, 0, MS(1500), MS(3500), w, 4), 2);
	ck_assert_uint_eq(w[0].from_ns, MS(1500));
	ck_assert_uint_eq(w[1].to_ns, MS(3500));
	ck_assert_uint_eq(rules_windows(r, 0, MS(0), MS(100000), w, 4), 4);
	ck_assert_uint_eq(w[3].from_ns, MS(99000));
	ck_assert_uint_eq(w[0].from_ns, MS(93000));
	ck_assert_uint_eq(rules_windows(r, 1, 0, MS(100000), w, 4), 1);
	ck_assert_uint_eq(w[0].to_ns, MS(2500));
	ck_assert_uint_eq(rules_windows(r, 1, MS(2500), MS(3000), w, 4), 0);
	ck_assert_uint_eq(rules_windows(r, 2, 0, MS(100000), w, 4), 0);
	/* A span that ends before its last period's window begins: still the
	 * last max windows (before: one fewer, 99000 and 97000 but no more). */
	ck_assert_uint_eq(rules_windows(r, 0, MS(0), MS(100500), w, 4), 4);
	ck_assert_uint_eq(w[0].from_ns, MS(93000));
	ck_assert_uint_eq(w[3].from_ns, MS(99000));
	ck_assert_uint_eq(rules_windows(r, 0, MS(0), MS(100500), w, 1), 1);
	ck_assert_uint_eq(w[0].from_ns, MS(99000));
}
END_TEST

/* fault=status:503=0.2: a fifth of the requests the rule matches, by
 * the request's own draw (a seeded stream: always the same count here),
 * the rest no fault; a plain fault is every request's. */
START_TEST(test_fault_mix_shares)
{
	const struct rule_effect *e;
	struct rng rng;
	unsigned n = 10000, failed = 0, reset = 0;

	ck_assert(rules_add(r, "ids=1 fault=status:503=0.2,reset=0.1", err, sizeof(err)));
	ck_assert(rules_add(r, "ids=2 fault=status:503", err, sizeof(err)));
	e = rules_match(r, RULES_ROUTE_USER, 1);
	ck_assert(e->has_fault && e->mixed);
	rng_seed(&rng, 42);
	for (unsigned i = 0; i < n; i++) {
		struct fault f = fault_mix_pick(&e->mix, 0, rng_unit(&rng));

		failed += f.kind == FAULT_STATUS && f.arg == 503;
		reset += f.kind == FAULT_RESET;
	}
	/* Binomial: 2000 +- 40 and 1000 +- 30 (one sigma); 5 sigmas. */
	ck_assert_msg(failed > 1800 && failed < 2200, "%u of %u", failed, n);
	ck_assert_msg(reset > 850 && reset < 1150, "%u of %u", reset, n);
	e = rules_match(r, RULES_ROUTE_USER, 2);
	ck_assert(e->has_fault && !e->mixed && e->fault.kind == FAULT_STATUS);
}
END_TEST

static Suite *rules_suite(void)
{
	Suite *s = suite_create("rules");
	TCase *tc = tcase_create("rules");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_canonical_text, 0, sizeof(lines) / sizeof(lines[0]));
	tcase_add_test(tc, test_parts);
	tcase_add_test(tc, test_fields_are_never_split);
	tcase_add_test(tc, test_long_rules_are_whole_or_refused);
	tcase_add_test(tc, test_long_line_is_kept_whole);
	tcase_add_test(tc, test_first_match_wins);
	tcase_add_test(tc, test_bad_lines_say_why);
	tcase_add_test(tc, test_times_and_after);
	tcase_add_test(tc, test_retry_after);
	tcase_add_test(tc, test_per_kinds);
	tcase_add_test(tc, test_counts_restart_with_a_new_set);
	tcase_add_test(tc, test_count_keys_are_bounded);
	tcase_add_test(tc, test_counting_is_thread_safe);
	tcase_add_test(tc, test_window);
	tcase_add_test(tc, test_every);
	tcase_add_test(tc, test_ramp);
	tcase_add_test(tc, test_no_scale_is_one);
	tcase_add_test(tc, test_window_before_counts);
	tcase_add_test(tc, test_copy_starts_anew);
	tcase_add_test(tc, test_copy_keeps_file_data);
	tcase_add_test(tc, test_windows);
	tcase_add_test(tc, test_fault_mix_shares);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(rules_suite());
}
