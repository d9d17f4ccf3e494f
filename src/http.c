/* http.c - the libmicrohttpd layer; see http.h.
 *
 * This file runs the daemon: it starts libmicrohttpd with no listening
 * socket of its own, takes connections from the acceptor and numbers
 * them in accept order (each connection's random stream is its number's),
 * gives each its state, and drains, flushes and stops.  What happens to
 * one request on a connection, from its headers to its completion, is
 * exchange.c's.
 */
#include "http.h"

#include <assert.h>
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "acceptor.h"
#include "exchange.h"
#include "log.h"
#include "mhd_compat.h"
#include "mhd_log.h"
#include "render.h"
#include "tls.h"

/* The most fds whose connections get an ordinal in accept order (8 bytes
 * each): 2^22, above Linux's default fs.nr_open of 2^20. */
#define ORDINAL_SLOTS_MAX ((size_t)1 << 22)

struct http_server {
	struct MHD_Daemon *daemon;
	acceptor *acceptor;     /* takes connections for the daemon */
	int listen_fd;          /* -1 once the drain closed it */
	uint64_t seed;          /* --seed's, or the OS's: each connection's
				 * stream is rng_stream(seed, its ordinal) */
	bool client_certs;      /* TLS: demand and verify client certificates */
	/* Accept order: on the acceptor's thread each connection gets the
	 * next ordinal (1, 2, ...), filed under its fd for on_connection
	 * (libmicrohttpd starts connections on its workers, which may take
	 * them in another order). */
	uint64_t accepted;                 /* the acceptor's thread only */
	_Atomic uint64_t *ordinal_of_fd;   /* ordinal_slots entries */
	size_t ordinal_slots;
	_Atomic uint64_t unnumbered;       /* fds beyond the table */
	_Atomic size_t connections; /* told STARTED and not yet CLOSED */
	struct exchanges xs;        /* what its requests share */
};

/* ---- connections --------------------------------------------------------- */

/* c's place in accept order (see struct http_server).  An fd beyond the
 * table (only if the hard fd limit was raised while running) gets a
 * number of its own at or above 2^63, never an accept ordinal. */
static uint64_t ordinal_of(struct http_server *srv, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);

	if (info != NULL && info->connect_fd >= 0 &&
	    (size_t)info->connect_fd < srv->ordinal_slots)
		return atomic_load_explicit(&srv->ordinal_of_fd[info->connect_fd],
					    memory_order_relaxed);
	return UINT64_C(1) << 63 | atomic_fetch_add(&srv->unnumbered, 1);
}

static void on_connection(void *cls, struct MHD_Connection *c,
			  void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct http_server *srv = cls;
	struct conn *conn;

	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		free(*socket_context);
		*socket_context = NULL;
		atomic_fetch_sub_explicit(&srv->connections, 1, memory_order_relaxed);
		acceptor_release(srv->acceptor);
		return;
	}
	/* Counted whether or not its state can be allocated: CLOSED comes
	 * for every STARTED. */
	atomic_fetch_add_explicit(&srv->connections, 1, memory_order_relaxed);
	if (srv->client_certs) {
		/* Before the handshake, whatever else happens: libmicrohttpd
		 * only asks for a certificate and checks none. */
		const union MHD_ConnectionInfo *info =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);

		assert(info != NULL);
		tls_require_client_cert(info->tls_session);
	}
	conn = exchange_conn_new(&srv->xs, c, srv->seed, ordinal_of(srv, c));
	if (conn == NULL) {
		log_warn("out of memory for a new connection");
		return;
	}
	*socket_context = conn;
}

/* Keep "%00" escaped: a NUL byte cannot be part of a valid path or query
 * value, and decoding it would silently truncate the string. */
static size_t on_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	for (const char *p = s; (p = strchr(p, '%')) != NULL; p++) {
		if (p[1] == '0' && p[2] == '0')
			return strlen(s);
	}
	return MHD_http_unescape(s);
}

/* The acceptor's thread: a new connection for the daemon, which closes
 * the socket itself if it cannot take it.  Its ordinal is filed first:
 * MHD_add_connection() hands it over under a lock, so the worker that
 * starts it reads what was filed. */
