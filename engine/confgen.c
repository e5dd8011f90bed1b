/* confgen.c - `tally init`: guesses a starter tally.conf from the files
 * committed in a versions repository. Every guess is a plain heuristic over
 * file names and text (no network); the ones an operator must confirm carry
 * "# check this". */
#include "confgen.h"

#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <git2.h>

#include "config.h"
#include "repo.h"
#include "version.h"
#include "versionfile.h"

#define MAX_FILE (1024 * 1024)   /* larger files are not read */
#define MAX_FILES 20000          /* a tree bigger than this is cut short */

enum fkind { FK_OTHER, FK_VERSIONS, FK_DOCKERFILE, FK_ENV, FK_WORKFLOW, FK_COMPOSE };

struct gfile {
	char *path;
	enum fkind kind;
	struct sbuf text;
};

struct comp {
	char *name, *key, *file, *value;
	struct strv recipes;
	char *build_arg;
	char *context;             /* build context directory */
	char *upstream, *up_note;
	char *match;
	char *image;               /* name under the prefix, NULL: default */
	char *tag;                 /* {version}SUFFIX seen in a recordAlso value */
	struct strv record_also;   /* FILE:VAR=TEMPLATE */
};

struct gen {
	git_repository *repo;
	git_commit *head;
	struct gfile *files;
	size_t nfiles, capfiles;
	struct comp *comps;
	size_t ncomps, capcomps;
	struct strv notes;         /* comment lines at the top */
	char *prefix, *prefix_from;
};

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static enum fkind kind_of(const char *path)
{
	const char *b = base_name(path);
	if (strcmp(path, "tally.conf") == 0)
		return FK_OTHER;
	if (str_starts(path, ".github/workflows/") && (str_ends(b, ".yml") || str_ends(b, ".yaml")))
		return FK_WORKFLOW;
	if (strcmp(path, ".gitlab-ci.yml") == 0)
		return FK_WORKFLOW;
	if (strncasecmp(b, "Dockerfile", 10) == 0 || strncasecmp(b, "Containerfile", 13) == 0 ||
	    str_ends(b, ".dockerfile") || str_ends(b, ".containerfile"))
		return FK_DOCKERFILE;
	if (strcmp(b, ".env") == 0 || str_ends(b, ".env"))
		return FK_ENV;
	if (strstr(b, "compose") && (str_ends(b, ".yml") || str_ends(b, ".yaml")))
		return FK_COMPOSE;
	const char *dot = strrchr(b, '.');
	int ext_ok = !dot || dot == b || strcmp(dot, ".txt") == 0 || strcmp(dot, ".properties") == 0;
	char lower[256];
	snprintf(lower, sizeof lower, "%s", b);
	for (char *p = lower; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (strstr(lower, "version") && ext_ok)
		return FK_VERSIONS;
	return FK_OTHER;
}

static int walk_cb(const char *root, const git_tree_entry *entry, void *payload)
{
	struct gen *g = payload;
	if (git_tree_entry_type(entry) == GIT_OBJECT_TREE) {
		const char *n = git_tree_entry_name(entry);
		/* vendored trees are not the repo's own */
		return strcmp(n, "node_modules") == 0 || strcmp(n, "vendor") == 0 ? 1 : 0;
	}
	if (git_tree_entry_type(entry) != GIT_OBJECT_BLOB || g->nfiles >= MAX_FILES)
		return 0;
	char *path = xasprintf("%s%s", root, git_tree_entry_name(entry));
	enum fkind k = kind_of(path);
	if (k == FK_OTHER) {
		free(path);
		return 0;
	}
	git_blob *blob = NULL;
	if (git_blob_lookup(&blob, g->repo, git_tree_entry_id(entry)) < 0 ||
	    git_blob_rawsize(blob) > MAX_FILE || git_blob_is_binary(blob)) {
		git_blob_free(blob);
		free(path);
		return 0;
	}
	if (g->nfiles == g->capfiles) {
		g->capfiles = g->capfiles ? g->capfiles * 2 : 32;
		g->files = xrealloc(g->files, g->capfiles * sizeof *g->files);
	}
	struct gfile *f = &g->files[g->nfiles++];
	f->path = path;
	f->kind = k;
	sbuf_init(&f->text);
	sbuf_add(&f->text, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob));
	git_blob_free(blob);
	return 0;
}

/* needle occurs in hay as a word: case-insensitive, not inside a longer
 * run of letters and digits. */
