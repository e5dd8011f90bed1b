/* plan.c - planning an attempt (engine thread): holds, dirty inputs,
 * the recipe fingerprint, resume evidence from the ledger, the attempt id.
 * When inputs look dirty the repo worker mends what tally wrote
 * (recorder_repair) and the plan starts over when it is done; the engine
 * thread itself never takes the recorder's lock. */
#include "engine_int.h"

static int dirty_inputs(struct engine *e, const struct comp_conf *cc, char **why);
static char *new_attempt_id(struct engine *e, const struct comp_conf *cc);
static char *resume_digest(struct engine *e, const struct comp_conf *cc, const char *version,
			   const char *fp);
static struct plan *plan_dup(const struct plan *p);
static const char *plan_words(const struct attempt *a);
static void plan_attempt_ex(struct engine *e, struct job *j, struct comp_state *cs,
			    const struct plan *p, int repaired);
static void plan_repair_work(struct task *t);
static void plan_repair_then(struct engine *e, struct task *t);
static void start_plan_repair(struct engine *e, struct job *j, struct comp_state *cs,
			      const struct plan *p);

/* Recipe fingerprint: blob ids at HEAD of the recipe files plus the
 * component's shipping config, hashed. */
char *fingerprint_of(struct engine *e, const struct comp_conf *cc)
{
	struct sbuf sb = {0};
	git_commit *head = NULL;
	repo_branch_commit(e->repo, e->refname, &head, NULL);
	for (size_t i = 0; i < cc->recipes.n; i++) {
		git_oid oid;
		char hex[GIT_OID_HEXSZ + 1] = "missing";
		if (repo_blob_id(e->repo, head, cc->recipes.v[i], &oid))
			repo_oid_hex(&oid, hex);
		sbuf_addf(&sb, "recipe %s %s\n", cc->recipes.v[i], hex);
	}
	git_commit_free(head);
	sbuf_addf(&sb, "image %s\nbuild %s\npush %s\nworkdir %s\n", cc->image, cc->build, cc->push,
		  cc->workdir ? cc->workdir : "");
	for (size_t i = 0; i < cc->tags.n; i++)
		sbuf_addf(&sb, "tag %s\n", cc->tags.v[i]);
	for (size_t i = 0; i < cc->floating.n; i++)
		sbuf_addf(&sb, "floating %s\n", cc->floating.v[i]);
	for (size_t i = 0; i < cc->nrecord_also; i++)
		sbuf_addf(&sb, "also %s:%s=%s\n", cc->record_also[i].file, cc->record_also[i].var,
			  cc->record_also[i].tmpl);
	git_oid oid;
	git_odb_hash(&oid, sbuf_str(&sb), sb.len, GIT_OBJECT_BLOB);
	sbuf_free(&sb);
	char hex[GIT_OID_HEXSZ + 1];
	repo_oid_hex(&oid, hex);
	return xstrdup(hex);
}

/* A recipe file or tally.conf with uncommitted changes stops the ship:
 * what would be built is not what the record commit would describe. */
static int dirty_inputs(struct engine *e, const struct comp_conf *cc, char **why)
{
	struct strv files = {0};
	for (size_t i = 0; i < cc->recipes.n; i++)
		strv_push(&files, cc->recipes.v[i]);
	/* and what the record will write: refuse before building, not after */
	strv_push(&files, cc->file);
	for (size_t i = 0; i < cc->nrecord_also; i++)
		strv_push(&files, cc->record_also[i].file);
	strv_push(&files, e->conf->holds_file);
	const char *wd = git_repository_workdir(e->repo);
	if (wd && str_starts(e->conf_path, wd))
		strv_push(&files, e->conf_path + strlen(wd));
	int dirty = 0;
	for (size_t i = 0; i < files.n && !dirty; i++) {
		unsigned int flags = 0;
		if (git_status_file(&flags, e->repo, files.v[i]) == 0 && flags != GIT_STATUS_CURRENT) {
			*why = (flags & GIT_STATUS_IGNORED)
				       ? xasprintf("%s is ignored by git, but tally must commit it; remove it from .gitignore before %s is shipped",
						   files.v[i], cc->name)
				       : xasprintf("%s has uncommitted changes; commit it (or restore it) before %s is shipped",
						   files.v[i], cc->name);
			dirty = 1;
		}
	}
	strv_free(&files);
	return dirty;
}

