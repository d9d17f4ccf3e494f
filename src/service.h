/* service.h - talking to the service manager.
 *
 * Readiness and status notifications (sd_notify) and listening sockets
 * passed by socket activation (sd_listen_fds).  Everything systemd-specific
 * lives here; built without libsystemd, or run outside systemd, every
 * notification is a no-op and no socket is ever passed.
 */
#ifndef USERD_SERVICE_H
#define USERD_SERVICE_H

#include <stddef.h>

/* READY=1 with a STATUS= line.  Call once listening, and again after a
 * reload. */
void service_ready(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A STATUS= line saying what the service is doing. */
void service_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* RELOADING=1 (with MONOTONIC_USEC=) at the start of a reload. */
void service_reloading(void);

/* STOPPING=1 with a STATUS= line, at the start of the drain. */
void service_stopping(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* service_listen_fd()'s answers other than a socket. */
#define SERVICE_LISTEN_NONE (-1)  /* none was passed: open one */
#define SERVICE_LISTEN_ERROR (-2) /* the passed sockets are unusable */

/* The listening socket systemd passed, if any.  Returns the fd;
 * SERVICE_LISTEN_NONE when none was passed; SERVICE_LISTEN_ERROR with a
 * message in err when the passed sockets are unusable (not one listening
 * stream socket).  Clears the LISTEN_* environment so children do not
 * inherit it. */
int service_listen_fd(char *err, size_t errlen);

#endif
