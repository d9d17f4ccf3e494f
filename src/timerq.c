/* timerq.c - deadline queue and timer thread; see timerq.h. */
#include "timerq.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct timerq {
	pthread_mutex_t lock;
	pthread_cond_t wake;    /* signalled when the timer thread must look */
	pthread_t thread;
	struct heap heap;       /* pending entries, by deadline */
	uint64_t slack_ns;
	uint64_t wake_at;       /* when the sleeping thread will look next */
	size_t firing;          /* detached entries whose callbacks still run */
	bool closed;            /* timerq_close(): no more entries */
	bool stop;
};

#define NEVER UINT64_MAX

uint64_t timerq_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct timerq_entry *entry_of(struct heap_node *node)
{
	return heap_entry(node, struct timerq_entry, node);
}

/* Detach every entry with a deadline at or before `limit`, in firing
 * order.  Returns the head of the list and sets *count.  Lock held. */
static struct timerq_entry *detach_due(timerq *q, uint64_t limit, size_t *count)
{
	struct timerq_entry *head = NULL;
	struct timerq_entry **tail = &head;

	*count = 0;
	while (heap_count(&q->heap) > 0 && heap_min_key(&q->heap) <= limit) {
		struct timerq_entry *e = entry_of(heap_pop(&q->heap));

		e->pending = false;
		e->next = NULL;
		*tail = e;
		tail = &e->next;
		(*count)++;
	}
	q->firing += *count;
	return head;
}

/* Fire a detached list, lock NOT held, then account for it. */
static void fire_list(timerq *q, struct timerq_entry *e, size_t count,
		      uint64_t now, enum timerq_reason reason)
{
	while (e != NULL) {
		/* Read the link first: after its callback the entry may be
		 * gone. */
		struct timerq_entry *next = e->next;

		e->cb(e, now, reason);
		e = next;
	}
	pthread_mutex_lock(&q->lock);
	q->firing -= count;
	pthread_mutex_unlock(&q->lock);
}

static void to_timespec(uint64_t ns, struct timespec *ts)
{
	ts->tv_sec = (time_t)(ns / 1000000000u);
	ts->tv_nsec = (long)(ns % 1000000000u);
}

static void *timer_thread(void *arg)
{
	timerq *q = arg;

	pthread_mutex_lock(&q->lock);
	while (!q->stop) {
		uint64_t now = timerq_now();
		struct timerq_entry *batch;
		size_t count;

		batch = detach_due(q, now, &count);
		if (batch != NULL) {
			pthread_mutex_unlock(&q->lock);
			fire_list(q, batch, count, now, TIMERQ_EXPIRED);
			pthread_mutex_lock(&q->lock);
			continue;
		}

		if (heap_count(&q->heap) == 0) {
			q->wake_at = NEVER;
			pthread_cond_wait(&q->wake, &q->lock);
		} else {
			uint64_t key = heap_min_key(&q->heap);
			struct timespec ts;

			q->wake_at = key + q->slack_ns;
			if (q->wake_at < key) /* overflow */
				q->wake_at = NEVER - 1;
			to_timespec(q->wake_at, &ts);
			pthread_cond_timedwait(&q->wake, &q->lock, &ts);
		}
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

int timerq_create(timerq **out, uint64_t slack_ns, size_t capacity)
{
	pthread_condattr_t attr;
	timerq *q;
	int err;

	q = calloc(1, sizeof(*q));
	if (q == NULL)
		return ENOMEM;
	err = heap_init(&q->heap, capacity);
	if (err != 0)
		goto fail_free;
	q->slack_ns = slack_ns;
	q->wake_at = NEVER;

	err = pthread_mutex_init(&q->lock, NULL);
	if (err != 0)
		goto fail_free;
	err = pthread_condattr_init(&attr);
	if (err != 0)
		goto fail_mutex;
	err = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (err == 0)
		err = pthread_cond_init(&q->wake, &attr);
	pthread_condattr_destroy(&attr);
	if (err != 0)
		goto fail_mutex;
	err = pthread_create(&q->thread, NULL, timer_thread, q);
	if (err != 0)
		goto fail_cond;

	*out = q;
	return 0;

fail_cond:
	pthread_cond_destroy(&q->wake);
fail_mutex:
	pthread_mutex_destroy(&q->lock);
fail_free:
	heap_destroy(&q->heap);
	free(q);
	return err;
}

void timerq_set_slack(timerq *q, uint64_t slack_ns)
{
	pthread_mutex_lock(&q->lock);
	q->slack_ns = slack_ns;
	pthread_cond_signal(&q->wake);
	pthread_mutex_unlock(&q->lock);
}

bool timerq_add(timerq *q, struct timerq_entry *entry, uint64_t deadline_ns,
		timerq_cb cb)
{
	entry->cb = cb;
	entry->next = NULL;
	pthread_mutex_lock(&q->lock);
	assert(!entry->pending);
	if (q->closed || !heap_insert(&q->heap, &entry->node, deadline_ns)) {
		pthread_mutex_unlock(&q->lock);
		return false;
	}
	entry->pending = true;
	/* Wake the thread only when this entry is due before it would look
	 * anyway: most deadlines land behind the earliest one, so most adds
	 * cost no wake-up. */
	if (deadline_ns < q->wake_at - (q->wake_at == NEVER ? 0 : q->slack_ns))
		pthread_cond_signal(&q->wake);
	pthread_mutex_unlock(&q->lock);
	return true;
}

bool timerq_cancel(timerq *q, struct timerq_entry *entry)
{
	bool was_pending;

	pthread_mutex_lock(&q->lock);
	was_pending = entry->pending;
	if (was_pending) {
		heap_remove(&q->heap, &entry->node);
		entry->pending = false;
	}
	pthread_mutex_unlock(&q->lock);
	return was_pending;
}

size_t timerq_close(timerq *q)
{
	struct timerq_entry *batch;
	size_t count;

	pthread_mutex_lock(&q->lock);
	q->closed = true;
	batch = detach_due(q, NEVER, &count);
	pthread_mutex_unlock(&q->lock);
	fire_list(q, batch, count, timerq_now(), TIMERQ_FLUSHED);
	return count;
}

size_t timerq_pending(timerq *q)
{
	size_t n;

	pthread_mutex_lock(&q->lock);
	n = heap_count(&q->heap) + q->firing;
	pthread_mutex_unlock(&q->lock);
	return n;
}

void timerq_destroy(timerq *q)
{
	pthread_mutex_lock(&q->lock);
	q->stop = true;
	pthread_cond_signal(&q->wake);
	pthread_mutex_unlock(&q->lock);
	pthread_join(q->thread, NULL);
	pthread_cond_destroy(&q->wake);
	pthread_mutex_destroy(&q->lock);
	heap_destroy(&q->heap);
	free(q);
}
