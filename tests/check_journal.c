/* Unit tests for src/journal.c: the bounded ring, its filters and limit,
 * clearing, and adding from several threads. */
#include <check.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"
#include "testutil.h"

static struct journal *j;

static void teardown(void)
{
	journal_destroy(j);
	j = NULL;
}

/* Add a request for `path` with `ids`, `status` and `fault`, arriving at
 * `at_us`. */
static void add(const char *path, const char *ids, unsigned status, const char *fault,
		int64_t at_us)
{
	struct journal_entry e = {.arrived_us = at_us, .answered_us = at_us + 10,
				  .status = status, .rule = -1};

	snprintf(e.method, sizeof(e.method), "GET");
	snprintf(e.path, sizeof(e.path), "%s", path);
	snprintf(e.ids, sizeof(e.ids), "%s", ids);
	snprintf(e.fault, sizeof(e.fault), "%s", fault);
	journal_add(j, &e);
}

static size_t count(const struct journal_filter *f)
{
	size_t total = 99;

	ck_assert(journal_query(j, f, NULL, NULL, &total));
	return total;
}

/* Past its capacity the ring drops the oldest; entries come oldest
 * first and are numbered from 1 whatever was dropped or cleared. */
START_TEST(test_ring_keeps_the_newest)
{
	struct journal_filter all = {0};
	struct journal_entry *got;
	size_t n, total;

	j = journal_create(3);
	ck_assert_ptr_nonnull(j);
	ck_assert(journal_query(j, &all, &got, &n, &total));
	ck_assert_ptr_null(got);
	ck_assert_uint_eq(n + total, 0);
	for (int i = 1; i <= 5; i++)
		add("/user/7", "7", 200, "", i);
	ck_assert(journal_query(j, &all, &got, &n, &total));
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(total, 3);
	for (size_t k = 0; k < n; k++) {
		ck_assert_uint_eq(got[k].seq, 3 + k);
		ck_assert_int_eq(got[k].arrived_us, (int64_t)(3 + k));
	}
	free(got);
	journal_clear(j);
	ck_assert_uint_eq(count(&all), 0);
	add("/user/7", "7", 200, "", 9);
	ck_assert(journal_query(j, &all, &got, &n, &total));
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(got[0].seq, 6);
	free(got);
}
END_TEST

START_TEST(test_filters)
{
	struct journal_filter f = {0};

	j = journal_create(100);
	add("/user/7", "7", 503, "status:503", 1000);
	add("/user/7", "7", 503, "status:503", 2000);
	add("/user/7", "7", 200, "", 3000);
	add("/users", "1,7,70", 200, "", 4000);
	add("/users", "17", 0, "reset", 5000);
	add("/healthz", "", 200, "", 6000);
	add("/user/77", "77", 200, "", 7000);
	ck_assert_uint_eq(count(&f), 7);
	f.route = "/user";
	ck_assert_uint_eq(count(&f), 4);        /* not /users nor /healthz */
	f.route = "/users";
	ck_assert_uint_eq(count(&f), 2);
	f.route = NULL;
	f.has_id = true;
	f.id = 7;
	ck_assert_uint_eq(count(&f), 4);        /* 7 in "1,7,70"; not 17, 70, 77 */
	f.status = 503;
	ck_assert_uint_eq(count(&f), 2);
	f = (struct journal_filter){.fault = "status"};
	ck_assert_uint_eq(count(&f), 2);
	f.fault = "status:503";
	ck_assert_uint_eq(count(&f), 2);
	f.fault = "status:50";
	ck_assert_uint_eq(count(&f), 0);
	f.fault = "reset";
	ck_assert_uint_eq(count(&f), 1);
	f.fault = "none";
	ck_assert_uint_eq(count(&f), 4);
	f = (struct journal_filter){.has_since = true, .since_us = 3000};
	ck_assert_uint_eq(count(&f), 5);
}
END_TEST

/* limit: the newest N of those that match, still oldest first; the
 * total counts them all. */
START_TEST(test_limit)
{
	struct journal_filter f = {.route = "/user", .limit = 2};
	struct journal_entry *got;
	size_t n, total;

	j = journal_create(10);
	for (int i = 0; i < 6; i++)
		add(i % 2 ? "/user/1" : "/users", "1", 200, "", i);
	ck_assert(journal_query(j, &f, &got, &n, &total));
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(total, 3);
	ck_assert_int_eq(got[0].arrived_us, 3);
	ck_assert_int_eq(got[1].arrived_us, 5);
	free(got);
}
END_TEST

/* Several threads at once: every entry is kept once, numbered 1..N. */
#define WRITERS 4
#define WRITES 500

static void *write_many(void *arg)
{
	(void)arg;
	for (int i = 0; i < WRITES; i++)
		add("/user/1", "1", 200, "", i);
	return NULL;
}

START_TEST(test_threads)
{
	struct journal_filter all = {0};
	pthread_t t[WRITERS];
	struct journal_entry *got;
	size_t n, total;

	j = journal_create(WRITERS * WRITES);
	for (int i = 0; i < WRITERS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, write_many, NULL), 0);
	for (int i = 0; i < WRITERS; i++)
		pthread_join(t[i], NULL);
	ck_assert(journal_query(j, &all, &got, &n, &total));
	ck_assert_uint_eq(n, WRITERS * WRITES);
	for (size_t k = 0; k < n; k++)
		ck_assert_uint_eq(got[k].seq, k + 1);
	free(got);
}
END_TEST

static Suite *journal_suite(void)
{
	Suite *s = suite_create("journal");
	TCase *tc = tcase_create("journal");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_ring_keeps_the_newest);
	tcase_add_test(tc, test_filters);
	tcase_add_test(tc, test_limit);
	tcase_add_test(tc, test_threads);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(journal_suite());
}
