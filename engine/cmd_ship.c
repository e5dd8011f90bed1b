/* cmd_ship.c - the commands that ship: check, run (with the sync before
 * it on the repo worker), retry, rebuild, reset. Engine thread; the
 * network part of each goes to a worker. */
#include "engine_int.h"
#include "reapply.h"

static void run_dispatch(struct engine *e, struct job *j, struct comp_state **sel, size_t n);
static void sync_work(struct task *t);
static void run_after_sync(struct engine *e, struct task *t);
static void start_sync(struct engine *e, struct job *j, struct comp_state **sel, size_t n);

void cmd_check(struct engine *e, json_t *cmd)
{
	struct comp_state **sel;
	size_t n;
	if (select_comps(e, cmd, &sel, &n) < 0)
		return;
	struct job *j = job_new(e, cmd);
	refresh_unpushed(e);
	j->outstanding = 1;   /* held until every check is dispatched */
	for (size_t i = 0; i < n; i++)
		dispatch_check(e, j, sel[i]);
	free(sel);
	job_done_one(e, j);
}

void cmd_run(struct engine *e, json_t *cmd)
{
	struct comp_state **sel;
	size_t n;
	if (select_comps(e, cmd, &sel, &n) < 0)
		return;
	if (json_array_size(json_object_get(cmd, "components")) &&
	    !json_is_true(json_object_get(cmd, "scheduled"))) {
		/* named by the operator: another host's component is refused */
		for (size_t i = 0; i < n; i++)
			if (!comp_ours(e, sel[i])) {
				char *m = not_ours_msg(e, sel[i]);
				usage_error(e, cmd, m);
				free(m);
				free(sel);
				return;
			}
	}
	const char *version = jget_s(cmd, "version");
	if (version) {
		struct tally_err err = {0};
		struct holds *h = read_holds(e, &err);
		char *msg = NULL;
		struct comp_state *cs = sel[0];
		if (n != 1 || !json_array_size(json_object_get(cmd, "components")))
			msg = xstrdup(N_("--version needs exactly one component"));
		else if (!version_valid(version))
			msg = xasprintf("'%s' is not a valid version (OCI tag grammar)", version);
		else if (version_is_alias(version))
			msg = xasprintf("'%s' has no digit: an alias, never a version", version);
		else if (!h)
			msg = xstrdup(err.msg);
		else if (holds_pin(h, cs->cc->name))
			msg = xasprintf("%s is pinned at %s; unpin it first", cs->cc->name,
					holds_pin(h, cs->cc->name)->version);
		else if (holds_is_skipped(h, cs->cc->name, version))
			msg = xasprintf("%s %s is skipped; unskip it first", cs->cc->name, version);
		else {
			refresh_record(e, cs);
			if (cs->record_error)
				msg = xstrdup(cs->record_msg);
			else if (cs->recorded && version_compare(version, cs->recorded, cs->cc->order) <= 0)
				msg = xasprintf("%s %s is not newer than the record %s (use reset or rebuild)",
						cs->cc->name, version, cs->recorded);
		}
		holds_free(h);
		free(sel);
		if (msg) {
			usage_error(e, cmd, msg);
			free(msg);
			return;
		}
		struct job *j = job_new(e, cmd);
		j->outstanding = 1;
		struct plan p = {.action = RA_SHIP, .version = version};
		plan_attempt(e, j, cs, &p);
		return;
	}
	struct job *j = job_new(e, cmd);
	if (!j->dry_run && !j->no_push && e->conf->git_push) {
		/* fetch, fast-forward, push pending records: network work, so on
		 * a task; the run goes on when it is done (run_after_sync) */
		start_sync(e, j, sel, n);
		free(sel);
		return;
	}
	run_dispatch(e, j, sel, n);
	free(sel);
}

/* The rest of a run: check every selected component's upstream. */
static void run_dispatch(struct engine *e, struct job *j, struct comp_state **sel, size_t n)
{
	struct tally_err err = {0};
	struct holds *h = read_holds(e, &err);
	j->outstanding++;
	if (!j->pending)
		j->pending = xcalloc(e->n + 1, 1);
	for (size_t i = 0; i < n; i++) {
		struct comp_state *cs = sel[i];
		if (!comp_ours(e, cs)) {
			/* another host's: checked for status, never built here */
			if (upstream_is_manual(cs->cc) || (h && holds_pin(h, cs->cc->name)))
				j->ok++;
			else
				dispatch_check(e, j, cs);
			continue;
		}
		if (cs->running && !j->dry_run) {
			j->outstanding++;   /* the waiter's unit */
			add_waiter(e, j, cs, W_RUN, RA_SHIP, NULL, 0, NULL, NULL);
			continue;
		}
		if (upstream_is_manual(cs->cc) || (h && holds_pin(h, cs->cc->name))) {
			/* passed over without failing; but the registry still
			 * follows the record (a reset's floating tags, say) */
			refresh_record(e, cs);
			if (!start_repair(e, j, cs, 2))
				j->ok++;
			continue;
		}
		dispatch_check(e, j, cs);
	}
	holds_free(h);
	job_done_one(e, j);
}

