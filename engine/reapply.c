/* reapply.c - tally's unpushed commits made again on a moved remote (see
 * reapply.h). Commits only through commit.c, writes the working tree only
 * through worktree.c. No threads of its own. */
#include "reapply.h"

#include <stdlib.h>
#include <string.h>

#include "commit.h"
#include "crashpoint.h"
#include "holds.h"
#include "repo.h"
#include "trailers.h"
#include "versionfile.h"
#include "worktree.h"

/* One of tally's own commits: one parent and its trailers. Only these are
 * re-applied on a remote head that moved; anything else is the operator's
 * and makes a diverged branch an error. */
static int is_tally_commit(const git_commit *c)
{
	if (git_commit_parentcount(c) != 1)
		return 0;
	char *action = repo_trailer(git_commit_message(c), "Tally-Action");
	char *comp = repo_trailer(git_commit_message(c), "Tally-Component");
	int ok = action && comp;
	free(action);
	free(comp);
	return ok;
}

static int holds_has(const struct holds *h, const struct hold *x)
{
	if (x->kind == HOLD_SKIP)
		return holds_is_skipped(h, x->component, x->version);
	const struct hold *p = holds_pin(h, x->component);
	return p && strcmp(p->version, x->version) == 0;
}

/* The holds a commit added and removed, made again on r (the remote's
 * content). 1 with *why when it cannot be made (a second pin). */
static int merge_holds(const char *name, const struct sbuf *p, const struct sbuf *c,
		       const struct sbuf *r, struct sbuf *out, char **why, struct tally_err *err)
{
	struct holds *hp = NULL, *hc = NULL, *hr = NULL;
	int rc = -1;
	sbuf_add(out, sbuf_str(r), r->len);
	if (holds_parse(name, sbuf_str(p), p->len, NULL, 0, &hp, err) < 0 ||
	    holds_parse(name, sbuf_str(c), c->len, NULL, 0, &hc, err) < 0 ||
	    holds_parse(name, sbuf_str(out), out->len, NULL, 0, &hr, err) < 0)
		goto done;
	for (int pass = 0; pass < 2; pass++) {
		/* pass 0: holds the commit removed; pass 1: holds it added */
		const struct holds *from = pass ? hc : hp, *to = pass ? hp : hc;
		for (size_t i = 0; i < holds_count(from); i++) {
			const struct hold *x = holds_at(from, i);
			if (holds_has(to, x))
				continue;
			struct sbuf tmp = {0};
			int r2 = 0;
			if (!pass) {
				if (!holds_has(hr, x)) {
					sbuf_free(&tmp);
					continue;   /* already gone on the remote */
				}
				r2 = holds_remove(hr, x->kind, x->component, x->version, &tmp, err);
			} else {
				if (holds_has(hr, x)) {
					sbuf_free(&tmp);
					continue;   /* the remote has it too */
				}
				if (x->kind == HOLD_PIN && holds_pin(hr, x->component)) {
					*why = xasprintf("%s: the remote pins %s at %s, this commit pins it at %s",
							 name, x->component, holds_pin(hr, x->component)->version,
							 x->version);
					sbuf_free(&tmp);
					rc = 1;
					goto done;
				}
				r2 = holds_add(hr, x->kind, x->component, x->version,
					       x->reason && *x->reason ? x->reason : NULL, &tmp, err);
			}
			holds_free(hr);
			hr = NULL;
			if (r2 < 0 || holds_parse(name, sbuf_str(&tmp), tmp.len, NULL, 0, &hr, err) < 0) {
				sbuf_free(&tmp);
				goto done;
			}
			sbuf_reset(out);
			sbuf_add(out, sbuf_str(&tmp), tmp.len);
			sbuf_free(&tmp);
		}
	}
	rc = 0;
done:
	holds_free(hp);
	holds_free(hc);
	holds_free(hr);
	return rc;
}

/* The keys a commit changed in a key=value file, changed again on r: only
 * where the remote still has the value the commit moved from (or already
 * the new one). 1 with *why for a key the remote records otherwise. */
