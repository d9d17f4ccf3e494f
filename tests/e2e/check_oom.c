/* Out of memory: every allocation failure on a request's path ends in a
 * 500 with the JSON error body, frees what it allocated exactly once and
 * leaves the server serving.  The HTTP server runs in this process; the
 * link wraps malloc and the libmicrohttpd calls that allocate
 * (-Wl,--wrap=...), so a test can make the n-th call from now fail.  A
 * double free aborts (glibc) or is reported (AddressSanitizer, in the
 * sanitizers stage). */
#include <check.h>
#include <curl/curl.h>
#include <microhttpd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "listener.h"
#include "log.h"
#include "testutil.h"
#include "timerq.h"

/* The server's connection limit, and so the timer queue's capacity (a
 * connection waits on at most one deadline), as in src/main.c. */
#define MAX_CONNECTIONS 64

/* ---- failure injection ------------------------------------------------ */

enum fn { FN_MALLOC, FN_ADD_HEADER, FN_CREATE_RESPONSE, FN_COUNT };

static const char *const fn_name[FN_COUNT] = {"malloc", "MHD_add_response_header",
					      "MHD_create_response_from_buffer"};

/* Calls of each function left before one fails; 0: none will. */
static _Atomic long countdown[FN_COUNT];
static _Atomic long injected;

static bool fail_now(enum fn f)
{
	long left = atomic_load(&countdown[f]);

	while (left > 0) {
		if (atomic_compare_exchange_weak(&countdown[f], &left, left - 1)) {
			if (left == 1) {
				atomic_fetch_add(&injected, 1);
				return true;
			}
			return false;
		}
	}
	return false;
}

void *__real_malloc(size_t size);
void *__wrap_malloc(size_t size);
enum MHD_Result __real_MHD_add_response_header(struct MHD_Response *r, const char *h,
					       const char *v);
enum MHD_Result __wrap_MHD_add_response_header(struct MHD_Response *r, const char *h,
					       const char *v);
struct MHD_Response *__real_MHD_create_response_from_buffer(size_t size, void *buffer,
							    enum MHD_ResponseMemoryMode m);
struct MHD_Response *__wrap_MHD_create_response_from_buffer(size_t size, void *buffer,
							    enum MHD_ResponseMemoryMode m);

void *__wrap_malloc(size_t size)
{
	return fail_now(FN_MALLOC) ? NULL : __real_malloc(size);
}

enum MHD_Result __wrap_MHD_add_response_header(struct MHD_Response *r, const char *h,
					       const char *v)
{
	return fail_now(FN_ADD_HEADER) ? MHD_NO : __real_MHD_add_response_header(r, h, v);
}

struct MHD_Response *__wrap_MHD_create_response_from_buffer(size_t size, void *buffer,
							    enum MHD_ResponseMemoryMode m)
{
	return fail_now(FN_CREATE_RESPONSE) ? NULL
		: __real_MHD_create_response_from_buffer(size, buffer, m);
}

/* ---- the server ------------------------------------------------------- */

static timerq *timers;
static struct http_server *srv;
static char base[64];
static unsigned capacity; /* --capacity of the server setup() starts */

static void setup(void)
{
	struct http_options o;
	struct run_settings run;
	char err[256];
	int fd;

	log_set_level(LOG_LEVEL_ERROR);
	fd = listener_open("127.0.0.1", 0, false, err, sizeof(err));
	ck_assert_msg(fd >= 0, "%s", err);
	listener_url(fd, base, sizeof(base));
	ck_assert_int_eq(timerq_create(&timers, 0, MAX_CONNECTIONS), 0);
	memset(&o, 0, sizeof(o));
	o.listen_fd = fd;
	o.threads = 2;
	o.max_connections = MAX_CONNECTIONS;
	o.timeout_s = 10;
	o.connection_memory = 4096;
	memset(&run, 0, sizeof(run));
	run.delay.kind = DELAY_FIXED;
	run.delay.min_ms = 0;
	run.delay.clamp_ms = 1000;
	run.delay_override = true;
	run.max_batch = 100;
	run.access_log = ACCESS_LOG_OFF;
	run.capacity = capacity;
	run.queue_max = CAPACITY_UNBOUNDED;
	run.reject_status = 503;
	o.settings = settings_create(&run, NULL);
	ck_assert_ptr_nonnull(o.settings);
	o.timers = timers;
	o.version = "test";
	ck_assert_msg(http_start(&srv, &o, err, sizeof(err)) == 0, "%s", err);
	settings_unref(o.settings); /* the server keeps its own reference */
}

