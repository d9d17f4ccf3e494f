/* client.c - libcurl helpers for the end-to-end tests; see client.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "client.h"

#include <arpa/inet.h>
#include <check.h>
#include <jansson.h>
#include <poll.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* Append what libcurl hands over to a NUL-terminated buffer, dropping
 * what does not fit. */
static size_t append(char *buf, size_t cap, size_t *used, const char *data,
		     size_t len)
{
	size_t room = cap - 1 - *used;
	size_t take = len < room ? len : room;

	memcpy(buf + *used, data, take);
	*used += take;
	buf[*used] = '\0';
	return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct reply *r = arg;

	return append(r->body, sizeof(r->body), &r->body_len, data, size * n);
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
	struct reply *r = arg;

	return append(r->headers, sizeof(r->headers), &r->headers_len, data, size * n);
}

static struct {
	const char *ca, *cert, *key;
} tls;

void client_set_tls(const char *ca_file, const char *cert_file,
		    const char *key_file)
{
	tls.ca = ca_file;
	tls.cert = cert_file;
	tls.key = key_file;
}

static struct curl_slist *bearer;

void client_set_bearer(const char *token)
{
	static char line[8192];

	curl_slist_free_all(bearer);
	bearer = NULL;
	if (token == NULL)
		return;
	ck_assert_uint_lt(strlen(token), sizeof(line) - 32);
	snprintf(line, sizeof(line), "Authorization: Bearer %s", token);
	bearer = curl_slist_append(NULL, line);
	ck_assert_ptr_nonnull(bearer);
}

void client_prepare(struct reply *r, const char *method, const char *url)
{
	CURL *easy = r->easy != NULL ? r->easy : curl_easy_init();

	memset(r, 0, sizeof(*r));
	r->easy = easy;
	ck_assert_ptr_nonnull(easy);
	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(easy, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_NOBODY, strcmp(method, "HEAD") == 0 ? 1L : 0L);
	curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST,
			 strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0
			 ? NULL : method);
	if (tls.ca != NULL)
		curl_easy_setopt(easy, CURLOPT_CAINFO, tls.ca);
	curl_easy_setopt(easy, CURLOPT_SSLCERT, tls.cert);
	curl_easy_setopt(easy, CURLOPT_SSLKEY, tls.key);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, bearer);
}

static void client_finish(struct reply *r)
{
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_getinfo(r->easy, CURLINFO_TOTAL_TIME, &r->seconds);
}

void client_release(struct reply *r)
{
	if (r->easy != NULL)
		curl_easy_cleanup(r->easy);
	r->easy = NULL;
}

void client_request(struct reply *r, const char *method, const char *base,
		    const char *path)
{
	char url[512];

	snprintf(url, sizeof(url), "%s%s", base, path);
	client_prepare(r, method, url);
	r->code = curl_easy_perform(r->easy);
	client_finish(r);
}

/* `n` GETs of base/user/<i> at once, each on its own connection.  If
 * `sig` is non-zero it is sent to `d` `sig_after` seconds in.  Returns
 * the wall time of the whole batch. */
/* GETs of base + paths[i] (or /user/<i> when paths is NULL) at once,
 * sending sig to d after sig_after seconds unless sig is 0. */
static double fetch_all(struct reply *rs, int n, const char *base,
			const char *const paths[], const struct daemon *d,
			int sig, double sig_after)
{
	CURLM *multi = curl_multi_init();
	struct timespec t0, t1;
	int running = 1;
	char url[1024];

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < n; i++) {
		if (paths != NULL)
			snprintf(url, sizeof(url), "%s%s", base, paths[i]);
		else
			snprintf(url, sizeof(url), "%s/user/%d", base, i);
		rs[i].easy = NULL;
		client_prepare(&rs[i], "GET", url);
		curl_easy_setopt(rs[i].easy, CURLOPT_PRIVATE, &rs[i]);
		curl_multi_add_handle(multi, rs[i].easy);
	}
	while (running > 0) {
		CURLMsg *msg;
		int left;

		curl_multi_perform(multi, &running);
		while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
			struct reply *r;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
			r->code = msg->data.result;
			client_finish(r);
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (sig != 0 && (double)(t1.tv_sec - t0.tv_sec) +
			(double)(t1.tv_nsec - t0.tv_nsec) / 1e9 >= sig_after) {
			daemon_signal(d, sig);
			sig = 0;
		}
		if (running > 0)
			curl_multi_poll(multi, NULL, 0, 10, NULL);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	for (int i = 0; i < n; i++) {
		curl_multi_remove_handle(multi, rs[i].easy);
		client_release(&rs[i]);
	}
	curl_multi_cleanup(multi);
	return (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
}

double client_fetch_many(struct reply *rs, int n, const struct daemon *d,
			 int sig, double sig_after)
{
	return fetch_all(rs, n, d->base, NULL, d, sig, sig_after);
}

double client_fetch_paths(struct reply *rs, int n, const char *base,
			  const char *const paths[])
{
	return fetch_all(rs, n, base, paths, NULL, 0, 0);
}

/* The value of header `name` in r (case-insensitive), or NULL. */
const char *client_header(const struct reply *r, const char *name, char *buf,
			  size_t len)
{
	const char *line = r->headers;
	size_t nlen = strlen(name);

	while (line != NULL && *line != '\0') {
		if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
			const char *v = line + nlen + 1;
			size_t vlen;

			while (*v == ' ')
				v++;
			vlen = strcspn(v, "\r\n");
			snprintf(buf, len, "%.*s", (int)vlen, v);
			return buf;
		}
		line = strchr(line, '\n');
		if (line != NULL)
			line++;
	}
	return NULL;
}

