/* http.c - libmicrohttpd front end; see http.h.
 *
 * Per-request state lives in the connection's socket context: HTTP/1.1
 * runs one request at a time on a connection, so one struct conn per
 * connection holds its random stream and its current request, and a
 * request costs no allocation of ours beyond its response.
 *
 * A request's life: on_request() sees its headers (REQ_NEW), then its end;
 * dispatch() routes it and either answers at once or prepares the answer,
 * suspends the connection and adds its deadline to the timer queue
 * (REQ_WAITING).  on_deadline() on the timer thread marks it REQ_DUE and
 * resumes the connection; on_request() runs again and queues the answer.
 * on_completed() counts, logs and frees, whatever happened to the client.
 */
#include "http.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "access.h"
#include "acceptor.h"
#include "dashboard.h" /* issue 15: the live dashboard */
#include "live.h"      /* issue 15 */
#include "log.h"
#include "metrics.h"
#include "render.h"
#include "request.h"
#include "user.h"
#include "util.h"

/* libmicrohttpd version shims, all in one place. */
#if MHD_VERSION < 0x00097002
typedef int MHD_Result_t;
#else
typedef enum MHD_Result MHD_Result_t;
#endif

enum req_state {
	REQ_NEW = 0,  /* headers seen, not yet dispatched */
	REQ_WAITING,  /* suspended, deadline in the timer queue */
	REQ_DUE,      /* deadline passed (or none): send the prepared answer */
	REQ_FLUSHED,  /* the drain timed out while waiting: answer 503 */
	REQ_ANSWERED, /* a response is queued */
};

/* Answers that are the same every time: built once at start and shared by
 * every connection (libmicrohttpd responses are reference-counted). */
enum canned {
	CANNED_BAD_REQUEST, /* placeholder: 400s carry their own message */
	CANNED_BAD_ID,
	CANNED_NOT_FOUND,
	CANNED_METHOD,
	CANNED_DRAINING,
	CANNED_FAULT,
	CANNED_INTERNAL,
	CANNED_HEALTHY,
	CANNED_READY,
	CANNED_NOT_READY,
	CANNED_PAGE,        /* the live page (GET /) */
	CANNED_COUNT,
};

struct request {
	struct timerq_entry timer;
	struct MHD_Response *response; /* an answer of its own, or NULL */
	bool owned;                    /* the answer is `response`, ours to destroy */
	enum canned canned;            /* else the answer is this shared one */
	unsigned status;               /* of the answer */
	enum req_state state;
	enum request_route route;
	enum access_log_format log_format; /* in force when it was dispatched */
	bool accepted;                 /* first seen before the drain began */
	bool nul_in_target;            /* a raw NUL byte cut the target short */
	bool waited;                   /* was suspended on the timer */
	bool counted;                  /* user traffic: count and log it */
	uint64_t started_ns;
	uint64_t deadline_ns;
	uint64_t delay_us;
	uint64_t body_len;
	const char *method;            /* libmicrohttpd's, valid until completed */
	const char *url;
	const char *version;
};

struct conn {
	struct http_server *srv;
	struct MHD_Connection *mhd;
	struct rng rng;
	struct request req;
	const char *raw_uri_end; /* the request target as received, to spot NULs */
};

static const struct {
	unsigned status;
	const char *text; /* error message, or status word for health */
} canned_text[CANNED_COUNT] = {
	[CANNED_BAD_REQUEST] = {400, "malformed request target"},
	[CANNED_BAD_ID] = {400, "invalid user id: expected a decimal integer "
				"from 0 to 9223372036854775807"},
	[CANNED_NOT_FOUND] = {404, "not found"},
	[CANNED_METHOD] = {405, "method not allowed"},
	[CANNED_DRAINING] = {503, "service is shutting down"},
	[CANNED_FAULT] = {503, "injected fault"},
	[CANNED_INTERNAL] = {500, "internal server error"},
	[CANNED_HEALTHY] = {200, "ok"},
	[CANNED_READY] = {200, "ready"},
	[CANNED_NOT_READY] = {503, "draining"},
	[CANNED_PAGE] = {200, NULL},
};

struct http_server {
	struct MHD_Daemon *daemon;
	acceptor *acceptor;     /* takes connections for the daemon */
	int listen_fd;          /* -1 once the drain closed it */
	timerq *timers;
	struct metrics *metrics;
	pthread_mutex_t settings_lock;
	struct run_settings settings; /* under settings_lock */
	bool seeded;
	uint64_t seed;
	_Atomic uint64_t conn_counter;
	_Atomic size_t in_flight;
	_Atomic size_t waiting;     /* suspended on the timer queue */
	_Atomic size_t connections;
	atomic_bool draining;
	atomic_bool flushed;        /* the drain gave up waiting: no more waits */
	/* [0]: as normal; [1]: with "Connection: close", for the drain. */
	struct MHD_Response *canned[2][CANNED_COUNT];
	struct live *live;          /* issue 15: NULL with --no-dashboard */
};

