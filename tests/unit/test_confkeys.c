/* Unit tests for confkeys.c: the key table of tally.conf is complete and
 * consistent (every key has a section, a type, a help line, a place in the
 * struct of its own), and every key of it is accepted by the loader and
 * lands in the field the table names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "config.h"
#include "confkeys.h"

/* A valid value of every key; a key added to the table without one here
 * fails test_every_key_loads (so that it is also checked to land in its
 * field). The values are valid together, in one file. */
static const struct {
	const char *section, *key, *value;
} samples[] = {
	{"tally", "stateDir", "/tmp/tally-state"},
	{"tally", "group", "builders"},
	{"tally", "parallelBuilds", "3"},
	{"tally", "gitPush", "true"},
	{"tally", "remote", "upstream"},
	{"tally", "branch", "main"},
	{"tally", "holdsFile", "ops/holds.txt"},
	{"tally", "schedule", "0 3 * * *"},
	{"tally", "notify", "logger tally"},
	{"tally", "logKeep", "7"},
	{"tally", "authorName", "bot"},
	{"tally", "authorEmail", "bot@example.org"},
	{"tally", "theme", "dark"},
	{"tally", "passEnv", "AWS_*"},
	{"tally", "networkTimeout", "9"},
	{"registry", "prefix", "registry.example/ns"},
	{"registry", "insecure", "true"},
	{"registry", "authFile", "/tmp/auth.json"},
	{"registry", "certDir", "/tmp/certs.d"},
	{"github", "apiUrl", "https://github.example/api/v3"},
	{"github", "tokenFile", "token.txt"},
	{"component", "file", "versions.txt"},
	{"component", "key", "SERVER"},
	{"component", "upstream", "git-tags /srv/up.git"},
	{"component", "include", "^v"},
	{"component", "exclude", "rc"},
	{"component", "match", "v([0-9.]+)"},
	{"component", "prerelease", "true"},
	{"component", "order", "semver"},
	{"component", "image", "{prefix}/server"},
	{"component", "tag", "{version}-x"},
	{"component", "floatingTag", "latest-x"},
	{"component", "build", "buildah build --platform {platform} -t {ref} ."},
	{"component", "push", "buildah push {ref} docker://{ref}"},
	{"component", "cleanup", "buildah rmi {ref}"},
	{"component", "workdir", "src"},
	{"component", "timeout", "77"},
	{"component", "schedule", "0 4 * * *"},
	{"component", "recipe", "Dockerfile"},
	{"component", "base", "docker.io/library/alpine:3"},
	{"component", "platform", "linux/amd64"},
	{"component", "after", "b"},
	{"component", "recordAlso", ".env:SERVER_VERSION={version}"},
	{"component", "versionLabel", "my.version"},
	{"component", "secret", "tok=env:TOKEN"},
	{"component", "host", "build-1"},
};
#define NSAMPLES (sizeof samples / sizeof samples[0])

static const char *sample_of(const struct keydef *kd)
{
	for (size_t i = 0; i < NSAMPLES; i++)
		if (!strcmp(samples[i].section, kd->section) && !strcmp(samples[i].key, kd->key))
			return samples[i].value;
	return NULL;
}

static void test_table_shape(void **state)
{
	(void)state;
	static const char *const sections[] = {"tally", "registry", "github", "component"};
	const unsigned known_flags = KF_CMD | KF_SUBST | KF_RELPATH | KF_REGEX | KF_MATCH |
				     KF_SPLIT | KF_VARNAME | KF_EMPTY | KF_ENVNAME | KF_SECRET |
				     KF_LOCAL | KF_HOST;
	size_t n = config_key_count();
	assert_true(n > 30);
	assert_null(confkeys_at(n));
	for (size_t i = 0; i < n; i++) {
		const struct keydef *kd = confkeys_at(i);
		assert_non_null(kd);
		int sec_ok = 0;
		for (size_t s = 0; s < 4; s++)
			sec_ok |= !strcmp(kd->section, sections[s]);
		if (!sec_ok)
			fail_msg("key %s: unknown section '%s'", kd->key, kd->section);
		if ((int)kd->type < K_STR || kd->type > K_RECORD_ALSO)
			fail_msg("%s.%s has no type", kd->section, kd->key);
		if (kd->flags & ~known_flags)
			fail_msg("%s.%s has unknown flags %#x", kd->section, kd->key, kd->flags);
		if (kd->type != K_STR && kd->type != K_LIST && (kd->flags & ~KF_EMPTY))
			fail_msg("%s.%s: value checks only apply to strings and lists", kd->section, kd->key);
		if (!kd->help || !*kd->help)
			fail_msg("%s.%s has no help line", kd->section, kd->key);
		size_t size = strcmp(kd->section, "component") ? sizeof(struct tally_conf)
							      : sizeof(struct comp_conf);
		if (kd->off >= size)
			fail_msg("%s.%s: offset %zu outside its struct", kd->section, kd->key, kd->off);
		/* found by name in any case, as libgit2 lowercases names */
		char upper[64];
		snprintf(upper, sizeof upper, "%s", kd->key);
		for (char *p = upper; *p; p++)
			*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
		assert_ptr_equal(confkeys_find(kd->section, kd->key), kd);
		assert_ptr_equal(confkeys_find(kd->section, upper), kd);
		/* one key per name and one field per key */
		for (size_t j = 0; j < i; j++) {
			const struct keydef *o = confkeys_at(j);
			int o_comp = !strcmp(o->section, "component");
			int kd_comp = !strcmp(kd->section, "component");
			if (o_comp != kd_comp)
				continue;   /* different structs */
			if (!strcmp(o->section, kd->section) && !strcasecmp(o->key, kd->key))
				fail_msg("%s.%s is in the table twice", kd->section, kd->key);
			if (o->off == kd->off)
				fail_msg("%s.%s and %s.%s store into one field", o->section, o->key,
					 kd->section, kd->key);
		}
	}
	assert_null(confkeys_find("tally", "noSuchKey"));
	assert_null(confkeys_find("registry", "file"));   /* a component key */
}

