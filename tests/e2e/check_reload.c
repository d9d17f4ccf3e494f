/* End-to-end tests of the settings in force: one owner across threads
 * (reloads racing the control API and user traffic), every reloadable
 * option changed by PATCH and by SIGHUP doing what it controls, and the
 * control API's round trips (GET then PATCH or PUT back) being
 * identities. */
#include <check.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "config.h"
#include "daemon.h"
#include "testutil.h"

static struct daemon d;
static unsigned admin_port;
static char conf[64];

static void teardown(void)
{
	daemon_cleanup(&d);
	if (conf[0] != '\0')
		unlink(conf);
	conf[0] = '\0';
}

/* Start userd with `args` and take the control API's port from its log
 * ("control API on http://127.0.0.1:PORT"). */
static void start_with_admin(const char *const args[])
{
	char log[1 << 14];
	const char *p;

	ck_assert_int_eq(daemon_start(&d, args), 0);
	daemon_log_read(&d, log, sizeof(log));
	p = strstr(log, "control API on http://127.0.0.1:");
	ck_assert_msg(p != NULL, "no control API in the log: %s", log);
	admin_port = (unsigned)atoi(p + strlen("control API on http://127.0.0.1:"));
	ck_assert_uint_gt(admin_port, 0);
}

/* One request on its own connection ("Connection: close"), the whole
 * answer into buf.  Returns the status, or 0 when there was none.  Safe
 * from any thread (no Check assertion). */
static int call(unsigned port, const char *method, const char *path, const char *body,
		char *buf, size_t len)
{
	char req[2048];
	int n, status = 0;

	n = snprintf(req, sizeof(req),
		     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
		     "Content-Length: %zu\r\n\r\n%s",
		     method, path, body != NULL ? strlen(body) : 0,
		     body != NULL ? body : "");
	if (n < 0 || (size_t)n >= sizeof(req))
		return 0;
	if (client_raw(port, req, (size_t)n, buf, len) > 12)
		sscanf(buf, "HTTP/1.1 %d", &status);
	return status;
}

/* ---- one owner of the settings ---------------------------------------- */

static atomic_bool stress_stop;
static atomic_uint stress_bad;   /* answers that were not what they must be */
static atomic_uint stress_calls;
static char stress_first_bad[128]; /* what the first wrong answer was */

static void stress_wrong(const char *method, const char *path, int status)
{
	if (atomic_fetch_add(&stress_bad, 1) == 0)
		snprintf(stress_first_bad, sizeof(stress_first_bad), "%s %s: %d", method,
			 path, status);
}

/* Every control endpoint, round and round. */
static void *stress_control(void *arg)
{
	static const struct {
		const char *method, *path, *body;
	} calls[] = {
		{"PUT", "/rules", "[{\"match\": {\"ids\": \"7\"}, \"fault\": \"status:500\", "
				  "\"delay\": \"quantiles:50=1,99=2\"}]"},
		{"GET", "/rules", NULL},
		{"PATCH", "/config", "{\"error-rate\": 0.001, "
				     "\"delay\": \"quantiles:50=0.5,99=1\"}"},
		{"GET", "/config", NULL},
		{"POST", "/config/reset", ""},
		{"GET", "/stats", NULL},
		{"PUT", "/rules", "[]"},
	};
	char buf[16384];

	(void)arg;
	for (size_t i = 0; !atomic_load(&stress_stop); i = (i + 1) % 7) {
		int status = call(admin_port, calls[i].method, calls[i].path, calls[i].body,
				  buf, sizeof(buf));

		if (status != 200)
			stress_wrong(calls[i].method, calls[i].path, status);
		atomic_fetch_add(&stress_calls, 1);
	}
	return NULL;
}

/* User traffic that reads the settings and rules in force. */
static void *stress_users(void *arg)
{
	static const char *const paths[] = {"/user/5", "/users?ids=5,7,9", "/user/7",
					    "/metrics", "/live", "/readyz"};
	char buf[16384];

	(void)arg;
	for (size_t i = 0; !atomic_load(&stress_stop); i = (i + 1) % 6) {
		int status = call(d.port, "GET", paths[i], NULL, buf, sizeof(buf));

		/* user 7 may fail by rule (500), anything may fail by the
		 * PATCHed error rate (503); nothing else may. */
		if (status != 200 && status != 500 && status != 503)
			stress_wrong("GET", paths[i], status);
		atomic_fetch_add(&stress_calls, 1);
	}
	return NULL;
}

