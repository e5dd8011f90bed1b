/* engine.h - the engine: owns all component state and makes every decision
 * on its own thread. Front ends talk to it only with messages:
 *
 *   commands: JSON objects {"cmd": NAME, "id": N, "components": [..], ...}
 *     status                          one "status" event per component
 *     check                           one "check" event per component
 *     run      dry_run no_push version ship candidates
 *     retry                           the last failed attempt, now
 *     rebuild  all version            ship the recorded version (or V) again
 *     reset    version no_build no_pin move the record to an older version
 *     skip     version reason         never build VERSION
 *     unskip   version
 *     pin      reason / unpin
 *     verify   strict                 "verify" events; exit 4 on a mismatch
 *     adopt    all                    give records made before tally their
 *                                     evidence ("record" action adopt, or a
 *                                     "note" when there is nothing to do)
 *     history  limit                  "record"/"hold" events from git log
 *     attempts limit                  "attempt" events from the ledger
 *     logs     attempt                a "logfile" event with the path
 *     pause / resume                  the schedule
 *     shipped                         "shipped" events: versions that shipped
 *                                     before with their digest (reset offers)
 *   events:   JSON objects {"schema": 1, "event": ..., ...} as in SPEC
 *             section 8, plus {"event": "log", ...} chunks of live output
 *             and {"event": "done", "id": N, "exit": code} after the
 *             summary of each command.
 *
 * The same objects travel over the engine socket, so attaching to a running
 * engine is a transport, not a rewrite. */
#ifndef TALLY_ENGINE_H
#define TALLY_ENGINE_H

#include <jansson.h>

#include "config.h"
#include "err.h"

struct engine_opts {
	const char *dir;          /* -C DIR, $TALLY_REPO or "." */
	const char *config_path;  /* NULL: <repo root>/tally.conf */
	const char *state_dir;    /* --state-dir; NULL: statedir.c rules */
};

struct engine;

/* Finds the repo, loads the config, takes the lock (*busy = 1 when another
 * engine holds it), repairs an interrupted record. Caller frees. */
int engine_open(const struct engine_opts *o, struct engine **out, int *busy,
		struct tally_err *err);
/* Starts the engine thread (signals blocked in it and every worker). */
int engine_start(struct engine *e);
/* Queues a command (takes the reference). */
void engine_submit(struct engine *e, json_t *cmd);
/* Next event, waiting up to timeout_ms (-1: forever); NULL on timeout.
 * Caller decrefs. */
json_t *engine_next_event(struct engine *e, int timeout_ms);
/* Readable while events are queued (for poll loops). */
int engine_event_fd(struct engine *e);
/* Before engine_start: whether attempts send their output as "log" events
 * (default on; a batch command that prints no output turns it off). */
void engine_set_live_logs(struct engine *e, int on);
/* Before engine_start: run the schedule (tally serve). */
void engine_serve(struct engine *e);
/* Stops scheduling and new work, waits up to grace seconds for running
 * attempts, then cancels them (a cancelled attempt never records) and waits
 * for the engine thread. Returns 1 when it had to cancel. Events emitted
 * meanwhile stay readable. */
int engine_shutdown(struct engine *e, double grace);
/* Commands in flight, from every front end (any thread). */
int engine_jobs(struct engine *e);
/* Cancels running attempts (none of them records). */
void engine_cancel(struct engine *e);
/* Stops the thread after the commands in flight, releases the lock. */
void engine_free(struct engine *e);

const struct tally_conf *engine_conf(const struct engine *e);
/* 1 for commands that change nothing (status, history, attempts, logs,
 * shipped): a watch connection may send these. */
int engine_command_reads_only(const char *name);
/* {repo, branch, theme, state_dir, paused} for a front end's header. Any
 * thread. Caller decrefs. */
json_t *engine_describe(struct engine *e);
const char *engine_socket_path(const struct engine *e);
const char *engine_state_dir(const struct engine *e);
const char *engine_root(const struct engine *e);

/* Where the engine of a repo would be, without loading anything or taking
 * the lock: the repo root, its git dir, and the pid and socket the lock
 * file names (those of the last engine; attach to find out if it lives). */
struct engine_location {
	char *root, *git_dir, *socket_path;
	long pid;
};
int engine_locate(const struct engine_opts *o, struct engine_location *loc, struct tally_err *err);
void engine_location_free(struct engine_location *loc);
/* Warnings from opening (repairs, ledger lines skipped). */
const struct strv *engine_warnings(const struct engine *e);

#endif
