#!/usr/bin/env bash
# The console as an operator meets it (SPEC sections 2, 10, 12), at 80x24 on
# a fresh state directory: the first start builds nothing and rows say
# unchecked; c checks and the problem line says "press b to run now"; ages
# tick; a failed build shows its class, decisive line and hint, and the
# detail view (Enter) its evidence with the lines around it; dialogs take
# y, n and Enter on the reason; skipped versions show beside the state; the
# log search goes forward with a count; S saves the whole log under the
# state directory; the table filters, sorts and jumps to problems; unknown
# keys point to help; a pinned row says why and how to unpin.
. "$(dirname "$0")/lib.sh"
. "$TALLY_SRC/tests/console/tmux.sh"
start_registry
make_upstream v3.8.0 v3.8.1
make_chat_upstream v1.0.0
make_versions_repo
use_ctl_build
touch "$CTL/fail-v3.8.1"

# --- first start on a fresh state directory -----------------------------------
console_start 80 24
expect_screen "rows never read here say unchecked, not current" 'server +v3\.8\.0 +- +- +. unchecked'
expect_screen "the problem line says how to check" 'c checks it now'
expect_screen_file "the whole first screen at 80x24" main-fresh-80x24.txt
sleep 3
expect_eq "the first start made up no run (no attempt)" "$(ledger_lines server)" 0

keys c
expect_screen "after c the server is outdated" 'server +v3\.8\.0 +v3\.8\.1 +- +. outdated'
expect_screen "the problem line offers b" 'press b to run now'

# --- ages tick: the detail view's "read Ns ago" moves on its own -------------------
keys Enter
expect_screen "Enter opens the detail view" 'detail: server'
expect_screen "detail shows the candidate" 'candidate +v3\.8\.1'
a1=$(screen | sed -n 's/.*(read \([0-9]*s\) ago).*/\1/p')
sleep 2.2
a2=$(screen | sed -n 's/.*(read \([0-9]*s\) ago).*/\1/p')
check "the age ticks without input ($a1 -> $a2)" test -n "$a1" -a -n "$a2" -a "$a1" != "$a2"
keys Escape

# --- a failed build: class, decisive line, hint ------------------------------------
keys b
expect_screen "the failure's decisive line is on the problem line" \
	'server failed: recipe \(build exit 127\): /bin/sh: 1: wget: command not found' 60
expect_screen "the hint is on the line below" 'hint: '
check "status --json has the evidence (stage, argv, exit, line)" bash -c \
	"'$TALLY_BIN' -C '$V' --no-tui --json status server | jq -e 'select(.event==\"status\") | .evidence.stage == \"build\" and .evidence.exit == 127 and (.evidence.line | test(\"wget: command not found\")) and (.evidence.argv[0] | test(\"build.sh\"))' >/dev/null"
keys Enter
expect_screen "detail: the decisive line" 'decisive +/bin/sh: 1: wget: command not found'
expect_screen "detail: the lines around it, the line marked" '> +[0-9]+\| /bin/sh: 1: wget: command not found'
expect_screen "detail: the argv" 'argv +.*build\.sh v3\.8\.1'
expect_screen_file "the whole detail view of a failure at 80x24" detail-failed-80x24.txt
keys Escape

# --- log pane: forward search with a count, n moves on, S saves the whole file ----
keys Tab
keys / ; keys -l 'v3.8.1'; keys Enter
expect_screen "/ finds the first match forward, with a count" 'match 1/[0-9]+ at line'
keys n
expect_screen "n goes to the next match" 'match 2/[0-9]+ at line'
keys N
expect_screen "N goes back" 'match 1/[0-9]+ at line'
keys S
expect_screen "S says where it saved the whole log" 'saved the whole log: server-.*\.log \([0-9]+ bytes\) in /'
saved=$(find "$(state_dir)/saved" -name 'server-*.log' 2>/dev/null | head -1)
logf=$(find "$(state_dir)/logs/server" -name '*.log' | head -1)
check "the saved file is the whole log file" cmp -s "$saved" "$logf"
expect_eq "nothing was written into the versions repo" "$(git -C "$V" status --porcelain)" ""
keys t
expect_screen "t shows when each line arrived" '^[0-9]{2}:[0-9]{2}:[0-9]{2} /bin/sh: 1: wget: command not found'
expect_screen "  and the title says so" 'log: server .*\[times UTC\]'
check "  the times are kept beside the log file" test -s "$logf.times"
check "  the log file stays the build's own bytes" bash -c "head -1 '$logf' | grep -q '^tally: attempt '"
keys t
expect_screen "t again hides them" '^/bin/sh: 1: wget: command not found'
keys Tab

