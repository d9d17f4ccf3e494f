/* End-to-end tests of the latency-backend features: batch fetch, delay
 * models, per-request overrides, fault injection, health and readiness,
 * metrics (checked by promtool), the access log and what --seed
 * reproduces. */
#include <check.h>
#include <inttypes.h>
#include <math.h>
#include <jansson.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"
#include "delay.h"
#include "daemon.h"
#include "testutil.h"

static struct daemon d;
static struct reply r;

static void teardown(void)
{
	client_release(&r);
	daemon_cleanup(&d);
}

static void start(const char *const args[])
{
	ck_assert_int_eq(daemon_start(&d, args), 0);
}

/* The delay a reply says it was given, in ms (Server-Timing). */
static double delay_ms(const struct reply *x)
{
	char v[64];

	ck_assert_msg(client_header(x, "Server-Timing", v, sizeof(v)) != NULL,
		      "no Server-Timing in %s", x->headers);
	ck_assert(strncmp(v, "delay;dur=", 10) == 0);
	return atof(v + 10);
}

/* Assert r is a 400 whose message contains `says`. */
static void assert_400(const char *says)
{
	client_assert_error(&r, 400);
	ck_assert_msg(strstr(r.body, says) != NULL, "body %s lacks %s", r.body, says);
}

/* GET `path`; assert a 400 whose message contains `says`. */
static void get_400(const char *path, const char *says)
{
	client_request(&r, "GET", d.base, path);
	assert_400(says);
}

/* The value of sample `name` in /metrics. */
static double metric(const char *name)
{
	return client_metric(d.base, name);
}

/* ---- batch ------------------------------------------------------------ */

START_TEST(test_batch_in_order)
{
	const char *args[] = {"--delay", "uniform:50:100", NULL};
	json_error_t jerr;
	json_t *doc;
	const long long want[] = {5, 1, 5, 9223372036854775807LL};

	start(args);
	client_request(&r, "GET", d.base, "/users?ids=5,1,5,9223372036854775807");
	ck_assert_int_eq(r.status, 200);
	doc = json_loads(r.body, 0, &jerr);
	ck_assert_msg(json_is_array(doc), "not an array: %s", r.body);
	ck_assert_uint_eq(json_array_size(doc), 4);
	for (size_t i = 0; i < 4; i++) {
		json_t *u = json_array_get(doc, i);
		char name[40];
		long long age = json_integer_value(json_object_get(u, "age"));

		ck_assert_int_eq(json_integer_value(json_object_get(u, "user_id")), want[i]);
		snprintf(name, sizeof(name), "User%lld", want[i]);
		ck_assert_str_eq(json_string_value(json_object_get(u, "name")), name);
		ck_assert(age >= 20 && age <= 40);
	}
	json_decref(doc);
	ck_assert_double_ge(delay_ms(&r), 50.0);
	ck_assert_double_ge(r.seconds, 0.05);
}
END_TEST

/* 50 ids of 200..400 ms: one wait of at most 400 ms, not the ~15 s sum,
 * and ONE timer entry for the whole batch. */
START_TEST(test_batch_is_concurrent_one_timer)
{
	const char *args[] = {"--delay", "uniform:200:400", NULL};
	char path[512] = "/users?ids=";
	pid_t child;
	int status;

	start(args);
	for (int i = 0; i < 50; i++)
		snprintf(path + strlen(path), sizeof(path) - strlen(path), "%s%d",
			 i ? "," : "", i);
	/* A second batch from a child; watch the waiting gauge meanwhile. */
	child = fork();
	if (child == 0) {
		struct reply c = {0};

		usleep(50000);
		client_request(&c, "GET", d.base, "/users?ids=1,2,3,4,5,6,7,8&delay=1500");
		_exit(c.status == 200 ? 0 : 1);
	}
	client_request(&r, "GET", d.base, path);
	ck_assert_int_eq(r.status, 200);
	ck_assert_double_ge(r.seconds, 0.2);
	ck_assert_msg(r.seconds < 2.0, "batch took %.2f s", r.seconds);
	ck_assert_double_ge(delay_ms(&r), 200.0);
	ck_assert_double_le(delay_ms(&r), 400.0);
	/* Only the child's 8-id batch waits now: one timer entry. */
	ck_assert_double_eq(metric("userd_requests_waiting"), 1);
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
END_TEST

START_TEST(test_batch_bad_lists)
{
	const char *args[] = {"--max-batch", "5", "--delay", "fixed:3000", NULL};

	start(args);
	get_400("/users", "ids: required");
	get_400("/users?ids=", "ids: the list is empty");
	get_400("/users?ids", "ids: the list is empty");
	get_400("/users?ids=1,,2", "ids: empty item at position 2");
	get_400("/users?ids=1,abc", "ids: 'abc' is not a valid user id");
	get_400("/users?ids=1,2,3,4,5,6", "ids: at most 5 ids per request");
	get_400("/users?ids=1%002", "is not a valid user id");
	/* Errors come at once, not after the 3 s delay. */
	ck_assert_double_lt(r.seconds, 1.5);
	client_request(&r, "POST", d.base, "/users?ids=1");
	client_assert_error(&r, 405);
}
END_TEST

/* ---- delay models and overrides -------------------------------------- */

START_TEST(test_fixed_model)
{
	const char *args[] = {"--delay", "fixed:150", NULL};

	start(args);
	for (int i = 0; i < 3; i++) {
		client_request(&r, "GET", d.base, "/user/1");
		client_assert_user(&r, 1);
		ck_assert_double_eq(delay_ms(&r), 150.0);
		ck_assert_double_ge(r.seconds, 0.15);
	}
}
END_TEST

START_TEST(test_lognormal_clamped_by_max_delay)
{
	const char *args[] = {"--delay", "lognormal:20:400", "--max-delay", "60", NULL};
	int at_cap = 0;

	start(args);
	for (int i = 0; i < 40; i++) {
		double ms;

		client_request(&r, "GET", d.base, "/user/2");
		client_assert_user(&r, 2);
		ms = delay_ms(&r);
		ck_assert_double_le(ms, 60.0);
		ck_assert_double_gt(ms, 0.0);
		at_cap += ms == 60.0;
	}
	/* P(draw > 60 ms) is about 22% here: some hit the cap. */
	ck_assert_int_gt(at_cap, 0);
}
END_TEST

/* ---- userd --sample N ------------------------------------------------- */

enum { SAMPLE_N = 100000, SAMPLE_OUT = 4 << 20 };

/* Run userd with `args` (which give --sample); return its draws in us
 * (caller frees) and their count in *n, asserting it exited 0 with one
 * "MS.UUU" line per draw.  The text is in *text (caller frees). */
static uint64_t *run_sample(const char *const args[], size_t *n, char **text)
{
	char *out = malloc(SAMPLE_OUT), *errs = malloc(SAMPLE_OUT);
	uint64_t *x = malloc(SAMPLE_N * sizeof(*x));
	int status;
	char *p;

	ck_assert(out != NULL && errs != NULL && x != NULL);
	status = daemon_run(args, out, errs, SAMPLE_OUT);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "stderr: %s", errs);
	*n = 0;
	for (p = out; *p != '\0'; p++) {
		uint64_t ms, frac;
		int used;

		ck_assert_msg(sscanf(p, "%" SCNu64 ".%3" SCNu64 "\n%n", &ms, &frac, &used) == 2 &&
			      *n < SAMPLE_N, "line %zu: %.20s", *n + 1, p);
		x[(*n)++] = ms * 1000 + frac;
		p = strchr(p, '\n');
		ck_assert_ptr_nonnull(p);
	}
	free(errs);
	*text = out;
	return x;
}

