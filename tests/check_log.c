/* Unit tests for src/log.c: levels, the synchronous path, and the queue
 * with its writer thread: lines whole and in order, drops counted when
 * stderr stalls, log_stop() flushing (and giving up in bounded time).
 *
 * Each test puts stderr (fd 2) on a pipe the test reads, or does not read
 * to stall it, and puts the real stderr back afterwards. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "testutil.h"

static int saved_stderr = -1;
static int pipe_rd = -1; /* the other end of fd 2 */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void setup(void)
{
	int fds[2];

	ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
	saved_stderr = dup(STDERR_FILENO);
	ck_assert_int_ge(saved_stderr, 0);
	ck_assert_int_eq(dup2(fds[1], STDERR_FILENO), STDERR_FILENO);
	close(fds[1]);
	pipe_rd = fds[0];
}

static void teardown(void)
{
	log_stop();
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	close(pipe_rd);
	log_set_level(LOG_LEVEL_INFO);
}

/* Read the pipe into buf (NUL-terminated) until it holds `want` bytes, or
 * `seconds` pass.  Returns the bytes read. */
static size_t read_bytes(char *buf, size_t want, double seconds)
{
	double until = now_s() + seconds;
	size_t got = 0;

	while (got < want && now_s() < until) {
		struct pollfd p = {.fd = pipe_rd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, 50) <= 0)
			continue;
		n = read(pipe_rd, buf + got, want - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	return got;
}

/* Read the pipe until nothing arrives for 100 ms (at most `seconds`);
 * returns the bytes read and thrown away. */
static size_t drain(double seconds)
{
	double until = now_s() + seconds;
	size_t total = 0;
	char chunk[65536];

	while (now_s() < until) {
		struct pollfd p = {.fd = pipe_rd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, 100) <= 0)
			break;
		n = read(pipe_rd, chunk, sizeof(chunk));
		if (n <= 0)
			break;
		total += (size_t)n;
	}
	return total;
}

/* Read the pipe until `text` appears (at most `seconds`). */
static bool read_until(const char *text, double seconds)
{
	static char buf[1 << 20];
	double until = now_s() + seconds;
	size_t got = 0;

	buf[0] = '\0';
	while (strstr(buf, text) == NULL && now_s() < until) {
		struct pollfd p = {.fd = pipe_rd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, 50) <= 0)
			continue;
		if (got + 4096 >= sizeof(buf)) { /* keep the tail */
			memmove(buf, buf + got - 1024, 1024);
			got = 1024;
		}
		n = read(pipe_rd, buf + got, 4096);
		if (n <= 0)
			break;
		got += (size_t)n;
		buf[got] = '\0';
	}
	return strstr(buf, text) != NULL;
}

/* Nothing is waiting in the pipe right now. */
static bool pipe_empty(void)
{
	struct pollfd p = {.fd = pipe_rd, .events = POLLIN};

	return poll(&p, 1, 0) == 0;
}

static void put(const char *line)
{
	log_write_line(line, strlen(line));
}

/* ---- levels and the synchronous path ------------------------------------ */

START_TEST(test_level_parse_and_names)
{
	enum log_level l = LOG_LEVEL_INFO;

	ck_assert(log_level_parse("DEBUG", &l));
	ck_assert_int_eq(l, LOG_LEVEL_DEBUG);
	ck_assert(log_level_parse("warning", &l));
	ck_assert_int_eq(l, LOG_LEVEL_WARN);
	ck_assert(!log_level_parse("loud", &l));
	ck_assert_int_eq(l, LOG_LEVEL_WARN);
	ck_assert_str_eq(log_level_name(LOG_LEVEL_ERROR), "error");
}
END_TEST

START_TEST(test_sync_before_start)
{
	char buf[256];

	put("plain line\n");
	/* No writer runs: the line is in the pipe already. */
	ck_assert(!pipe_empty());
	ck_assert_uint_eq(read_bytes(buf, 11, 1.0), 11);
	ck_assert_str_eq(buf, "plain line\n");
	log_msg(LOG_LEVEL_WARN, "disk %d%% full", 93);
	log_info("started");
	log_debug("not shown at info");
	read_bytes(buf, strlen("userd: warn: disk 93% full\nstarted\n"), 1.0);
	ck_assert_str_eq(buf, "userd: warn: disk 93% full\nstarted\n");
	ck_assert(pipe_empty());
}
END_TEST

