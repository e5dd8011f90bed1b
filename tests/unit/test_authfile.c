/* test_authfile.c - the registry auth file: the containers-auth.json(5)
 * search order, the parser (auths in every shape buildah, podman, skopeo
 * and docker write them, namespaces, bad input), and credHelpers /
 * credsStore through real helper scripts run by the runner. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authfile.h"
#include "util.h"

struct env {
	char dir[64];
	char *old_path;
};

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void mkdirs(const char *p)
{
	assert_int_equal(util_mkdirs(p, 0700, NULL), 0);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static const char *const vars[] = {
	"REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "DOCKER_CONFIG", "HOME",
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof *e);
	snprintf(e->dir, sizeof e->dir, "/tmp/tally-authfile-XXXXXX");
	if (!mkdtemp(e->dir))
		return -1;
	for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
		unsetenv(vars[i]);
	char *home = xasprintf("%s/home", e->dir);
	mkdirs(home);
	setenv("HOME", home, 1);
	free(home);
	e->old_path = xstrdup(getenv("PATH"));
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	nftw(e->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	setenv("PATH", e->old_path, 1);
	free(e->old_path);
	free(e);
	return 0;
}

static char *at(const struct env *e, const char *rel)
{
	return xasprintf("%s/%s", e->dir, rel);
}

static void touch(const struct env *e, const char *rel)
{
	char *p = at(e, rel);
	char *d = xstrdup(p);
	*strrchr(d, '/') = '\0';
	mkdirs(d);
	write_file(p, "{}");
	free(d);
	free(p);
}

static void expect_found(const struct env *e, const char *rel)
{
	char *got = authfile_find(NULL);
	char *want = rel ? at(e, rel) : NULL;
	if (!want) {
		if (got)
			fail_msg("found %s, want none", got);
	} else if (!got || strcmp(got, want) != 0) {
		fail_msg("found %s, want %s", got ? got : "(none)", want);
	}
	free(got);
	free(want);
}

/* containers-auth.json(5): the first that exists, in this order */
static void test_search_order(void **state)
{
	struct env *e = *state;
	char *v;
	setenv("REGISTRY_AUTH_FILE", (v = at(e, "explicit/auth.json")), 1);
	free(v);
	setenv("XDG_RUNTIME_DIR", (v = at(e, "run")), 1);
	free(v);
	setenv("DOCKER_CONFIG", (v = at(e, "dockercfg")), 1);
	free(v);

	expect_found(e, NULL);
	/* every later file is found when the earlier ones are missing */
	touch(e, "home/.docker/config.json");
	expect_found(e, "home/.docker/config.json");
	touch(e, "dockercfg/config.json");
	expect_found(e, "dockercfg/config.json");
	touch(e, "home/.config/containers/auth.json");   /* XDG_CONFIG_HOME unset: ~/.config */
	expect_found(e, "home/.config/containers/auth.json");
	setenv("XDG_CONFIG_HOME", (v = at(e, "xdgconfig")), 1);
	free(v);
	expect_found(e, "dockercfg/config.json");         /* ~/.config no longer counts */
	touch(e, "xdgconfig/containers/auth.json");
	expect_found(e, "xdgconfig/containers/auth.json");
	touch(e, "run/containers/auth.json");
	expect_found(e, "run/containers/auth.json");
	touch(e, "explicit/auth.json");
	expect_found(e, "explicit/auth.json");

	/* an empty variable is unset; a directory is not a file */
	setenv("REGISTRY_AUTH_FILE", "", 1);
	expect_found(e, "run/containers/auth.json");
	v = at(e, "run/containers/auth.json");
	remove(v);
	mkdirs(v);
	free(v);
	expect_found(e, "xdgconfig/containers/auth.json");

	/* registry.authFile wins, whether it exists or not; ~/ is HOME */
	char *got = authfile_find("/nonexistent/auth.json");
	assert_string_equal(got, "/nonexistent/auth.json");
	free(got);
	got = authfile_find("~/my/auth.json");
	v = at(e, "home/my/auth.json");
	assert_string_equal(got, v);
	free(v);
	free(got);
}

