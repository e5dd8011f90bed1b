#!/usr/bin/env bash
# The engine socket (SPEC section 8, engine/server.h): one `tally serve`,
# many front ends. Several clients see the same build; watch connections are
# refused commands; batch commands are handed to the engine and print only
# their own job; a client that goes away or stops reading harms nothing;
# garbage, huge lines and silence are disconnected; kill -9 of the engine
# leaves the repo consistent and the next engine starts cleanly; tally stop
# [--now]. Clients are tests/fixtures/sockclient.py (python3, stdlib).
. "$(dirname "$0")/lib.sh"
start_registry
make_upstream v3.8.0
make_chat_upstream v1.0.0
make_versions_repo
use_chatty_build
export TALLY_STOP_GRACE=2

# the schedule stays out of the way: every build here is asked for
tally pause >/dev/null

recorded() { record_of server-versions.txt server; }
record_is() { [ "$(recorded)" = "$1" ]; }
# attempt_of VERSION: the last ledger entry of the server attempt for VERSION
# that has a result
attempt_of() {
	jq -c -s --arg v "$1" 'map(select(.component == "server" and .version == $v and .result != null and .result != "verified")) | last // empty' \
		"$(state_dir)/ledger.jsonl" 2>/dev/null
}
has_result() { [ -n "$(attempt_of "$1")" ]; }
# attempt_secs VERSION: the attempt's wall time (sum of its stages, from the ledger)
attempt_secs() { attempt_of "$1" | jq -r '[.stages[].seconds] | add | . * 100 | round / 100'; }
# stages_of NAME ATTEMPT: "stage result" lines a sockclient saw for an attempt
stages_of() {
	sc_events "$1" | jq -r --arg a "$2" 'select(.event == "stage" and .attempt == $a) | "\(.stage) \(.result)"'
}
# kick VERSION: ask the engine to run server through a client that leaves at
# once (the build then runs with no client attached)
kick() {
	python3 "$SOCKCLIENT" "$(sock_path)" --cmd '{"cmd":"run","components":["server"]}' --duration 0.5 >"$T/kick-$1.ev"
}
connectable() { python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])' "$1" 2>/dev/null; }
alive() { [ -n "${1:-}" ] && ps -o stat= -p "$1" 2>/dev/null | grep -qv '^Z'; }
ended() { grep -q '^# .* end reason=' "$T/$1.ev" 2>/dev/null; }

check "serve starts and listens" serve_bg s1
SOCK=$(sock_path)
check "  the lock file names the socket in the state dir" test "$SOCK" = "$(state_dir)/engine.sock"
check "  the socket is a socket, mode 0600 (no tally.group)" test "$(stat -c '%F %a' "$SOCK")" = "socket 600"

# a client that never says anything: closed after 10 s (checked further on)
sockclient silent --silent
SILENT_PID=$SC_PID
silent_t0=$(date +%s)

# --- malformed input is disconnected; the engine keeps serving ---------------------
python3 "$SOCKCLIENT" "$SOCK" --garbage --duration 5 --out "$T/garbage.ev"
check "garbage: an input error comes back" bash -c "grep -v '^#' '$T/garbage.ev' | grep -q '\"event\":\"error\".*not a JSON object'"
check "garbage: the engine closes the connection (eof before 5 s)" grep -q 'end reason=eof' "$T/garbage.ev"
python3 "$SOCKCLIENT" "$SOCK" --mode none --garbage --duration 5 --out "$T/garbage0.ev"
check "garbage instead of a hello: closed too" grep -q 'end reason=eof' "$T/garbage0.ev"
python3 "$SOCKCLIENT" "$SOCK" --mode none --cmd '{"cmd":"run","components":["server"]}' --duration 5 --out "$T/nohello.ev"
check "a command before the hello: closed" grep -q 'end reason=eof' "$T/nohello.ev"
python3 "$SOCKCLIENT" "$SOCK" --huge $((2 * 1024 * 1024)) --duration 5 --out "$T/huge.ev"
check "a 2 MiB line: the connection ends (eof or reset) before 5 s" grep -Eq 'end reason=(eof|error)' "$T/huge.ev"
check "  and no job was accepted for it" bash -c "! grep -q '\"event\":\"accepted\"' '$T/huge.ev'"
python3 "$SOCKCLIENT" "$SOCK" --huge $((1024 * 1024 + 1024)) --duration 2 --out "$T/huge2.ev"
# a complete line over 1 MiB that arrives with its newline in one read is
# refused like an unterminated one
check "a line of 1 MiB + 1 KiB (with its newline) is refused too" bash -c "! grep -q '\"event\":\"accepted\"' '$T/huge2.ev'"
expect_exit "after all that, status (handed to the engine) exits 0" 0 tally status --json
check "  it lists both components" test "$(jq -r 'select(.event == "status") | .component' "$T/last.out" | tr '\n' ' ')" = "server chat "
check "serve is still running" kill -0 "$SERVE_PID"

