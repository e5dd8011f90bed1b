/* Unit tests for the recorder's gate (recorder.c) on a real git repository
 * made with libgit2 in a temporary directory: no record without evidence,
 * the record never moves backwards by itself, holds made while an attempt
 * ran stop its record, files with changes of their own are never
 * overwritten, the commit carries the trailers, and the start-up repair
 * finishes a record a kill interrupted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ftw.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <git2.h>

#include "recorder.h"
#include "repo.h"

#define DIGEST "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static const char conf_text[] =
	"[tally]\n\tauthorName = tester\n\tauthorEmail = tester@example.org\n"
	"[component \"server\"]\n\tfile = versions.txt\n\tupstream = manual\n\tbuild = make {ref}\n";

struct fixture {
	char dir[64];
	struct tally_conf *conf;
};

static void write_file(const char *dir, const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(path);
}

static char *read_file(const char *dir, const char *name)
{
	char *path = xasprintf("%s/%s", dir, name);
	struct sbuf sb = {0};
	int rc = util_read_file(path, &sb, NULL);
	free(path);
	return rc == 0 ? sbuf_detach(&sb) : NULL;
}

static int setup(void **state)
{
	struct fixture *fx = xcalloc(1, sizeof *fx);
	snprintf(fx->dir, sizeof fx->dir, "/tmp/tally-test-recorder-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	git_libgit2_init();
	git_repository *repo = NULL;
	assert_int_equal(git_repository_init(&repo, fx->dir, 0), 0);
	write_file(fx->dir, "versions.txt", "# pinned by hand\nserver=v1.0.0\n");
	git_index *idx = NULL;
	git_oid tree_oid, commit_oid;
	git_tree *tree = NULL;
	git_signature *sig = NULL;
	assert_int_equal(git_repository_index(&idx, repo), 0);
	assert_int_equal(git_index_add_bypath(idx, "versions.txt"), 0);
	assert_int_equal(git_index_write(idx), 0);
	assert_int_equal(git_index_write_tree(&tree_oid, idx), 0);
	assert_int_equal(git_tree_lookup(&tree, repo, &tree_oid), 0);
	assert_int_equal(git_signature_now(&sig, "op", "op@example.org"), 0);
	assert_int_equal(git_commit_create_v(&commit_oid, repo, "HEAD", sig, sig, NULL, "seed\n", tree, 0), 0);
	git_signature_free(sig);
	git_tree_free(tree);
	git_index_free(idx);
	git_repository_free(repo);
	struct tally_err err = {0};
	if (config_load_buffer("tally.conf", conf_text, strlen(conf_text), &fx->conf, &err) < 0)
		fail_msg("config: %s", err.msg);
	*state = fx;
	return 0;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void remove_tree(const char *dir)
{
	nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	config_free(fx->conf);
	remove_tree(fx->dir);
	free(fx);
	git_libgit2_shutdown();
	return 0;
}

static char *const images[] = {"reg.example/ns/server:v1.1.0"};

static struct recorder_evidence good_ev(void)
{
	struct recorder_evidence ev = {
		.attempt = "20261202T004500Z-server-1", .digest = DIGEST, .images = images,
		.nimages = 1, .fingerprint = "f00d",
	};
	return ev;
}

static int record(struct fixture *fx, enum recorder_action action, const char *version,
		  const struct recorder_evidence *ev, struct recorder_result *res,
		  struct tally_err *err)
{
	char *const ra[] = {NULL};
	struct recorder_req req = {
		.conf = fx->conf, .cc = &fx->conf->comps[0], .repo_dir = fx->dir, .action = action,
		.version = version, .ev = ev, .record_also = ra, .log_fd = -1, .cancel_fd = -1,
	};
	return recorder_record(&req, res, err);
}

static int hold(struct fixture *fx, enum recorder_hold_op op, const char *version,
		const char *reason, char **version_out, struct tally_err *err)
{
	struct recorder_hold_req req = {
		.conf = fx->conf, .cc = &fx->conf->comps[0], .repo_dir = fx->dir, .op = op,
		.version = version, .reason = reason, .log_fd = -1, .cancel_fd = -1,
	};
	struct recorder_result res;
	int rc = recorder_hold(&req, &res, version_out, err);
	recorder_result_free(&res);
	return rc;
}

/* The record at the branch head, through the engine's reader. */
static char *head_record(struct fixture *fx)
{
	git_repository *repo = NULL;
	char *refname = NULL, *value = NULL;
	struct tally_err err = {0};
	assert_int_equal(repo_open(fx->dir, &repo, &err), 0);
	assert_int_equal(repo_branch_ref(repo, NULL, &refname, &err), 0);
	if (recorder_read_record(repo, refname, &fx->conf->comps[0], &value, &err) < 0)
		fail_msg("read record: %s", err.msg);
	free(refname);
	git_repository_free(repo);
	return value;
}

