/* confcheck.c - the checks of tally.conf values (see confcheck.h): each
 * value by its key's flags, the values with parts of their own (upstream,
 * recordAlso, secret), and after all entries the checks across keys and
 * components. Every failure names the file, the line and the key. No
 * threads. */
#include "confcheck.h"

#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hashindex.h"
#include "hostname.h"
#include "template.h"
#include "version.h"

int confcheck_comp_name(const char *s)
{
	if (!*s || !(isalnum((unsigned char)*s) || *s == '_'))
		return 0;
	for (s++; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '_' || *s == '.' || *s == '-'))
			return 0;
	return 1;
}

/* A path inside the repo: relative and never climbing out. */
static const char *relpath_problem(const char *p)
{
	if (*p == '/')
		return "is absolute; write a path relative to the repository root";
	for (const char *s = p; *s;) {
		const char *e = strchr(s, '/');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		if (n == 2 && s[0] == '.' && s[1] == '.')
			return "contains '..'; write a path inside the repository";
		if (n == 4 && strncasecmp(s, ".git", 4) == 0)
			return "is inside .git; write a path to a file of the working tree";
		s += n;
		if (*s == '/')
			s++;
	}
	if (strcmp(p, ".") == 0 || str_ends(p, "/"))
		return "is not a file path";
	return NULL;
}

/* A key of a KEY=VALUE line: no blanks, '=' or '#' that would change the line. */
static int varname_ok(const char *s)
{
	if (!*s || *s == '#')
		return 0;
	for (; *s; s++)
		if (isspace((unsigned char)*s) || *s == '=' || (unsigned char)*s < 0x20)
			return 0;
	return 1;
}

/* "./a//b" and "a/b" name one file. Caller frees. */
static char *path_norm(const char *p)
{
	struct sbuf sb = {0};
	for (const char *s = p; *s;) {
		const char *e = strchr(s, '/');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		if (n && !(n == 1 && s[0] == '.')) {
			if (sb.len)
				sbuf_addc(&sb, '/');
			sbuf_add(&sb, s, n);
		}
		s += n;
		if (*s == '/')
			s++;
	}
	if (!sb.buf)
		return xstrdup("");
	return sbuf_detach(&sb);
}

int confcheck_upstream(struct loader *ld, struct comp_conf *cc, const char *value, int line,
		       const char *key)
{
	const char *p = value;
	while (isspace((unsigned char)*p))
		p++;
	const char *k = p;
	while (*p && !isspace((unsigned char)*p))
		p++;
	char *kind = xstrndup(k, (size_t)(p - k));
	while (isspace((unsigned char)*p))
		p++;
	size_t alen = strlen(p);
	while (alen && isspace((unsigned char)p[alen - 1]))
		alen--;
	char *arg = xstrndup(p, alen);

	int known = 0;
	for (size_t i = 0; config_upstream_kinds[i]; i++)
		if (strcmp(config_upstream_kinds[i], kind) == 0)
			known = 1;
	if (!known) {
		conf_fail_at(ld, line, key, "unknown upstream kind \"%s\"; use github-release, github-tag, "
			"registry-tags, git-tags, file-regex or manual", kind);
		goto fail;
	}
	if (strcmp(kind, "manual") == 0 && *arg) {
		conf_fail_at(ld, line, key, "manual takes no argument");
		goto fail;
	}
	if (strcmp(kind, "manual") != 0 && !*arg) {
		conf_fail_at(ld, line, key, "%s needs an argument (%s)", kind,
			str_starts(kind, "github") ? "OWNER/REPO" :
			strcmp(kind, "registry-tags") == 0 ? "HOST/NAME" : "URL");
		goto fail;
	}
	free(cc->upstream);
	free(cc->upstream_kind);
	free(cc->upstream_arg);
	cc->upstream = xstrdup(value);
	cc->upstream_kind = kind;
	cc->upstream_arg = arg;
	return 0;
fail:
	free(kind);
	free(arg);
	return -1;
}

