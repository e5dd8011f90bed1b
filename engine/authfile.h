/* authfile.h - registry credentials as buildah, podman, skopeo and docker
 * keep them (containers-auth.json(5), docker's config.json; SPEC section 4,
 * registry.authFile).
 *
 * Which file: registry.authFile when set, else the first that exists of
 *   $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json,
 *   /run/containers/0/auth.json (root only),
 *   ${XDG_CONFIG_HOME:-~/.config}/containers/auth.json,
 *   $DOCKER_CONFIG/config.json, ~/.docker/config.json.
 *
 * What it holds: "auths" entries keyed by a host[:port] or a namespace
 * (host/ns/repo, matched most specific first, as containers-auth.json(5)
 * says), or by a URL ("https://index.docker.io/v1/", "http://host:5000/v2/":
 * scheme and path dropped, as docker login once wrote them); each with
 * "auth" (base64 of user:password) or "username" and "password", and
 * optionally "identitytoken". "credHelpers" maps a host to NAME and
 * "credsStore" names a default NAME: tally then runs
 * `docker-credential-NAME get` through the runner (argv, no shell) with the
 * host on stdin and reads {"Username": ..., "Secret": ...} from its stdout;
 * Username "<token>" means Secret is an identity token.
 *
 * Secrets live only in the structs here, are wiped when freed, and never
 * enter a message. */
#ifndef TALLY_AUTHFILE_H
#define TALLY_AUTHFILE_H

#include "err.h"

/* The file to read: configured when set (a leading "~/" is the home
 * directory), else the first existing file of the search order; NULL when
 * none exists. Caller frees. */
char *authfile_find(const char *configured);
/* What {authfile} and $REGISTRY_AUTH_FILE are for the commands tally runs:
 * authfile_find's answer, else the file `buildah login` would write
 * ($REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json, else
 * /run/containers/UID/auth.json). Caller frees. */
char *authfile_for_commands(const char *configured);
/* The search order as one line, for messages ("$REGISTRY_AUTH_FILE, ..."). */
const char *authfile_search_order(void);

struct authfile;

/* Reads path (NULL or missing: no credentials, not an error). Bad JSON,
 * a bad "auth" value or a helper name that is not [A-Za-z0-9._-]+ fail
 * with TC_INPUT naming the file (and the key). */
int authfile_load(const char *path, struct authfile **out, struct tally_err *err);
void authfile_free(struct authfile *af);
/* The file read ("" when none); whether it existed. */
const char *authfile_path(const struct authfile *af);
int authfile_exists(const struct authfile *af);

struct authfile_cred {
	char *user, *pass;        /* both NULL when none */
	char *identity_token;     /* NULL when none */
	char *source;             /* where they came from, for messages:
	                           * "FILE" or "docker-credential-NAME" */
};

/* Credentials for host (normalised host[:port]) and repository name (may be
 * NULL): credHelpers[host], else the most specific "auths" entry that holds
 * credentials, else credsStore. 0 with out filled (all NULL when there are
 * none), or -1 when a helper fails (TC_AUTH, naming the helper and the
 * file). The helper runs at most once per host per struct. */
int authfile_lookup(struct authfile *af, const char *host, const char *name,
		    struct authfile_cred *out, struct tally_err *err);
void authfile_cred_clear(struct authfile_cred *c);

#endif