static int merge_kv(const char *name, int lenient, int pexists, const struct sbuf *p,
		    const struct sbuf *c, const struct sbuf *r, struct sbuf *out, char **why,
		    struct tally_err *err)
{
	struct vfile *vp = NULL, *vc = NULL, *vr = NULL;
	int rc = -1;
	sbuf_add(out, sbuf_str(r), r->len);
	if ((pexists && versionfile_parse(name, sbuf_str(p), p->len, lenient, &vp, err) < 0) ||
	    versionfile_parse(name, sbuf_str(c), c->len, lenient, &vc, err) < 0 ||
	    versionfile_parse(name, sbuf_str(out), out->len, lenient, &vr, err) < 0)
		goto done;
	for (size_t i = 0; i < versionfile_count(vc); i++) {
		const char *key = versionfile_key_at(vc, i), *cv = versionfile_value_at(vc, i);
		const char *pv = vp ? versionfile_get(vp, key) : NULL;
		if (pv && strcmp(pv, cv) == 0)
			continue;
		const char *rv = versionfile_get(vr, key);
		if (rv && strcmp(rv, cv) == 0)
			continue;
		if (!((!rv && !pv) || (rv && pv && strcmp(rv, pv) == 0))) {
			*why = xasprintf("conflict: the remote records %s=%s in %s, this commit moves it from %s to %s",
					 key, rv ? rv : "(none)", name, pv ? pv : "(none)", cv);
			rc = 1;
			goto done;
		}
		struct sbuf tmp = {0};
		if (versionfile_set(vr, key, cv, &tmp, err) < 0) {
			sbuf_free(&tmp);
			goto done;
		}
		versionfile_free(vr);
		vr = NULL;
		sbuf_reset(out);
		sbuf_add(out, sbuf_str(&tmp), tmp.len);
		sbuf_free(&tmp);
		if (versionfile_parse(name, sbuf_str(out), out->len, lenient, &vr, err) < 0)
			goto done;
	}
	rc = 0;
done:
	versionfile_free(vp);
	versionfile_free(vc);
	versionfile_free(vr);
	return rc;
}

/* Is path a version file (strict) or only a recordAlso file (lenient)?
 * -1 when tally's config does not own it as a key=value file. */
static int kv_lenient(const struct tally_conf *conf, const char *path)
{
	int lenient = -1;
	for (size_t i = 0; i < conf->ncomps; i++) {
		if (strcmp(conf->comps[i].file, path) == 0)
			return 0;
		for (size_t j = 0; j < conf->comps[i].nrecord_also; j++)
			if (strcmp(conf->comps[i].record_also[j].file, path) == 0)
				lenient = 1;
	}
	return lenient;
}

char *reapply_recorded_by(git_repository *repo, const git_oid *head, const char *component,
			  const char *version)
{
	char *host = NULL;
	int found = 0;
	git_revwalk *w = NULL;
	git_oid oid;
	if (git_revwalk_new(&w, repo) < 0 || git_revwalk_push(w, head) < 0) {
		git_revwalk_free(w);
		return NULL;
	}
	for (int n = 0; !found && n < 1000 && git_revwalk_next(&oid, w) == 0; n++) {
		git_commit *c = NULL;
		if (git_commit_lookup(&c, repo, &oid) < 0)
			break;
		const char *msg = git_commit_message(c);
		char *action = repo_trailer(msg, "Tally-Action");
		char *comp = repo_trailer(msg, "Tally-Component"), *ver = repo_trailer(msg, "Tally-Version");
		if (trailers_is_record_action(action) && comp && ver && strcmp(comp, component) == 0 &&
		    strcmp(ver, version) == 0) {
			found = 1;
			host = repo_trailer(msg, "Tally-Host");
			if (!host)
				host = xstrdup("another host");
		}
		free(action);
		free(comp);
		free(ver);
		git_commit_free(c);
	}
	git_revwalk_free(w);
	return host;
}

/* Makes one of tally's commits again on top of onto: the same message, and
 * each file it changed changed the same way on onto's content. Returns 0
 * with *out, 1 with *why when it does not apply there (the remote records
 * another value, or holds the version), -1 on error. */
