/* fault.h - the failures userd can inject, their text form, and a
 * weighted mix of them to draw from.
 *
 * Each fault happens after the request's drawn delay:
 *   status:CODE   an answer with that 4xx/5xx status and the JSON error body
 *   reset         the connection reset (TCP RST): curl error 56
 *   close         the connection closed with no answer: curl error 52
 *   hang          no answer at all; the connection is held, costing no CPU,
 *                 until the client leaves or --hang-timeout passes
 *   drip:BPS      the headers, then the body at BPS bytes a second
 *   truncate      a Content-Length larger than the body sent, then close
 *
 * Pure: no I/O, no HTTP library.
 */
#ifndef USERD_FAULT_H
#define USERD_FAULT_H

#include <stdbool.h>
#include <stddef.h>

#include "decimal.h"

enum fault_kind {
	FAULT_NONE = 0,
	FAULT_STATUS,
	FAULT_RESET,
	FAULT_CLOSE,
	FAULT_HANG,
	FAULT_DRIP,
	FAULT_TRUNCATE,
	FAULT_KINDS,
};

struct fault {
	enum fault_kind kind;
	unsigned arg; /* FAULT_STATUS: the code; FAULT_DRIP: bytes a second */
};

/* Most bytes a second a drip may be given. */
#define FAULT_DRIP_MAX_BPS 1000000u

/* Parse one fault ("status:503", "reset", "drip:100", ...) from `len`
 * bytes at `text`.  Returns true and sets *out, or false with a message
 * in err.  "none" parses as FAULT_NONE. */
bool fault_parse(const char *text, size_t len, struct fault *out, char *err,
		 size_t errlen);

/* Room for the text of any one fault ("status:503", "drip:1000000"). */
#define FAULT_TEXT_MAX 24

/* The text form of `f`, as fault_parse() reads it: less than
 * FAULT_TEXT_MAX bytes. */
void fault_describe(const struct fault *f, char *buf, size_t len);

/* The name of a kind ("status", "reset", ...; "none"). */
const char *fault_kind_name(enum fault_kind kind);

/* ---- mixes ----------------------------------------------------------------- */

#define FAULT_MIX_MAX 8

/* Faults with the share of requests each gets (the shares add up to at
 * most 1; the rest get no fault). */
struct fault_mix {
	unsigned n;
	struct fault fault[FAULT_MIX_MAX];
	double share[FAULT_MIX_MAX];
};

/* Parse "status:500=0.02,reset=0.01,hang=0.001" ("" or "none": no
 * faults).  Returns true and sets *out, or false with a message in err. */
bool fault_mix_parse(const char *text, struct fault_mix *out, char *err,
		     size_t errlen);

/* Room for the text of any mix: each fault, '=', its share, ','. */
#define FAULT_MIX_TEXT_MAX (FAULT_MIX_MAX * (FAULT_TEXT_MAX + DECIMAL_SHARE_MAX + 2))

/* The text form of `m` ("none" when empty), as fault_mix_parse() reads
 * it: less than FAULT_MIX_TEXT_MAX bytes. */
void fault_mix_describe(const struct fault_mix *m, char *buf, size_t len);

/* The sum of the shares. */
double fault_mix_total(const struct fault_mix *m);

/* The fault for a uniform draw `u` in [0, 1): each fault takes its share
 * of [0, 1) in order, from `offset` on (what comes before it belongs to
 * someone else); FAULT_NONE past the last. */
struct fault fault_mix_pick(const struct fault_mix *m, double offset, double u);

#endif
