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
 * mixture, a histogram) cannot live in struct delay_model as fields: a
 * model is a value copied whole into each settings snapshot (settings.h)
 * and rule effect (rules.c).  It is one pointer, m->data, to immutable
 * data with a reference count (struct delay_data below), made by parse;
 * delay_model_ref/delay_model_unref take and drop a reference, and each
 * copy that outlives its source does so: struct config (config_free;
 * control.c's control_config_json and control_patch copy settings into
 * one), the snapshot (settings_create, settings_unref), control_patch()'s
 * result (admin.c's edit_config drops it once the snapshot has its own),
 * the rule sets (rules_unref, and rules_add_fields when it fails), a
 * mix's parts (the mix's data holds one each), and live.c's own copy
 * (live_set_model, live_destroy, and the copy live_render_json takes
 * under its lock).  delay_model_parse drops the reference the model held
 * and returns one for the new data; delay_set_uniform drops it.  Borrowed,
 * with no reference: a request's copy (routes.c: its snapshot holds the
 * data), main.c's view_of (never freed), /metrics' model (the request's
 * snapshot).  Draws only read the data, so they stay free of locks and
 * allocation.
 */
#include "delay.h"
#include "decimal.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- what every model uses ---------------------------------------------- */

/* The message for a spec of no known model, or with the wrong arguments. */
static const char usage[] =
	"expected fixed:MS, uniform:MIN:MAX, lognormal:MEDIAN:P99, "
	"exponential:MEAN, quantiles:P=MS,..., mix:W*MODEL,..., samples:FILE or "
	"histogram:FILE[:SERIES] "
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
	delay_model_unref(m);
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

/* ---- counted data, for the kinds whose data has no fixed size ------------ */

/* One point of a quantiles: model: P(draw <= us) = p. */
struct quantile_point {
	uint64_t pct_e6; /* the percentile as given, in millionths of a percent */
	uint64_t us;     /* the delay as given, in whole microseconds */
	double z;        /* probit(p): the normal score */
	double lq;       /* ln(us) */
};

struct delay_data {
	atomic_uint refs;
	size_t n;                        /* quantiles: its points */
	struct quantile_point pt[DELAY_POINTS_MAX];
	size_t nparts;                   /* mix: its parts, each one reference */
	struct delay_model part[DELAY_PARTS_MAX];
	uint64_t weight_e6[DELAY_PARTS_MAX]; /* as given, in millionths */
	double share[DELAY_PARTS_MAX];   /* weight / the sum of the weights */
	double cum[DELAY_PARTS_MAX];     /* shares up to this part; the last 1 */
	char source[DELAY_TEXT_MAX];     /* samples, histogram: the spec's arguments */
	size_t nknots;                   /* ... and their CDF as knots */
	double *kx, *kF;
};

/* New data with one reference, or NULL when out of memory. */
static struct delay_data *data_new(void)
{
	struct delay_data *d = calloc(1, sizeof(*d));

	if (d != NULL)
		atomic_init(&d->refs, 1);
	return d;
}

void delay_model_ref(const struct delay_model *m)
{
	if (m->data != NULL)
		atomic_fetch_add_explicit(&m->data->refs, 1, memory_order_relaxed);
}

void delay_model_unref(struct delay_model *m)
{
	struct delay_data *d = m->data;

	m->data = NULL;
	if (d == NULL || atomic_fetch_sub_explicit(&d->refs, 1, memory_order_acq_rel) != 1)
		return;
	for (size_t i = 0; i < d->nparts; i++)
		delay_model_unref(&d->part[i]);
	free(d->kx);
	free(d->kF);
	free(d);
}

/* A number of `len` bytes at s with at most `decimals` digits after an
 * optional point, times 10^decimals, into *out; at most `max` (scaled). */
static bool parse_fixed(const char *s, size_t len, int decimals, uint64_t max,
			uint64_t *out)
{
	const char *dot = memchr(s, '.', len);
	size_t whole = dot != NULL ? (size_t)(dot - s) : len;
	size_t frac = dot != NULL ? len - whole - 1 : 0;
	uint64_t v, f = 0;

	if (whole == 0 || (dot != NULL && frac == 0) || frac > (size_t)decimals ||
	    decimal_parse(s, whole, max, &v) != DECIMAL_OK)
		return false;
	if (frac > 0 && decimal_parse(dot + 1, frac, UINT64_MAX, &f) != DECIMAL_OK)
		return false;
	for (size_t i = frac; i < (size_t)decimals; i++)
		f *= 10;
	for (int i = 0; i < decimals; i++) {
		if (v > max / 10)
			return false;
		v *= 10;
	}
	if (v + f > max)
		return false;
	*out = v + f;
	return true;
}

/* Write v / 10^decimals without trailing zeros ("99.9", "80"). */
static void format_fixed(char *buf, size_t len, uint64_t v, int decimals)
{
	uint64_t scale = 1;
	char frac[24];
	int n;

	for (int i = 0; i < decimals; i++)
		scale *= 10;
	if (v % scale == 0) {
		snprintf(buf, len, "%" PRIu64, v / scale);
		return;
	}
	n = snprintf(frac, sizeof(frac), "%0*" PRIu64, decimals, v % scale);
	while (n > 0 && frac[n - 1] == '0')
		frac[--n] = '\0';
	snprintf(buf, len, "%" PRIu64 ".%s", v / scale, frac);
}

