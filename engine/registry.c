/* registry.c - the OCI distribution protocol (manifests, blobs, tags) on
 * the HTTP transport of http.c; authentication is regauth.c.
 *
 * A struct registry belongs to one thread: it owns one struct http (whose
 * easy handle is reset and reused, so connections stay alive), the
 * per-host state and the credentials; nothing in it is shared. Redirects
 * follow http_redirect_target (at most HTTP_MAX_REDIRS), so that a request
 * carrying credentials is never sent on to another host. Bodies are capped
 * at 8 MiB by the transport.
 *
 * Scheme choice: https with TLS verified, unless insecure. When insecure, a
 * loopback host (127.x, localhost, ::1) is spoken to over http at once;
 * any other host is tried over https without verification first and, if
 * that fails at the transport level, over http. The choice is remembered
 * per host for the life of the struct.
 *
 * Credentials (base64 "user:pass" from the auth file) and bearer tokens live
 * only in this struct, are wiped on free, and never enter a message. */
#include "registry_priv.h"

#include "authfile.h"
#include "config.h"
#include "sha256.h"
#include "tls.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BODY_MAX ((size_t)8 << 20)
#define DEFAULT_PAGE_SIZE 100
#define HUB_HOST "registry-1.docker.io"

static const char MANIFEST_ACCEPT[] =
	"Accept: application/vnd.oci.image.manifest.v1+json, "
	"application/vnd.oci.image.index.v1+json, "
	"application/vnd.docker.distribution.manifest.v2+json, "
	"application/vnd.docker.distribution.manifest.list.v2+json";

void registry_sha256_digest(const void *data, size_t len, char digest[REGISTRY_DIGEST_MAX])
{
	sha256_digest_str(data, len, digest);
}

/* ---- small helpers ---- */

/* OCI tag grammar or a digest (algorithm ":" encoded); keeps refs from
 * adding path or query parts to a URL. */
static int valid_ref(const char *ref)
{
	size_t n = strlen(ref);
	const char *colon = strchr(ref, ':');
	if (!colon) {
		if (n == 0 || n > 128 || !(isalnum((unsigned char)ref[0]) || ref[0] == '_'))
			return 0;
		for (const char *p = ref; *p; p++)
			if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
				return 0;
		return 1;
	}
	if (colon == ref || !colon[1] || n > 256)
		return 0;
	for (const char *p = ref; p < colon; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && !strchr("+._-", *p))
			return 0;
	for (const char *p = colon + 1; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("=_-", *p))
			return 0;
	return 1;
}

