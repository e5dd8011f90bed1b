#!/usr/bin/env bash
# The mouse (SPEC section 10): a click on a table row selects it, a click in
# the log pane focuses it, the wheel over the log scrolls it three lines
# (and stops following; End follows again), the wheel over the table moves
# the selection. The events are the bytes a terminal sends for them (X10
# mouse encoding, ESC [ M button column row, each plus 32; screen-256color
# names it kmous), written into the console's terminal by tmux send-keys -H,
# as ncurses reads them from its input once it asked for mouse reports.
. "$(dirname "$0")/lib.sh"
. "$TALLY_SRC/tests/console/tmux.sh"
start_registry
make_upstream v3.8.0 v3.8.1
make_chat_upstream v1.0.0
make_versions_repo
use_chatty_build
not() { ! "$@"; }
echo 6000 >"$CTL/bytes-v3.8.1"
expect_exit "setup: ship v3.8.1 with a long log" 0 tally run server
expect_exit "setup: pause the schedule" 0 tally pause

# mouse BUTTON X Y: a press of BUTTON (0 left, 64 wheel up, 65 wheel down)
# at the 0-based cell X,Y, then for the left button its release
mouse() {
	keys -H 1b 5b 4d "$(printf %x $((32 + $1)))" "$(printf %x $((33 + $2)))" "$(printf %x $((33 + $3)))"
	if [ "$1" = 0 ]; then keys -H 1b 5b 4d 23 "$(printf %x $((33 + $2)))" "$(printf %x $((33 + $3)))"; fi
}
# table_focused: the selected row is drawn as in the focused table (its
# state cell reversed; with the focus in the log pane it is not)
table_focused() { screen -e | grep -F '▸' | grep -qE $'\e\\[([0-9;]*;)?7m'; }
# log_lines: the log pane's lines (below its title, above the footer)
log_lines() { screen | sed -n '/^── log: /,$p' | sed '1d;$d'; }

console_start 80 24
expect_screen "the console shows the table, server selected" '^▸ server +v3\.8\.1'
expect_screen "  the log pane follows the end of the log" 'log: server .*\[follow\]'
expect_screen "  and shows the log's last line" 'attempt .* ended: shipped'
# the table's rows: line 4 is server, line 5 chat (0-based rows 3 and 4)
mouse 0 10 4
expect_screen "a click on the chat row selects chat" '^▸ chat +v1\.0\.0'
expect_screen "  and the log pane shows chat's log" 'log: chat'
check "  the table has the focus" table_focused
mouse 0 10 15
check "a click in the log pane moves the focus to it" waitfor 5 not table_focused
mouse 0 10 3
expect_screen "a click on the server row selects server again" '^▸ server +v3\.8\.1'
expect_screen "  with server's log" 'log: server .*\[follow\]'
check "  and gives the table the focus back" waitfor 5 table_focused
before=$(log_lines)
mouse 64 10 15
expect_screen "the wheel up over the log stops following" 'log: server .*\[scrolled: End follows\]'
after=$(log_lines)
expect_eq "  and scrolls it up three lines (the old first line is now the fourth)" \
	"$(sed -n 4p <<<"$after")" "$(sed -n 1p <<<"$before")"
check "  the last line is no longer in view" bash -c "! grep -q 'ended: shipped' <<<\"\$0\"" "$after"
mouse 65 10 15
expect_screen "the wheel down scrolls back" 'ended: shipped'
expect_eq "  to the same lines" "$(log_lines)" "$before"
mouse 65 10 3
expect_screen "the wheel down over the table moves the selection down" '^▸ chat +v1\.0\.0'
mouse 64 10 4
expect_screen "the wheel up over the table moves it up" '^▸ server +v3\.8\.1'
keys q
for _ in $(seq 50); do console_dead && break; sleep 0.1; done
expect_eq "q quits with exit status 0" "$(console_rc)" 0
console_stop
finish
