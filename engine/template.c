/* template.c - command templates to argv, never through a shell (see
 * template.h). Pure; any thread. */
#include "template.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Splitting happens before any value is seen, and substitution works on one
 * finished word at a time: that ordering, not escaping, is what keeps a
 * hostile version string inside its word. */

static const char *ctx_or(const char *ctx)
{
	return ctx ? ctx : "template";
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int template_split(const char *tmpl, char ***words, size_t *nwords, const char *ctx,
		   struct tally_err *err)
{
	struct strv sv = {0};
	struct sbuf word = {0};
	int in_word = 0;
	const char *p = tmpl ? tmpl : "";

	*words = NULL;
	if (nwords)
		*nwords = 0;
	while (*p) {
		char c = *p;
		if (is_blank(c)) {
			if (in_word) {
				strv_push_owned(&sv, sbuf_detach(&word));
				in_word = 0;
			}
			p++;
			continue;
		}
		/* Quotes and escapes start a word even when they yield no bytes,
		 * so '' is an empty argument as in a shell. */
		in_word = 1;
		if (c == '\'') {
			const char *end = strchr(p + 1, '\'');
			if (!end) {
				tally_err_set(err, TC_INPUT,
					      "%s: unterminated ' quote at column %zu; close it with '",
					      ctx_or(ctx), (size_t)(p - tmpl) + 1);
				goto fail;
			}
			sbuf_add(&word, p + 1, (size_t)(end - p - 1));
			p = end + 1;
		} else if (c == '"') {
			const char *open = p++;
			for (;;) {
				if (*p == '\0') {
					tally_err_set(err, TC_INPUT,
						      "%s: unterminated \" quote at column %zu; close it with \"",
						      ctx_or(ctx), (size_t)(open - tmpl) + 1);
					goto fail;
				}
				if (*p == '"') {
					p++;
					break;
				}
				/* Only \" and \\ are escapes inside double quotes;
				 * any other backslash is kept, as in sh. */
				if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
					p++;
				sbuf_addc(&word, *p++);
			}
		} else if (c == '\\') {
			if (p[1] == '\0') {
				tally_err_set(err, TC_INPUT,
					      "%s: backslash at the end of the template; remove it or escape it as \\\\",
					      ctx_or(ctx));
				goto fail;
			}
			sbuf_addc(&word, p[1]);
			p += 2;
		} else {
			sbuf_addc(&word, c);
			p++;
		}
	}
	if (in_word)
		strv_push_owned(&sv, sbuf_detach(&word));
	if (sv.n == 0) {
		tally_err_set(err, TC_INPUT, "%s: empty command template; give a program and its arguments",
			      ctx_or(ctx));
		goto fail;
	}
	*words = sv.v;
	if (nwords)
		*nwords = sv.n;
	return 0;
fail:
	sbuf_free(&word);
	strv_free(&sv);
	return -1;
}

/* Either the values (expand/subst) or just the allowed names (check). */
struct lookup {
	const struct tvar *vars;
	const char *const *names;
	size_t n;
};

static const char *lookup_name(const struct lookup *lk, size_t i)
{
	return lk->vars ? lk->vars[i].name : lk->names[i];
}

static int lookup_find(const struct lookup *lk, const char *name, size_t len, size_t *idx)
{
	for (size_t i = 0; i < lk->n; i++) {
		const char *nm = lookup_name(lk, i);
		if (nm && strlen(nm) == len && memcmp(nm, name, len) == 0) {
			*idx = i;
			return 1;
		}
	}
	return 0;
}

static int is_name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.' || c == ':'; /* ':' for {secret:ID} */
}

static int unknown_var(const struct lookup *lk, const char *name, size_t len, const char *ctx,
		       struct tally_err *err)
{
	struct sbuf known = {0};
	for (size_t i = 0; i < lk->n; i++) {
		const char *nm = lookup_name(lk, i);
		if (nm)
			sbuf_addf(&known, "%s{%s}", known.len ? " " : "", nm);
	}
	tally_err_set(err, TC_INPUT, "%s: unknown variable {%.*s}; known variables: %s", ctx_or(ctx),
		      (int)len, name, known.len ? sbuf_str(&known) : "(none)");
	sbuf_free(&known);
	return -1;
}

