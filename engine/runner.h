/* runner.h - runs one command from argv with execve (never a shell).
 *
 * The child gets its own process group, stdin from /dev/null (or stdin_data),
 * and stdout and
 * stderr on one pipe; the runner copies everything to log_fd (when >= 0) and
 * hands each chunk to on_output (when set) in the calling thread. A timeout
 * or a cancel sends SIGTERM to the whole group, then SIGKILL after
 * kill_grace seconds. The program is looked up in PATH by the runner before
 * fork (no shell, no execvp in the child). Every fd tally opens is
 * O_CLOEXEC, so the child inherits only 0, 1, 2. */
#ifndef TALLY_RUNNER_H
#define TALLY_RUNNER_H

#include <stddef.h>

#include "err.h"
#include "util.h"

struct run_opts {
	char *const *argv;          /* argv[0] is looked up in PATH unless it has a '/' */
	const char *cwd;            /* NULL: inherit */
	char *const *env_add;       /* "NAME=value" entries added to (overriding) environ; may be NULL */
	/* The command never gets tally's whole environment: only the names
	 * runner_env_passes allows (a fixed list, GIT_* when git_env, and
	 * pass_env: names or "PREFIX*", e.g. tally.passEnv), then env_add. */
	char *const *pass_env;      /* may be NULL */
	int git_env;                /* a git command: GIT_* pass too */
	int log_fd;                 /* -1: discard output */
	int timeout_s;              /* <= 0: none */
	int cancel_fd;              /* -1: none; readable means cancel */
	double kill_grace;          /* seconds between SIGTERM and SIGKILL; 0 means 5 */
	void (*on_output)(void *ctx, const char *data, size_t len);
	void *ctx;
	int tick_ms;                /* > 0: also call on_output(ctx, NULL, 0) at least this often */
	/* Output goes to log_fd (a regular file, not O_APPEND) with splice(2),
	 * never through user space; on_output then gets only the newest
	 * tail_bytes of what arrived since its last call (read back from the
	 * file), and on_output(ctx, NULL, n) with n > 0 for the bytes it did
	 * not get. For chatty builds. Falls back to copying when splice cannot
	 * be used. */
	size_t tail_bytes;
	/* When set, the child's stdin is a pipe holding these bytes, then EOF
	 * (at most 64 KiB: written before fork, so it must fit in the pipe;
	 * for a credential helper's question). */
	const char *stdin_data;
	size_t stdin_len;
	/* Secret values (NULL-terminated; may be NULL): every occurrence in the
	 * output becomes "***" before it reaches log_fd or on_output, also when
	 * a value is split across two reads (mask.h). Output then goes through
	 * user space, not splice. */
	char *const *mask;
};

struct run_result {
	int exited;         /* 1 when the child exited normally */
	int status;         /* exit status when exited, signal number when not */
	int timed_out;
	int cancelled;
	double seconds;     /* wall time */
	int log_errno;      /* errno of the first failed write to log_fd (later output
	                     * is not logged, the command keeps running); 0 if none */
};

/* 0 when the command ran (whatever its exit status: check result), -1 when
 * it could not be started (err says why, e.g. program not found in PATH). */
int runner_run(const struct run_opts *opts, struct run_result *res, struct tally_err *err);

/* From now on, each command's process group is written to STATE/procs/
 * while it runs; first, groups left there by an engine that was killed and
 * still alive (and really ours) are ended, each reported in report. Called
 * by the engine holding the lock, before anything runs. Process-wide. */
int runner_track_start(const char *state_dir, struct strv *report, struct tally_err *err);
void runner_track_stop(void);

/* 1 when the environ entry "NAME=value" reaches a command (see run_opts). */
int runner_env_passes(const char *entry, int git, char *const *pass_env);

/* Resolves prog in PATH like execvp would; caller frees. NULL if not found. */
char *runner_which(const char *prog);

#endif
