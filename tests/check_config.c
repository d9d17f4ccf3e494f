/* Unit tests for src/config.c: defaults, good and bad command lines. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "testutil.h"

#define MAX_ARGS 32

static struct config cfg;
static char err[256];

/* Parse a NULL-terminated argument list (argv[0] is added). */
static enum config_result parse(const char *const *args)
{
	static char words[MAX_ARGS + 1][64];
	char *argv[MAX_ARGS + 2];
	int argc = 0;

	/* getopt wants writable strings: copy the words. */
	strcpy(words[0], "userd");
	argv[argc++] = words[0];
	for (; *args != NULL && argc <= MAX_ARGS; args++) {
		snprintf(words[argc], sizeof(words[argc]), "%s", *args);
		argv[argc] = words[argc];
		argc++;
	}
	argv[argc] = NULL;
	err[0] = '\0';
	config_free(&cfg);
	return config_load(&cfg, argc, argv, err, sizeof(err));
}

static void setup(void)
{
	config_defaults(&cfg);
}

static void teardown(void)
{
	config_free(&cfg);
}

START_TEST(test_defaults)
{
	const char *none[] = {NULL};

	ck_assert_int_eq(parse(none), CONFIG_OK);
	ck_assert_ptr_null(cfg.bind);
	ck_assert_uint_eq(cfg.port, 8000);
	ck_assert_uint_eq(cfg.run.delay.min_ms, 500);
	ck_assert_uint_eq(cfg.run.delay.max_ms, 2000);
	ck_assert(!cfg.seeded);
	ck_assert_uint_eq(cfg.threads, 0);
	ck_assert_uint_eq(cfg.max_connections, 0);
	ck_assert_uint_eq(cfg.timeout_s, 60);
	ck_assert_uint_eq(cfg.run.drain_timeout_s, 10);
	ck_assert_int_eq(cfg.run.log_level, LOG_LEVEL_INFO);
	ck_assert_uint_eq(cfg.connection_memory, 3072);
	ck_assert(!cfg.reuse_port);
	ck_assert(cfg.run.delay_override);
	ck_assert_double_eq(cfg.run.error_rate, 0);
	ck_assert_uint_eq(cfg.run.max_batch, 100);
	ck_assert_int_eq(cfg.run.access_log, ACCESS_LOG_COMMON);
	ck_assert_uint_eq(cfg.run.delay.clamp_ms, 60000);
	ck_assert_uint_eq(cfg.run.timer_slack_ms, 2);
}
END_TEST

START_TEST(test_feature_options)
{
	const char *args[] = {"--delay", "lognormal:100:900", "--max-delay", "500",
			      "--no-delay-override", "--error-rate", "0.25",
			      "--max-batch", "7", "--access-log", "json",
			      "--timer-slack", "3", "--reuse-port",
			      "--connection-memory", "8192", NULL};

	ck_assert_int_eq(parse(args), CONFIG_OK);
	ck_assert_int_eq(cfg.run.delay.kind, DELAY_LOGNORMAL);
	ck_assert_uint_eq(cfg.run.delay.median_ms, 100);
	ck_assert_uint_eq(cfg.run.delay.p99_ms, 900);
	ck_assert_uint_eq(cfg.run.delay.clamp_ms, 500);
	ck_assert(!cfg.run.delay_override);
	ck_assert_double_eq(cfg.run.error_rate, 0.25);
	ck_assert_uint_eq(cfg.run.max_batch, 7);
	ck_assert_int_eq(cfg.run.access_log, ACCESS_LOG_JSON);
	ck_assert_uint_eq(cfg.run.timer_slack_ms, 3);
	ck_assert(cfg.reuse_port);
	ck_assert_uint_eq(cfg.connection_memory, 8192);
}
END_TEST

START_TEST(test_one_bound_moves_the_other)
{
	const char *max0[] = {"--delay-max", "0", NULL};
	const char *min9[] = {"--delay-min", "9000", NULL};

	ck_assert_int_eq(parse(max0), CONFIG_OK);
	ck_assert_uint_eq(cfg.run.delay.min_ms, 0);
	ck_assert_uint_eq(cfg.run.delay.max_ms, 0);
	ck_assert_int_eq(parse(min9), CONFIG_OK);
	ck_assert_uint_eq(cfg.run.delay.min_ms, 9000);
	ck_assert_uint_eq(cfg.run.delay.max_ms, 9000);
}
END_TEST