static const char content_type_json[] = "application/json";
static const char content_type_metrics[] = "text/plain; version=0.0.4; charset=utf-8";

/* ---- responses --------------------------------------------------------- */

/* Give `resp` its Content-Type.  On failure `resp` is destroyed (and
 * with it a body it owns) and NULL returned. */
static struct MHD_Response *typed(struct MHD_Response *resp, const char *type)
{
	if (resp != NULL &&
	    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type) != MHD_YES) {
		MHD_destroy_response(resp);
		return NULL;
	}
	return resp;
}

/* A response with a copy of `body`, or NULL when out of memory. */
static struct MHD_Response *copied_response(const char *body, size_t len,
					    const char *type)
{
	return typed(MHD_create_response_from_buffer(len, (void *)(uintptr_t)body,
						     MHD_RESPMEM_MUST_COPY),
		     type);
}

static struct MHD_Response *error_response(unsigned status, const char *msg)
{
	char body[RENDER_BUF_SIZE];
	size_t len = render_error(status, msg, body, sizeof(body));

	return len == 0 ? NULL : copied_response(body, len, content_type_json);
}

/* Tell the client the delay it was given, in the standard Server-Timing
 * header (browsers' developer tools show it): "delay;dur=812.345" (ms). */
static bool add_server_timing(struct MHD_Response *resp, uint64_t delay_us)
{
	char value[48];

	snprintf(value, sizeof(value), "delay;dur=%" PRIu64 ".%03u",
		 delay_us / 1000u, (unsigned)(delay_us % 1000u));
	return MHD_add_response_header(resp, "Server-Timing", value) == MHD_YES;
}

/* Choose a shared answer for r (sent when r is answered: the variant
 * with "Connection: close" if the drain has begun by then). */
static void use_canned(struct request *r, enum canned which)
{
	if (r->owned && r->response != NULL)
		MHD_destroy_response(r->response);
	r->response = NULL;
	r->owned = false;
	r->canned = which;
	r->status = canned_text[which].status;
	r->body_len = 0;
}

/* Choose an answer of r's own. */
static void use_owned(struct request *r, struct MHD_Response *resp,
		      unsigned status, size_t body_len)
{
	if (r->owned && r->response != NULL)
		MHD_destroy_response(r->response);
	r->response = resp;
	r->owned = true;
	r->status = status;
	r->body_len = body_len;
}

/* Make r's answer a 200 whose body is the malloc'd `body` (NULL allowed),
 * which is taken over: freed here on failure, by the response after.
 * False, with r's answer unchanged, when out of memory. */
static bool use_malloced_body(struct request *r, char *body, size_t len,
			      const char *type)
{
	struct MHD_Response *resp = body == NULL ? NULL
		: MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);

	if (resp == NULL) {
		free(body); /* not taken over by a response that was not made */
		return false;
	}
	resp = typed(resp, type); /* on failure, destroying resp freed body */
	if (resp == NULL)
		return false;
	use_owned(r, resp, MHD_HTTP_OK, len);
	return true;
}

/* Send r's chosen answer now.  While draining, and after an error that
 * leaves the request's framing in doubt (`closing`), the connection is
 * closed after it. */
static MHD_Result_t send_closing(struct http_server *srv, struct MHD_Connection *c,
				 struct request *r, bool closing)
{
	closing = closing || atomic_load_explicit(&srv->draining, memory_order_relaxed);
	if (r->owned && closing &&
	    MHD_add_response_header(r->response, MHD_HTTP_HEADER_CONNECTION,
				    "close") != MHD_YES)
		use_canned(r, CANNED_INTERNAL);
	r->state = REQ_ANSWERED;
	return MHD_queue_response(c, r->status, r->owned ? r->response
					  : srv->canned[closing][r->canned]);
}

static MHD_Result_t send_answer(struct http_server *srv, struct MHD_Connection *c,
				struct request *r)
{
	return send_closing(srv, c, r, false);
}

static MHD_Result_t answer_canned(struct http_server *srv, struct MHD_Connection *c,
				  struct request *r, enum canned which)
{
	use_canned(r, which);
	return send_answer(srv, c, r);
}

/* An error naming the problem (`closing`: then close the connection). */
static MHD_Result_t answer_error(struct http_server *srv, struct MHD_Connection *c,
				 struct request *r, unsigned status, const char *msg,
				 bool closing)
{
	struct MHD_Response *resp = error_response(status, msg);

	if (resp == NULL)
		use_canned(r, CANNED_INTERNAL);
	else
		use_owned(r, resp, status, 0);
	return send_closing(srv, c, r, closing);
}

/* A 400 naming the problem. */
static MHD_Result_t answer_bad_request(struct http_server *srv,
				       struct MHD_Connection *c, struct request *r,
				       const char *msg)
{
	return answer_error(srv, c, r, 400, msg, false);
}

/* ---- the timer side ---------------------------------------------------- */

