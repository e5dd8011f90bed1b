/* fuzz_registry.c - registry answers, through the real client: a loopback
 * "registry" answers 200 with the Content-Type of input line 1, the
 * Docker-Content-Digest of line 2 (when not empty) and the rest as body; a
 * manifest GET, a digest HEAD(+GET) and a tags list read it. Whatever comes
 * back, a digest handed out is well-formed, and a failure has a message. */
#include "fuzz.h"
#include "registry.h"

static struct registry *reg;
static char host[64];

static int digest_ok(const char *d)
{
	return strncmp(d, "sha256:", 7) == 0 && strlen(d) == 71 && strspn(d + 7, "0123456789abcdef") == 64;
}

static const char *line(const char **p, const char *end, size_t *len)
{
	const char *s = *p, *nl = memchr(s, '\n', (size_t)(end - s));
	*len = nl ? (size_t)(nl - s) : (size_t)(end - s);
	*p = nl ? nl + 1 : end;
	return s;
}

static int header_safe(const char *s, size_t n)
{
	return !memchr(s, '\r', n) && !memchr(s, '\0', n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!reg) {
		setenv("TALLY_HTTP_TIMEOUT", "2", 1);
		snprintf(host, sizeof host, "127.0.0.1:%d", fuzz_http_start());
		struct tally_err err = {0};
		reg = registry_new(NULL, 1, &err);
		if (!reg)
			abort();
	}
	const char *p = (const char *)data, *end = p + size;
	size_t ctl, dgl;
	const char *ct = line(&p, end, &ctl), *dg = line(&p, end, &dgl);
	struct sbuf resp = {0};
	sbuf_adds(&resp, "HTTP/1.1 200 OK\r\nConnection: close\r\n");
	if (ctl && header_safe(ct, ctl)) {
		sbuf_adds(&resp, "Content-Type: ");
		sbuf_add(&resp, ct, ctl);
		sbuf_adds(&resp, "\r\n");
	}
	if (dgl && header_safe(dg, dgl)) {
		sbuf_adds(&resp, "Docker-Content-Digest: ");
		sbuf_add(&resp, dg, dgl);
		sbuf_adds(&resp, "\r\n");
	}
	sbuf_addf(&resp, "Content-Length: %zu\r\n\r\n", (size_t)(end - p));
	sbuf_add(&resp, p, (size_t)(end - p));
	fuzz_http_set(resp.buf, resp.len);
	sbuf_free(&resp);

	char image[128];
	snprintf(image, sizeof image, "%s/fuzz/img", host);
	struct tally_err err = {0};
	struct sbuf body = {0};
	char *mt = NULL;
	char digest[REGISTRY_DIGEST_MAX] = "";
	if (registry_get_manifest(reg, image, "v1", &body, &mt, digest, &err) == 0)
		FUZZ_REQUIRE(digest_ok(digest), "manifest digest '%s'", digest);
	else
		FUZZ_REQUIRE(err.msg[0], "manifest failure without a message");
	free(mt);
	sbuf_free(&body);
	memset(&err, 0, sizeof err);
	if (registry_digest(reg, image, "v1", digest, &err) == 0)
		FUZZ_REQUIRE(digest_ok(digest), "HEAD digest '%s'", digest);
	else
		FUZZ_REQUIRE(err.msg[0], "digest failure without a message");
	struct strv tags = {0};
	memset(&err, 0, sizeof err);
	int tr = registry_tags(reg, image, &tags, 3, &err);
	if (tr < 0)
		FUZZ_REQUIRE(err.msg[0], "tags failure without a message");
	if (getenv("TALLY_FUZZ_DEBUG"))
		fprintf(stderr, "tags: %d (%zu) %s\n", tr, tags.n, err.msg);
	strv_free(&tags);
	return 0;
}
