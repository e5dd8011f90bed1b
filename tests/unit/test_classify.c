/* Unit tests for classify.c: one realistic log sample per failure class
 * (SPEC section 6), the stage defaults, hints and the transient set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "classify.h"

static enum tally_class cls_of(const char *stage, int timed_out, const char *log)
{
	return classify(stage, timed_out, log, log ? strlen(log) : 0);
}

static void expect_class(const char *what, enum tally_class got, enum tally_class want)
{
	if (got != want)
		fail_msg("%s: got class %s, want %s", what, tally_class_name(got), tally_class_name(want));
}

/* the seed's first cause: a tool missing from the base image */
static void test_recipe_missing_tool(void **state)
{
	(void)state;
	const char *log =
		"STEP 1/5: FROM registry.cn-hangzhou.aliyuncs.com/aspirin2019/anolisos:8.8\n"
		"STEP 2/5: ARG OPENIM_VERSION=v3.8.1\n"
		"STEP 3/5: RUN wget -q -O /tmp/src.tar.gz https://github.com/openimsdk/open-im-server/archive/refs/tags/v3.8.1.tar.gz\n"
		"/bin/sh: wget: command not found\n"
		"Error: building at STEP \"RUN wget -q -O /tmp/src.tar.gz https://github.com/openimsdk/open-im-server/archive/refs/tags/v3.8.1.tar.gz\": while running runtime: exit status 127\n";
	expect_class("wget missing at build", cls_of("build", 0, log), TC_RECIPE);
	/* a failing build with nothing recognisable is a recipe problem too */
	expect_class("plain build failure", cls_of("build", 0, "make: *** [Makefile:12: all] Error 2\n"), TC_RECIPE);
	expect_class("build failure with an empty log", cls_of("build", 0, ""), TC_RECIPE);
}

static void test_network(void **state)
{
	(void)state;
	const char *log =
		"STEP 3/5: RUN curl -fsSL -o /tmp/src.tar.gz https://github.com/openimsdk/open-im-server/archive/refs/tags/v3.8.1.tar.gz\n"
		"  % Total    % Received % Xferd  Average Speed   Time    Time     Time  Current\n"
		"                                 Dload  Upload   Total   Spent    Left  Speed\n"
		"  0     0    0     0    0     0      0      0 --:--:--  0:00:05 --:--:--     0\n"
		"curl: (6) Could not resolve host: github.com\n"
		"Error: building at STEP \"RUN curl ...\": while running runtime: exit status 6\n";
	expect_class("could not resolve host at build", cls_of("build", 0, log), TC_NETWORK);
	const char *push =
		"Getting image source signatures\n"
		"Copying blob sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef\n"
		"Error: writing blob: initiating layer upload to /v2/aspirin2019/openim-server/blobs/uploads/ in "
		"registry.cn-hangzhou.aliyuncs.com: Post \"https://registry.cn-hangzhou.aliyuncs.com/v2/aspirin2019/openim-server/blobs/uploads/\": "
		"dial tcp 47.97.242.13:443: connect: connection refused\n";
	expect_class("connection refused at push", cls_of("push", 0, push), TC_NETWORK);
	expect_class("connection reset at check", cls_of("check", 0, "fatal: unable to access 'https://github.com/openimsdk/open-im-server/': Recv failure: Connection reset by peer\n"), TC_NETWORK);
}

static void test_rate_limit(void **state)
{
	(void)state;
	const char *log =
		"STEP 3/5: RUN curl -fsSL https://api.github.com/repos/openimsdk/open-im-server/releases/latest\n"
		"{\"message\":\"API rate limit exceeded for 1.2.3.4. (But here's the good news: Authenticated requests get a higher rate limit. "
		"Check out the documentation for more details.)\",\"documentation_url\":\"https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting\"}\n"
		"curl: (22) The requested URL returned error: 403\n";
	expect_class("API rate limit exceeded at build", cls_of("build", 0, log), TC_RATE_LIMIT);
	expect_class("docker hub toomanyrequests", cls_of("build", 0,
		"Error: creating build container: initializing source docker://busybox:latest: reading manifest latest in docker.io/library/busybox: "
		"toomanyrequests: You have reached your pull rate limit. You may increase the limit by authenticating and upgrading\n"), TC_RATE_LIMIT);
	expect_class("HTTP 429 at check", cls_of("check", 0, "< HTTP/2 429\n< retry-after: 60\n"), TC_RATE_LIMIT);
}

