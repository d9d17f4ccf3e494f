/* config.c - defaults and command-line parsing; see config.h. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum {
	OPT_DELAY_MIN = 256,
	OPT_DELAY_MAX,
	OPT_TIMEOUT,
	OPT_DRAIN_TIMEOUT,
};

static const struct option long_options[] = {
	{"bind", required_argument, NULL, 'b'},
	{"port", required_argument, NULL, 'p'},
	{"delay-min", required_argument, NULL, OPT_DELAY_MIN},
	{"delay-max", required_argument, NULL, OPT_DELAY_MAX},
	{"seed", required_argument, NULL, 's'},
	{"threads", required_argument, NULL, 't'},
	{"max-connections", required_argument, NULL, 'c'},
	{"timeout", required_argument, NULL, OPT_TIMEOUT},
	{"drain-timeout", required_argument, NULL, OPT_DRAIN_TIMEOUT},
	{"log-level", required_argument, NULL, 'l'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{NULL, 0, NULL, 0},
};

static const char short_options[] = ":b:p:s:t:c:l:hV";

void config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->port = CONFIG_DEFAULT_PORT;
	cfg->delay.min_ms = CONFIG_DEFAULT_DELAY_MIN_MS;
	cfg->delay.max_ms = CONFIG_DEFAULT_DELAY_MAX_MS;
	cfg->timeout_s = CONFIG_DEFAULT_TIMEOUT_S;
	cfg->drain_timeout_s = CONFIG_DEFAULT_DRAIN_TIMEOUT_S;
	cfg->log_level = LOG_LEVEL_INFO;
}

void config_free(struct config *cfg)
{
	free(cfg->bind);
	cfg->bind = NULL;
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
	uint64_t v = 0;
	bool overflow = false;
	const char *p = text;

	if (*p == '\0') {
		set_error(err, errlen, "%s: a number is required", option);
		return false;
	}
	for (; *p != '\0'; p++) {
		unsigned d = (unsigned)(unsigned char)*p - '0';

		if (d > 9) {
			set_error(err, errlen, "%s: '%s' is not a number",
				  option, text);
			return false;
		}
		if (v > (UINT64_MAX - d) / 10)
			overflow = true;
		v = v * 10 + d;
	}
	if (overflow || v < min || v > max) {
		set_error(err, errlen,
			  "%s: '%s' is out of range (%" PRIu64 "..%" PRIu64 ")",
			  option, text, min, max);
		return false;
	}
	*out = v;
	return true;
}

/* The option's name as the user typed it, for messages. */
static const char *option_name(int opt, char *buf, size_t len)
{
	for (const struct option *o = long_options; o->name != NULL; o++) {
		if (o->val == opt) {
			snprintf(buf, len, "--%s", o->name);
			return buf;
		}
	}
	snprintf(buf, len, "-%c", opt);
	return buf;
}

static bool apply_option(struct config *cfg, int opt, const char *arg,
			 char *err, size_t errlen)
{
	char name[32];
	uint64_t v;

	option_name(opt, name, sizeof(name));
	switch (opt) {
	case 'b':
		if (*arg == '\0') {
			set_error(err, errlen, "%s: an address is required", name);
			return false;
		}
		free(cfg->bind);
		cfg->bind = strdup(arg);
		if (cfg->bind == NULL) {
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
		cfg->delay.min_ms = (uint32_t)v;
		return true;
	case OPT_DELAY_MAX:
		if (!parse_number(name, arg, 0, DELAY_MAX_MS, &v, err, errlen))
			return false;
		cfg->delay.max_ms = (uint32_t)v;
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

/* Checks that involve more than one option. */
static bool check_consistency(const struct config *cfg, char *err,
			      size_t errlen)
{
	if (cfg->delay.min_ms > cfg->delay.max_ms) {
		set_error(err, errlen,
			  "--delay-min (%" PRIu32 ") is above --delay-max (%" PRIu32 ")",
			  cfg->delay.min_ms, cfg->delay.max_ms);
		return false;
	}
	return true;
}

enum config_result config_parse_args(struct config *cfg, int argc,
				     char *const argv[], char *err,
				     size_t errlen)
{
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
			if (!apply_option(cfg, opt, optarg, err, errlen))
				return CONFIG_USAGE_ERROR;
		}
	}
	if (optind < argc) {
		set_error(err, errlen, "unexpected argument '%s'", argv[optind]);
		return CONFIG_USAGE_ERROR;
	}
	if (!check_consistency(cfg, err, errlen))
		return CONFIG_USAGE_ERROR;
	return CONFIG_OK;
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
		"  GET /user/<id>   {\"user_id\": <id>, \"name\": \"User<id>\", \"age\": <20..40>}\n"
		"                   after a delay drawn per request\n"
		"\n"
		"Options:\n"
		"  -b, --bind ADDR           address to listen on (default: every interface,\n"
		"                              IPv6 and IPv4)\n"
		"  -p, --port N              TCP port, 0 picks a free one (default: %d)\n"
		"      --delay-min MS        shortest delay in milliseconds (default: %d)\n"
		"      --delay-max MS        longest delay in milliseconds (default: %d);\n"
		"                              delays are uniform in [min, max], max %u\n"
		"  -s, --seed N              seed the random delays and ages; the same seed\n"
		"                              and the same requests on one connection give\n"
		"                              the same answers (default: random)\n"
		"  -t, --threads N           HTTP worker threads (default: one per CPU)\n"
		"  -c, --max-connections N   most connections at once (default: sized from\n"
		"                              the open-file limit, raised to its maximum)\n"
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
		"still waiting with 503 at once.\n"
		"Exit status: 0 after a clean drain, 64 for a bad command line, 1 when the\n"
		"service cannot start (for example, the port is in use).\n",
		CONFIG_DEFAULT_PORT, CONFIG_DEFAULT_DELAY_MIN_MS,
		CONFIG_DEFAULT_DELAY_MAX_MS, DELAY_MAX_MS, CONFIG_DEFAULT_TIMEOUT_S,
		CONFIG_DEFAULT_DRAIN_TIMEOUT_S);
}
