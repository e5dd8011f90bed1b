/* confscan.h - line numbers for tally.conf entries. libgit2 parses and
 * keeps no line numbers, so the loader (config.c) scans the file text a
 * second time with the same lexical rules (comments, quotes, continuation
 * lines, both header forms) to map every entry back to its line: the k-th
 * entry named N is the k-th line that defines N. Pure text, no threads. */
#ifndef TALLY_CONFSCAN_H
#define TALLY_CONFSCAN_H

#include <stddef.h>

#include "nameindex.h"

struct sline {
	char *name;     /* as libgit2 names it: section and key lowercased */
	char *shown;    /* the key as written, for "unknown key" */
	int line;
	int used;
};

struct shdr {
	char *section;  /* lowercased */
	char *sub;      /* NULL when none */
	int line;
};

struct scan {
	struct sline *lines;
	size_t nlines, caplines;
	struct shdr *hdrs;
	size_t nhdrs, caphdrs;
	int bad_escape_line;   /* libgit2 reports these without a line */
	/* confscan_claim's index, built on first use: the first line of each name,
	 * the next line of the same name, and per first line the next one to
	 * claim (so a claim is O(1), not a search of every line) */
	struct nameindex *line_ix;
	size_t *next_same, *claim_at;
};

/* Scans text (len bytes, a leading UTF-8 BOM skipped) into sc (zeroed by
 * the caller): every section header and every key line. */
void confscan_text(struct scan *sc, const char *text, size_t len);
/* Claims the next unclaimed line defining name (as libgit2 names it); NULL
 * when not found (an entry from an included file). */
const struct sline *confscan_claim(struct scan *sc, const char *name);
void confscan_free(struct scan *sc);

#endif
