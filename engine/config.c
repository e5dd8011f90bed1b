#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <git2.h>

#include "nameindex.h"
#include "template.h"

/* libgit2 parses and keeps no line numbers, so the file text is scanned a
 * second time with the same lexical rules (comments, quotes, continuation
 * lines, both header forms) to map every entry back to its line. The k-th
 * entry named N is the k-th line that defines N. */

const char *const config_upstream_kinds[] = {
	"github-release", "github-tag", "registry-tags", "git-tags", "file-regex", "manual", NULL,
};

const char *const config_template_vars[] = {
	"component", "key", "version", "prefix", "image",
	"tag", "ref", "repo", "tlsverify", "digestfile", "authfile", "certdir",
	"platform", "os", "arch", "variant",
};
const size_t config_template_nvars = sizeof config_template_vars / sizeof config_template_vars[0];
/* the last four ({platform} {os} {arch} {variant}) are for commands only:
 * tags, images and recordAlso values are one per version, not per platform */
#define NONCMD_NVARS (config_template_nvars - 4)

#define DEFAULT_GH_API "https://api.github.com"

/* ---- the key table ---- */

enum ktype { K_STR, K_INT, K_BOOL, K_ORDER, K_LIST, K_UPSTREAM, K_RECORD_ALSO };

enum kflag {
	KF_CMD = 1 << 0,      /* command template (split into words) */
	KF_SUBST = 1 << 1,    /* single-word template */
	KF_RELPATH = 1 << 2,  /* path inside the repo */
	KF_REGEX = 1 << 3,    /* include / exclude */
	KF_MATCH = 1 << 4,    /* regex with a capture group */
	KF_SPLIT = 1 << 5,    /* quoting checked only (notify: no template variables) */
	KF_VARNAME = 1 << 6,  /* a key in a version file */
	KF_EMPTY = 1 << 7,    /* an empty value is allowed (it turns the feature off) */
	KF_ENVNAME = 1 << 8,  /* an environment variable name, or a prefix ending in '*' */
	KF_SECRET = 1 << 9,   /* ID=env:VAR or ID=file:PATH */
};

struct keydef {
	const char *section;  /* "tally", "registry", "github" or "component" */
	const char *key;      /* spelled as in SPEC section 4 */
	enum ktype type;
	unsigned flags;
	size_t off;           /* into struct tally_conf or struct comp_conf */
	const char *dflt;     /* the default as the reference shows it; NULL: none */
	const char *help;     /* one sentence or a few: what it does (tally.conf(5)) */
};

/* One line per key. The help and default texts make tally.conf(5) and
 * `tally help config` (tui/confref.c); a key without help fails the unit
 * test, and docs/tally.conf.5 is checked against this table. */
#define G(sec, k, t, f, m, d, h) {sec, k, t, f, offsetof(struct tally_conf, m), d, h}
#define C(k, t, f, m, d, h) {"component", k, t, f, offsetof(struct comp_conf, m), d, h}