/* ---- quantiles:P=MS,P=MS,... --------------------------------------------- */

/* The quantile function through the given points: ln(delay) is linear in
 * the normal score z = probit(p) between two neighbouring points (each
 * segment a piece of a lognormal), and beyond the first and the last
 * point it goes on along the line of the nearest segment: lognormal
 * tails, down towards 0 and up without bound (the cap, --max-delay,
 * ends it).  Two points are a lognormal: quantiles:50=80,99=300 is
 * lognormal:80:300.  Equal delays at neighbouring points make a step:
 * every draw between their percentiles is that delay (and a flat end
 * segment a flat tail).  The percentiles come from 0 < P < 100 with up
 * to 6 decimals, strictly increasing; the delays from 0.001 ms (3
 * decimals) to DELAY_LIMIT_MS, never decreasing. */
static bool quantiles_parse(const char *args, struct delay_model *m, char *err,
			    size_t errlen)
{
	struct delay_data *d;
	const char *s = args;
	size_t n = 0;

	d = data_new();
	if (d == NULL) {
		snprintf(err, errlen, "out of memory");
		return false;
	}
	for (;;) {
		size_t len = strcspn(s, ",");
		const char *eq = memchr(s, '=', len);
		struct quantile_point *q = &d->pt[n];

		if (n == DELAY_POINTS_MAX) {
			snprintf(err, errlen, "at most %d points", DELAY_POINTS_MAX);
			goto fail;
		}
		if (eq == NULL ||
		    !parse_fixed(s, (size_t)(eq - s), 6, 100000000u - 1, &q->pct_e6) ||
		    q->pct_e6 == 0 ||
		    !parse_fixed(eq + 1, len - (size_t)(eq + 1 - s), 3,
				 (uint64_t)DELAY_LIMIT_MS * 1000u, &q->us) || q->us == 0) {
			snprintf(err, errlen, "'%.*s': expected P=MS, 0 < P < 100 (a "
				 "percentile) and 0 < MS <= %u, at most 6 and 3 decimals",
				 (int)(len < 40 ? len : 40), s, DELAY_LIMIT_MS);
			goto fail;
		}
		if (n > 0 && q->pct_e6 <= q[-1].pct_e6) {
			snprintf(err, errlen, "the percentiles must increase");
			goto fail;
		}
		if (n > 0 && q->us < q[-1].us) {
			snprintf(err, errlen, "the delays must not decrease");
			goto fail;
		}
		q->z = probit((double)q->pct_e6 / 1e8);
		q->lq = log((double)q->us);
		n++;
		if (s[len] == '\0')
			break;
		s += len + 1;
	}
	if (n < 2) {
		snprintf(err, errlen, "need at least 2 points P=MS");
		goto fail;
	}
	d->n = n;
	m->data = d;
	return true;
fail:
	free(d);
	return false;
}

static void quantiles_describe(const struct delay_model *m, char *buf, size_t len)
{
	const struct delay_data *d = m->data;
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < d->n && used < len; i++) {
		char p[48], ms[48];
		int k;

		format_fixed(p, sizeof(p), d->pt[i].pct_e6, 6);
		format_fixed(ms, sizeof(ms), d->pt[i].us, 3);
		k = snprintf(buf + used, len - used, "%s%s=%s", i > 0 ? "," : "", p, ms);
		if (k < 0)
			break;
		used += (size_t)k;
	}
}

static bool quantiles_equal(const struct delay_model *a, const struct delay_model *b)
{
	const struct delay_data *x = a->data, *y = b->data;

	if (x->n != y->n)
		return false;
	for (size_t i = 0; i < x->n; i++)
		if (x->pt[i].pct_e6 != y->pt[i].pct_e6 || x->pt[i].us != y->pt[i].us)
			return false;
	return true;
}

/* The delay at normal score z: on the segment of the points around z
 * (the first or last segment beyond them), exactly a point's delay at
 * its own score. */
static double quantiles_at(const struct delay_data *d, double z)
{
	const struct quantile_point *pt = d->pt;
	size_t lo = 0, hi = d->n - 1;

	while (hi - lo > 1) { /* pt[lo].z <= z < pt[hi].z, or beyond the ends */
		size_t mid = lo + (hi - lo) / 2;

		if (pt[mid].z <= z)
			lo = mid;
		else
			hi = mid;
	}
	if (z == pt[lo].z || pt[lo].us == pt[hi].us) /* a point, or a step */
		return (double)pt[lo].us;
	if (z == pt[hi].z)
		return (double)pt[hi].us;
	return exp(pt[lo].lq + (z - pt[lo].z) * (pt[hi].lq - pt[lo].lq) /
			       (pt[hi].z - pt[lo].z));
}

/* A normal score, mapped: no table, no allocation. */
static double quantiles_draw(const struct delay_model *m, struct rng *r)
{
	return quantiles_at(m->data, normal(r));
}

