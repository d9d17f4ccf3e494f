/* delay.h - simulated backend delays: the models (fixed, uniform,
 * lognormal), their text form, and draws from a random stream.
 */
#ifndef USERD_DELAY_H
#define USERD_DELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rng.h"

enum delay_kind {
	DELAY_UNIFORM = 0, /* uniform in [min_ms, max_ms] */
	DELAY_FIXED,       /* always min_ms */
	DELAY_LOGNORMAL,   /* long tail: median_ms and p99_ms */
};

/* A delay model.  Every draw is clamped to clamp_ms (--max-delay). */
struct delay_model {
	enum delay_kind kind;
	uint32_t min_ms;    /* uniform lower bound; fixed delay */
	uint32_t max_ms;    /* uniform upper bound */
	uint32_t median_ms; /* lognormal */
	uint32_t p99_ms;    /* lognormal */
	uint32_t clamp_ms;
	double mu;          /* lognormal, derived: ln(median in us) */
	double sigma;       /* lognormal, derived from the p99 */
};

/* Largest delay a model may be configured with, in ms (one hour). */
#define DELAY_LIMIT_MS 3600000u

/* The z-score of the 99th percentile of a standard normal. */
#define DELAY_Z99 2.3263478740408408

/* Make *m uniform in [min_ms, max_ms] (min <= max), keeping its cap. */
void delay_set_uniform(struct delay_model *m, uint32_t min_ms, uint32_t max_ms);

/* Parse a model: "fixed:MS", "uniform:MIN:MAX" or "lognormal:MEDIAN:P99"
 * (milliseconds, each at most DELAY_LIMIT_MS; MIN <= MAX; 0 < MEDIAN <= P99).
 * Returns true with *m updated (its cap kept), or false with a message in
 * err and *m untouched. */
bool delay_model_parse(const char *text, struct delay_model *m, char *err,
		       size_t errlen);

/* Describe *m the way delay_model_parse reads it, e.g. "uniform:500:2000". */
void delay_model_describe(const struct delay_model *m, char *buf, size_t len);

/* Draw one delay in microseconds from `m` using `r`: within the model's
 * bounds (uniform, fixed) and never above clamp_ms. */
uint64_t delay_draw_us(const struct delay_model *m, struct rng *r);


#endif
