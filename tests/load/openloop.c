/* openloop.c - an open-loop load generator; see openloop.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "openloop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* splitmix64: the arrival times, the same for the same seed. */
static uint64_t next_u64(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

double openloop_interval(uint64_t *s, double rate)
{
	double u = (double)(next_u64(s) >> 11) / 9007199254740992.0; /* [0, 1) */

	return -log1p(-u) / rate;
}

struct olconn {
	int fd;
	size_t index;
	size_t got;
	char buf[1024];
};

/* The answer's status and Server-Timing delay, from what was read. */
static void parse_answer(struct ol_request *r, const char *buf)
{
	const char *st = strcasestr(buf, "\r\nServer-Timing: delay;dur=");

	r->status = strncmp(buf, "HTTP/1.1 ", 9) == 0 ? atoi(buf + 9) : 0;
	r->service = st != NULL ? atof(st + 27) / 1e3 : -1;
}

static void finish(int ep, struct olconn *c, struct ol_request *r, double t)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->buf[c->got] = '\0';
	parse_answer(r, c->buf);
	r->took = r->status != 0 ? t - r->due : -1;
	free(c);
}

static int open_one(int ep, const struct openloop *ol, size_t i)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)ol->port)};
	struct olconn *c = calloc(1, sizeof(*c));
	struct epoll_event ev = {.events = EPOLLOUT};

	if (c == NULL)
		return -1;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->index = i;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		free(c);
		return -1;
	}
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 && errno != EINPROGRESS) {
		close(c->fd);
		free(c);
		return -1;
	}
	ev.data.ptr = c;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
		close(c->fd);
		free(c);
		return -1;
	}
	return 0;
}

/* The connection is writable (connected): send the request, whole (it
 * is short: one send fits a fresh socket's buffer).  False when that
 * failed (the connection is then finished, unanswered). */
static bool send_request(int ep, const struct openloop *ol, struct olconn *c, double t)
{
	char req[512];
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
	int n;

	n = snprintf(req, sizeof(req), "GET %s%zu HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		     "Connection: close\r\n\r\n", ol->path, c->index);
	ol->req[c->index].late = t - ol->req[c->index].due;
	if (send(c->fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
		finish(ep, c, &ol->req[c->index], t);
		return false;
	}
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
	return true;
}

int openloop_run(struct openloop *ol)
{
	struct epoll_event evs[64];
	uint64_t s = ol->seed;
	size_t next = 0, open = 0;
	double t0, last = 0, give_up;
	int ep = epoll_create1(EPOLL_CLOEXEC);

	ol->req = calloc(ol->count, sizeof(*ol->req));
	if (ep < 0 || ol->req == NULL) {
		if (ep >= 0)
			close(ep);
		return -1;
	}
	t0 = now() + 0.05;
	for (size_t i = 0; i < ol->count; i++) {
		ol->req[i].due = t0 + (last += openloop_interval(&s, ol->rate));
		ol->req[i].took = -1;
		ol->req[i].service = -1;
	}
	give_up = ol->req[ol->count - 1].due + ol->timeout_s;
	while ((next < ol->count || open > 0) && now() < give_up) {
		double t = now();
		int wait_ms, n;

		while (next < ol->count && ol->req[next].due <= t) {
			if (open_one(ep, ol, next) != 0) {
				close(ep);
				return -1;
			}
			next++;
			open++;
		}
		wait_ms = next < ol->count
			? (int)((ol->req[next].due - t) * 1e3) /* rounded down */
			: 100;
		n = epoll_wait(ep, evs, (int)(sizeof(evs) / sizeof(evs[0])), wait_ms);
		t = now();
		for (int k = 0; k < n; k++) {
			struct olconn *c = evs[k].data.ptr;
			struct ol_request *r = &ol->req[c->index];
			ssize_t got;

			if (evs[k].events & EPOLLOUT) {
				if (!send_request(ep, ol, c, t))
					open--;
				continue;
			}
			got = recv(c->fd, c->buf + c->got, sizeof(c->buf) - 1 - c->got, 0);
			if (got > 0) {
				c->got += (size_t)got;
				if (c->got < sizeof(c->buf) - 1)
					continue;
			} else if (got < 0 && errno == EAGAIN) {
				continue;
			}
			finish(ep, c, r, t); /* the server closed: the answer is in */
			open--;
		}
	}
	/* What is still open stays unanswered (took -1); its sockets are
	 * left to the process's exit. */
	close(ep);
	return 0;
}

void openloop_free(struct openloop *ol)
{
	free(ol->req);
	ol->req = NULL;
}
