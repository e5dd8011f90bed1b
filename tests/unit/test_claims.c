/* test_claims.c - claims on a real bare git remote (git on this machine,
 * file:// remote): take, hold, release, take over an expired claim,
 * exactly one winner when hosts race, malformed claims and an unreachable
 * remote refused with the ref or remote named. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "claims.h"
#include "runner.h"
#include "util.h"

static char top[64];

static void collect(void *ctx, const char *data, size_t len)
{
	if (data)
		sbuf_add(ctx, data, len);
}

static void run(struct sbuf *out, const char *cwd, char **argv)
{
	static char *const env[] = {"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t",
				    "GIT_COMMITTER_EMAIL=t@t", NULL};
	struct sbuf sink = {0};
	struct run_opts o = {.argv = argv, .cwd = cwd, .env_add = env, .git_env = 1, .log_fd = -1,
			     .cancel_fd = -1, .on_output = collect, .ctx = out ? out : &sink};
	struct run_result rr;
	struct tally_err err = {0};
	if (runner_run(&o, &rr, &err) < 0 || !rr.exited || rr.status != 0)
		fail_msg("%s %s failed: %s %s", argv[0], argv[1], err.msg, sbuf_str(out ? out : &sink));
	sbuf_free(&sink);
}

/* A fresh bare remote and n clones top/h0.. with origin = the remote. */
static void setup_hosts(int n)
{
	strcpy(top, "/tmp/tally-claims-XXXXXX");
	assert_non_null(mkdtemp(top));
	char *remote = xasprintf("%s/remote.git", top);
	char *init[] = {"git", "init", "-q", "--bare", remote, NULL};
	run(NULL, top, init);
	for (int i = 0; i < n; i++) {
		char *dir = xasprintf("%s/h%d", top, i);
		char *cl[] = {"git", "init", "-q", dir, NULL};
		run(NULL, top, cl);
		char *add[] = {"git", "remote", "add", "origin", remote, NULL};
		run(NULL, dir, add);
		free(dir);
	}
	free(remote);
}

static void teardown_hosts(void)
{
	char *rm[] = {"rm", "-rf", top, NULL};
	run(NULL, "/", rm);
}

static struct claims_ctx ctx_of(int i, char **dir)
{
	*dir = xasprintf("%s/h%d", top, i);
	struct claims_ctx cx = {.repo_dir = *dir, .remote = "origin", .net_timeout = 10, .log_fd = -1,
				.cancel_fd = -1};
	return cx;
}

static void test_message_round_trip(void **state)
{
	(void)state;
	struct claim c = {.component = "server", .host = "a", .attempt = "server-20261202-1",
			  .version = "v3.8.2", .expires = 1796181000};
	char *m = claims_message(&c);
	assert_non_null(strstr(m, "Tally-Host: a\n"));
	assert_non_null(strstr(m, "Tally-Expires: 2026-12-02T"));
	struct claim back;
	struct tally_err err = {0};
	assert_int_equal(claims_parse("server", m, &back, &err), 0);
	assert_string_equal(back.host, "a");
	assert_string_equal(back.attempt, "server-20261202-1");
	assert_string_equal(back.version, "v3.8.2");
	assert_true(back.expires == 1796181000);
	claim_free(&back);
	free(m);

	/* a claim without an expiry, or with a bad one, is not a claim */
	assert_int_equal(claims_parse("server", "x\n\nTally-Host: a\nTally-Attempt: 1\nTally-Version: v1\n", &back,
				      &err), -1);
	assert_non_null(strstr(err.msg, "refs/tally/claims/server"));
	assert_non_null(strstr(err.msg, "Tally-Expires"));
	assert_int_equal(claims_parse("server", "Tally-Host: a\nTally-Attempt: 1\nTally-Version: v1\n"
				      "Tally-Expires: tomorrow\n", &back, &err), -1);
	assert_non_null(strstr(err.msg, "Tally-Expires"));
}

static void test_ref_names(void **state)
{
	(void)state;
	char *r = claims_ref("server");
	assert_string_equal(r, "refs/tally/claims/server");
	free(r);
	assert_null(claims_ref(""));
	assert_null(claims_ref("a..b"));
	assert_null(claims_ref("a.lock"));
	assert_null(claims_ref("a."));
	assert_null(claims_ref("a/b"));
	assert_null(claims_ref("a b"));
}

