/* util.h - allocation that aborts on exhaustion, a growable string buffer,
 * whole-file reads and small string helpers. */
#ifndef TALLY_UTIL_H
#define TALLY_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>

#include "err.h"

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);          /* xstrdup(NULL) == NULL */
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A growable, always NUL-terminated buffer. Zero-initialise or sbuf_init(). */
struct sbuf {
	char *buf;
	size_t len, cap;
};
void sbuf_init(struct sbuf *sb);
void sbuf_add(struct sbuf *sb, const void *data, size_t len);
void sbuf_adds(struct sbuf *sb, const char *s);
void sbuf_addc(struct sbuf *sb, char c);
void sbuf_addf(struct sbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sbuf_vaddf(struct sbuf *sb, const char *fmt, va_list ap);
void sbuf_reset(struct sbuf *sb);
void sbuf_free(struct sbuf *sb);
char *sbuf_detach(struct sbuf *sb);    /* caller frees; sb is reset */
const char *sbuf_str(const struct sbuf *sb); /* "" when empty */

/* Reads a whole file into out (appending). A missing file fails with errno
 * ENOENT left in errno and err naming the path. */
int util_read_file(const char *path, struct sbuf *out, struct tally_err *err);

/* A list of strings (NULL-terminated array kept alongside its count). */
struct strv {
	char **v;
	size_t n, cap;
};
void strv_push(struct strv *sv, const char *s);        /* copies s */
void strv_push_owned(struct strv *sv, char *s);        /* takes s */
void strv_free(struct strv *sv);
int strv_contains(const struct strv *sv, const char *s);

int str_starts(const char *s, const char *prefix);
int str_ends(const char *s, const char *suffix);
/* Levenshtein distance of a and b, capped at 100 (for "did you mean"). */
int util_edit_distance(const char *a, const char *b);
/* Current UTC time as ISO 8601 ("2026-11-29T02:00:00Z") into buf[21+]. */
void util_iso8601(long long epoch, char *buf, size_t len);
double util_now(void);                 /* CLOCK_REALTIME seconds */
double util_monotonic(void);           /* CLOCK_MONOTONIC seconds */
/* Appends data to out as valid UTF-8: invalid bytes become U+FFFD. An
 * incomplete sequence at the end is kept in carry (at most 3 bytes, *ncarry
 * of them) to be completed by the next chunk; pass data NULL to flush it. */
void util_utf8_append(struct sbuf *out, const char *data, size_t len, char carry[4],
		      size_t *ncarry);
/* mkdir -p with mode for created directories. */
int util_mkdirs(const char *path, mode_t mode, struct tally_err *err);

#endif
