/* Unit tests for src/fault.c: the table of kinds, each kind's text form
 * and bounds, the messages, mixes; and that --help, userd(8) and the
 * README list every kind of the table. */
#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fault.h"
#include "testutil.h"

static char err[256];

/* ---- the table ---------------------------------------------------------- */

/* Every row is complete: a kind with no row (or half a row) fails here. */
START_TEST(test_every_row_is_complete)
{
	for (int k = 0; k < FAULT_KINDS; k++) {
		const struct fault_kind_info *info = fault_kind_info((enum fault_kind)k);

		ck_assert_msg(info->name != NULL && info->name[0] != '\0', "kind %d: no name", k);
		for (const char *p = info->name; *p != '\0'; p++)
			ck_assert_msg(islower((unsigned char)*p), "kind %d: name '%s'", k, info->name);
		ck_assert_msg((info->class == FAULT_CLASS_NONE) == (k == FAULT_NONE),
			      "%s: no class", info->name);
		for (int j = 0; j < k; j++)
			ck_assert_str_ne(fault_kind_info((enum fault_kind)j)->name, info->name);
		if (info->arg == NULL)
			continue;
		ck_assert_msg(info->arg[0] != '\0' && info->needs != NULL && info->noun != NULL &&
			      info->unit != NULL, "%s: argument half described", info->name);
		ck_assert_msg(info->min <= info->example && info->example <= info->max &&
			      info->max > 0, "%s: bounds %u..%u, example %u", info->name,
			      info->min, info->max, info->example);
	}
	ck_assert_str_eq(fault_kind_name(FAULT_NONE), "none");
	ck_assert_str_eq(fault_kind_name(FAULT_KINDS), "none");
}
END_TEST

START_TEST(test_answer_or_transport)
{
	ck_assert(!fault_is_answer(FAULT_NONE) && !fault_is_transport(FAULT_NONE));
	ck_assert(fault_is_answer(FAULT_STATUS) && !fault_is_transport(FAULT_STATUS));
	for (int k = FAULT_NONE + 1; k < FAULT_KINDS; k++)
		ck_assert(fault_is_answer((enum fault_kind)k) !=
			  fault_is_transport((enum fault_kind)k));
	ck_assert(fault_is_transport(FAULT_RESET) && fault_is_transport(FAULT_CLOSE) &&
		  fault_is_transport(FAULT_HANG) && fault_is_transport(FAULT_DRIP) &&
		  fault_is_transport(FAULT_TRUNCATE));
}
END_TEST

/* ---- one fault's text ------------------------------------------------- */

/* fault_parse(fault_describe(f)) == f for every kind, at its argument's
 * bounds and example. */
START_TEST(test_round_trip_every_kind)
{
	const struct fault_kind_info *info = fault_kind_info((enum fault_kind)_i);
	unsigned args[3] = {0, 0, 0};
	size_t n = 1;

	if (info->arg != NULL) {
		args[0] = info->min;
		args[1] = info->example;
		args[2] = info->max;
		n = 3;
	}
	for (size_t i = 0; i < n; i++) {
		struct fault f = {.kind = (enum fault_kind)_i, .arg = args[i]};
		struct fault back = {.kind = FAULT_KINDS, .arg = 12345};
		char text[FAULT_TEXT_MAX + 8];

		fault_describe(&f, text, sizeof(text));
		ck_assert_uint_lt(strlen(text), FAULT_TEXT_MAX);
		ck_assert_msg(fault_parse(text, strlen(text), &back, err, sizeof(err)),
			      "%s: %s", text, err);
		ck_assert_int_eq(back.kind, f.kind);
		ck_assert_uint_eq(back.arg, f.arg);
		ck_assert_str_eq(strtok(text, ":"), info->name);
	}
}
END_TEST

/* Past either bound, with no argument where one is needed, and with one
 * where none is taken: refused, with a message that says why. */
START_TEST(test_bounds_every_kind)
{
	const struct fault_kind_info *info = fault_kind_info((enum fault_kind)_i);
	struct fault f;
	char text[64], want[64];

	if (info->arg == NULL) {
		snprintf(text, sizeof(text), "%s:1", info->name);
		ck_assert(!fault_parse(text, strlen(text), &f, err, sizeof(err)));
		ck_assert_msg(strstr(err, "takes no ':' value") != NULL, "%s", err);
		return;
	}
	ck_assert(!fault_parse(info->name, strlen(info->name), &f, err, sizeof(err)));
	snprintf(want, sizeof(want), "needs %s, e.g. %s:%u", info->needs, info->name,
		 info->example);
	ck_assert_msg(strstr(err, want) != NULL, "%s", err);
	snprintf(want, sizeof(want), "from %u to %u", info->min, info->max);
	snprintf(text, sizeof(text), "%s:%u", info->name, info->max + 1);
	ck_assert(!fault_parse(text, strlen(text), &f, err, sizeof(err)));
	ck_assert_msg(strstr(err, want) != NULL, "%s", err);
	if (info->min > 0) {
		snprintf(text, sizeof(text), "%s:%u", info->name, info->min - 1);
		ck_assert(!fault_parse(text, strlen(text), &f, err, sizeof(err)));
		ck_assert_msg(strstr(err, want) != NULL, "%s", err);
	}
	snprintf(text, sizeof(text), "%s:x", info->name);
	ck_assert(!fault_parse(text, strlen(text), &f, err, sizeof(err)));
	ck_assert_msg(strstr(err, want) != NULL, "%s", err);
}
END_TEST