/* Thousands of reloads while every control endpoint and user traffic
 * run: the settings and rules every thread reads must never be freed
 * under it (the sanitizer stages run this too), and the daemon must
 * answer throughout and exit cleanly.  The delay models are quantiles:
 * ones, whose data is counted (delay.c): the file's, the rule's, the
 * PATCH's and PUT /rules' each pass through every copy that must take a
 * reference (snapshots, struct config, rules, the live page's model). */
START_TEST(test_reloads_race_control_and_traffic)
{
	const char *args[] = {"--config", conf, "--admin", "127.0.0.1:0",
			      "--access-log", "off", NULL};
	enum { HUPS = 5000, THREADS = 2 };
	pthread_t control[THREADS], users[THREADS];
	struct timespec t0, now;
	int status, sent = 0;

	testutil_write_temp(conf, "delay = quantiles:50=0.5,90=0.8,99=1\n"
				  "rule = ids=5 delay=quantiles:50=1,99=2\n"
				  "rule = route=/users ids=9 fault=status:500\n");
	start_with_admin(args);
	atomic_store(&stress_stop, false);
	atomic_store(&stress_bad, 0);
	atomic_store(&stress_calls, 0);
	for (int i = 0; i < THREADS; i++) {
		ck_assert_int_eq(pthread_create(&control[i], NULL, stress_control, NULL), 0);
		ck_assert_int_eq(pthread_create(&users[i], NULL, stress_users, NULL), 0);
	}
	/* Bounded in count and in time (sanitizer builds are slow). */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		if (daemon_signal(&d, SIGHUP) != 0)
			break;
		sent++;
		usleep(500);
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (sent < HUPS && now.tv_sec - t0.tv_sec < 30);
	atomic_store(&stress_stop, true);
	for (int i = 0; i < THREADS; i++) {
		pthread_join(control[i], NULL);
		pthread_join(users[i], NULL);
	}
	ck_assert_msg(sent >= 100, "only %d SIGHUPs were sent", sent);
	ck_assert_uint_gt(atomic_load(&stress_calls), 100);
	ck_assert_msg(atomic_load(&stress_bad) == 0, "%u of %u answers were wrong, "
		      "the first %s", atomic_load(&stress_bad), atomic_load(&stress_calls),
		      stress_first_bad);
	ck_assert_int_eq(daemon_signal(&d, SIGTERM), 0);
	status = daemon_wait(&d, 30);
	ck_assert_msg(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "userd did not exit 0 (wait status %d)", status);
}
END_TEST

/* ---- every reloadable option does what it says, in force ------------- */

