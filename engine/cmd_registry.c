/* cmd_registry.c - the commands and repairs that talk to the registry:
 * verify, adopt (its record commit on the repo worker) and the repair of a
 * record's tags (floating tags, a version tag that lost the digest). The
 * registry work runs on workers; the engine thread plans and reports. */
#include "engine_int.h"

static void verify_index(struct registry *r, const char *image, const char *digest, struct strv *probs,
			 struct strv *lines);
static void verify_work(struct task *t);
static void adopt_work(struct task *t);
static void floating_work(struct task *t);
static void repair_then(struct engine *e, struct task *t);

/* For t->version of t's component: its image, version tags and floating
 * tags, and a registry client; 0, or -1 with err. */
static int refs_and_registry(struct task *t, char **image, struct strv *tags, struct strv *floating,
			     struct registry **r, struct tally_err *err)
{
	const struct work_ctx *e = t->ctx;
	if (pipeline_refs(e->conf, t->cc, t->version, e->root, image, tags, floating, err) < 0)
		return -1;
	*r = registry_from_conf(e->conf, err);
	return *r ? 0 : -1;
}

/* An index (several platforms): every child it lists must read back by
 * its digest; problems are added to probs. A plain image adds nothing. */
static void verify_index(struct registry *r, const char *image, const char *digest, struct strv *probs,
			 struct strv *lines)
{
	struct sbuf body = {0};
	char *mt = NULL;
	char got[REGISTRY_DIGEST_MAX];
	struct tally_err err = {0};
	if (registry_get_manifest(r, image, digest, &body, &mt, got, &err) < 0) {
		strv_push_owned(probs, xasprintf("%s@%s: %s", image, digest, err.msg));
		goto out;
	}
	if (!mt || (strcmp(mt, "application/vnd.oci.image.index.v1+json") != 0 &&
		    strcmp(mt, "application/vnd.docker.distribution.manifest.list.v2+json") != 0))
		goto out;
	json_t *idx = json_loadb(body.buf, body.len, 0, NULL);
	size_t i;
	json_t *ch;
	json_array_foreach(json_object_get(idx, "manifests"), i, ch) {
		const char *cd = jget_s(ch, "digest");
		json_t *pl = json_object_get(ch, "platform");
		const char *os = jget_s(pl, "os"), *arch = jget_s(pl, "architecture");
		if (!cd) {
			strv_push_owned(probs, xasprintf("%s@%s: entry %zu of the index has no digest", image, digest, i));
			continue;
		}
		const char *var = jget_s(pl, "variant");
		if (registry_digest(r, image, cd, got, &err) < 0 || strcmp(got, cd) != 0)
			strv_push_owned(probs, xasprintf("%s@%s (%s/%s), listed in the index %s, does not read back: %s",
							 image, cd, os ? os : "?", arch ? arch : "?", digest,
							 err.msg[0] ? err.msg : got));
		else if (lines)
			strv_push_owned(lines, xasprintf("%s/%s%s%s %s", os ? os : "?", arch ? arch : "?",
							 var ? "/" : "", var ? var : "", cd));
	}
	json_decref(idx);
out:
	free(mt);
	sbuf_free(&body);
}

