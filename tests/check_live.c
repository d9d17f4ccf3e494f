/* Unit tests for src/live.c: the ring of recent requests, the drawn-delay
 * histogram and the model's expected curve (every model of delay.c's
 * table), switching models, the JSON snapshot the dashboard polls,
 * shared between pollers, and invalid arguments. */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "live.h"
#include "rules.h"
#include "testutil.h"

static struct live *l;
static json_t *snap;

static struct delay_model model_of(const char *text, uint32_t clamp_ms)
{
	struct delay_model m = {.clamp_ms = clamp_ms};
	char err[128];

	ck_assert_msg(delay_model_parse(text, &m, err, sizeof(err)), "%s", err);
	return m;
}

static void use_model(const char *text, uint32_t clamp_ms)
{
	struct delay_model m = model_of(text, clamp_ms);

	live_destroy(l);
	l = live_create(&m);
	delay_model_unref(&m); /* the live page took its own */
	ck_assert_ptr_nonnull(l);
}

static void setup(void)
{
	l = NULL;
	snap = NULL;
	use_model("uniform:500:2000", 60000);
}

static void teardown(void)
{
	json_decref(snap);
	live_destroy(l);
}

/* Render and parse the snapshot (kept in `snap`). */
static json_t *render(const struct metrics_gauges *g, uint64_t total,
		      const struct live_lateness *late, uint64_t now_ns)
{
	struct metrics_gauges zero = {0};
	size_t len = 0;
	char *text = live_render_json(l, g != NULL ? g : &zero, total, late, now_ns, &len);
	json_error_t e;

	ck_assert_ptr_nonnull(text);
	ck_assert_uint_eq(len, strlen(text));
	json_decref(snap);
	snap = json_loads(text, 0, &e);
	ck_assert_msg(snap != NULL, "bad JSON (%s): %s", e.text, text);
	free(text);
	return snap;
}

static json_t *delays(void)
{
	json_t *d = json_object_get(render(NULL, 0, NULL, 0), "delays");

	ck_assert_ptr_nonnull(d);
	return d;
}

static long long count_at(size_t i)
{
	return json_integer_value(json_array_get(json_object_get(delays(), "counts"), i));
}

static double expected_at(size_t i)
{
	return json_real_value(json_array_get(json_object_get(delays(), "expected"), i));
}

/* ---- the ring ----------------------------------------------------------- */

START_TEST(test_ring_empty)
{
	struct live_entry e[4];

	ck_assert_uint_eq(live_recent(l, e, 4), 0);
	ck_assert_uint_eq(json_array_size(json_object_get(render(NULL, 0, NULL, 0), "recent")), 0);
}
END_TEST

START_TEST(test_ring_oldest_first)
{
	struct live_entry e[LIVE_RING_SIZE];

	live_record(l, LIVE_ROUTE_USER, 200, 10, 20);
	live_record(l, LIVE_ROUTE_USERS, 503, 30, 40);
	live_record(l, LIVE_ROUTE_USER, 400, 50, 60);
	ck_assert_uint_eq(live_recent(l, e, LIVE_RING_SIZE), 3);
	ck_assert_uint_eq(e[0].arrived_ns, 10);
	ck_assert_uint_eq(e[1].route, LIVE_ROUTE_USERS);
	ck_assert_uint_eq(e[1].status, 503);
	ck_assert_uint_eq(e[2].answered_ns, 60);
	/* A smaller buffer gets the newest. */
	ck_assert_uint_eq(live_recent(l, e, 2), 2);
	ck_assert_uint_eq(e[0].arrived_ns, 30);
	ck_assert_uint_eq(e[1].arrived_ns, 50);
}
END_TEST

