/* fuzz_template.c - command templates (quoting, {variables}): split,
 * check, expand, subst. A refusal names the template; expand agrees with
 * check about which templates are good. */
#include "config.h"
#include "fuzz.h"
#include "template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *t = malloc(size + 1);
	memcpy(t, data, size);
	t[size] = '\0';   /* templates are C strings: the rest after a NUL is not seen */
	static const struct tvar vars[] = {
		{"version", "v1.2.3"}, {"ref", "reg/ns/img:v1.2.3"}, {"image", "reg/ns/img"},
		{"tag", "v1.2.3"},     {"prefix", "reg/ns"},          {"key", "img"},
		{"digestfile", "/tmp/d"}, {"tlsverify", "true"},     {"component", "img"},
		{"repo", "/srv/versions"},
	};
	const char *names[sizeof vars / sizeof vars[0]];
	for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
		names[i] = vars[i].name;
	size_t nv = sizeof vars / sizeof vars[0];
	struct tally_err err = {0};
	char **words = NULL;
	size_t nwords = 0;
	if (template_split(t, &words, &nwords, "fuzz.tmpl", &err) == 0) {
		FUZZ_REQUIRE(words && nwords > 0 && words[nwords] == NULL, "split gave no words");
		template_argv_free(words);
	} else {
		FUZZ_REQUIRE(strstr(err.msg, "fuzz.tmpl") != NULL, "split message: %s", err.msg);
	}
	int checked = template_check(t, names, nv, 1, "fuzz.tmpl", &err);
	if (checked < 0)
		FUZZ_REQUIRE(strstr(err.msg, "fuzz.tmpl") != NULL, "check message: %s", err.msg);
	char **argv = NULL;
	int expanded = template_expand(t, vars, nv, &argv, "fuzz.tmpl", &err);
	FUZZ_REQUIRE((checked == 0) == (expanded == 0), "check says %d but expand says %d (%s)", checked,
		     expanded, err.msg);
	if (expanded == 0)
		template_argv_free(argv);
	char *out = NULL;
	if (template_subst(t, vars, nv, &out, "fuzz.tmpl", &err) == 0)
		free(out);
	free(t);
	return 0;
}
