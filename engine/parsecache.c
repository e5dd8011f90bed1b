/* parsecache.c - parsed version files and holds by blob id (see
 * parsecache.h). Belongs to the engine thread. */
#include "parsecache.h"

#include <stdlib.h>
#include <string.h>

#include "repo.h"
#include "util.h"

struct pentry {
	char *path;
	int lenient;            /* version files: the mode it was parsed in */
	int is_holds;
	git_oid oid;            /* zero: the file was absent */
	struct vfile *vf;
	struct holds *h;
	struct tally_err err;   /* set when it failed to parse */
	int failed;
	size_t hnext;           /* hash chain: index + 1, 0 = end */
};

struct parsecache {
	struct pentry *e;
	size_t n, cap;
	size_t *heads;          /* nheads chains, index + 1 */
	size_t nheads;
};

struct parsecache *parsecache_new(void)
{
	return xcalloc(1, sizeof(struct parsecache));
}

static void entry_clear(struct pentry *p)
{
	versionfile_free(p->vf);
	holds_free(p->h);
	p->vf = NULL;
	p->h = NULL;
	p->failed = 0;
	memset(&p->err, 0, sizeof p->err);
}

void parsecache_free(struct parsecache *pc)
{
	if (!pc)
		return;
	for (size_t i = 0; i < pc->n; i++) {
		entry_clear(&pc->e[i]);
		free(pc->e[i].path);
	}
	free(pc->e);
	free(pc->heads);
	free(pc);
}

static size_t str_hash(const char *s, int kind)
{
	size_t h = 5381u + (size_t)kind;
	for (; *s; s++)
		h = h * 33u + (unsigned char)*s;
	return h;
}

static void rehash(struct parsecache *pc)
{
	size_t nh = pc->nheads ? pc->nheads * 2 : 64;
	free(pc->heads);
	pc->heads = xcalloc(nh, sizeof *pc->heads);
	pc->nheads = nh;
	for (size_t i = 0; i < pc->n; i++) {
		size_t b = str_hash(pc->e[i].path, pc->e[i].is_holds * 2 + pc->e[i].lenient) & (nh - 1);
		pc->e[i].hnext = pc->heads[b];
		pc->heads[b] = i + 1;
	}
}

/* The entry of (path, kind), added empty when new. */
static struct pentry *slot(struct parsecache *pc, const char *path, int is_holds, int lenient)
{
	int kind = is_holds * 2 + lenient;
	if (pc->nheads) {
		for (size_t i = pc->heads[str_hash(path, kind) & (pc->nheads - 1)]; i; i = pc->e[i - 1].hnext) {
			struct pentry *p = &pc->e[i - 1];
			if (p->is_holds == is_holds && p->lenient == lenient && strcmp(p->path, path) == 0)
				return p;
		}
	}
	if (pc->n == pc->cap) {
		pc->cap = pc->cap ? pc->cap * 2 : 16;
		pc->e = xrealloc(pc->e, pc->cap * sizeof *pc->e);
	}
	struct pentry *p = &pc->e[pc->n++];
	memset(p, 0, sizeof *p);
	p->path = xstrdup(path);
	p->is_holds = is_holds;
	p->lenient = lenient;
	p->failed = -1; /* never parsed */
	if (2 * pc->n > pc->nheads) {
		rehash(pc);
	} else {
		size_t b = str_hash(path, kind) & (pc->nheads - 1);
		p->hnext = pc->heads[b];
		pc->heads[b] = pc->n;
	}
	return p;
}

/* Makes p current for commit: returns 1 when it already was. */
static int fresh(git_repository *repo, const git_commit *commit, struct pentry *p, git_oid *oid)
{
	repo_blob_id(repo, commit, p->path, oid);
	return p->failed >= 0 && git_oid_equal(oid, &p->oid);
}

/* p is stale: cleared, then the file at commit read into raw. A read
 * error (not a parse error) is not cached: -1 with err. */
static int reread(git_repository *repo, const git_commit *commit, struct pentry *p, const char *path,
		  struct sbuf *raw, struct tally_err *err)
{
	int exists = 0;
	struct tally_err perr = {0};
	entry_clear(p);
	if (repo_read_at(repo, commit, path, raw, &exists, &perr) < 0) {
		sbuf_free(raw);
		p->failed = -1;
		if (err)
			*err = perr;
		return -1;
	}
	return 0;
}

/* The parse of raw returned rc (its error in p->err): p is current as oid. */
static void parsed(struct pentry *p, int rc, struct sbuf *raw, const git_oid *oid)
{
	if (rc < 0)
		p->failed = 1;
	else
		memset(&p->err, 0, sizeof p->err);
	sbuf_free(raw);
	git_oid_cpy(&p->oid, oid);
}

static int cached_result(const struct pentry *p, struct tally_err *err)
{
	if (!p->failed)
		return 0;
	if (err)
		*err = p->err;
	return -1;
}

int parsecache_vfile(struct parsecache *pc, git_repository *repo, const git_commit *commit,
		     const char *path, int lenient, const struct vfile **out, struct tally_err *err)
{
	*out = NULL;
	struct pentry *p = slot(pc, path, 0, lenient ? 1 : 0);
	git_oid oid;
	if (!fresh(repo, commit, p, &oid)) {
		struct sbuf raw = {0};
		if (reread(repo, commit, p, path, &raw, err) < 0)
			return -1;
		parsed(p, versionfile_parse(path, sbuf_str(&raw), raw.len, lenient, &p->vf, &p->err), &raw,
		       &oid);
	}
	*out = p->vf;
	return cached_result(p, err);
}

int parsecache_holds(struct parsecache *pc, git_repository *repo, const git_commit *commit,
		     const char *path, const char *const *known, size_t nknown,
		     struct holds **out, struct tally_err *err)
{
	*out = NULL;
	struct pentry *p = slot(pc, path, 1, 0);
	git_oid oid;
	if (!fresh(repo, commit, p, &oid)) {
		struct sbuf raw = {0};
		if (reread(repo, commit, p, path, &raw, err) < 0)
			return -1;
		parsed(p, holds_parse(path, sbuf_str(&raw), raw.len, known, nknown, &p->h, &p->err), &raw,
		       &oid);
	}
	*out = p->h;
	return cached_result(p, err);
}
