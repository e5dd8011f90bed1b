#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "version.h"

static int sign(int x)
{
	return (x > 0) - (x < 0);
}

static void test_valid_accepts(void **state)
{
	(void)state;
	static const char *const good[] = {
		"v3.8.1", "1.0.0", "_x", "0", "a", "A-b_c.d", "3.8.1-anolis", "latest",
		"1.0.0-rc.1", "v1.2.3-beta.11", "_", "9", "x--..__",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		if (!version_valid(good[i]))
			fail_msg("expected valid: \"%s\"", good[i]);
	}
}

static void test_valid_rejects_hostile(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"v9;touch$IFS/tmp/x",
		"../x",
		"",
		"-x",
		".x",
		"a b",
		"a\nb",
		"v1\n",
		"\n",
		"v1.0\t",
		"caf\xc3\xa9",
		"\xc3\xa9",
		"v1.0+build",
		"a/b",
		"a:b",
		"$(id)",
		"`id`",
		"a'b",
		"a\"b",
		"a\\b",
		"a\x7f",
		"a\x01",
		"v1\xff",
		"a{b}",
		"a*",
		"~1",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (version_valid(bad[i]))
			fail_msg("expected invalid: index %zu", i);
	}
	assert_false(version_valid(NULL));
}

static void test_valid_length(void **state)
{
	(void)state;
	char buf[200];
	memset(buf, 'a', sizeof buf);
	buf[128] = '\0';
	assert_true(version_valid(buf));
	buf[128] = 'a';
	buf[129] = '\0';
	assert_false(version_valid(buf));
	buf[127] = '\0';
	assert_true(version_valid(buf));
	/* The first byte counts toward 128 too. */
	memset(buf, '.', sizeof buf);
	buf[0] = '_';
	buf[128] = '\0';
	assert_true(version_valid(buf));
	buf[128] = '.';
	buf[129] = '\0';
	assert_false(version_valid(buf));
}

/* Every adjacent pair must be strictly increasing, and so must every pair
 * further apart, so the order is transitive on the chain. */
static void check_chain(const char *const *chain, size_t n, enum version_order order)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < n; j++) {
			int want = (i > j) - (i < j);
			int got = sign(version_compare(chain[i], chain[j], order));
			if (got != want)
				fail_msg("%s: compare(\"%s\", \"%s\") = %d, want %d",
					 order == ORDER_SEMVER ? "semver" : "version", chain[i], chain[j],
					 got, want);
		}
	}
}

static void test_semver_spec_chain(void **state)
{
	(void)state;
	static const char *const chain[] = {
		"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
		"1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0",
	};
	check_chain(chain, sizeof chain / sizeof chain[0], ORDER_SEMVER);
}

static void test_semver_core(void **state)
{
	(void)state;
	static const char *const chain[] = {
		"0.0.0", "0.0.1", "0.1.0", "0.9.99", "1.0.0", "1.9.0", "1.10.0", "1.11.0",
		"2.0.0", "v3.8.1", "v3.8.10", "v3.9.9", "v3.10.0", "10.0.0",
		"99999999999999999999999.0.0", "100000000000000000000000.0.0",
	};
	check_chain(chain, sizeof chain / sizeof chain[0], ORDER_SEMVER);
}

static void test_semver_prerelease_rules(void **state)
{
	(void)state;
	/* numeric identifiers numerically, numeric below alphanumeric,
	 * alphanumerics in ASCII order (upper case before lower), more
	 * fields higher when the rest are equal */
	static const char *const chain[] = {
		"1.0.0-0", "1.0.0-1", "1.0.0-2", "1.0.0-10", "1.0.0-10.0", "1.0.0-10.a",
		"1.0.0--", "1.0.0-0a", "1.0.0-A", "1.0.0-Z", "1.0.0-a", "1.0.0-a.1",
		"1.0.0-a.1.1", "1.0.0-a.2", "1.0.0-a.b", "1.0.0-aa", "1.0.0-b", "1.0.0",
	};
	check_chain(chain, sizeof chain / sizeof chain[0], ORDER_SEMVER);
}

static void test_semver_equal(void **state)
{
	(void)state;
	/* build metadata and one leading 'v' do not count */
	assert_int_equal(version_compare("1.0.0+a", "1.0.0+b", ORDER_SEMVER), 0);
	assert_int_equal(version_compare("1.0.0", "1.0.0+20130313144700", ORDER_SEMVER), 0);
	assert_int_equal(version_compare("v1.2.3", "1.2.3", ORDER_SEMVER), 0);
	assert_int_equal(version_compare("v1.2.3-rc.1+x", "1.2.3-rc.1", ORDER_SEMVER), 0);
	assert_int_equal(version_compare("1.0.0-beta+exp.sha.5114f85", "1.0.0-beta", ORDER_SEMVER),
			 0);
	/* build metadata may have leading zeros, the pre-release may not */
	assert_int_equal(version_compare("1.0.0+001", "1.0.0", ORDER_SEMVER), 0);
	assert_true(version_compare("1.0.0-rc.1+b", "1.0.0+a", ORDER_SEMVER) < 0);
}

