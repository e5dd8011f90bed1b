/* client.h - how front ends talk to an engine: in the same process (a
 * batch command with no engine running) or over the engine's socket. Both
 * give the same messages (engine.h, server.h). One client per thread. */
#ifndef TALLY_CLIENT_H
#define TALLY_CLIENT_H

#include <jansson.h>

#include "engine.h"
#include "err.h"

struct client;

/* An in-process engine (started). The client does not own it. */
struct client *client_local(struct engine *e);
/* The in-process client of a server started with .tap (server.h): like a
 * socket client (job ids from the server, events of every job, so callers
 * pick their own by "job") but without the socket and the JSON encoding. e
 * is the server's engine. The server must outlive the client. */
struct server;
struct client *client_tap(struct server *s, struct engine *e);
/* Connects and says hello. watch: a read-only connection. */
int client_connect(const char *socket_path, int watch, struct client **out,
		   struct tally_err *err);
/* Sends a command (takes the reference). Returns the job id whose events
 * answer it, or -1 when the engine is gone or refused it (err says why). */
long long client_submit(struct client *c, json_t *cmd, struct tally_err *err);
/* Next event or NULL after timeout_ms (-1: wait). When the engine goes away
 * the client returns one {"event": "disconnected"} and then NULL. */
json_t *client_next_event(struct client *c, int timeout_ms);
/* For poll(): readable when client_next_event may have something. */
int client_fd(const struct client *c);
/* 1 when events are already buffered (poll would not say so). */
int client_pending(const struct client *c);
int client_is_remote(const struct client *c);
/* What the engine said about itself when the client attached (engine.h's
 * engine_describe: repo, branch, theme, state_dir, paused). Owned by c. */
json_t *client_hello(const struct client *c);
void client_free(struct client *c);

#endif
