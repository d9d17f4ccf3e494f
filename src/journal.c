/* journal.c - the last requests answered; see journal.h. */
#include "journal.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"

_Static_assert(sizeof(struct journal_entry) <= JOURNAL_ENTRY_BYTES,
	       "JOURNAL_ENTRY_BYTES, which --help states, is too small");

struct journal {
	pthread_mutex_t lock;
	size_t capacity;
	size_t count;      /* entries held */
	size_t next;       /* where the next one goes */
	struct journal_entry *ring;
};

struct journal *journal_create(size_t capacity)
{
	struct journal *j;

	assert(capacity >= 1 && capacity <= JOURNAL_MAX);
	j = calloc(1, sizeof(*j));
	if (j == NULL)
		return NULL;
	j->ring = calloc(capacity, sizeof(*j->ring));
	if (j->ring == NULL) {
		free(j);
		return NULL;
	}
	j->capacity = capacity;
	pthread_mutex_init(&j->lock, NULL);
	return j;
}

void journal_destroy(struct journal *j)
{
	if (j == NULL)
		return;
	pthread_mutex_destroy(&j->lock);
	free(j->ring);
	free(j);
}

void journal_add(struct journal *j, const struct journal_entry *e)
{
	pthread_mutex_lock(&j->lock);
	j->ring[j->next] = *e;
	j->next = (j->next + 1) % j->capacity;
	if (j->count < j->capacity)
		j->count++;
	pthread_mutex_unlock(&j->lock);
}

void journal_clear(struct journal *j)
{
	pthread_mutex_lock(&j->lock);
	j->count = 0;
	pthread_mutex_unlock(&j->lock);
}

/* Is `id` one of the comma-separated ids in `ids`? */
static bool has_id(const char *ids, uint64_t id)
{
	const char *p = ids;

	while (*p != '\0') {
		char *end;
		unsigned long long v = strtoull(p, &end, 10);

		if (end != p && v == id && (*end == ',' || *end == '\0'))
			return true;
		p = strchr(p, ',');
		if (p == NULL)
			break;
		p++;
	}
	return false;
}

bool journal_matches(const struct journal_entry *e, const struct journal_filter *f)
{
	if (f->route != NULL) {
		size_t len = strlen(f->route);

		if (strncmp(e->path, f->route, len) != 0 ||
		    (e->path[len] != '\0' && e->path[len] != '/'))
			return false;
	}
	if (f->has_id && !has_id(e->ids, f->id))
		return false;
	if (f->status != 0 && e->status != f->status)
		return false;
	if (f->fault != NULL) {
		size_t len = strlen(f->fault);

		if (strcmp(f->fault, "none") == 0 ? e->fault[0] != '\0'
		    : strncmp(e->fault, f->fault, len) != 0 ||
		      (e->fault[len] != '\0' && e->fault[len] != ':'))
			return false;
	}
	return !f->has_since || e->arrived_us >= f->since_us;
}

/* The k-th entry held, oldest first. */
static const struct journal_entry *held(const struct journal *j, size_t k)
{
	return &j->ring[(j->next + j->capacity - j->count + k) % j->capacity];
}

/* One of the entries a query keeps: its place in the ring, in a min-heap
 * by seq (heap.h) while the last ones to arrive are picked. */
struct pick {
	struct heap_node node;
	size_t at;
};

static int by_seq(const void *a, const void *b)
{
	const struct journal_entry *x = a, *y = b;

	return (x->seq > y->seq) - (x->seq < y->seq);
}

bool journal_query(struct journal *j, const struct journal_filter *f,
		   struct journal_entry **out, size_t *n, size_t *total)
{
	struct journal_entry *got = NULL;
	struct pick *picks = NULL;
	struct heap latest = {0};
	size_t matching = 0, kept = 0, room = 0;

	/* Room for the most the answer can hold, before the lock. */
	if (out != NULL) {
		room = f->limit > 0 && f->limit < j->capacity ? f->limit : j->capacity;
		got = malloc(room * sizeof(*got));
		picks = malloc(room * sizeof(*picks));
		/* A heap only when the limit may leave some out. */
		if (got == NULL || picks == NULL ||
		    (room < j->capacity && heap_init(&latest, room) != 0)) {
			free(got);
			free(picks);
			return false;
		}
	}
	pthread_mutex_lock(&j->lock);
	for (size_t k = 0; k < j->count; k++) {
		const struct journal_entry *e = held(j, k);
		struct pick *p;

		if (!journal_matches(e, f))
			continue;
		matching++;
		if (got == NULL)
			continue;
		if (room >= j->count) {
			picks[kept++].at = (size_t)(e - j->ring); /* room for all */
			continue;
		}
		/* The last `room` to arrive: the earliest of them on top,
		 * replaced by one that arrived later. */
		if (kept < room) {
			p = &picks[kept++];
		} else if (e->seq > heap_min_key(&latest)) {
			p = heap_entry(heap_pop(&latest), struct pick, node);
		} else {
			continue;
		}
		p->at = (size_t)(e - j->ring);
		heap_insert(&latest, &p->node, e->seq);
	}
	for (size_t i = 0; i < kept; i++)
		got[i] = j->ring[picks[i].at];
	pthread_mutex_unlock(&j->lock);
	heap_destroy(&latest);
	free(picks);
	if (kept == 0) {
		free(got);
		got = NULL;
	} else {
		qsort(got, kept, sizeof(*got), by_seq);
	}
	if (out != NULL)
		*out = got;
	if (n != NULL)
		*n = kept;
	*total = matching;
	return true;
}
