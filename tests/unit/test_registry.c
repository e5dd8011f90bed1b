/* test_registry.c - the OCI client against a real docker-registry on
 * loopback (plain, and with htpasswd basic auth when `htpasswd` is
 * installed) and against tests/fixtures/registry/token_server.py for the
 * Bearer flow and misbehaving registries. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "registry.h"
#include "tags.h"

#define OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"

/* ---- processes, ports, files ---- */

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void rm_rf(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Starts argv with stdout to out_path (NULL: /dev/null), stderr to log_path. */
static pid_t spawn(char *const argv[], const char *out_path, const char *log_path)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int out = open(out_path ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int log = open(log_path ? log_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(out, 1);
		dup2(log, 2);
		setpgid(0, 0);
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static void stop(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	for (int i = 0; i < 100; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		usleep(20000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static size_t discard(char *p, size_t s, size_t n, void *u)
{
	(void)p;
	(void)u;
	return s * n;
}

/* Waits until url answers with any HTTP status. */
static int wait_http(const char *url)
{
	CURL *c = curl_easy_init();
	int ok = 0;
	for (int i = 0; i < 300 && !ok; i++) {
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
		curl_easy_setopt(c, CURLOPT_TIMEOUT, 2L);
		if (curl_easy_perform(c) == CURLE_OK)
			ok = 1;
		else
			usleep(50000);
	}
	curl_easy_cleanup(c);
	return ok;
}

static int have_program(const char *name)
{
	const char *path = getenv("PATH");
	char *copy = strdup(path ? path : "/usr/bin:/bin");
	int found = 0;
	for (char *save = NULL, *d = strtok_r(copy, ":", &save); d && !found;
	     d = strtok_r(NULL, ":", &save)) {
		char *p = xasprintf("%s/%s", d, name);
		found = access(p, X_OK) == 0;
		free(p);
	}
	free(copy);
	return found;
}

/* ---- a real docker-registry ---- */

struct reg_env {
	char dir[64];
	int port;
	pid_t pid;
	char host[32];   /* 127.0.0.1:PORT */
	char image[64];  /* HOST/t/app */
	char *manifest;  /* pushed to t/app:v1 */
	char digest[REGISTRY_DIGEST_MAX];
	char *auth_file; /* NULL without auth */
};

static int start_registry(struct reg_env *e, int with_auth)
{
	char *cfg, *text, *log, *url;
	snprintf(e->dir, sizeof e->dir, "/tmp/tally-reg-XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	e->port = free_port();
	snprintf(e->host, sizeof e->host, "127.0.0.1:%d", e->port);
	snprintf(e->image, sizeof e->image, "%s/t/app", e->host);
	char *auth_cfg = xstrdup("");
	if (with_auth) {
		char *pw = xasprintf("%s/htpasswd", e->dir);
		char *argv[] = {"htpasswd", "-Bbn", "alice", "secret", NULL};
		pid_t p = spawn(argv, pw, NULL);
		int st;
		waitpid(p, &st, 0);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		free(auth_cfg);
		auth_cfg = xasprintf("auth:\n  htpasswd:\n    realm: tally-test\n    path: %s\n", pw);
		free(pw);
		/* docker-style key: scheme prefix and /v1/ suffix are ignored */
		e->auth_file = xasprintf("%s/auth.json", e->dir);
		char *json = xasprintf("{\"auths\": {\"https://%s/v1/\": {\"auth\": \"YWxpY2U6c2VjcmV0\"}}}",
				       e->host);
		write_file(e->auth_file, json);
		free(json);
	}
	cfg = xasprintf("%s/config.yml", e->dir);
	text = xasprintf("version: 0.1\n"
			 "log:\n  level: error\n  accesslog:\n    disabled: true\n"
			 "storage:\n  filesystem:\n    rootdirectory: %s/data\n  delete:\n    enabled: true\n"
			 "http:\n  addr: 127.0.0.1:%d\n%s",
			 e->dir, e->port, auth_cfg);
	write_file(cfg, text);
	log = xasprintf("%s/registry.log", e->dir);
	char *argv[] = {"docker-registry", "serve", cfg, NULL};
	e->pid = spawn(argv, NULL, log);
	url = xasprintf("http://%s/v2/", e->host);
	int ok = wait_http(url);
	free(url);
	free(cfg);
	free(text);
	free(log);
	free(auth_cfg);
	return ok ? 0 : -1;
}

static size_t grab_location(char *p, size_t s, size_t n, void *u)
{
	char **loc = u;
	size_t len = s * n;
	if (len > 9 && !strncasecmp(p, "Location:", 9)) {
		const char *v = p + 9;
		while (*v == ' ')
			v++;
		size_t vl = (size_t)(p + len - v);
		while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
			vl--;
		free(*loc);
		*loc = xstrndup(v, vl);
	}
	return len;
}

/* Monolithic blob upload: POST .../blobs/uploads/ then PUT ?digest=. */
static void push_blob(const struct reg_env *e, const char *name, const char *data,
		      char digest[REGISTRY_DIGEST_MAX])
{
	CURL *c = curl_easy_init();
	char *loc = NULL, *url = xasprintf("http://%s/v2/%s/blobs/uploads/", e->host, name);
	long code = 0;
	registry_sha256_digest(data, strlen(data), digest);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, grab_location);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &loc);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	if (e->auth_file)
		curl_easy_setopt(c, CURLOPT_USERPWD, "alice:secret");
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	assert_int_equal(code, 202);
	assert_non_null(loc);
	free(url);
	url = loc[0] == '/' ? xasprintf("http://%s%s", e->host, loc) : xstrdup(loc);
	char *put = xasprintf("%s%cdigest=%s", url, strchr(url, '?') ? '&' : '?', digest);
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/octet-stream");
	curl_easy_setopt(c, CURLOPT_URL, put);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, data);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	assert_int_equal(code, 201);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	free(put);
	free(url);
	free(loc);
}

/* Pushes a two-blob OCI image as NAME:TAG; returns the manifest (caller frees). */
static char *push_image(struct reg_env *e, const char *name, const char *tag)
{
	const char *config = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";
	char *layer = xasprintf("layer of %s", name);
	char cd[REGISTRY_DIGEST_MAX], ld[REGISTRY_DIGEST_MAX];
	struct tally_err err = {0};
	push_blob(e, name, config, cd);
	push_blob(e, name, layer, ld);
	char *m = xasprintf("{\"schemaVersion\":2,\"mediaType\":\"" OCI_MANIFEST "\","
			    "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
			    "\"digest\":\"%s\",\"size\":%zu},"
			    "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\","
			    "\"digest\":\"%s\",\"size\":%zu}]}",
			    cd, strlen(config), ld, strlen(layer));
	struct registry *r = registry_new(e->auth_file, 1, &err);
	assert_non_null(r);
	char *image = xasprintf("%s/%s", e->host, name);
	if (registry_put_manifest(r, image, tag, m, strlen(m), OCI_MANIFEST, &err) < 0)
		fail_msg("push %s:%s: %s", image, tag, err.msg);
	registry_free(r);
	free(image);
	free(layer);
	return m;
}

static int teardown_reg(void **state);

static int setup_plain(void **state)
{
	struct reg_env *e = xcalloc(1, sizeof *e);
	*state = e;
	if (!have_program("docker-registry")) {
		fprintf(stderr, "docker-registry not installed\n");
		return -1;
	}
	if (start_registry(e, 0) < 0) {
		teardown_reg(state);
		*state = NULL;
		return -1;
	}
	e->manifest = push_image(e, "t/app", "v1");
	registry_sha256_digest(e->manifest, strlen(e->manifest), e->digest);
	return 0;
}

static int teardown_reg(void **state)
{
	struct reg_env *e = *state;
	if (!e)
		return 0;
	stop(e->pid);
	if (e->dir[0])
		rm_rf(e->dir);
	free(e->manifest);
	free(e->auth_file);
	free(e);
	return 0;
}

/* ---- tests without a server ---- */

static void test_bad_input(void **state)
{
	(void)state;
	struct tally_err err = {0};
	struct registry *r = registry_new(NULL, 1, &err);
	char d[REGISTRY_DIGEST_MAX];
	assert_int_equal(registry_digest(r, "127.0.0.1:1/Bad/Name", "v1", d, &err), -1);
	assert_int_equal(err.cls, TC_INPUT);
	assert_int_equal(registry_digest(r, "127.0.0.1:1/t/app", "../x", d, &err), -1);
	assert_int_equal(err.cls, TC_INPUT);
	assert_int_equal(registry_digest(r, "127.0.0.1:1/t/app", "v1?x=1", d, &err), -1);
	assert_int_equal(err.cls, TC_INPUT);
	assert_int_equal(registry_delete_manifest(r, "127.0.0.1:1/t/app", "v1", &err), -1);
	assert_int_equal(err.cls, TC_INPUT);
	registry_free(r);
}

static void test_auth_file_errors(void **state)
{
	(void)state;
	char dir[] = "/tmp/tally-regauth-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct tally_err err = {0};
	char *p = xasprintf("%s/auth.json", dir);
	/* a missing file means no credentials */
	struct registry *r = registry_new(p, 0, &err);
	assert_non_null(r);
	registry_free(r);
	write_file(p, "{\"auths\": {\"h\": {\"auth\": \"c2VjcmV0LXBhc3M\"\n");
	r = registry_new(p, 0, &err);
	assert_null(r);
	assert_int_equal(err.cls, TC_INPUT);
	assert_non_null(strstr(err.msg, p));
	assert_null(strstr(err.msg, "c2VjcmV0"));
	free(p);
	rm_rf(dir);
}

static void test_connection_refused(void **state)
{
	(void)state;
	struct tally_err err = {0};
	struct registry *r = registry_new(NULL, 1, &err);
	char d[REGISTRY_DIGEST_MAX];
	int port = free_port();
	char *image = xasprintf("127.0.0.1:%d/t/app", port);
	char *url = xasprintf("http://127.0.0.1:%d/v2/t/app/manifests/v1", port);
	assert_int_equal(registry_digest(r, image, "v1", d, &err), -1);
	assert_int_equal(err.cls, TC_NETWORK);
	assert_non_null(strstr(err.msg, url));
	registry_free(r);
	free(image);
	free(url);
}

/* ---- plain registry ---- */

static void test_get_manifest(void **state)
{
	struct reg_env *e = *state;
	struct tally_err err = {0};
	struct registry *r = registry_new(NULL, 1, &err);
	struct sbuf body = {0};
	char *mt = NULL, d[REGISTRY_DIGEST_MAX];
	if (registry_get_manifest(r, e->image, "v1", &body, &mt, d, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(body.buf, e->manifest);
	assert_string_equal(mt, OCI_MANIFEST);
	assert_string_equal(d, e->digest);
	free(mt);
	mt = NULL;
	/* by digest too */
	if (registry_get_manifest(r, e->image, e->digest, &body, &mt, d, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(body.buf, e->manifest);
	free(mt);
	sbuf_free(&body);
	registry_free(r);
}

static void test_head_digest(void **state)
{
	struct reg_env *e = *state;
	struct tally_err err = {0};
	struct registry *r = registry_new(NULL, 1, &err);
	char d[REGISTRY_DIGEST_MAX];
	if (registry_digest(r, e->image, "v1", d, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(d, e->digest);
	registry_free(r);
}

static void test_put_second_tag(void **state)
{
	struct reg_env *e = *state;
	struct tally_err err = {0};
	struct registry *r = registry_new(NULL, 1, &err);
	struct sbuf body = {0};
	char *mt = NULL, d[REGISTRY_DIGEST_MAX], d2[REGISTRY_DIGEST_MAX];
	if (registry_get_manifest(r, e->image, "v1", &body, &mt, d, &err) < 0)
		fail_msg("%s", err.msg);
	if (registry_put_manifest(r, e->image, "v1-anolis", body.buf, body.len, mt, &err) < 0)
		fail_msg("%s", err.msg);
	if (registry_digest(r, e->image, "v1-anolis", d2, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(d2, d);
	free(mt);
	sbuf_free(&body);
	registry_free(r);
}

static void test_missing_tag(void **state)
{
	struct reg_env *e = *state;
	struct tally_err err = {0};
	struct registry *r = registry_new(NULL, 1, &err);
	struct sbuf body = {0};
	char *mt = NULL, d[REGISTRY_DIGEST_MAX];
	char *url = xasprintf("http://%s/v2/t/app/manifests/nope: 404", e->host);
	assert_int_equal(registry_get_manifest(r, e->image, "nope", &body, &mt, d, &err), -1);
	assert_int_equal(err.cls, TC_MISSING_VERSION);
	assert_non_null(strstr(err.msg, url));
	assert_non_null(strstr(err.msg, "MANIFEST_UNKNOWN"));
	assert_null(mt);
	assert_int_equal(registry_digest(r, e->image, "nope", d, &err), -1);
	assert_int_equal(err.cls, TC_MISSING_VERSION);
	assert_non_null(strstr(err.msg, url));
	free(url);
	sbuf_free(&body);
	registry_free(r);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* docker-registry 2.8 ignores ?n= for tags (paging came in distribution
 * 3), so here the real registry only shows that every tag comes back;
 * test_bearer_paging covers Link paging against the fixture. */
static void test_tags_list(void **state)
{
	struct reg_env *e = *state;
	struct tally_err err = {0};
	struct registry *r = registry_new(NULL, 1, &err);
	struct strv tags = {0};
	char *image = xasprintf("%s/t/paged", e->host);
	char *m = push_image(e, "t/paged", "a1");
	for (int i = 2; i <= 5; i++) {
		char tag[16];
		snprintf(tag, sizeof tag, "a%d", i);
		if (registry_put_manifest(r, image, tag, m, strlen(m), OCI_MANIFEST, &err) < 0)
			fail_msg("%s", err.msg);
	}
	registry_set_page_size(r, 2);
	if (registry_tags(r, image, &tags, 10, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(tags.n, 5);
	qsort(tags.v, tags.n, sizeof *tags.v, cmp_str);
	for (size_t i = 0; i < 5; i++) {
		char want[32];
		snprintf(want, sizeof want, "a%zu", i + 1);
		assert_string_equal(tags.v[i], want);
	}
	strv_free(&tags);
	/* an unknown repository */
	char *none = xasprintf("%s/t/none", e->host);
	assert_int_equal(registry_tags(r, none, &tags, 10, &err), -1);
	assert_int_equal(err.cls, TC_MISSING_VERSION);
	assert_non_null(strstr(err.msg, "/v2/t/none/tags/list"));
	free(none);
	free(m);
	free(image);
	registry_free(r);
}

static void test_delete(void **state)
{
	struct reg_env *e = *state;
	struct tally_err err = {0};
	struct registry *r = registry_new(NULL, 1, &err);
	char d[REGISTRY_DIGEST_MAX];
	char *image = xasprintf("%s/t/del", e->host);
	char *m = push_image(e, "t/del", "x");
	if (registry_digest(r, image, "x", d, &err) < 0)
		fail_msg("%s", err.msg);
	if (registry_delete_manifest(r, image, d, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(registry_digest(r, image, "x", d, &err), -1);
	assert_int_equal(err.cls, TC_MISSING_VERSION);
	free(m);
	free(image);
	registry_free(r);
}

static void test_tls_required(void **state)
{
	struct reg_env *e = *state;
	struct tally_err err = {0};
	struct registry *r = registry_new(NULL, 0, &err);
	char d[REGISTRY_DIGEST_MAX];
	char *url = xasprintf("https://%s/v2/t/app/manifests/v1", e->host);
	/* not insecure: https only, which a plain-http registry cannot answer;
	 * class tls with a readable message, not OpenSSL's */
	assert_int_equal(registry_digest(r, e->image, "v1", d, &err), -1);
	assert_int_equal(err.cls, TC_TLS);
	assert_non_null(strstr(err.msg, url));
	assert_non_null(strstr(err.msg, "registry.insecure"));
	assert_null(strstr(err.msg, "SSL routines"));
	assert_null(strstr(err.msg, "wrong version number"));
	free(url);
	registry_free(r);
}

static void test_insecure_fallback(void **state)
{
	struct reg_env *e = *state;
	struct tally_err err = {0};
	struct registry *r = registry_new(NULL, 1, &err);
	char d[REGISTRY_DIGEST_MAX];
	/* 0.0.0.0 reaches the local registry but is not a loopback name, so
	 * insecure mode tries https first and falls back to http */
	char *image = xasprintf("0.0.0.0:%d/t/app", e->port);
	if (registry_digest(r, image, "v1", d, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(d, e->digest);
	/* remembered: the next request goes to http at once */
	if (registry_digest(r, image, "v1", d, &err) < 0)
		fail_msg("%s", err.msg);
	free(image);
	registry_free(r);
}

/* ---- registry with htpasswd basic auth ---- */

static int setup_basic(void **state)
{
	struct reg_env *e = xcalloc(1, sizeof *e);
	*state = e;
	if (!have_program("docker-registry") || !have_program("htpasswd")) {
		fprintf(stderr, "docker-registry or htpasswd (apache2-utils) missing: basic auth not tested\n");
		return 0;
	}
	if (start_registry(e, 1) < 0) {
		teardown_reg(state);
		*state = NULL;
		return -1;
	}
	e->manifest = push_image(e, "t/app", "v1");
	registry_sha256_digest(e->manifest, strlen(e->manifest), e->digest);
	return 0;
}

static void test_basic_auth(void **state)
{
	struct reg_env *e = *state;
	if (!e->pid)
		skip();
	struct tally_err err = {0};
	struct registry *r = registry_new(e->auth_file, 1, &err);
	char d[REGISTRY_DIGEST_MAX];
	struct strv tags = {0};
	if (registry_digest(r, e->image, "v1", d, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(d, e->digest);
	if (registry_tags(r, e->image, &tags, 5, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(tags.n, 1);
	assert_string_equal(tags.v[0], "v1");
	strv_free(&tags);
	registry_free(r);

	/* no credentials: auth class, URL named */
	r = registry_new(NULL, 1, &err);
	assert_int_equal(registry_digest(r, e->image, "v1", d, &err), -1);
	assert_int_equal(err.cls, TC_AUTH);
	assert_non_null(strstr(err.msg, "/v2/t/app/manifests/v1"));
	registry_free(r);

	/* wrong password: a second 401, and no secret in the message */
	char *bad = xasprintf("%s/bad.json", e->dir);
	char *json = xasprintf("{\"auths\":{\"%s\":{\"username\":\"alice\",\"password\":\"wrong-pw\"}}}",
			       e->host);
	write_file(bad, json);
	r = registry_new(bad, 1, &err);
	assert_non_null(r);
	assert_int_equal(registry_digest(r, e->image, "v1", d, &err), -1);
	assert_int_equal(err.cls, TC_AUTH);
	assert_non_null(strstr(err.msg, "/v2/t/app/manifests/v1"));
	assert_null(strstr(err.msg, "wrong-pw"));
	assert_null(strstr(err.msg, "YWxp"));
	registry_free(r);
	free(bad);
	free(json);
}

/* ---- Bearer fixture ---- */

struct fix_env {
	char dir[64];
	pid_t pid;
	int port;
	char host[32];
	char *auth_file;
};

static int setup_fixture(void **state)
{
	struct fix_env *f = xcalloc(1, sizeof *f);
	*state = f;
	char *src = xstrdup(__FILE__);
	char *script = xasprintf("%s/../fixtures/registry/token_server.py", dirname(src));
	free(src);
	snprintf(f->dir, sizeof f->dir, "/tmp/tally-regfix-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	char *out = xasprintf("%s/port", f->dir);
	const char *py = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
	char *argv[] = {(char *)py, script, NULL};
	f->pid = spawn(argv, out, NULL);
	for (int i = 0; i < 200 && !f->port; i++) {
		FILE *fp = fopen(out, "r");
		if (fp) {
			if (fscanf(fp, "%d", &f->port) != 1)
				f->port = 0;
			fclose(fp);
		}
		if (!f->port)
			usleep(50000);
	}
	free(out);
	free(script);
	if (!f->port)
		return -1;
	snprintf(f->host, sizeof f->host, "127.0.0.1:%d", f->port);
	f->auth_file = xasprintf("%s/auth.json", f->dir);
	char *json = xasprintf("{\"auths\":{\"%s\":{\"auth\":\"YWxpY2U6c2VjcmV0\"}}}", f->host);
	write_file(f->auth_file, json);
	free(json);
	return 0;
}

static int teardown_fixture(void **state)
{
	struct fix_env *f = *state;
	stop(f->pid);
	rm_rf(f->dir);
	free(f->auth_file);
	free(f);
	return 0;
}

static long token_requests(const struct fix_env *f)
{
	CURL *c = curl_easy_init();
	char *url = xasprintf("http://%s/stats", f->host);
	char buf[256] = "";
	FILE *mem = fmemopen(buf, sizeof buf - 1, "w");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, mem);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	fclose(mem);
	curl_easy_cleanup(c);
	free(url);
	const char *p = strchr(buf, ':');
	assert_non_null(p);
	return strtol(p + 1, NULL, 10);
}

static void test_bearer(void **state)
{
	struct fix_env *f = *state;
	struct tally_err err = {0};
	struct registry *r = registry_new(f->auth_file, 1, &err);
	struct sbuf body = {0};
	char *mt = NULL, d[REGISTRY_DIGEST_MAX], d2[REGISTRY_DIGEST_MAX];
	char *image = xasprintf("%s/t/app", f->host);
	long before = token_requests(f);
	if (registry_get_manifest(r, image, "v1", &body, &mt, d, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(mt, OCI_MANIFEST);
	/* the token is cached per scope: HEAD and a second GET fetch none */
	if (registry_digest(r, image, "v1", d2, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(d, d2);
	free(mt);
	mt = NULL;
	if (registry_get_manifest(r, image, "v1", &body, &mt, d2, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(token_requests(f), before + 1);
	free(mt);
	mt = NULL;
	free(image);
	/* {"access_token": ...} */
	image = xasprintf("%s/t/other", f->host);
	if (registry_digest(r, image, "v1", d2, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(d, d2);
	assert_int_equal(token_requests(f), before + 2);
	free(image);
	registry_free(r);

	/* without credentials the token endpoint refuses */
	r = registry_new(NULL, 1, &err);
	image = xasprintf("%s/t/app", f->host);
	assert_int_equal(registry_digest(r, image, "v1", d2, &err), -1);
	assert_int_equal(err.cls, TC_AUTH);
	assert_non_null(strstr(err.msg, "/token"));
	free(image);
	registry_free(r);
	sbuf_free(&body);
}

static void test_bearer_paging(void **state)
{
	struct fix_env *f = *state;
	struct tally_err err = {0};
	struct registry *r = registry_new(f->auth_file, 1, &err);
	struct strv tags = {0};
	char *image = xasprintf("%s/t/paged", f->host);
	long before = token_requests(f);
	registry_set_page_size(r, 2);
	strv_push(&tags, "kept");
	if (registry_tags(r, image, &tags, 3, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(tags.n, 6);
	assert_string_equal(tags.v[0], "kept");
	for (size_t i = 1; i <= 5; i++) {
		char want[32];
		snprintf(want, sizeof want, "a%zu", i);
		assert_string_equal(tags.v[i], want);
	}
	/* one token for all three pages */
	assert_int_equal(token_requests(f), before + 1);
	strv_free(&tags);
	/* more pages than allowed: refused, out untouched */
	assert_int_equal(registry_tags(r, image, &tags, 2, &err), -1);
	assert_int_equal(err.cls, TC_TOO_LARGE);
	assert_non_null(strstr(err.msg, "/v2/t/paged/tags/list"));
	assert_int_equal(tags.n, 0);
	free(image);
	registry_free(r);
}

static void test_redirects(void **state)
{
	struct fix_env *f = *state;
	struct tally_err err = {0};
	struct registry *r = registry_new(f->auth_file, 1, &err);
	char d[REGISTRY_DIGEST_MAX];
	char *image = xasprintf("%s/t/moved", f->host);
	long before = token_requests(f);
	/* same host: followed, and the challenge there is answered */
	if (registry_digest(r, image, "v1", d, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(token_requests(f), before + 1);
	free(image);
	/* another host: followed without credentials; its 401 is final */
	image = xasprintf("%s/t/offsite", f->host);
	assert_int_equal(registry_digest(r, image, "v1", d, &err), -1);
	assert_int_equal(err.cls, TC_AUTH);
	assert_non_null(strstr(err.msg, "http://localhost:"));
	assert_int_equal(token_requests(f), before + 1);
	free(image);
	registry_free(r);
}

static void test_bearer_denied(void **state)
{
	struct fix_env *f = *state;
	struct tally_err err = {0};
	struct registry *r = registry_new(f->auth_file, 1, &err);
	char d[REGISTRY_DIGEST_MAX];
	char *image = xasprintf("%s/t/deny", f->host);
	char *url = xasprintf("http://%s/v2/t/deny/manifests/v1: 401", f->host);
	assert_int_equal(registry_digest(r, image, "v1", d, &err), -1);
	assert_int_equal(err.cls, TC_AUTH);
	assert_non_null(strstr(err.msg, url));
	assert_null(strstr(err.msg, "YWxp"));
	assert_null(strstr(err.msg, "tok-"));
	free(url);
	free(image);
	/* an authenticated request is not sent on to another host */
	image = xasprintf("%s/t/redir", f->host);
	assert_int_equal(registry_digest(r, image, "v1", d, &err), -1);
	assert_int_equal(err.cls, TC_VERIFY);
	assert_non_null(strstr(err.msg, "another host"));
	free(image);
	registry_free(r);
}

static void test_misbehaving(void **state)
{
	struct fix_env *f = *state;
	struct tally_err err = {0};
	struct registry *r = registry_new(f->auth_file, 1, &err);
	struct sbuf body = {0};
	struct strv tags = {0};
	char *mt = NULL, d[REGISTRY_DIGEST_MAX];
	char *image = xasprintf("%s/t/big", f->host);
	assert_int_equal(registry_get_manifest(r, image, "v1", &body, &mt, d, &err), -1);
	assert_int_equal(err.cls, TC_TOO_LARGE);
	assert_non_null(strstr(err.msg, "/v2/t/big/manifests/v1"));
	free(image);
	image = xasprintf("%s/t/bad", f->host);
	assert_int_equal(registry_get_manifest(r, image, "v1", &body, &mt, d, &err), -1);
	assert_int_equal(err.cls, TC_VERIFY);
	assert_non_null(strstr(err.msg, "Docker-Content-Digest"));
	free(image);
	image = xasprintf("%s/t/loop", f->host);
	assert_int_equal(registry_tags(r, image, &tags, 10, &err), -1);
	assert_int_equal(err.cls, TC_VERIFY);
	assert_non_null(strstr(err.msg, "/v2/t/loop/tags/list?page=2"));
	assert_int_equal(tags.n, 0);
	free(image);
	image = xasprintf("%s/t/nonstr", f->host);
	assert_int_equal(registry_tags(r, image, &tags, 10, &err), -1);
	assert_int_equal(err.cls, TC_VERIFY);
	assert_non_null(strstr(err.msg, "not a string"));
	free(image);
	image = xasprintf("%s/t/offhost", f->host);
	assert_int_equal(registry_tags(r, image, &tags, 10, &err), -1);
	assert_int_equal(err.cls, TC_VERIFY);
	assert_non_null(strstr(err.msg, "another host"));
	free(image);
	assert_null(mt);
	sbuf_free(&body);
	registry_free(r);
}

/* ---- tags.c on the real registry ---- */

static void collect(void *ctx, const char *line)
{
	strv_push(ctx, line);
}

static int has_line(const struct strv *v, const char *part)
{
	for (size_t i = 0; i < v->n; i++)
		if (strstr(v->v[i], part))
			return 1;
	return 0;
}

static void test_tags_put_verify_float(void **state)
{
	struct reg_env *e = *state;
	struct tally_err err = {0};
	struct registry *r = registry_new(e->auth_file, 1, &err);
	struct strv log = {0};
	char *image = xasprintf("%s/t/app", e->host);
	struct tags_ctx t = {.reg = r, .image = image, .cancel_fd = -1, .log = collect, .lctx = &log};
	if (tags_put(&t, e->digest, "v1-copy", "verify", NULL, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	assert_true(has_line(&log, "verify: "));
	assert_true(has_line(&log, ":v1-copy -> sha256:"));
	const char *both[] = {"v1", "v1-copy"};
	if (tags_verify(&t, both, 2, e->digest, 0, &err) < 0)
		fail_msg("%s", err.msg);
	assert_true(has_line(&log, ":v1-copy = sha256:"));
	/* another digest expected: verify, naming tag, both digests */
	char other[REGISTRY_DIGEST_MAX];
	registry_sha256_digest("x", 1, other);
	assert_int_equal(tags_verify(&t, both, 2, other, 0, &err), -1);
	assert_int_equal(err.cls, TC_VERIFY);
	assert_non_null(strstr(err.msg, ":v1 reads back as sha256:"));
	assert_non_null(strstr(err.msg, other));
	/* a floating tag: put once, then left alone */
	struct sbuf body = {0};
	char *mt = NULL;
	int changed = -1;
	if (tags_float(&t, "stable", e->digest, 1, &body, &mt, &changed, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(changed, 1);
	assert_string_equal(mt, OCI_MANIFEST);
	char got[REGISTRY_DIGEST_MAX];
	assert_int_equal(tags_digest(&t, "stable", 0, got, &err), 0);
	assert_string_equal(got, e->digest);
	if (tags_float(&t, "stable", e->digest, 1, &body, &mt, &changed, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(changed, 0);
	free(mt);
	sbuf_free(&body);
	/* the config blob, by digest */
	struct sbuf m = {0}, blob = {0};
	char *mmt = NULL;
	assert_int_equal(tags_manifest(&t, e->digest, 0, &m, &mmt, &err), 0);
	assert_int_equal(m.len, strlen(e->manifest));
	char *cfg = strstr(m.buf, "sha256:");
	assert_non_null(cfg);
	char cd[REGISTRY_DIGEST_MAX];
	snprintf(cd, sizeof cd, "%.71s", cfg);
	assert_int_equal(tags_blob(&t, cd, 0, &blob, &err), 0);
	assert_non_null(strstr(sbuf_str(&blob), "rootfs"));
	free(mmt);
	sbuf_free(&m);
	sbuf_free(&blob);
	strv_free(&log);
	free(image);
	registry_free(r);
}

/* A missing tag: as the registry says when not fresh; when fresh, the wait
 * for a lagging registry stops when cancel_fd is readable. */
static void test_tags_missing_and_cancel(void **state)
{
	struct reg_env *e = *state;
	struct tally_err err = {0};
	struct registry *r = registry_new(e->auth_file, 1, &err);
	struct strv log = {0};
	char *image = xasprintf("%s/t/app", e->host);
	int p[2];
	assert_int_equal(pipe(p), 0);
	struct tags_ctx t = {.reg = r, .image = image, .cancel_fd = p[0], .log = collect, .lctx = &log};
	char got[REGISTRY_DIGEST_MAX];
	assert_int_equal(tags_digest(&t, "nosuch", 0, got, &err), -1);
	assert_int_equal(err.cls, TC_MISSING_VERSION);
	assert_int_equal(log.n, 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(tags_digest(&t, "nosuch", 1, got, &err), TAGS_CANCELLED);
	assert_true(has_line(&log, "not found right after the push"));
	close(p[0]);
	close(p[1]);
	strv_free(&log);
	free(image);
	registry_free(r);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest offline[] = {
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_auth_file_errors),
		cmocka_unit_test(test_connection_refused),
	};
	const struct CMUnitTest plain[] = {
		cmocka_unit_test(test_get_manifest),
		cmocka_unit_test(test_head_digest),
		cmocka_unit_test(test_put_second_tag),
		cmocka_unit_test(test_missing_tag),
		cmocka_unit_test(test_tags_list),
		cmocka_unit_test(test_delete),
		cmocka_unit_test(test_tags_put_verify_float),
		cmocka_unit_test(test_tags_missing_and_cancel),
		cmocka_unit_test(test_tls_required),
		cmocka_unit_test(test_insecure_fallback),
	};
	const struct CMUnitTest basic[] = {
		cmocka_unit_test(test_basic_auth),
	};
	const struct CMUnitTest bearer[] = {
		cmocka_unit_test(test_bearer),
		cmocka_unit_test(test_bearer_paging),
		cmocka_unit_test(test_redirects),
		cmocka_unit_test(test_bearer_denied),
		cmocka_unit_test(test_misbehaving),
	};
	int rc = 0;
	rc += cmocka_run_group_tests_name("registry offline", offline, NULL, NULL);
	rc += cmocka_run_group_tests_name("registry plain", plain, setup_plain, teardown_reg);
	rc += cmocka_run_group_tests_name("registry basic auth", basic, setup_basic, teardown_reg);
	rc += cmocka_run_group_tests_name("registry bearer", bearer, setup_fixture, teardown_fixture);
	curl_global_cleanup();
	return rc ? 1 : 0;
}
