/* worktree.c - the working-tree copy of tally's files (see worktree.h).
 * The recorder's only writer of working-tree files: every regular file
 * goes through atomicfile_write (its rename is in atomicfile.c). No
 * threads of its own; called under the recorder's mutex. */
#include "worktree.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomicfile.h"
#include "crashpoint.h"
#include "repo.h"

/* The directories above a working-tree path, made when missing. */
static void mkdir_parent(const char *path)
{
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		util_mkdirs(dir, 0755, NULL);
	}
	free(dir);
}

int worktree_write(git_repository *repo, const struct change *c, int *index_only,
		   struct tally_err *err)
{
	if (index_only)
		*index_only = 0;
	for (size_t i = 0; i < c->nedits; i++) {
		char *path = repo_workpath(repo, c->edits[i].path);
		mkdir_parent(path);
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

void worktree_remove_temp_files(const char *path)
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
int worktree_checkout(git_repository *repo, const git_oid *target, const git_oid *from,
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
		worktree_remove_temp_files(wp);   /* of an earlier move that was killed */
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
		int at_target = same_content(wexists, &work, files[i].exists, &files[i].content);
		int at_from = same_content(wexists, &work, wasexists, &was);
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
			mkdir_parent(wp);
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
int worktree_rollback(git_repository *repo, const char *refname, const git_oid *ours,
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
			worktree_remove(repo, c->edits[i].path);
		}
		sbuf_free(&content);
	}
	if (change_move_ref(repo, refname, ours, git_commit_id(parent), "tally: undo unpushed record", err) < 0)
		goto out;
	crashpoint("mid-rollback");
	rc = back.nedits ? worktree_write(repo, &back, NULL, err) : 0;
out:
	change_free(&back);
	git_commit_free(parent);
	git_commit_free(commit);
	return rc;
}

void worktree_remove(git_repository *repo, const char *path)
{
	char *wp = repo_workpath(repo, path);
	unlink(wp);
	free(wp);
	git_index *idx = NULL;
	if (git_repository_index(&idx, repo) == 0) {
		git_index_remove_bypath(idx, path);
		git_index_write(idx);
	}
	git_index_free(idx);
}

void worktree_owned_files(const struct tally_conf *conf, struct strv *out)
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