static void test_semver_nonsemver_first(void **state)
{
	(void)state;
	/* Non-SemVer strings sort below every SemVer string, and among
	 * themselves by strverscmp. */
	static const char *const non[] = {
		"01.0.0", "1.0", "1.0.0.0", "1.01.0", "2", "latest", "vv1.0.0", "V1.0.0",
		"1.0.0-", "1.0.0+", "1.0.0-a..b", "1.0.0-01", "1.0.0-rc.01", "", "999.999",
		"1.0.0-rc 1", "-1.0.0",
	};
	static const char *const sem[] = {
		"0.0.0-alpha", "0.0.0", "1.0.0", "1.0.0-rc.1", "v0.0.1", "0.0.0+01", "1.0.0-x-y",
	};
	size_t nn = sizeof non / sizeof non[0], ns = sizeof sem / sizeof sem[0];
	for (size_t i = 0; i < nn; i++) {
		for (size_t j = 0; j < ns; j++) {
			if (version_compare(non[i], sem[j], ORDER_SEMVER) >= 0 ||
			    version_compare(sem[j], non[i], ORDER_SEMVER) <= 0)
				fail_msg("\"%s\" should sort before \"%s\"", non[i], sem[j]);
		}
		for (size_t j = 0; j < nn; j++) {
			int want = sign(strverscmp(non[i], non[j]));
			if (sign(version_compare(non[i], non[j], ORDER_SEMVER)) != want)
				fail_msg("\"%s\" vs \"%s\" is not strverscmp order", non[i], non[j]);
		}
	}
	/* strverscmp order among the non-SemVer ones */
	assert_true(version_compare("1.9", "1.10", ORDER_SEMVER) < 0);
	assert_true(version_compare("release-2", "release-10", ORDER_SEMVER) < 0);
	assert_true(version_compare("1.0.0-01", "1.0.0-alpha", ORDER_SEMVER) < 0);
	assert_true(version_compare("1.0.0-", "0.0.1", ORDER_SEMVER) < 0);
	assert_true(version_compare("1.0.0+", "0.0.1", ORDER_SEMVER) < 0);
	assert_true(version_compare("1.0.0-a..b", "0.0.1", ORDER_SEMVER) < 0);
	assert_true(version_compare("V1.0.0", "0.0.1", ORDER_SEMVER) < 0);
	assert_int_equal(version_compare("latest", "latest", ORDER_SEMVER), 0);
}

static void test_version_order(void **state)
{
	(void)state;
	static const char *const chain[] = {
		"v3.8.1", "v3.8.2", "v3.8.9", "v3.8.10", "v3.9.9", "v3.10.0", "v10.0.0",
	};
	check_chain(chain, sizeof chain / sizeof chain[0], ORDER_VERSION);
	check_chain(chain, sizeof chain / sizeof chain[0], ORDER_SEMVER);
	assert_true(version_compare("v3.8.1", "v3.8.10", ORDER_VERSION) < 0);
	assert_true(version_compare("v3.8.1", "v3.8.10", ORDER_SEMVER) < 0);
	assert_true(version_compare("v3.10.0", "v3.9.9", ORDER_VERSION) > 0);
	assert_true(version_compare("v3.10.0", "v3.9.9", ORDER_SEMVER) > 0);
	/* ORDER_VERSION is strverscmp where no pre-release is involved */
	static const char *const pairs[][2] = {
		{"1.0", "1.0.1"}, {"7.0.5", "7.0.14"}, {"a", "b"}, {"v3.8.3-patch.9", "v3.8.3"},
		{"000", "00"}, {"1.2", "1.2"}, {"4.4.29", "5.0.0"}, {"7.0.12-jammy", "7.0.12"},
		{"v3.8.3-patch.10", "v3.8.3-patch.9"}, {"1.0.0-rc1", "1.0.0-rc2"},
	};
	for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
		int want = sign(strverscmp(pairs[i][0], pairs[i][1]));
		assert_int_equal(sign(version_compare(pairs[i][0], pairs[i][1], ORDER_VERSION)),
				 want);
	}
}

