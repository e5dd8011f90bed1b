/* versionfile.c - parsing and editing key=value version files (see
 * versionfile.h), byte for byte outside the value changed. Pure text, no
 * threads; only the recorder writes the files. */
#include "versionfile.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hashindex.h"
#include "textlines.h"

/* The file is kept as its original bytes plus, per entry, where the value
 * sits in them: set() then splices one value into an otherwise untouched
 * copy, which is how comments, blank lines, CRLF and a missing final newline
 * survive without being modelled. */
struct ventry {
	char *key;
	char *value;
	int line;
	size_t val_off, val_len;
};

struct vfile {
	char *name;
	char *data;
	size_t len;
	int lenient;
	struct ventry *e;
	size_t n, cap;
	size_t n_lf, n_crlf;
	int open_cr;            /* the data ends in a CR without its LF */
	/* e[] by key, so lookups and the duplicate check cost O(1) and a
	 * parse O(K), not O(K^2) */
	struct hashindex index;
};

static int is_key_start(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static int is_key_char(char c)
{
	return is_key_start(c) || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

static int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

int versionfile_key_valid(const char *key)
{
	if (!key || !is_key_start(key[0]))
		return 0;
	for (const char *p = key + 1; *p; p++)
		if (!is_key_char(*p))
			return 0;
	return 1;
}

static int splice(const struct vfile *vf, const char *key, const char *value, struct sbuf *out);

/* Length of the key at p (bounded by end), 0 when p does not start one. */
static size_t key_span(const char *p, const char *end)
{
	if (p >= end || !is_key_start(*p))
		return 0;
	const char *q = p + 1;
	while (q < end && is_key_char(*q))
		q++;
	return (size_t)(q - p);
}

/* What a failed JSON lookup prints (jq's null, JavaScript's undefined,
 * Python's None): the seed's scripts recorded web=null. Never a version. */
static int is_null_word(const char *v, size_t n)
{
	static const char *const words[] = {"null", "undefined", "none"};
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strlen(words[i]) == n && strncasecmp(v, words[i], n) == 0)
			return 1;
	return 0;
}

/* Where the value of a lenient (recordAlso) line sits, dotenv-style: after
 * blanks, either inside matching quotes ("v1" or 'v1'), or up to an inline
 * comment (a '#' after a blank) with trailing blanks left out. Only that
 * span is ever replaced, so quotes, spacing and `# comment` stay. */
static void lenient_value(const char *v, const char *end, size_t *off, size_t *len)
{
	const char *q = v;
	while (q < end && (*q == ' ' || *q == '\t'))
		q++;
	if (q < end && (*q == '"' || *q == '\'')) {
		char quote = *q;
		const char *c = q + 1;
		while (c < end && *c != quote) {
			if (quote == '"' && *c == '\\' && c + 1 < end)
				c++;
			c++;
		}
		if (c < end) {
			*off = (size_t)(q + 1 - v);
			*len = (size_t)(c - (q + 1));
			return;
		}
		/* no closing quote: taken as it stands, unquoted */
	}
	const char *e = q;
	while (e < end && !(*e == '#' && e > v && (e[-1] == ' ' || e[-1] == '\t')))
		e++;
	while (e > q && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		e--;
	if (e == q) {
		*off = *len = 0;   /* empty: a value written later goes right after '=' */
		return;
	}
	*off = (size_t)(q - v);
	*len = (size_t)(e - q);
}

static const char *key_at(const void *ctx, size_t i)
{
	const struct vfile *vf = ctx;
	return vf->e[i].key;
}

/* The entry with key k (klen bytes), or NULL. */
static const struct ventry *find_n(const struct vfile *vf, const char *k, size_t klen)
{
	long i = hashindex_find(&vf->index, k, klen, key_at, vf);
	return i < 0 ? NULL : &vf->e[i];
}

static const struct ventry *find(const struct vfile *vf, const char *key)
{
	return find_n(vf, key, strlen(key));
}

static void add_entry(struct vfile *vf, const char *k, size_t klen, size_t voff, size_t vlen,
		      int line)
{
	if (vf->n == vf->cap) {
		vf->cap = vf->cap ? vf->cap * 2 : 16;
		vf->e = xrealloc(vf->e, vf->cap * sizeof *vf->e);
	}
	struct ventry *e = &vf->e[vf->n++];
	e->key = xstrndup(k, klen);
	e->value = xstrndup(vf->data + voff, vlen);
	e->line = line;
	e->val_off = voff;
	e->val_len = vlen;
	hashindex_added(&vf->index, vf->n, key_at, vf);
}

/* Checks one line (without its ending) and records it when it is an entry.
 * Strict mode is strict about spacing because the seed's own tooling reads
 * these files with naive splitting: " server = v1" would not be what it
 * looks like there. */
static int parse_line(struct vfile *vf, size_t off, size_t clen, int line, struct tally_err *err)
{
	const char *s = vf->data + off, *end = s + clen;
	const char *p = s;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (!vf->lenient && (p == end || *p == '#'))
		return 0;

	size_t klen = key_span(s, end);
	if (klen == 0 || s + klen == end || s[klen] != '=') {
		if (vf->lenient)
			return 0;
		return tally_err_set(err, TC_INPUT, "%s:%d: malformed line (expected key=value)",
				     vf->name, line);
	}
	const char *v = s + klen + 1;
	size_t vlen = (size_t)(end - v);
	if (vf->lenient) {
		size_t voff;
		lenient_value(v, end, &voff, &vlen);
		v += voff;
	} else {
		const char *q = v;
		while (q < end && is_ws(*q))
			q++;
		if (q == end)
			return tally_err_set(err, TC_INPUT, "%s:%d: empty value for '%.*s'", vf->name,
					     line, (int)klen, s);
		if (q != v)
			return tally_err_set(err, TC_INPUT,
					     "%s:%d: malformed line (expected key=value, no space after '=')",
					     vf->name, line);
		for (; q < end; q++)
			if (is_ws(*q))
				return tally_err_set(err, TC_INPUT,
						     "%s:%d: value for '%.*s' contains whitespace "
						     "(a value is one word)",
						     vf->name, line, (int)klen, s);
		if (is_null_word(v, vlen))
			return tally_err_set(err, TC_INPUT,
					     "%s:%d: '%.*s' is not a version for '%.*s' (it is what a "
					     "failed JSON lookup prints); write the real version or "
					     "remove the line",
					     vf->name, line, (int)vlen, v, (int)klen, s);
	}
	const struct ventry *dup = find_n(vf, s, klen);
	if (dup)
		return tally_err_set(err, TC_INPUT,
				     "%s:%d: duplicate key '%.*s' (first on line %d); "
				     "remove one of them",
				     vf->name, line, (int)klen, s, dup->line);
	add_entry(vf, s, klen, (size_t)(v - vf->data), vlen, line);
	return 0;
}

int versionfile_parse(const char *name, const char *data, size_t len, int lenient,
		      struct vfile **out, struct tally_err *err)
{
	*out = NULL;
	struct vfile *vf = xcalloc(1, sizeof *vf);
	vf->name = xstrdup(name ? name : "(version file)");
	vf->data = xmalloc(len + 1);
	if (len)
		memcpy(vf->data, data, len);
	vf->data[len] = '\0';
	vf->len = len;
	vf->lenient = lenient ? 1 : 0;

	struct textline l = {0};
	int r;
	while ((r = textline_next(vf->name, vf->data, len, &l, err)) > 0) {
		if (l.lf == 2) {
			vf->n_crlf++;
		} else if (l.lf == 1) {
			vf->n_lf++;
		} else if (l.len > 0 && vf->data[l.off + l.len - 1] == '\r') {
			/* A CR at the very end is a CRLF ending that lost its LF
			 * (a CRLF file without a final newline): the same line
			 * ending as elsewhere, not part of the value. set()
			 * completes it with the LF. */
			l.len--;
			vf->n_crlf++;
			vf->open_cr = 1;
		}
		if (parse_line(vf, l.off, l.len, l.line, err) < 0)
			goto fail;
	}
	if (r < 0)
		goto fail;
	*out = vf;
	return 0;
fail:
	versionfile_free(vf);
	return -1;
}

const char *versionfile_get(const struct vfile *vf, const char *key)
{
	const struct ventry *e = key ? find(vf, key) : NULL;
	return e ? e->value : NULL;
}

int versionfile_line(const struct vfile *vf, const char *key)
{
	const struct ventry *e = key ? find(vf, key) : NULL;
	return e ? e->line : 0;
}

int versionfile_set(const struct vfile *vf, const char *key, const char *value,
		    struct sbuf *out, struct tally_err *err)
{
	sbuf_reset(out);
	if (!versionfile_key_valid(key))
		return tally_err_set(err, TC_INPUT,
				     "%s: invalid key '%s' (expected [A-Za-z_][A-Za-z0-9_.-]*)",
				     vf->name, key ? key : "(null)");
	if (!value || !*value)
		return tally_err_set(err, TC_INPUT, "%s: empty value for '%s'", vf->name, key);
	/* A CR or LF in the value would split the line and corrupt the file. */
	if (strpbrk(value, "\r\n"))
		return tally_err_set(err, TC_INPUT, "%s: value for '%s' contains a newline",
				     vf->name, key);
	if (!vf->lenient) {
		for (const char *p = value; *p; p++)
			if (is_ws(*p))
				return tally_err_set(err, TC_INPUT,
						     "%s: value for '%s' contains whitespace "
						     "(a value is one word)",
						     vf->name, key);
		if (is_null_word(value, strlen(value)))
			return tally_err_set(err, TC_INPUT, "%s: '%s' is not a version for '%s'",
					     vf->name, value, key);
	}
	if (splice(vf, key, value, out) < 0)
		return -1;
	/* The new bytes must read back as value: a quote inside a quoted
	 * value, or " #" in an unquoted one, would change the line's meaning. */
	struct vfile *back = NULL;
	struct tally_err perr = {0};
	const char *got = NULL;
	int ok = versionfile_parse(vf->name, out->buf, out->len, vf->lenient, &back, &perr) == 0 &&
		 (got = versionfile_get(back, key)) && strcmp(got, value) == 0;
	versionfile_free(back);
	if (!ok) {
		sbuf_reset(out);
		return tally_err_set(err, TC_INPUT,
				     "%s: value '%s' for '%s' would not read back as written on its "
				     "line (quotes or a '#' in it); change the template",
				     vf->name, value, key);
	}
	return 0;
}

static int splice(const struct vfile *vf, const char *key, const char *value, struct sbuf *out)
{
	const struct ventry *e = find(vf, key);
	if (e) {
		sbuf_add(out, vf->data, e->val_off);
		sbuf_adds(out, value);
		size_t rest = e->val_off + e->val_len;
		sbuf_add(out, vf->data + rest, vf->len - rest);
		return 0;
	}
	/* Appending uses the ending most lines already have, so a CRLF file
	 * stays CRLF throughout (also for the newline that terminates a
	 * previously unterminated last line). */
	const char *eol = vf->n_crlf > vf->n_lf ? "\r\n" : "\n";
	sbuf_add(out, vf->data, vf->len);
	if (vf->open_cr)
		sbuf_addc(out, '\n');
	else if (vf->len > 0 && vf->data[vf->len - 1] != '\n')
		sbuf_adds(out, eol);
	sbuf_addf(out, "%s=%s%s", key, value, eol);
	return 0;
}

size_t versionfile_count(const struct vfile *vf)
{
	return vf->n;
}

const char *versionfile_key_at(const struct vfile *vf, size_t i)
{
	return i < vf->n ? vf->e[i].key : NULL;
}

const char *versionfile_value_at(const struct vfile *vf, size_t i)
{
	return i < vf->n ? vf->e[i].value : NULL;
}

void versionfile_free(struct vfile *vf)
{
	if (!vf)
		return;
	for (size_t i = 0; i < vf->n; i++) {
		free(vf->e[i].key);
		free(vf->e[i].value);
	}
	free(vf->e);
	hashindex_free(&vf->index);
	free(vf->data);
	free(vf->name);
	free(vf);
}
