#include "upstream.h"

#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "registry.h"
#include "runner.h"
#include "version.h"

typedef int (*fetch_fn)(const struct upstream_ctx *ctx, const struct comp_conf *cc,
			struct strv *raw, struct upstream_result *res);

static int fetch_manual(const struct upstream_ctx *, const struct comp_conf *, struct strv *,
			struct upstream_result *);
static int fetch_git_tags(const struct upstream_ctx *, const struct comp_conf *, struct strv *,
			  struct upstream_result *);
static int fetch_file_regex(const struct upstream_ctx *, const struct comp_conf *, struct strv *,
			    struct upstream_result *);
static int fetch_registry_tags(const struct upstream_ctx *, const struct comp_conf *,
			       struct strv *, struct upstream_result *);
static int fetch_unsupported(const struct upstream_ctx *, const struct comp_conf *, struct strv *,
			     struct upstream_result *);

static const struct kind {
	const char *name;
	fetch_fn fetch;
} kinds[] = {
	{"manual", fetch_manual},
	{"git-tags", fetch_git_tags},
	{"file-regex", fetch_file_regex},
	{"registry-tags", fetch_registry_tags},
	{"github-release", fetch_unsupported},
	{"github-tag", fetch_unsupported},
};

static void fail(struct upstream_result *res, enum tally_class cls, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fail(struct upstream_result *res, enum tally_class cls, const char *fmt, ...)
{
	struct sbuf sb = {0};
	va_list ap;
	va_start(ap, fmt);
	sbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	free(res->message);
	res->message = sbuf_detach(&sb);
	res->cls = cls;
}

int upstream_is_manual(const struct comp_conf *cc)
{
	return strcmp(cc->upstream_kind, "manual") == 0;
}

static int fetch_manual(const struct upstream_ctx *ctx, const struct comp_conf *cc,
			struct strv *raw, struct upstream_result *res)
{
	(void)ctx, (void)cc, (void)raw, (void)res;
	return 0;
}

static int fetch_unsupported(const struct upstream_ctx *ctx, const struct comp_conf *cc,
			     struct strv *raw, struct upstream_result *res)
{
	(void)ctx, (void)raw;
	fail(res, TC_INTERNAL, "upstream kind '%s' is not available in this build of tally yet",
	     cc->upstream_kind);
	return -1;
}

static void collect(void *ctx, const char *data, size_t len)
{
	struct sbuf *sb = ctx;
	if (sb->len < 8 * 1024 * 1024)
		sbuf_add(sb, data, len);
}

/* The remote's tags, through `git ls-remote` run by the runner: timeouts,
 * cancellation and the operator's own credential helpers and SSH config. */
static int fetch_git_tags(const struct upstream_ctx *ctx, const struct comp_conf *cc,
			  struct strv *raw, struct upstream_result *res)
{
	struct sbuf out = {0};
	char *argv[] = {"git", "ls-remote", "--tags", "--refs", "--", cc->upstream_arg, NULL};
	char *env[] = {"GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=/bin/false", "LC_ALL=C", NULL};
	struct run_opts o = {
		.argv = argv, .cwd = ctx->repo_root, .env_add = env, .log_fd = -1,
		.timeout_s = 60, .cancel_fd = ctx->cancel_fd, .on_output = collect, .ctx = &out,
	};
	struct run_result rr;
	struct tally_err err = {0};
	if (runner_run(&o, &rr, &err) < 0) {
		fail(res, TC_INTERNAL, "git-tags %s: %s", cc->upstream_arg, err.msg);
		goto out;
	}
	if (!rr.exited || rr.status != 0) {
		enum tally_class cls = classify("check", rr.timed_out, out.buf, out.len);
		char *last = out.buf ? out.buf : xstrdup("");
		/* first line of git's complaint is the useful one */
		char *nl = strchr(last, '\n');
		fail(res, cls, "git-tags %s: git ls-remote %s: %.*s", cc->upstream_arg,
		     rr.timed_out ? "timed out" : "failed",
		     (int)(nl ? (size_t)(nl - last) : strlen(last)), last);
		if (!out.buf)
			free(last);
		goto out;
	}
	for (char *p = out.buf; p && *p;) {
		char *eol = strchr(p, '\n');
		if (eol)
			*eol = '\0';
		char *ref = strstr(p, "\trefs/tags/");
		if (ref)
			strv_push(raw, ref + strlen("\trefs/tags/"));
		p = eol ? eol + 1 : NULL;
	}
out:
	sbuf_free(&out);
	return res->cls == TC_NONE ? 0 : -1;
}

/* file-regex: the first capture group of the first match of `match`. Only
 * file:// for now; http(s) arrives with the HTTP layer. */
static int fetch_file_regex(const struct upstream_ctx *ctx, const struct comp_conf *cc,
			    struct strv *raw, struct upstream_result *res)
{
	(void)ctx;
	const char *url = cc->upstream_arg;
	if (!str_starts(url, "file://")) {
		fail(res, TC_INTERNAL, "%s: only file:// URLs are supported by this build of tally yet", url);
		return -1;
	}
	struct sbuf body = {0};
	struct tally_err err = {0};
	if (util_read_file(url + strlen("file://"), &body, &err) < 0) {
		fail(res, TC_MISSING_VERSION, "%s: %s", url, err.msg);
		sbuf_free(&body);
		return -1;
	}
	if (strlen(sbuf_str(&body)) != body.len) {
		fail(res, TC_INTERNAL, "%s: file contains NUL bytes", url);
		sbuf_free(&body);
		return -1;
	}
	regex_t re;
	if (regcomp(&re, cc->match ? cc->match : "", REG_EXTENDED) != 0) {
		fail(res, TC_INPUT, "%s: component.%s.match does not compile", url, cc->name);
		sbuf_free(&body);
		return -1;
	}
	regmatch_t m[2];
	if (regexec(&re, sbuf_str(&body), 2, m, 0) != 0 || m[1].rm_so < 0) {
		fail(res, TC_MISSING_VERSION, "%s: no match for '%s'", url, cc->match);
	} else {
		strv_push_owned(raw, xstrndup(body.buf + m[1].rm_so, (size_t)(m[1].rm_eo - m[1].rm_so)));
	}
	regfree(&re);
	sbuf_free(&body);
	return res->cls == TC_NONE ? 0 : -1;
}

static int fetch_registry_tags(const struct upstream_ctx *ctx, const struct comp_conf *cc,
			       struct strv *raw, struct upstream_result *res)
{
	struct tally_err err = {0};
	struct registry *r = registry_new(ctx->conf->reg_auth_file, ctx->conf->reg_insecure, &err);
	if (!r) {
		fail(res, err.cls ? err.cls : TC_INTERNAL, "%s", err.msg);
		return -1;
	}
	if (registry_tags(r, cc->upstream_arg, raw, 100, &err) < 0)
		fail(res, err.cls ? err.cls : TC_NETWORK, "%s", err.msg);
	registry_free(r);
	return res->cls == TC_NONE ? 0 : -1;
}

static int cmp_desc(const void *a, const void *b, void *order)
{
	return version_compare(*(char *const *)b, *(char *const *)a,
			       *(const enum version_order *)order);
}

int upstream_check(const struct upstream_ctx *ctx, const struct comp_conf *cc,
		   struct upstream_result *res)
{
	const struct kind *k = NULL;
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (strcmp(kinds[i].name, cc->upstream_kind) == 0)
			k = &kinds[i];
	if (!k) {
		fail(res, TC_INPUT, "component.%s.upstream: unknown kind '%s'", cc->name, cc->upstream_kind);
		return 0;
	}
	struct strv raw = {0};
	if (k->fetch(ctx, cc, &raw, res) < 0) {
		strv_free(&raw);
		return 0;
	}
	struct vfilter f;
	struct tally_err err = {0};
	if (vfilter_init(&f, cc->include, cc->exclude, cc->prerelease, cc->name, &err) < 0) {
		fail(res, TC_INPUT, "%s", err.msg);
		strv_free(&raw);
		return 0;
	}
	for (size_t i = 0; i < raw.n; i++) {
		if (!version_valid(raw.v[i])) {
			/* Never echo the raw bytes: they may hold terminal escapes. */
			struct sbuf shown = {0};
			const char *p = raw.v[i];
			for (; *p && shown.len < 80; p++)
				sbuf_addc(&shown, (*p >= 0x20 && *p < 0x7f) ? *p : '?');
			if (*p)
				sbuf_adds(&shown, "...");
			strv_push_owned(&res->warnings,
					xasprintf("%s: ignoring '%s': not a valid version (OCI tag grammar)",
						  cc->upstream, sbuf_str(&shown)));
			sbuf_free(&shown);
			continue;
		}
		if (vfilter_accept(&f, raw.v[i]) && !strv_contains(&res->versions, raw.v[i]))
			strv_push(&res->versions, raw.v[i]);
	}
	vfilter_free(&f);
	strv_free(&raw);
	if (res->versions.n > 1) {
		enum version_order order = cc->order;
		qsort_r(res->versions.v, res->versions.n, sizeof(char *), cmp_desc, &order);
	}
	if (!upstream_is_manual(cc) && res->versions.n == 0)
		fail(res, TC_MISSING_VERSION, "%s: no version passes the component's filters", cc->upstream);
	return 0;
}

void upstream_result_free(struct upstream_result *res)
{
	strv_free(&res->versions);
	strv_free(&res->warnings);
	free(res->message);
	res->message = NULL;
}
