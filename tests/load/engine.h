/* engine.h - a small epoll load generator for the load and fault tests.
 *
 * One engine drives n nonblocking client connections to 127.0.0.1:port
 * from one thread.  Each connection is in one mode:
 *
 *   MODE_FETCH    GET /user/<id><query>, read and check the whole answer
 *                 (a 200 with the record for <id>); with `keepalive` it
 *                 sends the next request on the same connection until
 *                 stop_at, else it closes after one answer.
 *   MODE_HOLD     send the request and keep the connection; the test
 *                 closes it (engine_close_all) or the server does.
 *   MODE_PARTIAL  send `partial` (an unfinished request) and wait for the
 *                 server to close the connection; t_end says when.
 *
 * Connections are opened `batch` at a time between polls so the listen
 * backlog never overflows.
 */
#ifndef USERD_LOAD_ENGINE_H
#define USERD_LOAD_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum lmode { MODE_FETCH, MODE_HOLD, MODE_PARTIAL };

enum lstate { ST_IDLE, ST_CONNECTING, ST_READING, ST_DONE };

enum lresult {
	RES_NONE,    /* not finished */
	RES_OK,      /* FETCH: every answer valid; PARTIAL: closed by server */
	RES_STATUS,  /* an answer had another status */
	RES_BODY,    /* a 200 with a wrong or unparsable record */
	RES_CONNECT, /* connect failed */
	RES_IO,      /* a send or recv error (reset), before a full answer */
	RES_EOF,     /* the server closed before a full answer */
	RES_TIMEOUT, /* still unfinished at the engine's deadline */
	RES_CLOSED,  /* closed by the test (MODE_HOLD) */
	RES_COUNT,
};

struct lconn {
	int fd;
	unsigned char mode, state, result;
	unsigned short status;     /* of the last answer */
	uint32_t index;
	uint32_t responses;        /* valid answers */
	uint32_t got;              /* bytes in buf */
	double t_sent, t_end;      /* last request sent; finished */
	char buf[512];
};

struct engine {
	int ep;
	int wake_fd;               /* if >= 0: readable or closed => stop loops */
	unsigned port;
	struct lconn *c;
	size_t n, next_open, batch;
	bool keepalive;
	double stop_at;            /* keep-alive loops end after this */
	double latency_limit;      /* answers slower than this count as late */
	const char *query;         /* appended to /user/<id>, e.g. "?delay=100" */
	const char *partial;       /* MODE_PARTIAL's bytes */
	size_t silent_from;        /* MODE_PARTIAL from this index: send nothing */
	/* results */
	size_t done, sent_all;     /* finished; requests handed to the kernel */
	size_t by_result[RES_COUNT];
	unsigned long responses, late;
	double max_latency, sum_latency;
	char first_error[256];
};

double now_s(void);
void sleep_ms(long ms);

/* Raise this process's soft fd limit to the hard one; returns it. */
long raise_nofile(void);

/* Set up n connections (not yet opened).  Returns 0 or -1. */
int engine_init(struct engine *e, unsigned port, size_t n, enum lmode mode,
		bool keepalive, const char *query);
void engine_free(struct engine *e);

/* Open connections and process events for at most timeout_ms. */
void engine_step(struct engine *e, int timeout_ms);

/* Step until every connection is done, `pred` (if any) holds, or
 * `deadline` passes; unfinished connections are then NOT marked.  Returns
 * true if it ended because of done/pred. */
bool engine_run(struct engine *e, double deadline,
		bool (*pred)(struct engine *e, void *arg), void *arg);

/* Mark every unfinished connection RES_TIMEOUT and close it. */
void engine_expire(struct engine *e);

/* Close every open connection (RES_CLOSED); with `rst`, by a reset
 * (SO_LINGER 0) instead of a FIN. */
void engine_close_all(struct engine *e, bool rst);

/* Close connections [from, to) as engine_close_all does. */
void engine_close_range(struct engine *e, size_t from, size_t to, bool rst);

const char *result_name(enum lresult r);

/* Print a one-line summary of e's results, prefixed by `what`. */
void engine_report(const struct engine *e, const char *what);

/* ---- a background client process -------------------------------------- */

struct bg_stats {
	unsigned long responses, late, bad;
	double max_latency;
	size_t conns_ok;
	char first_error[256];
};

struct bg {
	pid_t pid;
	int stop_fd;   /* write end: closing it stops the loops */
	int stats_fd;  /* read end of the child's results */
};

/* Fork a process running n keep-alive FETCH loops with `query`; answers
 * slower than latency_limit count as late.  Returns 0 or -1. */
int bg_start(struct bg *b, unsigned port, size_t n, const char *query,
	     double latency_limit);

/* Stop the loops, wait up to timeout_s for the results.  Returns 0 or -1. */
int bg_stop(struct bg *b, struct bg_stats *out, double timeout_s);

/* ---- the daemon from the outside --------------------------------------- */

long proc_fds(pid_t pid);      /* open fds, -1 on error */
long proc_rss_kb(pid_t pid);   /* VmRSS, -1 on error */

/* One request on a fresh blocking connection (Connection: close):
 * status, and the body into body (NUL-terminated).  -1 on failure. */
int http_get(unsigned port, const char *path, char *body, size_t len,
	     double timeout_s);

/* The value of metric line `name` (exact, labels included) in a
 * Prometheus text `body`; -1 if absent. */
double metric_value(const char *body, const char *name);

/* Fetch /metrics and return metric `name`, or -1. */
double get_metric(unsigned port, const char *name);

/* Check a record: {"user_id": id, "name": "User<id>", "age": 20..40}. */
bool valid_record(const char *body, size_t len, uint64_t id);

/* Connect to 127.0.0.1:port (blocking, with a timeout).  Returns the fd,
 * or -1 with errno set (ECONNREFUSED when nothing listens). */
int tcp_connect(unsigned port, double timeout_s);

#endif