static void test_missing_version(void **state)
{
	(void)state;
	const char *log =
		"STEP 3/5: RUN git clone --depth 1 --branch v3.8.1 https://github.com/openimsdk/open-im-server.git /src\n"
		"Cloning into '/src'...\n"
		"warning: Could not find remote branch v3.8.1 to clone.\n"
		"fatal: Remote branch v3.8.1 not found in upstream origin\n"
		"Error: building at STEP \"RUN git clone ...\": while running runtime: exit status 128\n";
	expect_class("remote branch not found at build", cls_of("build", 0, log), TC_MISSING_VERSION);
	expect_class("couldn't find remote ref", cls_of("build", 0, "fatal: couldn't find remote ref refs/tags/v9.9.9\n"), TC_MISSING_VERSION);
	expect_class("404 downloading the release at build", cls_of("build", 0,
		"wget: server returned error: HTTP/1.1 404 Not Found\n"), TC_MISSING_VERSION);
	expect_class("git ls-remote at check", cls_of("check", 0,
		"fatal: repository 'https://example/x.git/' not found\n"), TC_MISSING_VERSION);
}

/* SPEC section 6: a 404 on what tally itself pushed is verify (the read-back
 * stages) and never missing-version, whose hint says "skip it". */
static void test_own_readback_never_missing_version(void **state)
{
	(void)state;
	const char *log = "Error: reading manifest v7.0.5-anolis in 127.0.0.1:5000/ns/mongodb: "
			  "manifest unknown: manifest unknown\n404 Not Found\n";
	expect_class("manifest unknown at verify", cls_of("verify", 0, log), TC_VERIFY);
	expect_class("manifest unknown at floating", cls_of("floating", 0, log), TC_VERIFY);
	assert_int_not_equal(cls_of("push", 0, log), TC_MISSING_VERSION);
	assert_true(classify_transient(TC_VERIFY));
	assert_string_equal(classify_hint(TC_VERIFY), "registry inconsistent; retried");
	assert_string_equal(classify_hint(TC_MISSING_VERSION),
			    "check that upstream really published it; skip it if not");
}

static void test_too_large(void **state)
{
	(void)state;
	const char *log =
		"Getting image source signatures\n"
		"Copying blob sha256:2b1e2c0f6b1a7f4e0a3c3f3a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1\n"
		"Error: writing blob: adding layer with blob \"sha256:2b1e2c0f6b1a7f4e0a3c3f3a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1\": "
		"blob upload invalid: maximum size exceeded\n";
	expect_class("maximum size exceeded at push", cls_of("push", 0, log), TC_TOO_LARGE);
	expect_class("HTTP 413 at push", cls_of("push", 0,
		"Error: writing blob: uploading layer chunked: received unexpected HTTP status: 413 Request Entity Too Large\n"), TC_TOO_LARGE);
}

static void test_auth(void **state)
{
	(void)state;
	const char *log =
		"Getting image source signatures\n"
		"Error: trying to reuse blob sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef at destination: "
		"checking whether a blob sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef exists in "
		"registry.cn-hangzhou.aliyuncs.com/aspirin2019/openim-server: unauthorized: authentication required\n";
	expect_class("unauthorized at push", cls_of("push", 0, log), TC_AUTH);
	expect_class("docker denied at push", cls_of("push", 0,
		"denied: requested access to the resource is denied\n"), TC_AUTH);
}

