/*
 * quiet_log.c: log.h for the fuzz targets, in place of src/log.c.
 *
 * Every message, debug included, is formatted into a local buffer (so the
 * sanitizers see each format and its arguments) and thrown away: the
 * daemon's own log would bury libFuzzer's output. fatal() and fatalx()
 * print and abort(), so a reachable "bug: ..." is a crash the fuzzer keeps.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

void
log_init(int verbose, int use_syslog, int facility)
{
	(void)verbose;
	(void)use_syslog;
	(void)facility;
}

void
log_setverbose(int v)
{
	(void)v;
}

int
log_getverbose(void)
{
	return 2;
}

void
log_setprefix(const char *p)
{
	(void)p;
}

void
vlog(int pri, const char *fmt, va_list ap)
{
	char	 line[8192];

	(void)pri;
	vsnprintf(line, sizeof(line), fmt, ap);
}

#define QUIET(name)				\
void						\
name(const char *fmt, ...)			\
{						\
	va_list	 ap;				\
						\
	va_start(ap, fmt);			\
	vlog(0, fmt, ap);			\
	va_end(ap);				\
}
QUIET(log_warn)
QUIET(log_warnx)
QUIET(log_info)
QUIET(log_debug)

static void	 vdie(const char *, va_list)
		    __attribute__((format(printf, 1, 0), noreturn));

static void
vdie(const char *fmt, va_list ap)
{
	char	 line[8192];

	vsnprintf(line, sizeof(line), fmt, ap);
	dprintf(STDERR_FILENO, "fatal: %s\n", line);
	abort();
}

void
fatal(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vdie(fmt, ap);
	va_end(ap);
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vdie(fmt, ap);
	va_end(ap);
}
