/* DESIGN: the recorder is called from attempt worker threads. One mutex
 * makes it serial; each call opens its own git_repository (handles never
 * cross threads). Every change is computed from a base commit by a
 * `compute` function, so the same change can be re-applied on top of a
 * remote head after a rejected push. */
#include "recorder.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomicfile.h"
#include "crashpoint.h"
#include "gitnet.h"
#include "holds.h"
#include "repo.h"
#include "runner.h"
#include "version.h"
#include "versionfile.h"

static pthread_mutex_t recorder_mu = PTHREAD_MUTEX_INITIALIZER;

struct edit {
	char *path;
	struct sbuf content;
};

struct change {
	struct edit *edits;       /* grows: a component may have many recordAlso files */
	size_t nedits, capedits;
	struct sbuf message;
	char *previous;
};

static void change_free(struct change *c)
{
	for (size_t i = 0; i < c->nedits; i++) {
		free(c->edits[i].path);
		sbuf_free(&c->edits[i].content);
	}
	c->nedits = 0;
	free(c->edits);
	c->edits = NULL;
	c->capedits = 0;
	sbuf_free(&c->message);
	free(c->previous);
	c->previous = NULL;
}

static struct sbuf *change_edit(struct change *c, const char *path)
{
	for (size_t i = 0; i < c->nedits; i++)
		if (strcmp(c->edits[i].path, path) == 0)
			return &c->edits[i].content;
	if (c->nedits == c->capedits) {
		c->capedits = c->capedits ? c->capedits * 2 : 4;
		c->edits = xrealloc(c->edits, c->capedits * sizeof *c->edits);
	}
	struct edit *e = &c->edits[c->nedits++];
	e->path = xstrdup(path);
	sbuf_init(&e->content);
	return &e->content;
}

typedef int (*compute_fn)(git_repository *repo, git_commit *base, const void *arg,
			  struct change *c, struct tally_err *err);

static const char *const action_names[] = {"ship", "rebuild", "reset", "adopt"};
static const char *const action_verbs[] = {"record", "rebuild", "reset", "adopt"};

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

static int load_vfile(git_repository *repo, git_commit *base, const char *path, int lenient,
		      struct vfile **out, struct tally_err *err)
{
	struct sbuf raw = {0};
	int exists = 0;
	int rc = repo_read_at(repo, base, path, &raw, &exists, err);
	if (rc == 0)
		rc = versionfile_parse(path, sbuf_str(&raw), raw.len, lenient, out, err);
	sbuf_free(&raw);
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
	if (load_vfile(repo, base, cc->file, 0, &vf, err) < 0)
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
		if (load_vfile(repo, base, cc->record_also[i].file, 1, &ra, err) < 0)
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
	struct sbuf *m = &c->message;
	sbuf_addf(m, "%s %s %s\n\n", action_verbs[req->action], cc->name, req->version);
	sbuf_addf(m, "Tally-Action: %s\n", action_names[req->action]);
	sbuf_addf(m, "Tally-Component: %s\n", cc->name);
	sbuf_addf(m, "Tally-Version: %s\n", req->version);
	if (prev && req->action != RA_ADOPT)
		sbuf_addf(m, "Tally-Previous: %s\n", prev);
	for (size_t i = 0; i < req->ev->nimages; i++)
		sbuf_addf(m, "Tally-Image: %s\n", req->ev->images[i]);
	sbuf_addf(m, "Tally-Digest: %s\n", req->ev->digest);
	sbuf_addf(m, "Tally-Recipe: %s\n", req->ev->fingerprint);
	if (req->ev->attempt)
		sbuf_addf(m, "Tally-Attempt: %s\n", req->ev->attempt);
	for (size_t i = 0; i < req->ev->nplatforms; i++)
		sbuf_addf(m, "Tally-Platform: %s\n", req->ev->platforms[i]);
	for (size_t i = 0; i < req->ev->nbases; i++)
		sbuf_addf(m, "Tally-Base: %s\n", req->ev->bases[i]);
	if (req->ev->cause)
		sbuf_addf(m, "Tally-Cause: %s\n", req->ev->cause);
	else if (req->action == RA_SHIP)
		sbuf_addf(m, "Tally-Cause: upstream %s released\n", req->version);
	else
		sbuf_addf(m, "Tally-Cause: operator\n");
	rc = 0;
out:
	versionfile_free(vf);
	holds_free(holds);
	sbuf_free(&holds_raw);
	return rc;
}

/* Refuses when a file the change writes has uncommitted changes (working
 * tree or index differ from base). */
static int check_clean(git_repository *repo, const struct change *c, struct tally_err *err)
{
	for (size_t i = 0; i < c->nedits; i++) {
		unsigned int flags = 0;
		int r = git_status_file(&flags, repo, c->edits[i].path);
		if (r == GIT_ENOTFOUND)
			continue;
		if (r < 0)
			return tally_err_set(err, TC_RECORD, "%s: cannot read status: %s",
					     c->edits[i].path, repo_git_error());
		if (flags & GIT_STATUS_IGNORED)
			return tally_err_set(err, TC_RECORD,
					     "%s is ignored by git, but tally must commit it; remove it from .gitignore (tally never overwrites it)",
					     c->edits[i].path);
		if (flags)
			return tally_err_set(err, TC_RECORD,
					     "%s has uncommitted changes; commit or restore it, then retry (tally never overwrites them)",
					     c->edits[i].path);
	}
	return 0;
}