# --- table: filter, sort, next problem, unknown keys -----------------------------
keys / ; keys -l 'chat'; keys Enter
expect_screen "/ in the table filters the rows" 'components \(1 of 2\) /chat'
expect_no_screen "the server row is hidden" '^. server +v3' 0.3
keys / ; keys Enter
expect_screen "an empty filter shows every row again" 'components \(2\)'
keys o
expect_screen "o cycles the sort" 'sort: state'
keys G n
expect_screen "n in the table goes to the component with a problem" '▸ server '
keys Z
expect_screen "an unknown key says press ? for help" 'press \? for help'
keys '?'
expect_screen_file "the whole help at 80x24 (rows wrap, none cut mid-word)" help-80x24.txt
keys Escape

# --- dialogs: n cancels, typing the reason and Enter confirms --------------------
keys s
expect_screen "s opens the skip dialog with its own footer" 'y confirm +n/Esc cancel'
expect_screen_file "the whole skip dialog at 80x24" dialog-skip-80x24.txt
keys Escape
expect_screen "Esc cancels" 'cancelled'
keys s; wait_screen 'Skip server v3.8.1' 5
keys -l 'no wget'; keys Enter
for _ in $(seq 40); do git -C "$V" show HEAD:tally-holds.txt 2>/dev/null | grep -q 'skip server v3.8.1' && break; sleep 0.25; done
check "reason + Enter records the skip" bash -c "git -C '$V' show HEAD:tally-holds.txt | grep -q 'skip server v3.8.1 no wget'"
expect_screen "the skipped version shows beside the state" 'server: current · v3\.8\.1 skipped'

# --- pinned rows say why and how to unpin ---------------------------------------
keys p
expect_screen "a pinned row shows the pin and that it has no reason" 'pinned at v3\.8\.0 \(no reason given\)'
expect_screen "and how to unpin" 'p unpins'
keys p
expect_screen "p on a pinned row asks first" 'Unpin server'
keys n
expect_screen "n keeps the pin" 'cancelled'
check "still pinned" bash -c "git -C '$V' show HEAD:tally-holds.txt | grep -q '^pin server'"

# --- the : command line, completed from the command table and the components ----
keys :
keys -l 'unp'; keys Tab
expect_screen "Tab completes the command" '^:unpin _'
keys -l 'se'; keys Tab
expect_screen "Tab completes the component" '^:unpin server _'
keys Enter
for _ in $(seq 40); do git -C "$V" show HEAD:tally-holds.txt 2>/dev/null | grep -q '^pin server' || break; sleep 0.25; done
check ":unpin server ran the command (the pin is gone)" bash -c "! git -C '$V' show HEAD:tally-holds.txt | grep -q '^pin server'"
keys :
keys -l 'pin server kept for the demo'; keys Enter
for _ in $(seq 40); do git -C "$V" show HEAD:tally-holds.txt 2>/dev/null | grep -q '^pin server' && break; sleep 0.25; done
check ":pin COMP REASON... takes the rest of the line as the reason" bash -c "git -C '$V' show HEAD:tally-holds.txt | grep -q '^pin server v3.8.0 kept for the demo'"
keys :
keys -l 'stauts'; keys Enter
expect_screen "an unknown command on the : line says so" "unknown command 'stauts'"

keys q
for _ in $(seq 50); do console_dead && break; sleep 0.1; done
check "q quits" console_dead
expect_eq "  with exit status 0 (under ASan: no leak, no error)" "$(console_rc)" 0
console_stop
finish