static int mentions(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	if (!n)
		return 0;
	for (const char *p = hay; (p = strcasestr(p, needle)); p++) {
		int before = p == hay || !isalnum((unsigned char)p[-1]);
		int after = !isalnum((unsigned char)p[n]);
		if (before && after)
			return 1;
	}
	return 0;
}

/* A component name from a key: characters config refuses become '-'. */
static char *name_of(const char *key)
{
	char *s = xstrdup(key);
	for (char *p = s; *p; p++)
		if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '.' || *p == '-'))
			*p = '-';
	if (!(isalnum((unsigned char)s[0]) || s[0] == '_'))
		s[0] = '_';
	return s;
}

static struct comp *comp_find(struct gen *g, const char *name)
{
	for (size_t i = 0; i < g->ncomps; i++)
		if (strcmp(g->comps[i].name, name) == 0)
			return &g->comps[i];
	return NULL;
}

static void add_comp(struct gen *g, const char *file, const char *key, const char *value)
{
	char *name = name_of(key);
	if (comp_find(g, name)) {
		/* the same key in two files: the second is named after its file */
		char *stem = xstrdup(base_name(file));
		char *dot = strrchr(stem, '.');
		if (dot && dot != stem)
			*dot = '\0';
		char *n2 = xasprintf("%s-%s", stem, key);
		free(name);
		name = name_of(n2);
		free(n2);
		free(stem);
		for (int i = 2; comp_find(g, name); i++) {
			free(name);
			char *n3 = xasprintf("%s-%s-%d", base_name(file), key, i);
			name = name_of(n3);
			free(n3);
		}
	}
	if (g->ncomps == g->capcomps) {
		g->capcomps = g->capcomps ? g->capcomps * 2 : 8;
		g->comps = xrealloc(g->comps, g->capcomps * sizeof *g->comps);
	}
	struct comp *c = &g->comps[g->ncomps++];
	memset(c, 0, sizeof *c);
	c->name = name;
	c->key = xstrdup(key);
	c->file = xstrdup(file);
	c->value = xstrdup(value);
}

/* Version files in tree order, base images (base-versions.txt) last: the
 * components they build on come first in the config. */
static void find_components(struct gen *g)
{
	for (size_t ii = 0; ii < 2 * g->nfiles; ii++) {
		struct gfile *f = &g->files[ii % g->nfiles];
		int is_base = strcasestr(base_name(f->path), "base") != NULL;
		if (f->kind != FK_VERSIONS || is_base != (ii >= g->nfiles))
			continue;
		struct vfile *vf = NULL;
		struct tally_err err = {0};
		if (versionfile_parse(f->path, sbuf_str(&f->text), f->text.len, 0, &vf, &err) < 0) {
			/* a record such as web=null makes the strict parse refuse the
			 * whole file; the other keys are still components (read
			 * leniently, each value checked below), a file that is no
			 * key=value file at all is left out */
			struct tally_err lerr = {0};
			if (versionfile_parse(f->path, sbuf_str(&f->text), f->text.len, 1, &vf, &lerr) < 0 ||
			    !versionfile_count(vf)) {
				versionfile_free(vf);
				strv_push_owned(&g->notes, xasprintf("not a version file, left out: %s", err.msg));
				continue;
			}
		}
		for (size_t k = 0; k < versionfile_count(vf); k++) {
			const char *key = versionfile_key_at(vf, k), *val = versionfile_value_at(vf, k);
			if (!version_valid(val) || !strcmp(val, "null") || !strcmp(val, "undefined") ||
			    !strcmp(val, "None")) {
				strv_push_owned(&g->notes, xasprintf("%s:%d: %s=%s is not a version; fix the "
								      "record by hand, then add the component",
								      f->path, versionfile_line(vf, key), key, val));
				continue;
			}
			add_comp(g, f->path, key, val);
		}
		versionfile_free(vf);
	}
}

/* The ARG of a Dockerfile that carries the version: one whose name has
 * VERSION in it, preferring one that names the key. Caller frees. */