int confcheck_record_also(struct loader *ld, struct comp_conf *cc, struct comp_aux *ax,
			  const char *value, int line, const char *key)
{
	const char *colon = strchr(value, ':');
	const char *eq = colon ? strchr(colon + 1, '=') : NULL;
	if (!colon || !eq || colon == value || eq == colon + 1 || eq[1] == '\0')
		return conf_fail_at(ld, line, key, "\"%s\" is not FILE:VAR=TEMPLATE "
			       "(e.g. .env:SERVER_VERSION={version})", value);
	char *file = xstrndup(value, (size_t)(colon - value));
	char *var = xstrndup(colon + 1, (size_t)(eq - colon - 1));
	char *ctx = NULL;
	const char *why = relpath_problem(file);
	if (why) {
		conf_fail_at(ld, line, key, "file \"%s\" %s", file, why);
		goto fail;
	}
	if (!varname_ok(var)) {
		conf_fail_at(ld, line, key, "\"%s\" is not a usable key name; use no blanks, '=' or "
			"leading '#'", var);
		goto fail;
	}
	ctx = conf_ctx_at(ld, line, key);
	if (template_check(eq + 1, config_template_vars, CONF_NONCMD_NVARS, 0, ctx, ld->err) < 0)
		goto fail;
	free(ctx);
	cc->record_also = xrealloc(cc->record_also, (cc->nrecord_also + 1) * sizeof *cc->record_also);
	cc->record_also[cc->nrecord_also].file = file;
	cc->record_also[cc->nrecord_also].var = var;
	cc->record_also[cc->nrecord_also].tmpl = xstrdup(eq + 1);
	cc->nrecord_also++;
	ax->ra_lines = xrealloc(ax->ra_lines, (ax->nra_lines + 1) * sizeof *ax->ra_lines);
	ax->ra_lines[ax->nra_lines++] = line;
	return 0;
fail:
	free(ctx);
	free(file);
	free(var);
	return -1;
}

int config_secret_parse(const char *spec, char **id, int *from_env, char **src, char *why, size_t whylen)
{
	*id = *src = NULL;
	const char *eq = strchr(spec, '=');
	size_t n = eq ? (size_t)(eq - spec) : 0;
	int good = n > 0 && n <= 64 && isalnum((unsigned char)spec[0]);
	for (size_t i = 1; good && i < n; i++)
		good = isalnum((unsigned char)spec[i]) || spec[i] == '_' || spec[i] == '.' || spec[i] == '-';
	if (!good) {
		snprintf(why, whylen, "\"%s\" has no usable ID; write ID=env:VAR or ID=file:PATH with an ID "
			 "of letters, digits, '.', '_' or '-'", spec);
		return -1;
	}
	const char *v = eq + 1;
	int env = str_starts(v, "env:"), file = str_starts(v, "file:");
	const char *rest = env ? v + 4 : file ? v + 5 : NULL;
	if (!rest || !*rest) {
		snprintf(why, whylen, "\"%s\": the source must be env:VAR or file:PATH", spec);
		return -1;
	}
	if (env) {
		int ok = isalpha((unsigned char)rest[0]) || rest[0] == '_';
		for (const char *p = rest + 1; ok && *p; p++)
			ok = isalnum((unsigned char)*p) || *p == '_';
		if (!ok) {
			snprintf(why, whylen, "\"%s\": \"%s\" is not an environment variable name", spec, rest);
			return -1;
		}
	}
	*id = xstrndup(spec, n);
	*from_env = env;
	*src = xstrdup(rest);
	return 0;
}

/* The {secret:ID} names a build template uses, pushed to out. */
static void secret_refs(const char *tmpl, struct strv *out)
{
	for (const char *p = tmpl; (p = strstr(p, "{secret:")) != NULL; p++) {
		if (p > tmpl && p[-1] == '{')
			continue;   /* "{{secret:" is literal */
		const char *end = strchr(p, '}');
		if (end)
			strv_push_owned(out, xstrndup(p + 1, (size_t)(end - p - 1)));
	}
}

