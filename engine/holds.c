/* holds.c - parsing and editing the operator holds file (see holds.h),
 * byte for byte outside the line changed. Pure text, no threads; only the
 * recorder writes the file. */
#include "holds.h"

#include <stdlib.h>
#include <string.h>

#include "textlines.h"
#include "version.h"

/* Like versionfile.c, the original bytes are kept and edits are splices:
 * the file is shared with operators reading `git log -p`, so a skip or unskip
 * must show up as exactly one added or removed line. */
struct hold_rec {
	struct hold h;
	size_t off, end;        /* the line's bytes, ending included */
};

struct holds {
	char *name;
	char *data;
	size_t len;
	struct strv known;
	int check_known;        /* 0 when parsed with known == NULL */
	struct hold_rec *r;
	size_t n, cap;
	size_t n_lf, n_crlf;
	int refs;               /* holders beyond the first (holds_ref) */
};

static const char *const kind_words[] = { [HOLD_SKIP] = "skip", [HOLD_PIN] = "pin" };

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static const char *kind_word(enum hold_kind k)
{
	return k == HOLD_PIN ? kind_words[HOLD_PIN] : kind_words[HOLD_SKIP];
}

/* Next space/tab separated field of [*p, end); NULL when none is left. */
static const char *next_field(const char **p, const char *end, size_t *flen)
{
	const char *s = *p;
	while (s < end && is_blank(*s))
		s++;
	if (s == end)
		return NULL;
	const char *e = s;
	while (e < end && !is_blank(*e))
		e++;
	*flen = (size_t)(e - s);
	*p = e;
	return s;
}

static const struct hold_rec *find_skip(const struct holds *h, const char *comp, const char *ver)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->r[i].h.kind == HOLD_SKIP && strcmp(h->r[i].h.component, comp) == 0 &&
		    strcmp(h->r[i].h.version, ver) == 0)
			return &h->r[i];
	return NULL;
}

static const struct hold_rec *find_pin(const struct holds *h, const char *comp)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->r[i].h.kind == HOLD_PIN && strcmp(h->r[i].h.component, comp) == 0)
			return &h->r[i];
	return NULL;
}

static int parse_line(struct holds *h, size_t off, size_t clen, size_t next, int line,
		      struct tally_err *err)
{
	const char *p = h->data + off, *end = p + clen;
	size_t klen = 0, clen2 = 0, vlen = 0;
	const char *kw = next_field(&p, end, &klen);
	if (!kw || *kw == '#')
		return 0;

	enum hold_kind kind;
	if (klen == 4 && memcmp(kw, "skip", 4) == 0)
		kind = HOLD_SKIP;
	else if (klen == 3 && memcmp(kw, "pin", 3) == 0)
		kind = HOLD_PIN;
	else
		return tally_err_set(err, TC_INPUT,
				     "%s:%d: unknown hold '%.*s' (expected 'skip COMPONENT VERSION "
				     "[REASON]' or 'pin COMPONENT VERSION [REASON]')",
				     h->name, line, (int)klen, kw);

	const char *comp = next_field(&p, end, &clen2);
	if (!comp)
		return tally_err_set(err, TC_INPUT,
				     "%s:%d: missing component and version (expected '%s COMPONENT "
				     "VERSION [REASON]')",
				     h->name, line, kind_word(kind));
	const char *ver = next_field(&p, end, &vlen);
	if (!ver)
		return tally_err_set(err, TC_INPUT,
				     "%s:%d: missing version (expected '%s COMPONENT VERSION [REASON]')",
				     h->name, line, kind_word(kind));

	char *c = xstrndup(comp, clen2);
	char *v = xstrndup(ver, vlen);
	int rc = -1;
	if (h->check_known && !strv_contains(&h->known, c)) {
		tally_err_set(err, TC_INPUT,
			      "%s:%d: unknown component '%s' (not configured in tally.conf)",
			      h->name, line, c);
		goto out;
	}
	if (!version_valid(v)) {
		tally_err_set(err, TC_INPUT,
			      "%s:%d: invalid version '%s' (expected an OCI tag: "
			      "[A-Za-z0-9_][A-Za-z0-9._-]{0,127})",
			      h->name, line, v);
		goto out;
	}
	const struct hold_rec *dup = kind == HOLD_SKIP ? find_skip(h, c, v) : find_pin(h, c);
	if (dup) {
		if (kind == HOLD_SKIP)
			tally_err_set(err, TC_INPUT,
				      "%s:%d: duplicate hold 'skip %s %s' (first on line %d); "
				      "remove one of them",
				      h->name, line, c, v, dup->h.line);
		else
			tally_err_set(err, TC_INPUT,
				      "%s:%d: second pin for '%s' (first on line %d); "
				      "a component has at most one pin",
				      h->name, line, c, dup->h.line);
		goto out;
	}

	/* The reason is free text: trim it so re-adding the same hold and the
	 * displayed reason agree with what the operator sees in the file. */
	while (p < end && (is_blank(*p) || *p == '\r'))
		p++;
	const char *rend = end;
	while (rend > p && (is_blank(rend[-1]) || rend[-1] == '\r'))
		rend--;

	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 8;
		h->r = xrealloc(h->r, h->cap * sizeof *h->r);
	}
	struct hold_rec *r = &h->r[h->n++];
	r->h.kind = kind;
	r->h.component = c;
	r->h.version = v;
	r->h.reason = xstrndup(p, (size_t)(rend - p));
	r->h.line = line;
	r->off = off;
	r->end = next;
	c = v = NULL;
	rc = 0;
out:
	free(c);
	free(v);
	return rc;
}