static char *version_arg(const char *text, const char *key)
{
	char *best = NULL;
	int best_score = 0;
	for (const char *line = text; *line;) {
		const char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		const char *p = line;
		while (p < line + len && isspace((unsigned char)*p))
			p++;
		if ((size_t)(line + len - p) > 4 && strncasecmp(p, "ARG", 3) == 0 &&
		    isspace((unsigned char)p[3])) {
			p += 3;
			while (isspace((unsigned char)*p))
				p++;
			size_t n = 0;
			while (p + n < line + len && (isalnum((unsigned char)p[n]) || p[n] == '_'))
				n++;
			char *arg = xstrndup(p, n);
			int score = strcasestr(arg, "version") ? 1 : 0;
			if (score && mentions(arg, key))
				score = 2;
			if (score && strchr(key, '_') == NULL) {
				/* OPENIM_SERVER_VERSION names "server" between underscores */
				char *k = xasprintf("_%s_", key), *a = xasprintf("_%s_", arg);
				if (strcasestr(a, k))
					score = 2;
				free(k);
				free(a);
			}
			if (score > best_score) {
				free(best);
				best = arg;
				best_score = score;
			} else {
				free(arg);
			}
		}
		line += len;
		if (*line)
			line++;
	}
	return best;
}

static int word_safe(const char *s)
{
	for (; *s; s++)
		if (isspace((unsigned char)*s) || *s == '\'' || *s == '"' || *s == '\\' || *s == '{' ||
		    *s == '}')
			return 0;
	return 1;
}

/* For a key split by '_' or '-' ("open-im-server"): any part equals key. */
static int name_has_part(const char *name, const char *key)
{
	return mentions(name, key);
}

static int in_tree(struct gen *g, const char *path)
{
	git_tree *tree = NULL;
	git_tree_entry *ent = NULL;
	int found = git_commit_tree(&tree, g->head) == 0 && git_tree_entry_bypath(&ent, tree, path) == 0;
	git_tree_entry_free(ent);
	git_tree_free(tree);
	return found;
}

/* The build context: the repository root when the recipe's COPY/ADD
 * sources are found from there, else the recipe's own directory (also when
 * it copies nothing). Caller frees. */
static char *context_of(struct gen *g, const char *recipe, const char *text)
{
	char *dir = xstrdup(recipe);
	char *slash = strrchr(dir, '/');
	if (!slash) {
		free(dir);
		return xstrdup(".");
	}
	*slash = '\0';
	int copies = 0, at_root = 0, at_dir = 0;
	for (const char *line = text; *line;) {
		size_t len = strcspn(line, "\n");
		const char *p = line;
		while (p < line + len && isspace((unsigned char)*p))
			p++;
		if ((strncasecmp(p, "COPY", 4) == 0 || strncasecmp(p, "ADD", 3) == 0) &&
		    isspace((unsigned char)p[toupper((unsigned char)*p) == 'C' ? 4 : 3])) {
			p += toupper((unsigned char)*p) == 'C' ? 4 : 3;
			int from = 0;
			/* the first source word after the options */
			for (;;) {
				while (p < line + len && isspace((unsigned char)*p))
					p++;
				if (p + 2 < line + len && p[0] == '-' && p[1] == '-') {
					from |= strncmp(p, "--from", 6) == 0;
					while (p < line + len && !isspace((unsigned char)*p))
						p++;
					continue;
				}
				break;
			}
			size_t n = 0;
			while (p + n < line + len && !isspace((unsigned char)p[n]))
				n++;
			char *src = n && !from ? xstrndup(p, n) : NULL;
			if (src && !strpbrk(src, "*?[$") && !strstr(src, "://")) {
				while (strlen(src) > 1 && src[strlen(src) - 1] == '/')
					src[strlen(src) - 1] = '\0';
				const char *rel = str_starts(src, "./") ? src + 2 : src;
				char *under = xasprintf("%s/%s", dir, rel);
				copies++;
				at_root += in_tree(g, rel);
				at_dir += in_tree(g, under);
				free(under);
			}
			free(src);
		}
		line += len;
		if (*line)
			line++;
	}
	if (copies && (at_root > at_dir || !at_dir)) {
		free(dir);
		return xstrdup(".");
	}
	return dir;
}

