/* fuzz_github.c - GitHub API answers, through the real path: upstream_check
 * of a github-release (input byte 0 even) or github-tag component against a
 * loopback server whose answer is 200 with a Link header (input line 1,
 * after byte 0; may be empty) and the body (the rest). Whatever comes back,
 * the versions offered are valid versions and a failure has a class and a
 * message naming the URL (or the upstream, for what the filters left). */
#include "config.h"
#include "fuzz.h"
#include "http.h"
#include "upstream.h"
#include "version.h"

static struct tally_conf *conf;
static char base[64];

static void setup(void)
{
	if (conf)
		return;
	setenv("TALLY_HTTP_TIMEOUT", "2", 1);
	int port = fuzz_http_start();
	snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
	char text[1024];
	snprintf(text, sizeof text,
		 "[github]\n\tapiUrl = %s\n"
		 "[component \"rel\"]\n\tfile = v.txt\n\tupstream = github-release o/r\n\tbuild = true\n"
		 "[component \"tag\"]\n\tfile = v.txt\n\tupstream = github-tag o/r\n\tbuild = true\n",
		 base);
	unsetenv("TALLY_GITHUB_API");
	unsetenv("GITHUB_TOKEN");
	struct tally_err err = {0};
	if (config_load_buffer("fuzz.conf", text, strlen(text), &conf, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	if (size < 1)
		return 0;
	int tags = data[0] & 1;
	const char *p = (const char *)data + 1, *end = (const char *)data + size;
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	size_t link_len = nl ? (size_t)(nl - p) : 0;
	const char *body = nl ? nl + 1 : p;
	size_t body_len = (size_t)(end - body);
	struct sbuf resp = {0};
	sbuf_adds(&resp, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n");
	if (link_len && !memchr(p, '\r', link_len) && !memchr(p, '\0', link_len)) {
		sbuf_adds(&resp, "Link: ");
		sbuf_add(&resp, p, link_len);
		sbuf_adds(&resp, "\r\n");
	}
	sbuf_addf(&resp, "Content-Length: %zu\r\n\r\n", body_len);
	sbuf_add(&resp, body, body_len);
	fuzz_http_set(resp.buf, resp.len);
	sbuf_free(&resp);
	http_cache_forget();

	struct upstream_ctx ctx = {.conf = conf, .repo_root = "/tmp", .state_dir = "/nonexistent", .cancel_fd = -1};
	struct upstream_result res;
	memset(&res, 0, sizeof res);
	upstream_check(&ctx, &conf->comps[tags], &res);
	for (size_t i = 0; i < res.versions.n; i++)
		FUZZ_REQUIRE(version_valid(res.versions.v[i]), "offered an invalid version '%s'", res.versions.v[i]);
	if (res.cls != TC_NONE)
		FUZZ_REQUIRE(res.message && (strstr(res.message, base) || strstr(res.message, "o/r")),
			     "failure naming neither the URL nor the upstream: %s",
			     res.message ? res.message : "(none)");
	if (getenv("TALLY_FUZZ_DEBUG"))
		fprintf(stderr, "versions %zu, class %d: %s\n", res.versions.n, (int)res.cls,
			res.message ? res.message : "");
	upstream_result_free(&res);
	return 0;
}
