/* client.c - a front end's connection to an engine, in-process or over the
 * socket (see client.h). One client per thread. */
#include "client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "protocol.h"
#include "server.h"
#include "util.h"

struct client {
	struct engine *e;          /* local */
	struct server *srv;        /* tap: in-process, through the server (client_tap) */
	int fd;                    /* remote */
	struct sbuf in;
	json_t *queue;             /* events read ahead (remote), from qhead on */
	size_t qhead;
	long long next_id;
	int gone;
	json_t *hello;
};

json_t *client_hello(const struct client *c)
{
	return c->hello;
}

/* a client without a socket, greeted with e's description */
static struct client *client_in_process(struct engine *e)
{
	struct client *c = xcalloc(1, sizeof *c);
	c->fd = -1;
	c->next_id = 1;
	c->hello = engine_describe(e);
	return c;
}

struct client *client_local(struct engine *e)
{
	struct client *c = client_in_process(e);
	c->e = e;
	return c;
}

struct client *client_tap(struct server *s, struct engine *e)
{
	struct client *c = client_in_process(e);
	c->srv = s;
	return c;
}

int client_is_remote(const struct client *c)
{
	return c->e == NULL;
}

static int send_line(struct client *c, json_t *msg)
{
	char *s = json_dumps(msg, JSON_COMPACT);
	struct sbuf sb = {0};
	sbuf_adds(&sb, s);
	sbuf_addc(&sb, '\n');
	free(s);
	size_t off = 0;
	int rc = 0;
	while (off < sb.len) {
		ssize_t n = send(c->fd, sb.buf + off, sb.len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = -1;
			break;
		}
		off += (size_t)n;
	}
	sbuf_free(&sb);
	return rc;
}

/* Reads whatever is there (waiting up to timeout_ms for the first byte) and
 * queues complete lines as events. */
static void fill(struct client *c, int timeout_ms)
{
	if (c->gone)
		return;
	struct pollfd p = {.fd = c->fd, .events = POLLIN};
	int r = poll(&p, 1, timeout_ms);
	if (r <= 0)
		return;
	char buf[65536];
	ssize_t n = read(c->fd, buf, sizeof buf);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		c->gone = 1;
		json_array_append_new(c->queue, json_pack("{s:i, s:s, s:s}", "schema", 1, "event",
							  "disconnected", "message", N_("the engine went away")));
		return;
	}
	sbuf_add(&c->in, buf, (size_t)n);
	char *start = c->in.buf, *nl;
	while ((nl = memchr(start, '\n', c->in.len - (size_t)(start - c->in.buf)))) {
		json_t *ev = json_loadb(start, (size_t)(nl - start), 0, NULL);
		if (json_is_object(ev))
			json_array_append_new(c->queue, ev);
		else
			json_decref(ev);
		start = nl + 1;
	}
	size_t rest = c->in.len - (size_t)(start - c->in.buf);
	memmove(c->in.buf, start, rest);
	c->in.len = rest;
}

static json_t *pop(struct client *c)
{
	if (c->qhead >= json_array_size(c->queue))
		return NULL;
	json_t *ev = json_incref(json_array_get(c->queue, c->qhead++));
	/* drop what was read in one go, not one by one */
	if (c->qhead == json_array_size(c->queue) || c->qhead > 4096) {
		json_t *rest = json_array();
		for (size_t i = c->qhead; i < json_array_size(c->queue); i++)
			json_array_append(rest, json_array_get(c->queue, i));
		json_decref(c->queue);
		c->queue = rest;
		c->qhead = 0;
	}
	return ev;
}

/* The engine on the other end must be us, root, or (tally.group) the owner
 * of a group socket of a group we are in: a socket somebody else put at
 * the path is refused before a command is sent to it. */
static int peer_trusted(int fd, const char *socket_path, struct tally_err *err)
{
	struct ucred cr;
	socklen_t len = sizeof cr;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return tally_err_set(err, TC_AUTH, "%s: cannot tell who serves it: %s", socket_path,
				     strerror(errno));
	if (cr.uid == geteuid() || cr.uid == 0)
		return 0;
	struct stat st;
	if (stat(socket_path, &st) == 0 && st.st_uid == cr.uid && (st.st_mode & 0060) == 0060) {
		if (st.st_gid == getegid())
			return 0;
		gid_t groups[256];
		int n = getgroups(256, groups);
		for (int i = 0; i < n; i++)
			if (groups[i] == st.st_gid)
				return 0;
	}
	return tally_err_set(err, TC_AUTH, "%s: the process serving it runs as uid %lu, not as you and "
			     "not for a tally.group of yours; refusing to talk to it (remove the socket "
			     "and start the engine again)", socket_path, (unsigned long)cr.uid);
}

