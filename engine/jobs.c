/* jobs.c - jobs: one per command in flight, with the units of work it
 * waits for; selecting the components a command names; a run's "after"
 * order (settle). Engine thread only. */
#include "engine_int.h"

/* hashed: called per ledger line at start and per event */
struct comp_state *find_comp(struct engine *e, const char *name)
{
	if (!e->names)   /* built with cs, before any thread runs */
		return NULL;
	long i = nameindex_find(e->names, name);
	return i < 0 ? NULL : &e->cs[i];
}

/* The status row of cs now (the clock and the pause file read here). */
json_t *comp_status(struct engine *e, const struct comp_state *cs, const struct holds *h, const char *event)
{
	return status_json(cs, h, event, engine_paused(e), now_s());
}

/* A component's row may have changed: it is looked at again at the end of
 * this loop iteration (status_flush). */
void status_touch(struct engine *e, const struct comp_state *cs)
{
	if (e->status_dirty)
		e->status_dirty[cs - e->cs] = 1;
}

void status_touch_all(struct engine *e)
{
	for (size_t i = 0; e->status_dirty && i < e->n; i++)
		e->status_dirty[i] = 1;
}

/* Once per loop iteration: every touched component whose row differs from
 * the one last sent goes out as a "status" event (no job: it answers no
 * command), all of them in one batch, so a front end attached to a serving
 * engine is woken once and never needs to poll. Batch output (not serving)
 * is left alone. */
void status_flush(struct engine *e)
{
	size_t n = 0;
	for (size_t i = 0; e->status_dirty && i < e->n; i++)
		n += e->status_dirty[i];
	if (!n)
		return;
	if (!e->serving) {
		memset(e->status_dirty, 0, e->n);
		return;
	}
	struct holds *h = read_holds(e, NULL);
	int paused = engine_paused(e);
	long long now = now_s();
	for (size_t i = 0; i < e->n; i++) {
		if (!e->status_dirty[i])
			continue;
		e->status_dirty[i] = 0;
		json_t *row = status_json(&e->cs[i], h, ev_name(EV_STATUS), paused, now);
		if (e->status_sent[i] && json_equal(row, e->status_sent[i])) {
			json_decref(row);
			continue;
		}
		json_decref(e->status_sent[i]);
		e->status_sent[i] = json_incref(row);
		pending_add(&e->out_pending, row, 0);
	}
	holds_free(h);
}

struct job *job_new(struct engine *e, json_t *cmd)
{
	struct job *j = xcalloc(1, sizeof *j);
	j->id = json_integer_value(json_object_get(cmd, "id"));
	j->cmd = xstrdup(jget_s(cmd, "cmd"));
	j->dry_run = json_is_true(json_object_get(cmd, "dry_run"));
	j->no_push = json_is_true(json_object_get(cmd, "no_push"));
	j->version = xstrdup(jget_s(cmd, "version"));
	e->cur_job = j->id;
	j->next = e->jobs;
	e->jobs = j;
	__atomic_add_fetch(&e->njobs, 1, __ATOMIC_SEQ_CST);
	return j;
}

void job_finish(struct engine *e, struct job *j)
{
	e->cur_job = j->id;
	size_t oi;
	json_t *oev;
	json_array_foreach(j->ordered, oi, oev) {
		size_t ai;
		json_t *aev;
		if (json_is_array(oev))
			json_array_foreach(oev, ai, aev)
				emit(e, json_incref(aev));
		else if (!json_is_null(oev))
			emit(e, json_incref(oev));
	}
	json_decref(j->ordered);
	json_decref(j->base_digests);
	if (j->bcache) {
		json_decref(j->bcache->digests);
		pthread_mutex_destroy(&j->bcache->mu);
		free(j->bcache);
	}
	free(j->pending);
	free(j->deferred);
	http_cache_flush(1);   /* the job's answers are on disk before it is done */
	int code = j->input_error ? 2 : j->mismatch ? 4 : j->failed ? 1 : 0;
	emit(e, json_pack("{s:s, s:i, s:i, s:i}", "event", ev_name(EV_SUMMARY), "ok", j->ok, "failed", j->failed,
			  "exit", code));
	emit(e, json_pack("{s:s, s:I, s:i}", "event", ev_name(EV_DONE), "id", j->id, "exit", code));
	for (struct job **p = &e->jobs; *p; p = &(*p)->next)
		if (*p == j) {
			*p = j->next;
			break;
		}
	free(j->cmd);
	free(j->version);
	free(j);
	__atomic_sub_fetch(&e->njobs, 1, __ATOMIC_SEQ_CST);
}

void job_done_one(struct engine *e, struct job *j)
{
	if (--j->outstanding == 0)
		job_finish(e, j);
}

/* Resolves the command's component list. An unknown name ends the command
 * as a usage error (exit 2) and returns -1. */
