/* claims.c - claims of components on the versions repo's remote, so that
 * several build hosts never build one version twice (see claims.h).
 *
 * Threads: none of its own; every function blocks on git (through the
 * runner, never a shell) and is called from the engine's repo worker. */
#include "claims.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gitnet.h"
#include "runner.h"
#include "util.h"

#define CLAIMS_PREFIX "refs/tally/claims/"
#define SEEN_PREFIX "refs/tally/seen-claims/"
#define TAKE_TRIES 4

void claim_free(struct claim *c)
{
	if (!c)
		return;
	free(c->component);
	free(c->host);
	free(c->attempt);
	free(c->version);
	memset(c, 0, sizeof *c);
}

char *claims_ref(const char *component)
{
	if (!component || !*component)
		return NULL;
	size_t n = strlen(component);
	for (const char *p = component; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
			 ch == '_' || ch == '-' || ch == '.';
		if (!ok)
			return NULL;
	}
	if (component[0] == '.' || component[n - 1] == '.' || strstr(component, "..") ||
	    (n >= 5 && strcmp(component + n - 5, ".lock") == 0))
		return NULL;
	return xasprintf(CLAIMS_PREFIX "%s", component);
}

/* A trailer value: one line of printable text, no surrounding blanks. */
static int value_ok(const char *s)
{
	if (!s || !*s || *s == ' ' || s[strlen(s) - 1] == ' ')
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

char *claims_message(const struct claim *c)
{
	char when[32];
	util_iso8601(c->expires, when, sizeof when);
	return xasprintf("tally claim: %s %s\n\nTally-Host: %s\nTally-Attempt: %s\nTally-Version: %s\n"
			 "Tally-Expires: %s\n",
			 c->component, c->version, c->host, c->attempt, c->version, when);
}

static int parse_iso(const char *s, long long *out)
{
	struct tm tm = {0};
	const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end)
		return -1;
	*out = (long long)timegm(&tm);
	return 0;
}

int claims_parse(const char *component, const char *message, struct claim *out, struct tally_err *err)
{
	memset(out, 0, sizeof *out);
	static const char *const names[] = {"Tally-Host: ", "Tally-Attempt: ", "Tally-Version: ",
					    "Tally-Expires: "};
	char *vals[4] = {0};
	const char *p = message ? message : "";
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		for (size_t i = 0; i < 4; i++) {
			size_t k = strlen(names[i]);
			if (len >= k && strncmp(p, names[i], k) == 0 && !vals[i])
				vals[i] = xstrndup(p + k, len - k);
		}
		p += len + (nl ? 1 : 0);
	}
	long long expires = 0;
	const char *bad = NULL;
	for (size_t i = 0; i < 4 && !bad; i++)
		if (!value_ok(vals[i]))
			bad = names[i];
	if (!bad && parse_iso(vals[3], &expires) < 0)
		bad = "Tally-Expires: ";
	if (bad) {
		char name[32];
		snprintf(name, sizeof name, "%.*s", (int)(strlen(bad) - 2), bad);
		for (size_t i = 0; i < 4; i++)
			free(vals[i]);
		return tally_err_set(err, TC_RECORD,
				     "the claim " CLAIMS_PREFIX "%s is not a tally claim (no valid %s trailer); "
				     "delete it on the remote if no host builds %s",
				     component, name, component);
	}
	out->component = xstrdup(component);
	out->host = vals[0];
	out->attempt = vals[1];
	out->version = vals[2];
	free(vals[3]);
	out->expires = expires;
	return 0;
}

static void collect(void *ctx, const char *data, size_t len)
{
	if (data)
		sbuf_add(ctx, data, len);
}

/* Runs git in the clone; out gets stdout and stderr. 0 when it exited 0;
 * 1 when it ran and failed (out says why); -1 when it could not run or
 * timed out or was cancelled (err set). */
static int git(const struct claims_ctx *cx, char **argv, struct sbuf *out, struct tally_err *err)
{
	struct strv env = {0};
	gitnet_env(&env, cx->repo_dir, cx->net_timeout);
	strv_push(&env, "LC_ALL=C");
	strv_push(&env, "GIT_AUTHOR_NAME=tally");
	strv_push(&env, "GIT_AUTHOR_EMAIL=tally@localhost");
	strv_push(&env, "GIT_COMMITTER_NAME=tally");
	strv_push(&env, "GIT_COMMITTER_EMAIL=tally@localhost");
	struct run_opts o = {
		.argv = argv, .cwd = cx->repo_dir, .env_add = env.v, .log_fd = cx->log_fd,
		.timeout_s = 10 * (cx->net_timeout > 0 ? cx->net_timeout : 30), .cancel_fd = cx->cancel_fd,
		.on_output = collect, .ctx = out, .pass_env = cx->pass_env, .git_env = 1,
	};
	struct run_result rr;
	sbuf_reset(out);
	int rc = runner_run(&o, &rr, err);
	strv_free(&env);
	if (rc < 0)
		return -1;
	if (rr.exited && rr.status == 0)
		return 0;
	if (rr.timed_out || rr.cancelled || !rr.exited)
		return tally_err_set(err, rr.cancelled ? TC_RECORD : TC_NETWORK, "git %s %s: %s", argv[1],
				     cx->remote, rr.timed_out ? "timed out" : rr.cancelled ? "cancelled" : "killed");
	return 1;
}

