/*
 * hostlimits: what the system allows the worker pool. A pool of
 * max_workers processes needs the kernel and the service manager to let
 * that many run, and a listen queue that holds a burst while the master
 * forks; each setting that falls short is named at start and on a reload
 * that changes max_workers.
 */
#ifndef CP_HOSTLIMITS_H
#define CP_HOSTLIMITS_H

#include <stddef.h>

#define HOSTLIMITS_MAX	8

struct hostlimit {
	const char		*setting;	/* "net.core.somaxconn" */
	long long		 value;		/* what the system has */
	const char		*effect;	/* what falls short */
};

/*
 * The settings under root ("/" on a live system; a test passes a tree of
 * its own holding proc/sys/... and sys/fs/cgroup/...) that are below what
 * max_workers workers need: the kernel's pid_max and threads-max, the
 * listen queue's net.core.somaxconn, and the pids.max of this process's
 * cgroup and its ancestors (systemd's TasksMax). Returns how many were
 * found (at most n are stored). Files that cannot be read are skipped.
 */
size_t	 hostlimits_find(const char *root, int max_workers,
	    struct hostlimit *out, size_t n);
/* hostlimits_find("/") and the process limit (RLIMIT_NPROC, unless the
 * process runs as root, which the kernel does not hold to it), each
 * shortfall logged as one warning */
void	 hostlimits_check(int max_workers);

#endif
