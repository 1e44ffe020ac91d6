/*
 * log: stderr in the foreground (with "<N>" priorities when it is
 * journald's stream), syslog when daemonised (OpenBSD style).
 * log_warn appends strerror(errno); the x variants do not.
 */
#ifndef CP_LOG_H
#define CP_LOG_H

#include <stdarg.h>

/* "1 worker", "2 workers": LOG_PLURAL(n) after the noun */
#define LOG_PLURAL(n)	((n) == 1 ? "" : "s")

void	 log_init(int verbose, int use_syslog, int facility);
void	 log_setverbose(int);
int	 log_getverbose(void);
void	 log_setprefix(const char *);	/* e.g. "worker" */
void	 log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 vlog(int, const char *, va_list) __attribute__((format(printf, 2, 0)));
/* a start that fails: "claude-proxy: <msg>" on stderr (priority err under
 * journald), then exit(status) */
__attribute__((noreturn)) void log_exitx(int status, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
__attribute__((noreturn)) void fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2)));

#endif
