/* Unit tests for src/delay.c: the table of models (every row whole and
 * consistent: text, CDF, quantile, range and draws agree), parsing and
 * describing, the statistics of each model over many draws, the cap,
 * seed determinism, invalid arguments; and the streams of src/rng.c they
 * draw from, one per connection. */
#include <check.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
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

/* ---- the table: every model whole and consistent ---------------------- */

/* The models the table tests run on: each row's example, without a cap
 * and with one at its upper quartile (a quarter of the draws clamped),
 * then these edge cases. */
static const char *const shapes[] = {
	"uniform:0:0", "uniform:0:20", "uniform:7:7", "fixed:0", "fixed:3600000",
	"lognormal:1:1", "lognormal:200:5000", "lognormal:1:3600000",
	"exponential:0", "exponential:1", "exponential:3600000",
};

enum { SHAPES = sizeof(shapes) / sizeof(shapes[0]), CASES = 2 * DELAY_KINDS + SHAPES };

/* Case i (< CASES): its model, and in `name` what it is for messages. */
static struct delay_model case_model(int i, char *name, size_t len)
{
	struct delay_model m;
	size_t used;

	if (i >= 2 * DELAY_KINDS) {
		m = model(shapes[i - 2 * DELAY_KINDS], DELAY_LIMIT_MS);
	} else {
		m = model(delay_type_of((enum delay_kind)(i / 2))->example, DELAY_LIMIT_MS);
		if (i % 2 == 1)
			m.clamp_ms = (uint32_t)(delay_quantile(&m, 0.75) / 1000.0);
	}
	delay_model_describe(&m, name, len);
	used = strlen(name);
	snprintf(name + used, len - used, " (cap %u ms)", m.clamp_ms);
	return m;
}

/* A row names its model, grammar and example, and has every function;
 * the example is of its kind and describes back as itself; the message
 * for a bad spec lists its grammar; no two rows share a name. */
START_TEST(test_every_kind_has_a_whole_row)
{
	const struct delay_type *t = delay_type_of((enum delay_kind)_i);
	struct delay_model m = {.clamp_ms = 60000};
	char err[256], text[64];

	ck_assert_ptr_nonnull(t->name);
	ck_assert_ptr_nonnull(t->syntax);
	ck_assert_ptr_nonnull(t->example);
	ck_assert_msg(t->parse != NULL && t->describe != NULL && t->equal != NULL &&
		      t->draw != NULL && t->range != NULL && t->cdf != NULL &&
		      t->quantile != NULL, "%s: a function is missing", t->name);
	ck_assert_msg(strncmp(t->syntax, t->name, strlen(t->name)) == 0 &&
		      t->syntax[strlen(t->name)] == ':', "%s: syntax %s", t->name, t->syntax);
	ck_assert_msg(delay_model_parse(t->example, &m, err, sizeof(err)), "%s", err);
	ck_assert_int_eq(m.kind, _i);
	delay_model_describe(&m, text, sizeof(text));
	ck_assert_str_eq(text, t->example);
	ck_assert(!delay_model_parse("", &m, err, sizeof(err)));
	ck_assert_msg(strstr(err, t->syntax) != NULL, "the usage '%s' lacks %s", err, t->syntax);
	for (int k = 0; k < _i; k++)
		ck_assert_str_ne(delay_type_of((enum delay_kind)k)->name, t->name);
}
END_TEST

/* parse(describe(m)) == m. */
START_TEST(test_describe_parses_back)
{
	char name[96], text[64], err[160];
	struct delay_model m = case_model(_i, name, sizeof(name));
	struct delay_model back = {.clamp_ms = m.clamp_ms};

	delay_model_describe(&m, text, sizeof(text));
	ck_assert_msg(delay_model_parse(text, &back, err, sizeof(err)), "%s: %s", name, err);
	ck_assert_msg(delay_model_equal(&back, &m), "%s came back other", name);
}
END_TEST

static const double probs[] = {0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1};

/* Each quantile is one (P(draw < q) <= p <= P(draw <= q)), quantiles grow
 * with p and stay under the cap, and where the CDF is continuous and
 * strictly between 0 and 1, quantile(cdf(x)) = x. */
