/* fuzz_servers.c - the loopback servers of fuzz.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fuzz.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char *http_resp, *unix_data;
static size_t http_len, unix_len;

static void set(char **buf, size_t *blen, const char *data, size_t len)
{
	pthread_mutex_lock(&mu);
	free(*buf);
	*buf = malloc(len + 1);
	memcpy(*buf, data, len);
	*blen = len;
	pthread_mutex_unlock(&mu);
}

void fuzz_http_set(const char *resp, size_t len)
{
	set(&http_resp, &http_len, resp, len);
}

void fuzz_unix_set(const char *data, size_t len)
{
	set(&unix_data, &unix_len, data, len);
}

static void send_copy(int c, char **buf, size_t *blen)
{
	pthread_mutex_lock(&mu);
	size_t len = *blen;
	char *copy = malloc(len + 1);
	if (len)
		memcpy(copy, *buf, len);
	pthread_mutex_unlock(&mu);
	size_t off = 0;
	while (off < len) {
		ssize_t n = send(c, copy + off, len - off, MSG_NOSIGNAL);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	free(copy);
}

/* reads until the end of the request headers (or the first line) */
static void read_request(int c, const char *end)
{
	char buf[4096];
	size_t have = 0;
	while (have < sizeof buf - 1) {
		ssize_t n = recv(c, buf + have, sizeof buf - 1 - have, 0);
		if (n <= 0)
			return;
		have += (size_t)n;
		buf[have] = '\0';
		if (strstr(buf, end))
			return;
	}
}

static void *http_main(void *arg)
{
	int l = (int)(intptr_t)arg;
	for (;;) {
		int c = accept(l, NULL, NULL);
		if (c < 0)
			continue;
		read_request(c, "\r\n\r\n");
		send_copy(c, &http_resp, &http_len);
		shutdown(c, SHUT_WR);
		close(c);
	}
	return NULL;
}

static void *unix_main(void *arg)
{
	int l = (int)(intptr_t)arg;
	for (;;) {
		int c = accept(l, NULL, NULL);
		if (c < 0)
			continue;
		read_request(c, "\n");
		send_copy(c, &unix_data, &unix_len);
		shutdown(c, SHUT_WR);
		close(c);
	}
	return NULL;
}

int fuzz_http_start(void)
{
	static int port;
	if (port)
		return port;
	signal(SIGPIPE, SIG_IGN);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t slen = sizeof sa;
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(l, 64) < 0 ||
	    getsockname(l, (struct sockaddr *)&sa, &slen) < 0)
		abort();
	port = ntohs(sa.sin_port);
	pthread_t t;
	pthread_create(&t, NULL, http_main, (void *)(intptr_t)l);
	pthread_detach(t);
	return port;
}

static char path[108];

static void unlink_path(void)
{
	unlink(path);
}

const char *fuzz_unix_start(void)
{
	if (path[0])
		return path;
	signal(SIGPIPE, SIG_IGN);
	snprintf(path, sizeof path, "/tmp/tally-fuzz-%ld.sock", (long)getpid());
	unlink(path);
	atexit(unlink_path);
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(l, 64) < 0)
		abort();
	pthread_t t;
	pthread_create(&t, NULL, unix_main, (void *)(intptr_t)l);
	pthread_detach(t);
	return path;
}
