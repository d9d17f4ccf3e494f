/* admin.c - the control API; see admin.h.
 *
 * One libmicrohttpd daemon of its own (one thread: control traffic is
 * light), fed by an acceptor like the user port, so the two never share a
 * socket or a thread.  Request bodies (PATCH, PUT) are read whole, up to
 * ADMIN_BODY_MAX, then handled; every answer is JSON.
 */
#include "admin.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "acceptor.h"
#include "control.h"
#include "listener.h"
#include "log.h"
#include "mhd_compat.h"

/* Largest request body taken, and most control connections at once. */
#define ADMIN_BODY_MAX (64 * 1024)
#define ADMIN_CONNECTIONS 64

struct admin {
	struct MHD_Daemon *daemon;
	acceptor *acceptor;
	int listen_fd;
	char *unix_path;   /* to remove at stop */
	char *token;       /* NULL: none required */
	struct admin_ops ops;
	char url[128];
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
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				    "application/json") != MHD_YES ||
	    (status == 401 && MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
						      "Bearer") != MHD_YES)) {
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
	struct run_settings run;
	struct rules *rules;

	a->ops.current(a->ops.cls, &run, &rules);
	rules_unref(rules);
	return answer_json(c, 200, control_config_json(&run));
}

/* PATCH /config: all fields applied, or none. */
static MHD_Result_t patch_config(struct admin *a, struct MHD_Connection *c,
				 const struct upload *up)
{
	struct run_settings run, next;
	struct rules *rules;
	json_t *errors;

	a->ops.current(a->ops.cls, &run, &rules);
	rules_unref(rules);
	if (!control_patch(up->data, up->len, &run, &next, &errors))
		return answer_error(c, 400, "nothing changed: some fields are not valid",
				    errors);
	a->ops.apply(a->ops.cls, &next, NULL, true);
	return answer_json(c, 200, control_config_json(&next));
}

static MHD_Result_t reset_config(struct admin *a, struct MHD_Connection *c)
{
	a->ops.reset(a->ops.cls);
	return get_config(a, c);
}

static MHD_Result_t get_rules(struct admin *a, struct MHD_Connection *c)
{
	struct run_settings run;
	struct rules *rules;
	json_t *list;

	a->ops.current(a->ops.cls, &run, &rules);
	list = control_rules_json(rules);
	rules_unref(rules);
	return answer_json(c, 200, list);
}

/* PUT /rules: the whole list, applied only whole. */
static MHD_Result_t put_rules(struct admin *a, struct MHD_Connection *c,
			      const struct upload *up)
{
	struct run_settings run;
	struct rules *rules, *old;
	json_t *errors, *list;

	if (!control_parse_rules(up->data, up->len, &rules, &errors))
		return answer_error(c, 400, "nothing changed: some rules are not valid",
				    errors);
	a->ops.current(a->ops.cls, &run, &old);
	rules_unref(old);
	a->ops.apply(a->ops.cls, &run, rules, false);
	list = control_rules_json(rules);
	rules_unref(rules);
	return answer_json(c, 200, list);
}

static MHD_Result_t get_stats(struct admin *a, struct MHD_Connection *c)
{
	struct metrics_gauges g = http_gauges(a->ops.srv);

	return answer_json(c, 200, control_stats_json(http_metrics(a->ops.srv), &g));
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
	if (!authorized(a, c))
		return answer_error(c, 401, "a valid 'Authorization: Bearer TOKEN' is required",
				    NULL);
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
	if (strcmp(url, "/config") == 0 || strcmp(url, "/config/reset") == 0 ||
	    strcmp(url, "/rules") == 0 || strcmp(url, "/stats") == 0)
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

	(void)c;
	(void)socket_context;
	if (code == MHD_CONNECTION_NOTIFY_CLOSED)
		acceptor_release(a->acceptor);
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
		const struct admin_ops *ops, char *err, size_t errlen)
{
	struct admin *a = calloc(1, sizeof(*a));
	int rc;

	if (a == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	a->ops = *ops;
	a->listen_fd = open_socket(a, addr, err, errlen);
	if (a->listen_fd < 0)
		goto fail;
	if (a->unix_path == NULL)
		listener_url(a->listen_fd, a->url, sizeof(a->url));
	if (token != NULL && (a->token = strdup(token)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	a->daemon = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
			MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ERROR_LOG,
		0, NULL, NULL, on_request, a,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)ADMIN_CONNECTIONS + 1,
		MHD_OPTION_CONNECTION_TIMEOUT, 30u,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, a,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, a,
		MHD_OPTION_END);
	if (a->daemon == NULL) {
		snprintf(err, errlen, "admin: libmicrohttpd failed to start");
		goto fail;
	}
	rc = acceptor_start(&a->acceptor, a->listen_fd, ADMIN_CONNECTIONS, on_accept,
			    open_count, a);
	if (rc != 0) {
		snprintf(err, errlen, "admin: cannot start its accept thread: %s", strerror(rc));
		goto fail;
	}
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
	/* No new connections; then close the open ones, whose CLOSED
	 * notifications release them to the acceptor; then free it. */
	if (a->acceptor != NULL)
		acceptor_stop(a->acceptor);
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
	free(a);
}
