/* util.c - see util.h. */
#include "util.h"

#include <stdarg.h>
#include <stdio.h>

void util_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}
