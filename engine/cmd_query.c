/* cmd_query.c - the commands that only read: status, history, logs,
 * attempts, shipped, health. Engine thread only; nothing here waits on
 * the network. */
#include "engine_int.h"

#include "bases.h"

static int shipped_cb(void *vctx, const struct record_commit *rc);

void cmd_status(struct engine *e, json_t *cmd, const char *event)
{
	struct comp_state **sel;
	size_t n;
	if (select_comps(e, cmd, &sel, &n) < 0)
		return;
	struct job *j = job_new(e, cmd);
	struct tally_err err = {0};
	struct holds *h = read_holds(e, &err);
	if (!h) {
		emit_error(e, NULL, TC_INPUT, err.msg);
		j->input_error = 1;
	}
	refresh_unpushed(e);
	/* the branch head is read once for all of them, the pause file once */
	struct comp_state **idle = xcalloc(n + 1, sizeof *idle);
	size_t nidle = 0;
	for (size_t i = 0; i < n; i++)
		if (!sel[i]->running)
			idle[nidle++] = sel[i];
	refresh_records(e, idle, nidle);
	free(idle);
	int paused = engine_paused(e);
	long long now = now_s();
	for (size_t i = 0; i < n; i++) {
		if (!sel[i]->running)
			comp_bases_refresh(e, sel[i], NULL);   /* built_on follows the record */
		emit(e, status_json(sel[i], h, event, paused, now));
		j->ok++;
	}
	holds_free(h);
	free(sel);
	job_finish(e, j);
}

void cmd_history(struct engine *e, json_t *cmd)
{
	/* a name tally.conf does not know is an input error, as for attempts
	 * (it showed every component's history) */
	struct comp_state **sel;
	size_t nsel;
	if (select_comps(e, cmd, &sel, &nsel) < 0)
		return;
	const char *only = json_array_size(json_object_get(cmd, "components")) ? sel[0]->cc->name : NULL;
	free(sel);
	struct job *j = job_new(e, cmd);
	git_revwalk *w = NULL;
	json_int_t limit = json_integer_value(json_object_get(cmd, "limit"));
	if (git_revwalk_new(&w, e->repo) < 0 || git_revwalk_push_ref(w, e->refname) < 0) {
		git_revwalk_free(w);
		job_finish(e, j);   /* no commits: nothing to show */
		return;
	}
	git_oid oid;
	int count = 0;
	while (git_revwalk_next(&oid, w) == 0 && (limit <= 0 || count < limit)) {
		git_commit *c = NULL;
		if (git_commit_lookup(&c, e->repo, &oid) < 0)
			break;
		const char *msg = git_commit_message(c);
		char *action = repo_trailer(msg, "Tally-Action");
		char *comp = repo_trailer(msg, "Tally-Component");
		if (action && comp && (!only || strcmp(only, comp) == 0)) {
			char hex[GIT_OID_HEXSZ + 1];
			repo_oid_hex(&oid, hex);
			int is_hold = hold_action_from_name(action) >= 0;
			json_t *images = json_array();
			for (const char *p = msg; (p = strstr(p, "\nTally-Image: ")); p++) {
				const char *s = p + strlen("\nTally-Image: ");
				json_array_append_new(images, json_stringn(s, strcspn(s, "\n")));
			}
			char *v = repo_trailer(msg, "Tally-Version"), *prev = repo_trailer(msg, "Tally-Previous");
			char *dg = repo_trailer(msg, "Tally-Digest"), *at = repo_trailer(msg, "Tally-Attempt");
			char *rc = repo_trailer(msg, "Tally-Recipe");
			char *cause = repo_trailer(msg, "Tally-Cause");
			char *host = repo_trailer(msg, "Tally-Host");
			struct strv bv = {0};
			bases_trailers(msg, "Tally-Base", &bv);
			json_t *bases = json_array();
			for (size_t k = 0; k < bv.n; k++)
				json_array_append_new(bases, json_string(bv.v[k]));
			strv_free(&bv);
			json_t *ev = json_pack("{s:s, s:s, s:o, s:o, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:s, s:o, s:o}",
					  "event", ev_name(is_hold ? EV_HOLD : EV_RECORD), "component", comp, "version",
					  jstr(v), "previous", jstr(prev), "action", action, "commit", hex,
					  "digest", jstr(dg), "attempt", jstr(at), "recipe", jstr(rc), "images",
					  images, "time", jtime((long long)git_commit_time(c)), "subject",
					  git_commit_summary(c) ? git_commit_summary(c) : "", "bases", bases,
					  "cause", jstr(cause));
			if (host)   /* the host that shipped it (several build hosts) */
				json_object_set_new(ev, "host", json_string(host));
			emit(e, ev);
			free(host);
			free(cause);
			free(v);
			free(prev);
			free(dg);
			free(at);
			free(rc);
			count++;
			j->ok++;
		}
		free(action);
		free(comp);
		git_commit_free(c);
	}
	git_revwalk_free(w);
	job_finish(e, j);
}

