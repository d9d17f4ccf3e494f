/* admin.c - the control API; see admin.h.
 *
 * One libmicrohttpd daemon of its own (one thread: control traffic is
 * light), fed by an acceptor like the user port, so the two never share a
 * socket or a thread.  The token is checked as soon as a request's
 * headers are in, before any body is read; the bodies of authorized
 * requests (PATCH, PUT) are read whole, up to ADMIN_BODY_MAX, then
 * handled; every answer is JSON.
 *
 * The operator can always get in.  A connection is "pending" from the
 * moment libmicrohttpd starts it until the headers of a request on it
 * pass the token check.  Clients without the token can only hold pending
 * connections, and a thread of our own (the sweeper) closes those:
 *
 *   - every pending connection at ADMIN_AUTH_TIMEOUT_MS, however steadily
 *     it trickles bytes (libmicrohttpd's timeouts, daemon-wide or set per
 *     connection, count idleness: one byte a second resets them);
 *   - while all ADMIN_CONNECTIONS are taken, the oldest pending one as
 *     soon as it is ADMIN_AUTH_GRACE_MS old, one at a time, which lets the
 *     acceptor take the next connection from the backlog.
 *
 * So tokenless clients never keep the acceptor full for more than about
 * ADMIN_AUTH_GRACE_MS, and an operator's new connection, once taken, has
 * that long to send its headers before it can be evicted for a newer one.
 * Evicting on arrival instead would let a burst of connections evict the
 * operator's before its headers were read; refusing arrivals while full
 * (a reserve of slots) would leave the operator waiting, or refused, for
 * as long as the tricklers are allowed to last.
 *
 * "Closed" is shutdown(2) on the socket, under the lock that the CLOSED
 * notification takes: libmicrohttpd notifies before it closes the
 * descriptor, so the sweeper never touches a descriptor that was reused;
 * the connection then reads end-of-file (or fails its next write) and
 * libmicrohttpd closes it as if the client had left.
 */
#include "admin.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "acceptor.h"
#include "control.h"
#include "listener.h"
#include "log.h"
#include "mhd_compat.h"
#include "mhd_log.h"
#include "timerq.h"

/* Largest request body taken. */
#define ADMIN_BODY_MAX (64 * 1024)
/* How long a connection may take to present a request that passes the
 * token check (connect, TLS handshake, headers), and how long it is safe
 * from eviction while every connection is taken. */
#define ADMIN_AUTH_TIMEOUT_MS 3000u
#define ADMIN_AUTH_GRACE_MS 1000u
/* The idle timeout of a connection that passed. */
#define ADMIN_IDLE_TIMEOUT_S 30u

/* One connection, from libmicrohttpd's STARTED to its CLOSED (its socket
 * context). */
struct admin_conn {
	struct admin_conn *prev, *next; /* in the pending list, oldest first */
	uint64_t since_ns;              /* started (timerq_now) */
	int fd;
	bool pending;                   /* no request has passed the check yet */
	bool cut;                       /* the sweeper shut its socket down */
};

struct admin {
	struct MHD_Daemon *daemon;
	acceptor *acceptor;
	int listen_fd;
	char *unix_path;   /* to remove at stop */
	char *token;       /* NULL: none required */
	struct admin_ops ops;
	char url[128];
	/* The sweeper (see the top of this file).  `lock` guards the list,
	 * `cutting`, `stopping` and each admin_conn's list fields. */
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t sweeper;
	bool sweeping;     /* the thread runs: join it */
	bool stopping;
	struct admin_conn *oldest, *newest;
	unsigned cutting;  /* cut, and not closed yet */
};

/* A request's body as it arrives. */
struct upload {
	char *data;
	size_t len;
	bool too_big;
};

/* ---- answers ------------------------------------------------------------------ */

