#!/usr/bin/env bash
# Benchmark: `tally status` through a serving engine's socket, idle and
# while the repo worker hangs in a git push (a hold commit pushed to a
# remote that accepts and never answers; the recorder's lock is held all
# along). Prints the latencies; asserts nothing about them.
#   tests/bench/bench_status_hang.sh [RUNS]
. "$(dirname "$0")/../integration/lib.sh"
RUNS=${1:-20}
REG=127.0.0.1:1   # nothing here talks to a registry
make_upstream v3.8.0
make_chat_upstream v1.0.0
make_versions_repo
conf_set tally.gitPush true
conf_set tally.networkTimeout 300
commit_versions "push records"
git -C "$V" push -q origin main
python3 "$TALLY_SRC/tests/fixtures/hang/server.py" >"$T/hang-port" 2>"$T/hang.log" &
PIDS+=("$!")
waitfor 5 test -s "$T/hang-port" || { echo "bench: no hanging remote" >&2; exit 1; }
export TALLY_STOP_GRACE=1
serve_bg serve || { echo "bench: serve did not start" >&2; exit 1; }
tally pause >/dev/null

measure() { # LABEL
	local times=() r s e
	for r in $(seq 1 "$RUNS"); do
		s=$(date +%s%N)
		timeout 10 "$TALLY_BIN" -C "$V" --no-tui status >/dev/null || { echo "bench: status failed" >&2; exit 1; }
		e=$(date +%s%N)
		times+=($(((e - s) / 1000000)))
	done
	printf '%s\n' "${times[@]}" | sort -n | awk -v n="$RUNS" -v l="$1" '
		{ a[NR] = $1 } END { printf "status %-28s runs %d  min %d ms  median %d ms  max %d ms\n", l, n, a[1], a[int((n + 1) / 2)], a[n] }'
}
measure "idle"
git -C "$V" config remote.origin.pushurl "http://127.0.0.1:$(head -1 "$T/hang-port")/versions.git"
"$TALLY_BIN" -C "$V" --no-tui skip chat v9.9.9 --reason bench >/dev/null 2>&1 &
PIDS+=("$!")
waitfor 60 grep -q accepted "$T/hang.log" || { echo "bench: the push never reached the remote" >&2; exit 1; }
measure "while a push hangs"
tally stop >/dev/null 2>&1 || true
proc_gone "$SERVE_PID" 30 || true