/* An unknown name: the message offers every kind, as written. */
START_TEST(test_unknown_names_every_kind)
{
	struct fault f;

	ck_assert(!fault_parse("slow", 4, &f, err, sizeof(err)));
	ck_assert_msg(strncmp(err, "unknown fault 'slow': one of ", 29) == 0, "%s", err);
	for (int k = FAULT_NONE + 1; k < FAULT_KINDS; k++) {
		const struct fault_kind_info *info = fault_kind_info((enum fault_kind)k);
		char want[64];

		snprintf(want, sizeof(want), " %s%s%s", info->name, info->arg != NULL ? ":" : "",
			 info->arg != NULL ? info->arg : "");
		ck_assert_msg(strstr(err, want) != NULL, "%s lacks%s", err, want);
	}
	/* A prefix or a longer name is no name. */
	ck_assert(!fault_parse("rese", 4, &f, err, sizeof(err)));
	ck_assert(!fault_parse("resets", 6, &f, err, sizeof(err)));
	ck_assert(!fault_parse("", 0, &f, err, sizeof(err)));
	/* The length counts, not the NUL. */
	ck_assert(fault_parse("closed", 5, &f, err, sizeof(err)));
	ck_assert_int_eq(f.kind, FAULT_CLOSE);
	ck_assert(fault_parse("none", 4, &f, err, sizeof(err)));
	ck_assert_int_eq(f.kind, FAULT_NONE);
}
END_TEST

/* The messages word for word, as they were before the table. */
static const struct {
	const char *text, *message;
} messages[] = {
	{"slow", "unknown fault 'slow': one of status:CODE, reset, close, hang, "
		 "drip:BPS, truncate"},
	{"status", "fault 'status': needs a code, e.g. status:503"},
	{"drip", "fault 'drip': needs bytes a second, e.g. drip:100"},
	{"reset:1", "fault 'reset:1': takes no ':' value"},
	{"status:600", "fault status: '600' is not a code from 400 to 599"},
	{"status:399", "fault status: '399' is not a code from 400 to 599"},
	{"drip:0", "fault drip: '0' is not a rate from 1 to 1000000 bytes a second"},
};

START_TEST(test_messages)
{
	struct fault f;

	ck_assert(!fault_parse(messages[_i].text, strlen(messages[_i].text), &f, err,
			       sizeof(err)));
	ck_assert_str_eq(err, messages[_i].message);
}
END_TEST

/* ---- mixes ------------------------------------------------------------- */

START_TEST(test_mix_round_trip)
{
	struct fault_mix m, back;
	char text[FAULT_MIX_TEXT_MAX], again[FAULT_MIX_TEXT_MAX];

	ck_assert_msg(fault_mix_parse("status:500=0.02,reset=0.01,hang=0.001,drip:50=0.5",
				      &m, err, sizeof(err)), "%s", err);
	ck_assert_uint_eq(m.n, 4);
	ck_assert_int_eq(m.fault[0].kind, FAULT_STATUS);
	ck_assert_uint_eq(m.fault[0].arg, 500);
	ck_assert_int_eq(m.fault[3].kind, FAULT_DRIP);
	ck_assert_uint_eq(m.fault[3].arg, 50);
	ck_assert(m.share[1] == 0.01);
	ck_assert_double_eq_tol(fault_mix_total(&m), 0.531, 1e-12);
	fault_mix_describe(&m, text, sizeof(text));
	ck_assert_str_eq(text, "status:500=0.02,reset=0.01,hang=0.001,drip:50=0.5");
	ck_assert(fault_mix_parse(text, &back, err, sizeof(err)));
	fault_mix_describe(&back, again, sizeof(again));
	ck_assert_str_eq(again, text);

	/* Every kind in one mix, at its largest argument. */
	memset(&m, 0, sizeof(m));
	for (int k = FAULT_NONE + 1; k < FAULT_KINDS; k++) {
		m.fault[m.n].kind = (enum fault_kind)k;
		m.fault[m.n].arg = fault_kind_info((enum fault_kind)k)->max;
		m.share[m.n++] = 0.125;
	}
	fault_mix_describe(&m, text, sizeof(text));
	ck_assert_msg(fault_mix_parse(text, &back, err, sizeof(err)), "%s: %s", text, err);
	ck_assert_uint_eq(back.n, m.n);
	for (unsigned i = 0; i < m.n; i++) {
		ck_assert_int_eq(back.fault[i].kind, m.fault[i].kind);
		ck_assert_uint_eq(back.fault[i].arg, m.fault[i].arg);
		ck_assert(back.share[i] == m.share[i]);
	}
}
END_TEST