static const struct keydef keydefs[] = {
	G("tally", "stateDir", K_STR, 0, state_dir, "$XDG_STATE_HOME/tally/<repo-name>-<hash>",
	  "Logs, ledger, socket and HTTP cache. --state-dir and $TALLY_STATE_DIR override it."),
	G("tally", "group", K_STR, 0, group, NULL,
	  "Group that may attach to the engine: the state directory becomes 2750, the socket 0660 and "
	  "logs 0640, owned by this group."),
	G("tally", "parallelBuilds", K_INT, 0, parallel, "1", "Attempts that may run at once."),
	G("tally", "gitPush", K_BOOL, 0, git_push, "false",
	  "Fetch and fast-forward before every run, and push every record and hold commit. A rejected "
	  "push is re-applied on the remote head, never forced."),
	G("tally", "remote", K_STR, 0, remote, "origin", "The remote to fetch from and push to."),
	G("tally", "branch", K_STR, 0, branch, "the current branch",
	  "The branch tally records on; it must be the checked-out branch."),
	G("tally", "holdsFile", K_STR, KF_RELPATH, holds_file, "tally-holds.txt",
	  "Operator holds (skip and pin lines), a path in the repository."),
	G("tally", "schedule", K_STR, 0, schedule, "0 2 * * *",
	  "Cron schedule (5 fields, UTC) of tally serve."),
	G("tally", "notify", K_STR, KF_SPLIT, notify, NULL,
	  "Command run after every attempt and every skip, unskip, pin and unpin: split into words, no "
	  "variables (the event is in its TALLY_* environment), at most 30 s; its failure is logged in "
	  "logs/notify.log and shown, never fatal. See dist/notify/ for mail and webhook examples."),
	G("tally", "logKeep", K_INT, 0, log_keep, "50",
	  "Attempt logs to keep per component; failed attempts' logs are kept first (after the "
	  "newest attempt's). Older logs are removed and their ledger lines compacted away, except what "
	  "a record may still need (at engine start, and as the ledger grows)."),
	G("tally", "authorName", K_STR, 0, author_name, "tally", "Author and committer name of tally's commits."),
	G("tally", "authorEmail", K_STR, 0, author_email, "tally@<hostname>",
	  "Author and committer email of tally's commits."),
	G("tally", "theme", K_STR, 0, theme, "default",
	  "Console theme: a file in themes/ or $XDG_CONFIG_HOME/tally/themes/NAME.theme. --theme and "
	  "$TALLY_THEME override it."),
	G("tally", "passEnv", K_LIST, KF_ENVNAME, pass_env, NULL,
	  "Environment variables of tally's own that commands (build, push, cleanup, git, notify) "
	  "also get, one name or PREFIX* per line (the key may repeat). Commands get no other of "
	  "tally's variables beyond a fixed allow-list (PATH, HOME, locale, proxies, containers "
	  "settings...): GITHUB_TOKEN reaches a build only when listed here."),
	G("tally", "networkTimeout", K_INT, 0, net_timeout, "30",
	  "Seconds a network git command (fetch, push, ls-remote) may receive nothing before it "
	  "gives up (class network); fetch and push are stopped after ten times that."),
	G("registry", "prefix", K_STR, 0, reg_prefix, NULL, "The value of {prefix}, e.g. registry.example/ns."),
	G("registry", "insecure", K_BOOL, 0, reg_insecure, "false",
	  "Allow plain http and skip TLS checks (for registries on loopback); sets {tlsverify} to false."),
	G("registry", "authFile", K_STR, 0, reg_auth_file,
	  "the first that exists of $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json, "
	  "/run/containers/0/auth.json (root), $XDG_CONFIG_HOME/containers/auth.json, "
	  "$DOCKER_CONFIG/config.json, ~/.docker/config.json",
	  "Registry credentials as buildah login, podman login, skopeo login and docker login write "
	  "them (containers-auth.json(5)): auths entries (auth, or username and password, "
	  "identitytoken; host or namespace keys) and credHelpers / credsStore (tally runs "
	  "docker-credential-NAME get). The file found is what tally's own tag puts and read-backs "
	  "use, and it is handed to every command as {authfile} and $REGISTRY_AUTH_FILE, so the push "
	  "and the read-back use the same credentials."),
	G("registry", "certDir", K_STR, 0, reg_cert_dir, "/etc/containers/certs.d",
	  "HOST[:PORT]/*.crt there are trusted (besides the system CAs) for tally's own requests to "
	  "that registry, and a NAME.cert with its NAME.key is sent as the client certificate, as "
	  "buildah does (containers-certs.d(5)); $SSL_CERT_FILE and $SSL_CERT_DIR also apply. When "
	  "set, the default push passes --cert-dir {certdir}; unset, tally reads buildah's own "
	  "defaults (also ~/.config/containers/certs.d and /etc/docker/certs.d)."),
	G("github", "apiUrl", K_STR, 0, gh_api, "https://api.github.com",
	  "GitHub or GitHub Enterprise API root for github-release and github-tag. $TALLY_GITHUB_API "
	  "overrides it."),
	G("github", "tokenFile", K_STR, 0, gh_token_file, NULL,
	  "File whose first line is a GitHub token (relative paths from the repository root); "
	  "$GITHUB_TOKEN wins. Sent only to the apiUrl host."),
	C("file", K_STR, KF_RELPATH, file, "required",
	  "The version file (key=value lines) that holds the record, a path in the repository."),
	C("key", K_STR, KF_VARNAME, key, "<n>", "The key of the record in the version file."),
	C("upstream", K_UPSTREAM, 0, upstream, "required",
	  "Where new versions come from: github-release OWNER/REPO, github-tag OWNER/REPO, "
	  "registry-tags HOST/NAME, git-tags URL, file-regex URL (with match), or manual."),
	C("include", K_STR, KF_REGEX, include, NULL,
	  "POSIX extended regex a version must match (in tally.conf write \\\\. for a literal "
	  "dot, and quote a value that holds # or ;)."),
	C("exclude", K_STR, KF_REGEX, exclude, NULL, "POSIX extended regex a version must not match."),
	C("match", K_STR, KF_MATCH, match, NULL,
	  "For file-regex: a POSIX extended regex whose first capture group is the version."),
	C("prerelease", K_BOOL, 0, prerelease, "false",
	  "Accept pre-releases: GitHub's flag, or a part of the version (split at . - _ +) that is alpha, "
	  "beta, rc, pre, preview, dev, snapshot, nightly or canary, alone or with digits (v1.3.0.rc.0, "
	  "8.0-rc-jammy). Flavours and patch levels (-anolis, -patch.9) are not pre-releases."),
	C("order", K_ORDER, 0, order, "version",
	  "How versions compare: version (GNU version sort) or semver (SemVer 2.0 precedence, one "
	  "leading v ignored)."),
	C("image", K_STR, KF_SUBST, image, "{prefix}/<n>", "The image repository (a template)."),
	C("tag", K_LIST, KF_SUBST, tags, "{version}",
	  "The version tags, all pushed with one digest and read back before the record."),
	C("floatingTag", K_LIST, KF_SUBST, floating, NULL,
	  "Tags moved to the recorded digest after each record (e.g. latest-anolis)."),
	C("build", K_STR, KF_CMD, build, "required", "Command template that builds {ref}."),
	C("push", K_STR, KF_CMD, push, CONFIG_DEFAULT_PUSH,
	  "Command template that pushes {ref} once; it may write the digest to {digestfile}. With "
	  "registry.certDir set the default also passes --cert-dir {certdir}."),
	C("cleanup", K_STR, KF_CMD, cleanup, NULL,
	  "Command template run after a record (e.g. buildah rmi {ref}); its failure is logged only."),
	C("workdir", K_STR, 0, workdir, "the repository root",
	  "Working directory of the commands (relative paths from the repository root)."),
	C("timeout", K_INT, 0, timeout, "3600", "Seconds each command may run."),
	C("schedule", K_STR, 0, schedule, "tally.schedule", "Cron schedule of this component."),
	C("recipe", K_LIST, KF_RELPATH, recipes, NULL,
	  "Paths (Dockerfiles, scripts): their blob ids at HEAD and the component's config "
	  "make the recipe fingerprint; a change re-ships the recorded version."),
	C("base", K_LIST, 0, bases, "the FROM images of the recipe Dockerfiles",
	  "Base image references whose digest each check reads (HEAD on the manifest, once per "
	  "image per check); default: the FROM images of the component's recipe files that are "
	  "Dockerfiles or Containerfiles (global ARG defaults substituted, scratch and build stages "
	  "left out). When one moves from the digest the record was built on, the component is "
	  "base-moved and the next run rebuilds the recorded version. An image of another component "
	  "follows that component's record. none turns it off."),
	C("platform", K_LIST, 0, platforms, NULL,
	  "Platforms os/arch[/variant] (linux/amd64, linux/arm64/v8): with any, build and push run "
	  "once per platform (the default push pushes each to {image}:{tag}-{arch}[-{variant}]), "
	  "then tally puts one OCI image index listing every platform under the version tags, "
	  "reads every tag and child back and records the index digest. A platform that fails "
	  "fails the attempt: no index is put, nothing recorded."),
	C("after", K_LIST, 0, after, NULL,
	  "Component names this component ships after in one run (its base components first)."),
	C("recordAlso", K_RECORD_ALSO, 0, record_also, NULL,
	  "FILE:VAR=TEMPLATE, e.g. .env:OPENIM_SERVER_VERSION={version}-anolis: written in "
	  "the record's commit; only the value changes."),
	C("versionLabel", K_STR, KF_EMPTY, version_label, CONFIG_DEFAULT_VERSION_LABEL,
	  "Image label that must equal the version being shipped: when the pushed image's config "
	  "carries it with another value, the attempt fails with class recipe (the build ignores "
	  "{version}) and nothing is recorded; empty turns the check off."),
	C("secret", K_LIST, KF_SECRET, secrets, NULL,
	  "A build secret, ID=env:VAR (from tally's environment) or ID=file:PATH (relative paths from "
	  "the repository root); the key may repeat. For the build only, the value is written to a "
	  "0600 file in the attempt's directory, named by {secret:ID} in the build template (buildah "
	  "build --secret id=ID,src={secret:ID}), and removed after the build whatever happens. It is "
	  "never in an argv, and every occurrence in the output of the attempt's commands is replaced "
	  "by *** before it is logged, shown or stored. A secret that is not set is an input error "
	  "before building."),
};

#undef G
#undef C

size_t config_key_count(void)
{
	return sizeof keydefs / sizeof keydefs[0];
}

int config_key_doc(size_t i, struct config_keydoc *out)
{
	if (i >= config_key_count())
		return -1;
	const struct keydef *kd = &keydefs[i];
	out->section = kd->section;
	out->key = kd->key;
	out->dflt = kd->dflt;
	out->help = kd->help;
	out->multi = kd->type == K_LIST || kd->type == K_RECORD_ALSO;
	out->required = kd->dflt && strcmp(kd->dflt, "required") == 0;
	return 0;
}

/* The template variables, with what they stand for (tally.conf(5)). */
static const struct {
	const char *name, *help;
} var_docs[] = {
	{"component", "the component's name (<n>)"},
	{"key", "its key in the version file"},
	{"version", "the version being shipped"},
	{"prefix", "registry.prefix"},
	{"image", "the expanded image"},
	{"tag", "the first version tag"},
	{"ref", "{image}:{tag}, what build makes and push pushes"},
	{"repo", "the versions repository's root directory"},
	{"tlsverify", "false with registry.insecure, else true"},
	{"digestfile", "a path in the attempt's directory where push may write the pushed digest"},
	{"authfile", "the registry auth file tally read (registry.authFile or the first that exists "
		     "of the search order; else the one buildah login would write), also in "
		     "$REGISTRY_AUTH_FILE when it exists"},
	{"secret:ID", "in the build template only: the path of the file that holds the secret ID "
		      "(component.<n>.secret) while the build runs"},
	{"certdir", "registry.certDir (default /etc/containers/certs.d) joined with the image's "
		    "HOST[:PORT]: what buildah --cert-dir wants"},
	{"platform", "with component.<n>.platform: the platform being built, os/arch[/variant] "
		     "(build and push run once per platform, {ref} is that platform's own ref)"},
	{"os", "with platform: its os (linux)"},
	{"arch", "with platform: its architecture (amd64, arm64)"},
	{"variant", "with platform: its variant (v8), or empty"},
};

