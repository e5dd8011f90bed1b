/* textlines.h - splitting a text file's bytes into lines, as the parsers
 * of the files tally owns (version files, the holds file) read them: LF or
 * CRLF endings, a NUL byte anywhere is an error naming the file and line.
 * Pure, no threads. */
#ifndef TALLY_TEXTLINES_H
#define TALLY_TEXTLINES_H

#include <stddef.h>

#include "err.h"

struct textline {
	int line;      /* 1-based */
	size_t off;    /* where the line starts */
	size_t len;    /* without its ending (a CR at the end with no LF is kept) */
	size_t next;   /* where the next line starts */
	int lf;        /* 1: ends in LF; 2: ends in CRLF; 0: the last line, no ending */
};

/* The line after *l (start with l zeroed) of data (len bytes): 1 with it
 * in *l, 0 past the last line, -1 with err at a NUL byte ("name:line: NUL
 * byte in file ..."). */
int textline_next(const char *name, const char *data, size_t len, struct textline *l,
		  struct tally_err *err);

#endif
