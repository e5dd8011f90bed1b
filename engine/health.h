/* health.h - the judgement behind `tally health` (SPEC section 7), as a
 * pure function of what the engine knows, so that it can be tested with
 * any clock. The engine gathers the input on its own thread. */
#ifndef TALLY_HEALTH_H
#define TALLY_HEALTH_H

#include <stddef.h>

#include "cron.h"

/* A run is missed when it fell due more than this long ago and has not
 * happened: "within one schedule period plus an hour". */
#define HEALTH_SLACK_S 3600

struct health_comp {
	const char *name;
	const struct cron *cron;   /* NULL: not scheduled */
	int scheduled;             /* 0 while pinned or for a manual upstream */
	long long last_sched;      /* last scheduled run started, 0 never */
	long long limited_until;   /* upstream rate limited until, 0 not */
};

struct health_in {
	long long now;
	long long started;         /* when this engine started */
	long pid;
	int serving;               /* tally serve: the schedule runs */
	int paused;
	long long paused_since;    /* 0 unknown */
	const struct health_comp *comps;
	size_t n;
};

struct health_out {
	int ok;
	char reason[512];          /* "" when ok */
	long long last_run;        /* newest scheduled run of any component, 0 none */
	long long next_run;        /* next scheduled run of any component, 0 none */
};

void health_judge(const struct health_in *in, struct health_out *out);

#endif
