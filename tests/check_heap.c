/* Unit tests for src/heap.c: order, ties, arbitrary removal, invariants. */
#include <check.h>
#include <signal.h>
#include <stdlib.h>

#include "heap.h"
#include "testutil.h"

#define CAPACITY 4096

struct item {
	struct heap_node node;
	uint64_t key;
	uint64_t order; /* insertion order, to check ties */
	int in_heap;
};

static int item_cmp(const void *a, const void *b)
{
	const struct item *x = *(const struct item *const *)a;
	const struct item *y = *(const struct item *const *)b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

START_TEST(test_empty)
{
	struct heap h;

	ck_assert_int_eq(heap_init(&h, CAPACITY), 0);
	ck_assert_ptr_null(heap_min(&h));
	ck_assert_ptr_null(heap_pop(&h));
	ck_assert_uint_eq(heap_count(&h), 0);
	ck_assert_int_eq(heap_validate(&h), 0);
	heap_destroy(&h);
}
END_TEST

START_TEST(test_single)
{
	struct heap h;
	struct item a = {.key = 5};

	ck_assert_int_eq(heap_init(&h, CAPACITY), 0);
	heap_insert(&h, &a.node, a.key);
	ck_assert_ptr_eq(heap_min(&h), &a.node);
	ck_assert_int_eq(heap_validate(&h), 0);
	heap_remove(&h, &a.node);
	ck_assert_ptr_null(heap_min(&h));
	ck_assert_uint_eq(heap_count(&h), 0);
	heap_destroy(&h);
}
END_TEST

START_TEST(test_ties_in_insertion_order)
{
	enum { N = 100 };
	struct item items[N];
	struct heap h;

	ck_assert_int_eq(heap_init(&h, CAPACITY), 0);
	for (int i = 0; i < N; i++) {
		items[i].key = (uint64_t)(i % 3); /* three groups of ties */
		heap_insert(&h, &items[i].node, items[i].key);
	}
	for (uint64_t key = 0; key < 3; key++) {
		for (int i = (int)key; i < N; i += 3) {
			struct heap_node *n = heap_pop(&h);

			ck_assert_ptr_eq(n, &items[i].node);
			ck_assert_int_eq(heap_validate(&h), 0);
		}
	}
	ck_assert_ptr_null(heap_pop(&h));
	heap_destroy(&h);
}
END_TEST

START_TEST(test_remove_root_leaf_middle)
{
	enum { N = 15 };
	struct item items[N];
	struct heap h;
	uint64_t last = 0;

	ck_assert_int_eq(heap_init(&h, CAPACITY), 0);
	for (int i = 0; i < N; i++) {
		items[i].key = (uint64_t)i * 10;
		heap_insert(&h, &items[i].node, items[i].key);
	}
	heap_remove(&h, &items[0].node);  /* root */
	heap_remove(&h, &items[14].node); /* last leaf */
	heap_remove(&h, &items[3].node);  /* an inner node */
	heap_remove(&h, &items[9].node);  /* another leaf */
	ck_assert_int_eq(heap_validate(&h), 0);
	ck_assert_uint_eq(heap_count(&h), N - 4);
	for (size_t i = 0; i < N - 4; i++) {
		struct item *it = heap_entry(heap_pop(&h), struct item, node);

		ck_assert(it != &items[0] && it != &items[14] &&
			  it != &items[3] && it != &items[9]);
		ck_assert_uint_ge(it->key, last);
		last = it->key;
	}
	heap_destroy(&h);
}
END_TEST

/* Random inserts, removals of arbitrary nodes and pops, checked step by
 * step against a sorted reference. */
START_TEST(test_random_against_reference)
{
	enum { N = 2000, STEPS = 20000 };
	struct item *items = calloc(N, sizeof(*items));
	struct item **ref = calloc(N, sizeof(*ref));
	struct heap h;
	uint64_t order = 0;
	size_t live = 0;

	ck_assert_ptr_nonnull(items);
	ck_assert_ptr_nonnull(ref);
	srand(12345 + (unsigned)_i);
	ck_assert_int_eq(heap_init(&h, CAPACITY), 0);
	for (int step = 0; step < STEPS; step++) {
		int op = rand() % 4;
		struct item *it = &items[rand() % N];

		if (op <= 1 && !it->in_heap) {
			it->key = (uint64_t)(rand() % 500); /* many ties */
			it->order = order++;
			it->in_heap = 1;
			heap_insert(&h, &it->node, it->key);
			live++;
		} else if (op == 2 && it->in_heap) {
			heap_remove(&h, &it->node);
			it->in_heap = 0;
			live--;
		} else if (op == 3 && live > 0) {
			size_t n = 0;

			for (int i = 0; i < N; i++)
				if (items[i].in_heap)
					ref[n++] = &items[i];
			qsort(ref, n, sizeof(*ref), item_cmp);
			it = heap_entry(heap_pop(&h), struct item, node);
			ck_assert_ptr_eq(it, ref[0]);
			it->in_heap = 0;
			live--;
		}
		ck_assert_uint_eq(heap_count(&h), live);
		if (step % 97 == 0)
			ck_assert_int_eq(heap_validate(&h), 0);
	}
	/* Drain: the whole remaining order must match the reference. */
	{
		size_t n = 0;

		for (int i = 0; i < N; i++)
			if (items[i].in_heap)
				ref[n++] = &items[i];
		qsort(ref, n, sizeof(*ref), item_cmp);
		for (size_t i = 0; i < n; i++)
			ck_assert_ptr_eq(heap_pop(&h), &ref[i]->node);
		ck_assert_ptr_null(heap_pop(&h));
	}
	free(ref);
	free(items);
	heap_destroy(&h);
}
END_TEST

START_TEST(test_validate_detects_corruption)
{
	struct item a = {.key = 1}, b = {.key = 2};
	struct heap h;

	ck_assert_int_eq(heap_init(&h, CAPACITY), 0);
	heap_insert(&h, &a.node, 1);
	heap_insert(&h, &b.node, 2);
	ck_assert_int_eq(heap_validate(&h), 0);
	h.slots[1].key = 0; /* child now smaller than its parent */
	ck_assert_int_eq(heap_validate(&h), -1);
	h.slots[1].key = 2;
	b.node.index = 0; /* the node lost its slot */
	ck_assert_int_eq(heap_validate(&h), -1);
	b.node.index = 1;
	ck_assert_int_eq(heap_validate(&h), 0);
	h.count = h.capacity + 1; /* more nodes than room */
	ck_assert_int_eq(heap_validate(&h), -1);
	h.count = 2;
	heap_destroy(&h);
}
END_TEST

/* A full heap refuses a node and changes nothing; a pop makes room. */
START_TEST(test_full_refuses)
{
	struct item items[3];
	struct heap h;

	ck_assert_int_eq(heap_init(&h, 2), 0);
	ck_assert(heap_insert(&h, &items[0].node, 30));
	ck_assert(heap_insert(&h, &items[1].node, 20));
	ck_assert(!heap_insert(&h, &items[2].node, 10));
	ck_assert_uint_eq(heap_count(&h), 2);
	ck_assert_int_eq(heap_validate(&h), 0);
	ck_assert_ptr_eq(heap_pop(&h), &items[1].node);
	ck_assert(heap_insert(&h, &items[2].node, 10));
	ck_assert_ptr_eq(heap_pop(&h), &items[2].node);
	ck_assert_ptr_eq(heap_pop(&h), &items[0].node);
	heap_destroy(&h);
}
END_TEST

/* Misuse is caught: removing a node that is in another heap aborts. */
START_TEST(test_remove_from_wrong_heap_aborts)
{
	struct heap h1, h2;
	struct item a = {.key = 1}, b = {.key = 2};

	ck_assert_int_eq(heap_init(&h1, CAPACITY), 0);
	ck_assert_int_eq(heap_init(&h2, CAPACITY), 0);
	heap_insert(&h1, &a.node, a.key);
	heap_insert(&h2, &b.node, b.key);
	heap_remove(&h1, &b.node);
}
END_TEST

static Suite *heap_suite(void)
{
	Suite *s = suite_create("heap");
	TCase *basic = tcase_create("basic");
	TCase *random = tcase_create("random");

	tcase_add_test(basic, test_empty);
	tcase_add_test(basic, test_single);
	tcase_add_test(basic, test_ties_in_insertion_order);
	tcase_add_test(basic, test_remove_root_leaf_middle);
	tcase_add_test(basic, test_validate_detects_corruption);
	tcase_add_test(basic, test_full_refuses);
	tcase_add_test_raise_signal(basic, test_remove_from_wrong_heap_aborts, SIGABRT);
	tcase_add_loop_test(random, test_random_against_reference, 0, 4);
	suite_add_tcase(s, basic);
	suite_add_tcase(s, random);
	return s;
}

int main(void)
{
	return testutil_run(heap_suite());
}
