/*
 * master: process lifecycle: spawn workers, reap, respawn (throttled),
 * reload by generations, graceful stop with escalation.
 */
#ifndef CP_MASTER_H
#define CP_MASTER_H

#include "conf.h"

struct master_opts {
	const char	*config_path;
	const char	*host;		/* -l, NULL = from the config */
	int		 port;		/* -p, -1 = from the config */
	int		 workers;	/* -w, -1 = from the config */
	struct pidfh	*pidfile;	/* removed at exit; NULL = none */
	const char	*bound;		/* the address really listened on */
};

/* command-line settings win over the file, at start and on every reload */
int	 master_apply_overrides(struct conf *, const struct master_opts *);
__attribute__((noreturn)) void master_run(int listen_fd,
	    const struct master_opts *);

#endif
