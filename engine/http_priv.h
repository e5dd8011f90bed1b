/* http_priv.h - what the transport (http.c) shares with the upstream GET
 * (httpget.c) and nobody else: the client struct and the counters. */
#ifndef TALLY_HTTP_PRIV_H
#define TALLY_HTTP_PRIV_H

#include "http.h"

struct http {
	void *curl;             /* CURL easy handle, this thread's only */
	int insecure;           /* skip TLS verification */
	int cancel_fd;          /* readable = cancel; -1: none */
	int counted;            /* requests count in http_stats (upstream clients) */
	long connect_timeout, timeout;
	int per_host;           /* in-flight bound per host (also sizes MAXCONNECTS) */
	char *api_origin;       /* upstream clients: origin that may get the token */
	char *token;
	char errbuf[256];       /* CURL_ERROR_SIZE */
};

/* A client with the given timeouts; cfg fields other than insecure and
 * cancel_fd are the caller's business. */
struct http *http_alloc(int insecure, int cancel_fd, long connect_timeout, long timeout,
			int per_host);
/* Environment integer in [min, max], else def. */
long http_env_long(const char *name, long def, long min, long max);
/* Bumps a counter of the process-wide stats. */
extern struct http_stats http_stats_all;
void http_stat_inc(long *counter);
/* The URL as shown in messages (no user info, printable, at most 300
 * characters). Caller frees. */
char *http_url_shown(const char *url);
int http_scheme_is(const char *url, const char *scheme);
void http_free_secret(char *s);
/* An HTTP date (RFC 7231) as epoch seconds; -1 when it does not parse. */
long long http_date(const char *s);

#endif
