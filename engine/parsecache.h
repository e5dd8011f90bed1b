/* parsecache.h - parsed version files and the holds file of the versions
 * repo, cached by blob id, so that a pass over every component (start,
 * status, verify, a finished check) parses each file once, not once per
 * component. An entry is reused while the file's blob id in the commit
 * asked about is the one it was parsed from; a file that fails to parse is
 * cached with its message, so every component of a broken file reports the
 * same error without parsing it again. One cache belongs to one thread (it
 * uses that thread's git_repository). */
#ifndef TALLY_PARSECACHE_H
#define TALLY_PARSECACHE_H

#include <git2.h>

#include "err.h"
#include "holds.h"
#include "versionfile.h"

struct parsecache;

struct parsecache *parsecache_new(void);
void parsecache_free(struct parsecache *pc);
/* The parsed version file path in commit (a missing file, or a NULL
 * commit, is an empty file). *out is owned by the cache and valid until the
 * next call for the same path. */
int parsecache_vfile(struct parsecache *pc, git_repository *repo, const git_commit *commit,
		     const char *path, int lenient, const struct vfile **out, struct tally_err *err);
/* The parsed holds file path in commit, checked against the known names
 * (the same list on every call for one cache). Owned by the cache, valid
 * until the next call; holds_ref it to keep it longer. */
int parsecache_holds(struct parsecache *pc, git_repository *repo, const git_commit *commit,
		     const char *path, const char *const *known, size_t nknown,
		     struct holds **out, struct tally_err *err);

#endif
