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
#include <unistd.h>

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
	"quantiles:50=80,99=300", "quantiles:10=5,50=100,90=100,99=1000",
	"quantiles:1=10,50=10,99=500", "quantiles:50=20,99=20",
	"quantiles:0.000001=0.001,50=2,99.999999=3600000",
	"mix:1*fixed:5", "mix:0.5*quantiles:50=1,99=2,0.5*uniform:10:20",
	"mix:3*exponential:10,1*fixed:0", "mix:0.999999*fixed:1,0.000001*fixed:3600000",
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
	char err[256], text[DELAY_TEXT_MAX];

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
	delay_model_unref(&m);
}
END_TEST

/* parse(describe(m)) == m. */
START_TEST(test_describe_parses_back)
{
	char name[128], text[DELAY_TEXT_MAX], err[160];
	struct delay_model m = case_model(_i, name, sizeof(name));
	struct delay_model back = {.clamp_ms = m.clamp_ms};

	delay_model_describe(&m, text, sizeof(text));
	ck_assert_msg(delay_model_parse(text, &back, err, sizeof(err)), "%s: %s", name, err);
	ck_assert_msg(delay_model_equal(&back, &m), "%s came back other", name);
	delay_model_unref(&back);
	delay_model_unref(&m);
}
END_TEST

static const double probs[] = {0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1};

/* Each quantile is one (P(draw < q) <= p <= P(draw <= q)), quantiles grow
 * with p and stay under the cap, and where the CDF is continuous and
 * strictly between 0 and 1, quantile(cdf(x)) = x, as far as doubles
 * tell: where the density is so low (a mixture's far tail) that p = cdf(x)
 * cannot tell x from its neighbours, the quantile is any q whose CDF is p
 * to round-off. */
START_TEST(test_quantile_inverts_the_cdf)
{
	char name[128];
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
		ck_assert_msg(fabs(q - x) <= 1e-6 * x + 1e-3 ||
			      fabs(delay_cdf(&m, q, true) - p) <= 1e-13,
			      "%s: quantile(cdf(%.3f)) = %.3f", name, x, q);
	}
	delay_model_unref(&m);
}
END_TEST

/* The live page's chart spans the quantiles 0.001 to 0.99, and so at
 * least 99 % of the draws.  Not up to 0.999: lognormal's chart ends at
 * 1.5 x P99 (as the live page has always drawn it), and its 0.999
 * quantile lies beyond that once P99 > 3.4 x MEDIAN; check_live checks
 * that the chart's "above" says so. */
START_TEST(test_range_holds_the_bulk)
{
	char name[128];
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
	delay_model_unref(&m);
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
	char name[128];
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
	delay_model_unref(&m);
}
END_TEST

/* ---- each model: what its parameters promise -------------------------- */

/* quantiles: returns its points exactly (the quantile at each P is its
 * MS to the microsecond, and the CDF there is P), and 200,000 draws put
 * each point's empirical quantile within sampling error of it: the draw
 * of rank n P sits between the draws of ranks n P -/+ 5 sqrt(n P (1 - P))
 * (five standard deviations of the count below a point). */
START_TEST(test_quantiles_returns_its_points)
{
	static const struct {
		double p;
		double us;
	} pts[] = {{0.5, 80000}, {0.9, 200000}, {0.99, 900000}, {0.999, 3000000}};
	struct delay_model m = model("quantiles:50=80,90=200,99=900,99.9=3000", 3600000);
	double mean;
	uint64_t *d = draw_sorted(&m, 21, &mean);

	for (size_t i = 0; i < sizeof(pts) / sizeof(pts[0]); i++) {
		double p = pts[i].p, sd = sqrt(DRAWS * p * (1 - p));
		size_t lo = (size_t)(DRAWS * p - 5 * sd), hi = (size_t)(DRAWS * p + 5 * sd);

		ck_assert_double_eq(delay_quantile(&m, p), pts[i].us);
		ck_assert_double_eq_tol(delay_cdf(&m, pts[i].us, true), p, 1e-12);
		ck_assert_double_eq_tol(delay_cdf(&m, pts[i].us, false), p, 1e-12);
		ck_assert_msg((double)d[lo] <= pts[i].us && pts[i].us <= (double)d[hi],
			      "P%g: draws of ranks %zu..%zu are %" PRIu64 "..%" PRIu64 " us",
			      p * 100, lo, hi, d[lo], d[hi]);
	}
	free(d);
	delay_model_unref(&m);
}
END_TEST

