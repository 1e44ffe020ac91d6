/*
 * master.c: the master process (after nginx's master cycle and Postfix's
 * master).
 *
 * The master never touches a request. It sleeps in sigsuspend() with every
 * signal it cares about blocked outside it, so no flag is lost between a
 * check and the sleep. It keeps conf_workers() workers of the current
 * generation alive, throttling respawns when workers die young. SIGHUP
 * parses the whole new configuration first; if it fails the old one stays
 * and the reason is logged; if it succeeds a new generation is forked and
 * the old one is told to finish its requests and exit. SIGTERM/SIGINT set
 * the listening socket draining (no new connections, the queued ones kept
 * for the workers to answer), tell every worker to stop, wait up to
 * shutdown_timeout_seconds, then SIGKILL what is left, and exit 0. A one-second interval timer wakes it for the
 * time-based work (respawn throttling, the shutdown deadline, systemd's
 * STATUS line), so there is never more than one timer to juggle.
 */
#include <sys/prctl.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <libutil.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hostlimits.h"
#include "listen.h"
#include "log.h"
#include "master.h"
#include "notify.h"
#include "ratelimit.h"
#include "scoreboard.h"
#include "secret.h"
#include "sig.h"
#include "upkeys.h"
#include "usage.h"
#include "util.h"
#include "worker.h"

#define FAST_DEATH_MS		2000	/* a worker that dies sooner "died young" */
#define THROTTLE_AFTER		5	/* young deaths in a row before pausing */
#define THROTTLE_MAX_SECONDS	30

struct worker_slot {
	pid_t		 pid;
	unsigned	 generation;
	uint64_t	 started_ms;
	int		 board;		/* scoreboard slot, -1 = none */
	int		 retiring;	/* told to stop: idle extra */
};

static struct worker_slot	*slots;
static size_t			 nslots;
static unsigned			 generation;
static int			 young_deaths;
static uint64_t			 respawn_not_before;
static const struct master_opts	*opts;
static int			 listen_fd;
/* why the last reload failed; shown in every STATUS= until one succeeds */
static char			 reload_failure[256];

int
master_apply_overrides(struct conf *c, const struct master_opts *o)
{
	if (o->host != NULL) {
		char *h = strdup(o->host);
		if (h == NULL)
			return -1;
		free(c->host);
		c->host = h;
	}
	if (o->port >= 0)
		c->port = o->port;
	if (o->workers >= 0)
		c->workers = o->workers;
	return 0;
}

/* workers of a generation that will go on serving */
static size_t
count_live(unsigned gen)
{
	size_t	 i, n = 0;

	for (i = 0; i < nslots; i++)
		if (slots[i].pid > 0 && slots[i].generation == gen &&
		    !slots[i].retiring)
			n++;
	return n;
}

static size_t
count_all(void)
{
	size_t	 i, n = 0;

	for (i = 0; i < nslots; i++)
		if (slots[i].pid > 0)
			n++;
	return n;
}

static struct worker_slot *
free_slot(void)
{
	struct worker_slot	*s;
	size_t			 i;

	for (i = 0; i < nslots; i++)
		if (slots[i].pid <= 0)
			return &slots[i];
	s = reallocarray(slots, nslots + 16, sizeof(*s));
	if (s == NULL)
		fatal("reallocarray");
	memset(s + nslots, 0, 16 * sizeof(*s));
	slots = s;
	nslots += 16;
	return &slots[nslots - 16];
}

static int
spawn_worker(void)
{
	struct worker_slot	*s = free_slot();
	pid_t			 pid, master = getpid();
	int			 board;

	if ((board = scoreboard_claim(0, generation)) == -1 &&
	    scoreboard_slot(0) != NULL) {
		log_warnx("scoreboard full: not starting another worker");
		return -1;
	}
	switch (pid = fork()) {
	case -1:
		log_warn("fork");
		scoreboard_release(board);
		return -1;
	case 0:
		/* an orphaned worker would keep the port and the pidfile */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != master)
			_exit(0);
		free(slots);
		if (opts->pidfile != NULL)
			close(pidfile_fileno(opts->pidfile));
		worker_main(listen_fd, board);
		/* NOTREACHED */
	}
	if (scoreboard_slot(board) != NULL)
		scoreboard_slot(board)->pid = pid;
	s->pid = pid;
	s->generation = generation;
	s->started_ms = util_now_ms();
	s->board = board;
	s->retiring = 0;
	log_debug("started worker %ld (generation %u)", (long)pid,
	    generation);
	return 0;
}

