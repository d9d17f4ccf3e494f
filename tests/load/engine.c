/* engine.c - the load generator; see engine.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "engine.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WAKE_TAG ((uint64_t)-1)

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

long raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return -1;
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	getrlimit(RLIMIT_NOFILE, &rl);
	return (long)rl.rlim_cur;
}

const char *result_name(enum lresult r)
{
	static const char *const names[RES_COUNT] = {
		"unfinished", "ok", "status", "body", "connect", "io", "eof",
		"timeout", "closed",
	};

	return r < RES_COUNT ? names[r] : "?";
}

static void note_error(struct engine *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void note_error(struct engine *e, const char *fmt, ...)
{
	va_list ap;

	if (e->first_error[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(e->first_error, sizeof(e->first_error), fmt, ap);
	va_end(ap);
}

static uint64_t conn_id(const struct lconn *c)
{
	return (uint64_t)c->index * 1000003u + c->responses;
}

int engine_init(struct engine *e, unsigned port, size_t n, enum lmode mode,
		bool keepalive, const char *query)
{
	memset(e, 0, sizeof(*e));
	e->ep = epoll_create1(EPOLL_CLOEXEC);
	e->wake_fd = -1;
	e->port = port;
	e->n = n;
	e->batch = 256;
	e->keepalive = keepalive;
	e->stop_at = 1e300;
	e->latency_limit = 1e300;
	e->query = query != NULL ? query : "";
	e->partial = "GET /user/1 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
	e->silent_from = n;
	e->c = calloc(n > 0 ? n : 1, sizeof(*e->c));
	if (e->ep < 0 || e->c == NULL) {
		free(e->c);
		if (e->ep >= 0)
			close(e->ep);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		e->c[i].fd = -1;
		e->c[i].index = (uint32_t)i;
		e->c[i].mode = (unsigned char)mode;
	}
	return 0;
}

static void finish(struct engine *e, struct lconn *c, enum lresult r)
{
	if (c->state == ST_DONE)
		return;
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
	c->state = ST_DONE;
	c->result = (unsigned char)r;
	c->t_end = now_s();
	e->by_result[r]++;
	e->done++;
}

void engine_free(struct engine *e)
{
	for (size_t i = 0; i < e->n; i++) {
		if (e->c[i].fd >= 0)
			close(e->c[i].fd);
	}
	free(e->c);
	e->c = NULL;
	if (e->ep >= 0)
		close(e->ep);
	e->ep = -1;
}

static void open_one(struct engine *e, struct lconn *c)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)e->port)};
	struct epoll_event ev = {.events = EPOLLOUT, .data.u64 = c->index};
	int one = 1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		note_error(e, "socket: %s", strerror(errno));
		finish(e, c, RES_CONNECT);
		return;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 &&
	    errno != EINPROGRESS) {
		note_error(e, "connect: %s", strerror(errno));
		finish(e, c, RES_CONNECT);
		return;
	}
	c->state = ST_CONNECTING;
	if (epoll_ctl(e->ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
		note_error(e, "epoll_ctl: %s", strerror(errno));
		finish(e, c, RES_CONNECT);
	}
}

/* Send the request (all of it: it is far smaller than a socket buffer). */
static void send_request(struct engine *e, struct lconn *c)
{
	char req[256];
	int len;
	ssize_t w;

	if (c->mode == MODE_PARTIAL)
		len = snprintf(req, sizeof(req), "%s",
			       c->index < e->silent_from ? e->partial : "");
	else
		len = snprintf(req, sizeof(req),
			       "GET /user/%" PRIu64 "%s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
			       conn_id(c), e->query);
	w = len == 0 ? 0 : send(c->fd, req, (size_t)len, MSG_NOSIGNAL);
	if (w != len) {
		note_error(e, "send: %s", w < 0 ? strerror(errno) : "short write");
		finish(e, c, RES_IO);
		return;
	}
	if (c->responses == 0)
		e->sent_all++;
	c->t_sent = now_s();
	c->got = 0;
	c->state = ST_READING;
}

/* Parse one complete answer in c->buf; returns its total length, 0 if
 * incomplete, -1 if unparsable. */