/* Between its points ln(delay) is linear in the normal score, so two
 * points are a lognormal: quantiles:50=80,99=300 is lognormal:80:300, and
 * its tails go on the same way (down to 0, up to the cap). */
START_TEST(test_quantiles_two_points_are_lognormal)
{
	struct delay_model q = model("quantiles:50=80,99=300", 60000);
	struct delay_model l = model("lognormal:80:300", 60000);

	for (double x = 1000; x < 2000000; x *= 1.3)
		ck_assert_msg(fabs(delay_cdf(&q, x, true) - delay_cdf(&l, x, true)) < 1e-9,
			      "cdf(%g): %.12f vs %.12f", x, delay_cdf(&q, x, true),
			      delay_cdf(&l, x, true));
	for (size_t k = 1; k + 1 < sizeof(probs) / sizeof(probs[0]); k++)
		ck_assert_double_eq_tol(delay_quantile(&q, probs[k]) / delay_quantile(&l, probs[k]),
					1.0, 1e-9);
	ck_assert_double_eq(delay_quantile(&q, 0), 0);
	ck_assert_double_eq(delay_quantile(&q, 1), 60000000.0);
	delay_model_unref(&q);
	delay_model_unref(&l);
}
END_TEST

/* Equal delays at neighbouring points are a step: quantiles:10=5,50=100,
 * 90=100,99=1000 draws exactly 100 ms 40 % of the time; a flat first
 * segment is a flat lower tail (nothing below 10 ms in
 * quantiles:1=10,50=10,99=500: half the draws are 10 ms). */
START_TEST(test_quantiles_steps_and_flat_tails)
{
	struct delay_model m = model("quantiles:10=5,50=100,90=100,99=1000", 60000);
	struct delay_model f = model("quantiles:1=10,50=10,99=500", 60000);
	struct rng r;
	int at = 0, below = 0;

	ck_assert_double_eq_tol(delay_cdf(&m, 100000, true) - delay_cdf(&m, 100000, false),
				0.4, 1e-12);
	ck_assert_double_eq(delay_cdf(&f, 10000, false), 0);
	ck_assert_double_eq_tol(delay_cdf(&f, 10000, true), 0.5, 1e-12);
	ck_assert_double_eq(delay_quantile(&f, 0), 10000);
	rng_seed(&r, 5);
	for (int i = 0; i < 10000; i++) { /* 4000 expected, sd 49 */
		at += delay_draw_us(&m, &r) == 100000;
		below += delay_draw_us(&f, &r) < 10000;
	}
	ck_assert_int_gt(at, 3750);
	ck_assert_int_lt(at, 4250);
	ck_assert_int_eq(below, 0);
	delay_model_unref(&m);
	delay_model_unref(&f);
}
END_TEST

/* mix: each part's share of the draws, and its CDF the parts' weighted
 * sum: mix:0.95*lognormal:80:300,0.05*fixed:5000 draws exactly 5 s for
 * 5 % of 200,000 draws (sd 97: within 500), its median is lognormal's
 * 0.5/0.95 quantile, and relative weights are shares (3*A,1*B: 75 %). */
