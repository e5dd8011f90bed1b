/* checks.c - upstream checks: a check task per component goes to the
 * check pool (at most MAX_CHECKS at once); its worker reads the upstream
 * and the bases' digests (struct basecache, shared by the job's check
 * workers under its mutex) on copies, and the engine thread takes the
 * result (on_check_done) and decides what the job does next
 * (evaluate_checked). */
#include "engine_int.h"

static void check_bases(struct check_task *t);
static void check_run(struct work *w);
static void check_done(struct engine *e, struct work *w);
static void pump_checks(struct engine *e);
static void on_check_done(struct engine *e, struct check_task *t);

/* The digests of a check's bases: each distinct base once per job (the
 * lock is held across the request, so components sharing a base wait for
 * one HEAD rather than sending their own). */
static void check_bases(struct check_task *t)
{
	struct basecache *bc = t->bcache;
	t->bases = json_array();
	struct registry *r = NULL;
	for (size_t i = 0; i < t->base_refs.n; i++) {
		const char *ref = t->base_refs.v[i];
		pthread_mutex_lock(&bc->mu);
		json_t *got = json_object_get(bc->digests, ref);
		if (!got) {
			struct tally_err err = {0};
			char d[REGISTRY_DIGEST_MAX] = "";
			if (!r)
				r = registry_from_conf(t->ctx->conf, &err);
			if (r && bases_read(r, ref, d, &err) == 0)
				got = json_string(d);
			else
				got = json_pack("{s:s}", "error", err.msg[0] ? err.msg : "unreadable");
			json_object_set_new(bc->digests, ref, got);
		}
		json_t *ent = json_is_string(got)
				      ? json_pack("{s:s, s:O}", "image", ref, "digest", got)
				      : json_pack("{s:s, s:n, s:O}", "image", ref, "digest", "error",
						  json_object_get(got, "error"));
		pthread_mutex_unlock(&bc->mu);
		json_array_append_new(t->bases, ent);
	}
	registry_free(r);
}

static void check_run(struct work *w)
{
	struct check_task *t = (struct check_task *)w;
	struct upstream_ctx ctx = {
		.conf = t->ctx->conf, .repo_root = t->ctx->root, .state_dir = t->ctx->state_dir,
		.cancel_fd = t->ctx->cancel_fd,
	};
	upstream_check(&ctx, t->cc, &t->res);
	check_bases(t);
}

static void check_done(struct engine *e, struct work *w)
{
	on_check_done(e, (struct check_task *)w);
	if (!e->jobs)
		save_checks(e);
}

static void pump_checks(struct engine *e)
{
	while (e->ncheck_wait && e->running_checks < MAX_CHECKS) {
		struct check_task *t = e->check_wait[0];
		memmove(e->check_wait, e->check_wait + 1, --e->ncheck_wait * sizeof *e->check_wait);
		e->running_checks++;
		pool_submit(e->check_pool, &t->w);
	}
}

void dispatch_check(struct engine *e, struct job *j, struct comp_state *cs)
{
	if (e->quitting)
		return;
	struct check_task *t = xcalloc(1, sizeof *t);
	t->w.run = check_run;
	t->w.done = check_done;
	t->ctx = &e->wctx;
	t->cc = cs->cc;
	t->job = j;
	t->cs = cs;
	j->outstanding++;
	if (j->pending)
		j->pending[cs - e->cs] = 1;
	if (!j->base_digests)
		j->base_digests = json_object();
	if (!j->bcache) {
		j->bcache = xcalloc(1, sizeof *j->bcache);
		pthread_mutex_init(&j->bcache->mu, NULL);
		j->bcache->digests = json_object();
	}
	t->bcache = j->bcache;
	{
		struct strv refs = {0};
		struct tally_err err = {0};
		if (bases_of(e->root, cs->cc, &refs, &err) < 0)
			t->base_error = xstrdup(err.msg);
		for (size_t i = 0; i < refs.n; i++)
			if (!base_component(e, cs, refs.v[i]))
				strv_push(&t->base_refs, refs.v[i]);
		strv_free(&refs);
	}
	if (e->ncheck_wait == e->capcheck_wait) {
		e->capcheck_wait = e->capcheck_wait ? e->capcheck_wait * 2 : 16;
		e->check_wait = xrealloc(e->check_wait, e->capcheck_wait * sizeof *e->check_wait);
	}
	e->check_wait[e->ncheck_wait++] = t;
	pump_checks(e);
}

