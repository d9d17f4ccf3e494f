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
static _Atomic uint64_t arrivals; /* the caller's numbering: seq */

static void teardown(void)
{
	journal_destroy(j);
	j = NULL;
	arrivals = 0;
}

/* Add a request numbered `seq` for `path` with `ids`, `status` and
 * `fault`, arriving at `at_us`. */
static void add_seq(uint64_t seq, const char *path, const char *ids, unsigned status,
		    const char *fault, int64_t at_us)
{
	struct journal_entry e = {.seq = seq, .arrived_us = at_us, .answered_us = at_us + 10,
				  .status = status, .rule = -1};

	snprintf(e.method, sizeof(e.method), "GET");
	snprintf(e.path, sizeof(e.path), "%s", path);
	snprintf(e.ids, sizeof(e.ids), "%s", ids);
	snprintf(e.fault, sizeof(e.fault), "%s", fault);
	journal_add(j, &e);
}

/* add_seq() numbered next in arrival order. */
static void add(const char *path, const char *ids, unsigned status, const char *fault,
		int64_t at_us)
{
	add_seq(++arrivals, path, ids, status, fault, at_us);
}

static size_t count(const struct journal_filter *f)
{
	size_t total = 99;

	ck_assert(journal_query(j, f, NULL, NULL, &total));
	return total;
}

/* Past its capacity the ring drops the oldest; entries come oldest
 * first, with the numbers they were given. */
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

/* Entries are added as requests finish, not as they arrived: they come
 * back in arrival order (seq), and a limit keeps the last to arrive, not
 * the last added.  Before, the list was in the order added: 3, 1, 2. */
START_TEST(test_arrival_order)
{
	struct journal_filter all = {0}, last = {.limit = 1}, two = {.limit = 2};
	struct journal_entry *got;
	size_t n, total;

	j = journal_create(10);
	add_seq(3, "/user/3", "3", 200, "", 30); /* the quick one finished first */
	add_seq(1, "/user/1", "1", 200, "", 10);
	add_seq(2, "/user/2", "2", 200, "", 20);
	ck_assert(journal_query(j, &all, &got, &n, &total));
	ck_assert_uint_eq(n, 3);
	for (size_t k = 0; k < n; k++)
		ck_assert_uint_eq(got[k].seq, k + 1);
	free(got);
	ck_assert(journal_query(j, &last, &got, &n, &total));
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(total, 3);
	ck_assert_str_eq(got[0].path, "/user/3");
	free(got);
	ck_assert(journal_query(j, &two, &got, &n, &total));
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(got[0].seq, 2);
	ck_assert_uint_eq(got[1].seq, 3);
	free(got);
	/* A larger ring in disorder (each ten added in reverse): the last 5
	 * of 200 to arrive, in order. */
	journal_destroy(j);
	j = journal_create(300);
	for (uint64_t i = 0; i < 200; i++)
		add_seq(i / 10 * 10 + 10 - i % 10, "/user/1", "1", 200, "", (int64_t)i);
	last.limit = 5;
	ck_assert(journal_query(j, &last, &got, &n, &total));
	ck_assert_uint_eq(n, 5);
	for (size_t k = 0; k < n; k++)
		ck_assert_uint_eq(got[k].seq, 196 + k);
	free(got);
}
END_TEST

/* Several threads at once: every entry is kept once, in order 1..N. */
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
	tcase_add_test(tc, test_arrival_order);
	tcase_add_test(tc, test_threads);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(journal_suite());
}
