/* daemon.c - run the real userd binary; see daemon.h. */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ARGV 64

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

const char *daemon_binary(void)
{
	const char *bin = getenv("USERD_BIN");

	return bin != NULL && *bin != '\0' ? bin : "src/userd";
}

/* In a child: exec argv.  When argv[0] is the binary under test and
 * $USERD_WRAPPER is set, run it under that command prefix (words split at
 * blanks, e.g. "valgrind --error-exitcode=1 --leak-check=full").  Returns
 * only on failure. */
static void exec_daemon(char *const argv[])
{
	const char *wrapper = getenv("USERD_WRAPPER");
	static char words[4096];
	char *wargv[2 * MAX_ARGV];
	int n = 0;

	if (wrapper == NULL || *wrapper == '\0' ||
	    strcmp(argv[0], daemon_binary()) != 0) {
		execv(argv[0], argv);
		return;
	}
	snprintf(words, sizeof(words), "%s", wrapper);
	for (char *w = strtok(words, " \t"); w != NULL && n < MAX_ARGV;
	     w = strtok(NULL, " \t"))
		wargv[n++] = w;
	for (int i = 0; argv[i] != NULL && n < 2 * MAX_ARGV - 1; i++)
		wargv[n++] = argv[i];
	wargv[n] = NULL;
	execvp(wargv[0], wargv);
}

/* Build argv: binary, then args, then --bind/--port unless given.
 * Strings are copied into `store` so argv can be non-const. */
static void build_argv(char **argv, char store[][256], const char *const args[],
		       bool add_listen)
{
	bool has_port = false, has_bind = false;
	int n = 0;

	snprintf(store[n], 256, "%s", daemon_binary());
	argv[n] = store[n];
	n++;
	for (; args != NULL && *args != NULL && n < MAX_ARGV - 5; args++) {
		has_port |= strcmp(*args, "--port") == 0 || strcmp(*args, "-p") == 0;
		has_bind |= strcmp(*args, "--bind") == 0 || strcmp(*args, "-b") == 0;
		snprintf(store[n], 256, "%s", *args);
		argv[n] = store[n];
		n++;
	}
	if (add_listen && !has_bind) {
		snprintf(store[n], 256, "--bind");
		argv[n] = store[n];
		n++;
		snprintf(store[n], 256, "127.0.0.1");
		argv[n] = store[n];
		n++;
	}
	if (add_listen && !has_port) {
		snprintf(store[n], 256, "--port");
		argv[n] = store[n];
		n++;
		snprintf(store[n], 256, "0");
		argv[n] = store[n];
		n++;
	}
	argv[n] = NULL;
}

