/* End-to-end tests of rules with a schedule (at=, every=, scale=, a fault
 * mix): the phase as a client sees it, by the status and the delay of
 * its answers, with windows of a second or two; the clock restarting
 * with PUT /rules and SIGHUP; GET /rules' "active" and the metric
 * userd_rule_active; a seeded fault mix drawn the same way twice.
 *
 * Timing: a rule set starts at an instant the test only brackets (from
 * before the command that installs it to after it is done).  A request
 * is sent at or after bracket end + `from`, and must be answered before
 * bracket start + `to`: then the server saw it inside [from, to] of the
 * set's time, whatever the load.  Each such span lies 0.3 s or more
 * inside its phase. */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "daemon.h"
#include "testutil.h"

static struct daemon d;
static struct reply r;
static unsigned admin_port;
static char conf[64];

/* When the rule set in force was installed: between lo and hi
 * (CLOCK_MONOTONIC seconds). */
static double set_lo, set_hi;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_until(double t)
{
	double left = t - now_s();

	if (left > 0)
		usleep((useconds_t)(left * 1e6));
}

static void teardown(void)
{
	client_release(&r);
	daemon_cleanup(&d);
	if (conf[0] != '\0')
		unlink(conf);
	conf[0] = '\0';
}

/* Start userd with `args` (with --admin), bracketing its rules' start. */
static void start(const char *const args[])
{
	char url[96];

	set_lo = now_s();
	ck_assert_int_eq(daemon_start(&d, args), 0);
	set_hi = now_s();
	ck_assert(daemon_admin_url(&d, url, sizeof(url)));
	ck_assert(sscanf(url, "http://127.0.0.1:%u", &admin_port) == 1);
}

/* A control API call; its status, the body in buf. */
static int admin(const char *method, const char *path, const char *body, char *buf,
		 size_t len)
{
	char req[1024];
	int n, status = 0;

	n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		     "Connection: close\r\nContent-Length: %zu\r\n\r\n%s", method, path,
		     strlen(body), body);
	ck_assert(n > 0 && (size_t)n < sizeof(req));
	if (client_raw(admin_port, req, (size_t)n, buf, len) > 12)
		sscanf(buf, "HTTP/1.1 %d", &status);
	return status;
}

/* Install `rules` (a JSON list) with PUT /rules, bracketing its start. */
static void put_rules(const char *rules)
{
	char buf[4096];

	set_lo = now_s();
	ck_assert_int_eq(admin("PUT", "/rules", rules, buf, sizeof(buf)), 200);
	set_hi = now_s();
}

/* GET /rules: rule i's "active" (-1: none shown). */
static int active(size_t i)
{
	char buf[8192];
	const char *body;
	json_t *list, *v;
	int got;

	ck_assert_int_eq(admin("GET", "/rules", "", buf, sizeof(buf)), 200);
	body = strstr(buf, "\r\n\r\n");
	ck_assert_ptr_nonnull(body);
	list = json_loads(body + 4, 0, NULL);
	ck_assert_msg(json_is_array(list), "%s", buf);
	v = json_object_get(json_array_get(list, i), "active");
	got = v == NULL ? -1 : json_is_true(v);
	json_decref(list);
	return got;
}

/* GET `path` in [from, to] seconds of the set's time (see the top):
 * the server takes it in between sending it and its answer less its
 * delay (Server-Timing).  Returns the status, the reply in r; the span
 * seen in *lo and *hi. */
static long get_within(const char *path, double from, double to, double *lo, double *hi)
{
	double sent, done;
	char v[64];

	sleep_until(set_hi + from);
	sent = now_s();
	client_request(&r, "GET", d.base, path);
	done = now_s();
	if (client_header(&r, "Server-Timing", v, sizeof(v)) != NULL &&
	    strncmp(v, "delay;dur=", 10) == 0)
		done -= atof(v + 10) / 1000;
	ck_assert_msg(done - set_lo <= to, "%s: answered %.3f s into the set, after %.3f s "
		      "(too slow a machine to tell the phase)", path, done - set_lo, to);
	if (lo != NULL)
		*lo = sent - set_hi;
	if (hi != NULL)
		*hi = done - set_lo;
	return r.status;
}

