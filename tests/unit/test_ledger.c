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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_disk_full_whole_lines, unmount_teardown),
		cmocka_unit_test(test_torn_line_not_glued),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