START_TEST(test_every_long_option)
{
	const char *args[] = {
		"--bind", "127.0.0.1", "--port", "0", "--delay-min", "0",
		"--delay-max", "3600000", "--seed", "18446744073709551615",
		"--threads", "8", "--max-connections", "19000", "--timeout", "0",
		"--drain-timeout", "3", "--log-level", "DEBUG", NULL,
	};

	ck_assert_int_eq(parse(args), CONFIG_OK);
	ck_assert_str_eq(cfg.bind, "127.0.0.1");
	ck_assert_uint_eq(cfg.port, 0);
	ck_assert_uint_eq(cfg.run.delay.min_ms, 0);
	ck_assert_uint_eq(cfg.run.delay.max_ms, 3600000);
	ck_assert(cfg.seeded);
	ck_assert_uint_eq(cfg.seed, UINT64_MAX);
	ck_assert_uint_eq(cfg.threads, 8);
	ck_assert_uint_eq(cfg.max_connections, 19000);
	ck_assert_uint_eq(cfg.timeout_s, 0);
	ck_assert_uint_eq(cfg.run.drain_timeout_s, 3);
	ck_assert_int_eq(cfg.run.log_level, LOG_LEVEL_DEBUG);
}
END_TEST

START_TEST(test_short_options_and_equals)
{
	const char *args[] = {"-b", "::1", "-p", "65535", "-s", "7", "-t", "1",
			      "-c", "10", "-l", "warn", "--delay-min=10",
			      "--delay-max=10", NULL};

	ck_assert_int_eq(parse(args), CONFIG_OK);
	ck_assert_str_eq(cfg.bind, "::1");
	ck_assert_uint_eq(cfg.port, 65535);
	ck_assert_uint_eq(cfg.seed, 7);
	ck_assert_uint_eq(cfg.threads, 1);
	ck_assert_uint_eq(cfg.max_connections, 10);
	ck_assert_int_eq(cfg.run.log_level, LOG_LEVEL_WARN);
	ck_assert_uint_eq(cfg.run.delay.min_ms, 10);
	ck_assert_uint_eq(cfg.run.delay.max_ms, 10);
}
END_TEST

START_TEST(test_help_and_version)
{
	const char *help[] = {"--port", "1", "--help", NULL};
	const char *version[] = {"-V", NULL};

	ck_assert_int_eq(parse(help), CONFIG_HELP);
	ck_assert_int_eq(parse(version), CONFIG_VERSION);
}
END_TEST

