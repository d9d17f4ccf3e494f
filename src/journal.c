/* journal.c - the last requests answered; see journal.h. */
#include "journal.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* A min-heap of ring indices by their entries' seq: the last `room` to
 * arrive among those seen so far, the earliest of them on top. */
struct latest {
	const struct journal_entry *ring;
	size_t *at, n, room;
};

static bool before(const struct latest *h, size_t a, size_t b)
{
	return h->ring[h->at[a]].seq < h->ring[h->at[b]].seq;
}

static void swap_at(struct latest *h, size_t a, size_t b)
{
	size_t t = h->at[a];

	h->at[a] = h->at[b];
	h->at[b] = t;
}

static void sift_down(struct latest *h, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;

		if (l < h->n && before(h, l, m))
			m = l;
		if (l + 1 < h->n && before(h, l + 1, m))
			m = l + 1;
		if (m == i)
			return;
		swap_at(h, i, m);
		i = m;
	}
}

/* Offer ring index `k`: kept while there is room, else in place of the
 * earliest when it arrived later. */
static void offer(struct latest *h, size_t k)
{
	if (h->n < h->room) {
		size_t i = h->n++;

		h->at[i] = k;
		while (i > 0 && before(h, i, (i - 1) / 2)) {
			swap_at(h, i, (i - 1) / 2);
			i = (i - 1) / 2;
		}
	} else if (h->ring[k].seq > h->ring[h->at[0]].seq) {
		h->at[0] = k;
		sift_down(h, 0);
	}
}

static int by_seq(const void *a, const void *b)
{
	const struct journal_entry *x = a, *y = b;

	return (x->seq > y->seq) - (x->seq < y->seq);
}

bool journal_query(struct journal *j, const struct journal_filter *f,
		   struct journal_entry **out, size_t *n, size_t *total)
{
	struct journal_entry *got = NULL;
	struct latest h = {.ring = j->ring};
	size_t matching = 0;

	/* Room for the most the answer can hold, before the lock. */
	if (out != NULL) {
		h.room = f->limit > 0 && f->limit < j->capacity ? f->limit : j->capacity;
		got = malloc(h.room * sizeof(*got));
		h.at = malloc(h.room * sizeof(*h.at));
		if (got == NULL || h.at == NULL) {
			free(got);
			free(h.at);
			return false;
		}
	}
	pthread_mutex_lock(&j->lock);
	for (size_t k = 0; k < j->count; k++) {
		const struct journal_entry *e = held(j, k);

		if (!journal_matches(e, f))
			continue;
		matching++;
		if (got == NULL)
			continue;
		if (h.room >= j->count)
			h.at[h.n++] = (size_t)(e - j->ring); /* room for all */
		else
			offer(&h, (size_t)(e - j->ring));
	}
	for (size_t i = 0; i < h.n; i++)
		got[i] = j->ring[h.at[i]];
	pthread_mutex_unlock(&j->lock);
	free(h.at);
	if (h.n == 0) {
		free(got);
		got = NULL;
	} else {
		qsort(got, h.n, sizeof(*got), by_seq);
	}
	if (out != NULL)
		*out = got;
	if (n != NULL)
		*n = h.n;
	*total = matching;
	return true;
}
