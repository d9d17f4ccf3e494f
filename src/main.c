/* main.c - userd's life cycle, and the only file that sees every module.
 *
 * Start-up in order: configuration, resource limits, signals, listening
 * socket, timer queue, HTTP server, READY; then wait for signals (SIGHUP
 * reloads); then drain and tear everything down in reverse order.  Signals
 * are blocked in every thread and taken synchronously here with
 * sigtimedwait(2), so there is no signal handler at all.
 */
#include <errno.h>
#include <sched.h>
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
#include "service.h"
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

struct app {
	struct config cfg;
	int argc;
	char **argv;
	sigset_t signals;
	timerq *timers;
	struct http_server *srv;
	char url[96];
};

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

/* The CPUs this process may run on (its affinity mask, so "taskset -c 0
 * userd" gets one worker), or the online CPUs if that is unknown. */
static unsigned usable_cpus(void)
{
	cpu_set_t set;
	long n;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		n = CPU_COUNT(&set);
	else
		n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > CONFIG_MAX_THREADS ? CONFIG_MAX_THREADS : (unsigned)n;
}

/* Fill in the settings whose defaults depend on the machine. */
static void resolve_defaults(struct config *cfg)
{
	rlim_t fds = raise_fd_limit();
	rlim_t reserve;

	if (cfg->threads == 0)
		cfg->threads = usable_cpus();
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

/* The settings of `cfg` that apply while running. */
static struct http_settings settings_of(const struct config *cfg)
{
	struct http_settings s = {
		.delay = cfg->delay,
		.delay_override = cfg->delay_override,
		.error_rate = cfg->error_rate,
		.max_batch = cfg->max_batch,
		.access_log = cfg->access_log,
	};

	return s;
}

/* SIGHUP: re-read the config file and apply what can change without a
 * restart.  A broken file keeps the running configuration. */
static void reload(struct app *app)
{
	struct config next;
	struct http_settings s;
	char err[256], model[64];

	service_reloading();
	if (config_load(&next, app->argc, app->argv, err, sizeof(err)) != CONFIG_OK) {
		log_error("reload failed, keeping the running configuration: %s", err);
		config_free(&next);
		service_ready("Reload failed (%s); serving on %s", err, app->url);
		return;
	}
	if ((next.bind == NULL) != (app->cfg.bind == NULL) ||
	    (next.bind != NULL && strcmp(next.bind, app->cfg.bind) != 0) ||
	    next.port != app->cfg.port || next.reuse_port != app->cfg.reuse_port ||
	    (next.threads != 0 && next.threads != app->cfg.threads) ||
	    (next.max_connections != 0 &&
	     next.max_connections != app->cfg.max_connections) ||
	    next.seeded != app->cfg.seeded || next.seed != app->cfg.seed ||
	    next.timeout_s != app->cfg.timeout_s ||
	    next.connection_memory != app->cfg.connection_memory ||
	    next.dashboard != app->cfg.dashboard) /* issue 15 */
		log_warn("reload: bind, port, reuse-port, threads, max-connections, "
			 "connection-memory, seed, timeout and dashboard changes take "
			 "effect only after a restart");

	app->cfg.delay = next.delay;
	app->cfg.delay_override = next.delay_override;
	app->cfg.error_rate = next.error_rate;
	app->cfg.max_batch = next.max_batch;
	app->cfg.access_log = next.access_log;
	app->cfg.timer_slack_us = next.timer_slack_us;
	app->cfg.log_level = next.log_level;
	app->cfg.drain_timeout_s = next.drain_timeout_s;
	s = settings_of(&app->cfg);
	http_update(app->srv, &s);
	timerq_set_slack(app->timers, (uint64_t)app->cfg.timer_slack_us * 1000u);
	log_set_level(app->cfg.log_level);
	config_free(&next);
	delay_model_describe(&app->cfg.delay, model, sizeof(model));
	log_info("reloaded: delay %s (max %u ms), error rate %g, max batch %u, "
		 "access log %s, timer slack %u us, log level %s, drain timeout %us",
		 model, app->cfg.delay.cap_ms, app->cfg.error_rate,
		 app->cfg.max_batch, config_access_log_name(app->cfg.access_log),
		 app->cfg.timer_slack_us, log_level_name(app->cfg.log_level),
		 app->cfg.drain_timeout_s);
	service_ready("Serving on %s", app->url);
}

/* Wait until nothing is in flight, `until` passes (returns false) or a
 * terminating signal arrives (returns false, *hurry set). */
static bool wait_idle(struct app *app, uint64_t until, bool *hurry)
{
	while (http_in_flight(app->srv) > 0) {
		uint64_t now = timerq_now();
		int sig;

		if (now >= until)
			return false;
		sig = wait_signal(&app->signals, until - now < DRAIN_POLL_NS
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
static void drain(struct app *app, int sig)
{
	uint64_t start = timerq_now();
	bool hurry = false;
	size_t flushed;

	http_drain(app->srv);
	service_stopping("Draining %zu requests", http_in_flight(app->srv));
	log_info("%s: draining %zu requests (drain timeout %us)",
		 signal_name(sig), http_in_flight(app->srv),
		 app->cfg.drain_timeout_s);
	if (wait_idle(app, start + (uint64_t)app->cfg.drain_timeout_s * 1000000000u,
		      &hurry)) {
		log_info("drained in %.3f s", (double)(timerq_now() - start) / 1e9);
		return;
	}
	flushed = http_flush(app->srv);
	log_warn("%s; answered %zu waiting requests with 503",
		 hurry ? "second signal" : "drain timeout", flushed);
	if (!wait_idle(app, timerq_now() + FLUSH_GRACE_NS, &hurry))
		log_warn("closing %zu connections that did not finish",
			 http_in_flight(app->srv));
}

/* Open the listening socket, or take the one systemd passed. */
static int open_listener(const struct config *cfg, char *err, size_t errlen)
{
	int fd = service_listen_fd(err, errlen);

	if (fd == -1)
		return listener_open(cfg->bind, cfg->port, cfg->reuse_port, err, errlen);
	if (fd >= 0 && (cfg->bind != NULL || cfg->port != CONFIG_DEFAULT_PORT))
		log_info("using the socket passed by the service manager; "
			 "bind and port are ignored");
	return fd < 0 ? -1 : fd;
}

/* Start every module; on failure undo what started and return -1. */
static int start(struct app *app)
{
	struct http_options hopts;
	char err[256];
	int fd;
	int rc;

	fd = open_listener(&app->cfg, err, sizeof(err));
	if (fd < 0) {
		log_error("%s", err);
		return -1;
	}
	listener_url(fd, app->url, sizeof(app->url));

	rc = timerq_create(&app->timers, (uint64_t)app->cfg.timer_slack_us * 1000u);
	if (rc != 0) {
		log_error("cannot start the timer thread: %s", strerror(rc));
		close(fd);
		return -1;
	}

	memset(&hopts, 0, sizeof(hopts));
	hopts.listen_fd = fd;
	hopts.threads = app->cfg.threads;
	hopts.max_connections = app->cfg.max_connections;
	hopts.timeout_s = app->cfg.timeout_s;
	hopts.connection_memory = app->cfg.connection_memory;
	hopts.settings = settings_of(&app->cfg);
	hopts.seeded = app->cfg.seeded;
	hopts.seed = app->cfg.seed;
	hopts.timers = app->timers;
	hopts.version = PACKAGE_VERSION;
	hopts.dashboard = app->cfg.dashboard; /* issue 15 */
	if (http_start(&app->srv, &hopts, err, sizeof(err)) != 0) {
		log_error("%s", err);
		timerq_destroy(app->timers);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct app app = {.argc = argc, .argv = argv};
	char err[256];
	int sig;
	int rc; /* issue 10 */

	switch (config_load(&app.cfg, argc, argv, err, sizeof(err))) {
	case CONFIG_OK:
		break;
	case CONFIG_HELP:
		config_usage(stdout);
		config_free(&app.cfg);
		return EXIT_SUCCESS;
	case CONFIG_VERSION:
		printf("userd %s\n", PACKAGE_VERSION);
		config_free(&app.cfg);
		return EXIT_SUCCESS;
	case CONFIG_USAGE_ERROR:
		fprintf(stderr, "userd: %s\n", err);
		config_usage_hint(stderr);
		config_free(&app.cfg);
		return EXIT_USAGE;
	case CONFIG_FILE_ERROR:
		fprintf(stderr, "userd: %s\n", err);
		config_free(&app.cfg);
		return EXIT_CONFIG;
	}
	log_set_level(app.cfg.log_level);
	resolve_defaults(&app.cfg);

	/* Block the signals we wait for before any thread starts, so every
	 * thread inherits the mask and only sigtimedwait() sees them. */
	sigemptyset(&app.signals);
	sigaddset(&app.signals, SIGTERM);
	sigaddset(&app.signals, SIGINT);
	sigaddset(&app.signals, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &app.signals, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* issue 10: from here on a stalled stderr drops log lines instead of
	 * blocking; log_stop() below, last, flushes them. */
	if ((rc = log_start()) != 0)
		log_warn("logging synchronously: %s", strerror(rc));

	if (start(&app) != 0) {
		config_free(&app.cfg);
		log_stop(); /* issue 10 */
		return EXIT_FAILURE;
	}
	log_info("userd %s listening on %s", PACKAGE_VERSION, app.url);
	log_debug("threads=%u max-connections=%u timeout=%us timer-slack=%uus",
		  app.cfg.threads, app.cfg.max_connections, app.cfg.timeout_s,
		  app.cfg.timer_slack_us);
	service_ready("Serving on %s", app.url);

	for (;;) {
		sig = wait_signal(&app.signals, UINT64_MAX / 2);
		if (sig == SIGTERM || sig == SIGINT)
			break;
		if (sig == SIGHUP)
			reload(&app);
	}

	drain(&app, sig);
	http_stop(app.srv);
	timerq_destroy(app.timers);
	config_free(&app.cfg);
	log_info("stopped");
	log_stop(); /* issue 10 */
	return EXIT_SUCCESS;
}
