/* fuzz_server.c - socket lines read by the engine side: a real engine
 * (engine_open on a scratch versions repo with one manual component) and
 * its real server on a UNIX socket. Each input is sent after a control
 * hello, followed by a status command as a sentinel; every line that comes
 * back must be a JSON object with an "event", and the sentinel must be
 * answered (the server keeps serving whatever came before). */
#include <ftw.h>
#include <git2.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "engine.h"
#include "fuzz.h"
#include "server.h"

static struct engine *eng;
static struct server *srv;
static const char *sock;

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		abort();
}

static char dir[] = "/tmp/tally-fuzz-server-XXXXXX";
static char state[600];

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path) < 0 ? 0 : 0;
}

/* the scratch repo and state dir go when the process ends */
static void teardown(void)
{
	if (srv)
		server_free(srv);
	if (eng) {
		engine_shutdown(eng, 0);
		engine_free(eng);
	}
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	nftw(state, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void setup(void)
{
	if (!mkdtemp(dir))
		abort();
	git_libgit2_init();
	git_repository *repo = NULL;
	if (git_repository_init(&repo, dir, 0) < 0)
		abort();
	write_file(dir, "tally.conf",
		   "[tally]\n\tschedule = 0 0 1 1 *\n"
		   "[component \"a\"]\n\tfile = a.txt\n\tupstream = manual\n\tbuild = true\n\tpush = true\n"
		   "[component \"b\"]\n\tfile = b.txt\n\tupstream = manual\n\tbuild = false\n");
	write_file(dir, "a.txt", "a=v1.0.0\n");
	write_file(dir, "b.txt", "b=v2.0.0\n");
	git_index *idx = NULL;
	git_oid tree_id, commit_id;
	git_tree *tree = NULL;
	git_signature *sig = NULL;
	if (git_repository_index(&idx, repo) < 0 || git_index_add_bypath(idx, "tally.conf") < 0 ||
	    git_index_add_bypath(idx, "a.txt") < 0 || git_index_add_bypath(idx, "b.txt") < 0 ||
	    git_index_write(idx) < 0 || git_index_write_tree(&tree_id, idx) < 0 ||
	    git_tree_lookup(&tree, repo, &tree_id) < 0 ||
	    git_signature_now(&sig, "fuzz", "fuzz@example.invalid") < 0 ||
	    git_commit_create_v(&commit_id, repo, "HEAD", sig, sig, NULL, "seed", tree, 0) < 0)
		abort();
	git_signature_free(sig);
	git_tree_free(tree);
	git_index_free(idx);
	git_repository_free(repo);

	snprintf(state, sizeof state, "%s.state", dir);
	atexit(teardown);
	static struct engine_opts o;
	o.dir = dir;
	o.state_dir = strdup(state);
	struct tally_err err = {0};
	int busy = 0;
	if (engine_open(&o, &eng, &busy, &err) < 0 || engine_start(eng) < 0) {
		fprintf(stderr, "fuzz_server: %s\n", err.msg);
		abort();
	}
	struct server_opts so = {.socket_path = engine_socket_path(eng)};
	if (server_start(eng, &so, &srv, &err) < 0) {
		fprintf(stderr, "fuzz_server: %s\n", err.msg);
		abort();
	}
	sock = engine_socket_path(eng);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!eng)
		setup();
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		abort();
	struct sbuf out = {0};
	sbuf_adds(&out, "{\"hello\":1,\"mode\":\"control\"}\n");
	sbuf_add(&out, (const char *)data, size);
	sbuf_adds(&out, "\n{\"id\":424242,\"cmd\":\"status\"}\n");
	size_t off = 0;
	while (off < out.len) {
		ssize_t n = send(fd, out.buf + off, out.len - off, MSG_NOSIGNAL);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	sbuf_free(&out);
	/* read until the sentinel is done, the server closes, or 10 s */
	struct sbuf in = {0};
	int done = 0, closed = 0;
	json_int_t sentinel_job = -1;
	for (int waited = 0; !done && !closed && waited < 10000;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r = poll(&p, 1, 100);
		if (r == 0) {
			waited += 100;
			continue;
		}
		char buf[65536];
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		if (n <= 0) {
			closed = 1;
			break;
		}
		sbuf_add(&in, buf, (size_t)n);
		char *start = in.buf, *nl;
		while ((nl = memchr(start, '\n', in.len - (size_t)(start - in.buf)))) {
			json_error_t je;
			json_t *ev = json_loadb(start, (size_t)(nl - start), 0, &je);
			FUZZ_REQUIRE(json_is_object(ev) && json_is_string(json_object_get(ev, "event")),
				     "the server sent a line that is not an event: %.*s", (int)(nl - start), start);
			const char *name = json_string_value(json_object_get(ev, "event"));
			if (getenv("TALLY_FUZZ_DEBUG"))
				fprintf(stderr, "< %.*s\n", (int)(nl - start) > 160 ? 160 : (int)(nl - start), start);
			json_t *id = json_object_get(ev, "id");
			if (strcmp(name, "accepted") == 0 && json_integer_value(id) == 424242)
				sentinel_job = json_integer_value(json_object_get(ev, "job"));
			if (strcmp(name, "done") == 0 && sentinel_job >= 0 &&
			    (json_integer_value(id) == 424242 || json_integer_value(id) == sentinel_job))
				done = 1;
			json_decref(ev);
			start = nl + 1;
		}
		size_t rest = in.len - (size_t)(start - in.buf);
		memmove(in.buf, start, rest);
		in.len = rest;
	}
	if (getenv("TALLY_FUZZ_DEBUG"))
		fprintf(stderr, "-- done %d closed %d\n", done, closed);
	sbuf_free(&in);
	close(fd);
	return 0;
}
