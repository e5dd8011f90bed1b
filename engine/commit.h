/* commit.h - a change to tally's files and the commit made from it (part
 * of the recorder, SPEC section 3). A change is the new content of each
 * file it edits plus the commit message, computed from a base commit; the
 * commit is built from an in-memory tree on that base, and the branch moves
 * to it by compare-and-swap (the commit point). No working-tree file is
 * touched here (worktree.h does that).
 *
 * Threads: none of its own. Called by the recorder's entry points
 * (recorder.c), serialised by the recorder's mutex, with the caller's
 * git_repository. */
#ifndef TALLY_COMMIT_H
#define TALLY_COMMIT_H

#include <git2.h>

#include "config.h"
#include "err.h"
#include "util.h"
#include "versionfile.h"

struct edit {
	char *path;
	struct sbuf content;
};

struct change {
	struct edit *edits;        /* grows: a component may have many recordAlso files */
	size_t nedits, capedits;
	struct sbuf message;
	char *previous;
};

void change_free(struct change *c);
/* The content buffer of path in c, added empty when c has none yet. */
struct sbuf *change_edit(struct change *c, const char *path);

/* Computes a change from base (NULL: the branch has no commit yet), so the
 * same change can be made again on a remote head after a rejected push. */
typedef int (*compute_fn)(git_repository *repo, git_commit *base, const void *arg,
			  struct change *c, struct tally_err *err);

/* The version file path at base (missing: empty), parsed. */
int change_read_vfile(git_repository *repo, git_commit *base, const char *path, int lenient,
		      struct vfile **out, struct tally_err *err);
/* Refuses when a file the change writes has uncommitted changes (working
 * tree or index differ from base) or is ignored by git. */
int change_check_clean(git_repository *repo, const struct change *c, struct tally_err *err);
/* The commit of c on base (the executable bit of a file is kept), made with
 * tally's identity; no ref moves. */
int change_commit(git_repository *repo, git_commit *base, const struct tally_conf *conf,
		  const struct change *c, git_oid *out, struct tally_err *err);
/* The commit point: moves refname from expected (NULL: the branch is new)
 * to new_oid, or fails when somebody else moved it. why goes to the reflog
 * (a "tally:" prefix tells the start-up repair the move was tally's). */
int change_move_ref(git_repository *repo, const char *refname, const git_oid *expected,
		    const git_oid *new_oid, const char *why, struct tally_err *err);

/* 1 when two file states (exists flag and content) are the same. */
int same_content(int ea, const struct sbuf *a, int eb, const struct sbuf *b);

#endif
