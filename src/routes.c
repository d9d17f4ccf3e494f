/* routes.c - what each route answers; see routes.h.
 *
 * The table `routes` is the whole map of the service.  Every route takes
 * GET and HEAD only; a route marked WAITS answers after a drawn delay, and
 * with 503 at once to a request that arrived after the drain began.  The
 * delayed routes end the same way, in answer_after(): a fault (a shared
 * 503) or their body, after the delay.
 */
#include "routes.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dashboard.h"
#include "render.h"
#include "request.h"
#include "user.h"
#include "util.h"

static const char content_type_json[] = "application/json";
static const char content_type_metrics[] = "text/plain; version=0.0.4; charset=utf-8";

/* What a route is called with: the request, its server, and what follows
 * a prefix route's prefix ("7" of "/user/7"). */
struct route_call {
	const struct routes_env *env;
	const struct route_request *req;
	const char *rest;
	size_t rest_len;
};

/* ---- shared answers -------------------------------------------------------- */

static const struct {
	unsigned status;
	const char *text; /* error message, or status word for health */
} canned_text[CANNED_COUNT] = {
	[CANNED_BAD_TARGET] = {400, "malformed request target"},
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
	[CANNED_BUSY] = {503, "at capacity: try again later"},
	[CANNED_TOO_MANY] = {429, "at capacity: try again later"},
};

bool routes_canned(enum route_canned which, struct route_canned_answer *out,
		   char *buf, size_t buflen)
{
	unsigned status;
	size_t len;

	assert((unsigned)which < CANNED_COUNT);
	memset(out, 0, sizeof(*out));
	status = canned_text[which].status;
	out->status = status;
	if (which == CANNED_PAGE) {
		out->body = (const char *)dashboard_html;
		out->body_len = dashboard_html_len;
		out->content_type = "text/html; charset=utf-8";
		out->headers[0][0] = "Content-Security-Policy";
		out->headers[0][1] = dashboard_csp;
		out->headers[1][0] = "X-Content-Type-Options";
		out->headers[1][1] = "nosniff";
		out->headers[2][0] = "Referrer-Policy";
		out->headers[2][1] = "no-referrer";
		out->headers[3][0] = "Cache-Control";
		out->headers[3][1] = "no-cache";
		return true;
	}
	len = status == 200 || which == CANNED_NOT_READY
		? render_status(canned_text[which].text, buf, buflen)
		: render_error(status, canned_text[which].text, buf, buflen);
	out->body = buf;
	out->body_len = len;
	out->content_type = content_type_json;
	if (which == CANNED_METHOD) {
		out->headers[0][0] = "Allow";
		out->headers[0][1] = "GET, HEAD";
	} else if (which == CANNED_DRAINING) {
		out->headers[0][0] = "Connection";
		out->headers[0][1] = "close";
	} else if (which == CANNED_FAULT || which == CANNED_BUSY ||
		   which == CANNED_TOO_MANY) {
		out->headers[0][0] = "Retry-After";
		out->headers[0][1] = "1";
	}
	return len > 0;
}

/* ---- answers ----------------------------------------------------------------- */

static void answer_canned(struct route_answer *ans, enum route_canned which)
{
	free(ans->body);
	ans->body = NULL;
	ans->body_len = 0;
	ans->shared = true;
	ans->canned = which;
	ans->status = canned_text[which].status;
}

/* Answer with the malloc'd `body` (taken over; NULL: out of memory). */
static void answer_body(struct route_answer *ans, char *body, size_t len,
			const char *type)
{
	if (body == NULL) {
		answer_canned(ans, CANNED_INTERNAL);
		return;
	}
	free(ans->body);
	ans->shared = false;
	ans->status = 200;
	ans->body = body;
	ans->body_len = len;
	ans->content_type = type;
}

/* An error with its own message: the JSON error body. */
static void answer_error(struct route_answer *ans, unsigned status, const char *msg)
{
	char buf[RENDER_BUF_SIZE];
	size_t len = render_error(status, msg, buf, sizeof(buf));
	char *body = len == 0 ? NULL : malloc(len);

	if (body != NULL)
		memcpy(body, buf, len);
	answer_body(ans, body, len, content_type_json);
	if (body != NULL)
		ans->status = status;
}

