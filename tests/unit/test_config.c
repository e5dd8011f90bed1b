#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <ftw.h>
#include <sys/stat.h>

#include <git2.h>

#include "config.h"
#include "hostname.h"

static const char spec_example[] =
	"[tally]\n"
	"\tgitPush = true\n"
	"\tparallelBuilds = 2\n"
	"\tschedule = 0 2 * * *            # cron, 5 fields, UTC\n"
	"\tnotify = /usr/local/bin/tally-mail\n"
	"[registry]\n"
	"\tprefix = registry.cn-hangzhou.aliyuncs.com/aspirin2019\n"
	"[component \"server\"]\n"
	"\tfile = server-versions.txt\n"
	"\tupstream = github-release openimsdk/open-im-server\n"
	"\tinclude = ^v[0-9]+\\\\.[0-9]+\\\\.[0-9]+\n"
	"\timage = {prefix}/openim-server\n"
	"\ttag = {version}-anolis\n"
	"\tfloatingTag = latest-anolis\n"
	"\tbuild = buildah build --build-arg OPENIM_VERSION={version} -t {ref} -f "
	"dockerfiles/anolis/Dockerfile.openim-server .\n"
	"\trecipe = dockerfiles/anolis/Dockerfile.openim-server\n"
	"\trecordAlso = .env:OPENIM_SERVER_VERSION={version}-anolis\n"
	"[component \"mongodb\"]\n"
	"\tfile = base-versions.txt\n"
	"\tupstream = file-regex https://raw.githubusercontent.com/openimsdk/open-im-server/main/"
	"docker-compose.yml\n"
	"\tmatch = image: mongo:([0-9.]+)\n"
	"\tschedule = 0 3 * * 1\n"
	"\timage = {prefix}/mongodb\n"
	"\ttag = {version}-anolis\n"
	"\tbuild = buildah build --build-arg MONGO_VERSION={version} -t {ref} -f "
	"dockerfiles/anolis/Dockerfile.mongodb dockerfiles/anolis\n";

/* A minimal valid component, for configs that test one thing. */
#define COMP_A "[component \"a\"]\n\tfile = a.txt\n\tupstream = manual\n\tbuild = make {ref}\n"

static struct tally_conf *load_ok(const char *text)
{
	struct tally_conf *c = NULL;
	struct tally_err err = {0};
	if (config_load_buffer("tally.conf", text, strlen(text), &c, &err) < 0)
		fail_msg("load failed: %s\n--- config ---\n%s", err.msg, text);
	assert_non_null(c);
	return c;
}

/* The load must fail with a message that starts with want (file:line: key)
 * and contains frag. */
static void load_bad(const char *text, const char *want, const char *frag)
{
	struct tally_conf *c = (struct tally_conf *)1;
	struct tally_err err = {0};
	int rc = config_load_buffer("tally.conf", text, strlen(text), &c, &err);
	if (rc == 0) {
		config_free(c);
		fail_msg("expected failure \"%s\"\n--- config ---\n%s", want, text);
	}
	assert_null(c);
	assert_int_equal(err.cls, TC_INPUT);
	if (strncmp(err.msg, want, strlen(want)) != 0)
		fail_msg("message \"%s\" does not start with \"%s\"", err.msg, want);
	if (frag && !strstr(err.msg, frag))
		fail_msg("message \"%s\" does not contain \"%s\"", err.msg, frag);
	if (strstr(err.msg, "/tally-conf-"))
		fail_msg("message names the temporary file: \"%s\"", err.msg);
}

