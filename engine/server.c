/* DESIGN: one server thread (all signals blocked) owns the listening socket,
 * every client connection and the reading end of the engine's events. It
 * never blocks on a client: sockets are non-blocking, output is buffered
 * per client up to a bound, and the engine's outbox is drained on every
 * pass. Commands from clients go to the engine with engine_submit(). */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "protocol.h"
#include "queue.h"
#include "util.h"

#define MAX_LINE (1024 * 1024)
#define HELLO_TIMEOUT 10.0
#define MAX_CLIENTS 256

struct conn {
	int fd;
	int hello;                 /* 0: waiting for hello; 1: control; 2: watch */
	double opened;
	struct sbuf in;
	struct sbuf out;
	size_t out_off;
	int dropping;              /* log chunks are being dropped */
	int closing;               /* flush then close */
};

struct server {
	struct engine *e;
	char *path;
	gid_t gid;
	int have_gid;
	size_t limit;
	void (*on_event)(void *ctx, json_t *ev);
	void *ctx;
	char *state_dir;           /* for the log path in "dropped" notices */
	int lfd;
	int wake[2];               /* server_free -> thread */
	int stop[2];               /* thread -> main: a client asked to stop */
	int stop_now;
	pthread_t thread;
	pthread_mutex_t mu;        /* nclients only */
	int nclients;
	struct conn *conns[MAX_CLIENTS];
	long long next_job;        /* atomic: the server thread and server_tap_submit */
	struct queue tap;          /* events for the in-process client (opts.tap) */
	int tap_on;                /* atomic; cleared by server_tap_close */
	int tap_dropping;          /* server thread: the tap's log chunks are dropped */
	struct pending tap_out;    /* server thread: this pass's events for the tap */
};

/* The private directory for sockets whose state-dir path is too long:
 * $XDG_RUNTIME_DIR when set (private by definition), else
 * ${TMPDIR:-/tmp}/tally-<uid> (checked and created by private_dir). */
static char *fallback_dir(void)
{
	const char *rt = getenv("XDG_RUNTIME_DIR");
	if (rt && *rt && strlen(rt) < 60)
		return xstrdup(rt);
	const char *tmp = getenv("TMPDIR");
	if (!tmp || !*tmp || strlen(tmp) > 60)
		tmp = "/tmp";
	return xasprintf("%s/tally-%lu", tmp, (unsigned long)geteuid());
}

char *server_socket_path(const char *state_dir)
{
	char *p = xasprintf("%s/engine.sock", state_dir);
	if (strlen(p) < sizeof(((struct sockaddr_un *)0)->sun_path))
		return p;
	free(p);
	/* too long for sun_path: a short name keyed by the state dir, in a
	 * directory only we can write (issue 10: a name in /tmp itself can be
	 * taken by anyone first) */
	unsigned long h = 5381;
	for (const char *c = state_dir; *c; c++)
		h = h * 33 + (unsigned char)*c;
	char *dir = fallback_dir();
	p = xasprintf("%s/tally-%08lx.sock", dir, h & 0xffffffffUL);
	free(dir);
	return p;
}

/* dir exists (made 0700, 0710 with a group), is a real directory (not a
 * symlink), is ours, and nobody else may write it or list it. */
