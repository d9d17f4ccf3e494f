/* End-to-end tests of --capacity: slots and the FIFO queue in front of
 * them, seen by clients: when answers come, what a full queue and a
 * queue timeout answer, what a batch takes, a client that leaves while
 * it waits, and the drain.  Times have wide margins above (a loaded
 * machine answers late) and none below (never before its time). */
#include <check.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "daemon.h"
#include "testutil.h"

#define MARGIN 0.8 /* seconds late that still pass */
#define EARLY 0.02 /* the clocks of curl and of the timer may differ this */

static struct daemon d;

static void teardown(void)
{
	daemon_cleanup(&d);
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void start(const char *const args[])
{
	ck_assert_int_eq(daemon_start(&d, args), 0);
}

static int by_seconds(const void *a, const void *b)
{
	const struct reply *x = a, *y = b;

	return (x->seconds > y->seconds) - (x->seconds < y->seconds);
}

/* Start userd with `args`, send n requests for /user/<i> at once, and
 * sort their replies by when each came. */
static void fetch_sorted(const char *const args[], struct reply *rs, int n)
{
	start(args);
	memset(rs, 0, sizeof(*rs) * (size_t)n);
	client_fetch_many(rs, n, &d, 0, 0);
	qsort(rs, (size_t)n, sizeof(rs[0]), by_seconds);
}

/* Assert that r was answered `status` within [lo, lo + MARGIN) s. */
static void assert_answer(const struct reply *r, long status, double lo)
{
	ck_assert_msg(r->code == CURLE_OK, "curl: %d", (int)r->code);
	ck_assert_msg(r->status == status, "status %ld, not %ld", r->status, status);
	ck_assert_msg(r->seconds >= lo - EARLY && r->seconds < lo + MARGIN,
		      "answered after %.3f s, not %.1f s", r->seconds, lo);
}

/* Capacity 2, five 1-second requests at once: two served at once, the
 * others wait their turn: answers at ~1, ~1, ~2, ~2, ~3 s. */
START_TEST(test_two_slots_five_requests)
{
	static const char *const args[] = {"--capacity", "2", "--delay", "fixed:1000", NULL};
	static const double when[] = {1, 1, 2, 2, 3};
	struct reply rs[5];

	fetch_sorted(args, rs, 5);
	for (int i = 0; i < 5; i++)
		assert_answer(&rs[i], 200, when[i]);
	/* Two found a slot (a wait of 0), three waited 1 s or 2 s. */
	ck_assert_double_eq(client_metric(d.base, "userd_in_service"), 0);
	ck_assert_double_eq(client_metric(d.base, "userd_queue_length"), 0);
	ck_assert_double_eq(client_metric(d.base, "userd_queue_wait_seconds_count"), 5);
	ck_assert_double_eq(client_metric(d.base,
					  "userd_queue_wait_seconds_bucket{le=\"0.5\"}"), 2);
	ck_assert_double_eq(client_metric(d.base,
					  "userd_queue_wait_seconds_bucket{le=\"1.5\"}"), 4);
}
END_TEST

/* No capacity (the default): the same five all answer after ~1 s. */
START_TEST(test_no_capacity_no_queue)
{
	static const char *const args[] = {"--delay", "fixed:1000", NULL};
	struct reply rs[5];

	start(args);
	memset(rs, 0, sizeof(rs));
	client_fetch_many(rs, 5, &d, 0, 0);
	for (int i = 0; i < 5; i++)
		assert_answer(&rs[i], 200, 1);
}
END_TEST

/* A full queue answers --reject-status at once, with Retry-After. */
static void full_queue(const char *status, long want)
{
	const char *const args[] = {"--capacity", "1", "--queue", "1", "--delay", "fixed:1000",
				    "--reject-status", status, NULL};
	struct reply rs[3];
	char v[16];

	fetch_sorted(args, rs, 3);
	assert_answer(&rs[0], want, 0);
	ck_assert_str_eq(client_header(&rs[0], "Retry-After", v, sizeof(v)), "1");
	client_assert_error(&rs[0], want);
	assert_answer(&rs[1], 200, 1);
	assert_answer(&rs[2], 200, 2);
	ck_assert_double_eq(client_metric(d.base, "userd_queue_rejected_total{reason=\"full\"}"), 1);
	/* Turned away at once is not late: its deadline was then. */
	ck_assert_double_lt(client_metric(d.base, "userd_response_lateness_seconds_sum"),
			    3 * MARGIN);
	ck_assert_double_eq(client_metric(d.base,
					  "userd_queue_rejected_total{reason=\"timeout\"}"), 0);
}

START_TEST(test_full_queue_503)
{
	full_queue("503", 503);
}
END_TEST

START_TEST(test_full_queue_429)
{
	full_queue("429", 429);
}
END_TEST

/* --queue 0: no waiting room; busy means turned away. */
START_TEST(test_no_waiting_room)
{
	static const char *const args[] = {"--capacity", "1", "--queue", "0",
					   "--delay", "fixed:1000", NULL};
	struct reply rs[2];

	fetch_sorted(args, rs, 2);
	assert_answer(&rs[0], 503, 0);
	assert_answer(&rs[1], 200, 1);
}
END_TEST

/* --queue-timeout: a request that waited that long is turned away then,
 * not at once and not after its turn came. */
START_TEST(test_queue_timeout)
{
	static const char *const args[] = {"--capacity", "1", "--queue-timeout", "400",
					   "--delay", "fixed:1500", NULL};
	struct reply rs[2];

	fetch_sorted(args, rs, 2);
	assert_answer(&rs[0], 503, 0.4);
	assert_answer(&rs[1], 200, 1.5);
	ck_assert_double_eq(client_metric(d.base,
					  "userd_queue_rejected_total{reason=\"timeout\"}"), 1);
	ck_assert(daemon_log_contains(&d, "\" 503 ") && daemon_log_contains(&d, " queue_ms="));
}
END_TEST

/* A batch of k ids takes k slots: with capacity 3, two batches of two
 * cannot be served together; a batch of two and a single can. */
START_TEST(test_batch_takes_k_slots)
{
	static const char *const args[] = {"--capacity", "3", "--delay", "fixed:1000", NULL};
	static const char *const pairs[] = {"/users?ids=1,2", "/users?ids=3,4"};
	static const char *const mixed[] = {"/users?ids=1,2", "/user/3"};
	struct reply rs[2];

	start(args);
	memset(rs, 0, sizeof(rs));
	client_fetch_paths(rs, 2, d.base, pairs);
	qsort(rs, 2, sizeof(rs[0]), by_seconds);
	assert_answer(&rs[0], 200, 1);
	assert_answer(&rs[1], 200, 2);
	memset(rs, 0, sizeof(rs));
	client_fetch_paths(rs, 2, d.base, mixed);
	assert_answer(&rs[0], 200, 1);
	assert_answer(&rs[1], 200, 1);
}
END_TEST

/* A batch larger than the capacity runs alone, when every slot is free. */
START_TEST(test_batch_larger_than_capacity)
{
	static const char *const args[] = {"--capacity", "2", "--delay", "fixed:1000", NULL};
	static const char *const paths[] = {"/user/1", "/users?ids=1,2,3"};
	struct reply rs[2];

	start(args);
	memset(rs, 0, sizeof(rs));
	client_fetch_paths(rs, 1, d.base, paths + 1);
	assert_answer(&rs[0], 200, 1);
	memset(rs, 0, sizeof(rs));
	client_fetch_paths(rs, 2, d.base, paths);
	qsort(rs, 2, sizeof(rs[0]), by_seconds);
	assert_answer(&rs[0], 200, 1);
	assert_answer(&rs[1], 200, 2);
}
END_TEST

/* One more request, turned away by the full queue at once. */
static void client_request_once_503(void)
{
	struct reply r = {0};

	client_request(&r, "GET", d.base, "/user/9");
	ck_assert_int_eq(r.status, 503);
	client_release(&r);
}

/* The live page's number of `key`. */
static long long live_number(const char *key)
{
	struct reply r = {0};
	json_t *j;
	long long v;

	client_request(&r, "GET", d.base, "/live");
	ck_assert_int_eq(r.status, 200);
	j = json_loads(r.body, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_msg(json_is_integer(json_object_get(j, key)), "no %s in /live", key);
	v = json_integer_value(json_object_get(j, key));
	json_decref(j);
	client_release(&r);
	return v;
}

/* The queue_ms values of the access log's lines so far, sorted, into
 * ms[] (room for max); returns how many. */
static size_t logged_waits(double *ms, size_t max)
{
	static char log[1 << 16];
	size_t n = 0;

	daemon_log_read(&d, log, sizeof(log));
	for (const char *p = strstr(log, " queue_ms="); p != NULL && n < max;
	     p = strstr(p + 1, " queue_ms="))
		ms[n++] = strtod(p + strlen(" queue_ms="), NULL);
	for (size_t i = 1; i < n; i++)
		for (size_t k = i; k > 0 && ms[k - 1] > ms[k]; k--) {
			double t = ms[k];

			ms[k] = ms[k - 1];
			ms[k - 1] = t;
		}
	return n;
}

/* While they wait: the gauges (and the live page) say how many are in
 * service and queued, and each access-log line says how long its request
 * queued. */
START_TEST(test_gauges_and_log)
{
	static const char *const args[] = {"--capacity", "1", "--queue", "2",
					   "--delay", "fixed:1500", NULL};
	static const char req[] = "GET /user/1 HTTP/1.1\r\nHost: x\r\n\r\n";
	char buf[4096];
	int fd[3];

	start(args);
	for (int i = 0; i < 3; i++) {
		fd[i] = client_raw_open(d.port);
		ck_assert(fd[i] >= 0 && client_raw_send(fd[i], req));
	}
	usleep(500000);
	ck_assert_double_eq(client_metric(d.base, "userd_in_service"), 1);
	ck_assert_double_eq(client_metric(d.base, "userd_queue_length"), 2);
	ck_assert_int_eq(live_number("in_service"), 1);
	ck_assert_int_eq(live_number("queued"), 2);
	ck_assert_int_eq(live_number("rejected"), 0);
	client_request_once_503();
	/* The snapshot is shared for a moment: the next one counts it. */
	for (int i = 0; i < 50 && live_number("rejected") == 0; i++)
		usleep(100000);
	ck_assert_int_eq(live_number("rejected"), 1);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_gt(client_raw_answer(fd[i], buf, sizeof(buf), 10), 0);
		close(fd[i]);
	}
	ck_assert_double_eq(client_metric(d.base, "userd_queue_length"), 0);
	/* The common format: a wait of 0, and one service and two of
	 * 1,500 ms each, counted from the deadline of the one before (the
	 * slots change hands at deadlines), less the moment between the
	 * arrivals; the turned-away request waited 0. */
	{
		double ms[8];
		size_t n = 0;

		for (int i = 0; i < 50 && (n = logged_waits(ms, 8)) < 4; i++)
			usleep(100000);
		ck_assert_uint_eq(n, 4);
		ck_assert(daemon_log_contains(&d, " queue_ms=0.000"));
		ck_assert_msg(ms[2] > 1300 && ms[2] <= 1500.0, "waited %.3f ms", ms[2]);
		ck_assert_msg(ms[3] > 2800 && ms[3] <= 3000.0, "waited %.3f ms", ms[3]);
	}
}
END_TEST

/* A client that leaves while it queues gives up its place: found gone
 * when its turn comes, it takes no slot, and the one behind it starts
 * then (at ~1 s, its answer at ~2 s, not ~3 s). */
START_TEST(test_client_leaves_queue)
{
	static const char *const args[] = {"--capacity", "1", "--delay", "fixed:1000", NULL};
	static const char req[] = "GET /user/1 HTTP/1.1\r\nHost: x\r\n\r\n";
	int a, b, c;
	char buf[4096];
	double t0, took;

	start(args);
	t0 = now_s();
	a = client_raw_open(d.port);
	ck_assert(a >= 0 && client_raw_send(a, req));
	usleep(100000);
	b = client_raw_open(d.port);
	ck_assert(b >= 0 && client_raw_send(b, req));
	usleep(100000);
	c = client_raw_open(d.port);
	ck_assert(c >= 0 && client_raw_send(c, req));
	usleep(100000);
	close(b);
	ck_assert_int_gt(client_raw_answer(a, buf, sizeof(buf), 5), 0);
	ck_assert(strncmp(buf, "HTTP/1.1 200", 12) == 0);
	ck_assert_int_gt(client_raw_answer(c, buf, sizeof(buf), 5), 0);
	took = now_s() - t0;
	ck_assert(strncmp(buf, "HTTP/1.1 200", 12) == 0);
	ck_assert_msg(took >= 2 - EARLY && took < 2 + MARGIN, "answered after %.3f s", took);
	close(a);
	close(c);
	ck_assert_double_eq(client_metric(d.base, "userd_client_disconnects_total"), 1);
}
END_TEST

/* A reload that raises the capacity while requests queue: nobody in
 * service is touched, and the waiting ones start at the next service end
 * (at ~1 s, both of them: answers at ~1, ~2, ~2 s, not ~1, ~2, ~3 s). */
START_TEST(test_capacity_raised_while_queued)
{
	char path[] = "/tmp/userd-capacity-XXXXXX";
	int fd = mkstemp(path);
	const char *const args[] = {"--config", path, NULL};
	static const double when[] = {1, 2, 2};
	struct reply rs[3];
	FILE *f;

	ck_assert(fd >= 0);
	f = fdopen(fd, "w");
	fputs("delay = fixed:1000\ncapacity = 1\n", f);
	fclose(f);
	start(args);
	f = fopen(path, "w");
	fputs("delay = fixed:1000\ncapacity = 3\n", f);
	fclose(f);
	memset(rs, 0, sizeof(rs));
	client_fetch_many(rs, 3, &d, SIGHUP, 0.3);
	unlink(path);
	qsort(rs, 3, sizeof(rs[0]), by_seconds);
	for (int i = 0; i < 3; i++)
		assert_answer(&rs[i], 200, when[i]);
}
END_TEST

/* The drain flushes queued requests like waiting ones: 503 for all. */
START_TEST(test_drain_flushes_queue)
{
	static const char *const args[] = {"--capacity", "1", "--delay", "fixed:20000",
					   "--drain-timeout", "1", NULL};
	struct reply rs[3];
	double took;

	start(args);
	memset(rs, 0, sizeof(rs));
	took = client_fetch_many(rs, 3, &d, SIGTERM, 0.5);
	ck_assert_msg(took < 1.5 + 3 * MARGIN, "took %.3f s", took);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(rs[i].code, CURLE_OK);
		ck_assert_int_eq(rs[i].status, 503);
	}
	ck_assert(daemon_wait(&d, 10) == 0);
}
END_TEST

static Suite *capacity_suite(void)
{
	Suite *s = suite_create("capacity");
	TCase *tc = tcase_create("queue");

	tcase_set_tags(tc, "timing");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_two_slots_five_requests);
	tcase_add_test(tc, test_no_capacity_no_queue);
	tcase_add_test(tc, test_full_queue_503);
	tcase_add_test(tc, test_full_queue_429);
	tcase_add_test(tc, test_no_waiting_room);
	tcase_add_test(tc, test_queue_timeout);
	tcase_add_test(tc, test_batch_takes_k_slots);
	tcase_add_test(tc, test_batch_larger_than_capacity);
	tcase_add_test(tc, test_gauges_and_log);
	tcase_add_test(tc, test_client_leaves_queue);
	tcase_add_test(tc, test_capacity_raised_while_queued);
	tcase_add_test(tc, test_drain_flushes_queue);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(capacity_suite());
}
