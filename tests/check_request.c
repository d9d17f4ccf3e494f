/* Unit tests for src/request.c: routes, ids lists, delay and flag values. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"
#include "testutil.h"

static const struct {
	const char *path;
	enum request_route route;
	const char *id;
} paths[] = {
	{"/user/7", ROUTE_USER, "7"},
	{"/user/", ROUTE_USER, ""},
	{"/user/7/extra", ROUTE_USER, "7/extra"},
	{"/users", ROUTE_USERS, NULL},
	{"/healthz", ROUTE_HEALTHZ, NULL},
	{"/readyz", ROUTE_READYZ, NULL},
	{"/metrics", ROUTE_METRICS, NULL},
	{"/user", ROUTE_NOT_FOUND, NULL},
	{"/users/", ROUTE_NOT_FOUND, NULL},
	{"/usersx", ROUTE_NOT_FOUND, NULL},
	{"/", ROUTE_NOT_FOUND, NULL},
	{"", ROUTE_NOT_FOUND, NULL},
	{"/USER/7", ROUTE_NOT_FOUND, NULL},
	{"//user/7", ROUTE_NOT_FOUND, NULL},
	{"/metrics/", ROUTE_NOT_FOUND, NULL},
};

START_TEST(test_paths)
{
	struct request_path p;

	request_parse_path(paths[_i].path, strlen(paths[_i].path), &p);
	ck_assert_msg(p.route == paths[_i].route, "%s: route %d", paths[_i].path, p.route);
	if (paths[_i].id != NULL) {
		ck_assert_uint_eq(p.id_len, strlen(paths[_i].id));
		ck_assert(memcmp(p.id, paths[_i].id, p.id_len) == 0);
	}
}
END_TEST

START_TEST(test_path_uses_length_not_nul)
{
	struct request_path p;

	request_parse_path("/healthzXYZ", 8, &p);
	ck_assert_int_eq(p.route, ROUTE_HEALTHZ);
	request_parse_path("/user/12", 7, &p);
	ck_assert_int_eq(p.route, ROUTE_USER);
	ck_assert_uint_eq(p.id_len, 1);
}
END_TEST

START_TEST(test_ids_good)
{
	uint64_t ids[8];
	char err[128];

	ck_assert_uint_eq(request_parse_ids("1", 1, ids, 8, err, sizeof(err)), 1);
	ck_assert_uint_eq(ids[0], 1);
	ck_assert_uint_eq(request_parse_ids("3,1,2,3", 7, ids, 8, err, sizeof(err)), 4);
	ck_assert_uint_eq(ids[0], 3);
	ck_assert_uint_eq(ids[1], 1);
	ck_assert_uint_eq(ids[3], 3); /* duplicates allowed, order kept */
	ck_assert_uint_eq(request_parse_ids("0,9223372036854775807", 21, ids, 8,
					    err, sizeof(err)), 2);
	ck_assert_uint_eq(ids[1], 9223372036854775807u);
	/* exactly max */
	ck_assert_uint_eq(request_parse_ids("1,2,3", 5, ids, 3, err, sizeof(err)), 3);
}
END_TEST

static const struct {
	const char *text;
	const char *says;
} bad_ids[] = {
	{"", "ids: the list is empty"},
	{",", "ids: empty item at position 1"},
	{"1,", "ids: empty item at position 2"},
	{",1", "ids: empty item at position 1"},
	{"1,,2", "ids: empty item at position 2"},
	{"1,x", "ids: 'x' is not a valid user id"},
	{"-1", "ids: '-1' is not a valid user id"},
	{"1, 2", "ids: ' 2' is not a valid user id"},
	{"9223372036854775808", "is not a valid user id"},
	{"1,2,3,4", "ids: at most 3 ids per request"},
	{"\"\\\x01", "ids: '?\?\?' is not a valid user id"},
	{"1111111111111111111111111111111111111111", "...' is not a valid user id"},
};

START_TEST(test_ids_bad)
{
	uint64_t ids[3];
	char err[128] = "";

	ck_assert_uint_eq(request_parse_ids(bad_ids[_i].text, strlen(bad_ids[_i].text),
					    ids, 3, err, sizeof(err)), 0);
	ck_assert_msg(strstr(err, bad_ids[_i].says) != NULL, "'%s' said '%s'",
		      bad_ids[_i].text, err);
}
END_TEST

START_TEST(test_delay_values)
{
	uint32_t ms = 99;
	char err[128];

	ck_assert(request_parse_delay("0", 1, 60000, &ms, err, sizeof(err)));
	ck_assert_uint_eq(ms, 0);
	ck_assert(request_parse_delay("60000", 5, 60000, &ms, err, sizeof(err)));
	ck_assert_uint_eq(ms, 60000);
	ck_assert(request_parse_delay("00250", 5, 60000, &ms, err, sizeof(err)));
	ck_assert_uint_eq(ms, 250);

	ms = 99;
	ck_assert(!request_parse_delay("60001", 5, 60000, &ms, err, sizeof(err)));
	ck_assert_str_eq(err, "delay: at most 60000 ms");
	ck_assert(!request_parse_delay("99999999999999999999999", 23, 60000, &ms,
				       err, sizeof(err)));
	ck_assert_str_eq(err, "delay: at most 60000 ms");
	ck_assert(!request_parse_delay("", 0, 60000, &ms, err, sizeof(err)));
	ck_assert(strstr(err, "is not a number") != NULL);
	ck_assert(!request_parse_delay("1.5", 3, 60000, &ms, err, sizeof(err)));
	ck_assert(!request_parse_delay("-1", 2, 60000, &ms, err, sizeof(err)));
	ck_assert(!request_parse_delay("1e3", 3, 60000, &ms, err, sizeof(err)));
	ck_assert(!request_parse_delay(" 1", 2, 60000, &ms, err, sizeof(err)));
	ck_assert_uint_eq(ms, 99); /* untouched on failure */
}
END_TEST

START_TEST(test_flags)
{
	bool on = false;
	char err[128];

	ck_assert(request_parse_flag("fail", "1", 1, &on, err, sizeof(err)) && on);
	ck_assert(request_parse_flag("fail", "0", 1, &on, err, sizeof(err)) && !on);
	ck_assert(request_parse_flag("fail", "true", 4, &on, err, sizeof(err)) && on);
	ck_assert(request_parse_flag("fail", "false", 5, &on, err, sizeof(err)) && !on);
	ck_assert(!request_parse_flag("fail", "", 0, &on, err, sizeof(err)));
	ck_assert(!request_parse_flag("fail", "yes", 3, &on, err, sizeof(err)));
	ck_assert_str_eq(err, "fail: 'yes' is not 1, 0, true or false");
	ck_assert(!request_parse_flag("fail", "10", 2, &on, err, sizeof(err)));
}
END_TEST

static Suite *request_suite(void)
{
	Suite *s = suite_create("request");
	TCase *tc = tcase_create("parse");

	tcase_add_loop_test(tc, test_paths, 0, (int)(sizeof(paths) / sizeof(paths[0])));
	tcase_add_test(tc, test_path_uses_length_not_nul);
	tcase_add_test(tc, test_ids_good);
	tcase_add_loop_test(tc, test_ids_bad, 0, (int)(sizeof(bad_ids) / sizeof(bad_ids[0])));
	tcase_add_test(tc, test_delay_values);
	tcase_add_test(tc, test_flags);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(request_suite());
}
