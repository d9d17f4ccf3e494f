/* fault.h - the failures userd can inject, their text form, and a
 * weighted mix of them to draw from.
 *
 * Each fault happens after the request's drawn delay.  What kinds there
 * are, what each does, the argument each takes and its bounds: one row
 * per kind in the table in fault.c.  An answer fault (status:CODE) is
 * answered by routes.c; the transport faults (reset, close, hang, drip,
 * truncate) happen to the connection: transport.c plans each, exchange.c
 * carries it out.
 *
 * Pure: no I/O, no HTTP library.
 */
#ifndef USERD_FAULT_H
#define USERD_FAULT_H

#include <stdbool.h>
#include <stddef.h>

#include "decimal.h"

/* Every kind has one row in fault.c's table (struct fault_kind_info):
 * a new kind is an enumerator here, its row there, and its own code
 * where it happens: routes.c answers an answer fault; a transport fault
 * gets its plan in transport_plan(), whose switch -Wswitch checks. */
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

/* What a kind is: an answer (a status, sent like any answer) or a fault
 * of the transport (what happens to the connection instead of, or while
 * sending, the answer). */
enum fault_class {
	FAULT_CLASS_NONE = 0, /* FAULT_NONE only */
	FAULT_CLASS_ANSWER,
	FAULT_CLASS_TRANSPORT,
};

struct fault {
	enum fault_kind kind;
	unsigned arg; /* an answer's status code; FAULT_DRIP: bytes a second */
};

/* One kind's row of the table. */
struct fault_kind_info {
	const char *name;       /* as written; also its metric label, its key
				 * in /stats and the access log's fault= */
	enum fault_class class;
	/* The argument, NAME:ARG, or none (arg NULL): */
	const char *arg;        /* "CODE": in messages and the docs */
	unsigned min, max;      /* its bounds */
	unsigned example;       /* "needs a code, e.g. status:503" */
	const char *needs;      /* "a code" */
	const char *noun;       /* "not a code from 400 to 599" */
	const char *unit;       /* "... from 1 to 1000000 bytes a second" */
};

/* The row of `kind` (< FAULT_KINDS). */
const struct fault_kind_info *fault_kind_info(enum fault_kind kind);

/* Is `kind` an answer (a status), or a transport fault?  Neither for
 * FAULT_NONE. */
bool fault_is_answer(enum fault_kind kind);
bool fault_is_transport(enum fault_kind kind);

/* Most bytes a second a drip may be given. */
#define FAULT_DRIP_MAX_BPS 1000000u

/* Parse one fault ("status:503", "reset", "drip:100", ...) from `len`
 * bytes at `text`.  Returns true and sets *out, or false with a message
 * in err (an unknown name: the message lists every kind's).  "none"
 * parses as FAULT_NONE. */
bool fault_parse(const char *text, size_t len, struct fault *out, char *err,
		 size_t errlen);

/* Room for the text of any one fault ("status:503", "drip:1000000"). */
#define FAULT_TEXT_MAX 24

/* The text form of `f`, as fault_parse() reads it: less than
 * FAULT_TEXT_MAX bytes. */
void fault_describe(const struct fault *f, char *buf, size_t len);

/* The name of a kind ("status", "reset", ...; "none", also for a value
 * that is no kind). */
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
