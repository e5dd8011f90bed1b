#!/usr/bin/env bash
# Issue 10, defect 1: a record commit left unpushed (the remote rejected the
# push once, or tally was killed between the ref update and the push) while
# a commit lands on the remote from elsewhere. The next run re-applies
# tally's own unpushed commits on the remote head and pushes them; only a
# local commit that is not tally's makes the branch diverged; a remote that
# records another value for the key stays a conflict (reported, nothing
# overwritten, the branch not left diverged).
. "$(dirname "$0")/lib.sh"
start_registry
make_upstream v3.8.0 v3.8.1
git init -q "$T/chat-upstream"
git -C "$T/chat-upstream" commit -q --allow-empty -m i
git -C "$T/chat-upstream" tag v1.0.0
export GIT_PUSH=true
IMG=openim-server
not() { ! "$@"; }

# reject_once [N]: the remote's pre-receive hook refuses the next N pushes (1)
reject_once() {
	cat >"$REMOTE/hooks/pre-receive" <<EOF
#!/bin/sh
n=\$(cat "$T/reject-n" 2>/dev/null || echo 0)
if [ "\$n" -gt 0 ]; then echo \$((n - 1)) >"$T/reject-n"; echo "closed for maintenance" >&2; exit 1; fi
exit 0
EOF
	chmod +x "$REMOTE/hooks/pre-receive"
	echo "${1:-1}" >"$T/reject-n"
}

other_clone() { O="$T/other"; rm -rf "$O"; git clone -q "$REMOTE" "$O"; }

# other_pushes MSG FILE CONTENT: a workstation commits FILE and pushes
other_pushes() {
	git -C "$O" pull -q --ff-only origin main
	printf '%s\n' "$3" >"$O/$2"
	git -C "$O" add "$2"
	git -C "$O" commit -q -m "$1"
	git -C "$O" push -q origin main
}

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

# healed P: local and remote agree, the record and its tags are tally's
healed() {
	local p=$1
	expect_eq "$p: local main equals the remote's" "$(git -C "$V" rev-parse HEAD)" "$(git -C "$REMOTE" rev-parse main)"
	expect_eq "$p: remote records server v3.8.1" \
		"$(git -C "$REMOTE" show main:server-versions.txt | sed -n 's/^server=//p')" v3.8.1
	expect_eq "$p: remote .env follows" \
		"$(git -C "$REMOTE" show main:.env | sed -n 's/^OPENIM_SERVER_VERSION=//p')" v3.8.1-anolis
	expect_eq "$p: one record commit on the remote" \
		"$(git -C "$REMOTE" log --format=%s main | grep -cx 'record server v3.8.1')" 1
	expect_eq "$p: the re-applied commit keeps the shipped digest" "$(commit_trailer HEAD Tally-Digest)" "$digest"
	expect_eq "$p: working tree clean" "$(git -C "$V" status --porcelain)" ""
	check "$p: git fsck clean" git -C "$V" fsck --no-progress
	check "$p: no force push" remote_only_fast_forwards
	expect_exit "$p: verify exit 0" 0 tally verify server
}

# --- (a) rejected once, then a workstation pushes: the next run heals ------
fresh_versions_repo h-a
git -C "$REMOTE" config core.logAllRefUpdates always
other_clone
reject_once
expect_exit "a: run exits 1 when the push is rejected" 1 tally run
expect_eq "a: recorded locally" "$(record_of server-versions.txt server)" v3.8.1
digest=$(commit_trailer HEAD Tally-Digest)
other_pushes "workstation notes" NOTES.txt "notes from a workstation"
notes=$(git -C "$O" rev-parse HEAD)
expect_exit "a: the next run heals the diverged branch, exit 0" 0 tally run
check "a: not called diverged" not grep -qi diverged "$T/last.out" "$T/last.err"
healed a
check "a: the workstation's commit is kept" git -C "$REMOTE" merge-base --is-ancestor "$notes" main
expect_eq "a: the record sits on the workstation's commit" "$(git -C "$REMOTE" rev-parse main^)" "$notes"
expect_eq "a: working tree has the workstation's file" "$(cat "$V/NOTES.txt")" "notes from a workstation"

# --- (b) a hold commit and a record both pending, killed before the push ---
fresh_versions_repo h-b
git -C "$REMOTE" config core.logAllRefUpdates always
other_clone
reject_once 2
expect_exit "b: skip chat v1.0.1 committed, push rejected" 1 tally skip chat v1.0.1 --reason "not yet"
expect_exit "b: run killed between the record's ref update and its push" 137 \
	env TALLY_CRASH_AT=after-ref-update "$TALLY_BIN" -C "$V" --no-tui run
