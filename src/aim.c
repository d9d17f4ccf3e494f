/* aim.c - the lead of a deadline's timer; see aim.h. */
#include "aim.h"

#include <assert.h>
#include <stdatomic.h>

void aim_init(struct aim *a)
{
	atomic_init(&a->scaled_mean_ns, 0);
}

void aim_observe(struct aim *a, uint64_t late_ns)
{
	uint64_t old = atomic_load_explicit(&a->scaled_mean_ns, memory_order_relaxed);
	uint64_t x = late_ns;

	if (x > AIM_OBSERVE_MAX_NS)
		return;
	/* s = W * mean; mean' = mean + (x - mean) / W, so s' = s - s / W + x.
	 * No overflow: s stays below W * AIM_OBSERVE_MAX_NS. */
	while (!atomic_compare_exchange_weak_explicit(&a->scaled_mean_ns, &old,
						      old - old / AIM_WEIGHT + x,
						      memory_order_relaxed,
						      memory_order_relaxed))
		;
}

uint64_t aim_lead_ns(const struct aim *a)
{
	uint64_t mean = atomic_load_explicit(&a->scaled_mean_ns,
					     memory_order_relaxed) / AIM_WEIGHT;

	return mean < AIM_LEAD_MAX_NS ? mean : AIM_LEAD_MAX_NS;
}

uint64_t aim_at(const struct aim *a, uint64_t earliest_ns, uint64_t deadline_ns)
{
	uint64_t lead = aim_lead_ns(a);

	assert(earliest_ns <= deadline_ns);
	return deadline_ns - earliest_ns > lead ? deadline_ns - lead : earliest_ns;
}
