/* config.c - defaults and command-line parsing; see config.h. */
#include "config.h"
#include "decimal.h"
#include "request.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum {
	OPT_CONFIG = 'f',
	OPT_DELAY_MIN = 256,
	OPT_DELAY_MAX,
	OPT_TIMEOUT,
	OPT_DRAIN_TIMEOUT,
	OPT_MAX_DELAY,
	OPT_NO_DELAY_OVERRIDE,
	OPT_ERROR_RATE,
	OPT_MAX_BATCH,
	OPT_ACCESS_LOG,
	OPT_TIMER_SLACK,
	OPT_REUSE_PORT,
	OPT_CONNECTION_MEMORY,
	OPT_NO_DASHBOARD, /* issue 15 */
};

static const struct option long_options[] = {
	{"config", required_argument, NULL, OPT_CONFIG},
	{"bind", required_argument, NULL, 'b'},
	{"port", required_argument, NULL, 'p'},
	{"reuse-port", no_argument, NULL, OPT_REUSE_PORT},
	{"delay", required_argument, NULL, 'd'},
	{"delay-min", required_argument, NULL, OPT_DELAY_MIN},
	{"delay-max", required_argument, NULL, OPT_DELAY_MAX},
	{"max-delay", required_argument, NULL, OPT_MAX_DELAY},
	{"no-delay-override", no_argument, NULL, OPT_NO_DELAY_OVERRIDE},
	{"no-dashboard", no_argument, NULL, OPT_NO_DASHBOARD}, /* issue 15 */
	{"error-rate", required_argument, NULL, OPT_ERROR_RATE},
	{"max-batch", required_argument, NULL, OPT_MAX_BATCH},
	{"access-log", required_argument, NULL, OPT_ACCESS_LOG},
	{"timer-slack", required_argument, NULL, OPT_TIMER_SLACK},
	{"seed", required_argument, NULL, 's'},
	{"threads", required_argument, NULL, 't'},
	{"max-connections", required_argument, NULL, 'c'},
	{"connection-memory", required_argument, NULL, OPT_CONNECTION_MEMORY},
	{"timeout", required_argument, NULL, OPT_TIMEOUT},
	{"drain-timeout", required_argument, NULL, OPT_DRAIN_TIMEOUT},
	{"log-level", required_argument, NULL, 'l'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{NULL, 0, NULL, 0},
};

static const char short_options[] = ":f:b:p:d:s:t:c:l:hV";

void config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->port = CONFIG_DEFAULT_PORT;
	delay_set_uniform(&cfg->delay, CONFIG_DEFAULT_DELAY_MIN_MS,
			  CONFIG_DEFAULT_DELAY_MAX_MS);
	cfg->delay.cap_ms = CONFIG_DEFAULT_MAX_DELAY_MS;
	cfg->delay_override = true;
	cfg->dashboard = true; /* issue 15 */
	cfg->max_batch = CONFIG_DEFAULT_MAX_BATCH;
	cfg->access_log = ACCESS_LOG_COMMON;
	cfg->timer_slack_us = CONFIG_DEFAULT_TIMER_SLACK_US;
	cfg->connection_memory = CONFIG_DEFAULT_CONNECTION_MEMORY;
	cfg->timeout_s = CONFIG_DEFAULT_TIMEOUT_S;
	cfg->drain_timeout_s = CONFIG_DEFAULT_DRAIN_TIMEOUT_S;
	cfg->log_level = LOG_LEVEL_INFO;
}