const char *config_var_help(const char *name)
{
	for (size_t i = 0; name && i < sizeof var_docs / sizeof var_docs[0]; i++)
		if (strcmp(var_docs[i].name, name) == 0)
			return var_docs[i].help;
	return NULL;
}

static const struct keydef *keydef_find(const char *section, const char *key)
{
	for (size_t i = 0; i < sizeof keydefs / sizeof keydefs[0]; i++)
		if (strcmp(keydefs[i].section, section) == 0 && strcasecmp(keydefs[i].key, key) == 0)
			return &keydefs[i];
	return NULL;
}

/* ---- scanning the text for line numbers ---- */

struct sline {
	char *name;     /* as libgit2 names it: section and key lowercased */
	char *shown;    /* the key as written, for "unknown key" */
	int line;
	int used;
};

struct shdr {
	char *section;  /* lowercased */
	char *sub;      /* NULL when none */
	int line;
};

struct scan {
	struct sline *lines;
	size_t nlines, caplines;
	struct shdr *hdrs;
	size_t nhdrs, caphdrs;
	int bad_escape_line;   /* libgit2 reports these without a line */
	/* scan_claim's index, built on first use: the first line of each name,
	 * the next line of the same name, and per first line the next one to
	 * claim (so a claim is O(1), not a search of every line) */
	struct nameindex *line_ix;
	size_t *next_same, *claim_at;
};

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* libgit2's strip_comments: cuts at an unquoted, unescaped '#' or ';' and
 * trims trailing space. Returns the number of quotes seen. */
static int strip_comments(char *line, int in_quotes)
{
	int quotes = in_quotes, backslashes = 0;
	char *p;

	for (p = line; *p; p++) {
		if (*p == '"' && (p == line || p[-1] != '\\'))
			quotes++;
		if ((*p == ';' || *p == '#') && quotes % 2 == 0 && backslashes % 2 == 0) {
			*p = '\0';
			break;
		}
		if (*p == '\\')
			backslashes++;
		else
			backslashes = 0;
	}
	while (p > line && isspace((unsigned char)p[-1]))
		p--;
	*p = '\0';
	return quotes;
}

/* libgit2's rule: a value continues on the next line when it ends with a
 * backslash that does not escape anything. */
static int ends_continued(const char *s)
{
	for (; *s; s++) {
		if (*s == '\\') {
			if (s[1] == '\0')
				return 1;
			s++;
		}
	}
	return 0;
}

static int has_bad_escape(const char *s)
{
	for (; *s; s++) {
		if (*s == '\\') {
			if (s[1] == '\0')
				return 0;
			if (!strchr("ntb\"\\", s[1]))
				return 1;
			s++;
		}
	}
	return 0;
}

static void scan_add_hdr(struct scan *sc, const char *section, const char *sub, int line)
{
	if (sc->nhdrs == sc->caphdrs) {
		sc->caphdrs = sc->caphdrs ? sc->caphdrs * 2 : 8;
		sc->hdrs = xrealloc(sc->hdrs, sc->caphdrs * sizeof *sc->hdrs);
	}
	struct shdr *h = &sc->hdrs[sc->nhdrs++];
	h->section = xstrdup(section);
	h->sub = xstrdup(sub);
	h->line = line;
}

static void scan_add_line(struct scan *sc, const char *section, const char *sub, const char *key,
			  size_t keylen, int line)
{
	if (sc->nlines == sc->caplines) {
		sc->caplines = sc->caplines ? sc->caplines * 2 : 16;
		sc->lines = xrealloc(sc->lines, sc->caplines * sizeof *sc->lines);
	}
	struct sline *l = &sc->lines[sc->nlines++];
	char *k = xstrndup(key, keylen);
	if (sub)
		l->shown = xasprintf("%s.%s.%s", section, sub, k);
	else
		l->shown = xasprintf("%s.%s", section, k);
	lower(k);
	if (sub)
		l->name = xasprintf("%s.%s.%s", section, sub, k);
	else
		l->name = xasprintf("%s.%s", section, k);
	free(k);
	l->line = line;
	l->used = 0;
}

/* Parses the header at p ('['); sets *section / *sub (caller frees) and
 * returns the position after ']', or NULL when it is not a header libgit2
 * would take (it would have failed to parse already). */
static const char *scan_header(const char *p, char **section, char **sub)
{
	struct sbuf name = {0}, subname = {0};
	const char *q = p + 1;

	*section = NULL;
	*sub = NULL;
	while (*q && *q != ']' && !isspace((unsigned char)*q))
		sbuf_addc(&name, (char)tolower((unsigned char)*q++));
	if (isspace((unsigned char)*q)) {
		while (isspace((unsigned char)*q))
			q++;
		if (*q != '"')
			goto fail;
		q++;
		while (*q && *q != '"') {
			if (*q == '\\' && q[1])
				q++;
			sbuf_addc(&subname, *q++);
		}
		if (q[0] != '"' || q[1] != ']')
			goto fail;
		q += 2;
		*sub = sbuf_detach(&subname);
	} else if (*q == ']') {
		q++;
		char *dot = strchr(sbuf_str(&name), '.');
		if (dot) {
			*sub = xstrdup(dot + 1);
			name.len = (size_t)(dot - name.buf);
			name.buf[name.len] = '\0';
		}
	} else {
		goto fail;
	}
	*section = sbuf_detach(&name);
	return q;
fail:
	sbuf_free(&name);
	sbuf_free(&subname);
	free(*sub);
	*sub = NULL;
	return NULL;
}

static void scan_text(struct scan *sc, const char *text, size_t len)
{
	char *section = NULL, *sub = NULL;
	int lineno = 0, continued = 0, in_quotes = 0;
	size_t pos = 0;

	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		pos = 3;
	while (pos < len) {
		size_t end = pos;
		while (end < len && text[end] != '\n')
			end++;
		char *line = xstrndup(text + pos, end - pos);
		pos = end < len ? end + 1 : end;
		lineno++;

		if (continued) {
			int q = strip_comments(line, in_quotes);
			if (line[0])
				continued = ends_continued(line);
			if (!sc->bad_escape_line && has_bad_escape(line))
				sc->bad_escape_line = lineno;
			in_quotes = q;
			free(line);
			continue;
		}
		const char *p = line;
		for (;;) {
			while (isspace((unsigned char)*p))
				p++;
			if (*p == '\0' || *p == '#' || *p == ';')
				break;
			if (*p == '[') {
				char *s, *u;
				const char *after = scan_header(p, &s, &u);
				if (!after)
					break;
				free(section);
				free(sub);
				section = s;
				sub = u;
				scan_add_hdr(sc, section, sub, lineno);
				p = after;
				continue;  /* a variable may follow on the same line */
			}
			const char *k = p;
			while (isalnum((unsigned char)*p) || *p == '-')
				p++;
			if (p == k || !section)
				break;
			scan_add_line(sc, section, sub, k, (size_t)(p - k), lineno);
			char *rest = xstrdup(k);
			int q = strip_comments(rest, 0);
			char *v = rest + (p - k);
			while (isspace((unsigned char)*v))
				v++;
			if (*v == '=') {
				v++;
				while (isspace((unsigned char)*v))
					v++;
				continued = ends_continued(v);
				in_quotes = q % 2;
				if (!sc->bad_escape_line && has_bad_escape(v))
					sc->bad_escape_line = lineno;
			}
			free(rest);
			break;
		}
		free(line);
	}
	free(section);
	free(sub);
}