static char *new_attempt_id(struct engine *e, const struct comp_conf *cc)
{
	char ts[32];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(ts, sizeof ts, "%Y%m%dT%H%M%SZ", &tm);
	for (;;) {
		char *id = xasprintf("%s-%s-%u", ts, cc->name, ++e->seq);
		char *log = statedir_attempt_log(e->state_dir, cc->name, id);
		int exists = access(log, F_OK) == 0;
		free(log);
		if (!exists)
			return id;
		free(id);
	}
}

/* Evidence of an earlier attempt that shipped this version with this recipe
 * but did not record it (a failed git push, a crash before the commit). */
static char *resume_digest(struct engine *e, const struct comp_conf *cc, const char *version,
			   const char *fp)
{
	for (size_t i = json_array_size(e->ledger); i-- > 0;) {
		json_t *ent = json_array_get(e->ledger, i);
		if (strcmp(jget_s(ent, "component") ? jget_s(ent, "component") : "", cc->name) != 0)
			continue;
		const char *v = jget_s(ent, "version"), *f = jget_s(ent, "fingerprint");
		const char *d = jget_s(ent, "digest");
		if (v && f && d && strcmp(v, version) == 0 && strcmp(f, fp) == 0 &&
		    json_is_true(json_object_get(ent, "shipped")) &&
		    !json_is_true(json_object_get(ent, "recorded")))
			return xstrdup(d);
		if (v && strcmp(v, version) == 0)
			return NULL;  /* a newer attempt of this version decides */
	}
	return NULL;
}

/* A plan that outlives its caller's strings (planning waits for a worker). */
static struct plan *plan_dup(const struct plan *p)
{
	struct plan *c = xcalloc(1, sizeof *c);
	*c = *p;
	c->version = xstrdup(p->version);
	c->digest = xstrdup(p->digest);
	c->pin_reason = xstrdup(p->pin_reason);
	c->cause = xstrdup(p->cause);
	return c;
}

void plan_free(struct plan *p)
{
	if (!p)
		return;
	free((char *)p->version);
	free((char *)p->digest);
	free((char *)p->pin_reason);
	free((char *)p->cause);
	free(p);
}

static const char *plan_words(const struct attempt *a)
{
	if (a->resume_digest && a->no_build)
		return N_("check that every tag still reads back the recorded digest, then record; nothing is built");
	if (a->resume_digest)
		return N_("check the image that shipped before, then record (build if the registry lost it)");
	return N_("build, push, verify, then record");
}

/* Plans an attempt of p (or refuses it), taking over the component's unit
 * of the job. repaired: the repo worker already mended what tally wrote
 * (dirty inputs are then final). */