START_TEST(test_mix_shares)
{
	struct delay_model m = model("mix:0.95*lognormal:80:300,0.05*fixed:5000", 3600000);
	struct delay_model l = model("lognormal:80:300", 3600000);
	struct delay_model w = model("mix:3*fixed:1,1*fixed:2", 3600000);
	struct rng r;
	int slow = 0, ones = 0;

	rng_seed(&r, 9);
	for (int i = 0; i < DRAWS; i++)
		slow += delay_draw_us(&m, &r) == 5000000;
	ck_assert_msg(abs(slow - DRAWS / 20) < 500, "%d of %d at 5 s", slow, DRAWS);
	for (int i = 0; i < 40000; i++) /* 30000 expected, sd 87 */
		ones += delay_draw_us(&w, &r) == 1000;
	ck_assert_msg(abs(ones - 30000) < 450, "%d of 40000 at 1 ms", ones);
	ck_assert_double_eq_tol(delay_cdf(&m, 5000000, true) - delay_cdf(&m, 5000000, false),
				0.05, 1e-12);
	ck_assert_double_eq_tol(delay_cdf(&m, 100000, true), 0.95 * delay_cdf(&l, 100000, true),
				1e-12);
	ck_assert_double_eq_tol(delay_quantile(&m, 0.5) / delay_quantile(&l, 0.5 / 0.95), 1,
				1e-9);
	ck_assert_double_eq(delay_quantile(&m, 0.99), 5000000);
	delay_model_unref(&m);
	delay_model_unref(&l);
	delay_model_unref(&w);
}
END_TEST

/* A mix holds a reference to each part's data: a quantiles: part lives
 * as long as the mix, whatever happened to the model it was parsed
 * with. */
START_TEST(test_mix_holds_its_parts)
{
	struct delay_model a = model("mix:0.5*quantiles:50=1,99=2,0.5*fixed:3", 60000), b = a;
	char text[DELAY_TEXT_MAX];
	struct rng r;
	uint64_t sum = 0;

	delay_model_ref(&b);
	delay_model_unref(&a);
	rng_seed(&r, 4);
	for (int i = 0; i < 1000; i++)
		sum += delay_draw_us(&b, &r);
	ck_assert_uint_gt(sum, 1000 * 1000);
	delay_model_describe(&b, text, sizeof(text));
	ck_assert_str_eq(text, "mix:0.5*quantiles:50=1,99=2,0.5*fixed:3");
	delay_model_unref(&b);
}
END_TEST

/* A model read from a file (text written to a temporary one), or its
 * message in err. */
static bool file_model(const char *kind, const char *text, const char *series,
		       struct delay_model *m, char *err, size_t errlen, char *path)
{
	char spec[DELAY_TEXT_MAX];

	path[0] = '\0';
	testutil_write_temp(path, text);
	snprintf(spec, sizeof(spec), "%s:%s%s%s", kind, path, series != NULL ? ":" : "",
		 series != NULL ? series : "");
	m->clamp_ms = 60000;
	return delay_model_parse(spec, m, err, errlen);
}

/* A file's text, and what the message for it must say. */
struct file_case {
	const char *text, *message;
};

/* Each file of `cases` is refused as a `kind` model, with a message that
 * names the file and says what it must, and no data left behind. */
static void refused(const char *kind, const struct file_case *cases, size_t n)
{
	struct delay_model m = {0};
	char err[256], path[64];

	for (size_t i = 0; i < n; i++) {
		ck_assert(!file_model(kind, cases[i].text, NULL, &m, err, sizeof(err), path));
		ck_assert_msg(strstr(err, path) != NULL && strstr(err, cases[i].message) != NULL,
			      "%s: %s", cases[i].text, err);
		ck_assert_ptr_null(m.data);
		unlink(path);
	}
}

/* samples:FILE draws each line's latency with its share, nothing else:
 * no smoothing; blank lines and comments are skipped. */
