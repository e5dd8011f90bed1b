/* gitcerts.c - libgit2's CA bundle read on first TLS use, not at start.
 *
 * Debian's libgit2 (1.5, built with mbedTLS) parses the whole system CA
 * bundle inside git_libgit2_init (about 5 ms, ~140 certificates), although
 * nearly every tally process never opens a TLS connection through libgit2
 * (only fetch and push to an https remote do). libgit2 has no option to
 * skip or defer it, so this file interposes the two mbedTLS functions
 * libgit2 calls through the dynamic linker: a definition in the executable
 * comes before the one in libmbedx509.so and libmbedtls.so.
 *
 *   mbedtls_x509_crt_parse_file: remembers the chain and the path and
 *     returns 0 (the chain stays empty for now); libgit2 installs that
 *     chain as its trust anchors as before.
 *   mbedtls_ssl_setup: the first TLS session, before any handshake, parses
 *     what was remembered into that same chain, then calls the real one.
 *
 * So the bundle is read once, by the first libgit2 TLS connection, and a
 * handshake sees the same trust anchors. When libgit2 uses OpenSSL, or has
 * mbedTLS linked in statically, these are never called. Nothing else in
 * tally uses mbedTLS (libcurl uses OpenSSL).
 *
 * Threads: any thread may open a TLS connection; the mutex makes the
 * deferred parse happen once, before the first setup returns. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* the mbedTLS types stay opaque: no mbedTLS headers needed */
int mbedtls_x509_crt_parse_file(void *chain, const char *path);
int mbedtls_ssl_setup(void *ssl, const void *conf);
void gitcerts_link(void);

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static void *pending_chain;      /* the chain libgit2 installed, still empty */
static char **pending_paths;     /* what to parse into it, in order */
static size_t npending;

typedef int (*parse_fn)(void *, const char *);
typedef int (*setup_fn)(void *, const void *);

static parse_fn real_parse(void)
{
	static parse_fn fn;
	if (!fn)
		*(void **)&fn = dlsym(RTLD_NEXT, "mbedtls_x509_crt_parse_file");
	return fn;
}

static void drop_pending(void)
{
	for (size_t i = 0; i < npending; i++)
		free(pending_paths[i]);
	free(pending_paths);
	pending_paths = NULL;
	npending = 0;
	pending_chain = NULL;
}

int mbedtls_x509_crt_parse_file(void *chain, const char *path)
{
	parse_fn real = real_parse();
	if (!real)
		return -1;
	pthread_mutex_lock(&mu);
	/* another chain: libgit2 replaced (and freed) the one remembered */
	if (pending_chain != chain)
		drop_pending();
	char *copy = path ? strdup(path) : NULL;
	char **more = copy ? realloc(pending_paths, (npending + 1) * sizeof *more) : NULL;
	if (!more) {
		free(copy);
		pthread_mutex_unlock(&mu);
		return real(chain, path);
	}
	pending_paths = more;
	pending_chain = chain;
	pending_paths[npending++] = copy;   /* a directory's files come one by one */
	pthread_mutex_unlock(&mu);
	return 0;
}

int mbedtls_ssl_setup(void *ssl, const void *conf)
{
	static setup_fn fn;
	pthread_mutex_lock(&mu);
	for (size_t i = 0; pending_chain && i < npending; i++)
		(void)real_parse()(pending_chain, pending_paths[i]);   /* failed: fewer trust anchors, as before */
	drop_pending();
	if (!fn)
		*(void **)&fn = dlsym(RTLD_NEXT, "mbedtls_ssl_setup");
	pthread_mutex_unlock(&mu);
	return fn ? fn(ssl, conf) : -1;
}

/* repo.c calls this so that the linker takes this file out of the static
 * library (nothing else names it). */
void gitcerts_link(void)
{
}