/* Timer thread: the deadline passed (or the drain flushed it).  The
 * resume hands the request back to its libmicrohttpd thread, so the
 * resume is the last touch. */
static void on_deadline(struct timerq_entry *entry, uint64_t now_ns,
			enum timerq_reason reason)
{
	struct request *r = container_of(entry, struct request, timer);
	struct conn *conn = container_of(r, struct conn, req);

	atomic_fetch_sub_explicit(&conn->srv->waiting, 1, memory_order_relaxed);
	if (reason == TIMERQ_FLUSHED) {
		r->state = REQ_FLUSHED;
	} else {
		metrics_lateness(conn->srv->metrics, now_ns - r->deadline_ns);
		r->state = REQ_DUE;
	}
	MHD_resume_connection(conn->mhd);
}

/* Hold r until `delay_us` from now, or answer at once when it is 0.
 * Once the drain has flushed the timer queue nothing waits any more: the
 * answer is then 503 at once (the queue refuses the deadline if the flush
 * comes between the check and the suspension). */
static MHD_Result_t wait_then_answer(struct conn *conn, struct MHD_Connection *c,
				     uint64_t delay_us)
{
	struct http_server *srv = conn->srv;
	struct request *r = &conn->req;

	r->delay_us = delay_us;
	if (r->owned && !add_server_timing(r->response, delay_us))
		use_canned(r, CANNED_INTERNAL);
	if (delay_us == 0)
		return send_answer(srv, c, r);
	if (atomic_load(&srv->flushed))
		return answer_canned(srv, c, r, CANNED_DRAINING);
	r->state = REQ_WAITING;
	r->waited = true;
	r->deadline_ns = timerq_now() + delay_us * 1000u;
	atomic_fetch_add_explicit(&srv->waiting, 1, memory_order_relaxed);
	MHD_suspend_connection(c);
	if (!timerq_add(srv->timers, &r->timer, r->deadline_ns, on_deadline)) {
		atomic_fetch_sub_explicit(&srv->waiting, 1, memory_order_relaxed);
		r->state = REQ_FLUSHED;
		MHD_resume_connection(c); /* answered 503 when it runs again */
	}
	return MHD_YES;
}

/* ---- routes ------------------------------------------------------------ */

static bool is_get_or_head(const char *method)
{
	return strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
	       strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
}

/* Look up query argument `key`: false when absent; else *value (never
 * NULL: "?key" alone reads as "") and *len. */
static bool query_arg(struct MHD_Connection *c, const char *key,
		      const char **value, size_t *len)
{
	if (MHD_lookup_connection_value_n(c, MHD_GET_ARGUMENT_KIND, key,
					  strlen(key), value, len) != MHD_YES)
		return false;
	if (*value == NULL) {
		*value = "";
		*len = 0;
	}
	return true;
}

/* The query parameters every delayed route takes. */
struct delay_params {
	bool has_delay;
	uint32_t delay_ms;
	bool fail;
};

/* Parse ?delay= and ?fail=; false with a message in err. */
static bool parse_delay_params(struct MHD_Connection *c,
			       const struct run_settings *s,
			       struct delay_params *p, char *err, size_t errlen)
{
	const char *v;
	size_t len;

	memset(p, 0, sizeof(*p));
	if (s->delay_override && query_arg(c, "delay", &v, &len)) {
		if (!request_parse_delay(v, len, s->delay.clamp_ms, &p->delay_ms,
					 err, errlen))
			return false;
		p->has_delay = true;
	}
	if (query_arg(c, "fail", &v, &len) &&
	    !request_parse_flag("fail", v, len, &p->fail, err, errlen))
		return false;
	return true;
}

/* One delay for one user: the override, or a draw from the model. */
static uint64_t draw_delay(const struct delay_params *p,
			   const struct run_settings *s, struct rng *rng)
{
	return p->has_delay ? (uint64_t)p->delay_ms * 1000u
			    : delay_draw_us(&s->delay, rng);
}

/* Decide whether to inject a fault; always draws, so a seeded
 * connection's stream does not depend on --error-rate's effect. */
static bool draw_fault(const struct delay_params *p, const struct run_settings *s,
		       struct rng *rng)
{
	double u = rng_unit(rng);

	return p->fail || u < s->error_rate;
}

static void settings_snapshot(struct http_server *srv, struct run_settings *s)
{
	pthread_mutex_lock(&srv->settings_lock);
	*s = srv->settings;
	pthread_mutex_unlock(&srv->settings_lock);
}