/* Answer `status` with `body` (taken; NULL: out of memory, a 500). */
static MHD_Result_t answer_json(struct MHD_Connection *c, unsigned status, json_t *body)
{
	char *text = body != NULL ? json_dumps(body, JSON_INDENT(2)) : NULL;
	struct MHD_Response *resp;
	MHD_Result_t rc;

	json_decref(body);
	if (text == NULL) {
		static const char oom[] = "{\"error\": \"out of memory\", \"status\": 500}";

		status = 500;
		resp = MHD_create_response_from_buffer(sizeof(oom) - 1, (void *)(uintptr_t)oom,
						       MHD_RESPMEM_PERSISTENT);
	} else {
		resp = MHD_create_response_from_buffer(strlen(text), text,
						       MHD_RESPMEM_MUST_FREE);
		if (resp == NULL)
			free(text);
	}
	if (resp == NULL)
		return MHD_NO;
	/* A 401 closes the connection: it stays pending until then. */
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				    "application/json") != MHD_YES ||
	    (status == 401 && (MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
						       "Bearer") != MHD_YES ||
			       MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION,
						       "close") != MHD_YES))) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	rc = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return rc;
}

static MHD_Result_t answer_error(struct MHD_Connection *c, unsigned status,
				 const char *msg, json_t *fields)
{
	json_t *body = json_pack("{s:s, s:i}", "error", msg, "status", (int)status);

	if (body != NULL && fields != NULL)
		json_object_set(body, "fields", fields);
	json_decref(fields);
	return answer_json(c, status, body);
}

/* ---- the handlers ---------------------------------------------------------------- */

static MHD_Result_t get_config(struct admin *a, struct MHD_Connection *c)
{
	struct settings *now = a->ops.current(a->ops.cls);
	json_t *body = control_config_json(&now->run);

	settings_unref(now);
	return answer_json(c, 200, body);
}

/* How often a change is redone on top of one that landed first. */
#define ADMIN_CHANGE_TRIES 100

/* Make a change on top of the snapshot in force and put it in force, all
 * or nothing: `edit` makes the next snapshot from the one in force (NULL
 * with *errors set: refused; NULL without: out of memory).  Redone when
 * another change landed in between.  Returns the snapshot now in force
 * (a reference), or NULL with the answer to give in *status and
 * *errors. */
static struct settings *change_settings(struct admin *a,
					struct settings *(*edit)(const struct settings *now,
								 void *arg,
								 json_t **errors),
					void *arg, unsigned *status, json_t **errors)
{
	for (int tries = 0; tries < ADMIN_CHANGE_TRIES; tries++) {
		struct settings *now = a->ops.current(a->ops.cls);
		struct settings *next = edit(now, arg, errors);
		bool done;

		if (next == NULL) {
			settings_unref(now);
			*status = *errors != NULL ? 400 : 500;
			return NULL;
		}
		done = a->ops.replace(a->ops.cls, now, next);
		settings_unref(now);
		if (done)
			return next;
		settings_unref(next);
	}
	*status = 503;
	*errors = NULL;
	return NULL;
}

/* A request body. */
struct body {
	const char *data;
	size_t len;
};

static struct settings *edit_config(const struct settings *now, void *arg,
				    json_t **errors)
{
	const struct body *b = arg;
	struct run_settings run;
	struct settings *next;

	if (!control_patch(b->data, b->len, &now->run, &run, errors))
		return NULL;
	next = settings_create(&run, now->rules);
	delay_model_unref(&run.delay); /* the snapshot took its own */
	return next;
}

static struct settings *edit_rules(const struct settings *now, void *arg,
				   json_t **errors)
{
	*errors = NULL;
	return settings_create(&now->run, arg);
}

/* Answer a change that change_settings() refused. */
static MHD_Result_t answer_refused(struct MHD_Connection *c, unsigned status,
				   const char *what, json_t *errors)
{
	char msg[96];

	if (status == 400)
		snprintf(msg, sizeof(msg), "nothing changed: some %s not valid", what);
	else if (status == 503)
		snprintf(msg, sizeof(msg), "nothing changed: the settings kept changing "
			 "under this request; try again");
	else
		snprintf(msg, sizeof(msg), "nothing changed: out of memory");
	return answer_error(c, status, msg, errors);
}

/* PATCH /config: all fields applied, or none. */
static MHD_Result_t patch_config(struct admin *a, struct MHD_Connection *c,
				 const struct upload *up)
{
	struct body b = {up->data, up->len};
	struct settings *now;
	json_t *errors = NULL, *body;
	unsigned status;

	now = change_settings(a, edit_config, &b, &status, &errors);
	if (now == NULL)
		return answer_refused(c, status, "fields are", errors);
	body = control_config_json(&now->run);
	settings_unref(now);
	return answer_json(c, 200, body);
}

