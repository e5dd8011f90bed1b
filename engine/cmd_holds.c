/* cmd_holds.c - the hold commands: skip, unskip, pin, unpin. The engine
 * thread checks the request; the hold commit (recorder_hold, and its push)
 * is made on the repo worker. */
#include "engine_int.h"

static void hold_work(struct task *t);
static void hold_then(struct engine *e, struct task *t);
static void cmd_hold(struct engine *e, json_t *cmd, int op);


static void hold_work(struct task *t)
{
	struct recorder_hold_req req = {
		.conf = t->ctx->conf, .cc = t->cc, .repo_dir = t->ctx->root, .op = (enum recorder_hold_op)t->op,
		.version = t->version, .reason = t->reason, .log_fd = -1, .cancel_fd = t->ctx->cancel_fd,
	};
	struct recorder_result res = {0};
	struct tally_err err = {0};
	char *version = NULL;
	if (recorder_hold(&req, &res, &version, &err) < 0) {
		task_error(t, err.cls ? err.cls : TC_RECORD, err.msg);
	} else {
		json_array_append_new(t->events,
				      json_pack("{s:s, s:s, s:o, s:o, s:s, s:s}", "event", ev_name(EV_HOLD), "component",
						t->cc->name, "version", jstr(version), "previous", json_null(),
						"action", hold_action_name((enum recorder_hold_op)t->op), "commit", res.commit));
		if (!res.pushed) {
			char *m = xasprintf("%s committed locally in %.12s but not on the remote: %s",
					    hold_action_name((enum recorder_hold_op)t->op), res.commit, res.push_error ? res.push_error : "push failed");
			task_error(t, TC_RECORD, m);
			free(m);
		}
	}
	free(version);
	recorder_result_free(&res);
}

/* A hold commit that landed (even if only locally) is notified. */
static void hold_then(struct engine *e, struct task *t)
{
	if (t->failed)
		t->job->failed++;
	else
		t->job->ok++;
	size_t i;
	json_t *ev;
	json_array_foreach(t->events, i, ev) {
		const char *name = jget_s(ev, "event");
		if (ev_from_name(name) != EV_HOLD)
			continue;
		notify_start(e, t->job, t->cs,
			     json_pack("{s:s, s:s, s:s, s:O, s:s, s:s, s:O}", "event", ev_name(EV_HOLD), "result",
				       hold_action_name((enum recorder_hold_op)t->op), "component", t->cs->cc->name, "version",
				       json_object_get(ev, "version"), "action", hold_action_name((enum recorder_hold_op)t->op), "message",
				       t->reason ? t->reason : "", "commit", json_object_get(ev, "commit")));
	}
}

static void cmd_hold(struct engine *e, json_t *cmd, int op)
{
	json_t *names = json_object_get(cmd, "components");
	struct comp_state *cs = json_array_size(names) == 1
					? find_comp(e, json_string_value(json_array_get(names, 0)) ?: "")
					: NULL;
	const char *version = jget_s(cmd, "version");
	if (!cs && json_array_size(names) == 1) {   /* says which, and the nearest name */
		struct comp_state **sel = NULL;
		size_t n = 0;
		if (select_comps(e, cmd, &sel, &n) < 0)
			return;
		free(sel);
	}
	if (!cs) {
		char *m = xasprintf("%s needs one known component", hold_action_name((enum recorder_hold_op)op));
		usage_error(e, cmd, m);
		free(m);
		return;
	}
	if ((op == RH_SKIP || op == RH_UNSKIP) && (!version || !version_valid(version))) {
		char *m = xasprintf("%s needs a valid VERSION (OCI tag grammar)", hold_action_name((enum recorder_hold_op)op));
		usage_error(e, cmd, m);
		free(m);
		return;
	}
	struct job *j = job_new(e, cmd);
	j->outstanding = 1;
	if (op == RH_SKIP && !strv_contains(&cs->upstream, version)) {
		/* a typo would skip nothing real: say so (the skip is still made) */
		char *m = cs->checked ? xasprintf("%s %s was never listed by its upstream (%zu versions at the last check); "
						  "skipping it anyway (tally unskip %s %s undoes it)",
						  cs->cc->name, version, cs->upstream.n, cs->cc->name, version)
				      : xasprintf("%s's upstream was never read here, so %s is not known to exist; skipping "
						  "it anyway (tally check %s lists the versions)",
						  cs->cc->name, version, cs->cc->name);
		emit(e, json_pack("{s:s, s:s, s:s, s:b, s:s}", "event", ev_name(EV_ERROR), "component", cs->cc->name, "class",
				  "warning", "warning", 1, "message", m));
		free(m);
	}
	struct task *t = task_new(e, j, cs, hold_work);
	t->then = hold_then;
	t->op = op;
	t->version = xstrdup(version);
	t->reason = xstrdup(jget_s(cmd, "reason"));
	task_start(e, t, e->repo_pool);
	job_done_one(e, j);
}

void cmd_skip(struct engine *e, json_t *cmd) { cmd_hold(e, cmd, RH_SKIP); }
void cmd_unskip(struct engine *e, json_t *cmd) { cmd_hold(e, cmd, RH_UNSKIP); }
void cmd_pin(struct engine *e, json_t *cmd) { cmd_hold(e, cmd, RH_PIN); }
void cmd_unpin(struct engine *e, json_t *cmd) { cmd_hold(e, cmd, RH_UNPIN); }
