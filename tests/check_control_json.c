/* Unit tests for src/control.c: the control API's JSON, with no server. */
#include <check.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "control.h"
#include "journal.h"
#include "testutil.h"

static struct config cfg;

static void setup(void)
{
	config_defaults(&cfg);
}

static void teardown(void)
{
	config_free(&cfg);
}

START_TEST(test_patch_applies_all)
{
	static const char body[] = "{\"delay\": \"fixed:7\", \"error-rate\": 0.5, "
				   "\"no-delay-override\": true, \"max-batch\": 9}";
	struct run_settings out;
	json_t *errors = NULL, *j;

	ck_assert(control_patch(body, strlen(body), &cfg.run, &out, &errors));
	ck_assert_ptr_null(errors);
	ck_assert_int_eq(out.delay.kind, DELAY_FIXED);
	ck_assert_uint_eq(out.delay.min_ms, 7);
	ck_assert_double_eq(out.error_rate, 0.5);
	ck_assert(!out.delay_override);
	ck_assert_uint_eq(out.max_batch, 9);
	j = control_config_json(&out);
	ck_assert_str_eq(json_string_value(json_object_get(j, "delay")), "fixed:7");
	ck_assert(json_is_true(json_object_get(j, "no-delay-override")));
	json_decref(j);
}
END_TEST

/* One bad field changes nothing, and every bad field is named, even when
 * its message quotes client text cut inside a UTF-8 sequence (found by
 * fuzz_control: the message was not valid UTF-8, jansson refused it, and
 * the PATCH went through without the field). */
START_TEST(test_patch_all_or_nothing)
{
	static const char body[] = "{\"delay\": \"fixed:7\", \"faults\": "
		"\"x\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"
		"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"
		"\\u00e9\\u00e9=0.1\", \"port\": 1}";
	struct run_settings out = {.max_batch = 12345};
	json_t *errors = NULL;

	ck_assert(!control_patch(body, strlen(body), &cfg.run, &out, &errors));
	ck_assert_ptr_nonnull(errors);
	ck_assert_ptr_nonnull(json_object_get(errors, "faults"));
	ck_assert_ptr_nonnull(json_object_get(errors, "port"));
	ck_assert_ptr_null(json_object_get(errors, "delay"));
	ck_assert_uint_eq(out.max_batch, 12345); /* untouched */
	json_decref(errors);
}
END_TEST

START_TEST(test_bad_bodies_say_why)
{
	static const char *const bodies[] = {
		"", "[]", "not json", "{\"reus\\\xd3\x8f\x90\x8d\x8b\xdd\xc5\xc4}",
	};
	struct run_settings out;
	struct rules *rules = NULL;
	json_t *errors;

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		errors = NULL;
		ck_assert(!control_patch(bodies[i], strlen(bodies[i]), &cfg.run, &out, &errors));
		ck_assert_msg(json_is_string(json_object_get(errors, "body")), "body %zu", i);
		json_decref(errors);
		errors = NULL;
		if (i == 1)
			continue; /* [] is an empty rule list */
		ck_assert(!control_parse_rules(bodies[i], strlen(bodies[i]), &rules, &errors));
		ck_assert_ptr_null(rules);
		ck_assert_ptr_nonnull(errors);
		json_decref(errors);
	}
}
END_TEST

START_TEST(test_rules_whole_list)
{
	static const char good[] = "[{\"match\": {\"route\": \"/user\", \"ids\": \"13,100-199\"},"
				   " \"fault\": \"reset\"}, \"ids=5 delay=fixed:9\"]";
	static const char bad[] = "[\"ids=5 delay=fixed:9\", {\"fault\": 3}, \"ids=x fault=close\"]";
	struct rules *rules = NULL;
	json_t *errors = NULL;

	ck_assert(control_parse_rules(good, strlen(good), &rules, &errors));
	ck_assert_uint_eq(rules_count(rules), 2);
	ck_assert(rules_match(rules, RULES_ROUTE_USER, 150)->fault.kind == FAULT_RESET);
	ck_assert_ptr_null(rules_match(rules, RULES_ROUTE_USERS, 150));
	ck_assert_uint_eq(rules_match(rules, RULES_ROUTE_USERS, 5)->delay.min_ms, 9);
	rules_unref(rules);
	rules = NULL;
	ck_assert(!control_parse_rules(bad, strlen(bad), &rules, &errors));
	ck_assert_ptr_null(rules);
	ck_assert_ptr_null(json_object_get(errors, "0"));
	ck_assert_ptr_nonnull(json_object_get(errors, "1"));
	ck_assert_ptr_nonnull(json_object_get(errors, "2"));
	json_decref(errors);
}
END_TEST

