#!/usr/bin/env bash
# Several build hosts on one versions remote (SPEC section 15): three
# engines (three clones, three state directories, TALLY_HOST a, b, c) of one
# bare remote and one loopback registry, six components (three bound to one
# host each, three to none), builds that sleep a random short time, new
# upstream versions published while the hosts run. Then: every version
# ships exactly once across the hosts, each record's digest is what the
# registry holds for its tag, no conflict, no record lost, history linear,
# Tally-Host names the shipping (allowed) host. Also: kill -9 of a host
# mid-build (its claim expires, another host ships, the restarted host
# pushes nothing stale), and a host whose remote is unreachable builds
# nothing that needs a claim and says why. Figures are printed, never
# asserted.
. "$(dirname "$0")/lib.sh"
start_registry
REMOTE="$T/remote.git"
CTL="$T/ctl"
mkdir -p "$CTL"
COMPS="c1 c2 c3 c4 c5 c6"
host_of() { case $1 in c1) echo a ;; c2) echo b ;; c3) echo c ;; *) echo "" ;; esac; }
ROUNDS=${ROUNDS:-3}
said() { grep -Eq "$1" "$T/last.out" "$T/last.err"; }

# publish COMP VERSION: a new upstream tag, its time kept for the figures
publish() {
	git -C "$T/up-$1" tag "$2"
	echo "$1 $2 $(date +%s.%N)" >>"$T/released-$SIM"
}

# setup SIM HOST...: a fresh remote, upstreams and one clone per host
setup() {
	SIM=$1
	shift
	HOSTS="$*"
	rm -rf "$REMOTE" "$T/seed" "$T"/up-* 
	: >"$T/released-$SIM"
	for c in $COMPS; do
		git init -q "$T/up-$c"
		git -C "$T/up-$c" commit -q --allow-empty -m init
		git -C "$T/up-$c" tag v1.0.0
	done
	local S="$T/seed"
	git init -q "$S"
	cat >"$S/build.sh" <<EOF
#!/bin/sh
# build.sh REF VERSION COMPONENT: a FROM scratch image after a random short sleep
set -e
ref=\$1 version=\$2 comp=\$3
touch "$CTL/started-\$comp-\$version"
while [ -e "$CTL/hold-\$comp-\$version" ]; do sleep 0.1; done
sleep "\$(awk -v s="\$\$" 'BEGIN { srand(s); printf "%.2f", rand() * 0.6 }')"
ctx=\$(mktemp -d)
echo "\$comp \$version" >"\$ctx/payload.txt"
printf 'FROM scratch\nCOPY payload.txt /payload.txt\n' >"\$ctx/Containerfile"
buildah --storage-driver vfs build --isolation chroot -q -t "\$ref" -f "\$ctx/Containerfile" "\$ctx" >/dev/null
rm -rf "\$ctx"
EOF
	chmod +x "$S/build.sh"
	{
		printf '[tally]\n\tgitPush = true\n\tparallelBuilds = 2\n\tschedule = 0 2 * * *\n'
		printf '[registry]\n\tprefix = %s/%s\n\tinsecure = true\n' "$REG" "$SIM"
		for c in $COMPS; do
			printf '%s=v1.0.0\n' "$c" >"$S/$c-versions.txt"
			printf '[component "%s"]\n\tfile = %s-versions.txt\n\tupstream = git-tags %s\n' "$c" "$c" "$T/up-$c"
			printf '\tbuild = ./build.sh {ref} {version} {component}\n\ttimeout = %s\n' "${BUILD_TIMEOUT:-60}"
			printf '\tcleanup = buildah --storage-driver vfs rmi {ref}\n\tversionLabel =\n'
			if [ -n "$(host_of "$c")" ] && [ "$#" -gt 1 ]; then printf '\thost = %s\n' "$(host_of "$c")"; fi
		done
	} >"$S/tally.conf"
	git -C "$S" add -A
	git -C "$S" commit -q -m seed
	git init -q --bare "$REMOTE"
	git -C "$REMOTE" config core.logAllRefUpdates always
	git -C "$S" remote add origin "$REMOTE"
	git -C "$S" push -q origin main
	for h in $HOSTS; do
		git clone -q "$REMOTE" "$T/$SIM-h-$h"
		mkdir -p "$T/$SIM-state-$h" "$T/storage-$h"
		cat >"$T/storage-$h.conf" <<CONF
[storage]
driver = "vfs"
runroot = "$T/storage-$h/run"
graphroot = "$T/storage-$h/graph"
CONF
	done
}