static int make_commit(git_repository *repo, git_commit *base, const struct tally_conf *conf,
		       const struct change *c, git_oid *out, struct tally_err *err)
{
	git_tree *base_tree = NULL, *tree = NULL;
	git_tree_update *upd = xcalloc(c->nedits + 1, sizeof *upd);
	git_oid tree_oid;
	git_signature *sig = NULL;
	int rc = -1;

	if (base && git_commit_tree(&base_tree, base) < 0) {
		tally_err_set(err, TC_RECORD, "cannot read the head tree: %s", repo_git_error());
		goto out;
	}
	if (!base_tree) {
		git_treebuilder *tb = NULL;
		git_oid empty;
		if (git_treebuilder_new(&tb, repo, NULL) < 0 || git_treebuilder_write(&empty, tb) < 0 ||
		    git_tree_lookup(&base_tree, repo, &empty) < 0) {
			git_treebuilder_free(tb);
			tally_err_set(err, TC_RECORD, "cannot make an empty tree: %s", repo_git_error());
			goto out;
		}
		git_treebuilder_free(tb);
	}
	for (size_t i = 0; i < c->nedits; i++) {
		memset(&upd[i], 0, sizeof upd[i]);
		upd[i].action = GIT_TREE_UPDATE_UPSERT;
		upd[i].filemode = GIT_FILEMODE_BLOB;
		upd[i].path = c->edits[i].path;
		/* keep an executable bit the file already had */
		git_tree_entry *old_ent = NULL;
		if (git_tree_entry_bypath(&old_ent, base_tree, c->edits[i].path) == 0) {
			if (git_tree_entry_filemode(old_ent) == GIT_FILEMODE_BLOB_EXECUTABLE)
				upd[i].filemode = GIT_FILEMODE_BLOB_EXECUTABLE;
			git_tree_entry_free(old_ent);
		}
		if (git_blob_create_from_buffer(&upd[i].id, repo, sbuf_str(&c->edits[i].content),
						c->edits[i].content.len) < 0) {
			tally_err_set(err, TC_RECORD, "%s: cannot write blob: %s", c->edits[i].path,
				      repo_git_error());
			goto out;
		}
	}
	if (git_tree_create_updated(&tree_oid, repo, base_tree, c->nedits, upd) < 0 ||
	    git_tree_lookup(&tree, repo, &tree_oid) < 0) {
		tally_err_set(err, TC_RECORD, "cannot build the new tree: %s", repo_git_error());
		goto out;
	}
	char host[256] = "localhost";
	gethostname(host, sizeof host - 1);
	char *email = conf->author_email ? xstrdup(conf->author_email) : xasprintf("tally@%s", host);
	int sr = git_signature_now(&sig, conf->author_name ? conf->author_name : "tally", email);
	free(email);
	if (sr < 0) {
		tally_err_set(err, TC_RECORD, "bad commit identity: %s", repo_git_error());
		goto out;
	}
	const git_commit *parents[1] = {base};
	if (git_commit_create(out, repo, NULL, sig, sig, "UTF-8", sbuf_str(&c->message), tree,
			      base ? 1 : 0, parents) < 0) {
		tally_err_set(err, TC_RECORD, "cannot create the commit: %s", repo_git_error());
		goto out;
	}
	rc = 0;
out:
	free(upd);
	git_signature_free(sig);
	git_tree_free(tree);
	git_tree_free(base_tree);
	return rc;
}

/* The commit point: move the branch from expected to new, or fail when
 * somebody else moved it. */
static int move_ref(git_repository *repo, const char *refname, const git_oid *expected,
		    const git_oid *new_oid, const char *why, struct tally_err *err)
{
	git_reference *ref = NULL;
	int r;
	if (expected)
		r = git_reference_create_matching(&ref, repo, refname, new_oid, 1, expected, why);
	else
		r = git_reference_create(&ref, repo, refname, new_oid, 0, why);
	git_reference_free(ref);
	if (r < 0)
		return tally_err_set(err, TC_RECORD, "%s: cannot update the branch: %s", refname,
				     repo_git_error());
	return 0;
}

/* Working tree and index follow the new head. */
static int write_worktree_x(git_repository *repo, const struct change *c, int *index_only,
			    struct tally_err *err);
static int write_worktree(git_repository *repo, const struct change *c, struct tally_err *err)
{
	return write_worktree_x(repo, c, NULL, err);
}

/* *index_only (may be NULL) is set when the files were written and only the
 * index update failed (a stale index is mended at start and by the engine). */
static int write_worktree_x(git_repository *repo, const struct change *c, int *index_only,
			    struct tally_err *err)
{
	if (index_only)
		*index_only = 0;
	for (size_t i = 0; i < c->nedits; i++) {
		char *path = repo_workpath(repo, c->edits[i].path);
		char *dir = xstrdup(path);
		char *slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = '\0';
			util_mkdirs(dir, 0755, NULL);
		}
		free(dir);
		int r = atomicfile_write(path, sbuf_str(&c->edits[i].content), c->edits[i].content.len,
					 0644, err);
		free(path);
		if (r < 0)
			return -1;
		crashpoint("after-worktree-file");
	}
	git_index *idx = NULL;
	if (index_only)
		*index_only = 1;
	if (git_repository_index(&idx, repo) < 0 || git_index_read(idx, 0) < 0)
		goto fail;
	for (size_t i = 0; i < c->nedits; i++)
		if (git_index_add_bypath(idx, c->edits[i].path) < 0)
			goto fail;
	if (git_index_write(idx) < 0)
		goto fail;
	git_index_free(idx);
	return 0;
fail:
	git_index_free(idx);
	return tally_err_set(err, TC_RECORD, "cannot update the index: %s", repo_git_error());
}

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
	*rejected = rc < 0 && (strstr(sbuf_str(&out), "[rejected]") ||
			       strstr(sbuf_str(&out), "non-fast-forward") ||
			       strstr(sbuf_str(&out), "fetch first"));
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

static const char *branch_short(const char *refname)
{
	return str_starts(refname, "refs/heads/") ? refname + strlen("refs/heads/") : refname;
}

static int same_bytes(int ea, const struct sbuf *a, int eb, const struct sbuf *b);
static void remove_temp_files(const char *path);

/* A blob as checkout would write it to path (the to-worktree filters of
 * .gitattributes applied); *exists is 0 when the tree has no blob there. */
static int blob_for_worktree(git_repository *repo, const git_diff_file *f, struct sbuf *out,
			     int *exists)
{
	*exists = 0;
	if (!(f->flags & GIT_DIFF_FLAG_EXISTS) || git_oid_is_zero(&f->id))
		return 0;
	git_blob *blob = NULL;
	git_buf buf = GIT_BUF_INIT;
	git_blob_filter_options fo;
	git_blob_filter_options_init(&fo, GIT_BLOB_FILTER_OPTIONS_VERSION);
	int rc = -1;
	if (git_blob_lookup(&blob, repo, &f->id) == 0 && git_blob_filter(&buf, blob, f->path, &fo) == 0) {
		sbuf_add(out, buf.ptr ? buf.ptr : "", buf.size);
		*exists = 1;
		rc = 0;
	}
	git_buf_dispose(&buf);
	git_blob_free(blob);
	return rc;
}

static int regular_or_none(uint16_t mode)
{
	return mode == 0 || mode == GIT_FILEMODE_BLOB || mode == GIT_FILEMODE_BLOB_EXECUTABLE;
}

/* Moves the working tree of files that changed between two commits, safely
 * and atomically. Safe: a file whose content is neither from's nor
 * target's (changed by hand) stops the whole move before anything is
 * written. Atomic: every regular file is replaced by atomicfile_write
 * (temp file, fsync, rename), never truncated and rewritten in place as
 * git_checkout_tree does, so a kill at any instant leaves each file at
 * from's or target's content, which the start-up repair finishes (the
 * reflog says where the branch moved from). A file that already has
 * target's content is not written again, only its index entry refreshed.
 * Anything but regular files (symlinks, submodules) is left to libgit2. */
