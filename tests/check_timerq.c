/* Unit tests for src/timerq.c: never early, in order, cancel, close,
 * slack batching, re-entrant callbacks. */
#include <check.h>
#include <signal.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include <time.h>

#include "testutil.h"
#include "timerq.h"

#define MS 1000000u
/* Room for the most entries a test keeps pending (T * N below). */
#define CAPACITY 8192

struct probe {
	struct timerq_entry entry;
	uint64_t deadline;
	uint64_t fired_at;     /* now_ns passed to the callback */
	uint64_t seen_at;      /* timerq_now() inside the callback */
	enum timerq_reason reason;
	int order;             /* position in the global firing order */
	int fired;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int fired_count;
static timerq *q;

static void on_fire(struct timerq_entry *e, uint64_t now, enum timerq_reason why)
{
	struct probe *p = (struct probe *)((char *)e - offsetof(struct probe, entry));

	pthread_mutex_lock(&lock);
	p->seen_at = timerq_now();
	p->fired_at = now;
	p->reason = why;
	p->order = fired_count++;
	p->fired++;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
}

/* Wait until `n` callbacks have run in total; false after 10 s. */
static int wait_fired(int n)
{
	uint64_t until = timerq_now() + 10000 * (uint64_t)MS;
	int ok;

	pthread_mutex_lock(&lock);
	while (fired_count < n && timerq_now() < until) {
		pthread_mutex_unlock(&lock);
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
		pthread_mutex_lock(&lock);
	}
	ok = fired_count >= n;
	pthread_mutex_unlock(&lock);
	return ok;
}

static void setup(void)
{
	fired_count = 0;
	ck_assert_int_eq(timerq_create(&q, 0, CAPACITY), 0);
}

static void teardown(void)
{
	timerq_destroy(q);
	q = NULL;
}

static void add_probe(struct probe *p, uint64_t deadline)
{
	p->deadline = deadline;
	timerq_add(q, &p->entry, deadline, on_fire);
}

START_TEST(test_fires_at_or_after_deadline_in_order)
{
	enum { N = 50 };
	struct probe p[N] = {0};
	uint64_t base = timerq_now() + 20 * MS;

	/* Added in scrambled order; deadlines 1 ms apart. */
	for (int i = 0; i < N; i++) {
		int k = (i * 17) % N;

		add_probe(&p[k], base + (uint64_t)k * MS);
	}
	ck_assert_uint_eq(timerq_pending(q), N);
	ck_assert(wait_fired(N));
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(p[i].fired, 1);
		ck_assert_int_eq(p[i].reason, TIMERQ_EXPIRED);
		ck_assert_uint_ge(p[i].fired_at, p[i].deadline);
		ck_assert_uint_ge(p[i].seen_at, p[i].deadline);
		ck_assert_int_eq(p[i].order, i);
	}
	ck_assert_uint_eq(timerq_pending(q), 0);
}
END_TEST

START_TEST(test_equal_deadlines_in_insertion_order)
{
	enum { N = 20 };
	struct probe p[N] = {0};
	uint64_t when = timerq_now() + 10 * MS;

	for (int i = 0; i < N; i++)
		add_probe(&p[i], when);
	ck_assert(wait_fired(N));
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(p[i].order, i);
}
END_TEST

START_TEST(test_past_deadline_fires_soon)
{
	struct probe p = {0};

	add_probe(&p, 0);
	ck_assert(wait_fired(1));
	ck_assert_int_eq(p.fired, 1);
}
END_TEST

START_TEST(test_earlier_deadline_wakes_sleeping_thread)
{
	struct probe late = {0}, early = {0};
	uint64_t now = timerq_now();

	add_probe(&late, now + 5000 * (uint64_t)MS);
	add_probe(&early, now + 20 * MS);
	ck_assert(wait_fired(1));
	ck_assert_int_eq(early.fired, 1);
	ck_assert_int_eq(late.fired, 0);
	/* Fired long before the late one was due: the thread did wake. */
	ck_assert_uint_lt(early.seen_at, now + 4000 * (uint64_t)MS);
	ck_assert(timerq_cancel(q, &late.entry));
}
END_TEST