/* only_old: spare the current generation */
static void
signal_workers(int only_old, int signo)
{
	size_t	 i;

	for (i = 0; i < nslots; i++)
		if (slots[i].pid > 0 &&
		    (!only_old || slots[i].generation != generation))
			kill(slots[i].pid, signo);
}

static void
note_exit(struct worker_slot *s, int status)
{
	uint64_t	 lived = util_now_ms() - s->started_ms;
	int		 clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;

	if (WIFSIGNALED(status))
		log_warnx("worker %ld killed by signal %d", (long)s->pid,
		    WTERMSIG(status));
	else if (!clean)
		log_warnx("worker %ld exited with status %d", (long)s->pid,
		    WEXITSTATUS(status));
	else
		log_debug("worker %ld exited", (long)s->pid);
	scoreboard_release(s->board);
	ratelimit_worker_gone(s->board);	/* its concurrency place, if any */
	s->board = -1;

	if (s->generation == generation && !sig_terminate && !s->retiring) {
		if (!clean && lived < FAST_DEATH_MS)
			young_deaths++;
		else
			young_deaths = 0;
		if (young_deaths >= THROTTLE_AFTER) {
			int secs = young_deaths - THROTTLE_AFTER + 1;
			if (secs > THROTTLE_MAX_SECONDS)
				secs = THROTTLE_MAX_SECONDS;
			respawn_not_before = util_now_ms() + secs * 1000ULL;
			log_warnx("workers keep dying young; pausing respawn "
			    "for %d s", secs);
		}
	}
	s->pid = 0;
}

static void
reap(void)
{
	pid_t	 pid;
	int	 status;
	size_t	 i;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < nslots; i++)
			if (slots[i].pid == pid) {
				note_exit(&slots[i], status);
				break;
			}
	}
}

/* the ceiling: max_workers, or more if -w asks for more */
static size_t
pool_max(void)
{
	size_t	 want = (size_t)conf_workers(conf);

	return (size_t)conf->max_workers > want ? (size_t)conf->max_workers :
	    want;
}

/* a stop or a reload is waiting: growth yields to it */
static int
master_signal_pending(void)
{
	sigset_t	 pending;

	if (sigpending(&pending) == -1)
		return 0;
	return sigismember(&pending, SIGTERM) == 1 ||
	    sigismember(&pending, SIGINT) == 1 ||
	    sigismember(&pending, SIGHUP) == 1;
}

/*
 * How many workers the pool lacks: the connections waiting in the accept
 * queue, plus spare_workers idle ones kept ready, minus the workers idle
 * or starting (they will take the queued connections first). Without a
 * queue length from the kernel, half the pool once none is idle.
 */
static size_t
pool_deficit(size_t live)
{
	int	 starting, idle, busy, queued;
	long	 lack;

	scoreboard_count_states(generation, &starting, &idle, &busy);
	if ((queued = listen_queued(listen_fd)) == -1) {
		if (starting + idle > 0)
			return 0;
		return live / 2 > 0 ? live / 2 : 1;
	}
	lack = (long)queued + conf->spare_workers - (starting + idle);
	return lack > 0 ? (size_t)lack : 0;
}

/*
 * The pool: at least conf->workers of the current generation, and more
 * whenever a worker finds fewer than spare_workers idle (it signals the
 * master, SIGUSR1) or the one-second tick finds connections waiting:
 * as many as pool_deficit() says, up to max_workers, forked in batches
 * between which the master looks again (the queue moves while it forks)
 * and gives way to a pending stop or reload. Extras idle longer than
 * worker_idle_timeout_seconds are told to finish (retire_idle).
 */
#define GROW_BATCH	32

static void
maintain(void)
{
	size_t	 want = (size_t)conf_workers(conf), live, max, grow;

	if (util_now_ms() < respawn_not_before)
		return;
	while (count_live(generation) < want)
		if (spawn_worker() == -1)
			return;		/* the next tick tries again */
	max = pool_max();
	while (!sig_terminate && (live = count_live(generation)) < max) {
		/* asks from workers that see this round's result count */
		scoreboard_growth_heard();
		if ((grow = pool_deficit(live)) == 0)
			break;
		if (grow > max - live)
			grow = max - live;
		if (grow > GROW_BATCH)
			grow = GROW_BATCH;
		log_debug("%zu worker%s, too few idle: starting %zu more", live,
		    LOG_PLURAL(live), grow);
		while (grow-- > 0)
			if (spawn_worker() == -1)
				return;
		if (master_signal_pending())
			break;
	}
}

