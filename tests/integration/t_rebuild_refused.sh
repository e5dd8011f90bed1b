#!/usr/bin/env bash
# Rebuilds that must be refused before anything is built or pushed (found in
# review; was t_regressions.sh 3 and 8):
#  3 rebuild of a recorded version that was skipped afterwards: refused, the
#    recorded tags keep their digest
#  8 rebuild --version V newer than the record while pinned: refused
. "$(dirname "$0")/lib.sh"
review_start

# --- 3: rebuild of a recorded version that was skipped afterwards ------------------
new_repo reg3 ctl
expect_exit "3: run ships v3.8.1" 0 tally run server
D3=$(commit_trailer HEAD Tally-Digest)
expect_eq "3: v3.8.1 reads back the recorded digest" "$(manifest_digest reg3/openim-server v3.8.1)" "${D3:-<none>}"
expect_exit "3: skip server v3.8.1" 0 tally skip server v3.8.1 --reason "bad upstream"
N3=$(commits)
H3=$(git -C "$V" rev-parse HEAD)
LEDGER3=$(ledger_lines server)
expect_exit "3: rebuild server -y is refused (exit 1)" 1 tally rebuild server -y
check "3:   it says the version is skipped" has_text "skipped"
expect_eq "3: no commit" "$(commits)" "$N3"
expect_eq "3: HEAD unchanged" "$(git -C "$V" rev-parse HEAD)" "$H3"
expect_eq "3: v3.8.1 still reads back the recorded digest" "$(manifest_digest reg3/openim-server v3.8.1)" "${D3:-<none>}"
expect_eq "3: v3.8.1-anolis still reads back the recorded digest" "$(manifest_digest reg3/openim-server v3.8.1-anolis)" "${D3:-<none>}"
expect_eq "3: latest-anolis still reads back the recorded digest" "$(manifest_digest reg3/openim-server latest-anolis)" "${D3:-<none>}"
expect_eq "3: one build only (the ship)" "$(find "$CTL" -name 'pid-*' | wc -l | tr -d ' ')" 1
expect_exit "3: verify server exits 0" 0 tally verify server
check "3: the working tree is clean" worktree_clean

# --- 8: rebuild --version newer than the record while pinned ----------------------
new_repo reg8
expect_exit "8: pin server" 0 tally pin server --reason "hold at 3.8.0"
H8=$(git -C "$V" rev-parse HEAD)
HOLDS8=$(holds_at_head)
expect_exit "8: rebuild server --version v3.8.1 is refused (exit 1)" 1 tally rebuild server --version v3.8.1 -y
check "8:   it says pinned" has_text "pinned"
expect_eq "8: HEAD unchanged" "$(git -C "$V" rev-parse HEAD)" "$H8"
expect_eq "8: record stays v3.8.0" "$(record_of server-versions.txt server)" v3.8.0
expect_eq "8: holds unchanged" "$(holds_at_head)" "$HOLDS8"
check "8: the pin is still there" grep -q '^pin server' <<<"$HOLDS8"
expect_eq "8: nothing pushed for v3.8.1" "$(manifest_status v3.8.1 reg8/openim-server)" 404
check "8: the working tree is clean" worktree_clean

finish
