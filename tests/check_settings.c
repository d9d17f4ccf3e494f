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
		{"PUT", "/rules", "[{\"match\": {\"ids\": \"7\"}, \"fault\": \"status:500\"}]"},
		{"GET", "/rules", NULL},
		{"PATCH", "/config", "{\"error-rate\": 0.001, \"delay\": \"fixed:1\"}"},
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
 * answer throughout and exit cleanly. */
START_TEST(test_reloads_race_control_and_traffic)
{
	const char *args[] = {"--config", conf, "--admin", "127.0.0.1:0",
			      "--access-log", "off", NULL};
	enum { HUPS = 5000, THREADS = 2 };
	pthread_t control[THREADS], users[THREADS];
	struct timespec t0, now;
	int status, sent = 0;

	testutil_write_temp(conf, "delay = fixed:1\n"
				  "rule = ids=5 delay=fixed:2\n"
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

static Suite *settings_suite(void)
{
	Suite *s = suite_create("settings");
	TCase *owner = tcase_create("owner");

	tcase_add_checked_fixture(owner, NULL, teardown);
	tcase_set_timeout(owner, 120);
	tcase_add_test(owner, test_reloads_race_control_and_traffic);
	suite_add_tcase(s, owner);
	return s;
}

int main(void)
{
	return testutil_run(settings_suite());
}
