/* gitremote.c - fetch, push and sync with tally.remote (see gitremote.h).
 * Commits only through commit.c and reapply.c, writes the working tree
 * only through worktree.c. No threads of its own: git runs as a child
 * process through the runner. */
#include "gitremote.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crashpoint.h"
#include "gitnet.h"
#include "reapply.h"
#include "repo.h"
#include "runner.h"
#include "versionfile.h"
#include "worktree.h"

static void collect_output(void *ctx, const char *data, size_t len)
{
	struct sbuf *sb = ctx;
	if (sb->len < 65536)
		sbuf_add(sb, data, len);
}

/* Runs git for network work through the runner (timeouts, cancel, the
 * operator's credential helpers). Output goes to the log and to out. */
static int run_git(git_repository *repo, const struct tally_conf *conf, char **argv, int log_fd,
		   int cancel_fd, struct sbuf *out, struct tally_err *err)
{
	/* a remote that stops answering fails within tally.networkTimeout
	 * (gitnet.h); the overall limit is ten times that */
	struct strv env = {0};
	gitnet_env(&env, git_repository_workdir(repo), conf->net_timeout);
	strv_push(&env, "LC_ALL=C");
	struct sbuf sink = {0};
	struct run_opts o = {
		.argv = argv, .cwd = git_repository_workdir(repo), .env_add = env.v, .log_fd = log_fd,
		.timeout_s = 10 * (conf->net_timeout > 0 ? conf->net_timeout : 30), .cancel_fd = cancel_fd,
		.on_output = collect_output, .ctx = out ? out : &sink,
		.pass_env = conf->pass_env.v, .git_env = 1,
	};
	struct run_result rr;
	int rc = runner_run(&o, &rr, err);
	if (rc == 0 && (!rr.exited || rr.status != 0)) {
		const char *text = sbuf_str(out ? out : &sink);
		struct sbuf cmd = {0};
		for (char **p = argv; *p; p++)
			sbuf_addf(&cmd, "%s%s", p == argv ? "" : " ", *p);
		rc = tally_err_set(err, rr.cancelled ? TC_RECORD : gitnet_class(rr.timed_out, text, strlen(text)),
				   "%s: %s%s", cmd.buf,
				   rr.timed_out ? "timed out; " : rr.cancelled ? "cancelled; " : "", text);
		sbuf_free(&cmd);
		/* one line is enough in a message */
		char *nl = strchr(err->msg, '\n');
		if (nl && nl[1])
			*nl = '\0';
	}
	sbuf_free(&sink);
	strv_free(&env);
	return rc;
}

static int fetch_remote(git_repository *repo, const struct tally_conf *conf, const char *branch,
			int log_fd, int cancel_fd, git_oid *remote_head, int *exists,
			struct tally_err *err)
{
	char *spec = xasprintf("+refs/heads/%s:refs/remotes/%s/%s", branch, conf->remote, branch);
	char *argv[] = {"git", "fetch", "--no-tags", conf->remote, spec, NULL};
	struct sbuf out = {0};
	int rc = run_git(repo, conf, argv, log_fd, cancel_fd, &out, err);
	free(spec);
	*exists = 0;
	if (rc < 0) {
		/* an empty remote has no branch yet: that is not a failure */
		if (strstr(sbuf_str(&out), "couldn't find remote ref")) {
			sbuf_free(&out);
			return 0;
		}
		sbuf_free(&out);
		return -1;
	}
	sbuf_free(&out);
	char *tracking = xasprintf("refs/remotes/%s/%s", conf->remote, branch);
	if (git_reference_name_to_id(remote_head, repo, tracking) == 0)
		*exists = 1;
	free(tracking);
	return 0;
}

