/* delay.c - delay models; see delay.h.
 *
 * One section per model owns all of its maths: parse, describe, equal,
 * draw, range, CDF and quantile.  The table `types` at the end names each
 * section's functions, and the delay_* functions dispatch through it.
 *
 * Adding a model, say exponential:MEAN:
 *  1. delay.h: DELAY_EXPONENTIAL in enum delay_kind (before DELAY_KINDS),
 *     and its parameters in struct delay_model (mean_ms, and the rate
 *     derived from it by parse).
 *  2. Here: its section, seven static functions as struct delay_type
 *     describes them, then its row in `types` (name, syntax, example and
 *     the functions), and its syntax in `usage`.  A missing last row
 *     stops the build (the _Static_assert); tests/check_delay.c checks
 *     that every row is whole and consistent (describe parses back, the
 *     CDF and quantile invert each other, the range holds the quantiles,
 *     draws of the example pass a KS test against the CDF, `usage` names
 *     it), and tests/check_live.c that the live page charts its CDF.
 *  3. Its own tests in tests/check_delay.c (what its parameters promise:
 *     a mean, a median) and its bad specs in bad_models.
 *  4. The docs: --delay's help in src/config.c, man/userd.8,
 *     man/userd.conf.5, etc/userd.conf, README.md ("Delays"); its name
 *     in fuzz/dict/fuzz_config.dict; and a generator for it in
 *     tests/check_control_json.c's gen_delay() (GET /config round trips).
 *
 * Data of variable size (quantile points, a sample, the parts of a
 * mixture) cannot live in struct delay_model as fields: a model is a
 * plain value copied whole into each settings snapshot (settings.h) and
 * rule effect (rules.c).  The path is one pointer to immutable data with
 * a reference count, made by parse; then delay.h gets
 * delay_model_ref/delay_model_unref, and each copy that outlives its
 * source takes and drops a reference: struct config (config_free; main.c
 * copies a snapshot's settings into one), the snapshot (settings_create,
 * settings_unref), control_patch()'s result (admin.c's edit_config), the
 * rule sets (rules_unref), and live.c's own copy (live_set_model,
 * live_destroy, and the copy live_render_json takes under its lock).  A
 * request's copy (routes.c) borrows: its snapshot holds the data.  Draws
 * only read it, so they stay free of locks and allocation.
 */
#include "delay.h"
#include "decimal.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- what every model uses ---------------------------------------------- */

/* The message for a spec of no known model, or with the wrong arguments. */
static const char usage[] =
	"expected fixed:MS, uniform:MIN:MAX, lognormal:MEDIAN:P99 or "
	"exponential:MEAN "
	"(milliseconds, at most 3600000)";

/* Write `usage` into err and return false: a parse that does not fit. */
static bool expected(char *err, size_t errlen)
{
	snprintf(err, errlen, "%s", usage);
	return false;
}

/* Parse exactly `n` numbers of milliseconds, "A:B:...", each at most
 * DELAY_LIMIT_MS, into v[0..n). */
static bool parse_ms_list(const char *s, uint32_t *v, int n)
{
	for (int i = 0; i < n; i++) {
		const char *colon = strchr(s, ':');
		size_t len = colon != NULL ? (size_t)(colon - s) : strlen(s);
		uint64_t x;

		if (decimal_parse(s, len, DELAY_LIMIT_MS, &x) != DECIMAL_OK)
			return false;
		v[i] = (uint32_t)x;
		if (colon == NULL)
			return i + 1 == n;
		s = colon + 1;
	}
	return false; /* more numbers than n */
}

static double us_of(uint32_t ms)
{
	return (double)ms * 1000.0;
}

