/*
 * wakelat.c - how late a plain sleeper wakes, on this core, right now.
 *
 *   wakelat PERIOD_US SECONDS
 *
 * Sleeps with clock_nanosleep to absolute CLOCK_MONOTONIC deadlines
 * PERIOD_US apart (userd's timer thread waits to absolute deadlines on the
 * same clock, with pthread_cond_timedwait) for SECONDS and prints, in
 * milliseconds, how late it woke:
 *
 *   n=N p50=X p99=X p99.9=X max=X
 *
 * bench/run (scenario "floor") pins it to the server's core while a server
 * holds its load: what it measures is the floor under any server's timer
 * lateness there (scheduling and wake-up latency of the machine), since
 * it does nothing but wake.  Standard C and POSIX only.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	unsigned long period_us, seconds;
	uint64_t *late, deadline;
	size_t n, i;

	if (argc != 3 || (period_us = strtoul(argv[1], NULL, 10)) == 0 ||
	    (seconds = strtoul(argv[2], NULL, 10)) == 0) {
		fprintf(stderr, "usage: wakelat PERIOD_US SECONDS\n");
		return 2;
	}
	n = (size_t)(seconds * 1000000u / period_us);
	if (n == 0 || (late = malloc(n * sizeof(*late))) == NULL) {
		fprintf(stderr, "wakelat: nothing to measure or out of memory\n");
		return 1;
	}
	deadline = now_ns();
	for (i = 0; i < n; i++) {
		struct timespec ts;

		deadline += (uint64_t)period_us * 1000u;
		ts.tv_sec = (time_t)(deadline / 1000000000u);
		ts.tv_nsec = (long)(deadline % 1000000000u);
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			; /* interrupted: sleep on to the same deadline */
		late[i] = now_ns() - deadline;
	}
	qsort(late, n, sizeof(*late), cmp_u64);
	printf("n=%zu p50=%.3f p99=%.3f p99.9=%.3f max=%.3f\n", n, late[n / 2] / 1e6,
	       late[n * 99 / 100] / 1e6, late[n * 999 / 1000] / 1e6, late[n - 1] / 1e6);
	free(late);
	return 0;
}
