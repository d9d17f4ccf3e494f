/* End-to-end tests of userd as a service: the config file, SIGHUP
 * reload, readiness notification (NOTIFY_SOCKET) and socket activation
 * (systemd-socket-activate), all against the real binary. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "daemon.h"
#include "testutil.h"

static struct daemon d;
static char conf[64];
static char out[65536], err[65536];

static void write_conf(const char *text)
{
	testutil_write_temp(conf, text);
}

static void teardown(void)
{
	daemon_cleanup(&d);
	if (conf[0] != '\0')
		unlink(conf);
	conf[0] = '\0';
	unsetenv("NOTIFY_SOCKET");
}

/* The delay a reply says it was given, in ms (Server-Timing). */
static double delay_ms(const struct reply *r)
{
	char v[64];

	ck_assert_ptr_nonnull(client_header(r, "Server-Timing", v, sizeof(v)));
	ck_assert(strncmp(v, "delay;dur=", 10) == 0);
	return atof(v + 10);
}

/* Wait until the log says `text` (5 s at most). */
static bool log_says(const char *text)
{
	return daemon_log_contains(&d, text);
}

/* ---- config file ------------------------------------------------------ */

START_TEST(test_config_file_applies_and_command_line_wins)
{
	const char *args[] = {"--config", conf, "--delay-max", "60", NULL};
	struct reply r = {0};

	write_conf("# test\ndelay-min = 40\ndelay-max = 50\nlog-level = debug\n");
	ck_assert_int_eq(daemon_start(&d, args), 0);
	for (int i = 0; i < 5; i++) {
		client_request(&r, "GET", d.base, "/user/1");
		client_assert_user(&r, 1);
		ck_assert_double_ge(delay_ms(&r), 40.0);
		ck_assert_double_le(delay_ms(&r), 60.0);
	}
	client_release(&r);
	ck_assert(daemon_log_contains(&d, "debug"));
}
END_TEST

static const struct {
	const char *text;
	const char *says;
} bad_conf[] = {
	{"port = 8000\nfrobs = 1\n", ":2: unknown key 'frobs'"},
	{"delay-max = soon\n", ":1: delay-max: 'soon' is not a number"},
	{"threads = 0\n", ":1: threads: '0' is out of range"},
};

START_TEST(test_bad_config_exits_78)
{
	const char *args[] = {"--config", conf, NULL};
	int status;

	write_conf(bad_conf[_i].text);
	status = daemon_run(args, out, err, sizeof(out));
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 78);
	ck_assert_msg(strstr(err, conf) != NULL && strstr(err, bad_conf[_i].says) != NULL,
		      "stderr: %s", err);
}
END_TEST

START_TEST(test_missing_config_exits_78)
{
	const char *args[] = {"--config", "/nonexistent/userd.conf", NULL};
	int status = daemon_run(args, out, err, sizeof(out));

	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 78);
	ck_assert(strstr(err, "/nonexistent/userd.conf: No such file or directory"));
}
END_TEST

/* ---- SIGHUP ------------------------------------------------------------ */

START_TEST(test_sighup_reloads_delays)
{
	const char *args[] = {"--config", conf, NULL};
	struct reply r = {0};

	write_conf("delay-min = 0\ndelay-max = 20\n");
	ck_assert_int_eq(daemon_start(&d, args), 0);
	client_request(&r, "GET", d.base, "/user/1");
	ck_assert_double_le(delay_ms(&r), 20.0);

	write_conf("delay-min = 300\ndelay-max = 310\n");
	daemon_signal(&d, SIGHUP);
	ck_assert(log_says("reloaded: delay uniform:300:310"));
	for (int i = 0; i < 3; i++) {
		client_request(&r, "GET", d.base, "/user/2");
		client_assert_user(&r, 2);
		ck_assert_double_ge(delay_ms(&r), 300.0);
		ck_assert_double_ge(r.seconds, 0.3);
	}

	/* A broken file is reported and the running settings stay. */
	write_conf("delay-min = 0\ndelay-max = nope\n");
	daemon_signal(&d, SIGHUP);
	ck_assert(log_says("reload failed, keeping the running configuration"));
	client_request(&r, "GET", d.base, "/user/3");
	client_assert_user(&r, 3);
	ck_assert_double_ge(delay_ms(&r), 300.0);
	client_release(&r);

	/* Still healthy: a clean drain. */
	daemon_signal(&d, SIGTERM);
	ck_assert_int_eq(daemon_wait(&d, 10.0), 0);
}
END_TEST

/* ---- sd_notify ---------------------------------------------------------- */

static int notify_fd = -1;
static char notify_path[108];

