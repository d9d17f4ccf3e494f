/* Unit tests for src/routes.c: which route a path takes, and what each
 * route answers, with no socket and no libmicrohttpd: a fake query, a
 * seeded random stream and a metrics registry. */
#include <check.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "live.h"
#include "config.h"
#include "routes.h"
#include "testutil.h"

/* ---- paths ------------------------------------------------------------- */

static const struct {
	const char *path;
	const char *route; /* the table's path, NULL for none */
	const char *rest;
} paths[] = {
	{"/user/7", "/user/", "7"},
	{"/user/", "/user/", ""},
	{"/user/7/extra", "/user/", "7/extra"},
	{"/users", "/users", ""},
	{"/healthz", "/healthz", ""},
	{"/readyz", "/readyz", ""},
	{"/metrics", "/metrics", ""},
	{"/", "/", ""},
	{"/live", "/live", ""},
	{"/user", NULL, NULL},
	{"/users/", NULL, NULL},
	{"/usersx", NULL, NULL},
	{"", NULL, NULL},
	{"/USER/7", NULL, NULL},
	{"//user/7", NULL, NULL},
	{"/metrics/", NULL, NULL},
	{"/live/", NULL, NULL},
};

START_TEST(test_paths)
{
	const char *rest;
	size_t rest_len;
	int i = routes_match(paths[_i].path, strlen(paths[_i].path), &rest, &rest_len);

	if (paths[_i].route == NULL) {
		ck_assert_msg(i == -1, "%s: route %d", paths[_i].path, i);
		return;
	}
	ck_assert_msg(i >= 0, "%s: no route", paths[_i].path);
	ck_assert_str_eq(routes_path(i), paths[_i].route);
	ck_assert_uint_eq(rest_len, strlen(paths[_i].rest));
	ck_assert(memcmp(rest, paths[_i].rest, rest_len) == 0);
}
END_TEST

START_TEST(test_path_uses_length_not_nul)
{
	const char *rest;
	size_t rest_len;

	ck_assert_str_eq(routes_path(routes_match("/healthzXYZ", 8, &rest, &rest_len)),
			 "/healthz");
	ck_assert_str_eq(routes_path(routes_match("/user/12", 7, &rest, &rest_len)),
			 "/user/");
	ck_assert_uint_eq(rest_len, 1);
	ck_assert_ptr_null(routes_path(-1));
	ck_assert_ptr_null(routes_path(1000));
}
END_TEST

/* ---- answers ------------------------------------------------------------ */

static struct metrics *metrics;
static struct live *live;
static struct run_settings settings;
static struct rng rng;
static const char *query[8][2]; /* key/value pairs, NULL-ended */
static struct route_answer ans;

static bool fake_query(void *cls, const char *key, const char **value, size_t *len)
{
	(void)cls;
	for (int i = 0; query[i][0] != NULL; i++) {
		if (strcmp(query[i][0], key) == 0) {
			*value = query[i][1];
			*len = strlen(query[i][1]);
			return true;
		}
	}
	return false;
}

static struct metrics_gauges fake_gauges(void *cls)
{
	struct metrics_gauges g = {.waiting = 7, .in_flight = 8, .connections = 9, .ready = 1};

	(void)cls;
	return g;
}

static void setup(void)
{
	struct metrics_build build = {"1.0", "0.9.75", "2.14", "/lib/libmicrohttpd.so.12"};
	struct config cfg;

	config_defaults(&cfg);
	settings = cfg.run;
	metrics = metrics_create(&build);
	live = live_create(&settings.delay);
	ck_assert(metrics != NULL && live != NULL);
	rng_seed(&rng, 42);
	memset(query, 0, sizeof(query));
	memset(&ans, 0, sizeof(ans));
}

static void teardown(void)
{
	free(ans.body);
	live_destroy(live);
	metrics_destroy(metrics);
}

/* Dispatch `method path` (query set beforehand) into ans. */
static void dispatch(const char *method, const char *path, bool accepted, bool with_live)
{
	struct routes_env env = {
		.metrics = metrics,
		.live = with_live ? live : NULL,
		.gauges = fake_gauges,
	};
	struct route_request req = {
		.method = method,
		.path = path,
		.query = {.get = fake_query},
		.rng = &rng,
		.settings = &settings,
		.accepted = accepted,
		.draining = !accepted,
		.now_ns = 1000000000,
	};

	free(ans.body);
	routes_dispatch(&env, &req, &ans);
}