static int push_remote(git_repository *repo, const struct tally_conf *conf, const char *branch,
		       const git_oid *oid, int log_fd, int cancel_fd, int *rejected,
		       struct tally_err *err)
{
	char hex[GIT_OID_HEXSZ + 1];
	repo_oid_hex(oid, hex);
	char *spec = xasprintf("%s:refs/heads/%s", hex, branch);
	char *argv[] = {"git", "push", "--porcelain", conf->remote, spec, NULL};
	struct sbuf out = {0};
	crashpoint("before-push");
	int rc = run_git(repo, conf, argv, log_fd, cancel_fd, &out, err);
	/* a lost race with another host's push reads "cannot lock ref ... is
	 * at X but expected Y" from a remote updating the same ref at once:
	 * rejected as well (fetch, re-apply, push again) */
	*rejected = rc < 0 && (strstr(sbuf_str(&out), "[rejected]") ||
			       strstr(sbuf_str(&out), "non-fast-forward") ||
			       strstr(sbuf_str(&out), "fetch first") ||
			       strstr(sbuf_str(&out), "cannot lock ref") || strstr(err->msg, "cannot lock ref") ||
			       strstr(sbuf_str(&out), "failed to update ref"));
	if (rc == 0) {
		/* keep the remote-tracking ref in step so status knows it landed */
		char *tracking = xasprintf("refs/remotes/%s/%s", conf->remote, branch);
		git_reference *ref = NULL;
		git_reference_create(&ref, repo, tracking, oid, 1, "tally: pushed");
		git_reference_free(ref);
		free(tracking);
	}
	sbuf_free(&out);
	free(spec);
	return rc;
}

/* Pushes of a record, each after a fetch and re-apply when the remote
 * moved (SPEC section 3: a few times, then class record). */
#define PUSH_TRIES 6

