/* recindex.c - the record commits of every component from one shared
 * history walk, and its copy in the state directory (STATE/recindex): a
 * start reads that copy and walks only the commits added since the head it
 * was written at. The copy is a cache: an unreadable, corrupt or foreign
 * one is ignored with a warning and the index is walked from scratch, so
 * it never changes a decision. No threads of its own: one index belongs to
 * one thread at a time and uses that thread's git_repository. */
#include "recindex.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	char *path;             /* the copy in the state directory, or NULL */
	size_t walked;          /* commits walked since the copy was written */
	int resave;             /* the copy was rejected: replace it at the next update */
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
	free(ri->path);
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
		struct pending **out, size_t *nout, size_t *walked)
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
		(*walked)++;
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
	if (!incremental) {
		clear(ri);
		ri->walked = 0;
	}
	struct pending *p = NULL;
	size_t n = 0;
	if (walk(repo, &head, incremental ? &ri->head : NULL, &p, &n, &ri->walked) < 0) {
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
	/* the copy is rewritten once a start would walk enough commits to
	 * matter; a failed write only costs the next start that walk */
	if (ri->path && (ri->walked >= RECINDEX_SAVE_AFTER || ri->resave) && recindex_save(ri, NULL) == 0) {
		ri->walked = 0;
		ri->resave = 0;
	}
	return 0;
}

const struct recindex_rec *recindex_of(const struct recindex *ri, const char *component, size_t *n)
{
	const struct comp_recs *cr = lookup(ri, component);
	*n = cr ? cr->n : 0;
	return cr ? cr->r : NULL;
}

/* ---- the copy in the state directory ----------------------------------
 * Line 1: "tally-recindex 2 HEAD SUM\n", SUM the SHA-1 (as git hashes a
 * blob) of everything after that line. Then one line per record, each
 * component's records newest first: the fields component, commit, time,
 * action, version, digest, recipe, the number of bases, the bases, each
 * ended by a NUL byte (no trailer value holds one); digest and recipe are
 * "=VALUE" or "-" (none). Not JSON: a start reads it, and this is several
 * times faster to read. */
#define RI_MAGIC "tally-recindex 2 "

static void put_field(struct sbuf *sb, const char *prefix, const char *s)
{
	sbuf_adds(sb, prefix);
	sbuf_add(sb, s, strlen(s) + 1);
}

