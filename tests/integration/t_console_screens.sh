#!/usr/bin/env bash
# Whole-screen comparisons of the console (tig's and tmux's regress style):
# one engine and one console walk a component through its states, and at
# each the screen is compared WHOLE at 80x24 and 120x40 against
# tests/console/expected/NAME-COLSxROWS.txt (masked with screen_mask: only
# clocks, times, ages, digests, ids, paths and ports). The states: up to
# date, candidate waiting, building with its live log, failed with the
# reason on the problem line and the evidence in the detail view, skipped,
# pinned, paused, engine gone; the dialogs: force rebuild, reset, skip with
# its reason typed, unpin, the : command line; the help, history and
# attempts views. Regenerate the files after an intended change of the
# console with TALLY_UPDATE_SCREENS=1 (then read the diff before
# committing it).
. "$(dirname "$0")/lib.sh"
. "$TALLY_SRC/tests/console/tmux.sh"
screens_setup

# --- up to date -----------------------------------------------------------------
console_start 120 40
expect_screen "the console shows the table" 'server +v3\.8\.1 +v3\.8\.1 +v3\.8\.1 +. current'
expect_screens main-current "main screen, every component up to date"
keys '?'
expect_screen "? opens the help" 'help \(Esc goes back\)'
expect_screens help-view "the help view"
keys Escape

# --- candidate waiting ----------------------------------------------------------
git -C "$UP" tag v3.8.2
keys c
expect_screen "after c the server is outdated" 'server +v3\.8\.1 +v3\.8\.2 .*outdated'
expect_screens main-outdated "main screen, a candidate waiting"
keys Enter
expect_screen "Enter opens the detail view" 'detail: server'
expect_screens detail-outdated "the detail view of a component with a candidate"
keys Escape

# --- building, with the live log -------------------------------------------------
echo 120 >"$CTL/sleep-v3.8.2"
keys b
expect_screen "b builds v3.8.2" 'server +v3\.8\.1 +v3\.8\.2 .*building'
check "  the build is in its sleep" waitfor 20 test -s "$CTL/sleeppid-v3.8.2"
expect_screen "  the live log shows the build's line" 'ctl build of v3\.8\.2 starting'
expect_screens main-building "main screen, building with the live log"
kill "$(cat "$CTL/sleeppid-v3.8.2")"
expect_screen "v3.8.2 ships" 'server +v3\.8\.2 +v3\.8\.2 +v3\.8\.2 +. current' 60

# --- failed: the reason on the problem line, the evidence in the detail view ---------
git -C "$UP" tag v3.8.3
touch "$CTL/fail-v3.8.3"
keys c
expect_screen "after c v3.8.3 waits" 'server +v3\.8\.2 +v3\.8\.3 .*outdated'
keys b
expect_screen "the build of v3.8.3 fails" 'server failed: recipe \(build exit 127\)' 60
expect_screens main-failed "main screen, a failure with its decisive line and hint"
keys Enter
expect_screen "Enter opens the detail view" 'decisive +/bin/sh: 1: wget: command not found'
expect_screens detail-failure "the detail view of a failure with its evidence"
keys Escape

# --- dialogs: skip (reason typed), force rebuild, reset ------------------------------
keys s
expect_screen "s opens the skip dialog" 'Skip server v3\.8\.3'
keys -l 'no wget in the base'
expect_screen "  the reason is typed" 'Reason: no wget in the base'
expect_screens dialog-skip-reason "the skip dialog with its reason typed"
keys Enter
expect_screen "Enter records the skip" 'server: current · v3\.8\.3 skipped' 20
expect_screens main-skipped "main screen, a skipped version beside the state"
keys f
expect_screen "f opens the force rebuild dialog" 'Force rebuild'
expect_screens dialog-rebuild "the force rebuild dialog"
keys n
expect_screen "n cancels it" 'cancelled'
keys R
expect_screen "R opens the reset dialog" 'Reset server'
expect_screens dialog-reset "the reset dialog with the versions that shipped before"
keys Escape
expect_screen "Esc cancels it" 'cancelled'

# --- pinned, the unpin dialog, the : command line -----------------------------------
keys p
expect_screen "p pins the server" 'pinned at v3\.8\.2'
expect_screens main-pinned "main screen, a pinned component"
keys p
expect_screen "p on a pinned row asks first" 'Unpin server'
expect_screens dialog-unpin "the unpin dialog"
keys n
expect_screen "n keeps the pin" 'cancelled'
keys :
keys -l 'unp'; keys Tab
keys -l 'se'; keys Tab
expect_screen "the : line completes command and component" '^:unpin server _'
expect_screens cmdline "the : command line, completed"
keys Escape

# --- history and attempts ------------------------------------------------------------
keys h
expect_screen "h opens the history" 'record server v3\.8\.2'
expect_screens history "the history view"
keys Escape
keys l
expect_screen "l opens the attempts" 'attempts'
expect_screens attempts "the attempts view"
keys Escape

# --- paused schedule, engine gone -----------------------------------------------------
keys P
expect_screen "P pauses the schedule" 'paused'
expect_screens main-paused "main screen, the schedule paused"
expect_exit "the engine is stopped under the console" 0 tally stop
expect_screen "the console says the engine went away" 'engine went away'
expect_screens main-engine-gone "main screen, the engine gone" flash
console_stop
finish
