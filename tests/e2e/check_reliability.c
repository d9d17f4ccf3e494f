/* Reliability: what a client or the host can do to a draining or starting
 * server must not crash it, leave a connection hanging or count an answer
 * nobody received.  Each case here once broke userd; see README
 * "Reliability".  The real binary, on 127.0.0.1 --port 0. */
#include <check.h>
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

static void assert_exit_0(struct daemon *dm)
{
	int status = daemon_wait(dm, 15.0);

	ck_assert_msg(status != -1, "userd did not exit");
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "userd ended with %s %d", WIFSIGNALED(status) ? "signal" : "status",
		      WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
}

/* A request whose headers came before SIGTERM and whose body comes after
 * the drain timeout flushed the waiting requests must be answered 503 at
 * once: nothing may suspend after the flush (libmicrohttpd aborts when
 * it is stopped with a suspended connection). */
START_TEST(test_body_after_flush_is_503)
{
	const char *args[] = {"--delay", "fixed:3000", "--drain-timeout", "1", NULL};
	char buf[4096];
	int fd;

	ck_assert_int_eq(daemon_start(&d, args), 0);
	fd = client_raw_open(d.port);
	ck_assert_int_ge(fd, 0);
	ck_assert(client_raw_send(fd, "GET /user/1 HTTP/1.1\r\nHost: t\r\n"
				  "Content-Length: 5\r\n\r\n"));
	usleep(200000);
	daemon_signal(&d, SIGTERM);
	usleep(1500000); /* past the 1 s drain timeout and its flush */
	ck_assert(client_raw_send(fd, "hello"));
	ck_assert_int_gt(client_raw_answer(fd, buf, sizeof(buf), 5.0), 0);
	ck_assert_msg(strncmp(buf, "HTTP/1.1 503", 12) == 0, "answer: %s", buf);
	ck_assert_msg(strstr(buf, "\"error\"") != NULL, "answer: %s", buf);
	close(fd);
	assert_exit_0(&d);
}
END_TEST

/* While draining, every answer closes its connection, shared answers
 * (health, readiness, 404) included, so keep-alive clients move on. */
START_TEST(test_drain_closes_keep_alive)
{
	static const char *const paths[] = {"/readyz", "/healthz", "/nope"};
	static const char *const status[] = {"HTTP/1.1 503", "HTTP/1.1 200",
					     "HTTP/1.1 404"};
	const char *args[] = {"--delay", "fixed:2000", NULL};
	int slow, fds[3];
	char buf[4096], req[128];

	ck_assert_int_eq(daemon_start(&d, args), 0);
	slow = client_raw_open(d.port); /* keeps the drain going */
	ck_assert_int_ge(slow, 0);
	ck_assert(client_raw_send(slow, "GET /user/1 HTTP/1.1\r\nHost: t\r\n\r\n"));
	for (int i = 0; i < 3; i++) {
		fds[i] = client_raw_open(d.port);
		ck_assert_int_ge(fds[i], 0);
		/* Before the drain: a keep-alive answer. */
		ck_assert(client_raw_send(fds[i], "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"));
		ck_assert_int_gt(client_raw_answer(fds[i], buf, sizeof(buf), 5.0), 0);
		ck_assert_msg(strstr(buf, "HTTP/1.1 200") == buf, "answer: %s", buf);
		ck_assert_msg(strcasestr(buf, "Connection: close") == NULL, "answer: %s", buf);
	}
	usleep(200000);
	daemon_signal(&d, SIGTERM);
	usleep(300000);
	for (int i = 0; i < 3; i++) {
		snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", paths[i]);
		ck_assert(client_raw_send(fds[i], req));
		ck_assert_int_gt(client_raw_answer(fds[i], buf, sizeof(buf), 5.0), 0);
		ck_assert_msg(strstr(buf, status[i]) == buf, "%s: %s", paths[i], buf);
		ck_assert_msg(strcasestr(buf, "\r\nConnection: close") != NULL,
			      "%s during the drain: %s", paths[i], buf);
		ck_assert_msg(client_raw_closed(fds[i], 5.0), "%s: connection left open",
			      paths[i]);
		close(fds[i]);
	}
	ck_assert_int_gt(client_raw_answer(slow, buf, sizeof(buf), 5.0), 0);
	ck_assert_msg(strncmp(buf, "HTTP/1.1 200", 12) == 0, "answer: %s", buf);
	close(slow);
	assert_exit_0(&d);
}
END_TEST

/* A client that left while its request waited is not "answered" by the
 * drain's 503 either: the same rule as at a deadline (counted as gone,
 * not logged as a 503). */
