/* Unit tests for recindex.c's copy in the state directory (issue 11): a
 * round trip gives the same records and walks only the commits added since;
 * a corrupt, truncated or malformed copy is ignored with a warning and the
 * index is the one a walk from scratch gives; a copy whose head is no longer
 * an ancestor of the branch (a reset branch) is walked from scratch. Real
 * git repositories made with libgit2 in a temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <git2.h>

#include "recindex.h"
#include "util.h"

#define REF "refs/heads/main"

static char dir[64];
static git_repository *repo;
static git_oid empty_tree;

static int setup(void **state)
{
	(void)state;
	git_libgit2_init();
	snprintf(dir, sizeof dir, "/tmp/test-recindex.XXXXXX");
	assert_non_null(mkdtemp(dir));
	char *rd = xasprintf("%s/repo", dir);
	assert_int_equal(git_repository_init(&repo, rd, 1), 0);
	free(rd);
	git_treebuilder *tb = NULL;
	assert_int_equal(git_treebuilder_new(&tb, repo, NULL), 0);
	assert_int_equal(git_treebuilder_write(&empty_tree, tb), 0);
	git_treebuilder_free(tb);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	git_repository_free(repo);
	char *cmd[] = {"rm", "-rf", dir, NULL};
	pid_t p = fork();
	if (p == 0) {
		execvp(cmd[0], cmd);
		_exit(127);
	}
	int st;
	waitpid(p, &st, 0);
	git_libgit2_shutdown();
	return 0;
}

/* commits msg on top of parent (NULL: a root commit), moves REF there */
static git_oid commit(const git_oid *parent, const char *msg, long long when)
{
	git_signature *sig = NULL;
	assert_int_equal(git_signature_new(&sig, "t", "t@x", (git_time_t)when, 0), 0);
	git_tree *tree = NULL;
	assert_int_equal(git_tree_lookup(&tree, repo, &empty_tree), 0);
	git_commit *pc = NULL;
	if (parent)
		assert_int_equal(git_commit_lookup(&pc, repo, parent), 0);
	const git_commit *parents[1] = {pc};
	git_oid oid;
	assert_int_equal(git_commit_create(&oid, repo, NULL, sig, sig, NULL, msg, tree, parent ? 1 : 0, parents), 0);
	git_reference *ref = NULL;
	assert_int_equal(git_reference_create(&ref, repo, REF, &oid, 1, "test"), 0);
	git_reference_free(ref);
	git_commit_free(pc);
	git_tree_free(tree);
	git_signature_free(sig);
	return oid;
}

static git_oid record(const git_oid *parent, const char *comp, const char *version, long long when)
{
	char *m = xasprintf("%s: %s\n\nTally-Action: ship\nTally-Component: %s\nTally-Version: %s\n"
			    "Tally-Digest: sha256:%064d\nTally-Recipe: r%lld\n"
			    "Tally-Base: reg/base:1@sha256:%064lld\nTally-Base: reg/other:2@sha256:%064d\n",
			    comp, version, comp, version, 7, when, when, 9);
	git_oid o = commit(parent, m, when);
	free(m);
	return o;
}

/* a history: NOTES plain commits with a record of c0..c2 every fourth */
static git_oid history(const git_oid *parent, int from, int n)
{
	git_oid head = parent ? *parent : commit(NULL, "root", 1000);
	for (int i = from; i < from + n; i++) {
		if (i % 4 == 0) {
			char comp[8], ver[32];
			snprintf(comp, sizeof comp, "c%d", (i / 4) % 3);
			snprintf(ver, sizeof ver, "v1.%d.0", i);
			head = record(&head, comp, ver, 1000 + i);
		} else {
			char *m = xasprintf("notes %d", i);
			head = commit(&head, m, 1000 + i);
			free(m);
		}
	}
	return head;
}

/* the two indexes hold the same records for every component in comps */
static void assert_same(const struct recindex *a, const struct recindex *b, int ncomps)
{
	for (int c = 0; c < ncomps; c++) {
		char comp[8];
		snprintf(comp, sizeof comp, "c%d", c);
		size_t na = 0, nb = 0;
		const struct recindex_rec *ra = recindex_of(a, comp, &na);
		const struct recindex_rec *rb = recindex_of(b, comp, &nb);
		assert_int_equal(na, nb);
		for (size_t i = 0; i < na; i++) {
			assert_string_equal(ra[i].version, rb[i].version);
			assert_string_equal(ra[i].action, rb[i].action);
			assert_true(!ra[i].digest == !rb[i].digest);
			assert_true(!ra[i].recipe == !rb[i].recipe);
			if (ra[i].digest)
				assert_string_equal(ra[i].digest, rb[i].digest);
			if (ra[i].recipe)
				assert_string_equal(ra[i].recipe, rb[i].recipe);
			assert_string_equal(ra[i].commit, rb[i].commit);
			assert_int_equal(ra[i].time, rb[i].time);
			assert_int_equal(ra[i].bases.n, rb[i].bases.n);
			for (size_t k = 0; k < ra[i].bases.n; k++)
				assert_string_equal(ra[i].bases.v[k], rb[i].bases.v[k]);
		}
	}
}