/* A fault drawn for a request, with the Retry-After its rule sets (0:
 * the fault's own). */
struct drawn_fault {
	struct fault fault;
	unsigned retry_after_s;
};

/* A delay and the least of it to serve (route_answer's floor_us). */
struct drawn_delay {
	uint64_t us, floor_us;
};

/* The tail of every delayed route: after `delay` (ans->delay_us and
 * ans->floor_us), `body` (malloc'd,
 * taken over; NULL when out of memory, which is answered at once), or the
 * fault `f` (counted): an answer fault (its status) is answered here (503
 * is shared), a transport fault is the HTTP layer's to do, after the
 * delay. */
static void answer_after(const struct routes_env *env, struct route_answer *ans,
			 unsigned slots, struct drawn_delay delay, struct drawn_fault f,
			 char *body, size_t len)
{
	const uint64_t delay_us = delay.us;

	ans->slots = slots;
	if (f.fault.kind != FAULT_NONE)
		metrics_fault(env->metrics, f.fault.kind);
	ans->injected = f.fault;
	if (f.fault.kind != FAULT_NONE && fault_is_answer(f.fault.kind)) {
		free(body);
		if (f.fault.arg == 503 && f.retry_after_s == 0) {
			answer_canned(ans, CANNED_FAULT);
		} else {
			answer_error(ans, f.fault.arg, "injected fault");
			ans->retry_after_s = f.retry_after_s > 0 ? f.retry_after_s
				: f.fault.arg == 429 ? 1 : 0;
		}
		ans->delay_us = delay_us;
		ans->floor_us = delay.floor_us;
		return;
	}
	answer_body(ans, body, len, content_type_json);
	if (body != NULL) {
		ans->timed = true;
		ans->delay_us = delay_us;
		ans->floor_us = delay.floor_us;
		ans->fault = f.fault;
	}
}

/* ---- the delayed routes --------------------------------------------------- */

/* The query parameters every delayed route takes. */
struct delay_params {
	bool has_delay;
	uint32_t delay_ms;
	bool fail;
	struct fault fault; /* ?fault= */
};

/* Parse ?delay=, ?fail= and ?fault=; false with a message in err. */
static bool parse_delay_params(const struct route_request *req,
			       struct delay_params *p, char *err, size_t errlen)
{
	const struct run_settings *s = req->settings;
	const char *v;
	size_t len;

	memset(p, 0, sizeof(*p));
	if (s->delay_override && req->query.get(req->query.cls, "delay", &v, &len)) {
		if (!request_parse_delay(v, len, s->delay.clamp_ms, &p->delay_ms,
					 err, errlen))
			return false;
		p->has_delay = true;
	}
	if (req->query.get(req->query.cls, "fail", &v, &len) &&
	    !request_parse_flag("fail", v, len, &p->fail, err, errlen))
		return false;
	if (req->query.get(req->query.cls, "fault", &v, &len) &&
	    !fault_parse(v, len, &p->fault, err, errlen))
		return false;
	return true;
}

/* `us` times the matching rule's scale, no more than --max-delay. */
static uint64_t scaled(const struct route_request *req, const struct rule_hit *hit,
		       uint64_t us)
{
	double cap = (double)req->settings->delay.clamp_ms * 1000.0, v;

	if (hit == NULL || hit->scale == 1.0)
		return us;
	v = (double)us * hit->scale;
	return (uint64_t)(v < cap ? v : cap);
}

/* A draw from `m`, never served below the least value m can draw (so
 * a fixed: delay is never early, nor a uniform: one below its MIN); both
 * times the rule's scale. */
static struct drawn_delay draw_from(const struct delay_model *m, struct rng *r,
				    const struct route_request *req,
				    const struct rule_hit *hit, uint64_t *unscaled)
{
	uint64_t us = delay_draw_us(m, r);
	uint64_t least = (uint64_t)delay_quantile(m, 0);

	if (unscaled != NULL)
		*unscaled = us;
	least = least < us ? least : us;
	return (struct drawn_delay){.us = scaled(req, hit, us),
				    .floor_us = scaled(req, hit, least)};
}