static MHD_Result_t reset_config(struct admin *a, struct MHD_Connection *c)
{
	a->ops.reset(a->ops.cls);
	return get_config(a, c);
}

static MHD_Result_t get_rules(struct admin *a, struct MHD_Connection *c)
{
	struct settings *now = a->ops.current(a->ops.cls);
	json_t *list = control_rules_json(now->rules, timerq_now());

	settings_unref(now);
	return answer_json(c, 200, list);
}

/* PUT /rules: the whole list, applied only whole. */
static MHD_Result_t put_rules(struct admin *a, struct MHD_Connection *c,
			      const struct upload *up)
{
	struct settings *now;
	struct rules *rules;
	json_t *errors, *list;
	unsigned status;

	if (!control_parse_rules(up->data, up->len, &rules, &errors))
		return answer_refused(c, 400, "rules are", errors);
	if (rules != NULL)
		rules_start(rules, timerq_now()); /* at= counts from here */
	now = change_settings(a, edit_rules, rules, &status, &errors);
	rules_unref(rules);
	if (now == NULL)
		return answer_refused(c, status, "rules are", errors);
	list = control_rules_json(now->rules, timerq_now());
	settings_unref(now);
	return answer_json(c, 200, list);
}

/* GET /requests (count: GET /requests/count): the journal's entries
 * that the query's filters match, newest last; DELETE /requests empties
 * it. */
static MHD_Result_t requests(struct admin *a, struct MHD_Connection *c, bool count,
			     bool clear)
{
	struct journal *j = http_journal(a->ops.srv);
	struct control_requests_query q;
	struct journal_filter f;
	struct journal_entry *got;
	size_t n, total;
	json_t *errors;

	if (j == NULL)
		return answer_error(c, 404, "the journal is off (--journal 0)", NULL);
	if (clear) {
		journal_clear(j);
		return answer_json(c, 200, json_pack("{sb}", "cleared", 1));
	}
#define ARG(k) MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, k)
	q = (struct control_requests_query){ARG("route"), ARG("id"), ARG("status"),
					     ARG("fault"), ARG("since"), ARG("limit")};
#undef ARG
	if (!control_requests_filter(&q, &f, &errors))
		return answer_error(c, 400, "some filters are not valid", errors);
	if (!journal_query(j, &f, count ? NULL : &got, &n, &total))
		return answer_json(c, 500, NULL);
	if (count)
		return answer_json(c, 200, json_pack("{sI}", "count", (json_int_t)total));
	{
		json_t *list = control_requests_json(got, n);

		free(got);
		return answer_json(c, 200, list);
	}
}

static MHD_Result_t get_stats(struct admin *a, struct MHD_Connection *c)
{
	struct metrics_gauges g = http_gauges(a->ops.srv);

	return answer_json(c, 200, control_stats_json(http_metrics(a->ops.srv), &g));
}

/* ---- pending connections and the sweeper ------------------------------------------- */

/* Take `ac` off the pending list.  Under a->lock. */
static void unlink_pending(struct admin *a, struct admin_conn *ac)
{
	assert(ac->pending);
	if (ac->prev != NULL)
		ac->prev->next = ac->next;
	else
		a->oldest = ac->next;
	if (ac->next != NULL)
		ac->next->prev = ac->prev;
	else
		a->newest = ac->prev;
	ac->prev = ac->next = NULL;
	ac->pending = false;
}

/* Are all ADMIN_CONNECTIONS taken, not counting those being closed?
 * Under a->lock. */
static bool all_taken(const struct admin *a)
{
	unsigned open = acceptor_open(a->acceptor);

	return open > a->cutting && open - a->cutting >= ADMIN_CONNECTIONS;
}

/* Close the pending connection `ac` (see the top of the file).  Under
 * a->lock, which keeps its descriptor from being closed meanwhile. */
