#!/usr/bin/env bash
# bench_cost.sh - costs that must grow with the work, not faster (issue 11).
# Prints, side by side in one run, tally against its baseline (and, with
# TALLY_BEFORE=/path/to/an/older/tally, that binary too):
#   - check at N github-release components against the fixture GitHub API
#     (LAT s latency per request), cold (no http-cache.json) and warm (all
#     304): wall time against the per-host floor N x LAT / 24, requests,
#     connections opened (distinct client ports), CPU per component;
#   - status / run / history / verify on a repo with 10,000 commits and
#     1,000 keys in one version file, against `git show HEAD:versions.txt`,
#     the same commands on a 1-key repo, and `git log --format=...trailers`;
#   - attempts with a 20,000-line ledger against a 200-line one;
#   - `tally --version` against /bin/true;
#   - serve RSS with 1,000 idle components.
# Figures only: it never fails on speed, and it is not part of ctest.
#
#   TALLY_BIN=build/tally [TALLY_BEFORE=/tmp/old-tally] bash tests/bench/bench_cost.sh [--quick]
# --quick: N = 50, 200; 2,000 commits; 5,000-line ledger (a smoke run).
# CHECK_NS="50 200" overrides the check sizes; BEFORE_MAX_N=1000 runs TALLY_BEFORE
# only up to that N (an O(N^2) binary takes minutes at 5,000); SECTIONS=
# "check repo ledger startup serve" picks sections.
set -uo pipefail
: "${TALLY_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${TALLY_BIN:=$TALLY_SRC/build/tally}"
QUICK=0
[ "${1:-}" = "--quick" ] && QUICK=1
LAT=${LAT:-0.05}
. "$TALLY_SRC/tests/integration/lib.sh"
. "$TALLY_SRC/tests/fixtures/github/lib.sh"
if [ "$QUICK" = 1 ]; then
	NS=(50 200); COMMITS=2000; KEYS=1000; LEDGER=5000
else
	NS=(50 200 1000 5000); COMMITS=10000; KEYS=1000; LEDGER=20000
fi
if [ -n "${CHECK_NS:-}" ]; then read -r -a NS <<<"$CHECK_NS"; fi
SECTIONS=${SECTIONS:-check repo ledger startup serve}
want() { [[ " $SECTIONS " == *" $1 "* ]]; }
BINS=("$TALLY_BIN")
NAMES=(tally)
if [ -n "${TALLY_BEFORE:-}" ]; then
	BINS+=("$TALLY_BEFORE")
	NAMES+=(before)
fi
echo "bench_cost: $(nproc) cores, $(uname -r), latency ${LAT} s, quick=$QUICK"
for k in "${!BINS[@]}"; do echo "  ${NAMES[$k]}: ${BINS[$k]}"; done

# timed CMD...: sets WALL (ms), CPU (ms, user+sys), RSS (KB) of CMD
timed() {
	local rc=0
	/usr/bin/time -f '%e %U %S %M' -o "$T/time" "$@" >"$T/out" 2>"$T/err" || rc=$?
	read -r e u s m <"$T/time" 2>/dev/null || { e=0 u=0 s=0 m=0; }
	# /usr/bin/time prints "Command exited with non-zero status N" first
	if ! [[ $e =~ ^[0-9.]+$ ]]; then read -r e u s m < <(tail -1 "$T/time"); fi
	WALL=$(echo "$e * 1000" | bc -l)
	CPU=$(echo "($u + $s) * 1000" | bc -l)
	RSS=$m
	TIMED_RC=$rc   # lib.sh runs with set -e: a failing command is no error here
}
# best of R runs of CMD (wall ms) into BEST
best() {
	local r=$1
	shift
	BEST=
	for _ in $(seq "$r"); do
		local s e
		s=$(date +%s%N)
		"$@" >/dev/null 2>&1 || true
		e=$(date +%s%N)
		local ms=$(( (e - s) / 1000 ))
		if [ -z "$BEST" ] || [ "$ms" -lt "$BEST" ]; then BEST=$ms; fi
	done
	BEST=$(echo "$BEST / 1000" | bc -l)
}
row() { # LABEL VALUE BASELINE UNIT
	local ratio=-
	if [ "$(echo "$3 > 0" | bc -l)" = 1 ]; then ratio=$(printf '%.2fx' "$(echo "$2 / $3" | bc -l)"); fi
	printf '  %-46s %10.2f %-3s  baseline %10.2f %-3s  ratio %s\n' "$1" "$2" "$4" "$3" "$4" "$ratio"
}

