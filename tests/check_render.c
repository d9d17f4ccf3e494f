/* Unit tests for src/render.c: exact bodies, types, escaping, limits. */
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "testutil.h"

START_TEST(test_user_exact)
{
	struct user u = {.id = 7, .age = 31};
	char buf[RENDER_BUF_SIZE];
	size_t len = render_user(&u, buf, sizeof(buf));

	ck_assert_str_eq(buf, "{\"user_id\": 7, \"name\": \"User7\", \"age\": 31}");
	ck_assert_uint_eq(len, strlen(buf));
}
END_TEST

START_TEST(test_user_largest_id_types)
{
	struct user u = {.id = USER_ID_MAX, .age = 40};
	char buf[RENDER_BUF_SIZE];
	json_error_t jerr;
	json_t *doc;

	ck_assert_uint_gt(render_user(&u, buf, sizeof(buf)), 0);
	doc = json_loads(buf, 0, &jerr);
	ck_assert_ptr_nonnull(doc);
	ck_assert_uint_eq(json_object_size(doc), 3);
	ck_assert(json_is_integer(json_object_get(doc, "user_id")));
	ck_assert_int_eq(json_integer_value(json_object_get(doc, "user_id")),
			 INT64_MAX);
	ck_assert_str_eq(json_string_value(json_object_get(doc, "name")),
			 "User9223372036854775807");
	ck_assert(json_is_integer(json_object_get(doc, "age")));
	json_decref(doc);
}
END_TEST

START_TEST(test_error_exact_and_escaped)
{
	char buf[RENDER_BUF_SIZE];
	json_error_t jerr;
	json_t *doc;

	ck_assert_uint_gt(render_error(404, "not found", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "{\"error\": \"not found\", \"status\": 404}");

	ck_assert_uint_gt(render_error(400, "bad \"x\"\n\\", buf, sizeof(buf)), 0);
	doc = json_loads(buf, 0, &jerr);
	ck_assert_ptr_nonnull(doc);
	ck_assert_str_eq(json_string_value(json_object_get(doc, "error")),
			 "bad \"x\"\n\\");
	ck_assert_int_eq(json_integer_value(json_object_get(doc, "status")), 400);
	json_decref(doc);
}
END_TEST

START_TEST(test_too_small_buffer)
{
	struct user u = {.id = 123456789, .age = 20};
	char buf[16];

	memset(buf, 'x', sizeof(buf));
	ck_assert_uint_eq(render_user(&u, buf, sizeof(buf)), 0);
	ck_assert_uint_eq(render_error(500, "internal server error", buf,
				       sizeof(buf)), 0);
}
END_TEST

static Suite *render_suite(void)
{
	Suite *s = suite_create("render");
	TCase *tc = tcase_create("json");

	tcase_add_test(tc, test_user_exact);
	tcase_add_test(tc, test_user_largest_id_types);
	tcase_add_test(tc, test_error_exact_and_escaped);
	tcase_add_test(tc, test_too_small_buffer);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(render_suite());
}