int confcheck_str(struct loader *ld, const struct keydef *kd, const char *value, int line,
		  const char *key)
{
	char *ctx = NULL;
	int rc = 0;

	if (kd->flags & KF_RELPATH) {
		const char *why = relpath_problem(value);
		if (why)
			return conf_fail_at(ld, line, key, "\"%s\" %s", value, why);
	}
	if (kd->flags & KF_ENVNAME) {
		size_t n = strlen(value), i = 0;
		int good = n > 0 && (isalpha((unsigned char)value[0]) || value[0] == '_');
		for (i = 1; good && i < n; i++)
			good = isalnum((unsigned char)value[i]) || value[i] == '_' ||
			       (value[i] == '*' && i == n - 1);
		if (!good)
			return conf_fail_at(ld, line, key, "\"%s\" is not an environment variable name; "
				       "write NAME or a prefix such as AWS_*", value);
	}
	if ((kd->flags & KF_HOST) && !host_name_ok(value))
		return conf_fail_at(ld, line, key, "\"%s\" is not a host name; use letters, digits, '.', "
			       "'_' and '-', starting with a letter or digit", value);
	if ((kd->flags & KF_VARNAME) && !varname_ok(value))
		return conf_fail_at(ld, line, key, "\"%s\" is not a usable key name; use no blanks, '=' "
			       "or leading '#'", value);
	if (kd->flags & (KF_CMD | KF_SUBST | KF_SPLIT | KF_REGEX))
		ctx = conf_ctx_at(ld, line, key);
	if (kd->flags & KF_SECRET) {
		char *id, *src, why[512];
		int from_env;
		if (config_secret_parse(value, &id, &from_env, &src, why, sizeof why) < 0)
			return conf_fail_at(ld, line, key, "%s", why);
		free(id);
		free(src);
	}
	if (kd->flags & (KF_CMD | KF_SUBST)) {
		/* {secret:ID} is known to the build command only; finish()
		 * checks that each names a secret of the component; the
		 * platform variables only in commands */
		struct strv secrets = {0};
		size_t nv = (kd->flags & KF_CMD) ? config_template_nvars : CONF_NONCMD_NVARS;
		if (!strcmp(kd->key, "build"))
			secret_refs(value, &secrets);
		const char **names = xcalloc(nv + secrets.n + 1, sizeof *names);
		for (size_t i = 0; i < nv; i++)
			names[i] = config_template_vars[i];
		for (size_t i = 0; i < secrets.n; i++)
			names[nv + i] = secrets.v[i];
		rc = template_check(value, names, nv + secrets.n, (kd->flags & KF_CMD) ? 1 : 0, ctx, ld->err);
		free(names);
		strv_free(&secrets);
	} else if (kd->flags & KF_SPLIT) {
		char **words = NULL;
		rc = template_split(value, &words, NULL, ctx, ld->err);
		template_argv_free(words);
	} else if (kd->flags & KF_REGEX) {
		struct vfilter f;
		int inc = strcasecmp(kd->key, "include") == 0;
		rc = vfilter_init(&f, inc ? value : NULL, inc ? NULL : value, 0, ctx, ld->err);
		if (rc == 0)
			vfilter_free(&f);
	} else if (kd->flags & KF_MATCH) {
		regex_t re;
		int e = regcomp(&re, value, REG_EXTENDED);
		if (e != 0) {
			char why[256];
			regerror(e, &re, why, sizeof why);
			rc = conf_fail_at(ld, line, key, "bad regex \"%s\": %s; write a POSIX extended "
				     "regular expression", value, why);
		} else {
			if (re.re_nsub < 1)
				rc = conf_fail_at(ld, line, key, "\"%s\" has no capture group; put the "
					     "version in ( )", value);
			regfree(&re);
		}
	}
	free(ctx);
	return rc;
}

