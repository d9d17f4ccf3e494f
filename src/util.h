/* util.h - the few macros every module may use.  No functions, no
 * dependencies. */
#ifndef USERD_UTIL_H
#define USERD_UTIL_H

#include <stddef.h>

/* The structure of type `type` that embeds `ptr` as its `member`. */
#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* The number of elements of an array (not a pointer). */
#define countof(a) (sizeof(a) / sizeof((a)[0]))

#endif
