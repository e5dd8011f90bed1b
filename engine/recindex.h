/* recindex.h - the record commits (ship, rebuild, reset, adopt with a valid
 * Tally-Version) of every component on the branch, newest first, from one
 * history walk shared by all components. Kept up to date by walking only
 * the commits added on top of the head it last saw (a head that is not a
 * descendant - a reset branch - is walked again from scratch). Without it,
 * every component's lookup walked the history from the head, and a
 * component whose record was not made by tally walked all of it. One index
 * belongs to one thread (it uses that thread's git_repository). */
#ifndef TALLY_RECINDEX_H
#define TALLY_RECINDEX_H

#include <git2.h>
#include <stddef.h>

#include "err.h"
#include "util.h"

struct recindex_rec {
	char *version, *digest, *action, *recipe; /* digest, recipe may be NULL */
	struct strv bases;                        /* Tally-Base: image@digest */
	char commit[GIT_OID_HEXSZ + 1];
	long long time;
};

struct recindex;

/* The copy in the state directory is rewritten by recindex_update once this
 * many commits were walked since it was written. */
#define RECINDEX_SAVE_AFTER 64

struct recindex *recindex_new(void);
/* A new index from STATE/recindex, the copy an earlier process saved (the
 * next update walks only the commits on top of its head; from scratch when
 * that head is not an ancestor of the branch any more). A missing copy
 * gives an empty index; an unreadable or corrupt one too, with a warning
 * pushed onto warnings (may be NULL). state_dir NULL: no copy at all. */
struct recindex *recindex_load(const char *state_dir, struct strv *warnings);
/* Writes the copy now (recindex_update also does, see above). 0 or -1. */
int recindex_save(struct recindex *ri, struct tally_err *err);
/* Commits walked since the copy was read or written (for tests). */
size_t recindex_walked(const struct recindex *ri);
void recindex_free(struct recindex *ri);
/* Brings the index to the branch's head; 0, or -1 when the branch cannot
 * be read (the index is then empty). */
int recindex_update(struct recindex *ri, git_repository *repo, const char *refname);
/* The records of component, newest first: *n of them (owned by the index,
 * valid until the next update). */
const struct recindex_rec *recindex_of(const struct recindex *ri, const char *component, size_t *n);

#endif