START_TEST(test_quantile_inverts_the_cdf)
{
	char name[96];
	struct delay_model m = case_model(_i, name, sizeof(name));
	double cap = (double)m.clamp_ms * 1000.0, prev = 0;
	uint64_t lo, hi;

	for (size_t k = 0; k < sizeof(probs) / sizeof(probs[0]); k++) {
		double p = probs[k], q = delay_quantile(&m, p);

		ck_assert_msg(q >= prev && q <= cap, "%s: quantile(%g) = %g", name, p, q);
		ck_assert_msg(delay_cdf(&m, q, false) <= p + 1e-9 &&
			      delay_cdf(&m, q, true) >= p - 1e-9,
			      "%s: cdf(quantile(%g) = %g) = %g..%g", name, p, q,
			      delay_cdf(&m, q, false), delay_cdf(&m, q, true));
		prev = q;
	}
	ck_assert_double_eq(delay_cdf(&m, -1, true), 0);
	ck_assert_double_eq(delay_cdf(&m, cap, true), 1);
	delay_range(&m, &lo, &hi);
	for (int k = 0; k <= 20; k++) {
		double x = (double)lo + (double)(hi - lo) * k / 20.0;
		double p = delay_cdf(&m, x, true), q;

		ck_assert(delay_cdf(&m, x, false) <= p);
		if (p <= 0 || p >= 1 || delay_cdf(&m, x, false) != p)
			continue;
		q = delay_quantile(&m, p);
		ck_assert_msg(fabs(q - x) <= 1e-6 * x + 1e-3, "%s: quantile(cdf(%.3f)) = %.3f",
			      name, x, q);
	}
}
END_TEST

/* The live page's chart spans the quantiles 0.001 to 0.99, and so at
 * least 99 % of the draws.  Not up to 0.999: lognormal's chart ends at
 * 1.5 x P99 (as the live page has always drawn it), and its 0.999
 * quantile lies beyond that once P99 > 3.4 x MEDIAN; check_live checks
 * that the chart's "above" says so. */
START_TEST(test_range_holds_the_bulk)
{
	char name[96];
	struct delay_model m = case_model(_i, name, sizeof(name));
	uint64_t lo, hi;

	delay_range(&m, &lo, &hi);
	ck_assert_uint_le(lo, hi);
	ck_assert_uint_le(hi, (uint64_t)m.clamp_ms * 1000u);
	ck_assert_msg((double)lo <= delay_quantile(&m, 0.001) &&
		      delay_quantile(&m, 0.99) <= (double)hi,
		      "%s: [%" PRIu64 ", %" PRIu64 "] misses quantiles %g..%g", name, lo, hi,
		      delay_quantile(&m, 0.001), delay_quantile(&m, 0.99));
	ck_assert_double_ge(delay_cdf(&m, (double)hi, true) - delay_cdf(&m, (double)lo, false),
			    0.99 - 1e-9);
}
END_TEST

/* Draws follow the model's own CDF: the KS distance of 5,000 seeded draws
 * is below 1.628 / sqrt(5000) = 0.0230, the critical value at the 1 %
 * level (c = sqrt(-ln(0.01 / 2) / 2) = 1.628, the asymptotic Kolmogorov
 * distribution; where the CDF steps, at a fixed delay or the cap, the
 * test is conservative).  Uniform draws are whole microseconds, each
 * equally likely, which adds at most 1 / (MAX - MIN in us). */
START_TEST(test_draws_follow_the_cdf)
{
	enum { N = 5000 };
	char name[96];
	struct delay_model m = case_model(_i, name, sizeof(name));
	uint64_t *x = malloc(N * sizeof(*x));
	struct rng r;
	double d;

	ck_assert_ptr_nonnull(x);
	rng_seed(&r, 100 + (uint64_t)_i);
	for (int i = 0; i < N; i++)
		x[i] = delay_draw_us(&m, &r);
	d = testutil_ks_model(&m, x, N);
	ck_assert_msg(d < 1.628 / sqrt(N), "%s: KS distance %.4f", name, d);
	free(x);
}
END_TEST

/* ---- each model: what its parameters promise -------------------------- */

/* exponential:MEAN has that mean, its median at MEAN ln 2 and its 99th
 * percentile at MEAN ln 100.  Over 200,000 draws the mean's standard error
 * is MEAN / 447 (0.22 %): 1 % is 4.5 of them. */
