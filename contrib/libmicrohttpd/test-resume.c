/*
 * test-resume.c - behaviour of libmicrohttpd's suspend/resume with
 * thousands of suspended connections, for the patches in
 * contrib/libmicrohttpd/patches/.  It checks behaviour, not speed, so it
 * passes on the stock library too.
 *
 *   cc -O2 -Wall -Wextra -Werror -pthread test-resume.c \
 *      $(pkg-config --cflags --libs libmicrohttpd) -o test-resume
 *   LD_LIBRARY_PATH=DIR ./test-resume [-n CONNECTIONS] [-r ROUNDS]
 *
 * Every scenario runs in each threading mode (one epoll thread, a pool of
 * two epoll workers, one poll thread; MHD_suspend_connection documents
 * that it does not apply to thread-per-connection):
 *
 *   all-at-once  N connections suspended, then resumed in random order in
 *                one burst: each answered exactly once.
 *   trickle      N connections suspended, then resumed one at a time in
 *                random order, each answered before the next is resumed,
 *                while the others wait (userd's pattern: each at its own
 *                deadline): each answered exactly once.  This is where the
 *                stock library walks every suspended connection per resume.
 *   random       N connections, ROUNDS keep-alive requests each, every
 *                request suspended and resumed in random order by two
 *                threads racing the handler: each answered exactly once.
 *   drain        N suspended, MHD_quiesce_daemon, all resumed, all
 *                answered, then MHD_stop_daemon (userd's shutdown).
 *   stop         N suspended, quiesce, all resumed, MHD_stop_daemon at
 *                once: no abort, every request completed exactly once
 *                (answered or closed by the shutdown), none lost.
 *   leave        N suspended; then a third of the clients close (FIN), a
 *                third reset (RST) and a third send their next request
 *                while the first waits.  The daemon does not spin on what
 *                its suspended connections receive (CPU time over 300 ms
 *                of it), then all are resumed: each request completed
 *                exactly once, both requests of the pipelining clients
 *                answered in order (the second arrived while suspended:
 *                no read-readiness may be lost).
 *
 * -m MODE and -s SCENARIO run one of them only (for debugging).
 * -q CYCLES runs only the quiesce race instead (see quiesce_race()).
 * The first line names the libmicrohttpd file actually loaded; the last
 * line is "N passed, N failed".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#if MHD_VERSION < 0x00097002
typedef int MHD_Result_;
#else
typedef enum MHD_Result MHD_Result_;
#endif

enum scenario { ALL_AT_ONCE, TRICKLE, RANDOM, DRAIN, STOP, LEAVE, N_SCENARIOS };
static const char *const scenario_names[] = {"all-at-once", "trickle", "random", "drain",
					     "stop", "leave"};

struct mode {
	const char *name;
	unsigned flags;
	unsigned pool;   /* worker threads, 0 = none */
};

static const struct mode modes[] = {
	{"epoll", MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0},
	{"epoll-pool", MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 2},
	{"poll", MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, 0},
};

/* One request: connection c, round r. */
struct req {
	unsigned c, r;
	atomic_int calls;      /* handler calls that saw it: 3 when answered */
	atomic_int completed;  /* completion callbacks */
	atomic_int ok;         /* completed with MHD_REQUEST_TERMINATED_COMPLETED_OK */
};

/* Connections waiting to be resumed. */
struct pending {
	pthread_mutex_t lock;
	struct MHD_Connection **conns;
	unsigned n;
};

struct run {
	enum scenario sc;
	unsigned n, rounds;
	struct req *reqs;          /* n * rounds */
	struct pending pending;
	atomic_uint suspended;     /* suspensions so far */
	atomic_uint connected;     /* connections whose first request arrived */
	atomic_uint resumed;
	atomic_uint completed;     /* completion callbacks, all requests */
	atomic_int stop_resumers;
	atomic_int errors;
	char first_error[256];
	pthread_mutex_t err_lock;
	bool immediate;            /* resumer threads resume as soon as queued */
};

