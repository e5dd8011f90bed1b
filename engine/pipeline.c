/* pipeline.c - one attempt in shipping order (SPEC section 4): build,
 * push, tag, verify, record, floating tags, cleanup, with its log and
 * stage events. Tags are read back and put through tags.c, images and
 * tags expanded by refs.c; pipeimage.c and pipesecrets.c hold the
 * versionLabel check, several platforms and build secrets.
 *
 * DESIGN: runs on a worker thread with all signals blocked. It touches no
 * engine state: it reads its own struct attempt and the immutable config,
 * reports progress through a->post, and writes results into a. */
#include "pipeline_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "classify.h"
#include "crashpoint.h"
#include "ledger.h"
#include "authfile.h"
#include "refs.h"
#include "registry.h"
#include "tls.h"
#include "runner.h"
#include "template.h"
#include "util.h"
#include "version.h"

const char *pipeline_action_name(enum recorder_action a)
{
	return record_action_name(a);
}


static void live_flush(struct ctx *c);

/* Arrival times beside the log (SPEC section 10, the console's t): one
 * line "OFFSET SECONDS" saying the log's bytes up to OFFSET had arrived at
 * that time; the log file itself stays the build's own bytes. */
static void stamp(struct ctx *c)
{
	if (c->times_fd < 0 || c->log_fd < 0)
		return;
	off_t end = lseek(c->log_fd, 0, SEEK_CUR);
	if (end < 0)
		return;
	char buf[64];
	int n = snprintf(buf, sizeof buf, "%lld %.3f\n", (long long)end, util_now());
	if (write(c->times_fd, buf, (size_t)n) < 0) {
		/* best effort, like the log */
	}
}

void pipe_log(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pipe_log(struct ctx *c, const char *fmt, ...)
{
	struct sbuf sb = {0};
	va_list ap;
	va_start(ap, fmt);
	if (c->last_char && c->last_char != '\n')
		sbuf_addc(&sb, '\n');
	c->last_char = '\n';
	sbuf_adds(&sb, "tally: ");
	sbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	sbuf_addc(&sb, '\n');
	if (c->log_fd >= 0 && write(c->log_fd, sb.buf, sb.len) < 0) {
		/* the log is best effort; the ledger has the result */
	}
	stamp(c);
	if (c->a->post && c->a->live_logs) {
		live_flush(c);
		json_t *ev = json_pack("{s:s, s:s, s:s, s:s%}", "event", ev_name(EV_LOG), "component",
				       c->a->cc->name, "attempt", c->a->id, "data", sb.buf, sb.len);
		if (ev)
			c->a->post(c->a->ctx, ev);
	}
	sbuf_free(&sb);
}

/* Live output reaches front ends as a bounded tail (SPEC section 10): at
 * most LIVE_TAIL bytes every LIVE_EVERY seconds, the newest ones, with a
 * note of what was skipped. The log file always gets everything. */
#define LIVE_TAIL (16 * 1024)
#define LIVE_EVERY 0.1

static void live_flush(struct ctx *c)
{
	if (!c->live.len && !c->live_skipped)
		return;
	struct sbuf text = {0};
	if (c->live_skipped)
		sbuf_addf(&text, "\n[tally: %zu bytes of output not shown live; the log file has them]\n",
			  c->live_skipped);
	util_utf8_append(&text, c->live.buf, c->live.len, c->utf8_carry, &c->utf8_n);
	if (text.len) {
		json_t *ev = json_pack("{s:s, s:s, s:s, s:s%}", "event", ev_name(EV_LOG), "component", c->a->cc->name,
				       "attempt", c->a->id, "data", text.buf, text.len);
		if (ev)
			c->a->post(c->a->ctx, ev);
	}
	sbuf_free(&text);
	sbuf_reset(&c->live);
	c->live_skipped = 0;
	c->live_at = util_monotonic();
}

static void on_output(void *vc, const char *data, size_t len)
{
	struct ctx *c = vc;
	if (!data) {   /* the runner's tick, or a count of bytes it skipped */
		if (len) {
			c->live_skipped += len;
			sbuf_reset(&c->live);   /* what was kept is older than the gap */
			c->utf8_n = 0;
			return;
		}
		if (c->a->post && c->a->live_logs && util_monotonic() - c->live_at >= LIVE_EVERY)
			live_flush(c);
		return;
	}
	if (len)
		c->last_char = data[len - 1];
	stamp(c);
	/* keep the last 64 KiB for the classifier */
	if (c->tail.len > 128 * 1024) {
		memmove(c->tail.buf, c->tail.buf + c->tail.len - 64 * 1024, 64 * 1024);
		c->tail.len = 64 * 1024;
	}
	sbuf_add(&c->tail, data, len);
	if (c->a->post && c->a->live_logs) {
		/* keep the newest LIVE_TAIL bytes, cut at a line start so the
		 * tail reads well (and UTF-8 is cut between characters) */
		sbuf_add(&c->live, data, len);
		if (c->live.len > LIVE_TAIL) {
			size_t cut = c->live.len - LIVE_TAIL;
			const char *nl = memchr(c->live.buf + cut, '\n', c->live.len - cut);
			if (nl)
				cut = (size_t)(nl + 1 - c->live.buf);
			c->live_skipped += cut;
			memmove(c->live.buf, c->live.buf + cut, c->live.len - cut);
			c->live.len -= cut;
			c->utf8_n = 0;
		}
		if (util_monotonic() - c->live_at >= LIVE_EVERY)
			live_flush(c);
	}
}

void pipe_stage(struct ctx *c, enum stage sg, const char *result, double secs,
			int exit_code)
{
	struct attempt *a = c->a;
	const char *stage = stage_name(sg);
	if (strcmp(result, "started") != 0) {
		json_t *st = json_pack("{s:s, s:s, s:f}", "stage", stage, "result", result, "seconds", secs);
		if (exit_code != -1)
			json_object_set_new(st, "exit", json_integer(exit_code));
		json_array_append_new(a->stages, st);
	}
	if (a->post) {
		json_t *ev = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:f}", "schema", 1, "event",
				       ev_name(EV_STAGE), "component", a->cc->name, "version", a->version,
				       "attempt", a->id, "stage", stage, "result", result, "seconds", secs);
		a->post(a->ctx, ev);
	}
}