static void test_take_hold_release(void **state)
{
	(void)state;
	setup_hosts(2);
	char *da, *db;
	struct claims_ctx a = ctx_of(0, &da), b = ctx_of(1, &db);
	struct claim mine, other, seen;
	struct tally_err err = {0};
	long long now = 1796180000;
	int found = 1;

	assert_int_equal(claims_read(&a, "server", &seen, &found, &err), 0);
	assert_int_equal(found, 0);

	assert_int_equal(claims_take(&a, "server", "a", "att-1", "v1", now, 600, &mine, &other, &err), CLAIM_OURS);
	assert_int_equal(strlen(mine.oid), 40);

	/* b sees a's live claim, and builds nothing */
	struct claim mb, ob;
	assert_int_equal(claims_take(&b, "server", "b", "att-9", "v1", now + 10, 600, &mb, &ob, &err), CLAIM_HELD);
	assert_string_equal(ob.host, "a");
	assert_string_equal(ob.attempt, "att-1");
	assert_string_equal(ob.oid, mine.oid);
	claim_free(&ob);

	/* a retried take of the same attempt is ours again */
	struct claim again;
	assert_int_equal(claims_take(&a, "server", "a", "att-1", "v1", now + 5, 600, &again, &other, &err),
			 CLAIM_OURS);
	assert_string_equal(again.oid, mine.oid);
	claim_free(&again);

	/* another component is free */
	struct claim mc;
	assert_int_equal(claims_take(&b, "chat", "b", "att-2", "v7", now, 600, &mc, &other, &err), CLAIM_OURS);

	assert_int_equal(claims_release(&a, &mine, &err), 0);
	assert_int_equal(claims_read(&b, "server", &seen, &found, &err), 0);
	assert_int_equal(found, 0);
	assert_int_equal(claims_take(&b, "server", "b", "att-9", "v1", now + 20, 600, &mb, &ob, &err), CLAIM_OURS);
	assert_int_equal(claims_read(&a, "server", &seen, &found, &err), 0);
	assert_int_equal(found, 1);
	assert_string_equal(seen.host, "b");
	claim_free(&seen);
	claim_free(&mine);
	claim_free(&mb);
	claim_free(&mc);
	free(da);
	free(db);
	teardown_hosts();
}

static void test_takeover_of_expired(void **state)
{
	(void)state;
	setup_hosts(2);
	char *da, *db;
	struct claims_ctx a = ctx_of(0, &da), b = ctx_of(1, &db);
	struct claim mine, other, mb, ob, seen;
	struct tally_err err = {0};
	long long now = 1796180000;
	int found = 0;

	/* a took it and died; its claim expired at now + 60 */
	assert_int_equal(claims_take(&a, "server", "a", "att-1", "v1", now, 60, &mine, &other, &err), CLAIM_OURS);
	assert_int_equal(claims_take(&b, "server", "b", "att-2", "v1", now + 59, 60, &mb, &ob, &err), CLAIM_HELD);
	claim_free(&ob);
	assert_int_equal(claims_take(&b, "server", "b", "att-2", "v1", now + 61, 60, &mb, &ob, &err), CLAIM_OURS);
	assert_string_not_equal(mb.oid, mine.oid);

	/* the dead host, back, releases its old claim: b's stays */
	assert_int_equal(claims_release(&a, &mine, &err), 0);
	assert_int_equal(claims_read(&a, "server", &seen, &found, &err), 0);
	assert_int_equal(found, 1);
	assert_string_equal(seen.host, "b");
	assert_string_equal(seen.oid, mb.oid);
	claim_free(&seen);
	/* and cannot take it back while b's is live */
	struct claim m2;
	assert_int_equal(claims_take(&a, "server", "a", "att-3", "v1", now + 62, 60, &m2, &other, &err), CLAIM_HELD);
	assert_string_equal(other.host, "b");
	claim_free(&other);
	claim_free(&mine);
	claim_free(&mb);
	free(da);
	free(db);
	teardown_hosts();
}

struct racer {
	int i;
	int outcome;
	long long now;
	char msg[2048];
};

static void *race(void *arg)
{
	struct racer *r = arg;
	char *dir;
	struct claims_ctx cx = ctx_of(r->i, &dir);
	struct claim mine, other;
	struct tally_err err = {0};
	char host[8], att[16];
	snprintf(host, sizeof host, "h%d", r->i);
	snprintf(att, sizeof att, "att-%d", r->i);
	r->outcome = claims_take(&cx, "redis", host, att, "7.2.5", r->now, 600, &mine, &other, &err);
	snprintf(r->msg, sizeof r->msg, "%s", err.msg);
	claim_free(&mine);
	claim_free(&other);
	free(dir);
	return NULL;
}

/* Hosts racing for one component, on a free ref and then on an expired
 * one: exactly one of them gets it each time. */