static void test_spec_example(void **state)
{
	(void)state;
	unsetenv("TALLY_GITHUB_API");
	struct tally_conf *c = load_ok(spec_example);

	assert_string_equal(c->path, "tally.conf");
	assert_int_equal(c->git_push, 1);
	assert_int_equal(c->parallel, 2);
	assert_string_equal(c->schedule, "0 2 * * *");
	assert_string_equal(c->notify, "/usr/local/bin/tally-mail");
	assert_string_equal(c->reg_prefix, "registry.cn-hangzhou.aliyuncs.com/aspirin2019");
	assert_int_equal(c->reg_insecure, 0);
	assert_null(c->reg_auth_file);
	/* Defaults of keys the example leaves out. */
	assert_null(c->state_dir);
	assert_null(c->group);
	assert_string_equal(c->remote, "origin");
	assert_null(c->branch);
	assert_string_equal(c->holds_file, "tally-holds.txt");
	assert_int_equal(c->log_keep, 50);
	assert_string_equal(c->author_name, "tally");
	assert_null(c->author_email);
	assert_string_equal(c->theme, "default");
	assert_string_equal(c->gh_api, "https://api.github.com");
	assert_null(c->gh_token_file);

	assert_int_equal(c->ncomps, 2);
	const struct comp_conf *s = &c->comps[0];
	assert_string_equal(s->name, "server");
	assert_string_equal(s->file, "server-versions.txt");
	assert_string_equal(s->key, "server");
	assert_string_equal(s->upstream, "github-release openimsdk/open-im-server");
	assert_string_equal(s->upstream_kind, "github-release");
	assert_string_equal(s->upstream_arg, "openimsdk/open-im-server");
	assert_string_equal(s->include, "^v[0-9]+\\.[0-9]+\\.[0-9]+");
	assert_null(s->exclude);
	assert_null(s->match);
	assert_int_equal(s->prerelease, 0);
	assert_int_equal(s->order, ORDER_VERSION);
	assert_string_equal(s->image, "{prefix}/openim-server");
	assert_int_equal(s->tags.n, 1);
	assert_string_equal(s->tags.v[0], "{version}-anolis");
	assert_int_equal(s->floating.n, 1);
	assert_string_equal(s->floating.v[0], "latest-anolis");
	assert_string_equal(s->build, "buildah build --build-arg OPENIM_VERSION={version} -t {ref} -f "
			    "dockerfiles/anolis/Dockerfile.openim-server .");
	assert_string_equal(s->push, CONFIG_DEFAULT_PUSH);
	assert_null(s->cleanup);
	assert_null(s->workdir);
	assert_int_equal(s->timeout, 3600);
	assert_null(s->schedule);
	assert_int_equal(s->recipes.n, 1);
	assert_string_equal(s->recipes.v[0], "dockerfiles/anolis/Dockerfile.openim-server");
	assert_int_equal(s->nrecord_also, 1);
	assert_string_equal(s->record_also[0].file, ".env");
	assert_string_equal(s->record_also[0].var, "OPENIM_SERVER_VERSION");
	assert_string_equal(s->record_also[0].tmpl, "{version}-anolis");

	const struct comp_conf *m = &c->comps[1];
	assert_string_equal(m->name, "mongodb");
	assert_string_equal(m->file, "base-versions.txt");
	assert_string_equal(m->key, "mongodb");
	assert_string_equal(m->upstream_kind, "file-regex");
	assert_string_equal(m->upstream_arg, "https://raw.githubusercontent.com/openimsdk/"
			    "open-im-server/main/docker-compose.yml");
	assert_string_equal(m->match, "image: mongo:([0-9.]+)");
	assert_string_equal(m->schedule, "0 3 * * 1");
	assert_string_equal(m->image, "{prefix}/mongodb");
	assert_int_equal(m->tags.n, 1);
	assert_string_equal(m->tags.v[0], "{version}-anolis");
	assert_int_equal(m->floating.n, 0);
	assert_int_equal(m->recipes.n, 0);
	assert_int_equal(m->nrecord_also, 0);

	assert_ptr_equal(config_find(c, "mongodb"), m);
	assert_ptr_equal(config_find(c, "server"), s);
	assert_null(config_find(c, "Server"));
	assert_null(config_find(c, "nope"));
	config_free(c);
}

static void test_defaults(void **state)
{
	(void)state;
	unsetenv("TALLY_GITHUB_API");
	struct tally_conf *c = load_ok(COMP_A);
	assert_int_equal(c->parallel, 1);
	assert_int_equal(c->git_push, 0);
	assert_string_equal(c->schedule, "0 2 * * *");
	assert_null(c->notify);
	assert_null(c->reg_prefix);
	assert_int_equal(c->ncomps, 1);
	const struct comp_conf *a = &c->comps[0];
	assert_string_equal(a->key, "a");
	assert_string_equal(a->upstream_kind, "manual");
	assert_string_equal(a->upstream_arg, "");
	assert_string_equal(a->image, "{prefix}/a");
	assert_int_equal(a->tags.n, 1);
	assert_string_equal(a->tags.v[0], "{version}");
	assert_string_equal(a->push, CONFIG_DEFAULT_PUSH);
	assert_int_equal(a->timeout, 3600);
	assert_int_equal(a->order, ORDER_VERSION);
	assert_string_equal(a->version_label, "org.opencontainers.image.version");
	config_free(c);
}

/* versionLabel: default, a custom label, and empty turns it off (the one
 * key where an empty value means something) */
static void test_version_label(void **state)
{
	(void)state;
	struct tally_conf *c = load_ok("[component \"a\"]\n\tfile = a.txt\n\tupstream = manual\n"
				       "\tbuild = make {ref}\n\tversionLabel = com.example.version\n"
				       "[component \"b\"]\n\tfile = b.txt\n\tupstream = manual\n"
				       "\tbuild = make {ref}\n\tversionLabel = \"\"\n"
				       "[component \"c\"]\n\tfile = c.txt\n\tupstream = manual\n"
				       "\tbuild = make {ref}\n\tVERSIONLABEL =\n");
	assert_string_equal(c->comps[0].version_label, "com.example.version");
	assert_string_equal(c->comps[1].version_label, "");
	assert_string_equal(c->comps[2].version_label, "");
	config_free(c);
	/* still an empty value elsewhere */
	load_bad("[component \"a\"]\n\tfile = a.txt\n\tupstream = manual\n\tbuild = make {ref}\n"
		 "\timage = \"\"\n",
		 "tally.conf:5: component.a.image", "empty value");
}

static void test_base_after(void **state)
{
	(void)state;
	struct tally_conf *c = load_ok(COMP_A "\tbase = reg.example/ns/anolis:8.8\n\tbase = none\n"
				       "[component \"b\"]\n\tfile = b.txt\n\tupstream = manual\n"
				       "\tbuild = make {ref}\n\tafter = a\n");
	assert_int_equal(c->comps[0].bases.n, 2);
	assert_string_equal(c->comps[0].bases.v[0], "reg.example/ns/anolis:8.8");
	assert_int_equal(c->comps[1].after.n, 1);
	assert_string_equal(c->comps[1].after.v[0], "a");
	config_free(c);
	load_bad(COMP_A "\tafter = nosuch\n", "tally.conf:1: component.a.after", "'nosuch' is not another component");
	load_bad(COMP_A "\tafter = a\n", "tally.conf:1: component.a.after", "'a' is not another component");
}