/* A standard normal deviate (Box-Muller; one of the pair is used). */
static double normal(struct rng *r)
{
	double u1 = 1.0 - rng_unit(r); /* (0, 1]: log() stays finite */
	double u2 = rng_unit(r);

	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* The standard normal CDF. */
static double phi(double z)
{
	return 0.5 * erfc(-z / M_SQRT2);
}

/* The standard normal quantile, for p in (0, 1): Acklam's rational
 * approximation (relative error below 1.2e-9), then one Halley step on
 * phi() that brings it to about double precision. */
static double probit(double p)
{
	static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
				   -2.759285104469687e+02, 1.383577518672690e+02,
				   -3.066479806614716e+01, 2.506628277459239e+00};
	static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
				   -1.556989798598866e+02, 6.680131188771972e+01,
				   -1.328068155288572e+01};
	static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
				   -2.400758277161838e+00, -2.549732539343734e+00,
				   4.374664141464968e+00, 2.938163982698783e+00};
	static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
				   2.445134137142996e+00, 3.754408661907416e+00};
	const double low = 0.02425;
	double q, t, x, e, u;

	assert(p > 0 && p < 1);
	if (p < low || p > 1 - low) {
		q = sqrt(-2 * log(p < low ? p : 1 - p));
		x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
		    ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
		if (p > 1 - low)
			x = -x;
	} else {
		q = p - 0.5;
		t = q * q;
		x = (((((a[0] * t + a[1]) * t + a[2]) * t + a[3]) * t + a[4]) * t + a[5]) * q /
		    (((((b[0] * t + b[1]) * t + b[2]) * t + b[3]) * t + b[4]) * t + 1);
	}
	e = phi(x) - p;
	u = e * sqrt(2 * M_PI) * exp(x * x / 2);
	return x - u / (1 + x * u / 2);
}

/* ---- uniform:MIN:MAX ------------------------------------------------------ */

void delay_set_uniform(struct delay_model *m, uint32_t min_ms, uint32_t max_ms)
{
	m->kind = DELAY_UNIFORM;
	m->min_ms = min_ms;
	m->max_ms = max_ms;
}

static bool uniform_parse(const char *args, struct delay_model *m, char *err,
			  size_t errlen)
{
	uint32_t v[2];

	if (!parse_ms_list(args, v, 2))
		return expected(err, errlen);
	if (v[0] > v[1]) {
		snprintf(err, errlen, "MIN is above MAX");
		return false;
	}
	delay_set_uniform(m, v[0], v[1]);
	return true;
}

static void uniform_describe(const struct delay_model *m, char *buf, size_t len)
{
	snprintf(buf, len, "%u:%u", m->min_ms, m->max_ms);
}

static bool uniform_equal(const struct delay_model *a, const struct delay_model *b)
{
	return a->min_ms == b->min_ms && a->max_ms == b->max_ms;
}

/* Whole microseconds, each equally likely. */
static double uniform_draw(const struct delay_model *m, struct rng *r)
{
	uint64_t lo = (uint64_t)m->min_ms * 1000u;
	uint64_t hi = (uint64_t)m->max_ms * 1000u;

	return (double)(hi <= lo ? lo : lo + rng_below(r, hi - lo + 1));
}

static void uniform_range(const struct delay_model *m, double *lo, double *hi)
{
	*lo = us_of(m->min_ms);
	*hi = us_of(m->max_ms);
}

static double uniform_cdf(const struct delay_model *m, double x, bool inclusive)
{
	double a = us_of(m->min_ms), b = us_of(m->max_ms);

	if (b > a)
		return x <= a ? 0 : x >= b ? 1 : (x - a) / (b - a);
	return (inclusive ? x >= a : x > a) ? 1 : 0; /* one value: a step */
}

static double uniform_quantile(const struct delay_model *m, double p)
{
	double a = us_of(m->min_ms), b = us_of(m->max_ms);

	return b > a ? a + p * (b - a) : a;
}

/* ---- fixed:MS --------------------------------------------------------------- */

/* fixed:MS sets both uniform bounds (it is uniform:MS:MS), so that
 * --delay-min or --delay-max after it starts from MS. */
static bool fixed_parse(const char *args, struct delay_model *m, char *err,
			size_t errlen)
{
	uint32_t v;

	if (!parse_ms_list(args, &v, 1))
		return expected(err, errlen);
	m->min_ms = m->max_ms = v;
	return true;
}

static void fixed_describe(const struct delay_model *m, char *buf, size_t len)
{
	snprintf(buf, len, "%u", m->min_ms);
}

static bool fixed_equal(const struct delay_model *a, const struct delay_model *b)
{
	return a->min_ms == b->min_ms;
}

static double fixed_draw(const struct delay_model *m, struct rng *r)
{
	(void)r;
	return us_of(m->min_ms);
}

static void fixed_range(const struct delay_model *m, double *lo, double *hi)
{
	*lo = *hi = us_of(m->min_ms);
}

static double fixed_cdf(const struct delay_model *m, double x, bool inclusive)
{
	double a = us_of(m->min_ms);

	return (inclusive ? x >= a : x > a) ? 1 : 0;
}

