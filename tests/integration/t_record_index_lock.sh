#!/usr/bin/env bash
# .git/index.lock held by another git process when the record writes the
# working tree (found in review; was t_regressions.sh 9 and 9b):
#  9  the record still counts; the next start repairs the index
#  9b the same inside a running serve: the next attempt is not refused
. "$(dirname "$0")/lib.sh"
review_start

# --- 9: .git/index.lock when the record writes the working tree --------------------
new_repo reg9
conf_set component.chat.build "sh -c 'touch .git/index.lock && exec buildah --storage-driver vfs build --isolation chroot -q -t {ref} -f dockerfiles/Containerfile.chat dockerfiles'"
commit_versions "chat locks the index"
N9=$(commits)
rc9=0
tally --json run chat >"$T/run9.json" 2>"$T/run9.err" || rc9=$?
check "9: the run exits 0 or 1 (not a crash)" test "$rc9" -le 1
check "9: the attempt result is shipped" jq_ok "$T/run9.json" 'any(.[]; .event == "attempt" and .component == "chat" and .result == "shipped")'
expect_eq "9: one record commit" "$(commits)" $((N9 + 1))
expect_eq "9: record at HEAD is v1.0.1" "$(record_of chat-versions.txt chat)" v1.0.1
check "9: the record commit carries a digest" test -n "$(commit_trailer HEAD Tally-Digest)"
check "9: the ledger says shipped" test "$(jq -r -s 'map(select(.component == "chat")) | last | .result' "$(state_dir)/ledger.jsonl")" = shipped
check "9: the attempt log warns that the working tree was not updated" \
	grep -q 'warning: recorded .*working tree was not updated' "$(jq -r -s 'map(select(.event == "attempt")) | last | .log' "$T/run9.json")"
check "9: the index lags behind the record before the repair" \
	grep -qx chat-versions.txt <<<"$(git -C "$V" diff --cached --name-only)"
rm -f "$V/.git/index.lock"
expect_exit "9: the next status exits 0" 0 tally status
check "9: git status --porcelain is empty after it" worktree_clean
expect_eq "9: chat-versions.txt in the tree says v1.0.1" "$(sed -n 's/^chat=//p' "$V/chat-versions.txt")" v1.0.1
expect_exit "9: verify chat exits 0" 0 tally verify chat

# --- 9b: the same inside a long-running serve: the next attempt is not refused ----
# The record of v1.0.1 meets index.lock; once the lock is gone, the next ship of
# chat in the same engine (no restart in between) must go ahead.
new_repo reg9b
conf_set component.chat.build "sh -c 'case {ref} in *:v1.0.1) touch .git/index.lock;; esac; exec buildah --storage-driver vfs build --isolation chroot -q -t {ref} -f dockerfiles/Containerfile.chat dockerfiles'"
commit_versions "chat locks the index for v1.0.1"
expect_exit "9b: pause the schedule" 0 tally pause
check "9b: serve starts" serve_bg serve9b
expect_exit "9b: run chat ships v1.0.1 through the engine" 0 tally run chat
expect_eq "9b: record at HEAD is v1.0.1" "$(record_of chat-versions.txt chat)" v1.0.1
rm -f "$V/.git/index.lock"
git -C "$T/chat-upstream" tag v1.0.2
# the index update of that record failed; a running engine mends a stale
# index before it judges the inputs dirty, so the next release ships without
# a restart
expect_exit "9b: the next run of chat in the same serve ships v1.0.2" 0 tally run chat
check "9b:   not refused as uncommitted changes" not has_text "uncommitted changes"
expect_eq "9b: record at HEAD is v1.0.2" "$(record_of chat-versions.txt chat)" v1.0.2
check "9b: the working tree is clean" worktree_clean
expect_exit "9b: tally stop" 0 tally stop
check "9b: serve has ended" proc_gone "$SERVE_PID" 20

finish