# --- a command from a watch connection is refused and does nothing ---------------
git -C "$UP" tag v3.8.1
echo 20 >"$CTL/lines-v3.8.1"
n=$(commits); la=$(ledger_lines server)
python3 "$SOCKCLIENT" "$SOCK" --mode watch --cmd '{"cmd":"run","components":["server"],"id":7}' --exit-on-done --duration 10 --out "$T/watchcmd.ev"
sc_events watchcmd >"$T/watchcmd.json"
check "watch: the run is refused with an error" jq_ok "$T/watchcmd.json" 'any(.[]; .event == "error" and .id == 7)'
check "  and a done with exit 2" jq_ok "$T/watchcmd.json" 'any(.[]; .event == "done" and .id == 7 and .exit == 2)'
check "  no job was accepted" jq_ok "$T/watchcmd.json" 'all(.[]; .event != "accepted")'
sleep 1
expect_eq "  no attempt started" "$(ledger_lines server)" "$la"
expect_eq "  no commit" "$(commits)" "$n"

python3 "$SOCKCLIENT" "$SOCK" --mode watch --cmd '{"cmd":"stop","now":true,"id":8}' --exit-on-done --duration 10 --out "$T/watchstop.ev"
check "watch: stop is refused too (done, exit 2)" jq_ok <(sc_events watchstop) 'any(.[]; .event == "done" and .id == 8 and .exit == 2)'
sleep 0.5
check "  serve is still running" kill -0 "$SERVE_PID"

# --- SO_PEERCRED: another user is refused even when the file lets it in ----------
if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ]; then
	# a hard link in a world-writable place, the socket inode made 0666 for
	# the moment: only the credential check stands in the way
	chmod 711 "$T"; mkdir -m 777 "$T/pub"; ln "$SOCK" "$T/pub/peer.sock"; chmod 666 "$SOCK"
	cp "$SOCKCLIENT" "$T/pub/sc.py"; chmod 755 "$T/pub/sc.py"
	setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 "$T/pub/sc.py" "$T/pub/peer.sock" \
		--cmd '{"cmd":"status"}' --duration 3 >"$T/peer.ev" 2>&1 || true
	# the end is eof or ECONNRESET (the engine closes with our hello unread)
	check "another user (nobody) is refused: error class auth, then the end" bash -c \
		"grep -q '\"class\":\"auth\"' '$T/peer.ev' && grep -Eq 'end reason=(eof|error)' '$T/peer.ev'"
	check "  and got no job" bash -c "! grep -q '\"event\":\"accepted\"' '$T/peer.ev'"
	chmod 600 "$SOCK"; rm -f "$T/pub/peer.sock"; chmod 700 "$T"
else
	echo "ok - SO_PEERCRED check skipped (needs root and setpriv)"
fi

