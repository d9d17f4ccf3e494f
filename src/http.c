/* http.c - the libmicrohttpd layer; see http.h.
 *
 * What a request is answered with is routes.c's business; this file
 * takes connections from the acceptor, hands each complete request to
 * routes_dispatch(), turns the answer into a libmicrohttpd response, and
 * sends it at once or after the route's delay.
 *
 * Per-request state lives in the connection's socket context: HTTP/1.1
 * runs one request at a time on a connection, so one struct conn per
 * connection holds its random stream and its current exchange, and a
 * request costs no allocation of ours beyond its response.
 *
 * An exchange's life: on_request() sees its headers (EX_NEW), then its
 * end; dispatch() routes it and sends the answer, or suspends the
 * connection and adds its deadline to the timer queue (EX_WAITING).
 * on_deadline() on the timer thread marks it EX_DUE (EX_FLUSHED when the
 * drain gave up waiting) and resumes the connection; on_request() runs
 * again and sends.  on_completed() counts, logs and frees, whatever
 * happened to the client.
 *
 * The faults that are not an answer (transport.h) are planned there and
 * carried out here, after the delay: reset and close end the connection
 * (EX_FAULTED); hang keeps it suspended (EX_HANGING), looked at on the
 * timer queue, until the client leaves or --hang-timeout passes; drip and
 * truncate send the body from a content reader that transport_read()
 * feeds, drip suspending between its chunks on the same timer queue.
 */
#include "http.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "access.h"
#include "acceptor.h"
#include "live.h"
#include "log.h"
#include "mhd_compat.h"
#include "mhd_log.h"
#include "metrics.h"
#include "render.h"
#include "request.h"
#include "responses.h"
#include "routes.h"
#include "tls.h"
#include "transport.h"
#include "util.h"

enum exchange_state {
	EX_NEW = 0,  /* headers seen, not yet dispatched */
	EX_WAITING,  /* suspended, deadline in the timer queue */
	EX_DUE,      /* deadline passed: send the prepared answer */
	EX_FLUSHED,  /* the drain gave up waiting: answer 503 */
	EX_ANSWERED, /* a response is queued */
	EX_HANGING,  /* a hang fault: suspended, looked at every second */
	EX_HUNG,     /* the hang is over: close */
	EX_FAULTED,  /* closed on purpose (reset, close, hang) */
};

/* The most fds whose connections get an ordinal in accept order (8 bytes
 * each): 2^22, above Linux's default fs.nr_open of 2^20. */
#define ORDINAL_SLOTS_MAX ((size_t)1 << 22)

/* One request and its answer on a connection. */
struct exchange {
	struct timerq_entry timer;
	struct MHD_Response *response; /* an answer of its own, or NULL */
	enum route_canned canned;      /* else this shared one */
	unsigned status;               /* of the answer */
	enum exchange_state state;
	enum metrics_route metrics_route;
	enum access_log_format log_format; /* in force when it was dispatched */
	bool counted;                  /* user traffic: count and log it */
	bool accepted;                 /* first seen before the drain began */
	bool nul_in_target;            /* a raw NUL byte cut the target short */
	bool waited;                   /* was suspended on the timer */
	bool flushed;                  /* the drain's flush ended its wait */
	struct transport transport;    /* its fault, to do after the delay */
	unsigned hang_timeout_s;
	uint64_t started_ns;
	uint64_t deadline_ns;
	uint64_t timer_late_ns;        /* from the deadline to the resume */
	uint64_t delay_us;
	uint64_t body_len;             /* the body sent (a shared answer's: */
				       /* set when it is queued), for the log */
	const char *method;            /* libmicrohttpd's, valid until completed */
	const char *url;
	const char *version;
};

struct conn {
	struct http_server *srv;
	struct MHD_Connection *mhd;
	struct rng rng;
	struct exchange ex;
	const char *raw_uri_end; /* the request target as received, to spot NULs */
};