static void setup_capacity(void)
{
	capacity = 4;
	setup();
}

static void teardown(void)
{
	capacity = 0;
	for (int f = 0; f < FN_COUNT; f++)
		atomic_store(&countdown[f], 0);
	http_stop(srv);
	timerq_destroy(timers);
}

static size_t collect(char *data, size_t size, size_t n, void *cls)
{
	char *buf = cls;
	size_t used = strlen(buf), len = size * n;

	if (used + len < 4096) {
		memcpy(buf + used, data, len);
		buf[used + len] = '\0';
	}
	return len;
}

/* GET base+path on a fresh connection: the status (0 when there was no
 * answer), the body in buf.  No Check call in here: Check's own
 * bookkeeping allocates, and this runs while a failure is armed. */
static long get(const char *path, char *buf)
{
	char url[256];
	long status = 0;
	CURL *c = curl_easy_init();

	if (c == NULL)
		return -1;
	buf[0] = '\0';
	snprintf(url, sizeof(url), "%s%s", base, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, buf);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	return status;
}

static const char *const paths[] = {
	"/user/1?delay=0",
	"/user/2?delay=5",
	"/users?ids=1,2,3&delay=0",
	"/users?ids=4,5&delay=5",
	"/metrics",
	"/user/x",
	"/nope",
};

/* For one route and one function, fail its 1st, 2nd, ... call from now:
 * each answer is the normal one or a JSON 500, never a crash, and the
 * server serves normally afterwards. */
START_TEST(test_allocation_failures_answer_500)
{
	const char *path = paths[_i / FN_COUNT];
	enum fn f = (enum fn)(_i % FN_COUNT);
	char buf[4096];
	long normal, status;

	normal = get(path, buf);
	ck_assert_int_gt(normal, 0);
	for (long n = 1; n <= 12; n++) {
		long before = atomic_load(&injected);

		atomic_store(&countdown[f], n);
		status = get(path, buf);
		atomic_store(&countdown[f], 0);
		if (atomic_load(&injected) == before) {
			ck_assert_int_eq(status, normal); /* no failure on the path */
			continue;
		}
		ck_assert_msg(status == 500 || status == normal,
			      "%s, failing %s call %ld: status %ld", path, fn_name[f], n, status);
		if (status == 500)
			ck_assert_msg(strstr(buf, "\"error\"") != NULL, "500 body: %s", buf);
	}
	/* Still serving normally afterwards. */
	ck_assert_int_eq(get(path, buf), normal);
}
END_TEST

/* The double free found in review: a failing header on a response that owns
 * a malloc'd body (/users, /metrics) must answer 500. */
START_TEST(test_failed_header_on_owned_body)
{
	static const char *const owned[] = {"/users?ids=1,2&delay=0", "/metrics"};
	char buf[4096];

	for (size_t i = 0; i < 2; i++) {
		atomic_store(&countdown[FN_ADD_HEADER], 1);
		ck_assert_int_eq(get(owned[i], buf), 500);
		ck_assert_msg(strstr(buf, "internal server error") != NULL, "%s", buf);
		ck_assert_int_eq(get(owned[i], buf), 200);
	}
}
END_TEST

static Suite *oom_suite(void)
{
	Suite *s = suite_create("oom");
	TCase *tc = tcase_create("oom");
	TCase *cap = tcase_create("capacity");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_failed_header_on_owned_body);
	tcase_add_loop_test(tc, test_allocation_failures_answer_500, 0,
			    (int)(sizeof(paths) / sizeof(paths[0])) * FN_COUNT);
	suite_add_tcase(s, tc);
	/* The same through --capacity's slots.  A failed body with a
	 * ?delay= kept the delay's floor while its delay went to 0: the
	 * slot's timer was aimed past its deadline and an assertion
	 * aborted the server. */
	tcase_add_checked_fixture(cap, setup_capacity, teardown);
	tcase_add_loop_test(cap, test_allocation_failures_answer_500, 0,
			    (int)(sizeof(paths) / sizeof(paths[0])) * FN_COUNT);
	suite_add_tcase(s, cap);
	return s;
}

int main(void)
{
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = testutil_run(oom_suite());
	curl_global_cleanup();
	return rc;
}
