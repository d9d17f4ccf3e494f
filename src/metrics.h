/* metrics.h - counters, gauges and histograms, and their Prometheus text
 * exposition (format 0.0.4).
 *
 * Recording is lock-free (relaxed atomics), safe from any thread, and
 * allocates nothing.  Knows nothing of HTTP: callers name routes and
 * status codes.
 */
#ifndef USERD_METRICS_H
#define USERD_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct metrics;

/* The routes requests are counted under. */
enum metrics_route {
	METRICS_ROUTE_USER = 0, /* /user/<id> */
	METRICS_ROUTE_USERS,    /* /users */
	METRICS_ROUTE_OTHER,    /* anything else a client asked for (404s) */
	METRICS_ROUTE_COUNT,
};

/* Values read at render time from their owners. */
struct metrics_gauges {
	uint64_t waiting;     /* requests waiting on the timer now */
	uint64_t in_flight;   /* requests accepted and not yet answered */
	uint64_t connections; /* open client connections */
	int ready;            /* 1 while accepting work, 0 while draining */
};

/* The versions reported by userd_build_info. */
struct metrics_build {
	const char *version;       /* userd's */
	const char *libmicrohttpd;
	const char *jansson;
};

/* Create the registry (the strings of `build` are copied).  Returns NULL
 * when out of memory. */
struct metrics *metrics_create(const struct metrics_build *build);

void metrics_destroy(struct metrics *m);

/* A request to `route` finished with `status` after `duration_ns`. */
void metrics_request(struct metrics *m, enum metrics_route route,
		     unsigned status, uint64_t duration_ns);

/* A timer fired `lateness_ns` after its deadline. */
void metrics_lateness(struct metrics *m, uint64_t lateness_ns);

/* A client went away while its request waited. */
void metrics_disconnect(struct metrics *m);

/* A 503 was injected (--error-rate or ?fail=1). */
void metrics_fault(struct metrics *m);

/* Render everything as Prometheus text.  Returns a malloc'd,
 * NUL-terminated string (its length in *len) for the caller to free, or
 * NULL when out of memory. */
char *metrics_render(struct metrics *m, const struct metrics_gauges *g,
		     size_t *len);

/* The value below which `q` (0..1) of the lateness observations fall,
 * estimated from the histogram as Prometheus' histogram_quantile() does;
 * 0 when there are none.  For tests and benchmarks. */
double metrics_lateness_quantile(struct metrics *m, double q);

/* User requests answered so far, every route and status (the sum of
 * userd_requests_total). */
uint64_t metrics_requests_total(struct metrics *m);

/* The timer-lateness histogram: sets *bounds_s to its upper bounds in
 * seconds (static, ascending) and returns how many there are, n; copies
 * n + 1 per-bucket (not cumulative) counts into counts, the last one
 * above every bound.  counts must have room for METRICS_LATENESS_MAX + 1. */
#define METRICS_LATENESS_MAX 32
size_t metrics_lateness_buckets(struct metrics *m, const double **bounds_s,
				uint64_t *counts);

#endif
