/* control.c - the control API's JSON; see control.h. */
#include "control.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"

/* Every run-time setting of `run` (rules aside: see /rules). */
json_t *control_config_json(const struct run_settings *run)
{
	struct config cfg;
	json_t *o = json_object();

	config_defaults(&cfg);
	cfg.run = *run;
	delay_model_ref(&cfg.run.delay); /* config_free drops it */
	for (size_t i = 0; o != NULL && i < config_option_count(); i++) {
		char value[CONFIG_VALUE_MAX];
		const char *name = config_option_name(i);
		json_t *v = NULL;

		if (!config_option_reloadable(i) || strcmp(name, "rule") == 0 ||
		    !config_option_value(&cfg, i, value, sizeof(value)))
			continue;
		switch (config_option_kind(i)) {
		case CONFIG_VALUE_NUMBER:
			v = strchr(value, '.') != NULL || strchr(value, 'e') != NULL
				? json_real(strtod(value, NULL))
				: json_integer(strtoll(value, NULL, 10));
			break;
		case CONFIG_VALUE_BOOL:
			v = json_boolean(strcmp(value, "yes") == 0);
			break;
		case CONFIG_VALUE_STRING:
			v = json_string(value);
			break;
		}
		if (v == NULL || json_object_set_new(o, name, v) != 0) {
			json_decref(o);
			o = NULL;
		}
	}
	config_free(&cfg);
	return o;
}

/* A JSON value as the text a config file would hold (a string as it is,
 * whatever its length; a number or true/false written into buf, which
 * has room for any); NULL when it is of no type a setting takes. */
static const char *value_text(const json_t *v, char *buf, size_t len)
{
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v))
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, len, "%.17g", json_real_value(v)); /* exact */
	else if (json_is_boolean(v))
		snprintf(buf, len, "%s", json_is_true(v) ? "yes" : "no");
	else
		return NULL;
	return buf;
}

/* A message for a JSON string: messages quote what the client sent, cut
 * to a few dozen bytes, which may split a UTF-8 sequence; JSON strings
 * must be valid UTF-8, so every non-ASCII byte becomes '?'. */
static json_t *message(const char *msg)
{
	char buf[512];
	size_t i;

	for (i = 0; msg[i] != '\0' && i + 1 < sizeof(buf); i++)
		buf[i] = (unsigned char)msg[i] < 0x80 ? msg[i] : '?';
	buf[i] = '\0';
	return json_string(buf);
}

/* An object {key: message}, or NULL when out of memory. */
static json_t *one_error(const char *key, const char *msg)
{
	json_t *o = json_object();

	if (o != NULL && json_object_set_new(o, key, message(msg)) != 0) {
		json_decref(o);
		o = NULL;
	}
	return o;
}

bool control_patch(const char *body, size_t len, const struct run_settings *current,
		   struct run_settings *out, json_t **errors)
{
	struct config next;
	json_t *obj, *fields, *v;
	json_error_t jerr;
	const char *name, *text;
	char number[64], msg[256];
	unsigned bad = 0;

	*errors = NULL;
	obj = json_loadb(body != NULL ? body : "", len, 0, &jerr);
	if (obj == NULL || !json_is_object(obj)) {
		if (obj == NULL)
			snprintf(msg, sizeof(msg), "the body must be a JSON object: "
				 "invalid JSON at line %d, column %d", jerr.line, jerr.column);
		else
			snprintf(msg, sizeof(msg), "the body must be a JSON object");
		json_decref(obj);
		*errors = one_error("body", msg);
		return false;
	}
	config_defaults(&next);
	next.run = *current;
	delay_model_ref(&next.run.delay); /* config_free drops it */
	fields = json_object();
	json_object_foreach(obj, name, v) {
		if (strcmp(name, "rule") == 0)
			snprintf(msg, sizeof(msg), "rules are changed with PUT /rules");
		else if ((text = value_text(v, number, sizeof(number))) == NULL)
			snprintf(msg, sizeof(msg), "expected a string, a number or true/false");
		else if (config_set(&next, name, text, msg, sizeof(msg)))
			continue;
		bad++;
		json_object_set_new(fields, name, message(msg));
	}
	json_decref(obj);
	if (bad == 0 && !config_check(&next, msg, sizeof(msg))) {
		bad++;
		json_object_set_new(fields, "settings", message(msg));
	}
	if (bad == 0) {
		*out = next.run;
		delay_model_ref(&out->delay);
		json_decref(fields);
	} else {
		*errors = fields != NULL ? fields : one_error("body", "out of memory");
	}
	config_free(&next);
	return bad == 0;
}

