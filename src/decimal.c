/* decimal.c - plain decimal numbers; see decimal.h. */
#include "decimal.h"

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