static double quantiles_quantile(const struct delay_model *m, double p)
{
	const struct delay_data *d = m->data;
	const struct quantile_point *pt = d->pt;

	if (p <= 0)
		return pt[1].us > pt[0].us ? 0 : (double)pt[0].us;
	if (p >= 1)
		return pt[d->n - 1].us > pt[d->n - 2].us ? (double)INFINITY
							: (double)pt[d->n - 1].us;
	return quantiles_at(d, probit(p));
}

/* From 0 to 1.5 x the 99th percentile, as lognormal. */
static void quantiles_range(const struct delay_model *m, double *lo, double *hi)
{
	*lo = 0;
	*hi = 1.5 * quantiles_quantile(m, 0.99);
}

/* The normal score z with P(draw < x) = phi(z) (P(draw <= x) when
 * `inclusive`): the inverse of quantiles_at on the segment holding x,
 * a point's own score at its delay, -inf or +inf beyond a flat tail. */
static double quantiles_score(const struct delay_data *d, double x, bool inclusive)
{
	const struct quantile_point *pt = d->pt;
	size_t n = d->n, i = 0;

	if (inclusive ? x < (double)pt[0].us : x <= (double)pt[0].us) {
		if (pt[1].us == pt[0].us)
			return -INFINITY;
	} else if (inclusive ? x >= (double)pt[n - 1].us : x > (double)pt[n - 1].us) {
		if (pt[n - 1].us == pt[n - 2].us)
			return INFINITY;
		i = n - 2;
	} else {
		while (i + 2 < n && (inclusive ? (double)pt[i + 1].us <= x
					       : (double)pt[i + 1].us < x))
			i++;
	}
	if (x == (double)pt[i].us)
		return pt[i].z;
	if (x == (double)pt[i + 1].us)
		return pt[i + 1].z;
	return pt[i].z + (log(x) - pt[i].lq) * (pt[i + 1].z - pt[i].z) /
				 (pt[i + 1].lq - pt[i].lq);
}

static double quantiles_cdf(const struct delay_model *m, double x, bool inclusive)
{
	return x <= 0 ? 0 : phi(quantiles_score(m->data, x, inclusive));
}

/* ---- mix:W*MODEL,W*MODEL,... ---------------------------------------------- */

/* Where the part that starts at s ends: at the first comma followed by
 * a weight and '*' ("0.05*"), or at the end.  A quantiles: part's own
 * commas are followed by "P=", never by "W*". */
static size_t part_len(const char *s)
{
	for (const char *c = strchr(s, ','); c != NULL; c = strchr(c + 1, ',')) {
		size_t digits = strspn(c + 1, "0123456789.");

		if (digits > 0 && c[1 + digits] == '*')
			return (size_t)(c - s);
	}
	return strlen(s);
}

/* A weighted mixture: each request draws from one part, chosen with
 * probability W / (the sum of the weights); weights are positive, up
 * to 6 decimals.  Up to DELAY_PARTS_MAX parts, of any kind but mix; each
 * part is uncapped (the mixture's cap, --max-delay, applies to the
 * draw). */
static bool mix_parse(const char *args, struct delay_model *m, char *err,
		      size_t errlen)
{
	struct delay_data *d = data_new();
	const char *s = args;
	double sum = 0, cum = 0;
	char text[DELAY_TEXT_MAX];

	if (d == NULL) {
		snprintf(err, errlen, "out of memory");
		return false;
	}
	for (;;) {
		size_t len = part_len(s);
		const char *star = memchr(s, '*', len);
		struct delay_model *part = &d->part[d->nparts];
		char msg[160];

		if (d->nparts == DELAY_PARTS_MAX) {
			snprintf(err, errlen, "at most %d parts", DELAY_PARTS_MAX);
			goto fail;
		}
		if (star == NULL || (size_t)(star - s) + 1 >= len ||
		    !parse_fixed(s, (size_t)(star - s), 6, (uint64_t)1000000 * 1000000,
				 &d->weight_e6[d->nparts]) ||
		    d->weight_e6[d->nparts] == 0) {
			snprintf(err, errlen, "'%.*s': expected W*MODEL with a weight W > 0",
				 (int)(len < 40 ? len : 40), s);
			goto fail;
		}
		if (len - (size_t)(star + 1 - s) >= sizeof(text)) {
			snprintf(err, errlen, "a part is longer than %zu characters",
				 sizeof(text) - 1);
			goto fail;
		}
		memcpy(text, star + 1, len - (size_t)(star + 1 - s));
		text[len - (size_t)(star + 1 - s)] = '\0';
		if (strncmp(text, "mix:", 4) == 0) {
			snprintf(err, errlen, "a mix cannot hold a mix");
			goto fail;
		}
		part->clamp_ms = DELAY_LIMIT_MS;
		if (!delay_model_parse(text, part, msg, sizeof(msg))) {
			snprintf(err, errlen, "%s", msg);
			goto fail;
		}
		sum += (double)d->weight_e6[d->nparts];
		d->nparts++;
		if (s[len] == '\0')
			break;
		s += len + 1;
	}
	for (size_t i = 0; i < d->nparts; i++) {
		d->share[i] = (double)d->weight_e6[i] / sum;
		cum += d->share[i];
		d->cum[i] = i + 1 < d->nparts ? cum : 1.0;
	}
	m->data = d;
	delay_model_describe(m, text, sizeof(text));
	if (strlen(text) + 1 >= sizeof(text)) {
		m->data = NULL;
		snprintf(err, errlen, "longer than %zu characters", sizeof(text) - 2);
		goto fail;
	}
	return true;
fail:
	m->data = d;
	delay_model_unref(m);
	return false;
}

