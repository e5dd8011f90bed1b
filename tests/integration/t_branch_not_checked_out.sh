#!/usr/bin/env bash
# tally.branch names a branch that is not checked out (found in review; was
# t_regressions.sh 7): status and run are an input error (exit 2) naming
# tally.branch, and nothing changes (no checkout, no commit, no push).
. "$(dirname "$0")/lib.sh"
review_start

# --- 7: tally.branch names a branch that is not checked out -----------------------
new_repo reg7
conf_set tally.branch release
commit_versions "record on release"
git -C "$V" branch release
git -C "$V" checkout -q -b feature
echo "feature work" >"$V/notes.txt"
commit_versions "feature"
REL7=$(git -C "$V" rev-parse release)
FEAT7=$(git -C "$V" rev-parse feature)
expect_exit "7: status exits 2" 2 tally status
check "7:   naming tally.branch" has_text "tally.branch"
expect_exit "7: run server exits 2" 2 tally run server
check "7:   naming tally.branch" has_text "tally.branch"
expect_exit "7: run chat exits 2" 2 tally run chat
expect_eq "7: feature is still checked out" "$(git -C "$V" symbolic-ref HEAD)" refs/heads/feature
expect_eq "7: release unchanged" "$(git -C "$V" rev-parse release)" "$REL7"
expect_eq "7: feature unchanged" "$(git -C "$V" rev-parse feature)" "$FEAT7"
check "7: the working tree is clean" worktree_clean
expect_eq "7: nothing pushed for server" "$(manifest_status v3.8.1 reg7/openim-server)" 404

finish