/* GET base+path on a fresh connection within timeout_s; the reply in *r. */
static CURLcode get(struct reply *r, const char *path, long timeout_s)
{
	char url[256];

	snprintf(url, sizeof(url), "%s%s", d.base, path);
	client_prepare(r, "GET", url);
	curl_easy_setopt(r->easy, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(r->easy, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(r->easy, CURLOPT_FORBID_REUSE, 1L);
	r->code = curl_easy_perform(r->easy);
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_getinfo(r->easy, CURLINFO_TOTAL_TIME, &r->seconds);
	return r->code;
}

/* The status of GET path (0: no answer within 10 s). */
static long status_of(const char *path)
{
	struct reply r = {0};
	long status = get(&r, path, 10) == CURLE_OK ? r.status : 0;

	client_release(&r);
	return status;
}

/* Did GET path take at least `slow_s`?  (It must answer within 20 s.)
 * The delays the probes set are 1.5 s against 0, so 1 s splits them
 * with room on either side. */
static bool slow(const char *path)
{
	struct reply r = {0};
	double took;

	ck_assert_int_eq(get(&r, path, 20), CURLE_OK);
	ck_assert_int_eq(r.status, 200);
	took = r.seconds;
	client_release(&r);
	return took >= 1.0;
}

/* How many times `text` is in the daemon's log. */
static int log_count(const char *text)
{
	static char log[1 << 20];
	int n = 0;

	daemon_log_read(&d, log, sizeof(log));
	for (const char *p = log; (p = strstr(p, text)) != NULL; p += strlen(text))
		n++;
	return n;
}

static bool probe_delay(void) { return slow("/user/1"); }
static bool probe_fast(void) { return !slow("/user/1"); }
static bool probe_override_ignored(void) { return !slow("/user/1?delay=1500"); }
static bool probe_error_rate(void) { return status_of("/user/1") == 503; }
static bool probe_faults(void) { return status_of("/user/1") == 418; }
static bool probe_rule(void) { return status_of("/user/3") == 418; }
static bool probe_max_batch(void) { return status_of("/users?ids=1,2,3") == 400; }

/* Two requests at once: is one of them turned away with `status`? */
static bool turned_away(long status)
{
	static const char *const paths[] = {"/user/1", "/user/2"};
	struct reply rs[2];

	memset(rs, 0, sizeof(rs));
	client_fetch_paths(rs, 2, d.base, paths);
	return rs[0].status == status || rs[1].status == status;
}

static bool probe_busy(void) { return turned_away(503); }
static bool probe_too_many(void) { return turned_away(429); }

/* hang: does the server give up on the connection within 4 s? */
static bool probe_hang_timeout(void)
{
	struct reply r = {0};
	CURLcode rc = get(&r, "/user/1", 4);

	client_release(&r);
	ck_assert_msg(rc == CURLE_GOT_NOTHING || rc == CURLE_OPERATION_TIMEDOUT,
		      "hang: curl said %d", (int)rc);
	return rc == CURLE_GOT_NOTHING;
}

/* Is a request written to the access log (within 2 s)? */
static bool probe_access_log(void)
{
	static unsigned id = 1000;
	char path[32];

	snprintf(path, sizeof(path), "/user/%u", ++id);
	ck_assert_int_eq(status_of(path), 200);
	for (int i = 0; i < 20; i++) {
		if (log_count(path) > 0)
			return true;
		usleep(100000);
	}
	return false;
}

/* Are info lines left out of the log?  A change by the control API
 * logs one at info. */
static bool probe_log_level(void)
{
	static unsigned batch = 50;
	char body[64], buf[8192];
	int before = log_count("settings changed by the control API: max-batch");

	snprintf(body, sizeof(body), "{\"max-batch\": %u}", ++batch);
	ck_assert_int_eq(call(admin_port, "PATCH", "/config", body, buf, sizeof(buf)), 200);
	for (int i = 0; i < 20; i++) {
		if (log_count("settings changed by the control API: max-batch") > before)
			return false;
		usleep(100000);
	}
	return true;
}

/* Is a request answered up to a second late (slack 1000 ms against 0)? */
static bool probe_timer_slack(void)
{
	struct reply r = {0};
	double took;

	ck_assert_int_eq(get(&r, "/user/1?delay=1", 20), CURLE_OK);
	took = r.seconds;
	client_release(&r);
	return took >= 0.6;
}

/* On SIGTERM with a 30 s request waiting, does userd give up on it
 * (a 503) and exit within 8 s?  Ends the daemon. */
static bool probe_drain_timeout(void)
{
	const char req[] = "GET /user/1?delay=30000 HTTP/1.1\r\nHost: x\r\n\r\n";
	char buf[4096] = "";
	int fd = client_raw_open(d.port), status;
	bool exited;

	ck_assert_int_ge(fd, 0);
	ck_assert(client_raw_send(fd, req));
	for (int i = 0; i < 50 && strstr(buf, "\"in_flight\": 1") == NULL; i++) {
		ck_assert_int_eq(call(admin_port, "GET", "/stats", NULL, buf, sizeof(buf)), 200);
		usleep(20000);
	}
	ck_assert_int_eq(daemon_signal(&d, SIGTERM), 0);
	status = daemon_wait(&d, 8);
	exited = status >= 0;
	if (exited) {
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);
		ck_assert_int_gt(client_raw_answer(fd, buf, sizeof(buf), 2), 0);
		ck_assert_msg(strncmp(buf, "HTTP/1.1 503", 12) == 0, "answer: %s", buf);
	}
	close(fd);
	return exited;
}

/* One reloadable option: the settings to start from, the change (a
 * PATCH body, or for rules a PUT /rules body; and the config file a
 * reload reads), and the probe that tells whether the change is in
 * force by what the option controls.  The probe must say false before
 * the change (unless `ends_daemon`) and true after it. */
static const struct option_probe {
	const char *option;
	const char *start;   /* the config file at start */
	const char *patch;   /* PATCH /config body, or PUT /rules body for "rule" */
	const char *reload;  /* the config file for SIGHUP */
	bool (*changed)(void);
	bool ends_daemon;
} probes[] = {
	{"delay", "delay = fixed:0\n", "{\"delay\": \"fixed:1500\"}",
	 "delay = fixed:1500\n", probe_delay, false},
	{"delay-min", "delay = fixed:0\n", "{\"delay-min\": 1500}",
	 "delay = fixed:0\ndelay-min = 1500\n", probe_delay, false},
	{"delay-max", "delay = fixed:1500\n", "{\"delay-max\": 0}",
	 "delay = fixed:1500\ndelay-max = 0\n", probe_fast, false},
	{"max-delay", "delay = fixed:1500\n", "{\"max-delay\": 0}",
	 "delay = fixed:1500\nmax-delay = 0\n", probe_fast, false},
	{"no-delay-override", "delay = fixed:0\n", "{\"no-delay-override\": true}",
	 "delay = fixed:0\nno-delay-override = yes\n", probe_override_ignored, false},
	{"error-rate", "delay = fixed:0\n", "{\"error-rate\": 1}",
	 "delay = fixed:0\nerror-rate = 1\n", probe_error_rate, false},
	{"faults", "delay = fixed:0\n", "{\"faults\": \"status:418=1\"}",
	 "delay = fixed:0\nfaults = status:418=1\n", probe_faults, false},
	{"hang-timeout", "delay = fixed:0\nfaults = hang=1\nhang-timeout = 60\n",
	 "{\"hang-timeout\": 1}", "delay = fixed:0\nfaults = hang=1\nhang-timeout = 1\n",
	 probe_hang_timeout, false},
	{"rule", "delay = fixed:0\n",
	 "[{\"match\": {\"ids\": \"3\"}, \"fault\": \"status:418\"}]",
	 "delay = fixed:0\nrule = ids=3 fault=status:418\n", probe_rule, false},
	{"max-batch", "delay = fixed:0\n", "{\"max-batch\": 2}",
	 "delay = fixed:0\nmax-batch = 2\n", probe_max_batch, false},
	{"capacity", "delay = fixed:1000\nqueue = 0\n", "{\"capacity\": 1}",
	 "delay = fixed:1000\nqueue = 0\ncapacity = 1\n", probe_busy, false},
	{"queue", "delay = fixed:1000\ncapacity = 1\n", "{\"queue\": 0}",
	 "delay = fixed:1000\ncapacity = 1\nqueue = 0\n", probe_busy, false},
	{"queue-timeout", "delay = fixed:1500\ncapacity = 1\n", "{\"queue-timeout\": 100}",
	 "delay = fixed:1500\ncapacity = 1\nqueue-timeout = 100\n", probe_busy, false},
	{"reject-status", "delay = fixed:1000\ncapacity = 1\nqueue = 0\n",
	 "{\"reject-status\": 429}",
	 "delay = fixed:1000\ncapacity = 1\nqueue = 0\nreject-status = 429\n",
	 probe_too_many, false},
	{"access-log", "delay = fixed:0\naccess-log = off\n", "{\"access-log\": \"json\"}",
	 "delay = fixed:0\naccess-log = json\n", probe_access_log, false},
	{"timer-slack", "delay = fixed:0\ntimer-slack = 0\n", "{\"timer-slack\": 1000}",
	 "delay = fixed:0\ntimer-slack = 1000\n", probe_timer_slack, false},
	{"drain-timeout", "delay = fixed:0\ndrain-timeout = 60\n", "{\"drain-timeout\": 1}",
	 "delay = fixed:0\ndrain-timeout = 1\n", probe_drain_timeout, true},
	{"log-level", "delay = fixed:0\nlog-level = info\n", "{\"log-level\": \"error\"}",
	 "delay = fixed:0\nlog-level = error\n", probe_log_level, false},
};

#define NPROBES (sizeof(probes) / sizeof(probes[0]))

/* The number of reloads userd has made. */
static double reloads(void)
{
	return client_metric(d.base, "userd_config_changes_total{source=\"reload\"}");
}

/* Every option marked reloadable (a * in --help) has a probe: a new one
 * without it fails here. */
START_TEST(test_every_reloadable_option_has_a_probe)
{
	for (size_t i = 0; i < config_option_count(); i++) {
		const char *name = config_option_name(i);
		bool found = false;

		if (!config_option_reloadable(i))
			continue;
		for (size_t k = 0; k < NPROBES; k++)
			found = found || strcmp(probes[k].option, name) == 0;
		ck_assert_msg(found, "reloadable option %s has no probe", name);
	}
	for (size_t k = 0; k < NPROBES; k++) {
		bool reloadable = false;

		for (size_t i = 0; i < config_option_count(); i++)
			if (strcmp(config_option_name(i), probes[k].option) == 0)
				reloadable = config_option_reloadable(i);
		ck_assert_msg(reloadable, "%s is not a reloadable option", probes[k].option);
	}
}
END_TEST

/* Start from the probe's file: its behaviour is not there yet. */
static const struct option_probe *probe_start(int i)
{
	const struct option_probe *p = &probes[i];
	const char *args[] = {"--config", conf, "--admin", "127.0.0.1:0", NULL};

	testutil_write_temp(conf, p->start);
	start_with_admin(args);
	if (!p->ends_daemon)
		ck_assert_msg(!p->changed(), "%s: changed before the change", p->option);
	return p;
}

/* The option changed by the control API: PATCH /config (PUT /rules). */
START_TEST(test_option_changed_by_patch)
{
	const struct option_probe *p = probe_start(_i);
	char buf[16384];
	bool rule = strcmp(p->option, "rule") == 0;

	ck_assert_int_eq(call(admin_port, rule ? "PUT" : "PATCH", rule ? "/rules" : "/config",
			      p->patch, buf, sizeof(buf)), 200);
	ck_assert_msg(p->changed(), "%s: not in force after %s", p->option, p->patch);
	if (p->ends_daemon)
		return;
	/* And back to the file's with a reset. */
	ck_assert_int_eq(call(admin_port, "POST", "/config/reset", "", buf, sizeof(buf)), 200);
	ck_assert_msg(!p->changed(), "%s: still in force after the reset", p->option);
}
END_TEST

/* The option changed in the config file and applied by SIGHUP. */
START_TEST(test_option_changed_by_reload)
{
	const struct option_probe *p = probe_start(_i);
	double before = reloads();

	testutil_write_temp(conf, p->reload);
	ck_assert_int_eq(daemon_signal(&d, SIGHUP), 0);
	for (int i = 0; i < 100 && reloads() <= before; i++)
		usleep(50000);
	ck_assert_msg(reloads() > before, "%s: no reload", p->option);
	ck_assert_msg(p->changed(), "%s: not in force after the reload", p->option);
}
END_TEST

static Suite *settings_suite(void)
{
	Suite *s = suite_create("reload");
	TCase *owner = tcase_create("owner");
	TCase *in_force = tcase_create("in force");

	tcase_add_checked_fixture(owner, NULL, teardown);
	tcase_set_timeout(owner, 120);
	tcase_add_test(owner, test_reloads_race_control_and_traffic);
	suite_add_tcase(s, owner);
	/* The probes time requests (1.5 s against 0, 1 s of slack against
	 * 0, an exit within 8 s against 60): wide margins, but timing. */
	tcase_set_tags(in_force, "timing");
	tcase_add_checked_fixture(in_force, NULL, teardown);
	tcase_set_timeout(in_force, 60);
	tcase_add_test(in_force, test_every_reloadable_option_has_a_probe);
	tcase_add_loop_test(in_force, test_option_changed_by_patch, 0, (int)NPROBES);
	tcase_add_loop_test(in_force, test_option_changed_by_reload, 0, (int)NPROBES);
	suite_add_tcase(s, in_force);
	return s;
}

int main(void)
{
	return testutil_run(settings_suite());
}
