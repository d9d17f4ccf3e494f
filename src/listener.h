/* listener.h - the listening TCP socket.
 *
 * userd opens its socket itself (rather than letting libmicrohttpd do it)
 * so that a bind failure names the address and the reason, the real port
 * of --port 0 is known, and a socket handed over by systemd fits the same
 * path.
 */
#ifndef USERD_LISTENER_H
#define USERD_LISTENER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Backlog asked of listen(2); the kernel caps it at net.core.somaxconn. */
#define LISTENER_BACKLOG 4096

/* Open, bind and listen.  `bind_addr` NULL means every interface: an IPv6
 * socket that also takes IPv4, or plain IPv4 where IPv6 is unavailable.
 * Otherwise it is a numeric IPv4/IPv6 address or a host name (the first
 * address that binds wins).  With `reuse_port`, SO_REUSEPORT lets several
 * processes listen on the same port, the kernel spreading connections.
 * Returns the socket, or -1 with a message naming the address and the
 * reason in err. */
int listener_open(const char *bind_addr, uint16_t port, bool reuse_port,
		  char *err, size_t errlen);

/* Split "HOST:PORT" (or "[IPV6]:PORT") at its last ':': *host and
 * *host_len get the host, brackets removed (not NUL-terminated: it points
 * into addr), *port the port.  False when there is no ':', nothing before
 * it, or the port is not a decimal from 0 to 65535. */
bool listener_split(const char *addr, const char **host, size_t *host_len,
		    uint16_t *port);

/* Open, bind and listen on the unix socket `path` (mode 0600; a stale
 * socket there is replaced).  Returns the socket, or -1 with a message
 * naming the path and the reason in err. */
int listener_open_unix(const char *path, char *err, size_t errlen);

/* Write the socket's local address as a URL, "http://127.0.0.1:8000" or
 * "http://[::1]:8000", into buf.  Returns 0, or -1 (buf then holds "?"). */
int listener_url(int fd, char *buf, size_t len);

/* The same with another scheme than "http" ("https"). */
int listener_url_scheme(int fd, const char *scheme, char *buf, size_t len);

#endif
