#!/usr/bin/env bash
# Issue 10, defect 5: a busy component is not a failure. A batch run, retry
# or rebuild that meets an attempt in flight for the same component (the
# serve engine's, or another batch command's) waits for it, says so,
# reports its outcome, and starts its own only if work remains. A batch
# command's in-process engine listens on the socket like serve, so a second
# command (a skip typed during a long run) is handed to it.
. "$(dirname "$0")/lib.sh"
start_registry
make_upstream v3.8.0 v3.8.1
git init -q "$T/chat-upstream"
git -C "$T/chat-upstream" commit -q --allow-empty -m i
git -C "$T/chat-upstream" tag v1.0.0
not() { ! "$@"; }

# bg NAME CMD...: a tally batch command in the background, output in
# $T/NAME.out/.err, exit status in $T/NAME.rc
bg() {
	local n=$1; shift
	rm -f "$T/$n.rc"
	( rc=0; "$TALLY_BIN" -C "$V" --no-tui "$@" >"$T/$n.out" 2>"$T/$n.err" || rc=$?; echo $rc >"$T/$n.rc" ) &
	PIDS+=("$!")
}
rc_of() { waitfor 120 test -s "$T/$1.rc" && cat "$T/$1.rc"; }
building() { test -s "$CTL/sleeppid-$1"; }
records() { git -C "$V" log --format=%s | grep -cx "$1" || true; }

# --- (a) serve runs the attempt; a batch run meets it and waits -------------
fresh_versions_repo hb-a
rm -rf "$T/ctl"; use_ctl_build
echo 4 >"$CTL/sleep-v3.8.1"
serve_bg serve-a
bg first run server
check "a: the first run's build is in flight" waitfor 30 building v3.8.1
expect_exit "a: a second run meets it, waits, and exits 0" 0 tally run server
check "a: it said it waits" grep -q "already running.*waiting for it" "$T/last.err"
check "a: it reported the outcome" grep -q "^server v3.8.1: shipped" "$T/last.out"
check "a: not refused" not grep -q "not started" "$T/last.out" "$T/last.err"
expect_eq "a: the first run exits 0" "$(rc_of first)" 0
expect_eq "a: one record commit (nothing built twice)" "$(records 'record server v3.8.1')" 1
expect_eq "a: one build" "$(cat "$(tally_log_dir)"/server/*.log | grep -c 'ctl build of v3.8.1')" 1

# --- (b) a rebuild asked for while a ship runs: runs after it ---------------
git -C "$UP" tag v3.8.2
rm -f "$CTL/sleeppid-v3.8.2"; echo 4 >"$CTL/sleep-v3.8.2"
bg ship run server
check "b: the ship of v3.8.2 is in flight" waitfor 30 building v3.8.2
expect_exit "b: rebuild waits for it, then rebuilds, exit 0" 0 tally rebuild server
check "b: it said it waits" grep -q "waiting for it" "$T/last.err"
expect_eq "b: the ship exits 0" "$(rc_of ship)" 0
expect_eq "b: HEAD is the rebuild of the new record" "$(git -C "$V" log -1 --format=%s)" "rebuild server v3.8.2"
expect_eq "b: HEAD^ is the record" "$(git -C "$V" log -1 --format=%s HEAD^)" "record server v3.8.2"
# the rebuild that waited keeps its own cause (issue 15), not a bare "operator"
expect_eq "b: the waited rebuild's Tally-Cause is the rebuild's" \
	"$(git -C "$V" log -1 --format='%(trailers:key=Tally-Cause,valueonly)' | sed '/^$/d')" \
	"operator: tally rebuild server"
expect_exit "b: verify exit 0" 0 tally verify server
expect_exit "b: stop serve" 0 tally stop
check "b: serve ended" proc_gone "$SERVE_PID" 30

# --- (c) no serve: the in-process engine of a batch run takes a skip -------
fresh_versions_repo hb-c
rm -rf "$T/ctl"; use_ctl_build
echo 5 >"$CTL/sleep-v3.8.2"
bg long run
check "c: the long run's build is in flight" waitfor 30 building v3.8.2
check "c: the batch engine listens on its socket" test -S "$(sock_path)"
expect_exit "c: a dry run meanwhile does not wait, exit 0" 0 tally run --dry-run server
check "c: it prints the plan" grep -q "^server v3.8.2: would ship" "$T/last.out"
check "c: the long run is still building" test -z "$(cat "$T/long.rc" 2>/dev/null)"
expect_exit "c: skip typed meanwhile is handed to it, exit 0" 0 tally skip chat v1.0.1 --reason later
check "c: no 'cannot attach'" not grep -q "cannot attach" "$T/last.err"
check "c: the skip is committed" grep -qx 'skip chat v1.0.1 later' "$V/tally-holds.txt"
expect_exit "c: a second run meanwhile waits, exit 0" 0 tally run server
check "c: it said it waits" grep -q "waiting for it" "$T/last.err"
expect_eq "c: the long run exits 0" "$(rc_of long)" 0
expect_eq "c: one record commit" "$(records 'record server v3.8.2')" 1
expect_eq "c: working tree clean" "$(git -C "$V" status --porcelain)" ""
expect_exit "c: tally stop after the run" 0 tally stop
check "c: the batch engine let go of the repo when its run ended" grep -q "no engine is running" "$T/last.out"

# --- (d) retry meets the retry in flight: that outcome is its own ----------
fresh_versions_repo hb-d
rm -rf "$T/ctl"; use_ctl_build
touch "$CTL/fail-v3.8.2"
expect_exit "d: the run fails" 1 tally run
rm "$CTL/fail-v3.8.2"
rm -f "$CTL/sleeppid-v3.8.2"; echo 4 >"$CTL/sleep-v3.8.2"
bg r1 retry server
check "d: the first retry is in flight" waitfor 30 building v3.8.2
expect_exit "d: the second retry waits and exits 0" 0 tally retry server
check "d: it said it waits" grep -q "waiting for it" "$T/last.err"
check "d: it reported the outcome" grep -q "^server v3.8.2: shipped" "$T/last.out"
expect_eq "d: the first retry exits 0" "$(rc_of r1)" 0
expect_eq "d: one record commit" "$(records 'record server v3.8.2')" 1

# --- (e) a run meets a failing attempt: its failure is reported, once ------
git -C "$UP" tag v3.8.3
# this build sleeps before it fails
sed -i 's|^echo \$\$ >"\$ctl/pid-\$v"$|&\n[ -e "\$ctl/presleep-\$v" ] \&\& sleep "\$(cat "\$ctl/presleep-\$v")"|' "$V/dockerfiles/build.sh"
grep -q presleep "$V/dockerfiles/build.sh"
commit_versions "build.sh sleeps first"
touch "$CTL/fail-v3.8.3"
echo 3 >"$CTL/presleep-v3.8.3"
bg f1 run server
check "e: the failing attempt is in flight" waitfor 30 test -s "$CTL/pid-v3.8.3"
expect_exit "e: the waiting run reports that failure, exit 1" 1 tally run server
check "e: it said it waits" grep -q "waiting for it" "$T/last.err"
check "e: it reported the failure" grep -q "^server v3.8.3: failed" "$T/last.out"
expect_eq "e: the first run exits 1" "$(rc_of f1)" 1
expect_eq "e: it did not build the failing version twice" \
	"$(cat "$(tally_log_dir)"/server/*.log | grep -c 'ctl build of v3.8.3')" 1
finish
