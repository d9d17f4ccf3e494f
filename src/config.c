/* config.c - the options table and everything it drives; see config.h.
 *
 * Each option is one row of `options` below: its names, its kind of
 * value, where the value lives in struct config, its bounds, whether a
 * reload applies it, and its help.  getopt's table, the config-file keys,
 * --help, the reload's list of changes and the values shown to users are
 * all made from those rows; only values with a grammar of their own (a
 * delay model, a seed, a log level) have a parse function.
 */
#include "config.h"
#include "decimal.h"
#include "journal.h"
#include "listener.h"
#include "util.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum opt_type {
	OPT_UINT,   /* unsigned in [min, max] */
	OPT_SWITCH, /* bool; "yes"/"no" in a file */
	OPT_RATE,   /* double in [0, 1] */
	OPT_TEXT,   /* malloc'd string, non-empty */
	OPT_PARSED, /* parse() and show() of its own */
	OPT_ACTION, /* --help, --version, --check, --config: command line only */
};

struct opt {
	const char *name;    /* long option and config-file key */
	int short_name;      /* 0: none */
	const char *metavar; /* the value's name in --help; NULL for a switch */
	enum opt_type type;
	size_t offset;       /* of the value in struct config */
	uint64_t min, max;   /* OPT_UINT */
	bool reloadable;
	bool negated;        /* OPT_SWITCH: given means false ("no-...") */
	const char *noun;    /* OPT_TEXT: what an empty value lacks */
	bool (*parse)(struct config *cfg, const char *name, const char *arg,
		      char *err, size_t errlen);
	void (*show)(const struct config *cfg, char *buf, size_t len);
	const char *help;
	const char *default_text; /* NULL: the default value itself */
};

/* Parse a plain decimal number in [min, max]: digits only, no sign, no
 * spaces.  Returns true and sets *out, or writes a message naming
 * `option` into err. */
static bool parse_number(const char *option, const char *text, uint64_t min,
			 uint64_t max, uint64_t *out, char *err, size_t errlen)
{
	enum decimal_result r;
	uint64_t v = 0;

	if (*text == '\0') {
		util_error(err, errlen, "%s: a number is required", option);
		return false;
	}
	r = decimal_parse(text, strlen(text), max, &v);
	if (r == DECIMAL_INVALID) {
		util_error(err, errlen, "%s: '%s' is not a number", option, text);
		return false;
	}
	if (r == DECIMAL_TOO_BIG || v < min) {
		util_error(err, errlen,
			  "%s: '%s' is out of range (%" PRIu64 "..%" PRIu64 ")",
			  option, text, min, max);
		return false;
	}
	*out = v;
	return true;
}

/* Parse a share from 0 to 1 (see decimal_share). */
static bool parse_rate(const char *name, const char *text, double *out,
		       char *err, size_t errlen)
{
	if (!decimal_share(text, strlen(text), out)) {
		util_error(err, errlen, "%s: '%s' is not a number from 0 to 1 (digits, "
			  "a point, an exponent; at most %d characters)", name, text,
			  DECIMAL_SHARE_MAX);
		return false;
	}
	return true;
}

/* ---- values with a grammar of their own ------------------------------ */

static bool parse_delay(struct config *cfg, const char *name, const char *arg,
			char *err, size_t errlen)
{
	char msg[256];

	if (!delay_model_parse(arg, &cfg->run.delay, msg, sizeof(msg))) {
		util_error(err, errlen, "%s: %s", name, msg);
		cfg->bad_file = delay_spec_reads_file(arg);
		return false;
	}
	/* A uniform model names both bounds. */
	cfg->delay_min_set = cfg->delay_max_set =
		cfg->run.delay.kind == DELAY_UNIFORM;
	return true;
}

static void show_delay(const struct config *cfg, char *buf, size_t len)
{
	delay_model_describe(&cfg->run.delay, buf, len);
}

/* --delay-min and --delay-max: one bound of the uniform model. */
static bool parse_bound(struct config *cfg, const char *name, const char *arg,
			bool upper, char *err, size_t errlen)
{
	struct delay_model *m = &cfg->run.delay;
	uint64_t v;

	if (!parse_number(name, arg, 0, DELAY_LIMIT_MS, &v, err, errlen))
		return false;
	if (upper) {
		delay_set_uniform(m, m->min_ms, (uint32_t)v);
		cfg->delay_max_set = true;
	} else {
		delay_set_uniform(m, (uint32_t)v, m->max_ms);
		cfg->delay_min_set = true;
	}
	return true;
}

static bool parse_delay_min(struct config *cfg, const char *name, const char *arg,
			    char *err, size_t errlen)
{
	return parse_bound(cfg, name, arg, false, err, errlen);
}

static bool parse_delay_max(struct config *cfg, const char *name, const char *arg,
			    char *err, size_t errlen)
{
	return parse_bound(cfg, name, arg, true, err, errlen);
}

static bool parse_faults(struct config *cfg, const char *name, const char *arg,
			 char *err, size_t errlen)
{
	char msg[192];

	if (fault_mix_parse(arg, &cfg->run.faults, msg, sizeof(msg)))
		return true;
	util_error(err, errlen, "%s: %s", name, msg);
	return false;
}

static void show_faults(const struct config *cfg, char *buf, size_t len)
{
	fault_mix_describe(&cfg->run.faults, buf, len);
}

static bool parse_rule(struct config *cfg, const char *name, const char *arg,
		       char *err, size_t errlen)
{
	char msg[192];

	if (cfg->rules == NULL)
		cfg->rules = rules_create();
	if (cfg->rules == NULL) {
		util_error(err, errlen, "%s: out of memory", name);
		return false;
	}
	if (rules_add(cfg->rules, arg, msg, sizeof(msg)))
		return true;
	util_error(err, errlen, "%s: %s", name, msg);
	return false;
}

static void show_rules(const struct config *cfg, char *buf, size_t len)
{
	size_t used = 0;

	snprintf(buf, len, "none");
	for (size_t i = 0; i < rules_count(cfg->rules) && used + 1 < len; i++) {
		int n = snprintf(buf + used, len - used, "%s%s", i > 0 ? "; " : "",
				 rules_text(cfg->rules, i));

		if (n < 0)
			break;
		used += (size_t)n < len - used ? (size_t)n : len - used - 1;
	}
}

