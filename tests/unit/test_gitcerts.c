/* Unit tests for gitcerts.c (libgit2's CA bundle read on first TLS use):
 * against a real TLS server on loopback (openssl s_server with a CA made
 * here by the openssl command), a libgit2 connection whose CA file was set
 * after git_libgit2_init still verifies the server with it (the deferred
 * parse happens before the handshake), and one with another CA is refused
 * as a certificate error (the trust anchors are the file's, not none or
 * all). Skipped when the openssl command is missing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <git2.h>

#include "util.h"

void gitcerts_link(void);

static char dir[64];

/* runs argv (no shell); 0 when it exited 0 */
static int run(char *const argv[])
{
	pid_t pid = fork();
	if (pid == 0) {
		int nul = open("/dev/null", O_WRONLY);
		dup2(nul, 1);
		dup2(nul, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static char *path_in(const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

/* a CA and a server certificate for CN=127.0.0.1 signed by it */
static int make_ca(const char *name)
{
	char *key = xasprintf("%s/%s.key", dir, name), *crt = xasprintf("%s/%s.crt", dir, name);
	char *subj = xasprintf("/CN=tally test %s", name);
	char *argv[] = {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", crt,
			"-days", "2", "-subj", subj, "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
			"keyUsage=critical,keyCertSign,cRLSign", NULL};
	int rc = run(argv);
	free(key);
	free(crt);
	free(subj);
	return rc;
}

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sa;
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		return -1;
	close(fd);
	return ntohs(sa.sin_port);
}

static int can_connect(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/* libgit2's error of connecting to url with only ca_file trusted */
static int connect_with(const char *url, const char *ca_file, int *klass)
{
	assert_int_equal(git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, ca_file, NULL), 0);
	git_remote *r = NULL;
	assert_int_equal(git_remote_create_detached(&r, url), 0);
	int rc = git_remote_connect(r, GIT_DIRECTION_FETCH, NULL, NULL, NULL);
	const git_error *e = git_error_last();
	*klass = e ? e->klass : 0;
	git_remote_free(r);
	return rc;
}

static void test_deferred_bundle_verifies(void **st)
{
	(void)st;
	char *none[] = {"openssl", "version", NULL};
	if (run(none) < 0)
		skip();
	snprintf(dir, sizeof dir, "/tmp/tally-test-gitcerts-XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_int_equal(make_ca("ca"), 0);
	assert_int_equal(make_ca("other"), 0);
	char *ca_key = path_in("ca.key"), *ca_crt = path_in("ca.crt"), *srv_key = path_in("srv.key"),
	     *srv_csr = path_in("srv.csr"), *srv_crt = path_in("srv.crt"), *other = path_in("other.crt");
	char *req[] = {"openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", srv_key, "-out", srv_csr,
		       "-subj", "/CN=127.0.0.1", NULL};
	assert_int_equal(run(req), 0);
	char *sign[] = {"openssl", "x509", "-req", "-in", srv_csr, "-CA", ca_crt, "-CAkey", ca_key,
			"-CAcreateserial", "-out", srv_crt, "-days", "2", NULL};
	assert_int_equal(run(sign), 0);
	int port = free_port();
	assert_true(port > 0);
	char *accept = xasprintf("127.0.0.1:%d", port);
	pid_t srv = fork();
	if (srv == 0) {
		int nul = open("/dev/null", O_RDWR);
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
		char *argv[] = {"openssl", "s_server", "-accept", accept, "-cert", srv_crt, "-key", srv_key,
				"-www", "-quiet", NULL};
		execvp(argv[0], argv);
		_exit(127);
	}
	for (int i = 0; i < 100 && !can_connect(port); i++)
		usleep(50000);
	assert_true(can_connect(port));

	gitcerts_link();
	git_libgit2_init();   /* the system bundle is only remembered here */
	char *url = xasprintf("https://127.0.0.1:%d/r.git", port);
	int klass = 0;
	/* trusted: the handshake passes; s_server -www answers a page, not git */
	int rc = connect_with(url, ca_crt, &klass);
	assert_int_not_equal(rc, 0);
	assert_int_not_equal(rc, GIT_ECERTIFICATE);
	assert_int_not_equal(klass, GIT_ERROR_SSL);
	/* another CA: refused as a certificate error */
	rc = connect_with(url, other, &klass);
	assert_int_equal(rc, GIT_ECERTIFICATE);
	/* and trusted again: the file set last is the one parsed */
	rc = connect_with(url, ca_crt, &klass);
	assert_int_not_equal(rc, GIT_ECERTIFICATE);
	git_libgit2_shutdown();

	kill(srv, SIGTERM);
	waitpid(srv, NULL, 0);
	const char *names[] = {"ca.key", "ca.crt", "ca.srl", "other.key", "other.crt", "srv.key", "srv.csr", "srv.crt"};
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		char *p = path_in(names[i]);
		unlink(p);
		free(p);
	}
	rmdir(dir);
	free(url);
	free(accept);
	free(ca_key);
	free(ca_crt);
	free(srv_key);
	free(srv_csr);
	free(srv_crt);
	free(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deferred_bundle_verifies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