/* buildah's words for an untrusted CA and for https spoken to plain http */
static void test_tls(void **state)
{
	(void)state;
	expect_class("x509 at push", cls_of("push", 0,
		"Copying blob sha256:639e617d92c9b19b192e8d2be35272201f2000e482e3ae40ed387080aa9426e3\n"
		"Error: pushing image \"127.0.0.1:47055/test/server:v1.1.0\" to \"docker://127.0.0.1:47055/test/server:v1.1.0\": "
		"trying to reuse blob sha256:639e at destination: pinging container registry 127.0.0.1:47055: "
		"Get \"https://127.0.0.1:47055/v2/\": x509: certificate signed by unknown authority\n"), TC_TLS);
	expect_class("plain http registry at push", cls_of("push", 0,
		"Error: pushing image: pinging container registry 127.0.0.1:5000: Get \"https://127.0.0.1:5000/v2/\": "
		"http: server gave HTTP response to HTTPS client\n"), TC_TLS);
	expect_class("curl verify failure at build", cls_of("build", 0,
		"curl: (60) SSL certificate problem: unable to get local issuer certificate\n"), TC_TLS);
	expect_class("openssl wrong version number", cls_of("check", 0,
		"error:0A00010B:SSL routines::wrong version number\n"), TC_TLS);
	/* a handshake that times out is the network's, not the certificate's */
	expect_class("TLS handshake timeout", cls_of("push", 0,
		"Get \"https://registry.example/v2/\": net/http: TLS handshake timeout\n"), TC_NETWORK);
	assert_non_null(strstr(classify_hint(TC_TLS), "/etc/containers/certs.d/HOST/ca.crt"));
	assert_non_null(strstr(classify_hint(TC_TLS), "registry.insecure"));
	assert_false(classify_transient(TC_TLS));
	assert_string_equal(tally_class_name(TC_TLS), "tls");
	assert_int_equal(tally_class_from_name("tls"), TC_TLS);
}

static void test_timeout(void **state)
{
	(void)state;
	/* a timed-out command is a timeout whatever its log says */
	expect_class("timed out build", cls_of("build", 1, "STEP 3/5: RUN make -j4\n"), TC_TIMEOUT);
	expect_class("timed out push with a network-looking log", cls_of("push", 1, "dial tcp 1.2.3.4:443: i/o timeout\n"), TC_TIMEOUT);
	expect_class("timed out with no log", cls_of("check", 1, NULL), TC_TIMEOUT);
}

static void test_stage_defaults(void **state)
{
	(void)state;
	expect_class("verify stage default", cls_of("verify", 0, "digest mismatch on read-back\n"), TC_VERIFY);
	expect_class("floating stage default", cls_of("floating", 0, ""), TC_VERIFY);
	expect_class("record stage default", cls_of("record", 0, "error: cannot lock ref 'refs/heads/main'\n"), TC_RECORD);
	/* SPEC section 6: anything unrecognised is internal */
	expect_class("unknown push failure", cls_of("push", 0, "Error: something odd happened\n"), TC_INTERNAL);
	expect_class("unknown check failure", cls_of("check", 0, "weird\n"), TC_NETWORK);
	expect_class("unknown stage", cls_of("cleanup", 0, "weird\n"), TC_INTERNAL);
	expect_class("no stage, no log", cls_of(NULL, 0, NULL), TC_INTERNAL);
}

/* Only the log's tail is read, and only len bytes of it. */
static void test_tail_and_length(void **state)
{
	(void)state;
	size_t n = 200 * 1024;
	char *big = malloc(n + 64);
	assert_non_null(big);
	memset(big, 'x', n);
	for (size_t i = 99; i < n; i += 100)
		big[i] = '\n';
	const char *end = "\nmaximum size exceeded\n";
	memcpy(big + n, end, strlen(end));
	expect_class("pattern at the end of a 200 KiB log", classify("push", 0, big, n + strlen(end)), TC_TOO_LARGE);
	/* len excludes the pattern: it must not be seen, even though bytes follow */
	expect_class("bytes past len are not read", classify("push", 0, big, n), TC_INTERNAL);
	free(big);
	const char *s = "unauthorized: authentication required";
	expect_class("len cuts the pattern", classify("push", 0, s, 5), TC_INTERNAL);
}

