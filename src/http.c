/* http.c - libmicrohttpd front end; see http.h.
 *
 * Per-request state lives in the connection's socket context: HTTP/1.1
 * runs one request at a time on a connection, so one struct conn per
 * connection holds its random stream and its current request, and a
 * request costs no allocation of ours beyond its response.
 */
#include "http.h"

#include <inttypes.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "log.h"
#include "render.h"
#include "user.h"

/* libmicrohttpd version shims, all in one place. */
#if MHD_VERSION < 0x00097002
typedef int MHD_Result_t;
#else
typedef enum MHD_Result MHD_Result_t;
#endif

enum req_state {
	REQ_NEW = 0,  /* headers seen, not yet dispatched */
	REQ_WAITING,  /* suspended, deadline in the timer queue */
	REQ_DUE,      /* deadline passed, resumed: send the prepared answer */
	REQ_FLUSHED,  /* drain timed out while waiting: answer 503 */
	REQ_ANSWERED, /* a response is queued */
};

struct request {
	struct timerq_entry timer;
	struct MHD_Response *response; /* prepared answer while waiting */
	unsigned status;               /* of the prepared answer */
	enum req_state state;
	bool accepted;                 /* first seen before the drain began */
};

struct conn {
	struct http_server *srv;
	struct MHD_Connection *mhd;
	struct rng rng;
	struct request req;
};

/* Errors answered at once, built at start and shared by every connection
 * (libmicrohttpd responses are reference-counted). */
enum canned {
	CANNED_BAD_ID,
	CANNED_NOT_FOUND,
	CANNED_METHOD,
	CANNED_DRAINING,
	CANNED_INTERNAL,
	CANNED_COUNT,
};

static const struct {
	unsigned status;
	const char *message;
} canned_text[CANNED_COUNT] = {
	[CANNED_BAD_ID] = {400, "invalid user id: expected a decimal integer "
				"from 0 to 9223372036854775807"},
	[CANNED_NOT_FOUND] = {404, "not found"},
	[CANNED_METHOD] = {405, "method not allowed"},
	[CANNED_DRAINING] = {503, "service is shutting down"},
	[CANNED_INTERNAL] = {500, "internal server error"},
};

struct http_server {
	struct MHD_Daemon *daemon;
	int listen_fd;          /* -1 once the drain closed it */
	timerq *timers;
	pthread_mutex_t settings_lock;
	struct http_settings settings; /* under settings_lock */
	bool seeded;
	uint64_t seed;
	_Atomic uint64_t conn_counter;
	_Atomic size_t in_flight;
	atomic_bool draining;
	struct MHD_Response *canned[CANNED_COUNT];
};

static const char content_type_json[] = "application/json";

/* ---- responses --------------------------------------------------------- */

static struct MHD_Response *json_response(const char *body, size_t len)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(len, (void *)(uintptr_t)body,
					       MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return NULL;
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				    content_type_json) != MHD_YES) {
		MHD_destroy_response(resp);
		return NULL;
	}
	return resp;
}

static struct MHD_Response *error_response(unsigned status, const char *msg)
{
	char body[RENDER_BUF_SIZE];
	size_t len = render_error(status, msg, body, sizeof(body));

	return len == 0 ? NULL : json_response(body, len);
}

static MHD_Result_t queue_canned(struct http_server *srv,
				 struct MHD_Connection *c, struct request *r,
				 enum canned which)
{
	r->state = REQ_ANSWERED;
	return MHD_queue_response(c, canned_text[which].status,
				  srv->canned[which]);
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

/* ---- the timer side ---------------------------------------------------- */

/* Timer thread: the deadline passed (or the drain flushed it).  The
 * resume hands the request back to its libmicrohttpd thread, so this is
 * the last touch. */
static void on_deadline(struct timerq_entry *entry, uint64_t now_ns,
			enum timerq_reason reason)
{
	struct request *r = heap_entry(entry, struct request, timer);
	struct conn *conn = heap_entry(r, struct conn, req);