static long parse_answer(struct lconn *c, const char **body, size_t *body_len)
{
	const char *end, *p;
	long clen = 0;
	size_t hlen;

	c->buf[c->got < sizeof(c->buf) ? c->got : sizeof(c->buf) - 1] = '\0';
	end = memmem(c->buf, c->got, "\r\n\r\n", 4);
	if (end == NULL)
		return c->got >= sizeof(c->buf) - 1 ? -1 : 0;
	hlen = (size_t)(end - c->buf) + 4;
	if (strncmp(c->buf, "HTTP/1.", 7) != 0 || c->got < 12)
		return -1;
	c->status = (unsigned short)atoi(c->buf + 9);
	for (p = c->buf; p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++) {
		if (strncasecmp(p + 1, "Content-Length:", 15) == 0) {
			clen = strtol(p + 16, NULL, 10);
			break;
		}
	}
	if (clen < 0 || hlen + (size_t)clen >= sizeof(c->buf))
		return -1;
	if (c->got < hlen + (size_t)clen)
		return 0;
	*body = c->buf + hlen;
	*body_len = (size_t)clen;
	return (long)(hlen + (size_t)clen);
}

static void on_answer(struct engine *e, struct lconn *c, const char *body,
		      size_t body_len)
{
	double lat = now_s() - c->t_sent;

	e->responses++;
	e->sum_latency += lat;
	if (lat > e->max_latency)
		e->max_latency = lat;
	if (lat > e->latency_limit) {
		e->late++;
		note_error(e, "conn %u: answer after %.3f s", c->index, lat);
	}
	if (c->status != 200) {
		note_error(e, "conn %u: status %u", c->index, c->status);
		finish(e, c, RES_STATUS);
		return;
	}
	if (!valid_record(body, body_len, conn_id(c))) {
		note_error(e, "conn %u: bad record '%.*s'", c->index, (int)body_len, body);
		finish(e, c, RES_BODY);
		return;
	}
	c->responses++;
	if (e->keepalive && now_s() < e->stop_at) {
		send_request(e, c);
		return;
	}
	finish(e, c, RES_OK);
}

static void on_readable(struct engine *e, struct lconn *c)
{
	for (;;) {
		char scratch[512];
		char *dst = c->mode == MODE_FETCH ? c->buf + c->got : scratch;
		size_t room = c->mode == MODE_FETCH ? sizeof(c->buf) - 1 - c->got
						    : sizeof(scratch);
		ssize_t r = recv(c->fd, dst, room, 0);
		const char *body;
		size_t body_len;
		long used;

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (r <= 0) {
			if (c->mode == MODE_PARTIAL) {
				finish(e, c, RES_OK);
				return;
			}
			note_error(e, "conn %u: %s before a full answer (mode %d)",
				   c->index, r == 0 ? "EOF" : strerror(errno), c->mode);
			finish(e, c, r == 0 ? RES_EOF : RES_IO);
			return;
		}
		if (c->mode != MODE_FETCH)
			continue; /* HOLD/PARTIAL: whatever comes, wait for the close */
		c->got += (uint32_t)r;
		used = parse_answer(c, &body, &body_len);
		if (used < 0) {
			note_error(e, "conn %u: unparsable answer '%.60s'", c->index, c->buf);
			finish(e, c, RES_BODY);
			return;
		}
		if (used == 0)
			continue;
		if ((size_t)used != c->got) {
			note_error(e, "conn %u: %u bytes after the answer", c->index,
				   c->got - (unsigned)used);
			finish(e, c, RES_BODY);
			return;
		}
		on_answer(e, c, body, body_len);
		if (c->state == ST_DONE)
			return;
	}
}

static void on_event(struct engine *e, struct lconn *c, uint32_t events)
{
	if (c->state == ST_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);
		struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u64 = c->index};

		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err != 0) {
			note_error(e, "conn %u: connect: %s", c->index, strerror(err));
			finish(e, c, RES_CONNECT);
			return;
		}
		epoll_ctl(e->ep, EPOLL_CTL_MOD, c->fd, &ev);
		send_request(e, c);
		if (c->state == ST_DONE)
			return;
		events |= EPOLLIN; /* try reading: cheap */
	}
	if (c->state == ST_READING && (events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)))
		on_readable(e, c);
}

