#include "classify.h"

#include <pthread.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Patterns are tried in order; the first match wins. stage NULL means any
 * stage, else a space-separated list of stages. Patterns are POSIX
 * extended, case-insensitive. missing-version is for reading an upstream
 * (check, and a build that downloads the release): a 404 on what tally
 * itself pushed is never that (SPEC section 6), so push and the read-back
 * stages fall to their defaults. */
static const struct rule {
	const char *stage;
	const char *pattern;
	enum tally_class cls;
} rules[] = {
	{NULL, "API rate limit exceeded|rate limit(ed)? |HTTP/[0-9.]+ 429|429 Too Many Requests|toomanyrequests", TC_RATE_LIMIT},
	{NULL, "maximum size exceeded|request entity too large|HTTP/[0-9.]+ 413|413 Payload Too Large|blob upload invalid.*size", TC_TOO_LARGE},
	{NULL, "Could not resolve host|could not resolve|Temporary failure in name resolution|connection refused|connection reset|network is unreachable|no route to host|i/o timeout|TLS handshake timeout|dial tcp|Failed to connect", TC_NETWORK},
	{NULL, "unauthorized|authentication required|denied: requested access|HTTP/[0-9.]+ 401|401 Unauthorized|403 Forbidden", TC_AUTH},
	{"check build", "Remote branch .* not found|couldn't find remote ref|manifest unknown|404 Not Found|not found in upstream|does not appear to be a git repository|repository .* not found", TC_MISSING_VERSION},
};

/* What a failure with no matching pattern means, by stage. */
static const struct stage_default {
	const char *stage;
	enum tally_class cls;
} stage_defaults[] = {
	{"build", TC_RECIPE},
	{"push", TC_INTERNAL},
	{"verify", TC_VERIFY},
	{"floating", TC_VERIFY},
	{"record", TC_RECORD},
	{"check", TC_NETWORK},
};

static const char *const hints[TC_CLASS_COUNT] = {
	[TC_NONE] = "",
	[TC_RECIPE] = "fix the Dockerfile or build recipe; a recipe change re-runs it",
	[TC_NETWORK] = "transient; retried with backoff",
	[TC_RATE_LIMIT] = "waits for the reset; set GITHUB_TOKEN",
	[TC_MISSING_VERSION] = "check that upstream really published it; skip it if not",
	[TC_TOO_LARGE] = "slim the image",
	[TC_AUTH] = "check registry credentials",
	[TC_TIMEOUT] = "raise timeout or fix the hang",
	[TC_VERIFY] = "registry inconsistent; retried",
	[TC_RECORD] = "fix the repo or remote; the image already shipped, so the retry only records",
	[TC_HELD] = "nothing to do; the hold stands",
	[TC_INTERNAL] = "see the log",
	[TC_INPUT] = "fix the input named in the message",
};

#define NRULES (sizeof rules / sizeof rules[0])
static regex_t compiled[NRULES];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void compile_rules(void)
{
	for (size_t i = 0; i < NRULES; i++)
		if (regcomp(&compiled[i], rules[i].pattern, REG_EXTENDED | REG_ICASE | REG_NOSUB) != 0)
			regcomp(&compiled[i], "$^", REG_EXTENDED | REG_NOSUB); /* never matches */
}

static int stage_in(const char *stage, const char *list)
{
	size_t n = stage ? strlen(stage) : 0;
	if (!n)
		return 0;
	for (const char *p = list; *p;) {
		size_t w = strcspn(p, " ");
		if (w == n && !strncmp(p, stage, n))
			return 1;
		p += w;
		while (*p == ' ')
			p++;
	}
	return 0;
}

enum tally_class classify(const char *stage, int timed_out, const char *log, size_t len)
{
	if (timed_out)
		return TC_TIMEOUT;
	pthread_once(&once, compile_rules);
	/* Only the tail matters and regexec needs a C string. */
	const size_t tail = 64 * 1024;
	char *text = NULL;
	if (log && len) {
		size_t off = len > tail ? len - tail : 0;
		text = xstrndup(log + off, len - off);
	}
	enum tally_class cls = TC_CLASS_COUNT;
	for (size_t i = 0; text && i < NRULES && cls == TC_CLASS_COUNT; i++) {
		if (rules[i].stage && !stage_in(stage, rules[i].stage))
			continue;
		if (regexec(&compiled[i], text, 0, NULL, 0) == 0)
			cls = rules[i].cls;
	}
	free(text);
	if (cls != TC_CLASS_COUNT)
		return cls;
	for (size_t i = 0; i < sizeof stage_defaults / sizeof stage_defaults[0]; i++)
		if (stage && strcmp(stage, stage_defaults[i].stage) == 0)
			return stage_defaults[i].cls;
	return TC_INTERNAL;
}

const char *classify_hint(enum tally_class cls)
{
	if ((int)cls < 0 || cls >= TC_CLASS_COUNT)
		return hints[TC_INTERNAL];
	return hints[cls];
}

int classify_transient(enum tally_class cls)
{
	return cls == TC_NETWORK || cls == TC_RATE_LIMIT || cls == TC_TIMEOUT || cls == TC_VERIFY ||
	       cls == TC_RECORD;
}
