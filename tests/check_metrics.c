/* Unit tests for src/metrics.c: counting, histogram buckets, the text
 * format, and the lateness quantile. */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "testutil.h"

static struct metrics *m;
static char *text;

static void setup(void)
{
	struct metrics_build build = {"9.9.9", "0.9.75", "2.14",
				      "/usr/lib/x86_64-linux-gnu/libmicrohttpd.so.12.60.0"};

	m = metrics_create(&build);
	ck_assert_ptr_nonnull(m);
	text = NULL;
}

static void teardown(void)
{
	free(text);
	metrics_destroy(m);
}

static const char *render(void)
{
	struct metrics_gauges g = {.waiting = 3, .in_flight = 4, .connections = 5, .ready = 1};
	size_t len = 0;

	free(text);
	text = metrics_render(m, &g, &len);
	ck_assert_ptr_nonnull(text);
	ck_assert_uint_eq(len, strlen(text));
	return text;
}

/* Assert the exposition has the line `line` exactly. */
static void has_line(const char *line)
{
	const char *p = render();
	size_t n = strlen(line);

	while ((p = strstr(p, line)) != NULL) {
		if ((p == text || p[-1] == '\n') && (p[n] == '\n'))
			return;
		p += n;
	}
	ck_abort_msg("no line '%s' in:\n%s", line, text);
}

START_TEST(test_counts_by_route_and_code)
{
	metrics_request(m, METRICS_ROUTE_USER, 200, 1000000);
	metrics_request(m, METRICS_ROUTE_USER, 200, 2000000);
	metrics_request(m, METRICS_ROUTE_USERS, 400, 10);
	metrics_request(m, METRICS_ROUTE_OTHER, 404, 10);
	metrics_request(m, METRICS_ROUTE_USER, 418, 10); /* not a userd code */
	has_line("userd_requests_total{route=\"/user\",code=\"200\"} 2");
	has_line("userd_requests_total{route=\"/users\",code=\"400\"} 1");
	has_line("userd_requests_total{route=\"other\",code=\"404\"} 1");
	has_line("userd_requests_total{route=\"/user\",code=\"other\"} 1");
	has_line("userd_requests_total{route=\"/user\",code=\"503\"} 0");
}
END_TEST

START_TEST(test_histogram_is_cumulative)
{
	metrics_request(m, METRICS_ROUTE_USER, 200, 500000);       /* 0.5 ms */
	metrics_request(m, METRICS_ROUTE_USER, 200, 700000000);    /* 0.7 s */
	metrics_request(m, METRICS_ROUTE_USER, 200, 120000000000); /* 120 s */
	has_line("userd_request_duration_seconds_bucket{route=\"/user\",le=\"0.001\"} 1");
	has_line("userd_request_duration_seconds_bucket{route=\"/user\",le=\"0.5\"} 1");
	has_line("userd_request_duration_seconds_bucket{route=\"/user\",le=\"0.75\"} 2");
	has_line("userd_request_duration_seconds_bucket{route=\"/user\",le=\"60\"} 2");
	has_line("userd_request_duration_seconds_bucket{route=\"/user\",le=\"+Inf\"} 3");
	has_line("userd_request_duration_seconds_count{route=\"/user\"} 3");
	has_line("userd_request_duration_seconds_sum{route=\"/user\"} 120.700500000");
}
END_TEST

/* userd_delay_model_info names the model in force when there is one. */
START_TEST(test_delay_model_info)
{
	struct delay_model dm = {.clamp_ms = 60000};
	struct metrics_gauges g = {.ready = 1, .delay = &dm};
	char err[160];
	size_t len;

	ck_assert(strstr(render(), "userd_delay_model_info") == NULL); /* none given */
	ck_assert(delay_model_parse("quantiles:50=80,99.9=3000", &dm, err, sizeof(err)));
	free(text);
	text = metrics_render(m, &g, &len);
	ck_assert_ptr_nonnull(text);
	ck_assert_msg(strstr(text, "# TYPE userd_delay_model_info gauge\n"
				   "userd_delay_model_info{kind=\"quantiles\","
				   "model=\"quantiles:50=80,99.9=3000\"} 1\n") != NULL, "%s", text);
	delay_model_unref(&dm);
}
END_TEST

START_TEST(test_gauges_counters_info)
{
	metrics_disconnect(m);
	metrics_disconnect(m);
	metrics_fault(m, FAULT_RESET);
	has_line("userd_requests_waiting 3");
	has_line("userd_requests_in_flight 4");
	has_line("userd_connections 5");
	has_line("userd_ready 1");
	has_line("userd_client_disconnects_total 2");
	has_line("userd_faults_injected_total{kind=\"reset\"} 1");
	has_line("userd_faults_injected_total{kind=\"status\"} 0");
	has_line("# TYPE userd_log_lines_dropped_total counter");
	has_line("userd_log_lines_dropped_total 0"); /* nothing logged here */
	has_line("userd_build_info{version=\"9.9.9\",libmicrohttpd=\"0.9.75\","
		 "libmicrohttpd_file=\"/usr/lib/x86_64-linux-gnu/libmicrohttpd.so.12.60.0\","
		 "jansson=\"2.14\"} 1");
	ck_assert(strstr(render(), "\nprocess_start_time_seconds ") != NULL);
	has_line("# TYPE userd_timer_lateness_seconds histogram");
}
END_TEST

/* The library's file is a label value: \\, " and newline escaped, and a
 * path too long for the label is cut, never inside an escape. */
