/* access.c - access-log lines; see access.h. */
#include "access.h"

#include <assert.h>
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"

static const char *const format_names[] = {
	[ACCESS_LOG_OFF] = "off",
	[ACCESS_LOG_COMMON] = "common",
	[ACCESS_LOG_JSON] = "json",
};

bool access_log_format_parse(const char *name, enum access_log_format *out)
{
	for (size_t i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++) {
		if (strcmp(name, format_names[i]) == 0) {
			*out = (enum access_log_format)i;
			return true;
		}
	}
	return false;
}

const char *access_log_format_name(enum access_log_format f)
{
	return (unsigned)f < sizeof(format_names) / sizeof(format_names[0])
		? format_names[f] : "off";
}

/* Append `s` to buf (of `len`, holding `*n` bytes), escaping what would
 * break a log line: quotes, backslashes and bytes outside printable ASCII
 * become \xHH, or \u00HH for JSON.  Returns how many bytes of `s` did
 * not fit (0: all of it went in). */
static size_t escape(const char *s, bool json, char *buf, size_t len, size_t *at)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = *at;

	for (; *s != '\0' && n + 7 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			buf[n++] = (char)c;
			continue;
		}
		buf[n++] = '\\';
		if (json) {
			memcpy(buf + n, "u00", 3);
			n += 3;
		} else {
			buf[n++] = 'x';
		}
		buf[n++] = hex[c >> 4];
		buf[n++] = hex[c & 15];
	}
	buf[n] = '\0';
	*at = n;
	return strlen(s);
}

/* Room for the cut marker "...(+N bytes)" after a target that is cut. */
#define CUT_MARK_MAX 40

/* `first`, and when `second` is not NULL '?' and `second`, escaped, into
 * buf.  Text too long for buf (a request may be up to
 * --connection-memory long) is never cut silently: it ends with
 * "...(+N bytes)", N being how many of its bytes are left out. */
static void escape_marked(const char *first, const char *second, bool json, char *buf,
			  size_t len)
{
	size_t at = 0, left, room = len - CUT_MARK_MAX;

	assert(len > 2 * CUT_MARK_MAX);
	left = escape(first, json, buf, room, &at);
	if (second != NULL) {
		if (left == 0 && at + 1 < room) {
			buf[at++] = '?';
			left = escape(second, json, buf, room, &at);
		} else {
			left += 1 + strlen(second);
		}
	}
	if (left > 0)
		snprintf(buf + at, len - at, "...(+%zu bytes)", left);
}

static void client_text(const struct sockaddr *sa, char *buf, size_t len)
{
	snprintf(buf, len, "-");
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
			  buf, (socklen_t)len);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
			  buf, (socklen_t)len);
}

void access_log_write(enum access_log_format f, const struct access_entry *e)
{
	char line[2048], target[1400], client[INET6_ADDRSTRLEN], when[40];
	char method[128]; /* fit target and line whole */
	char late[112];
	bool json = f == ACCESS_LOG_JSON;
	struct timespec ts;
	struct tm tm;
	int n;

	if (f == ACCESS_LOG_OFF)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	client_text(e->client, client, sizeof(client));
	escape_marked(e->method, NULL, json, method, sizeof(method));
	escape_marked(e->path, e->query[0] != '\0' ? e->query : NULL, json, target,
		      sizeof(target));
	/* How late a waiting request's answer went out, and its timer fired. */
	late[0] = '\0';
	if (e->waited)
		snprintf(late, sizeof(late), json ? ", \"late_ms\": %.3f, \"timer_late_ms\": %.3f"
					  : " late_ms=%.3f timer_late_ms=%.3f",
			 (double)e->late_ns / 1e6, (double)e->timer_late_ns / 1e6);
	/* How long it waited for a slot (--capacity). */
	if (e->capacity) {
		size_t used = strlen(late);

		snprintf(late + used, sizeof(late) - used,
			 json ? ", \"queue_ms\": %.3f" : " queue_ms=%.3f",
			 (double)e->queue_wait_ns / 1e6);
	}

	if (json) {
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		/* Everything client-controlled was escaped above, so plain
		 * printf yields valid JSON. */
		n = snprintf(line, sizeof(line),
			     "{\"time\": \"%s.%03ldZ\", \"client\": \"%s\", "
			     "\"method\": \"%s\", \"target\": \"%s\", \"status\": %u, "
			     "\"bytes\": %" PRIu64 ", \"delay_ms\": %.3f, "
			     "\"duration_ms\": %.3f%s%s%s%s}\n",
			     when, ts.tv_nsec / 1000000, client, method, target,
			     e->status, e->bytes, (double)e->delay_us / 1e3,
			     (double)e->duration_ns / 1e6,
			     e->fault != NULL ? ", \"fault\": \"" : "",
			     e->fault != NULL ? e->fault : "", e->fault != NULL ? "\"" : "",
			     late);
	} else {
		strftime(when, sizeof(when), "%d/%b/%Y:%H:%M:%S +0000", &tm);
		n = snprintf(line, sizeof(line),
			     "%s - - [%s] \"%s %s %s\" %u %" PRIu64
			     " delay_ms=%.3f duration_ms=%.3f%s%s%s\n",
			     client, when, method, target, e->version, e->status,
			     e->bytes, (double)e->delay_us / 1e3,
			     (double)e->duration_ns / 1e6,
			     e->fault != NULL ? " fault=" : "", e->fault != NULL ? e->fault : "",
			     late);
	}
	if (n <= 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = (int)sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	log_write_line(line, (size_t)n);
}

bool access_query_add(struct access_query *q, const char *key, const char *value)
{
	int n;

	assert(q->len < sizeof(q->buf));
	n = snprintf(q->buf + q->len, sizeof(q->buf) - q->len, "%s%s%s%s",
		     q->len > 0 ? "&" : "", key, value != NULL ? "=" : "",
		     value != NULL ? value : "");
	if (n < 0 || (size_t)n >= sizeof(q->buf) - q->len)
		return false;
	q->len += (size_t)n;
	return true;
}

void access_entry_of(const struct access_exchange *x, struct access_entry *e)
{
	e->client = x->client;
	e->method = x->method;
	e->path = x->path;
	e->query = x->query;
	e->version = x->version;
	e->status = x->status;
	e->bytes = strcmp(x->method, "HEAD") == 0 ? 0 : x->body_len;
	e->delay_us = x->delay_us;
	e->duration_ns = x->completed_ns - x->started_ns;
	e->fault = x->fault == FAULT_NONE ? NULL : fault_kind_name(x->fault);
	e->waited = x->waited;
	e->late_ns = (int64_t)(x->completed_ns - x->deadline_ns);
	e->timer_late_ns = x->timer_late_ns;
	e->capacity = x->capacity;
	e->queue_wait_ns = x->queue_wait_ns;
}

void access_log_exchange(enum access_log_format f, const struct access_exchange *x)
{
	struct access_entry e;

	access_entry_of(x, &e);
	access_log_write(f, &e);
}
