/* log.h - leveled, printf-checked logging to stderr, never blocking.
 *
 * The bottom of the dependency graph: every module may log, log depends on
 * nothing of userd.  Under systemd (JOURNAL_STREAM set) each line carries a
 * "<N>" syslog priority prefix that journald understands.
 *
 * Between log_start() and log_stop(), a line is copied into a bounded
 * in-memory queue (256 KiB) and one writer thread does the write(2)s,
 * several lines per writev(2), so a stderr that stalls (a pipe nobody
 * reads, journald, a full disk, a stopped terminal) never holds up the
 * thread that logs: when the queue is full the line is dropped and counted
 * (log_lines_dropped()).  Before log_start() and after log_stop(), lines
 * are written synchronously, one write(2) each.  Either way a line is
 * written whole, never interleaved with another.
 */
#ifndef USERD_LOG_H
#define USERD_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

/* Parse "error", "warn", "info" or "debug" (case-insensitive) into *out.
 * Returns true on success; on failure *out is left untouched. */
bool log_level_parse(const char *name, enum log_level *out);

/* The canonical lower-case name of a level. */
const char *log_level_name(enum log_level level);

/* Set the threshold: messages above it are dropped.  Thread-safe. */
void log_set_level(enum log_level level);

/* True when messages at `level` would be written.  Thread-safe. */
bool log_enabled(enum log_level level);

/* Write one line at `level`.  A trailing newline is added; format is
 * checked by the compiler like printf. */
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Hand `len` bytes of `line`, one whole line ending in '\n', to stderr
 * as it is (no level, no prefix): queued, or dropped and counted if the
 * queue is full, while the writer runs; written at once otherwise.  Never
 * blocks on stderr while the writer runs.  Thread-safe.  A line longer
 * than the queue is dropped. */
void log_write_line(const char *line, size_t len);

/* Start the writer thread that drains the queue to stderr.  Returns 0, or
 * an errno value (EALREADY if it runs already, or pthread_create's error;
 * lines then stay synchronous). */
int log_start(void);

/* Write out what is queued, stop the writer thread and join it; later
 * lines are written synchronously again.  Gives up after about 2 s if
 * stderr does not take the lines (they are counted as dropped), so it
 * never hangs on a stalled stderr.  Does nothing if the writer is not
 * running.  Call from one thread at a time, like log_start(). */
void log_stop(void);

/* Lines dropped since the process started: queue full, stderr failing,
 * or still queued when log_stop() gave up.  Thread-safe. */
uint64_t log_lines_dropped(void);

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) \
	do { \
		if (log_enabled(LOG_LEVEL_DEBUG)) \
			log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__); \
	} while (0)

#endif