/* Assert the status of /user/1 in [from, to] of the set's time. */
static void expect(double from, double to, long status)
{
	long got = get_within("/user/1", from, to, NULL, NULL);

	ck_assert_msg(got == status, "%.1f-%.1f s: %ld, not %ld", from, to, got, status);
}

/* The delay a reply says it was given, in ms (Server-Timing). */
static double delay_ms(void)
{
	char v[64];

	ck_assert(client_header(&r, "Server-Timing", v, sizeof(v)) != NULL);
	ck_assert(strncmp(v, "delay;dur=", 10) == 0);
	return atof(v + 10);
}

/* ---- the phase -------------------------------------------------------- */

/* at=1-2.5: answers before 1 s, a 503 inside (and "active", and the
 * metric), answers again after; PUT /rules restarts the clock. */
START_TEST(test_outage_window_and_put)
{
	const char *args[] = {"--delay", "fixed:0", "--admin", "127.0.0.1:0",
			      "--rule", "at=1-2.5 fault=status:503", NULL};

	start(args);
	expect(0, 0.7, 200);
	ck_assert_int_eq(active(0), 0);
	ck_assert(client_metric(d.base, "userd_rule_active{rule=\"0\"}") == 0);
	expect(1.3, 2.2, 503);
	ck_assert_int_eq(active(0), 1);
	ck_assert(client_metric(d.base, "userd_rule_active{rule=\"0\"}") == 1);
	/* The same rules put again: their time starts anew, outside. */
	put_rules("[{\"at\": \"1-2.5\", \"fault\": \"status:503\"}]");
	expect(0, 0.7, 200);
	ck_assert_int_eq(active(0), 0);
	expect(1.3, 2.2, 503);
	expect(2.8, 60, 200);
	ck_assert_int_eq(active(0), 0);
}
END_TEST

/* every=2 at=1-2: the window again in each period. */
START_TEST(test_every_period)
{
	const char *args[] = {"--delay", "fixed:0", "--admin", "127.0.0.1:0",
			      "--rule", "every=2 at=1-2 fault=status:503", NULL};

	start(args);
	expect(0, 0.7, 200);
	expect(1.3, 1.7, 503);
	expect(2.3, 2.7, 200);
	expect(3.3, 3.7, 503);
}
END_TEST

/* at=0-2 scale=1..4 with fixed:100: the delay is 100 ms times the ramp's
 * value when the request came (X at 0, Y at 2 s), then 100 again. */
START_TEST(test_ramp_scales_the_delay)
{
	const char *args[] = {"--delay", "fixed:100", "--admin", "127.0.0.1:0",
			      "--rule", "at=0-2 scale=1..4", NULL};
	double lo, hi, ms;

	start(args);
	ck_assert_int_eq(get_within("/user/1", 0, 0.5, &lo, &hi), 200);
	ms = delay_ms();
	ck_assert_msg(ms >= 100 && ms <= 100 * (1 + 1.5 * hi) + 1, "early: %.1f ms", ms);
	ck_assert_int_eq(get_within("/user/2", 1.4, 1.7, &lo, &hi), 200);
	ms = delay_ms();
	ck_assert_msg(ms >= 100 * (1 + 1.5 * lo) - 1 && ms <= 100 * (1 + 1.5 * hi) + 1,
		      "late (%.2f-%.2f s): %.1f ms", lo, hi, ms);
	ck_assert_msg(ms >= 300, "late: %.1f ms, not clearly slower", ms);
	/* ?delay= is scaled too: the backend is slower. */
	ck_assert_int_eq(get_within("/user/3?delay=50", 1.4, 1.85, &lo, &hi), 200);
	ms = delay_ms();
	ck_assert_msg(ms >= 50 * (1 + 1.5 * lo) - 1 && ms <= 50 * (1 + 1.5 * hi) + 1,
		      "?delay=50 late: %.1f ms", ms);
	ck_assert_int_eq(get_within("/user/4", 2.3, 60, NULL, NULL), 200);
	ck_assert_double_eq_tol(delay_ms(), 100, 1);
}
END_TEST