/* The attempt ends with message (taken) as result, class cls. */
static void end_with(struct ctx *c, enum tally_class cls, const char *result, const char *label,
		     char *message)
{
	free(c->a->message);
	c->a->message = message;
	c->a->cls = cls;
	c->a->result = result;
	pipe_log(c, "%s: %s", label, message);
}

void pipe_fail(struct ctx *c, enum tally_class cls, const char *fmt, ...)
{
	struct sbuf sb = {0};
	va_list ap;
	va_start(ap, fmt);
	sbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	end_with(c, cls, result_name(cls == TC_HELD ? RS_CANCELLED : RS_FAILED), tally_class_name(cls),
		 sbuf_detach(&sb));
}

/* Cancelled by the engine (stopping, or an operator's --now): not a
 * failure and not a hold, so no class. */
void pipe_cancel(struct ctx *c, const char *fmt, ...)
{
	struct sbuf sb = {0};
	va_list ap;
	va_start(ap, fmt);
	sbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	end_with(c, TC_NONE, result_name(RS_CANCELLED), "cancelled", sbuf_detach(&sb));
}

int pipe_cancelled(struct ctx *c)
{
	if (c->a->cancel_fd < 0)
		return 0;
	struct pollfd p = {.fd = c->a->cancel_fd, .events = POLLIN};
	return poll(&p, 1, 0) > 0;
}