START_TEST(test_exponential_mean_median_p99)
{
	struct delay_model m = model("exponential:200", 3600000);
	double mean;
	uint64_t *d = draw_sorted(&m, 11, &mean);

	ck_assert_msg(fabs(mean - 200000.0) < 2000.0, "mean %.0f us", mean);
	ck_assert_msg(fabs((double)d[DRAWS / 2] - 200000.0 * M_LN2) < 2000.0,
		      "median %" PRIu64 " us", d[DRAWS / 2]);
	ck_assert_msg(fabs((double)d[DRAWS / 100 * 99] - 200000.0 * log(100.0)) < 20000.0,
		      "p99 %" PRIu64 " us", d[DRAWS / 100 * 99]);
	ck_assert_double_eq_tol(delay_quantile(&m, 0.5), 200000.0 * M_LN2, 1e-6);
	ck_assert_double_eq_tol(delay_cdf(&m, 200000.0, true), 1 - exp(-1.0), 1e-12);
	free(d);
}
END_TEST

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

/* Equal models draw alike: the same kind, parameters and cap.  The
 * fields of other kinds do not count. */
START_TEST(test_equal_is_kind_parameters_and_cap)
{
	struct delay_model a = model("uniform:1:2", 60000), b = model("uniform:3:4", 60000);
	struct delay_model c;
	char err[160];

	ck_assert(delay_model_parse("lognormal:80:300", &a, err, sizeof(err)));
	ck_assert(delay_model_parse("lognormal:80:300", &b, err, sizeof(err)));
	ck_assert(delay_model_equal(&a, &b));
	c = b;
	c.clamp_ms = 59999;
	ck_assert(!delay_model_equal(&a, &c));
	c = model("lognormal:80:301", 60000);
	ck_assert(!delay_model_equal(&a, &c));
	a = model("fixed:5", 60000);
	b = model("uniform:5:5", 60000);
	ck_assert(!delay_model_equal(&a, &b));
	c = model("uniform:5:6", 60000);
	ck_assert(!delay_model_equal(&b, &c));
	ck_assert(delay_model_equal(&c, &c));
}
END_TEST

static const char *const good_models[] = {
	"fixed:0", "fixed:3600000", "uniform:0:0", "uniform:500:2000",
	"lognormal:1:1", "lognormal:200:5000", "exponential:0", "exponential:100",
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
	":", ":1", "fixed:1:", "fixed: 1", "fixed:1 ", "fixed:+1", "uniform:1:",
	"uniform:-1:2", "lognormal:", "lognormal:1:2:", "lognormal:1:3600001",
	"exponential:", "exponential:-1", "exponential:1:2", "exponential:3600001",
	"fixed:1\n", "uniform", "fixedx:1",
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
	ck_assert_msg(err[0] == '\'' && strncmp(err + 1, bad_models[_i], strlen(bad_models[_i])) == 0,
		      "'%s': the message does not name it: %s", bad_models[_i], err);
}
END_TEST

/* A spec of no model, or with the wrong arguments, gets the list of
 * models (each named: test_every_kind_has_a_whole_row); a model's own
 * rule gets its own message. */
START_TEST(test_parse_messages)
{
	static const struct {
		const char *text, *message;
	} cases[] = {
		{"gauss:1:2", "'gauss:1:2': expected fixed:MS, uniform:MIN:MAX"},
		{"uniform:1:2:3", "'uniform:1:2:3': expected fixed:MS, "},
		{"fixed:3600001", "'fixed:3600001': expected fixed:MS, "},
		{"uniform:2:1", "'uniform:2:1': MIN is above MAX"},
		{"lognormal:0:10", "'lognormal:0:10': need 0 < MEDIAN <= P99"},
		{"lognormal:10:5", "'lognormal:10:5': need 0 < MEDIAN <= P99"},
	};
	struct delay_model m = model("uniform:1:2", 60000);
	char err[160];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert(!delay_model_parse(cases[i].text, &m, err, sizeof(err)));
		ck_assert_msg(strncmp(err, cases[i].message, strlen(cases[i].message)) == 0,
			      "%s: %s", cases[i].text, err);
	}
	ck_assert(!delay_model_parse("gauss:1:2", &m, err, sizeof(err)));
	ck_assert_msg(strstr(err, " (milliseconds, at most 3600000)") != NULL, "%s", err);
	/* A small buffer gets the message cut, NUL-terminated. */
	ck_assert(!delay_model_parse("gauss:1:2", &m, err, 8));
	ck_assert_str_eq(err, "'gauss:");
}
END_TEST