START_TEST(test_mix_empty)
{
	struct fault_mix m;
	char text[FAULT_MIX_TEXT_MAX];

	ck_assert(fault_mix_parse("", &m, err, sizeof(err)));
	ck_assert_uint_eq(m.n, 0);
	ck_assert(fault_mix_parse("none", &m, err, sizeof(err)));
	ck_assert_uint_eq(m.n, 0);
	fault_mix_describe(&m, text, sizeof(text));
	ck_assert_str_eq(text, "none");
	ck_assert(fault_mix_total(&m) == 0);
	ck_assert_int_eq(fault_mix_pick(&m, 0, 0).kind, FAULT_NONE);
}
END_TEST

/* Each bad mix, and a word its message must contain. */
static const struct {
	const char *text, *word;
} bad_mixes[] = {
	{"reset", "expected FAULT=SHARE"},
	{"reset=0.1,close", "expected FAULT=SHARE"},
	{"slow=0.1", "unknown fault 'slow'"},
	{"status:200=0.1", "from 400 to 599"},
	{"none=0.1", "the share must be"},
	{"reset=", "the share must be"},
	{"reset=1.5", "the share must be"},
	{"reset=-0.1", "the share must be"},
	{"reset=0.6,close=0.6", "add up to 1.2"},
	{"reset=0.1,reset=0.1,reset=0.1,reset=0.1,reset=0.1,reset=0.1,reset=0.1,"
	 "reset=0.1,reset=0.1", "more than 8 faults"},
};

START_TEST(test_mix_errors)
{
	struct fault_mix m = {.n = 3};

	ck_assert_msg(!fault_mix_parse(bad_mixes[_i].text, &m, err, sizeof(err)), "%s",
		      bad_mixes[_i].text);
	ck_assert_msg(strstr(err, bad_mixes[_i].word) != NULL, "%s: %s", bad_mixes[_i].text,
		      err);
	ck_assert_uint_eq(m.n, 3); /* untouched */
}
END_TEST

/* Each fault takes its share of [0, 1) in order from the offset. */
START_TEST(test_mix_pick)
{
	struct fault_mix m;

	ck_assert(fault_mix_parse("reset=0.25,status:429=0.25", &m, err, sizeof(err)));
	ck_assert_int_eq(fault_mix_pick(&m, 0, 0).kind, FAULT_RESET);
	ck_assert_int_eq(fault_mix_pick(&m, 0, 0.2499).kind, FAULT_RESET);
	ck_assert_int_eq(fault_mix_pick(&m, 0, 0.25).kind, FAULT_STATUS);
	ck_assert_uint_eq(fault_mix_pick(&m, 0, 0.4999).arg, 429);
	ck_assert_int_eq(fault_mix_pick(&m, 0, 0.5).kind, FAULT_NONE);
	ck_assert_int_eq(fault_mix_pick(&m, 0, 0.9999).kind, FAULT_NONE);
	/* After someone else's 0.1 (the caller's, below it): */
	ck_assert_int_eq(fault_mix_pick(&m, 0.1, 0.3).kind, FAULT_RESET);
	ck_assert_int_eq(fault_mix_pick(&m, 0.1, 0.35).kind, FAULT_STATUS);
	ck_assert_int_eq(fault_mix_pick(&m, 0.1, 0.5999).kind, FAULT_STATUS);
	ck_assert_int_eq(fault_mix_pick(&m, 0.1, 0.6).kind, FAULT_NONE);
}
END_TEST

/* ---- the docs ------------------------------------------------------------ */

/* The part of `text` from `start` to the next `end` (or its end), in buf. */
static const char *section(const char *text, const char *start, const char *end,
			   char *buf, size_t len)
{
	const char *from = strstr(text, start), *to;

	ck_assert_msg(from != NULL, "no '%s'", start);
	from += strlen(start);
	to = strstr(from, end);
	if (to == NULL)
		to = from + strlen(from);
	ck_assert_uint_lt((size_t)(to - from), len);
	memcpy(buf, from, (size_t)(to - from));
	buf[to - from] = '\0';
	return buf;
}

/* How userd(8) writes a kind: ".It Cm status\&: Ns Ar code", ".It Cm reset". */
static void man_item(const struct fault_kind_info *info, char *buf, size_t len)
{
	snprintf(buf, len, "\n.It Cm %s%s", info->name, info->arg != NULL ? "\\&: Ns Ar " : "\n");
}