static void open_notify_socket(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	snprintf(notify_path, sizeof(notify_path), "/tmp/userd-notify-%d", getpid());
	unlink(notify_path);
	notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(notify_fd, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", notify_path);
	ck_assert_int_eq(bind(notify_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setenv("NOTIFY_SOCKET", notify_path, 1);
}

static void close_notify_socket(void)
{
	close(notify_fd);
	notify_fd = -1;
	unlink(notify_path);
	unsetenv("NOTIFY_SOCKET");
}

/* Receive notifications until one contains `want` (5 s at most); the
 * matching message is copied into msg. */
static bool notified(const char *want, char *msg, size_t len)
{
	struct pollfd p = {.fd = notify_fd, .events = POLLIN};

	while (poll(&p, 1, 5000) == 1) {
		ssize_t n = recv(notify_fd, msg, len - 1, 0);

		if (n < 0)
			return false;
		msg[n] = '\0';
		if (strstr(msg, want) != NULL)
			return true;
	}
	return false;
}

/* SIGTERM: STOPPING=1 is notified and the daemon exits 0. */
static void stop_and_expect_stopping(void)
{
	char msg[512];

	daemon_signal(&d, SIGTERM);
	ck_assert(notified("STOPPING=1", msg, sizeof(msg)));
	ck_assert_int_eq(daemon_wait(&d, 10.0), 0);
	close_notify_socket();
}

START_TEST(test_notify_ready_reloading_stopping)
{
	const char *args[] = {"--config", conf, NULL};
	char msg[512];

	write_conf("delay-min = 0\ndelay-max = 100\n");
	open_notify_socket();
	ck_assert_int_eq(daemon_start(&d, args), 0);
	ck_assert(notified("READY=1", msg, sizeof(msg)));
	ck_assert_msg(strstr(msg, "STATUS=Serving on http://127.0.0.1:") != NULL, "%s", msg);

	daemon_signal(&d, SIGHUP);
	ck_assert(notified("RELOADING=1", msg, sizeof(msg)));
	ck_assert(strstr(msg, "MONOTONIC_USEC=") != NULL);
	ck_assert(notified("READY=1", msg, sizeof(msg)));

	stop_and_expect_stopping();
}
END_TEST

/* ---- socket activation ------------------------------------------------ */

/* A port that was free a moment ago. */
static unsigned free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	unsigned port;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	getsockname(fd, (struct sockaddr *)&sa, &len);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

START_TEST(test_socket_activation)
{
	static char activate[] = "/usr/bin/systemd-socket-activate";
	static char l[] = "-l", e[] = "-E", env[] = "NOTIFY_SOCKET";
	static char dmin[] = "--delay-min", vmin[] = "50";
	static char dmax[] = "--delay-max", vmax[] = "60";
	char listen_arg[64], bin[256], url[64];
	char *argv[] = {activate, l, listen_arg, e, env, bin, dmin, vmin,
			dmax, vmax, NULL};
	struct reply r = {0};
	char msg[512];
	unsigned port = free_port();

	if (access(argv[0], X_OK) != 0)
		ck_abort_msg("systemd-socket-activate is missing (apt-get install systemd)");
	snprintf(listen_arg, sizeof(listen_arg), "127.0.0.1:%u", port);
	snprintf(bin, sizeof(bin), "%s", daemon_binary());
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", port);
	open_notify_socket();
	ck_assert_int_eq(daemon_spawn(&d, argv), 0);
	/* userd starts on the first connection, on the passed socket. */
	for (int i = 0; i < 500 && !client_can_connect(port); i++)
		usleep(10000);
	client_request(&r, "GET", url, "/user/11");
	client_assert_user(&r, 11);
	ck_assert_double_ge(delay_ms(&r), 50.0);
	client_release(&r);
	ck_assert_int_eq(daemon_wait_listening(&d), 0);
	ck_assert_uint_eq(d.port, port);
	ck_assert(notified("READY=1", msg, sizeof(msg)));

	stop_and_expect_stopping();
}
END_TEST

static Suite *service_suite(void)
{
	Suite *s = suite_create("service");
	TCase *file = tcase_create("config file");
	TCase *sig = tcase_create("reload");
	TCase *sd = tcase_create("systemd");

	tcase_add_checked_fixture(file, NULL, teardown);
	tcase_add_checked_fixture(sig, NULL, teardown);
	tcase_add_checked_fixture(sd, NULL, teardown);
	tcase_add_test(file, test_config_file_applies_and_command_line_wins);
	tcase_add_loop_test(file, test_bad_config_exits_78, 0,
			    (int)(sizeof(bad_conf) / sizeof(bad_conf[0])));
	tcase_add_test(file, test_missing_config_exits_78);
	tcase_add_test(sig, test_sighup_reloads_delays);
	tcase_add_test(sd, test_notify_ready_reloading_stopping);
	tcase_add_test(sd, test_socket_activation);
	suite_add_tcase(s, file);
	suite_add_tcase(s, sig);
	suite_add_tcase(s, sd);
	return s;
}

int main(void)
{
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = testutil_run(service_suite());
	curl_global_cleanup();
	return rc;
}
