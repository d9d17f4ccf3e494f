/* aim.h - where to aim a deadline's timer so that answers land on it.
 *
 * An answer never leaves at the instant its timer was set for: the timer
 * thread wakes up to --timer-slack after the earliest deadline and fires a
 * batch, the connection is resumed on its libmicrohttpd thread, and the
 * answer is written.  Together that is some lateness L (a fraction of a
 * millisecond idle, a few at 10,000 waiting).  A timer aimed at the
 * deadline itself therefore serves every delay L late on average: a shift
 * that a Kolmogorov-Smirnov test of the served delays sees.
 *
 * An aim measures L, from the time a timer was aimed at to the time its
 * answer was handed to the kernel, as an exponentially weighted mean
 * (weight 1/AIM_WEIGHT per observation; one over AIM_OBSERVE_MAX_NS is
 * not L but a stalled host or a client slow to read, and is ignored),
 * and aims each deadline that mean early (the lead, at most
 * AIM_LEAD_MAX_NS), so that the answers are unbiased around their
 * deadlines.  L is measured from the aimed time, not from the deadline,
 * so it does not depend on the lead: there is no feedback to oscillate.
 *
 * Thread-safe and lock-free (one atomic word); knows nothing of HTTP.
 */
#ifndef USERD_AIM_H
#define USERD_AIM_H

#include <stdint.h>

/* The weight of the newest observation in the mean is 1/AIM_WEIGHT: at
 * a few thousand answers a second the lead follows a change of load in a
 * few tens of milliseconds, and the noise of one answer moves it little. */
#define AIM_WEIGHT 64u

/* The most a lead can be: a drawn deadline is never aimed more than this
 * early, however late answers run on an overloaded machine. */
#define AIM_LEAD_MAX_NS UINT64_C(20000000)

/* A longer lateness (a stopped process, a stalled host, a client slow to
 * read its answer) is not counted. */
#define AIM_OBSERVE_MAX_NS UINT64_C(100000000)

struct aim {
	/* AIM_WEIGHT times the mean lateness, in ns; 0 before any
	 * observation (a timer is then aimed at its deadline). */
	_Atomic uint64_t scaled_mean_ns;
};

/* Start with no observation: a lead of 0. */
void aim_init(struct aim *a);

/* An answer left `late_ns` after the time its timer was aimed at (not
 * counted over AIM_OBSERVE_MAX_NS).  From any thread; two racing
 * observations are both counted. */
void aim_observe(struct aim *a, uint64_t late_ns);

/* The lead now: the mean lateness, at most AIM_LEAD_MAX_NS. */
uint64_t aim_lead_ns(const struct aim *a);

/* When to set the timer of `deadline_ns`: the lead before it, but never
 * before `earliest_ns` (<= deadline_ns: now, or the least time the
 * caller will have the answer leave). */
uint64_t aim_at(const struct aim *a, uint64_t earliest_ns, uint64_t deadline_ns);

#endif