START_TEST(test_cancel)
{
	struct probe a = {0}, b = {0}, c = {0};
	uint64_t now = timerq_now();

	add_probe(&a, now + 30 * MS);
	add_probe(&b, now + 40 * MS);
	add_probe(&c, now + 50 * MS);
	ck_assert(timerq_cancel(q, &b.entry));
	ck_assert(!timerq_cancel(q, &b.entry)); /* not pending any more */
	ck_assert_uint_eq(timerq_pending(q), 2);
	ck_assert(wait_fired(2));
	ck_assert_int_eq(a.fired, 1);
	ck_assert_int_eq(b.fired, 0);
	ck_assert_int_eq(c.fired, 1);
	ck_assert(!timerq_cancel(q, &a.entry)); /* already fired */
}
END_TEST

START_TEST(test_close_fires_everything_now)
{
	enum { N = 10 };
	struct probe p[N] = {0};
	uint64_t far = timerq_now() + 60000 * (uint64_t)MS;

	for (int i = 0; i < N; i++)
		add_probe(&p[i], far + (uint64_t)(N - i));
	ck_assert_uint_eq(timerq_close(q), N);
	ck_assert_uint_eq(timerq_pending(q), 0);
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(p[i].fired, 1);
		ck_assert_int_eq(p[i].reason, TIMERQ_FLUSHED);
		ck_assert_int_eq(p[i].order, N - 1 - i); /* deadline order */
	}
	ck_assert_uint_eq(timerq_close(q), 0);
}
END_TEST

/* A full queue refuses an entry, which is then not pending and never
 * fires; once one fires there is room again. */
START_TEST(test_full_queue_refuses_entries)
{
	timerq *small;
	struct probe p[3];
	uint64_t far = timerq_now() + 60ull * 1000000000u;

	memset(p, 0, sizeof(p));
	ck_assert_int_eq(timerq_create(&small, 0, 2), 0);
	ck_assert(timerq_add(small, &p[0].entry, timerq_now(), on_fire));
	ck_assert(timerq_add(small, &p[1].entry, far, on_fire));
	ck_assert(wait_fired(1));
	ck_assert(timerq_add(small, &p[2].entry, far, on_fire));
	ck_assert(!timerq_add(small, &p[0].entry, far, on_fire));
	ck_assert(!p[0].entry.pending);
	ck_assert_uint_eq(timerq_pending(small), 2);
	ck_assert(timerq_cancel(small, &p[1].entry));
	ck_assert(timerq_add(small, &p[0].entry, far, on_fire));
	timerq_destroy(small);
}
END_TEST

/* Once closed, the queue takes nothing more: an entry added afterwards
 * is refused, is not pending and never fires. */
START_TEST(test_closed_queue_refuses_entries)
{
	struct probe p = {0};

	ck_assert_uint_eq(timerq_close(q), 0);
	p.entry.pending = false;
	ck_assert(!timerq_add(q, &p.entry, timerq_now(), on_fire));
	ck_assert(!p.entry.pending);
	ck_assert_uint_eq(timerq_pending(q), 0);
	usleep(50000);
	ck_assert_int_eq(p.fired, 0);
	ck_assert(!timerq_cancel(q, &p.entry));
}
END_TEST

START_TEST(test_slack_batches_but_never_early)
{
	enum { N = 10 };
	struct probe p[N] = {0};
	uint64_t base;

	timerq_set_slack(q, 200 * MS);
	base = timerq_now() + 20 * MS;
	for (int i = 0; i < N; i++)
		add_probe(&p[i], base + (uint64_t)i * 5 * MS); /* 45 ms span */
	ck_assert(wait_fired(N));
	for (int i = 0; i < N; i++) {
		ck_assert_uint_ge(p[i].fired_at, p[i].deadline);
		/* One batch: everyone saw the same clock reading. */
		ck_assert_uint_eq(p[i].fired_at, p[0].fired_at);
	}
}
END_TEST