static void verify_work(struct task *t)
{
	const struct work_ctx *e = t->ctx;
	const struct comp_conf *cc = t->cc;
	struct tally_err err = {0};
	char *image = NULL;
	struct strv tags = {0}, floating = {0};
	struct registry *r = NULL;
	int unreachable = 0;
	if (!t->version)
		goto report;
	if (refs_and_registry(t, &image, &tags, &floating, &r, &err) < 0) {
		strv_push(&t->problems, err.msg);
		goto report;
	}
	struct tags_ctx tc = {.reg = r, .image = image, .cancel_fd = e->cancel_fd};
	char first[REGISTRY_DIGEST_MAX] = "";
	for (size_t i = 0; i < tags.n + floating.n; i++) {
		int is_float = i >= tags.n;
		const char *tag = is_float ? floating.v[i - tags.n] : tags.v[i];
		char d[REGISTRY_DIGEST_MAX];
		if (tags_digest(&tc, tag, 0, d, &err) < 0) {
			/* unreadable is not a mismatch: an untrusted certificate neither */
			if (err.cls == TC_NETWORK || err.cls == TC_TLS)
				unreachable = 1;
			strv_push_owned(&t->problems, xasprintf("%s:%s: %s", image, tag, err.msg));
			continue;
		}
		if (!is_float && !first[0])
			snprintf(first, sizeof first, "%s", d);
		else if (!is_float && strcmp(first, d) != 0)
			strv_push_owned(&t->problems, xasprintf("%s:%s reads back as %s, but %s:%s as %s", image, tag,
								d, image, tags.v[0], first));
		if (t->digest && strcmp(d, t->digest) != 0)
			strv_push_owned(&t->problems,
					xasprintf("%s:%s%s reads back as %s; the record commit says %s", image, tag,
						  is_float ? " (floating)" : "", d, t->digest));
	}
	if (first[0] || t->digest)
		verify_index(r, image, t->digest ? t->digest : first, &t->problems, NULL);
report:
	if (!t->problems.n && !(t->strict && t->warnings.n)) {
		/* fine */
	} else if (unreachable && t->problems.n) {
		t->failed = 1;
	} else {
		t->failed = 1;
		t->mismatch = 1;
	}
	json_t *probs = json_array(), *warns = json_array();
	for (size_t i = 0; i < t->problems.n; i++)
		json_array_append_new(probs, json_string(t->problems.v[i]));
	for (size_t i = 0; i < t->warnings.n; i++)
		json_array_append_new(t->strict ? probs : warns, json_string(t->warnings.v[i]));
	json_array_append_new(t->events, json_pack("{s:s, s:s, s:o, s:b, s:o, s:o}", "event", ev_name(EV_VERIFY),
						   "component", cc->name, "version", jstr(t->version),
						   "ok", !t->failed, "problems", probs, "warnings", warns));
	registry_free(r);
	free(image);
	strv_free(&tags);
	strv_free(&floating);
}

void cmd_verify(struct engine *e, json_t *cmd)
{
	struct comp_state **sel;
	size_t n;
	if (select_comps(e, cmd, &sel, &n) < 0)
		return;
	struct job *j = job_new(e, cmd);
	j->outstanding = 1;
	git_commit *head = NULL;
	repo_branch_commit(e->repo, e->refname, &head, NULL);
	for (size_t i = 0; i < n; i++) {
		struct comp_state *cs = sel[i];
		struct task *t = task_new(e, j, cs, verify_work);
		t->strict = json_is_true(json_object_get(cmd, "strict"));
		refresh_record(e, cs);
		if (cs->record_error) {
			strv_push(&t->problems, cs->record_msg);
		} else if (!cs->recorded) {
			strv_push_owned(&t->warnings, xasprintf("%s has no record yet", cs->cc->name));
		} else {
			t->version = xstrdup(cs->recorded);
			struct record_commit rc = {0};
			if (find_record_commit(e, cs->cc->name, cs->recorded, &rc))
				t->digest = xstrdup(rc.digest);
			else
				strv_push_owned(&t->warnings,
						xasprintf("the record %s=%s was not made by tally (no trailers); only the tags' agreement is checked (tally adopt %s gives it evidence)",
							  cs->cc->key, cs->recorded, cs->cc->name));
			record_commit_free(&rc);
			/* the working tree must say what HEAD says */
			char *wp = xasprintf("%s/%s", e->root, cs->cc->file);
			struct sbuf raw = {0};
			struct tally_err err = {0};
			struct vfile *vf = NULL;
			if (util_read_file(wp, &raw, &err) < 0)
				strv_push_owned(&t->problems, xasprintf("%s: missing from the working tree", cs->cc->file));
			else if (versionfile_parse(cs->cc->file, sbuf_str(&raw), raw.len, 0, &vf, &err) < 0)
				strv_push(&t->problems, err.msg);
			else if (!versionfile_get(vf, cs->cc->key) ||
				 strcmp(versionfile_get(vf, cs->cc->key), cs->recorded) != 0)
				strv_push_owned(&t->problems,
						xasprintf("%s:%d: the working tree says %s=%s, the committed record is %s",
							  cs->cc->file, versionfile_line(vf, cs->cc->key), cs->cc->key,
							  versionfile_get(vf, cs->cc->key) ? versionfile_get(vf, cs->cc->key) : "(nothing)",
							  cs->recorded));
			versionfile_free(vf);
			sbuf_free(&raw);
			free(wp);
		}
		task_start(e, t, e->check_pool);
	}
	git_commit_free(head);
	free(sel);
	job_done_one(e, j);
}

