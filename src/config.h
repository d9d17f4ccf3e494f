/* config.h - userd's settings: one table describes every option, and
 * drives the command line, the config file, --help, and what a reload
 * changes.
 *
 * Parsing reports problems through an error buffer and a result code; it
 * never prints or exits, so main.c decides what a user sees.
 */
#ifndef USERD_CONFIG_H
#define USERD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rules.h"
#include "settings.h"

/* Exit statuses from sysexits.h, named here so tests can use them. */
#define EXIT_USAGE 64  /* EX_USAGE: bad command line */
#define EXIT_CONFIG 78 /* EX_CONFIG: bad configuration */

#define CONFIG_DEFAULT_PORT 8000
#define CONFIG_DEFAULT_DELAY_MIN_MS 500
#define CONFIG_DEFAULT_DELAY_MAX_MS 2000
#define CONFIG_DEFAULT_DELAY_CLAMP_MS 60000
#define CONFIG_DEFAULT_TIMEOUT_S 60
#define CONFIG_DEFAULT_DRAIN_TIMEOUT_S 10
#define CONFIG_DEFAULT_MAX_BATCH 100
#define CONFIG_MAX_BATCH 10000
#define CONFIG_DEFAULT_JOURNAL 4096
#define CONFIG_MAX_CAPACITY 1000000
#define CONFIG_MAX_QUEUE 1000000
#define CONFIG_MAX_THREADS 1024
#define CONFIG_MAX_CONNECTIONS 1000000
#define CONFIG_MAX_TIMER_SLACK_MS 1000
#define CONFIG_MAX_SAMPLE 100000000 /* --sample N */
/* Per-connection buffer for request and response headers: 3 KiB takes
 * browser-like requests with about 1.3 KB of headers and keeps a waiting
 * request at ~4.3 KB of RSS (bench/results). */
#define CONFIG_DEFAULT_CONNECTION_MEMORY 3072
#define CONFIG_MIN_CONNECTION_MEMORY 2048
#define CONFIG_MAX_CONNECTION_MEMORY (1024 * 1024)
/* Chosen from the measurements in bench/results (see README). */
#define CONFIG_DEFAULT_TIMER_SLACK_MS 2
#define CONFIG_DEFAULT_HANG_TIMEOUT_S 300

struct config {
	char *config_path;         /* --config FILE, or NULL */
	char *check_url;           /* --check URL, or NULL */
	unsigned sample_count;     /* --sample N, or 0 */
	char *fit_path;            /* --fit FILE, or NULL */
	char *bind;                /* NULL: every interface, IPv6 and IPv4 */
	unsigned port;
	bool reuse_port;           /* SO_REUSEPORT: share the port */
	char *tls_cert;            /* PEM certificate file: serve HTTPS, or NULL */
	char *tls_key;             /* its PEM private key file, or NULL */
	char *tls_trust;           /* PEM CA file: require client certificates */
	bool seeded;               /* --seed given */
	uint64_t seed;
	unsigned threads;          /* 0: one per usable CPU */
	unsigned max_connections;  /* 0: sized from the fd limit */
	unsigned connection_memory; /* bytes of header buffer per connection */
	unsigned timeout_s;        /* idle connection timeout, 0 = none */
	bool dashboard;            /* serve GET / and GET /live (default) */
	unsigned journal;          /* requests the journal keeps; 0: none */
	char *admin;               /* the control API's ADDR:PORT or unix:PATH */
	char *admin_token_file;
	char *admin_tls_cert;      /* PEM certificate file: the control API over HTTPS */
	char *admin_tls_key;       /* its PEM private key file */
	bool admin_insecure;       /* plain HTTP off loopback, said explicitly */
	struct run_settings run;
	struct rules *rules;       /* --rule / rule lines, in order; NULL: none */
	bool delay_min_set;        /* --delay-min given (command line or file) */
	bool delay_max_set;
	bool bad_file;             /* a setting's file (--delay samples:FILE) was bad */
};

enum config_result {
	CONFIG_OK = 0,       /* run the daemon */
	CONFIG_HELP,         /* --help: print config_usage() and exit 0 */
	CONFIG_VERSION,      /* --version: print the version and exit 0 */
	CONFIG_CHECK,        /* --check URL (in check_url): probe it and exit */
	CONFIG_SAMPLE,       /* --sample N (in sample_count): print N draws and exit */
	CONFIG_FIT,          /* --fit FILE (in fit_path): print its specs and exit */
	CONFIG_USAGE_ERROR,  /* bad command line: message in err, exit 64 */
	CONFIG_FILE_ERROR,   /* bad config file, or a file a setting names (a
			      * --delay samples:FILE): "FILE:LINE: ..." in err,
			      * exit 78 */
};

