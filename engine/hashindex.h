/* hashindex.h - an index that grows with the caller's array of named
 * entries (components of a config, keys of a version file, components of
 * the record index): open addressing on the names' hash, at most half
 * full, holding positions only (the names stay in the caller's array and
 * are read through name_at). For a fixed set built once, see nameindex.h.
 * Pure, no threads; one index belongs to its owner's thread. */
#ifndef TALLY_HASHINDEX_H
#define TALLY_HASHINDEX_H

#include <stddef.h>

typedef const char *(*hashindex_name_fn)(const void *ctx, size_t i);

struct hashindex {
	size_t *slots;   /* position + 1; 0: empty */
	size_t nslots;   /* 0 or a power of two at least twice the entries */
};

/* The caller's array has n entries now, entry n - 1 new: index it. */
void hashindex_added(struct hashindex *ix, size_t n, hashindex_name_fn name_at, const void *ctx);
/* The position of the entry named name (len bytes, no NUL needed), or -1. */
long hashindex_find(const struct hashindex *ix, const char *name, size_t len,
		    hashindex_name_fn name_at, const void *ctx);
void hashindex_free(struct hashindex *ix);

#endif