/* Each bad command line, and a word its message must contain. */
static const struct {
	const char *args[8];
	const char *says;
} bad[] = {
	{{"--frobnicate", NULL}, "unknown option '--frobnicate'"},
	{{"-x", NULL}, "unknown option '-x'"},
	{{"--port", NULL}, "needs a value"},
	{{"--port", "abc", NULL}, "--port: 'abc' is not a number"},
	{{"--port", "-1", NULL}, "not a number"},
	{{"--port", "65536", NULL}, "out of range"},
	{{"--port", "", NULL}, "a number is required"},
	{{"--port", "80x", NULL}, "not a number"},
	{{"--delay-min", "3600001", NULL}, "out of range"},
	{{"--delay-max", "1.5", NULL}, "not a number"},
	{{"--delay-min", "2500", "--delay-max", "2000", NULL}, "above delay-max"},
	{{"--delay-max", "100", "--delay-min", "101", NULL}, "above delay-max"},
	{{"--seed", "18446744073709551616", NULL}, "out of range"},
	{{"--port", "99999999999999999999999", NULL}, "out of range"},
	{{"--threads", "0", NULL}, "out of range"},
	{{"--threads", "1025", NULL}, "out of range"},
	{{"--max-connections", "0", NULL}, "out of range"},
	{{"--timeout", "86401", NULL}, "out of range"},
	{{"--drain-timeout", "x", NULL}, "not a number"},
	{{"--log-level", "loud", NULL}, "not one of"},
	{{"--bind", "", NULL}, "address is required"},
	{{"--config", "", NULL}, "file name is required"},
	{{"stray", NULL}, "unexpected argument 'stray'"},
	{{"--connection-memory", "1024", NULL}, "out of range (2048..1048576)"},
	{{"--error-rate", "-0.1", NULL}, "not a number from 0 to 1"},
	{{"--error-rate", "0.5.5", NULL}, "not a number from 0 to 1"},
	{{"--error-rate", "nan", NULL}, "not a number from 0 to 1"},
	{{"--max-batch", "10001", NULL}, "out of range"},
	{{"--timer-slack", "1001", NULL}, "out of range"},
	{{"--delay", "uniform:9:1", NULL}, "MIN is above MAX"},
	{{"--access-log", "verbose", NULL}, "not one of off, common, json"},
	{{"--admin", ":80", NULL}, "is not HOST:PORT or unix:PATH"},
	{{"--admin", "127.0.0.1", NULL}, "is not HOST:PORT or unix:PATH"},
	{{"--admin", "127.0.0.1:65536", NULL}, "is not HOST:PORT or unix:PATH"},
	{{"--admin", "[::2]:0", NULL}, "not a loopback address"},
	{{"--admin", "128.0.0.1:0", NULL}, "not a loopback address"},
	{{"--admin", "unix:sock", NULL}, "unix: needs a path"},
	/* Loopback is an address, not a prefix of a host name. */
	{{"--admin", "127.example.com:9901", NULL}, "not a loopback address"},
	/* Off loopback the token needs TLS, or a say-so to go in the clear. */
	{{"--admin", "0.0.0.0:9901", "--admin-token-file", "/t", NULL},
	 "give --admin-tls-cert and --admin-tls-key, or --admin-insecure"},
	{{"--admin", "[::]:9901", "--admin-token-file", "/t", NULL}, "in the clear"},
	{{"--admin", "127.0.0.1:0", "--admin-tls-cert", "c", NULL},
	 "admin-tls-cert needs admin-tls-key"},
	{{"--admin", "127.0.0.1:0", "--admin-tls-key", "k", NULL},
	 "admin-tls-key needs admin-tls-cert"},
	{{"--admin-tls-cert", "c", "--admin-tls-key", "k", NULL},
	 "admin-tls-cert needs admin"},
	{{"--admin", "unix:/run/a", "--admin-tls-cert", "c", "--admin-tls-key", "k"},
	 "a unix: socket is local"},
};

START_TEST(test_bad_command_lines)
{
	ck_assert_int_eq(parse(bad[_i].args), CONFIG_USAGE_ERROR);
	ck_assert_msg(strstr(err, bad[_i].says) != NULL,
		      "message '%s' lacks '%s'", err, bad[_i].says);
}
END_TEST

/* Loopback control addresses need no token; brackets are taken off. */
static const char *const local_admin[] = {"127.0.0.1:0", "127.1.2.3:9", "[::1]:0",
					  "localhost:65535", "unix:/run/userd.sock"};

START_TEST(test_local_admin_addresses)
{
	const char *args[] = {"--admin", local_admin[_i], NULL};

	ck_assert_msg(parse(args) == CONFIG_OK, "%s: %s", local_admin[_i], err);
}
END_TEST

/* Off loopback: with TLS, or plain HTTP when the operator says so. */
static const char *const open_admin[][10] = {
	{"--admin", "0.0.0.0:9901", "--admin-token-file", "/t", "--admin-insecure", NULL},
	{"--admin", "[::]:9901", "--admin-token-file", "/t", "--admin-tls-cert", "c",
	 "--admin-tls-key", "k", NULL},
};

START_TEST(test_open_admin_addresses)
{
	ck_assert_msg(parse(open_admin[_i]) == CONFIG_OK, "%s: %s", open_admin[_i][1], err);
	ck_assert_str_eq(cfg.admin, open_admin[_i][1]);
}
END_TEST

START_TEST(test_later_option_wins)
{
	const char *args[] = {"--port", "1", "--port", "2", "--bind", "a",
			      "--bind", "b", NULL};

	ck_assert_int_eq(parse(args), CONFIG_OK);
	ck_assert_uint_eq(cfg.port, 2);
	ck_assert_str_eq(cfg.bind, "b");
}
END_TEST

/* ---- the config file ------------------------------------------------ */

static char path[64];

/* Write `text` to a fresh temporary file named in `path`. */
static void write_file(const char *text, size_t len)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/userd-conf-XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
}

static void remove_file(void)
{
	if (path[0] != '\0')
		unlink(path);
	path[0] = '\0';
}

