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
extern volatile sig_atomic_t	 sig_closing;	/* worker: TERM or USR2 came,
						 * answers say Connection: close */
extern volatile sig_atomic_t	 sig_terminate_sec; /* worker: CLOCK_MONOTONIC
						 * second of the first SIGTERM */

/* hold the master's signals (pending, not lost) until it installs them */
void	 sig_block_master(void);
/* master: flags for CHLD, TERM, INT, HUP, ALRM, USR1; all blocked until
 * sigsuspend() so none is lost between a check and the sleep */
void	 sig_master_install(sigset_t *blocked, sigset_t *waitmask);
/* worker: TERM/QUIT = stop: finish the connection in hand (its next
 * request too, within the shutdown time) and, when the master set the
 * socket draining, the queued connections, then exit; USR2 = retire:
 * finish the connection in hand, its next request included; INT and HUP
 * ignored; handlers interrupt blocking calls (no SA_RESTART) */
void	 sig_worker_install(int listen_fd);
/* does the worker still hold the listening socket? */
int	 sig_worker_listening(void);
/* restore defaults and unblock everything (for a freshly forked child) */
void	 sig_reset_all(void);

#endif
