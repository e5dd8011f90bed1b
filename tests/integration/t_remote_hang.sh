#!/usr/bin/env bash
# issue 10, defect 8: a git remote that accepts connections and never
# answers. With tally.networkTimeout = 2 the fetch before a run fails on
# git's low-speed limit (not on the runner's overall timeout) with class
# network and the run exits 1; a git-tags upstream on that host is class
# network for its component only, the other component's check is fine.
. "$(dirname "$0")/lib.sh"
start_registry
make_upstream v3.8.0 v3.8.1
make_chat_upstream v1.0.0
make_versions_repo
python3 "$TALLY_SRC/tests/fixtures/hang/server.py" >"$T/hang-port" 2>"$T/hang.log" &
PIDS+=("$!")
for _ in $(seq 50); do HANG_PORT=$(head -1 "$T/hang-port" 2>/dev/null || true); [ -n "$HANG_PORT" ] && break; sleep 0.1; done
check "the hanging server listens" test -n "$HANG_PORT"
HANG="http://127.0.0.1:$HANG_PORT/versions.git"

conf_set tally.gitPush true
conf_set tally.networkTimeout 2
commit_versions "push to a remote that hangs"
git -C "$V" remote set-url origin "$HANG"
n0=$(commits)
expect_exit "run with a hanging remote exits 1" 1 timeout 120 "$TALLY_BIN" -C "$V" --no-tui run --json
cp "$T/last.out" "$T/run.json"
check "run --json valid, summary exit 1" json_ok "$T/run.json" 1
check "an error of class network" jq_ok "$T/run.json" 'any(.[]; .event == "error" and .class == "network")'
check "  it is git's low-speed limit (not the overall timeout)" jq_ok "$T/run.json" 'any(.[]; .event == "error" and (.message | contains("Operation too slow")) and (.message | contains("timed out;") | not))'
expect_eq "nothing recorded" "$(commits)" "$n0"
expect_exit "status needs no remote: exit 0" 0 timeout 60 "$TALLY_BIN" -C "$V" --no-tui status
expect_exit "check needs no remote either: exit 0" 0 timeout 60 "$TALLY_BIN" -C "$V" --no-tui check

# a git-tags upstream on the dead host: that component only
git -C "$V" remote set-url origin "$REMOTE"
conf_set tally.gitPush false
conf_set component.server.upstream "git-tags $HANG"
commit_versions "server's upstream hangs"
rc=0
timeout 120 "$TALLY_BIN" -C "$V" --no-tui check --json >"$T/check.json" 2>"$T/check.err" || rc=$?
check "check ends (exit 1)" test "$rc" = 1
. "$TALLY_SRC/tests/fixtures/github/lib.sh"
expect_eq "server: class network" "$(check_field server class "$T/check.json")" network
check "  with git's low-speed message" grep -q "Operation too slow" <<<"$(check_field server message "$T/check.json")"
expect_eq "chat: its check is fine" "$(check_field chat state "$T/check.json")" current
finish
