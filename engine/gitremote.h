/* gitremote.h - the recorder's work with tally.remote (SPEC section 3):
 * git fetch and git push run through the runner (timeouts, cancel, the
 * operator's credential helpers), pushing a new record or hold commit with
 * re-apply on the remote head after a rejection, and the sync before a run
 * (fetch, fast-forward, push what waits, re-apply tally's own unpushed
 * commits on a remote that moved: reapply.c).
 *
 * Threads: none of its own; git runs as a child process of the calling
 * thread. Called only by recorder.c under the recorder's mutex (which is
 * held across the push: the engine must not call the recorder from its
 * own thread). */
#ifndef TALLY_GITREMOTE_H
#define TALLY_GITREMOTE_H

#include <git2.h>

#include "commit.h"
#include "config.h"
#include "err.h"
#include "recorder.h"
#include "util.h"

/* With gitPush, after the commit point: pushes *head (the new head of
 * refname, made from c, which compute(arg) made on the previous head).
 * A rejected push is made again on the remote head (compute on it), unless
 * the remote records another value of cc's key (cc may be NULL: holds) or
 * the change no longer applies there; then our unpushed commit is undone
 * and -1 returned with err (res->commit emptied). Otherwise 0, with
 * res->pushed, or res->push_error saying why it waits. res->commit follows
 * a re-applied head. */
int gitremote_push_change(git_repository *repo, const struct tally_conf *conf,
			  const char *refname, git_oid *head, const struct change *c,
			  compute_fn compute, const void *arg, const struct comp_conf *cc,
			  int log_fd, int cancel_fd, struct recorder_result *res,
			  struct tally_err *err);
/* What recorder_sync() does (recorder.h). */
int gitremote_sync(const char *repo_dir, const struct tally_conf *conf, int log_fd,
		   int cancel_fd, struct strv *report, struct tally_err *err);

#endif
