/* user.c - user ids and records; see user.h. */
#include "user.h"

bool user_parse_id(const char *s, size_t len, uint64_t *id)
{
	uint64_t v = 0;

	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned d = (unsigned)(unsigned char)s[i] - '0';

		if (d > 9)
			return false;
		if (v > (USER_ID_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*id = v;
	return true;
}

void user_fetch(struct user *u, uint64_t id, struct rng *r)
{
	u->id = id;
	u->age = USER_AGE_MIN +
		 (unsigned)rng_below(r, USER_AGE_MAX - USER_AGE_MIN + 1);
}
