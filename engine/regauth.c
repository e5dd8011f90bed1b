/* regauth.c - registry authentication: credentials from the auth file
 * (authfile.h) encoded for Basic, the WWW-Authenticate challenge, bearer
 * tokens fetched from the realm (GET with Basic, or POST of an identity
 * token) and cached per host and scope. Runs in the thread that owns the
 * struct registry; secrets are wiped when dropped and never enter a message. */
#include "registry_priv.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "authfile.h"
#include "base64.h"

/* Credentials for an image's host and repository, looked up once (a
 * credential helper runs at most once per host). *out is NULL when there
 * are none; -1 when a helper failed (TC_AUTH). */
int reg_cred_get(struct registry *r, const char *host, const char *name,
		    const struct cred **out, struct tally_err *err)
{
	char *key = xasprintf("%s/%s", host, name ? name : "");
	*out = NULL;
	for (size_t i = 0; i < r->ncreds; i++)
		if (!strcmp(r->creds[i].key, key)) {
			free(key);
			*out = r->creds[i].basic || r->creds[i].identity_token ? &r->creds[i] : NULL;
			return 0;
		}
	struct authfile_cred ac = {0};
	if (authfile_lookup(r->auth, host, name, &ac, err) < 0) {
		free(key);
		return -1;
	}
	r->creds = xrealloc(r->creds, (r->ncreds + 1) * sizeof *r->creds);
	struct cred *c = &r->creds[r->ncreds++];
	memset(c, 0, sizeof *c);
	c->key = key;
	if (ac.user) {
		struct sbuf up = {0}, b = {0};
		sbuf_addf(&up, "%s:%s", ac.user, ac.pass ? ac.pass : "");
		base64_encode(&b, up.buf, up.len);
		explicit_bzero(up.buf, up.len);
		sbuf_free(&up);
		c->basic = sbuf_detach(&b);
	}
	c->identity_token = xstrdup(ac.identity_token);
	c->source = xstrdup(ac.source);
	authfile_cred_clear(&ac);
	*out = c->basic || c->identity_token ? c : NULL;
	return 0;
}

/* The auth file named in messages. */
const char *reg_auth_shown(struct registry *r)
{
	if (!r->auth_path)
		return "no auth file";
	if (!r->auth_shown)
		r->auth_shown = authfile_exists(r->auth) ? xstrdup(r->auth_path)
			: xasprintf("%s (it does not exist)", r->auth_path);
	return r->auth_shown;
}


const char *reg_token_find(const struct registry *r, const char *host, const char *scope)
{
	size_t hl = strlen(host);
	for (size_t i = 0; i < r->ntokens; i++) {
		const char *k = r->tokens[i].key;
		if (!strncmp(k, host, hl) && k[hl] == ' ' && !strcmp(k + hl + 1, scope))
			return r->tokens[i].value;
	}
	return NULL;
}

static void reg_token_set(struct registry *r, const char *host, const char *scope, char *value)
{
	char *key = xasprintf("%s %s", host, scope);
	for (size_t i = 0; i < r->ntokens; i++) {
		if (!strcmp(r->tokens[i].key, key)) {
			free(key);
			reg_free_secret(r->tokens[i].value);
			r->tokens[i].value = value;
			return;
		}
	}
	r->tokens = xrealloc(r->tokens, (r->ntokens + 1) * sizeof *r->tokens);
	r->tokens[r->ntokens].key = key;
	r->tokens[r->ntokens].value = value;
	r->ntokens++;
}

void reg_token_drop(struct registry *r, const char *host, const char *scope)
{
	size_t hl = strlen(host);
	for (size_t i = 0; i < r->ntokens; i++) {
		const char *k = r->tokens[i].key;
		if (!strncmp(k, host, hl) && k[hl] == ' ' && !strcmp(k + hl + 1, scope)) {
			free(r->tokens[i].key);
			reg_free_secret(r->tokens[i].value);
			r->tokens[i] = r->tokens[--r->ntokens];
			return;
		}
	}
}


static const char *www_auth(const struct http_reply *rp)
{
	const char *first = http_reply_header(rp, "WWW-Authenticate", 0), *v;
	for (size_t i = 0; (v = http_reply_header(rp, "WWW-Authenticate", i)); i++)
		if (!strncasecmp(v, "Bearer", 6))
			return v;
	return first;
}


/* ---- auth ---- */

/* Parses `Scheme k="v", k2=v2` into the scheme and three known params. */
struct challenge {
	char scheme[16];
	char *realm, *service, *scope;
};

static void challenge_free(struct challenge *ch)
{
	free(ch->realm);
	free(ch->service);
	free(ch->scope);
}

static void challenge_parse(const char *s, struct challenge *ch)
{
	memset(ch, 0, sizeof *ch);
	size_t n = strcspn(s, " \t");
	snprintf(ch->scheme, sizeof ch->scheme, "%.*s", (int)(n < 15 ? n : 15), s);
	const char *p = s + n;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		const char *k = p;
		while (*p && *p != '=' && *p != ',' && *p != ' ')
			p++;
		size_t klen = (size_t)(p - k);
		if (*p != '=') {
			if (!klen)
				break;
			continue;
		}
		p++;
		struct sbuf v = {0};
		if (*p == '"') {
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1])
					p++;
				sbuf_addc(&v, *p);
			}
			if (*p == '"')
				p++;
		} else {
			while (*p && *p != ',' && *p != ' ')
				sbuf_addc(&v, *p++);
		}
		char **slot = NULL;
		if (klen == 5 && !strncasecmp(k, "realm", 5))
			slot = &ch->realm;
		else if (klen == 7 && !strncasecmp(k, "service", 7))
			slot = &ch->service;
		else if (klen == 5 && !strncasecmp(k, "scope", 5))
			slot = &ch->scope;
		if (slot) {
			free(*slot);
			*slot = v.buf ? sbuf_detach(&v) : xstrdup("");
		}
		sbuf_free(&v);
	}
}

