/* delay.c - delay models; see delay.h. */
#include "delay.h"
#include "decimal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void delay_set_uniform(struct delay_model *m, uint32_t min_ms, uint32_t max_ms)
{
	m->kind = DELAY_UNIFORM;
	m->min_ms = min_ms;
	m->max_ms = max_ms;
}

/* Parse "N" (digits only) into *out, at most DELAY_LIMIT_MS. */
static bool parse_ms(const char *s, size_t len, uint32_t *out)
{
	uint64_t v;

	if (decimal_parse(s, len, DELAY_LIMIT_MS, &v) != DECIMAL_OK)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* Split "a:b:c" after the kind into up to 2 numbers; returns how many. */
static int parse_fields(const char *s, uint32_t v[2])
{
	int n = 0;

	while (n < 2) {
		const char *colon = strchr(s, ':');
		size_t len = colon != NULL ? (size_t)(colon - s) : strlen(s);

		if (!parse_ms(s, len, &v[n]))
			return -1;
		n++;
		if (colon == NULL)
			return n;
		s = colon + 1;
	}
	return -1; /* too many fields */
}

bool delay_model_parse(const char *text, struct delay_model *m, char *err,
		       size_t errlen)
{
	static const char *const usage =
		"expected fixed:MS, uniform:MIN:MAX or lognormal:MEDIAN:P99 "
		"(milliseconds, at most 3600000)";
	struct delay_model next = *m;
	const char *colon = strchr(text, ':');
	uint32_t v[2];
	int n;

	if (colon == NULL) {
		snprintf(err, errlen, "'%s': %s", text, usage);
		return false;
	}
	n = parse_fields(colon + 1, v);
	if (strncmp(text, "fixed:", 6) == 0 && n == 1) {
		next.kind = DELAY_FIXED;
		next.min_ms = next.max_ms = v[0];
	} else if (strncmp(text, "uniform:", 8) == 0 && n == 2) {
		if (v[0] > v[1]) {
			snprintf(err, errlen, "'%s': MIN is above MAX", text);
			return false;
		}
		delay_set_uniform(&next, v[0], v[1]);
	} else if (strncmp(text, "lognormal:", 10) == 0 && n == 2) {
		if (v[0] == 0 || v[0] > v[1]) {
			snprintf(err, errlen, "'%s': need 0 < MEDIAN <= P99", text);
			return false;
		}
		next.kind = DELAY_LOGNORMAL;
		next.median_ms = v[0];
		next.p99_ms = v[1];
		next.mu = log((double)v[0] * 1000.0);
		next.sigma = (log((double)v[1]) - log((double)v[0])) / DELAY_Z99;
	} else {
		snprintf(err, errlen, "'%s': %s", text, usage);
		return false;
	}
	*m = next;
	return true;
}

void delay_model_describe(const struct delay_model *m, char *buf, size_t len)
{
	switch (m->kind) {
	case DELAY_FIXED:
		snprintf(buf, len, "fixed:%u", m->min_ms);
		break;
	case DELAY_LOGNORMAL:
		snprintf(buf, len, "lognormal:%u:%u", m->median_ms, m->p99_ms);
		break;
	case DELAY_UNIFORM:
	default:
		snprintf(buf, len, "uniform:%u:%u", m->min_ms, m->max_ms);
		break;
	}
}

/* A standard normal deviate (Box-Muller; one of the pair is used). */
static double normal(struct rng *r)
{
	double u1 = 1.0 - rng_unit(r); /* (0, 1]: log() stays finite */
	double u2 = rng_unit(r);

	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

uint64_t delay_draw_us(const struct delay_model *m, struct rng *r)
{
	uint64_t clamp_us = (uint64_t)m->clamp_ms * 1000u;
	uint64_t us;

	switch (m->kind) {
	case DELAY_FIXED:
		us = (uint64_t)m->min_ms * 1000u;
		break;
	case DELAY_LOGNORMAL: {
		double d = exp(m->mu + m->sigma * normal(r));

		us = d >= (double)clamp_us ? clamp_us : (uint64_t)d;
		break;
	}
	case DELAY_UNIFORM:
	default: {
		uint64_t lo = (uint64_t)m->min_ms * 1000u;
		uint64_t hi = (uint64_t)m->max_ms * 1000u;

		us = hi <= lo ? lo : lo + rng_below(r, hi - lo + 1);
		break;
	}
	}
	return us > clamp_us ? clamp_us : us;
}