static bool on_accept(void *cls, int fd, const struct sockaddr *addr,
		      socklen_t addrlen)
{
	struct http_server *srv = cls;
	uint64_t n = ++srv->accepted;

	if (fd >= 0 && (size_t)fd < srv->ordinal_slots)
		atomic_store_explicit(&srv->ordinal_of_fd[fd], n, memory_order_relaxed);
	return MHD_add_connection(srv->daemon, fd, addr, addrlen) == MHD_YES;
}

/* The acceptor's check of its count: connections open for real. */
static unsigned open_connections(void *cls)
{
	struct http_server *srv = cls;

	return (unsigned)atomic_load(&srv->connections);
}

static struct metrics_gauges gauges_of(void *cls)
{
	struct http_server *srv = cls;
	struct metrics_gauges g = {
		.waiting = atomic_load(&srv->xs.waiting),
		.in_flight = atomic_load(&srv->xs.in_flight),
		.connections = atomic_load(&srv->connections),
		.ready = !atomic_load(&srv->xs.draining),
	};

	pthread_mutex_lock(&srv->xs.capacity_lock);
	g.in_service = srv->xs.capacity.in_service;
	g.queued = srv->xs.capacity.queued;
	pthread_mutex_unlock(&srv->xs.capacity_lock);
	g.rejected = metrics_queue_rejected_total(srv->xs.metrics);
	g.lead_ns = aim_lead_ns(&srv->xs.aim);
	return g;
}

/* ---- life cycle -------------------------------------------------------- */

static void free_server(struct http_server *srv)
{
	settings_unref(srv->xs.settings);
	responses_shared_free(&srv->xs.shared);
	live_destroy(srv->xs.live);
	journal_destroy(srv->xs.journal);
	metrics_destroy(srv->xs.metrics);
	free(srv->ordinal_of_fd);
	pthread_mutex_destroy(&srv->xs.settings_lock);
	pthread_mutex_destroy(&srv->xs.capacity_lock);
	free(srv);
}

const char *http_library(char *file, size_t n)
{
	Dl_info info;
	char real[PATH_MAX];
	const char *name = "unknown";

	assert(file != NULL && n > 0);
	/* The object that holds MHD_get_version(): the shared library, or
	 * userd itself if it was linked statically. */
	if (dladdr((const void *)(uintptr_t)MHD_get_version, &info) != 0 &&
	    info.dli_fname != NULL && info.dli_fname[0] != '\0')
		name = realpath(info.dli_fname, real) != NULL ? real : info.dli_fname;
	snprintf(file, n, "%s", name);
	return MHD_get_version();
}

/* The server's state before libmicrohttpd starts, or NULL out of memory. */
static struct http_server *new_server(const struct http_options *opts)
{
	char mhd_file[PATH_MAX];
	struct metrics_build build = {
		.version = opts->version,
		.libmicrohttpd = http_library(mhd_file, sizeof(mhd_file)),
		.libmicrohttpd_file = mhd_file,
		.jansson = render_library_version(),
	};
	struct http_server *srv = calloc(1, sizeof(*srv));
	struct rlimit rl;

	if (srv == NULL)
		return NULL;
	pthread_mutex_init(&srv->xs.settings_lock, NULL);
	pthread_mutex_init(&srv->xs.capacity_lock, NULL);
	capacity_init(&srv->xs.capacity);
	aim_init(&srv->xs.aim);
	srv->listen_fd = opts->listen_fd;
	srv->xs.timers = opts->timers;
	srv->xs.settings = settings_ref(opts->settings);
	srv->seed = opts->seeded ? opts->seed : rng_os_seed();
	srv->xs.tls = opts->tls_cert != NULL;
	srv->client_certs = opts->tls_cert != NULL && opts->tls_trust != NULL;
	/* Room for every fd the process may open (main.c has raised the
	 * soft limit to the hard one); untouched pages cost nothing. */
	srv->ordinal_slots = getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
			     rl.rlim_max < ORDINAL_SLOTS_MAX
		? (size_t)rl.rlim_max : ORDINAL_SLOTS_MAX;
	srv->ordinal_of_fd = calloc(srv->ordinal_slots, sizeof(*srv->ordinal_of_fd));
	srv->xs.metrics = metrics_create(&build);
	if (opts->dashboard)
		srv->xs.live = live_create(&opts->settings->run.delay);
	if (opts->journal > 0)
		srv->xs.journal = journal_create(opts->journal);
	if (srv->ordinal_of_fd == NULL || srv->xs.metrics == NULL ||
	    (opts->dashboard && srv->xs.live == NULL) ||
	    (opts->journal > 0 && srv->xs.journal == NULL) ||
	    !responses_shared_build(&srv->xs.shared)) {
		free_server(srv);
		return NULL;
	}
	srv->xs.env.metrics = srv->xs.metrics;
	srv->xs.env.live = srv->xs.live;
	srv->xs.env.gauges = gauges_of;
	srv->xs.env.gauges_cls = srv;
	return srv;
}

