/* classify.c - the failure-class table (stage, log patterns, class, hint)
 * and its lookups (see classify.h). Read-only data; any thread. */
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
	/* before network: "TLS handshake timeout" stays network, a refused
	 * certificate or a plain-http answer to https is tls */
	{NULL, "x509: |certificate verify failed|certificate signed by unknown authority|server gave HTTP response to HTTPS client|wrong version number|SSL certificate problem|does not speak TLS|tls: failed to verify certificate", TC_TLS},
	{NULL, "Could not resolve host|could not resolve|Temporary failure in name resolution|connection refused|connection reset|network is unreachable|no route to host|i/o timeout|TLS handshake timeout|dial tcp|Failed to connect", TC_NETWORK},
	{NULL, "unauthorized|authentication required|denied: requested access|HTTP/[0-9.]+ 401|401 Unauthorized|403 Forbidden", TC_AUTH},
	{"check build", "Remote branch .* not found|couldn't find remote ref|manifest unknown|404 Not Found|not found in upstream|does not appear to be a git repository|repository .* not found", TC_MISSING_VERSION},
	/* what a recipe usually says when it breaks, so that the decisive
	 * line is the cause rather than the build tool's closing words */
	{"build", "command not found|: not found$|No such file or directory|returned a non-zero code|^E: |^ERROR: ", TC_RECIPE},
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

/* The hints are English here (JSON's "hint" and the logs); N_() marks them
 * for the catalog and the front ends translate them by class at display. */
static const char *const hints[TC_CLASS_COUNT] = {
	[TC_NONE] = "",
	[TC_RECIPE] = N_("fix the Dockerfile or build recipe; a recipe change re-runs it"),
	[TC_NETWORK] = N_("transient; retried with backoff"),
	[TC_RATE_LIMIT] = N_("waits for the reset; set GITHUB_TOKEN"),
	[TC_MISSING_VERSION] = N_("check that upstream really published it; skip it if not"),
	[TC_TOO_LARGE] = N_("slim the image"),
	[TC_AUTH] = N_("check registry credentials (buildah login); the message names the auth file tally read"),
	[TC_TLS] = N_("trust the registry's CA in /etc/containers/certs.d/HOST/ca.crt, or set registry.insecure for a plain-http registry"),
	[TC_TIMEOUT] = N_("raise timeout or fix the hang"),
	[TC_VERIFY] = N_("registry inconsistent; retried"),
	[TC_RECORD] = N_("fix the repo or remote; the image already shipped, so the retry only records"),
	[TC_HELD] = N_("nothing to do; the hold stands"),
	[TC_INTERNAL] = N_("see the log"),
	[TC_INPUT] = N_("fix the input named in the message"),
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

#define LINE_MAX_BYTES 200

static char *clean_line(const char *p, size_t n)
{
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r'))
		n--;
	while (n && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	if (n > LINE_MAX_BYTES) {
		n = LINE_MAX_BYTES;
		while (n && ((unsigned char)p[n] & 0xC0) == 0x80)
			n--; /* never cut a character in half */
	}
	char *out = xstrndup(p, n);
	for (char *q = out; *q; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			*q = ' ';
	return out;
}

char *classify_line(const char *stage, const char *log, size_t len)
{
	if (!log || !len)
		return NULL;
	pthread_once(&once, compile_rules);
	const size_t tail = 64 * 1024;
	size_t off = len > tail ? len - tail : 0;
	char *text = xstrndup(log + off, len - off);
	/* lines, newest last; a NUL in the output ends the text early, which
	 * is what regexec would see anyway */
	struct strv lines = {0};
	for (char *p = text; *p;) {
		char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		/* a progress bar redraws with \r: the last redraw is what shows */
		char *cr = memrchr(p, '\r', n);
		if (cr && cr + 1 < p + n) {
			n -= (size_t)(cr + 1 - p);
			p = cr + 1;
		}
		strv_push_owned(&lines, xstrndup(p, n));
		p += n;
		if (*p == '\n')
			p++;
		else if (*p == '\r')
			p++;
	}
	free(text);
	char *found = NULL;
	for (size_t i = 0; i < NRULES && !found; i++) {
		if (rules[i].stage && !stage_in(stage, rules[i].stage))
			continue;
		for (size_t k = lines.n; k-- > 0;)
			if (regexec(&compiled[i], lines.v[k], 0, NULL, 0) == 0) {
				found = clean_line(lines.v[k], strlen(lines.v[k]));
				break;
			}
	}
	for (size_t k = lines.n; !found && k-- > 0;) {
		const char *l = lines.v[k];
		if (l[strspn(l, " \t\r")])
			found = clean_line(l, strlen(l));
	}
	strv_free(&lines);
	return found;
}
