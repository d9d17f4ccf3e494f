/* rng.c - splitmix64 streams; see rng.h. */
#include "rng.h"

#include <assert.h>

#include <sys/random.h>
#include <time.h>
#include <unistd.h>

uint64_t rng_mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

void rng_seed(struct rng *r, uint64_t seed)
{
	r->state = seed;
}

void rng_stream(struct rng *r, uint64_t seed, uint64_t index)
{
	r->state = rng_mix(seed ^ rng_mix(index));
}

uint64_t rng_next(struct rng *r)
{
	r->state += 0x9e3779b97f4a7c15u;
	return rng_mix(r->state);
}

uint64_t rng_below(struct rng *r, uint64_t bound)
{
	/* Lemire's multiply-and-reject: no modulo bias, rarely loops. */
	unsigned __int128 m;
	uint64_t low;

	assert(bound > 0);
	m = (unsigned __int128)rng_next(r) * bound;
	low = (uint64_t)m;

	if (low < bound) {
		uint64_t threshold = -bound % bound;

		while (low < threshold) {
			m = (unsigned __int128)rng_next(r) * bound;
			low = (uint64_t)m;
		}
	}
	return (uint64_t)(m >> 64);
}

uint64_t rng_os_seed(void)
{
	uint64_t seed;
	struct timespec ts;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == (ssize_t)sizeof(seed))
		return seed;
	clock_gettime(CLOCK_REALTIME, &ts);
	return rng_mix((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^
		       ((uint64_t)getpid() << 40));
}

double rng_unit(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1p-53;
}