static void find_recipes(struct gen *g)
{
	for (size_t c = 0; c < g->ncomps; c++) {
		struct comp *cp = &g->comps[c];
		/* the file name first (Dockerfile.openim-server names "server"),
		 * then the text */
		for (int pass = 0; pass < 2 && !cp->recipes.n; pass++) {
			for (size_t i = 0; i < g->nfiles; i++) {
				struct gfile *f = &g->files[i];
				if (f->kind != FK_DOCKERFILE || !word_safe(f->path))
					continue;
				int hit = pass == 0 ? name_has_part(base_name(f->path), cp->key)
						    : mentions(sbuf_str(&f->text), cp->key);
				if (hit)
					strv_push(&cp->recipes, f->path);
			}
		}
		for (size_t i = 0; i < g->nfiles && cp->recipes.n && !cp->build_arg; i++)
			if (strcmp(g->files[i].path, cp->recipes.v[0]) == 0) {
				cp->build_arg = version_arg(sbuf_str(&g->files[i].text), cp->key);
				cp->context = context_of(g, cp->recipes.v[0], sbuf_str(&g->files[i].text));
			}
	}
}

/* Where V occurs in s as a whole version (not inside a longer one). */
static const char *find_version(const char *s, const char *v)
{
	size_t n = strlen(v);
	for (const char *p = s; (p = strstr(p, v)); p++) {
		int before = p == s || !(isalnum((unsigned char)p[-1]) || p[-1] == '.');
		int after = !(isdigit((unsigned char)p[n]) ||
			      (p[n] == '.' && isdigit((unsigned char)p[n + 1])));
		if (before && after)
			return p;
	}
	return NULL;
}

static void find_record_also(struct gen *g)
{
	for (size_t i = 0; i < g->nfiles; i++) {
		struct gfile *f = &g->files[i];
		if (f->kind != FK_ENV || !word_safe(f->path) || strchr(f->path, ':'))
			continue;
		struct vfile *vf = NULL;
		struct tally_err err = {0};
		if (versionfile_parse(f->path, sbuf_str(&f->text), f->text.len, 1, &vf, &err) < 0) {
			strv_push_owned(&g->notes, xasprintf("%s left out: %s", f->path, err.msg));
			continue;
		}
		for (size_t k = 0; k < versionfile_count(vf); k++) {
			const char *var = versionfile_key_at(vf, k);
			const char *raw = versionfile_value_at(vf, k);
			/* the value itself: up to blanks or an inline comment, unquoted */
			size_t n = strcspn(raw, " \t#");
			char *val = xstrndup(raw, n);
			if (n >= 2 && (val[0] == '"' || val[0] == '\'') && val[n - 1] == val[0]) {
				memmove(val, val + 1, n - 2);
				val[n - 2] = '\0';
			}
			struct comp *hit = NULL;
			int nhits = 0;
			for (size_t c = 0; c < g->ncomps; c++) {
				if (!find_version(val, g->comps[c].value))
					continue;
				char *k1 = xasprintf("_%s_", g->comps[c].key), *v1 = xasprintf("_%s_", var);
				int named = strcasestr(v1, k1) != NULL;
				free(k1);
				free(v1);
				if (named) {
					hit = &g->comps[c];
					nhits = 1;
					break;
				}
				if (!hit)
					hit = &g->comps[c];
				nhits++;
			}
			if (hit && nhits == 1 && word_safe(val) && !strchr(var, '{')) {
				const char *p = find_version(val, hit->value);
				size_t vl = strlen(hit->value);
				char *tmpl = xasprintf("%.*s{version}%s", (int)(p - val), val, p + vl);
				strv_push_owned(&hit->record_also, xasprintf("%s:%s=%s", f->path, var, tmpl));
				/* a tag suffix, as in OPENIM_SERVER_VERSION=v3.8.1-anolis */
				const char *suffix = p + vl;
				int tail_is_tag = *suffix && (p == val || p[-1] == ':');
				if (!hit->tag && tail_is_tag)
					hit->tag = xasprintf("{version}%s", suffix);
				free(tmpl);
			} else if (hit && nhits > 1) {
				strv_push_owned(&g->notes, xasprintf("%s: %s holds the version of several "
								      "components; no recordAlso for it",
								      f->path, var));
			}
			free(val);
		}
		versionfile_free(vf);
	}
}

/* github URLs and compose URLs in CI workflows; the registry prefix from
 * image references anywhere in workflows, .env and compose files. */