void cmd_logs(struct engine *e, json_t *cmd)
{
	struct comp_state **sel;
	size_t n;
	json_t *names = json_object_get(cmd, "components");
	if (json_array_size(names) != 1) {
		usage_error(e, cmd, "logs needs one component");
		return;
	}
	if (select_comps(e, cmd, &sel, &n) < 0)
		return;
	const char *want = jget_s(cmd, "attempt");
	const char *path = NULL;
	char *running_log = NULL;
	struct attempt *ra = sel[0]->running;
	if (ra && (!want || strcmp(want, ra->id) == 0)) {
		/* the running attempt is not in the ledger yet; its log's name is
		 * known from its id */
		running_log = statedir_attempt_log(e->state_dir, sel[0]->cc->name, ra->id);
		path = running_log;
	}
	for (size_t i = json_array_size(e->ledger); i-- > 0 && !path;) {
		json_t *ent = json_array_get(e->ledger, i);
		if (strcmp(jget_s(ent, "component") ? jget_s(ent, "component") : "", sel[0]->cc->name) != 0)
			continue;
		if (!want || strcmp(jget_s(ent, "id") ? jget_s(ent, "id") : "", want) == 0)
			path = jget_s(ent, "log");
	}
	if (!path) {
		char *m = want ? xasprintf("%s: no attempt %s in the ledger", sel[0]->cc->name, want)
			       : xasprintf("%s: no attempts yet", sel[0]->cc->name);
		free(sel);
		usage_error(e, cmd, m);
		free(m);
		return;
	}
	struct job *j = job_new(e, cmd);
	emit(e, json_pack("{s:s, s:s, s:s}", "event", ev_name(EV_LOGFILE), "component", sel[0]->cc->name, "path",
			  path));
	free(running_log);
	free(sel);
	j->ok++;
	job_finish(e, j);
}

void cmd_attempts(struct engine *e, json_t *cmd)
{
	struct comp_state **sel;
	size_t n;
	if (select_comps(e, cmd, &sel, &n) < 0)
		return;
	const char *only = json_array_size(json_object_get(cmd, "components")) ? sel[0]->cc->name : NULL;
	free(sel);
	json_int_t limit = json_integer_value(json_object_get(cmd, "limit"));
	if (limit <= 0)
		limit = 20;
	struct job *j = job_new(e, cmd);
	json_t *seen = json_object();
	for (size_t i = json_array_size(e->ledger); i-- > 0 && j->ok < limit;) {
		json_t *ent = json_array_get(e->ledger, i);
		const char *id = jget_s(ent, "id"), *c = jget_s(ent, "component");
		if (!id || !c || (only && strcmp(c, only) != 0) || json_object_get(seen, id))
			continue;
		json_object_set_new(seen, id, json_true());
		const char *cls = jget_s(ent, "class");
		enum tally_class k = cls ? tally_class_from_name(cls) : TC_NONE;
		json_t *ev = json_pack("{s:s, s:s, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "event", ev_name(EV_ATTEMPT),
				       "component", c, "version", jstr(jget_s(ent, "version")), "attempt", id,
				       "action", jstr(jget_s(ent, "action")), "result", jstr(jget_s(ent, "result")),
				       "class", jstr(cls), "hint",
				       cls && k < TC_CLASS_COUNT ? json_string(classify_hint(k)) : json_null(),
				       "digest", jstr(jget_s(ent, "digest")), "log", jstr(jget_s(ent, "log")),
				       "message", jstr(jget_s(ent, "message")));
		json_object_set(ev, "stages", json_object_get(ent, "stages") ?: json_null());
		json_object_set_new(ev, "ended", jtime(json_integer_value(json_object_get(ent, "ended"))));
		emit(e, ev);
		j->ok++;
	}
	json_decref(seen);
	job_finish(e, j);
}

