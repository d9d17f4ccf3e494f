/* transport.h - the faults that are not an answer: what happens to the
 * connection instead of sending the answer, or while sending it.
 *
 *   reset     the connection reset (an RST), no answer
 *   close     the connection closed (a FIN), no answer
 *   hang      nothing sent: the connection held, looked at once a second,
 *             until the client leaves or the hang times out; then closed
 *   drip      the answer's body paced: a chunk at a time, at the fault's
 *             bytes a second
 *   truncate  a Content-Length beyond the body, the body, then closed
 *
 * A filter between an answer and its connection, as h2o's throttle_resp
 * is one.  The HTTP layer asks transport_plan() what to do with an
 * answer, pulls a paced body through transport_read(), and asks
 * transport_hold_next() when to look at a held connection again; it keeps
 * the timer queue, the suspending and the resuming.  This module makes
 * the decisions and does the pacing, knowing no HTTP library: the time is
 * a parameter (a test brings its own clock), and the only system calls
 * are on a socket's fd (transport_reset, transport_peer_gone).
 *
 * Its state, struct transport, is embedded in the HTTP layer's exchange:
 * nothing is allocated per request.
 */
#ifndef USERD_TRANSPORT_H
#define USERD_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fault.h"

/* What the HTTP layer does with an answer, by its fault. */
enum transport_plan {
	TRANSPORT_SEND = 0, /* the answer as it is: no transport fault */
	TRANSPORT_PACE,     /* the answer, its body from transport_read() */
	TRANSPORT_HOLD,     /* no answer: the connection held, even with no
			     * delay, as transport_hold_next() says; then closed */
	TRANSPORT_RESET,    /* no answer: transport_reset(), then close */
	TRANSPORT_CLOSE,    /* no answer: close */
};

/* One exchange's transport fault and where it stands.  Zeroed, it has no
 * fault (TRANSPORT_SEND). */
struct transport {
	struct fault fault;        /* a transport fault, or FAULT_NONE */
	enum transport_plan plan;  /* transport_plan(fault.kind) */
	char *body;                /* TRANSPORT_PACE: the body to send (owned) */
	size_t len;
	uint64_t next_ns;          /* pacing: when the next chunk may go;
				    * holding: when the hold ends */
	bool go_now;               /* pacing: the next chunk goes without waiting */
	bool rushed;               /* pacing: a wait could not be had, so the
				    * body went on at once (transport_rush) */
};

/* What fault `kind` does to an answer: TRANSPORT_SEND for FAULT_NONE and
 * the answer faults (a status is an answer like any other). */
enum transport_plan transport_plan(enum fault_kind kind);

/* Give t the fault `f` (any kind; an answer fault or FAULT_NONE plans
 * TRANSPORT_SEND).  A body t holds stays. */
void transport_set(struct transport *t, struct fault f);

/* The fault will not happen (the drain gave up waiting before it
 * began): t plans TRANSPORT_SEND from now on, its fault FAULT_NONE.  A
 * body t holds stays, to be released. */
void transport_cancel(struct transport *t);

/* ---- pacing (TRANSPORT_PACE) ------------------------------------------ */

/* t (planning TRANSPORT_PACE) takes `body` (malloc'd, `len` bytes; NULL
 * when len is 0), freed by transport_release().  Returns the
 * Content-Length to announce: len, or more for truncate. */
uint64_t transport_pace(struct transport *t, char *body, size_t len);

/* Free the body t took, if any.  Idempotent. */
void transport_release(struct transport *t);

/* What transport_read() says. */
enum transport_step {
	TRANSPORT_DATA,  /* *n bytes (>= 1) of the body from pos are in buf */
	TRANSPORT_WAIT,  /* nothing before *until_ns: read again then */
	TRANSPORT_END,   /* the whole body went */
	TRANSPORT_ABORT, /* stop short of the Content-Length: close */
};

/* The next piece of t's body from byte `pos` into buf (room for max >= 1
 * bytes) at time now_ns (CLOCK_MONOTONIC, or any clock that does not go
 * back): truncate hands out the body, then TRANSPORT_ABORT; drip hands
 * out a chunk (a fiftieth of its rate, at least a byte) when the last
 * one's time is up, TRANSPORT_WAIT until then. */
enum transport_step transport_read(struct transport *t, uint64_t pos, char *buf,
				   size_t max, uint64_t now_ns, size_t *n,
				   uint64_t *until_ns);

/* The wait transport_read() asked for cannot be had (the drain gave up
 * waiting): the next read hands out what it can at once, and t counts as
 * rushed from now on. */
void transport_rush(struct transport *t);

/* ---- holding (TRANSPORT_HOLD) ---------------------------------------- */

/* The hold begins at now_ns and ends timeout_s later. */
void transport_hold_begin(struct transport *t, uint64_t now_ns, unsigned timeout_s);

/* When to look at the held connection next, at now_ns: true and
 * *next_ns (a second on, or the hold's end if sooner), or false when the
 * hold is over. */
bool transport_hold_next(const struct transport *t, uint64_t now_ns, uint64_t *next_ns);

/* ---- the socket --------------------------------------------------------- */

/* Make closing the connected TCP socket `fd` send an RST, not a FIN: it
 * is disconnected (connect to AF_UNSPEC: Linux's tcp_disconnect sends the
 * reset).  On failure (logged at debug level) the close sends a FIN. */
void transport_reset(int fd);

/* Has the peer of the connected socket `fd` closed or reset its side?
 * Looked at without reading (a byte is peeked at, never taken).  A
 * suspended connection is not polled, so this is how a client that left
 * while its request waited is told from one still there.  `tls`: over
 * TLS a client that leaves sends a close_notify alert before its FIN, so
 * a byte is there to peek; there, a peer that shut down its side has left
 * (an HTTPS client does not half-close and wait for an answer). */
bool transport_peer_gone(int fd, bool tls);

#endif