static void test_github_api_env(void **state)
{
	(void)state;
	setenv("TALLY_GITHUB_API", "http://127.0.0.1:9/api", 1);
	struct tally_conf *c = load_ok(COMP_A);
	assert_string_equal(c->gh_api, "http://127.0.0.1:9/api");
	config_free(c);
	/* The key in the file wins over the environment's default. */
	c = load_ok("[github]\n\tapiUrl = https://ghe.example/api/v3\n\ttokenFile = /t\n" COMP_A);
	assert_string_equal(c->gh_api, "https://ghe.example/api/v3");
	assert_string_equal(c->gh_token_file, "/t");
	config_free(c);
	unsetenv("TALLY_GITHUB_API");
}

static void test_all_keys(void **state)
{
	(void)state;
	struct tally_conf *c = load_ok(
		"[tally]\n"
		"\tstateDir = /var/lib/tally\n"
		"\tgroup = builders\n"
		"\tparallelBuilds = 4\n"
		"\tgitpush = yes\n"          /* key names are case-insensitive */
		"\tremote = upstream\n"
		"\tbranch = main\n"
		"\tholdsFile = ops/holds.txt\n"
		"\tnotify = curl -d '{\\\"text\\\": 1}' https://hook\n"
		"\tlogKeep = 7\n"
		"\tauthorName = Bot\n"
		"\tauthorEmail = bot@example.org\n"
		"\ttheme = mono\n"
		"[registry]\n"
		"\tinsecure\n"               /* no value: true */
		"\tauthFile = /run/auth.json\n"
		"[component \"x.y-1\"]\n"
		"\tfile = ./v/x.txt\n"
		"\tkey = X_VERSION\n"
		"\tupstream =   git-tags   /srv/up.git  \n"
		"\texclude = -rc\n"
		"\tprerelease = on\n"
		"\torder = semver\n"
		"\timage = \"{prefix}/x#y\"\n"
		"\ttag = {version}\n"
		"\ttag = {version}-a\n"
		"\tfloatingTag = latest\n"
		"\tFLOATINGTAG = stable\n"
		"\tbuild = sh -c 'make IMAGE={ref}'\n"
		"\tpush = skopeo copy --dest-tls-verify={tlsverify} containers-storage:{ref} "
		"docker://{ref}\n"
		"\tcleanup = buildah rmi {ref}\n"
		"\tworkdir = /srv/build\n"
		"\ttimeout = 60\n"
		"\trecipe = a\n"
		"\trecipe = b/c\n"
		"\trecordAlso = .env:X={version}\n"
		"\trecordAlso = sub/f.txt:Y=v{version}:{tag}\n"
		"[component \"b\"]\n"
		"\tfile = v/x.txt\n"         /* same file, another key */
		"\tupstream = registry-tags docker.io/library/mongo\n"
		"\tbuild = make\n");
	assert_string_equal(c->state_dir, "/var/lib/tally");
	assert_string_equal(c->group, "builders");
	assert_int_equal(c->parallel, 4);
	assert_int_equal(c->git_push, 1);
	assert_string_equal(c->remote, "upstream");
	assert_string_equal(c->branch, "main");
	assert_string_equal(c->holds_file, "ops/holds.txt");
	assert_string_equal(c->notify, "curl -d '{\"text\": 1}' https://hook");
	assert_int_equal(c->log_keep, 7);
	assert_string_equal(c->author_name, "Bot");
	assert_string_equal(c->author_email, "bot@example.org");
	assert_string_equal(c->theme, "mono");
	assert_int_equal(c->reg_insecure, 1);
	assert_string_equal(c->reg_auth_file, "/run/auth.json");
	assert_int_equal(c->ncomps, 2);
	const struct comp_conf *x = config_find(c, "x.y-1");
	assert_non_null(x);
	assert_string_equal(x->key, "X_VERSION");
	assert_string_equal(x->upstream_kind, "git-tags");
	assert_string_equal(x->upstream_arg, "/srv/up.git");
	assert_string_equal(x->exclude, "-rc");
	assert_int_equal(x->prerelease, 1);
	assert_int_equal(x->order, ORDER_SEMVER);
	assert_string_equal(x->image, "{prefix}/x#y");
	assert_int_equal(x->tags.n, 2);
	assert_string_equal(x->tags.v[1], "{version}-a");
	assert_int_equal(x->floating.n, 2);
	assert_string_equal(x->floating.v[0], "latest");
	assert_string_equal(x->floating.v[1], "stable");
	assert_string_equal(x->build, "sh -c 'make IMAGE={ref}'");
	assert_string_equal(x->cleanup, "buildah rmi {ref}");
	assert_string_equal(x->workdir, "/srv/build");
	assert_int_equal(x->timeout, 60);
	assert_int_equal(x->recipes.n, 2);
	assert_string_equal(x->recipes.v[1], "b/c");
	assert_int_equal(x->nrecord_also, 2);
	assert_string_equal(x->record_also[1].file, "sub/f.txt");
	assert_string_equal(x->record_also[1].var, "Y");
	assert_string_equal(x->record_also[1].tmpl, "v{version}:{tag}");
	assert_string_equal(c->comps[1].upstream_kind, "registry-tags");
	config_free(c);
}