# --- two control clients, one watch client and a batch run see one build ----------
sockclient c1 --mode control --duration 60; C1=$SC_PID
sockclient c2 --mode control --duration 60; C2=$SC_PID
sockclient w1 --mode watch --duration 60; W1=$SC_PID
waitfor 5 bash -c "grep -q '\"event\":\"hello\"' '$T/c1.ev' && grep -q '\"event\":\"hello\"' '$T/c2.ev' && grep -q '\"event\":\"hello\"' '$T/w1.ev'"
tally run server --json >"$T/run1.json" 2>"$T/run1.err" &
RUN1=$!
check "the batch run's build starts" waitfor 20 grep -q '"stage":"build","result":"started"' "$T/w1.ev"
# the batch status while the build runs (its own job, in the same stream)
expect_exit "status while the build runs exits 0 (handed to the engine)" 0 tally status --json
cp "$T/last.out" "$T/status-building.json"
expect_eq "  it shows server building" "$(jq -r 'select(.event == "status" and .component == "server") | .state' "$T/status-building.json")" building
check "  its output is one job's" jq_ok "$T/status-building.json" '(map(.job) | unique | length) == 1'
rc1=0; wait "$RUN1" || rc1=$?
expect_eq "the batch run exits 0" "$rc1" 0
expect_eq "  the record moved to v3.8.1" "$(recorded)" v3.8.1
check "  its output is valid --json with a summary" json_ok "$T/run1.json" 0
check "  every line carries one job id, not 0 (the schedule's)" jq_ok "$T/run1.json" '(map(.job) | unique | length) == 1 and .[0].job != 0'
check "  no status lines of the concurrent status job" jq_ok "$T/run1.json" 'all(.[]; .event != "status")'
check "  no log chunks" jq_ok "$T/run1.json" 'all(.[]; .event != "log")'
check "  it has the shipped attempt" jq_ok "$T/run1.json" 'any(.[]; .event == "attempt" and .result == "shipped")'
A1=$(jq -r 'select(.event == "attempt") | .attempt' "$T/run1.json" | head -1)
sleep 0.5
stages_of w1 "$A1" >"$T/stages-w1"
echo "    (watch client saw $(wc -l <"$T/stages-w1") stage events of $A1)"
check "watch client: build..floating, all ok" test "$(grep -c ' ok$' "$T/stages-w1")" -ge 5
for n in c1 c2; do
	stages_of "$n" "$A1" >"$T/stages-$n"
	check "control client $n saw the same stage events as the watch client" cmp -s "$T/stages-$n" "$T/stages-w1"
done
for n in c1 c2 w1; do
	check "$n: the shipped attempt event" jq_ok <(sc_events "$n") --arg a "$A1" 'any(.[]; .event == "attempt" and .attempt == $a and .result == "shipped")'
	check "$n: log chunks, the build's 1st and 20th line among them" bash -c \
		"grep '\"event\":\"log\"' '$T/$n.ev' | grep -q 'chatty line 1 of v3.8.1' && grep '\"event\":\"log\"' '$T/$n.ev' | grep -q 'chatty line 20 of v3.8.1'"
done
expect_eq "all three saw the same log chunks of the attempt" \
	"$(for n in c1 c2 w1; do sc_events $n | jq -r --arg a "$A1" 'select(.event == "log" and .attempt == $a) | .data' | md5sum; done | sort -u | wc -l)" 1
kill "$C1" "$C2" "$W1" 2>/dev/null || true

# --- the silent client was closed after about 10 s -------------------------------
check "a client that sends nothing is closed" waitfor 13 ended silent
check "  by the engine (eof), with a reason" bash -c "grep -q 'end reason=eof' '$T/silent.ev' && grep -q 'no hello' '$T/silent.ev'"
silent_secs=$(awk '/^# .* connected/ {c = $2} /^# .* end reason/ {printf "%.1f", $2 - c}' "$T/silent.ev")
echo "    (closed $silent_secs s after it connected)"
check "  after 10 s (between 9.5 and 12)" awk -v s="$silent_secs" 'BEGIN { exit !(s >= 9.5 && s < 12) }'

