/* dashboard.h - the live page served at GET /, built into the binary.
 *
 * src/dashboard.html is turned into src/dashboard_page.c at build time by
 * scripts/embed-page: its bytes, and the Content-Security-Policy that
 * allows exactly its own inline script and style (by SHA-256) and
 * connections to its own origin.  The page polls GET /live (src/live.h).
 */
#ifndef USERD_DASHBOARD_H
#define USERD_DASHBOARD_H

#include <stddef.h>

/* The page, dashboard_html_len bytes of UTF-8 HTML (not NUL-terminated). */
extern const unsigned char dashboard_html[];
extern const size_t dashboard_html_len;

/* The value of the Content-Security-Policy header to serve it with. */
extern const char dashboard_csp[];

#endif
