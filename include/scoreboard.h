/*
 * scoreboard: shared memory between the master and the workers. One slot
 * per worker (its state, written only by that worker) and, apart from the
 * slots, that worker's counters, plus the counters of workers that have
 * exited (folded in by the master), so the pool can follow the load and
 * /metrics can add everything up.
 */
#ifndef CP_SCOREBOARD_H
#define CP_SCOREBOARD_H

#include <stdint.h>
#include <sys/types.h>

/* the most workers at once, of all generations (max_workers is at most
 * CONF_MAX_WORKERS, conf.h, which is no more than this) */
#define SB_MAX_SLOTS		16384
#define SB_MAX_PROVIDERS	16

enum sb_state { SB_EMPTY = 0, SB_STARTING, SB_IDLE, SB_BUSY };

enum sb_endpoint { SB_EP_ROOT, SB_EP_MODELS, SB_EP_MESSAGES,
	SB_EP_COUNT_TOKENS, SB_EP_METRICS, SB_EP_OTHER, SB_NENDPOINTS };

#define SB_NCODES	21	/* the statuses we answer, 499, and "other" */
#define SB_NSERVER_TOOLS 4	/* web_search per backend, web_fetch */
#define SB_NBUCKETS	13	/* upstream latency histogram */

extern const int	 sb_codes[SB_NCODES];		/* 0 = other */
extern const char *const sb_endpoint_names[SB_NENDPOINTS];
extern const double	 sb_bucket_seconds[SB_NBUCKETS];	/* last = +Inf */
/* { tool, backend } of each server-tool counter */
extern const char *const sb_server_tools[SB_NSERVER_TOOLS][2];

struct sb_provider {
	char		 name[64];
	uint64_t	 requests;
	uint64_t	 errors;	/* transport failures and non-2xx */
	uint64_t	 retries;	/* tries again (providers[].retries) */
};

struct sb_counters {
	uint64_t	 requests[SB_NENDPOINTS][SB_NCODES];
	uint64_t	 latency[SB_NBUCKETS];	/* cumulative upstream ms buckets */
	uint64_t	 latency_count;
	uint64_t	 latency_ms_sum;
	struct sb_provider providers[SB_MAX_PROVIDERS];
	uint64_t	 server_tool_calls[SB_NSERVER_TOOLS];
	uint64_t	 server_tool_failures[SB_NSERVER_TOOLS];
};

/* the pool's view of one worker: small, so that a scan of every slot in
 * use reads a few pages (the counters live apart, in scoreboard.c) */
struct sb_slot {
	pid_t		 pid;		/* master writes */
	unsigned	 generation;	/* master writes */
	int		 state;		/* worker writes (master at spawn/reap) */
	int		 streaming;	/* worker: a stream is being relayed */
	uint64_t	 state_since_ms;	/* CLOCK_MONOTONIC */
};

int	 scoreboard_init(void);		/* master, before forking */
struct sb_slot *scoreboard_slot(int);	/* NULL if out of range / no board */

/* master */
int	 scoreboard_claim(pid_t, unsigned generation);	/* slot index or -1 */
void	 scoreboard_release(int slot);	/* fold counters in, free the slot */
int	 scoreboard_find(pid_t);		/* slot of pid or -1 */

/* worker: the slot it was given */
void	 scoreboard_attach(int slot);
void	 scoreboard_set_state(int state);
void	 scoreboard_set_streaming(int);
void	 scoreboard_request_done(enum sb_endpoint, int status);
void	 scoreboard_upstream_done(const char *provider, long ms, int failed);
void	 scoreboard_upstream_retry(const char *provider);
/* a server-tool call ran ("web_search", "tavily"; "web_fetch", "fetch");
 * failed = its result was an error block */
void	 scoreboard_server_tool_done(const char *tool, const char *backend,
	    int failed);

/* a worker that found the pool short of idle workers: 1 if it is the
 * first to ask since the master last looked (then it signals the master),
 * 0 if the master has been asked already */
int	 scoreboard_ask_growth(void);
void	 scoreboard_growth_heard(void);	/* master: asks from now on count */

/* readers */
uint64_t scoreboard_requests(void);	/* served, all workers ever */
void	 scoreboard_count_states(unsigned generation, int *starting,
	    int *idle, int *busy);
int	 scoreboard_slots_used(void);	/* 1 + the highest slot in use */
/* everything summed up (live slots and retired) */
void	 scoreboard_totals(struct sb_counters *, int *busy, int *idle,
	    int *streams);

#endif
