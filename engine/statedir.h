/* statedir.h - where tally keeps its state for one versions repo, and the
 * lock that makes one engine control that repo.
 *
 * The state directory is tally.stateDir, --state-dir or $TALLY_STATE_DIR,
 * else $XDG_STATE_HOME/tally/<repo-name>-<hash> (XDG_STATE_HOME defaults to
 * ~/.local/state), with <hash> the first 12 hex digits of the SHA-1 of the
 * repo's real path. It is created 0700 (0750 with tally.group).
 *
 * The lock is tally.lock in the repo's git directory: flock(LOCK_EX), opened
 * O_CLOEXEC so no build started by the engine keeps it. While held, the file
 * names the engine's pid and socket path. */
#ifndef TALLY_STATEDIR_H
#define TALLY_STATEDIR_H

#include "err.h"

/* Caller frees. override (may be NULL) wins over everything. */
char *statedir_path(const char *repo_root, const char *override, const char *conf_value);
/* Creates dir and logs/ with the right modes: 0700, or with group (may be
 * NULL) 2750 owned by that group, so that what tally creates inside is the
 * group's to read. */
int statedir_ensure(const char *dir, const char *group, struct tally_err *err);
/* Opens STATE/logs/NAME for appending (O_CLOEXEC, 0600); when it is over
 * max bytes it first becomes NAME.1 (the one before is dropped), so a log
 * tally keeps for itself stays bounded. -1 with errno when it cannot. */
int statedir_open_log(const char *dir, const char *name, long max);

/* The engine's files in the state directory dir (caller frees): the last
 * check of every component, the schedule's memory, the pause flag, and the
 * log of one attempt (logs/COMPONENT/ATTEMPT.log). */
enum statedir_file { SF_CHECKS = 0, SF_SCHEDULE, SF_PAUSED };
char *statedir_file(const char *dir, enum statedir_file f);
char *statedir_attempt_log(const char *dir, const char *component, const char *attempt);

struct tally_lock;
/* Takes the lock without waiting. Returns 0, or -1 with err; *busy is set to 1
 * when another process holds it (exit 3). socket_path is written into the
 * lock file for clients to find. */
int statedir_lock(const char *git_dir, const char *socket_path, struct tally_lock **out,
		  int *busy, struct tally_err *err);
void statedir_unlock(struct tally_lock *lk);
/* Reads the pid and socket path of the holder (caller frees *socket_path). */
int statedir_lock_info(const char *git_dir, long *pid, char **socket_path);

#endif
