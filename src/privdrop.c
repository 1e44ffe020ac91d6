/*
 * privdrop.c: drop root for good.
 *
 * Order matters: supplementary groups first (while still root), then the
 * real, effective and saved gid, then the uids. Afterwards it checks that
 * neither the uid nor the gid can go back to 0; if it can, the drop failed
 * and the caller must not serve.
 */
#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "privdrop.h"

int
privdrop_lookup(const char *user, struct privdrop *pd, char *err,
    size_t errsz)
{
	struct passwd	*pw;

	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		snprintf(err, errsz, "user %s: %s", user,
		    errno ? strerror(errno) : "no such user");
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errsz, "user %s: is root", user);
		return -1;
	}
	snprintf(pd->name, sizeof(pd->name), "%s", user);
	pd->uid = pw->pw_uid;
	pd->gid = pw->pw_gid;
	return 0;
}

int
privdrop_apply(const struct privdrop *pd, char *err, size_t errsz)
{
	uid_t	 ruid, euid, suid;
	gid_t	 rgid, egid, sgid;

	if (setgroups(1, &pd->gid) == -1 ||
	    setresgid(pd->gid, pd->gid, pd->gid) == -1 ||
	    setresuid(pd->uid, pd->uid, pd->uid) == -1) {
		snprintf(err, errsz, "switching to user %s: %s", pd->name,
		    strerror(errno));
		return -1;
	}
	if (getresuid(&ruid, &euid, &suid) == -1 ||
	    getresgid(&rgid, &egid, &sgid) == -1 ||
	    ruid != pd->uid || euid != pd->uid || suid != pd->uid ||
	    rgid != pd->gid || egid != pd->gid || sgid != pd->gid) {
		snprintf(err, errsz, "switching to user %s: ids did not "
		    "change", pd->name);
		return -1;
	}
	if (setuid(0) != -1 || seteuid(0) != -1 || setgid(0) != -1) {
		snprintf(err, errsz, "switching to user %s: root could be "
		    "regained", pd->name);
		return -1;
	}
	return 0;
}
