/* mhd_log.c - libmicrohttpd's messages in userd's log; see mhd_log.h. */
#include "mhd_log.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "util.h"

struct listening {
	bool tcp;
	bool cuts_slow;
};

/* Every kind of daemon: [tcp][cuts_slow]. */
static const struct listening kinds[2][2] = {
	{{false, false}, {false, true}},
	{{true, false}, {true, true}},
};

/* userd ends connections on purpose (a client gone while waiting, the
 * reset, close, hang and truncate faults); libmicrohttpd calls that an
 * application error. */
static const char *const on_purpose[] = {
	"Application reported internal error",
	"application reported error generating data",
};

/* libmicrohttpd's TCP options, and what it concludes when they fail. */
static const char *const tcp_only[] = {
	"Setting TCP_NODELAY option",
	"Setting TCP_CORK option",
	"Failed to push the data from buffers",
};

void *mhd_log_cls(int listen_fd, bool cuts_slow)
{
	int domain = AF_INET;
	socklen_t len = sizeof(domain);

	if (getsockopt(listen_fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0)
		domain = AF_INET;
	return (void *)(uintptr_t)&kinds[domain == AF_INET || domain == AF_INET6][cuts_slow];
}

static bool says_any(const char *line, const char *const *texts, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (strstr(line, texts[i]) != NULL)
			return true;
	}
	return false;
}

void mhd_log(void *cls, const char *fmt, va_list ap)
{
	const struct listening *l = cls;
	char line[512];
	size_t len;

	vsnprintf(line, sizeof(line), fmt, ap);
	len = strlen(line);
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = '\0';
	if (says_any(line, on_purpose, countof(on_purpose)) ||
	    (!l->tcp && says_any(line, tcp_only, countof(tcp_only))) ||
	    (l->cuts_slow && strstr(line, "closed when reading request") != NULL))
		log_debug("libmicrohttpd: %s", line);
	else
		log_warn("libmicrohttpd: %s", line);
}
