/* Unit tests for src/aim.c: the lead follows the mean lateness, is
 * bounded, never aims before now, and counts racing observations. */
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>

#include "aim.h"
#include "rng.h"
#include "testutil.h"

#define MS UINT64_C(1000000)

/* A fresh aim that has seen `n` answers each `late_ns` late. */
static void settle(struct aim *a, int n, uint64_t late_ns)
{
	aim_init(a);
	for (int i = 0; i < n; i++)
		aim_observe(a, late_ns);
}

START_TEST(test_starts_at_the_deadline)
{
	struct aim a;

	aim_init(&a);
	ck_assert_uint_eq(aim_lead_ns(&a), 0);
	ck_assert_uint_eq(aim_at(&a, 1000, 5000), 5000);
}
END_TEST

/* A constant lateness becomes the lead (to within the weight's rounding,
 * W ns); the mean of a spread one too. */
START_TEST(test_lead_is_the_mean_lateness)
{
	struct aim a;
	struct rng r;
	double sum = 0;

	settle(&a, 2000, 3 * MS);
	ck_assert_uint_le(3 * MS - aim_lead_ns(&a), AIM_WEIGHT);

	/* Uniform on 0..8 ms: mean 4 ms; the weighted mean of the last few
	 * hundred scatters by 8/sqrt(12)/sqrt(2W - 1) = 0.2 ms. */
	aim_init(&a);
	rng_seed(&r, 42);
	for (int i = 0; i < 5000; i++) {
		uint64_t x = (uint64_t)(rng_unit(&r) * 8 * MS);

		aim_observe(&a, x);
		sum += (double)aim_lead_ns(&a);
	}
	ck_assert_double_ge((double)aim_lead_ns(&a), 3.0 * MS);
	ck_assert_double_le((double)aim_lead_ns(&a), 5.0 * MS);
	/* Averaged over the run (after the start): close to 4 ms. */
	ck_assert_double_ge(sum / 5000, 3.6 * MS);
	ck_assert_double_le(sum / 5000, 4.2 * MS);
}
END_TEST

/* It follows a change of load within a few weights. */
START_TEST(test_follows_a_change)
{
	struct aim a;

	settle(&a, 1000, 10 * MS);
	for (int i = 0; i < 5 * (int)AIM_WEIGHT; i++)
		aim_observe(&a, 1 * MS);
	/* 10 ms decays to 1 ms + 9 ms * (1 - 1/W)^(5W) < 1 ms + 9 ms * e^-5. */
	ck_assert_uint_le(aim_lead_ns(&a), 1 * MS + 9 * MS / 140);
}
END_TEST

/* However late answers run, a deadline is aimed at most AIM_LEAD_MAX_NS
 * early; an answer later than AIM_OBSERVE_MAX_NS (a stall, a drip, a
 * client slow to read) does not move the lead at all. */
START_TEST(test_lead_is_bounded)
{
	struct aim a;

	settle(&a, 1000, AIM_OBSERVE_MAX_NS);
	ck_assert_uint_eq(aim_lead_ns(&a), AIM_LEAD_MAX_NS);
	ck_assert_uint_eq(aim_at(&a, 0, 1000 * MS), 1000 * MS - AIM_LEAD_MAX_NS);

	settle(&a, 1000, 2 * MS);
	aim_observe(&a, UINT64_MAX); /* a stopped process */
	aim_observe(&a, AIM_OBSERVE_MAX_NS + 1);
	ck_assert_uint_le(2 * MS - aim_lead_ns(&a), AIM_WEIGHT);
}
END_TEST

/* A deadline nearer than the lead is aimed at the earliest time given
 * (now, or a floor), never before. */
START_TEST(test_never_before_now)
{
	struct aim a;

	settle(&a, 1000, 5 * MS);
	ck_assert_uint_eq(aim_at(&a, 100 * MS, 102 * MS), 100 * MS);
	ck_assert_uint_eq(aim_at(&a, 100 * MS, 100 * MS), 100 * MS);
	ck_assert_uint_eq(aim_at(&a, 100 * MS, 200 * MS), 200 * MS - aim_lead_ns(&a));
}
END_TEST

START_TEST(test_deadline_before_now_aborts)
{
	struct aim a;

	aim_init(&a);
	aim_at(&a, 10, 9);
}
END_TEST

/* Threads observing at once lose nothing: the same constant from four
 * threads gives the constant, and the count of observations shows in how
 * far the mean moved from 0 (s = x * W * (1 - (1 - 1/W)^n)). */
static struct aim shared;

static void *observe_many(void *arg)
{
	(void)arg;
	for (int i = 0; i < 20; i++)
		aim_observe(&shared, 64 * MS);
	return NULL;
}

START_TEST(test_racing_observations_all_count)
{
	pthread_t t[4];
	double expect = 64.0 * MS;

	aim_init(&shared);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, observe_many, NULL), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 80; i++)
		expect *= 1.0 - 1.0 / AIM_WEIGHT;
	expect = 64.0 * MS - expect; /* 80 observations from 0 */
	/* Mean before the cap; the lead is capped at 20 ms, so read it raw. */
	ck_assert_double_ge((double)shared.scaled_mean_ns / AIM_WEIGHT, expect - 2.0 * AIM_WEIGHT);
	ck_assert_double_le((double)shared.scaled_mean_ns / AIM_WEIGHT, expect + 2.0 * AIM_WEIGHT);
}
END_TEST

static Suite *aim_suite(void)
{
	Suite *s = suite_create("aim");
	TCase *tc = tcase_create("aim");

	tcase_add_test(tc, test_starts_at_the_deadline);
	tcase_add_test(tc, test_lead_is_the_mean_lateness);
	tcase_add_test(tc, test_follows_a_change);
	tcase_add_test(tc, test_lead_is_bounded);
	tcase_add_test(tc, test_never_before_now);
	tcase_add_test_raise_signal(tc, test_deadline_before_now_aborts, SIGABRT);
	tcase_add_test(tc, test_racing_observations_all_count);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(aim_suite());
}
