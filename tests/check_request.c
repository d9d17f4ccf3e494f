/* Unit tests for src/request.c: ids lists, delay and flag values, and
 * the framing rules of RFC 9112. */
#include <check.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"
#include "testutil.h"

START_TEST(test_ids_good)
{
	uint64_t ids[8];
	char err[128];

	ck_assert_uint_eq(request_parse_ids("1", 1, ids, 8, err, sizeof(err)), 1);
	ck_assert_uint_eq(ids[0], 1);
	ck_assert_uint_eq(request_parse_ids("3,1,2,3", 7, ids, 8, err, sizeof(err)), 4);
	ck_assert_uint_eq(ids[0], 3);
	ck_assert_uint_eq(ids[1], 1);
	ck_assert_uint_eq(ids[3], 3); /* duplicates allowed, order kept */
	ck_assert_uint_eq(request_parse_ids("0,9223372036854775807", 21, ids, 8,
					    err, sizeof(err)), 2);
	ck_assert_uint_eq(ids[1], 9223372036854775807u);
	/* exactly max */
	ck_assert_uint_eq(request_parse_ids("1,2,3", 5, ids, 3, err, sizeof(err)), 3);
}
END_TEST

static const struct {
	const char *text;
	const char *says;
} bad_ids[] = {
	{"", "ids: the list is empty"},
	{",", "ids: empty item at position 1"},
	{"1,", "ids: empty item at position 2"},
	{",1", "ids: empty item at position 1"},
	{"1,,2", "ids: empty item at position 2"},
	{"1,x", "ids: 'x' is not a valid user id"},
	{"-1", "ids: '-1' is not a valid user id"},
	{"1, 2", "ids: ' 2' is not a valid user id"},
	{"9223372036854775808", "is not a valid user id"},
	{"1,2,3,4", "ids: at most 3 ids per request"},
	{"\"\\\x01", "ids: '?\?\?' is not a valid user id"},
	{"1111111111111111111111111111111111111111", "...' is not a valid user id"},
};

START_TEST(test_ids_bad)
{
	uint64_t ids[3];
	char err[128] = "";

	ck_assert_uint_eq(request_parse_ids(bad_ids[_i].text, strlen(bad_ids[_i].text),
					    ids, 3, err, sizeof(err)), 0);
	ck_assert_msg(strstr(err, bad_ids[_i].says) != NULL, "'%s' said '%s'",
		      bad_ids[_i].text, err);
}
END_TEST

START_TEST(test_delay_values)
{
	uint32_t ms = 99;
	char err[128];

	ck_assert(request_parse_delay("0", 1, 60000, &ms, err, sizeof(err)));
	ck_assert_uint_eq(ms, 0);
	ck_assert(request_parse_delay("60000", 5, 60000, &ms, err, sizeof(err)));
	ck_assert_uint_eq(ms, 60000);
	ck_assert(request_parse_delay("00250", 5, 60000, &ms, err, sizeof(err)));
	ck_assert_uint_eq(ms, 250);

	ms = 99;
	ck_assert(!request_parse_delay("60001", 5, 60000, &ms, err, sizeof(err)));
	ck_assert_str_eq(err, "delay: at most 60000 ms");
	ck_assert(!request_parse_delay("99999999999999999999999", 23, 60000, &ms,
				       err, sizeof(err)));
	ck_assert_str_eq(err, "delay: at most 60000 ms");
	ck_assert(!request_parse_delay("", 0, 60000, &ms, err, sizeof(err)));
	ck_assert(strstr(err, "is not a number") != NULL);
	ck_assert(!request_parse_delay("1.5", 3, 60000, &ms, err, sizeof(err)));
	ck_assert(!request_parse_delay("-1", 2, 60000, &ms, err, sizeof(err)));
	ck_assert(!request_parse_delay("1e3", 3, 60000, &ms, err, sizeof(err)));
	ck_assert(!request_parse_delay(" 1", 2, 60000, &ms, err, sizeof(err)));
	ck_assert_uint_eq(ms, 99); /* untouched on failure */
}
END_TEST

START_TEST(test_flags)
{
	bool on = false;
	char err[128];

	ck_assert(request_parse_flag("fail", "1", 1, &on, err, sizeof(err)) && on);
	ck_assert(request_parse_flag("fail", "0", 1, &on, err, sizeof(err)) && !on);
	ck_assert(request_parse_flag("fail", "true", 4, &on, err, sizeof(err)) && on);
	ck_assert(request_parse_flag("fail", "false", 5, &on, err, sizeof(err)) && !on);
	ck_assert(!request_parse_flag("fail", "", 0, &on, err, sizeof(err)));
	ck_assert(!request_parse_flag("fail", "yes", 3, &on, err, sizeof(err)));
	ck_assert_str_eq(err, "fail: 'yes' is not 1, 0, true or false");
	ck_assert(!request_parse_flag("fail", "10", 2, &on, err, sizeof(err)));
}
END_TEST