/* A rule part that is a whole number, as a JSON integer into `obj`;
 * nonzero when out of memory. */
static int set_number(json_t *obj, const char *key, const char *text)
{
	return text != NULL &&
	       json_object_set_new(obj, key, json_integer((json_int_t)strtoll(text, NULL, 10)));
}

/* What a counted rule has counted, read-only: {"matches", "keys",
 * "untracked"} ("keys" and "untracked" unless per=all). */
static json_t *counted_json(const struct rules *r, size_t i, const char *per)
{
	struct rule_counts c;

	rules_counts(r, i, &c);
	if (per != NULL && strcmp(per, "all") == 0)
		return json_pack("{sI}", "matches", (json_int_t)c.matches);
	return json_pack("{sIsIsI}", "matches", (json_int_t)c.matches, "keys",
			 (json_int_t)c.keys, "untracked", (json_int_t)c.untracked);
}

/* A scheduled rule's state at `now_ns`, read-only, into `rule`:
 * "active", and for a ramp "scale_now"; nonzero when out of memory. */
static int set_schedule(json_t *rule, const struct rules *r, size_t i,
			const struct rule_parts *p, uint64_t now_ns)
{
	double scale;
	bool active;

	if (p->at == NULL)
		return 0;
	active = rules_active(r, i, now_ns, &scale);
	return json_object_set_new(rule, "active", json_boolean(active)) ||
	       (p->scale != NULL && strstr(p->scale, "..") != NULL &&
		json_object_set_new(rule, "scale_now", json_real(scale)));
}

/* The rules as PUT /rules takes them: a list of objects {"match":
 * {"route", "ids"}, "delay", "fault", "retry-after", "times", "after",
 * "per", "at", "every", "scale"}, each field there when the rule has it,
 * in canonical form; a counted rule has "counted" too, a scheduled one
 * "active" (at now_ns) and a ramp "scale_now" (read-only: PUT /rules
 * ignores them). */
json_t *control_rules_json(const struct rules *r, uint64_t now_ns)
{
	json_t *list = json_array();

	for (size_t i = 0; list != NULL && i < rules_count(r); i++) {
		struct rule_parts p;
		struct rule_counts c;
		json_t *rule = json_object(), *match = json_object();

		rules_parts(r, i, &p);
		rules_counts(r, i, &c);
		if (rule == NULL || match == NULL ||
		    (p.route != NULL && json_object_set_new(match, "route", json_string(p.route))) ||
		    (p.ids != NULL && json_object_set_new(match, "ids", json_string(p.ids))) ||
		    (json_object_size(match) > 0 && json_object_set(rule, "match", match)) ||
		    (p.delay != NULL && json_object_set_new(rule, "delay", json_string(p.delay))) ||
		    (p.fault != NULL && json_object_set_new(rule, "fault", json_string(p.fault))) ||
		    set_number(rule, "retry-after", p.retry_after) ||
		    set_number(rule, "times", p.times) || set_number(rule, "after", p.after) ||
		    (p.per != NULL && json_object_set_new(rule, "per", json_string(p.per))) ||
		    (p.at != NULL && json_object_set_new(rule, "at", json_string(p.at))) ||
		    (p.every != NULL && json_object_set_new(rule, "every", json_string(p.every))) ||
		    (p.scale != NULL && json_object_set_new(rule, "scale", json_string(p.scale))) ||
		    set_schedule(rule, r, i, &p, now_ns) ||
		    (c.counted && json_object_set_new(rule, "counted", counted_json(r, i, p.per))) ||
		    json_array_append(list, rule)) {
			json_decref(list);
			list = NULL;
		}
		json_decref(match);
		json_decref(rule);
	}
	return list;
}

