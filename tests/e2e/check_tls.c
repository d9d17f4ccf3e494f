/* End-to-end tests of TLS on the user port: HTTPS with a certificate made
 * here by openssl(1), client certificates, the files refused at start-up,
 * and delays, concurrency, clients that leave and the drain over TLS; and
 * the control API over TLS.
 *
 * One throwaway directory per run holds two unrelated CAs, a server
 * certificate for 127.0.0.1 and localhost signed by the first, a client
 * certificate signed by each, and some files that are not what they
 * claim to be. */
#include <check.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"
#include "daemon.h"
#include "testutil.h"

static char dir[64];
static struct daemon d;
static struct reply r;

/* The path of `name` in the directory (one of a few static buffers, so
 * several may be used in one expression). */
static const char *at(const char *name)
{
	static char bufs[32][160];
	static int next;
	char *p = bufs[next++ % 32];

	snprintf(p, sizeof(bufs[0]), "%s/%s", dir, name);
	return p;
}

/* Run a shell command in the directory; abort the suite if it fails. */
static void run(const char *cmd)
{
	char line[2048];
	int rc;

	snprintf(line, sizeof(line), "cd '%s' && { %s ; } >>openssl.log 2>&1", dir, cmd);
	rc = system(line);
	if (rc != 0) {
		fprintf(stderr, "check_tls: failed (%d): %s\n", rc, cmd);
		exit(EXIT_FAILURE);
	}
}

/* A key and a certificate request for `name`, signed by CA `ca` into
 * name.pem, with the openssl extension lines `ext` (may be empty). */
static void make_cert(const char *name, const char *cn, const char *ca,
		      const char *ext)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd),
		 "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
		 "-nodes -keyout %s.key -out %s.csr -subj '/CN=%s' && "
		 "printf '%s' >%s.ext && "
		 "openssl x509 -req -in %s.csr -CA %s.pem -CAkey %s.key "
		 "-CAcreateserial -days 2 -extfile %s.ext -out %s.pem",
		 name, name, cn, ext, name, name, ca, ca, name, name);
	run(cmd);
}

static void make_ca(const char *name)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
		 "-nodes -keyout %s.key -out %s.pem -days 2 -subj '/CN=userd test %s'",
		 name, name, name);
	run(cmd);
}

/* Once per run, before any test: the directory and everything in it. */
static void make_files(void)
{
	snprintf(dir, sizeof(dir), "/tmp/userd-tls-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("check_tls: mkdtemp");
		exit(EXIT_FAILURE);
	}
	make_ca("ca");
	make_ca("otherca");
	make_cert("server", "127.0.0.1", "ca",
		  "subjectAltName=IP:127.0.0.1,DNS:localhost\\n"
		  "extendedKeyUsage=serverAuth\\n");
	make_cert("client", "client", "ca", "extendedKeyUsage=clientAuth\\n");
	make_cert("rogue", "rogue", "otherca", "extendedKeyUsage=clientAuth\\n");
	run("printf 'not a certificate\\n' >notpem.txt && mkdir adir");
}