int recindex_save(struct recindex *ri, struct tally_err *err)
{
	if (!ri->path || !ri->have_head) {
		tally_err_set(err, TC_INTERNAL, "record index: nothing to save");
		return -1;
	}
	struct sbuf body = {0};
	for (size_t i = 0; i < ri->nc; i++)
		for (size_t k = 0; k < ri->c[i].n; k++) {
			const struct recindex_rec *r = &ri->c[i].r[k];
			char num[32];
			put_field(&body, "", ri->c[i].name);
			put_field(&body, "", r->commit);
			snprintf(num, sizeof num, "%lld", r->time);
			put_field(&body, "", num);
			put_field(&body, "", r->action);
			put_field(&body, "", r->version);
			put_field(&body, r->digest ? "=" : "-", r->digest ? r->digest : "");
			put_field(&body, r->recipe ? "=" : "-", r->recipe ? r->recipe : "");
			snprintf(num, sizeof num, "%zu", r->bases.n);
			put_field(&body, "", num);
			for (size_t j = 0; j < r->bases.n; j++)
				put_field(&body, "", r->bases.v[j]);
			sbuf_addc(&body, '\n');
		}
	git_oid sum;
	char head[GIT_OID_HEXSZ + 1], sumhex[GIT_OID_HEXSZ + 1];
	git_odb_hash(&sum, body.buf ? body.buf : "", body.len, GIT_OBJECT_BLOB);
	git_oid_tostr(sumhex, sizeof sumhex, &sum);
	git_oid_tostr(head, sizeof head, &ri->head);
	struct sbuf sb = {0};
	sbuf_addf(&sb, RI_MAGIC "%s %s\n", head, sumhex);
	sbuf_add(&sb, body.buf ? body.buf : "", body.len);
	sbuf_free(&body);
	/* a cache: written to a temporary file and renamed, without fsync (a
	 * torn copy after a crash fails its sum and is walked again) */
	char *tmp = xasprintf("%s.tmp", ri->path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int rc = -1;
	if (fd >= 0) {
		size_t off = 0;
		while (off < sb.len) {
			ssize_t w = write(fd, sb.buf + off, sb.len - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				break;
			off += (size_t)w;
		}
		rc = off == sb.len ? 0 : -1;
		if (close(fd) < 0)
			rc = -1;
		if (rc == 0 && rename(tmp, ri->path) < 0)
			rc = -1;
	}
	if (rc < 0) {
		tally_err_set(err, TC_INTERNAL, "%s: cannot write the record index: %s", ri->path,
			      strerror(errno));
		unlink(tmp);
	}
	free(tmp);
	sbuf_free(&sb);
	return rc;
}

/* the next NUL-ended field at *p (before end), or NULL */
static const char *field(const char **p, const char *end)
{
	const char *f = *p;
	const char *z = f < end ? memchr(f, '\0', (size_t)(end - f)) : NULL;
	if (!z)
		return NULL;
	*p = z + 1;
	return f;
}

static int number(const char *s, long long *out)
{
	char *e = NULL;
	errno = 0;
	long long v = strtoll(s, &e, 10);
	if (!*s || *e || errno || v < 0)
		return -1;
	*out = v;
	return 0;
}

static int load_records(struct recindex *ri, const char *p, const char *end)
{
	while (p < end) {
		const char *comp = field(&p, end), *commit = field(&p, end), *tm = field(&p, end);
		const char *action = field(&p, end), *version = field(&p, end);
		const char *dg = field(&p, end), *rc = field(&p, end), *nb = field(&p, end);
		long long t, nbases;
		if (!nb || !*comp || strlen(commit) != GIT_OID_HEXSZ || number(tm, &t) < 0 ||
		    number(nb, &nbases) < 0 || nbases > 4096 || !version_valid(version) ||
		    !trailers_is_record_action(action) ||
		    !(*dg == '-' ? !dg[1] : *dg == '=') || !(*rc == '-' ? !rc[1] : *rc == '='))
			return -1;
		struct comp_recs *cr = get(ri, comp);
		if (cr->n == cr->cap) {
			cr->cap = cr->cap ? cr->cap * 2 : 4;
			cr->r = xrealloc(cr->r, cr->cap * sizeof *cr->r);
		}
		struct recindex_rec *r = &cr->r[cr->n++];
		memset(r, 0, sizeof *r);
		r->version = xstrdup(version);
		r->action = xstrdup(action);
		r->digest = *dg == '=' ? xstrdup(dg + 1) : NULL;
		r->recipe = *rc == '=' ? xstrdup(rc + 1) : NULL;
		memcpy(r->commit, commit, sizeof r->commit);
		r->time = t;
		for (long long j = 0; j < nbases; j++) {
			const char *b = field(&p, end);
			if (!b)
				return -1;
			strv_push(&r->bases, b);
		}
		if (p >= end || *p != '\n')
			return -1;
		p++;
	}
	return 0;
}

struct recindex *recindex_load(const char *state_dir, struct strv *warnings)
{
	struct recindex *ri = recindex_new();
	if (!state_dir)
		return ri;
	ri->path = xasprintf("%s/recindex", state_dir);
	struct sbuf sb = {0};
	struct tally_err err = {0};
	const char *why = NULL;
	if (util_read_file(ri->path, &sb, &err) < 0) {
		if (errno != ENOENT)
			why = "unreadable";
		goto out;
	}
	const char *nl = memchr(sb.buf, '\n', sb.len);
	git_oid head, want, sum;
	char hex[GIT_OID_HEXSZ + 1];
	size_t ml = strlen(RI_MAGIC);
	if (!nl || (size_t)(nl - sb.buf) != ml + 2 * GIT_OID_HEXSZ + 1 || memcmp(sb.buf, RI_MAGIC, ml) != 0 ||
	    sb.buf[ml + GIT_OID_HEXSZ] != ' ') {
		why = "not a record index";
		goto out;
	}
	memcpy(hex, sb.buf + ml, GIT_OID_HEXSZ);
	hex[GIT_OID_HEXSZ] = 0;
	if (git_oid_fromstr(&head, hex) < 0) {
		why = "not a record index";
		goto out;
	}
	memcpy(hex, sb.buf + ml + GIT_OID_HEXSZ + 1, GIT_OID_HEXSZ);
	const char *body = nl + 1;
	size_t blen = sb.len - (size_t)(body - sb.buf);
	git_odb_hash(&sum, body, blen, GIT_OBJECT_BLOB);
	if (git_oid_fromstr(&want, hex) < 0 || !git_oid_equal(&want, &sum)) {
		why = "its checksum does not match (torn or changed)";
		goto out;
	}
	if (load_records(ri, body, body + blen) < 0) {
		why = "malformed records";
		goto out;
	}
	git_oid_cpy(&ri->head, &head);
	ri->have_head = 1;
out:
	if (why) {
		clear(ri);
		ri->resave = 1;   /* else every start would warn again */
		if (warnings)
			strv_push_owned(warnings, xasprintf("%s: %s, ignored: the record index is built again "
							    "from the history",
							    ri->path, why));
	}
	sbuf_free(&sb);
	return ri;
}

size_t recindex_walked(const struct recindex *ri)
{
	return ri->walked;
}