static void test_race_one_winner(void **state)
{
	(void)state;
	enum { N = 4 };
	setup_hosts(N + 1);
	for (int round = 0; round < 2; round++) {
		if (round == 1) {
			/* an expired claim of host N for the racers to take over */
			char *d;
			struct claims_ctx x = ctx_of(N, &d);
			struct claim m, o, seen;
			struct tally_err err = {0};
			int found = 0;
			assert_int_equal(claims_read(&x, "redis", &seen, &found, &err), 0);
			assert_int_equal(found, 1);
			assert_int_equal(claims_release(&x, &seen, &err), 0);
			claim_free(&seen);
			assert_int_equal(claims_take(&x, "redis", "dead", "att-x", "7.2.5", 1000, 10, &m, &o, &err),
					 CLAIM_OURS);
			claim_free(&m);
			free(d);
		}
		struct racer r[N];
		pthread_t th[N];
		for (int i = 0; i < N; i++) {
			r[i] = (struct racer){.i = i, .now = 1796180000};
			assert_int_equal(pthread_create(&th[i], NULL, race, &r[i]), 0);
		}
		int ours = 0, held = 0;
		for (int i = 0; i < N; i++) {
			pthread_join(th[i], NULL);
			if (r[i].outcome == CLAIM_OURS)
				ours++;
			else if (r[i].outcome == CLAIM_HELD)
				held++;
			else
				print_message("racer %d: %s\n", i, r[i].msg);
		}
		assert_int_equal(ours, 1);
		assert_int_equal(held, N - 1);
	}
	teardown_hosts();
}

static void test_malformed_and_unreachable(void **state)
{
	(void)state;
	setup_hosts(1);
	char *d;
	struct claims_ctx a = ctx_of(0, &d);
	struct claim mine, other, seen;
	struct tally_err err = {0};
	int found = 0;

	/* somebody pushed a ref that is no tally claim */
	struct sbuf out = {0};
	char *tree[] = {"git", "mktree", NULL};
	run(&out, d, tree);
	char t[41] = "";
	sscanf(sbuf_str(&out), "%40s", t);
	char *ct[] = {"git", "commit-tree", t, "-m", "hello", NULL};
	sbuf_reset(&out);
	run(&out, d, ct);
	char c[41] = "";
	sscanf(sbuf_str(&out), "%40s", c);
	char *spec = xasprintf("%s:refs/tally/claims/server", c);
	char *push[] = {"git", "push", "-q", "origin", spec, NULL};
	run(NULL, d, push);
	free(spec);

	assert_int_equal(claims_read(&a, "server", &seen, &found, &err), -1);
	print_message("%s\n", err.msg);
	assert_non_null(strstr(err.msg, "refs/tally/claims/server"));
	assert_int_equal(claims_take(&a, "server", "a", "att-1", "v1", 1796180000, 60, &mine, &other, &err), -1);
	assert_non_null(strstr(err.msg, "not a tally claim"));

	/* a ref at a tree, not a commit */
	char *spec2 = xasprintf("+%s:refs/tally/claims/chat", t);
	char *push2[] = {"git", "push", "-q", "origin", spec2, NULL};
	run(NULL, d, push2);
	free(spec2);
	assert_int_equal(claims_read(&a, "chat", &seen, &found, &err), -1);
	assert_non_null(strstr(err.msg, "refs/tally/claims/chat"));
	assert_non_null(strstr(err.msg, "not a tally claim"));

	/* a remote that is not there: an error naming it, nothing claimed */
	char *set[] = {"git", "remote", "set-url", "origin", "/nonexistent/tally-remote.git", NULL};
	run(NULL, d, set);
	tally_err_clear(&err);
	assert_int_equal(claims_take(&a, "mongo", "a", "att-1", "v1", 1796180000, 60, &mine, &other, &err), -1);
	print_message("%s\n", err.msg);
	assert_non_null(strstr(err.msg, "origin"));
	assert_int_not_equal(err.cls, TC_NONE);

	/* a name that cannot be a ref */
	assert_int_equal(claims_take(&a, "a..b", "a", "att-1", "v1", 1796180000, 60, &mine, &other, &err), -1);
	assert_int_equal(err.cls, TC_INPUT);
	sbuf_free(&out);
	free(d);
	teardown_hosts();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_message_round_trip),
		cmocka_unit_test(test_ref_names),
		cmocka_unit_test(test_take_hold_release),
		cmocka_unit_test(test_takeover_of_expired),
		cmocka_unit_test(test_race_one_winner),
		cmocka_unit_test(test_malformed_and_unreachable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
