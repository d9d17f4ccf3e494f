/* access.h - one access-log line per finished request, on stderr through
 * log.h's queue (so a stalled stderr drops lines, never blocks a request).
 *
 * "common" is the NCSA common log format with the scheduled delay and the
 * real duration appended; "json" is one JSON object per line.  Client
 * text (the path and query) is escaped in both.
 */
#ifndef USERD_ACCESS_H
#define USERD_ACCESS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

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
	uint64_t late_ns;     /* ... completion after its deadline (late_ms) */
	uint64_t timer_late_ns; /* ... its resume after it (timer_late_ms) */
};

/* Write `e` as one line in format `f` (nothing for ACCESS_LOG_OFF) with
 * log_write_line().  Thread-safe; lines never interleave. */
void access_log_write(enum access_log_format f, const struct access_entry *e);

#endif