START_TEST(test_file_values_and_precedence)
{
	static const char text[] =
		"# userd settings\n"
		"\n"
		"port = 9001\n"
		"  bind=127.0.0.1   # trailing comment\n"
		"delay-min = 10\r\n"
		"delay-max\t=\t20\n"
		"seed = 5\n"
		"threads = 3\n"
		"max-connections = 100\n"
		"timeout = 7\n"
		"drain-timeout = 4\n"
		"log-level = warn\n"
		"reuse-port = yes\n"
		"no-delay-override = yes\n"
		"connection-memory = 4096\n"
		"port = 9002\n"; /* later line wins */
	const char *only_file[] = {"--config", path, NULL};
	const char *overridden[] = {"--port", "9100", "-f", path, "--seed", "6", NULL};

	write_file(text, sizeof(text) - 1);
	ck_assert_int_eq(parse(only_file), CONFIG_OK);
	ck_assert_uint_eq(cfg.port, 9002);
	ck_assert_str_eq(cfg.bind, "127.0.0.1");
	ck_assert_uint_eq(cfg.run.delay.min_ms, 10);
	ck_assert_uint_eq(cfg.run.delay.max_ms, 20);
	ck_assert_uint_eq(cfg.seed, 5);
	ck_assert_uint_eq(cfg.threads, 3);
	ck_assert_uint_eq(cfg.max_connections, 100);
	ck_assert_uint_eq(cfg.timeout_s, 7);
	ck_assert_uint_eq(cfg.run.drain_timeout_s, 4);
	ck_assert_int_eq(cfg.run.log_level, LOG_LEVEL_WARN);
	ck_assert_str_eq(cfg.config_path, path);
	ck_assert(cfg.reuse_port);
	ck_assert(!cfg.run.delay_override);
	ck_assert_uint_eq(cfg.connection_memory, 4096);

	/* The command line wins, wherever --config stands in it. */
	ck_assert_int_eq(parse(overridden), CONFIG_OK);
	ck_assert_uint_eq(cfg.port, 9100);
	ck_assert_uint_eq(cfg.seed, 6);
	ck_assert_uint_eq(cfg.run.delay.max_ms, 20);
	remove_file();
}
END_TEST

START_TEST(test_empty_file_gives_defaults)
{
	const char *args[] = {"--config", path, NULL};

	write_file("", 0);
	ck_assert_int_eq(parse(args), CONFIG_OK);
	ck_assert_uint_eq(cfg.port, 8000);
	ck_assert_uint_eq(cfg.run.delay.max_ms, 2000);
	remove_file();
}
END_TEST

/* Each bad file, and what its message must say (after "PATH:"). */
static const struct {
	const char *text;
	size_t len; /* 0: strlen(text) */
	const char *says;
} bad_files[] = {
	{"port = 1\nnope = 2\n", 0, ":2: unknown key 'nope'"},
	{"port = abc\n", 0, ":1: port: 'abc' is not a number"},
	{"# c\nport = 70000\n", 0, ":2: port: '70000' is out of range"},
	{"just words\n", 0, ":1: expected 'key = value'"},
	{"bind =\n", 0, ":1: bind: a value is required"},
	{"config = /etc/other\n", 0, ":1: unknown key 'config'"},
	{"help = yes\n", 0, ":1: unknown key 'help'"},
	{"log-level = shouty\n", 0, ":1: log-level: 'shouty' is not one of"},
	{"delay-min = 3000\ndelay-max = 2000\n", 0, "delay-min (3000) is above delay-max (2000)"},
	{"port = 1\0port = 2\n", 18, ":1: NUL byte in line"},
	{" = 5\n", 0, ":1: unknown key ''"},
	{"reuse-port = maybe\n", 0, ":1: reuse-port: 'maybe' is not yes or no"},
	{"no-delay-override = 1\n", 0, ":1: no-delay-override: '1' is not yes or no"},
	{"admin = 0.0.0.0:9901\nadmin-token-file = /t\n", 0, "--admin-insecure"},
	{"admin-insecure = sure\n", 0, ":1: admin-insecure: 'sure' is not yes or no"},
};