/* a pre-release sorts below its own release, whatever the spelling */
static void test_version_order_prerelease(void **state)
{
	(void)state;
	static const char *const chain[] = {
		"v3.8.3", "v3.8.3-patch.1", "v3.8.3-patch.9", "v3.8.3-patch.10", "v3.9.0-alpha.1",
		"v3.9.0-beta.2", "v3.9.0-rc.1", "v3.9.0-rc.2", "v3.9.0", "v3.9.0-patch.1", "v3.9.1",
	};
	check_chain(chain, sizeof chain / sizeof chain[0], ORDER_VERSION);
	static const char *const chat[] = {
		"v1.2.9", "v1.3.0.beta.1", "v1.3.0.rc.0", "v1.3.0", "v1.3.1.beta.1", "v1.3.1",
	};
	check_chain(chat, sizeof chat / sizeof chat[0], ORDER_VERSION);
	static const char *const hub[] = {
		"7.0.12", "8.0-rc", "8.0.0-rc1", "8.0.0-rc3", "8.0.0",
	};
	check_chain(hub, sizeof hub / sizeof hub[0], ORDER_VERSION);
	assert_true(version_compare("1.0.0-rc1", "1.0.0", ORDER_VERSION) < 0);
	assert_true(version_compare("8.0-rc-jammy", "8.0", ORDER_VERSION) < 0);
	assert_int_equal(version_compare("v2.0.0-rc1", "v2.0.0-rc1", ORDER_VERSION), 0);
	assert_true(version_compare("rc1", "1.0", ORDER_VERSION) != 0);
}

static void test_prerelease(void **state)
{
	(void)state;
	static const char *const pre[] = {
		"v1.2.0-rc.1", "v1.2.0-beta2", "1.0-alpha", "1.0-ALPHA", "2.0-RC1", "3.1-pre",
		"3.1-dev", "3.1-dev.5", "v1-rc", "1.0.0-alpha.beta", "v1.2.0-rc1-anolis",
		"1.0.0-alpha+build", "foo-beta.1.2",
		/* spellings from real tag lists (SPEC section 5) */
		"v1.3.0.rc.0", "v1.3.1.beta.1", "8.0-rc-jammy", "v2.0.0-rc1", "8.0.0-rc3",
		"7.0-rc-windowsservercore-ltsc2022", "1.0.rc1", "1.0-rc-1", "1.0-alpha-anolis",
		"1.0-preview", "1.0-preview3", "2.0_beta2", "2.0+nightly", "3.0-snapshot",
		"3.0-SNAPSHOT", "4.0.0-canary.12", "5.0-nightly.20240101", "rc1", "v3.8.0-rc.1",
		"7.4-rc2-alpine3.19", "1.0-pre.2",
	};
	static const char *const rel[] = {
		"v1.2.0", "1.0", "v3.8.1", "1.0.0+build", "1.0-devel", "betamax", "",
		"1.0.0-anolis", "7.0.5-jammy", "1.0.0-0", "v1.0.0-x.7.z.92", "1.0.0-rcx",
		"v3.8.3-patch.9", "v1.8.4-patch.2", "7.2.4-alpine3.19", "7.0.12-nanoserver",
		"7.0.4-windowsservercore-ltsc2022", "8.8-anolis", "1.0-prerelease", "1.0-rc1x",
		"1.0-developer", "2.0-rcs", "1.0-x2rc", "1.0.0-beta2a",
	};
	for (size_t i = 0; i < sizeof pre / sizeof pre[0]; i++)
		if (!version_is_prerelease(pre[i]))
			fail_msg("expected pre-release: \"%s\"", pre[i]);
	for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++)
		if (version_is_prerelease(rel[i]))
			fail_msg("expected release: \"%s\"", rel[i]);
	assert_false(version_is_prerelease(NULL));
}

static void test_alias(void **state)
{
	(void)state;
	static const char *const alias[] = {
		"latest", "stable", "xenial", "rc-alpine", "jammy", "windowsservercore", "nanoserver",
		"alpine", "bookworm", "edge", "_", "a-b_c.d",
	};
	static const char *const ver[] = {
		"7.0", "v3.8.1", "windowsservercore-ltsc2022", "alpine3.19", "8.0-rc-jammy", "0",
		"rc1", "latest2",
	};
	for (size_t i = 0; i < sizeof alias / sizeof alias[0]; i++)
		if (!version_is_alias(alias[i]))
			fail_msg("expected alias: \"%s\"", alias[i]);
	for (size_t i = 0; i < sizeof ver / sizeof ver[0]; i++)
		if (version_is_alias(ver[i]))
			fail_msg("expected not an alias: \"%s\"", ver[i]);
	assert_true(version_is_alias(NULL));

	/* an alias never passes the filter, even without include/exclude */
	struct vfilter f;
	assert_int_equal(vfilter_init(&f, NULL, NULL, 1, "c", NULL), 0);
	assert_false(vfilter_accept(&f, "latest"));
	assert_false(vfilter_accept(&f, "xenial"));
	assert_false(vfilter_accept(&f, "rc-alpine"));
	assert_true(vfilter_accept(&f, "7.0-rc-jammy"));   /* prerelease = true */
	vfilter_free(&f);
}

