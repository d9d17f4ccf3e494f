/* responses.h - routes' answers as libmicrohttpd responses: a route's own
 * body, a body from a content reader, and the shared answers, each built
 * once.
 *
 * What an answer says is routes.c's business; when and how it is sent,
 * http.c's.  This is the part between: the response objects and their
 * headers.
 */
#ifndef USERD_RESPONSES_H
#define USERD_RESPONSES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mhd_compat.h"
#include "routes.h"

/* Add name: value to resp; false when out of memory. */
static inline bool responses_add_header(struct MHD_Response *resp, const char *name,
					const char *value)
{
	return MHD_add_response_header(resp, name, value) == MHD_YES;
}

/* A response for ans's own body, which it takes over (freed here on
 * failure, by the response after: ans->body is NULL on return either
 * way), with ans's headers: Content-Type, and Cache-Control, Server-Timing
 * (the delay, when ans->timed) and Retry-After as ans says.  NULL when
 * out of memory. */
struct MHD_Response *responses_body(struct route_answer *ans);

/* A response announcing `length` bytes of body, which `reader` hands out
 * (with `cls`; `done` frees cls's part once the response is freed), with
 * ans's headers (ans->body is not used).  NULL when out of memory; `done`
 * may have run then, or not. */
struct MHD_Response *responses_from_reader(const struct route_answer *ans, uint64_t length,
					   MHD_ContentReaderCallback reader, void *cls,
					   MHD_ContentReaderFreeCallback done);

/* The shared answers (enum route_canned), each built once in two
 * variants: [0] as it is, [1] with "Connection: close" for the drain. */
struct responses_shared {
	struct MHD_Response *resp[2][CANNED_COUNT];
	size_t len[CANNED_COUNT]; /* their bodies' lengths */
};

/* Build every shared answer into *s.  Returns false when out of memory,
 * with nothing left built. */
bool responses_shared_build(struct responses_shared *s);

/* Free what *s holds.  Idempotent. */
void responses_shared_free(struct responses_shared *s);

#endif