int client_connect(const char *socket_path, int watch, struct client **out,
		   struct tally_err *err)
{
	*out = NULL;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (!socket_path || strlen(socket_path) >= sizeof sa.sun_path)
		return tally_err_set(err, TC_INPUT, "bad engine socket path");
	strcpy(sa.sun_path, socket_path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return tally_err_set(err, TC_INTERNAL, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int e = errno;
		close(fd);
		return tally_err_set(err, TC_NETWORK, "%s: cannot attach to the engine: %s", socket_path, strerror(e));
	}
	if (peer_trusted(fd, socket_path, err) < 0) {
		close(fd);
		return -1;
	}
	struct client *c = xcalloc(1, sizeof *c);
	c->fd = fd;
	c->queue = json_array();
	c->next_id = 1;
	json_t *hello = json_pack("{s:i, s:s, s:s}", "hello", 1, "mode", watch ? "watch" : "control",
				  "version", TALLY_VERSION);
	int rc = send_line(c, hello);
	json_decref(hello);
	double deadline = util_monotonic() + 10;
	while (rc == 0) {
		json_t *ev = pop(c);
		if (!ev) {
			if (c->gone || util_monotonic() > deadline) {
				rc = -1;
				break;
			}
			fill(c, 200);
			continue;
		}
		const char *name = json_string_value(json_object_get(ev, "event"));
		if (ev_from_name(name) == EV_HELLO) {
			c->hello = ev;
			*out = c;
			return 0;
		}
		if (ev_from_name(name) == EV_ERROR) {
			tally_err_set(err, TC_AUTH, "%s: %s", socket_path,
				      json_string_value(json_object_get(ev, "message")) ?: "refused");
			json_decref(ev);
			client_free(c);
			return -1;
		}
		json_decref(ev);
	}
	tally_err_set(err, TC_NETWORK, "%s: the engine did not answer", socket_path);
	client_free(c);
	return -1;
}

long long client_submit(struct client *c, json_t *cmd, struct tally_err *err)
{
	long long id = c->next_id++;
	json_object_set_new(cmd, "id", json_integer(id));
	if (c->e) {
		engine_submit(c->e, cmd);
		return id;
	}
	if (c->srv)
		return server_tap_submit(c->srv, cmd);
	int rc = send_line(c, cmd);
	json_decref(cmd);
	if (rc < 0) {
		tally_err_set(err, TC_NETWORK, "the engine went away");
		return -1;
	}
	/* wait for the engine's job id; keep everything else in order */
	json_t *held = json_array();
	long long job = -1;
	double deadline = util_monotonic() + 30;
	while (job < 0 && !c->gone && util_monotonic() < deadline) {
		json_t *ev = pop(c);
		if (!ev) {
			fill(c, 200);
			continue;
		}
		const char *name = json_string_value(json_object_get(ev, "event"));
		json_t *eid = json_object_get(ev, "id");
		if (ev_from_name(name) == EV_ACCEPTED && json_integer_value(eid) == id) {
			job = json_integer_value(json_object_get(ev, "job"));
			json_decref(ev);
		} else if (ev_from_name(name) == EV_DONE && json_integer_value(eid) == id &&
			   !json_object_get(ev, "job")) {
			/* refused (watch connection): hand back the error and done */
			json_array_append_new(held, ev);
			job = 0;
		} else {
			json_array_append_new(held, ev);
		}
	}
	/* put held events back in front */
	for (size_t i = c->qhead; i < json_array_size(c->queue); i++)
		json_array_append(held, json_array_get(c->queue, i));
	json_decref(c->queue);
	c->queue = held;
	c->qhead = 0;
	if (job < 0)
		tally_err_set(err, TC_NETWORK, "the engine did not accept the command");
	return job;
}

json_t *client_next_event(struct client *c, int timeout_ms)
{
	if (c->e)
		return engine_next_event(c->e, timeout_ms);
	if (c->srv)
		return server_tap_next(c->srv, timeout_ms);
	json_t *ev = pop(c);
	if (ev)
		return ev;
	if (c->gone)
		return NULL;
	double deadline = util_monotonic() + (timeout_ms < 0 ? 1e9 : timeout_ms / 1000.0);
	do {
		double left = deadline - util_monotonic();
		fill(c, timeout_ms < 0 ? 1000 : (left > 0 ? (int)(left * 1000) : 0));
		ev = pop(c);
	} while (!ev && !c->gone && util_monotonic() < deadline);
	return ev ? ev : pop(c);
}

int client_fd(const struct client *c)
{
	return c->e ? engine_event_fd(c->e) : c->srv ? server_tap_fd(c->srv) : c->fd;
}

int client_pending(const struct client *c)
{
	return c->e ? 0 : json_array_size(c->queue) > c->qhead;
}

void client_free(struct client *c)
{
	if (!c)
		return;
	if (c->srv)
		server_tap_close(c->srv);
	if (c->fd >= 0)
		close(c->fd);
	sbuf_free(&c->in);
	json_decref(c->queue);
	json_decref(c->hello);
	free(c);
}