static bool parse_access_log(struct config *cfg, const char *name, const char *arg,
			     char *err, size_t errlen)
{
	if (access_log_format_parse(arg, &cfg->run.access_log))
		return true;
	util_error(err, errlen, "%s: '%s' is not one of off, common, json", name, arg);
	return false;
}

static void show_access_log(const struct config *cfg, char *buf, size_t len)
{
	snprintf(buf, len, "%s", access_log_format_name(cfg->run.access_log));
}

static bool parse_queue(struct config *cfg, const char *name, const char *arg,
			char *err, size_t errlen)
{
	uint64_t n;

	if (strcmp(arg, "unbounded") == 0) {
		cfg->run.queue_max = CAPACITY_UNBOUNDED;
		return true;
	}
	if (!parse_number(name, arg, 0, CONFIG_MAX_QUEUE, &n, err, errlen))
		return false;
	cfg->run.queue_max = (unsigned)n;
	return true;
}

static void show_queue(const struct config *cfg, char *buf, size_t len)
{
	if (cfg->run.queue_max == CAPACITY_UNBOUNDED)
		snprintf(buf, len, "unbounded");
	else
		snprintf(buf, len, "%u", cfg->run.queue_max);
}

static bool parse_reject_status(struct config *cfg, const char *name, const char *arg,
				char *err, size_t errlen)
{
	if (strcmp(arg, "503") == 0 || strcmp(arg, "429") == 0) {
		cfg->run.reject_status = strcmp(arg, "503") == 0 ? 503 : 429;
		return true;
	}
	util_error(err, errlen, "%s: '%s' is not one of 503, 429", name, arg);
	return false;
}

static void show_reject_status(const struct config *cfg, char *buf, size_t len)
{
	snprintf(buf, len, "%u", cfg->run.reject_status);
}

static bool parse_seed(struct config *cfg, const char *name, const char *arg,
		       char *err, size_t errlen)
{
	if (!parse_number(name, arg, 0, UINT64_MAX, &cfg->seed, err, errlen))
		return false;
	cfg->seeded = true;
	return true;
}

static void show_seed(const struct config *cfg, char *buf, size_t len)
{
	if (cfg->seeded)
		snprintf(buf, len, "%" PRIu64, cfg->seed);
	else
		snprintf(buf, len, "random");
}

static bool parse_log_level(struct config *cfg, const char *name, const char *arg,
			    char *err, size_t errlen)
{
	if (log_level_parse(arg, &cfg->run.log_level))
		return true;
	util_error(err, errlen, "%s: '%s' is not one of error, warn, info, debug",
		  name, arg);
	return false;
}

static void show_log_level(const struct config *cfg, char *buf, size_t len)
{
	snprintf(buf, len, "%s", log_level_name(cfg->run.log_level));
}

/* ---- the table ----------------------------------------------------------- */

#define AT(field) offsetof(struct config, field)

