/* http.c - the HTTP transport: one request over libcurl (see http.h), the
 * redirect policy, and URL helpers. tally's only user of libcurl's easy
 * API; the upstream GET with its cache is httpget.c, the OCI protocol
 * registry.c.
 *
 * DESIGN (threads): every thread owns its struct http (one CURL easy
 * handle, reset and reused for each request so connections stay alive); a
 * handle never crosses threads. Process-wide: the curl share handle
 * (connections, DNS, TLS sessions), locked per curl_lock_data through
 * share_lock/share_unlock, which libcurl takes inside curl_easy_perform;
 * and the counters in http_stats_all (atomic). No other lock here. */
#include "http_priv.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "tls.h"

#define HEADERS_MAX 256            /* further header lines are ignored */
#define HEADER_VALUE_MAX 8192      /* longer values are ignored */

_Static_assert(sizeof(((struct http *)0)->errbuf) >= CURL_ERROR_SIZE, "errbuf too small");

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

struct http_stats http_stats_all;

void http_stat_inc(long *counter)
{
	__atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

void http_stats_get(struct http_stats *out)
{
	out->requests = __atomic_load_n(&http_stats_all.requests, __ATOMIC_RELAXED);
	out->not_modified = __atomic_load_n(&http_stats_all.not_modified, __ATOMIC_RELAXED);
	out->refused_limited = __atomic_load_n(&http_stats_all.refused_limited, __ATOMIC_RELAXED);
	out->cache_writes = __atomic_load_n(&http_stats_all.cache_writes, __ATOMIC_RELAXED);
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

char *http_url_shown(const char *url)
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

int http_scheme_is(const char *url, const char *scheme)
{
	size_t n = strlen(scheme);
	return !strncasecmp(url, scheme, n) && url[n] == ':';
}

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

void http_escape(struct sbuf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
			sbuf_addc(out, (char)*p);
		} else {
			sbuf_addc(out, '%');
			sbuf_addc(out, hex[*p >> 4]);
			sbuf_addc(out, hex[*p & 15]);
		}
	}
}

long long http_date(const char *s)
{
	time_t t = curl_getdate(s, NULL);
	return t > 0 ? (long long)t : -1;
}

/* ---- redirects ----------------------------------------------------------- */

