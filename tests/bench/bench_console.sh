#!/usr/bin/env bash
# bench_console.sh - a build that prints 200 MB of log lines as fast as it
# can, shown live in the console (tmux, 80x24). Prints: the build's time
# writing to a file vs. under tally with the console attached (slowdown),
# the console's peak RSS and CPU, and the engine's CPU. Targets (issue 5):
# slowdown < 10 %, console RSS < 64 MB, console CPU < 30 % of one core.
# Never fails on speed. MB=N changes the size.
TALLY_SRC=${TALLY_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$TALLY_SRC/tests/integration/lib.sh"
. "$TALLY_SRC/tests/console/tmux.sh"
MB=${MB:-200}
BYTES=$((MB * 1000 * 1000))
REG=127.0.0.1:1   # nothing is pushed: the build exits 1 after printing
make_upstream v1.0.0 v1.0.1
make_chat_upstream v1.0.0
SERVER_START=v1.0.0 make_versions_repo
cat >"$V/dockerfiles/build-loud.sh" <<SH
#!/bin/sh
yes 'tally bench: the quick brown fox jumps over the lazy dog 0123456789 abcdefghij' | head -c $BYTES
exit 1
SH
chmod +x "$V/dockerfiles/build-loud.sh"
conf_set component.server.build 'dockerfiles/build-loud.sh'
git config -f "$V/tally.conf" --replace-all component.server.recipe dockerfiles/build-loud.sh
commit_versions "loud build"
tally check >/dev/null 2>&1 || true
tally pause >/dev/null 2>&1 || true

# baseline: the same build writing to a file
t0=$(date +%s.%N)
(cd "$V" && dockerfiles/build-loud.sh >"$T/baseline.log") || true
t1=$(date +%s.%N)
base=$(echo "$t1 - $t0" | bc -l)

clk=$(getconf CLK_TCK)
cpu_of() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

console_start 80 24
wait_screen 'server +v1\.0\.0' 20 || { echo "console did not start" >&2; screen >&2; exit 1; }
cpid=$CONSOLE_PID
spid=$(pgrep -f -- "-C $V serve" | head -1)
c0=$(cpu_of "$cpid"); s0=$(cpu_of "${spid:-0}")
w0=$(date +%s.%N)
keys b
ledger="$(state_dir)/ledger.jsonl"
for _ in $(seq 3000); do
	[ -s "$ledger" ] && grep -q '"component":"server"' "$ledger" && break
	sleep 0.1
done
w1=$(date +%s.%N)
sleep 0.5   # let the console draw the last frame
c1=$(cpu_of "$cpid"); s1=$(cpu_of "${spid:-0}")
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$cpid/status")
rss=$(awk '/VmRSS/ {print $2}' "/proc/$cpid/status")
build=$(jq -r 'select(.component == "server") | .stages[] | select(.stage == "build") | .seconds' "$ledger" | tail -1)
logsize=$(stat -c %s "$(jq -r 'select(.component == "server") | .log' "$ledger" | tail -1)")
wall=$(echo "$w1 - $w0" | bc -l)
screen | tail -4 | head -3
console_stop
# the same build under tally with no console at all (batch, in process)
tally run server >/dev/null 2>&1 || true
nocon=$(jq -r 'select(.component == "server") | .stages[] | select(.stage == "build") | .seconds' "$ledger" | tail -1)

printf 'bench_console: %d MB of log lines (%d bytes in the log file)\n' "$MB" "$logsize"
printf '  build writing to a file:         %6.2f s\n' "$base"
printf '  build under tally, console live: %6.2f s  (slowdown %+.0f %%; target < 10 %%)\n' "$build" \
	"$(echo "($build - $base) / $base * 100" | bc -l)"
printf '  build under tally, no console:   %6.2f s  (the engine alone: %+.0f %%)\n' "$nocon" \
	"$(echo "($nocon - $base) / $base * 100" | bc -l)"
printf '  console peak RSS:                %6.1f MB (now %.1f MB; target < 64 MB)\n' "$(echo "$hwm / 1024" | bc -l)" \
	"$(echo "$rss / 1024" | bc -l)"
printf '  console CPU:                     %6.1f %% of one core over %.1f s (target < 30 %%)\n' \
	"$(echo "($c1 - $c0) / $clk / $wall * 100" | bc -l)" "$wall"
printf '  engine (tally serve) CPU:        %6.1f %% of one core\n' "$(echo "($s1 - $s0) / $clk / $wall * 100" | bc -l)"
