/* loadtest.c - load and fault tests against the real userd binary.
 *
 *   loadtest list        the test names
 *   loadtest NAME        run one test; prints PASS/FAIL, exit status 0/1
 *   loadtest openloop PORT RATE COUNT [SEED]
 *                        the open-loop generator alone, against a userd
 *                        on 127.0.0.1:PORT: COUNT Poisson arrivals at
 *                        RATE per second; prints statuses and times
 *
 * Each test starts its own userd on 127.0.0.1 --port 0 ($USERD_BIN or
 * src/userd), drives it with the epoll engine (engine.c) or raw sockets,
 * asserts, and stops it.  Time limits are wide: they catch hangs and
 * stalls, not a slow machine.  Environment:
 *
 *   LOAD_CONNS      connections of the "many" test (default 10000)
 *   SOAK_SECONDS    length of the soak (default 60)
 *   LOAD_VERBOSE    1: print the daemon's log after every test
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../daemon.h"
#include "engine.h"
#include "openloop.h"

static char fail_reason[1024];

#define REQUIRE(cond, ...)                                                   \
	do {                                                                 \
		if (!(cond)) {                                               \
			snprintf(fail_reason, sizeof(fail_reason), __VA_ARGS__); \
			printf("  check failed (line %d): %s\n", __LINE__,   \
			       fail_reason);                                 \
			fflush(stdout);                                      \
			goto out;                                            \
		}                                                            \
	} while (0)

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	va_list ap;

	printf("  ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static long env_long(const char *name, long def)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? strtol(v, NULL, 10) : def;
}

/* ---- daemon helpers ---------------------------------------------------- */

static struct daemon d;

static void print_log_tail(const struct daemon *dm, int lines)
{
	char cmd[160];

	if (dm->log_path[0] == '\0')
		return;
	printf("  --- last %d lines of userd's stderr ---\n", lines);
	fflush(stdout);
	snprintf(cmd, sizeof(cmd), "tail -n %d %s | sed 's/^/  | /'", lines, dm->log_path);
	if (system(cmd) != 0)
		printf("  (could not read the log)\n");
	fflush(stdout);
}

static void stop_daemon(bool failed)
{
	if (failed || env_long("LOAD_VERBOSE", 0) != 0)
		print_log_tail(&d, failed ? 30 : 200);
	daemon_cleanup(&d);
}

/* The end every scenario shares: free its load engine (when it has one
 * running), stop its background clients (when it started them) and the
 * daemon, with the daemon's log when the scenario failed.  Returns rc. */
static int scenario_end(int rc, struct engine *e, struct bg *b)
{
	struct bg_stats s;

	if (e != NULL && e->c != NULL)
		engine_free(e);
	if (b != NULL && b->pid > 0)
		bg_stop(b, &s, 5);
	stop_daemon(rc != 0);
	return rc;
}

/* Stop the background clients started at `since` and judge them: every
 * answer right and in time, and at least `min_answers` of them.  Says
 * what they got; false (with the reason said) when they were harmed. */
static bool normal_clients_unharmed(struct bg *b, double since, size_t min_answers)
{
	struct bg_stats s;

	if (bg_stop(b, &s, 10) != 0) {
		snprintf(fail_reason, sizeof(fail_reason), "normal clients did not report");
		printf("  check failed: %s\n", fail_reason);
		fflush(stdout);
		return false;
	}
	say("normal clients: %lu answers in %.1f s, max latency %.3f s, %lu late, %lu bad%s%s",
	    s.responses, now_s() - since, s.max_latency, s.late, s.bad,
	    s.first_error[0] ? "; first problem: " : "", s.first_error);
	if (s.bad != 0 || s.late != 0)
		snprintf(fail_reason, sizeof(fail_reason),
			 "normal clients were affected: %lu bad, %lu late (%s)", s.bad, s.late,
			 s.first_error);
	else if (s.responses < min_answers)
		snprintf(fail_reason, sizeof(fail_reason), "normal clients got only %lu answers",
			 s.responses);
	else
		return true;
	printf("  check failed: %s\n", fail_reason);
	fflush(stdout);
	return false;
	return true;
}