static void scan_free(struct scan *sc)
{
	for (size_t i = 0; i < sc->nlines; i++) {
		free(sc->lines[i].name);
		free(sc->lines[i].shown);
	}
	for (size_t i = 0; i < sc->nhdrs; i++) {
		free(sc->hdrs[i].section);
		free(sc->hdrs[i].sub);
	}
	free(sc->lines);
	free(sc->hdrs);
	nameindex_free(sc->line_ix);
	free(sc->next_same);
	free(sc->claim_at);
}

/* Claims the next unclaimed line defining name; NULL when not found (an
 * entry from an included file). */
static const char *sline_name_at(const void *ctx, size_t i)
{
	const struct scan *sc = ctx;
	return sc->lines[i].name;
}

static const struct sline *scan_claim(struct scan *sc, const char *name)
{
	size_t none = (size_t)-1;
	if (!sc->line_ix) {
		sc->line_ix = nameindex_new(sc->nlines, sline_name_at, sc);
		sc->next_same = xcalloc(sc->nlines + 1, sizeof *sc->next_same);
		sc->claim_at = xcalloc(sc->nlines + 1, sizeof *sc->claim_at);
		size_t *tail = xcalloc(sc->nlines + 1, sizeof *tail);
		for (size_t i = 0; i < sc->nlines; i++) {
			size_t f = (size_t)nameindex_find(sc->line_ix, sc->lines[i].name);
			sc->next_same[i] = none;
			if (f != i)
				sc->next_same[tail[f]] = i;
			else
				sc->claim_at[f] = f;
			tail[f] = i;
		}
		free(tail);
	}
	long f = nameindex_find(sc->line_ix, name);
	if (f < 0)
		return NULL;
	size_t i = sc->claim_at[f];
	while (i != none && sc->lines[i].used)
		i = sc->next_same[i];
	sc->claim_at[f] = i;
	if (i == none)
		return NULL;
	sc->lines[i].used = 1;
	return &sc->lines[i];
}

/* ---- loading ---- */

/* Lines of one component's keys, for checks made after all entries. */
struct comp_aux {
	int header_line, file_line, upstream_line, build_line, secret_line;
	int *ra_lines;
	size_t nra_lines;
};

struct loader {
	const char *name;           /* file name for messages */
	struct tally_conf *conf;
	struct comp_aux *aux;       /* parallel to conf->comps */
	size_t naux, capcomps;
	struct scan scan;
	struct tally_err *err;
	/* hashed lookups (a config of thousands of components): conf->comps
	 * by name (slot = index + 1), and the first header line of each
	 * component section */
	size_t *cslots, ncslots;
	struct nameindex *hdr_ix;
	const char **hdr_names;
	int *hdr_lines;
};

static size_t comp_hash(const char *s)
{
	size_t h = 5381u;
	for (; *s; s++)
		h = h * 33u + (unsigned char)*s;
	return h;
}

static void cslot_put(struct loader *ld, size_t i)
{
	size_t mask = ld->ncslots - 1;
	size_t k = comp_hash(ld->conf->comps[i].name) & mask;
	while (ld->cslots[k])
		k = (k + 1) & mask;
	ld->cslots[k] = i + 1;
}

/* After comps[ncomps - 1] was added. */
static void cslot_add(struct loader *ld)
{
	size_t n = ld->conf->ncomps;
	if (2 * n > ld->ncslots) {
		size_t ns = ld->ncslots ? ld->ncslots * 2 : 64;
		while (2 * n > ns)
			ns *= 2;
		free(ld->cslots);
		ld->cslots = xcalloc(ns, sizeof *ld->cslots);
		ld->ncslots = ns;
		for (size_t i = 0; i < n; i++)
			cslot_put(ld, i);
	} else {
		cslot_put(ld, n - 1);
	}
}

static long cslot_find(const struct loader *ld, const char *name)
{
	if (!ld->ncslots)
		return -1;
	size_t mask = ld->ncslots - 1;
	for (size_t k = comp_hash(name) & mask; ld->cslots[k]; k = (k + 1) & mask)
		if (strcmp(ld->conf->comps[ld->cslots[k] - 1].name, name) == 0)
			return (long)(ld->cslots[k] - 1);
	return -1;
}

static const char *hdr_name_at(const void *ctx, size_t i)
{
	const struct loader *ld = ctx;
	return ld->hdr_names[i];
}

/* The line of comp's first [component] header, 0 when none: through an
 * index of the component headers, built once. */
static int comp_header_line(struct loader *ld, const char *comp)
{
	if (!ld->hdr_ix) {
		size_t n = 0;
		ld->hdr_names = xcalloc(ld->scan.nhdrs + 1, sizeof *ld->hdr_names);
		ld->hdr_lines = xcalloc(ld->scan.nhdrs + 1, sizeof *ld->hdr_lines);
		for (size_t i = 0; i < ld->scan.nhdrs; i++)
			if (strcmp(ld->scan.hdrs[i].section, "component") == 0 && ld->scan.hdrs[i].sub) {
				ld->hdr_names[n] = ld->scan.hdrs[i].sub;
				ld->hdr_lines[n++] = ld->scan.hdrs[i].line;
			}
		ld->hdr_ix = nameindex_new(n, hdr_name_at, ld);
	}
	long i = nameindex_find(ld->hdr_ix, comp);
	return i < 0 ? 0 : ld->hdr_lines[i];
}

__attribute__((format(printf, 4, 5)))
static int fail_at(struct loader *ld, int line, const char *key, const char *fmt, ...)
{
	char msg[1536];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (line > 0)
		return tally_err_set(ld->err, TC_INPUT, "%s:%d: %s: %s", ld->name, line, key, msg);
	return tally_err_set(ld->err, TC_INPUT, "%s: %s: %s", ld->name, key, msg);
}

static char *ctx_at(const struct loader *ld, int line, const char *key)
{
	if (line > 0)
		return xasprintf("%s:%d: %s", ld->name, line, key);
	return xasprintf("%s: %s", ld->name, key);
}

static int valid_comp_name(const char *s)
{
	if (!*s || !(isalnum((unsigned char)*s) || *s == '_'))
		return 0;
	for (s++; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '_' || *s == '.' || *s == '-'))
			return 0;
	return 1;
}

/* A path inside the repo: relative and never climbing out. */
static const char *relpath_problem(const char *p)
{
	if (*p == '/')
		return "is absolute; write a path relative to the repository root";
	for (const char *s = p; *s;) {
		const char *e = strchr(s, '/');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		if (n == 2 && s[0] == '.' && s[1] == '.')
			return "contains '..'; write a path inside the repository";
		if (n == 4 && strncasecmp(s, ".git", 4) == 0)
			return "is inside .git; write a path to a file of the working tree";
		s += n;
		if (*s == '/')
			s++;
	}
	if (strcmp(p, ".") == 0 || str_ends(p, "/"))
		return "is not a file path";
	return NULL;
}