START_TEST(test_ring_keeps_the_newest)
{
	struct live_entry e[LIVE_RING_SIZE + 8];
	size_t n;

	for (uint64_t i = 0; i < LIVE_RING_SIZE + 44; i++)
		live_record(l, LIVE_ROUTE_USER, 200, i * 10, i * 10 + 5);
	n = live_recent(l, e, LIVE_RING_SIZE + 8);
	ck_assert_uint_eq(n, LIVE_RING_SIZE);
	ck_assert_uint_eq(e[0].arrived_ns, 440);
	for (size_t i = 1; i < n; i++)
		ck_assert_uint_eq(e[i].arrived_ns, e[i - 1].arrived_ns + 10);
}
END_TEST

static void *recorder(void *arg)
{
	uint64_t base = (uint64_t)(uintptr_t)arg * 1000000u;

	for (uint64_t i = 0; i < 20000; i++)
		live_record(l, LIVE_ROUTE_USER, 200, base + i, base + i + 7);
	return NULL;
}

/* Many threads at once: no entry is torn, and the ring holds exactly its
 * size. */
START_TEST(test_ring_threads)
{
	pthread_t t[4];
	struct live_entry e[LIVE_RING_SIZE];
	size_t n;

	for (uintptr_t i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, recorder, (void *)(i + 1)), 0);
	for (size_t i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	n = live_recent(l, e, LIVE_RING_SIZE);
	ck_assert_uint_eq(n, LIVE_RING_SIZE);
	for (size_t i = 0; i < n; i++) {
		ck_assert_uint_eq(e[i].answered_ns, e[i].arrived_ns + 7);
		ck_assert_uint_eq(e[i].status, 200);
	}
}
END_TEST

/* ---- the delay histogram ------------------------------------------------- */

START_TEST(test_uniform_buckets)
{
	json_t *d = delays();

	ck_assert_double_eq_tol(json_real_value(json_object_get(d, "lo_ms")), 500, 1e-9);
	ck_assert_double_eq_tol(json_real_value(json_object_get(d, "width_ms")), 1500.0 / LIVE_DELAY_BUCKETS, 1e-9);
	ck_assert_uint_eq(json_array_size(json_object_get(d, "counts")), LIVE_DELAY_BUCKETS);
	live_delay_drawn(l, 500000);  /* the low edge: first bucket */
	live_delay_drawn(l, 2000000); /* the high edge: last bucket */
	live_delay_drawn(l, 1250000); /* the middle */
	live_delay_drawn(l, 499999);
	live_delay_drawn(l, 2000001);
	live_delay_drawn(l, 2000001);
	ck_assert_int_eq(count_at(0), 1);
	ck_assert_int_eq(count_at(LIVE_DELAY_BUCKETS - 1), 1);
	ck_assert_int_eq(count_at(LIVE_DELAY_BUCKETS / 2), 1);
	d = delays();
	ck_assert_int_eq(json_integer_value(json_object_get(d, "below")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(d, "above")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(d, "total")), 6);
}
END_TEST

/* Draw `n` delays from the model with a fixed seed into the histogram;
 * assert every bucket is within 5 standard deviations of the model's
 * expectation, and that the expectation adds up. */
static void draws_match_model(const char *text, uint32_t clamp_ms, unsigned n)
{
	struct delay_model m = model_of(text, clamp_ms);
	struct rng r;
	double sum = 0;
	json_t *d, *counts, *expected;
	long long inside = 0;

	use_model(text, clamp_ms);
	rng_seed(&r, 42);
	for (unsigned i = 0; i < n; i++)
		live_delay_drawn(l, delay_draw_us(&m, &r));
	d = delays();
	counts = json_object_get(d, "counts");
	expected = json_object_get(d, "expected");
	ck_assert_int_eq(json_integer_value(json_object_get(d, "total")), n);
	for (size_t i = 0; i < LIVE_DELAY_BUCKETS; i++) {
		double e = json_real_value(json_array_get(expected, i));
		long long c = json_integer_value(json_array_get(counts, i));

		ck_assert_msg(fabs((double)c - e) <= 5 * sqrt(e) + 3,
			      "%s bucket %zu: drew %lld, model says %.1f", text, i, c, e);
		sum += e;
		inside += c;
	}
	/* What the model puts inside the chart is what was drawn there, give
	 * or take the noise. */
	ck_assert_msg(fabs(sum - (double)inside) <= 5 * sqrt((double)n) + 3,
		      "%s: expected %.1f inside, drew %lld", text, sum, inside);
	delay_model_unref(&m);
}