int client_assert_user(const struct reply *r, long long id)
{
	char type[64], name[64];
	json_error_t jerr;
	json_t *doc, *v;
	int age;

	ck_assert_int_eq(r->code, CURLE_OK);
	ck_assert_int_eq(r->status, 200);
	ck_assert_ptr_nonnull(client_header(r, "Content-Type", type, sizeof(type)));
	ck_assert_str_eq(type, "application/json");
	doc = json_loads(r->body, 0, &jerr);
	ck_assert_msg(doc != NULL, "not JSON: %s", r->body);
	ck_assert_uint_eq(json_object_size(doc), 3);
	v = json_object_get(doc, "user_id");
	ck_assert(json_is_integer(v));
	ck_assert_int_eq(json_integer_value(v), id);
	snprintf(name, sizeof(name), "User%lld", id);
	ck_assert_str_eq(json_string_value(json_object_get(doc, "name")), name);
	v = json_object_get(doc, "age");
	ck_assert(json_is_integer(v));
	age = (int)json_integer_value(v);
	ck_assert_int_ge(age, 20);
	ck_assert_int_le(age, 40);
	json_decref(doc);
	return age;
}

void client_assert_error(const struct reply *r, long status)
{
	json_error_t jerr;
	json_t *doc;

	ck_assert_int_eq(r->code, CURLE_OK);
	ck_assert_int_eq(r->status, status);
	doc = json_loads(r->body, 0, &jerr);
	ck_assert_msg(doc != NULL, "not JSON: '%s'", r->body);
	ck_assert(json_is_string(json_object_get(doc, "error")));
	ck_assert_int_eq(json_integer_value(json_object_get(doc, "status")), status);
	json_decref(doc);
}

bool client_can_connect(unsigned port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok;

	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}


long client_raw(unsigned port, const char *data, size_t len, char *buf,
		size_t buflen)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	struct timeval tv = {.tv_sec = 2};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	size_t got = 0;

	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (write(fd, data, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	while (got + 1 < buflen) {
		ssize_t n = read(fd, buf + got, buflen - 1 - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	close(fd);
	return (long)got;
}

int client_raw_open(unsigned port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

bool client_raw_send(int fd, const char *data)
{
	size_t len = strlen(data);

	while (len > 0) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);

		if (n <= 0)
			return false;
		data += n;
		len -= (size_t)n;
	}
	return true;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Is buf[0..got) one complete answer? */
static bool answer_complete(const char *buf, size_t got)
{
	const char *end = memmem(buf, got, "\r\n\r\n", 4);
	const char *cl;
	size_t head;

	if (end == NULL)
		return false;
	head = (size_t)(end - buf) + 4;
	cl = strcasestr(buf, "\r\nContent-Length:");
	if (cl == NULL || cl > end)
		return true;
	return got >= head + strtoul(cl + 17, NULL, 10);
}

long client_raw_answer(int fd, char *buf, size_t buflen, double timeout_s)
{
	double until = mono_s() + timeout_s;
	size_t got = 0;

	buf[0] = '\0';
	while (got + 1 < buflen) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		double left = until - mono_s();
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)(left * 1000) + 1) <= 0)
			break;
		n = recv(fd, buf + got, buflen - 1 - got, 0);
		if (n < 0)
			return got > 0 ? (long)got : -1;
		if (n == 0)
			break;
		got += (size_t)n;
		buf[got] = '\0';
		if (answer_complete(buf, got))
			break;
	}
	return (long)got;
}

bool client_raw_closed(int fd, double timeout_s)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char byte;

	if (poll(&p, 1, (int)(timeout_s * 1000)) <= 0)
		return false;
	return recv(fd, &byte, 1, MSG_DONTWAIT) <= 0;
}

double client_sample(const char *text, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = text; p != NULL && *p != '\0';) {
		if (strncmp(p, name, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p = strchr(p, '\n');
		p = p != NULL ? p + 1 : NULL;
	}
	return -1;
}

double client_metric(const char *base, const char *name)
{
	struct reply m = {0};
	double v;

	client_request(&m, "GET", base, "/metrics");
	ck_assert_int_eq(m.code, CURLE_OK);
	ck_assert_int_eq(m.status, 200);
	v = client_sample(m.body, name);
	client_release(&m);
	ck_assert_msg(v >= 0, "no sample %s", name);
	return v;
}
