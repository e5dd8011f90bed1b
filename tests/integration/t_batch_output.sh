#!/usr/bin/env bash
# Batch habits (SPEC section 8): events are written as they happen, also
# into a pipe (a slow build's "started" line arrives long before the end);
# CMD --help and help CMD print that command's help; a mistyped command or
# component gets "did you mean" and exit 2; plain status has a next-run
# column and the skipped versions, attempts a header; verify answers in
# config order.
. "$(dirname "$0")/lib.sh"
start_registry
make_upstream v3.8.0 v3.8.1
make_chat_upstream v1.0.0
make_versions_repo
use_ctl_build

# --- help per command ----------------------------------------------------------
expect_exit "logs --help exits 0" 0 tally logs --help
check "  it is the help of logs, not the global help" grep -q '^usage: tally logs COMP' "$T/last.out"
check "  and says what logs does" grep -q "print an attempt's log" "$T/last.out"
expect_exit "help logs exits 0" 0 tally help logs
check "  the same text" grep -q '^usage: tally logs COMP' "$T/last.out"
check "every --help line fits 80 columns" bash -c "'$TALLY_BIN' --help | awk 'length > 80 { exit 1 }'"

# --- did you mean ---------------------------------------------------------------
expect_exit "a mistyped command exits 2" 2 tally stauts
check "  did you mean 'status'" grep -q "did you mean 'status'" "$T/last.err"
expect_exit "a mistyped component exits 2" 2 tally check servr
check "  did you mean 'server'" grep -q "did you mean 'server'" "$T/last.err"
expect_exit "a name far from every component exits 2" 2 tally check zzzzzzzz
check "  and suggests nothing" bash -c "! grep -q 'did you mean' '$T/last.err'"

# --- flushed per event into a pipe, with a slow build ---------------------------
echo 4 >"$CTL/sleep-v3.8.1"
# each line gets its arrival time as the reader sees it
"$TALLY_BIN" -C "$V" --no-tui --json run server 2>"$T/run.err" |
	while IFS= read -r line; do printf '%s %s\n' "$(date +%s.%N)" "$line"; done >"$T/arrivals"
started=$(grep '"stage":"build"' "$T/arrivals" | grep '"result":"started"' | head -1 | cut -d' ' -f1)
ended=$(grep '"event":"summary"' "$T/arrivals" | cut -d' ' -f1)
echo "    build started line arrived at $started, summary at $ended"
check "the build's start arrives through the pipe before the 4 s build ends (not held to the end)" \
	awk -v a="${started:-0}" -v b="${ended:-0}" 'BEGIN { exit !(a > 0 && b - a >= 3) }'
expect_eq "the run shipped" "$(record_of server-versions.txt server)" v3.8.1

# --- status, attempts, verify -----------------------------------------------------
expect_exit "status" 0 tally status
check "  plain status has a NEXT RUN column" grep -Eq '^COMPONENT .* NEXT RUN$' "$T/last.out"
expect_exit "attempts" 0 tally attempts server
check "  attempts has a header" grep -Eq '^ATTEMPT +VERSION +ACTION +RESULT' "$T/last.out"
# (chat's record has no image: its verify fails, at its own pace)
for i in 1 2 3; do
	tally verify --json >"$T/verify.json" 2>/dev/null || true
	expect_eq "verify answers in config order ($i)" "$(jq -r 'select(.event == "verify") | .component' "$T/verify.json" | tr '\n' ' ')" "server chat "
done
expect_exit "skip chat v9.9.9" 0 tally skip chat v9.9.9
check "  a version the upstream never listed is named as such" grep -Eq 'chat v9\.9\.9 was never listed|upstream was never read here, so v9\.9\.9' "$T/last.err"
expect_exit "status after a skip" 0 tally status
check "  plain status lists the skipped version" grep -q '^  skipped: v9.9.9' "$T/last.out"
check "  status --json has it in skipped" bash -c "'$TALLY_BIN' -C '$V' --no-tui --json status chat | jq -e 'select(.event==\"status\") | .skipped == [\"v9.9.9\"]' >/dev/null"

# --- on a terminal: one progress line, updated in place ---------------------------
. "$TALLY_SRC/tests/console/tmux.sh"
git -C "$UP" tag v3.8.2
echo 4 >"$CTL/sleep-v3.8.2"
tmux -S "$TMUX_SOCK" -f /dev/null new-session -d -s t -x 100 -y 10 \
	env TERM=screen-256color "$TALLY_BIN" -C "$V" --no-tui run server
tmux -S "$TMUX_SOCK" set-option -g remain-on-exit on >/dev/null
expect_screen "a running build shows component, version, stage and elapsed time" 'server v3\.8\.2: build [0-9]+s' 20
expect_screen "and the build's last log line" 'server v3\.8\.2: build [0-9]+s \| ctl build of v3\.8\.2 starting' 10
expect_screen "then the plain lines" 'server v3\.8\.2: shipped' 60
check "the progress line was replaced, not left behind" bash -c "! tmux -S '$TMUX_SOCK' capture-pane -p -t t | grep -q 'build [0-9]*s |'"
tmux -S "$TMUX_SOCK" kill-server 2>/dev/null || true
finish
