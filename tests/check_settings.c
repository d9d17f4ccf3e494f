/* Unit tests for src/settings.c: immutable, counted snapshots of the
 * run-time settings and rules.  Leaks and use after free show in the
 * sanitizer and valgrind stages. */
#include <check.h>
#include <string.h>

#include "settings.h"
#include "testutil.h"

START_TEST(test_snapshot_copies_settings_and_holds_rules)
{
	struct run_settings run;
	struct rules *rules = rules_create();
	struct settings *s, *again;
	char err[128];

	memset(&run, 0, sizeof(run));
	run.max_batch = 7;
	ck_assert(rules_add(rules, "ids=3 fault=reset", err, sizeof(err)));
	s = settings_create(&run, rules);
	ck_assert_ptr_nonnull(s);
	/* The snapshot keeps what it was made from, whatever happens to it. */
	run.max_batch = 8;
	rules_unref(rules);
	ck_assert_uint_eq(s->run.max_batch, 7);
	ck_assert_ptr_nonnull(rules_match(s->rules, RULES_ROUTE_USER, 3));
	/* References: the last one frees it (and its rules). */
	again = settings_ref(s);
	ck_assert_ptr_eq(again, s);
	settings_unref(s);
	ck_assert_str_eq(rules_text(again->rules, 0), "ids=3 fault=reset");
	settings_unref(again);
}
END_TEST

START_TEST(test_null_is_no_rules_and_no_snapshot)
{
	struct run_settings run;
	struct settings *s;

	memset(&run, 0, sizeof(run));
	s = settings_create(&run, NULL);
	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_null(s->rules);
	settings_unref(s);
	ck_assert_ptr_null(settings_ref(NULL));
	settings_unref(NULL);
}
END_TEST

static Suite *settings_suite(void)
{
	Suite *s = suite_create("settings");
	TCase *tc = tcase_create("snapshots");

	tcase_add_test(tc, test_snapshot_copies_settings_and_holds_rules);
	tcase_add_test(tc, test_null_is_no_rules_and_no_snapshot);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(settings_suite());
}
