/* decimal.c - plain decimal numbers; see decimal.h. */
#include "decimal.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
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

/* How many of the `len` bytes at `s` are ASCII digits, from the first. */
static size_t digits_at(const char *s, size_t len)
{
	size_t n = 0;

	while (n < len && s[n] >= '0' && s[n] <= '9')
		n++;
	return n;
}

bool decimal_share(const char *s, size_t len, double *out)
{
	char buf[DECIMAL_SHARE_MAX + 1];
	size_t i, mantissa;
	double v;

	if (len == 0 || len > DECIMAL_SHARE_MAX)
		return false;
	/* DIGITS [. DIGITS] with at least one digit, or . DIGITS */
	i = digits_at(s, len);
	mantissa = i;
	if (i < len && s[i] == '.') {
		size_t frac = digits_at(s + i + 1, len - i - 1);

		mantissa += frac;
		i += 1 + frac;
	}
	if (mantissa == 0)
		return false;
	/* [e|E [+|-] 1 to 3 DIGITS] */
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		size_t exp;

		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		exp = digits_at(s + i, len - i);
		if (exp == 0 || exp > 3)
			return false;
		i += exp;
	}
	if (i != len)
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	v = strtod(buf, NULL); /* the grammar above: all of buf is read */
	if (errno == ERANGE || v > 1.0)
		return false;
	*out = v;
	return true;
}

void decimal_share_format(double v, char *buf, size_t len)
{
	assert(len > DECIMAL_SHARE_MAX && v >= 0.0 && v <= 1.0);
	/* 17 significant digits always read back exactly. */
	for (int digits = 1; digits <= 17; digits++) {
		snprintf(buf, len, "%.*g", digits, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}