/* Runs one command template; 0 when it exited 0. */
int pipe_run_cmd(struct ctx *c, enum stage sg, const char *tmpl, const char *what)
{
	struct attempt *a = c->a;
	const char *stage = stage_name(sg);
	char **argv = NULL;
	struct tally_err err = {0};
	char *ctxname = xasprintf("component.%s.%s", a->cc->name, what);
	if (template_expand(tmpl, c->vars, c->nvars, &argv, ctxname, &err) < 0) {
		free(ctxname);
		pipe_fail(c, TC_INPUT, "%s", err.msg);
		return -1;
	}
	free(ctxname);
	struct sbuf cmdline = {0};
	for (char **p = argv; *p; p++)
		sbuf_addf(&cmdline, "%s%s", p == argv ? "" : " ", *p);
	pipe_log(c, "%s: %s", stage, cmdline.buf);
	sbuf_free(&cmdline);

	struct strv env = {0};
	strv_push_owned(&env, xasprintf("TALLY_COMPONENT=%s", a->cc->name));
	strv_push_owned(&env, xasprintf("TALLY_VERSION=%s", a->version));
	strv_push_owned(&env, xasprintf("TALLY_IMAGE=%s", c->image));
	struct sbuf tags = {0};
	for (size_t i = 0; i < c->tags.n; i++)
		sbuf_addf(&tags, "%s%s", i ? " " : "", c->tags.v[i]);
	strv_push_owned(&env, xasprintf("TALLY_TAGS=%s", sbuf_str(&tags)));
	sbuf_free(&tags);
	/* the push and tally's own read-back use the same credentials (buildah
	 * refuses a $REGISTRY_AUTH_FILE that does not exist: then neither side
	 * has a file) */
	if (c->authfile && access(c->authfile, F_OK) == 0)
		strv_push_owned(&env, xasprintf("REGISTRY_AUTH_FILE=%s", c->authfile));
	char *cwd = a->cc->workdir ? (a->cc->workdir[0] == '/' ? xstrdup(a->cc->workdir)
				     : xasprintf("%s/%s", a->repo_dir, a->cc->workdir))
				   : xstrdup(a->repo_dir);
	sbuf_reset(&c->tail);
	c->utf8_n = 0;
	struct run_opts o = {
		.argv = argv, .cwd = cwd, .env_add = env.v, .log_fd = c->log_fd,
		.timeout_s = a->cc->timeout, .cancel_fd = a->cancel_fd, .on_output = on_output, .ctx = c,
		.tick_ms = a->live_logs ? 100 : 0, .tail_bytes = LIVE_TAIL,
		.pass_env = a->conf->pass_env.v, .mask = c->secret_vals.v,
	};
	struct run_result rr = {0};
	pipe_stage(c, sg, "started", 0, -1);
	int rc = runner_run(&o, &rr, &err);
	if (a->post && a->live_logs)
		live_flush(c);
	free(cwd);
	strv_free(&env);
	json_t *jargv = json_array();   /* for the evidence of a failure */
	for (char **p = argv; *p; p++)
		json_array_append_new(jargv, json_string(*p));
	template_argv_free(argv);
	if (rc < 0) {
		json_decref(jargv);
		pipe_stage(c, sg, "failed", rr.seconds, -1);
		pipe_fail(c, err.cls ? err.cls : TC_INTERNAL, "%s", err.msg);
		return -1;
	}
	int code = rr.exited ? rr.status : 128 + rr.status;
	if (rr.cancelled) {
		json_decref(jargv);
		pipe_stage(c, sg, "failed", rr.seconds, code);
		pipe_cancel(c, "%s stopped: the engine is stopping", stage);
		return -1;
	}
	if (rr.timed_out || !rr.exited || rr.status != 0) {
		pipe_stage(c, sg, "failed", rr.seconds, code);
		enum tally_class cls = classify(stage, rr.timed_out, c->tail.buf, c->tail.len);
		free(a->evidence);
		a->evidence = classify_line(stage, c->tail.buf, c->tail.len);
		json_decref(a->evidence_obj);
		a->evidence_obj = json_pack("{s:s, s:O, s:i, s:o}", "stage", stage, "argv", jargv, "exit", code,
					    "line", a->evidence ? json_string(a->evidence) : json_null());
		json_decref(jargv);
		if (rr.timed_out)
			pipe_fail(c, cls, "%s timed out after %d s", stage, a->cc->timeout);
		else
			pipe_fail(c, cls, "%s exited with status %d", stage, code);
		return -1;
	}
	json_decref(jargv);
	pipe_stage(c, sg, "ok", rr.seconds, 0);
	return 0;
}

int pipe_read_digestfile(struct ctx *c, char digest[REGISTRY_DIGEST_MAX])
{
	struct sbuf sb = {0};
	if (util_read_file(c->digestfile, &sb, NULL) < 0) {
		sbuf_free(&sb);
		return -1;
	}
	char *s = sb.buf;
	while (sb.len && (s[sb.len - 1] == '\n' || s[sb.len - 1] == ' '))
		s[--sb.len] = '\0';
	int ok = str_starts(s, "sha256:") && sb.len == 71 && strspn(s + 7, "0123456789abcdef") == 64;
	if (ok)
		snprintf(digest, REGISTRY_DIGEST_MAX, "%s", s);
	sbuf_free(&sb);
	return ok ? 0 : -1;
}

