#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "bases.h"

static int parse(const char *text, struct strv *out, struct tally_err *err)
{
	return bases_parse_dockerfile("Containerfile", text, strlen(text), out, err);
}

static void test_args_stages_scratch(void **state)
{
	(void)state;
	struct strv out = {0};
	struct tally_err err = {0};
	assert_int_equal(parse("# syntax=docker/dockerfile:1\n"
			       "ARG REG=reg.example:5000\n"
			       "ARG BASE_TAG=1\n"
			       "FROM --platform=$BUILDPLATFORM $REG/ns/base:${BASE_TAG} AS build\n"
			       "RUN make\n"
			       "ARG LATE=ignored\n"
			       "from scratch\n"
			       "COPY --from=build /x /x\n"
			       "FROM build\n"
			       "FROM ${REG:-other}/ns/anolis:8.8 \\\n"
			       "   as final\n"
			       "FROM $REG/ns/base:${BASE_TAG}\n",
			       &out, &err),
			 0);
	assert_int_equal(out.n, 2);
	assert_string_equal(out.v[0], "reg.example:5000/ns/base:1");
	assert_string_equal(out.v[1], "reg.example:5000/ns/anolis:8.8");
	strv_free(&out);
}

static void test_defaults_and_quotes(void **state)
{
	(void)state;
	struct strv out = {0};
	struct tally_err err = {0};
	assert_int_equal(parse("ARG V=\"3.19\"\nARG U\nFROM alpine:$V\nFROM busybox:${U:-1.36}\n", &out, &err), 0);
	assert_int_equal(out.n, 2);
	assert_string_equal(out.v[0], "alpine:3.19");
	assert_string_equal(out.v[1], "busybox:1.36");
	strv_free(&out);
}

static void test_errors_name_line(void **state)
{
	(void)state;
	struct strv out = {0};
	struct tally_err err = {0};
	strv_push(&out, "kept");
	assert_int_equal(parse("ARG X\n\nFROM base:$X\n", &out, &err), -1);
	assert_non_null(strstr(err.msg, "Containerfile:3:"));
	assert_non_null(strstr(err.msg, "$X"));
	assert_int_equal(parse("FROM\n", &out, &err), -1);
	assert_non_null(strstr(err.msg, "Containerfile:1: FROM without an image"));
	assert_int_equal(parse("FROM a:1 stage\n", &out, &err), -1);
	assert_non_null(strstr(err.msg, "AS NAME"));
	assert_int_equal(parse("FROM ${X\n", &out, &err), -1);
	assert_int_equal(out.n, 1);   /* unchanged */
	strv_free(&out);
}

static void test_is_dockerfile(void **state)
{
	(void)state;
	assert_true(bases_is_dockerfile("Dockerfile"));
	assert_true(bases_is_dockerfile("dockerfiles/anolis/Dockerfile.openim-server"));
	assert_true(bases_is_dockerfile("a/Containerfile"));
	assert_true(bases_is_dockerfile("x/server.Containerfile"));
	assert_false(bases_is_dockerfile("build.sh"));
	assert_false(bases_is_dockerfile("Dockerfiles.txt"));
	assert_false(bases_is_dockerfile("mydockerfile"));
}

static void test_split(void **state)
{
	(void)state;
	char *i, *t;
	bases_split("127.0.0.1:5000/test/base:1", &i, &t);
	assert_string_equal(i, "127.0.0.1:5000/test/base");
	assert_string_equal(t, "1");
	free(i), free(t);
	bases_split("alpine", &i, &t);
	assert_string_equal(i, "docker.io/library/alpine");
	assert_string_equal(t, "latest");
	free(i), free(t);
	bases_split("openanolis/anolisos:8.8@sha256:abc", &i, &t);
	assert_string_equal(i, "docker.io/openanolis/anolisos");
	assert_string_equal(t, "sha256:abc");
	free(i), free(t);
	bases_split("localhost/x", &i, &t);
	assert_string_equal(i, "localhost/x");
	free(i), free(t);
}

static void test_trailers(void **state)
{
	(void)state;
	struct strv out = {0};
	bases_trailers("rebuild a v1\n\nTally-Action: rebuild\nTally-Base: r/a:1@sha256:1\n"
		       "Tally-Base: r/b:2@sha256:2\nTally-Cause: x\n",
		       "Tally-Base", &out);
	assert_int_equal(out.n, 2);
	assert_string_equal(out.v[1], "r/b:2@sha256:2");
	strv_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_args_stages_scratch), cmocka_unit_test(test_defaults_and_quotes),
		cmocka_unit_test(test_errors_name_line),    cmocka_unit_test(test_is_dockerfile),
		cmocka_unit_test(test_split),               cmocka_unit_test(test_trailers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
