/* testutil.h - shared bits of the Check runners. */
#ifndef USERD_TESTUTIL_H
#define USERD_TESTUTIL_H

#include <check.h>

/* Run every test of `s` (which it frees) and return the process exit
 * status: EXIT_SUCCESS when all passed. */
int testutil_run(Suite *s);

#endif
