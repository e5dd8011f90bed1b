/* confscan.c - line numbers for tally.conf entries (see confscan.h).
 * Pure text, no threads. */
#include "confscan.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* libgit2's strip_comments: cuts at an unquoted, unescaped '#' or ';' and
 * trims trailing space. Returns the number of quotes seen. */
static int strip_comments(char *line, int in_quotes)
{
	int quotes = in_quotes, backslashes = 0;
	char *p;

	for (p = line; *p; p++) {
		if (*p == '"' && (p == line || p[-1] != '\\'))
			quotes++;
		if ((*p == ';' || *p == '#') && quotes % 2 == 0 && backslashes % 2 == 0) {
			*p = '\0';
			break;
		}
		if (*p == '\\')
			backslashes++;
		else
			backslashes = 0;
	}
	while (p > line && isspace((unsigned char)p[-1]))
		p--;
	*p = '\0';
	return quotes;
}

/* libgit2's rule: a value continues on the next line when it ends with a
 * backslash that does not escape anything. */
static int ends_continued(const char *s)
{
	for (; *s; s++) {
		if (*s == '\\') {
			if (s[1] == '\0')
				return 1;
			s++;
		}
	}
	return 0;
}

static int has_bad_escape(const char *s)
{
	for (; *s; s++) {
		if (*s == '\\') {
			if (s[1] == '\0')
				return 0;
			if (!strchr("ntb\"\\", s[1]))
				return 1;
			s++;
		}
	}
	return 0;
}

static void scan_add_hdr(struct scan *sc, const char *section, const char *sub, int line)
{
	if (sc->nhdrs == sc->caphdrs) {
		sc->caphdrs = sc->caphdrs ? sc->caphdrs * 2 : 8;
		sc->hdrs = xrealloc(sc->hdrs, sc->caphdrs * sizeof *sc->hdrs);
	}
	struct shdr *h = &sc->hdrs[sc->nhdrs++];
	h->section = xstrdup(section);
	h->sub = xstrdup(sub);
	h->line = line;
}

static void scan_add_line(struct scan *sc, const char *section, const char *sub, const char *key,
			  size_t keylen, int line)
{
	if (sc->nlines == sc->caplines) {
		sc->caplines = sc->caplines ? sc->caplines * 2 : 16;
		sc->lines = xrealloc(sc->lines, sc->caplines * sizeof *sc->lines);
	}
	struct sline *l = &sc->lines[sc->nlines++];
	char *k = xstrndup(key, keylen);
	if (sub)
		l->shown = xasprintf("%s.%s.%s", section, sub, k);
	else
		l->shown = xasprintf("%s.%s", section, k);
	lower(k);
	if (sub)
		l->name = xasprintf("%s.%s.%s", section, sub, k);
	else
		l->name = xasprintf("%s.%s", section, k);
	free(k);
	l->line = line;
	l->used = 0;
}

/* Parses the header at p ('['); sets *section / *sub (caller frees) and
 * returns the position after ']', or NULL when it is not a header libgit2
 * would take (it would have failed to parse already). */
static const char *scan_header(const char *p, char **section, char **sub)
{
	struct sbuf name = {0}, subname = {0};
	const char *q = p + 1;

	*section = NULL;
	*sub = NULL;
	while (*q && *q != ']' && !isspace((unsigned char)*q))
		sbuf_addc(&name, (char)tolower((unsigned char)*q++));
	if (isspace((unsigned char)*q)) {
		while (isspace((unsigned char)*q))
			q++;
		if (*q != '"')
			goto fail;
		q++;
		while (*q && *q != '"') {
			if (*q == '\\' && q[1])
				q++;
			sbuf_addc(&subname, *q++);
		}
		if (q[0] != '"' || q[1] != ']')
			goto fail;
		q += 2;
		*sub = sbuf_detach(&subname);
	} else if (*q == ']') {
		q++;
		char *dot = strchr(sbuf_str(&name), '.');
		if (dot) {
			*sub = xstrdup(dot + 1);
			name.len = (size_t)(dot - name.buf);
			name.buf[name.len] = '\0';
		}
	} else {
		goto fail;
	}
	*section = sbuf_detach(&name);
	return q;
fail:
	sbuf_free(&name);
	sbuf_free(&subname);
	free(*sub);
	*sub = NULL;
	return NULL;
}

