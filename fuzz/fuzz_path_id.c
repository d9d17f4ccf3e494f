/* fuzz_path_id - libFuzzer harness for the request path and the user id:
 * request_parse_path() on the whole input, then user_parse_id() on the id
 * it yields, both checked against a slow reference. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"
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
	struct request_path p;
	uint64_t id = 0xdeadbeef, ref = 0;
	int ok, want;

	request_parse_path(path, size, &p);
	switch (p.route) {
	case ROUTE_USER:
		if (size < 6 || memcmp(path, "/user/", 6) != 0 ||
		    p.id != path + 6 || p.id_len != size - 6)
			abort();
		ok = user_parse_id(p.id, p.id_len, &id);
		want = reference_id(p.id, p.id_len, &ref);
		if (ok != want || (ok && id != ref) || (!ok && id != 0xdeadbeef))
			abort();
		break;
	case ROUTE_USERS:
	case ROUTE_HEALTHZ:
	case ROUTE_READYZ:
	case ROUTE_METRICS:
		if (p.id != NULL || p.id_len != 0)
			abort();
		break;
	case ROUTE_NOT_FOUND:
		break;
	default:
		abort();
	}
	/* The id grammar on its own, on the whole input. */
	id = 0xdeadbeef;
	ok = user_parse_id(path, size, &id);
	want = reference_id(path, size, &ref);
	if (ok != want || (ok && id != ref) || (!ok && id != 0xdeadbeef))
		abort();
	return 0;
}
