/* history.c - what the engine reads from the versions repo (engine
 * thread, its own git_repository): records at the branch head (parsed once
 * per blob), the holds, record commits and their trailers (one shared
 * history walk, recindex), commits not on the remote yet, and the bases a
 * record was built on. */
#include "engine_int.h"

static int find_cb(void *vctx, const struct record_commit *rc);

/* The record of cs at the branch head, from the version file parsed once
 * per blob (parsecache): a pass over every component parses each file once.
 * The same checks and messages as recorder_read_record. */
/* both NULL, or the same string */
static int str_eq_null(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* The record of cs in head (rc and err: how resolving the branch went). */
static void refresh_record_in(struct engine *e, struct comp_state *cs, git_commit *head, int rc,
			      const struct tally_err *head_err)
{
	struct tally_err err = *head_err;
	char *was = cs->recorded, *was_msg = cs->record_msg;
	cs->recorded = cs->record_msg = NULL;
	cs->record_error = 0;
	const struct vfile *vf = NULL;
	if (rc == 0) {
		if (!e->pc)
			e->pc = parsecache_new();
		rc = parsecache_vfile(e->pc, e->repo, head, cs->cc->file, 0, &vf, &err);
	}
	const char *v = rc == 0 ? versionfile_get(vf, cs->cc->key) : NULL;
	if (v && !version_valid(v))
		rc = tally_err_set(&err, TC_INPUT,
				   "%s:%d: the record of '%s' is not a valid version (OCI tag grammar); fix the file by hand",
				   cs->cc->file, versionfile_line(vf, cs->cc->key), cs->cc->key);
	else if (rc == 0)
		cs->recorded = v ? xstrdup(v) : NULL;
	if (rc < 0) {
		cs->record_error = 1;
		cs->record_msg = xstrdup(err.msg);
	}
	if (!str_eq_null(was, cs->recorded) || !str_eq_null(was_msg, cs->record_msg))
		status_touch(e, cs);   /* the row changed */
	free(was);
	free(was_msg);
}

void refresh_record(struct engine *e, struct comp_state *cs)
{
	refresh_records(e, &cs, 1);
}

/* Several components against one resolution of the branch head (a status
 * of every component reads the ref once, not once a component). sel NULL:
 * every component. */
void refresh_records(struct engine *e, struct comp_state **sel, size_t n)
{
	struct tally_err err = {0};
	git_commit *head = NULL;
	int rc = repo_branch_commit(e->repo, e->refname, &head, &err);
	for (size_t i = 0; i < (sel ? n : e->n); i++)
		refresh_record_in(e, sel ? sel[i] : &e->cs[i], head, rc, &err);
	git_commit_free(head);
}

struct holds *read_holds(struct engine *e, struct tally_err *err)
{
	git_commit *head = NULL;
	struct holds *h = NULL;
	if (repo_branch_commit(e->repo, e->refname, &head, err) == 0) {
		if (!e->pc)
			e->pc = parsecache_new();
		if (!e->hold_names) {
			e->hold_names = xcalloc(e->n + 1, sizeof *e->hold_names);
			for (size_t i = 0; i < e->n; i++)
				e->hold_names[i] = e->cs[i].cc->name;
		}
		/* parsed once per blob; each caller's holds_free drops its ref */
		if (parsecache_holds(e->pc, e->repo, head, e->conf->holds_file, e->hold_names, e->n,
				     &h, err) == 0)
			holds_ref(h);
		else
			h = NULL;
	}
	git_commit_free(head);
	return h;
}

void record_commit_free(struct record_commit *rc)
{
	free(rc->version);
	free(rc->digest);
	free(rc->action);
	free(rc->recipe);
	strv_free(&rc->bases);
	memset(rc, 0, sizeof *rc);
}

/* Calls fn for each record commit (ship, rebuild, reset, adopt) of component on
 * the branch, newest first, until fn returns non-zero. */
void walk_records(struct engine *e, const char *component,
			 int (*fn)(void *ctx, const struct record_commit *rc), void *ctx)
{
	/* one history walk shared by every component and command (recindex),
	 * brought up to date with the commits added since */
	if (!e->ri)
		e->ri = recindex_new();
	if (recindex_update(e->ri, e->repo, e->refname) < 0)
		return;
	size_t n = 0;
	const struct recindex_rec *r = recindex_of(e->ri, component, &n);
	for (size_t i = 0; i < n; i++) {
		struct record_commit rc = {
			.version = r[i].version, .digest = r[i].digest, .action = r[i].action,
			.recipe = r[i].recipe, .time = r[i].time, .bases = r[i].bases,
		};
		memcpy(rc.commit, r[i].commit, sizeof rc.commit);
		if (fn(ctx, &rc))   /* the callbacks read; none records */
			break;
	}
}

struct find_ctx {
	const char *version;
	struct record_commit found;
};

static int find_cb(void *vctx, const struct record_commit *rc)
{
	struct find_ctx *f = vctx;
	if (strcmp(rc->version, f->version) != 0 || !rc->digest)
		return 0;
	f->found.version = xstrdup(rc->version);
	f->found.digest = xstrdup(rc->digest);
	f->found.action = xstrdup(rc->action);
	f->found.recipe = xstrdup(rc->recipe);
	for (size_t i = 0; i < rc->bases.n; i++)
		strv_push(&f->found.bases, rc->bases.v[i]);
	memcpy(f->found.commit, rc->commit, sizeof rc->commit);
	f->found.time = rc->time;
	return 1;
}

/* The newest record commit of version (digest known); 0 when none. */
int find_record_commit(struct engine *e, const char *component, const char *version,
			      struct record_commit *out)
{
	struct find_ctx f = {.version = version};
	walk_records(e, component, find_cb, &f);
	*out = f.found;
	return out->version != NULL;
}

/* The other component whose image repository ref names, or NULL. */
struct comp_state *base_component(struct engine *e, const struct comp_state *self,
					 const char *ref)
{
	char *bimg, *btag;
	bases_split(ref, &bimg, &btag);
	struct comp_state *found = NULL;
	for (size_t i = 0; i < e->n && !found; i++) {
		struct comp_state *o = &e->cs[i];
		if (o == self)
			continue;
		char *image = NULL;
		struct strv tags = {0};
		struct tally_err err = {0};
		if (pipeline_refs(e->conf, o->cc, o->recorded ? o->recorded : "0", e->root, &image, &tags, NULL,
				  &err) == 0) {
			char *oimg, *otag, *full = xasprintf("%s:x", image);
			bases_split(full, &oimg, &otag);
			if (!strcmp(oimg, bimg))
				found = o;
			free(full);
			free(oimg);
			free(otag);
		}
		free(image);
		strv_free(&tags);
	}
	free(bimg);
	free(btag);
	return found;
}

/* cs->bases anew: each base's digest (read: what the check read from the
 * registry; a base that is another component's image follows that
 * component's record) and built_on (the record commit's Tally-Base). */
void comp_bases_refresh(struct engine *e, struct comp_state *cs, json_t *read)
{
	struct strv refs = {0};
	struct tally_err err = {0};
	if (bases_of(e->root, cs->cc, &refs, &err) < 0) {
		json_decref(cs->bases);
		cs->bases = NULL;
		return;
	}
	struct record_commit rc = {0};
	if (cs->recorded && refs.n)
		find_record_commit(e, cs->cc->name, cs->recorded, &rc);
	json_t *out = json_array();
	for (size_t i = 0; i < refs.n; i++) {
		const char *ref = refs.v[i];
		json_t *ent = json_pack("{s:s, s:n, s:n}", "image", ref, "digest", "built_on");
		struct comp_state *o = base_component(e, cs, ref);
		if (o) {
			struct record_commit orc = {0};
			refresh_record(e, o);
			json_object_set_new(ent, "component", json_string(o->cc->name));
			if (o->recorded && find_record_commit(e, o->cc->name, o->recorded, &orc))
				json_object_set_new(ent, "digest", json_string(orc.digest));
			else
				json_object_set_new(ent, "error", json_string(N_("no tally record of that component yet")));
			record_commit_free(&orc);
		} else {
			json_t *src = NULL;
			size_t k;
			json_t *v;
			json_array_foreach(read ? read : cs->bases, k, v)
				if (!strcmp(jget_s(v, "image") ? jget_s(v, "image") : "", ref))
					src = v;
			if (src && jget_s(src, "digest"))
				json_object_set_new(ent, "digest", json_string(jget_s(src, "digest")));
			else if (src && jget_s(src, "error"))
				json_object_set_new(ent, "error", json_string(jget_s(src, "error")));
		}
		for (size_t b = 0; b < rc.bases.n; b++) {
			const char *at = strrchr(rc.bases.v[b], '@');
			if (at && (size_t)(at - rc.bases.v[b]) == strlen(ref) &&
			    !strncmp(rc.bases.v[b], ref, strlen(ref)))
				json_object_set_new(ent, "built_on", json_string(at + 1));
		}
		json_array_append_new(out, ent);
	}
	record_commit_free(&rc);
	strv_free(&refs);
	if (!cs->bases || !json_equal(cs->bases, out))
		status_touch(e, cs);
	json_decref(cs->bases);
	cs->bases = out;
}

/* With gitPush: which components have record commits not on the remote. */
static void refresh_unpushed_walk(struct engine *e);

void refresh_unpushed(struct engine *e)
{
	unsigned char *was = xcalloc(e->n + 1, 1);
	for (size_t i = 0; i < e->n; i++) {
		was[i] = (unsigned char)e->cs[i].unpushed;
		e->cs[i].unpushed = 0;
	}
	refresh_unpushed_walk(e);
	for (size_t i = 0; i < e->n; i++)
		if (was[i] != e->cs[i].unpushed)
			status_touch(e, &e->cs[i]);
	free(was);
}

/* refresh_unpushed's walk: the record commits not on the remote */
static void refresh_unpushed_walk(struct engine *e)
{
	if (!e->conf->git_push)
		return;
	const char *branch = str_starts(e->refname, "refs/heads/") ? e->refname + 11 : e->refname;
	char *tracking = xasprintf("refs/remotes/%s/%s", e->conf->remote, branch);
	git_revwalk *w = NULL;
	git_oid oid;
	/* no remote-tracking ref: nothing was ever fetched or pushed; unknown */
	if (git_reference_name_to_id(&oid, e->repo, tracking) == 0 && git_revwalk_new(&w, e->repo) == 0 &&
	    git_revwalk_push_ref(w, e->refname) == 0) {
		git_revwalk_hide(w, &oid);
		while (git_revwalk_next(&oid, w) == 0) {
			git_commit *c = NULL;
			if (git_commit_lookup(&c, e->repo, &oid) < 0)
				break;
			char *comp = repo_trailer(git_commit_message(c), "Tally-Component");
			struct comp_state *cs = comp ? find_comp(e, comp) : NULL;
			if (cs)
				cs->unpushed = 1;
			free(comp);
			git_commit_free(c);
		}
	}
	git_revwalk_free(w);
	free(tracking);
}
