/* End-to-end tests: the real userd binary on 127.0.0.1 --port 0, talked
 * to with libcurl.  Timing assertions have wide margins: they check that
 * requests overlap and are never early, not how fast the machine is. */
#include <arpa/inet.h>
#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"
#include "daemon.h"
#include "testutil.h"

static struct daemon d;

static void stop_daemon(void)
{
	daemon_cleanup(&d);
}

/* ---- the record ---------------------------------------------------- */

START_TEST(test_json_shape)
{
	const char *args[] = {"--delay-min", "0", "--delay-max", "50", NULL};
	struct reply r = {0};
	char v[64];

	ck_assert_int_eq(daemon_start(&d, args), 0);
	client_request(&r, "GET", d.base, "/user/7");
	client_assert_user(&r, 7);
	ck_assert_ptr_nonnull(client_header(&r, "Server-Timing", v, sizeof(v)));
	ck_assert(strncmp(v, "delay;dur=", 10) == 0);
	client_request(&r, "GET", d.base, "/user/0");
	client_assert_user(&r, 0);
	client_request(&r, "GET", d.base, "/user/9223372036854775807");
	client_assert_user(&r, 9223372036854775807LL);
	client_request(&r, "GET", d.base, "/user/%37"); /* percent-encoded 7 */
	client_assert_user(&r, 7);
	client_release(&r);
}
END_TEST

START_TEST(test_head_has_headers_no_body)
{
	const char *args[] = {"--delay-min", "0", "--delay-max", "50", NULL};
	struct reply r = {0};
	char v[64];

	ck_assert_int_eq(daemon_start(&d, args), 0);
	client_request(&r, "HEAD", d.base, "/user/5");
	ck_assert_int_eq(r.code, CURLE_OK);
	ck_assert_int_eq(r.status, 200);
	ck_assert_uint_eq(r.body_len, 0);
	ck_assert_ptr_nonnull(client_header(&r, "Content-Type", v, sizeof(v)));
	ck_assert_str_eq(v, "application/json");
	ck_assert_ptr_nonnull(client_header(&r, "Content-Length", v, sizeof(v)));
	ck_assert_int_eq(atoi(v), (int)strlen("{\"user_id\": 5, \"name\": \"User5\", \"age\": 20}"));
	client_release(&r);
}
END_TEST

/* ---- status codes: every error at once, as JSON -------------------- */

static const struct {
	const char *method;
	const char *path;
	long status;
} table[] = {
	{"GET", "/user/abc", 400},
	{"GET", "/user/-1", 400},
	{"GET", "/user/+1", 400},
	{"GET", "/user/1.5", 400},
	{"GET", "/user/1e3", 400},
	{"GET", "/user/", 400},
	{"GET", "/user/99999999999999999999", 400},
	{"GET", "/user/9223372036854775808", 400},
	{"GET", "/user/7/extra", 400},
	{"GET", "/user/7%00", 400},
	{"GET", "/user/%20", 400},
	{"GET", "/index.html", 404}, /* "/" is the live page (check_dashboard) */
	{"POST", "/", 405},
	{"GET", "/user", 404},
	{"GET", "/nope", 404},
	{"GET", "/users/1", 404},
	{"POST", "/user/1", 405},
	{"PUT", "/user/1", 405},
	{"DELETE", "/user/1", 405},
	{"PATCH", "/user/abc", 405},
	{"POST", "/nope", 404},
};

START_TEST(test_status_table)
{
	/* Delays of 3 s: an error answered in under 1.5 s was not delayed. */
	const char *args[] = {"--delay-min", "3000", "--delay-max", "3000", NULL};
	struct reply r = {0};
	char allow[64];

	ck_assert_int_eq(daemon_start(&d, args), 0);
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		client_request(&r, table[i].method, d.base, table[i].path);
		ck_assert_msg(r.status == table[i].status, "%s %s: %ld, want %ld",
			      table[i].method, table[i].path, r.status,
			      table[i].status);
		client_assert_error(&r, table[i].status);
		ck_assert_double_lt(r.seconds, 1.5);
		if (table[i].status == 405) {
			ck_assert_ptr_nonnull(client_header(&r, "Allow", allow, sizeof(allow)));
			ck_assert_str_eq(allow, "GET, HEAD");
		}
	}
	client_release(&r);
}
END_TEST

/* A raw NUL byte in the target must not be silently cut off: "/user/1"
 * would be served for "/user/1<NUL>/x".  (libcurl cannot send this.) */