static int remove_one(const char *path, const struct stat *st, int flag,
		      struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void remove_files(void)
{
	if (dir[0] != '\0')
		nftw(dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
}

static void teardown(void)
{
	client_release(&r);
	client_set_tls(NULL, NULL, NULL);
	daemon_cleanup(&d);
}

/* Start userd with TLS (and `more` args, NULL-terminated, at most 8). */
static void start_tls(bool client_certs, const char *const more[])
{
	const char *args[24] = {"--tls-cert", at("server.pem"), "--tls-key",
				at("server.key"), "--access-log", "off"};
	int n = 6;

	if (client_certs) {
		args[n++] = "--tls-trust";
		args[n++] = at("ca.pem");
	}
	for (; more != NULL && *more != NULL && n < 22; more++)
		args[n++] = *more;
	args[n] = NULL;
	ck_assert_int_eq(daemon_start(&d, args), 0);
	ck_assert_msg(strncmp(d.base, "https://127.0.0.1:", 18) == 0,
		      "listening line not https: %s", d.base);
}

/* The value of a metric sample (a full series name). */
static double metric(const char *name)
{
	return client_metric(d.base, name);
}

/* ---- serving ---------------------------------------------------------- */

START_TEST(test_https_every_route)
{
	char url[128];

	start_tls(false, NULL);
	client_set_tls(at("ca.pem"), NULL, NULL);
	client_request(&r, "GET", d.base, "/user/7?delay=0");
	client_assert_user(&r, 7);
	/* The same connection again, and the other routes. */
	client_request(&r, "GET", d.base, "/users?ids=1,2&delay=0");
	ck_assert_int_eq(r.code, CURLE_OK);
	ck_assert_int_eq(r.status, 200);
	client_request(&r, "GET", d.base, "/healthz");
	ck_assert_int_eq(r.status, 200);
	client_request(&r, "GET", d.base, "/readyz");
	ck_assert_int_eq(r.status, 200);
	client_request(&r, "GET", d.base, "/");
	ck_assert_int_eq(r.status, 200);
	client_request(&r, "GET", d.base, "/nope");
	client_assert_error(&r, 404);
	client_request(&r, "GET", d.base, "/user/abc");
	client_assert_error(&r, 400);
	ck_assert_double_eq(metric("userd_requests_total{route=\"/user\",code=\"200\"}"), 1);
	/* The certificate names localhost too. */
	snprintf(url, sizeof(url), "https://localhost:%u", d.port);
	client_release(&r);
	client_request(&r, "GET", url, "/user/8?delay=0");
	client_assert_user(&r, 8);
}
END_TEST

START_TEST(test_plain_http_refused)
{
	char url[64];

	start_tls(false, NULL);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", d.port);
	client_request(&r, "GET", url, "/user/7?delay=0");
	ck_assert_msg(r.code != CURLE_OK || r.status != 200,
		      "plain HTTP answered %ld on the TLS port", r.status);
	/* The server is still fine. */
	client_release(&r);
	client_set_tls(at("ca.pem"), NULL, NULL);
	client_request(&r, "GET", d.base, "/healthz");
	ck_assert_int_eq(r.status, 200);
}
END_TEST

START_TEST(test_wrong_ca_refused_by_client)
{
	start_tls(false, NULL);
	client_set_tls(at("otherca.pem"), NULL, NULL);
	client_request(&r, "GET", d.base, "/user/7?delay=0");
	ck_assert_int_eq(r.code, CURLE_PEER_FAILED_VERIFICATION);
}
END_TEST

/* ---- client certificates ------------------------------------------------ */

START_TEST(test_client_cert_required)
{
	start_tls(true, NULL);
	client_set_tls(at("ca.pem"), NULL, NULL);
	client_request(&r, "GET", d.base, "/user/7?delay=0");
	ck_assert_msg(r.code != CURLE_OK, "answered %ld without a client "
		      "certificate", r.status);
}
END_TEST

START_TEST(test_client_cert_accepted)
{
	start_tls(true, NULL);
	client_set_tls(at("ca.pem"), at("client.pem"), at("client.key"));
	client_request(&r, "GET", d.base, "/user/7?delay=0");
	client_assert_user(&r, 7);
	client_request(&r, "GET", d.base, "/user/9?delay=50");
	client_assert_user(&r, 9);
}
END_TEST

START_TEST(test_client_cert_other_ca_refused)
{
	start_tls(true, NULL);
	client_set_tls(at("ca.pem"), at("rogue.pem"), at("rogue.key"));
	client_request(&r, "GET", d.base, "/user/7?delay=0");
	ck_assert_msg(r.code != CURLE_OK, "answered %ld to a certificate of "
		      "another CA", r.status);
	/* The right one still gets in. */
	client_release(&r);
	client_set_tls(at("ca.pem"), at("client.pem"), at("client.key"));
	client_request(&r, "GET", d.base, "/user/7?delay=0");
	client_assert_user(&r, 7);
}
END_TEST

/* ---- files refused at start ---------------------------------------------- */

/* Run userd with `args`; assert it exits `status` saying `says`. */
static void assert_refused(const char *const args[], int status, const char *says)
{
	static char out[8192], err[8192];
	int ws = daemon_run(args, out, err, sizeof(out));

	ck_assert_msg(WIFEXITED(ws), "userd did not exit (%d): %s", ws, err);
	ck_assert_msg(WEXITSTATUS(ws) == status, "exit %d, not %d: %s",
		      WEXITSTATUS(ws), status, err);
	ck_assert_msg(strstr(err, says) != NULL, "stderr lacks '%s': %s", says, err);
}

START_TEST(test_bad_files_exit_78)
{
	const char *missing[] = {"--tls-cert", at("missing.pem"), "--tls-key",
				 at("server.key"), NULL};
	const char *directory[] = {"--tls-cert", at("server.pem"), "--tls-key",
				   at("adir"), NULL};
	const char *notpem[] = {"--tls-cert", at("notpem.txt"), "--tls-key",
				at("server.key"), NULL};
	const char *keyascert[] = {"--tls-cert", at("server.key"), "--tls-key",
				   at("server.key"), NULL};
	const char *mismatch[] = {"--tls-cert", at("server.pem"), "--tls-key",
				  at("client.key"), NULL};
	const char *badtrust[] = {"--tls-cert", at("server.pem"), "--tls-key",
				  at("server.key"), "--tls-trust", at("notpem.txt"),
				  NULL};
	const char *empty[] = {"--tls-cert", at("server.pem"), "--tls-key",
			       at("server.key"), "--tls-trust", "/dev/null", NULL};

	assert_refused(missing, 78, "missing.pem: No such file");
	assert_refused(directory, 78, "adir: Is a directory");
	assert_refused(notpem, 78, "notpem.txt: not a PEM file");
	assert_refused(keyascert, 78, "server.key: no usable certificate");
	assert_refused(mismatch, 78, "client.key: not the private key of the "
		       "certificate in");
	assert_refused(badtrust, 78, "notpem.txt: not a PEM file");
	assert_refused(empty, 78, "/dev/null: empty file");
}
END_TEST

/* An unreadable key.  root reads a mode-000 file, so as root userd runs
 * as nobody (setpriv, util-linux) for this one. */
START_TEST(test_unreadable_file_exit_78)
{
	const char *args[] = {"--tls-cert", at("server.pem"), "--tls-key",
			      at("locked.key"), NULL};
	char line[1024], out[4096];
	size_t n;
	FILE *p;
	int rc;

	run("cp server.key locked.key && chmod 000 locked.key && chmod 755 .");
	if (geteuid() != 0) {
		assert_refused(args, 78, "locked.key: Permission denied");
		return;
	}
	snprintf(line, sizeof(line),
		 "setpriv --reuid=nobody --regid=nogroup --clear-groups "
		 "%s --tls-cert %s --tls-key %s 2>&1", daemon_binary(),
		 at("server.pem"), at("locked.key"));
	p = popen(line, "r");
	ck_assert_ptr_nonnull(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	rc = pclose(p);
	ck_assert_msg(WIFEXITED(rc) && WEXITSTATUS(rc) == 78, "exit %d: %s", rc, out);
	ck_assert_msg(strstr(out, "locked.key: Permission denied") != NULL, "%s", out);
}
END_TEST

START_TEST(test_half_configured_exit_64)
{
	const char *cert_only[] = {"--tls-cert", at("server.pem"), NULL};
	const char *key_only[] = {"--tls-key", at("server.key"), NULL};
	const char *trust_only[] = {"--tls-trust", at("ca.pem"), NULL};
	const char *file[] = {"--config", at("half.conf"), NULL};
	char cmd[256];

	assert_refused(cert_only, 64, "tls-cert needs tls-key");
	assert_refused(key_only, 64, "tls-key needs tls-cert");
	assert_refused(trust_only, 64, "tls-trust needs tls-cert");
	/* From a config file the file is to blame: 78, naming it. */
	snprintf(cmd, sizeof(cmd), "printf 'tls-cert = %s\\n' >half.conf",
		 at("server.pem"));
	run(cmd);
	assert_refused(file, 78, "half.conf: tls-cert needs tls-key");
}
END_TEST

/* ---- waiting over TLS ---------------------------------------------------- */

START_TEST(test_delay_over_tls)
{
	start_tls(false, NULL);
	client_set_tls(at("ca.pem"), NULL, NULL);
	client_request(&r, "GET", d.base, "/user/7?delay=300");
	client_assert_user(&r, 7);
	ck_assert_msg(r.seconds >= 0.3 && r.seconds < 2.0, "took %.3f s", r.seconds);
}
END_TEST

START_TEST(test_concurrent_over_tls)
{
	const char *more[] = {"--delay", "fixed:1000", NULL};
	static struct reply rs[20];
	double wall;

	start_tls(true, more);
	client_set_tls(at("ca.pem"), at("client.pem"), at("client.key"));
	wall = client_fetch_many(rs, 20, &d, 0, 0);
	for (int i = 0; i < 20; i++) {
		client_assert_user(&rs[i], i);
		ck_assert_msg(rs[i].seconds >= 1.0, "#%d took %.3f s", i, rs[i].seconds);
	}
	/* One after another would take at least 20 s (20 x 1 s); the
	 * handshakes of 20 clients can take seconds on a loaded machine. */
	ck_assert_msg(wall < 15.0, "20 requests took %.3f s", wall);
}
END_TEST

/* A client that leaves while its request waits is counted as gone, not
 * answered: the MSG_PEEK on the raw socket still works under TLS. */
START_TEST(test_client_gone_counted_over_tls)
{
	char url[128];

	start_tls(false, NULL);
	client_set_tls(at("ca.pem"), NULL, NULL);
	/* The client gives up after 1.5 s (its handshake may take a while in
	 * an instrumented build), long before the 4 s delay ends. */
	snprintf(url, sizeof(url), "%s/user/7?delay=4000", d.base);
	client_prepare(&r, "GET", url);
	curl_easy_setopt(r.easy, CURLOPT_TIMEOUT_MS, 1500L);
	r.code = curl_easy_perform(r.easy);
	ck_assert_int_eq(r.code, CURLE_OPERATION_TIMEDOUT);
	client_release(&r); /* gone, while the request waits */
	/* Noticed when the delay ends (4 s); a loaded machine may take
	 * longer to get there. */
	for (int i = 0; i < 150 && metric("userd_client_disconnects_total") < 1; i++)
		usleep(100 * 1000);
	ck_assert_double_eq(metric("userd_requests_waiting"), 0);
	ck_assert_double_eq(metric("userd_client_disconnects_total"), 1);
	ck_assert_double_eq(metric("userd_requests_total{route=\"/user\",code=\"200\"}"), 0);
}
END_TEST

START_TEST(test_sigterm_drains_over_tls)
{
	const char *more[] = {"--delay", "fixed:6000", NULL};
	static struct reply rs[20];
	char log[1 << 14];
	const char *p;
	int status, answered = 0, in_flight = -1;

	start_tls(false, more);
	client_set_tls(at("ca.pem"), NULL, NULL);
	/* 3 s for 20 handshakes, even in an instrumented build. */
	client_fetch_many(rs, 20, &d, SIGTERM, 3.0);
	status = daemon_wait(&d, 10.0);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "exit status %d", status);
	/* Every request in flight at SIGTERM is answered with its record; a
	 * client whose handshake was still going on (a loaded machine) is
	 * refused with 503 or a closed connection, never left hanging. */
	daemon_log_read(&d, log, sizeof(log));
	p = strstr(log, "draining ");
	ck_assert_msg(p != NULL && sscanf(p, "draining %d requests", &in_flight) == 1,
		      "log: %s", log);
	for (int i = 0; i < 20; i++) {
		if (rs[i].code == CURLE_OK && rs[i].status == 200) {
			client_assert_user(&rs[i], i);
			answered++;
		} else if (rs[i].code == CURLE_OK) {
			client_assert_error(&rs[i], 503);
		}
	}
	ck_assert_msg(in_flight >= 1 && answered >= in_flight,
		      "%d in flight at SIGTERM, %d answered", in_flight, answered);
}
END_TEST

/* ---- the control API over TLS ---------------------------------------------- */

/* Start userd with the control API on `admin` over TLS (the test
 * certificate), token "s3cret", and `more` (NULL-terminated, at most 4);
 * its URL into `url` (128 bytes). */
static void start_admin_tls(const char *admin, const char *const more[], char *url)
{
	const char *args[16] = {"--admin", admin, "--admin-token-file", at("admin.token"),
				"--admin-tls-cert", at("server.pem"),
				"--admin-tls-key", at("server.key")};
	int n = 8;

	for (; more != NULL && *more != NULL && n < 12; more++)
		args[n++] = *more;
	args[n] = NULL;
	run("printf 's3cret\\n' >admin.token");
	ck_assert_int_eq(daemon_start(&d, args), 0);
	ck_assert(daemon_admin_url(&d, url, 128));
}

/* GET `path` on the control API at `base` with `token` (NULL: none). */
static void admin_get(const char *base, const char *path, const char *token)
{
	client_set_bearer(token);
	client_request(&r, "GET", base, path);
	client_set_bearer(NULL);
}

START_TEST(test_admin_over_https)
{
	char url[128], plain[128];

	start_admin_tls("127.0.0.1:0", NULL, url);
	ck_assert_msg(strncmp(url, "https://127.0.0.1:", 18) == 0, "%s", url);
	ck_assert(daemon_log_contains(&d, "control API on https://"));
	/* The user port keeps its own scheme: plain HTTP here. */
	ck_assert_msg(strncmp(d.base, "http://", 7) == 0, "%s", d.base);
	client_set_tls(at("ca.pem"), NULL, NULL);
	admin_get(url, "/config", "s3cret");
	ck_assert_int_eq(r.code, CURLE_OK);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "\"delay\""));
	admin_get(url, "/config", NULL);
	ck_assert_int_eq(r.status, 401);
	/* The certificate is checked: another CA's client refuses it. */
	client_release(&r);
	client_set_tls(at("otherca.pem"), NULL, NULL);
	admin_get(url, "/config", "s3cret");
	ck_assert_int_eq(r.code, CURLE_PEER_FAILED_VERIFICATION);
	/* And plain HTTP gets nothing from it. */
	client_release(&r);
	client_set_tls(NULL, NULL, NULL);
	snprintf(plain, sizeof(plain), "http://%s", url + strlen("https://"));
	admin_get(plain, "/config", "s3cret");
	ck_assert_msg(r.code != CURLE_OK || r.status != 200,
		      "plain HTTP answered %ld on the TLS control port", r.status);
}
END_TEST

