/* delay.h - simulated backend delays and the seedable random stream.
 *
 * A struct rng is a tiny splitmix64 stream: 8 bytes, no locking, owned by
 * one thread at a time (userd keeps one per connection).  A delay model
 * turns draws from a stream into delays.
 */
#ifndef USERD_DELAY_H
#define USERD_DELAY_H

#include <stdbool.h>
#include <stddef.h>
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

enum delay_kind {
	DELAY_UNIFORM = 0, /* uniform in [min_ms, max_ms] */
	DELAY_FIXED,       /* always min_ms */
	DELAY_LOGNORMAL,   /* long tail: median_ms and p99_ms */
};

/* A delay model.  Every draw is clamped to cap_ms (--max-delay). */
struct delay_model {
	enum delay_kind kind;
	uint32_t min_ms;    /* uniform lower bound; fixed delay */
	uint32_t max_ms;    /* uniform upper bound */
	uint32_t median_ms; /* lognormal */
	uint32_t p99_ms;    /* lognormal */
	uint32_t cap_ms;
	double mu;          /* lognormal, derived: ln(median in us) */
	double sigma;       /* lognormal, derived from the p99 */
};

/* Largest delay a model may be configured with, in ms (one hour). */
#define DELAY_MAX_MS 3600000u

/* The z-score of the 99th percentile of a standard normal. */
#define DELAY_Z99 2.3263478740408408

/* Make *m uniform in [min_ms, max_ms] (min <= max), keeping its cap. */
void delay_set_uniform(struct delay_model *m, uint32_t min_ms, uint32_t max_ms);

/* Parse a model: "fixed:MS", "uniform:MIN:MAX" or "lognormal:MEDIAN:P99"
 * (milliseconds, each at most DELAY_MAX_MS; MIN <= MAX; 0 < MEDIAN <= P99).
 * Returns true with *m updated (its cap kept), or false with a message in
 * err and *m untouched. */
bool delay_model_parse(const char *text, struct delay_model *m, char *err,
		       size_t errlen);

/* Describe *m the way delay_model_parse reads it, e.g. "uniform:500:2000". */
void delay_model_describe(const struct delay_model *m, char *buf, size_t len);

/* Draw one delay in microseconds from `m` using `r`: within the model's
 * bounds (uniform, fixed) and never above cap_ms. */
uint64_t delay_draw_us(const struct delay_model *m, struct rng *r);

/* A uniform double in [0, 1) from `r`, 53 random bits. */
double rng_unit(struct rng *r);

#endif