START_TEST(test_uniform_matches_model)
{
	draws_match_model("uniform:500:2000", 60000, 40000);
	ck_assert_double_eq_tol(expected_at(0), 1000, 1e-6);
	ck_assert_double_eq_tol(expected_at(17), 1000, 1e-6);
}
END_TEST

START_TEST(test_lognormal_matches_model)
{
	json_t *d;

	draws_match_model("lognormal:200:1500", 60000, 40000);
	d = delays();
	ck_assert_double_eq_tol(json_real_value(json_object_get(d, "lo_ms")), 0, 1e-9);
	/* The chart reaches 1.5 x P99: about 0.4 % of draws lie beyond. */
	ck_assert_int_gt(json_integer_value(json_object_get(d, "above")), 40);
	ck_assert_int_lt(json_integer_value(json_object_get(d, "above")), 400);
}
END_TEST

START_TEST(test_fixed_is_one_spike)
{
	draws_match_model("fixed:800", 60000, 1000);
	ck_assert_int_eq(count_at(LIVE_DELAY_BUCKETS / 2), 1000);
	ck_assert_double_eq_tol(expected_at(LIVE_DELAY_BUCKETS / 2), 1000, 1e-9);
	ck_assert_double_eq_tol(expected_at(LIVE_DELAY_BUCKETS / 2 - 1), 0, 1e-9);
	/* No delay at all still charts. */
	draws_match_model("fixed:0", 60000, 10);
	ck_assert_int_eq(count_at(0), 10);
	ck_assert_double_eq_tol(expected_at(0), 10, 1e-9);
}
END_TEST

/* --max-delay below the model's top: the chart ends at the cap, and the
 * clamped draws pile up in its last bucket, as the model predicts. */
START_TEST(test_cap_piles_up_at_the_end)
{
	json_t *d;

	draws_match_model("uniform:500:2000", 1000, 3000);
	d = delays();
	ck_assert_double_eq_tol(json_real_value(json_object_get(d, "lo_ms")) +
				json_real_value(json_object_get(d, "width_ms")) * LIVE_DELAY_BUCKETS,
				1000, 1e-6);
	ck_assert_double_gt(expected_at(LIVE_DELAY_BUCKETS - 1), 3000 * 0.6);
	ck_assert_int_gt(count_at(LIVE_DELAY_BUCKETS - 1), 3000 / 2);
	/* A cap below the whole range: every draw is the cap. */
	draws_match_model("uniform:500:2000", 300, 100);
	ck_assert_int_eq(count_at(LIVE_DELAY_BUCKETS / 2), 100);
}
END_TEST

/* Case i of 2 x DELAY_KINDS: the example of row i / 2 of delay.c's table,
 * with (odd i) a cap at its upper quartile, so a quarter of the draws
 * pile up at the cap. */
static struct delay_model table_case(int i)
{
	struct delay_model m = model_of(delay_type_of((enum delay_kind)(i / 2))->example, 60000);

	if (i % 2 == 1)
		m.clamp_ms = (uint32_t)(delay_quantile(&m, 0.75) / 1000.0);
	return m;
}

/* For every model in the table: the chart starts where delay_range()
 * says (or, for a single value, at half of it); each bucket's expected
 * count is the model's own CDF across the bucket times the draws; and
 * seeded draws fit that. */
