/* log.c - leveled logging to stderr through a bounded queue; see log.h.
 *
 * The queue is a byte ring of whole lines.  `head` and `tail` only grow
 * (their value modulo the size is the index): producers append at `head`
 * under the mutex, and the writer thread snapshots [tail, head) under the
 * mutex, writes it with the mutex released (producers only touch the free
 * part of the ring, never [tail, head)), then advances `tail`.  So the
 * critical section of a producer is a memcpy of one line, and the writer
 * writes what piled up while it was busy, PIPE_BUF bytes at a time, never
 * blocking for long, so that log_stop() can always end it.
 */
#include "log.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* Queue size: a power of two.  Well over a second of access log at
 * thousands of requests a second, so a short stall loses nothing. */
#define RING_SIZE ((size_t)256 * 1024)
/* How long log_stop() waits for a stalled stderr. */
#define STOP_TIMEOUT_NS 2000000000LL

static _Atomic int log_threshold = LOG_LEVEL_INFO;
static _Atomic uint64_t dropped;

static struct {
	pthread_mutex_t mutex;
	pthread_cond_t wake;    /* writer: lines queued, or stop */
	pthread_cond_t stopped; /* log_stop(): the writer left */
	pthread_t thread;
	bool queued;   /* lines go to the ring (the writer runs) */
	bool stopping; /* log_stop(): write what is left, then leave */
	bool idle;     /* the writer waits on `wake` */
	size_t head;   /* producers append here */
	size_t tail;   /* the writer writes from here */
	char ring[RING_SIZE];
} q = {
	.mutex = PTHREAD_MUTEX_INITIALIZER,
};

static const char *const level_names[] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARN] = "warn",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

/* syslog(3) priorities: err, warning, info, debug. */
static const int level_priority[] = {3, 4, 6, 7};

bool log_level_parse(const char *name, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcasecmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return true;
		}
	}
	if (strcasecmp(name, "warning") == 0) {
		*out = LOG_LEVEL_WARN;
		return true;
	}
	return false;
}

const char *log_level_name(enum log_level level)
{
	return level_names[level];
}

void log_set_level(enum log_level level)
{
	atomic_store_explicit(&log_threshold, (int)level, memory_order_relaxed);
}

bool log_enabled(enum log_level level)
{
	return (int)level <= atomic_load_explicit(&log_threshold, memory_order_relaxed);
}

/* ---- the queue ---------------------------------------------------------- */

static void count_dropped(uint64_t lines)
{
	atomic_fetch_add_explicit(&dropped, lines, memory_order_relaxed);
}

uint64_t log_lines_dropped(void)
{
	return atomic_load_explicit(&dropped, memory_order_relaxed);
}

/* Lines in ring[from, to) (indices that only grow): its newlines (a line
 * a partial write began counts once), plus one for a line without its
 * newline. */
static uint64_t lines_between(size_t from, size_t to)
{
	uint64_t n = 0;

	for (size_t i = from; i != to; i++)
		n += q.ring[i & (RING_SIZE - 1)] == '\n';
	if (from != to && q.ring[(to - 1) & (RING_SIZE - 1)] != '\n')
		n++;
	return n;
}

/* The one write of a line when no writer runs.  A failed write to stderr
 * has nowhere to be reported. */
static void write_now(const char *line, size_t len)
{
	if (write(STDERR_FILENO, line, len) < 0)
		count_dropped(1);
}

void log_write_line(const char *line, size_t len)
{
	size_t at, first;

	if (len == 0)
		return;
	pthread_mutex_lock(&q.mutex);
	if (!q.queued) {
		pthread_mutex_unlock(&q.mutex);
		write_now(line, len);
		return;
	}
	if (len > RING_SIZE - (q.head - q.tail)) {
		pthread_mutex_unlock(&q.mutex);
		count_dropped(1);
		return;
	}
	at = q.head & (RING_SIZE - 1);
	first = RING_SIZE - at < len ? RING_SIZE - at : len;
	memcpy(q.ring + at, line, first);
	memcpy(q.ring, line + first, len - first);
	q.head += len;
	if (q.idle)
		pthread_cond_signal(&q.wake);
	pthread_mutex_unlock(&q.mutex);
}

/* How long the writer waits for stderr to take more before it looks
 * again whether log_stop() gave up on it. */
#define WRITE_WAIT_MS 100

/* Write part of ring[from, to) to stderr, never blocking for long: wait
 * (WRITE_WAIT_MS at most) until stderr takes more, then write at most
 * PIPE_BUF bytes, which a pipe that polls writable takes without blocking.
 * Returns the bytes written (0: stderr took nothing yet), or -1 with
 * errno set. */
