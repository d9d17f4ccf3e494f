/* End-to-end tests of the live dashboard: GET / serves the
 * built-in page with a strict Content-Security-Policy, GET /live the JSON
 * it polls, other methods 405, and --no-dashboard (or `no-dashboard = yes`
 * in the config file) turns both into 404s.  The page itself is tested in
 * a real browser by tests/browser/. */
#include <check.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"
#include "daemon.h"
#include "live.h"
#include "testutil.h"

static struct daemon d;
static struct reply r;
static char conf[64];
static json_t *snap;

static void teardown(void)
{
	json_decref(snap);
	snap = NULL;
	client_release(&r);
	daemon_cleanup(&d);
	if (conf[0] != '\0')
		unlink(conf);
	conf[0] = '\0';
}

static void start(const char *const args[])
{
	ck_assert_int_eq(daemon_start(&d, args), 0);
}

static void write_conf(const char *text)
{
	testutil_write_temp(conf, text);
}

static const char *header(const char *name)
{
	static char v[1024];
	const char *h = client_header(&r, name, v, sizeof(v));

	ck_assert_msg(h != NULL, "no %s header in:\n%s", name, r.headers);
	return h;
}

/* GET /live and parse it (kept in `snap`), after the snapshot handed out
 * before has aged out (a new one is rendered at most every
 * LIVE_SNAPSHOT_MAX_AGE_MS). */
static json_t *live(void)
{
	json_error_t e;

	usleep((LIVE_SNAPSHOT_MAX_AGE_MS + 20) * 1000);
	client_request(&r, "GET", d.base, "/live");
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(header("Content-Type"), "application/json");
	ck_assert_str_eq(header("Cache-Control"), "no-store");
	json_decref(snap);
	snap = json_loads(r.body, 0, &e);
	ck_assert_msg(snap != NULL, "bad JSON (%s): %s", e.text, r.body);
	return snap;
}

static long long live_int(const char *key)
{
	json_t *v = json_object_get(live(), key);

	ck_assert_msg(json_is_integer(v), "no integer %s in %s", key, r.body);
	return json_integer_value(v);
}

/* ---- the page ----------------------------------------------------------- */

START_TEST(test_page)
{
	const char *csp;
	char len[32];

	start(NULL);
	client_request(&r, "GET", d.base, "/");
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(header("Content-Type"), "text/html; charset=utf-8");
	snprintf(len, sizeof(len), "%zu", r.body_len);
	ck_assert_str_eq(header("Content-Length"), len);
	ck_assert_uint_lt(r.body_len, sizeof(r.body) - 1); /* all of it read */
	ck_assert_str_eq(header("X-Content-Type-Options"), "nosniff");
	csp = header("Content-Security-Policy");
	ck_assert_msg(strstr(csp, "default-src 'self'") != NULL, "%s", csp);
	ck_assert_msg(strstr(csp, "script-src 'sha256-") != NULL, "%s", csp);
	ck_assert_msg(strstr(csp, "style-src 'sha256-") != NULL, "%s", csp);
	ck_assert_msg(strstr(csp, "connect-src 'self'") != NULL, "%s", csp);
	ck_assert_msg(strstr(csp, "unsafe") == NULL, "%s", csp);
	ck_assert(strncmp(r.body, "<!DOCTYPE html>", 15) == 0);
	/* The numbers tests and screen readers read. */
	ck_assert(strstr(r.body, "id=\"waiting\"") != NULL);
	ck_assert(strstr(r.body, "id=\"in-flight\"") != NULL);
	ck_assert(strstr(r.body, "id=\"connections\"") != NULL);
	ck_assert(strstr(r.body, "id=\"rps\"") != NULL);
	ck_assert(strstr(r.body, "id=\"in-service\"") != NULL);
	ck_assert(strstr(r.body, "id=\"queued\"") != NULL);
	ck_assert(strstr(r.body, "id=\"rejected\"") != NULL);
	ck_assert(strstr(r.body, "id=\"gather\"") != NULL);
	/* Self-contained: nothing loaded from elsewhere. */
	ck_assert(strstr(r.body, "src=") == NULL);
	ck_assert(strstr(r.body, "@import") == NULL);
	ck_assert(strstr(r.body, "url(") == NULL);
	ck_assert(strstr(r.body, "href=\"http") == NULL);
	/* A query string does not matter. */
	client_request(&r, "GET", d.base, "/?from=bookmark");
	ck_assert_int_eq(r.status, 200);
}
END_TEST

START_TEST(test_head_and_other_methods)
{
	static const char *const paths[] = {"/", "/live"};

	start(NULL);
	client_request(&r, "HEAD", d.base, "/");
	ck_assert_int_eq(r.status, 200);
	ck_assert_uint_eq(r.body_len, 0);
	ck_assert_str_eq(header("Content-Type"), "text/html; charset=utf-8");
	header("Content-Security-Policy");
	client_request(&r, "HEAD", d.base, "/live");
	ck_assert_int_eq(r.status, 200);
	ck_assert_uint_eq(r.body_len, 0);
	for (size_t i = 0; i < 2; i++) {
		client_request(&r, "POST", d.base, paths[i]);
		client_assert_error(&r, 405);
		ck_assert_str_eq(header("Allow"), "GET, HEAD");
		client_request(&r, "DELETE", d.base, paths[i]);
		client_assert_error(&r, 405);
	}
}
END_TEST

/* ---- the snapshot -------------------------------------------------------- */

