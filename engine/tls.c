/* tls.c - what tally's HTTPS requests trust (certs.d) and TLS failures as
 * class tls (see tls.h). No state; any thread. */
#include "tls.h"

#include <ctype.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *env_nonempty(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

static int is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

const char *tls_cert_dir_shown(const char *cert_dir)
{
	return cert_dir && *cert_dir ? cert_dir : TLS_DEFAULT_CERT_DIR;
}

static char *host_dir(const char *cert_dir, const char *host)
{
	if (cert_dir) {
		if (!*cert_dir)
			return NULL;
		char *d = xasprintf("%s/%s", cert_dir, host);
		if (is_dir(d))
			return d;
		free(d);
		return NULL;
	}
	struct strv cand = {0};
	const char *home = env_nonempty("HOME");
	if (geteuid() != 0 && home)
		strv_push_owned(&cand, xasprintf("%s/.config/containers/certs.d/%s", home, host));
	strv_push_owned(&cand, xasprintf("/etc/containers/certs.d/%s", host));
	strv_push_owned(&cand, xasprintf("/etc/docker/certs.d/%s", host));
	char *found = NULL;
	for (size_t i = 0; i < cand.n && !found; i++)
		if (is_dir(cand.v[i]))
			found = xstrdup(cand.v[i]);
	strv_free(&cand);
	return found;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int tls_trust_load(const char *cert_dir, const char *host, struct tls_trust *t,
		   struct tally_err *err)
{
	memset(t, 0, sizeof *t);
	/* a host is host[:port] or [v6]:port; nothing that walks out of the dir */
	if (!host || !*host || strchr(host, '/') || !strcmp(host, ".") || !strcmp(host, ".."))
		return 0;
	t->dir = host_dir(cert_dir, host);
	if (!t->dir)
		return 0;
	DIR *d = opendir(t->dir);
	if (!d)
		return tally_err_set(err, TC_INPUT, "%s: cannot read: %s", t->dir, strerror(errno));
	struct strv names = {0};
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			strv_push(&names, de->d_name);
	closedir(d);
	if (names.n)
		qsort(names.v, names.n, sizeof *names.v, cmp_str);
	int ret = 0;
	for (size_t i = 0; i < names.n && ret == 0; i++) {
		const char *n = names.v[i];
		char *p = xasprintf("%s/%s", t->dir, n);
		if (str_ends(n, ".crt")) {
			size_t before = t->extra.len;
			if (util_read_file(p, &t->extra, err) < 0) {
				ret = -1;
			} else if (!strstr(t->extra.buf + before, "-----BEGIN CERTIFICATE-----")) {
				ret = tally_err_set(err, TC_INPUT, "%s: not a PEM certificate", p);
			} else {
				sbuf_addc(&t->extra, '\n');
			}
		} else if (str_ends(n, ".cert") && !t->client_cert) {
			char *k = xasprintf("%s/%.*s.key", t->dir, (int)(strlen(n) - 5), n);
			if (is_file(k)) {
				t->client_cert = xstrdup(p);
				t->client_key = k;
				k = NULL;
			}
			free(k);
		}
		free(p);
	}
	strv_free(&names);
	return ret;
}

void tls_trust_apply(struct tls_trust *t, void *curl)
{
	CURL *h = curl;
	const char *file = env_nonempty("SSL_CERT_FILE");
	const char *dir = env_nonempty("SSL_CERT_DIR");
	if (dir)
		curl_easy_setopt(h, CURLOPT_CAPATH, dir);
	if (t && t->client_cert) {
		curl_easy_setopt(h, CURLOPT_SSLCERT, t->client_cert);
		curl_easy_setopt(h, CURLOPT_SSLKEY, t->client_key);
	}
	if (!t || !t->extra.len) {
		if (file)
			curl_easy_setopt(h, CURLOPT_CAINFO, file);
		return;
	}
	if (!t->built) {
		/* the blob replaces the bundle file: put the bundle in it too */
		char *bundle = NULL;
		if (!file)
			curl_easy_getinfo(h, CURLINFO_CAINFO, &bundle);
		const char *b = file ? file : bundle;
		if (b && util_read_file(b, &t->blob, NULL) < 0)
			sbuf_reset(&t->blob);
		sbuf_addc(&t->blob, '\n');
		sbuf_add(&t->blob, t->extra.buf, t->extra.len);
		t->built = 1;
	}
	struct curl_blob cb = {.data = t->blob.buf, .len = t->blob.len, .flags = CURL_BLOB_NOCOPY};
	curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &cb);
}

void tls_trust_free(struct tls_trust *t)
{
	free(t->dir);
	sbuf_free(&t->extra);
	sbuf_free(&t->blob);
	free(t->client_cert);
	free(t->client_key);
	memset(t, 0, sizeof *t);
}

static int is_tls_code(int rc)
{
	switch (rc) {
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_USE_SSL_FAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CLIENTCERT:
		return 1;
	default:
		return 0;
	}
}

int tls_curl_error(int curl_code, const char *detail, const char *url, const char *host,
		   const char *cert_dir, struct tally_err *err)
{
	if (!is_tls_code(curl_code))
		return 0;
	char why[256];
	snprintf(why, sizeof why, "%s",
		 detail && *detail ? detail : curl_easy_strerror((CURLcode)curl_code));
	for (char *p = why; *p; p++)
		if (!isprint((unsigned char)*p))
			*p = ' ';
	size_t n = strlen(why);
	while (n && why[n - 1] == ' ')
		why[--n] = '\0';
	const char *shown = tls_cert_dir_shown(cert_dir);
	int registry = !cert_dir || *cert_dir;
	if (!registry) {
		const char *w = why;
		if (str_starts(w, "SSL certificate problem: "))
			w += strlen("SSL certificate problem: ");
		if (strstr(why, "wrong version number") || strstr(why, "packet length too long"))
			return tally_err_set(err, TC_TLS, "%s: %s does not speak TLS there; use an "
					     "http:// URL or fix the server", url, host);
		return tally_err_set(err, TC_TLS, "%s: TLS with %s failed (%s); trust its CA in the "
				     "system store or through $SSL_CERT_FILE", url, host, w);
	}
	if (strstr(why, "wrong version number") || strstr(why, "packet length too long") ||
	    strstr(why, "http request"))
		return tally_err_set(err, TC_TLS,
				     "%s: %s does not speak TLS there (a plain-http registry?); set "
				     "registry.insecure = true for a plain-http registry, or give it TLS",
				     url, host);
	if (curl_code == CURLE_PEER_FAILED_VERIFICATION) {
		const char *w = why;
		if (str_starts(w, "SSL certificate problem: "))
			w += strlen("SSL certificate problem: ");
		return tally_err_set(err, TC_TLS,
				     "%s: the TLS certificate of %s is not trusted (%s); put the CA that "
				     "signed it in %s/%s/ca.crt (registry.certDir), or set "
				     "registry.insecure for a plain-http registry",
				     url, host, w, shown, host);
	}
	return tally_err_set(err, TC_TLS, "%s: TLS with %s failed (%s); check %s/%s", url, host, why,
			     shown, host);
}

int tls_curl_error_host(int curl_code, const char *detail, const char *url,
			struct tally_err *err)
{
	if (!is_tls_code(curl_code))
		return 0;
	const char *h = strstr(url, "://");
	h = h ? h + 3 : url;
	char host[256];
	snprintf(host, sizeof host, "%.*s", (int)strcspn(h, "/?#"), h);
	struct tally_err e = {0};
	tls_curl_error(curl_code, detail, url, host, "", &e);
	return tally_err_set(err, TC_TLS, "%s", e.msg);
}