static void find_upstreams(struct gen *g)
{
	regex_t gh, compose, img;
	regcomp(&gh, "repos/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)/(releases|tags)", REG_EXTENDED);
	regcomp(&compose, "https?://[^] \t\"'()<>]*compose[^] \t\"'()<>]*\\.ya?ml", REG_EXTENDED);
	regcomp(&img, "([a-z0-9-]+(\\.[a-z0-9-]+)+(:[0-9]+)?)/([a-z0-9_.-]+)/([a-z0-9_.-]+)",
		REG_EXTENDED | REG_ICASE);
	struct strv prefixes = {0}, pfiles = {0}, pnames = {0};
	char *compose_url = NULL, *compose_from = NULL;

	for (size_t i = 0; i < g->nfiles; i++) {
		struct gfile *f = &g->files[i];
		const char *s = sbuf_str(&f->text);
		regmatch_t m[6];
		if (f->kind == FK_WORKFLOW) {
			for (const char *p = s; regexec(&gh, p, 4, m, 0) == 0; p += m[0].rm_eo) {
				char *owner = xstrndup(p + m[1].rm_so, (size_t)(m[1].rm_eo - m[1].rm_so));
				char *repo = xstrndup(p + m[2].rm_so, (size_t)(m[2].rm_eo - m[2].rm_so));
				int rel = p[m[3].rm_so] == 'r';
				for (size_t c = 0; c < g->ncomps; c++) {
					struct comp *cp = &g->comps[c];
					if (!mentions(repo, cp->key) || (cp->upstream && strstr(cp->upstream, "release")))
						continue;
					free(cp->upstream);
					free(cp->up_note);
					cp->upstream = xasprintf("%s %s/%s", rel ? "github-release" : "github-tag",
								 owner, repo);
					cp->up_note = xasprintf("from %s", f->path);
				}
				free(owner);
				free(repo);
			}
			if (!compose_url && regexec(&compose, s, 1, m, 0) == 0) {
				compose_url = xstrndup(s + m[0].rm_so, (size_t)(m[0].rm_eo - m[0].rm_so));
				compose_from = xstrdup(f->path);
			}
		}
		if (f->kind == FK_WORKFLOW || f->kind == FK_ENV || f->kind == FK_COMPOSE) {
			for (const char *p = s; regexec(&img, p, 6, m, 0) == 0; p += m[0].rm_eo) {
				char *host = xstrndup(p + m[1].rm_so, (size_t)(m[1].rm_eo - m[1].rm_so));
				char *ns = xstrndup(p + m[4].rm_so, (size_t)(m[4].rm_eo - m[4].rm_so));
				char *name = xstrndup(p + m[5].rm_so, (size_t)(m[5].rm_eo - m[5].rm_so));
				if (!strcasestr(host, "github") && strcasecmp(host, "docker.io") != 0 &&
				    strcasecmp(host, "registry-1.docker.io") != 0 && strchr(host, '.') &&
				    !isdigit((unsigned char)ns[0])) {
					strv_push_owned(&prefixes, xasprintf("%s/%s", host, ns));
					strv_push(&pfiles, f->path);
					strv_push(&pnames, name);
				}
				free(host);
				free(ns);
				free(name);
			}
		}
	}
	/* the prefix seen most often */
	size_t best = 0, best_n = 0;
	for (size_t i = 0; i < prefixes.n; i++) {
		size_t n = 0;
		for (size_t j = 0; j < prefixes.n; j++)
			n += strcmp(prefixes.v[i], prefixes.v[j]) == 0;
		if (n > best_n) {
			best = i;
			best_n = n;
		}
	}
	if (best_n && word_safe(prefixes.v[best])) {
		g->prefix = xstrdup(prefixes.v[best]);
		g->prefix_from = xstrdup(pfiles.v[best]);
		for (size_t c = 0; c < g->ncomps; c++)
			for (size_t i = 0; i < prefixes.n && !g->comps[c].image; i++)
				if (strcmp(prefixes.v[i], g->prefix) == 0 &&
				    mentions(pnames.v[i], g->comps[c].key))
					g->comps[c].image = xstrdup(pnames.v[i]);
	}
	/* components left: a compose file the CI reads names their image */
	for (size_t c = 0; c < g->ncomps && compose_url; c++) {
		struct comp *cp = &g->comps[c];
		if (cp->upstream || !isdigit((unsigned char)cp->value[0]))
			continue;
		/* the image name: a prefix of the key ("mongo" for mongodb) seen
		 * as "image: NAME:" in a compose file of the repo, else the key */
		char *iname = NULL;
		for (size_t i = 0; i < g->nfiles && !iname; i++) {
			if (g->files[i].kind != FK_COMPOSE && g->files[i].kind != FK_WORKFLOW)
				continue;
			const char *s = sbuf_str(&g->files[i].text);
			for (const char *p = s; (p = strstr(p, "image:")) && !iname; p++) {
				const char *q = p + 6;
				while (*q == ' ' || *q == '"' || *q == '\'')
					q++;
				size_t n = strcspn(q, ": \t\r\n\"'");
				const char *last = q;
				for (size_t k = 0; k < n; k++)
					if (q[k] == '/')
						last = q + k + 1;
				size_t ln = (size_t)(q + n - last);
				if (ln >= 3 && q[n] == ':' && strncasecmp(last, cp->key, ln) == 0)
					iname = xstrndup(last, ln);
			}
		}
		if (!iname)
			iname = xstrdup(cp->key);
		if (word_safe(compose_url)) {
			cp->upstream = xasprintf("file-regex %s", compose_url);
			cp->up_note = xasprintf("from %s", compose_from);
			cp->match = xasprintf("image: %s:([0-9.]+)", iname);
		}
		free(iname);
	}
	strv_free(&prefixes);
	strv_free(&pfiles);
	strv_free(&pnames);
	free(compose_url);
	free(compose_from);
	regfree(&gh);
	regfree(&compose);
	regfree(&img);
}

