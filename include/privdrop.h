/*
 * privdrop: switch from root to an unprivileged user after binding.
 */
#ifndef CP_PRIVDROP_H
#define CP_PRIVDROP_H

#include <stddef.h>
#include <sys/types.h>

struct privdrop {
	char	 name[64];
	uid_t	 uid;
	gid_t	 gid;
};

/* look the user up (before forking, while /etc is surely readable) */
int	 privdrop_lookup(const char *user, struct privdrop *, char *err,
	    size_t errsz);
/* setgroups, setresgid, setresuid, then prove root cannot be regained */
int	 privdrop_apply(const struct privdrop *, char *err, size_t errsz);

#endif