/* Off loopback (127.1 is loopback, but not taken for it: see
 * check_control), TLS is what lets it start, without --admin-insecure. */
START_TEST(test_admin_tls_off_loopback)
{
	char url[128];

	start_admin_tls("127.1:0", NULL, url);
	ck_assert_msg(strncmp(url, "https://127.0.0.1:", 18) == 0, "%s", url);
	ck_assert(daemon_log_lacks(&d, "in the clear"));
	client_set_tls(at("ca.pem"), NULL, NULL);
	admin_get(url, "/stats", "s3cret");
	ck_assert_int_eq(r.code, CURLE_OK);
	ck_assert_int_eq(r.status, 200);
}
END_TEST

START_TEST(test_admin_tls_refused)
{
	const char *mismatch[] = {"--admin", "127.0.0.1:0", "--admin-tls-cert",
				  at("server.pem"), "--admin-tls-key", at("client.key"),
				  "--bind", "127.0.0.1", "--port", "0", NULL};
	const char *cert_only[] = {"--admin", "127.0.0.1:0", "--admin-tls-cert",
				   at("server.pem"), "--bind", "127.0.0.1", "--port", "0",
				   NULL};
	const char *no_admin[] = {"--admin-tls-cert", at("server.pem"), "--admin-tls-key",
				  at("server.key"), "--bind", "127.0.0.1", "--port", "0",
				  NULL};
	const char *on_unix[] = {"--admin", "unix:/tmp/userd-admin.sock", "--admin-tls-cert",
				 at("server.pem"), "--admin-tls-key", at("server.key"),
				 "--bind", "127.0.0.1", "--port", "0", NULL};

	assert_refused(mismatch, 78, "client.key: not the private key of the "
		       "certificate in");
	assert_refused(cert_only, 64, "admin-tls-cert needs admin-tls-key");
	assert_refused(no_admin, 64, "admin-tls-cert needs admin");
	assert_refused(on_unix, 64, "a unix: socket is local");
}
END_TEST

