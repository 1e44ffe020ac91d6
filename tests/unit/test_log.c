/*
 * test_log: what the log writes to stderr. In a terminal (no
 * JOURNAL_STREAM) a line is "timestamp role[pid]: message"; when stderr is
 * the stream JOURNAL_STREAM names, it is "<N>role[pid]: message" with N
 * the line's syslog priority (journald reads it; issue 10: under journald
 * every line was priority info). A JOURNAL_STREAM naming another stream
 * (inherited, stderr redirected) changes nothing. log_exitx prints its
 * one line and exits with the status given.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"
#include "tap.h"

static int	 saved_stderr = -1;
static int	 pipe_rd = -1;

/* point stderr at a fresh pipe; journal: name it in JOURNAL_STREAM */
static void
capture(int journal, const char *env_override)
{
	struct stat	 st;
	char		 env[64];
	int		 p[2];

	if (pipe(p) == -1) {
		perror("pipe");
		exit(2);
	}
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	if (saved_stderr == -1)
		saved_stderr = dup(STDERR_FILENO);
	dup2(p[1], STDERR_FILENO);
	close(p[1]);
	pipe_rd = p[0];
	unsetenv("JOURNAL_STREAM");
	if (env_override != NULL)
		setenv("JOURNAL_STREAM", env_override, 1);
	else if (journal && fstat(STDERR_FILENO, &st) == 0) {
		snprintf(env, sizeof(env), "%llu:%llu",
		    (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
		setenv("JOURNAL_STREAM", env, 1);
	}
	log_init(1, 0, LOG_DAEMON);
	log_setprefix("worker");
}

static char *
captured(void)
{
	static char	 buf[16384];
	ssize_t		 n;
	size_t		 len = 0;

	while ((n = read(pipe_rd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += n;
	buf[len] = '\0';
	dup2(saved_stderr, STDERR_FILENO);
	close(pipe_rd);
	pipe_rd = -1;
	return buf;
}

static int
matches(const char *s, const char *re)
{
	regex_t	 r;
	int	 m;

	if (regcomp(&r, re, REG_EXTENDED | REG_NEWLINE) != 0)
		return 0;
	m = regexec(&r, s, 0, NULL, 0) == 0;
	regfree(&r);
	return m;
}

static void
log_each(void)
{
	errno = ENOENT;
	log_warn("warn %d", 1);
	log_warnx("warnx %d", 2);
	log_info("info %d", 3);
	log_debug("debug %d", 4);
}

int
main(void)
{
	char	 re[256], *out;
	long	 pid = (long)getpid();
	pid_t	 child;
	int	 status;

	/* a terminal: timestamps, no priorities */
	capture(0, NULL);
	log_each();
	out = captured();
	snprintf(re, sizeof(re), "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{3} "
	    "worker\\[%ld\\]: info 3$", pid);
	ok(matches(out, re), "terminal: timestamp, role and pid");
	ok(strchr(out, '<') == NULL, "terminal: no <N> prefixes");

	/* journald's stream: priorities, no timestamps */
	capture(1, NULL);
	log_each();
	out = captured();
	snprintf(re, sizeof(re), "^<4>worker\\[%ld\\]: warn 1: %s$", pid,
	    strerror(ENOENT));
	ok(matches(out, re), "journald: log_warn is <4> (warning), errno kept");
	snprintf(re, sizeof(re), "^<4>worker\\[%ld\\]: warnx 2$", pid);
	ok(matches(out, re), "journald: log_warnx is <4> (warning)");
	snprintf(re, sizeof(re), "^<6>worker\\[%ld\\]: info 3$", pid);
	ok(matches(out, re), "journald: log_info is <6> (info)");
	snprintf(re, sizeof(re), "^<7>worker\\[%ld\\]: debug 4$", pid);
	ok(matches(out, re), "journald: log_debug is <7> (debug)");
	ok(!matches(out, "[0-9]{4}-[0-9]{2}-[0-9]{2}T"),
	    "journald: no timestamp of our own");

	/* JOURNAL_STREAM naming some other stream: as in a terminal */
	capture(0, "1:2");
	log_info("elsewhere");
	out = captured();
	ok(!matches(out, "^<") && matches(out, "worker\\[[0-9]+\\]: elsewhere$"),
	    "another stream's JOURNAL_STREAM is ignored");
	capture(0, "garbage");
	log_info("garbage");
	out = captured();
	ok(!matches(out, "^<"), "a malformed JOURNAL_STREAM is ignored");

	/* log_exitx: one line, err under journald, the exit status given */
	for (int journal = 0; journal <= 1; journal++) {
		capture(journal, NULL);
		fflush(stdout);
		if ((child = fork()) == 0)
			log_exitx(78, "providers[0].x: unknown key");
		waitpid(child, &status, 0);
		out = captured();
		is_int(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 78,
		    "log_exitx exits with its status (%s)",
		    journal ? "journald" : "terminal");
		is_str(out, journal ?
		    "<3>claude-proxy: providers[0].x: unknown key\n" :
		    "claude-proxy: providers[0].x: unknown key\n",
		    "log_exitx prints one line (%s)",
		    journal ? "err priority" : "plain");
	}
	return tap_done();
}
