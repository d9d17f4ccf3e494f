/* responses.c - answers as libmicrohttpd responses; see responses.h. */
#include "responses.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "util.h"

/* Tell the client the delay it was given, in the standard Server-Timing
 * header (browsers' developer tools show it): "delay;dur=812.345" (ms). */
static bool add_server_timing(struct MHD_Response *resp, uint64_t delay_us)
{
	char value[48];

	snprintf(value, sizeof(value), "delay;dur=%" PRIu64 ".%03u",
		 delay_us / 1000u, (unsigned)(delay_us % 1000u));
	return responses_add_header(resp, "Server-Timing", value);
}

static bool add_retry_after(struct MHD_Response *resp, unsigned seconds)
{
	char value[16];

	snprintf(value, sizeof(value), "%u", seconds);
	return responses_add_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, value);
}

/* ans's headers onto resp; or false, resp destroyed, when out of memory. */
static bool add_answer_headers(struct MHD_Response *resp, const struct route_answer *ans)
{
	if (!responses_add_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ans->content_type) ||
	    (ans->cache_control != NULL &&
	     !responses_add_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, ans->cache_control)) ||
	    (ans->timed && !add_server_timing(resp, ans->delay_us)) ||
	    (ans->retry_after_s > 0 && !add_retry_after(resp, ans->retry_after_s))) {
		MHD_destroy_response(resp);
		return false;
	}
	return true;
}

struct MHD_Response *responses_body(struct route_answer *ans)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(ans->body_len, ans->body,
						MHD_RESPMEM_MUST_FREE);

	if (resp == NULL)
		free(ans->body); /* not taken over by a response that was not made */
	ans->body = NULL; /* else the response's now: destroying it frees it */
	return resp != NULL && add_answer_headers(resp, ans) ? resp : NULL;
}

struct MHD_Response *responses_from_reader(const struct route_answer *ans, uint64_t length,
					   MHD_ContentReaderCallback reader, void *cls,
					   MHD_ContentReaderFreeCallback done)
{
	struct MHD_Response *resp =
		MHD_create_response_from_callback(length, 1024, reader, cls, done);

	return resp != NULL && add_answer_headers(resp, ans) ? resp : NULL;
}

/* ---- the shared answers -------------------------------------------------- */

/* One shared answer as a response (its body's length in *len), or NULL
 * out of memory. */
static struct MHD_Response *shared_response(enum route_canned which, bool closing,
					    size_t *len)
{
	struct route_canned_answer a;
	char body[RENDER_BUF_SIZE];
	struct MHD_Response *resp;
	bool ok;

	if (!routes_canned(which, &a, body, sizeof(body)))
		return NULL;
	*len = a.body_len;
	resp = MHD_create_response_from_buffer(a.body_len, (void *)(uintptr_t)a.body,
					       a.body == body ? MHD_RESPMEM_MUST_COPY
							      : MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		return NULL;
	ok = responses_add_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, a.content_type);
	for (size_t i = 0; ok && i < countof(a.headers) && a.headers[i][0] != NULL; i++) {
		if (closing && strcmp(a.headers[i][0], MHD_HTTP_HEADER_CONNECTION) == 0)
			continue;
		ok = responses_add_header(resp, a.headers[i][0], a.headers[i][1]);
	}
	if (ok && closing)
		ok = responses_add_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	if (!ok) {
		MHD_destroy_response(resp);
		return NULL;
	}
	return resp;
}

bool responses_shared_build(struct responses_shared *s)
{
	memset(s, 0, sizeof(*s));
	for (int closing = 0; closing < 2; closing++) {
		for (int i = 0; i < CANNED_COUNT; i++) {
			s->resp[closing][i] = shared_response((enum route_canned)i, closing,
							      &s->len[i]);
			if (s->resp[closing][i] == NULL) {
				responses_shared_free(s);
				return false;
			}
		}
	}
	return true;
}

void responses_shared_free(struct responses_shared *s)
{
	for (int closing = 0; closing < 2; closing++) {
		for (int i = 0; i < CANNED_COUNT; i++) {
			if (s->resp[closing][i] != NULL)
				MHD_destroy_response(s->resp[closing][i]);
			s->resp[closing][i] = NULL;
		}
	}
}
