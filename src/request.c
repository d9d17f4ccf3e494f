/* request.c - path and query parsing; see request.h. */
#include "request.h"

#include <stdio.h>
#include <string.h>

#include "decimal.h"
#include "user.h"

static bool equals(const char *s, size_t len, const char *lit)
{
	return strlen(lit) == len && memcmp(s, lit, len) == 0;
}

void request_parse_path(const char *path, size_t len, struct request_path *out)
{
	static const char user_prefix[] = "/user/";
	const size_t plen = sizeof(user_prefix) - 1;

	memset(out, 0, sizeof(*out));
	if (len >= plen && memcmp(path, user_prefix, plen) == 0) {
		out->route = ROUTE_USER;
		out->id = path + plen;
		out->id_len = len - plen;
	} else if (equals(path, len, "/users")) {
		out->route = ROUTE_USERS;
	} else if (equals(path, len, "/healthz")) {
		out->route = ROUTE_HEALTHZ;
	} else if (equals(path, len, "/readyz")) {
		out->route = ROUTE_READYZ;
	} else if (equals(path, len, "/metrics")) {
		out->route = ROUTE_METRICS;
	} else {
		out->route = ROUTE_NOT_FOUND;
	}
}

/* Quote at most 32 bytes of client text for a message, non-printable
 * bytes as '?', so messages stay short and clean. */
static void quote(const char *s, size_t len, char *buf, size_t buflen)
{
	size_t n = 0;

	for (size_t i = 0; i < len && i < 32 && n + 2 < buflen; i++) {
		unsigned char c = (unsigned char)s[i];

		buf[n++] = c >= 0x20 && c < 0x7f && c != '"' && c != '\\' ? (char)c : '?';
	}
	if (len > 32 && n + 4 < buflen) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
}

size_t request_parse_ids(const char *text, size_t len, uint64_t *out,
			 size_t max, char *err, size_t errlen)
{
	size_t count = 0;
	size_t start = 0;
	char shown[40];

	if (len == 0) {
		snprintf(err, errlen, "ids: the list is empty");
		return 0;
	}
	for (size_t i = 0; i <= len; i++) {
		if (i < len && text[i] != ',')
			continue;
		if (count == max) {
			snprintf(err, errlen, "ids: at most %zu ids per request", max);
			return 0;
		}
		if (!user_parse_id(text + start, i - start, &out[count])) {
			if (i == start) {
				snprintf(err, errlen, "ids: empty item at position %zu",
					 count + 1);
			} else {
				quote(text + start, i - start, shown, sizeof(shown));
				snprintf(err, errlen, "ids: '%s' is not a valid user id",
					 shown);
			}
			return 0;
		}
		count++;
		start = i + 1;
	}
	return count;
}

bool request_parse_delay(const char *text, size_t len, uint32_t max_ms,
			 uint32_t *ms, char *err, size_t errlen)
{
	char shown[40];
	uint64_t v;

	switch (decimal_parse(text, len, max_ms, &v)) {
	case DECIMAL_OK:
		*ms = (uint32_t)v;
		return true;
	case DECIMAL_TOO_BIG:
		snprintf(err, errlen, "delay: at most %u ms", max_ms);
		return false;
	case DECIMAL_INVALID:
	default:
		quote(text, len, shown, sizeof(shown));
		snprintf(err, errlen, "delay: '%s' is not a number of milliseconds",
			 shown);
		return false;
	}
}

bool request_parse_flag(const char *name, const char *text, size_t len,
			bool *on, char *err, size_t errlen)
{
	char shown[40];

	if (equals(text, len, "1") || equals(text, len, "true")) {
		*on = true;
		return true;
	}
	if (equals(text, len, "0") || equals(text, len, "false")) {
		*on = false;
		return true;
	}
	quote(text, len, shown, sizeof(shown));
	snprintf(err, errlen, "%s: '%s' is not 1, 0, true or false", name, shown);
	return false;
}