static double fixed_quantile(const struct delay_model *m, double p)
{
	(void)p;
	return us_of(m->min_ms);
}

/* ---- lognormal:MEDIAN:P99 ------------------------------------------------- */

/* exp(N(mu, sigma)) in us: mu = ln(median), and sigma puts the 99th
 * percentile at P99.  MEDIAN == P99 gives sigma 0: one value. */
static bool lognormal_parse(const char *args, struct delay_model *m, char *err,
			    size_t errlen)
{
	uint32_t v[2];

	if (!parse_ms_list(args, v, 2))
		return expected(err, errlen);
	if (v[0] == 0 || v[0] > v[1]) {
		snprintf(err, errlen, "need 0 < MEDIAN <= P99");
		return false;
	}
	m->median_ms = v[0];
	m->p99_ms = v[1];
	m->mu = log((double)v[0] * 1000.0);
	m->sigma = (log((double)v[1]) - log((double)v[0])) / DELAY_Z99;
	return true;
}

static void lognormal_describe(const struct delay_model *m, char *buf, size_t len)
{
	snprintf(buf, len, "%u:%u", m->median_ms, m->p99_ms);
}

static bool lognormal_equal(const struct delay_model *a, const struct delay_model *b)
{
	return a->median_ms == b->median_ms && a->p99_ms == b->p99_ms;
}

static double lognormal_draw(const struct delay_model *m, struct rng *r)
{
	return exp(m->mu + m->sigma * normal(r));
}

/* From 0 to 1.5 x P99: the tail beyond (0.4 % of the draws for a
 * P99/MEDIAN of 7.5) counts as "above". */
static void lognormal_range(const struct delay_model *m, double *lo, double *hi)
{
	*lo = 0;
	*hi = us_of(m->p99_ms) * 1.5;
}

static double lognormal_cdf(const struct delay_model *m, double x, bool inclusive)
{
	if (m->sigma == 0) /* one value */
		return (inclusive ? x >= exp(m->mu) : x > exp(m->mu)) ? 1 : 0;
	if (x <= 0)
		return 0;
	return 0.5 * erfc(-(log(x) - m->mu) / (m->sigma * M_SQRT2));
}

static double lognormal_quantile(const struct delay_model *m, double p)
{
	if (m->sigma == 0)
		return exp(m->mu);
	if (p <= 0)
		return 0;
	if (p >= 1)
		return INFINITY;
	return exp(m->mu + m->sigma * probit(p));
}

/* ---- exponential:MEAN ------------------------------------------------------ */

/* Memoryless: P(draw > x) = exp(-x / MEAN).  MEAN 0 is no delay. */
static bool exponential_parse(const char *args, struct delay_model *m, char *err,
			      size_t errlen)
{
	uint32_t v;

	if (!parse_ms_list(args, &v, 1))
		return expected(err, errlen);
	m->mean_ms = v;
	return true;
}

static void exponential_describe(const struct delay_model *m, char *buf, size_t len)
{
	snprintf(buf, len, "%u", m->mean_ms);
}

static bool exponential_equal(const struct delay_model *a, const struct delay_model *b)
{
	return a->mean_ms == b->mean_ms;
}

/* Inversion: -MEAN ln(U), U in (0, 1]. */
static double exponential_draw(const struct delay_model *m, struct rng *r)
{
	return -us_of(m->mean_ms) * log(1.0 - rng_unit(r));
}

/* From 0 to 5 x MEAN (the 0.993 quantile). */
static void exponential_range(const struct delay_model *m, double *lo, double *hi)
{
	*lo = 0;
	*hi = us_of(m->mean_ms) * 5.0;
}

static double exponential_cdf(const struct delay_model *m, double x, bool inclusive)
{
	double mean = us_of(m->mean_ms);

	if (mean == 0) /* one value: 0 */
		return (inclusive ? x >= 0 : x > 0) ? 1 : 0;
	return x <= 0 ? 0 : -expm1(-x / mean);
}

static double exponential_quantile(const struct delay_model *m, double p)
{
	double mean = us_of(m->mean_ms);

	if (mean == 0 || p <= 0)
		return 0;
	if (p >= 1)
		return INFINITY;
	return -mean * log1p(-p);
}

/* ---- the table -------------------------------------------------------------- */

