#!/usr/bin/env bash
# Read-back of what tally itself just pushed (SPEC section 6), through a
# proxy in front of a real docker-registry that plays a CDN: a version tag
# that answers 404 for the first reads is read again (within 10 s) and the
# version ships; one that always answers 404 is class verify (transient),
# never missing-version, and nothing is recorded; a tag that reads back
# with another digest is class verify at once, never read again.
. "$(dirname "$0")/lib.sh"
start_registry
make_upstream v3.8.0 v3.8.1
make_chat_upstream v1.0.0
make_versions_repo

python3 "$TALLY_SRC/tests/fixtures/registry/lag_proxy.py" --upstream "$REG" >"$T/proxy-port" 2>"$T/proxy.log" &
PIDS+=("$!")
for _ in $(seq 100); do
	PROXY_PORT=$(head -1 "$T/proxy-port" 2>/dev/null || true)
	[ -n "$PROXY_PORT" ] && break
	sleep 0.1
done
PROXY="127.0.0.1:$PROXY_PORT"
proxy_mode() { curl -fsS "http://$PROXY/_mode?$1" >/dev/null; }
proxy_stats() { curl -fsS "http://$PROXY/_stats"; }

# tally reads the registry through the proxy; buildah pushes to the
# registry itself (the CDN's origin)
conf_set registry.prefix "$PROXY/test"
conf_set component.server.push \
	"buildah --storage-driver vfs push --tls-verify=false --digestfile {digestfile} {ref} docker://$REG/test/openim-server:{tag}"
commit_versions "read the registry through the proxy"

# 1. lagging: the first 3 reads of each -anolis tag are 404
proxy_mode 'mode=lag&n=3&match=-anolis$'
expect_exit "lag: run ships" 0 tally run --json server
cp "$T/last.out" "$T/run1.json"
expect_eq "lag: record moved to v3.8.1" "$(record_of server-versions.txt server)" v3.8.1
expect_eq "lag: the proxy answered 404 six times (3 for v3.8.1-anolis, 3 for latest-anolis)" \
	"$(proxy_stats | jq -r .lagged)" 6
expect_eq "lag: the floating tag was read again too, and points at the record" \
	"$(manifest_digest test/openim-server latest-anolis)" "$(commit_trailer HEAD Tally-Digest)"
expect_eq "lag: v3.8.1-anolis was read 4 times (3 x 404, then found)" \
	"$(proxy_stats | jq -r '.reads["/v2/test/openim-server/manifests/v3.8.1-anolis"]')" 4
log1=$(jq -r 'select(.event == "attempt") | .log' "$T/run1.json")
check "lag: the log says it reads again" grep -q "v3.8.1-anolis not found right after the push; reading it again" "$log1"
check "lag: the log says it was found after 3 re-reads" grep -q "v3.8.1-anolis found after 3 re-reads" "$log1"
check "lag: the attempt has no class" test "$(jq -r 'select(.event == "attempt") | .class' "$T/run1.json")" = null
expect_eq "lag: the tag reads back the recorded digest" \
	"$(manifest_digest test/openim-server v3.8.1-anolis)" "$(commit_trailer HEAD Tally-Digest)"

# 2. never there: always 404 after the push
git -C "$UP" tag v3.8.2
n0=$(commits)
proxy_mode 'mode=always&match=^v3\.8\.2-anolis$'
expect_exit "always 404: run exits 1" 1 tally run --json server
cp "$T/last.out" "$T/run2.json"
att2() { jq -r "select(.event == \"attempt\") | .$1" "$T/run2.json"; }
expect_eq "always 404: attempt failed" "$(att2 result)" failed
expect_eq "always 404: class verify, never missing-version" "$(att2 class)" verify
expect_eq "always 404: the verify hint" "$(att2 hint)" "registry inconsistent; retried"
check "always 404: the log says it read again and gave up" \
	grep -q "v3.8.2-anolis.*404.*still not found after [0-9]* re-reads in 10 s" "$(att2 log)"
check "always 404: it was read more than once" \
	test "$(proxy_stats | jq -r '.reads["/v2/test/openim-server/manifests/v3.8.2-anolis"]')" -gt 1
expect_eq "always 404: record unchanged" "$(record_of server-versions.txt server)" v3.8.1
expect_eq "always 404: no commit" "$(commits)" "$n0"
expect_exit "always 404: status" 0 tally status --json
expect_eq "always 404: status says failed, class verify" \
	"$(jq -r 'select(.event == "status" and .component == "server") | .state + "/" + .class' "$T/last.out")" failed/verify

# 3. another digest: class verify at once, read once
proxy_mode 'mode=wrongdigest&match=^v3\.8\.2-anolis$'
expect_exit "wrong digest: run exits 1" 1 tally run --json server
cp "$T/last.out" "$T/run3.json"
expect_eq "wrong digest: class verify" "$(jq -r 'select(.event == "attempt") | .class' "$T/run3.json")" verify
check "wrong digest: the log names both digests" \
	grep -q "v3.8.2-anolis reads back as sha256:eeeeeeee.*, expected sha256:" "$(jq -r 'select(.event == "attempt") | .log' "$T/run3.json")"
expect_eq "wrong digest: the tag was read once, never again" \
	"$(proxy_stats | jq -r '.reads["/v2/test/openim-server/manifests/v3.8.2-anolis"]')" 1
expect_eq "wrong digest: record unchanged" "$(record_of server-versions.txt server)" v3.8.1
expect_eq "wrong digest: no commit" "$(commits)" "$n0"

# the registry behaves again: the retry ships
proxy_mode 'mode=pass'
expect_exit "healthy again: retry ships" 0 tally retry server
expect_eq "healthy again: record v3.8.2" "$(record_of server-versions.txt server)" v3.8.2
finish