# ---- check ---------------------------------------------------------------
if want check; then
start_gh_fixture "$LAT"
echo
echo "== check: github-release components, one host, per-host bound 24 =="
for N in "${NS[@]}"; do
	conf=""
	versions=""
	for i in $(seq 1 "$N"); do
		conf+=$'[component "c'$i$'"]\n\tfile = versions.txt\n\tupstream = github-release bench/r'$i$'\n\tbuild = false\n'
		versions+="c$i=v1.0.0"$'\n'
	done
	VERSIONS=$versions
	make_gh_repo "$conf"
	floor=$(echo "$N * $LAT / 24 * 1000" | bc -l)
	for k in "${!BINS[@]}"; do
		if [ "${NAMES[$k]}" = before ] && [ -n "${BEFORE_MAX_N:-}" ] && [ "$N" -gt "$BEFORE_MAX_N" ]; then
			continue
		fi
		rm -rf "$XDG_STATE_HOME/tally"
		for mode in cold warm; do
			gh_reset
			timed "${BINS[$k]}" -C "$V" --no-tui check --json
			req=$(gh_count)
			conns=$(gh_conns)
			row "${NAMES[$k]} check N=$N $mode wall (floor)" "$WALL" "$floor" ms
			printf '  %-46s %10.3f ms CPU/component, %d requests, %d connections\n' "" \
				"$(echo "$CPU / $N" | bc -l)" "$req" "$conns"
		done
	done
done
fi

