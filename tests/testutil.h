/* testutil.h - shared bits of the Check runners. */
#ifndef USERD_TESTUTIL_H
#define USERD_TESTUTIL_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

/* Run every test of `s` (which it frees) and return the process exit
 * status: EXIT_SUCCESS when all passed. */
int testutil_run(Suite *s);

/* Write `text` to the file at `path`; when path is "" first make one
 * under /tmp (mkstemp) and write its name there (path has room for 64
 * bytes).  Asserts (Check) that it worked. */
void testutil_write_temp(char *path, const char *text);

/* Read the source tree's file `rel` ("man/userd.8", under $srcdir, or
 * "." without it) into buf (len bytes), NUL-ended.  Asserts (Check) that
 * it could be read and fits. */
void testutil_read_source(const char *rel, char *buf, size_t len);

/* The Kolmogorov-Smirnov distance between the sample x[0..n) (n > 0;
 * sorted here, in place) and the continuous uniform distribution on
 * [a, b] (a < b), whose CDF is F(x) = (x - a) / (b - a): the largest gap
 * between the sample's step function and F.  Compare it with
 * c / sqrt(n): c = 1.628 at the 1% level (large n). */
double testutil_ks_uniform(uint64_t *x, size_t n, double a, double b);

struct delay_model;

/* The Kolmogorov-Smirnov distance between the n draws x (delays in whole
 * microseconds, rounded down; sorted here, in place) and m's CDF, cap
 * included: the largest gap between the draws' step function and the
 * CDF, just below and at each value drawn, P(draw <= v) = P(X < v + 1).
 * Where the CDF steps (a fixed delay, the cap) the test is
 * conservative. */
double testutil_ks_model(const struct delay_model *m, uint64_t *x, size_t n);

/* Make the source tree the working directory ($srcdir, which automake's
 * test driver sets; nothing when it is unset), so that paths relative to
 * the top of the tree, such as the delay models' example files
 * (docs/examples/), resolve from a build directory of its own too (make
 * distcheck).  Call it first in main(), in a runner that does not use
 * testutil_read_source(). */
void testutil_chdir_srcdir(void);

#endif