/* Each of the n one-rule lists is refused, saying why under "0". */
static void assert_refused(const char *const bad[], size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct rules *rules = NULL;
		json_t *errors = NULL;

		ck_assert_msg(!control_parse_rules(bad[i], strlen(bad[i]), &rules, &errors), "%s",
			      bad[i]);
		ck_assert_ptr_null(rules);
		ck_assert_ptr_nonnull(json_object_get(errors, "0"));
		json_decref(errors);
	}
}

/* Counts are whole numbers, as JSON integers or text; "counted" is
 * read-only and ignored. */
START_TEST(test_rules_counts)
{
	static const char good[] = "[{\"match\": {\"ids\": 7}, \"fault\": \"status:503\","
				   " \"retry-after\": 2, \"times\": \"2\", \"per\": \"client\","
				   " \"counted\": {\"matches\": 5}}]";
	static const char *const bad[] = {
		"[{\"fault\": \"reset\", \"times\": -1}]",
		"[{\"fault\": \"reset\", \"times\": true}]",
		"[{\"fault\": \"reset\", \"after\": 1.5}]",
		"[{\"fault\": \"reset\", \"per\": 1, \"times\": 1}]",
		"[{\"fault\": \"reset\", \"retry-after\": 2}]",
	};
	struct rules *rules = NULL;
	json_t *errors = NULL, *got;

	ck_assert(control_parse_rules(good, strlen(good), &rules, &errors));
	ck_assert_str_eq(rules_text(rules, 0), "ids=7 fault=status:503 retry-after=2 times=2 "
			 "per=client");
	got = control_rules_json(rules, 0);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(got, 0), "times")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(
		json_array_get(got, 0), "counted"), "matches")), 0);
	json_decref(got);
	rules_unref(rules);
	assert_refused(bad, sizeof(bad) / sizeof(bad[0]));
}
END_TEST

/* A schedule's fields are strings; GET /rules adds whether the rule is
 * active at the time it is given, and a ramp's scale then, which PUT
 * ignores. */
START_TEST(test_rules_schedule)
{
	static const char good[] = "[{\"at\": \"1-3\", \"scale\": \"1..3\", "
				   "\"fault\": \"status:503=0.2\", \"active\": false, "
				   "\"scale_now\": 9}, {\"at\": \"0-1\", \"every\": \"2\", "
				   "\"delay\": \"fixed:1\"}, {\"fault\": \"reset\"}]";
	static const char *const bad[] = {
		"[{\"fault\": \"reset\", \"at\": 5}]",
		"[{\"fault\": \"reset\", \"every\": \"5\"}]",
		"[{\"fault\": \"reset\", \"at\": \"1-2\", \"every\": 2}]",
		"[{\"scale\": \"1..2\"}]",
		"[{\"fault\": \"reset\", \"when\": \"1-2\"}]",
	};
	const uint64_t t0 = UINT64_C(7000000000);
	struct rules *rules = NULL;
	json_t *errors = NULL, *got, *r0, *r1;

	ck_assert(control_parse_rules(good, strlen(good), &rules, &errors));
	ck_assert_str_eq(rules_text(rules, 0), "fault=status:503=0.2 at=1-3 scale=1..3");
	rules_start(rules, t0);
	got = control_rules_json(rules, t0 + UINT64_C(1500000000));
	r0 = json_array_get(got, 0);
	r1 = json_array_get(got, 1);
	ck_assert_str_eq(json_string_value(json_object_get(r0, "at")), "1-3");
	ck_assert_str_eq(json_string_value(json_object_get(r0, "scale")), "1..3");
	ck_assert_str_eq(json_string_value(json_object_get(r0, "fault")), "status:503=0.2");
	ck_assert(json_is_true(json_object_get(r0, "active")));
	ck_assert_double_eq_tol(json_real_value(json_object_get(r0, "scale_now")), 1.5, 1e-9);
	ck_assert_str_eq(json_string_value(json_object_get(r1, "every")), "2");
	ck_assert(json_is_false(json_object_get(r1, "active")));
	ck_assert_ptr_null(json_object_get(r1, "scale_now"));      /* no ramp */
	ck_assert_ptr_null(json_object_get(json_array_get(got, 2), "active")); /* always */
	json_decref(got);
	got = control_rules_json(rules, t0 + UINT64_C(4500000000));
	ck_assert(json_is_false(json_object_get(json_array_get(got, 0), "active")));
	ck_assert(json_is_true(json_object_get(json_array_get(got, 1), "active")));
	json_decref(got);
	rules_unref(rules);
	assert_refused(bad, sizeof(bad) / sizeof(bad[0]));
}
END_TEST

