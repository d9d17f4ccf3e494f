/* Unit tests for src/fit.c: userd --fit reads each format it names
 * (plain numbers, JSON lines, nginx and Apache access logs, a Prometheus
 * scrape), prints a quantiles: spec that parses and holds the data's
 * percentiles, a lognormal: one only where it fits, and names the file
 * and line of what it cannot read. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "delay.h"
#include "fit.h"
#include "rng.h"
#include "testutil.h"

static char path[64];
static char *out;
static size_t out_len;

/* Fit `text` (written to a temporary file); the output in `out`. */
static bool fit(const char *text, char *err, size_t errlen)
{
	FILE *f;
	bool ok;

	path[0] = '\0';
	testutil_write_temp(path, text);
	free(out);
	out = NULL;
	f = open_memstream(&out, &out_len);
	ck_assert_ptr_nonnull(f);
	ok = fit_file(path, f, err, errlen);
	fclose(f);
	unlink(path);
	return ok;
}

/* `n` lines "BEFORE<value>AFTER", each value a lognormal:80:300 draw in
 * ms times `scale` with `decimals` (a seeded stream). */
static char *lines(const char *before, int decimals, const char *after, double scale, int n)
{
	struct delay_model m = {.clamp_ms = DELAY_LIMIT_MS};
	char err[160], *text = malloc((size_t)n * 160 + 1);
	size_t used = 0;
	struct rng r;

	ck_assert_ptr_nonnull(text);
	ck_assert(delay_model_parse("lognormal:80:300", &m, err, sizeof(err)));
	rng_seed(&r, 5);
	text[0] = '\0';
	for (int i = 0; i < n; i++)
		used += (size_t)sprintf(text + used, "%s%.*f%s\n", before, decimals,
					(double)delay_draw_us(&m, &r) / 1000.0 * scale, after);
	return text;
}

/* The first line is a quantiles: spec that parses; its median is near
 * lognormal:80:300's (80 ms), and a lognormal: line follows that fits. */
static void fits_lognormal_80_300(const char *what)
{
	struct delay_model m = {.clamp_ms = DELAY_LIMIT_MS};
	char spec[DELAY_TEXT_MAX], err[256];

	ck_assert_msg(sscanf(out, "%383s", spec) == 1 && strncmp(spec, "quantiles:", 10) == 0,
		      "%s: %s", what, out);
	ck_assert_msg(delay_model_parse(spec, &m, err, sizeof(err)), "%s: %s", what, err);
	ck_assert_msg(fabs(delay_quantile(&m, 0.5) - 80000) < 8000, "%s: median %g us in %s",
		      what, delay_quantile(&m, 0.5), out);
	ck_assert_msg(strstr(out, "\nlognormal:") != NULL, "%s: no lognormal in %s", what, out);
	ck_assert(strstr(out, "# KS distance ") != NULL);
	delay_model_unref(&m);
}

START_TEST(test_formats)
{
	static const struct {
		const char *what, *before;
		int decimals;
		const char *after;
		double scale;
	} cases[] = {
		{"plain ms", "", 3, "", 1},
		{"JSON duration_ms", "{\"status\": 200, \"duration_ms\": ", 3, "}", 1},
		{"JSON request_time as a string", "{\"request_time\": \"", 3, "\"}", 1e-3},
		{"JSON duration_us", "{\"duration_us\": ", 0, "}", 1e3},
		{"nginx $request_time", "1.2.3.4 - - [06/Dec/2026:10:00:00 +0000] \"GET / "
					"HTTP/1.1\" 200 5 \"-\" \"curl\" ", 3, "", 1e-3},
		{"Apache %D", "1.2.3.4 - - [06/Dec/2026:10:00:00 +0000] \"GET / HTTP/1.1\" "
			      "200 5 ", 0, "", 1e3},
	};
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = lines(cases[i].before, cases[i].decimals, cases[i].after,
				   cases[i].scale, 2000);

		ck_assert_msg(fit(text, err, sizeof(err)), "%s: %s", cases[i].what, err);
		fits_lognormal_80_300(cases[i].what);
		free(text);
	}
}
END_TEST

/* A scrape is read as histogram:FILE; FILE:SERIES picks a series. */
START_TEST(test_histogram_scrape)
{
	char err[256];

	ck_assert_msg(fit("# TYPE t_seconds histogram\n"
			  "t_seconds_bucket{le=\"0.05\"} 10\nt_seconds_bucket{le=\"0.1\"} 60\n"
			  "t_seconds_bucket{le=\"0.2\"} 90\nt_seconds_bucket{le=\"0.5\"} 99\n"
			  "t_seconds_bucket{le=\"+Inf\"} 100\n", err, sizeof(err)), "%s", err);
	ck_assert_msg(strncmp(out, "quantiles:", 10) == 0, "%s", out);
	ck_assert_msg(strstr(out, ",50=90,") != NULL, "the median is 90 ms: %s", out);
	ck_assert(strstr(out, "to the histogram's CDF") != NULL);
}
END_TEST

/* What --fit cannot read: the file and line, and nothing printed. */
START_TEST(test_errors)
{
	static const struct {
		const char *text, *message;
	} cases[] = {
		{"5\n6\nabc\n", ":3: 'abc' is not a number of milliseconds"},
		{"{\"duration_ms\": 5}\n{\"x\": 1}\n", ":2: no duration field"},
		{"{\"duration_ms\": -5}\n", ":1: no duration field"},
		{"{nope\n", ":1: not JSON"},
		{"a \"GET /\" 200 -\n", ":1: the last field '-' is not $request_time"},
		{"1\n2\n", ": 2 response times; --fit needs at least 20"},
	};
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_msg(!fit(cases[i].text, err, sizeof(err)), "%s taken", cases[i].text);
		ck_assert_msg(strstr(err, path) != NULL && strstr(err, cases[i].message) != NULL,
			      "%s: %s", cases[i].text, err);
		ck_assert(out == NULL || out[0] == '\0');
	}
	ck_assert(!fit_file("/nonexistent/x", stdout, err, sizeof(err)));
	ck_assert_str_eq(err, "/nonexistent/x: No such file or directory");
}
END_TEST

/* A lognormal: line only where it fits: not for a two-valued sample. */
START_TEST(test_lognormal_only_where_it_fits)
{
	char text[4000] = "", err[256];

	for (int i = 0; i < 200; i++)
		strcat(text, i % 2 ? "10\n" : "1000\n");
	ck_assert_msg(fit(text, err, sizeof(err)), "%s", err);
	ck_assert_msg(strstr(out, "\nlognormal:") == NULL, "%s", out);
	ck_assert_msg(strstr(out, "does not fit: KS distance") != NULL, "%s", out);
}
END_TEST

static void teardown(void)
{
	free(out);
	out = NULL;
}

static Suite *fit_suite(void)
{
	Suite *s = suite_create("fit");
	TCase *tc = tcase_create("fit");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_formats);
	tcase_add_test(tc, test_histogram_scrape);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_lognormal_only_where_it_fits);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(fit_suite());
}