int holds_parse(const char *name, const char *data, size_t len, const char *const *known,
		size_t nknown, struct holds **out, struct tally_err *err)
{
	*out = NULL;
	struct holds *h = xcalloc(1, sizeof *h);
	h->name = xstrdup(name ? name : "(holds file)");
	h->data = xmalloc(len + 1);
	if (len)
		memcpy(h->data, data, len);
	h->data[len] = '\0';
	h->len = len;
	h->check_known = known != NULL;
	for (size_t i = 0; known && i < nknown; i++)
		if (known[i])
			strv_push(&h->known, known[i]);

	struct textline l = {0};
	int r;
	while ((r = textline_next(h->name, h->data, len, &l, err)) > 0) {
		if (l.lf == 2)
			h->n_crlf++;
		else if (l.lf == 1)
			h->n_lf++;
		if (parse_line(h, l.off, l.len, l.next, l.line, err) < 0)
			goto fail;
	}
	if (r < 0)
		goto fail;
	*out = h;
	return 0;
fail:
	holds_free(h);
	return -1;
}

size_t holds_count(const struct holds *h)
{
	return h->n;
}

const struct hold *holds_at(const struct holds *h, size_t i)
{
	return i < h->n ? &h->r[i].h : NULL;
}

int holds_is_skipped(const struct holds *h, const char *component, const char *version)
{
	if (!component || !version)
		return 0;
	return find_skip(h, component, version) != NULL;
}

const struct hold *holds_pin(const struct holds *h, const char *component)
{
	const struct hold_rec *r = component ? find_pin(h, component) : NULL;
	return r ? &r->h : NULL;
}

int holds_add(const struct holds *h, enum hold_kind kind, const char *component,
	      const char *version, const char *reason, struct sbuf *out, struct tally_err *err)
{
	sbuf_reset(out);
	if (kind != HOLD_SKIP && kind != HOLD_PIN)
		return tally_err_set(err, TC_INPUT, "%s: unknown hold kind %d", h->name, (int)kind);
	if (!component || (h->check_known && !strv_contains(&h->known, component)))
		return tally_err_set(err, TC_INPUT,
				     "%s: unknown component '%s' (not configured in tally.conf)",
				     h->name, component ? component : "(null)");
	if (!version_valid(version))
		return tally_err_set(err, TC_INPUT,
				     "%s: invalid version '%s' (expected an OCI tag: "
				     "[A-Za-z0-9_][A-Za-z0-9._-]{0,127})",
				     h->name, version ? version : "(null)");
	if (reason && strpbrk(reason, "\r\n"))
		return tally_err_set(err, TC_INPUT,
				     "%s: the reason for %s %s contains a newline; give it on one line",
				     h->name, component, version);
	if (kind == HOLD_SKIP) {
		const struct hold_rec *d = find_skip(h, component, version);
		if (d)
			return tally_err_set(err, TC_INPUT,
					     "%s:%d: %s %s is already skipped", h->name,
					     d->h.line, component, version);
	} else {
		const struct hold_rec *d = find_pin(h, component);
		if (d)
			return tally_err_set(err, TC_INPUT,
					     "%s:%d: %s is already pinned at %s; unpin it first",
					     h->name, d->h.line, component, d->h.version);
	}

	const char *r = reason ? reason : "";
	while (is_blank(*r))
		r++;
	size_t rlen = strlen(r);
	while (rlen > 0 && is_blank(r[rlen - 1]))
		rlen--;

	const char *eol = h->n_crlf > h->n_lf ? "\r\n" : "\n";
	sbuf_add(out, h->data, h->len);
	if (h->len > 0 && h->data[h->len - 1] != '\n')
		sbuf_adds(out, eol);
	sbuf_addf(out, "%s %s %s", kind_word(kind), component, version);
	if (rlen) {
		sbuf_addc(out, ' ');
		sbuf_add(out, r, rlen);
	}
	sbuf_adds(out, eol);
	return 0;
}

int holds_remove(const struct holds *h, enum hold_kind kind, const char *component,
		 const char *version, struct sbuf *out, struct tally_err *err)
{
	sbuf_reset(out);
	if (!component)
		return tally_err_set(err, TC_INPUT, "%s: no component given", h->name);
	if (kind == HOLD_SKIP && !version)
		return tally_err_set(err, TC_INPUT, "%s: no version given for unskip of %s",
				     h->name, component);

	size_t pos = 0, removed = 0;
	for (size_t i = 0; i < h->n; i++) {
		const struct hold_rec *r = &h->r[i];
		if (r->h.kind != kind || strcmp(r->h.component, component) != 0)
			continue;
		if (kind == HOLD_SKIP && strcmp(r->h.version, version) != 0)
			continue;
		sbuf_add(out, h->data + pos, r->off - pos);
		pos = r->end;
		removed++;
	}
	if (!removed) {
		sbuf_reset(out);
		if (kind == HOLD_SKIP)
			return tally_err_set(err, TC_INPUT, "%s: %s %s is not skipped", h->name,
					     component, version);
		return tally_err_set(err, TC_INPUT, "%s: %s is not pinned", h->name, component);
	}
	sbuf_add(out, h->data + pos, h->len - pos);
	return 0;
}

struct holds *holds_ref(struct holds *h)
{
	if (h)
		__atomic_fetch_add(&h->refs, 1, __ATOMIC_RELAXED);
	return h;
}

void holds_free(struct holds *h)
{
	if (!h)
		return;
	if (__atomic_load_n(&h->refs, __ATOMIC_ACQUIRE) > 0 &&
	    __atomic_fetch_sub(&h->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	for (size_t i = 0; i < h->n; i++) {
		free(h->r[i].h.component);
		free(h->r[i].h.version);
		free(h->r[i].h.reason);
	}
	free(h->r);
	strv_free(&h->known);
	free(h->data);
	free(h->name);
	free(h);
}
