/* exchange.c - one request's life on a libmicrohttpd connection; see
 * exchange.h.
 *
 * An exchange's life: exchange_on_request() sees its headers (EX_NEW),
 * then its end; dispatch() routes it and sends the answer, or suspends
 * the connection and adds its deadline to the timer queue (EX_WAITING).
 * on_deadline() on the timer thread marks it EX_DUE (EX_FLUSHED when the
 * drain gave up waiting) and resumes the connection;
 * exchange_on_request() runs again and sends.  exchange_on_completed()
 * counts, logs and frees, whatever happened to the client.
 *
 * The faults that are not an answer (transport.h) are planned there and
 * carried out here, after the delay: reset and close end the connection
 * (EX_FAULTED); hang keeps it suspended (EX_HANGING), looked at on the
 * timer queue, until the client leaves or --hang-timeout passes; drip and
 * truncate send the body from a content reader that transport_read()
 * feeds, drip suspending between its chunks on the same timer queue.
 *
 * With --capacity a request that makes backend calls (route_answer's
 * slots) takes its slots for its delay, its service, or waits for them
 * in capacity.h's FIFO (EX_QUEUED): suspended, its node in the FIFO and
 * its timer entry in the timer queue at its --queue-timeout (or in ten
 * years), so that the drain's flush finds it like any waiting request.
 * The callback that ends a service gives its slots back and starts the
 * waiting heads that now fit (start_next), in the same callback: their
 * timer entries move from the queue timeout to the end of their service.
 * A turned-away request (full queue, timeout) is EX_REJECTED; a head
 * whose client left is found when it would start (EX_LEFT), since a
 * suspended connection is not polled.
 */
#include "exchange.h"

#include <arpa/inet.h>
#include <assert.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "access.h"
#include "log.h"
#include "request.h"
#include "rng.h"
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
	EX_QUEUED,   /* suspended, waiting for a slot (--capacity) */
	EX_REJECTED, /* the queue turned it away: answer --reject-status */
	EX_LEFT,     /* its client left while it queued: close */
};

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
	struct fault injected;         /* the fault drawn, of any class */
	int rule;                      /* the rule that applied; -1: none */
	unsigned hang_timeout_s;
	uint64_t started_ns;
	uint64_t seq;                  /* its number in arrival order (journal) */
	uint64_t deadline_ns;          /* when its delay ends */
	uint64_t aim_ns;               /* when its timer was set for (aim.h) */
	uint64_t timer_late_ns;        /* from the aim to the resume */
	bool due;                      /* its timer fired at the aim */
	uint64_t floor_us;             /* never aimed before this much of */
				       /* the delay (route_answer) */
	uint64_t delay_us;
	uint64_t body_len;             /* the body sent (a shared answer's: */
				       /* set when it is queued), for the log */
	/* --capacity, as in force at its dispatch: */
	unsigned wants;                /* slots it would take; 0: none */
	unsigned limit, queue_max, queue_timeout_ms;
	enum route_canned reject;      /* CANNED_BUSY or CANNED_TOO_MANY */
	unsigned slots;                /* slots it holds now */
	bool queued;                   /* waited in the FIFO */
	uint64_t queue_wait_ns;
	struct capacity_node queue_node;
	struct exchange *resume_next;  /* start_next's list of resumes */
	const char *method;            /* libmicrohttpd's, valid until completed */
	const char *url;
	const char *version;
};

struct conn {
	struct exchanges *xs;
	struct MHD_Connection *mhd;
	struct rng rng;
	struct exchange ex;
	const char *raw_uri_end; /* the request target as received, to spot NULs */
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
	ex->floor_us = ans->floor_us;
	ex->body_len = ans->body_len;
	ex->injected = ans->injected;
	ex->rule = ans->rule;
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
static MHD_Result_t send_answer(struct exchanges *xs, struct MHD_Connection *c,
				struct exchange *ex)
{
	bool closing = atomic_load_explicit(&xs->draining, memory_order_relaxed);