/* Fill *cfg with the built-in defaults. */
void config_defaults(struct config *cfg);

/* Build the whole configuration: defaults, then the file named by
 * --config (if any), then the rest of the command line, which wins.
 * Returns CONFIG_OK, CONFIG_HELP, CONFIG_VERSION, CONFIG_CHECK or (the
 * whole configuration read and checked, with --sample given)
 * CONFIG_SAMPLE with *cfg filled in;
 * or CONFIG_USAGE_ERROR / CONFIG_FILE_ERROR with a one-line message in err
 * and *cfg holding only defaults.  Either way config_free() it after.
 * Not reentrant (getopt). */
enum config_result config_load(struct config *cfg, int argc, char *const argv[],
			       char *err, size_t errlen);

/* Apply the `key = value` lines of the file at `path` on top of *cfg.
 * Returns CONFIG_OK, or CONFIG_FILE_ERROR with "PATH:LINE: message" in
 * err (*cfg then partly updated: discard it). */
enum config_result config_parse_file(struct config *cfg, const char *path,
				     char *err, size_t errlen);

/* Apply the command line on top of *cfg, without the checks that span
 * several settings (config_load does those).  Returns CONFIG_OK,
 * CONFIG_HELP, CONFIG_VERSION or CONFIG_CHECK (cfg->check_url set); or
 * CONFIG_USAGE_ERROR with a one-line
 * message in err.  On error *cfg may be partly updated: discard it.  Not
 * reentrant (getopt). */
enum config_result config_parse_args(struct config *cfg, int argc,
				     char *const argv[], char *err,
				     size_t errlen);

/* Release what *cfg owns. */
void config_free(struct config *cfg);

/* ---- the table ----------------------------------------------------------- */

/* Room for the text of one setting's value: every value fits (a mix of
 * faults is the longest), except an address or a file name, which may
 * be cut, and the rules, which are shown one by one elsewhere. */
#define CONFIG_VALUE_MAX 512

/* The options, in --help order: their count, and the name of the i-th
 * (its long option and, unless config_option_in_file() says no, its
 * config-file key). */
size_t config_option_count(void);
const char *config_option_name(size_t i);

/* Does the i-th option apply on reload (true), or need a restart? */
bool config_option_reloadable(size_t i);

/* May the i-th option be a config-file key? */
bool config_option_in_file(size_t i);

/* The i-th option's value in *cfg as text, into buf ("uniform:500:2000",
 * "8000", "yes").  Returns false (buf "") for options that have no value
 * of their own: --config, --help, --version, and --delay-min/--delay-max,
 * which are part of --delay. */
bool config_option_value(const struct config *cfg, size_t i, char *buf,
			 size_t len);

/* The JSON type of the i-th option's value: a number, true/false (a
 * switch, true when given) or a string. */
enum config_value_kind {
	CONFIG_VALUE_NUMBER = 0,
	CONFIG_VALUE_BOOL,
	CONFIG_VALUE_STRING,
};
enum config_value_kind config_option_kind(size_t i);

/* Set the reloadable option `name` from `text`, as a config file line
 * would ("yes"/"no" for a switch), on *cfg.  Returns true, or false with
 * a message in err (unknown, not changeable while running, or a bad
 * value); *cfg is then unchanged for that option. */
bool config_set(struct config *cfg, const char *name, const char *text, char *err,
		size_t errlen);

/* Is the control API off, on a unix socket, or on an address that only
 * this machine reaches (127.0.0.0/8 or ::1 written as such, or
 * "localhost")?  False for any other address, host names included. */
bool config_admin_local(const struct config *cfg);

/* The checks that span several settings (and the adjustments of one
 * uniform bound), as config_load() makes them.  Returns true, or false
 * with a message in err. */
bool config_check(struct config *cfg, char *err, size_t errlen);

/* Write into buf the names of the options whose values differ between
 * `a` and `b` ("port, threads"), only those that are reloadable (or only
 * those that are not), comma-separated.  Returns how many differ. */
size_t config_diff(const struct config *a, const struct config *b,
		   bool reloadable, char *buf, size_t len);

/* Write the reloadable settings of *cfg as "name value" pairs,
 * comma-separated ("delay uniform:500:2000, max-delay 60000, ..."). */
void config_describe_run(const struct config *cfg, char *buf, size_t len);

/* Print the full --help text. */
void config_usage(FILE *out);

/* Print the short "Usage: ... Try --help" reminder. */
void config_usage_hint(FILE *out);

#endif