# on HOST ARGS...: tally on that host (its clone, state, name, storage)
on() {
	local h=$1
	shift
	TALLY_HOST=$h XDG_STATE_HOME="$T/$SIM-state-$h" CONTAINERS_STORAGE_CONF="$T/storage-$h.conf" \
		"$TALLY_BIN" -C "$T/$SIM-h-$h" --no-tui "$@"
}

# round N: every host runs once, concurrently, while new versions appear
round() {
	local n=$1 pids=() h
	for c in $COMPS; do
		[ $((RANDOM % 3)) -eq 0 ] || publish "$c" "v1.$n.0"
	done
	for h in $HOSTS; do
		(sleep "0.$((RANDOM % 5))"; rc=0; on "$h" run >"$T/run-$SIM-$n-$h.out" 2>&1 || rc=$?; echo $rc >"$T/run-$SIM-$n-$h.rc") &
		pids+=($!)
	done
	# published while they run
	(sleep 0.7; for c in $COMPS; do [ $((RANDOM % 2)) -eq 0 ] && publish "$c" "v1.$n.5"; done; true) &
	pids+=($!)
	for p in "${pids[@]}"; do wait "$p"; done
	RUNS=$((RUNS + $(echo "$HOSTS" | wc -w)))
}

# simulate SIM HOST...: ROUNDS rounds with news, then rounds without until
# every host finds nothing to do
simulate() {
	setup "$@"
	RUNS=0
	local t0 n
	t0=$(date +%s.%N)
	for n in $(seq "$ROUNDS"); do round "$n"; done
	for n in 8 9; do
		local pids=() h
		for h in $HOSTS; do
			(rc=0; on "$h" run >"$T/run-$SIM-$n-$h.out" 2>&1 || rc=$?; echo $rc >"$T/run-$SIM-$n-$h.rc") &
			pids+=($!)
		done
		for p in "${pids[@]}"; do wait "$p"; done
		RUNS=$((RUNS + $(echo "$HOSTS" | wc -w)))
	done
	ELAPSED=$(echo "$(date +%s.%N) - $t0" | bc)
}

# records SIM: "component version host attempt digest committime" per record
# commit on the remote's main
records() {
	git -C "$REMOTE" log --format='%H' main | while read -r h; do
		local b
		b=$(git -C "$REMOTE" log -1 --format=%B "$h")
		grep -q '^Tally-Action: ship' <<<"$b" || continue
		printf '%s %s %s %s %s %s\n' "$(sed -n 's/^Tally-Component: //p' <<<"$b")" \
			"$(sed -n 's/^Tally-Version: //p' <<<"$b")" "$(sed -n 's/^Tally-Host: //p' <<<"$b")" \
			"$(sed -n 's/^Tally-Attempt: //p' <<<"$b")" "$(sed -n 's/^Tally-Digest: //p' <<<"$b")" \
			"$(git -C "$REMOTE" log -1 --format=%ct "$h")"
	done
}

# shipped attempts of every host: "host component version id"
shipped() {
	local h
	for h in $HOSTS; do
		find "$T/$SIM-state-$h" -name ledger.jsonl -exec jq -r --arg h "$h" \
			'select(.result == "shipped") | "\($h) \(.component) \(.version) \(.id)"' {} + 2>/dev/null
	done | sort -u
}

# latency SIM: mean seconds from a version's release to its record commit
# (versions recorded only; one passed over for a newer one has none)
latency() {
	records >"$T/rec-$SIM"
	awk 'NR == FNR { rel[$1 " " $2] = $3; next }
	     ($1 " " $2) in rel { d = $6 - rel[$1 " " $2]; if (d < 0) d = 0; s += d; n++ }
	     END { if (n) printf "%.1f s over %d versions", s / n, n; else print "none" }' \
		"$T/released-$SIM" "$T/rec-$SIM"
}

