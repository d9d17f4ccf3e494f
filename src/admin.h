/* admin.h - the control API: a second, separate listener that reads and
 * changes the running service.
 *
 *   GET  /config        every run-time setting, as JSON (config-file names)
 *   PATCH /config       change any of them at once: all or nothing
 *   POST /config/reset  back to the command line and config file
 *   GET  /rules         the rules in force; PUT /rules replaces them
 *   GET  /stats         the live counts, as JSON
 *   GET  /requests      the journal's last requests, filtered; DELETE
 *                       /requests empties it; GET /requests/count counts
 *
 * With a token, every request needs "Authorization: Bearer TOKEN" (401
 * otherwise); with TLS files it speaks only HTTPS.  What the API changes, it changes through `struct
 * admin_ops`: main.c owns the settings and applies them.
 */
#ifndef USERD_ADMIN_H
#define USERD_ADMIN_H

#include <stddef.h>

#include "http.h"
#include "metrics.h"
#include "rules.h"
#include "settings.h"
#include "tls.h"

/* What the control API does to the running service.  main.c owns the
 * settings; the API only ever holds snapshots of them. */
struct admin_ops {
	/* The snapshot in force now: a reference for the caller to drop. */
	struct settings *(*current)(void *cls);
	/* Put `next` in force if `expected` (from current()) still is, and
	 * return true; else change nothing and return false, for the caller
	 * to read current() again and redo its change on top of it. */
	bool (*replace)(void *cls, struct settings *expected, struct settings *next);
	/* Back to the settings and rules of the command line and file. */
	void (*reset)(void *cls);
	void *cls;
	struct http_server *srv; /* for the counts of GET /stats */
};

struct admin;

/* Most control connections at once; and the file descriptors the control
 * API may hold at once: those, its listening socket, its threads' epoll
 * and wake-up descriptors.  main.c keeps ADMIN_FDS back from the user
 * port's connection limit, so that a full user port cannot keep the
 * operator out. */
#define ADMIN_CONNECTIONS 64u
#define ADMIN_FDS (ADMIN_CONNECTIONS + 8u)

/* The longest token taken (the first line of --admin-token-file): the
 * request header that carries it must fit the connection's buffer. */
#define ADMIN_TOKEN_MAX 4096

/* Serve the control API on `addr` (HOST:PORT or unix:PATH; already
 * checked by config), requiring `token` when not NULL (copied), over
 * HTTPS with tls->cert and tls->key when `tls` is not NULL (read and
 * checked by tls_files_load; used, not copied: they must outlive
 * admin_stop; tls->trust is not used).  Returns 0 and sets *out, or -1
 * with a message in err and nothing left behind. */
int admin_start(struct admin **out, const char *addr, const char *token,
		const struct tls_files *tls, const struct admin_ops *ops, char *err,
		size_t errlen);

/* Where it listens: "http://127.0.0.1:PORT", "https://..." or
 * "unix:PATH". */
const char *admin_url(const struct admin *a);

/* Stop serving (the unix socket file is removed) and free.  Takes NULL. */
void admin_stop(struct admin *a);

#endif
