/* recorder.h - the only writer of version files, the holds file and
 * recordAlso files, and the only maker of commits (SPEC sections 1 and 3).
 *
 * Every entry point is serial (one process-wide mutex) and opens its own
 * git_repository, so it may be called from any worker thread. A record takes
 * the evidence of a shipped attempt and refuses without it. Before it writes
 * it re-reads the holds at the branch head: a version skipped, or a
 * component pinned, while the attempt ran ends the record with class
 * TC_HELD and nothing written.
 *
 * Commit point: the commit is made from a tree built in memory, then the
 * branch ref is moved with compare-and-swap. Only then are the working-tree
 * files replaced atomically and the index updated. recorder_repair() mends a
 * working tree left behind by a crash between those steps. */
#ifndef TALLY_RECORDER_H
#define TALLY_RECORDER_H

#include <git2.h>

#include "config.h"
#include "err.h"
#include "util.h"

/* RA_ADOPT gives a record made before tally its evidence: a commit with no
 * file change, only for the version already recorded (SPEC section 7). */
enum recorder_action { RA_SHIP = 0, RA_REBUILD, RA_RESET, RA_ADOPT };

/* What a shipped attempt proves. All fields required (adopt: attempt may
 * be NULL, it read the tags back without an attempt). */
struct recorder_evidence {
	const char *attempt;       /* attempt id */
	const char *digest;        /* pushed digest, sha256:<64 hex> */
	char *const *images;       /* every version tag read back with digest, image:tag */
	size_t nimages;
	const char *fingerprint;   /* recipe fingerprint of the attempt */
	char *const *bases;        /* Tally-Base lines, image@digest (may be NULL) */
	size_t nbases;
	char *const *platforms;    /* Tally-Platform lines, "os/arch sha256:..." (may be NULL) */
	size_t nplatforms;
	const char *cause;         /* Tally-Cause; NULL: "upstream V released" for ship, else "operator" */
};

struct recorder_req {
	const struct tally_conf *conf;
	const struct comp_conf *cc;
	const char *repo_dir;
	enum recorder_action action;
	const char *version;
	const struct recorder_evidence *ev;
	char *const *record_also;  /* expanded values, one per cc->record_also */
	int pin;                   /* reset: pin in the same commit */
	const char *pin_reason;
	int log_fd;                /* git push/fetch output goes here (-1: none) */
	int cancel_fd;             /* -1: none */
};

struct recorder_result {
	char commit[GIT_OID_HEXSZ + 1];
	char *previous;            /* record before, NULL when none; caller frees */
	int pushed;                /* 1 when on the remote (or gitPush off) */
	char *push_error;          /* why it is not on the remote yet; caller frees */
	char *worktree_error;      /* recorded, but the working tree lags (repaired at start) */
	int worktree_files;        /* with worktree_error: a file was not written (not only the index) */
};

int recorder_record(const struct recorder_req *req, struct recorder_result *res,
		    struct tally_err *err);

/* Operator holds (SPEC section 3): one commit each, containing only the
 * holds file. */
enum recorder_hold_op { RH_SKIP = 0, RH_UNSKIP, RH_PIN, RH_UNPIN };

struct recorder_hold_req {
	const struct tally_conf *conf;
	const struct comp_conf *cc;
	const char *repo_dir;
	enum recorder_hold_op op;
	const char *version;       /* skip/unskip; ignored for pin (the record) and unpin */
	const char *reason;        /* may be NULL */
	int log_fd, cancel_fd;
};

/* res->previous is unused; *version_out (caller frees) is the version the
 * hold names (the record for a pin). A duplicate skip, an unskip with no
 * such skip, a pin with no record or an unpin without a pin is TC_INPUT. */
int recorder_hold(const struct recorder_hold_req *req, struct recorder_result *res,
		  char **version_out, struct tally_err *err);

/* Startup repair of files tally owns: a file equal to the branch head's
 * parent version (an interrupted record) is rewritten from the head and the
 * index updated; any other difference is reported in report and left. */
int recorder_repair(const char *repo_dir, const struct tally_conf *conf, struct strv *report,
		    struct tally_err *err);

/* At engine start (tally.lock held): removes git lock files of the branch,
 * HEAD, the index, packed-refs and the remote-tracking ref that no process
 * has open (a kill in the middle of a ref or index update leaves them, and
 * every later update would fail); each removal is a line in report. */
int recorder_clear_stale_locks(const char *repo_dir, const struct tally_conf *conf,
			       struct strv *report);

/* With tally.gitPush: fetch the remote branch, fast-forward when tally's
 * files are clean, and push local record commits not on the remote yet.
 * When the remote moved while tally's own commits waited (a rejected push,
 * a kill before the push), they are made again on the remote head and
 * pushed; one that no longer applies (the remote records another value for
 * the key, or holds the version) is dropped with a line in report. A local
 * commit that is not tally's makes a diverged branch an error naming both
 * heads. No-op without gitPush. */
int recorder_sync(const char *repo_dir, const struct tally_conf *conf, int log_fd,
		  int cancel_fd, struct strv *report, struct tally_err *err);

/* The record of a component at the branch head: *value NULL when none.
 * repo is the caller's handle (engine thread). Caller frees *value. */
int recorder_read_record(git_repository *repo, const char *refname, const struct comp_conf *cc,
			 char **value, struct tally_err *err);

void recorder_result_free(struct recorder_result *res);

#endif
