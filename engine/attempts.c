/* attempts.c - attempts in flight: the attempt pool (tally.parallel
 * threads) runs pipeline_run on a struct attempt that carries copies of
 * everything it needs; its progress comes back through the inbox
 * (on_progress), its end through on_attempt_done (ledger, events,
 * notification, waiters). Commands that met a running attempt of the same
 * component wait for it here (SPEC section 7). Engine-thread side only,
 * except attempt_run and post_progress (worker thread). */
#include "engine_int.h"
#include "curlload.h"

static void resume_one(struct engine *e, struct waiter *w, const struct attempt *a, int good);
static void resume_waiters(struct engine *e, struct comp_state *cs, const struct attempt *a, int good);
static void on_attempt_done(struct engine *e, struct attempt_task *t);

static void waiter_free(struct waiter *w)
{
	free(w->version);
	free(w->pin_reason);
	free(w->cause);
	free(w);
}

void post_progress(void *ctx, json_t *ev)
{
	struct attempt_task *t = ctx;
	queue_push(t->inbox, M_PROGRESS, ev, t);
}

/* Shutting down: attempts that have not started end as cancelled. */
void cancel_waiting(struct engine *e)
{
	while (e->nwaiting) {
		struct attempt_task *t = (struct attempt_task *)e->waiting[--e->nwaiting];
		emit(e, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "event", ev_name(EV_ATTEMPT),
				  "component", t->a->cc->name, "version", t->a->version, "attempt", t->a->id,
				  "action", pipeline_action_name(t->a->action), "result", result_name(RS_CANCELLED), "class",
				  json_null(), "hint", json_string("the engine stopped before it started"),
				  "digest", json_null(), "log", json_null()));
		t->cs->running = NULL;
		t->cs->stage = NULL;
		status_touch(e, t->cs);
		t->job->failed++;
		struct job *j = t->job;
		t->a->result = result_name(RS_CANCELLED);
		resume_waiters(e, t->cs, t->a, 0);   /* refused: the engine is stopping */
		attempt_free(t->a);
		free(t);
		job_done_one(e, j);
	}
}

void attempt_run(struct work *w)
{
	struct attempt_task *t = (struct attempt_task *)w;
	if (attempt_claim(t) != 0)
		return;   /* held or recorded elsewhere, or failed: nothing built */
	if (t->a->base_unread.n) {
		/* bases no check of this engine read: their digests now, so the
		 * record says what it was built on (unreadable: left out) */
		struct tally_err err = {0};
		struct registry *r = registry_from_conf(t->a->conf, &err);
		for (size_t i = 0; r && i < t->a->base_unread.n; i++) {
			char d[REGISTRY_DIGEST_MAX];
			if (bases_read(r, t->a->base_unread.v[i], d, &err) == 0)
				strv_push_owned(&t->a->bases, xasprintf("%s@%s", t->a->base_unread.v[i], d));
		}
		registry_free(r);
	}
	pipeline_run(t->a);
	attempt_unclaim(t);
}

void attempt_done(struct engine *e, struct work *w)
{
	on_attempt_done(e, (struct attempt_task *)w);
}

/* libcurl is opened on first use (curlload.c); an attempt reads its tags
 * back after the build and push, so the first one has it opened on the
 * check pool meanwhile (counted as a task: the engine waits for it). */
static void preload_run(struct work *w)
{
	(void)w;
	curl_preload();
}

static void preload_done(struct engine *e, struct work *w)
{
	(void)w;
	e->running_tasks--;
}

static void preload_curl(struct engine *e)
{
	if (e->curl_preloading)
		return;
	e->curl_preloading = 1;
	e->curl_preload = (struct work){.run = preload_run, .done = preload_done};
	e->running_tasks++;
	pool_submit(e->check_pool, &e->curl_preload);
}

