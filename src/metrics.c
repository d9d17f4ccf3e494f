/* metrics.c - counters and histograms; see metrics.h. */
#include "metrics.h"

#include <assert.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "rules.h"

/* Status codes userd answers with, as labels; 0 is a connection a fault
 * ended with no answer ("closed"); anything else is counted as "other". */
static const unsigned codes[] = {0, 200, 400, 404, 405, 414, 429, 431, 500,
				 501, 502, 503, 504};
static const char *const code_labels[] = {"closed", "200", "400", "404", "405",
					  "414", "429", "431", "500", "501",
					  "502", "503", "504", "other"};
#define NCODES (sizeof(codes) / sizeof(codes[0]))
_Static_assert(sizeof(code_labels) / sizeof(code_labels[0]) == NCODES + 1,
	       "a label for every code, and other");
_Static_assert(NCODES + 1 <= METRICS_CODES_MAX, "raise METRICS_CODES_MAX");

static const char *const route_names[METRICS_ROUTE_COUNT] = {
	[METRICS_ROUTE_USER] = "/user",
	[METRICS_ROUTE_USERS] = "/users",
	[METRICS_ROUTE_OTHER] = "other",
};

static const char *const reject_names[METRICS_REJECTS] = {
	[METRICS_REJECT_FULL] = "full",
	[METRICS_REJECT_TIMEOUT] = "timeout",
};

/* Upper bounds of the buckets, in seconds. */
static const double duration_bounds[] = {
	0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5,
	2, 3, 5, 10, 30, 60,
};
static const double lateness_bounds[] = {
	0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.003, 0.004, 0.005,
	0.0075, 0.01, 0.025,
	0.05, 0.1, 0.25, 1,
};
#define NDUR (sizeof(duration_bounds) / sizeof(duration_bounds[0]))
#define NLATE (sizeof(lateness_bounds) / sizeof(lateness_bounds[0]))
_Static_assert(NLATE <= NDUR, "histogram buckets hold the longer list");

/* A histogram: per-bucket counts (not cumulative; the +Inf bucket last)
 * and a sum in nanoseconds.  There is no separate count: the exposition's
 * _count is the sum of the buckets read for the same scrape, so it always
 * equals the +Inf bucket, however busy the writers are. */
struct histogram {
	_Atomic uint64_t buckets[NDUR + 1];
	_Atomic uint64_t sum_ns;
};

struct metrics {
	_Atomic uint64_t requests[METRICS_ROUTE_COUNT][NCODES + 1];
	struct histogram duration[METRICS_ROUTE_COUNT];
	struct histogram lateness;          /* timer: deadline to resume */
	struct histogram response_lateness; /* deadline to answer sent */
	struct histogram queue_wait;        /* --capacity: arrival to a slot */
	_Atomic uint64_t rejected[METRICS_REJECTS];
	_Atomic uint64_t disconnects;
	_Atomic uint64_t faults[FAULT_KINDS];
	_Atomic uint64_t config_changes[METRICS_CHANGE_SOURCES];
	double start_time;
	char build[3][32]; /* userd, libmicrohttpd, jansson */
	char mhd_file[512]; /* libmicrohttpd's file, escaped as a label value */
};

#define ADD(x, v) atomic_fetch_add_explicit(&(x), (v), memory_order_relaxed)
#define GET(x) atomic_load_explicit(&(x), memory_order_relaxed)

static void observe(struct histogram *h, const double *bounds, size_t n,
		    uint64_t ns)
{
	double s = (double)ns / 1e9;
	size_t i = 0;

	while (i < n && s > bounds[i])
		i++;
	ADD(h->buckets[i], 1);
	ADD(h->sum_ns, ns);
}

/* `s` as a Prometheus label value in `dst` (`n` bytes): backslash, quote
 * and newline escaped; cut to fit, never inside an escape. */
static void label_value(char *dst, size_t n, const char *s)
{
	size_t o = 0;

	for (; *s != '\0'; s++) {
		const char *esc = *s == '\\' ? "\\\\" : *s == '"' ? "\\\"" :
				  *s == '\n' ? "\\n" : NULL;
		size_t k = esc != NULL ? 2 : 1;

		if (o + k >= n)
			break;
		if (esc != NULL)
			memcpy(dst + o, esc, 2);
		else
			dst[o] = *s;
		o += k;
	}
	dst[o] = '\0';
}

struct metrics *metrics_create(const struct metrics_build *build)
{
	struct metrics *m = calloc(1, sizeof(*m));
	struct timespec ts;

