/* live.h - what the live dashboard shows: recent requests, the delays
 * drawn so far, and one JSON snapshot of it all.
 *
 * Knows nothing of HTTP.  The request path calls live_record() once per
 * answered user request and live_delay_drawn() once per delay drawn from
 * the model; GET /live answers live_snapshot().  Recording is cheap (a
 * short mutex for the ring, relaxed atomics for the histogram) and
 * allocates nothing.  Rendering is bounded: a snapshot is rendered at most
 * once per LIVE_SNAPSHOT_MAX_AGE_MS and shared by every poller, so the
 * cost does not grow with the number of pages open.
 */
#ifndef USERD_LIVE_H
#define USERD_LIVE_H

#include <stddef.h>
#include <stdint.h>

#include "delay.h"
#include "metrics.h"

struct live;

/* How many completed requests the ring keeps. */
#define LIVE_RING_SIZE 256

/* Buckets of the drawn-delay histogram between its low and high edge
 * (values outside go to "below" and "above"). */
#define LIVE_DELAY_BUCKETS 40

/* How long one rendered snapshot is handed out before a new one. */
#define LIVE_SNAPSHOT_MAX_AGE_MS 100

/* How far back the snapshot's "phases" (the scheduled rules' windows)
 * reach, and most spans it gives in all. */
#define LIVE_PHASE_SPAN_MS 600000
#define LIVE_PHASES_MAX 64

/* What a recorded request was. */
enum live_route {
	LIVE_ROUTE_USER = 0, /* /user/<id> */
	LIVE_ROUTE_USERS,    /* /users?ids=... */
};

/* One completed request, times on CLOCK_MONOTONIC (timerq_now()). */
struct live_entry {
	enum live_route route;
	unsigned status;
	uint64_t arrived_ns;
	uint64_t answered_ns;
};

/* The timer-lateness histogram to show (metrics_lateness_buckets()):
 * counts[i] observations at or below bounds_s[i] and above the previous
 * bound, counts[n] above the last. */
struct live_lateness {
	const double *bounds_s;
	const uint64_t *counts; /* n + 1 of them */
	size_t n;
};

/* Create the recorder for delay model `m` (copied: it shapes the delay
 * histogram).  Returns NULL when out of memory. */
struct live *live_create(const struct delay_model *m);

/* Free it; NULL is a no-op. */
void live_destroy(struct live *l);

/* Switch to model `m` (e.g. on SIGHUP).  A model that draws differently
 * clears the delay histogram, so it never mixes two models; the same
 * model keeps it.  Thread-safe against the recording calls.  With l NULL
 * (no dashboard) this, live_delay_drawn() and live_record() do nothing. */
void live_set_model(struct live *l, const struct delay_model *m);

/* A delay of `us` microseconds was drawn from the model (not asked for
 * with ?delay=).  Lock-free, safe from any thread. */
void live_delay_drawn(struct live *l, uint64_t us);

/* A request completed: add it to the ring, dropping the oldest when it is
 * full.  Safe from any thread. */
void live_record(struct live *l, enum live_route route, unsigned status,
		 uint64_t arrived_ns, uint64_t answered_ns);

/* Copy the ring, oldest first, into out[0..max-1]; returns how many. */
size_t live_recent(struct live *l, struct live_entry *out, size_t max);

/* The snapshot the dashboard polls, as JSON:
 *   {"now_ms" (integer, CLOCK_MONOTONIC), "waiting", "in_flight", "connections", "ready",
 *    "in_service", "queued", "rejected" (--capacity's slots taken, requests
 *    waiting for one, and turned away so far),
 *    "requests_total", "model", "delays": {"lo_ms", "width_ms", "counts",
 *    "below", "above", "total", "expected"}, "lateness": {"bounds_ms",
 *    "counts"}, "recent": [{"route", "status", "start_ms", "end_ms"}],
 *    "phases": [{"rule", "start_ms", "end_ms"}]}
 * "expected" is what the model predicts for each delay bucket given
 * "total" draws; "recent" is oldest first, its times in ms relative to
 * `now_ns` (so <= 0); "phases" are the spans during which a scheduled
 * rule of g->rules was in its window, rule by rule, each in order, times
 * as in "recent" (end_ms up to 0: the one in force now ends at 0).  `late` may be NULL (no lateness histogram).
 * Returns a malloc'd NUL-terminated string with its length in *len, or
 * NULL when out of memory. */
char *live_render_json(struct live *l, const struct metrics_gauges *g,
		       uint64_t requests_total, const struct live_lateness *late,
		       uint64_t now_ns, size_t *len);

/* What GET /live answers: a copy of the snapshot last rendered, if it was
 * rendered less than LIVE_SNAPSHOT_MAX_AGE_MS before `now_ns`; otherwise
 * live_render_json() of the arguments, kept for the next callers.  One
 * render at a time; callers meanwhile wait for it and share it.  Returns
 * a malloc'd NUL-terminated string (length in *len) for the caller to
 * free, or NULL when out of memory. */
char *live_snapshot(struct live *l, const struct metrics_gauges *g,
		    uint64_t requests_total, const struct live_lateness *late,
		    uint64_t now_ns, size_t *len);

#endif