START_TEST(test_expected_is_the_models_cdf)
{
	struct delay_model m = table_case(_i);
	char text[DELAY_TEXT_MAX];
	json_t *d, *expected;
	uint64_t lo, hi;
	double lo_us, w_us, total;

	delay_model_describe(&m, text, sizeof(text));
	draws_match_model(text, m.clamp_ms, 20000);
	d = delays();
	expected = json_object_get(d, "expected");
	lo_us = json_real_value(json_object_get(d, "lo_ms")) * 1000.0;
	w_us = json_real_value(json_object_get(d, "width_ms")) * 1000.0;
	total = (double)json_integer_value(json_object_get(d, "total"));
	delay_range(&m, &lo, &hi);
	ck_assert_double_eq_tol(lo_us, (double)(hi > lo ? lo : lo / 2), 1e-3);
	for (size_t i = 0; i + 1 < LIVE_DELAY_BUCKETS; i++) {
		double a = lo_us + w_us * (double)i;
		double want = total * (delay_cdf(&m, a + w_us, false) - delay_cdf(&m, a, false));
		double got = json_real_value(json_array_get(expected, i));

		ck_assert_msg(fabs(got - want) <= 1e-5 * total, "%s (cap %u) bucket %zu: "
			      "expected %.3f, the model's CDF says %.3f", text, m.clamp_ms,
			      i, got, want);
	}
	delay_model_unref(&m);
}
END_TEST

/* ---- switching models ---------------------------------------------------- */

START_TEST(test_model_switch)
{
	struct delay_model same = model_of("uniform:500:2000", 60000);
	struct delay_model other = model_of("fixed:100", 60000);

	live_delay_drawn(l, 700000);
	live_set_model(l, &same);
	ck_assert_int_eq(json_integer_value(json_object_get(delays(), "total")), 1);
	live_set_model(l, &other);
	ck_assert_int_eq(json_integer_value(json_object_get(delays(), "total")), 0);
	ck_assert_str_eq(json_string_value(json_object_get(snap, "model")), "fixed:100");
	ck_assert_double_eq_tol(json_real_value(json_object_get(delays(), "lo_ms")), 50, 1e-9);
}
END_TEST

/* A model that draws the same way keeps the histogram, whatever the
 * fields of other kinds hold; another cap is another model. */
START_TEST(test_same_model_keeps_the_histogram)
{
	struct delay_model a = model_of("uniform:1:2", 60000), b = model_of("uniform:3:4", 60000);
	char err[128];

	ck_assert(delay_model_parse("lognormal:80:300", &a, err, sizeof(err)));
	ck_assert(delay_model_parse("lognormal:80:300", &b, err, sizeof(err)));
	live_set_model(l, &a);
	live_delay_drawn(l, 90000);
	live_set_model(l, &b);
	ck_assert_int_eq(json_integer_value(json_object_get(delays(), "total")), 1);
	b.clamp_ms = 200;
	live_set_model(l, &b);
	ck_assert_int_eq(json_integer_value(json_object_get(delays(), "total")), 0);
	ck_assert_double_eq_tol(json_real_value(json_object_get(delays(), "lo_ms")) +
				json_real_value(json_object_get(delays(), "width_ms")) * LIVE_DELAY_BUCKETS,
				200, 1e-6);
}
END_TEST

/* ---- render slots and the snapshot ------------------------------------------ */