static bool alive(struct daemon *dm)
{
	int status;

	if (dm->pid <= 0)
		return false;
	if (waitpid(dm->pid, &status, WNOHANG) == dm->pid) {
		printf("  userd exited: %s %d\n",
		       WIFSIGNALED(status) ? "signal" : "status",
		       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		dm->pid = 0;
		return false;
	}
	return true;
}

/* Wait (up to timeout_s) until userd holds at most `conns` connections
 * besides our /metrics one, and no more requests in flight than those. */
static bool wait_quiet(unsigned port, double conns, double timeout_s)
{
	double until = now_s() + timeout_s;
	static char body[1 << 16];

	while (now_s() < until) {
		if (http_get(port, "/metrics", body, sizeof(body), 5.0) == 200 &&
		    metric_value(body, "userd_connections") <= conns + 1 &&
		    metric_value(body, "userd_requests_in_flight") <= conns + 1)
			return true;
		sleep_ms(100);
	}
	say("still open: %.0f connections, %.0f requests in flight, %.0f waiting",
	    metric_value(body, "userd_connections"),
	    metric_value(body, "userd_requests_in_flight"),
	    metric_value(body, "userd_requests_waiting"));
	return false;
}

/* A fresh request is answered with a valid record within timeout_s. */
static bool serves(unsigned port, double timeout_s)
{
	char body[512];

	return http_get(port, "/user/5?delay=0", body, sizeof(body), timeout_s) == 200 &&
	       valid_record(body, strlen(body), 5);
}

/* Warm up: n one-shot requests (allocator arenas, thread stacks), then
 * wait until the daemon is idle again. */
static bool warm_up(unsigned port, size_t n)
{
	struct engine e;
	bool ok;

	if (engine_init(&e, port, n, MODE_FETCH, false, "?delay=10") != 0)
		return false;
	engine_run(&e, now_s() + 30, NULL, NULL);
	ok = e.by_result[RES_OK] == n;
	if (!ok)
		engine_report(&e, "warm-up");
	engine_free(&e);
	return ok && wait_quiet(port, 0, 20);
}

/* Poll until metric `name` >= want; returns the last value seen. */
static double wait_metric_at_least(unsigned port, const char *name, double want,
				   double timeout_s, struct engine *e)
{
	double until = now_s() + timeout_s, v = -1;

	while (now_s() < until) {
		v = get_metric(port, name);
		if (v >= want)
			break;
		if (e != NULL)
			engine_step(e, 100);
		else
			sleep_ms(100);
	}
	return v;
}

struct rss_probe {
	pid_t pid;
	double next;
	long peak_kb;
};

static bool probe_rss(struct engine *e, void *arg)
{
	struct rss_probe *p = arg;

	(void)e;
	if (now_s() >= p->next) {
		long kb = proc_rss_kb(p->pid);

		p->peak_kb = kb > p->peak_kb ? kb : p->peak_kb;
		p->next = now_s() + 0.1;
	}
	return false;
}

/* Run the daemons of the memory tests with one malloc arena: with one per
 * thread (glibc's default) RSS after identical rounds of 10,000 requests
 * wanders by +-20 MB as the arenas trade memory, which hides any leak;
 * with one it is flat to a few kB.  A leak in userd shows either way.
 * An arena setting given in the environment wins. */
static void steady_allocator(void)
{
	setenv("MALLOC_ARENA_MAX", "1", 0);
}

/* After `rounds` rounds of `n` requests: every connection's fd closed
 * again (the baseline, give or take a racing /metrics connection), and no
 * memory growth past round 1.  glibc keeps what the waiting requests used
 * (it does not return it to the system), so RSS stays near its peak after
 * the first round: at most 8 kB per request.  Later rounds reuse that
 * memory: RSS must not grow by more than 1 MB over them (a leak of 50 bytes
 * per request grows it by 1 MB over 20,000 requests).  Returns 0, or -1
 * with fail_reason set. */
static int check_no_leak(long fd0, const long *fd_after, long rss0,
			 const long *rss_after, int rounds, long n)
{
	for (int i = 0; i < rounds; i++)
		REQUIRE(labs(fd_after[i] - fd0) <= 2, "%ld fds after round %d, baseline %ld",
			fd_after[i], i + 1, fd0);
	REQUIRE(rss_after[0] <= rss0 + n * 8,
		"RSS after round 1 is %ld kB, baseline %ld kB (allowed + 8 kB per request)",
		rss_after[0], rss0);
	REQUIRE(rss_after[rounds - 1] <= rss_after[0] + 1024,
		"RSS grew from %ld kB after round 1 to %ld kB after round %d "
		"(allowed + 1024 kB): a leak", rss_after[0], rss_after[rounds - 1], rounds);
	return 0;
out:
	return -1;
}

/* ---- 1. many concurrent delayed requests ------------------------------ */

static int t_many(void)
{
	const char *args[] = {"--access-log", "off", "--delay-min", "1000",
			      "--delay-max", "3000", NULL};
	size_t n = (size_t)env_long("LOAD_CONNS", 10000);
	int rounds = (int)env_long("LOAD_ROUNDS", 3);
	long fd0, rss0, fd_after[16] = {0}, rss_after[16] = {0};
	struct engine e = {.c = NULL};
	int rc = 1;

	rounds = rounds < 2 ? 2 : rounds > 16 ? 16 : rounds;
	REQUIRE(raise_nofile() >= (long)n + 100,
		"this process may open only %ld fds, %zu connections need more "
		"(raise the hard limit: ulimit -Hn)", raise_nofile(), n);
	steady_allocator();
	REQUIRE(daemon_start(&d, args) == 0, "userd did not start");
	REQUIRE(warm_up(d.port, 200), "warm-up failed");
	fd0 = proc_fds(d.pid);
	rss0 = proc_rss_kb(d.pid);
	say("baseline after warm-up: %ld fds, RSS %ld kB", fd0, rss0);

	for (int round = 0; round < rounds; round++) {
		struct rss_probe p = {.pid = d.pid};
		double t0 = now_s();
		double waiting;

		REQUIRE(engine_init(&e, d.port, n, MODE_FETCH, false, NULL) == 0, "engine");
		e.latency_limit = 3.0 + 10.0; /* the longest delay, plus a wide margin */
		/* Everything sent and waiting at once: that is the point. */
		while (e.sent_all < n && now_s() < t0 + 30)
			engine_step(&e, 20);
		REQUIRE(e.sent_all == n, "only %zu of %zu requests sent in 30 s", e.sent_all, n);
		waiting = get_metric(d.port, "userd_requests_waiting");
		say("round %d: %zu requests sent in %.2f s; %.0f waiting, %zu answered so far",
		    round + 1, n, now_s() - t0, waiting, e.done);
		engine_run(&e, t0 + 60, probe_rss, &p);
		engine_expire(&e);
		engine_report(&e, "clients");
		REQUIRE(e.by_result[RES_OK] == n, "%zu of %zu requests got a valid 200 (%s)",
			e.by_result[RES_OK], n, e.first_error);
		REQUIRE(e.late == 0, "%lu answers later than %.0f s", e.late, e.latency_limit);
		engine_free(&e);
		REQUIRE(alive(&d), "userd died");
		REQUIRE(wait_quiet(d.port, 0, 20), "connections still open 20 s after the round");
		fd_after[round] = proc_fds(d.pid);
		rss_after[round] = proc_rss_kb(d.pid);
		say("round %d done in %.2f s: peak RSS %ld kB (%.2f kB per waiting request); "
		    "after: %ld fds, RSS %ld kB",
		    round + 1, now_s() - t0, p.peak_kb,
		    (double)(p.peak_kb - rss0) / (double)n, fd_after[round], rss_after[round]);
	}
	if (check_no_leak(fd0, fd_after, rss0, rss_after, rounds, (long)n) != 0)
		goto out;
	rc = 0;
out:
	return scenario_end(rc, &e, NULL);
}

/* ---- 2. clients that go away while their request waits ----------------- */

static int t_disconnect(void)
{
	const char *args[] = {"--access-log", "off", "--delay-min", "1500",
			      "--delay-max", "2500", NULL};
	const size_t n = 5000, nbg = 20;
	const int rounds = 3;
	long fd0, rss0, fd_after[3] = {0, 0, 0}, rss_after[3] = {0, 0, 0};
	struct engine e = {.c = NULL};
	struct bg b = {.pid = 0};
	double bg_started;
	int rc = 1;

	steady_allocator();
	REQUIRE(daemon_start(&d, args) == 0, "userd did not start");
	REQUIRE(warm_up(d.port, 200), "warm-up failed");
	/* Normal clients all along: keep-alive loops on 100 ms requests. */
	REQUIRE(bg_start(&b, d.port, nbg, "?delay=100", 0.1 + 2.0) == 0, "bg_start");
	bg_started = now_s();
	REQUIRE(wait_metric_at_least(d.port, "userd_connections", (double)nbg + 1, 10, NULL)
		>= (double)nbg + 1, "the normal clients did not connect");
	sleep_ms(500);
	fd0 = proc_fds(d.pid);
	rss0 = proc_rss_kb(d.pid);
	say("baseline with %zu normal clients: %ld fds, RSS %ld kB", nbg, fd0, rss0);

	for (int round = 0; round < rounds; round++) {
		double t0 = now_s(), waiting, disc, want = (double)n * (round + 1);

		REQUIRE(engine_init(&e, d.port, n, MODE_HOLD, false, NULL) == 0, "engine");
		while (e.sent_all < n && now_s() < t0 + 30)
			engine_step(&e, 20);
		REQUIRE(e.sent_all == n, "only %zu of %zu requests sent", e.sent_all, n);
		waiting = wait_metric_at_least(d.port, "userd_requests_waiting", (double)n,
					       10, &e);
		REQUIRE(waiting >= (double)n, "only %.0f requests waiting", waiting);
		REQUIRE(e.done == 0, "%zu connections ended early (%s)", e.done, e.first_error);
		/* Half go away with a FIN, half with a reset. */
		engine_close_range(&e, 0, n / 2, false);
		engine_close_range(&e, n / 2, n, true);
		engine_free(&e);
		say("round %d: %zu requests waiting after %.2f s; all %zu clients closed "
		    "(half FIN, half RST)", round + 1, n, now_s() - t0, n);
		/* Their deadlines pass within 2.5 s; then each is counted. */
		disc = wait_metric_at_least(d.port, "userd_client_disconnects_total", want,
					    20, NULL);
		say("round %d: userd_client_disconnects_total %.0f after %.2f s", round + 1,
		    disc, now_s() - t0);
		REQUIRE(disc >= want, "userd_client_disconnects_total is %.0f, want >= %.0f",
			disc, want);
		REQUIRE(alive(&d), "userd died");
		REQUIRE(wait_quiet(d.port, (double)nbg, 20),
			"abandoned connections still open 20 s later");
		fd_after[round] = proc_fds(d.pid);
		rss_after[round] = proc_rss_kb(d.pid);
		say("round %d: %ld fds, RSS %ld kB", round + 1, fd_after[round], rss_after[round]);
	}
	if (!normal_clients_unharmed(&b, bg_started, nbg * 10))
		goto out;
	if (check_no_leak(fd0, fd_after, rss0, rss_after, rounds, (long)n) != 0)
		goto out;
	rc = 0;
out:
	return scenario_end(rc, &e, &b);
}

/* ---- 3. SIGTERM under load --------------------------------------------- */

static int t_sigterm(void)
{
	const char *args[] = {"--access-log", "off", "--delay-min", "1000",
			      "--delay-max", "3000", "--drain-timeout", "10", NULL};
	const size_t n = 2000;
	struct engine e = {.c = NULL};
	double t0, t_sig, t_refused = 0, waiting, next_try;
	int attempts_after = 0, accepted_after = 0, status;
	int rc = 1;

	REQUIRE(daemon_start(&d, args) == 0, "userd did not start");
	REQUIRE(engine_init(&e, d.port, n, MODE_FETCH, false, NULL) == 0, "engine");
	t0 = now_s();
	while (e.sent_all < n && now_s() < t0 + 30)
		engine_step(&e, 20);
	REQUIRE(e.sent_all == n, "only %zu of %zu requests sent", e.sent_all, n);
	waiting = wait_metric_at_least(d.port, "userd_requests_waiting", (double)n, 10, &e);
	REQUIRE(waiting >= (double)n, "only %.0f requests waiting", waiting);
	REQUIRE(e.done == 0, "%zu requests finished before the signal", e.done);
	say("%zu requests waiting after %.2f s; sending SIGTERM", n, now_s() - t0);

	t_sig = now_s();
	REQUIRE(daemon_signal(&d, SIGTERM) == 0, "kill");
	/* New connections: refused once the listener is closed (within 2 s),
	 * and from then on, every 100 ms until the drain ends. */
	next_try = now_s();
	while (e.done < n && now_s() < t_sig + 15) {
		engine_step(&e, 20);
		if (now_s() >= next_try) {
			int fd = tcp_connect(d.port, 1.0);
			int err = errno;

			next_try = now_s() + 0.1;
			if (fd >= 0) {
				close(fd);
				if (t_refused > 0)
					accepted_after++;
			} else {
				REQUIRE(err == ECONNREFUSED, "connect after SIGTERM: %s",
					strerror(err));
				if (t_refused == 0)
					t_refused = now_s();
				else
					attempts_after++;
			}
			REQUIRE(t_refused > 0 || now_s() < t_sig + 2,
				"still accepting connections 2 s after SIGTERM");
		}
	}
	engine_expire(&e);
	engine_report(&e, "clients");
	say("listener refused connections %.3f s after SIGTERM; %d later attempts, "
	    "%d accepted", t_refused - t_sig, attempts_after, accepted_after);
	REQUIRE(t_refused > 0, "new connections were never refused");
	REQUIRE(accepted_after == 0, "%d connections accepted after the first refusal",
		accepted_after);
	REQUIRE(e.by_result[RES_OK] == n, "%zu of %zu accepted requests got a valid 200 (%s)",
		e.by_result[RES_OK], n, e.first_error);
	status = daemon_wait(&d, t_sig + 10 + 3 - now_s());
	say("userd exited %.2f s after SIGTERM (drain timeout 10 s)", now_s() - t_sig);
	REQUIRE(status != -1, "userd still running 13 s after SIGTERM");
	REQUIRE(WIFEXITED(status) && WEXITSTATUS(status) == 0, "userd exit: status 0x%x",
		status);
	REQUIRE(now_s() - t_sig < 10, "the drain took the whole drain timeout");
	REQUIRE(daemon_log_contains(&d, "drained in"), "no 'drained in' in the log");
	rc = 0;
out:
	return scenario_end(rc, &e, NULL);
}

/* ---- 4. out of file descriptors ---------------------------------------- */

struct fd_probe {
	pid_t pid;
	long peak;
};

static bool probe_fds(struct engine *e, void *arg)
{
	struct fd_probe *p = arg;
	long n = proc_fds(p->pid);

	(void)e;
	p->peak = n > p->peak ? n : p->peak;
	return false;
}

/* Run userd under prlimit --nofile=256:256 and send 600 clients at once,
 * each on its own connection, each waiting 1 s.
 *
 * `max_conns` NULL: userd sizes its connection limit from the fd limit
 * (256 - 40 = 216).  userd's acceptor then stops accepting at the limit
 * and the rest wait in the listen backlog: every client is served, in
 * waves, fds never run out, and nothing is logged.
 *
 * `max_conns` "1000": more than the fds allow, so accept() fails with
 * EMFILE; the acceptor logs "out of file descriptors ..." once and
 * retries as connections close: again every client is served. */
static int fdlimit(const char *max_conns)
{
	const char *bin = daemon_binary();
	static char store[20][256];
	char *argv[20];
	int argc = 0;
	const size_t n = 600;
	struct engine e = {.c = NULL};
	struct fd_probe p = {.peak = 0};
	double t0;
	int status;
	int rc = 1;
	const char *words[] = {"/usr/bin/prlimit", "--nofile=256:256", bin, "--bind",
			       "127.0.0.1", "--port", "0", "--access-log", "off",
			       "--delay", "fixed:1000", "--max-connections", max_conns};
	size_t nwords = sizeof(words) / sizeof(words[0]) - (max_conns == NULL ? 2 : 0);

	for (size_t i = 0; i < nwords; i++) {
		snprintf(store[argc], sizeof(store[argc]), "%s", words[i]);
		argv[argc] = store[argc];
		argc++;
	}
	argv[argc] = NULL;
	REQUIRE(daemon_spawn(&d, argv) == 0 && daemon_wait_listening(&d) == 0,
		"userd did not start under prlimit");
	REQUIRE(serves(d.port, 5), "no answer before the flood");

	REQUIRE(engine_init(&e, d.port, n, MODE_FETCH, false, NULL) == 0, "engine");
	e.batch = n; /* all at once: the backlog holds them */
	p.pid = d.pid;
	t0 = now_s();
	engine_run(&e, t0 + 40, probe_fds, &p);
	engine_expire(&e);
	engine_report(&e, "clients");
	say("%zu of %zu clients served in %.2f s; userd's fds peaked at %ld of 256",
	    e.by_result[RES_OK], n, now_s() - t0, p.peak);
	REQUIRE(alive(&d), "userd died");
	REQUIRE(e.by_result[RES_OK] == n, "%zu of %zu clients served (%s)",
		e.by_result[RES_OK], n, e.first_error);
	/* 1 s each, at most ~216 at a time: at least three waves. */
	REQUIRE(now_s() - t0 >= 2.0, "600 clients served in %.2f s: no limit was hit",
		now_s() - t0);
	if (max_conns == NULL) {
		REQUIRE(p.peak < 256, "fds ran out (%ld) despite the connection limit", p.peak);
		REQUIRE(daemon_log_lacks(&d, "out of file descriptors"),
			"EMFILE although the connection limit fits the fds");
	} else {
		REQUIRE(daemon_log_contains(&d, "exceeds what the open-file limit"),
			"no start-up warning about --max-connections");
		REQUIRE(daemon_log_contains(&d, "out of file descriptors"),
			"the log does not report running out of fds");
	}
	engine_free(&e);
	e.c = NULL;
	/* Once the clients are gone it serves normally. */
	REQUIRE(wait_quiet(d.port, 0, 20), "connections still open 20 s later");
	REQUIRE(serves(d.port, 5), "no valid answer after the flood");
	REQUIRE(proc_fds(d.pid) < 64, "%ld fds open after the flood", proc_fds(d.pid));
	/* And it still shuts down cleanly. */
	REQUIRE(daemon_signal(&d, SIGTERM) == 0, "kill");
	status = daemon_wait(&d, 10);
	REQUIRE(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
		"exit after SIGTERM: 0x%x", status);
	rc = 0;
out:
	return scenario_end(rc, &e, NULL);
}

static int t_fdlimit(void)
{
	return fdlimit(NULL);
}

static int t_emfile(void)
{
	return fdlimit("1000");
}

/* ---- 5. slowloris ------------------------------------------------------ */

static int t_slowloris(void)
{
	const char *args[] = {"--access-log", "off", "--timeout", "2", NULL};
	const size_t n_partial = 1000, n = n_partial + 200, nbg = 10;
	struct engine e = {.c = NULL};
	struct bg b = {.pid = 0};
	double t0, bg_started, min_life = 1e9, max_life = 0;
	size_t early = 0, late = 0;
	int rc = 1;

	REQUIRE(daemon_start(&d, args) == 0, "userd did not start");
	REQUIRE(bg_start(&b, d.port, nbg, "?delay=50", 0.05 + 2.0) == 0, "bg_start");
	bg_started = now_s();
	/* 1,000 send most of a request's head and stall; 200 more send
	 * nothing at all. */
	REQUIRE(engine_init(&e, d.port, n, MODE_PARTIAL, false, NULL) == 0, "engine");
	e.silent_from = n_partial;
	t0 = now_s();
	while (e.sent_all < n && now_s() < t0 + 30)
		engine_step(&e, 20);
	REQUIRE(e.sent_all == n, "only %zu of %zu partial requests sent", e.sent_all, n);
	say("%zu partial requests sent and %zu silent connections opened in %.2f s",
	    n_partial, n - n_partial, now_s() - t0);
	engine_run(&e, t0 + 20, NULL, NULL);
	engine_expire(&e);
	engine_report(&e, "slow clients");
	for (size_t i = 0; i < n; i++) {
		const struct lconn *c = &e.c[i];
		double life = c->t_end - c->t_sent;

		if (c->result != RES_OK)
			continue;
		min_life = life < min_life ? life : min_life;
		max_life = life > max_life ? life : max_life;
		early += life < 1.0;
		late += life > 6.0;
	}
	say("server closed them %.2f..%.2f s after their last byte (--timeout 2)",
	    min_life, max_life);
	REQUIRE(e.by_result[RES_OK] == n, "%zu of %zu stalled connections closed by the server",
		e.by_result[RES_OK], n);
	REQUIRE(early == 0 && late == 0, "%zu closed before 1 s, %zu after 6 s", early, late);
	REQUIRE(alive(&d), "userd died");
	if (!normal_clients_unharmed(&b, bg_started, nbg * 20))
		goto out;
	REQUIRE(wait_quiet(d.port, 0, 10), "connections still open");
	rc = 0;
out:
	return scenario_end(rc, &e, &b);
}

/* ---- 6. hostile requests ------------------------------------------------ */

struct answer {
	int status;
	const char *head; /* status line and headers, in raw.buf */
	size_t head_len;
	const char *body;
	size_t body_len;
};

struct raw {
	char buf[1 << 16];
	size_t got;
	bool closed; /* EOF or reset seen */
	bool reset;
	int n;       /* complete answers parsed */
	struct answer a[8];
};

/* Parse the complete answers in r->buf. */
static void parse_answers(struct raw *r)
{
	size_t off = 0;

	r->n = 0;
	r->buf[r->got] = '\0';
	while (r->n < 8 && off < r->got) {
		const char *start = r->buf + off;
		const char *end = memmem(start, r->got - off, "\r\n\r\n", 4);
		struct answer *a = &r->a[r->n];
		const char *p;
		long clen = 0;

		if (end == NULL || strncmp(start, "HTTP/1.", 7) != 0)
			return;
		a->status = atoi(start + 9);
		a->head = start;
		a->head_len = (size_t)(end - start) + 4;
		for (p = start; p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++) {
			if (strncasecmp(p + 1, "Content-Length:", 15) == 0)
				clen = strtol(p + 16, NULL, 10);
		}
		if (a->status >= 100 && a->status < 200)
			clen = 0;
		if (off + a->head_len + (size_t)clen > r->got)
			return;
		a->body = start + a->head_len;
		a->body_len = (size_t)clen;
		off += a->head_len + (size_t)clen;
		r->n++;
	}
}

static bool has_header(const struct answer *a, const char *line)
{
	char *h = strndup(a->head, a->head_len);
	bool found = h != NULL && strcasestr(h, line) != NULL;

	free(h);
	return found;
}

/* Send `len` bytes on fd (nonblocking) while reading, until `want`
 * answers are complete, the server closes, or timeout_s passes; with
 * `linger`, wait that long more for a close after the answers. */
static void exchange(int fd, const void *data, size_t len, struct raw *r, int want,
		     double timeout_s, double linger)
{
	double until = now_s() + timeout_s, close_by = 0;
	size_t sent = 0;

	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	while (!r->closed) {
		struct pollfd p = {.fd = fd, .events = POLLIN | (sent < len ? POLLOUT : 0)};
		double left = (close_by > 0 ? close_by : until) - now_s();

		if (left <= 0)
			break;
		if (poll(&p, 1, (int)(left * 1000) + 1) <= 0)
			continue;
		if ((p.revents & POLLOUT) && sent < len) {
			ssize_t w = send(fd, (const char *)data + sent, len - sent, MSG_NOSIGNAL);

			if (w > 0)
				sent += (size_t)w;
			else if (w < 0 && errno != EAGAIN)
				sent = len; /* the server stopped reading: read what it said */
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t got = recv(fd, r->buf + r->got, sizeof(r->buf) - 1 - r->got, 0);

			if (got > 0) {
				r->got += (size_t)got;
				parse_answers(r);
				if (r->n >= want && close_by == 0) {
					if (linger <= 0)
						break;
					close_by = now_s() + linger;
				}
			} else if (got == 0 || errno != EAGAIN) {
				r->closed = true;
				r->reset = got < 0;
			}
		}
	}
	parse_answers(r);
}

/* How long raw_case waits for its answers. */
static double raw_timeout = 10.0;

/* One connection, one exchange; returns the connected fd for more, or
 * closes it when keep is false. */
static int raw_case(unsigned port, const void *data, size_t len, struct raw *r, int want,
		    double linger, bool keep)
{
	int fd = tcp_connect(port, 5.0);

	memset(r, 0, sizeof(*r));
	if (fd < 0)
		return -1;
	exchange(fd, data, len, r, want, raw_timeout, linger);
	if (!keep) {
		close(fd);
		return -2;
	}
	return fd;
}

static const char *describe(const struct raw *r)
{
	static char text[256];
	size_t len = 0;

	for (int i = 0; i < r->n; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%s%d",
					i ? "," : "answers ", r->a[i].status);
	if (r->n == 0)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "no answer");
	snprintf(text + len, sizeof(text) - len, "%s", r->closed
		 ? (r->reset ? ", then reset" : ", then closed") : ", open");
	return text;
}