/* Secrets: distinct IDs, not too many, and every {secret:ID} of the build
 * names one of them. */
static int check_secrets(struct loader *ld, struct comp_conf *cc, const struct comp_aux *ax)
{
	int rc = 0;
	struct strv ids = {0}, refs = {0};
	char *key = xasprintf("component.%s.secret", cc->name);
	if (cc->secrets.n > CONFIG_MAX_SECRETS)
		rc = conf_fail_at(ld, ax->secret_line, key, "%zu secrets; at most %d per component",
			     cc->secrets.n, CONFIG_MAX_SECRETS);
	for (size_t i = 0; rc == 0 && i < cc->secrets.n; i++) {
		char *id, *src, why[512];
		int from_env;
		if (config_secret_parse(cc->secrets.v[i], &id, &from_env, &src, why, sizeof why) < 0) {
			rc = conf_fail_at(ld, ax->secret_line, key, "%s", why);
			break;
		}
		if (strv_contains(&ids, id))
			rc = conf_fail_at(ld, ax->secret_line, key, "secret %s is given twice", id);
		strv_push_owned(&ids, id);
		free(src);
	}
	secret_refs(cc->build ? cc->build : "", &refs);
	for (size_t i = 0; rc == 0 && i < refs.n; i++) {
		const char *id = refs.v[i] + strlen("secret:");
		if (!strv_contains(&ids, id)) {
			free(key);
			key = xasprintf("component.%s.build", cc->name);
			rc = conf_fail_at(ld, ax->build_line, key, "{secret:%s} names no secret of this "
				     "component; add secret = %s=env:VAR (or file:PATH)", id, id);
		}
	}
	free(key);
	strv_free(&ids);
	strv_free(&refs);
	return rc;
}

/* A key written by a component: "var\nfile" (file normalised). */
struct owner {
	char *key;
	size_t comp;
	int line;
};

static const char *owner_key(const void *ctx, size_t i)
{
	return ((const struct owner *)ctx)[i].key;
}

