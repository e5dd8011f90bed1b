#!/usr/bin/env bash
# One attempt per component (found in review; was t_regressions.sh 1): a
# second run of a component while its first attempt builds waits for it
# instead of starting another, and the record's digest is what the tags hold.
. "$(dirname "$0")/lib.sh"
review_start

# --- 1: one attempt per component ------------------------------------------------
new_repo reg1 ctl
expect_exit "1: pause the schedule" 0 tally pause
check "1: serve starts" serve_bg serve1
echo 3 >"$CTL/sleep-v3.8.1"
( rc=0; tally run server >"$T/run1.out" 2>&1 || rc=$?; echo "$rc" >"$T/run1.rc" ) &
RUN1=$!
PIDS+=("$RUN1")
check "1: the first run is building v3.8.1" waitfor 20 test -s "$CTL/sleeppid-v3.8.1"
expect_exit "1: a second run of server while it builds waits for it, exit 0" 0 tally run server --version v3.8.1
check "1:   it says an attempt is already running and it waits" has_text "already running.*waiting for it"
check "1: the first run ends" proc_gone "$RUN1" 60
expect_eq "1:   and exits 0" "$(cat "$T/run1.rc" 2>/dev/null)" 0
expect_eq "1: one attempt of server in the ledger" "$(ledger_lines server)" 1
expect_eq "1: record is v3.8.1" "$(record_of server-versions.txt server)" v3.8.1
expect_eq "1: one ctl build ran (one pid file)" "$(find "$CTL" -name 'pid-*' | wc -l | tr -d ' ')" 1
D1=$(commit_trailer HEAD Tally-Digest)
check "1: the record carries a digest" test -n "$D1"
expect_eq "1: v3.8.1 reads back the recorded digest" "$(manifest_digest reg1/openim-server v3.8.1)" "${D1:-<none>}"
expect_eq "1: v3.8.1-anolis reads back the recorded digest" "$(manifest_digest reg1/openim-server v3.8.1-anolis)" "${D1:-<none>}"
expect_exit "1: verify server exits 0" 0 tally verify server
expect_exit "1: tally stop" 0 tally stop
check "1: serve has ended" proc_gone "$SERVE_PID" 20

finish