# ---- a big repo: COMMITS commits, KEYS keys in one version file -------------
gen_repo() { # DIR KEYS COMMITS
	python3 - "$1" "$2" "$3" <<'PY'
import subprocess, sys
d, keys, commits = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
subprocess.run(["git", "init", "-q", d], check=True)
conf = "[registry]\n\tprefix = 127.0.0.1:1/bench\n" + "".join(
    '[component "c%d"]\n\tfile = versions.txt\n\tupstream = manual\n\tbuild = true\n' % i for i in range(keys))
ver = {i: 0 for i in range(keys)}
out = []
def data(b):
    b = b.encode()
    out.append(b"data %d\n" % len(b) + b + b"\n")
def vfile():
    return "".join("c%d=v1.%d.0\n" % (i, ver[i]) for i in range(keys))
t = 1700000000
out.append(b"commit refs/heads/main\ncommitter b <b@x> %d +0000\n" % t)
data("seed")
out.append(b"M 100644 inline tally.conf\n"); data(conf)
out.append(b"M 100644 inline versions.txt\n"); data(vfile())
for n in range(1, commits):
    t += 60
    out.append(b"commit refs/heads/main\ncommitter b <b@x> %d +0000\n" % t)
    if n % 10 == 0 and keys > 1:
        # a tally record of the first half of the components; the other
        # half never has one (records made before tally: a walk for them
        # reaches the root)
        c = (n // 10) % max(1, keys // 2)
        prev = ver[c]; ver[c] += 1
        data("%s: v1.%d.0 -> v1.%d.0\n\nTally-Action: ship\nTally-Component: c%d\nTally-Version: v1.%d.0\n"
             "Tally-Previous: v1.%d.0\nTally-Digest: sha256:%064x\nTally-Recipe: r\n" % (c, prev, ver[c], c, ver[c], prev, n))
        out.append(b"M 100644 inline versions.txt\n"); data(vfile())
    else:
        data("notes %d" % n)
        out.append(b"M 100644 inline notes.txt\n"); data("n%d\n" % n)
p = subprocess.run(["git", "-C", d, "fast-import", "--quiet"], input=b"".join(out), check=True)
subprocess.run(["git", "-C", d, "symbolic-ref", "HEAD", "refs/heads/main"], check=True)
subprocess.run(["git", "-C", d, "checkout", "-q", "-f", "main"], check=True)
subprocess.run(["git", "-C", d, "gc", "-q"], check=True)
PY
}
BIG="$T/big"
ONE="$T/one"
if want repo || want serve; then gen_repo "$BIG" "$KEYS" "$COMMITS"; gen_repo "$ONE" 1 1; fi
if want repo; then
echo
echo "== a repo with $COMMITS commits and $KEYS keys in versions.txt =="
best 5 git -C "$BIG" show HEAD:versions.txt
git_show=$BEST
best 3 git -C "$BIG" log --format='%H %s%n%(trailers)'
git_log=$BEST
for k in "${!BINS[@]}"; do
	b=${BINS[$k]}
	n=${NAMES[$k]}
	"$b" -C "$BIG" --no-tui status >/dev/null 2>&1
	"$b" -C "$ONE" --no-tui status >/dev/null 2>&1
	best 3 "$b" -C "$BIG" --no-tui status
	row "$n status, $KEYS components (git show)" "$BEST" "$git_show" ms
	best 3 "$b" -C "$ONE" --no-tui status
	one_status=$BEST
	# start-up: one component (c1 has records), no upstream (manual)
	best 3 "$b" -C "$ONE" --no-tui run c0
	one_run=$BEST
	best 3 "$b" -C "$BIG" --no-tui run c1
	row "$n run c1 start-up (run c0, 1-key repo)" "$BEST" "$one_run" ms
	best 1 "$b" -C "$BIG" --no-tui run
	row "$n run, all $KEYS components (status, 1-key)" "$BEST" "$one_status" ms
	best 3 "$b" -C "$BIG" --no-tui history
	row "$n history (git log trailers)" "$BEST" "$git_log" ms
	best 1 "$b" -C "$BIG" --no-tui verify c1
	big_verify=$BEST
	best 1 "$b" -C "$ONE" --no-tui verify c0
	row "$n verify c1, registry down (1-key repo)" "$big_verify" "$BEST" ms
done
fi

# ---- attempts with a long ledger ---------------------------------------------
if want ledger; then
echo
echo "== attempts: a $LEDGER-line ledger against a 200-line one (logKeep 50) =="
gen_ledger() { # STATE_DIR LINES
	python3 - "$1" "$2" <<'PY'
import json, sys, os
d, n = sys.argv[1], int(sys.argv[2])
os.makedirs(d, exist_ok=True)
with open(os.path.join(d, "ledger.jsonl"), "w") as f:
    for i in range(n):
        c = "c%d" % (i % 10)
        f.write(json.dumps({"id": "a%06d" % i, "component": c, "version": "v1.%d.0" % (i // 10),
                            "action": "ship", "fingerprint": "f", "stages": [], "class": None,
                            "digest": "sha256:%064x" % i, "result": "shipped" if i % 3 else "failed",
                            "shipped": bool(i % 3), "recorded": bool(i % 3),
                            "log": os.path.join(d, "logs", c, "a%06d.log" % i),
                            "started": 1700000000 + i, "ended": 1700000001 + i}) + "\n")
PY
}
mk_small_repo() { # DIR
	git init -q "$1"
	{
		printf '[registry]\n\tprefix = 127.0.0.1:1/bench\n'
		for i in $(seq 0 9); do printf '[component "c%d"]\n\tfile = versions.txt\n\tupstream = manual\n\tbuild = true\n' "$i"; done
	} >"$1/tally.conf"
	for i in $(seq 0 9); do echo "c$i=v1.0.0"; done >"$1/versions.txt"
	git -C "$1" add -A && git -C "$1" commit -qm seed
}
for k in "${!BINS[@]}"; do
	b=${BINS[$k]}
	for lines in 200 "$LEDGER"; do
		R="$T/led-$k-$lines"
		mk_small_repo "$R"
		export XDG_STATE_HOME="$T/state-led-$k-$lines"
		"$b" -C "$R" --no-tui status >/dev/null 2>&1
		sd=$(ls -d "$XDG_STATE_HOME"/tally/*/ | head -1)
		gen_ledger "$sd" "$lines"
		before_lines=$(wc -l <"$sd/ledger.jsonl")
		timed "$b" -C "$R" --no-tui attempts
		first=$WALL
		first_rss=$RSS
		best 3 "$b" -C "$R" --no-tui attempts
		eval "att_$lines=$BEST"
		printf '  %-46s first %8.1f ms (RSS %d KB), then best %8.1f ms, ledger %d -> %d lines\n' \
			"${NAMES[$k]} attempts, $lines-line ledger" "$first" "$first_rss" "$BEST" "$before_lines" \
			"$(wc -l <"$sd/ledger.jsonl")"
	done
	export XDG_STATE_HOME="$T/state"
	eval "big=\$att_$LEDGER"
	row "${NAMES[$k]} attempts $LEDGER lines (200 lines)" "$big" "$att_200" ms
done
fi

# ---- start-up ------------------------------------------------------------------
if want startup; then
echo
echo "== start-up =="
best 20 /bin/true
t_true=$BEST
for k in "${!BINS[@]}"; do
	best 20 "${BINS[$k]}" --version
	row "${NAMES[$k]} --version (/bin/true)" "$BEST" "$t_true" ms
done
fi

# ---- serve RSS ---------------------------------------------------------------
if want serve; then
echo
echo "== serve: RSS with 1,000 idle components =="
for k in "${!BINS[@]}"; do
	b=${BINS[$k]}
	"$b" -C "$BIG" --no-tui serve >/dev/null 2>&1 &
	spid=$!
	PIDS+=("$spid")
	for _ in $(seq 100); do
		"$b" -C "$BIG" --no-tui status >/dev/null 2>&1 && break
		sleep 0.1
	done
	sleep 1
	rss=$(awk '/VmRSS/ {print $2}' "/proc/$spid/status" 2>/dev/null || echo 0)
	row "${NAMES[$k]} serve RSS, $KEYS components (20 MB target)" "$(echo "$rss / 1024" | bc -l)" 20 MB
	"$b" -C "$BIG" --no-tui -q stop --now >/dev/null 2>&1 || kill "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
done
fi
echo
echo "attempt overhead: see tests/bench/bench_overhead.sh (needs a registry and buildah)"