/* The first line of git's output, for a message. */
static int fail_git(struct tally_err *err, const char *what, const struct claims_ctx *cx, const struct sbuf *out)
{
	const char *text = sbuf_str(out);
	size_t len = strcspn(text, "\n");
	return tally_err_set(err, gitnet_class(0, text, strlen(text)), "%s on %s: %.*s", what, cx->remote, (int)len,
			     text);
}

int claims_read(const struct claims_ctx *cx, const char *component, struct claim *out, int *found,
		struct tally_err *err)
{
	*found = 0;
	memset(out, 0, sizeof *out);
	char *ref = claims_ref(component);
	if (!ref)
		return tally_err_set(err, TC_INPUT, "component \"%s\": its name cannot be a git ref, so no claim can "
				     "be made for it; rename it", component);
	char *seen = xasprintf(SEEN_PREFIX "%s", component);
	char *spec = xasprintf("+%s:%s", ref, seen);
	char *fetch[] = {"git", "fetch", "--no-tags", "--no-write-fetch-head", "--quiet", (char *)cx->remote,
			 spec, NULL};
	struct sbuf o = {0};
	int rc = git(cx, fetch, &o, err);
	if (rc == 1 && strstr(sbuf_str(&o), "couldn't find remote ref")) {
		rc = 0;   /* no claim */
	} else if (rc == 1) {
		rc = fail_git(err, ref, cx, &o);
	} else if (rc == 0) {
		char *parse[] = {"git", "rev-parse", "--verify", "--quiet", seen, NULL};
		rc = git(cx, parse, &o, err);
		char oid[41] = "";
		if (rc == 0 && sscanf(sbuf_str(&o), "%40[0-9a-f]", oid) == 1 && strlen(oid) == 40) {
			char *cat[] = {"git", "cat-file", "commit", oid, NULL};
			rc = git(cx, cat, &o, err);
			const char *body = strstr(sbuf_str(&o), "\n\n");
			if (rc == 0) {
				rc = claims_parse(component, body ? body + 2 : "", out, err);
				if (rc == 0) {
					memcpy(out->oid, oid, sizeof out->oid);
					*found = 1;
				}
			} else if (rc == 1) {
				rc = tally_err_set(err, TC_RECORD,
						   "the claim %s on %s is not a tally claim (%s is no commit); "
						   "delete it on the remote if no host builds %s",
						   ref, cx->remote, oid, component);
			}
		} else if (rc >= 0) {
			rc = fail_git(err, ref, cx, &o);
		}
	}
	sbuf_free(&o);
	free(spec);
	free(seen);
	free(ref);
	return rc < 0 ? -1 : 0;
}

/* A claim commit for c (parent: the claim it replaces, or NULL). */
static int make_commit(const struct claims_ctx *cx, const struct claim *c, const char *parent, char oid[41],
		       struct tally_err *err)
{
	struct sbuf o = {0};
	char *mktree[] = {"git", "mktree", NULL};   /* stdin is /dev/null: the empty tree */
	int rc = git(cx, mktree, &o, err);
	char tree[41] = "";
	if (rc == 0 && sscanf(sbuf_str(&o), "%40[0-9a-f]", tree) == 1 && strlen(tree) == 40) {
		char *msg = claims_message(c);
		char *argv[] = {"git", "-c", "commit.gpgSign=false", "commit-tree", tree, "-m", msg,
				parent ? "-p" : NULL, (char *)parent, NULL};
		rc = git(cx, argv, &o, err);
		free(msg);
		if (rc == 0 && (sscanf(sbuf_str(&o), "%40[0-9a-f]", oid) != 1 || strlen(oid) != 40))
			rc = 1;
	} else if (rc == 0) {
		rc = 1;
	}
	if (rc == 1)
		rc = tally_err_set(err, TC_RECORD, "making a claim commit in %s: %s", cx->repo_dir, sbuf_str(&o));
	sbuf_free(&o);
	return rc < 0 ? -1 : 0;
}