static void test_order_and_last_wins(void **state)
{
	(void)state;
	/* Components in order of first appearance, even when sections repeat;
	 * a single-valued key given twice keeps the last value. */
	struct tally_conf *c = load_ok(
		"[component \"z\"]\n\tfile = z.txt\n\tupstream = manual\n"
		"[component \"m\"]\n\tfile = m.txt\n\tupstream = manual\n\tbuild = b\n"
		"[tally]\n\ttheme = one\n"
		"[component \"z\"]\n\tbuild = b\n\ttimeout = 5\n\ttimeout = 9\n"
		"[tally]\n\ttheme = two\n"
		"[component.m]\n\tkey = M\n");
	assert_int_equal(c->ncomps, 2);
	assert_string_equal(c->comps[0].name, "z");
	assert_string_equal(c->comps[1].name, "m");
	assert_int_equal(c->comps[0].timeout, 9);
	assert_string_equal(c->comps[1].key, "M");
	assert_string_equal(c->theme, "two");
	config_free(c);
}

static void test_config_load_file(void **state)
{
	(void)state;
	char path[] = "/tmp/test_config-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, COMP_A, strlen(COMP_A)), (ssize_t)strlen(COMP_A));
	close(fd);
	struct tally_conf *c = NULL;
	struct tally_err err = {0};
	assert_int_equal(config_load(path, &c, &err), 0);
	assert_string_equal(c->path, path);
	assert_int_equal(c->ncomps, 1);
	config_free(c);

	/* Errors name the path given. */
	FILE *f = fopen(path, "a");
	assert_non_null(f);
	fputs("\tbogus = 1\n", f);
	fclose(f);
	assert_int_equal(config_load(path, &c, &err), -1);
	assert_null(c);
	char want[128];
	snprintf(want, sizeof want, "%s:5: component.a.bogus: unknown key", path);
	assert_string_equal(err.msg, want);
	unlink(path);

	/* libgit2 takes a missing file for an empty one; tally does not. */
	assert_int_equal(config_load(path, &c, &err), -1);
	assert_null(c);
	assert_int_equal(err.cls, TC_INPUT);
	assert_non_null(strstr(err.msg, path));
}

static void test_no_components(void **state)
{
	(void)state;
	load_bad("", "tally.conf: no components", NULL);
	load_bad("[tally]\n\tgitPush = false\n", "tally.conf: no components", NULL);
}

static void test_syntax_error(void **state)
{
	(void)state;
	load_bad(COMP_A "[component \"b\"\n\tfile = b\n", "tally.conf: ", "tally.conf:5");
	load_bad(COMP_A "\tthis is not = valid\n", "tally.conf: ", "tally.conf:5");
	load_bad("[tally]\n\tnotify = bad \\q escape\n" COMP_A, "tally.conf:2: ", "invalid escape");
}

static void test_unknown_keys(void **state)
{
	(void)state;
	load_bad("[component \"server\"]\n\tfile = s.txt\n\tupstream = manual\n\tbuild = b\n"
		 "\tparallelBuilds = 2\n",
		 "tally.conf:5: component.server.parallelBuilds: unknown key", NULL);
	load_bad(COMP_A "\tFloatingTags = x\n", "tally.conf:5: component.a.FloatingTags: unknown key",
		 NULL);
	load_bad("[tally]\n\tgitPush = true\n\tlogkeeps = 3\n" COMP_A,
		 "tally.conf:3: tally.logkeeps: unknown key", NULL);
	load_bad(COMP_A "[foo]\n\tbar = 1\n", "tally.conf:6: foo.bar: unknown key", NULL);
	load_bad(COMP_A "[tally \"x\"]\n\tgitPush = true\n",
		 "tally.conf:6: tally.x.gitPush: unknown key", NULL);
	load_bad("[component]\n\tfile = a.txt\n" COMP_A, "tally.conf:2: component.file: unknown key",
		 NULL);
	load_bad(COMP_A "[registry]\n\tprefix = r\n\tfile = x\n",
		 "tally.conf:7: registry.file: unknown key", NULL);
	load_bad(COMP_A "[github]\n\tapiurl = x\n\ttoken = y\n",
		 "tally.conf:7: github.token: unknown key", NULL);
	/* A key on the header's line. */
	load_bad(COMP_A "[component \"a\"] bogus = 1\n", "tally.conf:5: component.a.bogus: unknown key",
		 NULL);
}

static void test_missing_required(void **state)
{
	(void)state;
	load_bad(COMP_A "\n[component \"b\"]\n\tupstream = manual\n\tbuild = b\n",
		 "tally.conf:6: component.b.file: ", "required");
	load_bad(COMP_A "[component \"b\"]\n\tfile = b.txt\n\tbuild = b\n",
		 "tally.conf:5: component.b.upstream: ", "required");
	load_bad("# comment\n[component \"b\"]\n\tfile = b.txt\n\tupstream = manual\n",
		 "tally.conf:2: component.b.build: ", "required");
	load_bad(COMP_A "[component \"empty\"]\n", "tally.conf:5: component.empty.file: ", "required");
	load_bad(COMP_A "[component \"b\"]\n\tfile = b.txt\n\tbuild = b\n"
		 "\tupstream = file-regex https://x/y\n",
		 "tally.conf:8: component.b.match: ", "file-regex");
}

