/* test_http.c - the HTTP layer against tests/fixtures/github/server.py on
 * loopback: ETag cache and 304s (also across a reload of http-cache.json),
 * Link paging, rate limits kept per host (no request before the reset),
 * status classes, timeouts, the body cap, redirects (same host, other host,
 * loops), the token only on the API origin, the per-host bound, cancel. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "http.h"

/* ---- the fixture server ---- */

struct fixture {
	pid_t pid;
	int port;
	char base[64];   /* http://127.0.0.1:PORT */
	char other[64];  /* http://localhost:PORT: the same server, another host */
	char dir[64];    /* temporary directory */
};

static struct fixture fx, slow;

static int start_fixture(struct fixture *f, const char *latency)
{
	snprintf(f->dir, sizeof f->dir, "/tmp/tally-http-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	char *src = xstrdup(__FILE__);
	char *script = xasprintf("%s/../fixtures/github/server.py", dirname(src));
	char *out = xasprintf("%s/port", f->dir);
	f->pid = fork();
	if (f->pid == 0) {
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int n = open("/dev/null", O_WRONLY);
		dup2(o, 1);
		dup2(n, 2);
		setpgid(0, 0);
		execlp("python3", "python3", script, "--latency", latency, (char *)NULL);
		_exit(127);
	}
	f->port = 0;
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
	snprintf(f->base, sizeof f->base, "http://127.0.0.1:%d", f->port);
	snprintf(f->other, sizeof f->other, "http://localhost:%d", f->port);
	free(out);
	free(script);
	free(src);
	return f->port ? 0 : -1;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

static void stop_fixture(struct fixture *f)
{
	if (f->pid > 0) {
		kill(f->pid, SIGTERM);
		waitpid(f->pid, NULL, 0);
		f->pid = 0;
	}
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int setup(void **state)
{
	(void)state;
	return start_fixture(&fx, "0");
}

static int teardown(void **state)
{
	(void)state;
	stop_fixture(&fx);
	return 0;
}

/* A fresh state directory per test: each has its own cache and limits. */
static char *new_state_dir(void)
{
	static int n;
	char *d = xasprintf("%s/state%d", fx.dir, ++n);
	assert_int_equal(mkdir(d, 0700), 0);
	http_cache_forget();
	return d;
}

static size_t grow(char *p, size_t s, size_t n, void *u)
{
	sbuf_add(u, p, s * n);
	return s * n;
}

/* The fixture's record of requests (a JSON array); caller decrefs. */
static json_t *fixture_requests(const struct fixture *f, int reset)
{
	CURL *c = curl_easy_init();
	struct sbuf sb = {0};
	char *url = xasprintf("%s/%s", f->base, reset ? "_reset" : "_requests");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, grow);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &sb);
	if (reset)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_cleanup(c);
	free(url);
	json_t *j = json_loads(sbuf_str(&sb), 0, NULL);
	sbuf_free(&sb);
	assert_non_null(j);
	return j;
}

static void reset_requests(void)
{
	json_decref(fixture_requests(&fx, 1));
}

static size_t count_requests(void)
{
	json_t *r = fixture_requests(&fx, 0);
	size_t n = json_array_size(r);
	json_decref(r);
	return n;
}

static struct http *client(const char *state_dir, const char *api, const char *token)
{
	struct http_config cfg = {.state_dir = state_dir, .api_url = api, .token = token,
				  .cancel_fd = -1};
	return http_new(&cfg);
}

static char *read_text(const char *path)
{
	struct sbuf sb = {0};
	struct tally_err err = {0};
	if (util_read_file(path, &sb, &err) < 0)
		return NULL;
	return sbuf_detach(&sb);
}

/* ---- tests ---- */

static void test_etag_304(void **state)
{
	(void)state;
	char *sd = new_state_dir();
	char *url = xasprintf("%s/repos/o/small/releases", fx.base);
	struct http *h = client(sd, fx.base, NULL);
	struct http_response r = {0};
	struct tally_err err = {0};
	reset_requests();

	assert_int_equal(http_get(h, url, NULL, NULL, NULL, &r, &err), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.from_cache, 0);
	assert_non_null(strstr(sbuf_str(&r.body), "v1.1.0"));
	char *first = xstrdup(sbuf_str(&r.body));
	http_response_free(&r);

	assert_int_equal(http_get(h, url, NULL, NULL, NULL, &r, &err), 0);
	assert_int_equal(r.status, 304);
	assert_int_equal(r.from_cache, 1);
	assert_string_equal(sbuf_str(&r.body), first);
	http_response_free(&r);
	http_free(h);

	/* the cache survives the process: reload it from http-cache.json */
	http_cache_forget();
	h = client(sd, fx.base, NULL);
	assert_int_equal(http_get(h, url, NULL, NULL, NULL, &r, &err), 0);
	assert_int_equal(r.from_cache, 1);
	assert_string_equal(sbuf_str(&r.body), first);
	http_response_free(&r);
	http_free(h);

	json_t *reqs = fixture_requests(&fx, 0);
	assert_int_equal(json_array_size(reqs), 3);
	assert_true(json_is_null(json_object_get(json_array_get(reqs, 0), "inm")));
	assert_true(json_is_string(json_object_get(json_array_get(reqs, 1), "inm")));
	assert_int_equal(json_integer_value(json_object_get(json_array_get(reqs, 2), "status")), 304);
	assert_string_equal(json_string_value(json_object_get(json_array_get(reqs, 0), "ua")),
			    "tally/" TALLY_VERSION);
	json_decref(reqs);

	http_cache_flush(1);
	char *path = xasprintf("%s/http-cache.json", sd);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	json_t *c = json_load_file(path, 0, NULL);
	assert_non_null(json_object_get(json_object_get(c, "entries"), url));
	json_decref(c);
	free(path);
	free(first);
	free(url);
	free(sd);
}

static void test_no_etag_not_cached(void **state)
{
	(void)state;
	char *sd = new_state_dir();
	char *url = xasprintf("%s/repos/o/noetag/releases", fx.base);
	struct http *h = client(sd, NULL, NULL);
	struct http_response r = {0};
	struct tally_err err = {0};
	for (int i = 0; i < 2; i++) {
		assert_int_equal(http_get(h, url, NULL, NULL, NULL, &r, &err), 0);
		assert_int_equal(r.status, 200);
		http_response_free(&r);
	}
	/* a 304 for something never cached is an error, not an empty answer */
	char *u304 = xasprintf("%s/repos/o/nocache304/releases", fx.base);
	assert_int_equal(http_get(h, u304, NULL, NULL, NULL, &r, &err), -1);
	assert_int_equal(err.cls, TC_VERIFY);
	assert_non_null(strstr(err.msg, u304));
	http_response_free(&r);
	http_free(h);
	free(u304);
	free(url);
	free(sd);
}

static void test_link_next(void **state)
{
	(void)state;
	char *sd = new_state_dir();
	char *url = xasprintf("%s/repos/o/app/releases?per_page=100", fx.base);
	char *want = xasprintf("%s/repos/o/app/releases?per_page=100&page=2", fx.base);
	struct http *h = client(sd, fx.base, NULL);
	struct http_response r = {0};
	struct tally_err err = {0};
	assert_int_equal(http_get(h, url, NULL, NULL, NULL, &r, &err), 0);
	assert_string_equal(r.next, want);
	http_response_free(&r);
	/* the next link comes back with a 304 too */
	assert_int_equal(http_get(h, url, NULL, NULL, NULL, &r, &err), 0);
	assert_int_equal(r.from_cache, 1);
	assert_string_equal(r.next, want);
	http_response_free(&r);
	http_free(h);
	free(want);
	free(url);
	free(sd);
}

static int reject_all(const char *body, size_t len, struct sbuf *out, void *ctx,
		      struct tally_err *err)
{
	(void)body, (void)len, (void)out, (void)ctx;
	return tally_err_set(err, TC_VERIFY, "not what was expected");
}

static int keep_first_line(const char *body, size_t len, struct sbuf *out, void *ctx,
			   struct tally_err *err)
{
	(void)err;
	(*(int *)ctx)++;
	size_t n = strcspn(body, "\n");
	sbuf_add(out, body, n < len ? n : len);
	return 0;
}

static void test_reduce(void **state)
{
	(void)state;
	char *sd = new_state_dir();
	char *url = xasprintf("%s/files/docker-compose.yml", fx.base);
	struct http *h = client(sd, NULL, NULL);
	struct http_response r = {0};
	struct tally_err err = {0};
	assert_int_equal(http_get(h, url, NULL, reject_all, NULL, &r, &err), -1);
	assert_int_equal(err.cls, TC_VERIFY);
	assert_non_null(strstr(err.msg, url));
	assert_non_null(strstr(err.msg, "not what was expected"));
	http_response_free(&r);
	int calls = 0;
	assert_int_equal(http_get(h, url, NULL, keep_first_line, &calls, &r, &err), 0);
	assert_string_equal(sbuf_str(&r.body), "version: '3'");
	http_response_free(&r);
	/* a 304 returns the reduced body without reducing again */
	assert_int_equal(http_get(h, url, NULL, keep_first_line, &calls, &r, &err), 0);
	assert_int_equal(r.from_cache, 1);
	assert_string_equal(sbuf_str(&r.body), "version: '3'");
	assert_int_equal(calls, 1);
	http_response_free(&r);
	http_free(h);
	free(url);
	free(sd);
}

static void test_rate_limit_remaining(void **state)
{
	(void)state;
	char *sd = new_state_dir();
	char *url = xasprintf("%s/repos/o/limited/releases", fx.base);
	char *ok = xasprintf("%s/repos/o/small/releases", fx.base);
	char *other = xasprintf("%s/repos/o/small/releases", fx.other);
	struct http *h = client(sd, fx.base, NULL);
	struct http_response r = {0};
	struct tally_err err = {0};
	long long now = (long long)time(NULL);
	reset_requests();
	assert_int_equal(http_get(h, url, NULL, NULL, NULL, &r, &err), -1);
	assert_int_equal(err.cls, TC_RATE_LIMIT);
	assert_non_null(strstr(err.msg, url));
	assert_true(r.retry_at >= now + 3590 && r.retry_at <= now + 3610);
	long long until = r.retry_at;
	http_response_free(&r);
	assert_int_equal(count_requests(), 1);

	/* the whole host waits: no request at all, same reset */
	struct http_stats s0, s1;
	http_stats_get(&s0);
	assert_int_equal(http_get(h, ok, NULL, NULL, NULL, &r, &err), -1);
	assert_int_equal(err.cls, TC_RATE_LIMIT);
	assert_int_equal(r.retry_at, until);
	assert_non_null(strstr(err.msg, "no request"));
	http_response_free(&r);
	http_stats_get(&s1);
	assert_int_equal(s1.refused_limited, s0.refused_limited + 1);
	assert_int_equal(s1.requests, s0.requests);
	assert_int_equal(count_requests(), 1);

	/* another host is not limited */
	assert_int_equal(http_get(h, other, NULL, NULL, NULL, &r, &err), 0);
	http_response_free(&r);
	http_free(h);

	/* the limit is kept in http-cache.json for the next process */
	http_cache_forget();
	h = client(sd, fx.base, NULL);
	assert_int_equal(http_get(h, ok, NULL, NULL, NULL, &r, &err), -1);
	assert_int_equal(err.cls, TC_RATE_LIMIT);
	assert_int_equal(r.retry_at, until);
	http_response_free(&r);
	http_free(h);
	assert_int_equal(count_requests(), 2);
	free(other);
	free(ok);
	free(url);
	free(sd);
}

static void test_retry_after(void **state)
{
	(void)state;
	struct { const char *path; long long secs; } cases[] = {
		{"/repos/o/retry/releases", 120},
		{"/repos/o/secondary/releases", 30},
	};
	for (size_t i = 0; i < 2; i++) {
		char *sd = new_state_dir();
		char *url = xasprintf("%s%s", fx.base, cases[i].path);
		struct http *h = client(sd, fx.base, NULL);
		struct http_response r = {0};
		struct tally_err err = {0};
		long long now = (long long)time(NULL);
		assert_int_equal(http_get(h, url, NULL, NULL, NULL, &r, &err), -1);
		assert_int_equal(err.cls, TC_RATE_LIMIT);
		assert_true(r.retry_at >= now + cases[i].secs - 2 && r.retry_at <= now + cases[i].secs + 5);
		http_response_free(&r);
		http_free(h);
		free(url);
		free(sd);
	}
}

static void test_status_classes(void **state)
{
	(void)state;
	struct { const char *path; enum tally_class cls; } cases[] = {
		{"/repos/o/forbidden/releases", TC_AUTH},
		{"/repos/o/missing/releases", TC_MISSING_VERSION},
		{"/repos/o/broken/releases", TC_NETWORK},
		{"/repos/o/huge/releases", TC_TOO_LARGE},
		{"/repos/o/redirloop/releases", TC_VERIFY},
	};
	char *sd = new_state_dir();
	struct http *h = client(sd, fx.base, NULL);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *url = xasprintf("%s%s", fx.base, cases[i].path);
		struct http_response r = {0};
		struct tally_err err = {0};
		assert_int_equal(http_get(h, url, NULL, NULL, NULL, &r, &err), -1);
		if (err.cls != cases[i].cls)
			fail_msg("%s: class %s, want %s (%s)", cases[i].path, tally_class_name(err.cls),
				 tally_class_name(cases[i].cls), err.msg);
		assert_non_null(strstr(err.msg, url));
		assert_int_equal(r.retry_at, 0);
		http_response_free(&r);
		free(url);
	}
	/* the host is not marked limited by any of these */
	char *ok = xasprintf("%s/repos/o/small/releases", fx.base);
	struct http_response r = {0};
	struct tally_err err = {0};
	assert_int_equal(http_get(h, ok, NULL, NULL, NULL, &r, &err), 0);
	http_response_free(&r);
	/* connection refused */
	assert_int_equal(http_get(h, "http://127.0.0.1:9/x", NULL, NULL, NULL, &r, &err), -1);
	assert_int_equal(err.cls, TC_NETWORK);
	assert_non_null(strstr(err.msg, "http://127.0.0.1:9/x"));
	http_response_free(&r);
	/* not http(s) */
	assert_int_equal(http_get(h, "file:///etc/passwd", NULL, NULL, NULL, &r, &err), -1);
	assert_int_equal(err.cls, TC_INPUT);
	http_response_free(&r);
	http_free(h);
	free(ok);
	free(sd);
}

