/* render.c - JSON rendering with jansson; see render.h. */
#include "render.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

/* Object keys in insertion order (always so since jansson 2.14). */
#define DUMP_FLAGS JSON_PRESERVE_ORDER

/* Dump `json` into buf and release it.  0 when it does not fit. */
static size_t dump(json_t *json, char *buf, size_t size)
{
	size_t len;

	if (json == NULL)
		return 0;
	len = json_dumpb(json, buf, size, DUMP_FLAGS);
	json_decref(json);
	if (len == 0 || len >= size)
		return 0;
	buf[len] = '\0';
	return len;
}

/* The JSON object for one record, or NULL. */
static json_t *user_object(const struct user *u)
{
	char name[32];

	snprintf(name, sizeof(name), "User%" PRIu64, u->id);
	return json_pack("{s:I, s:s, s:i}", "user_id", (json_int_t)u->id,
			 "name", name, "age", (int)u->age);
}

size_t render_user(const struct user *u, char *buf, size_t size)
{
	return dump(user_object(u), buf, size);
}

char *render_users(const struct user *users, size_t n, size_t *len)
{
	json_t *array = json_array();
	char *text;

	if (array == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (json_array_append_new(array, user_object(&users[i])) != 0) {
			json_decref(array);
			return NULL;
		}
	}
	text = json_dumps(array, DUMP_FLAGS);
	json_decref(array);
	if (text != NULL)
		*len = strlen(text);
	return text;
}

size_t render_status(const char *status, char *buf, size_t size)
{
	return dump(json_pack("{s:s}", "status", status), buf, size);
}

size_t render_error(unsigned status, const char *message, char *buf,
		    size_t size)
{
	return dump(json_pack("{s:s, s:i}", "error", message, "status",
			      (int)status),
		    buf, size);
}

const char *render_library_version(void)
{
	return jansson_version_str();
}
