/* i18nmsg.c: an engine's English message matched back to its format and
 * shown translated, with the values the engine put in (nested messages
 * translated too), "PREFIX: message" with the prefix kept, the most
 * specific format winning, and everything that matches no format left as
 * the engine made it. The first sets are built by hand; the last test
 * takes every format of the real catalog (build/locale, zh_CN), makes a
 * message from it with sample values, and checks it comes back as the
 * translation with the same values (so no format of the catalog is
 * shadowed by another or unmatchable). */
#include <errno.h>
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
	i18nmsg_set_add(set, "%s is not pinned", "%s 未固定");
	i18nmsg_set_add(set, "%s: %s is not pinned", "%s：%s 未固定");
	i18nmsg_set_add(set, "build of %s failed", "%s 的构建失败");
	i18nmsg_set_add(set, "%s config %s", "%s 的配置 %s");       /* one word: never a pattern */
	i18nmsg_set_add(set, "exit status %d after %.1f s", "%2$.1f 秒后退出，状态 %1$d");
	i18nmsg_set_add(set, "commit %.12s is not ours", "提交 %.12s 不是我们的");
	i18nmsg_set_add(set, "field '%.*s' is bad", "字段 '%.*s' 有误");
	i18nmsg_set_add(set, "mode %04o lets others in", "权限 %04o 允许他人访问");
	i18nmsg_set_add(set, "%s: %s", "%s：%s");                  /* glue: never a pattern */
	i18nmsg_set_add(set, "building %s on %s%s", "在 %2$s 上构建 %1$s%3$s");   /* "%s%s": never guessed */
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
	/* both match the same text: the one with more literal text wins */
	expect("hosts: server is not pinned", "hosts：server 未固定");
	expect("server is not pinned", "server 未固定");
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
	/* nor a format of one word (libgit2's text has "config" too) */
	expect("failed to parse config file: missing ']'", "failed to parse config file: missing ']'");
	/* nor formats with two values side by side (which split of "hostb"?) */
	expect("building app on hostb", "building app on hostb");
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
	i18nmsg_set_add(s, "ab %s bb %s bb %s bb %s bb %s bb %s bb %s cc", "甲");
	char text[4096];
	size_t n = 0;
	text[n++] = 'a';
	text[n++] = 'b';
	text[n++] = ' ';
	while (n < sizeof text - 8) {
		text[n++] = ' ';
		text[n++] = 'b';
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

/* ---- every format of the real catalog, round trip ---- */

/* f with each conversion replaced by the sample of its argument: the
 * English formats number their arguments in order (a '*' takes one), the
 * translations may name them (%2$s). */
static void fill(const char *f, char vals[][16], char *out, size_t cap)
{
	size_t o = 0;
	int seq = 0;
	while (*f && o + 20 < cap) {
		if (*f != '%') {
			out[o++] = *f++;
			continue;
		}
		if (f[1] == '%') {
			out[o++] = '%';
			f += 2;
			continue;
		}
		const char *p = f + 1;
		int pos = 0;
		const char *q = p;
		while (*q >= '0' && *q <= '9')
			pos = pos * 10 + (*q++ - '0');
		if (*q == '$' && q > p)
			p = q + 1;
		else
			pos = 0;
		p += strspn(p, "-+ #0'");
		for (int part = 0; part < 2; part++) {
			if (*p == '*') {
				p++;
				q = p;
				while (*q >= '0' && *q <= '9')
					q++;
				if (*q == '$' && q > p)
					p = q + 1;
				else
					seq++;
			} else {
				p += strspn(p, "0123456789");
			}
			if (part == 0 && *p == '.')
				p++;
			else
				break;
		}
		p += strspn(p, "hlLqjzt");
		int arg = pos ? pos - 1 : seq++;
		size_t n = strlen(vals[arg]);
		memcpy(out + o, vals[arg], n);
		o += n;
		f = p + 1;
	}
	out[o] = 0;
}

/* One sample per argument of the English format, by its conversion: words
 * without spaces for %s (kept as they are), digits for numbers. */
static int samples(const char *f, char vals[][16], int max)
{
	int n = 0;
	for (const char *p = f; (p = strchr(p, '%')) != NULL;) {
		if (p[1] == '%') {
			p += 2;
			continue;
		}
		const char *c = p + 1 + strcspn(p + 1, "sdiuxXocfFgGeEp");
		for (const char *k = p + 1; k < c; k++)
			if (*k == '*' && n < max)
				vals[n++][0] = 0;
		if (n >= max)
			return -1;
		switch (*c) {
		case 's': snprintf(vals[n], 16, "w%dq", n); break;
		case 'x': case 'X': snprintf(vals[n], 16, "ab%d", n); break;
		case 'o': snprintf(vals[n], 16, "1%d", n % 8); break;
		case 'c': snprintf(vals[n], 16, "c"); break;
		case 'p': snprintf(vals[n], 16, "0x1%d", n); break;
		case 'd': case 'i': case 'u': snprintf(vals[n], 16, "4%d", n); break;
		default: snprintf(vals[n], 16, "2.%d", n); break;
		}
		n++;
		p = c + 1;
	}
	return n;
}

static void test_catalog_round_trip(void **state)
{
	(void)state;
	/* the process's LC_MESSAGES stays C: libc's own messages are English */
	assert_string_equal(strerror(ENOENT), "No such file or directory");
	const struct i18nmsg_set *cat = i18nmsg_global();
	size_t checked = 0, bad = 0;
	const char *en, *tr;
	for (size_t i = 0; i18nmsg_set_format(cat, i, &en, &tr); i++) {
		char vals[32][16], text[4096], want[4096];
		if (samples(en, vals, 32) < 0)
			continue;
		fill(en, vals, text, sizeof text);
		fill(tr, vals, want, sizeof want);
		char *got = i18nmsg_apply(cat, text);
		if (strcmp(got, want) != 0 && bad++ < 20)
			fprintf(stderr, "format \"%s\"\n  text %s\n  got  %s\n  want %s\n", en, text, got, want);
		free(got);
		checked++;
	}
	fprintf(stderr, "%zu formats of the catalog made, matched back and translated; %zu wrong\n", checked, bad);
	assert_true(checked > 300);   /* the engine's formats are in the catalog */
	assert_int_equal(bad, 0);
}

int main(void)
{
	/* the real catalog of the build tree, in Chinese */
	setenv("TALLY_LOCALEDIR", TALLY_TEST_LOCALEDIR, 1);
	setenv("LANG", "zh_CN.UTF-8", 1);
	unsetenv("LC_ALL");
	unsetenv("LC_MESSAGES");
	unsetenv("LANGUAGE");
	i18n_init();
	if (!strcmp(i18n_gettext("unknown key"), "unknown key")) {
		fprintf(stderr, "test_tui_i18nmsg: no zh_CN.UTF-8 locale (bash scripts/bootstrap generates it)\n");
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_and_formats),
		cmocka_unit_test(test_nested_and_prefix),
		cmocka_unit_test(test_specific_wins),
		cmocka_unit_test(test_no_match_stays),
		cmocka_unit_test(test_hostile_text_terminates),
		cmocka_unit_test(test_catalog_round_trip),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
