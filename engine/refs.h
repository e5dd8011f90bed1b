/* refs.h - image and tag expansion: a component's image, version tags and
 * floating tags (component.N.image, .tag, .floatingTag templates) expanded
 * with an attempt's variables and checked against the OCI grammar. Pure
 * functions (no files, no network, no threads); the pipeline and the
 * engine's verify and floating repair use them through pipeline_refs. */
#ifndef TALLY_REFS_H
#define TALLY_REFS_H

#include <stddef.h>

#include "config.h"
#include "err.h"
#include "template.h"
#include "util.h"

/* The image: cc->image expanded; only [a-z0-9._-/:]. Caller frees *image.
 * Failures are TC_INPUT naming component.N.image. */
int refs_image(const struct comp_conf *cc, const struct tvar *vars, size_t nvars, char **image,
	       struct tally_err *err);
/* The version tags (cc->tags expanded, each a valid OCI tag), appended to
 * tags. Failures are TC_INPUT naming component.N.tag. */
int refs_tags(const struct comp_conf *cc, const struct tvar *vars, size_t nvars,
	      struct strv *tags, struct tally_err *err);
/* The floating tags (cc->floating expanded, each a valid OCI tag),
 * appended to out. Failures are TC_INPUT naming component.N.floatingTag. */
int refs_floating(const struct comp_conf *cc, const struct tvar *vars, size_t nvars,
		  struct strv *out, struct tally_err *err);

#endif