/* A row: the model `name` and its seven functions, name_parse() to
 * name_quantile(); one it lacks is a compile error. */
#define ROW(kind, fn, syn, ex)                                                 \
	[kind] = {.name = #fn, .syntax = syn, .example = ex,                   \
		  .parse = fn##_parse, .describe = fn##_describe,              \
		  .equal = fn##_equal, .draw = fn##_draw, .range = fn##_range, \
		  .cdf = fn##_cdf, .quantile = fn##_quantile}

static const struct delay_type types[] = {
	ROW(DELAY_UNIFORM, uniform, "uniform:MIN:MAX", "uniform:500:2000"),
	ROW(DELAY_FIXED, fixed, "fixed:MS", "fixed:300"),
	ROW(DELAY_LOGNORMAL, lognormal, "lognormal:MEDIAN:P99", "lognormal:80:300"),
	ROW(DELAY_EXPONENTIAL, exponential, "exponential:MEAN", "exponential:100"),
};

_Static_assert(sizeof(types) / sizeof(types[0]) == DELAY_KINDS,
	       "every enum delay_kind needs its row in types[]");

const struct delay_type *delay_type_of(enum delay_kind k)
{
	assert((unsigned)k < DELAY_KINDS);
	return &types[k];
}

/* The row of m. */
static const struct delay_type *type_of(const struct delay_model *m)
{
	return delay_type_of(m->kind);
}

/* ---- every model: dispatch, the cap, messages ---------------------------- */

/* The row named by the `len` bytes at `name`, or NULL. */
static const struct delay_type *type_named(const char *name, size_t len)
{
	for (size_t k = 0; k < DELAY_KINDS; k++)
		if (strlen(types[k].name) == len && strncmp(name, types[k].name, len) == 0)
			return &types[k];
	return NULL;
}

bool delay_model_parse(const char *text, struct delay_model *m, char *err,
		       size_t errlen)
{
	struct delay_model next = *m;
	const char *colon = strchr(text, ':');
	const struct delay_type *t = colon != NULL ? type_named(text, (size_t)(colon - text))
						   : NULL;
	char msg[160];

	if (t == NULL) {
		expected(msg, sizeof(msg));
	} else {
		next.kind = (enum delay_kind)(t - types);
		if (t->parse(colon + 1, &next, msg, sizeof(msg))) {
			*m = next;
			return true;
		}
	}
	snprintf(err, errlen, "'%s': %s", text, msg);
	return false;
}

void delay_model_describe(const struct delay_model *m, char *buf, size_t len)
{
	const struct delay_type *t = type_of(m);
	int n = snprintf(buf, len, "%s:", t->name);

	if (n >= 0 && (size_t)n < len)
		t->describe(m, buf + n, len - (size_t)n);
}

bool delay_model_equal(const struct delay_model *a, const struct delay_model *b)
{
	return a->kind == b->kind && a->clamp_ms == b->clamp_ms &&
	       type_of(a)->equal(a, b);
}

/* `us` (>= 0, +inf allowed) as whole microseconds, at most the cap. */
static uint64_t capped(const struct delay_model *m, double us)
{
	uint64_t cap = (uint64_t)m->clamp_ms * 1000u;

	assert(us >= 0);
	if (!(us < (double)cap))
		return cap; /* NaN too, should a row return one */
	return us > 0 ? (uint64_t)us : 0;
}

uint64_t delay_draw_us(const struct delay_model *m, struct rng *r)
{
	return capped(m, type_of(m)->draw(m, r));
}

void delay_range(const struct delay_model *m, uint64_t *lo_us, uint64_t *hi_us)
{
	double lo, hi;

	type_of(m)->range(m, &lo, &hi);
	assert(lo <= hi);
	*lo_us = capped(m, lo);
	*hi_us = capped(m, hi);
}

double delay_cdf(const struct delay_model *m, double us, bool inclusive)
{
	double cap = (double)m->clamp_ms * 1000.0;

	if (inclusive ? us >= cap : us > cap)
		return 1; /* everything above the cap is drawn as the cap */
	return type_of(m)->cdf(m, us, inclusive);
}

double delay_quantile(const struct delay_model *m, double p)
{
	double cap = (double)m->clamp_ms * 1000.0, q;

	assert(p >= 0 && p <= 1);
	q = type_of(m)->quantile(m, p);
	return q < cap ? q : cap;
}
