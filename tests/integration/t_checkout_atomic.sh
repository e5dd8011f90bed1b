#!/usr/bin/env bash
# SPEC 1: working-tree files are replaced atomically, also when tally moves
# the working tree from one commit to another (a fast-forward to the
# remote, a re-apply, the rest of an interrupted move at start). The merged
# crash campaign found a start that rewrote every file of the last record
# in place (libgit2's checkout truncates and writes): a batch run killed
# 0.1 s after it started left chat-versions.txt empty, which no recovery
# run could tell from an operator's edit. Here: (a) a start after a record
# does not write the record's files again; (b) a fast-forward killed in the
# middle of a file's write leaves every file at the old or the new commit's
# content, never part of one; (c) a fast-forward killed between two files
# is finished by one plain run.
. "$(dirname "$0")/lib.sh"
start_registry
make_upstream v3.8.0 v3.8.1
git init -q "$T/chat-upstream"
git -C "$T/chat-upstream" commit -q --allow-empty -m i
git -C "$T/chat-upstream" tag v1.0.0
export GIT_PUSH=true
not() { ! "$@"; }

other_clone() { O="$T/other"; rm -rf "$O"; git clone -q "$REMOTE" "$O"; }
# workstation_moves N: the remote gets a commit that changes three files
workstation_moves() {
	git -C "$O" pull -q --ff-only origin main
	printf 'notes %s\n' "$1" >>"$O/NOTES.txt"
	printf 'skip server v3.9.%s broken upstream\n' "$1" >>"$O/tally-holds.txt"
	printf 'workstation %s\n' "$1" >>"$O/README.txt"
	git -C "$O" add NOTES.txt tally-holds.txt README.txt
	git -C "$O" commit -q -m "workstation $1"
	git -C "$O" push -q origin main
}
# at_either FILE OLD NEW: the working-tree FILE is exactly OLD's or NEW's
at_either() {
	local f=$1 rev
	for rev in "$2" "$3"; do
		if git -C "$V" cat-file -e "$rev:$f" 2>/dev/null; then
			[ -e "$V/$f" ] && cmp -s <(git -C "$V" show "$rev:$f") "$V/$f" && return 0
		else
			[ -e "$V/$f" ] || return 0
		fi
	done
	echo "    | $f is neither $2's nor $3's: $(od -c "$V/$f" 2>/dev/null | head -3)" >&2
	return 1
}
healed() { # P
	expect_eq "$p: working tree clean" "$(git -C "$V" status --porcelain)" ""
	expect_eq "$p: local equals the remote" "$(git -C "$V" rev-parse HEAD)" "$(git -C "$REMOTE" rev-parse main)"
	for f in NOTES.txt tally-holds.txt README.txt server-versions.txt; do
		check "$p: $f is HEAD's" cmp -s <(git -C "$V" show "HEAD:$f") "$V/$f"
	done
	check "$p: no temp files left" not_any_tmp
}
not_any_tmp() { ! find "$V" -name '*.tally-tmp.*' | grep -q .; }

fresh_versions_repo ca
expect_exit "first run records server v3.8.1" 0 tally run
expect_eq "recorded" "$(record_of server-versions.txt server)" v3.8.1

# --- (a) the start after a record writes nothing of the record again -------
before=$(stat -c '%i %Y.%y' "$V/server-versions.txt" "$V/.env")
expect_exit "a: a run with nothing to do exits 0" 0 tally run
expect_eq "a: the record's files were not rewritten (inode and mtime kept)" \
	"$(stat -c '%i %Y.%y' "$V/server-versions.txt" "$V/.env")" "$before"

# --- (b) a fast-forward killed in the middle of a file's write -------------
other_clone
workstation_moves 1
old=$(git -C "$V" rev-parse HEAD)
new=$(git -C "$REMOTE" rev-parse main)
expect_exit "b: run killed in the middle of a fast-forward's file write" 137 \
	env TALLY_CRASH_AT=mid-file-write "$TALLY_BIN" -C "$V" --no-tui run
moved=0
for f in NOTES.txt tally-holds.txt README.txt server-versions.txt; do
	check "b: $f is the old or the new commit's, whole" at_either "$f" "$old" "$new"
	cmp -s <(git -C "$V" show "$new:$f") "$V/$f" && moved=$((moved + 1))
done
expect_eq "b: the branch had moved (the commit point of the fast-forward)" "$(git -C "$V" rev-parse HEAD)" "$new"
check "b: the kill came inside the move (a moved file not replaced yet)" test "$moved" -lt 4
p=b
expect_exit "b: one plain run heals, exit 0" 0 tally run
healed

# --- (c) a fast-forward killed between two files ---------------------------
workstation_moves 2
old=$(git -C "$V" rev-parse HEAD)
new=$(git -C "$REMOTE" rev-parse main)
expect_exit "c: run killed after the fast-forward's first file" 137 \
	env TALLY_CRASH_AT=mid-checkout "$TALLY_BIN" -C "$V" --no-tui run
moved=0
for f in NOTES.txt tally-holds.txt README.txt; do
	check "c: $f is the old or the new commit's, whole" at_either "$f" "$old" "$new"
	cmp -s <(git -C "$V" show "$new:$f") "$V/$f" && moved=$((moved + 1))
done
expect_eq "c: the kill came after one of the three files" "$moved" 1
p=c
expect_exit "c: one plain run heals, exit 0" 0 tally run
check "c: no operator warning" not grep -q "not written by tally" "$T/last.out" "$T/last.err"
healed
finish