# --- the simulation with three hosts -----------------------------------------
simulate s3 a b c
RUNS3=$RUNS
ELAPSED3=$ELAPSED
records >"$T/rec3"
shipped >"$T/shipped3"
VERSIONS3=$(wc -l <"$T/rec3")

bad_rc=$(cat "$T"/run-s3-*.rc | grep -cv '^0$' || true)
for f in "$T"/run-s3-*.rc; do
	[ "$(cat "$f")" = 0 ] || { echo "    | ${f##*/}: exit $(cat "$f")" >&2; sed 's/^/    | /' "${f%.rc}.out" >&2; }
done
expect_eq "every run of every host exits 0" "$bad_rc" 0
check "no conflict reported by any host" bash -c "! grep -il conflict $T/run-s3-*.out"
check "some versions were shipped" test "$VERSIONS3" -ge 6
dups=$(awk '{print $1, $2}' "$T/rec3" | sort | uniq -d | wc -l)
expect_eq "every version is recorded once on the remote" "$dups" 0
ship_dups=$(awk '{print $2, $3}' "$T/shipped3" | sort | uniq -d | wc -l)
expect_eq "every version shipped exactly once across the three ledgers" "$ship_dups" 0
expect_eq "each shipped attempt has its record on the remote (none lost)" "$(wc -l <"$T/shipped3")" "$VERSIONS3"
attempts3=$(for h in a b c; do find "$T/$SIM-state-$h" -name ledger.jsonl -exec jq -r '.id' {} + 2>/dev/null; done | sort -u | wc -l)
expect_eq "no attempt beyond the shipped ones (none failed, none repeated)" "$attempts3" "$VERSIONS3"
bad_host=0 bad_digest=0 bad_attempt=0
while read -r comp ver host att dg _; do
	allowed=$(host_of "$comp")
	if [ -z "$host" ] || { [ -n "$allowed" ] && [ "$host" != "$allowed" ]; }; then
		echo "    | $comp $ver shipped by '$host', allowed '${allowed:-any}'" >&2
		bad_host=$((bad_host + 1))
	fi
	grep -qx "$host $comp $ver $att" "$T/shipped3" || { echo "    | $comp $ver: attempt $att not in $host's ledger" >&2; bad_attempt=$((bad_attempt + 1)); }
	got=$(manifest_digest "s3/$comp" "$ver")
	[ "$got" = "$dg" ] || { echo "    | $comp:$ver registry $got, record $dg" >&2; bad_digest=$((bad_digest + 1)); }
done <"$T/rec3"
expect_eq "Tally-Host names an allowed host on every record" "$bad_host" 0
expect_eq "Tally-Host is the host whose ledger has the shipped attempt" "$bad_attempt" 0
expect_eq "every record's digest is what the registry holds for its tag" "$bad_digest" 0
for c in $COMPS; do
	newest=$(git -C "$T/up-$c" tag | sort -V | tail -1)
	expect_eq "$c: the remote records the newest upstream version" \
		"$(git -C "$REMOTE" show "main:$c-versions.txt" | sed -n "s/^$c=//p")" "$newest"
done
expect_eq "history on the remote is linear (no merge)" "$(git -C "$REMOTE" rev-list --merges --count main)" 0
nonff=0
prev=""
for h in $(git -C "$REMOTE" reflog show --format=%H refs/heads/main | tac); do
	[ -z "$prev" ] || git -C "$REMOTE" merge-base --is-ancestor "$prev" "$h" || nonff=$((nonff + 1))
	prev=$h
done
expect_eq "every update of the remote's main was a fast-forward" "$nonff" 0
expect_eq "no claim is left on the remote" "$(git -C "$REMOTE" for-each-ref refs/tally/claims | wc -l)" 0
check "a host met another's claim or record and built nothing" \
	grep -Eqh 'building on [abc]|recorded elsewhere \(by [abc]\)' $T/run-s3-*.out
