/* repo.h - read-only helpers over libgit2 for the versions repo. A
 * git_repository handle belongs to one thread; open one per thread. */
#ifndef TALLY_REPO_H
#define TALLY_REPO_H

#include <git2.h>

#include "err.h"
#include "util.h"

/* Opens the repository containing dir (or dir itself). Caller frees with
 * git_repository_free. Calls git_libgit2_init once per process. */
int repo_open(const char *dir, git_repository **out, struct tally_err *err);
/* "refs/heads/<branch>": the configured branch, else the one HEAD names.
 * Caller frees. */
int repo_branch_ref(git_repository *repo, const char *branch, char **refname,
		    struct tally_err *err);
/* The branch name of "refs/heads/<branch>" (other refnames as they are). */
const char *repo_branch_short(const char *refname);
/* The commit the branch points at; *out NULL when the branch has no commit
 * yet. Caller frees with git_commit_free. */
int repo_branch_commit(git_repository *repo, const char *refname, git_commit **out,
		       struct tally_err *err);
/* Reads path from commit's tree (commit may be NULL: then *exists = 0). */
int repo_read_at(git_repository *repo, const git_commit *commit, const char *path,
		 struct sbuf *out, int *exists, struct tally_err *err);
/* Blob id of path in commit, or zero oid (returns 1 when found, 0 when not). */
int repo_blob_id(git_repository *repo, const git_commit *commit, const char *path, git_oid *out);
/* Value of a trailer ("Tally-Digest") in a commit message; caller frees.
 * NULL when absent. With several lines, the first. */
char *repo_trailer(const char *message, const char *name);
/* Working-tree path of a repo-relative file. Caller frees. */
char *repo_workpath(git_repository *repo, const char *relpath);
void repo_oid_hex(const git_oid *oid, char hex[GIT_OID_HEXSZ + 1]);
/* Message of libgit2's last error (never NULL). */
const char *repo_git_error(void);

#endif