static void test_timeout(void **state)
{
	(void)state;
	char *sd = new_state_dir();
	char *url = xasprintf("%s/repos/o/stall/releases", fx.base);
	setenv("TALLY_HTTP_TIMEOUT", "1", 1);
	struct http *h = client(sd, fx.base, NULL);
	unsetenv("TALLY_HTTP_TIMEOUT");
	struct http_response r = {0};
	struct tally_err err = {0};
	double t0 = util_monotonic();
	assert_int_equal(http_get(h, url, NULL, NULL, NULL, &r, &err), -1);
	double took = util_monotonic() - t0;
	assert_int_equal(err.cls, TC_TIMEOUT);
	assert_non_null(strstr(err.msg, url));
	assert_true(took < 5);
	http_response_free(&r);
	http_free(h);
	free(url);
	free(sd);
}

static void test_cancel(void **state)
{
	(void)state;
	char *sd = new_state_dir();
	char *url = xasprintf("%s/repos/o/stall/releases", fx.base);
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "c", 1), 1);
	struct http_config cfg = {.state_dir = sd, .cancel_fd = p[0]};
	struct http *h = http_new(&cfg);
	struct http_response r = {0};
	struct tally_err err = {0};
	double t0 = util_monotonic();
	assert_int_equal(http_get(h, url, NULL, NULL, NULL, &r, &err), -1);
	assert_true(util_monotonic() - t0 < 5);
	assert_non_null(strstr(err.msg, "cancelled"));
	http_response_free(&r);
	http_free(h);
	close(p[0]);
	close(p[1]);
	free(url);
	free(sd);
}

