/* bases.c - base images of a component (bases.h). */
#include "bases.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct arg {
	char *name, *value;   /* value NULL: declared without a default */
};

static const char *arg_get(const struct arg *args, size_t n, const char *name, size_t len)
{
	for (size_t i = n; i-- > 0;)
		if (strlen(args[i].name) == len && !strncmp(args[i].name, name, len))
			return args[i].value;
	return NULL;
}

/* $NAME, ${NAME}, ${NAME:-word}, ${NAME-word} substituted. */
static int subst(const char *name, int line, const char *in, const struct arg *args, size_t nargs,
		 char **out, struct tally_err *err)
{
	struct sbuf sb = {0};
	for (const char *p = in; *p;) {
		if (*p == '\\' && p[1] == '$') {
			sbuf_addc(&sb, '$');
			p += 2;
			continue;
		}
		if (*p != '$') {
			sbuf_addc(&sb, *p++);
			continue;
		}
		const char *v = NULL, *dflt = NULL;
		size_t nlen = 0, dlen = 0;
		const char *n0;
		if (p[1] == '{') {
			n0 = p + 2;
			const char *end = strchr(n0, '}');
			if (!end)
				goto bad;
			nlen = strcspn(n0, ":-}");
			if (n0 + nlen < end) {
				const char *d = n0 + nlen;
				if (*d == ':')
					d++;
				if (*d != '-')
					goto bad;
				dflt = d + 1;
				dlen = (size_t)(end - dflt);
			}
			p = end + 1;
		} else {
			n0 = p + 1;
			while (isalnum((unsigned char)n0[nlen]) || n0[nlen] == '_')
				nlen++;
			p = n0 + nlen;
		}
		if (!nlen)
			goto bad;
		v = arg_get(args, nargs, n0, nlen);
		if (v && *v)
			sbuf_adds(&sb, v);
		else if (dflt)
			sbuf_add(&sb, dflt, dlen);
		else {
			tally_err_set(err, TC_INPUT,
				      "%s:%d: FROM uses $%.*s, which has no value (give the ARG before the first FROM a default, or set component.<n>.base)",
				      name, line, (int)nlen, n0);
			sbuf_free(&sb);
			return -1;
		}
	}
	*out = sbuf_detach(&sb);
	return 0;
bad:
	tally_err_set(err, TC_INPUT, "%s:%d: bad variable reference in FROM", name, line);
	sbuf_free(&sb);
	return -1;
}

/* The next word of s (space-separated); NULL at the end. */
static char *next_word(const char **s)
{
	while (**s == ' ' || **s == '\t')
		(*s)++;
	if (!**s)
		return NULL;
	size_t n = strcspn(*s, " \t");
	char *w = xstrndup(*s, n);
	*s += n;
	return w;
}

int bases_parse_dockerfile(const char *name, const char *text, size_t len, struct strv *out,
			   struct tally_err *err)
{
	struct arg *args = NULL;
	size_t nargs = 0;
	struct strv stages = {0}, found = {0};
	int rc = 0, seen_from = 0;
	struct sbuf ln = {0};
	size_t i = 0;
	int lineno = 0;
	while (i < len && rc == 0) {
		/* one logical line: backslash continuations joined */
		sbuf_reset(&ln);
		int start = lineno + 1;
		for (;;) {
			size_t e = i;
			while (e < len && text[e] != '\n')
				e++;
			lineno++;
			const char *l = text + i;
			size_t n = e - i;
			i = e < len ? e + 1 : e;
			while (n && (l[n - 1] == '\r' || l[n - 1] == ' ' || l[n - 1] == '\t'))
				n--;
			size_t lead = 0;
			while (lead < n && (l[lead] == ' ' || l[lead] == '\t'))
				lead++;
			if (lead < n && l[lead] == '#' && ln.len)
				continue;   /* a comment inside a continued instruction */
			if (n && l[n - 1] == '\\') {
				sbuf_add(&ln, l, n - 1);
				sbuf_addc(&ln, ' ');
				if (i >= len)
					break;
				continue;
			}
			sbuf_add(&ln, l, n);
			break;
		}
		const char *s = sbuf_str(&ln);
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s || *s == '#')
			continue;
		char *instr = next_word(&s);
		if (!strcasecmp(instr, "ARG") && !seen_from) {
			char *w;
			while ((w = next_word(&s))) {
				char *eq = strchr(w, '=');
				args = xrealloc(args, (nargs + 1) * sizeof *args);
				args[nargs].name = eq ? xstrndup(w, (size_t)(eq - w)) : xstrdup(w);
				char *v = eq ? xstrdup(eq + 1) : NULL;
				if (v && (v[0] == '"' || v[0] == '\'') && strlen(v) >= 2 &&
				    v[strlen(v) - 1] == v[0]) {
					memmove(v, v + 1, strlen(v) - 2);
					v[strlen(v) - 2] = 0;
				}
				args[nargs++].value = v;
				free(w);
			}
		} else if (!strcasecmp(instr, "FROM")) {
			seen_from = 1;
			char *w = next_word(&s);
			while (w && !strncmp(w, "--", 2)) {
				free(w);
				w = next_word(&s);
			}
			char *img = NULL;
			if (!w) {
				tally_err_set(err, TC_INPUT, "%s:%d: FROM without an image", name, start);
				rc = -1;
			} else if (subst(name, start, w, args, nargs, &img, err) < 0) {
				rc = -1;
			} else {
				char *as = next_word(&s), *stage = as ? next_word(&s) : NULL;
				if (as && (strcasecmp(as, "AS") || !stage)) {
					tally_err_set(err, TC_INPUT, "%s:%d: FROM %s: expected 'AS NAME' after the image",
						      name, start, w);
					rc = -1;
				}
				int is_stage = 0;
				for (size_t k = 0; k < stages.n; k++)
					is_stage |= !strcasecmp(stages.v[k], img);
				if (rc == 0 && strcasecmp(img, "scratch") && !is_stage && !strv_contains(&found, img))
					strv_push(&found, img);
				if (stage)
					strv_push(&stages, stage);
				free(as);
				free(stage);
			}
			free(img);
			free(w);
		}
		free(instr);
	}
	if (rc == 0)
		for (size_t k = 0; k < found.n; k++)
			if (!strv_contains(out, found.v[k]))
				strv_push(out, found.v[k]);
	for (size_t k = 0; k < nargs; k++) {
		free(args[k].name);
		free(args[k].value);
	}
	free(args);
	strv_free(&stages);
	strv_free(&found);
	sbuf_free(&ln);
	return rc;
}

