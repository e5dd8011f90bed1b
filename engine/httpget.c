/* httpget.c - the upstream GET (SPEC section 5): http_get on the
 * transport of http.c, with hand-followed redirects, the API token, the
 * ETag cache (STATE/http-cache.json) and per-host rate limits and in-flight
 * bounds. See http.h.
 *
 * DESIGN (threads): check threads each own a struct http. Two things are
 * process-wide and locked:
 *   - the cache (http-cache.json in memory), under cache.mu; writing the
 *     file happens under cache.write_mu (taken before cache.mu, never
 *     after), and writes are coalesced by a generation counter (a writer
 *     that finds its generation already on disk does nothing);
 *   - the per-host in-flight counters, under hosts.mu with a condition
 *     variable.
 * Lock order: cache.write_mu before cache.mu; no other lock of this file is
 * held with another, and none is held across a request. */
#include "http_priv.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "atomicfile.h"

#define CACHE_FILE "http-cache.json"
#define CACHE_BODY_MAX ((size_t)1 << 20)     /* larger answers are not cached */
#define CACHE_KEEP_S (30LL * 24 * 3600)       /* drop entries unused this long */
#define CACHE_TOUCH_S (24LL * 3600)           /* refresh "used" at most this often */
#define LIMIT_DEFAULT_S 60LL                  /* 429 or Retry-After without a usable time */
#define LIMIT_MAX_S (24LL * 3600)             /* a reset further away is capped */

/* ---- the cache ----------------------------------------------------------- */

static struct {
	pthread_mutex_t mu, write_mu;
	char *path;               /* file loaded, NULL: none (memory only) */
	json_t *root;             /* {"version":1,"entries":{},"limits":{}} */
	unsigned long gen;        /* bumped on every change */
	unsigned long written;    /* generation on disk (write_mu) */
	int loaded;
} cache = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, NULL, NULL, 0, 0, 0};

static json_t *cache_empty(void)
{
	return json_pack("{s:i, s:{}, s:{}}", "version", 1, "entries", "limits");
}

/* Under cache.mu: makes cache.root the cache of state_dir. A missing or
 * unreadable file starts an empty cache (it is a cache: losing it costs
 * requests, never correctness). */
static void cache_use(const char *state_dir)
{
	char *path = state_dir ? xasprintf("%s/%s", state_dir, CACHE_FILE) : NULL;
	if (cache.loaded && ((!path && !cache.path) || (path && cache.path && !strcmp(path, cache.path)))) {
		free(path);
		return;
	}
	json_decref(cache.root);
	free(cache.path);
	cache.root = NULL;
	cache.path = path;
	cache.loaded = 1;
	cache.gen = cache.written = 0;
	if (path) {
		json_error_t je;
		json_t *r = json_load_file(path, 0, &je);
		if (json_is_object(r) && json_integer_value(json_object_get(r, "version")) == 1 &&
		    json_is_object(json_object_get(r, "entries")) &&
		    json_is_object(json_object_get(r, "limits"))) {
			cache.root = r;
		} else {
			json_decref(r);
		}
	}
	if (!cache.root)
		cache.root = cache_empty();
}

static void cache_save(void);

void http_cache_forget(void)
{
	cache_save(); /* what the process would have written at the end of its job */
	pthread_mutex_lock(&cache.mu);
	json_decref(cache.root);
	cache.root = NULL;
	free(cache.path);
	cache.path = NULL;
	cache.loaded = 0;
	pthread_mutex_unlock(&cache.mu);
}

/* Under cache.mu: drops entries unused for CACHE_KEEP_S and past limits. */
static void cache_prune(long long now)
{
	json_t *entries = json_object_get(cache.root, "entries");
	json_t *limits = json_object_get(cache.root, "limits");
	const char *k;
	json_t *v, *tmp;
	json_object_foreach_safe(entries, tmp, k, v) {
		if (json_integer_value(json_object_get(v, "used")) < now - CACHE_KEEP_S)
			json_object_del(entries, k);
	}
	json_object_foreach_safe(limits, tmp, k, v) {
		if (json_integer_value(json_object_get(v, "until")) <= now)
			json_object_del(limits, k);
	}
}