/* GET|HEAD /user/<id>: prepare the record, wait, answer. */
static MHD_Result_t route_user(struct conn *conn, struct MHD_Connection *c,
			       const struct run_settings *s,
			       const struct request_path *path)
{
	struct http_server *srv = conn->srv;
	struct request *r = &conn->req;
	struct delay_params p;
	char body[RENDER_BUF_SIZE], err[128];
	struct MHD_Response *resp;
	uint64_t id, delay_us;
	struct user u;
	size_t len;

	if (!user_parse_id(path->id, path->id_len, &id))
		return answer_canned(srv, c, r, CANNED_BAD_ID);
	if (!parse_delay_params(c, s, &p, err, sizeof(err)))
		return answer_bad_request(srv, c, r, err);

	/* Draw in one fixed order (delay, record, fault) so a seeded
	 * connection is reproducible. */
	delay_us = draw_delay(&p, s, &conn->rng);
	if (!p.has_delay)
		live_delay_drawn(srv->live, delay_us); /* issue 15 */
	user_fetch(&u, id, &conn->rng);
	if (draw_fault(&p, s, &conn->rng)) {
		metrics_fault(srv->metrics);
		use_canned(r, CANNED_FAULT);
		return wait_then_answer(conn, c, delay_us);
	}
	len = render_user(&u, body, sizeof(body));
	resp = len == 0 ? NULL : copied_response(body, len, content_type_json);
	if (resp == NULL)
		return answer_canned(srv, c, r, CANNED_INTERNAL);
	use_owned(r, resp, MHD_HTTP_OK, len);
	return wait_then_answer(conn, c, delay_us);
}

/* GET|HEAD /users?ids=1,2,3: every record with its own delay, all
 * answered together after the longest, with ONE timer entry. */
static MHD_Result_t route_users(struct conn *conn, struct MHD_Connection *c,
				const struct run_settings *s)
{
	struct http_server *srv = conn->srv;
	struct request *r = &conn->req;
	struct delay_params p;
	struct user *users;
	uint64_t *ids, delay_us = 0;
	const char *v;
	size_t len, n;
	char err[128];
	char *body;

	if (!query_arg(c, "ids", &v, &len))
		return answer_bad_request(srv, c, r, "ids: required, e.g. /users?ids=1,2,3");
	if (!parse_delay_params(c, s, &p, err, sizeof(err)))
		return answer_bad_request(srv, c, r, err);
	ids = malloc(s->max_batch * sizeof(*ids));
	users = malloc(s->max_batch * sizeof(*users));
	if (ids == NULL || users == NULL) {
		free(ids);
		free(users);
		return answer_canned(srv, c, r, CANNED_INTERNAL);
	}
	n = request_parse_ids(v, len, ids, s->max_batch, err, sizeof(err));
	for (size_t i = 0; i < n; i++) {
		uint64_t d = draw_delay(&p, s, &conn->rng);

		if (!p.has_delay)
			live_delay_drawn(srv->live, d); /* issue 15 */
		delay_us = d > delay_us ? d : delay_us;
		user_fetch(&users[i], ids[i], &conn->rng);
	}
	body = n == 0 ? NULL : render_users(users, n, &len);
	free(ids);
	free(users);
	if (n == 0)
		return answer_bad_request(srv, c, r, err);
	if (draw_fault(&p, s, &conn->rng)) {
		free(body);
		metrics_fault(srv->metrics);
		use_canned(r, CANNED_FAULT);
		return wait_then_answer(conn, c, delay_us);
	}
	if (!use_malloced_body(r, body, len, content_type_json))
		return answer_canned(srv, c, r, CANNED_INTERNAL);
	return wait_then_answer(conn, c, delay_us);
}

/* GET|HEAD /metrics. */
static MHD_Result_t route_metrics(struct http_server *srv, struct MHD_Connection *c,
				  struct request *r)
{
	struct metrics_gauges g = {
		.waiting = atomic_load(&srv->waiting),
		.in_flight = atomic_load(&srv->in_flight),
		.connections = atomic_load(&srv->connections),
		.ready = !atomic_load(&srv->draining),
	};
	size_t len = 0;
	char *text = metrics_render(srv->metrics, &g, &len);

	if (!use_malloced_body(r, text, len, content_type_metrics))
		return answer_canned(srv, c, r, CANNED_INTERNAL);
	return send_answer(srv, c, r);
}

/* ---- issue 15: the live dashboard, GET / and GET /live ----------------- */

/* The recorder; 0, or -1 out of memory. */
static int dashboard_start(struct http_server *srv, const struct delay_model *m)
{
	srv->live = live_create(m);
	return srv->live == NULL ? -1 : 0;
}

static void dashboard_stop(struct http_server *srv)
{
	live_destroy(srv->live);
	srv->live = NULL;
}

/* The page's shared response, or NULL out of memory. */
static struct MHD_Response *page_response(void)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(
		dashboard_html_len, (void *)(uintptr_t)dashboard_html,
		MHD_RESPMEM_PERSISTENT);

	if (resp != NULL &&
	    (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				     "text/html; charset=utf-8") != MHD_YES ||
	     MHD_add_response_header(resp, "Content-Security-Policy",
				     dashboard_csp) != MHD_YES ||
	     MHD_add_response_header(resp, "X-Content-Type-Options",
				     "nosniff") != MHD_YES ||
	     MHD_add_response_header(resp, "Referrer-Policy",
				     "no-referrer") != MHD_YES ||
	     MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
				     "no-cache") != MHD_YES)) {
		MHD_destroy_response(resp);
		resp = NULL;
	}
	return resp;
}