int bases_is_dockerfile(const char *path)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	static const char *const names[] = {"dockerfile", "containerfile"};
	for (size_t i = 0; i < 2; i++) {
		size_t n = strlen(names[i]), bl = strlen(b);
		if (!strncasecmp(b, names[i], n) && (b[n] == 0 || b[n] == '.'))
			return 1;
		if (bl > n && !strcasecmp(b + bl - n, names[i]) && b[bl - n - 1] == '.')
			return 1;
	}
	return 0;
}

int bases_of(const char *repo_root, const struct comp_conf *cc, struct strv *out,
	     struct tally_err *err)
{
	if (cc->bases.n) {
		for (size_t i = 0; i < cc->bases.n; i++)
			if (strcmp(cc->bases.v[i], "none") != 0 && !strv_contains(out, cc->bases.v[i]))
				strv_push(out, cc->bases.v[i]);
		return 0;
	}
	struct strv got = {0};
	for (size_t i = 0; i < cc->recipes.n; i++) {
		if (!bases_is_dockerfile(cc->recipes.v[i]))
			continue;
		char *p = xasprintf("%s/%s", repo_root, cc->recipes.v[i]);
		struct sbuf sb = {0};
		int rc = util_read_file(p, &sb, err);
		if (rc == 0)
			rc = bases_parse_dockerfile(cc->recipes.v[i], sbuf_str(&sb), sb.len, &got, err);
		free(p);
		sbuf_free(&sb);
		if (rc < 0) {
			strv_free(&got);
			return -1;
		}
	}
	for (size_t i = 0; i < got.n; i++)
		strv_push(out, got.v[i]);
	strv_free(&got);
	return 0;
}

void bases_split(const char *ref, char **image, char **tag)
{
	const char *slash = strrchr(ref, '/');
	const char *last = slash ? slash + 1 : ref;
	const char *at = strchr(last, '@');
	const char *colon = memchr(last, ':', at ? (size_t)(at - last) : strlen(last));
	size_t n = colon ? (size_t)(colon - ref) : at ? (size_t)(at - ref) : strlen(ref);
	char *name = xstrndup(ref, n);
	*tag = xstrdup(at ? at + 1 : colon ? colon + 1 : "latest");
	const char *first_slash = strchr(name, '/');
	size_t fl = first_slash ? (size_t)(first_slash - name) : 0;
	int has_host = first_slash && (memchr(name, '.', fl) || memchr(name, ':', fl) ||
				       (fl == 9 && !strncmp(name, "localhost", 9)));
	if (has_host)
		*image = name;
	else {
		*image = xasprintf("docker.io/%s%s", first_slash ? "" : "library/", name);
		free(name);
	}
}

void bases_trailers(const char *message, const char *name, struct strv *out)
{
	size_t nl = strlen(name);
	for (const char *p = message; p && *p;) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n > nl + 1 && !strncasecmp(p, name, nl) && p[nl] == ':') {
			const char *v = p + nl + 1;
			while (*v == ' ')
				v++;
			size_t vl = n - (size_t)(v - p);
			while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\r'))
				vl--;
			strv_push_owned(out, xstrndup(v, vl));
		}
		p = e ? e + 1 : NULL;
	}
}

int bases_read(struct registry *r, const char *ref, char digest[REGISTRY_DIGEST_MAX],
	       struct tally_err *err)
{
	char *image, *tag;
	bases_split(ref, &image, &tag);
	int rc;
	if (!strncmp(tag, "sha256:", 7)) {
		snprintf(digest, REGISTRY_DIGEST_MAX, "%s", tag);   /* pinned by digest: never moves */
		rc = 0;
	} else {
		rc = registry_digest(r, image, tag, digest, err);
	}
	free(image);
	free(tag);
	return rc;
}