struct http_server {
	struct MHD_Daemon *daemon;
	acceptor *acceptor;     /* takes connections for the daemon */
	int listen_fd;          /* -1 once the drain closed it */
	timerq *timers;
	struct metrics *metrics;
	struct live *live;      /* NULL with --no-dashboard */
	struct routes_env env;
	pthread_mutex_t settings_lock;
	struct settings *settings;    /* under settings_lock; a reference */
	uint64_t seed;          /* --seed's, or the OS's: each connection's
				 * stream is rng_stream(seed, its ordinal) */
	bool tls;               /* HTTPS */
	bool client_certs;      /* TLS: demand and verify client certificates */
	/* Accept order: on the acceptor's thread each connection gets the
	 * next ordinal (1, 2, ...), filed under its fd for on_connection
	 * (libmicrohttpd starts connections on its workers, which may take
	 * them in another order). */
	uint64_t accepted;                 /* the acceptor's thread only */
	_Atomic uint64_t *ordinal_of_fd;   /* ordinal_slots entries */
	size_t ordinal_slots;
	_Atomic uint64_t unnumbered;       /* fds beyond the table */
	_Atomic size_t in_flight;
	_Atomic size_t waiting;     /* suspended on the timer queue */
	_Atomic size_t connections; /* told STARTED and not yet CLOSED */
	atomic_bool draining;
	atomic_bool flushed;        /* the drain gave up waiting: no more waits */
	/* What became of the exchanges the flush ended, as each completed. */
	_Atomic size_t flush_answered; /* a 503, sent in full */
	_Atomic size_t flush_rushed;   /* a dripping body, the rest sent in full */
	_Atomic size_t flush_gone;     /* the client had left, or left mid-answer */
	struct responses_shared shared; /* the shared answers */
};

/* ---- answers ------------------------------------------------------------ */

/* Choose a shared answer for ex (sent when ex is answered: the variant
 * with "Connection: close" if the drain has begun by then). */
static void use_canned(struct exchange *ex, enum route_canned which, unsigned status)
{
	if (ex->response != NULL)
		MHD_destroy_response(ex->response);
	ex->response = NULL;
	ex->canned = which;
	ex->status = status;
}

static ssize_t paced_reader(void *cls, uint64_t pos, char *buf, size_t max);
static void paced_free(void *cls);

/* Make ex's answer the route's answer.  A paced one (drip, truncate)
 * comes from a content reader that transport_read() feeds, announcing
 * the length the transport says. */
static void use_answer(struct conn *conn, struct route_answer *ans)
{
	struct exchange *ex = &conn->ex;
	struct MHD_Response *resp;

	ex->delay_us = ans->delay_us;
	ex->body_len = ans->body_len;
	transport_set(&ex->transport, ans->fault);
	if (ans->shared) {
		use_canned(ex, ans->canned, ans->status);
		return;
	}
	if (ex->transport.plan == TRANSPORT_PACE) {
		uint64_t length = transport_pace(&ex->transport, ans->body, ans->body_len);

		ans->body = NULL; /* the transport's: freed by paced_free */
		resp = responses_from_reader(ans, length, paced_reader, conn, paced_free);
		if (resp == NULL)
			transport_release(&ex->transport);
		ex->body_len = 0; /* for the log: what the reader hands out */
	} else {
		resp = responses_body(ans);
	}
	if (resp == NULL) {
		use_canned(ex, CANNED_INTERNAL, 500);
		return;
	}
	if (ex->response != NULL)
		MHD_destroy_response(ex->response);
	ex->response = resp;
	ex->status = ans->status;
}

/* Send ex's chosen answer now.  While draining every connection is
 * closed after its answer. */
static MHD_Result_t send_answer(struct http_server *srv, struct MHD_Connection *c,
				struct exchange *ex)
{
	bool closing = atomic_load_explicit(&srv->draining, memory_order_relaxed);

	if (ex->response != NULL && closing &&
	    !responses_add_header(ex->response, MHD_HTTP_HEADER_CONNECTION, "close"))
		use_canned(ex, CANNED_INTERNAL, 500);
	if (ex->response == NULL)
		ex->body_len = srv->shared.len[ex->canned]; /* what is sent */
	ex->state = EX_ANSWERED;
	return MHD_queue_response(c, ex->status, ex->response != NULL
					  ? ex->response : srv->shared.resp[closing][ex->canned]);
}

/* ---- waiting --------------------------------------------------------------- */

/* Did the client close or reset its connection while its request waited?
 * (A suspended connection is not polled: see transport_peer_gone.) */