static void fail(struct run *run, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fail(struct run *run, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&run->err_lock);
	if (atomic_fetch_add(&run->errors, 1) == 0) {
		va_start(ap, fmt);
		vsnprintf(run->first_error, sizeof run->first_error, fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&run->err_lock);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* xorshift, per thread */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static MHD_Result_ on_request(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version,
			      const char *upload_data, size_t *upload_data_size,
			      void **con_cls)
{
	struct run *run = cls;
	struct req *q = *con_cls;
	struct MHD_Response *resp;
	MHD_Result_ ret;
	unsigned c, r;
	char body[64];
	int len;

	(void)method;
	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	if (q == NULL) {
		if (sscanf(url, "/r/%u/%u", &c, &r) != 2 || c >= run->n || r >= run->rounds) {
			fail(run, "bad url %s", url);
			return MHD_NO;
		}
		q = &run->reqs[(size_t)c * run->rounds + r];
		if (atomic_fetch_add(&q->calls, 1) != 0) {
			fail(run, "request %u/%u seen twice", c, r);
			return MHD_NO;
		}
		/* Headers are in; suspend on the next call, as userd does
		 * (suspending in this first call makes 0.9.75 close the
		 * connection after the answer). */
		*con_cls = q;
		return MHD_YES;
	}
	switch (atomic_fetch_add(&q->calls, 1)) {
	case 1:
		if (q->r == 0)
			atomic_fetch_add(&run->connected, 1);
		MHD_suspend_connection(conn);
		pthread_mutex_lock(&run->pending.lock);
		run->pending.conns[run->pending.n++] = conn;
		pthread_mutex_unlock(&run->pending.lock);
		atomic_fetch_add(&run->suspended, 1);
		return MHD_YES;
	case 2:
		break;
	default:
		fail(run, "request %u/%u handled after resume more than once", q->c, q->r);
		return MHD_NO;
	}
	len = snprintf(body, sizeof body, "%u %u\n", q->c, q->r);
	resp = MHD_create_response_from_buffer((size_t)len, body, MHD_RESPMEM_MUST_COPY);
	if (resp == NULL) {
		fail(run, "MHD_create_response_from_buffer failed");
		return MHD_NO;
	}
	ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct run *run = cls;
	struct req *q = *con_cls;

	(void)conn;
	if (q == NULL)
		return;
	if (atomic_fetch_add(&q->completed, 1) != 0)
		fail(run, "request %u/%u completed twice", q->c, q->r);
	atomic_fetch_add(&run->completed, 1);
	if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
		atomic_fetch_add(&q->ok, 1);
	*con_cls = NULL;
}

/* Take every connection queued so far, in random order: a malloc'd
 * array (the caller frees it) and its length in *n. */
static struct MHD_Connection **take_shuffled(struct run *run, uint64_t *seed,
					     unsigned *n)
{
	struct MHD_Connection **v, *t;
	unsigned i, j;

	pthread_mutex_lock(&run->pending.lock);
	*n = run->pending.n;
	v = malloc(sizeof *v * (*n ? *n : 1));
	if (v == NULL)
		abort();
	memcpy(v, run->pending.conns, sizeof *v * *n);
	run->pending.n = 0;
	pthread_mutex_unlock(&run->pending.lock);
	for (i = *n; i > 1; i--) {
		j = (unsigned)(rnd(seed) % i);
		t = v[i - 1];
		v[i - 1] = v[j];
		v[j] = t;
	}
	return v;
}

/* Resume every connection queued so far, in random order; returns how many. */
static unsigned resume_all_shuffled(struct run *run, uint64_t *seed)
{
	unsigned n, i;
	struct MHD_Connection **v = take_shuffled(run, seed, &n);

	for (i = 0; i < n; i++)
		MHD_resume_connection(v[i]);
	atomic_fetch_add(&run->resumed, n);
	free(v);
	return n;
}

/* A resumer thread for the "random" scenario: resume a random queued
 * connection, as soon as there is one. */
static void *resumer(void *arg)
{
	struct run *run = arg;
	uint64_t seed = (uint64_t)(uintptr_t)&seed ^ 0x9e3779b97f4a7c15ULL;
	struct MHD_Connection *conn;
	unsigned k;

	while (!atomic_load(&run->stop_resumers)) {
		conn = NULL;
		pthread_mutex_lock(&run->pending.lock);
		/* Let a few queue up, so that the order is random. */
		if (run->pending.n > 0 && (run->pending.n >= 8 || rnd(&seed) % 4 == 0)) {
			k = (unsigned)(rnd(&seed) % run->pending.n);
			conn = run->pending.conns[k];
			run->pending.conns[k] = run->pending.conns[--run->pending.n];
		}
		pthread_mutex_unlock(&run->pending.lock);
		if (conn != NULL) {
			MHD_resume_connection(conn);
			atomic_fetch_add(&run->resumed, 1);
		} else {
			usleep(100);
		}
	}
	return NULL;
}

/* The client side: one socket per connection, ROUNDS requests each. */
struct client {
	int fd;
	unsigned round;     /* request in flight */
	unsigned answered;  /* responses received */
	bool closed;        /* EOF or reset seen, or the client left */
	bool pipelined;     /* sent all its requests without waiting */
	size_t len;
	char buf[512];
};

struct clients {
	struct run *run;
	struct client *v;
	unsigned port;
	int ep;
	atomic_uint answered;  /* responses received, all connections */
	atomic_uint closed;    /* connections closed by the server */
	atomic_uint finished;  /* connections answered in full or closed */
	atomic_int quit;
	pthread_t thread;
};

static int send_request(struct clients *cl, unsigned i)
{
	struct client *k = &cl->v[i];
	char req[128];
	int len;

	len = snprintf(req, sizeof req,
		       "GET /r/%u/%u HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n",
		       i, k->round);
	if (send(k->fd, req, (size_t)len, MSG_NOSIGNAL) != len) {
		fail(cl->run, "client %u: send: %s", i, strerror(errno));
		return -1;
	}
	return 0;
}

/* Parse complete responses in k's buffer; -1 on a protocol error. */
static int parse_responses(struct clients *cl, unsigned i)
{
	struct client *k = &cl->v[i];
	char *end, *cl_hdr, expect[64];
	size_t head, body_len, total;
	int elen;

	for (;;) {
		k->buf[k->len] = '\0';
		end = strstr(k->buf, "\r\n\r\n");
		if (end == NULL)
			return 0;
		head = (size_t)(end - k->buf) + 4;
		cl_hdr = strcasestr(k->buf, "\r\nContent-Length:");
		if (strncmp(k->buf, "HTTP/1.1 200 ", 13) != 0 || cl_hdr == NULL || cl_hdr > end) {
			fail(cl->run, "client %u: unexpected response: %.60s", i, k->buf);
			return -1;
		}
		body_len = strtoul(cl_hdr + 17, NULL, 10);
		total = head + body_len;
		if (k->len < total)
			return 0;
		if (k->round >= cl->run->rounds || k->answered != k->round) {
			fail(cl->run, "client %u: a response it did not ask for", i);
			return -1;
		}
		elen = snprintf(expect, sizeof expect, "%u %u\n", i, k->round);
		if (body_len != (size_t)elen || memcmp(k->buf + head, expect, body_len) != 0) {
			fail(cl->run, "client %u: body %.*s, expected %s", i, (int)body_len,
			     k->buf + head, expect);
			return -1;
		}
		k->answered++;
		atomic_fetch_add(&cl->answered, 1);
		memmove(k->buf, k->buf + total, k->len - total);
		k->len -= total;
		k->round++;
		if (k->round == cl->run->rounds)
			atomic_fetch_add(&cl->finished, 1);
		else if (!k->pipelined && send_request(cl, i) != 0)
			return -1;
	}
}

static void *client_loop(void *arg)
{
	struct clients *cl = arg;
	struct epoll_event ev[256];
	int n, e;
	unsigned i;
	ssize_t got;
	struct client *k;

	while (!atomic_load(&cl->quit)) {
		n = epoll_wait(cl->ep, ev, 256, 50);
		for (e = 0; e < n; e++) {
			i = ev[e].data.u32;
			k = &cl->v[i];
			if (k->closed)
				continue;
			got = recv(k->fd, k->buf + k->len, sizeof k->buf - 1 - k->len, 0);
			if (got > 0) {
				k->len += (size_t)got;
				if (parse_responses(cl, i) != 0) {
					k->closed = true;
					epoll_ctl(cl->ep, EPOLL_CTL_DEL, k->fd, NULL);
				}
				continue;
			}
			if (got < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			k->closed = true;
			atomic_fetch_add(&cl->closed, 1);
			if (k->answered < cl->run->rounds)
				atomic_fetch_add(&cl->finished, 1);
			epoll_ctl(cl->ep, EPOLL_CTL_DEL, k->fd, NULL);
			if (k->len != 0 && cl->run->sc != STOP)
				fail(cl->run, "client %u: %zu bytes of a partial response", i, k->len);
		}
	}
	return NULL;
}

static int connect_clients(struct clients *cl)
{
	struct sockaddr_in sa;
	struct epoll_event ev;
	unsigned i;
	int fd, one = 1;

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)cl->port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (i = 0; i < cl->run->n; i++) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
			fail(cl->run, "client %u: connect: %s", i, strerror(errno));
			if (fd >= 0)
				close(fd);
			return -1;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		cl->v[i].fd = fd;
		ev.events = EPOLLIN;
		ev.data.u32 = i;
		if (epoll_ctl(cl->ep, EPOLL_CTL_ADD, fd, &ev) != 0 || send_request(cl, i) != 0)
			return -1;
		/* Pace the connects so that the accept queue never overflows. */
		while (i + 1 - atomic_load(&cl->run->connected) > 1000 &&
		       !atomic_load(&cl->run->errors))
			usleep(1000);
	}
	return 0;
}

static int listen_socket(unsigned *port)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 4096) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

