/* log.h - leveled, printf-checked logging to stderr.
 *
 * The bottom of the dependency graph: every module may log, log depends on
 * nothing of userd.  Lines go to stderr, one write(2) each, so lines from
 * different threads never interleave.  Under systemd (JOURNAL_STREAM set)
 * each line carries a "<N>" syslog priority prefix that journald understands.
 */
#ifndef USERD_LOG_H
#define USERD_LOG_H

#include <stdbool.h>

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

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) \
	do { \
		if (log_enabled(LOG_LEVEL_DEBUG)) \
			log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__); \
	} while (0)

#endif