static char *repeat(const char *head, char ch, size_t n, const char *tail, size_t *len)
{
	size_t hl = strlen(head), tl = strlen(tail);
	char *s = malloc(hl + n + tl + 1);

	memcpy(s, head, hl);
	memset(s + hl, ch, n);
	memcpy(s + hl + n, tail, tl + 1);
	*len = hl + n + tl;
	return s;
}

/* The daemon is alive and serving after a case. */
#define STILL_ALIVE(what)                                                    \
	REQUIRE(alive(&d) && serves(d.port, 5), "userd not serving after: %s", what)

static bool is_user(const struct answer *a, uint64_t id)
{
	return a->status == 200 && valid_record(a->body, a->body_len, id);
}

static int t_hostile(void)
{
	const char *args[] = {"--access-log", "off", "--delay", "fixed:0", NULL};
	static struct raw r;
	char *big = NULL;
	size_t len;
	int fd = -1;
	int rc = 1;

	REQUIRE(daemon_start(&d, args) == 0, "userd did not start");

	/* A 100 KB URL: 414 URI Too Long. */
	big = repeat("GET /user/1?pad=", 'a', 100 * 1024, " HTTP/1.1\r\nHost: x\r\n\r\n", &len);
	raw_case(d.port, big, len, &r, 1, 2.0, false);
	say("100 KB URL: %s", describe(&r));
	REQUIRE(r.n == 1 && r.a[0].status == 414 && r.closed, "100 KB URL: %s", describe(&r));
	free(big);
	big = NULL;
	STILL_ALIVE("100 KB URL");

	/* 100 KB of headers, many lines: 431. */
	{
		size_t cap = 110 * 1024, off = 0;

		big = malloc(cap);
		off += (size_t)snprintf(big, cap, "GET /user/1 HTTP/1.1\r\nHost: x\r\n");
		for (int i = 0; off < 100 * 1024; i++)
			off += (size_t)snprintf(big + off, cap - off,
						"X-Pad-%d: %080d\r\n", i, i);
		off += (size_t)snprintf(big + off, cap - off, "\r\n");
		raw_case(d.port, big, off, &r, 1, 2.0, false);
		free(big);
		big = NULL;
	}
	say("100 KB of headers: %s", describe(&r));
	REQUIRE(r.n == 1 && (r.a[0].status == 431 || r.a[0].status == 400) && r.closed,
		"100 KB of headers: %s", describe(&r));
	STILL_ALIVE("100 KB of headers");

	/* One header line of 100 KB. */
	big = repeat("GET /user/1 HTTP/1.1\r\nHost: x\r\nX-Big: ", 'b', 100 * 1024, "\r\n\r\n",
		     &len);
	raw_case(d.port, big, len, &r, 1, 2.0, false);
	free(big);
	big = NULL;
	say("one 100 KB header: %s", describe(&r));
	REQUIRE(r.n == 1 && (r.a[0].status == 431 || r.a[0].status == 400) && r.closed,
		"one 100 KB header: %s", describe(&r));
	STILL_ALIVE("one 100 KB header");

	/* Malformed request lines: 400, or the connection closed. */
	{
		static const char *const bad[] = {
			"GARBAGE\r\n\r\n",
			"GET\r\n\r\n",
			"GET /user/1\r\nHost: x\r\n\r\n",
			" /user/1 HTTP/1.1\r\nHost: x\r\n\r\n",
			"GET /user/1 HTTP/1.1 extra\r\nHost: x\r\n\r\n",
			"\x01\x02\x03\xff\r\n\r\n",
			"GET /user/1 HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n",
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			raw_case(d.port, bad[i], strlen(bad[i]), &r, 1, 2.0, false);
			say("malformed #%zu: %s", i, describe(&r));
			REQUIRE((r.n >= 1 && r.a[0].status == 400) || (r.n == 0 && r.closed),
				"malformed request #%zu: %s", i, describe(&r));
			REQUIRE(r.closed, "malformed request #%zu: connection left open", i);
			STILL_ALIVE("a malformed request line");
		}
	}

	/* What RFC 9112 says a server MUST reject (3.2: Host; 6.3: message
	 * body length): 400 with the JSON error body, and the connection
	 * closed where the framing is in doubt.  A request the server cannot
	 * frame must never be served or left hanging until --timeout. */
	{
		static const struct {
			const char *what;
			const char *req;
			int status;
			bool closes;
			bool own_page; /* libmicrohttpd answers before userd sees it */
		} must_reject[] = {
			{"HTTP/1.1 without Host", "GET /user/1 HTTP/1.1\r\n\r\n", 400, false, false},
			{"two Host lines", "GET /user/1 HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
			 400, false, false},
			{"two identical Host lines",
			 "GET /user/1 HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400, false, false},
			{"conflicting Content-Length",
			 "GET /user/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
			 "Content-Length: 2\r\n\r\nab", 400, true, false},
			{"Content-Length not a number",
			 "GET /user/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\nab",
			 400, true, true},
			{"Content-Length and Transfer-Encoding (smuggling)",
			 "GET /user/15 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
			 "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
			 "GET /user/16 HTTP/1.1\r\nHost: x\r\n\r\n", 400, true, false},
			{"gzip, then chunked: a coding userd does not decode",
			 "GET /user/1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n"
			 "\r\n0\r\n\r\n", 501, true, false},
			{"Transfer-Encoding gzip",
			 "GET /user/1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
			 400, true, false},
			{"Transfer-Encoding chunked, gzip",
			 "GET /user/1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n"
			 "\r\n0\r\n\r\n", 400, true, false},
			{"Transfer-Encoding chunked twice, last not chunked",
			 "GET /user/1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
			 "Transfer-Encoding: gzip\r\n\r\n0\r\n\r\n", 400, true, false},
		};
		static const char ok_chunked[] =
			"GET /user/1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
			"3\r\nabc\r\n0\r\n\r\n";
		static const char ok_http10[] = "GET /user/1 HTTP/1.0\r\n\r\n";
		static const char ok_same_length[] =
			"GET /user/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
			"Content-Length: 2\r\n\r\nab";

		for (size_t i = 0; i < sizeof(must_reject) / sizeof(must_reject[0]); i++) {
			raw_case(d.port, must_reject[i].req, strlen(must_reject[i].req), &r, 1,
				 must_reject[i].closes ? 2.0 : 0, false);
			say("%s: %s", must_reject[i].what, describe(&r));
			REQUIRE(r.n == 1 && r.a[0].status == must_reject[i].status &&
				(must_reject[i].own_page ||
				 memmem(r.a[0].body, r.a[0].body_len, "\"error\"", 7) != NULL),
				"%s: %s, want %d with a JSON error", must_reject[i].what,
				describe(&r), must_reject[i].status);
			REQUIRE(!must_reject[i].closes || r.closed,
				"%s: connection left open", must_reject[i].what);
			STILL_ALIVE(must_reject[i].what);
		}
		/* What the rules allow stays served. */
		raw_case(d.port, ok_chunked, strlen(ok_chunked), &r, 1, 0, false);
		say("chunked body: %s", describe(&r));
		REQUIRE(r.n == 1 && is_user(&r.a[0], 1), "chunked body: %s", describe(&r));
		raw_case(d.port, ok_http10, strlen(ok_http10), &r, 1, 0, false);
		say("HTTP/1.0 without Host: %s", describe(&r));
		REQUIRE(r.n == 1 && is_user(&r.a[0], 1), "HTTP/1.0 without Host: %s",
			describe(&r));
		raw_case(d.port, ok_same_length, strlen(ok_same_length), &r, 1, 0, false);
		say("the same Content-Length twice: %s", describe(&r));
		REQUIRE(r.n == 1 && is_user(&r.a[0], 1), "same Content-Length twice: %s",
			describe(&r));
	}

	/* Versions: HTTP/1.x with x > 1 is served as 1.1 (RFC 9110 2.5); other
	 * major versions are 505; what is not a version at all is 400. */
	{
		static const struct {
			const char *req;
			int status;
		} ver[] = {
			{"GET /user/1 HTTP/2.0\r\nHost: x\r\n\r\n", 505},
			{"GET /user/1 HTTP/0.9\r\nHost: x\r\n\r\n", 505},
			{"GET /user/1 HTTP/1.9\r\nHost: x\r\n\r\n", 200},
			{"GET /user/1 HTTP/3\r\nHost: x\r\n\r\n", 400},
			{"GET /user/1 HTTX/1.1\r\nHost: x\r\n\r\n", 400},
			{"GET /user/1 http/1.1\r\nHost: x\r\n\r\n", 400},
			{"GET /user/1 HTTP/1.1.1\r\nHost: x\r\n\r\n", 400},
		};

		for (size_t i = 0; i < sizeof(ver) / sizeof(ver[0]); i++) {
			int want = ver[i].status, got;

			raw_case(d.port, ver[i].req, strlen(ver[i].req), &r, 1, 0, false);
			say("version #%zu: %s", i, describe(&r));
			got = r.n == 1 ? r.a[0].status : 0;
			REQUIRE(want == 200 ? is_user(&r.a[0], 1) && got == 200
					    : got == want || (got == 400 && want == 505) ||
					      (got == 505 && want == 400),
				"version #%zu: %s, want %d", i, describe(&r), want);
			STILL_ALIVE("a bad version");
		}
	}

	/* A NUL byte in the request line or a header, raw.  In the path:
	 * 400 (libmicrohttpd cuts the target at the NUL; userd spots that
	 * through the URI-log callback).  In a header libmicrohttpd 0.9.75
	 * cuts the value; accept that, but nothing else, and the
	 * connection must stay in step. */
	{
		static const char req[] = "GET /user/1\0/x HTTP/1.1\r\nHost: x\r\n\r\n"
					  "GET /user/2 HTTP/1.1\r\nHost: x\r\n\r\n";
		static const char hdr[] = "GET /user/1 HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n"
					  "GET /user/2 HTTP/1.1\r\nHost: x\r\n\r\n";

		raw_case(d.port, req, sizeof(req) - 1, &r, 2, 1.0, false);
		say("raw NUL in the path: %s", describe(&r));
		REQUIRE(r.n >= 1 && r.a[0].status == 400,
			"raw NUL in the path: %s", describe(&r));
		STILL_ALIVE("a raw NUL in the path");
		raw_case(d.port, hdr, sizeof(hdr) - 1, &r, 2, 1.0, false);
		say("raw NUL in a header: %s", describe(&r));
		REQUIRE((r.n >= 1 && r.a[0].status == 400) || (r.n == 0 && r.closed) ||
			(r.n == 2 && is_user(&r.a[0], 1) && is_user(&r.a[1], 2)),
			"raw NUL in a header: %s", describe(&r));
		STILL_ALIVE("a raw NUL in a header");
	}
	/* %00 in the id: 400 (never decoded into a truncated "7"). */
	{
		static const char *const reqs[] = {
			"GET /user/%00 HTTP/1.1\r\nHost: x\r\n\r\n",
			"GET /user/7%00 HTTP/1.1\r\nHost: x\r\n\r\n",
			"GET /user/7%001 HTTP/1.1\r\nHost: x\r\n\r\n",
		};

		for (size_t i = 0; i < 3; i++) {
			raw_case(d.port, reqs[i], strlen(reqs[i]), &r, 1, 0, false);
			say("%%00 #%zu: %s", i, describe(&r));
			REQUIRE(r.n == 1 && r.a[0].status == 400, "%%00 #%zu: %s", i, describe(&r));
		}
		STILL_ALIVE("%00");
	}
	/* Percent-encoded id: %37 is 7. */
	{
		static const char req[] = "GET /user/%37 HTTP/1.1\r\nHost: x\r\n\r\n";

		raw_case(d.port, req, strlen(req), &r, 1, 0, false);
		REQUIRE(r.n == 1 && is_user(&r.a[0], 7), "/user/%%37: %s", describe(&r));
	}

	/* Pipelining: three requests in one write, three answers in order,
	 * even when the first waits longest. */
	{
		static const char req[] =
			"GET /user/1?delay=300 HTTP/1.1\r\nHost: x\r\n\r\n"
			"GET /user/2?delay=0 HTTP/1.1\r\nHost: x\r\n\r\n"
			"GET /user/3?delay=100 HTTP/1.1\r\nHost: x\r\n\r\n";

		raw_case(d.port, req, strlen(req), &r, 3, 0, false);
		say("pipelined: %s", describe(&r));
		REQUIRE(r.n == 3 && is_user(&r.a[0], 1) && is_user(&r.a[1], 2) &&
			is_user(&r.a[2], 3), "pipelined: %s", describe(&r));
	}

	/* HTTP/1.0 without keep-alive: answered, then closed. */
	{
		static const char req[] = "GET /user/4 HTTP/1.0\r\n\r\n";

		raw_case(d.port, req, strlen(req), &r, 1, 2.0, false);
		say("HTTP/1.0: %s", describe(&r));
		REQUIRE(r.n == 1 && is_user(&r.a[0], 4) && r.closed && !r.reset,
			"HTTP/1.0: %s", describe(&r));
		REQUIRE(strncmp(r.a[0].head, "HTTP/1.0 200", 12) == 0 ||
			strncmp(r.a[0].head, "HTTP/1.1 200", 12) == 0, "HTTP/1.0: status line");
	}
	/* HTTP/1.0 with keep-alive: the connection stays for a second request. */
	{
		static const char req[] = "GET /user/5 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";

		fd = raw_case(d.port, req, strlen(req), &r, 1, 0.5, true);
		say("HTTP/1.0 keep-alive: %s", describe(&r));
		REQUIRE(fd >= 0 && r.n == 1 && is_user(&r.a[0], 5) && !r.closed,
			"HTTP/1.0 keep-alive: %s", describe(&r));
		REQUIRE(has_header(&r.a[0], "Connection: Keep-Alive"),
			"HTTP/1.0 keep-alive: no 'Connection: Keep-Alive' in the answer");
		memset(&r, 0, sizeof(r));
		exchange(fd, req, strlen(req), &r, 1, 5.0, 0);
		REQUIRE(r.n == 1 && is_user(&r.a[0], 5),
			"HTTP/1.0 keep-alive, second request: %s", describe(&r));
		close(fd);
		fd = -1;
	}
	/* HTTP/1.1 Connection: close: answered with close, then closed. */
	{
		static const char req[] = "GET /user/6 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

		raw_case(d.port, req, strlen(req), &r, 1, 2.0, false);
		say("HTTP/1.1 Connection: close: %s", describe(&r));
		REQUIRE(r.n == 1 && is_user(&r.a[0], 6) && r.closed &&
			has_header(&r.a[0], "Connection: close"),
			"HTTP/1.1 Connection: close: %s", describe(&r));
	}
	/* HTTP/1.1 by default keeps the connection. */
	{
		static const char req[] = "GET /user/8 HTTP/1.1\r\nHost: x\r\n\r\n";

		raw_case(d.port, req, strlen(req), &r, 1, 0.5, false);
		REQUIRE(r.n == 1 && is_user(&r.a[0], 8) && !r.closed,
			"HTTP/1.1 keep-alive: %s", describe(&r));
	}

	/* A body on GET: answered, the body ignored (not read as a request). */
	{
		static const char req[] =
			"GET /user/9 HTTP/1.1\r\nHost: x\r\nContent-Length: 34\r\n\r\n"
			"GET /user/666 HTTP/1.1\r\nHost: x\r\n\r\n"
			"GET /user/10 HTTP/1.1\r\nHost: x\r\n\r\n";

		raw_case(d.port, req, strlen(req), &r, 2, 0.5, false);
		say("GET with a body: %s", describe(&r));
		REQUIRE(r.n == 2 && is_user(&r.a[0], 9) && is_user(&r.a[1], 10),
			"GET with a body: %s", describe(&r));
	}
	/* Expect: 100-continue: 100 first, then the answer once the body is in. */
	{
		static const char head[] = "GET /user/11 HTTP/1.1\r\nHost: x\r\n"
					   "Content-Length: 5\r\nExpect: 100-continue\r\n\r\n";

		fd = raw_case(d.port, head, strlen(head), &r, 1, 0, true);
		say("Expect: 100-continue, headers only: %s", describe(&r));
		REQUIRE(fd >= 0 && r.n == 1 && r.a[0].status == 100,
			"Expect: 100-continue: %s", describe(&r));
		memset(&r, 0, sizeof(r));
		exchange(fd, "hello", 5, &r, 1, 5.0, 0);
		REQUIRE(r.n == 1 && is_user(&r.a[0], 11), "Expect: 100-continue, body: %s",
			describe(&r));
		close(fd);
		fd = -1;
	}
	/* Chunked bodies: valid is read and ignored, invalid is 400 or closed. */
	{
		static const char good[] =
			"GET /user/12 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
			"5\r\nhello\r\n0\r\n\r\n";
		static const char *const bad[] = {
			"GET /user/13 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
			"ZZZ\r\nhello\r\n0\r\n\r\n",
			"GET /user/13 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
			"5\r\nhelloXX0\r\n\r\n",
			"GET /user/13 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
			"FFFFFFFFFFFFFFFFFFFFFFFF\r\nhello\r\n0\r\n\r\n",
		};

		raw_case(d.port, good, strlen(good), &r, 1, 0, false);
		REQUIRE(r.n == 1 && is_user(&r.a[0], 12), "valid chunked body: %s", describe(&r));
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			raw_case(d.port, bad[i], strlen(bad[i]), &r, 1, 2.0, false);
			say("invalid chunked #%zu: %s", i, describe(&r));
			REQUIRE((r.n >= 1 && (r.a[0].status == 400 || r.a[0].status == 413)) ||
				(r.n == 0 && r.closed), "invalid chunked #%zu: %s", i, describe(&r));
			REQUIRE(r.closed, "invalid chunked #%zu: left open", i);
			STILL_ALIVE("invalid chunked encoding");
		}
	}
	/* Bad framing: 400/413 and closed, never an answer per body. */
	{
		static const char *const amb[] = {
			"GET /user/14 HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
			"GET /user/14 HTTP/1.1\r\nHost: x\r\n"
			"Content-Length: 99999999999999999999999\r\n\r\n",
		};

		for (size_t i = 0; i < sizeof(amb) / sizeof(amb[0]); i++) {
			raw_case(d.port, amb[i], strlen(amb[i]), &r, 1, 2.0, false);
			say("bad Content-Length #%zu: %s", i, describe(&r));
			REQUIRE(r.n >= 1 && (r.a[0].status == 400 || r.a[0].status == 413) &&
				r.closed, "bad Content-Length #%zu: %s", i, describe(&r));
			if (r.a[0].body_len >= 9 && strncmp(r.a[0].body, "HTTP/1.1 ", 9) == 0)
				say("  note: libmicrohttpd sent the error's status line and "
				    "headers twice");
			STILL_ALIVE("a bad Content-Length");
		}
	}
	rc = 0;
out:
	free(big);
	if (fd >= 0)
		close(fd);
	stop_daemon(rc != 0);
	return rc;
}