static bool client_gone(const struct conn *conn)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(conn->mhd, MHD_CONNECTION_INFO_CONNECTION_FD);

	return info != NULL && transport_peer_gone(info->connect_fd, conn->srv->tls);
}

/* The drain's flush ends ex's wait: it is answered 503 (or closed, if its
 * client left), and a fault it drew but has not begun never happens. */
static void end_wait(struct exchange *ex)
{
	if (ex->state != EX_HANGING)
		transport_cancel(&ex->transport);
	ex->state = EX_FLUSHED;
	ex->flushed = true;
}

/* Timer thread: the deadline passed (or the drain flushed it).  The
 * resume hands the exchange back to its libmicrohttpd thread, so the
 * resume is the last touch. */
static void on_deadline(struct timerq_entry *entry, uint64_t now_ns,
			enum timerq_reason reason)
{
	struct exchange *ex = container_of(entry, struct exchange, timer);
	struct conn *conn = container_of(ex, struct conn, ex);
	struct http_server *srv = conn->srv;

	if (reason == TIMERQ_FLUSHED) {
		end_wait(ex);
	} else if (ex->state == EX_WAITING) {
		ex->timer_late_ns = now_ns - ex->deadline_ns;
		metrics_lateness(srv->metrics, ex->timer_late_ns);
		ex->state = EX_DUE;
		if (ex->transport.plan == TRANSPORT_HOLD) {
			ex->state = EX_HANGING;
			transport_hold_begin(&ex->transport, now_ns, ex->hang_timeout_s);
		}
	}
	if (ex->state == EX_HANGING) {
		/* Held until the client leaves or the hang times out; looked
		 * at (not polled) meanwhile. */
		uint64_t next;

		if (transport_hold_next(&ex->transport, now_ns, &next) &&
		    !client_gone(conn) &&
		    timerq_add(srv->timers, &ex->timer, next, on_deadline))
			return;
		ex->state = EX_HUNG;
	}
	atomic_fetch_sub_explicit(&srv->waiting, 1, memory_order_relaxed);
	MHD_resume_connection(conn->mhd);
}

/* Send ex's answer after its delay, or now when there is none.  Once the
 * drain has flushed the timer queue nothing waits any more: the answer
 * is then 503 at once (the queue refuses the deadline if the flush comes
 * between the check and the suspension). */
static MHD_Result_t deliver(struct http_server *srv, struct MHD_Connection *c,
			    struct exchange *ex);

static MHD_Result_t wait_then_send(struct http_server *srv, struct conn *conn,
				   struct MHD_Connection *c)
{
	struct exchange *ex = &conn->ex;

	if (ex->delay_us == 0 && ex->transport.plan != TRANSPORT_HOLD)
		return deliver(srv, c, ex);
	if (atomic_load(&srv->flushed)) {
		end_wait(ex);
		use_canned(ex, CANNED_DRAINING, 503);
		return send_answer(srv, c, ex);
	}
	ex->state = EX_WAITING;
	ex->waited = true;
	ex->deadline_ns = timerq_now() + ex->delay_us * 1000u;
	atomic_fetch_add_explicit(&srv->waiting, 1, memory_order_relaxed);
	MHD_suspend_connection(c);
	if (!timerq_add(srv->timers, &ex->timer, ex->deadline_ns, on_deadline)) {
		atomic_fetch_sub_explicit(&srv->waiting, 1, memory_order_relaxed);
		end_wait(ex);
		MHD_resume_connection(c); /* answered 503 when it runs again */
	}
	return MHD_YES;
}

/* ---- faults that are not answers ------------------------------------------ */

/* End ex on purpose with no answer: libmicrohttpd closes the connection. */
static MHD_Result_t close_faulted(struct exchange *ex)
{
	ex->state = EX_FAULTED;
	ex->status = 0;
	ex->body_len = 0;
	return MHD_NO;
}

/* Send ex's answer, or fail the way its transport fault plans: reset
 * (an RST: the socket is disconnected before libmicrohttpd closes it,
 * since its close begins with a FIN) or close (a FIN, no answer). */
static MHD_Result_t deliver(struct http_server *srv, struct MHD_Connection *c,
			    struct exchange *ex)
{
	const union MHD_ConnectionInfo *info;

