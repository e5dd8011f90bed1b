#!/usr/bin/env bash
# gitPush = true: record commits reach the bare remote; a push race is
# resolved by re-applying on the remote head (never by force); a conflicting
# remote record stops tally; a rejecting remote leaves the record pending
# until it lands; remote recipe fixes fast-forward in; divergence is an error.
. "$(dirname "$0")/lib.sh"
start_registry
make_upstream v3.8.0 v3.8.1
git init -q "$T/chat-upstream"
git -C "$T/chat-upstream" commit -q --allow-empty -m i
git -C "$T/chat-upstream" tag v1.0.0
export GIT_PUSH=true
IMG=openim-server
not() { ! "$@"; }

# tally runs `git` by name for fetch and push: a wrapper first in its PATH
# runs $T/race.sh once, just before tally's first `git push` goes out.
REAL_GIT=$(command -v git)
mkdir -p "$T/bin"
cat >"$T/bin/git" <<EOF
#!/bin/sh
if [ "\$1" = push ] && [ -e "$T/race.sh" ]; then
	mv "$T/race.sh" "$T/race.sh.done"
	REAL_GIT="$REAL_GIT" sh "$T/race.sh.done" >>"$T/race.log" 2>&1 || echo "race script failed" >>"$T/race.log"
fi
exec "$REAL_GIT" "\$@"
EOF
chmod +x "$T/bin/git"
tally_w() { PATH="$T/bin:$PATH" "$TALLY_BIN" -C "$V" --no-tui "$@"; }

# other_clone: a workstation's clone of the remote in $O
other_clone() {
	O="$T/other"
	rm -rf "$O"
	git clone -q "$REMOTE" "$O"
}

# the remote keeps a reflog so that a force push would show
remote_reflog_on() { git -C "$REMOTE" config core.logAllRefUpdates always; }

# every update of the remote's main was a fast-forward
remote_only_fast_forwards() {
	local prev="" h
	for h in $(git -C "$REMOTE" reflog show --format=%H refs/heads/main | tac); do
		if [ -n "$prev" ] && ! git -C "$REMOTE" merge-base --is-ancestor "$prev" "$h"; then
			echo "    | non-fast-forward update $prev -> $h" >&2
			return 1
		fi
		prev=$h
	done
	[ -n "$prev" ]
}

remote_records() { # how many commits on the remote's main record server v3.8.1
	git -C "$REMOTE" log --format=%s main | grep -cx 'record server v3.8.1' || true
}

# --- (a) a record commit is pushed ------------------------------------------
fresh_versions_repo r-a
expect_exit "a: run ships and records" 0 tally_w run
expect_eq "a: record is v3.8.1" "$(record_of server-versions.txt server)" v3.8.1
expect_eq "a: remote main is the record commit" "$(git -C "$REMOTE" rev-parse main)" "$(git -C "$V" rev-parse HEAD)"
expect_eq "a: remote main's subject" "$(git -C "$REMOTE" log -1 --format=%s main)" "record server v3.8.1"
expect_eq "a: working tree clean" "$(git -C "$V" status --porcelain)" ""
expect_exit "a: status --json" 0 tally_w status --json
expect_eq "a: state current once pushed" "$(grep '"component":"server"' "$T/last.out" | jq -r .state)" current

# --- (b) push race: an unrelated commit lands first ------------------------
fresh_versions_repo r-b
remote_reflog_on
other_clone
cat >"$T/race.sh" <<EOF
set -e
cd "$O"
echo "notes from a workstation" >NOTES.txt
\$REAL_GIT add NOTES.txt
\$REAL_GIT commit -q -m "workstation notes"
\$REAL_GIT push -q origin main
\$REAL_GIT rev-parse HEAD >"$T/other.sha"
EOF
expect_exit "b: run records despite the race" 0 tally_w run
check "b: the race really happened before tally's push" test -s "$T/other.sha"
other=$(cat "$T/other.sha" 2>/dev/null || echo none)
expect_eq "b: remote main's tip is the record commit" "$(git -C "$REMOTE" log -1 --format=%s main)" "record server v3.8.1"
check "b: the other commit is an ancestor of the remote's main (not overwritten)" \
	git -C "$REMOTE" merge-base --is-ancestor "$other" main
expect_eq "b: the record commit sits directly on the other commit" "$(git -C "$REMOTE" rev-parse main^)" "$other"
check "b: no force push (every remote update was a fast-forward)" remote_only_fast_forwards
expect_eq "b: remote has NOTES.txt" "$(git -C "$REMOTE" show main:NOTES.txt 2>&1)" "notes from a workstation"
expect_eq "b: remote records v3.8.1" "$(git -C "$REMOTE" show main:server-versions.txt | sed -n 's/^server=//p')" v3.8.1
expect_eq "b: exactly one record commit on the remote" "$(remote_records)" 1
expect_eq "b: local main equals the remote's" "$(git -C "$V" rev-parse HEAD)" "$(git -C "$REMOTE" rev-parse main)"
expect_eq "b: working tree clean" "$(git -C "$V" status --porcelain)" ""
expect_eq "b: working tree has the other commit's file" "$(cat "$V/NOTES.txt" 2>&1)" "notes from a workstation"
digest=$(commit_trailer HEAD Tally-Digest)
for tag in v3.8.1-anolis v3.8.1; do
	expect_eq "b: $tag reads back with the recorded digest" "$(manifest_digest r-b/$IMG $tag)" "${digest:-<none>}"
done

