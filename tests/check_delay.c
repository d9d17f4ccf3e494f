/* Unit tests for src/delay.c: bounds, spread, seed determinism. */
#include <check.h>
#include <stdlib.h>

#include "delay.h"
#include "testutil.h"

START_TEST(test_uniform_bounds_and_spread)
{
	struct delay_model m = {.min_ms = 500, .max_ms = 2000};
	struct rng r;
	uint64_t lo = UINT64_MAX, hi = 0;
	double sum = 0;
	enum { N = 100000 };

	rng_seed(&r, 1);
	for (int i = 0; i < N; i++) {
		uint64_t d = delay_draw_us(&m, &r);

		ck_assert_uint_ge(d, 500000);
		ck_assert_uint_le(d, 2000000);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
		sum += (double)d;
	}
	/* The whole range is used and the mean is the midpoint (±1%). */
	ck_assert_uint_lt(lo, 510000);
	ck_assert_uint_gt(hi, 1990000);
	ck_assert_double_eq_tol(sum / N, 1250000.0, 12500.0);
}
END_TEST

START_TEST(test_fixed_and_zero)
{
	struct delay_model fixed = {.min_ms = 300, .max_ms = 300};
	struct delay_model zero = {.min_ms = 0, .max_ms = 0};
	struct rng r;

	rng_seed(&r, 2);
	for (int i = 0; i < 100; i++) {
		ck_assert_uint_eq(delay_draw_us(&fixed, &r), 300000);
		ck_assert_uint_eq(delay_draw_us(&zero, &r), 0);
	}
}
END_TEST

START_TEST(test_seed_determinism)
{
	struct delay_model m = {.min_ms = 0, .max_ms = 60000};
	struct rng a, b, c;
	int differ = 0;

	rng_seed(&a, 42);
	rng_seed(&b, 42);
	rng_seed(&c, 43);
	for (int i = 0; i < 1000; i++) {
		uint64_t x = delay_draw_us(&m, &a);

		ck_assert_uint_eq(x, delay_draw_us(&m, &b));
		differ += x != delay_draw_us(&m, &c);
	}
	ck_assert_int_gt(differ, 990);
}
END_TEST

START_TEST(test_below_is_unbiased_enough)
{
	enum { BOUND = 7, N = 70000 };
	unsigned counts[BOUND] = {0};
	struct rng r;

	rng_seed(&r, 7);
	for (int i = 0; i < N; i++) {
		uint64_t v = rng_below(&r, BOUND);

		ck_assert_uint_lt(v, BOUND);
		counts[v]++;
	}
	for (int i = 0; i < BOUND; i++) { /* 10000 expected, ~95 std dev */
		ck_assert_uint_gt(counts[i], 9400);
		ck_assert_uint_lt(counts[i], 10600);
	}
	ck_assert_uint_eq(rng_below(&r, 1), 0);
}
END_TEST

START_TEST(test_os_seed_varies)
{
	ck_assert_uint_ne(rng_os_seed(), rng_os_seed());
}
END_TEST

static Suite *delay_suite(void)
{
	Suite *s = suite_create("delay");
	TCase *tc = tcase_create("uniform");

	tcase_add_test(tc, test_uniform_bounds_and_spread);
	tcase_add_test(tc, test_fixed_and_zero);
	tcase_add_test(tc, test_seed_determinism);
	tcase_add_test(tc, test_below_is_unbiased_enough);
	tcase_add_test(tc, test_os_seed_varies);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(delay_suite());
}