/* describe writes what fits, NUL-terminated; nothing into no room. */
START_TEST(test_describe_cuts_to_fit)
{
	struct delay_model m = model("uniform:500:2000", 60000);
	char buf[32];

	memset(buf, 'x', sizeof(buf));
	delay_model_describe(&m, buf, 0);
	ck_assert_int_eq(buf[0], 'x');
	delay_model_describe(&m, buf, 5);
	ck_assert_str_eq(buf, "unif");
	delay_model_describe(&m, buf, 9);
	ck_assert_str_eq(buf, "uniform:");
	delay_model_describe(&m, buf, 12);
	ck_assert_str_eq(buf, "uniform:500");
	delay_model_describe(&m, buf, sizeof(buf));
	ck_assert_str_eq(buf, "uniform:500:2000");
}
END_TEST

/* ---- invalid arguments: contracts the callers must keep ------------------ */

/* A kind outside the table is a broken model, not a uniform one. */
START_TEST(test_unknown_kind_aborts)
{
	struct delay_model m = model("fixed:1", 60000);
	struct rng r;

	rng_seed(&r, 1);
	m.kind = DELAY_KINDS;
	delay_draw_us(&m, &r);
}
END_TEST

START_TEST(test_no_row_beyond_the_table)
{
	delay_type_of(DELAY_KINDS);
}
END_TEST

static const double bad_probs[] = {-0.1, 1.1, NAN};

START_TEST(test_quantile_outside_0_1_aborts)
{
	struct delay_model m = model("lognormal:80:300", 60000);

	delay_quantile(&m, bad_probs[_i]);
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
	TCase *table = tcase_create("table");
	TCase *models = tcase_create("models");
	TCase *parse = tcase_create("parse");
	TCase *invalid = tcase_create("invalid arguments");
	TCase *rng = tcase_create("rng");

	tcase_add_loop_test(table, test_every_kind_has_a_whole_row, 0, DELAY_KINDS);
	tcase_add_loop_test(table, test_describe_parses_back, 0, CASES);
	tcase_add_loop_test(table, test_quantile_inverts_the_cdf, 0, CASES);
	tcase_add_loop_test(table, test_range_holds_the_bulk, 0, CASES);
	tcase_add_loop_test(table, test_draws_follow_the_cdf, 0, CASES);
	tcase_add_test(models, test_uniform_bounds_mean_median);
	tcase_add_test(models, test_fixed_and_zero);
	tcase_add_test(models, test_lognormal_median_p99_mean);
	tcase_add_test(models, test_exponential_mean_median_p99);
	tcase_add_test(models, test_cap_clamps_every_model);
	tcase_add_test(models, test_seed_determinism);
	tcase_add_test(models, test_equal_is_kind_parameters_and_cap);
	tcase_add_loop_test(parse, test_parse_and_describe_round_trip, 0,
			    (int)(sizeof(good_models) / sizeof(good_models[0])));
	tcase_add_loop_test(parse, test_parse_rejects, 0,
			    (int)(sizeof(bad_models) / sizeof(bad_models[0])));
	tcase_add_test(parse, test_parse_messages);
	tcase_add_test(parse, test_describe_cuts_to_fit);
	tcase_add_test_raise_signal(invalid, test_unknown_kind_aborts, SIGABRT);
	tcase_add_test_raise_signal(invalid, test_no_row_beyond_the_table, SIGABRT);
	tcase_add_loop_test_raise_signal(invalid, test_quantile_outside_0_1_aborts, SIGABRT, 0,
					 (int)(sizeof(bad_probs) / sizeof(bad_probs[0])));
	tcase_add_test(rng, test_below_is_unbiased_enough);
	tcase_add_test(rng, test_unit_range);
	tcase_add_test(rng, test_os_seed_varies);
	tcase_add_test(rng, test_stream_is_a_function_of_seed_and_index);
	tcase_add_test(rng, test_streams_never_repeat);
	tcase_add_test(rng, test_streams_follow_the_model_across_connections);
	suite_add_tcase(s, table);
	suite_add_tcase(s, models);
	suite_add_tcase(s, parse);
	suite_add_tcase(s, invalid);
	suite_add_tcase(s, rng);
	return s;
}

int main(void)
{
	return testutil_run(delay_suite());
}
