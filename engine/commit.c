/* commit.c - a change to tally's files and the commit made from it (see
 * commit.h). The only place in engine/ that creates commits
 * (git_commit_create) and moves the branch ref for a change; called only by
 * the recorder's files (recorder.c, gitremote.c, reapply.c, worktree.c),
 * under the recorder's mutex. */
#include "commit.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "repo.h"

void change_free(struct change *c)
{
	for (size_t i = 0; i < c->nedits; i++) {
		free(c->edits[i].path);
		sbuf_free(&c->edits[i].content);
	}
	c->nedits = 0;
	free(c->edits);
	c->edits = NULL;
	c->capedits = 0;
	sbuf_free(&c->message);
	free(c->previous);
	c->previous = NULL;
}

struct sbuf *change_edit(struct change *c, const char *path)
{
	for (size_t i = 0; i < c->nedits; i++)
		if (strcmp(c->edits[i].path, path) == 0)
			return &c->edits[i].content;
	if (c->nedits == c->capedits) {
		c->capedits = c->capedits ? c->capedits * 2 : 4;
		c->edits = xrealloc(c->edits, c->capedits * sizeof *c->edits);
	}
	struct edit *e = &c->edits[c->nedits++];
	e->path = xstrdup(path);
	sbuf_init(&e->content);
	return &e->content;
}

int change_read_vfile(git_repository *repo, git_commit *base, const char *path, int lenient,
		      struct vfile **out, struct tally_err *err)
{
	struct sbuf raw = {0};
	int exists = 0;
	int rc = repo_read_at(repo, base, path, &raw, &exists, err);
	if (rc == 0)
		rc = versionfile_parse(path, sbuf_str(&raw), raw.len, lenient, out, err);
	sbuf_free(&raw);
	return rc;
}

/* Refuses when a file the change writes has uncommitted changes (working
 * tree or index differ from base). */
int change_check_clean(git_repository *repo, const struct change *c, struct tally_err *err)
{
	for (size_t i = 0; i < c->nedits; i++) {
		unsigned int flags = 0;
		int r = git_status_file(&flags, repo, c->edits[i].path);
		if (r == GIT_ENOTFOUND)
			continue;
		if (r < 0)
			return tally_err_set(err, TC_RECORD, "%s: cannot read status: %s",
					     c->edits[i].path, repo_git_error());
		if (flags & GIT_STATUS_IGNORED)
			return tally_err_set(err, TC_RECORD,
					     "%s is ignored by git, but tally must commit it; remove it from .gitignore (tally never overwrites it)",
					     c->edits[i].path);
		if (flags)
			return tally_err_set(err, TC_RECORD,
					     "%s has uncommitted changes; commit or restore it, then retry (tally never overwrites them)",
					     c->edits[i].path);
	}
	return 0;
}

int change_commit(git_repository *repo, git_commit *base, const struct tally_conf *conf,
		  const struct change *c, git_oid *out, struct tally_err *err)
{
	git_tree *base_tree = NULL, *tree = NULL;
	git_tree_update *upd = xcalloc(c->nedits + 1, sizeof *upd);
	git_oid tree_oid;
	git_signature *sig = NULL;
	int rc = -1;

	if (base && git_commit_tree(&base_tree, base) < 0) {
		tally_err_set(err, TC_RECORD, "cannot read the head tree: %s", repo_git_error());
		goto out;
	}
	if (!base_tree) {
		git_treebuilder *tb = NULL;
		git_oid empty;
		if (git_treebuilder_new(&tb, repo, NULL) < 0 || git_treebuilder_write(&empty, tb) < 0 ||
		    git_tree_lookup(&base_tree, repo, &empty) < 0) {
			git_treebuilder_free(tb);
			tally_err_set(err, TC_RECORD, "cannot make an empty tree: %s", repo_git_error());
			goto out;
		}
		git_treebuilder_free(tb);
	}
	for (size_t i = 0; i < c->nedits; i++) {
		memset(&upd[i], 0, sizeof upd[i]);
		upd[i].action = GIT_TREE_UPDATE_UPSERT;
		upd[i].filemode = GIT_FILEMODE_BLOB;
		upd[i].path = c->edits[i].path;
		/* keep an executable bit the file already had */
		git_tree_entry *old_ent = NULL;
		if (git_tree_entry_bypath(&old_ent, base_tree, c->edits[i].path) == 0) {
			if (git_tree_entry_filemode(old_ent) == GIT_FILEMODE_BLOB_EXECUTABLE)
				upd[i].filemode = GIT_FILEMODE_BLOB_EXECUTABLE;
			git_tree_entry_free(old_ent);
		}
		if (git_blob_create_from_buffer(&upd[i].id, repo, sbuf_str(&c->edits[i].content),
						c->edits[i].content.len) < 0) {
			tally_err_set(err, TC_RECORD, "%s: cannot write blob: %s", c->edits[i].path,
				      repo_git_error());
			goto out;
		}
	}
	if (git_tree_create_updated(&tree_oid, repo, base_tree, c->nedits, upd) < 0 ||
	    git_tree_lookup(&tree, repo, &tree_oid) < 0) {
		tally_err_set(err, TC_RECORD, "cannot build the new tree: %s", repo_git_error());
		goto out;
	}
	char host[256] = "localhost";
	gethostname(host, sizeof host - 1);
	char *email = conf->author_email ? xstrdup(conf->author_email) : xasprintf("tally@%s", host);
	int sr = git_signature_now(&sig, conf->author_name ? conf->author_name : "tally", email);
	free(email);
	if (sr < 0) {
		tally_err_set(err, TC_RECORD, "bad commit identity: %s", repo_git_error());
		goto out;
	}
	const git_commit *parents[1] = {base};
	if (git_commit_create(out, repo, NULL, sig, sig, "UTF-8", sbuf_str(&c->message), tree,
			      base ? 1 : 0, parents) < 0) {
		tally_err_set(err, TC_RECORD, "cannot create the commit: %s", repo_git_error());
		goto out;
	}
	rc = 0;
out:
	free(upd);
	git_signature_free(sig);
	git_tree_free(tree);
	git_tree_free(base_tree);
	return rc;
}

/* The commit point: move the branch from expected to new, or fail when
 * somebody else moved it. */
int change_move_ref(git_repository *repo, const char *refname, const git_oid *expected,
		    const git_oid *new_oid, const char *why, struct tally_err *err)
{
	git_reference *ref = NULL;
	int r;
	if (expected)
		r = git_reference_create_matching(&ref, repo, refname, new_oid, 1, expected, why);
	else
		r = git_reference_create(&ref, repo, refname, new_oid, 0, why);
	git_reference_free(ref);
	if (r < 0)
		return tally_err_set(err, TC_RECORD, "%s: cannot update the branch: %s", refname,
				     repo_git_error());
	return 0;
}

int same_content(int ea, const struct sbuf *a, int eb, const struct sbuf *b)
{
	return ea == eb && (!ea || (a->len == b->len && memcmp(sbuf_str(a), sbuf_str(b), a->len) == 0));
}
