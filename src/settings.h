/* settings.h - what may change while serving, and the immutable snapshot
 * of it that every reader holds.
 *
 * struct run_settings is the value: the reloadable options of the option
 * table (config.h).  struct settings is one snapshot of them together
 * with the rules in force, made once and never written again, shared by
 * counted reference: a thread that reads settings takes a reference under
 * the lock of whoever hands them out (main.c's owner, the HTTP server's
 * copy), reads without any lock, and drops the reference.  A change
 * makes a new snapshot and swaps it in whole, so nobody ever reads a
 * half-made change or memory that a reload freed.
 */
#ifndef USERD_SETTINGS_H
#define USERD_SETTINGS_H

#include <stdatomic.h>
#include <stdbool.h>

#include "access.h"
#include "capacity.h"
#include "delay.h"
#include "fault.h"
#include "log.h"
#include "rules.h"

/* What may change while serving.  A reload (SIGHUP) applies these by
 * copying the struct whole; everything else needs a restart. */
struct run_settings {
	struct delay_model delay;  /* its clamp_ms is --max-delay */
	bool delay_override;       /* honour ?delay= (default) */
	double error_rate;         /* share of requests answered 503, 0..1 */
	struct fault_mix faults;   /* more shares of requests that fail */
	unsigned hang_timeout_s;   /* how long a "hang" fault holds on */
	unsigned max_batch;        /* most ids in one /users request */
	enum access_log_format access_log;
	unsigned timer_slack_ms;
	unsigned drain_timeout_s;
	enum log_level log_level;
	unsigned capacity;         /* requests in service at once; 0: no limit */
	unsigned queue_max;        /* waiting for a slot; CAPACITY_UNBOUNDED */
	unsigned queue_timeout_ms; /* longest wait for a slot; 0: no limit */
	unsigned reject_status;    /* 503 or 429: a full queue, a timeout */
};

/* One snapshot: never written after settings_create() returns. */
struct settings {
	struct run_settings run;
	struct rules *rules;       /* a reference; NULL: no rules */
	atomic_uint refs;
};

/* A snapshot of `run` (copied) and `rules` (a reference is taken; NULL:
 * none), with one reference for the caller; NULL when out of memory. */
struct settings *settings_create(const struct run_settings *run, struct rules *rules);

/* Take and drop a reference; the last settings_unref() frees the
 * snapshot and drops its rules.  Both take NULL. */
struct settings *settings_ref(struct settings *s);
void settings_unref(struct settings *s);

#endif