static void cut(struct admin *a, struct admin_conn *ac, uint64_t now)
{
	unlink_pending(a, ac);
	ac->cut = true;
	a->cutting++;
	if (shutdown(ac->fd, SHUT_RDWR) != 0)
		log_debug("control API: shutdown: %s", strerror(errno));
	log_debug("control API: closed a connection that sent no authorized "
		  "request in %.1f s", (double)(now - ac->since_ns) / 1e9);
}

static void *sweep(void *arg)
{
	struct admin *a = arg;

	pthread_mutex_lock(&a->lock);
	while (!a->stopping) {
		struct admin_conn *oldest = a->oldest;
		uint64_t due, now = timerq_now();
		struct timespec until;

		if (oldest == NULL) {
			pthread_cond_wait(&a->wake, &a->lock);
			continue;
		}
		due = oldest->since_ns + (uint64_t)(all_taken(a) ? ADMIN_AUTH_GRACE_MS
							    : ADMIN_AUTH_TIMEOUT_MS) *
						 1000000u;
		if (now >= due) {
			cut(a, oldest, now);
			continue;
		}
		until.tv_sec = (time_t)(due / 1000000000u);
		until.tv_nsec = (long)(due % 1000000000u);
		pthread_cond_timedwait(&a->wake, &a->lock, &until);
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

/* libmicrohttpd started connection `c`: pending, newest.  Without the
 * memory to track it, it is shut down at once. */
static void started(struct admin *a, struct MHD_Connection *c, void **socket_context)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct admin_conn *ac = calloc(1, sizeof(*ac));

	assert(info != NULL);
	*socket_context = ac;
	if (ac == NULL) {
		log_warn("control API: out of memory for a new connection");
		shutdown(info->connect_fd, SHUT_RDWR);
		return;
	}
	ac->fd = info->connect_fd;
	ac->since_ns = timerq_now();
	ac->pending = true;
	pthread_mutex_lock(&a->lock);
	ac->prev = a->newest;
	if (a->newest != NULL)
		a->newest->next = ac;
	else
		a->oldest = ac;
	a->newest = ac;
	/* It may be the one that took the last slot: look again. */
	pthread_cond_signal(&a->wake);
	pthread_mutex_unlock(&a->lock);
}

/* A request on `c` passed the token check: no longer pending. */
static void admitted(struct admin *a, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct admin_conn *ac = info != NULL ? info->socket_context : NULL;

	if (ac == NULL)
		return;
	pthread_mutex_lock(&a->lock);
	if (ac->pending)
		unlink_pending(a, ac);
	pthread_mutex_unlock(&a->lock);
}

/* libmicrohttpd closes `ac` (NULL: never tracked); it has not closed
 * the descriptor yet. */
static void closed(struct admin *a, struct admin_conn *ac)
{
	if (ac == NULL)
		return;
	pthread_mutex_lock(&a->lock);
	if (ac->pending)
		unlink_pending(a, ac);
	if (ac->cut) {
		/* All may be taken again by now (the acceptor took the next
		 * one as soon as this one was released): look again. */
		a->cutting--;
		pthread_cond_signal(&a->wake);
	}
	pthread_mutex_unlock(&a->lock);
	free(ac);
}

/* ---- dispatch ------------------------------------------------------------------------ */

/* Does the request carry "Authorization: Bearer <token>"?  Compared in
 * constant time (for a given token length). */
static bool authorized(const struct admin *a, struct MHD_Connection *c)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_AUTHORIZATION);
	size_t want, got;
	unsigned char diff = 0;

	if (a->token == NULL)
		return true;
	if (h == NULL || strncmp(h, "Bearer ", 7) != 0)
		return false;
	h += 7;
	want = strlen(a->token);
	got = strlen(h);
	for (size_t i = 0; i < want; i++)
		diff |= (unsigned char)(a->token[i] ^ (i < got ? h[i] : 0));
	return diff == 0 && got == want;
}

