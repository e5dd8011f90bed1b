/* recorder.c - the gate (SPEC sections 1 and 3): every entry point of the
 * recorder, the only writer of version files, the holds file and
 * recordAlso files and the only maker of commits in engine/. A record
 * refuses without the evidence of a shipped attempt, re-reads the holds at
 * the branch head and refuses a version skipped or a component pinned while
 * the attempt ran; a hold is one commit of the holds file only.
 *
 * Its parts, each one concept: commit.c (a change and its commit, the only
 * git_commit_create; the branch moves there), trailers.c (the commit
 * messages), worktree.c (the working-tree files, written only through
 * atomicfile_write, whose rename is in atomicfile.c), gitremote.c (fetch,
 * push, sync), reapply.c (tally's unpushed commits made again on a moved
 * remote), repair.c (start-up mending of locks and working tree).
 *
 * Threads: callable from any thread. One process-wide mutex makes every
 * entry point serial (a safety net: the engine's serial repo worker already
 * makes them so), held across git fetch and push; each call opens its own
 * git_repository (handles never cross threads). recorder_read_record uses
 * the caller's handle and takes no lock. */
#include "recorder.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "commit.h"
#include "crashpoint.h"
#include "gitremote.h"
#include "holds.h"
#include "protocol.h"
#include "repair.h"
#include "repo.h"
#include "trailers.h"
#include "version.h"
#include "versionfile.h"
#include "worktree.h"

static pthread_mutex_t recorder_mu = PTHREAD_MUTEX_INITIALIZER;

/* A record commit's subject verb: "record" for a ship, else the action. */
static const char *action_verb(enum recorder_action a)
{
	return a == RA_SHIP ? "record" : record_action_name(a);
}

