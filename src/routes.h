/* routes.h - what each route answers, knowing nothing of libmicrohttpd.
 *
 * The HTTP layer hands over a complete request: its method, path, a way
 * to read its query, the connection's random stream and the settings in
 * force.  routes_dispatch() finds the route in one table (a new route is
 * one function and one row) and fills in an answer: a shared one (see
 * enum route_canned) or a body of its own, and how long to wait before
 * it is sent.  The HTTP layer does the waiting and the sending.
 */
#ifndef USERD_ROUTES_H
#define USERD_ROUTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "settings.h"
#include "fault.h"
#include "live.h"
#include "metrics.h"
#include "rng.h"
#include "rules.h"

/* Answers that are the same every time: the HTTP layer builds each once
 * (routes_canned) and shares it. */
enum route_canned {
	CANNED_BAD_TARGET = 0, /* a raw NUL byte in the request target */
	CANNED_BAD_ID,
	CANNED_NOT_FOUND,
	CANNED_METHOD,         /* with Allow: GET, HEAD */
	CANNED_DRAINING,       /* with Connection: close */
	CANNED_FAULT,
	CANNED_INTERNAL,
	CANNED_HEALTHY,
	CANNED_READY,
	CANNED_NOT_READY,
	CANNED_PAGE,           /* the live page */
	CANNED_BUSY,           /* 503 with Retry-After: 1 (--capacity's queue) */
	CANNED_TOO_MANY,       /* the same as 429 (--reject-status 429) */
	CANNED_COUNT,
};

/* One shared answer: status, body and headers. */
struct route_canned_answer {
	unsigned status;
	const char *body;
	size_t body_len;
	const char *content_type;
	const char *headers[5][2]; /* extra name/value pairs, NULL-ended */
};

/* Fill *out with shared answer `which`; a JSON body is rendered into buf
 * (of buflen bytes).  Returns false when it does not fit. */
bool routes_canned(enum route_canned which, struct route_canned_answer *out,
		   char *buf, size_t buflen);

/* How a route reads the request's query: the value of `key` (never NULL:
 * "?key" alone reads as ""), or false when absent. */
struct route_query {
	bool (*get)(void *cls, const char *key, const char **value, size_t *len);
	void *cls;
};

struct route_request {
	const char *method;
	const char *path;            /* percent-decoded, without the query */
	struct route_query query;
	struct rng *rng;             /* the connection's stream */
	const struct run_settings *settings;
	const struct rules *rules;   /* overrides by route and id, or NULL */
	const struct sockaddr *client; /* the client's address, or NULL */
	bool accepted;               /* arrived before the drain began */
	bool draining;               /* the drain has begun */
	uint64_t now_ns;             /* CLOCK_MONOTONIC */
};

/* What the route's answer needs from the server around it. */
struct routes_env {
	struct metrics *metrics;
	struct live *live;           /* NULL: no live page */
	struct metrics_gauges (*gauges)(void *cls);
	void *gauges_cls;
};

/* What to answer, and when. */
struct route_answer {
	unsigned status;
	bool shared;                 /* the answer is canned ... */
	enum route_canned canned;
	char *body;                  /* ... or this malloc'd body (caller frees) */
	size_t body_len;
	const char *content_type;
	const char *cache_control;   /* NULL: none */
	uint64_t delay_us;           /* wait this long first */
	struct fault fault;          /* then fail this way (not a status: */
				     /* those are answers); FAULT_NONE */
	unsigned retry_after_s;      /* 0, or a Retry-After header */
	struct fault injected;       /* the fault drawn, of any class */
	int rule;                    /* the index of the rule that applied */
				     /* (the first, in a batch); -1: none */
	unsigned slots;              /* backend calls it makes (--capacity): */
				     /* 1 for /user, k for k ids; 0: none */
	bool timed;                  /* tell the delay (Server-Timing) */
	uint64_t floor_us;           /* never answer before this much of the */
				     /* delay has passed: all of a ?delay=, */
				     /* the model's least draw otherwise */
	bool counted;                /* user traffic: counted and logged */
	enum metrics_route metrics_route;
};

/* Answer `req` into *ans (never fails: out of memory is a shared 500). */
void routes_dispatch(const struct routes_env *env, const struct route_request *req,
		     struct route_answer *ans);

/* The answer to a request that never reached a route because its framing
 * is wrong (request_framing_error): `status` with the JSON error body
 * naming the problem, counted as user traffic. */
void routes_reject(struct route_answer *ans, unsigned status, const char *msg);

/* Find the route for `path` (len bytes): its index in the table, and in
 * *rest what follows a prefix route's prefix ("7" of "/user/7").  Returns
 * -1 when no route matches.  Pure: for the fuzzer and tests. */
int routes_match(const char *path, size_t len, const char **rest, size_t *rest_len);

/* The table's i-th path ("/user/", "/users", ...), or NULL past the end. */
const char *routes_path(int i);

#endif
