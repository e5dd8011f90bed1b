#!/usr/bin/env bash
# t_bases.sh - base images (SPEC section 13): a base built with buildah and
# pushed to the loopback registry; a component FROM it (ARG defaults in the
# FROM line); the base re-pushed with new content: check says base-moved,
# run rebuilds with the cause on record. A base that is another tally
# component, ordered with after: one run ships both, base first. A base
# registry answering 500 never blocks an upstream release.
. "$(dirname "$0")/lib.sh"
start_registry
B="buildah --storage-driver vfs"

# push_base TAG CONTENT: a FROM scratch base image with CONTENT in a file
push_base() {
	mkdir -p "$T/basectx"
	echo "$2" >"$T/basectx/base.txt"
	printf 'FROM scratch\nCOPY base.txt /base.txt\n' >"$T/basectx/Containerfile"
	$B build --isolation chroot -q -t "$REG/test/base:$1" -f "$T/basectx/Containerfile" "$T/basectx" >/dev/null
	$B push -q --tls-verify=false "$REG/test/base:$1" "docker://$REG/test/base:$1" >/dev/null
}

push_base 1 "base one"
D1=$(manifest_digest test/base 1)
check "the base is in the registry" test -n "$D1"

make_upstream v1.0.0
V="$T/versions"
git init -q "$V"
mkdir -p "$V/app"
echo payload >"$V/app/payload.txt"
cat >"$V/app/Containerfile" <<CF
ARG REG=$REG
ARG BASE_TAG=1
FROM \$REG/test/base:\${BASE_TAG}
COPY payload.txt /payload.txt
CF
: >"$V/app-versions.txt"
cat >"$V/tally.conf" <<CONF
[registry]
	prefix = $REG/test
	insecure = true
[component "app"]
	file = app-versions.txt
	upstream = git-tags $UP
	build = buildah --storage-driver vfs build --isolation chroot -q --tls-verify=false -t {ref} -f app/Containerfile app
	recipe = app/Containerfile
CONF
git -C "$V" add -A
git -C "$V" commit -q -m seed

expect_exit "the first run ships v1.0.0" 0 tally run
expect_eq "the record" "$(record_of app-versions.txt app)" v1.0.0
expect_eq "Tally-Base names the base with its digest" "$(commit_trailer HEAD Tally-Base)" "$REG/test/base:1@$D1"
expect_eq "Tally-Cause of a release" "$(commit_trailer HEAD Tally-Cause)" "upstream v1.0.0 released"
check "the ledger has the base digest" jq_ok "$(state_dir)/ledger.jsonl" \
	--arg b "$REG/test/base:1@$D1" 'map(select(.recorded == true and (.bases // [] | index($b)))) | length == 1'

tally status --json >"$T/st.json"
check "status: current" jq_ok "$T/st.json" '.[0].state == "current"'
check "status --json bases: image, digest, built_on" jq_ok "$T/st.json" --arg i "$REG/test/base:1" --arg d "$D1" \
	'.[0].bases == [{"image": $i, "digest": $d, "built_on": $d}]'

push_base 1 "base one, patched"
D2=$(manifest_digest test/base 1)
check "the base moved" test "$D1" != "$D2"
tally check --json >"$T/check.json" || true
check "check: base-moved" jq_ok "$T/check.json" '.[0].state == "base-moved"'
check "check: the new digest beside built_on" jq_ok "$T/check.json" --arg d1 "$D1" --arg d2 "$D2" \
	'.[0].bases[0].digest == $d2 and .[0].bases[0].built_on == $d1'
tally status >"$T/st.txt"
check "plain status shows base-moved" grep -q 'base-moved' "$T/st.txt"
check "plain status shows the base and the digest the record was built on" \
	grep -qF "base $REG/test/base:1 ${D2:0:19} (moved; the record was built on ${D1:0:19})" "$T/st.txt"