/* A registry failure on tally's own images. A 404 there is never
 * missing-version (whose hint says to skip the version): the version
 * exists, tally pushed it; the registry lags or lost it (SPEC section 6). */
int pipe_regerr(struct ctx *c, const char *stage, struct tally_err *err)
{
	enum tally_class cls = err->cls;
	if (!cls || cls == TC_INPUT || cls == TC_MISSING_VERSION)
		cls = TC_VERIFY;
	pipe_fail(c, cls, "%s: %s", stage, err->msg);
	return -1;
}

/* The attempt's view of tags.c: its registry, image, cancel fd and log. */
static void tag_log(void *lctx, const char *line)
{
	pipe_log(lctx, "%s", line);
}

struct tags_ctx pipe_tags(struct ctx *c)
{
	return (struct tags_ctx){.reg = c->reg, .image = c->image, .cancel_fd = c->a->cancel_fd,
				 .log = tag_log, .lctx = c};
}

int pipe_tags_fail(struct ctx *c, int rc, const char *stage, struct tally_err *err)
{
	if (rc == TAGS_CANCELLED) {
		pipe_cancel(c, "verify stopped: the engine is stopping");
		return -1;
	}
	return pipe_regerr(c, stage, err);
}

/* Every version tag from tags[from] on must read back as digest (the ones
 * before were read back already in this attempt). fresh: tally just pushed
 * them, so a 404 is re-read and classed verify. */
static int verify_tags_from(struct ctx *c, const char *digest, int fresh, size_t from)
{
	struct tally_err err = {0};
	struct tags_ctx t = pipe_tags(c);
	int rc = tags_verify(&t, (const char *const *)c->tags.v + from, c->tags.n - from, digest,
			     fresh, &err);
	return rc < 0 ? pipe_tags_fail(c, rc, stage_name(SG_VERIFY), &err) : 0;
}

int pipe_fetch_pushed(struct ctx *c, const char *ref, struct sbuf *body, char **mt)
{
	struct tally_err err = {0};
	struct tags_ctx t = pipe_tags(c);
	int rc = tags_manifest(&t, ref, 1, body, mt, &err);
	return rc < 0 ? pipe_tags_fail(c, rc, stage_name(SG_VERIFY), &err) : 0;
}

/* Puts the manifest of digest under tag (same bytes, so same digest). */
static int put_tag(struct ctx *c, const char *digest, const char *tag, const char *stage,
		   const struct sbuf *have, const char *have_mt)
{
	struct tally_err err = {0};
	struct tags_ctx t = pipe_tags(c);
	return tags_put(&t, digest, tag, stage, have, have_mt, &err) < 0
		? pipe_regerr(c, stage, &err) : 0;
}

static int setup_refs(struct ctx *c)
{
	struct attempt *a = c->a;
	const struct comp_conf *cc = a->cc;
	struct tally_err err = {0};
	if (!version_valid(a->version)) {
		pipe_fail(c, TC_INPUT, "'%s' is not a valid version", a->version);
		return -1;
	}
	const char *prefix = a->conf->reg_prefix ? a->conf->reg_prefix : "";
	c->digestfile = xasprintf("%s/logs/%s/%s.digest", a->state_dir, cc->name, a->id);
	size_t n = 0;
	c->vars[n++] = (struct tvar){"component", cc->name};
	c->vars[n++] = (struct tvar){"key", cc->key};
	c->vars[n++] = (struct tvar){"version", a->version};
	c->vars[n++] = (struct tvar){"prefix", prefix};
	c->vars[n++] = (struct tvar){"repo", a->repo_dir};
	c->vars[n++] = (struct tvar){"tlsverify", a->conf->reg_insecure ? "false" : "true"};
	c->vars[n++] = (struct tvar){"digestfile", c->digestfile};
	c->authfile = authfile_for_commands(a->conf->reg_auth_file);
	c->vars[n++] = (struct tvar){"authfile", c->authfile};
	c->nvars = n;
	if (refs_image(cc, c->vars, c->nvars, &c->image, &err) < 0 ||
	    refs_tags(cc, c->vars, c->nvars, &c->tags, &err) < 0) {
		pipe_fail(c, TC_INPUT, "%s", err.msg);
		return -1;
	}
	c->vars[c->nvars++] = (struct tvar){"image", c->image};
	/* what buildah's --cert-dir wants: the registry's own directory */
	char *host = registry_image_host(c->image);
	c->certdir = xasprintf("%s/%s", tls_cert_dir_shown(a->conf->reg_cert_dir),
			       host ? host : "unknown-host");
	free(host);
	c->vars[c->nvars++] = (struct tvar){"certdir", c->certdir};
	c->vars[c->nvars++] = (struct tvar){"tag", c->tags.v[0]};
	char *ref = xasprintf("%s:%s", c->image, c->tags.v[0]);
	c->vars[c->nvars++] = (struct tvar){"ref", ref};
	return 0;
}