	if (ex->response != NULL && closing &&
	    !responses_add_header(ex->response, MHD_HTTP_HEADER_CONNECTION, "close"))
		use_canned(ex, CANNED_INTERNAL, 500);
	if (ex->response == NULL)
		ex->body_len = xs->shared.len[ex->canned]; /* what is sent */
	ex->state = EX_ANSWERED;
	return MHD_queue_response(c, ex->status, ex->response != NULL
					  ? ex->response : xs->shared.resp[closing][ex->canned]);
}

/* ---- waiting --------------------------------------------------------------- */

/* Did the client close or reset its connection while its request waited?
 * (A suspended connection is not polled: see transport_peer_gone.) */
static bool client_gone(const struct conn *conn)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(conn->mhd, MHD_CONNECTION_INFO_CONNECTION_FD);

	return info != NULL && transport_peer_gone(info->connect_fd, conn->xs->tls);
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

/* ---- capacity -------------------------------------------------------------- */

/* A queued request without --queue-timeout still has its entry in the
 * timer queue (so the drain's flush reaches it), this far ahead. */
#define QUEUE_FOREVER_NS (UINT64_C(10) * 365 * 86400 * 1000000000)

static void on_deadline(struct timerq_entry *entry, uint64_t now_ns,
			enum timerq_reason reason);

/* The capacity in force now: a change applies from the next start. */
static unsigned limit_now(struct exchanges *xs)
{
	unsigned limit;

	pthread_mutex_lock(&xs->settings_lock);
	limit = xs->settings->run.capacity;
	pthread_mutex_unlock(&xs->settings_lock);
	return limit;
}

/* ex's delay begins at `begin` (now, or for a service that a freed slot
 * starts, the freed slot's deadline, which may be past): its deadline,
 * and the timer aimed so that its answer leaves at the deadline on
 * average, but not before its floor (a ?delay= is aimed at its
 * deadline).  A service through --capacity is aimed at its deadline: its
 * slot changes hands there, never before.  The aim is never before now,
 * so the timer's lateness counts from when it could fire.  False when
 * the timer queue is closed (the drain flushed it). */
static bool wait_for_deadline(struct exchanges *xs, struct exchange *ex, uint64_t begin)
{
	uint64_t now = timerq_now();
	uint64_t floor_us = ex->wants > 0 || ex->floor_us > ex->delay_us ? ex->delay_us
									  : ex->floor_us;

	ex->state = EX_WAITING;
	ex->deadline_ns = begin + ex->delay_us * 1000u;
	ex->aim_ns = aim_at(&xs->aim, begin + floor_us * 1000u, ex->deadline_ns);
	if (ex->aim_ns < now)
		ex->aim_ns = now;
	return timerq_add(xs->timers, &ex->timer, ex->aim_ns, on_deadline);
}

/* Under capacity_lock, ex's slots taken: its service (its delay) begins
 * at `begin` (see wait_for_deadline).  False when the timer queue is
 * closed (the drain flushed it): its slots are given back and it is to
 * be resumed, to answer 503. */
static bool begin_service(struct exchanges *xs, struct exchange *ex, uint64_t begin)
{
	if (wait_for_deadline(xs, ex, begin))
		return true;
	capacity_give(&xs->capacity, ex->slots);
	ex->slots = 0;
	end_wait(ex);
	return false;
}

/* Under capacity_lock: start the waiting heads whose slots fit under
 * `limit`, in order; a head whose client left is taken out instead.  The
 * ones to resume (left, or refused by a closed timer queue) are pushed
 * on *resume, for the caller to resume once the lock is dropped.  A head
 * whose timer entry is already firing (its queue timeout, or the flush)
 * stays first: that callback takes it out and comes here again.
 *
 * A head's service begins at `freed`, when the slots it takes became
 * free (the deadline of the service that ended; now otherwise), or when
 * it arrived if that was later: a timer that fired late does not stretch
 * the queue, whose slots change hands at their deadlines as in the
 * queueing model (a service's timer is never early: wait_for_deadline). */
static void start_next(struct exchanges *xs, unsigned limit, uint64_t freed,
		       struct exchange **resume)
{
	struct capacity_node *n;