/* Writes the cache if it changed since the last write. Called with no lock
 * held. The snapshot is taken after write_mu is held, so threads that pile
 * up behind a write find their change already written by the next one and
 * return: one file write serves many answers, and every caller returns
 * with its change on disk. Failing to write is not an error of the request:
 * the answer is good, and the next run only pays a request more. */
static long long cache_last_write_ms;

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void cache_save(void)
{
	pthread_mutex_lock(&cache.write_mu);
	pthread_mutex_lock(&cache.mu);
	if (!cache.path || !cache.root || cache.gen <= cache.written) {
		pthread_mutex_unlock(&cache.mu);
		pthread_mutex_unlock(&cache.write_mu);
		return;
	}
	cache_prune((long long)time(NULL));
	unsigned long gen = cache.gen;
	char *path = xstrdup(cache.path);
	char *text = json_dumps(cache.root, JSON_COMPACT | JSON_SORT_KEYS);
	pthread_mutex_unlock(&cache.mu);

	if (text) {
		struct tally_err err = {0};
		size_t len = strlen(text);
		text[len] = '\n'; /* replaces the NUL; the length below counts it */
		if (atomicfile_write(path, text, len + 1, 0600, &err) == 0) {
			pthread_mutex_lock(&cache.mu);
			if (gen > cache.written)
				cache.written = gen;
			pthread_mutex_unlock(&cache.mu);
			__atomic_store_n(&cache_last_write_ms, now_ms(), __ATOMIC_RELAXED);
			http_stat_inc(&http_stats_all.cache_writes);
		}
	}
	pthread_mutex_unlock(&cache.write_mu);
	free(text);
	free(path);
}

static int cache_dirty(void)
{
	pthread_mutex_lock(&cache.mu);
	int d = cache.gen > cache.written;
	pthread_mutex_unlock(&cache.mu);
	return d;
}

void http_cache_flush(int force)
{
	if (!cache_dirty())
		return;
	if (!force && now_ms() - __atomic_load_n(&cache_last_write_ms, __ATOMIC_RELAXED) < HTTP_CACHE_FLUSH_MS)
		return;
	cache_save();
}

struct cached {
	char *etag, *next, *body;
	size_t len;
};

static void cached_free(struct cached *c)
{
	free(c->etag);
	free(c->next);
	free(c->body);
	memset(c, 0, sizeof *c);
}

static int cache_get(const char *url, struct cached *out)
{
	int found = 0;
	pthread_mutex_lock(&cache.mu);
	json_t *e = json_object_get(json_object_get(cache.root, "entries"), url);
	json_t *etag = json_object_get(e, "etag"), *body = json_object_get(e, "body");
	if (json_is_string(etag) && json_is_string(body)) {
		out->etag = xstrdup(json_string_value(etag));
		out->body = xstrndup(json_string_value(body), json_string_length(body));
		out->len = json_string_length(body);
		json_t *next = json_object_get(e, "next");
		out->next = json_is_string(next) ? xstrdup(json_string_value(next)) : NULL;
		found = 1;
	}
	pthread_mutex_unlock(&cache.mu);
	return found;
}

static void cache_touch(const char *url, long long now)
{
	pthread_mutex_lock(&cache.mu);
	json_t *e = json_object_get(json_object_get(cache.root, "entries"), url);
	if (e && json_integer_value(json_object_get(e, "used")) < now - CACHE_TOUCH_S) {
		json_object_set_new(e, "used", json_integer(now));
		cache.gen++;
	}
	pthread_mutex_unlock(&cache.mu);
}