	switch (ex->transport.plan) {
	case TRANSPORT_RESET:
		info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (info != NULL)
			transport_reset(info->connect_fd);
		return close_faulted(ex);
	case TRANSPORT_CLOSE:
		return close_faulted(ex);
	case TRANSPORT_SEND:
	case TRANSPORT_PACE:
	case TRANSPORT_HOLD: /* held before, never delivered */
		break;
	}
	return send_answer(srv, c, ex);
}

/* The timer thread: a dripping connection may send its next chunk. */
static void on_drip_tick(struct timerq_entry *entry, uint64_t now_ns,
			 enum timerq_reason reason)
{
	struct exchange *ex = container_of(entry, struct exchange, timer);
	struct conn *conn = container_of(ex, struct conn, ex);

	(void)now_ns;
	(void)reason;
	MHD_resume_connection(conn->mhd);
}

/* libmicrohttpd asks for body bytes from `pos`: what transport_read()
 * hands out.  An error makes libmicrohttpd close the connection (short
 * of the Content-Length).  Asked to wait, the connection is suspended
 * until then (returning 0 unsuspended would busy-loop), unless the timer
 * queue is closed (the drain gave up): then the rest goes at once, if
 * the client is still there. */
static ssize_t paced_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct conn *conn = cls;
	struct exchange *ex = &conn->ex;
	uint64_t until = 0;
	size_t n = 0;
	enum transport_step step = transport_read(&ex->transport, pos, buf, max,
						  timerq_now(), &n, &until);

	if (step == TRANSPORT_WAIT) {
		MHD_suspend_connection(conn->mhd);
		if (timerq_add(conn->srv->timers, &ex->timer, until, on_drip_tick))
			return 0;
		MHD_resume_connection(conn->mhd);
		transport_rush(&ex->transport);
		if (client_gone(conn))
			return MHD_CONTENT_READER_END_WITH_ERROR;
		step = transport_read(&ex->transport, pos, buf, max, timerq_now(), &n, &until);
	}
	switch (step) {
	case TRANSPORT_DATA:
		ex->body_len = pos + n;
		return (ssize_t)n;
	case TRANSPORT_END:
		return MHD_CONTENT_READER_END_OF_STREAM;
	case TRANSPORT_WAIT: /* not after a rush */
	case TRANSPORT_ABORT:
		break;
	}
	return MHD_CONTENT_READER_END_WITH_ERROR;
}

static void paced_free(void *cls)
{
	struct conn *conn = cls;

	transport_release(&conn->ex.transport);
}

/* ---- dispatch -------------------------------------------------------------- */

/* routes' view of the query: libmicrohttpd's parsed arguments. */
static bool query_get(void *cls, const char *key, const char **value, size_t *len)
{
	struct MHD_Connection *c = cls;

	if (MHD_lookup_connection_value_n(c, MHD_GET_ARGUMENT_KIND, key,
					  strlen(key), value, len) != MHD_YES)
		return false;
	if (*value == NULL) {
		*value = "";
		*len = 0;
	}
	return true;
}

static struct metrics_gauges gauges_of(void *cls)
{
	struct http_server *srv = cls;
	struct metrics_gauges g = {
		.waiting = atomic_load(&srv->waiting),
		.in_flight = atomic_load(&srv->in_flight),
		.connections = atomic_load(&srv->connections),
		.ready = !atomic_load(&srv->draining),
	};

	return g;
}

/* The settings in force: a reference for the caller to drop. */
static struct settings *http_settings(struct http_server *srv)
{
	struct settings *s;

	pthread_mutex_lock(&srv->settings_lock);
	s = settings_ref(srv->settings);
	pthread_mutex_unlock(&srv->settings_lock);
	return s;
}

/* A complete request: route it, then answer now or after its delay. */
static MHD_Result_t dispatch(struct conn *conn, struct MHD_Connection *c,
			     const char *url, const char *method)
{
	struct http_server *srv = conn->srv;
	struct exchange *ex = &conn->ex;
	struct settings *s = http_settings(srv);
	struct route_request req = {
		.method = method,
		.path = url,
		.query = {.get = query_get, .cls = c},
		.rng = &conn->rng,
		.settings = &s->run,
		.rules = s->rules,
		.accepted = ex->accepted,
		.draining = atomic_load(&srv->draining),
		.now_ns = timerq_now(),
	};
	struct route_answer ans;

	ex->log_format = s->run.access_log;
	ex->hang_timeout_s = s->run.hang_timeout_s;
	if (ex->nul_in_target) {
		settings_unref(s);
		ex->counted = true;
		use_canned(ex, CANNED_BAD_TARGET, 400);
		return send_answer(srv, c, ex);
	}
	routes_dispatch(&srv->env, &req, &ans);
	settings_unref(s);
	ex->counted = ans.counted;
	ex->metrics_route = ans.metrics_route;
	use_answer(conn, &ans);
	return wait_then_send(srv, conn, c);
}