START_TEST(test_journal_prefix)
{
	char buf[256];

	/* JOURNAL_STREAM is looked at once per process: this needs Check's
	 * process per test (the default). */
	if (getenv("CK_FORK") != NULL && strcmp(getenv("CK_FORK"), "no") == 0)
		return;
	setenv("JOURNAL_STREAM", "8:1234", 1);
	ck_assert_int_eq(log_start(), 0);
	log_error("bad %s", "thing");
	log_info("hello");
	read_bytes(buf, strlen("<3>bad thing\n<6>hello\n"), 2.0);
	ck_assert_str_eq(buf, "<3>bad thing\n<6>hello\n");
	unsetenv("JOURNAL_STREAM");
}
END_TEST

/* ---- the queue ----------------------------------------------------------- */

START_TEST(test_start_twice_and_restart)
{
	char buf[64];

	ck_assert_int_eq(log_start(), 0);
	ck_assert_int_eq(log_start(), EALREADY);
	log_stop();
	log_stop(); /* harmless */
	ck_assert_int_eq(log_start(), 0);
	put("again\n");
	ck_assert_uint_eq(read_bytes(buf, 6, 2.0), 6);
	ck_assert_str_eq(buf, "again\n");
}
END_TEST

/* One thread, more lines than the pipe holds (but fewer than the queue
 * holds, with the pipe): read afterwards, all come out whole and in order. */
START_TEST(test_one_thread_whole_and_in_order)
{
	enum { LINES = 10000, LEN = 24 }; /* "line 000000 of the test\n" */
	static char want[LINES * LEN + 1], got[LINES * LEN + 1];
	uint64_t dropped = log_lines_dropped();

	ck_assert_int_eq(log_start(), 0);
	for (int i = 0; i < LINES; i++) {
		char *line = want + (size_t)i * LEN;

		snprintf(line, LEN + 1, "line %06d of the test\n", i);
		log_write_line(line, LEN);
	}
	ck_assert_uint_eq(read_bytes(got, sizeof(want) - 1, 5.0), sizeof(want) - 1);
	ck_assert(memcmp(got, want, sizeof(want) - 1) == 0);
	ck_assert_uint_eq(log_lines_dropped(), dropped);
}
END_TEST

/* 6,000 lines of 33 bytes on average: fits in the queue, so whatever the
 * reader's pace nothing is dropped. */
enum { THREADS = 4, PER_THREAD = 1500 };

static void *producer(void *arg)
{
	int t = (int)(long)arg;
	char line[64];

	for (int i = 0; i < PER_THREAD; i++) {
		int n = snprintf(line, sizeof(line), "thread %d line %05d %s\n", t, i,
				 i % 2 ? "odd" : "even, a little longer");

		log_write_line(line, (size_t)n);
	}
	return NULL;
}

/* Several threads, read while they write: every line whole, each thread's
 * lines in its order, none lost. */
START_TEST(test_threads_never_interleave)
{
	static char got[THREADS * PER_THREAD * 64];
	pthread_t th[THREADS];
	int next[THREADS] = {0}, lines = 0;
	uint64_t dropped = log_lines_dropped();
	double until = now_s() + 3.0;
	size_t used = 0;
	char *p;

	ck_assert_int_eq(log_start(), 0);
	for (long t = 0; t < THREADS; t++)
		ck_assert_int_eq(pthread_create(&th[t], NULL, producer, (void *)t), 0);
	/* Read while they write, until every line is in. */
	while (lines < THREADS * PER_THREAD && now_s() < until) {
		size_t n = read_bytes(got + used, sizeof(got) - 1 - used > 4096
				      ? 4096 : sizeof(got) - 1 - used, 0.05);

		for (size_t i = used; i < used + n; i++)
			lines += got[i] == '\n';
		used += n;
	}
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	ck_assert_uint_eq(log_lines_dropped(), dropped);
	ck_assert_int_eq(lines, THREADS * PER_THREAD);
	got[used] = '\0';
	for (char *line = strtok_r(got, "\n", &p); line != NULL;
	     line = strtok_r(NULL, "\n", &p)) {
		int t, i, n = 0;
		char rest[32];

		ck_assert_msg(sscanf(line, "thread %d line %d %n", &t, &i, &n) == 2,
			      "broken line '%s'", line);
		ck_assert_int_ge(t, 0);
		ck_assert_int_lt(t, THREADS);
		ck_assert_int_eq(i, next[t]);
		snprintf(rest, sizeof(rest), "%s", i % 2 ? "odd" : "even, a little longer");
		ck_assert_str_eq(line + n, rest);
		next[t]++;
	}
	for (int t = 0; t < THREADS; t++)
		ck_assert_int_eq(next[t], PER_THREAD);
}
END_TEST