/* One render per LIVE_SNAPSHOT_MAX_AGE_MS, however many ask. */
START_TEST(test_snapshot_is_shared)
{
	const uint64_t ms = 1000000u, t0 = 7000 * ms;
	struct metrics_gauges g = {.waiting = 1};
	size_t len1 = 0, len2 = 0;
	char *a, *b;

	a = live_snapshot(l, &g, 1, NULL, t0, &len1);
	g.waiting = 2;
	live_record(l, LIVE_ROUTE_USER, 200, t0, t0 + ms);
	b = live_snapshot(l, &g, 2, NULL, t0 + (LIVE_SNAPSHOT_MAX_AGE_MS - 1) * ms, &len2);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_ne(a, b); /* each caller gets its own copy */
	ck_assert_uint_eq(len1, len2);
	ck_assert_str_eq(a, b);
	ck_assert_uint_eq(len1, strlen(a));
	free(b);
	/* Old enough: rendered anew, with what changed. */
	b = live_snapshot(l, &g, 2, NULL, t0 + LIVE_SNAPSHOT_MAX_AGE_MS * ms, &len2);
	ck_assert_ptr_nonnull(b);
	ck_assert_str_ne(a, b);
	ck_assert_ptr_nonnull(strstr(b, "\"waiting\":2"));
	ck_assert_ptr_nonnull(strstr(b, "\"route\":\"/user\""));
	free(a);
	free(b);
	/* A clock that went back (cannot happen on CLOCK_MONOTONIC, but
	 * a test's clock can) renders anew too. */
	a = live_snapshot(l, &g, 3, NULL, t0, &len1);
	ck_assert_ptr_nonnull(strstr(a, "\"requests_total\":3"));
	free(a);
}
END_TEST

START_TEST(test_snapshot)
{
	static const double bounds[] = {0.001, 0.005};
	static const uint64_t late_counts[] = {7, 2, 1};
	struct live_lateness late = {.bounds_s = bounds, .counts = late_counts, .n = 2};
	struct metrics_gauges g = {.waiting = 2000, .in_flight = 2010, .connections = 2020, .ready = 1,
				   .in_service = 4, .queued = 7, .rejected = 9};
	uint64_t now = 5000000000u;
	json_t *s, *recent, *e, *lt;

	live_record(l, LIVE_ROUTE_USER, 200, now - 1500000000u, now - 250000);
	live_record(l, LIVE_ROUTE_USERS, 503, now - 800000000u, now - 100000);
	s = render(&g, 12345, &late, now);
	ck_assert_int_eq(json_integer_value(json_object_get(s, "now_ms")), 5000);
	ck_assert_int_eq(json_integer_value(json_object_get(s, "waiting")), 2000);
	ck_assert_int_eq(json_integer_value(json_object_get(s, "in_flight")), 2010);
	ck_assert_int_eq(json_integer_value(json_object_get(s, "connections")), 2020);
	ck_assert(json_is_true(json_object_get(s, "ready")));
	ck_assert_int_eq(json_integer_value(json_object_get(s, "in_service")), 4);
	ck_assert_int_eq(json_integer_value(json_object_get(s, "queued")), 7);
	ck_assert_int_eq(json_integer_value(json_object_get(s, "rejected")), 9);
	ck_assert_int_eq(json_integer_value(json_object_get(s, "requests_total")), 12345);
	ck_assert_str_eq(json_string_value(json_object_get(s, "model")), "uniform:500:2000");
	ck_assert_int_eq(json_integer_value(json_object_get(s, "clamp_ms")), 60000);

	lt = json_object_get(s, "lateness");
	ck_assert_uint_eq(json_array_size(json_object_get(lt, "bounds_ms")), 2);
	ck_assert_double_eq_tol(json_real_value(json_array_get(json_object_get(lt, "bounds_ms"), 1)), 5, 1e-9);
	ck_assert_uint_eq(json_array_size(json_object_get(lt, "counts")), 3);
	ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(lt, "counts"), 0)), 7);

	recent = json_object_get(s, "recent");
	ck_assert_uint_eq(json_array_size(recent), 2);
	e = json_array_get(recent, 0);
	ck_assert_str_eq(json_string_value(json_object_get(e, "route")), "/user");
	ck_assert_int_eq(json_integer_value(json_object_get(e, "status")), 200);
	ck_assert_double_eq_tol(json_real_value(json_object_get(e, "start_ms")), -1500, 1e-6);
	ck_assert_double_eq_tol(json_real_value(json_object_get(e, "end_ms")), -0.25, 1e-6);
	e = json_array_get(recent, 1);
	ck_assert_str_eq(json_string_value(json_object_get(e, "route")), "/users");
	ck_assert_int_eq(json_integer_value(json_object_get(e, "status")), 503);

	/* Without a lateness histogram, empty arrays. */
	s = render(&g, 0, NULL, now);
	lt = json_object_get(s, "lateness");
	ck_assert_uint_eq(json_array_size(json_object_get(lt, "counts")), 0);
}
END_TEST