static void test_redirects(void **state)
{
	(void)state;
	char *sd = new_state_dir();
	struct http_response r = {0};
	struct tally_err err = {0};
	/* same host: followed */
	char *moved = xasprintf("%s/repos/o/moved/releases", fx.base);
	char *small = xasprintf("%s/repos/o/small/releases", fx.base);
	struct http *h = client(sd, fx.base, "sekrit-token");
	assert_int_equal(http_get(h, moved, NULL, NULL, NULL, &r, &err), 0);
	assert_string_equal(r.url, small);
	http_response_free(&r);
	/* from the API host to another host: refused, token or not */
	char *offsite = xasprintf("%s/repos/o/offsite/releases", fx.base);
	reset_requests();
	assert_int_equal(http_get(h, offsite, NULL, NULL, NULL, &r, &err), -1);
	assert_int_equal(err.cls, TC_VERIFY);
	assert_non_null(strstr(err.msg, offsite));
	assert_non_null(strstr(err.msg, "another host"));
	assert_null(strstr(err.msg, "sekrit"));
	http_response_free(&r);
	assert_int_equal(count_requests(), 1);
	http_free(h);
	/* not the API host: followed to the other host, without the token */
	char *compose = xasprintf("%s/files/redirect-compose", fx.base);
	h = client(sd, "https://api.example.invalid", "sekrit-token");
	reset_requests();
	assert_int_equal(http_get(h, compose, NULL, NULL, NULL, &r, &err), 0);
	assert_non_null(strstr(sbuf_str(&r.body), "image: mongo:7.0.4"));
	assert_non_null(strstr(r.url, "http://localhost:"));
	http_response_free(&r);
	json_t *reqs = fixture_requests(&fx, 0);
	assert_int_equal(json_array_size(reqs), 2);
	size_t i;
	json_t *q;
	json_array_foreach(reqs, i, q)
		assert_true(json_is_false(json_object_get(q, "auth")));
	json_decref(reqs);
	http_free(h);
	free(compose);
	free(offsite);
	free(small);
	free(moved);
	free(sd);
}