START_TEST(test_samples_are_drawn_as_they_are)
{
	struct delay_model m = {0};
	char err[256], path[64];
	struct rng r;

	ck_assert_msg(file_model("samples", "# ms\n1\n2\n\n 2 \n3.5\n", NULL, &m, err,
				 sizeof(err), path), "%s", err);
	ck_assert_double_eq(delay_cdf(&m, 2000, false), 0.25);
	ck_assert_double_eq(delay_cdf(&m, 2000, true), 0.75);
	ck_assert_double_eq(delay_cdf(&m, 2500, true), 0.75);
	ck_assert_double_eq(delay_quantile(&m, 0.5), 2000);
	ck_assert_double_eq(delay_quantile(&m, 1), 3500);
	rng_seed(&r, 3);
	for (int i = 0; i < 1000; i++) {
		uint64_t us = delay_draw_us(&m, &r);

		ck_assert_msg(us == 1000 || us == 2000 || us == 3500, "drew %" PRIu64, us);
	}
	delay_model_unref(&m);
	unlink(path);
}
END_TEST

/* Bad samples files name the file and the line. */
START_TEST(test_samples_errors_name_file_and_line)
{
	static const struct file_case cases[] = {
		{"1\n2\nabc\n", ":3: 'abc' is not a number of milliseconds"},
		{"1\n-2\n", ":2: '-2' is not a number"},
		{"3600001\n", ":1: '3600001' is not a number"},
		{"1 2\n", ":1: '1 2' is not"},
		{"nan\n", ":1: 'nan' is not"},
		{"# nothing\n\n", ": no latencies"},
	};
	struct delay_model m = {0};
	char err[256];

	refused("samples", cases, sizeof(cases) / sizeof(cases[0]));
	ck_assert(!delay_model_parse("samples:/nonexistent/x", &m, err, sizeof(err)));
	ck_assert_str_eq(err, "'samples:/nonexistent/x': /nonexistent/x: No such file or "
			      "directory");
	ck_assert(!delay_model_parse("samples:/dev/zero", &m, err, sizeof(err)));
	ck_assert_str_eq(err, "'samples:/dev/zero': /dev/zero: not a regular file");
	ck_assert(!delay_model_parse("histogram:/dev/null", &m, err, sizeof(err)));
	ck_assert_str_eq(err, "'histogram:/dev/null': /dev/null: not a regular file");
	{
		static char longline[9000];
		struct file_case too_long[] = {{longline, ":2: longer than 8191 bytes"}};

		memset(longline, '1', sizeof(longline) - 2);
		longline[0] = '1';
		longline[1] = '\n';
		refused("samples", too_long, 1);
		refused("histogram", too_long, 1);
	}
	ck_assert(delay_spec_reads_file("samples:x") && delay_spec_reads_file("histogram:x"));
	ck_assert(!delay_spec_reads_file("fixed:1") && !delay_spec_reads_file("nope"));
}
END_TEST

/* histogram: each bucket gets its share, spread uniformly across it
 * (0 to the first bound), the +Inf bucket's at the largest bound; le in
 * seconds unless the name says milliseconds; labels pick the series. */
