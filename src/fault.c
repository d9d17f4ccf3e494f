/* fault.c - fault kinds and mixes; see fault.h. */
#include "fault.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decimal.h"

static const char *const kind_names[FAULT_KINDS] = {
	[FAULT_NONE] = "none",
	[FAULT_STATUS] = "status",
	[FAULT_RESET] = "reset",
	[FAULT_CLOSE] = "close",
	[FAULT_HANG] = "hang",
	[FAULT_DRIP] = "drip",
	[FAULT_TRUNCATE] = "truncate",
};

const char *fault_kind_name(enum fault_kind kind)
{
	return (unsigned)kind < FAULT_KINDS ? kind_names[kind] : "none";
}

bool fault_parse(const char *text, size_t len, struct fault *out, char *err,
		 size_t errlen)
{
	const char *colon = memchr(text, ':', len);
	size_t name_len = colon != NULL ? (size_t)(colon - text) : len;
	const char *arg = colon != NULL ? colon + 1 : NULL;
	size_t arg_len = colon != NULL ? len - name_len - 1 : 0;
	uint64_t v = 0;

	for (int k = 0; k < FAULT_KINDS; k++) {
		bool takes_arg = k == FAULT_STATUS || k == FAULT_DRIP;

		if (strlen(kind_names[k]) != name_len ||
		    memcmp(text, kind_names[k], name_len) != 0)
			continue;
		if (takes_arg != (arg != NULL)) {
			snprintf(err, errlen, "fault '%.*s': %s", (int)(len < 40 ? len : 40),
				 text, takes_arg ? (k == FAULT_STATUS
						    ? "needs a code, e.g. status:503"
						    : "needs bytes a second, e.g. drip:100")
						 : "takes no ':' value");
			return false;
		}
		if (k == FAULT_STATUS &&
		    (decimal_parse(arg, arg_len, 599, &v) != DECIMAL_OK || v < 400)) {
			snprintf(err, errlen, "fault status: '%.*s' is not a code from 400 to 599",
				 (int)(arg_len < 20 ? arg_len : 20), arg);
			return false;
		}
		if (k == FAULT_DRIP &&
		    (decimal_parse(arg, arg_len, FAULT_DRIP_MAX_BPS, &v) != DECIMAL_OK ||
		     v == 0)) {
			snprintf(err, errlen, "fault drip: '%.*s' is not a rate from 1 to %u "
				 "bytes a second", (int)(arg_len < 20 ? arg_len : 20), arg,
				 FAULT_DRIP_MAX_BPS);
			return false;
		}
		out->kind = (enum fault_kind)k;
		out->arg = (unsigned)v;
		return true;
	}
	snprintf(err, errlen, "unknown fault '%.*s': one of status:CODE, reset, close, "
		 "hang, drip:BPS, truncate", (int)(len < 40 ? len : 40), text);
	return false;
}

void fault_describe(const struct fault *f, char *buf, size_t len)
{
	if (f->kind == FAULT_STATUS || f->kind == FAULT_DRIP)
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
