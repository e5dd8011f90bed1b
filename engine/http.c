/* http.c - the HTTP layer for upstreams: see http.h.
 *
 * DESIGN (threads): check threads each own a struct http (one CURL easy
 * handle, reset and reused for every request of that thread). Three things
 * are process-wide and locked:
 *   - the curl share handle (connections, DNS, TLS sessions), locked per
 *     curl_lock_data through share_lock/share_unlock;
 *   - the cache (http-cache.json in memory), under cache.mu; writing the
 *     file happens under cache.write_mu (taken before cache.mu, never
 *     after), and writes are coalesced by a generation counter (a writer
 *     that finds its generation already on disk does nothing);
 *   - the per-host in-flight counters, under hosts.mu with a condition
 *     variable.
 * Lock order: cache.write_mu before cache.mu; no other lock of this file is
 * held with another, and the share locks are taken by libcurl inside
 * curl_easy_perform, where no other lock of this file is held. */
#include "http.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "atomicfile.h"
#include "tls.h"

#define CACHE_FILE "http-cache.json"
#define CACHE_BODY_MAX ((size_t)1 << 20)     /* larger answers are not cached */
#define CACHE_KEEP_S (30LL * 24 * 3600)       /* drop entries unused this long */
#define CACHE_TOUCH_S (24LL * 3600)           /* refresh "used" at most this often */
#define LIMIT_DEFAULT_S 60LL                  /* 429 or Retry-After without a usable time */
#define LIMIT_MAX_S (24LL * 3600)             /* a reset further away is capped */

/* ---- process-wide setup ------------------------------------------------ */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static CURLSH *share;
static pthread_mutex_t share_mu[CURL_LOCK_DATA_LAST];

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *u)
{
	(void)h, (void)access, (void)u;
	pthread_mutex_lock(&share_mu[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *u)
{
	(void)h, (void)u;
	pthread_mutex_unlock(&share_mu[data]);
}

static void global_init(void)
{
	/* libcurl 7.88 here is built thread-safe: curl_global_init may race
	 * with the registry client's own curl_easy_init. */
	curl_global_init(CURL_GLOBAL_DEFAULT);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&share_mu[i], NULL);
	share = curl_share_init();
	if (share) {
		curl_share_setopt(share, CURLSHOPT_LOCKFUNC, share_lock);
		curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, share_unlock);
		curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
		curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
		curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	}
}

/* ---- statistics ---------------------------------------------------------- */

static struct http_stats stats;