	(void)now_ns;
	r->state = reason == TIMERQ_FLUSHED ? REQ_FLUSHED : REQ_DUE;
	MHD_resume_connection(conn->mhd);
}

/* ---- routes ------------------------------------------------------------ */

static bool is_get_or_head(const char *method)
{
	return strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
	       strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
}

/* GET|HEAD /user/<id>: prepare the record, suspend until the deadline. */
static MHD_Result_t route_user(struct conn *conn, struct MHD_Connection *c,
			       const char *id_text)
{
	struct http_server *srv = conn->srv;
	struct request *r = &conn->req;
	struct http_settings settings;
	char body[RENDER_BUF_SIZE];
	struct user u;
	uint64_t id;
	uint64_t delay_us;
	size_t len;

	if (!user_parse_id(id_text, strlen(id_text), &id))
		return queue_canned(srv, c, r, CANNED_BAD_ID);

	/* Draw the delay first, then the record: one fixed order keeps a
	 * seeded connection reproducible. */
	pthread_mutex_lock(&srv->settings_lock);
	settings = srv->settings;
	pthread_mutex_unlock(&srv->settings_lock);
	delay_us = delay_draw_us(&settings.delay, &conn->rng);
	user_fetch(&u, id, &conn->rng);
	len = render_user(&u, body, sizeof(body));
	r->response = len == 0 ? NULL : json_response(body, len);
	if (r->response != NULL && !add_server_timing(r->response, delay_us)) {
		MHD_destroy_response(r->response);
		r->response = NULL;
	}
	if (r->response == NULL)
		return queue_canned(srv, c, r, CANNED_INTERNAL);
	r->status = MHD_HTTP_OK;

	if (delay_us == 0) {
		r->state = REQ_DUE;
		return MHD_YES; /* answered by the caller */
	}
	r->state = REQ_WAITING;
	MHD_suspend_connection(c);
	timerq_add(srv->timers, &r->timer, timerq_now() + delay_us * 1000u,
		   on_deadline);
	return MHD_YES;
}

/* First look at a complete request: route it. */
static MHD_Result_t dispatch(struct conn *conn, struct MHD_Connection *c,
			     const char *url, const char *method)
{
	static const char user_prefix[] = "/user/";
	struct http_server *srv = conn->srv;
	struct request *r = &conn->req;

	if (!r->accepted)
		return queue_canned(srv, c, r, CANNED_DRAINING);
	if (strncmp(url, user_prefix, sizeof(user_prefix) - 1) != 0)
		return queue_canned(srv, c, r, CANNED_NOT_FOUND);
	if (!is_get_or_head(method))
		return queue_canned(srv, c, r, CANNED_METHOD);
	return route_user(conn, c, url + sizeof(user_prefix) - 1);
}

/* Send the prepared answer (deadline passed) or a 503 (drain timed out). */
static MHD_Result_t answer(struct conn *conn, struct MHD_Connection *c)
{
	struct http_server *srv = conn->srv;
	struct request *r = &conn->req;
	MHD_Result_t ret;

	if (r->state == REQ_FLUSHED)
		return queue_canned(srv, c, r, CANNED_DRAINING);
	if (atomic_load_explicit(&srv->draining, memory_order_relaxed))
		MHD_add_response_header(r->response, MHD_HTTP_HEADER_CONNECTION,
					"close");
	r->state = REQ_ANSWERED;
	ret = MHD_queue_response(c, r->status, r->response);
	return ret;
}

/* ---- libmicrohttpd callbacks ------------------------------------------- */

static MHD_Result_t on_request(void *cls, struct MHD_Connection *c,
			       const char *url, const char *method,
			       const char *version, const char *upload_data,
			       size_t *upload_data_size, void **req_cls)
{
	struct http_server *srv = cls;
	struct request *r = *req_cls;
	struct conn *conn;
	const union MHD_ConnectionInfo *info;

	(void)version;
	(void)upload_data;

	if (r == NULL) {
		/* Headers are in; the body (if any) comes next. */
		info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
		conn = info != NULL ? info->socket_context : NULL;
		if (conn == NULL)
			return MHD_NO; /* no memory for the connection: close */
		r = &conn->req;
		memset(r, 0, sizeof(*r));
		r->accepted = !atomic_load_explicit(&srv->draining,
						    memory_order_relaxed);
		atomic_fetch_add_explicit(&srv->in_flight, 1, memory_order_relaxed);
		*req_cls = r;
		return MHD_YES;
	}
	conn = heap_entry(r, struct conn, req);

	if (*upload_data_size != 0) {
		/* No route takes a body: discard it. */
		*upload_data_size = 0;
		return MHD_YES;
	}

	switch (r->state) {
	case REQ_NEW: {
		MHD_Result_t ret = dispatch(conn, c, url, method);

		if (ret != MHD_YES || r->state != REQ_DUE)
			return ret;
		return answer(conn, c); /* zero delay */
	}
	case REQ_DUE:
	case REQ_FLUSHED:
		return answer(conn, c);
	case REQ_WAITING:
	case REQ_ANSWERED:
		break;
	}
	log_error("request handler called in unexpected state %d", (int)r->state);
	return MHD_NO;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_server *srv = cls;
	struct request *r = *req_cls;

	(void)c;
	(void)toe;
	if (r == NULL)
		return;
	/* A suspended connection is never completed by libmicrohttpd, but
	 * if it were, its deadline must not fire into freed memory. */
	if (r->state == REQ_WAITING)
		timerq_cancel(srv->timers, &r->timer);
	if (r->response != NULL) {
		MHD_destroy_response(r->response);
		r->response = NULL;
	}
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
		free(*socket_context);
		*socket_context = NULL;
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

/* ---- life cycle -------------------------------------------------------- */

static void free_canned(struct http_server *srv)
{
	for (int i = 0; i < CANNED_COUNT; i++) {
		if (srv->canned[i] != NULL)
			MHD_destroy_response(srv->canned[i]);
		srv->canned[i] = NULL;
	}
}

static int build_canned(struct http_server *srv)
{
	for (int i = 0; i < CANNED_COUNT; i++) {
		struct MHD_Response *resp =
			error_response(canned_text[i].status, canned_text[i].message);

		srv->canned[i] = resp;
		if (resp == NULL)
			return -1;
	}
	if (MHD_add_response_header(srv->canned[CANNED_METHOD],
				    MHD_HTTP_HEADER_ALLOW, "GET, HEAD") != MHD_YES ||
	    MHD_add_response_header(srv->canned[CANNED_DRAINING],
				    MHD_HTTP_HEADER_CONNECTION, "close") != MHD_YES)
		return -1;
	return 0;
}

int http_start(struct http_server **out, const struct http_options *opts,
	       char *err, size_t errlen)
{
	struct http_server *srv;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;

	srv = calloc(1, sizeof(*srv));
	if (srv != NULL)
		pthread_mutex_init(&srv->settings_lock, NULL);
	if (srv == NULL || build_canned(srv) != 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	srv->listen_fd = opts->listen_fd;
	srv->timers = opts->timers;
	srv->settings = opts->settings;
	srv->seeded = opts->seeded;
	srv->seed = opts->seeded ? opts->seed : rng_os_seed();

	srv->daemon = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, srv,
		MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv, /* first: see docs */
		MHD_OPTION_LISTEN_SOCKET, (MHD_socket)opts->listen_fd,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(opts->threads > 1 ? opts->threads : 0),
		MHD_OPTION_CONNECTION_LIMIT, opts->max_connections,
		MHD_OPTION_CONNECTION_TIMEOUT, opts->timeout_s,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, opts->connection_memory,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv,
		MHD_OPTION_UNESCAPE_CALLBACK, on_unescape, srv,
		MHD_OPTION_END);
	if (srv->daemon == NULL) {
		snprintf(err, errlen, "libmicrohttpd failed to start "
			 "(threads=%u, max-connections=%u)",
			 opts->threads, opts->max_connections);
		goto fail;
	}
	*out = srv;
	return 0;

fail:
	close(opts->listen_fd);
	if (srv != NULL) {
		free_canned(srv);
		pthread_mutex_destroy(&srv->settings_lock);
		free(srv);
	}
	return -1;
}

void http_update(struct http_server *srv, const struct http_settings *s)
{
	pthread_mutex_lock(&srv->settings_lock);
	srv->settings = *s;
	pthread_mutex_unlock(&srv->settings_lock);
}

void http_drain(struct http_server *srv)
{
	if (atomic_exchange(&srv->draining, true))
		return;
	/* Take the listening socket out of every worker's poll set; it is
	 * ours (MHD_OPTION_LISTEN_SOCKET), so close it: new connections are
	 * refused from here on. */
	MHD_quiesce_daemon(srv->daemon);
	close(srv->listen_fd);
	srv->listen_fd = -1;
}

size_t http_in_flight(const struct http_server *srv)
{
	return atomic_load_explicit(&srv->in_flight, memory_order_relaxed);
}

void http_stop(struct http_server *srv)
{
	/* Closes every connection, and the listening socket unless the
	 * drain already did. */
	MHD_stop_daemon(srv->daemon);
	free_canned(srv);
	pthread_mutex_destroy(&srv->settings_lock);
	free(srv);
}
