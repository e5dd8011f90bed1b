/* gitnet.h - limits for network git (fetch, push, ls-remote) run through
 * the runner, so that a remote that accepts connections and never answers
 * fails in seconds with class network instead of holding every run
 * (issue 10, defect 8).
 *
 * Through the environment only (git 2.39): GIT_HTTP_LOW_SPEED_LIMIT=1 and
 * GIT_HTTP_LOW_SPEED_TIME=idle (curl gives up when less than 1 byte/s
 * arrived for idle seconds, also while waiting for the first answer), and
 * for ssh GIT_SSH_COMMAND="ssh -o ConnectTimeout=idle -o
 * ServerAliveInterval=... -o ServerAliveCountMax=3" unless the operator
 * chose the ssh command (GIT_SSH_COMMAND, GIT_SSH or core.sshCommand set).
 * The runner's overall timeout stays as the last resort. */
#ifndef TALLY_GITNET_H
#define TALLY_GITNET_H

#include <stddef.h>

#include "err.h"
#include "util.h"

/* Appends the NAME=value entries (owned by env) for a git command run in
 * repo_dir (may be NULL: only the global git config is consulted). */
void gitnet_env(struct strv *env, const char *repo_dir, int idle_s);
/* The class of a failed network git command from its output. */
enum tally_class gitnet_class(int timed_out, const char *out, size_t len);

#endif