void pump_attempts(struct engine *e)
{
	while (e->nwaiting && e->running_attempts < e->conf->parallel) {
		struct attempt_task *t = (struct attempt_task *)e->waiting[0];
		memmove(e->waiting, e->waiting + 1, --e->nwaiting * sizeof *e->waiting);
		e->running_attempts++;
		t->cs->stage = state_name(ST_BUILDING);
		status_touch(e, t->cs);
		pool_submit(e->attempt_pool, &t->w);
		preload_curl(e);
	}
}

void add_waiter(struct engine *e, struct job *j, struct comp_state *cs, enum waiter_kind kind,
		       enum recorder_action action, const char *version, int pin, const char *pin_reason,
		       const char *cause)
{
	struct waiter *w = xcalloc(1, sizeof *w);
	w->job = j;
	w->cs = cs;
	w->kind = kind;
	w->action = action;
	w->version = xstrdup(version);
	w->pin = pin;
	w->pin_reason = xstrdup(pin_reason);
	w->cause = xstrdup(cause);
	struct waiter **p = &e->waiters;
	while (*p)
		p = &(*p)->next;
	*p = w;
	const struct attempt *a = cs->running;
	char *m = xasprintf("an attempt is already running (%s, %s %s); waiting for it", a ? a->id : "?",
			    a ? pipeline_action_name(a->action) : "?", a ? a->version : "?");
	json_int_t keep = e->cur_job;
	e->cur_job = j->id;
	emit(e, json_pack("{s:s, s:s, s:n, s:b, s:s, s:b}", "event", ev_name(EV_ERROR), "component", cs->cc->name,
			  "class", "warning", 1, "message", m, "waiting", 1));
	e->cur_job = keep;
	free(m);
}

/* Live log chunks wait in the outbox for front ends. When they read more
 * slowly than the build prints, chunks are dropped here (the log file has
 * everything) and the front ends are told once where to read instead. */
#define OUTBOX_LOG_LIMIT (16u * 1024 * 1024)

void on_progress(struct engine *e, struct attempt_task *t, json_t *ev)
{
	e->cur_job = t->job->id;
	const char *event = jget_s(ev, "event");
	if (ev_from_name(event) == EV_LOG) {
		size_t len = json_string_length(json_object_get(ev, "data"));
		if (queue_bytes(&e->outbox) + e->out_pending.bytes + len > OUTBOX_LOG_LIMIT) {
			if (!t->dropping) {
				t->dropping = 1;
				emit(e, json_pack("{s:s, s:s, s:s, s:s, s:s}", "event", ev_name(EV_DROPPED), "component",
						  t->a->cc->name, "attempt", t->a->id, "log", t->a->log_path ?: "",
						  "message", N_("live log chunks dropped: front ends read more slowly than the build prints")));
			}
			json_decref(ev);
			return;
		}
		t->dropping = 0;
		if (!json_object_get(ev, "schema"))
			json_object_set_new(ev, "schema", json_integer(1));
		if (e->cur_job >= 0)
			json_object_set_new(ev, "job", json_integer(e->cur_job));
		pending_add(&e->out_pending, ev, len);   /* in order with the other events */
		return;
	}
	if (ev_from_name(event) == EV_STAGE && strcmp(jget_s(ev, "result"), "started") == 0) {
		int sg = stage_from_name(jget_s(ev, "stage"));
		if (sg >= 0)
			t->cs->stage = state_name(stage_state((enum stage)sg));
		status_touch(e, t->cs);
	}
	emit(e, ev);
}

/* The attempt a waiter waited for has ended: tell it the outcome, then do
 * what work is left (a newer candidate, a failed version to retry, the
 * rebuild asked for after the running one began). */
