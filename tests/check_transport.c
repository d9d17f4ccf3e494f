/* Unit tests for src/transport.c: what each kind plans, the pacing of a
 * body and the hold, driven by a clock of the test's own (no socket, no
 * libmicrohttpd), and the two socket calls on socket pairs. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testutil.h"
#include "transport.h"

#define MS 1000000u /* ns */
#define SEC 1000000000u

static struct transport t;
static char buf[4096];

static void setup(void)
{
	memset(&t, 0, sizeof(t));
}

static void teardown(void)
{
	transport_release(&t);
}

/* t, given fault `kind` with `arg`, takes a copy of `len` bytes 0, 1, 2,
 * ...; returns the Content-Length it announces. */
static uint64_t pace(enum fault_kind kind, unsigned arg, size_t len)
{
	struct fault f = {.kind = kind, .arg = arg};
	char *body = len > 0 ? malloc(len) : NULL;

	for (size_t i = 0; i < len; i++)
		body[i] = (char)i;
	transport_set(&t, f);
	ck_assert_int_eq(t.plan, TRANSPORT_PACE);
	return transport_pace(&t, body, len);
}

/* ---- plans ---------------------------------------------------------------- */

/* Every kind: a plan of its own exactly when the table calls it a
 * transport fault. */
START_TEST(test_plan_every_kind)
{
	enum fault_kind k = (enum fault_kind)_i;

	ck_assert_msg((transport_plan(k) != TRANSPORT_SEND) == fault_is_transport(k),
		      "%s: plan %d", fault_kind_name(k), (int)transport_plan(k));
}
END_TEST

START_TEST(test_plans)
{
	struct fault reset = {.kind = FAULT_RESET};

	ck_assert_int_eq(transport_plan(FAULT_NONE), TRANSPORT_SEND);
	ck_assert_int_eq(transport_plan(FAULT_STATUS), TRANSPORT_SEND);
	ck_assert_int_eq(transport_plan(FAULT_RESET), TRANSPORT_RESET);
	ck_assert_int_eq(transport_plan(FAULT_CLOSE), TRANSPORT_CLOSE);
	ck_assert_int_eq(transport_plan(FAULT_HANG), TRANSPORT_HOLD);
	ck_assert_int_eq(transport_plan(FAULT_DRIP), TRANSPORT_PACE);
	ck_assert_int_eq(transport_plan(FAULT_TRUNCATE), TRANSPORT_PACE);
	/* Zeroed: no fault. */
	ck_assert_int_eq(t.plan, TRANSPORT_SEND);
	ck_assert_int_eq(t.fault.kind, FAULT_NONE);
	transport_set(&t, reset);
	ck_assert_int_eq(t.plan, TRANSPORT_RESET);
	transport_cancel(&t);
	ck_assert_int_eq(t.plan, TRANSPORT_SEND);
	ck_assert_int_eq(t.fault.kind, FAULT_NONE);
}
END_TEST

/* A cancelled fault keeps the body it took, for its release. */
START_TEST(test_cancel_keeps_the_body)
{
	pace(FAULT_DRIP, 100, 10);
	transport_cancel(&t);
	ck_assert_ptr_nonnull(t.body);
	transport_release(&t);
	ck_assert_ptr_null(t.body);
	transport_release(&t); /* idempotent */
}
END_TEST

/* ---- truncate ------------------------------------------------------------- */

/* More is announced than there is; the body goes at once, whatever the
 * clock says, then the read fails. */
START_TEST(test_truncate)
{
	uint64_t pos = 0, until = 0;
	size_t n;

	ck_assert_uint_eq(pace(FAULT_TRUNCATE, 0, 3000), 6000);
	while (pos < 3000) {
		ck_assert_int_eq(transport_read(&t, pos, buf, 1024, 0, &n, &until), TRANSPORT_DATA);
		ck_assert_uint_eq(n, pos + 1024 <= 3000 ? 1024 : 3000 - pos);
		ck_assert_int_eq((unsigned char)buf[0], (unsigned char)pos);
		pos += n;
	}
	ck_assert_int_eq(transport_read(&t, pos, buf, 1024, 0, &n, &until), TRANSPORT_ABORT);
	ck_assert_int_eq(transport_read(&t, 9000, buf, 1024, 0, &n, &until), TRANSPORT_ABORT);
}
END_TEST

/* ---- drip ------------------------------------------------------------------ */

/* Pull the whole body as the HTTP layer does, the clock jumping to each
 * wait's end: returns the clock at the end, with the chunks' count and
 * largest size. */