int gitremote_push_change(git_repository *repo, const struct tally_conf *conf,
			  const char *refname, git_oid *head, const struct change *c,
			  compute_fn compute, const void *arg, const struct comp_conf *cc,
			  int log_fd, int cancel_fd, struct recorder_result *res,
			  struct tally_err *err)
{
	const char *branch = repo_branch_short(refname);
	for (int tries = 0; tries < PUSH_TRIES; tries++) {
		int rejected = 0;
		struct tally_err perr = {0};
		if (tries > 0) {
			/* several hosts pushing at once: a short, jittered pause, so
			 * that the next try does not meet the same race */
			unsigned seed = (unsigned)getpid() * 2654435761u ^ (unsigned)time(NULL) ^ (unsigned)tries;
			struct timespec ts = {0, (long)(50 + (rand_r(&seed) % 200)) * tries * 1000000L};
			if (ts.tv_nsec > 999999999L)
				ts.tv_nsec = 999999999L;
			nanosleep(&ts, NULL);
		}
		if (push_remote(repo, conf, branch, head, log_fd, cancel_fd, &rejected, &perr) == 0) {
			res->pushed = 1;
			break;
		}
		if (!rejected || tries == PUSH_TRIES - 1) {
			res->push_error = xstrdup(perr.msg);
			break;
		}
		/* Rejected: somebody else pushed. Re-apply the same change on top
		 * of the remote head, unless the remote records another value. */
		git_oid rhead;
		int exists = 0;
		if (fetch_remote(repo, conf, branch, log_fd, cancel_fd, &rhead, &exists, &perr) < 0 ||
		    !exists) {
			res->push_error = xstrdup(exists ? perr.msg : "remote branch vanished during push");
			break;
		}
		git_commit *rbase = NULL;
		if (git_commit_lookup(&rbase, repo, &rhead) < 0) {
			res->push_error = xasprintf("cannot read the remote head: %s", repo_git_error());
			break;
		}
		if (cc) {
			char *rval = NULL;
			struct vfile *rvf = NULL;
			if (change_read_vfile(repo, rbase, cc->file, 0, &rvf, &perr) == 0) {
				rval = xstrdup(versionfile_get(rvf, cc->key));
				versionfile_free(rvf);
			}
			int same_prev = (!rval && !c->previous) || (rval && c->previous && strcmp(rval, c->previous) == 0);
			char *by = NULL;
			if (!same_prev && rval) {
				/* another host recorded this very version: not a conflict */
				char *ver = repo_trailer(sbuf_str(&c->message), "Tally-Version");
				char *act = repo_trailer(sbuf_str(&c->message), "Tally-Action");
				if (ver && act && !strcmp(act, "ship") && !strcmp(ver, rval))
					by = reapply_recorded_by(repo, &rhead, cc->name, ver);
				free(ver);
				free(act);
			}
			if (by) {
				free(rval);
				git_commit_free(rbase);
				struct tally_err uerr = {0};
				if (worktree_rollback(repo, refname, head, c, &uerr) < 0) {
					res->push_error = xasprintf("the remote records %s %s " REAPPLY_ELSEWHERE "%s), "
								    "but undoing the local commit failed: %s",
								    cc->name, c->previous ? "past it" : "already", by, uerr.msg);
					free(by);
					return 0;
				}
				/* the branch follows the remote (a fast-forward from where
				 * the local commit was made) */
				git_oid at;
				if (git_reference_name_to_id(&at, repo, refname) < 0 ||
				    change_move_ref(repo, refname, &at, &rhead, "tally: recorded elsewhere", &uerr) < 0 ||
				    worktree_checkout(repo, &rhead, &at, &uerr) < 0) {
					res->push_error = xasprintf(REAPPLY_ELSEWHERE "%s), but following the remote "
								    "failed: %s", by, uerr.msg);
					free(by);
					return 0;
				}
				*head = rhead;
				repo_oid_hex(head, res->commit);
				res->pushed = 1;
				if (log_fd >= 0)
					dprintf(log_fd, "%s: the remote records this version already: " REAPPLY_ELSEWHERE
						"%s); this host's record is dropped, the branch follows the remote\n",
						cc->name, by);
				free(by);
				return 0;
			}
			if (!same_prev) {
				char rh[GIT_OID_HEXSZ + 1];
				repo_oid_hex(&rhead, rh);
				tally_err_set(err, TC_RECORD,
					      "conflict: the remote (%s at %.12s) records %s=%s, this record moves it from %s; nothing recorded, resolve by hand (tally will not overwrite it)",
					      conf->remote, rh, cc->key, rval ? rval : "(none)",
					      c->previous ? c->previous : "(none)");
				free(rval);
				git_commit_free(rbase);
				goto undo;
			}
			free(rval);
		}
		struct change c2 = {0};
		git_oid oid2;
		if (compute(repo, rbase, arg, &c2, &perr) < 0) {
			/* e.g. a skip that arrived with the remote head: the change
			 * no longer applies, so ours must not stand either */
			*err = perr;
			change_free(&c2);
			git_commit_free(rbase);
			goto undo;
		}
		if (change_commit(repo, rbase, conf, &c2, &oid2, &perr) < 0) {
			res->push_error = xstrdup(perr.msg);
			change_free(&c2);
			git_commit_free(rbase);
			break;
		}
		git_commit_free(rbase);
		/* Local branch moves from our unpushed commit to the re-applied
		 * one (the commit point), then the working tree follows for every
		 * file that changed; a crash between the two is repaired at start
		 * (the files equal the branch's previous position). */
		if (change_move_ref(repo, refname, head, &oid2, "tally: re-apply on remote", &perr) < 0 ||
		    worktree_checkout(repo, &oid2, head, &perr) < 0) {
			res->push_error = xstrdup(perr.msg);
			change_free(&c2);
			break;
		}
		*head = oid2;
		repo_oid_hex(head, res->commit);
		change_free(&c2);
	}
	return 0;
undo: {
		struct tally_err uerr = {0};
		if (worktree_rollback(repo, refname, head, c, &uerr) < 0) {
			/* could not undo: it stays a local, unpushed record */
			res->push_error = xasprintf("%s; and undoing the local commit failed: %s", err->msg, uerr.msg);
			tally_err_clear(err);
			return 0;
		}
		res->commit[0] = '\0';
		return -1;
	}
}

