/* fault.c - fault kinds and mixes; see fault.h. */
#include "fault.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decimal.h"
#include "util.h"

/* The table: one row per kind, which everything about a kind reads
 * (parsing, messages, describing, metric labels; tests check the docs
 * and --help against it). */
static const struct fault_kind_info kinds[] = {
	[FAULT_NONE] = {.name = "none", .class = FAULT_CLASS_NONE},
	/* An answer with that 4xx/5xx status and the JSON error body. */
	[FAULT_STATUS] = {.name = "status", .class = FAULT_CLASS_ANSWER,
			  .arg = "CODE", .min = 400, .max = 599, .example = 503,
			  .needs = "a code", .noun = "a code", .unit = ""},
	/* The connection reset (TCP RST): curl error 56. */
	[FAULT_RESET] = {.name = "reset", .class = FAULT_CLASS_TRANSPORT},
	/* The connection closed with no answer: curl error 52. */
	[FAULT_CLOSE] = {.name = "close", .class = FAULT_CLASS_TRANSPORT},
	/* No answer at all; the connection is held, costing no CPU, until
	 * the client leaves or --hang-timeout passes. */
	[FAULT_HANG] = {.name = "hang", .class = FAULT_CLASS_TRANSPORT},
	/* The headers, then the body at BPS bytes a second. */
	[FAULT_DRIP] = {.name = "drip", .class = FAULT_CLASS_TRANSPORT,
			.arg = "BPS", .min = 1, .max = FAULT_DRIP_MAX_BPS, .example = 100,
			.needs = "bytes a second", .noun = "a rate",
			.unit = " bytes a second"},
	/* A Content-Length larger than the body sent, then close. */
	[FAULT_TRUNCATE] = {.name = "truncate", .class = FAULT_CLASS_TRANSPORT},
};

/* A kind without a row is a compile error when it is the last one, and
 * fails check_fault's test of complete rows anywhere else. */
_Static_assert(countof(kinds) == FAULT_KINDS, "one row per fault kind");

const struct fault_kind_info *fault_kind_info(enum fault_kind kind)
{
	assert((unsigned)kind < FAULT_KINDS && kinds[kind].name != NULL);
	return &kinds[kind];
}

/* These two are asked of every request: a look in the table, no more. */
bool fault_is_answer(enum fault_kind kind)
{
	return (unsigned)kind < FAULT_KINDS && kinds[kind].class == FAULT_CLASS_ANSWER;
}

bool fault_is_transport(enum fault_kind kind)
{
	return (unsigned)kind < FAULT_KINDS && kinds[kind].class == FAULT_CLASS_TRANSPORT;
}

const char *fault_kind_name(enum fault_kind kind)
{
	return (unsigned)kind < FAULT_KINDS ? fault_kind_info(kind)->name : "none";
}

/* Every kind as written ("status:CODE, reset, ..."), for messages. */
static void list_kinds(char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int k = FAULT_NONE + 1; k < FAULT_KINDS && used < len; k++) {
		const struct fault_kind_info *info = fault_kind_info((enum fault_kind)k);
		int n = snprintf(buf + used, len - used, "%s%s%s%s", used > 0 ? ", " : "",
				 info->name, info->arg != NULL ? ":" : "",
				 info->arg != NULL ? info->arg : "");

		if (n < 0)
			break;
		used += (size_t)n;
	}
}