/* ---- libmicrohttpd callbacks ------------------------------------------- */

static MHD_Result_t add_framing_header(void *cls, enum MHD_ValueKind kind,
				       const char *key, const char *value)
{
	(void)kind;
	request_framing_header(cls, key, value);
	return MHD_YES;
}

/* The headers are in: check what RFC 9112 says must be rejected.  An
 * answer queued now, before any body is read, makes libmicrohttpd close
 * the connection after it (it never reads that body as a request). */
static MHD_Result_t check_framing(struct http_server *srv, struct MHD_Connection *c,
				  struct exchange *ex, const char *version)
{
	struct request_framing f;
	struct route_answer ans;
	const char *bad;
	unsigned status;

	memset(&f, 0, sizeof(f));
	MHD_get_connection_values(c, MHD_HEADER_KIND, add_framing_header, &f);
	bad = request_framing_error(&f, strcmp(version, MHD_HTTP_VERSION_1_0) == 0,
				    &status);
	if (bad == NULL)
		return MHD_YES;
	pthread_mutex_lock(&srv->settings_lock);
	ex->log_format = srv->settings->run.access_log;
	pthread_mutex_unlock(&srv->settings_lock);
	routes_reject(&ans, status, bad);
	ex->counted = ans.counted;
	ex->metrics_route = ans.metrics_route;
	use_answer(container_of(ex, struct conn, ex), &ans);
	return send_answer(srv, c, ex);
}

static MHD_Result_t on_request(void *cls, struct MHD_Connection *c,
			       const char *url, const char *method,
			       const char *version, const char *upload_data,
			       size_t *upload_data_size, void **req_cls)
{
	struct http_server *srv = cls;
	struct exchange *ex = *req_cls;
	struct conn *conn;

	(void)upload_data;
	if (ex == NULL) {
		/* Headers are in; the body (if any) comes next. */
		const union MHD_ConnectionInfo *info =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

		conn = info != NULL ? info->socket_context : NULL;
		if (conn == NULL)
			return MHD_NO; /* no memory for the connection: close */
		ex = &conn->ex;
		memset(ex, 0, sizeof(*ex));
		ex->canned = CANNED_INTERNAL; /* until an answer is chosen */
		ex->started_ns = timerq_now();
		ex->method = method;
		ex->url = url;
		ex->version = version;
		ex->accepted = !atomic_load_explicit(&srv->draining, memory_order_relaxed);
		/* libmicrohttpd ends the target at the space before the
		 * version; a shorter C string means a raw NUL inside it, which
		 * would otherwise silently truncate the path. */
		ex->nul_in_target = conn->raw_uri_end != NULL && version[0] != '\0' &&
				    conn->raw_uri_end + 1 != version;
		conn->raw_uri_end = NULL;
		atomic_fetch_add_explicit(&srv->in_flight, 1, memory_order_relaxed);
		*req_cls = ex;
		return check_framing(srv, c, ex, version);
	}
	conn = container_of(ex, struct conn, ex);

	if (*upload_data_size != 0) {
		/* No route takes a body: discard it. */
		*upload_data_size = 0;
		return MHD_YES;
	}
	switch (ex->state) {
	case EX_NEW:
		return dispatch(conn, c, url, method);
	case EX_DUE:
	case EX_FLUSHED:
		/* One rule at a deadline and at the drain's flush: a client
		 * that left is counted as gone, not answered. */
		if (client_gone(conn))
			return MHD_NO; /* close; on_completed counts the disconnect */
		if (ex->state == EX_FLUSHED) {
			use_canned(ex, CANNED_DRAINING, 503);
			return send_answer(srv, c, ex);
		}
		return deliver(srv, c, ex);
	case EX_HUNG:
		return close_faulted(ex);
	case EX_WAITING:
	case EX_ANSWERED:
	case EX_HANGING:
	case EX_FAULTED:
		break;
	}
	log_error("request handler called in unexpected state %d", (int)ex->state);
	return MHD_NO;
}