n0=$(commits)
expect_exit "one run rebuilds" 0 tally run
expect_eq "one commit" "$(commits)" $((n0 + 1))
expect_eq "action rebuild" "$(commit_trailer HEAD Tally-Action)" rebuild
expect_eq "the record stays" "$(record_of app-versions.txt app)" v1.0.0
cause=$(commit_trailer HEAD Tally-Cause)
check "Tally-Cause has the old and new digests" grep -qF "base $REG/test/base:1 moved $D1 → $D2" <<<"$cause"
expect_eq "Tally-Base has the new one" "$(commit_trailer HEAD Tally-Base)" "$REG/test/base:1@$D2"
tally history -v app >"$T/hist.txt"
check "history -v prints Tally-Base of the rebuild" grep -qxF "    base $REG/test/base:1@$D2" "$T/hist.txt"
check "history -v prints its Tally-Cause" grep -qxF "    cause base $REG/test/base:1 moved $D1 → $D2" "$T/hist.txt"
check "history -v prints the release's cause" grep -qxF "    cause upstream v1.0.0 released" "$T/hist.txt"
check "history -v: the first record's base too" grep -qxF "    base $REG/test/base:1@$D1" "$T/hist.txt"
tally history --json app >"$T/hist.json"
check "history --json: bases and cause" jq_ok "$T/hist.json" --arg b "$REG/test/base:1@$D2" \
	'map(select(.event == "record"))[0] | .bases == [$b] and (.cause | startswith("base "))'
tally check --json >"$T/check2.json" || true
check "current again" jq_ok "$T/check2.json" '.[0].state == "current"'
n1=$(commits)
expect_exit "a second run does nothing" 0 tally run
expect_eq "no commit" "$(commits)" "$n1"

# a rebuild command with no check before it reads the base just before the build
push_base 1 "base one, patched twice"
D3=$(manifest_digest test/base 1)
expect_exit "tally rebuild" 0 tally rebuild app
expect_eq "Tally-Base: the digest read for the build" "$(commit_trailer HEAD Tally-Base)" "$REG/test/base:1@$D3"
expect_eq "Tally-Cause: the operator's command" "$(commit_trailer HEAD Tally-Cause)" "operator: tally rebuild app"

# --- a base registry answering 500 ------------------------------------------
PROXY_PORT=$(free_port)
RULES="$T/faults"
echo '* /v2/test/base/ 100000 500' >"$RULES"
python3 "$TALLY_SRC/tests/fixtures/registry/faultproxy.py" "$PROXY_PORT" "$REG" "$RULES" 2>"$T/proxy.log" &
PIDS+=("$!")
waitfor 10 curl -fsS "http://127.0.0.1:$PROXY_PORT/v2/" -o /dev/null 2>/dev/null
git config -f "$V/tally.conf" component.app.base "127.0.0.1:$PROXY_PORT/test/base:1"
git -C "$V" commit -q -am "base through the fault proxy"
git -C "$UP" tag v1.1.0
tally check --json >"$T/check3.json" 2>"$T/check3.err" || true
check "unreadable base: digest unknown" jq_ok "$T/check3.json" \
	'map(select(.event == "check"))[0] | .bases[0].digest == null and .state == "outdated"'
check "unreadable base: a warning" grep -q 'base 127.0.0.1:[0-9]*/test/base:1 unreadable (base state unknown)' "$T/check3.json"
expect_exit "a release still ships" 0 tally run
expect_eq "the record moved" "$(record_of app-versions.txt app)" v1.1.0
check "the base registry answered 500" grep -q 'fault HEAD /v2/test/base/' "$T/proxy.log"

# --- one read per distinct base per check ------------------------------------
# two components with the same base; the proxy fails only the first HEAD on
# it: when both show it unreadable, they shared that one request
cat >>"$V/tally.conf" <<CONF
[component "twin"]
	file = twin-versions.txt
	upstream = git-tags $UP
	base = 127.0.0.1:$PROXY_PORT/test/base:1
	build = buildah --storage-driver vfs build --isolation chroot -q --tls-verify=false -t {ref} -f app/Containerfile app
CONF
: >"$V/twin-versions.txt"
git -C "$V" add -A
git -C "$V" commit -q -m twin
echo '* /v2/test/base/manifests/1 1 500' >"$RULES"
: >"$T/proxy.log.2"
tally check --json >"$T/check5.json" 2>/dev/null || true
check "one request for both: both unknown" jq_ok "$T/check5.json" \
	'[.[] | select(.event == "check") | .bases[0].digest] == [null, null]'
check "the fault was taken once" grep -qx '\* /v2/test/base/manifests/1 0 500' "$RULES"
tally check --json >"$T/check6.json" 2>/dev/null || true
check "the next check reads it (one request, both see it)" jq_ok "$T/check6.json" --arg d "$D3" \
	'[.[] | select(.event == "check") | .bases[0].digest] == [$d, $d]'