static void test_token_only_api_host(void **state)
{
	(void)state;
	char *sd = new_state_dir();
	struct http *h = client(sd, fx.base, "sekrit-token");
	struct http_response r = {0};
	struct tally_err err = {0};
	char *api = xasprintf("%s/repos/o/small/releases", fx.base);
	char *file = xasprintf("%s/files/docker-compose.yml", fx.other);
	reset_requests();
	assert_int_equal(http_get(h, api, NULL, NULL, NULL, &r, &err), 0);
	http_response_free(&r);
	assert_int_equal(http_get(h, file, NULL, NULL, NULL, &r, &err), 0);
	http_response_free(&r);
	json_t *reqs = fixture_requests(&fx, 0);
	assert_int_equal(json_array_size(reqs), 2);
	assert_true(json_is_true(json_object_get(json_array_get(reqs, 0), "auth")));
	assert_true(json_is_false(json_object_get(json_array_get(reqs, 1), "auth")));
	json_decref(reqs);
	http_free(h);
	http_cache_flush(1);
	char *path = xasprintf("%s/http-cache.json", sd);
	char *text = read_text(path);
	assert_non_null(text);
	assert_null(strstr(text, "sekrit"));
	free(text);
	free(path);
	free(file);
	free(api);
	free(sd);
}

