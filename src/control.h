/* control.h - what the control API reads and writes, as JSON: the
 * run-time settings, the rules and the live counts.  The parsers of its
 * request bodies check everything by the rules of the command line and
 * config file and change nothing unless every field is valid.  No HTTP
 * library (admin.c serves these); fuzzed (fuzz/fuzz_control.c).
 */
#ifndef USERD_CONTROL_H
#define USERD_CONTROL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "config.h"
#include "journal.h"
#include "metrics.h"
#include "rules.h"

/* Every run-time setting of `run` (rules aside) by its config-file name,
 * typed: numbers, true/false for switches, strings.  NULL when out of
 * memory. */
json_t *control_config_json(const struct run_settings *run);

/* Apply the JSON object in body[0..len) on top of `current` into *out:
 * each field named like a config-file key, its value a string, number or
 * true/false as in the file ("yes"/"no").  Returns true; or false with
 * *errors an object naming each bad field and why (or "body" / "settings"
 * for a bad body or settings that do not fit together), *out untouched. */
bool control_patch(const char *body, size_t len, const struct run_settings *current,
		   struct run_settings *out, json_t **errors);

/* The rules as a JSON list of objects, as PUT /rules takes them back;
 * a scheduled rule says whether it is active at `now_ns`
 * (CLOCK_MONOTONIC). */
json_t *control_rules_json(const struct rules *r, uint64_t now_ns);

/* Parse the JSON list in body[0..len): each rule an object {"match":
 * {"route": R, "ids": I}, "delay": MODEL, "fault": FAULT} or a rule line.
 * Returns true with *out the new set (NULL for an empty list); or false
 * with *errors an object naming each bad rule by its index. */
bool control_parse_rules(const char *body, size_t len, struct rules **out,
			 json_t **errors);

/* The live counts: waiting, in flight, connections, ready, requests by
 * route and status, faults by kind.  NULL when out of memory. */
json_t *control_stats_json(struct metrics *m, const struct metrics_gauges *g);

/* The query of GET /requests and GET /requests/count, each value NULL
 * when absent. */
struct control_requests_query {
	const char *route, *id, *status, *fault, *since, *limit;
};

/* The journal filter `q` asks for into *f: route (/user, /users, or any
 * path), id, status (100-599), fault ("reset", "status:503", a kind or
 * "none"), since (Unix time in seconds, decimals allowed), limit (the
 * newest N).  True; or false with *errors an object naming each bad key.
 * f's strings are q's. */
bool control_requests_filter(const struct control_requests_query *q,
			     struct journal_filter *f, json_t **errors);

/* Journal entries as GET /requests answers them, in the order given: a
 * list of objects (seq, arrived and answered in Unix seconds, method,
 * path, query, ids, status, fault, delay_ms, bytes, client, port, rule,
 * cut).  NULL when out of memory. */
json_t *control_requests_json(const struct journal_entry *e, size_t n);

#endif