	while ((n = capacity_ready(&xs->capacity, limit)) != NULL) {
		struct exchange *ex = container_of(n, struct exchange, queue_node);
		uint64_t begin = freed > n->since ? freed : n->since;

		if (!timerq_cancel(xs->timers, &ex->timer))
			return;
		capacity_remove(&xs->capacity, n);
		ex->queue_wait_ns = begin - n->since;
		metrics_queue_wait(xs->metrics, ex->queue_wait_ns);
		if (client_gone(container_of(ex, struct conn, ex))) {
			ex->state = EX_LEFT;
		} else {
			ex->slots = n->slots;
			capacity_take(&xs->capacity, ex->slots);
			if (begin_service(xs, ex, begin))
				continue;
		}
		ex->resume_next = *resume;
		*resume = ex;
	}
}

/* conn no longer waits: hand it back to its libmicrohttpd thread.  The
 * resume is the caller's last touch of it. */
static void resume_waiting(struct exchanges *xs, struct conn *conn)
{
	atomic_fetch_sub_explicit(&xs->waiting, 1, memory_order_relaxed);
	MHD_resume_connection(conn->mhd);
}

/* Resume start_next's list: each resume is the last touch of its own. */
static void resume_all(struct exchanges *xs, struct exchange *list)
{
	while (list != NULL) {
		struct exchange *next = list->resume_next;

		resume_waiting(xs, container_of(list, struct conn, ex));
		list = next;
	}
}

/* ex's service ended at `ended` (its deadline, or the flush's now): give
 * its slots back and start who waits for them, in this same callback. */
static void end_service(struct exchanges *xs, struct exchange *ex, uint64_t ended)
{
	struct exchange *resume = NULL;
	unsigned limit = limit_now(xs);

	pthread_mutex_lock(&xs->capacity_lock);
	capacity_give(&xs->capacity, ex->slots);
	ex->slots = 0;
	start_next(xs, limit, ended, &resume);
	pthread_mutex_unlock(&xs->capacity_lock);
	resume_all(xs, resume);
}

/* Timer thread (or the flush): a queued request's timer fired, so it is
 * still queued (start_next only takes one out whose entry it cancelled).
 * It timed out, or the drain flushed it; either way it leaves the queue,
 * which may let the next ones start. */
static void queue_deadline(struct exchanges *xs, struct exchange *ex, uint64_t now,
			   enum timerq_reason reason)
{
	struct exchange *resume = NULL;
	unsigned limit = limit_now(xs);
	bool removed;