static char *head_message(struct fixture *fx)
{
	git_repository *repo = NULL;
	char *refname = NULL;
	git_commit *head = NULL;
	struct tally_err err = {0};
	assert_int_equal(repo_open(fx->dir, &repo, &err), 0);
	assert_int_equal(repo_branch_ref(repo, NULL, &refname, &err), 0);
	assert_int_equal(repo_branch_commit(repo, refname, &head, &err), 0);
	char *msg = xstrdup(git_commit_message(head));
	git_commit_free(head);
	free(refname);
	git_repository_free(repo);
	return msg;
}

static void test_no_evidence_no_record(void **state)
{
	struct fixture *fx = *state;
	struct recorder_result res;
	struct tally_err err = {0};
	assert_int_equal(record(fx, RA_SHIP, "v1.1.0", NULL, &res, &err), -1);
	assert_int_equal(err.cls, TC_INTERNAL);
	assert_string_equal(err.msg, "server: refusing to record without evidence (attempt id, pushed digest, tags read back)");
	struct recorder_evidence ev = good_ev();
	ev.digest = "sha256:ABC";
	tally_err_clear(&err);
	assert_int_equal(record(fx, RA_SHIP, "v1.1.0", &ev, &res, &err), -1);
	ev = good_ev();
	ev.nimages = 0;
	tally_err_clear(&err);
	assert_int_equal(record(fx, RA_SHIP, "v1.1.0", &ev, &res, &err), -1);
	ev = good_ev();
	tally_err_clear(&err);
	assert_int_equal(record(fx, RA_SHIP, "not a version!", &ev, &res, &err), -1);
	assert_string_equal(err.msg, "server: refusing to record an invalid version");
	char *v = head_record(fx);
	assert_string_equal(v, "v1.0.0");
	free(v);
}

static void test_ship_commits_and_writes(void **state)
{
	struct fixture *fx = *state;
	struct recorder_result res;
	struct tally_err err = {0};
	struct recorder_evidence ev = good_ev();
	if (record(fx, RA_SHIP, "v1.1.0", &ev, &res, &err) < 0)
		fail_msg("record: %s", err.msg);
	assert_int_equal(strlen(res.commit), GIT_OID_HEXSZ);
	assert_string_equal(res.previous, "v1.0.0");
	assert_int_equal(res.pushed, 1);   /* gitPush off */
	assert_null(res.push_error);
	assert_null(res.worktree_error);
	recorder_result_free(&res);
	char *text = read_file(fx->dir, "versions.txt");
	assert_string_equal(text, "# pinned by hand\nserver=v1.1.0\n");
	free(text);
	char *msg = head_message(fx);
	assert_string_equal(msg, "record server v1.1.0\n\n"
				 "Tally-Action: ship\n"
				 "Tally-Component: server\n"
				 "Tally-Version: v1.1.0\n"
				 "Tally-Previous: v1.0.0\n"
				 "Tally-Image: reg.example/ns/server:v1.1.0\n"
				 "Tally-Digest: " DIGEST "\n"
				 "Tally-Recipe: f00d\n"
				 "Tally-Attempt: 20261202T004500Z-server-1\n"
				 "Tally-Cause: upstream v1.1.0 released\n");
	free(msg);
	char *v = head_record(fx);
	assert_string_equal(v, "v1.1.0");
	free(v);

	/* never backwards by itself: only reset goes to an older version */
	tally_err_clear(&err);
	assert_int_equal(record(fx, RA_SHIP, "v1.1.0", &ev, &res, &err), -1);
	assert_string_equal(err.msg, "server: refusing to record v1.1.0: not newer than the record v1.1.0");
	tally_err_clear(&err);
	assert_int_equal(record(fx, RA_REBUILD, "v1.0.0", &ev, &res, &err), -1);
	assert_string_equal(err.msg, "server: refusing to rebuild v1.0.0: older than the record v1.1.0");
	tally_err_clear(&err);
	assert_int_equal(record(fx, RA_ADOPT, "v1.0.0", &ev, &res, &err), -1);
	assert_int_equal(err.cls, TC_INPUT);
	tally_err_clear(&err);
	if (record(fx, RA_RESET, "v1.0.0", &ev, &res, &err) < 0)
		fail_msg("reset: %s", err.msg);
	assert_string_equal(res.previous, "v1.1.0");
	recorder_result_free(&res);
	msg = head_message(fx);
	assert_non_null(strstr(msg, "reset server v1.0.0\n\nTally-Action: reset\n"));
	assert_non_null(strstr(msg, "Tally-Cause: operator\n"));
	free(msg);
}

