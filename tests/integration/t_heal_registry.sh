#!/usr/bin/env bash
# Issue 10, defects 2 and 3: the registry drifting away from the record.
# (2) A reset whose floating-tag step fails (a 500 on the tag PUT, or a kill
#     after the ref update) leaves `latest` on the rolled-back version; the
#     next run mends it although reset pinned the component.
# (3) A force rebuild killed after its push or its verify leaves the version
#     tags on a digest that was never recorded; the next run (or `tally
#     retry`) finishes it: records the verified digest when the ledger has
#     it and every tag still reads it back, else ships again.
# A small proxy in front of docker-registry fails chosen requests.
. "$(dirname "$0")/lib.sh"
start_registry
make_upstream v3.8.0 v3.8.1
git init -q "$T/chat-upstream"
git -C "$T/chat-upstream" commit -q --allow-empty -m i
git -C "$T/chat-upstream" tag v1.0.0
IMG=openim-server
not() { ! "$@"; }

PROXY_PORT=$(free_port)
RULES="$T/faults"
: >"$RULES"
python3 "$TALLY_SRC/tests/fixtures/registry/faultproxy.py" "$PROXY_PORT" "$REG" "$RULES" 2>"$T/proxy.log" &
PIDS+=("$!")
waitfor 10 curl -fsS "http://127.0.0.1:$PROXY_PORT/v2/" -o /dev/null 2>/dev/null

# a versions repo whose registry is reached through the proxy; server builds
# through build.sh (a nonce label: every build its own digest)
proxied_repo() {
	fresh_versions_repo "$1"
	NS=$1
	sed -i "s#^\(\tprefix = \).*#\1127.0.0.1:$PROXY_PORT/$1#" "$V/tally.conf"
	git -C "$V" commit -q -am "through the fault proxy"
	use_ctl_build
}

# registry side of a record: every version tag and the floating tag read back
# as the record commit's Tally-Digest
tags_follow_record() {
	local p=$1 v d
	v=$(record_of server-versions.txt server)
	d=$(git -C "$V" log -1 --format=%B --grep="^Tally-Version: $v\$" | sed -n 's/^Tally-Digest: //p')
	for tag in "$v-anolis" "$v" latest-anolis; do
		expect_eq "$p: $tag reads back the record's digest" "$(manifest_digest "$NS/$IMG" "$tag")" "${d:-<none>}"
	done
}

# --- (2a) reset: the floating tag PUT fails once with a 500 -----------------
proxied_repo hr-a
expect_exit "2a: rebuild v3.8.0 (so a record commit carries its digest)" 0 tally rebuild server
d0=$(commit_trailer HEAD Tally-Digest)
expect_exit "2a: run ships v3.8.1" 0 tally run
d1=$(commit_trailer HEAD Tally-Digest)
check "2a: two digests" test "$d0" != "$d1"
echo "PUT /manifests/latest-anolis\$ 1 500" >"$RULES"
expect_exit "2a: reset whose floating PUT fails exits 1" 1 tally reset server v3.8.0
check "2a: the proxy failed the floating PUT" grep -q 'fault PUT .*/manifests/latest-anolis 500' "$T/proxy.log"
expect_eq "2a: record is v3.8.0" "$(record_of server-versions.txt server)" v3.8.0
expect_eq "2a: latest-anolis still on v3.8.1's digest" "$(manifest_digest "$NS/$IMG" latest-anolis)" "$d1"
expect_exit "2a: verify sees the stale floating tag (exit 4)" 4 tally verify server
expect_exit "2a: the next run exits 0" 0 tally run
expect_eq "2a: latest-anolis follows the reset record" "$(manifest_digest "$NS/$IMG" latest-anolis)" "$d0"
expect_exit "2a: verify exit 0" 0 tally verify server
check "2a: still pinned (mending changed no record or hold)" grep -q '^pin server v3.8.0' "$V/tally-holds.txt"
expect_eq "2a: no commit for the mend" "$(git -C "$V" log -1 --format=%s)" "reset server v3.8.0"
tags_follow_record 2a

