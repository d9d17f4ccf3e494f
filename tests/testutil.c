/* testutil.c - shared bits of the Check runners; see testutil.h. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <stdlib.h>

int testutil_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

void testutil_write_temp(char *path, const char *text)
{
	FILE *f;

	if (path[0] == '\0') {
		int fd;

		snprintf(path, 64, "/tmp/userd-test-XXXXXX");
		fd = mkstemp(path);
		ck_assert_int_ge(fd, 0);
		close(fd);
	}
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}
