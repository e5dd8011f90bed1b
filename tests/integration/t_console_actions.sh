#!/usr/bin/env bash
# The console at 80x24 against a real versions repo, registry and buildah:
# the table shows recorded/upstream/built; c, b, f (cancel and confirm), s,
# p, R send their commands; / finds a match in the log; resize redraws and
# a screen below 80x24 shows a message.
. "$(dirname "$0")/lib.sh"
. "$TALLY_SRC/tests/console/tmux.sh"
start_registry
make_upstream v3.8.0 v3.8.1
make_chat_upstream v1.0.0
make_versions_repo
# history: v3.8.1 then v3.8.2 shipped (reset offers v3.8.1); v3.8.3 waits
expect_exit "setup: ship v3.8.1" 0 tally run server
git -C "$UP" tag v3.8.2
expect_exit "setup: ship v3.8.2" 0 tally run server
git -C "$UP" tag v3.8.3
expect_exit "setup: check" 0 tally check
# the engine the console starts would make up a missed scheduled run and
# ship v3.8.3 at once: the schedule stays paused in this test
expect_exit "setup: pause the schedule" 0 tally pause

console_start 80 24
expect_screen "header names repo, branch and [RW]" 'tally .* versions main \[RW\]'
expect_screen "server row: recorded v3.8.2, upstream v3.8.3, built v3.8.2, outdated" \
	'server +v3\.8\.2 +v3\.8\.3 +v3\.8\.2 +. outdated'
expect_screen "chat row: recorded v1.0.0, upstream v1.0.0" 'chat +v1\.0\.0 +v1\.0\.0 +- +. current'
expect_screen "footer offers the action keys" 'r retry.*f rebuild'
expect_screen "log pane shows the last attempt's log" 'attempt .*-server-.* ended: shipped'

keys c
expect_screen "c checks the selected component" 'check server: done'

# / search in the log pane (Tab goes there; / in the table filters it)
keys Tab
keys / ; keys -l 'Writing manifest'; keys Enter
expect_screen "/ finds a match" 'match 1/[0-9]+ at line [0-9]+'
expect_screen "the log title shows the search" '/Writing mani'
keys Tab

# f: Cancel is selected; Enter cancels
head0=$(git -C "$V" rev-parse HEAD)
keys f
expect_screen "f opens the rebuild dialog" 'Force rebuild server v3\.8\.2'
expect_screen "the dialog states what stays recorded" 'record stays v3\.8\.2'
expect_screen "Cancel is offered" '\[ Rebuild \].*\[ Cancel \]'
expect_screen "the footer shows the dialog's keys" 'y confirm +n/Esc cancel'
keys Enter
expect_screen "Enter on the default cancels" 'cancelled'
sleep 1
expect_eq "cancel changed nothing" "$(git -C "$V" rev-parse HEAD)" "$head0"

# f confirmed
keys f; wait_screen 'Force rebuild' 5; keys n
expect_screen "n cancels" 'cancelled'
keys f; wait_screen 'Force rebuild' 5; keys y
for _ in $(seq 120); do [ "$(git -C "$V" log -1 --format=%s)" = "rebuild server v3.8.2" ] && break; sleep 0.5; done
expect_eq "f confirmed rebuilds the record" "$(git -C "$V" log -1 --format=%s)" "rebuild server v3.8.2"

# s: skip the candidate with a reason
keys s
expect_screen "s opens the skip dialog" 'Skip server v3\.8\.3'
expect_screen "skip says the record stays" 'record stays v3\.8\.2'
# typing the reason and Enter is all it takes
keys -l 'wget missing'; keys Enter
for _ in $(seq 40); do git -C "$V" show HEAD:tally-holds.txt 2>/dev/null | grep -q 'skip server v3.8.3' && break; sleep 0.25; done
check "s records the skip with its reason" bash -c "git -C '$V' show HEAD:tally-holds.txt | grep -q 'skip server v3.8.3 wget missing'"

# p: pin
keys p
expect_screen "p pins the component" 'server .*pinned' 20
expect_screen "a pinned row shows how to unpin" 'p unpins'
keys p
expect_screen "p on a pinned row asks first, saying what the next run ships" 'unpin: '
keys y
expect_screen "y unpins it" 'unpin server: done' 20

# R: reset offers the versions that shipped before
keys R
expect_screen "R opens the reset dialog" 'Reset server'
expect_screen "reset offers v3.8.1" 'v3\.8\.1'
expect_screen "reset says the record stays" 'record stays v3\.8\.2'
keys Enter
for _ in $(seq 120); do [ "$(record_of server-versions.txt server)" = v3.8.1 ] && break; sleep 0.5; done
expect_eq "R confirmed resets the record" "$(record_of server-versions.txt server)" v3.8.1

# resize
console_resize 120 40
sleep 0.5
check "resize to 120x40 redraws at the new width" bash -c "[ \$(tmux -S '$TMUX_SOCK' capture-pane -p -t t | awk '{ if (length > m) m = length } END { print m }') -gt 100 ]"
console_resize 70 20
expect_screen "below 80x24 a message" 'needs at least 80x24'
console_resize 80 24
expect_screen "back at 80x24 the table returns" 'server +v3\.8\.'
keys C-l
expect_screen "Ctrl-L redraws" 'COMPONENT +RECORDED +UPSTREAM +BUILT'

keys q
for _ in $(seq 50); do console_dead && break; sleep 0.1; done
check "q quits" console_dead
check "q says the engine keeps running and how to stop it" bash -c "tmux -S '$TMUX_SOCK' capture-pane -p -J -S -100 -t t | grep -Eq 'engine [0-9]+ keeps running; next run .*; .tally stop. ends it'"
console_stop
finish