/* GET|HEAD / (the page) and /live (the snapshot it polls, rendered at
 * most every LIVE_SNAPSHOT_MAX_AGE_MS and shared by every poller).  Not
 * user traffic: neither counted nor logged. */
static MHD_Result_t route_dashboard(struct http_server *srv, struct MHD_Connection *c,
				    struct request *r, const char *url,
				    const char *method)
{
	struct metrics_gauges g = {
		.waiting = atomic_load(&srv->waiting),
		.in_flight = atomic_load(&srv->in_flight),
		.connections = atomic_load(&srv->connections),
		.ready = !atomic_load(&srv->draining),
	};
	uint64_t counts[METRICS_LATENESS_MAX + 1];
	struct live_lateness late = {.counts = counts};
	size_t len = 0;
	char *text;

	if (!is_get_or_head(method))
		return answer_canned(srv, c, r, CANNED_METHOD);
	if (strcmp(url, "/") == 0) {
		use_canned(r, CANNED_PAGE);
		r->body_len = dashboard_html_len;
		return send_answer(srv, c, r);
	}
	late.n = metrics_lateness_buckets(srv->metrics, &late.bounds_s, counts);
	text = live_snapshot(srv->live, &g, metrics_requests_total(srv->metrics),
			     &late, timerq_now(), &len);
	if (!use_malloced_body(r, text, len, content_type_json) ||
	    MHD_add_response_header(r->response, MHD_HTTP_HEADER_CACHE_CONTROL,
				    "no-store") != MHD_YES)
		return answer_canned(srv, c, r, CANNED_INTERNAL);
	return send_answer(srv, c, r);
}

/* ---- end of issue 15 --------------------------------------------------- */

/* A complete request: route it. */
static MHD_Result_t dispatch(struct conn *conn, struct MHD_Connection *c,
			     const char *url, const char *method)
{
	struct http_server *srv = conn->srv;
	struct request *r = &conn->req;
	struct run_settings s;
	struct request_path path;

	settings_snapshot(srv, &s);
	r->log_format = s.access_log;
	request_parse_path(url, strlen(url), &path);
	r->route = path.route;
	if (r->nul_in_target) {
		r->route = ROUTE_NOT_FOUND;
		r->counted = true;
		return answer_canned(srv, c, r, CANNED_BAD_REQUEST);
	}
	if (srv->live != NULL && (strcmp(url, "/") == 0 || strcmp(url, "/live") == 0))
		return route_dashboard(srv, c, r, url, method); /* issue 15 */
	/* Health, readiness and metrics are not user traffic. */
	r->counted = path.route == ROUTE_USER || path.route == ROUTE_USERS ||
		     path.route == ROUTE_NOT_FOUND;
	if (path.route == ROUTE_NOT_FOUND)
		return answer_canned(srv, c, r, CANNED_NOT_FOUND);
	if (!is_get_or_head(method))
		return answer_canned(srv, c, r, CANNED_METHOD);

	switch (path.route) {
	case ROUTE_HEALTHZ:
		return answer_canned(srv, c, r, CANNED_HEALTHY);
	case ROUTE_READYZ:
		return answer_canned(srv, c, r,
				     atomic_load(&srv->draining) ? CANNED_NOT_READY
								 : CANNED_READY);
	case ROUTE_METRICS:
		return route_metrics(srv, c, r);
	case ROUTE_USER:
	case ROUTE_USERS:
		if (!r->accepted)
			return answer_canned(srv, c, r, CANNED_DRAINING);
		return path.route == ROUTE_USER ? route_user(conn, c, &s, &path)
						: route_users(conn, c, &s);
	case ROUTE_NOT_FOUND:
		break;
	}
	return answer_canned(srv, c, r, CANNED_NOT_FOUND);
}

/* ---- libmicrohttpd callbacks ------------------------------------------- */

/* Did the client close or reset its connection while its request waited?
 * A suspended connection is not polled, so a client that closed with a
 * FIN would otherwise be "answered" into the void and not counted. */
static bool client_gone(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	char byte;
	ssize_t n;

	if (info == NULL)
		return false;
	n = recv(info->connect_fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
			  errno != EINTR);
}

/* What RFC 9112 says a server must reject, found in a request's header
 * lines (3.2: exactly one Host in HTTP/1.1, at most one otherwise; 6.3:
 * one Content-Length value, valid; chunked the last and only transfer
 * coding, and not beside a Content-Length). */
struct framing {
	unsigned hosts;
	unsigned te_lines;
	bool te_chunked_last;  /* the last coding of the last line */
	bool te_other;         /* a coding other than chunked */
	bool te_misplaced;     /* chunked before another coding */
	bool has_length;
	bool bad_length;       /* not a number, or two different ones */
	const char *length;
};

static bool is_token(const char *s, size_t len, const char *word)
{
	return len == strlen(word) && strncasecmp(s, word, len) == 0;
}