static int setup(struct ctx *c)
{
	struct tally_err err = {0};
	if (setup_refs(c) < 0)
		return -1;
	c->reg = registry_new(c->authfile, c->a->conf->reg_insecure, &err);
	if (!c->reg) {
		pipe_fail(c, err.cls ? err.cls : TC_AUTH, "%s", err.msg);
		return -1;
	}
	if (c->a->conf->reg_cert_dir)
		registry_set_cert_dir(c->reg, c->a->conf->reg_cert_dir);
	return 0;
}

/* What setup_refs made: the paths, the image, {ref} and the tags. */
static void free_refs(struct ctx *c)
{
	free(c->digestfile);
	free(c->authfile);
	free(c->certdir);
	free(c->image);
	for (size_t i = 0; i < c->nvars; i++)
		if (strcmp(c->vars[i].name, "ref") == 0)
			free((char *)c->vars[i].value);
	strv_free(&c->tags);
}

void pipeline_run(struct attempt *a)
{
	struct ctx c = {.a = a, .log_fd = -1, .times_fd = -1};
	struct tally_err err = {0};
	char digest[REGISTRY_DIGEST_MAX] = "";
	char *worktree_error = NULL;   /* recorded, but the working tree lags */
	a->stages = json_array();
	a->started = util_now();
	a->result = result_name(RS_FAILED);
	a->cls = TC_NONE;

	char *dir = xasprintf("%s/logs/%s", a->state_dir, a->cc->name);
	/* with tally.group the state dir is setgid: logs are the group's to read */
	util_mkdirs(dir, a->conf->group ? 02750 : 0700, NULL);
	a->log_path = xasprintf("%s/%s.log", dir, a->id);
	free(dir);
	/* not O_APPEND, and readable: the runner splices command output into
	 * it and reads the live tail back (only this attempt writes it) */
	c.log_fd = open(a->log_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
			a->conf->group ? 0640 : 0600);
	char *times = xasprintf("%s.times", a->log_path);
	c.times_fd = open(times, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, a->conf->group ? 0640 : 0600);
	free(times);
	pipe_log(&c, "attempt %s: %s %s %s", a->id, pipeline_action_name(a->action), a->cc->name,
	      a->version);
	if (setup(&c) < 0)
		goto out;

	if (a->resume_digest) {
		pipe_log(&c, "resume: %s shipped before as %s; checking the registry still has it",
		      a->version, a->resume_digest);
		double t0 = util_monotonic();
		pipe_stage(&c, SG_VERIFY, "started", 0, -1);
		if (verify_tags_from(&c, a->resume_digest, 0, 0) == 0) {
			snprintf(digest, sizeof digest, "%s", a->resume_digest);
			pipe_stage(&c, SG_VERIFY, "ok", util_monotonic() - t0, -1);
			goto record;
		}
		pipe_stage(&c, SG_VERIFY, "failed", util_monotonic() - t0, -1);
		if (a->no_build) {
			pipe_log(&c, "the registry no longer holds %s as %s for every tag; --no-build: refusing",
			      a->version, a->resume_digest);
			goto out;
		}
		pipe_log(&c, "resume: not usable (%s); building again", a->message);
		free(a->message);
		a->message = NULL;
		a->cls = TC_NONE;
		a->result = result_name(RS_FAILED);
	}

	struct sbuf index = {0};   /* with platforms: the index to put */
	if (pipe_secrets_prepare(&c) < 0)
		goto out;
	if (a->cc->platforms.n) {
		/* the secrets stay while any platform still builds */
		int shipped = pipe_ship_platforms(&c, digest, &index);
		pipe_secrets_remove(&c);
		if (shipped < 0) {
			sbuf_free(&index);
			goto out;
		}
		crashpoint("after-push");
		if (a->no_push) {
			a->result = result_name(RS_BUILT);
			pipe_log(&c, "built %s for %zu platforms; --no-push: nothing pushed or recorded", a->version,
			      a->cc->platforms.n);
			goto out;
		}
	} else {
		int built = pipe_run_cmd(&c, SG_BUILD, a->cc->build, "build");
		pipe_secrets_remove(&c);   /* the build only, whatever happened */
		if (built < 0)
			goto out;
		crashpoint("after-build");
		if (a->no_push) {
			a->result = result_name(RS_BUILT);
			pipe_log(&c, "built %s; --no-push: nothing pushed or recorded", a->version);
			goto out;
		}
		unlink(c.digestfile);
		if (pipe_run_cmd(&c, SG_PUSH, a->cc->push, "push") < 0)
			goto out;
		crashpoint("after-push");
	}

	double t0 = util_monotonic();
	pipe_stage(&c, SG_VERIFY, "started", 0, -1);
	{
		struct sbuf mbody = {0};
		char *mt = NULL;
		int vrc = 0;
		int multi = a->cc->platforms.n > 0;
		size_t read_back = 0;   /* version tags already read back as digest */
		if (multi) {
			sbuf_add(&mbody, index.buf, index.len);
			mt = xstrdup(OCI_INDEX);
		} else if (pipe_read_digestfile(&c, digest) < 0) {
			struct tags_ctx t = pipe_tags(&c);
			int rc = tags_digest(&t, c.tags.v[0], 1, digest, &err);
			if (rc < 0)
				vrc = pipe_tags_fail(&c, rc, stage_name(SG_VERIFY), &err);
			read_back = vrc == 0;   /* the digest is what tags[0] reads back */
		}
		sbuf_free(&index);
		if (vrc == 0 && !multi)
			pipe_log(&c, "pushed %s:%s as %s", c.image, c.tags.v[0], digest);
		/* The pushed manifest, once: its config is checked before any
		 * other tag is put (a build that ignored the version gets no
		 * more tags than the one its push wrote), and its bytes are
		 * what the other tags are put with. */
		if (vrc == 0 && !multi)
			vrc = pipe_fetch_pushed(&c, digest, &mbody, &mt);
		if (vrc == 0 && (vrc = pipe_check_label(&c, digest, &mbody, mt)) < 0 && a->cls == TC_RECIPE)
			pipe_log(&c, "verify: %s:%s, written by the push, holds the rejected image; no other "
			      "tag was put and nothing is recorded, so no record claims it (the next "
			      "attempt of %s overwrites it)", c.image, c.tags.v[0], a->version);
		for (size_t i = multi ? 0 : 1; vrc == 0 && i < c.tags.n; i++)
			vrc = put_tag(&c, digest, c.tags.v[i], stage_name(SG_VERIFY), &mbody, mt);
		if (vrc == 0) {
			if (read_back)
				pipe_log(&c, "verify: %s:%s = %s", c.image, c.tags.v[0], digest);
			vrc = verify_tags_from(&c, digest, 1, read_back);
		}
		if (vrc == 0 && multi)
			vrc = pipe_index_children(&c, digest, &a->platforms);
		free(mt);
		sbuf_free(&mbody);
		if (vrc < 0) {
			pipe_stage(&c, SG_VERIFY, "failed", util_monotonic() - t0, -1);
			goto out;
		}
	}
	pipe_stage(&c, SG_VERIFY, "ok", util_monotonic() - t0, -1);
	{
		/* Evidence first: a crash between here and the record commit
		 * resumes at record instead of building again (SPEC section 6).
		 * The final line of this attempt supersedes it. */
		json_t *ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:s, s:f}", "id",
				       a->id, "component", a->cc->name, "version", a->version, "action",
				       pipeline_action_name(a->action), "fingerprint", a->fingerprint,
				       "result", result_name(RS_VERIFIED), "digest", digest, "shipped", 1, "recorded", 0,
				       "log", a->log_path, "started_at", a->started);
		struct tally_err lerr = {0};
		if (ledger_append(a->state_dir, ev, &lerr) < 0)
			pipe_log(&c, "warning: %s", lerr.msg);
		json_decref(ev);
	}
	crashpoint("after-verify");