struct worker {
	const char *sd;
	char url[128];
	int rc;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct http *h = client(w->sd, NULL, NULL);
	struct http_response r = {0};
	struct tally_err err = {0};
	w->rc = http_get(h, w->url, NULL, NULL, NULL, &r, &err);
	http_response_free(&r);
	http_free(h);
	return NULL;
}

/* 48 threads at once against a server that takes 200 ms per answer: the
 * per-host bound holds, requests overlap, and http-cache.json ends valid
 * with every answer in it. */
static void test_concurrent(void **state)
{
	(void)state;
	assert_int_equal(start_fixture(&slow, "0.2"), 0);
	char *sd = new_state_dir();
	enum { N = 48 };
	struct worker w[N];
	pthread_t th[N];
	double t0 = util_monotonic();
	for (int i = 0; i < N; i++) {
		w[i].sd = sd;
		snprintf(w[i].url, sizeof w[i].url, "%s/repos/bench/r%d/releases", slow.base, i);
		assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].rc, 0);
	}
	double took = util_monotonic() - t0;
	/* sequential would be 9.6 s; bounded at HTTP_PER_HOST it is well under 1 s */
	assert_true(took < 4.0);
	CURL *c = curl_easy_init();
	struct sbuf sb = {0};
	char *url = xasprintf("%s/_stats", slow.base);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, grow);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &sb);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_cleanup(c);
	json_t *st = json_loads(sbuf_str(&sb), 0, NULL);
	json_int_t maxin = json_integer_value(json_object_get(st, "max_inflight"));
	assert_true(maxin >= 2);
	assert_true(maxin <= HTTP_PER_HOST);
	json_decref(st);
	sbuf_free(&sb);
	free(url);

	http_cache_flush(1);
	char *path = xasprintf("%s/http-cache.json", sd);
	json_t *cache = json_load_file(path, 0, NULL);
	assert_non_null(cache);
	assert_int_equal(json_object_size(json_object_get(cache, "entries")), N);
	json_decref(cache);
	free(path);
	free(sd);
	stop_fixture(&slow);
}