static void form_add(struct sbuf *f, const char *k, const char *v)
{
	sbuf_addf(f, "%s%s=", f->len ? "&" : "", k);
	http_escape(f, v);
}

static int fetch_token(struct registry *r, const struct image *im, const struct challenge *ch,
		       const char *scope, struct tally_err *err)
{
	const struct cred *cr = NULL;
	struct call c = {.method = "GET", .accept = REG_JSON_ACCEPT};
	struct http_reply rp = {0};
	struct sbuf url = {0}, form = {0};
	json_t *root = NULL;
	char *authz = NULL;
	int ret = -1;

	if (reg_cred_get(r, im->host, im->name, &cr, err) < 0)
		goto out;
	if (!ch->realm || (!str_starts(ch->realm, "https://") && !str_starts(ch->realm, "http://"))) {
		tally_err_set(err, TC_AUTH, "%s: bearer challenge without an http(s) realm", im->host);
		goto out;
	}
	if (cr && str_starts(ch->realm, "http://") && !r->insecure) {
		tally_err_set(err, TC_AUTH,
			      "%s: refusing to send credentials to the plain-http token realm %s",
			      im->host, ch->realm);
		goto out;
	}
	const char *want = ch->scope && *ch->scope ? ch->scope : scope;
	sbuf_adds(&url, ch->realm);
	if (cr && cr->identity_token) {
		/* an identity token is an OAuth2 refresh token: POST it to the
		 * realm (as docker and containers/image do) */
		form_add(&form, "grant_type", "refresh_token");
		form_add(&form, "client_id", "tally");
		if (ch->service)
			form_add(&form, "service", ch->service);
		if (want && *want)
			form_add(&form, "scope", want);
		form_add(&form, "refresh_token", cr->identity_token);
		c.method = "POST";
		c.content_type = "application/x-www-form-urlencoded";
		c.data = form.buf;
		c.len = form.len;
	} else {
		char sep = strchr(ch->realm, '?') ? '&' : '?';
		if (ch->service) {
			sbuf_addf(&url, "%cservice=", sep);
			http_escape(&url, ch->service);
			sep = '&';
		}
		if (want && *want) {
			sbuf_addf(&url, "%cscope=", sep);
			http_escape(&url, want);
		}
		if (cr && cr->basic)
			authz = xasprintf("Basic %s", cr->basic);
	}
	if (reg_perform(r, im->host, &c, url.buf, authz, &rp, err) < 0)
		goto out;
	if (rp.status != 200) {
		if (cr)
			tally_err_set(err, TC_AUTH,
				      "%s: %ld fetching a registry token; check the credentials for %s "
				      "in %s (buildah login %s)", url.buf, rp.status, im->host,
				      cr->source ? cr->source : reg_auth_shown(r), im->host);
		else
			tally_err_set(err, TC_AUTH,
				      "%s: %ld fetching a registry token; no credentials for %s in %s "
				      "(buildah login %s, or set registry.authFile)", url.buf, rp.status,
				      im->host, reg_auth_shown(r), im->host);
		goto out;
	}
	json_error_t je;
	root = json_loadb(rp.body.buf ? rp.body.buf : "", rp.body.len, 0, &je);
	json_t *t = json_object_get(root, "token");
	if (!json_is_string(t) || !json_string_length(t))
		t = json_object_get(root, "access_token");
	if (!json_is_string(t) || !reg_header_safe(json_string_value(t))) {
		tally_err_set(err, TC_VERIFY, "%s: token answer has no \"token\" or \"access_token\"",
			      url.buf);
		goto out;
	}
	char *tok = xasprintf("Bearer %s", json_string_value(t));
	reg_token_set(r, im->host, scope, tok);
	ret = 0;
out:
	json_decref(root);
	if (rp.body.buf)
		explicit_bzero(rp.body.buf, rp.body.len);
	http_reply_free(&rp);
	sbuf_free(&url);
	if (form.buf)
		explicit_bzero(form.buf, form.len);
	sbuf_free(&form);
	reg_free_secret(authz);
	return ret;
}

int reg_answer_challenge(struct registry *r, const struct image *im, const char *url,
			    const char *scope, const struct http_reply *rp, struct tally_err *err)
{
	struct challenge ch;
	int ret = -1;
	const char *wa = www_auth(rp);
	if (!wa)
		return tally_err_set(err, TC_AUTH, "%s: 401 unauthorized without a challenge", url);
	challenge_parse(wa, &ch);
	if (!strcasecmp(ch.scheme, "Basic")) {
		const struct cred *cr = NULL;
		if (reg_cred_get(r, im->host, im->name, &cr, err) < 0)
			goto out;
		if (!cr || !cr->basic) {
			tally_err_set(err, TC_AUTH,
				      "%s: 401 unauthorized; no credentials for %s in %s "
				      "(buildah login %s, or set registry.authFile)", url, im->host,
				      reg_auth_shown(r), im->host);
			goto out;
		}
		reg_host(r, im->host)->basic = 1;
		ret = 0;
	} else if (!strcasecmp(ch.scheme, "Bearer")) {
		ret = fetch_token(r, im, &ch, scope, err);
	} else {
		tally_err_set(err, TC_AUTH, "%s: 401 with unsupported auth scheme \"%s\"", url, ch.scheme);
	}
out:
	challenge_free(&ch);
	return ret;
}