/* A key of a KEY=VALUE line: no blanks, '=' or '#' that would change the line. */
static int varname_ok(const char *s)
{
	if (!*s || *s == '#')
		return 0;
	for (; *s; s++)
		if (isspace((unsigned char)*s) || *s == '=' || (unsigned char)*s < 0x20)
			return 0;
	return 1;
}

/* "./a//b" and "a/b" name one file. Caller frees. */
static char *path_norm(const char *p)
{
	struct sbuf sb = {0};
	for (const char *s = p; *s;) {
		const char *e = strchr(s, '/');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		if (n && !(n == 1 && s[0] == '.')) {
			if (sb.len)
				sbuf_addc(&sb, '/');
			sbuf_add(&sb, s, n);
		}
		s += n;
		if (*s == '/')
			s++;
	}
	if (!sb.buf)
		return xstrdup("");
	return sbuf_detach(&sb);
}

static struct comp_conf *comp_get(struct loader *ld, const char *name, int line, size_t *idx)
{
	struct tally_conf *c = ld->conf;
	long found = cslot_find(ld, name);
	if (found >= 0) {
		*idx = (size_t)found;
		return &c->comps[found];
	}
	if (!valid_comp_name(name)) {
		fail_at(ld, line, "component", "\"%s\" is not a valid component name; "
			"use letters, digits, '_', '.' and '-', starting with a letter, digit or '_'",
			name);
		return NULL;
	}
	if (c->ncomps == ld->capcomps) {
		ld->capcomps = ld->capcomps ? ld->capcomps * 2 : 4;
		c->comps = xrealloc(c->comps, ld->capcomps * sizeof *c->comps);
		ld->aux = xrealloc(ld->aux, ld->capcomps * sizeof *ld->aux);
	}
	struct comp_conf *cc = &c->comps[c->ncomps];
	struct comp_aux *ax = &ld->aux[c->ncomps];
	memset(cc, 0, sizeof *cc);
	memset(ax, 0, sizeof *ax);
	cc->name = xstrdup(name);
	cc->order = ORDER_VERSION;
	cc->timeout = 3600;
	ax->header_line = comp_header_line(ld, name);
	if (!ax->header_line)
		ax->header_line = line;
	*idx = c->ncomps++;
	ld->naux = c->ncomps;
	cslot_add(ld);
	return cc;
}

static int set_upstream(struct loader *ld, struct comp_conf *cc, const char *value, int line,
			const char *key)
{
	const char *p = value;
	while (isspace((unsigned char)*p))
		p++;
	const char *k = p;
	while (*p && !isspace((unsigned char)*p))
		p++;
	char *kind = xstrndup(k, (size_t)(p - k));
	while (isspace((unsigned char)*p))
		p++;
	size_t alen = strlen(p);
	while (alen && isspace((unsigned char)p[alen - 1]))
		alen--;
	char *arg = xstrndup(p, alen);

	int known = 0;
	for (size_t i = 0; config_upstream_kinds[i]; i++)
		if (strcmp(config_upstream_kinds[i], kind) == 0)
			known = 1;
	if (!known) {
		fail_at(ld, line, key, "unknown upstream kind \"%s\"; use github-release, github-tag, "
			"registry-tags, git-tags, file-regex or manual", kind);
		goto fail;
	}
	if (strcmp(kind, "manual") == 0 && *arg) {
		fail_at(ld, line, key, "manual takes no argument");
		goto fail;
	}
	if (strcmp(kind, "manual") != 0 && !*arg) {
		fail_at(ld, line, key, "%s needs an argument (%s)", kind,
			str_starts(kind, "github") ? "OWNER/REPO" :
			strcmp(kind, "registry-tags") == 0 ? "HOST/NAME" : "URL");
		goto fail;
	}
	free(cc->upstream);
	free(cc->upstream_kind);
	free(cc->upstream_arg);
	cc->upstream = xstrdup(value);
	cc->upstream_kind = kind;
	cc->upstream_arg = arg;
	return 0;
fail:
	free(kind);
	free(arg);
	return -1;
}

static int add_record_also(struct loader *ld, struct comp_conf *cc, struct comp_aux *ax,
			   const char *value, int line, const char *key)
{
	const char *colon = strchr(value, ':');
	const char *eq = colon ? strchr(colon + 1, '=') : NULL;
	if (!colon || !eq || colon == value || eq == colon + 1 || eq[1] == '\0')
		return fail_at(ld, line, key, "\"%s\" is not FILE:VAR=TEMPLATE "
			       "(e.g. .env:SERVER_VERSION={version})", value);
	char *file = xstrndup(value, (size_t)(colon - value));
	char *var = xstrndup(colon + 1, (size_t)(eq - colon - 1));
	char *ctx = NULL;
	const char *why = relpath_problem(file);
	if (why) {
		fail_at(ld, line, key, "file \"%s\" %s", file, why);
		goto fail;
	}
	if (!varname_ok(var)) {
		fail_at(ld, line, key, "\"%s\" is not a usable key name; use no blanks, '=' or "
			"leading '#'", var);
		goto fail;
	}
	ctx = ctx_at(ld, line, key);
	if (template_check(eq + 1, config_template_vars, NONCMD_NVARS, 0, ctx, ld->err) < 0)
		goto fail;
	free(ctx);
	cc->record_also = xrealloc(cc->record_also, (cc->nrecord_also + 1) * sizeof *cc->record_also);
	cc->record_also[cc->nrecord_also].file = file;
	cc->record_also[cc->nrecord_also].var = var;
	cc->record_also[cc->nrecord_also].tmpl = xstrdup(eq + 1);
	cc->nrecord_also++;
	ax->ra_lines = xrealloc(ax->ra_lines, (ax->nra_lines + 1) * sizeof *ax->ra_lines);
	ax->ra_lines[ax->nra_lines++] = line;
	return 0;
fail:
	free(ctx);
	free(file);
	free(var);
	return -1;
}

/* Checks the value of one string key by its flags. */
int config_secret_parse(const char *spec, char **id, int *from_env, char **src, char *why, size_t whylen)
{
	*id = *src = NULL;
	const char *eq = strchr(spec, '=');
	size_t n = eq ? (size_t)(eq - spec) : 0;
	int good = n > 0 && n <= 64 && isalnum((unsigned char)spec[0]);
	for (size_t i = 1; good && i < n; i++)
		good = isalnum((unsigned char)spec[i]) || spec[i] == '_' || spec[i] == '.' || spec[i] == '-';
	if (!good) {
		snprintf(why, whylen, "\"%s\" has no usable ID; write ID=env:VAR or ID=file:PATH with an ID "
			 "of letters, digits, '.', '_' or '-'", spec);
		return -1;
	}
	const char *v = eq + 1;
	int env = str_starts(v, "env:"), file = str_starts(v, "file:");
	const char *rest = env ? v + 4 : file ? v + 5 : NULL;
	if (!rest || !*rest) {
		snprintf(why, whylen, "\"%s\": the source must be env:VAR or file:PATH", spec);
		return -1;
	}
	if (env) {
		int ok = isalpha((unsigned char)rest[0]) || rest[0] == '_';
		for (const char *p = rest + 1; ok && *p; p++)
			ok = isalnum((unsigned char)*p) || *p == '_';
		if (!ok) {
			snprintf(why, whylen, "\"%s\": \"%s\" is not an environment variable name", spec, rest);
			return -1;
		}
	}
	*id = xstrndup(spec, n);
	*from_env = env;
	*src = xstrdup(rest);
	return 0;
}

