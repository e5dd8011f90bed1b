#!/usr/bin/env bash
# The console's modes at 120x40 and 80x24: --readonly refuses actions and
# keeps history; NO_COLOR gives no colour escapes; a bad theme file gives a
# file:line error and the built-in default; --ascii draws ASCII lines; the
# help view comes from the key table.
. "$(dirname "$0")/lib.sh"
. "$TALLY_SRC/tests/console/tmux.sh"
start_registry
make_upstream v3.8.0 v3.8.1
make_chat_upstream v1.0.0
make_versions_repo
expect_exit "setup: ship v3.8.1" 0 tally run server
n0=$(commits)

expect_exit "setup: pause the schedule" 0 tally pause
# --- read-only at 120x40: watch attaches to a running engine ---
"$TALLY_BIN" -C "$V" serve >"$T/serve.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do [ -S "$(state_dir)/engine.sock" ] && break; sleep 0.1; done
console_start 120 40 -- --readonly
expect_screen "read-only header says [RO]" 'versions main \[RO\]'
# a watch connection may send the read-only commands (status, history, ...)
expect_screen "120x40: server row recorded/upstream/built" 'server +v3\.8\.1 +v3\.8\.1 +v3\.8\.1 +. current'
expect_screen_file "the watch screen at 120x40 (all but the build's log lines)" watch-120x40.txt '9,39d'
expect_no_screen "read-only footer offers no action keys" 'r retry|f rebuild|c check' 0.5
keys r
expect_screen "r says read-only" 'read-only'
keys f
expect_screen "f says read-only" 'read-only: rebuild'
expect_no_screen "no dialog opens" 'Force rebuild' 0.5
keys h
expect_screen "history still works" 'record server v3\.8\.1'
expect_screen "history shows the trailers" 'Tally-Action: ship'
expect_screen "history shows Tally-Cause" 'Tally-Cause: upstream v3\.8\.1 released'
expect_screen "history shows Tally-Base" 'Tally-Base: '
expect_screen "history shows the host that shipped it" "Tally-Host: $(hostname -s)\b"
keys Escape
keys '?'
expect_screen "help is generated from the key table" 'Tab +switch-pane +switch between the table and the log pane'
expect_no_screen "read-only help hides action keys" 'force rebuild: ship' 0.3
keys q q
for _ in $(seq 50); do console_dead && break; sleep 0.1; done
check "q quits the read-only console" console_dead
expect_eq "read-only made no commit" "$(commits)" "$n0"
console_stop

# --- colours: on by default, off with NO_COLOR ---
console_start 80 24
wait_screen 'server +v3' 10
check "default theme uses colour" bash -c "tmux -S '$TMUX_SOCK' capture-pane -e -p -t t | grep -qE $'\e\\\\[([0-9;]*;)?(3[0-7]|4[0-7]|38;5;[0-9]+|48;5;[0-9]+)(;[0-9;]*)?m'"
console_stop
console_start 80 24 NO_COLOR=1
wait_screen 'server +v3' 10
check "NO_COLOR: no colour escapes" bash -c "! tmux -S '$TMUX_SOCK' capture-pane -e -p -t t | grep -qE $'\e\\\\[([0-9;]*;)?(3[0-7]|4[0-7]|9[0-7]|10[0-7]|38;|48;)([0-9;]*)?m'"
check "NO_COLOR: attributes remain (reverse header)" bash -c "tmux -S '$TMUX_SOCK' capture-pane -e -p -t t | grep -qE $'\e\\\\[([0-9;]*;)?7(;[0-9;]*)?m'"
console_stop
console_start 80 24 -- --no-color
wait_screen 'server +v3' 10
check "--no-color: no colour escapes" bash -c "! tmux -S '$TMUX_SOCK' capture-pane -e -p -t t | grep -qE $'\e\\\\[([0-9;]*;)?(3[0-7]|4[0-7]|9[0-7]|10[0-7]|38;|48;)([0-9;]*)?m'"
console_stop

# --- themes ---
mkdir -p "$T/config/tally/themes"
printf '# broken\nheader = white blue bold\nfailed = purpel default\n' >"$T/config/tally/themes/bad.theme"
console_start 80 24 XDG_CONFIG_HOME="$T/config" -- --theme bad
expect_screen "a bad theme gives file:line" 'bad\.theme:3: failed: unknown colour .purpel'
expect_screen "and the built-in default" 'built-in default theme used'
expect_screen "the console still runs" 'server +v3\.8\.1'
console_stop
for th in light high-contrast deuteranopia mono default; do
	console_start 80 24 -- --theme "$th"
	expect_screen "theme $th loads" 'server +v3\.8\.1' 10
	expect_no_screen "theme $th has no error" 'theme|unknown' 0.3
	console_stop
done
printf 'selected = color208 color17\n' >"$T/config/tally/themes/c256.theme"
console_start 80 24 XDG_CONFIG_HOME="$T/config" TERM=screen -- --theme c256
expect_screen "256-colour theme on an 8-colour terminal" 'server +v3\.8\.1' 10
check "8-colour terminal gets no 256-colour escapes" bash -c "! tmux -S '$TMUX_SOCK' capture-pane -e -p -t t | grep -qE $'\e\\\\[[0-9;]*38;5;'"
console_stop

# --- ASCII lines ---
console_start 80 24 -- --ascii
expect_screen "--ascii draws ASCII rules" '^-- components \(2\) -+$'
expect_no_screen "--ascii: no box-drawing characters" '─|│|▸' 0.3
console_stop
console_start 80 24 LANG=C LC_ALL=C
expect_screen "a non-UTF-8 locale draws ASCII rules" '^-- components \(2\) -+$'
console_stop
finish
