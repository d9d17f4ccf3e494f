/* service.c - sd_notify and socket activation; see service.h. */
#include "service.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#include <time.h>

/* Send `state` followed by "STATUS=<formatted text>". */
static void notify_with_status(const char *state, const char *fmt, va_list ap)
{
	char status[256];

	vsnprintf(status, sizeof(status), fmt, ap);
	sd_notifyf(0, "%sSTATUS=%s", state, status);
}

void service_ready(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	notify_with_status("READY=1\n", fmt, ap);
	va_end(ap);
}

void service_status(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	notify_with_status("", fmt, ap);
	va_end(ap);
}

void service_reloading(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=Reloading the configuration",
		   (unsigned long long)ts.tv_sec * 1000000ull +
			   (unsigned long long)ts.tv_nsec / 1000u);
}

void service_stopping(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	notify_with_status("STOPPING=1\n", fmt, ap);
	va_end(ap);
}

int service_listen_fd(char *err, size_t errlen)
{
	int n = sd_listen_fds(1);

	if (n == 0)
		return SERVICE_LISTEN_NONE;
	if (n < 0) {
		snprintf(err, errlen, "socket activation: %s", strerror(-n));
		return SERVICE_LISTEN_ERROR;
	}
	if (n > 1) {
		snprintf(err, errlen,
			 "socket activation: got %d sockets, expected one", n);
		return SERVICE_LISTEN_ERROR;
	}
	if (sd_is_socket(SD_LISTEN_FDS_START, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
		snprintf(err, errlen, "socket activation: the passed socket is "
			 "not a listening stream socket");
		return SERVICE_LISTEN_ERROR;
	}
	return SD_LISTEN_FDS_START;
}

#else /* !HAVE_LIBSYSTEMD */

void service_ready(const char *fmt, ...)
{
	(void)fmt;
}

void service_status(const char *fmt, ...)
{
	(void)fmt;
}

void service_reloading(void)
{
}

void service_stopping(const char *fmt, ...)
{
	(void)fmt;
}

int service_listen_fd(char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	return SERVICE_LISTEN_NONE;
}

#endif