/* One delay for one user: ?delay= (served whole), or a draw from the
 * matching rule's model (clamped by --max-delay), or from the settings'
 * model (which the live page counts, unscaled); then times the rule's
 * scale (a slower backend: ?delay= too), clamped again. */
static struct drawn_delay draw_delay(const struct routes_env *env,
				     const struct delay_params *p,
				     const struct route_request *req,
				     const struct rule_effect *rule,
				     const struct rule_hit *hit)
{
	struct drawn_delay d;
	uint64_t us;

	if (rule == NULL)
		hit = NULL; /* no rule, no scale */
	if (p->has_delay) {
		us = scaled(req, hit, (uint64_t)p->delay_ms * 1000u);
		return (struct drawn_delay){.us = us, .floor_us = us};
	}
	if (rule != NULL && rule->has_delay) {
		struct delay_model m = rule->delay;

		m.clamp_ms = req->settings->delay.clamp_ms;
		return draw_from(&m, req->rng, req, hit, NULL);
	}
	d = draw_from(&req->settings->delay, req->rng, req, hit, &us);
	if (env->live != NULL)
		live_delay_drawn(env->live, us);
	return d;
}

/* Decide which fault to inject, if any: ?fault=, then ?fail=1 (a 503),
 * then the matching rule's (a mix: its shares of the same draw, the rest
 * none), then the draw: --error-rate's share is a 503,
 * --faults' shares follow.  Always draws, so a seeded connection's stream
 * does not depend on any of them. */
static struct drawn_fault draw_fault(const struct delay_params *p,
				     const struct route_request *req,
				     const struct rule_effect *rule)
{
	const struct run_settings *s = req->settings;
	struct drawn_fault unavailable = {.fault = {.kind = FAULT_STATUS, .arg = 503}};
	double u = rng_unit(req->rng);

	if (p->fault.kind != FAULT_NONE)
		return (struct drawn_fault){.fault = p->fault};
	if (p->fail)
		return unavailable;
	if (rule != NULL && rule->mixed)
		return (struct drawn_fault){.fault = fault_mix_pick(&rule->mix, 0, u),
					    .retry_after_s = rule->retry_after_s};
	if (rule != NULL && rule->has_fault)
		return (struct drawn_fault){.fault = rule->fault,
					    .retry_after_s = rule->retry_after_s};
	if (u < s->error_rate)
		return unavailable;
	return (struct drawn_fault){.fault = fault_mix_pick(&s->faults, s->error_rate, u)};
}

/* A copy of buf[0..len) in a new allocation, or NULL. */
static char *copy_of(const char *buf, size_t len)
{
	char *copy = len == 0 ? NULL : malloc(len);

	if (copy != NULL)
		memcpy(copy, buf, len);
	return copy;
}

/* GET /user/<id>: the record, after its delay. */
static void route_user(const struct route_call *call, struct route_answer *ans)
{
	const struct routes_env *env = call->env;
	const struct route_request *req = call->req;
	struct delay_params p;
	char body[RENDER_BUF_SIZE], err[128];
	const struct rule_effect *rule;
	struct drawn_delay delay;
	uint64_t id;
	struct user u;
	size_t len;
	struct rule_hit hit;
	struct drawn_fault fault;

	if (!user_parse_id(call->rest, call->rest_len, &id)) {
		answer_canned(ans, CANNED_BAD_ID);
		return;
	}
	if (!parse_delay_params(req, &p, err, sizeof(err))) {
		answer_error(ans, 400, err);
		return;
	}
	/* Draw in one fixed order (delay, record, fault) so a seeded
	 * connection is reproducible. */
	rule = rules_apply(req->rules, RULES_ROUTE_USER, id, req->client, req->now_ns, &hit);
	ans->rule = rule != NULL ? (int)hit.index : -1;
	delay = draw_delay(env, &p, req, rule, &hit);
	user_fetch(&u, id, req->rng);
	fault = draw_fault(&p, req, rule);
	len = fault.fault.kind != FAULT_NONE && fault_is_answer(fault.fault.kind)
		? 0 : render_user(&u, body, sizeof(body));
	answer_after(env, ans, 1, delay, fault, copy_of(body, len), len);
}