/* ---- 7. soak ------------------------------------------------------------ */

struct soak {
	pid_t pid;
	double t0, warm_at, next;
	long rss_warm, rss_max, rss_last;
	bool warm;
};

static bool soak_probe(struct engine *e, void *arg)
{
	struct soak *s = arg;
	double t = now_s();

	(void)e;
	if (t < s->next)
		return false;
	s->next = t + 5;
	s->rss_last = proc_rss_kb(s->pid);
	s->rss_max = s->rss_last > s->rss_max ? s->rss_last : s->rss_max;
	if (!s->warm && t >= s->warm_at) {
		s->warm = true;
		s->rss_warm = s->rss_last;
	}
	printf("  t=%3.0f s: RSS %ld kB, %lu answers\n", t - s->t0, s->rss_last, e->responses);
	fflush(stdout);
	return false;
}

static int t_soak(void)
{
	const char *args[] = {"--access-log", "off", "--delay-min", "100",
			      "--delay-max", "500", NULL};
	const size_t n = 5000;
	double secs = (double)env_long("SOAK_SECONDS", 60);
	double warm = secs / 4 < 15 ? secs / 4 : 15;
	struct engine e = {.c = NULL};
	struct soak s = {.pid = 0};
	long fd0, fd_end, rss_end;
	int rc = 1;

	steady_allocator();
	REQUIRE(daemon_start(&d, args) == 0, "userd did not start");
	REQUIRE(warm_up(d.port, 200), "warm-up failed");
	fd0 = proc_fds(d.pid);
	say("%zu keep-alive clients for %.0f s (warm-up %.0f s); baseline %ld fds, RSS %ld kB",
	    n, secs, warm, fd0, proc_rss_kb(d.pid));
	REQUIRE(engine_init(&e, d.port, n, MODE_FETCH, true, NULL) == 0, "engine");
	s.pid = d.pid;
	s.t0 = now_s();
	s.warm_at = s.t0 + warm;
	s.next = s.t0 + 5;
	e.stop_at = s.t0 + secs;
	e.latency_limit = 0.5 + 10.0;
	engine_run(&e, s.t0 + secs + 30, soak_probe, &s);
	engine_expire(&e);
	rss_end = s.rss_last;
	engine_report(&e, "clients");
	say("RSS after warm-up %ld kB, at the end %ld kB (%+.2f%%), max %ld kB; "
	    "%.0f answers/s", s.rss_warm, rss_end,
	    100.0 * (double)(rss_end - s.rss_warm) / (double)s.rss_warm, s.rss_max,
	    (double)e.responses / secs);
	REQUIRE(e.by_result[RES_OK] == n, "%zu of %zu clients saw only valid 200s (%s)",
		e.by_result[RES_OK], n, e.first_error);
	REQUIRE(e.late == 0, "%lu answers later than %.1f s", e.late, e.latency_limit);
	/* Every client must have made progress all along: at least one
	 * request per 2 s on average (the delays average 0.3 s). */
	for (size_t i = 0; i < n; i++)
		REQUIRE(e.c[i].responses >= (uint32_t)(secs / 2),
			"client %zu made only %u requests in %.0f s", i, e.c[i].responses, secs);
	REQUIRE(s.warm && rss_end <= s.rss_warm + s.rss_warm / 20,
		"RSS grew from %ld kB after warm-up to %ld kB (allowed + 5%%)",
		s.rss_warm, rss_end);
	engine_free(&e);
	e.c = NULL;
	REQUIRE(alive(&d), "userd died");
	REQUIRE(wait_quiet(d.port, 0, 20), "connections still open 20 s after the soak");
	fd_end = proc_fds(d.pid);
	say("after the soak: %ld fds (baseline %ld), RSS %ld kB", fd_end, fd0,
	    proc_rss_kb(d.pid));
	REQUIRE(fd_end <= fd0 + 1, "%ld fds after the soak, baseline %ld", fd_end, fd0);
	rc = 0;
out:
	return scenario_end(rc, &e, NULL);
}

