/* delay.h - simulated backend delays: the models (fixed, uniform,
 * lognormal, exponential), their text form, draws from a random stream, and what each
 * model predicts (the range, CDF and quantiles the live page charts).
 *
 * Each model is one row of the table in delay.c (struct delay_type): its
 * name and grammar, and its own functions to parse, describe, compare,
 * draw, and give its range, CDF and quantile.  The delay_* functions
 * below find the row by the model's kind and add what every model
 * shares: the cap (--max-delay) and the form of messages.  How to add a
 * model: the comment at the top of delay.c.
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
	DELAY_EXPONENTIAL, /* memoryless: mean_ms */
	DELAY_KINDS        /* how many kinds there are; not a kind */
};

/* A delay model.  Every draw is clamped to clamp_ms (--max-delay).
 *
 * Each parameter belongs to one kind's code in delay.c; a model of
 * another kind leaves it as it was, so --delay-min/--delay-max (which
 * edit the uniform bounds) start from the bounds last set.  A plain
 * value without pointers: settings snapshots and rule effects copy it
 * whole (see delay.c for a kind whose data has no fixed size). */
struct delay_model {
	enum delay_kind kind;
	uint32_t min_ms;    /* uniform lower bound; fixed: the delay */
	uint32_t max_ms;    /* uniform upper bound; fixed: the delay */
	uint32_t median_ms; /* lognormal */
	uint32_t p99_ms;    /* lognormal */
	uint32_t mean_ms;   /* exponential */
	uint32_t clamp_ms;
	double mu;          /* lognormal, derived: ln(median in us) */
	double sigma;       /* lognormal, derived from the p99 */
};

/* Largest delay a model may be configured with, in ms (one hour). */
#define DELAY_LIMIT_MS 3600000u

/* The z-score of the 99th percentile of a standard normal. */
#define DELAY_Z99 2.3263478740408408

/* One kind of model: a row of the table in delay.c.  Its functions get a
 * model of the row's kind and know nothing of the cap, which the delay_*
 * functions apply.  Times are in microseconds. */
struct delay_type {
	const char *name;    /* "lognormal": a spec's text up to its first ':' */
	const char *syntax;  /* "lognormal:MEDIAN:P99", as messages name it */
	const char *example; /* a valid spec, "lognormal:80:300": tests draw it */

	/* Read the arguments of a spec (the text after "name:") into *m,
	 * whose kind is set and whose other fields are as they were.
	 * Returns true, or false with a message in err (*m then is the
	 * caller's scratch copy). */
	bool (*parse)(const char *args, struct delay_model *m, char *err,
		      size_t errlen);
	/* Write the arguments as parse reads them back ("500:2000"). */
	void (*describe)(const struct delay_model *m, char *buf, size_t len);
	/* Do a and b (both of this kind) have the same parameters? */
	bool (*equal)(const struct delay_model *a, const struct delay_model *b);
	/* One draw, >= 0 (+inf allowed).  Runs per request: no allocation,
	 * no lock, no I/O. */
	double (*draw)(const struct delay_model *m, struct rng *r);
	/* Where the live page's histogram of draws starts and ends,
	 * 0 <= *lo <= *hi: the model's whole support when it is bounded,
	 * else a window from at most its 0.001 quantile to at least its
	 * 0.99 quantile (lo == hi: a single value). */
	void (*range)(const struct delay_model *m, double *lo, double *hi);
	/* P(draw < x), or P(draw <= x) when `inclusive`. */
	double (*cdf)(const struct delay_model *m, double x, bool inclusive);
	/* The smallest x with P(draw <= x) >= p, for p in [0, 1] (at p = 0
	 * the lowest value drawn; +inf at p = 1 when unbounded). */
	double (*quantile)(const struct delay_model *m, double p);
};

/* The row of kind k (k < DELAY_KINDS), never NULL. */
const struct delay_type *delay_type_of(enum delay_kind k);

/* Make *m uniform in [min_ms, max_ms] (min <= max), keeping its cap. */
void delay_set_uniform(struct delay_model *m, uint32_t min_ms, uint32_t max_ms);

/* Parse a model: "fixed:MS", "uniform:MIN:MAX", "lognormal:MEDIAN:P99" or
 * "exponential:MEAN" (milliseconds, each at most DELAY_LIMIT_MS; MIN <= MAX;
 * 0 < MEDIAN <= P99).
 * Returns true with *m updated (its cap kept), or false with a message in
 * err ("'TEXT': ...") and *m untouched. */
bool delay_model_parse(const char *text, struct delay_model *m, char *err,
		       size_t errlen);

/* Describe *m the way delay_model_parse reads it, e.g. "uniform:500:2000"
 * (cut to fit len, NUL-terminated when len > 0).  The cap is not part of
 * it. */
void delay_model_describe(const struct delay_model *m, char *buf, size_t len);

/* Do a and b draw the same way: the same kind, parameters and cap? */
bool delay_model_equal(const struct delay_model *a, const struct delay_model *b);

/* Draw one delay in microseconds from `m` using `r`: within the model's
 * bounds (uniform, fixed) and never above clamp_ms. */
uint64_t delay_draw_us(const struct delay_model *m, struct rng *r);

/* Where the live page's histogram of m's draws starts and ends, in us,
 * the cap applied: *lo_us <= *hi_us, equal when every draw is one value
 * (a fixed delay, or everything at the cap). */
void delay_range(const struct delay_model *m, uint64_t *lo_us, uint64_t *hi_us);

/* The probability that a draw from m is below `us` microseconds (at or
 * below when `inclusive`), the cap included: 1 from the cap on. */
double delay_cdf(const struct delay_model *m, double us, bool inclusive);

/* The smallest delay d in us with delay_cdf(m, d, true) >= p, for p in
 * [0, 1]: never above the cap. */
double delay_quantile(const struct delay_model *m, double p);

#endif