int http_start(struct http_server **out, const struct http_options *opts,
	       char *err, size_t errlen)
{
	struct http_server *srv;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC |
			 MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ERROR_LOG;
	/* The acceptor holds the real limit.  Each worker may take all of
	 * it and one more: a worker counts a closed connection a moment
	 * after it told us (and the acceptor took the next one), and must
	 * not refuse that next one. */
	unsigned per_worker = opts->max_connections + 1;
	unsigned mhd_limit = per_worker > UINT32_MAX / opts->threads
		? UINT32_MAX : per_worker * opts->threads;
	int failure = HTTP_START_FAILED;
	int rc;

	assert(opts->listen_fd >= 0 && opts->threads >= 1 && opts->max_connections >= 1);
	assert((opts->tls_cert == NULL) == (opts->tls_key == NULL));
	assert(opts->tls_trust == NULL || opts->tls_cert != NULL);
	if (opts->tls_cert != NULL) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			snprintf(err, errlen, "this libmicrohttpd was built "
				 "without TLS support");
			srv = NULL;
			failure = HTTP_START_TLS;
			goto fail;
		}
		flags |= MHD_USE_TLS;
	}
	srv = new_server(opts);
	if (srv == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}

	/* A pool only with more than one worker: libmicrohttpd warns about
	 * a pool of size 0 or 1. */
	{
		struct MHD_OptionItem pool[] = {
			{MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)opts->threads, NULL},
			{MHD_OPTION_END, 0, NULL},
		};
		/* TLS: the key, its certificate and the client CAs, as far as
		 * given (the first END ends the list). */
		struct MHD_OptionItem tls[] = {
			{MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)(uintptr_t)opts->tls_key},
			{MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)(uintptr_t)opts->tls_cert},
			{MHD_OPTION_HTTPS_MEM_TRUST, 0, (void *)(uintptr_t)opts->tls_trust},
			{MHD_OPTION_END, 0, NULL},
		};

		if (opts->threads <= 1)
			pool[0].option = MHD_OPTION_END;
		if (opts->tls_cert == NULL)
			tls[0].option = MHD_OPTION_END;
		else if (opts->tls_trust == NULL)
			tls[2].option = MHD_OPTION_END;
		srv->daemon = MHD_start_daemon(
			flags, 0, NULL, NULL, exchange_on_request, &srv->xs,
			MHD_OPTION_EXTERNAL_LOGGER, mhd_log, mhd_log_cls(opts->listen_fd, false), /* first: see docs */
			MHD_OPTION_ARRAY, pool,
			MHD_OPTION_ARRAY, tls,
			MHD_OPTION_CONNECTION_LIMIT, mhd_limit,
			MHD_OPTION_CONNECTION_TIMEOUT, opts->timeout_s,
			MHD_OPTION_CONNECTION_MEMORY_LIMIT, opts->connection_memory,
			MHD_OPTION_NOTIFY_COMPLETED, exchange_on_completed, &srv->xs,
			MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv,
			MHD_OPTION_UNESCAPE_CALLBACK, on_unescape, srv,
			MHD_OPTION_URI_LOG_CALLBACK, exchange_on_uri, &srv->xs,
			MHD_OPTION_END);
	}
	if (srv->daemon == NULL && opts->tls_cert != NULL) {
		/* tls_files_load() checked the files with the same GnuTLS:
		 * this is unlikely, but TLS is the first suspect. */
		snprintf(err, errlen, "libmicrohttpd failed to start with the "
			 "TLS certificate, key%s (see its message above)",
			 opts->tls_trust != NULL ? " and client CAs" : "");
		failure = HTTP_START_TLS;
		goto fail;
	}
	if (srv->daemon == NULL) {
		snprintf(err, errlen, "libmicrohttpd failed to start "
			 "(threads=%u, max-connections=%u)",
			 opts->threads, opts->max_connections);
		goto fail;
	}
	rc = acceptor_start(&srv->acceptor, opts->listen_fd, opts->max_connections,
			    on_accept, open_connections, srv);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the accept thread: %s", strerror(rc));
		MHD_stop_daemon(srv->daemon);
		goto fail;
	}
	*out = srv;
	return 0;

