/*
 * main.c: command line, configuration, listening socket, then the master.
 *
 * Everything that can be wrong with the environment (unreadable or invalid
 * configuration, an address in use) is reported here in one line before any
 * process is forked, with exit status 1.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <curl/curl.h>

#include "config.h"
#include "conf.h"
#include "listen.h"
#include "log.h"
#include "master.h"

extern char **environ;

static const struct option longopts[] = {
	{ "config",		required_argument,	NULL, 'c' },
	{ "test-config",	no_argument,		NULL, 't' },
	{ "listen",		required_argument,	NULL, 'l' },
	{ "port",		required_argument,	NULL, 'p' },
	{ "workers",		required_argument,	NULL, 'w' },
	{ "verbose",		no_argument,		NULL, 'v' },
	{ "version",		no_argument,		NULL, 'V' },
	{ "help",		no_argument,		NULL, 'h' },
	{ NULL,			0,			NULL, 0 }
};

static const char *const option_help[] = {
	"-c, --config FILE     configuration file (default: $CONFIG_PATH,\n"
	"                      else ./config.json)",
	"-t, --test-config     check the configuration and exit",
	"-l, --listen ADDRESS  listen address (overrides \"host\")",
	"-p, --port PORT       listen port (overrides \"port\"; 0 = any free)",
	"-w, --workers N       worker processes (overrides \"workers\")",
	"-v, --verbose         more logging (repeat for more)",
	"-V, --version         print the version and exit",
	"-h, --help            print this help and exit",
};

static void
usage(FILE *f)
{
	size_t	 i;

	fprintf(f, "usage: claude-proxy [-tvVh] [-c file] [-l address] "
	    "[-p port] [-w workers]\n\n");
	for (i = 0; i < sizeof(option_help) / sizeof(option_help[0]); i++)
		fprintf(f, "  %s\n", option_help[i]);
}

static int
number_arg(const char *name, const char *s, long long lo, long long hi)
{
	const char	*errstr;
	long long	 v = strtonum(s, lo, hi, &errstr);

	if (errstr != NULL) {
		fprintf(stderr, "claude-proxy: %s %s: %s\n", name, s, errstr);
		exit(1);
	}
	return (int)v;
}

int
main(int argc, char *argv[])
{
	struct master_opts	 opts = { NULL, NULL, -1, -1 };
	struct conf		*c;
	char			 err[1024], bound[128];
	int			 ch, test_only = 0, verbose = 0, fd;

	setproctitle_init(argc, argv, environ);
	while ((ch = getopt_long(argc, argv, "c:tl:p:w:vVh", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			opts.config_path = optarg;
			break;
		case 't':
			test_only = 1;
			break;
		case 'l':
			opts.host = optarg;
			break;
		case 'p':
			opts.port = number_arg("port", optarg, 0, 65535);
			break;
		case 'w':
			opts.workers = number_arg("workers", optarg, 1, 1024);
			break;
		case 'v':
			verbose++;
			break;
		case 'V':
			printf("claude-proxy %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 1;
	}
	if (opts.config_path == NULL)
		opts.config_path = getenv("CONFIG_PATH");
	if (opts.config_path == NULL || opts.config_path[0] == '\0')
		opts.config_path = "config.json";

	log_init(verbose, 0, LOG_DAEMON);
	if (conf_load(opts.config_path, &c, err, sizeof(err)) == -1) {
		fprintf(stderr, "claude-proxy: %s\n", err);
		return 1;
	}
	if (master_apply_overrides(c, &opts) == -1) {
		fprintf(stderr, "claude-proxy: out of memory\n");
		return 1;
	}
	if (test_only) {
		printf("configuration OK\n");
		conf_free(c);
		return 0;
	}
	conf = c;

	if ((fd = listen_open(conf->host, conf->port, bound, sizeof(bound),
	    err, sizeof(err))) == -1) {
		fprintf(stderr, "claude-proxy: %s\n", err);
		return 1;
	}
	log_info("claude-proxy %s listening on %s (%s), %d workers",
	    PACKAGE_VERSION, bound, conf->ak && conf->ak[0] ?
	    "inbound key required" : "no inbound key: loopback by default",
	    conf_workers(conf));
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		fprintf(stderr, "claude-proxy: curl_global_init failed\n");
		return 1;
	}
	master_run(fd, &opts);
}
