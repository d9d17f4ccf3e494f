/* fuzz_config - libFuzzer harness for the configuration: config_parse_file()
 * on the input as a file, then config_load() with a command line made of
 * the input's NUL-separated words.
 *
 * The file is a memfd, reached as /proc/self/fd/N.  On the command line a
 * word "@" or any word containing '/' is replaced by that path, so
 * "--config @" reads the input itself and the fuzzer never opens other
 * files (a --config naming /dev/zero would only measure getline).  Every
 * config is config_free()d: LeakSanitizer checks that nothing is left. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_WORDS 32

static int file_fd = -1;
static char file_path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	file_fd = memfd_create("fuzz_config", MFD_CLOEXEC);
	if (file_fd < 0) {
		perror("memfd_create");
		abort();
	}
	snprintf(file_path, sizeof(file_path), "/proc/self/fd/%d", file_fd);
	return 0;
}

static void write_file(const uint8_t *data, size_t size)
{
	size_t off = 0;

	if (ftruncate(file_fd, 0) != 0)
		abort();
	while (off < size) {
		ssize_t n = pwrite(file_fd, data + off, size - off, (off_t)off);

		if (n <= 0)
			abort();
		off += (size_t)n;
	}
}

/* err must hold a NUL-terminated message after any failure. */
static void check_err(const char *err, size_t len)
{
	if (memchr(err, '\0', len) == NULL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	static char argv0[] = "userd";
	char err[256];
	char *copy, *argv[MAX_WORDS + 2];
	int argc = 0;
	enum config_result r;

	write_file(data, size);

	/* 1. The input as a config file on top of the defaults. */
	config_defaults(&cfg);
	memset(err, 'x', sizeof(err));
	r = config_parse_file(&cfg, file_path, err, sizeof(err));
	if (r != CONFIG_OK && r != CONFIG_FILE_ERROR)
		abort();
	if (r == CONFIG_FILE_ERROR)
		check_err(err, sizeof(err));
	config_free(&cfg);

	/* 2. The input as a command line: NUL-separated words. */
	copy = malloc(size + 1);
	if (copy == NULL)
		abort();
	memcpy(copy, data, size);
	copy[size] = '\0';
	argv[argc++] = argv0;
	for (size_t i = 0; i < size && argc <= MAX_WORDS; i += strlen(copy + i) + 1) {
		char *w = copy + i;

		argv[argc++] = strcmp(w, "@") == 0 || strchr(w, '/') != NULL
			? file_path : w;
	}
	argv[argc] = NULL;
	memset(err, 'x', sizeof(err));
	r = config_load(&cfg, argc, argv, err, sizeof(err));
	switch (r) {
	case CONFIG_OK:
		/* What config_load accepts is consistent. */
		if (cfg.run.delay.kind == DELAY_UNIFORM && cfg.run.delay.min_ms > cfg.run.delay.max_ms)
			abort();
		break;
	case CONFIG_HELP:
	case CONFIG_VERSION:
	case CONFIG_CHECK:
	case CONFIG_SAMPLE:
	case CONFIG_FIT:
		break;
	case CONFIG_USAGE_ERROR:
	case CONFIG_FILE_ERROR:
		check_err(err, sizeof(err));
		/* On error only the defaults are left. */
		if (cfg.bind != NULL || cfg.config_path != NULL)
			abort();
		break;
	}
	config_free(&cfg);
	free(copy);
	return 0;
}