/* ---- 8. SIGTERM while connections keep arriving ------------------------ */

/* Clients that connect, ask for /healthz and hang up, in a loop, until
 * told to stop: the listening socket is busy when the drain begins. */
struct knocker {
	pthread_t thread;
	unsigned port;
	atomic_bool stop;
	unsigned long connects;
};

static void *knock(void *arg)
{
	static const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
	struct knocker *k = arg;
	char buf[512];

	while (!atomic_load(&k->stop)) {
		int fd = tcp_connect(k->port, 0.5);

		if (fd < 0) {
			sleep_ms(1);
			continue;
		}
		k->connects++;
		if (send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) > 0) {
			struct pollfd p = {.fd = fd, .events = POLLIN};

			if (poll(&p, 1, 200) > 0 && recv(fd, buf, sizeof(buf), 0) < 0)
				k->connects += 0; /* reset by the closing server: fine */
		}
		close(fd);
	}
	return NULL;
}

/* The drain's "stop accepting" step must not race with the workers'
 * own handling of the listening socket (libmicrohttpd 0.9.75's
 * MHD_quiesce_daemon aborts when a worker removed it first): SIGTERM,
 * with 4 clients connecting in a loop, RACE_RUNS times (default 300),
 * at the default thread count; every run must exit 0 and log no fatal
 * error. */