void reg_free_secret(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* A value fit for one header line: no CR, LF or NUL. */
int reg_header_safe(const char *s)
{
	return s && *s && !strpbrk(s, "\r\n");
}

/* "https://index.docker.io/v1/" -> "registry-1.docker.io"; "Host:5000" -> "host:5000" */
static char *norm_host(const char *key)
{
	if (!strncasecmp(key, "https://", 8))
		key += 8;
	else if (!strncasecmp(key, "http://", 7))
		key += 7;
	size_t n = strcspn(key, "/");
	char *h = xstrndup(key, n);
	for (char *p = h; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (!strcmp(h, "docker.io") || !strcmp(h, "index.docker.io")) {
		free(h);
		h = xstrdup(HUB_HOST);
	}
	return h;
}

struct host_state *reg_host(struct registry *r, const char *host)
{
	for (size_t i = 0; i < r->nhosts; i++)
		if (!strcmp(r->hosts[i].host, host))
			return &r->hosts[i];
	r->hosts = xrealloc(r->hosts, (r->nhosts + 1) * sizeof *r->hosts);
	struct host_state *hs = &r->hosts[r->nhosts++];
	memset(hs, 0, sizeof *hs);
	hs->host = xstrdup(host);
	return hs;
}

struct registry *registry_new(const char *auth_file, int insecure, struct tally_err *err)
{
	struct registry *r = xcalloc(1, sizeof *r);
	r->insecure = insecure;
	r->page_size = DEFAULT_PAGE_SIZE;
	r->http = http_transport_new(insecure, -1);
	if (auth_file && *auth_file) {
		r->auth_path = xstrdup(auth_file);
		if (authfile_load(auth_file, &r->auth, err) < 0)
			goto fail;
	}
	return r;
fail:
	registry_free(r);
	return NULL;
}

void registry_free(struct registry *r)
{
	if (!r)
		return;
	http_free(r->http);
	for (size_t i = 0; i < r->ncreds; i++) {
		free(r->creds[i].key);
		reg_free_secret(r->creds[i].basic);
		reg_free_secret(r->creds[i].identity_token);
		free(r->creds[i].source);
	}
	authfile_free(r->auth);
	free(r->auth_path);
	free(r->auth_shown);
	free(r->cert_dir);
	free(r->creds);
	for (size_t i = 0; i < r->ntokens; i++) {
		free(r->tokens[i].key);
		reg_free_secret(r->tokens[i].value);
	}
	free(r->tokens);
	for (size_t i = 0; i < r->nhosts; i++) {
		free(r->hosts[i].host);
		tls_trust_free(&r->hosts[i].trust);
	}
	free(r->hosts);
	free(r);
}

void registry_set_cert_dir(struct registry *r, const char *dir)
{
	free(r->cert_dir);
	r->cert_dir = xstrdup(dir);
	r->cert_dir_set = 1;
}

const char *registry_auth_file(const struct registry *r)
{
	return r->auth_path;
}

struct registry *registry_from_conf(const struct tally_conf *conf, struct tally_err *err)
{
	char *path = authfile_for_commands(conf->reg_auth_file);
	struct registry *r = registry_new(path, conf->reg_insecure, err);
	free(path);
	if (r && conf->reg_cert_dir)
		registry_set_cert_dir(r, conf->reg_cert_dir);
	return r;
}

void registry_set_page_size(struct registry *r, int n)
{
	r->page_size = n > 0 ? n : DEFAULT_PAGE_SIZE;
}

/* ---- image names ---- */


static void image_free(struct image *im)
{
	free(im->host);
	free(im->name);
}

static int valid_name(const char *name)
{
	if (!*name || *name == '/' || str_ends(name, "/") || strstr(name, "//"))
		return 0;
	for (const char *p = name; *p; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && !strchr("._-/", *p))
			return 0;
	return 1;
}

static int image_parse(const char *image, struct image *im, struct tally_err *err)
{
	const char *slash = strchr(image, '/');
	im->host = im->name = NULL;
	if (slash) {
		size_t n = (size_t)(slash - image);
		char *first = xstrndup(image, n);
		if (memchr(first, '.', n) || memchr(first, ':', n) || !strcmp(first, "localhost")) {
			im->host = norm_host(first);
			im->name = xstrdup(slash + 1);
		}
		free(first);
	}
	if (!im->host) {
		im->host = xstrdup(HUB_HOST);
		im->name = xstrdup(image);
	}
	if (!strcmp(im->host, HUB_HOST) && !strchr(im->name, '/')) {
		char *n = xasprintf("library/%s", im->name);
		free(im->name);
		im->name = n;
	}
	for (const char *p = im->host; *p; p++) {
		if (!isalnum((unsigned char)*p) && !strchr(".-:[]", *p))
			goto bad;
	}
	if (!*im->host || !valid_name(im->name))
		goto bad;
	return 0;
bad:
	image_free(im);
	return tally_err_set(err, TC_INPUT,
			     "image \"%s\" is not HOST[:PORT]/NAME with a lowercase repository name",
			     image);
}

char *registry_image_host(const char *image)
{
	struct image im;
	if (image_parse(image, &im, NULL) < 0)
		return NULL;
	free(im.name);
	return im.host;
}

static int is_loopback(const char *host)
{
	if (!strncmp(host, "[::1]", 5))
		return 1;
	size_t n = strcspn(host, ":");
	if (n == 9 && !strncmp(host, "localhost", 9))
		return 1;
	return !strncmp(host, "127.", 4);
}

/* ---- one HTTP exchange ---- */

/* Answers are struct http_reply; these name the headers the protocol reads.
 * A repeated header counts by its last value, except Link (the first) and
 * WWW-Authenticate (a Bearer challenge is preferred when several come). */
static const char *last_header(const struct http_reply *rp, const char *name)
{
	const char *v = NULL, *n;
	for (size_t i = 0; (n = http_reply_header(rp, name, i)); i++)
		v = n;
	return v;
}

#define rp_digest(rp) last_header(rp, "Docker-Content-Digest")
#define rp_content_type(rp) last_header(rp, "Content-Type")
#define rp_location(rp) last_header(rp, "Location")
#define rp_link(rp) http_reply_header(rp, "Link", 0)

/* Performs one transfer (no redirects) on the transport, with the
 * registry's trust (certs.d, which also covers its token realm). */
int reg_perform(struct registry *r, const char *host, const struct call *c, const char *url,
		   const char *authz, struct http_reply *rp, struct tally_err *err)
{
	struct host_state *hs = reg_host(r, host);
	if (!hs->trust_loaded && !r->insecure) {
		if (tls_trust_load(r->cert_dir_set ? (r->cert_dir ? r->cert_dir : "") : NULL, host,
				   &hs->trust, err) < 0)
			return -1;
		hs->trust_loaded = 1;
	}
	const char *lines[4];
	size_t n = 0;
	char *ct = NULL, *az = NULL;
	if (c->accept)
		lines[n++] = c->accept;
	if (c->content_type)
		lines[n++] = ct = xasprintf("Content-Type: %s", c->content_type);
	if (authz)
		lines[n++] = az = xasprintf("Authorization: %s", authz);
	lines[n] = NULL;
	struct http_request rq = {
		.method = c->method, .url = url, .headers = lines,
		.body = c->data, .body_len = c->len, .body_max = BODY_MAX,
		.trust = r->insecure ? NULL : &hs->trust,
		.tls_host = host, .cert_dir = r->cert_dir_set ? r->cert_dir : NULL,
		.timeout_class = TC_NETWORK,
	};
	int ret = http_exchange(r->http, &rq, rp, err);
	free(ct);
	reg_free_secret(az);
	return ret;
}

/* ---- a request with scheme choice, redirects and auth ---- */

static char *base_url(struct registry *r, const struct image *im, int *probing)
{
	struct host_state *hs = reg_host(r, im->host);
	*probing = 0;
	if (!hs->scheme) {
		if (!r->insecure)
			hs->scheme = "https";
		else if (is_loopback(im->host))
			hs->scheme = "http";
		else
			*probing = 1;
	}
	return xasprintf("%s://%s", hs->scheme ? hs->scheme : "https", im->host);
}

/* Sends c to base + path, answering one auth challenge and following up to
 * HTTP_MAX_REDIRS redirects (http_redirect_target). A request that carries
 * credentials is never redirected to another host, and once a redirect has
 * left the registry's host no credentials are sent and no challenge is
 * answered. On return 0, rp holds the final answer and *final_url (caller
 * frees) its URL. */
static int request(struct registry *r, const struct image *im, const char *path,
		   const char *scope, const struct call *c, struct http_reply *rp, char **final_url,
		   struct tally_err *err)
{
	int probing, challenged = 0, redirects = 0, offsite = 0, ret = -1;
	char *base = base_url(r, im, &probing);
	char *url = str_starts(path, "http") ? xstrdup(path) : xasprintf("%s%s", base, path);
	char *authz = NULL;
	struct host_state *hs;

	*final_url = NULL;
	for (;;) {
		hs = reg_host(r, im->host);
		const char *tok = reg_token_find(r, im->host, scope);
		const struct cred *cr = NULL;
		if (!tok && hs->basic && reg_cred_get(r, im->host, im->name, &cr, err) < 0)
			goto out;
		reg_free_secret(authz);
		authz = tok ? xstrdup(tok) : (cr && cr->basic) ? xasprintf("Basic %s", cr->basic) : NULL;
		if (offsite) {
			/* redirected away from the registry: its secrets stay home */
			reg_free_secret(authz);
			authz = NULL;
		}
		if (reg_perform(r, im->host, c, url, authz, rp, err) < 0) {
			if (!probing || (err && err->cls == TC_TOO_LARGE) || !str_starts(url, "https://"))
				goto out;
			/* insecure and https failed: fall back to plain http */
			char *u = xasprintf("http://%s", url + 8);
			free(url);
			url = u;
			probing = 0;
			reg_host(r, im->host)->scheme = "http";
			tally_err_clear(err);
			continue;
		}
		if (probing) {
			reg_host(r, im->host)->scheme = str_starts(url, "https://") ? "https" : "http";
			probing = 0;
		}
		char *next = NULL;
		int redir = http_redirect_target(url, rp->status, rp_location(rp), redirects,
						 authz ? HTTP_REDIR_SAME_ORIGIN : 0,
						 "an authenticated request stays on the registry's host",
						 &next, err);
		if (redir < 0)
			goto out;
		if (redir) {
			redirects++;
			if (!http_same_origin(next, url))
				offsite = 1;
			free(url);
			url = next;
			continue;
		}
		if (rp->status == 401 && !challenged && !offsite) {
			challenged = 1;
			reg_token_drop(r, im->host, scope);
			if (reg_answer_challenge(r, im, url, scope, rp, err) < 0)
				goto out;
			continue;
		}
		if (rp->status == 401 && challenged && authz) {
			/* the credentials were sent and refused */
			const struct cred *sent = NULL;
			struct tally_err e2 = {0};
			reg_cred_get(r, im->host, im->name, &sent, &e2);
			tally_err_set(err, TC_AUTH,
				      "%s: 401 unauthorized with the credentials for %s from %s; check "
				      "them (buildah login %s)", url, im->host,
				      sent && sent->source ? sent->source : reg_auth_shown(r), im->host);
			goto out;
		}
		break;
	}
	*final_url = url;
	url = NULL;
	ret = 0;
out:
	reg_free_secret(authz);
	free(base);
	free(url);
	return ret;
}

/* Turns a non-success answer into an error naming the URL, with the
 * registry's error code and message when the body has them. */
static int status_error(const char *url, const struct http_reply *rp, enum tally_class cls_404,
			struct tally_err *err)
{
	enum tally_class cls;
	const char *what;
	long s = rp->status;
	if (s == 401 || s == 403) {
		cls = TC_AUTH;
		what = s == 401 ? "unauthorized; check the registry credentials" : "forbidden";
	} else if (s == 404) {
		cls = cls_404;
		what = "not found";
	} else if (s == 413) {
		cls = TC_TOO_LARGE;
		what = "too large";
	} else if (s == 429) {
		cls = TC_RATE_LIMIT;
		what = "too many requests";
	} else if (s >= 500) {
		cls = TC_NETWORK;
		what = "server error";
	} else {
		cls = TC_VERIFY;
		what = "unexpected answer";
	}
	char code[64] = "", msg[256] = "";
	json_error_t je;
	json_t *root = rp->body.len ? json_loadb(rp->body.buf, rp->body.len, 0, &je) : NULL;
	json_t *e0 = json_array_get(json_object_get(root, "errors"), 0);
	const char *jc = json_string_value(json_object_get(e0, "code"));
	const char *jm = json_string_value(json_object_get(e0, "message"));
	if (jc)
		snprintf(code, sizeof code, "%s", jc);
	if (jm)
		snprintf(msg, sizeof msg, "%s", jm);
	json_decref(root);
	for (char *p = code; *p; p++)
		if (!isprint((unsigned char)*p))
			*p = '?';
	for (char *p = msg; *p; p++)
		if (!isprint((unsigned char)*p))
			*p = '?';
	if (*msg && s != 401)
		what = msg;
	if (*code)
		return tally_err_set(err, cls, "%s: %ld %s (%s)", url, s, what, code);
	return tally_err_set(err, cls, "%s: %ld %s", url, s, what);
}

/* Media type from Content-Type (parameters dropped), else the body's
 * "mediaType". Caller frees; NULL when neither names one. */
static char *media_type_of(const struct http_reply *rp)
{
	if (rp_content_type(rp)) {
		size_t n = strcspn(rp_content_type(rp), "; \t");
		char *mt = xstrndup(rp_content_type(rp), n);
		if (n && strcmp(mt, "application/json") != 0 && strcmp(mt, "text/plain") != 0 &&
		    strcmp(mt, "application/octet-stream") != 0)
			return mt;
		free(mt);
	}
	json_error_t je;
	json_t *root = json_loadb(rp->body.buf ? rp->body.buf : "", rp->body.len, 0, &je);
	const char *v = json_string_value(json_object_get(root, "mediaType"));
	char *mt = v && reg_header_safe(v) ? xstrdup(v) : NULL;
	json_decref(root);
	return mt;
}

/* ---- the API ---- */

static int check_ref(const char *ref, struct tally_err *err)
{
	if (!ref || !valid_ref(ref))
		return tally_err_set(err, TC_INPUT, "\"%s\" is not a valid tag or digest",
				     ref ? ref : "(null)");
	return 0;
}

/* method on /v2/NAME/KIND/REF (KIND "manifests" or "blobs") that must
 * answer 2xx; access is the token scope's action ("pull", "pull,push",
 * "delete"). *rp and *url (caller frees both, also on failure) hold the
 * answer and the URL asked. The one request path of the manifest and blob
 * calls. */
static int object_call(struct registry *r, const char *image, const char *kind, const char *ref,
		       const char *access, const struct call *c, struct http_reply *rp, char **url,
		       struct tally_err *err)
{
	struct image im = {0};
	int ret = -1;
	if (image_parse(image, &im, err) < 0)
		return -1;
	char *path = xasprintf("/v2/%s/%s/%s", im.name, kind, ref);
	char *scope = xasprintf("repository:%s:%s", im.name, access);
	if (request(r, &im, path, scope, c, rp, url, err) == 0) {
		if (rp->status >= 200 && rp->status <= 299)
			ret = 0;
		else
			status_error(*url, rp, TC_MISSING_VERSION, err);
	}
	free(path);
	free(scope);
	image_free(&im);
	return ret;
}

static int manifest_fetch(struct registry *r, const char *image, const char *ref,
			  const char *method, const char *access, struct http_reply *rp, char **url,
			  struct tally_err *err)
{
	struct call c = {.method = method, .accept = MANIFEST_ACCEPT};
	if (check_ref(ref, err) < 0)
		return -1;
	return object_call(r, image, "manifests", ref, access, &c, rp, url, err);
}

/* A Docker-Content-Digest that names sha256 must be d (what the body
 * hashes to); what says which mismatch it is. */
static int header_digest_check(const struct http_reply *rp, const char *url, const char *d,
			       const char *what, struct tally_err *err)
{
	const char *hd = rp_digest(rp);
	if (hd && str_starts(hd, "sha256:") && strcmp(hd, d) != 0)
		return tally_err_set(err, TC_VERIFY, "%s: %s %.80s, expected %s", url, what, hd, d);
	return 0;
}

int registry_get_manifest(struct registry *r, const char *image, const char *ref,
			  struct sbuf *body, char **media_type, char digest[REGISTRY_DIGEST_MAX],
			  struct tally_err *err)
{
	struct http_reply rp = {0};
	char *url = NULL, *mt = NULL;
	char d[REGISTRY_DIGEST_MAX];
	int ret = -1;

	if (manifest_fetch(r, image, ref, "GET", "pull", &rp, &url, err) < 0)
		goto fail;
	json_error_t je;
	json_t *root = json_loadb(rp.body.buf ? rp.body.buf : "", rp.body.len, 0, &je);
	int is_obj = json_is_object(root);
	json_decref(root);
	if (!is_obj) {
		tally_err_set(err, TC_VERIFY, "%s: manifest is not a JSON object", url);
		goto fail;
	}
	sha256_digest_str(rp.body.buf ? rp.body.buf : "", rp.body.len, d);
	if (header_digest_check(&rp, url, d, "Docker-Content-Digest does not match the body:", err) < 0)
		goto fail;
	if (str_starts(ref, "sha256:") && strcmp(ref, d) != 0) {
		tally_err_set(err, TC_VERIFY, "%s: manifest body has digest %s", url, d);
		goto fail;
	}
	mt = media_type_of(&rp);
	if (!mt) {
		tally_err_set(err, TC_VERIFY, "%s: manifest has no media type", url);
		goto fail;
	}
	sbuf_reset(body);
	sbuf_add(body, rp.body.buf, rp.body.len);
	*media_type = mt;
	mt = NULL;
	memcpy(digest, d, sizeof d);
	ret = 0;
fail:
	free(mt);
	free(url);
	http_reply_free(&rp);
	return ret;
}

int registry_digest(struct registry *r, const char *image, const char *ref,
		    char digest[REGISTRY_DIGEST_MAX], struct tally_err *err)
{
	struct http_reply rp = {0};
	char *url = NULL;
	int ret = -1;

	if (manifest_fetch(r, image, ref, "HEAD", "pull", &rp, &url, err) < 0)
		goto fail;
	if (sha256_digest_valid(rp_digest(&rp))) {
		if (str_starts(ref, "sha256:") && strcmp(ref, rp_digest(&rp)) != 0) {
			tally_err_set(err, TC_VERIFY, "%s: registry says digest %s", url, rp_digest(&rp));
			goto fail;
		}
		snprintf(digest, REGISTRY_DIGEST_MAX, "%s", rp_digest(&rp));
		ret = 0;
	} else {
		/* no usable digest header: hash the manifest ourselves */
		struct sbuf body = {0};
		char *mt = NULL;
		ret = registry_get_manifest(r, image, ref, &body, &mt, digest, err);
		sbuf_free(&body);
		free(mt);
	}
fail:
	free(url);
	http_reply_free(&rp);
	return ret;
}

int registry_put_manifest(struct registry *r, const char *image, const char *tag,
			  const char *body, size_t len, const char *media_type,
			  struct tally_err *err)
{
	struct http_reply rp = {0};
	struct call c = {.method = "PUT", .content_type = media_type, .data = body, .len = len};
	char *url = NULL;
	char d[REGISTRY_DIGEST_MAX];
	int ret = -1;

	if (check_ref(tag, err) < 0)
		return -1;
	if (!reg_header_safe(media_type))
		return tally_err_set(err, TC_INPUT, "manifest for %s:%s has no usable media type",
				     image, tag);
	if (object_call(r, image, "manifests", tag, "pull,push", &c, &rp, &url, err) == 0) {
		sha256_digest_str(body, len, d);
		ret = header_digest_check(&rp, url, d, "registry stored digest", err);
	}
	free(url);
	http_reply_free(&rp);
	return ret;
}

int registry_delete_manifest(struct registry *r, const char *image, const char *digest,
			     struct tally_err *err)
{
	struct http_reply rp = {0};
	char *url = NULL;
	if (!digest || !strchr(digest, ':') || check_ref(digest, err) < 0)
		return tally_err_set(err, TC_INPUT, "\"%s\" is not a digest", digest ? digest : "(null)");
	int ret = manifest_fetch(r, image, digest, "DELETE", "delete", &rp, &url, err);
	free(url);
	http_reply_free(&rp);
	return ret;
}

int registry_tags(struct registry *r, const char *image, struct strv *out, int max_pages,
		  struct tally_err *err)
{
	struct image im = {0};
	struct http_reply rp = {0};
	struct call c = {.method = "GET", .accept = REG_JSON_ACCEPT};
	struct strv seen = {0}, tags = {0};
	char *path = NULL, *url = NULL, *scope = NULL, *first = NULL;
	json_t *root = NULL;
	int ret = -1;

	if (max_pages < 1)
		max_pages = 1;
	if (image_parse(image, &im, err) < 0)
		return -1;
	path = xasprintf("/v2/%s/tags/list?n=%ld", im.name, r->page_size);
	scope = xasprintf("repository:%s:pull", im.name);
	for (int page = 0;; page++) {
		if (page >= max_pages) {
			tally_err_set(err, TC_TOO_LARGE, "%s: more than %d pages of tags; stopped before %s",
				      first, max_pages, path);
			goto fail;
		}
		free(url);
		url = NULL;
		if (request(r, &im, path, scope, &c, &rp, &url, err) < 0)
			goto fail;
		if (!first)
			first = xstrdup(url);
		strv_push(&seen, path);
		strv_push(&seen, url);
		if (rp.status != 200) {
			status_error(url, &rp, TC_MISSING_VERSION, err);
			goto fail;
		}
		json_error_t je;
		json_decref(root);
		root = json_loadb(rp.body.buf ? rp.body.buf : "", rp.body.len, 0, &je);
		if (!json_is_object(root)) {
			tally_err_set(err, TC_VERIFY, "%s: tags answer is not a JSON object", url);
			goto fail;
		}
		json_t *list = json_object_get(root, "tags");
		if (list && !json_is_null(list) && !json_is_array(list)) {
			tally_err_set(err, TC_VERIFY, "%s: \"tags\" is not an array", url);
			goto fail;
		}
		size_t i;
		json_t *t;
		json_array_foreach(list, i, t) {
			if (!json_is_string(t)) {
				tally_err_set(err, TC_VERIFY, "%s: tags entry %zu is not a string", url, i);
				goto fail;
			}
			strv_push(&tags, json_string_value(t));
		}
		char *next = rp_link(&rp) ? http_link_next(rp_link(&rp)) : NULL;
		if (!next)
			break;
		char *abs = http_url_resolve(url, next);
		free(next);
		if (!abs || !http_same_origin(abs, first)) {
			tally_err_set(err, TC_VERIFY, "%s: Link to another host refused (%s)", url,
				      abs ? abs : "unparsable");
			free(abs);
			goto fail;
		}
		if (strv_contains(&seen, abs)) {
			tally_err_set(err, TC_VERIFY, "%s: Link points back at %s, already fetched", url, abs);
			free(abs);
			goto fail;
		}
		free(path);
		path = abs;
	}
	for (size_t i = 0; i < tags.n; i++)
		strv_push(out, tags.v[i]);
	ret = 0;
fail:
	json_decref(root);
	strv_free(&seen);
	strv_free(&tags);
	free(first);
	free(path);
	free(url);
	free(scope);
	http_reply_free(&rp);
	image_free(&im);
	return ret;
}

/* A blob by digest (an image config; never a layer: bodies are capped at
 * BODY_MAX). Registries may redirect blob GETs to storage elsewhere;
 * request() follows without sending credentials off the registry's host.
 * The body must hash to the digest asked for. */
int registry_get_blob(struct registry *r, const char *image, const char *digest,
		      struct sbuf *body, struct tally_err *err)
{
	struct http_reply rp = {0};
	struct call c = {.method = "GET", .accept = "Accept: */*"};
	char *url = NULL;
	char d[REGISTRY_DIGEST_MAX];
	int ret = -1;

	if (!sha256_digest_valid(digest))
		return tally_err_set(err, TC_INPUT, "\"%s\" is not a sha256 digest",
				     digest ? digest : "(null)");
	if (object_call(r, image, "blobs", digest, "pull", &c, &rp, &url, err) < 0)
		goto fail;
	sha256_digest_str(rp.body.buf ? rp.body.buf : "", rp.body.len, d);
	if (strcmp(d, digest) != 0) {
		tally_err_set(err, TC_VERIFY, "%s: blob body has digest %s", url, d);
		goto fail;
	}
	sbuf_reset(body);
	sbuf_add(body, rp.body.buf ? rp.body.buf : "", rp.body.len);
	ret = 0;
fail:
	free(url);
	http_reply_free(&rp);
	return ret;
}