static void sync_work(struct task *t)
{
	struct tally_err err = {0};
	struct strv report = {0};
	if (recorder_sync(t->ctx->root, t->ctx->conf, -1, t->ctx->cancel_fd, &report, &err) < 0) {
		json_array_append_new(t->events, json_pack("{s:s, s:n, s:s, s:s}", "event", ev_name(EV_ERROR),
							   "component", "class",
							   tally_class_name(err.cls ? err.cls : TC_RECORD),
							   "message", err.msg));
		t->failed = 1;
	}
	/* dropped re-applies and pending pushes: said, counted, and the run
	 * goes on for every component (one remote problem blocks nothing) */
	size_t counted = 0;
	for (size_t i = 0; i < report.n; i++) {
		if (strstr(report.v[i], REAPPLY_ELSEWHERE)) {
			/* another host shipped the same version: not a conflict */
			json_array_append_new(t->events, json_pack("{s:s, s:n, s:n, s:b, s:s}", "event",
								   ev_name(EV_ERROR), "component", "class",
								   "warning", 1, "message", report.v[i]));
			continue;
		}
		counted++;
		json_array_append_new(t->events, json_pack("{s:s, s:n, s:s, s:s}", "event", ev_name(EV_ERROR),
							   "component", "class", "record", "message",
							   report.v[i]));
	}
	t->reported = counted > 0;
	strv_free(&report);
}

static void run_after_sync(struct engine *e, struct task *t)
{
	if (t->failed) {
		t->job->failed++;
		return;
	}
	if (t->reported)
		t->job->failed++;
	/* the branch may have moved: read the records again */
	status_touch_all(e);
	for (size_t i = 0; i < e->n; i++)
		if (!e->cs[i].running)
			refresh_record(e, &e->cs[i]);
	run_dispatch(e, t->job, t->sel, t->nsel);
}

static void start_sync(struct engine *e, struct job *j, struct comp_state **sel, size_t n)
{
	struct task *t = task_new(e, j, &e->cs[0], sync_work);
	t->sel = xcalloc(n + 1, sizeof *t->sel);
	memcpy(t->sel, sel, n * sizeof *sel);
	t->nsel = n;
	t->then = run_after_sync;
	task_start(e, t, e->repo_pool);
}

void cmd_retry(struct engine *e, json_t *cmd)
{
	struct comp_state *cs = one_comp(e, cmd);
	if (!cs) {
		usage_error(e, cmd, "retry needs one known component");
		return;
	}
	if (!comp_ours(e, cs)) {
		job_or_refuse(e, cmd, not_ours_msg(e, cs));
		return;
	}
	json_t *ent = last_attempt(e, cs->cc->name);
	const char *result = ent ? jget_s(ent, "result") : NULL;
	/* "verified" as the last line: the attempt was interrupted after its
	 * evidence was written (killed, or the engine stopped); it resumes */
	int interrupted = result && result_is(result, RS_VERIFIED);
	if (!result || (!result_is(result, RS_FAILED) && !interrupted)) {
		if (!cs->running) {
			/* nothing failed; but a force rebuild killed after its push
			 * leaves the version tags on a digest never recorded: the
			 * repair finds that and finishes it, else says exit 2 */
			refresh_record(e, cs);
			struct job *j = job_new(e, cmd);
			j->outstanding = 1;
			if (!start_repair(e, j, cs, 1)) {
				char *m = xasprintf("%s: nothing to retry (the last attempt %s)", cs->cc->name,
						    result ? result : "does not exist");
				emit_error(e, cs->cc->name, TC_INPUT, m);
				free(m);
				j->input_error = 1;
				j->failed++;
			}
			job_done_one(e, j);
			return;
		}
		char *m = xasprintf("%s: nothing to retry (the last attempt %s)", cs->cc->name,
				    result ? result : "does not exist");
		usage_error(e, cmd, m);
		free(m);
		return;
	}
	const char *version = jget_s(ent, "version");
	const char *action = jget_s(ent, "action");
	enum recorder_action act = RA_SHIP;
	if (action && !strcmp(action, pipeline_action_name(RA_REBUILD)))
		act = RA_REBUILD;
	else if (action && !strcmp(action, pipeline_action_name(RA_RESET)))
		act = RA_RESET;
	struct tally_err err = {0};
	struct holds *h = read_holds(e, &err);
	char *msg = NULL;
	refresh_record(e, cs);
	if (!h)
		msg = xstrdup(err.msg);
	else if (!version || !version_valid(version))
		msg = xstrdup(N_("the failed attempt has no valid version"));
	else if (holds_is_skipped(h, cs->cc->name, version))
		msg = xasprintf("%s %s is skipped now; not retrying", cs->cc->name, version);
	else if (act == RA_SHIP && holds_pin(h, cs->cc->name))
		msg = xasprintf("%s is pinned now; not retrying", cs->cc->name);
	else if (act == RA_SHIP && cs->recorded && version_compare(version, cs->recorded, cs->cc->order) <= 0)
		msg = xasprintf("%s %s is no longer newer than the record %s", cs->cc->name, version, cs->recorded);
	holds_free(h);
	struct job *j = job_or_refuse(e, cmd, msg);
	if (!j)
		return;
	struct record_commit rc = {0};
	char *rtcause = xasprintf("operator: tally retry %s", cs->cc->name);
	struct plan p = {.action = act, .version = version, .cause = act == RA_SHIP ? NULL : rtcause,
			 .no_resume = act == RA_REBUILD && !interrupted};
	if (act == RA_RESET) {
		if (find_record_commit(e, cs->cc->name, version, &rc))
			p.digest = rc.digest;
		p.pin = json_is_true(json_object_get(ent, "pin"));
		p.pin_reason = "reset";
	}
	plan_attempt(e, j, cs, &p);   /* waits when an attempt is in flight */
	free(rtcause);
	record_commit_free(&rc);
}

