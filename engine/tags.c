/* tags.c - tag verify / put / float with the read-back window: see tags.h.
 * Runs on the caller's thread; no state of its own between calls. */
#include "tags.h"
#include "crashpoint.h"

#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void logf_(const struct tags_ctx *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(const struct tags_ctx *t, const char *fmt, ...)
{
	if (!t->log)
		return;
	struct sbuf sb = {0};
	va_list ap;
	va_start(ap, fmt);
	sbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	t->log(t->lctx, sb.buf);
	sbuf_free(&sb);
}

struct lag {
	double deadline, wait;
	int tries;
};

/* Waits up to secs; -1 when cancelled meanwhile. */
static int nap(const struct tags_ctx *t, double secs)
{
	struct pollfd p = {.fd = t->cancel_fd, .events = POLLIN};
	int ms = (int)(secs * 1000);
	if (t->cancel_fd < 0) {
		poll(NULL, 0, ms);
		return 0;
	}
	return poll(&p, 1, ms) > 0 ? -1 : 0;
}

/* After a failed read of what: 1 when it slept and the read should be
 * tried again, 0 to give up (err then has its final class),
 * TAGS_CANCELLED when cancelled while waiting. */
static int lag_retry(const struct tags_ctx *t, struct lag *l, const char *what,
		     struct tally_err *err)
{
	if (err->cls != TC_MISSING_VERSION)
		return 0;
	double now = util_monotonic();
	if (!l->tries && l->deadline == 0) {
		l->deadline = now + TAGS_READBACK_WINDOW;
		l->wait = 0.25;
		logf_(t, "verify: %s not found right after the push; reading it again for up to "
		      "%.0f s (registries behind a CDN lag)", what, TAGS_READBACK_WINDOW);
	}
	double left = l->deadline - now;
	if (left <= 0) {
		err->cls = TC_VERIFY;
		size_t n = strlen(err->msg);
		snprintf(err->msg + n, sizeof err->msg - n,
			 "; still not found after %d re-reads in %.0f s: the registry lags or lost "
			 "what tally pushed", l->tries, TAGS_READBACK_WINDOW);
		return 0;
	}
	l->tries++;
	if (nap(t, l->wait < left ? l->wait : left) < 0)
		return TAGS_CANCELLED;
	l->wait = l->wait * 2 > 2 ? 2 : l->wait * 2;
	return 1;
}

enum kind { DIGEST, MANIFEST, BLOB };

/* One read of ref (shown as what), re-read on a 404 when fresh. */
static int read_back(const struct tags_ctx *t, enum kind k, const char *ref, const char *what,
		     int fresh, char got[REGISTRY_DIGEST_MAX], struct sbuf *body, char **mt,
		     struct tally_err *err)
{
	struct lag l = {0};
	int rc;
	for (;;) {
		rc = k == MANIFEST ? registry_get_manifest(t->reg, t->image, ref, body, mt, got, err)
		   : k == BLOB ? registry_get_blob(t->reg, t->image, ref, body, err)
		   : registry_digest(t->reg, t->image, ref, got, err);
		if (rc == 0)
			break;
		int again = fresh ? lag_retry(t, &l, what, err) : 0;
		if (again > 0)
			continue;
		rc = again < 0 ? TAGS_CANCELLED : -1;
		break;
	}
	if (rc == 0 && l.tries)
		logf_(t, "verify: %s found after %d re-read%s", what, l.tries, l.tries == 1 ? "" : "s");
	return rc;
}

int tags_digest(const struct tags_ctx *t, const char *tag, int fresh,
		char got[REGISTRY_DIGEST_MAX], struct tally_err *err)
{
	char *what = xasprintf("%s:%s", t->image, tag);
	int rc = read_back(t, DIGEST, tag, what, fresh, got, NULL, NULL, err);
	free(what);
	return rc;
}

int tags_manifest(const struct tags_ctx *t, const char *ref, int fresh, struct sbuf *body,
		  char **mt, struct tally_err *err)
{
	char d[REGISTRY_DIGEST_MAX];
	char *what = xasprintf("%s@%s", t->image, ref);
	int rc = read_back(t, MANIFEST, ref, what, fresh, d, body, mt, err);
	free(what);
	return rc;
}

int tags_blob(const struct tags_ctx *t, const char *digest, int fresh, struct sbuf *body,
	      struct tally_err *err)
{
	char *what = xasprintf("%s config %s", t->image, digest);
	int rc = read_back(t, BLOB, digest, what, fresh, NULL, body, NULL, err);
	free(what);
	return rc;
}

int tags_verify(const struct tags_ctx *t, const char *const *tags, size_t n, const char *digest,
		int fresh, struct tally_err *err)
{
	for (size_t i = 0; i < n; i++) {
		char got[REGISTRY_DIGEST_MAX];
		int rc = tags_digest(t, tags[i], fresh, got, err);
		if (rc < 0)
			return rc;
		if (strcmp(got, digest) != 0)
			return tally_err_set(err, TC_VERIFY, "%s:%s reads back as %s, expected %s",
					     t->image, tags[i], got, digest);
		logf_(t, "verify: %s:%s = %s", t->image, tags[i], got);
	}
	return 0;
}

int tags_put(const struct tags_ctx *t, const char *digest, const char *tag, const char *stage,
	     const struct sbuf *have, const char *have_mt, struct tally_err *err)
{
	struct sbuf body = {0};
	char *mt = NULL;
	char d[REGISTRY_DIGEST_MAX];
	int rc = 0;
	if (!have) {
		rc = registry_get_manifest(t->reg, t->image, digest, &body, &mt, d, err);
		have = &body;
		have_mt = mt;
	}
	if (rc == 0)
		rc = registry_put_manifest(t->reg, t->image, tag, have->buf, have->len, have_mt, err);
	if (rc == 0)
		logf_(t, "%s: %s:%s -> %s", stage, t->image, tag, digest);
	free(mt);
	sbuf_free(&body);
	return rc;
}

int tags_float(const struct tags_ctx *t, const char *tag, const char *digest, int only_if_off,
	       struct sbuf *body, char **mt, int *changed, struct tally_err *err)
{
	char d[REGISTRY_DIGEST_MAX] = "";
	*changed = 0;
	if (only_if_off) {
		struct tally_err e2 = {0};
		if (registry_digest(t->reg, t->image, tag, d, &e2) == 0 && strcmp(d, digest) == 0)
			return 0;
	}
	if (!body->len) {
		char got[REGISTRY_DIGEST_MAX];
		if (registry_get_manifest(t->reg, t->image, digest, body, mt, got, err) < 0)
			return -1;
	}
	*changed = 1;
	if (t->crash_before_put)
		crashpoint(t->crash_before_put);
	if (tags_put(t, digest, tag, "floating", body, *mt, err) < 0)
		return -1;
	int rc = tags_digest(t, tag, 1, d, err);
	if (rc < 0)
		return rc;
	if (strcmp(d, digest) != 0)
		return tally_err_set(err, TC_VERIFY, "%s:%s reads back as %s after the put, expected %s",
				     t->image, tag, d, digest);
	return 0;
}
