/* Unit tests for src/capacity.c: slots, FIFO order, the queue's bound,
 * removal from anywhere (a timeout, a client that left), batches. */
#include <check.h>
#include <signal.h>

#include "capacity.h"
#include "testutil.h"

#define N 8

static struct capacity c;
static struct capacity_node nodes[N];

static void setup(void)
{
	capacity_init(&c);
	for (int i = 0; i < N; i++)
		nodes[i] = (struct capacity_node){.slots = 0};
}

/* Start every ready head under `limit`, as a service's end does; returns
 * how many started and writes their indexes to `order`. */
static int start_ready(unsigned limit, int *order)
{
	struct capacity_node *n;
	int k = 0;

	while ((n = capacity_ready(&c, limit)) != NULL) {
		ck_assert(capacity_remove(&c, n));
		capacity_take(&c, n->slots);
		order[k++] = (int)(n - nodes);
	}
	return k;
}

START_TEST(test_slots_then_queue)
{
	ck_assert_int_eq(capacity_arrive(&c, &nodes[0], 1, 2, CAPACITY_UNBOUNDED, 10), CAPACITY_START);
	ck_assert_int_eq(capacity_arrive(&c, &nodes[1], 1, 2, CAPACITY_UNBOUNDED, 11), CAPACITY_START);
	ck_assert_int_eq(capacity_arrive(&c, &nodes[2], 1, 2, CAPACITY_UNBOUNDED, 12), CAPACITY_QUEUED);
	ck_assert_uint_eq(c.in_service, 2);
	ck_assert_uint_eq(c.queued, 1);
	ck_assert_uint_eq(nodes[2].since, 12);
	ck_assert_ptr_null(capacity_ready(&c, 2));
}
END_TEST

START_TEST(test_fifo_order)
{
	int order[N];

	ck_assert_int_eq(capacity_arrive(&c, &nodes[0], 1, 1, CAPACITY_UNBOUNDED, 0), CAPACITY_START);
	for (int i = 1; i < 5; i++)
		ck_assert_int_eq(capacity_arrive(&c, &nodes[i], 1, 1, CAPACITY_UNBOUNDED, (uint64_t)i),
				 CAPACITY_QUEUED);
	for (int i = 1; i < 5; i++) {
		capacity_give(&c, 1); /* the one in service ends */
		ck_assert_int_eq(start_ready(1, order), 1);
		ck_assert_int_eq(order[0], i);
	}
	ck_assert_uint_eq(c.queued, 0);
	ck_assert_uint_eq(c.in_service, 1);
}
END_TEST

/* Nobody overtakes a waiting request, even when its own slots would fit. */
START_TEST(test_no_overtaking)
{
	ck_assert_int_eq(capacity_arrive(&c, &nodes[0], 2, 2, CAPACITY_UNBOUNDED, 0), CAPACITY_START);
	ck_assert_int_eq(capacity_arrive(&c, &nodes[1], 2, 2, CAPACITY_UNBOUNDED, 0), CAPACITY_QUEUED);
	capacity_give(&c, 1); /* not possible in userd, but: one slot free */
	ck_assert_int_eq(capacity_arrive(&c, &nodes[2], 1, 2, CAPACITY_UNBOUNDED, 0), CAPACITY_QUEUED);
}
END_TEST

START_TEST(test_queue_bound)
{
	ck_assert_int_eq(capacity_arrive(&c, &nodes[0], 1, 1, 2, 0), CAPACITY_START);
	ck_assert_int_eq(capacity_arrive(&c, &nodes[1], 1, 1, 2, 0), CAPACITY_QUEUED);
	ck_assert_int_eq(capacity_arrive(&c, &nodes[2], 1, 1, 2, 0), CAPACITY_QUEUED);
	ck_assert_int_eq(capacity_arrive(&c, &nodes[3], 1, 1, 2, 0), CAPACITY_FULL);
	ck_assert(!nodes[3].queued);
	ck_assert_uint_eq(c.queued, 2);
	/* No waiting room at all. */
	ck_assert_int_eq(capacity_arrive(&c, &nodes[4], 1, 1, 0, 0), CAPACITY_FULL);
	/* A place freed is a place taken. */
	ck_assert(capacity_remove(&c, &nodes[1]));
	ck_assert_int_eq(capacity_arrive(&c, &nodes[3], 1, 1, 2, 0), CAPACITY_QUEUED);
}
END_TEST

