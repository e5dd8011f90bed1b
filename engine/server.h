/* server.h - the engine's Unix socket (SPEC section 8): one engine, many
 * front ends, like tmux's server.
 *
 * Protocol: JSON Lines both ways. A client first sends
 *   {"hello": 1, "mode": "control"|"watch", "version": "..."}
 * and gets {"event": "hello", "schema": 1, "pid": N, "mode": ...}. After
 * that a control client sends engine commands (engine.h) with its own
 * "id"; the server answers {"event": "accepted", "id": ID, "job": J} and
 * every event of that command carries "job": J. Every client receives every
 * event (state, stages, results, log chunks). A watch client's commands are
 * refused. {"cmd": "stop", "now": bool} asks the engine to end.
 *
 * Each client has a bounded output buffer. When a slow client's buffer is
 * full, log chunks for it are dropped and it is sent {"event": "dropped"}
 * once (the full log is in the log file); if even state events do not fit,
 * it is disconnected. A slow client never stalls the engine or the others.
 * Lines over 1 MiB, bad JSON, or no hello within 10 s end the connection. */
#ifndef TALLY_SERVER_H
#define TALLY_SERVER_H

#include <jansson.h>
#include <stddef.h>

#include "engine.h"
#include "err.h"

struct server_opts {
	const char *socket_path;
	const char *group;             /* tally.group: may connect too; NULL: only our user */
	size_t client_buffer;          /* bytes of pending output per client; 0: 4 MiB */
	/* every engine event, on the server thread (journal lines); may be NULL */
	void (*on_event)(void *ctx, json_t *ev);
	void *ctx;
	/* 1: also keep every event for an in-process client (server_tap_*):
	 * the batch command of the engine's own process reads its events as
	 * objects, without a socket and without encoding or decoding them */
	int tap;
};

struct server;

/* Takes over reading the engine's events. Caller frees with server_free. */
int server_start(struct engine *e, const struct server_opts *o, struct server **out,
		 struct tally_err *err);
/* A pipe end that becomes readable when a client asked the engine to stop;
 * server_stop_now() tells whether it asked for --now. */
int server_stop_fd(struct server *s);
int server_stop_now(struct server *s);
/* Number of connected clients (for tests and status). */
int server_clients(struct server *s);
/* The in-process client of a server started with .tap (client_tap uses
 * these; one reader). server_tap_submit gives the command a job id from
 * the same counter as a socket client's and returns it; the events come
 * as the server broadcasts them (the same objects; readers only read
 * them); server_tap_close stops keeping them. */
long long server_tap_submit(struct server *s, json_t *cmd);
json_t *server_tap_next(struct server *s, int timeout_ms);
int server_tap_fd(struct server *s);
void server_tap_close(struct server *s);
/* Stops the thread, closes every client, removes the socket. */
void server_free(struct server *s);

/* The socket path for a state dir: STATE/engine.sock, or a short path under
 * $XDG_RUNTIME_DIR (or /tmp) when that does not fit a sockaddr_un. Caller
 * frees. */
char *server_socket_path(const char *state_dir);

#endif