/* Wait until cond() or the deadline; true if cond() held. */
static bool wait_for(struct run *run, bool (*cond)(void *), void *arg, double seconds)
{
	double end = now_s() + seconds;

	while (!cond(arg)) {
		if (now_s() > end || atomic_load(&run->errors))
			return false;
		usleep(2000);
	}
	return true;
}

/* Resume the queued connections one at a time, in random order, each
 * after the previous one was answered. */
static void trickle(struct run *run, struct clients *cl, uint64_t *seed)
{
	unsigned n, i;
	struct MHD_Connection **v = take_shuffled(run, seed, &n);
	double end;

	for (i = 0; i < n; i++) {
		MHD_resume_connection(v[i]);
		atomic_fetch_add(&run->resumed, 1);
		end = now_s() + 10;
		while (atomic_load(&cl->answered) < i + 1) {
			if (now_s() > end || atomic_load(&run->errors)) {
				fail(run, "answer %u of %u did not come within 10 s", i + 1, n);
				free(v);
				return;
			}
			usleep(10);
		}
	}
	free(v);
}

static struct run *g_run;
static struct clients *g_cl;

static bool all_suspended(void *arg)
{
	return atomic_load(&g_run->suspended) >= *(unsigned *)arg;
}

static bool all_answered(void *arg)
{
	return atomic_load(&g_cl->answered) >= *(unsigned *)arg;
}