/* The parsed query arguments, into the log's query text. */
static MHD_Result_t add_query_arg(void *cls, enum MHD_ValueKind kind,
				  const char *key, const char *value)
{
	(void)kind;
	return access_query_add(cls, key, value) ? MHD_YES : MHD_NO; /* NO: full */
}

static void log_access(struct MHD_Connection *c, const struct exchange *ex,
		       uint64_t now_ns)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	struct access_query q = {.len = 0};
	struct access_exchange x = {
		.client = info != NULL ? info->client_addr : NULL,
		.method = ex->method,
		.path = ex->url,
		.query = q.buf,
		.version = ex->version,
		.status = ex->status,
		.body_len = ex->body_len,
		.fault = ex->transport.fault.kind,
		.delay_us = ex->delay_us,
		.started_ns = ex->started_ns,
		.completed_ns = now_ns,
		.waited = ex->waited,
		.deadline_ns = ex->deadline_ns,
		.timer_late_ns = ex->timer_late_ns,
	};

	q.buf[0] = '\0';
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_query_arg, &q);
	access_log_exchange(ex->log_format, &x);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_server *srv = cls;
	struct exchange *ex = *req_cls;

	if (ex == NULL)
		return;
	/* A suspended connection is never completed: libmicrohttpd does not
	 * time it out, and http_stop() resumes every one before it stops.
	 * So no deadline can fire into the memory freed here. */
	assert(ex->state != EX_WAITING && ex->state != EX_HANGING);
	if (ex->waited && ex->state != EX_FAULTED &&
	    toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
		metrics_disconnect(srv->metrics);
	if (ex->counted && (ex->state == EX_ANSWERED || ex->state == EX_FAULTED)) {
		uint64_t now = timerq_now();

		/* The answer has been handed to the kernel: how late that is
		 * is what the client feels. */
		if (ex->waited && ex->state == EX_ANSWERED && now > ex->deadline_ns &&
		    toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
			metrics_response_lateness(srv->metrics, now - ex->deadline_ns);
		metrics_request(srv->metrics, ex->metrics_route, ex->status,
				now - ex->started_ns);
		if (srv->live != NULL && ex->metrics_route != METRICS_ROUTE_OTHER)
			live_record(srv->live, ex->metrics_route == METRICS_ROUTE_USER
					? LIVE_ROUTE_USER : LIVE_ROUTE_USERS,
				    ex->status, ex->started_ns, now);
		if (ex->log_format != ACCESS_LOG_OFF)
			log_access(c, ex, now);
	}
	if (ex->flushed || ex->transport.rushed) {
		/* What the flush's client got: its answer in full, or no more. */
		bool got = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK &&
			   ex->state == EX_ANSWERED;

		atomic_fetch_add(!got ? &srv->flush_gone
				 : ex->transport.rushed ? &srv->flush_rushed
				 : &srv->flush_answered, 1);
	}
	if (ex->response != NULL)
		MHD_destroy_response(ex->response);
	ex->response = NULL;
	*req_cls = NULL;
	atomic_fetch_sub_explicit(&srv->in_flight, 1, memory_order_relaxed);
}

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
	conn = calloc(1, sizeof(*conn));
	if (conn == NULL) {
		log_warn("out of memory for a new connection");
		return;
	}
	conn->srv = srv;
	conn->mhd = c;
	/* A stream of its own, the same for the same seed and ordinal. */
	rng_stream(&conn->rng, srv->seed, ordinal_of(srv, c));
	*socket_context = conn;
}

/* The request target as received, before libmicrohttpd splits off the
 * query and decodes it: remember where its C string ends. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct conn *conn = info != NULL ? info->socket_context : NULL;

	(void)cls;
	if (conn != NULL)
		conn->raw_uri_end = uri + strlen(uri);
	return NULL; /* no request context yet: on_request makes it */
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

/* ---- life cycle -------------------------------------------------------- */

static void free_server(struct http_server *srv)
{
	settings_unref(srv->settings);
	responses_shared_free(&srv->shared);
	live_destroy(srv->live);
	metrics_destroy(srv->metrics);
	free(srv->ordinal_of_fd);
	pthread_mutex_destroy(&srv->settings_lock);
	free(srv);
}