static const struct opt options[] = {
	{.name = "config", .short_name = 'f', .metavar = "FILE", .type = OPT_ACTION,
	 .help = "read settings from FILE first ('key = value' lines named like "
		 "the long options); the command line overrides it",
	 .default_text = ""},
	{.name = "bind", .short_name = 'b', .metavar = "ADDR", .type = OPT_TEXT,
	 .offset = AT(bind), .noun = "address",
	 .help = "address to listen on",
	 .default_text = "every interface, IPv6 and IPv4"},
	{.name = "port", .short_name = 'p', .metavar = "N", .type = OPT_UINT,
	 .offset = AT(port), .max = 65535,
	 .help = "TCP port, 0 picks a free one"},
	{.name = "reuse-port", .type = OPT_SWITCH, .offset = AT(reuse_port),
	 .help = "let several userd processes share the port (SO_REUSEPORT); "
		 "the kernel spreads clients",
	 .default_text = ""},
	{.name = "tls-cert", .metavar = "FILE", .type = OPT_TEXT,
	 .offset = AT(tls_cert),
	 .help = "serve HTTPS with the PEM certificate in FILE (the server's "
		 "first, then any intermediates); needs --tls-key",
	 .default_text = "plain HTTP"},
	{.name = "tls-key", .metavar = "FILE", .type = OPT_TEXT,
	 .offset = AT(tls_key),
	 .help = "the PEM private key of --tls-cert, unencrypted",
	 .default_text = ""},
	{.name = "tls-trust", .metavar = "FILE", .type = OPT_TEXT,
	 .offset = AT(tls_trust),
	 .help = "require a client certificate signed by one of the PEM CA "
		 "certificates in FILE; needs --tls-cert",
	 .default_text = ""},
	{.name = "delay", .short_name = 'd', .metavar = "MODEL", .type = OPT_PARSED,
	 .reloadable = true, .parse = parse_delay, .show = show_delay,
	 .help = "how delays are drawn, in milliseconds: fixed:MS, "
		 "uniform:MIN:MAX, lognormal:MEDIAN:P99, exponential:MEAN, "
		 "quantiles:P=MS,... (e.g. quantiles:50=80,99=900,99.9=3000) or "
		 "mix:W*MODEL,... (e.g. mix:0.95*lognormal:80:300,0.05*fixed:5000), "
		 "samples:FILE (one latency in ms a line) or histogram:FILE[:SERIES] "
		 "(a Prometheus scrape's _bucket lines); files are read at start and "
		 "reload, a bad one exits 78"},
	{.name = "delay-min", .metavar = "MS", .type = OPT_PARSED, .reloadable = true,
	 .parse = parse_delay_min,
	 .help = "the uniform model's lower bound", .default_text = ""},
	{.name = "delay-max", .metavar = "MS", .type = OPT_PARSED, .reloadable = true,
	 .parse = parse_delay_max,
	 .help = "the uniform model's upper bound (one bound alone moves the "
		 "other if they cross)",
	 .default_text = ""},
	{.name = "max-delay", .metavar = "MS", .type = OPT_UINT,
	 .offset = AT(run.delay.clamp_ms), .max = DELAY_LIMIT_MS, .reloadable = true,
	 .help = "clamp every delay, including ?delay=, to this; at most 3600000"},
	{.name = "no-delay-override", .type = OPT_SWITCH,
	 .offset = AT(run.delay_override), .negated = true, .reloadable = true,
	 .help = "ignore the ?delay=MS query parameter", .default_text = ""},
	{.name = "error-rate", .metavar = "R", .type = OPT_RATE,
	 .offset = AT(run.error_rate), .reloadable = true,
	 .help = "answer this share (0..1) of requests with 503 after their delay"},
	{.name = "faults", .metavar = "MIX", .type = OPT_PARSED, .reloadable = true,
	 .parse = parse_faults, .show = show_faults,
	 .help = "a share of requests that fail after their delay, by kind: "
		 "FAULT=SHARE,... with FAULT one of status:CODE, reset, close, "
		 "hang, drip:BYTES_PER_SECOND, truncate "
		 "(e.g. status:500=0.02,reset=0.01)"},
	{.name = "hang-timeout", .metavar = "SECONDS", .type = OPT_UINT,
	 .offset = AT(run.hang_timeout_s), .min = 1, .max = 86400, .reloadable = true,
	 .help = "how long a 'hang' fault holds its connection before closing it"},
	{.name = "rule", .metavar = "RULE", .type = OPT_PARSED, .reloadable = true,
	 .parse = parse_rule, .show = show_rules,
	 .help = "give matching requests their own delay or fault, e.g. "
		 "'route=/user ids=13,100-199 delay=fixed:5000 fault=reset'; "
		 "repeat it for more rules: the first that matches wins; "
		 "'times=N' (the first N matches only) and 'after=N' (from the "
		 "N+1th on) count per=id (the default), per=client (address) or "
		 "per=all, from 0 at each start, reload and PUT /rules, at most "
		 "1024 ids or clients per rule (64 KiB; past them the rule does "
		 "not match); 'retry-after=S' with fault=status:CODE; a fault "
		 "may be a mix as for --faults (fault=status:503=0.2: a fifth "
		 "fail); 'at=A-B' (seconds since the rules were installed) "
		 "matches only in that window, 'every=P' repeats it each P "
		 "seconds, 'scale=X' or the ramp 'scale=X..Y' (X at A, Y at B) "
		 "multiplies the delay, e.g. 'every=60 at=50-60 scale=5 "
		 "fault=status:503=0.2'",
	 .default_text = "none"},
	{.name = "max-batch", .metavar = "N", .type = OPT_UINT,
	 .offset = AT(run.max_batch), .min = 1, .max = CONFIG_MAX_BATCH,
	 .reloadable = true,
	 .help = "most ids in one /users request"},
	{.name = "capacity", .metavar = "N", .type = OPT_UINT,
	 .offset = AT(run.capacity), .max = CONFIG_MAX_CAPACITY, .reloadable = true,
	 .help = "serve at most N requests at once (a batch of k ids takes k); "
		 "the others wait for a free slot in a first-in first-out "
		 "queue, then get their delay; 0: no limit"},
	{.name = "queue", .metavar = "M", .type = OPT_PARSED, .reloadable = true,
	 .parse = parse_queue, .show = show_queue,
	 .help = "with --capacity, at most M requests wait for a slot; more are "
		 "answered --reject-status at once; 0: no waiting room, or "
		 "unbounded"},
	{.name = "queue-timeout", .metavar = "MS", .type = OPT_UINT,
	 .offset = AT(run.queue_timeout_ms), .max = DELAY_LIMIT_MS, .reloadable = true,
	 .help = "with --capacity, a request that waited MS for a slot is "
		 "answered --reject-status; 0: it waits as long as it takes"},
	{.name = "reject-status", .metavar = "STATUS", .type = OPT_PARSED,
	 .reloadable = true, .parse = parse_reject_status, .show = show_reject_status,
	 .help = "the answer to a request the queue turns away (full, or timed "
		 "out): 503 or 429, with Retry-After: 1"},
	{.name = "access-log", .metavar = "FORMAT", .type = OPT_PARSED,
	 .reloadable = true, .parse = parse_access_log, .show = show_access_log,
	 .help = "off, common or json, on stderr"},
	{.name = "timer-slack", .metavar = "MS", .type = OPT_UINT,
	 .offset = AT(run.timer_slack_ms), .max = CONFIG_MAX_TIMER_SLACK_MS,
	 .reloadable = true,
	 .help = "resume waiting requests up to MS after their deadline, in "
		 "batches: less CPU; 0 resumes exactly at it. Drawn delays are "
		 "aimed early by the lateness measured, so they are served "
		 "unbiased; a ?delay= is never early"},
	{.name = "seed", .short_name = 's', .metavar = "N", .type = OPT_PARSED,
	 .parse = parse_seed, .show = show_seed,
	 .help = "seed the random delays, ages and faults: the k-th connection "
		 "accepted draws from stream k of N, so the same N, settings and "
		 "requests, on connections opened one at a time, give the same "
		 "answers"},
	{.name = "threads", .short_name = 't', .metavar = "N", .type = OPT_UINT,
	 .offset = AT(threads), .min = 1, .max = CONFIG_MAX_THREADS,
	 .help = "HTTP worker threads",
	 .default_text = "one per CPU this process may run on"},
	{.name = "max-connections", .short_name = 'c', .metavar = "N", .type = OPT_UINT,
	 .offset = AT(max_connections), .min = 1, .max = CONFIG_MAX_CONNECTIONS,
	 .help = "most connections at once",
	 .default_text = "sized from the open-file limit, raised to its maximum"},
	{.name = "connection-memory", .metavar = "BYTES", .type = OPT_UINT,
	 .offset = AT(connection_memory), .min = CONFIG_MIN_CONNECTION_MEMORY,
	 .max = CONFIG_MAX_CONNECTION_MEMORY,
	 .help = "buffer for one connection's request and response headers; "
		 "larger requests get 414 or 431"},
	{.name = "timeout", .metavar = "SECONDS", .type = OPT_UINT,
	 .offset = AT(timeout_s), .max = 86400,
	 .help = "close idle connections after this long; 0 never"},
	{.name = "drain-timeout", .metavar = "SECONDS", .type = OPT_UINT,
	 .offset = AT(run.drain_timeout_s), .max = 86400, .reloadable = true,
	 .help = "on SIGTERM, wait this long for delayed requests, then answer "
		 "the rest with 503"},
	{.name = "no-dashboard", .type = OPT_SWITCH, .offset = AT(dashboard),
	 .negated = true,
	 .help = "do not serve the live page (GET /) nor its JSON (GET /live); "
		 "both answer 404",
	 .default_text = ""},
	{.name = "journal", .metavar = "N", .type = OPT_UINT, .offset = AT(journal),
	 .max = JOURNAL_MAX,
	 .help = "keep the last N finished user requests for the control API's "
		 "GET /requests; at most 640 bytes each, allocated at start (the "
		 "default takes 2.5 MiB at most); 0 keeps none"},
	{.name = "admin", .metavar = "ADDR:PORT", .type = OPT_TEXT,
	 .offset = AT(admin), .noun = "address",
	 .help = "serve the control API on this address: HOST:PORT or unix:PATH; "
		 "off loopback it needs --admin-token-file, and --admin-tls-cert "
		 "or --admin-insecure",
	 .default_text = "off"},
	{.name = "admin-token-file", .metavar = "FILE", .type = OPT_TEXT,
	 .offset = AT(admin_token_file), .noun = "file name",
	 .help = "require 'Authorization: Bearer TOKEN' on the control API, "
		 "TOKEN being this file's first line: 1 to 4096 visible ASCII "
		 "characters",
	 .default_text = ""},
	{.name = "admin-tls-cert", .metavar = "FILE", .type = OPT_TEXT,
	 .offset = AT(admin_tls_cert),
	 .help = "serve the control API over HTTPS with the PEM certificate in "
		 "FILE (may be --tls-cert's); needs --admin-tls-key; not for unix:",
	 .default_text = "plain HTTP"},
	{.name = "admin-tls-key", .metavar = "FILE", .type = OPT_TEXT,
	 .offset = AT(admin_tls_key),
	 .help = "the PEM private key of --admin-tls-cert, unencrypted",
	 .default_text = ""},
	{.name = "admin-insecure", .type = OPT_SWITCH, .offset = AT(admin_insecure),
	 .help = "let a control API off loopback take its token over plain HTTP, "
		 "readable by anyone on the path (without it, such an --admin "
		 "needs --admin-tls-cert)",
	 .default_text = ""},
	{.name = "log-level", .short_name = 'l', .metavar = "LEVEL", .type = OPT_PARSED,
	 .reloadable = true, .parse = parse_log_level, .show = show_log_level,
	 .help = "error, warn, info or debug"},
	{.name = "check", .metavar = "URL", .type = OPT_ACTION,
	 .help = "GET URL (http://HOST:PORT/PATH), print its status and exit: 0 "
		 "if it is 200, else 1; a health check for the container image, "
		 "which has no shell or curl",
	 .default_text = ""},
	{.name = "sample", .metavar = "N", .type = OPT_ACTION,
	 .help = "print N delays (1..100000000) drawn from the configured --delay, "
		 "in milliseconds, one per line, and exit; --seed makes them "
		 "reproducible",
	 .default_text = ""},
	{.name = "fit", .metavar = "FILE", .type = OPT_ACTION,
	 .help = "read response times from FILE (plain numbers in ms, JSON lines "
		 "with a duration field, an nginx $request_time or Apache %D access "
		 "log, or a Prometheus histogram scrape), print the quantiles: spec "
		 "that reproduces them, a lognormal: one where it fits, their KS "
		 "distances, and exit",
	 .default_text = ""},
	{.name = "help", .short_name = 'h', .type = OPT_ACTION,
	 .help = "show this help and exit", .default_text = ""},
	{.name = "version", .short_name = 'V', .type = OPT_ACTION,
	 .help = "show the version and exit", .default_text = ""},
};

