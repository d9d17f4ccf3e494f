/* tls.h - the files that turn on TLS: read the PEM certificate, key and
 * trusted CAs before the server starts, check that they can serve, and
 * hold them in memory for the server.
 *
 * It speaks GnuTLS (what libmicrohttpd serves TLS with) and knows nothing
 * of HTTP.  Problems are reported through an error buffer, never printed.
 */
#ifndef USERD_TLS_H
#define USERD_TLS_H

#include <stdbool.h>
#include <stddef.h>

/* Largest PEM file taken: a certificate chain is a few KB. */
#define TLS_FILE_MAX (1024 * 1024)

struct tls_files {
	char *cert;  /* PEM text, NUL-terminated: the server's certificate
		      * first, then any intermediates; NULL: no TLS */
	char *key;   /* PEM text of cert's private key (unencrypted) */
	char *trust; /* PEM text of the CAs that sign client certificates;
		      * NULL: none are asked for */
};

/* Read and check the files: `cert_path` (one or more PEM certificates),
 * `key_path` (the first one's PEM private key) and `trust_path` (PEM CA
 * certificates, or NULL).  Each must be readable, non-empty, at most
 * TLS_FILE_MAX bytes and parse as what it should hold, and the key must
 * match the certificate.  Returns true with *out filled (tls_files_free()
 * it), or false with "FILE: reason" in err and *out all NULL. */
bool tls_files_load(struct tls_files *out, const char *cert_path,
		    const char *key_path, const char *trust_path, char *err,
		    size_t errlen);

/* Release what *f holds, overwriting the key first.  *f is all NULL
 * after; freeing twice is harmless. */
void tls_files_free(struct tls_files *f);

/* Make the server-side GnuTLS session `session` (a gnutls_session_t, not
 * yet handshaken) demand a client certificate and fail the handshake
 * unless the certificate verifies against the CAs trusted by the
 * session's credentials. */
void tls_require_client_cert(void *session);

#endif
