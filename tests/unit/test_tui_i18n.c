/* i18n.c's display widths (CJK characters are two columns) and cuts that
 * never split a character, in C.UTF-8; and the protocol words shown in
 * the C locale stay the words themselves. */
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "i18n.h"

static void test_width(void **state)
{
	(void)state;
	assert_int_equal(i18n_width(""), 0);
	assert_int_equal(i18n_width("failed"), 6);
	assert_int_equal(i18n_width("失败"), 4);
	assert_int_equal(i18n_width("✗ 失败"), 6);          /* the glyph is one column */
	assert_int_equal(i18n_width("基础已变+s"), 10);
	assert_int_equal(i18n_width("a\xff" "b"), 3);         /* an invalid byte counts one */
}

static void test_cell(void **state)
{
	(void)state;
	char b[64];
	assert_string_equal(i18n_cell(b, sizeof b, "ok", 5), "ok   ");
	assert_string_equal(i18n_cell(b, sizeof b, "失败", 6), "失败  ");
	/* 7 columns of 强制重建: three characters and a space, never half of one */
	assert_string_equal(i18n_cell(b, sizeof b, "强制重建", 7), "强制重 ");
	assert_int_equal(i18n_width(i18n_cell(b, sizeof b, "强制重建", 7)), 7);
	assert_string_equal(i18n_cell(b, sizeof b, "abcdef", 3), "abc");
	/* a buffer too small keeps whole characters (padded while there is room) */
	char small[5];
	assert_string_equal(i18n_cell(small, sizeof small, "失败了", 6), "失 ");
}

static void test_cut(void **state)
{
	(void)state;
	/* ASCII: at the last space that fits, or the space just beyond */
	assert_int_equal(i18n_cut("move up the log", 8), 7);    /* "move up" */
	assert_int_equal(i18n_cut("move up the log", 7), 7);    /* the space right after fits the line */
	assert_int_equal(i18n_cut("short", 10), 5);
	assert_int_equal(i18n_cut("abcdefghij", 4), 4);         /* no space: cut */
	/* CJK: no spaces, the line ends after a whole wide character */
	const char *zh = "计划：在保留文件中记录跳过";
	size_t n = i18n_cut(zh, 9);
	assert_int_equal(n, 4 * 3);                            /* four characters, 8 columns */
	assert_int_equal(((unsigned char)zh[n] & 0xc0) != 0x80, 1);
	/* a space still wins over a wide character before it */
	assert_int_equal(i18n_cut("跳过 server v3.8.1", 12), strlen("跳过 server"));
	/* a line never starts with closing punctuation: the break moves back */
	assert_int_equal(i18n_cut("中文字，后面", 6), strlen("中文"));
	assert_int_equal(i18n_cut("中文字（后面", 6), strlen("中文字"));
	/* the later of a space and a wide character wins */
	assert_int_equal(i18n_cut("先 fetch 并快进", 14), strlen("先 fetch 并快"));
	assert_int_equal(i18n_cut("先 fetch 并快进，并推送", 16), strlen("先 fetch 并快"));
}

static void test_words_in_c_locale(void **state)
{
	(void)state;
	/* no catalog is used in the C locale: the words are the protocol's */
	assert_string_equal(i18n_word("failed"), "failed");
	assert_string_equal(i18n_word("base-moved"), "base-moved");
	assert_string_equal(i18n_word("no-such-word"), "no-such-word");
	assert_null(i18n_word(NULL));
	assert_string_equal(i18n_ctx("key", "check"), "check");
	assert_string_equal(i18n_msg(""), "");
	assert_null(i18n_msg(NULL));
}

int main(void)
{
	if (!setlocale(LC_CTYPE, "C.UTF-8")) {
		fprintf(stderr, "test_tui_i18n: no C.UTF-8 locale\n");
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_width),
		cmocka_unit_test(test_cell),
		cmocka_unit_test(test_cut),
		cmocka_unit_test(test_words_in_c_locale),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
