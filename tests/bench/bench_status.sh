#!/usr/bin/env bash
# Benchmark: `tally status` on a 200-component config (no network: records
# from git, upstreams from the last check, built from the ledger).
#   tests/bench/bench_status.sh [COMPONENTS] [RUNS]
. "$(dirname "$0")/../integration/lib.sh"
C=${1:-200}
RUNS=${2:-20}
V="$T/versions"
git init -q "$V"
{
	echo "[registry]"
	echo "	prefix = 127.0.0.1:1/bench"
	for i in $(seq 1 "$C"); do
		printf '[component "c%d"]\n\tfile = versions-%d.txt\n\tupstream = manual\n\tbuild = true\n' "$i" $((i % 10))
	done
} >"$V/tally.conf"
for i in $(seq 1 "$C"); do echo "c$i=v1.$i.0" >>"$V/versions-$((i % 10)).txt"; done
git -C "$V" add -A && git -C "$V" commit -qm seed
"$TALLY_BIN" -C "$V" --no-tui status >/dev/null   # creates the state dir
lines=$("$TALLY_BIN" -C "$V" --no-tui status --json | grep -c '"event":"status"')
[ "$lines" = "$C" ] || { echo "bench: expected $C status lines, got $lines" >&2; exit 1; }
times=()
for r in $(seq 1 "$RUNS"); do
	s=$(date +%s%N)
	"$TALLY_BIN" -C "$V" --no-tui status >/dev/null
	e=$(date +%s%N)
	times+=($(( (e - s) / 1000 )))
done
printf '%s\n' "${times[@]}" | sort -n | awk -v n="$RUNS" -v c="$C" '
	{ a[NR] = $1; sum += $1 }
	END { printf "tally status, %d components, %d runs: median %.1f ms, mean %.1f ms, min %.1f ms, max %.1f ms\n", c, n, a[int((n+1)/2)]/1000, sum/n/1000, a[1]/1000, a[n]/1000 }'
echo "machine: $(nproc) cores, $(uname -r)"
