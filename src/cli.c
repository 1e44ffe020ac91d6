/*
 * cli.c: the table of command-line options. Adding an option here is the
 * only way to add one: getopt, --help and the man page test all read it.
 */
#include "cli.h"

const struct cli_option cli_options[] = {
	{ "config", 'c', "FILE", "configuration file (default: $CONFIG_PATH, "
	    "else ./config.json)" },
	{ "test-config", 't', NULL, "check the configuration, print "
	    "\"configuration OK\" and exit" },
	{ "listen", 'l', "ADDRESS", "listen address (overrides \"host\")" },
	{ "port", 'p', "PORT", "listen port (overrides \"port\"; 0 = any "
	    "free port)" },
	{ "workers", 'w', "N", "worker processes (overrides \"workers\")" },
	{ "daemon", 'D', NULL, "detach from the terminal and log to syslog" },
	{ "pidfile", 'P', "FILE", "write the master's pid to FILE, refuse to "
	    "start if another instance holds it" },
	{ "user", 'u', "USER", "when started as root, switch to USER after "
	    "binding the socket" },
	{ "allow-root", 0, NULL, "serve requests as root (not recommended)" },
	{ "syslog-facility", 0, "NAME", "syslog facility with --daemon "
	    "(default: daemon)" },
	{ "usage-report", 0, "DAY", "print per-key totals of DAY (YYYY-MM-DD, "
	    "today, yesterday; UTC) from the configuration's usage_log, or "
	    "from a FILE after the options (- = standard input), and exit" },
	{ "verbose", 'v', NULL, "log more (debug lines)" },
	{ "version", 'V', NULL, "print the version and exit" },
	{ "help", 'h', NULL, "print this help and exit" },
};

const size_t cli_noptions = sizeof(cli_options) / sizeof(cli_options[0]);