static int t_sigterm_race(void)
{
	enum { KNOCKERS = 4 };
	const char *args[] = {"--access-log", "off", NULL};
	long runs = env_long("RACE_RUNS", 300);
	struct knocker k[KNOCKERS];
	unsigned long connects = 0;
	unsigned seed = 12345;
	int started = 0;
	int rc = 1;

	for (long run = 0; run < runs; run++) {
		int status;

		REQUIRE(daemon_start(&d, args) == 0, "run %ld: userd did not start", run);
		for (int i = 0; i < KNOCKERS; i++) {
			k[i].port = d.port;
			atomic_init(&k[i].stop, false);
			k[i].connects = 0;
			REQUIRE(pthread_create(&k[i].thread, NULL, knock, &k[i]) == 0,
				"pthread_create");
			started = i + 1;
		}
		/* Let the knocking get going, for a varying while. */
		sleep_ms(5 + (int)(rand_r(&seed) % 40));
		daemon_signal(&d, SIGTERM);
		status = daemon_wait(&d, 20.0);
		for (int i = 0; i < started; i++) {
			atomic_store(&k[i].stop, true);
			pthread_join(k[i].thread, NULL);
			connects += k[i].connects;
		}
		started = 0;
		REQUIRE(status != -1, "run %ld: userd did not exit within 20 s of SIGTERM", run);
		d.pid = 0;
		REQUIRE(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			"run %ld: userd ended with %s %d", run,
			WIFSIGNALED(status) ? "signal" : "status",
			WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		REQUIRE(daemon_log_lacks(&d, "Fatal error"),
			"run %ld: libmicrohttpd reported a fatal error", run);
		daemon_cleanup(&d);
	}
	say("%ld runs, %lu connections made: every run exited 0", runs, connects);
	rc = 0;
out:
	for (int i = 0; i < started; i++) {
		atomic_store(&k[i].stop, true);
		pthread_join(k[i].thread, NULL);
	}
	stop_daemon(rc != 0);
	return rc;
}

/* ---- queueing: --capacity against M/M/c and M/M/c/K --------------------- */

/* Erlang C: the probability that an arrival waits at c servers offered
 * a = lambda / mu erlangs (a < c). */
static double erlang_c(unsigned c, double a)
{
	double term = 1, sum = 0, top;

	for (unsigned k = 0; k < c; k++) {
		sum += term;           /* a^k / k! */
		term *= a / (k + 1);
	}
	top = term * c / (c - a);  /* a^c / c! * c / (c - a) */
	return top / (sum + top);
}

/* M/M/c/K: the probability that all K places (c in service, K - c
 * waiting) are taken; arrivals see it (PASTA), so it is the share turned
 * away. */
static double mmck_blocking(unsigned c, double a, unsigned k)
{
	double term = 1, sum = 0, last = 0;

	for (unsigned n = 0; n <= k; n++) {
		sum += term;           /* p_n, unnormalised */
		last = term;
		term *= n < c ? a / (n + 1) : a / c;
	}
	return last / sum;
}

#define QMEAN_S 0.020   /* exponential:20 */
#define QWAITED_S 0.001 /* a wait longer than this counts as waiting: */
			/* userd_queue_wait_seconds' first bucket */
#define QSERVERS_MAX 16

/* The mean wait of FIFO service at c servers of these arrivals (times
 * sent) and service times (the delays userd drew): the Kiefer-Wolfowitz
 * recursion, each in turn to the server free first.  Requests without a
 * 200 are left out (a full queue's 503s never reach a slot).  With
 * waited, also the share of them that waited more than QWAITED_S. */
static double fifo_mean_wait(const struct ol_request *r, size_t n, unsigned c,
			     double *waited)
{
	double free_at[QSERVERS_MAX] = {0}, sum = 0;
	size_t served = 0, longer = 0;

	for (size_t i = 0; i < n; i++) {
		double t = r[i].due + r[i].late, start;
		unsigned k = 0;

		if (r[i].status != 200 || r[i].service < 0)
			continue;
		for (unsigned j = 1; j < c; j++)
			k = free_at[j] < free_at[k] ? j : k;
		start = t > free_at[k] ? t : free_at[k];
		free_at[k] = start + r[i].service;
		sum += start - t;
		longer += start - t > QWAITED_S;
		served++;
	}
	if (waited != NULL)
		*waited = served > 0 ? (double)longer / (double)served : 0;
	return served > 0 ? sum / (double)served : 0;
}

struct qrun {
	unsigned c;
	double rho;
	int queue;          /* -1: unbounded */
	size_t count;
	uint64_t seed;      /* of the arrivals */
	/* measured */
	size_t ok, rejected, other;
	double mean_wait, waited;    /* userd's: userd_queue_wait_seconds */
	double client_wait;          /* the client's: answer time - delay */
	double path_wait;            /* fifo_mean_wait() of the run */
	double mean_service, mean_late, max_late;
	double lambda;               /* the arrival rate the generator made */
	double timers_late;  /* share of userd's timers 5 ms or more late */
};

/* A run is disturbed when the machine stalled userd: 2% of its timers
 * fired 5 ms or more late.  A slot is freed when its timer fires, so a
 * stalled timer is a longer service than the drawn one, and the queue is
 * no longer the one the formulas describe. */
#define QSTALL_S 0.005
#define QSTALL_SHARE 0.02
#define QATTEMPTS 3

/* One userd with --capacity c and exponential service, and an open loop
 * at utilisation rho.  Returns 0, or -1 with fail_reason set. */
static int queue_run(struct qrun *q)
{
	char cap[16], queue[16];
	const char *args[] = {"--access-log", "off", "--delay", "exponential:20",
			      "--timer-slack", "0", "--seed", "21", "--capacity", cap,
			      q->queue >= 0 ? "--queue" : NULL, queue, NULL};
	struct openloop ol = {.rate = q->rho * q->c / QMEAN_S, .count = q->count,
			      .seed = q->seed, .path = "/user/", .timeout_s = 30};
	double wait = 0, service = 0, late = 0, waited = 0;
	int rc = -1;

	snprintf(cap, sizeof(cap), "%u", q->c);
	snprintf(queue, sizeof(queue), "%d", q->queue);
	q->ok = q->rejected = q->other = 0;
	q->max_late = 0;
	REQUIRE(daemon_start(&d, args) == 0, "userd did not start");
	ol.port = d.port;
	REQUIRE(openloop_run(&ol) == 0, "the load generator failed (memory or fds)");
	{
		double on_time = get_metric(d.port, "userd_timer_lateness_seconds_bucket{le=\"0.005\"}");
		double all = get_metric(d.port, "userd_timer_lateness_seconds_count");

		double waits = get_metric(d.port, "userd_queue_wait_seconds_count");
		double short_waits = get_metric(d.port, "userd_queue_wait_seconds_bucket{le=\"0.001\"}");
		double waited_s = get_metric(d.port, "userd_queue_wait_seconds_sum");

		REQUIRE(on_time >= 0 && all > 0, "no timer lateness in /metrics");
		q->timers_late = 1 - on_time / all;
		REQUIRE(waits > 0 && short_waits >= 0 && waited_s >= 0,
			"no userd_queue_wait_seconds in /metrics");
		q->mean_wait = waited_s / waits;
		q->waited = 1 - short_waits / waits;
	}
	q->path_wait = fifo_mean_wait(ol.req, q->count, q->c, NULL);
	q->lambda = (double)(q->count - 1) / (ol.req[q->count - 1].due - ol.req[0].due);
	for (size_t i = 0; i < q->count; i++) {
		const struct ol_request *r = &ol.req[i];

		late += r->late;
		q->max_late = r->late > q->max_late ? r->late : q->max_late;
		if (r->status == 200 && r->service >= 0) {
			double w = r->took - r->service;

			q->ok++;
			wait += w;
			service += r->service;
			waited += w > QWAITED_S;
		} else if (r->status == 503) {
			q->rejected++;
		} else {
			q->other++;
		}
	}
	q->client_wait = q->ok > 0 ? wait / (double)q->ok : 0;
	q->mean_service = q->ok > 0 ? service / (double)q->ok : 0;
	q->mean_late = late / (double)q->count;
	say("c=%u rho=%.2f queue=%d: %zu arrivals at %.0f/s (made: %.1f/s): %zu answered, %zu turned away, "
	    "%zu other; mean service %.2f ms; mean wait %.2f ms (this run's arrivals and "
	    "draws through a FIFO: %.2f ms; the client's view %.2f ms), waited >%.0f ms "
	    "%.3f (the client's view %.3f); generator late %.2f ms mean, %.1f ms at most; "
	    "timers >= 5 ms late %.3f",
	    q->c, q->rho, q->queue, q->count, ol.rate, q->lambda, q->ok, q->rejected, q->other,
	    q->mean_service * 1e3, q->mean_wait * 1e3, q->path_wait * 1e3,
	    q->client_wait * 1e3, QWAITED_S * 1e3, q->waited,
	    q->ok > 0 ? waited / (double)q->ok : 0, q->mean_late * 1e3, q->max_late * 1e3,
	    q->timers_late);
	REQUIRE(q->other == 0, "%zu requests got neither a 200 nor a 503", q->other);
	REQUIRE(fabs(q->mean_service - QMEAN_S) < 0.15 * QMEAN_S,
		"mean service %.2f ms, not ~%.0f ms", q->mean_service * 1e3, QMEAN_S * 1e3);
	rc = 0;
out:
	openloop_free(&ol);
	stop_daemon(rc != 0);
	return rc;
}

/* With exponential service of mean 20 ms and c = 4 slots, an open loop of
 * Poisson arrivals at utilisation 0.5, 0.8 (2,000 arrivals) and 0.95
 * (4,000) waits as Erlang C says (M/M/c), and one at 0.9 with room for 2
 * waiting is turned away as M/M/c/K says.  The theory is computed here
 * from c, the mean service, the queue and the rate of the arrivals the
 * generator made (arrival seed 7 makes 4% more than asked for with 2,000
 * arrivals; seed 20 makes 0.2% fewer with 4,000, so that 0.95 stays 0.95
 * and not 0.99), never from userd's output; the waits measured are
 * userd's (userd_queue_wait_seconds: the client's view adds the loopback
 * and its own scheduling, printed too).
 *
 * Margins, from a simulation of the same queues (loadtest simulate RHO
 * COUNT 20000: c = 4, the same arrival counts, empty at the start, the
 * theory from each sample's own arrival rate, as here) over 20,000
 * seeds; the fixed seeds make a run repeat its arrivals and draws, not
 * its timing.  The share that waited more than 1 ms (theory C *
 * exp(-(c mu - lambda) * 1 ms)): standard deviation 0.017 at 0.5, 0.038
 * at 0.8, 0.033 at 0.95; margins 0.07, 0.15 and 0.12, 3.6 to 4 standard
 * deviations.  The mean wait (theory C / (c mu - lambda)) is skewed, so
 * its margins are the simulation's 0.25% and 99.75% quantiles of
 * measured / theory, widened a little: 0.53x-1.83x at 0.5, hence 0.5x
 * to 2x; 0.50x-2.19x at 0.8, hence 0.45x to 2.2x; 0.19x-2.62x at 0.95,
 * hence 0.15x to 2.8x.  Near saturation the queue forgets its start
 * slowly (a relaxation time of seconds, against a 21 s run), so a single
 * run says little about the mean there; the mechanism check below is the
 * one that bites.  The share turned away within 0.06.  And the
 * mechanism, tight: the mean wait within 0.95x - 0.3 ms to 1.05x + 0.3 ms
 * of what a FIFO of c servers makes of this run's own arrivals and drawn
 * delays (slots change hands at deadlines, so userd runs that very queue:
 * within 0.3 % in the runs of 2026-12-06; when slots changed hands as
 * timers fired, userd was 8 % under it at 0.95 with timers aimed early
 * and about 10 % over it before).  A run that the machine disturbed (QSTALL_SHARE of userd's
 * timers QSTALL_S or more late, or arrivals sent QSTALL_S late on
 * average) is run again, QATTEMPTS times at most. */
static int t_queueing(void)
{
	struct qrun runs[] = {
		{.c = 4, .rho = 0.5, .queue = -1, .count = 2000, .seed = 7},
		{.c = 4, .rho = 0.8, .queue = -1, .count = 2000, .seed = 7},
		{.c = 4, .rho = 0.95, .queue = -1, .count = 4000, .seed = 20},
		{.c = 4, .rho = 0.9, .queue = 2, .count = 2000, .seed = 7},
	};
	const double p_margin[] = {0.07, 0.15, 0.12};
	const double w_lo[] = {0.5, 0.45, 0.15}, w_hi[] = {2.0, 2.2, 2.8};
	int rc = 1;

	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		struct qrun *q = &runs[i];
		double mu = 1 / QMEAN_S, lambda, a;

		for (int attempt = 1;; attempt++) {
			if (queue_run(q) != 0)
				return 1;
			/* Open loop means arrivals on time, and a slot is free
			 * when its timer fires: else the queue is not the one
			 * the formulas describe. */
			if (q->timers_late < QSTALL_SHARE && q->mean_late < QSTALL_S)
				break;
			REQUIRE(attempt < QATTEMPTS,
				"the machine stalled userd or the generator in %d runs out of "
				"%d (in the last %.1f%% of userd's timers %.0f ms or more late, "
				"arrivals %.1f ms late on average): too busy to compare with "
				"the formulas", attempt, QATTEMPTS, q->timers_late * 100,
				QSTALL_S * 1e3, q->mean_late * 1e3);
			say("disturbed (%.1f%% of timers %.0f ms or more late, arrivals %.1f ms "
			    "late on average): again in 5 s", q->timers_late * 100,
			    QSTALL_S * 1e3, q->mean_late * 1e3);
			sleep_ms(5000);
		}
		/* The offered load the generator made: its random arrivals are
		 * a few per cent off the rate asked for. */
		lambda = q->lambda;
		a = lambda / mu;
		REQUIRE(a < q->c, "offered %.2f erlangs to %u slots", a, q->c);
		REQUIRE(q->mean_wait >= 0.95 * q->path_wait - 0.0003 &&
			q->mean_wait <= 1.05 * q->path_wait + 0.0003,
			"mean wait %.2f ms, but a FIFO of %u makes %.2f ms of the same arrivals "
			"and delays", q->mean_wait * 1e3, q->c, q->path_wait * 1e3);
		if (q->queue < 0) {
			double pc = erlang_c(q->c, a);
			double w = pc / (q->c * mu - lambda);
			double p1 = pc * exp(-(q->c * mu - lambda) * QWAITED_S);

			say("M/M/%u at %.2f: P(wait) %.3f, P(wait > 1 ms) %.3f measured %.3f; "
			    "mean wait %.2f ms measured %.2f ms",
			    q->c, q->rho, pc, p1, q->waited, w * 1e3, q->mean_wait * 1e3);
			REQUIRE(q->rejected == 0, "%zu turned away with no queue bound", q->rejected);
			REQUIRE(fabs(q->waited - p1) < p_margin[i],
				"share waiting over 1 ms %.3f, Erlang C says %.3f", q->waited, p1);
			REQUIRE(q->mean_wait >= w_lo[i] * w && q->mean_wait <= w_hi[i] * w,
				"mean wait %.2f ms, Erlang C says %.2f ms", q->mean_wait * 1e3,
				w * 1e3);
		} else {
			double b = mmck_blocking(q->c, a, q->c + (unsigned)q->queue);
			double share = (double)q->rejected / (double)q->count;

			say("M/M/%u/%u at %.2f: share turned away %.3f, measured %.3f",
			    q->c, q->c + (unsigned)q->queue, q->rho, b, share);
			REQUIRE(fabs(share - b) < 0.06, "share turned away %.3f, M/M/c/K says %.3f",
				share, b);
		}
	}
	rc = 0;
out:
	return rc;
}

