/* upstream.h - reading a component's upstream (SPEC section 5).
 *
 * The kinds are a table in upstream.c (name, fetch function). A fetch never
 * guesses: anything unreadable leaves the result with a class and a message
 * naming the URL, and the caller treats the upstream as unknown. Versions
 * outside the OCI tag grammar are dropped with a warning before anything
 * else looks at them. Safe to call from worker threads: the only shared
 * state is http.c's cache and per-host counters, which it locks.
 *
 * github-release / github-tag read {apiUrl}/repos/OWNER/REPO/releases|tags
 * with per_page=100, following Link rel="next" (at most 20 pages, each URL
 * once, never to another host); file-regex reads http(s):// through http.c
 * and file:// directly, both capped at 8 MiB. The GitHub token is
 * $GITHUB_TOKEN, else the first line of github.tokenFile. */
#ifndef TALLY_UPSTREAM_H
#define TALLY_UPSTREAM_H

#include "config.h"
#include "err.h"
#include "util.h"

struct upstream_result {
	struct strv versions;     /* accepted by the filters, newest first */
	struct strv warnings;
	size_t aliases;           /* tags with no digit (latest, xenial), passed over */
	enum tally_class cls;     /* TC_NONE when read */
	char *message;            /* NULL when read */
	long long retry_at;       /* rate limits: epoch seconds, else 0 */
};

struct upstream_ctx {
	const struct tally_conf *conf;
	const char *repo_root;    /* for relative paths */
	const char *state_dir;
	int cancel_fd;            /* -1: none */
};

/* Fills res (zero it first). Returns 0; failures are in res->cls. */
int upstream_check(const struct upstream_ctx *ctx, const struct comp_conf *cc,
		   struct upstream_result *res);
void upstream_result_free(struct upstream_result *res);
/* 1 when the kind needs no network and offers no versions (manual). */
int upstream_is_manual(const struct comp_conf *cc);

#endif