	assert(build->version != NULL && build->libmicrohttpd != NULL &&
	       build->jansson != NULL && build->libmicrohttpd_file != NULL);
	if (m == NULL)
		return NULL;
	clock_gettime(CLOCK_REALTIME, &ts);
	m->start_time = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	snprintf(m->build[0], sizeof(m->build[0]), "%s", build->version);
	snprintf(m->build[1], sizeof(m->build[1]), "%s", build->libmicrohttpd);
	snprintf(m->build[2], sizeof(m->build[2]), "%s", build->jansson);
	label_value(m->mhd_file, sizeof(m->mhd_file), build->libmicrohttpd_file);
	return m;
}

void metrics_destroy(struct metrics *m)
{
	free(m);
}

void metrics_request(struct metrics *m, enum metrics_route route,
		     unsigned status, uint64_t duration_ns)
{
	size_t c = 0;

	while (c < NCODES && codes[c] != status)
		c++;
	ADD(m->requests[route][c], 1);
	observe(&m->duration[route], duration_bounds, NDUR, duration_ns);
}

void metrics_lateness(struct metrics *m, uint64_t lateness_ns)
{
	observe(&m->lateness, lateness_bounds, NLATE, lateness_ns);
}

void metrics_queue_wait(struct metrics *m, uint64_t wait_ns)
{
	observe(&m->queue_wait, duration_bounds, NDUR, wait_ns);
}

void metrics_queue_rejected(struct metrics *m, enum metrics_reject reason)
{
	assert((unsigned)reason < METRICS_REJECTS);
	ADD(m->rejected[reason], 1);
}

uint64_t metrics_queue_rejected_total(struct metrics *m)
{
	uint64_t n = 0;

	for (int r = 0; r < METRICS_REJECTS; r++)
		n += GET(m->rejected[r]);
	return n;
}

void metrics_response_lateness(struct metrics *m, uint64_t lateness_ns)
{
	observe(&m->response_lateness, lateness_bounds, NLATE, lateness_ns);
}

void metrics_disconnect(struct metrics *m)
{
	ADD(m->disconnects, 1);
}

static const char *const change_source_names[METRICS_CHANGE_SOURCES] = {
	[METRICS_CHANGE_RELOAD] = "reload",
	[METRICS_CHANGE_ADMIN] = "admin",
	[METRICS_CHANGE_RESET] = "reset",
};

void metrics_config_change(struct metrics *m, enum metrics_change_source source)
{
	assert((unsigned)source < METRICS_CHANGE_SOURCES);
	ADD(m->config_changes[source], 1);
}

void metrics_fault(struct metrics *m, enum fault_kind kind)
{
	assert((unsigned)kind < FAULT_KINDS);
	ADD(m->faults[kind], 1);
}

/* ---- rendering --------------------------------------------------------- */

struct buf {
	char *data;
	size_t len;
	size_t cap;
	int failed;
};

__attribute__((format(printf, 2, 3)))
static void put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		if (b->failed)
			return;
		va_start(ap, fmt);
		n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = 1;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		{
			size_t cap = b->cap * 2 + (size_t)n;
			char *data = realloc(b->data, cap);

			if (data == NULL) {
				b->failed = 1;
				return;
			}
			b->data = data;
			b->cap = cap;
		}
	}
}

/* One sample of counter family `name` per label value: name{label="v"}. */
static void put_counters(struct buf *b, const char *name, const char *label,
			 const char *const *values, _Atomic uint64_t *counts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put(b, "%s{%s=\"%s\"} %llu\n", name, label, values[i],
		    (unsigned long long)GET(counts[i]));
}

static void put_histogram(struct buf *b, const char *name, const char *labels,
			  struct histogram *h, const double *bounds, size_t n)
{
	uint64_t cumulative = 0;
	const char *sep = labels[0] != '\0' ? "," : "";

	for (size_t i = 0; i < n; i++) {
		cumulative += GET(h->buckets[i]);
		put(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep,
		    bounds[i], (unsigned long long)cumulative);
	}
	cumulative += GET(h->buckets[n]);
	put(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
	    (unsigned long long)cumulative);
	put(b, "%s_sum%s%s%s %.9f\n", name, labels[0] ? "{" : "", labels,
	    labels[0] ? "}" : "", (double)GET(h->sum_ns) / 1e9);
	put(b, "%s_count%s%s%s %llu\n", name, labels[0] ? "{" : "", labels,
	    labels[0] ? "}" : "", (unsigned long long)cumulative);
}

