/* listener.c - open the listening socket; see listener.h. */
#include "listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "decimal.h"

/* Render a socket address as "host:port" with brackets around IPv6. */
static void format_addr(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		port = ntohs(s6->sin6_port);
		snprintf(buf, len, "[%s]:%u", host, port);
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		port = ntohs(s4->sin_port);
		snprintf(buf, len, "%s:%u", host, port);
	} else {
		snprintf(buf, len, "?");
	}
}

/* Try one address; returns the socket or -1 with errno set. */
static int try_bind(const struct sockaddr *sa, socklen_t salen, int v6only,
		    bool reuse_port)
{
	int one = 1;
	int fd;
	int saved;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0)
		goto fail;
	if (reuse_port &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0)
		goto fail;
	if (sa->sa_family == AF_INET6 && v6only >= 0 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)) != 0)
		goto fail;
	if (bind(fd, sa, salen) != 0 || listen(fd, LISTENER_BACKLOG) != 0)
		goto fail;
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

static int open_any(uint16_t port, bool reuse_port, char *err, size_t errlen)
{
	struct sockaddr_in6 s6;
	struct sockaddr_in s4;
	int fd;

	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	s6.sin6_addr = in6addr_any;
	s6.sin6_port = htons(port);
	fd = try_bind((const struct sockaddr *)&s6, sizeof(s6), 0, reuse_port);
	if (fd >= 0)
		return fd;
	if (errno != EAFNOSUPPORT && errno != EADDRNOTAVAIL) {
		snprintf(err, errlen, "cannot listen on [::]:%u: %s", port,
			 strerror(errno));
		return -1;
	}
	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	s4.sin_addr.s_addr = htonl(INADDR_ANY);
	s4.sin_port = htons(port);
	fd = try_bind((const struct sockaddr *)&s4, sizeof(s4), -1, reuse_port);
	if (fd < 0)
		snprintf(err, errlen, "cannot listen on 0.0.0.0:%u: %s", port,
			 strerror(errno));
	return fd;
}

int listener_open(const char *bind_addr, uint16_t port, bool reuse_port,
		  char *err, size_t errlen)
{
	struct addrinfo hints;
	struct addrinfo *res;
	char service[8];
	char where[INET6_ADDRSTRLEN + 16] = "";
	int saved = 0;
	int fd = -1;
	int rc;

	if (bind_addr == NULL)
		return open_any(port, reuse_port, err, errlen);

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(service, sizeof(service), "%u", port);
	rc = getaddrinfo(bind_addr, service, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "cannot listen on '%s': %s", bind_addr,
			 gai_strerror(rc));
		return -1;
	}
	for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
		/* An explicit IPv6 address means only IPv6. */
		fd = try_bind(ai->ai_addr, ai->ai_addrlen, 1, reuse_port);
		if (fd < 0 && saved == 0) {
			saved = errno;
			format_addr(ai->ai_addr, where, sizeof(where));
		}
	}
	freeaddrinfo(res);
	if (fd < 0)
		snprintf(err, errlen, "cannot listen on %s: %s",
			 where[0] != '\0' ? where : bind_addr, strerror(saved));
	return fd;
}

bool listener_split(const char *addr, const char **host, size_t *host_len,
		    uint16_t *port)
{
	const char *colon = strrchr(addr, ':');
	size_t len;
	uint64_t v;

	if (colon == NULL || colon == addr ||
	    decimal_parse(colon + 1, strlen(colon + 1), 65535, &v) != DECIMAL_OK)
		return false;
	len = (size_t)(colon - addr);
	if (len >= 2 && addr[0] == '[' && addr[len - 1] == ']') {
		addr++;
		len -= 2;
	}
	*host = addr;
	*host_len = len;
	*port = (uint16_t)v;
	return true;
}

int listener_open_unix(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int fd, saved;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "cannot listen on unix:%s: the path is too long", path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	/* A socket left by an earlier run would make bind fail: remove it,
	 * but nothing that is not a socket. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    chmod(path, 0600) != 0 || listen(fd, LISTENER_BACKLOG) != 0) {
		saved = errno;
		if (fd >= 0)
			close(fd);
		snprintf(err, errlen, "cannot listen on unix:%s: %s", path, strerror(saved));
		return -1;
	}
	return fd;
}

int listener_url(int fd, char *buf, size_t len)
{
	return listener_url_scheme(fd, "http", buf, len);
}

int listener_url_scheme(int fd, const char *scheme, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	char addr[INET6_ADDRSTRLEN + 16];

	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) != 0) {
		snprintf(buf, len, "?");
		return -1;
	}
	format_addr((const struct sockaddr *)&ss, addr, sizeof(addr));
	snprintf(buf, len, "%s://%s", scheme, addr);
	return 0;
}
