/* End-to-end logging tests: the real userd with its stderr on a pipe that
 * nobody reads (a stalled journald, a full disk, a stopped terminal).
 * Logging must never hold up a request: lines are dropped and counted in
 * userd_log_lines_dropped_total instead, and logging resumes once the pipe
 * is read again.  Every wait is bounded, so a server that freezes fails
 * the test instead of hanging it. */
#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "daemon.h"
#include "testutil.h"

/* Keep-alive requests sent while nobody reads stderr: ~100 bytes of
 * access log each, several times what the pipe and userd's queue hold. */
#define STALL_REQUESTS 5000
/* Any single request may take this long before the test calls it hung. */
#define REQUEST_TIMEOUT_MS 2000L

static struct daemon d;
static int err_fd = -1; /* the read end of the daemon's stderr */

static void stop_daemon(void)
{
	daemon_cleanup(&d);
	if (err_fd >= 0)
		close(err_fd);
	err_fd = -1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Read what the daemon wrote to stderr, for up to `seconds`, appending to
 * buf (NUL-terminated, oldest bytes dropped when full) until `want`
 * appears (returns true) or the time is up, or, with want NULL, until
 * nothing arrived for 200 ms (returns true). */
static bool read_stderr(char *buf, size_t cap, const char *want, double seconds)
{
	double until = now_s() + seconds;
	size_t used = strlen(buf);

	for (;;) {
		struct pollfd p = {.fd = err_fd, .events = POLLIN};
		double left = until - now_s();
		char chunk[8192];
		ssize_t n;

		if (want != NULL && strstr(buf, want) != NULL)
			return true;
		if (left <= 0)
			return false;
		if (poll(&p, 1, want == NULL ? 200 : (int)(left * 1000) + 1) == 0) {
			if (want == NULL)
				return true;
			continue;
		}
		n = read(err_fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		if ((size_t)n >= cap - 1) {
			memcpy(buf, chunk + (size_t)n - (cap - 1), cap - 1);
			used = cap - 1;
		} else {
			if (used + (size_t)n > cap - 1) {
				size_t drop = used + (size_t)n - (cap - 1);

				memmove(buf, buf + drop, used - drop);
				used -= drop;
			}
			memcpy(buf + used, chunk, (size_t)n);
			used += (size_t)n;
		}
		buf[used] = '\0';
	}
}

/* Start userd with `extra` arguments and its stderr on a pipe; read the
 * pipe only until the "listening on" line. */
static void start_on_pipe(const char *const extra[])
{
	static const char marker[] = "listening on http://127.0.0.1:";
	static char store[32][256];
	const char *tail[] = {"--bind", "127.0.0.1", "--port", "0", NULL};
	char *argv[32];
	char buf[4096] = "";
	const char *p;
	int fds[2], n = 0;

	/* argv wants char *: copy the strings. */
	snprintf(store[n], sizeof(store[n]), "%s", daemon_binary());
	argv[n] = store[n];
	n++;
	for (const char *const *a = extra; *a != NULL && n < 26; a++, n++)
		argv[n] = strcpy(store[n], *a);
	for (const char *const *a = tail; *a != NULL; a++, n++)
		argv[n] = strcpy(store[n], *a);
	argv[n] = NULL;

	ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
	err_fd = fds[0];
	ck_assert_int_eq(daemon_spawn_stderr(&d, argv, fds[1]), 0);
	close(fds[1]);
	ck_assert_msg(read_stderr(buf, sizeof(buf), marker, 10.0),
		      "userd did not listen within 10 s:\n%s", buf);
	/* One write per line, so the port after the marker is whole. */
	p = strstr(buf, marker);
	d.port = (unsigned)strtoul(p + strlen(marker), NULL, 10);
	ck_assert_uint_gt(d.port, 0);
	snprintf(d.base, sizeof(d.base), "http://127.0.0.1:%u", d.port);
}

/* One GET of base/path on r's connection, giving up after `timeout_ms`. */
static void get(struct reply *r, const char *path, long timeout_ms)
{
	char url[256];

	snprintf(url, sizeof(url), "%s%s", d.base, path);
	client_prepare(r, "GET", url);
	curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, timeout_ms);
	r->code = curl_easy_perform(r->easy);
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_getinfo(r->easy, CURLINFO_TOTAL_TIME, &r->seconds);
}


/* Wait up to `seconds` for the daemon to exit, reading its stderr all the
 * while so that the last lines cannot hold it up.  Returns the wait
 * status, or -1. */
static int wait_exit_reading(double seconds)
{
	static char sink[1 << 16];
	double until = now_s() + seconds;

	while (now_s() < until) {
		int status = daemon_wait(&d, 0.05);

		if (status != -1)
			return status;
		sink[0] = '\0';
		read_stderr(sink, sizeof(sink), NULL, 0.05);
	}
	return -1;
}

/* Send `n` keep-alive GETs on r, each of which must answer 200 in time. */
static void send_stalled(struct reply *r, int n)
{
	double t0 = now_s();

	for (int i = 0; i < n; i++) {
		get(r, "/user/7", REQUEST_TIMEOUT_MS);
		ck_assert_msg(r->code == CURLE_OK && r->status == 200,
			      "request %d of %d with stderr stalled: %s, status %ld "
			      "after %.3f s", i + 1, n, curl_easy_strerror(r->code),
			      r->status, r->seconds);
	}
	fprintf(stderr, "%d requests with stderr stalled in %.2f s\n", n,
		now_s() - t0);
}

START_TEST(test_stalled_stderr_does_not_block_requests)
{
	const char *args[] = {"--delay", "fixed:0", "--access-log", "common", NULL};
	static char seen[1 << 20];
	struct reply *r = calloc(1, sizeof(*r));
	struct reply *h = calloc(1, sizeof(*h));
	double dropped;
	int status;

	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_nonnull(h);
	start_on_pipe(args);

	/* Nobody reads stderr from here on. */
	send_stalled(r, STALL_REQUESTS);

	/* A new connection: health still answers at once. */
	get(h, "/healthz", 1000);
	ck_assert_msg(h->code == CURLE_OK && h->status == 200,
		      "/healthz with stderr stalled: %s, status %ld",
		      curl_easy_strerror(h->code), h->status);

	get(h, "/metrics", 1000);
	ck_assert_int_eq(h->code, CURLE_OK);
	ck_assert_int_eq(h->status, 200);
	ck_assert_ptr_nonnull(strstr(h->body, "# TYPE userd_log_lines_dropped_total counter\n"));
	dropped = client_sample(h->body, "userd_log_lines_dropped_total");
	fprintf(stderr, "userd_log_lines_dropped_total %.0f\n", dropped);
	ck_assert_msg(dropped > 0, "dropped %.0f log lines", dropped);

	/* Read stderr again: what was queued arrives, then new lines. */
	seen[0] = '\0';
	ck_assert(read_stderr(seen, sizeof(seen), NULL, 10.0));
	seen[0] = '\0';
	get(r, "/user/424242", REQUEST_TIMEOUT_MS);
	ck_assert_int_eq(r->status, 200);
	ck_assert_msg(read_stderr(seen, sizeof(seen), "\"GET /user/424242 HTTP/1.1\" 200", 2.0),
		      "no access-log line after reading stderr again:\n%s", seen);

	client_release(r);
	client_release(h);
	free(r);
	free(h);
	ck_assert_int_eq(daemon_signal(&d, SIGTERM), 0);
	status = wait_exit_reading(10.0);
	ck_assert_msg(status != -1, "userd did not exit within 10 s of SIGTERM");
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

/* Still nobody reading at SIGTERM: the drain and exit do not wait on
 * stderr longer than log_stop()'s 2 s. */
START_TEST(test_sigterm_with_stderr_stalled_exits)
{
	const char *args[] = {"--delay", "fixed:0", NULL};
	struct reply *r = calloc(1, sizeof(*r));
	double t0;
	int status;

	ck_assert_ptr_nonnull(r);
	start_on_pipe(args);
	send_stalled(r, STALL_REQUESTS);
	client_release(r);
	free(r);
	t0 = now_s();
	ck_assert_int_eq(daemon_signal(&d, SIGTERM), 0);
	status = daemon_wait(&d, 5.0);
	ck_assert_msg(status != -1, "userd did not exit within 5 s of SIGTERM "
		      "with stderr stalled");
	fprintf(stderr, "exit with stderr stalled after %.2f s\n", now_s() - t0);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

static Suite *logging_suite(void)
{
	Suite *s = suite_create("logging");
	TCase *stall = tcase_create("stall");

	tcase_add_checked_fixture(stall, NULL, stop_daemon);
	tcase_add_test(stall, test_stalled_stderr_does_not_block_requests);
	tcase_add_test(stall, test_sigterm_with_stderr_stalled_exits);
	suite_add_tcase(s, stall);
	return s;
}

int main(void)
{
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = testutil_run(logging_suite());
	curl_global_cleanup();
	return rc;
}
