/* mhd_log.h - libmicrohttpd's own messages, in userd's log.
 *
 * With MHD_USE_ERROR_LOG and no logger of ours, libmicrohttpd writes its
 * messages to stderr itself, past log.h's queue.  Both daemons (the user
 * port's and the control API's) give it mhd_log() instead, which logs
 * them as "libmicrohttpd: ..." warnings, less what userd knows to be
 * harmless: connections it ends on purpose, and the TCP options that
 * libmicrohttpd 0.9.75 tries on every connection handed to it by
 * MHD_add_connection() (it cannot tell a unix socket from TCP there, and
 * reports Linux's EOPNOTSUPP as a failure), on a daemon whose listening
 * socket is not TCP; and, on a daemon that cuts slow clients on purpose
 * (the control API's sweeper), connections "closed when reading request".
 * Those go to the debug level.
 */
#ifndef USERD_MHD_LOG_H
#define USERD_MHD_LOG_H

#include <stdarg.h>
#include <stdbool.h>

/* The argument to give mhd_log() for a daemon fed from the listening
 * socket `listen_fd`: whether that is TCP (an fd getsockopt cannot tell
 * counts as TCP), and whether the daemon cuts clients that are slow to
 * send their request (`cuts_slow`).  It lives as long as the process. */
void *mhd_log_cls(int listen_fd, bool cuts_slow);

/* libmicrohttpd's logger (MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
 * mhd_log_cls(fd)): log the message `fmt` as one line, at debug level
 * when it is harmless (see above), as a warning otherwise.  Thread-safe. */
void mhd_log(void *cls, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

#endif
