/* fit.h - userd --fit FILE: read response times and print the delay
 * models that reproduce them.
 *
 * The formats, told apart line by line: plain numbers (milliseconds);
 * JSON lines with a duration field (duration_ms, latency_ms, elapsed_ms,
 * response_time_ms in ms; request_time, duration_seconds, duration_s in
 * seconds; duration_us in microseconds; a number or a numeric string);
 * an access log line (one with a '"'), whose last field is nginx's
 * $request_time (seconds, with a point) or Apache's %D (microseconds, an
 * integer).  A file with NAME_bucket{...} lines is a Prometheus scrape,
 * read as histogram:FILE (FILE:SERIES picks one of several).
 */
#ifndef USERD_FIT_H
#define USERD_FIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Read the response times in the file at `path` and write to `out` the
 * quantiles: spec that reproduces them and its Kolmogorov-Smirnov
 * distance to the data, then the lognormal: spec when it fits (its KS
 * distance below the 1 % critical value), or a comment saying that it
 * does not.  Returns true, or false with "FILE:LINE: ..." or "FILE: ..."
 * in err and nothing written. */
bool fit_file(const char *path, FILE *out, char *err, size_t errlen);

#endif
