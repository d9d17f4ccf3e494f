/* fuzz_query - libFuzzer harness for the query values a client sends:
 * request_parse_ids(), request_parse_delay() and request_parse_flag().
 *
 * Input: one selector byte, then the value.  selector % 3 picks the parser;
 * selector / 3 picks its limit and the size of the error buffer.  The value
 * is copied into a buffer of exactly its size (no NUL) and the output
 * arrays are exactly `max` long, so any overrun is an ASan report. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "request.h"
#include "user.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const size_t id_max[] = {1, 2, 100, CONFIG_MAX_BATCH};
static const uint32_t delay_max[] = {0, 1, 2000, 60000, 3600000, UINT32_MAX};
static const size_t err_len[] = {128, 1, 16, 40};

/* The error message must be a NUL-terminated string within err. */
static void check_err(const char *err, size_t len)
{
	if (memchr(err, '\0', len) == NULL)
		abort();
}

static void fuzz_ids(const char *text, size_t len, unsigned sel)
{
	size_t max = id_max[sel % 4];
	size_t elen = err_len[(sel / 4) % 4];
	uint64_t *out = malloc(max * sizeof(*out));
	char *err = malloc(elen);
	size_t n, commas = 0;

	if (out == NULL || err == NULL)
		abort();
	memset(err, 'x', elen);
	err[elen - 1] = '\0';
	n = request_parse_ids(text, len, out, max, err, elen);
	for (size_t i = 0; i < len; i++)
		commas += text[i] == ',';
	if (n > max || (n != 0 && n != commas + 1))
		abort();
	for (size_t i = 0; i < n; i++)
		if (out[i] > USER_ID_MAX)
			abort();
	if (n == 0)
		check_err(err, elen);
	free(out);
	free(err);
}

static void fuzz_delay(const char *text, size_t len, unsigned sel)
{
	uint32_t max = delay_max[sel % 6];
	size_t elen = err_len[(sel / 6) % 4];
	char *err = malloc(elen);
	uint32_t ms = 12345;
	uint64_t ref = 0;
	bool ok, want = len > 0;

	if (err == NULL)
		abort();
	memset(err, 'x', elen);
	err[elen - 1] = '\0';
	ok = request_parse_delay(text, len, max, &ms, err, elen);
	/* Reference: decimal digits only, value <= max (saturating). */
	for (size_t i = 0; i < len && want; i++) {
		want = text[i] >= '0' && text[i] <= '9';
		if (ref <= UINT32_MAX)
			ref = ref * 10 + (uint64_t)(text[i] - '0');
	}
	want = want && ref <= max;
	if (ok != want || (ok && ms != ref))
		abort();
	if (!ok)
		check_err(err, elen);
	free(err);
}

static void fuzz_flag(const char *text, size_t len, unsigned sel)
{
	size_t elen = err_len[sel % 4];
	char *err = malloc(elen);
	bool on = false, ok;
	bool t = (len == 1 && text[0] == '1') || (len == 4 && memcmp(text, "true", 4) == 0);
	bool f = (len == 1 && text[0] == '0') || (len == 5 && memcmp(text, "false", 5) == 0);

	if (err == NULL)
		abort();
	memset(err, 'x', elen);
	err[elen - 1] = '\0';
	ok = request_parse_flag("fail", text, len, &on, err, elen);
	if (ok != (t || f) || (ok && on != t))
		abort();
	if (!ok)
		check_err(err, elen);
	free(err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned sel;
	char *text;
	size_t len;

	if (size == 0)
		return 0;
	sel = data[0];
	len = size - 1;
	/* Exactly len bytes (malloc(0) may be NULL: use 1 then). */
	text = malloc(len > 0 ? len : 1);
	if (text == NULL)
		abort();
	memcpy(text, data + 1, len);
	switch (sel % 3) {
	case 0:
		fuzz_ids(text, len, sel / 3);
		break;
	case 1:
		fuzz_delay(text, len, sel / 3);
		break;
	default:
		fuzz_flag(text, len, sel / 3);
		break;
	}
	free(text);
	return 0;
}
