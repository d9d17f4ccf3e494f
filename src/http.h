/* http.h - the HTTP front end: libmicrohttpd, routes, suspend/resume.
 *
 * A delayed request is validated, its answer prepared, its connection
 * suspended and its deadline put into the shared timer queue; the timer
 * thread resumes the connection when the deadline passes, and the answer
 * goes out then.  Nothing here ever sleeps.
 */
#ifndef USERD_HTTP_H
#define USERD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "delay.h"
#include "metrics.h"
#include "rules.h"
#include "settings.h"
#include "timerq.h"

struct http_server;

struct http_options {
	int listen_fd;            /* listening socket; the server owns it */
	unsigned threads;         /* worker threads, >= 1 */
	unsigned max_connections; /* >= 1 */
	unsigned timeout_s;       /* idle timeout, 0 = none */
	size_t connection_memory; /* per-connection buffer pool, bytes */
	struct settings *settings; /* in force at start (a reference is taken) */
	bool seeded;              /* seed given: connection n (in accept order,
				   * from 1) draws from rng_stream(seed, n);
				   * else a seed from the OS */
	uint64_t seed;
	timerq *timers;           /* shared deadline queue (not owned) */
	const char *version;      /* reported by /metrics */
	bool dashboard;           /* serve the live page: GET / and GET /live */
	unsigned journal;         /* keep the last this many requests; 0: none */
	const char *tls_cert;     /* PEM text: serve HTTPS with it and tls_key;
				   * NULL: plain HTTP.  Kept by the caller
				   * until http_stop(). */
	const char *tls_key;      /* PEM text of tls_cert's private key */
	const char *tls_trust;    /* PEM text of CAs: require client
				   * certificates they sign; NULL: none */
};

/* The libmicrohttpd this process runs on: returns its version
 * (MHD_get_version()) and writes to `file` (`n` > 0 bytes, NUL-terminated,
 * cut to fit) the path of the file the dynamic loader mapped it from, links
 * resolved as in /proc/self/maps, or "unknown" when the loader cannot say.
 * The patched build (contrib/libmicrohttpd/) says "+userd1" in its
 * version. */
const char *http_library(char *file, size_t n);

/* http_start()'s failures. */
#define HTTP_START_FAILED (-1) /* anything but TLS */
#define HTTP_START_TLS (-2)    /* libmicrohttpd has no TLS, or refused the
				* certificate, key or CAs */

/* Start serving on opts->listen_fd.  Returns 0 and sets *out, or
 * HTTP_START_FAILED or HTTP_START_TLS with a message in err; on failure
 * the listening socket has been closed and nothing else is left
 * behind. */
int http_start(struct http_server **out, const struct http_options *opts,
	       char *err, size_t errlen);

/* Put the snapshot `s` in force (a reference is taken): requests
 * dispatched from now on use its settings and rules, requests already
 * waiting keep what they drew.  Thread-safe against the request path;
 * callers that change settings serialise among themselves (main.c's
 * owner does). */
void http_set_settings(struct http_server *srv, struct settings *s);

/* The server's metrics registry (for the control API's counts). */
struct metrics *http_metrics(struct http_server *srv);

/* The server's journal of requests (for the control API), or NULL when
 * it keeps none. */
struct journal *http_journal(struct http_server *srv);

/* Waiting, in flight, open connections, ready: now.  Thread-safe. */
struct metrics_gauges http_gauges(struct http_server *srv);

/* Begin the drain: stop accepting connections (the listening socket is
 * closed), answer requests that arrive from now on with 503, and close
 * each connection after its answer, shared answers included.  Requests
 * already accepted still get their answers at their deadlines.
 * Idempotent; call from one thread. */
void http_drain(struct http_server *srv);

/* Give up waiting: drain if not yet draining, answer every waiting
 * request with 503 now (clients that already left are not answered; a
 * fault not yet begun never happens), send the rest of every dripping
 * body at once, and from now on answer a request that would wait with 503
 * at once.  Idempotent; call from the thread that drains. */
void http_flush(struct http_server *srv);

/* What became of the requests http_flush() ended, as far as they have
 * finished, in words for the log: "answered 3 waiting requests with 503,
 * sent the rest of 1 dripping body at once, 1 client had left" (only the
 * kinds that occurred; "no waiting request left to answer" if none).  An
 * answer counts once it was handed to the kernel in full; a client that
 * left before, or while, its answer went out counts as gone.  Into buf
 * (len > 0), cut to fit.  Thread-safe. */
void http_flush_outcome(const struct http_server *srv, char *buf, size_t len);

/* Requests accepted and not yet completely answered (or abandoned by their
 * client).  Thread-safe. */
size_t http_in_flight(const struct http_server *srv);

/* Stop the server and free it: drain and flush (if not done yet), wait
 * until no deadline can fire any more, then stop libmicrohttpd with no
 * connection suspended and close every open connection.  The timer queue
 * is left closed, for the caller to destroy. */
void http_stop(struct http_server *srv);

#endif