/* ---- main ---------------------------------------------------------------- */

static const struct {
	const char *name;
	int (*fn)(void);
	const char *what;
} tests[] = {
	{"many", t_many, "10,000 concurrent delayed requests: all 200, fds and RSS back"},
	{"disconnect", t_disconnect, "5,000 clients leave while waiting: counted, no leak"},
	{"sigterm", t_sigterm, "SIGTERM with 2,000 in flight: all answered, exit 0"},
	{"fdlimit", t_fdlimit, "600 clients, 256 fds: queued at the connection limit, all served"},
	{"emfile", t_emfile, "600 clients, 256 fds, limit 1000: EMFILE logged, all served"},
	{"slowloris", t_slowloris, "1,000 stalled requests, 200 silent connections: closed after --timeout"},
	{"hostile", t_hostile, "malformed and hostile requests: the right 4xx"},
	{"sigterm-race", t_sigterm_race, "SIGTERM while 4 clients keep connecting, 300 times: exit 0"},
	{"soak", t_soak, "5,000 keep-alive clients for SOAK_SECONDS: RSS flat"},
	{"queueing", t_queueing, "--capacity under an open loop: M/M/c waits and M/M/c/K losses"},
};

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return (a > b) - (a < b);
}

/* loadtest openloop PORT RATE COUNT [SEED [SERVERS]]: arrivals against a
 * running userd, and what came of them: a sentence, then the same as
 * key=value pairs for scripts (bench/knee).  With SERVERS, also the mean
 * wait a FIFO of that many servers makes of these arrivals and the delays
 * userd drew (fifo_wait_ms). */
