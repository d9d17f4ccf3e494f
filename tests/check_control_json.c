/* Unit tests for src/control.c: the control API's JSON, with no server. */
#include <check.h>
#include <jansson.h>
#include <string.h>

#include "config.h"
#include "control.h"
#include "testutil.h"

static struct config cfg;

static void setup(void)
{
	config_defaults(&cfg);
}

static void teardown(void)
{
	config_free(&cfg);
}

START_TEST(test_patch_applies_all)
{
	static const char body[] = "{\"delay\": \"fixed:7\", \"error-rate\": 0.5, "
				   "\"no-delay-override\": true, \"max-batch\": 9}";
	struct run_settings out;
	json_t *errors = NULL, *j;

	ck_assert(control_patch(body, strlen(body), &cfg.run, &out, &errors));
	ck_assert_ptr_null(errors);
	ck_assert_int_eq(out.delay.kind, DELAY_FIXED);
	ck_assert_uint_eq(out.delay.min_ms, 7);
	ck_assert_double_eq(out.error_rate, 0.5);
	ck_assert(!out.delay_override);
	ck_assert_uint_eq(out.max_batch, 9);
	j = control_config_json(&out);
	ck_assert_str_eq(json_string_value(json_object_get(j, "delay")), "fixed:7");
	ck_assert(json_is_true(json_object_get(j, "no-delay-override")));
	json_decref(j);
}
END_TEST

/* One bad field changes nothing, and every bad field is named, even when
 * its message quotes client text cut inside a UTF-8 sequence (found by
 * fuzz_control: the message was not valid UTF-8, jansson refused it, and
 * the PATCH went through without the field). */
START_TEST(test_patch_all_or_nothing)
{
	static const char body[] = "{\"delay\": \"fixed:7\", \"faults\": "
		"\"x\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"
		"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"
		"\\u00e9\\u00e9=0.1\", \"port\": 1}";
	struct run_settings out = {.max_batch = 12345};
	json_t *errors = NULL;

	ck_assert(!control_patch(body, strlen(body), &cfg.run, &out, &errors));
	ck_assert_ptr_nonnull(errors);
	ck_assert_ptr_nonnull(json_object_get(errors, "faults"));
	ck_assert_ptr_nonnull(json_object_get(errors, "port"));
	ck_assert_ptr_null(json_object_get(errors, "delay"));
	ck_assert_uint_eq(out.max_batch, 12345); /* untouched */
	json_decref(errors);
}
END_TEST

START_TEST(test_bad_bodies_say_why)
{
	static const char *const bodies[] = {
		"", "[]", "not json", "{\"reus\\\xd3\x8f\x90\x8d\x8b\xdd\xc5\xc4}",
	};
	struct run_settings out;
	struct rules *rules = NULL;
	json_t *errors;

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		errors = NULL;
		ck_assert(!control_patch(bodies[i], strlen(bodies[i]), &cfg.run, &out, &errors));
		ck_assert_msg(json_is_string(json_object_get(errors, "body")), "body %zu", i);
		json_decref(errors);
		errors = NULL;
		if (i == 1)
			continue; /* [] is an empty rule list */
		ck_assert(!control_parse_rules(bodies[i], strlen(bodies[i]), &rules, &errors));
		ck_assert_ptr_null(rules);
		ck_assert_ptr_nonnull(errors);
		json_decref(errors);
	}
}
END_TEST

START_TEST(test_rules_whole_list)
{
	static const char good[] = "[{\"match\": {\"route\": \"/user\", \"ids\": \"13,100-199\"},"
				   " \"fault\": \"reset\"}, \"ids=5 delay=fixed:9\"]";
	static const char bad[] = "[\"ids=5 delay=fixed:9\", {\"fault\": 3}, \"ids=x fault=close\"]";
	struct rules *rules = NULL;
	json_t *errors = NULL;

	ck_assert(control_parse_rules(good, strlen(good), &rules, &errors));
	ck_assert_uint_eq(rules_count(rules), 2);
	ck_assert(rules_match(rules, RULES_ROUTE_USER, 150)->fault.kind == FAULT_RESET);
	ck_assert_ptr_null(rules_match(rules, RULES_ROUTE_USERS, 150));
	ck_assert_uint_eq(rules_match(rules, RULES_ROUTE_USERS, 5)->delay.min_ms, 9);
	rules_unref(rules);
	rules = NULL;
	ck_assert(!control_parse_rules(bad, strlen(bad), &rules, &errors));
	ck_assert_ptr_null(rules);
	ck_assert_ptr_null(json_object_get(errors, "0"));
	ck_assert_ptr_nonnull(json_object_get(errors, "1"));
	ck_assert_ptr_nonnull(json_object_get(errors, "2"));
	json_decref(errors);
}
END_TEST

static Suite *control_json_suite(void)
{
	Suite *s = suite_create("control_json");
	TCase *tc = tcase_create("json");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_patch_applies_all);
	tcase_add_test(tc, test_patch_all_or_nothing);
	tcase_add_test(tc, test_bad_bodies_say_why);
	tcase_add_test(tc, test_rules_whole_list);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(control_json_suite());
}