static void mix_describe(const struct delay_model *m, char *buf, size_t len)
{
	const struct delay_data *d = m->data;
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < d->nparts && used < len; i++) {
		char w[48];
		int k;

		format_fixed(w, sizeof(w), d->weight_e6[i], 6);
		k = snprintf(buf + used, len - used, "%s%s*", i > 0 ? "," : "", w);
		if (k < 0)
			break;
		used += (size_t)k;
		if (used < len) {
			delay_model_describe(&d->part[i], buf + used, len - used);
			used += strlen(buf + used);
		}
	}
}

static bool mix_equal(const struct delay_model *a, const struct delay_model *b)
{
	const struct delay_data *x = a->data, *y = b->data;

	if (x->nparts != y->nparts)
		return false;
	for (size_t i = 0; i < x->nparts; i++)
		if (x->weight_e6[i] != y->weight_e6[i] ||
		    !delay_model_equal(&x->part[i], &y->part[i]))
			return false;
	return true;
}

/* One part, by its share, then a draw of it. */
static double mix_draw(const struct delay_model *m, struct rng *r)
{
	const struct delay_data *d = m->data;
	double u = rng_unit(r);
	size_t i = 0;

	while (i + 1 < d->nparts && u >= d->cum[i])
		i++;
	return delay_type_of(d->part[i].kind)->draw(&d->part[i], r);
}

/* The parts' windows together. */
static void mix_range(const struct delay_model *m, double *lo, double *hi)
{
	const struct delay_data *d = m->data;

	*lo = INFINITY;
	*hi = 0;
	for (size_t i = 0; i < d->nparts; i++) {
		double a, b;

		delay_type_of(d->part[i].kind)->range(&d->part[i], &a, &b);
		*lo = fmin(*lo, a);
		*hi = fmax(*hi, b);
	}
}

/* The parts' CDFs, weighted by their shares. */
static double mix_cdf(const struct delay_model *m, double x, bool inclusive)
{
	const struct delay_data *d = m->data;
	double p = 0;

	for (size_t i = 0; i < d->nparts; i++)
		p += d->share[i] * delay_type_of(d->part[i].kind)->cdf(&d->part[i], x, inclusive);
	return p > 1 ? 1 : p;
}

/* No closed form: the mixture's p-quantile lies between the smallest
 * and the largest of the parts' (below the smallest, every part is under
 * p), and bisection finds the smallest x with cdf(x) >= p to adjacent
 * doubles, so it lands on a step of a fixed part exactly. */
static double mix_quantile(const struct delay_model *m, double p)
{
	const struct delay_data *d = m->data;
	double lo = INFINITY, hi = 0;

	for (size_t i = 0; i < d->nparts; i++) {
		double q = delay_type_of(d->part[i].kind)->quantile(&d->part[i], p);

		lo = fmin(lo, q);
		hi = fmax(hi, q);
	}
	if (p <= 0 || p >= 1 || mix_cdf(m, lo, true) >= p)
		return p >= 1 ? hi : lo;
	/* cdf(lo) < p <= cdf(hi) */
	for (int k = 0; k < 2000 && nextafter(lo, INFINITY) < hi; k++) {
		double mid = lo + (hi - lo) / 2;

		if (mid <= lo || mid >= hi)
			break;
		if (mix_cdf(m, mid, true) >= p)
			hi = mid;
		else
			lo = mid;
	}
	return hi;
}

/* ---- a CDF as a table: samples:FILE and histogram:FILE ------------------- */

/* Both keep their distribution as knots (x[k] in us, F[k]), x and F
 * never decreasing, F from 0 to 1: the CDF P(draw <= t) is linear
 * between neighbouring knots and steps where two knots share an x (a
 * value drawn with probability the step).  A draw is the quantile of a
 * uniform number; no allocation, a binary search. */

