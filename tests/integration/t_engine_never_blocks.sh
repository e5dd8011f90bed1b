#!/usr/bin/env bash
# issue 12: the engine thread never blocks. A git remote that accepts the
# push's connection and never answers (http://, on loopback; fetches go to
# the real remote through remote.origin.url, pushes to the hanging one
# through pushurl) holds the attempt's record push, and with it the
# recorder's lock. Meanwhile a run of another component with a dirty recipe
# needs recorder_repair (once called on the engine thread, where it waited
# for that lock and froze the engine and every console): now it queues on
# the repo worker. While the push hangs, `tally status` through the socket
# answers (timeout 5 against a push that would hang for minutes: a
# functional check; the latency is printed, not asserted) and a console
# attached to the engine answers a key; a watcher is pushed the rows that
# changed. Then the remote goes away: the
# record commit stays local (state recording), the remote did not move, and
# the next run pushes it.
. "$(dirname "$0")/lib.sh"
. "$TALLY_SRC/tests/console/tmux.sh"
start_registry
make_upstream v3.8.0 v3.8.1
make_chat_upstream v1.0.0 v1.0.1
make_versions_repo
conf_set tally.gitPush true
conf_set tally.networkTimeout 300
commit_versions "push records; the remote may hang"
git -C "$V" push -q origin main

# the hanging remote (tests/fixtures/hang): accepts, logs each connection, never answers
python3 "$TALLY_SRC/tests/fixtures/hang/server.py" >"$T/hang-port" 2>"$T/hang.log" &
HANG_PID=$!
PIDS+=("$HANG_PID")
check "the hanging remote listens" waitfor 5 test -s "$T/hang-port"
HANG_PORT=$(head -1 "$T/hang-port")
git -C "$V" config remote.origin.pushurl "http://127.0.0.1:$HANG_PORT/versions.git"
remote_before=$(git -C "$REMOTE" rev-parse main)

export TALLY_STOP_GRACE=1
check "tally serve starts" serve_bg serve
expect_exit "the schedule stays out of the way" 0 tally pause
# a watcher that never asks for status: what the engine pushes on change
sockclient watch --mode watch --duration 600
check "the watcher is attached" waitfor 30 grep -q '"hello"' "$T/watch.ev"

# server v3.8.1: built, pushed, verified, committed; its git push hangs
"$TALLY_BIN" -C "$V" --no-tui run server >"$T/run-server.out" 2>&1 &
RUN_PID=$!
PIDS+=("$RUN_PID")
check "the record push reaches the hanging remote" waitfor 300 grep -q accepted "$T/hang.log"
sleep 1
check "  and is still hanging" kill -0 "$RUN_PID"

# chat v1.0.1 with a recipe changed by hand: planning asks for a repair
echo "# changed by hand" >>"$V/dockerfiles/Containerfile.chat"
"$TALLY_BIN" -C "$V" --no-tui run --no-push chat >"$T/run-chat.out" 2>&1 &
CHAT_PID=$!
PIDS+=("$CHAT_PID")
sleep 2

t0=$(date +%s%N)
expect_exit "status answers through the socket while the push hangs" 0 timeout 5 "$TALLY_BIN" -C "$V" --no-tui status --json
t1=$(date +%s%N)
echo "# status latency while the push hangs: $(((t1 - t0) / 1000000)) ms (printed, not asserted)"
cp "$T/last.out" "$T/status.json"
expect_eq "  server is recording (its commit is not on the remote)" \
	"$(jq -r 'select(.component == "server") | .state' "$T/status.json")" recording
expect_eq "  the record commit is local" "$(record_of server-versions.txt server)" v3.8.1
expect_eq "  the remote did not move" "$(git -C "$REMOTE" rev-parse main)" "$remote_before"
expect_exit "history answers too" 0 timeout 5 "$TALLY_BIN" -C "$V" --no-tui history
expect_exit "a check runs (check workers are free)" 0 timeout 60 "$TALLY_BIN" -C "$V" --no-tui check server
check "the push still hangs" kill -0 "$RUN_PID"
# status events on change (no job: they answer no command), never the same
# row twice in a row
sc_events watch >"$T/watch.json"
check "the watcher was pushed server's rows: building ... recording" jq_ok "$T/watch.json" \
	'[.[] | select(.event == "status" and .component == "server" and (has("job") | not)) | .state] | (index("building") != null) and (.[-1] == "recording")'