/* tell idle extras to go: those idle longer than the timeout, beyond
 * "workers" and beyond spare_workers idle ones, a bounded number per
 * tick so that a large pool shrinks within a minute or so without a
 * storm of exits */
#define RETIRE_PER_TICK	64

static void
retire_idle(void)
{
	uint64_t		 now = util_now_ms(), limit, since;
	struct sb_slot		*b;
	size_t			 i, live, keep, n = 0;
	int			 starting, idle, busy, spare;

	limit = (uint64_t)conf->worker_idle_timeout_seconds * 1000;
	live = count_live(generation);
	keep = (size_t)conf_workers(conf);
	scoreboard_count_states(generation, &starting, &idle, &busy);
	spare = starting + idle;
	for (i = 0; i < nslots && live > keep && spare > conf->spare_workers &&
	    n < RETIRE_PER_TICK; i++) {
		if (slots[i].pid <= 0 || slots[i].generation != generation ||
		    slots[i].retiring ||
		    (b = scoreboard_slot(slots[i].board)) == NULL)
			continue;
		if (__atomic_load_n(&b->state, __ATOMIC_RELAXED) != SB_IDLE)
			continue;
		since = __atomic_load_n(&b->state_since_ms, __ATOMIC_RELAXED);
		if (now - since < limit)
			continue;
		log_debug("retiring idle worker %ld", (long)slots[i].pid);
		slots[i].retiring = 1;
		kill(slots[i].pid, SIGUSR2);	/* a keep-alive client it just
						 * took gets its next answer */
		live--;
		spare--;
		n++;
	}
}

/* "N workers (B busy, I idle), R requests served", after the reason of
 * a failed reload: that stays visible (systemctl status) until a reload
 * succeeds, since the admin may look long after the SIGHUP */
static void
status_line(char *out, size_t outsz)
{
	unsigned long long	 served = scoreboard_requests();
	size_t			 live = count_live(generation);
	int			 starting, idle, busy;

	scoreboard_count_states(generation, &starting, &idle, &busy);
	snprintf(out, outsz, "%s%s%zu worker%s (%d busy, %d idle), %llu "
	    "request%s served", reload_failure, reload_failure[0] ? "; " : "",
	    live, LOG_PLURAL(live), busy, idle + starting, served,
	    LOG_PLURAL(served));
}

static void
report_status(void)
{
	char	 st[400];

	status_line(st, sizeof(st));
	notify_send("STATUS=%s", st);
}

/* the end of a reload, good or bad, in one datagram with its status */
static void
reload_done(void)
{
	char	 st[400];

	status_line(st, sizeof(st));
	notify_send("READY=1\nSTATUS=%s", st);
}

