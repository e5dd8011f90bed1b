#!/usr/bin/env bash
# file-regex over http(s) and file:// with a docker-compose.yml shaped like
# OpenIM's: MongoDB and Redis versions read from it; the second check is a
# 304; a redirect to another host is followed (no token goes there); a
# missing file, no match, a NUL byte are unknown and move no record.
. "$(dirname "$0")/lib.sh"
. "$TALLY_SRC/tests/fixtures/github/lib.sh"
start_gh_fixture
curl -fsS "$GH/files/docker-compose.yml" >"$T/docker-compose.yml"
gh_reset
export GITHUB_TOKEN=ghp_fixtureTOKENfile

VERSIONS=$'mongodb=6.0.13\nredis=7.0.0\netcd=v3.5.0\nviaredirect=6.0.0\nlocal=6.0.0\nnomatch=1.0\nmissing=1.0'
make_gh_repo "$(cat <<CONF
[component "mongodb"]
	file = versions.txt
	upstream = file-regex $GH_OTHER/files/docker-compose.yml
	match = image: mongo:([0-9.]+)
	build = false
[component "redis"]
	file = versions.txt
	upstream = file-regex $GH_OTHER/files/docker-compose.yml
	match = image: redis:([0-9.]+)
	build = false
[component "etcd"]
	file = versions.txt
	upstream = file-regex $GH_OTHER/files/docker-compose.yml
	match = "image: quay.io/coreos/etcd:(v[0-9.]+)"
	build = false
[component "viaredirect"]
	file = versions.txt
	upstream = file-regex $GH_OTHER/files/redirect-compose
	match = image: mongo:([0-9.]+)
	build = false
[component "local"]
	file = versions.txt
	upstream = file-regex file://$T/docker-compose.yml
	match = image: mongo:([0-9.]+)
	build = false
[component "nomatch"]
	file = versions.txt
	upstream = file-regex $GH_OTHER/files/docker-compose.yml
	match = image: postgres:([0-9.]+)
	build = false
[component "missing"]
	file = versions.txt
	upstream = file-regex $GH_OTHER/files/gone.yml
	match = image: mongo:([0-9.]+)
	build = false
CONF
)"
n0=$(commits)
expect_exit "check exits 1 (nomatch, missing)" 1 tally check --json
cp "$T/last.out" "$T/c1.json"
check "check --json valid" json_ok "$T/c1.json" 1
expect_eq "mongodb 7.0.4" "$(check_field mongodb upstream)" 7.0.4
expect_eq "mongodb outdated" "$(check_field mongodb state)" outdated
expect_eq "redis 7.0.0, current" "$(check_field redis upstream)/$(check_field redis state)" 7.0.0/current
expect_eq "etcd v3.5.13" "$(check_field etcd upstream)" v3.5.13
expect_eq "redirect followed" "$(check_field viaredirect upstream)" 7.0.4
expect_eq "file:// read" "$(check_field local upstream)" 7.0.4
expect_eq "no match: unknown, missing-version" "$(check_field nomatch state)/$(check_field nomatch class)" unknown/missing-version
check "no match: message names the URL" grep -qF "$GH_OTHER/files/docker-compose.yml" <<<"$(check_field nomatch message)"
expect_eq "404: unknown, missing-version" "$(check_field missing state)/$(check_field missing class)" unknown/missing-version
check "404: message names the URL" grep -qF "$GH_OTHER/files/gone.yml" <<<"$(check_field missing message)"
check "no token to a host that is not the API host" jq_ok "$GH_LOG" 'length > 0 and all(.[]; .auth | not)'
expect_eq "no commit" "$(commits)" "$n0"

gh_reset
expect_exit "second check" 1 tally check --json
expect_eq "second check: the compose file answers 304" \
	"$(gh_count '.path == "/files/docker-compose.yml" and .status != 304')" 0
check "second check: some 304s" test "$(gh_count '.status == 304')" -ge 1
expect_eq "second check: mongodb from the cache" "$(check_field mongodb upstream)" 7.0.4
finish
