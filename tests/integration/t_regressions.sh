#!/usr/bin/env bash
# Regressions found in review, on real parts (registry, git remote, buildah):
#  1 one attempt per component: a second run of a component while its first
#    attempt builds is refused, and the record's digest is what the tags hold
#  2 a skip pushed to the remote during an attempt: no record stays behind,
#    and the next run of another component is not blocked by a divergence
#  3 rebuild of a recorded version that was skipped afterwards: refused before
#    anything is built or pushed over the recorded tags
#  4 17 recordAlso files are all recorded in one commit
#  5 a gitignored, untracked recordAlso file is refused, never overwritten
#  6 a recordAlso file keeps its mode (0600) across a record
#  7 tally.branch names a branch that is not checked out: input error, no change
#  8 rebuild --version V newer than the record while pinned: refused
#  2b the same skip arriving between tally's fetch and its push: the rejected
#    push's re-apply meets the skip and the local record commit is undone
#  9 .git/index.lock held by another git process when the record's working
#    tree is written: the record still counts; the next start repairs the index
#  9b the same inside a running serve: the next attempt is not refused
. "$(dirname "$0")/lib.sh"
start_registry
make_upstream v3.8.0 v3.8.1
make_chat_upstream v1.0.0 v1.0.1
export TALLY_STOP_GRACE=1
not() { ! "$@"; }

# new_repo NAMESPACE [ctl]: a fresh versions repo whose images live under
# $REG/NAMESPACE; with "ctl" the server builds through build.sh (clean $CTL)
new_repo() {
	fresh_versions_repo "$1"
	if [ "${2:-}" = ctl ]; then
		rm -rf "$T/ctl"
		use_ctl_build
		if [ "${GIT_PUSH:-false}" = true ]; then git -C "$V" push -q origin main; fi
	fi
}
porcelain() { git -C "$V" status --porcelain; }
worktree_clean() { [ -z "$(porcelain)" ]; }
has_text() { grep -q -- "$1" "$T/last.out" "$T/last.err"; } # TEXT: in the last expect_exit's output
holds_at_head() { git -C "$V" show HEAD:tally-holds.txt 2>/dev/null || true; }

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

# --- 4: 17 recordAlso files in one commit -----------------------------------------
new_repo reg4
# f1..f8 do not exist yet (tally creates them), f9..f17 are committed
for i in $(seq 1 17); do
	git config -f "$V/tally.conf" --add component.chat.recordAlso "f$i.env:V={version}"
	if [ "$i" -gt 8 ]; then printf 'A=keep%s\nV=v1.0.0\n' "$i" >"$V/f$i.env"; fi
done
commit_versions "chat records 17 files"
N4=$(commits)
expect_exit "4: run chat ships v1.0.1" 0 tally run chat
expect_eq "4: one commit" "$(commits)" $((N4 + 1))
WANT4="chat-versions.txt $(for i in $(seq 1 17); do echo "f$i.env"; done | sort | tr '\n' ' ')"
expect_eq "4: the commit holds the version file and the 17 files" "$(files_of HEAD)" "$WANT4"
expect_eq "4: 18 files in the commit" "$(git -C "$V" show --name-only --format= HEAD | sed '/^$/d' | wc -l | tr -d ' ')" 18
ok4=0
for i in $(seq 1 17); do
	[ "$(git -C "$V" show "HEAD:f$i.env" 2>/dev/null | sed -n 's/^V=//p')" = v1.0.1 ] ||
		{ ok4=1; echo "    | f$i.env: $(git -C "$V" show "HEAD:f$i.env" 2>&1 | tr '\n' ' ')" >&2; }
done
expect_eq "4: every file records V=v1.0.1" "$ok4" 0
expect_eq "4: other lines are kept (f17.env)" "$(sed -n 's/^A=//p' "$V/f17.env")" keep17
expect_eq "4: record is v1.0.1" "$(record_of chat-versions.txt chat)" v1.0.1
check "4: the working tree is clean" worktree_clean

# --- 5: a gitignored, untracked recordAlso file -----------------------------------
new_repo reg5
git -C "$V" rm -q --cached .env
echo ".env" >"$V/.gitignore"
commit_versions "env is local"
printf 'COMPOSE_PROJECT_NAME=openim\nSECRET_TOKEN=hunter2\nOPENIM_SERVER_VERSION=v3.8.0-anolis\n' >"$V/.env"
SUM5=$(sha256sum <"$V/.env")
N5=$(commits)
expect_exit "5: run server is refused (exit 1)" 1 tally run server
check "5:   naming .env" has_text "\.env"
check "5:   saying it is ignored" has_text "ignored"
expect_eq "5: .env is untouched" "$(sha256sum <"$V/.env")" "$SUM5"
check "5: the secret line is still there" grep -qx 'SECRET_TOKEN=hunter2' "$V/.env"
expect_eq "5: no commit" "$(commits)" "$N5"
expect_eq "5: record stays v3.8.0" "$(record_of server-versions.txt server)" v3.8.0
expect_eq "5: .env is still not tracked" "$(git -C "$V" ls-files -- .env)" ""

# --- 6: a recordAlso file keeps mode 0600 -----------------------------------------
new_repo reg6
chmod 600 "$V/.env"
umask 022
check "6: the tree is clean with .env at 0600" worktree_clean
expect_exit "6: run server ships v3.8.1" 0 tally run server
expect_eq "6: .env records v3.8.1" "$(sed -n 's/^OPENIM_SERVER_VERSION=//p' "$V/.env")" v3.8.1-anolis
expect_eq "6: .env keeps mode 600" "$(stat -c %a "$V/.env")" 600
check "6: .env is in the record commit" grep -q '\.env' <<<"$(files_of HEAD)"
check "6: the working tree is clean" worktree_clean

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
