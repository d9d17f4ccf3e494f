/* user.c - user ids and records; see user.h. */
#include "user.h"

#include "decimal.h"

bool user_parse_id(const char *s, size_t len, uint64_t *id)
{
	return decimal_parse(s, len, USER_ID_MAX, id) == DECIMAL_OK;
}

void user_fetch(struct user *u, uint64_t id, struct rng *r)
{
	u->id = id;
	u->age = USER_AGE_MIN +
		 (unsigned)rng_below(r, USER_AGE_MAX - USER_AGE_MIN + 1);
}