static struct recindex *fresh(void)
{
	struct recindex *ri = recindex_new();
	assert_int_equal(recindex_update(ri, repo, REF), 0);
	return ri;
}

static char *copy_path(void)
{
	return xasprintf("%s/recindex", dir);
}

static void write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

static void test_round_trip(void **state)
{
	(void)state;
	git_oid head = history(NULL, 0, 40);
	/* a record without digest, recipe or bases */
	head = commit(&head, "adopt c0\n\nTally-Action: adopt\nTally-Component: c0\nTally-Version: v0.9.0\n", 1041);
	char *path = copy_path();
	unlink(path);
	/* no copy yet: no warning, an empty index, a walk from scratch */
	struct strv w = {0};
	struct recindex *a = recindex_load(dir, &w);
	assert_int_equal(w.n, 0);
	assert_int_equal(recindex_update(a, repo, REF), 0);
	assert_int_equal(recindex_walked(a), 42);
	assert_int_equal(recindex_save(a, NULL), 0);
	struct recindex *full = fresh();
	assert_same(a, full, 3);

	/* read back: the same records, nothing walked at the same head */
	struct recindex *b = recindex_load(dir, &w);
	assert_int_equal(w.n, 0);
	assert_int_equal(recindex_update(b, repo, REF), 0);
	assert_int_equal(recindex_walked(b), 0);
	assert_same(b, full, 3);
	size_t n = 0;
	const struct recindex_rec *r = recindex_of(b, "c1", &n);
	assert_true(n > 0);
	assert_int_equal(r[0].bases.n, 2);
	assert_string_equal(r[0].bases.v[1], "reg/other:2@sha256:0000000000000000000000000000000000000000000000000000000000000009");
	r = recindex_of(b, "c0", &n);
	assert_true(n > 1);
	assert_string_equal(r[0].version, "v0.9.0");
	assert_null(r[0].digest);
	assert_null(r[0].recipe);
	assert_int_equal(r[0].bases.n, 0);
	assert_non_null(r[1].digest);

	/* commits on top: only they are walked, and the new record comes first */
	head = history(&head, 40, 5);
	assert_int_equal(recindex_update(b, repo, REF), 0);
	assert_int_equal(recindex_walked(b), 5);
	recindex_free(full);
	full = fresh();
	assert_same(b, full, 3);
	r = recindex_of(b, "c1", &n);
	assert_string_equal(r[0].version, "v1.40.0");

	/* enough commits walked: the copy is rewritten by the update itself */
	head = history(&head, 45, RECINDEX_SAVE_AFTER);
	assert_int_equal(recindex_update(b, repo, REF), 0);
	assert_int_equal(recindex_walked(b), 0);
	struct recindex *c = recindex_load(dir, &w);
	assert_int_equal(w.n, 0);
	assert_int_equal(recindex_update(c, repo, REF), 0);
	assert_int_equal(recindex_walked(c), 0);
	recindex_free(full);
	full = fresh();
	assert_same(c, full, 3);
	recindex_free(a);
	recindex_free(b);
	recindex_free(c);
	recindex_free(full);
	strv_free(&w);
	free(path);
}

/* a copy that load must ignore with one warning: the index is then the one a
 * walk from scratch gives (the copy never changes a decision) */
static void assert_ignored(const char *data, size_t len, const char *why)
{
	char *path = copy_path();
	write_file(path, data, len);
	struct strv w = {0};
	struct recindex *ri = recindex_load(dir, &w);
	assert_int_equal(w.n, 1);
	if (!strstr(w.v[0], path) || !strstr(w.v[0], why) || !strstr(w.v[0], "built again")) {
		fprintf(stderr, "warning: %s (want '%s')\n", w.v[0], why);
		fail();
	}
	assert_int_equal(recindex_update(ri, repo, REF), 0);
	struct recindex *full = fresh();
	assert_same(ri, full, 3);
	/* the update replaced the rejected copy: the next load takes it */
	struct strv w2 = {0};
	struct recindex *again = recindex_load(dir, &w2);
	assert_int_equal(w2.n, 0);
	assert_int_equal(recindex_update(again, repo, REF), 0);
	assert_int_equal(recindex_walked(again), 0);
	assert_same(again, full, 3);
	recindex_free(again);
	strv_free(&w2);
	recindex_free(ri);
	recindex_free(full);
	strv_free(&w);
	free(path);
}