/* Every key of the table, set in one file, loads, and its value is in the
 * field the table's offset names. */
static void test_every_key_loads(void **state)
{
	(void)state;
	struct sbuf text = {0};
	const char *sec[] = {"tally", "registry", "github"};
	for (size_t s = 0; s < 3; s++) {
		sbuf_addf(&text, "[%s]\n", sec[s]);
		for (size_t i = 0; i < config_key_count(); i++) {
			const struct keydef *kd = confkeys_at(i);
			if (strcmp(kd->section, sec[s]) || (kd->flags & KF_LOCAL))
				continue;   /* a host's own key is refused in the file (test_config.c) */
			const char *v = sample_of(kd);
			if (!v)
				fail_msg("%s.%s has no sample value in test_confkeys.c", kd->section, kd->key);
			sbuf_addf(&text, "\t%s = \"%s\"\n", kd->key, v);
		}
	}
	sbuf_adds(&text, "[component \"a\"]\n");
	for (size_t i = 0; i < config_key_count(); i++) {
		const struct keydef *kd = confkeys_at(i);
		if (strcmp(kd->section, "component"))
			continue;
		const char *v = sample_of(kd);
		if (!v)
			fail_msg("component.<n>.%s has no sample value in test_confkeys.c", kd->key);
		sbuf_addf(&text, "\t%s = \"%s\"\n", kd->key, v);
	}
	sbuf_adds(&text, "[component \"b\"]\n\tfile = b.txt\n\tupstream = manual\n\tbuild = make {ref}\n");

	struct tally_conf *c = NULL;
	struct tally_err err = {0};
	if (config_load_buffer("tally.conf", sbuf_str(&text), text.len, &c, &err) < 0)
		fail_msg("load failed: %s\n--- config ---\n%s", err.msg, sbuf_str(&text));
	assert_int_equal(c->ncomps, 2);
	const struct comp_conf *a = &c->comps[0];
	for (size_t i = 0; i < config_key_count(); i++) {
		const struct keydef *kd = confkeys_at(i);
		if (kd->flags & KF_LOCAL)
			continue;
		const char *v = sample_of(kd);
		const char *base = strcmp(kd->section, "component") ? (const char *)c : (const char *)a;
		const void *field = base + kd->off;
		int ok = 0;
		switch (kd->type) {
		case K_STR:
		case K_UPSTREAM: {
			const char *got = *(char *const *)field;
			ok = got && !strcmp(got, v);
			break;
		}
		case K_INT:
			ok = *(const int *)field == atoi(v);
			break;
		case K_BOOL:
			ok = *(const int *)field == 1;
			break;
		case K_ORDER:
			ok = *(const enum version_order *)field == ORDER_SEMVER;
			break;
		case K_LIST:
			ok = strv_contains((const struct strv *)field, v);
			break;
		case K_RECORD_ALSO:
			ok = a->nrecord_also == 1 && *(struct record_also *const *)field == a->record_also &&
			     !strcmp(a->record_also[0].file, ".env") &&
			     !strcmp(a->record_also[0].var, "SERVER_VERSION") &&
			     !strcmp(a->record_also[0].tmpl, "{version}");
			break;
		}
		if (!ok)
			fail_msg("%s.%s = %s did not land in the field the table names", kd->section,
				 kd->key, v);
	}
	config_free(c);
	sbuf_free(&text);
}

/* Documentation views of the table agree with it. */
static void test_key_doc(void **state)
{
	(void)state;
	for (size_t i = 0; i < config_key_count(); i++) {
		const struct keydef *kd = confkeys_at(i);
		struct config_keydoc d;
		assert_int_equal(config_key_doc(i, &d), 0);
		assert_string_equal(d.section, kd->section);
		assert_string_equal(d.key, kd->key);
		assert_ptr_equal(d.help, kd->help);
		assert_int_equal(d.multi, kd->type == K_LIST || kd->type == K_RECORD_ALSO);
		assert_int_equal(d.required, kd->dflt && !strcmp(kd->dflt, "required"));
	}
	/* the required keys are the ones the loader requires */
	static const char *const required[] = {"file", "upstream", "build"};
	size_t nreq = 0;
	for (size_t i = 0; i < config_key_count(); i++) {
		struct config_keydoc d;
		config_key_doc(i, &d);
		if (!d.required)
			continue;
		int listed = 0;
		for (size_t r = 0; r < 3; r++)
			listed |= !strcmp(d.key, required[r]);
		if (!listed)
			fail_msg("%s.%s says required, the loader does not require it", d.section, d.key);
		nreq++;
	}
	assert_int_equal(nreq, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_shape),
		cmocka_unit_test(test_every_key_loads),
		cmocka_unit_test(test_key_doc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