/* How the README writes one: "| `status:CODE` |", "| `reset` |". */
static void readme_row(const struct fault_kind_info *info, char *buf, size_t len)
{
	snprintf(buf, len, "\n| `%s%s%s` |", info->name, info->arg != NULL ? ":" : "",
		 info->arg != NULL ? info->arg : "");
}

/* Where the docs list the kinds, and how. */
static const struct {
	const char *file, *start, *end;
	void (*write)(const struct fault_kind_info *info, char *buf, size_t len);
} docs[] = {
	{"man/userd.8", "\n.Sh FAULTS\n", "\n.Sh ", man_item},
	{"README.md", "\n### Faults\n", "\n### ", readme_row},
};

/* Each page lists every kind of the table. */
START_TEST(test_docs_list_every_kind)
{
	static char text[1 << 17], part[1 << 14];
	char want[64];

	testutil_read_source(docs[_i].file, text, sizeof(text));
	section(text, docs[_i].start, docs[_i].end, part, sizeof(part));
	for (int k = FAULT_NONE + 1; k < FAULT_KINDS; k++) {
		const struct fault_kind_info *info = fault_kind_info((enum fault_kind)k);

		docs[_i].write(info, want, sizeof(want));
		ck_assert_msg(strstr(part, want) != NULL, "%s lacks %s", docs[_i].file, want + 1);
	}
}
END_TEST

/* --help of --faults lists the kinds of the table, in its order, each
 * with an argument (any name) where the table has one. */
START_TEST(test_help_lists_every_kind)
{
	char *help = NULL, entry[1024], text[1024], *item, *save = NULL;
	size_t len = 0, at = 0;
	FILE *out = open_memstream(&help, &len);
	int k = FAULT_NONE + 1;

	ck_assert_ptr_nonnull(out);
	config_usage(out);
	fclose(out);
	/* The --faults entry (up to the next option's line), unwrapped. */
	section(help, "--faults MIX", "\n      --", entry, sizeof(entry));
	for (size_t i = 0; entry[i] != '\0'; i++) {
		entry[at++] = entry[i] == '\n' ? ' ' : entry[i];
		if (entry[i] == '\n')
			while (entry[i + 1] == ' ')
				i++;
	}
	entry[at] = '\0';
	section(entry, "with FAULT one of ", " (e.g.", text, sizeof(text));
	for (item = strtok_r(text, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
		const struct fault_kind_info *info;
		char *colon;

		while (*item == ' ')
			item++;
		ck_assert_msg(k < FAULT_KINDS, "--help lists '%s', not in the table", item);
		info = fault_kind_info((enum fault_kind)k++);
		colon = strchr(item, ':');
		if (colon != NULL)
			*colon = '\0';
		ck_assert_str_eq(item, info->name);
		ck_assert_msg((colon != NULL) == (info->arg != NULL), "%s: argument", item);
		for (const char *p = colon != NULL ? colon + 1 : ""; *p != '\0'; p++)
			ck_assert(isupper((unsigned char)*p) || *p == '_');
	}
	ck_assert_msg(k == FAULT_KINDS, "--help lacks %s", fault_kind_name((enum fault_kind)k));
	free(help);
}
END_TEST

static Suite *fault_suite(void)
{
	Suite *s = suite_create("fault");
	TCase *table = tcase_create("table");
	TCase *text = tcase_create("text");
	TCase *mix = tcase_create("mix");
	TCase *doc = tcase_create("docs");

	tcase_add_test(table, test_every_row_is_complete);
	tcase_add_test(table, test_answer_or_transport);
	suite_add_tcase(s, table);
	tcase_add_loop_test(text, test_round_trip_every_kind, 0, FAULT_KINDS);
	tcase_add_loop_test(text, test_bounds_every_kind, FAULT_NONE + 1, FAULT_KINDS);
	tcase_add_test(text, test_unknown_names_every_kind);
	tcase_add_loop_test(text, test_messages, 0, (int)(sizeof(messages) / sizeof(messages[0])));
	suite_add_tcase(s, text);
	tcase_add_test(mix, test_mix_round_trip);
	tcase_add_test(mix, test_mix_empty);
	tcase_add_loop_test(mix, test_mix_errors, 0,
			    (int)(sizeof(bad_mixes) / sizeof(bad_mixes[0])));
	tcase_add_test(mix, test_mix_pick);
	suite_add_tcase(s, mix);
	tcase_add_loop_test(doc, test_docs_list_every_kind, 0,
			    (int)(sizeof(docs) / sizeof(docs[0])));
	tcase_add_test(doc, test_help_lists_every_kind);
	suite_add_tcase(s, doc);
	return s;
}

int main(void)
{
	return testutil_run(fault_suite());
}
