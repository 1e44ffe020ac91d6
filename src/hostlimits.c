/*
 * hostlimits.c: say which system settings keep the pool below max_workers.
 *
 * Each worker is a process, so a pool of thousands needs: the user's
 * process limit (RLIMIT_NPROC: ulimit -u, systemd's LimitNPROC=) and the
 * cgroup's pids.max (systemd's TasksMax=, 15% of the system's pids by
 * default) above max_workers; the kernel's pid_max and threads-max above
 * it with room for the rest of the system; and net.core.somaxconn, which
 * caps the listen queue, at least max_workers, so that a burst waits in
 * the queue while the master forks rather than being dropped (the
 * clients' kernels retry a dropped connection after 1 s, then 3 s...).
 *
 * It only reads and warns: a pool that cannot grow still serves, the rest
 * of the connections waiting their turn, and fork() failing is logged by
 * the master anyway. Unreadable files are not an error (a container may
 * hide them).
 */
#include <sys/resource.h>
#include <sys/types.h>

#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hostlimits.h"
#include "log.h"

/* the number in root/rel ("max" reads as no limit): 0, or -1 */
static int
read_number(const char *root, const char *rel, long long *v)
{
	char	 path[PATH_MAX], line[64], *end;
	FILE	*f;
	int	 rv = -1;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s",
	    strcmp(root, "/") == 0 ? "" : root, rel) >= sizeof(path))
		return -1;
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	if (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "max", 3) == 0) {
			*v = LLONG_MAX;
			rv = 0;
		} else {
			*v = strtoll(line, &end, 10);
			rv = end != line ? 0 : -1;
		}
	}
	fclose(f);
	return rv;
}

static void
add(struct hostlimit *out, size_t n, size_t *found, const char *setting,
    long long value, const char *effect)
{
	if (*found < n) {
		out[*found].setting = setting;
		out[*found].value = value;
		out[*found].effect = effect;
	}
	(*found)++;
}

/*
 * The lowest pids.max from this process's cgroup up to the root: v1's
 * pids controller when it is mounted ("N:pids:/path"), else cgroup v2
 * ("0::/path").
 */
static int
cgroup_pids_max(const char *root, long long *lowest)
{
	char	 line[PATH_MAX], dir[PATH_MAX + 32], v2[PATH_MAX + 32];
	char	 rel[PATH_MAX + 64], *path, *p;
	FILE	*f;
	long long v;
	int	 found = 0;

	if ((size_t)snprintf(dir, sizeof(dir), "%s/proc/self/cgroup",
	    strcmp(root, "/") == 0 ? "" : root) >= sizeof(dir) ||
	    (f = fopen(dir, "re")) == NULL)
		return -1;
	dir[0] = v2[0] = '\0';
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "0::", 3) == 0)
			snprintf(v2, sizeof(v2), "sys/fs/cgroup%s", line + 3);
		else if ((p = strstr(line, ":pids:")) != NULL)
			snprintf(dir, sizeof(dir), "sys/fs/cgroup/pids%s",
			    p + 6);
	}
	fclose(f);
	if (dir[0] == '\0')
		memcpy(dir, v2, sizeof(dir));
	if (dir[0] == '\0')
		return -1;
	*lowest = LLONG_MAX;
	path = dir;
	for (;;) {
		snprintf(rel, sizeof(rel), "%s/pids.max", path);
		if (read_number(root, rel, &v) == 0) {
			found = 1;
			if (v < *lowest)
				*lowest = v;
		}
		if ((p = strrchr(path, '/')) == NULL ||
		    strcmp(path, "sys/fs/cgroup") == 0 ||
		    strcmp(path, "sys/fs/cgroup/pids") == 0)
			break;
		*p = '\0';
	}
	return found ? 0 : -1;
}

size_t
hostlimits_find(const char *root, int max_workers, struct hostlimit *out,
    size_t n)
{
	long long	 need = (long long)max_workers + 1, v;
	size_t		 found = 0;

	if (read_number(root, "proc/sys/kernel/pid_max", &v) == 0 && v <= need)
		add(out, n, &found, "kernel.pid_max", v,
		    "process ids for max_workers workers and the master");
	if (read_number(root, "proc/sys/kernel/threads-max", &v) == 0 &&
	    v <= need)
		add(out, n, &found, "kernel.threads-max", v,
		    "processes for max_workers workers and the master");
	if (read_number(root, "proc/sys/net/core/somaxconn", &v) == 0 &&
	    v < max_workers)
		add(out, n, &found, "net.core.somaxconn", v,
		    "a listen queue as long as max_workers: a burst beyond "
		    "it is dropped while the pool grows and its clients retry "
		    "after a second or more");
	if (cgroup_pids_max(root, &v) == 0 && v < need)
		add(out, n, &found, "pids.max of the cgroup (systemd "
		    "TasksMax=)", v, "processes for max_workers workers and "
		    "the master");
	return found;
}

void
hostlimits_check(int max_workers)
{
	struct hostlimit	 lim[HOSTLIMITS_MAX];
	struct rlimit		 rl;
	size_t			 i, n;

	n = hostlimits_find("/", max_workers, lim, HOSTLIMITS_MAX);
	for (i = 0; i < n && i < HOSTLIMITS_MAX; i++)
		log_warnx("max_workers %d: %s is %lld, too low for %s",
		    max_workers, lim[i].setting, lim[i].value, lim[i].effect);
	if (geteuid() != 0 && getrlimit(RLIMIT_NPROC, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur <= (rlim_t)max_workers + 1)
		log_warnx("max_workers %d: the process limit (RLIMIT_NPROC: "
		    "ulimit -u, systemd LimitNPROC=) is %llu, too low for "
		    "max_workers workers and the master, and it counts every "
		    "process of this user", max_workers,
		    (unsigned long long)rl.rlim_cur);
}