/* ---- round trips, as properties over generated values ------------------ */

/* A small seeded generator, so that a failure can be replayed. */
static uint64_t gen_state;

static uint64_t gen(uint64_t bound)
{
	uint64_t z = (gen_state += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return (z ^ (z >> 31)) % bound;
}

/* A share below `below` (a fraction of 1) as a user might write it:
 * a plain decimal of up to 18 places, an exponent, or a short form. */
static void gen_share(char *buf, size_t len, double below)
{
	double v = below * (double)gen(1000000007) / 1000000007.0;

	switch (gen(7)) {
	case 0:
		snprintf(buf, len, "%.*f", (int)(1 + gen(18)), v);
		break;
	case 1:
		snprintf(buf, len, "%.*e", (int)gen(17), v);
		break;
	case 2:
		snprintf(buf, len, "%.*E", (int)gen(5), v / 1000.0);
		break;
	case 3:
		snprintf(buf, len, "%.17g", v);
		break;
	case 4:
		/* Short forms, all below any `below` used here. */
		snprintf(buf, len, "%s", (const char *const[]){"0", "0.003", "1e-5", ".0025",
							 "0.", "5E-3", "0.000001"}[gen(7)]);
		break;
	default:
		snprintf(buf, len, "%g", v);
		break;
	}
}

/* A random delay model. */
static void gen_delay(char *buf, size_t len)
{
	uint64_t a = gen(DELAY_LIMIT_MS + 1), b = gen(DELAY_LIMIT_MS + 1);
	uint64_t lo = a < b ? a : b, hi = a < b ? b : a;

	switch (gen(6)) {
	case 0:
		snprintf(buf, len, "fixed:%" PRIu64, a);
		break;
	case 3:
		snprintf(buf, len, "exponential:%" PRIu64, a);
		break;
	case 4: /* decimals in both, as describe writes them back */
		snprintf(buf, len, "quantiles:%" PRIu64 ".5=%" PRIu64 ".25,99.9=%" PRIu64,
			 1 + gen(98), lo / 2, lo / 2 + 1 + gen(1000));
		break;
	case 1:
		snprintf(buf, len, "uniform:%" PRIu64 ":%" PRIu64, lo, hi);
		break;
	case 6: /* the rows' examples: files, from the top of the tree */
		snprintf(buf, len, "%s", delay_type_of(gen(2) ? DELAY_SAMPLES
							      : DELAY_HISTOGRAM)->example);
		break;
	case 5:
		snprintf(buf, len, "mix:0.%03" PRIu64 "*fixed:%" PRIu64
			 ",3*quantiles:50=%" PRIu64 ",99=%" PRIu64, 1 + gen(998), a,
			 lo < DELAY_LIMIT_MS ? lo + 1 : lo, hi < DELAY_LIMIT_MS ? hi + 1 : hi);
		break;
	default:
		snprintf(buf, len, "lognormal:%" PRIu64 ":%" PRIu64, lo + 1, hi + 1);
		break;
	}
}

/* A random fault. */
static void gen_fault(char *buf, size_t len)
{
	switch (gen(6)) {
	case 0:
		snprintf(buf, len, "status:%" PRIu64, 400 + gen(200));
		break;
	case 1:
		snprintf(buf, len, "drip:%" PRIu64, 1 + gen(1000000));
		break;
	default:
		snprintf(buf, len, "%s",
			 (const char *const[]){"reset", "close", "hang", "truncate"}[gen(4)]);
		break;
	}
}

/* A random mix of faults whose shares add up to less than `below`. */
static void gen_faults(char *buf, size_t len, double below)
{
	unsigned n = (unsigned)gen(FAULT_MIX_MAX + 1);
	size_t used = 0;

	snprintf(buf, len, "none");
	for (unsigned i = 0; i < n; i++) {
		char f[32], share[48];

		gen_fault(f, sizeof(f));
		gen_share(share, sizeof(share), below / (double)n);
		used += (size_t)snprintf(buf + used, len - used, "%s%s=%s", i > 0 ? "," : "",
					 f, share);
	}
}

/* A random value, as text, for the reloadable option `name` (the shares
 * of error-rate and faults together stay below 1).  Asserts that the
 * option has a generator: a new reloadable option must get one. */
static void gen_value(const char *name, char *buf, size_t len)
{
	static const char *const levels[] = {"error", "warn", "info", "debug"};
	static const char *const formats[] = {"off", "common", "json"};

	if (strcmp(name, "delay") == 0)
		gen_delay(buf, len);
	else if (strcmp(name, "delay-min") == 0 || strcmp(name, "delay-max") == 0 ||
		 strcmp(name, "max-delay") == 0)
		snprintf(buf, len, "%" PRIu64, gen(DELAY_LIMIT_MS + 1));
	else if (strcmp(name, "no-delay-override") == 0)
		snprintf(buf, len, "%s", gen(2) ? "yes" : "no");
	else if (strcmp(name, "error-rate") == 0)
		gen_share(buf, len, 0.5);
	else if (strcmp(name, "faults") == 0)
		gen_faults(buf, len, 0.5);
	else if (strcmp(name, "hang-timeout") == 0)
		snprintf(buf, len, "%" PRIu64, 1 + gen(86400));
	else if (strcmp(name, "max-batch") == 0)
		snprintf(buf, len, "%" PRIu64, 1 + gen(CONFIG_MAX_BATCH));
	else if (strcmp(name, "capacity") == 0)
		snprintf(buf, len, "%" PRIu64, gen(CONFIG_MAX_CAPACITY + 1));
	else if (strcmp(name, "queue") == 0)
		gen(4) == 0 ? snprintf(buf, len, "unbounded")
			    : snprintf(buf, len, "%" PRIu64, gen(CONFIG_MAX_QUEUE + 1));
	else if (strcmp(name, "queue-timeout") == 0)
		snprintf(buf, len, "%" PRIu64, gen(DELAY_LIMIT_MS + 1));
	else if (strcmp(name, "reject-status") == 0)
		snprintf(buf, len, "%s", gen(2) ? "503" : "429");
	else if (strcmp(name, "access-log") == 0)
		snprintf(buf, len, "%s", formats[gen(3)]);
	else if (strcmp(name, "timer-slack") == 0)
		snprintf(buf, len, "%" PRIu64, gen(CONFIG_MAX_TIMER_SLACK_MS + 1));
	else if (strcmp(name, "drain-timeout") == 0)
		snprintf(buf, len, "%" PRIu64, gen(86401));
	else if (strcmp(name, "log-level") == 0)
		snprintf(buf, len, "%s", levels[gen(4)]);
	else
		ck_abort_msg("no generator for the reloadable option %s", name);
}

/* The PATCH body {"name": value}: the value as a JSON string, or as a
 * JSON number (or true/false) when `typed` and the text is one. */
static char *one_field(const char *name, const char *value, bool typed)
{
	json_t *o = json_object(), *v = NULL;
	char *text;

	if (typed && (strcmp(value, "yes") == 0 || strcmp(value, "no") == 0))
		v = json_boolean(strcmp(value, "yes") == 0);
	else if (typed)
		v = json_loads(value, JSON_DECODE_ANY, NULL);
	if (v == NULL || json_is_string(v) || json_is_array(v) || json_is_object(v)) {
		json_decref(v);
		v = json_string(value);
	}
	json_object_set_new(o, name, v);
	text = json_dumps(o, 0);
	json_decref(o);
	return text;
}

/* Every value the command line takes, PATCH takes (as a string, and as a
 * JSON number or boolean where it is one), to the same effect. */
START_TEST(test_patch_takes_what_the_command_line_takes)
{
	gen_state = 19;
	for (int round = 0; round < 300; round++) {
		for (size_t i = 0; i < config_option_count(); i++) {
			const char *name = config_option_name(i);
			char value[512], opt[64], err[256], prog[] = "userd";
			struct config by_cli;
			json_t *want;

			if (!config_option_reloadable(i) || strcmp(name, "rule") == 0)
				continue;
			gen_value(name, value, sizeof(value));
			snprintf(opt, sizeof(opt), "--%s", name);
			{
				/* A switch is given ("yes") or not ("no"). */
				bool sw = config_option_kind(i) == CONFIG_VALUE_BOOL;
				char *argv[] = {prog, opt, sw ? NULL : value, NULL};
				int argc = sw ? (strcmp(value, "yes") == 0 ? 2 : 1) : 3;

				ck_assert_msg(config_load(&by_cli, argc, argv, err, sizeof(err)) ==
						      CONFIG_OK,
					      "round %d: %s %s: %s", round, opt, value, err);
			}
			want = control_config_json(&by_cli.run);
			for (int typed = 0; typed < 2; typed++) {
				char *body = one_field(name, value, typed);
				struct run_settings out;
				json_t *errors = NULL, *got;

				ck_assert_msg(control_patch(body, strlen(body), &cfg.run, &out,
							    &errors),
					      "round %d: %s refused: %s", round, body,
					      errors != NULL ? json_dumps(errors, 0) : "");
				got = control_config_json(&out);
				ck_assert_msg(json_equal(got, want), "round %d: %s gave %s, not %s",
					      round, body, json_dumps(got, 0), json_dumps(want, 0));
				json_decref(got);
				delay_model_unref(&out.delay);
				free(body);
			}
			json_decref(want);
			config_free(&by_cli);
		}
	}
}
END_TEST

/* The shares the issue named: 0.003 and 0.00001 (shown as 1e-05) were
 * printed as 0.0030000000000000001 and 1.0000000000000001e-05 in GET
 * /config, and PATCH refused them back. */
START_TEST(test_small_shares_come_back)
{
	static const char *const shares[] = {"0.003", "0.00001", "1e-5", "0.1234567890123456"};
	char err[256];

	for (size_t i = 0; i < sizeof(shares) / sizeof(shares[0]); i++) {
		char faults[64];
		struct run_settings out;
		json_t *j, *errors = NULL;
		char *text;

		snprintf(faults, sizeof(faults), "reset=%s", shares[i]);
		ck_assert_msg(config_set(&cfg, "error-rate", shares[i], err, sizeof(err)), "%s", err);
		ck_assert_msg(config_set(&cfg, "faults", faults, err, sizeof(err)), "%s", err);
		j = control_config_json(&cfg.run);
		text = json_dumps(j, 0);
		ck_assert_msg(control_patch(text, strlen(text), &cfg.run, &out, &errors),
			      "%s refused back", text);
		ck_assert(out.error_rate == cfg.run.error_rate);
		ck_assert(out.faults.share[0] == cfg.run.faults.share[0]);
		free(text);
		json_decref(j);
	}
}
END_TEST

/* GET /config PATCHed back is taken and changes nothing, whatever the
 * settings, from whatever settings were in force. */
START_TEST(test_get_config_patched_back_is_identity)
{
	gen_state = 20;
	for (int round = 0; round < 500; round++) {
		struct config a, b;
		json_t *ja, *jb, *errors = NULL, *got;
		struct run_settings out;
		char *text;

		config_defaults(&a);
		config_defaults(&b);
		for (size_t i = 0; i < config_option_count(); i++) {
			const char *name = config_option_name(i);
			char value[512], err[256];

			if (!config_option_reloadable(i) || strcmp(name, "rule") == 0 ||
			    strcmp(name, "delay-min") == 0 || strcmp(name, "delay-max") == 0)
				continue;
			gen_value(name, value, sizeof(value));
			ck_assert_msg(config_set(&a, name, value, err, sizeof(err)),
				      "%s = %s: %s", name, value, err);
			gen_value(name, value, sizeof(value));
			ck_assert_msg(config_set(&b, name, value, err, sizeof(err)),
				      "%s = %s: %s", name, value, err);
		}
		ja = control_config_json(&a.run);
		jb = control_config_json(&b.run);
		text = json_dumps(ja, 0);
		/* Onto other settings: all of a's values come back. */
		ck_assert_msg(control_patch(text, strlen(text), &b.run, &out, &errors),
			      "round %d: GET /config refused back: %s: %s", round, text,
			      errors != NULL ? json_dumps(errors, 0) : "");
		got = control_config_json(&out);
		ck_assert_msg(json_equal(got, ja), "round %d: %s came back as %s", round, text,
			      json_dumps(got, 0));
		json_decref(got);
		delay_model_unref(&out.delay);
		/* Onto themselves: nothing changes. */
		ck_assert(control_patch(text, strlen(text), &a.run, &out, &errors));
		/* The model's data, if any, is another copy of the same. */
		ck_assert(delay_model_equal(&out.delay, &a.run.delay));
		delay_model_unref(&out.delay);
		ck_assert(out.error_rate == a.run.error_rate);
		for (unsigned k = 0; k < a.run.faults.n; k++)
			ck_assert(out.faults.share[k] == a.run.faults.share[k]);
		free(text);
		json_decref(ja);
		json_decref(jb);
		config_free(&a);
		config_free(&b);
	}
}
END_TEST

/* PUT /rules takes each field as what it is: a blank inside a field is
 * not a new field (the API joined the fields into a line and split it
 * again: {"delay": "fixed:5 ids=3"} became a rule for user 3), and an
 * unknown field is refused, not ignored. */
START_TEST(test_rule_fields_stay_structured)
{
	static const char *const bad[] = {
		"[{\"delay\": \"fixed:5 ids=3\"}]",
		"[{\"fault\": \"reset route=/users\"}]",
		"[{\"match\": {\"ids\": \"3 delay=fixed:9\"}, \"fault\": \"reset\"}]",
		"[{\"match\": {\"route\": \"/user ids=4\"}, \"fault\": \"reset\"}]",
		"[{\"match\": {\"id\": \"7\"}, \"fault\": \"reset\"}]",
		"[{\"match\": {\"ids\": \"7\"}, \"fautl\": \"reset\", \"delay\": \"fixed:1\"}]",
		"[{\"match\": {\"ids\": [1, \"2,3\"]}, \"fault\": \"reset\"}]",
		"[{\"match\": {\"ids\": -1}, \"fault\": \"reset\"}]",
		"[{\"match\": {\"ids\": []}, \"fault\": \"reset\"}]",
	};
	struct rules *rules;
	json_t *errors;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errors = NULL;
		ck_assert_msg(!control_parse_rules(bad[i], strlen(bad[i]), &rules, &errors),
			      "%s was taken", bad[i]);
		ck_assert_ptr_nonnull(json_object_get(errors, "0"));
		json_decref(errors);
	}
}
END_TEST

