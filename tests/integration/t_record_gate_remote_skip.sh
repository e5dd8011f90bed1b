#!/usr/bin/env bash
# The record gate meets a skip pushed to the remote (found in review; was
# t_regressions.sh 2 and 2b), on a real git remote:
#  2  a skip pushed to the remote while the attempt runs: no record stays
#     behind, and the next run of another component is not blocked by a
#     divergence
#  2b the same skip arriving between tally's fetch and its push: the rejected
#     push's re-apply meets the skip and the local record commit is undone
. "$(dirname "$0")/lib.sh"
review_start

# --- 2: a skip pushed to the remote while the attempt runs -------------------------
GIT_PUSH=true new_repo reg2 ctl
BASE2=$(git -C "$V" rev-parse HEAD)
echo 3 >"$CTL/sleep-v3.8.1"
( rc=0; tally run server >"$T/run2.out" 2>&1 || rc=$?; echo "$rc" >"$T/run2.rc" ) &
RUN2=$!
PIDS+=("$RUN2")
check "2: the run is building v3.8.1" waitfor 20 test -s "$CTL/sleeppid-v3.8.1"
W="$T/ws2"
git clone -q "$REMOTE" "$W"
echo "skip server v3.8.1 broken upstream" >>"$W/tally-holds.txt"
git -C "$W" add tally-holds.txt
git -C "$W" commit -q -m "skip server v3.8.1 from a workstation"
git -C "$W" push -q origin main
SKIP2=$(git -C "$W" rev-parse HEAD)
check "2: the run ends" proc_gone "$RUN2" 60
check "2:   and fails (exit non-zero)" not test "$(cat "$T/run2.rc" 2>/dev/null)" = 0
check "2:   saying the version was skipped, nothing recorded" grep -q 'skipped.*nothing recorded' "$T/run2.out"
LOCAL2=$(git -C "$V" rev-parse main)
REMOTE2=$(git -C "$REMOTE" rev-parse main)
check "2: local main is the remote head or its ancestor" git -C "$V" merge-base --is-ancestor "$LOCAL2" "$REMOTE2"
expect_eq "2: no record commit of server on the local branch" \
	"$(git -C "$V" log --format=%s "$BASE2..main" | grep -c '^record server' || true)" 0
expect_eq "2: no record commit of server on the remote" \
	"$(git -C "$REMOTE" log --format=%s "$BASE2..main" | grep -c '^record server' || true)" 0
expect_eq "2: the record stays v3.8.0" "$(record_of server-versions.txt server)" v3.8.0
expect_eq "2: .env still says v3.8.0" "$(sed -n 's/^OPENIM_SERVER_VERSION=//p' "$V/.env")" v3.8.0-anolis
check "2: the working tree is clean" worktree_clean
expect_exit "2: the next run of chat exits 0" 0 tally run chat
check "2:   no divergence error" not has_text "diverged"
expect_eq "2:   chat is recorded at v1.0.1" "$(record_of chat-versions.txt chat)" v1.0.1
expect_eq "2:   and pushed (remote head = local head)" "$(git -C "$REMOTE" rev-parse main)" "$(git -C "$V" rev-parse main)"
check "2:   the remote's skip is in the local history" git -C "$V" merge-base --is-ancestor "$SKIP2" main
check "2: the working tree is clean after chat" worktree_clean

# --- 2b: the skip reaches the remote between tally's fetch and its push -----------
# tally runs `git` by name for fetch and push: a wrapper first in its PATH runs
# $T/race.sh once, just before tally's first `git push` goes out; the push is
# rejected, the re-apply on the remote head meets the skip, and the local
# record commit must be undone
REAL_GIT=$(command -v git)
mkdir -p "$T/bin"
cat >"$T/bin/git" <<EOF
#!/bin/sh
if [ "\$1" = push ] && [ -e "$T/race.sh" ]; then
	mv "$T/race.sh" "$T/race.sh.done"
	sh "$T/race.sh.done" >>"$T/race.log" 2>&1 || echo "race script failed" >>"$T/race.log"
fi
exec "$REAL_GIT" "\$@"
EOF
chmod +x "$T/bin/git"
tally_w() { PATH="$T/bin:$PATH" "$TALLY_BIN" -C "$V" --no-tui "$@"; }
GIT_PUSH=true new_repo reg2b
BASE2B=$(git -C "$V" rev-parse HEAD)
cat >"$T/race.sh" <<EOF
set -e
rm -rf "$T/ws2b"
"$REAL_GIT" clone -q "$REMOTE" "$T/ws2b"
echo "skip server v3.8.1 broken upstream" >>"$T/ws2b/tally-holds.txt"
"$REAL_GIT" -C "$T/ws2b" add tally-holds.txt
"$REAL_GIT" -C "$T/ws2b" commit -q -m "skip server v3.8.1 from a workstation"
"$REAL_GIT" -C "$T/ws2b" push -q origin main
EOF
expect_exit "2b: run server exits 1" 1 tally_w run server
check "2b:   the skip was pushed during tally's push" test -e "$T/race.sh.done"
check "2b:   saying the version was skipped" has_text "skipped"
check "2b: local main is the remote head or its ancestor" \
	git -C "$V" merge-base --is-ancestor "$(git -C "$V" rev-parse main)" "$(git -C "$REMOTE" rev-parse main)"
expect_eq "2b: no record commit of server on the local branch" \
	"$(git -C "$V" log --format=%s "$BASE2B..main" | grep -c '^record server' || true)" 0
expect_eq "2b: no record commit of server on the remote" \
	"$(git -C "$REMOTE" log --format=%s "$BASE2B..main" | grep -c '^record server' || true)" 0
expect_eq "2b: server-versions.txt in the tree says v3.8.0" "$(sed -n 's/^server=//p' "$V/server-versions.txt")" v3.8.0
expect_eq "2b: .env in the tree says v3.8.0" "$(sed -n 's/^OPENIM_SERVER_VERSION=//p' "$V/.env")" v3.8.0-anolis
check "2b: the working tree is clean" worktree_clean
expect_exit "2b: the next run of chat exits 0" 0 tally_w run chat
check "2b:   no divergence error" not has_text "diverged"
expect_eq "2b:   chat is recorded at v1.0.1" "$(record_of chat-versions.txt chat)" v1.0.1
expect_eq "2b:   and pushed (remote head = local head)" "$(git -C "$REMOTE" rev-parse main)" "$(git -C "$V" rev-parse main)"
check "2b: the working tree is clean after chat" worktree_clean

finish