record:
	if (a->cc->platforms.n && !a->platforms.n && pipe_index_children(&c, digest, &a->platforms) < 0)
		goto out;   /* a resumed index: its children must still be there */
	a->shipped = 1;
	a->digest = xstrdup(digest);
	for (size_t i = 0; i < c.tags.n; i++)
		strv_push_owned(&a->images, xasprintf("%s:%s", c.image, c.tags.v[i]));
	if (pipe_cancelled(&c)) {
		pipe_cancel(&c, "before record; %s shipped as %s but is not recorded", a->version, digest);
		goto out;
	}
	{
		struct strv also = {0};
		for (size_t i = 0; i < a->cc->nrecord_also; i++) {
			char *v = NULL;
			if (template_subst(a->cc->record_also[i].tmpl, c.vars, c.nvars, &v, "recordAlso",
					   &err) < 0) {
				pipe_fail(&c, TC_INPUT, "component.%s.recordAlso: %s", a->cc->name, err.msg);
				strv_free(&also);
				goto out;
			}
			strv_push_owned(&also, v);
		}
		struct recorder_evidence ev = {
			.attempt = a->id, .digest = digest, .images = a->images.v,
			.nimages = a->images.n, .fingerprint = a->fingerprint,
			.bases = a->bases.v, .nbases = a->bases.n, .cause = a->cause,
			.platforms = a->platforms.v, .nplatforms = a->platforms.n,
		};
		struct recorder_req req = {
			.conf = a->conf, .cc = a->cc, .repo_dir = a->repo_dir, .action = a->action,
			.version = a->version, .ev = &ev, .record_also = also.v, .pin = a->pin,
			.pin_reason = a->pin_reason, .log_fd = c.log_fd, .cancel_fd = a->cancel_fd,
		};
		struct recorder_result rr = {0};
		t0 = util_monotonic();
		pipe_stage(&c, SG_RECORD, "started", 0, -1);
		int rc = recorder_record(&req, &rr, &err);
		strv_free(&also);
		if (rc < 0) {
			pipe_stage(&c, SG_RECORD, "failed", util_monotonic() - t0, -1);
			pipe_fail(&c, err.cls == TC_HELD ? TC_HELD : (err.cls == TC_INTERNAL ? TC_INTERNAL : TC_RECORD),
			     "record: %s", err.msg);
			recorder_result_free(&rr);
			goto out;
		}
		a->recorded = 1;
		a->commit = xstrdup(rr.commit);
		if (rr.worktree_error) {
			/* the record stands; the attempt says it is not whole */
			pipe_log(&c, "warning: %s", rr.worktree_error);
			if (rr.worktree_files)
				worktree_error = xstrdup(rr.worktree_error);
		}
		a->previous = xstrdup(rr.previous);
		a->pushed_remote = rr.pushed;
		pipe_log(&c, "recorded %s %s in commit %s", a->cc->name, a->version, rr.commit);
		if (!rr.pushed) {
			pipe_stage(&c, SG_RECORD, "failed", util_monotonic() - t0, -1);
			pipe_fail(&c, TC_RECORD, "recorded locally in %.12s, but not on the remote: %s", rr.commit,
			     rr.push_error ? rr.push_error : "push failed");
			recorder_result_free(&rr);
			goto out;
		}
		pipe_stage(&c, SG_RECORD, "ok", util_monotonic() - t0, -1);
		recorder_result_free(&rr);
	}
	a->result = result_name(RS_SHIPPED);

	if (a->cc->floating.n) {
		t0 = util_monotonic();
		pipe_stage(&c, SG_FLOATING, "started", 0, -1);
		struct strv fts = {0};
		struct sbuf fbody = {0};
		char *fmt = NULL;
		struct tags_ctx t = pipe_tags(&c);
		int fok = refs_floating(a->cc, c.vars, c.nvars, &fts, &err) == 0;
		if (!fok)
			pipe_fail(&c, TC_INPUT, "%s", err.msg);
		for (size_t i = 0; fok && i < fts.n; i++) {
			int changed;
			int frc = tags_float(&t, fts.v[i], digest, 0, &fbody, &fmt, &changed, &err);
			if (frc == TAGS_CANCELLED)
				pipe_tags_fail(&c, frc, stage_name(SG_FLOATING), &err);
			else if (frc < 0)
				pipe_fail(&c, TC_VERIFY, "floating: %s", err.msg);
			fok = frc == 0;
		}
		free(fmt);
		sbuf_free(&fbody);
		strv_free(&fts);
		/* the record stands either way; a floating tag failure is retried */
		a->result = result_name(RS_SHIPPED);
		pipe_stage(&c, SG_FLOATING, a->cls == TC_NONE ? "ok" : "failed", util_monotonic() - t0, -1);
	}
	if (a->cc->cleanup) {
		enum tally_class keep = a->cls;
		char *msg = a->message ? xstrdup(a->message) : NULL;
		/* with platforms: once per platform, {ref} its own ref */
		size_t np = a->cc->platforms.n ? a->cc->platforms.n : 1;
		for (size_t i = 0; i < np; i++) {
			struct pvars pv;
			if (a->cc->platforms.n)
				pipe_platform_begin(&c, i, &pv);
			if (pipe_run_cmd(&c, SG_CLEANUP, a->cc->cleanup, "cleanup") < 0)
				pipe_log(&c, "cleanup failed (ignored)");
			if (a->cc->platforms.n)
				pipe_platform_end(&c, &pv);
		}
		a->cls = keep;
		free(a->message);
		a->message = msg;
		a->result = result_name(RS_SHIPPED);
	}
	if (worktree_error && a->cls == TC_NONE) {
		a->cls = TC_RECORD;
		free(a->message);
		a->message = worktree_error;
		worktree_error = NULL;
	}