/* GET /users?ids=1,2,3: every record with its own delay, all answered
 * together after the longest (one wait, however many ids). */
static void route_users(const struct route_call *call, struct route_answer *ans)
{
	const struct routes_env *env = call->env;
	const struct route_request *req = call->req;
	const unsigned max = req->settings->max_batch;
	const struct rule_effect *rule = NULL;
	struct delay_params p;
	struct user *users;
	struct drawn_delay delay = {0, 0};
	uint64_t *ids;
	const char *v;
	size_t len = 0, n;
	char err[128];
	char *body;

	if (!req->query.get(req->query.cls, "ids", &v, &len)) {
		answer_error(ans, 400, "ids: required, e.g. /users?ids=1,2,3");
		return;
	}
	if (!parse_delay_params(req, &p, err, sizeof(err))) {
		answer_error(ans, 400, err);
		return;
	}
	ids = malloc(max * sizeof(*ids));
	users = malloc(max * sizeof(*users));
	if (ids == NULL || users == NULL) {
		free(ids);
		free(users);
		answer_canned(ans, CANNED_INTERNAL);
		return;
	}
	n = request_parse_ids(v, len, ids, max, err, sizeof(err));
	for (size_t i = 0; i < n; i++) {
		struct rule_hit hit;
		const struct rule_effect *r = rules_apply(req->rules, RULES_ROUTE_USERS, ids[i],
							  req->client, req->now_ns, &hit);
		struct drawn_delay d = draw_delay(env, &p, req, r, &hit);

		/* The batch fails the way the first id with a faulty rule says. */
		if (rule == NULL && r != NULL && r->has_fault)
			rule = r;
		if (r != NULL && ans->rule < 0)
			ans->rule = (int)hit.index;
		/* Answered after the longest, never below the greatest
		 * floor: the least the longest could be. */
		delay.us = d.us > delay.us ? d.us : delay.us;
		delay.floor_us = d.floor_us > delay.floor_us ? d.floor_us : delay.floor_us;
		user_fetch(&users[i], ids[i], req->rng);
	}
	body = n == 0 ? NULL : render_users(users, n, &len);
	free(ids);
	free(users);
	if (n == 0) {
		answer_error(ans, 400, err);
		return;
	}
	if (body == NULL) {
		answer_canned(ans, CANNED_INTERNAL);
		return;
	}
	answer_after(env, ans, (unsigned)n, delay, draw_fault(&p, req, rule), body, len);
}

/* ---- the routes that answer at once ---------------------------------------- */

static void route_healthz(const struct route_call *call, struct route_answer *ans)
{
	(void)call;
	answer_canned(ans, CANNED_HEALTHY);
}

static void route_readyz(const struct route_call *call, struct route_answer *ans)
{
	answer_canned(ans, call->req->draining ? CANNED_NOT_READY : CANNED_READY);
}

static void route_metrics(const struct route_call *call, struct route_answer *ans)
{
	struct metrics_gauges g = call->env->gauges(call->env->gauges_cls);
	size_t len = 0;
	char *text;

	g.delay = &call->req->settings->delay; /* this request's snapshot's */
	g.rules = call->req->rules;
	g.now_ns = call->req->now_ns;
	text = metrics_render(call->env->metrics, &g, &len);

	answer_body(ans, text, len, content_type_metrics);
}

/* GET /: the live page (shared). */
static void route_page(const struct route_call *call, struct route_answer *ans)
{
	(void)call;
	answer_canned(ans, CANNED_PAGE);
	ans->body_len = dashboard_html_len; /* for the access log */
}

/* GET /live: the snapshot the page polls, rendered at most every
 * LIVE_SNAPSHOT_MAX_AGE_MS and shared by every poller meanwhile. */
