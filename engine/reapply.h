/* reapply.h - making tally's own unpushed commits again on a remote head
 * that moved (part of the recorder, SPEC section 3): each file a commit
 * changed is changed the same way on the remote's content (holds added and
 * removed, keys moved only where the remote still has the value the commit
 * moved from); a commit that no longer applies is dropped and said so, never
 * forced over the remote.
 *
 * Threads: none of its own. Called by recorder_sync (gitremote.c) under the
 * recorder's mutex, with its git_repository. */
#ifndef TALLY_REAPPLY_H
#define TALLY_REAPPLY_H

#include <git2.h>

#include "config.h"
#include "err.h"
#include "util.h"

/* The local branch refname (at *local) has tally's own commits the remote
 * (at remote) never saw: they are made again on remote and the branch
 * moves there (*local is updated), the working tree following. A commit
 * that no longer applies is a line in report. A local commit that is not
 * tally's is an error: the branch diverged. */
int reapply_local(git_repository *repo, const struct tally_conf *conf, const char *refname,
		  git_oid *local, const git_oid *remote, struct strv *report,
		  struct tally_err *err);

/* Several build hosts: the host that recorded component at version on the
 * history of head (Tally-Host of the newest record commit whose
 * Tally-Component and Tally-Version say so; "another host" when it has no
 * Tally-Host), or NULL when no such record commit is found in the last 1000
 * commits. Caller frees. */
char *reapply_recorded_by(git_repository *repo, const git_oid *head, const char *component,
			  const char *version);

/* The words of a report line (reapply_local, recorder_sync) that says the
 * remote records the same version from another host: not a conflict. */
#define REAPPLY_ELSEWHERE "recorded elsewhere (by "

#endif