static void stat_inc(long *counter)
{
	__atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

void http_stats_get(struct http_stats *out)
{
	out->requests = __atomic_load_n(&stats.requests, __ATOMIC_RELAXED);
	out->not_modified = __atomic_load_n(&stats.not_modified, __ATOMIC_RELAXED);
	out->refused_limited = __atomic_load_n(&stats.refused_limited, __ATOMIC_RELAXED);
	out->cache_writes = __atomic_load_n(&stats.cache_writes, __ATOMIC_RELAXED);
}

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
			stat_inc(&stats.cache_writes);
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

/* ---- URLs ---------------------------------------------------------------- */

char *http_origin(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *out = NULL;
	if (!u)
		return NULL;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
		out = xasprintf("%s://%s:%s", scheme, host, port);
		for (char *p = out; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return out;
}

/* ref resolved against base (base NULL: ref must be absolute), without user
 * info or fragment; NULL when it does not parse. Caller frees. */
char *http_url_resolve(const char *base, const char *ref)
{
	CURLU *u = curl_url();
	char *s = NULL, *out = NULL;
	if (!u)
		return NULL;
	if (base && curl_url_set(u, CURLUPART_URL, base, 0) != CURLUE_OK)
		goto out;
	if (curl_url_set(u, CURLUPART_URL, ref, 0) != CURLUE_OK)
		goto out;
	curl_url_set(u, CURLUPART_USER, NULL, 0);
	curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
	curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0);
	if (curl_url_get(u, CURLUPART_URL, &s, 0) != CURLUE_OK)
		goto out;
	out = xstrdup(s);
out:
	curl_free(s);
	curl_url_cleanup(u);
	return out;
}

/* The URL as shown in messages: no user info; bytes that are not printable
 * ASCII replaced, and cut at 300 characters with a mark. Caller frees. */
static char *url_shown(const char *url)
{
	char *clean = http_url_resolve(NULL, url);
	const char *s = clean ? clean : url;
	struct sbuf sb = {0};
	for (const char *p = s; *p; p++) {
		if (sb.len >= 300) {
			sbuf_adds(&sb, "...");
			break;
		}
		sbuf_addc(&sb, (*p > 0x20 && *p < 0x7f) ? *p : '?');
	}
	free(clean);
	return sbuf_detach(&sb);
}

static int scheme_is(const char *url, const char *scheme)
{
	size_t n = strlen(scheme);
	return !strncasecmp(url, scheme, n) && url[n] == ':';
}

/* The target of the rel="next" entry of a Link header, or NULL. Caller frees. */
char *http_link_next(const char *link)
{
	const char *p = link;
	while (p && (p = strchr(p, '<'))) {
		const char *end = strchr(p, '>');
		if (!end)
			return NULL;
		const char *params = end + 1;
		const char *stop = strchr(params, ',');
		size_t plen = stop ? (size_t)(stop - params) : strlen(params);
		char *ps = xstrndup(params, plen);
		int next = 0;
		/* rel="next", rel=next, rel="prev next" */
		for (char *r = strcasestr(ps, "rel="); r && !next; r = strcasestr(r + 4, "rel=")) {
			char *v = r + 4;
			int quoted = *v == '"';
			if (quoted)
				v++;
			size_t vl = quoted ? strcspn(v, "\"") : strcspn(v, " \t;");
			char *val = xstrndup(v, vl);
			for (char *save = NULL, *w = strtok_r(val, " \t", &save); w && !next;
			     w = strtok_r(NULL, " \t", &save))
				next = !strcasecmp(w, "next");
			free(val);
		}
		free(ps);
		if (next)
			return xstrndup(p + 1, (size_t)(end - p - 1));
		p = stop;
	}
	return NULL;
}

/* ---- the client ---------------------------------------------------------- */

struct http {
	CURL *curl;
	char *api_origin;
	char *token;
	int insecure;
	int cancel_fd;
	long connect_timeout, timeout;
	int per_host;
	char errbuf[CURL_ERROR_SIZE];
};

static long env_long(const char *name, long def, long min, long max)
{
	const char *s = getenv(name);
	if (!s || !*s)
		return def;
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return def;
	return v;
}

static void free_secret(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

struct http *http_new(const struct http_config *cfg)
{
	pthread_once(&init_once, global_init);
	struct http *h = xcalloc(1, sizeof *h);
	h->curl = curl_easy_init();
	h->api_origin = cfg->api_url ? http_origin(cfg->api_url) : NULL;
	h->token = cfg->token && *cfg->token ? xstrdup(cfg->token) : NULL;
	h->insecure = cfg->insecure;
	h->cancel_fd = cfg->cancel_fd;
	h->connect_timeout = env_long("TALLY_HTTP_CONNECT_TIMEOUT", HTTP_CONNECT_TIMEOUT, 1, 3600);
	h->timeout = env_long("TALLY_HTTP_TIMEOUT", HTTP_TIMEOUT, 1, 3600);
	h->per_host = (int)env_long("TALLY_HTTP_PER_HOST", HTTP_PER_HOST, 1, 256);
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

void http_free(struct http *h)
{
	if (!h)
		return;
	if (h->curl)
		curl_easy_cleanup(h->curl);
	free(h->api_origin);
	free_secret(h->token);
	free(h);
}

void http_response_free(struct http_response *resp)
{
	sbuf_free(&resp->body);
	free(resp->next);
	free(resp->url);
	memset(resp, 0, sizeof *resp);
}

/* ---- one exchange -------------------------------------------------------- */

struct xfer {
	struct sbuf body;
	int too_large;
	char *etag, *link, *location, *remaining, *reset, *retry_after;
	int cancel_fd;
	int cancelled;
};

static void xfer_headers_clear(struct xfer *x)
{
	char **slots[] = {&x->etag, &x->link, &x->location, &x->remaining, &x->reset, &x->retry_after};
	for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++) {
		free(*slots[i]);
		*slots[i] = NULL;
	}
}

static void xfer_free(struct xfer *x)
{
	xfer_headers_clear(x);
	sbuf_free(&x->body);
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nmemb;
	if (x->body.len + n > HTTP_BODY_MAX) {
		x->too_large = 1;
		return 0;
	}
	sbuf_add(&x->body, ptr, n);
	return n;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nmemb;
	if (n >= 5 && !memcmp(ptr, "HTTP/", 5)) {
		xfer_headers_clear(x); /* a new response (after 1xx) */
		return n;
	}
	const char *colon = memchr(ptr, ':', n);
	if (!colon)
		return n;
	size_t klen = (size_t)(colon - ptr);
	const char *v = colon + 1, *end = ptr + n;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
		end--;
	size_t vlen = (size_t)(end - v);
	char **slot = NULL;
#define IS(name) (klen == sizeof(name) - 1 && !strncasecmp(ptr, name, klen))
	if (IS("ETag"))
		slot = &x->etag;
	else if (IS("Link"))
		slot = &x->link;
	else if (IS("Location"))
		slot = &x->location;
	else if (IS("X-RateLimit-Remaining"))
		slot = &x->remaining;
	else if (IS("X-RateLimit-Reset"))
		slot = &x->reset;
	else if (IS("Retry-After"))
		slot = &x->retry_after;
#undef IS
	if (slot && !*slot && vlen < 8192 && !memchr(v, '\0', vlen))
		*slot = xstrndup(v, vlen);
	return n;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	struct xfer *x = ud;
	if (x->cancel_fd < 0)
		return 0;
	struct pollfd p = {.fd = x->cancel_fd, .events = POLLIN};
	if (poll(&p, 1, 0) > 0) {
		x->cancelled = 1;
		return 1;
	}
	return 0;
}

void http_slist_free_wiped(struct curl_slist *l)
{
	for (struct curl_slist *p = l; p; p = p->next)
		explicit_bzero(p->data, strlen(p->data));
	curl_slist_free_all(l);
}

/* One transfer, no redirects. Transport failures set err and return -1. */
static int perform(struct http *h, const char *url, const char *shown, const char *accept,
		   const char *etag, int with_token, struct xfer *x, long *status,
		   struct tally_err *err)
{
	CURL *c = h->curl;
	struct curl_slist *hdrs = NULL;
	char *line;
	int ret = -1;

	if (!c)
		return tally_err_set(err, TC_INTERNAL, "%s: cannot create a libcurl handle", shown);
	curl_easy_reset(c); /* keeps the connection cache */
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, h->connect_timeout);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, h->timeout);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "tally/" TALLY_VERSION);
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, ""); /* the cap counts decoded bytes */
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
	if (share)
		curl_easy_setopt(c, CURLOPT_SHARE, share);
	/* The share's connection cache is bounded by this (libcurl's default
	 * is 5): below the per-host bound, connections of parallel checks are
	 * closed when handed back and every request opens a new one. */
	curl_easy_setopt(c, CURLOPT_MAXCONNECTS, (long)(h->per_host * 4 > 64 ? h->per_host * 4 : 64));
	if (h->insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	} else {
		tls_trust_apply(NULL, c);   /* $SSL_CERT_FILE, $SSL_CERT_DIR */
	}
	line = xasprintf("Accept: %s", accept ? accept : "*/*");
	hdrs = curl_slist_append(hdrs, line);
	free(line);
	if (etag) {
		line = xasprintf("If-None-Match: %s", etag);
		hdrs = curl_slist_append(hdrs, line);
		free(line);
	}
	if (with_token) {
		line = xasprintf("Authorization: Bearer %s", h->token);
		hdrs = curl_slist_append(hdrs, line);
		free_secret(line);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);

	h->errbuf[0] = '\0';
	stat_inc(&stats.requests);
	CURLcode rc = curl_easy_perform(c);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	if (rc != CURLE_OK) {
		const char *why = h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc);
		if (x->too_large)
			tally_err_set(err, TC_TOO_LARGE, "%s: answer larger than %zu MiB refused", shown,
				      HTTP_BODY_MAX >> 20);
		else if (x->cancelled)
			tally_err_set(err, TC_INTERNAL, "%s: cancelled", shown);
		else if (rc == CURLE_OPERATION_TIMEDOUT)
			tally_err_set(err, TC_TIMEOUT, "%s: no complete answer within %ld s (%s)", shown,
				      h->timeout, why);
		else if (tls_curl_error_host(rc, h->errbuf, shown, err) < 0)
			; /* class tls */
		else
			tally_err_set(err, TC_NETWORK, "%s: %s", shown, why);
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	ret = 0;
out:
	http_slist_free_wiped(hdrs);
	return ret;
}

