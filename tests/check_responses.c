/* Unit tests for src/responses.c: the headers of an answer's response
 * and the shared answers, read back from libmicrohttpd's response
 * objects (no daemon, no socket). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "responses.h"
#include "testutil.h"

/* How many headers of resp are called `name`. */
static unsigned count_of;
static const char *counted;

static MHD_Result_t count_header(void *cls, enum MHD_ValueKind kind, const char *key,
				 const char *value)
{
	(void)cls;
	(void)kind;
	(void)value;
	if (strcasecmp(key, counted) == 0)
		count_of++;
	return MHD_YES;
}

static unsigned headers_named(struct MHD_Response *resp, const char *name)
{
	count_of = 0;
	counted = name;
	MHD_get_response_headers(resp, count_header, NULL);
	return count_of;
}

static struct route_answer answer(const char *body)
{
	struct route_answer ans;

	memset(&ans, 0, sizeof(ans));
	ans.status = 200;
	ans.body = strdup(body);
	ans.body_len = strlen(body);
	ans.content_type = "application/json";
	return ans;
}

START_TEST(test_body_headers)
{
	struct route_answer ans = answer("{}");
	struct MHD_Response *resp;

	ans.timed = true;
	ans.delay_us = 812345;
	ans.retry_after_s = 1;
	resp = responses_body(&ans);
	ck_assert_ptr_nonnull(resp);
	ck_assert_ptr_null(ans.body); /* the response's now */
	ck_assert_str_eq(MHD_get_response_header(resp, "Content-Type"), "application/json");
	ck_assert_str_eq(MHD_get_response_header(resp, "Server-Timing"), "delay;dur=812.345");
	ck_assert_str_eq(MHD_get_response_header(resp, "Retry-After"), "1");
	ck_assert_ptr_null(MHD_get_response_header(resp, "Cache-Control"));
	MHD_destroy_response(resp);

	ans = answer("{}");
	ans.cache_control = "no-store";
	resp = responses_body(&ans);
	ck_assert_str_eq(MHD_get_response_header(resp, "Cache-Control"), "no-store");
	ck_assert_ptr_null(MHD_get_response_header(resp, "Server-Timing"));
	ck_assert_ptr_null(MHD_get_response_header(resp, "Retry-After"));
	MHD_destroy_response(resp);
}
END_TEST

static int freed;

static ssize_t no_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)cls;
	(void)pos;
	(void)buf;
	(void)max;
	return MHD_CONTENT_READER_END_WITH_ERROR;
}

static void count_free(void *cls)
{
	(void)cls;
	freed++;
}

START_TEST(test_reader_headers)
{
	struct route_answer ans = answer("{}");
	struct MHD_Response *resp;

	ans.timed = true;
	ans.delay_us = 5000;
	resp = responses_from_reader(&ans, 99, no_reader, NULL, count_free);
	ck_assert_ptr_nonnull(resp);
	ck_assert_ptr_nonnull(ans.body); /* not taken */
	ck_assert_str_eq(MHD_get_response_header(resp, "Content-Type"), "application/json");
	ck_assert_str_eq(MHD_get_response_header(resp, "Server-Timing"), "delay;dur=5.000");
	MHD_destroy_response(resp);
	ck_assert_int_eq(freed, 1);
	free(ans.body);
}
END_TEST

/* Every shared answer, both variants: its Content-Type, and one
 * "Connection: close" in the drain's variant, none in the other but the
 * draining answer's own. */
START_TEST(test_shared)
{
	struct responses_shared s;

	ck_assert(responses_shared_build(&s));
	for (int i = 0; i < CANNED_COUNT; i++) {
		ck_assert_uint_gt(s.len[i], 0);
		for (int closing = 0; closing < 2; closing++) {
			struct MHD_Response *r = s.resp[closing][i];

			ck_assert_ptr_nonnull(r);
			ck_assert_ptr_nonnull(MHD_get_response_header(r, "Content-Type"));
			ck_assert_uint_eq(headers_named(r, "Connection"),
					  closing || i == CANNED_DRAINING ? 1 : 0);
		}
	}
	ck_assert_str_eq(MHD_get_response_header(s.resp[0][CANNED_METHOD], "Allow"),
			 "GET, HEAD");
	ck_assert_str_eq(MHD_get_response_header(s.resp[1][CANNED_FAULT], "Retry-After"), "1");
	ck_assert_str_eq(MHD_get_response_header(s.resp[1][CANNED_DRAINING], "Connection"),
			 "close");
	responses_shared_free(&s);
	responses_shared_free(&s); /* idempotent */
}
END_TEST

static Suite *responses_suite(void)
{
	Suite *s = suite_create("responses");
	TCase *tc = tcase_create("responses");

	tcase_add_test(tc, test_body_headers);
	tcase_add_test(tc, test_reader_headers);
	tcase_add_test(tc, test_shared);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(responses_suite());
}
