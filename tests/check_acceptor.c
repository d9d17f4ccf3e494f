/* Unit tests for src/acceptor.c: the accept thread, its limit, how a
 * release and the owner's count make room, and stopping. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "acceptor.h"
#include "listener.h"
#include "log.h"
#include "testutil.h"

static int listen_fd;
static unsigned port;
static acceptor *acc;
static _Atomic int taken;            /* connections cb took */
static int taken_fds[16];
static _Atomic unsigned owner_count; /* what the owner says is open */
static int clients[16];
static int nclients;

static bool take(void *cls, int fd, const struct sockaddr *addr, socklen_t len)
{
	int i = atomic_fetch_add(&taken, 1);

	(void)cls;
	(void)addr;
	(void)len;
	if (i < 16)
		taken_fds[i] = fd;
	else
		close(fd);
	return true;
}

static unsigned count(void *cls)
{
	(void)cls;
	return atomic_load(&owner_count);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Wait up to `s` seconds for cb to have taken `n`. */
static bool wait_taken(int n, double s)
{
	double until = now_s() + s;

	while (atomic_load(&taken) < n && now_s() < until)
		usleep(5000);
	return atomic_load(&taken) >= n;
}

static void connect_client(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	clients[nclients++] = fd;
}

static void setup(void)
{
	char err[128], url[64];

	log_set_level(LOG_LEVEL_ERROR);
	listen_fd = listener_open("127.0.0.1", 0, false, err, sizeof(err));
	ck_assert_msg(listen_fd >= 0, "%s", err);
	listener_url(listen_fd, url, sizeof(url));
	port = (unsigned)atoi(strrchr(url, ':') + 1);
	atomic_store(&taken, 0);
	atomic_store(&owner_count, 0);
	nclients = 0;
	acc = NULL;
}

static void teardown(void)
{
	acceptor_free(acc);
	for (int i = 0; i < atomic_load(&taken) && i < 16; i++)
		close(taken_fds[i]);
	for (int i = 0; i < nclients; i++)
		close(clients[i]);
	close(listen_fd);
}

START_TEST(test_takes_connections_up_to_the_limit)
{
	ck_assert_int_eq(acceptor_start(&acc, listen_fd, 2, take, count, NULL), 0);
	for (int i = 0; i < 3; i++)
		connect_client();
	ck_assert(wait_taken(2, 5.0));
	usleep(200000);
	ck_assert_int_eq(atomic_load(&taken), 2); /* the third waits */
	ck_assert_uint_eq(acceptor_open(acc), 2);
	atomic_store(&owner_count, 2);
	acceptor_release(acc);                      /* one closed */
	atomic_store(&owner_count, 1);
	ck_assert(wait_taken(3, 1.0));              /* taken at once */
	ck_assert_uint_eq(acceptor_open(acc), 2);
}
END_TEST

/* Connections the owner never saw (dropped before they started) are
 * never released: the count heals from the owner's after two checks. */
START_TEST(test_count_heals_from_the_owner)
{
	double t0;

	ck_assert_int_eq(acceptor_start(&acc, listen_fd, 2, take, count, NULL), 0);
	for (int i = 0; i < 3; i++)
		connect_client();
	ck_assert(wait_taken(2, 5.0));
	atomic_store(&owner_count, 0); /* both vanished unseen */
	t0 = now_s();
	ck_assert(wait_taken(3, 10.0));
	ck_assert_msg(now_s() - t0 >= 0.5, "healed too soon: %.2f s", now_s() - t0);
}
END_TEST

START_TEST(test_stop_joins_and_takes_no_more)
{
	ck_assert_int_eq(acceptor_start(&acc, listen_fd, 8, take, count, NULL), 0);
	connect_client();
	ck_assert(wait_taken(1, 5.0));
	acceptor_stop(acc);
	acceptor_stop(acc); /* idempotent */
	connect_client();   /* in the backlog: nobody takes it */
	usleep(200000);
	ck_assert_int_eq(atomic_load(&taken), 1);
}
END_TEST

static Suite *acceptor_suite(void)
{
	Suite *s = suite_create("acceptor");
	TCase *tc = tcase_create("accept");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_takes_connections_up_to_the_limit);
	tcase_add_test(tc, test_count_heals_from_the_owner);
	tcase_add_test(tc, test_stop_joins_and_takes_no_more);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(acceptor_suite());
}