/* The largest k with x[k] < t (x[k] <= t when `inclusive`), or -1. */
static ptrdiff_t knot_below(const struct delay_data *d, double t, bool inclusive)
{
	ptrdiff_t lo = -1, hi = (ptrdiff_t)d->nknots; /* x[lo] below t, x[hi] not */

	while (hi - lo > 1) {
		ptrdiff_t mid = lo + (hi - lo) / 2;

		if (inclusive ? d->kx[mid] <= t : d->kx[mid] < t)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

static double table_cdf(const struct delay_model *m, double t, bool inclusive)
{
	const struct delay_data *d = m->data;
	ptrdiff_t k = knot_below(d, t, inclusive);
	size_t j;

	if (k < 0)
		return 0;
	j = (size_t)k;
	if (j + 1 == d->nknots)
		return 1;
	/* x[j] < t < x[j + 1], or t == x[j + 1] when not inclusive */
	return d->kF[j] + (d->kF[j + 1] - d->kF[j]) * (t - d->kx[j]) /
				  (d->kx[j + 1] - d->kx[j]);
}

static double table_quantile(const struct delay_model *m, double p)
{
	const struct delay_data *d = m->data;
	size_t lo = 0, hi = d->nknots - 1; /* the first k with F[k] >= p */

	if (d->kF[0] >= p)
		return d->kx[0];
	while (hi - lo > 1) { /* F[lo] < p <= F[hi] */
		size_t mid = lo + (hi - lo) / 2;

		if (d->kF[mid] >= p)
			hi = mid;
		else
			lo = mid;
	}
	if (d->kx[hi] == d->kx[lo])
		return d->kx[hi];
	return d->kx[lo] + (p - d->kF[lo]) / (d->kF[hi] - d->kF[lo]) * (d->kx[hi] - d->kx[lo]);
}

static double table_draw(const struct delay_model *m, struct rng *r)
{
	return table_quantile(m, rng_unit(r));
}

/* Bounded: the whole support. */
static void table_range(const struct delay_model *m, double *lo, double *hi)
{
	const struct delay_data *d = m->data;

	*lo = d->kx[0];
	*hi = d->kx[d->nknots - 1];
}

static void table_describe(const struct delay_model *m, char *buf, size_t len)
{
	snprintf(buf, len, "%s", m->data->source);
}

/* The same spec, and the same table (a file may change between reads). */
static bool table_equal(const struct delay_model *a, const struct delay_model *b)
{
	const struct delay_data *x = a->data, *y = b->data;

	return strcmp(x->source, y->source) == 0 && x->nknots == y->nknots &&
	       memcmp(x->kx, y->kx, x->nknots * sizeof(*x->kx)) == 0 &&
	       memcmp(x->kF, y->kF, x->nknots * sizeof(*x->kF)) == 0;
}

/* Room for n knots in d; false when out of memory. */
static bool knots_alloc(struct delay_data *d, size_t n)
{
	d->kx = malloc(n * sizeof(*d->kx));
	d->kF = malloc(n * sizeof(*d->kF));
	return d->kx != NULL && d->kF != NULL;
}

/* Start data for a model read from a file: the spec's arguments kept
 * for describe; NULL with a message when out of memory or too long. */
static struct delay_data *file_data(const char *args, char *err, size_t errlen)
{
	struct delay_data *d;

	if (*args == '\0') {
		snprintf(err, errlen, "a file name is required");
		return NULL;
	}
	if (strlen(args) >= sizeof(d->source)) {
		snprintf(err, errlen, "longer than %zu characters", sizeof(d->source) - 1);
		return NULL;
	}
	d = data_new();
	if (d == NULL)
		snprintf(err, errlen, "out of memory");
	else
		snprintf(d->source, sizeof(d->source), "%s", args);
	return d;
}

/* Drop d (the failure path of a parse). */
static bool drop_data(struct delay_data *d)
{
	struct delay_model m = {.data = d};

	delay_model_unref(&m);
	return false;
}

/* Strip blanks and the line end off both ends of s. */
static char *trimmed(char *s)
{
	char *end;

	s += strspn(s, " \t");
	end = s + strlen(s);
	while (end > s && strchr(" \t\r\n", end[-1]) != NULL)
		*--end = '\0';
	return s;
}

/* Longest line a model's file may have, newline included. */
#define FILE_LINE_MAX 8192

/* Open `path` to read a model from: a regular file only (a FIFO or a
 * device, /dev/zero, would never end, and opening a FIFO blocks); NULL
 * with "PATH: reason" in err. */
static FILE *open_regular(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	FILE *f;

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return NULL;
	}
	f = fdopen(fd, "r");
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
	}
	return f;
}

/* The next line of f into buf (FILE_LINE_MAX bytes): 1; 0 at the end;
 * -1 when it is longer than that. */