/* A git-config value: quoted when it holds what the parser would take. */
static void put_value(struct sbuf *out, const char *v)
{
	int quote = strpbrk(v, "#;\"\\") != NULL || isspace((unsigned char)v[0]) ||
		    (*v && isspace((unsigned char)v[strlen(v) - 1]));
	if (!quote) {
		sbuf_adds(out, v);
		return;
	}
	sbuf_addc(out, '"');
	for (; *v; v++) {
		if (*v == '"' || *v == '\\')
			sbuf_addc(out, '\\');
		sbuf_addc(out, *v);
	}
	sbuf_addc(out, '"');
}

static void put_key(struct sbuf *out, const char *key, const char *value, const char *check)
{
	sbuf_addf(out, "\t%s = ", key);
	put_value(out, value);
	if (check)
		sbuf_addf(out, "   # check this: %s", check);
	sbuf_addc(out, '\n');
}

/* "^v[0-9]+\.[0-9]+\.[0-9]+" from a record like v3.8.1-patch.2: the
 * shape of its numbers, open at the end. Caller frees. */
static char *include_of(const char *v)
{
	struct sbuf sb = {0};
	sbuf_addc(&sb, '^');
	const char *p = v;
	while (*p && !isdigit((unsigned char)*p)) {
		if (strchr(".+*?()[]{}|^$\\", *p))
			sbuf_addc(&sb, '\\');
		sbuf_addc(&sb, *p++);
	}
	int groups = 0;
	while (isdigit((unsigned char)*p)) {
		while (isdigit((unsigned char)*p))
			p++;
		sbuf_adds(&sb, "[0-9]+");
		groups++;
		if (*p == '.' && isdigit((unsigned char)p[1])) {
			sbuf_adds(&sb, "\\.");
			p++;
		} else {
			break;
		}
	}
	if (!groups) {
		sbuf_free(&sb);
		return NULL;
	}
	return sbuf_detach(&sb);
}

