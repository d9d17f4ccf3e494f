/* user.h - the user record: what a simulated backend fetch returns. */
#ifndef USERD_USER_H
#define USERD_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rng.h"

#define USER_AGE_MIN 20u
#define USER_AGE_MAX 40u

/* Largest valid id: ids fit in 63 bits (a JSON integer every client can
 * hold as a signed 64-bit value). */
#define USER_ID_MAX ((uint64_t)INT64_MAX)

struct user {
	uint64_t id;
	unsigned age;
};

/* Parse `len` bytes at `s` as a user id: one or more ASCII digits, no sign,
 * no spaces, value at most USER_ID_MAX.  Returns true and sets *id on
 * success; returns false and leaves *id untouched otherwise. */
bool user_parse_id(const char *s, size_t len, uint64_t *id);

/* Fill *u with the record for `id`, its age drawn uniformly from
 * [USER_AGE_MIN, USER_AGE_MAX] using `r`. */
void user_fetch(struct user *u, uint64_t id, struct rng *r);

#endif
