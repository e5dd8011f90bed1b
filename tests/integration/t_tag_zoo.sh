#!/usr/bin/env bash
# Version picking on tag lists in the shapes of the real ones (SPEC section
# 5; DESIGN "Tag zoo"): Docker Hub's mongo and redis (hundreds of tags:
# releases, flavours, pre-releases in every spelling, aliases), served with
# a bearer challenge and ?n=&last= paging; OpenIM's GitHub releases and tags
# (-patch.N lines, .rc./.beta. pre-releases, GitHub-flagged pre-releases, a
# draft), paged with /repositories/ID/ Link URLs and weak ETags. The
# configurations are what a user of the seed's repository would write.
. "$(dirname "$0")/lib.sh"
. "$TALLY_SRC/tests/fixtures/github/lib.sh"
start_gh_fixture

HUB_FIXTURE="$TALLY_SRC/tests/fixtures/registry/hub.py"
HUB_LOG="$T/hub-requests.jsonl"
: >"$HUB_LOG"
python3 "$HUB_FIXTURE" --log "$HUB_LOG" >"$T/hub-port" 2>"$T/hub.log" &
PIDS+=("$!")
for _ in $(seq 100); do
	HUB_PORT=$(head -1 "$T/hub-port" 2>/dev/null || true)
	[ -n "$HUB_PORT" ] && break
	sleep 0.1
done
HUB="127.0.0.1:$HUB_PORT"

mongo_n=$(python3 "$HUB_FIXTURE" --list mongo | wc -l)
redis_n=$(python3 "$HUB_FIXTURE" --list redis | wc -l)
mongo_aliases=$(python3 "$HUB_FIXTURE" --list mongo | grep -vc '[0-9]' || true)
check "the mongo list is hundreds long ($mongo_n tags)" test "$mongo_n" -ge 500
check "the redis list is hundreds long ($redis_n tags)" test "$redis_n" -ge 300
check "the lists hold aliases, pre-releases and flavours" bash -c \
	"python3 '$HUB_FIXTURE' --list mongo | grep -qx xenial &&
	 python3 '$HUB_FIXTURE' --list mongo | grep -qx 7.0-rc-jammy &&
	 python3 '$HUB_FIXTURE' --list mongo | grep -qx 8.0.0-rc3 &&
	 python3 '$HUB_FIXTURE' --list mongo | grep -qx 7.0.12-windowsservercore-ltsc2022 &&
	 python3 '$HUB_FIXTURE' --list redis | grep -qx rc-alpine &&
	 python3 '$HUB_FIXTURE' --list redis | grep -qx 7.2.4-alpine3.19"

VERSIONS='server=v3.8.1
chat=v1.8.4
chatpre=v1.8.4
chatsemver=v1.8.4
serverpre=v3.9.0-rc.1
mongodb=7.0.4
mongojammy=7.0.4-jammy
mongoloose=7.0.4
mongopre=7.0.4
redis=7.2.4
redisalpine=7.2.4-alpine
redissemver=7.2.4
redisall=7.2.4'
make_gh_repo "[registry]
	insecure = true