static bool stop_requested(struct engine *e)
{
	struct pollfd p = {.fd = e->wake_fd, .events = POLLIN};

	return e->wake_fd >= 0 && poll(&p, 1, 0) == 1;
}

void engine_step(struct engine *e, int timeout_ms)
{
	struct epoll_event evs[512];
	int n;

	if (e->next_open < e->n) {
		size_t end = e->next_open + e->batch < e->n ? e->next_open + e->batch : e->n;

		for (; e->next_open < end; e->next_open++)
			open_one(e, &e->c[e->next_open]);
		timeout_ms = timeout_ms > 5 ? 5 : timeout_ms;
	}
	n = epoll_wait(e->ep, evs, 512, timeout_ms);
	for (int i = 0; i < n; i++)
		on_event(e, &e->c[evs[i].data.u64], evs[i].events);
	if (e->wake_fd >= 0 && e->stop_at > now_s() && stop_requested(e))
		e->stop_at = now_s();
	if (e->keepalive && now_s() >= e->stop_at) {
		/* Loops end at their next answer; a connection that has not
		 * been opened yet has nothing to do. */
		for (; e->next_open < e->n; e->next_open++)
			finish(e, &e->c[e->next_open], RES_OK);
	}
}

bool engine_run(struct engine *e, double deadline,
		bool (*pred)(struct engine *e, void *arg), void *arg)
{
	while (e->done < e->n) {
		double left = deadline - now_s();

		if (pred != NULL && pred(e, arg))
			return true;
		if (left <= 0)
			return false;
		engine_step(e, left > 0.05 ? 50 : (int)(left * 1000) + 1);
	}
	return true;
}

void engine_expire(struct engine *e)
{
	for (size_t i = 0; i < e->n; i++) {
		if (e->c[i].state != ST_DONE) {
			if (e->c[i].state != ST_IDLE)
				note_error(e, "conn %zu: timed out (state %d, %u bytes read)",
					   i, e->c[i].state, e->c[i].got);
			finish(e, &e->c[i], RES_TIMEOUT);
		}
	}
}

void engine_close_range(struct engine *e, size_t from, size_t to, bool rst)
{
	for (size_t i = from; i < to && i < e->n; i++) {
		struct lconn *c = &e->c[i];

		if (c->state == ST_DONE)
			continue;
		if (rst && c->fd >= 0) {
			struct linger lg = {.l_onoff = 1, .l_linger = 0};

			setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		}
		finish(e, c, RES_CLOSED);
	}
}

void engine_close_all(struct engine *e, bool rst)
{
	engine_close_range(e, 0, e->n, rst);
}

void engine_report(const struct engine *e, const char *what)
{
	char line[512];
	size_t len = 0;

	for (int r = 0; r < RES_COUNT; r++) {
		if (e->by_result[r] != 0)
			len += (size_t)snprintf(line + len, sizeof(line) - len, " %s=%zu",
						result_name((enum lresult)r), e->by_result[r]);
	}
	line[len] = '\0';
	printf("  %s: %zu conns,%s; %lu answers, latency mean %.3f max %.3f s, %lu late%s%s\n",
	       what, e->n, line, e->responses,
	       e->responses ? e->sum_latency / (double)e->responses : 0.0,
	       e->max_latency, e->late, e->first_error[0] ? "; first problem: " : "",
	       e->first_error);
	fflush(stdout);
}

/* ---- background clients ------------------------------------------------- */

