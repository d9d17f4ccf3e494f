/* testutil.h - shared bits of the Check runners. */
#ifndef USERD_TESTUTIL_H
#define USERD_TESTUTIL_H

#include <check.h>

/* Run every test of `s` (which it frees) and return the process exit
 * status: EXIT_SUCCESS when all passed. */
int testutil_run(Suite *s);

/* Write `text` to the file at `path`; when path is "" first make one
 * under /tmp (mkstemp) and write its name there (path has room for 64
 * bytes).  Asserts (Check) that it worked. */
void testutil_write_temp(char *path, const char *text);

#endif