int confcheck_finish(struct loader *ld)
{
	struct tally_conf *c = ld->conf;

	if (c->ncomps == 0)
		return tally_err_set(ld->err, TC_INPUT,
				     "%s: no components; add a [component \"NAME\"] section", ld->name);
	for (size_t i = 0; i < c->ncomps; i++) {
		struct comp_conf *cc = &c->comps[i];
		struct comp_aux *ax = &ld->aux[i];
		const char *missing = !cc->file ? "file" : !cc->upstream ? "upstream" :
				      !cc->build ? "build" : NULL;
		if (missing) {
			char *key = xasprintf("component.%s.%s", cc->name, missing);
			conf_fail_at(ld, ax->header_line, key, "required key missing; add it to [component \"%s\"]",
				cc->name);
			free(key);
			return -1;
		}
		if (strcmp(cc->upstream_kind, "file-regex") == 0 && !cc->match) {
			char *key = xasprintf("component.%s.match", cc->name);
			conf_fail_at(ld, ax->upstream_line, key, "required for a file-regex upstream; "
				"give a regex whose first capture group is the version");
			free(key);
			return -1;
		}
		if (!cc->key)
			cc->key = xstrdup(cc->name);
		if (!cc->image)
			cc->image = xasprintf("{prefix}/%s", cc->name);
		if (cc->tags.n == 0)
			strv_push(&cc->tags, "{version}");
		if (!cc->push)
			cc->push = xstrdup(c->reg_cert_dir ? CONFIG_DEFAULT_PUSH_CERTDIR : CONFIG_DEFAULT_PUSH);
		if (!cc->version_label)
			cc->version_label = xstrdup(CONFIG_DEFAULT_VERSION_LABEL);
		if (check_secrets(ld, cc, ax) < 0)
			return -1;
	}

	/* platform values are os/arch[/variant]; {platform} and friends only with them */
	for (size_t i = 0; i < c->ncomps; i++) {
		struct comp_conf *cc = &c->comps[i];
		for (size_t k = 0; k < cc->platforms.n; k++) {
			const char *v = cc->platforms.v[k];
			size_t slashes = 0, ok = *v && *v != '/';
			for (const char *p = v; *p && ok; p++) {
				if (*p == '/')
					ok = ++slashes <= 2 && p[1] && p[1] != '/';
				else
					ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_';
			}
			int dup = 0;
			for (size_t o = 0; o < k; o++)
				dup |= !strcmp(cc->platforms.v[o], v);
			if (!ok || slashes < 1 || dup) {
				char *key = xasprintf("component.%s.platform", cc->name);
				conf_fail_at(ld, ld->aux[i].header_line, key,
					dup ? "'%s' is given twice" : "'%s' is not os/arch[/variant] (linux/amd64, linux/arm64/v8)", v);
				free(key);
				return -1;
			}
		}
		static const char *const pvars[] = {"{platform}", "{os}", "{arch}", "{variant}"};
		for (size_t k = 0; k < 4 && !cc->platforms.n; k++)
			if (strstr(cc->build, pvars[k]) || strstr(cc->push, pvars[k]) ||
			    (cc->cleanup && strstr(cc->cleanup, pvars[k]))) {
				char *key = xasprintf("component.%s.platform", cc->name);
				conf_fail_at(ld, ld->aux[i].header_line, key,
					"a command uses %s but the component has no platform; add platform = os/arch",
					pvars[k]);
				free(key);
				return -1;
			}
	}

	/* after names other components */
	for (size_t i = 0; i < c->ncomps; i++) {
		struct comp_conf *cc = &c->comps[i];
		for (size_t k = 0; k < cc->after.n; k++) {
			int known = 0;
			for (size_t o = 0; o < c->ncomps; o++)
				known |= o != i && strcmp(c->comps[o].name, cc->after.v[k]) == 0;
			if (!known) {
				char *key = xasprintf("component.%s.after", cc->name);
				conf_fail_at(ld, ld->aux[i].header_line, key,
					"'%s' is not another component; name a [component] of this file",
					cc->after.v[k]);
				free(key);
				return -1;
			}
		}
	}

	/* Two writers of one key would undo each other's records. Hashed on
	 * "var\nfile" (a key has no newline), so 1,000 components cost
	 * nothing at start-up. */
	size_t nown = 0, capown = 0;
	struct owner *own = NULL;
	struct hashindex ix = {0};
	int rc = 0;
	for (size_t i = 0; i < c->ncomps && rc == 0; i++) {
		struct comp_conf *cc = &c->comps[i];
		for (size_t j = 0; j <= cc->nrecord_also && rc == 0; j++) {
			const char *file = j == 0 ? cc->file : cc->record_also[j - 1].file;
			const char *var = j == 0 ? cc->key : cc->record_also[j - 1].var;
			int line = j == 0 ? ld->aux[i].file_line : ld->aux[i].ra_lines[j - 1];
			char *nf = path_norm(file);
			char *fk = xasprintf("%s\n%s", var, nf);
			free(nf);
			long k = hashindex_find(&ix, fk, strlen(fk), owner_key, own);
			if (k >= 0) {
				char *key = xasprintf("component.%s.%s", cc->name, j == 0 ? "file" : "recordAlso");
				conf_fail_at(ld, line, key, "%s key %s is already written by "
					"component %s (line %d); give each component its own key",
					file, var, c->comps[own[k].comp].name, own[k].line);
				free(key);
				free(fk);
				rc = -1;
				break;
			}
			if (nown == capown) {
				capown = capown ? capown * 2 : 8;
				own = xrealloc(own, capown * sizeof *own);
			}
			own[nown++] = (struct owner){fk, i, line};
			hashindex_added(&ix, nown, owner_key, own);
		}
	}
	for (size_t k = 0; k < nown; k++)
		free(own[k].key);
	free(own);
	hashindex_free(&ix);
	return rc;
}

