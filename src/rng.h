/* rng.h - the seedable random stream.
 *
 * A struct rng is a tiny splitmix64 stream: 8 bytes, no locking, owned by
 * one thread at a time (userd keeps one per connection).  Equal seeds give
 * equal sequences; rng_stream() gives each connection its own stream of
 * one run's seed, which is what --seed reproduces.
 */
#ifndef USERD_RNG_H
#define USERD_RNG_H

#include <stdint.h>

struct rng {
	uint64_t state;
};

/* Start a stream at `seed`.  Equal seeds give equal sequences. */
void rng_seed(struct rng *r, uint64_t seed);

/* Start the `index`-th stream of `seed`: equal (seed, index) give equal
 * sequences.  For one seed the start state is a bijection of the index
 * (two mixes and an xor), so no two indexes start in the same state.
 * Streams are stretches of one 2^64 cycle at well-spread offsets: n
 * streams of k draws each overlap with probability below n^2 k / 2^64
 * (about 5e-5 for a million streams of a thousand draws). */
void rng_stream(struct rng *r, uint64_t seed, uint64_t index);

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

/* A uniform double in [0, 1) from `r`, 53 random bits. */
double rng_unit(struct rng *r);

#endif