static int private_dir(const char *dir, const gid_t *gid, struct tally_err *err)
{
	if (mkdir(dir, gid ? 0710 : 0700) == 0 && gid)
		if (chown(dir, (uid_t)-1, *gid) < 0 || chmod(dir, 0710) < 0)
			return tally_err_set(err, TC_INPUT, "%s: cannot give it to the tally.group: %s", dir,
					     strerror(errno));
	struct stat st;
	if (lstat(dir, &st) < 0)
		return tally_err_set(err, TC_INPUT, "%s: cannot create the socket directory: %s", dir,
				     strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return tally_err_set(err, TC_INPUT, "%s: is not a directory (a symlink?); the engine socket "
				     "needs a private directory: remove it, or set XDG_RUNTIME_DIR", dir);
	if (st.st_uid != geteuid())
		return tally_err_set(err, TC_INPUT, "%s: belongs to uid %lu, not to us; somebody else "
				     "created it: remove it, or set XDG_RUNTIME_DIR", dir,
				     (unsigned long)st.st_uid);
	if (st.st_mode & 0027)
		return tally_err_set(err, TC_INPUT, "%s: mode %04o lets others in; make it 0700 (chmod 700) "
				     "or remove it", dir, (unsigned)(st.st_mode & 07777));
	return 0;
}

static void conn_free(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	sbuf_free(&c->in);
	sbuf_free(&c->out);
	free(c);
}

/* Queues a line for a client. A droppable line (a live log chunk) that does
 * not fit is dropped, and the client is told once which log to read
 * instead; a state event that does not fit even four times over means the
 * client is not reading at all: it is disconnected. */
/* The notice a client gets once when its log chunks start to be dropped. */
static json_t *dropped_note(struct server *s, json_t *droppable)
{
	const char *comp = json_string_value(json_object_get(droppable, "component"));
	const char *att = json_string_value(json_object_get(droppable, "attempt"));
	json_t *note = json_pack("{s:i, s:s, s:o, s:o, s:s}", "schema", 1, "event", ev_name(EV_DROPPED),
				 "component", comp ? json_string(comp) : json_null(), "attempt",
				 att ? json_string(att) : json_null(), "message",
				 "this client reads too slowly; live log chunks were dropped (the full log is in the log file)");
	if (comp && att && s->state_dir)
		json_object_set_new(note, "log", json_sprintf("%s/logs/%s/%s.log", s->state_dir, comp, att));
	return note;
}

static void conn_queue(struct server *s, struct conn *c, const char *line, size_t len,
		       json_t *droppable)
{
	size_t pending = c->out.len - c->out_off;
	if (droppable && pending + len > s->limit) {
		if (!c->dropping) {
			c->dropping = 1;
			json_t *note = dropped_note(s, droppable);
			char *d = json_dumps(note, JSON_COMPACT);
			sbuf_adds(&c->out, d);
			sbuf_addc(&c->out, '\n');
			free(d);
			json_decref(note);
		}
		return;
	}
	if (!droppable && pending + len > 4 * s->limit) {
		c->closing = 2;   /* not reading at all: close now, nothing to flush */
		return;
	}
	/* compact what was already written */
	if (c->out_off > 65536 && c->out_off * 2 > c->out.len) {
		memmove(c->out.buf, c->out.buf + c->out_off, c->out.len - c->out_off);
		c->out.len -= c->out_off;
		c->out_off = 0;
	}
	sbuf_add(&c->out, line, len);
}

static void conn_send_json(struct server *s, struct conn *c, json_t *ev)
{
	if (!json_object_get(ev, "schema"))
		json_object_set_new(ev, "schema", json_integer(1));
	char *line = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
	struct sbuf sb = {0};
	sbuf_adds(&sb, line);
	sbuf_addc(&sb, '\n');
	conn_queue(s, c, sb.buf, sb.len, NULL);
	sbuf_free(&sb);
	free(line);
	json_decref(ev);
}

static void conn_error(struct server *s, struct conn *c, const char *msg, int fatal)
{
	conn_send_json(s, c, json_pack("{s:s, s:s, s:s}", "event", ev_name(EV_ERROR), "class", "input", "message", msg));
	if (fatal)
		c->closing = 1;
}

static int peer_allowed(struct server *s, int fd)
{
	struct ucred cr;
	socklen_t len = sizeof cr;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return 0;
	if (cr.uid == geteuid())
		return 1;
	if (!s->have_gid)
		return 0;
	if (cr.gid == s->gid)
		return 1;
	/* a member of the group through its supplementary groups */
	struct passwd pw, *res = NULL;
	char buf[4096];
	if (getpwuid_r(cr.uid, &pw, buf, sizeof buf, &res) != 0 || !res)
		return 0;
	gid_t groups[256];
	int n = 256;
	if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &n) < 0)
		return 0;
	for (int i = 0; i < n; i++)
		if (groups[i] == s->gid)
			return 1;
	return 0;
}

