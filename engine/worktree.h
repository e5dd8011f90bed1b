/* worktree.h - the working-tree copy of the files tally owns (version
 * files, recordAlso files, the holds file), kept in step with the branch
 * after the commit point (part of the recorder). Every regular file is
 * replaced atomically (temp file, fsync, rename through atomicfile_write),
 * never truncated in place, so a kill leaves each file at its old or its new
 * content; the start-up repair (repair.c) finishes what a kill left.
 *
 * Threads: none of its own. Called by the recorder's files under the
 * recorder's mutex, with the caller's git_repository. */
#ifndef TALLY_WORKTREE_H
#define TALLY_WORKTREE_H

#include <git2.h>

#include "commit.h"
#include "config.h"
#include "err.h"
#include "util.h"

/* Writes every file of c to the working tree, then updates the index.
 * *index_only (may be NULL) is set when the files were written and only the
 * index update failed (a stale index is mended at start and by the engine). */
int worktree_write(git_repository *repo, const struct change *c, int *index_only,
		   struct tally_err *err);
/* Moves the working tree of the files that changed between from (may be
 * NULL) and target, safely (a file changed by hand stops the whole move
 * before anything is written) and atomically; the index follows. */
int worktree_checkout(git_repository *repo, const git_oid *target, const git_oid *from,
		      struct tally_err *err);
/* Undoes tally's own unpushed commit ours (the head of refname, which the
 * remote never saw): the branch goes back to its parent and the files c
 * wrote get the parent's content again (or are removed). */
int worktree_rollback(git_repository *repo, const char *refname, const git_oid *ours,
		      const struct change *c, struct tally_err *err);
/* Removes path (repo-relative) from the working tree and the index. */
void worktree_remove(git_repository *repo, const char *path);
/* Removes "<path>.tally-tmp.<pid>" files an atomic write killed midway left. */
void worktree_remove_temp_files(const char *path);
/* The files tally owns: version files, recordAlso files, the holds file,
 * each once, pushed to out. */
void worktree_owned_files(const struct tally_conf *conf, struct strv *out);

#endif
