#!/usr/bin/env bash
# Benchmark: tally's own overhead per attempt. Build and push are `true`,
# so what is measured is tally: config, repo, ledger, templates, runner,
# digest read-back and tag verify against a real local registry, the record
# commit and the working-tree write. Prints figures; never fails on speed.
#   tests/bench/bench_overhead.sh [ATTEMPTS]
. "$(dirname "$0")/../integration/lib.sh"
N=${1:-40}
start_registry
# one real image, then its manifest under v1..vN through the registry API
mkdir -p "$T/img" && echo x >"$T/img/x" && printf 'FROM scratch\nCOPY x /x\n' >"$T/img/Containerfile"
buildah --storage-driver vfs build --isolation chroot -q -t "$REG/bench/app:seed" -f "$T/img/Containerfile" "$T/img" >/dev/null
buildah --storage-driver vfs push -q --tls-verify=false "$REG/bench/app:seed" "docker://$REG/bench/app:seed" 2>/dev/null
mt=application/vnd.oci.image.manifest.v1+json
curl -fsS -H "Accept: $mt" "http://$REG/v2/bench/app/manifests/seed" -o "$T/manifest.json"
for i in $(seq 1 "$N"); do
	curl -fsS -X PUT -H "Content-Type: $mt" --data-binary @"$T/manifest.json" "http://$REG/v2/bench/app/manifests/v$i" >/dev/null
done
V="$T/versions"
git init -q "$V"
echo "app=v0" >"$V/app-versions.txt"
cat >"$V/tally.conf" <<CONF
[registry]
	prefix = $REG/bench
	insecure = true
[component "app"]
	file = app-versions.txt
	upstream = manual
	build = true
	push = true
CONF
git -C "$V" add -A && git -C "$V" commit -qm seed
times=()
for i in $(seq 1 "$N"); do
	s=$(date +%s%N)
	"$TALLY_BIN" -C "$V" --no-tui -q run app --version "v$i" >/dev/null
	e=$(date +%s%N)
	times+=($(( (e - s) / 1000 )))
done
[ "$(git -C "$V" show HEAD:app-versions.txt)" = "app=v$N" ] || { echo "bench: record did not reach v$N" >&2; exit 1; }
# the two `true` commands alone, for comparison
s=$(date +%s%N); for i in $(seq 1 "$N"); do /bin/true; /bin/true; done; e=$(date +%s%N)
# The same steps as a shell script (the baseline of issue 11): build and
# push are `true`, the tag is read back (digest and manifest in one GET),
# its config is read for the version label, the version file is written
# and committed with the trailers, in a copy of the repo at the same state;
# bash parses, so the only other processes are curl (twice) and git.
S="$T/script-versions"
git clone -q "$V" "$S"
git -C "$S" reset -q --hard "$(git -C "$V" rev-list --max-parents=0 HEAD)"
cat >"$T/ship.sh" <<'SH'
#!/usr/bin/env bash
# no helpers but curl and git: bash does the parsing
set -euo pipefail
reg=$1 repo=$2 v=$3 want=$4
mt=application/vnd.oci.image.manifest.v1+json
true   # build
true   # push
curl -fsS -D "$repo/.h" -H "Accept: $mt" "http://$reg/v2/bench/app/manifests/$v" -o "$repo/.m"
got=
while IFS=': ' read -r k val; do
	[ "${k,,}" = docker-content-digest ] && got=${val%$'\r'}
done <"$repo/.h"
[ "$got" = "$want" ] || { echo "read back $got, expected $want" >&2; exit 1; }
m=$(<"$repo/.m")
[[ $m =~ \"config\":\{[^}]*\"digest\":\"(sha256:[0-9a-f]+)\" ]] || { echo "no config in the manifest" >&2; exit 1; }
curl -fsS "http://$reg/v2/bench/app/blobs/${BASH_REMATCH[1]}" -o "$repo/.c"
c=$(<"$repo/.c")
[[ $c == *org.opencontainers.image.version* ]] || true   # the label check (the seed has none)
read -r line <"$repo/app-versions.txt"
prev=${line#app=}
echo "app=$v" >"$repo/app-versions.txt"
git -C "$repo" commit -q -m "app: $prev -> $v" --trailer "Tally-Action: ship" --trailer "Tally-Component: app" \
	--trailer "Tally-Version: $v" --trailer "Tally-Previous: $prev" --trailer "Tally-Digest: $got" -- app-versions.txt
SH
want=$(curl -fsS -o /dev/null -D - -H "Accept: $mt" "http://$REG/v2/bench/app/manifests/seed" | tr -d '\r' |
	awk 'tolower($1) == "docker-content-digest:" { print $2 }')
script=()
for i in $(seq 1 "$N"); do
	s2=$(date +%s%N)
	bash "$T/ship.sh" "$REG" "$S" "v$i" "$want"
	e2=$(date +%s%N)
	script+=($(( (e2 - s2) / 1000 )))
done
[ "$(git -C "$S" show HEAD:app-versions.txt)" = "app=v$N" ] || { echo "bench: the script did not reach v$N" >&2; exit 1; }
smed=$(printf '%s\n' "${script[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR+1)/2)] }')
printf '%s\n' "${times[@]}" | sort -n | awk -v n="$N" -v cmds=$(( (e - s) / 1000 / N )) -v smed="$smed" '
	{ a[NR] = $1; sum += $1 }
	END { printf "attempts: %d (whole process per attempt: start, check, build=true, push=true, read back, verify, record commit)\n", n;
	      printf "per attempt: median %.1f ms, mean %.1f ms, min %.1f ms, max %.1f ms\n", a[int((n+1)/2)]/1000, sum/n/1000, a[1]/1000, a[n]/1000;
	      printf "of which the two true commands alone: %.2f ms\n", cmds/1000;
	      printf "the same steps as a shell script (true, true, curl tag and config, git commit with trailers): median %.1f ms\n", smed/1000;
	      printf "tally own overhead beyond the script: %.1f ms (median against median; target 15 ms)\n", (a[int((n+1)/2)] - smed)/1000 }'
# inside the engine: attempt wall time minus the time of the two commands
sd=$(ls -d "$XDG_STATE_HOME"/tally/*/)
jq -r 'select(.result=="shipped") | [(.ended_at - .started_at), ([.stages[] | select(.stage=="build" or .stage=="push") | .seconds] | add)] | @tsv' "$sd/ledger.jsonl" |
	awk '{ printf "%.3f\n", ($1 - $2) * 1000 }' | sort -n |
	awk '{ a[NR] = $1; sum += $1 } END { n = NR; printf "inside the engine, attempt minus its two commands: median %.1f ms, mean %.1f ms (n=%d)\n", a[int((n+1)/2)], sum/n, n }'
echo "machine: $(nproc) cores, $(uname -r)"