static int reapply_one(git_repository *repo, const struct tally_conf *conf, git_commit *ours,
		       git_commit *onto, git_oid *out, char **why, struct tally_err *err)
{
	git_commit *parent = NULL;
	git_tree *pt = NULL, *ct = NULL;
	git_diff *diff = NULL;
	struct change c = {0};
	struct holds *h = NULL;
	int rc = -1;
	if (git_commit_parent(&parent, ours, 0) < 0 || git_commit_tree(&pt, parent) < 0 ||
	    git_commit_tree(&ct, ours) < 0 || git_diff_tree_to_tree(&diff, repo, pt, ct, NULL) < 0) {
		tally_err_set(err, TC_RECORD, "cannot read the unpushed commit: %s", repo_git_error());
		goto out;
	}
	int m = 0;
	for (size_t i = 0; i < git_diff_num_deltas(diff) && m == 0; i++) {
		const char *path = git_diff_get_delta(diff, i)->new_file.path;
		struct sbuf p = {0}, cur = {0}, r = {0}, merged = {0};
		int pe = 0, ce = 0, re = 0;
		if (repo_read_at(repo, parent, path, &p, &pe, err) < 0 ||
		    repo_read_at(repo, ours, path, &cur, &ce, err) < 0 ||
		    repo_read_at(repo, onto, path, &r, &re, err) < 0) {
			m = -1;
		} else if (!ce) {
			*why = xasprintf("%s: the commit deletes it", path);
			m = 1;
		} else if (same_content(re, &r, pe, &p)) {
			sbuf_add(change_edit(&c, path), sbuf_str(&cur), cur.len);
		} else if (same_content(re, &r, ce, &cur)) {
			/* the remote has this file as the commit made it */
		} else if (strcmp(path, conf->holds_file) == 0) {
			m = merge_holds(path, &p, &cur, &r, &merged, why, err);
		} else if (kv_lenient(conf, path) >= 0) {
			m = merge_kv(path, kv_lenient(conf, path), pe, &p, &cur, &r, &merged, why, err);
		} else {
			*why = xasprintf("%s: changed on the remote too", path);
			m = 1;
		}
		if (m == 0 && merged.len)
			sbuf_add(change_edit(&c, path), sbuf_str(&merged), merged.len);
		sbuf_free(&p);
		sbuf_free(&cur);
		sbuf_free(&r);
		sbuf_free(&merged);
	}
	if (m != 0) {
		rc = m;
		goto out;
	}
	/* a record must not land on a remote that holds its version */
	const char *msg = git_commit_message(ours);
	char *action = repo_trailer(msg, "Tally-Action"), *comp = repo_trailer(msg, "Tally-Component");
	char *version = repo_trailer(msg, "Tally-Version");
	int is_record = trailers_is_record_action(action);
	if (is_record && comp && version && !strcmp(action, "ship")) {
		/* another host shipped this very version: its record stands, ours
		 * is dropped without a conflict (several build hosts) */
		for (size_t i = 0; i < conf->ncomps && !*why; i++) {
			if (strcmp(conf->comps[i].name, comp) != 0)
				continue;
			struct vfile *vf = NULL;
			struct tally_err verr = {0};
			if (change_read_vfile(repo, onto, conf->comps[i].file, 0, &vf, &verr) == 0) {
				const char *rv = versionfile_get(vf, conf->comps[i].key);
				char *by = rv && !strcmp(rv, version)
						   ? reapply_recorded_by(repo, git_commit_id(onto), comp, version) : NULL;
				if (by)
					*why = xasprintf("%s %s: " REAPPLY_ELSEWHERE "%s)", comp, version, by);
				free(by);
			}
			versionfile_free(vf);
		}
	}
	if (is_record && comp && version && !*why) {
		struct sbuf raw = {0};
		int exists = 0;
		const struct sbuf *hs = NULL;
		for (size_t i = 0; i < c.nedits; i++)
			if (strcmp(c.edits[i].path, conf->holds_file) == 0)
				hs = &c.edits[i].content;
		if (!hs && repo_read_at(repo, onto, conf->holds_file, &raw, &exists, err) == 0)
			hs = &raw;
		if (hs && holds_parse(conf->holds_file, sbuf_str(hs), hs->len, NULL, 0, &h, err) == 0) {
			const struct hold *pin = holds_pin(h, comp);
			if (holds_is_skipped(h, comp, version))
				*why = xasprintf("%s %s is skipped on the remote", comp, version);
			else if (pin && !strcmp(action, "ship"))
				*why = xasprintf("%s is pinned at %s on the remote", comp, pin->version);
			else if (pin && !strcmp(action, "rebuild") && strcmp(pin->version, version) != 0)
				*why = xasprintf("%s is pinned at %s on the remote", comp, pin->version);
		}
		sbuf_free(&raw);
	}
	if (action && !strcmp(action, "pin") && comp && version) {
		/* a pin holds the record it was made at: not one the remote moved */
		for (size_t i = 0; i < conf->ncomps; i++) {
			if (strcmp(conf->comps[i].name, comp) != 0)
				continue;
			struct vfile *vf = NULL;
			struct tally_err verr = {0};
			if (change_read_vfile(repo, onto, conf->comps[i].file, 0, &vf, &verr) == 0) {
				const char *rv = versionfile_get(vf, conf->comps[i].key);
				if (rv && strcmp(rv, version) != 0)
					*why = xasprintf("the remote records %s=%s, this pin holds %s", conf->comps[i].key,
							 rv, version);
			}
			versionfile_free(vf);
		}
	}
	free(action);
	free(comp);
	free(version);
	if (*why) {
		rc = 1;
		goto out;
	}
	if (err->msg[0])
		goto out;
	sbuf_add(&c.message, msg, strlen(msg));
	rc = change_commit(repo, onto, conf, &c, out, err) < 0 ? -1 : 0;
out:
	holds_free(h);
	change_free(&c);
	git_diff_free(diff);
	git_tree_free(pt);
	git_tree_free(ct);
	git_commit_free(parent);
	return rc;
}