static void test_bad_numbers_and_booleans(void **state)
{
	(void)state;
	load_bad("[tally]\n\tparallelBuilds = 0\n" COMP_A,
		 "tally.conf:2: tally.parallelBuilds: ", "\"0\"");
	load_bad("[tally]\n\tparallelBuilds = two\n" COMP_A,
		 "tally.conf:2: tally.parallelBuilds: ", "two");
	load_bad("[tally]\n\tlogKeep = -3\n" COMP_A, "tally.conf:2: tally.logKeep: ", NULL);
	load_bad("[tally]\n\tlogKeep = 5x\n" COMP_A, "tally.conf:2: tally.logKeep: ", NULL);
	load_bad(COMP_A "\ttimeout = 0\n", "tally.conf:5: component.a.timeout: ", NULL);
	load_bad(COMP_A "\ttimeout = 1.5\n", "tally.conf:5: component.a.timeout: ", NULL);
	load_bad(COMP_A "\ttimeout = 99999999999\n", "tally.conf:5: component.a.timeout: ", NULL);
	load_bad("[tally]\n\tgitPush = maybe\n" COMP_A, "tally.conf:2: tally.gitPush: ", "boolean");
	load_bad("[registry]\n\tinsecure = sure\n" COMP_A, "tally.conf:2: registry.insecure: ",
		 "boolean");
	load_bad(COMP_A "\tprerelease = nope\n", "tally.conf:5: component.a.prerelease: ", "boolean");
	load_bad(COMP_A "\tkey = A B\n", "tally.conf:5: component.a.key: ", "key name");
	load_bad(COMP_A "\tkey = \"#x\"\n", "tally.conf:5: component.a.key: ", "key name");
	load_bad(COMP_A "\torder = lexical\n", "tally.conf:5: component.a.order: ", "semver");
	load_bad(COMP_A "\torder\n", "tally.conf:5: component.a.order: ", "missing value");
	/* The second of two values is the one checked and named. */
	load_bad(COMP_A "\ttimeout = 5\n\ttimeout = x\n", "tally.conf:6: component.a.timeout: ",
		 NULL);
}

static void test_bad_upstream(void **state)
{
	(void)state;
	static const char head[] = "[component \"a\"]\n\tfile = a.txt\n\tbuild = b\n";
	char buf[512];
	static const struct {
		const char *up, *frag;
	} cases[] = {
		{"svn http://x", "unknown upstream kind \"svn\""},
		{"github-release", "needs an argument"},
		{"git-tags   ", "needs an argument"},
		{"registry-tags", "HOST/NAME"},
		{"manual now", "no argument"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(buf, sizeof buf, "%s\tupstream = %s\n", head, cases[i].up);
		load_bad(buf, "tally.conf:4: component.a.upstream: ", cases[i].frag);
	}
	snprintf(buf, sizeof buf, "%s\tupstream =\n", head);
	load_bad(buf, "tally.conf:4: component.a.upstream: ", "empty");
}

static void test_bad_regexes(void **state)
{
	(void)state;
	static const char head[] = "[component \"a\"]\n\tfile = a.txt\n\tbuild = b\n"
				   "\tupstream = file-regex file:///x\n";
	char buf[512];
	snprintf(buf, sizeof buf, "%s\tmatch = version ([0-9\n", head);
	load_bad(buf, "tally.conf:5: component.a.match: ", NULL);
	snprintf(buf, sizeof buf, "%s\tmatch = version [0-9]+\n", head);
	load_bad(buf, "tally.conf:5: component.a.match: ", "capture group");
	load_bad(COMP_A "\tinclude = ^v(\n", "tally.conf:5: component.a.include: ", "regex");
	load_bad(COMP_A "\texclude = [a-\n", "tally.conf:5: component.a.exclude: ", "regex");
}

static void test_bad_templates(void **state)
{
	(void)state;
	static const struct {
		const char *line, *key, *frag;
	} cases[] = {
		{"build = make {nope}", "build", "nope"},
		{"build = echo 'open", "build", NULL},
		{"build = make {version", "build", NULL},
		{"build =", "build", "empty"},
		{"build = \"\"", "build", NULL},
		{"push = push {ref} {digest}", "push", "digest"},
		{"cleanup = rmi {ref", "cleanup", NULL},
		{"image = {prefix}/{name}", "image", "name"},
		{"tag = {version}-{arch}", "tag", "arch"},
		{"tag =", "tag", "empty"},
		{"tag", "tag", "missing value"},
		{"floatingTag = latest-{x}", "floatingTag", NULL},
		{"floatingTag =", "floatingTag", "empty"},
		{"recordAlso = .env:V={vers}", "recordAlso", "vers"},
	};
	char buf[512], want[128];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(buf, sizeof buf, "%s\t%s\n", COMP_A, cases[i].line);
		snprintf(want, sizeof want, "tally.conf:5: component.a.%s: ", cases[i].key);
		load_bad(buf, want, cases[i].frag);
	}
	/* A bad second tag is named on its own line. */
	load_bad(COMP_A "\ttag = {version}\n\ttag = {bad}\n", "tally.conf:6: component.a.tag: ",
		 "bad");
	load_bad("[tally]\n\tnotify = mail 'x\n" COMP_A, "tally.conf:2: tally.notify: ", NULL);
}

