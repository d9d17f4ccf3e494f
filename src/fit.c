/* fit.c - userd --fit FILE; see fit.h. */
#include "fit.h"
#include "delay.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The percentiles a quantiles: spec gets, each when the data has at
 * least 10 values on its thinner side (n min(p, 1 - p) >= 10). */
static const char *const percentiles[] = {"1",  "5",  "10", "25", "50",
					  "75", "90", "95", "99", "99.9"};

/* JSON fields that hold a duration, and microseconds per unit. */
static const struct {
	const char *key;
	double us;
} fields[] = {
	{"duration_ms", 1e3},     {"latency_ms", 1e3},     {"elapsed_ms", 1e3},
	{"response_time_ms", 1e3}, {"request_time", 1e6},  {"duration_seconds", 1e6},
	{"duration_s", 1e6},      {"duration_us", 1},
};

/* A number that is all of s (strtod's grammar, finite, >= 0). */
static bool number(const char *s, double *x)
{
	char *end;

	if (*s == '\0' || strchr("0123456789.", *s) == NULL)
		return false;
	errno = 0;
	*x = strtod(s, &end);
	return *end == '\0' && errno == 0 && isfinite(*x) && *x >= 0;
}

/* The duration of one line, in us; false with a message. */
static bool line_us(char *s, double *us, char *err, size_t errlen)
{
	double x;

	if (*s == '{') {
		json_t *o = json_loads(s, 0, NULL), *v = NULL;
		size_t i;
		bool ok = false;

		for (i = 0; o != NULL && i < sizeof(fields) / sizeof(fields[0]); i++)
			if ((v = json_object_get(o, fields[i].key)) != NULL)
				break;
		if (v != NULL && json_is_number(v))
			x = json_number_value(v), ok = x >= 0;
		else if (v != NULL && json_is_string(v))
			ok = number(json_string_value(v), &x);
		if (ok)
			*us = x * fields[i].us;
		else
			snprintf(err, errlen, "%s", o == NULL ? "not JSON" :
				 "no duration field (duration_ms, latency_ms, elapsed_ms, "
				 "response_time_ms, request_time, duration_seconds, "
				 "duration_s or duration_us) with a number");
		json_decref(o);
		return ok;
	}
	if (strchr(s, '"') != NULL) { /* an access log: the last field */
		char *last = strrchr(s, ' ');

		last = last != NULL ? last + 1 : s;
		if (!number(last, &x)) {
			snprintf(err, errlen, "the last field '%.20s' is not $request_time "
				 "(seconds) or %%D (microseconds)", last);
			return false;
		}
		*us = strchr(last, '.') != NULL ? x * 1e6 : x;
		return true;
	}
	if (!number(s, &x)) {
		snprintf(err, errlen, "'%.20s' is not a number of milliseconds", s);
		return false;
	}
	*us = x * 1e3;
	return true;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The Kolmogorov-Smirnov distance between the sorted x[0..n) and m's
 * CDF: the largest gap just below and at each distinct value. */
static double ks(const struct delay_model *m, const double *x, size_t n)
{
	double d = 0;
	size_t j;

	for (size_t i = 0; i < n; i = j) {
		for (j = i; j < n && x[j] == x[i]; j++)
			;
		d = fmax(d, fabs(delay_cdf(m, x[i], false) - (double)i / (double)n));
		d = fmax(d, fabs(delay_cdf(m, x[i], true) - (double)j / (double)n));
	}
	return d;
}

/* Append "P=MS" for each percentile with enough data, MS the quantile
 * (`q` of p) in us, written in ms with 3 decimals, at least 0.001. */
static void quantiles_spec(char *buf, size_t len, size_t n,
			   double (*q)(const void *cls, double p), const void *cls)
{
	size_t used = (size_t)snprintf(buf, len, "quantiles:");
	bool first = true;
	double prev = 0;

	for (size_t i = 0; i < sizeof(percentiles) / sizeof(percentiles[0]); i++) {
		double p = strtod(percentiles[i], NULL) / 100;
		double ms = floor(q(cls, p) / 1000 * 1000 + 0.5) / 1000;

		if ((double)n * fmin(p, 1 - p) < 10)
			continue;
		ms = fmax(fmax(ms, 0.001), prev);
		prev = ms;
		used += (size_t)snprintf(buf + used, len - used, "%s%s=%.3f", first ? "" : ",",
					 percentiles[i], ms);
		first = false;
	}
}

/* The type-7 quantile of the sorted data (linear between order
 * statistics). */
static double data_quantile(const void *cls, double p)
{
	const double *x = ((const double *const *)cls)[0];
	size_t n = *(const size_t *)((const void *const *)cls)[1];
	double h = (double)(n - 1) * p;
	size_t k = (size_t)h;

	return k + 1 < n ? x[k] + (h - (double)k) * (x[k + 1] - x[k]) : x[n - 1];
}

static double model_quantile(const void *cls, double p)
{
	return delay_quantile(cls, p);
}

/* A spec parsed with no cap but the largest. */
static bool model_of(const char *spec, struct delay_model *m, char *err, size_t errlen)
{
	m->clamp_ms = DELAY_LIMIT_MS;
	return delay_model_parse(spec, m, err, errlen);
}

/* lognormal:MEDIAN:P99 through median and p99 (in us): whole ms. */
static void lognormal_spec(char *buf, size_t len, double median, double p99)
{
	double m = fmax(1, floor(median / 1000 + 0.5));
	double p = fmin(fmax(m, floor(p99 / 1000 + 0.5)), DELAY_LIMIT_MS);

	snprintf(buf, len, "lognormal:%.0f:%.0f", fmin(m, p), p);
}

/* Print the specs and their KS distances (x: the sorted data, or NULL
 * with hist: a histogram's model, whose bounds the KS is taken at). */
static bool report(FILE *out, const char *qspec, const char *lspec, const double *x,
		   size_t n, const struct delay_model *hist, char *err, size_t errlen)
{
	struct delay_model q = {0}, l = {0};
	double dq, dl, crit = 1.628 / sqrt((double)n);
	char text[DELAY_TEXT_MAX];

	if (!model_of(qspec, &q, err, errlen))
		return false;
	if (!model_of(lspec, &l, err, errlen)) {
		delay_model_unref(&q);
		return false;
	}
	delay_model_describe(&q, text, sizeof(text)); /* "80", not "80.000" */
	qspec = text;
	if (x != NULL) {
		dq = ks(&q, x, n);
		dl = ks(&l, x, n);
		fprintf(out, "%s\n# KS distance %.4f over %zu response times (the 1%% "
			"critical value is %.4f)\n", qspec, dq, n, crit);
	} else {
		dq = dl = 0;
		for (double p = 0.001; p < 1; p += 0.001) {
			double b = delay_quantile(hist, p);

			dq = fmax(dq, fabs(delay_cdf(&q, b, true) - delay_cdf(hist, b, true)));
			dl = fmax(dl, fabs(delay_cdf(&l, b, true) - delay_cdf(hist, b, true)));
		}
		fprintf(out, "%s\n# KS distance %.4f to the histogram's CDF\n", qspec, dq);
		crit = 0.05; /* no count of draws: a distance users see on a chart */
	}
	if (dl < crit)
		fprintf(out, "%s\n# KS distance %.4f\n", lspec, dl);
	else
		fprintf(out, "# %s does not fit: KS distance %.4f\n", lspec, dl);
	delay_model_unref(&q);
	delay_model_unref(&l);
	return true;
}

/* Does the file hold NAME_bucket{ lines (a Prometheus scrape)? */
static bool is_scrape(FILE *f)
{
	char *line = NULL;
	size_t cap = 0;
	bool yes = false;

	while (!yes && getline(&line, &cap, f) != -1)
		yes = strstr(line, "_bucket{") != NULL;
	free(line);
	rewind(f);
	return yes;
}

static bool fit_histogram(const char *path, FILE *out, char *err, size_t errlen)
{
	char spec[DELAY_TEXT_MAX], qspec[DELAY_TEXT_MAX], lspec[64], msg[256];
	struct delay_model h = {0};
	bool ok;

	snprintf(spec, sizeof(spec), "histogram:%s", path);
	if (!model_of(spec, &h, msg, sizeof(msg))) {
		snprintf(err, errlen, "%s", msg);
		return false;
	}
	quantiles_spec(qspec, sizeof(qspec), SIZE_MAX / 2, model_quantile, &h);
	lognormal_spec(lspec, sizeof(lspec), delay_quantile(&h, 0.5), delay_quantile(&h, 0.99));
	ok = report(out, qspec, lspec, NULL, 1, &h, err, errlen);
	delay_model_unref(&h);
	return ok;
}

bool fit_file(const char *path, FILE *out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	double *x = NULL, sum = 0, sum2 = 0;
	size_t n = 0, cap = 0, line_no = 0, linecap = 0, zeros = 0;
	char *line = NULL, qspec[DELAY_TEXT_MAX], lspec[64], msg[200];
	const void *cls[2];
	bool ok = false;

	if (f == NULL && strchr(path, ':') != NULL) /* FILE:SERIES */
		return fit_histogram(path, out, err, errlen);
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return false;
	}
	if (is_scrape(f)) {
		fclose(f);
		return fit_histogram(path, out, err, errlen);
	}
	while (getline(&line, &linecap, f) != -1) {
		char *s = line + strspn(line, " \t"), *end = s + strlen(s);
		double us;

		line_no++;
		while (end > s && strchr(" \t\r\n", end[-1]) != NULL)
			*--end = '\0';
		if (*s == '\0' || *s == '#')
			continue;
		if (!line_us(s, &us, msg, sizeof(msg))) {
			snprintf(err, errlen, "%s:%zu: %s", path, line_no, msg);
			goto out;
		}
		if (n == cap) {
			double *grown = realloc(x, (cap = cap ? 2 * cap : 1024) * sizeof(*x));

			if (grown == NULL) {
				snprintf(err, errlen, "%s: out of memory", path);
				goto out;
			}
			x = grown;
		}
		x[n++] = fmin(us, (double)DELAY_LIMIT_MS * 1000);
		if (us > 0) {
			sum += log(us);
			sum2 += log(us) * log(us);
		} else {
			zeros++;
		}
	}
	if (n < 20) {
		snprintf(err, errlen, "%s: %zu response times; --fit needs at least 20", path, n);
		goto out;
	}
	qsort(x, n, sizeof(*x), cmp_double);
	cls[0] = x;
	cls[1] = &n;
	quantiles_spec(qspec, sizeof(qspec), n, data_quantile, cls);
	{
		size_t k = n - zeros;
		double mu = sum / (double)k;
		double sd = sqrt(fmax(0, sum2 / (double)k - mu * mu));

		lognormal_spec(lspec, sizeof(lspec), exp(mu), exp(mu + DELAY_Z99 * sd));
	}
	ok = report(out, qspec, lspec, x, n, NULL, err, errlen);
out:
	free(line);
	free(x);
	fclose(f);
	return ok;
}