/* The local branch has tally's own commits the remote never saw, and the
 * remote moved meanwhile (a push rejected earlier, a kill before the push,
 * then a commit from elsewhere): make them again on the remote head, as for
 * a rejected push. A commit that no longer applies (the remote records
 * another value, or holds the version) is dropped and said so in report.
 * A local commit that is not tally's is an error: the branch diverged. */
int reapply_local(git_repository *repo, const struct tally_conf *conf, const char *refname,
		  git_oid *local, const git_oid *remote, struct strv *report,
		  struct tally_err *err)
{
	const char *branch = repo_branch_short(refname);
	git_oid base;
	git_revwalk *w = NULL;
	git_oid *list = NULL;
	size_t n = 0, cap = 0;
	git_commit *onto = NULL;
	int rc = -1;
	char lh[GIT_OID_HEXSZ + 1], rh[GIT_OID_HEXSZ + 1];
	repo_oid_hex(local, lh);
	repo_oid_hex(remote, rh);
	if (git_merge_base(&base, repo, local, remote) < 0 || git_revwalk_new(&w, repo) < 0 ||
	    git_revwalk_sorting(w, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE) < 0 ||
	    git_revwalk_push(w, local) < 0 || git_revwalk_hide(w, &base) < 0) {
		tally_err_set(err, TC_RECORD,
			      "%s has diverged from %s/%s (local %.12s, remote %.12s) with no common commit; merge or reset it by hand",
			      refname, conf->remote, branch, lh, rh);
		goto out;
	}
	git_oid oid;
	while (git_revwalk_next(&oid, w) == 0) {
		git_commit *c = NULL;
		if (git_commit_lookup(&c, repo, &oid) < 0) {
			tally_err_set(err, TC_RECORD, "cannot read commit: %s", repo_git_error());
			goto out;
		}
		int mine = is_tally_commit(c);
		git_commit_free(c);
		if (!mine) {
			char oh[GIT_OID_HEXSZ + 1];
			repo_oid_hex(&oid, oh);
			tally_err_set(err, TC_RECORD,
				      "%s has diverged from %s/%s (local %.12s, remote %.12s): local commit %.12s is not tally's; merge or reset it by hand",
				      refname, conf->remote, branch, lh, rh, oh);
			goto out;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			list = xrealloc(list, cap * sizeof *list);
		}
		list[n++] = oid;
	}
	if (git_commit_lookup(&onto, repo, remote) < 0) {
		tally_err_set(err, TC_RECORD, "cannot read the remote head: %s", repo_git_error());
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		git_commit *ours = NULL;
		git_oid made;
		char *why = NULL;
		if (git_commit_lookup(&ours, repo, &list[i]) < 0) {
			tally_err_set(err, TC_RECORD, "cannot read commit: %s", repo_git_error());
			goto out;
		}
		int r = reapply_one(repo, conf, ours, onto, &made, &why, err);
		if (r == 1 && strstr(why, REAPPLY_ELSEWHERE)) {
			char oh[GIT_OID_HEXSZ + 1];
			repo_oid_hex(&list[i], oh);
			strv_push_owned(report, xasprintf("%s; this host's unpushed record %.12s is dropped, the "
							  "branch follows %s", why, oh, conf->remote));
		} else if (r == 1) {
			char oh[GIT_OID_HEXSZ + 1];
			repo_oid_hex(&list[i], oh);
			const char *subj = git_commit_summary(ours);
			strv_push_owned(report,
					xasprintf("unpushed commit %.12s (%s) dropped: %s; nothing overwritten on %s (resolve by hand if it should stand)",
						  oh, subj ? subj : "", why, conf->remote));
		}
		free(why);
		git_commit_free(ours);
		if (r < 0)
			goto out;
		if (r == 0) {
			git_commit_free(onto);
			onto = NULL;
			if (git_commit_lookup(&onto, repo, &made) < 0) {
				tally_err_set(err, TC_RECORD, "cannot read commit: %s", repo_git_error());
				goto out;
			}
		}
	}
	const git_oid *head = git_commit_id(onto);
	crashpoint("before-reapply-ref");
	if (change_move_ref(repo, refname, local, head, "tally: re-apply on remote", err) < 0)
		goto out;
	crashpoint("after-reapply-ref");
	struct tally_err cerr = {0};
	if (worktree_checkout(repo, head, local, &cerr) < 0)
		/* the branch moved (the commit point passed); the next start
		 * repairs the working tree */
		strv_push_owned(report, xasprintf("re-applied on %s, but the working tree was not updated (%s); the next start repairs it",
						  conf->remote, cerr.msg));
	*local = *head;
	rc = 0;
out:
	git_commit_free(onto);
	free(list);
	git_revwalk_free(w);
	return rc;
}