/* A record made before tally gets its evidence: every version tag is read
 * back, and when they agree on one digest the recorder makes a commit with
 * no file change that carries it. Nothing is written otherwise. */
static void adopt_work(struct task *t)
{
	const struct work_ctx *e = t->ctx;
	const struct comp_conf *cc = t->cc;
	struct tally_err err = {0};
	char *image = NULL;
	struct strv tags = {0}, floating = {0}, images = {0}, problems = {0}, platforms = {0};
	struct registry *r = NULL;
	struct recorder_result res = {0};
	enum tally_class cls = TC_VERIFY;
	if (refs_and_registry(t, &image, &tags, &floating, &r, &err) < 0) {
		task_error(t, err.cls ? err.cls : TC_INPUT, err.msg);
		goto out;
	}
	struct tags_ctx tc = {.reg = r, .image = image, .cancel_fd = e->cancel_fd};
	char first[REGISTRY_DIGEST_MAX] = "";
	for (size_t i = 0; i < tags.n; i++) {
		char d[REGISTRY_DIGEST_MAX];
		if (tags_digest(&tc, tags.v[i], 0, d, &err) < 0) {
			strv_push_owned(&problems, xasprintf("%s:%s: %s", image, tags.v[i], err.msg));
			if (err.cls && err.cls != TC_INPUT)
				cls = err.cls;
			continue;
		}
		strv_push_owned(&images, xasprintf("%s:%s", image, tags.v[i]));
		if (!first[0])
			snprintf(first, sizeof first, "%s", d);
		else if (strcmp(first, d) != 0)
			strv_push_owned(&problems, xasprintf("%s:%s reads back as %s, but %s:%s as %s", image,
							      tags.v[i], d, image, tags.v[0], first));
	}
	if (!problems.n && first[0])
		verify_index(r, image, first, &problems, &platforms);   /* an index: every child */
	if (problems.n || !first[0]) {
		struct sbuf sb = {0};
		sbuf_addf(&sb, "%s %s not adopted (nothing written): ", cc->name, t->version);
		for (size_t i = 0; i < problems.n; i++)
			sbuf_addf(&sb, "%s%s", i ? "; " : "", problems.v[i]);
		task_error(t, cls, sbuf_str(&sb));
		sbuf_free(&sb);
		goto out;
	}
	for (size_t i = 0; i < floating.n; i++) {
		char d[REGISTRY_DIGEST_MAX];
		if (tags_digest(&tc, floating.v[i], 0, d, &err) < 0 || strcmp(d, first) != 0) {
			char *m = xasprintf("%s:%s (floating) does not point at %s; the next run puts it", image,
					    floating.v[i], first);
			json_array_append_new(t->events, json_pack("{s:s, s:s, s:n, s:s, s:b}", "event", ev_name(EV_ERROR),
								   "component", cc->name, "class", "message", m,
								   "warning", 1));
			free(m);
		}
	}
	struct recorder_evidence ev = {
		.attempt = NULL, .digest = first, .images = images.v, .nimages = images.n,
		.fingerprint = t->reason, .platforms = platforms.v, .nplatforms = platforms.n,
		.cause = "operator: tally adopt",
	};
	struct recorder_req req = {
		.conf = e->conf, .cc = cc, .repo_dir = e->root, .action = RA_ADOPT, .version = t->version,
		.ev = &ev, .log_fd = -1, .cancel_fd = e->cancel_fd,
	};
	if (recorder_record(&req, &res, &err) < 0) {
		task_error(t, err.cls ? err.cls : TC_RECORD, err.msg);
		goto out;
	}
	json_array_append_new(t->events,
			      json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "event", ev_name(EV_RECORD), "component",
					cc->name, "version", t->version, "previous", t->version, "action", pipeline_action_name(RA_ADOPT),
					"commit", res.commit, "digest", first));
	if (!res.pushed) {
		char *m = xasprintf("adopt committed locally in %.12s but not on the remote: %s", res.commit,
				    res.push_error ? res.push_error : "push failed");
		task_error(t, TC_RECORD, m);
		free(m);
	}
