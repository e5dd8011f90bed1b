/* tags.h - tag verify / put / float on tally's own images: reading tags
 * back, putting a manifest under a tag, making a floating tag follow a
 * digest. Shared by the pipeline (an attempt's verify and floating stages)
 * and the engine's verify and floating repair.
 *
 * A registry behind a CDN may answer 404 for a moment after a push (SPEC
 * section 6): what tally itself just pushed or put ("fresh") is read again
 * for up to TAGS_READBACK_WINDOW seconds. Only a 404 is re-read; a
 * different digest never is. Past the window the failure is class verify,
 * never missing-version: the version exists, the registry lags or lost it.
 *
 * No threads of its own: everything runs on the caller's thread with the
 * caller's struct registry. */
#ifndef TALLY_TAGS_H
#define TALLY_TAGS_H

#include "err.h"
#include "registry.h"
#include "util.h"

#define TAGS_READBACK_WINDOW 10.0

struct tags_ctx {
	struct registry *reg;
	const char *image;
	int cancel_fd;                  /* readable: stop waiting; -1: none */
	/* a line for the attempt's log; NULL: none */
	void (*log)(void *lctx, const char *line);
	void *lctx;
	const char *crash_before_put;   /* tags_float: a crashpoint's name before a put; NULL: none */
};

/* Results besides 0 and -1 (err filled, class as the registry said or
 * verify past the window): */
#define TAGS_CANCELLED (-2)         /* cancel_fd became readable while waiting */

/* The digest image:tag reads back as, into got. */
int tags_digest(const struct tags_ctx *t, const char *tag, int fresh,
		char got[REGISTRY_DIGEST_MAX], struct tally_err *err);
/* The manifest image@ref (a tag or digest); body reset first, *mt (caller
 * frees) its media type. */
int tags_manifest(const struct tags_ctx *t, const char *ref, int fresh, struct sbuf *body,
		  char **mt, struct tally_err *err);
/* A (small) blob of image by digest, checked against it: an image config. */
int tags_blob(const struct tags_ctx *t, const char *digest, int fresh, struct sbuf *body,
	      struct tally_err *err);
/* Every tag of tags must read back as digest; logs "verify: I:T = D" for
 * each. A different digest: TC_VERIFY "I:T reads back as X,
 * expected D". A failed read: the registry's error as is. */
int tags_verify(const struct tags_ctx *t, const char *const *tags, size_t n, const char *digest,
		int fresh, struct tally_err *err);
/* Puts the manifest of digest under tag (the same bytes, so the same
 * digest): have/have_mt when the caller holds the manifest already, else
 * it is fetched. Logs "STAGE: I:T -> D". */
int tags_put(const struct tags_ctx *t, const char *digest, const char *tag, const char *stage,
	     const struct sbuf *have, const char *have_mt, struct tally_err *err);
/* Makes tag follow digest: when only_if_off, a tag that already reads back
 * as digest is left alone (*changed 0). Otherwise the manifest of digest
 * (fetched into body and mt when body is empty, kept there for the next tag)
 * is put under tag and read back (fresh: re-read on a 404); a different
 * digest then is TC_VERIFY "I:T reads back as X after the put, expected D". */
int tags_float(const struct tags_ctx *t, const char *tag, const char *digest, int only_if_off,
	       struct sbuf *body, char **mt, int *changed, struct tally_err *err);

#endif
