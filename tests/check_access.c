/* Unit tests for src/access.c: the access log's lines, as written to
 * stderr (no queue: log_start() is not called), and what goes in them
 * from an exchange. */
#include <arpa/inet.h>
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "access.h"
#include "testutil.h"

static char out[1 << 16];

/* Write `e` in format `f`, or when e is NULL the exchange `x`, and
 * return the line written (in `out`). */
static const char *write_line(enum access_log_format f, const struct access_entry *e,
			      const struct access_exchange *x)
{
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO);
	size_t n;

	ck_assert_ptr_nonnull(tmp);
	ck_assert_int_ge(saved, 0);
	fflush(stderr);
	ck_assert_int_ge(dup2(fileno(tmp), STDERR_FILENO), 0);
	if (e != NULL)
		access_log_write(f, e);
	else
		access_log_exchange(f, x);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(tmp);
	n = fread(out, 1, sizeof(out) - 1, tmp);
	out[n] = '\0';
	fclose(tmp);
	return out;
}

static const char *line_of(enum access_log_format f, const struct access_entry *e)
{
	return write_line(f, e, NULL);
}

static struct access_entry entry(const char *method, const char *path, const char *query)
{
	static struct sockaddr_in client = {.sin_family = AF_INET};
	struct access_entry e = {
		.client = (const struct sockaddr *)&client,
		.method = method,
		.path = path,
		.query = query,
		.version = "HTTP/1.1",
		.status = 200,
		.bytes = 57,
		.delay_us = 812345,
		.duration_ns = 813000000,
	};

	client.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return e;
}

START_TEST(test_common_line)
{
	struct access_entry e = entry("GET", "/user/7", "delay=5");
	const char *l;

	e.fault = "reset";
	l = line_of(ACCESS_LOG_COMMON, &e);
	ck_assert_msg(strncmp(l, "127.0.0.1 - - [", 15) == 0, "%s", l);
	ck_assert_ptr_nonnull(strstr(l, "] \"GET /user/7?delay=5 HTTP/1.1\" 200 57 "
				      "delay_ms=812.345 duration_ms=813.000 fault=reset\n"));
	ck_assert_ptr_null(strchr(strchr(l, '\n') + 1, '\n')); /* one line */
}
END_TEST

START_TEST(test_json_line_is_json)
{
	struct access_entry e = entry("GET", "/user/\"7\\\x01", "");
	json_error_t jerr;
	json_t *j;

	e.waited = true;
	e.late_ns = 1500000;
	j = json_loads(line_of(ACCESS_LOG_JSON, &e), 0, &jerr);
	ck_assert_msg(j != NULL, "not JSON: %s (%s)", out, jerr.text);
	ck_assert_str_eq(json_string_value(json_object_get(j, "target")), "/user/\"7\\\x01");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "bytes")), 57);
	ck_assert(json_real_value(json_object_get(j, "late_ms")) == 1.5);
	json_decref(j);
}
END_TEST

/* A target too long for the line is not cut silently: it ends with
 * "...(+N bytes)", N the bytes left out, and the JSON stays JSON. */
START_TEST(test_long_target_is_marked)
{
	static char path[6000], method[300];
	struct access_entry e;
	const char *l, *mark;
	size_t shown, left;
	json_t *j;

	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	memset(method, 'M', sizeof(method) - 1);
	e = entry(method, path, "x=1");
	l = line_of(ACCESS_LOG_COMMON, &e);
	ck_assert_ptr_nonnull(strstr(l, " /aaa"));
	mark = strstr(strstr(l, " /aaa"), "...(+");
	ck_assert_msg(mark != NULL, "no cut mark: %s", l);
	/* What is shown of the path plus what is left out is all of it. */
	shown = (size_t)(mark - strstr(l, "/aaa"));
	ck_assert_int_eq(sscanf(mark, "...(+%zu bytes)", &left), 1);
	ck_assert_uint_eq(shown + left, strlen(path) + strlen("?x=1"));
	/* The method too. */
	ck_assert_ptr_nonnull(strstr(l, "MMM...(+"));
	j = json_loads(line_of(ACCESS_LOG_JSON, &e), 0, NULL);
	ck_assert_msg(j != NULL, "not JSON: %.200s", out);
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(j, "target")), "...(+"));
	json_decref(j);
}
END_TEST

START_TEST(test_off_writes_nothing)
{
	struct access_entry e = entry("GET", "/user/1", "");

	ck_assert_str_eq(line_of(ACCESS_LOG_OFF, &e), "");
}
END_TEST

/* ---- from an exchange ---------------------------------------------------- */

START_TEST(test_query_rebuilt)
{
	struct access_query q = {.len = 0};

	q.buf[0] = '\0';
	ck_assert(access_query_add(&q, "ids", "1,2"));
	ck_assert(access_query_add(&q, "fail", NULL));
	ck_assert(access_query_add(&q, "delay", ""));
	ck_assert_str_eq(q.buf, "ids=1,2&fail&delay=");
	ck_assert_uint_eq(q.len, strlen(q.buf));
}
END_TEST

