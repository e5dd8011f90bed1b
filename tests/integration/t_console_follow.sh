#!/usr/bin/env bash
# The log pane follows a running build (a build that prints a line every
# 0.1 s), stops following when scrolled (the screen stays put while the
# build goes on), follows again with End, and / finds a line.
. "$(dirname "$0")/lib.sh"
. "$TALLY_SRC/tests/console/tmux.sh"
start_registry
make_upstream v3.8.0 v3.8.1
make_chat_upstream v1.0.0
make_versions_repo
cat >"$V/dockerfiles/build-slow.sh" <<'SH'
#!/bin/sh
i=1
while [ $i -le 200 ]; do echo "slow line $i"; i=$((i + 1)); sleep 0.1; done
exec buildah --storage-driver vfs build --isolation chroot -q -t "$1" -f dockerfiles/Containerfile.server dockerfiles
SH
chmod +x "$V/dockerfiles/build-slow.sh"
conf_set component.server.build 'dockerfiles/build-slow.sh {ref}'
git config -f "$V/tally.conf" --replace-all component.server.recipe dockerfiles/build-slow.sh
commit_versions "slow build"
expect_exit "setup: check" 0 tally check
expect_exit "setup: pause the schedule" 0 tally pause

console_start 80 24
expect_screen "server is outdated" 'server +v3\.8\.0 +v3\.8\.1 .*outdated'
keys b
expect_screen "the build runs" 'server +v3\.8\.0 +v3\.8\.1 .*building'
expect_screen "the log pane shows live output" 'slow line [0-9]+' 10
expect_screen "following, the pane shows newer lines" 'slow line (2[0-9]|[3-9][0-9])$' 10
expect_screen "the title says follow" 'log: server .* \(live\) \[follow\]'
last1=$(screen | grep -Eo 'slow line [0-9]+' | tail -1)
sleep 1.5
last2=$(screen | grep -Eo 'slow line [0-9]+' | tail -1)
check "the bottom line moves on ($last1 -> $last2)" test "$last1" != "$last2"

# scroll: focus the log, up one line
keys Tab k
expect_screen "scrolling stops following" '\[scrolled: End follows\]' 5
s1=$(screen | sed -n '8,23p')
sleep 1.5
s2=$(screen | sed -n '8,23p')
expect_eq "the scrolled pane stays put while the build prints" "$s2" "$s1"
keys End
expect_screen "End follows again" 'log: server .*\[follow\]' 5
sleep 1
last3=$(screen | grep -Eo 'slow line [0-9]+' | tail -1)
check "following again shows the newest lines ($last2 -> $last3)" test "${last3#slow line }" -gt "${last2#slow line }"

keys / ; keys -l 'slow line 3'; keys Enter
expect_screen "/ finds a match in the live log" 'match [0-9]+/[0-9]+ at line [0-9]+' 5
keys w
expect_screen "w toggles wrap" 'wrap on' 5
keys Tab
console_stop
finish
