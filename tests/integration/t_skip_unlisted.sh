#!/usr/bin/env bash
# Issue 13: `tally skip COMP VERSION` of a version the upstream did not list
# at its last check asks specifically on a terminal (a typo would skip
# nothing real), and 'n' commits nothing; a listed version gets the plain
# question; -y asks nothing; without a terminal the skip is made as told
# (SPEC section 7), with a warning that says the version was never listed.
. "$(dirname "$0")/lib.sh"
. "$TALLY_SRC/tests/console/tmux.sh"
REG=127.0.0.1:1   # nothing here talks to a registry
make_upstream v3.8.0 v3.8.1
make_chat_upstream v1.0.0
make_versions_repo
not() { ! "$@"; }
commits() { git -C "$V" rev-list --count HEAD; }

expect_exit "the upstream is read once" 0 tally check server
before=$(commits)

# --- a version the upstream does not offer: its own question; n -------------
console_start 120 30 -- --no-tui skip server v9.9.9 --reason typo
check "the question names the version and the upstream's newest" \
	wait_screen 'v9\.9\.9 is not among the versions the upstream offers \(newest: v3\.8\.1\); skip it anyway\? \[y/N\]'
keys n Enter
expect_eq "n: exit 0" "$(console_rc)" 0
check "n: it says nothing was done" wait_screen 'tally: nothing done' 5
expect_eq "n: no commit" "$(commits)" "$before"
check "n: the holds file does not skip v9.9.9" not grep -qs 'v9\.9\.9' "$V/tally-holds.txt"
console_stop

# --- a listed version: the plain question; y ---------------------------------
console_start 120 30 -- --no-tui skip server v3.8.1 --reason bad
check "a listed version gets the plain question" \
	wait_screen 'tally skip server v3\.8\.1: v3\.8\.1 is never built while skipped; the record is not touched\. Proceed\? \[y/N\]'
check "not the unlisted one" not wait_screen 'not among the versions' 1
keys y Enter
expect_eq "y: exit 0" "$(console_rc)" 0
check "y: the skip is committed" grep -qx 'skip server v3.8.1 bad' "$V/tally-holds.txt"
expect_eq "y: one commit" "$(commits)" "$((before + 1))"
console_stop

# --- -y on a terminal: no question -------------------------------------------
console_start 120 30 -- --no-tui -y skip server v9.9.7
expect_eq "-y: exit 0" "$(console_rc)" 0
asks() { screen | grep -q 'y/N'; }
check "-y: no question" not asks
check "-y: the skip is committed" grep -qx 'skip server v9.9.7' "$V/tally-holds.txt"
console_stop

# --- no terminal: done as told, with a warning --------------------------------
expect_exit "batch without a terminal skips, exit 0" 0 tally skip server v9.9.8 </dev/null
check "it warns the version was never listed" grep -q 'v9.9.8 was never listed by its upstream' "$T/last.err"
check "the skip is committed" grep -qx 'skip server v9.9.8' "$V/tally-holds.txt"
finish