START_TEST(test_bad_files)
{
	const char *args[] = {"--config", path, NULL};
	size_t len = bad_files[_i].len ? bad_files[_i].len : strlen(bad_files[_i].text);

	write_file(bad_files[_i].text, len);
	ck_assert_int_eq(parse(args), CONFIG_FILE_ERROR);
	ck_assert_msg(strncmp(err, path, strlen(path)) == 0, "no file name: %s", err);
	ck_assert_msg(strstr(err, bad_files[_i].says) != NULL,
		      "message '%s' lacks '%s'", err, bad_files[_i].says);
	/* On error only defaults remain. */
	ck_assert_uint_eq(cfg.port, 8000);
	remove_file();
}
END_TEST

START_TEST(test_admin_insecure_in_a_file)
{
	static const char text[] = "admin = 0.0.0.0:9901\nadmin-token-file = /t\n"
				   "admin-insecure = yes\n";
	const char *args[] = {"--config", path, NULL};

	write_file(text, sizeof(text) - 1);
	ck_assert_msg(parse(args) == CONFIG_OK, "%s", err);
	ck_assert(cfg.admin_insecure);
	remove_file();
}
END_TEST

START_TEST(test_long_line)
{
	const char *args[] = {"--config", path, NULL};
	char text[2048];

	memset(text, ' ', sizeof(text));
	memcpy(text + sizeof(text) - 10, "port = 1\n", 9);
	write_file(text, sizeof(text) - 1);
	ck_assert_int_eq(parse(args), CONFIG_FILE_ERROR);
	ck_assert_msg(strstr(err, ":1: line longer than") != NULL, "%s", err);
	remove_file();
}
END_TEST

START_TEST(test_unreadable_file)
{
	const char *args[] = {"--config", "/nonexistent/userd.conf", NULL};

	ck_assert_int_eq(parse(args), CONFIG_FILE_ERROR);
	ck_assert_str_eq(err, "/nonexistent/userd.conf: No such file or directory");
}
END_TEST

START_TEST(test_usage_error_beats_file)
{
	const char *args[] = {"--config", "/nonexistent", "--bogus", NULL};

	ck_assert_int_eq(parse(args), CONFIG_USAGE_ERROR);
}
END_TEST

/* ---- the table drives the rest -------------------------------------- */

/* Does the file $srcdir/`rel` contain `text`? */
static bool source_file_has(const char *rel, const char *text)
{
	static char buf[1 << 17];

	testutil_read_source(rel, buf, sizeof(buf));
	return strstr(buf, text) != NULL;
}

/* Every option of the table is in --help, in userd(8), and, if it may be
 * a file key, in userd.conf(5) and the shipped userd.conf. */
START_TEST(test_every_option_is_documented)
{
	char *help = NULL, want[96];
	size_t len = 0;
	FILE *out = open_memstream(&help, &len);

	ck_assert_ptr_nonnull(out);
	config_usage(out);
	fclose(out);
	for (size_t i = 0; i < config_option_count(); i++) {
		const char *name = config_option_name(i);

		snprintf(want, sizeof(want), "--%s", name);
		ck_assert_msg(strstr(help, want) != NULL, "--help lacks %s", want);
		snprintf(want, sizeof(want), "Fl \\-%s", name);
		ck_assert_msg(source_file_has("man/userd.8", want), "userd.8 lacks %s", name);
		if (!config_option_in_file(i))
			continue;
		snprintf(want, sizeof(want), "Cm %s", name);
		ck_assert_msg(source_file_has("man/userd.conf.5", want),
			      "userd.conf.5 lacks %s", name);
		snprintf(want, sizeof(want), "\n#%s = ", name);
		ck_assert_msg(source_file_has("etc/userd.conf", want),
			      "etc/userd.conf lacks %s", name);
	}
	free(help);
}
END_TEST

/* The value of the option named `name` in cfg, as text. */
static const char *value_of(const char *name)
{
	static char buf[CONFIG_VALUE_MAX];

	for (size_t i = 0; i < config_option_count(); i++)
		if (strcmp(config_option_name(i), name) == 0)
			return config_option_value(&cfg, i, buf, sizeof(buf)) ? buf : NULL;
	ck_abort_msg("no option %s", name);
	return NULL;
}

