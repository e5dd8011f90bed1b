/* confkeys.c - the key table of tally.conf and the template variables,
 * with their documentation (see confkeys.h). Data only, read-only, no
 * threads. */
#include "confkeys.h"
#include "err.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

const char *const config_upstream_kinds[] = {
	"github-release", "github-tag", "registry-tags", "git-tags", "file-regex", "manual", NULL,
};

const char *const config_template_vars[] = {
	"component", "key", "version", "prefix", "image",
	"tag", "ref", "repo", "tlsverify", "digestfile", "authfile", "certdir",
	"platform", "os", "arch", "variant",
};
const size_t config_template_nvars = sizeof config_template_vars / sizeof config_template_vars[0];

/* One line per key. The help and default texts make tally.conf(5) and
 * `tally help config` (tui/confref.c, which shows them translated: the
 * catalog takes them from G() and C() and the N_() marks); a key without
 * help fails the unit test, and docs/tally.conf.5 is checked against this
 * table. */
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
	G("tally", "branch", K_STR, 0, branch, N_("the current branch"),
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
	G("tally", "host", K_STR, KF_LOCAL, host, N_("$TALLY_HOST, else the short host name"),
	  "This build host's name in claims, Tally-Host trailers and status (several build hosts). "
	  "tally.conf is shared by every host, so the name comes from the host: $TALLY_HOST, else "
	  "tally.host in the clone's own .git/config (git config tally.host NAME), else the host "
	  "name up to its first dot; setting it in tally.conf is an error. One word: letters, "
	  "digits, '.', '_' and '-'."),
	G("registry", "prefix", K_STR, 0, reg_prefix, NULL, "The value of {prefix}, e.g. registry.example/ns."),
	G("registry", "insecure", K_BOOL, 0, reg_insecure, "false",
	  "Allow plain http and skip TLS checks (for registries on loopback); sets {tlsverify} to false."),
	G("registry", "authFile", K_STR, 0, reg_auth_file,
	  N_("the first that exists of $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json, "
	  "/run/containers/0/auth.json (root), $XDG_CONFIG_HOME/containers/auth.json, "
	  "$DOCKER_CONFIG/config.json, ~/.docker/config.json"),
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
	G("github", "apiUrl", K_STR, 0, gh_api, CONF_DEFAULT_GH_API,
	  "GitHub or GitHub Enterprise API root for github-release and github-tag. $TALLY_GITHUB_API "
	  "overrides it."),
	G("github", "tokenFile", K_STR, 0, gh_token_file, NULL,
	  "File whose first line is a GitHub token (relative paths from the repository root); "
	  "$GITHUB_TOKEN wins. Sent only to the apiUrl host."),
	C("file", K_STR, KF_RELPATH, file, N_("required"),
	  "The version file (key=value lines) that holds the record, a path in the repository."),
	C("key", K_STR, KF_VARNAME, key, "<n>", "The key of the record in the version file."),
	C("upstream", K_UPSTREAM, 0, upstream, N_("required"),
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
	C("build", K_STR, KF_CMD, build, N_("required"), "Command template that builds {ref}."),
	C("push", K_STR, KF_CMD, push, CONFIG_DEFAULT_PUSH,
	  "Command template that pushes {ref} once; it may write the digest to {digestfile}. With "
	  "registry.certDir set the default also passes --cert-dir {certdir}."),
	C("cleanup", K_STR, KF_CMD, cleanup, NULL,
	  "Command template run after a record (e.g. buildah rmi {ref}); its failure is logged only."),
	C("workdir", K_STR, 0, workdir, N_("the repository root"),
	  "Working directory of the commands (relative paths from the repository root)."),
	C("timeout", K_INT, 0, timeout, "3600", "Seconds each command may run."),
	C("schedule", K_STR, 0, schedule, "tally.schedule", "Cron schedule of this component."),
	C("recipe", K_LIST, KF_RELPATH, recipes, NULL,
	  "Paths (Dockerfiles, scripts): their blob ids at HEAD and the component's config "
	  "make the recipe fingerprint; a change re-ships the recorded version."),
	C("base", K_LIST, 0, bases, N_("the FROM images of the recipe Dockerfiles"),
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
	C("host", K_LIST, KF_HOST, hosts, N_("any host"),
	  "Host names (tally.host) that may ship this component; the key may repeat. Another host "
	  "never builds it: run, the schedule, retry and rebuild leave it to them, and status shows "
	  "it with its hosts. With several hosts on one remote (tally.gitPush), a claim on the "
	  "remote makes sure one host builds a version once."),
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
	{"component", N_("the component's name (<n>)")},
	{"key", N_("its key in the version file")},
	{"version", N_("the version being shipped")},
	{"prefix", N_("registry.prefix")},
	{"image", N_("the expanded image")},
	{"tag", N_("the first version tag")},
	{"ref", N_("{image}:{tag}, what build makes and push pushes")},
	{"repo", N_("the versions repository's root directory")},
	{"tlsverify", N_("false with registry.insecure, else true")},
	{"digestfile", N_("a path in the attempt's directory where push may write the pushed digest")},
	{"authfile", N_("the registry auth file tally read (registry.authFile or the first that exists "
		     "of the search order; else the one buildah login would write), also in "
		     "$REGISTRY_AUTH_FILE when it exists")},
	{"secret:ID", N_("in the build template only: the path of the file that holds the secret ID "
		      "(component.<n>.secret) while the build runs")},
	{"certdir", N_("registry.certDir (default /etc/containers/certs.d) joined with the image's "
		    "HOST[:PORT]: what buildah --cert-dir wants")},
	{"platform", N_("with component.<n>.platform: the platform being built, os/arch[/variant] "
		     "(build and push run once per platform, {ref} is that platform's own ref)")},
	{"os", N_("with platform: its os (linux)")},
	{"arch", N_("with platform: its architecture (amd64, arm64)")},
	{"variant", N_("with platform: its variant (v8), or empty")},
};

const char *config_var_help(const char *name)
{
	for (size_t i = 0; name && i < sizeof var_docs / sizeof var_docs[0]; i++)
		if (strcmp(var_docs[i].name, name) == 0)
			return var_docs[i].help;
	return NULL;
}

const struct keydef *confkeys_at(size_t i)
{
	return i < config_key_count() ? &keydefs[i] : NULL;
}

const struct keydef *confkeys_find(const char *section, const char *key)
{
	/* first letters first: a load looks up every entry of the file */
	int s0 = (unsigned char)section[0], k0 = tolower((unsigned char)key[0]);
	for (size_t i = 0; i < sizeof keydefs / sizeof keydefs[0]; i++)
		if ((unsigned char)keydefs[i].section[0] == s0 && tolower((unsigned char)keydefs[i].key[0]) == k0 &&
		    strcmp(keydefs[i].section, section) == 0 && strcasecmp(keydefs[i].key, key) == 0)
			return &keydefs[i];
	return NULL;
}