/* GET /rules answers what PUT /rules takes: objects, in canonical form;
 * ids may be given as a string, an id or a list. */
START_TEST(test_rules_answered_as_objects)
{
	static const char body[] =
		"[{\"match\": {\"route\": \"/user/\", \"ids\": [13, \"100-199\", 7]},"
		" \"fault\": \"status:503\"}, {\"match\": {\"ids\": 5}, \"delay\": \"fixed:9\"},"
		" \"route=/users delay=uniform:1:2\"]";
	static const char want[] =
		"[{\"match\": {\"route\": \"/user\", \"ids\": \"13,100-199,7\"},"
		" \"fault\": \"status:503\"}, {\"match\": {\"ids\": \"5\"}, \"delay\": \"fixed:9\"},"
		" {\"match\": {\"route\": \"/users\"}, \"delay\": \"uniform:1:2\"}]";
	struct rules *rules = NULL;
	json_t *errors = NULL, *got, *expected;

	ck_assert(control_parse_rules(body, strlen(body), &rules, &errors));
	got = control_rules_json(rules, 0);
	expected = json_loads(want, 0, NULL);
	ck_assert_msg(json_equal(got, expected), "got %s", json_dumps(got, 0));
	json_decref(got);
	json_decref(expected);
	rules_unref(rules);
}
END_TEST

