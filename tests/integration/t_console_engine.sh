#!/usr/bin/env bash
# The engine outlives the console, and the console outlives its engine:
# `tally` starts `tally serve` in the background when none runs; quitting
# the console leaves the engine running; when the engine dies (kill -9) the
# console says so, the repo stays consistent, and E starts a new engine.
. "$(dirname "$0")/lib.sh"
. "$TALLY_SRC/tests/console/tmux.sh"
start_registry
make_upstream v3.8.0 v3.8.1
make_chat_upstream v1.0.0
make_versions_repo
expect_exit "setup: ship v3.8.1" 0 tally run server
expect_exit "setup: pause the schedule" 0 tally pause

engine_pid() { sed -n 's/^pid //p' "$V/.git/tally.lock"; }

console_start 80 24
expect_screen "the console started an engine and shows the table" 'server +v3\.8\.1 '
pid1=$(engine_pid)
check "an engine holds the repo's lock" kill -0 "${pid1:-0}"
keys q
for _ in $(seq 50); do console_dead && break; sleep 0.1; done
check "q quits the console" console_dead
check "the engine outlives the console" kill -0 "${pid1:-0}"
expect_exit "a batch command is handed to that engine" 0 tally status --json
check "  and answers with its job id" grep -q '"job":' "$T/last.out"
tmux -S "$TMUX_SOCK" kill-server 2>/dev/null || true

console_start 80 24
expect_screen "a second console attaches to the same engine" 'server +v3\.8\.1 '
expect_eq "no second engine was started" "$(engine_pid)" "$pid1"
kill -9 "$pid1"
expect_screen "the console says the engine went away" 'engine went away'
expect_screen "and offers E" 'E starts a new engine'
expect_eq "the record is untouched" "$(record_of server-versions.txt server)" v3.8.1
check "the working tree is clean" test -z "$(git -C "$V" status --porcelain)"
keys E
expect_screen "E attaches to a new engine" 'attached to a new engine' 15
pid2=$(engine_pid)
check "a new engine holds the lock" kill -0 "${pid2:-0}"
check "  and it is another process" test "${pid2:-0}" != "$pid1"
keys c
expect_screen "the new engine takes commands" 'check server: done' 15
# q after E frees the console's client once (it used to be freed twice:
# glibc or ASan aborted the console on its way out)
keys q
for _ in $(seq 50); do console_dead && break; sleep 0.1; done
check "q after E quits the console" console_dead
expect_eq "  with exit status 0 (no signal)" "$(console_rc)" 0
check "  and the new engine keeps running" kill -0 "${pid2:-0}"
console_stop

# a console whose terminal goes away (tmux killed, SSH dropped) exits
# (under ASan without the leak check at exit, which can hang in a process
# whose terminal is gone: a sanitizer matter, not the console's)
console_start 80 24 ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
expect_screen "a console on the running engine" 'server +v3\.8\.1 '
cpid=$(pgrep -fx -- "$TALLY_BIN -C $V" | head -1)
check "  its process is found" test -n "$cpid"
tmux -S "$TMUX_SOCK" kill-server 2>/dev/null || true
live() { [ -n "$1" ] && ps -o stat= -p "$1" 2>/dev/null | grep -qv '^Z'; }
for _ in $(seq 50); do live "$cpid" || break; sleep 0.1; done
check "  it exits when its terminal is gone" bash -c "! { ps -o stat= -p '${cpid:-0}' 2>/dev/null | grep -qv '^Z'; }"
[ -n "$cpid" ] && kill -9 "$cpid" 2>/dev/null || true
console_stop
finish