bool fault_parse(const char *text, size_t len, struct fault *out, char *err,
		 size_t errlen)
{
	const char *colon = memchr(text, ':', len);
	size_t name_len = colon != NULL ? (size_t)(colon - text) : len;
	const char *arg = colon != NULL ? colon + 1 : NULL;
	size_t arg_len = colon != NULL ? len - name_len - 1 : 0;
	char names[128];
	uint64_t v = 0;

	for (int k = 0; k < FAULT_KINDS; k++) {
		const struct fault_kind_info *info = fault_kind_info((enum fault_kind)k);

		if (strlen(info->name) != name_len || memcmp(text, info->name, name_len) != 0)
			continue;
		if ((info->arg != NULL) != (arg != NULL)) {
			if (info->arg != NULL)
				snprintf(err, errlen, "fault '%.*s': needs %s, e.g. %s:%u",
					 (int)(len < 40 ? len : 40), text, info->needs,
					 info->name, info->example);
			else
				snprintf(err, errlen, "fault '%.*s': takes no ':' value",
					 (int)(len < 40 ? len : 40), text);
			return false;
		}
		if (arg != NULL &&
		    (decimal_parse(arg, arg_len, info->max, &v) != DECIMAL_OK || v < info->min)) {
			snprintf(err, errlen, "fault %s: '%.*s' is not %s from %u to %u%s",
				 info->name, (int)(arg_len < 20 ? arg_len : 20), arg,
				 info->noun, info->min, info->max, info->unit);
			return false;
		}
		out->kind = (enum fault_kind)k;
		out->arg = (unsigned)v;
		return true;
	}
	list_kinds(names, sizeof(names));
	snprintf(err, errlen, "unknown fault '%.*s': one of %s",
		 (int)(len < 40 ? len : 40), text, names);
	return false;
}

void fault_describe(const struct fault *f, char *buf, size_t len)
{
	if (fault_kind_info(f->kind)->arg != NULL)
		snprintf(buf, len, "%s:%u", fault_kind_name(f->kind), f->arg);
	else
		snprintf(buf, len, "%s", fault_kind_name(f->kind));
}

bool fault_mix_parse(const char *text, struct fault_mix *out, char *err,
		     size_t errlen)
{
	struct fault_mix m = {.n = 0};
	const char *p = text;
	double total = 0;

	if (*text == '\0' || strcmp(text, "none") == 0) {
		*out = m;
		return true;
	}
	while (*p != '\0') {
		size_t item = strcspn(p, ",");
		const char *eq = memchr(p, '=', item);
		char msg[160];

		if (eq == NULL) {
			snprintf(err, errlen, "'%.*s': expected FAULT=SHARE, e.g. reset=0.01",
				 (int)(item < 40 ? item : 40), p);
			return false;
		}
		if (m.n == FAULT_MIX_MAX) {
			snprintf(err, errlen, "more than %d faults", FAULT_MIX_MAX);
			return false;
		}
		if (!fault_parse(p, (size_t)(eq - p), &m.fault[m.n], msg, sizeof(msg))) {
			snprintf(err, errlen, "%s", msg);
			return false;
		}
		if (m.fault[m.n].kind == FAULT_NONE ||
		    !decimal_share(eq + 1, item - (size_t)(eq - p) - 1, &m.share[m.n])) {
			snprintf(err, errlen, "'%.*s': the share must be a number from 0 to 1",
				 (int)(item < 40 ? item : 40), p);
			return false;
		}
		total += m.share[m.n++];
		p += item;
		if (*p == ',')
			p++;
	}
	if (total > 1.0 + 1e-9) {
		snprintf(err, errlen, "the shares add up to %g, more than 1", total);
		return false;
	}
	*out = m;
	return true;
}

void fault_mix_describe(const struct fault_mix *m, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	if (m->n == 0)
		snprintf(buf, len, "none");
	for (unsigned i = 0; i < m->n && used < len; i++) {
		char f[FAULT_TEXT_MAX], share[DECIMAL_SHARE_MAX + 1];
		int n;

		fault_describe(&m->fault[i], f, sizeof(f));
		decimal_share_format(m->share[i], share, sizeof(share));
		n = snprintf(buf + used, len - used, "%s%s=%s", i > 0 ? "," : "", f, share);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

double fault_mix_total(const struct fault_mix *m)
{
	double total = 0;

	for (unsigned i = 0; i < m->n; i++)
		total += m->share[i];
	return total;
}

struct fault fault_mix_pick(const struct fault_mix *m, double offset, double u)
{
	struct fault none = {.kind = FAULT_NONE};
	double edge = offset;

	for (unsigned i = 0; i < m->n; i++) {
		edge += m->share[i];
		if (u < edge)
			return m->fault[i];
	}
	return none;
}