void cmd_rebuild(struct engine *e, json_t *cmd)
{
	struct comp_state **sel;
	size_t n;
	if (select_named_or_all(e, cmd, "rebuild", &sel, &n) < 0)
		return;
	const char *version = jget_s(cmd, "version");
	char *msg = NULL;
	int named = json_array_size(json_object_get(cmd, "components")) > 0;
	size_t kept = 0;
	for (size_t i = 0; i < n; i++) {
		/* --all: this host's components; named: another host's refused */
		if (comp_ours(e, sel[i]))
			sel[kept++] = sel[i];
		else if (named && !msg)
			msg = not_ours_msg(e, sel[i]);
	}
	n = kept;
	if (msg)
		;   /* refused above */
	else if (version && n != 1)
		msg = xstrdup(N_("--version needs exactly one component"));
	else if (version && !version_valid(version))
		msg = xasprintf("'%s' is not a valid version (OCI tag grammar)", version);
	else if (version && version_is_alias(version))
		msg = xasprintf("'%s' has no digit: an alias, never a version", version);
	for (size_t i = 0; i < n && !msg; i++) {
		refresh_record(e, sel[i]);
		if (sel[i]->record_error)
			msg = xstrdup(sel[i]->record_msg);
		else if (!sel[i]->recorded && !version)
			msg = xasprintf("%s has no record to rebuild (use run)", sel[i]->cc->name);
		else if (version && sel[i]->recorded &&
			 version_compare(version, sel[i]->recorded, sel[i]->cc->order) < 0)
			msg = xasprintf("%s %s is older than the record %s (use reset)", sel[i]->cc->name, version,
					sel[i]->recorded);
	}
	struct job *j = job_or_refuse(e, cmd, msg);
	if (!j) {
		free(sel);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		j->outstanding++;
		char *cause = xasprintf("operator: tally rebuild %s", sel[i]->cc->name);
		struct plan p = {.action = RA_REBUILD, .version = version ? version : sel[i]->recorded,
				 .no_resume = 1, .cause = cause};
		plan_attempt(e, j, sel[i], &p);
		free(cause);
	}
	free(sel);
	job_done_one(e, j);
}

void cmd_reset(struct engine *e, json_t *cmd)
{
	struct comp_state *cs = one_comp(e, cmd);
	const char *version = jget_s(cmd, "version");
	if (!cs || !version) {
		usage_error(e, cmd, "reset needs one known component and a VERSION");
		return;
	}
	if (!comp_ours(e, cs)) {
		job_or_refuse(e, cmd, not_ours_msg(e, cs));
		return;
	}
	struct tally_err err = {0};
	struct holds *h = read_holds(e, &err);
	char *msg = NULL;
	refresh_record(e, cs);
	if (!version_valid(version))
		msg = xasprintf("'%s' is not a valid version (OCI tag grammar)", version);
	else if (!h)
		msg = xstrdup(err.msg);
	else if (cs->running)
		msg = xasprintf("%s: an attempt is already running", cs->cc->name);
	else if (cs->record_error)
		msg = xstrdup(cs->record_msg);
	else if (!cs->recorded)
		msg = xasprintf("%s has no record to reset (use run --version)", cs->cc->name);
	else if (version_compare(version, cs->recorded, cs->cc->order) >= 0)
		msg = xasprintf("%s %s is not older than the record %s (reset only goes back)", cs->cc->name,
				version, cs->recorded);
	else if (holds_is_skipped(h, cs->cc->name, version))
		msg = xasprintf("%s %s is skipped; unskip it before resetting to it", cs->cc->name, version);
	holds_free(h);
	struct job *j = job_or_refuse(e, cmd, msg);
	if (!j)
		return;
	struct record_commit rc = {0};
	find_record_commit(e, cs->cc->name, version, &rc);
	char *reason = xasprintf("reset to %s", version);
	char *rcause = xasprintf("operator: tally reset %s %s", cs->cc->name, version);
	struct plan p = {
		.action = RA_RESET, .version = version, .digest = rc.digest, .cause = rcause,
		.no_build = json_is_true(json_object_get(cmd, "no_build")),
		.pin = !json_is_true(json_object_get(cmd, "no_pin")),
		.pin_reason = jget_s(cmd, "reason") ? jget_s(cmd, "reason") : reason,
	};
	plan_attempt(e, j, cs, &p);
	free(reason);
	free(rcause);
	record_commit_free(&rc);
}
