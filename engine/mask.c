/* mask.c - see mask.h. */
#include "mask.h"

#include <stdlib.h>
#include <string.h>

struct mask {
	char **v;          /* longest first, so a value that contains another wins */
	size_t *len;
	size_t n, maxlen;
	unsigned char first[256];
	struct sbuf carry; /* held back: could be the start of a value */
};

static int by_len_desc(const void *a, const void *b)
{
	size_t la = strlen(*(char *const *)a), lb = strlen(*(char *const *)b);
	return la < lb ? 1 : la > lb ? -1 : 0;
}

struct mask *mask_new(char *const *values)
{
	size_t n = 0;
	for (char *const *p = values; p && *p; p++)
		if (**p)
			n++;
	if (!n)
		return NULL;
	struct mask *m = xcalloc(1, sizeof *m);
	m->v = xcalloc(n, sizeof *m->v);
	m->len = xcalloc(n, sizeof *m->len);
	for (char *const *p = values; *p; p++)
		if (**p)
			m->v[m->n++] = xstrdup(*p);
	qsort(m->v, m->n, sizeof *m->v, by_len_desc);
	for (size_t i = 0; i < m->n; i++) {
		m->len[i] = strlen(m->v[i]);
		if (m->len[i] > m->maxlen)
			m->maxlen = m->len[i];
		m->first[(unsigned char)m->v[i][0]] = 1;
	}
	return m;
}

/* Masks buf[0..n) into out; returns how many bytes were consumed (the
 * rest, when !final, is a possible start of a value). */
static size_t mask_run(const struct mask *m, const char *buf, size_t n, int final, struct sbuf *out)
{
	size_t i = 0, plain = 0;
	while (i < n) {
		if (!m->first[(unsigned char)buf[i]]) {
			i++;
			continue;
		}
		size_t hit = 0;
		int partial = 0;
		/* longest first: a longer value that may still complete holds
		 * back a shorter one that is already whole */
		for (size_t k = 0; k < m->n && !hit && !partial; k++) {
			size_t l = m->len[k];
			if (n - i >= l) {
				if (memcmp(buf + i, m->v[k], l) == 0)
					hit = l;
			} else if (!final && memcmp(buf + i, m->v[k], n - i) == 0) {
				partial = 1;
			}
		}
		if (hit) {
			sbuf_add(out, buf + plain, i - plain);
			sbuf_adds(out, MASK_TEXT);
			i += hit;
			plain = i;
		} else if (partial) {
			break;
		} else {
			i++;
		}
	}
	sbuf_add(out, buf + plain, i - plain);
	return i;
}

void mask_feed(struct mask *m, const char *data, size_t len, struct sbuf *out)
{
	if (!m) {
		sbuf_add(out, data, len);
		return;
	}
	sbuf_add(&m->carry, data, len);
	if (!m->carry.len)
		return;
	size_t used = mask_run(m, m->carry.buf, m->carry.len, 0, out);
	size_t rest = m->carry.len - used;
	memmove(m->carry.buf, m->carry.buf + used, rest);
	m->carry.len = rest;
	m->carry.buf[rest] = '\0';
}

void mask_flush(struct mask *m, struct sbuf *out)
{
	if (!m || !m->carry.len)
		return;
	mask_run(m, m->carry.buf, m->carry.len, 1, out);
	sbuf_reset(&m->carry);
}

char *mask_string(const struct mask *m, const char *s)
{
	struct sbuf out = {0};
	if (!s)
		return NULL;
	if (!m)
		return xstrdup(s);
	mask_run(m, s, strlen(s), 1, &out);
	char *r = sbuf_detach(&out);
	return r ? r : xstrdup("");
}

static void wipe(char *s, size_t n)
{
	volatile char *p = s;
	while (n--)
		*p++ = 0;
}

void mask_free(struct mask *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++) {
		wipe(m->v[i], m->len[i]);
		free(m->v[i]);
	}
	if (m->carry.buf)
		wipe(m->carry.buf, m->carry.cap);
	sbuf_free(&m->carry);
	free(m->v);
	free(m->len);
	free(m);
}