/* Room for one id or range of "ids" given as a JSON list, as text. */
#define IDS_ITEM_MAX 48

/* "ids" as a rule field's text into *text (malloc'd): a string as it is,
 * an id (a JSON integer), or a list of ids and "LOW-HIGH" strings.
 * False with a message in err. */
static bool ids_text(const json_t *v, char **text, char *err, size_t errlen)
{
	size_t i, used = 0;
	const json_t *item;
	char *buf;

	*text = NULL;
	if (json_is_string(v)) {
		*text = strdup(json_string_value(v));
	} else if (json_is_integer(v) && json_integer_value(v) >= 0) {
		if ((*text = malloc(IDS_ITEM_MAX)) != NULL)
			snprintf(*text, IDS_ITEM_MAX, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	} else if (json_is_array(v) && json_array_size(v) > 0 &&
		   json_array_size(v) <= RULES_MAX_RANGES) {
		buf = malloc(json_array_size(v) * (IDS_ITEM_MAX + 1));
		json_array_foreach(v, i, item) {
			if (buf == NULL)
				break;
			if (json_is_integer(item) && json_integer_value(item) >= 0) {
				used += (size_t)sprintf(buf + used, "%s%" JSON_INTEGER_FORMAT,
							i > 0 ? "," : "", json_integer_value(item));
			} else if (json_is_string(item) &&
				   json_string_length(item) < IDS_ITEM_MAX &&
				   strchr(json_string_value(item), ',') == NULL) {
				used += (size_t)sprintf(buf + used, "%s%s", i > 0 ? "," : "",
							json_string_value(item));
			} else {
				free(buf);
				snprintf(err, errlen, "ids: item %zu is not an id or a "
					 "\"LOW-HIGH\" range", i);
				return false;
			}
		}
		*text = buf;
	} else {
		snprintf(err, errlen, "ids: expected \"13,100-199\", an id, or a list of "
			 "ids and \"LOW-HIGH\" ranges (at most %d)", RULES_MAX_RANGES);
		return false;
	}
	if (*text == NULL)
		snprintf(err, errlen, "out of memory");
	return *text != NULL;
}

/* The fields of a rule object besides "match", in the order rules.h
 * lists them; "counted", "active" and "scale_now" (what GET /rules
 * shows) are read-only and skipped. */
static const char *const rule_keys[] = {"delay", "fault", "retry-after", "times", "after",
					"per", "at", "every", "scale"};
static const char *const read_only[] = {"counted", "active", "scale_now"};
#define RULE_KEYS (sizeof(rule_keys) / sizeof(rule_keys[0]))

/* Room for a whole number's text. */
#define NUMBER_MAX 24

/* Add one rule of PUT /rules to `rules`: an object with "match" (route,
 * ids) and the fields of rule_keys, each taken as what it is (never
 * joined into a line and split again; a count may be a JSON integer or
 * a string), or a rule line as a string.  False with a message in err. */
static bool add_rule(struct rules *rules, const json_t *rule, char *err, size_t errlen)
{
	struct rule_field fields[2 + RULE_KEYS];
	char numbers[RULE_KEYS][NUMBER_MAX];
	const json_t *match, *v;
	const char *key;
	char *ids = NULL;
	size_t n = 0;
	bool ok;

	if (json_is_string(rule))
		return rules_add(rules, json_string_value(rule), err, errlen);
	if (!json_is_object(rule)) {
		snprintf(err, errlen, "a rule is an object {\"match\": {...}, \"delay\": "
			 "MODEL, \"fault\": FAULT}");
		return false;
	}
	json_object_foreach((json_t *)(uintptr_t)rule, key, v) {
		bool known = strcmp(key, "match") == 0;

		for (size_t k = 0; k < RULE_KEYS; k++)
			known = known || strcmp(key, rule_keys[k]) == 0;
		for (size_t k = 0; k < sizeof(read_only) / sizeof(read_only[0]); k++)
			known = known || strcmp(key, read_only[k]) == 0;
		if (!known) {
			snprintf(err, errlen, "unknown field '%.40s': match, delay, fault, "
				 "retry-after, times, after, per, at, every or scale", key);
			return false;
		}
	}
	match = json_object_get(rule, "match");
	if (match != NULL && !json_is_object(match)) {
		snprintf(err, errlen, "match: expected an object with route and ids");
		return false;
	}
	if (match != NULL) {
		json_object_foreach((json_t *)(uintptr_t)match, key, v) {
			if (strcmp(key, "route") != 0 && strcmp(key, "ids") != 0) {
				snprintf(err, errlen, "match: unknown field '%.40s': route or ids",
					 key);
				return false;
			}
		}
	}
	if (match != NULL && (v = json_object_get(match, "route")) != NULL) {
		if (!json_is_string(v)) {
			snprintf(err, errlen, "route: expected a string");
			return false;
		}
		fields[n++] = (struct rule_field){"route", json_string_value(v)};
	}
	if (match != NULL && (v = json_object_get(match, "ids")) != NULL) {
		if (!ids_text(v, &ids, err, errlen))
			return false;
		fields[n++] = (struct rule_field){"ids", ids};
	}
	for (size_t k = 0; k < RULE_KEYS; k++) {
		v = json_object_get(rule, rule_keys[k]);
		if (v == NULL)
			continue;
		if (k >= 2 && k <= 4 && json_is_integer(v)) {
			/* A negative number reads as text that rules refuse. */
			snprintf(numbers[k], NUMBER_MAX, "%" JSON_INTEGER_FORMAT,
				 json_integer_value(v));
			fields[n++] = (struct rule_field){rule_keys[k], numbers[k]};
			continue;
		}
		if (!json_is_string(v)) {
			snprintf(err, errlen, "%s: expected a %s", rule_keys[k],
				 k >= 2 && k <= 4 ? "whole number" : "string");
			free(ids);
			return false;
		}
		fields[n++] = (struct rule_field){rule_keys[k], json_string_value(v)};
	}
	ok = rules_add_fields(rules, fields, n, err, errlen);
	free(ids);
	return ok;
}

bool control_parse_rules(const char *body, size_t len, struct rules **out,
			 json_t **errors)
{
	struct rules *rules;
	json_t *list, *fields, *rule;
	json_error_t jerr;
	char msg[256], key[24];
	unsigned bad = 0;
	size_t i;

	*out = NULL;
	*errors = NULL;
	list = json_loadb(body != NULL ? body : "", len, 0, &jerr);
	rules = rules_create();
	if (list == NULL || !json_is_array(list) || rules == NULL) {
		json_decref(list);
		rules_unref(rules);
		*errors = one_error("body", "the body must be a JSON list of rules");
		return false;
	}
	fields = json_object();
	json_array_foreach(list, i, rule) {
		snprintf(key, sizeof(key), "%zu", i);
		if (!add_rule(rules, rule, msg, sizeof(msg))) {
			bad++;
			json_object_set_new(fields, key, message(msg));
		}
	}
	json_decref(list);
	if (bad > 0) {
		rules_unref(rules);
		*errors = fields != NULL ? fields : one_error("body", "out of memory");
		return false;
	}
	json_decref(fields);
	if (rules_count(rules) == 0) {
		rules_unref(rules);
		rules = NULL;
	}
	*out = rules;
	return true;
}

json_t *control_stats_json(struct metrics *m, const struct metrics_gauges *g)
{
	json_t *o = json_pack("{s:I, s:I, s:I, s:b}", "waiting", (json_int_t)g->waiting,
			      "in_flight", (json_int_t)g->in_flight, "connections",
			      (json_int_t)g->connections, "ready", g->ready);
	json_t *requests = json_object(), *faults = json_object();

	for (int r = 0; r < METRICS_ROUTE_COUNT; r++) {
		uint64_t counts[METRICS_CODES_MAX];
		const char *const *labels;
		size_t n = metrics_request_counts(m, (enum metrics_route)r, &labels, counts);
		json_t *by_status = json_object();

		for (size_t i = 0; i < n; i++)
			if (counts[i] > 0)
				json_object_set_new(by_status, labels[i],
						    json_integer((json_int_t)counts[i]));
		json_object_set_new(requests, metrics_route_name((enum metrics_route)r),
				    by_status);
	}
	for (int k = FAULT_NONE + 1; k < FAULT_KINDS; k++)
		json_object_set_new(faults, fault_kind_name((enum fault_kind)k),
				    json_integer((json_int_t)metrics_faults(m, (enum fault_kind)k)));
	if (o == NULL) {
		json_decref(requests);
		json_decref(faults);
		return NULL;
	}
	json_object_set_new(o, "requests", requests);
	json_object_set_new(o, "faults", faults);
	return o;
}

/* ---- the journal ----------------------------------------------------------- */

/* A whole number from lo to hi in `text`. */
static bool whole(const char *text, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*text < '0' || *text > '9')
		return false;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

bool control_requests_filter(const struct control_requests_query *q,
			     struct journal_filter *f, json_t **errors)
{
	json_t *bad = json_object();
	uint64_t v;

	memset(f, 0, sizeof(*f));
	*errors = NULL;
	if (q->route != NULL) {
		if (q->route[0] == '/' && strlen(q->route) < JOURNAL_TEXT_MAX)
			f->route = q->route;
		else
			json_object_set_new(bad, "route", message("expected a path: /user or /users"));
	}
	if (q->id != NULL) {
		if (whole(q->id, 0, UINT64_MAX, &f->id))
			f->has_id = true;
		else
			json_object_set_new(bad, "id", message("expected a user id"));
	}
	if (q->status != NULL) {
		if (whole(q->status, 100, 599, &v))
			f->status = (unsigned)v;
		else
			json_object_set_new(bad, "status", message("expected a status, 100 to 599"));
	}
	if (q->fault != NULL) {
		if (q->fault[0] != '\0')
			f->fault = q->fault;
		else
			json_object_set_new(bad, "fault", message("expected a fault (reset, "
				"status:503), a kind (status) or none"));
	}
	if (q->since != NULL) {
		char *end;
		double t;

		errno = 0;
		t = strtod(q->since, &end);
		if (errno == 0 && end != q->since && *end == '\0' && t >= 0 && t < 1e12) {
			f->has_since = true;
			f->since_us = (int64_t)(t * 1e6);
		} else {
			json_object_set_new(bad, "since", message("expected a Unix time in "
				"seconds, e.g. 1765000000.5"));
		}
	}
	if (q->limit != NULL) {
		if (whole(q->limit, 1, JOURNAL_MAX, &v))
			f->limit = (size_t)v;
		else
			json_object_set_new(bad, "limit", message("expected a count, 1 or more"));
	}
	if (bad == NULL || json_object_size(bad) > 0) {
		*errors = bad != NULL ? bad : one_error("query", "out of memory");
		return false;
	}
	json_decref(bad);
	return true;
}

/* Microseconds of Unix time as seconds. */
static json_t *seconds(int64_t us)
{
	return json_real((double)us / 1e6);
}

json_t *control_requests_json(const struct journal_entry *e, size_t n)
{
	json_t *list = json_array();

	for (size_t i = 0; list != NULL && i < n; i++) {
		const struct journal_entry *x = &e[i];
		json_t *o = json_pack("{sI so so so so so so sI so sf sI so sI so sb}",
				      "seq", (json_int_t)x->seq,
				      "arrived", seconds(x->arrived_us),
				      "answered", seconds(x->answered_us),
				      "method", message(x->method),
				      "path", message(x->path),
				      "query", message(x->query),
				      "ids", message(x->ids),
				      "status", (json_int_t)x->status,
				      "fault", x->fault[0] != '\0' ? message(x->fault) : json_null(),
				      "delay_ms", (double)x->delay_us / 1000.0,
				      "bytes", (json_int_t)x->bytes,
				      "client", message(x->client),
				      "port", (json_int_t)x->port,
				      "rule", x->rule >= 0 ? json_integer(x->rule) : json_null(),
				      "cut", x->cut);

		if (o != NULL && x->queued &&
		    json_object_set_new(o, "queue_ms",
					json_real((double)x->queue_wait_us / 1000.0)) != 0) {
			json_decref(o);
			o = NULL;
		}
		if (o == NULL || json_array_append_new(list, o) != 0) {
			json_decref(list);
			list = NULL;
		}
	}
	return list;
}