/* A count field: an integer, or sometimes its text. */
static void gen_count(json_t *rule, const char *key, uint64_t n)
{
	char text[24];

	snprintf(text, sizeof(text), "%" PRIu64, n);
	json_object_set_new(rule, key, gen(4) == 0 ? json_string(text)
				       : json_integer((json_int_t)n));
}

/* Thousandths as seconds or a scale: "12", "1.5", "0.125". */
static void gen_milli(char *buf, size_t len, uint64_t v)
{
	if (v % 1000 == 0)
		snprintf(buf, len, "%" PRIu64, v / 1000);
	else
		snprintf(buf, len, "%" PRIu64 ".%03" PRIu64, v / 1000, v % 1000);
}

/* Sometimes a schedule: at= (A < B), with every= (B <= P) and scale=
 * (X, or a ramp X..Y), and sometimes the read-only "active" and
 * "scale_now" that GET /rules adds; or a scale alone. */
static void gen_schedule(json_t *rule)
{
	char a[32], b[32], text[80];
	uint64_t from, to;

	if (gen(3) == 0) {
		from = gen(gen(2) ? 5000 : (uint64_t)RULES_SECONDS_MAX * 1000 - 1);
		to = from + 1 + gen(gen(2) ? 5000 : (uint64_t)RULES_SECONDS_MAX * 1000 - from);
		gen_milli(a, sizeof(a), from);
		gen_milli(b, sizeof(b), to);
		snprintf(text, sizeof(text), "%s-%s", a, b);
		json_object_set_new(rule, "at", json_string(text));
		if (gen(2) && to < (uint64_t)RULES_SECONDS_MAX * 1000) {
			gen_milli(a, sizeof(a),
				  to + gen((uint64_t)RULES_SECONDS_MAX * 1000 - to + 1));
			json_object_set_new(rule, "every", json_string(a));
		}
		if (gen(4) == 0)
			json_object_set_new(rule, "active", json_boolean(gen(2)));
	}
	if (gen(3) == 0) {
		gen_milli(a, sizeof(a), gen(RULES_SCALE_MAX * 1000 + 1));
		if (json_object_get(rule, "at") != NULL && gen(2)) {
			gen_milli(b, sizeof(b), gen(RULES_SCALE_MAX * 1000 + 1));
			snprintf(text, sizeof(text), "%s..%s", a, b);
			json_object_set_new(rule, "scale", json_string(text));
			if (gen(4) == 0)
				json_object_set_new(rule, "scale_now", json_real(1.5));
		} else {
			json_object_set_new(rule, "scale", json_string(a));
		}
	}
}