static void test_bad_record_also(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"recordAlso = .env",
		"recordAlso = .env:X",
		"recordAlso = :X={version}",
		"recordAlso = .env:={version}",
		"recordAlso = .env:X=",
		"recordAlso = .env:A B={version}",
		"recordAlso = .env:#A={version}",
		"recordAlso = /etc/env:X={version}",
		"recordAlso = ../.env:X={version}",
	};
	char buf[512];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(buf, sizeof buf, "%s\t%s\n", COMP_A, bad[i]);
		load_bad(buf, "tally.conf:5: component.a.recordAlso: ", NULL);
	}
}

static void test_bad_paths(void **state)
{
	(void)state;
	struct tally_conf *c;
	load_bad("[component \"a\"]\n\tfile = /etc/a.txt\n\tupstream = manual\n\tbuild = b\n",
		 "tally.conf:2: component.a.file: ", "absolute");
	load_bad("[component \"a\"]\n\tfile = x/../../a.txt\n\tupstream = manual\n\tbuild = b\n",
		 "tally.conf:2: component.a.file: ", "..");
	load_bad("[component \"a\"]\n\tfile = ..\n\tupstream = manual\n\tbuild = b\n",
		 "tally.conf:2: component.a.file: ", "..");
	load_bad(COMP_A "\trecipe = ok\n\trecipe = ../Dockerfile\n",
		 "tally.conf:6: component.a.recipe: ", "..");
	load_bad(COMP_A "\trecipe = /Dockerfile\n", "tally.conf:5: component.a.recipe: ", NULL);
	load_bad("[tally]\n\tholdsFile = /tmp/holds\n" COMP_A, "tally.conf:2: tally.holdsFile: ",
		 NULL);
	/* issue 10: nothing inside .git (refused at load, not after the push) */
	load_bad("[component \"a\"]\n\tfile = .git/config\n\tupstream = manual\n\tbuild = b\n",
		 "tally.conf:2: component.a.file: ", ".git");
	load_bad("[component \"a\"]\n\tfile = sub/.GIT/x.txt\n\tupstream = manual\n\tbuild = b\n",
		 "tally.conf:2: component.a.file: ", ".git");
	load_bad(COMP_A "\trecordAlso = ./.git/hooks/env:X={version}\n",
		 "tally.conf:5: component.a.recordAlso: ", ".git");
	load_bad("[tally]\n\tholdsFile = .git/holds\n" COMP_A, "tally.conf:2: tally.holdsFile: ",
		 ".git");
	c = load_ok("[component \"a\"]\n\tfile = .github/a.txt\n\tupstream = manual\n\tbuild = b\n");
	config_free(c);
	/* ".." inside a name is not a parent reference. */
	c = load_ok(
		"[component \"a\"]\n\tfile = v..1/a..txt\n\tupstream = manual\n\tbuild = b\n");
	config_free(c);
}

static void test_bad_component_names(void **state)
{
	(void)state;
	load_bad(COMP_A "[component \"bad name\"]\n\tfile = b.txt\n",
		 "tally.conf:5: component: ", "bad name");
	load_bad(COMP_A "[component \"-x\"]\n", "tally.conf:5: component: ", "-x");
	load_bad(COMP_A "[component \".hidden\"]\n", "tally.conf:5: component: ", NULL);
	load_bad(COMP_A "[component \"a/b\"]\n\tfile = b\n", "tally.conf:5: component: ", NULL);
	load_bad(COMP_A "[component \"\"]\n\tfile = b\n", "tally.conf:5: component: ", NULL);
}

static void test_duplicate_version_key(void **state)
{
	(void)state;
	load_bad(COMP_A "[component \"b\"]\n\tfile = ./a.txt\n\tkey = a\n\tupstream = manual\n"
		 "\tbuild = b\n",
		 "tally.conf:6: component.b.file: ", "component a");
	load_bad("[component \"a\"]\n\tfile = v.txt\n\tkey = K\n\tupstream = manual\n\tbuild = b\n"
		 "[component \"b\"]\n\tfile = v.txt\n\tupstream = manual\n\tbuild = b\n"
		 "\tkey = K\n",
		 "tally.conf:7: component.b.file: ", "K");
	/* recordAlso writes count too. */
	load_bad(COMP_A "\trecordAlso = .env:V={version}\n"
		 "[component \"b\"]\n\tfile = b.txt\n\tupstream = manual\n\tbuild = b\n"
		 "\trecordAlso = .env:V={version}\n",
		 "tally.conf:10: component.b.recordAlso: ", "component a");
	/* many writers of one file, each its own key: fine; the last one
	 * taking the first one's key is found past many rehashes */
	struct sbuf sb = {0};
	for (int i = 0; i < 300; i++)
		sbuf_addf(&sb, "[component \"c%d\"]\n\tfile = v.txt\n\tkey = K%d\n\tupstream = manual\n"
			  "\tbuild = b\n", i, i);
	struct tally_conf *c = load_ok(sb.buf);
	assert_int_equal(c->ncomps, 300);
	config_free(c);
	sbuf_adds(&sb, "[component \"last\"]\n\tfile = ./v.txt\n\tkey = K0\n\tupstream = manual\n\tbuild = b\n");
	load_bad(sb.buf, "tally.conf:1502: component.last.file: ", "component c0 (line 2)");
	sbuf_free(&sb);
}

