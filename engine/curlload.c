/* curlload.c - libcurl loaded on first use, not at start.
 *
 * libcurl.so.4 and the libraries it needs (OpenSSL, GnuTLS for RTMP,
 * Kerberos, LDAP, SASL, nghttp2, libssh2, libpsl, libidn2, brotli, zstd:
 * about thirty shared objects) cost every tally process several
 * milliseconds to map and relocate, although most commands (status,
 * history, logs, attempts, shipped, holds) never make an HTTP request.
 * So tally does not link libcurl: this file defines the libcurl functions
 * tally calls, and the first call of any of them opens libcurl.so.4
 * (dlopen) and looks them all up; from then on each forwards to libcurl.
 * curl.h is the contract: the definitions below are its declarations, and
 * the variadic ones pass their one argument on with the type curl.h's
 * option numbering gives it (as libcurl itself reads it).
 *
 * When libcurl cannot be opened, tally says so once on stderr and every
 * call fails the way libcurl reports failures (NULL, CURLE_FAILED_INIT,
 * CURLUE_OUT_OF_MEMORY), so an HTTP request fails with a message instead
 * of the process dying at start.
 *
 * Threads: any thread may make the first call; pthread_once loads once,
 * and the function pointers are only read after it. */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

#include "curlload.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

#ifndef TALLY_LIBCURL_SONAME
#define TALLY_LIBCURL_SONAME "libcurl.so.4"
#endif

static pthread_once_t once = PTHREAD_ONCE_INIT;

#define FN(ret, name, args) static ret (*p_##name) args;
#define CURL_FNS                                                                             \
	FN(CURLcode, curl_global_init, (long))                                               \
	FN(void, curl_global_cleanup, (void))                                                \
	FN(CURL *, curl_easy_init, (void))                                                   \
	FN(void, curl_easy_cleanup, (CURL *))                                                \
	FN(void, curl_easy_reset, (CURL *))                                                  \
	FN(CURLcode, curl_easy_perform, (CURL *))                                            \
	FN(CURLcode, curl_easy_setopt, (CURL *, CURLoption, ...))                            \
	FN(CURLcode, curl_easy_getinfo, (CURL *, CURLINFO, ...))                             \
	FN(const char *, curl_easy_strerror, (CURLcode))                                     \
	FN(void, curl_free, (void *))                                                        \
	FN(time_t, curl_getdate, (const char *, const time_t *))                             \
	FN(CURLSH *, curl_share_init, (void))                                                \
	FN(CURLSHcode, curl_share_setopt, (CURLSH *, CURLSHoption, ...))                     \
	FN(struct curl_slist *, curl_slist_append, (struct curl_slist *, const char *))      \
	FN(void, curl_slist_free_all, (struct curl_slist *))                                 \
	FN(CURLU *, curl_url, (void))                                                        \
	FN(void, curl_url_cleanup, (CURLU *))                                                \
	FN(CURLUcode, curl_url_get, (CURLU *, CURLUPart, char **, unsigned int))              \
	FN(CURLUcode, curl_url_set, (CURLU *, CURLUPart, const char *, unsigned int))
CURL_FNS
#undef FN

static void load(void)
{
	void *h = dlopen(TALLY_LIBCURL_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "tally: cannot load %s (HTTP requests fail): %s\n", TALLY_LIBCURL_SONAME, dlerror());
		return;
	}
	int missing = 0;
#define FN(ret, name, args) missing |= !(*(void **)&p_##name = dlsym(h, #name));
	CURL_FNS
#undef FN
	if (missing) {
		fprintf(stderr, "tally: %s lacks functions tally needs (HTTP requests fail)\n", TALLY_LIBCURL_SONAME);
#define FN(ret, name, args) p_##name = NULL;
		CURL_FNS
#undef FN
	}
}

#define LOADED(name) (pthread_once(&once, load), p_##name != NULL)

void curl_preload(void)
{
	pthread_once(&once, load);
}

CURLcode curl_global_init(long flags)
{
	return LOADED(curl_global_init) ? p_curl_global_init(flags) : CURLE_FAILED_INIT;
}

void curl_global_cleanup(void)
{
	if (LOADED(curl_global_cleanup))
		p_curl_global_cleanup();
}

CURL *curl_easy_init(void)
{
	return LOADED(curl_easy_init) ? p_curl_easy_init() : NULL;
}

void curl_easy_cleanup(CURL *c)
{
	if (LOADED(curl_easy_cleanup))
		p_curl_easy_cleanup(c);
}