[component \"server\"]
	file = versions.txt
	upstream = github-release openimsdk/open-im-server
	include = ^v[0-9]+\\\\.[0-9]+\\\\.[0-9]+
	build = false
[component \"serverpre\"]
	file = versions.txt
	upstream = github-release openimsdk/open-im-server
	prerelease = true
	build = false
[component \"chat\"]
	file = versions.txt
	upstream = github-tag openimsdk/chat
	include = ^v1\\\\.
	build = false
[component \"chatpre\"]
	file = versions.txt
	upstream = github-tag openimsdk/chat
	prerelease = true
	build = false
[component \"chatsemver\"]
	file = versions.txt
	upstream = github-tag openimsdk/chat
	include = ^v1\\\\.8\\\\.
	order = semver
	build = false
[component \"mongodb\"]
	file = versions.txt
	upstream = registry-tags $HUB/library/mongo
	include = ^7\\\\.0\\\\.[0-9]+\$
	build = false
[component \"mongojammy\"]
	file = versions.txt
	upstream = registry-tags $HUB/library/mongo
	include = ^7\\\\.0\\\\.[0-9]+-jammy\$
	build = false
[component \"mongoloose\"]
	file = versions.txt
	upstream = registry-tags $HUB/library/mongo
	include = ^[0-9]+\\\\.[0-9]+
	exclude = windowsservercore|nanoserver|jammy|focal
	build = false
[component \"mongopre\"]
	file = versions.txt
	upstream = registry-tags $HUB/library/mongo
	include = ^[0-9]+\\\\.[0-9]+\\\\.[0-9]+(-rc[0-9]+)?\$
	prerelease = true
	build = false
[component \"redis\"]
	file = versions.txt
	upstream = registry-tags $HUB/library/redis
	include = ^7\\\\.2\\\\.[0-9]+\$
	build = false
[component \"redisalpine\"]
	file = versions.txt
	upstream = registry-tags $HUB/library/redis
	include = ^7\\\\.2\\\\.[0-9]+-alpine\$
	build = false
[component \"redissemver\"]
	file = versions.txt
	upstream = registry-tags $HUB/library/redis
	order = semver
	build = false
[component \"redisall\"]
	file = versions.txt
	upstream = registry-tags $HUB/library/redis
	include = ^[0-9]
	exclude = -
	build = false"

expect_exit "check of every component exits 0" 0 tally check --json
cp "$T/last.out" "$T/check1.json"
check "check --json is valid" json_ok "$T/check1.json" 0
up() { check_field "$1" upstream "$T/check1.json"; }

# GitHub releases: -patch.N is a release line, rc/beta/alpha and GitHub's
# flag are not, drafts never
expect_eq "server: newest release line is v3.8.3-patch.10 (patch.10 > patch.9)" "$(up server)" v3.8.3-patch.10
expect_eq "serverpre: prerelease = true takes GitHub's flagged v3.9.0 (above its v3.9.0-rc.1), never the draft v4.0.0" "$(up serverpre)" v3.9.0
expect_eq "serverpre: recorded at v3.9.0-rc.1, the release v3.9.0 is the candidate" \
	"$(check_field serverpre candidate "$T/check1.json")/$(check_field serverpre state "$T/check1.json")" v3.9.0/outdated
# GitHub tags: .rc. and .beta. between dots are pre-releases; "nightly" an alias
expect_eq "chat: v1.8.4-patch.2, not v1.9.0.rc.0 or v1.9.0.beta.2" "$(up chat)" v1.8.4-patch.2
expect_eq "chatpre: prerelease = true takes v1.9.0.rc.0" "$(up chatpre)" v1.9.0.rc.0
expect_eq "chatsemver: SemVer puts v1.8.4 above its -patch.N pre-release parts" "$(up chatsemver)" v1.8.4
expect_eq "chat: the alias 'nightly' is counted" "$(check_field chat aliases "$T/check1.json")" 1

# Docker Hub tags
expect_eq "mongodb on the 7.0 line: 7.0.12 (not 7.0-rc, not 8.0.0-rc3)" "$(up mongodb)" 7.0.12
expect_eq "mongojammy: 7.0.12-jammy" "$(up mongojammy)" 7.0.12-jammy
expect_eq "mongoloose: 7.0.12 (xenial/latest never; 8.0-rc and 8.0.0-rc3 are pre-releases)" "$(up mongoloose)" 7.0.12
expect_eq "mongopre: prerelease = true takes 8.0.0-rc3" "$(up mongopre)" 8.0.0-rc3
expect_eq "mongodb: every alias is counted ($mongo_aliases)" "$(check_field mongodb aliases "$T/check1.json")" "$mongo_aliases"
expect_eq "redis on the 7.2 line: 7.2.5 (not 7.4-rc2, not rc-alpine)" "$(up redis)" 7.2.5
expect_eq "redisalpine: 7.2.5-alpine (not -alpine3.19)" "$(up redisalpine)" 7.2.5-alpine
expect_eq "redissemver: no include, order = semver: 7.2.5" "$(up redissemver)" 7.2.5
expect_eq "redisall: flavours excluded, aliases never win: 7.2.5" "$(up redisall)" 7.2.5
expect_eq "mongodb: outdated" "$(check_field mongodb state "$T/check1.json")" outdated
check "aliases are passed over without a warning" \
	bash -c "! jq -e 'select(.event == \"error\" and .warning == true)' '$T/check1.json' >/dev/null"

# the real answer shapes were used
check "registry: the first tags/list got a bearer challenge" \
	jq -e -s 'map(select(.path | test("/v2/library/mongo/tags/list"))) | .[0].status == 401' "$HUB_LOG"
check "registry: tags/list was paged with ?last= (several pages, each with the token)" \
	jq -e -s '[.[] | select((.path | test("/v2/library/mongo/tags/list\\?last=")) and .auth and .status == 200)] | length >= 8' "$HUB_LOG"
check "github: pages after the first came from /repositories/ID/releases?per_page=100&page=N" \
	jq -e -s '[.[] | select(.path | test("^/repositories/280146412/releases\\?per_page=100&page=[23]$"))] | length >= 2' "$GH_LOG"

# weak ETags: the second check asks with If-None-Match and gets 304s
gh_reset
expect_exit "second check exits 0" 0 tally check --json server chat
cp "$T/last.out" "$T/check2.json"
check "github: the second check sent the weak ETags back" \
	jq -e -s '[.[] | select(.inm != null and (.inm | startswith("W/\"")))] | length >= 4' "$GH_LOG"
check "github: and was answered 304" jq -e -s '[.[] | select(.status == 304)] | length >= 4' "$GH_LOG"
expect_eq "server from the cache: still v3.8.3-patch.10" "$(check_field server upstream "$T/check2.json")" v3.8.3-patch.10

# a list of nothing but aliases: unknown, and the message counts them
cat >>"$V/tally.conf" <<CONF
[component "onlyaliases"]
	file = versions.txt
	upstream = registry-tags $HUB/library/redis
	include = ^[a-z]+(-[a-z]+)?\$
	build = false
CONF
printf 'onlyaliases=7.2.4\n' >>"$V/versions.txt"
git -C "$V" commit -q -am "only aliases"
expect_exit "aliases only: check exits 1" 1 tally check --json onlyaliases
check "aliases only: missing-version, the message counts the aliases" \
	bash -c "jq -r 'select(.event == \"check\") | .class + \" \" + .message' '$T/last.out' | grep -q '^missing-version .*aliases without a digit'"
finish