static void handle_line(struct server *s, struct conn *c, const char *line, size_t len)
{
	json_error_t jerr;
	json_t *msg = json_loadb(line, len, 0, &jerr);
	if (!msg || !json_is_object(msg)) {
		json_decref(msg);
		conn_error(s, c, "not a JSON object; closing", 1);
		return;
	}
	if (!c->hello) {
		json_t *hello = json_object_get(msg, "hello");
		const char *mode = json_string_value(json_object_get(msg, "mode"));
		if (!json_is_integer(hello) || json_integer_value(hello) != 1 || !mode ||
		    (strcmp(mode, "control") && strcmp(mode, "watch"))) {
			conn_error(s, c, "expected {\"hello\":1,\"mode\":\"control\"|\"watch\"}; closing", 1);
		} else {
			c->hello = strcmp(mode, "watch") == 0 ? 2 : 1;
			json_t *h = engine_describe(s->e);
			json_object_update_new(h, json_pack("{s:s, s:i, s:I, s:s, s:s}", "event", ev_name(EV_HELLO), "protocol", 1,
							"pid", (json_int_t)getpid(), "mode", mode, "version",
							TALLY_VERSION));
			conn_send_json(s, c, h);
		}
		json_decref(msg);
		return;
	}
	json_t *id = json_object_get(msg, "id");
	json_int_t cid = json_is_integer(id) ? json_integer_value(id) : 0;
	const char *cmd = json_string_value(json_object_get(msg, "cmd"));
	if (!cmd) {
		conn_error(s, c, "a command needs \"cmd\"", 0);
	} else if (c->hello == 2 && !engine_command_reads_only(cmd)) {
		conn_send_json(s, c, json_pack("{s:s, s:I, s:s, s:s}", "event", ev_name(EV_ERROR), "id", cid, "class",
					       "input", "message",
					       N_("read-only (watch) connection: commands are refused")));
		conn_send_json(s, c, json_pack("{s:s, s:I, s:i}", "event", ev_name(EV_DONE), "id", cid, "exit", 2));
	} else if (strcmp(cmd, "stop") == 0) {
		s->stop_now = json_is_true(json_object_get(msg, "now"));
		conn_send_json(s, c, json_pack("{s:s, s:I, s:I}", "event", ev_name(EV_ACCEPTED), "id", cid, "job",
					       (json_int_t)0));
		if (write(s->stop[1], "s", 1) < 0) {
			/* already asked */
		}
	} else {
		json_int_t job = __atomic_add_fetch(&s->next_job, 1, __ATOMIC_SEQ_CST);
		json_object_set_new(msg, "id", json_integer(job));
		conn_send_json(s, c, json_pack("{s:s, s:I, s:I}", "event", ev_name(EV_ACCEPTED), "id", cid, "job", job));
		engine_submit(s->e, json_incref(msg));
	}
	json_decref(msg);
}

static void conn_read(struct server *s, struct conn *c)
{
	char buf[65536];
	for (;;) {
		ssize_t n = read(c->fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			c->closing = 2;   /* gone: close without flushing */
			return;
		}
		sbuf_add(&c->in, buf, (size_t)n);
		char *start = c->in.buf, *nl;
		while (!c->closing && (nl = memchr(start, '\n', c->in.len - (size_t)(start - c->in.buf)))) {
			if ((size_t)(nl - start) > MAX_LINE) {
				conn_error(s, c, "line longer than 1 MiB; closing", 1);
				break;
			}
			if (nl > start)
				handle_line(s, c, start, (size_t)(nl - start));
			start = nl + 1;
		}
		size_t rest = c->in.len - (size_t)(start - c->in.buf);
		memmove(c->in.buf, start, rest);
		c->in.len = rest;
		if (c->closing) {
			sbuf_reset(&c->in);
			return;
		}
		if (rest > MAX_LINE) {
			sbuf_reset(&c->in);
			conn_error(s, c, "line longer than 1 MiB; closing", 1);
			return;
		}
	}
}

