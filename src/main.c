/* main.c - userd's life cycle, and the only file that sees every module.
 *
 * Start-up in order: configuration, resource limits, signals, listening
 * socket, timer queue, HTTP server, READY; then wait for signals (SIGHUP
 * reloads); then drain and tear everything down in reverse order.  Signals
 * are blocked in every thread and taken synchronously here with
 * sigtimedwait(2), so there is no signal handler at all.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "admin.h"
#include "config.h"
#include "fit.h"
#include "http.h"
#include "listener.h"
#include "log.h"
#include "probe.h"
#include "service.h"
#include "timerq.h"
#include "tls.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.0.0"
#endif

/* After the drain deadline, how long the 503 answers may take to leave. */
#define FLUSH_GRACE_NS (2u * 1000000000u)
/* How often the drain looks at the in-flight count. */
#define DRAIN_POLL_NS (10u * 1000000u)
/* File descriptors kept back from the connection limit: per worker an
 * epoll and an eventfd, plus the listener, stdio and some slack; and the
 * control API's ADMIN_FDS when it is on. */
#define FD_RESERVE_BASE 32u
#define FD_RESERVE_PER_THREAD 4u

struct app {
	/* As loaded at start (0 threads means "default"): a reload compares
	 * the options that need a restart with it.  Its run and rules made
	 * the first snapshot; from then on `base` and `current` say what
	 * they are. */
	struct config cfg;
	struct tls_files tls;      /* read at start; all NULL without TLS */
	struct tls_files admin_tls; /* the control API's, likewise */
	unsigned threads;          /* resolved from cfg and the machine */
	unsigned max_connections;
	int argc;
	char **argv;
	sigset_t signals;
	timerq *timers;
	struct http_server *srv;
	struct admin *admin;       /* the control API, or NULL */
	char url[96];
	/* The one owner of the run-time settings: every thread reads and
	 * changes them through these two pointers, under this lock only. */
	pthread_mutex_t settings_lock;
	struct settings *base;     /* the command line and file, as last loaded */
	struct settings *current;  /* in force: base, or what the control API made */
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

/* Resolve the settings whose defaults depend on the machine. */
static void resolve_defaults(struct app *app)
{
	rlim_t fds = raise_fd_limit();
	rlim_t reserve;

	app->threads = app->cfg.threads != 0 ? app->cfg.threads : usable_cpus();
	reserve = FD_RESERVE_BASE + (rlim_t)FD_RESERVE_PER_THREAD * app->threads +
		  (app->cfg.admin != NULL ? ADMIN_FDS : 0);
	app->max_connections = app->cfg.max_connections;
	if (app->max_connections == 0) {
		rlim_t n = fds > reserve ? fds - reserve : 1;

		app->max_connections = n > CONFIG_MAX_CONNECTIONS
			? CONFIG_MAX_CONNECTIONS : (unsigned)n;
	} else if ((rlim_t)app->max_connections + reserve > fds) {
		log_warn("--max-connections %u exceeds what the open-file limit "
			 "(%llu) allows; connections beyond it will be refused",
			 app->max_connections, (unsigned long long)fds);
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

/* A config holding the snapshot's settings and rules (not owned: do not
 * config_free it), for the table's views of them. */
static struct config view_of(const struct settings *s)
{
	struct config c;

	memset(&c, 0, sizeof(c));
	c.run = s->run;
	c.rules = s->rules;
	return c;
}

/* The snapshot in force: a reference for the caller to drop. */
static struct settings *in_force(struct app *app)
{
	struct settings *s;

	pthread_mutex_lock(&app->settings_lock);
	s = settings_ref(app->current);
	pthread_mutex_unlock(&app->settings_lock);
	return s;
}

/* How the settings in force change: the one way they do, while
 * serving. */
enum change {
	CHANGE_RELOAD, /* `next` is the new base, and in force */
	CHANGE_ADMIN,  /* `next` in force, if `expected` still is */
	CHANGE_RESET,  /* `next`, made from the base `expected`, in force, if
			* `expected` is still the base */
};

/* Apply a change under the owner's lock, tell every module that reads
 * settings, count and log it.  Returns false (nothing changed) only for
 * CHANGE_ADMIN when `expected` is no longer in force, and for
 * CHANGE_RESET when it is no longer the base. */
static bool change(struct app *app, enum change how, struct settings *expected,
		   struct settings *next)
{
	static const enum metrics_change_source sources[] = {
		[CHANGE_RELOAD] = METRICS_CHANGE_RELOAD,
		[CHANGE_ADMIN] = METRICS_CHANGE_ADMIN,
		[CHANGE_RESET] = METRICS_CHANGE_RESET,
	};
	static const char *const names[] = {
		[CHANGE_RELOAD] = "reload",
		[CHANGE_ADMIN] = "the control API",
		[CHANGE_RESET] = "the control API's reset",
	};
	struct settings *old_current, *old_base = NULL;
	struct config before, after;
	char changed[256], text[1024];

	pthread_mutex_lock(&app->settings_lock);
	if ((how == CHANGE_ADMIN && app->current != expected) ||
	    (how == CHANGE_RESET && app->base != expected)) {
		pthread_mutex_unlock(&app->settings_lock);
		return false;
	}
	if (how == CHANGE_RELOAD) {
		old_base = app->base;
		app->base = settings_ref(next);
	}
	before = view_of(app->current);
	after = view_of(next);
	config_diff(&before, &after, true, changed, sizeof(changed));
	old_current = app->current;
	app->current = settings_ref(next);
	http_set_settings(app->srv, next);
	timerq_set_slack(app->timers, (uint64_t)next->run.timer_slack_ms * 1000000u);
	log_set_level(next->run.log_level);
	metrics_config_change(http_metrics(app->srv), sources[how]);
	if (how == CHANGE_RELOAD)
		config_describe_run(&after, text, sizeof(text));
	pthread_mutex_unlock(&app->settings_lock);
	settings_unref(old_current);
	settings_unref(old_base);
	if (how == CHANGE_RELOAD)
		log_info("reloaded: %s (changed: %s)", text,
			 changed[0] != '\0' ? changed : "nothing");
	else
		log_info("settings changed by %s: %s", names[how],
			 changed[0] != '\0' ? changed : "nothing");
	return true;
}

/* The control API's view and hands: see admin.h. */
static struct settings *control_current(void *cls)
{
	return in_force(cls);
}

static bool control_replace(void *cls, struct settings *expected, struct settings *next)
{
	return change(cls, CHANGE_ADMIN, expected, next);
}

/* Back to the base, with its rules copied so that their counts and
 * schedules restart as they did at start (the base itself when out of
 * memory).  The copy is made outside the lock, and made again if a reload
 * lands in between. */
static void control_reset(void *cls)
{
	struct app *app = cls;

	for (;;) {
		struct settings *base, *fresh = NULL;
		struct rules *rules;
		bool done;

		pthread_mutex_lock(&app->settings_lock);
		base = settings_ref(app->base);
		pthread_mutex_unlock(&app->settings_lock);
		rules = rules_copy(base->rules);
		rules_start(rules, timerq_now()); /* at= counts from here */
		if (rules != NULL || base->rules == NULL)
			fresh = settings_create(&base->run, rules);
		rules_unref(rules);
		done = change(app, CHANGE_RESET, base, fresh != NULL ? fresh : base);
		settings_unref(fresh);
		settings_unref(base);
		if (done)
			return;
	}
}

/* SIGHUP: re-read the config file and apply what can change without a
 * restart (one snapshot of the settings and the rules); what the control
 * API changed is replaced.  A broken file keeps the running
 * configuration. */
static void reload(struct app *app)
{
	struct config next;
	struct settings *loaded;
	char err[256], names[256];

	service_reloading();
	if (config_load(&next, app->argc, app->argv, err, sizeof(err)) != CONFIG_OK) {
		log_error("reload failed, keeping the running configuration: %s", err);
		config_free(&next);
		service_ready("Reload failed (%s); serving on %s", err, app->url);
		return;
	}
	if (config_diff(&app->cfg, &next, false, names, sizeof(names)) > 0)
		log_warn("reload: %s: changes take effect only after a restart", names);
	rules_start(next.rules, timerq_now()); /* at= counts from here */
	loaded = settings_create(&next.run, next.rules);
	config_free(&next);
	if (loaded == NULL) {
		log_error("reload failed, keeping the running configuration: out of memory");
		service_ready("Reload failed (out of memory); serving on %s", app->url);
		return;
	}
	change(app, CHANGE_RELOAD, NULL, loaded);
	settings_unref(loaded);
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
	struct settings *now = in_force(app);
	unsigned timeout_s = now->run.drain_timeout_s;
	uint64_t start = timerq_now();
	bool hurry = false, finished;
	const char *why;
	char outcome[256];

	settings_unref(now);

	http_drain(app->srv);
	service_stopping("Draining %zu requests", http_in_flight(app->srv));
	log_info("%s: draining %zu requests (drain timeout %us)",
		 signal_name(sig), http_in_flight(app->srv), timeout_s);
	if (wait_idle(app, start + (uint64_t)timeout_s * 1000000000u, &hurry)) {
		log_info("drained in %.3f s", (double)(timerq_now() - start) / 1e9);
		return;
	}
	/* Say what clients got once they got it (a signal during the grace
	 * does not change why the wait ended). */
	why = hurry ? "second signal" : "drain timeout";
	http_flush(app->srv);
	finished = wait_idle(app, timerq_now() + FLUSH_GRACE_NS, &hurry);
	http_flush_outcome(app->srv, outcome, sizeof(outcome));
	log_warn("%s; %s", why, outcome);
	if (!finished)
		log_warn("closing %zu connections that did not finish",
			 http_in_flight(app->srv));
}

/* Open the listening socket, or take the one systemd passed. */
static int open_listener(const struct config *cfg, char *err, size_t errlen)
{
	int fd = service_listen_fd(err, errlen);

	if (fd == SERVICE_LISTEN_NONE)
		return listener_open(cfg->bind, cfg->port, cfg->reuse_port, err, errlen);
	if (fd == SERVICE_LISTEN_ERROR)
		return -1;
	if (cfg->bind != NULL || cfg->port != CONFIG_DEFAULT_PORT)
		log_info("using the socket passed by the service manager; "
			 "bind and port are ignored");
	return fd;
}

/* The index of the first byte of s[0..len) that is not visible ASCII, or
 * len. */
static size_t first_invisible(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len && (unsigned char)s[i] > ' ' && (unsigned char)s[i] < 0x7f)
		i++;
	return i;
}

/* Read the control API's token: the whole first line of `path` without
 * its line end, 1 to ADMIN_TOKEN_MAX visible ASCII characters (anything
 * else could never be sent in, or match, an Authorization header).  At
 * most ADMIN_TOKEN_MAX + 3 bytes are read, whatever the file's size.
 * Returns a malloc'd string, or NULL with a message naming the file (and
 * the limit, for a line too long) in err. */
static char *read_token(const char *path, char *err, size_t errlen)
{
	char buf[ADMIN_TOKEN_MAX + 3]; /* the token, "\r\n", one byte more */
	FILE *f = fopen(path, "r");
	char *token = NULL, *nl;
	size_t n, len, bad;

	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	n = fread(buf, 1, sizeof(buf), f);
	if (ferror(f)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		fclose(f);
		return NULL;
	}
	fclose(f);
	nl = memchr(buf, '\n', n);
	len = nl != NULL ? (size_t)(nl - buf) : n;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	if (len > ADMIN_TOKEN_MAX)
		snprintf(err, errlen, "%s: the token (the first line) is longer than %d "
			 "bytes", path, ADMIN_TOKEN_MAX);
	else if (len == 0)
		snprintf(err, errlen, "%s: the token file is empty", path);
	else if ((bad = first_invisible(buf, len)) < len)
		snprintf(err, errlen, "%s: the token may hold only visible ASCII; "
			 "byte %zu is 0x%02x", path, bad + 1, (unsigned char)buf[bad]);
	else if ((token = strndup(buf, len)) == NULL)
		snprintf(err, errlen, "%s: out of memory", path);
	explicit_bzero(buf, sizeof(buf));
	return token;
}

/* Start every module.  Returns EXIT_SUCCESS; or, having undone what
 * started, the exit status to end with: EXIT_CONFIG when the TLS files
 * were refused, EXIT_FAILURE for anything else. */
static int start(struct app *app, const char *token)
{
	struct http_options hopts;
	char err[256];
	int fd;
	int rc;

	fd = open_listener(&app->cfg, err, sizeof(err));
	if (fd < 0) {
		log_error("%s", err);
		return EXIT_FAILURE;
	}
	listener_url_scheme(fd, app->tls.cert != NULL ? "https" : "http", app->url,
			    sizeof(app->url));

	/* A connection waits on at most one deadline at a time. */
	rc = timerq_create(&app->timers, (uint64_t)app->cfg.run.timer_slack_ms * 1000000u,
			   app->max_connections);
	if (rc != 0) {
		log_error("cannot start the timer thread: %s", strerror(rc));
		close(fd);
		return EXIT_FAILURE;
	}

	memset(&hopts, 0, sizeof(hopts));
	hopts.listen_fd = fd;
	hopts.threads = app->threads;
	hopts.max_connections = app->max_connections;
	hopts.timeout_s = app->cfg.timeout_s;
	hopts.connection_memory = app->cfg.connection_memory;
	hopts.settings = app->current;
	hopts.seeded = app->cfg.seeded;
	hopts.seed = app->cfg.seed;
	hopts.timers = app->timers;
	hopts.version = PACKAGE_VERSION;
	hopts.dashboard = app->cfg.dashboard;
	hopts.journal = app->cfg.journal;
	hopts.tls_cert = app->tls.cert;
	hopts.tls_key = app->tls.key;
	hopts.tls_trust = app->tls.trust;
	rc = http_start(&app->srv, &hopts, err, sizeof(err));
	if (rc == HTTP_START_TLS) {
		log_error("%s, %s%s%s: %s", app->cfg.tls_cert, app->cfg.tls_key,
			  app->cfg.tls_trust != NULL ? ", " : "",
			  app->cfg.tls_trust != NULL ? app->cfg.tls_trust : "", err);
		timerq_destroy(app->timers);
		return EXIT_CONFIG;
	}
	if (rc != 0) {
		log_error("%s", err);
		timerq_destroy(app->timers);
		return EXIT_FAILURE;
	}
	if (app->cfg.admin != NULL) {
		struct admin_ops ops = {
			.current = control_current,
			.replace = control_replace,
			.reset = control_reset,
			.cls = app,
			.srv = app->srv,
		};

		if (admin_start(&app->admin, app->cfg.admin, token, &app->admin_tls, &ops,
				err, sizeof(err)) != 0) {
			log_error("%s", err);
			http_stop(app->srv);
			timerq_destroy(app->timers);
			return EXIT_FAILURE;
		}
		log_info("control API on %s%s", admin_url(app->admin),
			 token != NULL ? " (token required)" : "");
		if (!config_admin_local(&app->cfg) && app->admin_tls.cert == NULL)
			log_warn("control API on %s: plain HTTP off loopback "
				 "(--admin-insecure): the token crosses the network "
				 "in the clear", admin_url(app->admin));
	}
	return EXIT_SUCCESS;
}

/* --check URL: print the status GET URL answers with; exit 0 if it is
 * 200, 1 for another status or none, 64 for a URL probe_get() refuses. */
static int check(const char *url)
{
	char err[256];
	int status = probe_get(url, 5000, err, sizeof(err));

	if (status < 0) {
		fprintf(stderr, "userd: --check: %s\n", err);
		return status == PROBE_BAD_URL ? EXIT_USAGE : EXIT_FAILURE;
	}
	printf("%s: %d\n", url, status);
	return status == 200 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* --sample N: print N draws of the configured delay model in ms, one per
 * line.  With --seed they come from stream 0 of the seed, which no
 * connection uses (connections count from 1), so a seed prints the same
 * lines run after run.  Exit 0, or 1 when stdout fails. */
static int sample(const struct config *cfg)
{
	struct rng r;

	rng_stream(&r, cfg->seeded ? cfg->seed : rng_os_seed(), 0);
	for (unsigned i = 0; i < cfg->sample_count; i++) {
		uint64_t us = delay_draw_us(&cfg->run.delay, &r);

		if (printf("%" PRIu64 ".%03" PRIu64 "\n", us / 1000, us % 1000) < 0)
			break;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "userd: --sample: %s\n", strerror(errno));
		return EXIT_FAILURE;
	}
	return EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
	struct app app = {.argc = argc, .argv = argv};
	char err[256];
	char *token = NULL;
	int sig;
	int rc;

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
	case CONFIG_CHECK:
		rc = check(app.cfg.check_url);
		config_free(&app.cfg);
		return rc;
	case CONFIG_FIT:
		if (fit_file(app.cfg.fit_path, stdout, err, sizeof(err))) {
			rc = EXIT_SUCCESS;
		} else {
			fprintf(stderr, "userd: --fit: %s\n", err);
			rc = EXIT_CONFIG;
		}
		config_free(&app.cfg);
		return rc;
	case CONFIG_SAMPLE:
		rc = sample(&app.cfg);
		config_free(&app.cfg);
		return rc;
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
	log_set_level(app.cfg.run.log_level);
	/* The TLS files before anything starts: a bad one is a bad
	 * configuration, named like a bad config file. */
	if ((app.cfg.tls_cert != NULL &&
	     !tls_files_load(&app.tls, app.cfg.tls_cert, app.cfg.tls_key,
			     app.cfg.tls_trust, err, sizeof(err))) ||
	    (app.cfg.admin_tls_cert != NULL &&
	     !tls_files_load(&app.admin_tls, app.cfg.admin_tls_cert,
			     app.cfg.admin_tls_key, NULL, err, sizeof(err)))) {
		fprintf(stderr, "userd: %s\n", err);
		tls_files_free(&app.tls);
		config_free(&app.cfg);
		return EXIT_CONFIG;
	}
	resolve_defaults(&app);

	/* Block the signals we wait for before any thread starts, so every
	 * thread inherits the mask and only sigtimedwait() sees them. */
	sigemptyset(&app.signals);
	sigaddset(&app.signals, SIGTERM);
	sigaddset(&app.signals, SIGINT);
	sigaddset(&app.signals, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &app.signals, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* From here on a stalled stderr drops log lines instead of
	 * blocking; log_stop() below, last, flushes them. */
	if ((rc = log_start()) != 0)
		log_warn("logging synchronously: %s", strerror(rc));

	if (app.cfg.admin_token_file != NULL) {
		token = read_token(app.cfg.admin_token_file, err, sizeof(err));
		if (token == NULL) {
			fprintf(stderr, "userd: %s\n", err);
			tls_files_free(&app.tls);
			tls_files_free(&app.admin_tls);
			config_free(&app.cfg);
			log_stop();
			return EXIT_CONFIG;
		}
	}
	pthread_mutex_init(&app.settings_lock, NULL);
	rules_start(app.cfg.rules, timerq_now()); /* at= counts from here */
	app.base = settings_create(&app.cfg.run, app.cfg.rules);
	app.current = settings_ref(app.base);
	rc = app.base != NULL ? start(&app, token) : EXIT_FAILURE;
	if (token != NULL)
		explicit_bzero(token, strlen(token));
	free(token);
	if (rc != EXIT_SUCCESS) {
		if (app.base == NULL)
			fprintf(stderr, "userd: out of memory\n");
		settings_unref(app.current);
		settings_unref(app.base);
		pthread_mutex_destroy(&app.settings_lock);
		tls_files_free(&app.tls);
		tls_files_free(&app.admin_tls);
		config_free(&app.cfg);
		log_stop();
		return rc;
	}
	log_info("userd %s listening on %s", PACKAGE_VERSION, app.url);
	{
		char mhd_file[PATH_MAX];
		const char *mhd = http_library(mhd_file, sizeof(mhd_file));

		log_info("libmicrohttpd %s from %s", mhd, mhd_file);
	}
	log_debug("threads=%u max-connections=%u timeout=%us timer-slack=%ums",
		  app.threads, app.max_connections, app.cfg.timeout_s,
		  app.cfg.run.timer_slack_ms);
	service_ready("Serving on %s", app.url);

	for (;;) {
		sig = wait_signal(&app.signals, UINT64_MAX / 2);
		if (sig == SIGTERM || sig == SIGINT)
			break;
		if (sig == SIGHUP)
			reload(&app);
	}

	drain(&app, sig);
	admin_stop(app.admin);
	http_stop(app.srv);
	timerq_destroy(app.timers);
	settings_unref(app.current);
	settings_unref(app.base);
	pthread_mutex_destroy(&app.settings_lock);
	tls_files_free(&app.tls);
	tls_files_free(&app.admin_tls);
	config_free(&app.cfg);
	log_info("stopped");
	log_stop();
	return EXIT_SUCCESS;
}
