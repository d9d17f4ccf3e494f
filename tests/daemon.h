/* daemon.h - run the real userd binary for end-to-end tests.
 *
 * The daemon is started on 127.0.0.1 --port 0 with its stderr in a
 * temporary file; daemon_start() waits for the "listening on" line and
 * takes the port from it.
 */
#ifndef USERD_TEST_DAEMON_H
#define USERD_TEST_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct daemon {
	pid_t pid;
	unsigned port;
	char base[64];     /* "http://127.0.0.1:PORT", "https://..." with TLS */
	char log_path[64]; /* the daemon's stderr */
};

/* The userd binary under test: $USERD_BIN, or "src/userd". */
const char *daemon_binary(void);

/* Start userd with `args` (NULL-terminated) plus --bind 127.0.0.1
 * --port 0, unless args already name a port.  Returns 0 once it listens,
 * -1 if it exited or did not listen within 10 s (then it is killed). */
int daemon_start(struct daemon *d, const char *const args[]);

/* Start exactly `argv` (argv[0] a path), stderr to the log, without
 * waiting for anything.  Returns 0 or -1. */
int daemon_spawn(struct daemon *d, char *const argv[]);

/* Start exactly `argv` like daemon_spawn(), but with stderr on `fd` (say
 * the write end of a pipe) instead of a log file: daemon_wait_listening()
 * and daemon_log_contains() then see nothing; the caller reads `fd`'s
 * other end.  `fd` stays open in the caller.  Returns 0 or -1. */
int daemon_spawn_stderr(struct daemon *d, char *const argv[], int fd);

/* Wait up to 10 s for the "listening on http://127.0.0.1:PORT" line (or
 * https://) and take the port and the scheme from it.  Returns 0, or -1 (the daemon is then killed). */
int daemon_wait_listening(struct daemon *d);

/* Send `sig`.  Returns kill(2)'s result. */
int daemon_signal(const struct daemon *d, int sig);

/* Wait up to `timeout_s` for the daemon to exit; returns its wait status,
 * or -1 on timeout (it is still running). */
int daemon_wait(struct daemon *d, double timeout_s);

/* Kill (SIGKILL) if still running, reap, remove the log. */
void daemon_cleanup(struct daemon *d);

/* The daemon's stderr so far, NUL-terminated, into buf (len bytes).
 * Returns the bytes read. */
size_t daemon_log_read(const struct daemon *d, char *buf, size_t len);

/* Does the daemon's stderr contain `text`, within 5 s?  Log lines pass
 * through a queue written out by a thread of their own, so a line about
 * what just happened may come a moment later. */
bool daemon_log_contains(const struct daemon *d, const char *text);

/* Does the daemon's stderr so far lack `text`?  (Read once: for a line
 * that must not be there.) */
bool daemon_log_lacks(const struct daemon *d, const char *text);

/* The control API's URL from the daemon's log ("control API on URL ..."),
 * "http://127.0.0.1:PORT", "https://..." or "unix:PATH", into buf (len
 * bytes).  False when the log does not say (yet), or buf is too small. */
bool daemon_admin_url(const struct daemon *d, char *buf, size_t len);

/* Run userd with `args` to completion (10 s at most), capturing stdout
 * and stderr (each up to `len` bytes, NUL-terminated).  Returns the wait
 * status, or -1. */
int daemon_run(const char *const args[], char *out, char *errbuf, size_t len);

#endif