/* What commands get when no file exists: where `buildah login` writes. */
static void test_for_commands(void **state)
{
	struct env *e = *state;
	char *v, *got;
	setenv("XDG_RUNTIME_DIR", (v = at(e, "run")), 1);
	free(v);
	got = authfile_for_commands(NULL);
	v = at(e, "run/containers/auth.json");
	assert_string_equal(got, v);
	free(v);
	free(got);
	unsetenv("XDG_RUNTIME_DIR");
	got = authfile_for_commands(NULL);
	v = xasprintf("/run/containers/%u/auth.json", (unsigned)getuid());
	assert_string_equal(got, v);
	free(v);
	free(got);
	touch(e, "home/.docker/config.json");
	got = authfile_for_commands(NULL);
	v = at(e, "home/.docker/config.json");
	assert_string_equal(got, v);
	free(v);
	free(got);
	got = authfile_for_commands("/etc/tally/auth.json");
	assert_string_equal(got, "/etc/tally/auth.json");
	free(got);
}

static struct authfile *load(const struct env *e, const char *json)
{
	char *p = at(e, "auth.json");
	write_file(p, json);
	struct authfile *af = NULL;
	struct tally_err err = {0};
	if (authfile_load(p, &af, &err) < 0)
		fail_msg("load: %s", err.msg);
	assert_string_equal(authfile_path(af), p);
	assert_true(authfile_exists(af));
	free(p);
	return af;
}

/* host, name -> "user:pass" or "token:T" or "" (none) */
static void expect_cred(struct authfile *af, const char *host, const char *name, const char *want)
{
	struct authfile_cred c;
	struct tally_err err = {0};
	if (authfile_lookup(af, host, name, &c, &err) < 0)
		fail_msg("lookup %s %s: %s", host, name ? name : "-", err.msg);
	char got[256] = "";
	if (c.identity_token)
		snprintf(got, sizeof got, "token:%s", c.identity_token);
	else if (c.user)
		snprintf(got, sizeof got, "%s:%s", c.user, c.pass);
	if (strcmp(got, want) != 0)
		fail_msg("lookup %s %s: got \"%s\", want \"%s\"", host, name ? name : "-", got, want);
	authfile_cred_clear(&c);
}