static void resume_one(struct engine *e, struct waiter *w, const struct attempt *a, int good)
{
	struct job *j = w->job;
	struct comp_state *cs = w->cs;
	e->cur_job = j->id;
	emit(e, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:b}", "event", ev_name(EV_ATTEMPT),
			  "component", a->cc->name, "version", a->version, "attempt", a->id, "action",
			  pipeline_action_name(a->action), "result", a->result ? a->result : result_name(RS_CANCELLED),
			  "class", a->cls ? json_string(tally_class_name(a->cls)) : json_null(), "digest",
			  jstr(a->digest), "log", jstr(a->log_path), "message", jstr(a->message), "waited", 1));
	refresh_record(e, cs);
	if (w->kind == W_REBUILD) {
		/* asked for while the other ran: it is still to do */
		const char *v = w->version ? w->version : cs->recorded;
		if (!v) {
			emit_error(e, cs->cc->name, TC_INPUT, "no record to rebuild (use run)");
			j->input_error = 1;
			j->failed++;
			job_done_one(e, j);
			return;
		}
		char *vv = xstrdup(v);
		struct plan p = {.action = RA_REBUILD, .version = vv, .no_resume = 1, .cause = w->cause};
		plan_attempt(e, j, cs, &p);
		free(vv);
		return;
	}
	if (w->kind == W_RETRY) {
		if (a->action == w->action && w->version && strcmp(a->version, w->version) == 0) {
			/* the attempt in flight was this very retry: its outcome is ours */
			if (good)
				j->ok++;
			else
				j->failed++;
			job_done_one(e, j);
			return;
		}
		if (w->action == RA_SHIP && cs->recorded &&
		    version_compare(w->version, cs->recorded, cs->cc->order) <= 0) {
			j->ok++;   /* the record moved past it meanwhile: nothing to retry */
			job_done_one(e, j);
			return;
		}
		struct plan p = {.action = w->action, .version = w->version, .pin = w->pin,
				 .pin_reason = w->pin_reason, .no_resume = w->action == RA_REBUILD,
				 .cause = w->cause};
		plan_attempt(e, j, cs, &p);
		return;
	}
	/* run --version V: V, if it is still newer than the record */
	if (j->version) {
		if (cs->recorded && version_compare(j->version, cs->recorded, cs->cc->order) <= 0) {
			if (a->action == RA_SHIP && strcmp(a->version, j->version) == 0 && !good)
				j->failed++;
			else
				j->ok++;
			job_done_one(e, j);
			return;
		}
		if (a->action == RA_SHIP && strcmp(a->version, j->version) == 0 && !good) {
			j->failed++;   /* that very version just failed: its outcome is ours */
			job_done_one(e, j);
			return;
		}
		struct plan p = {.action = RA_SHIP, .version = j->version};
		plan_attempt(e, j, cs, &p);
		return;
	}
	/* run: what is the candidate now? */
	struct tally_err herr = {0};
	struct holds *h = read_holds(e, &herr);
	if (!h) {
		emit_error(e, cs->cc->name, TC_INPUT, herr.msg);
		j->input_error = 1;
		j->failed++;
		job_done_one(e, j);
		return;
	}
	if (upstream_is_manual(cs->cc) || holds_pin(h, cs->cc->name)) {
		if (!start_repair(e, j, cs, 2))
			j->ok++;
		holds_free(h);
		job_done_one(e, j);
		return;
	}
	if (!cs->checked || cs->up_cls != TC_NONE) {
		holds_free(h);
		dispatch_check(e, j, cs);   /* read the upstream, then as any run */
		job_done_one(e, j);
		return;
	}
	const char *cand = candidate_of(cs, h);
	if (cand && !(a->action == RA_SHIP && !good && strcmp(cand, a->version) == 0)) {
		char *v = xstrdup(cand);
		holds_free(h);
		struct plan p = {.action = RA_SHIP, .version = v};
		plan_attempt(e, j, cs, &p);
		free(v);
		return;
	}
	if (cand)
		j->failed++;   /* that very candidate just failed: its outcome is ours */
	else if (!run_no_candidate(e, j, cs, h))
		j->ok++;
	else {
		holds_free(h);
		return;   /* run_no_candidate took the unit */
	}
	holds_free(h);
	job_done_one(e, j);
}

