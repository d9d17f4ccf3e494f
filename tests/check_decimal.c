/* Unit tests for src/decimal.c: plain decimal numbers and shares. */
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "decimal.h"
#include "testutil.h"

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

/* The shortest text decimal_share_format() writes reads back exactly,
 * and is short: "0.003", not 0.0030000000000000001. */
START_TEST(test_share_format_round_trips)
{
	static const struct {
		double v;
		const char *text;
	} known[] = {
		{0, "0"}, {1, "1"}, {0.5, "0.5"}, {0.003, "0.003"}, {1e-5, "1e-05"},
		{0.1234567890123456, "0.1234567890123456"},
	};
	char buf[DECIMAL_SHARE_MAX + 1];
	uint64_t x = 88172645463325252u;

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		decimal_share_format(known[i].v, buf, sizeof(buf));
		ck_assert_str_eq(buf, known[i].text);
	}
	for (int i = 0; i < 100000; i++) {
		double v, back = -1;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		v = (double)(x >> 11) / 9007199254740992.0; /* [0, 1) */
		if (i % 3 == 0)
			v /= 1e6;
		decimal_share_format(v, buf, sizeof(buf));
		ck_assert_msg(decimal_share(buf, strlen(buf), &back) && back == v,
			      "%.17g written as %s", v, buf);
	}
}
END_TEST

static Suite *decimal_suite(void)
{
	Suite *s = suite_create("decimal");
	TCase *tc = tcase_create("decimal");

	tcase_add_loop_test(tc, test_decimals, 0, (int)(sizeof(decimals) / sizeof(decimals[0])));
	tcase_add_loop_test(tc, test_shares, 0, (int)(sizeof(shares) / sizeof(shares[0])));
	tcase_add_test(tc, test_share_format_round_trips);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(decimal_suite());
}