static void test_auths_shapes(void **state)
{
	struct env *e = *state;
	/* YWxpY2U6czNjcjN0 = alice:s3cr3t, Ym9iOmh1bnRlcjI= = bob:hunter2,
	 * Y2Fyb2w6cHc6d2l0aDpjb2xvbnM = carol:pw:with:colons (no padding) */
	struct authfile *af = load(e,
		"{\"auths\": {"
		" \"registry.example:5000\": {\"auth\": \"YWxpY2U6czNjcjN0\"},"
		" \"https://index.docker.io/v1/\": {\"auth\": \"Ym9iOmh1bnRlcjI=\"},"
		" \"http://legacy.example/v2/\": {\"auth\": \"Y2Fyb2w6cHc6d2l0aDpjb2xvbnM\"},"
		" \"plain.example\": {\"username\": \"dave\", \"password\": \"pw\"},"
		" \"tok.example\": {\"auth\": \"PHRva2VuPjo=\", \"identitytoken\": \"refresh-1\"},"
		" \"ns.example\": {\"auth\": \"YWxpY2U6czNjcjN0\"},"
		" \"ns.example/team\": {\"auth\": \"Ym9iOmh1bnRlcjI=\"},"
		" \"ns.example/team/app\": {\"username\": \"app\", \"password\": \"apppw\"},"
		" \"empty.example\": {},"
		" \"UPPER.Example\": {\"username\": \"u\", \"password\": \"p\"}"
		"}}");
	expect_cred(af, "registry.example:5000", "x/y", "alice:s3cr3t");
	expect_cred(af, "registry.example", "x/y", "");                /* the port is part of the key */
	expect_cred(af, "registry-1.docker.io", "library/redis", "bob:hunter2");
	expect_cred(af, "legacy.example", "a", "carol:pw:with:colons");
	expect_cred(af, "plain.example", NULL, "dave:pw");
	expect_cred(af, "tok.example", "a", "token:refresh-1");
	/* namespaces: the most specific key that is a prefix at a '/' */
	expect_cred(af, "ns.example", "team/app", "app:apppw");
	expect_cred(af, "ns.example", "team/app/sub", "app:apppw");
	expect_cred(af, "ns.example", "team/other", "bob:hunter2");
	expect_cred(af, "ns.example", "teamster/app", "alice:s3cr3t");
	expect_cred(af, "ns.example", "solo", "alice:s3cr3t");
	expect_cred(af, "empty.example", "a", "");
	expect_cred(af, "upper.example", "a", "u:p");
	expect_cred(af, "unknown.example", "a", "");
	authfile_free(af);

	/* "docker.io" is the Hub too */
	af = load(e, "{\"auths\": {\"docker.io\": {\"auth\": \"YWxpY2U6czNjcjN0\"}}, \"HttpHeaders\": {}}");
	expect_cred(af, "registry-1.docker.io", "library/mongo", "alice:s3cr3t");
	authfile_free(af);

	/* no file: no credentials, not an error */
	struct authfile *none = NULL;
	struct tally_err err = {0};
	char *p = at(e, "missing.json");
	assert_int_equal(authfile_load(p, &none, &err), 0);
	assert_false(authfile_exists(none));
	expect_cred(none, "registry.example:5000", "a", "");
	authfile_free(none);
	free(p);
}

static void expect_bad(const struct env *e, const char *json, const char *want, const char *secret)
{
	char *p = at(e, "bad.json");
	write_file(p, json);
	struct authfile *af = NULL;
	struct tally_err err = {0};
	if (authfile_load(p, &af, &err) == 0)
		fail_msg("accepted %s", json);
	assert_null(af);
	assert_int_equal(err.cls, TC_INPUT);
	if (!strstr(err.msg, p))
		fail_msg("message does not name the file: %s", err.msg);
	if (want && !strstr(err.msg, want))
		fail_msg("message lacks \"%s\": %s", want, err.msg);
	if (secret && strstr(err.msg, secret))
		fail_msg("message quotes the secret: %s", err.msg);
	free(p);
}

static void test_bad_input(void **state)
{
	struct env *e = *state;
	expect_bad(e, "{\"auths\": {\"h\": {\"auth\": \"c2VjcmV0LXBhc3M\"\n", "not valid JSON", "c2VjcmV0");
	expect_bad(e, "[]", "not a JSON object", NULL);
	expect_bad(e, "{\"auths\": []}", "\"auths\"", NULL);
	expect_bad(e, "{\"auths\": {\"h\": \"x\"}}", "\"h\"", NULL);
	expect_bad(e, "{\"auths\": {\"h\": {\"auth\": \"!!!notbase64\"}}}", "\"h\"", "notbase64");
	/* base64 of "nocolon" */
	expect_bad(e, "{\"auths\": {\"h\": {\"auth\": \"bm9jb2xvbg==\"}}}", "user:password", "bm9jb2xvbg");
	expect_bad(e, "{\"auths\": {\"h\": {\"username\": \"u\"}}}", "\"h\"", NULL);
	expect_bad(e, "{\"auths\": {\"h\": {\"username\": \"u\", \"password\": \"a\\nb\"}}}", "\"h\"", NULL);
	expect_bad(e, "{\"credHelpers\": {\"h\": \"../../bin/sh\"}}", "credHelpers", NULL);
	expect_bad(e, "{\"credHelpers\": {\"h\": 3}}", "credHelpers", NULL);
	expect_bad(e, "{\"credHelpers\": []}", "credHelpers", NULL);
	expect_bad(e, "{\"credsStore\": \"a b\"}", "credsStore", NULL);
}

