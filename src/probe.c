/* probe.c - one plain HTTP GET and its status; see probe.h. */
#include "probe.h"

#include <assert.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

struct target {
	char host[256];
	char port[6];
	char path[1024];
};

/* Split `url` into *t; false if it is not http://HOST[:PORT][/PATH]. */
static bool parse_url(const char *url, struct target *t)
{
	const char *p = url + 7, *end;
	size_t n;

	if (strncmp(url, "http://", 7) != 0)
		return false;
	if (*p == '[') {
		end = strchr(++p, ']');
		if (end == NULL)
			return false;
		n = (size_t)(end - p);
		end++;
	} else {
		n = strcspn(p, ":/");
		end = p + n;
	}
	if (n == 0 || n >= sizeof(t->host))
		return false;
	memcpy(t->host, p, n);
	t->host[n] = '\0';
	snprintf(t->port, sizeof(t->port), "80");
	if (*end == ':') {
		char *stop;
		long port;

		end++;
		n = strspn(end, "0123456789");
		port = strtol(end, &stop, 10);
		if (n == 0 || n > 5 || stop != end + n || port < 1 || port > 65535)
			return false;
		snprintf(t->port, sizeof(t->port), "%ld", port);
		end += n;
	}
	if (*end != '\0' && *end != '/')
		return false;
	snprintf(t->path, sizeof(t->path), "%s", *end == '/' ? end : "/");
	if (strlen(end) >= sizeof(t->path))
		return false;
	/* Nothing that would end or split the request line. */
	for (p = t->path; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return false;
	return true;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until fd is ready for `events` or the deadline passes: true if ready. */
static bool wait_for(int fd, short events, long long deadline)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	long long left;
	int r;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			return false;
		r = poll(&pfd, 1, left > 1000000 ? 1000000 : (int)left);
		if (r > 0)
			return true;
		if (r < 0 && errno != EINTR)
			return false;
	}
}

/* A connected socket to one of t's addresses, or -1 with a message. */
static int connect_to(const struct target *t, long long deadline, char *err,
		      size_t errlen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICSERV};
	struct addrinfo *ai, *a;
	int fd = -1, rc, soerr = 0;
	socklen_t len = sizeof(soerr);

	rc = getaddrinfo(t->host, t->port, &hints, &ai);
	if (rc != 0) {
		util_error(err, errlen, "%s: %s", t->host, gai_strerror(rc));
		return -1;
	}
	for (a = ai; a != NULL; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    a->ai_protocol);
		if (fd < 0) {
			soerr = errno;
			continue;
		}
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		soerr = errno;
		if (soerr == EINPROGRESS) {
			soerr = ETIMEDOUT;
			if (wait_for(fd, POLLOUT, deadline) &&
			    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 &&
			    soerr == 0)
				break;
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0)
		util_error(err, errlen, "cannot connect to %s port %s: %s", t->host,
			   t->port, strerror(soerr));
	return fd;
}

int probe_get(const char *url, unsigned timeout_ms, char *err, size_t errlen)
{
	struct target t;
	long long deadline = now_ms() + timeout_ms;
	char req[1400], buf[512];
	size_t sent = 0, got = 0, reqlen;
	int fd, status = PROBE_FAILED;
	ssize_t n;

	assert(url != NULL && err != NULL);
	if (!parse_url(url, &t)) {
		util_error(err, errlen, "'%s' is not http://HOST[:PORT][/PATH]", url);
		return PROBE_BAD_URL;
	}
	fd = connect_to(&t, deadline, err, errlen);
	if (fd < 0)
		return PROBE_FAILED;
	reqlen = (size_t)snprintf(req, sizeof(req),
				  "GET %s HTTP/1.0\r\nHost: %s%s%s\r\n"
				  "User-Agent: userd-check\r\n\r\n", t.path,
				  strchr(t.host, ':') != NULL ? "[" : "", t.host,
				  strchr(t.host, ':') != NULL ? "]" : "");
	assert(reqlen < sizeof(req));
	while (sent < reqlen) {
		n = send(fd, req + sent, reqlen - sent, MSG_NOSIGNAL);
		if (n > 0)
			sent += (size_t)n;
		else if (n < 0 && errno == EAGAIN && wait_for(fd, POLLOUT, deadline))
			continue;
		else
			break;
	}
	/* The status line: "HTTP/1.x NNN ...". */
	while (sent == reqlen && got < sizeof(buf) - 1 &&
	       memchr(buf, '\n', got) == NULL) {
		n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
		if (n > 0)
			got += (size_t)n;
		else if (n < 0 && (errno == EAGAIN || errno == EINTR) &&
			 wait_for(fd, POLLIN, deadline))
			continue;
		else
			break;
	}
	close(fd);
	buf[got] = '\0';
	if (sent < reqlen || got == 0) {
		util_error(err, errlen, "%s: no answer within %u ms", url, timeout_ms);
		return PROBE_FAILED;
	}
	if (strncmp(buf, "HTTP/1.", 7) == 0 && buf[7] != '\0' && buf[8] == ' ' &&
	    sscanf(buf + 9, "%3d", &status) == 1 && status >= 100 && status <= 999)
		return status;
	util_error(err, errlen, "%s: not an HTTP answer", url);
	return PROBE_FAILED;
}
