/* registry_priv.h - the registry client's state shared by registry.c (the
 * OCI API, scheme choice, redirects) and regauth.c (credentials, tokens,
 * auth challenges). Not for other modules: they use registry.h. A struct
 * registry belongs to one thread; nothing here is shared between threads. */
#ifndef TALLY_REGISTRY_PRIV_H
#define TALLY_REGISTRY_PRIV_H

#include "http.h"
#include "registry.h"
#include "tls.h"

#define REG_JSON_ACCEPT "Accept: application/json"

struct cred {
	char *key;            /* host "/" name, as looked up */
	char *basic;          /* base64(user:pass), NULL when none */
	char *identity_token; /* NULL when none */
	char *source;         /* auth file or helper, for messages */
};

struct token {
	char *key;   /* host " " scope */
	char *value;
};

struct host_state {
	char *host;
	const char *scheme; /* NULL until known */
	int basic;          /* host asked for Basic auth */
	int trust_loaded;
	struct tls_trust trust;
};

struct registry {
	struct http *http;     /* the transport, this thread's */
	int insecure;
	struct authfile *auth;
	char *auth_path;      /* file read, NULL when none was found */
	char *auth_shown;
	char *cert_dir;       /* NULL: the containers defaults */
	int cert_dir_set;
	long page_size;
	struct cred *creds;
	size_t ncreds;
	struct token *tokens;
	size_t ntokens;
	struct host_state *hosts;
	size_t nhosts;
};


struct image {
	char *host; /* normalised, with port */
	char *name; /* repository path */
};

struct call {
	const char *method;       /* GET HEAD PUT POST DELETE */
	const char *accept;       /* full header line or NULL */
	const char *content_type; /* media type for PUT and POST */
	const char *data;
	size_t len;
};


/* The state of host (created on first use). */
struct host_state *reg_host(struct registry *r, const char *host);
/* One transfer to url, no redirects, with the host's trust and authz (a
 * full Authorization value) when not NULL. */
int reg_perform(struct registry *r, const char *host, const struct call *c, const char *url,
		const char *authz, struct http_reply *rp, struct tally_err *err);
/* A value fit for one header line: no CR, LF or NUL. */
int reg_header_safe(const char *s);
/* Wipes and frees a secret. */
void reg_free_secret(char *s);

/* regauth.c */
/* Credentials for an image's host and repository, looked up once (a
 * credential helper runs at most once per host). *out is NULL when there
 * are none; -1 when a helper failed (TC_AUTH). */
int reg_cred_get(struct registry *r, const char *host, const char *name,
		 const struct cred **out, struct tally_err *err);
/* The auth file named in messages. */
const char *reg_auth_shown(struct registry *r);
/* The cached "Bearer ..." value for host and scope, or NULL. */
const char *reg_token_find(const struct registry *r, const char *host, const char *scope);
void reg_token_drop(struct registry *r, const char *host, const char *scope);
/* Answers the 401 in rp for url: Basic marks the host (credentials then go
 * with every request), Bearer fetches a token for scope. */
int reg_answer_challenge(struct registry *r, const struct image *im, const char *url,
			 const char *scope, const struct http_reply *rp, struct tally_err *err);

#endif