static void test_origin(void **state)
{
	(void)state;
	char *o = http_origin("HTTPS://API.GitHub.com/repos/x");
	assert_string_equal(o, "https://api.github.com:443");
	free(o);
	o = http_origin("http://127.0.0.1:8080/x?y");
	assert_string_equal(o, "http://127.0.0.1:8080");
	free(o);
	assert_null(http_origin("not a url"));
}

/* The transport alone: one request, no redirect followed, every header of
 * the answer, the body cap naming the URL, HEAD without a body. */
static void test_exchange(void **state)
{
	(void)state;
	struct http *h = http_transport_new(0, -1);
	struct http_reply rp = {0};
	struct tally_err err = {0};
	char *url = xasprintf("%s/files/docker-compose.yml", fx.base);
	const char *hdrs[] = {"Accept: */*", NULL};
	struct http_request rq = {.url = url, .headers = hdrs};
	if (http_exchange(h, &rq, &rp, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(rp.status, 200);
	assert_non_null(http_reply_header(&rp, "etag", 0));
	assert_null(http_reply_header(&rp, "ETag", 1));
	assert_true(rp.body.len > 16);
	size_t full = rp.body.len;
	/* the method is sent as asked: this server has no HEAD (501, no body) */
	rq.method = "HEAD";
	if (http_exchange(h, &rq, &rp, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(rp.status, 501);
	assert_int_equal(rp.body.len, 0);
	/* a cap below the body: too large, naming the URL */
	rq.method = NULL;
	rq.body_max = 16;
	assert_int_equal(http_exchange(h, &rq, &rp, &err), -1);
	assert_int_equal(err.cls, TC_TOO_LARGE);
	assert_non_null(strstr(err.msg, url));
	rq.body_max = full;
	assert_int_equal(http_exchange(h, &rq, &rp, &err), 0);
	free(url);
	/* a redirect is returned, not followed */
	url = xasprintf("%s/files/redirect-compose", fx.base);
	rq.url = url;
	if (http_exchange(h, &rq, &rp, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(rp.status, 302);
	const char *loc = http_reply_header(&rp, "Location", 0);
	assert_non_null(loc);
	char *next = NULL;
	/* to another host: refused when the policy keeps to the origin */
	assert_int_equal(http_redirect_target(url, rp.status, loc, 0, HTTP_REDIR_SAME_ORIGIN, "why",
					      &next, &err), -1);
	assert_int_equal(err.cls, TC_VERIFY);
	assert_non_null(strstr(err.msg, "another host"));
	assert_non_null(strstr(err.msg, "why"));
	assert_null(next);
	assert_int_equal(http_redirect_target(url, rp.status, loc, 0, 0, NULL, &next, &err), 1);
	assert_true(str_starts(next, fx.other));
	free(next);
	free(url);
	/* nothing listens: network, naming the URL */
	url = xstrdup("http://127.0.0.1:1/x");
	rq.url = url;
	assert_int_equal(http_exchange(h, &rq, &rp, &err), -1);
	assert_int_equal(err.cls, TC_NETWORK);
	assert_non_null(strstr(err.msg, url));
	free(url);
	http_reply_free(&rp);
	http_free(h);
}

/* The redirect policy without a server. */
static void test_redirect_policy(void **state)
{
	(void)state;
	struct tally_err err = {0};
	char *next = NULL;
	const char *cur = "https://a.example/x/y";
	assert_int_equal(http_redirect_target(cur, 200, "/z", 0, 0, NULL, &next, &err), 0);
	assert_int_equal(http_redirect_target(cur, 304, "/z", 0, 0, NULL, &next, &err), 0);
	assert_int_equal(http_redirect_target(cur, 301, "../z?q", 0, 0, NULL, &next, &err), 1);
	assert_string_equal(next, "https://a.example/z?q");
	free(next);
	/* hop HTTP_MAX_REDIRS is one too many */
	assert_int_equal(http_redirect_target(cur, 307, "/z", HTTP_MAX_REDIRS - 1, 0, NULL, &next,
					      &err), 1);
	free(next);
	assert_int_equal(http_redirect_target(cur, 307, "/z", HTTP_MAX_REDIRS, 0, NULL, &next, &err),
			 -1);
	assert_non_null(strstr(err.msg, "more than"));
	assert_int_equal(http_redirect_target(cur, 302, NULL, 0, 0, NULL, &next, &err), -1);
	assert_int_equal(err.cls, TC_VERIFY);
	assert_int_equal(http_redirect_target(cur, 302, "ftp://a.example/f", 0, 0, NULL, &next, &err),
			 -1);
	assert_non_null(strstr(err.msg, "unusable"));
	/* a downgrade only when allowed */
	assert_int_equal(http_redirect_target(cur, 308, "http://a.example/x", 0,
					      HTTP_REDIR_NO_DOWNGRADE, NULL, &next, &err), -1);
	assert_non_null(strstr(err.msg, "plain http"));
	assert_int_equal(http_redirect_target(cur, 308, "http://a.example/x", 0, 0, NULL, &next, &err),
			 1);
	free(next);
	/* the same origin, another port is another origin */
	assert_int_equal(http_redirect_target(cur, 302, "https://a.example:444/x", 0,
					      HTTP_REDIR_SAME_ORIGIN, NULL, &next, &err), -1);
	assert_int_equal(http_redirect_target(cur, 302, "https://A.example:443/w", 0,
					      HTTP_REDIR_SAME_ORIGIN, NULL, &next, &err), 1);
	free(next);
	/* a user name in the target never reaches a message or the next URL */
	assert_int_equal(http_redirect_target(cur, 302, "https://u:secret@b.example/", 0,
					      HTTP_REDIR_SAME_ORIGIN, NULL, &next, &err), -1);
	assert_null(strstr(err.msg, "secret"));
	assert_int_equal(http_redirect_target(cur, 302, "https://u:secret@b.example/", 0, 0, NULL,
					      &next, &err), 1);
	assert_null(strstr(next, "secret"));
	free(next);
}

static void test_escape(void **state)
{
	(void)state;
	struct sbuf sb = {0};
	http_escape(&sb, "repository:a/b:pull,push");
	assert_string_equal(sb.buf, "repository%3Aa%2Fb%3Apull%2Cpush");
	sbuf_reset(&sb);
	http_escape(&sb, "AZaz09-._~ +&=\xc3\xa9");
	assert_string_equal(sb.buf, "AZaz09-._~%20%2B%26%3D%C3%A9");
	sbuf_free(&sb);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_origin),
		cmocka_unit_test(test_exchange),
		cmocka_unit_test(test_redirect_policy),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_etag_304),
		cmocka_unit_test(test_no_etag_not_cached),
		cmocka_unit_test(test_link_next),
		cmocka_unit_test(test_reduce),
		cmocka_unit_test(test_rate_limit_remaining),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_status_classes),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_redirects),
		cmocka_unit_test(test_token_only_api_host),
		cmocka_unit_test(test_concurrent),
	};
	return cmocka_run_group_tests_name("http", tests, setup, teardown) ? 1 : 0;
}