/* The server's state before libmicrohttpd starts, or NULL out of memory. */
static struct http_server *new_server(const struct http_options *opts)
{
	struct metrics_build build = {
		.version = opts->version,
		.libmicrohttpd = MHD_get_version(),
		.jansson = render_library_version(),
	};
	struct http_server *srv = calloc(1, sizeof(*srv));
	struct rlimit rl;

	if (srv == NULL)
		return NULL;
	pthread_mutex_init(&srv->settings_lock, NULL);
	srv->listen_fd = opts->listen_fd;
	srv->timers = opts->timers;
	srv->settings = settings_ref(opts->settings);
	srv->seed = opts->seeded ? opts->seed : rng_os_seed();
	srv->tls = opts->tls_cert != NULL;
	srv->client_certs = opts->tls_cert != NULL && opts->tls_trust != NULL;
	/* Room for every fd the process may open (main.c has raised the
	 * soft limit to the hard one); untouched pages cost nothing. */
	srv->ordinal_slots = getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
			     rl.rlim_max < ORDINAL_SLOTS_MAX
		? (size_t)rl.rlim_max : ORDINAL_SLOTS_MAX;
	srv->ordinal_of_fd = calloc(srv->ordinal_slots, sizeof(*srv->ordinal_of_fd));
	srv->metrics = metrics_create(&build);
	if (opts->dashboard)
		srv->live = live_create(&opts->settings->run.delay);
	if (srv->ordinal_of_fd == NULL || srv->metrics == NULL ||
	    (opts->dashboard && srv->live == NULL) ||
	    !responses_shared_build(&srv->shared)) {
		free_server(srv);
		return NULL;
	}
	srv->env.metrics = srv->metrics;
	srv->env.live = srv->live;
	srv->env.gauges = gauges_of;
	srv->env.gauges_cls = srv;
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
			flags, 0, NULL, NULL, on_request, srv,
			MHD_OPTION_EXTERNAL_LOGGER, mhd_log, mhd_log_cls(opts->listen_fd, false), /* first: see docs */
			MHD_OPTION_ARRAY, pool,
			MHD_OPTION_ARRAY, tls,
			MHD_OPTION_CONNECTION_LIMIT, mhd_limit,
			MHD_OPTION_CONNECTION_TIMEOUT, opts->timeout_s,
			MHD_OPTION_CONNECTION_MEMORY_LIMIT, opts->connection_memory,
			MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
			MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv,
			MHD_OPTION_UNESCAPE_CALLBACK, on_unescape, srv,
			MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv,
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
	pthread_mutex_lock(&srv->settings_lock);
	old = srv->settings;
	srv->settings = s;
	pthread_mutex_unlock(&srv->settings_lock);
	settings_unref(old);
	if (srv->live != NULL)
		live_set_model(srv->live, &s->run.delay);
}

struct metrics *http_metrics(struct http_server *srv)
{
	return srv->metrics;
}

struct metrics_gauges http_gauges(struct http_server *srv)
{
	return gauges_of(srv);
}

void http_drain(struct http_server *srv)
{
	if (atomic_exchange(&srv->draining, true))
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
	atomic_store(&srv->flushed, true);
	timerq_close(srv->timers);
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
	say_count(buf, len, atomic_load(&srv->flush_answered), "answered ",
		  "waiting request", "waiting requests", " with 503");
	say_count(buf, len, atomic_load(&srv->flush_rushed), "sent the rest of ",
		  "dripping body", "dripping bodies", " at once");
	say_count(buf, len, atomic_load(&srv->flush_gone), "", "client had left",
		  "clients had left", "");
	if (buf[0] == '\0')
		snprintf(buf, len, "no waiting request left to answer");
}

size_t http_in_flight(const struct http_server *srv)
{
	return atomic_load_explicit(&srv->in_flight, memory_order_relaxed);
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
	while (timerq_pending(srv->timers) > 0)
		nanosleep(&tick, NULL);
	MHD_stop_daemon(srv->daemon); /* closes every connection */
	assert(atomic_load(&srv->waiting) == 0);
	acceptor_free(srv->acceptor);
	free_server(srv);
}