static void on_check_done(struct engine *e, struct check_task *t)
{
	e->cur_job = t->job->id;
	struct comp_state *cs = t->cs;
	struct job *j = t->job;
	e->running_checks--;
	pump_checks(e);
	strv_free(&cs->upstream);
	cs->upstream = t->res.versions;
	memset(&t->res.versions, 0, sizeof t->res.versions);
	cs->up_cls = t->res.cls;
	free(cs->up_msg);
	cs->up_msg = t->res.message ? xstrdup(t->res.message) : NULL;
	cs->retry_at = t->res.retry_at;
	cs->up_aliases = t->res.aliases;
	if (cs->up_cls == TC_RATE_LIMIT && cs->retry_at > 0)
		cs->retry_due = cs->retry_at;   /* waits for the reset, not the backoff */
	status_touch(e, cs);
	cs->checked = 1;
	cs->checked_at = (long long)time(NULL);
	for (size_t i = 0; i < t->res.warnings.n; i++)
		emit(e, ev_warning(cs->cc->name, t->res.warnings.v[i]));
	upstream_result_free(&t->res);
	refresh_record(e, cs);
	if (t->base_error)
		emit(e, ev_warning(cs->cc->name, t->base_error));
	comp_bases_refresh(e, cs, t->bases);
	{
		/* the engine's copy of what this job's checks read */
		size_t bi;
		json_t *bv;
		json_array_foreach(t->bases, bi, bv) {
			const char *img = jget_s(bv, "image");
			if (img && jget_s(bv, "digest"))
				json_object_set_new(j->base_digests, img, json_string(jget_s(bv, "digest")));
			else if (img)
				json_object_set_new(j->base_digests, img,
						    json_pack("{s:s}", "error", jget_s(bv, "error") ?: "unreadable"));
		}
	}
	{
		size_t bi;
		json_t *bv;
		json_array_foreach(t->bases, bi, bv)
			if (jget_s(bv, "error")) {
				char *m = xasprintf("base %s unreadable (base state unknown): %s", jget_s(bv, "image"),
						    jget_s(bv, "error"));
				emit(e, ev_warning(cs->cc->name, m));
				free(m);
			}
	}
	json_decref(t->bases);
	strv_free(&t->base_refs);
	free(t->base_error);
	free(t);
	if (j->pending && waits_for_after(e, j, cs)) {
		j->deferred = xrealloc(j->deferred, (j->ndeferred + 1) * sizeof *j->deferred);
		j->deferred[j->ndeferred++] = cs;
		return;
	}
	evaluate_checked(e, j, cs);
}

/* After the check: plan the component's attempt (or mend its tags). */
void evaluate_checked(struct engine *e, struct job *j, struct comp_state *cs)
{
	e->cur_job = j->id;
	struct tally_err err = {0};
	struct holds *h = read_holds(e, &err);
	int holds_bad = h == NULL;
	if (strcmp(j->cmd, "check") == 0) {
		if (!j->ordered) {
			j->ordered = json_array();
			for (size_t k = 0; k < e->n; k++)
				json_array_append_new(j->ordered, json_null());
		}
		json_t *ev = comp_status(e, cs, h, ev_name(EV_CHECK));
		json_object_set_new(ev, "aliases", json_integer((json_int_t)cs->up_aliases));
		json_array_set_new(j->ordered, (size_t)(cs - e->cs), ev);
		if (cs->up_cls != TC_NONE || cs->record_error)
			j->failed++;
		else
			j->ok++;
	} else if (!comp_ours(e, cs)) {
		j->ok++;   /* another host's component: its check is for status only */
	} else if (holds_bad) {
		emit_error(e, cs->cc->name, TC_INPUT, err.msg);
		j->input_error = 1;
		j->failed++;
	} else if (cs->record_error) {
		emit_error(e, cs->cc->name, TC_INPUT, cs->record_msg);
		j->input_error = 1;
		j->failed++;
	} else if (cs->up_cls != TC_NONE) {
		char *m = xasprintf("upstream unknown (%s): %s; nothing built", tally_class_name(cs->up_cls),
				    cs->up_msg ? cs->up_msg : "");
		emit_error(e, cs->cc->name, cs->up_cls, m);
		free(m);
		j->failed++;
	} else {
		const char *cand = candidate_of(cs, h);
		if (cand) {
			char *v = xstrdup(cand);
			char *cause = xasprintf("upstream %s released", v);
			holds_free(h);
			struct plan p = {.action = RA_SHIP, .version = v, .cause = cause};
			plan_attempt(e, j, cs, &p);
			free(v);
			free(cause);
			return;
		}
		if (run_no_candidate(e, j, cs, h)) {
			holds_free(h);
			return;
		}
		j->ok++;
	}
	holds_free(h);
	settle(e, j, cs);
	job_done_one(e, j);
}
