/* log.c - leveled logging to stderr; see log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

static _Atomic int log_threshold = LOG_LEVEL_INFO;

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
	/* One write per line so concurrent lines do not interleave; a failed
	 * write to stderr has nowhere to be reported. */
	if (write(STDERR_FILENO, line, len) < 0)
		return;
}