void config_free(struct config *cfg)
{
	free(cfg->config_path);
	free(cfg->bind);
	cfg->config_path = NULL;
	cfg->bind = NULL;
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

static void set_error(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Parse a plain decimal number in [min, max]: digits only, no sign, no
 * spaces.  Returns true and sets *out, or writes a message naming
 * `option` into err. */
static bool parse_number(const char *option, const char *text, uint64_t min,
			 uint64_t max, uint64_t *out, char *err, size_t errlen)
{
	enum decimal_result r;
	uint64_t v = 0;

	if (*text == '\0') {
		set_error(err, errlen, "%s: a number is required", option);
		return false;
	}
	r = decimal_parse(text, strlen(text), max, &v);
	if (r == DECIMAL_INVALID) {
		set_error(err, errlen, "%s: '%s' is not a number", option, text);
		return false;
	}
	if (r == DECIMAL_TOO_BIG || v < min) {
		set_error(err, errlen,
			  "%s: '%s' is out of range (%" PRIu64 "..%" PRIu64 ")",
			  option, text, min, max);
		return false;
	}
	*out = v;
	return true;
}

/* Parse a share from 0 to 1 ("0", "0.05", "1", ".5"): digits and at most
 * one point, nothing else. */
static bool parse_rate(const char *name, const char *text, double *out,
		       char *err, size_t errlen)
{
	double v = 0, scale = 1;
	bool point = false, digits = false;

	for (const char *p = text; *p != '\0'; p++) {
		if (*p == '.' && !point) {
			point = true;
		} else if (*p >= '0' && *p <= '9' && (p - text) < 20) {
			digits = true;
			if (point) {
				scale /= 10;
				v += (*p - '0') * scale;
			} else {
				v = v * 10 + (*p - '0');
			}
		} else {
			digits = false;
			break;
		}
	}
	if (!digits || v > 1.0) {
		set_error(err, errlen, "%s: '%s' is not a number from 0 to 1",
			  name, text);
		return false;
	}
	*out = v;
	return true;
}

const char *config_access_log_name(enum access_log_format f)
{
	switch (f) {
	case ACCESS_LOG_COMMON:
		return "common";
	case ACCESS_LOG_JSON:
		return "json";
	case ACCESS_LOG_OFF:
	default:
		return "off";
	}
}

/* The long option whose name is `name`, or NULL. */
static const struct option *find_option(const char *name)
{
	for (const struct option *o = long_options; o->name != NULL; o++)
		if (strcmp(o->name, name) == 0)
			return o;
	return NULL;
}

/* "--name" for the option with value `opt`, for messages. */
static void option_name(int opt, char *buf, size_t len)
{
	for (const struct option *o = long_options; o->name != NULL; o++) {
		if (o->val == opt) {
			snprintf(buf, len, "--%s", o->name);
			return;
		}
	}
	snprintf(buf, len, "-%c", opt);
}

/* Apply one setting; `name` is how messages call it ("--port" on the
 * command line, "port" in a file). */
static bool apply_option(struct config *cfg, int opt, const char *name,
			 const char *arg, char *err, size_t errlen)
{
	uint64_t v;

	switch (opt) {
	case OPT_CONFIG:
	case 'b':
		if (*arg == '\0') {
			set_error(err, errlen, "%s: a %s is required", name,
				  opt == 'b' ? "address" : "file name");
			return false;
		}
		if (!set_string(opt == 'b' ? &cfg->bind : &cfg->config_path, arg)) {
			set_error(err, errlen, "%s: out of memory", name);
			return false;
		}
		return true;
	case 'p':
		if (!parse_number(name, arg, 0, 65535, &v, err, errlen))
			return false;
		cfg->port = (uint16_t)v;
		return true;
	case OPT_DELAY_MIN:
		if (!parse_number(name, arg, 0, DELAY_MAX_MS, &v, err, errlen))
			return false;
		delay_set_uniform(&cfg->delay, (uint32_t)v, cfg->delay.max_ms);
		cfg->delay_min_set = true;
		return true;
	case OPT_DELAY_MAX:
		if (!parse_number(name, arg, 0, DELAY_MAX_MS, &v, err, errlen))
			return false;
		delay_set_uniform(&cfg->delay, cfg->delay.min_ms, (uint32_t)v);
		cfg->delay_max_set = true;
		return true;
	case 'd': {
		char msg[160];

		if (!delay_model_parse(arg, &cfg->delay, msg, sizeof(msg))) {
			set_error(err, errlen, "%s: %s", name, msg);
			return false;
		}
		/* A uniform model names both bounds. */
		cfg->delay_min_set = cfg->delay_max_set =
			cfg->delay.kind == DELAY_UNIFORM;
		return true;
	}
	case OPT_MAX_DELAY:
		if (!parse_number(name, arg, 0, DELAY_MAX_MS, &v, err, errlen))
			return false;
		cfg->delay.cap_ms = (uint32_t)v;
		return true;
	case OPT_NO_DELAY_OVERRIDE:
		cfg->delay_override = false;
		return true;
	case OPT_REUSE_PORT:
		cfg->reuse_port = true;
		return true;
	case OPT_NO_DASHBOARD: /* issue 15 */
		cfg->dashboard = false;
		return true;
	case OPT_CONNECTION_MEMORY:
		if (!parse_number(name, arg, CONFIG_MIN_CONNECTION_MEMORY,
				  CONFIG_MAX_CONNECTION_MEMORY, &v, err, errlen))
			return false;
		cfg->connection_memory = (unsigned)v;
		return true;
	case OPT_ERROR_RATE:
		return parse_rate(name, arg, &cfg->error_rate, err, errlen);
	case OPT_MAX_BATCH:
		if (!parse_number(name, arg, 1, REQUEST_MAX_BATCH, &v, err, errlen))
			return false;
		cfg->max_batch = (unsigned)v;
		return true;
	case OPT_ACCESS_LOG:
		for (int f = ACCESS_LOG_OFF; f <= ACCESS_LOG_JSON; f++) {
			if (strcmp(arg, config_access_log_name(f)) == 0) {
				cfg->access_log = (enum access_log_format)f;
				return true;
			}
		}
		set_error(err, errlen, "%s: '%s' is not one of off, common, json",
			  name, arg);
		return false;
	case OPT_TIMER_SLACK:
		if (!parse_number(name, arg, 0, CONFIG_MAX_TIMER_SLACK_MS, &v, err,
				  errlen))
			return false;
		cfg->timer_slack_us = (uint32_t)v * 1000u;
		return true;
	case 's':
		if (!parse_number(name, arg, 0, UINT64_MAX, &v, err, errlen))
			return false;
		cfg->seed = v;
		cfg->seeded = true;
		return true;
	case 't':
		if (!parse_number(name, arg, 1, CONFIG_MAX_THREADS, &v, err, errlen))
			return false;
		cfg->threads = (unsigned)v;
		return true;
	case 'c':
		if (!parse_number(name, arg, 1, CONFIG_MAX_CONNECTIONS, &v, err,
				  errlen))
			return false;
		cfg->max_connections = (unsigned)v;
		return true;
	case OPT_TIMEOUT:
		if (!parse_number(name, arg, 0, 86400, &v, err, errlen))
			return false;
		cfg->timeout_s = (unsigned)v;
		return true;
	case OPT_DRAIN_TIMEOUT:
		if (!parse_number(name, arg, 0, 86400, &v, err, errlen))
			return false;
		cfg->drain_timeout_s = (unsigned)v;
		return true;
	case 'l':
		if (!log_level_parse(arg, &cfg->log_level)) {
			set_error(err, errlen,
				  "%s: '%s' is not one of error, warn, info, debug",
				  name, arg);
			return false;
		}
		return true;
	default:
		set_error(err, errlen, "unhandled option");
		return false;
	}
}

/* Checks and adjustments that involve more than one option.  One given
 * uniform bound moves the other (default) bound along with it, so
 * "--delay-max 0" alone means no delay; both given, they must agree. */
static bool check_consistency(struct config *cfg, char *err, size_t errlen)
{
	struct delay_model *m = &cfg->delay;

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
	set_error(err, errlen,
		  "delay-min (%" PRIu32 ") is above delay-max (%" PRIu32 ")",
		  m->min_ms, m->max_ms);
	return false;
}

enum config_result config_parse_args(struct config *cfg, int argc,
				     char *const argv[], char *err,
				     size_t errlen)
{
	char name[32];
	int opt;

	optind = 0; /* GNU: full re-initialisation, so tests may parse twice */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, short_options, long_options,
				  NULL)) != -1) {
		switch (opt) {
		case 'h':
			return CONFIG_HELP;
		case 'V':
			return CONFIG_VERSION;
		case '?':
			if (optopt != 0)
				set_error(err, errlen, "unknown option '-%c'", optopt);
			else
				set_error(err, errlen, "unknown option '%s'",
					  argv[optind - 1]);
			return CONFIG_USAGE_ERROR;
		case ':':
			set_error(err, errlen, "option '%s' needs a value",
				  argv[optind - 1]);
			return CONFIG_USAGE_ERROR;
		default:
			option_name(opt, name, sizeof(name));
			if (!apply_option(cfg, opt, name, optarg, err, errlen))
				return CONFIG_USAGE_ERROR;
		}
	}
	if (optind < argc) {
		set_error(err, errlen, "unexpected argument '%s'", argv[optind]);
		return CONFIG_USAGE_ERROR;
	}
	return CONFIG_OK;
}

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

