/* client.h - the HTTP side of the end-to-end tests (libcurl). */
#ifndef USERD_TEST_CLIENT_H
#define USERD_TEST_CLIENT_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>

#include "daemon.h"

struct reply {
	CURL *easy;
	CURLcode code;
	long status;
	double seconds;
	char body[32768];
	size_t body_len;
	char headers[4096];
	size_t headers_len;
};

/* TLS for every request prepared from now on: trust the CA certificates
 * in `ca_file` (NULL: the system's), and present the client certificate
 * `cert_file` with its key `key_file` (NULL: none).  The strings must
 * stay valid while in use; client_set_tls(NULL, NULL, NULL) undoes. */
void client_set_tls(const char *ca_file, const char *cert_file,
		    const char *key_file);

/* Send "Authorization: Bearer TOKEN" with every request prepared from
 * now on (copied; NULL: none).  A handle prepared before must not be
 * performed again after the next call without being prepared anew. */
void client_set_bearer(const char *token);

/* Prepare (or reuse, keeping its connection) r->easy for one request. */
void client_prepare(struct reply *r, const char *method, const char *url);

/* Free r's handle (closing its connection). */
void client_release(struct reply *r);

/* One request on r's connection (kept open for the next call). */
void client_request(struct reply *r, const char *method, const char *base,
		    const char *path);

/* `n` GETs of base/user/<i> at once, each on its own connection.  If
 * `sig` is non-zero it is sent to `d` `sig_after` seconds in.  Returns
 * the wall time of the whole batch. */
double client_fetch_many(struct reply *rs, int n, const struct daemon *d,
			 int sig, double sig_after);

/* `n` GETs of base + paths[i] at once, each on its own connection.
 * Returns the wall time of the whole batch. */
double client_fetch_paths(struct reply *rs, int n, const char *base,
			  const char *const paths[]);
/* The value of header `name` in r (case-insensitive) copied into buf, or
 * NULL. */
const char *client_header(const struct reply *r, const char *name, char *buf,
			  size_t len);

/* Assert (Check) that r is a valid record for `id`; returns its age. */
int client_assert_user(const struct reply *r, long long id);

/* Assert that r is a JSON error body with `status`. */
void client_assert_error(const struct reply *r, long status);

/* Send `len` raw bytes to 127.0.0.1:port and read the answer (until the
 * server closes, or 2 s pass) into buf, NUL-terminated.  Returns the
 * bytes read, or -1 if no connection could be made. */
long client_raw(unsigned port, const char *data, size_t len, char *buf,
		size_t buflen);

/* A raw connection to 127.0.0.1:port for hand-written requests, or -1. */
int client_raw_open(unsigned port);

/* Write all of `data` (a C string) to fd; false when that fails. */
bool client_raw_send(int fd, const char *data);

/* Read one whole answer (status line, headers and a Content-Length body)
 * from fd into buf, NUL-terminated, waiting at most timeout_s.  Returns
 * the bytes read (what came before a close or the timeout, possibly a
 * partial answer), 0 when the server closed without a byte, or -1 on a
 * read error such as a reset. */
long client_raw_answer(int fd, char *buf, size_t buflen, double timeout_s);

/* Has the server closed fd's connection (EOF or reset) within timeout_s,
 * with nothing more to read? */
bool client_raw_closed(int fd, double timeout_s);

/* The value of sample `name` (the whole series name, labels included) in
 * a Prometheus text body, or -1 when there is none. */
double client_sample(const char *text, const char *name);

/* GET base/metrics (asserting a 200) and the value of sample `name`;
 * asserts that there is one. */
double client_metric(const char *base, const char *name);

/* Can a new TCP connection be made to 127.0.0.1:port? */
bool client_can_connect(unsigned port);

#endif