#define NOPTIONS countof(options)

/* Every value but an address, a file name or the rules fits. */
_Static_assert(CONFIG_VALUE_MAX > FAULT_MIX_TEXT_MAX, "a mix of faults fits");
_Static_assert(CONFIG_VALUE_MAX >= DELAY_TEXT_MAX, "every delay model fits");

/* OPT_UINT values are `unsigned`, the delay model's fields uint32_t. */
_Static_assert(sizeof(unsigned) == sizeof(uint32_t), "unsigned is 32 bits");

/* getopt returns the index into options + this (short options return
 * their letter, mapped back by index_of_short). */
#define LONG_BASE 256

static unsigned *uint_at(struct config *cfg, const struct opt *o)
{
	return (unsigned *)(void *)((char *)cfg + o->offset);
}

static const unsigned *cuint_at(const struct config *cfg, const struct opt *o)
{
	return (const unsigned *)(const void *)((const char *)cfg + o->offset);
}

static bool *bool_at(struct config *cfg, const struct opt *o)
{
	return (bool *)(void *)((char *)cfg + o->offset);
}

void config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->port = CONFIG_DEFAULT_PORT;
	cfg->connection_memory = CONFIG_DEFAULT_CONNECTION_MEMORY;
	cfg->timeout_s = CONFIG_DEFAULT_TIMEOUT_S;
	cfg->dashboard = true;
	cfg->journal = CONFIG_DEFAULT_JOURNAL;
	delay_set_uniform(&cfg->run.delay, CONFIG_DEFAULT_DELAY_MIN_MS,
			  CONFIG_DEFAULT_DELAY_MAX_MS);
	cfg->run.delay.clamp_ms = CONFIG_DEFAULT_DELAY_CLAMP_MS;
	cfg->run.delay_override = true;
	cfg->run.max_batch = CONFIG_DEFAULT_MAX_BATCH;
	cfg->run.hang_timeout_s = CONFIG_DEFAULT_HANG_TIMEOUT_S;
	cfg->run.access_log = ACCESS_LOG_COMMON;
	cfg->run.timer_slack_ms = CONFIG_DEFAULT_TIMER_SLACK_MS;
	cfg->run.drain_timeout_s = CONFIG_DEFAULT_DRAIN_TIMEOUT_S;
	cfg->run.log_level = LOG_LEVEL_INFO;
	cfg->run.queue_max = CAPACITY_UNBOUNDED;
	cfg->run.reject_status = 503;
}