/* The {secret:ID} names a build template uses, pushed to out. */
static void secret_refs(const char *tmpl, struct strv *out)
{
	for (const char *p = tmpl; (p = strstr(p, "{secret:")) != NULL; p++) {
		if (p > tmpl && p[-1] == '{')
			continue;   /* "{{secret:" is literal */
		const char *end = strchr(p, '}');
		if (end)
			strv_push_owned(out, xstrndup(p + 1, (size_t)(end - p - 1)));
	}
}

static int check_str(struct loader *ld, const struct keydef *kd, const char *value, int line,
		     const char *key)
{
	char *ctx = NULL;
	int rc = 0;

	if (kd->flags & KF_RELPATH) {
		const char *why = relpath_problem(value);
		if (why)
			return fail_at(ld, line, key, "\"%s\" %s", value, why);
	}
	if (kd->flags & KF_ENVNAME) {
		size_t n = strlen(value), i = 0;
		int good = n > 0 && (isalpha((unsigned char)value[0]) || value[0] == '_');
		for (i = 1; good && i < n; i++)
			good = isalnum((unsigned char)value[i]) || value[i] == '_' ||
			       (value[i] == '*' && i == n - 1);
		if (!good)
			return fail_at(ld, line, key, "\"%s\" is not an environment variable name; "
				       "write NAME or a prefix such as AWS_*", value);
	}
	if ((kd->flags & KF_VARNAME) && !varname_ok(value))
		return fail_at(ld, line, key, "\"%s\" is not a usable key name; use no blanks, '=' "
			       "or leading '#'", value);
	if (kd->flags & (KF_CMD | KF_SUBST | KF_SPLIT | KF_REGEX))
		ctx = ctx_at(ld, line, key);
	if (kd->flags & KF_SECRET) {
		char *id, *src, why[512];
		int from_env;
		if (config_secret_parse(value, &id, &from_env, &src, why, sizeof why) < 0)
			return fail_at(ld, line, key, "%s", why);
		free(id);
		free(src);
	}
	if (kd->flags & (KF_CMD | KF_SUBST)) {
		/* {secret:ID} is known to the build command only; finish()
		 * checks that each names a secret of the component; the
		 * platform variables only in commands */
		struct strv names = {0};
		size_t nv = (kd->flags & KF_CMD) ? config_template_nvars : NONCMD_NVARS;
		for (size_t i = 0; i < nv; i++)
			strv_push(&names, config_template_vars[i]);
		if (!strcmp(kd->key, "build"))
			secret_refs(value, &names);
		rc = template_check(value, (const char *const *)names.v, names.n,
				    (kd->flags & KF_CMD) ? 1 : 0, ctx, ld->err);
		strv_free(&names);
	} else if (kd->flags & KF_SPLIT) {
		char **words = NULL;
		rc = template_split(value, &words, NULL, ctx, ld->err);
		template_argv_free(words);
	} else if (kd->flags & KF_REGEX) {
		struct vfilter f;
		int inc = strcasecmp(kd->key, "include") == 0;
		rc = vfilter_init(&f, inc ? value : NULL, inc ? NULL : value, 0, ctx, ld->err);
		if (rc == 0)
			vfilter_free(&f);
	} else if (kd->flags & KF_MATCH) {
		regex_t re;
		int e = regcomp(&re, value, REG_EXTENDED);
		if (e != 0) {
			char why[256];
			regerror(e, &re, why, sizeof why);
			rc = fail_at(ld, line, key, "bad regex \"%s\": %s; write a POSIX extended "
				     "regular expression", value, why);
		} else {
			if (re.re_nsub < 1)
				rc = fail_at(ld, line, key, "\"%s\" has no capture group; put the "
					     "version in ( )", value);
			regfree(&re);
		}
	}
	free(ctx);
	return rc;
}

static int apply_entry(struct loader *ld, const git_config_entry *e)
{
	const char *name = e->name;
	const char *dot1 = strchr(name, '.');
	const char *dot2 = strrchr(name, '.');
	const struct sline *sl = scan_claim(&ld->scan, name);
	int line = sl ? sl->line : 0;
	char *section = NULL, *sub = NULL, *key = NULL;
	int rc = -1;

	if (!dot1)
		return fail_at(ld, line, sl ? sl->shown : name, "unknown key");
	section = xstrndup(name, (size_t)(dot1 - name));
	if (dot2 > dot1)
		sub = xstrndup(dot1 + 1, (size_t)(dot2 - dot1 - 1));

	const struct keydef *kd = NULL;
	if (strcmp(section, "component") == 0 ? sub != NULL : sub == NULL)
		kd = keydef_find(section, dot2 + 1);
	if (!kd) {
		fail_at(ld, line, sl ? sl->shown : name, "unknown key");
		goto out;
	}

	void *base;
	struct comp_aux *ax = NULL;
	struct comp_conf *cc = NULL;
	if (sub) {
		size_t idx;
		cc = comp_get(ld, sub, line, &idx);
		if (!cc)
			goto out;
		ax = &ld->aux[idx];
		base = cc;
		key = xasprintf("component.%s.%s", sub, kd->key);
	} else {
		base = ld->conf;
		key = xasprintf("%s.%s", section, kd->key);
	}
	void *field = (char *)base + kd->off;
	const char *value = e->value;

	if (kd->type != K_BOOL) {
		if (!value) {
			fail_at(ld, line, key, "missing value; write %s = VALUE", kd->key);
			goto out;
		}
		if (!*value && !(kd->flags & KF_EMPTY)) {
			fail_at(ld, line, key, "empty value");
			goto out;
		}
	}

	switch (kd->type) {
	case K_STR:
		if (check_str(ld, kd, value, line, key) < 0)
			goto out;
		free(*(char **)field);
		*(char **)field = xstrdup(value);
		break;
	case K_INT: {
		int32_t n;
		if (git_config_parse_int32(&n, value) < 0 || n < 1) {
			fail_at(ld, line, key, "\"%s\" is not a whole number of at least 1", value);
			goto out;
		}
		*(int *)field = n;
		break;
	}
	case K_BOOL: {
		int b;
		if (git_config_parse_bool(&b, value) < 0) {
			fail_at(ld, line, key, "\"%s\" is not a boolean; use true or false", value);
			goto out;
		}
		*(int *)field = b;
		break;
	}
	case K_ORDER:
		if (version_order_parse(value, (enum version_order *)field) < 0) {
			fail_at(ld, line, key, "\"%s\" is not an order; use version or semver", value);
			goto out;
		}
		break;
	case K_LIST:
		if (check_str(ld, kd, value, line, key) < 0)
			goto out;
		strv_push((struct strv *)field, value);
		break;
	case K_UPSTREAM:
		if (set_upstream(ld, cc, value, line, key) < 0)
			goto out;
		break;
	case K_RECORD_ALSO:
		if (add_record_also(ld, cc, ax, value, line, key) < 0)
			goto out;
		break;
	}
	if (ax && strcmp(kd->key, "file") == 0)
		ax->file_line = line;
	if (ax && strcmp(kd->key, "build") == 0)
		ax->build_line = line;
	if (ax && strcmp(kd->key, "secret") == 0 && !ax->secret_line)
		ax->secret_line = line;
	if (ax && strcmp(kd->key, "upstream") == 0)
		ax->upstream_line = line;
	rc = 0;
out:
	free(section);
	free(sub);
	free(key);
	return rc;
}

