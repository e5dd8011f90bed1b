/* Unit tests for ledger.c: an append is a whole line or nothing, also when
 * the disk fills up mid-line (issue 10, defect 7). The state directory is a
 * tiny tmpfs (needs root and mount(2); skipped with a message otherwise). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ledger.h"
#include "util.h"

static int nwarn;
static void count_warn(void *ctx, const char *msg)
{
	(void)ctx;
	(void)msg;
	nwarn++;
}

static json_t *entry(int i, size_t pad)
{
	char id[32];
	snprintf(id, sizeof id, "att-%d", i);
	char *p = xmalloc(pad + 1);
	memset(p, 'x', pad);
	p[pad] = '\0';
	json_t *e = json_pack("{s:s, s:s, s:s}", "id", id, "component", "c", "pad", p);
	free(p);
	return e;
}

static char mounted[64];

/* a failed assertion must not leave the tmpfs mounted */
static int unmount_teardown(void **state)
{
	(void)state;
	if (mounted[0]) {
		umount2(mounted, MNT_DETACH);
		rmdir(mounted);
		mounted[0] = '\0';
	}
	return 0;
}

static void test_disk_full_whole_lines(void **state)
{
	(void)state;
	char dir[] = "/tmp/tally-ledger-XXXXXX";
	assert_non_null(mkdtemp(dir));
	if (mount("tmpfs", dir, "tmpfs", 0, "size=12k") != 0) {
		rmdir(dir);
		skip();
	}
	snprintf(mounted, sizeof mounted, "%s", dir);
	/* two of the three pages go to a filler, the ledger gets the last */
	char *filler = xasprintf("%s/filler", dir);
	FILE *f = fopen(filler, "w");
	assert_non_null(f);
	static char zeros[8192];
	assert_int_equal(fwrite(zeros, 1, sizeof zeros, f), sizeof zeros);
	assert_int_equal(fclose(f), 0);

	struct tally_err err = {0};
	int ok = 0, failed = 0;
	for (int i = 0; i < 20 && !failed; i++) {
		json_t *e = entry(i, 900);
		if (ledger_append(dir, e, &err) == 0)
			ok++;
		else
			failed = 1;
		json_decref(e);
	}
	assert_true(ok >= 1);
	assert_int_equal(failed, 1);
	assert_non_null(strstr(err.msg, "ledger.jsonl"));
	/* what is on disk is whole lines only */
	char *path = xasprintf("%s/ledger.jsonl", dir);
	struct sbuf sb = {0};
	assert_int_equal(util_read_file(path, &sb, NULL), 0);
	assert_true(sb.len > 0);
	assert_int_equal(sb.buf[sb.len - 1], '\n');
	/* space again: the next append is not glued to anything */
	unlink(filler);
	json_t *e = entry(99, 10);
	assert_int_equal(ledger_append(dir, e, &err), 0);
	json_decref(e);
	json_t *all = NULL;
	nwarn = 0;
	assert_int_equal(ledger_load(dir, &all, count_warn, NULL, &err), 0);
	assert_int_equal(nwarn, 0);
	assert_int_equal(json_array_size(all), (size_t)ok + 1);
	json_decref(all);
	sbuf_free(&sb);
	free(path);
	free(filler);
	unmount_teardown(NULL);
}

/* A torn line left by a crash elsewhere is ended before the next entry. */
static void test_torn_line_not_glued(void **state)
{
	(void)state;
	char dir[] = "/tmp/tally-ledger-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char *path = xasprintf("%s/ledger.jsonl", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"id\":\"a\",\"component\":\"c\"}\n{\"id\":\"b\",\"comp", f);
	fclose(f);
	struct tally_err err = {0};
	json_t *e = entry(1, 5);
	assert_int_equal(ledger_append(dir, e, &err), 0);
	json_decref(e);
	json_t *all = NULL;
	nwarn = 0;
	assert_int_equal(ledger_load(dir, &all, count_warn, NULL, &err), 0);
	assert_int_equal(nwarn, 1);                       /* the torn one only */
	assert_int_equal(json_array_size(all), 2);        /* a and att-1 */
	json_decref(all);
	unlink(path);
	rmdir(dir);
	free(path);
}

/* ---- compaction (SPEC section 9) ------------------------------------------ */