static void route_live(const struct route_call *call, struct route_answer *ans)
{
	const struct routes_env *env = call->env;
	struct metrics_gauges g = env->gauges(env->gauges_cls);
	uint64_t counts[METRICS_LATENESS_MAX + 1];
	struct live_lateness late = {.counts = counts};
	size_t len = 0;
	char *text;

	g.rules = call->req->rules;
	g.now_ns = call->req->now_ns;
	late.n = metrics_lateness_buckets(env->metrics, &late.bounds_s, counts);
	text = live_snapshot(env->live, &g, metrics_requests_total(env->metrics),
			     &late, call->req->now_ns, &len);
	answer_body(ans, text, len, content_type_json);
	if (!ans->shared)
		ans->cache_control = "no-store";
}

/* ---- the table ---------------------------------------------------------------- */

enum {
	PREFIX = 1 << 0,    /* path is a prefix; the rest goes to the route */
	COUNTED = 1 << 1,   /* user traffic: counted in metrics, logged */
	WAITS = 1 << 2,     /* answers after a delay; 503 once draining */
	DASHBOARD = 1 << 3, /* only with the live page (not --no-dashboard) */
};

typedef void route_fn(const struct route_call *call, struct route_answer *ans);

static const struct route {
	const char *path;
	unsigned flags;
	enum metrics_route metrics_route;
	route_fn *answer;
} routes[] = {
	{"/user/", PREFIX | COUNTED | WAITS, METRICS_ROUTE_USER, route_user},
	{"/users", COUNTED | WAITS, METRICS_ROUTE_USERS, route_users},
	{"/healthz", 0, METRICS_ROUTE_OTHER, route_healthz},
	{"/readyz", 0, METRICS_ROUTE_OTHER, route_readyz},
	{"/metrics", 0, METRICS_ROUTE_OTHER, route_metrics},
	{"/", DASHBOARD, METRICS_ROUTE_OTHER, route_page},
	{"/live", DASHBOARD, METRICS_ROUTE_OTHER, route_live},
};

int routes_match(const char *path, size_t len, const char **rest, size_t *rest_len)
{
	for (size_t i = 0; i < countof(routes); i++) {
		size_t n = strlen(routes[i].path);

		if ((routes[i].flags & PREFIX) ? len < n : len != n)
			continue;
		if (memcmp(path, routes[i].path, n) != 0)
			continue;
		*rest = path + n;
		*rest_len = len - n;
		return (int)i;
	}
	*rest = NULL;
	*rest_len = 0;
	return -1;
}

const char *routes_path(int i)
{
	return i >= 0 && (size_t)i < countof(routes) ? routes[i].path : NULL;
}

void routes_reject(struct route_answer *ans, unsigned status, const char *msg)
{
	memset(ans, 0, sizeof(*ans));
	ans->rule = -1;
	ans->counted = true;
	ans->metrics_route = METRICS_ROUTE_OTHER;
	answer_error(ans, status, msg);
}

static bool is_get_or_head(const char *method)
{
	return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
}

void routes_dispatch(const struct routes_env *env, const struct route_request *req,
		     struct route_answer *ans)
{
	struct route_call call = {.env = env, .req = req};
	const struct route *r;
	int i;

	memset(ans, 0, sizeof(*ans));
	ans->rule = -1;
	ans->metrics_route = METRICS_ROUTE_OTHER;
	i = routes_match(req->path, strlen(req->path), &call.rest, &call.rest_len);
	r = i < 0 ? NULL : &routes[i];
	if (r != NULL && (r->flags & DASHBOARD) && env->live == NULL)
		r = NULL;
	if (r == NULL) {
		ans->counted = true; /* a client's mistake is user traffic */
		answer_canned(ans, CANNED_NOT_FOUND);
		return;
	}
	ans->counted = (r->flags & COUNTED) != 0;
	ans->metrics_route = r->metrics_route;
	if (!is_get_or_head(req->method)) {
		answer_canned(ans, CANNED_METHOD);
		return;
	}
	if ((r->flags & WAITS) && !req->accepted) {
		answer_canned(ans, CANNED_DRAINING);
		return;
	}
	r->answer(&call, ans);
}
