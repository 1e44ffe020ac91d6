/*
 * log.c: the daemon's log (after OpenBSD's log.c).
 *
 * In the foreground lines go to stderr with a timestamp and the process's
 * role; daemonised they go to syslog. log_debug prints only with -v. Callers
 * never pass secrets; request bodies reach the log only through
 * util_log_excerpt, which bounds and sanitises them.
 */
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
static char	 log_prefix[32] = "main";
static pid_t	 log_pid;		/* set with the prefix: forks change it */

void
log_init(int verbose, int use_syslog, int facility)
{
	log_verbose = verbose;
	log_syslog = use_syslog;
	log_pid = getpid();
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
}

void
vlog(int pri, const char *fmt, va_list ap)
{
	char		 line[8192], ts[32];
	struct timespec	 now;
	struct tm	 tm;
	int		 saved = errno, n, m;

	if (log_syslog) {
		vsyslog(pri, fmt, ap);
		errno = saved;
		return;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	localtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "%s.%03ld %s[%ld]: ", ts,
	    now.tv_nsec / 1000000, log_prefix, (long)log_pid);
	if (n < 0 || (size_t)n >= sizeof(line) - 1)
		n = 0;
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
	vlog_errno(LOG_ERR, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, fmt, ap);
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
