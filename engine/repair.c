/* repair.c - start-up mending of the versions repo (see repair.h). Writes
 * working-tree files only through worktree.c; makes no commits. No threads
 * of its own. */
#include "repair.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <git2.h>

#include "commit.h"
#include "crashpoint.h"
#include "repo.h"
#include "worktree.h"

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

int repair_stale_locks(const char *repo_dir, const struct tally_conf *conf, struct strv *report)
{
	git_repository *repo = NULL;
	char *refname = NULL;
	struct tally_err err = {0};
	if (repo_open(repo_dir, &repo, &err) < 0 || repo_branch_ref(repo, conf->branch, &refname, &err) < 0) {
		git_repository_free(repo);
		return -1;
	}
	const char *branch = repo_branch_short(refname);
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
		int changed = !same_content(xexists, &at_x, pexists, &at_p);
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
		if (changed && same_content(wexists, work, pexists, &at_p)) {
			found = 1;
			break;
		}
	}
	if (x != head)
		git_commit_free(x);
	sbuf_free(&at_x);
	return found;
}

int repair_worktree(const char *repo_dir, const struct tally_conf *conf, struct strv *report,
		    struct tally_err *err)
{
	git_repository *repo = NULL;
	char *refname = NULL;
	git_commit *head = NULL, *parent = NULL, *moved_from = NULL;
	struct strv files = {0};
	int rc = -1;

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
	worktree_owned_files(conf, &files);
	struct change fix = {0};
	for (size_t i = 0; i < files.n; i++) {
		char *wp = repo_workpath(repo, files.v[i]);
		worktree_remove_temp_files(wp);
		struct sbuf work = {0}, at_head = {0}, at_parent = {0};
		int wexists = util_read_file(wp, &work, NULL) == 0;
		int hexists = 0, pexists = 0, mexists = 0;
		repo_read_at(repo, head, files.v[i], &at_head, &hexists, NULL);
		if (parent)
			repo_read_at(repo, parent, files.v[i], &at_parent, &pexists, NULL);
		int same_head = same_content(wexists, &work, hexists, &at_head);
		int same_parent = parent && same_content(wexists, &work, pexists, &at_parent);
		if (!same_head && !same_parent && moved_from) {
			struct sbuf at_moved = {0};
			repo_read_at(repo, moved_from, files.v[i], &at_moved, &mexists, NULL);
			same_parent = same_content(wexists, &work, mexists, &at_moved);
			sbuf_free(&at_moved);
		}
		if (!same_head && !same_parent && hexists)
			same_parent = lags_by_tally(repo, head, files.v[i], wexists, &work);
		if (!same_head && same_parent && !hexists) {
			/* tally's move took the file away (a rolled-back record
			 * that had created it) */
			worktree_remove(repo, files.v[i]);
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
		if (worktree_write(repo, &one, NULL, &werr) < 0)
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
		worktree_checkout(repo, git_commit_id(head), git_commit_id(moved_from), &cerr);
	}
out:
	strv_free(&files);
	git_commit_free(moved_from);
	git_commit_free(parent);
	git_commit_free(head);
	free(refname);
	git_repository_free(repo);
	return rc;
}
