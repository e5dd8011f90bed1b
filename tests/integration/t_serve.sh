#!/usr/bin/env bash
# tally serve (SPEC sections 8 and 12): the schedule makes up for the missed
# run at start, journal-style lines on stderr, one engine per repo, SIGTERM
# during a build cancels it after the grace period without recording, tally
# stop, pause lasting across restarts, pinned components never scheduled.
. "$(dirname "$0")/lib.sh"
start_registry
make_upstream v3.8.0 v3.8.1
make_chat_upstream v1.0.0
make_versions_repo
use_ctl_build
conf_set tally.schedule '* * * * *'
commit_versions "schedule every minute"
export TALLY_STOP_GRACE=1

SERVE_PID=
# start_serve NAME: tally serve in the background, stderr to $T/NAME.err
start_serve() {
	# as under systemd: $JOURNAL_STREAM names stderr, so lines get <N> prefixes
	: >"$T/$1.err"
	JOURNAL_STREAM=$(stat -c '%d:%i' "$T/$1.err") "$TALLY_BIN" -C "$V" serve >"$T/$1.out" 2>"$T/$1.err" &
	SERVE_PID=$!
	PIDS+=("$SERVE_PID")
	for _ in $(seq 50); do
		grep -q '^<6>serve pid=' "$T/$1.err" 2>/dev/null && return 0
		kill -0 "$SERVE_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
# wait_gone PID SECONDS: the process ended within SECONDS; its exit status in $GONE_RC
wait_gone() {
	local i
	for i in $(seq $(($2 * 10))); do
		kill -0 "$1" 2>/dev/null || { GONE_RC=0; wait "$1" || GONE_RC=$?; return 0; }
		sleep 0.1
	done
	return 1
}
# poll SECONDS CMD...: CMD succeeds within SECONDS
poll() {
	local s=$1 i; shift
	for i in $(seq $((s * 10))); do "$@" && return 0; sleep 0.1; done
	return 1
}
# alive PID: a live process (a zombie left to a parent that does not reap
# counts as gone; pid 0 or empty is never alive)
alive() { [ -n "${1:-}" ] && [ "$1" != 0 ] && ps -o stat= -p "$1" 2>/dev/null | grep -qv '^Z'; }
# missed_run: the last scheduled run of every component was an hour ago, so
# the next serve has one missed run to make up for at start (the engine keeps
# the time of the last scheduled run in STATE/schedule.json)
missed_run() {
	local t=$(($(date +%s) - 3600))
	mkdir -p "$(state_dir)"
	printf '{"server":%d,"chat":%d}\n' "$t" "$t" >"$(state_dir)/schedule.json"
}
record_is() { [ "$(record_of server-versions.txt server)" = "$1" ]; }

# --- a fresh state directory makes up nothing (SPEC section 12) ------------------
# (schedule '* * * * *' falls due within a minute; the check is that nothing
# starts at once: a made-up run starts in well under a second; the test
# starts early in a minute, so the 3 s do not cross a cron time)
while [ "$(date +%-S)" -gt 50 ]; do sleep 1; done
check "serve starts on a fresh state directory" start_serve s0
sleep 3
expect_eq "  no attempt at start" "$(ledger_lines server)" 0
check "  schedule.json says from when runs count" jq -e '._from.server > 0' "$(state_dir)/schedule.json"
expect_exit "  stop" 0 tally stop
check "  it ended" wait_gone "$SERVE_PID" 10

# --- journald prefixes only when $JOURNAL_STREAM is stderr ---------------------------
"$TALLY_BIN" -C "$V" serve >"$T/plain.out" 2>"$T/plain.err" &
SERVE_PID=$!
PIDS+=("$SERVE_PID")
for _ in $(seq 50); do grep -q '^serve pid=' "$T/plain.err" 2>/dev/null && break; sleep 0.1; done
check "serve into a file without JOURNAL_STREAM: plain lines" grep -q '^serve pid=' "$T/plain.err"
expect_exit "  stop" 0 tally stop
check "  it ended" wait_gone "$SERVE_PID" 10
check "  no line has a <N> prefix" bash -c '! grep -q "^<[0-7]>" "$1"' _ "$T/plain.err"
JOURNAL_STREAM=1:1 "$TALLY_BIN" -C "$V" serve >"$T/other.out" 2>"$T/other.err" &
SERVE_PID=$!
PIDS+=("$SERVE_PID")
for _ in $(seq 50); do grep -q 'serve pid=' "$T/other.err" 2>/dev/null && break; sleep 0.1; done
expect_exit "  stop" 0 tally stop
check "  it ended" wait_gone "$SERVE_PID" 10
check "a JOURNAL_STREAM naming another file: still no prefixes" bash -c '! grep -q "^<[0-7]>" "$1"' _ "$T/other.err"

# --- Type=notify: READY=1 and STOPPING=1 go to $NOTIFY_SOCKET ------------------------
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
open(sys.argv[1] + ".up", "w").close()
with open(sys.argv[2], "ab", buffering=0) as out:
    while True:
        out.write(s.recv(4096) + b"\n--\n")
' "$T/notify.sock" "$T/notify.got" &
PIDS+=($!)
for _ in $(seq 50); do [ -e "$T/notify.sock.up" ] && break; sleep 0.1; done
NOTIFY_SOCKET="$T/notify.sock" "$TALLY_BIN" -C "$V" serve >"$T/notify.out" 2>"$T/notify.err" &
SERVE_PID=$!
PIDS+=("$SERVE_PID")
for _ in $(seq 50); do grep -q 'READY=1' "$T/notify.got" 2>/dev/null && break; sleep 0.1; done
check "serve under systemd says READY=1 on \$NOTIFY_SOCKET" grep -q '^READY=1$' "$T/notify.got"
expect_exit "  stop" 0 tally stop
check "  it ended" wait_gone "$SERVE_PID" 10
check "  and it said STOPPING=1 first" grep -q '^STOPPING=1$' "$T/notify.got"

# --- at start, serve makes up for the missed run and ships ------------------------
n=$(commits)
# (the engine lingers 2 s between releasing its lock and exiting: tally stop
# must wait for the process, not only the lock)
pause_serve() { TALLY_PAUSE_AT=after-unlock TALLY_PAUSE_MS=2000 start_serve "$@"; }
missed_run
check "serve starts" pause_serve s1
check "  it ships the candidate at start (record v3.8.1 within 20 s)" poll 20 record_is v3.8.1
expect_eq "  one record commit" "$(commits)" $((n + 1))
expect_eq "  Tally-Action: ship" "$(commit_trailer HEAD Tally-Action)" ship
D1=$(commit_trailer HEAD Tally-Digest)
expect_eq "  latest-anolis has the recorded digest" "$(manifest_digest test/openim-server latest-anolis)" "${D1:-<none>}"
poll 5 grep -q '^<6>record ' "$T/s1.err" || true
check "  every journal line starts with a priority <0>..<7>" bash -c '! grep -vq "^<[0-7]>" "$1"' _ "$T/s1.err"
check "  the record is logged at <6> with key=value fields" grep -Eq '^<6>record .*component=server.*version=v3.8.1' "$T/s1.err"
check "  the shipped attempt is logged at <6>" grep -Eq '^<6>attempt .*result=shipped' "$T/s1.err"
expect_exit "a second serve on the same repo exits 3" 3 "$TALLY_BIN" -C "$V" serve
check "  it says why on stderr" grep -q 'another tally engine' "$T/last.err"
check "  it names the lock file, without '//' (issue 10)" grep -q "[^/]/tally.lock" "$T/last.err"
check "  the lock path has no '//' (issue 10)" bash -c '! grep -q "//tally.lock" "$1"' _ "$T/last.err"
expect_exit "status while serve runs is handed to the engine" 0 tally status
check "  and shows the engine's state" grep -Eq '^server +v3\.8\.1 ' "$T/last.out"
check "the first serve is still running" kill -0 "$SERVE_PID"
expect_exit "tally stop ends the running serve" 0 tally stop
check "  says stopped" grep -q 'stopped' "$T/last.out"
check "  the engine process is gone when stop returns (issue 10; it pauses 2 s after the unlock)" bash -c '! alive() { [ -n "$1" ] && ps -o stat= -p "$1" 2>/dev/null | grep -qv "^Z"; }; ! alive "$1"' _ "$SERVE_PID"
check "  serve has ended" wait_gone "$SERVE_PID" 2
expect_eq "  serve exited 0" "${GONE_RC:-?}" 0
check "  serve logged <6>stopped" grep -q '^<6>stopped' "$T/s1.err"
expect_exit "  the lock is free: status exits 0" 0 tally status
expect_exit "tally stop with no engine exits 0" 0 tally stop

# --- a failed scheduled attempt is logged at <3> ----------------------------------
git -C "$UP" tag v3.8.2
touch "$CTL/fail-v3.8.2"
la=$(ledger_lines server)
missed_run
check "serve starts with a failing candidate" start_serve s2
check "  the attempt fails" poll 20 bash -c '[ "$(jq -r "select(.component == \"server\") | .id" "$1" 2>/dev/null | sort -u | wc -l)" -gt "$2" ]' _ "$(state_dir)/ledger.jsonl" "$la"
poll 5 grep -q '^<3>attempt ' "$T/s2.err" || true
check "  the failure is logged at <3> with its class" grep -Eq '^<3>attempt .*result=failed.*class=recipe' "$T/s2.err"
check "  every journal line starts with a priority" bash -c '! grep -vq "^<[0-7]>" "$1"' _ "$T/s2.err"
expect_eq "  record unchanged" "$(record_of server-versions.txt server)" v3.8.1
kill -TERM "$SERVE_PID"
check "  SIGTERM with nothing running ends serve quickly" wait_gone "$SERVE_PID" 5
rm -f "$CTL/fail-v3.8.2"

# --- pause lasts across restarts: nothing is scheduled ------------------------------
expect_exit "pause with no engine running" 0 tally pause
la=$(ledger_lines server); n=$(commits)
missed_run
check "serve starts while paused" start_serve s3
sleep 5
expect_eq "  no attempt within 5 s" "$(ledger_lines server)" "$la"
expect_eq "  no commit" "$(commits)" "$n"
expect_exit "  stop" 0 tally stop
expect_exit "resume" 0 tally resume

# --- pinned components are never scheduled -----------------------------------------
expect_exit "pin server" 0 tally pin server
la=$(ledger_lines server); n=$(commits)
missed_run
check "serve starts with server pinned" start_serve s4
sleep 5
expect_eq "  no attempt within 5 s (upstream v3.8.2 is newer)" "$(ledger_lines server)" "$la"
expect_eq "  no commit" "$(commits)" "$n"
check "  no attempt logged" bash -c '! grep -q "^<[0-7]>attempt " "$1"' _ "$T/s4.err"
# unpin starts nothing: the run that fell due while pinned is not made up
# (early in a minute, so the 3 s below cross no cron time)
while [ "$(date +%-S)" -gt 50 ]; do sleep 1; done
expect_exit "  unpin server (handed to serve)" 0 tally unpin server
sleep 3
expect_eq "  unpin started no attempt within 3 s" "$(ledger_lines server)" "$la"
expect_eq "  one commit: the unpin" "$(commits)" "$((n + 1))"
expect_exit "  stop" 0 tally stop

# --- SIGTERM during a build --------------------------------------------------------
echo 30 >"$CTL/sleep-v3.8.2"
rm -f "$CTL/pid-v3.8.2" "$CTL/sleeppid-v3.8.2"
n=$(commits); logs0=$(count_logs server)
missed_run
check "serve starts with a slow build" start_serve s5
check "  the attempt's log file appears" poll 20 bash -c '[ "$(find "$1" -name "*.log" | wc -l)" -gt "$2" ]' _ "$(state_dir)/logs/server" "$logs0"
check "  the build is sleeping" poll 10 test -s "$CTL/sleeppid-v3.8.2"
bpid=$(cat "$CTL/pid-v3.8.2" 2>/dev/null || echo 0)
spid=$(cat "$CTL/sleeppid-v3.8.2" 2>/dev/null || echo 0)
check "  the build script and its sleep are alive" bash -c "$(declare -f alive); alive $bpid && alive $spid"
t0=$(date +%s)
kill -TERM "$SERVE_PID"
check "  serve ends within grace (1 s) + 4 s" wait_gone "$SERVE_PID" 5
echo "    (took $(($(date +%s) - t0)) s)"
expect_eq "  serve exited 0" "${GONE_RC:-?}" 0
check "  serve logged a grace of 1 and the cancel" grep -q '^<5>stopping grace=1' "$T/s5.err"
expect_eq "  the record is unchanged" "$(record_of server-versions.txt server)" v3.8.1
expect_eq "  no commit" "$(commits)" "$n"
check "  working tree clean" test -z "$(git -C "$V" status --porcelain)"
expect_eq "  the ledger says cancelled" "$(ledger_entry "$(last_attempt_id server)" | jq -r '"\(.version) \(.result)"')" "v3.8.2 cancelled"
check "  the build process is gone" poll 3 bash -c "$(declare -f alive); ! alive $bpid"
check "  the build's child (its sleep) is gone too" poll 3 bash -c "$(declare -f alive); ! alive $spid"
expect_exit "  the lock is released: status exits 0" 0 tally status
check "  nothing v3.8.2 in the registry" test "$(manifest_status v3.8.2-anolis)" = 404
rm -f "$CTL/sleep-v3.8.2"

# --- SIGTERM while the scheduled run still reads the upstream ---------------------
# The upstream answers after 3 s; serve gets SIGTERM 0.5 s after the schedule
# fired, with a grace of 10 s. "Stops scheduling" means the attempt that the
# check would have planned never starts.
SLOW_PORT=$(free_port)
python3 - "$SLOW_PORT" <<'PY' &
import http.server, sys, time
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        time.sleep(3)
        body = b"image: openim-server:v3.8.3\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
PIDS+=($!)
poll 5 python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])))" "$SLOW_PORT" 2>/dev/null || true
conf_set component.server.upstream "file-regex http://127.0.0.1:$SLOW_PORT/compose.yml"
conf_set component.server.match 'openim-server:(v[0-9.]+)'
commit_versions "server upstream answers slowly"
n=$(commits); la=$(ledger_lines server)
missed_run
TALLY_STOP_GRACE=10 start_serve s6
check "serve fires the schedule" poll 5 grep -q '^<6>schedule' "$T/s6.err"
sleep 0.5
kill -TERM "$SERVE_PID"
check "  serve ends within 15 s" wait_gone "$SERVE_PID" 15
# A check in flight at SIGTERM must not plan an attempt once the engine is
# stopping (it once ran a whole attempt during the grace period).
check "  no attempt started after stopping" bash -c '! sed -n "/^<5>stopping/,\$p" "$1" | grep -q "stage=build result=started"' _ "$T/s6.err"
expect_eq "  no attempt in the ledger" "$(ledger_lines server)" "$la"
expect_eq "  record unchanged, no commit" "$(record_of server-versions.txt server) $(commits)" "v3.8.1 $n"
finish