static void test_line_tracking(void **state)
{
	(void)state;
	/* Continuation lines, comments, quoted '#', blank lines and repeated
	 * keys must not throw the line count off. */
	load_bad("; leading comment\n"
		 "[tally]\n"
		 "\tnotify = mail \\\n"
		 "\t  -s subject \\\n"
		 "\t  ops@example.org\n"
		 "\ttheme = \"a # not a comment\"  # a comment\n"
		 "\n"
		 COMP_A
		 "\ttag = {version}\n"
		 "\t# tag = {bad}\n"
		 "\ttag = {version}-x ; comment\n"
		 "\ttag = {bad}\n",
		 "tally.conf:15: component.a.tag: ", "bad");
	struct tally_conf *c = load_ok("[tally]\n\tnotify = mail \\\n\t  -s subject\n" COMP_A);
	assert_string_equal(c->notify, "mail \t  -s subject");
	config_free(c);
}

/* The reference (tally.conf(5), tally help config) is made from the key
 * table: every key and every template variable needs its help text. */
static void test_key_help(void **state)
{
	(void)state;
	assert_true(config_key_count() > 30);
	for (size_t i = 0; i < config_key_count(); i++) {
		struct config_keydoc d;
		assert_int_equal(config_key_doc(i, &d), 0);
		if (!d.help || strlen(d.help) < 10 || d.help[strlen(d.help) - 1] != '.')
			fail_msg("%s.%s has no help text (a sentence ending in '.') in confkeys.c's keydefs[]",
				 d.section, d.key);
		for (const char *p = d.help; *p; p++)
			if ((unsigned char)*p < 0x20)
				fail_msg("%s.%s: help has a control character", d.section, d.key);
	}
	struct config_keydoc d;
	assert_int_equal(config_key_doc(config_key_count(), &d), -1);
	for (size_t i = 0; i < config_template_nvars; i++)
		if (!config_var_help(config_template_vars[i]))
			fail_msg("template variable {%s} has no help in confkeys.c's var_docs[]",
				 config_template_vars[i]);
	assert_null(config_var_help("nosuchvar"));
}

/* The defaults the reference shows are the ones the loader applies. */
static void test_key_defaults_shown(void **state)
{
	(void)state;
	struct tally_conf *c = load_ok(COMP_A);
	const struct comp_conf *a = &c->comps[0];
	char num[32];
	for (size_t i = 0; i < config_key_count(); i++) {
		struct config_keydoc d;
		config_key_doc(i, &d);
		const char *want = NULL;
		char *got = NULL;
		if (!strcmp(d.key, "parallelBuilds"))
			snprintf(num, sizeof num, "%d", c->parallel), got = num;
		else if (!strcmp(d.key, "logKeep"))
			snprintf(num, sizeof num, "%d", c->log_keep), got = num;
		else if (!strcmp(d.key, "timeout"))
			snprintf(num, sizeof num, "%d", a->timeout), got = num;
		else if (!strcmp(d.key, "gitPush"))
			got = c->git_push ? "true" : "false";
		else if (!strcmp(d.key, "insecure"))
			got = c->reg_insecure ? "true" : "false";
		else if (!strcmp(d.key, "prerelease"))
			got = a->prerelease ? "true" : "false";
		else if (!strcmp(d.key, "remote"))
			got = c->remote;
		else if (!strcmp(d.key, "holdsFile"))
			got = c->holds_file;
		else if (!strcmp(d.section, "tally") && !strcmp(d.key, "schedule"))
			got = c->schedule;
		else if (!strcmp(d.key, "authorName"))
			got = c->author_name;
		else if (!strcmp(d.key, "theme"))
			got = c->theme;
		else if (!strcmp(d.key, "apiUrl") && !getenv("TALLY_GITHUB_API"))
			got = c->gh_api;
		else if (!strcmp(d.key, "push"))
			got = a->push;
		else if (!strcmp(d.key, "tag"))
			got = a->tags.v[0];
		else if (!strcmp(d.key, "image"))
			got = a->image, want = "{prefix}/a";
		else if (!strcmp(d.key, "key"))
			got = a->key, want = "a";
		else if (!strcmp(d.key, "order"))
			got = a->order == ORDER_VERSION ? "version" : "semver";
		if (!got)
			continue;
		if (!want)
			want = d.dflt;
		if (!want || strcmp(want, got) != 0)
			fail_msg("%s.%s: the reference says the default is '%s', the loader gives '%s'",
				 d.section, d.key, want ? want : "(none)", got);
	}
	config_free(c);
}

/* component.<n>.host is multi-valued and checked; tally.host is the
 * host's own: in the shared file it is an error naming the file and line */
