/* pipeline.h - one attempt of one component, run on a worker thread:
 * build -> push -> tag -> verify -> record -> floating tags -> cleanup
 * (SPEC section 4, "Shipping order"). Every step must succeed before the
 * next; the record is made only through the recorder with the evidence the
 * earlier steps produced. The attempt owns copies of everything it reads,
 * except conf, which the engine keeps alive until every attempt ended. */
#ifndef TALLY_PIPELINE_H
#define TALLY_PIPELINE_H

#include <jansson.h>

#include "config.h"
#include "err.h"
#include "recorder.h"

struct attempt {
	/* inputs */
	const struct tally_conf *conf;
	const struct comp_conf *cc;
	char *repo_dir;
	char *state_dir;
	char *id;
	char *version;
	enum recorder_action action;
	char *fingerprint;
	int no_push;              /* build only, never record */
	char *resume_digest;      /* shipped before with this digest: verify, then record */
	int no_build;             /* with resume_digest: refuse rather than build when it fails */
	int pin;                  /* reset: pin in the same commit */
	char *pin_reason;
	int cancel_fd;            /* readable: cancel */
	int live_logs;            /* post "log" events with the command output */
	char *cause;              /* Tally-Cause of the record; NULL: the recorder's default */
	struct strv bases;        /* image@digest the build is on (Tally-Base) */
	struct strv base_unread;  /* bases to read before the build (engine.c) */
	/* progress: called on the worker thread with a stage event (consumed) */
	void (*post)(void *ctx, json_t *ev);
	void *ctx;
	/* outputs */
	const char *result;       /* "shipped", "built", "failed", "cancelled" */
	int shipped;              /* pushed and read back (evidence exists) */
	int recorded;
	enum tally_class cls;
	char *message;
	char *evidence;           /* failed command: the decisive log line (SPEC section 6) */
	json_t *evidence_obj;     /* failed command: {stage, argv, exit, line} (ledger, status) */
	char *digest;
	char *commit;
	char *previous;
	int pushed_remote;
	char *log_path;
	json_t *stages;           /* array of {stage, result, seconds, exit} */
	double started, ended;    /* wall clock, epoch seconds */
	struct strv images;       /* image:tag read back */
	struct strv platforms;    /* with platform: "os/arch[/variant] sha256:..." per index child */
};

void pipeline_run(struct attempt *a);
/* The image and the expanded version tags (and floating tags when floating
 * is not NULL) of a component at version, each checked against the OCI
 * grammar. Caller frees *image and the lists. */
int pipeline_refs(const struct tally_conf *conf, const struct comp_conf *cc, const char *version,
		  const char *repo_dir, char **image, struct strv *tags, struct strv *floating,
		  struct tally_err *err);
void attempt_free(struct attempt *a);
/* Removes build-secret files a stopped engine left in STATE/logs/ (each
 * reported); called at engine start. */
void pipeline_sweep_secrets(const char *state_dir, struct strv *report);
const char *pipeline_action_name(enum recorder_action a);

#endif
