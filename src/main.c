/* main.c - userd's life cycle, and the only file that sees every module.
 *
 * Start-up in order: options, resource limits, signals, listening socket,
 * timer queue, HTTP server; then wait for a signal; then drain and tear
 * everything down in reverse order.  Signals are blocked in every thread
 * and taken synchronously here with sigtimedwait(2), so no signal handler
 * exists at all.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "config.h"
#include "http.h"
#include "listener.h"
#include "log.h"
#include "timerq.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.0.0"
#endif

/* After the drain deadline, how long the 503 answers may take to leave. */
#define FLUSH_GRACE_NS (2u * 1000000000u)
/* How often the drain looks at the in-flight count. */
#define DRAIN_POLL_NS (10u * 1000000u)
/* File descriptors kept back from the connection limit: per worker an
 * epoll and an eventfd, plus the listener, stdio and some slack. */
#define FD_RESERVE_BASE 32u
#define FD_RESERVE_PER_THREAD 4u

/* Raise the soft RLIMIT_NOFILE to the hard limit; returns the soft limit
 * now in force. */
static rlim_t raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 1024;
	if (rl.rlim_cur < rl.rlim_max) {
		rlim_t old = rl.rlim_cur;

		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			rl.rlim_cur = old;
	}
	return rl.rlim_cur;
}

static unsigned online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > CONFIG_MAX_THREADS ? CONFIG_MAX_THREADS : (unsigned)n;
}

/* Fill in the settings whose defaults depend on the machine. */
static void resolve_defaults(struct config *cfg)
{
	rlim_t fds = raise_fd_limit();
	rlim_t reserve;

	if (cfg->threads == 0)
		cfg->threads = online_cpus();
	reserve = FD_RESERVE_BASE + (rlim_t)FD_RESERVE_PER_THREAD * cfg->threads;
	if (cfg->max_connections == 0) {
		rlim_t n = fds > reserve ? fds - reserve : 1;

		cfg->max_connections = n > CONFIG_MAX_CONNECTIONS
			? CONFIG_MAX_CONNECTIONS : (unsigned)n;
	} else if ((rlim_t)cfg->max_connections + reserve > fds) {
		log_warn("--max-connections %u exceeds what the open-file limit "
			 "(%llu) allows; connections beyond it will be refused",
			 cfg->max_connections, (unsigned long long)fds);
	}
}

static const char *signal_name(int sig)
{
	switch (sig) {
	case SIGTERM:
		return "SIGTERM";
	case SIGINT:
		return "SIGINT";
	case SIGHUP:
		return "SIGHUP";
	default:
		return "signal";
	}
}

/* Wait up to `timeout_ns` for a blocked signal.  Returns the signal, or 0
 * on timeout. */
static int wait_signal(const sigset_t *set, uint64_t timeout_ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(timeout_ns / 1000000000u),
		.tv_nsec = (long)(timeout_ns % 1000000000u),
	};
	int sig;

	do {
		sig = sigtimedwait(set, NULL, &ts);
	} while (sig < 0 && errno == EINTR);
	return sig < 0 ? 0 : sig;
}

/* Wait until nothing is in flight, `until` passes (returns false) or a
 * terminating signal arrives (returns false, *hurry set). */
static bool wait_idle(struct http_server *srv, const sigset_t *set,
		      uint64_t until, bool *hurry)
{
	while (http_in_flight(srv) > 0) {
		uint64_t now = timerq_now();
		int sig;

		if (now >= until)
			return false;
		sig = wait_signal(set, until - now < DRAIN_POLL_NS
				       ? until - now : DRAIN_POLL_NS);
		if (sig == SIGTERM || sig == SIGINT) {
			*hurry = true;
			return false;
		}
	}
	return true;
}

/* Stop accepting, let accepted requests finish, and answer what is left
 * with 503 when the drain timeout (or a second signal) says so. */
