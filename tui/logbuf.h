/* logbuf.h - the bounded tail of an attempt's log that the console keeps in
 * memory: the last LOGBUF_MAX_LINES complete lines (and at most
 * LOGBUF_MAX_BYTES), numbered by an absolute sequence so that positions
 * stay put while old lines fall off. The complete log is in its file.
 * Input is sanitised on the way in: escape sequences dropped, other control
 * bytes made visible, a bare CR restarts the line (progress bars). */
#ifndef TALLY_LOGBUF_H
#define TALLY_LOGBUF_H

#include <stddef.h>

#define LOGBUF_MAX_LINES 10000
#define LOGBUF_MAX_BYTES (8u << 20)
#define LOGBUF_MAX_LINE 4096

struct logbuf;

struct logbuf *logbuf_new(void);
void logbuf_free(struct logbuf *lb);
void logbuf_clear(struct logbuf *lb);
/* Appends a chunk of output (lines may be split across chunks). */
void logbuf_append(struct logbuf *lb, const char *data, size_t len);
/* Sequence numbers: [first, end) are held; end includes the partial line
 * (shown as the last line) when there is one. */
long long logbuf_first(const struct logbuf *lb);
long long logbuf_end(const struct logbuf *lb);
/* The line with that sequence number (NUL-terminated, owned by lb), or NULL. */
const char *logbuf_line(const struct logbuf *lb, long long seq, size_t *len);
/* Bytes ever appended (for the benchmark and the title). */
unsigned long long logbuf_total(const struct logbuf *lb);

#endif
