/* access.h - one access-log line per finished request, on stderr through
 * log.h's queue (so a stalled stderr drops lines, never blocks a request).
 *
 * "common" is the NCSA common log format with the scheduled delay and the
 * real duration appended; "json" is one JSON object per line.  Client
 * text (the path and query) is escaped in both.  The HTTP layer hands
 * over what it knows of an exchange (struct access_exchange); what of it
 * is logged, and how, is decided here.
 */
#ifndef USERD_ACCESS_H
#define USERD_ACCESS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "fault.h"

enum access_log_format {
	ACCESS_LOG_OFF = 0,
	ACCESS_LOG_COMMON,
	ACCESS_LOG_JSON,
};

/* The format named `name` ("off", "common" or "json") into *out.  Returns
 * false, with *out untouched, for any other name. */
bool access_log_format_parse(const char *name, enum access_log_format *out);

/* The name of format `f`. */
const char *access_log_format_name(enum access_log_format f);

struct access_entry {
	const struct sockaddr *client; /* may be NULL */
	const char *method;
	const char *path;
	const char *query;    /* "a=1&b=2" without '?', or "" */
	const char *version;  /* "HTTP/1.1" */
	unsigned status;
	uint64_t bytes;       /* body bytes sent */
	uint64_t delay_us;    /* scheduled delay */
	uint64_t duration_ns; /* arrival to completion */
	const char *fault;    /* the fault injected ("reset"), or NULL */
	bool waited;          /* it waited on its delay: then ... */
	int64_t late_ns;      /* ... completion minus its deadline (late_ms; */
			      /* negative: early) */
	uint64_t timer_late_ns; /* ... its resume after its timer's aim */
				/* (timer_late_ms) */
	bool capacity;        /* it went through --capacity: then ... */
	uint64_t queue_wait_ns; /* ... its wait for a slot (queue_ms) */
};

/* Write `e` as one line in format `f` (nothing for ACCESS_LOG_OFF) with
 * log_write_line().  Thread-safe; lines never interleave. */
void access_log_write(enum access_log_format f, const struct access_entry *e);

/* ---- from an exchange ------------------------------------------------------ */

/* The query as the log shows it ("a=1&b=2"), rebuilt from the parsed
 * arguments.  Start with len 0 and buf "". */
struct access_query {
	char buf[512];
	size_t len;
};

/* Append "key=value" (just "key" when value is NULL), after a '&' unless
 * first.  Returns false when it does not fit: as much of it as fits has
 * been written, and nothing more may be added. */
bool access_query_add(struct access_query *q, const char *key, const char *value);

/* What the HTTP layer knows of a finished exchange. */
struct access_exchange {
	const struct sockaddr *client; /* may be NULL */
	const char *method;
	const char *path;
	const char *query;        /* see struct access_query */
	const char *version;
	unsigned status;          /* 0: ended with no answer */
	uint64_t body_len;        /* of the answer, or what went of it */
	enum fault_kind fault;    /* its transport fault, or FAULT_NONE */
	uint64_t delay_us;        /* scheduled delay */
	uint64_t started_ns;      /* arrival (CLOCK_MONOTONIC) */
	uint64_t completed_ns;    /* completion */
	bool waited;              /* it waited on its delay until its */
				  /* deadline (not flushed): then ... */
	uint64_t deadline_ns;     /* ... that delay's end */
	uint64_t timer_late_ns;   /* ... and how late its timer fired after */
				  /* the time it was aimed at */
	bool capacity;            /* it went through --capacity: then ... */
	uint64_t queue_wait_ns;   /* ... its wait for a slot */
};

/* The log entry of `x` (its strings are x's): the body's bytes (none for
 * HEAD), the duration, the fault's name, and for a request that waited
 * how late its completion was (negative if early). */
void access_entry_of(const struct access_exchange *x, struct access_entry *e);

/* access_log_write() of access_entry_of(x). */
void access_log_exchange(enum access_log_format f, const struct access_exchange *x);

#endif
