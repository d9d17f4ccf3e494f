/* probe.h - one plain HTTP GET and its status: `userd --check URL`, the
 * health check of an image that has no shell and no curl (a Compose or
 * Docker HEALTHCHECK runs it inside the container).  Knows nothing else of
 * userd.
 */
#ifndef USERD_PROBE_H
#define USERD_PROBE_H

#include <stddef.h>

/* probe_get()'s failures (below any HTTP status). */
#define PROBE_BAD_URL (-1) /* not http://HOST[:PORT][/PATH] */
#define PROBE_FAILED (-2)  /* no connection, no answer in time, or not HTTP */

/* GET `url` (http://HOST[:PORT][/PATH], HOST a name, an IPv4 address or
 * [IPv6]; port 80 by default) with HTTP/1.0 and return the status code of
 * the answer, waiting at most `timeout_ms` for all of it.  On failure,
 * returns PROBE_BAD_URL or PROBE_FAILED with a message in err (errlen
 * bytes).  Opens one socket and closes it before returning. */
int probe_get(const char *url, unsigned timeout_ms, char *err, size_t errlen);

#endif