check "  each pushed row differs from the one before" jq_ok "$T/watch.json" \
	'[.[] | select(.event == "status" and (has("job") | not))] | group_by(.component) | all(. as $r | [range(1; $r | length)] | all($r[.] != $r[. - 1]))'
check "  and the chat run waits for the repo worker" kill -0 "$CHAT_PID"

# a console attached to the engine: a key moves the selection and c
# checks the selected component, answered while the push hangs
console_start 80 24
expect_screen "the console shows the table, server recording" 'server +v3\.8\.1 .*recording'
sleep 1
keys Down
expect_screen "  a key moves the selection" '^(▸|>) chat +v1\.0\.0' 10
keys c
expect_screen "  c is answered by the engine: check chat done" 'check chat: done' 30
check "  while the push still hangs" kill -0 "$RUN_PID"
console_stop_keep() {
	tmux -S "$TMUX_SOCK" send-keys -t t Escape q q 2>/dev/null || true
	for _ in $(seq 30); do console_dead 2>/dev/null && break; sleep 0.1; done
	tmux -S "$TMUX_SOCK" kill-server 2>/dev/null || true
}
console_stop_keep

# the remote goes away: the push fails, the record stays local and pending
kill "$HANG_PID" 2>/dev/null || true
check "the run ends once the remote is gone" proc_gone "$RUN_PID" 120
expect_eq "  the run failed (not pushed)" "$GONE_RC" 1
check "the chat run ends" proc_gone "$CHAT_PID" 60
expect_eq "  refused: the recipe has uncommitted changes" "$GONE_RC" 1
check "  and says so" grep -q "uncommitted changes" "$T/run-chat.out"
expect_eq "the remote still did not move" "$(git -C "$REMOTE" rev-parse main)" "$remote_before"
expect_exit "status" 0 tally status --json
expect_eq "  server is still recording" \
	"$(jq -r 'select(.component == "server") | .state' "$T/last.out")" recording

# a reachable remote again: the next run pushes the pending record
git -C "$V" checkout -q -- dockerfiles/Containerfile.chat
git -C "$V" config --unset remote.origin.pushurl
expect_exit "the next run pushes the pending record" 0 timeout 300 "$TALLY_BIN" -C "$V" --no-tui run server
expect_eq "  the remote has it" "$(git -C "$REMOTE" show main:server-versions.txt | sed -n 's/^server=//p')" v3.8.1

# a hold's push hangs on the repo worker: status still answers, and
# tally stop cancels the push and joins the pools (nothing detached)
python3 "$TALLY_SRC/tests/fixtures/hang/server.py" >"$T/hang-port2" 2>"$T/hang2.log" &
PIDS+=("$!")
check "a second hanging remote listens" waitfor 5 test -s "$T/hang-port2"
git -C "$V" config remote.origin.pushurl "http://127.0.0.1:$(head -1 "$T/hang-port2")/versions.git"
"$TALLY_BIN" -C "$V" --no-tui skip chat v1.0.1 --reason "hangs" >"$T/skip.out" 2>&1 &
SKIP_PID=$!
PIDS+=("$SKIP_PID")
check "the hold's push reaches the hanging remote" waitfor 60 grep -q accepted "$T/hang2.log"
expect_exit "status answers while the repo worker hangs in a push" 0 timeout 5 "$TALLY_BIN" -C "$V" --no-tui status
expect_exit "tally stop" 0 timeout 60 "$TALLY_BIN" -C "$V" --no-tui stop
check "serve exits: the push was cancelled, the pools joined" proc_gone "$SERVE_PID" 30
check "the skip command ends" proc_gone "$SKIP_PID" 30
expect_eq "the remote has no hold commit" "$(git -C "$REMOTE" log -1 --format=%s main)" "record server v3.8.1"
finish
