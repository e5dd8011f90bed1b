/* bases.h - base images of a component (SPEC section 13): the FROM images
 * of its recipe Dockerfiles/Containerfiles (or component.<n>.base), their
 * digests read from the registry, and the Tally-Base trailers of records. */
#ifndef TALLY_BASES_H
#define TALLY_BASES_H

#include <stddef.h>

#include "config.h"
#include "err.h"
#include "registry.h"
#include "util.h"

/* The FROM images of one Dockerfile text (name is its path, for messages):
 * global ARG defaults substituted, scratch and build-stage names left out,
 * each image once, in order. A FROM without an image or a variable with no
 * value is an error naming name and line; *out is unchanged then. */
int bases_parse_dockerfile(const char *name, const char *text, size_t len, struct strv *out,
			   struct tally_err *err);
/* 1 when path's file name is a Dockerfile or Containerfile (Dockerfile,
 * Dockerfile.x, x.Dockerfile, Containerfile, ..., case-insensitive). */
int bases_is_dockerfile(const char *path);
/* The component's watched base images: component.<n>.base when set
 * ("none": nothing), else the FROM images of its recipe Dockerfiles read
 * from repo_root. */
int bases_of(const char *repo_root, const struct comp_conf *cc, struct strv *out,
	     struct tally_err *err);
/* An image reference split for the registry client: "host/ns/name" and a
 * tag or digest ("latest" when none). Docker Hub short names get
 * docker.io/ (and library/). Caller frees both. */
void bases_split(const char *ref, char **image, char **tag);
/* Every value of trailer name in a commit message, in order. */
void bases_trailers(const char *message, const char *name, struct strv *out);
/* Reads the digest of ref (HEAD on the manifest). */
int bases_read(struct registry *r, const char *ref, char digest[REGISTRY_DIGEST_MAX],
	       struct tally_err *err);

#endif
