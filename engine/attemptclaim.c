/* attemptclaim.c - the claim around one attempt (SPEC section 15): with
 * tally.gitPush, before anything is built, the attempt claims its component
 * on the versions remote (claims.c), then reads the remote's record again
 * under that claim, so that of several build hosts one ships a version
 * once; after the record or the failure the claim is released.
 *
 * Threads: runs on the attempt's worker thread (it already does network
 * work: the push, the record's git push), never on the engine thread. It
 * writes only the attempt task it is given; the engine reads it in
 * on_attempt_done. */
#include "engine_int.h"

/* Seconds a claim outlives the component's timeout (SPEC section 15: ten
 * minutes). $TALLY_CLAIM_SLACK changes it: a test knob only. */
static long long claim_slack(void)
{
	const char *s = getenv("TALLY_CLAIM_SLACK");
	if (!s || !*s)
		return 600;
	char *end;
	long long v = strtoll(s, &end, 10);
	return *end == '\0' && v >= 0 ? v : 600;
}

static struct claims_ctx claims_ctx_of(const struct attempt *a)
{
	return (struct claims_ctx){
		.repo_dir = a->repo_dir, .remote = a->conf->remote ? a->conf->remote : "origin",
		.net_timeout = a->conf->net_timeout, .pass_env = a->conf->pass_env.v, .log_fd = -1,
		.cancel_fd = a->cancel_fd,
	};
}

/* Appends a line to the attempt's log (pipeline_run's file, once it ended). */
static void log_line(const struct attempt *a, const char *msg)
{
	if (!a->log_path)
		return;
	int fd = open(a->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, a->conf->group ? 0640 : 0600);
	if (fd < 0)
		return;
	char *line = xasprintf("%s\n", msg);
	ssize_t wr = write(fd, line, strlen(line));
	(void)wr;
	free(line);
	close(fd);
}

/* The attempt fails before building (class network): claims need the
 * remote. It gets a log of its own saying why. */
static void claim_failed(struct attempt *a, const char *why)
{
	char *dir = xasprintf("%s/logs/%s", a->state_dir, a->cc->name);
	util_mkdirs(dir, a->conf->group ? 02750 : 0700, NULL);
	a->log_path = xasprintf("%s/%s.log", dir, a->id);
	free(dir);
	a->stages = json_array();
	a->started = a->ended = util_now();
	a->result = result_name(RS_FAILED);
	a->cls = TC_NETWORK;
	a->message = xasprintf("cannot claim %s on the remote %s (with several build hosts a host claims a "
			       "component there before building, so it needs the remote): %s; nothing built",
			       a->cc->name, a->conf->remote ? a->conf->remote : "origin", why);
	char *l = xasprintf("attempt %s: %s %s %s\n%s", a->id, pipeline_action_name(a->action), a->cc->name,
			    a->version, a->message);
	log_line(a, l);
	free(l);
}

/* Who recorded version of cc at the branch head (Tally-Host of the newest
 * record commit of it), or "another host". */
static char *recorded_by(git_repository *repo, const char *refname, const struct comp_conf *cc,
			 const char *version)
{
	char *host = NULL;
	git_revwalk *w = NULL;
	git_oid oid;
	if (git_revwalk_new(&w, repo) < 0 || git_revwalk_push_ref(w, refname) < 0) {
		git_revwalk_free(w);
		return xstrdup("another host");
	}
	for (int n = 0; !host && n < 500 && git_revwalk_next(&oid, w) == 0; n++) {
		git_commit *c = NULL;
		if (git_commit_lookup(&c, repo, &oid) < 0)
			break;
		const char *msg = git_commit_message(c);
		char *comp = repo_trailer(msg, "Tally-Component"), *ver = repo_trailer(msg, "Tally-Version");
		if (comp && ver && strcmp(comp, cc->name) == 0 && strcmp(ver, version) == 0)
			host = repo_trailer(msg, "Tally-Host");
		if (comp && ver && strcmp(comp, cc->name) == 0 && strcmp(ver, version) == 0 && !host)
			host = xstrdup("another host");
		free(comp);
		free(ver);
		git_commit_free(c);
	}
	git_revwalk_free(w);
	return host ? host : xstrdup("another host");
}

/* Under our claim: fetch and fast-forward (recorder_sync), then read the
 * record. A ship whose version (or a newer one) is recorded already was
 * shipped by another host meanwhile: t->elsewhere. 0, or -1 with why. */
static int recheck_record(struct attempt_task *t, char **why)
{
	struct attempt *a = t->a;
	struct tally_err err = {0};
	struct strv report = {0};
	int rc = recorder_sync(a->repo_dir, a->conf, -1, a->cancel_fd, &report, &err);
	strv_free(&report);
	if (rc < 0) {
		*why = xstrdup(err.msg);
		return -1;
	}
	if (a->action != RA_SHIP)
		return 0;   /* rebuild and reset act on the record on purpose */
	git_repository *repo = NULL;
	char *refname = NULL, *value = NULL;
	if (repo_open(a->repo_dir, &repo, &err) == 0 && repo_branch_ref(repo, a->conf->branch, &refname, &err) == 0 &&
	    recorder_read_record(repo, refname, a->cc, &value, &err) == 0 && value &&
	    version_compare(value, a->version, a->cc->order) >= 0)
		t->elsewhere = recorded_by(repo, refname, a->cc, value);
	free(value);
	free(refname);
	git_repository_free(repo);
	return 0;
}

int attempt_claim(struct attempt_task *t)
{
	struct attempt *a = t->a;
	if (!config_claims(a->conf) || a->no_push)
		return 0;
	struct claims_ctx cx = claims_ctx_of(a);
	struct tally_err err = {0};
	long long ttl = (long long)a->cc->timeout + claim_slack();
	for (int tries = 0; tries < 2; tries++) {
		struct claim other = {0};
		int r = claims_take(&cx, a->cc->name, a->conf->host, a->id, a->version, (long long)time(NULL), ttl,
				    &t->claim, &other, &err);
		if (r == CLAIM_OURS)
			break;
		if (r < 0) {
			claim_failed(a, err.msg);
			return -1;
		}
		if (strcmp(other.host, a->conf->host) == 0 && tries == 0) {
			/* this host's own claim of an attempt it does not run (one
			 * engine per clone, one attempt per component): a killed
			 * engine's. Released by compare-and-swap, then taken. */
			int rel = claims_release(&cx, &other, &err);
			claim_free(&other);
			if (rel < 0) {
				claim_failed(a, err.msg);
				return -1;
			}
			continue;
		}
		t->held = other;
		return 1;
	}
	if (!t->claim.component)
		return 1;
	char *why = NULL;
	if (recheck_record(t, &why) < 0) {
		attempt_unclaim(t);
		claim_failed(a, why);
		free(why);
		return -1;
	}
	if (t->elsewhere) {
		attempt_unclaim(t);
		return 1;
	}
	return 0;
}

void attempt_unclaim(struct attempt_task *t)
{
	if (!t->claim.component)
		return;
	struct claims_ctx cx = claims_ctx_of(t->a);
	cx.cancel_fd = -1;   /* released even when the attempt was cancelled (bounded by networkTimeout) */
	struct tally_err err = {0};
	if (claims_release(&cx, &t->claim, &err) < 0) {
		char *m = xasprintf("warning: the claim of %s was not released (%s); it expires by itself",
				    t->a->cc->name, err.msg);
		log_line(t->a, m);
		free(m);
	}
	claim_free(&t->claim);
}
