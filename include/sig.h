/*
 * sig: signal flags. Handlers only set volatile sig_atomic_t flags (and, in
 * a worker, close the listening socket); all work happens after wake-up.
 */
#ifndef CP_SIG_H
#define CP_SIG_H

#include <signal.h>

extern volatile sig_atomic_t	 sig_child;	/* SIGCHLD */
extern volatile sig_atomic_t	 sig_terminate;	/* SIGTERM, SIGINT */
extern volatile sig_atomic_t	 sig_reload;	/* SIGHUP */
extern volatile sig_atomic_t	 sig_alarm;	/* SIGALRM */
extern volatile sig_atomic_t	 sig_pool;	/* SIGUSR1: no idle worker */
extern volatile sig_atomic_t	 sig_retire;	/* worker, SIGUSR2: reload */

/* hold the master's signals (pending, not lost) until it installs them */
void	 sig_block_master(void);
/* master: flags for CHLD, TERM, INT, HUP, ALRM, USR1; all blocked until
 * sigsuspend() so none is lost between a check and the sleep */
void	 sig_master_install(sigset_t *blocked, sigset_t *waitmask);
/* worker: TERM/INT/QUIT = finish the current request, then exit; USR2 =
 * retire: also finish a keep-alive connection's next request; HUP
 * ignored; handlers interrupt blocking calls (no SA_RESTART) */
void	 sig_worker_install(int listen_fd);
/* restore defaults and unblock everything (for a freshly forked child) */
void	 sig_reset_all(void);

#endif