/* etag NULL or body not storable: forget the URL. */
static void cache_put(const char *url, const char *etag, const char *next, const char *body,
		      size_t len, long long now)
{
	json_t *e = NULL;
	if (etag && len <= CACHE_BODY_MAX) {
		json_t *b = json_stringn(body, len); /* NULL unless valid UTF-8 */
		if (b)
			e = json_pack("{s:s, s:o, s:o, s:I}", "etag", etag, "next",
				      next ? json_string(next) : json_null(), "body", b, "used",
				      (json_int_t)now);
	}
	pthread_mutex_lock(&cache.mu);
	json_t *entries = json_object_get(cache.root, "entries");
	if (e) {
		json_object_set_new(entries, url, e);
		cache.gen++;
	} else if (json_object_get(entries, url)) {
		json_object_del(entries, url);
		cache.gen++;
	}
	pthread_mutex_unlock(&cache.mu);
}

/* Rate limits: until (epoch seconds) for an origin, 0 when not limited. */
static long long limit_get(const char *origin, long long now)
{
	pthread_mutex_lock(&cache.mu);
	json_t *l = json_object_get(json_object_get(cache.root, "limits"), origin);
	long long until = json_integer_value(json_object_get(l, "until"));
	pthread_mutex_unlock(&cache.mu);
	return until > now ? until : 0;
}

static void limit_set(const char *origin, long long until)
{
	pthread_mutex_lock(&cache.mu);
	json_t *limits = json_object_get(cache.root, "limits");
	json_t *old = json_object_get(limits, origin);
	if (json_integer_value(json_object_get(old, "until")) < until) {
		json_object_set_new(limits, origin, json_pack("{s:I}", "until", (json_int_t)until));
		cache.gen++;
	}
	pthread_mutex_unlock(&cache.mu);
}

/* ---- per-host bound ------------------------------------------------------ */

struct host_slot {
	char *origin;
	int inflight;
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct host_slot *v;
	size_t n;
} hosts = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, 0};

static struct host_slot *host_find(const char *origin)
{
	for (size_t i = 0; i < hosts.n; i++)
		if (!strcmp(hosts.v[i].origin, origin))
			return &hosts.v[i];
	hosts.v = xrealloc(hosts.v, (hosts.n + 1) * sizeof *hosts.v);
	hosts.v[hosts.n].origin = xstrdup(origin);
	hosts.v[hosts.n].inflight = 0;
	return &hosts.v[hosts.n++];
}

static void host_acquire(const char *origin, int bound)
{
	pthread_mutex_lock(&hosts.mu);
	while (host_find(origin)->inflight >= bound)
		pthread_cond_wait(&hosts.cv, &hosts.mu);
	host_find(origin)->inflight++;
	pthread_mutex_unlock(&hosts.mu);
}

static void host_release(const char *origin)
{
	pthread_mutex_lock(&hosts.mu);
	host_find(origin)->inflight--;
	pthread_cond_broadcast(&hosts.cv);
	pthread_mutex_unlock(&hosts.mu);
}

/* ---- clients -------------------------------------------------------------- */

struct http *http_new(const struct http_config *cfg)
{
	struct http *h = http_alloc(cfg->insecure, cfg->cancel_fd,
				    http_env_long("TALLY_HTTP_CONNECT_TIMEOUT", HTTP_CONNECT_TIMEOUT, 1, 3600),
				    http_env_long("TALLY_HTTP_TIMEOUT", HTTP_TIMEOUT, 1, 3600),
				    (int)http_env_long("TALLY_HTTP_PER_HOST", HTTP_PER_HOST, 1, 256));
	h->counted = 1;
	h->api_origin = cfg->api_url ? http_origin(cfg->api_url) : NULL;
	h->token = cfg->token && *cfg->token ? xstrdup(cfg->token) : NULL;
	/* changes not yet written belong to the file they came from: write
	 * them before the cache moves to another state directory */
	pthread_mutex_lock(&cache.mu);
	char *want = cfg->state_dir ? xasprintf("%s/%s", cfg->state_dir, CACHE_FILE) : NULL;
	int moving = cache.loaded && cache.path && (!want || strcmp(want, cache.path) != 0);
	pthread_mutex_unlock(&cache.mu);
	free(want);
	if (moving)
		cache_save();
	pthread_mutex_lock(&cache.mu);
	cache_use(cfg->state_dir);
	pthread_mutex_unlock(&cache.mu);
	return h;
}

