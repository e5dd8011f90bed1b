/* util.c - allocation, string buffers, file reads and small string helpers
 * (see util.h). Any thread. */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void oom(void)
{
	fputs("tally: out of memory\n", stderr);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

char *xstrdup(const char *s)
{
	if (!s)
		return NULL;
	char *d = strdup(s);
	if (!d)
		oom();
	return d;
}

char *xstrndup(const char *s, size_t n)
{
	char *d = strndup(s, n);
	if (!d)
		oom();
	return d;
}

/* 1 when fmt is literal text, %s and %% only (most paths, keys and
 * names tally builds): cat_s copies the pieces, without vsnprintf. */
static int only_s(const char *fmt)
{
	for (const char *p = fmt; *p; p++)
		if (*p == '%' && (p[1] == 's' || p[1] == '%'))
			p++;
		else if (*p == '%')
			return 0;
	return 1;
}

static char *cat_s(const char *fmt, va_list ap)
{
	size_t len = 0;
	va_list ap2;
	va_copy(ap2, ap);
	for (const char *p = fmt; *p; p++) {
		if (*p == '%' && p[1] == 's') {
			const char *a = va_arg(ap2, const char *);
			len += strlen(a ? a : "(null)");   /* as glibc prints it */
			p++;
		} else {
			p += *p == '%';
			len++;
		}
	}
	va_end(ap2);
	char *out = xmalloc(len + 1), *o = out;
	for (const char *p = fmt; *p; p++) {
		if (*p == '%' && p[1] == 's') {
			const char *a = va_arg(ap, const char *);
			if (!a)
				a = "(null)";
			size_t n = strlen(a);
			memcpy(o, a, n);
			o += n;
			p++;
		} else {
			p += *p == '%';
			*o++ = *p;
		}
	}
	*o = '\0';
	return out;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (only_s(fmt)) {
		char *out = cat_s(fmt, ap);
		va_end(ap);
		return out;
	}
	struct sbuf sb = {0};
	sbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	return sbuf_detach(&sb);
}

void sbuf_init(struct sbuf *sb)
{
	sb->buf = NULL;
	sb->len = sb->cap = 0;
}

static void sbuf_grow(struct sbuf *sb, size_t extra)
{
	if (sb->len + extra + 1 <= sb->cap)
		return;
	size_t cap = sb->cap ? sb->cap : 64;
	while (cap < sb->len + extra + 1)
		cap *= 2;
	sb->buf = xrealloc(sb->buf, cap);
	sb->cap = cap;
}

void sbuf_add(struct sbuf *sb, const void *data, size_t len)
{
	sbuf_grow(sb, len);
	if (len)
		memcpy(sb->buf + sb->len, data, len);
	sb->len += len;
	sb->buf[sb->len] = '\0';
}

void sbuf_adds(struct sbuf *sb, const char *s)
{
	sbuf_add(sb, s, strlen(s));
}

void sbuf_addc(struct sbuf *sb, char c)
{
	sbuf_add(sb, &c, 1);
}

void sbuf_vaddf(struct sbuf *sb, const char *fmt, va_list ap)
{
	/* one pass when it fits what is there (or a first 64 bytes) */
	sbuf_grow(sb, sb->cap > sb->len + 1 ? 0 : 63);
	va_list ap2;
	va_copy(ap2, ap);
	size_t room = sb->cap - sb->len;
	int n = vsnprintf(sb->buf + sb->len, room, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		sb->buf[sb->len] = '\0';
		return;
	}
	if ((size_t)n >= room) {
		sbuf_grow(sb, (size_t)n);
		vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	}
	sb->len += (size_t)n;
}

void sbuf_addf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sbuf_vaddf(sb, fmt, ap);
	va_end(ap);
}

void sbuf_reset(struct sbuf *sb)
{
	sb->len = 0;
	if (sb->buf)
		sb->buf[0] = '\0';
}

void sbuf_free(struct sbuf *sb)
{
	free(sb->buf);
	sbuf_init(sb);
}

char *sbuf_detach(struct sbuf *sb)
{
	char *s = sb->buf ? sb->buf : xstrdup("");
	sbuf_init(sb);
	return s;
}

const char *sbuf_str(const struct sbuf *sb)
{
	return sb->buf ? sb->buf : "";
}