/* Pushes new_oid (NULL: deletes) to the claim ref when the remote's value
 * is expect (""/NULL: none). 0 done, 1 the remote's value was another, -1
 * err. */
static int push_cas(const struct claims_ctx *cx, const char *ref, const char *expect, const char *new_oid,
		    struct tally_err *err)
{
	char *lease = xasprintf("--force-with-lease=%s:%s", ref, expect ? expect : "");
	char *spec = xasprintf("%s:%s", new_oid ? new_oid : "", ref);
	char *argv[] = {"git", "push", "--porcelain", "--no-verify", lease, (char *)cx->remote, spec, NULL};
	struct sbuf o = {0};
	int rc = git(cx, argv, &o, err);
	if (rc == 1) {
		/* porcelain: "!\tSRC:DST\t[rejected] (stale info)" for a lease
		 * that failed; "fetch first"/"already exists" from older servers */
		const char *t = sbuf_str(&o);
		/* "[remote rejected] (failed to update ref)" with "cannot lock
		 * ref": the remote's own compare-and-swap lost a race */
		if (strstr(t, "[rejected]") || strstr(t, "stale info") || strstr(t, "already exists") ||
		    strstr(t, "fetch first") || strstr(t, "cannot lock ref"))
			rc = 1;
		else
			rc = fail_git(err, new_oid ? "claiming" : "releasing a claim", cx, &o);
	}
	sbuf_free(&o);
	free(spec);
	free(lease);
	return rc;
}

int claims_take(const struct claims_ctx *cx, const char *component, const char *host, const char *attempt,
		const char *version, long long now, long long ttl_s, struct claim *mine, struct claim *other,
		struct tally_err *err)
{
	memset(mine, 0, sizeof *mine);
	memset(other, 0, sizeof *other);
	char *ref = claims_ref(component);
	if (!ref)
		return tally_err_set(err, TC_INPUT, "component \"%s\": its name cannot be a git ref, so no claim can "
				     "be made for it; rename it", component);
	if (!value_ok(host) || !value_ok(attempt) || !value_ok(version) || strchr(host, ' ')) {
		free(ref);
		return tally_err_set(err, TC_INPUT, "claim of %s: host, attempt and version must be one word of "
				     "printable text", component);
	}
	struct claim want = {
		.component = (char *)component, .host = (char *)host, .attempt = (char *)attempt,
		.version = (char *)version, .expires = now + ttl_s,
	};
	const char *expect = NULL;   /* none */
	struct claim seen = {0};
	int rc = -1;
	for (int tries = 0; tries < TAKE_TRIES; tries++) {
		char oid[41];
		if (make_commit(cx, &want, expect, oid, err) < 0)
			break;
		int pushed = push_cas(cx, ref, expect, oid, err);
		if (pushed < 0)
			break;
		if (pushed == 0) {
			mine->component = xstrdup(component);
			mine->host = xstrdup(host);
			mine->attempt = xstrdup(attempt);
			mine->version = xstrdup(version);
			mine->expires = want.expires;
			memcpy(mine->oid, oid, sizeof mine->oid);
			rc = CLAIM_OURS;
			break;
		}
		/* the remote holds another value: whose, and is it live? */
		claim_free(&seen);
		int found = 0;
		if (claims_read(cx, component, &seen, &found, err) < 0)
			break;
		if (!found) {
			expect = NULL;   /* released meanwhile: create it */
			continue;
		}
		if (strcmp(seen.host, host) == 0 && strcmp(seen.attempt, attempt) == 0) {
			*mine = seen;   /* ours already: our answer was lost */
			memset(&seen, 0, sizeof seen);
			rc = CLAIM_OURS;
			break;
		}
		if (seen.expires > now) {
			*other = seen;
			memset(&seen, 0, sizeof seen);
			rc = CLAIM_HELD;
			break;
		}
		expect = seen.oid;   /* expired: take it over from exactly that value */
		if (tries == TAKE_TRIES - 1)
			tally_err_set(err, TC_NETWORK,
				      "the claim of %s on %s changed %d times while tally tried to take it; it "
				      "tries again on the next run", component, cx->remote, TAKE_TRIES);
	}
	claim_free(&seen);
	free(ref);
	return rc;
}

int claims_release(const struct claims_ctx *cx, const struct claim *mine, struct tally_err *err)
{
	char *ref = claims_ref(mine->component);
	if (!ref)
		return tally_err_set(err, TC_INPUT, "component \"%s\": no claim", mine->component ? mine->component : "");
	int rc = push_cas(cx, ref, mine->oid, NULL, err);
	free(ref);
	return rc < 0 ? -1 : 0;
}