static void plan_attempt_ex(struct engine *e, struct job *j, struct comp_state *cs,
			    const struct plan *p, int repaired)
{
	char *why = NULL;
	const char *refuse = NULL;
	enum tally_class refuse_cls = TC_NONE;
	char *why_hold = NULL;
	if (e->quitting) {
		/* stopping: nothing new starts, whatever was asked before */
		refuse = "the engine is stopping; not started";
	} else if (cs->running && !j->dry_run && j->cmd &&
		   (!strcmp(j->cmd, "run") || !strcmp(j->cmd, "retry") || !strcmp(j->cmd, "rebuild"))) {
		/* one attempt per component at a time (SPEC section 1); the
		 * second waits for the first, keeping this unit of the job */
		int rebuild = !strcmp(j->cmd, "rebuild");
		settle(e, j, cs);
		add_waiter(e, j, cs, rebuild ? W_REBUILD : !strcmp(j->cmd, "retry") ? W_RETRY : W_RUN,
			   p->action, rebuild ? j->version : p->version, p->pin, p->pin_reason, p->cause);
		return;
	} else if (cs->running && !j->dry_run) {
		refuse = "an attempt is already running; not started";
	} else {
		/* holds are checked before anything is built or pushed over
		 * existing tags; the recorder checks again at record time */
		struct tally_err herr = {0};
		struct holds *h = read_holds(e, &herr);
		const struct hold *pin = h ? holds_pin(h, cs->cc->name) : NULL;
		if (!h) {
			why_hold = xstrdup(herr.msg);
			refuse_cls = TC_INPUT;
		} else if (holds_is_skipped(h, cs->cc->name, p->version)) {
			why_hold = xasprintf("%s %s is skipped; nothing is built", cs->cc->name, p->version);
			refuse_cls = TC_HELD;
		} else if (pin && p->action == RA_SHIP) {
			why_hold = xasprintf("%s is pinned at %s; nothing is built", cs->cc->name, pin->version);
			refuse_cls = TC_HELD;
		} else if (pin && p->action == RA_REBUILD && strcmp(pin->version, p->version) != 0) {
			why_hold = xasprintf("%s is pinned at %s; only that version may be rebuilt", cs->cc->name,
					     pin->version);
			refuse_cls = TC_HELD;
		}
		holds_free(h);
		refuse = why_hold;
	}
	if (refuse) {
		emit_error(e, cs->cc->name, refuse_cls, refuse);
		if (refuse_cls == TC_INPUT)
			j->input_error = 1;
		free(why_hold);
		j->failed++;
		settle(e, j, cs);
		job_done_one(e, j);
		return;
	}
	if (!repaired && dirty_inputs(e, cs->cc, &why)) {
		/* maybe only the index is stale (a record whose index update
		 * failed on a held index.lock): the repo worker mends what tally
		 * wrote, then the plan starts over (holds read again) */
		free(why);
		start_plan_repair(e, j, cs, p);
		return;
	}
	if (repaired && dirty_inputs(e, cs->cc, &why)) {
		emit_error(e, cs->cc->name, TC_RECIPE, why);
		free(why);
		j->failed++;
		settle(e, j, cs);
		job_done_one(e, j);
		return;
	}
	if (p->no_build && !p->digest) {
		char *m = xasprintf("%s %s: no earlier record of it carries a digest; --no-build refuses to build it",
				    cs->cc->name, p->version);
		emit_error(e, cs->cc->name, TC_MISSING_VERSION, m);
		free(m);
		j->failed++;
		settle(e, j, cs);
		job_done_one(e, j);
		return;
	}
	struct attempt *a = xcalloc(1, sizeof *a);
	a->conf = e->conf;
	a->cc = cs->cc;
	a->repo_dir = xstrdup(e->root);
	a->state_dir = xstrdup(e->state_dir);
	a->id = new_attempt_id(e, cs->cc);
	a->version = xstrdup(p->version);
	a->action = p->action;
	a->fingerprint = fingerprint_of(e, cs->cc);
	a->no_push = j->no_push;
	a->cancel_fd = e->cancel[0];
	a->no_build = p->no_build;
	a->live_logs = e->live_logs;
	a->pin = p->pin;
	a->pin_reason = xstrdup(p->pin_reason);
	a->cause = xstrdup(p->cause);
	/* what the build is on: a base component's record now; a registry
	 * base as this job's check read it, else read just before the build
	 * (a rebuild or retry command; an older check may be stale) */
	comp_bases_refresh(e, cs, NULL);
	{
		size_t bi;
		json_t *bv;
		json_array_foreach(cs->bases, bi, bv) {
			const char *img = jget_s(bv, "image");
			const char *d = jget_s(bv, "component") ? jget_s(bv, "digest")
				      : json_string_value(json_object_get(j->base_digests, img));
			if (d)
				strv_push_owned(&a->bases, xasprintf("%s@%s", img, d));
			else if (!jget_s(bv, "component") && !json_object_get(j->base_digests, img))
				strv_push(&a->base_unread, img);
		}
	}
	if (p->digest)
		a->resume_digest = xstrdup(p->digest);
	else if (!j->no_push && !p->no_resume)
		a->resume_digest = resume_digest(e, cs->cc, p->version, a->fingerprint);
	if (j->dry_run) {
		emit(e, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:s}", "event",
				  ev_name(EV_ATTEMPT), "component", cs->cc->name, "version", p->version, "attempt", a->id,
				  "action", pipeline_action_name(p->action), "result", result_name(RS_PLANNED), "class",
				  json_null(), "hint", json_null(), "digest", json_null(), "log", json_null(),
				  "plan", plan_words(a)));
		attempt_free(a);
		j->ok++;
		settle(e, j, cs);
		job_done_one(e, j);
		return;
	}
	struct attempt_task *t = xcalloc(1, sizeof *t);
	t->w.run = attempt_run;
	t->w.done = attempt_done;
	t->inbox = &e->inbox;
	t->job = j;
	t->cs = cs;
	t->a = a;
	a->post = post_progress;
	a->ctx = t;
	cs->running = a;
	cs->stage = state_name(ST_BUILDING);
	status_touch(e, cs);
	if (e->nwaiting == e->capwaiting) {
		e->capwaiting = e->capwaiting ? e->capwaiting * 2 : 16;
		e->waiting = xrealloc(e->waiting, e->capwaiting * sizeof *e->waiting);
	}
	e->waiting[e->nwaiting++] = (struct attempt *)t;
	pump_attempts(e);
}