static ssize_t write_out(size_t from, size_t to)
{
	size_t at = from & (RING_SIZE - 1), len = to - from;
	struct iovec iov[2] = {{q.ring + at, len}, {q.ring, 0}};
	struct pollfd p = {.fd = STDERR_FILENO, .events = POLLOUT};
	ssize_t n;
	int ready;

	if (len > PIPE_BUF)
		len = PIPE_BUF;
	iov[0].iov_len = len;
	if (at + len > RING_SIZE) {
		iov[0].iov_len = RING_SIZE - at;
		iov[1].iov_len = len - iov[0].iov_len;
	}
	ready = poll(&p, 1, WRITE_WAIT_MS);
	if (ready == 0 || (ready < 0 && errno == EINTR))
		return 0;
	n = writev(STDERR_FILENO, iov, iov[1].iov_len > 0 ? 2 : 1);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	return n;
}

static void *writer_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&q.mutex);
	for (;;) {
		size_t from = q.tail, to = q.head;
		ssize_t n;

		if (from == to) {
			if (q.stopping)
				break;
			q.idle = true;
			pthread_cond_wait(&q.wake, &q.mutex);
			q.idle = false;
			continue;
		}
		pthread_mutex_unlock(&q.mutex);
		n = write_out(from, to);
		pthread_mutex_lock(&q.mutex);
		if (!q.queued) /* log_stop() gave up and counted these */
			break;
		if (n >= 0) {
			q.tail += (size_t)n;
		} else {
			/* EPIPE, EBADF, ENOSPC, EIO ...: these lines are lost. */
			count_dropped(lines_between(from, to));
			q.tail = to;
		}
	}
	q.queued = false;
	pthread_cond_signal(&q.stopped);
	pthread_mutex_unlock(&q.mutex);
	return NULL;
}

int log_start(void)
{
	pthread_condattr_t attr;
	sigset_t all, old;
	int rc;

	pthread_mutex_lock(&q.mutex);
	if (q.queued) {
		pthread_mutex_unlock(&q.mutex);
		return EALREADY;
	}
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&q.wake, NULL);
	pthread_cond_init(&q.stopped, &attr);
	pthread_condattr_destroy(&attr);
	q.head = q.tail = 0;
	q.stopping = q.idle = false;
	/* The writer takes no signal: they are for the threads that wait on
	 * them (main.c blocks its own before any thread starts anyway). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&q.thread, NULL, writer_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc == 0)
		q.queued = true;
	else {
		pthread_cond_destroy(&q.wake);
		pthread_cond_destroy(&q.stopped);
	}
	pthread_mutex_unlock(&q.mutex);
	return rc;
}

void log_stop(void)
{
	struct timespec until;
	bool gave_up = false;

	pthread_mutex_lock(&q.mutex);
	if (!q.queued || q.stopping) {
		pthread_mutex_unlock(&q.mutex);
		return;
	}
	q.stopping = true;
	pthread_cond_signal(&q.wake);
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += STOP_TIMEOUT_NS / 1000000000LL;
	until.tv_nsec += STOP_TIMEOUT_NS % 1000000000LL;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (q.queued && !gave_up)
		gave_up = pthread_cond_timedwait(&q.stopped, &q.mutex, &until) == ETIMEDOUT
			  && q.queued;
	if (gave_up) {
		/* stderr takes nothing: whatever is queued is lost.  From now
		 * on lines are written synchronously, as before log_start(). */
		q.queued = false;
		count_dropped(lines_between(q.tail, q.head));
		q.tail = q.head;
	}
	pthread_mutex_unlock(&q.mutex);
	/* The writer sees that within WRITE_WAIT_MS and leaves. */
	pthread_join(q.thread, NULL);

	pthread_mutex_lock(&q.mutex);
	q.stopping = false;
	q.head = q.tail = 0;
	pthread_cond_destroy(&q.wake);
	pthread_cond_destroy(&q.stopped);
	pthread_mutex_unlock(&q.mutex);
}

/* ---- leveled lines ------------------------------------------------------ */

void log_msg(enum log_level level, const char *fmt, ...)
{
	static _Atomic int journal = -1;
	char line[1024];
	size_t len = 0;
	va_list ap;
	int n;

	if (!log_enabled(level))
		return;
	if (journal < 0)
		journal = getenv("JOURNAL_STREAM") != NULL;

	/* Info lines stand alone ("userd 0.1.0 listening on ..."); the
	 * others say what they are. */
	if (journal)
		n = snprintf(line, sizeof(line), "<%d>", level_priority[level]);
	else if (level == LOG_LEVEL_INFO)
		n = 0;
	else
		n = snprintf(line, sizeof(line), "userd: %s: ", level_names[level]);
	if (n > 0)
		len = (size_t)n;

	va_start(ap, fmt);
	n = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	len += (size_t)n;
	if (len > sizeof(line) - 2) {
		len = sizeof(line) - 5;
		line[len++] = '.';
		line[len++] = '.';
		line[len++] = '.';
	}
	line[len++] = '\n';
	log_write_line(line, len);
}
