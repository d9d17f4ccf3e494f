/* Unit tests for src/delay.c: models, parsing, bounds, the cap, the
 * statistics of each model over many draws, seed determinism. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "delay.h"
#include "testutil.h"

enum { DRAWS = 200000 };

/* A model from text, with a cap (no cap: the largest). */
static struct delay_model model(const char *text, uint32_t clamp_ms)
{
	struct delay_model m = {.clamp_ms = clamp_ms};
	char err[160];

	ck_assert_msg(delay_model_parse(text, &m, err, sizeof(err)), "%s: %s", text, err);
	return m;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Draw DRAWS delays; return them sorted (caller frees), and the mean. */
static uint64_t *draw_sorted(const struct delay_model *m, uint64_t seed, double *mean)
{
	uint64_t *d = malloc(DRAWS * sizeof(*d));
	struct rng r;
	double sum = 0;

	ck_assert_ptr_nonnull(d);
	rng_seed(&r, seed);
	for (int i = 0; i < DRAWS; i++) {
		d[i] = delay_draw_us(m, &r);
		sum += (double)d[i];
	}
	qsort(d, DRAWS, sizeof(*d), cmp_u64);
	*mean = sum / DRAWS;
	return d;
}

START_TEST(test_uniform_bounds_mean_median)
{
	struct delay_model m = model("uniform:500:2000", 60000);
	double mean;
	uint64_t *d = draw_sorted(&m, 1, &mean);

	ck_assert_uint_ge(d[0], 500000);
	ck_assert_uint_lt(d[0], 501000);
	ck_assert_uint_le(d[DRAWS - 1], 2000000);
	ck_assert_uint_gt(d[DRAWS - 1], 1999000);
	ck_assert_double_eq_tol(mean, 1250000.0, 5000.0);
	ck_assert_double_eq_tol((double)d[DRAWS / 2], 1250000.0, 10000.0);
	ck_assert_double_eq_tol((double)d[DRAWS * 99 / 100], 1985000.0, 10000.0);
	free(d);
}
END_TEST

START_TEST(test_fixed_and_zero)
{
	struct delay_model fixed = model("fixed:300", 60000);
	struct delay_model zero = model("uniform:0:0", 60000);
	struct rng r;

	rng_seed(&r, 2);
	for (int i = 0; i < 1000; i++) {
		ck_assert_uint_eq(delay_draw_us(&fixed, &r), 300000);
		ck_assert_uint_eq(delay_draw_us(&zero, &r), 0);
	}
}
END_TEST

/* lognormal:MEDIAN:P99 has that median and 99th percentile, and the mean
 * exp(mu + sigma^2 / 2). */
START_TEST(test_lognormal_median_p99_mean)
{
	struct delay_model m = model("lognormal:200:2000", 3600000);
	double mean, sigma = log(2000.0 / 200.0) / DELAY_Z99;
	double want_mean = 200000.0 * exp(sigma * sigma / 2);
	uint64_t *d = draw_sorted(&m, 3, &mean);

	ck_assert_double_eq_tol((double)d[DRAWS / 2], 200000.0, 200000.0 * 0.02);
	ck_assert_double_eq_tol((double)d[DRAWS * 99 / 100], 2000000.0, 2000000.0 * 0.05);
	ck_assert_double_eq_tol(mean, want_mean, want_mean * 0.03);
	ck_assert_uint_gt(d[0], 0);
	free(d);
}
END_TEST

START_TEST(test_cap_clamps_every_model)
{
	const char *models[] = {"fixed:5000", "uniform:1000:9000", "lognormal:1000:60000"};
	struct rng r;

	rng_seed(&r, 4);
	for (size_t k = 0; k < 3; k++) {
		struct delay_model m = model(models[k], 2000);
		int at_cap = 0;

		for (int i = 0; i < 10000; i++) {
			uint64_t d = delay_draw_us(&m, &r);

			ck_assert_uint_le(d, 2000000);
			at_cap += d == 2000000;
		}
		ck_assert_int_gt(at_cap, 0);
	}
}
END_TEST

START_TEST(test_seed_determinism)
{
	struct delay_model m = model("lognormal:100:1000", 60000);
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

static const char *const good_models[] = {
	"fixed:0", "fixed:3600000", "uniform:0:0", "uniform:500:2000",
	"lognormal:1:1", "lognormal:200:5000",
};

START_TEST(test_parse_and_describe_round_trip)
{
	struct delay_model m = model(good_models[_i], 60000);
	char text[64];

	delay_model_describe(&m, text, sizeof(text));
	ck_assert_str_eq(text, good_models[_i]);
	ck_assert_uint_eq(m.clamp_ms, 60000); /* the cap is kept */
}
END_TEST

static const char *const bad_models[] = {
	"", "fixed", "fixed:", "fixed:-1", "fixed:1.5", "fixed:3600001",
	"fixed:1:2", "uniform:5", "uniform:2:1", "uniform:1:2:3", "uniform::2",
	"lognormal:0:10", "lognormal:10:5", "lognormal:10", "gauss:1:2",
	"Uniform:1:2", "uniform:1:99999999999999999999", " fixed:1",
};

START_TEST(test_parse_rejects)
{
	struct delay_model m = model("uniform:1:2", 60000);
	struct delay_model before = m;
	char err[160] = "";

	ck_assert_msg(!delay_model_parse(bad_models[_i], &m, err, sizeof(err)),
		      "'%s' accepted", bad_models[_i]);
	ck_assert(err[0] != '\0');
	ck_assert(memcmp(&m, &before, sizeof(m)) == 0); /* untouched */
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

START_TEST(test_unit_range)
{
	struct rng r;

	rng_seed(&r, 8);
	for (int i = 0; i < 100000; i++) {
		double u = rng_unit(&r);

		ck_assert(u >= 0.0 && u < 1.0);
	}
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
	TCase *models = tcase_create("models");
	TCase *parse = tcase_create("parse");
	TCase *rng = tcase_create("rng");

	tcase_add_test(models, test_uniform_bounds_mean_median);
	tcase_add_test(models, test_fixed_and_zero);
	tcase_add_test(models, test_lognormal_median_p99_mean);
	tcase_add_test(models, test_cap_clamps_every_model);
	tcase_add_test(models, test_seed_determinism);
	tcase_add_loop_test(parse, test_parse_and_describe_round_trip, 0,
			    (int)(sizeof(good_models) / sizeof(good_models[0])));
	tcase_add_loop_test(parse, test_parse_rejects, 0,
			    (int)(sizeof(bad_models) / sizeof(bad_models[0])));
	tcase_add_test(rng, test_below_is_unbiased_enough);
	tcase_add_test(rng, test_unit_range);
	tcase_add_test(rng, test_os_seed_varies);
	suite_add_tcase(s, models);
	suite_add_tcase(s, parse);
	suite_add_tcase(s, rng);
	return s;
}

int main(void)
{
	return testutil_run(delay_suite());
}
