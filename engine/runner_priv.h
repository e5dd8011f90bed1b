/* runner_priv.h - between runner.c (one command) and runtrack.c (the
 * record of running process groups): a command's group is recorded from
 * fork to reap. Called from any worker thread running a command. */
#ifndef TALLY_RUNNER_PRIV_H
#define TALLY_RUNNER_PRIV_H

#include <sys/types.h>

#include "runner.h"

/* Records the group of pid (its leader) while tracking is on. */
void runner_track_begin(pid_t pid);
/* Forgets it once the command was reaped. */
void runner_track_end(pid_t pid);

#endif