/* When a rate-limited host may be asked again; 0 when the answer is not a
 * rate limit. */
static long long limit_until(long status, const struct xfer *x, long long now)
{
	int remaining0 = x->remaining && !strcmp(x->remaining, "0");
	if (!((status == 403 && (remaining0 || x->retry_after)) || status == 429))
		return 0;
	long long until = 0;
	if (remaining0 && x->reset) {
		char *end;
		long long r = strtoll(x->reset, &end, 10);
		if (!*end && r > 0)
			until = r;
	}
	if (x->retry_after) {
		char *end;
		long long s = strtoll(x->retry_after, &end, 10);
		long long t = 0;
		if (!*end && s >= 0)
			t = now + s;
		else {
			time_t d = curl_getdate(x->retry_after, NULL);
			if (d > 0)
				t = (long long)d;
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

int http_get(struct http *h, const char *url, const char *accept, http_reduce_fn reduce,
	     void *rctx, struct http_response *resp, struct tally_err *err)
{
	char *cur = xstrdup(url), *shown = NULL, *origin = NULL;
	struct xfer x = {.cancel_fd = h->cancel_fd};
	struct cached cd = {0};
	int ret = -1;

	memset(resp, 0, sizeof *resp);
	for (int hop = 0;; hop++) {
		free(shown);
		free(origin);
		shown = url_shown(cur);
		origin = http_origin(cur);
		cached_free(&cd);
		xfer_free(&x);
		memset(&x, 0, sizeof x);
		x.cancel_fd = h->cancel_fd;
		if (!origin || !(scheme_is(cur, "http") || scheme_is(cur, "https"))) {
			tally_err_set(err, TC_INPUT, "%s: not an http(s) URL", shown);
			goto out;
		}
		long long now = (long long)time(NULL);
		long long until = limit_get(origin, now);
		if (until) {
			char when[32];
			iso(until, when);
			stat_inc(&stats.refused_limited);
			resp->retry_at = until;
			tally_err_set(err, TC_RATE_LIMIT,
				      "%s: %s is rate limited until %s; no request is sent before then",
				      shown, origin, when);
			goto out;
		}
		int with_token = h->token && h->api_origin && !strcmp(origin, h->api_origin);
		int have_cached = cache_get(cur, &cd);
		long status = 0;
		host_acquire(origin, h->per_host);
		int rc = perform(h, cur, shown, accept, have_cached ? cd.etag : NULL, with_token, &x,
				 &status, err);
		host_release(origin);
		if (rc < 0)
			goto out;
		now = (long long)time(NULL);

		if (status == 301 || status == 302 || status == 303 || status == 307 || status == 308) {
			if (hop >= HTTP_MAX_REDIRS) {
				tally_err_set(err, TC_VERIFY, "%s: more than %d redirects", shown,
					      HTTP_MAX_REDIRS);
				goto out;
			}
			char *next = x.location ? http_url_resolve(cur, x.location) : NULL;
			if (!next || !(scheme_is(next, "http") || scheme_is(next, "https"))) {
				tally_err_set(err, TC_VERIFY, "%s: HTTP %ld redirect to an unusable location",
					      shown, status);
				free(next);
				goto out;
			}
			if (scheme_is(cur, "https") && scheme_is(next, "http")) {
				tally_err_set(err, TC_VERIFY, "%s: redirect from https to plain http refused",
					      shown);
				free(next);
				goto out;
			}
			char *norigin = http_origin(next);
			int cross = !norigin || strcmp(norigin, origin) != 0;
			int api = h->api_origin && !strcmp(origin, h->api_origin);
			free(norigin);
			if (cross && api) {
				char *ns = url_shown(next);
				tally_err_set(err, TC_VERIFY,
					      "%s: redirect to another host (%s) refused: the API host's answers "
					      "come from the API host",
					      shown, ns);
				free(ns);
				free(next);
				goto out;
			}
			free(cur);
			cur = next;
			continue;
		}
		if (status == 304) {
			stat_inc(&stats.not_modified);
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
		long long lim = limit_until(status, &x, now);
		if (lim) {
			char when[32];
			iso(lim, when);
			limit_set(origin, lim);
			resp->retry_at = lim;
			tally_err_set(err, TC_RATE_LIMIT, "%s: rate limited (HTTP %ld%s) until %s", shown,
				      status,
				      x.remaining && !strcmp(x.remaining, "0") ? ", X-RateLimit-Remaining: 0"
				      : x.retry_after ? ", Retry-After" : "",
				      when);
			goto out;
		}
		if (status < 200 || status > 299) {
			status_fail(status, shown, err);
			goto out;
		}
		if (reduce) {
			struct tally_err rerr = {0};
			if (reduce(sbuf_str(&x.body), x.body.len, &resp->body, rctx, &rerr) < 0) {
				tally_err_set(err, TC_VERIFY, "%s: %s", shown, rerr.msg);
				cache_put(cur, NULL, NULL, NULL, 0, now);
				goto out;
			}
		} else {
			sbuf_add(&resp->body, sbuf_str(&x.body), x.body.len);
		}
		if (x.link) {
			char *n = http_link_next(x.link);
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
		cache_put(cur, x.etag, resp->next, sbuf_str(&resp->body), resp->body.len, now);
		resp->status = status;
		resp->url = xstrdup(cur);
		ret = 0;
		goto out;
	}
out:
	xfer_free(&x);
	cached_free(&cd);
	free(cur);
	free(shown);
	free(origin);
	/* the file is written by http_cache_flush, once per check job or at
	 * most every HTTP_CACHE_FLUSH_MS, never here while a check slot is held */
	return ret;
}