# --- a client that disconnects mid-build leaves the build running to its record ---
git -C "$UP" tag v3.8.2
echo 30 >"$CTL/lines-v3.8.2"
sockclient quitter --mode control --cmd '{"cmd":"run","components":["server"]}' --duration 60
QUIT=$SC_PID
check "the quitter's build is printing lines" waitfor 20 grep -q 'chatty line 3 of v3.8.2' "$T/quitter.ev"
kill -9 "$QUIT"
check "  the quitter is gone" proc_gone "$QUIT" 3
check "  the build runs on to its record (v3.8.2 within 30 s)" waitfor 30 record_is v3.8.2
expect_eq "  the ledger says shipped" "$(attempt_of v3.8.2 | jq -r .result)" shipped
expect_exit "  and the engine serves the next status" 0 tally status

# --- a client that stops reading does not slow a build or the others ------------
# baseline: the same 50 MB build with no client attached
git -C "$UP" tag v3.8.3
echo 50000000 >"$CTL/bytes-v3.8.3"
kick v3.8.3
check "50 MB build with no client ships" waitfor 60 has_result v3.8.3
base=$(attempt_secs v3.8.3)
git -C "$UP" tag v3.8.4
echo 50000000 >"$CTL/bytes-v3.8.4"
sockclient stopped --mode watch --stop-reading 90 --rcvbuf 4096 --resume-file "$T/resume"
STOPPED=$SC_PID
sockclient reader --mode watch --duration 90
READER=$SC_PID
waitfor 5 bash -c "grep -q 'stop reading' '$T/stopped.ev' && grep -q '\"event\":\"hello\"' '$T/reader.ev'"
kick v3.8.4
check "50 MB build with a stopped reader ships" waitfor 60 has_result v3.8.4
slow=$(attempt_secs v3.8.4)
echo "    (attempt wall time: no clients ${base} s, one stopped + one reading client ${slow} s)"
check "  not much slower (< 3x the build with no clients)" awk -v a="$slow" -v b="$base" 'BEGIN { exit !(a < 3 * b) }'
check "  the reading client got the attempt event" waitfor 10 grep -q '"event":"attempt".*"version":"v3.8.4".*"result":"shipped"' "$T/reader.ev"
rlog=$(sc_events reader | jq -r 'select(.event == "log" and .version == null and (.data | test("v3.8.4"))) | .data | length' | awk '{s += $1} END {print s + 0}')
echo "    (the reading client got $rlog bytes of v3.8.4 log data)"
# live means during the build: some log chunk reaches the reading client
# before the build stage ends
bend=$(attempt_of v3.8.4 | jq -r '.started_at + ([.stages[] | select(.stage == "build") | .seconds][0])')
early=$({ grep '"event":"log"' "$T/reader.ev" || true; } | awk -v e="$bend" '$1 < e - 0.2' | wc -l)
first=$(grep '"event":"log"' "$T/reader.ev" | head -1 | awk -v e="$bend" '{printf "%+.2f", $1 - e}') || true
echo "    (reading client: $early log chunks before the build stage ended; first one at ${first:-?} s from its end)"
touch "$T/resume"
check "the stopped reader, draining, ends" waitfor 30 ended stopped
# live output reaches clients as a bounded tail (16 KiB per 100 ms at most),
# so a reader that stopped is never sent the 50 MB; past its buffer it would
# be told "dropped" or disconnected
sbytes=$(sed -n 's/^# .* end reason=[a-z]* bytes=\([0-9]*\).*/\1/p' "$T/stopped.ev")
check "  it was sent a bounded tail, was told of drops, or was disconnected" bash -c \
	"[ '${sbytes:-0}' -lt 5000000 ] || grep -q '\"event\":\"dropped\"' '$T/stopped.ev' || grep -q 'end reason=eof' '$T/stopped.ev'"