START_TEST(test_build_info_file_is_escaped)
{
	char path[700];
	struct metrics_build build = {"9.9.9", "0.9.75", "2.14", "/a\"b\\c\nd.so"};

	metrics_destroy(m);
	m = metrics_create(&build);
	ck_assert_ptr_nonnull(m);
	has_line("userd_build_info{version=\"9.9.9\",libmicrohttpd=\"0.9.75\","
		 "libmicrohttpd_file=\"/a\\\"b\\\\c\\nd.so\",jansson=\"2.14\"} 1");

	/* 510 bytes fit; one more byte, if a quote, needs two: it is left out. */
	memset(path, 'x', 510);
	strcpy(path + 510, "\"tail");
	build.libmicrohttpd_file = path;
	metrics_destroy(m);
	m = metrics_create(&build);
	ck_assert_ptr_nonnull(m);
	path[510] = '\0';
	{
		char want[sizeof(path) + 40];

		snprintf(want, sizeof(want), "libmicrohttpd_file=\"%s\",jansson=", path);
		ck_assert_msg(strstr(render(), want) != NULL, "no cut label in %s", text);
	}
}
END_TEST

START_TEST(test_every_sample_has_help_and_type)
{
	const char *line = render();
	char family[128] = "";

	/* Each metric family is introduced by HELP then TYPE before its
	 * first sample. */
	while (*line != '\0') {
		const char *end = strchr(line, '\n');
		size_t n = (size_t)(end - line);

		ck_assert_ptr_nonnull(end);
		if (strncmp(line, "# TYPE ", 7) == 0) {
			sscanf(line + 7, "%127s", family);
		} else if (line[0] != '#') {
			ck_assert_msg(family[0] != '\0' && strncmp(line, family, strlen(family)) == 0,
				      "sample outside its family: %.*s", (int)n, line);
		}
		line = end + 1;
	}
}
END_TEST

START_TEST(test_lateness_quantile)
{
	ck_assert_double_eq(metrics_lateness_quantile(m, 0.99, false), 0);
	for (int i = 0; i < 99; i++)
		metrics_lateness(m, 30000); /* 30 us: first bucket, <= 50 us */
	metrics_lateness(m, 3000000);       /* 3 ms */
	ck_assert_double_le(metrics_lateness_quantile(m, 0.5, false), 0.00005);
	ck_assert_double_le(metrics_lateness_quantile(m, 0.99, false), 0.00005);
	ck_assert_double_gt(metrics_lateness_quantile(m, 0.999, false), 0.002);
	ck_assert_double_le(metrics_lateness_quantile(m, 0.999, false), 0.005);
	has_line("userd_timer_lateness_seconds_count 100");
	/* The response's lateness is a histogram of its own. */
	ck_assert_double_eq(metrics_lateness_quantile(m, 0.99, true), 0);
	metrics_response_lateness(m, 800000); /* 0.8 ms */
	ck_assert_double_gt(metrics_lateness_quantile(m, 0.5, true), 0.0005);
	ck_assert_double_le(metrics_lateness_quantile(m, 0.5, true), 0.001);
	has_line("userd_response_lateness_seconds_count 1");
	has_line("userd_response_lateness_seconds_bucket{le=\"0.0001\"} 0");
	has_line("userd_response_lateness_seconds_bucket{le=\"0.001\"} 1");
}
END_TEST

static atomic_bool stop_observing;

static void *observe_loop(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop_observing)) {
		metrics_request(m, METRICS_ROUTE_USER, 200, 1000000);
		metrics_lateness(m, 500000);
	}
	return NULL;
}

/* The value of the sample line starting with `prefix` in `t`. */
static unsigned long long sample(const char *t, const char *prefix)
{
	const char *p = strstr(t, prefix);

	ck_assert_msg(p != NULL, "no %s", prefix);
	return strtoull(p + strlen(prefix), NULL, 10);
}

/* Scraped while requests are being counted, a histogram's +Inf bucket
 * and its _count are the same number in every scrape. */
START_TEST(test_scrape_during_updates_is_consistent)
{
	pthread_t writers[2];

	atomic_store(&stop_observing, false);
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&writers[i], NULL, observe_loop, NULL), 0);
	for (int i = 0; i < 300; i++) {
		const char *t = render();
		unsigned long long inf = sample(
			t, "userd_request_duration_seconds_bucket{route=\"/user\",le=\"+Inf\"} ");
		unsigned long long count =
			sample(t, "userd_request_duration_seconds_count{route=\"/user\"} ");
		unsigned long long late_inf =
			sample(t, "userd_timer_lateness_seconds_bucket{le=\"+Inf\"} ");
		unsigned long long late_count = sample(t, "userd_timer_lateness_seconds_count ");

		if (inf != count || late_inf != late_count) {
			atomic_store(&stop_observing, true);
			for (int j = 0; j < 2; j++)
				pthread_join(writers[j], NULL);
			ck_abort_msg("scrape %d: +Inf %llu, _count %llu; lateness %llu, %llu",
				     i, inf, count, late_inf, late_count);
		}
	}
	atomic_store(&stop_observing, true);
	for (int i = 0; i < 2; i++)
		pthread_join(writers[i], NULL);
}
END_TEST

static Suite *metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("registry");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_counts_by_route_and_code);
	tcase_add_test(tc, test_histogram_is_cumulative);
	tcase_add_test(tc, test_gauges_counters_info);
	tcase_add_test(tc, test_delay_model_info);
	tcase_add_test(tc, test_build_info_file_is_escaped);
	tcase_add_test(tc, test_every_sample_has_help_and_type);
	tcase_add_test(tc, test_lateness_quantile);
	tcase_add_test(tc, test_scrape_during_updates_is_consistent);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(metrics_suite());
}