static bool all_completed(void *arg)
{
	return atomic_load(&g_run->completed) >= *(unsigned *)arg;
}

static bool all_done(void *arg)
{
	(void)arg;
	return atomic_load(&g_cl->finished) >= g_run->n;
}

/* CPU time of the whole process so far, in seconds. */
static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* The "leave" scenario, once every first request is suspended: client i
 * closes (i % 3 == 0), resets (1) or sends its second request (2). */
static void clients_leave(struct clients *cl)
{
	struct linger rst = {.l_onoff = 1, .l_linger = 0};
	struct client *k;
	unsigned i;

	for (i = 0; i < cl->run->n; i++) {
		k = &cl->v[i];
		if (i % 3 == 2) {
			k->pipelined = true;
			k->round = 1;
			if (send_request(cl, i) != 0)
				return;
			k->round = 0;
			continue;
		}
		epoll_ctl(cl->ep, EPOLL_CTL_DEL, k->fd, NULL);
		if (i % 3 == 1)
			setsockopt(k->fd, SOL_SOCKET, SO_LINGER, &rst, sizeof rst);
		close(k->fd);
		k->fd = -1;
		k->closed = true;
	}
}

/* How many of n clients pipeline in "leave": those with i % 3 == 2. */
static unsigned pipelining_clients(unsigned n)
{
	return n / 3;
}

/* Requests the clients of scenario sc send in all. */
static unsigned requests_sent(enum scenario sc, unsigned n, unsigned rounds)
{
	return sc == LEAVE ? n + pipelining_clients(n) : n * rounds;
}