void config_free(struct config *cfg)
{
	free(cfg->config_path);
	free(cfg->check_url);
	free(cfg->fit_path);
	cfg->fit_path = NULL;
	free(cfg->bind);
	free(cfg->admin);
	free(cfg->admin_token_file);
	free(cfg->admin_tls_cert);
	free(cfg->admin_tls_key);
	rules_unref(cfg->rules);
	delay_model_unref(&cfg->run.delay);
	cfg->config_path = NULL;
	cfg->check_url = NULL;
	cfg->bind = NULL;
	cfg->admin = NULL;
	cfg->admin_token_file = NULL;
	cfg->admin_tls_cert = cfg->admin_tls_key = NULL;
	cfg->rules = NULL;
	free(cfg->tls_cert);
	free(cfg->tls_key);
	free(cfg->tls_trust);
	cfg->tls_cert = cfg->tls_key = cfg->tls_trust = NULL;
}

/* Replace *slot with a copy of `value`; false when out of memory. */
static bool set_string(char **slot, const char *value)
{
	char *copy = strdup(value);

	if (copy == NULL)
		return false;
	free(*slot);
	*slot = copy;
	return true;
}

/* Apply option `o` with `arg` (NULL for a switch on the command line);
 * `name` is how messages call it ("--port" on the command line, "port"
 * in a file). */
static bool apply(struct config *cfg, const struct opt *o, const char *name,
		  const char *arg, char *err, size_t errlen)
{
	uint64_t v;

	switch (o->type) {
	case OPT_UINT:
		if (!parse_number(name, arg, o->min, o->max, &v, err, errlen))
			return false;
		*uint_at(cfg, o) = (unsigned)v;
		return true;
	case OPT_SWITCH:
		*bool_at(cfg, o) = !o->negated;
		return true;
	case OPT_RATE:
		return parse_rate(name, arg, (double *)(void *)((char *)cfg + o->offset),
				  err, errlen);
	case OPT_TEXT:
	case OPT_ACTION: /* --config */
		if (*arg == '\0') {
			util_error(err, errlen, "%s: a %s is required", name,
				  o->noun != NULL ? o->noun : "file name");
			return false;
		}
		if (!set_string(o->type == OPT_TEXT
					? (char **)(void *)((char *)cfg + o->offset)
					: &cfg->config_path, arg)) {
			util_error(err, errlen, "%s: out of memory", name);
			return false;
		}
		return true;
	case OPT_PARSED:
		return o->parse(cfg, name, arg, err, errlen);
	}
	return false;
}

/* Is the control API's host (len bytes, brackets removed) reachable only
 * from this machine?  An address counts only as inet_pton(3) writes it
 * (127.0.0.0/8 in dotted quads, ::1, ::ffff:127.x.y.z); "localhost" is
 * taken at its word; any other name, or another way of writing a
 * loopback address ("127.1"), is taken for an address off loopback. */