/* One Transfer-Encoding line: a comma-separated list of codings. */
static void scan_codings(struct framing *f, const char *v)
{
	while (*v != '\0') {
		size_t len;

		while (*v == ' ' || *v == '\t' || *v == ',')
			v++;
		len = strcspn(v, ",;");
		while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
			len--;
		if (len > 0) {
			if (f->te_chunked_last)
				f->te_misplaced = true;
			f->te_chunked_last = is_token(v, len, "chunked");
			f->te_other |= !f->te_chunked_last;
		}
		v += strcspn(v, ",");
	}
}

static MHD_Result_t scan_header(void *cls, enum MHD_ValueKind kind,
				const char *key, const char *value)
{
	struct framing *f = cls;

	(void)kind;
	if (value == NULL)
		value = "";
	if (strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0) {
		f->hosts++;
	} else if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
		size_t digits = strspn(value, "0123456789");

		if (digits == 0 || value[digits] != '\0' ||
		    (f->has_length && strcmp(value, f->length) != 0))
			f->bad_length = true;
		f->has_length = true;
		f->length = value;
	} else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
		f->te_lines++;
		scan_codings(f, value);
	}
	return MHD_YES;
}

/* Check a request's framing headers.  Returns NULL when they are fine,
 * else the error message, with *status (400, or 501 for a coding userd
 * does not decode) and *closing (the body cannot be skipped safely). */
static const char *framing_error(struct MHD_Connection *c, const char *version,
				 unsigned *status, bool *closing)
{
	struct framing f = {.hosts = 0};

	MHD_get_connection_values(c, MHD_HEADER_KIND, scan_header, &f);
	*status = 400;
	*closing = true;
	if (f.bad_length)
		return "invalid or conflicting Content-Length";
	if (f.te_lines > 0) {
		if (f.has_length)
			return "Transfer-Encoding together with Content-Length";
		if (!f.te_chunked_last || f.te_misplaced)
			return "Transfer-Encoding: chunked must be the last coding";
		if (f.te_other) {
			*status = 501;
			return "transfer coding not implemented: only chunked is";
		}
	}
	*closing = false;
	if (f.hosts > 1)
		return "more than one Host header";
	if (f.hosts == 0 && strcmp(version, MHD_HTTP_VERSION_1_0) != 0)
		return "Host header required";
	return NULL;
}

static MHD_Result_t on_request(void *cls, struct MHD_Connection *c,
			       const char *url, const char *method,
			       const char *version, const char *upload_data,
			       size_t *upload_data_size, void **req_cls)
{
	struct http_server *srv = cls;
	struct request *r = *req_cls;
	struct conn *conn;

	(void)upload_data;
	if (r == NULL) {
		/* Headers are in; the body (if any) comes next. */
		const union MHD_ConnectionInfo *info =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
		const char *bad;
		unsigned status;
		bool closing;

		conn = info != NULL ? info->socket_context : NULL;
		if (conn == NULL)
			return MHD_NO; /* no memory for the connection: close */
		r = &conn->req;
		memset(r, 0, sizeof(*r));
		r->canned = CANNED_INTERNAL; /* until an answer is chosen */
		r->started_ns = timerq_now();
		r->method = method;
		r->url = url;
		r->version = version;
		r->accepted = !atomic_load_explicit(&srv->draining, memory_order_relaxed);
		/* libmicrohttpd ends the target at the space before the
		 * version; a shorter C string means a raw NUL inside it, which
		 * would otherwise silently truncate the path. */
		r->nul_in_target = conn->raw_uri_end != NULL && version[0] != '\0' &&
				   conn->raw_uri_end + 1 != version;
		conn->raw_uri_end = NULL;
		atomic_fetch_add_explicit(&srv->in_flight, 1, memory_order_relaxed);
		*req_cls = r;
		bad = framing_error(c, version, &status, &closing);
		if (bad != NULL) {
			/* Answered before any body is read: with `closing`,
			 * libmicrohttpd then closes instead of reading on. */
			pthread_mutex_lock(&srv->settings_lock);
			r->log_format = srv->settings.access_log;
			pthread_mutex_unlock(&srv->settings_lock);
			r->route = ROUTE_NOT_FOUND;
			r->counted = true;
			return answer_error(srv, c, r, status, bad, closing);
		}
		return MHD_YES;
	}
	conn = container_of(r, struct conn, req);

	if (*upload_data_size != 0) {
		/* No route takes a body: discard it. */
		*upload_data_size = 0;
		return MHD_YES;
	}
	switch (r->state) {
	case REQ_NEW:
		return dispatch(conn, c, url, method);
	case REQ_DUE:
	case REQ_FLUSHED:
		/* One rule at a deadline and at the drain's flush: a client
		 * that left is counted as gone, not answered. */
		if (client_gone(c))
			return MHD_NO; /* close; on_completed counts the disconnect */
		if (r->state == REQ_FLUSHED)
			use_canned(r, CANNED_DRAINING);
		return send_answer(srv, c, r);
	case REQ_WAITING:
	case REQ_ANSWERED:
		break;
	}
	log_error("request handler called in unexpected state %d", (int)r->state);
	return MHD_NO;
}