/* One scenario in one mode; 0 if it passed. */
static int run_case(enum scenario sc, const struct mode *m, unsigned n, unsigned rounds,
		    char *why, size_t why_len)
{
	struct run run;
	struct clients cl;
	struct MHD_Daemon *d = NULL;
	pthread_t res[2];
	unsigned i, port, want, completed = 0, ok = 0, answered_reqs = 0;
	int lfd, nres = 0, quiesced_fd;
	uint64_t seed = 0x2545f4914f6cdd1dULL ^ (uint64_t)sc;
	bool client_started = false;

	if (sc == LEAVE)
		rounds = 2;
	else if (sc != RANDOM)
		rounds = 1;
	/* poll() itself visits every connection on each pass: a quarter of
	 * them is enough to trickle through there. */
	if (sc == TRICKLE && (m->flags & MHD_USE_POLL) != 0)
		n = n / 4 + 1;
	want = requests_sent(sc, n, rounds);
	memset(&run, 0, sizeof run);
	run.sc = sc;
	run.n = n;
	run.rounds = rounds;
	pthread_mutex_init(&run.err_lock, NULL);
	pthread_mutex_init(&run.pending.lock, NULL);
	run.reqs = calloc((size_t)n * rounds, sizeof *run.reqs);
	run.pending.conns = calloc(n, sizeof *run.pending.conns);
	memset(&cl, 0, sizeof cl);
	cl.run = &run;
	cl.v = calloc(n, sizeof *cl.v);
	cl.ep = epoll_create1(EPOLL_CLOEXEC);
	if (run.reqs == NULL || run.pending.conns == NULL || cl.v == NULL || cl.ep < 0) {
		snprintf(why, why_len, "out of memory or fds");
		return -1;
	}
	for (i = 0; i < n * rounds; i++) {
		run.reqs[i].c = i / rounds;
		run.reqs[i].r = i % rounds;
	}
	for (i = 0; i < n; i++)
		cl.v[i].fd = -1;
	g_run = &run;
	g_cl = &cl;

	lfd = listen_socket(&port);
	if (lfd < 0) {
		snprintf(why, why_len, "listen: %s", strerror(errno));
		return -1;
	}
	cl.port = port;
	if (m->pool != 0)
		d = MHD_start_daemon(m->flags | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC, 0, NULL,
				     NULL, on_request, &run, MHD_OPTION_LISTEN_SOCKET, lfd,
				     MHD_OPTION_CONNECTION_LIMIT, n + 64,
				     MHD_OPTION_THREAD_POOL_SIZE, m->pool,
				     MHD_OPTION_NOTIFY_COMPLETED, on_completed, &run,
				     MHD_OPTION_END);
	else
		d = MHD_start_daemon(m->flags | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC, 0, NULL,
				     NULL, on_request, &run, MHD_OPTION_LISTEN_SOCKET, lfd,
				     MHD_OPTION_CONNECTION_LIMIT, n + 64,
				     MHD_OPTION_NOTIFY_COMPLETED, on_completed, &run,
				     MHD_OPTION_END);
	if (d == NULL) {
		snprintf(why, why_len, "MHD_start_daemon failed");
		close(lfd);
		return -1;
	}
	if (pthread_create(&cl.thread, NULL, client_loop, &cl) != 0) {
		snprintf(why, why_len, "pthread_create failed");
		goto out;
	}
	client_started = true;
	if (sc == RANDOM) {
		for (nres = 0; nres < 2; nres++)
			if (pthread_create(&res[nres], NULL, resumer, &run) != 0)
				break;
	}
	if (connect_clients(&cl) != 0)
		goto out;

	switch (sc) {
	case ALL_AT_ONCE:
		if (!wait_for(&run, all_suspended, &n, 60)) {
			fail(&run, "only %u of %u requests suspended", atomic_load(&run.suspended), n);
			break;
		}
		resume_all_shuffled(&run, &seed);
		if (!wait_for(&run, all_answered, &want, 60))
			fail(&run, "%u of %u answered", atomic_load(&cl.answered), want);
		else if (!wait_for(&run, all_completed, &want, 30))
			fail(&run, "%u of %u completed", atomic_load(&run.completed), want);
		break;
	case TRICKLE:
		if (!wait_for(&run, all_suspended, &n, 60)) {
			fail(&run, "only %u of %u requests suspended", atomic_load(&run.suspended), n);
			break;
		}
		trickle(&run, &cl, &seed);
		if (!wait_for(&run, all_completed, &want, 30))
			fail(&run, "%u of %u completed", atomic_load(&run.completed), want);
		break;
	case RANDOM:
		if (!wait_for(&run, all_answered, &want, 120))
			fail(&run, "%u of %u answered", atomic_load(&cl.answered), want);
		else if (!wait_for(&run, all_completed, &want, 30))
			fail(&run, "%u of %u completed", atomic_load(&run.completed), want);
		break;
	case DRAIN:
	case STOP:
		if (!wait_for(&run, all_suspended, &n, 60)) {
			fail(&run, "only %u of %u requests suspended", atomic_load(&run.suspended), n);
			break;
		}
		quiesced_fd = MHD_quiesce_daemon(d);
		if (quiesced_fd != lfd)
			fail(&run, "MHD_quiesce_daemon returned %d, not %d", quiesced_fd, lfd);
		resume_all_shuffled(&run, &seed);
		if (sc == DRAIN && !wait_for(&run, all_answered, &want, 60))
			fail(&run, "%u of %u answered", atomic_load(&cl.answered), want);
		else if (sc == DRAIN && !wait_for(&run, all_completed, &want, 30))
			fail(&run, "%u of %u completed", atomic_load(&run.completed), want);
		MHD_stop_daemon(d);
		d = NULL;
		/* Every client now has its answer or sees its connection closed. */
		if (!wait_for(&run, all_done, NULL, 30))
			fail(&run, "after stop: %u answered + %u closed of %u",
			     atomic_load(&cl.answered), atomic_load(&cl.closed), n);
		break;
	case LEAVE: {
		double t0, c0, spent;
		unsigned pipe_answers = 2 * pipelining_clients(n);

		if (!wait_for(&run, all_suspended, &n, 60)) {
			fail(&run, "only %u of %u requests suspended", atomic_load(&run.suspended), n);
			break;
		}
		/* The client thread must not be parsing while the sockets
		 * change under it. */
		atomic_store(&cl.quit, 1);
		pthread_join(cl.thread, NULL);
		client_started = false;
		clients_leave(&cl);
		atomic_store(&cl.quit, 0);
		if (pthread_create(&cl.thread, NULL, client_loop, &cl) != 0) {
			fail(&run, "pthread_create failed");
			break;
		}
		client_started = true;
		t0 = now_s();
		c0 = cpu_s();
		usleep(300000);
		spent = cpu_s() - c0;
		if (spent > 0.5 * (now_s() - t0))
			fail(&run, "%.0f ms of CPU in %.0f ms while every connection was "
			     "suspended: the daemon spins", spent * 1e3, (now_s() - t0) * 1e3);
		/* The second requests are suspended in turn once the first
		 * ones are answered: resume until everything completed. */
		for (t0 = now_s(); !atomic_load(&run.errors) &&
				   atomic_load(&run.completed) < want; usleep(1000)) {
			resume_all_shuffled(&run, &seed);
			if (now_s() - t0 > 60) {
				fail(&run, "%u of %u completed", atomic_load(&run.completed), want);
				break;
			}
		}
		if (!run.errors && !wait_for(&run, all_answered, &pipe_answers, 30))
			fail(&run, "%u of %u answers to the pipelining clients",
			     atomic_load(&cl.answered), pipe_answers);
		break;
	}
	case N_SCENARIOS:
		break;
	}

out:
	atomic_store(&run.stop_resumers, 1);
	while (nres > 0)
		pthread_join(res[--nres], NULL);
	if (d != NULL)
		MHD_stop_daemon(d);
	if (client_started) {
		atomic_store(&cl.quit, 1);
		pthread_join(cl.thread, NULL);
	}
	close(lfd);
	for (i = 0; i < n * rounds; i++) {
		completed += (unsigned)atomic_load(&run.reqs[i].completed);
		ok += (unsigned)atomic_load(&run.reqs[i].ok);
		if (atomic_load(&run.reqs[i].calls) > 0 && atomic_load(&run.reqs[i].completed) != 1)
			fail(&run, "request %u/%u: %d completion callbacks", run.reqs[i].c,
			     run.reqs[i].r, atomic_load(&run.reqs[i].completed));
		if (atomic_load(&run.reqs[i].calls) == 3)
			answered_reqs++;
	}
	if (!run.errors) {
		/* Every request the clients sent reached the handler and was
		 * completed exactly once; all but "stop" and "leave" answered
		 * every one ("leave": every one whose client stayed). */
		if (completed != want)
			fail(&run, "%u of %u requests completed", completed, want);
		else if (sc == LEAVE && atomic_load(&cl.answered) != 2 * pipelining_clients(n))
			fail(&run, "%u answers to the pipelining clients, not %u",
			     atomic_load(&cl.answered), 2 * pipelining_clients(n));
		else if (sc != STOP && sc != LEAVE &&
			 (ok != want || atomic_load(&cl.answered) != want))
			fail(&run, "%u completed OK, %u answered of %u", ok,
			     atomic_load(&cl.answered), want);
		else if (atomic_load(&run.resumed) != want)
			fail(&run, "%u resumed of %u", atomic_load(&run.resumed), want);
		else if (sc == STOP && atomic_load(&cl.answered) > answered_reqs)
			fail(&run, "clients got %u answers, the handler made %u",
			     atomic_load(&cl.answered), answered_reqs);
	}
	if (run.errors)
		snprintf(why, why_len, "%s (%d errors)", run.first_error, atomic_load(&run.errors));
	else
		snprintf(why, why_len, "%u connections x %u requests; %u answered, %u closed at stop",
			 n, rounds, atomic_load(&cl.answered), atomic_load(&cl.closed));
	for (i = 0; i < n; i++)
		if (cl.v[i].fd >= 0)
			close(cl.v[i].fd);
	close(cl.ep);
	free(cl.v);
	free(run.reqs);
	free(run.pending.conns);
	return run.errors ? -1 : 0;
}

