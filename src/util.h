/* util.h - the few macros and helpers every module may use.  No
 * dependencies on userd. */
#ifndef USERD_UTIL_H
#define USERD_UTIL_H

#include <stddef.h>

/* The structure of type `type` that embeds `ptr` as its `member`. */
#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* The number of elements of an array (not a pointer). */
#define countof(a) (sizeof(a) / sizeof((a)[0]))

/* Write a printf-style message into err (errlen bytes, truncated). */
void util_error(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