/* A random rule as PUT /rules takes it: an object with some of route,
 * ids (a string, an id or a list), delay, fault (one, or a mix),
 * retry-after (with a status fault), times, after and per (an integer
 * or its text), at, every and scale, and sometimes the read-only
 * "counted" that GET /rules adds. */
static json_t *gen_rule(void)
{
	json_t *rule = json_object(), *match = json_object();
	char text[1024];

	if (gen(3) == 0)
		json_object_set_new(match, "route", json_string(gen(2) ? "/user" : "/users"));
	switch (gen(4)) {
	case 0:
		break;
	case 1:
		json_object_set_new(match, "ids", json_integer((json_int_t)gen(1000000)));
		break;
	case 2: {
		json_t *list = json_array();

		for (uint64_t k = 0, n = 1 + gen(5); k < n; k++) {
			uint64_t lo = gen(UINT64_C(1) << 62);

			if (gen(2)) {
				snprintf(text, sizeof(text), "%" PRIu64 "-%" PRIu64, lo, lo + gen(1000));
				json_array_append_new(list, json_string(text));
			} else {
				json_array_append_new(list, json_integer((json_int_t)lo));
			}
		}
		json_object_set_new(match, "ids", list);
		break;
	}
	default:
		snprintf(text, sizeof(text), "%" PRIu64 ",%" PRIu64 "-%" PRIu64, gen(100),
			 gen(100), 100 + gen(100));
		json_object_set_new(match, "ids", json_string(text));
		break;
	}
	if (json_object_size(match) > 0)
		json_object_set(rule, "match", match);
	json_decref(match);
	if (gen(2)) {
		gen_delay(text, sizeof(text));
		json_object_set_new(rule, "delay", json_string(text));
	}
	gen_schedule(rule);
	if ((json_object_get(rule, "delay") == NULL && json_object_get(rule, "scale") == NULL) ||
	    gen(2)) {
		if (gen(3) == 0) {
			do
				gen_faults(text, sizeof(text), 1.0);
			while (strcmp(text, "none") == 0);
		} else {
			gen_fault(text, sizeof(text));
		}
		json_object_set_new(rule, "fault", json_string(text));
		if (strstr(text, "status:") != NULL && gen(2))
			gen_count(rule, "retry-after", 1 + gen(gen(2) ? 10 : RULES_RETRY_AFTER_MAX));
	}
	if (gen(3) == 0)
		gen_count(rule, "times", 1 + gen(gen(2) ? 5 : RULES_TIMES_MAX));
	if (gen(3) == 0)
		gen_count(rule, "after", gen(gen(2) ? 5 : RULES_TIMES_MAX + 1));
	if ((json_object_get(rule, "times") != NULL || json_object_get(rule, "after") != NULL)) {
		if (gen(2))
			json_object_set_new(rule, "per", json_string(
				(const char *const[]){"id", "client", "all"}[gen(3)]));
		if (gen(4) == 0)
			json_object_set_new(rule, "counted", json_pack("{sI}", "matches",
								       (json_int_t)gen(99)));
	}
	return rule;
}