/* ---- the quiesce race (-q CYCLES) ----
 * A pool of two epoll workers kept busy by keep-alive clients, quiesced
 * while they run: on 0.9.75 a worker may remove the listening socket from
 * its epoll set just before MHD_quiesce_daemon does, and the process aborts
 * with "Failed to remove listen FD from epoll set".  The window is a few
 * instructions wide, so it takes many cycles to hit, and a pass on a
 * library without the fix proves nothing. */
static MHD_Result_ on_quick(void *cls, struct MHD_Connection *conn, const char *url,
			    const char *method, const char *version, const char *upload_data,
			    size_t *upload_data_size, void **con_cls)
{
	static char body[] = "ok\n";
	struct MHD_Response *resp;
	MHD_Result_ ret;

	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	if (*con_cls == NULL) {
		*con_cls = body;
		return MHD_YES;
	}
	resp = MHD_create_response_from_buffer(sizeof body - 1, body, MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		return MHD_NO;
	ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

struct hammer {
	unsigned port;
	atomic_int stop;
	atomic_uint answers;
};

/* A client: new connections, a few keep-alive requests on each, until stop. */
static void *hammer_loop(void *arg)
{
	static const char req[] = "GET /q HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
	struct hammer *h = arg;
	struct sockaddr_in sa;
	struct timeval tv = {0, 200000};
	char buf[512];
	int fd, i;

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)h->port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	while (!atomic_load(&h->stop)) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			break;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
			for (i = 0; i < 4 && !atomic_load(&h->stop); i++) {
				if (send(fd, req, sizeof req - 1, MSG_NOSIGNAL) < 0 ||
				    recv(fd, buf, sizeof buf, 0) <= 0)
					break;
				atomic_fetch_add(&h->answers, 1);
			}
		close(fd);
	}
	return NULL;
}

