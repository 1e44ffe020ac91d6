/*
 * main.c: command line, configuration, listening socket, privileges,
 * daemonising, then the master.
 *
 * Everything that can be wrong with the environment (an unreadable or
 * invalid configuration, an address in use, an unknown user, another
 * instance holding the pidfile) is reported here in one line on stderr
 * before any process is forked: exit status 78 (EX_CONFIG) for the
 * configuration file, 1 for the rest.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libutil.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sysexits.h>
#include <unistd.h>

#include <curl/curl.h>

#include "config.h"
#include "cli.h"
#include "conf.h"
#include "hostlimits.h"
#include "keystats.h"
#include "listen.h"
#include "log.h"
#include "master.h"
#include "notify.h"
#include "privdrop.h"
#include "ratelimit.h"
#include "scoreboard.h"
#include "secret.h"
#include "sig.h"
#include "upkeys.h"
#include "usage.h"
#include "websearch.h"

extern char **environ;

struct settings {
	struct master_opts	 master;
	int			 test_only;
	int			 verbose;
	int			 daemonize;
	int			 allow_root;
	const char		*pidfile;
	const char		*user;
	int			 facility;
	const char		*usage_day;	/* --usage-report */
	const char		*usage_file;
};

static const struct {
	const char	*name;
	int		 value;
} facilities[] = {
	{ "daemon", LOG_DAEMON }, { "user", LOG_USER },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

/* one line on stderr, exit 1: the command line or the environment */
#define die(...)	log_exitx(1, __VA_ARGS__)
/* the configuration file cannot be read or is invalid: exit 78, which a
 * supervisor can tell from the rest and not restart on (systemd's
 * RestartPreventExitStatus=) since trying again cannot help */
#define die_config(...)	log_exitx(EX_CONFIG, __VA_ARGS__)

static void
usage(FILE *f)
{
	char	 left[64];
	size_t	 i;

	fprintf(f, "usage: claude-proxy [options]\n\n");
	for (i = 0; i < cli_noptions; i++) {
		const struct cli_option *o = &cli_options[i];
		if (o->letter)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", o->letter,
			    o->name, o->arg ? " " : "", o->arg ? o->arg : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", o->name,
			    o->arg ? " " : "", o->arg ? o->arg : "");
		fprintf(f, "  %-28s %s\n", left, o->help);
	}
}

static int
number_arg(const char *name, const char *s, long long lo, long long hi)
{
	const char	*errstr;
	long long	 v = strtonum(s, lo, hi, &errstr);

	if (errstr != NULL)
		die("%s %s: %s", name, s, errstr);
	return (int)v;
}

