/* logbuf.c - a ring of lines; see logbuf.h. */
#include "logbuf.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

struct line {
	char *s;
	size_t len;
};

struct logbuf {
	struct line ring[LOGBUF_MAX_LINES];
	long long first, next;      /* complete lines [first, next) */
	size_t bytes;               /* held in complete lines */
	char part[LOGBUF_MAX_LINE + 1];
	size_t plen;
	int in_esc;                 /* 0 no, 1 after ESC, 2 in CSI, 3 in OSC */
	int cr;                     /* the last byte was a CR */
	unsigned long long total;
};

struct logbuf *logbuf_new(void)
{
	return xcalloc(1, sizeof(struct logbuf));
}

void logbuf_clear(struct logbuf *lb)
{
	for (long long i = lb->first; i < lb->next; i++)
		free(lb->ring[i % LOGBUF_MAX_LINES].s);
	lb->first = lb->next = 0;
	lb->bytes = lb->plen = 0;
	lb->in_esc = lb->cr = 0;
	lb->total = 0;
}

void logbuf_free(struct logbuf *lb)
{
	if (!lb)
		return;
	logbuf_clear(lb);
	free(lb);
}

static void drop_oldest(struct logbuf *lb)
{
	struct line *l = &lb->ring[lb->first % LOGBUF_MAX_LINES];
	lb->bytes -= l->len;
	free(l->s);
	l->s = NULL;
	lb->first++;
}

static void push_line(struct logbuf *lb)
{
	while (lb->next - lb->first >= LOGBUF_MAX_LINES ||
	       (lb->next > lb->first && lb->bytes + lb->plen > LOGBUF_MAX_BYTES))
		drop_oldest(lb);
	struct line *l = &lb->ring[lb->next % LOGBUF_MAX_LINES];
	l->s = xstrndup(lb->part, lb->plen);
	l->len = lb->plen;
	lb->bytes += lb->plen;
	lb->next++;
	lb->plen = 0;
}

static void add_byte(struct logbuf *lb, char ch)
{
	if (lb->plen < LOGBUF_MAX_LINE)
		lb->part[lb->plen++] = ch;
}

void logbuf_append(struct logbuf *lb, const char *data, size_t len)
{
	lb->total += len;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)data[i];
		if (lb->cr) {
			lb->cr = 0;
			if (ch != '\n')
				lb->plen = 0;   /* a progress bar redrawing its line */
		}
		if (lb->in_esc) {
			/* ESC x, ESC [ ... final, ESC ] ... BEL/ST: dropped whole */
			if (lb->in_esc == 1)
				lb->in_esc = ch == '[' ? 2 : ch == ']' ? 3 : 0;
			else if (lb->in_esc == 2 && ch >= 0x40 && ch <= 0x7e)
				lb->in_esc = 0;
			else if (lb->in_esc == 3 && (ch == 7 || ch == '\\'))
				lb->in_esc = 0;
			if (ch == '\n') {
				lb->in_esc = 0;
				push_line(lb);
			}
			continue;
		}
		if (ch == '\n') {
			push_line(lb);
		} else if (ch == '\r') {
			lb->cr = 1;
		} else if (ch == 27) {
			lb->in_esc = 1;
		} else if (ch == '\t') {
			do
				add_byte(lb, ' ');
			while (lb->plen % 8 && lb->plen < LOGBUF_MAX_LINE);
		} else if (ch < 32 || ch == 127) {
			add_byte(lb, '?');
		} else {
			add_byte(lb, (char)ch);
		}
	}
}

long long logbuf_first(const struct logbuf *lb)
{
	return lb->first;
}

long long logbuf_end(const struct logbuf *lb)
{
	return lb->next + (lb->plen ? 1 : 0);
}

const char *logbuf_line(const struct logbuf *lb, long long seq, size_t *len)
{
	if (seq >= lb->first && seq < lb->next) {
		const struct line *l = &lb->ring[seq % LOGBUF_MAX_LINES];
		if (len)
			*len = l->len;
		return l->s;
	}
	if (seq == lb->next && lb->plen) {
		/* the partial line; part has room for the NUL */
		((struct logbuf *)lb)->part[lb->plen] = 0;
		if (len)
			*len = lb->plen;
		return lb->part;
	}
	return NULL;
}

unsigned long long logbuf_total(const struct logbuf *lb)
{
	return lb->total;
}
