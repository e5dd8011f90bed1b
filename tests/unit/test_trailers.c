/* Unit tests for trailers.c: the messages of tally's record and hold
 * commits, formatted exactly as history readers expect and read back with
 * the parsers they use (repo_trailer, bases_trailers). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bases.h"
#include "repo.h"
#include "trailers.h"

static char *const images[] = {"reg.example/ns/server:v3.8.2", "reg.example/ns/server:v3.8.2-anolis"};
static char *const platforms[] = {"linux/amd64 sha256:1111111111111111111111111111111111111111111111111111111111111111",
				  "linux/arm64 sha256:2222222222222222222222222222222222222222222222222222222222222222"};
static char *const bases[] = {"docker.io/library/alpine@sha256:3333333333333333333333333333333333333333333333333333333333333333"};
#define DIGEST "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static const struct trailers ship = {
	.verb = "record", .action = "ship", .component = "server", .version = "v3.8.2",
	.previous = "v3.8.1", .images = images, .nimages = 2, .digest = DIGEST,
	.recipe = "f00d", .attempt = "20261202T003000Z-server-1", .platforms = platforms,
	.nplatforms = 2, .bases = bases, .nbases = 1, .host = "build-1",
	.cause = "upstream v3.8.2 released",
};

/* The exact text: subject, blank line, trailers in their fixed order. */
static void test_record_message_text(void **state)
{
	(void)state;
	struct sbuf m = {0};
	trailers_format(&ship, &m);
	assert_string_equal(sbuf_str(&m),
			    "record server v3.8.2\n\n"
			    "Tally-Action: ship\n"
			    "Tally-Component: server\n"
			    "Tally-Version: v3.8.2\n"
			    "Tally-Previous: v3.8.1\n"
			    "Tally-Image: reg.example/ns/server:v3.8.2\n"
			    "Tally-Image: reg.example/ns/server:v3.8.2-anolis\n"
			    "Tally-Digest: " DIGEST "\n"
			    "Tally-Recipe: f00d\n"
			    "Tally-Attempt: 20261202T003000Z-server-1\n"
			    "Tally-Platform: linux/amd64 sha256:1111111111111111111111111111111111111111111111111111111111111111\n"
			    "Tally-Platform: linux/arm64 sha256:2222222222222222222222222222222222222222222222222222222222222222\n"
			    "Tally-Base: docker.io/library/alpine@sha256:3333333333333333333333333333333333333333333333333333333333333333\n"
			    "Tally-Host: build-1\n"
			    "Tally-Cause: upstream v3.8.2 released\n");
	sbuf_free(&m);
}

static void expect_trailer(const char *msg, const char *name, const char *want)
{
	char *got = repo_trailer(msg, name);
	if (!want) {
		if (got)
			fail_msg("%s: want none, got '%s'", name, got);
		return;
	}
	if (!got || strcmp(got, want) != 0)
		fail_msg("%s: want '%s', got '%s'", name, want, got ? got : "(none)");
	free(got);
}

static void expect_all(const char *msg, const char *name, char *const *want, size_t n)
{
	struct strv got = {0};
	bases_trailers(msg, name, &got);
	assert_int_equal(got.n, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(got.v[i], want[i]);
	strv_free(&got);
}

/* What is formatted reads back as itself. */
static void test_record_round_trip(void **state)
{
	(void)state;
	struct sbuf m = {0};
	trailers_format(&ship, &m);
	const char *msg = sbuf_str(&m);
	expect_trailer(msg, "Tally-Action", ship.action);
	expect_trailer(msg, "Tally-Component", ship.component);
	expect_trailer(msg, "Tally-Version", ship.version);
	expect_trailer(msg, "Tally-Previous", ship.previous);
	expect_trailer(msg, "Tally-Digest", ship.digest);
	expect_trailer(msg, "Tally-Recipe", ship.recipe);
	expect_trailer(msg, "Tally-Attempt", ship.attempt);
	expect_trailer(msg, "Tally-Host", ship.host);
	expect_trailer(msg, "Tally-Cause", ship.cause);
	expect_trailer(msg, "Tally-Reason", NULL);
	expect_all(msg, "Tally-Image", images, 2);
	expect_all(msg, "Tally-Platform", platforms, 2);
	expect_all(msg, "Tally-Base", bases, 1);
	char *action = repo_trailer(msg, "Tally-Action");
	assert_int_equal(trailers_is_record_action(action), 1);
	free(action);
	sbuf_free(&m);
}

/* Absent facts leave their trailers out: an adopt without attempt or
 * previous, a hold with and without a reason. */
static void test_optional_trailers(void **state)
{
	(void)state;
	struct trailers adopt = {
		.verb = "adopt", .action = "adopt", .component = "redis", .version = "7.2.4",
		.images = images, .nimages = 1, .digest = DIGEST, .recipe = "beef", .cause = "operator",
	};
	struct sbuf m = {0};
	trailers_format(&adopt, &m);
	assert_string_equal(sbuf_str(&m),
			    "adopt redis 7.2.4\n\n"
			    "Tally-Action: adopt\n"
			    "Tally-Component: redis\n"
			    "Tally-Version: 7.2.4\n"
			    "Tally-Image: reg.example/ns/server:v3.8.2\n"
			    "Tally-Digest: " DIGEST "\n"
			    "Tally-Recipe: beef\n"
			    "Tally-Cause: operator\n");
	expect_trailer(sbuf_str(&m), "Tally-Previous", NULL);
	expect_trailer(sbuf_str(&m), "Tally-Attempt", NULL);
	sbuf_reset(&m);

	struct trailers skip = {
		.verb = "skip", .action = "skip", .component = "server", .version = "v3.8.1",
		.reason = "wget missing in base image",
	};
	trailers_format(&skip, &m);
	assert_string_equal(sbuf_str(&m),
			    "skip server v3.8.1\n\n"
			    "Tally-Action: skip\n"
			    "Tally-Component: server\n"
			    "Tally-Version: v3.8.1\n"
			    "Tally-Reason: wget missing in base image\n");
	expect_trailer(sbuf_str(&m), "Tally-Reason", "wget missing in base image");
	assert_false(trailers_is_record_action("skip"));
	sbuf_reset(&m);

	skip.action = skip.verb = "unpin";
	skip.reason = NULL;
	trailers_format(&skip, &m);
	assert_string_equal(sbuf_str(&m),
			    "unpin server v3.8.1\n\n"
			    "Tally-Action: unpin\n"
			    "Tally-Component: server\n"
			    "Tally-Version: v3.8.1\n");
	sbuf_free(&m);
}

static void test_record_actions(void **state)
{
	(void)state;
	static const char *const yes[] = {"ship", "rebuild", "reset", "adopt"};
	static const char *const no[] = {"skip", "unskip", "pin", "unpin", "Ship", "ship ", "", "record"};
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(trailers_is_record_action(yes[i]), 1);
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
		assert_int_equal(trailers_is_record_action(no[i]), 0);
	assert_int_equal(trailers_is_record_action(NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_message_text),
		cmocka_unit_test(test_record_round_trip),
		cmocka_unit_test(test_optional_trailers),
		cmocka_unit_test(test_record_actions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