START_TEST(test_histogram_buckets)
{
	static const char scrape[] =
		"# TYPE lat_milliseconds histogram\n"
		"lat_milliseconds_bucket{route=\"/users\",le=\"10\"} 1\n"
		"lat_milliseconds_bucket{route=\"/users\",le=\"+Inf\"} 1\n"
		"lat_milliseconds_bucket{route=\"/user\",le=\"10\"} 50\n"
		"lat_milliseconds_bucket{route=\"/user\",le=\"20\"} 80\n"
		"lat_milliseconds_bucket{route=\"/user\",le=\"+Inf\"} 100 1700000000000\n"
		"lat_milliseconds_sum{route=\"/user\"} 1500\n"
		"lat_seconds_bucket{le=\"0.5\"} 3\n"
		"lat_seconds_bucket{le=\"+Inf\"} 4\n";
	struct delay_model m = {0};
	char err[256], path[64];

	ck_assert(!file_model("histogram", scrape, NULL, &m, err, sizeof(err), path));
	ck_assert_msg(strstr(err, ": 3 histogram series; name one") != NULL, "%s", err);
	unlink(path);
	ck_assert(!file_model("histogram", scrape, "lat_milliseconds", &m, err, sizeof(err),
			      path));
	ck_assert_msg(strstr(err, ": 2 histogram series") != NULL, "%s", err);
	unlink(path);
	ck_assert(!file_model("histogram", scrape, "lat_milliseconds{route=\"/u\"}", &m, err,
			      sizeof(err), path));
	ck_assert_msg(strstr(err, ": no histogram series matches lat_milliseconds") != NULL,
		      "%s", err);
	unlink(path);
	ck_assert_msg(file_model("histogram", scrape, "lat_milliseconds{route=\"/user\"}", &m,
				 err, sizeof(err), path), "%s", err);
	ck_assert_double_eq_tol(delay_cdf(&m, 5000, true), 0.25, 1e-12);
	ck_assert_double_eq_tol(delay_cdf(&m, 10000, true), 0.5, 1e-12);
	ck_assert_double_eq_tol(delay_cdf(&m, 15000, true), 0.65, 1e-12);
	ck_assert_double_eq_tol(delay_cdf(&m, 20000, false), 0.8, 1e-12);
	ck_assert_double_eq(delay_cdf(&m, 20000, true), 1);
	ck_assert_double_eq_tol(delay_quantile(&m, 0.25), 5000, 1e-6);
	ck_assert_double_eq(delay_quantile(&m, 0.9), 20000);
	delay_model_unref(&m);
	unlink(path);
	ck_assert_msg(file_model("histogram", scrape, "lat_seconds", &m, err, sizeof(err),
				 path), "%s", err);
	ck_assert_double_eq_tol(delay_cdf(&m, 250000, true), 0.375, 1e-12);
	ck_assert_double_eq(delay_quantile(&m, 1), 500000);
	delay_model_unref(&m);
	unlink(path);
}
END_TEST

/* Bad histograms name the file (and the line where one is at fault). */
START_TEST(test_histogram_errors)
{
	static const struct file_case cases[] = {
		{"a_bucket{le=\"1\"} 5\na_bucket{le=\"2\"} 4\n", "a: the bucket counts must grow"},
		{"x 1\na_bucket{le=\"1\" 5\n", ":2: not a sample of the text format"},
		{"a_bucket{le=\"-1\"} 5\n", ":1: expected NAME_bucket"},
		{"a_bucket{le=\"1\"} x\n", ":1: expected NAME_bucket"},
		{"a_bucket 5\n", ":1: expected NAME_bucket"},
		{"a_count 5\n", ": no histogram series (no NAME_bucket lines)"},
		{"a_bucket{le=\"1\"} 0\na_bucket{le=\"+Inf\"} 0\n", "a: no observations"},
		{"a_bucket{le=\"+Inf\"} 3\n", "a: no observations in a finite bucket"},
		{"a_bucket{le=\"3601\"} 3\n", "a: a bound above 3600000 ms"},
	};
	refused("histogram", cases, sizeof(cases) / sizeof(cases[0]));
}
END_TEST

/* The data is counted: a copy that took a reference outlives the model
 * it came from; parsing over a model drops its old data, --delay-min
 * (delay_set_uniform) too.  Under ASan a missed reference is a
 * use-after-free or a leak. */
