/* request.c - parsers of client input; see request.h. */
#include "request.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "decimal.h"
#include "user.h"

static bool equals(const char *s, size_t len, const char *lit)
{
	return strlen(lit) == len && memcmp(s, lit, len) == 0;
}

/* Quote at most 32 bytes of client text for a message, non-printable
 * bytes as '?', so messages stay short and clean. */
static void quote(const char *s, size_t len, char *buf, size_t buflen)
{
	size_t n = 0;

	for (size_t i = 0; i < len && i < 32 && n + 2 < buflen; i++) {
		unsigned char c = (unsigned char)s[i];

		buf[n++] = c >= 0x20 && c < 0x7f && c != '"' && c != '\\' ? (char)c : '?';
	}
	if (len > 32 && n + 4 < buflen) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
}

size_t request_parse_ids(const char *text, size_t len, uint64_t *out,
			 size_t max, char *err, size_t errlen)
{
	size_t count = 0;
	size_t start = 0;
	char shown[40];

	if (len == 0) {
		snprintf(err, errlen, "ids: the list is empty");
		return 0;
	}
	for (size_t i = 0; i <= len; i++) {
		if (i < len && text[i] != ',')
			continue;
		if (count == max) {
			snprintf(err, errlen, "ids: at most %zu ids per request", max);
			return 0;
		}
		if (!user_parse_id(text + start, i - start, &out[count])) {
			if (i == start) {
				snprintf(err, errlen, "ids: empty item at position %zu",
					 count + 1);
			} else {
				quote(text + start, i - start, shown, sizeof(shown));
				snprintf(err, errlen, "ids: '%s' is not a valid user id",
					 shown);
			}
			return 0;
		}
		count++;
		start = i + 1;
	}
	return count;
}

bool request_parse_delay(const char *text, size_t len, uint32_t max_ms,
			 uint32_t *ms, char *err, size_t errlen)
{
	char shown[40];
	uint64_t v;

	switch (decimal_parse(text, len, max_ms, &v)) {
	case DECIMAL_OK:
		*ms = (uint32_t)v;
		return true;
	case DECIMAL_TOO_BIG:
		snprintf(err, errlen, "delay: at most %u ms", max_ms);
		return false;
	case DECIMAL_INVALID:
		break;
	}
	quote(text, len, shown, sizeof(shown));
	snprintf(err, errlen, "delay: '%s' is not a number of milliseconds", shown);
	return false;
}

bool request_parse_flag(const char *name, const char *text, size_t len,
			bool *on, char *err, size_t errlen)
{
	char shown[40];

	if (equals(text, len, "1") || equals(text, len, "true")) {
		*on = true;
		return true;
	}
	if (equals(text, len, "0") || equals(text, len, "false")) {
		*on = false;
		return true;
	}
	quote(text, len, shown, sizeof(shown));
	snprintf(err, errlen, "%s: '%s' is not 1, 0, true or false", name, shown);
	return false;
}

/* ---- framing ------------------------------------------------------------ */

static bool is_token(const char *s, size_t len, const char *word)
{
	return len == strlen(word) && strncasecmp(s, word, len) == 0;
}

/* One Transfer-Encoding line: a comma-separated list of codings. */
static void scan_codings(struct request_framing *f, const char *v)
{
	while (*v != '\0') {
		size_t len;

		while (*v == ' ' || *v == '\t' || *v == ',')
			v++;
		len = strcspn(v, ",;");
		while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
			len--;
		if (len > 0) {
			if (f->te_chunked_last)
				f->te_misplaced = true;
			f->te_chunked_last = is_token(v, len, "chunked");
			f->te_other |= !f->te_chunked_last;
		}
		v += strcspn(v, ",");
	}
}

void request_framing_header(struct request_framing *f, const char *name,
			    const char *value)
{
	if (value == NULL)
		value = "";
	if (strcasecmp(name, "Host") == 0) {
		f->hosts++;
	} else if (strcasecmp(name, "Content-Length") == 0) {
		size_t digits = strspn(value, "0123456789");

		if (digits == 0 || value[digits] != '\0' || digits >= sizeof(f->length) ||
		    (f->has_length && strcmp(value, f->length) != 0))
			f->bad_length = true;
		f->has_length = true;
		snprintf(f->length, sizeof(f->length), "%s", value);
	} else if (strcasecmp(name, "Transfer-Encoding") == 0) {
		f->te_lines++;
		f->te_chunked_only = f->te_lines == 1 && strcasecmp(value, "chunked") == 0;
		scan_codings(f, value);
	}
}

const char *request_framing_error(const struct request_framing *f, bool http10,
				  unsigned *status)
{
	*status = 400;
	if (f->bad_length)
		return "invalid or conflicting Content-Length";
	if (f->te_lines > 0) {
		if (f->has_length)
			return "Transfer-Encoding together with Content-Length";
		if (http10)
			return "Transfer-Encoding in an HTTP/1.0 request";
		if (!f->te_chunked_only && f->te_other && f->te_chunked_last &&
		    !f->te_misplaced) {
			*status = 501;
			return "transfer coding not implemented: only chunked is";
		}
		if (!f->te_chunked_only)
			return "Transfer-Encoding must be exactly 'chunked'";
	}
	if (f->hosts > 1)
		return "more than one Host header";
	if (f->hosts == 0 && !http10)
		return "Host header required";
	return NULL;
}
