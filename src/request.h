/* request.h - parsing what a client sends: query values and the headers
 * that frame a request.
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

/* What RFC 9112 says a server must reject, gathered from a request's
 * header lines (3.2: exactly one Host in HTTP/1.1, at most one otherwise;
 * 6.1 and 6.3: one valid Content-Length value; a Transfer-Encoding only
 * in HTTP/1.1, never beside a Content-Length, with chunked last).  userd
 * (libmicrohttpd) decodes exactly one line "Transfer-Encoding: chunked":
 * anything else is refused rather than read as a body of unknown length.
 * Zero it, feed it every header line, then ask request_framing_error(). */
struct request_framing {
	unsigned hosts;
	unsigned te_lines;
	bool te_chunked_only; /* one line, exactly "chunked" */
	bool te_chunked_last; /* the last coding seen is chunked */
	bool te_other;        /* a coding other than chunked */
	bool te_misplaced;    /* chunked before another coding */
	bool has_length;
	bool bad_length;      /* not a number, or two different ones */
	char length[24];      /* the first Content-Length */
};

/* Take one header line (`value` NULL reads as ""). */
void request_framing_header(struct request_framing *f, const char *name,
			    const char *value);

/* NULL when the framing is fine; else the error message, with *status
 * (400, or 501 for a transfer coding userd does not decode).  `http10`:
 * the request is HTTP/1.0, which may omit Host and may not use
 * Transfer-Encoding. */
const char *request_framing_error(const struct request_framing *f, bool http10,
				  unsigned *status);

#endif