static int next_line(FILE *f, char *buf)
{
	size_t len;

	if (fgets(buf, FILE_LINE_MAX, f) == NULL)
		return 0;
	len = strlen(buf);
	return len + 1 == FILE_LINE_MAX && buf[len - 1] != '\n' ? -1 : 1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Most lines of latencies samples: reads. */
#define SAMPLES_MAX 10000000u

/* samples:FILE - one latency per line in milliseconds (blank lines and
 * '#' comments skipped), read when the spec is parsed (start, reload,
 * PATCH).  Drawn with no smoothing: each line equally likely, its value
 * to the microsecond. */
static bool samples_parse(const char *args, struct delay_model *m, char *err,
			  size_t errlen)
{
	struct delay_data *d = file_data(args, err, errlen);
	double *v = NULL;
	size_t n = 0, cap = 0, line_no = 0;
	char *line = malloc(FILE_LINE_MAX);
	FILE *f;
	bool ok = false;
	int got;

	if (d == NULL || line == NULL) {
		free(line);
		if (d != NULL)
			snprintf(err, errlen, "out of memory");
		return d != NULL ? drop_data(d) : false;
	}
	f = open_regular(args, err, errlen);
	if (f == NULL) {
		free(line);
		return drop_data(d);
	}
	while ((got = next_line(f, line)) > 0) {
		char *s = trimmed(line), *end;
		double x;

		line_no++;
		if (*s == '\0' || *s == '#')
			continue;
		errno = 0;
		x = strtod(s, &end);
		if (end == s || *end != '\0' || errno != 0 || !(x >= 0) ||
		    x > (double)DELAY_LIMIT_MS || strchr("0123456789.", *s) == NULL) {
			snprintf(err, errlen, "%s:%zu: '%.20s' is not a number of milliseconds "
				 "from 0 to %u", args, line_no, s, DELAY_LIMIT_MS);
			goto out;
		}
		if (n == SAMPLES_MAX) {
			snprintf(err, errlen, "%s:%zu: more than %u latencies", args, line_no,
				 SAMPLES_MAX);
			goto out;
		}
		if (n == cap) {
			double *grown = realloc(v, (cap = cap ? 2 * cap : 1024) * sizeof(*v));

			if (grown == NULL) {
				snprintf(err, errlen, "%s: out of memory", args);
				goto out;
			}
			v = grown;
		}
		v[n++] = floor(x * 1000.0 + 0.5); /* whole microseconds */
	}
	if (got < 0 || ferror(f)) {
		if (got < 0)
			snprintf(err, errlen, "%s:%zu: longer than %d bytes", args, line_no + 1,
				 FILE_LINE_MAX - 1);
		else
			snprintf(err, errlen, "%s: %s", args, strerror(errno));
		goto out;
	}
	if (n == 0) {
		snprintf(err, errlen, "%s: no latencies (one number of milliseconds a line)",
			 args);
		goto out;
	}
	qsort(v, n, sizeof(*v), cmp_double);
	/* Two knots per distinct value: the step of its share. */
	if (!knots_alloc(d, 2 * n)) {
		snprintf(err, errlen, "%s: out of memory", args);
		goto out;
	}
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i; j < n && v[j] == v[i]; j++)
			;
		d->kx[d->nknots] = v[i];
		d->kF[d->nknots++] = (double)i / (double)n;
		d->kx[d->nknots] = v[i];
		d->kF[d->nknots++] = j == n ? 1.0 : (double)j / (double)n;
	}
	m->data = d;
	ok = true;
out:
	free(line);
	free(v);
	fclose(f);
	return ok ? true : drop_data(d);
}

#define samples_describe table_describe
#define samples_equal table_equal
#define samples_draw table_draw
#define samples_range table_range
#define samples_cdf table_cdf
#define samples_quantile table_quantile

/* One _bucket sample of a histogram series. */
struct bucket {
	double le;    /* its upper bound, in the metric's unit; +inf allowed */
	double count; /* cumulative */
};

/* A series of _bucket lines: its name (without _bucket) and labels
 * without le, as a key; its buckets. */
struct series {
	char key[512];
	size_t name_len;
	struct bucket *b;
	size_t n, cap;
};

/* Parse the labels of a sample, "{a=\"x\",le=\"0.5\"}" at *s (after the
 * name); write the ones other than le, sorted as given, "a=\"x\"," into
 * key (room len), and le's value into le.  False when malformed. */
static bool parse_labels(const char **s, char *key, size_t len, char *le, size_t lelen)
{
	const char *p = *s;
	size_t used = 0;

	key[0] = le[0] = '\0';
	if (*p != '{') {
		*s = p;
		return true;
	}
	p++;
	for (;;) {
		char name[128], value[256];
		size_t nl, vl = 0;

		p += strspn(p, " ");
		if (*p == '}')
			break;
		nl = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
		if (nl == 0 || nl >= sizeof(name) || p[nl] != '=' || p[nl + 1] != '"')
			return false;
		memcpy(name, p, nl);
		name[nl] = '\0';
		p += nl + 2;
		while (*p != '"') {
			if (*p == '\0' || vl + 2 >= sizeof(value))
				return false;
			if (*p == '\\' && p[1] != '\0')
				value[vl++] = *p++;
			value[vl++] = *p++;
		}
		value[vl] = '\0';
		p++;
		if (strcmp(name, "le") == 0) {
			if (vl >= lelen)
				return false;
			memcpy(le, value, vl + 1);
		} else {
			int k = snprintf(key + used, len - used, "%s=\"%s\",", name, value);

			if (k < 0 || (size_t)k >= len - used)
				return false;
			used += (size_t)k;
		}
		p += strspn(p, " ");
		if (*p == ',')
			p++;
		else if (*p != '}')
			return false;
	}
	*s = p + 1;
	return true;
}

/* Does the series `key` (name{labels,}) match the selector "name" or
 * "name{a=\"x\",...}": the same name, and every label it names? */
static bool series_matches(const struct series *se, const char *sel)
{
	size_t nl = strcspn(sel, "{");
	const char *p = sel + nl;
	char want[512], have[520], le[8];

	if (nl != se->name_len || strncmp(sel, se->key, nl) != 0)
		return false;
	if (*p == '\0')
		return true;
	if (!parse_labels(&p, want, sizeof(want), le, sizeof(le)))
		return false;
	snprintf(have, sizeof(have), ",%s", se->key + nl);
	for (char *w = want; *w != '\0';) {
		char *end = strstr(w, "\",") + 2;
		char one[520];

		snprintf(one, sizeof(one), ",%.*s", (int)(end - w), w);
		if (strstr(have, one) == NULL)
			return false;
		w = end;
	}
	return true;
}

