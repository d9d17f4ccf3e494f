/* live.c - recent requests, drawn delays and the dashboard snapshot; see
 * live.h.
 *
 * The ring is a plain array behind a mutex held for a few stores: one
 * record per answered request costs an uncontended lock at most.  The
 * delay histogram is relaxed atomics; its geometry (where the buckets
 * are) follows the model, so a draw racing a model switch may land in a
 * bucket of the old geometry: one count, on SIGHUP only.
 */
#include "live.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "rules.h"

#define ADD(x, v) atomic_fetch_add_explicit(&(x), (v), memory_order_relaxed)
#define GET(x) atomic_load_explicit(&(x), memory_order_relaxed)
#define SET(x, v) atomic_store_explicit(&(x), (v), memory_order_relaxed)

struct live {
	pthread_mutex_t lock;               /* the ring and the model */
	struct live_entry ring[LIVE_RING_SIZE];
	uint64_t recorded;                  /* ever; the next slot is % size */
	struct delay_model model;           /* under lock */

	/* The delay histogram: [lo_us, hi_us] in LIVE_DELAY_BUCKETS of
	 * width_ns each, plus what fell outside. */
	_Atomic uint64_t lo_us;
	_Atomic uint64_t hi_us;
	_Atomic uint64_t width_ns;
	_Atomic uint64_t counts[LIVE_DELAY_BUCKETS];
	_Atomic uint64_t below;
	_Atomic uint64_t above;

	pthread_mutex_t snap_lock;          /* the shared snapshot; before lock */
	char *snap;                         /* NULL until the first render */
	size_t snap_len;
	uint64_t snap_ns;                   /* when it was rendered */
};

/* ---- the delay model's geometry ----------------------------------------- */

/* The edges of the histogram for model m, in us: where its draws fall
 * (delay_range()); a single value is a spike in the middle of the
 * chart. */
static void geometry(const struct delay_model *m, uint64_t *lo, uint64_t *hi)
{
	delay_range(m, lo, hi);
	if (*hi <= *lo) {
		uint64_t a = *lo;

		*lo = a / 2;
		*hi = a + a / 2;
	}
	if (*hi <= *lo)
		*hi = *lo + 1000; /* a zero delay: a 1 ms wide chart */
}

/* Point the histogram at model m and empty it.  Caller holds the lock. */
static void reset_histogram(struct live *l, const struct delay_model *m)
{
	uint64_t lo, hi;

	geometry(m, &lo, &hi);
	SET(l->lo_us, lo);
	SET(l->hi_us, hi);
	SET(l->width_ns, (hi - lo) * 1000u / LIVE_DELAY_BUCKETS);
	for (size_t i = 0; i < LIVE_DELAY_BUCKETS; i++)
		SET(l->counts[i], 0);
	SET(l->below, 0);
	SET(l->above, 0);
}

/* ---- life cycle and recording ------------------------------------------ */

struct live *live_create(const struct delay_model *m)
{
	struct live *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return NULL;
	if (pthread_mutex_init(&l->lock, NULL) != 0) {
		free(l);
		return NULL;
	}
	if (pthread_mutex_init(&l->snap_lock, NULL) != 0) {
		pthread_mutex_destroy(&l->lock);
		free(l);
		return NULL;
	}
	l->model = *m;
	delay_model_ref(&l->model);
	reset_histogram(l, m);
	return l;
}

