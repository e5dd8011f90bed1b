/* http.h - tally's one HTTP client, on libcurl (SPEC section 5).
 *
 * Two layers:
 *   - the transport (http.c): http_exchange sends one request (any method,
 *     headers, body, body cap, timeouts, TLS trust from tls.h, cancellation)
 *     and returns status, headers and body; http_redirect_target is the one
 *     redirect policy. The registry client (registry.c) speaks the OCI
 *     protocol on it; nothing else in tally links libcurl's easy API.
 *   - the upstream GET (httpget.c): http_get with redirects, the token, the
 *     ETag cache and rate limits described below.
 *
 * A struct http is one client for one thread (its CURL easy handle never
 * crosses threads); connections, DNS and TLS sessions are shared between
 * clients through one process-wide share handle with locks, so that the
 * check threads of one run reuse each other's connections.
 *
 * Every request:
 *   - connect timeout 10 s, whole request 60 s ($TALLY_HTTP_CONNECT_TIMEOUT
 *     and $TALLY_HTTP_TIMEOUT override them, in seconds, for tests);
 *   - bodies over 8 MiB refused, counted in the write callback;
 *   - TLS verified unless the client is insecure;
 *   - redirects followed by hand, at most 5, http(s) only, never from
 *     https to http; a redirect to another host is refused when the request
 *     goes to the API host (the only one that gets the token), followed
 *     without credentials otherwise;
 *   - User-Agent "tally/" TALLY_VERSION;
 *   - at most HTTP_PER_HOST requests in flight per host in the process
 *     ($TALLY_HTTP_PER_HOST overrides);
 *   - the token (if any) is sent only to the API origin (scheme, host and
 *     port of api_url), and never appears in a message or a file.
 *
 * The cache, STATE/http-cache.json (0600), keeps per URL the ETag, the Link
 * "next" URL and the (reduced) body of the last 200 answer, and per host the
 * time until which it is rate limited. It is held in memory for the process
 * and written atomically after changes; one mutex guards it, so any number
 * of threads may use it at once. A conditional request answered 304 returns
 * the cached body. A host that answered 403/429 with X-RateLimit-Remaining: 0
 * or Retry-After gets no request before its reset: http_get fails at once
 * with TC_RATE_LIMIT and retry_at.
 *
 * Failures: TC_NETWORK (transport, 5xx), TC_TIMEOUT, TC_TOO_LARGE (body cap),
 * TC_RATE_LIMIT, TC_AUTH (401, 403 without rate-limit headers),
 * TC_MISSING_VERSION (404, 410), TC_VERIFY (answers that break the protocol:
 * a redirect to another host or scheme, too many redirects, a 304 with
 * nothing cached, a body the reduce function rejects). Messages name the
 * URL (without user info). */
#ifndef TALLY_HTTP_H
#define TALLY_HTTP_H

#include <stddef.h>

#include "err.h"
#include "util.h"

#define HTTP_BODY_MAX ((size_t)8 << 20)
#define HTTP_MAX_REDIRS 5
#define HTTP_PER_HOST 24
#define HTTP_CONNECT_TIMEOUT 10L
#define HTTP_TIMEOUT 60L

struct http_config {
	const char *state_dir;  /* NULL: cache in memory only */
	const char *api_url;    /* origin that may get the token; NULL: none */
	const char *token;      /* NULL: none; copied */
	int insecure;           /* skip TLS verification */
	int cancel_fd;          /* readable = cancel; -1: none */
};

/* Turns a 200 body into what is cached and returned (e.g. only the fields
 * a parser needs). Returns 0, or -1 with err's message saying what is wrong
 * (http_get prefixes the URL and sets TC_VERIFY). */
typedef int (*http_reduce_fn)(const char *body, size_t len, struct sbuf *out, void *ctx,
			      struct tally_err *err);

struct http_response {
	long status;            /* 200..299, or 304 when from_cache */
	struct sbuf body;       /* reduced body */
	char *next;             /* absolute URL of Link rel="next", or NULL */
	char *url;              /* the URL that answered (after redirects) */
	int from_cache;         /* 1 when a 304 reused the cached body */
	long long retry_at;     /* TC_RATE_LIMIT: epoch seconds of the reset */
};

struct http;

/* Caller frees with http_free. Never fails except on allocation. */
struct http *http_new(const struct http_config *cfg);
void http_free(struct http *h);

/* GET url (http or https). accept is a full header value or NULL; reduce
 * may be NULL (the body as is; it must then be valid UTF-8 to be cached).
 * On 2xx or a 304 served from the cache returns 0 with resp filled; else -1
 * with err (and resp->retry_at for rate limits). Clear resp with
 * http_response_free after either. */
int http_get(struct http *h, const char *url, const char *accept, http_reduce_fn reduce,
	     void *rctx, struct http_response *resp, struct tally_err *err);