/* A query too long for the buffer: what fits is kept, then no more. */
START_TEST(test_query_full)
{
	struct access_query q = {.len = 0};
	char value[100];
	int added = 0;

	q.buf[0] = '\0';
	memset(value, 'v', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	while (access_query_add(&q, "k", value))
		added++;
	ck_assert_int_eq(added, 5); /* "k=" and 4 x "&k=", each with 99 bytes: 509 */
	ck_assert_uint_eq(strlen(q.buf), sizeof(q.buf) - 1);
	ck_assert_uint_eq(q.len, 5 * 102 - 1);
	ck_assert_str_eq(q.buf + q.len, "&k"); /* as much as fit */
}
END_TEST

/* A request that went through --capacity shows its wait for a slot,
 * after its lateness; one that did not shows none. */
START_TEST(test_queue_wait)
{
	struct access_entry e = entry("GET", "/user/7", "");
	json_error_t jerr;
	const char *l;
	json_t *j;

	l = line_of(ACCESS_LOG_COMMON, &e);
	ck_assert_ptr_null(strstr(l, "queue_ms"));
	e.capacity = true;
	e.queue_wait_ns = 1250000;
	e.waited = true;
	e.late_ns = 2000000;
	l = line_of(ACCESS_LOG_COMMON, &e);
	ck_assert_msg(strstr(l, " late_ms=2.000 timer_late_ms=0.000 queue_ms=1.250\n") != NULL,
		      "%s", l);
	j = json_loads(line_of(ACCESS_LOG_JSON, &e), 0, &jerr);
	ck_assert_msg(j != NULL, "not JSON: %s (%s)", out, jerr.text);
	ck_assert(json_real_value(json_object_get(j, "queue_ms")) == 1.25);
	json_decref(j);
	/* Turned away at once: waited nothing, still shown. */
	e.queue_wait_ns = 0;
	l = line_of(ACCESS_LOG_COMMON, &e);
	ck_assert_ptr_nonnull(strstr(l, " queue_ms=0.000\n"));
}
END_TEST

static struct access_exchange exchange(const char *method)
{
	struct access_exchange x = {
		.method = method,
		.path = "/user/7",
		.query = "",
		.version = "HTTP/1.1",
		.status = 200,
		.body_len = 57,
		.delay_us = 300000,
		.started_ns = 1000000000,
		.completed_ns = 1302000000,
		.deadline_ns = 1300000000,
		.timer_late_ns = 500000,
	};

	return x;
}

START_TEST(test_entry_of)
{
	struct access_exchange x = exchange("GET");
	struct access_entry e;

	access_entry_of(&x, &e);
	ck_assert_str_eq(e.method, "GET");
	ck_assert_str_eq(e.path, "/user/7");
	ck_assert_uint_eq(e.status, 200);
	ck_assert_uint_eq(e.bytes, 57);
	ck_assert_uint_eq(e.delay_us, 300000);
	ck_assert_uint_eq(e.duration_ns, 302000000);
	ck_assert_ptr_null(e.fault);
	ck_assert(!e.waited);
	/* HEAD sends no body; a fault is named; completion before the
	 * deadline is early: negative lateness. */
	x = exchange("HEAD");
	x.fault = FAULT_TRUNCATE;
	x.waited = true;
	x.completed_ns = x.deadline_ns - 1;
	access_entry_of(&x, &e);
	ck_assert_uint_eq(e.bytes, 0);
	ck_assert_str_eq(e.fault, "truncate");
	ck_assert(e.waited);
	ck_assert_int_eq(e.late_ns, -1);
	ck_assert_uint_eq(e.timer_late_ns, 500000);
	ck_assert(!e.capacity);
	x.capacity = true;
	x.queue_wait_ns = 7;
	access_entry_of(&x, &e);
	ck_assert(e.capacity);
	ck_assert_uint_eq(e.queue_wait_ns, 7);
}
END_TEST

START_TEST(test_exchange_line)
{
	struct access_exchange x = exchange("GET");
	const char *l;

	x.fault = FAULT_HANG;
	x.status = 0;
	x.body_len = 0;
	x.waited = true;
	x.query = "delay=300";
	l = write_line(ACCESS_LOG_COMMON, NULL, &x);
	ck_assert_msg(strncmp(l, "- - - [", 7) == 0, "%s", l);
	ck_assert_ptr_nonnull(strstr(l, "] \"GET /user/7?delay=300 HTTP/1.1\" 0 0 "
				      "delay_ms=300.000 duration_ms=302.000 fault=hang "
				      "late_ms=2.000 timer_late_ms=0.500\n"));
	ck_assert_str_eq(write_line(ACCESS_LOG_OFF, NULL, &x), "");
	/* A drawn delay may be answered early (aim.h): said with a sign. */
	x.completed_ns = x.deadline_ns - 250000;
	l = write_line(ACCESS_LOG_COMMON, NULL, &x);
	ck_assert_msg(strstr(l, " late_ms=-0.250 timer_late_ms=0.500\n") != NULL, "%s", l);
}
END_TEST

static Suite *access_suite(void)
{
	Suite *s = suite_create("access");
	TCase *tc = tcase_create("lines");
	TCase *ex = tcase_create("exchange");

	tcase_add_test(tc, test_common_line);
	tcase_add_test(tc, test_json_line_is_json);
	tcase_add_test(tc, test_long_target_is_marked);
	tcase_add_test(tc, test_off_writes_nothing);
	tcase_add_test(tc, test_queue_wait);
	suite_add_tcase(s, tc);
	tcase_add_test(ex, test_query_rebuilt);
	tcase_add_test(ex, test_query_full);
	tcase_add_test(ex, test_entry_of);
	tcase_add_test(ex, test_exchange_line);
	suite_add_tcase(s, ex);
	return s;
}

int main(void)
{
	return testutil_run(access_suite());
}
