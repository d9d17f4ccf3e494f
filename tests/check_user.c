/* Unit tests for src/user.c: the id grammar and the record. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "decimal.h"
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

static const struct {
	const char *text;
	uint64_t max;
	enum decimal_result result;
	uint64_t value;
} decimals[] = {
	{"0", 0, DECIMAL_OK, 0},
	{"10", 10, DECIMAL_OK, 10},
	{"11", 10, DECIMAL_TOO_BIG, 0},
	{"18446744073709551615", UINT64_MAX, DECIMAL_OK, UINT64_MAX},
	{"18446744073709551616", UINT64_MAX, DECIMAL_TOO_BIG, 0},
	{"99999999999999999999999999999", UINT64_MAX, DECIMAL_TOO_BIG, 0},
	{"99999999999999999999999999999x", UINT64_MAX, DECIMAL_INVALID, 0},
	{"", 100, DECIMAL_INVALID, 0},
	{"-1", 100, DECIMAL_INVALID, 0},
	{"+1", 100, DECIMAL_INVALID, 0},
	{" 1", 100, DECIMAL_INVALID, 0},
	{"1 ", 100, DECIMAL_INVALID, 0},
	{"0x1", 100, DECIMAL_INVALID, 0},
	{"007", 7, DECIMAL_OK, 7},
	{"3600000", 3600000, DECIMAL_OK, 3600000},
	{"3600001", 3600000, DECIMAL_TOO_BIG, 0},
};

START_TEST(test_decimals)
{
	uint64_t v = 4242;
	const char *t = decimals[_i].text;

	ck_assert_int_eq(decimal_parse(t, strlen(t), decimals[_i].max, &v),
			 decimals[_i].result);
	ck_assert_uint_eq(v, decimals[_i].result == DECIMAL_OK ? decimals[_i].value : 4242);
}
END_TEST

/* Shares: the --error-rate and --faults grammar. */
static const struct {
	const char *text;
	bool ok;
	double value;
} shares[] = {
	{"0", true, 0},
	{"1", true, 1},
	{"0.25", true, 0.25},
	{".5", true, 0.5},
	{"1.", true, 1},
	{"0.3", true, 0.3},
	{"00000000000000000000000000000001", true, 1}, /* DECIMAL_SHARE_MAX bytes */
	{"000000000000000000000000000000001", false, 0},
	{"0.0030000000000000001", true, 0.003}, /* as %.17g prints it */
	{"1.0000000000000001e-05", true, 1e-5},
	{"1e-1", true, 0.1},
	{"1E-5", true, 1e-5},
	{"5e-1", true, 0.5},
	{"1e+0", true, 1},
	{".5e0", true, 0.5},
	{"1e1", false, 0},
	{"1e", false, 0},
	{"e-1", false, 0},
	{"1e-", false, 0},
	{"1e-0001", false, 0},
	{"1e-400", false, 0}, /* underflows */
	{"1e-1.5", false, 0},
	{"nan", false, 0},
	{"inf", false, 0},
	{"", false, 0},
	{".", false, 0},
	{"1.5", false, 0},
	{"2", false, 0},
	{"-0.1", false, 0},
	{"+0.1", false, 0},
	{"0.5.5", false, 0},
	{" 0.5", false, 0},
	{"0.5 ", false, 0},
	{"0x1", false, 0},
};

START_TEST(test_shares)
{
	double v = 42;
	const char *t = shares[_i].text;

	ck_assert_int_eq(decimal_share(t, strlen(t), &v), shares[_i].ok);
	ck_assert_double_eq(v, shares[_i].ok ? shares[_i].value : 42);
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
	tcase_add_loop_test(ids, test_decimals, 0,
			    (int)(sizeof(decimals) / sizeof(decimals[0])));
	tcase_add_loop_test(ids, test_shares, 0, (int)(sizeof(shares) / sizeof(shares[0])));
	tcase_add_test(rec, test_age_range_and_determinism);
	suite_add_tcase(s, ids);
	suite_add_tcase(s, rec);
	return s;
}

int main(void)
{
	return testutil_run(user_suite());
}