grep '^# .* end reason' "$T/stopped.ev" | sed 's/^/    stopped reader: /'
kill "$READER" 2>/dev/null || true
expect_exit "the engine still serves a status" 0 tally status

# --- kill -9 of the engine in the middle of a build -------------------------------
git -C "$UP" tag v3.8.5
echo 20 >"$CTL/sleep-v3.8.5"
rm -f "$CTL/sleeppid-v3.8.5" "$CTL/pid-v3.8.5"
n=$(commits); rec=$(recorded)
kick v3.8.5
check "the v3.8.5 build is sleeping" waitfor 20 test -s "$CTL/sleeppid-v3.8.5"
kill -9 "$SERVE_PID"
check "serve is dead" proc_gone "$SERVE_PID" 3
bpid=$(cat "$CTL/pid-v3.8.5" 2>/dev/null || echo 0); spid=$(cat "$CTL/sleeppid-v3.8.5" 2>/dev/null || echo 0)
echo "    (orphaned build script alive: $(alive "$bpid" && echo yes || echo no); its sleep: $(alive "$spid" && echo yes || echo no))"
check "the version file is valid: server=vX.Y.Z" grep -Eq '^server=v[0-9]+\.[0-9]+\.[0-9]+$' "$V/server-versions.txt"
expect_eq "  the record is unchanged (no commit)" "$(recorded) $(commits)" "$rec $n"
expect_eq "  the working tree equals HEAD" "$(git -C "$V" status --porcelain -- server-versions.txt .env)" ""
d=$(commit_trailer HEAD Tally-Digest)
for tag in "$rec" "$rec-anolis"; do
	expect_eq "  the recorded tag $tag has the digest trailer's digest" "$(manifest_digest test/openim-server "$tag")" "${d:-<none>}"
done
check "the socket file is left behind, stale" test -S "$SOCK"
check "  nothing answers on it" bash -c "$(declare -f connectable); ! connectable '$SOCK'"
expect_exit "the next status runs in-process (exit 0)" 0 tally status --json
check "  it shows server is not building" jq_ok "$T/last.out" 'any(.[]; .event == "status" and .component == "server" and .state != "building")'
check "the next serve starts" serve_bg s2
check "  it answers on the socket (stale one replaced)" connectable "$SOCK"
expect_eq "  the lock names its pid" "$(sed -n 's/^pid //p' "$V/.git/tally.lock")" "$SERVE_PID"
expect_exit "  a status is handed to it" 0 tally status
# the orphans of the killed engine are not ours to keep
for p in "$spid" "$bpid"; do alive "$p" && kill "$p" 2>/dev/null; done

# --- tally stop; tally stop --now during a build ----------------------------------
expect_exit "tally stop ends serve" 0 tally stop
check "  serve ended" proc_gone "$SERVE_PID" 5
expect_eq "  serve exited 0" "${GONE_RC:-?}" 0
check "  the socket is removed" test ! -e "$SOCK"
check "serve again" serve_bg s3
echo 30 >"$CTL/sleep-v3.8.5"
rm -f "$CTL/sleeppid-v3.8.5"
n=$(commits); rec=$(recorded); la=$(ledger_lines server)
kick v3.8.5b
check "the v3.8.5 build is sleeping again" waitfor 20 test -s "$CTL/sleeppid-v3.8.5"
expect_exit "tally stop --now during the build exits 0" 0 tally stop --now
check "  serve ended within 5 s" proc_gone "$SERVE_PID" 5
expect_eq "  serve exited 0" "${GONE_RC:-?}" 0
expect_eq "  the record is unchanged, no commit" "$(recorded) $(commits)" "$rec $n"
expect_eq "  the ledger says cancelled" "$(ledger_entry "$(last_attempt_id server)" | jq -r '"\(.version) \(.result)"')" "v3.8.5 cancelled"
check "  the build's sleep is gone" waitfor 3 bash -c "$(declare -f alive); ! alive $(cat "$CTL/sleeppid-v3.8.5")"
finish
