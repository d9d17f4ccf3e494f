/* transport.c - the faults that are not an answer; see transport.h. */
#include "transport.h"

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"

/* How often a held connection is looked at. */
#define HOLD_CHECK_NS (1000u * 1000000u)
/* Most chunks a second of one dripping body. */
#define DRIP_TICKS_PER_S 50u

enum transport_plan transport_plan(enum fault_kind kind)
{
	/* Every kind, so that -Wswitch points a new one out here. */
	switch (kind) {
	case FAULT_NONE:
	case FAULT_STATUS: /* an answer */
		return TRANSPORT_SEND;
	case FAULT_RESET:
		return TRANSPORT_RESET;
	case FAULT_CLOSE:
		return TRANSPORT_CLOSE;
	case FAULT_HANG:
		return TRANSPORT_HOLD;
	case FAULT_DRIP:
	case FAULT_TRUNCATE:
		return TRANSPORT_PACE;
	case FAULT_KINDS:
		break;
	}
	assert(0 && "not a fault kind");
	return TRANSPORT_SEND;
}

void transport_set(struct transport *t, struct fault f)
{
	t->fault = f;
	t->plan = transport_plan(f.kind);
}

void transport_cancel(struct transport *t)
{
	t->fault.kind = FAULT_NONE;
	t->plan = TRANSPORT_SEND;
}

/* ---- pacing -------------------------------------------------------------- */

uint64_t transport_pace(struct transport *t, char *body, size_t len)
{
	assert(t->plan == TRANSPORT_PACE && t->body == NULL);
	t->body = body;
	t->len = len;
	t->next_ns = 0;
	if (t->fault.kind == FAULT_TRUNCATE)
		return (uint64_t)len + (len > 0 ? len : 1);
	return len;
}

void transport_release(struct transport *t)
{
	free(t->body);
	t->body = NULL;
}

enum transport_step transport_read(struct transport *t, uint64_t pos, char *buf,
				   size_t max, uint64_t now_ns, size_t *n,
				   uint64_t *until_ns)
{
	size_t left = pos < t->len ? t->len - (size_t)pos : 0;

	assert(t->plan == TRANSPORT_PACE && max > 0);
	*n = left < max ? left : max;
	if (t->fault.kind == FAULT_TRUNCATE) {
		if (*n == 0)
			return TRANSPORT_ABORT;
	} else if (*n == 0) {
		return TRANSPORT_END;
	} else if (t->go_now) {
		t->go_now = false;
	} else if (now_ns < t->next_ns) {
		*until_ns = t->next_ns;
		return TRANSPORT_WAIT;
	} else {
		size_t chunk = t->fault.arg / DRIP_TICKS_PER_S;

		assert(t->fault.kind == FAULT_DRIP && t->fault.arg > 0);
		if (chunk < 1)
			chunk = 1;
		if (*n > chunk)
			*n = chunk;
		t->next_ns = now_ns + (uint64_t)*n * 1000000000u / t->fault.arg;
	}
	memcpy(buf, t->body + pos, *n);
	return TRANSPORT_DATA;
}

void transport_rush(struct transport *t)
{
	t->go_now = true;
	t->rushed = true;
}

/* ---- holding --------------------------------------------------------------- */

void transport_hold_begin(struct transport *t, uint64_t now_ns, unsigned timeout_s)
{
	assert(t->plan == TRANSPORT_HOLD);
	t->next_ns = now_ns + (uint64_t)timeout_s * 1000000000u;
}

bool transport_hold_next(const struct transport *t, uint64_t now_ns, uint64_t *next_ns)
{
	uint64_t next = now_ns + HOLD_CHECK_NS;

	if (now_ns >= t->next_ns)
		return false;
	*next_ns = next < t->next_ns ? next : t->next_ns;
	return true;
}

/* ---- the socket -------------------------------------------------------------- */

void transport_reset(int fd)
{
	struct sockaddr unspec = {.sa_family = AF_UNSPEC};

	if (connect(fd, &unspec, sizeof(unspec)) != 0)
		log_debug("reset fault: disconnect: %s", strerror(errno));
}

bool transport_peer_gone(int fd, bool tls)
{
	struct pollfd p = {.fd = fd, .events = POLLRDHUP};
	char byte;
	ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
		return true;
	if (n < 0 || !tls)
		return false;
	return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}