char *metrics_render(struct metrics *m, const struct metrics_gauges *g,
		     size_t *len)
{
	struct buf b = {.cap = 8192};
	char labels[64];

	b.data = malloc(b.cap);
	if (b.data == NULL)
		return NULL;

	put(&b, "# HELP userd_requests_total Requests answered, by route and status code.\n"
		"# TYPE userd_requests_total counter\n");
	for (int r = 0; r < METRICS_ROUTE_COUNT; r++) {
		for (size_t c = 0; c <= NCODES; c++) {
			uint64_t v = GET(m->requests[r][c]);

			put(&b, "userd_requests_total{route=\"%s\",code=\"%s\"} %llu\n",
			    route_names[r], code_labels[c], (unsigned long long)v);
		}
	}

	put(&b, "# HELP userd_request_duration_seconds Time from a request's arrival "
		"to its completion, delay included.\n"
		"# TYPE userd_request_duration_seconds histogram\n");
	for (int r = 0; r < METRICS_ROUTE_COUNT; r++) {
		snprintf(labels, sizeof(labels), "route=\"%s\"", route_names[r]);
		put_histogram(&b, "userd_request_duration_seconds", labels,
			      &m->duration[r], duration_bounds, NDUR);
	}

	put(&b, "# HELP userd_timer_lateness_seconds How long after the time its "
		"timer was aimed at a waiting request was resumed.\n"
		"# TYPE userd_timer_lateness_seconds histogram\n");
	put_histogram(&b, "userd_timer_lateness_seconds", "", &m->lateness,
		      lateness_bounds, NLATE);
	put(&b, "# HELP userd_response_lateness_seconds How long after the time its "
		"timer was aimed at a waiting request's answer was handed to the "
		"kernel.\n"
		"# TYPE userd_response_lateness_seconds histogram\n");
	put_histogram(&b, "userd_response_lateness_seconds", "", &m->response_lateness,
		      lateness_bounds, NLATE);

	put(&b, "# HELP userd_requests_waiting Requests waiting on their delay right now.\n"
		"# TYPE userd_requests_waiting gauge\n"
		"userd_requests_waiting %llu\n"
		"# HELP userd_requests_in_flight Requests accepted and not yet answered.\n"
		"# TYPE userd_requests_in_flight gauge\n"
		"userd_requests_in_flight %llu\n"
		"# HELP userd_connections Open client connections.\n"
		"# TYPE userd_connections gauge\n"
		"userd_connections %llu\n"
		"# HELP userd_ready 1 while accepting work, 0 once draining.\n"
		"# TYPE userd_ready gauge\n"
		"userd_ready %d\n"
		"# HELP userd_timer_lead_seconds How early a drawn delay's timer is "
		"aimed: a weighted mean of recent answers' response lateness, so that "
		"answers leave at their deadlines on average.\n"
		"# TYPE userd_timer_lead_seconds gauge\n"
		"userd_timer_lead_seconds %.9f\n",
	    (unsigned long long)g->waiting, (unsigned long long)g->in_flight,
	    (unsigned long long)g->connections, g->ready, (double)g->lead_ns / 1e9);
	put(&b, "# HELP userd_in_service Backend calls in service (--capacity's "
		"slots taken).\n"
		"# TYPE userd_in_service gauge\n"
		"userd_in_service %llu\n"
		"# HELP userd_queue_length Requests waiting for a slot (--capacity).\n"
		"# TYPE userd_queue_length gauge\n"
		"userd_queue_length %llu\n",
	    (unsigned long long)g->in_service, (unsigned long long)g->queued);
	put(&b, "# HELP userd_queue_wait_seconds Time a request waited for a slot "
		"(--capacity), 0 for one that found a slot free.\n"
		"# TYPE userd_queue_wait_seconds histogram\n");
	put_histogram(&b, "userd_queue_wait_seconds", "", &m->queue_wait,
		      duration_bounds, NDUR);
	put(&b, "# HELP userd_queue_rejected_total Requests turned away by "
		"--capacity's queue, by reason.\n"
		"# TYPE userd_queue_rejected_total counter\n");
	put_counters(&b, "userd_queue_rejected_total", "reason", reject_names, m->rejected,
		     METRICS_REJECTS);

	put(&b, "# HELP userd_client_disconnects_total Clients that went away while "
		"their request waited.\n"
		"# TYPE userd_client_disconnects_total counter\n"
		"userd_client_disconnects_total %llu\n"
		"# HELP userd_log_lines_dropped_total Log and access-log lines "
		"dropped because stderr did not keep up.\n"
		"# TYPE userd_log_lines_dropped_total counter\n"
		"userd_log_lines_dropped_total %llu\n",
	    (unsigned long long)GET(m->disconnects),
	    (unsigned long long)log_lines_dropped());
	put(&b, "# HELP userd_faults_injected_total Requests failed on purpose "
		"(--error-rate, --faults, ?fail=1, ?fault=, rules), by kind.\n"
		"# TYPE userd_faults_injected_total counter\n");
	for (int k = FAULT_NONE + 1; k < FAULT_KINDS; k++)
		put(&b, "userd_faults_injected_total{kind=\"%s\"} %llu\n",
		    fault_kind_name((enum fault_kind)k), (unsigned long long)GET(m->faults[k]));
	put(&b, "# HELP userd_config_changes_total Settings changed while "
		"running, by what changed them.\n"
		"# TYPE userd_config_changes_total counter\n");
	put_counters(&b, "userd_config_changes_total", "source", change_source_names,
		     m->config_changes, METRICS_CHANGE_SOURCES);

	put(&b, "# HELP userd_rule_active 1 while a scheduled rule (at=) is in its "
		"window, by the rule's index.\n"
		"# TYPE userd_rule_active gauge\n");
	for (size_t i = 0; i < rules_count(g->rules); i++) {
		struct rule_parts p;

		rules_parts(g->rules, i, &p);
		if (p.at != NULL)
			put(&b, "userd_rule_active{rule=\"%zu\"} %d\n", i,
			    rules_active(g->rules, i, g->now_ns, NULL) ? 1 : 0);
	}

	if (g->delay != NULL) {
		char text[DELAY_TEXT_MAX], value[2 * DELAY_TEXT_MAX];

		delay_model_describe(g->delay, text, sizeof(text));
		label_value(value, sizeof(value), text);
		put(&b, "# HELP userd_delay_model_info The delay model in force "
			"(--delay), by kind and as its spec.\n"
			"# TYPE userd_delay_model_info gauge\n"
			"userd_delay_model_info{kind=\"%s\",model=\"%s\"} 1\n",
		    delay_type_of(g->delay->kind)->name, value);
	}
	put(&b, "# HELP userd_build_info Versions of userd and its libraries.\n"
		"# TYPE userd_build_info gauge\n"
		"userd_build_info{version=\"%s\",libmicrohttpd=\"%s\","
		"libmicrohttpd_file=\"%s\",jansson=\"%s\"} 1\n"
		"# HELP process_start_time_seconds Start time of the process since "
		"the Unix epoch, in seconds.\n"
		"# TYPE process_start_time_seconds gauge\n"
		"process_start_time_seconds %.3f\n",
	    m->build[0], m->build[1], m->mhd_file, m->build[2], m->start_time);

	if (b.failed) {
		free(b.data);
		return NULL;
	}
	*len = b.len;
	return b.data;
}