int select_comps(struct engine *e, json_t *cmd, struct comp_state ***out, size_t *n)
{
	json_t *names = json_object_get(cmd, "components");
	*out = xcalloc(e->n + 1, sizeof **out);
	*n = 0;
	if (!json_array_size(names)) {
		for (size_t i = 0; i < e->n; i++)
			(*out)[(*n)++] = &e->cs[i];
		return 0;
	}
	size_t i;
	json_t *v;
	json_array_foreach(names, i, v) {
		struct comp_state *cs = json_is_string(v) ? find_comp(e, json_string_value(v)) : NULL;
		if (!cs) {
			const char *bad = json_is_string(v) ? json_string_value(v) : "?";
			const char *near = NULL;
			int best = 3;
			for (size_t k = 0; k < e->n; k++) {
				int d = util_edit_distance(bad, e->cs[k].cc->name);
				if (d < best) {
					best = d;
					near = e->cs[k].cc->name;
				}
			}
			char *m = near ? xasprintf("unknown component '%s'; did you mean '%s'? (see tally.conf)", bad, near)
				       : xasprintf("unknown component '%s' (see tally.conf)", bad);
			usage_error(e, cmd, m);
			free(m);
			free(*out);
			*out = NULL;
			return -1;
		}
		int dup = 0;
		for (size_t k = 0; k < *n; k++)
			dup |= (*out)[k] == cs;
		if (!dup)
			(*out)[(*n)++] = cs;
	}
	return 0;
}

void usage_error(struct engine *e, json_t *cmd, const char *msg)
{
	struct job *j = job_new(e, cmd);
	emit_error(e, NULL, TC_INPUT, msg);
	j->input_error = 1;
	job_finish(e, j);
}

/* A run ships a component after the components it names in after: while
 * one of them has its part of this job open, it waits. */
int waits_for_after(struct engine *e, struct job *j, struct comp_state *cs)
{
	for (size_t i = 0; i < cs->cc->after.n; i++) {
		struct comp_state *o = find_comp(e, cs->cc->after.v[i]);
		if (o && o != cs && j->pending[o - e->cs])
			return 1;
	}
	return 0;
}

/* A component's part of a run settled: deferred components whose after
 * components are all settled go on (a cycle in after is broken by letting
 * the first waiting one go when nothing else is open). */
void settle(struct engine *e, struct job *j, struct comp_state *cs)
{
	if (!j->pending)
		return;
	j->pending[cs - e->cs] = 0;
	for (;;) {
		size_t pick = j->ndeferred;
		for (size_t i = 0; i < j->ndeferred && pick == j->ndeferred; i++)
			if (!waits_for_after(e, j, j->deferred[i]))
				pick = i;
		if (pick == j->ndeferred && j->ndeferred) {
			size_t open = 0;
			for (size_t k = 0; k < e->n; k++)
				open += j->pending[k];
			if (open == j->ndeferred)
				pick = 0;   /* only waiting ones are open: a cycle */
		}
		if (pick == j->ndeferred)
			return;
		struct comp_state *d = j->deferred[pick];
		memmove(j->deferred + pick, j->deferred + pick + 1, (--j->ndeferred - pick) * sizeof *j->deferred);
		comp_bases_refresh(e, d, NULL);   /* a base component may have a new record */
		evaluate_checked(e, j, d);
	}
}

json_t *last_attempt(struct engine *e, const char *component)
{
	for (size_t i = json_array_size(e->ledger); i-- > 0;) {
		json_t *ent = json_array_get(e->ledger, i);
		const char *c = jget_s(ent, "component");
		if (c && strcmp(c, component) == 0)
			return ent;
	}
	return NULL;
}

int comp_ours(const struct engine *e, const struct comp_state *cs)
{
	return config_host_ships(cs->cc, e->conf->host);
}

char *not_ours_msg(const struct engine *e, const struct comp_state *cs)
{
	struct sbuf sb = {0};
	for (size_t i = 0; i < cs->cc->hosts.n; i++)
		sbuf_addf(&sb, "%s%s", i ? ", " : "", cs->cc->hosts.v[i]);
	char *m = xasprintf("%s ships only on host%s %s (component.%s.host); this host is %s", cs->cc->name,
			    cs->cc->hosts.n > 1 ? "s" : "", sbuf_str(&sb), cs->cc->name,
			    e->conf->host ? e->conf->host : "unnamed");
	sbuf_free(&sb);
	return m;
}

struct comp_state *one_comp(struct engine *e, json_t *cmd)
{
	json_t *names = json_object_get(cmd, "components");
	if (json_array_size(names) != 1)
		return NULL;
	const char *n = json_string_value(json_array_get(names, 0));
	return n ? find_comp(e, n) : NULL;
}

/* The components of a command that takes COMP... or --all (what names it
 * in the message): -1 when it names neither or an unknown one (the command
 * ended as a usage error). */
int select_named_or_all(struct engine *e, json_t *cmd, const char *what, struct comp_state ***sel,
			size_t *n)
{
	if (!json_is_true(json_object_get(cmd, "all")) && !json_array_size(json_object_get(cmd, "components"))) {
		char *m = xasprintf("%s needs COMP... or --all", what);
		usage_error(e, cmd, m);
		free(m);
		return -1;
	}
	return select_comps(e, cmd, sel, n);
}

/* msg (taken; NULL: none) refuses the command as a usage error and returns
 * NULL; else the command's job starts, holding one unit while it is
 * dispatched. */
struct job *job_or_refuse(struct engine *e, json_t *cmd, char *msg)
{
	if (msg) {
		usage_error(e, cmd, msg);
		free(msg);
		return NULL;
	}
	struct job *j = job_new(e, cmd);
	j->outstanding = 1;
	return j;
}
