/* tls.c - read and check the TLS files; see tls.h.
 *
 * Each file is checked by GnuTLS itself, the library libmicrohttpd hands
 * them to, so a file that passes here is one the server can use: a
 * problem is reported at start-up naming the file, not on the first
 * handshake.
 */
#include "tls.h"
#include "util.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

/* Read the whole file at `path` into a malloc'd, NUL-terminated string.
 * Returns it, or NULL with "PATH: reason" in err. */
static char *read_pem(const char *path, char *err, size_t errlen)
{
	size_t cap = 4096, len = 0;
	char *buf = NULL;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		util_error(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		ssize_t n;

		if (len + 1 >= cap || buf == NULL) {
			char *bigger;

			if (buf != NULL)
				cap *= 2;
			bigger = realloc(buf, cap);
			if (bigger == NULL) {
				util_error(err, errlen, "%s: out of memory", path);
				goto fail;
			}
			buf = bigger;
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			util_error(err, errlen, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > TLS_FILE_MAX) {
			util_error(err, errlen, "%s: larger than %d bytes", path,
				  TLS_FILE_MAX);
			goto fail;
		}
	}
	close(fd);
	buf[len] = '\0';
	if (len == 0) {
		util_error(err, errlen, "%s: empty file", path);
		free(buf);
		return NULL;
	}
	if (strlen(buf) != len || strstr(buf, "-----BEGIN ") == NULL) {
		util_error(err, errlen, "%s: not a PEM file", path);
		free(buf);
		return NULL;
	}
	return buf;

fail:
	close(fd);
	free(buf);
	return NULL;
}

static gnutls_datum_t datum_of(const char *pem)
{
	gnutls_datum_t d = {(unsigned char *)(uintptr_t)pem, (unsigned)strlen(pem)};

	return d;
}

/* Does `pem` hold at least one certificate? */
static bool check_certs(const char *path, const char *pem, const char *what,
			char *err, size_t errlen)
{
	gnutls_datum_t d = datum_of(pem);
	gnutls_x509_crt_t *crts = NULL;
	unsigned n = 0;
	int rc;

	rc = gnutls_x509_crt_list_import2(&crts, &n, &d, GNUTLS_X509_FMT_PEM, 0);
	if (rc < 0 || n == 0) {
		util_error(err, errlen, "%s: no usable %s: %s", path, what,
			  rc < 0 ? gnutls_strerror(rc) : "none found");
		return false;
	}
	for (unsigned i = 0; i < n; i++)
		gnutls_x509_crt_deinit(crts[i]);
	gnutls_free(crts);
	return true;
}

/* Is `pem` a private key GnuTLS can use without a password? */
static bool check_key(const char *path, const char *pem, char *err, size_t errlen)
{
	gnutls_datum_t d = datum_of(pem);
	gnutls_x509_privkey_t key;
	int rc;

	if (gnutls_x509_privkey_init(&key) < 0) {
		util_error(err, errlen, "%s: out of memory", path);
		return false;
	}
	rc = gnutls_x509_privkey_import2(key, &d, GNUTLS_X509_FMT_PEM, NULL, 0);
	gnutls_x509_privkey_deinit(key);
	if (rc < 0) {
		util_error(err, errlen, "%s: not a usable private key "
			  "(an unencrypted PEM key is needed): %s", path,
			  gnutls_strerror(rc));
		return false;
	}
	return true;
}

/* Does the key go with the first certificate? */
static bool check_pair(const struct tls_files *f, const char *cert_path,
		       const char *key_path, char *err, size_t errlen)
{
	gnutls_certificate_credentials_t cred;
	gnutls_datum_t cert = datum_of(f->cert), key = datum_of(f->key);
	int rc;

	if (gnutls_certificate_allocate_credentials(&cred) < 0) {
		util_error(err, errlen, "%s: out of memory", key_path);
		return false;
	}
	rc = gnutls_certificate_set_x509_key_mem(cred, &cert, &key,
						 GNUTLS_X509_FMT_PEM);
	gnutls_certificate_free_credentials(cred);
	if (rc == GNUTLS_E_CERTIFICATE_KEY_MISMATCH) {
		util_error(err, errlen, "%s: not the private key of the "
			  "certificate in %s", key_path, cert_path);
		return false;
	}
	if (rc < 0) {
		util_error(err, errlen, "%s, %s: cannot serve with this "
			  "certificate and key: %s", cert_path, key_path,
			  gnutls_strerror(rc));
		return false;
	}
	return true;
}

bool tls_files_load(struct tls_files *out, const char *cert_path,
		    const char *key_path, const char *trust_path, char *err,
		    size_t errlen)
{
	assert(cert_path != NULL && key_path != NULL);
	memset(out, 0, sizeof(*out));
	if ((out->cert = read_pem(cert_path, err, errlen)) == NULL ||
	    !check_certs(cert_path, out->cert, "certificate", err, errlen) ||
	    (out->key = read_pem(key_path, err, errlen)) == NULL ||
	    !check_key(key_path, out->key, err, errlen) ||
	    !check_pair(out, cert_path, key_path, err, errlen))
		goto fail;
	if (trust_path != NULL &&
	    ((out->trust = read_pem(trust_path, err, errlen)) == NULL ||
	     !check_certs(trust_path, out->trust, "CA certificate", err, errlen)))
		goto fail;
	return true;

fail:
	tls_files_free(out);
	return false;
}

void tls_files_free(struct tls_files *f)
{
	if (f->key != NULL)
		explicit_bzero(f->key, strlen(f->key));
	free(f->cert);
	free(f->key);
	free(f->trust);
	memset(f, 0, sizeof(*f));
}

void tls_require_client_cert(void *session)
{
	gnutls_session_t s = session;

	assert(s != NULL);
	gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUIRE);
	/* Verify the chain against the credentials' trusted CAs during the
	 * handshake (no host name: a client certificate names no host). */
	gnutls_session_set_verify_cert(s, NULL, 0);
}
