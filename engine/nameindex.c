/* nameindex.c - a fixed set of component names hashed to their index (see
 * nameindex.h). Built once; read by its owner's thread. */
#include "nameindex.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

struct nameindex {
	const char **names;     /* by slot; NULL = empty */
	size_t *idx;
	size_t nslots;
};

static size_t hash(const char *s)
{
	size_t h = 5381u;
	for (; *s; s++)
		h = h * 33u + (unsigned char)*s;
	return h;
}

struct nameindex *nameindex_new(size_t n, const char *(*name_at)(const void *ctx, size_t i),
				const void *ctx)
{
	struct nameindex *ix = xcalloc(1, sizeof *ix);
	size_t ns = 16;
	while (ns < 2 * n)
		ns *= 2;
	ix->nslots = ns;
	ix->names = xcalloc(ns, sizeof *ix->names);
	ix->idx = xcalloc(ns, sizeof *ix->idx);
	for (size_t i = 0; i < n; i++) {
		const char *s = name_at(ctx, i);
		size_t k = hash(s) & (ns - 1);
		while (ix->names[k] && strcmp(ix->names[k], s) != 0)
			k = (k + 1) & (ns - 1);
		if (ix->names[k])
			continue; /* a repeated name: the first one wins, as a linear search */
		ix->names[k] = s;
		ix->idx[k] = i;
	}
	return ix;
}

long nameindex_find(const struct nameindex *ix, const char *name)
{
	for (size_t k = hash(name) & (ix->nslots - 1); ix->names[k]; k = (k + 1) & (ix->nslots - 1))
		if (strcmp(ix->names[k], name) == 0)
			return (long)ix->idx[k];
	return -1;
}

void nameindex_free(struct nameindex *ix)
{
	if (!ix)
		return;
	free(ix->names);
	free(ix->idx);
	free(ix);
}
