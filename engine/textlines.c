/* textlines.c - a text file's bytes as lines (see textlines.h). Pure, no
 * threads. */
#include "textlines.h"

#include <string.h>

int textline_next(const char *name, const char *data, size_t len, struct textline *l,
		  struct tally_err *err)
{
	size_t off = l->next;
	if (off >= len)
		return 0;
	l->line++;
	l->off = off;
	const char *nl = memchr(data + off, '\n', len - off);
	l->next = nl ? (size_t)(nl - data) + 1 : len;
	l->len = (nl ? (size_t)(nl - data) : len) - off;
	if (memchr(data + off, '\0', l->next - off))
		return tally_err_set(err, TC_INPUT, "%s:%d: NUL byte in file (is it a text file?)",
				     name, l->line);
	l->lf = 0;
	if (nl) {
		l->lf = 1;
		if (l->len > 0 && data[off + l->len - 1] == '\r') {
			l->len--;
			l->lf = 2;
		}
	}
	return 1;
}