/* A callback that schedules another entry: adding from inside a callback
 * must work (callbacks run outside the lock). */
static struct probe chained;

static void on_fire_and_add(struct timerq_entry *e, uint64_t now,
			    enum timerq_reason why)
{
	add_probe(&chained, now + 5 * MS);
	on_fire(e, now, why);
}

START_TEST(test_callback_may_add)
{
	struct probe first = {0};

	memset(&chained, 0, sizeof(chained));
	first.deadline = timerq_now() + 5 * MS;
	timerq_add(q, &first.entry, first.deadline, on_fire_and_add);
	ck_assert(wait_fired(2));
	ck_assert_int_eq(chained.fired, 1);
	ck_assert_uint_ge(chained.fired_at, chained.deadline);
}
END_TEST

/* Many threads adding and cancelling at once. */
struct adder_arg {
	struct probe *p;
	int n;
};

static void *adder(void *arg)
{
	struct adder_arg *a = arg;
	uint64_t now = timerq_now();

	for (int i = 0; i < a->n; i++)
		add_probe(&a->p[i], now + (uint64_t)(i % 20) * MS);
	for (int i = 0; i < a->n; i += 2)
		if (timerq_cancel(q, &a->p[i].entry))
			a->p[i].fired = -1; /* mark as cancelled */
	return NULL;
}

START_TEST(test_concurrent_add_cancel)
{
	enum { T = 4, N = 2000 };
	struct probe *p = calloc(T * N, sizeof(*p));
	struct adder_arg args[T];
	pthread_t th[T];
	int expect = 0;

	ck_assert_ptr_nonnull(p);
	for (int t = 0; t < T; t++) {
		args[t].p = p + t * N;
		args[t].n = N;
		ck_assert_int_eq(pthread_create(&th[t], NULL, adder, &args[t]), 0);
	}
	for (int t = 0; t < T; t++)
		pthread_join(th[t], NULL);
	/* Under the lock: the timer thread is firing the others meanwhile. */
	pthread_mutex_lock(&lock);
	for (int i = 0; i < T * N; i++)
		expect += p[i].fired != -1;
	pthread_mutex_unlock(&lock);
	ck_assert(wait_fired(expect));
	while (timerq_pending(q) != 0)
		;
	for (int i = 0; i < T * N; i++) {
		ck_assert(p[i].fired == -1 || p[i].fired == 1);
		if (p[i].fired == 1)
			ck_assert_uint_ge(p[i].fired_at, p[i].deadline);
	}
	free(p);
}
END_TEST

/* Misuse is caught: adding an entry that is already pending aborts. */
START_TEST(test_add_pending_entry_aborts)
{
	struct probe p = {0};
	uint64_t far = timerq_now() + 60000 * (uint64_t)MS;

	add_probe(&p, far);
	add_probe(&p, far);
}
END_TEST

static Suite *timerq_suite(void)
{
	Suite *s = suite_create("timerq");
	TCase *tc = tcase_create("queue");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_fires_at_or_after_deadline_in_order);
	tcase_add_test(tc, test_equal_deadlines_in_insertion_order);
	tcase_add_test(tc, test_past_deadline_fires_soon);
	tcase_add_test(tc, test_earlier_deadline_wakes_sleeping_thread);
	tcase_add_test(tc, test_cancel);
	tcase_add_test(tc, test_close_fires_everything_now);
	tcase_add_test(tc, test_full_queue_refuses_entries);
	tcase_add_test(tc, test_closed_queue_refuses_entries);
	tcase_add_test_raise_signal(tc, test_add_pending_entry_aborts, SIGABRT);
	tcase_add_test(tc, test_slack_batches_but_never_early);
	tcase_add_test(tc, test_callback_may_add);
	tcase_add_test(tc, test_concurrent_add_cancel);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(timerq_suite());
}