void confscan_text(struct scan *sc, const char *text, size_t len)
{
	char *section = NULL, *sub = NULL;
	int lineno = 0, continued = 0, in_quotes = 0;
	size_t pos = 0;

	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		pos = 3;
	while (pos < len) {
		size_t end = pos;
		while (end < len && text[end] != '\n')
			end++;
		char *line = xstrndup(text + pos, end - pos);
		pos = end < len ? end + 1 : end;
		lineno++;

		if (continued) {
			int q = strip_comments(line, in_quotes);
			if (line[0])
				continued = ends_continued(line);
			if (!sc->bad_escape_line && has_bad_escape(line))
				sc->bad_escape_line = lineno;
			in_quotes = q;
			free(line);
			continue;
		}
		const char *p = line;
		for (;;) {
			while (isspace((unsigned char)*p))
				p++;
			if (*p == '\0' || *p == '#' || *p == ';')
				break;
			if (*p == '[') {
				char *s, *u;
				const char *after = scan_header(p, &s, &u);
				if (!after)
					break;
				free(section);
				free(sub);
				section = s;
				sub = u;
				scan_add_hdr(sc, section, sub, lineno);
				p = after;
				continue;  /* a variable may follow on the same line */
			}
			const char *k = p;
			while (isalnum((unsigned char)*p) || *p == '-')
				p++;
			if (p == k || !section)
				break;
			scan_add_line(sc, section, sub, k, (size_t)(p - k), lineno);
			char *rest = xstrdup(k);
			int q = strip_comments(rest, 0);
			char *v = rest + (p - k);
			while (isspace((unsigned char)*v))
				v++;
			if (*v == '=') {
				v++;
				while (isspace((unsigned char)*v))
					v++;
				continued = ends_continued(v);
				in_quotes = q % 2;
				if (!sc->bad_escape_line && has_bad_escape(v))
					sc->bad_escape_line = lineno;
			}
			free(rest);
			break;
		}
		free(line);
	}
	free(section);
	free(sub);
}

void confscan_free(struct scan *sc)
{
	for (size_t i = 0; i < sc->nlines; i++) {
		free(sc->lines[i].name);
		free(sc->lines[i].shown);
	}
	for (size_t i = 0; i < sc->nhdrs; i++) {
		free(sc->hdrs[i].section);
		free(sc->hdrs[i].sub);
	}
	free(sc->lines);
	free(sc->hdrs);
	nameindex_free(sc->line_ix);
	free(sc->next_same);
	free(sc->claim_at);
}

static const char *sline_name_at(const void *ctx, size_t i)
{
	const struct scan *sc = ctx;
	return sc->lines[i].name;
}

const struct sline *confscan_claim(struct scan *sc, const char *name)
{
	size_t none = (size_t)-1;
	if (!sc->line_ix) {
		sc->line_ix = nameindex_new(sc->nlines, sline_name_at, sc);
		sc->next_same = xcalloc(sc->nlines + 1, sizeof *sc->next_same);
		sc->claim_at = xcalloc(sc->nlines + 1, sizeof *sc->claim_at);
		size_t *tail = xcalloc(sc->nlines + 1, sizeof *tail);
		for (size_t i = 0; i < sc->nlines; i++) {
			size_t f = (size_t)nameindex_find(sc->line_ix, sc->lines[i].name);
			sc->next_same[i] = none;
			if (f != i)
				sc->next_same[tail[f]] = i;
			else
				sc->claim_at[f] = f;
			tail[f] = i;
		}
		free(tail);
	}
	long f = nameindex_find(sc->line_ix, name);
	if (f < 0)
		return NULL;
	size_t i = sc->claim_at[f];
	while (i != none && sc->lines[i].used)
		i = sc->next_same[i];
	sc->claim_at[f] = i;
	if (i == none)
		return NULL;
	sc->lines[i].used = 1;
	return &sc->lines[i];
}