static void test_order_parse(void **state)
{
	(void)state;
	enum version_order o = ORDER_SEMVER;
	assert_int_equal(version_order_parse("version", &o), 0);
	assert_int_equal(o, ORDER_VERSION);
	assert_int_equal(version_order_parse("semver", &o), 0);
	assert_int_equal(o, ORDER_SEMVER);
	assert_int_equal(version_order_parse("SemVer2", &o), -1);
	assert_int_equal(version_order_parse("", &o), -1);
	assert_int_equal(version_order_parse(NULL, &o), -1);
	assert_int_equal(o, ORDER_SEMVER);
}

static void test_vfilter(void **state)
{
	(void)state;
	struct vfilter f;
	struct tally_err err = {0};

	assert_int_equal(vfilter_init(&f, "^v[0-9]+\\.[0-9]+\\.[0-9]+", "^v3\\.9\\.", 0,
				      "tally.conf: component.server", &err),
			 0);
	assert_true(vfilter_accept(&f, "v3.8.1"));
	assert_true(vfilter_accept(&f, "v3.8.1-anolis2"));      /* a flavour, not a pre-release */
	assert_false(vfilter_accept(&f, "v3.9.0"));              /* excluded */
	assert_false(vfilter_accept(&f, "3.8.1"));               /* not included */
	assert_false(vfilter_accept(&f, "v3.8.2-rc.1"));          /* pre-release */
	assert_false(vfilter_accept(&f, "v3.8.1;id"));            /* grammar */
	assert_false(vfilter_accept(&f, NULL));
	vfilter_free(&f);

	assert_int_equal(vfilter_init(&f, "^v[0-9]", NULL, 1, "c", &err), 0);
	assert_true(vfilter_accept(&f, "v3.8.2-rc.1"));
	assert_true(vfilter_accept(&f, "v1.0-beta2"));
	assert_false(vfilter_accept(&f, "x1"));
	vfilter_free(&f);

	/* no regexes: only the grammar and the pre-release rule */
	assert_int_equal(vfilter_init(&f, NULL, NULL, 0, "c", &err), 0);
	assert_true(vfilter_accept(&f, "anything_1"));
	assert_false(vfilter_accept(&f, "anything"));   /* no digit: an alias */
	assert_false(vfilter_accept(&f, "1.0-dev"));
	assert_false(vfilter_accept(&f, "../x"));
	assert_false(vfilter_accept(&f, ""));
	vfilter_free(&f);
	vfilter_free(&f); /* idempotent */
}

static void test_vfilter_bad_regex(void **state)
{
	(void)state;
	struct vfilter f;
	struct tally_err err = {0};

	assert_int_equal(vfilter_init(&f, "^v(", NULL, 0, "tally.conf: component.server.include",
				      &err),
			 -1);
	assert_int_equal(err.cls, TC_INPUT);
	assert_non_null(strstr(err.msg, "tally.conf: component.server.include"));
	assert_non_null(strstr(err.msg, "^v("));
	/* regerror's text for an open parenthesis */
	regex_t re;
	int rc = regcomp(&re, "^v(", REG_EXTENDED | REG_NOSUB);
	assert_int_not_equal(rc, 0);
	char why[256];
	regerror(rc, &re, why, sizeof why);
	assert_non_null(strstr(err.msg, why));

	/* a bad exclude after a good include leaks nothing (ASan checks) */
	tally_err_clear(&err);
	assert_int_equal(vfilter_init(&f, "^v", "[z-a]", 0, "ctx-x", &err), -1);
	assert_non_null(strstr(err.msg, "ctx-x"));
	assert_non_null(strstr(err.msg, "exclude"));
	assert_false(f.has_include);
	assert_false(f.has_exclude);
	vfilter_free(&f);

	assert_int_equal(vfilter_init(&f, "a{1", NULL, 0, "c", NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_accepts),
		cmocka_unit_test(test_valid_rejects_hostile),
		cmocka_unit_test(test_valid_length),
		cmocka_unit_test(test_semver_spec_chain),
		cmocka_unit_test(test_semver_core),
		cmocka_unit_test(test_semver_prerelease_rules),
		cmocka_unit_test(test_semver_equal),
		cmocka_unit_test(test_semver_nonsemver_first),
		cmocka_unit_test(test_version_order),
		cmocka_unit_test(test_version_order_prerelease),
		cmocka_unit_test(test_prerelease),
		cmocka_unit_test(test_alias),
		cmocka_unit_test(test_order_parse),
		cmocka_unit_test(test_vfilter),
		cmocka_unit_test(test_vfilter_bad_regex),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
