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

#include "delay.h"
#include "fault.h"

struct metrics;
struct rules;

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
	const struct delay_model *delay; /* the model in force; NULL: none shown */
	uint64_t in_service;  /* --capacity's slots taken */
	uint64_t queued;      /* requests waiting for a slot */
	uint64_t rejected;    /* turned away by the queue so far (for the */
			      /* live page; /metrics counts its own) */
	uint64_t lead_ns;     /* how early drawn deadlines are aimed (aim.h) */
	const struct rules *rules; /* the rules in force; NULL: none */
	uint64_t now_ns;      /* CLOCK_MONOTONIC: which rules are active */
};

/* The versions reported by userd_build_info. */
struct metrics_build {
	const char *version;       /* userd's */
	const char *libmicrohttpd;
	const char *jansson;
	const char *libmicrohttpd_file; /* the file libmicrohttpd was loaded from */
};

/* Create the registry (the strings of `build`, none NULL, are copied;
 * libmicrohttpd_file, escaped as a label value, is cut to 511 bytes).  Returns NULL when out of
 * memory. */
struct metrics *metrics_create(const struct metrics_build *build);

void metrics_destroy(struct metrics *m);

/* A request to `route` finished with `status` after `duration_ns`. */
void metrics_request(struct metrics *m, enum metrics_route route,
		     unsigned status, uint64_t duration_ns);

/* A timer fired `lateness_ns` after the time it was set for (its aim,
 * aim.h). */
void metrics_lateness(struct metrics *m, uint64_t lateness_ns);

/* A waiting request's answer was handed to the kernel `lateness_ns`
 * after its timer's aim. */
void metrics_response_lateness(struct metrics *m, uint64_t lateness_ns);

/* A client went away while its request waited. */
void metrics_disconnect(struct metrics *m);

/* Why --capacity's queue turned a request away. */
enum metrics_reject {
	METRICS_REJECT_FULL = 0, /* the queue was full (--queue) */
	METRICS_REJECT_TIMEOUT,  /* it waited --queue-timeout */
	METRICS_REJECTS,
};

/* A request's wait for a slot ended after `wait_ns` (0: it found one). */
void metrics_queue_wait(struct metrics *m, uint64_t wait_ns);

/* The queue turned a request away. */
void metrics_queue_rejected(struct metrics *m, enum metrics_reject reason);

/* Requests the queue turned away so far, every reason. */
uint64_t metrics_queue_rejected_total(struct metrics *m);

/* A fault of `kind` was injected (not FAULT_NONE). */
void metrics_fault(struct metrics *m, enum fault_kind kind);

/* What changed the settings while running. */
enum metrics_change_source {
	METRICS_CHANGE_RELOAD = 0, /* SIGHUP */
	METRICS_CHANGE_ADMIN,      /* the control API */
	METRICS_CHANGE_RESET,      /* the control API's reset */
	METRICS_CHANGE_SOURCES,
};

/* The settings were changed by `source`. */
void metrics_config_change(struct metrics *m, enum metrics_change_source source);

/* Render everything as Prometheus text.  Returns a malloc'd,
 * NUL-terminated string (its length in *len) for the caller to free, or
 * NULL when out of memory. */
char *metrics_render(struct metrics *m, const struct metrics_gauges *g,
		     size_t *len);

/* The request counts of `route` by status: sets *labels to the labels
 * ("200", ..., "closed", "other") and fills counts[] (room for
 * METRICS_CODES_MAX); returns how many. */
#define METRICS_CODES_MAX 16
size_t metrics_request_counts(struct metrics *m, enum metrics_route route,
			      const char *const **labels, uint64_t *counts);

/* The route's label ("/user", "/users", "other"). */
const char *metrics_route_name(enum metrics_route route);

/* Faults of `kind` injected so far. */
uint64_t metrics_faults(struct metrics *m, enum fault_kind kind);

/* The value below which `q` (0..1) of the timer lateness observations
 * (with `response`, of the response lateness) fall,
 * estimated from the histogram as Prometheus' histogram_quantile() does;
 * 0 when there are none.  For tests and benchmarks. */
double metrics_lateness_quantile(struct metrics *m, double q, bool response);

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