static void assert_canned(enum route_canned which, unsigned status)
{
	ck_assert_msg(ans.shared && ans.canned == which, "canned %d (shared %d), want %d",
		      ans.canned, ans.shared, which);
	ck_assert_uint_eq(ans.status, status);
	ck_assert_ptr_null(ans.body);
}

/* The answer's JSON body, parsed (the caller json_decref()s it). */
static json_t *body_json(void)
{
	json_error_t e;
	json_t *j;

	ck_assert(!ans.shared && ans.body != NULL);
	j = json_loadb(ans.body, ans.body_len, 0, &e);
	ck_assert_msg(j != NULL, "not JSON: %.*s", (int)ans.body_len, ans.body);
	return j;
}

START_TEST(test_user_record_after_a_drawn_delay)
{
	json_t *j;

	dispatch("GET", "/user/7", true, true);
	ck_assert_uint_eq(ans.status, 200);
	ck_assert(ans.counted && ans.timed);
	ck_assert_int_eq(ans.metrics_route, METRICS_ROUTE_USER);
	ck_assert_str_eq(ans.content_type, "application/json");
	ck_assert(ans.delay_us >= 500000 && ans.delay_us <= 2000000);
	j = body_json();
	ck_assert_int_eq(json_integer_value(json_object_get(j, "user_id")), 7);
	ck_assert_str_eq(json_string_value(json_object_get(j, "name")), "User7");
	json_decref(j);
}
END_TEST

START_TEST(test_delay_override_and_its_errors)
{
	query[0][0] = "delay";
	query[0][1] = "250";
	dispatch("GET", "/user/1", true, true);
	ck_assert_uint_eq(ans.delay_us, 250000);
	query[0][1] = "abc";
	dispatch("GET", "/user/1", true, true);
	ck_assert_uint_eq(ans.status, 400);
	ck_assert(ans.delay_us == 0 && !ans.shared);
	ck_assert(strstr(ans.body, "delay") != NULL);
	settings.delay_override = false; /* --no-delay-override: ignored */
	dispatch("GET", "/user/1", true, true);
	ck_assert_uint_eq(ans.status, 200);
}
END_TEST

START_TEST(test_fault_is_a_shared_503_after_the_delay)
{
	query[0][0] = "fail";
	query[0][1] = "1";
	query[1][0] = "delay";
	query[1][1] = "30";
	dispatch("GET", "/user/1", true, true);
	assert_canned(CANNED_FAULT, 503);
	ck_assert_uint_eq(ans.delay_us, 30000);
	ck_assert(!ans.timed);
	dispatch("GET", "/users", true, true); /* no ids: 400 first */
	ck_assert_uint_eq(ans.status, 400);
}
END_TEST

START_TEST(test_users_one_answer_after_the_longest)
{
	json_t *j;

	query[0][0] = "ids";
	query[0][1] = "1,2,3";
	dispatch("HEAD", "/users", true, true);
	ck_assert_uint_eq(ans.status, 200);
	ck_assert_int_eq(ans.metrics_route, METRICS_ROUTE_USERS);
	ck_assert(ans.delay_us >= 500000 && ans.delay_us <= 2000000);
	j = body_json();
	ck_assert_uint_eq(json_array_size(j), 3); /* one record per id */
	json_decref(j);
	query[0][1] = "1,,2";
	dispatch("GET", "/users", true, true);
	ck_assert_uint_eq(ans.status, 400);
	settings.max_batch = 2;
	query[0][1] = "1,2,3";
	dispatch("GET", "/users", true, true);
	ck_assert_uint_eq(ans.status, 400);
}
END_TEST

START_TEST(test_shared_answers)
{
	dispatch("GET", "/user/abc", true, true);
	assert_canned(CANNED_BAD_ID, 400);
	ck_assert(ans.counted);
	dispatch("POST", "/user/1", true, true);
	assert_canned(CANNED_METHOD, 405);
	dispatch("DELETE", "/nope", true, true);
	assert_canned(CANNED_NOT_FOUND, 404);
	ck_assert(ans.counted);
	dispatch("GET", "/user/1", false, true); /* after the drain began */
	assert_canned(CANNED_DRAINING, 503);
	dispatch("GET", "/healthz", false, true);
	assert_canned(CANNED_HEALTHY, 200);
	ck_assert(!ans.counted);
	dispatch("GET", "/readyz", true, true);
	assert_canned(CANNED_READY, 200);
	dispatch("GET", "/readyz", false, true);
	assert_canned(CANNED_NOT_READY, 503);
	dispatch("GET", "/", true, true);
	assert_canned(CANNED_PAGE, 200);
	dispatch("GET", "/", true, false); /* --no-dashboard */
	assert_canned(CANNED_NOT_FOUND, 404);
	dispatch("GET", "/live", true, false);
	assert_canned(CANNED_NOT_FOUND, 404);
}
END_TEST

