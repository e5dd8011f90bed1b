/* compstate.h - a component's state as the engine keeps it (struct
 * comp_state, owned by the engine thread) and the pure functions that
 * derive what front ends see from it: the candidate, the state word, the
 * next run, the status row. No I/O, no clock (the caller passes now and
 * whether the schedule is paused): unit-tested in tests/unit/test_compstate.c. */
#ifndef TALLY_COMPSTATE_H
#define TALLY_COMPSTATE_H

#include <jansson.h>

#include "config.h"
#include "err.h"
#include "holds.h"
#include "util.h"

struct attempt;
struct cron;

struct comp_state {
	const struct comp_conf *cc;
	char *recorded;
	int record_error;           /* version file unreadable */
	char *record_msg;
	struct strv upstream;       /* last check, newest first */
	int checked;
	enum tally_class up_cls;
	char *up_msg;
	size_t up_aliases;          /* tags with no digit the last check passed over */
	long long checked_at, retry_at;
	char *built;
	const char *stage;          /* NULL, or the running attempt's state word */
	int unpushed;               /* a record commit of it is not on the remote yet */
	struct attempt *running;
	/* last attempt (ledger) */
	char *last_result, *last_version, *last_class, *last_message;
	long long last_ended;
	json_t *last_evidence;      /* {stage, argv, exit, line} of a failed command, or NULL */
	char *last_log;
	/* schedule */
	struct cron *cron;
	long long last_sched;       /* last scheduled run started (schedule.json) */
	long long sched_from;       /* runs due before this are not made up (fresh state, pinned, paused) */
	int transient_failures;     /* in a row */
	long long retry_due;        /* backoff: 0 when none */
	json_t *bases;              /* last check: [{image, digest, built_on, component?, error?}] */
	/* several build hosts (SPEC section 15) */
	const char *self_host;      /* this host's name (tally.host), shown while it runs an attempt */
	char *held_by;              /* another host's live claim met by our last attempt, or NULL */
	char *held_version;         /* the version it claimed */
};

/* The newest upstream version that is not skipped and is newer than the
 * record (NULL: none; pinned components have none) ... */
const char *candidate_of(const struct comp_state *cs, const struct holds *h);
/* ... and what it would be were the component not pinned. */
const char *candidate_unpinned(const struct comp_state *cs, const struct holds *h);
/* The state word (SPEC section 2) given the candidate (candidate_of). */
const char *state_of(const struct comp_state *cs, const struct holds *h, const char *cand);
/* When the schedule next runs the component (epoch seconds; 0: never, as
 * while pinned or paused, or for manual upstreams). */
long long next_run_of(const struct comp_state *cs, const struct holds *h, int paused, long long now);
/* The status row (event "status" or "check") as SPEC section 8 has it. */
json_t *status_json(const struct comp_state *cs, const struct holds *h, const char *event, int paused,
		    long long now);
/* The first base whose digest moved from the one the record was built on
 * (NULL when none or unknown), and a base's entry by image. */
const char *base_moved(const struct comp_state *cs);
json_t *base_entry(const struct comp_state *cs, const char *image);
/* The ledger's word on the last attempt (built, last result, evidence). */
void apply_ledger_entry(struct comp_state *cs, json_t *ent);
/* Transient failures are retried with backoff (SPEC section 6); any other
 * result ends the series. */
void note_result(struct comp_state *cs, const char *result, const char *cls, long long ended,
		 long long rate_reset);
/* Frees what cs owns (not cs). */
void comp_state_free(struct comp_state *cs);

#endif