static void test_hosts(void **state)
{
	(void)state;
	struct tally_conf *c = load_ok(COMP_A "\thost = build-1\n\thost = arm64.b_2\n"
				       "[component \"b\"]\n\tfile = b.txt\n\tupstream = manual\n"
				       "\tbuild = make\n");
	const struct comp_conf *a = config_find(c, "a"), *b = config_find(c, "b");
	assert_int_equal(a->hosts.n, 2);
	assert_string_equal(a->hosts.v[1], "arm64.b_2");
	assert_int_equal(b->hosts.n, 0);
	assert_null(c->host);
	assert_true(config_host_ships(a, "build-1"));
	assert_true(config_host_ships(a, "arm64.b_2"));
	assert_false(config_host_ships(a, "build-2"));
	assert_false(config_host_ships(a, NULL));
	assert_true(config_host_ships(b, "anything"));
	/* claims: gitPush and several hosts declared (a host key, or a named host) */
	c->host = strdup("h");
	assert_false(config_claims(c));
	c->git_push = 1;
	assert_true(config_claims(c));
	config_free(c);
	c = load_ok("[tally]\n\tgitPush = true\n" COMP_A);
	assert_false(config_claims(c));   /* no host yet */
	c->host = strdup("h");
	assert_false(config_claims(c));   /* one host: no claims */
	c->host_named = 1;
	assert_true(config_claims(c));
	config_free(c);
	load_bad(COMP_A "\thost = two words\n", "tally.conf:5: component.a.host", "not a host name");
	load_bad(COMP_A "\thost = -x\n", "tally.conf:5: component.a.host", "not a host name");
	load_bad(COMP_A "\thost = a:b\n", "tally.conf:5: component.a.host", "not a host name");
	load_bad("[tally]\n\tgitPush = true\n\thost = a\n" COMP_A, "tally.conf:3: tally.host",
		 "git config tally.host NAME");
	assert_true(host_name_ok("a"));
	assert_true(host_name_ok("build-1.x_y"));
	assert_false(host_name_ok(""));
	assert_false(host_name_ok(".a"));
	assert_false(host_name_ok("a b"));
	assert_false(host_name_ok("a\tb"));
	assert_false(host_name_ok("h\xc3\xa9"));
	char longname[HOST_NAME_MAXLEN + 2];
	memset(longname, 'x', sizeof longname - 1);
	longname[sizeof longname - 1] = 0;
	assert_false(host_name_ok(longname));
	longname[HOST_NAME_MAXLEN] = 0;
	assert_true(host_name_ok(longname));
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* The host's name: $TALLY_HOST, else the clone's local tally.host, else
 * the short host name */
static void test_host_resolve(void **state)
{
	(void)state;
	git_libgit2_init();
	char dir[] = "/tmp/tally-host-XXXXXX";
	assert_non_null(mkdtemp(dir));
	git_repository *repo = NULL;
	assert_int_equal(git_repository_init(&repo, dir, 0), 0);
	struct tally_err err = {0};
	char *h = NULL;
	const char *saved = getenv("TALLY_HOST");
	char *keep = saved ? strdup(saved) : NULL;
	unsetenv("TALLY_HOST");
	int named = -1;
	assert_int_equal(host_name_resolve(repo, &h, &named, &err), 0);
	assert_int_equal(named, 0);
	char want[256] = {0};
	gethostname(want, sizeof want - 1);
	if (strchr(want, '.'))
		*strchr(want, '.') = 0;
	assert_string_equal(h, want);
	free(h);
	git_config *cfg = NULL;
	assert_int_equal(git_repository_config(&cfg, repo), 0);
	assert_int_equal(git_config_set_string(cfg, "tally.host", "from-git"), 0);
	assert_int_equal(host_name_resolve(repo, &h, &named, &err), 0);
	assert_int_equal(named, 1);
	assert_string_equal(h, "from-git");
	free(h);
	setenv("TALLY_HOST", "from-env", 1);
	assert_int_equal(host_name_resolve(repo, &h, NULL, &err), 0);
	assert_string_equal(h, "from-env");
	free(h);
	setenv("TALLY_HOST", "bad name", 1);
	assert_int_equal(host_name_resolve(repo, &h, NULL, &err), -1);
	assert_null(h);
	assert_non_null(strstr(err.msg, "$TALLY_HOST"));
	assert_non_null(strstr(err.msg, "bad name"));
	unsetenv("TALLY_HOST");
	assert_int_equal(git_config_set_string(cfg, "tally.host", "a/b"), 0);
	assert_int_equal(host_name_resolve(repo, &h, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "config: tally.host"));
	git_config_free(cfg);
	git_repository_free(repo);
	if (keep)
		setenv("TALLY_HOST", keep, 1);
	free(keep);
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	git_libgit2_shutdown();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_example),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_version_label),
		cmocka_unit_test(test_base_after),
		cmocka_unit_test(test_github_api_env),
		cmocka_unit_test(test_all_keys),
		cmocka_unit_test(test_order_and_last_wins),
		cmocka_unit_test(test_config_load_file),
		cmocka_unit_test(test_no_components),
		cmocka_unit_test(test_syntax_error),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_missing_required),
		cmocka_unit_test(test_bad_numbers_and_booleans),
		cmocka_unit_test(test_bad_upstream),
		cmocka_unit_test(test_bad_regexes),
		cmocka_unit_test(test_bad_templates),
		cmocka_unit_test(test_bad_record_also),
		cmocka_unit_test(test_bad_paths),
		cmocka_unit_test(test_bad_component_names),
		cmocka_unit_test(test_duplicate_version_key),
		cmocka_unit_test(test_line_tracking),
		cmocka_unit_test(test_key_help),
		cmocka_unit_test(test_key_defaults_shown),
		cmocka_unit_test(test_hosts),
		cmocka_unit_test(test_host_resolve),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