static void conn_write(struct conn *c)
{
	while (c->out_off < c->out.len) {
		ssize_t n = write(c->fd, c->out.buf + c->out_off, c->out.len - c->out_off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			c->closing = 2;
			return;
		}
		c->out_off += (size_t)n;
	}
	sbuf_reset(&c->out);
	c->out_off = 0;
	c->dropping = 0;   /* caught up: a later drop is announced again */
}

static void broadcast(struct server *s, json_t *ev)
{
	if (s->on_event)
		s->on_event(s->ctx, ev);
	int droppable = ev_from_name(json_string_value(json_object_get(ev, "event"))) == EV_LOG;
	if (__atomic_load_n(&s->tap_on, __ATOMIC_ACQUIRE)) {
		/* the in-process client's live log chunks are bounded like a
		 * socket client's: past the limit they are dropped (it is told
		 * once) until it has read what it has */
		size_t n = droppable ? json_string_length(json_object_get(ev, "data")) : 0;
		size_t queued = droppable ? queue_bytes(&s->tap) + s->tap_out.bytes : 0;
		if (droppable && s->tap_dropping && queued == 0)
			s->tap_dropping = 0;
		if (droppable && (s->tap_dropping || queued + n > s->limit)) {
			if (!s->tap_dropping)
				pending_add(&s->tap_out, dropped_note(s, ev), 0);
			s->tap_dropping = 1;
		} else {
			pending_add(&s->tap_out, json_incref(ev), n);
		}
	}
	char *line = NULL;
	size_t len = 0;
	for (int i = 0; i < MAX_CLIENTS; i++) {
		struct conn *c = s->conns[i];
		if (!c || !c->hello || c->closing)
			continue;
		/* a client already dropping gets no chunk: do not even encode it */
		if (droppable && c->dropping)
			continue;
		if (!line) {
			char *d = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
			len = strlen(d);
			line = xrealloc(d, len + 2);
			line[len++] = '\n';
			line[len] = '\0';
		}
		conn_queue(s, c, line, len, droppable ? ev : NULL);
	}
	free(line);
}

static void accept_all(struct server *s)
{
	for (;;) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		if (!peer_allowed(s, fd)) {
			static const char no[] = "{\"schema\":1,\"event\":\"error\",\"class\":\"auth\",\"message\":\"not allowed to attach to this engine\"}\n";
			(void)!write(fd, no, sizeof no - 1);
			close(fd);
			continue;
		}
		int slot = -1;
		for (int i = 0; i < MAX_CLIENTS && slot < 0; i++)
			if (!s->conns[i])
				slot = i;
		if (slot < 0) {
			close(fd);
			continue;
		}
		struct conn *c = xcalloc(1, sizeof *c);
		c->fd = fd;
		c->opened = util_monotonic();
		s->conns[slot] = c;
		pthread_mutex_lock(&s->mu);
		s->nclients++;
		pthread_mutex_unlock(&s->mu);
	}
}

/* what this pass broadcast, to the in-process client at once */
static void tap_flush(struct server *s)
{
	if (__atomic_load_n(&s->tap_on, __ATOMIC_ACQUIRE))
		queue_push_pending(&s->tap, &s->tap_out);
	else
		pending_clear(&s->tap_out);
}