out:
	recorder_result_free(&res);
	registry_free(r);
	free(image);
	strv_free(&tags);
	strv_free(&floating);
	strv_free(&images);
	strv_free(&problems);
	strv_free(&platforms);
}

void cmd_adopt(struct engine *e, json_t *cmd)
{
	struct comp_state **sel;
	size_t n;
	int all = json_is_true(json_object_get(cmd, "all"));
	if (select_named_or_all(e, cmd, "adopt", &sel, &n) < 0)
		return;
	char *msg = NULL;
	for (size_t i = 0; i < n && !msg; i++) {
		refresh_record(e, sel[i]);
		if (sel[i]->running)
			msg = xasprintf("%s: an attempt is running; adopt after it ends", sel[i]->cc->name);
		else if (sel[i]->record_error)
			msg = xstrdup(sel[i]->record_msg);
		else if (!sel[i]->recorded && !all)
			msg = xasprintf("%s has no record to adopt (adopt gives evidence to an existing record; use run)",
					sel[i]->cc->name);
	}
	struct job *j = job_or_refuse(e, cmd, msg);
	if (!j) {
		free(sel);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct comp_state *cs = sel[i];
		struct record_commit rc = {0};
		if (!cs->recorded) {
			char *m = xasprintf("%s has no record; nothing to adopt", cs->cc->name);
			emit_note(e, cs->cc->name, m);
			free(m);
			j->ok++;
		} else if (find_record_commit(e, cs->cc->name, cs->recorded, &rc)) {
			char *m = !strcmp(rc.action, pipeline_action_name(RA_ADOPT))
					  ? xasprintf("%s %s is already adopted (commit %.12s); nothing to do",
						      cs->cc->name, cs->recorded, rc.commit)
					  : xasprintf("%s %s was recorded by tally (%s, commit %.12s); nothing to adopt",
						      cs->cc->name, cs->recorded, rc.action, rc.commit);
			emit_note(e, cs->cc->name, m);
			free(m);
			j->ok++;
		} else {
			struct task *t = task_new(e, j, cs, adopt_work);
			t->version = xstrdup(cs->recorded);
			t->reason = fingerprint_of(e, cs->cc);   /* the recipe fingerprint */
			task_start(e, t, e->repo_pool);
		}
		record_commit_free(&rc);
	}
	free(sel);
	job_done_one(e, j);
}

/* After a record, floating tags follow the recorded digest. A crash between
 * the record commit and the floating tags (or a failed put) is mended by
 * the next run: tags that do not read back the record's digest are put
 * again and read back, whatever the holds say (mending them changes no
 * record). */