	pthread_mutex_lock(&xs->capacity_lock);
	removed = capacity_remove(&xs->capacity, &ex->queue_node);
	assert(removed);
	(void)removed;
	ex->queue_wait_ns = now - ex->queue_node.since;
	metrics_queue_wait(xs->metrics, ex->queue_wait_ns);
	if (reason == TIMERQ_FLUSHED) {
		end_wait(ex);
	} else {
		ex->state = EX_REJECTED;
		metrics_queue_rejected(xs->metrics, METRICS_REJECT_TIMEOUT);
	}
	start_next(xs, limit, now, &resume);
	pthread_mutex_unlock(&xs->capacity_lock);
	resume_all(xs, resume);
}

/* The handler, ex suspended and counted as waiting: take ex's slots, or
 * queue it, or turn it away.  A limit raised since the last start first
 * lets the waiting heads in (they came first). */
static void arrive(struct exchanges *xs, struct conn *conn)
{
	struct exchange *ex = &conn->ex;
	struct exchange *resume = NULL;
	uint64_t now = timerq_now();
	unsigned limit = limit_now(xs);
	bool waits = false;

	pthread_mutex_lock(&xs->capacity_lock);
	start_next(xs, limit, now, &resume);
	switch (capacity_arrive(&xs->capacity, &ex->queue_node, ex->wants, limit,
				ex->queue_max, now)) {
	case CAPACITY_START:
		metrics_queue_wait(xs->metrics, 0);
		ex->slots = ex->wants;
		waits = begin_service(xs, ex, now);
		break;
	case CAPACITY_QUEUED:
		ex->state = EX_QUEUED;
		ex->queued = true;
		/* Its deadline, until it starts: when it would be turned away. */
		ex->deadline_ns = now + (ex->queue_timeout_ms > 0
					 ? ex->queue_timeout_ms * UINT64_C(1000000)
					 : QUEUE_FOREVER_NS);
		ex->aim_ns = ex->deadline_ns;
		waits = timerq_add(xs->timers, &ex->timer, ex->aim_ns, on_deadline);
		if (!waits) {
			capacity_remove(&xs->capacity, &ex->queue_node);
			end_wait(ex);
		}
		break;
	case CAPACITY_FULL:
		metrics_queue_rejected(xs->metrics, METRICS_REJECT_FULL);
		ex->state = EX_REJECTED;
		ex->deadline_ns = ex->aim_ns = now; /* answered at once */
		break;
	}
	pthread_mutex_unlock(&xs->capacity_lock);
	resume_all(xs, resume);
	if (!waits)
		resume_waiting(xs, conn);
}

/* Timer thread: the deadline passed (or the drain flushed it).  The
 * resume hands the exchange back to its libmicrohttpd thread, so the
 * resume is the last touch. */
static void on_deadline(struct timerq_entry *entry, uint64_t now_ns,
			enum timerq_reason reason)
{
	struct exchange *ex = container_of(entry, struct exchange, timer);
	struct conn *conn = container_of(ex, struct conn, ex);
	struct exchanges *xs = conn->xs;

	if (ex->state == EX_QUEUED) {
		queue_deadline(xs, ex, now_ns, reason);
		resume_waiting(xs, conn);
		return;
	}
	if (ex->slots > 0)
		end_service(xs, ex, reason == TIMERQ_EXPIRED ? ex->deadline_ns : now_ns);
	if (reason == TIMERQ_FLUSHED) {
		end_wait(ex);
	} else if (ex->state == EX_WAITING) {
		ex->timer_late_ns = now_ns - ex->aim_ns;
		metrics_lateness(xs->metrics, ex->timer_late_ns);
		ex->state = EX_DUE;
		ex->due = true;
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
		    timerq_add(xs->timers, &ex->timer, next, on_deadline))
			return;
		ex->state = EX_HUNG;
	}
	resume_waiting(xs, conn);
}

/* Send ex's answer after its delay, or now when there is none.  Once the
 * drain has flushed the timer queue nothing waits any more: the answer
 * is then 503 at once (the queue refuses the deadline if the flush comes
 * between the check and the suspension). */
static MHD_Result_t deliver(struct exchanges *xs, struct MHD_Connection *c,
			    struct exchange *ex);

static MHD_Result_t wait_then_send(struct exchanges *xs, struct conn *conn,
				   struct MHD_Connection *c)
{
	struct exchange *ex = &conn->ex;

