/* version.c - version strings: the tag grammar, ordering, filters (see
 * version.h). Pure; any thread. */
#include "version.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define VERSION_MAX 128

/* Hand-written rather than a regex: this check guards every path, command
 * and commit, so it must not depend on locale-sensitive bracket ranges. */
static int tag_first(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

static int tag_rest(unsigned char c)
{
	return tag_first(c) || c == '.' || c == '-';
}

int version_valid(const char *s)
{
	if (!s || !tag_first((unsigned char)s[0]))
		return 0;
	size_t i = 1;
	for (; s[i]; i++) {
		if (i >= VERSION_MAX || !tag_rest((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

/* A span into the caller's string; SemVer fields are compared in place so
 * that numbers of any length compare without overflow. */
struct span {
	const char *p;
	size_t len;
};

struct semver {
	struct span num[3];
	struct span pre; /* len 0 when there is no pre-release */
};

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int is_ident(unsigned char c)
{
	return is_digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-';
}

static int all_digits(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!is_digit((unsigned char)p[i]))
			return 0;
	return 1;
}

/* Parses dot-separated identifiers up to a byte outside them. numeric_rule
 * rejects leading zeros in numeric identifiers, as SemVer requires for the
 * pre-release but not for build metadata. Returns the end or NULL. */
static const char *parse_idents(const char *p, int numeric_rule)
{
	for (;;) {
		const char *start = p;
		while (is_ident((unsigned char)*p))
			p++;
		size_t len = (size_t)(p - start);
		if (len == 0)
			return NULL;
		if (numeric_rule && len > 1 && start[0] == '0' && all_digits(start, len))
			return NULL;
		if (*p != '.')
			return p;
		p++;
	}
}

static int semver_parse(const char *s, struct semver *v)
{
	const char *p = s;
	if (*p == 'v')
		p++;
	for (int i = 0; i < 3; i++) {
		const char *start = p;
		while (is_digit((unsigned char)*p))
			p++;
		size_t len = (size_t)(p - start);
		if (len == 0 || (len > 1 && start[0] == '0'))
			return 0;
		v->num[i].p = start;
		v->num[i].len = len;
		if (i < 2) {
			if (*p != '.')
				return 0;
			p++;
		}
	}
	v->pre.p = p;
	v->pre.len = 0;
	if (*p == '-') {
		const char *start = p + 1;
		p = parse_idents(start, 1);
		if (!p)
			return 0;
		v->pre.p = start;
		v->pre.len = (size_t)(p - start);
	}
	if (*p == '+') {
		p = parse_idents(p + 1, 0);
		if (!p)
			return 0;
	}
	return *p == '\0';
}

/* Both spans are digit strings without leading zeros, so the longer one is
 * larger and equal lengths compare bytewise. */
static int cmp_numeric(struct span a, struct span b)
{
	if (a.len != b.len)
		return a.len < b.len ? -1 : 1;
	return memcmp(a.p, b.p, a.len);
}

static int cmp_ascii(struct span a, struct span b)
{
	size_t n = a.len < b.len ? a.len : b.len;
	int c = memcmp(a.p, b.p, n);
	if (c)
		return c;
	if (a.len == b.len)
		return 0;
	return a.len < b.len ? -1 : 1;
}

static struct span next_ident(struct span *rest)
{
	struct span id = {rest->p, 0};
	while (id.len < rest->len && rest->p[id.len] != '.')
		id.len++;
	size_t used = id.len < rest->len ? id.len + 1 : id.len;
	rest->p += used;
	rest->len -= used;
	return id;
}

static int cmp_prerelease(struct span a, struct span b)
{
	/* A version without a pre-release outranks the same version with one. */
	if (!a.len || !b.len)
		return (a.len == 0) - (b.len == 0);
	while (a.len && b.len) {
		struct span x = next_ident(&a), y = next_ident(&b);
		int xn = all_digits(x.p, x.len), yn = all_digits(y.p, y.len);
		int c;
		if (xn && yn)
			c = cmp_numeric(x, y);
		else if (xn != yn)
			c = xn ? -1 : 1;
		else
			c = cmp_ascii(x, y);
		if (c)
			return c;
	}
	return (a.len != 0) - (b.len != 0);
}

static int semver_cmp(const struct semver *a, const struct semver *b)
{
	for (int i = 0; i < 3; i++) {
		int c = cmp_numeric(a->num[i], b->num[i]);
		if (c)
			return c;
	}
	return cmp_prerelease(a->pre, b->pre);
}

static size_t release_len(const char *s);

/* GNU version sort, except that a pre-release sorts below its own release
 * (v3.9.0-rc.1 < v3.9.0, as dpkg's '~' does): strverscmp alone puts the
 * longer string last, so a record at v3.9.0-rc.1 would never move on to
 * v3.9.0. The parts before the first pre-release word are compared first. */
static int cmp_version(const char *a, const char *b)
{
	size_t la = release_len(a), lb = release_len(b);
	size_t na = strlen(a), nb = strlen(b);
	if ((la == na && lb == nb) || la >= 256 || lb >= 256)
		return strverscmp(a, b);
	char ka[256], kb[256];
	memcpy(ka, a, la);
	ka[la] = '\0';
	memcpy(kb, b, lb);
	kb[lb] = '\0';
	int c = strverscmp(ka, kb);
	if (c)
		return c;
	if ((la == na) != (lb == nb))
		return la == na ? 1 : -1;   /* the release outranks its pre-release */
	return strverscmp(a, b);
}

int version_compare(const char *a, const char *b, enum version_order order)
{
	if (order != ORDER_SEMVER)
		return cmp_version(a, b);
	struct semver va, vb;
	int sa = semver_parse(a, &va), sb = semver_parse(b, &vb);
	if (sa && sb)
		return semver_cmp(&va, &vb);
	if (sa != sb)
		return sa ? 1 : -1;
	return strverscmp(a, b);
}

int version_is_alias(const char *s)
{
	return !s || !strpbrk(s, "0123456789");
}

/* 1 when the part p[0..n) is a pre-release word, alone or followed by digits. */
static int is_pre_part(const char *p, size_t n);

/* Length of s before the separator of its first pre-release part, or all
 * of s when it has none. */
static size_t release_len(const char *s)
{
	for (const char *p = s; *p;) {
		size_t n = strcspn(p, ".-_+");
		if (is_pre_part(p, n))
			return p == s ? 0 : (size_t)(p - 1 - s);
		p += n;
		if (*p)
			p++;
	}
	return strlen(s);
}

static int is_pre_part(const char *p, size_t n)
{
	static const char *const words[] = {"alpha", "beta",     "rc",      "pre",   "preview",
					    "dev",   "snapshot", "nightly", "canary"};
	size_t w = 0;
	while (w < n && !is_digit((unsigned char)p[w]))
		w++;
	/* p[0..w) the word, p[w..n) digits only */
	if (w == 0 || !all_digits(p + w, n - w))
		return 0;
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strlen(words[i]) == w && strncasecmp(p, words[i], w) == 0)
			return 1;
	return 0;
}

int version_is_prerelease(const char *s)
{
	/* Every spelling seen in real tag lists: "v1.3.0.rc.0", "8.0-rc-jammy",
	 * "v2.0.0-rc1", "1.0_beta2", "2.0+nightly". A part that is one of the
	 * words, alone or followed by digits only, makes the version a
	 * pre-release; flavours ("-jammy", "-anolis") and patch levels
	 * ("-patch.9") are not words of this list. */
	if (!s)
		return 0;
	for (const char *p = s; *p;) {
		size_t n = strcspn(p, ".-_+");
		if (is_pre_part(p, n))
			return 1;
		p += n;
		if (*p)
			p++;
	}
	return 0;
}

int version_order_parse(const char *s, enum version_order *out)
{
	if (!s)
		return -1;
	if (strcmp(s, "version") == 0)
		*out = ORDER_VERSION;
	else if (strcmp(s, "semver") == 0)
		*out = ORDER_SEMVER;
	else
		return -1;
	return 0;
}

static int compile_one(regex_t *re, const char *pattern, const char *which, const char *ctx,
		       struct tally_err *err)
{
	int rc = regcomp(re, pattern, REG_EXTENDED | REG_NOSUB);
	if (rc == 0)
		return 0;
	char why[256];
	regerror(rc, re, why, sizeof why);
	/* POSIX leaves re undefined after a failed regcomp; nothing to free. */
	return tally_err_set(err, TC_INPUT, "%s: bad %s regex \"%s\": %s; write a POSIX extended regular expression",
			     ctx ? ctx : "filter", which, pattern, why);
}

int vfilter_init(struct vfilter *f, const char *include, const char *exclude, int prerelease,
		 const char *ctx, struct tally_err *err)
{
	memset(f, 0, sizeof *f);
	f->prerelease = prerelease;
	if (include) {
		if (compile_one(&f->include, include, "include", ctx, err) < 0)
			return -1;
		f->has_include = 1;
	}
	if (exclude) {
		if (compile_one(&f->exclude, exclude, "exclude", ctx, err) < 0) {
			vfilter_free(f);
			return -1;
		}
		f->has_exclude = 1;
	}
	return 0;
}

int vfilter_accept(const struct vfilter *f, const char *v)
{
	if (!version_valid(v) || version_is_alias(v))
		return 0;
	if (f->has_include && regexec(&f->include, v, 0, NULL, 0) != 0)
		return 0;
	if (f->has_exclude && regexec(&f->exclude, v, 0, NULL, 0) == 0)
		return 0;
	if (!f->prerelease && version_is_prerelease(v))
		return 0;
	return 1;
}

void vfilter_free(struct vfilter *f)
{
	if (!f)
		return;
	if (f->has_include)
		regfree(&f->include);
	if (f->has_exclude)
		regfree(&f->exclude);
	f->has_include = f->has_exclude = 0;
}
