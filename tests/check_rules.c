/* Unit tests for src/rules.c: rules built from a line or field by field,
 * their canonical form, and matching. */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
		{"ids=5", "needs a delay or a fault"},
		{"fault", "expected key=value"},
		{"fault=", "a value is required"},
		{"route=/x fault=reset", "is not /user or /users"},
		{"ids=5-4 fault=reset", "is not an id or a range"},
		{"delay=fixed:x", "delay:"},
		{"fault=bogus", "unknown fault"},
		{"what=1 fault=reset", "unknown key 'what'"},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(!rules_add(r, bad[i].line, err, sizeof(err)), "%s", bad[i].line);
		ck_assert_msg(strstr(err, bad[i].says) != NULL, "%s: %s", bad[i].line, err);
	}
	ck_assert_uint_eq(rules_count(r), 0);
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
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(rules_suite());
}