static uint64_t drip_all(size_t len, size_t max, uint64_t start, size_t *chunks,
			 size_t *largest)
{
	uint64_t now = start, pos = 0, until = 0;
	size_t n = 0;
	int guard = 0;

	*chunks = 0;
	*largest = 0;
	for (;;) {
		enum transport_step step = transport_read(&t, pos, buf, max, now, &n, &until);

		ck_assert_int_lt(++guard, 100000);
		if (step == TRANSPORT_END)
			break;
		if (step == TRANSPORT_WAIT) {
			ck_assert_uint_gt(until, now);
			now = until;
			continue;
		}
		ck_assert_int_eq(step, TRANSPORT_DATA);
		ck_assert_uint_ge(n, 1);
		ck_assert_int_eq((unsigned char)buf[0], (unsigned char)pos);
		*largest = n > *largest ? n : *largest;
		(*chunks)++;
		pos += n;
	}
	ck_assert_uint_eq(pos, len);
	return now;
}

/* 100 bytes a second: 2-byte chunks, 20 ms apart. */
START_TEST(test_drip_rate)
{
	uint64_t until = 0, start = 5 * SEC;
	size_t n, chunks, largest;

	ck_assert_uint_eq(pace(FAULT_DRIP, 100, 50), 50);
	ck_assert_int_eq(transport_read(&t, 0, buf, 1024, start, &n, &until), TRANSPORT_DATA);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(transport_read(&t, 2, buf, 1024, start, &n, &until), TRANSPORT_WAIT);
	ck_assert_uint_eq(until, start + 20 * MS);
	ck_assert_int_eq(transport_read(&t, 2, buf, 1024, start + 20 * MS - 1, &n, &until),
			 TRANSPORT_WAIT);
	ck_assert_int_eq(transport_read(&t, 2, buf, 1024, start + 20 * MS, &n, &until),
			 TRANSPORT_DATA);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(buf[0], 2);

	/* The whole of 50 bytes: 25 chunks, the last at 24 x 20 ms. */
	transport_release(&t);
	setup();
	pace(FAULT_DRIP, 100, 50);
	ck_assert_uint_eq(drip_all(50, 1024, start, &chunks, &largest), start + 480 * MS);
	ck_assert_uint_eq(chunks, 25);
	ck_assert_uint_eq(largest, 2);
}
END_TEST

/* Below 50 bytes a second a chunk is one byte; a chunk never exceeds
 * what libmicrohttpd has room for, and the pace follows what was sent. */
START_TEST(test_drip_slow_and_fast)
{
	size_t chunks, largest;

	pace(FAULT_DRIP, 10, 5);
	ck_assert_uint_eq(drip_all(5, 1024, 0, &chunks, &largest), 400 * MS);
	ck_assert_uint_eq(largest, 1);
	transport_release(&t);
	setup();
	pace(FAULT_DRIP, FAULT_DRIP_MAX_BPS, 4096);
	ck_assert_uint_eq(drip_all(4096, 1024, 0, &chunks, &largest), 3 * 1024 * 1000u);
	ck_assert_uint_eq(chunks, 4);
	ck_assert_uint_eq(largest, 1024);
}
END_TEST

/* An empty body: truncate still promises a byte and fails; drip ends. */
START_TEST(test_empty_body)
{
	uint64_t until = 0;
	size_t n;

	ck_assert_uint_eq(pace(FAULT_TRUNCATE, 0, 0), 1);
	ck_assert_int_eq(transport_read(&t, 0, buf, 1024, 0, &n, &until), TRANSPORT_ABORT);
	ck_assert_uint_eq(pace(FAULT_DRIP, 100, 0), 0);
	ck_assert_int_eq(transport_read(&t, 0, buf, 1024, 0, &n, &until), TRANSPORT_END);
}
END_TEST

/* A wait that cannot be had: the next read goes at once, as much as
 * there is room for; the one after is paced again. */
START_TEST(test_drip_rush)
{
	uint64_t until = 0;
	size_t n;

	pace(FAULT_DRIP, 100, 50);
	ck_assert_int_eq(transport_read(&t, 0, buf, 1024, 0, &n, &until), TRANSPORT_DATA);
	ck_assert_int_eq(transport_read(&t, 2, buf, 1024, 0, &n, &until), TRANSPORT_WAIT);
	ck_assert(!t.rushed);
	transport_rush(&t);
	ck_assert(t.rushed);
	ck_assert_int_eq(transport_read(&t, 2, buf, 10, 0, &n, &until), TRANSPORT_DATA);
	ck_assert_uint_eq(n, 10);
	ck_assert_int_eq(buf[0], 2);
	ck_assert_int_eq(transport_read(&t, 12, buf, 1024, 0, &n, &until), TRANSPORT_WAIT);
	transport_rush(&t);
	ck_assert_int_eq(transport_read(&t, 12, buf, 1024, 0, &n, &until), TRANSPORT_DATA);
	ck_assert_uint_eq(n, 38);
	ck_assert_int_eq(transport_read(&t, 50, buf, 1024, 0, &n, &until), TRANSPORT_END);
	ck_assert(t.rushed);
}
END_TEST