static int openloop_main(int argc, char **argv)
{
	struct openloop ol = {.path = "/user/", .timeout_s = 60};
	double took = 0, service = 0, late = 0, wait = 0, rate, *t;
	size_t ok = 0, rejected = 0, other = 0, waited = 0;
	unsigned servers;

	ol.port = (unsigned)strtoul(argv[2], NULL, 10);
	ol.rate = strtod(argv[3], NULL);
	ol.count = strtoul(argv[4], NULL, 10);
	ol.seed = argc > 5 ? strtoull(argv[5], NULL, 10) : 7;
	servers = argc > 6 ? (unsigned)strtoul(argv[6], NULL, 10) : 0;
	if (ol.port == 0 || !(ol.rate > 0) || ol.count < 2 || servers > QSERVERS_MAX) {
		fprintf(stderr, "loadtest openloop: PORT RATE COUNT [SEED [SERVERS]], "
			"COUNT >= 2, SERVERS <= %d\n", QSERVERS_MAX);
		return 64;
	}
	t = malloc(ol.count * sizeof(*t));
	if (t == NULL || openloop_run(&ol) != 0) {
		fprintf(stderr, "loadtest openloop: out of memory or fds\n");
		free(t);
		return 1;
	}
	for (size_t i = 0; i < ol.count; i++) {
		const struct ol_request *r = &ol.req[i];

		late += r->late;
		if (r->status == 200) {
			double drawn = r->service >= 0 ? r->service : 0;

			t[ok++] = r->took;
			took += r->took;
			service += drawn;
			wait += r->took - drawn;
			waited += r->took - drawn > QWAITED_S;
		} else if (r->status == 503 || r->status == 429) {
			rejected++;
		} else {
			other++;
		}
	}
	qsort(t, ok, sizeof(*t), cmp_double);
	rate = (double)(ol.count - 1) / (ol.req[ol.count - 1].due - ol.req[0].due);
	printf("%zu arrivals at %.1f/s: %zu answered 200 (mean %.2f ms, of which the "
	       "drawn delay %.2f ms), %zu turned away (503/429), %zu other; sent %.2f ms "
	       "late on average\n", ol.count, rate, ok,
	       ok > 0 ? took / (double)ok * 1e3 : 0, ok > 0 ? service / (double)ok * 1e3 : 0,
	       rejected, other, late / (double)ol.count * 1e3);
	printf("n=%zu rate=%.3f ok=%zu rejected=%zu other=%zu response_ms=%.3f "
	       "service_ms=%.3f wait_ms=%.3f waited=%.4f p50_ms=%.2f p99_ms=%.2f "
	       "late_ms=%.3f", ol.count, rate, ok, rejected, other,
	       ok > 0 ? took / (double)ok * 1e3 : 0, ok > 0 ? service / (double)ok * 1e3 : 0,
	       ok > 0 ? wait / (double)ok * 1e3 : 0, ok > 0 ? (double)waited / (double)ok : 0,
	       ok > 0 ? t[(ok - 1) / 2] * 1e3 : 0, ok > 0 ? t[(ok * 99 - 1) / 100] * 1e3 : 0,
	       late / (double)ol.count * 1e3);
	if (servers > 0)
		printf(" fifo_wait_ms=%.3f", fifo_mean_wait(ol.req, ol.count, servers, NULL) * 1e3);
	printf("\n");
	free(t);
	openloop_free(&ol);
	return 0;
}

/* loadtest simulate RHO COUNT [SEEDS [SERVERS]]: how far from Erlang C
 * one run of the queueing test's kind lands by chance alone.  SEEDS
 * (default 2,000) runs of COUNT Poisson arrivals at utilisation RHO,
 * exponential service of mean QMEAN_S, SERVERS (default 4) FIFO servers
 * empty at the start (fifo_mean_wait, as the test's replay); each judged
 * as the test judges a run, against the theory at its own arrival rate.
 * Prints quantiles of measured / theory mean wait and the spread of
 * P(wait > QWAITED_S) - theory: where the test's margins come from. */
static int simulate_main(int argc, char **argv)
{
	double rho = strtod(argv[2], NULL), mu = 1 / QMEAN_S;
	size_t count = strtoul(argv[3], NULL, 10);
	size_t seeds = argc > 4 ? strtoul(argv[4], NULL, 10) : 2000, kept = 0, over = 0;
	unsigned c = argc > 5 ? (unsigned)strtoul(argv[5], NULL, 10) : 4;
	const double q[] = {0.0025, 0.005, 0.05, 0.5, 0.95, 0.995, 0.9975};
	struct ol_request *r;
	double *ratio, sum = 0, sum2 = 0;

	if (!(rho > 0 && rho < 1) || count < 2 || seeds < 1 || c < 1 || c > QSERVERS_MAX) {
		fprintf(stderr, "loadtest simulate: RHO COUNT [SEEDS [SERVERS]], 0 < RHO < 1, "
			"COUNT >= 2, SERVERS <= %d\n", QSERVERS_MAX);
		return 64;
	}
	r = calloc(count, sizeof(*r));
	ratio = calloc(seeds, sizeof(*ratio));
	if (r == NULL || ratio == NULL) {
		free(r);
		free(ratio);
		return 1;
	}
	for (size_t k = 1; k <= seeds; k++) {
		uint64_t arrivals = k, services = k ^ UINT64_C(0x5eed5eed5eed5eed);
		double t = 0, lambda, a, pc, w, p1, waited, mean;

		for (size_t i = 0; i < count; i++) {
			t += openloop_interval(&arrivals, rho * c * mu);
			r[i] = (struct ol_request){.due = t, .status = 200,
						   .service = openloop_interval(&services, mu)};
		}
		mean = fifo_mean_wait(r, count, c, &waited);
		lambda = (double)(count - 1) / (r[count - 1].due - r[0].due);
		a = lambda / mu;
		if (a >= c) {   /* the test would stop there: no theory */
			over++;
			continue;
		}
		pc = erlang_c(c, a);
		w = pc / (c * mu - lambda);
		p1 = pc * exp(-(c * mu - lambda) * QWAITED_S);
		ratio[kept++] = mean / w;
		sum += waited - p1;
		sum2 += (waited - p1) * (waited - p1);
	}
	if (kept == 0) {
		fprintf(stderr, "loadtest simulate: every run saturated\n");
		free(r);
		free(ratio);
		return 1;
	}
	qsort(ratio, kept, sizeof(*ratio), cmp_double);
	printf("M/M/%u at %.3f, %zu arrivals, %zu seeds (%zu made a >= c, left out):\n"
	       "  mean wait / Erlang C:", c, rho, count, seeds, over);
	for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++)
		printf(" %g%% %.3f", q[i] * 100, ratio[(size_t)(q[i] * (double)(kept - 1) + 0.5)]);
	sum /= (double)kept;
	printf("\n  P(wait > %.0f ms) - Erlang C: mean %.4f, standard deviation %.4f\n",
	       QWAITED_S * 1e3, sum, sqrt(sum2 / (double)kept - sum * sum));
	free(r);
	free(ratio);
	return 0;
}

int main(int argc, char **argv)
{
	long fds;
	double t0;
	int rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 5 && argc <= 7 && strcmp(argv[1], "openloop") == 0)
		return openloop_main(argc, argv);
	if (argc >= 4 && argc <= 6 && strcmp(argv[1], "simulate") == 0)
		return simulate_main(argc, argv);
	if (argc != 2) {
		fprintf(stderr, "usage: loadtest list|NAME, loadtest openloop PORT RATE "
			"COUNT [SEED [SERVERS]], or loadtest simulate RHO COUNT [SEEDS "
			"[SERVERS]]\n");
		return 64;
	}
	if (strcmp(argv[1], "list") == 0) {
		for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
			printf("%s\n", tests[i].name);
		return 0;
	}
	fds = raise_nofile();
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		if (strcmp(argv[1], tests[i].name) != 0)
			continue;
		printf("%s: %s (userd: %s, client fd limit %ld)\n", tests[i].name,
		       tests[i].what, daemon_binary(), fds);
		t0 = now_s();
		rc = tests[i].fn();
		printf("%s: %s %s (%.1f s)%s%s\n", rc == 0 ? "PASS" : "FAIL",
		       tests[i].name, rc == 0 ? "passed" : "failed", now_s() - t0,
		       rc == 0 ? "" : ": ", rc == 0 ? "" : fail_reason);
		return rc == 0 ? 0 : 1;
	}
	fprintf(stderr, "loadtest: no test '%s' (try 'loadtest list')\n", argv[1]);
	return 64;
}