void http_response_free(struct http_response *resp)
{
	sbuf_free(&resp->body);
	free(resp->next);
	free(resp->url);
	memset(resp, 0, sizeof *resp);
}

/* When a rate-limited host may be asked again; 0 when the answer is not a
 * rate limit. */
static long long limit_until(const struct http_reply *rp, long long now)
{
	long status = rp->status;
	const char *remaining = http_reply_header(rp, "X-RateLimit-Remaining", 0);
	const char *reset = http_reply_header(rp, "X-RateLimit-Reset", 0);
	const char *retry_after = http_reply_header(rp, "Retry-After", 0);
	int remaining0 = remaining && !strcmp(remaining, "0");
	if (!((status == 403 && (remaining0 || retry_after)) || status == 429))
		return 0;
	long long until = 0;
	if (remaining0 && reset) {
		char *end;
		long long r = strtoll(reset, &end, 10);
		if (!*end && r > 0)
			until = r;
	}
	if (retry_after) {
		char *end;
		long long s = strtoll(retry_after, &end, 10);
		long long t = 0;
		if (!*end && s >= 0)
			t = now + s;
		else {
			long long d = http_date(retry_after);
			if (d > 0)
				t = d;
		}
		if (t > until)
			until = t;
	}
	if (until <= now)
		until = now + LIMIT_DEFAULT_S;
	if (until > now + LIMIT_MAX_S)
		until = now + LIMIT_MAX_S;
	return until;
}

static void iso(long long t, char buf[32])
{
	util_iso8601(t, buf, 32);
}

static int status_fail(long status, const char *shown, struct tally_err *err)
{
	if (status == 401 || status == 403)
		return tally_err_set(err, TC_AUTH, "%s: HTTP %ld; check github.tokenFile or $GITHUB_TOKEN",
				     shown, status);
	if (status == 404 || status == 410)
		return tally_err_set(err, TC_MISSING_VERSION, "%s: HTTP %ld: not found", shown, status);
	if (status >= 500)
		return tally_err_set(err, TC_NETWORK, "%s: HTTP %ld from the server", shown, status);
	return tally_err_set(err, TC_VERIFY, "%s: unexpected HTTP %ld", shown, status);
}

/* The request headers of one hop. Caller frees with strv_free_wiped. */
static void hop_headers(const struct http *h, const char *accept, const char *etag, int with_token,
			struct strv *out)
{
	char *line = xasprintf("Accept: %s", accept ? accept : "*/*");
	strv_push(out, line);
	free(line);
	if (etag) {
		line = xasprintf("If-None-Match: %s", etag);
		strv_push(out, line);
		free(line);
	}
	if (with_token) {
		line = xasprintf("Authorization: Bearer %s", h->token);
		strv_push(out, line);
		http_free_secret(line);
	}
}

static void strv_free_wiped(struct strv *v)
{
	for (size_t i = 0; i < v->n; i++)
		explicit_bzero(v->v[i], strlen(v->v[i]));
	strv_free(v);
}