/* GET /rules PUT back gives the same rules in force: the same answer to
 * GET /rules, and the same effect for every route and id. */
START_TEST(test_get_rules_put_back_is_identity)
{
	gen_state = 23;
	for (int round = 0; round < 300; round++) {
		json_t *list = json_array(), *errors = NULL, *first, *second;
		struct rules *a = NULL, *b = NULL;
		char *text;

		for (uint64_t k = 0, n = gen(6); k < n; k++)
			json_array_append_new(list, gen_rule());
		text = json_dumps(list, 0);
		ck_assert_msg(control_parse_rules(text, strlen(text), &a, &errors), "%s: %s",
			      text, errors != NULL ? json_dumps(errors, 0) : "");
		free(text);
		first = control_rules_json(a, 0);
		text = json_dumps(first, 0);
		ck_assert_msg(control_parse_rules(text, strlen(text), &b, &errors),
			      "GET /rules refused back: %s", text);
		second = control_rules_json(b, 0);
		ck_assert_msg(json_equal(first, second), "%s came back as %s", text,
			      json_dumps(second, 0));
		ck_assert(rules_equal(a, b));
		for (int probe = 0; probe < 50; probe++) {
			unsigned route = gen(2) ? RULES_ROUTE_USER : RULES_ROUTE_USERS;
			uint64_t id = gen(3) ? gen(300) : gen(UINT64_C(1) << 62);
			const struct rule_effect *ea = rules_match(a, route, id);
			const struct rule_effect *eb = rules_match(b, route, id);

			ck_assert((ea == NULL) == (eb == NULL));
			if (ea != NULL) {
				ck_assert_int_eq(ea->has_delay, eb->has_delay);
				ck_assert_int_eq(ea->has_fault, eb->has_fault);
				ck_assert(!ea->has_delay || delay_model_equal(&ea->delay, &eb->delay));
				ck_assert_int_eq(memcmp(&ea->fault, &eb->fault, sizeof(ea->fault)), 0);
				ck_assert_int_eq(ea->mixed, eb->mixed);
				ck_assert_uint_eq(ea->mix.n, eb->mix.n);
				for (unsigned k = 0; k < ea->mix.n; k++) {
					ck_assert(ea->mix.share[k] == eb->mix.share[k]);
					ck_assert_int_eq(ea->mix.fault[k].kind,
							 eb->mix.fault[k].kind);
				}
				ck_assert_uint_eq(ea->retry_after_s, eb->retry_after_s);
			}
		}
		free(text);
		json_decref(first);
		json_decref(second);
		json_decref(list);
		rules_unref(a);
		rules_unref(b);
	}
}
END_TEST