START_TEST(test_flush_skips_gone_clients)
{
	const char *args[] = {"--delay", "fixed:5000", "--drain-timeout", "1", NULL};
	char buf[4096];
	int gone, stays;

	ck_assert_int_eq(daemon_start(&d, args), 0);
	gone = client_raw_open(d.port);
	stays = client_raw_open(d.port);
	ck_assert(gone >= 0 && stays >= 0);
	ck_assert(client_raw_send(gone, "GET /user/1 HTTP/1.1\r\nHost: t\r\n\r\n"));
	ck_assert(client_raw_send(stays, "GET /user/2 HTTP/1.1\r\nHost: t\r\n\r\n"));
	usleep(200000);
	close(gone);
	usleep(200000);
	daemon_signal(&d, SIGTERM);
	ck_assert_int_gt(client_raw_answer(stays, buf, sizeof(buf), 5.0), 0);
	ck_assert_msg(strncmp(buf, "HTTP/1.1 503", 12) == 0, "answer: %s", buf);
	close(stays);
	assert_exit_0(&d);
	ck_assert(daemon_log_contains(&d, "\"GET /user/2 HTTP/1.1\" 503"));
	ck_assert_msg(daemon_log_lacks(&d, "\"GET /user/1 HTTP/1.1\" 503"),
		      "the 503 for a client that had left was logged as answered");
	/* Its deadline never came: no lateness (before, late_ms said it
	 * was answered 3.6 s early). */
	ck_assert_msg(daemon_log_lacks(&d, "late_ms="), "a flushed request has a late_ms");
}
END_TEST

/* Open a raw connection to d and send `req` (a C string) on it. */
static int raw_request(const char *req)
{
	int fd = client_raw_open(d.port);

	ck_assert_int_ge(fd, 0);
	ck_assert(client_raw_send(fd, req));
	return fd;
}

/* Read the answer on fd (whole, or until the server closes; then close
 * fd): assert its status line, return its body's length. */
static size_t raw_answer_is(int fd, const char *status)
{
	char buf[4096];
	const char *body;

	ck_assert_int_gt(client_raw_answer(fd, buf, sizeof(buf), 10.0), 0);
	close(fd);
	ck_assert_msg(strncmp(buf, status, strlen(status)) == 0, "answer: %s", buf);
	body = strstr(buf, "\r\n\r\n");
	ck_assert_msg(body != NULL, "answer: %s", buf);
	return strlen(body + 4);
}

/* What the drain logs is what clients got.  When the drain timeout ends
 * the wait, a waiting request, a waiting batch and a hanging request get
 * 503; a body that was dripping is sent whole at once (a 200, not a 503);
 * a client that left gets nothing, whether it waited or its body was
 * dripping (that one half-closed: the same rule as at a deadline).  The
 * drain's line says so, by kind; the access log gives the 503 sent to the
 * batch its own length and no fault (the reset it drew never happened),
 * and the body cut short the bytes it got.  Before the fix the line said
 * "answered 6 waiting requests with 503". */
START_TEST(test_drain_log_tells_what_clients_got)
{
	const char *args[] = {"--delay", "fixed:5000", "--drain-timeout", "1",
			      "--hang-timeout", "60", NULL};
	char line[128];
	int drip, plain, batch, hang, gone, half;
	size_t len, cut;

	ck_assert_int_eq(daemon_start(&d, args), 0);
	drip = raw_request("GET /user/1?delay=0&fault=drip:5 HTTP/1.1\r\nHost: t\r\n\r\n");
	plain = raw_request("GET /user/2 HTTP/1.1\r\nHost: t\r\n\r\n");
	batch = raw_request("GET /users?ids=3,4&fault=reset HTTP/1.1\r\nHost: t\r\n\r\n");
	hang = raw_request("GET /user/5?delay=0&fault=hang HTTP/1.1\r\nHost: t\r\n\r\n");
	gone = raw_request("GET /user/6 HTTP/1.1\r\nHost: t\r\n\r\n");
	half = raw_request("GET /user/7?delay=0&fault=drip:5 HTTP/1.1\r\nHost: t\r\n\r\n");
	usleep(300000);
	close(gone);
	shutdown(half, SHUT_WR);
	usleep(200000);
	daemon_signal(&d, SIGTERM);
	/* 42 bytes at 5 a second would take 8 s: whole well before that. */
	ck_assert_uint_eq(raw_answer_is(drip, "HTTP/1.1 200"), 42);
	cut = raw_answer_is(half, "HTTP/1.1 200");
	ck_assert_uint_lt(cut, 42);
	raw_answer_is(plain, "HTTP/1.1 503");
	len = raw_answer_is(batch, "HTTP/1.1 503");
	raw_answer_is(hang, "HTTP/1.1 503");
	assert_exit_0(&d);
	ck_assert_msg(daemon_log_contains(&d, "drain timeout; answered 3 waiting requests "
					  "with 503, sent the rest of 1 dripping body "
					  "at once, 2 clients had left"),
		      "the drain's line does not say what clients got");
	snprintf(line, sizeof(line), "\"GET /user/7?delay=0&fault=drip:5 HTTP/1.1\" 200 %zu ",
		 cut);
	ck_assert_msg(daemon_log_contains(&d, line), "no access-log line %s", line);
	snprintf(line, sizeof(line), "\"GET /users?ids=3,4&fault=reset HTTP/1.1\" 503 %zu ",
		 len);
	ck_assert_msg(daemon_log_contains(&d, line), "no access-log line %s", line);
	ck_assert_msg(daemon_log_lacks(&d, " fault=reset"),
		      "a reset that never happened is logged");
}
END_TEST

