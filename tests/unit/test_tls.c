/* test_tls.c - certs.d trust (which directory, which files, bad files) and
 * libcurl TLS failures turned into class tls with readable messages. The
 * handshakes themselves are tested against real registries in
 * tests/integration/t_registry_tls.sh and test_registry.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tls.h"
#include "util.h"

static const char PEM[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void test_trust_files(void **state)
{
	(void)state;
	char dir[] = "/tmp/tally-tls-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char *host = xasprintf("%s/reg.example:5000", dir);
	assert_int_equal(util_mkdirs(host, 0700, NULL), 0);
	char *p;
	write_file((p = xasprintf("%s/b.crt", host)), PEM);
	free(p);
	write_file((p = xasprintf("%s/a.crt", host)), "# the first\n-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
	free(p);
	write_file((p = xasprintf("%s/client.cert", host)), PEM);
	free(p);
	write_file((p = xasprintf("%s/client.key", host)), "key");
	free(p);
	write_file((p = xasprintf("%s/lonely.cert", host)), PEM);   /* no .key: not used */
	free(p);
	write_file((p = xasprintf("%s/notes.txt", host)), "not a certificate");
	free(p);

	struct tls_trust t;
	struct tally_err err = {0};
	assert_int_equal(tls_trust_load(dir, "reg.example:5000", &t, &err), 0);
	assert_string_equal(t.dir, host);
	/* both .crt files, in name order; nothing else */
	const char *a = strstr(sbuf_str(&t.extra), "AAAA"), *b = strstr(sbuf_str(&t.extra), "MIIB");
	assert_non_null(a);
	assert_non_null(b);
	assert_true(a < b);
	assert_null(strstr(sbuf_str(&t.extra), "not a certificate"));
	p = xasprintf("%s/client.cert", host);
	assert_string_equal(t.client_cert, p);
	free(p);
	p = xasprintf("%s/client.key", host);
	assert_string_equal(t.client_key, p);
	free(p);

	/* applying builds a blob holding the system bundle and the extra PEMs */
	CURL *h = curl_easy_init();
	assert_non_null(h);
	unsetenv("SSL_CERT_FILE");
	tls_trust_apply(&t, h);
	assert_true(t.built);
	assert_true(t.blob.len > t.extra.len);
	assert_non_null(strstr(sbuf_str(&t.blob), "AAAA"));
	curl_easy_cleanup(h);
	tls_trust_free(&t);

	/* another host, or no certs.d for it: nothing extra */
	assert_int_equal(tls_trust_load(dir, "other.example", &t, &err), 0);
	assert_null(t.dir);
	assert_int_equal(t.extra.len, 0);
	tls_trust_free(&t);
	/* "" turns certs.d off; a host can never climb out of the directory */
	assert_int_equal(tls_trust_load("", "reg.example:5000", &t, &err), 0);
	assert_null(t.dir);
	tls_trust_free(&t);
	assert_int_equal(tls_trust_load(dir, "..", &t, &err), 0);
	assert_null(t.dir);
	tls_trust_free(&t);
	assert_int_equal(tls_trust_load(dir, "a/../reg.example:5000", &t, &err), 0);
	assert_null(t.dir);
	tls_trust_free(&t);

	/* a .crt that is not PEM is refused, naming it */
	write_file((p = xasprintf("%s/broken.crt", host)), "garbage");
	assert_int_equal(tls_trust_load(dir, "reg.example:5000", &t, &err), -1);
	assert_int_equal(err.cls, TC_INPUT);
	assert_non_null(strstr(err.msg, p));
	tls_trust_free(&t);
	free(p);

	free(host);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void test_errors(void **state)
{
	(void)state;
	struct tally_err err = {0};
	const char *url = "https://127.0.0.1:5000/v2/x/manifests/1";
	/* not a TLS code: untouched */
	assert_int_equal(tls_curl_error(CURLE_COULDNT_CONNECT, "refused", url, "127.0.0.1:5000", NULL, &err), 0);
	assert_int_equal(err.cls, TC_NONE);

	assert_int_equal(tls_curl_error(CURLE_PEER_FAILED_VERIFICATION,
					"SSL certificate problem: self-signed certificate in certificate chain",
					url, "127.0.0.1:5000", NULL, &err), -1);
	assert_int_equal(err.cls, TC_TLS);
	assert_non_null(strstr(err.msg, url));
	assert_non_null(strstr(err.msg, "not trusted (self-signed certificate in certificate chain)"));
	assert_non_null(strstr(err.msg, "/etc/containers/certs.d/127.0.0.1:5000/ca.crt"));

	assert_int_equal(tls_curl_error(CURLE_PEER_FAILED_VERIFICATION, "", url, "127.0.0.1:5000",
					"/srv/certs", &err), -1);
	assert_non_null(strstr(err.msg, "/srv/certs/127.0.0.1:5000/ca.crt"));

	/* https to a plain-http server: no OpenSSL text */
	assert_int_equal(tls_curl_error(CURLE_SSL_CONNECT_ERROR,
					"error:0A00010B:SSL routines::wrong version number", url,
					"127.0.0.1:5000", NULL, &err), -1);
	assert_int_equal(err.cls, TC_TLS);
	assert_non_null(strstr(err.msg, "does not speak TLS"));
	assert_non_null(strstr(err.msg, "registry.insecure = true"));
	assert_null(strstr(err.msg, "0A00010B"));

	/* not a registry: the advice is the system store, not certs.d */
	assert_int_equal(tls_curl_error_host(CURLE_PEER_FAILED_VERIFICATION,
					     "SSL certificate problem: unable to get local issuer certificate",
					     "https://files.example:8443/a/b.env", &err), -1);
	assert_int_equal(err.cls, TC_TLS);
	assert_non_null(strstr(err.msg, "files.example:8443"));
	assert_non_null(strstr(err.msg, "SSL_CERT_FILE"));
	assert_null(strstr(err.msg, "certs.d"));
	/* control characters from a peer never reach a message */
	assert_int_equal(tls_curl_error(CURLE_SSL_CONNECT_ERROR, "bad\x1b[2Jthing", url, "h", NULL, &err), -1);
	assert_null(strchr(err.msg, '\x1b'));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trust_files),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