static void resume_waiters(struct engine *e, struct comp_state *cs, const struct attempt *a, int good)
{
	struct waiter *mine = NULL, **tail = &mine;
	for (struct waiter **p = &e->waiters; *p;) {
		if ((*p)->cs == cs) {
			struct waiter *w = *p;
			*p = w->next;
			w->next = NULL;
			*tail = w;
			tail = &w->next;
		} else {
			p = &(*p)->next;
		}
	}
	while (mine) {
		struct waiter *w = mine;
		mine = w->next;
		if (cs->running) {
			/* an earlier waiter started one: wait for that too */
			struct waiter **p = &e->waiters;
			while (*p)
				p = &(*p)->next;
			w->next = NULL;
			*p = w;
			continue;
		}
		resume_one(e, w, a, good);
		waiter_free(w);
	}
}

/* At the engine's end: waiters nothing resumed (their jobs are gone). */
void free_waiters(struct engine *e)
{
	while (e->waiters) {
		struct waiter *w = e->waiters;
		e->waiters = w->next;
		waiter_free(w);
	}
}

/* Another host holds the component's claim: nothing was built, nothing
 * goes in the ledger; the component shows building on that host. */
static void on_attempt_held(struct engine *e, struct attempt_task *t)
{
	struct attempt *a = t->a;
	struct comp_state *cs = t->cs;
	struct job *j = t->job;
	e->running_attempts--;
	cs->stage = NULL;
	cs->running = NULL;
	char *m;
	if (t->elsewhere) {
		m = xasprintf("%s %s: recorded elsewhere (by %s); nothing built here", cs->cc->name, a->version,
			      t->elsewhere);
	} else {
		free(cs->held_by);
		free(cs->held_version);
		cs->held_by = xstrdup(t->held.host);
		cs->held_version = xstrdup(t->held.version);
		char until[32] = "?";
		time_t ex = (time_t)t->held.expires;
		struct tm tm;
		if (gmtime_r(&ex, &tm))
			strftime(until, sizeof until, "%Y-%m-%dT%H:%M:%SZ", &tm);
		m = xasprintf("%s %s: building on %s (its claim %s, until %s); nothing built here", cs->cc->name,
			      t->held.version, t->held.host, t->held.attempt, until);
	}
	emit(e, json_pack("{s:s, s:s, s:n, s:b, s:s, s:s}", "event", ev_name(EV_ERROR), "component",
			  cs->cc->name, "class", "warning", 1, "message", m, "host",
			  t->elsewhere ? t->elsewhere : t->held.host));
	free(m);
	free(t->elsewhere);
	refresh_record(e, cs);
	status_touch(e, cs);
	j->ok++;
	a->result = result_name(RS_CANCELLED);
	resume_waiters(e, cs, a, 0);
	claim_free(&t->held);
	attempt_free(a);
	free(t);
	pump_attempts(e);
	e->cur_job = j->id;
	settle(e, j, cs);
	job_done_one(e, j);
}

