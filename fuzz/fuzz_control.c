/* fuzz_control - libFuzzer harness for what the control API parses: the
 * first byte picks control_patch() (a JSON object on top of the default
 * settings), control_parse_rules() (a JSON list) or rules_add() (one rule
 * line, as --rule and the config file give it); the rest is the input.
 * Whatever is accepted must be consistent, and everything freed
 * (LeakSanitizer checks). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "control.h"
#include "rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data + 1;
	size_t len = size - 1;
	struct config cfg;
	struct run_settings out;
	struct rules *rules = NULL;
	json_t *errors = NULL;
	char err[256], *line;

	if (size < 1)
		return 0;
	config_defaults(&cfg);
	switch (data[0] % 3) {
	case 0:
		if (control_patch(body, len, &cfg.run, &out, &errors)) {
			cfg.run = out;
			if (errors != NULL || !config_check(&cfg, err, sizeof(err)))
				abort(); /* accepted means consistent */
			json_decref(control_config_json(&out));
		} else if (errors == NULL) {
			abort(); /* a refusal says why */
		}
		break;
	case 1:
		if (control_parse_rules(body, len, &rules, &errors)) {
			if (errors != NULL)
				abort();
			for (size_t i = 0; i < rules_count(rules); i++)
				(void)rules_match(rules, RULES_ROUTE_USER, i);
			json_decref(control_rules_json(rules, 0));
		} else if (errors == NULL || rules != NULL) {
			abort();
		}
		break;
	default:
		line = malloc(len + 1);
		rules = rules_create();
		if (line != NULL && rules != NULL) {
			memcpy(line, body, len);
			line[len] = '\0';
			if (rules_add(rules, line, err, sizeof(err)) != (rules_count(rules) == 1))
				abort();
		}
		free(line);
		break;
	}
	json_decref(errors);
	rules_unref(rules);
	config_free(&cfg);
	return 0;
}