static void *server_main(void *arg)
{
	struct server *s = arg;
	struct pollfd pfd[MAX_CLIENTS + 3];
	int idx[MAX_CLIENTS + 3];
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		int n = 0;
		pfd[n++] = (struct pollfd){.fd = s->wake[0], .events = POLLIN};
		pfd[n++] = (struct pollfd){.fd = s->lfd, .events = POLLIN};
		pfd[n++] = (struct pollfd){.fd = engine_event_fd(s->e), .events = POLLIN};
		for (int i = 0; i < MAX_CLIENTS; i++) {
			struct conn *c = s->conns[i];
			if (!c)
				continue;
			short ev = POLLIN;
			if (c->out.len > c->out_off)
				ev |= POLLOUT;
			idx[n] = i;
			pfd[n++] = (struct pollfd){.fd = c->fd, .events = ev};
		}
		if (poll(pfd, (nfds_t)n, 1000) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents)
			break;
		/* engine events first, but a bounded batch per pass, so clients
		 * are written to while a build prints fast */
		json_t *ev;
		for (int k = 0; k < 256 && (ev = engine_next_event(s->e, 0)); k++) {
			broadcast(s, ev);
			json_decref(ev);
		}
		tap_flush(s);
		if (pfd[1].revents & POLLIN)
			accept_all(s);
		double now = util_monotonic();
		for (int k = 3; k < n; k++) {
			struct conn *c = s->conns[idx[k]];
			if (!c)
				continue;
			if (pfd[k].revents & (POLLIN | POLLHUP | POLLERR))
				conn_read(s, c);
			if (c->closing != 2 && c->out.len > c->out_off)
				conn_write(c);
			if (!c->hello && !c->closing && now - c->opened > HELLO_TIMEOUT) {
				conn_error(s, c, "no hello within 10 s; closing", 1);
				conn_write(c);
			}
			if (c->closing == 2 || (c->closing && c->out.len <= c->out_off)) {
				conn_free(c);
				s->conns[idx[k]] = NULL;
				pthread_mutex_lock(&s->mu);
				s->nclients--;
				pthread_mutex_unlock(&s->mu);
			}
		}
	}
	/* flush what is left to each client, briefly, then close */
	json_t *ev;
	while ((ev = engine_next_event(s->e, 0))) {
		broadcast(s, ev);
		json_decref(ev);
	}
	tap_flush(s);
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (s->conns[i]) {
			int fl = fcntl(s->conns[i]->fd, F_GETFL);
			fcntl(s->conns[i]->fd, F_SETFL, fl & ~O_NONBLOCK);
			struct timeval tv = {1, 0};
			setsockopt(s->conns[i]->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
			conn_write(s->conns[i]);
			conn_free(s->conns[i]);
			s->conns[i] = NULL;
		}
	return NULL;
}