/* Rebuild "a=1&b=2" from the parsed query arguments, for the log. */
struct query_text {
	char buf[512];
	size_t len;
};

static MHD_Result_t add_query_arg(void *cls, enum MHD_ValueKind kind,
				  const char *key, const char *value)
{
	struct query_text *q = cls;
	int n;

	(void)kind;
	n = snprintf(q->buf + q->len, sizeof(q->buf) - q->len, "%s%s%s%s",
		     q->len > 0 ? "&" : "", key, value != NULL ? "=" : "",
		     value != NULL ? value : "");
	if (n < 0 || (size_t)n >= sizeof(q->buf) - q->len)
		return MHD_NO; /* full: stop */
	q->len += (size_t)n;
	return MHD_YES;
}

static void log_access(struct MHD_Connection *c, const struct request *r,
		       enum access_log_format format, uint64_t duration_ns)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	struct query_text q = {.len = 0};
	bool head = strcmp(r->method, MHD_HTTP_METHOD_HEAD) == 0;
	struct access_entry e = {
		.client = info != NULL ? info->client_addr : NULL,
		.method = r->method,
		.path = r->url,
		.query = q.buf,
		.version = r->version,
		.status = r->status,
		.bytes = head ? 0 : r->body_len,
		.delay_us = r->delay_us,
		.duration_ns = duration_ns,
	};

	q.buf[0] = '\0';
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_query_arg, &q);
	access_log_write(format, &e);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_server *srv = cls;
	struct request *r = *req_cls;

	if (r == NULL)
		return;
	/* A suspended connection is never completed: libmicrohttpd does not
	 * time it out, and http_stop() resumes every one before it stops.
	 * So no deadline can fire into the memory freed here. */
	assert(r->state != REQ_WAITING);
	if (r->waited && toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
		metrics_disconnect(srv->metrics);
	if (r->counted && r->state == REQ_ANSWERED) {
		uint64_t duration = timerq_now() - r->started_ns;
		enum metrics_route route = r->route == ROUTE_USER ? METRICS_ROUTE_USER
				: r->route == ROUTE_USERS ? METRICS_ROUTE_USERS
							 : METRICS_ROUTE_OTHER;

		metrics_request(srv->metrics, route, r->status, duration);
		if (r->route == ROUTE_USER || r->route == ROUTE_USERS) /* issue 15 */
			live_record(srv->live, r->route == ROUTE_USER ? LIVE_ROUTE_USER
					: LIVE_ROUTE_USERS, r->status, r->started_ns,
				    r->started_ns + duration);
		if (r->log_format != ACCESS_LOG_OFF)
			log_access(c, r, r->log_format, duration);
	}
	if (r->owned && r->response != NULL)
		MHD_destroy_response(r->response);
	r->response = NULL;
	*req_cls = NULL;
	atomic_fetch_sub_explicit(&srv->in_flight, 1, memory_order_relaxed);
}

static void on_connection(void *cls, struct MHD_Connection *c,
			  void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct http_server *srv = cls;
	struct conn *conn;
	uint64_t n;

	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (*socket_context != NULL)
			atomic_fetch_sub_explicit(&srv->connections, 1,
						  memory_order_relaxed);
		free(*socket_context);
		*socket_context = NULL;
		acceptor_release(srv->acceptor);
		return;
	}
	conn = calloc(1, sizeof(*conn));
	if (conn == NULL) {
		log_warn("out of memory for a new connection");
		return;
	}
	conn->srv = srv;
	conn->mhd = c;
	/* Seeded: every connection replays the same stream, whatever order
	 * connections arrive in.  Unseeded: each gets its own. */
	n = srv->seeded ? 0 : atomic_fetch_add(&srv->conn_counter, 1) + 1;
	rng_seed(&conn->rng, rng_mix(srv->seed ^ rng_mix(n)));
	atomic_fetch_add_explicit(&srv->connections, 1, memory_order_relaxed);
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

__attribute__((format(printf, 2, 0)))
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t len;

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	len = strlen(line);
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = '\0';
	log_warn("libmicrohttpd: %s", line);
}

/* The acceptor's thread: a new connection for the daemon.  A pool of
 * workers takes it on the least-loaded-looking one; libmicrohttpd closes
 * the socket itself if it cannot. */
static bool on_accept(void *cls, int fd, const struct sockaddr *addr,
		      socklen_t addrlen)
{
	struct http_server *srv = cls;

	return MHD_add_connection(srv->daemon, fd, addr, addrlen) == MHD_YES;
}

/* ---- life cycle -------------------------------------------------------- */

static void free_canned(struct http_server *srv)
{
	for (int closing = 0; closing < 2; closing++) {
		for (int i = 0; i < CANNED_COUNT; i++) {
			if (srv->canned[closing][i] != NULL)
				MHD_destroy_response(srv->canned[closing][i]);
			srv->canned[closing][i] = NULL;
		}
	}
}

