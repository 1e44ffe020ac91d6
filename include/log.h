/*
 * log: stderr in the foreground, syslog when daemonised (OpenBSD style).
 * log_warn appends strerror(errno); the x variants do not.
 */
#ifndef CP_LOG_H
#define CP_LOG_H

#include <stdarg.h>

void	 log_init(int verbose, int use_syslog, int facility);
void	 log_setverbose(int);
int	 log_getverbose(void);
void	 log_setprefix(const char *);	/* e.g. "worker" */
void	 log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 vlog(int, const char *, va_list) __attribute__((format(printf, 2, 0)));
__attribute__((noreturn)) void fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2)));

#endif
