/* hashindex.c - a growing index of named entries (see hashindex.h). Pure,
 * no threads. */
#include "hashindex.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

static size_t name_hash(const char *k, size_t len)
{
	size_t h = 1469598103934665603ULL & (size_t)-1; /* FNV-1a */
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)k[i];
		h *= (size_t)1099511628211ULL;
	}
	return h;
}

static void put(size_t *slots, size_t nslots, const char *name, size_t pos)
{
	size_t mask = nslots - 1;
	size_t i = name_hash(name, strlen(name)) & mask;
	while (slots[i])
		i = (i + 1) & mask;
	slots[i] = pos + 1;
}

void hashindex_added(struct hashindex *ix, size_t n, hashindex_name_fn name_at, const void *ctx)
{
	if (2 * n > ix->nslots) {
		size_t ns = ix->nslots ? ix->nslots * 2 : 32;
		while (2 * n > ns)
			ns *= 2;
		free(ix->slots);
		ix->slots = xcalloc(ns, sizeof *ix->slots);
		ix->nslots = ns;
		for (size_t i = 0; i < n; i++)
			put(ix->slots, ns, name_at(ctx, i), i);
	} else {
		put(ix->slots, ix->nslots, name_at(ctx, n - 1), n - 1);
	}
}

long hashindex_find(const struct hashindex *ix, const char *name, size_t len,
		    hashindex_name_fn name_at, const void *ctx)
{
	if (!ix->nslots)
		return -1;
	size_t mask = ix->nslots - 1;
	for (size_t i = name_hash(name, len) & mask; ix->slots[i]; i = (i + 1) & mask) {
		const char *n = name_at(ctx, ix->slots[i] - 1);
		if (strncmp(n, name, len) == 0 && n[len] == '\0')
			return (long)(ix->slots[i] - 1);
	}
	return -1;
}

void hashindex_free(struct hashindex *ix)
{
	free(ix->slots);
	ix->slots = NULL;
	ix->nslots = 0;
}
