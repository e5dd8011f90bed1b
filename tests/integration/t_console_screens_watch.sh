#!/usr/bin/env bash
# Whole-screen comparisons of watch mode (read-only, SPEC section 10) at
# 80x24 and 120x40 against tests/console/expected/ (see
# t_console_screens.sh; TALLY_UPDATE_SCREENS=1 rewrites them): a console
# with --readonly on a running engine offers no write keys in its footer or
# its help, and a write key says read-only and opens no dialog.
. "$(dirname "$0")/lib.sh"
. "$TALLY_SRC/tests/console/tmux.sh"
screens_setup
n0=$(commits)
check "setup: serve starts" serve_bg serve

console_start 120 40 -- --readonly
expect_screen "the watch console shows the table" 'server +v3\.8\.1 +v3\.8\.1 +v3\.8\.1 +. current'
expect_screen "  its header says [RO]" 'versions main \[RO\]'
expect_screens watch-main "watch mode: the footer offers no write keys"
keys f
expect_screen "f says read-only" 'read-only: rebuild is not available in watch mode'
expect_screens watch-refused "watch mode: a write key says read-only, no dialog" flash
keys '?'
expect_screen "? opens the help" 'help \(Esc goes back\)'
expect_screens watch-help "watch mode: the help lists no write keys"
keys Escape
keys q
for _ in $(seq 50); do console_dead && break; sleep 0.1; done
check "q quits the watch console" console_dead
expect_eq "watch mode made no commit" "$(commits)" "$n0"
console_stop
finish