static bool admin_is_local(const char *host, size_t len)
{
	char text[INET6_ADDRSTRLEN];
	struct in6_addr a6;
	struct in_addr a4;

	if (len == 9 && strncmp(host, "localhost", 9) == 0)
		return true;
	if (len >= sizeof(text))
		return false;
	memcpy(text, host, len);
	text[len] = '\0';
	if (inet_pton(AF_INET, text, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, text, &a6) != 1)
		return false;
	return IN6_IS_ADDR_LOOPBACK(&a6) ||
	       (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
}

bool config_admin_local(const struct config *cfg)
{
	const char *host;
	size_t host_len;
	uint16_t port;

	if (cfg->admin == NULL || strncmp(cfg->admin, "unix:", 5) == 0)
		return true;
	return listener_split(cfg->admin, &host, &host_len, &port) &&
	       admin_is_local(host, host_len);
}

/* The control API's TLS files: both or neither, only with --admin, and
 * not for a unix socket. */
static bool check_admin_tls(const struct config *cfg, char *err, size_t errlen)
{
	if (cfg->admin_tls_cert != NULL && cfg->admin_tls_key == NULL) {
		util_error(err, errlen, "admin-tls-cert needs admin-tls-key");
		return false;
	}
	if (cfg->admin_tls_key != NULL && cfg->admin_tls_cert == NULL) {
		util_error(err, errlen, "admin-tls-key needs admin-tls-cert");
		return false;
	}
	if (cfg->admin_tls_cert == NULL)
		return true;
	if (cfg->admin == NULL) {
		util_error(err, errlen, "admin-tls-cert needs admin");
		return false;
	}
	if (strncmp(cfg->admin, "unix:", 5) == 0) {
		util_error(err, errlen, "admin: %s: a unix: socket is local and takes "
			  "no TLS; drop admin-tls-cert and admin-tls-key", cfg->admin);
		return false;
	}
	return true;
}

/* --admin: HOST:PORT (a port from 0 to 65535) or unix:PATH.  Off
 * loopback it needs a token, and TLS or an explicit --admin-insecure. */
static bool check_admin(const struct config *cfg, char *err, size_t errlen)
{
	const char *a = cfg->admin, *host;
	size_t host_len;
	uint16_t port;

	if (!check_admin_tls(cfg, err, errlen))
		return false;
	if (a == NULL)
		return true;
	if (strncmp(a, "unix:", 5) == 0) {
		if (a[5] != '/' && a[5] != '.') {
			util_error(err, errlen, "admin: '%s': unix: needs a path", a);
			return false;
		}
		return true;
	}
	if (!listener_split(a, &host, &host_len, &port)) {
		util_error(err, errlen, "admin: '%s' is not HOST:PORT or unix:PATH", a);
		return false;
	}
	if (admin_is_local(host, host_len))
		return true;
	if (cfg->admin_token_file == NULL) {
		util_error(err, errlen, "admin: %s is not a loopback address: "
			  "--admin-token-file is required", a);
		return false;
	}
	if (cfg->admin_tls_cert == NULL && !cfg->admin_insecure) {
		util_error(err, errlen, "admin: %s is not a loopback address: over plain "
			  "HTTP its token would cross the network in the clear; give "
			  "--admin-tls-cert and --admin-tls-key, or --admin-insecure", a);
		return false;
	}
	return true;
}

/* Checks and adjustments that involve more than one option.  TLS needs
 * a certificate and its key, and client certificates need TLS.  One
 * given uniform bound moves the other (default) bound along with it, so
 * "--delay-max 0" alone means no delay; both given, they must agree. */
static bool check_consistency(struct config *cfg, char *err, size_t errlen)
{
	struct delay_model *m = &cfg->run.delay;
	double share = cfg->run.error_rate + fault_mix_total(&cfg->run.faults);

	if (cfg->tls_cert != NULL && cfg->tls_key == NULL) {
		util_error(err, errlen, "tls-cert needs tls-key");
		return false;
	}
	if (cfg->tls_key != NULL && cfg->tls_cert == NULL) {
		util_error(err, errlen, "tls-key needs tls-cert");
		return false;
	}
	if (cfg->tls_trust != NULL && cfg->tls_cert == NULL) {
		util_error(err, errlen, "tls-trust needs tls-cert and tls-key");
		return false;
	}
	if (!check_admin(cfg, err, errlen))
		return false;
	if (share > 1.0 + 1e-9) {
		util_error(err, errlen, "error-rate and faults add up to %g, more than 1",
			  share);
		return false;
	}
	if (m->kind != DELAY_UNIFORM || m->min_ms <= m->max_ms)
		return true;
	if (cfg->delay_min_set && !cfg->delay_max_set) {
		m->max_ms = m->min_ms;
		return true;
	}
	if (cfg->delay_max_set && !cfg->delay_min_set) {
		m->min_ms = m->max_ms;
		return true;
	}
	util_error(err, errlen,
		  "delay-min (%" PRIu32 ") is above delay-max (%" PRIu32 ")",
		  m->min_ms, m->max_ms);
	return false;
}

/* ---- the command line ----------------------------------------------------- */

/* getopt's tables, made from `options` once. */
static struct option long_options[NOPTIONS + 1];
static char short_options[2 * NOPTIONS + 2];

static void build_getopt_tables(void)
{
	size_t n = 0;

	if (long_options[0].name != NULL)
		return;
	short_options[n++] = ':'; /* report a missing value as ':' */
	for (size_t i = 0; i < NOPTIONS; i++) {
		const struct opt *o = &options[i];

		long_options[i].name = o->name;
		long_options[i].has_arg = o->metavar != NULL ? required_argument
							     : no_argument;
		long_options[i].flag = NULL;
		long_options[i].val = LONG_BASE + (int)i;
		if (o->short_name != 0) {
			short_options[n++] = (char)o->short_name;
			if (o->metavar != NULL)
				short_options[n++] = ':';
		}
	}
	short_options[n] = '\0';
}

/* The option getopt returned as `val`, or NULL. */
static const struct opt *option_of(int val)
{
	if (val >= LONG_BASE && val < LONG_BASE + (int)NOPTIONS)
		return &options[val - LONG_BASE];
	for (size_t i = 0; i < NOPTIONS; i++)
		if (options[i].short_name == val)
			return &options[i];
	return NULL;
}

enum config_result config_parse_args(struct config *cfg, int argc,
				     char *const argv[], char *err,
				     size_t errlen)
{
	const struct opt *o;
	char name[48];
	int opt;

	build_getopt_tables();
	optind = 0; /* GNU: full re-initialisation, so tests may parse twice */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, short_options, long_options,
				  NULL)) != -1) {
		if (opt == '?') {
			if (optopt != 0)
				util_error(err, errlen, "unknown option '-%c'", optopt);
			else
				util_error(err, errlen, "unknown option '%s'",
					  argv[optind - 1]);
			return CONFIG_USAGE_ERROR;
		}
		if (opt == ':') {
			util_error(err, errlen, "option '%s' needs a value",
				  argv[optind - 1]);
			return CONFIG_USAGE_ERROR;
		}
		o = option_of(opt);
		assert(o != NULL);
		if (strcmp(o->name, "help") == 0)
			return CONFIG_HELP;
		if (strcmp(o->name, "version") == 0)
			return CONFIG_VERSION;
		if (strcmp(o->name, "check") == 0) {
			if (!set_string(&cfg->check_url, optarg)) {
				util_error(err, errlen, "out of memory");
				return CONFIG_USAGE_ERROR;
			}
			return CONFIG_CHECK;
		}
		if (strcmp(o->name, "fit") == 0) {
			if (!set_string(&cfg->fit_path, optarg)) {
				util_error(err, errlen, "out of memory");
				return CONFIG_USAGE_ERROR;
			}
			return CONFIG_FIT;
		}
		if (strcmp(o->name, "sample") == 0) {
			/* The options after it count: config_load says
			 * CONFIG_SAMPLE once the configuration is whole. */
			uint64_t n;

			if (!parse_number("--sample", optarg, 1, CONFIG_MAX_SAMPLE, &n,
					  err, errlen))
				return CONFIG_USAGE_ERROR;
			cfg->sample_count = (unsigned)n;
			continue;
		}
		snprintf(name, sizeof(name), "--%s", o->name);
		if (!apply(cfg, o, name, optarg, err, errlen))
			return cfg->bad_file ? CONFIG_FILE_ERROR : CONFIG_USAGE_ERROR;
	}
	if (optind < argc) {
		util_error(err, errlen, "unexpected argument '%s'", argv[optind]);
		return CONFIG_USAGE_ERROR;
	}
	return CONFIG_OK;
}

/* ---- the config file -------------------------------------------------------- */

/* Longest line a config file may have. */
#define LINE_MAX_LEN 1024

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' ||
			   end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	return s;
}

/* The option that may be file key `key`, or NULL. */
static const struct opt *file_key(const char *key)
{
	for (size_t i = 0; i < NOPTIONS; i++)
		if (options[i].type != OPT_ACTION && strcmp(options[i].name, key) == 0)
			return &options[i];
	return NULL;
}

/* Set option `o` from `value` as a config file says it ("yes" or "no"
 * for a switch); false with a message in err. */
static bool set_value(struct config *cfg, const struct opt *o, const char *key,
		      const char *value, char *err, size_t errlen)
{
	if (*value == '\0') {
		util_error(err, errlen, "%s: a value is required", key);
		return false;
	}
	if (o->type == OPT_SWITCH) {
		/* A switch on the command line; "yes" or "no" in a file. */
		bool yes = strcmp(value, "yes") == 0;

		if (!yes && strcmp(value, "no") != 0) {
			util_error(err, errlen, "%s: '%.40s' is not yes or no", key, value);
			return false;
		}
		*bool_at(cfg, o) = o->negated ? !yes : yes;
		return true;
	}
	return apply(cfg, o, key, value, err, errlen);
}