void plan_attempt(struct engine *e, struct job *j, struct comp_state *cs,
			 const struct plan *p)
{
	plan_attempt_ex(e, j, cs, p, 0);
}

/* No candidate: mend floating tags, and re-ship the record when its recipe
 * changed since it was recorded. Returns 1 when it took over the
 * component's part of the job. */
int run_no_candidate(struct engine *e, struct job *j, struct comp_state *cs,
			    const struct holds *h)
{
	if (!cs->recorded || j->dry_run || j->no_push)
		return 0;
	struct record_commit rc = {0};
	if (!find_record_commit(e, cs->cc->name, cs->recorded, &rc))
		return 0;   /* a record not made by tally: nothing to compare */
	int took = 0;
	char *fp = fingerprint_of(e, cs->cc);
	int held = (h && holds_pin(h, cs->cc->name)) || (h && holds_is_skipped(h, cs->cc->name, cs->recorded));
	const char *moved = held ? NULL : base_moved(cs);
	if (moved) {
		json_t *be = base_entry(cs, moved);
		char *cause = xasprintf("base %s moved %s \u2192 %s", moved, jget_s(be, "built_on"),
					jget_s(be, "digest"));
		char *v = xstrdup(cs->recorded);
		struct plan p = {.action = RA_REBUILD, .version = v, .no_resume = 1, .cause = cause};
		plan_attempt(e, j, cs, &p);
		free(v);
		free(cause);
		took = 1;
	} else if (rc.recipe && strcmp(rc.recipe, fp) != 0 && !held) {
		char *v = xstrdup(cs->recorded);
		struct plan p = {.action = RA_REBUILD, .version = v, .no_resume = 1, .cause = "recipe changed"};
		plan_attempt(e, j, cs, &p);
		free(v);
		took = 1;
	} else if (start_repair(e, j, cs, 0)) {
		settle(e, j, cs);
		job_done_one(e, j);   /* the task holds the job now */
		took = 1;
	}
	free(fp);
	record_commit_free(&rc);
	return took;
}

/* The repo worker's half of plan_attempt: recorder_repair, then the plan
 * again on the engine thread (task->plan, a copy). */
static void plan_repair_work(struct task *t)
{
	struct strv report = {0};
	recorder_repair(t->ctx->root, t->ctx->conf, &report, NULL);
	strv_free(&report);
}

static void plan_repair_then(struct engine *e, struct task *t)
{
	struct plan *p = t->plan;
	plan_attempt_ex(e, t->job, t->cs, p, 1);
	plan_free(p);
	t->plan = NULL;
}

static void start_plan_repair(struct engine *e, struct job *j, struct comp_state *cs,
			      const struct plan *p)
{
	struct task *t = task_new(e, j, cs, plan_repair_work);
	t->plan = plan_dup(p);
	t->then = plan_repair_then;
	task_start(e, t, e->repo_pool);
}