out:
	free(worktree_error);
	if (a->cls != TC_NONE)
		pipe_log(&c, "attempt %s ended: %s (%s); hint: %s", a->id, a->result, tally_class_name(a->cls),
		      classify_hint(a->cls));
	else
		pipe_log(&c, "attempt %s ended: %s", a->id, a->result);
	a->ended = util_now();
	if (c.log_fd >= 0)
		close(c.log_fd);
	if (c.times_fd >= 0)
		close(c.times_fd);
	unlink(c.digestfile ? c.digestfile : "");
	pipe_secrets_free(&c);
	free_refs(&c);
	sbuf_free(&c.tail);
	sbuf_free(&c.live);
	registry_free(c.reg);
}

void attempt_free(struct attempt *a)
{
	if (!a)
		return;
	free(a->repo_dir);
	free(a->state_dir);
	free(a->id);
	free(a->version);
	free(a->fingerprint);
	free(a->cause);
	strv_free(&a->bases);
	strv_free(&a->base_unread);
	strv_free(&a->platforms);
	free(a->resume_digest);
	free(a->pin_reason);
	free(a->message);
	free(a->evidence);
	json_decref(a->evidence_obj);
	free(a->digest);
	free(a->commit);
	free(a->previous);
	free(a->log_path);
	json_decref(a->stages);
	strv_free(&a->images);
	free(a);
}

int pipeline_refs(const struct tally_conf *conf, const struct comp_conf *cc, const char *version,
		  const char *repo_dir, char **image, struct strv *tags, struct strv *floating,
		  struct tally_err *err)
{
	struct attempt a = {.conf = conf, .cc = cc, .version = (char *)version,
			    .repo_dir = (char *)repo_dir, .state_dir = (char *)"/nonexistent",
			    .id = (char *)"refs"};
	struct ctx c = {.a = &a, .log_fd = -1, .times_fd = -1};
	int rc = setup_refs(&c);
	if (rc == 0) {
		*image = c.image;
		c.image = NULL;
		*tags = c.tags;
		memset(&c.tags, 0, sizeof c.tags);
		if (floating && refs_floating(cc, c.vars, c.nvars, floating, err) < 0)
			rc = -1;
	} else {
		tally_err_set(err, a.cls ? a.cls : TC_INPUT, "%s", a.message ? a.message : "bad image or tag");
	}
	free(a.message);
	free_refs(&c);
	return rc;
}