/* Header lines (name, value pairs, NULL-ended), the version, and the
 * verdict: NULL (fine) or a word of the message, and the status. */
static const struct {
	const char *headers[8];
	bool http10;
	const char *says;
	unsigned status;
} framings[] = {
	{{"Host", "x", NULL}, false, NULL, 0},
	{{"host", "x", "Content-Length", "5", NULL}, false, NULL, 0},
	{{"Host", "x", "Transfer-Encoding", "chunked", NULL}, false, NULL, 0},
	{{"Host", "x", "Transfer-Encoding", "CHUNKED", NULL}, false, NULL, 0},
	{{NULL}, true, NULL, 0},                            /* HTTP/1.0: no Host */
	{{NULL}, false, "Host header required", 400},
	{{"Host", "a", "Host", "b", NULL}, false, "more than one Host", 400},
	{{"Host", "a", "Host", "a", NULL}, false, "more than one Host", 400},
	{{"Host", "a", "Host", "a", NULL}, true, "more than one Host", 400},
	{{"Host", "x", "Content-Length", "1", "Content-Length", "2", NULL}, false,
	 "conflicting Content-Length", 400},
	{{"Host", "x", "Content-Length", "2", "Content-Length", "2", NULL}, false, NULL, 0},
	{{"Host", "x", "Content-Length", "1x", NULL}, false, "Content-Length", 400},
	{{"Host", "x", "Content-Length", "-1", NULL}, false, "Content-Length", 400},
	{{"Host", "x", "Content-Length", "", NULL}, false, "Content-Length", 400},
	{{"Host", "x", "Content-Length", "123456789012345678901234567890", NULL}, false,
	 "Content-Length", 400},
	{{"Host", "x", "Transfer-Encoding", "gzip", NULL}, false, "exactly 'chunked'", 400},
	{{"Host", "x", "Transfer-Encoding", "chunked, gzip", NULL}, false,
	 "exactly 'chunked'", 400},
	{{"Host", "x", "Transfer-Encoding", "chunked", "Transfer-Encoding", "gzip", NULL},
	 false, "exactly 'chunked'", 400},
	{{"Host", "x", "Transfer-Encoding", "gzip, chunked", NULL}, false,
	 "not implemented", 501},
	{{"Host", "x", "Transfer-Encoding", "gzip", "Transfer-Encoding", "chunked", NULL},
	 false, "not implemented", 501},
	/* Lists libmicrohttpd would not decode as chunked: refused, not read
	 * as a body of unknown length. */
	{{"Host", "x", "Transfer-Encoding", "chunked,", NULL}, false, "exactly 'chunked'", 400},
	{{"Host", "x", "Transfer-Encoding", ", chunked", NULL}, false, "exactly 'chunked'", 400},
	{{"Host", "x", "Transfer-Encoding", "chunked;x=1", NULL}, false,
	 "exactly 'chunked'", 400},
	{{"Host", "x", "Transfer-Encoding", "", "Transfer-Encoding", "chunked", NULL}, false,
	 "exactly 'chunked'", 400},
	{{"Host", "x", "Transfer-Encoding", "chunked", "Transfer-Encoding", "chunked", NULL},
	 false, "exactly 'chunked'", 400},
	{{"Host", "x", "Transfer-Encoding", "chunked", "Content-Length", "3", NULL}, false,
	 "together with Content-Length", 400},
	{{"Transfer-Encoding", "chunked", NULL}, true, "HTTP/1.0", 400},
};

START_TEST(test_framing)
{
	struct request_framing f;
	const char *const *h = framings[_i].headers;
	const char *msg;
	unsigned status = 0;

	memset(&f, 0, sizeof(f));
	for (size_t i = 0; h[i] != NULL; i += 2)
		request_framing_header(&f, h[i], h[i + 1]);
	msg = request_framing_error(&f, framings[_i].http10, &status);
	if (framings[_i].says == NULL) {
		ck_assert_msg(msg == NULL, "case %d: %s", _i, msg);
		return;
	}
	ck_assert_msg(msg != NULL, "case %d: accepted", _i);
	ck_assert_msg(strstr(msg, framings[_i].says) != NULL, "case %d: %s", _i, msg);
	ck_assert_uint_eq(status, framings[_i].status);
}
END_TEST

static Suite *request_suite(void)
{
	Suite *s = suite_create("request");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, test_ids_good);
	tcase_add_loop_test(tc, test_ids_bad, 0, (int)(sizeof(bad_ids) / sizeof(bad_ids[0])));
	tcase_add_test(tc, test_delay_values);
	tcase_add_test(tc, test_flags);
	tcase_add_loop_test(tc, test_framing, 0, (int)(sizeof(framings) / sizeof(framings[0])));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(request_suite());
}