START_TEST(test_metrics_and_live_bodies)
{
	json_t *j;

	dispatch("GET", "/metrics", true, true);
	ck_assert_uint_eq(ans.status, 200);
	ck_assert(!ans.counted && ans.delay_us == 0);
	ck_assert(strstr(ans.body, "userd_requests_waiting 7") != NULL);
	dispatch("GET", "/live", true, true);
	ck_assert_uint_eq(ans.status, 200);
	ck_assert_str_eq(ans.cache_control, "no-store");
	j = body_json();
	ck_assert_int_eq(json_integer_value(json_object_get(j, "waiting")), 7);
	json_decref(j);
}
END_TEST

/* The same seed and the same requests give the same answers. */
START_TEST(test_seeded_stream_reproduces)
{
	uint64_t delays[2][5];
	char bodies[2][5][128];

	for (int run = 0; run < 2; run++) {
		rng_seed(&rng, 99);
		for (int i = 0; i < 5; i++) {
			dispatch("GET", "/user/3", true, true);
			delays[run][i] = ans.delay_us;
			snprintf(bodies[run][i], sizeof(bodies[run][i]), "%.*s",
				 (int)ans.body_len, ans.body);
		}
	}
	for (int i = 0; i < 5; i++) {
		ck_assert_uint_eq(delays[0][i], delays[1][i]);
		ck_assert_str_eq(bodies[0][i], bodies[1][i]);
	}
}
END_TEST

START_TEST(test_every_canned_answer)
{
	struct route_canned_answer a;
	char buf[256];

	for (int i = 0; i < CANNED_COUNT; i++) {
		ck_assert(routes_canned((enum route_canned)i, &a, buf, sizeof(buf)));
		ck_assert(a.status >= 200 && a.status < 600);
		ck_assert(a.body_len > 0 && a.content_type != NULL);
		if (i == CANNED_PAGE)
			continue;
		ck_assert_ptr_eq(a.body, buf);
		ck_assert(strstr(a.body, a.status >= 400 && i != CANNED_NOT_READY
					 ? "\"error\"" : "\"status\"") != NULL);
	}
	routes_canned(CANNED_METHOD, &a, buf, sizeof(buf));
	ck_assert_str_eq(a.headers[0][0], "Allow");
	ck_assert(!routes_canned(CANNED_BAD_ID, &a, buf, 8)); /* does not fit */
}
END_TEST

START_TEST(test_reject)
{
	struct route_answer r;

	routes_reject(&r, 501, "transfer coding not implemented");
	ck_assert_uint_eq(r.status, 501);
	ck_assert(r.counted && !r.shared && r.delay_us == 0);
	ck_assert(strstr(r.body, "\"status\": 501") != NULL);
	free(r.body);
}
END_TEST

static Suite *routes_suite(void)
{
	Suite *s = suite_create("routes");
	TCase *match = tcase_create("match");
	TCase *answer = tcase_create("answer");

	tcase_add_loop_test(match, test_paths, 0, (int)(sizeof(paths) / sizeof(paths[0])));
	tcase_add_test(match, test_path_uses_length_not_nul);
	tcase_add_checked_fixture(answer, setup, teardown);
	tcase_add_test(answer, test_user_record_after_a_drawn_delay);
	tcase_add_test(answer, test_delay_override_and_its_errors);
	tcase_add_test(answer, test_fault_is_a_shared_503_after_the_delay);
	tcase_add_test(answer, test_users_one_answer_after_the_longest);
	tcase_add_test(answer, test_shared_answers);
	tcase_add_test(answer, test_metrics_and_live_bodies);
	tcase_add_test(answer, test_seeded_stream_reproduces);
	tcase_add_test(answer, test_every_canned_answer);
	tcase_add_test(answer, test_reject);
	suite_add_tcase(s, match);
	suite_add_tcase(s, answer);
	return s;
}

int main(void)
{
	return testutil_run(routes_suite());
}