static void emit(struct gen *g, struct sbuf *out)
{
	char hex[GIT_OID_HEXSZ + 1];
	repo_oid_hex(git_commit_id(g->head), hex);
	sbuf_addf(out, "# A starter tally.conf made by `tally init` from commit %.12s.\n", hex);
	sbuf_adds(out, "# Lines marked \"check this\" are guesses: correct them (every key is in\n"
		       "# `tally help config` and docs/tally.conf.5), commit this file, then run\n"
		       "# `tally check` and `tally adopt --all` for the records made before tally.\n");
	for (size_t i = 0; i < g->notes.n; i++)
		sbuf_addf(out, "# note: %s\n", g->notes.v[i]);
	sbuf_adds(out, "[tally]\n\tgitPush = false   # true pushes every record commit to origin\n");
	sbuf_adds(out, "[registry]\n");
	if (g->prefix) {
		char *why = xasprintf("seen in %s", g->prefix_from);
		put_key(out, "prefix", g->prefix, why);
		free(why);
	} else {
		put_key(out, "prefix", "registry.example/ns", "the registry and namespace images go to");
	}
	for (size_t c = 0; c < g->ncomps; c++) {
		struct comp *cp = &g->comps[c];
		sbuf_addf(out, "[component \"%s\"]\n", cp->name);
		put_key(out, "file", cp->file, NULL);
		if (strcmp(cp->key, cp->name) != 0)
			put_key(out, "key", cp->key, NULL);
		if (cp->upstream) {
			put_key(out, "upstream", cp->upstream, cp->up_note);
			if (cp->match)
				put_key(out, "match", cp->match, "the line of the file that holds the version");
		} else {
			put_key(out, "upstream", "manual", "no upstream found in the CI workflows; manual never ships by itself");
		}
		char *inc = include_of(cp->value);
		if (inc && cp->upstream && !cp->match)
			put_key(out, "include", inc, "the versions to follow");
		free(inc);
		if (cp->image) {
			char *img = xasprintf("{prefix}/%s", cp->image);
			put_key(out, "image", img, NULL);
			free(img);
		}
		if (cp->tag)
			put_key(out, "tag", cp->tag, "as in the recordAlso value");
		struct sbuf build = {0};
		sbuf_adds(&build, "buildah build");
		if (cp->build_arg)
			sbuf_addf(&build, " --build-arg %s={version}", cp->build_arg);
		sbuf_adds(&build, " -t {ref}");
		if (cp->recipes.n)
			sbuf_addf(&build, " -f %s", cp->recipes.v[0]);
		sbuf_addf(&build, " %s", cp->context ? cp->context : ".");
		put_key(out, "build", sbuf_str(&build),
			cp->recipes.n ? (cp->build_arg ? "the build context" : "no ARG with VERSION in the recipe")
				      : "no Dockerfile mentions the key");
		sbuf_free(&build);
		for (size_t i = 0; i < cp->recipes.n; i++)
			put_key(out, "recipe", cp->recipes.v[i], NULL);
		for (size_t i = 0; i < cp->record_also.n; i++)
			put_key(out, "recordAlso", cp->record_also.v[i], NULL);
	}
}

static void gen_free(struct gen *g)
{
	for (size_t i = 0; i < g->nfiles; i++) {
		free(g->files[i].path);
		sbuf_free(&g->files[i].text);
	}
	free(g->files);
	for (size_t c = 0; c < g->ncomps; c++) {
		struct comp *cp = &g->comps[c];
		free(cp->name);
		free(cp->key);
		free(cp->file);
		free(cp->value);
		strv_free(&cp->recipes);
		free(cp->build_arg);
		free(cp->context);
		free(cp->upstream);
		free(cp->up_note);
		free(cp->match);
		free(cp->image);
		free(cp->tag);
		strv_free(&cp->record_also);
	}
	free(g->comps);
	strv_free(&g->notes);
	free(g->prefix);
	free(g->prefix_from);
	git_commit_free(g->head);
	git_repository_free(g->repo);
}

int confgen_starter(const char *repo_dir, struct sbuf *out, struct tally_err *err)
{
	struct gen g = {0};
	char *refname = NULL;
	git_tree *tree = NULL;
	int rc = -1;

	if (repo_open(repo_dir, &g.repo, err) < 0 || repo_branch_ref(g.repo, NULL, &refname, err) < 0 ||
	    repo_branch_commit(g.repo, refname, &g.head, err) < 0)
		goto out;
	if (!g.head) {
		tally_err_set(err, TC_INPUT, "%s has no commit yet; commit the version files first",
			      refname);
		goto out;
	}
	if (git_commit_tree(&tree, g.head) < 0 ||
	    git_tree_walk(tree, GIT_TREEWALK_PRE, walk_cb, &g) < 0) {
		tally_err_set(err, TC_INPUT, "cannot read the files at %s: %s", refname, repo_git_error());
		goto out;
	}
	find_components(&g);
	if (!g.ncomps) {
		tally_err_set(err, TC_INPUT,
			      "no version file found at %s (key=value lines in a file whose name has "
			      "\"version\" in it, such as versions.txt); write tally.conf by hand "
			      "(tally help config)", refname);
		goto out;
	}
	find_recipes(&g);
	find_record_also(&g);
	find_upstreams(&g);
	sbuf_reset(out);
	emit(&g, out);
	/* what init prints must be a config tally accepts */
	struct tally_conf *conf = NULL;
	if (config_load_buffer("tally.conf (made by tally init)", sbuf_str(out), out->len, &conf, err) < 0) {
		tally_err_prefix(err, "tally init made a config it cannot load (a bug; please report it)");
		err->cls = TC_INTERNAL;
		goto out;
	}
	config_free(conf);
	rc = 0;
out:
	git_tree_free(tree);
	free(refname);
	gen_free(&g);
	return rc;
}
