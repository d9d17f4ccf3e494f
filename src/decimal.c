/* decimal.c - plain decimal numbers; see decimal.h. */
#include "decimal.h"

#include <stdlib.h>
#include <string.h>

enum decimal_result decimal_parse(const char *s, size_t len, uint64_t max,
				  uint64_t *out)
{
	uint64_t v = 0;
	int too_big = 0;

	if (len == 0)
		return DECIMAL_INVALID;
	for (size_t i = 0; i < len; i++) {
		unsigned d = (unsigned)(unsigned char)s[i] - '0';

		if (d > 9)
			return DECIMAL_INVALID;
		/* Stop growing once past max: no overflow, whatever the length;
		 * keep scanning so a later non-digit still makes it INVALID. */
		if (too_big)
			continue;
		if (v > (UINT64_MAX - d) / 10 || v * 10 + d > max)
			too_big = 1;
		else
			v = v * 10 + d;
	}
	if (too_big)
		return DECIMAL_TOO_BIG;
	*out = v;
	return DECIMAL_OK;
}

bool decimal_share(const char *s, size_t len, double *out)
{
	char buf[DECIMAL_SHARE_MAX + 1];
	size_t digits = 0;
	bool point = false;
	double v;

	if (len == 0 || len > DECIMAL_SHARE_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.' && !point)
			point = true;
		else if (s[i] >= '0' && s[i] <= '9')
			digits++;
		else
			return false;
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
	v = strtod(buf, NULL); /* digits and one point: all of buf is read */
	if (digits == 0 || v > 1.0)
		return false;
	*out = v;
	return true;
}