/* Apply one line of `len` bytes; false with a message in err. */
static bool parse_line(struct config *cfg, char *line, size_t len, char *err,
		       size_t errlen)
{
	const struct option *o;
	char *eq, *key, *value, *hash;

	if (len > LINE_MAX_LEN) {
		set_error(err, errlen, "line longer than %d bytes", LINE_MAX_LEN);
		return false;
	}
	if (strlen(line) != len) {
		set_error(err, errlen, "NUL byte in line");
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
		set_error(err, errlen, "expected 'key = value'");
		return false;
	}
	*eq = '\0';
	key = trim(line);
	value = trim(eq + 1);
	o = find_option(key);
	if (o == NULL || o->val == OPT_CONFIG ||
	    (o->has_arg != required_argument && o->val != OPT_NO_DELAY_OVERRIDE &&
	     o->val != OPT_REUSE_PORT && o->val != OPT_NO_DASHBOARD)) {
		set_error(err, errlen, "unknown key '%s'", key);
		return false;
	}
	if (*value == '\0') {
		set_error(err, errlen, "%s: a value is required", key);
		return false;
	}
	if (o->has_arg == no_argument) {
		/* A switch on the command line; "yes" or "no" in a file. */
		bool yes = strcmp(value, "yes") == 0;

		if (!yes && strcmp(value, "no") != 0) {
			set_error(err, errlen, "%s: '%s' is not yes or no", key, value);
			return false;
		}
		if (o->val == OPT_REUSE_PORT)
			cfg->reuse_port = yes;
		else if (o->val == OPT_NO_DASHBOARD) /* issue 15 */
			cfg->dashboard = !yes;
		else
			cfg->delay_override = !yes;
		return true;
	}
	return apply_option(cfg, o->val, key, value, err, errlen);
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
		set_error(err, errlen, "%s: %s", path, strerror(errno));
		return CONFIG_FILE_ERROR;
	}
	errno = 0;
	while ((len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		if (!parse_line(cfg, line, (size_t)len, msg, sizeof(msg))) {
			set_error(err, errlen, "%s:%u: %s", path, lineno, msg);
			r = CONFIG_FILE_ERROR;
			break;
		}
	}
	if (r == CONFIG_OK && ferror(f)) {
		set_error(err, errlen, "%s: %s", path, strerror(errno));
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
			set_error(err, errlen, "%s: %s", cfg->config_path, msg);
			r = CONFIG_FILE_ERROR;
		} else {
			set_error(err, errlen, "%s", msg);
			r = CONFIG_USAGE_ERROR;
		}
	}
	if (r == CONFIG_USAGE_ERROR || r == CONFIG_FILE_ERROR) {
		config_free(cfg);
		config_defaults(cfg);
	}
	return r;
}