/* Secrets: distinct IDs, not too many, and every {secret:ID} of the build
 * names one of them. */
static int check_secrets(struct loader *ld, struct comp_conf *cc, const struct comp_aux *ax)
{
	int rc = 0;
	struct strv ids = {0}, refs = {0};
	char *key = xasprintf("component.%s.secret", cc->name);
	if (cc->secrets.n > CONFIG_MAX_SECRETS)
		rc = fail_at(ld, ax->secret_line, key, "%zu secrets; at most %d per component",
			     cc->secrets.n, CONFIG_MAX_SECRETS);
	for (size_t i = 0; rc == 0 && i < cc->secrets.n; i++) {
		char *id, *src, why[512];
		int from_env;
		if (config_secret_parse(cc->secrets.v[i], &id, &from_env, &src, why, sizeof why) < 0) {
			rc = fail_at(ld, ax->secret_line, key, "%s", why);
			break;
		}
		if (strv_contains(&ids, id))
			rc = fail_at(ld, ax->secret_line, key, "secret %s is given twice", id);
		strv_push_owned(&ids, id);
		free(src);
	}
	secret_refs(cc->build ? cc->build : "", &refs);
	for (size_t i = 0; rc == 0 && i < refs.n; i++) {
		const char *id = refs.v[i] + strlen("secret:");
		if (!strv_contains(&ids, id)) {
			free(key);
			key = xasprintf("component.%s.build", cc->name);
			rc = fail_at(ld, ax->build_line, key, "{secret:%s} names no secret of this "
				     "component; add secret = %s=env:VAR (or file:PATH)", id, id);
		}
	}
	free(key);
	strv_free(&ids);
	strv_free(&refs);
	return rc;
}

/* Missing keys, defaults and checks across components. */
static int finish(struct loader *ld)
{
	struct tally_conf *c = ld->conf;

	if (c->ncomps == 0)
		return tally_err_set(ld->err, TC_INPUT,
				     "%s: no components; add a [component \"NAME\"] section", ld->name);
	for (size_t i = 0; i < c->ncomps; i++) {
		struct comp_conf *cc = &c->comps[i];
		struct comp_aux *ax = &ld->aux[i];
		const char *missing = !cc->file ? "file" : !cc->upstream ? "upstream" :
				      !cc->build ? "build" : NULL;
		if (missing) {
			char *key = xasprintf("component.%s.%s", cc->name, missing);
			fail_at(ld, ax->header_line, key, "required key missing; add it to [component \"%s\"]",
				cc->name);
			free(key);
			return -1;
		}
		if (strcmp(cc->upstream_kind, "file-regex") == 0 && !cc->match) {
			char *key = xasprintf("component.%s.match", cc->name);
			fail_at(ld, ax->upstream_line, key, "required for a file-regex upstream; "
				"give a regex whose first capture group is the version");
			free(key);
			return -1;
		}
		if (!cc->key)
			cc->key = xstrdup(cc->name);
		if (!cc->image)
			cc->image = xasprintf("{prefix}/%s", cc->name);
		if (cc->tags.n == 0)
			strv_push(&cc->tags, "{version}");
		if (!cc->push)
			cc->push = xstrdup(c->reg_cert_dir ? CONFIG_DEFAULT_PUSH_CERTDIR : CONFIG_DEFAULT_PUSH);
		if (!cc->version_label)
			cc->version_label = xstrdup(CONFIG_DEFAULT_VERSION_LABEL);
		if (check_secrets(ld, cc, ax) < 0)
			return -1;
	}

	/* platform values are os/arch[/variant]; {platform} and friends only with them */
	for (size_t i = 0; i < c->ncomps; i++) {
		struct comp_conf *cc = &c->comps[i];
		for (size_t k = 0; k < cc->platforms.n; k++) {
			const char *v = cc->platforms.v[k];
			size_t slashes = 0, ok = *v && *v != '/';
			for (const char *p = v; *p && ok; p++) {
				if (*p == '/')
					ok = ++slashes <= 2 && p[1] && p[1] != '/';
				else
					ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_';
			}
			int dup = 0;
			for (size_t o = 0; o < k; o++)
				dup |= !strcmp(cc->platforms.v[o], v);
			if (!ok || slashes < 1 || dup) {
				char *key = xasprintf("component.%s.platform", cc->name);
				fail_at(ld, ld->aux[i].header_line, key,
					dup ? "'%s' is given twice" : "'%s' is not os/arch[/variant] (linux/amd64, linux/arm64/v8)", v);
				free(key);
				return -1;
			}
		}
		static const char *const pvars[] = {"{platform}", "{os}", "{arch}", "{variant}"};
		for (size_t k = 0; k < 4 && !cc->platforms.n; k++)
			if (strstr(cc->build, pvars[k]) || strstr(cc->push, pvars[k]) ||
			    (cc->cleanup && strstr(cc->cleanup, pvars[k]))) {
				char *key = xasprintf("component.%s.platform", cc->name);
				fail_at(ld, ld->aux[i].header_line, key,
					"a command uses %s but the component has no platform; add platform = os/arch",
					pvars[k]);
				free(key);
				return -1;
			}
	}

	/* after names other components */
	for (size_t i = 0; i < c->ncomps; i++) {
		struct comp_conf *cc = &c->comps[i];
		for (size_t k = 0; k < cc->after.n; k++) {
			int known = 0;
			for (size_t o = 0; o < c->ncomps; o++)
				known |= o != i && strcmp(c->comps[o].name, cc->after.v[k]) == 0;
			if (!known) {
				char *key = xasprintf("component.%s.after", cc->name);
				fail_at(ld, ld->aux[i].header_line, key,
					"'%s' is not another component; name a [component] of this file",
					cc->after.v[k]);
				free(key);
				return -1;
			}
		}
	}

	/* Two writers of one key would undo each other's records. */
	struct owner {
		char *file, *var;
		size_t comp;
		int line;
	};
	size_t nown = 0, capown = 0;
	struct owner *own = NULL;
	int rc = 0;
	for (size_t i = 0; i < c->ncomps && rc == 0; i++) {
		struct comp_conf *cc = &c->comps[i];
		for (size_t j = 0; j <= cc->nrecord_also && rc == 0; j++) {
			const char *file = j == 0 ? cc->file : cc->record_also[j - 1].file;
			const char *var = j == 0 ? cc->key : cc->record_also[j - 1].var;
			int line = j == 0 ? ld->aux[i].file_line : ld->aux[i].ra_lines[j - 1];
			char *nf = path_norm(file);
			for (size_t k = 0; k < nown; k++) {
				if (strcmp(own[k].file, nf) == 0 && strcmp(own[k].var, var) == 0) {
					char *key = xasprintf("component.%s.%s", cc->name,
							      j == 0 ? "file" : "recordAlso");
					fail_at(ld, line, key, "%s key %s is already written by "
						"component %s (line %d); give each component its own key",
						file, var, c->comps[own[k].comp].name, own[k].line);
					free(key);
					rc = -1;
					break;
				}
			}
			if (nown == capown) {
				capown = capown ? capown * 2 : 8;
				own = xrealloc(own, capown * sizeof *own);
			}
			own[nown++] = (struct owner){nf, xstrdup(var), i, line};
		}
	}
	for (size_t k = 0; k < nown; k++) {
		free(own[k].file);
		free(own[k].var);
	}
	free(own);
	return rc;
}

