/* fuzz_http - libFuzzer harness for whole HTTP requests against a real
 * userd HTTP server (libmicrohttpd, routes, timer queue), started once in
 * this process on 127.0.0.1, port 0.
 *
 * Per input: connect, send the bytes, wait briefly for the answer to
 * begin, shut down the write side, read the answer until EOF (or
 * FUZZ_HTTP_READ_MS of silence), close.  The server must still accept the
 * next connection (a connect failure aborts), and every HEALTH_EVERY
 * inputs it must answer GET /healthz with 200 within HEALTH_TIMEOUT_MS, or
 * the harness aborts: a hung server is a bug too.  Delays are 0..2 ms and
 * ?delay= is capped at 5 ms, so no input waits long. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "delay.h"
#include "http.h"
#include "listener.h"
#include "log.h"
#include "timerq.h"

/* The server's connection limit, and so the timer queue's capacity (a
 * connection waits on at most one deadline), as in src/main.c. */
#define MAX_CONNECTIONS 64

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* How long a silent connection may keep us waiting for its answer. */
#define FUZZ_HTTP_READ_MS 200
/* How long to wait for the first answer bytes before half-closing.
 * libmicrohttpd 0.9.75 polls with edge-triggered epoll: when the request
 * and the FIN are both queued before it reads, it may never see the EOF
 * and the connection idles until its timeout.  A FIN sent after the
 * server has answered (or after this pause) arrives as a separate edge. */
#define FUZZ_HTTP_SETTLE_MS 5

/* How often, and how patiently, to check that the server still serves. */
#define HEALTH_EVERY 256
#define HEALTH_TIMEOUT_MS 5000

static timerq *timers;
static struct http_server *server;
static struct sockaddr_in server_addr;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct http_options o;
	struct config cfg;
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	char err[256];
	int fd, rc;

	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	log_set_level(getenv("FUZZ_HTTP_DEBUG") != NULL ? LOG_LEVEL_DEBUG
							 : LOG_LEVEL_ERROR);
	fd = listener_open("127.0.0.1", 0, false, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "fuzz_http: %s\n", err);
		abort();
	}
	if (getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
		perror("fuzz_http: getsockname");
		abort();
	}
	rc = timerq_create(&timers, 0, MAX_CONNECTIONS);
	if (rc != 0) {
		fprintf(stderr, "fuzz_http: timerq_create: %s\n", strerror(rc));
		abort();
	}
	/* userd's defaults, then what keeps each input short. */
	config_defaults(&cfg);
	memset(&o, 0, sizeof(o));
	o.listen_fd = fd;
	o.threads = 2;
	o.max_connections = MAX_CONNECTIONS;
	o.timeout_s = 5;
	o.connection_memory = cfg.connection_memory;
	delay_set_uniform(&cfg.run.delay, 0, 2);
	cfg.run.delay.clamp_ms = 5; /* ?delay= above this is a 400 */
	cfg.run.delay_override = true;
	cfg.run.error_rate = 0.1;
	cfg.run.access_log = ACCESS_LOG_OFF;
	o.settings = settings_create(&cfg.run, NULL);
	if (o.settings == NULL)
		abort();
	o.seeded = true;
	o.seed = 1;
	o.timers = timers;
	o.version = "fuzz";
	config_free(&cfg);
	if (http_start(&server, &o, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_http: %s\n", err);
		abort();
	}
	settings_unref(o.settings); /* the server keeps its own reference */
	server_addr = sa;
	return 0;
}

static int connect_server(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		perror("fuzz_http: socket");
		abort();
	}
	if (connect(fd, (struct sockaddr *)&server_addr, sizeof(server_addr)) != 0) {
		/* The server died or stopped accepting. */
		perror("fuzz_http: connect");
		abort();
	}
	return fd;
}

/* GET /healthz must be answered 200 in time. */
static void check_health(void)
{
	static const char req[] =
		"GET /healthz HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n";
	static const char want[] = "HTTP/1.1 200 ";
	char buf[512];
	size_t got = 0;
	int fd = connect_server();
	struct pollfd p = {.fd = fd, .events = POLLIN};

	if (send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)sizeof(req) - 1) {
		perror("fuzz_http: health check: send");
		abort();
	}
	while (got < sizeof(want) - 1) {
		ssize_t n;
		int r = poll(&p, 1, HEALTH_TIMEOUT_MS);

		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			fprintf(stderr, "fuzz_http: no answer to GET /healthz in %d ms\n",
				HEALTH_TIMEOUT_MS);
			abort();
		}
		n = recv(fd, buf + got, sizeof(buf) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got < sizeof(want) - 1 || memcmp(buf, want, sizeof(want) - 1) != 0) {
		fprintf(stderr, "fuzz_http: GET /healthz: bad answer '%.*s'\n",
			(int)got, buf);
		abort();
	}
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned runs;
	struct pollfd p;
	char buf[65536];
	size_t off = 0;
	int fd;

	if (++runs % HEALTH_EVERY == 0)
		check_health();
	fd = connect_server();
	while (off < size) {
		ssize_t n = send(fd, data + off, size - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* the server closed on us: fine */
		off += (size_t)n;
	}
	p.fd = fd;
	p.events = POLLIN;
	while (poll(&p, 1, FUZZ_HTTP_SETTLE_MS) < 0 && errno == EINTR)
		;
	shutdown(fd, SHUT_WR);
	for (;;) {
		ssize_t n;
		int r = poll(&p, 1, FUZZ_HTTP_READ_MS);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
	}
	close(fd);
	return 0;
}