int gitremote_sync(const char *repo_dir, const struct tally_conf *conf, int log_fd,
		   int cancel_fd, struct strv *report, struct tally_err *err)
{
	if (!conf->git_push)
		return 0;
	git_repository *repo = NULL;
	char *refname = NULL;
	int rc = -1;
	if (repo_open(repo_dir, &repo, err) < 0 || repo_branch_ref(repo, conf->branch, &refname, err) < 0)
		goto out;
	const char *branch = repo_branch_short(refname);
	git_oid local, remote;
	int have_local = git_reference_name_to_id(&local, repo, refname) == 0;
	int have_remote = 0;
	if (fetch_remote(repo, conf, branch, log_fd, cancel_fd, &remote, &have_remote, err) < 0)
		goto out;
	if (!have_remote || (have_local && git_oid_equal(&local, &remote))) {
		rc = 0;
		if (have_local && !have_remote) {
			int rejected = 0;
			rc = push_remote(repo, conf, branch, &local, log_fd, cancel_fd, &rejected, err);
		}
		goto out;
	}
	if (!have_local) {
		tally_err_set(err, TC_RECORD, "%s has no commit; clone the versions repo instead", refname);
		goto out;
	}
	size_t ahead = 0, behind = 0;
	if (git_graph_ahead_behind(&ahead, &behind, repo, &local, &remote) < 0) {
		tally_err_set(err, TC_RECORD, "cannot compare %s with the remote: %s", refname, repo_git_error());
		goto out;
	}
	char lh[GIT_OID_HEXSZ + 1], rh[GIT_OID_HEXSZ + 1];
	repo_oid_hex(&local, lh);
	repo_oid_hex(&remote, rh);
	for (int tries = 0; ahead && behind; tries++) {
		/* tally's own unpushed commits on a remote that moved: made again
		 * on the remote head and pushed, a few times, never forced */
		if (reapply_local(repo, conf, refname, &local, &remote, report, err) < 0)
			goto out;
		if (git_oid_equal(&local, &remote)) {
			rc = 0;   /* everything was dropped: the remote head it is */
			goto out;
		}
		int rejected = 0;
		if (push_remote(repo, conf, branch, &local, log_fd, cancel_fd, &rejected, err) == 0 ||
		    !rejected || tries == 3) {
			if (err->msg[0])
				strv_push_owned(report, xasprintf("pending record commits not pushed yet: %s", err->msg));
			tally_err_clear(err);
			rc = 0;
			goto out;
		}
		tally_err_clear(err);
		if (fetch_remote(repo, conf, branch, log_fd, cancel_fd, &remote, &have_remote, err) < 0)
			goto out;
		if (!have_remote || git_graph_ahead_behind(&ahead, &behind, repo, &local, &remote) < 0) {
			tally_err_set(err, TC_RECORD, "%s/%s vanished or cannot be compared during the push",
				      conf->remote, branch);
			goto out;
		}
	}
	if (behind) {
		/* fast-forward: only when the files tally owns are clean */
		struct strv files = {0};
		worktree_owned_files(conf, &files);
		for (size_t i = 0; i < files.n; i++) {
			unsigned int flags = 0;
			if (git_status_file(&flags, repo, files.v[i]) == 0 && flags) {
				tally_err_set(err, TC_RECORD,
					      "%s has uncommitted changes; not fast-forwarding to %s/%s",
					      files.v[i], conf->remote, branch);
				strv_free(&files);
				goto out;
			}
		}
		strv_free(&files);
		if (change_move_ref(repo, refname, &local, &remote, "tally: fast-forward", err) < 0 ||
		    worktree_checkout(repo, &remote, &local, err) < 0)
			goto out;
		rc = 0;
		goto out;
	}
	/* ahead: record commits not on the remote yet; a push that fails
	 * leaves them pending (pushed by the next run) and blocks nothing */
	int rejected = 0;
	if (push_remote(repo, conf, branch, &local, log_fd, cancel_fd, &rejected, err) < 0)
		strv_push_owned(report, xasprintf("pending record commits not pushed yet: %s", err->msg));
	tally_err_clear(err);
	rc = 0;
out:
	free(refname);
	git_repository_free(repo);
	return rc;
}