/* "phases": the spans of each scheduled rule's windows up to now, times
 * relative to now, the one in force now ending at 0; none for a rule
 * without at= or before the set's start; at most LIVE_PHASES_MAX. */
START_TEST(test_snapshot_phases)
{
	const uint64_t t0 = UINT64_C(9000000000000), s1 = UINT64_C(1000000000);
	struct rules *rules = rules_create();
	struct metrics_gauges g = {0};
	char err[128];
	json_t *p, *e;

	ck_assert(rules_add(rules, "fault=reset ids=9", err, sizeof(err)));
	ck_assert(rules_add(rules, "every=2 at=1-2 fault=reset", err, sizeof(err)));
	ck_assert(rules_add(rules, "at=0.5-0.75 scale=2", err, sizeof(err)));
	rules_start(rules, t0);
	g.rules = rules;
	p = json_object_get(render(&g, 0, NULL, t0 + 5 * s1 + s1 / 2), "phases");
	ck_assert_uint_eq(json_array_size(p), 4);
	e = json_array_get(p, 0);
	ck_assert_int_eq(json_integer_value(json_object_get(e, "rule")), 1);
	ck_assert_double_eq_tol(json_real_value(json_object_get(e, "start_ms")), -4500, 1e-6);
	ck_assert_double_eq_tol(json_real_value(json_object_get(e, "end_ms")), -3500, 1e-6);
	e = json_array_get(p, 2);
	ck_assert_double_eq_tol(json_real_value(json_object_get(e, "start_ms")), -500, 1e-6);
	ck_assert_double_eq_tol(json_real_value(json_object_get(e, "end_ms")), 0, 1e-6);
	e = json_array_get(p, 3);
	ck_assert_int_eq(json_integer_value(json_object_get(e, "rule")), 2);
	ck_assert_double_eq_tol(json_real_value(json_object_get(e, "start_ms")), -5000, 1e-6);
	ck_assert_double_eq_tol(json_real_value(json_object_get(e, "end_ms")), -4750, 1e-6);
	/* Long after the start: the latest windows, no more than the cap. */
	p = json_object_get(render(&g, 0, NULL, t0 + 100000 * s1), "phases");
	ck_assert_uint_eq(json_array_size(p), LIVE_PHASES_MAX);
	e = json_array_get(p, LIVE_PHASES_MAX - 1);
	ck_assert_double_eq_tol(json_real_value(json_object_get(e, "start_ms")), -1000, 1e-6);
	ck_assert_double_eq_tol(json_real_value(json_object_get(e, "end_ms")), 0, 1e-6);
	/* No rules: no phases. */
	p = json_object_get(render(NULL, 0, NULL, t0), "phases");
	ck_assert_uint_eq(json_array_size(p), 0);
	rules_unref(rules);
}
END_TEST

/* The snapshot stays small with a full ring: bounded cost per poll. */
START_TEST(test_snapshot_size_is_bounded)
{
	size_t len = 0;
	struct metrics_gauges g = {0};
	char *text;

	for (uint64_t i = 0; i < 10 * LIVE_RING_SIZE; i++)
		live_record(l, LIVE_ROUTE_USER, 200, 1000000000000u + i * 1234567u,
			    1000000000000u + i * 1234567u + 1999999999u);
	for (uint64_t i = 0; i < 100000; i++)
		live_delay_drawn(l, 500000 + i * 15);
	text = live_render_json(l, &g, UINT64_C(1) << 40, NULL, 1000000000000u + 9999999999999u, &len);
	ck_assert_ptr_nonnull(text);
	ck_assert_uint_lt(len, 32 * 1024);
	free(text);
}
END_TEST