static int checkout_to(git_repository *repo, const git_oid *target, const git_oid *from,
		       struct tally_err *err)
{
	git_commit *c = NULL, *old = NULL;
	git_tree *baseline = NULL, *tree = NULL;
	git_diff *diff = NULL;
	git_index *idx = NULL;
	struct strv special = {0};
	size_t n = 0;
	int rc = -1;
	struct co_file {
		struct sbuf content;
		int exists, write;
		uint16_t mode;
	} *files = NULL;

	/* the branch moved first (the commit point); the working tree still
	 * has from's files, and those are the ones to replace */
	if (from && git_commit_lookup(&old, repo, from) == 0)
		git_commit_tree(&baseline, old);
	if (git_commit_lookup(&c, repo, target) < 0 || git_commit_tree(&tree, c) < 0 ||
	    git_diff_tree_to_tree(&diff, repo, baseline, tree, NULL) < 0) {
		tally_err_set(err, TC_RECORD, "cannot update the working tree: %s", repo_git_error());
		goto out;
	}
	n = git_diff_num_deltas(diff);
	files = xcalloc(n ? n : 1, sizeof *files);
	/* first every file is checked: a conflict writes nothing */
	for (size_t i = 0; i < n; i++) {
		const git_diff_delta *d = git_diff_get_delta(diff, i);
		const char *path = d->new_file.path;
		if (!regular_or_none(d->old_file.mode) || !regular_or_none(d->new_file.mode)) {
			strv_push(&special, path);
			continue;
		}
		struct sbuf was = {0}, work = {0};
		int wasexists = 0;
		char *wp = repo_workpath(repo, path);
		remove_temp_files(wp);   /* of an earlier move that was killed */
		int wexists = util_read_file(wp, &work, NULL) == 0;
		free(wp);
		if (blob_for_worktree(repo, &d->old_file, &was, &wasexists) < 0 ||
		    blob_for_worktree(repo, &d->new_file, &files[i].content, &files[i].exists) < 0) {
			sbuf_free(&was);
			sbuf_free(&work);
			tally_err_set(err, TC_RECORD, "cannot update the working tree: %s: %s", path,
				      repo_git_error());
			goto out;
		}
		files[i].mode = d->new_file.mode;
		int at_target = same_bytes(wexists, &work, files[i].exists, &files[i].content);
		int at_from = same_bytes(wexists, &work, wasexists, &was);
		sbuf_free(&was);
		sbuf_free(&work);
		if (!at_target && !at_from) {
			char th[GIT_OID_HEXSZ + 1];
			repo_oid_hex(target, th);
			tally_err_set(err, TC_RECORD,
				      "cannot update the working tree to %.12s: %s has changes of its own; commit or restore it, then run tally again",
				      th, path);
			goto out;
		}
		files[i].write = !at_target;
	}
	if (special.n) {
		git_checkout_options co;
		git_checkout_options_init(&co, GIT_CHECKOUT_OPTIONS_VERSION);
		co.checkout_strategy = GIT_CHECKOUT_SAFE | GIT_CHECKOUT_DISABLE_PATHSPEC_MATCH;
		co.baseline = baseline;
		co.paths.strings = special.v;
		co.paths.count = special.n;
		if (git_checkout_tree(repo, (const git_object *)c, &co) < 0) {
			tally_err_set(err, TC_RECORD, "cannot update the working tree: %s", repo_git_error());
			goto out;
		}
	}
	for (size_t i = 0; i < n; i++) {
		const git_diff_delta *d = git_diff_get_delta(diff, i);
		char *wp = repo_workpath(repo, d->new_file.path);
		mode_t mode = files[i].mode == GIT_FILEMODE_BLOB_EXECUTABLE ? 0755 : 0644;
		if (!files[i].write) {
			if (files[i].exists && d->old_file.mode && d->old_file.mode != files[i].mode)
				chmod(wp, mode);
			free(wp);
			continue;
		}
		if (!files[i].exists) {
			if (unlink(wp) < 0 && errno != ENOENT) {
				tally_err_set(err, TC_RECORD, "%s: cannot remove: %s", wp, strerror(errno));
				free(wp);
				goto out;
			}
		} else {
			char *dir = xstrdup(wp);
			char *slash = strrchr(dir, '/');
			if (slash && slash != dir) {
				*slash = '\0';
				util_mkdirs(dir, 0755, NULL);
			}
			free(dir);
			if (atomicfile_write(wp, sbuf_str(&files[i].content), files[i].content.len, mode,
					     err) < 0) {
				free(wp);
				goto out;
			}
			if (d->old_file.mode != files[i].mode && d->old_file.mode)
				chmod(wp, mode);
		}
		free(wp);
		crashpoint("mid-checkout");
	}
	/* the index follows (for the files already at target too: a stale
	 * entry is mended) */
	if (git_repository_index(&idx, repo) < 0 || git_index_read(idx, 0) < 0)
		goto index_fail;
	for (size_t i = 0; i < n; i++) {
		const git_diff_delta *d = git_diff_get_delta(diff, i);
		if (strv_contains(&special, d->new_file.path))
			continue;
		int r = files[i].exists ? git_index_add_bypath(idx, d->new_file.path)
					: git_index_remove_bypath(idx, d->new_file.path);
		if (r < 0)
			goto index_fail;
	}
	if (git_index_write(idx) < 0)
		goto index_fail;
	rc = 0;
	goto out;
index_fail:
	tally_err_set(err, TC_RECORD, "cannot update the index: %s", repo_git_error());
out:
	if (files)
		for (size_t i = 0; i < n; i++)
			sbuf_free(&files[i].content);
	free(files);
	strv_free(&special);
	git_index_free(idx);
	git_diff_free(diff);
	git_tree_free(tree);
	git_tree_free(baseline);
	git_commit_free(old);
	git_commit_free(c);
	return rc;
}

/* Undoes our own unpushed commit (the branch head, which the remote never
 * saw): the branch goes back to its parent and the files the change wrote
 * get the parent's content again. Used when re-applying on the remote head
 * is not possible (a hold or another value arrived from the remote). */