/* A timeout or a departed client takes a request out from anywhere; the
 * others keep their order. */
START_TEST(test_remove_anywhere)
{
	int order[N];

	ck_assert_int_eq(capacity_arrive(&c, &nodes[0], 1, 1, CAPACITY_UNBOUNDED, 0), CAPACITY_START);
	for (int i = 1; i < 6; i++)
		capacity_arrive(&c, &nodes[i], 1, 1, CAPACITY_UNBOUNDED, 0);
	ck_assert(capacity_remove(&c, &nodes[3])); /* middle */
	ck_assert(capacity_remove(&c, &nodes[1])); /* head */
	ck_assert(capacity_remove(&c, &nodes[5])); /* tail */
	ck_assert(!capacity_remove(&c, &nodes[5])); /* not queued any more */
	ck_assert(!capacity_remove(&c, &nodes[0])); /* in service */
	ck_assert_uint_eq(c.queued, 2);
	capacity_give(&c, 1);
	ck_assert_int_eq(start_ready(2, order), 2);
	ck_assert_int_eq(order[0], 2);
	ck_assert_int_eq(order[1], 4);
	/* Emptied and refilled: the links were reset. */
	ck_assert_int_eq(capacity_arrive(&c, &nodes[1], 1, 2, CAPACITY_UNBOUNDED, 0), CAPACITY_QUEUED);
	ck_assert_ptr_eq(capacity_ready(&c, 3), &nodes[1]);
}
END_TEST

/* A batch of k ids takes k slots; one larger than the limit runs alone. */
START_TEST(test_batches)
{
	int order[N];

	ck_assert_int_eq(capacity_arrive(&c, &nodes[0], 3, 4, CAPACITY_UNBOUNDED, 0), CAPACITY_START);
	ck_assert_int_eq(capacity_arrive(&c, &nodes[1], 2, 4, CAPACITY_UNBOUNDED, 0), CAPACITY_QUEUED);
	ck_assert_int_eq(capacity_arrive(&c, &nodes[2], 9, 4, CAPACITY_UNBOUNDED, 0), CAPACITY_QUEUED);
	capacity_give(&c, 3);
	ck_assert_int_eq(start_ready(4, order), 1); /* the 2; the 9 waits for all 4 */
	ck_assert_int_eq(order[0], 1);
	capacity_give(&c, 2);
	ck_assert_int_eq(start_ready(4, order), 1);
	ck_assert_int_eq(order[0], 2);
	ck_assert_uint_eq(c.in_service, 9);
	ck_assert(!capacity_fits(&c, 1, 4));
	ck_assert(capacity_fits(&c, 1, 0)); /* no limit */
}
END_TEST

/* A limit raised (or lifted) while requests wait lets the heads start;
 * a limit lowered starts nobody until enough services end. */
START_TEST(test_limit_changes)
{
	int order[N];

	for (int i = 0; i < 2; i++)
		capacity_arrive(&c, &nodes[i], 1, 2, CAPACITY_UNBOUNDED, 0);
	for (int i = 2; i < 6; i++)
		ck_assert_int_eq(capacity_arrive(&c, &nodes[i], 1, 2, CAPACITY_UNBOUNDED, 0),
				 CAPACITY_QUEUED);
	ck_assert_int_eq(start_ready(3, order), 1);
	ck_assert_int_eq(order[0], 2);
	capacity_give(&c, 1);
	ck_assert_int_eq(start_ready(1, order), 0); /* 2 in service, limit 1 */
	capacity_give(&c, 1);
	ck_assert_int_eq(start_ready(1, order), 0);
	ck_assert_int_eq(start_ready(0, order), 3);
	ck_assert_uint_eq(c.in_service, 4);
}
END_TEST

START_TEST(test_give_too_many_aborts)
{
	capacity_give(&c, 1);
}
END_TEST

static Suite *capacity_suite(void)
{
	Suite *s = suite_create("capacity");
	TCase *tc = tcase_create("basic");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_slots_then_queue);
	tcase_add_test(tc, test_fifo_order);
	tcase_add_test(tc, test_no_overtaking);
	tcase_add_test(tc, test_queue_bound);
	tcase_add_test(tc, test_remove_anywhere);
	tcase_add_test(tc, test_batches);
	tcase_add_test(tc, test_limit_changes);
	tcase_add_test_raise_signal(tc, test_give_too_many_aborts, SIGABRT);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(capacity_suite());
}