/* A helper script in the temp dir, first on PATH. */
static void helper(const struct env *e, const char *name, const char *body)
{
	char *bin = at(e, "bin");
	mkdirs(bin);
	char *p = xasprintf("%s/docker-credential-%s", bin, name);
	char *text = xasprintf("#!/bin/sh\n%s\n", body);
	write_file(p, text);
	chmod(p, 0755);
	char *path = xasprintf("%s:%s", bin, e->old_path);
	setenv("PATH", path, 1);
	free(path);
	free(text);
	free(p);
	free(bin);
}

static void test_helpers(void **state)
{
	struct env *e = *state;
	char *calls = at(e, "calls");
	char *body = xasprintf(
		"[ \"$1\" = get ] || exit 9\n"
		"read -r host\n"
		"echo \"$host\" >>%s\n"
		"case $host in\n"
		"reg.example:5000) echo '{\"ServerURL\":\"reg.example:5000\",\"Username\":\"hal\",\"Secret\":\"h3lp\"}' ;;\n"
		"tok.example) echo 'a warning on stderr' >&2; echo '{\"Username\":\"<token>\",\"Secret\":\"idtok\"}' ;;\n"
		"https://index.docker.io/v1/) echo '{\"Username\":\"hub\",\"Secret\":\"hubpw\"}' ;;\n"
		"*) echo 'credentials not found in native keychain'; exit 1 ;;\n"
		"esac", calls);
	helper(e, "test", body);
	free(body);
	helper(e, "broken", "echo 'the keyring is locked' >&2\nexit 3");
	helper(e, "liar", "echo '{\"Username\":\"x\"}'");

	struct authfile *af = load(e,
		"{\"auths\": {\"reg.example:5000\": {\"auth\": \"YWxpY2U6czNjcjN0\"},"
		"             \"file.example\": {\"auth\": \"YWxpY2U6czNjcjN0\"}},"
		" \"credHelpers\": {\"reg.example:5000\": \"test\", \"tok.example\": \"test\","
		"                   \"locked.example\": \"broken\", \"liar.example\": \"liar\","
		"                   \"gone.example\": \"nosuchhelper\"},"
		" \"credsStore\": \"test\"}");
	/* credHelpers win over an auths entry for the same host */
	expect_cred(af, "reg.example:5000", "a", "hal:h3lp");
	expect_cred(af, "reg.example:5000", "b", "hal:h3lp");   /* asked once per host */
	expect_cred(af, "tok.example", "a", "token:idtok");
	/* an auths entry, then credsStore for the rest */
	expect_cred(af, "file.example", "a", "alice:s3cr3t");
	expect_cred(af, "registry-1.docker.io", "library/redis", "hub:hubpw");
	expect_cred(af, "other.example", "a", "");               /* "credentials not found" */

	struct sbuf sb = {0};
	assert_int_equal(util_read_file(calls, &sb, NULL), 0);
	assert_string_equal(sb.buf, "reg.example:5000\ntok.example\nhttps://index.docker.io/v1/\nother.example\n");
	sbuf_free(&sb);

	struct authfile_cred c;
	struct tally_err err = {0};
	const char *bad[][2] = {
		{"locked.example", "docker-credential-broken get"},
		{"liar.example", "docker-credential-liar get"},
		{"gone.example", "docker-credential-nosuchhelper"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(authfile_lookup(af, bad[i][0], "a", &c, &err), -1);
		assert_int_equal(err.cls, TC_AUTH);
		if (!strstr(err.msg, bad[i][1]) || !strstr(err.msg, authfile_path(af)) ||
		    !strstr(err.msg, bad[i][0]))
			fail_msg("helper failure message lacks the helper, file or host: %s", err.msg);
		assert_null(c.user);
	}
	/* the last one: the runner's own words for a program not on PATH */
	assert_non_null(strstr(err.msg, "not found in PATH"));
	authfile_free(af);
	free(calls);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_search_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_for_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auths_shapes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_helpers, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