/* An attempt line: id, component, version, result, shipped, log. */
static json_t *att(const char *id, const char *comp, const char *version, const char *result,
		   int shipped)
{
	char *log = xasprintf("/state/logs/%s/%s.log", comp, id);
	/* shipped 2: shipped but not recorded (resume evidence) */
	json_t *e = json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:s}", "id", id, "component", comp, "version",
			      version, "result", result, "shipped", shipped != 0, "recorded", shipped == 1,
			      "log", log);
	free(log);
	return e;
}

static int has_id(json_t *arr, const char *id)
{
	size_t i;
	json_t *e;
	json_array_foreach(arr, i, e)
		if (strcmp(json_string_value(json_object_get(e, "id")), id) == 0)
			return 1;
	return 0;
}

static int has_log_of(json_t *logs, const char *id)
{
	size_t i;
	json_t *l;
	json_array_foreach(logs, i, l) {
		const char *s = json_string_value(l);
		const char *slash = strrchr(s, '/');
		if (slash && strncmp(slash + 1, id, strlen(id)) == 0 && slash[1 + strlen(id)] == '.')
			return 1;
	}
	return 0;
}

/* logKeep 3: the newest attempt always, then failed ones, then the newest
 * others keep their logs; a version whose newest attempt shipped without
 * being recorded keeps that line (its log may go); recorded versions need
 * no line (their record commits hold the digests); everything else goes
 * with its log. */
static void test_select_keeps_logs_failed_first(void **state)
{
	(void)state;
	json_t *l = json_array();
	json_array_append_new(l, att("a0", "c", "v0", "shipped", 2));   /* unrecorded: evidence */
	json_array_append_new(l, att("a1", "c", "v1", "shipped", 1));
	json_array_append_new(l, att("a2", "c", "v2", "failed", 0));
	json_array_append_new(l, att("a3", "c", "v2", "shipped", 1));
	json_array_append_new(l, att("a4", "c", "v3", "failed", 0));
	json_array_append_new(l, att("a5", "c", "v2", "shipped", 1));
	json_array_append_new(l, att("a6", "c", "v4", "nothing", 0));
	json_array_append_new(l, att("a7", "c", "v4", "shipped", 1));   /* newest */
	json_array_append_new(l, att("b1", "d", "v1", "shipped", 1));   /* another component */
	json_t *kept = NULL, *drop = NULL;
	size_t dropped = ledger_select(l, 3, &kept, &drop);
	/* logs kept: a7 (newest), a4, a2 (failed) - a5, a6 are not failed */
	assert_true(has_id(kept, "a7") && has_id(kept, "a4") && has_id(kept, "a2"));
	assert_false(has_log_of(drop, "a7") || has_log_of(drop, "a4") || has_log_of(drop, "a2"));
	/* kept for a record: a0's evidence; its log goes */
	assert_true(has_id(kept, "a0") && has_log_of(drop, "a0"));
	/* gone: recorded versions' older attempts, and a6 */
	assert_false(has_id(kept, "a1") || has_id(kept, "a3") || has_id(kept, "a5") || has_id(kept, "a6"));
	assert_true(has_log_of(drop, "a1") && has_log_of(drop, "a3") && has_log_of(drop, "a5") &&
		    has_log_of(drop, "a6"));
	assert_true(has_id(kept, "b1") && !has_log_of(drop, "b1"));
	assert_int_equal(dropped, 4);
	assert_int_equal(json_array_size(kept), 5);
	/* kept lines stay in file order */
	assert_string_equal(json_string_value(json_object_get(json_array_get(kept, 0), "id")), "a0");
	assert_string_equal(json_string_value(json_object_get(json_array_get(kept, 4), "id")), "b1");
	json_decref(kept);
	json_decref(drop);
	json_decref(l);
}

/* The last line of an id wins: earlier lines go; shipped-unrecorded
 * evidence is kept only while it is its version's newest attempt (a newer
 * attempt of the version decides, so both may go); the newest shipped
 * attempt of a component stays (what it built), even without a log; with
 * nothing to drop, the selection is the input. */