START_TEST(test_values_as_text)
{
	const char *args[] = {"--delay", "lognormal:100:900", "--no-delay-override",
			      "--error-rate", "0.25", "--seed", "7", "--bind", "::1",
			      "--access-log", "json", "--log-level", "warning", NULL};

	ck_assert_int_eq(parse(args), CONFIG_OK);
	ck_assert_str_eq(value_of("delay"), "lognormal:100:900");
	ck_assert_ptr_null(value_of("delay-min")); /* part of delay */
	ck_assert_str_eq(value_of("no-delay-override"), "yes");
	ck_assert_str_eq(value_of("reuse-port"), "no");
	ck_assert_str_eq(value_of("error-rate"), "0.25");
	ck_assert_str_eq(value_of("seed"), "7");
	ck_assert_str_eq(value_of("bind"), "::1");
	ck_assert_str_eq(value_of("port"), "8000");
	ck_assert_str_eq(value_of("access-log"), "json");
	ck_assert_str_eq(value_of("log-level"), "warn");
	ck_assert_ptr_null(value_of("config"));
}
END_TEST

/* What a reload reports: the changed settings, split into those it
 * applies and those that need a restart. */
START_TEST(test_diff_and_describe)
{
	const char *before[] = {"--port", "1", "--delay", "fixed:5", NULL};
	const char *after[] = {"--port", "2", "--threads", "3", "--delay", "fixed:6",
			       "--timer-slack", "0", NULL};
	struct config a;
	char names[256], run[1024];

	ck_assert_int_eq(parse(before), CONFIG_OK);
	a = cfg;
	cfg.bind = cfg.config_path = NULL; /* now a's */
	ck_assert_int_eq(parse(after), CONFIG_OK);
	ck_assert_uint_eq(config_diff(&a, &cfg, false, names, sizeof(names)), 2);
	ck_assert_str_eq(names, "port, threads");
	ck_assert_uint_eq(config_diff(&a, &cfg, true, names, sizeof(names)), 2);
	ck_assert_str_eq(names, "delay, timer-slack");
	ck_assert_uint_eq(config_diff(&a, &a, true, names, sizeof(names)), 0);
	ck_assert_str_eq(names, "");
	config_describe_run(&cfg, run, sizeof(run));
	ck_assert_msg(strcmp(run, "delay fixed:6, max-delay 60000, no-delay-override no, "
				  "error-rate 0, faults none, hang-timeout 300, rule none, "
				  "max-batch 100, capacity 0, queue unbounded, queue-timeout 0, "
				  "reject-status 503, access-log common, timer-slack 0, "
				  "drain-timeout 10, log-level info") == 0, "%s", run);
	config_free(&a);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *good = tcase_create("good");
	TCase *badc = tcase_create("bad");
	TCase *file = tcase_create("file");

	tcase_add_checked_fixture(good, setup, teardown);
	tcase_add_checked_fixture(badc, setup, teardown);
	tcase_add_test(good, test_defaults);
	tcase_add_test(good, test_every_long_option);
	tcase_add_test(good, test_short_options_and_equals);
	tcase_add_test(good, test_help_and_version);
	tcase_add_test(good, test_later_option_wins);
	tcase_add_test(good, test_feature_options);
	tcase_add_test(good, test_one_bound_moves_the_other);
	tcase_add_test(good, test_every_option_is_documented);
	tcase_add_test(good, test_values_as_text);
	tcase_add_test(good, test_diff_and_describe);
	tcase_add_loop_test(good, test_local_admin_addresses, 0,
			    (int)(sizeof(local_admin) / sizeof(local_admin[0])));
	tcase_add_loop_test(good, test_open_admin_addresses, 0,
			    (int)(sizeof(open_admin) / sizeof(open_admin[0])));
	tcase_add_loop_test(badc, test_bad_command_lines, 0,
			    (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_checked_fixture(file, setup, teardown);
	tcase_add_test(file, test_file_values_and_precedence);
	tcase_add_test(file, test_empty_file_gives_defaults);
	tcase_add_loop_test(file, test_bad_files, 0,
			    (int)(sizeof(bad_files) / sizeof(bad_files[0])));
	tcase_add_test(file, test_admin_insecure_in_a_file);
	tcase_add_test(file, test_long_line);
	tcase_add_test(file, test_unreadable_file);
	tcase_add_test(file, test_usage_error_beats_file);
	suite_add_tcase(s, file);
	suite_add_tcase(s, good);
	suite_add_tcase(s, badc);
	return s;
}

int main(void)
{
	return testutil_run(config_suite());
}