START_TEST(test_live_snapshot)
{
	static const char *const args[] = {"--delay", "fixed:50", NULL};
	json_t *s, *recent, *e, *dl;
	double took;

	start(args);
	s = live();
	ck_assert_int_eq(json_integer_value(json_object_get(s, "waiting")), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(s, "requests_total")), 0);
	ck_assert_str_eq(json_string_value(json_object_get(s, "model")), "fixed:50");
	ck_assert(json_is_true(json_object_get(s, "ready")));
	/* It sees itself: one connection, one request in flight. */
	ck_assert_int_eq(json_integer_value(json_object_get(s, "connections")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(s, "in_flight")), 1);

	client_request(&r, "GET", d.base, "/user/3");
	ck_assert_int_eq(r.status, 200);
	client_request(&r, "GET", d.base, "/users?ids=1,2,3&delay=20");
	ck_assert_int_eq(r.status, 200);
	s = live();
	/* Page and snapshot requests are not user traffic. */
	ck_assert_int_eq(json_integer_value(json_object_get(s, "requests_total")), 2);
	recent = json_object_get(s, "recent");
	ck_assert_uint_eq(json_array_size(recent), 2);
	e = json_array_get(recent, 0);
	ck_assert_str_eq(json_string_value(json_object_get(e, "route")), "/user");
	ck_assert_int_eq(json_integer_value(json_object_get(e, "status")), 200);
	took = json_real_value(json_object_get(e, "end_ms")) -
	       json_real_value(json_object_get(e, "start_ms"));
	ck_assert_msg(took >= 50 && took < 1000, "took %.3f ms", took);
	ck_assert_double_lt(json_real_value(json_object_get(e, "start_ms")), 0);
	e = json_array_get(recent, 1);
	ck_assert_str_eq(json_string_value(json_object_get(e, "route")), "/users");
	/* One delay drawn from the model: ?delay= is not a draw. */
	dl = json_object_get(s, "delays");
	ck_assert_int_eq(json_integer_value(json_object_get(dl, "total")), 1);
	ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(dl, "counts"),
							   20)), 1);
	/* Two waits resumed: the timer's lateness histogram. */
	{
		json_t *c = json_object_get(json_object_get(s, "lateness"), "counts");
		long long n = 0;

		for (size_t i = 0; i < json_array_size(c); i++)
			n += json_integer_value(json_array_get(c, i));
		ck_assert_int_eq(n, 2);
	}
	/* Nor is the page. */
	client_request(&r, "GET", d.base, "/");
	ck_assert_int_eq(live_int("requests_total"), 2);
}
END_TEST

/* A SIGHUP that changes the model restarts the histogram under the new
 * model. */
START_TEST(test_reload_switches_model)
{
	const char *args[] = {"--config", conf, NULL};

	write_conf("delay = fixed:10\n");
	start(args);
	client_request(&r, "GET", d.base, "/user/1");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(live(), "delays"),
							   "total")), 1);
	write_conf("delay = uniform:5:15\n");
	ck_assert_int_eq(daemon_signal(&d, SIGHUP), 0);
	for (int i = 0; i < 500; i++) {
		if (strcmp(json_string_value(json_object_get(live(), "model")),
			   "uniform:5:15") == 0)
			break;
		usleep(10000);
	}
	ck_assert_str_eq(json_string_value(json_object_get(snap, "model")), "uniform:5:15");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(snap, "delays"),
							   "total")), 0);
}
END_TEST

/* ---- turned off ----------------------------------------------------------- */

START_TEST(test_no_dashboard)
{
	static const char *const args[] = {"--no-dashboard", NULL};

	start(args);
	client_request(&r, "GET", d.base, "/");
	client_assert_error(&r, 404);
	client_request(&r, "GET", d.base, "/live");
	client_assert_error(&r, 404);
	client_request(&r, "GET", d.base, "/user/1?delay=0");
	ck_assert_int_eq(r.status, 200);
}
END_TEST

START_TEST(test_no_dashboard_in_config_file)
{
	const char *args[] = {"--config", conf, NULL};

	write_conf("no-dashboard = yes\n");
	start(args);
	client_request(&r, "GET", d.base, "/");
	client_assert_error(&r, 404);
	daemon_cleanup(&d);
	write_conf("no-dashboard = no\n");
	start(args);
	client_request(&r, "GET", d.base, "/");
	ck_assert_int_eq(r.status, 200);
}
END_TEST

START_TEST(test_bad_config_and_help)
{
	static char out[65536], err[65536];
	const char *bad[] = {"--config", conf, NULL};
	static const char *const help[] = {"--help", NULL};
	int st;

	write_conf("no-dashboard = maybe\n");
	st = daemon_run(bad, out, err, sizeof(out));
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 78);
	ck_assert_msg(strstr(err, "no-dashboard") != NULL, "%s", err);
	st = daemon_run(help, out, err, sizeof(out));
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert(strstr(out, "--no-dashboard") != NULL);
	ck_assert(strstr(out, "GET /live") != NULL);
}
END_TEST

static Suite *dashboard_suite(void)
{
	Suite *s = suite_create("dashboard");
	TCase *page = tcase_create("page");
	TCase *snapshot = tcase_create("snapshot");
	TCase *off = tcase_create("off");

	tcase_add_checked_fixture(page, NULL, teardown);
	tcase_add_test(page, test_page);
	tcase_add_test(page, test_head_and_other_methods);
	suite_add_tcase(s, page);

	tcase_add_checked_fixture(snapshot, NULL, teardown);
	tcase_add_test(snapshot, test_live_snapshot);
	tcase_add_test(snapshot, test_reload_switches_model);
	suite_add_tcase(s, snapshot);

	tcase_add_checked_fixture(off, NULL, teardown);
	tcase_add_test(off, test_no_dashboard);
	tcase_add_test(off, test_no_dashboard_in_config_file);
	tcase_add_test(off, test_bad_config_and_help);
	suite_add_tcase(s, off);
	return s;
}

int main(void)
{
	return testutil_run(dashboard_suite());
}