/* SIGHUP re-reads the rules and their time starts anew. */
START_TEST(test_reload_restarts_the_clock)
{
	const char *args[] = {"--config", conf, "--admin", "127.0.0.1:0", NULL};
	double before;

	testutil_write_temp(conf, "delay = fixed:0\nrule = at=1-2.5 fault=status:503\n");
	start(args);
	expect(1.3, 2.2, 503);
	before = client_metric(d.base, "userd_config_changes_total{source=\"reload\"}");
	set_lo = now_s();
	ck_assert_int_eq(daemon_signal(&d, SIGHUP), 0);
	for (int i = 0; i < 200; i++) {
		if (client_metric(d.base, "userd_config_changes_total{source=\"reload\"}") > before)
			break;
		usleep(10000);
	}
	set_hi = now_s();
	expect(0, 0.7, 200);
	ck_assert_int_eq(active(0), 0);
	expect(1.3, 2.2, 503);
	ck_assert_int_eq(active(0), 1);
}
END_TEST

/* ---- a fault mix -------------------------------------------------------- */

/* The statuses of /user/1..n, one a fresh connection each, into out. */
static void statuses(const char *const args[], long *out, int n)
{
	char path[32];

	start(args);
	for (int i = 0; i < n; i++) {
		client_release(&r); /* a new connection: the seeded streams' order */
		snprintf(path, sizeof(path), "/user/%d", i + 1);
		client_request(&r, "GET", d.base, path);
		out[i] = r.status;
	}
	client_release(&r);
	daemon_cleanup(&d);
}

/* fault=status:503=0.5: about half the matched requests fail (binomial,
 * 60 of them: 30 +- 3.9, from 10 to 50 is over 5 sigmas), the rest are
 * answered; with --seed the same requests fail again. */
START_TEST(test_seeded_fault_mix)
{
	const char *args[] = {"--delay", "fixed:0", "--seed", "7", "--admin", "127.0.0.1:0",
			      "--rule", "ids=1-1000 fault=status:503=0.5", NULL};
	long first[60], second[60];
	int failed = 0;

	statuses(args, first, 60);
	statuses(args, second, 60);
	for (int i = 0; i < 60; i++) {
		ck_assert_msg(first[i] == 200 || first[i] == 503, "%ld", first[i]);
		ck_assert_int_eq(first[i], second[i]);
		failed += first[i] == 503;
	}
	ck_assert_msg(failed >= 10 && failed <= 50, "%d of 60 failed", failed);
}
END_TEST

static Suite *schedule_suite(void)
{
	Suite *s = suite_create("schedule");
	TCase *phase = tcase_create("phase");
	TCase *mix = tcase_create("mix");

	/* Phases by the clock: 0.3 s margins or more, but timing. */
	tcase_set_tags(phase, "timing");
	tcase_add_checked_fixture(phase, NULL, teardown);
	tcase_set_timeout(phase, 60);
	tcase_add_test(phase, test_outage_window_and_put);
	tcase_add_test(phase, test_every_period);
	tcase_add_test(phase, test_ramp_scales_the_delay);
	tcase_add_test(phase, test_reload_restarts_the_clock);
	suite_add_tcase(s, phase);
	tcase_add_checked_fixture(mix, NULL, teardown);
	tcase_set_timeout(mix, 60);
	tcase_add_test(mix, test_seeded_fault_mix);
	suite_add_tcase(s, mix);
	return s;
}

int main(void)
{
	return testutil_run(schedule_suite());
}
