/* openloop.h - an open-loop load generator: requests arrive at
 * exponential intervals (a Poisson process) at a set rate, each on a new
 * connection, whether or not earlier ones have been answered.  wrk and
 * the engine in engine.h are closed-loop (a client sends its next request
 * after its answer), so under a slow server they slow down with it and
 * never see a queue build; this one keeps arriving.
 *
 * It records, per request, when it was due, when its answer was in, its
 * status and the delay the server says it drew (Server-Timing), so that
 * its wait for a slot is the time to the answer minus that delay.
 */
#ifndef USERD_LOAD_OPENLOOP_H
#define USERD_LOAD_OPENLOOP_H

#include <stddef.h>
#include <stdint.h>

struct ol_request {
	double due;        /* its arrival, by the schedule */
	double late;       /* how late the generator sent it */
	double took;       /* from due to the answer's end; -1: none */
	double service;    /* the delay the server drew (s), -1: unknown */
	int status;        /* 0: no answer */
};

struct openloop {
	unsigned port;
	double rate;       /* arrivals per second */
	size_t count;      /* how many */
	uint64_t seed;     /* of the arrival times */
	const char *path;  /* requested, followed by the request's index */
	double timeout_s;  /* give up on an answer after this */
	struct ol_request *req; /* count of them, filled by openloop_run */
};

/* Run the arrivals and wait for every answer (or its timeout).  Returns
 * 0, or -1 when out of memory or fds. */
int openloop_run(struct openloop *ol);

void openloop_free(struct openloop *ol);

/* An exponential interval of mean 1/rate (s), from the splitmix64 stream
 * *s (advanced): the arrival times' draw, for a simulation to share. */
double openloop_interval(uint64_t *s, double rate);

#endif
