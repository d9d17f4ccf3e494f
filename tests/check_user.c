/* Unit tests for src/user.c: the id grammar and the record. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "user.h"
#include "testutil.h"

static const struct {
	const char *text;
	uint64_t id;
} good_ids[] = {
	{"0", 0},
	{"7", 7},
	{"42", 42},
	{"007", 7},
	{"1000000", 1000000},
	{"9223372036854775807", 9223372036854775807u},
	{"09223372036854775807", 9223372036854775807u},
};

static const char *const bad_ids[] = {
	"", "abc", "-1", "+1", "1.5", "1e3", " 1", "1 ", "0x10", "7/extra",
	"7/", "9223372036854775808", "99999999999999999999",
	"18446744073709551616", "１", "7\n", "%37",
};

START_TEST(test_good_ids)
{
	uint64_t id = 12345;
	const char *t = good_ids[_i].text;

	ck_assert_msg(user_parse_id(t, strlen(t), &id), "'%s' rejected", t);
	ck_assert_uint_eq(id, good_ids[_i].id);
}
END_TEST

START_TEST(test_bad_ids)
{
	uint64_t id = 12345;
	const char *t = bad_ids[_i];

	ck_assert_msg(!user_parse_id(t, strlen(t), &id), "'%s' accepted", t);
	ck_assert_uint_eq(id, 12345); /* untouched on failure */
}
END_TEST

START_TEST(test_length_is_respected)
{
	uint64_t id = 0;

	/* Only the first two bytes count: no NUL needed, none read past. */
	ck_assert(user_parse_id("12x", 2, &id));
	ck_assert_uint_eq(id, 12);
	ck_assert(!user_parse_id("1\0002", 3, &id));
}
END_TEST

START_TEST(test_age_range_and_determinism)
{
	struct rng a, b;
	unsigned seen[USER_AGE_MAX + 1] = {0};

	rng_seed(&a, 99);
	rng_seed(&b, 99);
	for (int i = 0; i < 5000; i++) {
		struct user u, v;

		user_fetch(&u, (uint64_t)i, &a);
		user_fetch(&v, (uint64_t)i, &b);
		ck_assert_uint_eq(u.id, (uint64_t)i);
		ck_assert_uint_ge(u.age, USER_AGE_MIN);
		ck_assert_uint_le(u.age, USER_AGE_MAX);
		ck_assert_uint_eq(u.age, v.age);
		seen[u.age]++;
	}
	/* Every age in 20..40 shows up. */
	for (unsigned age = USER_AGE_MIN; age <= USER_AGE_MAX; age++)
		ck_assert_uint_gt(seen[age], 0);
}
END_TEST


static Suite *user_suite(void)
{
	Suite *s = suite_create("user");
	TCase *ids = tcase_create("ids");
	TCase *rec = tcase_create("record");

	tcase_add_loop_test(ids, test_good_ids, 0,
			    (int)(sizeof(good_ids) / sizeof(good_ids[0])));
	tcase_add_loop_test(ids, test_bad_ids, 0,
			    (int)(sizeof(bad_ids) / sizeof(bad_ids[0])));
	tcase_add_test(ids, test_length_is_respected);
	tcase_add_test(rec, test_age_range_and_determinism);
	suite_add_tcase(s, ids);
	suite_add_tcase(s, rec);
	return s;
}

int main(void)
{
	return testutil_run(user_suite());
}