void config_usage_hint(FILE *out)
{
	fputs("Usage: userd [OPTION]...\n"
	      "Try 'userd --help' for more information.\n",
	      out);
}

void config_usage(FILE *out)
{
	fprintf(out,
		"Usage: userd [OPTION]...\n"
		"Serve simulated user records over HTTP after a simulated backend delay.\n"
		"\n"
		"  GET /user/<id>       {\"user_id\": <id>, \"name\": \"User<id>\", \"age\": <20..40>}\n"
		"                       after a delay drawn per request\n"
		"  GET /users?ids=1,2,3 the records, fetched concurrently: after the longest\n"
		"  query ?delay=MS sets the delay, ?fail=1 forces a 503 after it\n"
		"  GET /healthz, /readyz, /metrics (Prometheus) answer at once\n"
		"  GET /               a live page of what is waiting, in flight and done;\n"
		"                       it polls GET /live (JSON)\n"
		"\n"
		"Options:\n"
		"  -f, --config FILE         read settings from FILE first ('key = value'\n"
		"                              lines named like the long options); the\n"
		"                              command line overrides it\n"
		"  -b, --bind ADDR           address to listen on (default: every interface,\n"
		"                              IPv6 and IPv4)\n"
		"  -p, --port N              TCP port, 0 picks a free one (default: %d)\n"
		"      --reuse-port          let several userd processes share the port\n"
		"                              (SO_REUSEPORT); the kernel spreads clients\n"
		"  -d, --delay MODEL         how delays are drawn, in milliseconds:\n"
		"                              fixed:MS, uniform:MIN:MAX (default\n"
		"                              uniform:%d:%d) or lognormal:MEDIAN:P99\n"
		"      --delay-min MS        the uniform model's lower bound\n"
		"      --delay-max MS        the uniform model's upper bound (one bound\n"
		"                              alone moves the other if they cross)\n"
		"      --max-delay MS        clamp every delay, including ?delay=, to this\n"
		"                              (default: %d; at most %u)\n"
		"      --no-delay-override   ignore the ?delay=MS query parameter\n"
		"      --no-dashboard        do not serve the live page (GET /) nor its\n"
		"                              data (GET /live): both answer 404\n"
		"      --error-rate R        answer this share (0..1) of requests with 503\n"
		"                              after their delay (default: 0)\n"
		"      --max-batch N         most ids in one /users request (default: %d)\n"
		"      --access-log FORMAT   off, common or json, on stderr (default: common)\n"
		"      --timer-slack MS      resume waiting requests up to MS after their\n"
		"                              deadline, in batches: less CPU, a little\n"
		"                              later (default: %u; 0 = exact)\n"
		"  -s, --seed N              seed the random delays and ages; the same seed\n"
		"                              and the same requests on one connection give\n"
		"                              the same answers (default: random)\n"
		"  -t, --threads N           HTTP worker threads (default: one per CPU this\n"
		"                              process may run on)\n"
		"  -c, --max-connections N   most connections at once (default: sized from\n"
		"                              the open-file limit, raised to its maximum)\n"
		"      --connection-memory BYTES\n"
		"                            buffer for one connection's request and\n"
		"                              response headers; larger requests get\n"
		"                              414 or 431 (default: %d)\n"
		"      --timeout SECONDS     close idle connections after this long;\n"
		"                              0 never (default: %d)\n"
		"      --drain-timeout SECONDS\n"
		"                            on SIGTERM, wait this long for delayed\n"
		"                              requests, then answer the rest with 503\n"
		"                              (default: %d)\n"
		"  -l, --log-level LEVEL     error, warn, info or debug (default: info)\n"
		"  -h, --help                show this help and exit\n"
		"  -V, --version             show the version and exit\n"
		"\n"
		"Signals: SIGTERM and SIGINT drain and exit 0; a second one answers what is\n"
		"still waiting with 503 at once.  SIGHUP re-reads the config file and\n"
		"applies the delays and the log level.\n"
		"Exit status: 0 after a clean drain, 64 for a bad command line, 78 for a\n"
		"bad config file, 1 when the service cannot start (for example, the port\n"
		"is in use).\n",
		CONFIG_DEFAULT_PORT, CONFIG_DEFAULT_DELAY_MIN_MS,
		CONFIG_DEFAULT_DELAY_MAX_MS, CONFIG_DEFAULT_MAX_DELAY_MS, DELAY_MAX_MS,
		CONFIG_DEFAULT_MAX_BATCH, CONFIG_DEFAULT_TIMER_SLACK_US / 1000u,
		CONFIG_DEFAULT_CONNECTION_MEMORY, CONFIG_DEFAULT_TIMEOUT_S,
		CONFIG_DEFAULT_DRAIN_TIMEOUT_S);
}