START_TEST(test_raw_nul_in_target)
{
	static const char req[] = "GET /user/1\0/x HTTP/1.1\r\nHost: t\r\n"
				  "Connection: close\r\n\r\n";
	static const char ok[] = "GET /user/1 HTTP/1.1\r\nHost: t\r\n"
				 "Connection: close\r\n\r\n";
	static const char query[] = "GET /user/1?delay=0&fail=0 HTTP/1.1\r\n"
				    "Host: t\r\nConnection: close\r\n\r\n";
	const char *args[] = {"--delay", "fixed:0", NULL};
	char buf[2048];

	ck_assert_int_eq(daemon_start(&d, args), 0);
	ck_assert_int_gt(client_raw(d.port, req, sizeof(req) - 1, buf, sizeof(buf)), 0);
	ck_assert_msg(strncmp(buf, "HTTP/1.1 400", 12) == 0, "answer: %s", buf);
	ck_assert(strstr(buf, "malformed request target") != NULL);
	/* The same path without the NUL, and with a query, still work. */
	ck_assert_int_gt(client_raw(d.port, ok, sizeof(ok) - 1, buf, sizeof(buf)), 0);
	ck_assert_msg(strncmp(buf, "HTTP/1.1 200", 12) == 0, "answer: %s", buf);
	ck_assert_int_gt(client_raw(d.port, query, sizeof(query) - 1, buf, sizeof(buf)), 0);
	ck_assert_msg(strncmp(buf, "HTTP/1.1 200", 12) == 0, "answer: %s", buf);
}
END_TEST

/* ---- delays and concurrency ---------------------------------------- */

START_TEST(test_never_before_the_delay)
{
	const char *args[] = {"--delay-min", "200", "--delay-max", "300", NULL};
	struct reply r = {0};

	ck_assert_int_eq(daemon_start(&d, args), 0);
	for (int i = 0; i < 5; i++) {
		client_request(&r, "GET", d.base, "/user/1");
		client_assert_user(&r, 1);
		ck_assert_double_ge(r.seconds, 0.2);
		ck_assert_double_lt(r.seconds, 2.0);
	}
	client_release(&r);
}
END_TEST

START_TEST(test_200_concurrent_requests_overlap)
{
	enum { N = 200 };
	const char *args[] = {"--delay-min", "200", "--delay-max", "400", NULL};
	static struct reply rs[N];
	double wall;

	ck_assert_int_eq(daemon_start(&d, args), 0);
	wall = client_fetch_many(rs, N, &d, 0, 0);
	for (int i = 0; i < N; i++) {
		client_assert_user(&rs[i], i);
		ck_assert_double_ge(rs[i].seconds, 0.2);
	}
	/* Sequentially this takes ~60 s; overlapped, about 0.4 s. */
	ck_assert_msg(wall < 2.0, "200 requests took %.2f s", wall);
}
END_TEST

/* Ages and delays (Server-Timing) of 6 requests on one connection. */
static void seeded_run(const char *seed, int ages[6], char delays[6][32])
{
	const char *args[] = {"--seed", seed, "--delay-min", "0", "--delay-max",
			      "100", NULL};
	struct reply r = {0};
	char path[32];

	ck_assert_int_eq(daemon_start(&d, args), 0);
	for (int i = 0; i < 6; i++) {
		snprintf(path, sizeof(path), "/user/%d", i % 3);
		client_request(&r, "GET", d.base, path);
		ages[i] = client_assert_user(&r, i % 3);
		ck_assert_ptr_nonnull(client_header(&r, "Server-Timing", delays[i], 32));
	}
	client_release(&r);
	daemon_cleanup(&d);
}

START_TEST(test_seed_reproduces_delays_and_ages)
{
	int a[6], b[6], c[6];
	char da[6][32], db[6][32], dc[6][32];
	int same = 0;

	seeded_run("42", a, da);
	seeded_run("42", b, db);
	seeded_run("43", c, dc);
	for (int i = 0; i < 6; i++) {
		ck_assert_int_eq(a[i], b[i]);
		ck_assert_str_eq(da[i], db[i]);
		same += strcmp(da[i], dc[i]) == 0;
	}
	ck_assert_int_lt(same, 6);
}
END_TEST

/* ---- drain ----------------------------------------------------------- */

