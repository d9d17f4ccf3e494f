/* render.h - JSON bodies for users and errors (jansson).
 *
 * Renders into a caller's buffer: no allocation survives a call.
 */
#ifndef USERD_RENDER_H
#define USERD_RENDER_H

#include <stddef.h>

#include "user.h"

/* Enough for any single user record or error body userd renders. */
#define RENDER_BUF_SIZE 256

/* Render `u` as {"user_id": N, "name": "UserN", "age": A} into buf.
 * Returns the length written (no NUL is counted; one is added when it
 * fits), or 0 when the body does not fit or memory ran out. */
size_t render_user(const struct user *u, char *buf, size_t size);

/* Render {"error": message, "status": status} into buf; same contract as
 * render_user.  `message` is escaped as JSON requires. */
size_t render_error(unsigned status, const char *message, char *buf,
		    size_t size);

/* Render {"status": status} into buf; same contract as render_user. */
size_t render_status(const char *status, char *buf, size_t size);

/* Render the `n` records as a JSON array, in order.  Returns a malloc'd
 * NUL-terminated string (its length in *len) for the caller to free, or
 * NULL when out of memory. */
char *render_users(const struct user *users, size_t n, size_t *len);

/* The version of the JSON library in use ("2.14"). */
const char *render_library_version(void);

#endif