static void
reload(void)
{
	struct conf	*fresh;
	char		 err[1024];

	log_info("reloading configuration from %s", opts->config_path);
	notify_send("RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)util_now_ms() * 1000);
	if (conf_load(opts->config_path, &fresh, err, sizeof(err)) == -1) {
		log_warnx("reload failed, keeping the running configuration: "
		    "%s", err);
		snprintf(reload_failure, sizeof(reload_failure),
		    "reload failed: %.200s", err);
		reload_done();
		return;
	}
	if (master_apply_overrides(fresh, opts) == -1) {
		log_warnx("reload failed: out of memory");
		snprintf(reload_failure, sizeof(reload_failure),
		    "reload failed: out of memory");
		reload_done();
		conf_free(fresh);
		return;
	}
	/* the socket stays bound: address changes need a restart */
	if (strcmp(fresh->host, conf->host) != 0 || fresh->port != conf->port)
		log_warnx("listen address %s:%d needs a restart to take effect;"
		    " still listening on %s", fresh->host, fresh->port,
		    opts->bound);
	{
		char *h = strdup(conf->host);
		if (h == NULL) {
			snprintf(reload_failure, sizeof(reload_failure),
			    "reload failed: out of memory");
			reload_done();
			conf_free(fresh);
			return;
		}
		free(fresh->host);
		fresh->host = h;
		fresh->port = conf->port;
	}
	/* the workers forked from here on inherit the new set */
	if (secret_load(fresh) == -1) {
		log_warnx("reload failed: out of memory");
		notify_send("READY=1");
		conf_free(fresh);
		return;
	}
	/* the keys that stay keep their limit counters */
	if (ratelimit_sync(fresh) == -1) {
		log_warnx("reload failed, keeping the running configuration: "
		    "no room for the keys' limit counters");
		secret_load(conf);
		notify_send("READY=1");
		conf_free(fresh);
		return;
	}
	/* a fresh file after logrotate moved the old one away */
	if (usage_log_open(fresh) == -1) {
		log_warn("reload failed, keeping the running configuration: "
		    "usage_log %s", fresh->usage_log);
		secret_load(conf);
		ratelimit_sync(conf);
		notify_send("READY=1");
		conf_free(fresh);
		return;
	}
	/* keys that changed start afresh, the others keep their states */
	upkeys_sync(conf, fresh);
	if (fresh->max_workers != conf->max_workers)
		hostlimits_check(fresh->max_workers);
	conf_free(conf);
	conf = fresh;
	generation++;
	young_deaths = 0;
	respawn_not_before = 0;
	maintain();
	/* the new generation accepts; the old one finishes its requests,
	 * keep-alive clients included (SIGUSR2, not SIGTERM) */
	signal_workers(1, SIGUSR2);
	log_info("configuration reloaded: generation %u, %d worker%s",
	    generation, conf_workers(conf), LOG_PLURAL(conf_workers(conf)));
	reload_failure[0] = '\0';
	reload_done();
}

static void
start_ticking(void)
{
	struct itimerval	 it;

	memset(&it, 0, sizeof(it));
	it.it_interval.tv_sec = it.it_value.tv_sec = 1;
	if (setitimer(ITIMER_REAL, &it, NULL) == -1)
		fatal("setitimer");
}

static __attribute__((noreturn)) void
shutdown_all(const sigset_t *waitmask)
{
	uint64_t	 deadline;
	int		 killed = 0;

	log_info("shutting down: waiting up to %d s for %zu worker%s",
	    conf->shutdown_timeout_seconds, count_all(),
	    LOG_PLURAL(count_all()));
	notify_send("STOPPING=1");
	/* the workers answer what the kernel has queued before the socket
	 * closes (closing it would reset those connections) */
	if (listen_drain(listen_fd) == -1)
		log_warn("cannot drain the listening socket; connections "
		    "still queued may be reset");
	close(listen_fd);
	signal_workers(0, SIGTERM);
	deadline = util_now_ms() + (uint64_t)conf->shutdown_timeout_seconds *
	    1000;
	reap();
	while (count_all() > 0) {
		sigsuspend(waitmask);
		if (sig_child) {
			sig_child = 0;
			reap();
		}
		sig_alarm = 0;
		if (!killed && util_now_ms() >= deadline && count_all() > 0) {
			log_warnx("shutdown timeout: killing %zu worker%s",
			    count_all(), LOG_PLURAL(count_all()));
			signal_workers(0, SIGKILL);
			killed = 1;
		}
	}
	if (opts->pidfile != NULL) {
		/* after -u the directory may not let us unlink it: then at
		 * least leave no stale pid behind */
		if (ftruncate(pidfile_fileno(opts->pidfile), 0) == -1)
			log_warn("pidfile");
		pidfile_remove(opts->pidfile);
	}
	log_info("stopped");
	exit(0);
}

void
master_run(int fd, const struct master_opts *o)
{
	sigset_t	 blocked, waitmask;
	unsigned	 ticks = 0;

	opts = o;
	listen_fd = fd;
	setproctitle("%s", "master");
	log_setprefix("master");
	sig_master_install(&blocked, &waitmask);
	maintain();
	start_ticking();
	notify_send("READY=1\nMAINPID=%ld", (long)getpid());
	report_status();
	for (;;) {
		if (!sig_child && !sig_reload && !sig_alarm && !sig_terminate &&
		    !sig_pool)
			sigsuspend(&waitmask);
		if (sig_child) {
			sig_child = 0;
			reap();
		}
		if (sig_terminate)
			shutdown_all(&waitmask);
		if (sig_reload) {
			sig_reload = 0;
			reload();
		}
		if (sig_alarm) {
			sig_alarm = 0;
			retire_idle();
			if (++ticks % 5 == 0)
				report_status();
		}
		sig_pool = 0;
		maintain();
	}
}