/* --sample 100000 of each model's example passes a KS test at the 1 %
 * level against the model's own CDF (the default cap, 60000 ms, applied):
 * distance below 1.628 / sqrt(100000) = 0.00515. */
START_TEST(test_sample_follows_every_model)
{
	const char *spec = delay_type_of((enum delay_kind)_i)->example;
	const char *args[] = {"--sample", "100000", "--seed", "7", "--delay", spec, NULL};
	struct delay_model m = {.clamp_ms = 60000};
	char err[160], *text;
	size_t n;
	uint64_t *x = run_sample(args, &n, &text);
	double dist;

	ck_assert_msg(delay_model_parse(spec, &m, err, sizeof(err)), "%s", err);
	ck_assert_uint_eq(n, SAMPLE_N);
	dist = testutil_ks_model(&m, x, n);
	ck_assert_msg(dist < 1.628 / sqrt(SAMPLE_N), "%s: KS distance %.5f", spec, dist);
	delay_model_unref(&m);
	free(x);
	free(text);
}
END_TEST

/* The same seed prints the same lines, another seed others; the options
 * after --sample and those of a --config file count (the cap too); a
 * count out of range is a usage error. */
START_TEST(test_sample_seed_file_and_bounds)
{
	char path[64] = "", *t1, *t2, *t3;
	const char *a1[] = {"--sample", "1000", "--seed", "3", "--delay", "exponential:50", NULL};
	const char *a2[] = {"--seed", "3", "--delay", "exponential:50", "--sample", "1000", NULL};
	const char *a3[] = {"--sample", "1000", "--seed", "4", "--delay", "exponential:50", NULL};
	const char *a4[] = {"--sample", "500", "-f", path, NULL};
	const char *bad[] = {"--sample", "0", NULL};
	size_t n;
	uint64_t *x;
	int status;

	free(run_sample(a1, &n, &t1));
	ck_assert_uint_eq(n, 1000);
	free(run_sample(a2, &n, &t2));
	free(run_sample(a3, &n, &t3));
	ck_assert_str_eq(t1, t2);
	ck_assert_str_ne(t1, t3);
	free(t1);
	free(t2);
	free(t3);

	testutil_write_temp(path, "delay = uniform:100:200\nmax-delay = 150\n");
	x = run_sample(a4, &n, &t1);
	ck_assert_uint_eq(n, 500);
	for (size_t i = 0; i < n; i++)
		ck_assert(x[i] >= 100000 && x[i] <= 150000);
	ck_assert_uint_gt(x[0] + x[1] + x[2], 300000); /* not all at 100 ms */
	free(x);
	free(t1);
	unlink(path);

	t1 = malloc(SAMPLE_OUT);
	t2 = malloc(SAMPLE_OUT);
	status = daemon_run(bad, t1, t2, 4096);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 64);
	ck_assert_msg(strstr(t2, "--sample: '0' is out of range") != NULL, "stderr: %s", t2);
	free(t1);
	free(t2);
}
END_TEST

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The two-sample Kolmogorov-Smirnov distance of x[0..n) and y[0..m)
 * (sorted here). */
static double ks_two(uint64_t *x, size_t n, uint64_t *y, size_t m)
{
	size_t i = 0, j = 0;
	double dist = 0;

	qsort(x, n, sizeof(*x), cmp_u64);
	qsort(y, m, sizeof(*y), cmp_u64);
	while (i < n && j < m) {
		uint64_t v = x[i] < y[j] ? x[i] : y[j];

		while (i < n && x[i] == v)
			i++;
		while (j < m && y[j] == v)
			j++;
		dist = fmax(dist, fabs((double)i / (double)n - (double)j / (double)m));
	}
	return dist;
}

/* The fit round trip: 20,000 draws of a known model, userd --fit on
 * them, then 20,000 draws of the quantiles: spec it prints (another
 * seed): the two samples pass a two-sample KS test at the 1 % level
 * (distance below 1.628 sqrt(2 / 20000) = 0.0163). */
