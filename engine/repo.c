/* repo.c - read-only helpers over libgit2 for the versions repo (see
 * repo.h): opening it, the branch, files and blob ids at a commit, trailer
 * values. No threads of its own; a git_repository belongs to the thread that
 * opened it. libgit2 is initialised once per process (pthread_once). */
#include "repo.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t git_once = PTHREAD_ONCE_INIT;

void gitcerts_link(void);

static void git_init_once(void)
{
	gitcerts_link();   /* the CA bundle is read on first TLS use (gitcerts.c) */
	git_libgit2_init();
	/* Our temporary files and renames are fsync'd; let libgit2 do the same
	 * for objects and refs, or a crash right after a commit could lose it. */
	git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 1);
}

const char *repo_git_error(void)
{
	const git_error *e = git_error_last();
	return e && e->message ? e->message : "unknown libgit2 error";
}

int repo_open(const char *dir, git_repository **out, struct tally_err *err)
{
	pthread_once(&git_once, git_init_once);
	if (git_repository_open_ext(out, dir, 0, NULL) < 0)
		return tally_err_set(err, TC_INPUT, "%s: not a git repository: %s", dir,
				     repo_git_error());
	if (git_repository_is_bare(*out)) {
		git_repository_free(*out);
		*out = NULL;
		return tally_err_set(err, TC_INPUT, "%s: is a bare repository; tally needs a work tree", dir);
	}
	return 0;
}

int repo_branch_ref(git_repository *repo, const char *branch, char **refname,
		    struct tally_err *err)
{
	if (branch && *branch) {
		*refname = xasprintf("refs/heads/%s", branch);
		if (!git_reference_is_valid_name(*refname)) {
			free(*refname);
			*refname = NULL;
			return tally_err_set(err, TC_INPUT, "tally.branch: '%s' is not a valid branch name", branch);
		}
		return 0;
	}
	git_reference *head = NULL;
	if (git_reference_lookup(&head, repo, "HEAD") < 0)
		return tally_err_set(err, TC_INPUT, "cannot read HEAD: %s", repo_git_error());
	if (git_reference_type(head) != GIT_REFERENCE_SYMBOLIC) {
		git_reference_free(head);
		return tally_err_set(err, TC_INPUT,
				     "HEAD is detached; check out a branch or set tally.branch");
	}
	*refname = xstrdup(git_reference_symbolic_target(head));
	git_reference_free(head);
	return 0;
}

const char *repo_branch_short(const char *refname)
{
	return str_starts(refname, "refs/heads/") ? refname + strlen("refs/heads/") : refname;
}

int repo_branch_commit(git_repository *repo, const char *refname, git_commit **out,
		       struct tally_err *err)
{
	*out = NULL;
	git_oid oid;
	int rc = git_reference_name_to_id(&oid, repo, refname);
	if (rc == GIT_ENOTFOUND)
		return 0;
	if (rc < 0)
		return tally_err_set(err, TC_RECORD, "%s: %s", refname, repo_git_error());
	if (git_commit_lookup(out, repo, &oid) < 0)
		return tally_err_set(err, TC_RECORD, "%s: %s", refname, repo_git_error());
	return 0;
}

int repo_blob_id(git_repository *repo, const git_commit *commit, const char *path, git_oid *out)
{
	(void)repo;
	memset(out, 0, sizeof *out);
	if (!commit)
		return 0;
	git_tree *tree = NULL;
	if (git_commit_tree(&tree, commit) < 0)
		return 0;
	git_tree_entry *ent = NULL;
	int found = 0;
	if (git_tree_entry_bypath(&ent, tree, path) == 0) {
		if (git_tree_entry_type(ent) == GIT_OBJECT_BLOB) {
			git_oid_cpy(out, git_tree_entry_id(ent));
			found = 1;
		}
		git_tree_entry_free(ent);
	}
	git_tree_free(tree);
	return found;
}

int repo_read_at(git_repository *repo, const git_commit *commit, const char *path,
		 struct sbuf *out, int *exists, struct tally_err *err)
{
	*exists = 0;
	git_oid oid;
	if (!repo_blob_id(repo, commit, path, &oid))
		return 0;
	git_blob *blob = NULL;
	if (git_blob_lookup(&blob, repo, &oid) < 0)
		return tally_err_set(err, TC_RECORD, "%s: cannot read blob: %s", path, repo_git_error());
	sbuf_add(out, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob));
	git_blob_free(blob);
	*exists = 1;
	return 0;
}

char *repo_trailer(const char *message, const char *name)
{
	if (!message)
		return NULL;
	size_t nl = strlen(name);
	for (const char *p = message; *p;) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		if (len > nl + 1 && strncmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1;
			while (*v == ' ')
				v++;
			return xstrndup(v, len - (size_t)(v - p));
		}
		if (!eol)
			break;
		p = eol + 1;
	}
	return NULL;
}

char *repo_workpath(git_repository *repo, const char *relpath)
{
	const char *wd = git_repository_workdir(repo);
	return xasprintf("%s%s", wd ? wd : "./", relpath);
}

void repo_oid_hex(const git_oid *oid, char hex[GIT_OID_HEXSZ + 1])
{
	git_oid_tostr(hex, GIT_OID_HEXSZ + 1, oid);
}