static void test_hints(void **state)
{
	(void)state;
	for (int k = TC_RECIPE; k < TC_CLASS_COUNT; k++) {
		const char *h = classify_hint((enum tally_class)k);
		if (!h || !*h)
			fail_msg("class %s has no hint", tally_class_name((enum tally_class)k));
	}
	assert_string_equal(classify_hint(TC_RECIPE), "fix the Dockerfile or build recipe; a recipe change re-runs it");
	assert_string_equal(classify_hint(TC_RATE_LIMIT), "waits for the reset; set GITHUB_TOKEN");
	assert_string_equal(classify_hint(TC_HELD), "nothing to do; the hold stands");
	/* out of range falls back to internal's hint */
	assert_string_equal(classify_hint(TC_CLASS_COUNT), classify_hint(TC_INTERNAL));
	assert_string_equal(classify_hint((enum tally_class)-1), classify_hint(TC_INTERNAL));
}

static void test_transient(void **state)
{
	(void)state;
	for (int k = TC_NONE; k < TC_CLASS_COUNT; k++) {
		enum tally_class c = (enum tally_class)k;
		int want = c == TC_NETWORK || c == TC_RATE_LIMIT || c == TC_TIMEOUT || c == TC_VERIFY ||
			   c == TC_RECORD;
		if (!!classify_transient(c) != want)
			fail_msg("classify_transient(%s) = %d, want %d", tally_class_name(c), classify_transient(c), want);
	}
}

static void expect_line(const char *stage, const char *log, const char *want)
{
	char *got = classify_line(stage, log, log ? strlen(log) : 0);
	if (!want) {
		if (got)
			fail_msg("classify_line(%s) = '%s', want NULL", stage, got);
		return;
	}
	if (!got || strcmp(got, want) != 0)
		fail_msg("classify_line(%s) = '%s', want '%s'", stage, got ? got : "(null)", want);
	free(got);
}

static void test_decisive_line(void **state)
{
	(void)state;
	/* the line the class pattern matched wins over the closing words */
	expect_line("build",
		    "STEP 2/4: RUN wget -q https://example.invalid/x.tar.gz\n"
		    "/bin/sh: 1: wget: command not found\n"
		    "error building at STEP \"RUN wget\": exit status 127\n",
		    "/bin/sh: 1: wget: command not found");
	expect_line("push",
		    "Getting image source signatures\n"
		    "Error: pinging container registry 127.0.0.1:5000: Get \"https://127.0.0.1:5000/v2/\": dial tcp 127.0.0.1:5000: connect: connection refused\n"
		    "done\n",
		    "Error: pinging container registry 127.0.0.1:5000: Get \"https://127.0.0.1:5000/v2/\": dial tcp 127.0.0.1:5000: connect: connection refused");
	/* of several matching lines, the newest */
	expect_line("build", "a: command not found\nb: command not found\nclosing\n", "b: command not found");
	/* nothing matches: the last non-empty line, trimmed */
	expect_line("build", "step one\n  something odd happened  \n\n   \n", "something odd happened");
	/* a progress bar's carriage returns: the last redraw */
	expect_line("push", "Copying blob 10%\rCopying blob 50%\rCopying blob failed\n", "Copying blob failed");
	/* control characters cannot reach a terminal or a mail header */
	expect_line("build", "bad \033[31mred\033[0m\tline\n", "bad  [31mred [0m line");
	expect_line("build", "", NULL);
	expect_line("build", "\n\n  \n", NULL);
	expect_line("build", NULL, NULL);
	/* at most 200 bytes, never half a character */
	char big[600];
	memset(big, 'x', 199);
	strcpy(big + 199, "\xe4\xb8\xad\xe6\x96\x87 tail\n"); /* 中 starts at byte 199 */
	char *got = classify_line("build", big, strlen(big));
	assert_non_null(got);
	assert_int_equal(strlen(got), 199);
	free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recipe_missing_tool),
		cmocka_unit_test(test_network),
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_missing_version),
		cmocka_unit_test(test_own_readback_never_missing_version),
		cmocka_unit_test(test_too_large),
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_stage_defaults),
		cmocka_unit_test(test_tail_and_length),
		cmocka_unit_test(test_hints),
		cmocka_unit_test(test_transient),
		cmocka_unit_test(test_decisive_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
