/*
 * sig.c: signal handling for the master and the workers.
 *
 * Handlers do nothing but set flags, with two exceptions in a worker. A
 * worker told to retire closes its copy of the listening socket, as Apache
 * prefork does, so the kernel stops handing it connections at once; so does
 * a worker told to stop, unless the master has set the socket draining
 * (listen_drain: the daemon stops), in which case the worker keeps it to
 * answer what is queued. And the stop handler notes the monotonic second
 * it came, which bounds how long the worker still waits for a keep-alive
 * client. Handlers are installed without SA_RESTART so a blocked accept()
 * or poll() returns EINTR and the loop sees the flag.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "listen.h"
#include "log.h"
#include "sig.h"

volatile sig_atomic_t	 sig_child;
volatile sig_atomic_t	 sig_terminate;
volatile sig_atomic_t	 sig_reload;
volatile sig_atomic_t	 sig_alarm;
volatile sig_atomic_t	 sig_pool;
volatile sig_atomic_t	 sig_retire;
volatile sig_atomic_t	 sig_closing;
volatile sig_atomic_t	 sig_terminate_sec;

static volatile sig_atomic_t	 sig_listen_fd = -1;

static void
on_master_signal(int signo)
{
	switch (signo) {
	case SIGCHLD:
		sig_child = 1;
		break;
	case SIGTERM:
	case SIGINT:
		sig_terminate = 1;
		break;
	case SIGHUP:
		sig_reload = 1;
		break;
	case SIGALRM:
		sig_alarm = 1;
		break;
	case SIGUSR1:
		sig_pool = 1;
		break;
	}
}

static void
on_worker_stop(int signo)
{
	struct timespec	 now;
	int		 saved = errno;

	(void)signo;
	if (!sig_terminate) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		sig_terminate_sec = (sig_atomic_t)now.tv_sec;
	}
	sig_terminate = 1;
	sig_closing = 1;
	if (sig_listen_fd != -1 && !listen_draining(sig_listen_fd)) {
		close(sig_listen_fd);
		sig_listen_fd = -1;
	}
	errno = saved;
}

/* SIGUSR2: retire (a reload, or an idle extra worker): stop accepting,
 * but let the client of an idle keep-alive connection send its next
 * request (answered with Connection: close) rather than close under it */
static void
on_worker_retire(int signo)
{
	int	 saved = errno;

	(void)signo;
	sig_retire = 1;
	sig_closing = 1;
	if (sig_listen_fd != -1) {
		close(sig_listen_fd);
		sig_listen_fd = -1;
	}
	errno = saved;
}

static void
install(int signo, void (*handler)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sigfillset(&sa.sa_mask);
	sa.sa_flags = 0;		/* no SA_RESTART: wake blocked calls */
	if (sigaction(signo, &sa, NULL) == -1)
		fatal("sigaction");
}

/* SIGUSR2 is a worker's: blocked in the master so a worker forked just
 * before a reload holds it pending until its handler is in place */
static const int master_signals[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP,
	SIGALRM, SIGUSR1, SIGUSR2 };

void
sig_block_master(void)
{
	sigset_t	 set;
	size_t		 i;

	sigemptyset(&set);
	for (i = 0; i < sizeof(master_signals) / sizeof(master_signals[0]); i++)
		sigaddset(&set, master_signals[i]);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		fatal("sigprocmask");
}

void
sig_master_install(sigset_t *blocked, sigset_t *waitmask)
{
	const int	*signals = master_signals;
	size_t		 i;

	sigemptyset(blocked);
	for (i = 0; i < sizeof(master_signals) / sizeof(master_signals[0]);
	    i++) {
		sigaddset(blocked, signals[i]);
		install(signals[i], on_master_signal);
	}
	signal(SIGPIPE, SIG_IGN);
	if (sigprocmask(SIG_BLOCK, blocked, waitmask) == -1)
		fatal("sigprocmask");
	sigdelset(waitmask, SIGCHLD);
	sigdelset(waitmask, SIGTERM);
	sigdelset(waitmask, SIGINT);
	sigdelset(waitmask, SIGHUP);
	sigdelset(waitmask, SIGALRM);
	sigdelset(waitmask, SIGUSR1);
}

void
sig_worker_install(int listen_fd)
{
	sigset_t	 none;

	sig_listen_fd = listen_fd;
	sig_terminate = 0;
	sig_retire = 0;
	sig_closing = 0;
	install(SIGTERM, on_worker_stop);
	install(SIGQUIT, on_worker_stop);
	install(SIGUSR2, on_worker_retire);
	/* a terminal's ^C reaches the whole process group: the master
	 * alone acts on it, draining the socket before it stops us */
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGALRM, SIG_IGN);	/* the master's interval timer */
	signal(SIGUSR1, SIG_IGN);
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) == -1)
		fatal("sigprocmask");
}

int
sig_worker_listening(void)
{
	return sig_listen_fd != -1;
}

void
sig_reset_all(void)
{
	sigset_t	 none;
	int		 s;

	for (s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}