fail:
	/* The listening socket is ours alone (libmicrohttpd never had it):
	 * closed here, once. */
	close(opts->listen_fd);
	if (srv != NULL)
		free_server(srv);
	return failure;
}

void http_set_settings(struct http_server *srv, struct settings *s)
{
	struct settings *old;

	assert(s != NULL);
	settings_ref(s);
	pthread_mutex_lock(&srv->xs.settings_lock);
	old = srv->xs.settings;
	srv->xs.settings = s;
	pthread_mutex_unlock(&srv->xs.settings_lock);
	settings_unref(old);
	if (srv->xs.live != NULL)
		live_set_model(srv->xs.live, &s->run.delay);
}

struct metrics *http_metrics(struct http_server *srv)
{
	return srv->xs.metrics;
}

struct journal *http_journal(struct http_server *srv)
{
	return srv->xs.journal;
}

struct metrics_gauges http_gauges(struct http_server *srv)
{
	return gauges_of(srv);
}

void http_drain(struct http_server *srv)
{
	if (atomic_exchange(&srv->xs.draining, true))
		return;
	/* After the join no thread uses the listening socket: closing it
	 * refuses new connections (unless systemd holds it: then they wait
	 * for the next instance). */
	acceptor_stop(srv->acceptor);
	close(srv->listen_fd);
	srv->listen_fd = -1;
}

void http_flush(struct http_server *srv)
{
	http_drain(srv);
	atomic_store(&srv->xs.flushed, true);
	timerq_close(srv->xs.timers);
}

/* Append ", " (unless first) and "<n> <what>" with `one` or `many`, if n. */
static void say_count(char *buf, size_t len, size_t n, const char *before,
		      const char *one, const char *many, const char *after)
{
	size_t used = strlen(buf);

	if (n == 0 || used >= len)
		return;
	snprintf(buf + used, len - used, "%s%s%zu %s%s", used > 0 ? ", " : "", before,
		 n, n == 1 ? one : many, after);
}

void http_flush_outcome(const struct http_server *srv, char *buf, size_t len)
{
	assert(len > 0);
	buf[0] = '\0';
	say_count(buf, len, atomic_load(&srv->xs.flush_answered), "answered ",
		  "waiting request", "waiting requests", " with 503");
	say_count(buf, len, atomic_load(&srv->xs.flush_rushed), "sent the rest of ",
		  "dripping body", "dripping bodies", " at once");
	say_count(buf, len, atomic_load(&srv->xs.flush_gone), "", "client had left",
		  "clients had left", "");
	if (buf[0] == '\0')
		snprintf(buf, len, "no waiting request left to answer");
}

size_t http_in_flight(const struct http_server *srv)
{
	return atomic_load_explicit(&srv->xs.in_flight, memory_order_relaxed);
}

void http_stop(struct http_server *srv)
{
	struct timespec tick = {.tv_sec = 0, .tv_nsec = 1000000};

	/* libmicrohttpd aborts if it is stopped with a suspended connection.
	 * Every suspension has a deadline in the queue or was resumed at
	 * once (the queue refused it); closing the queue fires every
	 * deadline, and once no callback is still running every suspended
	 * connection has been resumed and none can be suspended again. */
	http_flush(srv);
	while (timerq_pending(srv->xs.timers) > 0)
		nanosleep(&tick, NULL);
	MHD_stop_daemon(srv->daemon); /* closes every connection */
	assert(atomic_load(&srv->xs.waiting) == 0);
	acceptor_free(srv->acceptor);
	free_server(srv);
}
