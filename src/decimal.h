/* decimal.h - plain decimal numbers, the one grammar userd accepts for
 * ids, milliseconds and counts: ASCII digits only (no sign, no spaces, no
 * exponent), bounded above; and shares from 0 to 1, which may also be
 * written with a point and an exponent. */
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

/* Longest share decimal_share() takes, in bytes: room for every share
 * decimal_share_format() writes (17 significant digits and an exponent)
 * and for what JSON encoders print. */
#define DECIMAL_SHARE_MAX 32

/* Parse the `len` bytes at `s` (no NUL needed) as a share from 0 to 1
 * ("0", "0.05", "1", ".5", "1e-5", "2.5E-3"): 1 to DECIMAL_SHARE_MAX bytes
 * of digits with at most one point and at least one digit, then
 * optionally an exponent (e or E, an optional sign, 1 to 3 digits); no
 * sign, no spaces, nothing that underflows.  On success sets *out and
 * returns true; otherwise *out is untouched. */
bool decimal_share(const char *s, size_t len, double *out);

/* Write the share `v` (0 to 1) into buf as the shortest text that
 * decimal_share() reads back as exactly `v` ("0.003", "1e-05").  len
 * must be more than DECIMAL_SHARE_MAX. */
void decimal_share_format(double v, char *buf, size_t len);

#endif