/* CYCLES times: start a pool, load it, quiesce it under load, stop it. */
static int quiesce_race(unsigned cycles, char *why, size_t why_len)
{
	struct MHD_Daemon *d;
	struct hammer h;
	pthread_t th[2];
	unsigned c, port;
	int lfd, k, q;
	uint64_t seed = 0x853c49e6748fea9bULL;

	for (c = 0; c < cycles; c++) {
		lfd = listen_socket(&port);
		if (lfd < 0) {
			snprintf(why, why_len, "listen: %s", strerror(errno));
			return -1;
		}
		d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC,
				     0, NULL, NULL, on_quick, NULL, MHD_OPTION_LISTEN_SOCKET, lfd,
				     MHD_OPTION_THREAD_POOL_SIZE, 2u, MHD_OPTION_END);
		if (d == NULL) {
			close(lfd);
			snprintf(why, why_len, "MHD_start_daemon failed in cycle %u", c);
			return -1;
		}
		memset(&h, 0, sizeof h);
		h.port = port;
		for (k = 0; k < 2; k++)
			pthread_create(&th[k], NULL, hammer_loop, &h);
		while (atomic_load(&h.answers) < 2 + (unsigned)(rnd(&seed) % 16))
			usleep(50);
		q = MHD_quiesce_daemon(d);
		atomic_store(&h.stop, 1);
		for (k = 0; k < 2; k++)
			pthread_join(th[k], NULL);
		MHD_stop_daemon(d);
		close(lfd);
		if (q != lfd) {
			snprintf(why, why_len, "cycle %u: MHD_quiesce_daemon returned %d", c, q);
			return -1;
		}
	}
	snprintf(why, why_len, "%u pools of 2 epoll workers quiesced under load", cycles);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned n = 4000, rounds = 3, s, m, passed = 0, failed = 0;
	const char *only_mode = NULL, *only_scenario = NULL;
	unsigned quiesce_cycles = 0;
	struct rlimit rl;
	Dl_info info;
	char why[512];
	double t0;
	int opt;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt(argc, argv, "n:r:m:s:q:")) != -1) {
		if (opt == 'n')
			n = (unsigned)strtoul(optarg, NULL, 10);
		else if (opt == 'r')
			rounds = (unsigned)strtoul(optarg, NULL, 10);
		else if (opt == 'm')
			only_mode = optarg;
		else if (opt == 's')
			only_scenario = optarg;
		else if (opt == 'q')
			quiesce_cycles = (unsigned)strtoul(optarg, NULL, 10);
		else {
			fprintf(stderr,
				"usage: %s [-n CONNECTIONS] [-r ROUNDS] [-m MODE] [-s SCENARIO] | -q CYCLES\n",
				argv[0]);
			return 64;
		}
	}
	if (n == 0 || rounds == 0) {
		fprintf(stderr, "%s: -n and -r must be positive\n", argv[0]);
		return 64;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_cur != RLIM_INFINITY && 2 * n + 200 > rl.rlim_cur) {
			n = (unsigned)(rl.rlim_cur - 200) / 2;
			printf("# fd limit %lu: %u connections\n", (unsigned long)rl.rlim_cur, n);
		}
	}
	if (dladdr((void *)MHD_start_daemon, &info) != 0 && info.dli_fname != NULL)
		printf("# libmicrohttpd: %s (%s)\n", info.dli_fname, MHD_get_version());
	if (quiesce_cycles > 0) {
		alarm(600);
		t0 = now_s();
		if (quiesce_race(quiesce_cycles, why, sizeof why) == 0) {
			passed++;
			printf("ok - quiesce-race: %s (%.1f s)\n", why, now_s() - t0);
		} else {
			failed++;
			printf("not ok - quiesce-race: %s (%.1f s)\n", why, now_s() - t0);
		}
		printf("%u passed, %u failed\n", passed, failed);
		return failed ? 1 : 0;
	}
	for (s = 0; s < N_SCENARIOS; s++)
		for (m = 0; m < sizeof modes / sizeof modes[0]; m++) {
			if ((only_mode != NULL && strcmp(only_mode, modes[m].name) != 0) ||
			    (only_scenario != NULL && strcmp(only_scenario, scenario_names[s]) != 0))
				continue;
			/* A case that hangs is killed here, and the missing
			 * summary line counts as a failure. */
			alarm(300);
			t0 = now_s();
			if (run_case((enum scenario)s, &modes[m], n, rounds, why, sizeof why) == 0) {
				passed++;
				printf("ok - %s, %s: %s (%.1f s)\n", scenario_names[s], modes[m].name,
				       why, now_s() - t0);
			} else {
				failed++;
				printf("not ok - %s, %s: %s (%.1f s)\n", scenario_names[s],
				       modes[m].name, why, now_s() - t0);
			}
			fflush(stdout);
		}
	printf("%u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
