#!/usr/bin/env bash
# SPEC section 9: the ledger and the attempt logs follow tally.logKeep.
# With logKeep = 2, after a shipped version, a failed attempt and three
# newer shipped attempts: the newest attempt's log and the failed one's are
# kept (failed first), the others' logs are removed; the ledger keeps those
# two attempts (the newest is also what was built; every shipped version
# here was recorded, so no evidence line is needed), and what a reset to
# v3.8.1, `logs`, `attempts` and `status` need still works.
. "$(dirname "$0")/lib.sh"
start_registry
make_upstream v3.8.0 v3.8.1
make_versions_repo
use_ctl_build
conf_set tally.logKeep 2
commit_versions "logKeep 2"

id_of_last() { last_attempt_id server; }
expect_exit "ship v3.8.1" 0 tally run server
A=$(id_of_last)
git -C "$UP" tag v3.8.2
touch "$CTL/fail-v3.8.2"
expect_exit "v3.8.2 fails to build" 1 tally run server
F=$(id_of_last)
rm -f "$CTL/fail-v3.8.2"
expect_exit "retry ships v3.8.2" 0 tally retry server
expect_exit "rebuild v3.8.2" 0 tally rebuild server
expect_exit "rebuild v3.8.2 again" 0 tally rebuild server
I=$(id_of_last)
check "three distinct attempt ids" test "$(printf '%s\n' "$A" "$F" "$I" | sort -u | wc -l)" = 3

# the next engine start compacts
expect_exit "status" 0 tally status
sd=$(state_dir)
expect_eq "logs kept: logKeep (2)" "$(count_logs server)" 2
check "the newest attempt's log is kept" test -s "$sd/logs/server/$I.log"
check "the failed attempt's log is kept over newer shipped ones" test -s "$sd/logs/server/$F.log"
check "an older shipped attempt's log is removed" test ! -e "$sd/logs/server/$A.log"
expect_eq "ledger: the two attempts with logs" "$(ledger_lines server)" 2
check "the failed attempt is in the ledger" test "$(ledger_entry "$F" | jq -r .result)" = failed
check "v3.8.1's recorded attempt is compacted away" test "$(ledger_entry "$A")" = null
expect_eq "one line per attempt after compaction" "$(wc -l <"$sd/ledger.jsonl" | tr -d ' ')" 2
check "ledger and logs stay 0600" test "$(stat -c %a "$sd/ledger.jsonl")" = 600

expect_exit "logs of the failed attempt" 0 tally logs server --attempt "$F"
check "its log has the build failure" grep -q "wget: command not found" "$T/last.out"
expect_exit "attempts lists the kept ones" 0 tally attempts server --json
check "attempts shows the failed one" grep -q "\"attempt\":\"$F\"" "$T/last.out"
expect_exit "status --json after compaction" 0 tally status --json
expect_eq "built is still v3.8.2" "$(jq -r 'select(.component == "server") | .built' "$T/last.out")" v3.8.2

expect_exit "reset to v3.8.1 (its image is still in the registry)" 0 tally reset server v3.8.1 --no-pin
expect_eq "record back at v3.8.1" "$(record_of server-versions.txt server)" v3.8.1
expect_exit "a second start has nothing to compact" 0 tally status
expect_eq "still at most logKeep logs" "$(count_logs server)" 2
finish