static void on_attempt_done(struct engine *e, struct attempt_task *t)
{
	e->cur_job = t->job->id;
	if (t->held.host || t->elsewhere) {
		on_attempt_held(e, t);
		return;
	}
	free(t->cs->held_by);   /* this host claimed it: no other holds it now */
	t->cs->held_by = NULL;
	claim_free(&t->claim);
	struct attempt *a = t->a;
	struct comp_state *cs = t->cs;
	struct job *j = t->job;
	e->running_attempts--;
	cs->stage = NULL;
	cs->running = NULL;
	long long now = (long long)time(NULL);
	json_t *ent = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:b, s:b, s:o, s:o, s:s, s:I}",
				"id", a->id, "component", a->cc->name, "version", a->version, "action",
				pipeline_action_name(a->action), "fingerprint", a->fingerprint, "result",
				a->result, "class", a->cls ? json_string(tally_class_name(a->cls)) : json_null(),
				"message", jstr(a->message), "digest", jstr(a->digest), "shipped", a->shipped,
				"recorded", a->recorded, "commit", jstr(a->commit), "stages",
				json_incref(a->stages), "log", a->log_path, "ended", (json_int_t)now);
	json_object_set_new(ent, "started_at", json_real(a->started));
	if (a->bases.n) {
		json_t *bl = json_array();
		for (size_t i = 0; i < a->bases.n; i++)
			json_array_append_new(bl, json_string(a->bases.v[i]));
		json_object_set_new(ent, "bases", bl);
	}
	if (a->cause)
		json_object_set_new(ent, "cause", json_string(a->cause));
	if (a->pin)
		json_object_set_new(ent, "pin", json_true());
	if (a->evidence_obj && result_is(a->result, RS_FAILED))
		json_object_set_new(ent, "evidence", json_incref(a->evidence_obj));
	json_object_set_new(ent, "ended_at", json_real(a->ended));
	struct tally_err err = {0};
	if (ledger_append(e->state_dir, ent, &err) < 0)
		emit_error(e, a->cc->name, TC_INTERNAL, err.msg);
	json_array_append(e->ledger, ent);
	apply_ledger_entry(cs, ent);
	note_result(cs, a->result, a->cls ? tally_class_name(a->cls) : NULL, now, 0);
	json_decref(ent);
	refresh_record(e, cs);
	status_touch(e, cs);

	emit(e, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:s, s:o}", "event", ev_name(EV_ATTEMPT),
			  "component", a->cc->name, "version", a->version, "attempt", a->id, "action",
			  pipeline_action_name(a->action), "result", a->result, "class",
			  a->cls ? json_string(tally_class_name(a->cls)) : json_null(), "hint",
			  a->cls ? json_string(classify_hint(a->cls)) : json_null(), "digest",
			  jstr(a->digest), "log", a->log_path, "message", jstr(a->message)));
	if (a->recorded)
		emit(e, json_pack("{s:s, s:s, s:s, s:o, s:s, s:s}", "event", ev_name(EV_RECORD), "component",
				  a->cc->name, "version", a->version, "previous", jstr(a->previous),
				  "action", pipeline_action_name(a->action), "commit", a->commit));
	int ok = result_is(a->result, RS_SHIPPED) || result_is(a->result, RS_BUILT);
	if (ok && a->cls == TC_NONE)
		j->ok++;
	else
		j->failed++;
	if (a->cls == TC_INPUT)
		j->input_error = 1;   /* e.g. a secret that is not set: exit 2 */
	/* a failed attempt leaves the record where it was: that is its "previous" */
	const char *prev = a->previous ? a->previous : a->recorded ? NULL : cs->recorded;
	notify_start(e, j, cs,
		     json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:o, s:o, s:o, s:o, s:s, s:s, s:o, s:o}",
			       "event", ev_name(EV_ATTEMPT), "result", a->result, "component", a->cc->name, "version",
			       a->version, "previous", jstr(prev), "action",
			       pipeline_action_name(a->action), "class",
			       a->cls ? json_string(tally_class_name(a->cls)) : json_null(), "hint",
			       a->cls ? json_string(classify_hint(a->cls)) : json_null(), "evidence",
			       jstr(a->evidence), "message", jstr(a->message), "log", a->log_path,
			       "attempt", a->id, "digest", jstr(a->digest), "commit", jstr(a->commit)));
	resume_waiters(e, cs, a, ok && a->cls == TC_NONE);
	int recorded = a->recorded;
	attempt_free(a);
	free(t);
	pump_attempts(e);
	e->cur_job = j->id;
	if (recorded)
		comp_bases_refresh(e, cs, NULL);
	settle(e, j, cs);
	job_done_one(e, j);
}
