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

#include "util.h"

struct recindex_rec {
	char *version, *digest, *action, *recipe; /* digest, recipe may be NULL */
	struct strv bases;                        /* Tally-Base: image@digest */
	char commit[GIT_OID_HEXSZ + 1];
	long long time;
};

struct recindex;

struct recindex *recindex_new(void);
void recindex_free(struct recindex *ri);
/* Brings the index to the branch's head; 0, or -1 when the branch cannot
 * be read (the index is then empty). */
int recindex_update(struct recindex *ri, git_repository *repo, const char *refname);
/* The records of component, newest first: *n of them (owned by the index,
 * valid until the next update). */
const struct recindex_rec *recindex_of(const struct recindex *ri, const char *component, size_t *n);

#endif