static int is_redirect(long status)
{
	return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

int http_same_origin(const char *a, const char *b)
{
	char *oa = http_origin(a), *ob = http_origin(b);
	int same = oa && ob && !strcmp(oa, ob);
	free(oa);
	free(ob);
	return same;
}

int http_redirect_target(const char *cur, long status, const char *location, int hops,
			 unsigned flags, const char *why, char **next, struct tally_err *err)
{
	*next = NULL;
	if (!is_redirect(status))
		return 0;
	char *shown = http_url_shown(cur);
	char *to = location ? http_url_resolve(cur, location) : NULL;
	int ret = -1;
	if (hops >= HTTP_MAX_REDIRS) {
		tally_err_set(err, TC_VERIFY, "%s: more than %d redirects", shown, HTTP_MAX_REDIRS);
	} else if (!to || !(http_scheme_is(to, "http") || http_scheme_is(to, "https"))) {
		tally_err_set(err, TC_VERIFY, "%s: HTTP %ld redirect to an unusable location", shown,
			      status);
	} else if ((flags & HTTP_REDIR_NO_DOWNGRADE) && http_scheme_is(cur, "https") &&
		   http_scheme_is(to, "http")) {
		tally_err_set(err, TC_VERIFY, "%s: redirect from https to plain http refused", shown);
	} else if ((flags & HTTP_REDIR_SAME_ORIGIN) && !http_same_origin(cur, to)) {
		char *ts = http_url_shown(to);
		tally_err_set(err, TC_VERIFY, "%s: redirect to another host (%s) refused%s%s", shown, ts,
			      why ? ": " : "", why ? why : "");
		free(ts);
	} else {
		*next = to;
		to = NULL;
		ret = 1;
	}
	free(to);
	free(shown);
	return ret;
}

/* ---- the client ---------------------------------------------------------- */

long http_env_long(const char *name, long def, long min, long max)
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

void http_free_secret(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

struct http *http_alloc(int insecure, int cancel_fd, long connect_timeout, long timeout,
			int per_host)
{
	/* libcurl is opened and the handle made by the first exchange: an
	 * attempt makes its transport before it builds (curlload.c) */
	struct http *h = xcalloc(1, sizeof *h);
	h->insecure = insecure;
	h->cancel_fd = cancel_fd;
	h->connect_timeout = connect_timeout;
	h->timeout = timeout;
	h->per_host = per_host;
	return h;
}

struct http *http_transport_new(int insecure, int cancel_fd)
{
	return http_alloc(insecure, cancel_fd, HTTP_CONNECT_TIMEOUT, HTTP_TIMEOUT, HTTP_PER_HOST);
}

void http_free(struct http *h)
{
	if (!h)
		return;
	if (h->curl)
		curl_easy_cleanup(h->curl);
	free(h->api_origin);
	http_free_secret(h->token);
	free(h);
}

/* ---- one exchange -------------------------------------------------------- */

struct xfer {
	struct http_reply *rp;
	size_t body_max;
	int too_large;
	int cancel_fd;
	int cancelled;
};

static void headers_clear(struct http_reply *rp)
{
	for (size_t i = 0; i < rp->nheaders; i++) {
		free(rp->headers[i].name);
		http_free_secret(rp->headers[i].value);
	}
	free(rp->headers);
	rp->headers = NULL;
	rp->nheaders = 0;
}

void http_reply_free(struct http_reply *rp)
{
	headers_clear(rp);
	sbuf_free(&rp->body);
	memset(rp, 0, sizeof *rp);
}

const char *http_reply_header(const struct http_reply *rp, const char *name, size_t nth)
{
	for (size_t i = 0; i < rp->nheaders; i++)
		if (!strcasecmp(rp->headers[i].name, name) && nth-- == 0)
			return rp->headers[i].value;
	return NULL;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nmemb;
	if (x->rp->body.len + n > x->body_max) {
		x->too_large = 1;
		return 0;
	}
	sbuf_add(&x->rp->body, ptr, n);
	return n;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	struct http_reply *rp = x->rp;
	size_t n = size * nmemb;
	if (n >= 5 && !memcmp(ptr, "HTTP/", 5)) {
		headers_clear(rp); /* a new response (after 1xx) */
		return n;
	}
	const char *colon = memchr(ptr, ':', n);
	if (!colon || colon == ptr || rp->nheaders >= HEADERS_MAX)
		return n;
	size_t klen = (size_t)(colon - ptr);
	const char *v = colon + 1, *end = ptr + n;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
		end--;
	size_t vlen = (size_t)(end - v);
	if (vlen >= HEADER_VALUE_MAX || memchr(v, '\0', vlen) || memchr(ptr, '\0', klen))
		return n;
	rp->headers = xrealloc(rp->headers, (rp->nheaders + 1) * sizeof *rp->headers);
	rp->headers[rp->nheaders].name = xstrndup(ptr, klen);
	rp->headers[rp->nheaders].value = xstrndup(v, vlen);
	rp->nheaders++;
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

static void slist_free_wiped(struct curl_slist *l)
{
	for (struct curl_slist *p = l; p; p = p->next)
		explicit_bzero(p->data, strlen(p->data));
	curl_slist_free_all(l);
}

static void set_method(CURL *c, const struct http_request *rq)
{
	const char *m = rq->method ? rq->method : "GET";
	if (!strcmp(m, "HEAD")) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (!strcmp(m, "POST") || !strcmp(m, "PUT")) {
		if (!strcmp(m, "PUT"))
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
	} else if (strcmp(m, "GET") != 0) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, m);
	}
}

int http_exchange(struct http *h, const struct http_request *rq, struct http_reply *rp,
		  struct tally_err *err)
{
	if (!h->curl) {
		pthread_once(&init_once, global_init);
		h->curl = curl_easy_init();
	}
	CURL *c = h->curl;
	struct curl_slist *hdrs = NULL;
	struct xfer x = {.rp = rp, .body_max = rq->body_max ? rq->body_max : HTTP_BODY_MAX,
			 .cancel_fd = h->cancel_fd};
	char *shown = http_url_shown(rq->url);
	int ret = -1;

	http_reply_free(rp);
	if (!c) {
		tally_err_set(err, TC_INTERNAL, "%s: cannot create a libcurl handle", shown);
		goto out;
	}
	curl_easy_reset(c); /* keeps the connection cache */
	curl_easy_setopt(c, CURLOPT_URL, rq->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, h->connect_timeout);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, h->timeout);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "tally/" TALLY_VERSION);
	if (rq->decode)
		curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, &x);
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
		tls_trust_apply(rq->trust, c);
	}
	set_method(c, rq);
	for (const char *const *l = rq->headers; l && *l; l++)
		hdrs = curl_slist_append(hdrs, *l);
	if (rq->method && (!strcmp(rq->method, "POST") || !strcmp(rq->method, "PUT")))
		hdrs = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip */
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);

	h->errbuf[0] = '\0';
	if (h->counted)
		http_stat_inc(&http_stats_all.requests);
	CURLcode rc = curl_easy_perform(c);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	if (rc != CURLE_OK) {
		const char *why = h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc);
		if (x.too_large)
			tally_err_set(err, TC_TOO_LARGE, "%s: answer larger than %zu MiB refused", shown,
				      x.body_max >> 20);
		else if (x.cancelled)
			tally_err_set(err, TC_INTERNAL, "%s: cancelled", shown);
		else if (rc == CURLE_OPERATION_TIMEDOUT && rq->timeout_class == TC_NONE)
			tally_err_set(err, TC_TIMEOUT, "%s: no complete answer within %ld s (%s)", shown,
				      h->timeout, why);
		else if (rc == CURLE_OPERATION_TIMEDOUT)
			tally_err_set(err, rq->timeout_class, "%s: %s", shown, why);
		else if (rq->tls_host ? tls_curl_error((int)rc, h->errbuf, shown, rq->tls_host,
						       rq->cert_dir, err) < 0
				      : tls_curl_error_host(rc, h->errbuf, shown, err) < 0)
			; /* class tls, the message says what to do */
		else
			tally_err_set(err, TC_NETWORK, "%s: %s", shown, why);
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &rp->status);
	ret = 0;
out:
	slist_free_wiped(hdrs);
	free(shown);
	return ret;
}