/* A skip or a pin made while the attempt ran stops its record. */
static void test_holds_stop_the_record(void **state)
{
	struct fixture *fx = *state;
	struct recorder_result res;
	struct tally_err err = {0};
	char *named = NULL;
	if (hold(fx, RH_SKIP, "v1.2.0", "broken build", &named, &err) < 0)
		fail_msg("skip: %s", err.msg);
	assert_string_equal(named, "v1.2.0");
	free(named);
	named = NULL;
	char *msg = head_message(fx);
	assert_string_equal(msg, "skip server v1.2.0\n\n"
				 "Tally-Action: skip\n"
				 "Tally-Component: server\n"
				 "Tally-Version: v1.2.0\n"
				 "Tally-Reason: broken build\n");
	free(msg);
	assert_int_equal(hold(fx, RH_SKIP, "v1.2.0", NULL, &named, &err), -1);
	assert_int_equal(err.cls, TC_INPUT);
	free(named);
	named = NULL;

	struct recorder_evidence ev = good_ev();
	tally_err_clear(&err);
	assert_int_equal(record(fx, RA_SHIP, "v1.2.0", &ev, &res, &err), -1);
	assert_int_equal(err.cls, TC_HELD);
	assert_string_equal(err.msg, "server v1.2.0 was skipped while the attempt ran; nothing recorded");

	tally_err_clear(&err);
	if (hold(fx, RH_PIN, NULL, NULL, &named, &err) < 0)
		fail_msg("pin: %s", err.msg);
	assert_string_equal(named, "v1.0.0");
	free(named);
	named = NULL;
	tally_err_clear(&err);
	assert_int_equal(record(fx, RA_SHIP, "v1.3.0", &ev, &res, &err), -1);
	assert_int_equal(err.cls, TC_HELD);
	assert_string_equal(err.msg, "server was pinned at v1.0.0 while the attempt ran; nothing recorded");
	char *v = head_record(fx);
	assert_string_equal(v, "v1.0.0");
	free(v);

	tally_err_clear(&err);
	assert_int_equal(hold(fx, RH_UNPIN, NULL, NULL, &named, &err), 0);
	free(named);
	named = NULL;
	assert_int_equal(hold(fx, RH_UNPIN, NULL, NULL, &named, &err), -1);
	assert_string_equal(err.msg, "server is not pinned");
	free(named);
}

/* A version file with changes of its own is never overwritten. */
static void test_dirty_file_refused(void **state)
{
	struct fixture *fx = *state;
	write_file(fx->dir, "versions.txt", "server=v1.0.0\nmine=1\n");
	struct recorder_result res;
	struct tally_err err = {0};
	struct recorder_evidence ev = good_ev();
	assert_int_equal(record(fx, RA_SHIP, "v1.1.0", &ev, &res, &err), -1);
	assert_string_equal(err.msg, "versions.txt has uncommitted changes; commit or restore it, then retry (tally never overwrites them)");
	char *text = read_file(fx->dir, "versions.txt");
	assert_string_equal(text, "server=v1.0.0\nmine=1\n");
	free(text);
	/* and the repair leaves it as it is */
	struct strv report = {0};
	tally_err_clear(&err);
	assert_int_equal(recorder_repair(fx->dir, fx->conf, &report, &err), 0);
	assert_int_equal(report.n, 1);
	assert_string_equal(report.v[0], "versions.txt differs from HEAD and was not written by tally; left as it is");
	strv_free(&report);
}

/* A kill after the commit point leaves the file at the parent's content:
 * the start-up repair writes the head's. */
static void test_repair_after_commit_point(void **state)
{
	struct fixture *fx = *state;
	struct recorder_result res;
	struct tally_err err = {0};
	struct recorder_evidence ev = good_ev();
	if (record(fx, RA_SHIP, "v1.1.0", &ev, &res, &err) < 0)
		fail_msg("record: %s", err.msg);
	recorder_result_free(&res);
	write_file(fx->dir, "versions.txt", "# pinned by hand\nserver=v1.0.0\n");
	struct strv report = {0};
	assert_int_equal(recorder_repair(fx->dir, fx->conf, &report, &err), 0);
	assert_int_equal(report.n, 1);
	assert_string_equal(report.v[0], "versions.txt: repaired from the interrupted record at HEAD");
	strv_free(&report);
	char *text = read_file(fx->dir, "versions.txt");
	assert_string_equal(text, "# pinned by hand\nserver=v1.1.0\n");
	free(text);
	/* nothing left to do the second time */
	assert_int_equal(recorder_repair(fx->dir, fx->conf, &report, &err), 0);
	assert_int_equal(report.n, 0);
	/* sync without gitPush is a no-op */
	assert_int_equal(recorder_sync(fx->dir, fx->conf, -1, -1, &report, &err), 0);
	assert_int_equal(report.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_no_evidence_no_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ship_commits_and_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_holds_stop_the_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dirty_file_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_repair_after_commit_point, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
