#!/usr/bin/env bash
# The registry is down: the build succeeds, the push fails, class `network`,
# record unchanged. With the registry back on the same port the next run
# ships and records.
. "$(dirname "$0")/lib.sh"
start_registry
make_upstream v3.8.0 v3.8.1
make_chat_upstream v1.0.0
make_versions_repo
head0=$(git -C "$V" rev-parse HEAD)
n0=$(commits)
port0=$REG_PORT

stop_registry
check "registry is really down" test "$(curl -s -o /dev/null -w '%{http_code}' "http://$REG/v2/")" = 000

expect_exit "run with the registry down exits 1" 1 tally run --json
cp "$T/last.out" "$T/run1.json"
check "run --json valid, summary exit 1" json_ok "$T/run1.json" 1
check "build stage ok" jq_ok "$T/run1.json" 'any(.[]; .event == "stage" and .component == "server" and .stage == "build" and .result == "ok")'
check "push stage failed" jq_ok "$T/run1.json" 'any(.[]; .event == "stage" and .component == "server" and .stage == "push" and .result == "failed")'
check "no verify/record stage" jq_ok "$T/run1.json" 'all(.[]; (.event == "stage" and (.stage == "verify" or .stage == "record")) | not)'
check "no record event" jq_ok "$T/run1.json" 'all(.[]; .event != "record")'
att=$(jq -c 'select(.event == "attempt" and .component == "server")' "$T/run1.json")
expect_eq "attempt failed" "$(jq -r .result <<<"$att")" failed
expect_eq "attempt class network" "$(jq -r .class <<<"$att")" network
expect_eq "attempt hint" "$(jq -r .hint <<<"$att")" "transient; retried with backoff"
expect_eq "no digest" "$(jq -r .digest <<<"$att")" null
id1=$(jq -r .attempt <<<"$att")
log1=$(jq -r .log <<<"$att")
check "log kept" test -f "$log1"
check "log shows the push command" grep -q "push" "$log1"
check "log shows the connection failure" grep -Eiq "connection refused|dial tcp|connect" "$log1"
expect_eq "record unchanged" "$(record_of server-versions.txt server)" v3.8.0
expect_eq "HEAD unchanged" "$(git -C "$V" rev-parse HEAD)" "$head0"
expect_eq "commit count unchanged" "$(commits)" "$n0"
check "working tree clean" test -z "$(git -C "$V" status --porcelain)"
l1=$(ledger_entry "$id1")
expect_eq "ledger: failed network, not shipped" "$(jq -r '[.result, .class, (.shipped|tostring), (.recorded|tostring)] | join(" ")' <<<"$l1")" "failed network false false"
expect_eq "ledger build stage ok" "$(jq -r '.stages[] | select(.stage == "build") | .result' <<<"$l1")" ok
expect_eq "ledger push stage failed" "$(jq -r '.stages[] | select(.stage == "push") | .result' <<<"$l1")" failed
expect_exit "status --json" 0 tally status --json
st=$(jq -c 'select(.component == "server")' "$T/last.out")
expect_eq "status state failed, class network" "$(jq -r '.state + " " + .class' <<<"$st")" "failed network"
expect_eq "status built null" "$(jq -r .built <<<"$st")" null

# the registry comes back on the same port (its storage is kept)
start_registry
expect_eq "same port" "$REG_PORT" "$port0"
expect_exit "run with the registry back ships" 0 tally run --json
check "run --json valid, summary exit 0" json_ok "$T/last.out" 0
att=$(jq -c 'select(.event == "attempt" and .component == "server")' "$T/last.out")
expect_eq "attempt shipped" "$(jq -r .result <<<"$att")" shipped
check "a new attempt id" test "$(jq -r .attempt <<<"$att")" != "$id1"
digest=$(jq -r .digest <<<"$att")
expect_eq "record moved to v3.8.1" "$(record_of server-versions.txt server)" v3.8.1
expect_eq "exactly one new commit" "$(commits)" $((n0 + 1))
expect_eq "commit digest is the pushed one" "$(git -C "$V" log -1 --format=%B | sed -n 's/^Tally-Digest: //p')" "$digest"
got=$(curl -sSI -H 'Accept: application/vnd.oci.image.manifest.v1+json' -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
	"http://$REG/v2/test/openim-server/manifests/v3.8.1-anolis" | tr -d '\r' | sed -n 's/^Docker-Content-Digest: //Ip')
expect_eq "registry holds the recorded digest" "$got" "$digest"
expect_exit "status after the ship" 0 tally status --json
expect_eq "state current" "$(jq -r 'select(.component == "server") | .state' "$T/last.out")" current
finish