/* Read the whole file at `path` into buf (NUL-terminated). */
static size_t read_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f != NULL) {
		n = fread(buf, 1, len - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return n;
}

size_t daemon_log_read(const struct daemon *d, char *buf, size_t len)
{
	return read_file(d->log_path, buf, len);
}

bool daemon_log_lacks(const struct daemon *d, const char *text)
{
	static char buf[1 << 20];

	read_file(d->log_path, buf, sizeof(buf));
	return strstr(buf, text) == NULL;
}

bool daemon_log_contains(const struct daemon *d, const char *text)
{
	for (int i = 0; i < 100; i++) {
		if (!daemon_log_lacks(d, text))
			return true;
		usleep(50000);
	}
	return false;
}

bool daemon_admin_url(const struct daemon *d, char *buf, size_t len)
{
	static const char says[] = "control API on ";
	static char log[1 << 16];
	const char *p, *end;

	read_file(d->log_path, log, sizeof(log));
	p = strstr(log, says);
	if (p == NULL || len == 0)
		return false;
	p += sizeof(says) - 1;
	end = p + strcspn(p, " \n");
	if ((size_t)(end - p) >= len)
		return false;
	memcpy(buf, p, (size_t)(end - p));
	buf[end - p] = '\0';
	return true;
}

int daemon_spawn(struct daemon *d, char *const argv[])
{
	int fd;

	memset(d, 0, sizeof(*d));
	snprintf(d->log_path, sizeof(d->log_path), "/tmp/userd-test-XXXXXX");
	fd = mkstemp(d->log_path);
	if (fd < 0)
		return -1;
	d->pid = fork();
	if (d->pid < 0) {
		close(fd);
		return -1;
	}
	if (d->pid == 0) {
		dup2(fd, STDERR_FILENO);
		close(fd);
		exec_daemon(argv);
		_exit(127);
	}
	close(fd);
	return 0;
}

int daemon_spawn_stderr(struct daemon *d, char *const argv[], int fd)
{
	memset(d, 0, sizeof(*d));
	d->pid = fork();
	if (d->pid < 0)
		return -1;
	if (d->pid == 0) {
		dup2(fd, STDERR_FILENO);
		if (fd != STDERR_FILENO)
			close(fd);
		exec_daemon(argv);
		_exit(127);
	}
	return 0;
}

int daemon_wait_listening(struct daemon *d)
{
	static const char marker[] = "listening on http";
	static const char host[] = "://127.0.0.1:";
	double until = now_s() + 10.0;
	char log[8192];

	while (now_s() < until) {
		const char *p;
		bool tls = false;
		int status;

		read_file(d->log_path, log, sizeof(log));
		p = strstr(log, marker);
		if (p != NULL) {
			p += strlen(marker);
			tls = *p == 's';
			p += tls;
		}
		if (p != NULL && strncmp(p, host, strlen(host)) == 0) {
			d->port = (unsigned)strtoul(p + strlen(host), NULL, 10);
			snprintf(d->base, sizeof(d->base), "%s://127.0.0.1:%u",
				 tls ? "https" : "http", d->port);
			return 0;
		}
		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			d->pid = 0;
			fprintf(stderr, "userd exited before listening:\n%s\n", log);
			return -1;
		}
		sleep_ms(5);
	}
	fprintf(stderr, "userd did not listen within 10 s:\n%s\n", log);
	daemon_cleanup(d);
	return -1;
}

int daemon_start(struct daemon *d, const char *const args[])
{
	static char store[MAX_ARGV][256];
	char *argv[MAX_ARGV];

	build_argv(argv, store, args, true);
	if (daemon_spawn(d, argv) != 0)
		return -1;
	return daemon_wait_listening(d);
}

int daemon_signal(const struct daemon *d, int sig)
{
	return d->pid > 0 ? kill(d->pid, sig) : -1;
}

int daemon_wait(struct daemon *d, double timeout_s)
{
	double until = now_s() + timeout_s;
	int status;

	if (d->pid <= 0)
		return -1;
	while (now_s() < until) {
		pid_t r = waitpid(d->pid, &status, WNOHANG);

		if (r == d->pid) {
			d->pid = 0;
			return status;
		}
		if (r < 0 && errno != EINTR)
			return -1;
		sleep_ms(5);
	}
	return -1;
}

void daemon_cleanup(struct daemon *d)
{
	if (d->pid > 0) {
		kill(d->pid, SIGKILL);
		waitpid(d->pid, NULL, 0);
		d->pid = 0;
	}
	if (d->log_path[0] != '\0')
		unlink(d->log_path);
	d->log_path[0] = '\0';
}

int daemon_run(const char *const args[], char *out, char *errbuf, size_t len)
{
	static char store[MAX_ARGV][256];
	char *argv[MAX_ARGV];
	char out_path[] = "/tmp/userd-out-XXXXXX";
	char err_path[] = "/tmp/userd-err-XXXXXX";
	int ofd = mkstemp(out_path);
	int efd = mkstemp(err_path);
	struct daemon d;
	int status;

	build_argv(argv, store, args, false);
	memset(&d, 0, sizeof(d));
	d.pid = fork();
	if (d.pid == 0) {
		dup2(ofd, STDOUT_FILENO);
		dup2(efd, STDERR_FILENO);
		exec_daemon(argv);
		_exit(127);
	}
	close(ofd);
	close(efd);
	status = daemon_wait(&d, 10.0);
	daemon_cleanup(&d);
	read_file(out_path, out, len);
	read_file(err_path, errbuf, len);
	unlink(out_path);
	unlink(err_path);
	return status;
}