void curl_easy_reset(CURL *c)
{
	if (LOADED(curl_easy_reset))
		p_curl_easy_reset(c);
}

CURLcode curl_easy_perform(CURL *c)
{
	return LOADED(curl_easy_perform) ? p_curl_easy_perform(c) : CURLE_FAILED_INIT;
}

/* The argument's type follows from the option's number, as in libcurl's
 * own setopt: long, pointer (object, string, list, callback data),
 * function pointer, curl_off_t, or a struct curl_blob pointer. */
CURLcode curl_easy_setopt(CURL *c, CURLoption opt, ...)
{
	if (!LOADED(curl_easy_setopt))
		return CURLE_FAILED_INIT;
	va_list ap;
	va_start(ap, opt);
	CURLcode rc;
	if (opt < CURLOPTTYPE_OBJECTPOINT)
		rc = p_curl_easy_setopt(c, opt, va_arg(ap, long));
	else if (opt < CURLOPTTYPE_FUNCTIONPOINT)
		rc = p_curl_easy_setopt(c, opt, va_arg(ap, void *));
	else if (opt < CURLOPTTYPE_OFF_T)
		rc = p_curl_easy_setopt(c, opt, va_arg(ap, void (*)(void)));
	else if (opt < CURLOPTTYPE_BLOB)
		rc = p_curl_easy_setopt(c, opt, va_arg(ap, curl_off_t));
	else
		rc = p_curl_easy_setopt(c, opt, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

/* Every CURLINFO takes a pointer to where the answer goes. */
CURLcode curl_easy_getinfo(CURL *c, CURLINFO info, ...)
{
	if (!LOADED(curl_easy_getinfo))
		return CURLE_FAILED_INIT;
	va_list ap;
	va_start(ap, info);
	CURLcode rc = p_curl_easy_getinfo(c, info, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

const char *curl_easy_strerror(CURLcode code)
{
	return LOADED(curl_easy_strerror) ? p_curl_easy_strerror(code) : "libcurl could not be loaded";
}

void curl_free(void *p)
{
	if (LOADED(curl_free))
		p_curl_free(p);
}

time_t curl_getdate(const char *p, const time_t *unused)
{
	return LOADED(curl_getdate) ? p_curl_getdate(p, unused) : (time_t)-1;
}

CURLSH *curl_share_init(void)
{
	return LOADED(curl_share_init) ? p_curl_share_init() : NULL;
}

/* SHARE and UNSHARE take a curl_lock_data (an int), the lock functions a
 * function pointer, USERDATA a pointer. */
CURLSHcode curl_share_setopt(CURLSH *sh, CURLSHoption opt, ...)
{
	if (!LOADED(curl_share_setopt))
		return CURLSHE_NOT_BUILT_IN;
	va_list ap;
	va_start(ap, opt);
	CURLSHcode rc;
	if (opt == CURLSHOPT_SHARE || opt == CURLSHOPT_UNSHARE)
		rc = p_curl_share_setopt(sh, opt, va_arg(ap, int));
	else if (opt == CURLSHOPT_LOCKFUNC || opt == CURLSHOPT_UNLOCKFUNC)
		rc = p_curl_share_setopt(sh, opt, va_arg(ap, void (*)(void)));
	else
		rc = p_curl_share_setopt(sh, opt, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

struct curl_slist *curl_slist_append(struct curl_slist *l, const char *s)
{
	return LOADED(curl_slist_append) ? p_curl_slist_append(l, s) : NULL;
}

void curl_slist_free_all(struct curl_slist *l)
{
	if (LOADED(curl_slist_free_all))
		p_curl_slist_free_all(l);
}

CURLU *curl_url(void)
{
	return LOADED(curl_url) ? p_curl_url() : NULL;
}

void curl_url_cleanup(CURLU *u)
{
	if (LOADED(curl_url_cleanup))
		p_curl_url_cleanup(u);
}

CURLUcode curl_url_get(CURLU *u, CURLUPart what, char **part, unsigned int flags)
{
	return LOADED(curl_url_get) ? p_curl_url_get(u, what, part, flags) : CURLUE_OUT_OF_MEMORY;
}

CURLUcode curl_url_set(CURLU *u, CURLUPart what, const char *part, unsigned int flags)
{
	return LOADED(curl_url_set) ? p_curl_url_set(u, what, part, flags) : CURLUE_OUT_OF_MEMORY;
}
