#!/usr/bin/env bash
# bench_check.sh - wall time of `tally check` for 200 github-release
# components against the fixture GitHub API with 50 ms added latency per
# request (sequential requests would take 10 s). Prints figures; never
# fails on speed.
#
#   TALLY_BIN=/path/to/tally bash tests/bench/bench_check.sh [N] [LATENCY]
set -euo pipefail
: "${TALLY_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${TALLY_BIN:=$TALLY_SRC/build/tally}"
N=${1:-200}
LAT=${2:-0.05}
. "$TALLY_SRC/tests/integration/lib.sh"
. "$TALLY_SRC/tests/fixtures/github/lib.sh"
start_gh_fixture "$LAT"

conf=""
versions=""
for i in $(seq 1 "$N"); do
	conf+=$(printf '[component "c%d"]\n\tfile = versions.txt\n\tupstream = github-release bench/r%d\n\tbuild = false\n' "$i" "$i")$'\n'
	versions+="c$i=v1.0.0"$'\n'
done
VERSIONS=$versions
make_gh_repo "$conf"

run() { # LABEL
	local t0 t1 rc=0
	t0=$(date +%s.%N)
	"$TALLY_BIN" -C "$V" --no-tui check --json >"$T/out.json" 2>"$T/err" || rc=$?
	t1=$(date +%s.%N)
	local ok; ok=$(jq -s '[.[] | select(.event == "check" and .upstream != null)] | length' "$T/out.json")
	printf '%-28s %6.3f s  (%d/%d components read, exit %d)\n' "$1" "$(echo "$t1 - $t0" | bc -l)" "$ok" "$N" "$rc"
}
echo "tally check: $N github-release components, ${LAT} s latency per request"
gh_reset
run "cold (all 200 OK)"
echo "  requests: $(gh_count), status 200: $(gh_count '.status == 200')"
gh_reset
run "warm (all 304)"
echo "  requests: $(gh_count), status 304: $(gh_count '.status == 304')"
echo "sequential would take: $(echo "$N * $LAT" | bc -l) s"