expect_eq "b: the hold is still not on the remote" "$(git -C "$REMOTE" show main:tally-holds.txt 2>/dev/null | grep -c chat || true)" 0
expect_eq "b: recorded locally" "$(record_of server-versions.txt server)" v3.8.1
digest=$(commit_trailer HEAD Tally-Digest)
other_pushes "workstation notes" NOTES.txt "notes"
# a hold from the workstation in the same file, too
git -C "$O" pull -q --ff-only origin main
printf 'skip server v3.9.9 broken upstream\n' >>"$O/tally-holds.txt"
git -C "$O" add tally-holds.txt
git -C "$O" commit -q -m "skip server v3.9.9"
git -C "$O" push -q origin main
expect_exit "b: the next run heals, exit 0" 0 tally run
healed b
expect_eq "b: both holds on the remote" \
	"$(git -C "$REMOTE" show main:tally-holds.txt | grep -c '^skip ')" 2
check "b: the skip of chat v1.0.1 landed" grep -qx 'skip chat v1.0.1 not yet' <(git -C "$REMOTE" show main:tally-holds.txt)

# --- (c) killed inside the re-apply: the run after that still heals --------
for cp in before-reapply-ref after-reapply-ref; do
	fresh_versions_repo "h-c-$cp"
	git -C "$REMOTE" config core.logAllRefUpdates always
	other_clone
	reject_once
	expect_exit "c/$cp: rejected push" 1 tally run
	digest=$(commit_trailer HEAD Tally-Digest)
	other_pushes "workstation notes" NOTES.txt "notes"
	expect_exit "c/$cp: killed in the re-apply" 137 \
		env TALLY_CRASH_AT=$cp "$TALLY_BIN" -C "$V" --no-tui run
	expect_exit "c/$cp: the next run heals, exit 0" 0 tally run
	healed "c/$cp"
done

# --- (d) the remote records another value: a conflict, nothing overwritten -
fresh_versions_repo h-d
other_clone
reject_once
expect_exit "d: rejected push" 1 tally run
git -C "$O" pull -q --ff-only origin main
sed -i 's/^server=.*/server=v3.8.5/' "$O/server-versions.txt"
git -C "$O" commit -q -am "server v3.8.5 by hand"
git -C "$O" push -q origin main
theirs=$(git -C "$O" rev-parse HEAD)
expect_exit "d: the run reports the conflict, exit 1" 1 tally run
check "d: says conflict" grep -qi conflict "$T/last.err"
check "d: names the remote's value" grep -q 'server=v3.8.5' "$T/last.err"
expect_eq "d: remote untouched" "$(git -C "$REMOTE" rev-parse main)" "$theirs"
expect_eq "d: local follows the remote (not left diverged)" "$(git -C "$V" rev-parse HEAD)" "$theirs"
expect_eq "d: record is the remote's" "$(record_of server-versions.txt server)" v3.8.5
expect_eq "d: working tree clean" "$(git -C "$V" status --porcelain)" ""
expect_exit "d: the run after that is quiet, exit 0" 0 tally run

# --- (f) a pending pin, and the remote moved the record: the pin is dropped -
fresh_versions_repo h-f
other_clone
reject_once
expect_exit "f: pin committed, push rejected" 1 tally pin chat --reason "hold it"
git -C "$O" pull -q --ff-only origin main
sed -i 's/^chat=.*/chat=v1.0.7/' "$O/chat-versions.txt"
git -C "$O" commit -q -am "chat v1.0.7 by hand"
git -C "$O" push -q origin main
theirs=$(git -C "$O" rev-parse HEAD)
expect_exit "f: the run reports the dropped pin, exit 1" 1 tally run chat
check "f: says why" grep -q 'records chat=v1.0.7, this pin holds v1.0.0' "$T/last.err"
expect_eq "f: local follows the remote" "$(git -C "$V" rev-parse HEAD)" "$theirs"
check "f: no pin in the working tree" not grep -qs '^pin chat' "$V/tally-holds.txt"
expect_eq "f: working tree clean" "$(git -C "$V" status --porcelain)" ""

# --- (e) a local commit that is not tally's: still diverged ----------------
fresh_versions_repo h-e
other_clone
reject_once
expect_exit "e: rejected push" 1 tally run
echo local >"$V/LOCAL.txt"
git -C "$V" add LOCAL.txt
git -C "$V" commit -q -m "operator's commit on the build host"
other_pushes "workstation notes" NOTES.txt "notes"
expect_exit "e: diverged by a foreign commit is exit 1" 1 tally run
check "e: says diverged and names the foreign commit" \
	grep -q "diverged.*$(git -C "$V" rev-parse --short=12 HEAD).* is not tally's" "$T/last.err"
finish
