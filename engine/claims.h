/* claims.h - one build host at a time per component, agreed through the
 * versions repository's remote (SPEC section 15). No other server.
 *
 * A claim is the ref refs/tally/claims/COMPONENT on the remote, pointing at
 * a commit (empty tree, never on a branch) whose message carries
 * Tally-Host, Tally-Attempt, Tally-Version and Tally-Expires trailers.
 * Every change of the ref is a compare-and-swap made by the remote's
 * atomic ref update (git push --force-with-lease=REF:EXPECTED):
 *   take:     create it, expecting none;
 *   takeover: replace an expired claim, expecting its old commit;
 *   release:  delete our claim, expecting our commit.
 * So of two hosts racing for one component exactly one wins, and a claim
 * another host took over is never deleted by the old holder.
 *
 * Threads: these functions block on the network (git through the runner);
 * they are called from an attempt thread (around the attempt, attempts.c)
 * or the repo worker, never the engine thread.
 * They keep no state between calls. */
#ifndef TALLY_CLAIMS_H
#define TALLY_CLAIMS_H

#include "err.h"

struct claims_ctx {
	const char *repo_dir;       /* a clone; claim commits are made in its object store */
	const char *remote;         /* its remote's name (tally.remote) */
	int net_timeout;            /* idle seconds for network git (tally.networkTimeout) */
	char *const *pass_env;      /* tally.passEnv; may be NULL */
	int log_fd;                 /* git's output also goes here; -1: nowhere */
	int cancel_fd;              /* readable: give up; -1: none */
};

struct claim {
	char *component, *host, *attempt, *version;
	long long expires;          /* epoch seconds */
	char oid[41];               /* the claim commit */
};

enum claim_outcome {
	CLAIM_OURS = 0,             /* the component is ours to build (mine filled) */
	CLAIM_HELD = 1,             /* another host's live claim (other filled) */
};

void claim_free(struct claim *c);

/* The remote's claim of component: *found is 0 when there is none. -1 when
 * the remote could not be read (err: class network, record or input). */
int claims_read(const struct claims_ctx *cx, const char *component, struct claim *out, int *found,
		struct tally_err *err);

/* Claims component for host's attempt at version until now + ttl_s.
 * Returns CLAIM_OURS (mine holds our claim, for claims_release), CLAIM_HELD
 * (other holds the live claim of another host, or of this host's other
 * attempt), or -1 (err; nothing was claimed, so build nothing). An expired
 * claim is taken over; a claim of this very attempt is ours again (a
 * retried take after a lost answer). */
int claims_take(const struct claims_ctx *cx, const char *component, const char *host, const char *attempt,
		const char *version, long long now, long long ttl_s, struct claim *mine, struct claim *other,
		struct tally_err *err);

/* Deletes our claim, if it is still the remote's (compare-and-swap on
 * mine->oid). A claim that is gone or was taken over is left alone: 0
 * either way; -1 only when the remote could not be reached (the claim then
 * expires by itself). */
int claims_release(const struct claims_ctx *cx, const struct claim *mine, struct tally_err *err);

/* The ref of component's claim ("refs/tally/claims/NAME"); NULL when the
 * name cannot be a ref name. Caller frees. */
char *claims_ref(const char *component);

/* A claim commit's message, and back (pure; for tests and history). */
char *claims_message(const struct claim *c);
int claims_parse(const char *component, const char *message, struct claim *out, struct tally_err *err);

#endif
