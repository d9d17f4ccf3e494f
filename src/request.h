/* request.h - parsing what a client sends: the path and query values.
 *
 * Pure functions over (pointer, length) input: no allocation, no I/O, no
 * HTTP library.  Every input a client controls goes through here first,
 * which is also what the fuzzers drive.
 */
#ifndef USERD_REQUEST_H
#define USERD_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum request_route {
	ROUTE_NOT_FOUND = 0,
	ROUTE_USER,     /* /user/<id> (the id may still be invalid) */
	ROUTE_USERS,    /* /users */
	ROUTE_HEALTHZ,  /* /healthz */
	ROUTE_READYZ,   /* /readyz */
	ROUTE_METRICS,  /* /metrics */
};

struct request_path {
	enum request_route route;
	const char *id;   /* ROUTE_USER: the text after "/user/" */
	size_t id_len;
};

/* Classify `path` (len bytes, already percent-decoded, no query).
 * Never fails: unknown paths are ROUTE_NOT_FOUND. */
void request_parse_path(const char *path, size_t len, struct request_path *out);

/* Parse an `ids=` value: comma-separated user ids, at most `max` of them.
 * Returns the count (>= 1) with the ids in out[0..count-1]; or 0 with a
 * message in err (empty list, empty item, bad id, too many). */
size_t request_parse_ids(const char *text, size_t len, uint64_t *out,
			 size_t max, char *err, size_t errlen);

/* Parse a `delay=` value: a plain decimal number of milliseconds from 0 to
 * `max_ms`.  Returns true and sets *ms, or false with a message in err. */
bool request_parse_delay(const char *text, size_t len, uint32_t max_ms,
			 uint32_t *ms, char *err, size_t errlen);

/* Parse a boolean flag such as `fail=`: "1"/"true" or "0"/"false".
 * Returns true and sets *on, or false with a message in err. */
bool request_parse_flag(const char *name, const char *text, size_t len,
			bool *on, char *err, size_t errlen);

#endif
