/* authfile.c - registry credentials from containers-auth.json and docker
 * config.json, and credential helpers (see authfile.h). No state; any thread
 * (each call reads the files again). */
#include "authfile.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base64.h"
#include "runner.h"
#include "util.h"

#define HUB_HOST "registry-1.docker.io"
#define HELPER_TIMEOUT_S 30
#define HELPER_OUTPUT_MAX ((size_t)64 << 10)

/* ---- which file ---- */

static const char *home_dir(void)
{
	const char *h = getenv("HOME");
	if (h && *h)
		return h;
	struct passwd *pw = getpwuid(getuid());
	return pw && pw->pw_dir ? pw->pw_dir : "/";
}

static const char *env_nonempty(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

static int exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && !S_ISDIR(st.st_mode);
}

const char *authfile_search_order(void)
{
	return "$REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json, "
	       "/run/containers/0/auth.json (root), $XDG_CONFIG_HOME/containers/auth.json, "
	       "$DOCKER_CONFIG/config.json, ~/.docker/config.json";
}

char *authfile_find(const char *configured)
{
	const char *v;
	if (configured && *configured) {
		if (str_starts(configured, "~/"))
			return xasprintf("%s/%s", home_dir(), configured + 2);
		return xstrdup(configured);
	}
	struct strv cand = {0};
	if ((v = env_nonempty("REGISTRY_AUTH_FILE")))
		strv_push(&cand, v);
	if ((v = env_nonempty("XDG_RUNTIME_DIR")))
		strv_push_owned(&cand, xasprintf("%s/containers/auth.json", v));
	if (geteuid() == 0)
		strv_push(&cand, "/run/containers/0/auth.json");
	if ((v = env_nonempty("XDG_CONFIG_HOME")))
		strv_push_owned(&cand, xasprintf("%s/containers/auth.json", v));
	else
		strv_push_owned(&cand, xasprintf("%s/.config/containers/auth.json", home_dir()));
	if ((v = env_nonempty("DOCKER_CONFIG")))
		strv_push_owned(&cand, xasprintf("%s/config.json", v));
	strv_push_owned(&cand, xasprintf("%s/.docker/config.json", home_dir()));
	char *found = NULL;
	for (size_t i = 0; i < cand.n && !found; i++)
		if (exists(cand.v[i]))
			found = xstrdup(cand.v[i]);
	strv_free(&cand);
	return found;
}

char *authfile_for_commands(const char *configured)
{
	char *p = authfile_find(configured);
	const char *v;
	if (p)
		return p;
	if ((v = env_nonempty("REGISTRY_AUTH_FILE")))
		return xstrdup(v);
	if ((v = env_nonempty("XDG_RUNTIME_DIR")))
		return xasprintf("%s/containers/auth.json", v);
	return xasprintf("/run/containers/%u/auth.json", (unsigned)getuid());
}

/* ---- the file ---- */

struct entry {
	char *host;      /* normalised */
	char *path;      /* namespace after the host ("" when none) */
	int score;       /* higher is more specific */
	char *key;       /* as written, for messages */
	char *user, *pass, *identity_token;
};

struct helper_map {
	char *host;
	char *name;
};

struct cached {
	char *host;
	struct authfile_cred cred;
	int failed;
	char msg[1024];
};

struct authfile {
	char *path;
	int exists;
	struct entry *ents;
	size_t nents;
	struct helper_map *helpers;
	size_t nhelpers;
	char *store;        /* credsStore */
	struct cached *cache;
	size_t ncache;
};

