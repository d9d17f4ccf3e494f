/* Unit tests for src/delay.c: models, parsing, bounds, the cap, the
 * statistics of each model over many draws, seed determinism; and the
 * streams of src/rng.c they draw from, one per connection. */
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

/* ---- one stream per connection: rng_stream() ------------------------- */

/* Equal (seed, index) give equal streams; another index or seed another. */
START_TEST(test_stream_is_a_function_of_seed_and_index)
{
	struct rng a, b, c, e;

	rng_stream(&a, 7, 3);
	rng_stream(&b, 7, 3);
	rng_stream(&c, 7, 4);
	rng_stream(&e, 8, 3);
	for (int i = 0; i < 100; i++) {
		uint64_t x = rng_next(&a);

		ck_assert_uint_eq(x, rng_next(&b));
		ck_assert_uint_ne(x, rng_next(&c));
		ck_assert_uint_ne(x, rng_next(&e));
	}
}
END_TEST

/* No two of 2,000 streams share any of their first 16 draws: none starts
 * in another's state or a few steps into it (a shared draw among 32,000
 * random 64-bit values has a chance of about 3e-11). */
START_TEST(test_streams_never_repeat)
{
	enum { STREAMS = 2000, K = 16 };
	uint64_t *v = malloc(STREAMS * K * sizeof(*v));

	ck_assert_ptr_nonnull(v);
	for (int s = 0; s < STREAMS; s++) {
		struct rng r;

		rng_stream(&r, 7, (uint64_t)s + 1);
		for (int k = 0; k < K; k++)
			v[s * K + k] = rng_next(&r);
	}
	qsort(v, STREAMS * K, sizeof(*v), cmp_u64);
	for (int i = 1; i < STREAMS * K; i++)
		ck_assert_msg(v[i] != v[i - 1], "a draw repeats across streams");
	free(v);
}
END_TEST

/* The first delay each of 5,000 streams (connections 1..5000 of one
 * seed) draws from uniform:0:20 follows the model: the KS distance to the
 * uniform CDF on [0, 20000] us is below 1.628/sqrt(5000) = 0.0230, the
 * critical value at the 1% level (asymptotic Kolmogorov distribution;
 * the 1 us steps of the draw add at most 1/20001 to the distance).  And
 * neighbouring streams are uncorrelated: |Pearson r| of each stream's
 * first unit draw with the next one's is below 4/sqrt(5000) = 0.057. */
START_TEST(test_streams_follow_the_model_across_connections)
{
	enum { N = 5000 };
	struct delay_model m = model("uniform:0:20", 60000);
	uint64_t *d = malloc(N * sizeof(*d));
	double u[N], d_ks, mean = 0, sxy = 0, sxx = 0;

	ck_assert_ptr_nonnull(d);
	for (int i = 0; i < N; i++) {
		struct rng r, q;

		rng_stream(&r, 7, (uint64_t)i + 1);
		q = r;
		d[i] = delay_draw_us(&m, &r);
		u[i] = rng_unit(&q);
		mean += u[i] / N;
	}
	d_ks = testutil_ks_uniform(d, N, 0, 20000);
	ck_assert_msg(d_ks < 0.0230, "KS distance %.4f", d_ks);
	for (int i = 0; i + 1 < N; i++) {
		sxy += (u[i] - mean) * (u[i + 1] - mean);
		sxx += (u[i] - mean) * (u[i] - mean);
	}
	ck_assert_msg(fabs(sxy / sxx) < 0.057, "lag-1 correlation %.4f", sxy / sxx);
	free(d);
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
	tcase_add_test(rng, test_stream_is_a_function_of_seed_and_index);
	tcase_add_test(rng, test_streams_never_repeat);
	tcase_add_test(rng, test_streams_follow_the_model_across_connections);
	suite_add_tcase(s, models);
	suite_add_tcase(s, parse);
	suite_add_tcase(s, rng);
	return s;
}

int main(void)
{
	return testutil_run(delay_suite());
}