static int digest_valid(const char *d)
{
	if (!d || strncmp(d, "sha256:", 7) != 0 || strlen(d) != 7 + 64)
		return 0;
	for (const char *p = d + 7; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return 0;
	return 1;
}

static char **known_components(const struct tally_conf *conf)
{
	char **names = xcalloc(conf->ncomps + 1, sizeof *names);
	for (size_t i = 0; i < conf->ncomps; i++)
		names[i] = conf->comps[i].name;
	return names;
}

static int load_holds(git_repository *repo, git_commit *base, const struct tally_conf *conf,
		      struct holds **out, struct sbuf *raw, struct tally_err *err)
{
	int exists = 0;
	if (repo_read_at(repo, base, conf->holds_file, raw, &exists, err) < 0)
		return -1;
	char **names = known_components(conf);
	int rc = holds_parse(conf->holds_file, sbuf_str(raw), raw->len,
			     (const char *const *)names, conf->ncomps, out, err);
	free(names);
	return rc;
}

/* The change a record makes, computed against base. */
static int compute_record(git_repository *repo, git_commit *base, const void *arg,
			  struct change *c, struct tally_err *err)
{
	const struct recorder_req *req = arg;
	const struct comp_conf *cc = req->cc;
	struct holds *holds = NULL;
	struct vfile *vf = NULL;
	struct sbuf holds_raw = {0};
	int rc = -1;

	if (load_holds(repo, base, req->conf, &holds, &holds_raw, err) < 0)
		goto out;
	/* adopt builds nothing and never moves the record: holds do not apply */
	if (req->action != RA_ADOPT && holds_is_skipped(holds, cc->name, req->version)) {
		tally_err_set(err, TC_HELD, "%s %s was skipped while the attempt ran; nothing recorded",
			      cc->name, req->version);
		goto out;
	}
	const struct hold *pin = holds_pin(holds, cc->name);
	if (pin && req->action == RA_SHIP) {
		tally_err_set(err, TC_HELD, "%s was pinned at %s while the attempt ran; nothing recorded",
			      cc->name, pin->version);
		goto out;
	}
	if (change_read_vfile(repo, base, cc->file, 0, &vf, err) < 0)
		goto out;
	const char *prev = versionfile_get(vf, cc->key);
	c->previous = xstrdup(prev);
	if (prev && !version_valid(prev)) {
		tally_err_set(err, TC_INPUT, "%s:%d: recorded value of '%s' is not a valid version",
			      cc->file, versionfile_line(vf, cc->key), cc->key);
		goto out;
	}
	/* The record never moves backwards by itself: only reset goes to an
	 * older version, and rebuild never goes below the record. */
	int cmp = prev ? version_compare(req->version, prev, cc->order) : 1;
	if (req->action == RA_SHIP && cmp <= 0) {
		tally_err_set(err, TC_INTERNAL, "%s: refusing to record %s: not newer than the record %s",
			      cc->name, req->version, prev);
		goto out;
	}
	if (req->action == RA_REBUILD && cmp < 0) {
		tally_err_set(err, TC_INTERNAL, "%s: refusing to rebuild %s: older than the record %s",
			      cc->name, req->version, prev);
		goto out;
	}
	if (req->action == RA_RESET && prev && cmp >= 0) {
		tally_err_set(err, TC_INTERNAL, "%s: refusing to reset to %s: not older than the record %s",
			      cc->name, req->version, prev);
		goto out;
	}
	if (req->action == RA_ADOPT && (!prev || strcmp(prev, req->version) != 0)) {
		tally_err_set(err, TC_INPUT, "%s: refusing to adopt %s: the record is %s now; adopt never moves a record",
			      cc->name, req->version, prev ? prev : "(none)");
		goto out;
	}
	if (req->action == RA_ADOPT)
		goto message;   /* a commit with no file change */
	if (!prev || strcmp(prev, req->version) != 0) {
		if (versionfile_set(vf, cc->key, req->version, change_edit(c, cc->file), err) < 0)
			goto out;
	}
	for (size_t i = 0; i < cc->nrecord_also; i++) {
		struct vfile *ra = NULL;
		if (change_read_vfile(repo, base, cc->record_also[i].file, 1, &ra, err) < 0)
			goto out;
		const char *old = versionfile_get(ra, cc->record_also[i].var);
		if (!old || strcmp(old, req->record_also[i]) != 0) {
			int r = versionfile_set(ra, cc->record_also[i].var, req->record_also[i],
						change_edit(c, cc->record_also[i].file), err);
			if (r < 0) {
				versionfile_free(ra);
				goto out;
			}
		}
		versionfile_free(ra);
	}
	if (req->action == RA_RESET && req->pin) {
		struct sbuf *h = change_edit(c, req->conf->holds_file);
		if (pin) {
			struct sbuf tmp = {0};
			struct holds *h2 = NULL;
			if (holds_remove(holds, HOLD_PIN, cc->name, NULL, &tmp, err) < 0 ||
			    holds_parse(req->conf->holds_file, sbuf_str(&tmp), tmp.len, NULL, 0, &h2, err) < 0) {
				sbuf_free(&tmp);
				goto out;
			}
			rc = holds_add(h2, HOLD_PIN, cc->name, req->version, req->pin_reason, h, err);
			holds_free(h2);
			sbuf_free(&tmp);
			if (rc < 0)
				goto out;
			rc = -1;
		} else if (holds_add(holds, HOLD_PIN, cc->name, req->version, req->pin_reason, h, err) < 0) {
			goto out;
		}
	}

message:;
	char *cause = req->ev->cause ? xstrdup(req->ev->cause)
		    : req->action == RA_SHIP ? xasprintf("upstream %s released", req->version)
		    : xstrdup("operator");
	struct trailers t = {
		.verb = action_verb(req->action), .action = record_action_name(req->action),
		.component = cc->name, .version = req->version,
		.previous = req->action != RA_ADOPT ? prev : NULL,
		.images = req->ev->images, .nimages = req->ev->nimages,
		.digest = req->ev->digest, .recipe = req->ev->fingerprint, .attempt = req->ev->attempt,
		.platforms = req->ev->platforms, .nplatforms = req->ev->nplatforms,
		.bases = req->ev->bases, .nbases = req->ev->nbases, .host = req->conf->host,
		.cause = cause,
	};
	trailers_format(&t, &c->message);
	free(cause);
	rc = 0;
out:
	versionfile_free(vf);
	holds_free(holds);
	sbuf_free(&holds_raw);
	return rc;
}

/* Applies compute() on the branch head, commits, moves the ref, writes the
 * working tree, and with gitPush pushes, re-applying on the remote head after
 * a rejection. */
static int apply_change(const char *repo_dir, const struct tally_conf *conf, compute_fn compute,
			const void *arg, const struct comp_conf *cc, int log_fd, int cancel_fd,
			struct recorder_result *res, struct tally_err *err)
{
	git_repository *repo = NULL;
	char *refname = NULL;
	git_commit *base = NULL;
	struct change c = {0};
	int rc = -1;
	git_oid new_oid;

	if (repo_open(repo_dir, &repo, err) < 0)
		goto out;
	if (repo_branch_ref(repo, conf->branch, &refname, err) < 0)
		goto out;
	if (repo_branch_commit(repo, refname, &base, err) < 0)
		goto out;
	if (compute(repo, base, arg, &c, err) < 0)
		goto out;
	if (change_check_clean(repo, &c, err) < 0)
		goto out;
	if (change_commit(repo, base, conf, &c, &new_oid, err) < 0)
		goto out;
	crashpoint("before-ref-update");
	if (change_move_ref(repo, refname, base ? git_commit_id(base) : NULL, &new_oid,
			    "tally: record", err) < 0)
		goto out;
	crashpoint("after-ref-update");
	repo_oid_hex(&new_oid, res->commit);
	res->previous = xstrdup(c.previous);
	res->pushed = !conf->git_push;
	int index_only = 0;
	if (worktree_write(repo, &c, &index_only, err) < 0) {
		/* The record is committed (the commit point passed); the next
		 * start repairs the working tree and index. Say so, and go on.
		 * A file that could not be written fails the attempt (the
		 * caller reports it); an index that lags is only a warning. */
		res->worktree_files = !index_only;
		res->worktree_error = xasprintf("recorded %s, but the working tree was not updated (%s); the next start repairs it",
						res->commit, err->msg);
		tally_err_clear(err);
	}
	rc = 0;
	if (!conf->git_push)
		goto out;

	if (gitremote_push_change(repo, conf, refname, &new_oid, &c, compute, arg, cc, log_fd,
				  cancel_fd, res, err) < 0)
		rc = -1;
out:
	change_free(&c);
	git_commit_free(base);
	free(refname);
	git_repository_free(repo);
	return rc;
}

int recorder_record(const struct recorder_req *req, struct recorder_result *res,
		    struct tally_err *err)
{
	memset(res, 0, sizeof *res);
	const struct recorder_evidence *ev = req->ev;
	/* No evidence, no record. */
	int attempt_ok = ev && ((ev->attempt && *ev->attempt) || (!ev->attempt && req->action == RA_ADOPT));
	if (!ev || !attempt_ok || !digest_valid(ev->digest) || ev->nimages == 0 ||
	    !ev->images || !ev->fingerprint || !*ev->fingerprint)
		return tally_err_set(err, TC_INTERNAL,
				     "%s: refusing to record without evidence (attempt id, pushed digest, tags read back)",
				     req->cc->name);
	if (!version_valid(req->version))
		return tally_err_set(err, TC_INTERNAL, "%s: refusing to record an invalid version",
				     req->cc->name);
	pthread_mutex_lock(&recorder_mu);
	int rc = apply_change(req->repo_dir, req->conf, compute_record, req, req->cc, req->log_fd,
			      req->cancel_fd, res, err);
	pthread_mutex_unlock(&recorder_mu);
	return rc;
}

struct hold_arg {
	const struct recorder_hold_req *req;
	char *version;   /* filled by compute */
};

static int compute_hold(git_repository *repo, git_commit *base, const void *varg,
			struct change *c, struct tally_err *err)
{
	struct hold_arg *arg = (struct hold_arg *)varg;
	const struct recorder_hold_req *req = arg->req;
	const struct comp_conf *cc = req->cc;
	struct holds *holds = NULL;
	struct sbuf raw = {0};
	struct vfile *vf = NULL;
	int rc = -1;
	if (load_holds(repo, base, req->conf, &holds, &raw, err) < 0)
		goto out;
	struct sbuf *out = change_edit(c, req->conf->holds_file);
	free(arg->version);
	arg->version = NULL;
	switch (req->op) {
	case RH_SKIP:
		if (!version_valid(req->version)) {
			tally_err_set(err, TC_INPUT, "'%s' is not a valid version", req->version ? req->version : "");
			goto out;
		}
		if (holds_add(holds, HOLD_SKIP, cc->name, req->version, req->reason, out, err) < 0)
			goto out;
		arg->version = xstrdup(req->version);
		break;
	case RH_UNSKIP:
		if (!holds_is_skipped(holds, cc->name, req->version ? req->version : "")) {
			tally_err_set(err, TC_INPUT, "%s %s is not skipped", cc->name, req->version ? req->version : "");
			goto out;
		}
		if (holds_remove(holds, HOLD_SKIP, cc->name, req->version, out, err) < 0)
			goto out;
		arg->version = xstrdup(req->version);
		break;
	case RH_PIN: {
		if (change_read_vfile(repo, base, cc->file, 0, &vf, err) < 0)
			goto out;
		const char *rec = versionfile_get(vf, cc->key);
		if (!rec) {
			tally_err_set(err, TC_INPUT, "%s has no record to pin", cc->name);
			goto out;
		}
		if (holds_add(holds, HOLD_PIN, cc->name, rec, req->reason, out, err) < 0)
			goto out;
		arg->version = xstrdup(rec);
		break;
	}
	case RH_UNPIN: {
		const struct hold *pin = holds_pin(holds, cc->name);
		if (!pin) {
			tally_err_set(err, TC_INPUT, "%s is not pinned", cc->name);
			goto out;
		}
		arg->version = xstrdup(pin->version);
		if (holds_remove(holds, HOLD_PIN, cc->name, NULL, out, err) < 0)
			goto out;
		break;
	}
	}
	/* Tally-Reason is one line: the holds file already refused newlines */
	struct trailers t = {
		.verb = hold_action_name(req->op), .action = hold_action_name(req->op), .component = cc->name,
		.version = arg->version,
		.reason = req->reason && *req->reason && (req->op == RH_SKIP || req->op == RH_PIN)
			  ? req->reason : NULL,
	};
	trailers_format(&t, &c->message);
	rc = 0;
out:
	versionfile_free(vf);
	holds_free(holds);
	sbuf_free(&raw);
	return rc;
}

int recorder_hold(const struct recorder_hold_req *req, struct recorder_result *res,
		  char **version_out, struct tally_err *err)
{
	memset(res, 0, sizeof *res);
	struct hold_arg arg = {.req = req};
	pthread_mutex_lock(&recorder_mu);
	int rc = apply_change(req->repo_dir, req->conf, compute_hold, &arg, NULL, req->log_fd,
			      req->cancel_fd, res, err);
	pthread_mutex_unlock(&recorder_mu);
	*version_out = arg.version;
	return rc;
}

void recorder_result_free(struct recorder_result *res)
{
	free(res->previous);
	free(res->push_error);
	free(res->worktree_error);
	res->previous = res->push_error = res->worktree_error = NULL;
}

int recorder_read_record(git_repository *repo, const char *refname, const struct comp_conf *cc,
			 char **value, struct tally_err *err)
{
	git_commit *head = NULL;
	struct vfile *vf = NULL;
	*value = NULL;
	if (repo_branch_commit(repo, refname, &head, err) < 0)
		return -1;
	int rc = change_read_vfile(repo, head, cc->file, 0, &vf, err);
	const char *v = rc == 0 ? versionfile_get(vf, cc->key) : NULL;
	if (v && !version_valid(v))
		rc = tally_err_set(err, TC_INPUT,
				   "%s:%d: the record of '%s' is not a valid version (OCI tag grammar); fix the file by hand",
				   cc->file, versionfile_line(vf, cc->key), cc->key);
	else if (rc == 0)
		*value = xstrdup(v);
	versionfile_free(vf);
	git_commit_free(head);
	return rc;
}


int recorder_repair(const char *repo_dir, const struct tally_conf *conf, struct strv *report,
		    struct tally_err *err)
{
	pthread_mutex_lock(&recorder_mu);
	int rc = repair_worktree(repo_dir, conf, report, err);
	pthread_mutex_unlock(&recorder_mu);
	return rc;
}

int recorder_clear_stale_locks(const char *repo_dir, const struct tally_conf *conf,
			       struct strv *report)
{
	/* at start, before any engine thread writes (tally.lock is held) */
	return repair_stale_locks(repo_dir, conf, report);
}

int recorder_sync(const char *repo_dir, const struct tally_conf *conf, int log_fd,
		  int cancel_fd, struct strv *report, struct tally_err *err)
{
	pthread_mutex_lock(&recorder_mu);
	int rc = gitremote_sync(repo_dir, conf, log_fd, cancel_fd, report, err);
	pthread_mutex_unlock(&recorder_mu);
	return rc;
}