static void free_secret(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void authfile_cred_clear(struct authfile_cred *c)
{
	free_secret(c->user);
	free_secret(c->pass);
	free_secret(c->identity_token);
	free(c->source);
	memset(c, 0, sizeof *c);
}

void authfile_free(struct authfile *af)
{
	if (!af)
		return;
	for (size_t i = 0; i < af->nents; i++) {
		struct entry *e = &af->ents[i];
		free(e->host);
		free(e->path);
		free(e->key);
		free_secret(e->user);
		free_secret(e->pass);
		free_secret(e->identity_token);
	}
	free(af->ents);
	for (size_t i = 0; i < af->nhelpers; i++) {
		free(af->helpers[i].host);
		free(af->helpers[i].name);
	}
	free(af->helpers);
	free(af->store);
	for (size_t i = 0; i < af->ncache; i++) {
		free(af->cache[i].host);
		authfile_cred_clear(&af->cache[i].cred);
	}
	free(af->cache);
	free(af->path);
	free(af);
}

const char *authfile_path(const struct authfile *af)
{
	return af && af->path ? af->path : "";
}

int authfile_exists(const struct authfile *af)
{
	return af && af->exists;
}

/* "docker.io", "index.docker.io" -> the Hub's registry host; lowercased. */
static char *norm_hostpart(const char *s, size_t n)
{
	char *h = xstrndup(s, n);
	for (char *p = h; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (!strcmp(h, "docker.io") || !strcmp(h, "index.docker.io")) {
		free(h);
		h = xstrdup(HUB_HOST);
	}
	return h;
}

/* A key: "host[:port]", "host/ns/repo", or a URL whose path is dropped. */
static void parse_key(const char *key, char **host, char **path, int *score)
{
	const char *k = key;
	int url = 0;
	if (!strncasecmp(k, "https://", 8)) {
		k += 8;
		url = 1;
	} else if (!strncasecmp(k, "http://", 7)) {
		k += 7;
		url = 1;
	}
	size_t n = strcspn(k, "/");
	*host = norm_hostpart(k, n);
	const char *rest = k[n] == '/' ? k + n + 1 : "";
	size_t rl = strlen(rest);
	while (rl && rest[rl - 1] == '/')
		rl--;
	if (url || !rl) {
		*path = xstrdup("");
		*score = url ? 0 : 1;
	} else {
		*path = xstrndup(rest, rl);
		*score = 2 + (int)rl;
	}
}

/* No CR, LF or NUL: the value goes into a header or a form. */
static int line_safe(const char *s, size_t n)
{
	return !memchr(s, '\r', n) && !memchr(s, '\n', n) && !memchr(s, '\0', n);
}

static int helper_name_ok(const char *s)
{
	if (!*s || strlen(s) > 64)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("._-", *s))
			return 0;
	return 1;
}

static int load_entry(struct authfile *af, const char *key, json_t *ent, struct tally_err *err)
{
	if (!json_is_object(ent))
		return tally_err_set(err, TC_INPUT, "%s: auths entry \"%s\" is not an object", af->path,
				     key);
	json_t *a = json_object_get(ent, "auth");
	json_t *u = json_object_get(ent, "username");
	json_t *p = json_object_get(ent, "password");
	json_t *it = json_object_get(ent, "identitytoken");
	char *user = NULL, *pass = NULL, *tok = NULL;
	if (a && !json_is_string(a))
		goto bad;
	if (json_is_string(a) && json_string_length(a) > 0) {
		struct sbuf d = {0};
		char *colon;
		if (base64_decode(json_string_value(a), &d) < 0 || !d.buf ||
		    !(colon = memchr(d.buf, ':', d.len)) || !line_safe(d.buf, d.len)) {
			if (d.buf)
				explicit_bzero(d.buf, d.len);
			sbuf_free(&d);
			return tally_err_set(err, TC_INPUT,
					     "%s: auths entry \"%s\": \"auth\" is not base64 of "
					     "user:password; log in again (buildah login)",
					     af->path, key);
		}
		user = xstrndup(d.buf, (size_t)(colon - d.buf));
		pass = xstrdup(colon + 1);
		explicit_bzero(d.buf, d.len);
		sbuf_free(&d);
	} else if (json_is_string(u) || json_is_string(p)) {
		if (!json_is_string(u) || !json_is_string(p) ||
		    !line_safe(json_string_value(u), json_string_length(u)) ||
		    !line_safe(json_string_value(p), json_string_length(p)))
			goto bad;
		user = xstrdup(json_string_value(u));
		pass = xstrdup(json_string_value(p));
	}
	if (it && !json_is_null(it)) {
		if (!json_is_string(it) || !line_safe(json_string_value(it), json_string_length(it))) {
			free_secret(user);
			free_secret(pass);
			goto bad;
		}
		if (json_string_length(it))
			tok = xstrdup(json_string_value(it));
	}
	af->ents = xrealloc(af->ents, (af->nents + 1) * sizeof *af->ents);
	struct entry *e = &af->ents[af->nents++];
	memset(e, 0, sizeof *e);
	parse_key(key, &e->host, &e->path, &e->score);
	e->key = xstrdup(key);
	e->user = user;
	e->pass = pass;
	e->identity_token = tok;
	return 0;
bad:
	return tally_err_set(err, TC_INPUT,
			     "%s: auths entry \"%s\" has an unusable \"username\", \"password\" or "
			     "\"identitytoken\"", af->path, key);
}

int authfile_load(const char *path, struct authfile **out, struct tally_err *err)
{
	struct authfile *af = xcalloc(1, sizeof *af);
	struct sbuf sb = {0};
	json_t *root = NULL;
	json_error_t je;
	int ret = -1;

	*out = NULL;
	af->path = xstrdup(path ? path : "");
	if (!path || !*path) {
		ret = 0;
		goto out;
	}
	if (util_read_file(path, &sb, err) < 0) {
		if (errno == ENOENT) {
			tally_err_clear(err);
			ret = 0;
		}
		goto out;
	}
	af->exists = 1;
	/* jansson's "near" text could quote a secret: only the position */
	root = json_loadb(sb.buf ? sb.buf : "", sb.len, 0, &je);
	if (!root) {
		tally_err_set(err, TC_INPUT, "%s:%d:%d: auth file is not valid JSON; fix or remove it",
			      path, je.line, je.column);
		goto out;
	}
	if (!json_is_object(root)) {
		tally_err_set(err, TC_INPUT, "%s: auth file is not a JSON object", path);
		goto out;
	}
	json_t *auths = json_object_get(root, "auths");
	if (auths && !json_is_null(auths) && !json_is_object(auths)) {
		tally_err_set(err, TC_INPUT, "%s: \"auths\" is not an object", path);
		goto out;
	}
	const char *key;
	json_t *v;
	json_object_foreach(auths, key, v) {
		if (load_entry(af, key, v, err) < 0)
			goto out;
	}
	json_t *helpers = json_object_get(root, "credHelpers");
	if (helpers && !json_is_null(helpers) && !json_is_object(helpers)) {
		tally_err_set(err, TC_INPUT, "%s: \"credHelpers\" is not an object", path);
		goto out;
	}
	json_object_foreach(helpers, key, v) {
		if (!json_is_string(v) || !helper_name_ok(json_string_value(v))) {
			tally_err_set(err, TC_INPUT,
				      "%s: credHelpers entry \"%s\" is not a helper name "
				      "([A-Za-z0-9._-], the part after docker-credential-)", path, key);
			goto out;
		}
		char *h, *p;
		int score;
		parse_key(key, &h, &p, &score);
		free(p);
		af->helpers = xrealloc(af->helpers, (af->nhelpers + 1) * sizeof *af->helpers);
		af->helpers[af->nhelpers].host = h;
		af->helpers[af->nhelpers].name = xstrdup(json_string_value(v));
		af->nhelpers++;
	}
	json_t *store = json_object_get(root, "credsStore");
	if (store && !json_is_null(store)) {
		if (!json_is_string(store) ||
		    (json_string_length(store) && !helper_name_ok(json_string_value(store)))) {
			tally_err_set(err, TC_INPUT,
				      "%s: \"credsStore\" is not a helper name ([A-Za-z0-9._-], the "
				      "part after docker-credential-)", path);
			goto out;
		}
		if (json_string_length(store))
			af->store = xstrdup(json_string_value(store));
	}
	ret = 0;
out:
	json_decref(root);
	if (sb.buf)
		explicit_bzero(sb.buf, sb.len);
	sbuf_free(&sb);
	if (ret == 0)
		*out = af;
	else
		authfile_free(af);
	return ret;
}

/* ---- helpers ---- */

struct capture {
	struct sbuf out;
	int over;
};

static void on_output(void *ctx, const char *data, size_t len)
{
	struct capture *c = ctx;
	if (!data)
		return;
	if (c->out.len + len > HELPER_OUTPUT_MAX) {
		c->over = 1;
		return;
	}
	sbuf_add(&c->out, data, len);
}

/* First line of a failing helper's output, cut and cleaned, unless it looks
 * like it carries a secret. */
static void helper_said(const struct capture *c, char *buf, size_t cap)
{
	const char *s = sbuf_str(&c->out);
	buf[0] = '\0';
	while (*s == '\n' || *s == ' ')
		s++;
	size_t n = strcspn(s, "\n");
	if (!n || strstr(s, "Secret") || strstr(s, "secret\""))
		return;
	if (n > 160)
		n = 160;
	snprintf(buf, cap, ": %.*s", (int)n, s);
	for (char *p = buf; *p; p++)
		if (!isprint((unsigned char)*p))
			*p = '?';
}

static int run_helper(const struct authfile *af, const char *name, const char *host,
		      struct authfile_cred *cred, char *msg, size_t msgcap)
{
	char *prog = xasprintf("docker-credential-%s", name);
	char *argv[] = {prog, "get", NULL};
	/* the Hub is known to helpers by its old index name */
	const char *server = !strcmp(host, HUB_HOST) ? "https://index.docker.io/v1/" : host;
	struct capture cap = {0};
	struct run_opts o = {
		.argv = argv, .log_fd = -1, .timeout_s = HELPER_TIMEOUT_S, .cancel_fd = -1,
		.on_output = on_output, .ctx = &cap, .stdin_data = server, .stdin_len = strlen(server),
	};
	struct run_result rr = {0};
	struct tally_err e = {0};
	json_t *root = NULL;
	int ret = -1;

	if (runner_run(&o, &rr, &e) < 0) {
		snprintf(msg, msgcap, "%s (named in %s for %s): %.300s", prog, af->path, host, e.msg);
		goto out;
	}
	if (rr.timed_out || !rr.exited || rr.status != 0) {
		/* the protocol's own "no credentials" answer is not a failure */
		if (rr.exited && strstr(sbuf_str(&cap.out), "credentials not found")) {
			ret = 0;
			goto out;
		}
		char said[200];
		helper_said(&cap, said, sizeof said);
		if (rr.timed_out)
			snprintf(msg, msgcap, "%s get (named in %s for %s) did not answer in %d s", prog,
				 af->path, host, HELPER_TIMEOUT_S);
		else
			snprintf(msg, msgcap, "%s get (named in %s for %s) failed with status %d%s", prog,
				 af->path, host, rr.exited ? rr.status : 128 + rr.status, said);
		goto out;
	}
	/* stdout and stderr share the runner's pipe: take the JSON object */
	const char *s = sbuf_str(&cap.out), *lb = strchr(s, '{'), *rb = strrchr(s, '}');
	json_error_t je;
	if (!cap.over && lb && rb && rb > lb)
		root = json_loadb(lb, (size_t)(rb - lb + 1), 0, &je);
	const char *u = json_string_value(json_object_get(root, "Username"));
	const char *sec = json_string_value(json_object_get(root, "Secret"));
	if (!u || !sec || !*sec || !line_safe(u, strlen(u)) || !line_safe(sec, strlen(sec))) {
		snprintf(msg, msgcap,
			 "%s get (named in %s for %s) did not answer {\"Username\": ..., \"Secret\": ...}",
			 prog, af->path, host);
		goto out;
	}
	if (!strcmp(u, "<token>")) {
		cred->identity_token = xstrdup(sec);
	} else {
		cred->user = xstrdup(u);
		cred->pass = xstrdup(sec);
	}
	cred->source = xstrdup(prog);
	ret = 0;
out:
	json_decref(root);
	if (cap.out.buf)
		explicit_bzero(cap.out.buf, cap.out.len);
	sbuf_free(&cap.out);
	free(prog);
	return ret;
}

static int copy_cred(const struct authfile_cred *from, struct authfile_cred *to)
{
	to->user = xstrdup(from->user);
	to->pass = xstrdup(from->pass);
	to->identity_token = xstrdup(from->identity_token);
	to->source = xstrdup(from->source);
	return 0;
}

static int helper_cached(struct authfile *af, const char *name, const char *host,
			 struct authfile_cred *out, struct tally_err *err)
{
	struct cached *c = NULL;
	for (size_t i = 0; i < af->ncache && !c; i++)
		if (!strcmp(af->cache[i].host, host))
			c = &af->cache[i];
	if (!c) {
		af->cache = xrealloc(af->cache, (af->ncache + 1) * sizeof *af->cache);
		c = &af->cache[af->ncache++];
		memset(c, 0, sizeof *c);
		c->host = xstrdup(host);
		c->failed = run_helper(af, name, host, &c->cred, c->msg, sizeof c->msg) < 0;
	}
	if (c->failed)
		return tally_err_set(err, TC_AUTH, "%s", c->msg);
	return copy_cred(&c->cred, out);
}

int authfile_lookup(struct authfile *af, const char *host, const char *name,
		    struct authfile_cred *out, struct tally_err *err)
{
	memset(out, 0, sizeof *out);
	if (!af)
		return 0;
	for (size_t i = 0; i < af->nhelpers; i++)
		if (!strcmp(af->helpers[i].host, host))
			return helper_cached(af, af->helpers[i].name, host, out, err);
	const struct entry *best = NULL;
	for (size_t i = 0; i < af->nents; i++) {
		const struct entry *e = &af->ents[i];
		if (strcmp(e->host, host) != 0 || (!e->user && !e->identity_token))
			continue;
		if (*e->path) {
			size_t pl = strlen(e->path);
			if (!name || strncmp(name, e->path, pl) != 0 || (name[pl] && name[pl] != '/'))
				continue;
		}
		if (!best || e->score > best->score)
			best = e;
	}
	if (best) {
		out->user = xstrdup(best->user);
		out->pass = xstrdup(best->pass);
		out->identity_token = xstrdup(best->identity_token);
		out->source = xstrdup(af->path);
		return 0;
	}
	if (af->store)
		return helper_cached(af, af->store, host, out, err);
	return 0;
}
