/* delay.h - simulated backend delays and the seedable random stream.
 *
 * A struct rng is a tiny splitmix64 stream: 8 bytes, no locking, owned by
 * one thread at a time (userd keeps one per connection).  A delay model
 * turns draws from a stream into delays.
 */
#ifndef USERD_DELAY_H
#define USERD_DELAY_H

#include <stdint.h>

struct rng {
	uint64_t state;
};

/* Start a stream at `seed`.  Equal seeds give equal sequences. */
void rng_seed(struct rng *r, uint64_t seed);

/* Next 64 random bits. */
uint64_t rng_next(struct rng *r);

/* A uniform integer in [0, bound); bound must be > 0.  Unbiased. */
uint64_t rng_below(struct rng *r, uint64_t bound);

/* Mix `x` into a well-spread 64-bit value (the splitmix64 finaliser).
 * Pure: useful to derive independent seeds. */
uint64_t rng_mix(uint64_t x);

/* 64 bits from the operating system's random source; falls back to the
 * clock and pid if getrandom(2) is unavailable. */
uint64_t rng_os_seed(void);

/* A delay model: uniform between min_ms and max_ms inclusive, drawn at
 * microsecond resolution. */
struct delay_model {
	uint32_t min_ms;
	uint32_t max_ms;
};

/* Largest delay a model may be configured with, in ms (one hour). */
#define DELAY_MAX_MS 3600000u

/* Draw one delay in microseconds from `m` using `r`.  Always within
 * [min_ms * 1000, max_ms * 1000]. */
uint64_t delay_draw_us(const struct delay_model *m, struct rng *r);

#endif