static void test_select_last_line_and_resume(void **state)
{
	(void)state;
	json_t *l = json_array();
	json_array_append_new(l, att("x1", "c", "v9", "verified", 2));  /* evidence line */
	json_array_append_new(l, att("x1", "c", "v9", "failed", 2));    /* its final line */
	json_array_append_new(l, att("x2", "c", "v8", "shipped", 1));
	json_array_append_new(l, att("x3", "c", "v9", "failed", 0));    /* newer attempt of v9 */
	json_array_append_new(l, att("x4", "c", "v7", "verified", 2));  /* evidence, newest of v7 */
	for (int i = 0; i < 5; i++) {
		char id[16];
		snprintf(id, sizeof id, "y%d", i);
		json_array_append_new(l, att(id, "c", "v10", "failed", 0));
	}
	json_t *kept = NULL, *drop = NULL;
	size_t dropped = ledger_select(l, 2, &kept, &drop);
	/* v9: x3 decides, so x1's evidence and x3 go */
	assert_false(has_id(kept, "x1") || has_id(kept, "x3"));
	/* v7's evidence stays; x4 is also the newest shipped attempt */
	assert_true(has_id(kept, "x4"));
	/* x2 is an older shipped attempt, recorded: goes */
	assert_false(has_id(kept, "x2"));
	/* logKeep 2: y4 (newest), y3 (failed, newest) keep logs; y0..y2 go */
	assert_true(has_id(kept, "y4") && has_id(kept, "y3"));
	assert_false(has_id(kept, "y2") || has_id(kept, "y1") || has_id(kept, "y0"));
	assert_true(has_log_of(drop, "y0") && has_log_of(drop, "x1") && has_log_of(drop, "x4") &&
		    !has_log_of(drop, "y4"));
	assert_int_equal(json_array_size(kept), 3);
	assert_int_equal(dropped, 7); /* both x1 lines, x2, x3, y0, y1, y2 */
	json_decref(kept);
	json_decref(drop);

	/* nothing to drop: the same lines */
	json_t *small = json_array();
	json_array_append_new(small, att("z1", "c", "v1", "shipped", 1));
	json_array_append_new(small, att("z2", "c", "v2", "failed", 0));
	assert_int_equal(ledger_select(small, 50, &kept, &drop), 0);
	assert_int_equal(json_array_size(kept), 2);
	assert_int_equal(json_array_size(drop), 0);
	json_decref(kept);
	json_decref(drop);
	json_decref(small);
	json_decref(l);
}

/* ledger_compact rewrites the file with the kept lines, removes dropped
 * logs under STATE/logs/ only, and leaves a log a line points elsewhere. */
static void test_compact_rewrites_and_prunes(void **state)
{
	(void)state;
	char dir[] = "/tmp/tally-ledger-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char *logdir = xasprintf("%s/logs/c", dir);
	struct tally_err err = {0};
	assert_int_equal(util_mkdirs(logdir, 0700, &err), 0);
	char *outside = xasprintf("%s/outside.log", dir);
	for (int i = 0; i < 6; i++) {
		char id[16];
		snprintf(id, sizeof id, "p%d", i);
		char *log = i == 0 ? xstrdup(outside) : xasprintf("%s/%s.log", logdir, id);
		FILE *f = fopen(log, "w");
		assert_non_null(f);
		fclose(f);
		json_t *e = json_pack("{s:s, s:s, s:s, s:s, s:b, s:s}", "id", id, "component", "c",
				      "version", "v1", "result", "failed", "shipped", 0, "log", log);
		assert_int_equal(ledger_append(dir, e, &err), 0);
		json_decref(e);
		free(log);
	}
	json_t *all = NULL;
	assert_int_equal(ledger_load(dir, &all, NULL, NULL, &err), 0);
	assert_int_equal(ledger_compact(dir, &all, 2, &err), 4);
	assert_int_equal(json_array_size(all), 2);
	json_t *back = NULL;
	assert_int_equal(ledger_load(dir, &back, NULL, NULL, &err), 0);
	assert_int_equal(json_array_size(back), 2);
	assert_true(has_id(back, "p5") && has_id(back, "p4"));
	json_decref(back);
	char *p5 = xasprintf("%s/p5.log", logdir), *p1 = xasprintf("%s/p1.log", logdir);
	assert_int_equal(access(p5, F_OK), 0);
	assert_int_equal(access(p1, F_OK), -1);
	assert_int_equal(access(outside, F_OK), 0);   /* not under logs/: never removed */
	/* a second compaction has nothing to do */
	assert_int_equal(ledger_compact(dir, &all, 2, &err), 0);
	json_decref(all);
	free(p5);
	free(p1);
	free(outside);
	free(logdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_disk_full_whole_lines, unmount_teardown),
		cmocka_unit_test(test_torn_line_not_glued),
		cmocka_unit_test(test_select_keeps_logs_failed_first),
		cmocka_unit_test(test_select_last_line_and_resume),
		cmocka_unit_test(test_compact_rewrites_and_prunes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
