/* DESIGN: runs on a worker thread with all signals blocked. It touches no
 * engine state: it reads its own struct attempt and the immutable config,
 * reports progress through a->post, and writes results into a. */
#include "pipeline.h"

#include <dirent.h>
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
#include "registry.h"
#include "tls.h"
#include "runner.h"
#include "sha256.h"
#include "template.h"
#include "util.h"
#include "version.h"

static const char *const action_names[] = {"ship", "rebuild", "reset", "adopt"};

const char *pipeline_action_name(enum recorder_action a)
{
	return action_names[a];
}

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

static void logf_(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(struct ctx *c, const char *fmt, ...)
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
		json_t *ev = json_pack("{s:s, s:s, s:s, s:s%}", "event", "log", "component",
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
		json_t *ev = json_pack("{s:s, s:s, s:s, s:s%}", "event", "log", "component", c->a->cc->name,
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

static void stage_event(struct ctx *c, const char *stage, const char *result, double secs,
			int exit_code)
{
	struct attempt *a = c->a;
	if (strcmp(result, "started") != 0) {
		json_t *st = json_pack("{s:s, s:s, s:f}", "stage", stage, "result", result, "seconds", secs);
		if (exit_code != -1)
			json_object_set_new(st, "exit", json_integer(exit_code));
		json_array_append_new(a->stages, st);
	}
	if (a->post) {
		json_t *ev = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:f}", "schema", 1, "event",
				       "stage", "component", a->cc->name, "version", a->version,
				       "attempt", a->id, "stage", stage, "result", result, "seconds", secs);
		a->post(a->ctx, ev);
	}
}

static void fail(struct ctx *c, enum tally_class cls, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fail(struct ctx *c, enum tally_class cls, const char *fmt, ...)
{
	struct sbuf sb = {0};
	va_list ap;
	va_start(ap, fmt);
	sbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	free(c->a->message);
	c->a->message = sbuf_detach(&sb);
	c->a->cls = cls;
	c->a->result = cls == TC_HELD ? "cancelled" : "failed";
	logf_(c, "%s: %s", tally_class_name(cls), c->a->message);
}

/* Cancelled by the engine (stopping, or an operator's --now): not a
 * failure and not a hold, so no class. */
static void cancel_attempt(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void cancel_attempt(struct ctx *c, const char *fmt, ...)
{
	struct sbuf sb = {0};
	va_list ap;
	va_start(ap, fmt);
	sbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	free(c->a->message);
	c->a->message = sbuf_detach(&sb);
	c->a->cls = TC_NONE;
	c->a->result = "cancelled";
	logf_(c, "cancelled: %s", c->a->message);
}

static int cancelled(struct ctx *c)
{
	if (c->a->cancel_fd < 0)
		return 0;
	struct pollfd p = {.fd = c->a->cancel_fd, .events = POLLIN};
	return poll(&p, 1, 0) > 0;
}

/* Runs one command template; 0 when it exited 0. */
static int run_cmd(struct ctx *c, const char *stage, const char *tmpl, const char *what)
{
	struct attempt *a = c->a;
	char **argv = NULL;
	struct tally_err err = {0};
	char *ctxname = xasprintf("component.%s.%s", a->cc->name, what);
	if (template_expand(tmpl, c->vars, c->nvars, &argv, ctxname, &err) < 0) {
		free(ctxname);
		fail(c, TC_INPUT, "%s", err.msg);
		return -1;
	}
	free(ctxname);
	struct sbuf cmdline = {0};
	for (char **p = argv; *p; p++)
		sbuf_addf(&cmdline, "%s%s", p == argv ? "" : " ", *p);
	logf_(c, "%s: %s", stage, cmdline.buf);
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
	stage_event(c, stage, "started", 0, -1);
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
		stage_event(c, stage, "failed", rr.seconds, -1);
		fail(c, err.cls ? err.cls : TC_INTERNAL, "%s", err.msg);
		return -1;
	}
	int code = rr.exited ? rr.status : 128 + rr.status;
	if (rr.cancelled) {
		json_decref(jargv);
		stage_event(c, stage, "failed", rr.seconds, code);
		cancel_attempt(c, "%s stopped: the engine is stopping", stage);
		return -1;
	}
	if (rr.timed_out || !rr.exited || rr.status != 0) {
		stage_event(c, stage, "failed", rr.seconds, code);
		enum tally_class cls = classify(stage, rr.timed_out, c->tail.buf, c->tail.len);
		free(a->evidence);
		a->evidence = classify_line(stage, c->tail.buf, c->tail.len);
		json_decref(a->evidence_obj);
		a->evidence_obj = json_pack("{s:s, s:O, s:i, s:o}", "stage", stage, "argv", jargv, "exit", code,
					    "line", a->evidence ? json_string(a->evidence) : json_null());
		json_decref(jargv);
		if (rr.timed_out)
			fail(c, cls, "%s timed out after %d s", stage, a->cc->timeout);
		else
			fail(c, cls, "%s exited with status %d", stage, code);
		return -1;
	}
	json_decref(jargv);
	stage_event(c, stage, "ok", rr.seconds, 0);
	return 0;
}

static int read_digestfile(struct ctx *c, char digest[REGISTRY_DIGEST_MAX])
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
static int regerr(struct ctx *c, const char *stage, struct tally_err *err)
{
	enum tally_class cls = err->cls;
	if (!cls || cls == TC_INPUT || cls == TC_MISSING_VERSION)
		cls = TC_VERIFY;
	fail(c, cls, "%s: %s", stage, err->msg);
	return -1;
}

/* A registry behind a CDN may answer 404 for a moment after a push (SPEC
 * section 6): what tally itself just pushed is read again for up to
 * READBACK_WINDOW seconds. Only a 404 is re-read; a different digest never
 * is. Past the window the failure is class verify, never missing-version:
 * the version exists, the registry lags or lost it. */
#define READBACK_WINDOW 10.0

struct lag {
	double deadline, wait;
	int tries;
};

/* Waits up to secs; -1 when the attempt is cancelled meanwhile. */
static int nap(struct ctx *c, double secs)
{
	struct pollfd p = {.fd = c->a->cancel_fd, .events = POLLIN};
	int ms = (int)(secs * 1000);
	if (c->a->cancel_fd < 0) {
		poll(NULL, 0, ms);
		return 0;
	}
	return poll(&p, 1, ms) > 0 ? -1 : 0;
}

/* After a failed read of what: 1 when it slept and the read should be
 * tried again, 0 to give up (err then has its final class), -1 when the
 * attempt was cancelled (cancel_attempt already called). */
static int lag_retry(struct ctx *c, struct lag *l, const char *what, struct tally_err *err)
{
	if (err->cls != TC_MISSING_VERSION)
		return 0;
	double now = util_monotonic();
	if (!l->tries && l->deadline == 0) {
		l->deadline = now + READBACK_WINDOW;
		l->wait = 0.25;
		logf_(c, "verify: %s not found right after the push; reading it again for up to "
		      "%.0f s (registries behind a CDN lag)", what, READBACK_WINDOW);
	}
	double left = l->deadline - now;
	if (left <= 0) {
		err->cls = TC_VERIFY;
		size_t n = strlen(err->msg);
		snprintf(err->msg + n, sizeof err->msg - n,
			 "; still not found after %d re-reads in %.0f s: the registry lags or lost "
			 "what tally pushed", l->tries, READBACK_WINDOW);
		return 0;
	}
	l->tries++;
	if (nap(c, l->wait < left ? l->wait : left) < 0) {
		cancel_attempt(c, "verify stopped: the engine is stopping");
		return -1;
	}
	l->wait = l->wait * 2 > 2 ? 2 : l->wait * 2;
	return 1;
}

/* Every version tag from tags[from] on must read back as digest (the ones
 * before were read back already in this attempt). fresh: tally just pushed
 * them, so a 404 is re-read (lag_retry) and classed verify. */
static int verify_tags_from(struct ctx *c, const char *digest, int fresh, size_t from)
{
	struct tally_err err = {0};
	for (size_t i = from; i < c->tags.n; i++) {
		char got[REGISTRY_DIGEST_MAX];
		struct lag l = {0};
		char *what = xasprintf("%s:%s", c->image, c->tags.v[i]);
		while (registry_digest(c->reg, c->image, c->tags.v[i], got, &err) < 0) {
			int again = fresh ? lag_retry(c, &l, what, &err) : 0;
			if (again > 0)
				continue;
			free(what);
			return again < 0 ? -1 : regerr(c, "verify", &err);
		}
		if (l.tries)
			logf_(c, "verify: %s found after %d re-read%s", what, l.tries,
			      l.tries == 1 ? "" : "s");
		free(what);
		if (strcmp(got, digest) != 0) {
			fail(c, TC_VERIFY, "verify: %s:%s reads back as %s, expected %s", c->image,
			     c->tags.v[i], got, digest);
			return -1;
		}
		logf_(c, "verify: %s:%s = %s", c->image, c->tags.v[i], got);
	}
	return 0;
}

static int verify_tags(struct ctx *c, const char *digest, int fresh)
{
	return verify_tags_from(c, digest, fresh, 0);
}

/* The manifest tally just pushed, by digest, re-read on a 404 like a tag. */
static int fetch_pushed(struct ctx *c, const char *ref, struct sbuf *body, char **mt)
{
	struct tally_err err = {0};
	struct lag l = {0};
	char d[REGISTRY_DIGEST_MAX];
	char *what = xasprintf("%s@%s", c->image, ref);
	int again;
	while (registry_get_manifest(c->reg, c->image, ref, body, mt, d, &err) < 0) {
		if ((again = lag_retry(c, &l, what, &err)) > 0)
			continue;
		free(what);
		return again < 0 ? -1 : regerr(c, "verify", &err);
	}
	free(what);
	return 0;
}

/* Puts the manifest of digest under tag (same bytes, so same digest);
 * body/mt when the caller has the manifest already, else it is fetched. */
static int put_tag(struct ctx *c, const char *digest, const char *tag, const char *stage,
		   const struct sbuf *have, const char *have_mt)
{
	struct sbuf body = {0};
	char *mt = NULL;
	char d[REGISTRY_DIGEST_MAX];
	struct tally_err err = {0};
	int rc = 0;
	if (!have) {
		rc = registry_get_manifest(c->reg, c->image, digest, &body, &mt, d, &err);
		have = &body;
		have_mt = mt;
	}
	if (rc == 0)
		rc = registry_put_manifest(c->reg, c->image, tag, have->buf, have->len, have_mt, &err);
	if (rc < 0)
		regerr(c, stage, &err);
	else
		logf_(c, "%s: %s:%s -> %s", stage, c->image, tag, digest);
	free(mt);
	sbuf_free(&body);
	return rc;
}

/* ---- versionLabel (SPEC section 4) ---- */

static int is_index_type(const char *mt)
{
	return mt && (!strcmp(mt, "application/vnd.oci.image.index.v1+json") ||
		      !strcmp(mt, "application/vnd.docker.distribution.manifest.list.v2+json"));
}

/* Shown in a message: printable ASCII only, at most 80 characters. */
static char *shown(const char *s)
{
	struct sbuf sb = {0};
	const char *p = s;
	for (; *p && sb.len < 80; p++)
		sbuf_addc(&sb, (*p >= 0x20 && *p < 0x7f) ? *p : '?');
	if (*p)
		sbuf_adds(&sb, "...");
	return sbuf_detach(&sb);
}

/* The label in the config of one image manifest: 0 when absent or equal
 * to the version, -1 (attempt failed) otherwise. */
static int label_one(struct ctx *c, const char *manifest, size_t len, const char *what)
{
	const char *label = c->a->cc->version_label;
	struct tally_err err = {0};
	json_t *m = json_loadb(manifest, len, 0, NULL), *conf = NULL;
	struct sbuf blob = {0};
	int ret = -1;
	const char *cfg = json_string_value(json_object_get(json_object_get(m, "config"), "digest"));
	if (!cfg) {
		fail(c, TC_VERIFY, "verify: the manifest of %s names no config blob", what);
		goto out;
	}
	struct lag l = {0};
	char *bwhat = xasprintf("%s config %s", c->image, cfg);
	int again;
	while (registry_get_blob(c->reg, c->image, cfg, &blob, &err) < 0) {
		if ((again = lag_retry(c, &l, bwhat, &err)) > 0)
			continue;
		free(bwhat);
		if (again == 0)
			regerr(c, "verify", &err);
		goto out;
	}
	free(bwhat);
	conf = json_loadb(sbuf_str(&blob), blob.len, 0, NULL);
	if (!json_is_object(conf)) {
		fail(c, TC_VERIFY, "verify: the config blob %s of %s is not a JSON object", cfg, what);
		goto out;
	}
	json_t *v = json_object_get(json_object_get(json_object_get(conf, "config"), "Labels"), label);
	if (!v) {
		logf_(c, "verify: %s has no %s label; nothing to compare", what, label);
	} else if (json_is_string(v) && !strcmp(json_string_value(v), c->a->version)) {
		logf_(c, "verify: %s says %s=%s, the version being shipped", what, label, c->a->version);
	} else {
		char *said = shown(json_is_string(v) ? json_string_value(v) : "(not a string)");
		fail(c, TC_RECIPE,
		     "the image says %s: the build ignores {version} (label %s of %s is %s, the "
		     "version being shipped is %s); make the build use the version, or set "
		     "component.%s.versionLabel = \"\" if the label means something else",
		     said, label, what, said, c->a->version, c->a->cc->name);
		free(said);
		goto out;
	}
	ret = 0;
out:
	json_decref(m);
	json_decref(conf);
	sbuf_free(&blob);
	return ret;
}

/* For an index, every child image is checked. */
static int check_label(struct ctx *c, const char *digest, const struct sbuf *body, const char *mt)
{
	if (!c->a->cc->version_label || !*c->a->cc->version_label)
		return 0;
	char *what = xasprintf("%s@%s", c->image, digest);
	if (!is_index_type(mt)) {
		int rc = label_one(c, body->buf, body->len, what);
		free(what);
		return rc;
	}
	json_t *idx = json_loadb(body->buf, body->len, 0, NULL);
	json_t *list = json_object_get(idx, "manifests");
	int rc = 0;
	if (!json_is_array(list)) {
		fail(c, TC_VERIFY, "verify: the index %s has no \"manifests\" list", what);
		rc = -1;
	}
	size_t i;
	json_t *ch;
	json_array_foreach(list, i, ch) {
		const char *cd = json_string_value(json_object_get(ch, "digest"));
		const char *cmt = json_string_value(json_object_get(ch, "mediaType"));
		if (!cd) {
			fail(c, TC_VERIFY, "verify: entry %zu of the index %s has no digest", i, what);
			rc = -1;
			break;
		}
		if (cmt && is_index_type(cmt))
			continue;   /* nested indexes are not images */
		struct sbuf cb = {0};
		char *cmt2 = NULL;
		char *cwhat = xasprintf("%s@%s", c->image, cd);
		rc = fetch_pushed(c, cd, &cb, &cmt2);
		if (rc == 0)
			rc = label_one(c, cb.buf, cb.len, cwhat);
		free(cwhat);
		free(cmt2);
		sbuf_free(&cb);
		if (rc < 0)
			break;
	}
	json_decref(idx);
	free(what);
	return rc;
}

/* ---- build secrets ---------------------------------------------------- */

static void wipe_str(char *s)
{
	volatile char *p = s;
	while (p && *p)
		*p++ = 0;
}

/* Removes the secret files and their directory, and the {secret:ID}
 * variables; the values stay for masking until the attempt ends. */
static void secrets_remove(struct ctx *c)
{
	for (size_t i = 0; i < c->secret_files.n; i++)
		unlink(c->secret_files.v[i]);
	if (c->secret_dir)
		rmdir(c->secret_dir);
	strv_free(&c->secret_files);
	free(c->secret_dir);
	c->secret_dir = NULL;
	while (c->nvars && str_starts(c->vars[c->nvars - 1].name, "secret:"))
		c->nvars--;
}

/* Resolves every secret (an unset variable or unreadable file is an input
 * error, before anything is built), writes each to a 0600 file in the
 * attempt's own 0700 directory, and adds {secret:ID} for the build. */
static int secrets_prepare(struct ctx *c)
{
	struct attempt *a = c->a;
	const struct comp_conf *cc = a->cc;
	if (!cc->secrets.n)
		return 0;
	c->secret_dir = xasprintf("%s/logs/%s/%s.secrets", a->state_dir, cc->name, a->id);
	if (mkdir(c->secret_dir, 0700) < 0 && errno != EEXIST) {
		fail(c, TC_INTERNAL, "cannot make %s for the build secrets: %s", c->secret_dir, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < cc->secrets.n; i++) {
		char *id = NULL, *src = NULL, why[512];
		int from_env = 0;
		if (config_secret_parse(cc->secrets.v[i], &id, &from_env, &src, why, sizeof why) < 0) {
			fail(c, TC_INPUT, "component.%s.secret: %s", cc->name, why);
			goto fail;
		}
		struct sbuf val = {0};
		int ok = 1;
		if (from_env) {
			const char *v = getenv(src);
			if (!v || !*v) {
				fail(c, TC_INPUT, "component.%s.secret %s: $%s is not set in tally's environment; "
				     "set it for the engine (e.g. Environment= in its unit), nothing was built",
				     cc->name, id, src);
				ok = 0;
			} else {
				sbuf_adds(&val, v);
			}
		} else {
			char *path = src[0] == '/' ? xstrdup(src) : xasprintf("%s/%s", a->repo_dir, src);
			struct tally_err rerr = {0};
			if (util_read_file(path, &val, &rerr) < 0) {
				fail(c, TC_INPUT, "component.%s.secret %s: cannot read %s (%s); nothing was built",
				     cc->name, id, path, strerror(errno));
				ok = 0;
			}
			free(path);
		}
		char *file = ok ? xasprintf("%s/%s", c->secret_dir, id) : NULL;
		int fd = ok ? open(file, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600) : -1;
		if (ok && (fd < 0 || write(fd, val.buf ? val.buf : "", val.len) != (ssize_t)val.len)) {
			fail(c, TC_INTERNAL, "cannot write the build secret %s: %s", id, strerror(errno));
			ok = 0;
		}
		if (fd >= 0)
			close(fd);
		if (file)
			strv_push_owned(&c->secret_files, file);
		if (ok) {
			/* masked without its final newline (a file usually has one,
			 * what the build prints usually does not) */
			size_t keep = val.len;
			while (keep && (val.buf[keep - 1] == '\n' || val.buf[keep - 1] == '\r'))
				keep--;
			if (keep) {
				char *v = xstrndup(val.buf, keep);
				strv_push(&c->secret_vals, v);
				wipe_str(v);
				free(v);
			}
			strv_push_owned(&c->secret_names, xasprintf("secret:%s", id));
			c->vars[c->nvars++] = (struct tvar){c->secret_names.v[c->secret_names.n - 1],
							    c->secret_files.v[c->secret_files.n - 1]};
		}
		if (val.buf)
			memset(val.buf, 0, val.cap);
		sbuf_free(&val);
		free(id);
		free(src);
		if (!ok)
			goto fail;
	}
	return 0;
fail:
	secrets_remove(c);
	return -1;
}

static void secrets_free(struct ctx *c)
{
	secrets_remove(c);
	for (size_t i = 0; i < c->secret_vals.n; i++)
		wipe_str(c->secret_vals.v[i]);
	strv_free(&c->secret_vals);
	strv_free(&c->secret_names);
}

void pipeline_sweep_secrets(const char *state_dir, struct strv *report)
{
	char *logs = xasprintf("%s/logs", state_dir);
	DIR *d = opendir(logs);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char *comp = xasprintf("%s/%s", logs, de->d_name);
		DIR *cd = opendir(comp);
		struct dirent *ce;
		while (cd && (ce = readdir(cd))) {
			if (!str_ends(ce->d_name, ".secrets"))
				continue;
			char *dir = xasprintf("%s/%s", comp, ce->d_name);
			DIR *sd = opendir(dir);
			struct dirent *se;
			while (sd && (se = readdir(sd)))
				if (se->d_name[0] != '.') {
					char *f = xasprintf("%s/%s", dir, se->d_name);
					unlink(f);
					free(f);
				}
			if (sd)
				closedir(sd);
			if (rmdir(dir) == 0 && report)
				strv_push_owned(report, xasprintf("%s: removed build secrets left by a stopped engine", dir));
			free(dir);
		}
		if (cd)
			closedir(cd);
		free(comp);
	}
	if (d)
		closedir(d);
	free(logs);
}

/* ---- several platforms (SPEC section 14) ---- */

#define OCI_INDEX "application/vnd.oci.image.index.v1+json"

static void set_var(struct ctx *c, const char *name, const char *value)
{
	for (size_t i = 0; i < c->nvars; i++)
		if (!strcmp(c->vars[i].name, name)) {
			c->vars[i].value = value;
			return;
		}
	c->vars[c->nvars++] = (struct tvar){name, value};
}

/* The children of the index at digest, each read back by its digest:
 * "os/arch[/variant] sha256:..." lines in out. */
static int index_children(struct ctx *c, const char *digest, struct strv *out)
{
	struct sbuf body = {0};
	char *mt = NULL;
	int rc = fetch_pushed(c, digest, &body, &mt);
	json_t *idx = rc == 0 ? json_loadb(body.buf, body.len, 0, NULL) : NULL;
	json_t *list = json_object_get(idx, "manifests");
	if (rc == 0 && (!is_index_type(mt) || !json_is_array(list))) {
		fail(c, TC_VERIFY, "verify: %s@%s is not an image index (%s)", c->image, digest, mt ? mt : "?");
		rc = -1;
	}
	size_t i;
	json_t *ch;
	json_array_foreach(list, i, ch) {
		if (rc < 0)
			break;
		const char *cd = json_string_value(json_object_get(ch, "digest"));
		json_t *pl = json_object_get(ch, "platform");
		const char *os = json_string_value(json_object_get(pl, "os"));
		const char *arch = json_string_value(json_object_get(pl, "architecture"));
		const char *var = json_string_value(json_object_get(pl, "variant"));
		char got[REGISTRY_DIGEST_MAX];
		struct tally_err err = {0};
		if (!cd || !os || !arch) {
			fail(c, TC_VERIFY, "verify: entry %zu of the index %s@%s has no digest or platform", i,
			     c->image, digest);
			rc = -1;
		} else if (registry_digest(c->reg, c->image, cd, got, &err) < 0 || strcmp(got, cd) != 0) {
			fail(c, TC_VERIFY, "verify: %s@%s (%s/%s) listed in the index %s does not read back: %s",
			     c->image, cd, os, arch, digest, err.msg[0] ? err.msg : got);
			rc = -1;
		} else {
			strv_push_owned(out, xasprintf("%s/%s%s%s %s", os, arch, var ? "/" : "", var ? var : "", cd));
			logf_(c, "verify: %s@%s = %s/%s%s%s", c->image, cd, os, arch, var ? "/" : "", var ? var : "");
		}
	}
	json_decref(idx);
	free(mt);
	sbuf_free(&body);
	return rc;
}

/* The template variables of platform i: {platform} {os} {arch}
 * {variant}, and {ref} that platform's own ref (platform_end undoes it). */
struct pvars {
	char *os, *arch, *variant, *ptag, *pref;
	size_t nvars;
	const char *ref0;
};

static void platform_begin(struct ctx *c, size_t i, struct pvars *pv)
{
	const char *spec = c->a->cc->platforms.v[i];
	pv->nvars = c->nvars;
	pv->ref0 = NULL;
	for (size_t k = 0; k < c->nvars; k++)
		if (!strcmp(c->vars[k].name, "ref"))
			pv->ref0 = c->vars[k].value;
	pv->os = xstrdup(spec);
	pv->arch = strchr(pv->os, '/');
	*pv->arch++ = 0;
	if ((pv->variant = strchr(pv->arch, '/')))
		*pv->variant++ = 0;
	pv->ptag = xasprintf("%s-%s%s%s", c->tags.v[0], pv->arch, pv->variant ? "-" : "",
			     pv->variant ? pv->variant : "");
	pv->pref = xasprintf("%s:%s", c->image, pv->ptag);
	set_var(c, "platform", spec);
	set_var(c, "os", pv->os);
	set_var(c, "arch", pv->arch);
	set_var(c, "variant", pv->variant ? pv->variant : "");
	set_var(c, "ref", pv->pref);
}

static void platform_end(struct ctx *c, struct pvars *pv)
{
	c->nvars = pv->nvars;
	set_var(c, "ref", pv->ref0);
	free(pv->os);
	free(pv->ptag);
	free(pv->pref);
}

/* Build and push once per platform, each to its own ref
 * {image}:{tag}-{arch}[-{variant}]; then the OCI index listing them is
 * made (not put: the caller puts it under every version tag). Any platform
 * failing fails the attempt before anything is put under a version tag. */
static int ship_platforms(struct ctx *c, char digest[REGISTRY_DIGEST_MAX], struct sbuf *index)
{
	struct attempt *a = c->a;
	const struct strv *pl = &a->cc->platforms;
	json_t *list = json_array();
	int rc = 0;
	for (size_t i = 0; i < pl->n && rc == 0; i++) {
		struct pvars pv;
		platform_begin(c, i, &pv);
		const char *os = pv.os, *arch = pv.arch, *variant = pv.variant, *ptag = pv.ptag, *pref = pv.pref;
		logf_(c, "platform %s: building %s", pl->v[i], pref);
		char d[REGISTRY_DIGEST_MAX] = "";
		struct sbuf body = {0};
		char *mt = NULL;
		struct tally_err err = {0};
		if (!version_valid(ptag)) {
			fail(c, TC_INPUT, "platform %s: '%s' is not a valid OCI tag", pl->v[i], ptag);
			rc = -1;
		} else if (run_cmd(c, "build", a->cc->build, "build") < 0) {
			rc = -1;
		} else if (a->no_push) {
			/* built only */
		} else {
			unlink(c->digestfile);
			if (run_cmd(c, "push", a->cc->push, "push") < 0)
				rc = -1;
			else if (read_digestfile(c, d) < 0 && registry_digest(c->reg, c->image, ptag, d, &err) < 0)
				rc = regerr(c, "push", &err);
			if (rc == 0)
				rc = fetch_pushed(c, d, &body, &mt);
			if (rc == 0 && is_index_type(mt)) {
				fail(c, TC_RECIPE, "platform %s: %s is an index itself; each platform's push must push one image",
				     pl->v[i], pref);
				rc = -1;
			}
			if (rc == 0) {
				json_t *p = json_pack("{s:s, s:s}", "architecture", arch, "os", os);
				if (variant)
					json_object_set_new(p, "variant", json_string(variant));
				json_array_append_new(list, json_pack("{s:s, s:s, s:I, s:o}", "mediaType",
								      mt ? mt : "application/vnd.oci.image.manifest.v1+json",
								      "digest", d, "size", (json_int_t)body.len,
								      "platform", p));
				logf_(c, "platform %s: pushed %s as %s", pl->v[i], pref, d);
			}
		}
		free(mt);
		sbuf_free(&body);
		platform_end(c, &pv);   /* the platform variables end with the platform */
	}
	if (rc == 0 && !a->no_push) {
		json_t *idx = json_pack("{s:i, s:s, s:o}", "schemaVersion", 2, "mediaType", OCI_INDEX, "manifests",
					json_incref(list));
		char *txt = json_dumps(idx, JSON_COMPACT | JSON_PRESERVE_ORDER);
		sbuf_adds(index, txt);
		sha256_digest_str(index->buf, index->len, digest);
		logf_(c, "index of %zu platforms: %s", pl->n, digest);
		free(txt);
		json_decref(idx);
	}
	json_decref(list);
	return rc;
}

static int setup_refs(struct ctx *c)
{
	struct attempt *a = c->a;
	const struct comp_conf *cc = a->cc;
	struct tally_err err = {0};
	if (!version_valid(a->version)) {
		fail(c, TC_INPUT, "'%s' is not a valid version", a->version);
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
	char *ctxname = xasprintf("component.%s.image", cc->name);
	int rc = template_subst(cc->image, c->vars, c->nvars, &c->image, ctxname, &err);
	free(ctxname);
	if (rc < 0) {
		fail(c, TC_INPUT, "%s", err.msg);
		return -1;
	}
	for (const char *p = c->image; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr("._-/:", *p))) {
			fail(c, TC_INPUT, "component.%s.image: '%s' is not a valid image name", cc->name,
			     c->image);
			return -1;
		}
	for (size_t i = 0; i < cc->tags.n; i++) {
		char *t = NULL;
		if (template_subst(cc->tags.v[i], c->vars, c->nvars, &t, "tag", &err) < 0) {
			fail(c, TC_INPUT, "component.%s.tag: %s", cc->name, err.msg);
			return -1;
		}
		/* a version plus a suffix can exceed the tag grammar */
		if (!version_valid(t)) {
			fail(c, TC_INPUT, "component.%s.tag: '%s' is not a valid OCI tag", cc->name, t);
			free(t);
			return -1;
		}
		strv_push_owned(&c->tags, t);
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
		fail(c, err.cls ? err.cls : TC_AUTH, "%s", err.msg);
		return -1;
	}
	if (c->a->conf->reg_cert_dir)
		registry_set_cert_dir(c->reg, c->a->conf->reg_cert_dir);
	return 0;
}

void pipeline_run(struct attempt *a)
{
	struct ctx c = {.a = a, .log_fd = -1, .times_fd = -1};
	struct tally_err err = {0};
	char digest[REGISTRY_DIGEST_MAX] = "";
	char *worktree_error = NULL;   /* recorded, but the working tree lags */
	a->stages = json_array();
	a->started = util_now();
	a->result = "failed";
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
	logf_(&c, "attempt %s: %s %s %s", a->id, pipeline_action_name(a->action), a->cc->name,
	      a->version);
	if (setup(&c) < 0)
		goto out;

	if (a->resume_digest) {
		logf_(&c, "resume: %s shipped before as %s; checking the registry still has it",
		      a->version, a->resume_digest);
		double t0 = util_monotonic();
		stage_event(&c, "verify", "started", 0, -1);
		if (verify_tags(&c, a->resume_digest, 0) == 0) {
			snprintf(digest, sizeof digest, "%s", a->resume_digest);
			stage_event(&c, "verify", "ok", util_monotonic() - t0, -1);
			goto record;
		}
		stage_event(&c, "verify", "failed", util_monotonic() - t0, -1);
		if (a->no_build) {
			logf_(&c, "the registry no longer holds %s as %s for every tag; --no-build: refusing",
			      a->version, a->resume_digest);
			goto out;
		}
		logf_(&c, "resume: not usable (%s); building again", a->message);
		free(a->message);
		a->message = NULL;
		a->cls = TC_NONE;
		a->result = "failed";
	}

	struct sbuf index = {0};   /* with platforms: the index to put */
	if (secrets_prepare(&c) < 0)
		goto out;
	if (a->cc->platforms.n) {
		/* the secrets stay while any platform still builds */
		int shipped = ship_platforms(&c, digest, &index);
		secrets_remove(&c);
		if (shipped < 0) {
			sbuf_free(&index);
			goto out;
		}
		crashpoint("after-push");
		if (a->no_push) {
			a->result = "built";
			logf_(&c, "built %s for %zu platforms; --no-push: nothing pushed or recorded", a->version,
			      a->cc->platforms.n);
			goto out;
		}
	} else {
		int built = run_cmd(&c, "build", a->cc->build, "build");
		secrets_remove(&c);   /* the build only, whatever happened */
		if (built < 0)
			goto out;
		crashpoint("after-build");
		if (a->no_push) {
			a->result = "built";
			logf_(&c, "built %s; --no-push: nothing pushed or recorded", a->version);
			goto out;
		}
		unlink(c.digestfile);
		if (run_cmd(&c, "push", a->cc->push, "push") < 0)
			goto out;
		crashpoint("after-push");
	}

	double t0 = util_monotonic();
	stage_event(&c, "verify", "started", 0, -1);
	{
		struct sbuf mbody = {0};
		char *mt = NULL;
		int vrc = 0;
		int multi = a->cc->platforms.n > 0;
		size_t read_back = 0;   /* version tags already read back as digest */
		if (multi) {
			sbuf_add(&mbody, index.buf, index.len);
			mt = xstrdup(OCI_INDEX);
		} else if (read_digestfile(&c, digest) < 0) {
			struct lag l = {0};
			char *what = xasprintf("%s:%s", c.image, c.tags.v[0]);
			int again = 0;
			while (registry_digest(c.reg, c.image, c.tags.v[0], digest, &err) < 0) {
				if ((again = lag_retry(&c, &l, what, &err)) > 0)
					continue;
				if (again == 0)
					regerr(&c, "verify", &err);
				vrc = -1;
				break;
			}
			free(what);
			read_back = vrc == 0;   /* the digest is what tags[0] reads back */
		}
		sbuf_free(&index);
		if (vrc == 0 && !multi)
			logf_(&c, "pushed %s:%s as %s", c.image, c.tags.v[0], digest);
		/* The pushed manifest, once: its config is checked before any
		 * other tag is put (a build that ignored the version gets no
		 * more tags than the one its push wrote), and its bytes are
		 * what the other tags are put with. */
		if (vrc == 0 && !multi)
			vrc = fetch_pushed(&c, digest, &mbody, &mt);
		if (vrc == 0 && (vrc = check_label(&c, digest, &mbody, mt)) < 0 && a->cls == TC_RECIPE)
			logf_(&c, "verify: %s:%s, written by the push, holds the rejected image; no other "
			      "tag was put and nothing is recorded, so no record claims it (the next "
			      "attempt of %s overwrites it)", c.image, c.tags.v[0], a->version);
		for (size_t i = multi ? 0 : 1; vrc == 0 && i < c.tags.n; i++)
			vrc = put_tag(&c, digest, c.tags.v[i], "verify", &mbody, mt);
		if (vrc == 0) {
			if (read_back)
				logf_(&c, "verify: %s:%s = %s", c.image, c.tags.v[0], digest);
			vrc = verify_tags_from(&c, digest, 1, read_back);
		}
		if (vrc == 0 && multi)
			vrc = index_children(&c, digest, &a->platforms);
		free(mt);
		sbuf_free(&mbody);
		if (vrc < 0) {
			stage_event(&c, "verify", "failed", util_monotonic() - t0, -1);
			goto out;
		}
	}
	stage_event(&c, "verify", "ok", util_monotonic() - t0, -1);
	{
		/* Evidence first: a crash between here and the record commit
		 * resumes at record instead of building again (SPEC section 6).
		 * The final line of this attempt supersedes it. */
		json_t *ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:s, s:f}", "id",
				       a->id, "component", a->cc->name, "version", a->version, "action",
				       pipeline_action_name(a->action), "fingerprint", a->fingerprint,
				       "result", "verified", "digest", digest, "shipped", 1, "recorded", 0,
				       "log", a->log_path, "started_at", a->started);
		struct tally_err lerr = {0};
		if (ledger_append(a->state_dir, ev, &lerr) < 0)
			logf_(&c, "warning: %s", lerr.msg);
		json_decref(ev);
	}
	crashpoint("after-verify");

record:
	if (a->cc->platforms.n && !a->platforms.n && index_children(&c, digest, &a->platforms) < 0)
		goto out;   /* a resumed index: its children must still be there */
	a->shipped = 1;
	a->digest = xstrdup(digest);
	for (size_t i = 0; i < c.tags.n; i++)
		strv_push_owned(&a->images, xasprintf("%s:%s", c.image, c.tags.v[i]));
	if (cancelled(&c)) {
		cancel_attempt(&c, "before record; %s shipped as %s but is not recorded", a->version, digest);
		goto out;
	}
	{
		struct strv also = {0};
		for (size_t i = 0; i < a->cc->nrecord_also; i++) {
			char *v = NULL;
			if (template_subst(a->cc->record_also[i].tmpl, c.vars, c.nvars, &v, "recordAlso",
					   &err) < 0) {
				fail(&c, TC_INPUT, "component.%s.recordAlso: %s", a->cc->name, err.msg);
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
		stage_event(&c, "record", "started", 0, -1);
		int rc = recorder_record(&req, &rr, &err);
		strv_free(&also);
		if (rc < 0) {
			stage_event(&c, "record", "failed", util_monotonic() - t0, -1);
			fail(&c, err.cls == TC_HELD ? TC_HELD : (err.cls == TC_INTERNAL ? TC_INTERNAL : TC_RECORD),
			     "record: %s", err.msg);
			recorder_result_free(&rr);
			goto out;
		}
		a->recorded = 1;
		a->commit = xstrdup(rr.commit);
		if (rr.worktree_error) {
			/* the record stands; the attempt says it is not whole */
			logf_(&c, "warning: %s", rr.worktree_error);
			if (rr.worktree_files)
				worktree_error = xstrdup(rr.worktree_error);
		}
		a->previous = xstrdup(rr.previous);
		a->pushed_remote = rr.pushed;
		logf_(&c, "recorded %s %s in commit %s", a->cc->name, a->version, rr.commit);
		if (!rr.pushed) {
			stage_event(&c, "record", "failed", util_monotonic() - t0, -1);
			fail(&c, TC_RECORD, "recorded locally in %.12s, but not on the remote: %s", rr.commit,
			     rr.push_error ? rr.push_error : "push failed");
			recorder_result_free(&rr);
			goto out;
		}
		stage_event(&c, "record", "ok", util_monotonic() - t0, -1);
		recorder_result_free(&rr);
	}
	a->result = "shipped";

	if (a->cc->floating.n) {
		t0 = util_monotonic();
		stage_event(&c, "floating", "started", 0, -1);
		for (size_t i = 0; i < a->cc->floating.n; i++) {
			char *ft = NULL;
			if (template_subst(a->cc->floating.v[i], c.vars, c.nvars, &ft, "floatingTag", &err) < 0 ||
			    !version_valid(ft)) {
				fail(&c, TC_INPUT, "component.%s.floatingTag: '%s' is not a valid OCI tag%s%s",
				     a->cc->name, a->cc->floating.v[i], ft ? " once expanded: " : "", ft ? ft : "");
				free(ft);
				break;
			}
			char got[REGISTRY_DIGEST_MAX];
			int frc = put_tag(&c, digest, ft, "floating", NULL, NULL);
			if (frc == 0) {
				/* tally just put it: a 404 is re-read like a version tag */
				struct lag l = {0};
				char *what = xasprintf("%s:%s", c.image, ft);
				int again = 1;
				while ((frc = registry_digest(c.reg, c.image, ft, got, &err)) < 0 &&
				       (again = lag_retry(&c, &l, what, &err)) > 0)
					;
				free(what);
				if (again < 0) {
					free(ft);
					break;
				}
			}
			if (frc < 0 || strcmp(got, digest) != 0) {
				if (!a->message)
					fail(&c, TC_VERIFY, "floating: %s:%s does not read back as %s", c.image, ft, digest);
				a->cls = TC_VERIFY;
				free(ft);
				break;
			}
			free(ft);
		}
		/* the record stands either way; a floating tag failure is retried */
		a->result = "shipped";
		stage_event(&c, "floating", a->cls == TC_NONE ? "ok" : "failed", util_monotonic() - t0, -1);
	}
	if (a->cc->cleanup) {
		enum tally_class keep = a->cls;
		char *msg = a->message ? xstrdup(a->message) : NULL;
		/* with platforms: once per platform, {ref} its own ref */
		size_t np = a->cc->platforms.n ? a->cc->platforms.n : 1;
		for (size_t i = 0; i < np; i++) {
			struct pvars pv;
			if (a->cc->platforms.n)
				platform_begin(&c, i, &pv);
			if (run_cmd(&c, "cleanup", a->cc->cleanup, "cleanup") < 0)
				logf_(&c, "cleanup failed (ignored)");
			if (a->cc->platforms.n)
				platform_end(&c, &pv);
		}
		a->cls = keep;
		free(a->message);
		a->message = msg;
		a->result = "shipped";
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
		logf_(&c, "attempt %s ended: %s (%s); hint: %s", a->id, a->result, tally_class_name(a->cls),
		      classify_hint(a->cls));
	else
		logf_(&c, "attempt %s ended: %s", a->id, a->result);
	a->ended = util_now();
	if (c.log_fd >= 0)
		close(c.log_fd);
	if (c.times_fd >= 0)
		close(c.times_fd);
	unlink(c.digestfile ? c.digestfile : "");
	secrets_free(&c);
	free(c.digestfile);
	free(c.authfile);
	free(c.certdir);
	free(c.image);
	for (size_t i = 0; i < c.nvars; i++)
		if (strcmp(c.vars[i].name, "ref") == 0)
			free((char *)c.vars[i].value);
	strv_free(&c.tags);
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
		for (size_t i = 0; floating && i < cc->floating.n; i++) {
			char *ft = NULL;
			if (template_subst(cc->floating.v[i], c.vars, c.nvars, &ft, "floatingTag", err) < 0 ||
			    !version_valid(ft)) {
				if (ft)
					tally_err_set(err, TC_INPUT, "component.%s.floatingTag: '%s' is not a valid OCI tag",
						      cc->name, ft);
				free(ft);
				rc = -1;
				break;
			}
			strv_push_owned(floating, ft);
		}
	} else {
		tally_err_set(err, a.cls ? a.cls : TC_INPUT, "%s", a.message ? a.message : "bad image or tag");
	}
	free(a.message);
	free(c.digestfile);
	free(c.authfile);
	free(c.certdir);
	free(c.image);
	for (size_t i = 0; i < c.nvars; i++)
		if (strcmp(c.vars[i].name, "ref") == 0)
			free((char *)c.vars[i].value);
	strv_free(&c.tags);
	return rc;
}