START_TEST(test_quantiles_data_is_counted)
{
	struct delay_model a = model("quantiles:50=80,99=300", 60000), b = a, c;
	char err[160], text[DELAY_TEXT_MAX];
	struct rng r;

	delay_model_ref(&b);
	delay_model_unref(&a);
	ck_assert_ptr_null(a.data);
	rng_seed(&r, 1);
	ck_assert_uint_gt(delay_draw_us(&b, &r), 0);
	delay_model_describe(&b, text, sizeof(text));
	ck_assert_str_eq(text, "quantiles:50=80,99=300");
	c = b;
	delay_model_ref(&c);
	ck_assert(delay_model_parse("quantiles:50=1,99=2", &c, err, sizeof(err)));
	ck_assert(delay_model_equal(&b, &b));
	ck_assert(!delay_model_equal(&b, &c));
	ck_assert(!delay_model_parse("quantiles:50=1", &c, err, sizeof(err)));
	ck_assert_str_eq(err, "'quantiles:50=1': need at least 2 points P=MS");
	ck_assert(delay_model_parse("fixed:5", &c, err, sizeof(err)));
	ck_assert_ptr_null(c.data);
	delay_set_uniform(&b, 1, 2);
	ck_assert_ptr_null(b.data);
	delay_model_unref(&b); /* none left: a no-op */
}
END_TEST

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
	"quantiles:50=80,90=200,99=900,99.9=3000", "quantiles:0.5=0.25,99.99=3600000",
	"quantiles:10=5,50=100,90=100,99=1000",
	"mix:0.95*lognormal:80:300,0.05*fixed:5000", "mix:1*fixed:5",
	"mix:0.5*quantiles:50=1,99=2,0.25*uniform:10:20,0.25*exponential:7",
};

START_TEST(test_parse_and_describe_round_trip)
{
	struct delay_model m = model(good_models[_i], 60000);
	char text[DELAY_TEXT_MAX];

	delay_model_describe(&m, text, sizeof(text));
	ck_assert_str_eq(text, good_models[_i]);
	ck_assert_uint_eq(m.clamp_ms, 60000); /* the cap is kept */
	delay_model_unref(&m);
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
	"quantiles:", "quantiles:50=80", "quantiles:50=80,50=90", "quantiles:90=80,50=90",
	"quantiles:50=90,90=80", "quantiles:0=1,50=2", "quantiles:100=1,50=2",
	"quantiles:50=1,100=2", "quantiles:50=0,90=1", "quantiles:50=1.0001,90=2",
	"quantiles:50.0000001=1,90=2", "quantiles:50=80,,90=100", "quantiles:50=80,90=3600001",
	"quantiles:a=1,b=2", "quantiles:50=80,90=100,", "quantiles:50=80;90=100",
	"quantiles:50=.5,90=1", "quantiles:50=5.,90=9", "quantiles:-1=1,50=2",
	"quantiles:1=1,2=2,3=3,4=4,5=5,6=6,7=7,8=8,9=9,10=10,11=11,12=12,13=13,14=14,15=15,16=16,17=17",
	"mix:", "mix:fixed:5", "mix:0*fixed:5", "mix:0.5*mix:1*fixed:1", "mix:1*gauss:1",
	"mix:1*fixed:5,", "mix:-1*fixed:5", "mix:1*quantiles:50=1", "mix:1*", "mix:*fixed:1",
	"mix:1*fixed:1,1*fixed:1,1*fixed:1,1*fixed:1,1*fixed:1,1*fixed:1,1*fixed:1,1*fixed:1,1*fixed:1",
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
	char err[256];

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
	tcase_add_test(models, test_quantiles_returns_its_points);
	tcase_add_test(models, test_quantiles_two_points_are_lognormal);
	tcase_add_test(models, test_quantiles_steps_and_flat_tails);
	tcase_add_test(models, test_quantiles_data_is_counted);
	tcase_add_test(models, test_mix_shares);
	tcase_add_test(models, test_mix_holds_its_parts);
	tcase_add_test(models, test_samples_are_drawn_as_they_are);
	tcase_add_test(models, test_samples_errors_name_file_and_line);
	tcase_add_test(models, test_histogram_buckets);
	tcase_add_test(models, test_histogram_errors);
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
	testutil_chdir_srcdir(); /* the models' example files */
	return testutil_run(delay_suite());
}