int server_start(struct engine *e, const struct server_opts *o, struct server **out,
		 struct tally_err *err)
{
	struct server *s = xcalloc(1, sizeof *s);
	s->e = e;
	s->path = xstrdup(o->socket_path);
	s->limit = o->client_buffer ? o->client_buffer : 4 * 1024 * 1024;
	s->on_event = o->on_event;
	s->ctx = o->ctx;
	json_t *desc = engine_describe(e);
	s->state_dir = xstrdup(json_string_value(json_object_get(desc, "state_dir")));
	json_decref(desc);
	s->lfd = -1;
	s->wake[0] = s->wake[1] = s->stop[0] = s->stop[1] = -1;
	pthread_mutex_init(&s->mu, NULL);
	queue_init(&s->tap, 1);
	s->tap_on = o->tap;
	if (o->group) {
		struct group gr, *res = NULL;
		char buf[4096];
		if (getgrnam_r(o->group, &gr, buf, sizeof buf, &res) != 0 || !res) {
			tally_err_set(err, TC_INPUT, "tally.group: no group named '%s'", o->group);
			goto fail;
		}
		s->gid = gr.gr_gid;
		s->have_gid = 1;
	}
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(s->path) >= sizeof sa.sun_path) {
		tally_err_set(err, TC_INTERNAL, "%s: socket path too long", s->path);
		goto fail;
	}
	strcpy(sa.sun_path, s->path);
	if (pipe2(s->wake, O_CLOEXEC) < 0 || pipe2(s->stop, O_CLOEXEC | O_NONBLOCK) < 0) {
		tally_err_set(err, TC_INTERNAL, "pipe: %s", strerror(errno));
		goto fail;
	}
	s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->lfd < 0) {
		tally_err_set(err, TC_INTERNAL, "socket: %s", strerror(errno));
		goto fail;
	}
	{
		char *fb = fallback_dir();
		size_t n = strlen(fb);
		int in_fb = strncmp(s->path, fb, n) == 0 && s->path[n] == '/' &&
			    !strchr(s->path + n + 1, '/') && !getenv("XDG_RUNTIME_DIR");
		int bad = in_fb && private_dir(fb, s->have_gid ? &s->gid : NULL, err) < 0;
		free(fb);
		if (bad)
			goto fail;
	}
	/* we hold the repo's lock: a socket file left here is a dead engine's */
	unlink(s->path);
	/* the state dir (0700, or 2750 with a group) already keeps others out;
	 * the socket's own mode is set right after bind rather than through
	 * umask, which is process-wide while other threads create files */
	int r = bind(s->lfd, (struct sockaddr *)&sa, sizeof sa);
	if (r == 0 && chmod(s->path, s->have_gid ? 0660 : 0600) < 0)
		r = -1;
	if (r < 0 || listen(s->lfd, 64) < 0) {
		tally_err_set(err, TC_INTERNAL, "%s: cannot listen: %s", s->path, strerror(errno));
		goto fail;
	}
	if (s->have_gid && (chown(s->path, (uid_t)-1, s->gid) < 0 || chmod(s->path, 0660) < 0)) {
		tally_err_set(err, TC_INPUT, "%s: cannot give the socket to group %s: %s", s->path, o->group,
			      strerror(errno));
		goto fail;
	}
	sigset_t all, oldmask;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &oldmask);
	r = pthread_create(&s->thread, NULL, server_main, s);
	pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
	if (r != 0) {
		tally_err_set(err, TC_INTERNAL, "cannot start the server thread");
		goto fail;
	}
	*out = s;
	return 0;
fail:
	if (s->lfd >= 0) {
		close(s->lfd);
		unlink(s->path);
	}
	for (int i = 0; i < 2; i++) {
		if (s->wake[i] >= 0)
			close(s->wake[i]);
		if (s->stop[i] >= 0)
			close(s->stop[i]);
	}
	queue_destroy(&s->tap);
	free(s->path);
	free(s->state_dir);
	free(s);
	return -1;
}

int server_stop_fd(struct server *s)
{
	return s->stop[0];
}

int server_stop_now(struct server *s)
{
	return s->stop_now;
}

int server_clients(struct server *s)
{
	pthread_mutex_lock(&s->mu);
	int n = s->nclients;
	pthread_mutex_unlock(&s->mu);
	return n;
}

void server_free(struct server *s)
{
	if (!s)
		return;
	if (write(s->wake[1], "q", 1) < 0) {
		/* the thread is gone already */
	}
	pthread_join(s->thread, NULL);
	close(s->lfd);
	unlink(s->path);
	for (int i = 0; i < 2; i++) {
		close(s->wake[i]);
		close(s->stop[i]);
	}
	pending_clear(&s->tap_out);
	queue_destroy(&s->tap);
	free(s->path);
	free(s->state_dir);
	free(s);
}

long long server_tap_submit(struct server *s, json_t *cmd)
{
	json_int_t job = __atomic_add_fetch(&s->next_job, 1, __ATOMIC_SEQ_CST);
	json_object_set_new(cmd, "id", json_integer(job));
	engine_submit(s->e, cmd);
	return job;
}

json_t *server_tap_next(struct server *s, int timeout_ms)
{
	struct msg *m = queue_pop(&s->tap, timeout_ms);
	if (!m)
		return NULL;
	json_t *ev = m->json;
	free(m);
	return ev;
}

int server_tap_fd(struct server *s)
{
	return s->tap.wake[0];
}

void server_tap_close(struct server *s)
{
	__atomic_store_n(&s->tap_on, 0, __ATOMIC_RELEASE);
	struct msg *m;
	while ((m = queue_pop(&s->tap, 0))) {
		json_decref(m->json);
		free(m);
	}
}
