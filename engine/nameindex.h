/* nameindex.h - a fixed set of names (component names) hashed to their
 * index, for lookups that ran a linear search per ledger line, hold or
 * event. The names are borrowed: they must outlive the index. */
#ifndef TALLY_NAMEINDEX_H
#define TALLY_NAMEINDEX_H

#include <stddef.h>

struct nameindex;

/* name_at(ctx, i) gives the i-th of n names. */
struct nameindex *nameindex_new(size_t n, const char *(*name_at)(const void *ctx, size_t i),
				const void *ctx);
/* The index of name, or -1. */
long nameindex_find(const struct nameindex *ix, const char *name);
void nameindex_free(struct nameindex *ix);

#endif