static void floating_work(struct task *t)
{
	const struct work_ctx *e = t->ctx;
	const struct comp_conf *cc = t->cc;
	struct tally_err err = {0};
	char *image = NULL;
	struct strv tags = {0}, floating = {0};
	struct registry *r = NULL;
	struct sbuf body = {0};
	char *mt = NULL;
	if (refs_and_registry(t, &image, &tags, &floating, &r, &err) < 0) {
		task_error(t, TC_INPUT, err.msg);
		goto out;
	}
	/* Version tags first: when one reads back another digest than the
	 * record's (a force rebuild killed after its push or verify), the
	 * record's version is shipped again (resuming at record when the
	 * ledger has the verified digest); floating tags follow that. */
	struct tags_ctx tc = {.reg = r, .image = image, .cancel_fd = e->cancel_fd,
			      .crash_before_put = "before-floating-repair"};
	for (size_t i = 0; i < tags.n; i++) {
		char d[REGISTRY_DIGEST_MAX] = "";
		if (tags_digest(&tc, tags.v[i], 0, d, &err) < 0) {
			if (err.cls == TC_MISSING_VERSION) {
				t->reship = 1;
				tally_err_clear(&err);
				continue;
			}
			task_error(t, err.cls, err.msg);
			goto out;
		}
		if (strcmp(d, t->digest) != 0)
			t->reship = 1;
	}
	if (t->reship)
		goto out;
	for (size_t i = 0; i < floating.n; i++) {
		int changed = 0;
		if (tags_float(&tc, floating.v[i], t->digest, 1, &body, &mt, &changed, &err) < 0) {
			/* the manifest unreadable: the registry's class (a lost
			 * image is verify); a failed put or read-back: verify */
			task_error(t, changed || err.cls == TC_MISSING_VERSION ? TC_VERIFY : err.cls, err.msg);
			goto out;
		}
		if (!changed)
			continue;
		json_array_append_new(t->events,
				      json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:f}", "event", ev_name(EV_STAGE),
						"schema", 1, "component", cc->name, "version", t->version,
						"attempt", "", "stage", stage_name(SG_FLOATING), "result", "ok", "seconds", 0.0));
	}
out:
	free(mt);
	sbuf_free(&body);
	registry_free(r);
	free(image);
	strv_free(&tags);
	strv_free(&floating);
}

/* On the engine thread after a repair: a version tag that lost the
 * record's digest ships the record again (an interrupted force rebuild is
 * finished: recorded with the verified digest when the ledger has it and
 * every tag still reads it back, else built again). */
static void repair_then(struct engine *e, struct task *t)
{
	struct job *j = t->job;
	if (t->failed) {
		/* a pinned or manual component is passed over without failing;
		 * the mend is tried again by the next run */
		if (t->retry_cmd == 2)
			j->ok++;
		else
			j->failed++;
		return;
	}
	if (!t->reship) {
		if (t->retry_cmd == 1) {
			char *m = xasprintf("%s: nothing to retry (the last attempt %s; the record's tags read back its digest)",
					    t->cs->cc->name, t->cs->last_result ? t->cs->last_result : "does not exist");
			emit_error(e, t->cs->cc->name, TC_INPUT, m);
			free(m);
			j->input_error = 1;
			j->failed++;
		} else {
			j->ok++;
		}
		return;
	}
	char *m = xasprintf("%s %s: a version tag does not read back the recorded digest %s (an interrupted rebuild?); shipping it again",
			    t->cs->cc->name, t->version, t->digest);
	emit(e, ev_warning(t->cs->cc->name, m));
	free(m);
	j->outstanding++;   /* plan_attempt ends it */
	struct plan p = {.action = RA_REBUILD, .version = t->version,
			 .cause = "a version tag lost the recorded digest"};
	plan_attempt(e, j, t->cs, &p);
}

/* Starts the repair of a component's record in the registry (version tags,
 * then floating tags) when the record is tally's. Returns 1 when a task
 * took a unit of the job. */
int start_repair(struct engine *e, struct job *j, struct comp_state *cs, int retry_cmd)
{
	if (!cs->recorded || j->dry_run || j->no_push)
		return 0;
	struct record_commit rc = {0};
	if (!find_record_commit(e, cs->cc->name, cs->recorded, &rc) || !rc.digest) {
		record_commit_free(&rc);
		return 0;
	}
	struct task *t = task_new(e, j, cs, floating_work);
	t->version = xstrdup(cs->recorded);
	t->digest = xstrdup(rc.digest);
	t->then = repair_then;
	t->retry_cmd = retry_cmd;
	record_commit_free(&rc);
	task_start(e, t, e->check_pool);
	return 1;
}
