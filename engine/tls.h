/* tls.h - what tally's own HTTPS requests trust, and TLS failures as class
 * tls (SPEC sections 4 and 6).
 *
 * For a registry HOST[:PORT]: the system CAs plus every DIR/HOST[:PORT]/NAME.crt,
 * where DIR is registry.certDir, or, when that is unset, the first existing
 * of ~/.config/containers/certs.d (not for root), /etc/containers/certs.d and
 * /etc/docker/certs.d (where buildah looks; containers-certs.d(5)). A
 * NAME.cert with its NAME.key in the same directory is sent as the client
 * certificate. $SSL_CERT_FILE replaces the system bundle and $SSL_CERT_DIR
 * the system directory, as for Go programs like buildah. The extra CAs are
 * handed to libcurl as one PEM blob (CURLOPT_CAINFO_BLOB: the bundle and
 * the extra files), so the system CAs stay trusted. */
#ifndef TALLY_TLS_H
#define TALLY_TLS_H

#include "err.h"
#include "util.h"

#define TLS_DEFAULT_CERT_DIR "/etc/containers/certs.d"

struct tls_trust {
	char *dir;            /* the HOST directory used, NULL when none */
	struct sbuf extra;    /* PEM text of its *.crt files */
	struct sbuf blob;     /* bundle + extra, built on first use */
	int built;
	char *client_cert, *client_key;
};

/* Reads the trust for host. cert_dir NULL: the containers defaults above;
 * "": none (upstreams that are not registries: only $SSL_CERT_*). An
 * unreadable *.crt fails (TC_INPUT, naming it). */
int tls_trust_load(const char *cert_dir, const char *host, struct tls_trust *t,
		   struct tally_err *err);
/* Sets the CA options on a CURL easy handle (void * keeps curl.h out). */
void tls_trust_apply(struct tls_trust *t, void *curl);
void tls_trust_free(struct tls_trust *t);

/* The certs.d directory named in hints: cert_dir, else the default. */
const char *tls_cert_dir_shown(const char *cert_dir);

/* When curl_code is a TLS failure, sets err (class TC_TLS, a readable
 * message naming url and what to do) and returns -1; else returns 0 and
 * leaves err alone. detail is curl's error buffer (may be empty). */
int tls_curl_error(int curl_code, const char *detail, const char *url, const char *host,
		   const char *cert_dir, struct tally_err *err);

/* The same for a URL that is not a registry's (upstreams): the host is
 * taken from url and the advice names $SSL_CERT_FILE, not certs.d. */
int tls_curl_error_host(int curl_code, const char *detail, const char *url,
			struct tally_err *err);

#endif