/* Substitutes into out, or only validates when out is NULL. */
static int subst(const char *s, const struct lookup *lk, struct sbuf *out, const char *ctx,
		 struct tally_err *err)
{
	const char *p = s;
	while (*p) {
		if (p[0] == '{' && p[1] == '{') {
			if (out)
				sbuf_addc(out, '{');
			p += 2;
			continue;
		}
		if (p[0] == '}') {
			if (p[1] != '}')
				return tally_err_set(err, TC_INPUT,
						     "%s: unbalanced '}' in \"%s\"; write }} for a literal brace",
						     ctx_or(ctx), s);
			if (out)
				sbuf_addc(out, '}');
			p += 2;
			continue;
		}
		if (p[0] != '{') {
			const char *next = p;
			while (*next && *next != '{' && *next != '}')
				next++;
			if (out)
				sbuf_add(out, p, (size_t)(next - p));
			p = next;
			continue;
		}
		const char *name = p + 1, *end = name;
		while (is_name_char(*end))
			end++;
		if (*end != '}') {
			if (*end == '\0' || !strchr(end, '}'))
				return tally_err_set(err, TC_INPUT,
						     "%s: unterminated '{' in \"%s\"; close the variable with } or write {{ for a literal brace",
						     ctx_or(ctx), s);
			return tally_err_set(err, TC_INPUT,
					     "%s: bad variable name after '{' in \"%s\"; use {name} or write {{ for a literal brace",
					     ctx_or(ctx), s);
		}
		size_t len = (size_t)(end - name);
		if (len == 0)
			return tally_err_set(err, TC_INPUT,
					     "%s: empty variable {} in \"%s\"; name a variable or write {{}} for literal braces",
					     ctx_or(ctx), s);
		size_t idx;
		if (!lookup_find(lk, name, len, &idx))
			return unknown_var(lk, name, len, ctx, err);
		if (out) {
			const char *val = lk->vars[idx].value;
			/* A missing value must not silently become an empty
			 * argument: the command would run with the wrong meaning. */
			if (!val)
				return tally_err_set(err, TC_INPUT,
						     "%s: variable {%.*s} has no value here; set it in tally.conf or remove it from the template",
						     ctx_or(ctx), (int)len, name);
			sbuf_adds(out, val);
		}
		p = end + 1;
	}
	return 0;
}

int template_subst(const char *s, const struct tvar *vars, size_t nvars, char **out,
		   const char *ctx, struct tally_err *err)
{
	static const struct tvar none[1];
	struct lookup lk = {vars ? vars : none, NULL, vars ? nvars : 0};
	struct sbuf sb = {0};

	*out = NULL;
	if (subst(s ? s : "", &lk, &sb, ctx, err) < 0) {
		sbuf_free(&sb);
		return -1;
	}
	*out = sbuf_detach(&sb);
	return 0;
}

int template_expand(const char *tmpl, const struct tvar *vars, size_t nvars, char ***argv,
		    const char *ctx, struct tally_err *err)
{
	char **words;
	size_t n;

	*argv = NULL;
	if (template_split(tmpl, &words, &n, ctx, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char *w;
		if (template_subst(words[i], vars, nvars, &w, ctx, err) < 0) {
			template_argv_free(words);
			return -1;
		}
		free(words[i]);
		words[i] = w;
	}
	*argv = words;
	return 0;
}

int template_check(const char *tmpl, const char *const *names, size_t nnames, int split,
		   const char *ctx, struct tally_err *err)
{
	static const char *const none[1];
	struct lookup lk = {NULL, names ? names : none, names ? nnames : 0};

	if (!split)
		return subst(tmpl ? tmpl : "", &lk, NULL, ctx, err);
	char **words;
	size_t n;
	if (template_split(tmpl, &words, &n, ctx, err) < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = subst(words[i], &lk, NULL, ctx, err);
	template_argv_free(words);
	return rc;
}

void template_argv_free(char **argv)
{
	if (!argv)
		return;
	for (char **p = argv; *p; p++)
		free(*p);
	free(argv);
}