int http_get(struct http *h, const char *url, const char *accept, http_reduce_fn reduce,
	     void *rctx, struct http_response *resp, struct tally_err *err)
{
	char *cur = xstrdup(url), *shown = NULL, *origin = NULL;
	struct http_reply rp = {0};
	struct cached cd = {0};
	int ret = -1;

	memset(resp, 0, sizeof *resp);
	for (int hop = 0;; hop++) {
		free(shown);
		free(origin);
		shown = http_url_shown(cur);
		origin = http_origin(cur);
		cached_free(&cd);
		if (!origin || !(http_scheme_is(cur, "http") || http_scheme_is(cur, "https"))) {
			tally_err_set(err, TC_INPUT, "%s: not an http(s) URL", shown);
			goto out;
		}
		long long now = (long long)time(NULL);
		long long until = limit_get(origin, now);
		if (until) {
			char when[32];
			iso(until, when);
			http_stat_inc(&http_stats_all.refused_limited);
			resp->retry_at = until;
			tally_err_set(err, TC_RATE_LIMIT,
				      "%s: %s is rate limited until %s; no request is sent before then",
				      shown, origin, when);
			goto out;
		}
		int api = h->api_origin && !strcmp(origin, h->api_origin);
		int with_token = h->token && api;
		int have_cached = cache_get(cur, &cd);
		struct strv hdrs = {0};
		hop_headers(h, accept, have_cached ? cd.etag : NULL, with_token, &hdrs);
		struct http_request rq = {.url = cur, .headers = (const char *const *)hdrs.v,
					  .decode = 1};
		host_acquire(origin, h->per_host);
		int rc = http_exchange(h, &rq, &rp, err);
		host_release(origin);
		strv_free_wiped(&hdrs);
		if (rc < 0)
			goto out;
		now = (long long)time(NULL);
		long status = rp.status;

		char *next = NULL;
		int redir = http_redirect_target(cur, status, http_reply_header(&rp, "Location", 0), hop,
						 HTTP_REDIR_NO_DOWNGRADE | (api ? HTTP_REDIR_SAME_ORIGIN : 0),
						 "the API host's answers come from the API host", &next, err);
		if (redir < 0)
			goto out;
		if (redir) {
			free(cur);
			cur = next;
			continue;
		}
		if (status == 304) {
			http_stat_inc(&http_stats_all.not_modified);
			if (!have_cached) {
				tally_err_set(err, TC_VERIFY, "%s: HTTP 304 but nothing was cached for it",
					      shown);
				goto out;
			}
			cache_touch(cur, now);
			resp->status = 304;
			resp->from_cache = 1;
			sbuf_add(&resp->body, cd.body, cd.len);
			resp->next = cd.next ? xstrdup(cd.next) : NULL;
			resp->url = xstrdup(cur);
			ret = 0;
			goto out;
		}
		long long lim = limit_until(&rp, now);
		if (lim) {
			char when[32];
			const char *remaining = http_reply_header(&rp, "X-RateLimit-Remaining", 0);
			iso(lim, when);
			limit_set(origin, lim);
			resp->retry_at = lim;
			tally_err_set(err, TC_RATE_LIMIT, "%s: rate limited (HTTP %ld%s) until %s", shown,
				      status,
				      remaining && !strcmp(remaining, "0") ? ", X-RateLimit-Remaining: 0"
				      : http_reply_header(&rp, "Retry-After", 0) ? ", Retry-After" : "",
				      when);
			goto out;
		}
		if (status < 200 || status > 299) {
			status_fail(status, shown, err);
			goto out;
		}
		if (reduce) {
			struct tally_err rerr = {0};
			if (reduce(sbuf_str(&rp.body), rp.body.len, &resp->body, rctx, &rerr) < 0) {
				tally_err_set(err, TC_VERIFY, "%s: %s", shown, rerr.msg);
				cache_put(cur, NULL, NULL, NULL, 0, now);
				goto out;
			}
		} else {
			sbuf_add(&resp->body, sbuf_str(&rp.body), rp.body.len);
		}
		const char *link = http_reply_header(&rp, "Link", 0);
		if (link) {
			char *n = http_link_next(link);
			if (n) {
				resp->next = http_url_resolve(cur, n);
				if (!resp->next) {
					tally_err_set(err, TC_VERIFY, "%s: Link header with an unusable next URL",
						      shown);
					free(n);
					goto out;
				}
			}
			free(n);
		}
		cache_put(cur, http_reply_header(&rp, "ETag", 0), resp->next, sbuf_str(&resp->body),
			  resp->body.len, now);
		resp->status = status;
		resp->url = xstrdup(cur);
		ret = 0;
		goto out;
	}
out:
	http_reply_free(&rp);
	cached_free(&cd);
	free(cur);
	free(shown);
	free(origin);
	/* the file is written by http_cache_flush, once per check job or at
	 * most every HTTP_CACHE_FLUSH_MS, never here while a check slot is held */
	return ret;
}
