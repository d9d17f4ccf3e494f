/* acceptor.h - one thread that accepts connections on a listening socket
 * and hands each to its owner, never more than a limit at a time.
 *
 * userd accepts its own connections (libmicrohttpd runs without a
 * listening socket) so that "stop accepting" is a flag and a join that no
 * other thread can race with, and so that nobody else ever touches the
 * listening socket, which may be systemd's.  At the limit it stops
 * accepting and new connections wait in the kernel's backlog, as they
 * would behind any server; when the process is out of file descriptors
 * it logs that once and retries as connections close.
 *
 * Knows nothing of HTTP.
 */
#ifndef USERD_ACCEPTOR_H
#define USERD_ACCEPTOR_H

#include <stdbool.h>
#include <sys/socket.h>

typedef struct acceptor acceptor;

/* Called on the acceptor's thread with a new connection's socket
 * (non-blocking, close-on-exec), which the callee owns from then on.
 * Returns true when the connection was taken and now counts against the
 * limit (acceptor_release() must follow once for it, whatever becomes of
 * it), false when it was refused (and closed). */
typedef bool (*acceptor_cb)(void *cls, int fd, const struct sockaddr *addr,
			    socklen_t addrlen);

/* How many of the connections cb took are open for real.  Asked only
 * when the limit has held for a second: a connection that cb took but
 * that was dropped before its owner ever saw it (out of memory) is never
 * released, and this is how the count heals.  Thread-safe. */
typedef unsigned (*acceptor_count_cb)(void *cls);

/* Start accepting on `listen_fd` (not owned: the caller closes it, after
 * acceptor_stop()), at most `limit` (>= 1) connections taken and not yet
 * released; cb and count get `cls`.  Returns 0, or an errno value with
 * nothing left behind and *out NULL.  *out is set before the thread
 * starts, so cb and whoever releases its connections may use it at once.
 * The listening socket is made non-blocking (with socket activation that
 * flag is shared with systemd's copy, which does not mind). */
int acceptor_start(acceptor **out, int listen_fd, unsigned limit,
		   acceptor_cb cb, acceptor_count_cb count, void *cls);

/* A connection that cb took has closed.  Thread-safe. */
void acceptor_release(acceptor *a);

/* Connections taken and not yet released.  Thread-safe. */
unsigned acceptor_open(acceptor *a);

/* Stop accepting and join the thread: when this returns, cb is not
 * running and will not run again, and the listening socket is no longer
 * used.  Connections already taken are unaffected.  Idempotent; not to be
 * called from cb. */
void acceptor_stop(acceptor *a);

/* Stop (if not yet stopped) and free. */
void acceptor_free(acceptor *a);

#endif
