/* pipeline_priv.h - one attempt's working state (struct ctx) and the
 * helpers shared by the files of the pipeline: pipeline.c (the stages in
 * shipping order, logs, commands), pipeimage.c (versionLabel check and
 * several platforms), pipesecrets.c (build secrets). Everything here runs
 * on the attempt's worker thread and touches only its own struct attempt. */
#ifndef TALLY_PIPELINE_PRIV_H
#define TALLY_PIPELINE_PRIV_H

#include "pipeline.h"
#include "protocol.h"
#include "registry.h"
#include "tags.h"
#include "template.h"
#include "util.h"

#define OCI_INDEX "application/vnd.oci.image.index.v1+json"

struct ctx {
	struct attempt *a;
	int log_fd;
	int times_fd;             /* ATTEMPT.log.times: "END-OFFSET EPOCH" when bytes arrived */
	struct sbuf tail;         /* last output of the current command, for classify */
	char last_char;           /* of the output so far: tally's lines start on a new line */
	char utf8_carry[4];
	size_t utf8_n;
	struct sbuf live;         /* output not yet sent live */
	size_t live_skipped;      /* bytes dropped from the live tail since the last send */
	double live_at;           /* when live output was last sent */
	char *image;
	struct strv tags;
	char *digestfile;
	char *authfile;           /* {authfile}, $REGISTRY_AUTH_FILE, and what c->reg reads */
	char *certdir;            /* {certdir}: certDir/HOST of the image */
	struct tvar vars[20 + CONFIG_MAX_SECRETS];
	size_t nvars;
	/* build secrets (SPEC 4): values to mask in every command's output,
	 * their files while the build runs, and the {secret:ID} names */
	struct strv secret_vals, secret_files, secret_names;
	char *secret_dir;
	struct registry *reg;
};

/* The template variables of platform i: {platform} {os} {arch}
 * {variant}, and {ref} that platform's own ref (platform_end undoes it). */
struct pvars {
	char *os, *arch, *variant, *ptag, *pref;
	size_t nvars;
	const char *ref0;
};

/* pipeline.c */
void pipe_log(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pipe_stage(struct ctx *c, enum stage sg, const char *result, double secs, int exit_code);
/* The attempt failed with cls; the message is logged. */
void pipe_fail(struct ctx *c, enum tally_class cls, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Cancelled by the engine: no class. */
void pipe_cancel(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int pipe_cancelled(struct ctx *c);
/* Runs one command template; 0 when it exited 0. */
int pipe_run_cmd(struct ctx *c, enum stage sg, const char *tmpl, const char *what);
/* A registry failure on tally's own images (never missing-version). */
int pipe_regerr(struct ctx *c, const char *stage, struct tally_err *err);
/* tags.c with the attempt's registry, image, cancel fd and log. */
struct tags_ctx pipe_tags(struct ctx *c);
/* A tags.c failure rc as the attempt's: cancelled, or pipe_regerr. -1. */
int pipe_tags_fail(struct ctx *c, int rc, const char *stage, struct tally_err *err);
/* The digest the push wrote to {digestfile}; -1 when none or unusable. */
int pipe_read_digestfile(struct ctx *c, char digest[REGISTRY_DIGEST_MAX]);
/* The manifest tally just pushed, by ref, re-read on a 404 like a tag. */
int pipe_fetch_pushed(struct ctx *c, const char *ref, struct sbuf *body, char **mt);

/* pipeimage.c */
int pipe_is_index_type(const char *mt);
/* versionLabel: the pushed image's config label must be the version. */
int pipe_check_label(struct ctx *c, const char *digest, const struct sbuf *body, const char *mt);
/* The children of the index at digest, each read back by its digest. */
int pipe_index_children(struct ctx *c, const char *digest, struct strv *out);
void pipe_platform_begin(struct ctx *c, size_t i, struct pvars *pv);
void pipe_platform_end(struct ctx *c, struct pvars *pv);
/* Build and push once per platform, then make the index (not put). */
int pipe_ship_platforms(struct ctx *c, char digest[REGISTRY_DIGEST_MAX], struct sbuf *index);

/* pipesecrets.c */
int pipe_secrets_prepare(struct ctx *c);
void pipe_secrets_remove(struct ctx *c);
void pipe_secrets_free(struct ctx *c);

#endif