/* GET /requests: an entry that went through --capacity says how long it
 * waited for a slot (queue_ms); one that did not has no such field. */
START_TEST(test_requests_show_queue_waits)
{
	struct journal_entry e[2];
	json_t *list;

	memset(e, 0, sizeof(e));
	e[0].seq = 1;
	e[0].rule = -1;
	snprintf(e[0].path, sizeof(e[0].path), "/user/7");
	e[1] = e[0];
	e[1].seq = 2;
	e[1].queued = true;
	e[1].queue_wait_us = 1500;
	list = control_requests_json(e, 2);
	ck_assert_ptr_nonnull(list);
	ck_assert_ptr_null(json_object_get(json_array_get(list, 0), "queue_ms"));
	ck_assert(json_real_value(json_object_get(json_array_get(list, 1), "queue_ms")) == 1.5);
	json_decref(list);
}
END_TEST

static Suite *control_json_suite(void)
{
	Suite *s = suite_create("control_json");
	TCase *tc = tcase_create("json");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_patch_applies_all);
	tcase_add_test(tc, test_patch_all_or_nothing);
	tcase_add_test(tc, test_bad_bodies_say_why);
	tcase_add_test(tc, test_rules_whole_list);
	tcase_add_test(tc, test_small_shares_come_back);
	tcase_add_test(tc, test_requests_show_queue_waits);
	tcase_add_test(tc, test_rule_fields_stay_structured);
	tcase_add_test(tc, test_rules_answered_as_objects);
	tcase_add_test(tc, test_rules_counts);
	tcase_add_test(tc, test_rules_schedule);
	tcase_add_test(tc, test_get_rules_put_back_is_identity);
	tcase_add_test(tc, test_patch_takes_what_the_command_line_takes);
	tcase_add_test(tc, test_get_config_patched_back_is_identity);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(control_json_suite());
}