static struct MHD_Response *build_one_canned(enum canned i, bool closing)
{
	char body[RENDER_BUF_SIZE];
	size_t len = i == CANNED_PAGE ? 0
		: canned_text[i].status == 200 || i == CANNED_NOT_READY
		? render_status(canned_text[i].text, body, sizeof(body))
		: render_error(canned_text[i].status, canned_text[i].text,
			       body, sizeof(body));
	struct MHD_Response *resp = i == CANNED_PAGE ? page_response()
		: len == 0 ? NULL : copied_response(body, len, content_type_json);

	if (resp != NULL &&
	    (((closing || i == CANNED_DRAINING) &&
	      MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close") != MHD_YES) ||
	     (i == CANNED_METHOD &&
	      MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD") != MHD_YES))) {
		MHD_destroy_response(resp);
		resp = NULL;
	}
	return resp;
}

static int build_canned(struct http_server *srv)
{
	for (int closing = 0; closing < 2; closing++) {
		for (int i = 0; i < CANNED_COUNT; i++) {
			srv->canned[closing][i] = build_one_canned((enum canned)i, closing);
			if (srv->canned[closing][i] == NULL)
				return -1;
		}
	}
	return 0;
}

int http_start(struct http_server **out, const struct http_options *opts,
	       char *err, size_t errlen)
{
	struct http_server *srv;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC |
			 MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ERROR_LOG;
	/* The acceptor holds the real limit; each worker may take all of it,
	 * so that libmicrohttpd never refuses what the acceptor took. */
	unsigned mhd_limit = opts->max_connections > UINT32_MAX / opts->threads
		? UINT32_MAX : opts->max_connections * opts->threads;
	int rc;

	assert(opts->listen_fd >= 0 && opts->threads >= 1 && opts->max_connections >= 1);
	srv = calloc(1, sizeof(*srv));
	if (srv != NULL) {
		pthread_mutex_init(&srv->settings_lock, NULL);
		struct metrics_build build = {
			.version = opts->version,
			.libmicrohttpd = MHD_get_version(),
			.jansson = render_library_version(),
		};

		srv->metrics = metrics_create(&build);
	}
	if (srv == NULL || srv->metrics == NULL || build_canned(srv) != 0 ||
	    (opts->dashboard && dashboard_start(srv, &opts->settings.delay) != 0)) { /* issue 15 */
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	srv->listen_fd = opts->listen_fd;
	srv->timers = opts->timers;
	srv->settings = opts->settings;
	srv->seeded = opts->seeded;
	srv->seed = opts->seeded ? opts->seed : rng_os_seed();

	/* A pool only with more than one worker: libmicrohttpd warns about
	 * a pool of size 0 or 1. */
	{
		struct MHD_OptionItem pool[] = {
			{MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)opts->threads, NULL},
			{MHD_OPTION_END, 0, NULL},
		};

		if (opts->threads <= 1)
			pool[0].option = MHD_OPTION_END;
		srv->daemon = MHD_start_daemon(
			flags, 0, NULL, NULL, on_request, srv,
			MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv, /* first: see docs */
			MHD_OPTION_ARRAY, pool,
			MHD_OPTION_CONNECTION_LIMIT, mhd_limit,
			MHD_OPTION_CONNECTION_TIMEOUT, opts->timeout_s,
			MHD_OPTION_CONNECTION_MEMORY_LIMIT, opts->connection_memory,
			MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
			MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv,
			MHD_OPTION_UNESCAPE_CALLBACK, on_unescape, srv,
			MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv,
			MHD_OPTION_END);
	}
	if (srv->daemon == NULL) {
		snprintf(err, errlen, "libmicrohttpd failed to start "
			 "(threads=%u, max-connections=%u)",
			 opts->threads, opts->max_connections);
		goto fail;
	}
	rc = acceptor_start(&srv->acceptor, opts->listen_fd, opts->max_connections,
			    on_accept, srv);
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
	if (srv != NULL) {
		dashboard_stop(srv); /* issue 15 */
		free_canned(srv);
		metrics_destroy(srv->metrics);
		pthread_mutex_destroy(&srv->settings_lock);
		free(srv);
	}
	return -1;
}

void http_update(struct http_server *srv, const struct run_settings *s)
{
	pthread_mutex_lock(&srv->settings_lock);
	srv->settings = *s;
	pthread_mutex_unlock(&srv->settings_lock);
	live_set_model(srv->live, &s->delay); /* issue 15 */
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

size_t http_flush(struct http_server *srv)
{
	http_drain(srv);
	atomic_store(&srv->flushed, true);
	return timerq_close(srv->timers);
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
	dashboard_stop(srv); /* issue 15 */
	free_canned(srv);
	metrics_destroy(srv->metrics);
	pthread_mutex_destroy(&srv->settings_lock);
	free(srv);
}
