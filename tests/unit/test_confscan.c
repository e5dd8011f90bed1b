/* Unit tests for confscan.c: every tally.conf entry maps back to its line,
 * with libgit2's lexical rules (comments, quotes, continuation lines, both
 * header forms, a variable after a header on one line). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "confscan.h"

static const char text[] =
	"\xef\xbb\xbf# a comment [not.a header]\n"          /* 1 */
	"[tally]\n"                                        /* 2 */
	"\tgitPush = true ; comment\n"                     /* 3 */
	"[component \"a\"] file = x.txt\n"                 /* 4 */
	"\tbuild = make \\\n"                              /* 5 */
	"\t  file = not-a-key\n"                           /* 6: continues 5 */
	"[component.b]\n"                                  /* 7 */
	"\tFile = y.txt\n"                                 /* 8 */
	"\tnotify = \"a # b ; c\"\n"                       /* 9 */
	"[component \"a\"]\n"                              /* 10 */
	"\tfile = z.txt\n"                                 /* 11 */
	"\tbad = \"\\q\"\n";                               /* 12 */

static void expect_line(struct scan *sc, const char *name, int line, const char *shown)
{
	const struct sline *l = confscan_claim(sc, name);
	if (!l)
		fail_msg("%s: no line left to claim (want %d)", name, line);
	assert_int_equal(l->line, line);
	if (shown)
		assert_string_equal(l->shown, shown);
}

static void test_lines(void **state)
{
	(void)state;
	struct scan sc = {0};
	confscan_text(&sc, text, sizeof text - 1);
	expect_line(&sc, "tally.gitpush", 3, "tally.gitPush");
	/* the k-th entry of a name is the k-th line defining it */
	expect_line(&sc, "component.a.file", 4, NULL);
	expect_line(&sc, "component.a.file", 11, NULL);
	assert_null(confscan_claim(&sc, "component.a.file"));
	expect_line(&sc, "component.a.build", 5, NULL);
	expect_line(&sc, "component.b.file", 8, "component.b.File");
	expect_line(&sc, "component.b.notify", 9, NULL);
	assert_null(confscan_claim(&sc, "tally.notify"));
	assert_null(confscan_claim(&sc, "tally.nosuchkey"));
	assert_int_equal(sc.bad_escape_line, 12);
	confscan_free(&sc);
}

static void test_headers(void **state)
{
	(void)state;
	struct scan sc = {0};
	confscan_text(&sc, text, sizeof text - 1);
	assert_int_equal(sc.nhdrs, 4);
	assert_string_equal(sc.hdrs[0].section, "tally");
	assert_null(sc.hdrs[0].sub);
	assert_int_equal(sc.hdrs[0].line, 2);
	assert_string_equal(sc.hdrs[1].section, "component");
	assert_string_equal(sc.hdrs[1].sub, "a");
	assert_int_equal(sc.hdrs[1].line, 4);
	assert_string_equal(sc.hdrs[2].sub, "b");
	assert_int_equal(sc.hdrs[2].line, 7);
	assert_int_equal(sc.hdrs[3].line, 10);
	confscan_free(&sc);
}

static void test_empty(void **state)
{
	(void)state;
	struct scan sc = {0};
	confscan_text(&sc, "", 0);
	assert_int_equal(sc.nlines, 0);
	assert_int_equal(sc.nhdrs, 0);
	assert_null(confscan_claim(&sc, "tally.gitpush"));
	confscan_free(&sc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_empty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
