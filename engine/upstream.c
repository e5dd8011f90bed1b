/* upstream.c - the upstream kinds as a table, and reading one upstream (see
 * upstream.h). Called from check workers; no shared state. */
#include "upstream.h"

#include <ctype.h>
#include <jansson.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "classify.h"
#include "gitnet.h"
#include "http.h"
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
static int fetch_github_release(const struct upstream_ctx *, const struct comp_conf *,
				struct strv *, struct upstream_result *);
static int fetch_github_tag(const struct upstream_ctx *, const struct comp_conf *, struct strv *,
			    struct upstream_result *);

static const struct kind {
	const char *name;
	fetch_fn fetch;
} kinds[] = {
	{"manual", fetch_manual},
	{"git-tags", fetch_git_tags},
	{"file-regex", fetch_file_regex},
	{"registry-tags", fetch_registry_tags},
	{"github-release", fetch_github_release},
	{"github-tag", fetch_github_tag},
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
	struct strv env = {0};
	int idle = ctx->conf && ctx->conf->net_timeout > 0 ? ctx->conf->net_timeout : 30;
	gitnet_env(&env, ctx->repo_root, idle);
	strv_push(&env, "GIT_ASKPASS=/bin/false");
	strv_push(&env, "LC_ALL=C");
	struct run_opts o = {
		.argv = argv, .cwd = ctx->repo_root, .env_add = env.v, .log_fd = -1,
		.timeout_s = 2 * idle, .cancel_fd = ctx->cancel_fd, .on_output = collect, .ctx = &out,
		.pass_env = ctx->conf ? ctx->conf->pass_env.v : NULL, .git_env = 1,
	};
	struct run_result rr;
	struct tally_err err = {0};
	if (runner_run(&o, &rr, &err) < 0) {
		fail(res, TC_INTERNAL, "git-tags %s: %s", cc->upstream_arg, err.msg);
		goto out;
	}
	if (!rr.exited || rr.status != 0) {
		enum tally_class cls = gitnet_class(rr.timed_out, out.buf, out.len);
		if (cls == TC_RECORD)   /* nothing known: check's default */
			cls = classify("check", 0, out.buf, out.len);
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
	strv_free(&env);
	sbuf_free(&out);
	return res->cls == TC_NONE ? 0 : -1;
}

/* ---- HTTP kinds --------------------------------------------------------- */

#define GH_PER_PAGE 100
#define GH_MAX_PAGES 20

/* The token: $GITHUB_TOKEN, else the first line of github.tokenFile
 * (relative to the repo root). Never put in a message. *out NULL when
 * there is none; -1 when it is unusable. Caller frees *out with free_token. */
static int read_token(const struct upstream_ctx *ctx, char **out, struct upstream_result *res)
{
	*out = NULL;
	const char *env = getenv("GITHUB_TOKEN");
	struct sbuf sb = {0};
	const char *file = ctx->conf->gh_token_file;
	if (env && *env) {
		sbuf_adds(&sb, env);
	} else if (file && *file) {
		char *path = file[0] == '/' || !ctx->repo_root ? xstrdup(file)
							       : xasprintf("%s/%s", ctx->repo_root, file);
		struct tally_err err = {0};
		int rc = util_read_file(path, &sb, &err);
		free(path);
		if (rc < 0) {
			if (sb.buf)
				explicit_bzero(sb.buf, sb.len);
			sbuf_free(&sb);
			fail(res, TC_INPUT, "github.tokenFile %s: cannot read the token file", file);
			return -1;
		}
	} else {
		return 0;
	}
	/* the first line, trimmed */
	size_t n = strcspn(sbuf_str(&sb), "\r\n");
	while (n && (sb.buf[n - 1] == ' ' || sb.buf[n - 1] == '\t'))
		n--;
	size_t start = 0;
	while (start < n && (sb.buf[start] == ' ' || sb.buf[start] == '\t'))
		start++;
	int bad = 0;
	for (size_t i = start; i < n; i++)
		if ((unsigned char)sb.buf[i] < 0x21 || (unsigned char)sb.buf[i] > 0x7e)
			bad = 1;
	if (n > start && !bad)
		*out = xstrndup(sb.buf + start, n - start);
	if (sb.buf)
		explicit_bzero(sb.buf, sb.len);
	sbuf_free(&sb);
	if (bad) {
		fail(res, TC_INPUT, "%s: the GitHub token has characters a header cannot carry",
		     env && *env ? "$GITHUB_TOKEN" : "github.tokenFile");
		return -1;
	}
	return 0;
}

static void free_token(char *t)
{
	if (t) {
		explicit_bzero(t, strlen(t));
		free(t);
	}
}

static struct http *client_new(const struct upstream_ctx *ctx, struct upstream_result *res)
{
	char *token = NULL;
	if (read_token(ctx, &token, res) < 0)
		return NULL;
	struct http_config hc = {
		.state_dir = ctx->state_dir, .api_url = ctx->conf->gh_api, .token = token,
		.insecure = ctx->conf->reg_insecure, .cancel_fd = ctx->cancel_fd,
	};
	struct http *h = http_new(&hc);
	free_token(token);
	return h;
}

/* github-* args are OWNER/REPO in GitHub's own characters, so the spec can
 * never add path segments or a query to the URL. */
static int valid_gh_repo(const char *s)
{
	const char *slash = strchr(s, '/');
	if (!slash || slash == s || !slash[1] || strchr(slash + 1, '/'))
		return 0;
	for (const char *p = s; *p; p++)
		if (p != slash && !isalnum((unsigned char)*p) && !strchr("._-", *p))
			return 0;
	return strcmp(slash + 1, ".") && strcmp(slash + 1, "..");
}

/* The answer as a JSON array, or a protocol error naming what it is. */
static json_t *load_array(const char *body, size_t len, const char *what, struct tally_err *err)
{
	json_error_t je;
	/* JSON_ALLOW_NUL: one "\u0000" in a release's name or body is valid
	 * JSON and must not sink the whole answer; a tag name holding one is
	 * an invalid version (see push_name) */
	json_t *root = json_loadb(body, len, JSON_ALLOW_NUL, &je);
	if (!root) {
		tally_err_set(err, TC_VERIFY, "answer is not JSON (line %d, column %d)", je.line,
			      je.column);
		return NULL;
	}
	if (!json_is_array(root)) {
		tally_err_set(err, TC_VERIFY, "answer is a JSON %s, not an array of %s",
			      json_is_object(root) ? "object" : "value", what);
		json_decref(root);
		return NULL;
	}
	return root;
}

/* Reduces a releases page to [{"tag_name","draft","prerelease"}]: all that
 * is cached and parsed. Wrong types are a protocol error, not skipped. */
static int reduce_releases(const char *body, size_t len, struct sbuf *out, void *ctx,
			   struct tally_err *err)
{
	(void)ctx;
	json_t *root = load_array(body, len, "releases", err), *list = json_array();
	int ret = -1;
	if (!root)
		goto out;
	size_t i;
	json_t *r;
	json_array_foreach(root, i, r) {
		if (!json_is_object(r)) {
			tally_err_set(err, TC_VERIFY, "release %zu is not an object", i);
			goto out;
		}
		json_t *tag = json_object_get(r, "tag_name");
		json_t *draft = json_object_get(r, "draft"), *pre = json_object_get(r, "prerelease");
		if (!json_is_string(tag)) {
			tally_err_set(err, TC_VERIFY, "release %zu: \"tag_name\" is not a string", i);
			goto out;
		}
		if ((draft && !json_is_boolean(draft)) || (pre && !json_is_boolean(pre))) {
			tally_err_set(err, TC_VERIFY,
				      "release %zu: \"draft\" or \"prerelease\" is not a boolean", i);
			goto out;
		}
		json_array_append_new(list, json_pack("{s:O, s:b, s:b}", "tag_name", tag, "draft",
						      json_is_true(draft), "prerelease",
						      json_is_true(pre)));
	}
	char *s = json_dumps(list, JSON_COMPACT);
	sbuf_adds(out, s);
	free(s);
	ret = 0;
out:
	json_decref(root);
	json_decref(list);
	return ret;
}

/* Reduces a tags page to ["name", ...]. */
static int reduce_tags(const char *body, size_t len, struct sbuf *out, void *ctx,
		       struct tally_err *err)
{
	(void)ctx;
	json_t *root = load_array(body, len, "tags", err), *list = json_array();
	int ret = -1;
	if (!root)
		goto out;
	size_t i;
	json_t *t;
	json_array_foreach(root, i, t) {
		json_t *name = json_object_get(t, "name");
		if (!json_is_object(t) || !json_is_string(name)) {
			tally_err_set(err, TC_VERIFY, "tag %zu has no string \"name\"", i);
			goto out;
		}
		json_array_append(list, name);
	}
	char *s = json_dumps(list, JSON_COMPACT);
	sbuf_adds(out, s);
	free(s);
	ret = 0;
out:
	json_decref(root);
	json_decref(list);
	return ret;
}

typedef int (*page_fn)(const struct comp_conf *cc, json_t *list, struct strv *raw);

/* Follows Link rel="next" from the first page: at most GH_MAX_PAGES pages,
 * each on the API origin, each URL once. page() takes every reduced page. */
static int gh_paged(const struct upstream_ctx *ctx, const struct comp_conf *cc, const char *what,
		    http_reduce_fn reduce, page_fn page, struct strv *raw,
		    struct upstream_result *res)
{
	if (!valid_gh_repo(cc->upstream_arg)) {
		fail(res, TC_INPUT, "component.%s.upstream: '%s' is not OWNER/REPO", cc->name,
		     cc->upstream_arg);
		return -1;
	}
	struct http *h = client_new(ctx, res);
	if (!h)
		return -1;
	const char *api = ctx->conf->gh_api;
	size_t alen = strlen(api);
	while (alen && api[alen - 1] == '/')
		alen--;
	char *url = xasprintf("%.*s/repos/%s/%s?per_page=%d", (int)alen, api, cc->upstream_arg, what,
			      GH_PER_PAGE);
	char *first = xstrdup(url);
	char *api_origin = http_origin(first);
	struct strv seen = {0};
	struct http_response resp = {0};
	struct tally_err err = {0};
	size_t entries = 0;
	for (int n = 0;; n++) {
		if (n >= GH_MAX_PAGES) {
			fail(res, TC_TOO_LARGE, "%s: more than %d pages of %s; stopped before %s", first,
			     GH_MAX_PAGES, what, url);
			break;
		}
		strv_push(&seen, url);
		http_response_free(&resp);
		if (http_get(h, url, "application/vnd.github+json", reduce, NULL, &resp, &err) < 0) {
			fail(res, err.cls ? err.cls : TC_NETWORK, "%s", err.msg);
			res->retry_at = resp.retry_at;
			break;
		}
		json_t *list = json_loadb(sbuf_str(&resp.body), resp.body.len, JSON_ALLOW_NUL, NULL);
		entries += json_array_size(list);
		int rc = page(cc, list, raw);
		json_decref(list);
		if (rc < 0) {
			fail(res, TC_VERIFY, "%s: cached answer unreadable", url);
			break;
		}
		if (!resp.next)
			break;
		char *o = http_origin(resp.next);
		int same = o && api_origin && !strcmp(o, api_origin);
		free(o);
		if (!same) {
			fail(res, TC_VERIFY, "%s: Link rel=\"next\" to another host refused", url);
			break;
		}
		if (strv_contains(&seen, resp.next)) {
			fail(res, TC_VERIFY, "%s: Link rel=\"next\" points back at %s, already read", url,
			     resp.next);
			break;
		}
		free(url);
		url = xstrdup(resp.next);
	}
	if (res->cls == TC_NONE && entries == 0)
		fail(res, TC_MISSING_VERSION, "%s: the answer lists no %s", first, what);
	http_response_free(&resp);
	strv_free(&seen);
	free(api_origin);
	free(first);
	free(url);
	http_free(h);
	return res->cls == TC_NONE ? 0 : -1;
}

/* A name with a NUL inside would be cut short as a C string: it is pushed
 * with '?' for each NUL, which no valid version holds, so it is ignored
 * with a warning like any other invalid name. */
static void push_name(struct strv *raw, json_t *name)
{
	const char *v = json_string_value(name);
	size_t len = json_string_length(name);
	if (strlen(v) == len) {
		strv_push(raw, v);
		return;
	}
	char *copy = xmalloc(len + 1);
	for (size_t i = 0; i < len; i++)
		copy[i] = v[i] ? v[i] : '?';
	copy[len] = '\0';
	strv_push_owned(raw, copy);
}

static int page_releases(const struct comp_conf *cc, json_t *list, struct strv *raw)
{
	if (!json_is_array(list))
		return -1;
	size_t i;
	json_t *r;
	json_array_foreach(list, i, r) {
		json_t *tag = json_object_get(r, "tag_name");
		if (!json_is_string(tag))
			return -1;
		/* drafts never; GitHub's pre-release flag only with prerelease =
		 * true (vfilter's suffix rule applies on top) */
		if (json_is_true(json_object_get(r, "draft")))
			continue;
		if (json_is_true(json_object_get(r, "prerelease")) && !cc->prerelease)
			continue;
		push_name(raw, tag);
	}
	return 0;
}

static int page_tags(const struct comp_conf *cc, json_t *list, struct strv *raw)
{
	(void)cc;
	if (!json_is_array(list))
		return -1;
	size_t i;
	json_t *t;
	json_array_foreach(list, i, t) {
		if (!json_is_string(t))
			return -1;
		push_name(raw, t);
	}
	return 0;
}

static int fetch_github_release(const struct upstream_ctx *ctx, const struct comp_conf *cc,
				struct strv *raw, struct upstream_result *res)
{
	return gh_paged(ctx, cc, "releases", reduce_releases, page_releases, raw, res);
}

static int fetch_github_tag(const struct upstream_ctx *ctx, const struct comp_conf *cc,
			    struct strv *raw, struct upstream_result *res)
{
	return gh_paged(ctx, cc, "tags", reduce_tags, page_tags, raw, res);
}

/* file-regex: the first capture group of the first match of `match`
 * (matched per line, REG_NEWLINE), in a file read over http(s) (through the HTTP layer: cache, limits, caps) or
 * file:// (capped at the same size). */
static int fetch_file_regex(const struct upstream_ctx *ctx, const struct comp_conf *cc,
			    struct strv *raw, struct upstream_result *res)
{
	const char *url = cc->upstream_arg;
	struct sbuf body = {0};
	if (str_starts(url, "file://")) {
		const char *path = url + strlen("file://");
		struct stat st;
		struct tally_err err = {0};
		if (stat(path, &st) == 0 && st.st_size > (off_t)HTTP_BODY_MAX) {
			fail(res, TC_TOO_LARGE, "%s: file larger than %zu MiB refused", url,
			     HTTP_BODY_MAX >> 20);
			return -1;
		}
		if (util_read_file(path, &body, &err) < 0) {
			fail(res, TC_MISSING_VERSION, "%s: %s", url, err.msg);
			sbuf_free(&body);
			return -1;
		}
	} else if (str_starts(url, "http://") || str_starts(url, "https://")) {
		struct http *h = client_new(ctx, res);
		if (!h)
			return -1;
		struct http_response resp = {0};
		struct tally_err err = {0};
		if (http_get(h, url, "*/*", NULL, NULL, &resp, &err) < 0) {
			fail(res, err.cls ? err.cls : TC_NETWORK, "%s", err.msg);
			res->retry_at = resp.retry_at;
		} else {
			body = resp.body;
			memset(&resp.body, 0, sizeof resp.body);
		}
		http_response_free(&resp);
		http_free(h);
		if (res->cls != TC_NONE) {
			sbuf_free(&body);
			return -1;
		}
	} else {
		fail(res, TC_INPUT,
		     "component.%s.upstream: '%s' is not an http://, https:// or file:// URL", cc->name,
		     url);
		return -1;
	}
	if (strlen(sbuf_str(&body)) != body.len) {
		fail(res, TC_VERIFY, "%s: file contains NUL bytes", url);
		sbuf_free(&body);
		return -1;
	}
	regex_t re;
	/* line by line (SPEC section 5): a .env or compose file is read the way
	 * its author reads it, one line at a time */
	if (regcomp(&re, cc->match ? cc->match : "", REG_EXTENDED | REG_NEWLINE) != 0) {
		fail(res, TC_INPUT, "%s: component.%s.match does not compile", url, cc->name);
		sbuf_free(&body);
		return -1;
	}
	regmatch_t m[2];
	if (regexec(&re, sbuf_str(&body), 2, m, 0) != 0 || m[1].rm_so < 0) {
		size_t lines = 0;
		for (size_t i = 0; i < body.len; i++)
			lines += body.buf[i] == '\n';
		if (body.len && body.buf[body.len - 1] != '\n')
			lines++;
		fail(res, TC_MISSING_VERSION,
		     "%s: no line matches component.%s.match '%s' (%zu line%s read); the regex is "
		     "matched line by line: ^ and $ anchor at line ends, . never crosses a newline",
		     url, cc->name, cc->match, lines, lines == 1 ? "" : "s");
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
	struct registry *r = registry_from_conf(ctx->conf, &err);
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
		if (version_is_alias(raw.v[i])) {
			/* latest, stable, xenial: expected in every tag list, so no
			 * warning; the check counts them */
			res->aliases++;
			continue;
		}
		if (vfilter_accept(&f, raw.v[i]) && !strv_contains(&res->versions, raw.v[i]))
			strv_push(&res->versions, raw.v[i]);
	}
	vfilter_free(&f);
	size_t raw_n = raw.n;
	strv_free(&raw);
	if (res->versions.n > 1) {
		enum version_order order = cc->order;
		qsort_r(res->versions.v, res->versions.n, sizeof(char *), cmp_desc, &order);
	}
	if (!upstream_is_manual(cc) && res->versions.n == 0)
		fail(res, TC_MISSING_VERSION,
		     "%s: no version passes the component's filters (%zu tag%s read, %zu of them "
		     "aliases without a digit)",
		     cc->upstream, raw_n, raw_n == 1 ? "" : "s", res->aliases);
	return 0;
}

void upstream_result_free(struct upstream_result *res)
{
	strv_free(&res->versions);
	strv_free(&res->warnings);
	free(res->message);
	res->message = NULL;
}
