/* exchange.h - one request's life on a libmicrohttpd connection, from
 * its headers to its completion.
 *
 * http.c runs the daemon and its connections: it gives each connection
 * a struct conn (exchange_conn_new) and registers the callbacks below,
 * with the server's struct exchanges as their closure.  What a request is
 * answered with is routes.c's business; how the answer becomes a
 * response, responses.c's; a transport fault's plan and pacing,
 * transport.c's; what is logged, access.c's.  This file carries a
 * request through them, and through the waiting in between.
 *
 * Per-request state lives in the connection's socket context: HTTP/1.1
 * runs one request at a time on a connection, so one struct conn per
 * connection holds its random stream and its current exchange, and a
 * request costs no allocation of ours beyond its response.
 */
#ifndef USERD_EXCHANGE_H
#define USERD_EXCHANGE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aim.h"
#include "capacity.h"
#include "journal.h"
#include "live.h"
#include "metrics.h"
#include "mhd_compat.h"
#include "responses.h"
#include "routes.h"
#include "settings.h"
#include "timerq.h"

/* What every exchange of one server shares; the server (http.c) sets it
 * up, and reads the counts and sets the flags below. */
struct exchanges {
	timerq *timers;
	struct aim aim;             /* how early to aim drawn deadlines */
	struct metrics *metrics;
	struct live *live;          /* NULL with --no-dashboard */
	struct journal *journal;    /* NULL with --journal 0 */
	struct routes_env env;
	pthread_mutex_t settings_lock;
	struct settings *settings;  /* under settings_lock; a reference */
	bool tls;                   /* HTTPS */
	struct responses_shared shared;
	_Atomic size_t in_flight;
	_Atomic uint64_t arrivals;  /* requests numbered so far (the journal's seq) */
	_Atomic size_t waiting;     /* suspended on the timer queue */
	pthread_mutex_t capacity_lock;
	struct capacity capacity;   /* --capacity: under capacity_lock */
	atomic_bool draining;       /* 503 to what arrives, close after answers */
	atomic_bool flushed;        /* the drain gave up waiting: no more waits */
	/* What became of the exchanges the flush ended, as each completed. */
	_Atomic size_t flush_answered; /* a 503, sent in full */
	_Atomic size_t flush_rushed;   /* a dripping body, the rest sent in full */
	_Atomic size_t flush_gone;     /* the client had left, or left mid-answer */
};

/* A connection's state. */
struct conn;

/* The state of libmicrohttpd's connection c, its random stream
 * rng_stream(seed, ordinal); freed with free() once c has closed.  NULL
 * when out of memory (the connection's requests are then closed at
 * once). */
struct conn *exchange_conn_new(struct exchanges *xs, struct MHD_Connection *c,
			       uint64_t seed, uint64_t ordinal);

/* libmicrohttpd's access handler (cls: the struct exchanges). */
MHD_Result_t exchange_on_request(void *cls, struct MHD_Connection *c,
				 const char *url, const char *method,
				 const char *version, const char *upload_data,
				 size_t *upload_data_size, void **req_cls);

/* libmicrohttpd's request-completed callback, whatever happened to the
 * client (cls: the struct exchanges): counts and logs a request that was
 * answered or faulted, counts a client that left while its request
 * waited as a disconnect only, and frees the exchange's state. */
void exchange_on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
			   enum MHD_RequestTerminationCode toe);

/* libmicrohttpd's URI log callback: the request target as received,
 * before libmicrohttpd splits off the query and decodes it, to tell
 * where its C string ends (a raw NUL cuts it short). */
void *exchange_on_uri(void *cls, const char *uri, struct MHD_Connection *c);

#endif