double metrics_lateness_quantile(struct metrics *m, double q, bool response)
{
	struct histogram *h = response ? &m->response_lateness : &m->lateness;
	uint64_t counts[NLATE + 1];
	uint64_t total = 0, seen = 0;
	double rank;

	for (size_t i = 0; i <= NLATE; i++) {
		counts[i] = GET(h->buckets[i]);
		total += counts[i];
	}
	if (total == 0)
		return 0;
	rank = q * (double)total;
	for (size_t i = 0; i <= NLATE; i++) {
		double lo = i == 0 ? 0 : lateness_bounds[i - 1];

		if ((double)(seen + counts[i]) >= rank && counts[i] > 0) {
			if (i == NLATE)
				return lateness_bounds[NLATE - 1];
			return lo + (lateness_bounds[i] - lo) *
				    (rank - (double)seen) / (double)counts[i];
		}
		seen += counts[i];
	}
	return lateness_bounds[NLATE - 1];
}

size_t metrics_request_counts(struct metrics *m, enum metrics_route route,
			      const char *const **labels, uint64_t *counts)
{
	assert((unsigned)route < METRICS_ROUTE_COUNT);
	for (size_t c = 0; c <= NCODES; c++)
		counts[c] = GET(m->requests[route][c]);
	*labels = code_labels;
	return NCODES + 1;
}

const char *metrics_route_name(enum metrics_route route)
{
	assert((unsigned)route < METRICS_ROUTE_COUNT);
	return route_names[route];
}

uint64_t metrics_faults(struct metrics *m, enum fault_kind kind)
{
	assert((unsigned)kind < FAULT_KINDS);
	return GET(m->faults[kind]);
}

uint64_t metrics_requests_total(struct metrics *m)
{
	uint64_t total = 0;

	for (int r = 0; r < METRICS_ROUTE_COUNT; r++)
		for (size_t c = 0; c <= NCODES; c++)
			total += GET(m->requests[r][c]);
	return total;
}

size_t metrics_lateness_buckets(struct metrics *m, const double **bounds_s,
				uint64_t *counts)
{
	_Static_assert(NLATE <= METRICS_LATENESS_MAX, "raise METRICS_LATENESS_MAX");
	for (size_t i = 0; i <= NLATE; i++)
		counts[i] = GET(m->lateness.buckets[i]);
	*bounds_s = lateness_bounds;
	return NLATE;
}