/* ---- hang -------------------------------------------------------------------- */

/* Looked at once a second, the last look at the end of the hang. */
START_TEST(test_hold)
{
	struct fault hang = {.kind = FAULT_HANG};
	uint64_t start = 7 * SEC, next = 0;

	transport_set(&t, hang);
	ck_assert_int_eq(t.plan, TRANSPORT_HOLD);
	transport_hold_begin(&t, start, 3);
	ck_assert(transport_hold_next(&t, start, &next));
	ck_assert_uint_eq(next, start + SEC);
	ck_assert(transport_hold_next(&t, start + SEC, &next));
	ck_assert_uint_eq(next, start + 2 * SEC);
	ck_assert(transport_hold_next(&t, start + 2500 * MS, &next));
	ck_assert_uint_eq(next, start + 3 * SEC);
	ck_assert(!transport_hold_next(&t, start + 3 * SEC, &next));
	ck_assert(!transport_hold_next(&t, start + 4 * SEC, &next));
}
END_TEST

/* ---- the socket ------------------------------------------------------------------ */

START_TEST(test_peer_gone)
{
	int sv[2];

	for (int tls = 0; tls < 2; tls++) {
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		ck_assert(!transport_peer_gone(sv[0], tls));
		/* A byte waiting is not a goodbye, and is not taken. */
		ck_assert_int_eq(write(sv[1], "x", 1), 1);
		ck_assert(!transport_peer_gone(sv[0], tls));
		ck_assert(!transport_peer_gone(sv[0], tls));
		/* Then the peer shuts down its side: over TLS that byte was
		 * its close_notify, so it left; over plain TCP a request
		 * may come before a half-close. */
		ck_assert_int_eq(shutdown(sv[1], SHUT_WR), 0);
		ck_assert(transport_peer_gone(sv[0], tls) == (tls != 0));
		ck_assert_int_eq(read(sv[0], buf, sizeof(buf)), 1);
		/* Nothing waiting and the peer's side shut: gone. */
		ck_assert(transport_peer_gone(sv[0], tls));
		close(sv[1]);
		ck_assert(transport_peer_gone(sv[0], tls));
		close(sv[0]);
	}
}
END_TEST

/* Closing a reset socket sends an RST: the peer reads ECONNRESET. */
START_TEST(test_reset)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t alen = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0), s;
	struct pollfd p;
	ssize_t n;

	ck_assert(l >= 0 && c >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(l, 1), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&a, &alen), 0);
	ck_assert_int_eq(connect(c, (struct sockaddr *)&a, sizeof(a)), 0);
	s = accept(l, NULL, NULL);
	ck_assert_int_ge(s, 0);
	transport_reset(s);
	close(s);
	p.fd = c;
	p.events = POLLIN;
	ck_assert_int_eq(poll(&p, 1, 10000), 1);
	n = recv(c, buf, sizeof(buf), 0);
	ck_assert_msg(n < 0 && errno == ECONNRESET, "recv: %zd (%s)", n, strerror(errno));
	close(c);
	close(l);
}
END_TEST

static Suite *transport_suite(void)
{
	Suite *s = suite_create("transport");
	TCase *plans = tcase_create("plans");
	TCase *pacing = tcase_create("pacing");
	TCase *sock = tcase_create("socket");

	tcase_add_checked_fixture(plans, setup, teardown);
	tcase_add_loop_test(plans, test_plan_every_kind, 0, FAULT_KINDS);
	tcase_add_test(plans, test_plans);
	tcase_add_test(plans, test_cancel_keeps_the_body);
	suite_add_tcase(s, plans);
	tcase_add_checked_fixture(pacing, setup, teardown);
	tcase_add_test(pacing, test_truncate);
	tcase_add_test(pacing, test_drip_rate);
	tcase_add_test(pacing, test_drip_slow_and_fast);
	tcase_add_test(pacing, test_empty_body);
	tcase_add_test(pacing, test_drip_rush);
	tcase_add_test(pacing, test_hold);
	suite_add_tcase(s, pacing);
	tcase_add_test(sock, test_peer_gone);
	tcase_add_test(sock, test_reset);
	suite_add_tcase(s, sock);
	return s;
}

int main(void)
{
	return testutil_run(transport_suite());
}