START_TEST(test_sigterm_drains_in_flight)
{
	enum { N = 100 };
	const char *args[] = {"--delay-min", "1000", "--delay-max", "1500", NULL};
	static struct reply rs[N];
	int status;

	ck_assert_int_eq(daemon_start(&d, args), 0);
	/* SIGTERM 0.4 s in: every request is waiting on its timer. */
	client_fetch_many(rs, N, &d, _i == 0 ? SIGTERM : SIGINT, 0.4);
	for (int i = 0; i < N; i++) {
		client_assert_user(&rs[i], i);
		ck_assert_double_ge(rs[i].seconds, 1.0);
	}
	status = daemon_wait(&d, 10.0);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "exit status %#x", status);
	ck_assert(daemon_log_contains(&d, "draining"));
}
END_TEST

START_TEST(test_drain_refuses_new_connections)
{
	const char *args[] = {"--delay-min", "1500", "--delay-max", "1500", NULL};
	pid_t child;
	int status;

	ck_assert_int_eq(daemon_start(&d, args), 0);
	ck_assert(client_can_connect(d.port));
	/* One slow request, from a child, keeps the drain going while we
	 * knock; it must still get its 200. */
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		struct reply r = {0};

		client_request(&r, "GET", d.base, "/user/3");
		_exit(r.status == 200 ? 0 : 1);
	}
	usleep(400000);
	daemon_signal(&d, SIGTERM);
	usleep(200000);
	ck_assert(!client_can_connect(d.port));
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "the in-flight request was not answered 200");
	status = daemon_wait(&d, 10.0);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
END_TEST

START_TEST(test_drain_timeout_answers_503)
{
	enum { N = 20 };
	const char *args[] = {"--delay-min", "8000", "--delay-max", "8000",
			      "--drain-timeout", "1", NULL};
	static struct reply rs[N];
	double wall;
	int status;

	ck_assert_int_eq(daemon_start(&d, args), 0);
	wall = client_fetch_many(rs, N, &d, SIGTERM, 0.3);
	for (int i = 0; i < N; i++)
		client_assert_error(&rs[i], 503);
	ck_assert_msg(wall < 6.0, "took %.2f s", wall); /* not the 8 s delay */
	status = daemon_wait(&d, 10.0);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert(daemon_log_contains(&d, "drain timeout"));
}
END_TEST

/* ---- command line ---------------------------------------------------- */

static char out[65536], err[65536];

static const struct {
	const char *args[6];
	const char *says;
} bad_cli[] = {
	{{"--frobnicate", NULL}, "unknown option"},
	{{"--port", "http", NULL}, "--port: 'http' is not a number"},
	{{"--port", "70000", NULL}, "out of range"},
	{{"--delay-min", "3000", "--delay-max", "100", NULL}, "above delay-max"},
	{{"--delay", "gaussian:1:2", NULL}, "expected fixed:MS"},
	{{"--error-rate", "1.5", NULL}, "not a number from 0 to 1"},
	{{"--access-log", "xml", NULL}, "not one of off, common, json"},
	{{"--threads", "0", NULL}, "out of range"},
	{{"--log-level", "chatty", NULL}, "not one of"},
};

START_TEST(test_bad_options_exit_64)
{
	int status = daemon_run(bad_cli[_i].args, out, err, sizeof(out));

	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 64);
	ck_assert_msg(strstr(err, bad_cli[_i].says) != NULL, "stderr: %s", err);
	ck_assert(strstr(err, "Usage: userd") != NULL);
}
END_TEST

START_TEST(test_help_and_version)
{
	static const char *const options[] = {
		"--bind", "--port", "--delay-min", "--delay-max", "--seed",
		"--threads", "--max-connections", "--timeout", "--drain-timeout",
		"--log-level", "--help", "--version", "--config", "--delay",
		"--max-delay", "--no-delay-override", "--error-rate", "--max-batch",
		"--access-log", "--timer-slack", "--reuse-port", "--connection-memory",
	};
	const char *help[] = {"--help", NULL};
	const char *version[] = {"--version", NULL};
	int status;

	status = daemon_run(help, out, err, sizeof(out));
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++)
		ck_assert_msg(strstr(out, options[i]) != NULL, "--help lacks %s",
			      options[i]);
	status = daemon_run(version, out, err, sizeof(out));
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_msg(strncmp(out, "userd ", 6) == 0, "version: %s", out);
}
END_TEST