/* ---- invalid arguments ----------------------------------------------------- */

START_TEST(test_null_recorder_is_a_no_op)
{
	struct delay_model m = model_of("fixed:5", 60000);

	live_record(NULL, LIVE_ROUTE_USER, 200, 1, 2);
	live_delay_drawn(NULL, 5000);
	live_set_model(NULL, &m);
	live_destroy(NULL);
}
END_TEST

/* Delays outside every chart, and a buffer with no room. */
START_TEST(test_extremes_are_counted_outside)
{
	struct live_entry e[1];
	json_t *d;

	live_delay_drawn(l, 0);
	live_delay_drawn(l, UINT64_MAX);
	d = delays();
	ck_assert_int_eq(json_integer_value(json_object_get(d, "below")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(d, "above")), 1);
	live_record(l, LIVE_ROUTE_USER, 200, 1, 2);
	ck_assert_uint_eq(live_recent(l, e, 0), 0);
}
END_TEST

/* A model of no known kind is a broken caller: an assertion, not a
 * chart of something else. */
START_TEST(test_unknown_model_aborts)
{
	struct delay_model m = model_of("fixed:5", 60000);

	m.kind = DELAY_KINDS;
	if (_i == 0)
		live_set_model(l, &m);
	else
		live_create(&m);
}
END_TEST

static Suite *live_suite(void)
{
	Suite *s = suite_create("live");
	TCase *ring = tcase_create("ring");
	TCase *hist = tcase_create("delay histogram");
	TCase *models = tcase_create("switching models");
	TCase *snapshot = tcase_create("snapshot");
	TCase *invalid = tcase_create("invalid arguments");

	tcase_add_checked_fixture(ring, setup, teardown);
	tcase_add_test(ring, test_ring_empty);
	tcase_add_test(ring, test_ring_oldest_first);
	tcase_add_test(ring, test_ring_keeps_the_newest);
	tcase_add_test(ring, test_ring_threads);
	suite_add_tcase(s, ring);

	tcase_add_checked_fixture(hist, setup, teardown);
	tcase_add_test(hist, test_uniform_buckets);
	tcase_add_test(hist, test_uniform_matches_model);
	tcase_add_test(hist, test_lognormal_matches_model);
	tcase_add_test(hist, test_fixed_is_one_spike);
	tcase_add_test(hist, test_cap_piles_up_at_the_end);
	tcase_add_loop_test(hist, test_expected_is_the_models_cdf, 0, 2 * DELAY_KINDS);
	suite_add_tcase(s, hist);

	tcase_add_checked_fixture(models, setup, teardown);
	tcase_add_test(models, test_model_switch);
	tcase_add_test(models, test_same_model_keeps_the_histogram);
	suite_add_tcase(s, models);

	tcase_add_checked_fixture(snapshot, setup, teardown);
	tcase_add_test(snapshot, test_snapshot_is_shared);
	tcase_add_test(snapshot, test_snapshot);
	tcase_add_test(snapshot, test_snapshot_size_is_bounded);
	tcase_add_test(snapshot, test_snapshot_phases);
	suite_add_tcase(s, snapshot);

	tcase_add_checked_fixture(invalid, setup, teardown);
	tcase_add_test(invalid, test_null_recorder_is_a_no_op);
	tcase_add_test(invalid, test_extremes_are_counted_outside);
	tcase_add_loop_test_raise_signal(invalid, test_unknown_model_aborts, SIGABRT, 0, 2);
	suite_add_tcase(s, invalid);
	return s;
}

int main(void)
{
	testutil_chdir_srcdir(); /* the models' example files */
	return testutil_run(live_suite());
}
