/* registry.h - OCI distribution client on the HTTP transport of http.h
 * (one per thread; a struct registry never crosses threads).
 *
 * Images are "HOST[:PORT]/NAME" (a first component without '.' or ':' and
 * not "localhost" means Docker Hub: registry-1.docker.io, "library/" added
 * for one-component names). Credentials come from a docker-format auth file
 * (authfile.h: auths, credHelpers, credsStore): basic auth is sent
 * when the registry answers 401 with a Basic challenge; for a Bearer
 * challenge a token is fetched from the realm (with the credentials when
 * present) and cached per scope. Plain http is used only when insecure is
 * set (then https is tried first, then http; TLS is not verified).
 *
 * Failures set class: TC_MISSING_VERSION for 404 on a manifest, TC_AUTH for
 * 401/403 (naming the auth file or credential helper), TC_TOO_LARGE for 413,
 * TC_TLS for an untrusted certificate or a plain-http answer to https,
 * TC_NETWORK for other connection problems and 5xx,
 * TC_VERIFY for answers that are not what the protocol says. Messages name
 * the URL. Credentials never appear in messages. */
#ifndef TALLY_REGISTRY_H
#define TALLY_REGISTRY_H

#include <stddef.h>

#include "err.h"
#include "util.h"

#define REGISTRY_DIGEST_MAX 80   /* "sha256:" + 64 hex + NUL fits */

struct registry;

/* auth_file may be NULL (no credentials): it is read as authfile.h says
 * (auths, credHelpers, credsStore); a missing file means no credentials.
 * Caller frees with registry_free. */
struct registry *registry_new(const char *auth_file, int insecure, struct tally_err *err);
/* What every client tally makes uses: the auth file commands get
 * (authfile_for_commands: registry.authFile or the containers search
 * order) and registry.certDir. */
struct tally_conf;
struct registry *registry_from_conf(const struct tally_conf *conf, struct tally_err *err);
void registry_free(struct registry *r);
/* Trust DIR/HOST[:PORT]/NAME.crt for a host (tls.h); without this call the
 * containers defaults (~/.config/containers/certs.d, /etc/containers/certs.d,
 * /etc/docker/certs.d). */
void registry_set_cert_dir(struct registry *r, const char *dir);
/* The auth file read (it may not exist), NULL when none. */
const char *registry_auth_file(const struct registry *r);

/* Accept header covers OCI manifest + index and Docker v2 manifest + list.
 * On success body holds the manifest, *media_type (caller frees) its type,
 * digest its content digest (computed from the body with SHA-256 and checked
 * against Docker-Content-Digest when sent). ref is a tag or a digest. */
int registry_get_manifest(struct registry *r, const char *image, const char *ref,
			  struct sbuf *body, char **media_type, char digest[REGISTRY_DIGEST_MAX],
			  struct tally_err *err);
/* Digest of ref via HEAD (falls back to GET when HEAD gives no digest). */
int registry_digest(struct registry *r, const char *image, const char *ref,
		    char digest[REGISTRY_DIGEST_MAX], struct tally_err *err);
/* PUT the manifest under tag. */
int registry_put_manifest(struct registry *r, const char *image, const char *tag,
			  const char *body, size_t len, const char *media_type,
			  struct tally_err *err);
/* DELETE by digest (needs storage.delete.enabled; used by tests and tools). */
int registry_delete_manifest(struct registry *r, const char *image, const char *digest,
			     struct tally_err *err);
/* GET /v2/NAME/blobs/DIGEST (small blobs such as an image config; at most
 * 8 MiB), checked against digest. body is reset first. */
int registry_get_blob(struct registry *r, const char *image, const char *digest,
		      struct sbuf *body, struct tally_err *err);
/* GET /v2/NAME/tags/list following Link paging (at most max_pages pages).
 * Appends tags to out. */
int registry_tags(struct registry *r, const char *image, struct strv *out, int max_pages,
		  struct tally_err *err);
/* Page size asked for by registry_tags (?n=N); default 100. */
void registry_set_page_size(struct registry *r, int n);

/* HOST[:PORT] of an image reference, normalised (Docker Hub:
 * registry-1.docker.io); NULL when it does not parse. Caller frees. */
char *registry_image_host(const char *image);

/* SHA-256 of data as "sha256:<hex>". */
void registry_sha256_digest(const void *data, size_t len, char digest[REGISTRY_DIGEST_MAX]);

#endif
