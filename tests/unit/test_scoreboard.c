/*
 * test_scoreboard: slots for thousands of workers. Every slot up to
 * SB_MAX_SLOTS (16384, past the old ceiling of 1024) can be claimed; the
 * scans stop one past the highest slot in use, and that mark comes down
 * when the top slots are freed; states are counted per generation; a
 * released slot's counters move to the retired totals and a slot reused
 * starts at zero; only the first worker to ask for growth is told to
 * signal, until the master has looked.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "scoreboard.h"
#include "tap.h"

int
main(void)
{
	struct sb_counters	*tot;
	int			*slots, i, n, starting, idle, busy, streams;

	ok(SB_MAX_SLOTS >= CONF_MAX_WORKERS && CONF_MAX_WORKERS >= 4096,
	    "room for %d workers (max_workers up to %d)", SB_MAX_SLOTS,
	    CONF_MAX_WORKERS);
	is_int(scoreboard_slots_used(), 0, "no board: nothing in use");
	is_int(scoreboard_claim(1, 0), -1, "no board: no slot");
	ok(scoreboard_ask_growth() == 0, "no board: no growth to ask for");

	ok(scoreboard_init() == 0, "scoreboard mapped");
	slots = calloc(SB_MAX_SLOTS + 1, sizeof(*slots));
	tot = calloc(1, sizeof(*tot));
	if (slots == NULL || tot == NULL)
		return 1;
	for (n = 0; n < SB_MAX_SLOTS; n++)
		if ((slots[n] = scoreboard_claim(1000 + n, n % 2)) != n)
			break;
	is_int(n, SB_MAX_SLOTS, "every slot claimed, lowest first");
	is_int(scoreboard_claim(99, 0), -1, "then the board is full");
	is_int(scoreboard_slots_used(), SB_MAX_SLOTS, "all in use");
	is_int(scoreboard_find(1000 + 5000), 5000, "a pid past 1024 found");

	scoreboard_count_states(1, &starting, &idle, &busy);
	is_int(starting, SB_MAX_SLOTS / 2, "generation 1: half are starting");
	is_int(idle + busy, 0, "none idle or busy yet");

	/* a worker of generation 1 becomes idle, then busy, and counts */
	scoreboard_attach(4097);
	scoreboard_set_state(SB_IDLE);
	scoreboard_count_states(1, &starting, &idle, &busy);
	is_int(idle, 1, "one idle");
	scoreboard_set_state(SB_BUSY);
	scoreboard_set_streaming(1);
	scoreboard_request_done(SB_EP_MESSAGES, 200);
	scoreboard_upstream_done("up", 120, 0);
	scoreboard_count_states(1, &starting, &idle, &busy);
	is_int(busy, 1, "one busy");
	scoreboard_totals(tot, &busy, &idle, &streams);
	is_int(tot->requests[SB_EP_MESSAGES][0], 1, "its request counted");
	is_int(streams, 1, "its stream counted");
	is_int(scoreboard_requests(), 1, "one request served");
	scoreboard_attach(-1);

	/* the master reaps it: the counters stay, the slot is free */
	scoreboard_release(4097);
	scoreboard_totals(tot, &busy, &idle, &streams);
	is_int(tot->requests[SB_EP_MESSAGES][0], 1, "still counted, retired");
	is_int(tot->latency_count, 1, "the upstream call too");
	is_int(streams, 0, "no stream now");
	is_int(scoreboard_requests(), 1, "still one request served");
	is_int(scoreboard_claim(77, 3), 4097, "the freed slot is the lowest");
	scoreboard_attach(4097);
	scoreboard_request_done(SB_EP_MODELS, 200);
	scoreboard_attach(-1);
	scoreboard_totals(tot, &busy, &idle, &streams);
	is_int(tot->requests[SB_EP_MESSAGES][0], 1, "not counted twice after "
	    "the slot's reuse");
	is_int(tot->requests[SB_EP_MODELS][0], 1, "the new worker's count");

	/* free every slot from the top: the scans stop lower and lower */
	for (i = SB_MAX_SLOTS - 1; i >= 8; i--)
		scoreboard_release(i);
	is_int(scoreboard_slots_used(), 8, "8 in use: the scans read 8");
	scoreboard_release(3);
	is_int(scoreboard_slots_used(), 8, "a hole below the top changes "
	    "nothing");
	scoreboard_release(7);
	is_int(scoreboard_slots_used(), 7, "the top one freed: 7");
	for (i = 0; i < 7; i++)
		scoreboard_release(i);
	is_int(scoreboard_slots_used(), 0, "all free");
	is_int(scoreboard_find(1000), -1, "no pid found in a free slot");
	scoreboard_totals(tot, &busy, &idle, &streams);
	is_int(tot->requests[SB_EP_MODELS][0], 1, "counts survive them all");
	is_int(scoreboard_requests(), 2, "two requests served in all");

	ok(scoreboard_ask_growth() == 1, "the first to ask signals");
	ok(scoreboard_ask_growth() == 0, "the next does not");
	scoreboard_growth_heard();
	ok(scoreboard_ask_growth() == 1, "after the master looked, asking "
	    "signals again");
	free(slots);
	free(tot);
	return tap_done();
}