struct shipped_ctx {
	struct engine *e;
	struct job *j;
	json_t *seen;
	const char *component;
};

static int shipped_cb(void *vctx, const struct record_commit *rc)
{
	struct shipped_ctx *c = vctx;
	if (!rc->digest || json_object_get(c->seen, rc->version))
		return 0;
	json_object_set_new(c->seen, rc->version, json_true());
	emit(c->e, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "event", ev_name(EV_SHIPPED), "component",
			     c->component, "version", rc->version, "digest", rc->digest, "commit", rc->commit,
			     "action", rc->action, "time", jtime(rc->time)));
	c->j->ok++;
	return 0;
}

void cmd_shipped(struct engine *e, json_t *cmd)
{
	struct comp_state *cs = one_comp(e, cmd);
	if (!cs) {
		usage_error(e, cmd, "shipped needs one known component");
		return;
	}
	struct job *j = job_new(e, cmd);
	struct shipped_ctx c = {.e = e, .j = j, .seen = json_object(), .component = cs->cc->name};
	walk_records(e, cs->cc->name, shipped_cb, &c);
	json_decref(c.seen);
	job_finish(e, j);
}

void cmd_health(struct engine *e, json_t *cmd)
{
	struct job *j = job_new(e, cmd);
	long long now = now_s();
#ifdef TALLY_TESTING
	/* tests judge a long-idle engine with a clock they set */
	if (json_is_integer(json_object_get(cmd, "now")))
		now = json_integer_value(json_object_get(cmd, "now"));
#endif
	struct holds *h = read_holds(e, NULL);
	struct health_comp *hc = xcalloc(e->n + 1, sizeof *hc);
	for (size_t i = 0; i < e->n; i++) {
		struct comp_state *cs = &e->cs[i];
		hc[i].name = cs->cc->name;
		hc[i].cron = cs->cron;
		hc[i].scheduled = !(h && holds_pin(h, cs->cc->name)) && !upstream_is_manual(cs->cc);
		hc[i].last_sched = cs->last_sched;
		hc[i].limited_until = cs->up_cls == TC_RATE_LIMIT ? cs->retry_at : 0;
	}
	holds_free(h);
	struct health_in in = {
		.now = now, .started = e->started_at, .pid = (long)getpid(), .serving = e->serving,
		.paused = engine_paused(e), .comps = hc, .n = e->n,
	};
	char *pp = paused_path(e);
	struct stat st;
	if (in.paused && stat(pp, &st) == 0)
		in.paused_since = (long long)st.st_mtime;
	free(pp);
	struct health_out out;
	health_judge(&in, &out);
	free(hc);
	emit(e, json_pack("{s:s, s:b, s:o, s:I, s:b, s:o, s:o}", "event", ev_name(EV_HEALTH), "ok", out.ok, "reason",
			  out.ok ? json_null() : json_string(out.reason), "engine", (json_int_t)in.pid,
			  "paused", in.paused, "last_run", jtime(out.last_run), "next_run", jtime(out.next_run)));
	if (out.ok)
		j->ok++;
	else
		j->failed++;
	job_finish(e, j);
}