START_TEST(test_fit_round_trip)
{
	static const char *const models[] = {"lognormal:80:300", "exponential:100"};
	const char *spec0 = models[_i];
	const char *a1[] = {"--sample", "20000", "--seed", "1", "--delay", spec0, NULL};
	char path[64] = "", spec[DELAY_TEXT_MAX], *text, *t2;
	const char *a2[] = {"--fit", path, NULL};
	const char *a3[] = {"--sample", "20000", "--seed", "2", "--delay", spec, NULL};
	char *fout = malloc(SAMPLE_OUT), *ferr = malloc(SAMPLE_OUT);
	uint64_t *x, *y;
	size_t n, m;
	int status;
	double dist;

	ck_assert(fout != NULL && ferr != NULL);
	x = run_sample(a1, &n, &text);
	testutil_write_temp(path, text);
	status = daemon_run(a2, fout, ferr, 65536);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "--fit: %s", ferr);
	ck_assert_msg(sscanf(fout, "%383s", spec) == 1 && strncmp(spec, "quantiles:", 10) == 0,
		      "--fit printed %s", fout);
	y = run_sample(a3, &m, &t2);
	dist = ks_two(x, n, y, m);
	ck_assert_msg(dist < 1.628 * sqrt(2.0 / 20000), "%s -> %s: two-sample KS %.4f", spec0,
		      spec, dist);
	unlink(path);
	free(x);
	free(y);
	free(text);
	free(t2);
	free(fout);
	free(ferr);
}
END_TEST

/* samples:FILE is read at start and again at each reload (a file that
 * changed changes the delays); a bad one stops the start with exit 78
 * and a message naming the file and line, and a reload onto a bad one
 * keeps the running model. */
START_TEST(test_file_models_read_at_start_and_reload)
{
	char samples[64] = "", conf[64] = "", spec[96], out[512], errs[512];
	const char *args[] = {"--config", conf, NULL};
	const char *bad[] = {"--delay", spec, NULL};
	int status;

	testutil_write_temp(samples, "5\n");
	snprintf(spec, sizeof(spec), "delay = samples:%s\n", samples);
	testutil_write_temp(conf, spec);
	start(args);
	client_request(&r, "GET", d.base, "/user/1");
	client_assert_user(&r, 1);
	ck_assert_double_eq(delay_ms(&r), 5.0);

	testutil_write_temp(samples, "# slower now\n300\n");
	ck_assert_int_eq(daemon_signal(&d, SIGHUP), 0);
	for (int i = 0; i < 100 && daemon_log_lacks(&d, "reloaded"); i++)
		usleep(50000);
	client_request(&r, "GET", d.base, "/user/2");
	client_assert_user(&r, 2);
	ck_assert_double_eq(delay_ms(&r), 300.0);

	testutil_write_temp(samples, "300\nslow\n");
	ck_assert_int_eq(daemon_signal(&d, SIGHUP), 0);
	for (int i = 0; i < 100 && daemon_log_lacks(&d, "reload failed"); i++)
		usleep(50000);
	ck_assert(daemon_log_contains(&d, ":2: 'slow' is not a number of milliseconds"));
	client_request(&r, "GET", d.base, "/user/3");
	ck_assert_double_eq(delay_ms(&r), 300.0);

	snprintf(spec, sizeof(spec), "samples:%s", samples);
	status = daemon_run(bad, out, errs, sizeof(out));
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 78, "status %d: %s", status,
		      errs);
	ck_assert_msg(strstr(errs, samples) != NULL &&
		      strstr(errs, ":2: 'slow' is not a number") != NULL, "stderr: %s", errs);
	unlink(samples);
	unlink(conf);
}
END_TEST

START_TEST(test_delay_override)
{
	const char *args[] = {"--delay", "fixed:2000", "--max-delay", "5000", NULL};

	start(args);
	client_request(&r, "GET", d.base, "/user/3?delay=0");
	client_assert_user(&r, 3);
	ck_assert_double_eq(delay_ms(&r), 0.0);
	ck_assert_double_lt(r.seconds, 1.0);
	client_request(&r, "GET", d.base, "/user/3?delay=300");
	client_assert_user(&r, 3);
	ck_assert_double_eq(delay_ms(&r), 300.0);
	ck_assert_double_ge(r.seconds, 0.3);
	client_request(&r, "GET", d.base, "/users?ids=1,2&delay=100");
	ck_assert_int_eq(r.status, 200);
	ck_assert_double_eq(delay_ms(&r), 100.0);

	get_400("/user/3?delay=5001", "delay: at most 5000 ms");
	get_400("/user/3?delay=abc", "delay: 'abc' is not a number of milliseconds");
	get_400("/user/3?delay=-1", "is not a number");
	get_400("/user/3?delay=", "is not a number");
	get_400("/users?ids=1&delay=1.5", "is not a number");
}
END_TEST

START_TEST(test_no_delay_override)
{
	const char *args[] = {"--delay", "fixed:100", "--no-delay-override", NULL};

	start(args);
	client_request(&r, "GET", d.base, "/user/4?delay=0");
	client_assert_user(&r, 4);
	ck_assert_double_eq(delay_ms(&r), 100.0);
	client_request(&r, "GET", d.base, "/user/4?delay=abc"); /* ignored too */
	client_assert_user(&r, 4);
}
END_TEST

/* ---- faults ----------------------------------------------------------- */

START_TEST(test_fail_param)
{
	const char *args[] = {"--delay", "fixed:200", NULL};

	start(args);
	client_request(&r, "GET", d.base, "/user/5?fail=1");
	client_assert_error(&r, 503);
	ck_assert(strstr(r.body, "injected fault") != NULL);
	ck_assert_double_ge(r.seconds, 0.2); /* after its delay */
	client_request(&r, "GET", d.base, "/users?ids=1,2&fail=true");
	client_assert_error(&r, 503);
	client_request(&r, "GET", d.base, "/user/5?fail=0");
	client_assert_user(&r, 5);
	get_400("/user/5?fail=maybe", "fail: 'maybe' is not 1, 0, true or false");
	ck_assert_double_eq(metric("userd_faults_injected_total{kind=\"status\"}"), 2);
	ck_assert_double_eq(metric("userd_requests_total{route=\"/user\",code=\"503\"}"), 1);
}
END_TEST

