/* settings.c - immutable, counted snapshots of the run-time settings;
 * see settings.h. */
#include "settings.h"

#include <stdlib.h>

struct settings *settings_create(const struct run_settings *run, struct rules *rules)
{
	struct settings *s = malloc(sizeof(*s));

	if (s == NULL)
		return NULL;
	s->run = *run;
	delay_model_ref(&s->run.delay);
	s->rules = rules_ref(rules);
	atomic_init(&s->refs, 1);
	return s;
}

struct settings *settings_ref(struct settings *s)
{
	if (s != NULL)
		atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	return s;
}

void settings_unref(struct settings *s)
{
	if (s == NULL || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
		return;
	rules_unref(s->rules);
	delay_model_unref(&s->run.delay);
	free(s);
}