expect_exit "status on host a" 0 on a status --json
json=$(grep '"component":"c2"' "$T/last.out" 2>/dev/null || on a status --json | grep '"component":"c2"')
expect_eq "status JSON lists the hosts of a host-bound component" "$(jq -c .hosts <<<"$json")" '["b"]'
expect_eq "status JSON host is null while nothing runs" "$(jq -r .host <<<"$json")" null
expect_exit "run of another host's component is refused" 2 on a run c2
check "the refusal names the host" said 'c2 ships only on host b'
expect_exit "rebuild of another host's component is refused" 2 on a rebuild c3
expect_exit "history -v shows Tally-Host" 0 on a history -v c1
check "history -v prints the host" grep -q '^    host a$' "$T/last.out"
LAT3=$(latency s3)
PER3=$(awk '{print $2, $3}' "$T/shipped3" | sort | uniq -c | awk '{print $1}' | sort | uniq -c | awk '{printf "%s version(s) with %s attempt(s); ", $1, $2}')

# --- the same with one host (figures only) -----------------------------------
simulate s1 a
RUNS1=$RUNS
ELAPSED1=$ELAPSED
VERSIONS1=$(records | wc -l)
LAT1=$(latency s1)

echo "# figures: 3 hosts: $RUNS3 runs, $VERSIONS3 versions recorded, attempts per version: $PER3"
echo "# figures: release to record, 3 hosts: $LAT3 (simulation $ELAPSED3 s)"
echo "# figures: 1 host:  $RUNS1 runs, $VERSIONS1 versions recorded; release to record: $LAT1 (simulation $ELAPSED1 s)"

# --- kill -9 of a host mid-build ---------------------------------------------
# c4's claim lives timeout (8 s) + TALLY_CLAIM_SLACK (0): short, for the test
BUILD_TIMEOUT=8 setup k a b c
export TALLY_CLAIM_SLACK=0
for h in a b; do on "$h" run >/dev/null 2>&1 || true; done
publish c4 v2.0.0
touch "$CTL/hold-c4-v2.0.0"
rm -f "$CTL/started-c4-v2.0.0"
on a run c4 >"$T/k-a.out" 2>&1 &
apid=$!
for _ in $(seq 300); do [ -e "$CTL/started-c4-v2.0.0" ] && break; sleep 0.1; done
check "kill: host a's build started" test -e "$CTL/started-c4-v2.0.0"
check "kill: host a holds the claim on the remote" \
	bash -c "git -C $REMOTE log -1 --format=%B refs/tally/claims/c4 | grep -qx 'Tally-Host: a'"
kill -9 "$apid"
wait "$apid" 2>/dev/null || true   # (bash reports it Killed)
expect_exit "kill: host b's run while a's claim is live" 0 on b run c4 --json
check "kill: host b says c4 is building on a" \
	jq_ok "$T/last.out" 'any(.[]; (.message? // "") | test("c4 v2.0.0: building on a"))'
check "kill: and names the host in the event" jq_ok "$T/last.out" 'any(.[]; .host? == "a")'
expect_eq "kill: nothing recorded yet" "$(git -C "$REMOTE" show main:c4-versions.txt)" "c4=v1.0.0"
# a's claim expires 8 s after it was taken
for _ in $(seq 120); do
	exp=$({ git -C "$REMOTE" log -1 --format=%B refs/tally/claims/c4 2>/dev/null || true; } | sed -n 's/^Tally-Expires: //p')
	[ -z "$exp" ] && break
	[ "$(date +%s)" -gt "$(date -d "$exp" +%s)" ] && break
	sleep 0.2