	if (ex->delay_us == 0 && ex->transport.plan != TRANSPORT_HOLD && ex->wants == 0)
		return deliver(xs, c, ex);
	if (atomic_load(&xs->flushed)) {
		end_wait(ex);
		use_canned(ex, CANNED_DRAINING, 503);
		return send_answer(xs, c, ex);
	}
	if (ex->wants > 0) {
		/* Through --capacity's slots, even with no delay. */
		ex->waited = true;
		atomic_fetch_add_explicit(&xs->waiting, 1, memory_order_relaxed);
		MHD_suspend_connection(c);
		arrive(xs, conn);
		return MHD_YES;
	}
	ex->waited = true;
	atomic_fetch_add_explicit(&xs->waiting, 1, memory_order_relaxed);
	MHD_suspend_connection(c);
	if (!wait_for_deadline(xs, ex, timerq_now())) {
		end_wait(ex);
		resume_waiting(xs, conn); /* answered 503 when it runs again */
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
static MHD_Result_t deliver(struct exchanges *xs, struct MHD_Connection *c,
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
	return send_answer(xs, c, ex);
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
		if (timerq_add(conn->xs->timers, &ex->timer, until, on_drip_tick))
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

/* The settings in force: a reference for the caller to drop. */
static struct settings *settings_now(struct exchanges *xs)
{
	struct settings *s;

	pthread_mutex_lock(&xs->settings_lock);
	s = settings_ref(xs->settings);
	pthread_mutex_unlock(&xs->settings_lock);
	return s;
}

/* A complete request: route it, then answer now or after its delay. */
static MHD_Result_t dispatch(struct conn *conn, struct MHD_Connection *c,
			     const char *url, const char *method)
{
	struct exchanges *xs = conn->xs;
	struct exchange *ex = &conn->ex;
	struct settings *s = settings_now(xs);
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	struct route_request req = {
		.method = method,
		.path = url,
		.query = {.get = query_get, .cls = c},
		.rng = &conn->rng,
		.settings = &s->run,
		.rules = s->rules,
		.client = info != NULL ? info->client_addr : NULL,
		.accepted = ex->accepted,
		.draining = atomic_load(&xs->draining),
		.now_ns = timerq_now(),
	};
	struct route_answer ans;

	ex->log_format = s->run.access_log;
	ex->hang_timeout_s = s->run.hang_timeout_s;
	ex->queue_max = s->run.queue_max;
	ex->queue_timeout_ms = s->run.queue_timeout_ms;
	ex->reject = s->run.reject_status == 429 ? CANNED_TOO_MANY : CANNED_BUSY;
	ex->limit = s->run.capacity;
	if (ex->nul_in_target) {
		settings_unref(s);
		ex->counted = true;
		use_canned(ex, CANNED_BAD_TARGET, 400);
		return send_answer(xs, c, ex);
	}
	routes_dispatch(&xs->env, &req, &ans);
	settings_unref(s);
	ex->counted = ans.counted;
	ex->metrics_route = ans.metrics_route;
	ex->wants = ex->limit > 0 ? ans.slots : 0;
	use_answer(conn, &ans);
	return wait_then_send(xs, conn, c);
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
static MHD_Result_t check_framing(struct exchanges *xs, struct MHD_Connection *c,
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
	pthread_mutex_lock(&xs->settings_lock);
	ex->log_format = xs->settings->run.access_log;
	pthread_mutex_unlock(&xs->settings_lock);
	routes_reject(&ans, status, bad);
	ex->counted = ans.counted;
	ex->metrics_route = ans.metrics_route;
	use_answer(container_of(ex, struct conn, ex), &ans);
	return send_answer(xs, c, ex);
}

MHD_Result_t exchange_on_request(void *cls, struct MHD_Connection *c,
				 const char *url, const char *method,
				 const char *version, const char *upload_data,
				 size_t *upload_data_size, void **req_cls)
{
	struct exchanges *xs = cls;
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
		ex->rule = -1;
		ex->started_ns = timerq_now();
		if (xs->journal != NULL)
			ex->seq = atomic_fetch_add_explicit(&xs->arrivals, 1,
							    memory_order_relaxed) + 1;
		ex->method = method;
		ex->url = url;
		ex->version = version;
		ex->accepted = !atomic_load_explicit(&xs->draining, memory_order_relaxed);
		/* libmicrohttpd ends the target at the space before the
		 * version; a shorter C string means a raw NUL inside it, which
		 * would otherwise silently truncate the path. */
		ex->nul_in_target = conn->raw_uri_end != NULL && version[0] != '\0' &&
				    conn->raw_uri_end + 1 != version;
		conn->raw_uri_end = NULL;
		atomic_fetch_add_explicit(&xs->in_flight, 1, memory_order_relaxed);
		*req_cls = ex;
		return check_framing(xs, c, ex, version);
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
			return MHD_NO; /* close; exchange_on_completed counts it */
		if (ex->state == EX_FLUSHED) {
			use_canned(ex, CANNED_DRAINING, 503);
			return send_answer(xs, c, ex);
		}
		return deliver(xs, c, ex);
	case EX_HUNG:
		return close_faulted(ex);
	case EX_REJECTED:
		/* Turned away by the queue: its fault never happens. */
		if (client_gone(conn))
			return MHD_NO;
		transport_cancel(&ex->transport);
		use_canned(ex, ex->reject, ex->reject == CANNED_BUSY ? 503 : 429);
		return send_answer(xs, c, ex);
	case EX_LEFT:
		return MHD_NO; /* exchange_on_completed counts a disconnect */
	case EX_WAITING:
	case EX_QUEUED:
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

/* Copy `text` into `buf` (len bytes); true when it was cut to fit. */
static bool copy_cut(char *buf, size_t len, const char *text)
{
	return text != NULL && (size_t)snprintf(buf, len, "%s", text) >= len;
}

/* The journal's entry of a finished exchange, as the access log sees it
 * (`x`), with what only the journal keeps. */
static void journal_exchange(struct journal *j, struct MHD_Connection *c,
			     const struct exchange *ex, const struct access_exchange *x)
{
	struct journal_entry e;
	struct access_entry a;
	struct timespec wall;
	const char *ids = NULL;
	uint64_t mono;
	int64_t offset_us;

	memset(&e, 0, sizeof(e));
	access_entry_of(x, &a);
	/* Both times from the monotonic clock readings taken when they
	 * happened, made Unix time by the clocks' offset now: a thread held
	 * up between the completion and here shifts neither. */
	clock_gettime(CLOCK_REALTIME, &wall);
	mono = timerq_now();
	offset_us = (int64_t)wall.tv_sec * 1000000 + wall.tv_nsec / 1000 - (int64_t)(mono / 1000u);
	e.seq = ex->seq;
	e.answered_us = offset_us + (int64_t)(x->completed_ns / 1000u);
	e.arrived_us = offset_us + (int64_t)(x->started_ns / 1000u);
	e.delay_us = a.delay_us;
	e.queued = x->capacity;
	e.queue_wait_us = x->queue_wait_ns / 1000u;
	e.bytes = a.bytes;
	e.status = a.status;
	e.rule = ex->rule;
	if (a.fault != NULL)
		snprintf(e.fault, sizeof(e.fault), "%s", a.fault);
	else if (ex->injected.kind != FAULT_NONE && fault_is_answer(ex->injected.kind))
		fault_describe(&ex->injected, e.fault, sizeof(e.fault));
	if (x->client != NULL && x->client->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)x->client;

		inet_ntop(AF_INET, &in->sin_addr, e.client, sizeof(e.client));
		e.port = ntohs(in->sin_port);
	} else if (x->client != NULL && x->client->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 =
			(const struct sockaddr_in6 *)(const void *)x->client;

		inet_ntop(AF_INET6, &in6->sin6_addr, e.client, sizeof(e.client));
		e.port = ntohs(in6->sin6_port);
	}
	if (x->path != NULL && strncmp(x->path, "/user/", 6) == 0)
		ids = x->path + 6;
	else if (x->path != NULL && strcmp(x->path, "/users") == 0)
		ids = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "ids");
	e.cut = copy_cut(e.method, sizeof(e.method), x->method) |
		copy_cut(e.path, sizeof(e.path), x->path) |
		copy_cut(e.query, sizeof(e.query), x->query) |
		copy_cut(e.ids, sizeof(e.ids), ids);
	journal_add(j, &e);
}

/* Write the access-log line and the journal's entry of a finished
 * exchange (each when on). */
static void record(struct exchanges *xs, struct MHD_Connection *c,
		   const struct exchange *ex, uint64_t now_ns)
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
		.waited = ex->due, /* its deadline came: how late it was */
		.deadline_ns = ex->deadline_ns,
		.timer_late_ns = ex->timer_late_ns,
		.capacity = ex->wants > 0,
		.queue_wait_ns = ex->queue_wait_ns,
	};

	if (ex->log_format == ACCESS_LOG_OFF && xs->journal == NULL)
		return;
	q.buf[0] = '\0';
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_query_arg, &q);
	if (ex->log_format != ACCESS_LOG_OFF)
		access_log_exchange(ex->log_format, &x);
	if (xs->journal != NULL)
		journal_exchange(xs->journal, c, ex, &x);
}

