#!/usr/bin/env bash
# file-regex matches line by line (SPEC section 5, REG_NEWLINE): on a real
# multi-line .env, ^ anchors at every line start (a commented-out line does
# not match), $ at every line end, and . never runs into the next line; on a
# compose file the same. No match names the URL, the pattern and the lines
# read.
. "$(dirname "$0")/lib.sh"
. "$TALLY_SRC/tests/fixtures/github/lib.sh"
start_gh_fixture
curl -fsS "$GH/files/openim.env" >"$T/openim.env"
curl -fsS "$GH/files/docker-compose.yml" >"$T/docker-compose.yml"
env_lines=$(wc -l <"$T/openim.env")
check "the .env has comments and many lines ($env_lines)" \
	bash -c "[ $env_lines -ge 10 ] && grep -q '^# REDIS_IMAGE=' '$T/openim.env'"

VERSIONS=$'redis=7.0.0\nmongodb=6.0.13\nmongohttp=6.0.13\nserver=v3.8.0\nchat=v1.8.0\ncomposemongo=6.0.13\ncomposeredis=6.0.0\nnomatch=1.0\nanchored=1.0'
make_gh_repo "$(cat <<CONF
[component "redis"]
	file = versions.txt
	upstream = file-regex file://$T/openim.env
	match = ^REDIS_IMAGE=redis:(.*)
	build = false
[component "mongodb"]
	file = versions.txt
	upstream = file-regex file://$T/openim.env
	match = ^MONGO_IMAGE=mongo:(.+)\$
	build = false
[component "mongohttp"]
	file = versions.txt
	upstream = file-regex $GH/files/openim.env
	match = ^MONGO_IMAGE=mongo:(.*)\$
	build = false
[component "server"]
	file = versions.txt
	upstream = file-regex file://$T/openim.env
	match = "^OPENIM_SERVER_IMAGE=openim/openim-server:([^ ]+)"
	build = false
[component "chat"]
	file = versions.txt
	upstream = file-regex file://$T/openim.env
	match = "^OPENIM_CHAT_IMAGE=[^:]*:([^ #]*)"
	build = false
[component "composemongo"]
	file = versions.txt
	upstream = file-regex $GH/files/docker-compose.yml
	match = "^ +image: mongo:([0-9.]+)\$"
	build = false
[component "composeredis"]
	file = versions.txt
	upstream = file-regex file://$T/docker-compose.yml
	match = "^    image: redis:(.*)\$"
	build = false
[component "nomatch"]
	file = versions.txt
	upstream = file-regex file://$T/openim.env
	match = ^POSTGRES_IMAGE=postgres:(.*)
	build = false
[component "anchored"]
	file = versions.txt
	upstream = file-regex file://$T/openim.env
	match = "^# ----(.*)REDIS"
	build = false
CONF
)"
n0=$(commits)
expect_exit "check exits 1 (nomatch, anchored)" 1 tally check --json
cp "$T/last.out" "$T/c1.json"
check "check --json valid" json_ok "$T/c1.json" 1
expect_eq "redis: ^REDIS_IMAGE=redis:(.*) on the .env gives 7.2.4 (the commented line is passed over)" \
	"$(check_field redis upstream "$T/c1.json")" 7.2.4
expect_eq "mongodb: (.+)\$ stops at the line end" "$(check_field mongodb upstream "$T/c1.json")" 7.0.4
expect_eq "mongodb over http: the same" "$(check_field mongohttp upstream "$T/c1.json")" 7.0.4
expect_eq "server: v3.8.3-patch.9, the inline comment left out" "$(check_field server upstream "$T/c1.json")" v3.8.3-patch.9
expect_eq "chat: v1.8.4-patch.2" "$(check_field chat upstream "$T/c1.json")" v1.8.4-patch.2
expect_eq "compose: ^ +image: mongo:([0-9.]+)\$ gives 7.0.4" "$(check_field composemongo upstream "$T/c1.json")" 7.0.4
expect_eq "compose over file://: ^    image: redis:(.*)\$ gives 7.0.0" "$(check_field composeredis upstream "$T/c1.json")" 7.0.0
msg=$(check_field nomatch message "$T/c1.json")
expect_eq "no match: unknown, missing-version" "$(check_field nomatch state "$T/c1.json")/$(check_field nomatch class "$T/c1.json")" unknown/missing-version
check "no match: the message names the URL" grep -qF "file://$T/openim.env" <<<"$msg"
check "no match: the message names the pattern" grep -qF "^POSTGRES_IMAGE=postgres:(.*)" <<<"$msg"
check "no match: the message says how many lines were read ($env_lines)" grep -qF "($env_lines lines read)" <<<"$msg"
expect_eq "^ anchors at line starts, . does not cross a newline: no match" \
	"$(check_field anchored class "$T/c1.json")" missing-version
check "no warning about an invalid version (nothing ran into the next line)" \
	bash -c "! jq -e 'select(.event == \"error\" and .warning == true)' '$T/c1.json' >/dev/null"
expect_eq "no commit" "$(commits)" "$n0"
finish
