/* repair.h - mending at engine start what a kill left in the versions
 * repo (part of the recorder): git lock files nobody holds, and owned
 * working-tree files that lag behind the branch because a record, a
 * re-apply or a rollback was interrupted after its commit point.
 *
 * Threads: none of its own. Reached only through recorder_repair() and
 * recorder_clear_stale_locks() (recorder.c); the repair runs under the
 * recorder's mutex. Each call opens its own git_repository. */
#ifndef TALLY_REPAIR_H
#define TALLY_REPAIR_H

#include "config.h"
#include "err.h"
#include "util.h"

/* What recorder_clear_stale_locks() and recorder_repair() do (recorder.h). */
int repair_stale_locks(const char *repo_dir, const struct tally_conf *conf, struct strv *report);
int repair_worktree(const char *repo_dir, const struct tally_conf *conf, struct strv *report,
		    struct tally_err *err);

#endif
