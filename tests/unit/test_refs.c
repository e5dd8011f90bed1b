/* refs: image, version tag and floating tag expansion and their checks
 * against the OCI grammar, with messages naming the setting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "refs.h"

static const struct tvar vars[] = {
	{"component", "web"}, {"version", "1.2.3"}, {"prefix", "reg.example:5000/team"},
	{"key", "WEB"},
};
#define NV (sizeof vars / sizeof vars[0])

static void cc_init(struct comp_conf *cc, const char *image)
{
	memset(cc, 0, sizeof *cc);
	cc->name = (char *)"web";
	cc->image = (char *)image;
}

static void test_image(void **state)
{
	(void)state;
	struct comp_conf cc;
	struct tally_err err = {0};
	char *image = NULL;
	cc_init(&cc, "{prefix}/{component}");
	assert_int_equal(refs_image(&cc, vars, NV, &image, &err), 0);
	assert_string_equal(image, "reg.example:5000/team/web");
	free(image);
	image = NULL;
	/* uppercase is not an image name: the setting and the value are named */
	cc_init(&cc, "{prefix}/{key}");
	assert_int_equal(refs_image(&cc, vars, NV, &image, &err), -1);
	assert_int_equal(err.cls, TC_INPUT);
	assert_non_null(strstr(err.msg, "component.web.image"));
	assert_non_null(strstr(err.msg, "reg.example:5000/team/WEB"));
	assert_null(image);
	/* an unknown variable */
	cc_init(&cc, "{prefix}/{nosuch}");
	assert_int_equal(refs_image(&cc, vars, NV, &image, &err), -1);
	assert_int_equal(err.cls, TC_INPUT);
	assert_null(image);
}

static void test_tags(void **state)
{
	(void)state;
	struct comp_conf cc;
	struct tally_err err = {0};
	struct strv tags = {0};
	cc_init(&cc, "x");
	strv_push(&cc.tags, "{version}");
	strv_push(&cc.tags, "{version}-alpine");
	assert_int_equal(refs_tags(&cc, vars, NV, &tags, &err), 0);
	assert_int_equal(tags.n, 2);
	assert_string_equal(tags.v[0], "1.2.3");
	assert_string_equal(tags.v[1], "1.2.3-alpine");
	strv_free(&tags);
	/* a tag that expands out of the grammar names the template and value */
	strv_push(&cc.tags, "{version}/x");
	assert_int_equal(refs_tags(&cc, vars, NV, &tags, &err), -1);
	assert_int_equal(err.cls, TC_INPUT);
	assert_non_null(strstr(err.msg, "component.web.tag"));
	assert_non_null(strstr(err.msg, "1.2.3/x"));
	strv_free(&tags);
	strv_free(&cc.tags);
}

static void test_floating(void **state)
{
	(void)state;
	struct comp_conf cc;
	struct tally_err err = {0};
	struct strv fl = {0};
	cc_init(&cc, "x");
	assert_int_equal(refs_floating(&cc, vars, NV, &fl, &err), 0);
	assert_int_equal(fl.n, 0);
	strv_push(&cc.floating, "latest");
	strv_push(&cc.floating, "{component}-stable");
	assert_int_equal(refs_floating(&cc, vars, NV, &fl, &err), 0);
	assert_int_equal(fl.n, 2);
	assert_string_equal(fl.v[0], "latest");
	assert_string_equal(fl.v[1], "web-stable");
	strv_free(&fl);
	strv_push(&cc.floating, "-bad");
	assert_int_equal(refs_floating(&cc, vars, NV, &fl, &err), -1);
	assert_int_equal(err.cls, TC_INPUT);
	assert_non_null(strstr(err.msg, "component.web.floatingTag"));
	assert_non_null(strstr(err.msg, "'-bad'"));
	strv_free(&fl);
	strv_free(&cc.floating);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_image),
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_floating),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
