#!/usr/bin/env bash
# issue 10, defect 4: a push wrapper's child outlives a kill -9 of the
# engine (PR_SET_PDEATHSIG reaches only the direct child) and would write
# late. The next engine ends the left-over process group before anything
# runs: the child is gone before the new run pushes, and its late write
# never happens.
. "$(dirname "$0")/lib.sh"
start_registry
make_upstream v3.8.0 v3.8.1
make_chat_upstream v1.0.0
make_versions_repo
CTL="$T/ctl"
mkdir -p "$CTL"
cat >"$V/dockerfiles/push.sh" <<SH
#!/bin/sh
# push.sh TLSVERIFY DIGESTFILE REF: buildah push, steered by files in $CTL
ctl=$CTL
if [ -e "\$ctl/hang" ]; then
	# a helper that would write late (think: PUT the old digest)
	( while [ ! -e "\$ctl/go" ]; do sleep 0.1; done; touch "\$ctl/marker" ) &
	echo \$! >"\$ctl/gc-pid"
	echo pushing >"\$ctl/pushing"
	sleep 600
	exit 1
fi
# a zombie nobody reaps (pid 1 in a container may not) counts as gone
if ps -o stat= -p "\$(cat "\$ctl/gc-pid")" 2>/dev/null | grep -qv '^Z'; then echo alive; else echo gone; fi >"\$ctl/at-push"
exec buildah push --tls-verify="\$1" --digestfile "\$2" "\$3" "docker://\$3"
SH
chmod +x "$V/dockerfiles/push.sh"
conf_set component.server.push "dockerfiles/push.sh {tlsverify} {digestfile} {ref}"
commit_versions "server pushes through push.sh"
alive() { [ -n "${1:-}" ] && ps -o stat= -p "$1" 2>/dev/null | grep -qv '^Z'; }

touch "$CTL/hang"
"$TALLY_BIN" -C "$V" --no-tui run server >"$T/run1.out" 2>&1 &
TP=$!
PIDS+=("$TP")
check "the first run reaches push" waitfor 180 test -e "$CTL/pushing"
kill -9 "$TP"
wait "$TP" 2>/dev/null || true
GC=$(cat "$CTL/gc-pid")
check "after kill -9 of the engine, the push wrapper's child is still alive" alive "$GC"
check "  its group is recorded in the state directory" test -e "$(state_dir)/procs/$(ps -o pgid= -p "$GC" | tr -d ' ')"
rm -f "$CTL/hang"
expect_exit "the next run ships" 0 tally run server
expect_eq "  the left-over child was gone when it pushed" "$(cat "$CTL/at-push" 2>/dev/null)" gone
check "  and is gone now" bash -c '! ps -o stat= -p "$1" 2>/dev/null | grep -qv "^Z"' _ "$GC"
expect_eq "  the record is v3.8.1" "$(record_of server-versions.txt server)" v3.8.1
check "  nothing left in procs/" test -z "$(ls -A "$(state_dir)/procs")"
touch "$CTL/go"
sleep 1
check "the late write never happens" test ! -e "$CTL/marker"
finish