START_TEST(test_error_rate)
{
	enum { N = 200 };
	const char *all[] = {"--delay", "fixed:0", "--error-rate", "1", NULL};
	const char *half[] = {"--delay", "fixed:0", "--error-rate", "0.5", NULL};
	int fails = 0;

	start(all);
	for (int i = 0; i < 5; i++) {
		client_request(&r, "GET", d.base, "/user/6");
		client_assert_error(&r, 503);
	}
	client_release(&r);
	daemon_cleanup(&d);

	start(half);
	for (int i = 0; i < N; i++) {
		client_request(&r, "GET", d.base, "/user/6");
		ck_assert(r.status == 200 || r.status == 503);
		fails += r.status == 503;
	}
	/* Binomial(200, 0.5): mean 100, sd ~7; 60..140 is ±5.6 sd. */
	ck_assert_msg(fails > 60 && fails < 140, "%d of %d failed", fails, N);
	ck_assert_double_eq(metric("userd_faults_injected_total{kind=\"status\"}"), fails);
}
END_TEST

/* ---- health and readiness --------------------------------------------- */

START_TEST(test_health_ready_and_drain)
{
	const char *args[] = {"--delay", "fixed:1500", NULL};
	struct reply h = {0};
	pid_t child;
	int status;

	start(args);
	client_request(&r, "GET", d.base, "/healthz");
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "{\"status\": \"ok\"}");
	client_request(&h, "GET", d.base, "/readyz");
	ck_assert_int_eq(h.status, 200);
	ck_assert_str_eq(h.body, "{\"status\": \"ready\"}");
	ck_assert_double_lt(h.seconds, 1.0);
	client_request(&h, "POST", d.base, "/readyz");
	client_assert_error(&h, 405);

	/* A slow request keeps the drain going while the two open
	 * connections ask again. */
	child = fork();
	if (child == 0) {
		struct reply c = {0};

		client_request(&c, "GET", d.base, "/user/1");
		_exit(c.status == 200 ? 0 : 1);
	}
	usleep(300000);
	daemon_signal(&d, SIGTERM);
	usleep(200000);
	client_request(&h, "GET", d.base, "/readyz");
	ck_assert_int_eq(h.status, 503);
	ck_assert_str_eq(h.body, "{\"status\": \"draining\"}");
	client_request(&r, "GET", d.base, "/healthz");
	ck_assert_int_eq(r.status, 200);
	client_release(&h);
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(daemon_wait(&d, 10.0), 0);
}
END_TEST

/* ---- metrics ---------------------------------------------------------- */

START_TEST(test_metrics_counts_and_promtool)
{
	const char *args[] = {"--delay", "fixed:20", NULL};
	char path[64], cmd[160];
	FILE *f;

	start(args);
	for (int i = 0; i < 3; i++) {
		client_request(&r, "GET", d.base, "/user/1");
		client_assert_user(&r, 1);
	}
	client_request(&r, "GET", d.base, "/user/x");
	client_request(&r, "GET", d.base, "/nope");
	client_request(&r, "GET", d.base, "/users?ids=1,2");
	client_request(&r, "GET", d.base, "/healthz");
	client_request(&r, "GET", d.base, "/readyz");

	ck_assert_double_eq(metric("userd_requests_total{route=\"/user\",code=\"200\"}"), 3);
	ck_assert_double_eq(metric("userd_requests_total{route=\"/user\",code=\"400\"}"), 1);
	ck_assert_double_eq(metric("userd_requests_total{route=\"other\",code=\"404\"}"), 1);
	ck_assert_double_eq(metric("userd_requests_total{route=\"/users\",code=\"200\"}"), 1);
	/* Health, readiness and metrics are not user traffic. */
	ck_assert_double_eq(metric("userd_request_duration_seconds_count{route=\"other\"}"), 1);
	ck_assert_double_eq(metric("userd_timer_lateness_seconds_count"), 4);
	ck_assert_double_eq(metric("userd_requests_waiting"), 0);
	ck_assert_double_eq(metric("userd_ready"), 1);
	ck_assert_double_ge(metric("userd_connections"), 1);

	client_request(&r, "GET", d.base, "/metrics");
	ck_assert_int_eq(r.status, 200);
	{
		char type[80];

		client_header(&r, "Content-Type", type, sizeof(type));
		ck_assert_str_eq(type, "text/plain; version=0.0.4; charset=utf-8");
	}
	snprintf(path, sizeof(path), "/tmp/userd-metrics-%d.txt", getpid());
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(r.body, f);
	fclose(f);
	if (access("/usr/bin/promtool", X_OK) != 0)
		ck_abort_msg("promtool is missing (apt-get install prometheus)");
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s", path);
	ck_assert_msg(system(cmd) == 0, "promtool rejected /metrics:\n%s", r.body);
	unlink(path);
}
END_TEST

/* userd says which libmicrohttpd it runs on, at start and in
 * userd_build_info: the file the kernel shows mapped into the process, and
 * the version that library reports (the test process loads the same one,
 * LD_LIBRARY_PATH included). */
START_TEST(test_says_which_libmicrohttpd)
{
	const char *args[] = {NULL};
	char maps[64], line[1024], file[1024] = "", want[2200];
	FILE *f;

	start(args);
	snprintf(maps, sizeof(maps), "/proc/%d/maps", (int)d.pid);
	f = fopen(maps, "r");
	ck_assert_ptr_nonnull(f);
	while (file[0] == '\0' && fgets(line, sizeof(line), f) != NULL) {
		char *p = strchr(line, '/');

		if (p != NULL && strstr(p, "/libmicrohttpd") != NULL) {
			p[strcspn(p, "\n")] = '\0';
			snprintf(file, sizeof(file), "%s", p);
		}
	}
	fclose(f);
	ck_assert_msg(file[0] == '/', "no libmicrohttpd mapped in %s", maps);

	snprintf(want, sizeof(want), "libmicrohttpd %s from %s\n", MHD_get_version(), file);
	ck_assert_msg(daemon_log_contains(&d, want), "no line \"%s\" in the log", want);
	snprintf(want, sizeof(want), "libmicrohttpd=\"%s\",libmicrohttpd_file=\"%s\",",
		 MHD_get_version(), file);
	client_request(&r, "GET", d.base, "/metrics");
	ck_assert_int_eq(r.status, 200);
	ck_assert_msg(strstr(r.body, want) != NULL, "no %s in /metrics", want);
}
END_TEST