static int
facility_arg(const char *s)
{
	size_t	 i;

	for (i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		if (strcmp(s, facilities[i].name) == 0)
			return facilities[i].value;
	die("syslog facility %s: unknown (daemon, user, local0..local7)", s);
}

/* getopt's tables, built from cli_options[] */
static void
parse_args(int argc, char *argv[], struct settings *s)
{
	struct option	 longopts[32];
	char		 shortopts[64];
	size_t		 i, n = 0;
	int		 ch, idx;

	if (cli_noptions >= sizeof(longopts) / sizeof(longopts[0]))
		die("bug: too many options");
	for (i = 0; i < cli_noptions; i++) {
		const struct cli_option *o = &cli_options[i];
		longopts[i].name = o->name;
		longopts[i].has_arg = o->arg ? required_argument : no_argument;
		longopts[i].flag = NULL;
		longopts[i].val = o->letter ? o->letter : 256 + (int)i;
		if (o->letter) {
			shortopts[n++] = (char)o->letter;
			if (o->arg)
				shortopts[n++] = ':';
		}
	}
	memset(&longopts[i], 0, sizeof(longopts[i]));
	shortopts[n] = '\0';

	while ((ch = getopt_long(argc, argv, shortopts, longopts, &idx)) != -1) {
		const char *name = NULL;
		if (ch >= 256)
			name = cli_options[ch - 256].name;
		if (ch == 'c')
			s->master.config_path = optarg;
		else if (ch == 't')
			s->test_only = 1;
		else if (ch == 'l')
			s->master.host = optarg;
		else if (ch == 'p')
			s->master.port = number_arg("port", optarg, 0, 65535);
		else if (ch == 'w')
			s->master.workers = number_arg("workers", optarg, 0,
			    CONF_MAX_WORKERS);
		else if (ch == 'D')
			s->daemonize = 1;
		else if (ch == 'P')
			s->pidfile = optarg;
		else if (ch == 'u')
			s->user = optarg;
		else if (ch == 'v')
			s->verbose++;
		else if (ch == 'V') {
			printf("claude-proxy %s\n", PACKAGE_VERSION);
			exit(0);
		} else if (ch == 'h') {
			usage(stdout);
			exit(0);
		} else if (name && strcmp(name, "allow-root") == 0)
			s->allow_root = 1;
		else if (name && strcmp(name, "syslog-facility") == 0)
			s->facility = facility_arg(optarg);
		else if (name && strcmp(name, "usage-report") == 0)
			s->usage_day = optarg;
		else {
			usage(stderr);
			exit(1);
		}
	}
	/* the report alone takes a file */
	if (s->usage_day != NULL && optind + 1 == argc)
		s->usage_file = argv[optind++];
	if (optind != argc) {
		usage(stderr);
		exit(1);
	}
}

/* --usage-report DAY [FILE]: the file, else the configuration's log */
static __attribute__((noreturn)) void
usage_report_main(const struct settings *s)
{
	const char	*path = s->usage_file;
	struct conf	*c = NULL;
	char		 err[1024];

	if (path == NULL) {
		if (conf_load(s->master.config_path, &c, err, sizeof(err)) ==
		    -1)
			die("%s", err);
		if (c->usage_log[0] == '\0')
			die("%s: no usage_log configured; name a file after "
			    "the options", s->master.config_path);
		path = c->usage_log;
	}
	if (usage_report(s->usage_day, path, stdout, err, sizeof(err)) == -1)
		die("%s", err);
	conf_free(c);
	exit(fflush(stdout) == 0 ? 0 : 1);
}

/* the config path must survive chdir("/") for reloads */
static const char *
absolute_path(const char *path)
{
	static char	 abs[PATH_MAX];

	if (path[0] == '/')
		return path;
	if (realpath(path, abs) == NULL)
		die_config("%s: %s", path, strerror(errno));
	return abs;
}

static void
daemonize(void)
{
	int	 fd;

	switch (fork()) {
	case -1:
		die("fork: %s", strerror(errno));
	case 0:
		break;
	default:
		_exit(0);
	}
	if (setsid() == -1)
		fatal("setsid");
	switch (fork()) {		/* never reacquire a terminal */
	case -1:
		fatal("fork");
	case 0:
		break;
	default:
		_exit(0);
	}
	if (chdir("/") == -1)
		fatal("chdir /");
	if ((fd = open("/dev/null", O_RDWR)) == -1)
		fatal("/dev/null");
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
}

int
main(int argc, char *argv[])
{
	struct settings	 s;
	struct privdrop	 pd;
	struct pidfh	*pfh = NULL;
	struct conf	*c;
	char		 err[1024], bound[128];
	pid_t		 other;
	int		 fd;

	memset(&s, 0, sizeof(s));
	s.master.port = s.master.workers = -1;
	s.facility = LOG_DAEMON;
	setproctitle_init(argc, argv, environ);
	parse_args(argc, argv, &s);
	if (s.master.config_path == NULL)
		s.master.config_path = getenv("CONFIG_PATH");
	if (s.master.config_path == NULL || s.master.config_path[0] == '\0')
		s.master.config_path = "config.json";

	log_init(s.verbose, 0, s.facility);
	if (s.usage_day != NULL)
		usage_report_main(&s);
	if (conf_load(s.master.config_path, &c, err, sizeof(err)) == -1)
		die_config("%s", err);
	if (master_apply_overrides(c, &s.master) == -1)
		die("out of memory");
	if (s.test_only) {
		printf("configuration OK\n");
		conf_free(c);
		return 0;
	}
	conf = c;
	if (secret_load(conf) == -1)
		die("out of memory");
	s.master.config_path = absolute_path(s.master.config_path);

	if (s.user != NULL) {
		if (privdrop_lookup(s.user, &pd, err, sizeof(err)) == -1)
			die("%s", err);
		if (geteuid() != 0 && geteuid() != pd.uid)
			die("-u %s: only root can switch users", s.user);
	} else if (geteuid() == 0 && !s.allow_root)
		die("refusing to serve requests as root: give -u USER (or "
		    "--allow-root)");

	if (s.pidfile != NULL &&
	    (pfh = pidfile_open(s.pidfile, 0644, &other)) == NULL) {
		if (errno == EEXIST)
			die("already running as pid %ld (pidfile %s)",
			    (long)other, s.pidfile);
		die("pidfile %s: %s", s.pidfile, strerror(errno));
	}
	if ((fd = listen_open(conf->host, conf->port, bound, sizeof(bound),
	    err, sizeof(err))) == -1)
		die("%s", err);
	if (s.user != NULL && geteuid() == 0 &&
	    privdrop_apply(&pd, err, sizeof(err)) == -1)
		die("%s", err);
	/* as the user that will write to it, so that reloads can reopen it */
	if (usage_log_open(conf) == -1)
		die("usage_log %s: %s", conf->usage_log, strerror(errno));

	if (s.daemonize) {
		log_init(s.verbose, 1, s.facility);
		daemonize();
	}
	if (pfh != NULL && pidfile_write(pfh) == -1)
		log_warn("pidfile %s", s.pidfile);
	s.master.pidfile = pfh;
	s.master.bound = bound;

	/* the next line tells supervisors and tests we are up: a signal
	 * sent right after it must find the master's handlers, so hold
	 * signals until master_run() installs them */
	sig_block_master();

	log_info("claude-proxy %s listening on %s (%s), %d worker%s%s%s",
	    PACKAGE_VERSION, bound, conf->nclient_keys > 0 ?
	    "inbound key required" : "no inbound key", conf_workers(conf),
	    LOG_PLURAL(conf_workers(conf)), s.user ? ", user " : "",
	    s.user ? s.user : "");
	websearch_log_config(conf);
	ratelimit_log_config(conf);
	hostlimits_check(conf->max_workers > conf_workers(conf) ?
	    conf->max_workers : conf_workers(conf));
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		fatalx("curl_global_init failed");
	if (scoreboard_init() == -1)
		fatal("scoreboard");
	if (ratelimit_init() == -1)
		fatal("limits");
	if (keystats_init() == -1)
		fatal("key metrics");
	if (upkeys_init() == -1)
		fatal("upstream key states");
	upkeys_sync(NULL, conf);
	if (ratelimit_sync(conf) == -1)
		fatalx("limits: no room for the keys' counters");
	notify_init();
	master_run(fd, &s.master);
}