done
rm -f "$CTL/hold-c4-v2.0.0"   # builds go on (the killed host's orphan build too)
expect_exit "kill: host b ships once a's claim expired" 0 on b run c4
expect_eq "kill: the remote records v2.0.0" "$(git -C "$REMOTE" show main:c4-versions.txt)" "c4=v2.0.0"
expect_eq "kill: shipped by b" "$(git -C "$REMOTE" log -1 --format=%B main | sed -n 's/^Tally-Host: //p')" b
before=$(git -C "$REMOTE" rev-list --count main)
expect_exit "kill: host a restarted runs" 0 on a run
expect_eq "kill: host a pushed nothing (no stale record)" "$(git -C "$REMOTE" rev-list --count main)" "$before"
shipped_a=$(find "$T/$SIM-state-a" -name ledger.jsonl -exec jq -r 'select(.component == "c4" and .result == "shipped") | .version' {} + | grep -c v2.0.0 || true)
expect_eq "kill: host a's ledger has no shipped c4 v2.0.0" "$shipped_a" 0
expect_eq "kill: host a is current with the remote" "$(git -C "$T/$SIM-h-a" rev-parse HEAD)" "$(git -C "$REMOTE" rev-parse main)"

# --- a host killed between its local record and the push ----------------------
# a's record of c6 v2.0.0 stays local; b ships the same version once a's claim
# expired; a restarted finds it recorded elsewhere: no conflict, no push
publish c6 v2.0.0
expect_exit "elsewhere: host a dies just before pushing its record" 137 env TALLY_CRASH_AT=before-push \
	TALLY_HOST=a XDG_STATE_HOME="$T/$SIM-state-a" CONTAINERS_STORAGE_CONF="$T/storage-a.conf" \
	"$TALLY_BIN" -C "$T/$SIM-h-a" --no-tui run c6
expect_eq "elsewhere: a's record is local only" "$(git -C "$T/$SIM-h-a" show HEAD:c6-versions.txt)/$(git -C "$REMOTE" show main:c6-versions.txt)" "c6=v2.0.0/c6=v1.0.0"
for _ in $(seq 120); do
	exp=$({ git -C "$REMOTE" log -1 --format=%B refs/tally/claims/c6 2>/dev/null || true; } | sed -n 's/^Tally-Expires: //p')
	[ -z "$exp" ] && break
	[ "$(date +%s)" -gt "$(date -d "$exp" +%s)" ] && break
	sleep 0.2
done
expect_exit "elsewhere: host b ships c6 v2.0.0" 0 on b run c6
expect_eq "elsewhere: the remote records it by b" "$(git -C "$REMOTE" log -1 --format=%B main | sed -n 's/^Tally-Host: //p')" b
before=$(git -C "$REMOTE" rev-parse main)
expect_exit "elsewhere: host a restarted runs without failing" 0 on a run
check "elsewhere: a says it was recorded elsewhere by b" said 'c6 v2.0.0: recorded elsewhere \(by b\)'
check "elsewhere: no conflict" bash -c "! grep -qi conflict $T/last.out $T/last.err"
expect_eq "elsewhere: a pushed nothing" "$(git -C "$REMOTE" rev-parse main)" "$before"
expect_eq "elsewhere: a's branch follows the remote" "$(git -C "$T/$SIM-h-a" rev-parse HEAD)" "$before"
expect_eq "elsewhere: a's working tree is clean" "$(git -C "$T/$SIM-h-a" status --porcelain)" ""
unset TALLY_CLAIM_SLACK

# --- a host whose remote is unreachable ----------------------------------------
git -C "$T/$SIM-h-c" remote set-url origin "$T/nowhere.git"
publish c5 v2.0.0
logs_before=$(find "$T/$SIM-state-c" -name '*.log' | wc -l)
expect_exit "unreachable: run fails" 1 on c run c5
check "unreachable: the run says the remote cannot be read" said 'nowhere.git'
expect_exit "unreachable: run --version fails before building" 1 on c run c5 --version v2.0.0
check "unreachable: it says claims need the remote" said 'cannot claim c5 on the remote'
ent=$(find "$T/$SIM-state-c" -name ledger.jsonl -exec tail -1 {} \;)
expect_eq "unreachable: the attempt failed with class network" "$(jq -r .class <<<"$ent")" network
expect_eq "unreachable: no stage ran (nothing built)" "$(jq -r '.stages | length' <<<"$ent")" 0
expect_eq "unreachable: nothing pushed to the registry" "$(manifest_digest k/c5 v2.0.0)" ""

finish