/* ---- access log ------------------------------------------------------- */

static char log_text[1 << 16];

static void read_log(void)
{
	FILE *f = fopen(d.log_path, "r");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(log_text, 1, sizeof(log_text) - 1, f);
	log_text[n] = '\0';
	fclose(f);
}

START_TEST(test_access_log_json)
{
	const char *args[] = {"--access-log", "json", "--delay", "fixed:30", NULL};
	int lines = 0;

	start(args);
	client_request(&r, "GET", d.base, "/user/7?delay=40");
	client_request(&r, "GET", d.base, "/user/%22quote%0A");
	client_request(&r, "HEAD", d.base, "/user/8");
	client_request(&r, "GET", d.base, "/healthz"); /* not logged */
	client_release(&r);
	usleep(100000);
	read_log();
	for (char *line = strtok(log_text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		json_error_t jerr;
		json_t *doc;

		if (line[0] != '{')
			continue; /* the listening line */
		doc = json_loads(line, 0, &jerr);
		ck_assert_msg(doc != NULL, "invalid JSON line: %s (%s)", line, jerr.text);
		ck_assert(json_is_string(json_object_get(doc, "client")));
		ck_assert(json_is_string(json_object_get(doc, "time")));
		ck_assert(json_is_integer(json_object_get(doc, "status")));
		ck_assert(json_is_integer(json_object_get(doc, "bytes")));
		ck_assert(json_is_number(json_object_get(doc, "delay_ms")));
		ck_assert(json_is_number(json_object_get(doc, "duration_ms")));
		if (lines == 0) {
			ck_assert_str_eq(json_string_value(json_object_get(doc, "target")),
					 "/user/7?delay=40");
			ck_assert_str_eq(json_string_value(json_object_get(doc, "method")), "GET");
			ck_assert_str_eq(json_string_value(json_object_get(doc, "client")), "127.0.0.1");
			ck_assert_int_eq(json_integer_value(json_object_get(doc, "status")), 200);
			ck_assert_double_eq(json_number_value(json_object_get(doc, "delay_ms")), 40.0);
			ck_assert_double_ge(json_number_value(json_object_get(doc, "duration_ms")), 40.0);
			ck_assert_int_gt(json_integer_value(json_object_get(doc, "bytes")), 30);
		} else if (lines == 1) {
			ck_assert_str_eq(json_string_value(json_object_get(doc, "target")),
					 "/user/\"quote\n");
			ck_assert_int_eq(json_integer_value(json_object_get(doc, "status")), 400);
		} else {
			ck_assert_str_eq(json_string_value(json_object_get(doc, "method")), "HEAD");
			ck_assert_int_eq(json_integer_value(json_object_get(doc, "bytes")), 0);
		}
		json_decref(doc);
		lines++;
	}
	ck_assert_int_eq(lines, 3);
}
END_TEST

/* The access log's "bytes" is the body the client got, whatever answered:
 * a record, a route's own error, a fault's status, and each shared answer
 * (a bad id, 404, 405, ?fail=1); nothing for HEAD. */
START_TEST(test_access_log_bytes_are_the_body_sent)
{
	static const struct {
		const char *method, *target;
	} asked[] = {
		{"GET", "/user/7"}, {"GET", "/user/abc"}, {"GET", "/nope"},
		{"POST", "/user/7"}, {"GET", "/user/7?fail=1"},
		{"GET", "/user/7?fault=status:500"}, {"GET", "/users?ids=1,x"},
		{"HEAD", "/user/abc"},
	};
	const char *args[] = {"--access-log", "json", "--delay", "fixed:0", NULL};
	size_t sent[sizeof(asked) / sizeof(asked[0])];
	size_t n = sizeof(asked) / sizeof(asked[0]), logged = 0;

	start(args);
	for (size_t i = 0; i < n; i++) {
		client_request(&r, asked[i].method, d.base, asked[i].target);
		ck_assert_int_eq(r.code, CURLE_OK);
		ck_assert_msg(strcmp(asked[i].method, "HEAD") == 0 || r.body_len > 0,
			      "%s %s: no body", asked[i].method, asked[i].target);
		sent[i] = r.body_len;
	}
	client_release(&r);
	usleep(100000);
	read_log();
	for (char *line = strtok(log_text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		json_t *doc = line[0] == '{' ? json_loads(line, 0, NULL) : NULL;
		const char *method, *target;

		if (doc == NULL)
			continue; /* the listening line */
		method = json_string_value(json_object_get(doc, "method"));
		target = json_string_value(json_object_get(doc, "target"));
		ck_assert(method != NULL && target != NULL);
		for (size_t i = 0; i < n; i++) {
			if (strcmp(method, asked[i].method) != 0 ||
			    strcmp(target, asked[i].target) != 0)
				continue;
			ck_assert_msg(json_integer_value(json_object_get(doc, "bytes")) ==
					      (json_int_t)sent[i],
				      "%s %s: the client got %zu bytes, the log says: %s",
				      method, target, sent[i], line);
			logged++;
		}
		json_decref(doc);
	}
	ck_assert_uint_eq(logged, n);
}
END_TEST

START_TEST(test_access_log_common_and_off)
{
	const char *common[] = {"--delay", "fixed:10", NULL}; /* the default */
	const char *off[] = {"--access-log", "off", "--delay", "fixed:10", NULL};

	start(common);
	client_request(&r, "GET", d.base, "/user/9?delay=25");
	client_release(&r);
	usleep(100000);
	read_log();
	ck_assert_msg(strstr(log_text, "127.0.0.1 - - [") != NULL, "%s", log_text);
	ck_assert_msg(strstr(log_text, "] \"GET /user/9?delay=25 HTTP/1.1\" 200 ") != NULL,
		      "%s", log_text);
	ck_assert_msg(strstr(log_text, " delay_ms=25.000 duration_ms=") != NULL, "%s", log_text);
	daemon_cleanup(&d);

	start(off);
	client_request(&r, "GET", d.base, "/user/9");
	client_release(&r);
	usleep(100000);
	read_log();
	ck_assert_msg(strstr(log_text, "/user/9") == NULL, "%s", log_text);
}
END_TEST

/* ---- --seed ------------------------------------------------------------ */

/* Stop userd (SIGTERM: the log is complete once it exited 0) and call
 * fn with each JSON access-log line of its log. */
static void each_access_line(void (*fn)(json_t *line, void *cls), void *cls)
{
	char *line = NULL;
	size_t cap = 0;
	FILE *f;

	daemon_signal(&d, SIGTERM);
	ck_assert_int_eq(daemon_wait(&d, 15.0), 0);
	f = fopen(d.log_path, "r");
	ck_assert_ptr_nonnull(f);
	while (getline(&line, &cap, f) > 0) {
		json_error_t jerr;
		json_t *doc;

		if (line[0] != '{')
			continue; /* not an access-log line */
		doc = json_loads(line, 0, &jerr);
		ck_assert_msg(doc != NULL, "invalid JSON line: %s", line);
		fn(doc, cls);
		json_decref(doc);
	}
	free(line);
	fclose(f);
}

struct drawn_delays {
	uint64_t *us;
	size_t n, max;
};

static void collect_delay(json_t *line, void *cls)
{
	struct drawn_delays *dd = cls;
	double ms = json_number_value(json_object_get(line, "delay_ms"));

	ck_assert_uint_lt(dd->n, dd->max);
	dd->us[dd->n++] = (uint64_t)(ms * 1000.0 + 0.5);
}

/* 2,000 requests, each on a connection of its own, under --seed: the
 * delays userd drew (its access log) and the ages it gave follow the
 * model across connections.  Delays: uniform:0:20 draws uniformly over
 * [0, 20000] us, so the KS distance to F(x) = x / 20000 must be below
 * 1.628 / sqrt(2000) = 0.0364, the critical value at the 1% level.  Ages:
 * uniform over the 21 values 20..40, about 95 each; Pearson's chi-square
 * must be below 37.57, the 1% critical value with 20 degrees of freedom.
 * Seeded, so the result is the same on every run (with concurrent
 * connections the order differs, not the set of draws).  Before the fix
 * every connection drew the same delay and age. */
START_TEST(test_seeded_draws_follow_the_model)
{
	enum { BATCH = 100, BATCHES = 20, N = BATCH * BATCHES, AGES = 21 };
	const char *args[] = {"--seed", "11", "--delay", "uniform:0:20",
			      "--access-log", "json", NULL};
	static struct reply rs[BATCH];
	static uint64_t us[N + 1];
	struct drawn_delays dd = {.us = us, .max = N + 1};
	unsigned ages[AGES] = {0};
	double ks, chi2 = 0, expected = (double)N / AGES;

	start(args);
	for (int b = 0; b < BATCHES; b++) {
		client_fetch_many(rs, BATCH, &d, 0, 0);
		for (int i = 0; i < BATCH; i++)
			ages[client_assert_user(&rs[i], i) - 20]++;
	}
	each_access_line(collect_delay, &dd);
	ck_assert_uint_eq(dd.n, N);
	ks = testutil_ks_uniform(us, N, 0, 20000);
	for (int a = 0; a < AGES; a++)
		chi2 += (ages[a] - expected) * (ages[a] - expected) / expected;
	ck_assert_msg(ks < 0.0364, "delays: KS distance %.4f (min %" PRIu64 " us, "
		      "max %" PRIu64 " us)", ks, us[0], us[N - 1]);
	ck_assert_msg(chi2 < 37.57, "ages: chi-square %.1f", chi2);
}
END_TEST

/* --faults reset=0.5 under --seed: of 400 requests, each on a connection
 * of its own, about half are reset.  Binomial(400, 0.5) has sd 10: 140 to
 * 260 is +-6 sd.  Before the fix all 400 went the same way. */
START_TEST(test_seeded_fault_share)
{
	enum { BATCH = 100, BATCHES = 4 };
	const char *args[] = {"--seed", "7", "--delay", "fixed:0", "--faults",
			      "reset=0.5", "--access-log", "off", NULL};
	static struct reply rs[BATCH];
	int reset = 0, answered = 0;

	start(args);
	for (int b = 0; b < BATCHES; b++) {
		client_fetch_many(rs, BATCH, &d, 0, 0);
		for (int i = 0; i < BATCH; i++) {
			if (rs[i].code == CURLE_OK && rs[i].status == 200)
				answered++;
			else
				reset++;
		}
	}
	ck_assert_msg(reset >= 140 && reset <= 260, "%d of %d reset, %d answered",
		      reset, BATCH * BATCHES, answered);
	ck_assert_double_eq(metric("userd_faults_injected_total{kind=\"reset\"}"), reset);
}
END_TEST

/* ---- served delays ----------------------------------------------------- */

/* What the access log says of each answer: how late it left (late_ms,
 * negative when early), the delay drawn and the time served. */
struct served {
	double late_ms[1024], delay_ms[1024], duration_ms[1024];
	size_t n;
	bool asked[1024]; /* a ?delay= */
};

static void collect_served(json_t *line, void *cls)
{
	struct served *s = cls;
	json_t *late = json_object_get(line, "late_ms");

	if (late == NULL)
		return; /* did not wait */
	ck_assert_uint_lt(s->n, 1024);
	s->late_ms[s->n] = json_number_value(late);
	s->delay_ms[s->n] = json_number_value(json_object_get(line, "delay_ms"));
	s->duration_ms[s->n] = json_number_value(json_object_get(line, "duration_ms"));
	s->asked[s->n] = strstr(json_string_value(json_object_get(line, "target")),
				"delay=") != NULL;
	s->n++;
}

/* A drawn delay is served unbiased: userd aims its timers early by the
 * lateness it measures (aim.h), so the answers leave at their deadlines
 * on average, whatever the slack.  --timer-slack 20 makes the lateness
 * large: a timer fires up to 20 ms after the earliest due deadline.
 * 8 rounds of 100 requests at once, uniform 100..200 ms; the lead
 * settles within the first two rounds (weight 1/64), so the mean
 * lateness of the last 6 (600 answers) must be within +-4 ms of 0 (its
 * sampling sd is about 6 ms / sqrt(600) = 0.25 ms: the margin is for a
 * loaded machine).  Before the fix it was +11.8 ms.  A ?delay= is never
 * early (aimed at its deadline), nor a draw below the model's MIN. */
START_TEST(test_served_delays_are_unbiased)
{
	enum { BATCH = 100, ROUNDS = 8, SETTLE = 2 * BATCH, ASKED = 50 };
	const char *args[] = {"--timer-slack", "20", "--delay", "uniform:100:200",
			      "--access-log", "json", "--seed", "3", NULL};
	static struct reply rs[BATCH];
	static const char *paths[ASKED];
	static struct served s;
	double sum = 0;
	size_t n = 0;

	start(args);
	for (int round = 0; round < ROUNDS; round++) {
		client_fetch_many(rs, BATCH, &d, 0, 0);
		for (int i = 0; i < BATCH; i++)
			client_assert_user(&rs[i], i);
	}
	for (int i = 0; i < ASKED; i++)
		paths[i] = "/user/1?delay=120";
	client_fetch_paths(rs, ASKED, d.base, paths);
	s.n = 0;
	each_access_line(collect_served, &s);
	ck_assert_uint_eq(s.n, ROUNDS * BATCH + ASKED);
	for (size_t i = 0; i < s.n; i++) {
		if (s.asked[i]) {
			ck_assert_msg(s.late_ms[i] >= 0, "?delay=120 answered %.3f ms early",
				      -s.late_ms[i]);
			continue;
		}
		ck_assert_msg(s.duration_ms[i] >= 100.0, "uniform:100:200 served in %.3f ms "
			      "(drawn %.3f)", s.duration_ms[i], s.delay_ms[i]);
		if (i >= SETTLE) {
			sum += s.late_ms[i];
			n++;
		}
	}
	ck_assert_msg(sum / (double)n > -4.0 && sum / (double)n < 4.0,
		      "drawn delays served %.3f ms late on average (%zu answers)",
		      sum / (double)n, n);
}
END_TEST

/* A dripping answer ends when its client has read it, a second or more
 * after its deadline: that is not the lateness drawn delays are aimed
 * ahead by.  20 drips of a ~45-byte body at 100 bytes a second, then the
 * lead must still be a plain answer's (under 5 ms; before, the drips
 * fed it ~0.45 s each and it sat at its 20 ms cap). */
START_TEST(test_slow_answers_do_not_move_the_aim)
{
	enum { N = 20 };
	const char *args[] = {"--delay", "fixed:10", "--access-log", "json", NULL};
	static struct reply rs[N];
	static const char *paths[N];
	static struct served s;

	start(args);
	for (int i = 0; i < N; i++)
		paths[i] = "/user/1?fault=drip:100";
	client_fetch_paths(rs, N, d.base, paths);
	for (int i = 0; i < 5; i++) {
		client_request(&r, "GET", d.base, "/user/2");
		ck_assert_int_eq(r.status, 200);
	}
	ck_assert_double_lt(metric("userd_timer_lead_seconds"), 0.005);
	s.n = 0;
	each_access_line(collect_served, &s);
	ck_assert_uint_eq(s.n, N + 5);
}
END_TEST

enum { SEQ_ALONE = 20, SEQ_SHARED = 15, SEQ_CONNS = 3, SEQ_N = SEQ_ALONE + SEQ_SHARED };

struct seq_row {
	char target[48];
	char seen[160]; /* what the client got: status line code and body */
	char drawn[64]; /* what the access log says was drawn */
	double delay_ms;
};

static void note_drawn(json_t *line, void *cls)
{
	struct seq_row *rows = cls;
	const char *target = json_string_value(json_object_get(line, "target"));
	const char *fault = json_string_value(json_object_get(line, "fault"));

	for (int i = 0; i < SEQ_N; i++) {
		if (strcmp(rows[i].target, target) != 0)
			continue;
		ck_assert_msg(rows[i].drawn[0] == '\0', "%s logged twice", target);
		rows[i].delay_ms = json_number_value(json_object_get(line, "delay_ms"));
		snprintf(rows[i].drawn, sizeof(rows[i].drawn), "delay %.3f fault %s",
			 rows[i].delay_ms, fault != NULL ? fault : "-");
	}
}

/* GET row->target on the raw connection fd; note what came back. */
static void seq_get(int fd, struct seq_row *row)
{
	char req[128], buf[4096];
	const char *body;

	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", row->target);
	ck_assert(client_raw_send(fd, req));
	ck_assert_int_gt(client_raw_answer(fd, buf, sizeof(buf), 10.0), 0);
	body = strstr(buf, "\r\n\r\n");
	ck_assert_msg(body != NULL, "answer: %s", buf);
	snprintf(row->seen, sizeof(row->seen), "%.3s %s", buf + 9, body + 4);
}

/* One run: SEQ_ALONE requests one after another, each on a connection of
 * its own; then SEQ_CONNS connections opened one at a time (each answered
 * once on /healthz, which draws nothing, before the next is opened) take
 * SEQ_SHARED requests in turn, users batches among them.  Three worker
 * threads: the streams follow the order of accepts, not of workers. */
static void seeded_sequence(const char *seed, struct seq_row rows[SEQ_N])
{
	const char *args[] = {"--seed", seed, "--threads", "3", "--delay", "uniform:0:5",
			      "--faults", "status:500=0.3", "--access-log", "json", NULL};
	struct seq_row health;
	int fds[SEQ_CONNS];

	memset(rows, 0, SEQ_N * sizeof(*rows));
	start(args);
	for (int i = 0; i < SEQ_ALONE; i++) {
		int fd = client_raw_open(d.port);

		ck_assert_int_ge(fd, 0);
		snprintf(rows[i].target, sizeof(rows[i].target), "/user/%d", i);
		seq_get(fd, &rows[i]);
		close(fd);
	}
	snprintf(health.target, sizeof(health.target), "/healthz");
	for (int c = 0; c < SEQ_CONNS; c++) {
		fds[c] = client_raw_open(d.port);
		ck_assert_int_ge(fds[c], 0);
		seq_get(fds[c], &health);
	}
	for (int i = SEQ_ALONE; i < SEQ_N; i++) {
		if (i % 4 == 0)
			snprintf(rows[i].target, sizeof(rows[i].target),
				 "/users?ids=%d,%d,%d", i, 100 + i, 200 + i);
		else
			snprintf(rows[i].target, sizeof(rows[i].target), "/user/%d", i);
		seq_get(fds[i % SEQ_CONNS], &rows[i]);
	}
	for (int c = 0; c < SEQ_CONNS; c++)
		close(fds[c]);
	each_access_line(note_drawn, rows);
	for (int i = 0; i < SEQ_N; i++)
		ck_assert_msg(rows[i].drawn[0] != '\0', "%s not logged", rows[i].target);
	daemon_cleanup(&d);
}

/* The same seed and the same requests in the same order give the same
 * delays, ages and faults; another seed others.  And the connections do
 * not repeat each other: nearly every request drew a delay of its own
 * (before the fix the 20 lone connections all drew the same). */
START_TEST(test_seed_reproduces_without_repeating)
{
	static struct seq_row a[SEQ_N], b[SEQ_N], c[SEQ_N];
	int same = 0, distinct = 0;

	seeded_sequence("42", a);
	seeded_sequence("42", b);
	seeded_sequence("43", c);
	for (int i = 0; i < SEQ_N; i++) {
		ck_assert_str_eq(a[i].target, b[i].target);
		ck_assert_msg(strcmp(a[i].seen, b[i].seen) == 0 &&
			      strcmp(a[i].drawn, b[i].drawn) == 0,
			      "%s: seed 42 gave \"%s\" (%s), then \"%s\" (%s)", a[i].target,
			      a[i].seen, a[i].drawn, b[i].seen, b[i].drawn);
		same += strcmp(a[i].drawn, c[i].drawn) == 0;
		distinct++;
		for (int j = 0; j < i; j++) {
			if (a[i].delay_ms == a[j].delay_ms) {
				distinct--;
				break;
			}
		}
	}
	/* Delays of 0..5000 us: two requests share one with a chance of
	 * about 1/5000. */
	ck_assert_msg(distinct >= SEQ_N - 3, "only %d distinct delays in %d requests",
		      distinct, SEQ_N);
	ck_assert_msg(same <= 3, "seeds 42 and 43 drew the same for %d of %d requests",
		      same, SEQ_N);
}
END_TEST

static Suite *features_suite(void)
{
	Suite *s = suite_create("features");
	TCase *batch = tcase_create("batch");
	TCase *delays = tcase_create("delays");
	TCase *faults = tcase_create("faults");
	TCase *ops = tcase_create("operations");
	TCase *seed = tcase_create("seed");
	TCase *served = tcase_create("served");

	tcase_set_tags(served, "timing");
	tcase_add_checked_fixture(served, NULL, teardown);
	tcase_add_test(served, test_served_delays_are_unbiased);
	tcase_add_test(served, test_slow_answers_do_not_move_the_aim);
	tcase_add_checked_fixture(batch, NULL, teardown);
	tcase_add_checked_fixture(delays, NULL, teardown);
	tcase_add_checked_fixture(faults, NULL, teardown);
	tcase_add_checked_fixture(ops, NULL, teardown);
	tcase_add_checked_fixture(seed, NULL, teardown);
	tcase_add_test(batch, test_batch_in_order);
	tcase_add_test(batch, test_batch_is_concurrent_one_timer);
	tcase_add_test(batch, test_batch_bad_lists);
	tcase_add_test(delays, test_fixed_model);
	tcase_add_test(delays, test_lognormal_clamped_by_max_delay);
	tcase_add_test(delays, test_delay_override);
	tcase_add_loop_test(delays, test_sample_follows_every_model, 0, DELAY_KINDS);
	tcase_add_test(delays, test_sample_seed_file_and_bounds);
	tcase_add_test(delays, test_file_models_read_at_start_and_reload);
	tcase_add_loop_test(delays, test_fit_round_trip, 0, 2);
	tcase_add_test(delays, test_no_delay_override);
	tcase_add_test(faults, test_fail_param);
	tcase_add_test(faults, test_error_rate);
	tcase_add_test(ops, test_health_ready_and_drain);
	tcase_add_test(ops, test_metrics_counts_and_promtool);
	tcase_add_test(ops, test_says_which_libmicrohttpd);
	tcase_add_test(ops, test_access_log_json);
	tcase_add_test(ops, test_access_log_bytes_are_the_body_sent);
	tcase_add_test(ops, test_access_log_common_and_off);
	tcase_add_test(seed, test_seeded_draws_follow_the_model);
	tcase_add_test(seed, test_seeded_fault_share);
	tcase_add_test(seed, test_seed_reproduces_without_repeating);
	suite_add_tcase(s, batch);
	suite_add_tcase(s, delays);
	suite_add_tcase(s, faults);
	suite_add_tcase(s, ops);
	suite_add_tcase(s, seed);
	suite_add_tcase(s, served);
	return s;
}

int main(void)
{
	int rc;

	testutil_chdir_srcdir(); /* the models' example files */
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = testutil_run(features_suite());
	curl_global_cleanup();
	return rc;
}
