/*
 * log.c: the daemon's log (after OpenBSD's log.c).
 *
 * In the foreground lines go to stderr with a timestamp and the process's
 * role; daemonised they go to syslog. When stderr is journald's stream
 * ($JOURNAL_STREAM names its device and inode, as systemd sets it for a
 * service) each line starts with its syslog priority as "<N>", which
 * journald reads (SyslogLevelPrefix=), and carries no timestamp of its own,
 * journald keeping one. log_debug prints only with -v.
 *
 * Priorities: log_debug LOG_DEBUG, log_info LOG_INFO, log_warn and
 * log_warnx LOG_WARNING (the daemon goes on: a failed reload, a worker
 * that died), log_exitx LOG_ERR (the daemon does not start), fatal and
 * fatalx LOG_CRIT (a broken environment ends the process).
 *
 * Callers never pass secrets; request bodies reach the log only through
 * util_log_excerpt, which bounds and sanitises them.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int	 log_verbose;
static int	 log_syslog;
static int	 log_journal;		/* stderr is journald's stream */
static char	 log_prefix[32] = "main";
static pid_t	 log_pid;		/* set with the prefix: forks change it */

/* every line starts with the local time to the second, then .ms (or,
 * for journald, the priority), then "prefix[pid]: "; both are formatted
 * only when they change (once a second, once a process), not for each of
 * the access log's lines */
static char	 log_tag[64];
static size_t	 log_taglen;
static time_t	 log_ts_sec = (time_t)-1;
static char	 log_ts[32];
static size_t	 log_tslen;

static void
make_tag(void)
{
	int	 n;

	n = snprintf(log_tag, sizeof(log_tag), "%s[%ld]: ", log_prefix,
	    (long)log_pid);
	log_taglen = n < 0 ? 0 : (size_t)n >= sizeof(log_tag) ?
	    sizeof(log_tag) - 1 : (size_t)n;
}

/* is stderr the stream $JOURNAL_STREAM names ("device:inode")? Not when
 * it was redirected, or inherited by a program started from the service */
static int
journal_stream(void)
{
	const char		*e = getenv("JOURNAL_STREAM");
	unsigned long long	 dev, ino;
	struct stat		 st;
	char			 end;

	if (e == NULL || sscanf(e, "%llu:%llu%c", &dev, &ino, &end) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) == -1)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

void
log_init(int verbose, int use_syslog, int facility)
{
	log_verbose = verbose;
	log_syslog = use_syslog;
	log_journal = !use_syslog && journal_stream();
	log_pid = getpid();
	make_tag();
	if (use_syslog)
		openlog("claude-proxy", LOG_PID | LOG_NDELAY, facility);
	tzset();
}

void
log_setverbose(int v)
{
	log_verbose = v;
}

int
log_getverbose(void)
{
	return log_verbose;
}

void
log_setprefix(const char *p)
{
	snprintf(log_prefix, sizeof(log_prefix), "%s", p);
	log_pid = getpid();
	make_tag();
}

void
vlog(int pri, const char *fmt, va_list ap)
{
	char		 line[8192];
	struct timespec	 now;
	struct tm	 tm;
	long		 ms;
	int		 saved = errno, n, m;

	if (log_syslog) {
		vsyslog(pri, fmt, ap);
		errno = saved;
		return;
	}
	if (log_taglen == 0)
		make_tag();
	if (log_journal) {
		/* "<N>": pri is a level, facility bits are journald's */
		n = snprintf(line, 8, "<%d>", pri & LOG_PRIMASK);
	} else {
		clock_gettime(CLOCK_REALTIME, &now);
		if (now.tv_sec != log_ts_sec) {
			log_ts_sec = now.tv_sec;
			localtime_r(&now.tv_sec, &tm);
			log_tslen = strftime(log_ts, sizeof(log_ts),
			    "%Y-%m-%dT%H:%M:%S", &tm);
		}
		ms = now.tv_nsec / 1000000;
		memcpy(line, log_ts, log_tslen);
		n = (int)log_tslen;
		line[n++] = '.';
		line[n++] = (char)('0' + ms / 100);
		line[n++] = (char)('0' + ms / 10 % 10);
		line[n++] = (char)('0' + ms % 10);
		line[n++] = ' ';
	}
	memcpy(line + n, log_tag, log_taglen);
	n += (int)log_taglen;
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	if ((size_t)n + (size_t)m > sizeof(line) - 2)
		m = (int)(sizeof(line) - 2 - (size_t)n);	/* cut long lines */
	line[n + m] = '\n';
	/* one write per line so lines from several workers do not
	 * interleave (and no stdio buffering, unlike dprintf) */
	(void)write(STDERR_FILENO, line, (size_t)n + (size_t)m + 1);
	errno = saved;
}

static void
logit(int pri, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(pri, fmt, ap);
	va_end(ap);
}

static void
vlog_errno(int pri, const char *fmt, va_list ap)
{
	char	 msg[4096];
	int	 saved = errno;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	logit(pri, "%s: %s", msg, strerror(saved));
	errno = saved;
}

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog_errno(LOG_WARNING, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	if (log_verbose < 1)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog_errno(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}

void
log_exitx(int status, const char *fmt, ...)
{
	char	 msg[4096];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* the one line a failed start prints: no timestamp, no role, so
	 * that it reads the same from a terminal, a script or -t */
	if (log_journal)
		fprintf(stderr, "<%d>claude-proxy: %s\n", LOG_ERR, msg);
	else
		fprintf(stderr, "claude-proxy: %s\n", msg);
	exit(status);
}