void live_destroy(struct live *l)
{
	if (l == NULL)
		return;
	free(l->snap);
	delay_model_unref(&l->model);
	pthread_mutex_destroy(&l->snap_lock);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

void live_set_model(struct live *l, const struct delay_model *m)
{
	if (l == NULL)
		return;
	pthread_mutex_lock(&l->lock);
	if (!delay_model_equal(&l->model, m)) {
		delay_model_unref(&l->model);
		l->model = *m;
		delay_model_ref(&l->model);
		reset_histogram(l, m);
	}
	pthread_mutex_unlock(&l->lock);
}

void live_delay_drawn(struct live *l, uint64_t us)
{
	uint64_t lo, hi, w, i;

	if (l == NULL)
		return;
	lo = GET(l->lo_us);
	hi = GET(l->hi_us);
	w = GET(l->width_ns);
	if (us < lo) {
		ADD(l->below, 1);
		return;
	}
	if (us > hi || w == 0) {
		ADD(l->above, 1);
		return;
	}
	i = (us - lo) * 1000u / w;
	if (i >= LIVE_DELAY_BUCKETS)
		i = LIVE_DELAY_BUCKETS - 1; /* hi itself, and rounding */
	ADD(l->counts[i], 1);
}

void live_record(struct live *l, enum live_route route, unsigned status,
		 uint64_t arrived_ns, uint64_t answered_ns)
{
	struct live_entry *e;

	if (l == NULL)
		return;
	pthread_mutex_lock(&l->lock);
	e = &l->ring[l->recorded % LIVE_RING_SIZE];
	e->route = route;
	e->status = status;
	e->arrived_ns = arrived_ns;
	e->answered_ns = answered_ns;
	l->recorded++;
	pthread_mutex_unlock(&l->lock);
}

size_t live_recent(struct live *l, struct live_entry *out, size_t max)
{
	size_t n, first;

	pthread_mutex_lock(&l->lock);
	n = l->recorded < LIVE_RING_SIZE ? (size_t)l->recorded : LIVE_RING_SIZE;
	if (n > max)
		n = max;
	first = (size_t)(l->recorded - n); /* the oldest of the newest n */
	for (size_t i = 0; i < n; i++)
		out[i] = l->ring[(first + i) % LIVE_RING_SIZE];
	pthread_mutex_unlock(&l->lock);
	return n;
}

/* ---- the snapshot ------------------------------------------------------ */

/* Add `value` under `key` to object o; false when out of memory. */
static bool put(json_t *o, const char *key, json_t *value)
{
	return value != NULL && json_object_set_new(o, key, value) == 0;
}

static bool append(json_t *a, json_t *value)
{
	return value != NULL && json_array_append_new(a, value) == 0;
}

/* Signed milliseconds from `now_ns` to `t_ns`. */
static double ms_since(uint64_t t_ns, uint64_t now_ns)
{
	return t_ns >= now_ns ? (double)(t_ns - now_ns) / 1e6
			      : -(double)(now_ns - t_ns) / 1e6;
}

/* `j` when everything went into it (ok), else NULL with j released. */
static json_t *kept(json_t *j, bool ok)
{
	if (!ok) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static json_t *delays_json(struct live *l, const struct delay_model *m)
{
	json_t *o = json_object(), *counts = json_array(), *expected = json_array();
	uint64_t lo = GET(l->lo_us), hi = GET(l->hi_us), w = GET(l->width_ns);
	uint64_t below = GET(l->below), above = GET(l->above), total;
	uint64_t c[LIVE_DELAY_BUCKETS];
	bool ok = o != NULL && counts != NULL && expected != NULL;

	total = below + above;
	for (size_t i = 0; i < LIVE_DELAY_BUCKETS; i++) {
		c[i] = GET(l->counts[i]);
		total += c[i];
	}
	for (size_t i = 0; ok && i < LIVE_DELAY_BUCKETS; i++) {
		double a = (double)lo + (double)(w * i) / 1000.0;
		double b = i + 1 == LIVE_DELAY_BUCKETS ? (double)hi
						       : a + (double)w / 1000.0;
		double p = delay_cdf(m, b, i + 1 == LIVE_DELAY_BUCKETS) -
			   delay_cdf(m, a, false);

		ok = append(counts, json_integer((json_int_t)c[i])) &&
		     append(expected, json_real(p * (double)total));
	}
	ok = ok && put(o, "lo_ms", json_real((double)lo / 1000.0)) &&
	     put(o, "width_ms", json_real((double)w / 1e6)) &&
	     put(o, "counts", json_incref(counts)) &&
	     put(o, "expected", json_incref(expected)) &&
	     put(o, "below", json_integer((json_int_t)below)) &&
	     put(o, "above", json_integer((json_int_t)above)) &&
	     put(o, "total", json_integer((json_int_t)total));
	json_decref(counts);
	json_decref(expected);
	return kept(o, ok);
}

static json_t *lateness_json(const struct live_lateness *late)
{
	json_t *o = json_object(), *bounds = json_array(), *counts = json_array();
	bool ok = o != NULL && bounds != NULL && counts != NULL;

	for (size_t i = 0; ok && late != NULL && i <= late->n; i++) {
		ok = (i == late->n || append(bounds, json_real(late->bounds_s[i] * 1e3))) &&
		     append(counts, json_integer((json_int_t)late->counts[i]));
	}
	ok = ok && put(o, "bounds_ms", json_incref(bounds)) &&
	     put(o, "counts", json_incref(counts));
	json_decref(bounds);
	json_decref(counts);
	return kept(o, ok);
}

static json_t *recent_json(struct live *l, uint64_t now_ns)
{
	static const char *const routes[] = {
		[LIVE_ROUTE_USER] = "/user",
		[LIVE_ROUTE_USERS] = "/users",
	};
	struct live_entry *e = malloc(LIVE_RING_SIZE * sizeof(*e));
	json_t *a = json_array();
	size_t n;
	bool ok = e != NULL && a != NULL;

	n = ok ? live_recent(l, e, LIVE_RING_SIZE) : 0;
	for (size_t i = 0; ok && i < n; i++) {
		json_t *o = json_object();

		ok = o != NULL && append(a, o) &&
		     put(o, "route", json_string(routes[e[i].route])) &&
		     put(o, "status", json_integer(e[i].status)) &&
		     put(o, "start_ms", json_real(ms_since(e[i].arrived_ns, now_ns))) &&
		     put(o, "end_ms", json_real(ms_since(e[i].answered_ns, now_ns)));
	}
	free(e);
	return kept(a, ok);
}

/* The spans in the last LIVE_PHASE_SPAN_MS during which each scheduled
 * rule was in its window (by the rules in force: a set's windows start
 * when it was put in force), each rule's latest, at most LIVE_PHASES_MAX
 * in all: [{"rule", "start_ms", "end_ms"}], times as in "recent". */
static json_t *phases_json(const struct metrics_gauges *g, uint64_t now_ns)
{
	const uint64_t span = (uint64_t)LIVE_PHASE_SPAN_MS * 1000000u;
	uint64_t from = now_ns > span ? now_ns - span : 0;
	struct rule_window w[LIVE_PHASES_MAX];
	json_t *a = json_array();
	size_t used = 0;
	bool ok = a != NULL;

	for (size_t i = 0; ok && i < rules_count(g->rules) && used < LIVE_PHASES_MAX; i++) {
		size_t n = rules_windows(g->rules, i, from, now_ns, w, LIVE_PHASES_MAX - used);

		used += n;
		for (size_t k = 0; ok && k < n; k++) {
			json_t *o = json_object();

			ok = o != NULL && append(a, o) &&
			     put(o, "rule", json_integer((json_int_t)i)) &&
			     put(o, "start_ms", json_real(ms_since(w[k].from_ns, now_ns))) &&
			     put(o, "end_ms", json_real(ms_since(w[k].to_ns, now_ns)));
		}
	}
	return kept(a, ok);
}

char *live_render_json(struct live *l, const struct metrics_gauges *g,
		       uint64_t requests_total, const struct live_lateness *late,
		       uint64_t now_ns, size_t *len)
{
	struct delay_model m;
	char model[DELAY_TEXT_MAX];
	json_t *o = json_object();
	char *text = NULL;
	bool ok;

	pthread_mutex_lock(&l->lock);
	m = l->model;
	delay_model_ref(&m); /* live_set_model may drop l->model's */
	pthread_mutex_unlock(&l->lock);
	delay_model_describe(&m, model, sizeof(model));

	ok = o != NULL && put(o, "now_ms", json_integer((json_int_t)(now_ns / 1000000u))) &&
	     put(o, "waiting", json_integer((json_int_t)g->waiting)) &&
	     put(o, "in_flight", json_integer((json_int_t)g->in_flight)) &&
	     put(o, "connections", json_integer((json_int_t)g->connections)) &&
	     put(o, "ready", json_boolean(g->ready)) &&
	     put(o, "in_service", json_integer((json_int_t)g->in_service)) &&
	     put(o, "queued", json_integer((json_int_t)g->queued)) &&
	     put(o, "rejected", json_integer((json_int_t)g->rejected)) &&
	     put(o, "requests_total", json_integer((json_int_t)requests_total)) &&
	     put(o, "model", json_string(model)) &&
	     put(o, "clamp_ms", json_integer(m.clamp_ms)) &&
	     put(o, "delays", delays_json(l, &m)) &&
	     put(o, "lateness", lateness_json(late)) &&
	     put(o, "recent", recent_json(l, now_ns)) &&
	     put(o, "phases", phases_json(g, now_ns));
	if (ok)
		text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(7));
	json_decref(o);
	delay_model_unref(&m);
	if (text != NULL)
		*len = strlen(text);
	return text;
}

char *live_snapshot(struct live *l, const struct metrics_gauges *g,
		    uint64_t requests_total, const struct live_lateness *late,
		    uint64_t now_ns, size_t *len)
{
	const uint64_t max_age = (uint64_t)LIVE_SNAPSHOT_MAX_AGE_MS * 1000000u;
	char *copy = NULL;

	pthread_mutex_lock(&l->snap_lock);
	if (l->snap == NULL || now_ns < l->snap_ns || now_ns - l->snap_ns >= max_age) {
		size_t n = 0;
		char *text = live_render_json(l, g, requests_total, late, now_ns, &n);

		if (text == NULL)
			goto out;
		free(l->snap);
		l->snap = text;
		l->snap_len = n;
		l->snap_ns = now_ns;
	}
	copy = malloc(l->snap_len + 1);
	if (copy != NULL) {
		memcpy(copy, l->snap, l->snap_len + 1);
		*len = l->snap_len;
	}
out:
	pthread_mutex_unlock(&l->snap_lock);
	return copy;
}