git config -f "$V/tally.conf" --remove-section component.twin
git -C "$V" commit -q -am "no twin"

# --- base = none --------------------------------------------------------------
git config -f "$V/tally.conf" component.app.base none
git -C "$V" commit -q -am "no base"
tally check --json >"$T/check4.json" || true
check "base = none: no bases" jq_ok "$T/check4.json" '.[0].bases == []'

# --- a base that is another component, with after -------------------------
mkdir -p "$T/bup"
git init -q "$T/bup"
git -C "$T/bup" commit -q --allow-empty -m init
git -C "$T/bup" tag 8.8
mkdir -p "$V/base"
printf 'FROM scratch\nARG VERSION=unset\nCOPY base.txt /base.txt\n' >"$V/base/Containerfile"
echo "own base" >"$V/base/base.txt"
cat >"$V/app/Containerfile.own" <<CF
ARG REG=$REG
FROM \$REG/test/ownbase:latest
COPY payload.txt /payload.txt
CF
: >"$V/base-versions.txt"
cat >>"$V/tally.conf" <<CONF
[component "app2"]
	file = app-versions.txt
	key = app2
	upstream = git-tags $UP
	after = ownbase
	build = buildah --storage-driver vfs build --isolation chroot -q --tls-verify=false -t {ref} -f app/Containerfile.own app
	recipe = app/Containerfile.own
[component "ownbase"]
	file = base-versions.txt
	upstream = git-tags $T/bup
	floatingTag = latest
	build = buildah --storage-driver vfs build --isolation chroot -q --build-arg VERSION={version} -t {ref} -f base/Containerfile base
	recipe = base/Containerfile
CONF
git -C "$V" add -A
git -C "$V" commit -q -m "own base"
n2=$(commits)
expect_exit "one run ships the base and its dependent" 0 tally run
expect_eq "two records" "$(commits)" $((n2 + 2))
expect_eq "the base first" "$(commit_trailer HEAD~1 Tally-Component)" ownbase
expect_eq "then the dependent" "$(commit_trailer HEAD Tally-Component)" app2
OD1=$(commit_trailer HEAD~1 Tally-Digest)
expect_eq "the dependent was built on the base's record" "$(commit_trailer HEAD Tally-Base)" "$REG/test/ownbase:latest@$OD1"

echo "own base, patched" >"$V/base/base.txt"
git -C "$V" commit -q -am "base content"
git -C "$T/bup" tag 8.9
n3=$(commits)
expect_exit "a new base release: one run ships it and rebuilds the dependent" 0 tally run
expect_eq "two commits" "$(commits)" $((n3 + 2))
expect_eq "the base record" "$(record_of base-versions.txt ownbase)" 8.9
OD2=$(commit_trailer HEAD~1 Tally-Digest)
expect_eq "the dependent rebuilt" "$(commit_trailer HEAD Tally-Action)" rebuild
check "its cause names the base's digests" grep -qF "base $REG/test/ownbase:latest moved $OD1 → $OD2" \
	<<<"$(commit_trailer HEAD Tally-Cause)"
expect_eq "its Tally-Base is the new record" "$(commit_trailer HEAD Tally-Base)" "$REG/test/ownbase:latest@$OD2"

# --- STATE/recindex, the record index's copy (issue 11): a corrupt one is
# rebuilt with a warning and changes no decision --------------------------
tally status --json >"$T/ri1.json"
printf 'tally-recindex 2 %040d %040d\nrubbish' 0 0 >"$(state_dir)/recindex"
tally status --json >"$T/ri2.json" 2>"$T/ri2.err"
check "a corrupt record index: a warning naming it" grep -q "recindex: its checksum does not match (torn or changed), ignored: the record index is built again" "$T/ri2.err"
expect_eq "the same records, states and bases" \
	"$(jq -cs '[.[] | select(.event == "status") | {component, recorded, state, bases}]' <"$T/ri2.json")" \
	"$(jq -cs '[.[] | select(.event == "status") | {component, recorded, state, bases}]' <"$T/ri1.json")"
check "with every component in it" jq_ok "$T/ri2.json" '[.[] | select(.event == "status")] | length == 3'
tally status >/dev/null 2>"$T/ri3.err"
check "it was replaced: the next start has no warning" test ! -s "$T/ri3.err"
n4=$(commits)
expect_exit "a run after it" 0 tally run
expect_eq "ships nothing" "$(commits)" "$n4"
finish
