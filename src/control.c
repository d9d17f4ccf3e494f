/* control.c - the control API's JSON; see control.h. */
#include "control.h"

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
	for (size_t i = 0; o != NULL && i < config_option_count(); i++) {
		char value[CONFIG_VALUE_MAX];
		const char *name = config_option_name(i);
		json_t *v;

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
		default:
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

/* A JSON value as the text a config file would hold; false when it is
 * of no type a setting takes. */
static bool value_text(const json_t *v, char *buf, size_t len)
{
	if (json_is_string(v))
		return snprintf(buf, len, "%s", json_string_value(v)) < (int)len;
	if (json_is_integer(v))
		return snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v)) < (int)len;
	if (json_is_real(v))
		return snprintf(buf, len, "%.17g", json_real_value(v)) < (int)len;
	if (json_is_boolean(v))
		return snprintf(buf, len, "%s", json_is_true(v) ? "yes" : "no") < (int)len;
	return false;
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
	const char *name;
	char text[CONFIG_VALUE_MAX * 2], msg[256];
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
	fields = json_object();
	json_object_foreach(obj, name, v) {
		if (strcmp(name, "rule") == 0)
			snprintf(msg, sizeof(msg), "rules are changed with PUT /rules");
		else if (!value_text(v, text, sizeof(text)))
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
		json_decref(fields);
	} else {
		*errors = fields != NULL ? fields : one_error("body", "out of memory");
	}
	config_free(&next);
	return bad == 0;
}

/* The rules as a JSON list of their texts. */
json_t *control_rules_json(const struct rules *r)
{
	json_t *list = json_array();

	for (size_t i = 0; list != NULL && i < rules_count(r); i++)
		json_array_append_new(list, json_string(rules_text(r, i)));
	return list;
}

/* One rule of PUT /rules as a rules_add() line: an object with "match"
 * (route, ids), "delay" and "fault", or such a line as a string. */
static bool rule_line(const json_t *rule, char *buf, size_t len, char *err, size_t errlen)
{
	const json_t *match, *v;
	size_t used = 0;
	int n;

	if (json_is_string(rule))
		return snprintf(buf, len, "%s", json_string_value(rule)) < (int)len;
	if (!json_is_object(rule)) {
		snprintf(err, errlen, "a rule is an object {\"match\": {...}, \"delay\": "
			 "MODEL, \"fault\": FAULT}");
		return false;
	}
	buf[0] = '\0';
	match = json_object_get(rule, "match");
	if (match != NULL && !json_is_object(match)) {
		snprintf(err, errlen, "match: expected an object with route and ids");
		return false;
	}
	for (int k = 0; k < 4; k++) {
		static const char *const keys[] = {"route", "ids", "delay", "fault"};

		v = json_object_get(k < 2 ? match : rule, keys[k]);
		if (v == NULL)
			continue;
		if (!json_is_string(v)) {
			snprintf(err, errlen, "%s: expected a string", keys[k]);
			return false;
		}
		n = snprintf(buf + used, len - used, "%s%s=%s", used > 0 ? " " : "", keys[k],
			     json_string_value(v));
		if (n < 0 || (size_t)n >= len - used) {
			snprintf(err, errlen, "the rule is too long");
			return false;
		}
		used += (size_t)n;
	}
	return true;
}

bool control_parse_rules(const char *body, size_t len, struct rules **out,
			 json_t **errors)
{
	struct rules *rules;
	json_t *list, *fields, *rule;
	json_error_t jerr;
	char line[1024], msg[256], key[24];
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
		if (!rule_line(rule, line, sizeof(line), msg, sizeof(msg)) ||
		    !rules_add(rules, line, msg, sizeof(msg))) {
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
