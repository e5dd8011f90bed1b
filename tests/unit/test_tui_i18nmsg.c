/* i18nmsg.c: an engine's English message matched back to its format and
 * shown translated, with the values the engine put in (nested messages
 * translated too), "PREFIX: message" with the prefix kept, the most
 * specific format winning, and everything that matches no format left as
 * the engine made it. The sets here are built by hand; the real catalog
 * is exercised by t_i18n_batch and t_i18n_console. */
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "i18nmsg.h"

static struct i18nmsg_set *set;

static int setup(void **state)
{
	(void)state;
	set = i18nmsg_set_new();
	i18nmsg_set_add(set, "the engine went away", "引擎已退出");
	i18nmsg_set_add(set, "empty value", "值为空");
	i18nmsg_set_add(set, "cannot read HEAD: %s", "无法读取 HEAD：%s");
	i18nmsg_set_add(set, "pending record commits not pushed yet: %s", "待推送的记录提交尚未推送：%s");
	i18nmsg_set_add(set, "%s:%d: unknown key '%s'", "%s:%d：未知的键 '%s'");
	i18nmsg_set_add(set, "%s %s is older than the record %s (use reset)",
			"记录为 %3$s，%1$s %2$s 比它旧（请用 reset）");
	i18nmsg_set_add(set, "%s failed", "%s 失败");
	i18nmsg_set_add(set, "build of %s failed", "%s 的构建失败");
	i18nmsg_set_add(set, "exit status %d after %.1f s", "%2$.1f 秒后退出，状态 %1$d");
	i18nmsg_set_add(set, "commit %.12s is not ours", "提交 %.12s 不是我们的");
	i18nmsg_set_add(set, "field '%.*s' is bad", "字段 '%.*s' 有误");
	i18nmsg_set_add(set, "mode %04o lets others in", "权限 %04o 允许他人访问");
	i18nmsg_set_add(set, "%s: %s", "%s：%s");                  /* glue: never a pattern */
	i18nmsg_set_add(set, "100%% of %zu tags read back", "%zu 个标签已全部读回（100%%）");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	i18nmsg_set_free(set);
	return 0;
}

static void expect(const char *in, const char *want)
{
	char *got = i18nmsg_apply(set, in);
	assert_string_equal(got, want);
	free(got);
}

static void test_exact_and_formats(void **state)
{
	(void)state;
	expect("the engine went away", "引擎已退出");
	expect("tally.conf:12: unknown key 'colour'", "tally.conf:12：未知的键 'colour'");
	/* positional arguments: the values land where the translation wants them */
	expect("server v3.7.0 is older than the record v3.8.1 (use reset)",
	       "记录为 v3.8.1，server v3.7.0 比它旧（请用 reset）");
	expect("exit status 125 after 2.5 s", "2.5 秒后退出，状态 125");
	expect("mode 0755 lets others in", "权限 0755 允许他人访问");
	expect("100% of 3 tags read back", "3 个标签已全部读回（100%）");
	/* %.*s: the * takes no text */
	expect("field 'usr' is bad", "字段 'usr' 有误");
}

static void test_nested_and_prefix(void **state)
{
	(void)state;
	/* an error inside an error: both translated */
	expect("pending record commits not pushed yet: cannot read HEAD: reference 'refs/heads/main' not found",
	       "待推送的记录提交尚未推送：无法读取 HEAD：reference 'refs/heads/main' not found");
	/* file:line: key: message (conf_fail_at) keeps the prefix */
	expect("tally.conf:7: component.app.build: empty value", "tally.conf:7: component.app.build: 值为空");
	/* a value that is a plain word is not translated ("empty value" only as a sentence) */
	expect("build of app failed", "app 的构建失败");
}

static void test_specific_wins(void **state)
{
	(void)state;
	/* both "%s failed" and "build of %s failed" match: the longer literal wins */
	expect("build of server failed", "server 的构建失败");
	expect("push failed", "push 失败");
}

static void test_no_match_stays(void **state)
{
	(void)state;
	expect("something the catalog never heard of", "something the catalog never heard of");
	/* %d matches digits only; %.12s at most 12 bytes */
	expect("exit status abc after 2.5 s", "exit status abc after 2.5 s");
	expect("commit 0123456789abcdef is not ours", "commit 0123456789abcdef is not ours");
	expect("commit 0123456789ab is not ours", "提交 0123456789ab 不是我们的");
	/* glue formats with almost no words are not patterns */
	expect("a: b", "a: b");
	expect("", "");
	assert_null(i18nmsg_apply(set, NULL));
	/* no set: a copy */
	char *c = i18nmsg_apply(NULL, "the engine went away");
	assert_string_equal(c, "the engine went away");
	free(c);
}

static void test_hostile_text_terminates(void **state)
{
	(void)state;
	struct i18nmsg_set *s = i18nmsg_set_new();
	i18nmsg_set_add(s, "a %s b %s b %s b %s b %s b %s b %s c", "甲");
	char text[4096];
	size_t n = 0;
	text[n++] = 'a';
	text[n++] = ' ';
	while (n < sizeof text - 8) {
		text[n++] = ' ';
		text[n++] = 'b';
		text[n++] = ' ';
	}
	text[n++] = 'x';
	text[n] = 0;
	char *got = i18nmsg_apply(s, text);   /* gives up (a step budget), never hangs */
	assert_string_equal(got, text);
	free(got);
	assert_int_equal(i18nmsg_set_count(s), 1);
	i18nmsg_set_free(s);
}

int main(void)
{
	if (!setlocale(LC_CTYPE, "C.UTF-8")) {
		fprintf(stderr, "test_tui_i18nmsg: no C.UTF-8 locale\n");
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_and_formats),
		cmocka_unit_test(test_nested_and_prefix),
		cmocka_unit_test(test_specific_wins),
		cmocka_unit_test(test_no_match_stays),
		cmocka_unit_test(test_hostile_text_terminates),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