int util_read_file(const char *path, struct sbuf *out, struct tally_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		tally_err_set(err, TC_INPUT, "%s: cannot open: %s", path, strerror(e));
		errno = e;
		return -1;
	}
	char buf[65536];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			close(fd);
			tally_err_set(err, TC_INPUT, "%s: cannot read: %s", path, strerror(e));
			errno = e;
			return -1;
		}
		if (n == 0)
			break;
		sbuf_add(out, buf, (size_t)n);
	}
	close(fd);
	if (!out->buf)
		sbuf_add(out, "", 0);
	return 0;
}

void strv_push_owned(struct strv *sv, char *s)
{
	if (sv->n + 2 > sv->cap) {
		sv->cap = sv->cap ? sv->cap * 2 : 8;
		sv->v = xrealloc(sv->v, sv->cap * sizeof *sv->v);
	}
	sv->v[sv->n++] = s;
	sv->v[sv->n] = NULL;
}

void strv_push(struct strv *sv, const char *s)
{
	strv_push_owned(sv, xstrdup(s));
}

void strv_free(struct strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = sv->cap = 0;
}

int strv_contains(const struct strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (strcmp(sv->v[i], s) == 0)
			return 1;
	return 0;
}

int str_starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

int str_ends(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

void util_iso8601(long long epoch, char *buf, size_t len)
{
	time_t t = (time_t)epoch;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

double util_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double util_monotonic(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int util_mkdirs(const char *path, mode_t mode, struct tally_err *err)
{
	char *p = xstrdup(path);
	for (char *s = p + 1; ; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;
			*s = '\0';
			if (mkdir(p, mode) < 0 && errno != EEXIST) {
				int e = errno;
				tally_err_set(err, TC_INPUT, "%s: cannot create directory: %s", p, strerror(e));
				free(p);
				return -1;
			}
			*s = c;
			if (c == '\0')
				break;
		}
	}
	free(p);
	return 0;
}

/* Length of the UTF-8 sequence starting at p (n bytes available): the
 * sequence length when valid, 0 when invalid, -1 when cut short. */
static int utf8_seq(const unsigned char *p, size_t n)
{
	unsigned char c = p[0];
	int len;
	unsigned int min;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, min = 0x10000;
	else
		return 0;
	unsigned int cp = c & (0x3f >> (len - 1));
	for (int i = 1; i < len; i++) {
		if ((size_t)i >= n)
			return -1;
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

void util_utf8_append(struct sbuf *out, const char *data, size_t len, char carry[4],
		      size_t *ncarry)
{
	static const char repl[] = "\xef\xbf\xbd";
	if (!data) {
		for (size_t i = 0; i < *ncarry; i++)
			sbuf_add(out, repl, 3);
		*ncarry = 0;
		return;
	}
	/* complete a sequence cut by the previous chunk */
	while (*ncarry && len) {
		carry[(*ncarry)++] = *data++;
		len--;
		int r = utf8_seq((const unsigned char *)carry, *ncarry);
		if (r > 0) {
			sbuf_add(out, carry, (size_t)r);
			*ncarry = 0;
		} else if (r == 0) {
			sbuf_add(out, repl, 3);
			/* re-read what followed the bad lead byte */
			size_t rest = *ncarry - 1;
			char tmp[4];
			memcpy(tmp, carry + 1, rest);
			*ncarry = 0;
			util_utf8_append(out, tmp, rest, carry, ncarry);
		}
	}
	const unsigned char *p = (const unsigned char *)data;
	size_t i = 0, start = 0;
	while (i < len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		int r = utf8_seq(p + i, len - i);
		if (r > 0) {
			i += (size_t)r;
		} else if (r < 0) {
			sbuf_add(out, data + start, i - start);
			*ncarry = len - i;
			memcpy(carry, data + i, *ncarry);
			return;
		} else {
			sbuf_add(out, data + start, i - start);
			sbuf_add(out, repl, 3);
			i++;
			start = i;
		}
	}
	sbuf_add(out, data + start, len - start);
}

int util_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return 100;
	int d[65][65];
	for (size_t i = 0; i <= la; i++)
		d[i][0] = (int)i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = (int)j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			int sub = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			int del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
			int m = sub < del ? sub : del;
			d[i][j] = m < ins ? m : ins;
			/* a swap of two neighbours counts as one edit */
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < d[i][j])
				d[i][j] = d[i - 2][j - 2] + 1;
		}
	return d[la][lb];
}