static int cmp_bucket(const void *a, const void *b)
{
	return cmp_double(&((const struct bucket *)a)->le, &((const struct bucket *)b)->le);
}

/* Microseconds per unit of a histogram named `name` (len bytes): by
 * Prometheus' convention seconds, unless the name ends in
 * _milliseconds or _ms, or _microseconds or _us. */
static double unit_us(const char *name, size_t len)
{
	static const struct {
		const char *suffix;
		double us;
	} units[] = {{"_milliseconds", 1e3}, {"_ms", 1e3}, {"_microseconds", 1}, {"_us", 1}};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		size_t sl = strlen(units[i].suffix);

		if (len >= sl && strncmp(name + len - sl, units[i].suffix, sl) == 0)
			return units[i].us;
	}
	return 1e6;
}

/* Most histogram series a file may hold. */
#define SERIES_MAX 256

/* histogram:FILE or histogram:FILE:SERIES - the _bucket lines of a
 * Prometheus histogram in the text exposition format (a scrape of the
 * user's service; other lines are skipped), read when the spec is parsed.
 * SERIES is "name" or "name{label=\"value\",...}" and picks one series
 * when the file holds several (FILE itself has no ':').  Each bucket
 * gets its share of the draws, spread uniformly across it (from the
 * bound below, 0 for the first, to its own; the linear interpolation of
 * Prometheus' histogram_quantile); the +Inf bucket's share is drawn at
 * the largest finite bound. */
