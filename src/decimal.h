/* decimal.h - plain decimal numbers, the one grammar userd accepts for
 * ids, milliseconds and counts: ASCII digits only (no sign, no spaces, no
 * exponent), bounded above. */
#ifndef USERD_DECIMAL_H
#define USERD_DECIMAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum decimal_result {
	DECIMAL_OK = 0,
	DECIMAL_INVALID, /* empty, or a byte that is not a digit */
	DECIMAL_TOO_BIG, /* digits only, but the value exceeds max */
};

/* Parse the `len` bytes at `s` (no NUL needed).  On DECIMAL_OK sets *out
 * to the value, which is <= max; otherwise *out is untouched.  Every byte
 * is checked, so "99999999999999999999x" is DECIMAL_INVALID. */
enum decimal_result decimal_parse(const char *s, size_t len, uint64_t max,
				  uint64_t *out);

/* Longest share decimal_share() takes, in bytes. */
#define DECIMAL_SHARE_MAX 20

/* Parse the `len` bytes at `s` (no NUL needed) as a share from 0 to 1
 * ("0", "0.05", "1", ".5"): 1 to DECIMAL_SHARE_MAX bytes of digits with
 * at most one point, at least one digit, no sign or exponent.  On success
 * sets *out and returns true; otherwise *out is untouched. */
bool decimal_share(const char *s, size_t len, double *out);

#endif