# --- (2b) reset killed after the ref update ---------------------------------
proxied_repo hr-b
expect_exit "2b: rebuild v3.8.0" 0 tally rebuild server
d0=$(commit_trailer HEAD Tally-Digest)
expect_exit "2b: run ships v3.8.1" 0 tally run
expect_exit "2b: reset killed after the ref update" 137 \
	env TALLY_CRASH_AT=after-ref-update "$TALLY_BIN" -C "$V" --no-tui reset server v3.8.0
expect_eq "2b: record is v3.8.0" "$(record_of server-versions.txt server)" v3.8.0
expect_exit "2b: verify exit 4 before the mend" 4 tally verify server
expect_exit "2b: the next run exits 0" 0 tally run
expect_exit "2b: verify exit 0" 0 tally verify server
tags_follow_record 2b
expect_eq "2b: working tree clean" "$(git -C "$V" status --porcelain)" ""

# --- (2c) the mend itself killed before its PUT -----------------------------
proxied_repo hr-c
expect_exit "2c: rebuild v3.8.0" 0 tally rebuild server
expect_exit "2c: run ships v3.8.1" 0 tally run
echo "PUT /manifests/latest-anolis\$ 1 500" >"$RULES"
expect_exit "2c: reset, floating PUT fails" 1 tally reset server v3.8.0
expect_exit "2c: the mending run killed before its PUT" 137 \
	env TALLY_CRASH_AT=before-floating-repair "$TALLY_BIN" -C "$V" --no-tui run
expect_exit "2c: the next run exits 0" 0 tally run
expect_exit "2c: verify exit 0" 0 tally verify server

# --- (3) force rebuild interrupted ------------------------------------------
# kill point, then how the operator comes back: a plain run, or retry
for how in after-push:run after-verify:run after-push:retry after-verify:retry; do
	cp=${how%%:*} cmd=${how##*:}
	p="3/$cp/$cmd"
	proxied_repo "hr-3-$cp-$cmd"
	expect_exit "$p: run ships v3.8.1" 0 tally run
	d1=$(commit_trailer HEAD Tally-Digest)
	head=$(git -C "$V" rev-parse HEAD)
	expect_exit "$p: rebuild killed at $cp" 137 \
		env TALLY_CRASH_AT=$cp "$TALLY_BIN" -C "$V" --no-tui rebuild server
	expect_eq "$p: nothing recorded by the killed rebuild" "$(git -C "$V" rev-parse HEAD)" "$head"
	pushed=$(manifest_digest "$NS/$IMG" v3.8.1-anolis)
	check "$p: the version tag moved to a digest never recorded" test "$pushed" != "$d1"
	expect_exit "$p: verify sees it (exit 4)" 4 tally verify server
	if [ "$cmd" = run ]; then set -- run; else set -- retry server; fi
	expect_exit "$p: tally $cmd finishes the rebuild, exit 0" 0 tally "$@"
	expect_eq "$p: recorded as a rebuild" "$(git -C "$V" log -1 --format=%s)" "rebuild server v3.8.1"
	expect_eq "$p: record still v3.8.1" "$(record_of server-versions.txt server)" v3.8.1
	if [ "$cp" = after-verify ]; then
		expect_eq "$p: recorded the verified digest (no build)" "$(commit_trailer HEAD Tally-Digest)" "$pushed"
		check "$p: resumed at record" grep -q "resume:" "$(ls -t "$(tally_log_dir)"/server/*.log | head -1)"
		check "$p: did not build again" not grep -q "^.*build: " "$(ls -t "$(tally_log_dir)"/server/*.log | head -1)"
	fi
	expect_exit "$p: verify exit 0" 0 tally verify server
	tags_follow_record "$p"
	expect_eq "$p: working tree clean" "$(git -C "$V" status --porcelain)" ""
	expect_exit "$p: a run after that builds nothing" 0 tally run
	expect_eq "$p: no further commit" "$(git -C "$V" log -1 --format=%s)" "rebuild server v3.8.1"
done
expect_exit "retry with nothing wrong is still exit 2" 2 tally retry server
finish