void exchange_on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
			   enum MHD_RequestTerminationCode toe)
{
	struct exchanges *xs = cls;
	struct exchange *ex = *req_cls;

	if (ex == NULL)
		return;
	/* A suspended connection is never completed: libmicrohttpd does not
	 * time it out, and http_stop() resumes every one before it stops.
	 * So no deadline can fire into the memory freed here. */
	assert(ex->state != EX_WAITING && ex->state != EX_HANGING &&
	       ex->state != EX_QUEUED);
	if (ex->waited && ex->state != EX_FAULTED &&
	    toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
		metrics_disconnect(xs->metrics);
	if (ex->counted && (ex->state == EX_ANSWERED || ex->state == EX_FAULTED)) {
		uint64_t now = timerq_now();

		/* The answer has been handed to the kernel: how long after
		 * its timer's aim is what the next deadlines are aimed ahead
		 * by. */
		if (ex->due && ex->state == EX_ANSWERED && now >= ex->aim_ns &&
		    toe == MHD_REQUEST_TERMINATED_COMPLETED_OK) {
			metrics_response_lateness(xs->metrics, now - ex->aim_ns);
			/* What the next drawn deadlines are aimed ahead by: the
			 * answers sent whole at once (not a drip, a cut or a
			 * rushed body, which end when the client has read
			 * them), not through --capacity (aimed at deadlines). */
			if (ex->wants == 0 && ex->transport.plan != TRANSPORT_PACE &&
			    !ex->transport.rushed)
				aim_observe(&xs->aim, now - ex->aim_ns);
		}
		metrics_request(xs->metrics, ex->metrics_route, ex->status,
				now - ex->started_ns);
		if (xs->live != NULL && ex->metrics_route != METRICS_ROUTE_OTHER)
			live_record(xs->live, ex->metrics_route == METRICS_ROUTE_USER
					? LIVE_ROUTE_USER : LIVE_ROUTE_USERS,
				    ex->status, ex->started_ns, now);
		record(xs, c, ex, now);
	}
	if (ex->flushed || ex->transport.rushed) {
		/* What the flush's client got: its answer in full, or no more. */
		bool got = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK &&
			   ex->state == EX_ANSWERED;

		atomic_fetch_add(!got ? &xs->flush_gone
				 : ex->transport.rushed ? &xs->flush_rushed
				 : &xs->flush_answered, 1);
	}
	if (ex->response != NULL)
		MHD_destroy_response(ex->response);
	ex->response = NULL;
	*req_cls = NULL;
	atomic_fetch_sub_explicit(&xs->in_flight, 1, memory_order_relaxed);
}

/* ---- the connection ------------------------------------------------------ */

struct conn *exchange_conn_new(struct exchanges *xs, struct MHD_Connection *c,
			       uint64_t seed, uint64_t ordinal)
{
	struct conn *conn = calloc(1, sizeof(*conn));

	if (conn == NULL)
		return NULL;
	conn->xs = xs;
	conn->mhd = c;
	/* A stream of its own, the same for the same seed and ordinal. */
	rng_stream(&conn->rng, seed, ordinal);
	return conn;
}

void *exchange_on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct conn *conn = info != NULL ? info->socket_context : NULL;

	(void)cls;
	if (conn != NULL)
		conn->raw_uri_end = uri + strlen(uri);
	return NULL; /* no request context yet: exchange_on_request makes it */
}
