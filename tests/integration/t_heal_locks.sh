#!/usr/bin/env bash
# A kill in the middle of a ref or index update leaves git's lock file
# (refs/heads/main.lock, index.lock); every later update would fail. Found
# by the crash campaign (a `tally serve` killed mid-record). At start the
# engine removes such a lock when no process has it open, and says so; a
# lock a live git holds is left alone.
. "$(dirname "$0")/lib.sh"
start_registry
make_upstream v3.8.0 v3.8.1
git init -q "$T/chat-upstream"
git -C "$T/chat-upstream" commit -q --allow-empty -m i
git -C "$T/chat-upstream" tag v1.0.0
not() { ! "$@"; }

fresh_versions_repo locks
# a live holder first: a process with the ref lock open (as git has while it
# updates the ref)
git -C "$V" rev-parse HEAD >"$V/.git/refs/heads/main.lock"
sleep 30 3<"$V/.git/refs/heads/main.lock" &
holder=$!
PIDS+=("$holder")
expect_exit "a lock a live process holds is not taken: the record fails, exit 1" 1 tally run
check "  the lock is still there" test -e "$V/.git/refs/heads/main.lock"
check "  the message names the lock" grep -q 'main.lock' "$T/last.out" "$T/last.err"
expect_eq "  record unchanged" "$(record_of server-versions.txt server)" v3.8.0
kill "$holder"; wait "$holder" 2>/dev/null || true

# now nobody has it open: left by a killed process
: >"$V/.git/index.lock"
expect_exit "stale locks are removed at start and the run records, exit 0" 0 tally run
check "  it says so" grep -q 'main.lock: removed a stale git lock file' "$T/last.err"
check "  the index lock too" grep -q 'index.lock: removed a stale git lock file' "$T/last.err"
check "  no lock left" not test -e "$V/.git/refs/heads/main.lock"
expect_eq "  record is v3.8.1" "$(record_of server-versions.txt server)" v3.8.1
expect_eq "  working tree clean" "$(git -C "$V" status --porcelain)" ""
check "  git fsck clean" git -C "$V" fsck --no-progress --no-dangling
finish