/* The temporary path in libgit2's message is replaced by the name. */
static int syntax_error(struct loader *ld, const char *disk_path)
{
	const git_error *ge = git_error_last();
	const char *m = ge && ge->message ? ge->message : "cannot parse";
	struct sbuf sb = {0};
	size_t plen = strlen(disk_path);
	for (const char *s = m; *s;) {
		if (plen && strncmp(s, disk_path, plen) == 0) {
			sbuf_adds(&sb, ld->name);
			s += plen;
		} else {
			sbuf_addc(&sb, *s++);
		}
	}
	if (ld->scan.bad_escape_line && strstr(m, "invalid escape"))
		tally_err_set(ld->err, TC_INPUT, "%s:%d: %s; valid escapes are \\n \\t \\b \\\" "
			      "and \\\\", ld->name, ld->scan.bad_escape_line, sbuf_str(&sb));
	else
		tally_err_set(ld->err, TC_INPUT, "%s: %s", ld->name, sbuf_str(&sb));
	sbuf_free(&sb);
	return -1;
}

static int load(const char *disk_path, const char *name, const char *text, size_t len,
		struct tally_conf **out, struct tally_err *err)
{
	struct loader ld = {0};
	git_config *cfg = NULL;
	git_config_iterator *it = NULL;
	git_config_entry *e;
	int rc = -1, gerr;

	*out = NULL;
	ld.name = name;
	ld.err = err;
	ld.conf = xcalloc(1, sizeof *ld.conf);
	struct tally_conf *c = ld.conf;
	c->path = xstrdup(name);
	c->parallel = 1;
	c->remote = xstrdup("origin");
	c->holds_file = xstrdup("tally-holds.txt");
	c->schedule = xstrdup("0 2 * * *");
	c->net_timeout = 30;
	c->log_keep = 50;
	c->author_name = xstrdup("tally");
	c->theme = xstrdup("default");
	const char *api = getenv("TALLY_GITHUB_API");
	c->gh_api = xstrdup(api && *api ? api : DEFAULT_GH_API);

	git_libgit2_init();
	scan_text(&ld.scan, text, len);
	if (git_config_new(&cfg) < 0 ||
	    git_config_add_file_ondisk(cfg, disk_path, GIT_CONFIG_LEVEL_LOCAL, NULL, 0) < 0) {
		syntax_error(&ld, disk_path);
		goto fail;
	}

	/* Components exist from their header on, so an empty section still
	 * reports its missing keys. */
	for (size_t i = 0; i < ld.scan.nhdrs; i++) {
		size_t idx;
		if (strcmp(ld.scan.hdrs[i].section, "component") == 0 && ld.scan.hdrs[i].sub &&
		    !comp_get(&ld, ld.scan.hdrs[i].sub, ld.scan.hdrs[i].line, &idx))
			goto fail;
	}

	if (git_config_iterator_new(&it, cfg) < 0) {
		syntax_error(&ld, disk_path);
		goto fail;
	}
	while ((gerr = git_config_next(&e, it)) == 0)
		if (apply_entry(&ld, e) < 0)
			goto fail;
	if (gerr != GIT_ITEROVER) {
		syntax_error(&ld, disk_path);
		goto fail;
	}
	if (finish(&ld) < 0)
		goto fail;
	*out = ld.conf;
	ld.conf = NULL;
	rc = 0;
fail:
	git_config_iterator_free(it);
	git_config_free(cfg);
	git_libgit2_shutdown();
	for (size_t i = 0; i < ld.naux; i++)
		free(ld.aux[i].ra_lines);
	free(ld.aux);
	free(ld.cslots);
	nameindex_free(ld.hdr_ix);
	free(ld.hdr_names);
	free(ld.hdr_lines);
	scan_free(&ld.scan);
	config_free(ld.conf);
	return rc;
}

int config_load(const char *path, struct tally_conf **out, struct tally_err *err)
{
	struct sbuf text = {0};
	*out = NULL;
	/* libgit2 takes a missing file for an empty one. */
	if (util_read_file(path, &text, err) < 0) {
		if (err)
			err->cls = TC_INPUT;
		sbuf_free(&text);
		return -1;
	}
	int rc = load(path, path, sbuf_str(&text), text.len, out, err);
	sbuf_free(&text);
	return rc;
}

int config_load_buffer(const char *name, const char *data, size_t len, struct tally_conf **out,
		       struct tally_err *err)
{
	const char *tmp = getenv("TMPDIR");
	char *path = xasprintf("%s/tally-conf-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	int rc = -1;

	*out = NULL;
	int fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0) {
		tally_err_set(err, TC_INPUT, "%s: cannot create a temporary file %s: %s", name, path,
			      strerror(errno));
		free(path);
		return -1;
	}
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			tally_err_set(err, TC_INPUT, "%s: cannot write %s: %s", name, path,
				      strerror(errno));
			close(fd);
			goto out;
		}
		off += (size_t)n;
	}
	if (close(fd) < 0) {
		tally_err_set(err, TC_INPUT, "%s: cannot write %s: %s", name, path, strerror(errno));
		goto out;
	}
	rc = load(path, name, data, len, out, err);
out:
	unlink(path);
	free(path);
	return rc;
}

const struct comp_conf *config_find(const struct tally_conf *c, const char *name)
{
	if (!c || !name)
		return NULL;
	for (size_t i = 0; i < c->ncomps; i++)
		if (strcmp(c->comps[i].name, name) == 0)
			return &c->comps[i];
	return NULL;
}

static void comp_free(struct comp_conf *cc)
{
	free(cc->name);
	free(cc->file);
	free(cc->key);
	free(cc->upstream);
	free(cc->upstream_kind);
	free(cc->upstream_arg);
	free(cc->include);
	free(cc->exclude);
	free(cc->match);
	free(cc->image);
	strv_free(&cc->tags);
	strv_free(&cc->floating);
	free(cc->build);
	free(cc->push);
	free(cc->cleanup);
	free(cc->version_label);
	strv_free(&cc->secrets);
	free(cc->workdir);
	free(cc->schedule);
	strv_free(&cc->recipes);
	strv_free(&cc->bases);
	strv_free(&cc->after);
	strv_free(&cc->platforms);
	for (size_t i = 0; i < cc->nrecord_also; i++) {
		free(cc->record_also[i].file);
		free(cc->record_also[i].var);
		free(cc->record_also[i].tmpl);
	}
	free(cc->record_also);
}

void config_free(struct tally_conf *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->ncomps; i++)
		comp_free(&c->comps[i]);
	free(c->comps);
	free(c->path);
	free(c->state_dir);
	free(c->group);
	free(c->remote);
	free(c->branch);
	free(c->holds_file);
	free(c->schedule);
	free(c->notify);
	free(c->author_name);
	free(c->author_email);
	free(c->theme);
	free(c->reg_prefix);
	free(c->reg_auth_file);
	free(c->reg_cert_dir);
	strv_free(&c->pass_env);
	free(c->gh_api);
	free(c->gh_token_file);
	free(c);
}