static void test_corrupt(void **state)
{
	(void)state;
	git_oid head;
	assert_int_equal(git_reference_name_to_id(&head, repo, REF), 0);
	head = history(&head, 200, 12);
	struct recindex *a = fresh();
	char *path = copy_path();
	struct recindex *s = recindex_load(dir, NULL);
	assert_int_equal(recindex_update(s, repo, REF), 0);
	assert_int_equal(recindex_save(s, NULL), 0);
	recindex_free(s);
	struct sbuf good = {0};
	assert_int_equal(util_read_file(path, &good, NULL), 0);

	/* one byte changed in a record: the sum catches it */
	struct sbuf bad = {0};
	sbuf_add(&bad, good.buf, good.len);
	char *v = memmem(bad.buf, bad.len, "v1.", 3);
	assert_non_null(v);
	v[3] = v[3] == '9' ? '8' : '9';
	assert_ignored(bad.buf, bad.len, "checksum");
	/* torn: cut in the middle */
	assert_ignored(good.buf, good.len / 2, "checksum");
	/* empty, and not a copy at all */
	assert_ignored("", 0, "not a record index");
	assert_ignored("hello\n[]", 8, "not a record index");
	/* a right sum over malformed records */
	static const char bodies[][200] = {
		/* a short commit id */
		"c0\0abc\0" "1\0ship\0v1.0.0\0-\0-\0" "0\0\n",
		/* an invalid version */
		"c0\0" "0123456789012345678901234567890123456789\0" "1\0ship\0v1 0\0-\0-\0" "0\0\n",
		/* an unknown action */
		"c0\0" "0123456789012345678901234567890123456789\0" "1\0skip\0v1.0.0\0-\0-\0" "0\0\n",
		/* more bases announced than there are */
		"c0\0" "0123456789012345678901234567890123456789\0" "1\0ship\0v1.0.0\0-\0-\0" "2\0b@d\0\n",
		/* no line end */
		"c0\0" "0123456789012345678901234567890123456789\0" "1\0ship\0v1.0.0\0=d\0=r\0" "0\0",
	};
	static const size_t lens[] = {sizeof "c0\0abc\0" "1\0ship\0v1.0.0\0-\0-\0" "0\0\n" - 1,
		sizeof "c0\0" "0123456789012345678901234567890123456789\0" "1\0ship\0v1 0\0-\0-\0" "0\0\n" - 1,
		sizeof "c0\0" "0123456789012345678901234567890123456789\0" "1\0skip\0v1.0.0\0-\0-\0" "0\0\n" - 1,
		sizeof "c0\0" "0123456789012345678901234567890123456789\0" "1\0ship\0v1.0.0\0-\0-\0" "2\0b@d\0\n" - 1,
		sizeof "c0\0" "0123456789012345678901234567890123456789\0" "1\0ship\0v1.0.0\0=d\0=r\0" "0\0" - 1};
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		git_oid sum;
		git_odb_hash(&sum, bodies[i], lens[i], GIT_OBJECT_BLOB);
		char hh[GIT_OID_HEXSZ + 1], sh[GIT_OID_HEXSZ + 1];
		git_oid_tostr(hh, sizeof hh, &head);
		git_oid_tostr(sh, sizeof sh, &sum);
		struct sbuf f = {0};
		sbuf_addf(&f, "tally-recindex 2 %s %s\n", hh, sh);
		sbuf_add(&f, bodies[i], lens[i]);
		assert_ignored(f.buf, f.len, "malformed records");
		sbuf_free(&f);
	}
	/* a directory where the copy should be: unreadable */
	unlink(path);
	assert_int_equal(mkdir(path, 0700), 0);
	struct strv w = {0};
	struct recindex *ri = recindex_load(dir, &w);
	assert_int_equal(w.n, 1);
	assert_non_null(strstr(w.v[0], "unreadable"));
	assert_int_equal(recindex_update(ri, repo, REF), 0);
	assert_same(ri, a, 3);
	/* and the update cannot replace it: the index is still right */
	assert_int_not_equal(recindex_save(ri, NULL), 0);
	rmdir(path);
	recindex_free(ri);
	strv_free(&w);
	recindex_free(a);
	sbuf_free(&good);
	sbuf_free(&bad);
	free(path);
}

static void test_not_ancestor(void **state)
{
	(void)state;
	git_oid head;
	assert_int_equal(git_reference_name_to_id(&head, repo, REF), 0);
	git_commit *hc = NULL;
	assert_int_equal(git_commit_lookup(&hc, repo, &head), 0);
	git_oid base = *git_commit_parent_id(hc, 0);
	git_commit_free(hc);
	/* a record on top, saved in the copy */
	git_oid top = record(&head, "c2", "v9.9.9", 5000);
	(void)top;
	struct recindex *s = recindex_load(dir, NULL);
	assert_int_equal(recindex_update(s, repo, REF), 0);
	assert_int_equal(recindex_save(s, NULL), 0);
	size_t n = 0;
	assert_string_equal(recindex_of(s, "c2", &n)[0].version, "v9.9.9");
	recindex_free(s);
	/* the branch is reset below that record and moves on elsewhere */
	git_oid other = record(&base, "c0", "v7.0.0", 6000);
	(void)other;
	struct strv w = {0};
	struct recindex *ri = recindex_load(dir, &w);
	assert_int_equal(w.n, 0);
	assert_int_equal(recindex_update(ri, repo, REF), 0);
	struct recindex *full = fresh();
	assert_same(ri, full, 3);
	const struct recindex_rec *r = recindex_of(ri, "c2", &n);
	assert_true(n == 0 || strcmp(r[0].version, "v9.9.9") != 0);
	assert_string_equal(recindex_of(ri, "c0", &n)[0].version, "v7.0.0");
	recindex_free(ri);
	recindex_free(full);
	strv_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_not_ancestor),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
