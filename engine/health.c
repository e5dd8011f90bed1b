/* health.c - see health.h. No threads, no clock: everything comes in. */
#include "health.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

void health_judge(const struct health_in *in, struct health_out *out)
{
	memset(out, 0, sizeof *out);
	char t1[32], t2[32];
	const struct health_comp *missed = NULL, *limited = NULL;
	long long missed_due = 0;
	for (size_t i = 0; i < in->n; i++) {
		const struct health_comp *c = &in->comps[i];
		if (c->last_sched > out->last_run)
			out->last_run = c->last_sched;
		if (!c->cron || !c->scheduled)
			continue;
		long long next = cron_next(c->cron, in->now);
		if (next > 0 && (!out->next_run || next < out->next_run))
			out->next_run = next;
		/* the newest run that fell due more than the slack ago; one that
		 * fell due before this engine started is not this engine's miss
		 * (with a state directory the engine makes it up at start) */
		long long due = cron_prev(c->cron, in->now - HEALTH_SLACK_S);
		if (due > 0 && due > c->last_sched && due >= in->started - 60 && due > missed_due) {
			missed = c;
			missed_due = due;
		}
		if (c->limited_until > in->now && (!limited || c->limited_until > limited->limited_until))
			limited = c;
	}
	if (!in->serving) {
		snprintf(out->reason, sizeof out->reason,
			 "engine %ld runs a batch command, not the schedule; start it with 'tally serve'", in->pid);
	} else if (in->paused) {
		if (in->paused_since > 0) {
			util_iso8601(in->paused_since, t1, sizeof t1);
			snprintf(out->reason, sizeof out->reason, "the schedule is paused since %s; 'tally resume' restarts it", t1);
		} else {
			snprintf(out->reason, sizeof out->reason, "the schedule is paused; 'tally resume' restarts it");
		}
	} else if (missed) {
		util_iso8601(missed_due, t1, sizeof t1);
		if (missed->last_sched > 0) {
			util_iso8601(missed->last_sched, t2, sizeof t2);
			snprintf(out->reason, sizeof out->reason,
				 "no scheduled run since %s: %s was due at %s and has not run", t2, missed->name, t1);
		} else {
			snprintf(out->reason, sizeof out->reason,
				 "no scheduled run yet: %s was due at %s and has not run", missed->name, t1);
		}
	} else if (limited) {
		util_iso8601(limited->limited_until, t1, sizeof t1);
		snprintf(out->reason, sizeof out->reason, "rate-limited until %s (%s's upstream)", t1, limited->name);
	}
	out->ok = out->reason[0] == '\0';
}
