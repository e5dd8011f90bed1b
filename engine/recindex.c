/* recindex.c - the record commits of every component from one shared
 * history walk (see recindex.h). No threads of its own: one index belongs
 * to one thread and uses that thread's git_repository. */
#include "recindex.h"

#include <stdlib.h>
#include <string.h>

#include "bases.h"
#include "hashindex.h"
#include "repo.h"
#include "trailers.h"
#include "util.h"
#include "version.h"

struct comp_recs {
	char *name;
	struct recindex_rec *r;
	size_t n, cap;
};

struct recindex {
	git_oid head;
	int have_head;
	struct comp_recs *c;
	size_t nc, capc;
	struct hashindex by_name;   /* c[] by name */
};

struct recindex *recindex_new(void)
{
	return xcalloc(1, sizeof(struct recindex));
}

static void rec_free(struct recindex_rec *r)
{
	free(r->version);
	free(r->digest);
	free(r->action);
	free(r->recipe);
	strv_free(&r->bases);
}

static void clear(struct recindex *ri)
{
	for (size_t i = 0; i < ri->nc; i++) {
		for (size_t k = 0; k < ri->c[i].n; k++)
			rec_free(&ri->c[i].r[k]);
		free(ri->c[i].r);
		free(ri->c[i].name);
	}
	free(ri->c);
	hashindex_free(&ri->by_name);
	ri->c = NULL;
	ri->nc = ri->capc = 0;
	ri->have_head = 0;
}

void recindex_free(struct recindex *ri)
{
	if (!ri)
		return;
	clear(ri);
	free(ri);
}

static const char *comp_name_at(const void *ctx, size_t i)
{
	const struct recindex *ri = ctx;
	return ri->c[i].name;
}

static struct comp_recs *lookup(const struct recindex *ri, const char *name)
{
	long i = hashindex_find(&ri->by_name, name, strlen(name), comp_name_at, ri);
	return i < 0 ? NULL : &ri->c[i];
}

static struct comp_recs *get(struct recindex *ri, const char *name)
{
	struct comp_recs *cr = lookup(ri, name);
	if (cr)
		return cr;
	if (ri->nc == ri->capc) {
		ri->capc = ri->capc ? ri->capc * 2 : 64;
		ri->c = xrealloc(ri->c, ri->capc * sizeof *ri->c);
	}
	cr = &ri->c[ri->nc++];
	memset(cr, 0, sizeof *cr);
	cr->name = xstrdup(name);
	hashindex_added(&ri->by_name, ri->nc, comp_name_at, ri);
	return cr;
}

struct pending {
	char *component;
	struct recindex_rec rec;
};

/* Walks head (hiding hide when not NULL), newest first, into *out. */
static int walk(git_repository *repo, const git_oid *head, const git_oid *hide,
		struct pending **out, size_t *nout)
{
	git_revwalk *w = NULL;
	size_t n = 0, cap = 0;
	struct pending *p = NULL;
	if (git_revwalk_new(&w, repo) < 0 || git_revwalk_push(w, head) < 0 ||
	    (hide && git_revwalk_hide(w, hide) < 0)) {
		git_revwalk_free(w);
		return -1;
	}
	git_oid oid;
	while (git_revwalk_next(&oid, w) == 0) {
		git_commit *c = NULL;
		if (git_commit_lookup(&c, repo, &oid) < 0)
			break;
		const char *msg = git_commit_message(c);
		/* most commits of a busy repo are not tally's: skip them cheaply */
		if (!msg || !strstr(msg, "Tally-Component:")) {
			git_commit_free(c);
			continue;
		}
		char *comp = repo_trailer(msg, "Tally-Component");
		char *action = repo_trailer(msg, "Tally-Action");
		char *version = NULL;
		if (comp && trailers_is_record_action(action) &&
		    (version = repo_trailer(msg, "Tally-Version")) && version_valid(version)) {
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				p = xrealloc(p, cap * sizeof *p);
			}
			struct pending *q = &p[n++];
			memset(q, 0, sizeof *q);
			q->component = comp;
			q->rec.action = action;
			q->rec.version = version;
			q->rec.digest = repo_trailer(msg, "Tally-Digest");
			q->rec.recipe = repo_trailer(msg, "Tally-Recipe");
			bases_trailers(msg, "Tally-Base", &q->rec.bases);
			repo_oid_hex(&oid, q->rec.commit);
			q->rec.time = (long long)git_commit_time(c);
			comp = action = version = NULL;
		}
		free(comp);
		free(action);
		free(version);
		git_commit_free(c);
	}
	git_revwalk_free(w);
	*out = p;
	*nout = n;
	return 0;
}

int recindex_update(struct recindex *ri, git_repository *repo, const char *refname)
{
	git_oid head;
	if (git_reference_name_to_id(&head, repo, refname) < 0) {
		clear(ri);
		return -1;
	}
	if (ri->have_head && git_oid_equal(&head, &ri->head))
		return 0;
	int incremental = ri->have_head && git_graph_descendant_of(repo, &head, &ri->head) == 1;
	if (!incremental)
		clear(ri);
	struct pending *p = NULL;
	size_t n = 0;
	if (walk(repo, &head, incremental ? &ri->head : NULL, &p, &n) < 0) {
		clear(ri);
		return -1;
	}
	/* p is newest first. A full walk appends in that order; commits on
	 * top of the last head are newer than everything indexed, so they go
	 * in front (oldest of them first). */
	for (size_t k = 0; k < n; k++) {
		size_t i = incremental ? n - 1 - k : k;
		struct comp_recs *cr = get(ri, p[i].component);
		if (cr->n == cr->cap) {
			cr->cap = cr->cap ? cr->cap * 2 : 4;
			cr->r = xrealloc(cr->r, cr->cap * sizeof *cr->r);
		}
		if (incremental) {
			memmove(cr->r + 1, cr->r, cr->n * sizeof *cr->r);
			cr->r[0] = p[i].rec;
		} else {
			cr->r[cr->n] = p[i].rec;
		}
		cr->n++;
		free(p[i].component);
	}
	free(p);
	git_oid_cpy(&ri->head, &head);
	ri->have_head = 1;
	return 0;
}

const struct recindex_rec *recindex_of(const struct recindex *ri, const char *component, size_t *n)
{
	const struct comp_recs *cr = lookup(ri, component);
	*n = cr ? cr->n : 0;
	return cr ? cr->r : NULL;
}