static int rollback(git_repository *repo, const char *refname, const git_oid *ours,
		    const struct change *c, struct tally_err *err)
{
	git_commit *commit = NULL, *parent = NULL;
	struct change back = {0};
	int rc = -1;
	if (git_commit_lookup(&commit, repo, ours) < 0 || git_commit_parent(&parent, commit, 0) < 0) {
		tally_err_set(err, TC_RECORD, "cannot undo the unpushed commit: %s", repo_git_error());
		goto out;
	}
	for (size_t i = 0; i < c->nedits; i++) {
		int exists = 0;
		struct sbuf content = {0};
		if (repo_read_at(repo, parent, c->edits[i].path, &content, &exists, err) < 0) {
			sbuf_free(&content);
			goto out;
		}
		if (exists) {
			struct sbuf *dst = change_edit(&back, c->edits[i].path);
			sbuf_add(dst, sbuf_str(&content), content.len);
		} else {
			/* it did not exist before our commit */
			char *wp = repo_workpath(repo, c->edits[i].path);
			unlink(wp);
			free(wp);
			git_index *idx = NULL;
			if (git_repository_index(&idx, repo) == 0) {
				git_index_remove_bypath(idx, c->edits[i].path);
				git_index_write(idx);
			}
			git_index_free(idx);
		}
		sbuf_free(&content);
	}
	if (move_ref(repo, refname, ours, git_commit_id(parent), "tally: undo unpushed record", err) < 0)
		goto out;
	crashpoint("mid-rollback");
	rc = back.nedits ? write_worktree(repo, &back, err) : 0;
out:
	change_free(&back);
	git_commit_free(parent);
	git_commit_free(commit);
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
	if (check_clean(repo, &c, err) < 0)
		goto out;
	if (make_commit(repo, base, conf, &c, &new_oid, err) < 0)
		goto out;
	crashpoint("before-ref-update");
	if (move_ref(repo, refname, base ? git_commit_id(base) : NULL, &new_oid,
		     "tally: record", err) < 0)
		goto out;
	crashpoint("after-ref-update");
	repo_oid_hex(&new_oid, res->commit);
	res->previous = xstrdup(c.previous);
	res->pushed = !conf->git_push;
	int index_only = 0;
	if (write_worktree_x(repo, &c, &index_only, err) < 0) {
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

	const char *branch = branch_short(refname);
	for (int tries = 0; tries < 4; tries++) {
		int rejected = 0;
		struct tally_err perr = {0};
		if (push_remote(repo, conf, branch, &new_oid, log_fd, cancel_fd, &rejected, &perr) == 0) {
			res->pushed = 1;
			break;
		}
		if (!rejected || tries == 3) {
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
			if (load_vfile(repo, rbase, cc->file, 0, &rvf, &perr) == 0) {
				rval = xstrdup(versionfile_get(rvf, cc->key));
				versionfile_free(rvf);
			}
			int same_prev = (!rval && !c.previous) || (rval && c.previous && strcmp(rval, c.previous) == 0);
			if (!same_prev) {
				char rh[GIT_OID_HEXSZ + 1];
				repo_oid_hex(&rhead, rh);
				tally_err_set(err, TC_RECORD,
					      "conflict: the remote (%s at %.12s) records %s=%s, this record moves it from %s; nothing recorded, resolve by hand (tally will not overwrite it)",
					      conf->remote, rh, cc->key, rval ? rval : "(none)",
					      c.previous ? c.previous : "(none)");
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
		if (make_commit(repo, rbase, conf, &c2, &oid2, &perr) < 0) {
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
		if (move_ref(repo, refname, &new_oid, &oid2, "tally: re-apply on remote", &perr) < 0 ||
		    checkout_to(repo, &oid2, &new_oid, &perr) < 0) {
			res->push_error = xstrdup(perr.msg);
			change_free(&c2);
			break;
		}
		new_oid = oid2;
		repo_oid_hex(&new_oid, res->commit);
		change_free(&c2);
	}
	goto out;
undo: {
		struct tally_err uerr = {0};
		if (rollback(repo, refname, &new_oid, &c, &uerr) < 0) {
			/* could not undo: it stays a local, unpushed record */
			res->push_error = xasprintf("%s; and undoing the local commit failed: %s", err->msg, uerr.msg);
			tally_err_clear(err);
		} else {
			res->commit[0] = '\0';
			rc = -1;
		}
	}
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

static const char *const hold_actions[] = {"skip", "unskip", "pin", "unpin"};

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
		if (load_vfile(repo, base, cc->file, 0, &vf, err) < 0)
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
	sbuf_addf(&c->message, "%s %s %s\n\n", hold_actions[req->op], cc->name, arg->version);
	sbuf_addf(&c->message, "Tally-Action: %s\n", hold_actions[req->op]);
	sbuf_addf(&c->message, "Tally-Component: %s\n", cc->name);
	sbuf_addf(&c->message, "Tally-Version: %s\n", arg->version);
	if (req->reason && *req->reason && (req->op == RH_SKIP || req->op == RH_PIN)) {
		/* one line: the holds file already refused newlines */
		sbuf_addf(&c->message, "Tally-Reason: %s\n", req->reason);
	}
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
	int rc = load_vfile(repo, head, cc->file, 0, &vf, err);
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

/* Files tally owns: version files, recordAlso files, the holds file. */
static void owned_files(const struct tally_conf *conf, struct strv *out)
{
	for (size_t i = 0; i < conf->ncomps; i++) {
		if (!strv_contains(out, conf->comps[i].file))
			strv_push(out, conf->comps[i].file);
		for (size_t j = 0; j < conf->comps[i].nrecord_also; j++)
			if (!strv_contains(out, conf->comps[i].record_also[j].file))
				strv_push(out, conf->comps[i].record_also[j].file);
	}
	if (!strv_contains(out, conf->holds_file))
		strv_push(out, conf->holds_file);
}

static int same_bytes(int ea, const struct sbuf *a, int eb, const struct sbuf *b)
{
	return ea == eb && (!ea || (a->len == b->len && memcmp(sbuf_str(a), sbuf_str(b), a->len) == 0));
}

static void remove_temp_files(const char *path)
{
	/* atomicfile leaves "<path>.tally-tmp.<pid>" when killed mid-write */
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	const char *base = slash ? slash + 1 : path;
	if (slash)
		*slash = '\0';
	char *prefix = xasprintf("%s.tally-tmp.", base);
	DIR *d = opendir(slash ? dir : ".");
	if (d) {
		struct dirent *de;
		while ((de = readdir(d)))
			if (str_starts(de->d_name, prefix)) {
				char *p = xasprintf("%s/%s", slash ? dir : ".", de->d_name);
				unlink(p);
				free(p);
			}
		closedir(d);
	}
	free(prefix);
	free(dir);
}

/* 1 when some process we can see has path open (a live git or libgit2
 * holding its lock), or when /proc cannot be read at all. */
static int open_anywhere(const char *path)
{
	DIR *proc = opendir("/proc");
	if (!proc)
		return 1;
	int found = 0;
	struct dirent *de;
	while (!found && (de = readdir(proc))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		char dir[300];
		snprintf(dir, sizeof dir, "/proc/%s/fd", de->d_name);
		DIR *fds = opendir(dir);
		if (!fds)
			continue;   /* gone, or another user's */
		struct dirent *fe;
		while (!found && (fe = readdir(fds))) {
			char link[600], target[PATH_MAX + 1];
			snprintf(link, sizeof link, "%s/%s", dir, fe->d_name);
			ssize_t n = readlink(link, target, sizeof target - 1);
			if (n <= 0)
				continue;
			target[n] = '\0';
			found = strcmp(target, path) == 0;
		}
		closedir(fds);
	}
	closedir(proc);
	return found;
}

int recorder_clear_stale_locks(const char *repo_dir, const struct tally_conf *conf,
			       struct strv *report)
{
	git_repository *repo = NULL;
	char *refname = NULL;
	struct tally_err err = {0};
	if (repo_open(repo_dir, &repo, &err) < 0 || repo_branch_ref(repo, conf->branch, &refname, &err) < 0) {
		git_repository_free(repo);
		return -1;
	}
	const char *branch = branch_short(refname);
	char gd[PATH_MAX];
	if (!realpath(git_repository_commondir(repo), gd))
		snprintf(gd, sizeof gd, "%s", git_repository_commondir(repo));
	size_t gl = strlen(gd);
	while (gl > 1 && gd[gl - 1] == '/')
		gd[--gl] = '\0';
	char *locks[] = {
		xasprintf("%s/index.lock", gd), xasprintf("%s/HEAD.lock", gd),
		xasprintf("%s/packed-refs.lock", gd), xasprintf("%s/%s.lock", gd, refname),
		xasprintf("%s/logs/%s.lock", gd, refname), xasprintf("%s/logs/HEAD.lock", gd),
		xasprintf("%s/refs/remotes/%s/%s.lock", gd, conf->remote, branch), NULL,
	};
	/* tally holds tally.lock, so no engine of ours writes; a lock file
	 * nobody has open was left by a killed git or engine, and would make
	 * every later ref or index update fail */
	for (char **p = locks; *p; p++) {
		if (access(*p, F_OK) == 0 && !open_anywhere(*p) && unlink(*p) == 0)
			strv_push_owned(report, xasprintf("%s: removed a stale git lock file (left by a killed process)", *p));
		free(*p);
	}
	free(refname);
	git_repository_free(repo);
	return 0;
}

/* Does the working-tree content (wexists, work) of path lag behind HEAD
 * only by tally's own writes? Walks the first-parent chain from head (at
 * most 200 commits): every commit that changed the file on the way back to
 * a version equal to the working tree must carry a Tally-Action trailer. A
 * record whose working-tree update failed (disk full, immutable file) is
 * repaired this way also after later records of other components. */
static int lags_by_tally(git_repository *repo, git_commit *head, const char *path, int wexists,
			 const struct sbuf *work)
{
	git_commit *x = head;
	int found = 0;
	struct sbuf at_x = {0};
	int xexists = 0;
	repo_read_at(repo, x, path, &at_x, &xexists, NULL);
	for (int depth = 0; depth < 200 && git_commit_parentcount(x) > 0; depth++) {
		git_commit *p = NULL;
		if (git_commit_parent(&p, x, 0) < 0)
			break;
		struct sbuf at_p = {0};
		int pexists = 0;
		repo_read_at(repo, p, path, &at_p, &pexists, NULL);
		int changed = !same_bytes(xexists, &at_x, pexists, &at_p);
		char *action = changed ? repo_trailer(git_commit_message(x), "Tally-Action") : NULL;
		if (x != head)
			git_commit_free(x);
		x = p;
		sbuf_free(&at_x);
		at_x = at_p;
		xexists = pexists;
		if (changed && !action)
			break;   /* somebody else changed it: not ours to undo */
		free(action);
		if (changed && same_bytes(wexists, work, pexists, &at_p)) {
			found = 1;
			break;
		}
	}
	if (x != head)
		git_commit_free(x);
	sbuf_free(&at_x);
	return found;
}

int recorder_repair(const char *repo_dir, const struct tally_conf *conf, struct strv *report,
		    struct tally_err *err)
{
	git_repository *repo = NULL;
	char *refname = NULL;
	git_commit *head = NULL, *parent = NULL, *moved_from = NULL;
	struct strv files = {0};
	int rc = -1;

	pthread_mutex_lock(&recorder_mu);
	if (repo_open(repo_dir, &repo, err) < 0 || repo_branch_ref(repo, conf->branch, &refname, err) < 0 ||
	    repo_branch_commit(repo, refname, &head, err) < 0)
		goto out;
	if (!head) {
		rc = 0;
		goto out;
	}
	char *action = repo_trailer(git_commit_message(head), "Tally-Action");
	if (action && git_commit_parentcount(head) > 0)
		git_commit_parent(&parent, head, 0);
	free(action);
	/* where tally last moved the branch from (a re-apply, a rollback, a
	 * fast-forward): a file still equal to that commit's was left behind
	 * by a crash between the ref update and the working tree */
	git_reflog *rl = NULL;
	if (git_reflog_read(&rl, repo, refname) == 0 && git_reflog_entrycount(rl) > 0) {
		const git_reflog_entry *ent = git_reflog_entry_byindex(rl, 0);
		const char *m = git_reflog_entry_message(ent);
		const git_oid *old = git_reflog_entry_id_old(ent);
		if (m && str_starts(m, "tally:") && !git_oid_is_zero(old) &&
		    !git_oid_equal(old, git_commit_id(head)))
			git_commit_lookup(&moved_from, repo, old);
	}
	git_reflog_free(rl);
	owned_files(conf, &files);
	struct change fix = {0};
	for (size_t i = 0; i < files.n; i++) {
		char *wp = repo_workpath(repo, files.v[i]);
		remove_temp_files(wp);
		struct sbuf work = {0}, at_head = {0}, at_parent = {0};
		int wexists = util_read_file(wp, &work, NULL) == 0;
		int hexists = 0, pexists = 0, mexists = 0;
		repo_read_at(repo, head, files.v[i], &at_head, &hexists, NULL);
		if (parent)
			repo_read_at(repo, parent, files.v[i], &at_parent, &pexists, NULL);
		int same_head = wexists == hexists && (!wexists || (work.len == at_head.len &&
					memcmp(sbuf_str(&work), sbuf_str(&at_head), work.len) == 0));
		int same_parent = parent && wexists == pexists &&
				  (!wexists || (work.len == at_parent.len &&
						memcmp(sbuf_str(&work), sbuf_str(&at_parent), work.len) == 0));
		if (!same_head && !same_parent && moved_from) {
			struct sbuf at_moved = {0};
			repo_read_at(repo, moved_from, files.v[i], &at_moved, &mexists, NULL);
			same_parent = same_bytes(wexists, &work, mexists, &at_moved);
			sbuf_free(&at_moved);
		}
		if (!same_head && !same_parent && hexists)
			same_parent = lags_by_tally(repo, head, files.v[i], wexists, &work);
		if (!same_head && same_parent && !hexists) {
			/* tally's move took the file away (a rolled-back record
			 * that had created it) */
			unlink(wp);
			git_index *idx = NULL;
			if (git_repository_index(&idx, repo) == 0) {
				git_index_remove_bypath(idx, files.v[i]);
				git_index_write(idx);
			}
			git_index_free(idx);
			strv_push_owned(report, xasprintf("%s: removed, as the interrupted change left it",
							  files.v[i]));
		} else if (!same_head && same_parent && hexists) {
			sbuf_add(change_edit(&fix, files.v[i]), sbuf_str(&at_head), at_head.len);
			strv_push_owned(report, xasprintf("%s: repaired from the interrupted record at HEAD",
							  files.v[i]));
		} else if (!same_head) {
			strv_push_owned(report,
					xasprintf("%s differs from HEAD and was not written by tally; left as it is",
						  files.v[i]));
		} else if (hexists) {
			unsigned int flags = 0;
			if (git_status_file(&flags, repo, files.v[i]) == 0 && (flags & GIT_STATUS_INDEX_MODIFIED)) {
				/* worktree right, index stale: a crash after the rename */
				sbuf_add(change_edit(&fix, files.v[i]), sbuf_str(&at_head), at_head.len);
			}
		}
		sbuf_free(&work);
		sbuf_free(&at_head);
		sbuf_free(&at_parent);
		free(wp);
	}
	if (fix.nedits)
		crashpoint("mid-repair");
	/* One file at a time: a file that cannot be written (immutable, disk
	 * full) is reported and left behind HEAD, which makes the recorder's
	 * gate refuse the components that write it; the others go on. */
	for (size_t i = 0; i < fix.nedits; i++) {
		struct change one = {0};
		sbuf_add(change_edit(&one, fix.edits[i].path), sbuf_str(&fix.edits[i].content),
			 fix.edits[i].content.len);
		struct tally_err werr = {0};
		if (write_worktree(repo, &one, &werr) < 0)
			strv_push_owned(report, xasprintf("%s: cannot repair it from HEAD (%s); components "
							  "that record in it are refused until it can be written",
							  fix.edits[i].path, werr.msg));
		change_free(&one);
	}
	rc = 0;
	change_free(&fix);
	if (rc == 0 && moved_from) {
		/* the rest of that move (a re-apply brings the remote's other
		 * files); safe: a file changed by hand stops it */
		struct tally_err cerr = {0};
		checkout_to(repo, git_commit_id(head), git_commit_id(moved_from), &cerr);
	}
out:
	pthread_mutex_unlock(&recorder_mu);
	strv_free(&files);
	git_commit_free(moved_from);
	git_commit_free(parent);
	git_commit_free(head);
	free(refname);
	git_repository_free(repo);
	return rc;
}

/* ---- re-applying tally's own unpushed commits on a moved remote -------- */

/* One of tally's own commits: one parent and its trailers. Only these are
 * re-applied on a remote head that moved; anything else is the operator's
 * and makes a diverged branch an error. */
static int is_tally_commit(const git_commit *c)
{
	if (git_commit_parentcount(c) != 1)
		return 0;
	char *action = repo_trailer(git_commit_message(c), "Tally-Action");
	char *comp = repo_trailer(git_commit_message(c), "Tally-Component");
	int ok = action && comp;
	free(action);
	free(comp);
	return ok;
}

static int holds_has(const struct holds *h, const struct hold *x)
{
	if (x->kind == HOLD_SKIP)
		return holds_is_skipped(h, x->component, x->version);
	const struct hold *p = holds_pin(h, x->component);
	return p && strcmp(p->version, x->version) == 0;
}

/* The holds a commit added and removed, made again on r (the remote's
 * content). 1 with *why when it cannot be made (a second pin). */
static int merge_holds(const char *name, const struct sbuf *p, const struct sbuf *c,
		       const struct sbuf *r, struct sbuf *out, char **why, struct tally_err *err)
{
	struct holds *hp = NULL, *hc = NULL, *hr = NULL;
	int rc = -1;
	sbuf_add(out, sbuf_str(r), r->len);
	if (holds_parse(name, sbuf_str(p), p->len, NULL, 0, &hp, err) < 0 ||
	    holds_parse(name, sbuf_str(c), c->len, NULL, 0, &hc, err) < 0 ||
	    holds_parse(name, sbuf_str(out), out->len, NULL, 0, &hr, err) < 0)
		goto done;
	for (int pass = 0; pass < 2; pass++) {
		/* pass 0: holds the commit removed; pass 1: holds it added */
		const struct holds *from = pass ? hc : hp, *to = pass ? hp : hc;
		for (size_t i = 0; i < holds_count(from); i++) {
			const struct hold *x = holds_at(from, i);
			if (holds_has(to, x))
				continue;
			struct sbuf tmp = {0};
			int r2 = 0;
			if (!pass) {
				if (!holds_has(hr, x)) {
					sbuf_free(&tmp);
					continue;   /* already gone on the remote */
				}
				r2 = holds_remove(hr, x->kind, x->component, x->version, &tmp, err);
			} else {
				if (holds_has(hr, x)) {
					sbuf_free(&tmp);
					continue;   /* the remote has it too */
				}
				if (x->kind == HOLD_PIN && holds_pin(hr, x->component)) {
					*why = xasprintf("%s: the remote pins %s at %s, this commit pins it at %s",
							 name, x->component, holds_pin(hr, x->component)->version,
							 x->version);
					sbuf_free(&tmp);
					rc = 1;
					goto done;
				}
				r2 = holds_add(hr, x->kind, x->component, x->version,
					       x->reason && *x->reason ? x->reason : NULL, &tmp, err);
			}
			holds_free(hr);
			hr = NULL;
			if (r2 < 0 || holds_parse(name, sbuf_str(&tmp), tmp.len, NULL, 0, &hr, err) < 0) {
				sbuf_free(&tmp);
				goto done;
			}
			sbuf_reset(out);
			sbuf_add(out, sbuf_str(&tmp), tmp.len);
			sbuf_free(&tmp);
		}
	}
	rc = 0;
done:
	holds_free(hp);
	holds_free(hc);
	holds_free(hr);
	return rc;
}

/* The keys a commit changed in a key=value file, changed again on r: only
 * where the remote still has the value the commit moved from (or already
 * the new one). 1 with *why for a key the remote records otherwise. */
static int merge_kv(const char *name, int lenient, int pexists, const struct sbuf *p,
		    const struct sbuf *c, const struct sbuf *r, struct sbuf *out, char **why,
		    struct tally_err *err)
{
	struct vfile *vp = NULL, *vc = NULL, *vr = NULL;
	int rc = -1;
	sbuf_add(out, sbuf_str(r), r->len);
	if ((pexists && versionfile_parse(name, sbuf_str(p), p->len, lenient, &vp, err) < 0) ||
	    versionfile_parse(name, sbuf_str(c), c->len, lenient, &vc, err) < 0 ||
	    versionfile_parse(name, sbuf_str(out), out->len, lenient, &vr, err) < 0)
		goto done;
	for (size_t i = 0; i < versionfile_count(vc); i++) {
		const char *key = versionfile_key_at(vc, i), *cv = versionfile_value_at(vc, i);
		const char *pv = vp ? versionfile_get(vp, key) : NULL;
		if (pv && strcmp(pv, cv) == 0)
			continue;
		const char *rv = versionfile_get(vr, key);
		if (rv && strcmp(rv, cv) == 0)
			continue;
		if (!((!rv && !pv) || (rv && pv && strcmp(rv, pv) == 0))) {
			*why = xasprintf("conflict: the remote records %s=%s in %s, this commit moves it from %s to %s",
					 key, rv ? rv : "(none)", name, pv ? pv : "(none)", cv);
			rc = 1;
			goto done;
		}
		struct sbuf tmp = {0};
		if (versionfile_set(vr, key, cv, &tmp, err) < 0) {
			sbuf_free(&tmp);
			goto done;
		}
		versionfile_free(vr);
		vr = NULL;
		sbuf_reset(out);
		sbuf_add(out, sbuf_str(&tmp), tmp.len);
		sbuf_free(&tmp);
		if (versionfile_parse(name, sbuf_str(out), out->len, lenient, &vr, err) < 0)
			goto done;
	}
	rc = 0;
done:
	versionfile_free(vp);
	versionfile_free(vc);
	versionfile_free(vr);
	return rc;
}

/* Is path a version file (strict) or only a recordAlso file (lenient)?
 * -1 when tally's config does not own it as a key=value file. */
static int kv_lenient(const struct tally_conf *conf, const char *path)
{
	int lenient = -1;
	for (size_t i = 0; i < conf->ncomps; i++) {
		if (strcmp(conf->comps[i].file, path) == 0)
			return 0;
		for (size_t j = 0; j < conf->comps[i].nrecord_also; j++)
			if (strcmp(conf->comps[i].record_also[j].file, path) == 0)
				lenient = 1;
	}
	return lenient;
}

/* Makes one of tally's commits again on top of onto: the same message, and
 * each file it changed changed the same way on onto's content. Returns 0
 * with *out, 1 with *why when it does not apply there (the remote records
 * another value, or holds the version), -1 on error. */
static int reapply_one(git_repository *repo, const struct tally_conf *conf, git_commit *ours,
		       git_commit *onto, git_oid *out, char **why, struct tally_err *err)
{
	git_commit *parent = NULL;
	git_tree *pt = NULL, *ct = NULL;
	git_diff *diff = NULL;
	struct change c = {0};
	struct holds *h = NULL;
	int rc = -1;
	if (git_commit_parent(&parent, ours, 0) < 0 || git_commit_tree(&pt, parent) < 0 ||
	    git_commit_tree(&ct, ours) < 0 || git_diff_tree_to_tree(&diff, repo, pt, ct, NULL) < 0) {
		tally_err_set(err, TC_RECORD, "cannot read the unpushed commit: %s", repo_git_error());
		goto out;
	}
	int m = 0;
	for (size_t i = 0; i < git_diff_num_deltas(diff) && m == 0; i++) {
		const char *path = git_diff_get_delta(diff, i)->new_file.path;
		struct sbuf p = {0}, cur = {0}, r = {0}, merged = {0};
		int pe = 0, ce = 0, re = 0;
		if (repo_read_at(repo, parent, path, &p, &pe, err) < 0 ||
		    repo_read_at(repo, ours, path, &cur, &ce, err) < 0 ||
		    repo_read_at(repo, onto, path, &r, &re, err) < 0) {
			m = -1;
		} else if (!ce) {
			*why = xasprintf("%s: the commit deletes it", path);
			m = 1;
		} else if (same_bytes(re, &r, pe, &p)) {
			sbuf_add(change_edit(&c, path), sbuf_str(&cur), cur.len);
		} else if (same_bytes(re, &r, ce, &cur)) {
			/* the remote has this file as the commit made it */
		} else if (strcmp(path, conf->holds_file) == 0) {
			m = merge_holds(path, &p, &cur, &r, &merged, why, err);
		} else if (kv_lenient(conf, path) >= 0) {
			m = merge_kv(path, kv_lenient(conf, path), pe, &p, &cur, &r, &merged, why, err);
		} else {
			*why = xasprintf("%s: changed on the remote too", path);
			m = 1;
		}
		if (m == 0 && merged.len)
			sbuf_add(change_edit(&c, path), sbuf_str(&merged), merged.len);
		sbuf_free(&p);
		sbuf_free(&cur);
		sbuf_free(&r);
		sbuf_free(&merged);
	}
	if (m != 0) {
		rc = m;
		goto out;
	}
	/* a record must not land on a remote that holds its version */
	const char *msg = git_commit_message(ours);
	char *action = repo_trailer(msg, "Tally-Action"), *comp = repo_trailer(msg, "Tally-Component");
	char *version = repo_trailer(msg, "Tally-Version");
	int is_record = action && (!strcmp(action, "ship") || !strcmp(action, "rebuild") ||
				   !strcmp(action, "reset") || !strcmp(action, "adopt"));
	if (is_record && comp && version) {
		struct sbuf raw = {0};
		int exists = 0;
		const struct sbuf *hs = NULL;
		for (size_t i = 0; i < c.nedits; i++)
			if (strcmp(c.edits[i].path, conf->holds_file) == 0)
				hs = &c.edits[i].content;
		if (!hs && repo_read_at(repo, onto, conf->holds_file, &raw, &exists, err) == 0)
			hs = &raw;
		if (hs && holds_parse(conf->holds_file, sbuf_str(hs), hs->len, NULL, 0, &h, err) == 0) {
			const struct hold *pin = holds_pin(h, comp);
			if (holds_is_skipped(h, comp, version))
				*why = xasprintf("%s %s is skipped on the remote", comp, version);
			else if (pin && !strcmp(action, "ship"))
				*why = xasprintf("%s is pinned at %s on the remote", comp, pin->version);
			else if (pin && !strcmp(action, "rebuild") && strcmp(pin->version, version) != 0)
				*why = xasprintf("%s is pinned at %s on the remote", comp, pin->version);
		}
		sbuf_free(&raw);
	}
	if (action && !strcmp(action, "pin") && comp && version) {
		/* a pin holds the record it was made at: not one the remote moved */
		for (size_t i = 0; i < conf->ncomps; i++) {
			if (strcmp(conf->comps[i].name, comp) != 0)
				continue;
			struct vfile *vf = NULL;
			struct tally_err verr = {0};
			if (load_vfile(repo, onto, conf->comps[i].file, 0, &vf, &verr) == 0) {
				const char *rv = versionfile_get(vf, conf->comps[i].key);
				if (rv && strcmp(rv, version) != 0)
					*why = xasprintf("the remote records %s=%s, this pin holds %s", conf->comps[i].key,
							 rv, version);
			}
			versionfile_free(vf);
		}
	}
	free(action);
	free(comp);
	free(version);
	if (*why) {
		rc = 1;
		goto out;
	}
	if (err->msg[0])
		goto out;
	sbuf_add(&c.message, msg, strlen(msg));
	rc = make_commit(repo, onto, conf, &c, out, err) < 0 ? -1 : 0;
out:
	holds_free(h);
	change_free(&c);
	git_diff_free(diff);
	git_tree_free(pt);
	git_tree_free(ct);
	git_commit_free(parent);
	return rc;
}

/* The local branch has tally's own commits the remote never saw, and the
 * remote moved meanwhile (a push rejected earlier, a kill before the push,
 * then a commit from elsewhere): make them again on the remote head, as for
 * a rejected push. A commit that no longer applies (the remote records
 * another value, or holds the version) is dropped and said so in report.
 * A local commit that is not tally's is an error: the branch diverged. */
static int reapply_local(git_repository *repo, const struct tally_conf *conf, const char *refname,
			 git_oid *local, const git_oid *remote, struct strv *report,
			 struct tally_err *err)
{
	const char *branch = branch_short(refname);
	git_oid base;
	git_revwalk *w = NULL;
	git_oid *list = NULL;
	size_t n = 0, cap = 0;
	git_commit *onto = NULL;
	int rc = -1;
	char lh[GIT_OID_HEXSZ + 1], rh[GIT_OID_HEXSZ + 1];
	repo_oid_hex(local, lh);
	repo_oid_hex(remote, rh);
	if (git_merge_base(&base, repo, local, remote) < 0 || git_revwalk_new(&w, repo) < 0 ||
	    git_revwalk_sorting(w, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE) < 0 ||
	    git_revwalk_push(w, local) < 0 || git_revwalk_hide(w, &base) < 0) {
		tally_err_set(err, TC_RECORD,
			      "%s has diverged from %s/%s (local %.12s, remote %.12s) with no common commit; merge or reset it by hand",
			      refname, conf->remote, branch, lh, rh);
		goto out;
	}
	git_oid oid;
	while (git_revwalk_next(&oid, w) == 0) {
		git_commit *c = NULL;
		if (git_commit_lookup(&c, repo, &oid) < 0) {
			tally_err_set(err, TC_RECORD, "cannot read commit: %s", repo_git_error());
			goto out;
		}
		int mine = is_tally_commit(c);
		git_commit_free(c);
		if (!mine) {
			char oh[GIT_OID_HEXSZ + 1];
			repo_oid_hex(&oid, oh);
			tally_err_set(err, TC_RECORD,
				      "%s has diverged from %s/%s (local %.12s, remote %.12s): local commit %.12s is not tally's; merge or reset it by hand",
				      refname, conf->remote, branch, lh, rh, oh);
			goto out;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			list = xrealloc(list, cap * sizeof *list);
		}
		list[n++] = oid;
	}
	if (git_commit_lookup(&onto, repo, remote) < 0) {
		tally_err_set(err, TC_RECORD, "cannot read the remote head: %s", repo_git_error());
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		git_commit *ours = NULL;
		git_oid made;
		char *why = NULL;
		if (git_commit_lookup(&ours, repo, &list[i]) < 0) {
			tally_err_set(err, TC_RECORD, "cannot read commit: %s", repo_git_error());
			goto out;
		}
		int r = reapply_one(repo, conf, ours, onto, &made, &why, err);
		if (r == 1) {
			char oh[GIT_OID_HEXSZ + 1];
			repo_oid_hex(&list[i], oh);
			const char *subj = git_commit_summary(ours);
			strv_push_owned(report,
					xasprintf("unpushed commit %.12s (%s) dropped: %s; nothing overwritten on %s (resolve by hand if it should stand)",
						  oh, subj ? subj : "", why, conf->remote));
		}
		free(why);
		git_commit_free(ours);
		if (r < 0)
			goto out;
		if (r == 0) {
			git_commit_free(onto);
			onto = NULL;
			if (git_commit_lookup(&onto, repo, &made) < 0) {
				tally_err_set(err, TC_RECORD, "cannot read commit: %s", repo_git_error());
				goto out;
			}
		}
	}
	const git_oid *head = git_commit_id(onto);
	crashpoint("before-reapply-ref");
	if (move_ref(repo, refname, local, head, "tally: re-apply on remote", err) < 0)
		goto out;
	crashpoint("after-reapply-ref");
	struct tally_err cerr = {0};
	if (checkout_to(repo, head, local, &cerr) < 0)
		/* the branch moved (the commit point passed); the next start
		 * repairs the working tree */
		strv_push_owned(report, xasprintf("re-applied on %s, but the working tree was not updated (%s); the next start repairs it",
						  conf->remote, cerr.msg));
	*local = *head;
	rc = 0;
out:
	git_commit_free(onto);
	free(list);
	git_revwalk_free(w);
	return rc;
}

int recorder_sync(const char *repo_dir, const struct tally_conf *conf, int log_fd,
		  int cancel_fd, struct strv *report, struct tally_err *err)
{
	if (!conf->git_push)
		return 0;
	git_repository *repo = NULL;
	char *refname = NULL;
	int rc = -1;
	pthread_mutex_lock(&recorder_mu);
	if (repo_open(repo_dir, &repo, err) < 0 || repo_branch_ref(repo, conf->branch, &refname, err) < 0)
		goto out;
	const char *branch = branch_short(refname);
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
		owned_files(conf, &files);
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
		if (move_ref(repo, refname, &local, &remote, "tally: fast-forward", err) < 0 ||
		    checkout_to(repo, &remote, &local, err) < 0)
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
	pthread_mutex_unlock(&recorder_mu);
	free(refname);
	git_repository_free(repo);
	return rc;
}
