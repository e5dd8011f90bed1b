#!/usr/bin/env bash
# tally health (SPEC section 7), for monitoring: exit 0 only while an engine
# runs this repo's schedule, is not paused, and its last scheduled run is
# within one schedule period plus an hour; else exit 1 with the reason. It
# never starts an engine and never touches the network.
. "$(dirname "$0")/lib.sh"
start_registry
make_upstream v3.8.0
make_chat_upstream v1.0.0
make_versions_repo
use_ctl_build
conf_set tally.schedule '0 2 * * *'
commit_versions "daily schedule"

health() { "$TALLY_BIN" -C "$V" health "$@"; }
hjson() { jq -c 'select(.event == "health")' "$T/last.out"; }

# --- no engine ---
expect_exit "no engine: exit 1" 1 health
check "  the reason says no engine runs" grep -q "^unhealthy: no engine runs $V; start it with 'tally serve'" "$T/last.out"
expect_exit "no engine, --json: exit 1" 1 health --json
expect_eq "  health event: ok false, engine null" "$(hjson | jq -c '[.ok, .engine, .paused]')" '[false,null,false]'
expect_eq "  the last line is the summary with exit 1" "$(tail -1 "$T/last.out" | jq -c '[.event, .exit]')" '["summary",1]'
check "  health started no engine (the lock is free: a batch status runs in-process)" \
	bash -c "! ls '$XDG_STATE_HOME'/tally/*/engine.sock >/dev/null 2>&1"

# --- a running engine ---
"$TALLY_BIN" -C "$V" serve >"$T/serve.out" 2>"$T/serve.err" &
SERVE_PID=$!
PIDS+=("$SERVE_PID")
for _ in $(seq 100); do grep -q 'serve pid=' "$T/serve.err" 2>/dev/null && break; sleep 0.1; done
expect_exit "serve running: exit 0" 0 health
check "  says healthy with the engine's pid" grep -q "^healthy: engine $SERVE_PID runs the schedule" "$T/last.out"
expect_exit "serve running, --json: exit 0" 0 health --json
expect_eq "  ok, engine pid, not paused" "$(hjson | jq -c '[.ok, .engine, .paused, .reason]')" "[true,$SERVE_PID,false,null]"
now=$(date -u +%s)
next02=$(( now - now % 86400 + 7200 ))
[ "$next02" -gt "$now" ] || next02=$((next02 + 86400))
expect_eq "  next run is the next 02:00 UTC" "$(hjson | jq -r .next_run)" "$(date -u -d "@$next02" +%Y-%m-%dT%H:%M:%SZ)"
last=$(hjson | jq -r .last_run)
check "  last run: none yet, or one this engine made up at start ($last)" \
	bash -c "[ '$last' = null ] || [ \$(date -u -d '$last' +%s) -ge $((now - 60)) ]"

# --- the test's clock: the next 02:00 run never happens ---
TALLY_NOW=$((next02 + 1800)) expect_exit "half an hour after a due run that did not happen: still on time" 0 health
TALLY_NOW=$((next02 + 3660)) expect_exit "over an hour after it: exit 1" 1 health --json
expect_eq "  the reason names the missed run" "$(hjson | jq -r .reason)" \
	"no scheduled run $([ "$last" = null ] && echo yet || echo "since $last"): server was due at $(date -u -d "@$next02" +%Y-%m-%dT%H:%M:%SZ) and has not run"
TALLY_NOW=$((now + 3 * 86400)) expect_exit "three days without a scheduled run: exit 1" 1 health
check "  plain output starts with unhealthy and names the missed run" grep -Eq "^unhealthy: no scheduled run (yet|since [0-9T:Z-]+): server was due at [0-9-]+T02:00:00Z and has not run$" "$T/last.out"

# --- paused ---
expect_exit "pause" 0 "$TALLY_BIN" -C "$V" pause
expect_exit "paused: exit 1" 1 health
check "  says paused since when, and how to resume" grep -Eq "^unhealthy: the schedule is paused since [0-9-]+T[0-9:]+Z; 'tally resume' restarts it" "$T/last.out"
expect_exit "paused, --json" 1 health --json
expect_eq "  paused true" "$(hjson | jq -r .paused)" true
expect_exit "resume" 0 "$TALLY_BIN" -C "$V" resume
expect_exit "resumed: exit 0" 0 health

# --- pinned components are never scheduled, so they are never late ---
expect_exit "pin server" 0 "$TALLY_BIN" -C "$V" pin server --reason "hold"
expect_exit "pin chat" 0 "$TALLY_BIN" -C "$V" pin chat --reason "hold"
TALLY_NOW=$((now + 3 * 86400)) expect_exit "every component pinned, three days on: still healthy" 0 health
expect_exit "unpin server" 0 "$TALLY_BIN" -C "$V" unpin server
expect_exit "unpin chat" 0 "$TALLY_BIN" -C "$V" unpin chat

# --- stopped ---
expect_exit "stop" 0 "$TALLY_BIN" -C "$V" stop
expect_exit "stopped: exit 1" 1 health
check "  says no engine runs" grep -q "^unhealthy: no engine runs" "$T/last.out"

# --- a batch command's engine is not the schedule ---
git -C "$UP" tag v3.8.1
echo 30 >"$CTL/sleep-v3.8.1"
"$TALLY_BIN" -C "$V" --no-tui run server >"$T/run.out" 2>&1 &
RUN_PID=$!
PIDS+=("$RUN_PID")
for _ in $(seq 100); do [ -e "$CTL/sleeppid-v3.8.1" ] && break; sleep 0.1; done
expect_exit "a batch run holds the engine: exit 1" 1 health
check "  says it is not the schedule's engine" grep -Eq "^unhealthy: .*(runs a batch command, not the schedule|is not the schedule's engine)" "$T/last.out"
kill "$(cat "$CTL/sleeppid-v3.8.1")" 2>/dev/null || true
wait "$RUN_PID" 2>/dev/null || true
finish