static Suite *tls_suite(void)
{
	Suite *s = suite_create("tls");
	TCase *serve = tcase_create("serving");
	TCase *certs = tcase_create("client certificates");
	TCase *files = tcase_create("files");
	TCase *wait = tcase_create("waiting");
	TCase *admin = tcase_create("control API");

	/* Many TLS handshakes against a clock: ten times slower under
	 * ThreadSanitizer, whose stage leaves these out. */
	tcase_set_tags(wait, "timing");
	TCase *all[] = {serve, certs, files, wait, admin};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		tcase_add_checked_fixture(all[i], NULL, teardown);
		suite_add_tcase(s, all[i]);
	}
	tcase_add_test(serve, test_https_every_route);
	tcase_add_test(serve, test_plain_http_refused);
	tcase_add_test(serve, test_wrong_ca_refused_by_client);
	tcase_add_test(certs, test_client_cert_required);
	tcase_add_test(certs, test_client_cert_accepted);
	tcase_add_test(certs, test_client_cert_other_ca_refused);
	tcase_add_test(files, test_bad_files_exit_78);
	tcase_add_test(files, test_unreadable_file_exit_78);
	tcase_add_test(files, test_half_configured_exit_64);
	tcase_add_test(wait, test_delay_over_tls);
	tcase_add_test(wait, test_concurrent_over_tls);
	tcase_add_test(wait, test_client_gone_counted_over_tls);
	tcase_add_test(wait, test_sigterm_drains_over_tls);
	tcase_add_test(admin, test_admin_over_https);
	tcase_add_test(admin, test_admin_tls_off_loopback);
	tcase_add_test(admin, test_admin_tls_refused);
	return s;
}

int main(void)
{
	int rc;

	make_files();
	rc = testutil_run(tls_suite());
	remove_files();
	return rc;
}