START_TEST(test_port_in_use)
{
	char port[16], want[64];
	const char *args[] = {"--bind", "127.0.0.1", "--port", port, NULL};
	int status;

	ck_assert_int_eq(daemon_start(&d, NULL), 0);
	snprintf(port, sizeof(port), "%u", d.port);
	status = daemon_run(args, out, err, sizeof(out));
	ck_assert(WIFEXITED(status));
	ck_assert_int_ne(WEXITSTATUS(status), 0);
	snprintf(want, sizeof(want), "cannot listen on 127.0.0.1:%u", d.port);
	ck_assert_msg(strstr(err, want) != NULL, "stderr: %s", err);
	ck_assert_msg(strstr(err, "Address already in use") != NULL, "stderr: %s", err);
}
END_TEST

/* userd --check URL, the image's health check: 0 for a 200, 1 for another
 * status or no answer, 64 for what is not an http:// URL. */
START_TEST(test_check_probes_a_url)
{
	static const char *const bad[] = {
		"https://127.0.0.1/readyz", "http://", "http://:80/", "http://h:0/",
		"http://h:65536/", "http://h:8x/", "http://[::1/", "http://h/a b",
		"127.0.0.1:8000/readyz",
	};
	char url[128], closed[64];
	const char *args[] = {"--check", url, NULL};
	int status;

	ck_assert_int_eq(daemon_start(&d, NULL), 0);
	snprintf(url, sizeof(url), "%s/readyz", d.base);
	status = daemon_run(args, out, err, sizeof(out));
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "stderr: %s", err);
	snprintf(url + strlen(url), 16, ": 200\n");
	ck_assert_str_eq(out, url);

	snprintf(url, sizeof(url), "%s/nope", d.base);
	status = daemon_run(args, out, err, sizeof(out));
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	ck_assert_msg(strstr(out, ": 404") != NULL, "stdout: %s", out);

	/* Nothing listens there once the daemon is gone. */
	snprintf(closed, sizeof(closed), "http://127.0.0.1:%u/healthz", d.port);
	daemon_signal(&d, SIGTERM);
	status = daemon_wait(&d, 10.0);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	snprintf(url, sizeof(url), "%s", closed);
	status = daemon_run(args, out, err, sizeof(out));
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	ck_assert_msg(strstr(err, "cannot connect") != NULL, "stderr: %s", err);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(url, sizeof(url), "%s", bad[i]);
		status = daemon_run(args, out, err, sizeof(out));
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 64,
			      "%s: status %d", bad[i], status);
		ck_assert_msg(strstr(err, "is not http://HOST[:PORT][/PATH]") != NULL,
			      "%s: stderr %s", bad[i], err);
	}
}
END_TEST

static Suite *e2e_suite(void)
{
	Suite *s = suite_create("e2e");
	TCase *api = tcase_create("api");
	TCase *timing = tcase_create("timing");
	TCase *drain = tcase_create("drain");
	TCase *cli = tcase_create("cli");

	/* Signals sent at a fixed time into a burst of requests: too soon
	 * under ThreadSanitizer's slowdown, whose stage leaves these out. */
	tcase_set_tags(drain, "timing");

	tcase_add_checked_fixture(api, NULL, stop_daemon);
	tcase_add_checked_fixture(timing, NULL, stop_daemon);
	tcase_add_checked_fixture(drain, NULL, stop_daemon);
	tcase_add_checked_fixture(cli, NULL, stop_daemon);
	tcase_add_test(api, test_json_shape);
	tcase_add_test(api, test_head_has_headers_no_body);
	tcase_add_test(api, test_status_table);
	tcase_add_test(api, test_raw_nul_in_target);
	tcase_add_test(timing, test_never_before_the_delay);
	tcase_add_test(timing, test_200_concurrent_requests_overlap);
	tcase_add_test(timing, test_seed_reproduces_delays_and_ages);
	tcase_add_loop_test(drain, test_sigterm_drains_in_flight, 0, 2);
	tcase_add_test(drain, test_drain_refuses_new_connections);
	tcase_add_test(drain, test_drain_timeout_answers_503);
	tcase_add_loop_test(cli, test_bad_options_exit_64, 0,
			    (int)(sizeof(bad_cli) / sizeof(bad_cli[0])));
	tcase_add_test(cli, test_help_and_version);
	tcase_add_test(cli, test_port_in_use);
	tcase_add_test(cli, test_check_probes_a_url);
	suite_add_tcase(s, api);
	suite_add_tcase(s, timing);
	suite_add_tcase(s, drain);
	suite_add_tcase(s, cli);
	return s;
}

int main(void)
{
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = testutil_run(e2e_suite());
	curl_global_cleanup();
	return rc;
}
