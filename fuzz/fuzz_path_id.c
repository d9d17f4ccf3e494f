/* fuzz_path_id - libFuzzer harness for the request path and the user id:
 * routes_match() on the whole input, then user_parse_id() on what follows
 * "/user/", both checked against a slow reference. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "routes.h"
#include "user.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The id grammar the obvious way: digits only, at most USER_ID_MAX. */
static int reference_id(const char *s, size_t len, uint64_t *id)
{
	unsigned __int128 v = 0;

	if (len == 0)
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (unsigned)(s[i] - '0');
		if (v > USER_ID_MAX)
			return 0;
	}
	*id = (uint64_t)v;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = (const char *)data;
	const char *rest, *route;
	size_t rest_len;
	uint64_t id = 0xdeadbeef, ref = 0;
	int ok, want, i;

	i = routes_match(path, size, &rest, &rest_len);
	route = routes_path(i);
	if (i < 0) {
		if (rest != NULL || rest_len != 0 || route != NULL)
			abort();
	} else if (strcmp(route, "/user/") == 0) {
		if (size < 6 || memcmp(path, "/user/", 6) != 0 ||
		    rest != path + 6 || rest_len != size - 6)
			abort();
		ok = user_parse_id(rest, rest_len, &id);
		want = reference_id(rest, rest_len, &ref);
		if (ok != want || (ok && id != ref) || (!ok && id != 0xdeadbeef))
			abort();
	} else if (size != strlen(route) || memcmp(path, route, size) != 0 ||
		   rest_len != 0) {
		abort(); /* every other route is an exact path */
	}
	/* The id grammar on its own, on the whole input. */
	id = 0xdeadbeef;
	ok = user_parse_id(path, size, &id);
	want = reference_id(path, size, &ref);
	if (ok != want || (ok && id != ref) || (!ok && id != 0xdeadbeef))
		abort();
	return 0;
}
