/* testutil.c - shared bits of the Check runners; see testutil.h. */
#include "testutil.h"
#include "delay.h"

#include <math.h>

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

void testutil_read_source(const char *rel, char *buf, size_t len)
{
	const char *srcdir = getenv("srcdir");
	char file[512];
	size_t n;
	FILE *f;

	snprintf(file, sizeof(file), "%s/%s", srcdir != NULL ? srcdir : ".", rel);
	f = fopen(file, "r");
	ck_assert_msg(f != NULL, "cannot open %s", file);
	n = fread(buf, 1, len - 1, f);
	ck_assert_msg(n < len - 1 || fgetc(f) == EOF, "%s: more than %zu bytes", file, len - 1);
	buf[n] = '\0';
	fclose(f);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

double testutil_ks_model(const struct delay_model *m, uint64_t *x, size_t n)
{
	double d = 0;
	size_t j;

	qsort(x, n, sizeof(*x), cmp_u64);
	for (size_t i = 0; i < n; i = j) {
		double v = (double)x[i];

		for (j = i; j < n && x[j] == x[i]; j++)
			;
		d = fmax(d, fabs(delay_cdf(m, v, false) - (double)i / (double)n));
		d = fmax(d, fabs(delay_cdf(m, v + 1, false) - (double)j / (double)n));
	}
	return d;
}

double testutil_ks_uniform(uint64_t *x, size_t n, double a, double b)
{
	double d = 0;

	qsort(x, n, sizeof(*x), cmp_u64);
	for (size_t i = 0; i < n; i++) {
		double f = ((double)x[i] - a) / (b - a);
		double above = (double)(i + 1) / (double)n - f;
		double below = f - (double)i / (double)n;

		d = above > d ? above : d;
		d = below > d ? below : d;
	}
	return d;
}

void testutil_chdir_srcdir(void)
{
	const char *srcdir = getenv("srcdir");

	if (srcdir != NULL && *srcdir != '\0' && chdir(srcdir) != 0) {
		perror(srcdir);
		exit(EXIT_FAILURE);
	}
}