/* Nobody reads: logging goes on without blocking, and what does not fit
 * is dropped and counted; once the pipe is read, new lines arrive. */
START_TEST(test_stalled_fd_drops_and_counts)
{
	char line[128];
	uint64_t before = log_lines_dropped();
	int sent = 0;
	double t0;

	memset(line, 'x', sizeof(line));
	line[sizeof(line) - 1] = '\n';
	ck_assert_int_eq(log_start(), 0);
	t0 = now_s();
	/* 64 KiB of pipe and 256 KiB of queue: 1 MiB surely overflows. */
	for (; sent < 8192; sent++)
		log_write_line(line, sizeof(line));
	/* Never waited on the pipe: 8192 lines in well under a second. */
	ck_assert_msg(now_s() - t0 < 1.0, "logging blocked: %.3f s", now_s() - t0);
	ck_assert_uint_gt(log_lines_dropped(), before);
	ck_assert_uint_lt(log_lines_dropped() - before, (uint64_t)sent);

	/* What was queued is not lost: exactly the lines not dropped come out
	 * (whole lines of 128 bytes), then a new line arrives. */
	ck_assert_uint_eq(drain(5.0),
			  ((uint64_t)sent - (log_lines_dropped() - before)) * sizeof(line));
	put("after the stall\n");
	ck_assert(read_until("after the stall\n", 2.0));
}
END_TEST

/* log_stop() writes out what is queued before it returns; later lines are
 * synchronous again. */
START_TEST(test_stop_flushes)
{
	static char got[1000 * 15 + 1]; /* "queued 0000000\n" */
	uint64_t before = log_lines_dropped();

	ck_assert_int_eq(log_start(), 0);
	for (int i = 0; i < 1000; i++) {
		char line[32];
		int n = snprintf(line, sizeof(line), "queued %07d\n", i);

		log_write_line(line, (size_t)n);
	}
	/* 15,000 bytes fit in the pipe: the flush needs no reader. */
	log_stop();
	ck_assert_uint_eq(read_bytes(got, sizeof(got) - 1, 0.5), sizeof(got) - 1);
	ck_assert(strncmp(got, "queued 0000000\n", 15) == 0);
	ck_assert(strcmp(got + sizeof(got) - 1 - 15, "queued 0000999\n") == 0);
	ck_assert(pipe_empty());
	ck_assert_uint_eq(log_lines_dropped(), before);
	put("synchronous\n");
	ck_assert(!pipe_empty());
}
END_TEST

/* A stalled stderr cannot hold log_stop() for more than about 2 s; what
 * was still queued is counted as dropped (with what the cancelled write
 * had begun: part of it may be in the pipe). */
START_TEST(test_stop_gives_up_on_stalled_fd)
{
	char line[100];
	uint64_t before, queued_drops;
	double t0;

	memset(line, 'y', sizeof(line));
	line[sizeof(line) - 1] = '\n';
	ck_assert_int_eq(log_start(), 0);
	for (int i = 0; i < 1000; i++) /* 100 KB: more than the pipe holds */
		log_write_line(line, sizeof(line));
	before = log_lines_dropped();
	t0 = now_s();
	log_stop();
	ck_assert_msg(now_s() - t0 > 1.5 && now_s() - t0 < 3.0,
		      "log_stop took %.3f s", now_s() - t0);
	queued_drops = log_lines_dropped() - before;
	ck_assert_uint_gt(queued_drops, 0);
	ck_assert_uint_le(queued_drops, 1000);
	ck_assert_uint_le(drain(2.0), 1000 * sizeof(line));
	put("synchronous again\n");
	ck_assert(read_until("synchronous again\n", 1.0));
}
END_TEST

static Suite *log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *sync = tcase_create("sync");
	TCase *queue = tcase_create("queue");

	tcase_add_checked_fixture(sync, setup, teardown);
	tcase_add_checked_fixture(queue, setup, teardown);
	tcase_add_test(sync, test_level_parse_and_names);
	tcase_add_test(sync, test_sync_before_start);
	tcase_add_test(sync, test_journal_prefix);
	tcase_add_test(queue, test_start_twice_and_restart);
	tcase_add_test(queue, test_one_thread_whole_and_in_order);
	tcase_add_test(queue, test_threads_never_interleave);
	tcase_add_test(queue, test_stalled_fd_drops_and_counts);
	tcase_add_test(queue, test_stop_flushes);
	tcase_add_test(queue, test_stop_gives_up_on_stalled_fd);
	suite_add_tcase(s, sync);
	suite_add_tcase(s, queue);
	return s;
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	return testutil_run(log_suite());
}
