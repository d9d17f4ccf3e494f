/* acceptor.c - the accept thread; see acceptor.h.
 *
 * The thread polls the listening socket and an eventfd that acceptor_stop
 * writes.  The count of open connections is an atomic: the thread adds
 * one before handing a connection over, acceptor_release() takes one
 * away, and only the step down from the limit (the one the thread may be
 * waiting for) takes the lock to wake it.
 */
#include "acceptor.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* Connections taken per wake-up before polling again. */
#define ACCEPT_BURST 64
/* How long to wait before retrying when out of file descriptors or
 * memory, or after another accept error. */
#define BACKOFF_MS 100
/* At the limit, how often to check the count against the owner's. */
#define RECOUNT_MS 1000

struct acceptor {
	int listen_fd;
	int wake_fd; /* eventfd, readable once stopping */
	unsigned limit;
	acceptor_cb cb;
	acceptor_count_cb count;
	void *cls;
	pthread_t thread;
	bool joined;
	_Atomic unsigned open;
	atomic_bool stopping;
	pthread_mutex_t lock; /* with cond: waiting for room or a backoff */
	pthread_cond_t cond;
};

/* Wait until a stop is asked for or `ms` pass; with `full`, return as
 * soon as there is room under the limit as well.  Returns false when the
 * time ran out. */
static bool wait_for_room(acceptor *a, bool full, int ms)
{
	struct timespec until;

	bool in_time = true;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&a->lock);
	while (!atomic_load(&a->stopping)) {
		if (full && atomic_load(&a->open) < a->limit)
			break;
		if (pthread_cond_timedwait(&a->cond, &a->lock, &until) == ETIMEDOUT) {
			in_time = false;
			break;
		}
	}
	pthread_mutex_unlock(&a->lock);
	return in_time;
}

/* The limit has held for RECOUNT_MS.  If the owner counts fewer open
 * connections than we do twice in a row (a second apart, so none of ours
 * is still on its way to the owner), the difference was dropped unseen:
 * take it back.  *stale carries the first sighting to the second. */
static void recount(acceptor *a, bool *stale)
{
	unsigned ours = atomic_load(&a->open);
	unsigned real = a->count(a->cls);

	if (real >= ours) {
		*stale = false;
		return;
	}
	if (!*stale) {
		*stale = true;
		return;
	}
	/* Only if no release came in between (then look again later). */
	if (atomic_compare_exchange_strong(&a->open, &ours, real))
		log_warn("%u connections were dropped before they started; "
			 "accepting again", ours - real);
	*stale = false;
}

/* accept(2) failed with `err`: wait as the error calls for, and say so
 * once per episode (*failing). */
static void accept_failed(acceptor *a, int err, bool *failing)
{
	switch (err) {
	case EAGAIN:
#if EWOULDBLOCK != EAGAIN
	case EWOULDBLOCK:
#endif
	case EINTR:
	case ECONNABORTED: /* the client gave up while in the backlog */
	case EPROTO:
	case EPERM: /* a firewall rule refused it */
		return;
	case EMFILE:
	case ENFILE:
	case ENOBUFS:
	case ENOMEM:
		/* The connection stays in the backlog; retry as
		 * connections close. */
		if (!*failing)
			log_warn("out of file descriptors or memory (accept: %s): new "
				 "connections wait until others close", strerror(err));
		*failing = true;
		wait_for_room(a, false, BACKOFF_MS);
		return;
	default:
		if (!*failing)
			log_error("accept: %s; retrying every %d ms", strerror(err),
				  BACKOFF_MS);
		*failing = true;
		wait_for_room(a, false, BACKOFF_MS);
		return;
	}
}

static void *accept_loop(void *arg)
{
	acceptor *a = arg;
	struct pollfd fds[2] = {
		{.fd = a->listen_fd, .events = POLLIN},
		{.fd = a->wake_fd, .events = POLLIN},
	};
	bool failing = false, stale = false;

	while (!atomic_load(&a->stopping)) {
		if (atomic_load(&a->open) >= a->limit) {
			if (!wait_for_room(a, true, RECOUNT_MS))
				recount(a, &stale);
			continue;
		}
		stale = false;
		if (poll(fds, 2, -1) < 0) {
			if (errno != EINTR)
				accept_failed(a, errno, &failing);
			continue;
		}
		if (fds[1].revents != 0)
			break;
		for (int i = 0; i < ACCEPT_BURST && atomic_load(&a->open) < a->limit; i++) {
			struct sockaddr_storage ss;
			socklen_t len = sizeof(ss);
			int fd = accept4(a->listen_fd, (struct sockaddr *)&ss, &len,
					 SOCK_NONBLOCK | SOCK_CLOEXEC);

			if (fd < 0) {
				accept_failed(a, errno, &failing);
				break;
			}
			if (failing)
				log_info("accepting connections again");
			failing = false;
			/* Count first: the release may come before cb returns. */
			atomic_fetch_add(&a->open, 1);
			if (!a->cb(a->cls, fd, (struct sockaddr *)&ss, len))
				acceptor_release(a);
		}
	}
	return NULL;
}

int acceptor_start(acceptor **out, int listen_fd, unsigned limit,
		   acceptor_cb cb, acceptor_count_cb count, void *cls)
{
	pthread_condattr_t attr;
	acceptor *a;
	int flags, rc;

	assert(listen_fd >= 0 && limit >= 1 && cb != NULL && count != NULL);
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return ENOMEM;
	a->listen_fd = listen_fd;
	a->limit = limit;
	a->cb = cb;
	a->count = count;
	a->cls = cls;
	/* Non-blocking, so a connection that vanishes between poll and
	 * accept cannot block the thread. */
	flags = fcntl(listen_fd, F_GETFL);
	if (flags < 0 || fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK) != 0) {
		rc = errno;
		free(a);
		return rc;
	}
	a->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (a->wake_fd < 0) {
		rc = errno;
		free(a);
		return rc;
	}
	pthread_mutex_init(&a->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&a->cond, &attr);
	pthread_condattr_destroy(&attr);
	/* Set before the thread starts: cb's owner may see a connection,
	 * and release it, before pthread_create returns. */
	*out = a;
	rc = pthread_create(&a->thread, NULL, accept_loop, a);
	if (rc != 0) {
		*out = NULL;
		pthread_cond_destroy(&a->cond);
		pthread_mutex_destroy(&a->lock);
		close(a->wake_fd);
		free(a);
		return rc;
	}
	return 0;
}

void acceptor_release(acceptor *a)
{
	unsigned before = atomic_fetch_sub(&a->open, 1);

	assert(before > 0);
	/* The thread waits for this only when it reached the limit. */
	if (before == a->limit) {
		pthread_mutex_lock(&a->lock);
		pthread_cond_signal(&a->cond);
		pthread_mutex_unlock(&a->lock);
	}
}

unsigned acceptor_open(acceptor *a)
{
	return atomic_load(&a->open);
}

void acceptor_stop(acceptor *a)
{
	uint64_t one = 1;

	if (a->joined)
		return;
	atomic_store(&a->stopping, true);
	if (write(a->wake_fd, &one, sizeof(one)) < 0)
		log_error("acceptor: cannot wake the accept thread: %s", strerror(errno));
	pthread_mutex_lock(&a->lock);
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->thread, NULL);
	a->joined = true;
}

void acceptor_free(acceptor *a)
{
	if (a == NULL)
		return;
	acceptor_stop(a);
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->lock);
	close(a->wake_fd);
	free(a);
}