void http_response_free(struct http_response *resp);

/* Scheme://host[:port] of url, lowercased, default port dropped; NULL when
 * url does not parse. Caller frees. */
char *http_origin(const char *url);

/* Counters for tests and benchmarks (process-wide). */
struct http_stats {
	long requests;          /* sent over the network */
	long not_modified;      /* 304 answers */
	long refused_limited;   /* not sent: host rate limited */
	long cache_writes;      /* http-cache.json written */
};
void http_stats_get(struct http_stats *out);
/* Writes http-cache.json when it changed: always with force, else only
 * when the last write is HTTP_CACHE_FLUSH_MS old. http_get never writes it
 * (a check would hold its slot through the write); the engine flushes it
 * once at the end of every job, before the job's done event (a write in
 * the engine thread while checks run would hold up the next checks). */
#define HTTP_CACHE_FLUSH_MS 500
void http_cache_flush(int force);
/* Writes what changed, then forgets the in-memory cache so the next use
 * reloads the file (tests). */
void http_cache_forget(void);

/* URL helpers shared with registry.c. Callers free what they return. */
/* ref resolved against base (base NULL: ref must be absolute), without user
 * info or fragment; NULL when it does not parse. */
char *http_url_resolve(const char *base, const char *ref);
/* 1 when a and b have the same origin (http_origin), 0 otherwise. */
int http_same_origin(const char *a, const char *b);
/* The rel="next" target of a Link header, or NULL. */
char *http_link_next(const char *link);
/* Appends s to out percent-encoded for a URL query or a form (every byte
 * but ALPHA DIGIT - . _ ~). */
void http_escape(struct sbuf *out, const char *s);

/* ---- the transport (http.c) ---------------------------------------------- */

struct tls_trust;

/* A client with no cache and no token: connect timeout
 * HTTP_CONNECT_TIMEOUT, whole request HTTP_TIMEOUT (no environment
 * override), requests not counted in http_stats. For the registry client.
 * Caller frees with http_free. */
struct http *http_transport_new(int insecure, int cancel_fd);

struct http_request {
	const char *method;          /* NULL or "GET", "HEAD", "POST", "PUT", "DELETE"... */
	const char *url;             /* http or https */
	const char *const *headers;  /* "Name: value" lines, NULL-terminated, or NULL;
				      * they may carry credentials: copies are wiped */
	const char *body;            /* sent with POST and PUT */
	size_t body_len;
	size_t body_max;             /* answers longer are refused; 0: HTTP_BODY_MAX */
	int decode;                  /* Accept-Encoding: what libcurl decodes (the
				      * cap counts decoded bytes) */
	struct tls_trust *trust;     /* CAs and client cert; NULL: $SSL_CERT_* only */
	const char *tls_host;        /* registry HOST[:PORT]: TLS failures name
				      * certs.d; NULL: an upstream ($SSL_CERT_FILE) */
	const char *cert_dir;        /* with tls_host: registry.certDir or NULL */
	enum tally_class timeout_class; /* TC_NONE: a timeout is TC_TIMEOUT; else this
					 * class with libcurl's words */
};

struct http_header {
	char *name, *value;
};

struct http_reply {
	long status;
	struct sbuf body;
	struct http_header *headers; /* the final response's (not a 1xx's) */
	size_t nheaders;
};

/* One request, no redirects followed (see http_redirect_target). Returns 0
 * when an answer came (any status) with rp filled, else -1 with err:
 * TC_TOO_LARGE (body cap), TC_TLS, TC_TIMEOUT (or rq->timeout_class),
 * TC_INTERNAL (cancelled), TC_NETWORK; messages name the URL (as shown:
 * no user info). rp is cleared first; free it with http_reply_free. */
int http_exchange(struct http *h, const struct http_request *rq, struct http_reply *rp,
		  struct tally_err *err);
/* The nth (from 0) value of header name (case-insensitive), or NULL. */
const char *http_reply_header(const struct http_reply *rp, const char *name, size_t nth);
void http_reply_free(struct http_reply *rp);

#define HTTP_REDIR_NO_DOWNGRADE 1u  /* refuse https -> http */
#define HTTP_REDIR_SAME_ORIGIN  2u  /* refuse another scheme, host or port */
/* The redirect policy. status 301/302/303/307/308 from cur: returns 1 with
 * *next (caller frees) the absolute target to follow as hop number hops+1;
 * 0 when status is no redirect; -1 with err (TC_VERIFY) when it must not be
 * followed: hops already HTTP_MAX_REDIRS, no usable http(s) Location, a
 * downgrade or another origin refused by flags (why ends the message). */
int http_redirect_target(const char *cur, long status, const char *location, int hops,
			 unsigned flags, const char *why, char **next, struct tally_err *err);

#endif