/* At the connection limit every client still gets its answer: the one
 * over the limit waits in the backlog and is taken as soon as a
 * connection closes (libmicrohttpd must not refuse it because it has not
 * yet counted the closed one). */
START_TEST(test_limit_one_serves_every_client)
{
	enum { PAIRS = 500 };
	static const char req[] = "GET /healthz HTTP/1.1\r\nHost: t\r\n"
				  "Connection: close\r\n\r\n";
	const char *args[] = {"--threads", "1", "--max-connections", "1",
			      "--access-log", "off", NULL};
	char buf[2048];
	int lost = 0;

	ck_assert_int_eq(daemon_start(&d, args), 0);
	for (int i = 0; i < PAIRS; i++) {
		int a = client_raw_open(d.port);
		int b = client_raw_open(d.port); /* over the limit: waits */

		ck_assert(a >= 0 && b >= 0);
		ck_assert(client_raw_send(a, req) && client_raw_send(b, req));
		lost += client_raw_answer(a, buf, sizeof(buf), 5.0) <= 0 ||
			strncmp(buf, "HTTP/1.1 200", 12) != 0;
		lost += client_raw_answer(b, buf, sizeof(buf), 5.0) <= 0 ||
			strncmp(buf, "HTTP/1.1 200", 12) != 0;
		close(a);
		close(b);
	}
	ck_assert_msg(lost == 0, "%d of %d requests got no answer", lost, 2 * PAIRS);
	daemon_signal(&d, SIGTERM);
	assert_exit_0(&d);
}
END_TEST

/* Start-up that fails for want of file descriptors closes each one once
 * (strace shows no close() returning EBADF) and exits 1. */
START_TEST(test_failed_start_closes_once)
{
	char trace[] = "/tmp/userd-strace-XXXXXX";
	char cmd[512], line[512];
	int tfd = mkstemp(trace), status;
	FILE *f;
	bool ebadf = false;

	ck_assert_int_ge(tfd, 0);
	close(tfd);
	/* LeakSanitizer cannot run under ptrace: off for this one run of an
	 * instrumented build (the sanitizers stage). */
	snprintf(cmd, sizeof(cmd),
		 "ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0\" "
		 "strace -f -qq -e trace=close -o %s prlimit --nofile=9:9 %s "
		 "--threads 4 --bind 127.0.0.1 --port 0 >/dev/null 2>&1",
		 trace, daemon_binary());
	status = system(cmd);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1,
		      "exit status %#x (want 1: start-up failed)", status);
	f = fopen(trace, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strstr(line, "EBADF") != NULL) {
			fprintf(stderr, "strace: %s", line);
			ebadf = true;
		}
	}
	fclose(f);
	unlink(trace);
	ck_assert_msg(!ebadf, "a descriptor was closed twice");
}
END_TEST

static Suite *reliability_suite(void)
{
	Suite *s = suite_create("reliability");
	TCase *drain = tcase_create("drain");
	TCase *start = tcase_create("start");

	tcase_add_checked_fixture(drain, NULL, stop_daemon);
	tcase_add_checked_fixture(start, NULL, stop_daemon);
	tcase_add_test(drain, test_body_after_flush_is_503);
	tcase_add_test(drain, test_drain_closes_keep_alive);
	tcase_add_test(drain, test_flush_skips_gone_clients);
	tcase_add_test(drain, test_drain_log_tells_what_clients_got);
	tcase_add_test(start, test_failed_start_closes_once);
	tcase_add_test(start, test_limit_one_serves_every_client);
	suite_add_tcase(s, drain);
	suite_add_tcase(s, start);
	return s;
}

int main(void)
{
	return testutil_run(reliability_suite());
}