int bg_start(struct bg *b, unsigned port, size_t n, const char *query,
	     double latency_limit)
{
	int stop[2], stats[2];

	if (pipe(stop) != 0)
		return -1;
	if (pipe(stats) != 0) {
		close(stop[0]);
		close(stop[1]);
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	b->pid = fork();
	if (b->pid < 0)
		return -1;
	if (b->pid == 0) {
		struct engine e;
		struct bg_stats s;

		close(stop[1]);
		close(stats[0]);
		memset(&s, 0, sizeof(s));
		if (engine_init(&e, port, n, MODE_FETCH, true, query) != 0)
			_exit(1);
		e.wake_fd = stop[0];
		e.latency_limit = latency_limit;
		e.batch = 16;
		/* Run until told to stop, then let the last requests finish. */
		while (e.done < e.n)
			engine_step(&e, 50);
		s.responses = e.responses;
		s.late = e.late;
		s.bad = (unsigned long)(e.n - e.by_result[RES_OK]);
		s.max_latency = e.max_latency;
		s.conns_ok = e.by_result[RES_OK];
		memcpy(s.first_error, e.first_error, sizeof(s.first_error));
		if (write(stats[1], &s, sizeof(s)) != (ssize_t)sizeof(s))
			_exit(1);
		_exit(0);
	}
	close(stop[0]);
	close(stats[1]);
	b->stop_fd = stop[1];
	b->stats_fd = stats[0];
	return 0;
}

int bg_stop(struct bg *b, struct bg_stats *out, double timeout_s)
{
	struct pollfd p = {.fd = b->stats_fd, .events = POLLIN};
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (b->pid <= 0)
		return -1;
	close(b->stop_fd);
	if (poll(&p, 1, (int)(timeout_s * 1000)) == 1 &&
	    read(b->stats_fd, out, sizeof(*out)) == (ssize_t)sizeof(*out))
		rc = 0;
	close(b->stats_fd);
	if (rc != 0)
		kill(b->pid, SIGKILL);
	waitpid(b->pid, NULL, 0);
	b->pid = 0;
	return rc;
}

/* ---- the daemon from outside ------------------------------------------- */

long proc_fds(pid_t pid)
{
	char path[64];
	struct dirent *de;
	long n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
	d = opendir(path);
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return n;
}

long proc_rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0) {
			kb = strtol(line + 6, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kb;
}

int tcp_connect(unsigned port, double timeout_s)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct timeval tv = {(time_t)timeout_s,
			     (suseconds_t)((timeout_s - (double)(time_t)timeout_s) * 1e6)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;

	if (fd < 0)
		return -1;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int http_get(unsigned port, const char *path, char *body, size_t len,
	     double timeout_s)
{
	static char buf[1 << 16];
	size_t got = 0;
	char req[512];
	const char *end;
	double until = now_s() + timeout_s;
	int fd = tcp_connect(port, timeout_s), n, status;

	if (len > 0)
		body[0] = '\0';
	if (fd < 0)
		return -1;
	n = snprintf(req, sizeof(req),
		     "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
	if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
		close(fd);
		return -1;
	}
	while (got < sizeof(buf) - 1 && now_s() < until) {
		ssize_t r = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	buf[got] = '\0';
	if (strncmp(buf, "HTTP/1.", 7) != 0 || got < 12)
		return -1;
	status = atoi(buf + 9);
	end = strstr(buf, "\r\n\r\n");
	if (end != NULL && len > 0)
		snprintf(body, len, "%s", end + 4);
	return status;
}

double metric_value(const char *body, const char *name)
{
	size_t nlen = strlen(name);
	const char *p = body;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, name, nlen) == 0 && p[nlen] == ' ')
			return strtod(p + nlen + 1, NULL);
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return -1;
}

double get_metric(unsigned port, const char *name)
{
	static char body[1 << 16];

	if (http_get(port, "/metrics", body, sizeof(body), 10.0) != 200)
		return -1;
	return metric_value(body, name);
}

bool valid_record(const char *body, size_t len, uint64_t id)
{
	char want[128], text[256];
	unsigned age;
	int n, used = 0;

	if (len >= sizeof(text))
		return false;
	memcpy(text, body, len);
	text[len] = '\0';
	n = snprintf(want, sizeof(want), "{\"user_id\": %" PRIu64 ", \"name\": \"User%" PRIu64
		     "\", \"age\": ", id, id);
	if (strncmp(text, want, (size_t)n) != 0)
		return false;
	if (sscanf(text + n, "%u}%n", &age, &used) != 1 || used == 0)
		return false;
	return age >= 20 && age <= 40 && (size_t)(n + used) == len;
}