static MHD_Result_t on_request(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version,
			       const char *upload_data, size_t *upload_data_size,
			       void **req_cls)
{
	struct admin *a = cls;
	struct upload *up = *req_cls;
	bool get = strcmp(method, "GET") == 0;

	(void)version;
	if (up == NULL) {
		/* The headers are in: the token now, before any body. */
		if (!authorized(a, c))
			return answer_error(c, 401, "a valid 'Authorization: Bearer TOKEN' "
					    "is required", NULL);
		admitted(a, c);
		up = calloc(1, sizeof(*up));
		if (up == NULL)
			return MHD_NO;
		*req_cls = up;
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		if (!up->too_big && up->len + *upload_data_size <= ADMIN_BODY_MAX) {
			char *grown = realloc(up->data, up->len + *upload_data_size + 1);

			if (grown == NULL)
				return MHD_NO;
			memcpy(grown + up->len, upload_data, *upload_data_size);
			up->data = grown;
			up->len += *upload_data_size;
		} else {
			up->too_big = true;
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (up->too_big)
		return answer_error(c, 413, "the body is too large", NULL);
	if (strcmp(url, "/config") == 0 && get)
		return get_config(a, c);
	if (strcmp(url, "/config") == 0 && strcmp(method, "PATCH") == 0)
		return patch_config(a, c, up);
	if (strcmp(url, "/config/reset") == 0 && strcmp(method, "POST") == 0)
		return reset_config(a, c);
	if (strcmp(url, "/rules") == 0 && get)
		return get_rules(a, c);
	if (strcmp(url, "/rules") == 0 && strcmp(method, "PUT") == 0)
		return put_rules(a, c, up);
	if (strcmp(url, "/stats") == 0 && get)
		return get_stats(a, c);
	if (strcmp(url, "/requests") == 0 && (get || strcmp(method, "DELETE") == 0))
		return requests(a, c, false, !get);
	if (strcmp(url, "/requests/count") == 0 && get)
		return requests(a, c, true, false);
	if (strcmp(url, "/config") == 0 || strcmp(url, "/config/reset") == 0 ||
	    strcmp(url, "/rules") == 0 || strcmp(url, "/stats") == 0 ||
	    strcmp(url, "/requests") == 0 || strcmp(url, "/requests/count") == 0)
		return answer_error(c, 405, "method not allowed", NULL);
	return answer_error(c, 404, "not found", NULL);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct upload *up = *req_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (up != NULL) {
		free(up->data);
		free(up);
	}
	*req_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct admin *a = cls;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		started(a, c, socket_context);
		return;
	}
	/* Released first: until `cutting` drops too, the sweeper counts
	 * one connection fewer, never one more, than are open. */
	acceptor_release(a->acceptor);
	closed(a, *socket_context);
	*socket_context = NULL;
}

static bool on_accept(void *cls, int fd, const struct sockaddr *addr, socklen_t len)
{
	struct admin *a = cls;

	return MHD_add_connection(a->daemon, fd, addr, len) == MHD_YES;
}

static unsigned open_count(void *cls)
{
	const union MHD_DaemonInfo *info =
		MHD_get_daemon_info(((struct admin *)cls)->daemon,
				    MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

	return info != NULL ? info->num_connections : 0;
}

/* ---- life cycle ------------------------------------------------------------------------ */

/* Open HOST:PORT or unix:PATH (checked by config_check). */
static int open_socket(struct admin *a, const char *addr, char *err, size_t errlen)
{
	char host[256];
	const char *h;
	size_t hlen;
	uint16_t port;
	bool ok;

	if (strncmp(addr, "unix:", 5) == 0) {
		a->unix_path = strdup(addr + 5);
		if (a->unix_path == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		snprintf(a->url, sizeof(a->url), "%s", addr);
		return listener_open_unix(a->unix_path, err, errlen);
	}
	ok = listener_split(addr, &h, &hlen, &port);
	assert(ok);
	(void)ok;
	if (hlen >= sizeof(host)) {
		snprintf(err, errlen, "admin: the host name is too long");
		return -1;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	return listener_open(host, port, false, err, errlen);
}

int admin_start(struct admin **out, const char *addr, const char *token,
		const struct tls_files *tls, const struct admin_ops *ops, char *err,
		size_t errlen)
{
	struct admin *a = calloc(1, sizeof(*a));
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
			 MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ERROR_LOG;
	pthread_condattr_t attr;
	int rc;

	if (a == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pthread_mutex_init(&a->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* timerq_now's */
	pthread_cond_init(&a->wake, &attr);
	pthread_condattr_destroy(&attr);
	a->ops = *ops;
	a->listen_fd = open_socket(a, addr, err, errlen);
	if (a->listen_fd < 0)
		goto fail;
	if (tls != NULL && tls->cert == NULL)
		tls = NULL;
	assert(tls == NULL || (tls->key != NULL && a->unix_path == NULL));
	if (a->unix_path == NULL)
		listener_url_scheme(a->listen_fd, tls != NULL ? "https" : "http", a->url,
				    sizeof(a->url));
	if (token != NULL && (a->token = strdup(token)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (tls != NULL && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
		snprintf(err, errlen, "admin: this libmicrohttpd was built without TLS "
			 "support");
		goto fail;
	}
	{
		/* TLS: the key and its certificate (the first END ends the
		 * list). */
		struct MHD_OptionItem tls_items[] = {
			{MHD_OPTION_HTTPS_MEM_KEY, 0,
			 tls != NULL ? (void *)(uintptr_t)tls->key : NULL},
			{MHD_OPTION_HTTPS_MEM_CERT, 0,
			 tls != NULL ? (void *)(uintptr_t)tls->cert : NULL},
			{MHD_OPTION_END, 0, NULL},
		};

		if (tls == NULL)
			tls_items[0].option = MHD_OPTION_END;
		else
			flags |= MHD_USE_TLS;
		a->daemon = MHD_start_daemon(
			flags, 0, NULL, NULL, on_request, a,
			/* first: see http.c; the sweeper cuts clients on purpose */
			MHD_OPTION_EXTERNAL_LOGGER, mhd_log, mhd_log_cls(a->listen_fd, true),
			MHD_OPTION_ARRAY, tls_items,
			MHD_OPTION_CONNECTION_LIMIT, ADMIN_CONNECTIONS + 1,
			MHD_OPTION_CONNECTION_TIMEOUT, ADMIN_IDLE_TIMEOUT_S,
			MHD_OPTION_NOTIFY_COMPLETED, on_completed, a,
			MHD_OPTION_NOTIFY_CONNECTION, on_connection, a,
			MHD_OPTION_END);
	}
	if (a->daemon == NULL) {
		snprintf(err, errlen, "admin: libmicrohttpd failed to start%s",
			 tls != NULL ? " with the TLS certificate and key (see its "
				       "message above)" : "");
		goto fail;
	}
	rc = acceptor_start(&a->acceptor, a->listen_fd, ADMIN_CONNECTIONS, on_accept,
			    open_count, a);
	if (rc != 0) {
		snprintf(err, errlen, "admin: cannot start its accept thread: %s", strerror(rc));
		goto fail;
	}
	rc = pthread_create(&a->sweeper, NULL, sweep, a);
	if (rc != 0) {
		snprintf(err, errlen, "admin: cannot start its thread: %s", strerror(rc));
		goto fail;
	}
	a->sweeping = true;
	*out = a;
	return 0;
fail:
	admin_stop(a);
	return -1;
}

const char *admin_url(const struct admin *a)
{
	return a->url;
}

void admin_stop(struct admin *a)
{
	if (a == NULL)
		return;
	/* No new connections, no more sweeps; then close the open ones,
	 * whose CLOSED notifications release them to the acceptor; then
	 * free it. */
	if (a->acceptor != NULL)
		acceptor_stop(a->acceptor);
	if (a->sweeping) {
		pthread_mutex_lock(&a->lock);
		a->stopping = true;
		pthread_cond_signal(&a->wake);
		pthread_mutex_unlock(&a->lock);
		pthread_join(a->sweeper, NULL);
	}
	if (a->daemon != NULL)
		MHD_stop_daemon(a->daemon);
	acceptor_free(a->acceptor);
	if (a->listen_fd >= 0)
		close(a->listen_fd);
	if (a->unix_path != NULL)
		unlink(a->unix_path);
	free(a->unix_path);
	if (a->token != NULL)
		explicit_bzero(a->token, strlen(a->token));
	free(a->token);
	pthread_cond_destroy(&a->wake);
	pthread_mutex_destroy(&a->lock);
	free(a);
}
