/* notify.h - runs tally.notify after an attempt or a hold change
 * (SPEC section 4).
 *
 * The template is split into words (no variables: everything it needs is in
 * its environment) and run through the runner, never a shell, with a 30 s
 * limit. Its output goes to logs/notify.log in the state directory (kept
 * under NOTIFY_LOG_MAX by moving the old file to notify.log.1). A failure
 * is returned to the caller to log and show; it is never fatal and never
 * retried. Blocking: call it from a worker thread, never the engine thread.
 *
 * Environment: TALLY_EVENT (attempt | hold), TALLY_RESULT, TALLY_COMPONENT,
 * TALLY_VERSION, TALLY_PREVIOUS, TALLY_ACTION, TALLY_CLASS, TALLY_HINT,
 * TALLY_EVIDENCE, TALLY_MESSAGE, TALLY_LOG, TALLY_ATTEMPT, TALLY_DIGEST,
 * TALLY_COMMIT, TALLY_REPO; an unknown value is the empty string. */
#ifndef TALLY_NOTIFY_H
#define TALLY_NOTIFY_H

#include "err.h"

#define NOTIFY_TIMEOUT_S 30
#define NOTIFY_LOG_MAX ((long)1 << 20)

struct notify_event {
	const char *event;      /* "attempt" or "hold" */
	const char *result;     /* shipped, failed, cancelled, built; hold: the hold word */
	const char *component, *version, *previous, *action;
	const char *cls, *hint, *evidence, *message;
	const char *log, *attempt, *digest, *commit;
};

/* The NAME=value list the command gets on top of the runner's environment
 * (NULL-terminated; caller frees with template_argv_free). */
char **notify_env(const struct notify_event *ev, const char *repo_root);

/* Runs tmpl once. 0 when it exited 0; -1 with err (class TC_INTERNAL, the
 * message names the command and says how it ended) otherwise. */
int notify_run(const char *tmpl, const char *repo_root, const char *state_dir,
	       const struct notify_event *ev, int cancel_fd, struct tally_err *err);

#endif