static void drain(struct http_server *srv, timerq *timers,
		  const struct config *cfg, const sigset_t *set, int sig)
{
	uint64_t start = timerq_now();
	bool hurry = false;
	size_t flushed;

	http_drain(srv);
	log_info("%s: draining %zu requests (drain timeout %us)",
		 signal_name(sig), http_in_flight(srv), cfg->drain_timeout_s);
	if (wait_idle(srv, set, start + (uint64_t)cfg->drain_timeout_s * 1000000000u,
		      &hurry)) {
		log_info("drained in %.3f s",
			 (double)(timerq_now() - start) / 1e9);
		return;
	}
	flushed = timerq_flush(timers);
	log_warn("%s; answered %zu waiting requests with 503",
		 hurry ? "second signal" : "drain timeout", flushed);
	if (!wait_idle(srv, set, timerq_now() + FLUSH_GRACE_NS, &hurry))
		log_warn("closing %zu connections that did not finish",
			 http_in_flight(srv));
}

int main(int argc, char **argv)
{
	struct config cfg;
	struct http_options hopts;
	struct http_server *srv = NULL;
	timerq *timers = NULL;
	char err[256];
	char url[96];
	sigset_t set;
	int fd;
	int rc;
	int sig;

	config_defaults(&cfg);
	switch (config_parse_args(&cfg, argc, argv, err, sizeof(err))) {
	case CONFIG_OK:
		break;
	case CONFIG_HELP:
		config_usage(stdout);
		config_free(&cfg);
		return EXIT_SUCCESS;
	case CONFIG_VERSION:
		printf("userd %s\n", PACKAGE_VERSION);
		config_free(&cfg);
		return EXIT_SUCCESS;
	case CONFIG_USAGE_ERROR:
		fprintf(stderr, "userd: %s\n", err);
		config_usage_hint(stderr);
		config_free(&cfg);
		return EXIT_USAGE;
	}
	log_set_level(cfg.log_level);
	resolve_defaults(&cfg);

	/* Block the signals we wait for before any thread starts, so every
	 * thread inherits the mask and only sigtimedwait() sees them. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	fd = listener_open(cfg.bind, cfg.port, err, sizeof(err));
	if (fd < 0) {
		log_error("%s", err);
		config_free(&cfg);
		return EXIT_FAILURE;
	}
	listener_url(fd, url, sizeof(url));

	rc = timerq_create(&timers, 0);
	if (rc != 0) {
		log_error("cannot start the timer thread: %s", strerror(rc));
		close(fd);
		config_free(&cfg);
		return EXIT_FAILURE;
	}

	memset(&hopts, 0, sizeof(hopts));
	hopts.listen_fd = fd;
	hopts.threads = cfg.threads;
	hopts.max_connections = cfg.max_connections;
	hopts.timeout_s = cfg.timeout_s;
	hopts.connection_memory = HTTP_DEFAULT_CONNECTION_MEMORY;
	hopts.delay = cfg.delay;
	hopts.seeded = cfg.seeded;
	hopts.seed = cfg.seed;
	hopts.timers = timers;
	if (http_start(&srv, &hopts, err, sizeof(err)) != 0) {
		log_error("%s", err);
		timerq_destroy(timers);
		config_free(&cfg);
		return EXIT_FAILURE;
	}

	log_info("userd %s listening on %s", PACKAGE_VERSION, url);
	log_debug("threads=%u max-connections=%u delay=%u..%u ms timeout=%us",
		  cfg.threads, cfg.max_connections, cfg.delay.min_ms,
		  cfg.delay.max_ms, cfg.timeout_s);

	for (;;) {
		sig = wait_signal(&set, UINT64_MAX / 2);
		if (sig == SIGTERM || sig == SIGINT)
			break;
		if (sig == SIGHUP)
			log_info("SIGHUP: nothing to reload");
	}

	drain(srv, timers, &cfg, &set, sig);
	http_stop(srv);
	timerq_destroy(timers);
	config_free(&cfg);
	log_info("stopped");
	return EXIT_SUCCESS;
}