# --- (c) conflict: the remote records another value ------------------------
fresh_versions_repo r-c
remote_reflog_on
other_clone
cat >"$T/race.sh" <<EOF
set -e
cd "$O"
sed -i 's/^server=.*/server=v3.8.5/' server-versions.txt
\$REAL_GIT commit -q -am "record server v3.8.5"
\$REAL_GIT push -q origin main
\$REAL_GIT rev-parse HEAD >"$T/other.sha"
EOF
rm -f "$T/other.sha"
expect_exit "c: run reports the conflict with exit 1" 1 tally_w run
check "c: the race really happened" test -s "$T/other.sha"
check "c: message mentions the conflict" grep -qi conflict "$T/last.out" "$T/last.err"
expect_eq "c: remote main is the other clone's commit, untouched" "$(git -C "$REMOTE" rev-parse main)" "$(cat "$T/other.sha" 2>/dev/null)"
expect_eq "c: remote keeps server=v3.8.5" "$(git -C "$REMOTE" show main:server-versions.txt | sed -n 's/^server=//p')" v3.8.5
check "c: no force push" remote_only_fast_forwards
expect_eq "c: no record v3.8.1 on the remote" "$(remote_records)" 0

# --- (d) the remote rejects the push ---------------------------------------
fresh_versions_repo r-d
printf '#!/bin/sh\necho "pushes are closed" >&2\nexit 1\n' >"$REMOTE/hooks/pre-receive"
chmod +x "$REMOTE/hooks/pre-receive"
remote_before=$(git -C "$REMOTE" rev-parse main)
expect_exit "d: run exits 1 when the remote rejects" 1 tally_w run --json
attempt=$(jq -c 'select(.event == "attempt" and .component == "server")' "$T/last.out" | tail -1)
expect_eq "d: attempt class is record" "$(jq -r .class <<<"$attempt")" record
expect_eq "d: summary exit 1" "$(tail -1 "$T/last.out" | jq -r .exit)" 1
expect_eq "d: recorded locally" "$(record_of server-versions.txt server)" v3.8.1
expect_eq "d: local HEAD is the record commit" "$(git -C "$V" log -1 --format=%s)" "record server v3.8.1"
expect_eq "d: remote untouched" "$(git -C "$REMOTE" rev-parse main)" "$remote_before"
expect_eq "d: working tree clean" "$(git -C "$V" status --porcelain)" ""
expect_exit "d: status --json" 0 tally_w status --json
line=$(grep '"component":"server"' "$T/last.out")
# a record commit not on the remote yet keeps the component in state recording
expect_eq "d: status shows the pending record as state recording" "$(jq -r .state <<<"$line")" recording
expect_eq "d: status shows recorded v3.8.1" "$(jq -r .recorded <<<"$line")" v3.8.1
rm "$REMOTE/hooks/pre-receive"
local_head=$(git -C "$V" rev-parse HEAD)
expect_exit "d: next run exits 0" 0 tally_w run
expect_eq "d: the pending record commit landed on the remote" "$(git -C "$REMOTE" rev-parse main)" "$local_head"
expect_eq "d: still one record commit" "$(remote_records)" 1
expect_exit "d: status --json after landing" 0 tally_w status --json
expect_eq "d: state current after landing" "$(grep '"component":"server"' "$T/last.out" | jq -r .state)" current

# --- (e) recipe fix from a workstation fast-forwards in; divergence --------
fresh_versions_repo r-e
other_clone
echo 'LABEL org.example.fixed=yes' >>"$O/dockerfiles/Containerfile.server"
git -C "$O" commit -q -am "recipe fix"
git -C "$O" push -q origin main
fix=$(git -C "$O" rev-parse HEAD)
expect_exit "e: run after a remote recipe fix" 0 tally_w run
check "e: the fix was fast-forwarded into the versions repo" git -C "$V" merge-base --is-ancestor "$fix" HEAD
expect_eq "e: the record commit sits on the fix" "$(git -C "$V" rev-parse HEAD^)" "$fix"
check "e: working tree has the fix" grep -qx 'LABEL org.example.fixed=yes' "$V/dockerfiles/Containerfile.server"
expect_eq "e: working tree clean" "$(git -C "$V" status --porcelain)" ""
expect_eq "e: record v3.8.1" "$(record_of server-versions.txt server)" v3.8.1
expect_eq "e: remote has the record" "$(git -C "$REMOTE" rev-parse main)" "$(git -C "$V" rev-parse HEAD)"

# diverged: a local commit not on the remote, a remote commit not local
git -C "$UP" tag v3.8.2
git -C "$O" pull -q --ff-only origin main
echo "remote side" >"$O/REMOTE-NOTE.txt"
git -C "$O" add REMOTE-NOTE.txt
git -C "$O" commit -q -m "remote side"
git -C "$O" push -q origin main
echo "local side" >"$V/LOCAL-NOTE.txt"
git -C "$V" add LOCAL-NOTE.txt
git -C "$V" commit -q -m "local side"
lh=$(git -C "$V" rev-parse HEAD)
rh=$(git -C "$O" rev-parse HEAD)
expect_exit "e: diverged branch is an error with exit 1" 1 tally_w run
all="$T/diverged.txt"
cat "$T/last.out" "$T/last.err" >"$all"
check "e: the error says diverged" grep -qi diverged "$all"
check "e: the error names the local head" grep -q "${lh:0:12}" "$all"
check "e: the error names the remote head" grep -q "${rh:0:12}" "$all"
expect_eq "e: no record (local HEAD unchanged)" "$(git -C "$V" rev-parse HEAD)" "$lh"
expect_eq "e: record stays v3.8.1" "$(record_of server-versions.txt server)" v3.8.1
expect_eq "e: remote unchanged" "$(git -C "$REMOTE" rev-parse main)" "$rh"
expect_eq "e: nothing tagged v3.8.2 in the registry" "$(manifest_digest r-e/$IMG v3.8.2-anolis)" ""
finish