/* Apply one line of `len` bytes; false with a message in err. */
static bool parse_line(struct config *cfg, char *line, size_t len, char *err,
		       size_t errlen)
{
	const struct opt *o;
	char *eq, *key, *value, *hash;

	if (len > LINE_MAX_LEN) {
		util_error(err, errlen, "line longer than %d bytes", LINE_MAX_LEN);
		return false;
	}
	if (strlen(line) != len) {
		util_error(err, errlen, "NUL byte in line");
		return false;
	}
	hash = strchr(line, '#');
	if (hash != NULL)
		*hash = '\0';
	line = trim(line);
	if (*line == '\0')
		return true; /* blank or comment */
	eq = strchr(line, '=');
	if (eq == NULL) {
		util_error(err, errlen, "expected 'key = value'");
		return false;
	}
	*eq = '\0';
	key = trim(line);
	value = trim(eq + 1);
	o = file_key(key);
	if (o == NULL) {
		util_error(err, errlen, "unknown key '%s'", key);
		return false;
	}
	return set_value(cfg, o, key, value, err, errlen);
}

enum config_result config_parse_file(struct config *cfg, const char *path,
				     char *err, size_t errlen)
{
	enum config_result r = CONFIG_OK;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned lineno = 0;
	char msg[256];
	FILE *f;

	f = fopen(path, "r");
	if (f == NULL) {
		util_error(err, errlen, "%s: %s", path, strerror(errno));
		return CONFIG_FILE_ERROR;
	}
	errno = 0;
	while ((len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		if (!parse_line(cfg, line, (size_t)len, msg, sizeof(msg))) {
			util_error(err, errlen, "%s:%u: %s", path, lineno, msg);
			r = CONFIG_FILE_ERROR;
			break;
		}
	}
	if (r == CONFIG_OK && ferror(f)) {
		util_error(err, errlen, "%s: %s", path, strerror(errno));
		r = CONFIG_FILE_ERROR;
	}
	free(line);
	fclose(f);
	return r;
}

enum config_result config_load(struct config *cfg, int argc, char *const argv[],
			       char *err, size_t errlen)
{
	enum config_result r;
	char msg[192];
	char *path;

	/* First pass: find --config, and any usage error, --help or
	 * --version. */
	config_defaults(cfg);
	r = config_parse_args(cfg, argc, argv, err, errlen);
	if (r == CONFIG_OK && cfg->config_path != NULL) {
		/* Second pass: defaults, then the file, then the command line
		 * again so that it wins. */
		path = cfg->config_path;
		cfg->config_path = NULL;
		config_free(cfg);
		config_defaults(cfg);
		r = config_parse_file(cfg, path, err, errlen);
		free(path);
		if (r == CONFIG_OK)
			r = config_parse_args(cfg, argc, argv, err, errlen);
	}
	if (r == CONFIG_OK && !check_consistency(cfg, msg, sizeof(msg))) {
		/* With a file in play, name it: that is where to look. */
		if (cfg->config_path != NULL) {
			util_error(err, errlen, "%s: %s", cfg->config_path, msg);
			r = CONFIG_FILE_ERROR;
		} else {
			util_error(err, errlen, "%s", msg);
			r = CONFIG_USAGE_ERROR;
		}
	}
	if (r == CONFIG_OK && cfg->sample_count > 0)
		r = CONFIG_SAMPLE;
	if (r == CONFIG_USAGE_ERROR || r == CONFIG_FILE_ERROR) {
		config_free(cfg);
		config_defaults(cfg);
	}
	return r;
}

/* ---- values, differences, help ------------------------------------------ */

size_t config_option_count(void)
{
	return NOPTIONS;
}

const char *config_option_name(size_t i)
{
	assert(i < NOPTIONS);
	return options[i].name;
}

bool config_option_reloadable(size_t i)
{
	assert(i < NOPTIONS);
	return options[i].reloadable;
}

bool config_option_in_file(size_t i)
{
	assert(i < NOPTIONS);
	return options[i].type != OPT_ACTION;
}

enum config_value_kind config_option_kind(size_t i)
{
	assert(i < NOPTIONS);
	switch (options[i].type) {
	case OPT_UINT:
	case OPT_RATE:
		return CONFIG_VALUE_NUMBER;
	case OPT_SWITCH:
		return CONFIG_VALUE_BOOL;
	case OPT_TEXT:
	case OPT_PARSED:
	case OPT_ACTION:
		return CONFIG_VALUE_STRING;
	}
	assert(0);
	return CONFIG_VALUE_STRING;
}

bool config_set(struct config *cfg, const char *name, const char *text, char *err,
		size_t errlen)
{
	const struct opt *o = file_key(name);

	if (o == NULL) {
		util_error(err, errlen, "unknown setting");
		return false;
	}
	if (!o->reloadable) {
		util_error(err, errlen, "not changeable while running: give it on the "
			  "command line or in the config file and restart");
		return false;
	}
	return set_value(cfg, o, name, text, err, errlen);
}

bool config_check(struct config *cfg, char *err, size_t errlen)
{
	return check_consistency(cfg, err, errlen);
}

bool config_option_value(const struct config *cfg, size_t i, char *buf, size_t len)
{
	const struct opt *o;

	assert(i < NOPTIONS && len > 0);
	o = &options[i];
	buf[0] = '\0';
	switch (o->type) {
	case OPT_UINT:
		snprintf(buf, len, "%u", *cuint_at(cfg, o));
		return true;
	case OPT_SWITCH: {
		bool v = *(const bool *)(const void *)((const char *)cfg + o->offset);

		snprintf(buf, len, "%s", v != o->negated ? "yes" : "no");
		return true;
	}
	case OPT_RATE: {
		char share[DECIMAL_SHARE_MAX + 1];

		decimal_share_format(*(const double *)(const void *)((const char *)cfg + o->offset),
				     share, sizeof(share));
		snprintf(buf, len, "%s", share);
		return true;
	}
	case OPT_TEXT: {
		const char *s = *(char *const *)(const void *)((const char *)cfg + o->offset);

		snprintf(buf, len, "%s", s != NULL ? s : "");
		return true;
	}
	case OPT_PARSED:
		if (o->show == NULL)
			return false;
		o->show(cfg, buf, len);
		return true;
	case OPT_ACTION:
		break;
	}
	return false;
}

/* Append `text` to buf (of `len`, holding `*used` bytes), after ", " when
 * something is there already. */
static void append(char *buf, size_t len, size_t *used, const char *text)
{
	int n = snprintf(buf + *used, len - *used, "%s%s", *used > 0 ? ", " : "", text);

	if (n > 0)
		*used += (size_t)n < len - *used ? (size_t)n : len - *used - 1;
}

/* Does the i-th option's value differ between a and b?  Addresses, file
 * names and rules are compared whole, the rest by their text. */
static bool option_differs(const struct config *a, const struct config *b, size_t i)
{
	const struct opt *o = &options[i];
	char va[CONFIG_VALUE_MAX], vb[CONFIG_VALUE_MAX];

	if (o->type == OPT_TEXT) {
		const char *sa = *(char *const *)(const void *)((const char *)a + o->offset);
		const char *sb = *(char *const *)(const void *)((const char *)b + o->offset);

		return (sa == NULL) != (sb == NULL) || (sa != NULL && strcmp(sa, sb) != 0);
	}
	if (o->show == show_rules)
		return !rules_equal(a->rules, b->rules);
	if (!config_option_value(a, i, va, sizeof(va)))
		return false;
	config_option_value(b, i, vb, sizeof(vb));
	return strcmp(va, vb) != 0;
}

size_t config_diff(const struct config *a, const struct config *b,
		   bool reloadable, char *buf, size_t len)
{
	size_t used = 0, n = 0;

	assert(len > 0);
	buf[0] = '\0';
	for (size_t i = 0; i < NOPTIONS; i++) {
		if (options[i].reloadable != reloadable)
			continue;
		if (option_differs(a, b, i)) {
			append(buf, len, &used, options[i].name);
			n++;
		}
	}
	return n;
}

void config_describe_run(const struct config *cfg, char *buf, size_t len)
{
	char v[CONFIG_VALUE_MAX], pair[CONFIG_VALUE_MAX + 32];
	size_t used = 0;

	assert(len > 0);
	buf[0] = '\0';
	for (size_t i = 0; i < NOPTIONS; i++) {
		if (!options[i].reloadable || !config_option_value(cfg, i, v, sizeof(v)))
			continue;
		snprintf(pair, sizeof(pair), "%s %s", options[i].name, v);
		append(buf, len, &used, pair);
	}
}

void config_usage_hint(FILE *out)
{
	fputs("Usage: userd [OPTION]...\n"
	      "Try 'userd --help' for more information.\n",
	      out);
}

/* Help columns: options from 2, their text from HELP_COL, up to WIDTH. */
#define HELP_COL 28
#define HELP_WIDTH 79

/* Print `text` word-wrapped: the cursor is at column `at`; continuation
 * lines start at column `indent`. */
static void print_wrapped(FILE *out, const char *text, int at, int indent)
{
	bool first = true;

	while (*text != '\0') {
		size_t word = strcspn(text, " ");

		if (!first && at + 1 + (int)word > HELP_WIDTH) {
			fprintf(out, "\n%*s", indent, "");
			at = indent;
		} else if (!first) {
			fputc(' ', out);
			at++;
		}
		fprintf(out, "%.*s", (int)word, text);
		at += (int)word;
		text += word;
		while (*text == ' ')
			text++;
		first = false;
	}
	fputc('\n', out);
}

void config_usage(FILE *out)
{
	struct config defaults;

	config_defaults(&defaults);
	fputs("Usage: userd [OPTION]...\n"
	      "Serve simulated user records over HTTP after a simulated backend delay.\n"
	      "\n"
	      "  GET /user/<id>       {\"user_id\": <id>, \"name\": \"User<id>\", \"age\": <20..40>}\n"
	      "                       after a delay drawn per request\n"
	      "  GET /users?ids=1,2,3 the records, fetched concurrently: after the longest\n"
	      "  query ?delay=MS sets the delay, ?fail=1 forces a 503 after it\n"
	      "  GET /healthz, /readyz, /metrics (Prometheus) answer at once\n"
	      "  GET /                a live page of what is waiting; GET /live its JSON\n"
	      "\n"
	      "Options (a config file takes the long names as keys, 'yes' or 'no' for\n"
	      "the switches; a * marks what SIGHUP applies without a restart):\n",
	      out);
	for (size_t i = 0; i < NOPTIONS; i++) {
		const struct opt *o = &options[i];
		char text[1024], value[CONFIG_VALUE_MAX];
		int at;

		if (o->short_name != 0)
			at = fprintf(out, "  -%c, --%s", o->short_name, o->name);
		else
			at = fprintf(out, "      --%s", o->name);
		if (o->metavar != NULL)
			at += fprintf(out, " %s", o->metavar);
		if (o->reloadable)
			at += fprintf(out, " *");
		if (at >= HELP_COL) {
			fprintf(out, "\n%*s", HELP_COL, "");
			at = HELP_COL;
		} else {
			at += fprintf(out, "%*s", HELP_COL - at, "");
		}
		if (o->default_text != NULL)
			snprintf(value, sizeof(value), "%s", o->default_text);
		else
			config_option_value(&defaults, i, value, sizeof(value));
		snprintf(text, sizeof(text), "%s%s%s%s", o->help,
			 value[0] != '\0' ? " (default: " : "", value,
			 value[0] != '\0' ? ")" : "");
		print_wrapped(out, text, at, HELP_COL + 2);
	}
	fputs("\n"
	      "Signals: SIGTERM and SIGINT drain and exit 0; a second one answers what is\n"
	      "still waiting with 503 at once.  SIGHUP re-reads the config file and\n"
	      "applies the settings marked *.\n"
	      "Exit status: 0 after a clean drain, 64 for a bad command line, 78 for a\n"
	      "bad config file, TLS file or token file, 1 when the service cannot\n"
	      "start (for example, the port is in use).\n",
	      out);
	config_free(&defaults);
}