static bool histogram_parse(const char *args, struct delay_model *m, char *err,
			    size_t errlen)
{
	struct delay_data *d = file_data(args, err, errlen);
	struct series *all = NULL, *se = NULL;
	size_t nseries = 0, line_no = 0, found = 0;
	const char *colon = strchr(args, ':');
	char path[DELAY_TEXT_MAX], *line = malloc(FILE_LINE_MAX);
	double unit, total, prev = 0, below = 0;
	bool ok = false;
	FILE *f;
	int got;

	if (d == NULL || line == NULL) {
		free(line);
		if (d != NULL)
			snprintf(err, errlen, "out of memory");
		return d != NULL ? drop_data(d) : false;
	}
	snprintf(path, sizeof(path), "%.*s", (int)(colon != NULL ? (size_t)(colon - args)
							       : strlen(args)), args);
	f = open_regular(path, err, errlen);
	if (f == NULL) {
		free(line);
		return drop_data(d);
	}
	all = calloc(SERIES_MAX, sizeof(*all));
	if (all == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	while ((got = next_line(f, line)) > 0) {
		char *s = trimmed(line), key[512], le_text[64], *end;
		size_t nl = strcspn(s, "{ \t");
		const char *p = s + nl;
		struct series *t = NULL;
		double le, count;

		line_no++;
		if (*s == '#' || nl < 7 || strncmp(s + nl - 7, "_bucket", 7) != 0)
			continue;
		if (nl - 7 >= sizeof(key) / 2 ||
		    !parse_labels(&p, key + nl - 7, sizeof(key) - (nl - 7), le_text,
				  sizeof(le_text))) {
			snprintf(err, errlen, "%s:%zu: not a sample of the text format", path,
				 line_no);
			goto out;
		}
		memcpy(key, s, nl - 7);
		errno = 0;
		le = strcmp(le_text, "+Inf") == 0 ? (double)INFINITY : strtod(le_text, &end);
		count = strtod(p, &end);
		if (le_text[0] == '\0' || (!isinf(le) && !(le >= 0)) ||
		    end == p || (*end != '\0' && *end != ' ' && *end != '\t') ||
		    !(count >= 0) || isinf(count)) {
			snprintf(err, errlen, "%s:%zu: expected NAME_bucket{...,le=\"BOUND\"} "
				 "COUNT with BOUND and COUNT >= 0", path, line_no);
			goto out;
		}
		for (size_t i = 0; i < nseries && t == NULL; i++)
			if (strcmp(all[i].key, key) == 0)
				t = &all[i];
		if (t == NULL) {
			if (nseries == SERIES_MAX) {
				snprintf(err, errlen, "%s:%zu: more than %d series", path,
					 line_no, SERIES_MAX);
				goto out;
			}
			t = &all[nseries++];
			snprintf(t->key, sizeof(t->key), "%s", key);
			t->name_len = nl - 7;
		}
		if (t->n == t->cap) {
			struct bucket *grown = realloc(t->b, (t->cap = t->cap ? 2 * t->cap : 16) *
							      sizeof(*grown));

			if (grown == NULL) {
				snprintf(err, errlen, "out of memory");
				goto out;
			}
			t->b = grown;
		}
		t->b[t->n].le = le;
		t->b[t->n++].count = count;
	}
	if (got < 0) {
		snprintf(err, errlen, "%s:%zu: longer than %d bytes", path, line_no + 1,
			 FILE_LINE_MAX - 1);
		goto out;
	}
	for (size_t i = 0; i < nseries; i++)
		if (colon == NULL || series_matches(&all[i], colon + 1)) {
			se = se != NULL ? se : &all[i];
			found++;
		}
	if (found == 0) {
		snprintf(err, errlen, "%s: no histogram series%s%.60s", path,
			 colon != NULL ? " matches " : " (no NAME_bucket lines)",
			 colon != NULL ? colon + 1 : "");
		goto out;
	}
	if (found > 1) {
		snprintf(err, errlen, "%s: %zu histogram series; name one: "
			 "histogram:FILE:NAME{LABEL=\"VALUE\",...}", path, found);
		goto out;
	}
	qsort(se->b, se->n, sizeof(*se->b), cmp_bucket);
	total = se->b[se->n - 1].count;
	unit = unit_us(se->key, se->name_len);
	for (size_t i = 0; i < se->n; i++)
		if (se->b[i].count < prev || (i > 0 && se->b[i].le == se->b[i - 1].le)) {
			snprintf(err, errlen, "%s: %.*s: the bucket counts must grow with le, "
				 "one bucket per le", path, (int)se->name_len, se->key);
			goto out;
		} else {
			prev = se->b[i].count;
		}
	if (!(total > 0) || isinf(se->b[0].le)) {
		snprintf(err, errlen, "%s: %.*s: no observations in a finite bucket", path,
			 (int)se->name_len, se->key);
		goto out;
	}
	if (se->b[se->n - 1].le * unit > (double)DELAY_LIMIT_MS * 1000.0 &&
	    !isinf(se->b[se->n - 1].le)) {
		snprintf(err, errlen, "%s: %.*s: a bound above %u ms", path,
			 (int)se->name_len, se->key, DELAY_LIMIT_MS);
		goto out;
	}
	/* Knots: (0, 0), then each finite bound at its cumulative share; the
	 * +Inf bucket's share as a step at the largest finite bound. */
	if (!knots_alloc(d, se->n + 2)) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	d->kx[0] = 0;
	d->kF[0] = 0;
	d->nknots = 1;
	for (size_t i = 0; i < se->n; i++) {
		double x = isinf(se->b[i].le) ? d->kx[d->nknots - 1] : se->b[i].le * unit;

		below = se->b[i].count / total;
		d->kx[d->nknots] = x;
		d->kF[d->nknots++] = i + 1 == se->n ? 1.0 : below;
	}
	m->data = d;
	ok = true;
out:
	for (size_t i = 0; all != NULL && i < nseries; i++)
		free(all[i].b);
	free(all);
	free(line);
	fclose(f);
	return ok ? true : drop_data(d);
}

#define histogram_describe table_describe
#define histogram_equal table_equal
#define histogram_draw table_draw
#define histogram_range table_range
#define histogram_cdf table_cdf
#define histogram_quantile table_quantile

/* ---- the table -------------------------------------------------------------- */

/* A row: the model `name` and its seven functions, name_parse() to
 * name_quantile(); one it lacks is a compile error. */
#define ROW(kind, fn, syn, ex, reads)                                          \
	[kind] = {.name = #fn, .syntax = syn, .example = ex, .file = reads,    \
		  .parse = fn##_parse, .describe = fn##_describe,              \
		  .equal = fn##_equal, .draw = fn##_draw, .range = fn##_range, \
		  .cdf = fn##_cdf, .quantile = fn##_quantile}

static const struct delay_type types[] = {
	ROW(DELAY_UNIFORM, uniform, "uniform:MIN:MAX", "uniform:500:2000", false),
	ROW(DELAY_FIXED, fixed, "fixed:MS", "fixed:300", false),
	ROW(DELAY_LOGNORMAL, lognormal, "lognormal:MEDIAN:P99", "lognormal:80:300", false),
	ROW(DELAY_EXPONENTIAL, exponential, "exponential:MEAN", "exponential:100", false),
	ROW(DELAY_QUANTILES, quantiles, "quantiles:P=MS,...",
	    "quantiles:50=80,90=200,99=900,99.9=3000", false),
	ROW(DELAY_MIX, mix, "mix:W*MODEL,...",
	    "mix:0.95*lognormal:80:300,0.05*fixed:5000", false),
	ROW(DELAY_SAMPLES, samples, "samples:FILE", "samples:docs/examples/latencies.txt",
	    true),
	ROW(DELAY_HISTOGRAM, histogram, "histogram:FILE[:SERIES]",
	    "histogram:docs/examples/histogram.prom:"
	    "http_request_duration_seconds{route=\"/user\"}", true),
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

bool delay_spec_reads_file(const char *text)
{
	const char *colon = strchr(text, ':');
	const struct delay_type *t = colon != NULL ? type_named(text, (size_t)(colon - text))
						   : NULL;

	return t != NULL && t->file;
}

bool delay_model_parse(const char *text, struct delay_model *m, char *err,
		       size_t errlen)
{
	struct delay_model next = *m;
	const char *colon = strchr(text, ':');
	const struct delay_type *t = colon != NULL ? type_named(text, (size_t)(colon - text))
						   : NULL;
	char msg[256];

	if (t == NULL) {
		expected(msg, sizeof(msg));
	} else {
		next.kind = (enum delay_kind)(t - types);
		next.data = NULL; /* the row's parse makes its own */
		if (t->parse(colon + 1, &next, msg, sizeof(msg))) {
			delay_model_unref(m);
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
