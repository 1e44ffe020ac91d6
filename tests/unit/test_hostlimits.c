/*
 * test_hostlimits: which system settings hostlimits_find names as too low
 * for max_workers, read from a tree of fake /proc and /sys files: the
 * kernel's pid_max and threads-max, net.core.somaxconn, and pids.max of
 * the process's cgroup and of its ancestors (v2, or v1's pids
 * controller); "max" is no limit; missing files are skipped.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hostlimits.h"
#include "tap.h"

static char	 root[] = "/tmp/cp-hostlimits.XXXXXX";

/* write root/rel, making its directories */
static void
put(const char *rel, const char *text)
{
	char	 path[PATH_MAX], *p;
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (p = path + strlen(root) + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		mkdir(path, 0700);
		*p = '/';
	}
	if ((f = fopen(path, "w")) == NULL || fputs(text, f) == EOF ||
	    fclose(f) != 0) {
		printf("Bail out! %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static const char *
names(struct hostlimit *l, size_t n)
{
	static char	 out[512];
	size_t		 i;

	out[0] = '\0';
	for (i = 0; i < n; i++) {
		if (i > 0)
			strlcat(out, ", ", sizeof(out));
		strlcat(out, l[i].setting, sizeof(out));
	}
	return out;
}

int
main(void)
{
	struct hostlimit	 l[HOSTLIMITS_MAX];
	size_t			 n;
	char			 cmd[PATH_MAX + 16];

	if (mkdtemp(root) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}

	n = hostlimits_find(root, 4096, l, HOSTLIMITS_MAX);
	is_int(n, 0, "nothing readable: nothing named");

	put("proc/sys/kernel/pid_max", "32768\n");
	put("proc/sys/kernel/threads-max", "192734\n");
	put("proc/sys/net/core/somaxconn", "4096\n");
	put("proc/self/cgroup", "0::/system.slice/claude-proxy.service\n");
	put("sys/fs/cgroup/system.slice/claude-proxy.service/pids.max",
	    "max\n");
	put("sys/fs/cgroup/system.slice/pids.max", "max\n");
	n = hostlimits_find(root, 4096, l, HOSTLIMITS_MAX);
	is_str(names(l, n), "", "4096 workers: a queue of 4096 and no pids "
	    "limit are enough");
	n = hostlimits_find(root, 4097, l, HOSTLIMITS_MAX);
	is_str(names(l, n), "net.core.somaxconn", "4097 workers: the listen "
	    "queue of 4096 is too short");
	is_int(l[0].value, 4096, "its value");

	put("sys/fs/cgroup/system.slice/claude-proxy.service/pids.max",
	    "4915\n");
	n = hostlimits_find(root, 4096, l, HOSTLIMITS_MAX);
	is_str(names(l, n), "", "pids.max 4915 holds 4096 workers and the "
	    "master");
	n = hostlimits_find(root, 4915, l, HOSTLIMITS_MAX);
	is_str(names(l, n), "net.core.somaxconn, pids.max of the cgroup "
	    "(systemd TasksMax=)", "pids.max 4915 is too low for 4915 "
	    "workers and the master");
	is_int(l[1].value, 4915, "the cgroup's value");

	/* a parent's limit binds its children */
	put("sys/fs/cgroup/system.slice/claude-proxy.service/pids.max",
	    "max\n");
	put("sys/fs/cgroup/system.slice/pids.max", "1000\n");
	n = hostlimits_find(root, 2000, l, HOSTLIMITS_MAX);
	is_str(names(l, n), "pids.max of the cgroup (systemd TasksMax=)",
	    "an ancestor's pids.max counts");
	is_int(l[0].value, 1000, "the lowest on the way up");

	/* v1's pids controller wins over the v2 line of a hybrid system */
	put("proc/self/cgroup", "8:pids:/user.slice\n0::/\n");
	put("sys/fs/cgroup/pids/user.slice/pids.max", "300\n");
	n = hostlimits_find(root, 2000, l, HOSTLIMITS_MAX);
	is_str(names(l, n), "pids.max of the cgroup (systemd TasksMax=)",
	    "cgroup v1 pids controller");
	is_int(l[0].value, 300, "its value");

	put("proc/self/cgroup", "0::/\n");
	put("proc/sys/kernel/pid_max", "2001\n");
	put("proc/sys/kernel/threads-max", "1500\n");
	n = hostlimits_find(root, 2000, l, HOSTLIMITS_MAX);
	is_str(names(l, n), "kernel.pid_max, kernel.threads-max",
	    "pid_max and threads-max leave no room for 2000 workers");
	n = hostlimits_find(root, 1000, l, 1);
	is_int(n, 0, "1000 workers fit");
	n = hostlimits_find(root, 16384, l, 1);
	is_int(n, 3, "every shortfall is counted when fewer are stored");
	is_str(l[0].setting, "kernel.pid_max", "the first one stored");

	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", root);
	return tap_done();
}
